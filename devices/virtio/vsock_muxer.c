/* virtio-vsock's muxer: host programs in, connections routed, packets out in turn.
 *
 * Host protocol. sepia-vmm listens on the unix socket PATH (--vsock socket=PATH). A host
 * program connects and writes "CONNECT <port>\n"; the device sends REQUEST to that guest
 * port. On RESPONSE it writes "OK <hostport>\n" (the host-side port it picked, unique
 * among live connections, from 1024 up) and relays bytes both ways; on RST (nobody
 * listens in the guest) it closes the unix connection. A malformed line (anything but
 * "CONNECT " and a decimal port, then "\n", within 64 bytes) closes it. A guest connect
 * to CID 2 port P reaches the unix socket "PATH_P" (a nonblocking connect; if nothing
 * listens there, or the connect would block, the guest gets RST).
 *
 * Handshakes. Until its line is whole a host program is a handshake, not a connection:
 * the bytes that came are kept (and consumed from the socket, so it wakes the muxer only
 * when more come or the program goes), the program is closed if the line is not whole
 * within VSOCK_HANDSHAKE_TIMEOUT_MS, and at most VSOCK_MAX_HANDSHAKES wait at once (a new
 * one pushes out the oldest). They do not count against VSOCK_MAX_CONNS, so silent or slow
 * clients cannot shut out the ones that speak (the adb proxy). When accept() fails for
 * want of file descriptors the listening socket is left unwatched for
 * VSOCK_ACCEPT_RETRY_MS instead of waking the muxer in a loop.
 *
 * Routing. A guest packet goes to the connection its (host port, guest port) pair names;
 * a packet for no connection is answered with RST from a queue of VSOCK_MAX_ORPHAN_RST
 * entries, and while that queue is full the device stops taking tx. Packets for the guest
 * go round robin: a connection sends one, then goes to the back of the line.
 *
 * Threads. Host sockets are watched on the VM's I/O thread; the rx/tx queue work runs
 * there too but under the transport's lock, and a device reset comes from a vCPU thread:
 * one mutex guards the muxer and its connections. Connections are freed only on the I/O
 * thread (a reset moves them to a list reaped from an idle source), so a socket event
 * already under way never sees freed memory; a host program still handshaking lives in
 * its own GSource, which GLib keeps alive through a dispatch under way. */
#include "devices/virtio/vsock_muxer.h"

#include <errno.h>
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/error.h"

#define FIRST_HOST_PORT  1024
#define CONNECT_LINE_MAX 64
/* How long accepting pauses after accept() failed for want of resources. */
#define VSOCK_ACCEPT_RETRY_MS 200

/* A host program that has connected but not sent its CONNECT line yet. */
struct handshake {
	GSource base; /* its socket, and a ready time at its deadline */
	struct vsock_muxer *mux;
	GList link; /* in mux->handshakes, oldest first */
	int fd;
	gpointer tag;
	bool dead;
	char line[CONNECT_LINE_MAX]; /* what came of the line so far */
	size_t len;
	gint64 deadline; /* monotonic, microseconds */
};

struct orphan_rst {
	uint32_t local_port, peer_port;
};

struct vsock_muxer {
	char *name;
	uint64_t guest_cid;
	char *socket_path;
	GMainContext *ctx;
	vsock_kick_fn rx_kick;
	void *opaque;
	GMutex lock;
	struct vsock_connection_owner owner; /* what the connections see of us */
	int listen_fd;
	GSource *listen_src;
	GHashTable *conns;      /* key (local_port << 32 | peer_port) -> connection */
	GHashTable *host_ports; /* allocated local ports */
	GQueue handshakes;      /* host programs that have not sent CONNECT yet, oldest first */
	unsigned int handshake_timeout_ms;
	uint64_t handshakes_dropped; /* timed out or pushed out by newer ones */
	GQueue work;                 /* connections that owe the guest something */
	struct orphan_rst orphan[VSOCK_MAX_ORPHAN_RST];
	unsigned int orphan_head, orphan_len;
	uint32_t next_port;
	GList *graveyard; /* closed connections, freed on the I/O thread */
	GSource *reaper;
	GSource *accept_retry; /* accepting paused after an error (out of file descriptors) */
	uint64_t accept_failures;
	uint64_t handshake_wakeups;
	uint64_t accept_wakeups;
	uint64_t conn_wakeups; /* host socket events of connections */
};

