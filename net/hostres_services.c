#include "net/hostres_services.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"
#define NAT_TABLE  "sepia"

gchar *hostres_dnsmasq_pid_file(const char *bridge, const char *run_dir)
{
	return g_strdup_printf("%s/dnsmasq-%s.pid", run_dir, bridge);
}

gchar *hostres_dnsmasq_lease_file(const char *bridge, const char *run_dir)
{
	return g_strdup_printf("%s/dnsmasq-%s.leases", run_dir, bridge);
}

/* Runs argv to completion; on failure the error names `who` and carries the tool's own words. */
static gboolean run_tool(const char *const *argv, const char *stdin_text, const char *who, GError **error)
{
	g_autoptr(GError) local = NULL;
	GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE |
				 (stdin_text ? G_SUBPROCESS_FLAGS_STDIN_PIPE : 0);
	g_autoptr(GSubprocess) proc = g_subprocess_newv(argv, flags, &local);
	g_autofree gchar *err_text = NULL;
	if (!proc || !g_subprocess_communicate_utf8(proc, stdin_text, NULL, NULL, &err_text, &local)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: running %s: %s", who, argv[0],
			    local->message);
		return FALSE;
	}
	if (!g_subprocess_get_successful(proc)) {
		g_strstrip(err_text);
		for (char *c = err_text; *c; c++) /* one line: the tool may say several */
			if (*c == '\n')
				*c = ' ';
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s failed: %s", who, argv[0],
			    *err_text ? err_text : "no message");
		return FALSE;
	}
	return TRUE;
}

static gchar *find_tool(const char *tool, const char *package, const char *who, GError **error)
{
	gchar *path = g_find_program_in_path(tool);
	/* systemd and sudo give /usr/sbin; a user's PATH may not have it. */
	if (!path) {
		g_autofree gchar *sbin = g_build_filename("/usr/sbin", tool, NULL);
		if (g_file_test(sbin, G_FILE_TEST_IS_EXECUTABLE))
			path = g_steal_pointer(&sbin);
	}
	if (!path)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: %s not found (install %s)", who,
			    tool, package);
	return path;
}

int hostres_dnsmasq_pid(const char *bridge, const char *run_dir, GError **error)
{
	g_autofree gchar *pid_file = hostres_dnsmasq_pid_file(bridge, run_dir);
	g_autofree gchar *text = NULL;
	g_autofree gchar *who = g_strdup_printf("dnsmasq for %s", bridge);
	if (!g_file_get_contents(pid_file, &text, NULL, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no pid file %s", who, pid_file);
		return 0;
	}
	guint64 pid;
	if (!g_ascii_string_to_unsigned(g_strstrip(text), 10, 1, G_MAXINT, &pid, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s holds no pid", who, pid_file);
		return 0;
	}
	/* The pid must still be a dnsmasq: after a reboot of the host a stale file names anyone. */
	g_autofree gchar *comm_path = g_strdup_printf("/proc/%d/comm", (int)pid);
	g_autofree gchar *comm = NULL;
	if (!g_file_get_contents(comm_path, &comm, NULL, NULL) || !g_str_equal(g_strstrip(comm), "dnsmasq")) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: pid %d from %s is not running", who,
			    (int)pid, pid_file);
		return 0;
	}
	return (int)pid;
}

