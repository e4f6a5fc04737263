#!/bin/bash
# End to end: the automatic boot snapshot (launcher/boot_snapshot.h, docs/boot-snapshot.md), with
# a cache of this test's own (so the first launch always misses).
#   1. launch_cvd (--boot_snapshot=auto, the default) with an empty cache: a cold boot; the guest
#      stops at its snapshot point, the monitor takes the snapshot, the boot goes on; adb works;
#      a token is written to /data.
#   2. stop_cvd, launch_cvd: the device comes from the boot snapshot (cvd_status --print names
#      it), init mounted /data after the restore and the token is there, adb works, the guest's
#      clock agrees with the host's, and its kernel command line is the same.
#   3. powerwash_cvd: /data is empty again, and the device again came from the boot snapshot;
#      its kernel RNG is not the first restore's (the host's seed at the point).
#   4. The boot images' kernel command line changed (a copy of the images, vendor_boot made again
#      with one more word, vbmeta signed again): the
#      key misses, a cold boot, and the guest sees the new command line; a new snapshot is taken.
#   5. That snapshot's state file corrupted: launch_cvd still succeeds: the VMM refuses it, the
#      monitor removes it and boots cold; the guest runs with the new command line, adb works.
# Timings are printed as notes only (bench/README.md has the figures).
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$top_builddir

skip() { echo "1..0 # SKIP $1"; exit 77; }
. "$top_srcdir/tests/e2e/device-lib.sh"
device_test_begin boot-snapshot launch_cvd run_cvd stop_cvd cvd_status powerwash_cvd sepia-vmm \
	sepia-vsock-proxy
export SEPIA_BOOT_SNAPSHOT_DIR=$work/cache
images=$work/images
cp -r "$B/guest/out/android" "$images"
log=$inst/logs/launcher.log
flags=(--daemon --memory_mb=512 --blank_data_image_mb=64 --system_image_dir="$images")

sh_() { timeout 60 adb -s "$serial" shell "$@" 2>/dev/null | tr -d '\r'; }
wait_adb() {
	local i
	for i in $(seq 1 60); do [ "$(sh_ echo up)" = up ] && return 0; sleep 1; done
	return 1
}
restored_from() { "$B/cvd_status" --print 2>/dev/null | sed -n 's/.*"restored_from": "\(.*\)".*/\1/p'; }
entries() { find "$SEPIA_BOOT_SNAPSHOT_DIR" -mindepth 1 -maxdepth 1 -name '[0-9a-f]*' -type d | wc -l; }
launch() { # TAG [flags]: launch_cvd with the test's flags; status in $work/TAG.rc
	local tag=$1 s
	shift
	s=$(date +%s.%N)
	"$B/launch_cvd" "${flags[@]}" "$@" > "$work/$tag.out" 2> "$work/$tag.err"
	echo $? > "$work/$tag.rc"
	echo "# launch $tag: status $(cat "$work/$tag.rc") after $(echo "$(date +%s.%N) - $s" | bc) s"
	[ "$(cat "$work/$tag.rc")" = 0 ] || { note "$work/$tag.err"; tail -30 "$log" | note; }
}
stop() { "$B/stop_cvd" --wait_for_launcher=30 > /dev/null 2>&1; }
log_lines() { grep -c "$1" "$log"; }

# ---- 1. the first launch: a cold boot that takes the snapshot
launch cold
check "[ \$(cat '$work/cold.rc') = 0 ]" "launch_cvd boots the device with an empty boot snapshot cache"
check "grep -q 'boot snapshot: none for key' '$log' && grep -q 'boot snapshot taken' '$log'" \
	"the key missed, and the monitor took the snapshot at the guest's snapshot point"
grep 'boot snapshot' "$log" | note
check "[ \"\$(entries)\" = 1 ] && [ -z \"\$(restored_from)\" ]" \
	"the cache holds one entry; cvd_status --print says the device booted cold"
entry=$(find "$SEPIA_BOOT_SNAPSHOT_DIR" -mindepth 1 -maxdepth 1 -name '[0-9a-f]*' -type d | head -1)
check "[ -f '$entry/state.sepia' ] && [ -f '$entry/memory.bin' ] && [ -f '$entry/key.txt' ] && [ ! -e '$entry/disk0' ]" \
	"the entry holds the state, the RAM and its key, and no disk"
check "wait_adb && [ \"\$(sh_ 'grep -c \" /data \" /proc/mounts')\" = 1 ]" "adb works; /data is mounted"
sh_ 'echo boot-snapshot-token > /data/local/tmp/token; sync'
cmdline_cold=$(sh_ cat /proc/cmdline)
stop

