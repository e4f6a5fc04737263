#!/bin/bash
# Boots sepia's reference guest (guest/out/vmlinux + guest/out/initramfs.cpio, made by
# `make guest`) under sepia-vmm and measures, per run, the wall time until the guest's
# init prints VIRTUAL_DEVICE_BOOT_COMPLETED on the serial console, and until sepia-vmm
# exits with status 0 after the guest powered off. Prints the medians of N runs.
#
# Usage: bench/boot-reference.sh [-n RUNS] [-d DIR] [-t SECONDS] [-k] [-- EXTRA ARGS...]
#   -n RUNS     boots, one after another (default 3)
#   -d DIR      where vmlinux and initramfs.cpio are (default guest/out of the tree)
#   -t SECONDS  limit per boot (default 900: on hosts whose KVM interprets guest
#               kernel code a boot takes minutes)
#   -k          keep the work directory (serial logs, sepia-vmm output)
#   EXTRA ARGS  appended to the kernel command line
#
# The command, per run (LOG a fresh file):
#   sepia-vmm --kernel DIR/vmlinux --initrd DIR/initramfs.cpio --cpus 2 --mem 512
#             --serial file:LOG --cmdline "console=ttyS0 panic=-1 sepia.run=poweroff"
# sepia.run=CMD is the guest init's one-shot command (guest/init/cmdline.h): init runs
# `sh -c CMD` after printing the marker and powers the machine off when it ends, so
# sepia.run=poweroff powers off right after the marker (ACPI S5; sepia-vmm exits 0).
# panic=-1 turns a kernel panic into a reset, so a broken boot ends instead of hanging.
# The log is polled every 50 ms, so "marker" is accurate to about that; it is host wall
# time from starting sepia-vmm, including the VMM's own start-up. The kernel's printk
# timestamp of the marker (guest clock) is shown too when the kernel prints one.
# Peak RSS is GNU time's %M (see bench/vmm-vs-qemu.sh; guest RAM is populated lazily).
#
# Exit status: 0 when every run saw the marker and a 0 exit, 1 otherwise, 77 (skip) when
# the guest files, sepia-vmm or /dev/kvm are missing, 2 on a usage error.
set -uo pipefail

prog='boot-reference'
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/bench-lib.sh
. "$here/bench-lib.sh"

runs=3
dir=$top_builddir/guest/out
timeout_s=900
keep=no
MARKER=VIRTUAL_DEVICE_BOOT_COMPLETED
base_cmdline="console=ttyS0 panic=-1 sepia.run=poweroff"

while getopts "n:d:t:kh" opt; do
	case $opt in
	n) runs=$OPTARG ;;
	d) dir=$OPTARG ;;
	t) timeout_s=$OPTARG ;;
	k) keep=yes ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" != -- ] || shift
cmdline=$base_cmdline${*:+ $*}
need_number "$runs" "-n needs a number"
[ "$runs" -ge 1 ] || die "-n needs at least 1"
need_number "$timeout_s" "-t needs a number of seconds"

SEPIA_VMM=${SEPIA_VMM:-$top_builddir/sepia-vmm}
for f in vmlinux initramfs.cpio; do
	[ -f "$dir/$f" ] || skip "$dir/$f not found: build the reference guest with 'make guest' (or pass -d DIR)"
done
[ -x "$SEPIA_VMM" ] || skip "no sepia-vmm at $SEPIA_VMM (make sepia-vmm)"
have_kvm || skip "/dev/kvm is missing or not read-writable"
have_gnu_time || die "GNU time not found as /usr/bin/time (apt-get install time)"
bench_workdir sepia-boot-ref

now_ms() { echo $(($(date +%s%N) / 1000000)); }

