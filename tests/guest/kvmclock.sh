#!/bin/sh
# guest-kit: the kvmclock payload under sepia-vmm (see run-payload.sh; GUESTKIT_VMM=qemu for QEMU).
exec "$(dirname "$0")/run-payload.sh" kvmclock
