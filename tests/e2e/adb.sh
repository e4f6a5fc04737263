#!/bin/bash
# End to end: the real adb client (Debian's adb package) reaches a device launched with
# launch_cvd --daemon on 127.0.0.1:6520, through the monitor's adb proxy, sepia-vmm's user-space
# virtio-vsock and the reference guest's adbd on vsock port 5555. No adb server runs before the
# launch (the test's own port, ANDROID_ADB_SERVER_PORT): the monitor starts one with
# `adb connect`, as Cuttlefish's adb connector does, before launch_cvd returns.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$top_builddir

skip() { echo "1..0 # SKIP $1"; exit 77; }
. "$top_srcdir/tests/e2e/device-lib.sh"
. "$top_srcdir/tests/e2e/adb-sync-checks.sh"
. "$top_srcdir/tests/e2e/adb-client-checks.sh"
. "$top_srcdir/tests/e2e/adb-logcat-checks.sh"
DEVICE_TEST_NO_ADB_SERVER=1
device_test_begin adb launch_cvd run_cvd stop_cvd cvd_status sepia-vmm sepia-vsock-proxy
check "! adb_server_answers" "no adb server answers on the test's port before the launch"
"$B/launch_cvd" --daemon --memory_mb=512 --blank_data_image_mb=64 > "$work/launch.out" 2> "$work/launch.err"
rc=$?
check "[ $rc = 0 ]" "launch_cvd --daemon boots the reference guest"
[ $rc = 0 ] || { note "$work/launch.err"; note "$inst/logs/launcher.log"; }
adb devices > "$work/devices"
note "$work/devices"
check "grep -q '^$serial[[:space:]]*device\$' '$work/devices'" "adb devices lists $serial as device right after launch_cvd returns"
check "grep -q 'adb proxy started' '$inst/logs/launcher.log' && grep -q 'running .*adb connect $serial' '$inst/logs/launcher.log'" \
	"the monitor started the adb server with adb connect"
adb connect "$serial" > "$work/connect" 2>&1
check "grep -q 'connected to $serial' '$work/connect'" "adb connect $serial says connected"
"$B/cvd_status" --print > "$work/status.json"
check "grep -q '\"adb_serial\": \"$serial\"' '$work/status.json'" "cvd_status shows the adb serial"
adb -s "$serial" shell echo hello-sepia > "$work/echo.out" 2> "$work/echo.err"; rc=$?
check "[ $rc = 0 ] && [ \"\$(cat '$work/echo.out')\" = hello-sepia ]" "adb shell echo round-trips"
[ "$(cat "$work/echo.out")" = hello-sepia ] || { echo "# status $rc, stdout:"; note "$work/echo.out"; echo "# stderr:"; note "$work/echo.err"; }
head -c $((20 << 20)) /dev/urandom > "$work/big"
s=$(date +%s.%N)
adb -s "$serial" push "$work/big" /tmp/big > "$work/push" 2>&1; rc=$?
note "$work/push"
check "[ $rc = 0 ]" "adb push of a 20 MiB file"
adb -s "$serial" pull /tmp/big "$work/big.back" > "$work/pull" 2>&1
note "$work/pull"
echo "# push + pull of 20 MiB: $(echo "$(date +%s.%N) - $s" | bc) s"
check "[ \"\$(sha256sum < '$work/big')\" = \"\$(sha256sum < '$work/big.back')\" ]" "adb pull gives back the same SHA-256"
# The most common push: a file to /data/local/tmp/, which Android's init makes.
adb -s "$serial" push "$work/big" /data/local/tmp/ > "$work/push" 2>&1; rc=$?
note "$work/push"
check "[ $rc = 0 ] && [ \"\$(adb -s $serial shell sha256sum /data/local/tmp/big | cut -c1-64)\" = \"\$(sha256sum < '$work/big' | cut -c1-64)\" ]" \
	"adb push FILE /data/local/tmp/ lands in /data/local/tmp"
adb -s "$serial" shell 'rm -f /data/local/tmp/big; mkdir -p /tmp/ro && mount -t tmpfs -o ro,size=1m sepia-ro /tmp/ro'
RO_DIR=/tmp/ro adb_sync_checks /data/local/tmp/sepia-sync
adb_client_checks /data/local/tmp/sepia-client
adb_nohup_checks /data/local/tmp/sepia-nohup
adb_root_checks
adb_logcat_checks
# Debian's adb 29.0.6 client itself dies of SIGSEGV (status 139) in about 1 of 20 shells started
# at the same moment against the device (none in 80 against adbd-host; cause not found): such a
# client is started once more and the log says so. A shell that fails otherwise fails the check.
parallel_shell() {
	adb -s "$serial" shell "echo shell-$1; sleep 1; echo done-$1" > "$work/par$1" 2>&1
	local rc=$?
	if [ $rc -gt 128 ]; then
		echo "# adb client for shell $1 died with status $rc; starting it again"
		adb -s "$serial" shell "echo shell-$1; sleep 1; echo done-$1" > "$work/par$1" 2>&1
	fi
}
for k in 1 2 3 4; do parallel_shell $k & done
wait
# A subshell: the check's `exit 1` must fail the check, not end this script.
check "(for k in 1 2 3 4; do grep -q shell-\$k '$work/par'\$k && grep -q done-\$k '$work/par'\$k || exit 1; done)" "four adb shells in parallel"
for k in 1 2 3 4; do grep -q "done-$k" "$work/par$k" || { echo "# shell $k said:"; note "$work/par$k"; }; done
boots_before=$(grep -c 'guest boot completed' "$inst/logs/launcher.log")
adb -s "$serial" reboot > /dev/null 2>&1
for i in $(seq 1 300); do [ "$(grep -c 'guest boot completed' "$inst/logs/launcher.log")" -gt "$boots_before" ] && break; sleep 1; done
check "grep -q 'the guest rebooted' '$inst/logs/launcher.log'" "adb reboot reboots the guest through the bootloader step"
for i in $(seq 1 60); do [ "$(timeout 10 adb -s "$serial" shell echo back 2>/dev/null)" = back ] && break; adb connect "$serial" >/dev/null 2>&1; sleep 1; done
check "[ \"\$(timeout 20 adb -s $serial shell echo back)\" = back ]" "adb reaches the device again after the reboot"
"$B/stop_cvd" > /dev/null 2>&1
s=$(date +%s)
timeout 60 adb -s "$serial" shell true > /dev/null 2>&1; rc=$?
check "[ $rc != 0 ] && [ $rc != 124 ]" "after stop_cvd, adb shell fails at once instead of hanging ($(($(date +%s) - s)) s)"
adb devices > "$work/devices2"
note "$work/devices2"
check "! grep -q '^$serial[[:space:]]*device\$' '$work/devices2'" "the device is no longer listed as device"
echo "1..$n"
