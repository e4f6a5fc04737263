#!/bin/bash
# End to end: the Kubernetes manifests played by a real consumer, `podman kube play`. The pod is
# the StatefulSet's own pod template (tests/kube/pod-from-statefulset.py, with the kvm-hostpath
# overlay's patch: podman has no device plugin), its adb and web view published on free ports of
# 127.0.0.1. Checks: the pod's device becomes ready by the manifest's own readiness command; the
# real adb client connects through the published port, runs a shell and pushes a file; the web
# view answers there; scripts/fleet-status.sh --podman lists the device as Running; the preStop
# hook and `podman kube down` stop it cleanly (the guest powers off); played again on the same
# volume the device resumes with the overlay's data (a token written to the metadata partition;
# the reference guest's /data is not kept across boots); SIGTERM alone (podman pod stop) stops it
# cleanly too.
#
# Needs root, podman (with runc), /dev/kvm, the adb client and this build tree's image (make
# container: the OCI archive in the build tree, loaded each time; never an image left in podman's
# storage by another tree or run). Boots a
# guest twice: hold the machine's e2e lock. podman here: the runc runtime, the cgroupfs manager
# and explicit nofile/nproc ulimits (crun refuses hybrid cgroups, raising rlimits fails), through
# a containers.conf of the test's own (CONTAINERS_CONF).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
B=$top_builddir
k8s=$top_srcdir/packaging/kubernetes
. "$top_srcdir/tests/e2e/require.sh"

[ "$(id -u)" = 0 ] || skip "not root (podman kube play with /dev/kvm and a volume runs as root here)"
command -v podman >/dev/null 2>&1 || skip "podman is not installed (apt-get install podman runc catatonit)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no access to /dev/kvm"
command -v adb >/dev/null 2>&1 || skip "the adb client is not installed (Debian package adb)"
command -v curl >/dev/null 2>&1 || skip "curl is not installed"
python3 -c 'import yaml' 2>/dev/null || skip "python3 with yaml is needed (python3-yaml)"
. "$top_srcdir/tests/kube/image-lib.sh"
kube_image_of_this_tree

