#!/bin/bash
# bench/launch.sh — the device lifecycle's numbers:
#  1. launch_cvd --daemon on the reference guest, from its start to its return, split into
#     assembly, monitor-to-VMM start (the bootloader step) and guest boot; a cold first launch
#     (assembly hashes everything) and a warm second one;
#  2. the most instances this machine holds at once: launches instances 1..N (default 10) of
#     --memory_mb M (default 512) one after another, each launch_cvd --daemon returning before
#     the next starts, so that N guests run side by side; reports each boot time as more run,
#     the host's load once all are up, and per instance the VMM's memory beyond the guest's RAM
#     (PSS of sepia-vmm minus the resident guest RAM mapping) and the monitor's PSS.
#     (Booting ten 2-vCPU guests at the same moment on 2 cores, where guest kernel code is
#     interpreted, starves their vCPUs' spin-waits for each other: measured, it made no
#     visible progress for 10 minutes; see the closing notes.)
# Usage: bench/launch.sh [-n INSTANCES] [-m MEMORY_MB] [-s] (-s: skip the many-instances part)
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
B=$top_builddir
count=10 mem=512 scale=1
while getopts n:m:s o; do case $o in n) count=$OPTARG ;; m) mem=$OPTARG ;; s) scale=0 ;; *) exit 2 ;; esac; done
[ -w /dev/kvm ] || { echo "bench/launch.sh: no access to /dev/kvm" >&2; exit 77; }
[ -r "$B/guest/out/android/boot.img" ] || { echo "bench/launch.sh: make guest-android first" >&2; exit 77; }
work=$(mktemp -d /tmp/sepia-bench-launch.XXXXXX)
export HOME=$work/home
mkdir -p "$HOME"
# The monitors start an adb server (adb connect, as Cuttlefish does): one of the bench's own, on a
# free port, ended at exit; not one on the default port 5037 left running after the bench.
ANDROID_ADB_SERVER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ANDROID_ADB_SERVER_PORT
trap '"$B/stop_cvd" >/dev/null 2>&1; adb kill-server >/dev/null 2>&1; rm -rf "$work"' EXIT

# Seconds between two launcher.log lines (their "YYYY-MM-DD HH:MM:SS.mmm" stamps).
stamp() { grep -m1 "$2" "$1" | cut -c1-23; }
secs() { python3 -c 'import sys,datetime as d; f="%Y-%m-%d %H:%M:%S.%f"; print("%.3f" % (d.datetime.strptime(sys.argv[2],f)-d.datetime.strptime(sys.argv[1],f)).total_seconds())' "$1" "$2"; }

one_launch() { # $1 = tag
	local log=$HOME/cuttlefish/instances/cvd-1/logs/launcher.log s e
	[ -f "$log" ] && : > "$log"
	s=$(date +%s.%N)
	"$B/launch_cvd" --daemon --memory_mb="$mem" --blank_data_image_mb=2048 > /dev/null 2> "$work/$1.err" || { cat "$work/$1.err"; exit 1; }
	e=$(date +%s.%N)
	local assembly vmm_start boot
	assembly=$(sed -n 's/.*timing: assembly \([0-9.]*\) s.*/\1/p' "$work/$1.err")
	vmm_start=$(secs "$(stamp "$log" 'monitor started')" "$(stamp "$log" 'sepia-vmm started')")
	boot=$(sed -n 's/.*vmm_to_boot_s=\([0-9.]*\).*/\1/p' "$work/$1.err")
	printf '%-6s launch_cvd --daemon returned after %6.2f s: assembly %6.3f s, monitor -> VMM start %6.3f s, VMM start -> boot completed %6.2f s\n' \
		"$1" "$(echo "$e - $s" | bc)" "$assembly" "$vmm_start" "$boot"
	"$B/stop_cvd" > /dev/null 2>&1
}
echo "== launch_cvd --daemon, reference guest, 2 vCPUs, $mem MiB"
one_launch cold
one_launch warm

[ "$scale" = 1 ] || exit 0
echo "== up to $count instances side by side, $mem MiB each, launched one after another"
for k in $(seq 1 "$count"); do
	s=$(date +%s.%N)
	if ! "$B/launch_cvd" --daemon --instance_nums="$k" --memory_mb="$mem" --blank_data_image_mb=256 \
		--boot_timeout_secs=1800 > /dev/null 2> "$work/many-$k.err"; then
		echo "instance $k did not boot:"; grep -v '^  ' "$work/many-$k.err" | tail -n 8
		count=$((k - 1))
		break
	fi
	printf 'cvd-%-3d booted in %6.1f s with %d already running (load %s)\n' "$k" "$(echo "$(date +%s.%N) - $s" | bc)" \
		$((k - 1)) "$(cut -d' ' -f1 /proc/loadavg)"
done
sleep 30
echo "all $count running; after 30 s idle the load average is $(cut -d' ' -f1-3 /proc/loadavg)"
total_over=0 total_mon=0
# This bench's VMMs only (their command lines name files under its HOME), not other devices'.
for pid in $(pgrep -x sepia-vmm); do
	grep -qF "$HOME" "/proc/$pid/cmdline" 2>/dev/null || continue
	# The guest RAM is the one anonymous mapping of exactly mem MiB.
	read -r pss guest_rss < <(awk -v sz=$((mem * 1024)) '
		/^[0-9a-f]+-[0-9a-f]+ / { cur = 0 }
		/^Size:/ { cur = ($2 == sz) }
		/^Rss:/ && cur { g += $2 }
		/^Pss:/ { p += $2 }
		END { print p, g }' "/proc/$pid/smaps")
	mon=$(awk '/^Pss:/ { p += $2 } END { print p }' "/proc/$(ps -o ppid= "$pid" | tr -d ' ')/smaps")
	over=$((pss - guest_rss))
	total_over=$((total_over + over)) total_mon=$((total_mon + mon))
	printf 'sepia-vmm %-7s PSS %7d KiB, guest RAM resident %7d KiB, beyond the guest %6d KiB; run_cvd PSS %6d KiB\n' \
		"$pid" "$pss" "$guest_rss" "$over" "$mon"
done
[ "$count" -gt 0 ] || exit 1
echo "per instance on average: VMM beyond the guest $((total_over / count)) KiB, monitor $((total_mon / count)) KiB"
free -m | sed -n 2p | awk '{print "host memory used with all running: " $3 " MiB of " $2 " MiB"}'
"$B/stop_cvd" > /dev/null 2>&1
