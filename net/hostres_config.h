/* sepia-host-resources settings: /etc/default/sepia-host-resources, shell-style KEY=value. */
#pragma once
#include <gio/gio.h>

#define HOSTRES_MAX_ACCOUNTS 64 /* cvd-mtap-NN /30s fill 192.168.97.0/24 at N = 64 */

typedef struct {
	guint num_accounts;       /* num_cvd_accounts: accounts 1..N get their TAPs */
	gboolean ethernet_bridge; /* ethernet_bridge: cvd-ebr + cvd-etap-NN */
	gboolean wifi_bridge;     /* wifi_bridge: cvd-wbr + cvd-wtap-NN */
	gchar **dns_servers;      /* dns_servers: where the bridges' dnsmasq forwards queries */
	gchar *bridge_interface;  /* bridge_interface: an existing bridge used instead of cvd-ebr, or NULL */
	gchar *tap_group;         /* cvd_group: the TAPs' owner group when it exists */
} HostresConfig;

void hostres_config_init(HostresConfig *config);
void hostres_config_clear(HostresConfig *config);
/* Reads path over the defaults. A missing file is an error only when must_exist. */
gboolean hostres_config_load(HostresConfig *config, const char *path, gboolean must_exist, GError **error);
/* Parses one file's text (path is only for messages). */
gboolean hostres_config_parse(HostresConfig *config, const char *text, const char *path, GError **error);
