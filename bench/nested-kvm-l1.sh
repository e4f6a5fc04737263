#!/bin/sh
# bench/nested-kvm-l1.sh — the job bench/nested-kvm.sh runs inside the L1 guest (QEMU TCG with an
# emulated AMD CPU, kvm_amd loaded: a hardware-virtualisation /dev/kvm). Runs sepia-vmm and QEMU
# -accel kvm on the same guests in turn and prints one line per run for the host to reduce:
#   RUN <case> <vmm> <n> status=<s> ok=<0|1> wall_ms=<ms> marker_ms=<ms|-> peak_kb=<kb|->
#   RAM <case> <vmm> <n> touched_kb=<kb>
#   NOTE <text>
# Cases: payload (tests/guest/serial.elf, PVH, to its debug-exit: VMM start to the guest's
# last instruction) and ref (the reference guest to VIRTUAL_DEVICE_BOOT_COMPLETED and to its
# power-off). Settings come from /job/bench.conf (RUNS, CPUS, TIMEOUT). Runs under dash with
# busybox's tools and GNU date, timeout and time (tests/nested/l1-image.sh packs them).
B=/sepia
G=/sepia/guest/out
J=/job
W=/tmp/bench
mkdir -p $W
RUNS=5 CPUS=1 TIMEOUT=300
. $J/bench.conf
PROBE=$J/rss-probe.so
now_ms() { date +%s%3N; }
note() { echo "NOTE $*"; }

qemu_common="-accel kvm -cpu host -nodefaults -no-user-config -display none -monitor none -no-reboot"

# run_vmm CASE VMM N MEM_MB CMD...: one run of CMD, its serial console on stdout, timed from its
# start to the marker (the ref case) and to its exit; its peak RSS through GNU time, and the guest
# RAM it touched (bench/rss-probe.c, preloaded in every run: a guest touches a different amount
# each boot). N=0 is the untimed warm-up. A run that failed prints the end of its output.
run_vmm() {
	case=$1 vmm=$2 n=$3 mem=$4
	shift 4
	d=$W/$case-$vmm-$n
	mkdir -p $d
	pre=
	[ -f $PROBE ] && pre="env LD_PRELOAD=$PROBE BENCH_RSS_PROBE_OUT=$d/probe BENCH_RSS_PROBE_MIN_KB=$((mem * 1024))"
	t0=$(now_ms)
	{
		timeout $TIMEOUT $J/time -f '%M' -o $d/peak $pre "$@" </dev/null 2>$d/vmm.log
		echo $? >$d/status
	} | tee $d/serial.log | {
		grep -q -m1 VIRTUAL_DEVICE_BOOT_COMPLETED && now_ms >$d/marker
		cat >/dev/null
	}
	t1=$(now_ms)
	st=$(cat $d/status)
	marker=-
	[ -s $d/marker ] && marker=$(($(cat $d/marker) - t0))
	peak=$(tail -n 1 $d/peak 2>/dev/null)
	case $peak in '' | *[!0-9]*) peak=- ;; esac
	ok=0
	case $case in
	payload) [ "$st" = 33 ] && grep -q 'guest: done, [0-9]* checks, 0 failed' $d/serial.log && ok=1 ;;
	ref) [ "$st" = 0 ] && [ "$marker" != - ] && grep -q "BENCH-CPUS=$CPUS" $d/serial.log && ok=1 ;;
	esac
	echo "RUN $case $vmm $n status=$st ok=$ok wall_ms=$((t1 - t0)) marker_ms=$marker peak_kb=$peak"
	[ -f $d/probe ] && echo "RAM $case $vmm $n touched_kb=$(sed -n 's/^total rss_kb=//p' $d/probe)"
	if [ $ok = 0 ]; then
		note "$case $vmm: run $n failed (status $st); its last lines:"
		tail -n 15 $d/serial.log | tr -d '\r' | sed 's/^/NOTE   serial: /'
		tail -n 10 $d/vmm.log | sed 's/^/NOTE   vmm: /'
	fi
	return $((1 - ok))
}

# ---- the payload: VMM start to the PVH payload's exit through port 0xf4
P=$B/tests/guest/serial.elf
payload_sepia() {
	run_vmm payload sepia $1 128 $B/sepia-vmm --kernel $P --mem 128 --serial stdio --debug-exit
}
payload_qemu() {
	run_vmm payload qemu-microvm $1 128 qemu-system-x86_64 -M microvm $qemu_common -m 128 \
		-serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel $P
}

# ---- the reference guest: to the marker, then sepia.run prints the CPU count and powers off.
# Both get the same kernel command line: sepia-vmm adds the TSC frequency to it (devices/vm.c),
# and QEMU's guest gets the same words, taken from the command line the guest logged in
# sepia-vmm's warm-up run, so neither calibrates its TSC where it has no kvm-clock.
REF_CMDLINE="console=ttyS0 panic=-1 sepia.run=\"echo BENCH-CPUS=\$(nproc)\""
ref_sepia() {
	run_vmm ref sepia $1 512 $B/sepia-vmm --kernel $G/vmlinux --initrd $G/initramfs.cpio \
		--cmdline "$REF_CMDLINE" --cpus $CPUS --mem 512 --serial stdio
}
ref_qemu() { # ref_qemu N MACHINE
	run_vmm ref qemu-$2 $1 512 qemu-system-x86_64 -M $2 $qemu_common -m 512 -smp $CPUS \
		-serial stdio -kernel $G/vmlinux -initrd $G/initramfs.cpio -append "$REF_CMDLINE"
}

note "L1: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(grep -c ^processor /proc/cpuinfo) CPUs, kvm_amd $([ -d /sys/module/kvm_amd ] && echo loaded || echo MISSING)"
note "runs: $RUNS each, alternating; reference guest with $CPUS vCPU(s)"

payload_qemu_ok=yes
payload_sepia 0 || note "payload: sepia-vmm's warm-up failed"
payload_qemu 0 || payload_qemu_ok=no
i=1
while [ $i -le "$RUNS" ]; do
	payload_sepia $i
	[ $payload_qemu_ok = yes ] && payload_qemu $i
	i=$((i + 1))
done

# QEMU's machine for the reference guest: microvm where it boots it, else pc.
ref_sepia 0 || note "ref: sepia-vmm's warm-up failed"
tsc=$(grep -o 'tsc_early_khz=[0-9]*' $W/ref-sepia-0/serial.log | head -n 1)
[ -n "$tsc" ] && REF_CMDLINE="console=ttyS0 panic=-1 $tsc sepia.run=\"echo BENCH-CPUS=\$(nproc)\""
note "ref: the kernel command line of the timed runs: $REF_CMDLINE"
machine=microvm
if ! ref_qemu 0 microvm; then
	note "ref: QEMU -M microvm did not boot the reference guest to its marker; comparing against -M pc"
	machine=pc
	ref_qemu 0 pc || note "ref: QEMU -M pc's warm-up failed too"
fi
i=1
while [ $i -le "$RUNS" ]; do
	ref_sepia $i
	ref_qemu $i $machine
	i=$((i + 1))
done
grep -h 'XSAVE consistency' $W/ref-*/serial.log 2>/dev/null | tr -d '\r' | sort -u | head -n 2 | sed 's/^/NOTE guest: /'
