#!/bin/bash
# bench/nested-kvm.sh — sepia-vmm against QEMU on a hardware-virtualisation KVM (kvm_amd), on any
# x86-64 Linux host: QEMU in TCG mode emulates an AMD EPYC (which has SVM) and boots Debian's
# cloud kernel (L1) with kvm_amd loaded, as tests/nested/hw-kvm.sh does; inside L1 the same
# guests run under sepia-vmm and under qemu-system-x86_64 -accel kvm, in turn (sepia, QEMU,
# sepia, QEMU, ...), so that drift in the machine's speed hits both alike:
#   payload  tests/guest/serial.elf (PVH) to its debug-exit, against QEMU -M microvm: VMM start to
#            the guest's last instruction, i.e. the VMMs' start-up and teardown
#   ref      the reference guest (make guest) to VIRTUAL_DEVICE_BOOT_COMPLETED and to its
#            power-off, against QEMU -M microvm where that boots it, else -M pc
# Prints the medians, the sepia/QEMU ratios, and each VMM's RSS beyond guest RAM (the median
# over runs of peak RSS minus the guest RAM that run touched, bench/rss-probe.c). Absolute times inside
# TCG mean little; the ratios compare the two VMMs on the same KVM.
#
# usage: bench/nested-kvm.sh [-n RUNS] [-c CPUS] [-t SECONDS] [-k]
#   -n RUNS     timed runs of each VMM per case (default 5), after one untimed warm-up each
#   -c CPUS     vCPUs of the reference guest (default 1)
#   -t SECONDS  limit per run inside L1 (default 300); the whole L1 run gets
#               RUNS x 4 x SECONDS + 600 at most
#   -k          keep the work directory (the L1 console, the raw results)
# Needs root (Debian's /boot/vmlinuz-* and its modules are root's), qemu-system-x86_64 with
# TCG, the cloud kernel (linux-image-cloud-amd64) and its kvm-amd module, GNU time, make guest
# and tests/guest/serial.elf. Exits 77 saying what is missing, 1 when a run failed.
set -uo pipefail
prog=nested-kvm
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/bench-lib.sh"
B=$top_builddir

runs=5 cpus=1 per_run=300 keep=no
while getopts "n:c:t:kh" opt; do
	case $opt in
	n) runs=$OPTARG ;;
	c) cpus=$OPTARG ;;
	t) per_run=$OPTARG ;;
	k) keep=yes ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
need_number "$runs" "-n wants a number of runs"
need_number "$cpus" "-c wants a number of vCPUs"
need_number "$per_run" "-t wants seconds"
[ "$runs" -ge 1 ] || die "-n wants at least 1 run"

