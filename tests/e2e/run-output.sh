#!/bin/sh
# End to end: what a sepia.run command prints reaches the host whole, although the command
# ends its session: the reference guest (make guest) with 2 vCPUs runs
#   seq -s - 1 400; tty-held-output RUN-OUTPUT-HELD-<seq -s . 1 40>
# and the serial log must hold both lines whole. The seq line races the command's exit (on
# real KVM it lost its tail in 9 of 15 boots); tty-held-output (guest/tools) makes the race
# certain: it leaves its line queued in the stopped terminal when it exits, and a helper
# restarts the output 2 s later. A command's exit must not throw away what it wrote.
# SEPIA_RUN_OUTPUT_BOOTS boots this many times (default 1 where KVM interprets guest kernel
# code, whose boots take a minute, else 5).
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
vmm=$top_builddir/sepia-vmm
guest=${SEPIA_GUEST_DIR:-$top_builddir/guest/out}

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/e2e/require.sh"
require_reference_guest
command -v cpio > /dev/null && command -v seq > /dev/null || skip "cpio or seq missing"
cpio -it --quiet < "$guest/initramfs.cpio" 2> /dev/null | grep -qx 'bin/tty-held-output' ||
	skip "the guest in $guest has no /bin/tty-held-output (built before it; run make guest)"

boots=${SEPIA_RUN_OUTPUT_BOOTS:-}
if [ -z "$boots" ]; then
	boots=5
	[ ! -e /sys/module/kvm_pvm ] || boots=1
fi

work=$(mktemp -d /tmp/sepia-run-output.XXXXXX)
trap 'rm -rf "$work"' EXIT
seq_line=$(seq -s - 1 400)
held_line=RUN-OUTPUT-HELD-$(seq -s . 1 40)

echo "1..$((boots * 3))"
tap_begin
i=1
while [ $i -le "$boots" ]; do
	start=$(date +%s)
	timeout "${SEPIA_REF_TIMEOUT:-900}" "$vmm" --kernel "$guest/vmlinux" --initrd "$guest/initramfs.cpio" \
		--cmdline 'console=ttyS0 quiet panic=-1 sepia.run="seq -s - 1 400; tty-held-output RUN-OUTPUT-HELD-$(seq -s . 1 40)"' \
		--cpus 2 --mem 512 --serial "file:$work/serial-$i.log" 2> "$work/vmm-$i.log"
	status=$?
	echo "# boot $i: sepia-vmm status $status after $(($(date +%s) - start)) s"
	tr -d '\r' < "$work/serial-$i.log" > "$work/serial-$i.txt"
	grep -E 'RUN-OUTPUT|^1-2-3|sepia-init|tty-held-output' "$work/serial-$i.txt" | cut -c1-120 | sed 's/^/# guest: /'
	check "grep -qxF -- '$seq_line' '$work/serial-$i.txt'" "boot $i: seq's 1491-byte line arrived whole"
	check "grep -qxF -- '$held_line' '$work/serial-$i.txt'" "boot $i: the line still queued when tty-held-output exited arrived whole"
	check "[ $status -eq 0 ] && grep -q 'guest powered off' '$work/vmm-$i.log'" "boot $i: the guest powered off after its command"
	[ $status -eq 0 ] || sed 's/^/# vmm: /' "$work/vmm-$i.log" | tail -n 20
	i=$((i + 1))
done
