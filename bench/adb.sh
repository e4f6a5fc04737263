#!/bin/bash
# bench/adb.sh — adb through a launched device: `adb push` of a 100 MiB file (throughput) and the
# round trip of `adb shell true` (median of -n runs), each with the CPU time sepia-vmm and the adb
# proxy spent on it. The path: adb client -> adb server -> TCP 127.0.0.1:6520 -> sepia-vsock-proxy
# -> sepia-vmm's user-space virtio-vsock -> the guest's adbd.
# Usage: bench/adb.sh [-n SHELL_RUNS] [-s PUSH_MIB]
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
B=$top_builddir
runs=20 mib=100
while getopts n:s: o; do case $o in n) runs=$OPTARG ;; s) mib=$OPTARG ;; *) exit 2 ;; esac; done
[ -w /dev/kvm ] || { echo "bench/adb.sh: no access to /dev/kvm" >&2; exit 77; }
command -v adb >/dev/null || { echo "bench/adb.sh: no adb client" >&2; exit 77; }
work=$(mktemp -d /tmp/sepia-bench-adb.XXXXXX)
export HOME=$work/home
mkdir -p "$HOME"
export ANDROID_ADB_SERVER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
trap '"$B/stop_cvd" >/dev/null 2>&1; adb kill-server >/dev/null 2>&1; rm -rf "$work"' EXIT
serial=127.0.0.1:6520
adb start-server >/dev/null 2>&1
"$B/launch_cvd" --daemon --memory_mb=512 --blank_data_image_mb=256 >/dev/null 2>"$work/launch.err" || { cat "$work/launch.err"; exit 1; }
adb connect "$serial" >/dev/null
# utime+stime of a process, in seconds.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
vmm=$(pgrep -x sepia-vmm | head -1) proxy=$(pgrep -f sepia-vsock-proxy | head -1)
head -c $((mib << 20)) /dev/urandom > "$work/file"
v0=$(cpu "$vmm") p0=$(cpu "$proxy") s=$(date +%s.%N)
adb -s "$serial" push "$work/file" /tmp/file >/dev/null || exit 1
e=$(date +%s.%N) v1=$(cpu "$vmm") p1=$(cpu "$proxy")
secs=$(echo "$e - $s" | bc)
printf 'adb push %d MiB: %.2f s = %.1f MiB/s; sepia-vmm CPU %.2f s, proxy CPU %.2f s\n' "$mib" "$secs" \
	"$(echo "$mib / $secs" | bc -l)" "$(echo "$v1 - $v0" | bc)" "$(echo "$p1 - $p0" | bc)"
v0=$(cpu "$vmm")
for i in $(seq "$runs"); do
	s=$(date +%s%N); adb -s "$serial" shell true; e=$(date +%s%N)
	echo $(((e - s) / 1000))
done | sort -n > "$work/lat"
v1=$(cpu "$vmm")
printf 'adb shell true: median %.1f ms, min %.1f ms, max %.1f ms over %d runs; sepia-vmm CPU %.0f ms per run\n' \
	"$(echo "$(sed -n "$(((runs + 1) / 2))p" "$work/lat") / 1000" | bc -l)" "$(echo "$(head -1 "$work/lat") / 1000" | bc -l)" \
	"$(echo "$(tail -1 "$work/lat") / 1000" | bc -l)" "$runs" "$(echo "($v1 - $v0) * 1000 / $runs" | bc -l)"