work=$(mktemp -d /var/tmp/sepia-kube-play.XXXXXX) || exit 1
# podman's settings for this sandbox, in a file of the test's own. nofile/nproc at or under
# the current limits: raising them fails here.
lim() { local v; v=$(ulimit "$1"); [ "$v" = unlimited ] || [ "$v" -gt 4096 ] && v=4096; echo "$v"; }
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(lim -n):$(lim -n)", "nproc=$(lim -u):$(lim -u)"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
EOF
export CONTAINERS_CONF=$work/containers.conf

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pod=sepia-kubetest-$$
ctr=$pod-device
volume=data-$pod
adb_port=$(free_port)
web_port=$(free_port)
serial=127.0.0.1:$adb_port
ANDROID_ADB_SERVER_PORT=$(free_port)
export ANDROID_ADB_SERVER_PORT
# The adb client and its server keep their key pair in $HOME/.android: a HOME of the test's own,
# for adb alone (podman keeps root's), so no key is made in or taken from the user's home.
mkdir -p "$work/home"
adb() { HOME=$work/home command adb "$@"; }
cleanup() {
	podman kube down "$work/pod.yaml" >/dev/null 2>&1
	podman pod rm -f "$pod" >/dev/null 2>&1
	podman volume rm -f "$volume" >/dev/null 2>&1
	adb kill-server >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

python3 "$top_srcdir/tests/kube/pod-from-statefulset.py" "$k8s/statefulset.yaml" \
	--patch "$k8s/kvm-hostpath/patch.yaml" --pod-name "$pod" \
	--host-port adb="$adb_port" --host-port webview="$web_port" >"$work/pod.yaml" 2>"$work/gen.err" ||
	{ cat "$work/gen.err" >&2; exit 1; }
# The readiness command, as the kubelet would run it.
read -r -a ready_cmd < <(python3 -c 'import json, sys
print(" ".join(json.load(open(sys.argv[1]))["spec"]["containers"][0]["readinessProbe"]["exec"]["command"]))' "$work/pod.yaml")
read -r -a prestop_cmd < <(python3 -c 'import json, sys
print(" ".join(json.load(open(sys.argv[1]))["spec"]["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]))' "$work/pod.yaml")
grace=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["spec"].get("terminationGracePeriodSeconds", 30))' "$work/pod.yaml")

tap_begin
echo "1..10"
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }
# play TAG: kube play, then the readiness command every 2 s until it passes (900 s at most).
play() {
	local tag=$1 t0 i
	t0=$(now)
	podman kube play "$work/pod.yaml" >"$work/$tag.play" 2>&1 || return 1
	for i in $(seq 1 450); do
		podman exec "$ctr" "${ready_cmd[@]}" >/dev/null 2>&1 && { echo "# $tag: kube play to ready $(since "$t0") s"; return 0; }
		[ "$(podman inspect -f '{{.State.Running}}' "$ctr" 2>/dev/null)" = true ] || break
		sleep 2
	done
	return 1
}
host_dir() { podman volume inspect -f '{{.Mountpoint}}' "$volume"; }
# The container's output, and the first run's monitor log (a failing pod restarts: the first
# failure is the one that says why).
logs() {
	podman logs "$ctr" 2>&1 | head -20 | note
	head -40 "$(host_dir)/cuttlefish/instances/cvd-1/logs/launcher.log" 2>/dev/null | note
}
adb_connect() {
	local i
	for i in $(seq 1 60); do
		adb connect "$serial" >/dev/null 2>&1
		[ "$(HOME=$work/home timeout 10 adb -s "$serial" shell echo back 2>/dev/null | tr -d '\r')" = back ] && return 0
		sleep 1
	done
	return 1
}
# A clean stop in a launcher.log: the guest acknowledged the poweroff and the VMM ended by itself.
clean_stop() {
	grep -q 'guest control channel: ok poweroff' "$1" &&
		grep -q 'the guest powered off\|sepia-vmm (pid [0-9]*) exited with status 0' "$1"
}
find_meta='. $(grep -l PARTNAME=metadata /sys/class/block/vda*/uevent) && echo /dev/$DEVNAME'

adb start-server >/dev/null 2>&1
play first
rc=$?
check '[ $rc = 0 ]' "podman kube play of the StatefulSet's pod: the device becomes ready (${ready_cmd[*]})"
[ "$failed" = 0 ] || { note "$work/first.play"; logs; exit 1; }

adb_connect
rc=$?
check '[ $rc = 0 ]' "adb connect $serial (the published adb port) and adb shell answer"
check '[ "$(adb -s "$serial" shell uname -s | tr -d "\r")" = Linux ]' "adb shell runs a command in the pod's guest"
head -c 1048576 /dev/urandom >"$work/blob"
adb -s "$serial" push "$work/blob" /tmp/blob >"$work/push" 2>&1 &&
	adb -s "$serial" pull /tmp/blob "$work/blob.back" >>"$work/push" 2>&1
check 'cmp -s "$work/blob" "$work/blob.back"' "adb push of 1 MiB, pulled back the same"
note "$work/push"

code=$(curl -s -o "$work/page" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$web_port/")
check '[ "$code" = 200 ] && [ -s "$work/page" ]' "the web view answers on the published port (HTTP $code)"

"$top_srcdir/scripts/fleet-status.sh" --podman >"$work/fleet" 2>"$work/fleet.err"
check 'python3 -c "import json, sys
d = [x for x in json.load(open(sys.argv[1])) if x[\"pod\"] == sys.argv[2]]
sys.exit(0 if len(d) == 1 and d[0][\"status\"] == \"Running\" and d[0][\"instance_name\"] == \"cvd-1\" else 1)" "$work/fleet" "$pod"' \
	"scripts/fleet-status.sh --podman lists the pod's cvd-1 as Running"
note "$work/fleet" "$work/fleet.err"

# A token on the metadata partition (kept in the overlay on the pod's volume).
meta=$(adb -s "$serial" shell "$find_meta" | tr -d '\r')
token=sepia-kube-$$-$RANDOM
adb -s "$serial" shell "echo $token | dd of=$meta conv=fsync 2>/dev/null && echo written" >"$work/written"
adb disconnect "$serial" >/dev/null 2>&1

# Stopping as the kubelet does: the preStop hook (the manifest's own command), then the SIGTERM
# that `podman kube down` sends. podman runs no preStop hook itself, and before 4.7 it ignores
# the grace period; the entrypoint turns a SIGTERM alone into the same clean stop (checked last).
log=$(host_dir)/cuttlefish/instances/cvd-1/logs/launcher.log
t0=$(now)
podman exec "$ctr" "${prestop_cmd[@]}" >"$work/prestop" 2>&1
prestop_rc=$?
podman kube down "$work/pod.yaml" >"$work/down" 2>&1
rc=$?
echo "# preStop ($prestop_rc) and kube down took $(since "$t0") s"
check '[ $prestop_rc = 0 ] && [ $rc = 0 ] && clean_stop "$log" && ! podman pod exists "$pod"' \
	"preStop (${prestop_cmd[*]}) and podman kube down stop the device cleanly: the guest powers off, the pod is gone"
note "$work/prestop" "$work/down"
[ -f "$log" ] && tail -6 "$log" | note

play second
rc=$?
check '[ $rc = 0 ]' "played again on the same volume, the device becomes ready"
adb_connect && got=$(adb -s "$serial" shell "head -c ${#token} $meta" | tr -d '\r')
check 'grep -q written "$work/written" && [ "${got:-}" = "$token" ]' "the overlay's data survived: the token written before kube down is read back"
# The container's memory beside the guest's (a number, not a check).
echo "# memory: container $(podman stats --no-stream --format '{{.MemUsage}}' "$ctr" 2>/dev/null), guest --memory_mb=$(python3 -c 'import json, sys
print(next(a.split("=")[1] for a in json.load(open(sys.argv[1]))["spec"]["containers"][0]["args"] if a.startswith("--memory_mb=")))' "$work/pod.yaml")"

# SIGTERM alone (podman pod stop with the manifest's grace period): the entrypoint's clean stop.
lines=$(wc -l <"$log" 2>/dev/null || echo 0)
t0=$(now)
podman pod stop -t "$grace" "$pod" >"$work/stop" 2>&1
rc=$?
echo "# SIGTERM stop took $(since "$t0") s"
tail -n +"$((lines + 1))" "$log" >"$work/second.log" 2>/dev/null
check '[ $rc = 0 ] && clean_stop "$work/second.log" && [ "$(podman inspect -f "{{.State.ExitCode}}" "$ctr")" = 0 ]' \
	"SIGTERM alone (podman pod stop -t $grace) stops the device cleanly: the guest powers off, the container exits 0"
tail -6 "$work/second.log" | note
podman kube down "$work/pod.yaml" >/dev/null 2>&1
[ "$failed" = 0 ] || logs
[ "$failed" = 0 ]
