#!/bin/bash
# sepia-container-entrypoint: the container image's entrypoint (packaging/container/). Runs one
# device in the foreground: `launch_cvd` without --daemon, as process 1 of the container, so
# SIGTERM (podman stop, kubectl delete) reaches it and stops the device cleanly (the guest is
# asked to power off, then the monitor ends), and the container ends with it.
#
# Settings (environment), then Cuttlefish's flags:
#   CUTTLEFISH_INSTANCE          the instance number (default 1: adb 6520, web view 8443)
#   SEPIA_LISTEN_ADDRESS         where the adb proxy and the web view listen (image default
#                                0.0.0.0: the container's own addresses, so a published port or
#                                a Service reaches them)
#   SEPIA_START_WEBVIEW          true (default) or false: serve the screen on 8443+N-1
#   SEPIA_WEBVIEW_ALLOWED_HOSTS  names the web view answers besides localhost, loopback and the
#                                container's own name and addresses (comma-separated), e.g. a
#                                Service's DNS name
#   SEPIA_POD_NETWORK            true: give the guest a network inside the pod
#                                (sepia-host-resources: needs /dev/net/tun and NET_ADMIN);
#                                default false, the guest has no network
#   SEPIA_LAUNCH_FLAGS           launch_cvd flags, whitespace-separated (e.g. "--cpus=2
#                                --memory_mb=1024"), given before the arguments
#   arguments                    more launch_cvd flags; a flag given twice takes the last value
# The device's state lives under $HOME/cuttlefish (the image sets HOME=/var/lib/sepia: mount a
# volume there so the overlay, and with it /data, outlives the container).
set -euo pipefail
prog=sepia-container-entrypoint
say() { echo "$prog: $*" >&2; }
die() { echo "$prog: error: $*" >&2; exit 1; }

export CUTTLEFISH_INSTANCE=${CUTTLEFISH_INSTANCE:-1}
listen=${SEPIA_LISTEN_ADDRESS:-0.0.0.0}
webview=${SEPIA_START_WEBVIEW:-true}

if [ ! -e /dev/kvm ]; then
	die "no /dev/kvm in the container: give it the device (podman/docker run --device /dev/kvm; in Kubernetes the resource devices.kubevirt.io/kvm, or the hostPath fallback in packaging/kubernetes/)"
fi
if ! { exec 3<>/dev/kvm; } 2>/dev/null; then
	die "cannot open /dev/kvm: the container may see it but not use it (device cgroup): give it as a device (--device /dev/kvm, or the device plugin's resource devices.kubevirt.io/kvm) rather than a plain bind mount"
fi
exec 3>&-

mkdir -p "$HOME"
case ${SEPIA_POD_NETWORK:-false} in
true | 1 | yes)
	[ -c /dev/net/tun ] || die "SEPIA_POD_NETWORK=true needs /dev/net/tun in the container"
	sepia-host-resources start >&2 ||
		die "sepia-host-resources start failed: SEPIA_POD_NETWORK=true needs the NET_ADMIN capability and /dev/net/tun"
	;;
esac

# The web view checks the Host a browser sends: the container's name, addresses and DNS names
# are its own. In a pod, its name under each DNS search domain and that domain's parents
# (sepia-0.<namespace>.svc.cluster.local, sepia-0.<namespace>.svc, sepia-0.<namespace>): the
# per-device Service has the pod's name. The headless Service's name is hostname -f.
hosts=${SEPIA_WEBVIEW_ALLOWED_HOSTS:-}
name=$(hostname 2>/dev/null || true)
own="$name $(hostname -f 2>/dev/null || true) $(hostname -I 2>/dev/null || true)"
if [ -n "$name" ] && [ -r /etc/resolv.conf ]; then
	for d in $(awk '$1 == "search" { for (i = 2; i <= NF; i++) print $i }' /etc/resolv.conf); do
		while [ -n "$d" ]; do
			own="$own $name.$d"
			case $d in *.*) d=${d%.*} ;; *) d= ;; esac
		done
	done
fi
for h in $own; do
	case ,$hosts, in *,"$h",*) ;; *) hosts=${hosts:+$hosts,}$h ;; esac
done

flags=(--listen_address="$listen")
case $webview in
true | 1 | yes) flags+=(--start_webview --webview_allowed_hosts="$hosts") ;;
esac
# shellcheck disable=SC2206 # SEPIA_LAUNCH_FLAGS is a whitespace-separated list of flags
flags+=(${SEPIA_LAUNCH_FLAGS:-})
say "instance $CUTTLEFISH_INSTANCE: launch_cvd ${flags[*]} $*"
# launch_cvd runs as a child, not in this shell's place: the container ends when this shell
# does, and that kills every process left in it, a preStop `stop_cvd` still waiting for the
# monitor to exit among them (the kubelet then reports the hook as failed, exit 137). So the
# shell passes SIGTERM and SIGINT on, and once the device is down it lets a running stop_cvd
# see that and return (at most 10 s).
launch_cvd "${flags[@]}" "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM
trap 'kill -INT "$pid" 2>/dev/null' INT
# wait returns early (above 128) when a trapped signal arrives: wait again while it runs. bash
# keeps a reaped child's status, so the last wait gives launch_cvd's own.
while kill -0 "$pid" 2>/dev/null; do
	wait "$pid" || true
done
wait "$pid" && status=0 || status=$?
stop_cvd_running() {
	local comm
	for comm in /proc/[0-9]*/comm; do
		[ "$(cat "$comm" 2>/dev/null)" = stop_cvd ] && return 0
	done
	return 1
}
for _ in $(seq 100); do
	stop_cvd_running || break
	sleep 0.1
done
exit "$status"