static uint64_t conn_key(uint32_t local_port, uint32_t peer_port)
{
	return (uint64_t)local_port << 32 | peer_port;
}

void vsock_muxer_lock(struct vsock_muxer *mux) { g_mutex_lock(&mux->lock); }
void vsock_muxer_unlock(struct vsock_muxer *mux) { g_mutex_unlock(&mux->lock); }

unsigned int vsock_muxer_nr_conns(struct vsock_muxer *mux) { return g_hash_table_size(mux->conns); }

unsigned int vsock_muxer_nr_handshakes(struct vsock_muxer *mux) { return mux->handshakes.length; }
uint64_t vsock_muxer_handshake_wakeups(struct vsock_muxer *mux) { return mux->handshake_wakeups; }
uint64_t vsock_muxer_accept_wakeups(struct vsock_muxer *mux) { return mux->accept_wakeups; }
uint64_t vsock_muxer_conn_wakeups(struct vsock_muxer *mux) { return mux->conn_wakeups; }

void vsock_muxer_set_handshake_timeout(struct vsock_muxer *mux, unsigned int ms)
{
	mux->handshake_timeout_ms = ms;
}

/* For events a host program can repeat at will: true on the 1st, 2nd, 4th, 8th... */
static bool worth_a_message(uint64_t *count)
{
	uint64_t n = ++*count;
	return (n & (n - 1)) == 0;
}

/* ---- the connection table ---- */

static void insert_conn(struct vsock_muxer *mux, struct vsock_connection *c)
{
	g_hash_table_insert(mux->conns, g_memdup2(&(uint64_t){ conn_key(c->local_port, c->peer_port) }, 8),
			    c);
}

/* A connection owes the guest packets: it joins the end of the line. */
static void muxer_conn_owes(void *opaque, struct vsock_connection *c)
{
	struct vsock_muxer *mux = opaque;
	if (!c->queued) {
		c->queued = true;
		g_queue_push_tail(&mux->work, c);
	}
	mux->rx_kick(mux->opaque);
}

static gboolean muxer_reap(gpointer data)
{
	struct vsock_muxer *mux = data;
	vsock_muxer_lock(mux);
	GList *dead = mux->graveyard;
	mux->graveyard = NULL;
	mux->reaper = NULL;
	vsock_muxer_unlock(mux);
	for (GList *l = dead; l; l = l->next)
		vsock_connection_free(l->data);
	g_list_free(dead);
	return G_SOURCE_REMOVE;
}

/* A connection ended: it leaves every list; its memory goes later. */
static void muxer_conn_closed(void *opaque, struct vsock_connection *c)
{
	struct vsock_muxer *mux = opaque;
	g_hash_table_remove(mux->conns, &(uint64_t){ conn_key(c->local_port, c->peer_port) });
	if (c->host_port_owned)
		g_hash_table_remove(mux->host_ports, GUINT_TO_POINTER(c->local_port));
	if (c->queued) {
		g_queue_remove(&mux->work, c);
		c->queued = false;
	}
	mux->graveyard = g_list_prepend(mux->graveyard, c);
	if (!mux->reaper) {
		mux->reaper = g_idle_source_new();
		g_source_set_callback(mux->reaper, muxer_reap, mux, NULL);
		g_source_attach(mux->reaper, mux->ctx);
		g_source_unref(mux->reaper);
	}
}

