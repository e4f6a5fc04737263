#!/bin/bash
# End to end: launch_cvd with host networking, all inside a network namespace this test makes
# (nothing touches the machine's own interfaces). sepia-host-resources makes the bridges, TAPs
# and dnsmasq there; launch_cvd --daemon, run in the namespace, attaches cvd-1 to cvd-etap-01
# (DHCP from dnsmasq) and cvd-mtap-01 (192.168.97.2/30); the host side then reaches the guest
# on both, and the guest the host.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$top_builddir
skip() { echo "1..0 # SKIP $1"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, TAP devices)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no access to /dev/kvm"
[ -c /dev/net/tun ] || skip "no /dev/net/tun (the tun module is not loaded)"
for t in ip dnsmasq nft; do command -v $t >/dev/null || skip "$t not found"; done
for p in launch_cvd stop_cvd sepia-host-resources; do [ -x "$B/$p" ] || skip "$p not built"; done
[ -r "$B/guest/out/android/boot.img" ] || skip "no reference guest images (make guest-android)"
ping_cmd() { if command -v ping >/dev/null; then ping "$@"; else busybox ping "$@"; fi; }

work=$(mktemp -d /tmp/sepia-launch-net.XXXXXX)
ns=sepia-lnet-$$
in_ns() { ip netns exec "$ns" "$@"; }
cleanup() {
	in_ns env HOME="$work/home" "$B/stop_cvd" --wait_for_launcher=20 >/dev/null 2>&1
	# The adb server the monitor's `adb connect` started in the namespace.
	in_ns env HOME="$work/home" adb kill-server >/dev/null 2>&1
	in_ns "$B/sepia-host-resources" --config "$work/config" --run_dir "$work/run" stop >/dev/null 2>&1
	for f in "$work"/run/dnsmasq-*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns" || skip "cannot create a network namespace"
in_ns ip link set lo up
group=cvdnetwork
getent group "$group" >/dev/null || group=users
printf 'num_cvd_accounts=1\nwifi_bridge=off\ncvd_group=%s\n' "$group" > "$work/config"
n=0
check() { n=$((n + 1)); if eval "$1"; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
note() { sed 's/^/# /' "$@"; }

in_ns "$B/sepia-host-resources" --config "$work/config" --run_dir "$work/run" start > "$work/hr.out" 2>&1
check "[ $? = 0 ] && in_ns ip link show cvd-etap-01 >/dev/null && in_ns ip link show cvd-mtap-01 >/dev/null" \
	"sepia-host-resources makes cvd-etap-01 and cvd-mtap-01 in the namespace"
mkdir -p "$work/home"
in_ns env HOME="$work/home" "$B/launch_cvd" --daemon --memory_mb=512 --blank_data_image_mb=64 > "$work/launch.out" 2> "$work/launch.err"
rc=$?
inst=$work/home/cuttlefish/instances/cvd-1
check "[ $rc = 0 ]" "launch_cvd --daemon boots cvd-1 in the namespace"
[ $rc = 0 ] || { note "$work/launch.err"; note "$inst/logs/launcher.log"; }
check "grep -q 'networking: tap=cvd-etap-01,mac=52:54:00:01:00:01, tap=cvd-mtap-01' '$inst/logs/launcher.log'" \
	"the monitor attaches cvd-etap-01 and cvd-mtap-01"
lease=$work/run/dnsmasq-cvd-ebr.leases
for i in $(seq 1 60); do grep -q '52:54:00:01:00:01' "$lease" 2>/dev/null && break; sleep 1; done
note "$lease"
check "grep -q '52:54:00:01:00:01 192.168.98.' '$lease'" "the guest's DHCP lease from sepia's dnsmasq is in the lease file"
ip4=$(awk '/52:54:00:01:00:01/ {print $3}' "$lease" | tail -1)
ok=1; for i in $(seq 1 30); do in_ns sh -c "$(declare -f ping_cmd); ping_cmd -c 1 -W 2 ${ip4:-192.168.98.254}" >/dev/null 2>&1 && { ok=0; break; }; sleep 1; done
check "[ $ok = 0 ]" "the host side pings the guest's leased address ${ip4:-none}"
in_ns sh -c "$(declare -f ping_cmd); ping_cmd -c 2 -W 3 192.168.97.2" > "$work/ping-m" 2>&1
check "[ $? = 0 ]" "the host side pings the guest's mobile address 192.168.97.2"
in_ns env HOME="$work/home" "$B/stop_cvd" > /dev/null 2>&1
check "[ $? = 0 ] && [ -z \"\$(pgrep -f '$work/home/cuttlefish')\" ]" "stop_cvd stops it; nothing of it is left"
in_ns "$B/sepia-host-resources" --config "$work/config" --run_dir "$work/run" stop > /dev/null 2>&1
check "! in_ns ip link show cvd-etap-01 >/dev/null 2>&1" "sepia-host-resources stop removes the TAPs (none is held)"
echo "1..$n"
