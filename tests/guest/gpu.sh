#!/bin/sh
# guest-kit: the gpu payload under sepia-vmm (see run-payload.sh).
exec "$(dirname "$0")/run-payload.sh" gpu
