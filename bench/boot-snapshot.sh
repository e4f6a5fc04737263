#!/bin/bash
# bench/boot-snapshot.sh — launch_cvd to boot-completed from the boot snapshot against a cold
# boot, side by side in one run, with a cache of its own (docs/boot-snapshot.md):
#   cold+take  launch_cvd with an empty cache (a cold boot that takes the snapshot at the point)
#   restore    stop_cvd, launch_cvd: the device comes from the boot snapshot (RUNS times)
#   cold       launch_cvd --boot_snapshot=off (RUNS times)
# Each time is launch_cvd's wall time until it returns (the guest's boot marker seen and adb
# told), and the monitor's own figure (monitor_to_boot_s). Prints the ratio cold / restore and
# the entry's size on disk. Run it under the boot lock (it boots guests):
#   flock /work/e2e.lock bench/boot-snapshot.sh [-n RUNS] [-k]
set -uo pipefail
prog=boot-snapshot
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/bench-lib.sh"
runs=1 keep=no
while getopts n:kh o; do
	case $o in
	n) need_number "$OPTARG" "-n wants a number of runs"; runs=$OPTARG ;;
	k) keep=yes ;;
	*) usage; exit 0 ;;
	esac
done
B=$top_builddir
have_kvm || skip "no access to /dev/kvm"
[ -x "$B/launch_cvd" ] && [ -r "$B/guest/out/android/boot.img" ] || skip "launch_cvd or the reference guest's images (make guest-android) are missing"
bench_workdir sepia-bench-boot-snapshot
export HOME=$work/home SEPIA_BOOT_SNAPSHOT_DIR=$work/cache
mkdir -p "$HOME"
ANDROID_ADB_SERVER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ANDROID_ADB_SERVER_PORT
trap '"$B/stop_cvd" --wait_for_launcher=20 >/dev/null 2>&1; adb kill-server >/dev/null 2>&1; [ $keep = yes ] || rm -rf "$work"' EXIT

one() { # TAG [flags]: prints "wall monitor" seconds
	local s e rc
	s=$(date +%s.%N)
	"$B/launch_cvd" --daemon --memory_mb=512 --blank_data_image_mb=64 "${@:2}" > "$work/$1.out" 2> "$work/$1.err"
	rc=$?
	e=$(date +%s.%N)
	[ $rc = 0 ] || { say "$1: launch_cvd failed ($rc): $(tail -3 "$work/$1.err")"; echo "n/a n/a"; return; }
	local result
	result="$(echo "$e - $s" | bc) $(sed -n 's/.*monitor_to_boot_s=\([0-9.]*\).*/\1/p' "$work/$1.out" "$work/$1.err" | head -1)"
	# Stopped before the result is printed: a caller reading it through a process substitution
	# goes on at the first line, and its next launch must find the device gone.
	"$B/stop_cvd" --wait_for_launcher=60 > "$work/$1.stop" 2>&1 ||
		say "$1: stop_cvd failed: $(tail -3 "$work/$1.stop")"
	echo "$result"
}

read -r take_wall take_mon < <(one take)
printf '%-10s wall %8s s  monitor %8s s\n' cold+take "$take_wall" "$take_mon"
r_walls=() c_walls=()
for i in $(seq 1 "$runs"); do
	read -r w m < <(one "restore$i")
	printf '%-10s wall %8s s  monitor %8s s\n' restore "$w" "$m"
	r_walls+=("$w")
	read -r w m < <(one "cold$i" --boot_snapshot=off)
	printf '%-10s wall %8s s  monitor %8s s\n' cold "$w" "$m"
	c_walls+=("$w")
done
r=$(printf '%s\n' "${r_walls[@]}" | grep -v n/a | sort -n | awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "n/a"}')
c=$(printf '%s\n' "${c_walls[@]}" | grep -v n/a | sort -n | awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "n/a"}')
entry=$(ls -d "$SEPIA_BOOT_SNAPSHOT_DIR"/[0-9a-f]* 2>/dev/null | head -1)
echo "median: restore $r s, cold $c s, ratio cold/restore $( [ "$r" != n/a ] && [ "$c" != n/a ] && echo "scale=1; $c / $r" | bc || echo n/a)"
[ -n "$entry" ] && echo "entry: $(du -sh --apparent-size "$entry/memory.bin" | cut -f1) of RAM file ($(du -sh "$entry" | cut -f1) on disk)"
grep 'boot snapshot taken' "$HOME/cuttlefish/instances/cvd-1/logs/launcher.log" | sed 's/.*(\(.*\))$/snapshot taken in \1/' | head -1
# Every run must have booted: a figure from fewer runs than asked is not this bench's.
! printf '%s\n' "$take_wall" "${r_walls[@]}" "${c_walls[@]}" | grep -q n/a
