#include "net/hostres_link.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>

struct HostresNet {
	struct nl_sock *sock;
};

#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)

HostresNet *hostres_net_open(GError **error)
{
	HostresNet *net = g_new0(HostresNet, 1);
	net->sock = nl_socket_alloc();
	int err = net->sock ? nl_connect(net->sock, NETLINK_ROUTE) : -NLE_NOMEM;
	if (err < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "rtnetlink: %s", nl_geterror(err));
		hostres_net_close(net);
		return NULL;
	}
	return net;
}

void hostres_net_close(HostresNet *net)
{
	if (!net)
		return;
	if (net->sock)
		nl_socket_free(net->sock);
	g_free(net);
}

static gboolean nl_fail(GError **error, int err, const char *name, const char *what)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s: %s", name, what, nl_geterror(err));
	return FALSE;
}

/* The kernel's view of one link, or NULL (and *err 0) when it does not exist. */
static struct rtnl_link *link_lookup(HostresNet *net, const char *name, int *err)
{
	struct rtnl_link *link = NULL;
	*err = rtnl_link_get_kernel(net->sock, 0, name, &link);
	if (*err == -NLE_OBJ_NOTFOUND || *err == -NLE_NODEV)
		*err = 0;
	return *err < 0 ? NULL : link;
}

gboolean hostres_link_get(HostresNet *net, const char *name, HostresLink *out, GError **error)
{
	int err;
	memset(out, 0, sizeof(*out));
	struct rtnl_link *link = link_lookup(net, name, &err);
	if (err < 0)
		return nl_fail(error, err, name, "looking up the interface");
	if (!link)
		return TRUE;
	out->ifindex = rtnl_link_get_ifindex(link);
	out->master = rtnl_link_get_master(link);
	out->up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
	const char *kind = rtnl_link_get_type(link);
	g_strlcpy(out->kind, kind ? kind : "", sizeof(out->kind));
	rtnl_link_put(link);
	return TRUE;
}

gboolean hostres_bridge_ensure(HostresNet *net, const char *name, GError **error)
{
	HostresLink l;
	if (!hostres_link_get(net, name, &l, error))
		return FALSE;
	if (l.ifindex) {
		if (!g_str_equal(l.kind, "bridge")) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
				    "%s: exists and is not a bridge (%s)", name,
				    *l.kind ? l.kind : "unknown kind");
			return FALSE;
		}
		return TRUE;
	}
	int err = rtnl_link_bridge_add(net->sock, name);
	if (err < 0 && err != -NLE_EXIST)
		return nl_fail(error, err, name, "creating the bridge");
	return TRUE;
}

static gboolean link_change(HostresNet *net, const char *name, struct rtnl_link *change, const char *what,
			    GError **error)
{
	int err;
	struct rtnl_link *link = link_lookup(net, name, &err);
	if (!link) {
		if (err == 0)
			err = -NLE_OBJ_NOTFOUND;
		return nl_fail(error, err, name, what);
	}
	err = rtnl_link_change(net->sock, link, change, 0);
	rtnl_link_put(link);
	return err < 0 ? nl_fail(error, err, name, what) : TRUE;
}

gboolean hostres_link_set_up(HostresNet *net, const char *name, GError **error)
{
	struct rtnl_link *change = rtnl_link_alloc();
	rtnl_link_set_flags(change, IFF_UP);
	gboolean ok = link_change(net, name, change, "bringing it up", error);
	rtnl_link_put(change);
	return ok;
}

gboolean hostres_link_enslave(HostresNet *net, const char *name, const char *bridge, GError **error)
{
	HostresLink master;
	if (!hostres_link_get(net, bridge, &master, error))
		return FALSE;
	if (!master.ifindex) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: bridge %s does not exist", name,
			    bridge);
		return FALSE;
	}
	struct rtnl_link *change = rtnl_link_alloc();
	rtnl_link_set_master(change, master.ifindex);
	g_autofree gchar *what = g_strdup_printf("adding it to bridge %s", bridge);
	gboolean ok = link_change(net, name, change, what, error);
	rtnl_link_put(change);
	return ok;
}

