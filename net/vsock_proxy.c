/* sepia-vsock-proxy: TCP clients to a guest's vsock port, through sepia-vmm's vsock unix
 * socket (devices/virtio/vsock_muxer.c has the protocol: "CONNECT <port>\n", then
 * "OK <hostport>\n" and the byte stream, or a closed socket when nothing listens).
 *
 *   sepia-vsock-proxy --listen=127.0.0.1:6520 --vsock_socket=PATH --port=5555
 *
 * One poll() loop. Each direction of each connection has a fixed buffer: a side is read
 * only while its buffer has room, so a slow reader holds back its writer and the proxy's
 * memory stays MAX_CLIENTS * 2 * RELAY_BUF. EOF on one side is passed on as a half-close
 * once its buffer has drained (so a client may half-close and still read the guest's
 * answer); the connection closes when both directions are done, or on any error or
 * reset, which closes both sides at once. One log line per connection (time, client address, result) on stderr.
 * SIGTERM or SIGINT: every connection is closed and the program exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define MAX_CLIENTS 256
#define RELAY_BUF   (128 * 1024)
#define LINE_MAX_OK 64
#define PROXY_ERROR (g_quark_from_static_string("sepia-vsock-proxy"))

struct half { /* one direction: bytes read from one side, not yet written to the other */
	char *data;
	size_t len;
	bool eof;  /* the reading side ended */
	bool shut; /* the writing side was told (shutdown SHUT_WR) */
};

struct client {
	int tcp, vs;
	bool relaying; /* OK received */
	char addr[80];
	struct half up;   /* tcp -> vsock */
	struct half down; /* vsock -> tcp */
};

struct proxy {
	int listen_fd, signal_fd;
	char *vsock_socket;
	unsigned int port;
	struct client *client[MAX_CLIENTS];
	unsigned int nr;
};

static bool open_listener(struct proxy *p, const char *spec, GError **error)
{
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || !colon[1]) {
		g_set_error(error, PROXY_ERROR, EINVAL, "--listen '%s': give HOST:PORT", spec);
		return false;
	}
	g_autofree char *host = g_strndup(spec, (gsize)(colon - spec));
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *ai;
	int r = getaddrinfo(host, colon + 1, &hints, &ai);
	if (r) {
		g_set_error(error, PROXY_ERROR, EINVAL, "--listen '%s': %s", spec, gai_strerror(r));
		return false;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		g_set_error(error, PROXY_ERROR, errno, "cannot listen on %s: %s", spec, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return false;
	}
	freeaddrinfo(ai);
	p->listen_fd = fd;
	return true;
}

static void client_free(struct proxy *p, unsigned int i)
{
	struct client *c = p->client[i];
	close(c->tcp);
	close(c->vs);
	g_free(c->up.data);
	g_free(c->down.data);
	g_free(c);
	p->client[i] = p->client[--p->nr];
}

