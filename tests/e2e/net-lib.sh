# Shared by tests/e2e/virtio-net.sh and bench/net.sh (sourced): a private network
# namespace that stands in for the host's Cuttlefish networking, so nothing touches
# the machine's own interfaces:
#   cvd-ebr      bridge 192.168.98.1/24, dnsmasq serving DHCP on it (lease file in $work)
#   cvd-etap-01  TAP (vnet_hdr) enslaved to cvd-ebr: the guest's eth0
#   cvd-mtap-01  TAP (vnet_hdr) 192.168.97.1/30: the guest's eth1 (static 192.168.97.2)
# Needs $ns and $work. netns_down kills what netns_up started and deletes the namespace.
nsx() { ip netns exec "$ns" "$@"; }

netns_up() {
	ip netns add "$ns" || return 1
	nsx ip link set lo up &&
	nsx ip link add cvd-ebr type bridge &&
	nsx ip addr add 192.168.98.1/24 dev cvd-ebr &&
	nsx ip link set cvd-ebr up &&
	nsx ip tuntap add dev cvd-etap-01 mode tap vnet_hdr &&
	nsx ip link set cvd-etap-01 master cvd-ebr &&
	nsx ip link set cvd-etap-01 up &&
	nsx ip tuntap add dev cvd-mtap-01 mode tap vnet_hdr &&
	nsx ip addr add 192.168.97.1/30 dev cvd-mtap-01 &&
	nsx ip link set cvd-mtap-01 up || return 1
	# Started with ip netns exec itself (it execs the command): $! is the daemon's pid.
	ip netns exec "$ns" dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --port=0 \
		--interface=cvd-ebr --bind-interfaces --dhcp-range=192.168.98.10,192.168.98.50,255.255.255.0,1h \
		--dhcp-option=option:dns-server,192.168.98.1 --dhcp-leasefile="$work/leases" \
		--pid-file= --log-dhcp --log-facility="$work/dnsmasq.log" &
	echo $! >> "$work/pids"
}

# net_server UP_BYTES DOWN_BYTES BENCH_BYTES: tests/e2e/net-server.py in the namespace.
net_server() {
	ip netns exec "$ns" python3 "$net_lib_dir/net-server.py" "$work" "$@" 2> "$work/server.log" &
	echo $! >> "$work/pids"
	for _ in $(seq 100); do [ -e "$work/server.ready" ] && return 0; sleep 0.1; done
	return 1
}

netns_down() {
	if [ -s "$work/pids" ]; then
		kill $(cat "$work/pids") 2>/dev/null
		sleep 0.3
		kill -9 $(cat "$work/pids") 2>/dev/null
	fi
	ip netns del "$ns" 2>/dev/null
}

# wait_for FILE TEXT SECONDS [PID]: until TEXT is in FILE (false on timeout or when PID ends).
wait_for() {
	_end=$(( $(date +%s) + $3 ))
	while ! grep -q "$2" "$1" 2>/dev/null; do
		[ "$(date +%s)" -lt "$_end" ] || return 1
		[ -z "${4:-}" ] || kill -0 "$4" 2>/dev/null || return 1
		sleep 0.5
	done
}
