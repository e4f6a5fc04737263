#!/bin/sh
# guest-kit: the uart-irq payload under sepia-vmm (see run-payload.sh; GUESTKIT_VMM=qemu for QEMU).
exec "$(dirname "$0")/run-payload.sh" uart-irq
