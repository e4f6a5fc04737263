#!/bin/sh
# guest/make-android-images.sh — the reference guest (guest/build-guest.sh's output) as Android
# images, the input directory assemble_cvd takes:
#   boot.img         boot image v4: the kernel, no generic ramdisk
#   vendor_boot.img  vendor_boot v4: initramfs.cpio as the vendor ramdisk fragment, the vendor
#                    command line "console=ttyS0 panic=-1", bootconfig androidboot.hardware=sepia
#                    (sepia-bootloader adds the slot, boot state and serial number per boot)
#   system.img       a small ext4 (mke2fs -d) holding /sepia-system-marker and /build.prop (the
#                    ro.product.* and ro.build.* properties; the guest mounts it at /system)
#   vbmeta.img       signed (SHA256_RSA2048) with --key, hash descriptors for boot and vendor_boot
# Usage: guest/make-android-images.sh [--guest DIR] [--out DIR] [--key PEM] [--kernel bzImage|vmlinux]
#   --guest   build-guest.sh's output (default guest/out next to this script)
#   --out     where the images go (default GUEST/android)
#   --key     the vbmeta signing key (default tests/data/testkey_rsa2048.pem)
#   --kernel  which kernel file of GUEST goes into boot.img (default bzImage)
# MKIMAGES names the helper (guest/mkimages, built by `make`); by default the one beside GUEST.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
guest=$here/out
out=
key=$here/../tests/data/testkey_rsa2048.pem
kernel=bzImage
die() { echo "make-android-images: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case $1 in
	--guest) guest=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--key) key=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	-h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done
out=${out:-$guest/android}
mkimages=${MKIMAGES:-$(dirname "$guest")/mkimages}
[ -x "$mkimages" ] || die "no $mkimages (run make, or set MKIMAGES)"
for f in "$kernel" initramfs.cpio; do
	[ -r "$guest/$f" ] || die "no $guest/$f (run make guest)"
done
[ -r "$key" ] || die "no signing key $key"
command -v mke2fs >/dev/null 2>&1 || die "mke2fs not found (e2fsprogs)"

mkdir -p "$out"
"$mkimages" --kernel "$guest/$kernel" --vendor-ramdisk "$guest/initramfs.cpio" \
	--vendor-cmdline 'console=ttyS0 panic=-1' \
	--bootconfig "$(printf 'androidboot.hardware=sepia\n')" \
	--key "$key" --out "$out"

# system.img: 8 MiB of ext4 with a marker file and build.prop, made under a temporary name.
tree=$(mktemp -d "$out/.system.XXXXXX")
trap 'rm -rf "$tree" "$out/.system.img.tmp"' EXIT
echo "sepia reference guest system image" > "$tree/sepia-system-marker"
# The build's identity comes from the guest build (its cache key and date), so the same guest
# gives the same build.prop.
info=$guest/build-info.txt
key_of() { sed -n "s/^$1: //p" "$info" 2>/dev/null | head -n 1; }
build_key=$(key_of key)
build_key=${build_key:-unknown}
built=$(key_of built)
built_utc=$(date -u -d "${built:-@0}" +%s 2>/dev/null || echo 0)
cat > "$tree/build.prop" <<EOF_PROPS
# sepia reference guest: system properties (read by the guest's init, shown by getprop)
ro.product.brand=sepia
ro.product.manufacturer=sepia
ro.product.model=sepia reference guest
ro.product.name=sepia_ref_x86_64
ro.product.device=sepia_x86_64
ro.product.cpu.abi=x86_64
ro.build.id=SEPIA.$build_key
ro.build.display.id=sepia_ref_x86_64-userdebug 14 SEPIA.$build_key
ro.build.version.release=14
ro.build.version.sdk=34
ro.build.version.incremental=$build_key
ro.build.type=userdebug
ro.build.tags=test-keys
ro.build.date.utc=$built_utc
ro.build.flavor=sepia_ref_x86_64-userdebug
ro.build.fingerprint=sepia/sepia_ref_x86_64/sepia_x86_64:14/SEPIA.$build_key/$build_key:userdebug/test-keys
EOF_PROPS
rm -f "$out/.system.img.tmp"
mke2fs -q -t ext4 -L system -E root_owner=0:0 -d "$tree" "$out/.system.img.tmp" 8M
mv "$out/.system.img.tmp" "$out/system.img"
echo "make-android-images: $out: boot.img vendor_boot.img system.img vbmeta.img ($kernel)"
