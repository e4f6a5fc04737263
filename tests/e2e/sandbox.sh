#!/bin/bash
# End to end: the VMM that launch_cvd starts as root runs jailed and filtered
# (devices/sandbox/): every thread has a seccomp filter and no_new_privs; the VMM is in
# mount, PID, IPC and UTS namespaces other than the host's (PID 1 of its own), runs as a
# uid other than 0 with no capabilities, is not dumpable, has capped resources, and its root
# holds nothing but the instance directory; adb still reaches the guest through vsock.
# Then the escape, --sandbox=off: none of that, and the logs say so.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$top_builddir

skip() { echo "1..0 # SKIP $1"; exit 77; }
[ "$(id -u)" = 0 ] || skip "the jail is made for launches as root (this is uid $(id -u))"
. "$top_srcdir/tests/e2e/device-lib.sh"
device_test_begin sandbox launch_cvd run_cvd stop_cvd cvd_status sepia-vmm sepia-vsock-proxy

status_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
vmm_pid() {
	"$B/cvd_status" --print > "$work/status.json" 2>/dev/null
	sed -n 's/.*"vmm_pid": \([0-9]*\).*/\1/p' "$work/status.json"
}
# Every thread of process $1 passes the test "$2" on the value of status field $3.
all_threads() {
	local t v
	for t in /proc/$1/task/*; do
		v=$(sed -n "s/^$3:[[:space:]]*//p" "$t/status")
		eval "$2" || { echo "# thread ${t##*/} ($(cat "$t/comm")): $3 $v"; return 1; }
	done
}

launch() {
	"$B/launch_cvd" --daemon --memory_mb=512 --blank_data_image_mb=64 "$@" > "$work/launch.out" 2> "$work/launch.err"
}

launch
rc=$?
check "[ $rc = 0 ]" "launch_cvd --daemon boots the reference guest with the sandbox on (the default)"
[ $rc = 0 ] || { note "$work/launch.err"; note "$inst/logs/launcher.log"; }
vmm=$(vmm_pid)
[ -n "$vmm" ] && [ -d "/proc/$vmm" ] || { echo "# no VMM pid in cvd_status"; vmm=0; }
echo "# sepia-vmm pid $vmm, threads: $(cat /proc/$vmm/task/*/comm 2>/dev/null | tr '\n' ' ')"
grep 'sandbox:' "$inst/logs/launcher.log" | note /dev/stdin

check "all_threads $vmm '[ \"\$v\" = 2 ]' Seccomp" "every VMM thread runs under a seccomp filter (Seccomp: 2)"
check "all_threads $vmm '[ \"\$v\" = 1 ]' NoNewPrivs" "every VMM thread has no_new_privs"
# Seccomp_filters (Linux 5.9+): the vCPU, I/O and main threads carry their role's filter too.
if grep -q '^Seccomp_filters:' "/proc/$vmm/status"; then
	check "[ \"\$(status_field $vmm Seccomp_filters)\" -ge 2 ]" "the main thread has its role's filter over the process-wide one"
fi
for ns in mnt pid ipc uts; do
	check "[ \"\$(readlink /proc/$vmm/ns/$ns)\" != \"\$(readlink /proc/self/ns/$ns)\" ]" \
		"the VMM's $ns namespace is not the host's"
done
check "[ \"\$(status_field $vmm NSpid | awk '{print \$NF}')\" = 1 ]" "the VMM is PID 1 of its own PID namespace"
uids=$(status_field "$vmm" Uid)
gids=$(status_field "$vmm" Gid)
echo "# Uid: $uids; Gid: $gids; Groups: $(status_field "$vmm" Groups)"
check "echo '$uids' | awk '{ exit !(\$1 != 0 && \$1 == \$2 && \$2 == \$3 && \$3 == \$4) }'" \
	"the VMM runs as a uid other than root (real, effective, saved and filesystem alike)"
