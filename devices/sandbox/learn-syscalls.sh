#!/bin/sh
# Learns what sepia-vmm's threads call, for the allowlists in devices/sandbox/syscalls.c:
# runs a command (a test that boots sepia-vmm, or sepia-vmm itself) under strace -f with the
# filters in log mode (SEPIA_VMM_SECCOMP=log: nothing is stopped), keeps the trace, and has
# learn-syscalls.py say per thread role what was called and what the lists lack.
#
#   devices/sandbox/learn-syscalls.sh TRACE -- COMMAND [ARG ...]
#   devices/sandbox/learn-syscalls.py TRACE [TRACE ...]     # several runs add up
#
# The command's own exit status is printed; programs it left running (an adb server) are
# detached from when it ends. Anything that boots a guest is run under the machine's e2e
# lock like any test.
set -u
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 3 ] && [ "$2" = -- ] || {
	echo "usage: $0 TRACE -- COMMAND [ARG ...]" >&2
	exit 2
}
trace=$1
shift 2
command -v strace > /dev/null || { echo "$0: strace is not installed (apt-get install strace)" >&2; exit 2; }
rcfile=$(mktemp) || exit 1
trap 'rm -f "$rcfile"' EXIT
# The command's status goes to a file: strace itself waits for every traced process.
SEPIA_VMM_SECCOMP=log strace -f -qq -s 64 -o "$trace" -- sh -c '"$@"; echo $? > "$0"' "$rcfile" "$@" &
tracer=$!
while [ ! -s "$rcfile" ] && kill -0 "$tracer" 2> /dev/null; do
	sleep 1
done
# Detach from what the command left running (strace ends on SIGINT, its tracees go on).
kill -INT "$tracer" 2> /dev/null
wait "$tracer" 2> /dev/null
echo "$0: the command exited with status $(cat "$rcfile")"
exec "$here/learn-syscalls.py" "$trace"