static void orphan_rst(struct vsock_muxer *mux, uint32_t local_port, uint32_t peer_port)
{
	if (mux->orphan_len == VSOCK_MAX_ORPHAN_RST)
		return; /* tx stalls before this; a dropped RST costs the guest only a timeout */
	mux->orphan[(mux->orphan_head + mux->orphan_len++) % VSOCK_MAX_ORPHAN_RST] =
		(struct orphan_rst){ local_port, peer_port };
	mux->rx_kick(mux->opaque);
}

bool vsock_muxer_tx_stalled(struct vsock_muxer *mux) { return mux->orphan_len == VSOCK_MAX_ORPHAN_RST; }

/* ---- host programs: the CONNECT line ---- */

static bool allocate_host_port(struct vsock_muxer *mux, uint32_t peer_port, uint32_t *port)
{
	for (uint32_t tries = 0; tries < 65536; tries++) {
		uint32_t p = mux->next_port++;
		if (mux->next_port == 0 || mux->next_port > 65535)
			mux->next_port = FIRST_HOST_PORT;
		if (!g_hash_table_contains(mux->host_ports, GUINT_TO_POINTER(p)) &&
		    !g_hash_table_contains(mux->conns, &(uint64_t){ conn_key(p, peer_port) })) {
			g_hash_table_add(mux->host_ports, GUINT_TO_POINTER(p));
			*port = p;
			return true;
		}
	}
	return false;
}