gboolean hostres_dnsmasq_start(const char *bridge, const char *prefix24, gchar **dns_servers,
			       const char *run_dir, GError **error)
{
	g_autofree gchar *who = g_strdup_printf("dnsmasq for %s", bridge);
	if (hostres_dnsmasq_pid(bridge, run_dir, NULL) > 0)
		return TRUE;
	g_autofree gchar *dnsmasq = find_tool("dnsmasq", "dnsmasq-base", who, error);
	if (!dnsmasq)
		return FALSE;
	g_autofree gchar *pid_file = hostres_dnsmasq_pid_file(bridge, run_dir);
	g_autofree gchar *lease_file = hostres_dnsmasq_lease_file(bridge, run_dir);
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(argv, g_strdup(dnsmasq));
	/* Only what is given here: not the host's /etc/dnsmasq.conf, /etc/hosts or resolv.conf. */
	g_ptr_array_add(argv, g_strdup("--conf-file=/dev/null"));
	g_ptr_array_add(argv, g_strdup("--no-hosts"));
	g_ptr_array_add(argv, g_strdup("--no-resolv"));
	g_ptr_array_add(argv, g_strdup("--strict-order"));
	/* Bound to the bridge alone, so one dnsmasq per bridge and the host's own resolver coexist. */
	g_ptr_array_add(argv, g_strdup("--bind-interfaces"));
	g_ptr_array_add(argv, g_strdup_printf("--interface=%s", bridge));
	g_ptr_array_add(argv, g_strdup("--except-interface=lo"));
	g_ptr_array_add(argv, g_strdup_printf("--listen-address=%s.1", prefix24));
	g_ptr_array_add(argv,
			g_strdup_printf("--dhcp-range=%s.2,%s.254,255.255.255.0,12h", prefix24, prefix24));
	g_ptr_array_add(argv, g_strdup("--dhcp-authoritative"));
	g_ptr_array_add(argv, g_strdup_printf("--pid-file=%s", pid_file));
	g_ptr_array_add(argv, g_strdup_printf("--dhcp-leasefile=%s", lease_file));
	/* No --user: dnsmasq opens the lease file and writes the pid file as root, then drops to its
	 * unprivileged default user and keeps rewriting the lease file through the fd it holds. */
	for (int i = 0; dns_servers && dns_servers[i]; i++)
		g_ptr_array_add(argv, g_strdup_printf("--server=%s", dns_servers[i]));
	g_ptr_array_add(argv, NULL);
	/* dnsmasq forks, and its first process exits only once the daemon is set up (or failed). */
	gboolean ok = run_tool((const char *const *)argv->pdata, NULL, who, error);
	g_ptr_array_free(argv, TRUE);
	if (!ok)
		return FALSE;
	g_autoptr(GError) local = NULL;
	if (hostres_dnsmasq_pid(bridge, run_dir, &local) <= 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: started but not running: %s", who,
			    local->message);
		return FALSE;
	}
	return TRUE;
}

gboolean hostres_dnsmasq_stop(const char *bridge, const char *run_dir, GError **error)
{
	g_autofree gchar *pid_file = hostres_dnsmasq_pid_file(bridge, run_dir);
	g_autofree gchar *lease_file = hostres_dnsmasq_lease_file(bridge, run_dir);
	int pid = hostres_dnsmasq_pid(bridge, run_dir, NULL);
	if (pid > 0) {
		if (kill(pid, SIGTERM) < 0 && errno != ESRCH) {
			int e = errno;
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
				    "dnsmasq for %s: kill %d: %s", bridge, pid, g_strerror(e));
			return FALSE;
		}
		/* Wait (up to 5 s) so a following start or bridge removal finds it gone. */
		for (int i = 0; i < 500 && kill(pid, 0) == 0; i++) {
			g_autofree gchar *comm_path = g_strdup_printf("/proc/%d/comm", pid);
			g_autofree gchar *comm = NULL;
			if (!g_file_get_contents(comm_path, &comm, NULL, NULL) ||
			    !g_str_equal(g_strstrip(comm), "dnsmasq"))
				break;
			g_usleep(10000);
		}
	}
	unlink(pid_file);
	unlink(lease_file);
	return TRUE;
}

