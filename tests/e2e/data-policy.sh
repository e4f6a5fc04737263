#!/bin/bash
# End to end: --data_policy wipes, and a userdata that is garbage does not stop the reference
# guest's boot, through the real adb client.
#   - --data_policy=always_create: what the user wrote under /data is gone, /data is empty;
#   - garbage over the instance's userdata.img: launch_cvd warns, the guest boots, init says on
#     the console that userdata does not mount, /data/local/tmp still takes a push (initramfs);
#   - --data_policy=create_if_missing then makes a blank userdata: /data mounted and empty.
# One device, booted four times (each boot ~45-100 s on the interpreting host).
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$top_builddir
PATH=$PATH:/usr/sbin:/sbin

. "$top_srcdir/tests/e2e/require.sh"
. "$top_srcdir/tests/e2e/device-lib.sh"
device_test_begin data-policy launch_cvd run_cvd stop_cvd cvd_status sepia-vmm sepia-vsock-proxy
tap_begin
. "$top_srcdir/tests/e2e/data-lib.sh"
mb=64

# ---- a first boot, and something the user wrote under /data
launch first --blank_data_image_mb=$mb
userdata=$(part_dev userdata)
write_token
check "launched first && [ -n '$userdata' ] && [ \"\$(mounted_dev /data)\" = '$userdata ext4' ] && has_token" \
	"the guest mounts userdata (${userdata:-not found}) at /data and writes under it"

# ---- --data_policy=always_create: an empty /data
"$B/stop_cvd" > /dev/null 2>&1
launch wipe --blank_data_image_mb=$mb --data_policy=always_create
check "launched wipe && [ \"\$(mounted_dev /data)\" = '$userdata ext4' ] && data_empty" \
	"after launch_cvd --data_policy=always_create /data is mounted and empty"

# ---- garbage over userdata.img (a new overlay: the guest sees the garbage itself)
"$B/stop_cvd" > /dev/null 2>&1
dd if=/dev/urandom of="$inst/userdata.img" bs=1M count=4 conv=notrunc status=none
launch garbage --blank_data_image_mb=$mb --resume=false
check "launched garbage" "launch_cvd --resume=false boots the guest over a garbage userdata"
check "grep -q 'cvd-1: warning: .*userdata.img holds no ext4 file system' '$work/garbage.err'" \
	"launch_cvd warns that userdata.img holds no ext4 file system"
check "grep -q 'sepia-init: cannot mount .* (the userdata partition) on /data as ext4' '$inst/logs/kernel.log'" \
	"init says on the console that the userdata partition does not mount"
grep 'sepia-init: cannot mount' "$inst/logs/kernel.log" | note
check "[ -z \"\$(mounted_dev /data)\" ] && write_token && has_token" \
	"/data is not mounted, and /data/local/tmp on the initramfs still takes a file"

# ---- --data_policy=create_if_missing: a blank userdata again
"$B/stop_cvd" > /dev/null 2>&1
launch fix --blank_data_image_mb=$mb --data_policy=create_if_missing
check "launched fix && [ \"\$(mounted_dev /data)\" = '$userdata ext4' ] && data_empty" \
	"launch_cvd --data_policy=create_if_missing makes userdata anew: /data mounted and empty"
check "! grep -q 'holds no ext4' '$work/fix.err'" "and warns no more"
echo "1..$n"
