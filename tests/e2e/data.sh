#!/bin/bash
# End to end: the reference guest's /data and /metadata, and its properties, as a Cuttlefish user
# meets them through the real adb client.
#   - init finds the partitions by their GPT names and mounts userdata at /data and metadata at
#     /metadata (ext4, formatted by assemble_cvd on the host), system read-only at /system;
#   - getprop: ro.boot.* from the bootconfig the bootloader step wrote, ro.product.* and ro.build.*
#     from system.img's build.prop, sys.boot_completed=1, the serial cvd_status shows;
#   - what is written under /data survives adb reboot, restart_cvd, stop_cvd + launch_cvd;
#     powerwash_cvd and launch_cvd --resume=false give an empty /data;
#   - --data_policy=resize_up_to with a larger --blank_data_image_mb: a larger /data, data kept.
# One device, booted seven times (each boot ~45-90 s on the interpreting host).
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$top_builddir
PATH=$PATH:/usr/sbin:/sbin

. "$top_srcdir/tests/e2e/require.sh"
. "$top_srcdir/tests/e2e/device-lib.sh"
command -v debugfs > /dev/null || skip "debugfs (e2fsprogs) is not installed"
device_test_begin data launch_cvd run_cvd stop_cvd cvd_status restart_cvd powerwash_cvd sepia-vmm \
	sepia-vsock-proxy
tap_begin
small_mb=128
large_mb=320

. "$top_srcdir/tests/e2e/data-lib.sh"
boots() { grep -c 'guest boot completed' "$inst/logs/launcher.log"; }
wait_boots() { # N: until the monitor saw N boots in this launch's log
	local i
	for i in $(seq 1 400); do [ "$(boots)" -ge "$1" ] && break; sleep 1; done
	wait_adb
}

# ---- first boot: the mounts and the properties
launch first --blank_data_image_mb=$small_mb
check "[ \$(cat '$work/first.rc') = 0 ]" "launch_cvd boots the reference guest"
[ "$(cat "$work/first.rc")" = 0 ] || { note "$work/first.err"; note "$inst/logs/launcher.log"; }
userdata=$(part_dev userdata)
metadata=$(part_dev metadata)
echo "# userdata is ${userdata:-not found}, metadata ${metadata:-not found}"
check "[ -n '$userdata' ] && [ \"\$(mounted_dev /data)\" = '$userdata ext4' ]" \
	"init mounts the partition named userdata at /data as ext4"
check "[ -n '$metadata' ] && [ \"\$(mounted_dev /metadata)\" = '$metadata ext4' ]" \
	"init mounts the partition named metadata at /metadata as ext4"
check "[ \"\$(mounted_dev /system | cut -d' ' -f2)\" = ext4 ] && sh_ 'grep \" /system \" /proc/mounts' | grep -q ' ro[ ,]'" \
	"system is mounted read-only at /system"
kib=$(data_kib)
echo "# /data: ${kib:-?} KiB"
check "[ -n '$kib' ] && [ $((${kib:-0} / 1024)) -le $small_mb ] && [ $((${kib:-0} / 1024)) -ge $((small_mb * 8 / 10)) ]" \
	"/data is the ${small_mb} MiB blank userdata of --blank_data_image_mb"
check "data_empty" "a new /data holds only lost+found and the empty local/tmp"

# Properties. Expected values come from the device itself (its bootconfig, cvd_status) and from
# the build.prop in the system.img it booted.
"$B/cvd_status" --print > "$work/status.json"
status_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0][sys.argv[2]])' "$work/status.json" "$1"; }
sh_ getprop > "$work/getprop.all"
sh_ 'cat /proc/bootconfig' > "$work/bootconfig"
note "$work/bootconfig"
check "grep -q '^\[ro.boot.slot_suffix\]: \[$(status_field boot_slot)\]\$' '$work/getprop.all'" \
	"getprop lists ro.boot.slot_suffix as [name]: [value], the slot cvd_status shows"
check "[ \"\$(sh_ 'getprop ro.boot.verifiedbootstate')\" = '$(status_field verified_boot_state)' ]" \
	"getprop ro.boot.verifiedbootstate is the state cvd_status shows"
serial_number=$(status_field serial_number 2> /dev/null)
check "[ -n '$serial_number' ] && [ \"\$(sh_ 'getprop ro.boot.serialno')\" = '$serial_number' ] && [ \"\$(sh_ 'getprop ro.serialno')\" = '$serial_number' ]" \
	"getprop ro.boot.serialno and ro.serialno are cvd_status's serial_number (${serial_number:-none})"
# Every androidboot.* of the bootconfig is a ro.boot.* property with the same value.
python3 - "$work/bootconfig" > "$work/boot.expected" << 'EOF'
import re, sys
for line in open(sys.argv[1]):
    m = re.match(r'\s*androidboot\.(\S+)\s*=\s*(.*)$', line)
    if m:
        vals = re.findall(r'"([^"]*)"|\'([^\']*)\'', m.group(2))
        print("[ro.boot.%s]: [%s]" % (m.group(1), ",".join(a or b for a, b in vals)))
