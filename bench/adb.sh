#!/bin/bash
# bench/adb.sh — adb through a launched device, side by side with the same path without adb.
#   adb push and adb pull of SIZES MiB files (default 10 and 100), to and from /data/local/tmp;
#   the baseline: the same bytes through the same vsock path without adb (the instance's
#     vsock socket, CONNECT to the guest's vsock-echo: the bytes go to the guest and back, so
#     the figure is each direction's share of a full-duplex copy);
#   adb shell true: the median, min and max of RUNS round trips, against the baseline of a
#     vsock connection that sends one byte and reads it back.
# For each: wall time, and the CPU time of sepia-vmm's vCPU threads (guest code, here mostly the
# guest kernel's vsock and adbd), its device thread (sepia-io: virtio-vsock), its other threads,
# and the adb proxy (sepia-vsock-proxy), with sepia's share (device thread + proxy) of the total.
# Before/after in one boot: a second adbd in the guest with the settings adbd had before they
# were tuned (--max-payload 262144 --buffer 0: 256 KiB messages, the kernel's socket buffers), on
# vsock port 5556 behind a second sepia-vsock-proxy, runs the same pushes and pulls ("old").
# The path: adb client -> adb server -> TCP 127.0.0.1:6520 -> sepia-vsock-proxy -> the
# instance's vsock socket -> sepia-vmm's user-space virtio-vsock -> the guest's adbd.
# Usage: bench/adb.sh [-n SHELL_RUNS] [-s "SIZE_MIB ..."] [-O] [-k]
#   -O: no "old" adbd; -k: keep the work directory
set -uo pipefail
prog=adb
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/bench-lib.sh"
B=$top_builddir
runs=20 sizes="10 100" keep=no old=yes
while getopts n:s:Okh o; do
	case $o in
	O) old=no ;;
	n) runs=$OPTARG ;;
	s) sizes=$OPTARG ;;
	k) keep=yes ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
need_number "$runs" "-n wants a number of runs"
have_kvm || skip "no access to /dev/kvm"
command -v adb > /dev/null || skip "no adb client (Debian package adb)"
command -v python3 > /dev/null || skip "no python3"
for p in launch_cvd run_cvd stop_cvd sepia-vmm sepia-vsock-proxy; do [ -x "$B/$p" ] || skip "$p not built"; done
bench_workdir sepia-bench-adb
export HOME=$work/home
mkdir -p "$HOME"
ANDROID_ADB_SERVER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ANDROID_ADB_SERVER_PORT
proxy2=
cleanup() {
	[ -n "$proxy2" ] && kill "$proxy2" 2> /dev/null
	"$B/stop_cvd" --wait_for_launcher=20 > /dev/null 2>&1
	adb kill-server > /dev/null 2>&1
	[ $keep = yes ] && say "logs kept in $work" || rm -rf "$work"
}
trap cleanup EXIT
serial=127.0.0.1:6520
inst=$HOME/cuttlefish/instances/cvd-1
echo "# $(date -u '+%F %T') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
"$B/launch_cvd" --daemon --memory_mb=512 --blank_data_image_mb=512 > /dev/null 2> "$work/launch.err" ||
	{ cat "$work/launch.err"; exit 1; }
adb -s "$serial" wait-for-device

# Our sepia-vmm and proxy: the ones whose command line names this run's HOME.
# By command line: a process name is cut to 15 characters (sepia-vsock-proxy is 17).
ours() { for p in $(pgrep -f "(^|/)$1( |\$)"); do grep -qF "$HOME" "/proc/$p/cmdline" 2> /dev/null && echo "$p"; done | head -1; }
vmm=$(ours sepia-vmm) proxy=$(ours sepia-vsock-proxy)
vsock_sock=$inst/vsock.sock
[ -n "$vmm" ] && [ -n "$proxy" ] || { say "sepia-vmm or sepia-vsock-proxy of this run not found"; exit 1; }

# cpu [PROXY]: "vcpu io other proxy" CPU seconds (utime+stime) so far.
cpu() {
	python3 - "$vmm" "${1:-$proxy}" << 'EOF'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
def t(path):
    with open(path) as f:
        s = f.read()
    v = s[s.rindex(")") + 2:].split()
    return (int(v[11]) + int(v[12])) / hz
vcpu = io = other = 0.0
for tid in os.listdir("/proc/%s/task" % sys.argv[1]):
    d = "/proc/%s/task/%s/" % (sys.argv[1], tid)
    with open(d + "comm") as f:
        name = f.read().strip()
    c = t(d + "stat")
    if name.startswith("vcpu"):
        vcpu += c
    elif name == "sepia-io":
        io += c
    else:
        other += c
print("%.2f %.2f %.2f %.2f" % (vcpu, io, other, t("/proc/%s/stat" % sys.argv[2])))
EOF
}
# report WHAT MIB SECONDS CPU_BEFORE CPU_AFTER
report() {
	python3 - "$@" << 'EOF'
import sys
what, mib, secs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
a = [float(x) for x in sys.argv[4].split()]
b = [float(x) for x in sys.argv[5].split()]
d = [y - x for x, y in zip(a, b)]
total = sum(d)
share = 100 * (d[1] + d[3]) / total if total > 0 else 0
rate = ("%8.2f s %7.2f MiB/s | " % (secs, mib / secs)) if mib > 0 else ""
print("%-38s %sCPU s: vCPUs %.2f, virtio-vsock %.2f, vmm other %.2f, proxy %.2f; sepia %.1f%%"
      % (what, rate, d[0], d[1], d[2], d[3], share))
EOF
}
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }

