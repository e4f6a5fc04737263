#!/bin/sh
# guest-kit: the console payload under sepia-vmm (see run-payload.sh; GUESTKIT_VMM=qemu for QEMU).
exec "$(dirname "$0")/run-payload.sh" console
