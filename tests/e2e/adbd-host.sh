#!/bin/sh
# End to end, without a VM: sepia's guest adbd (built for the host as
# guest/adbd/adbd-host, listening on 127.0.0.1 with --tcp) against the real
# adb client. The adb server runs on its own port with its own HOME (so its
# key pair is fresh and no other adb server is disturbed) and is killed at the end.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
adbd=$top_builddir/guest/adbd/adbd-host

skip() { echo "1..0 # SKIP $1"; exit 77; }
command -v adb >/dev/null 2>&1 || skip "adb client not found (apt-get install adb)"
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
[ -x "$adbd" ] || skip "guest/adbd/adbd-host not built"

work=$(mktemp -d /tmp/sepia-adbd.XXXXXX)
# start_adbd runs in $(...), a subshell: the daemons' pids go to a file.
cleanup() {
	adb kill-server >/dev/null 2>&1
	[ -f "$work/pids" ] && while read -r p; do kill "$p" 2>/dev/null; done <"$work/pids"
	rm -rf "$work"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

HOME=$work/home
mkdir -p "$HOME"
export HOME
unset ADB_VENDOR_KEYS ANDROID_SDK_HOME ANDROID_SERIAL 2>/dev/null
ADB_SERVER_SOCKET=tcp:localhost:$(free_port)
export ADB_SERVER_SOCKET

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # check NAME COMMAND...
	name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# start_adbd LOG ARGS...: prints the port it listens on.
start_adbd() {
	log=$1
	shift
	port=$(free_port)
	"$adbd" --tcp "$port" "$@" >"$log" 2>&1 </dev/null &
	echo $! >>"$work/pids"
	# Until it says it listens (60 s at most: a loaded host may take more than 2 s).
	for _ in $(seq 1 300); do
		grep -q "listening" "$log" 2>/dev/null && break
		sleep 0.2
	done
	echo "$port"
}

# state SERIAL: the device's state in `adb devices` (device, unauthorized, ...)
state() {
	adb devices | awk -v s="$1" '$1 == s { print $2 }'
}

wait_state() { # wait_state SERIAL STATE
	for _ in $(seq 1 50); do
		[ "$(state "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	echo "# $1 is '$(state "$1")', wanted '$2'"
	return 1
}

echo "1..19"
adb start-server >/dev/null 2>&1

# ---- Without a keys file: no authentication. ----
port=$(start_adbd "$work/adbd.log")
dev=127.0.0.1:$port
adb connect "$dev" >/dev/null 2>&1
check "adb connect lists the device as 'device'" wait_state "$dev" device
a() { timeout 60 adb -s "$dev" "$@"; }

check "adb shell echo round-trips" test "$(a shell echo hi)" = hi
a shell false
check "adb shell false exits 1" test $? = 1
a shell 'exit 3'
check "adb shell 'exit 3' exits 3" test $? = 3
check "stdout and stderr stay apart" \
	test "$(a shell 'echo out; echo err >&2' 2>/dev/null)" = out
check "stdin reaches the command" test "$(echo piped | a shell cat)" = piped

dir=$work/device
mkdir -p "$dir"
head -c 20971520 /dev/urandom >"$work/big"
want=$(sha256sum <"$work/big" | cut -d' ' -f1)
push_out=$(a push "$work/big" "$dir/sub/big.bin" 2>&1)
check "adb push of 20 MiB succeeds" test $? = 0
echo "# push: $push_out"
pull_out=$(a pull "$dir/sub/big.bin" "$work/back.bin" 2>&1)
check "adb pull of it succeeds" test $? = 0
echo "# pull: $pull_out"
check "pushed then pulled file has the same SHA-256" \
	test "$(sha256sum <"$work/back.bin" | cut -d' ' -f1)" = "$want"
check "adb shell ls lists the pushed file" test "$(a shell ls "$dir/sub")" = big.bin
a exec-out cat "$dir/sub/big.bin" >"$work/exec.bin"
check "adb exec-out cat is byte-identical" cmp -s "$work/exec.bin" "$work/big"
a shell "cat > '$dir/stdin.bin'" <"$work/big"
check "20 MiB through adb shell's stdin (shell v2) arrive whole" cmp -s "$dir/stdin.bin" "$work/big"
# exec-in closes its stream right after the last WRTE: what is in flight still arrives.
a exec-in "cat > '$dir/execin.bin'" <"$work/big"
for _ in $(seq 1 50); do cmp -s "$dir/execin.bin" "$work/big" && break; sleep 0.1; done
check "20 MiB through adb exec-in arrive whole" cmp -s "$dir/execin.bin" "$work/big"

# Four shells at once, each sleeping so they overlap.
for i in 1 2 3 4; do
	a shell "sleep 1; echo par$i" >"$work/par$i" 2>&1 &
done
wait
par_ok=yes
for i in 1 2 3 4; do [ "$(cat "$work/par$i")" = "par$i" ] || par_ok=no; done
check "four adb shell in parallel" test $par_ok = yes

a jdwp >"$work/bad.out" 2>&1
bad=$?
check "an unknown service fails cleanly" test $bad != 0
check "the device is still there after it" test "$(a shell echo alive)" = alive

# ---- With --keys: the client's key authorizes, another key does not. ----
port=$(start_adbd "$work/adbd-auth.log" --keys "$HOME/.android/adbkey.pub")
adb connect "127.0.0.1:$port" >/dev/null 2>&1
check "--keys with the client's adbkey.pub: authorized" wait_state "127.0.0.1:$port" device
check "an authorized device runs commands" \
	test "$(timeout 30 adb -s "127.0.0.1:$port" shell echo signed)" = signed

adb keygen "$work/otherkey" >/dev/null 2>&1
port=$(start_adbd "$work/adbd-other.log" --keys "$work/otherkey.pub")
adb connect "127.0.0.1:$port" >/dev/null 2>&1
check "--keys with another key: stays unauthorized" wait_state "127.0.0.1:$port" unauthorized

if [ $failed != 0 ]; then
	for f in "$work"/adbd*.log; do sed "s|^|# ${f##*/}: |" "$f"; done
	exit 1
fi
exit 0
