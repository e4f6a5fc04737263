#!/bin/bash
# End to end: the reference guest as Android images (guest/make-android-images.sh), assembled by
# assemble_cvd into a composite disk + qcow2 overlay, put through the bootloader step
# (sepia-bootloader: A/B slot from misc, AVB against the test key) and booted by sepia-vmm with
# the overlay as its disk. Then boot_a is corrupted: the step must refuse slot a, mark it
# unbootable in misc and boot slot b, which must reach the boot-completed marker too.
#
# Left for the launcher: the misc the step reads and writes here is the per-instance misc.img
# assemble_cvd made (which the composite maps); the issue wants those writes to go through the
# overlay, and the slot images to be read from the composite's boot_a/boot_b partitions.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$top_builddir}
vmm=$top_builddir/sepia-vmm
bootloader=$top_builddir/sepia-bootloader
assemble=$top_builddir/assemble_cvd
guest=${SEPIA_GUEST_DIR:-$top_builddir/guest/out}
key=$top_srcdir/tests/data/testkey_rsa2048.pem
timeout_s=${SEPIA_ANDROID_TIMEOUT:-600}

skip() { echo "1..0 # SKIP $1"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no access to /dev/kvm"
for b in "$vmm" "$bootloader" "$assemble" "$top_builddir/guest/mkimages"; do
	[ -x "$b" ] || skip "$(basename "$b") not built"
done
[ -r "$guest/bzImage" ] && [ -r "$guest/initramfs.cpio" ] || skip "no reference guest in $guest (run make guest)"
command -v qemu-img >/dev/null 2>&1 || skip "qemu-img not found"
command -v mke2fs >/dev/null 2>&1 || skip "mke2fs not found"

work=$(mktemp -d /tmp/sepia-android.XXXXXX)
trap 'rm -rf "$work"' EXIT
n=0
check() { n=$((n + 1)); if eval "$1"; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
note() { sed 's/^/# /' "$@"; }

echo "1..22"
android=$work/android
MKIMAGES=$top_builddir/guest/mkimages "$top_srcdir/guest/make-android-images.sh" \
	--guest "$guest" --out "$android" --key "$key" ${SEPIA_ANDROID_KERNEL:+--kernel "$SEPIA_ANDROID_KERNEL"} \
	> "$work/mkimages.log" 2>&1
check "[ $? -eq 0 ] && [ -s '$android/boot.img' ] && [ -s '$android/vendor_boot.img' ] && [ -s '$android/system.img' ] && [ -s '$android/vbmeta.img' ]" \
	"make-android-images.sh writes boot, vendor_boot, system and vbmeta images"
[ -s "$android/vbmeta.img" ] || { note "$work/mkimages.log"; exit 1; }

export HOME=$work/home
mkdir -p "$HOME"
"$assemble" --system_image_dir="$android" --blank_data_image_mb=64 > "$work/assemble.log" 2>&1
check "[ $? -eq 0 ]" "assemble_cvd assembles the android images"
inst=$HOME/cuttlefish/instances/cvd-1
misc=$inst/misc.img
check "[ -s '$inst/overlay.qcow2' ] && [ -s '$misc' ]" "the instance has overlay.qcow2 and misc.img"

slot_spec() { echo "boot=$1,vendor_boot=$android/vendor_boot.img,vbmeta=$android/vbmeta.img"; }

# One boot: $1 = tag. Prints the guest's view of bootconfig, partitions and writes to metadata.
guest_cmd='cat /proc/bootconfig; cat /proc/partitions; grep -h PARTNAME /sys/class/block/vda*/uevent; for u in /sys/class/block/vda*/uevent; do grep -q PARTNAME=metadata $u && d=$(grep DEVNAME $u | cut -d= -f2); done; dd if=/dev/urandom of=/dev/$d bs=4096 count=16 conv=fsync 2>/dev/null && echo WROTE=$d'
boot() {
	local tag=$1 start
	start=$(date +%s.%N)
	timeout "$timeout_s" "$vmm" --kernel "$work/$tag/kernel" --initrd "$work/$tag/initrd" \
		--cmdline "$(cat "$work/$tag/cmdline") sepia.run=\"$guest_cmd\"" \
		--disk "$inst/overlay.qcow2" --cpus 2 --mem 512 \
		--serial "file:$work/$tag.serial" 2> "$work/$tag.vmm"
	echo $? > "$work/$tag.status"
	echo "# $tag: boot through the composite took $(echo "$(date +%s.%N) - $start" | bc) s"
	note "$work/$tag.vmm"
	grep -E 'VIRTUAL_DEVICE_BOOT_COMPLETED|slot_suffix|verifiedbootstate|PARTNAME|WROTE|Kernel panic|vda' "$work/$tag.serial" | note
}

# ---- slot a, verified green against the test key
"$bootloader" --misc "$misc" --slot_a "$(slot_spec "$android/boot.img")" \
	--slot_b "$(slot_spec "$android/boot.img")" --avb_key "$key" --out "$work/a" > "$work/a.step" 2>&1
check "[ $? -eq 0 ]" "sepia-bootloader prepares a slot"
note "$work/a.step"
check "grep -q '^slot=_a state=green ' '$work/a.step'" "it picks slot _a, verified green with --avb_key"
check "grep -qx 'androidboot.slot_suffix=_a' '$work/a/bootconfig' && grep -qx 'androidboot.verifiedbootstate=green' '$work/a/bootconfig' && grep -qw bootconfig '$work/a/cmdline'" \
	"the bootconfig has slot_suffix=_a and verifiedbootstate=green, the cmdline has 'bootconfig'"
boot a
check "grep -q VIRTUAL_DEVICE_BOOT_COMPLETED '$work/a.serial'" "slot a: the guest reaches VIRTUAL_DEVICE_BOOT_COMPLETED"
check "[ \"\$(cat '$work/a.status')\" = 0 ]" "slot a: poweroff ends sepia-vmm with status 0"
check "grep -q 'androidboot.slot_suffix = \"_a\"' '$work/a.serial' && grep -q 'androidboot.verifiedbootstate = \"green\"' '$work/a.serial'" \
	"slot a: the guest's /proc/bootconfig has slot_suffix _a and verifiedbootstate green"
check "grep -q 'androidboot.hardware = \"sepia\"' '$work/a.serial'" "slot a: the vendor bootconfig reaches the guest"
check "grep -q 'PARTNAME=boot_a' '$work/a.serial' && grep -q 'PARTNAME=vendor_boot_b' '$work/a.serial' && grep -q 'PARTNAME=system' '$work/a.serial' && grep -q 'PARTNAME=misc' '$work/a.serial'" \
	"slot a: the guest sees the composite's GPT partitions by name"
check "grep -Eq '[[:space:]]vda[0-9]+[[:space:]]*\$' '$work/a.serial' && grep -q 'WROTE=vda' '$work/a.serial'" "slot a: vda has partitions and the guest wrote to metadata"
qemu-img check "$inst/overlay.qcow2" > "$work/check-a.log" 2>&1
check "[ $? -eq 0 ]" "slot a: qemu-img check of the overlay is clean after the guest wrote"
note "$work/check-a.log"

# ---- boot_a corrupted: slot a refused and marked unbootable, slot b boots
cp "$android/boot.img" "$work/boot_a_bad.img"
printf '\377' | dd of="$work/boot_a_bad.img" bs=1 seek=$((4096 + 100000)) conv=notrunc status=none
cmp -s "$android/boot.img" "$work/boot_a_bad.img"
check "[ $? -ne 0 ]" "the corrupted boot_a differs from boot.img"
"$bootloader" --misc "$misc" --slot_a "$(slot_spec "$work/boot_a_bad.img")" \
	--slot_b "$(slot_spec "$android/boot.img")" --avb_key "$key" --out "$work/b" > "$work/b.step" 2>&1
check "[ $? -eq 0 ]" "sepia-bootloader still finds a slot"
note "$work/b.step"
check "grep -q '^slot=_b state=green ' '$work/b.step'" "it falls back to slot _b, verified green"
check "grep -q 'misc slot=_a priority=0 .*bootable=0' '$work/b.step'" "misc now shows slot _a unbootable"
check "grep -qx 'androidboot.slot_suffix=_b' '$work/b/bootconfig'" "the bootconfig has slot_suffix=_b"
boot b
check "grep -q VIRTUAL_DEVICE_BOOT_COMPLETED '$work/b.serial'" "slot b: the guest reaches VIRTUAL_DEVICE_BOOT_COMPLETED"
check "grep -q 'androidboot.slot_suffix = \"_b\"' '$work/b.serial' && [ \"\$(cat '$work/b.status')\" = 0 ]" \
	"slot b: the guest's bootconfig says _b and poweroff ends sepia-vmm with status 0"
qemu-img check "$inst/overlay.qcow2" > "$work/check-b.log" 2>&1
check "[ $? -eq 0 ]" "slot b: qemu-img check of the overlay is clean"
# Slot a stays refused on the next launch, even with good images again.
"$bootloader" --misc "$misc" --slot_a "$(slot_spec "$android/boot.img")" \
	--slot_b "$(slot_spec "$android/boot.img")" --avb_key "$key" --out "$work/c" > "$work/c.step" 2>&1
check "grep -q '^slot=_b ' '$work/c.step'" "the next launch picks slot _b again (a stays unbootable)"
