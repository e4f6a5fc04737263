#!/bin/sh
# guest-kit: the msix payload under sepia-vmm (see run-payload.sh; GUESTKIT_VMM=qemu for QEMU).
exec "$(dirname "$0")/run-payload.sh" msix