echo "== reference guest under sepia-vmm: $runs runs, one after another"
echo "host: $(nproc) CPUs; load at start:$(uptime | sed 's/.*load average//')"
echo "guest: $dir ($(stat -c %s "$dir/vmlinux") bytes vmlinux, $(stat -c %s "$dir/initramfs.cpio") bytes initramfs)"
echo "command: $SEPIA_VMM --kernel $dir/vmlinux --initrd $dir/initramfs.cpio --cpus 2 --mem 512 --serial file:LOG --cmdline '$cmdline'"
echo

failures=0
for ((i = 1; i <= runs; i++)); do
	log=$work/run$i.serial out=$work/run$i.out tfile=$work/run$i.time
	: >"$log"
	t0=$(now_ms)
	# timeout kills its whole process group (time and sepia-vmm) when the limit passes.
	timeout "$timeout_s" /usr/bin/time -o "$tfile" -f '%e %M %x' \
		"$SEPIA_VMM" --kernel "$dir/vmlinux" --initrd "$dir/initramfs.cpio" \
		--cpus 2 --mem 512 --serial "file:$log" --cmdline "$cmdline" \
		</dev/null >"$out" 2>&1 &
	pid=$!
	marker_ms=
	while kill -0 "$pid" 2>/dev/null; do
		if [ -z "$marker_ms" ] && grep -qa "$MARKER" "$log"; then
			marker_ms=$(($(now_ms) - t0))
		fi
		sleep 0.05
	done
	wait "$pid"
	status=$?
	exit_ms=$(($(now_ms) - t0))
	[ -s "$tfile" ] && [ "$status" != 124 ] && status=$(awk 'END { print $3 }' "$tfile")
	[ -n "$marker_ms" ] || ! grep -qa "$MARKER" "$log" || marker_ms=$exit_ms # printed just before the exit
	rss=$(awk 'END { print $2 }' "$tfile" 2>/dev/null)
	guest_s=$(tr -d '\r' <"$log" | sed -n "s/^\[ *\([0-9.]*\)\] .*$MARKER.*/\1/p" | head -n 1)

	why=
	[ -n "$marker_ms" ] || why="no $MARKER in the serial log"
	if [ "$status" = 124 ]; then
		why="${why:+$why; }timed out after $timeout_s s"
	elif [ "$status" != 0 ]; then
		why="${why:+$why; }sepia-vmm exit status $status, expected 0"
	fi
	if [ -z "$why" ]; then
		echo "$marker_ms $exit_ms ${rss:-0} ${guest_s:-n/a}" >>"$work/samples"
		printf '  run %d: marker %8d ms   exit(0) %8d ms   peak RSS %7s KiB   marker at guest [%s s]\n' \
			"$i" "$marker_ms" "$exit_ms" "${rss:-n/a}" "${guest_s:-n/a}"
	else
		failures=$((failures + 1))
		echo "  run $i FAILED after $exit_ms ms: $why" >&2
		tail -n 25 "$log" | sed 's/^/    serial| /' >&2
		tail -n 10 "$out" | sed 's/^/    output| /' >&2
	fi
done
echo "load at end:$(uptime | sed 's/.*load average//')"

touch "$work/samples"
passed=$(wc -l <"$work/samples")
echo
printf '%-26s %7s %14s %14s %14s %16s\n' "" passed "marker ms" "exit(0) ms" "peak RSS KiB" "guest clock s"
printf '%-26s %7s %14s %14s %14s %16s\n' "sepia-vmm, 2 vCPU, 512 MiB" "$passed/$runs" \
	"$(cut -d' ' -f1 "$work/samples" | median)" "$(cut -d' ' -f2 "$work/samples" | median)" \
	"$(cut -d' ' -f3 "$work/samples" | median)" \
	"$(cut -d' ' -f4 "$work/samples" | grep -v n/a | sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "n/a" }')"
echo "(medians over passing runs; marker = wall time until $MARKER is in the serial log)"

if [ "$failures" -gt 0 ]; then
	say "$failures run(s) failed"
	exit 1
fi
exit 0
