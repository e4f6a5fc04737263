#!/bin/bash
# launch_cvd's guards, on one boot of the reference guest (issue 13, defects 5, 6 and 9):
#   - two `launch_cvd --daemon` of one instance started together: exactly one boots the device,
#     the other fails at once naming the instance and the pid holding it, and never touches
#     the first one's device (it used to stop it); a third launch names the monitor's pid;
#   - file modes: directories 0750, files 0640 (the overlay, logs, scanout), sockets 0660,
#     under umask 022;
#   - the control socket: 8 clients that connect and send nothing (and one that sends half a
#     request) do not keep cvd_status from its answer, and are dropped with a log line; as
#     root, a client of another uid is refused (SO_PEERCRED), with a log line.
# TAP; exit 77 without /dev/kvm, the programs or the reference guest's images. ~1-2 min here.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$top_builddir
top_srcdir=${top_srcdir:-$top_builddir}

. "$top_srcdir/tests/e2e/require.sh"
require_device_tools

work=$(mktemp -d /tmp/sepia-launch-guard.XXXXXX)
export HOME=$work/home
mkdir -p "$HOME"
umask 022
# The monitor's `adb connect` starts an adb server: a private one, ended at exit.
ANDROID_ADB_SERVER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ANDROID_ADB_SERVER_PORT
cleanup() { "$B/stop_cvd" --wait_for_launcher=20 >/dev/null 2>&1; adb kill-server >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT
tap_begin
CF=$HOME/cuttlefish
inst=$CF/instances/cvd-1
status_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0][sys.argv[2]])' "$@"; }

# ---- two launches of cvd-1 at once
flags="--daemon --memory_mb=512 --blank_data_image_mb=64"
"$B/launch_cvd" $flags >"$work/a.out" 2>"$work/a.err" &
pa=$!
"$B/launch_cvd" $flags >"$work/b.out" 2>"$work/b.err" &
pb=$!
wait $pa
ra=$?
wait $pb
rb=$?
echo "# launch a (pid $pa): status $ra; launch b (pid $pb): status $rb"
if [ $ra = 0 ]; then win=a loser=b wpid=$pa; else win=b loser=a wpid=$pb; fi
note "$work/$loser.err"
check "[ \$((ra + rb)) = 1 ] && grep -qx VIRTUAL_DEVICE_BOOT_COMPLETED '$work/$win.out'" \
	"exactly one of two simultaneous launches boots the device, the other exits 1"
"$B/cvd_status" --print >"$work/status1.json" 2>"$work/status1.err"
rc=$?
monitor=$(status_field "$work/status1.json" pid 2>/dev/null || echo none)
check "[ $rc = 0 ] && [ \"\$(status_field '$work/status1.json' status)\" = Running ]" \
	"the device is Running afterwards (the loser did not stop it)"
named=$(sed -n 's/.*cvd-1 is already running (pid \([0-9]*\) holds .*instance.lock).*/\1/p' "$work/$loser.err")
check "[ -n '$named' ] && { [ '$named' = $wpid ] || [ '$named' = '$monitor' ]; }" \
	"the loser names cvd-1 and the pid holding it (the winner's launch_cvd or monitor: $named)"
check "! grep -q 'assembled' '$work/$loser.err' && [ \$(grep -c 'monitor started' '$inst/logs/launcher.log') = 1 ]" \
	"the loser stopped before assembling or starting a monitor: one monitor ever started"
"$B/launch_cvd" $flags >/dev/null 2>"$work/third.err"
rc=$?
note "$work/third.err"
check "[ $rc = 1 ] && grep -q 'cvd-1 is already running (pid $monitor holds' '$work/third.err'" \
	"a launch while it runs fails at once naming the monitor's pid"
"$B/cvd_status" >/dev/null 2>&1
check "[ $? = 0 ]" "and the device still runs"

