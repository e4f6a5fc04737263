/* sepia adbd: adb forward and adb reverse. Both carry TCP streams of the guest's loopback over
 * the adb connection; the host's adb server does the host side. Replies to "reverse:" requests
 * follow adbd's: "OKAY" on success (then "%04x" and the port when the client asked for tcp:0),
 * "FAIL" with a "%04x"-framed message otherwise. */
#include "forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct reverse_listener *reverse_listeners;

static void loopback_address(struct sockaddr_in *a, int port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

int forward_connect(struct stream *st, const char *port_text)
{
	struct sockaddr_in a;
	int port = adb_port_parse(port_text, false), fd;

	if (port < 0)
		return port;
	loopback_address(&a, port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The guest's own loopback answers at once: a blocking connect is short. */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	st->fd_in = st->fd_out = fd;
	st->fd_err = -1;
	return 0;
}

/* ---- reverse ---- */

struct reply {
	char *buf;
	size_t len;
};

static int reply_add(struct reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reply_add(struct reply *r, const char *fmt, ...)
{
	va_list ap;
	char *more;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&more, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	char *grown = realloc(r->buf, r->len + (size_t)n + 1);
	if (grown == NULL) {
		free(more);
		return -ENOMEM;
	}
	memcpy(grown + r->len, more, (size_t)n + 1);
	r->buf = grown;
	r->len += (size_t)n;
	free(more);
	return 0;
}

static int reply_fail(struct reply *r, const char *message)
{
	return reply_add(r, "FAIL%04zx%s", strlen(message), message);
}

static struct reverse_listener *find_listener(struct conn *c, const char *local)
{
	for (struct reverse_listener *l = reverse_listeners; l != NULL; l = l->next)
		if (l->conn == c && !l->dead && strcmp(l->local, local) == 0)
			return l;
	return NULL;
}

/* Closes l now; reverse_sweep frees it after the loop iteration that may still name it. */
static void listener_close(struct reverse_listener *l)
{
	if (l->dead)
		return;
	close(l->fd);
	l->fd = -1;
	l->dead = true;
}

void reverse_sweep(void)
{
	for (struct reverse_listener **lp = &reverse_listeners; *lp != NULL;) {
		struct reverse_listener *l = *lp;
		if (l->dead) {
			*lp = l->next;
			free(l);
		} else {
			lp = &l->next;
		}
	}
}

static int reverse_forward(struct conn *c, const struct adb_reverse_request *req, struct reply *r)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	char msg[128];
	int fd, one = 1;

	struct reverse_listener *l = find_listener(c, req->local);
	if (l != NULL) {
		if (req->no_rebind)
			return reply_fail(r, "cannot rebind existing socket");
		snprintf(l->remote, sizeof(l->remote), "%s", req->remote);
		return reply_add(r, "OKAY");
	}
	loopback_address(&a, req->local_port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		snprintf(msg, sizeof(msg), "cannot bind listener: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return reply_fail(r, msg);
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		close(fd);
		return -ENOMEM;
	}
	l->conn = c;
	l->fd = fd;
	snprintf(l->local, sizeof(l->local), "tcp:%u", ntohs(a.sin_port));
	snprintf(l->remote, sizeof(l->remote), "%s", req->remote);
	l->next = reverse_listeners;
	reverse_listeners = l;
	say("%s: reverse %s -> host %s", c->name, l->local, l->remote);
	if (req->local_port == 0) {
		char bound[8];
		int n = snprintf(bound, sizeof(bound), "%u", ntohs(a.sin_port));
		return reply_add(r, "OKAY%04x%s", n, bound);
	}
	return reply_add(r, "OKAY");
}

int reverse_request(struct conn *c, const char *request, char **reply, size_t *len)
{
	struct reply r = { NULL, 0 };
	struct adb_reverse_request req;
	struct reverse_listener *l;
	char msg[160];
	int err = adb_reverse_parse(request, &req);

	if (err == -ENOENT) {
		snprintf(msg, sizeof(msg), "unknown reverse command: %.100s", request);
		err = reply_fail(&r, msg);
	} else if (err == -EPROTONOSUPPORT) {
		snprintf(msg, sizeof(msg), "cannot bind listener: unsupported socket spec %.60s", req.local);
		err = reply_fail(&r, msg);
	} else if (err < 0) {
		snprintf(msg, sizeof(msg), "bad forward: %.100s", request);
		err = reply_fail(&r, msg);
	} else if (req.kind == ADB_REVERSE_FORWARD) {
		err = reverse_forward(c, &req, &r);
	} else if (req.kind == ADB_REVERSE_KILL) {
		if ((l = find_listener(c, req.local)) != NULL) {
			listener_close(l);
			err = reply_add(&r, "OKAY");
		} else {
			snprintf(msg, sizeof(msg), "listener '%.100s' not found", req.local);
			err = reply_fail(&r, msg);
		}
	} else if (req.kind == ADB_REVERSE_KILL_ALL) {
		reverse_drop_conn(c);
		err = reply_add(&r, "OKAY");
	} else {
		/* adbd answers list-forward with the framed list alone, no OKAY before it; each line
		 * names the connection as adbd sees it (its transport's serial). */
		struct reply list = { NULL, 0 };
		err = reply_add(&list, "%s", "");
		for (l = reverse_listeners; l != NULL && err == 0; l = l->next)
			if (l->conn == c && !l->dead)
				err = reply_add(&list, "%s %s %s\n", c->name, l->local, l->remote);
		if (err == 0)
			err = reply_add(&r, "%04zx%s", list.len, list.buf);
		free(list.buf);
	}
	if (err < 0) {
		free(r.buf);
		return err;
	}
	*reply = r.buf;
	*len = r.len;
	return 0;
}

void reverse_accept(struct reverse_listener *l)
{
	struct conn *c = l->conn;
	struct stream *st;
	int fd;

	if (l->dead || (fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0)
		return;
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		close(fd);
		return;
	}
	st->conn = c;
	st->local_id = c->next_local_id++;
	st->fd_in = st->fd_out = fd;
	st->fd_err = -1;
	/* Nothing is read from the socket until the host's OKAY names its end of the stream. */
	st->opening = true;
	st->write_pending = true;
	st->next = c->streams;
	c->streams = st;
	conn_send(c, A_OPEN, st->local_id, 0, l->remote, (uint32_t)strlen(l->remote) + 1);
}

void reverse_drop_conn(struct conn *c)
{
	struct reverse_listener *l = reverse_listeners;

	while (l != NULL) {
		struct reverse_listener *next = l->next;
		if (l->conn == c)
			listener_close(l);
		l = next;
	}
}
