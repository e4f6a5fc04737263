/* launcher/adb_connector.c — see adb_connector.h. */
#include "launcher/adb_connector.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/instance.h"

#define ADB_SERVER_TIMEOUT_MS 5000

static bool read_exact(int fd, char *buf, size_t len, GError **error)
{
	while (len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, ADB_SERVER_TIMEOUT_MS) <= 0) {
			g_set_error(error, LAUNCHER_ERROR, ETIMEDOUT,
				    "the adb server did not answer in time");
			return false;
		}
		ssize_t n = read(fd, buf, len);
		if (n <= 0) {
			g_set_error(error, LAUNCHER_ERROR, EPROTO, "the adb server closed the connection");
			return false;
		}
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

bool adb_server_host_request(const char *what, const char *serial, char **message, GError **error)
{
	guint64 port = 5037;
	const char *env = g_getenv("ANDROID_ADB_SERVER_PORT");
	if (env && *env && !g_ascii_string_to_unsigned(env, 10, 1, 65535, &port, NULL)) {
		g_set_error(error, LAUNCHER_ERROR, EINVAL, "ANDROID_ADB_SERVER_PORT=%s is not a port", env);
		return false;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		g_set_error(error, LAUNCHER_ERROR, ECONNREFUSED, "no adb server on 127.0.0.1:%u",
			    (unsigned)port);
		if (fd >= 0)
			close(fd);
		return false;
	}
	g_autofree char *req = g_strdup_printf("host:%s:%s", what, serial);
	g_autofree char *framed = g_strdup_printf("%04zx%s", strlen(req), req);
	char status[5] = { 0 }, lenhex[5] = { 0 };
	bool ok = send(fd, framed, strlen(framed), MSG_NOSIGNAL) == (ssize_t)strlen(framed) &&
		  read_exact(fd, status, 4, error);
	if (ok && read_exact(fd, lenhex, 4, error)) {
		guint64 len = 0;
		g_ascii_string_to_unsigned(lenhex, 16, 0, 0xffff, &len, NULL);
		g_autofree char *msg = g_malloc0(len + 1);
		if (read_exact(fd, msg, len, error)) {
			if (strcmp(status, "OKAY") != 0) {
				g_set_error(error, LAUNCHER_ERROR, EPROTO, "the adb server refused %s: %s",
					    req, msg);
				ok = false;
			} else if (message) {
				*message = g_steal_pointer(&msg);
			}
		} else {
			ok = false;
		}
	} else if (ok) {
		ok = false;
	} else if (error && !*error) {
		g_set_error(error, LAUNCHER_ERROR, EPROTO, "cannot send %s to the adb server", req);
	}
	close(fd);
	return ok;
}

/* ---- AdbConnector ---- */

#define ADB_CONNECT_INTERVAL_MS 250
#define ADB_CONNECT_TRIES       40

struct AdbConnector {
	char *instance, *serial, *host;
	guint port, timer, tries;
	bool connected, client_started;
	GPid client; /* `adb connect`, while it runs (0: none) */
	guint client_watch;
	AdbConnectorDone done;
	void *opaque;
};

static bool port_accepts(const char *host, guint port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	bool ok = fd >= 0 && inet_pton(AF_INET, host, &sa.sin_addr) == 1 &&
		  connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The server `adb connect` starts must not die with the device's process group or session. */
static void client_child_setup(gpointer unused) { setsid(); }

static void on_client_exited(GPid pid, gint wait_status, gpointer data)
{
	AdbConnector *a = data;
	g_spawn_close_pid(pid);
	a->client = 0;
	a->client_watch = 0;
}

/* No server answers: `adb connect SERIAL` starts one and connects it. Its answer is read back
 * through the server on the next tick. Returns false when there is no adb client to run. */
static bool start_client(AdbConnector *a, GError **error)
{
	g_autofree char *adb = g_find_program_in_path("adb");
	if (!adb) {
		g_set_error(error, LAUNCHER_ERROR, ENOENT,
			    "no adb server runs and no adb client is on PATH to start one "
			    "(install the adb package)");
		return false;
	}
	char *argv[] = { adb, "connect", a->serial, NULL };
	if (!g_spawn_async(NULL, argv, NULL,
			   G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
				   G_SPAWN_STDERR_TO_DEV_NULL,
			   client_child_setup, NULL, &a->client, error)) {
		g_prefix_error(error, "cannot run %s connect %s: ", adb, a->serial);
		return false;
	}
	launcher_log(a->instance, "adb: no adb server answers; running %s connect %s, which starts one", adb,
		     a->serial);
	a->client_watch = g_child_watch_add(a->client, on_client_exited, a);
	return true;
}

static void finish(AdbConnector *a, bool connected)
{
	a->connected = connected;
	a->timer = 0;
	if (a->done)
		a->done(a->opaque, connected);
}

static gboolean on_connect_timer(gpointer data)
{
	AdbConnector *a = data;
	g_autoptr(GError) err = NULL;
	g_autofree char *msg = NULL;
	bool last = ++a->tries >= ADB_CONNECT_TRIES;
	if (a->client && !last)
		return G_SOURCE_CONTINUE; /* `adb connect` is still starting the server */
	if (!port_accepts(a->host, a->port) && !last)
		return G_SOURCE_CONTINUE;
	if (!adb_server_host_request("connect", a->serial, &msg, &err)) {
		if (g_error_matches(err, LAUNCHER_ERROR, ECONNREFUSED) && !a->client_started && !last) {
			g_clear_error(&err);
			a->client_started = true;
			if (start_client(a, &err))
				return G_SOURCE_CONTINUE;
		}
		launcher_log(a->instance, "adb: %s; connect by hand with adb connect %s", err->message,
			     a->serial);
		finish(a, false);
		return G_SOURCE_REMOVE;
	}
	if (g_str_has_prefix(msg, "failed") && !last)
		return G_SOURCE_CONTINUE;
	launcher_log(a->instance, "adb server: %s", msg);
	finish(a, !g_str_has_prefix(msg, "failed"));
	return G_SOURCE_REMOVE;
}

AdbConnector *adb_connector_start(const char *instance, const char *host, guint port, AdbConnectorDone done,
				  void *opaque)
{
	AdbConnector *a = g_new0(AdbConnector, 1);
	a->instance = g_strdup(instance);
	a->host = g_strdup(host);
	a->serial = g_strdup_printf("%s:%u", host, port);
	a->port = port;
	a->done = done;
	a->opaque = opaque;
	a->timer = g_timeout_add(ADB_CONNECT_INTERVAL_MS, on_connect_timer, a);
	return a;
}

bool adb_connector_connected(const AdbConnector *a) { return a && a->connected; }

void adb_connector_stop(AdbConnector *a)
{
	if (!a)
		return;
	if (a->timer)
		g_source_remove(a->timer);
	if (a->connected) {
		g_autoptr(GError) err = NULL;
		if (!adb_server_host_request("disconnect", a->serial, NULL, &err))
			launcher_log(a->instance, "adb disconnect: %s", err->message);
	}
	/* A running `adb connect` is left to finish: it only starts a server (reaped once the
	 * monitor ends). */
	if (a->client_watch)
		g_source_remove(a->client_watch);
	g_free(a->serial);
	g_free(a->host);
	g_free(a->instance);
	g_free(a);
}