# ---- file modes (launcher/file_modes.h), launched under umask 022
# sepia-vmm's API socket is the VMM's own, 0600 (only the monitor, as root or the owner, uses it).
find "$CF" \( -type d ! -perm 0750 \) -o \( -type f ! -perm 0640 \) -o \
	\( -type s ! -name vmm_api.sock ! -perm 0660 \) -o \( -type s -name vmm_api.sock ! -perm 0600 \) \
	-printf '%m %p\n' >"$work/wide"
note "$work/wide"
check "[ ! -s '$work/wide' ]" "under cuttlefish/: directories 0750, files 0640, sockets 0660 (the VMM's API socket 0600)"
check "[ \$(stat -c %a '$inst/overlay.qcow2') = 640 ] && [ \$(stat -c %a '$inst/logs/kernel.log') = 640 ] && [ \$(stat -c %a '$inst/logs/launcher.log') = 640 ] && [ \$(stat -c %a '$inst/display0.fb') = 640 ]" \
	"overlay.qcow2, kernel.log, launcher.log and display0.fb are 0640"
check "[ \$(stat -c %a '$inst/launcher_monitor.sock') = 660 ] && [ \$(stat -c %a '$inst/vsock.sock') = 660 ] && [ \$(stat -c %a '$inst') = 750 ]" \
	"the control and vsock sockets are 0660, the instance directory 0750"

# ---- clients of the control socket that send nothing
python3 - "$inst/launcher_monitor.sock" "$B/cvd_status" >"$work/silent.out" 2>&1 <<'PY'
import socket, subprocess, sys
path, status = sys.argv[1], sys.argv[2]
held = []
for i in range(9):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    if i == 8:
        s.sendall(b"\0\0\0\x20\x08")  # half a request
    held.append(s)
r = subprocess.run([status], capture_output=True, text=True)
print(f"cvd_status: {r.returncode} {r.stderr.strip()}")
# The monitor drops them (2 s): each sees its connection closed.
closed = 0
for s in held:
    s.settimeout(60)
    try:
        closed += s.recv(1) == b""
    except (socket.timeout, ConnectionResetError):
        pass
print(f"closed: {closed}")
PY
note "$work/silent.out"
check "grep -qx 'cvd_status: 0 ' '$work/silent.out'" "cvd_status answers while 9 clients sit on the control socket sending nothing"
check "grep -qx 'closed: 9' '$work/silent.out' && [ \$(grep -c 'no whole request within 2000 ms: dropped' '$inst/logs/launcher.log') -ge 9 ]" \
	"the monitor drops them after 2 s, one log line each"

# ---- another uid on the control socket (root only: it needs a second user)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	# Let uid 65534 reach the socket through the directories for this check only.
	cp "$B/cvd_status" "$work/cvd_status"
	chmod o+x "$work" "$HOME" "$CF" "$CF/instances" "$inst"
	chmod o+rw "$inst/launcher_monitor.sock"
	setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$HOME" "$work/cvd_status" >/dev/null 2>"$work/other.err"
	rc=$?
	chmod o-x "$work" "$HOME" "$CF" "$CF/instances" "$inst"
	chmod o-rw "$inst/launcher_monitor.sock"
	note "$work/other.err"
	check "[ $rc = 1 ] && grep -q 'control client pid [0-9]* (uid 65534) refused: only uid 0' '$inst/logs/launcher.log'" \
		"a client of another uid is refused, and the monitor logs it"
else
	n=$((n + 1))
	echo "ok $n # SKIP a client of another uid: needs root"
fi

[ "$failed" = 0 ] || tail -40 "$inst/logs/launcher.log" | note
"$B/stop_cvd" 2>"$work/stop.err"
rc=$?
note "$work/stop.err"
check "[ $rc = 0 ] && [ ! -e '$inst/launcher_monitor.sock' ] && [ \$(pgrep -f '$CF' | wc -l) = 0 ]" "stop_cvd stops it, nothing left"
"$B/stop_cvd" --clear_instance_dirs >/dev/null 2>&1
check "[ ! -e '$inst' ]" "the lock is free again: stop_cvd --clear_instance_dirs removes the directory"
echo "1..$n"
