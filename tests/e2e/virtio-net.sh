#!/bin/sh
# End to end: virtio-net on TAPs. In a private network namespace (tests/e2e/net-lib.sh:
# bridge cvd-ebr with dnsmasq, cvd-etap-01 on it, cvd-mtap-01 192.168.97.1/30) one boot of
# the reference guest with two --net devices and
#   sepia.net=eth0:dhcp sepia.net=eth1:192.168.97.2/30
# checks: a DHCP lease for the guest's MAC; the guest pings 192.168.98.1 and 192.168.97.1;
# the host pings the leased address and 192.168.97.2; 2 MiB up (guest nc) and 2 MiB down
# (guest wget) arrive intact (sha256); then SEPIA_NET_BENCH_MIB (default 4) MiB
# guest->host through nc, reported with the MB/s and the VMM's CPU seconds (a figure, not
# a check; on a host that interprets guest kernel code the guest's TCP stack runs at tens
# of KB/s, so bench/net.sh is the place for big transfers). The guest fetches its script
# from the host over eth0 (sepia.run only waits for the lease), so the kernel command line
# stays short.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
net_lib_dir=$top_srcdir/tests/e2e
vmm=$top_builddir/sepia-vmm
guest=${SEPIA_GUEST_DIR:-$top_builddir/guest/out}
limit=${SEPIA_REF_TIMEOUT:-900}
bench_mib=${SEPIA_NET_BENCH_MIB:-4}
copy_bytes=2097152
mac0=52:54:00:5e:a0:01
mac1=52:54:00:5e:a0:02

skip() { echo "1..0 # SKIP $1"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces and TAPs)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no access to /dev/kvm"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
for tool in ip dnsmasq python3; do
	command -v $tool >/dev/null 2>&1 || skip "$tool not found"
done
if command -v ping >/dev/null 2>&1; then
	host_ping=ping
elif command -v busybox >/dev/null 2>&1; then
	host_ping="busybox ping"
else
	skip "neither ping nor busybox found"
fi
[ -x "$vmm" ] || skip "sepia-vmm not built"
[ -r "$guest/vmlinux" ] && [ -r "$guest/initramfs.cpio" ] || skip "no reference guest in $guest (run make guest)"

. "$net_lib_dir/net-lib.sh"
work=$(mktemp -d /tmp/sepia-net.XXXXXX)
ns=sepia-vnet-$$
trap 'netns_down; rm -rf "$work"' EXIT
trap 'exit 1' INT TERM HUP
netns_up || skip "cannot set up a network namespace with a bridge and TAPs"
net_server $copy_bytes $copy_bytes $((bench_mib << 20)) || skip "the test's TCP server did not start"

cat > "$work/guest.sh" <<GUEST
echo "LEASE \$(ip -4 addr show eth0 | grep inet)"
echo "ETH1 \$(ip -4 addr show eth1 | grep inet)"
echo "ROUTE \$(ip -4 route | grep default)"
echo "RESOLV \$(cat /etc/resolv.conf)"
echo "FEATURES eth0 \$(cat /sys/class/net/eth0/device/features)"
ping -c 3 -W 5 192.168.98.1 > /tmp/p1 2>&1 && echo "PING-BRIDGE-OK"
ping -c 3 -W 5 192.168.97.1 > /tmp/p2 2>&1 && echo "PING-MTAP-OK"
echo "READY-FOR-PINGS"
until wget -q -O /dev/null http://192.168.98.1:5004/go; do sleep 1; done
head -c $copy_bytes /dev/urandom > /tmp/up
echo "UP-SHA \$(sha256sum < /tmp/up)"
nc 192.168.98.1 5001 < /tmp/up
echo "DOWN-SHA \$(wget -q -O - http://192.168.98.1:5002/blob | sha256sum)"
dd if=/dev/zero bs=65536 count=$((bench_mib * 16)) 2>/dev/null | nc 192.168.98.1 5003
echo "GUEST-TRANSFERS-DONE"
sleep 100000
GUEST

echo "1..10"
start=$(date +%s)
ip netns exec "$ns" "$vmm" --kernel "$guest/vmlinux" --initrd "$guest/initramfs.cpio" --cpus 2 --mem 512 \
	--cmdline 'console=ttyS0 panic=-1 sepia.net=eth0:dhcp sepia.net=eth1:192.168.97.2/30 sepia.run="for i in $(seq 300); do ip -4 addr show eth0 | grep -q inet && break; sleep 1; done; wget -q -O /tmp/t.sh http://192.168.98.1:5004/guest.sh && sh /tmp/t.sh"' \
	--net "tap=cvd-etap-01,mac=$mac0" --net "tap=cvd-mtap-01,mac=$mac1" \
	--serial "file:$work/serial.log" 2> "$work/vmm.log" &
