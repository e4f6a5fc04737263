#!/bin/sh
# End to end: the reference guest (make guest) boots under sepia-vmm with 2 vCPUs, a
# virtio-blk disk and a virtio-console, prints the boot-completed marker on both consoles,
# sees both CPUs and the disk from Linux, and its poweroff ends sepia-vmm with status 0.
# vector-probe, added to the initramfs, checks that guest processes keep off the AVX registers
# where the guest kernel cannot switch them (an interpreting host, see devices/hostcheck.c); a
# guest offered no AVX has nothing to keep, and that check skips (vector-probe-verdict.sh).
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/e2e/vector-probe-verdict.sh"
vmm=$top_builddir/sepia-vmm
guest=${SEPIA_GUEST_DIR:-$top_builddir/guest/out}

. "$top_srcdir/tests/e2e/require.sh"
require_reference_guest
probe=$top_builddir/tests/e2e/vector-probe
[ -x "$probe" ] && command -v cpio > /dev/null || skip "tests/e2e/vector-probe or cpio missing"

work=$(mktemp -d /tmp/sepia-ref.XXXXXX)
trap 'rm -rf "$work"' EXIT
# A 4 MiB disk whose first sector carries a known string.
truncate -s 4M "$work/disk.img"
printf 'sepia-e2e-disk-signature' | dd of="$work/disk.img" conv=notrunc status=none
# The kernel unpacks concatenated cpio archives in turn: the guest's, then the probe.
mkdir -p "$work/extra/bin"
cp "$probe" "$work/extra/bin/vector-probe"
(cd "$work/extra" && find . | cpio -o -H newc --quiet) | cat "$guest/initramfs.cpio" - > "$work/initrd.cpio"

echo "1..10"
start=$(date +%s)
timeout "${SEPIA_REF_TIMEOUT:-900}" "$vmm" --kernel "$guest/vmlinux" --initrd "$work/initrd.cpio" \
	--cmdline 'console=ttyS0 panic=-1 sepia.run="echo CPUS=$(nproc) DISK=$(head -c 24 /dev/vda) SECTORS=$(cat /sys/block/vda/size) CLOCK=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource); vector-probe"' \
	--cpus 2 --mem 512 --disk "$work/disk.img" \
	--serial "file:$work/serial.log" --console "file:$work/hvc0.log" 2> "$work/vmm.log"
status=$?
elapsed=$(( $(date +%s) - start ))
sed 's/^/# vmm: /' "$work/vmm.log"
grep -E 'VIRTUAL_DEVICE_BOOT_COMPLETED|CPUS=|Kernel panic|virtio|vector-probe|segfault' "$work/serial.log" | sed 's/^/# guest: /'
echo "# wall time ${elapsed}s"

check() { if eval "$2"; then echo "ok $1 - $3"; else echo "not ok $1 - $3"; fi; }
check 1 "grep -q VIRTUAL_DEVICE_BOOT_COMPLETED '$work/serial.log'" "the boot-completed marker on the serial console"
check 2 "grep -q VIRTUAL_DEVICE_BOOT_COMPLETED '$work/hvc0.log'" "the boot-completed marker on virtio-console (hvc0)"
check 3 "grep -q 'CPUS=2 ' '$work/serial.log' '$work/hvc0.log'" "user space sees 2 CPUs"
check 4 "grep -q 'DISK=sepia-e2e-disk-signature' '$work/serial.log' '$work/hvc0.log'" "Linux reads the virtio-blk disk's first sector"
check 5 "grep -q 'SECTORS=8192' '$work/serial.log' '$work/hvc0.log'" "the disk has the host file's 8192 sectors"
check 6 "[ $status -eq 0 ]" "poweroff ends sepia-vmm with status 0 (got $status)"
check 7 "grep -q 'guest powered off' '$work/vmm.log'" "sepia-vmm saw an ACPI power-off"
# The GLIBC_TUNABLES value sepia-vmm put on the kernel command line, if it added one.
tunables=$(sed -n 's/.*added to the kernel command line for this host:.* GLIBC_TUNABLES=\([^ ]*\).*/\1/p' "$work/vmm.log")
if [ -z "$tunables" ]; then
	echo "ok 8 # SKIP not an interpreting host: the guest kernel switches the AVX state itself"
	echo "ok 9 # SKIP not an interpreting host"
else
	# The guest's answer, whatever this host's CPU offers it (a skip where it offers no AVX).
	why=$(vector_probe_verdict "$work/serial.log" "$work/hvc0.log")
	case $? in
	0) echo "ok 8 - $why" ;;
	2) echo "ok 8 # SKIP $why" ;;
	*) echo "not ok 8 - $why" ;;
	esac
	# The control: on the host the probe sees glibc's AVX code, and the same value turns it off.
	"$probe" > "$work/host-probe" 2>&1; plain=$?
	GLIBC_TUNABLES=$tunables "$probe" >> "$work/host-probe" 2>&1; tuned=$?
	sed 's/^/# host: /' "$work/host-probe"
	if [ $plain = 2 ]; then
		echo "ok 9 # SKIP this host's CPU offers no AVX to check the probe against"
	elif [ $plain = 0 ]; then
		echo "ok 9 # SKIP this host's glibc picks no AVX string functions on its CPU: nothing for GLIBC_TUNABLES to turn off"
	else
		check 9 "[ $plain = 1 ] && [ $tuned = 0 ]" "on the host the probe sees glibc's AVX code, and sepia-vmm's GLIBC_TUNABLES ($tunables) turns it off"
	fi
fi
# The clocksource the guest runs on: kvm-clock only where sepia-vmm offered it (devices/cpuid.c;
# never on an interpreting host, where it keeps the TSC), and some clocksource named.
clock=$(sed -n 's/.*CLOCK=\([a-z0-9_-][a-z0-9_-]*\).*/\1/p' "$work/serial.log" "$work/hvc0.log" | head -n 1)
offered=no
grep -q 'vm: kvm-clock offered to the guest' "$work/vmm.log" && offered=yes
echo "# the guest's clocksource: ${clock:-(none printed)}; sepia-vmm offered kvm-clock: $offered"
check 10 "[ -n '$clock' ] && { [ $offered = yes ] || [ '$clock' != kvm-clock ]; }" \
	"the guest's clocksource (${clock:-none printed}) is kvm-clock only where sepia-vmm offers it (offered: $offered)"

