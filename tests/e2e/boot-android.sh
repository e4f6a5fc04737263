#!/bin/bash
# End to end: the reference guest as Android images (guest/make-android-images.sh), assembled by
# assemble_cvd into a composite disk + qcow2 overlay, put through the bootloader step on that
# disk as a real bootloader does it (sepia-bootloader --disk: misc read and written through the
# overlay, the slot images read from the boot_a/vendor_boot_a/vbmeta_a... partitions, AVB against
# the test key) and booted by sepia-vmm with the overlay as its disk. The boot is then marked
# successful in misc, and boot_a is corrupted through the overlay (qemu-io): the step must refuse
# slot a, mark it unbootable and boot slot b, which must reach the boot-completed marker too.
# Throughout, nothing under the system image dir or the instance's backing files is written:
# misc changes are visible through the overlay only. As the launcher does, sepia-vmm gets the
# overlay with format=qcow2 and the directories its backing chain may use (the instance's, the
# assembly's and the system image dir); without them the chain is refused.
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
command -v qemu-io >/dev/null 2>&1 || skip "qemu-io not found (qemu-utils)"

work=$(mktemp -d /tmp/sepia-android.XXXXXX)
trap 'rm -rf "$work"' EXIT
n=0
check() { n=$((n + 1)); if eval "$1"; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
note() { sed 's/^/# /' "$@"; }

echo "1..34"
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
overlay=$inst/overlay.qcow2
check "[ -s '$overlay' ] && [ -s '$misc' ]" "the instance has overlay.qcow2 and misc.img"
# Where the overlay's backing chain may be (the instance dir is the overlay's own).
image_dirs=(--allowed_image_dir "$android" --allowed_image_dir "$HOME/cuttlefish/assembly")
"$bootloader" --disk "$overlay" --list_partitions > "$work/refused.out" 2> "$work/refused.err"
check "[ $? -ne 0 ] && grep -q 'outside the allowed image directories' '$work/refused.err' && grep -Eq '($android|$HOME/cuttlefish/assembly)/' '$work/refused.err'" \
	"without the allowed directories, the composite's extents outside the instance dir are refused by name"
note "$work/refused.err"

# Everything the overlay's backing chain reads: the inputs and the instance's composite files.
backing_sums() {
	find "$android" "$inst" "$HOME/cuttlefish/assembly" -type f ! -name overlay.qcow2 -print0 2>/dev/null |
		sort -z | xargs -0 sha256sum
}
backing_sums > "$work/backing.before"
misc_is_zero() { cmp -s -n "$(stat -c %s "$misc")" "$misc" /dev/zero; }

# Partition offsets from sepia's GPT reader, cross-checked with qemu-io reading the overlay.
"$bootloader" "${image_dirs[@]}" --disk "$overlay" --list_partitions > "$work/partitions" 2> "$work/partitions.err"
note "$work/partitions" "$work/partitions.err"
part_offset() { sed -n "s/^partition name=$1 offset=\([0-9]*\) .*/\1/p" "$work/partitions"; }
misc_off=$(part_offset misc)
boot_a_off=$(part_offset boot_a)
check "[ -n '$misc_off' ] && [ -n '$boot_a_off' ] && [ -n '$(part_offset vbmeta_b)' ]" \
	"sepia-bootloader --list_partitions finds misc, boot_a and vbmeta_b in the overlay's GPT"
# qemu-io's dump is "<offset>:  41 4e 44 ..." (its text column shows only letters and digits):
# the boot magic "ANDROID!" must be where the GPT says boot_a is.
qemu_read() { qemu-io -r -f qcow2 -c "read -v $1 $2" "$overlay" 2>&1; }
qemu_read "${boot_a_off:-0}" 8 > "$work/boot_a.head"
check "grep -q ':  41 4e 44 52 4f 49 44 21' '$work/boot_a.head'" "qemu-io reads the boot magic at boot_a's offset"

# One boot: $1 = tag. Prints the guest's view of bootconfig, partitions and writes to metadata.
guest_cmd='cat /proc/bootconfig; cat /proc/partitions; grep -h PARTNAME /sys/class/block/vda*/uevent; for u in /sys/class/block/vda*/uevent; do grep -q PARTNAME=metadata $u && d=$(grep DEVNAME $u | cut -d= -f2); done; dd if=/dev/urandom of=/dev/$d bs=4096 count=16 conv=fsync 2>/dev/null && echo WROTE=$d'
boot() {
	local tag=$1 start
	start=$(date +%s.%N)
	timeout "$timeout_s" "$vmm" --kernel "$work/$tag/kernel" --initrd "$work/$tag/initrd" \
		--cmdline "$(cat "$work/$tag/cmdline") sepia.run=\"$guest_cmd\"" \
		--disk "$inst/overlay.qcow2,format=qcow2" --allowed-image-dir "$android" \
		--allowed-image-dir "$HOME/cuttlefish/assembly" --cpus 2 --mem 512 \
		--serial "file:$work/$tag.serial" 2> "$work/$tag.vmm"
	echo $? > "$work/$tag.status"
	echo "# $tag: boot through the composite took $(echo "$(date +%s.%N) - $start" | bc) s"
	note "$work/$tag.vmm"
	grep -E 'VIRTUAL_DEVICE_BOOT_COMPLETED|slot_suffix|verifiedbootstate|Load bootconfig|PARTNAME|WROTE|Kernel panic|vda' "$work/$tag.serial" | note
}

# ---- slot a, verified green against the test key
"$bootloader" "${image_dirs[@]}" --disk "$overlay" --avb_key "$key" --out "$work/a" > "$work/a.step" 2>&1
check "[ $? -eq 0 ]" "sepia-bootloader --disk prepares a slot from the overlay's partitions"
note "$work/a.step"
check "grep -q '^slot=_a state=green ' '$work/a.step'" "it picks slot _a, verified green with --avb_key"
# The A/B metadata (magic "BCAB" at misc+2048) is in the overlay; misc.img itself stays zeros.
qemu_read $((${misc_off:-0} + 2048)) 32 > "$work/misc-a.hex"
note "$work/misc-a.hex"
check "grep -q 'BCAB' '$work/misc-a.hex' && grep -q 'misc slot=_a priority=15 tries=6 successful=0' '$work/a.step'" \
	"misc's A/B metadata (slot _a, one try used) reads back through the overlay"
check "misc_is_zero" "the instance's misc.img (the composite's input) is still all zeros"
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

# The monitor's part after a completed boot (the VMM has exited): mark slot a successful.
"$bootloader" "${image_dirs[@]}" --disk "$overlay" --mark_successful a > "$work/mark.out" 2>&1
check "[ $? -eq 0 ] && grep -q 'misc slot=_a priority=15 tries=.* successful=1' '$work/mark.out'" \
	"sepia-bootloader --mark_successful a records the boot in misc through the overlay"
note "$work/mark.out"

# ---- boot_a corrupted through the overlay: slot a refused and marked unbootable, slot b boots
bad_off=$((${boot_a_off:-0} + 4096 + 98304)) # inside the kernel, which vbmeta's digest covers
qemu-io -f qcow2 -c "write -P 0xff $bad_off 4096" "$overlay" > "$work/corrupt.log" 2>&1
check "[ $? -eq 0 ] && qemu_read $bad_off 16 | grep -q 'ff ff ff ff'" "qemu-io corrupts boot_a through the overlay"
check "cmp -s '$work/backing.before' <(backing_sums)" "the input files and composite are unchanged by the corruption"
"$bootloader" "${image_dirs[@]}" --disk "$overlay" --avb_key "$key" --out "$work/b" > "$work/b.step" 2>&1
check "[ $? -eq 0 ]" "sepia-bootloader --disk still finds a slot"
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
# Slot a stays refused on the next launch, even with boot_a's good bytes written back.
dd if="$android/boot.img" of="$work/good.4k" bs=4096 skip=$(((4096 + 98304) / 4096)) count=1 status=none
qemu-io -f qcow2 -c "write -s $work/good.4k $bad_off 4096" "$overlay" > "$work/restore.log" 2>&1
check "[ $? -eq 0 ] && ! qemu_read $bad_off 16 | grep -q 'ff ff ff ff'" "qemu-io restores boot_a's bytes through the overlay"
"$bootloader" "${image_dirs[@]}" --disk "$overlay" --avb_key "$key" --out "$work/c" > "$work/c.step" 2>&1
check "grep -q '^slot=_b ' '$work/c.step'" "the next launch picks slot _b again (a stays unbootable)"
note "$work/c.step"
backing_sums > "$work/backing.after"
diff "$work/backing.before" "$work/backing.after" | note
check "cmp -s '$work/backing.before' '$work/backing.after'" \
	"after two boots and four bootloader steps the system image dir and backing files are byte-identical"
check "misc_is_zero" "misc.img is still all zeros: every misc change lives in the overlay"
qemu_read $((${misc_off:-0} + 2048)) 32 > "$work/misc-c.hex"
check "grep -q ':  5f 62 00 00 42 43 41 42' '$work/misc-c.hex'" \
	"through the overlay, misc's active suffix is now _b"
qemu-img check "$overlay" > "$work/check-c.log" 2>&1
check "[ $? -eq 0 ]" "qemu-img check of the overlay is clean after the bootloader's writes"
