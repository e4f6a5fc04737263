#!/bin/bash
# End to end: Cuttlefish's snapshot commands on a device launched with launch_cvd.
#   launch_cvd --daemon --console --gpu_mode=none (a cold boot); the guest writes a token to
#   /tmp (RAM) and one to its disk (the metadata partition, its scratch space); suspend_cvd: cvd_status says Suspended and the console
#   is silent; resume_cvd: Running, the console answers, adb works; snapshot_util_cvd
#   --subcmd=snapshot_take --snapshot_path=DIR (the device runs on after it); the guest writes
#   more; stop_cvd. Then launch_cvd --snapshot_path=DIR: the device starts from the snapshot
#   (cvd_status --print names it), both tokens are there and what came after is not, adb
#   reaches the device by itself, and the guest's clock agrees with the host's.
# All of it runs with the VMM in its sandbox (the default: jailed and filtered): the monitor
# hands it the snapshot's files as descriptors, and no thread may call outside its allowlist.
# Guest commands go through the console pty. The cold boot takes ~40-90 s here; nothing
# measures time (bench/snapshot.sh does).
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$top_builddir
run=$top_srcdir/tests/e2e/console-run.py

skip() { echo "1..0 # SKIP $1"; exit 77; }
. "$top_srcdir/tests/e2e/device-lib.sh"
device_test_begin snapshot-launch launch_cvd run_cvd stop_cvd cvd_status sepia-vmm sepia-vsock-proxy \
	suspend_cvd resume_cvd snapshot_util_cvd
guest() { python3 "$run" "$inst/console" "${2:-180}" "$1" 2>> "$work/console.err" | tr -d '\0'; }
status_is() { "$B/cvd_status" --print 2>/dev/null | grep -q "\"status\": \"$1\""; }
adb_echo() { [ "$(timeout 20 adb -s "$serial" shell echo "$1" 2>/dev/null | tr -d '\r')" = "$1" ]; }
# A cold boot (this test's subject is snapshot_util_cvd's snapshot, not the boot snapshot).
flags=(--daemon --console --memory_mb=512 --cpus=2 --gpu_mode=none --blank_data_image_mb=64 --boot_snapshot=off)
vmm_seccomp() {
	local pid
	pid=$("$B/cvd_status" --print 2>/dev/null | sed -n 's/.*"vmm_pid": \([0-9]*\).*/\1/p')
	[ -n "$pid" ] && grep -q '^Seccomp:[[:space:]]*2' "/proc/$pid/status"
}

s=$(date +%s.%N)
"$B/launch_cvd" "${flags[@]}" > "$work/launch1.out" 2> "$work/launch1.err"
rc=$?
echo "# cold launch: status $rc after $(echo "$(date +%s.%N) - $s" | bc) s"
check "[ $rc = 0 ]" "launch_cvd boots the device cold"
[ $rc = 0 ] || { note "$work/launch1.err"; note "$inst/logs/launcher.log"; echo "1..$n"; exit 1; }
check "vmm_seccomp && grep -q 'sepia-vmm: sandbox: jailed' '$inst/logs/launcher.log' || { [ \$(id -u) != 0 ] && vmm_seccomp; }" \
	"the device's VMM runs in its sandbox (filtered; jailed as root)"
ram=ram-$RANDOM$RANDOM
data=data-$RANDOM$RANDOM
# The metadata partition is the guest's scratch space: its uevent names the device.
meta=$(guest '. $(grep -l PARTNAME=metadata /sys/class/block/vda*/uevent) && echo /dev/$DEVNAME')
guest "echo $ram > /tmp/ram-token && echo $data | dd of=$meta conv=fsync 2>/dev/null && echo written" > "$work/write"
check "[ -n '$meta' ] && grep -qx written '$work/write'" "the guest writes a token to /tmp and one to its disk ($meta)"

hb0=$(date +%s)
g0=$(guest 'date +%s')
hb1=$(date +%s)
clock_before="guest $g0, host $hb0..$hb1"
"$B/suspend_cvd" 2> "$work/suspend.err"
rc=$?
check "[ $rc = 0 ] && status_is Suspended" "suspend_cvd: cvd_status says Suspended"
guest "echo awake" 3 > "$work/while-suspended"
check "! grep -q awake '$work/while-suspended'" "a suspended guest does not answer its console"
"$B/resume_cvd" 2> "$work/resume.err"
rc=$?
check "[ $rc = 0 ] && status_is Running" "resume_cvd: cvd_status says Running again"
guest "echo awake" 60 > "$work/resumed"
check "grep -q awake '$work/resumed'" "the resumed guest answers (the command typed while suspended, or this one)"
for i in $(seq 1 30); do adb_echo ready && break; sleep 1; done
check "adb_echo after-resume" "adb works after the resume"

