#!/bin/sh
# On a host whose KVM interprets kernel code, an instruction that neither KVM nor the
# fallback emulator handles ends sepia-vmm with status 1 and a message naming the vCPU,
# RIP and the instruction bytes. The usermode payload's `ring0-int80` step executes
# `int $0x80` in ring 0 (cd 80), which this host's KVM refuses.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
vmm=$top_builddir/sepia-vmm
payload=$top_builddir/tests/guest/usermode.elf
skip() { echo "1..0 # SKIP $1"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no access to /dev/kvm"
[ -x "$vmm" ] && [ -r "$payload" ] || skip "sepia-vmm or usermode.elf not built"
[ -e /sys/module/kvm_pvm ] || skip "this host's KVM runs ring-0 int \$0x80 itself: no emulation failure to provoke"

work=$(mktemp -d /tmp/sepia-emufail.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "1..3"
timeout 60 "$vmm" --kernel "$payload" --cmdline ring0-int80 --mem 64 --debug-exit \
	--serial "file:$work/serial.log" 2> "$work/vmm.log"
status=$?
sed 's/^/# /' "$work/vmm.log"
[ "$status" -eq 1 ] && echo "ok 1 - sepia-vmm ends with status 1" || echo "not ok 1 - sepia-vmm ends with status 1 (got $status)"
grep -q 'vcpu0: .* at RIP 0x[0-9a-f]*' "$work/vmm.log" && echo "ok 2 - the message names the vCPU and RIP" ||
	echo "not ok 2 - the message names the vCPU and RIP"
grep -q 'instruction bytes \[cd 80' "$work/vmm.log" && echo "ok 3 - the message shows the instruction bytes (cd 80)" ||
	echo "not ok 3 - the message shows the instruction bytes (cd 80)"