[ "$(id -u)" = 0 ] || skip "not root: Debian's /boot/vmlinuz-* and the kvm modules are readable by root only"
qemu=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
"$qemu" -accel help 2>/dev/null | grep -qx tcg || skip "$qemu has no TCG accelerator"
"$qemu" -cpu help 2>/dev/null | grep -qw EPYC || skip "$qemu offers no EPYC CPU model (an AMD CPU with SVM)"
kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
[ -n "$kernel" ] || skip "no Debian cloud kernel in /boot (apt-get install linux-image-cloud-amd64)"
KVER=${kernel#/boot/vmlinuz-}
export KVER
ls /lib/modules/"$KVER"/kernel/arch/x86/kvm/kvm-amd.ko* >/dev/null 2>&1 || skip "no kvm-amd module for $KVER"
have_gnu_time || skip "no GNU time as /usr/bin/time (Debian package time)"
[ -x "$B/sepia-vmm" ] || skip "sepia-vmm not built"
[ -f "$B/tests/guest/serial.elf" ] || skip "tests/guest/serial.elf not built (make check builds it)"
guest=${SEPIA_GUEST_DIR:-$B/guest/out}
[ -r "$guest/vmlinux" ] && [ -r "$guest/initramfs.cpio" ] || skip "no reference guest in $guest (make guest)"

bench_workdir sepia-nested-bench
${CC:-cc} -shared -fPIC -O2 -o "$work/rss-probe.so" "$here/rss-probe.c" -ldl 2>"$work/probe-cc.log" ||
	die "cannot build bench/rss-probe.c: $(cat "$work/probe-cc.log")"
cp /usr/bin/time "$work/time"
printf 'RUNS=%s\nCPUS=%s\nTIMEOUT=%s\n' "$runs" "$cpus" "$per_run" >"$work/bench.conf"
SEPIA_GUEST_DIR=$guest top_builddir=$B "$top_srcdir/tests/nested/l1-image.sh" -q -o "$work/l1.cpio" \
	"$here/nested-kvm-l1.sh" "$work/bench.conf" "$work/rss-probe.so" "$work/time" 2>"$work/image.log" ||
	die "cannot pack the L1 initramfs: $(cat "$work/image.log")"

limit=$((runs * 4 * per_run + 600))
say "L1: QEMU TCG -cpu EPYC -smp 2 -m 4096, kernel $KVER; $runs runs each, reference guest with $cpus vCPU(s); load $(cut -d' ' -f1-3 /proc/loadavg)"
started=$(date +%s)
timeout "$limit" "$qemu" -accel tcg,thread=multi -cpu EPYC -smp 2 -m 4096 -nodefaults -no-user-config \
	-display none -monitor none -no-reboot -nic none -kernel "$kernel" -initrd "$work/l1.cpio" \
	-append "console=ttyS0 panic=-1 loglevel=4" -serial "file:$work/l1-console.log" \
	-serial "file:$work/results.txt" </dev/null >"$work/qemu.log" 2>&1
status=$?
tr -d '\r' <"$work/results.txt" >"$work/results" 2>/dev/null
say "L1 ran $(($(date +%s) - started)) s (QEMU status $status); load $(cut -d' ' -f1-3 /proc/loadavg)"
sed -n 's/^NOTE /  /p' "$work/results"
if ! grep -q '^L1-DONE' "$work/results"; then
	say "L1 did not finish its job; the end of its console:"
	tail -n 30 "$work/l1-console.log" | tr -d '\r' >&2
	exit 1
fi

# column CASE VMM FIELD: that field of the timed runs that worked, one per line
column() { awk -v c="$1" -v v="$2" -v f="$3" '$1 == "RUN" && $2 == c && $3 == v && $4 != 0 && $6 == "ok=1" {
	for (i = 5; i <= NF; i++) if (index($i, f "=") == 1) { x = substr($i, length(f) + 2); if (x != "-") print x } }' "$work/results"; }
# ram CASE VMM: "peak touched" of each timed run that worked (bench/rss-probe.c's guest RAM touched)
ram() { awk -v c="$1" -v v="$2" '$1 == "RAM" && $2 == c && $3 == v { sub("touched_kb=", "", $5); t[$4] = $5 }
	$1 == "RUN" && $2 == c && $3 == v && $4 != 0 && $6 == "ok=1" { sub("peak_kb=", "", $9); p[$4] = $9 }
	END { for (n in p) if (p[n] != "-" && t[n] != "") print p[n], t[n] }' "$work/results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
failed=$(awk '$1 == "RUN" && $4 != 0 && $6 != "ok=1"' "$work/results" | wc -l)

printf '\n%-8s %-13s %4s %10s %10s %13s %13s %14s\n' case vmm runs "marker ms" "exit ms" "peak RSS KiB" "guest RAM KiB" "beyond RAM KiB"
declare -A med
for c in payload ref; do
	for v in $(awk -v c=$c '$1 == "RUN" && $2 == c { print $3 }' "$work/results" | awk '!s[$0]++'); do
		n=$(column $c "$v" wall_ms | wc -l)
		m=$(column $c "$v" marker_ms | median)
		w=$(column $c "$v" wall_ms | median)
		p=$(column $c "$v" peak_kb | median)
		t=$(ram $c "$v" | awk '{ print $2 }' | median)
		beyond=$(ram $c "$v" | awk '{ print $1 - $2 }' | median)
		[ "$c" = payload ] && m=-
		printf '%-8s %-13s %4s %10s %10s %13s %13s %14s\n' $c "$v" "$n" "$m" "$w" "$p" "$t" "$beyond"
		med[$c.$v.marker]=$m med[$c.$v.exit]=$w med[$c.$v.beyond]=$beyond
	done
done
echo
for c in payload ref; do
	for v in $(awk -v c=$c '$1 == "RUN" && $2 == c && $3 != "sepia" { print $3 }' "$work/results" | awk '!s[$0]++'); do
		line="sepia/$v ($c):"
		[ $c = ref ] && line="$line marker $(ratio "${med[$c.sepia.marker]}" "${med[$c.$v.marker]}"),"
		line="$line exit $(ratio "${med[$c.sepia.exit]}" "${med[$c.$v.exit]}"), RSS beyond guest RAM $(ratio "${med[$c.sepia.beyond]}" "${med[$c.$v.beyond]}")"
		echo "$line"
	done
done
if [ "$failed" -gt 0 ]; then
	say "$failed timed run(s) failed (not in the medians):"
	awk '$1 == "RUN" && $4 != 0 && $6 != "ok=1"' "$work/results" >&2
	exit 1
fi