gchar *hostres_nat_ruleset(void)
{
	/* One transaction: "add" makes the table if missing, "flush" empties an old one, then the
	 * chain is (re)made, so loading it twice leaves one copy. 192.168.96.0/22 covers cvd-wbr (.96),
	 * the cvd-mtap /30s (.97) and cvd-ebr (.98). */
	return g_strdup("add table ip " NAT_TABLE "\n"
			"flush table ip " NAT_TABLE "\n"
			"table ip " NAT_TABLE " {\n"
			"\tchain postrouting {\n"
			"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
			"\t\tip saddr 192.168.96.0/22 oifname != \"cvd-*\" masquerade\n"
			"\t}\n"
			"}\n");
}

gboolean hostres_nat_start(GError **error)
{
	g_autofree gchar *nft = find_tool("nft", "nftables", "nat table ip " NAT_TABLE, error);
	if (!nft)
		return FALSE;
	g_autofree gchar *ruleset = hostres_nat_ruleset();
	const char *argv[] = { nft, "-f", "-", NULL };
	return run_tool(argv, ruleset, "nat table ip " NAT_TABLE, error);
}

gboolean hostres_nat_present(gboolean *present, GError **error)
{
	*present = FALSE;
	g_autofree gchar *nft = find_tool("nft", "nftables", "nat table ip " NAT_TABLE, error);
	if (!nft)
		return FALSE;
	const char *argv[] = { nft, "list", "table", "ip", NAT_TABLE, NULL };
	g_autoptr(GError) local = NULL;
	*present = run_tool(argv, NULL, "nat table ip " NAT_TABLE, &local);
	return TRUE;
}

gboolean hostres_nat_stop(GError **error)
{
	gboolean present;
	if (!hostres_nat_present(&present, error))
		return FALSE;
	if (!present)
		return TRUE;
	g_autofree gchar *nft = find_tool("nft", "nftables", "nat table ip " NAT_TABLE, error);
	const char *argv[] = { nft, "delete", "table", "ip", NAT_TABLE, NULL };
	return nft && run_tool(argv, NULL, "nat table ip " NAT_TABLE, error);
}

gboolean hostres_forwarding_on(gboolean *on, GError **error)
{
	g_autofree gchar *text = NULL;
	g_autoptr(GError) local = NULL;
	if (!g_file_get_contents(IP_FORWARD, &text, NULL, &local)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "ipv4 forwarding: %s", local->message);
		return FALSE;
	}
	*on = g_str_has_prefix(text, "1");
	return TRUE;
}

static gboolean write_forwarding(const char *value, GError **error)
{
	/* g_file_set_contents would replace the file by rename, which /proc refuses. */
	FILE *f = fopen(IP_FORWARD, "w");
	int e = f ? 0 : errno;
	if (f && fputs(value, f) < 0)
		e = errno;
	if (f && fclose(f) != 0 && !e)
		e = errno;
	if (e) {
		g_autofree gchar *shown = g_strchomp(g_strdup(value));
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
			    "ipv4 forwarding: writing %s to %s: %s", shown, IP_FORWARD, g_strerror(e));
		return FALSE;
	}
	return TRUE;
}

gboolean hostres_forwarding_start(const char *run_dir, GError **error)
{
	gboolean on;
	if (!hostres_forwarding_on(&on, error))
		return FALSE;
	if (on)
		return TRUE;
	g_autofree gchar *mark = g_build_filename(run_dir, "ip_forward.was-off", NULL);
	g_autoptr(GError) local = NULL;
	if (!g_file_set_contents(mark, "0\n", -1, &local)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "ipv4 forwarding: %s", local->message);
		return FALSE;
	}
	return write_forwarding("1\n", error);
}

gboolean hostres_forwarding_stop(const char *run_dir, GError **error)
{
	g_autofree gchar *mark = g_build_filename(run_dir, "ip_forward.was-off", NULL);
	if (!g_file_test(mark, G_FILE_TEST_EXISTS))
		return TRUE; /* it was on before start: someone else wants it */
	if (!write_forwarding("0\n", error))
		return FALSE;
	unlink(mark);
	return TRUE;
}