/* "CONNECT <port>\n": the decimal port; false for anything else. */
static bool parse_connect_line(const char *line, size_t len, uint32_t *port)
{
	static const char prefix[] = "CONNECT ";
	size_t plen = sizeof(prefix) - 1;
	if (len < plen + 2 || memcmp(line, prefix, plen) || line[len - 1] != '\n')
		return false;
	uint64_t v = 0;
	for (size_t i = plen; i < len - 1; i++) {
		if (line[i] < '0' || line[i] > '9' || i - plen >= 10)
			return false;
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*port = (uint32_t)v;
	return true;
}

/* Drops a handshake; with keep_fd its socket lives on (in a connection). */
static void handshake_end(struct handshake *hs, bool keep_fd)
{
	if (hs->dead)
		return;
	hs->dead = true;
	g_queue_unlink(&hs->mux->handshakes, &hs->link);
	if (!keep_fd)
		close(hs->fd);
	g_source_destroy(&hs->base);
	g_source_unref(&hs->base); /* GLib holds its own reference through a dispatch */
}

/* A host program is shut out before it finished its line: too slow, or pushed out. */
static void handshake_drop(struct handshake *hs, const char *why)
{
	struct vsock_muxer *mux = hs->mux;
	if (worth_a_message(&mux->handshakes_dropped))
		g_message("%s: closed a host program that %s (%" G_GUINT64_FORMAT " so far)", mux->name, why,
			  mux->handshakes_dropped);
	handshake_end(hs, false);
}

/* The line is whole: a connection owing the guest a REQUEST takes the socket. */
static void handshake_done(struct handshake *hs)
{
	struct vsock_muxer *mux = hs->mux;
	uint32_t port, local;
	if (!parse_connect_line(hs->line, hs->len, &port)) {
		g_message("%s: a host program sent a malformed CONNECT line; closed", mux->name);
		handshake_end(hs, false);
		return;
	}
	if (g_hash_table_size(mux->conns) >= VSOCK_MAX_CONNS || !allocate_host_port(mux, port, &local)) {
		g_message("%s: CONNECT %u refused: too many connections", mux->name, port);
		handshake_end(hs, false);
		return;
	}
	int fd = hs->fd;
	handshake_end(hs, true);
	struct vsock_connection *c = vsock_connection_new_request(&mux->owner, fd, local, port);
	c->host_port_owned = true;
	insert_conn(mux, c);
}

/* Takes what the host program sent of its line, up to and with the newline: bytes after
 * it stay in the socket for the guest. Every byte read is consumed, so the socket is
 * readable again only when more comes (or the program goes): no wakeup repeats. */
static void handshake_read(struct handshake *hs)
{
	char *at = hs->line + hs->len;
	size_t room = sizeof(hs->line) - hs->len;
	ssize_t n = recv(hs->fd, at, room, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		handshake_end(hs, false); /* gone before the line was whole */
		return;
	}
	char *nl = memchr(at, '\n', (size_t)n);
	size_t take = nl ? (size_t)(nl - at) + 1 : (size_t)n;
	if (recv(hs->fd, at, take, MSG_DONTWAIT) != (ssize_t)take) {
		handshake_end(hs, false);
		return;
	}
	hs->len += take;
	if (nl)
		handshake_done(hs);
	else if (hs->len == sizeof(hs->line))
		handshake_done(hs); /* no newline within the limit: malformed */
}

static gboolean handshake_dispatch(GSource *s, GSourceFunc cb, gpointer data)
{
	struct handshake *hs = (struct handshake *)s;
	struct vsock_muxer *mux = hs->mux;
	vsock_muxer_lock(mux);
	mux->handshake_wakeups++;
	if (!hs->dead && g_source_query_unix_fd(s, hs->tag))
		handshake_read(hs);
	if (!hs->dead && g_get_monotonic_time() >= hs->deadline) {
		g_autofree char *why = g_strdup_printf("sent no CONNECT line within %u ms",
						       mux->handshake_timeout_ms);
		handshake_drop(hs, why);
	}
	vsock_muxer_unlock(mux);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs handshake_funcs = { .dispatch = handshake_dispatch };

static void handshake_new(struct vsock_muxer *mux, int fd)
{
	if (mux->handshakes.length >= VSOCK_MAX_HANDSHAKES)
		handshake_drop(g_queue_peek_head(&mux->handshakes), "was still sending its CONNECT line "
								    "when too many others were");
	struct handshake *hs = (struct handshake *)g_source_new(&handshake_funcs, sizeof(*hs));
	hs->mux = mux;
	hs->fd = fd;
	hs->link.data = hs;
	hs->tag = g_source_add_unix_fd(&hs->base, fd, G_IO_IN);
	hs->deadline = g_get_monotonic_time() + (gint64)mux->handshake_timeout_ms * 1000;
	g_source_set_ready_time(&hs->base, hs->deadline);
	g_queue_push_tail_link(&mux->handshakes, &hs->link);
	g_source_attach(&hs->base, mux->ctx);
}

static gboolean muxer_accept(gint fd, GIOCondition cond, gpointer data);

static gboolean muxer_accept_again(gpointer data)
{
	struct vsock_muxer *mux = data;
	vsock_muxer_lock(mux);
	mux->accept_retry = NULL;
	mux->listen_src = g_unix_fd_source_new(mux->listen_fd, G_IO_IN);
	g_source_set_callback(mux->listen_src, G_SOURCE_FUNC(muxer_accept), mux, NULL);
	g_source_attach(mux->listen_src, mux->ctx);
	vsock_muxer_unlock(mux);
	return G_SOURCE_REMOVE;
}

static gboolean muxer_accept(gint fd, GIOCondition cond, gpointer data)
{
	struct vsock_muxer *mux = data;
	vsock_muxer_lock(mux);
	mux->accept_wakeups++;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd >= 0) {
		handshake_new(mux, cfd);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
		/* Out of file descriptors, say: the pending client stays in the backlog and keeps
		 * the socket readable, so stop watching it for a while rather than spin. */
		if (worth_a_message(&mux->accept_failures))
			g_message("%s: cannot accept a host program on %s: %s; trying again in %u ms "
				  "(%" G_GUINT64_FORMAT " so far)",
				  mux->name, mux->socket_path, g_strerror(errno), VSOCK_ACCEPT_RETRY_MS,
				  mux->accept_failures);
		g_source_unref(mux->listen_src);
		mux->listen_src = NULL;
		mux->accept_retry = g_timeout_source_new(VSOCK_ACCEPT_RETRY_MS);
		g_source_set_callback(mux->accept_retry, muxer_accept_again, mux, NULL);
		g_source_attach(mux->accept_retry, mux->ctx);
		g_source_unref(mux->accept_retry);
		vsock_muxer_unlock(mux);
		return G_SOURCE_REMOVE;
	}
	vsock_muxer_unlock(mux);
	return G_SOURCE_CONTINUE;
}

/* ---- guest packets ---- */

/* The guest connects to host port hdr->dst_port: the unix socket PATH_port. */
static void guest_connect(struct vsock_muxer *mux, const struct virtio_vsock_hdr *h)
{
	if (g_hash_table_size(mux->conns) >= VSOCK_MAX_CONNS) {
		orphan_rst(mux, h->dst_port, h->src_port);
		return;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int len = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", mux->socket_path, h->dst_port);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || len < 0 || (size_t)len >= sizeof(sa.sun_path) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		g_debug("%s: guest port %u -> host port %u: %s", mux->name, h->src_port, h->dst_port,
			g_strerror(errno));
		if (fd >= 0)
			close(fd);
		orphan_rst(mux, h->dst_port, h->src_port);
		return;
	}
	insert_conn(mux, vsock_connection_new_accepted(&mux->owner, fd, h));
}

