#!/bin/bash
# End to end: the device lifecycle on the reference guest, as a user types it. launch_cvd
# --daemon (no --system_image_dir: the reference guest's Android images), cvd_status, stop_cvd;
# a second launch with --resume (data kept) and --resume=false (data reset); a guest reboot
# through the bootloader step; kill -9 of the VMM and of the monitor; three instances; bad flags.
# Guest commands go through the console pty (--console). Each boot takes ~40-90 s here.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$top_builddir}
B=$top_builddir
key=$top_srcdir/tests/data/testkey_rsa2048.pem
run=$top_srcdir/tests/e2e/console-run.py

. "$top_srcdir/tests/e2e/require.sh"
require_device_tools
. "$top_srcdir/tests/e2e/device-lib.sh"
require_free_ports "the adb ports of cvd-1..3" 6520 6521 6522

work=$(mktemp -d /tmp/sepia-lifecycle.XXXXXX)
export HOME=$work/home
mkdir -p "$HOME"
# The monitors tell the adb server on ANDROID_ADB_SERVER_PORT (default 5037) about their devices:
# point them at a port where no server listens, so that an adb server this machine runs is
# neither used nor changed (they log "no adb server" and go on).
ANDROID_ADB_SERVER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ANDROID_ADB_SERVER_PORT
cleanup() { "$B/stop_cvd" --wait_for_launcher=20 >/dev/null 2>&1; adb kill-server >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT
tap_begin
inst=$HOME/cuttlefish/instances/cvd-1
launch() { # $1 = tag, rest = flags
	local tag=$1 s; shift
	s=$(date +%s.%N)
	# Cold boots: this test checks the boot itself (the kernel's lines, the bootloader step).
	"$B/launch_cvd" --daemon --memory_mb=512 --blank_data_image_mb=64 --boot_snapshot=off "$@" > "$work/$tag.out" 2> "$work/$tag.err"
	echo $? > "$work/$tag.rc"
	echo "# launch $tag ($*): status $(cat "$work/$tag.rc") after $(echo "$(date +%s.%N) - $s" | bc) s"
	grep -E 'timing|booted|error|FAILED|refused|running' "$work/$tag.err" | note
}
# The metadata partition is the guest's scratch space: its uevent names the device.
find_meta='. $(grep -l PARTNAME=metadata /sys/class/block/vda*/uevent) && echo /dev/$DEVNAME'
# guest CMD [TIMEOUT_S]: what console-run says when a command gets no answer goes to
# console.err, shown at the end when a check failed.
guest() { python3 "$run" "$inst/console" "${2:-180}" "$1" 2>> "$work/console.err" | tr -d '\0'; }
# The token's place on the metadata partition, with an end mark after a successful read, so
# that a console that did not answer or a failed read is never taken for a reset partition.
read_token() { guest "head -c ${#token} $meta && echo :read"; }
write_token() { guest "echo $token | dd of=$meta conv=fsync 2>/dev/null && echo written"; }
# Live processes of a process group. Zombies do not count: they have ended and only wait for
# their parent (here PID 1 once launch_cvd --daemon returned) to collect them.
procs_of() { ps -o stat= -g "$1" 2>/dev/null | grep -vc '^Z'; }
wait_running() { for i in $(seq 1 300); do "$B/cvd_status" --print 2>/dev/null | grep -q '"Running"' && return 0; sleep 1; done; return 1; }
sepia_procs() { pgrep -f "$HOME/cuttlefish" | wc -l; }


# ---- bad flags and nothing running: clear errors, no boot
"$B/launch_cvd" --daemon --no_such_flag > /dev/null 2> "$work/bad1"; rc=$?
check "[ $rc = 2 ] && grep -q \"unknown flag '--no_such_flag'\" '$work/bad1'" "launch_cvd: an unknown flag is a usage error naming it"
"$B/launch_cvd" --daemon --cpus=many 2> "$work/bad2"; rc=$?
check "[ $rc = 2 ] && grep -q -- \"--cpus: 'many' is not a number\" '$work/bad2'" "launch_cvd: a bad --cpus value is named"
"$B/launch_cvd" --daemon --vm_manager=qemu_cli 2> "$work/bad3"; rc=$?
check "[ $rc = 2 ] && grep -q 'vm_manager=qemu_cli' '$work/bad3'" "launch_cvd: --vm_manager other than sepia is refused"
"$B/launch_cvd" --daemon --instance_nums=1,1 2> "$work/bad4"; rc=$?
check "[ $rc = 2 ] && grep -q 'instance_nums' '$work/bad4'" "launch_cvd: a repeated instance number is refused"
"$B/launch_cvd" --daemon --system_image_dir="$work/nothing" 2> "$work/bad5"; rc=$?
check "[ $rc = 1 ] && grep -q '$work/nothing' '$work/bad5' && [ \$(sepia_procs) = 0 ]" "launch_cvd: a missing image directory is an error naming it, nothing started"
"$B/cvd_status" 2> "$work/st0"; rc=$?
check "[ $rc = 1 ] && grep -q 'cvd-1 is not running' '$work/st0'" "cvd_status: no device is a non-zero exit naming cvd-1"
"$B/stop_cvd" 2> "$work/stop0"; rc=$?
check "[ $rc = 1 ] && grep -q 'no device was running' '$work/stop0'" "stop_cvd: nothing to stop is a non-zero exit with a message"

# ---- first launch: the reference guest by default, verified green with the test key
launch first --console --avb_key="$key"
check "[ \$(cat '$work/first.rc') = 0 ] && grep -qx VIRTUAL_DEVICE_BOOT_COMPLETED '$work/first.out'" \
	"launch_cvd --daemon returns 0 with VIRTUAL_DEVICE_BOOT_COMPLETED"
[ "$(cat "$work/first.rc")" = 0 ] || { note "$work/first.err"; note "$inst/logs/launcher.log"; }
check "grep -q VIRTUAL_DEVICE_BOOT_COMPLETED '$inst/logs/kernel.log' && grep -q 'Linux version' '$inst/logs/kernel.log'" \
	"logs/kernel.log holds the guest console, marker included"
check "grep -q 'sepia-vmm started' '$inst/logs/launcher.log' && grep -q 'bootloader: slot _a, verified boot state green' '$inst/logs/launcher.log'" \
	"logs/launcher.log records the bootloader step (slot _a, green) and the VMM start"
check "[ -L '$inst/console' ] && [ -c \"\$(readlink '$inst/console')\" ]" "console links to a pty"
check "python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert c[\"cpus\"]==2 and c[\"memory_mb\"]==512 and c[\"adb_port\"]==6520 and c[\"vsock_guest_cid\"]==3 and c[\"instance_name\"]==\"cvd-1\"' '$inst/cuttlefish_config.json'" \
	"cuttlefish_config.json is the effective configuration (cpus 2, 512 MiB, adb 6520, CID 3)"
check "[ \"\$(readlink '$HOME/cuttlefish_runtime')\" = '$inst' ] || [ \"\$(readlink -f '$HOME/cuttlefish_runtime')\" = '$inst' ]" "cuttlefish_runtime -> cvd-1"
check "[ \"\$(readlink -f '$HOME/cuttlefish_runtime.1')\" = '$inst' ] && [ -d '$HOME/cuttlefish_assembly' ]" "cuttlefish_runtime.1 and cuttlefish_assembly exist"
"$B/cvd_status" --print > "$work/status1.json" 2> "$work/status1.err"; rc=$?
check "[ $rc = 0 ]" "cvd_status exits 0 while the device runs"
check "python3 -c '
import json,sys
s=json.load(open(sys.argv[1]))[0]
assert s[\"instance_name\"]==\"cvd-1\" and s[\"status\"]==\"Running\" and s[\"adb_serial\"]==\"127.0.0.1:6520\"
assert s[\"boot_slot\"]==\"_a\" and s[\"verified_boot_state\"]==\"green\" and s[\"cpus\"]==2 and s[\"memory_mb\"]==512
assert s[\"pid\"]>1 and s[\"vmm_pid\"]>1 and s[\"instance_dir\"].endswith(\"/cvd-1\") and s[\"assembly_dir\"]
' '$work/status1.json'" "cvd_status --print: Running, 127.0.0.1:6520, slot _a, green, pids"
note "$work/status1.json"
"$B/launch_cvd" --daemon --memory_mb=512 --boot_snapshot=off > /dev/null 2> "$work/again.err"; rc=$?
check "[ $rc = 1 ] && grep -q 'cvd-1 is already running' '$work/again.err'" "launching a running instance is refused, naming it"
meta=$(guest "$find_meta" | tr -d '\r\n')
# Without it the commands below must fail, not read from somewhere else.
meta=${meta:-/dev/no-metadata-partition-found}
token=sepia-$RANDOM$RANDOM
write_token > "$work/write.out"
check "grep -q written '$work/write.out'" "the guest writes a token to its metadata partition ($meta) over the console"
pgid=$(cat "$inst/run_cvd.pid")
"$B/stop_cvd" 2> "$work/stop1.err"; rc=$?
note "$work/stop1.err"
check "[ $rc = 0 ] && grep -q 'cvd-1 stopped' '$work/stop1.err'" "stop_cvd stops it gracefully"
check "grep -q 'guest control channel: ok poweroff' '$inst/logs/launcher.log' && grep -q 'the guest powered off\\|sepia-vmm (pid [0-9]*) exited with status 0' '$inst/logs/launcher.log'" \
	"the guest was asked to power off and did"
check "[ \$(procs_of $pgid) = 0 ] && [ \$(sepia_procs) = 0 ] && [ ! -e '$inst/launcher_monitor.sock' ] && [ ! -e '$inst/run_cvd.pid' ] && [ ! -e '$inst/console' ]" \
	"no process, socket, pid file or console link is left"
qemu-img check "$inst/overlay.qcow2" > "$work/qcheck1" 2>&1
check "[ $? = 0 ]" "qemu-img check of the overlay is clean after the stop"
"$B/cvd_status" 2> /dev/null
check "[ $? = 1 ]" "cvd_status exits non-zero once stopped"

# ---- second launch with --resume: data kept; slot a was marked successful; a reboot boots anew
# A line typed while init starts must run once the shell is up, not be swallowed by the
# boot marker's write to hvc0. (Earlier, before the guest's virtio-console driver is bound,
# Linux drops input on a single-port console; this test does not type then.)
logged=$(stat -c %s "$inst/logs/kernel.log") # kernel.log keeps the earlier boots
( for i in $(seq 1 3000); do tail -c +$((logged + 1)) "$inst/logs/kernel.log" | grep -q 'Run /init as init process' && break; sleep 0.1; done
  guest 'echo typed-during-boot' 400 > "$work/early.out" ) &
early=$!
launch resume --console
check "[ \$(cat '$work/resume.rc') = 0 ]" "launch_cvd --resume boots again"
wait $early
check "grep -qx typed-during-boot '$work/early.out'" "a line typed on the console during the boot runs once the shell is up"
check "[ \"\$(read_token)\" = '$token:read' ]" "--resume keeps the guest's data (read right after boot completed)"
check "grep -q 'misc: slot _a marked successful' '$inst/logs/launcher.log' && grep -q 'bootloader: slot _a, verified boot state yellow' '$inst/logs/launcher.log'" \
	"misc marks slot _a successful after the first boot; without --avb_key the state is yellow"
python3 "$run" "$inst/console" 10 'reboot' > /dev/null 2>&1 # no answer: the guest goes away
for i in $(seq 1 300); do grep -q 'the guest rebooted' "$inst/logs/launcher.log" && [ "$(grep -c 'guest boot completed' "$inst/logs/launcher.log")" -ge 3 ] && break; sleep 1; done
check "grep -q 'the guest rebooted: bootloader step again' '$inst/logs/launcher.log' && [ \$(grep -c 'guest boot completed' '$inst/logs/launcher.log') -ge 3 ]" \
	"a guest reboot goes through the bootloader step and boots the guest anew"
"$B/cvd_status" --print > "$work/status2.json"
check "python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))[0]; assert s[\"status\"]==\"Running\" and s[\"boots\"]==2' '$work/status2.json'" \
	"after the reboot the instance is Running, boot count 2"
vmm=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["vmm_pid"])' "$work/status2.json")
kill -9 "$vmm"
for i in $(seq 1 20); do grep -q 'killed by signal 9' "$inst/logs/launcher.log" && break; sleep 0.5; done
"$B/cvd_status" --print > "$work/status3.json" 2> "$work/status3.err"; rc=$?
check "[ $rc = 1 ] && grep -q 'cvd-1 failed' '$work/status3.err' && grep -q '\"status\": \"Failed\"' '$work/status3.json'" \
	"kill -9 of the VMM: the instance is Failed and cvd_status says so"
check "grep -q 'sepia-vmm (pid $vmm) killed by signal 9' '$inst/logs/launcher.log'" "the monitor logs which process died and how"
pgid=$(cat "$inst/run_cvd.pid")
"$B/stop_cvd" 2> "$work/stop2.err"
check "[ \$(procs_of $pgid) = 0 ] && [ \$(sepia_procs) = 0 ] && [ ! -e '$inst/launcher_monitor.sock' ] && [ ! -e '$inst/run_cvd.pid' ]" \
	"stop_cvd after kill -9 of the VMM leaves nothing behind"

# ---- third launch with --resume=false: data reset; then kill -9 of the monitor itself
launch reset --console --resume=false
check "[ \$(cat '$work/reset.rc') = 0 ]" "launch_cvd --resume=false boots"
r=$(read_token)
check "[ '$r' != '$token:read' ] && [ '${r%:read}' != '$r' ]" "--resume=false resets the guest's data"
check "[ \"\$(write_token)\" = written ] && [ \"\$(read_token)\" = '$token:read' ]" "the guest writes the token again"
"$B/powerwash_cvd" 2> "$work/powerwash.err"; rc=$?
note "$work/powerwash.err"
wait_running
r=$(read_token)
check "[ $rc = 0 ] && grep -q 'powerwash: a new overlay.qcow2' '$inst/logs/launcher.log' && [ '$r' != '$token:read' ] && [ '${r%:read}' != '$r' ]" \
	"powerwash_cvd resets the data of the running device and boots it again"
pgid=$(cat "$inst/run_cvd.pid")
kill -9 "$pgid"
for i in $(seq 1 40); do [ "$(procs_of "$pgid")" = 0 ] && break; sleep 0.5; done
check "[ \$(procs_of $pgid) = 0 ] && grep -q 'stopped by SIGTERM' '$inst/logs/launcher.log'" \
	"kill -9 of the monitor: its VMM does not outlive it (a clean SIGTERM stop)"
"$B/cvd_status" 2> "$work/status4.err"; rc=$?
check "[ $rc = 1 ] && grep -q 'cvd-1 is not running' '$work/status4.err'" "cvd_status then says cvd-1 is not running"
"$B/stop_cvd" --wait_for_launcher=3 2> "$work/stop3.err"; rc=$?
note "$work/stop3.err"
check "[ $rc = 0 ] && [ \$(sepia_procs) = 0 ] && [ ! -e '$inst/launcher_monitor.sock' ] && [ ! -e '$inst/run_cvd.pid' ]" \
	"stop_cvd removes the socket and pid file the dead monitor left"

# ---- three instances
launch three --num_instances=3 --console
check "[ \$(cat '$work/three.rc') = 0 ] && grep -qx VIRTUAL_DEVICE_BOOT_COMPLETED '$work/three.out'" "--num_instances=3 boots three guests"
"$B/cvd_status" --all_instances --print > "$work/all.json" 2> "$work/all.err"; rc=$?
note "$work/all.err"
check "[ $rc = 0 ] && python3 -c '
import json,sys
s=json.load(open(sys.argv[1]))
assert [x[\"instance_name\"] for x in s]==[\"cvd-1\",\"cvd-2\",\"cvd-3\"]
assert [x[\"adb_serial\"] for x in s]==[\"127.0.0.1:6520\",\"127.0.0.1:6521\",\"127.0.0.1:6522\"]
assert [x[\"vsock_cid\"] for x in s]==[3,4,5] and all(x[\"status\"]==\"Running\" for x in s)
assert len({x[\"instance_dir\"] for x in s})==3 and len({x[\"vmm_pid\"] for x in s})==3
' '$work/all.json'" "cvd_status --all_instances lists cvd-1..3: adb 6520-6522, CIDs 3-5, Running"
# (Under make -j another test's instances run too: only this test's HOME counts.)
check "[ \$(pgrep -f '$HOME/cuttlefish/instances/cvd-1/overlay.qcow2' | wc -l) = 1 ] && [ \$(pgrep -f '$HOME/cuttlefish/instances/cvd-2/overlay.qcow2' | wc -l) = 1 ] && [ \$(pgrep -f '$HOME/cuttlefish/instances/cvd-3/overlay.qcow2' | wc -l) = 1 ]" \
	"each instance's VMM runs on its own disk"
inst3=$HOME/cuttlefish/instances/cvd-3
pgid3=$(cat "$inst3/run_cvd.pid")
python3 "$run" "$inst3/console" 30 'poweroff' > /dev/null 2>&1
for i in $(seq 1 60); do [ "$(procs_of "$pgid3")" = 0 ] && break; sleep 0.5; done
"$B/cvd_status" --instance_nums=3 2> /dev/null; rc=$?
check "[ $rc = 1 ] && [ \$(procs_of $pgid3) = 0 ] && grep -q 'the guest powered off: stopping the instance' '$inst3/logs/launcher.log' && [ ! -e '$inst3/launcher_monitor.sock' ]" \
	"a poweroff inside cvd-3 stops that instance cleanly"
"$B/stop_cvd" 2> "$work/stop4.err"; rc=$?
note "$work/stop4.err"
check "[ $rc = 0 ] && [ \$(grep -c 'stopped' '$work/stop4.err') = 2 ] && [ \$(sepia_procs) = 0 ]" "stop_cvd stops the other two, nothing left"
"$B/cvd_status" --all_instances 2> /dev/null
check "[ $? = 1 ]" "cvd_status --all_instances: none running"
"$B/stop_cvd" --clear_instance_dirs > /dev/null 2>&1
check "[ ! -e '$HOME/cuttlefish/instances/cvd-2' ]" "stop_cvd --clear_instance_dirs removes the instance directories"
[ "$failed" = 0 ] || [ ! -s "$work/console.err" ] || note "$work/console.err"
echo "1..$n"
