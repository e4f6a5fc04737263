#!/bin/sh
# guest-kit self-test: every payload under QEMU (TCG, no KVM needed), so a payload bug
# is never mistaken for a sepia-vmm bug. Skips when QEMU is not installed.
GUESTKIT_VMM=qemu exec "$(dirname "$0")/run-payload.sh" \
	serial serial-microvm serial-elf32 serial-elf32-microvm bootparams pci blk blk-ro console msix smp usermode uart-irq
