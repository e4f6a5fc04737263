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
#include <sys/un.h>
#include <unistd.h>

#include "common/error.h"

#define FIRST_HOST_PORT  1024
#define CONNECT_LINE_MAX 64

/* A host program that has connected but not sent its CONNECT line yet. */
struct handshake {
	GSource base;
	struct vsock_muxer *mux;
	int fd;
	gpointer tag;
	bool dead;
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
	GList *handshakes;      /* host programs that have not sent CONNECT yet */
	GQueue work;            /* connections that owe the guest something */
	struct orphan_rst orphan[VSOCK_MAX_ORPHAN_RST];
	unsigned int orphan_head, orphan_len;
	uint32_t next_port;
	GList *graveyard; /* closed connections, freed on the I/O thread */
	GSource *reaper;
};

static uint64_t conn_key(uint32_t local_port, uint32_t peer_port)
{
	return (uint64_t)local_port << 32 | peer_port;
}

void vsock_muxer_lock(struct vsock_muxer *mux) { g_mutex_lock(&mux->lock); }
void vsock_muxer_unlock(struct vsock_muxer *mux) { g_mutex_unlock(&mux->lock); }

unsigned int vsock_muxer_nr_conns(struct vsock_muxer *mux)
{
	return g_hash_table_size(mux->conns) + g_list_length(mux->handshakes);
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
	hs->mux->handshakes = g_list_remove(hs->mux->handshakes, hs);
	if (!keep_fd)
		close(hs->fd);
	g_source_destroy(&hs->base);
	g_source_unref(&hs->base); /* GLib holds its own reference through a dispatch */
}

/* The host program's first line; bytes after it stay in the socket for the guest. */
static void handshake_read(struct handshake *hs)
{
	struct vsock_muxer *mux = hs->mux;
	char line[CONNECT_LINE_MAX];
	ssize_t n = recv(hs->fd, line, sizeof(line), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	char *nl = n > 0 ? memchr(line, '\n', (size_t)n) : NULL;
	if (!nl) {
		if (n <= 0 || n == (ssize_t)sizeof(line))
			handshake_end(hs, false); /* gone, or no line within the limit */
		return;
	}
	size_t len = (size_t)(nl - line) + 1;
	uint32_t port;
	if (recv(hs->fd, line, len, MSG_DONTWAIT) != (ssize_t)len || !parse_connect_line(line, len, &port)) {
		g_message("%s: a host program sent a malformed CONNECT line; closed", mux->name);
		handshake_end(hs, false);
		return;
	}
	uint32_t local;
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

static gboolean handshake_dispatch(GSource *s, GSourceFunc cb, gpointer data)
{
	struct handshake *hs = (struct handshake *)s;
	struct vsock_muxer *mux = hs->mux;
	vsock_muxer_lock(mux);
	if (!hs->dead && g_source_query_unix_fd(s, hs->tag))
		handshake_read(hs);
	vsock_muxer_unlock(mux);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs handshake_funcs = { .dispatch = handshake_dispatch };

static gboolean muxer_accept(gint fd, GIOCondition cond, gpointer data)
{
	struct vsock_muxer *mux = data;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return G_SOURCE_CONTINUE;
	vsock_muxer_lock(mux);
	if (vsock_muxer_nr_conns(mux) >= VSOCK_MAX_CONNS) {
		close(cfd);
	} else {
		struct handshake *hs = (struct handshake *)g_source_new(&handshake_funcs, sizeof(*hs));
		hs->mux = mux;
		hs->fd = cfd;
		hs->tag = g_source_add_unix_fd(&hs->base, cfd, G_IO_IN);
		mux->handshakes = g_list_prepend(mux->handshakes, hs);
		g_source_attach(&hs->base, mux->ctx);
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
	/* Round robin: a connection sends one packet, then goes to the back of the line. */
	struct vsock_connection *c;
	while ((c = g_queue_pop_head(&mux->work)) != NULL) {
		c->queued = false;
		bool got = vsock_connection_next_packet(c, h, buf, cap);
		if (vsock_connection_has_work(c)) {
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
	while (mux->handshakes)
		handshake_end(mux->handshakes->data, false);
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
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
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
		.opaque = mux,
		.owes = muxer_conn_owes,
		.closed = muxer_conn_closed,
	};
	mux->listen_fd = fd;
	mux->conns = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	mux->host_ports = g_hash_table_new(NULL, NULL);
	g_queue_init(&mux->work);
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
	g_source_destroy(mux->listen_src);
	g_source_unref(mux->listen_src);
	vsock_muxer_lock(mux);
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