# The baseline's guest side: vsock-echo on vsock port 7000 (in the initramfs), started with
# nohup as on Android.
adb -s "$serial" shell 'nohup vsock-echo 7000 < /dev/null > /dev/null 2>&1 &' > /dev/null
# raw MIB: MIB MiB to the guest's vsock-echo and back through the instance's vsock socket.
raw() {
	python3 - "$vsock_sock" "$1" << 'EOF'
import socket, sys, threading
path, n = sys.argv[1], int(float(sys.argv[2]) * (1 << 20))
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.sendall(b"CONNECT 7000\n")
line = b""
while not line.endswith(b"\n"):
    d = s.recv(1)
    if not d:
        sys.exit("vsock socket closed: %r" % line)
    line += d
if not line.startswith(b"OK"):
    sys.exit("CONNECT 7000: %r" % line)
block = b"\xa5" * 65536
def send():
    left = n
    while left > 0:
        k = min(left, len(block))
        s.sendall(block[:k])
        left -= k
    s.shutdown(socket.SHUT_WR)
th = threading.Thread(target=send)
th.start()
got = 0
while True:
    d = s.recv(1 << 20)
    if not d:
        break
    got += len(d)
th.join()
if got != n:
    sys.exit("echoed %d of %d bytes" % (got, n))
EOF
}

if [ $old = yes ]; then
	adb -s "$serial" shell 'nohup /sbin/adbd --vsock-port 5556 --max-payload 262144 --buffer 0 < /dev/null > /dev/null 2>&1 &' > /dev/null
	port2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$B/sepia-vsock-proxy" --listen="127.0.0.1:$port2" --vsock_socket="$vsock_sock" --port=5556 > "$work/proxy2.log" 2>&1 &
	proxy2=$!
	serial2=127.0.0.1:$port2
	for _ in $(seq 1 30); do adb connect "$serial2" 2>&1 | grep -q '^connected' && break; sleep 1; done
	timeout 60 adb -s "$serial2" wait-for-device || { say "the old adbd on vsock port 5556 does not answer"; exit 1; }
fi
# push_pull SERIAL PROXY LABEL MIB: push and pull the file through one adbd.
push_pull() {
	local c0 c1 s secs
	c0=$(cpu "$2") s=$(now)
	adb -s "$1" push "$work/file" /data/local/tmp/bench.bin > "$work/push.out" 2>&1 || { cat "$work/push.out"; return 1; }
	secs=$(elapsed "$s") c1=$(cpu "$2")
	report "adb push $4 MiB$3" "$4" "$secs" "$c0" "$c1"
	rm -f "$work/back"
	c0=$(cpu "$2") s=$(now)
	adb -s "$1" pull /data/local/tmp/bench.bin "$work/back" > "$work/pull.out" 2>&1 || { cat "$work/pull.out"; return 1; }
	secs=$(elapsed "$s") c1=$(cpu "$2")
	[ "$(sha256sum < "$work/back" | cut -c1-64)" = "$want" ] || { say "adb pull of $4 MiB gave other bytes"; return 1; }
	report "adb pull $4 MiB$3" "$4" "$secs" "$c0" "$c1"
	adb -s "$1" shell rm -f /data/local/tmp/bench.bin
}

for mib in $sizes; do
	need_number "$mib" "-s wants sizes in MiB"
	head -c $((mib << 20)) /dev/urandom > "$work/file"
	want=$(sha256sum < "$work/file" | cut -c1-64)
	push_pull "$serial" "$proxy" "" "$mib" || exit 1
	if [ $old = yes ]; then push_pull "$serial2" "$proxy2" " (old)" "$mib" || exit 1; fi
	c0=$(cpu) s=$(now)
	raw "$mib" || exit 1
	secs=$(elapsed "$s") c1=$(cpu)
	report "baseline: raw vsock $mib MiB each way" "$mib" "$secs" "$c0" "$c1"
done

# adb shell true, and a one-byte vsock round trip (connection included), RUNS times each.
lat() { # lat COMMAND...: microseconds of each of RUNS runs, sorted
	for _ in $(seq "$runs"); do
		local s e
		s=$(date +%s%N)
		"$@" > /dev/null || return 1
		e=$(date +%s%N)
		echo $(((e - s) / 1000))
	done | sort -n
}
summary() { # summary WHAT FILE CPU_BEFORE CPU_AFTER
	local med min max
	med=$(median < "$2") min=$(head -1 "$2") max=$(tail -1 "$2")
	printf '%-38s median %.1f ms (min %.1f, max %.1f, %d runs)\n' "$1" "$(echo "$med / 1000" | bc -l)" \
		"$(echo "$min / 1000" | bc -l)" "$(echo "$max / 1000" | bc -l)" "$runs"
	report "  CPU of all $runs runs" 0 1 "$3" "$4"
}
c0=$(cpu)
lat adb -s "$serial" shell true > "$work/lat.adb" || { say "adb shell true failed"; exit 1; }
c1=$(cpu)
summary "adb shell true" "$work/lat.adb" "$c0" "$c1"
if [ $old = yes ]; then
	c0=$(cpu "$proxy2")
	lat adb -s "$serial2" shell true > "$work/lat.old" || { say "adb shell true (old) failed"; exit 1; }
	c1=$(cpu "$proxy2")
	summary "adb shell true (old)" "$work/lat.old" "$c0" "$c1"
fi
c0=$(cpu)
lat raw 0.000001 > "$work/lat.raw" || { say "the vsock round trip failed"; exit 1; }
c1=$(cpu)
summary "baseline: 1-byte vsock round trip" "$work/lat.raw" "$c0" "$c1"
echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
