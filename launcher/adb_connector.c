/* launcher/adb_connector.c — see adb_connector.h. */
#include "launcher/adb_connector.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
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