gboolean hostres_link_delete(HostresNet *net, const char *name, GError **error)
{
	int err;
	struct rtnl_link *link = link_lookup(net, name, &err);
	if (!link)
		return err < 0 ? nl_fail(error, err, name, "looking up the interface") : TRUE;
	err = rtnl_link_delete(net->sock, link);
	rtnl_link_put(link);
	if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV)
		return nl_fail(error, err, name, "deleting the interface");
	return TRUE;
}

static struct nl_addr *parse_cidr(const char *name, const char *cidr, GError **error)
{
	struct nl_addr *addr = NULL;
	int err = nl_addr_parse(cidr, AF_INET, &addr);
	if (err < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: bad address %s: %s", name,
			    cidr, nl_geterror(err));
		return NULL;
	}
	return addr;
}

gboolean hostres_addr_present(HostresNet *net, const char *name, const char *cidr, gboolean *present,
			      GError **error)
{
	*present = FALSE;
	HostresLink l;
	if (!hostres_link_get(net, name, &l, error))
		return FALSE;
	if (!l.ifindex)
		return TRUE;
	struct nl_addr *want = parse_cidr(name, cidr, error);
	if (!want)
		return FALSE;
	struct nl_cache *cache = NULL;
	int err = rtnl_addr_alloc_cache(net->sock, &cache);
	if (err < 0) {
		nl_addr_put(want);
		return nl_fail(error, err, name, "listing addresses");
	}
	for (struct nl_object *o = nl_cache_get_first(cache); o && !*present; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(a);
		/* nl_addr_cmp compares the prefix length too: 192.168.98.1/16 is not ours. */
		if (rtnl_addr_get_ifindex(a) == l.ifindex && local && nl_addr_cmp(local, want) == 0)
			*present = TRUE;
	}
	nl_cache_free(cache);
	nl_addr_put(want);
	return TRUE;
}

gboolean hostres_addr_ensure(HostresNet *net, const char *name, const char *cidr, GError **error)
{
	gboolean present;
	if (!hostres_addr_present(net, name, cidr, &present, error))
		return FALSE;
	if (present)
		return TRUE;
	HostresLink l;
	if (!hostres_link_get(net, name, &l, error))
		return FALSE;
	if (!l.ifindex) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: does not exist, cannot add %s",
			    name, cidr);
		return FALSE;
	}
	struct nl_addr *local = parse_cidr(name, cidr, error);
	if (!local)
		return FALSE;
	/* The broadcast address is the host part all ones, as `ip addr add ... brd +` sets it. */
	struct nl_addr *brd = nl_addr_clone(local);
	guint32 *bits = nl_addr_get_binary_addr(brd);
	guint plen = nl_addr_get_prefixlen(local);
	if (plen < 32)
		*bits |= g_htonl(0xffffffffu >> plen);
	struct rtnl_addr *addr = rtnl_addr_alloc();
	rtnl_addr_set_ifindex(addr, l.ifindex);
	rtnl_addr_set_local(addr, local);
	rtnl_addr_set_broadcast(addr, brd);
	int err = rtnl_addr_add(net->sock, addr, 0);
	rtnl_addr_put(addr);
	nl_addr_put(brd);
	nl_addr_put(local);
	if (err < 0 && err != -NLE_EXIST) {
		g_autofree gchar *what = g_strdup_printf("adding address %s", cidr);
		return nl_fail(error, err, name, what);
	}
	return TRUE;
}

gboolean hostres_is_tap_name(const char *name)
{
	return strlen(name) == 11 && g_str_has_prefix(name, "cvd-") && strchr("ewm", name[4]) &&
	       g_str_has_prefix(name + 5, "tap-") && g_ascii_isdigit(name[9]) && g_ascii_isdigit(name[10]);
}