void vsock_muxer_from_guest(struct vsock_muxer *mux, const struct virtio_vsock_hdr *h, const void *payload,
			    size_t avail)
{
	if (h->src_cid != mux->guest_cid)
		return; /* not from this guest's address: nothing to answer */
	if (h->dst_cid != VSOCK_HOST_CID || h->type != VIRTIO_VSOCK_TYPE_STREAM) {
		if (h->op != VIRTIO_VSOCK_OP_RST)
			orphan_rst(mux, h->dst_port, h->src_port);
		return;
	}
	uint64_t key = conn_key(h->dst_port, h->src_port);
	struct vsock_connection *c = g_hash_table_lookup(mux->conns, &key);
	if (c && vsock_connection_ending(c))
		return; /* already ending: its RST is on the way */
	if (!c) {
		if (h->op == VIRTIO_VSOCK_OP_REQUEST)
			guest_connect(mux, h);
		else if (h->op != VIRTIO_VSOCK_OP_RST)
			orphan_rst(mux, h->dst_port, h->src_port);
		return;
	}
	vsock_connection_from_guest(c, h, payload, avail);
}

/* ---- packets for the guest ---- */

bool vsock_muxer_rx_ready(struct vsock_muxer *mux)
{
	return mux->orphan_len || !g_queue_is_empty(&mux->work);
}

bool vsock_muxer_to_guest(struct vsock_muxer *mux, struct virtio_vsock_hdr *h, void *buf, size_t cap)
{
	if (mux->orphan_len) {
		struct orphan_rst *o = &mux->orphan[mux->orphan_head];
		*h = (struct virtio_vsock_hdr){
			.src_cid = VSOCK_HOST_CID,
			.dst_cid = mux->guest_cid,
			.src_port = o->local_port,
			.dst_port = o->peer_port,
			.type = VIRTIO_VSOCK_TYPE_STREAM,
			.op = VIRTIO_VSOCK_OP_RST,
		};
		mux->orphan_head = (mux->orphan_head + 1) % VSOCK_MAX_ORPHAN_RST;
		mux->orphan_len--;
		return true;
	}
	/* Round robin: a connection sends one packet, then goes to the back of the line. Each
	 * gets one turn per call: one that cannot send into this buffer (data owed, cap 0)
	 * stays in line without making the call go round forever. */
	struct vsock_connection *c;
	unsigned int turns = g_queue_get_length(&mux->work);
	while (turns-- > 0 && (c = g_queue_pop_head(&mux->work)) != NULL) {
		c->queued = false;
		bool got = vsock_connection_next_packet(c, h, buf, cap);
		/* Building the packet may have queued c again (a failed read resets it and
		 * owes an RST): once only, or the second entry outlives it. */
		if (!c->queued && vsock_connection_has_work(c)) {
			c->queued = true;
			g_queue_push_tail(&mux->work, c);
		}
		if (got)
			return true;
	}
	return false;
}

