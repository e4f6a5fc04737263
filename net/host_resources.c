/* sepia-host-resources start|stop|status: the host side of sepia's networking, what Cuttlefish's
 * cuttlefish-host-resources service prepares. Per account N (1..num_cvd_accounts):
 *   cvd-etap-NN  in bridge cvd-ebr (192.168.98.1/24, DHCP by dnsmasq)  ethernet
 *   cvd-wtap-NN  in bridge cvd-wbr (192.168.96.1/24, DHCP by dnsmasq)  wifi
 *   cvd-mtap-NN  own /30 in 192.168.97.0/24: host .4N-3, guest .4N-2  mobile
 * plus IPv4 forwarding and NAT (nftables `table ip sepia`) out of any non-cvd interface.
 * `start` makes what is missing, `stop` removes what start makes, `status` lists both. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "net/hostres_config.h"
#include "net/hostres_link.h"
#include "net/hostres_services.h"

#ifndef SEPIA_SYSCONFDIR
#define SEPIA_SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG  SEPIA_SYSCONFDIR "/default/sepia-host-resources"
#define DEFAULT_RUN_DIR "/run/sepia"

typedef struct {
	const char *name;   /* cvd-ebr, cvd-wbr */
	const char *prefix; /* the /24 without its last byte */
	char tap;           /* 'e' or 'w' */
} Bridge;

static const Bridge ETHERNET = { "cvd-ebr", "192.168.98", 'e' };
static const Bridge WIFI = { "cvd-wbr", "192.168.96", 'w' };

typedef struct {
	HostresConfig config;
	HostresNet *net;
	const char *run_dir;
	gid_t group; /* the TAPs' owner group, (gid_t)-1 when it does not exist */
	guint present, missing;
} Hostres;

static gchar *tap_name(char kind, guint n) { return g_strdup_printf("cvd-%ctap-%02u", kind, n); }

static gchar *mtap_cidr(guint n) { return g_strdup_printf("192.168.97.%u/30", 4 * n - 3); }

/* The bridge the ethernet TAPs join: the configured one, else cvd-ebr. */
static const char *ethernet_master(Hostres *h)
{
	return h->config.bridge_interface ? h->config.bridge_interface : ETHERNET.name;
}

/* ---- start */

static gboolean start_bridge(Hostres *h, const Bridge *b, GError **error)
{
	g_autofree gchar *cidr = g_strdup_printf("%s.1/24", b->prefix);
	return hostres_bridge_ensure(h->net, b->name, error) &&
	       hostres_addr_ensure(h->net, b->name, cidr, error) &&
	       hostres_link_set_up(h->net, b->name, error) &&
	       hostres_dnsmasq_start(b->name, b->prefix, h->config.dns_servers, h->run_dir, error);
}

static gboolean start_tap(Hostres *h, char kind, guint n, const char *master, GError **error)
{
	g_autofree gchar *name = tap_name(kind, n);
	if (!hostres_tap_ensure(name, h->group, error))
		return FALSE;
	if (master && !hostres_link_enslave(h->net, name, master, error))
		return FALSE;
	if (kind == 'm') {
		g_autofree gchar *cidr = mtap_cidr(n);
		if (!hostres_addr_ensure(h->net, name, cidr, error))
			return FALSE;
	}
	return hostres_link_set_up(h->net, name, error);
}

static gboolean hostres_start(Hostres *h, GError **error)
{
	if (g_mkdir_with_parents(h->run_dir, 0755) < 0) {
		int e = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "run dir %s: %s", h->run_dir,
			    g_strerror(e));
		return FALSE;
	}
	if (!hostres_forwarding_start(h->run_dir, error))
		return FALSE;
	if (h->config.ethernet_bridge) {
		if (h->config.bridge_interface) {
			HostresLink l;
			if (!hostres_link_get(h->net, h->config.bridge_interface, &l, error))
				return FALSE;
			if (!l.ifindex || !g_str_equal(l.kind, "bridge")) {
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
					    "%s: bridge_interface names no existing bridge",
					    h->config.bridge_interface);
				return FALSE;
			}
		} else if (!start_bridge(h, &ETHERNET, error)) {
			return FALSE;
		}
	}
	if (h->config.wifi_bridge && !start_bridge(h, &WIFI, error))
		return FALSE;
	for (guint n = 1; n <= h->config.num_accounts; n++) {
		if (h->config.ethernet_bridge && !start_tap(h, 'e', n, ethernet_master(h), error))
			return FALSE;
		if (h->config.wifi_bridge && !start_tap(h, 'w', n, WIFI.name, error))
			return FALSE;
		if (!start_tap(h, 'm', n, NULL, error))
			return FALSE;
	}
	return hostres_nat_start(error);
}

