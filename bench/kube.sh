#!/bin/bash
# bench/kube.sh — one device in a pod against one on the bare host, in the same run: the
# reference guest with the StatefulSet's own flags (packaging/kubernetes/statefulset.yaml: --cpus,
# --memory_mb, the web view), alternately
#   host: launch_cvd --daemon, from its start to its return (boot completed);
#   pod:  podman kube play of the StatefulSet's pod (tests/kube/pod-from-statefulset.py with the
#         kvm-hostpath patch), from its start to the first passing readiness command (polled
#         every second, as a kubelet with periodSeconds: 1 would);
# and the memory of each once booted: the device's processes' PSS (run_cvd, sepia-vmm, the adb
# proxy, the web view) on the host and in the pod, and in the pod also conmon, the pod's pause
# process and the container's cgroup (memory.usage_in_bytes or memory.current, page cache
# included). Needs root, podman, /dev/kvm and the image (make container). Boots 2*N guests:
# hold the machine's e2e lock.
# Usage: bench/kube.sh [-n ROUNDS] (default 1)
set -uo pipefail
prog=kube
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/bench-lib.sh"
B=$top_builddir
k8s=$top_srcdir/packaging/kubernetes
rounds=1
while getopts n:h o; do case $o in n) rounds=$OPTARG ;; h) usage; exit 0 ;; *) exit 2 ;; esac; done
need_number "$rounds" "-n takes a number of rounds"
[ "$(id -u)" = 0 ] || skip "not root"
command -v podman >/dev/null 2>&1 || skip "podman is not installed"
have_kvm || skip "no access to /dev/kvm"
[ -r "$B/guest/out/android/boot.img" ] || skip "make guest guest-android first"
bench_workdir sepia-bench-kube
lim() { local v; v=$(ulimit "$1"); [ "$v" = unlimited ] || [ "$v" -gt 4096 ] && v=4096; echo "$v"; }
printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n' \
	"$(lim -n)" "$(lim -n)" "$(lim -u)" "$(lim -u)" >"$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf

pod=sepia-bench-$$
ctr=$pod-device
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
python3 "$top_srcdir/tests/kube/pod-from-statefulset.py" "$k8s/statefulset.yaml" --patch "$k8s/kvm-hostpath/patch.yaml" \
	--pod-name "$pod" --host-port adb="$(free_port)" --host-port webview="$(free_port)" >"$work/pod.yaml" || exit 1
image=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["spec"]["containers"][0]["image"])' "$work/pod.yaml")
podman image exists "$image" || skip "no image $image (make container)"
mapfile -t flags < <(python3 -c 'import json, sys
for a in json.load(open(sys.argv[1]))["spec"]["containers"][0]["args"]: print(a)' "$work/pod.yaml")
export HOME=$work/home
mkdir -p "$HOME"
ANDROID_ADB_SERVER_PORT=$(free_port) # no adb server there: the monitors leave adb alone
export ANDROID_ADB_SERVER_PORT
cleanup() {
	"$B/stop_cvd" >/dev/null 2>&1
	podman kube down "$work/pod.yaml" >/dev/null 2>&1
	podman volume rm -f "data-$pod" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

pss() { local p t=0; for p in "$@"; do t=$((t + $(awk '/^Pss:/ { s += $2 } END { print s + 0 }' "/proc/$p/smaps" 2>/dev/null || echo 0))); done; echo "$t"; }
# The device's processes under a monitor: run_cvd and its children (sepia-vmm, the proxy, the web view).
device_pids() { echo "$1"; pgrep -P "$1"; }
now() { date +%s.%N; }

echo "== reference guest, ${flags[*]}, web view on; $rounds round(s), host then pod"
for r in $(seq 1 "$rounds"); do
	s=$(now)
	"$B/launch_cvd" --daemon --start_webview "${flags[@]}" >/dev/null 2>"$work/host.err" || { tail -5 "$work/host.err"; exit 1; }
	host_s=$(echo "$(now) - $s" | bc)
	mon=$(cat "$HOME/cuttlefish/instances/cvd-1/run_cvd.pid")
	host_pss=$(pss $(device_pids "$mon"))
	"$B/stop_cvd" >/dev/null 2>&1

	s=$(now)
	podman kube play "$work/pod.yaml" >/dev/null 2>"$work/play.err" || { cat "$work/play.err"; exit 1; }
	ok=0
	for i in $(seq 1 900); do
		podman exec "$ctr" sepia-container-probe ready >/dev/null 2>&1 && { ok=1; break; }
		sleep 1
	done
	pod_s=$(echo "$(now) - $s" | bc)
	[ "$ok" = 1 ] || { podman logs "$ctr" 2>&1 | tail -10; exit 1; }
	cpid=$(podman inspect -f '{{.State.Pid}}' "$ctr")
	# The container's process 1 is the entrypoint's shell; launch_cvd its child, run_cvd launch_cvd's.
	launch=$(pgrep -P "$cpid" -x launch_cvd | head -1)
	mon=$(pgrep -P "${launch:-$cpid}" -x run_cvd | head -1)
	[ -n "$mon" ] || { echo "$prog: no run_cvd found under the container's process $cpid" >&2; exit 1; }
	pod_pss=$(pss $(device_pids "$mon"))
	entry=$(pss "$cpid" $launch)
	conmon=$(pss $(podman inspect -f '{{.State.ConmonPid}}' "$ctr") $(podman inspect -f '{{.State.ConmonPid}}' "$(podman pod inspect -f '{{.InfraContainerID}}' "$pod")"))
	pause=$(pss "$(podman inspect -f '{{.State.Pid}}' "$(podman pod inspect -f '{{.InfraContainerID}}' "$pod")")")
	cg=$(awk '$2 ~ /memory/ { print $3; exit }' "/proc/$cpid/cgroup")
	usage=$(cat "/sys/fs/cgroup/memory$cg/memory.usage_in_bytes" 2>/dev/null || cat "/sys/fs/cgroup$cg/memory.current" 2>/dev/null || echo 0)
	# Without the page cache (the images read through it): anonymous memory, v1's rss or v2's anon.
	anon=$(awk '$1 == "total_rss" || $1 == "anon" { print $2; exit }' "/sys/fs/cgroup/memory$cg/memory.stat" "/sys/fs/cgroup$cg/memory.stat" 2>/dev/null)
	podman exec "$ctr" stop_cvd >/dev/null 2>&1
	podman kube down "$work/pod.yaml" >/dev/null 2>&1
	podman volume rm -f "data-$pod" >/dev/null 2>&1
	rm -rf "$HOME/cuttlefish" "$HOME"/cuttlefish_*
	printf 'round %d: host launch_cvd to booted %6.1f s, pod kube play to ready %6.1f s (+%.1f s)\n' \
		"$r" "$host_s" "$pod_s" "$(echo "$pod_s - $host_s" | bc)"
	printf '  memory (PSS, KiB): device on the host %d, in the pod %d; in the pod also the entrypoint and launch_cvd %d, conmon x2 %d, pause %d; container cgroup %d KiB, %d KiB of it anonymous\n' \
		"$host_pss" "$pod_pss" "$entry" "$conmon" "$pause" $((usage / 1024)) $((${anon:-0} / 1024))
done