EOF
note "$work/boot.expected"
check "[ \$(wc -l < '$work/boot.expected') -ge 4 ] && ! grep -vxFf '$work/getprop.all' '$work/boot.expected'" \
	"every androidboot.* of /proc/bootconfig is a ro.boot.* property ($(wc -l < "$work/boot.expected") of them)"
debugfs -R 'cat /build.prop' "$B/guest/out/android/system.img" 2> /dev/null | grep -E '^ro\.(product|build)\.' > "$work/build.prop"
sed 's/^\([^=]*\)=\(.*\)$/[\1]: [\2]/' "$work/build.prop" > "$work/build.expected"
check "[ \$(wc -l < '$work/build.expected') -ge 4 ] && ! grep -vxFf '$work/getprop.all' '$work/build.expected'" \
	"every ro.product.* and ro.build.* of system.img's build.prop is a property ($(wc -l < "$work/build.expected") of them)"
check "[ \"\$(timeout 30 adb -s '$serial' get-serialno 2> /dev/null)\" = '$(status_field adb_serial)' ]" \
	"adb get-serialno is cvd_status's adb_serial ($(status_field adb_serial))"
check "[ \"\$(sh_ 'getprop sys.boot_completed')\" = 1 ]" "getprop sys.boot_completed is 1 after the boot marker"
check "[ \"\$(sh_ 'getprop ro.product.name')\" = \"\$(sed -n 's/^ro.product.name=//p' '$work/build.prop')\" ]" \
	"getprop NAME prints the value alone"
check "[ \"\$(sh_ 'getprop no.such.property; echo end')\" = \"\$(printf '\nend')\" ] && [ \"\$(sh_ 'getprop no.such.property fallback')\" = fallback ]" \
	"getprop of an unset property prints an empty line, or the default given"
check "sed 's/^\[\([^]]*\)\].*/\1/' '$work/getprop.all' | LC_ALL=C sort -c" "getprop lists the properties sorted by name"
note "$work/getprop.all"

# ---- what the user writes under /data
head -c 3000000 /dev/urandom > "$work/blob"
adb -s "$serial" push "$work/blob" /data/local/tmp/blob > /dev/null 2>&1
sh_ "echo $token > /data/local/tmp/token"
blob_same() {
	rm -f "$work/blob.back"
	adb -s "$serial" pull /data/local/tmp/blob "$work/blob.back" > /dev/null 2>&1 && cmp -s "$work/blob" "$work/blob.back"
}
check "has_token && blob_same" "a file written and a file pushed under /data/local/tmp read back"

# ---- adb reboot
b=$(boots)
adb -s "$serial" reboot > /dev/null 2>&1
wait_boots $((b + 1))
check "[ \$(boots) -gt $b ] && has_token && blob_same" "after adb reboot /data still holds both files"

# ---- restart_cvd
b=$(boots)
"$B/restart_cvd" > "$work/restart.out" 2>&1
rc=$?
wait_boots $((b + 1))
check "[ $rc = 0 ] && [ \$(boots) -gt $b ] && has_token && blob_same" "after restart_cvd /data still holds both files"
[ $rc = 0 ] || note "$work/restart.out"

# ---- stop_cvd, then launch_cvd (--resume is the default)
"$B/stop_cvd" > /dev/null 2>&1
launch again --blank_data_image_mb=$small_mb
check "[ \$(cat '$work/again.rc') = 0 ] && has_token && blob_same" "after stop_cvd and launch_cvd /data still holds both files"

# ---- powerwash_cvd: an empty /data
b=$(boots)
"$B/powerwash_cvd" > "$work/powerwash.out" 2>&1
rc=$?
wait_boots $((b + 1))
check "[ $rc = 0 ] && [ \"\$(mounted_dev /data)\" = '$userdata ext4' ] && data_empty" "after powerwash_cvd /data is empty"
[ $rc = 0 ] || note "$work/powerwash.out"

# ---- launch_cvd --resume=false: an empty /data
sh_ "echo $token > /data/local/tmp/token"
check "has_token" "the guest writes under /data again"
"$B/stop_cvd" > /dev/null 2>&1
launch reset --blank_data_image_mb=$small_mb --resume=false
check "[ \$(cat '$work/reset.rc') = 0 ] && [ \"\$(mounted_dev /data)\" = '$userdata ext4' ] && data_empty" \
	"after launch_cvd --resume=false /data is empty"

# ---- --data_policy=resize_up_to: a larger /data, what it held kept
sh_ "echo $token > /data/local/tmp/token"
adb -s "$serial" push "$work/blob" /data/local/tmp/blob > /dev/null 2>&1
"$B/stop_cvd" > /dev/null 2>&1
launch resize --blank_data_image_mb=$large_mb --data_policy=resize_up_to
kib=$(data_kib)
echo "# /data after the resize: ${kib:-?} KiB"
check "[ \$(cat '$work/resize.rc') = 0 ] && [ -n '$kib' ] && [ $((${kib:-0} / 1024)) -gt $small_mb ] && [ $((${kib:-0} / 1024)) -le $large_mb ]" \
	"--data_policy=resize_up_to --blank_data_image_mb=$large_mb: the guest sees a larger /data"
check "has_token && blob_same" "the resize keeps what /data held"
echo "1..$n"
