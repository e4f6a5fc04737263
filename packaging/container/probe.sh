#!/bin/sh
# sepia-container-probe ready|live: the container's readiness and liveness checks, from
# cvd_status (packaging/container/). Instance $CUTTLEFISH_INSTANCE (default 1).
#   ready  exit 0 once the guest's boot completed (cvd_status reports "Running")
#   live   exit 0 while the monitor answers and the device has not failed (Booting or Running)
set -u
instance=${CUTTLEFISH_INSTANCE:-1}
case ${1:-} in
ready)
	out=$(cvd_status --instance_nums="$instance" --print 2>&1) || { echo "$out" >&2; exit 1; }
	printf '%s\n' "$out" | grep -q '"status": "Running"' && exit 0
	echo "sepia-container-probe: cvd-$instance has not completed its boot yet" >&2
	exit 1
	;;
live) exec cvd_status --instance_nums="$instance" ;;
*) echo "usage: sepia-container-probe ready|live" >&2; exit 2 ;;
esac