snap=$work/snap
"$B/snapshot_util_cvd" --subcmd=snapshot_take --snapshot_path="$snap" 2> "$work/snapshot.err"
rc=$?
note "$work/snapshot.err"
grep -h 'snapshot taken' "$inst/logs/launcher.log" | sed 's/^/# /'
echo "# snapshot size: $(du -sh --apparent-size "$snap/cvd-1" | cut -f1) apparent, $(du -sh "$snap/cvd-1" | cut -f1) on disk"
check "[ $rc = 0 ] && [ -f '$snap/cvd-1/state.sepia' ] && [ -f '$snap/cvd-1/memory.bin' ] && [ -f '$snap/cvd-1/disk0' ]" \
	"snapshot_util_cvd --subcmd=snapshot_take writes the snapshot to DIR/cvd-1"
check "status_is Running && [ \"\$(guest 'echo on')\" = on ]" "the device runs on after the snapshot"
"$B/snapshot_util_cvd" --subcmd=snapshot_restore --snapshot_path="$snap" 2> "$work/badsub.err"
rc=$?
check "[ $rc = 2 ] && grep -q 'subcmd=snapshot_take' '$work/badsub.err'" "another --subcmd is a usage error"
guest "echo later > /tmp/after-snapshot && echo overwritten-after-snapshot | dd of=$meta conv=fsync 2>/dev/null && echo changed" > "$work/change"
check "grep -qx changed '$work/change'" "the guest changes /tmp and its disk after the snapshot"
"$B/stop_cvd" 2> "$work/stop.err"

s=$(date +%s.%N)
"$B/launch_cvd" "${flags[@]}" --snapshot_path="$snap" > "$work/launch2.out" 2> "$work/launch2.err"
rc=$?
echo "# launch from the snapshot: status $rc after $(echo "$(date +%s.%N) - $s" | bc) s"
grep -E 'booted|timing|error|FAILED' "$work/launch2.err" | note
check "[ $rc = 0 ] && grep -q 'restored_from=$snap/cvd-1' '$work/launch2.err'" "launch_cvd --snapshot_path starts the device from its snapshot"
[ $rc = 0 ] || { note "$inst/logs/launcher.log"; }
"$B/cvd_status" --print > "$work/status2.json"
check "grep -q '\"restored_from\": \"$snap/cvd-1\"' '$work/status2.json' && grep -q '\"Running\"' '$work/status2.json'" \
	"cvd_status --print says the device came from the snapshot"
check "[ \"\$(guest 'cat /tmp/ram-token')\" = $ram ]" "the file in guest RAM (/tmp) survived"
check "[ \"\$(guest 'dd if=$meta bs=512 count=1 iflag=direct 2>/dev/null | head -c ${#data}')\" = $data ]" \
	"the disk is as it was at the snapshot (read with O_DIRECT)"
check "[ \"\$(guest 'test -e /tmp/after-snapshot && echo there || echo absent')\" = absent ]" \
	"what the guest wrote after the snapshot is not there"
for i in $(seq 1 60); do adb_echo ready && break; sleep 1; done
check "adb_echo after-restore" "adb reaches the restored device by itself"
# The guest's answer is bracketed by the host's clock before and after it was asked (the
# console's round trip is slow where KVM interprets guest kernel code).
h0=$(date +%s)
gnow=$(guest 'date +%s')
h1=$(date +%s)
echo "# after the restore: guest clock $gnow, host $h0..$h1 (before the snapshot: $clock_before)"
# A cold boot sets the guest's clock from the RTC's whole seconds, so it may start up to a
# second behind; the restore must add nothing to that: the guest is within 2 s of the host,
# never ahead, and no further behind than before the snapshot (to the second).
check "[ -n '$gnow' ] && [ -n '$g0' ] && [ ${gnow:-0} -ge \$(( $h0 - 2 )) ] && [ ${gnow:-0} -le \$(( $h1 + 1 )) ] \
	&& [ \$(( $h0 - ${gnow:-0} )) -le \$(( $hb1 - ${g0:-0} + 1 )) ]" \
	"the guest's wall clock agrees with the host's after the restore (within 2 s; no further behind than before)"
check "vmm_seccomp" "the restored device's VMM runs in its sandbox too"
check "! grep -q 'seccomp: the' '$inst/logs/launcher.log'" "no VMM thread made a call outside its allowlist"
"$B/stop_cvd" 2> "$work/stop2.err"
check "[ $? = 0 ]" "stop_cvd stops the restored device"
[ -s "$work/console.err" ] && note "$work/console.err"
echo "1..$n"