# ---- 2. stop + launch: from the boot snapshot, with /data as it is now
launch restore
check "[ \$(cat '$work/restore.rc') = 0 ]" "launch_cvd succeeds again"
check "[ \"\$(restored_from)\" = '$entry' ]" "cvd_status --print says the device came from the boot snapshot"
check "grep -q 'guest boot completed from the boot snapshot' '$log'" \
	"the guest finished its boot from the snapshot point (the boot marker came)"
check "wait_adb" "adb works after the restore"
check "[ \"\$(sh_ cat /data/local/tmp/token)\" = boot-snapshot-token ]" \
	"what was written to /data before survives: init mounted /data after the restore"
check "[ \"\$(sh_ cat /proc/cmdline)\" = '$cmdline_cold' ]" "the same kernel command line"
boot_id_restore=$(sh_ cat /proc/sys/kernel/random/boot_id)
guest_s=$(sh_ date +%s)
host_s=$(date +%s)
echo "# guest clock $guest_s, host clock $host_s"
check "[ -n '$guest_s' ] && [ \$(( $host_s - ${guest_s:-0} )) -le 5 ] && [ \$(( ${guest_s:-0} - $host_s )) -le 5 ]" \
	"the guest's wall clock agrees with the host's after the restore"

# ---- 3. powerwash: /data wiped, the same boot snapshot restored
restores_before=$(log_lines 'boot snapshot: restoring')
"$B/powerwash_cvd" > "$work/powerwash.out" 2>&1
rc=$?
check "[ $rc = 0 ] && wait_adb" "powerwash_cvd succeeds and adb works"
check "[ \$(log_lines 'boot snapshot: restoring') -gt $restores_before ] && [ \"\$(restored_from)\" = '$entry' ]" \
	"powerwash_cvd restored the same boot snapshot"
check "[ -z \"\$(sh_ 'ls /data/local/tmp')\" ]" "powerwash_cvd gave an empty /data"
# The kernel makes boot_id from its RNG on the first read, after the snapshot point: two guests
# restored from one snapshot that shared the kernel RNG's state would print the same one.
boot_id_powerwash=$(sh_ cat /proc/sys/kernel/random/boot_id)
echo "# boot_id after the restore $boot_id_restore, after powerwash $boot_id_powerwash"
check "[ -n '$boot_id_restore' ] && [ -n '$boot_id_powerwash' ] && [ '$boot_id_restore' != '$boot_id_powerwash' ]" \
	"two restores of one boot snapshot part ways: the host's seed reseeds each guest's kernel RNG"
stop

# ---- 4. another boot image command line: the key misses, a cold boot shows the new one
# The boot images made again (signed with the same test key, so AVB passes) with one word more
# on vendor_boot's kernel command line, as guest/make-android-images.sh makes them.
"$B/guest/mkimages" --kernel "$B/guest/out/bzImage" --vendor-ramdisk "$B/guest/out/initramfs.cpio" \
	--vendor-cmdline 'console=ttyS0 panic=-1 sepia.boot_snapshot_test=1' \
	--bootconfig "$(printf 'androidboot.hardware=sepia\n')" \
	--key "$top_srcdir/tests/data/testkey_rsa2048.pem" --out "$images" > "$work/mkimages.out" 2>&1 ||
	note "$work/mkimages.out"
launch changed --resume=false
check "[ \$(cat '$work/changed.rc') = 0 ]" "launch_cvd boots with the changed boot image"
check "[ -z \"\$(restored_from)\" ] && [ \$(log_lines 'boot snapshot: none for key') -ge 2 ]" \
	"the changed image missed the key: a cold boot"
check "wait_adb && sh_ cat /proc/cmdline | grep -q 'sepia.boot_snapshot_test=1'" \
	"the guest runs with the boot image's new kernel command line"
check "[ \"\$(entries)\" = 2 ]" "a second entry was taken for the new key"
stop

# ---- 5. a corrupt snapshot in the cache: refused, removed, a cold boot
newest=$(ls -td "$SEPIA_BOOT_SNAPSHOT_DIR"/[0-9a-f]* | head -1)
size=$(stat -c %s "$newest/state.sepia")
printf 'garbage-garbage-garbage' | dd of="$newest/state.sepia" bs=1 seek=$((size / 2)) conv=notrunc 2> /dev/null
launch corrupt
check "[ \$(cat '$work/corrupt.rc') = 0 ]" "launch_cvd succeeds with a corrupt boot snapshot in the cache"
check "grep -q 'removing it and booting cold' '$log'" "the monitor says the snapshot was refused and boots cold"
grep -E 'refused|removing it|checksum|corrupt' "$log" | tail -3 | note
check "wait_adb && sh_ cat /proc/cmdline | grep -q 'sepia.boot_snapshot_test=1'" \
	"the cold boot after the refusal runs, with adb"
check "[ -f '$newest/state.sepia' ] && [ \"\$(restored_from)\" = '' ]" \
	"the refused entry was replaced by the one the cold boot took"
stop

echo "1..$n"
