#!/bin/bash
# End to end: sepia-host-resources start|status|stop inside a network namespace this test makes
# (and always deletes): bridges, TAPs (flags, owner group, bridge), addresses, dnsmasq with its pid
# file, the nftables table, forwarding; start twice; a DHCP lease for a client in a second namespace
# joined to cvd-ebr by a veth; stop leaves nothing. The host's own interfaces are only read.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$top_builddir
skip() { echo "1..0 # SKIP $1"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for t in ip dnsmasq nft; do
	command -v $t >/dev/null 2>&1 || [ -x /usr/sbin/$t ] || skip "$t not installed (scripts/install-deps.sh)"
done
export PATH=$PATH:/usr/sbin:/sbin
[ -x "$B/sepia-host-resources" ] || skip "sepia-host-resources not built"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

ns=sepia-hr-$$
client=sepia-hr-client-$$
work=$(mktemp -d /tmp/sepia-host-resources.XXXXXX)
cleanup() {
	# dnsmasq lives in the namespace: end it by its pid files before the namespace goes.
	for f in "$work"/run/dnsmasq-*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
	ip netns del "$client" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns" || skip "cannot create a network namespace"
ip netns add "$client" || skip "cannot create a second network namespace"
in_ns() { ip netns exec "$ns" "$@"; }
hr() { in_ns "$B/sepia-host-resources" --config "$work/config" --run_dir "$work/run" "$@"; }

n=0
check() { n=$((n + 1)); if eval "$1"; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
note() { sed 's/^/# /' "$@"; }

# The TAPs' owner group: cvdnetwork when the packages made it, else an ordinary existing group.
group=cvdnetwork
getent group "$group" >/dev/null || group=users
getent group "$group" >/dev/null || group=nogroup
gid=$(getent group "$group" | cut -d: -f3)
accounts=3
cat > "$work/config" <<CFG
# sepia-host-resources test settings
num_cvd_accounts=$accounts
ethernet_bridge=1
wifi_bridge=yes
dns_servers="192.0.2.53, 198.51.100.53"
cvd_group=$group
CFG
host_links_before=$(ip -o link show | awk -F': ' '{print $2}' | sort | tr '\n' ' ')
in_ns sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward'

# ---- usage and settings errors
hr bogus > /dev/null 2> "$work/usage.err"; rc=$?
check "[ $rc = 2 ] && grep -q 'start|stop|status' '$work/usage.err'" "an unknown command is a usage error"
echo 'num_cvd_accounts=lots' > "$work/bad"
in_ns "$B/sepia-host-resources" --config "$work/bad" --run_dir "$work/run" start 2> "$work/bad.err"; rc=$?
check "[ $rc = 2 ] && grep -q \"$work/bad line 1: num_cvd_accounts: 'lots'\" '$work/bad.err'" "a bad setting is refused naming the file, line and key"
check "[ -z \"\$(in_ns ip -o link show | grep cvd-)\" ]" "a refused start made nothing"

# ---- start
s=$(date +%s%N)
hr start > "$work/start.out" 2>&1; rc=$?
echo "# start took $(( ($(date +%s%N) - s) / 1000000 )) ms"
note "$work/start.out"
check "[ $rc = 0 ]" "start exits 0"
link() { in_ns ip -d link show "$1" 2>/dev/null; }
addr() { in_ns ip -4 -o addr show dev "$1" 2>/dev/null | awk '{print $4}' | tr '\n' ' '; }
check "link cvd-ebr | grep -q 'bridge ' && [ \"\$(addr cvd-ebr)\" = '192.168.98.1/24 ' ]" "cvd-ebr: a bridge with 192.168.98.1/24"
check "link cvd-wbr | grep -q 'bridge ' && [ \"\$(addr cvd-wbr)\" = '192.168.96.1/24 ' ]" "cvd-wbr: a bridge with 192.168.96.1/24"
check "link cvd-ebr | grep -q ',UP' && link cvd-wbr | grep -q ',UP'" "the bridges are up"
tap_ok() { # name [master]
	local d; d=$(link "$1") || return 1
	echo "$d" | grep -q "tun type tap pi off vnet_hdr on persist on group $group" || return 1
	echo "$d" | head -1 | grep -q ',UP' || return 1
	[ $(( $(in_ns cat /sys/class/net/$1/tun_flags) & 0x5802 )) = $((0x5802)) ] || return 1  # tap|no_pi|vnet_hdr|persist
	[ "$(in_ns cat /sys/class/net/$1/group)" = "$gid" ] || return 1
	if [ -n "${2:-}" ]; then echo "$d" | head -1 | grep -q "master $2 " || return 1; fi
	return 0
}
for i in $(seq 1 $accounts); do
	nn=$(printf %02d "$i")
	check "tap_ok cvd-etap-$nn cvd-ebr" "cvd-etap-$nn: persistent tap, vnet_hdr, group $group, up, in cvd-ebr"
	check "tap_ok cvd-wtap-$nn cvd-wbr" "cvd-wtap-$nn: persistent tap, vnet_hdr, group $group, up, in cvd-wbr"
	check "tap_ok cvd-mtap-$nn && [ \"\$(addr cvd-mtap-$nn)\" = '192.168.97.$((4 * i - 3))/30 ' ] && ! link cvd-mtap-$nn | grep -q master" \
		"cvd-mtap-$nn: persistent tap, 192.168.97.$((4 * i - 3))/30, in no bridge"
done
check "[ -z \"\$(in_ns ip -o link show | grep -o 'cvd-[ewm]tap-04')\" ]" "no TAPs past num_cvd_accounts"
dnsmasq_ok() { # bridge
	local pid; pid=$(cat "$work/run/dnsmasq-$1.pid" 2>/dev/null) || return 1
	[ "$(cat /proc/$pid/comm 2>/dev/null)" = dnsmasq ] || return 1
	tr '\0' ' ' < /proc/$pid/cmdline | grep -q -- "--interface=$1 .*--server=192.0.2.53 --server=198.51.100.53" || return 1
	# It runs inside the test's namespace, not the host's.
	[ "$(readlink /proc/$pid/ns/net)" = "$(in_ns readlink /proc/self/ns/net)" ]
}
check "dnsmasq_ok cvd-ebr" "dnsmasq for cvd-ebr runs, pid file $work/run/dnsmasq-cvd-ebr.pid, forwarding DNS to the configured servers"
check "dnsmasq_ok cvd-wbr" "dnsmasq for cvd-wbr runs with its pid file"
check "in_ns ss -lnup 2>/dev/null | grep -q '192.168.98.1:53 ' && in_ns ss -lnup | grep -q '0.0.0.0%cvd-ebr:67 '" "dnsmasq for cvd-ebr answers DNS on 192.168.98.1 and DHCP on cvd-ebr"
in_ns nft list table ip sepia > "$work/nft.out" 2>&1
check "grep -q 'type nat hook postrouting' '$work/nft.out' && grep -q 'ip saddr 192.168.96.0/22 oifname != \"cvd-\\*\" masquerade' '$work/nft.out'" "nft table ip sepia masquerades 192.168.96.0/22 out of non-cvd interfaces"
check "[ \"\$(in_ns cat /proc/sys/net/ipv4/ip_forward)\" = 1 ]" "ipv4 forwarding on (in the namespace)"
hr status > "$work/status.out"; rc=$?
check "[ $rc = 0 ] && grep -q '^$((3 * accounts + 6)) present, 0 missing' '$work/status.out'" "status exits 0 with every item present"
note "$work/status.out"

# ---- start again: harmless
# (carrier comes and goes on a bridge without active ports: not part of the state compared)
state() { in_ns ip -o link show | grep cvd- | sed 's/ state [A-Z]*//; s/NO-CARRIER,//'; in_ns ip -4 -o addr show | grep cvd- | awk '{print $2, $4}'; cat "$work"/run/*.pid; }
state > "$work/state1"
hr start > "$work/start2.out" 2>&1; rc=$?
state > "$work/state2"
check "[ $rc = 0 ] && [ ! -s '$work/start2.out' ]" "start again exits 0, quietly"
diff "$work/state1" "$work/state2" | note
check "cmp -s '$work/state1' '$work/state2'" "start again changes no link, address or dnsmasq"
check "[ \$(in_ns nft list tables | grep -c sepia) = 1 ] && [ \$(in_ns nft list table ip sepia | grep -c masquerade) = 1 ]" "start again leaves one table with one rule"
check "[ \$(pgrep -f -- '--pid-file=$work/run/' | wc -l) = 2 ]" "still exactly two dnsmasq"

# ---- a dnsmasq that died: status names it, start brings it back; it runs unprivileged
wpid=$(cat "$work/run/dnsmasq-cvd-wbr.pid")
wuser=$(ps -o user= -p "$wpid")
check "[ -n '$wuser' ] && [ '$wuser' != root ]" "dnsmasq dropped root (runs as $wuser)"
kill "$wpid"; for i in $(seq 1 50); do kill -0 "$wpid" 2>/dev/null || break; sleep 0.1; done
hr status > "$work/status3.out"; rc=$?
check "[ $rc = 1 ] && grep -q '^missing  dnsmasq for cvd-wbr: pid $wpid from .* is not running' '$work/status3.out' && grep -q '^$((3 * accounts + 5)) present, 1 missing' '$work/status3.out'" "status after dnsmasq for cvd-wbr died exits 1 naming it alone"
hr start > /dev/null 2>&1; rc=$?
check "[ $rc = 0 ] && dnsmasq_ok cvd-wbr && [ \"\$(cat '$work/run/dnsmasq-cvd-wbr.pid')\" != $wpid ] && hr status > /dev/null" "start brings it back, everything present again"

# ---- DHCP: a client namespace joined to cvd-ebr through a veth
if command -v busybox >/dev/null 2>&1 && busybox udhcpc --help >/dev/null 2>&1; then
	ip link add sepia-hr-v$$ type veth peer name sepia-hr-c$$ &&
	ip link set sepia-hr-v$$ netns "$ns" && ip link set sepia-hr-c$$ netns "$client" &&
	in_ns ip link set sepia-hr-v$$ master cvd-ebr up &&
	ip netns exec "$client" ip link set sepia-hr-c$$ up
	mac=$(ip netns exec "$client" cat /sys/class/net/sepia-hr-c$$/address)
	ip netns exec "$client" busybox udhcpc -i sepia-hr-c$$ -q -n -t 5 -T 2 -s /bin/true > "$work/udhcpc.out" 2>&1; rc=$?
	note "$work/udhcpc.out"
	for i in 1 2 3 4 5; do grep -q "$mac" "$work/run/dnsmasq-cvd-ebr.leases" && break; sleep 1; done
	note "$work/run/dnsmasq-cvd-ebr.leases"
	check "[ $rc = 0 ] && grep -q 'lease of 192.168.98.' '$work/udhcpc.out'" "a DHCP client on cvd-ebr gets an address in 192.168.98.0/24"
	check "grep -q \"$mac 192.168.98.\" '$work/run/dnsmasq-cvd-ebr.leases'" "the lease is in $work/run/dnsmasq-cvd-ebr.leases"
	in_ns ip link del sepia-hr-v$$
else
	n=$((n + 1)); echo "ok $n # SKIP busybox udhcpc not installed"
	n=$((n + 1)); echo "ok $n # SKIP busybox udhcpc not installed"
fi

# ---- stop: nothing of it is left
pids=$(cat "$work"/run/dnsmasq-*.pid | tr '\n' ' ')
hr stop > "$work/stop.out" 2>&1; rc=$?
note "$work/stop.out"
check "[ $rc = 0 ]" "stop exits 0"
check "[ -z \"\$(in_ns ip -o link show | grep cvd-)\" ]" "no cvd-* link left"
check "for p in $pids; do [ \"\$(cat /proc/\$p/comm 2>/dev/null)\" != dnsmasq ] || exit 1; done" "the dnsmasq processes are gone"
check "[ -z \"\$(ls '$work/run')\" ]" "no pid, lease or state file left in the run dir"
check "! in_ns nft list table ip sepia >/dev/null 2>&1" "the nft table is gone"
check "[ \"\$(in_ns cat /proc/sys/net/ipv4/ip_forward)\" = 0 ]" "forwarding is back off, as it was before start"
hr status > "$work/status2.out"; rc=$?
note "$work/status2.out"
check "[ $rc = 1 ] && grep -q '^missing  bridge cvd-ebr 192.168.98.1/24: does not exist' '$work/status2.out' && grep -q '^missing  tap cvd-mtap-03 192.168.97.9/30' '$work/status2.out' && grep -q '^0 present, $((3 * accounts + 6)) missing' '$work/status2.out'" "status after stop exits 1, listing each missing item"
hr stop > "$work/stop2.out" 2>&1; rc=$?
check "[ $rc = 0 ]" "stop again exits 0"

# ---- an existing bridge instead of cvd-ebr, no wifi
in_ns ip link add sepia-br0 type bridge
printf 'num_cvd_accounts=1\nwifi_bridge=off\nbridge_interface=sepia-br0\ncvd_group=%s\n' "$group" > "$work/config"
hr start > "$work/start3.out" 2>&1; rc=$?
check "[ $rc = 0 ] && tap_ok cvd-etap-01 sepia-br0 && ! link cvd-ebr && ! link cvd-wbr && ! link cvd-wtap-01" "bridge_interface: the ethernet TAPs join the existing bridge; no cvd-ebr, no wifi"
hr stop > /dev/null 2>&1
check "link sepia-br0 >/dev/null && [ -z \"\$(in_ns ip -o link show | grep cvd-)\" ]" "stop keeps the existing bridge"

host_links_after=$(ip -o link show | awk -F': ' '{print $2}' | sort | tr '\n' ' ')
check "[ \"$host_links_before\" = \"\$host_links_after\" ]" "the host's own interfaces are unchanged"
echo "1..$n"