static void accept_client(struct proxy *p)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int tcp = accept4(p->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (tcp < 0)
		return;
	char host[64] = "?", serv[16] = "?";
	getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_strlcpy(sa.sun_path, p->vsock_socket, sizeof(sa.sun_path));
	int vs = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char line[32];
	int n = snprintf(line, sizeof(line), "CONNECT %u\n", p->port);
	/* A blocking connect and a short write: the VMM accepts on its I/O thread at once (the
	 * answer line is awaited in the poll loop). */
	if (vs < 0 || connect(vs, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(vs, line, (size_t)n) != n) {
		log_line("sepia-vsock-proxy", NULL,
			 "client %s:%s: failed: cannot reach the VMM's vsock socket %s: %s", host, serv,
			 p->vsock_socket, g_strerror(errno));
		if (vs >= 0)
			close(vs);
		close(tcp);
		return;
	}
	fcntl(vs, F_SETFL, fcntl(vs, F_GETFL) | O_NONBLOCK);
	struct client *c = g_new0(struct client, 1);
	c->tcp = tcp;
	c->vs = vs;
	snprintf(c->addr, sizeof(c->addr), "%s:%s", host, serv);
	c->up.data = g_malloc(RELAY_BUF);
	c->down.data = g_malloc(RELAY_BUF);
	p->client[p->nr++] = c;
}

/* Reads the VMM's answer line without taking bytes after it. false: close the client. */
static bool read_answer(struct proxy *p, struct client *c)
{
	char line[LINE_MAX_OK + 1];
	ssize_t n = recv(c->vs, line, LINE_MAX_OK, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	char *nl = n > 0 ? memchr(line, '\n', (size_t)n) : NULL;
	if (!nl) {
		if (n > 0 && n < LINE_MAX_OK)
			return true; /* the rest of the line is on its way */
		log_line("sepia-vsock-proxy", NULL,
			 "client %s: refused: guest vsock port %u does not answer (no listener)", c->addr,
			 p->port);
		return false;
	}
	size_t len = (size_t)(nl - line) + 1;
	if (recv(c->vs, line, len, 0) != (ssize_t)len)
		return false;
	line[len - 1] = '\0';
	unsigned int hostport;
	if (sscanf(line, "OK %u", &hostport) != 1) {
		log_line("sepia-vsock-proxy", NULL, "client %s: failed: the VMM answered '%s'", c->addr,
			 line);
		return false;
	}
	log_line("sepia-vsock-proxy", NULL, "client %s: connected to guest vsock port %u (host port %u)",
		 c->addr, p->port, hostport);
	c->relaying = true;
	return true;
}

/* Moves bytes from fd into h. false: an error. */
static bool fill(int fd, struct half *h)
{
	ssize_t n = read(fd, h->data + h->len, RELAY_BUF - h->len);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		h->eof = true;
	h->len += (size_t)n;
	return true;
}

/* Moves bytes from h to fd, and passes EOF on once h is empty. false: an error. */
static bool drain(int fd, struct half *h)
{
	if (h->len) {
		ssize_t n = send(fd, h->data, h->len, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		memmove(h->data, h->data + n, h->len - (size_t)n);
		h->len -= (size_t)n;
	}
	if (h->eof && !h->len && !h->shut) {
		shutdown(fd, SHUT_WR);
		h->shut = true;
	}
	return true;
}

static short tcp_events(const struct client *c)
{
	short ev = 0;
	if (c->relaying && !c->up.eof && c->up.len < RELAY_BUF)
		ev |= POLLIN;
	if (c->down.len)
		ev |= POLLOUT;
	return ev;
}

static short vs_events(const struct client *c)
{
	if (!c->relaying)
		return POLLIN;
	short ev = 0;
	if (!c->down.eof && c->down.len < RELAY_BUF)
		ev |= POLLIN;
	if (c->up.len)
		ev |= POLLOUT;
	return ev;
}

/* One client's turn after poll. false: close it. */
static bool client_step(struct proxy *p, struct client *c, short tcp_rev, short vs_rev)
{
	if (!c->relaying) {
		if (vs_rev && !read_answer(p, c))
			return false;
		if (!c->relaying)
			return true;
	}
	if ((tcp_rev & (POLLIN | POLLHUP | POLLERR)) && !c->up.eof && c->up.len < RELAY_BUF &&
	    !fill(c->tcp, &c->up))
		return false;
	if ((vs_rev & (POLLIN | POLLHUP | POLLERR)) && !c->down.eof && c->down.len < RELAY_BUF &&
	    !fill(c->vs, &c->down))
		return false;
	if (!drain(c->vs, &c->up) || !drain(c->tcp, &c->down))
		return false;
	return !(c->up.shut && c->down.shut);
}

static int run(struct proxy *p)
{
	struct pollfd fds[2 + 2 * MAX_CLIENTS];
	for (;;) {
		unsigned int n = 0;
		fds[n++] = (struct pollfd){ .fd = p->signal_fd, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = p->listen_fd, .events = p->nr < MAX_CLIENTS ? POLLIN : 0 };
		/* A side with nothing to do is left out (fd -1): a peer's hang-up would otherwise
		 * wake poll() over and over while the other side's buffer drains. */
		for (unsigned int i = 0; i < p->nr; i++) {
			short tev = tcp_events(p->client[i]), vev = vs_events(p->client[i]);
			fds[n++] = (struct pollfd){ .fd = tev ? p->client[i]->tcp : -1, .events = tev };
			fds[n++] = (struct pollfd){ .fd = vev ? p->client[i]->vs : -1, .events = vev };
		}
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_line("sepia-vsock-proxy", NULL, "poll: %s", g_strerror(errno));
			return 1;
		}
		if (fds[0].revents) {
			struct signalfd_siginfo si;
			if (read(p->signal_fd, &si, sizeof(si)) == sizeof(si)) {
				log_line("sepia-vsock-proxy", NULL,
					 "stopping on signal %u; closing %u connections", si.ssi_signo,
					 p->nr);
				return 0;
			}
		}
		/* Clients first (their slots match fds), newest last so removal keeps order valid. */
		unsigned int nr = p->nr;
		for (unsigned int i = nr; i-- > 0;) {
			if (!client_step(p, p->client[i], fds[2 + 2 * i].revents, fds[3 + 2 * i].revents))
				client_free(p, i);
		}
		if (fds[1].revents & POLLIN)
			accept_client(p);
	}
}

int main(int argc, char **argv)
{
	g_autofree char *listen_spec = NULL, *vsock_socket = NULL;
	gint port = -1;
	GOptionEntry entries[] = {
		{ "listen", 0, 0, G_OPTION_ARG_STRING, &listen_spec, "TCP address to accept clients on",
		  "HOST:PORT" },
		{ "vsock_socket", 0, 0, G_OPTION_ARG_FILENAME, &vsock_socket,
		  "sepia-vmm's vsock unix socket (--vsock socket=PATH)", "PATH" },
		{ "port", 0, 0, G_OPTION_ARG_INT, &port, "The guest's vsock port", "N" },
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(GOptionContext) ctx = g_option_context_new("- relay TCP clients to a guest vsock port");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "sepia-vsock-proxy: %s\n", error->message);
		return 2;
	}
	if (!listen_spec || !vsock_socket || port < 0) {
		fprintf(stderr, "sepia-vsock-proxy: --listen, --vsock_socket and --port are required\n");
		return 2;
	}
	struct proxy p = { .listen_fd = -1, .vsock_socket = vsock_socket, .port = (unsigned int)port };
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	p.signal_fd = signalfd(-1, &stop, SFD_CLOEXEC);
	if (p.signal_fd < 0 || !open_listener(&p, listen_spec, &error)) {
		fprintf(stderr, "sepia-vsock-proxy: %s\n", error ? error->message : g_strerror(errno));
		return 1;
	}
	log_line("sepia-vsock-proxy", NULL, "listening on %s for guest vsock port %d via %s", listen_spec,
		 port, vsock_socket);
	int status = run(&p);
	while (p.nr)
		client_free(&p, p.nr - 1);
	close(p.listen_fd);
	close(p.signal_fd);
	return status;
}