GPtrArray *hostres_list_taps(HostresNet *net, GError **error)
{
	struct nl_cache *cache = NULL;
	int err = rtnl_link_alloc_cache(net->sock, AF_UNSPEC, &cache);
	if (err < 0) {
		nl_fail(error, err, "cvd-*tap-*", "listing interfaces");
		return NULL;
	}
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		const char *name = rtnl_link_get_name((struct rtnl_link *)o);
		if (name && hostres_is_tap_name(name))
			g_ptr_array_add(names, g_strdup(name));
	}
	nl_cache_free(cache);
	return names;
}

/* Attaches to (or creates) the TAP; the returned fd holds it until closed. */
static int tap_attach(const char *name, GError **error)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "%s: opening /dev/net/tun: %s", name,
			    g_strerror(e));
		return -1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
	ifr.ifr_flags = TAP_FLAGS;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "%s: TUNSETIFF: %s", name,
			    e == EBUSY ? "in use by a running device" : g_strerror(e));
		return -1;
	}
	return fd;
}

gboolean hostres_tap_ensure(const char *name, gid_t group, GError **error)
{
	g_autoptr(GError) local = NULL;
	int fd = tap_attach(name, &local);
	if (fd < 0) {
		/* A VM holds it: it exists and is in use, which is what start wants. */
		if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_BUSY))
			return TRUE;
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	const char *what = NULL;
	int e = 0;
	if (group != (gid_t)-1 && ioctl(fd, TUNSETGROUP, (unsigned long)group) < 0)
		what = "TUNSETGROUP", e = errno;
	else if (ioctl(fd, TUNSETPERSIST, 1UL) < 0)
		what = "TUNSETPERSIST", e = errno;
	close(fd);
	if (what) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "%s: %s: %s", name, what,
			    g_strerror(e));
		return FALSE;
	}
	return TRUE;
}

static gboolean read_sys(const char *name, const char *attr, guint64 *value, GError **error)
{
	g_autofree gchar *path = g_strdup_printf("/sys/class/net/%s/%s", name, attr);
	g_autofree gchar *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no %s (not a TAP)", name, attr);
		return FALSE;
	}
	g_strstrip(text);
	gint64 v = g_ascii_strtoll(text, NULL, 0); /* tun_flags is "0x5002"; group is "-1" when none */
	*value = (guint64)v;
	return TRUE;
}

gboolean hostres_tap_check(const char *name, gid_t group, GError **error)
{
	guint64 flags, gid;
	if (!read_sys(name, "tun_flags", &flags, error))
		return FALSE;
	if ((flags & TAP_FLAGS) != TAP_FLAGS || !(flags & IFF_PERSIST)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: tun_flags 0x%" G_GINT64_MODIFIER "x lack tap/no_pi/vnet_hdr/persist", name,
			    flags);
		return FALSE;
	}
	if (group != (gid_t)-1) {
		if (!read_sys(name, "group", &gid, error))
			return FALSE;
		if ((gid_t)gid != group) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: owner group %d, not %u",
				    name, (int)(gint64)gid, (unsigned)group);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean hostres_tap_remove(HostresNet *net, const char *name, GError **error)
{
	HostresLink l;
	if (!hostres_link_get(net, name, &l, error))
		return FALSE;
	if (!l.ifindex)
		return TRUE;
	g_autoptr(GError) local = NULL;
	int fd = tap_attach(name, &local);
	if (fd >= 0) {
		/* Not persistent any more: the TAP goes away when this last holder closes it. */
		int rc = ioctl(fd, TUNSETPERSIST, 0UL);
		int e = errno;
		close(fd);
		if (rc < 0) {
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "%s: TUNSETPERSIST off: %s",
				    name, g_strerror(e));
			return FALSE;
		}
		return TRUE;
	}
	/* Held by a VM (or not a TAP with our flags): delete the link itself. */
	return hostres_link_delete(net, name, error);
}
