/* sepia guest init: network interfaces from the `sepia.net=` options. Static
 * addresses are set with the classic ioctls, from init itself: no process to start
 * (exec is costly on hosts that interpret guest kernel code); DHCP is busybox's
 * udhcpc, which init runs as a service (init.c). */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int net_spec_parse(const char *text, struct net_spec *spec)
{
	char buf[128];
	char *colon, *slash, *comma, *end;
	unsigned long prefix;

	memset(spec, 0, sizeof(*spec));
	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", text);
	colon = strchr(buf, ':');
	if (colon == NULL || colon == buf || (size_t)(colon - buf) >= IFNAMSIZ)
		return -EINVAL;
	memcpy(spec->ifname, buf, (size_t)(colon - buf)); /* fits: checked above */
	*colon++ = '\0';
	if (strcmp(colon, "dhcp") == 0) {
		spec->dhcp = true;
		return 0;
	}
	comma = strchr(colon, ',');
	if (comma != NULL) {
		*comma++ = '\0';
		if (strncmp(comma, "gw=", 3) != 0 || inet_pton(AF_INET, comma + 3, &spec->gateway) != 1)
			return -EINVAL;
		spec->has_gateway = true;
	}
	slash = strchr(colon, '/');
	if (slash == NULL)
		return -EINVAL;
	*slash++ = '\0';
	prefix = strtoul(slash, &end, 10);
	if (*slash == '\0' || *end != '\0' || prefix > 32 || inet_pton(AF_INET, colon, &spec->addr) != 1)
		return -EINVAL;
	spec->prefix = (unsigned int)prefix;
	return 0;
}

static void set_sockaddr(struct sockaddr *sa, in_addr_t addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = addr };
	memcpy(sa, &sin, sizeof(sin));
}

static int set_flags_up(int fd, const char *ifname)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(fd, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

int net_link_up(const char *ifname)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -errno;
	err = set_flags_up(fd, ifname);
	close(fd);
	return err;
}

static int configure(int fd, const struct net_spec *spec, const char **what)
{
	in_addr_t mask = spec->prefix ? htonl(~0u << (32 - spec->prefix)) : 0;
	struct ifreq ifr;
	struct rtentry rt;
	int err;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", spec->ifname);
	*what = "address";
	set_sockaddr(&ifr.ifr_addr, spec->addr.s_addr);
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0)
		return -errno;
	*what = "netmask";
	set_sockaddr(&ifr.ifr_netmask, mask);
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0)
		return -errno;
	*what = "broadcast address";
	set_sockaddr(&ifr.ifr_broadaddr, spec->addr.s_addr | ~mask);
	if (spec->prefix < 31 && ioctl(fd, SIOCSIFBRDADDR, &ifr) < 0)
		return -errno;
	*what = "link";
	if ((err = set_flags_up(fd, spec->ifname)) < 0)
		return err;
	if (!spec->has_gateway)
		return 0;
	*what = "default route";
	memset(&rt, 0, sizeof(rt));
	set_sockaddr(&rt.rt_dst, INADDR_ANY);
	set_sockaddr(&rt.rt_genmask, INADDR_ANY);
	set_sockaddr(&rt.rt_gateway, spec->gateway.s_addr);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = (char *)spec->ifname;
	return ioctl(fd, SIOCADDRT, &rt) < 0 ? -errno : 0;
}

int net_configure_static(const struct net_spec *spec, const char **what)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err;

	*what = "socket";
	if (fd < 0)
		return -errno;
	err = configure(fd, spec, what);
	close(fd);
	return err;
}
