# tests/e2e/device-lib.sh — what the tests that launch the reference guest with launch_cvd and
# reach it with the real adb client share (adb.sh, gpu-device.sh; lifecycle.sh its port check).
# Sourced (bash), after B is the build tree and skip() is defined.

# require_free_ports WHAT PORT...: skips unless every PORT of 127.0.0.1 is free, as launch_cvd
# tests them (bind with SO_REUSEADDR), naming the one that is taken. Devices take fixed ports
# (adb 6520+N-1, the web view 8443+N-1), so another device or program on this machine that
# holds one is a missing precondition, not a failure of sepia.
require_free_ports() {
	local why=$1 port # what the ports are, for the message
	shift
	for port in "$@"; do
		port_is_free "$port" || skip "127.0.0.1:$port ($why) is in use on this machine, by another device or program"
	done
}

# port_is_free PORT: whether launch_cvd could take PORT of 127.0.0.1.
port_is_free() {
	python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# device_test_begin NAME PROGRAM...: skips without /dev/kvm, one of the PROGRAMs in B, the
# reference guest's images, the adb client, or a free adb port 6520 (cvd-1's). Then: work, a
# directory removed at exit (after stop_cvd), with HOME inside it; a private adb server port
# (ANDROID_ADB_SERVER_PORT, a free one), so no other adb server is disturbed, whose server is
# started before the launch unless DEVICE_TEST_NO_ADB_SERVER=1 (then the monitor starts it with
# `adb connect`, as Cuttlefish's adb connector does) and killed at exit; check and note for TAP;
# serial and inst of cvd-1.
device_test_begin() {
	local name=$1 p
	shift
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no access to /dev/kvm"
	for p in "$@"; do [ -x "$B/$p" ] || skip "$p not built"; done
	[ -r "$B/guest/out/android/boot.img" ] || skip "no reference guest images (make guest-android)"
	command -v adb >/dev/null || skip "the adb client is not installed (Debian package adb)"
	command -v python3 >/dev/null || skip "python3 is not installed"
	require_free_ports "cvd-1's adb port" 6520
	work=$(mktemp -d "/tmp/sepia-$name.XXXXXX")
	export HOME=$work/home
	mkdir -p "$HOME"
	# The boot snapshot cache every test of this build tree shares (HOME is each test's own):
	# the first launch of a configuration boots cold and takes it, the others restore it.
	export SEPIA_BOOT_SNAPSHOT_DIR=${SEPIA_BOOT_SNAPSHOT_DIR:-$B/tests/e2e/boot-snapshots}
	ANDROID_ADB_SERVER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	export ANDROID_ADB_SERVER_PORT
	trap device_test_cleanup EXIT
	n=0
	serial=127.0.0.1:6520
	inst=$HOME/cuttlefish/instances/cvd-1
	[ "${DEVICE_TEST_NO_ADB_SERVER:-0}" = 1 ] || adb start-server >/dev/null 2>&1
}

# adb_server_answers: whether an adb server listens on the test's private port.
adb_server_answers() {
	python3 -c '
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
except OSError:
    sys.exit(1)' "$ANDROID_ADB_SERVER_PORT"
}

device_test_cleanup() {
	"$B/stop_cvd" --wait_for_launcher=20 >/dev/null 2>&1
	adb kill-server >/dev/null 2>&1
	rm -rf "$work"
}

check() { n=$((n + 1)); if eval "$1"; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
note() { sed 's/^/# /' "$@"; }
