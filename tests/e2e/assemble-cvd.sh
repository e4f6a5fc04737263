#!/bin/sh
# assemble_cvd end to end: inputs made by Debian's mkbootimg, checked with qemu-img, sfdisk and
# e2fsprogs. TAP output; exit 77 (skip) when one of those tools is missing.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
ASSEMBLE=$top_builddir/assemble_cvd
PATH=$PATH:/usr/sbin:/sbin

for tool in mkbootimg qemu-img sfdisk mke2fs dumpe2fs python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool is not installed"
        exit 77
    fi
done
[ -x "$ASSEMBLE" ] || { echo "1..0 # SKIP $ASSEMBLE not built"; exit 77; }

T=$(mktemp -d /tmp/sepia-assemble.XXXXXX)
trap 'rm -rf "$T"' EXIT
IN=$T/in
mkdir -p "$IN" "$T/home"
export HOME=$T/home
unset CUTTLEFISH_INSTANCE
CF=$HOME/cuttlefish
umask 022

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { # check "description" command...
    d=$1; shift
    if "$@" >"$T/out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/# /' "$T/out"; fi
}
# Every file under cuttlefish/ with inode, size and mtime (ns): "nothing changed" is equality.
snapshot() { find "$CF" -type f -exec stat -c '%n %i %s %y' {} + | sort; }

echo "1..39"

# Inputs: boot v3 and vendor_boot v3 from mkbootimg, a raw system.img.
head -c 20000 /dev/urandom >"$T/kernel"
head -c 5000 /dev/urandom >"$T/ramdisk"
head -c 300 /dev/urandom >"$T/dtb"
mkbootimg --header_version 3 --kernel "$T/kernel" --ramdisk "$T/ramdisk" --cmdline console=ttyS0 \
    -o "$IN/boot.img" >/dev/null
mkbootimg --header_version 3 --vendor_boot "$IN/vendor_boot.img" --vendor_ramdisk "$T/ramdisk" \
    --dtb "$T/dtb" --vendor_cmdline androidboot.hardware=sepia >/dev/null
truncate -s 32M "$IN/system.img"
printf 'sepia system' | dd of="$IN/system.img" conv=notrunc status=none

check "assemble_cvd --num_instances=2 succeeds" \
    "$ASSEMBLE" --system_image_dir="$IN" --num_instances=2 --blank_data_image_mb=64
for i in 1 2; do
    check "cvd-$i has os_composite.vmdk and overlay.qcow2" \
        test -f "$CF/instances/cvd-$i/os_composite.vmdk" -a -f "$CF/instances/cvd-$i/overlay.qcow2"
done
check "qemu-img check of both overlays is clean" sh -c \
    "qemu-img check '$CF/instances/cvd-1/overlay.qcow2' && qemu-img check '$CF/instances/cvd-2/overlay.qcow2'"

qemu-img convert -O raw "$CF/instances/cvd-1/overlay.qcow2" "$T/disk.raw"
sfdisk --json "$T/disk.raw" >"$T/gpt.json" 2>"$T/sfdisk.err"
expected="misc boot_a boot_b vendor_boot_a vendor_boot_b system userdata metadata"
names=$(python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(open(sys.argv[1]))["partitiontable"]["partitions"]))' "$T/gpt.json" 2>&1)
if [ "$names" = "$expected" ]; then ok "sfdisk --json lists the partitions in order"; else
    not_ok "sfdisk --json lists the partitions in order"; echo "# got: $names"; fi