/* ---- life cycle ---- */

void vsock_muxer_reset(struct vsock_muxer *mux)
{
	GList *all = g_hash_table_get_values(mux->conns);
	for (GList *l = all; l; l = l->next)
		vsock_connection_close(l->data);
	g_list_free(all);
	while (mux->handshakes.head)
		handshake_end(mux->handshakes.head->data, false);
	mux->orphan_len = mux->orphan_head = 0;
}

struct vsock_muxer *vsock_muxer_new(const char *name, uint64_t guest_cid, const char *socket_path,
				    GMainContext *ctx, vsock_kick_fn rx_kick, void *opaque, GError **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	/* Room for "_4294967295" too: guest connects go to PATH_PORT. */
	if (strlen(socket_path) + 11 >= sizeof(sa.sun_path)) {
		g_set_error(error, SEPIA_ERROR, ENAMETOOLONG,
			    "%s: socket path %s is too long for a unix socket", name, socket_path);
		return NULL;
	}
	strcpy(sa.sun_path, socket_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "%s: socket: %s", name, g_strerror(errno));
		return NULL;
	}
	unlink(socket_path); /* a stale socket from an earlier run */
	/* 0660: the owner and the group reach the guest, as the launcher's sockets (README). */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(socket_path, 0660) < 0 ||
	    listen(fd, 64) < 0) {
		int e = errno;
		g_set_error(error, SEPIA_ERROR, e, "%s: cannot listen on %s: %s", name, socket_path,
			    g_strerror(e));
		close(fd);
		return NULL;
	}
	struct vsock_muxer *mux = g_new0(struct vsock_muxer, 1);
	mux->name = g_strdup(name);
	mux->guest_cid = guest_cid;
	mux->socket_path = g_strdup(socket_path);
	mux->ctx = g_main_context_ref(ctx);
	mux->rx_kick = rx_kick;
	mux->opaque = opaque;
	g_mutex_init(&mux->lock);
	mux->owner = (struct vsock_connection_owner){
		.name = mux->name,
		.guest_cid = guest_cid,
		.ctx = ctx,
		.lock = &mux->lock,
		.socket_wakeups = &mux->conn_wakeups,
		.opaque = mux,
		.owes = muxer_conn_owes,
		.closed = muxer_conn_closed,
	};
	mux->listen_fd = fd;
	mux->conns = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	mux->host_ports = g_hash_table_new(NULL, NULL);
	g_queue_init(&mux->work);
	g_queue_init(&mux->handshakes);
	mux->handshake_timeout_ms = VSOCK_HANDSHAKE_TIMEOUT_MS;
	mux->next_port = FIRST_HOST_PORT;
	mux->listen_src = g_unix_fd_source_new(fd, G_IO_IN);
	g_source_set_callback(mux->listen_src, G_SOURCE_FUNC(muxer_accept), mux, NULL);
	g_source_attach(mux->listen_src, ctx);
	return mux;
}

void vsock_muxer_free(struct vsock_muxer *mux)
{
	if (!mux)
		return;
	vsock_muxer_lock(mux);
	if (mux->listen_src) {
		g_source_destroy(mux->listen_src);
		g_source_unref(mux->listen_src);
	}
	if (mux->accept_retry)
		g_source_destroy(mux->accept_retry);
	vsock_muxer_reset(mux);
	vsock_muxer_unlock(mux);
	if (mux->reaper)
		g_source_destroy(mux->reaper);
	muxer_reap(mux);
	close(mux->listen_fd);
	unlink(mux->socket_path);
	g_hash_table_unref(mux->conns);
	g_hash_table_unref(mux->host_ports);
	g_main_context_unref(mux->ctx);
	g_mutex_clear(&mux->lock);
	g_free(mux->socket_path);
	g_free(mux->name);
	g_free(mux);
}
