#!/bin/sh
# bench/assemble.sh — assemble_cvd vs a plain copy of the same images into one raw disk
# (issue 3, item 8). Inputs: boot/vendor_boot from mkbootimg, a 2 GiB super.img made with
# truncate, and an 8 GiB blank userdata that assemble_cvd makes (--blank_data_image_mb=8192).
#   bench/assemble.sh [-s SUPER_MIB] [-u USERDATA_MIB] [-d WORKDIR]
# Reports: the first assembly (mke2fs, hashing for the manifest), a re-assembly with unchanged
# inputs, a powerwash (--resume=false), and `cat ... | cp --sparse=always` and plain `cat` of the
# same images into one raw disk file; the ratio is copy time / assembly time.
set -eu
super_mb=2048
data_mb=8192
work=
while getopts s:u:d: opt; do
    case $opt in
    s) super_mb=$OPTARG ;;
    u) data_mb=$OPTARG ;;
    d) work=$OPTARG ;;
    *) echo "usage: $0 [-s SUPER_MIB] [-u USERDATA_MIB] [-d WORKDIR]" >&2; exit 2 ;;
    esac
done
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
ASSEMBLE=$top_builddir/assemble_cvd
for tool in mkbootimg mke2fs python3; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || { echo "bench: $tool missing" >&2; exit 77; }
done
[ -x "$ASSEMBLE" ] || { echo "bench: build assemble_cvd first" >&2; exit 77; }
if [ -z "$work" ]; then
    work=$(mktemp -d /tmp/sepia-bench-assemble.XXXXXX)
    trap 'rm -rf "$work"' EXIT
fi
IN=$work/in
mkdir -p "$IN" "$work/home"
export HOME=$work/home

now() { date +%s.%N; }
secs() { python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }
timeit() { # timeit VAR command...: seconds in VAR
    var=$1; shift
    t0=$(now); "$@"; t1=$(now)
    eval "$var=\$(secs $t0 $t1)"
}

head -c 8M /dev/urandom >"$work/kernel"
head -c 2M /dev/urandom >"$work/ramdisk"
head -c 4096 /dev/urandom >"$work/dtb"
mkbootimg --header_version 3 --kernel "$work/kernel" --ramdisk "$work/ramdisk" -o "$IN/boot.img" >/dev/null
mkbootimg --header_version 3 --vendor_boot "$IN/vendor_boot.img" --vendor_ramdisk "$work/ramdisk" \
    --dtb "$work/dtb" >/dev/null
truncate -s "${super_mb}M" "$IN/super.img"

run() { "$ASSEMBLE" --system_image_dir="$IN" --blank_data_image_mb="$data_mb" "$@" 2>>"$work/assemble.log"; }
timeit t_first run
timeit t_again run
timeit t_wash run --resume=false
sync
inst=$HOME/cuttlefish/instances/cvd-1
imgs="$inst/misc.img $IN/boot.img $IN/boot.img $IN/vendor_boot.img $IN/vendor_boot.img $IN/super.img $inst/userdata.img $inst/metadata.img"
# shellcheck disable=SC2086
timeit t_cp sh -c "cat $imgs | cp --sparse=always /dev/stdin '$work/disk-cp.raw'"
rm -f "$work/disk-cp.raw"
# shellcheck disable=SC2086
timeit t_cat sh -c "cat $imgs >'$work/disk-cat.raw' && sync"
rm -f "$work/disk-cat.raw"

ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.1fx' % (a / b) if b else 'inf')" "$1" "$2"; }
echo "images: super ${super_mb} MiB (truncate), userdata ${data_mb} MiB (blank ext4), boot 10 MiB, vendor_boot 6 MiB"
printf '%-46s %8s s\n' "assemble_cvd, first run (mke2fs, hash all)" "$t_first"
printf '%-46s %8s s\n' "assemble_cvd, again (unchanged inputs)" "$t_again"
printf '%-46s %8s s\n' "assemble_cvd --resume=false (powerwash)" "$t_wash"
printf '%-46s %8s s\n' "cat images | cp --sparse=always to one raw disk" "$t_cp"
printf '%-46s %8s s\n' "cat images > one raw disk (+ sync)" "$t_cat"
echo "ratio cp --sparse=always / assemble again: $(ratio "$t_cp" "$t_again"); / first run: $(ratio "$t_cp" "$t_first")"
echo "ratio cat / assemble again: $(ratio "$t_cat" "$t_again"); / first run: $(ratio "$t_cat" "$t_first")"
grep 'assembled' "$work/assemble.log" | sed 's/^/  /'
