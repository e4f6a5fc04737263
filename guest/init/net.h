/* sepia guest init: network interfaces from the `sepia.net=` options. */
#pragma once

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>

#define UDHCPC_PATH   "/sbin/udhcpc"
#define UDHCPC_SCRIPT "/usr/share/udhcpc/default.script"

/* IFACE:dhcp, or IFACE:ADDR/PREFIX[,gw=GATEWAY] (IPv4). */
struct net_spec {
	char ifname[IFNAMSIZ];
	bool dhcp;
	struct in_addr addr;
	unsigned int prefix;
	bool has_gateway;
	struct in_addr gateway;
};

/* Fills *spec from text; returns 0 or -EINVAL. */
int net_spec_parse(const char *text, struct net_spec *spec);

/* Brings ifname up; returns 0 or -errno. */
int net_link_up(const char *ifname);

/* Gives the interface its address and netmask, brings it up and adds the default
 * route through the gateway, if any. Returns 0 or -errno (*what names the step). */
int net_configure_static(const struct net_spec *spec, const char **what);
