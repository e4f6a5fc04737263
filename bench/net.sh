#!/bin/sh
# virtio-net throughput, sepia-vmm next to QEMU: the reference guest (make guest) sends
# MIB MiB of zeros to the host with busybox nc (guest->host TCP over the TAP), once under
# sepia-vmm (KVM) and once under qemu-system-x86_64 -accel tcg with the same TAP
# (-netdev tap,vhost=off -device virtio-net-pci). Prints MB/s and the VMM's CPU seconds
# (utime+stime of its process from the first byte to the last, /proc/PID/stat).
#
# Usage: bench/net.sh [MIB]   (default 64; root: it makes a network namespace, see
#                              tests/e2e/net-lib.sh; nothing touches the host's own network)
# Environment: SEPIA_GUEST_DIR (default guest/out), BENCH_TIMEOUT (seconds per VMM, 1200),
#              QEMU (qemu-system-x86_64), SKIP_QEMU=1, SKIP_SEPIA=1.
# Timings, not a test: run by hand (or `make bench-net`).
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
net_lib_dir=$top_srcdir/tests/e2e
vmm=${SEPIA_VMM:-$top_builddir/sepia-vmm}
qemu=${QEMU:-qemu-system-x86_64}
guest=${SEPIA_GUEST_DIR:-$top_builddir/guest/out}
limit=${BENCH_TIMEOUT:-1200}
mib=${1:-64}
mac=52:54:00:5e:b0:01

[ "$(id -u)" -eq 0 ] || { echo "bench/net.sh: needs root (network namespace, TAPs)"; exit 77; }
for tool in ip dnsmasq python3; do
	command -v $tool >/dev/null 2>&1 || { echo "bench/net.sh: $tool not found"; exit 77; }
done
[ -r "$guest/vmlinux" ] || { echo "bench/net.sh: no reference guest in $guest (make guest)"; exit 77; }

. "$net_lib_dir/net-lib.sh"
top_work=$(mktemp -d /tmp/sepia-bench-net.XXXXXX)
ns=sepia-bnet-$$
work=$top_work
trap 'work=$top_work; netns_down; rm -rf "$top_work"' EXIT
trap 'exit 1' INT TERM HUP
netns_up || { echo "bench/net.sh: cannot set up the network namespace"; exit 1; }

cmdline="console=ttyS0 panic=-1 sepia.adbd=0 sepia.net=eth0:192.168.98.2/24 sepia.run=\"wget -q -O /tmp/t.sh http://192.168.98.1:5004/guest.sh && sh /tmp/t.sh\""
results=

run() { # run NAME COMMAND...: boots, waits for the transfer, stops the VMM
	name=$1
	shift
	work=$top_work/$name
	mkdir -p "$work"
	cat > "$work/guest.sh" <<GUEST
dd if=/dev/zero bs=65536 count=$((mib * 16)) 2>/dev/null | nc 192.168.98.1 5003
echo BENCH-SENT
sleep 100000
GUEST
	net_server 0 0 $((mib << 20)) || { echo "bench/net.sh: server did not start"; return; }
	ip netns exec "$ns" "$@" > "$work/vmm.log" 2>&1 &
	pid=$!
	echo $pid > "$work/vmm.pid"
	echo $pid >> "$top_work/pids"
	cat "$work/pids" >> "$top_work/pids"
	echo "bench/net.sh: $name: booting (pid $pid)"
	wait_for "$work/bench.txt" . "$limit" $pid || echo "bench/net.sh: $name: no result within ${limit}s"
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
	kill $(cat "$work/pids") 2>/dev/null
	if [ -s "$work/bench.txt" ]; then
		read -r bytes secs cpu < "$work/bench.txt"
		line=$(awk -v n=$name -v b=$bytes -v s=$secs -v c=$cpu \
			'BEGIN { printf "%-10s %6.1f MiB in %7.2f s = %7.2f MB/s, VMM CPU %7.2f s (%.2f s per 100 MB)", n, b / 1048576, s, b / s / 1e6, c, c / (b / 1e8) }')
		echo "bench/net.sh: $line"
		results="$results$line
"
	fi
}

[ "${SKIP_SEPIA:-0}" = 1 ] ||
run sepia-vmm "$vmm" --kernel "$guest/vmlinux" --initrd "$guest/initramfs.cpio" --cpus 2 --mem 512 \
	--cmdline "$cmdline" --net "tap=cvd-etap-01,mac=$mac" --serial "file:$top_work/sepia-vmm.serial"

if [ "${SKIP_QEMU:-0}" != 1 ] && command -v "$qemu" >/dev/null 2>&1; then
	run qemu-tcg "$qemu" -M pc -accel tcg -cpu qemu64 -m 512 -smp 2 -nographic -no-reboot -nodefaults \
		-kernel "$guest/vmlinux" -initrd "$guest/initramfs.cpio" -append "$cmdline" \
		-netdev tap,id=n0,ifname=cvd-etap-01,script=no,downscript=no,vhost=off \
		-device virtio-net-pci,netdev=n0,mac=$mac -serial "file:$top_work/qemu.serial"
fi
echo "bench/net.sh: guest->host TCP, $mib MiB (busybox dd | nc in the guest, python3 on the host)"
printf '%s' "$results"