# part NAME -> "start sectors" from sfdisk's JSON.
part() { python3 -c 'import json,sys
for p in json.load(open(sys.argv[1]))["partitiontable"]["partitions"]:
    if p["name"] == sys.argv[2]: print(p["start"], p["size"])' "$T/gpt.json" "$1"; }
extract() { set -- "$1" $(part "$1"); dd if="$T/disk.raw" of="$T/$1.part" bs=512 skip="$2" count="$3" status=none; }
extract boot_a
bsz=$(stat -c %s "$IN/boot.img")
check "boot_a holds boot.img's bytes" cmp -n "$bsz" "$T/boot_a.part" "$IN/boot.img"
extract system
check "system holds system.img's bytes" cmp -n 32M "$T/system.part" "$IN/system.img"
extract userdata
check "userdata is an ext4 filesystem" sh -c "dumpe2fs -h '$T/userdata.part' 2>/dev/null | grep -q 'Filesystem features:.*extent'"
check "userdata.img is sparse (allocated < size)" sh -c \
    "test \$(du -k '$CF/instances/cvd-1/userdata.img' | cut -f1) -lt 32768"
check "misc and metadata are per instance, 1 and 16 MiB" sh -c \
    "test \$(stat -c %s '$CF/instances/cvd-2/misc.img') = 1048576 && test \$(stat -c %s '$CF/instances/cvd-2/metadata.img') = 16777216"
extract metadata
check "metadata is an ext4 filesystem labelled metadata" sh -c \
    "dumpe2fs -h '$T/metadata.part' 2>/dev/null | grep -q '^Filesystem volume name: *metadata\$'"
check "manifest.json parses" python3 -m json.tool "$CF/assembly/manifest.json"
check "manifest lists boot.img with header version 3" python3 -c 'import json,sys
m = json.load(open(sys.argv[1]))
b = [e for e in m["inputs"] if e["path"] == sys.argv[2]]
assert b and b[0]["boot_header_version"] == 3 and len(b[0]["sha256"]) == 64, b
assert [p["name"] for p in m["composite"]["partitions"]][:2] == ["misc", "boot_a"]' \
    "$CF/assembly/manifest.json" "$IN/boot.img"
check "cuttlefish_assembly links to the assembly dir" test "$(readlink "$HOME/cuttlefish_assembly")" = "$CF/assembly"

# Re-running with unchanged inputs changes nothing and hashes nothing ("--flag value" form too).
snapshot >"$T/snap1"
"$ASSEMBLE" --system_image_dir "$IN" --num_instances 2 --blank_data_image_mb 64 2>"$T/run2.err"
rc=$?
snapshot >"$T/snap2"
check "second run succeeds" test $rc -eq 0
check "second run changes no file (inode, size, mtime)" cmp "$T/snap1" "$T/snap2"
check "second run hashes nothing and writes nothing" grep -q \
    "0 data images made, 0 composite files written, 0 overlays created, 0 files hashed, manifest unchanged" "$T/run2.err"

ov=$CF/instances/cvd-1/overlay.qcow2
before=$(stat -c '%i %y' "$ov")
"$ASSEMBLE" --system_image_dir="$IN" --num_instances=2 --blank_data_image_mb=64 --resume=true 2>/dev/null
check "--resume=true keeps the overlay" test "$(stat -c '%i %y' "$ov")" = "$before"
"$ASSEMBLE" --system_image_dir="$IN" --num_instances=2 --blank_data_image_mb=64 --resume=false 2>/dev/null
check "--resume=false recreates the overlay" test "$(stat -c '%i %y' "$ov")" != "$before"

# --data_policy (Cuttlefish's names). The overlay holds the guest's writes: a file put into
# cvd-1's userdata through the overlay stands for what the user wrote under /data.
ud=$CF/instances/cvd-1/userdata.img
ud_ino=$(stat -c %i "$ud")
"$ASSEMBLE" --system_image_dir="$IN" --num_instances=2 --blank_data_image_mb=64 --data_policy=create_if_missing 2>/dev/null
rc=$?
check "--data_policy=create_if_missing is taken and keeps an existing userdata" \
    test $rc -eq 0 -a "$(stat -c %i "$ud")" = "$ud_ino"
if command -v qemu-io >/dev/null 2>&1 && command -v debugfs >/dev/null 2>&1; then
    qemu-img convert -O raw "$ov" "$T/disk.raw"
    extract userdata
    echo "written by the guest" >"$T/hello"
    debugfs -w -R "write $T/hello hello.txt" "$T/userdata.part" >/dev/null 2>&1
    set -- $(part userdata)
    qemu-io -f qcow2 -c "write -q -s $T/userdata.part $(($1 * 512)) $(($2 * 512))" "$ov" >"$T/qio" 2>&1
    "$ASSEMBLE" --system_image_dir="$IN" --num_instances=2 --blank_data_image_mb=96 \
        --data_policy=resize_up_to 2>"$T/resize.err"
    sed 's/^/# /' "$T/resize.err"
    check "resize_up_to grows userdata.img to --blank_data_image_mb" test "$(stat -c %s "$ud")" = $((96 << 20))
    check "resize_up_to grows its ext4 to the new size" sh -c \
        "dumpe2fs -h '$ud' 2>/dev/null | awk -F: '/^Block count/ { c = \$2 } /^Block size/ { s = \$2 } END { exit !(c * s == 96 * 1048576) }'"
    check "resize_up_to keeps what the guest wrote to userdata (read through the overlay)" sh -c \
        "debugfs -R 'cat hello.txt' '$ud' 2>/dev/null | grep -qx 'written by the guest'"
    check "resize_up_to: a new overlay over the grown composite, clean" sh -c \
        "grep -q 'new overlay.qcow2: the composite disk changed' '$T/resize.err' && qemu-img check '$ov'"
else
    for i in 1 2 3 4; do ok "# SKIP qemu-io or debugfs not installed"; done
fi
# Hostile input: garbage where the instance's userdata and metadata were.
md=$CF/instances/cvd-1/metadata.img
head -c 65536 /dev/urandom | dd of="$ud" conv=notrunc status=none
head -c 65536 /dev/urandom | dd of="$md" conv=notrunc status=none
"$ASSEMBLE" --system_image_dir="$IN" --num_instances=2 --blank_data_image_mb=64 2>"$T/keep.err"
rc=$?
sed 's/^/# /' "$T/keep.err"
check "use_existing keeps a garbage userdata.img and warns that /data will not mount" sh -c \
    "test $rc -eq 0 && grep -q 'cvd-1: warning: .*userdata.img holds no ext4 file system' '$T/keep.err'"
"$ASSEMBLE" --system_image_dir="$IN" --num_instances=2 --blank_data_image_mb=64 --data_policy=create_if_missing 2>"$T/garbage.err"
rc=$?
sed 's/^/# /' "$T/garbage.err"
check "create_if_missing: a garbage userdata.img is made anew as a blank ext4" sh -c \
    "test $rc -eq 0 && dumpe2fs -h '$ud' 2>/dev/null | grep -q '^Filesystem volume name: *userdata\$'"
check "a garbage metadata.img is made anew as a blank ext4" sh -c \
    "dumpe2fs -h '$md' 2>/dev/null | grep -q '^Filesystem volume name: *metadata\$'"
ud_ino=$(stat -c %i "$ud")
"$ASSEMBLE" --system_image_dir="$IN" --num_instances=2 --blank_data_image_mb=64 --data_policy=always_create 2>/dev/null
check "always_create makes a new blank userdata of --blank_data_image_mb" sh -c \
    "test \$(stat -c %i '$ud') != $ud_ino && test \$(stat -c %s '$ud') = $((64 << 20)) && ! debugfs -R 'stat hello.txt' '$ud' 2>/dev/null | grep -q Inode"
"$ASSEMBLE" --system_image_dir="$IN" --num_instances=2 --data_policy=keep_it 2>"$T/pol.err"
check "an unknown --data_policy exits 2 naming the four policies" sh -c \
    "test $? -eq 2 && grep -q 'create_if_missing' '$T/pol.err'"

# A truncated boot.img: one-line error naming it, non-zero status, previous outputs intact.
BAD=$T/bad
mkdir -p "$BAD"
cp "$IN"/*.img "$BAD"/
truncate -s 6000 "$BAD/boot.img"
snapshot >"$T/snap3"
"$ASSEMBLE" --system_image_dir="$BAD" --num_instances=2 --blank_data_image_mb=64 2>"$T/bad.err"
rc=$?
check "truncated boot.img fails" test $rc -ne 0 -a $rc -ne 2
check "the error is one line naming boot.img" sh -c "test \$(wc -l <'$T/bad.err') -eq 1 && grep -q 'boot.img' '$T/bad.err'"
sed 's/^/# /' "$T/bad.err"
snapshot >"$T/snap4"
check "the failed run left the outputs as they were" cmp "$T/snap3" "$T/snap4"

"$ASSEMBLE" --system_image_dir="$IN" --bogus_flag=1 2>"$T/flag.err"
check "an unknown flag exits 2 with one line" sh -c "test $? -eq 2 && test \$(wc -l <'$T/flag.err') -eq 1"

# An Android sparse super.img is expanded into the assembly dir; CUTTLEFISH_INSTANCE picks cvd-3.
if command -v img2simg >/dev/null 2>&1; then
    SP=$T/sparse
    mkdir -p "$SP"
    cp "$IN/boot.img" "$IN/vendor_boot.img" "$SP/"
    truncate -s 16M "$T/super.raw"
    printf 'sepia super' | dd of="$T/super.raw" bs=1M seek=3 conv=notrunc status=none
    img2simg "$T/super.raw" "$SP/super.img" >/dev/null
    CUTTLEFISH_INSTANCE=3 "$ASSEMBLE" --system_image_dir="$SP" --blank_data_image_mb=64 2>"$T/sp.err"
    check "sparse super.img is expanded into the assembly dir" cmp "$T/super.raw" "$CF/assembly/super.img"
    check "CUTTLEFISH_INSTANCE=3 assembles cvd-3 with a super partition" sh -c \
        "grep -q 'partition 6: super' '$CF/instances/cvd-3/os_composite.vmdk' && qemu-img check '$CF/instances/cvd-3/overlay.qcow2'"
else
    ok "# SKIP img2simg not installed"
    ok "# SKIP img2simg not installed"
fi

# File modes (README, "Who may read a device"): the user's data and everything else under
# cuttlefish/ are for the owner (and the directory's group), never for other users, whatever
# the umask, and whatever an earlier sepia left.
# wide_modes: each directory that is not 0750 and file that is not 0640 (links are not looked at).
wide_modes() { find "$CF" \( -type d ! -perm 0750 \) -o \( -type f ! -perm 0640 \) -printf '%m %p\n'; }
wide_modes >"$T/wide1"
check "after assembly under umask 022, directories are 0750 and files 0640" sh -c "! grep . '$T/wide1'"
check "overlay.qcow2 (the user's data) is 0640" test "$(stat -c %a "$CF/instances/cvd-1/overlay.qcow2")" = 640
# A tree an earlier sepia left world-readable (and umask 000 now) is brought back.
chmod 0755 "$CF" "$CF/instances" "$CF/instances/cvd-1" "$CF/assembly"
chmod 0666 "$CF/instances/cvd-1/overlay.qcow2" "$CF/assembly/manifest.json"
( umask 000; "$ASSEMBLE" --system_image_dir="$IN" --num_instances=2 --blank_data_image_mb=64 --resume=false 2>/dev/null )
wide_modes >"$T/wide2"
check "assembling again under umask 000 restricts what an earlier run left" sh -c "! grep . '$T/wide2'"
# A group given to cuttlefish/ with the setgid bit (to share devices) is kept.
chmod g+s "$CF/instances"
"$ASSEMBLE" --system_image_dir="$IN" --num_instances=2 --blank_data_image_mb=64 2>/dev/null
check "a directory's setgid bit is kept" test "$(stat -c %a "$CF/instances")" = 2750

[ "$fails" -eq 0 ]
