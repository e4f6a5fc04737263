#!/bin/sh
# Runs one TAP test under automake's TAP driver. sepia's tests exit 77 when they cannot
# run here (no /dev/kvm, not root) after printing the plan "1..0 # SKIP <why>"; the TAP
# driver counts that plan as a skip but reports any non-zero status as an error, so 77
# becomes 0 here and every other status passes through.
"$@"
status=$?
[ "$status" -eq 77 ] && exit 0
exit "$status"