/* ---- status: one line per item, "present" or "missing" with the reason */

static void report(Hostres *h, gboolean ok, const char *what, const char *why)
{
	if (ok)
		h->present++;
	else
		h->missing++;
	printf("%-8s %s%s%s\n", ok ? "present" : "missing", what, why ? ": " : "", why ? why : "");
}

static void report_error(Hostres *h, const char *what, GError *error)
{
	report(h, FALSE, what, error->message);
}

/* Checks a link: exists, of kind (if given), up, in master (if given), with cidr (if given). */
static void status_link(Hostres *h, const char *what, const char *name, const char *kind, const char *master,
			const char *cidr)
{
	g_autoptr(GError) error = NULL;
	HostresLink l, m;
	if (!hostres_link_get(h->net, name, &l, &error))
		return report_error(h, what, error);
	if (!l.ifindex)
		return report(h, FALSE, what, "does not exist");
	if (kind && !g_str_equal(l.kind, kind)) {
		g_autofree gchar *why = g_strdup_printf("is a %s, not a %s", *l.kind ? l.kind : "link", kind);
		return report(h, FALSE, what, why);
	}
	if (!l.up)
		return report(h, FALSE, what, "down");
	if (master) {
		if (!hostres_link_get(h->net, master, &m, &error))
			return report_error(h, what, error);
		if (!m.ifindex || l.master != m.ifindex) {
			g_autofree gchar *why = g_strdup_printf("not in bridge %s", master);
			return report(h, FALSE, what, why);
		}
	}
	if (cidr) {
		gboolean has;
		if (!hostres_addr_present(h->net, name, cidr, &has, &error))
			return report_error(h, what, error);
		if (!has) {
			g_autofree gchar *why = g_strdup_printf("no address %s", cidr);
			return report(h, FALSE, what, why);
		}
	}
	report(h, TRUE, what, NULL);
}

static void status_bridge(Hostres *h, const Bridge *b)
{
	g_autofree gchar *cidr = g_strdup_printf("%s.1/24", b->prefix);
	g_autofree gchar *what = g_strdup_printf("bridge %s %s", b->name, cidr);
	status_link(h, what, b->name, "bridge", NULL, cidr);
	g_autofree gchar *dwhat = g_strdup_printf("dnsmasq for %s", b->name);
	g_autoptr(GError) error = NULL;
	int pid = hostres_dnsmasq_pid(b->name, h->run_dir, &error);
	if (pid > 0) {
		g_autofree gchar *pid_file = hostres_dnsmasq_pid_file(b->name, h->run_dir);
		g_autofree gchar *line = g_strdup_printf("%s (pid %d, %s)", dwhat, pid, pid_file);
		report(h, TRUE, line, NULL);
	} else {
		/* The message starts with dwhat already. */
		h->missing++;
		printf("%-8s %s\n", "missing", error->message);
	}
}

static void status_tap(Hostres *h, char kind, guint n, const char *master)
{
	g_autofree gchar *name = tap_name(kind, n);
	g_autofree gchar *cidr = kind == 'm' ? mtap_cidr(n) : NULL;
	g_autofree gchar *what = master ? g_strdup_printf("tap %s in %s", name, master)
					: g_strdup_printf("tap %s %s", name, cidr);
	guint missing = h->missing;
	status_link(h, what, name, "tun", master, cidr);
	if (h->missing != missing)
		return;
	/* Present as a link: its TAP flags and owner group are part of being right. */
	g_autoptr(GError) error = NULL;
	if (!hostres_tap_check(name, h->group, &error)) {
		h->present--;
		report_error(h, what, error);
	}
}

static void hostres_status(Hostres *h)
{
	g_autoptr(GError) error = NULL;
	gboolean on = FALSE;
	if (!hostres_forwarding_on(&on, &error))
		report_error(h, "ipv4 forwarding", error);
	else
		report(h, on, "ipv4 forwarding", on ? NULL : "off");
	if (h->config.ethernet_bridge) {
		if (h->config.bridge_interface) {
			g_autofree gchar *what = g_strdup_printf("bridge %s (bridge_interface)",
								 h->config.bridge_interface);
			status_link(h, what, h->config.bridge_interface, "bridge", NULL, NULL);
		} else {
			status_bridge(h, &ETHERNET);
		}
	}
	if (h->config.wifi_bridge)
		status_bridge(h, &WIFI);
	for (guint n = 1; n <= h->config.num_accounts; n++) {
		if (h->config.ethernet_bridge)
			status_tap(h, 'e', n, ethernet_master(h));
		if (h->config.wifi_bridge)
			status_tap(h, 'w', n, WIFI.name);
		status_tap(h, 'm', n, NULL);
	}
	gboolean nat = FALSE;
	g_clear_error(&error);
	if (!hostres_nat_present(&nat, &error))
		report_error(h, "nat table ip sepia", error);
	else
		report(h, nat, "nat table ip sepia", nat ? NULL : "not loaded");
	printf("%u present, %u missing\n", h->present, h->missing);
}