check "echo '$gids' | awk '{ exit !(\$1 != 0 && \$1 == \$2 && \$2 == \$3 && \$3 == \$4) }'" \
	"the VMM runs as a gid other than root"
check "[ -z \"\$(status_field $vmm Groups)\" ]" "the VMM has no supplementary groups"
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
	check "all_threads $vmm '[ \"\$v\" = 0000000000000000 ]' $c" "no VMM thread holds a capability ($c)"
done
# A process that is not dumpable has its /proc files owned by root, not by its uid.
check "[ \"\$(stat -c %u /proc/$vmm/status)\" = 0 ]" "the VMM is not dumpable (its /proc entries belong to root)"
note "/proc/$vmm/limits"
check "grep -q '^Max data size  *[0-9]' /proc/$vmm/limits" "the VMM's data size is capped (RLIMIT_DATA)"
check "awk '/^Max open files/ { exit !(\$4 == \$5 && \$4 < 65536) }' /proc/$vmm/limits" \
	"the VMM's open files are capped (RLIMIT_NOFILE)"
check "grep -q '^Max processes  *[0-9]' /proc/$vmm/limits" "the VMM's threads are capped (RLIMIT_NPROC, a uid of its own)"
top=${inst#/}
top=${top%%/*}
ls -A "/proc/$vmm/root/" > "$work/root.ls" 2>&1
note "$work/root.ls"
check "[ \"\$(cat '$work/root.ls')\" = '$top' ]" "the VMM's root holds only the way to its instance directory"
check "[ -S '/proc/$vmm/root$inst/vsock.sock' ] && [ ! -e '/proc/$vmm/root/etc/passwd' ] && [ ! -e '/proc/$vmm/root/dev/kvm' ]" \
	"the instance directory is there at its own path; /etc and /dev are not"
check "grep -q 'sepia-vmm: sandbox: jailed' '$inst/logs/launcher.log'" "the VMM's log lines reach launcher.log"
# adbd comes up after the boot marker: wait for the device as adb.sh does.
for i in $(seq 1 30); do adb devices | grep -q "^$serial[[:space:]]*device" && break; sleep 1; done
adb -s "$serial" shell echo jailed-hello > "$work/echo.out" 2>&1
check "[ \"\$(cat '$work/echo.out')\" = jailed-hello ]" "adb shell works through the jailed VMM's vsock"
[ "$(cat "$work/echo.out")" = jailed-hello ] || { note "$work/echo.out"; adb devices | note /dev/stdin; }
"$B/stop_cvd" --wait_for_launcher=30 > "$work/stop.out" 2>&1
rc=$?
check "[ $rc = 0 ]" "stop_cvd stops the jailed device"
check "! grep -q 'seccomp: the' '$inst/logs/launcher.log'" "no thread made a call outside its allowlist"

launch --sandbox=off
rc=$?
check "[ $rc = 0 ]" "launch_cvd --sandbox=off boots the reference guest"
check "grep -q 'launch_cvd: --sandbox=off' '$work/launch.err'" "launch_cvd says the sandbox is off"
vmm=$(vmm_pid)
[ -n "$vmm" ] && [ -d "/proc/$vmm" ] || vmm=0
check "grep -q 'sepia-vmm: sandbox: off (--sandbox=off)' '$inst/logs/launcher.log'" "sepia-vmm logs that its sandbox is off"
check "all_threads $vmm '[ \"\$v\" = 0 ]' Seccomp" "with --sandbox=off no thread is filtered"
check "[ \"\$(readlink /proc/$vmm/ns/mnt)\" = \"\$(readlink /proc/self/ns/mnt)\" ] && [ \"\$(status_field $vmm Uid | awk '{print \$1}')\" = 0 ]" \
	"with --sandbox=off the VMM stays in the host's mount namespace as root"
"$B/stop_cvd" --wait_for_launcher=30 > "$work/stop.out" 2>&1
check "[ $? = 0 ]" "stop_cvd stops it"
echo "1..$n"
