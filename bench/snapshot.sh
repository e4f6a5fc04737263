#!/bin/bash
# sepia-vmm's snapshots on the reference guest (guest/out, `make guest`), side by side in one
# run: a cold boot against a restore from a snapshot, each timed from starting sepia-vmm until
# the guest is ready, and the snapshot's time and size.
#
# Usage: bench/snapshot.sh [-n RUNS] [-m COUNT] [-t SECONDS] [-k]
#   -n RUNS     pairs of (restore, cold boot) for farm-bench (default 3)
#   -m COUNT    guests at once for the memory figure (default 10; 0 leaves it out)
#   -t SECONDS  limit per boot (default 900)
#   -k          keep the work directory
#
# First one cold boot (2 vCPUs, 512 MiB, a qcow2 overlay, virtio-console and vsock) and
# "snapshot DIR" on its API socket (bench/snapshot-ready.py take). Then, with farm-bench when it
# is installed (each figure as min/median/max, the restore A against the cold boot B run in
# turn, the ratio taken pair by pair), else one run of each:
#   restore  sepia-vmm --restore DIR, until the restored guest's shell answers on hvc0
#   cold     sepia-vmm --kernel ..., until init prints VIRTUAL_DEVICE_BOOT_COMPLETED on hvc0
# "ready" in the results also comes from the run itself (without the teardown), with the
# VMM's own log of the time from its start to the restored guest's first instruction.
# The restored guest's RAM comes from the snapshot file mapped MAP_PRIVATE: pages load on
# first touch, so the page cache state matters (the first restore reads memory.bin).
# Then host memory: COUNT guests restored from the snapshot at once, against COUNT cold-booted
# at once, each VMM's PSS read while all of them run (bench/snapshot-pss.py). Restored guests
# share the snapshot's clean pages through the page cache, so PSS splits them between them.
#
# Exit status: 0 when every run got ready, 1 otherwise, 77 (skip) without the guest,
# sepia-vmm, /dev/kvm or qemu-img, 2 on a usage error.
set -uo pipefail

prog='snapshot'
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/bench-lib.sh
. "$here/bench-lib.sh"

runs=3
count=10
timeout_s=900
keep=no
while getopts n:m:t:kh opt; do
	case $opt in
	n) need_number "$OPTARG" "-n needs a number"; runs=$OPTARG ;;
	m) need_number "$OPTARG" "-m needs a number"; count=$OPTARG ;;
	t) need_number "$OPTARG" "-t needs a number"; timeout_s=$OPTARG ;;
	k) keep=yes ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
vmm=$top_builddir/sepia-vmm
guest=$top_builddir/guest/out
have_kvm || skip "no access to /dev/kvm"
[ -x "$vmm" ] || skip "no sepia-vmm in $top_builddir"
[ -r "$guest/vmlinux" ] && [ -r "$guest/initramfs.cpio" ] || skip "no reference guest in $guest (make guest)"
command -v qemu-img >/dev/null || skip "qemu-img is not installed"
bench_workdir sepia-bench-snapshot
truncate -s 16M "$work/base.raw"
qemu-img create -q -f qcow2 -b "$work/base.raw" -F raw "$work/overlay.qcow2"
one() { python3 "$here/snapshot-ready.py" "$1" "$work" "$vmm" "$guest" "$timeout_s"; }

say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
one take || { cat "$work/results"; tail "$work/take.vmm"; exit 1; }
status=0
if command -v farm-bench >/dev/null; then
	py="python3 $here/snapshot-ready.py"
	# farm-bench's bound is on the whole call, at most 3600 s.
	fb_timeout=$(((runs * 2 + 1) * timeout_s))
	[ "$fb_timeout" -le 3600 ] || fb_timeout=3600
	farm-bench -n "$runs" --warmup 0 --timeout "$fb_timeout" \
		--vs "$py cold $work $vmm $guest $timeout_s" -- \
		$py restore "$work" "$vmm" "$guest" "$timeout_s" || status=1
else
	say "farm-bench is not installed: one run of each"
	one restore || status=1
	one cold || status=1
fi
if [ "$count" -gt 0 ]; then
	for m in restore cold; do
		say "$count guests at once, $m"
		python3 "$here/snapshot-pss.py" $m "$count" "$work" "$vmm" "$guest" "$timeout_s" \
			>"$work/pss-$m" || status=1
	done
fi
say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "runs (ready_s from the run itself; sizes in bytes, on_disk = allocated blocks):"
cat "$work/results"
grep -q FAILED "$work/results" && status=1
for m in restore cold; do
	echo "$m: median ready_s $(grep "^$m " "$work/results" | sed 's/.*ready_s=\([0-9.]*\).*/\1/' | awk '{ printf "%d\n", $1 * 1000 }' | median) ms"
done
if [ "$count" -gt 0 ]; then
	echo "host memory, $count guests at once (per instance; KiB):"
	cat "$work/pss-restore" "$work/pss-cold"
	r=$(sed -n 's/^restore summary.* pss_median_kib=\([0-9]*\).*/\1/p' "$work/pss-restore")
	c=$(sed -n 's/^cold summary.* pss_median_kib=\([0-9]*\).*/\1/p' "$work/pss-cold")
	[ -n "$r" ] && [ -n "$c" ] && [ "$c" -gt 0 ] &&
		echo "PSS per instance, median: restored $((r / 1024)) MiB, cold $((c / 1024)) MiB, ratio $(echo "scale=3; $r / $c" | bc)"
fi
exit $status
