/* launcher/control_server.c — see control_server.h. */
#include "launcher/control_server.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "launcher/instance.h"

typedef struct {
	ControlServer *server;
	int fd;
	char *peer; /* "control client pid P (uid U)" */
	GByteArray *buf;
	GSource *io, *timer;
} Client;

struct ControlServer {
	int listen_fd;
	uid_t owner;
	guint timeout_ms;
	ControlRequestFn on_request;
	ControlLogFn log;
	void *opaque;
	GSource *accept_src;
	GList *clients;
};

static void server_log(ControlServer *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void server_log(ControlServer *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	s->log(s->opaque, msg);
}

/* Ends the client's reading state; with close_fd, also its connection. */
static void client_end(Client *c, bool close_fd)
{
	ControlServer *s = c->server;
	s->clients = g_list_remove(s->clients, c);
	if (c->io) {
		g_source_destroy(c->io);
		g_source_unref(c->io);
	}
	if (c->timer) {
		g_source_destroy(c->timer);
		g_source_unref(c->timer);
	}
	if (close_fd)
		close(c->fd);
	g_byte_array_unref(c->buf);
	g_free(c->peer);
	g_free(c);
}

static void client_request(Client *c, gsize frame_len)
{
	ControlServer *s = c->server;
	ControlRequest *req = sepia__control__request__unpack(NULL, frame_len - 4, c->buf->data + 4);
	int fd = c->fd;
	g_autofree char *peer = g_strdup(c->peer);
	client_end(c, false);
	if (!req) {
		server_log(s, "%s: not a control Request", peer);
		ControlResponse resp = SEPIA__CONTROL__RESPONSE__INIT;
		resp.error = (char *)"not a control Request";
		g_autoptr(GError) err = NULL;
		if (!control_server_answer(fd, &resp.base, &err))
			server_log(s, "%s", err->message);
		return;
	}
	s->on_request(s->opaque, fd, req);
	sepia__control__request__free_unpacked(req, NULL);
}

static gboolean on_client_readable(gint fd, GIOCondition cond, gpointer data)
{
	Client *c = data;
	ControlServer *s = c->server;
	for (;;) {
		guint8 chunk[4096];
		ssize_t n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return G_SOURCE_CONTINUE;
		if (n <= 0) {
			server_log(s, "%s: %s before a whole request", c->peer,
				   n < 0 ? g_strerror(errno) : "connection closed");
			client_end(c, true);
			return G_SOURCE_REMOVE;
		}
		g_byte_array_append(c->buf, chunk, (guint)n);
		g_autoptr(GError) err = NULL;
		gssize whole = control_frame_complete(c->buf->data, c->buf->len, c->peer, &err);
		if (whole < 0) {
			server_log(s, "%s", err->message);
			client_end(c, true);
			return G_SOURCE_REMOVE;
		}
		if (whole > 0) {
			/* One request per connection: what follows it is ignored. */
			client_request(c, (gsize)whole);
			return G_SOURCE_REMOVE;
		}
	}
}

static gboolean on_client_timeout(gpointer data)
{
	Client *c = data;
	server_log(c->server, "%s: no whole request within %u ms: dropped", c->peer, c->server->timeout_ms);
	client_end(c, true);
	return G_SOURCE_REMOVE;
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
	ControlServer *s = data;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0)
			return G_SOURCE_CONTINUE; /* EAGAIN: all taken; other errors: try on the next wake-up */
		g_autoptr(GError) err = NULL;
		pid_t pid = 0;
		uid_t uid = 0;
		if (!control_peer_check(cfd, s->owner, &pid, &uid, &err)) {
			server_log(s, "%s", err->message);
			close(cfd);
			continue;
		}
		g_autofree char *peer = g_strdup_printf("control client pid %d (uid %u)", (int)pid,
							(unsigned)uid);
		if (g_list_length(s->clients) >= CONTROL_SERVER_MAX_CLIENTS) {
			server_log(s, "%s refused: %u clients are already being read", peer,
				   CONTROL_SERVER_MAX_CLIENTS);
			close(cfd);
			continue;
		}
		Client *c = g_new0(Client, 1);
		c->server = s;
		c->fd = cfd;
		c->peer = g_steal_pointer(&peer);
		c->buf = g_byte_array_new();
		c->io = g_unix_fd_source_new(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR);
		g_source_set_callback(c->io, G_SOURCE_FUNC(on_client_readable), c, NULL);
		g_source_attach(c->io, g_main_context_get_thread_default());
		c->timer = g_timeout_source_new(s->timeout_ms);
		g_source_set_callback(c->timer, on_client_timeout, c, NULL);
		g_source_attach(c->timer, g_main_context_get_thread_default());
		s->clients = g_list_prepend(s->clients, c);
	}
}

ControlServer *control_server_new(int listen_fd, uid_t owner, guint timeout_ms, ControlRequestFn on_request,
				  ControlLogFn log, void *opaque)
{
	ControlServer *s = g_new0(ControlServer, 1);
	s->listen_fd = listen_fd;
	s->owner = owner;
	s->timeout_ms = timeout_ms;
	s->on_request = on_request;
	s->log = log;
	s->opaque = opaque;
	s->accept_src = g_unix_fd_source_new(listen_fd, G_IO_IN);
	g_source_set_callback(s->accept_src, G_SOURCE_FUNC(on_accept), s, NULL);
	g_source_attach(s->accept_src, g_main_context_get_thread_default());
	return s;
}

void control_server_free(ControlServer *s)
{
	if (!s)
		return;
	while (s->clients)
		client_end(s->clients->data, true);
	g_source_destroy(s->accept_src);
	g_source_unref(s->accept_src);
	g_free(s);
}

guint control_server_pending(const ControlServer *s) { return g_list_length(s->clients); }

bool control_server_answer(int client_fd, const ProtobufCMessage *msg, GError **error)
{
	g_autoptr(GBytes) frame = control_frame(msg, "control client", error);
	bool ok = frame != NULL;
	if (ok) {
		gsize len;
		const void *data = g_bytes_get_data(frame, &len);
		ssize_t n = send(client_fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n != (ssize_t)len) {
			g_set_error(error, LAUNCHER_ERROR, n < 0 ? errno : EAGAIN,
				    "control client: cannot send the answer: %s",
				    n < 0 ? g_strerror(errno)
					  : "it does not read (its socket buffer is full)");
			ok = false;
		}
	}
	close(client_fd);
	return ok;
}
