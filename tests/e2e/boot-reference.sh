#!/bin/sh
# End to end: the reference guest (make guest) boots under sepia-vmm with 2 vCPUs, a
# virtio-blk disk and a virtio-console, prints the boot-completed marker on both consoles,
# sees both CPUs and the disk from Linux, and its poweroff ends sepia-vmm with status 0.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
vmm=$top_builddir/sepia-vmm
guest=${SEPIA_GUEST_DIR:-$top_builddir/guest/out}

skip() { echo "1..0 # SKIP $1"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no access to /dev/kvm"
[ -x "$vmm" ] || skip "sepia-vmm not built"
[ -r "$guest/vmlinux" ] && [ -r "$guest/initramfs.cpio" ] || skip "no reference guest in $guest (run make guest)"

work=$(mktemp -d /tmp/sepia-ref.XXXXXX)
trap 'rm -rf "$work"' EXIT
# A 4 MiB disk whose first sector carries a known string.
truncate -s 4M "$work/disk.img"
printf 'sepia-e2e-disk-signature' | dd of="$work/disk.img" conv=notrunc status=none

echo "1..7"
start=$(date +%s)
timeout "${SEPIA_REF_TIMEOUT:-900}" "$vmm" --kernel "$guest/vmlinux" --initrd "$guest/initramfs.cpio" \
	--cmdline 'console=ttyS0 panic=-1 sepia.run="echo CPUS=$(nproc) DISK=$(head -c 24 /dev/vda) SECTORS=$(cat /sys/block/vda/size)"' \
	--cpus 2 --mem 512 --disk "$work/disk.img" \
	--serial "file:$work/serial.log" --console "file:$work/hvc0.log" 2> "$work/vmm.log"
status=$?
elapsed=$(( $(date +%s) - start ))
sed 's/^/# vmm: /' "$work/vmm.log"
grep -E 'VIRTUAL_DEVICE_BOOT_COMPLETED|CPUS=|Kernel panic|virtio' "$work/serial.log" | sed 's/^/# guest: /'
echo "# wall time ${elapsed}s"

check() { if eval "$2"; then echo "ok $1 - $3"; else echo "not ok $1 - $3"; fi; }
check 1 "grep -q VIRTUAL_DEVICE_BOOT_COMPLETED '$work/serial.log'" "the boot-completed marker on the serial console"
check 2 "grep -q VIRTUAL_DEVICE_BOOT_COMPLETED '$work/hvc0.log'" "the boot-completed marker on virtio-console (hvc0)"
check 3 "grep -q 'CPUS=2 ' '$work/serial.log' '$work/hvc0.log'" "user space sees 2 CPUs"
check 4 "grep -q 'DISK=sepia-e2e-disk-signature' '$work/serial.log' '$work/hvc0.log'" "Linux reads the virtio-blk disk's first sector"
check 5 "grep -q 'SECTORS=8192' '$work/serial.log' '$work/hvc0.log'" "the disk has the host file's 8192 sectors"
check 6 "[ $status -eq 0 ]" "poweroff ends sepia-vmm with status 0 (got $status)"
check 7 "grep -q 'guest powered off' '$work/vmm.log'" "sepia-vmm saw an ACPI power-off"
