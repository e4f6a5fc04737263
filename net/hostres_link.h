/* Links, addresses and TAPs for sepia-host-resources: rtnetlink through libnl-route-3 and
 * /dev/net/tun ioctls; nothing here runs `ip`. */
#pragma once
#include <gio/gio.h>
#include <sys/types.h>

typedef struct HostresNet HostresNet;

HostresNet *hostres_net_open(GError **error);
void hostres_net_close(HostresNet *net);

/* What is known about one interface; ifindex 0 when it does not exist. */
typedef struct {
	int ifindex;
	int master; /* ifindex of its bridge, 0 if none */
	gboolean up;
	gchar kind[16]; /* "bridge", "tun", "veth", ... ("" when the kernel did not say) */
} HostresLink;

gboolean hostres_link_get(HostresNet *net, const char *name, HostresLink *out, GError **error);
gboolean hostres_bridge_ensure(HostresNet *net, const char *name, GError **error);
gboolean hostres_link_set_up(HostresNet *net, const char *name, GError **error);
gboolean hostres_link_enslave(HostresNet *net, const char *name, const char *bridge, GError **error);
/* Deleting a link that is not there is success. */
gboolean hostres_link_delete(HostresNet *net, const char *name, GError **error);
/* cidr is "a.b.c.d/len"; adding an address that is there is success. */
gboolean hostres_addr_ensure(HostresNet *net, const char *name, const char *cidr, GError **error);
gboolean hostres_addr_present(HostresNet *net, const char *name, const char *cidr, gboolean *present,
			      GError **error);
/* Every interface whose name fits sepia's TAP names (cvd-etap-NN, cvd-wtap-NN, cvd-mtap-NN). */
GPtrArray *hostres_list_taps(HostresNet *net, GError **error);

/* A persistent TAP with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, owned by group when group != (gid_t)-1.
 * A TAP that a VM holds open is left as it is. */
gboolean hostres_tap_ensure(const char *name, gid_t group, GError **error);
/* Reads /sys/class/net/NAME/tun_flags and owner group: FALSE with a reason when not a TAP. */
gboolean hostres_tap_check(const char *name, gid_t group, GError **error);
gboolean hostres_tap_remove(HostresNet *net, const char *name, GError **error);
gboolean hostres_is_tap_name(const char *name);
