#!/bin/bash
# End to end, without a VM: adb push and pull (tests/e2e/adb-sync-checks.sh) with the real adb
# client against sepia's adbd built for the host (guest/adbd/adbd-host --tcp), on a private adb
# server port that is killed at the end. As root, a read-only tmpfs is mounted for the error
# checks; otherwise those are left out.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
adbd=$top_builddir/guest/adbd/adbd-host

skip() { echo "1..0 # SKIP $1"; exit 77; }
command -v adb > /dev/null 2>&1 || skip "adb client not found (apt-get install adb)"
command -v python3 > /dev/null 2>&1 || skip "python3 not found"
[ -x "$adbd" ] || skip "guest/adbd/adbd-host not built"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d /tmp/sepia-adbd-sync.XXXXXX)
adbd_pid=
ro_mounted=0
cleanup() {
	adb kill-server > /dev/null 2>&1
	[ -n "$adbd_pid" ] && kill "$adbd_pid" 2> /dev/null
	[ $ro_mounted = 1 ] && umount "$work/ro"
	rm -rf "$work"
}
trap cleanup EXIT
export HOME=$work/home
mkdir -p "$HOME"
unset ADB_VENDOR_KEYS ANDROID_SERIAL ADB_SERVER_SOCKET 2> /dev/null
ANDROID_ADB_SERVER_PORT=$(free_port)
export ANDROID_ADB_SERVER_PORT
port=$(free_port)
"$adbd" --tcp "$port" > "$work/adbd.log" 2>&1 < /dev/null &
adbd_pid=$!
# Until adbd says it listens (60 s at most: a loaded host may take more than a few seconds).
for _ in $(seq 1 300); do grep -q listening "$work/adbd.log" && break; sleep 0.2; done
serial=127.0.0.1:$port
adb connect "$serial" > /dev/null 2>&1

n=0
check() { n=$((n + 1)); if eval "$1"; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
note() { sed 's/^/# /' "$@"; }
. "$top_srcdir/tests/e2e/adb-sync-checks.sh"
mkdir -p "$work/ro"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o ro,size=1m sepia-ro "$work/ro" 2> /dev/null; then
	ro_mounted=1
	RO_DIR=$work/ro
fi
adb_sync_checks "$work/remote"
echo "1..$n"
