#!/bin/sh
# /init of the L1 guest (tests/nested/l1-image.sh packs it): mounts the kernel's file systems,
# loads kvm_amd, runs the job (/job/run.sh) and powers off.
# The job's stdout goes to the second serial port (ttyS1), which the host reads as the result;
# everything else (the kernel log, the job's stderr) goes to the console on ttyS0.
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
ip link set lo up

# ttyS1 carries the results: no \n -> \r\n, no echo of what the host never sends.
stty -F /dev/ttyS1 raw -echo 2>/dev/null
exec 3>/dev/ttyS1
l1_modules() {
	for m in irqbypass kvm kvm-amd; do
		insmod /lib/modules/$m.ko || return 1
	done
}
if l1_modules 2>/tmp/insmod.err && [ -c /dev/kvm ]; then
	echo "# l1: kvm_amd loaded at $(cut -d' ' -f1 /proc/uptime) s, $(grep -c ^processor /proc/cpuinfo) CPUs, kernel $(uname -r)" >&3
else
	echo "# l1: kvm_amd did not load: $(cat /tmp/insmod.err)" >&3
	dmesg | grep -i -E 'kvm|svm' | sed 's/^/# l1 dmesg: /' >&3
fi
(cd /job && sh /job/run.sh) >&3
echo "# l1: the job ended with status $? at $(cut -d' ' -f1 /proc/uptime) s" >&3
echo "L1-DONE" >&3
exec 3>&-
sync
poweroff -f