vmm_pid=$!
echo $vmm_pid > "$work/vmm.pid"
echo $vmm_pid >> "$work/pids"

# The host pings while the guest waits for the go (before the transfers load it).
wait_for "$work/serial.log" READY-FOR-PINGS "$limit" $vmm_pid
leased=$(awk -v mac=$mac0 '$2 == mac { print $3 }' "$work/leases" 2>/dev/null | head -n 1)
nsx $host_ping -c 3 -W 10 "${leased:-192.168.98.254}" > "$work/ping-lease.log" 2>&1
ping_lease=$?
nsx $host_ping -c 3 -W 10 192.168.97.2 > "$work/ping-mtap.log" 2>&1
ping_mtap=$?
touch "$work/go"
wait_for "$work/serial.log" GUEST-TRANSFERS-DONE "$limit" $vmm_pid
# The host server may still be hashing what came in: wait for its done file (60 s at most),
# not a fixed 2 s a loaded host could outlast.
for _ in $(seq 1 300); do [ -e "$work/server.done" ] && break; sleep 0.2; done
kill -TERM $vmm_pid 2>/dev/null
wait $vmm_pid
elapsed=$(( $(date +%s) - start ))

sed 's/^/# vmm: /' "$work/vmm.log"
grep -E 'sepia-init|sepia-dhcp|udhcpc|LEASE|ETH1|ROUTE|RESOLV|FEATURES|PING|SHA|DONE|virtio_net|Kernel panic' \
	"$work/serial.log" | sed 's/^/# guest: /'
sed 's/^/# leases: /' "$work/leases" 2>/dev/null
sed 's/^/# server: /' "$work/server.log"
sed 's/^/# host ping: /' "$work/ping-lease.log" "$work/ping-mtap.log"
echo "# wall time ${elapsed}s"

n=0
failed=0
check() { # check DESCRIPTION COMMAND...
	desc=$1
	shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; failed=1; fi
}
check "dnsmasq leased an address to the guest's MAC $mac0 (${leased:-none})" [ -n "$leased" ]
check "the guest's eth0 holds the leased address" grep -q "LEASE .*inet $leased/24" "$work/serial.log"
check "the guest's eth1 holds 192.168.97.2/30" grep -q "ETH1 .*inet 192.168.97.2/30" "$work/serial.log"
check "the guest pings the bridge, 192.168.98.1" grep -q PING-BRIDGE-OK "$work/serial.log"
check "the guest pings the TAP's host end, 192.168.97.1" grep -q PING-MTAP-OK "$work/serial.log"
check "the host pings the guest's leased address" [ $ping_lease -eq 0 ]
check "the host pings the guest's static address 192.168.97.2" [ $ping_mtap -eq 0 ]
up_guest=$(sed -n 's/^UP-SHA \([0-9a-f]\{64\}\).*/\1/p' "$work/serial.log" | head -n 1)
up_host=$(cat "$work/up.sha256" 2>/dev/null)
check "2 MiB guest->host (nc) arrive intact" [ "$up_host" = "${up_guest:-missing} $copy_bytes" ]
down_guest=$(sed -n 's/^DOWN-SHA \([0-9a-f]\{64\}\).*/\1/p' "$work/serial.log" | head -n 1)
down_host=$(cat "$work/down.sha256" 2>/dev/null)
check "2 MiB host->guest (wget) arrive intact" [ "$down_host" = "${down_guest:-missing}" ]
check "SIGTERM stops sepia-vmm cleanly" grep -q 'vm: stopped by SIGTERM' "$work/vmm.log"
if [ -s "$work/bench.txt" ]; then
	read -r bytes secs cpu < "$work/bench.txt"
	echo "# throughput guest->host: $bytes bytes in ${secs}s = $(awk -v b=$bytes -v s=$secs 'BEGIN { printf "%.3f", (s > 0) ? b / s / 1e6 : 0 }') MB/s, sepia-vmm CPU ${cpu}s"
fi
if [ $failed -ne 0 ]; then
	echo "# the guest's serial console, last 60 lines:"
	tail -n 60 "$work/serial.log" | sed 's/^/# serial: /'
	sed 's/^/# dnsmasq: /' "$work/dnsmasq.log" 2>/dev/null | tail -n 20
fi
