#!/bin/sh
# guest-kit: the input payload under sepia-vmm (see run-payload.sh): config space and events from the host.
exec "$(dirname "$0")/run-payload.sh" input
