#!/bin/sh
# guest-kit: the console payload on the first of several --hvc ports (sepia-vmm only; see
# run-payload.sh): the guest's hvc0 is the first --hvc, ahead of sinks and --control.
exec "$(dirname "$0")/run-payload.sh" console-hvc
