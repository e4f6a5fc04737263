#!/bin/sh
# guest-kit: the gpu payload under sepia-vmm --gpu auto where EGL cannot start (see run-payload.sh).
exec "$(dirname "$0")/run-payload.sh" gpu-fallback