/* ---- stop: everything start makes, carrying on past failures so one stuck item does not keep the
 * rest; TAPs go by name pattern, so ones made under a larger num_cvd_accounts go too. */

static guint stop_step(gboolean ok, GError *error)
{
	if (ok)
		return 0;
	g_printerr("sepia-host-resources: stop: %s\n", error->message);
	g_error_free(error);
	return 1;
}

static guint hostres_stop(Hostres *h)
{
	guint failed = 0;
	GError *error = NULL;
	failed += stop_step(hostres_nat_stop(&error), error), error = NULL;
	const Bridge *bridges[] = { &ETHERNET, &WIFI };
	for (guint i = 0; i < G_N_ELEMENTS(bridges); i++)
		failed += stop_step(hostres_dnsmasq_stop(bridges[i]->name, h->run_dir, &error), error),
			error = NULL;
	GPtrArray *taps = hostres_list_taps(h->net, &error);
	if (!taps)
		failed += stop_step(FALSE, error), error = NULL;
	for (guint i = 0; taps && i < taps->len; i++)
		failed += stop_step(hostres_tap_remove(h->net, taps->pdata[i], &error), error), error = NULL;
	if (taps)
		g_ptr_array_free(taps, TRUE);
	/* Only sepia's own bridges: a bridge_interface belongs to the host's administrator. */
	for (guint i = 0; i < G_N_ELEMENTS(bridges); i++)
		failed += stop_step(hostres_link_delete(h->net, bridges[i]->name, &error), error),
			error = NULL;
	failed += stop_step(hostres_forwarding_stop(h->run_dir, &error), error), error = NULL;
	return failed;
}

static gid_t lookup_group(const char *name)
{
	struct group *g = name ? getgrnam(name) : NULL;
	return g ? g->gr_gid : (gid_t)-1;
}

int main(int argc, char **argv)
{
	g_autofree gchar *config_path = NULL;
	g_autofree gchar *run_dir = NULL;
	GOptionEntry entries[] = {
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path,
		  "settings file (default " DEFAULT_CONFIG ")", "FILE" },
		{ "run_dir", 0, 0, G_OPTION_ARG_FILENAME, &run_dir,
		  "dnsmasq pid and lease files (default " DEFAULT_RUN_DIR ")", "DIR" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("start|stop|status");
	g_option_context_set_summary(ctx,
				     "Sets up, removes or lists sepia's host networking: bridges cvd-ebr "
				     "and cvd-wbr,\nTAPs cvd-etap-NN, cvd-wtap-NN and cvd-mtap-NN, dnsmasq, "
				     "forwarding and NAT.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		g_printerr("sepia-host-resources: %s\n", error->message);
		return 2;
	}
	if (argc != 2 || (!g_str_equal(argv[1], "start") && !g_str_equal(argv[1], "stop") &&
			  !g_str_equal(argv[1], "status"))) {
		g_printerr(
			"sepia-host-resources: usage: sepia-host-resources [--config FILE] [--run_dir DIR] "
			"start|stop|status\n");
		return 2;
	}
	const char *command = argv[1];

	Hostres h = { .run_dir = run_dir ? run_dir : DEFAULT_RUN_DIR };
	hostres_config_init(&h.config);
	if (!hostres_config_load(&h.config, config_path ? config_path : DEFAULT_CONFIG, config_path != NULL,
				 &error)) {
		g_printerr("sepia-host-resources: %s\n", error->message);
		hostres_config_clear(&h.config);
		return 2;
	}
	h.group = lookup_group(h.config.tap_group);
	h.net = hostres_net_open(&error);
	int status = 0;
	if (!h.net) {
		g_printerr("sepia-host-resources: %s\n", error->message);
		status = 1;
	} else if (g_str_equal(command, "start")) {
		if (!hostres_start(&h, &error)) {
			g_printerr("sepia-host-resources: start: %s\n", error->message);
			status = 1;
		}
	} else if (g_str_equal(command, "stop")) {
		status = hostres_stop(&h) ? 1 : 0;
	} else {
		hostres_status(&h);
		status = h.missing ? 1 : 0;
	}
	hostres_net_close(h.net);
	hostres_config_clear(&h.config);
	return status;
}
