/* The services behind sepia's bridges: one dnsmasq per bridge, NAT through an nftables table of
 * sepia's own (`table ip sepia`, made with the nft command), and IPv4 forwarding. */
#pragma once
#include <gio/gio.h>

/* dnsmasq for bridge (host address prefix24 ".1"), pid and lease files in run_dir. */
gboolean hostres_dnsmasq_start(const char *bridge, const char *prefix24, gchar **dns_servers,
			       const char *run_dir, GError **error);
/* The pid of the bridge's running dnsmasq (from its pid file), 0 with a reason when none. */
int hostres_dnsmasq_pid(const char *bridge, const char *run_dir, GError **error);
gboolean hostres_dnsmasq_stop(const char *bridge, const char *run_dir, GError **error);
gchar *hostres_dnsmasq_pid_file(const char *bridge, const char *run_dir);
gchar *hostres_dnsmasq_lease_file(const char *bridge, const char *run_dir);

/* The ruleset `start` loads (exposed for the unit test). */
gchar *hostres_nat_ruleset(void);
gboolean hostres_nat_start(GError **error);
gboolean hostres_nat_present(gboolean *present, GError **error);
gboolean hostres_nat_stop(GError **error);

/* Turns net.ipv4.ip_forward on, remembering in run_dir that it was off; stop puts it back. */
gboolean hostres_forwarding_start(const char *run_dir, GError **error);
gboolean hostres_forwarding_on(gboolean *on, GError **error);
gboolean hostres_forwarding_stop(const char *run_dir, GError **error);
