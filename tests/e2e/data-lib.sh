# tests/e2e/data-lib.sh — what the tests of the reference guest's /data (data.sh, data-policy.sh)
# share: launching cvd-1 and reaching it with the real adb client. Sourced (bash) after
# device-lib.sh's device_test_begin (B, work, serial, inst) and tap_begin.

# sh_ CMD: the guest's output of CMD through adb shell (no CRs).
sh_() { timeout 120 adb -s "$serial" shell "$1" 2> /dev/null | tr -d '\r'; }
# wait_adb: until adb shell answers (at most about 400 tries).
wait_adb() {
	local i
	for i in $(seq 1 400); do
		[ "$(timeout 10 adb -s "$serial" shell echo up 2> /dev/null | tr -d '\r')" = up ] && return 0
		adb connect "$serial" > /dev/null 2>&1
		sleep 1
	done
	return 1
}
# launch TAG FLAGS...: launch_cvd --daemon with FLAGS; its output in $work/TAG.{out,err,rc}, the
# time it took and its assembly and timing lines as diagnostics. Waits for adb when it booted.
launch() {
	local tag=$1 s
	shift
	s=$(date +%s.%N)
	"$B/launch_cvd" --daemon --memory_mb=512 "$@" > "$work/$tag.out" 2> "$work/$tag.err"
	echo $? > "$work/$tag.rc"
	echo "# launch $tag ($*): status $(cat "$work/$tag.rc") after $(echo "$(date +%s.%N) - $s" | bc) s"
	grep -E 'assemble_cvd|timing|error|FAILED' "$work/$tag.err" | note
	[ "$(cat "$work/$tag.rc")" = 0 ] && wait_adb
}
launched() { [ "$(cat "$work/$1.rc")" = 0 ]; }
# The device a mount point is mounted from and its type ("" when it is not a mount point), and
# the device of the partition the GPT calls NAME.
mounted_dev() { sh_ "grep ' $1 ' /proc/mounts" | awk '{ print $1 " " $3 }'; }
part_dev() { sh_ ". \$(grep -l '^PARTNAME=$1\$' /sys/class/block/*/uevent) && echo /dev/\$DEVNAME"; }
data_kib() { sh_ 'df -k /data' | awk 'NR == 2 { print $2 }'; }
token=sepia-data-$RANDOM$RANDOM
write_token() { sh_ "echo $token > /data/local/tmp/token"; }
has_token() { [ "$(sh_ "cat /data/local/tmp/token 2>&1")" = "$token" ]; }
# Nothing of the user's under /data: only what a new file system and init make there (busybox
# ls puts an empty line between the two listings: squeezed).
data_empty() {
	[ "$(sh_ 'ls -A /data /data/local/tmp' | tr -s '\n' ' ')" = "/data: local lost+found /data/local/tmp: " ]
}
