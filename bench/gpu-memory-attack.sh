#!/bin/bash
# Peak host memory a guest can make sepia-vmm hold through virtio-gpu (issue 13, defect 3).
# The guest-kit gpu payload with "attack=N" creates N 1x1 resources and attaches to each the
# largest backing a guest may (16384 entries, which the device keeps as 256 KiB of host
# iovecs), never giving any back. sepia-vmm --gpu 2d runs it twice, with attack=0 (the
# baseline) and attack=N; GNU time reports each run's peak RSS. Without a budget the growth is
# N x 256 KiB; with one it stops at GPU_MAX_HOSTMEM (256 MiB) and the rest are refused.
#
# Usage: bench/gpu-memory-attack.sh [-n N]   (default 2000, i.e. 500 MiB if nothing refuses)
# Environment: SEPIA_VMM (another build to compare, e.g. one from before the budget).
# A measurement, not a test (`make bench-gpu-memory`).
set -u
prog=gpu-memory-attack
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/bench-lib.sh
. "$here/bench-lib.sh"
vmm=${SEPIA_VMM:-$top_builddir/sepia-vmm}
payload=$top_builddir/tests/guest/gpu.elf
n=2000
while getopts n: opt; do
	case $opt in
	n) n=$OPTARG ;;
	*) echo "usage: $0 [-n N]" >&2; exit 2 ;;
	esac
done
have_gnu_time || skip "needs GNU time (apt-get install time)"
have_kvm || skip "needs /dev/kvm"
[ -x "$vmm" ] || { echo "bench/gpu-memory-attack.sh: no sepia-vmm at $vmm"; exit 77; }
[ -f "$payload" ] || { echo "bench/gpu-memory-attack.sh: build $payload first (make check builds it)"; exit 77; }
work=$(mktemp -d /tmp/sepia-bench-gpu-memory.XXXXXX)
trap 'rm -rf "$work"' EXIT

# run N: the payload with attack=N; sets rss_kib, or returns 1 when it did not pass.
run() {
	local status
	/usr/bin/time -f "%M" -o "$work/rss-$1" timeout 900 "$vmm" --kernel "$payload" --mem 256 \
		--serial "file:$work/serial-$1.log" --debug-exit --gpu 2d --display width=64,height=48 \
		--cmdline "guest-kit gpu attack=$1" >"$work/vmm-$1.log" 2>&1 </dev/null
	status=$?
	rss_kib=$(tail -n 1 "$work/rss-$1")
	if [ "$status" -ne 33 ] || grep -q "not ok" "$work/serial-$1.log"; then
		echo "bench/gpu-memory-attack.sh: attack=$1 did not pass (status $status):" >&2
		tail -n 5 "$work/vmm-$1.log" "$work/serial-$1.log" >&2
		return 1
	fi
}

echo "# sepia-vmm: $vmm"
run 0 || exit 1
base=$rss_kib
run "$n" || exit 1
echo "peak RSS, attack=0:  $((base / 1024)) MiB"
echo "peak RSS, attack=$n: $((rss_kib / 1024)) MiB (+$(((rss_kib - base) / 1024)) MiB)"
grep -h "gpu attack:" "$work/serial-$n.log"
grep -h "refused:" "$work/vmm-$n.log" | head -n 1
