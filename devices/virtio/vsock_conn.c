/* virtio-vsock connections between the guest and host programs (virtio spec 5.10.6).
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
 * Buffering. Neither direction can make the device hold unbounded data:
 *  - host to guest: a host socket is read only when the guest has posted an rx buffer,
 *    and at most the guest's advertised credit (peer buf_alloc - (tx_cnt - peer fwd_cnt))
 *    and the buffer's size; the bytes go straight into that buffer. With no credit the
 *    socket is not watched for input (the kernel's socket buffer pushes back on the host
 *    program) and the device sends one CREDIT_REQUEST.
 *  - guest to host: each connection advertises buf_alloc = VSOCK_BUF_ALLOC and a fwd_cnt
 *    that counts bytes the host socket has taken. Guest data is written to the host
 *    socket at once; what the socket refuses waits in that connection's buffer, which the
 *    credit rule bounds to VSOCK_BUF_ALLOC: a guest that sends beyond its credit gets RST.
 *    So one slow host peer stalls only its own connection (its guest sender runs out of
 *    credit), never the shared tx queue, and the device holds at most
 *    VSOCK_MAX_CONNS * VSOCK_BUF_ALLOC bytes. CREDIT_UPDATE goes out once fwd_cnt has
 *    moved a quarter of buf_alloc past what the guest last heard (and on CREDIT_REQUEST).
 *  - packets the device owes a connection (REQUEST, RESPONSE, SHUTDOWN, CREDIT_*, RST)
 *    are flags on it, not a queue; RSTs for packets of unknown connections go to a queue
 *    of VSOCK_MAX_ORPHAN_RST entries, and while it is full the device stops taking tx.
 *
 * Ends. The guest's SHUTDOWN flags are kept: SEND shuts the host socket's write side once
 * its buffer is flushed, RCV stops reading the host; both (or a guest RST) end the
 * connection, with an RST answer for the SHUTDOWN. EOF from the host socket becomes
 * SHUTDOWN(SEND) to the guest; a host socket error, or EOF both ways, becomes RST.
 *
 * Threads. Host sockets are watched on the VM's I/O thread; the rx/tx queue work runs
 * there too but under the transport's lock, and a device reset comes from a vCPU thread:
 * one mutex guards the core. Connections are freed only on the I/O thread (a reset moves
 * them to a list reaped from an idle source), so a socket event already under way never
 * sees freed memory. */
#include "devices/virtio/vsock_conn.h"

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

#define FIRST_HOST_PORT     1024
#define CONNECT_LINE_MAX    64
#define CREDIT_UPDATE_AFTER (VSOCK_BUF_ALLOC / 4)

enum conn_state {
	CONN_HANDSHAKE, /* host program connected, its CONNECT line not read yet */
	CONN_REQUEST,   /* REQUEST owed or sent to the guest, waiting for RESPONSE */
	CONN_ESTABLISHED,
};

/* Packets a connection owes the guest. */
#define OWE_REQUEST        (1u << 0)
#define OWE_RESPONSE       (1u << 1)
#define OWE_CREDIT_UPDATE  (1u << 2)
#define OWE_CREDIT_REQUEST (1u << 3)
#define OWE_SHUTDOWN       (1u << 4)
#define OWE_RST            (1u << 5)

struct vsock_conn;

struct conn_source {
	GSource base;
	struct vsock_conn *conn;
	gpointer tag; /* NULL while nothing is watched */
};

struct vsock_conn {
	struct vsock_core *core;
	int fd;
	struct conn_source *src;
	GIOCondition watching;
	enum conn_state state;
	uint32_t local_port;  /* the host side's port */
	uint32_t peer_port;   /* the guest's port */
	bool host_port_owned; /* local_port came from the allocator */

	/* Credit the guest gave us, and what we sent it. */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	bool credit_requested;
	/* Our side: guest bytes received, bytes the host socket took, fwd_cnt last told. */
	uint32_t rx_cnt, fwd_cnt, fwd_reported;
	GByteArray *out; /* guest bytes the host socket has not taken (< VSOCK_BUF_ALLOC) */

	uint32_t peer_shutdown; /* VIRTIO_VSOCK_SHUTDOWN_* the guest sent */
	uint32_t our_shutdown;  /* what SHUTDOWN we owe or sent */
	bool host_eof;          /* read 0 from the host socket */
	bool host_shut_wr;
	bool closing;  /* the guest shut down both ways: RST once out is flushed */
	bool readable; /* the host socket reported input; not watched until read */
	bool queued;   /* in core->work */
	bool dead;
	unsigned int owe;
};

struct orphan_rst {
	uint32_t local_port, peer_port;
};

struct vsock_core {
	char *name;
	uint64_t guest_cid;
	char *socket_path;
	GMainContext *ctx;
	vsock_kick_fn rx_kick;
	void *opaque;
	GMutex lock;
	int listen_fd;
	GSource *listen_src;
	GHashTable *conns;      /* key (local_port << 32 | peer_port) -> conn */
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

void vsock_core_lock(struct vsock_core *core) { g_mutex_lock(&core->lock); }
void vsock_core_unlock(struct vsock_core *core) { g_mutex_unlock(&core->lock); }

unsigned int vsock_core_nr_conns(struct vsock_core *core)
{
	return g_hash_table_size(core->conns) + g_list_length(core->handshakes);
}

/* ---- connection bookkeeping ---- */

static void conn_event(struct vsock_conn *c, GIOCondition cond);

static gboolean conn_source_dispatch(GSource *s, GSourceFunc cb, gpointer data)
{
	struct conn_source *cs = (struct conn_source *)s;
	GIOCondition rev = cs->tag ? g_source_query_unix_fd(s, cs->tag) : 0;
	if (rev)
		conn_event(cs->conn, rev);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs conn_source_funcs = { .dispatch = conn_source_dispatch };

/* Watches exactly cond on the host socket. With nothing to watch the fd leaves the
 * source, so a peer's hang-up cannot spin the loop while we wait for guest credit. */
static void conn_watch(struct vsock_conn *c, GIOCondition cond)
{
	if (c->dead || cond == c->watching)
		return;
	GSource *s = &c->src->base;
	if (!cond) {
		g_source_remove_unix_fd(s, c->src->tag);
		c->src->tag = NULL;
	} else if (!c->src->tag) {
		c->src->tag = g_source_add_unix_fd(s, c->fd, cond);
	} else {
		g_source_modify_unix_fd(s, c->src->tag, cond);
	}
	c->watching = cond;
}

static uint32_t peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool conn_wants_input(const struct vsock_conn *c)
{
	if (c->state == CONN_HANDSHAKE)
		return true;
	return c->state == CONN_ESTABLISHED && !c->readable && !c->host_eof &&
	       !(c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV) && !(c->owe & OWE_RST) && peer_credit(c) > 0;
}

static void conn_update_watch(struct vsock_conn *c)
{
	GIOCondition cond = 0;
	if (conn_wants_input(c))
		cond |= G_IO_IN;
	if (c->state == CONN_ESTABLISHED && c->out->len && !(c->owe & OWE_RST))
		cond |= G_IO_OUT;
	conn_watch(c, cond);
}

static struct vsock_conn *conn_new(struct vsock_core *core, int fd, enum conn_state state)
{
	struct vsock_conn *c = g_new0(struct vsock_conn, 1);
	c->core = core;
	c->fd = fd;
	c->state = state;
	c->out = g_byte_array_new();
	c->src = (struct conn_source *)g_source_new(&conn_source_funcs, sizeof(struct conn_source));
	c->src->conn = c;
	g_source_attach(&c->src->base, core->ctx);
	return c;
}

/* Queues c for the rx path and tells the device. */
static void conn_owe(struct vsock_conn *c, unsigned int what)
{
	c->owe |= what;
	if (!c->queued) {
		c->queued = true;
		g_queue_push_tail(&c->core->work, c);
	}
	c->core->rx_kick(c->core->opaque);
}

static gboolean core_reap(gpointer data)
{
	struct vsock_core *core = data;
	vsock_core_lock(core);
	GList *dead = core->graveyard;
	core->graveyard = NULL;
	core->reaper = NULL;
	vsock_core_unlock(core);
	for (GList *l = dead; l; l = l->next) {
		struct vsock_conn *c = l->data;
		g_source_unref(&c->src->base);
		g_byte_array_unref(c->out);
		g_free(c);
	}
	g_list_free(dead);
	return G_SOURCE_REMOVE;
}

/* Ends c now: its socket is closed, it leaves every list; the memory goes later. */
static void conn_close(struct vsock_conn *c)
{
	struct vsock_core *core = c->core;
	if (c->dead)
		return;
	c->dead = true;
	g_source_destroy(&c->src->base);
	close(c->fd);
	c->fd = -1;
	if (c->state == CONN_HANDSHAKE)
		core->handshakes = g_list_remove(core->handshakes, c);
	else
		g_hash_table_remove(core->conns, &(uint64_t){ conn_key(c->local_port, c->peer_port) });
	if (c->host_port_owned)
		g_hash_table_remove(core->host_ports, GUINT_TO_POINTER(c->local_port));
	if (c->queued) {
		g_queue_remove(&core->work, c);
		c->queued = false;
	}
	core->graveyard = g_list_prepend(core->graveyard, c);
	if (!core->reaper) {
		core->reaper = g_idle_source_new();
		g_source_set_callback(core->reaper, core_reap, core, NULL);
		g_source_attach(core->reaper, core->ctx);
		g_source_unref(core->reaper);
	}
}

/* Ends c with an RST to the guest: the host socket closes now, the RST follows on rx. */
static void conn_reset(struct vsock_conn *c, const char *why)
{
	g_debug("%s: connection %u<->%u reset: %s", c->core->name, c->local_port, c->peer_port, why);
	if (c->state == CONN_HANDSHAKE) {
		conn_close(c);
		return;
	}
	conn_watch(c, 0);
	shutdown(c->fd, SHUT_RDWR); /* the host program sees EOF now; the fd closes with the RST */
	c->owe = 0;
	conn_owe(c, OWE_RST);
}

static void orphan_rst(struct vsock_core *core, uint32_t local_port, uint32_t peer_port)
{
	if (core->orphan_len == VSOCK_MAX_ORPHAN_RST)
		return; /* tx stalls before this; a dropped RST costs the guest only a timeout */
	core->orphan[(core->orphan_head + core->orphan_len++) % VSOCK_MAX_ORPHAN_RST] =
		(struct orphan_rst){ local_port, peer_port };
	core->rx_kick(core->opaque);
}

bool vsock_core_tx_stalled(struct vsock_core *core) { return core->orphan_len == VSOCK_MAX_ORPHAN_RST; }

/* ---- host side ---- */

/* Writes what c->out holds to the host socket; fwd_cnt counts what it took. */
static void conn_flush(struct vsock_conn *c)
{
	while (c->out->len) {
		ssize_t n = send(c->fd, c->out->data, c->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_reset(c, "host socket write failed");
			return;
		}
		g_byte_array_remove_range(c->out, 0, (guint)n);
		c->fwd_cnt += (uint32_t)n;
	}
	if (c->closing && !c->out->len) {
		conn_reset(c, "the guest shut down both ways");
		return;
	}
	if (c->fwd_cnt - c->fwd_reported >= CREDIT_UPDATE_AFTER && !c->closing)
		conn_owe(c, OWE_CREDIT_UPDATE);
	if (!c->out->len && (c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) && !c->host_shut_wr) {
		shutdown(c->fd, SHUT_WR);
		c->host_shut_wr = true;
	}
	conn_update_watch(c);
}

static bool allocate_host_port(struct vsock_core *core, uint32_t peer_port, uint32_t *port)
{
	for (uint32_t tries = 0; tries < 65536; tries++) {
		uint32_t p = core->next_port++;
		if (core->next_port == 0 || core->next_port > 65535)
			core->next_port = FIRST_HOST_PORT;
		if (!g_hash_table_contains(core->host_ports, GUINT_TO_POINTER(p)) &&
		    !g_hash_table_contains(core->conns, &(uint64_t){ conn_key(p, peer_port) })) {
			g_hash_table_add(core->host_ports, GUINT_TO_POINTER(p));
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

/* The host program's first line; bytes after it stay in the socket for the guest. */
static void conn_read_connect(struct vsock_conn *c)
{
	struct vsock_core *core = c->core;
	char line[CONNECT_LINE_MAX];
	ssize_t n = recv(c->fd, line, sizeof(line), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	char *nl = n > 0 ? memchr(line, '\n', (size_t)n) : NULL;
	if (!nl) {
		if (n <= 0 || n == (ssize_t)sizeof(line))
			conn_close(c); /* gone, or no line within the limit */
		return;
	}
	size_t len = (size_t)(nl - line) + 1;
	uint32_t port;
	if (recv(c->fd, line, len, MSG_DONTWAIT) != (ssize_t)len || !parse_connect_line(line, len, &port)) {
		g_message("%s: a host program sent a malformed CONNECT line; closed", core->name);
		conn_close(c);
		return;
	}
	uint32_t local;
	if (g_hash_table_size(core->conns) >= VSOCK_MAX_CONNS || !allocate_host_port(core, port, &local)) {
		g_message("%s: CONNECT %u refused: too many connections", core->name, port);
		conn_close(c);
		return;
	}
	core->handshakes = g_list_remove(core->handshakes, c);
	c->state = CONN_REQUEST;
	c->local_port = local;
	c->host_port_owned = true;
	c->peer_port = port;
	g_hash_table_insert(core->conns, g_memdup2(&(uint64_t){ conn_key(local, port) }, 8), c);
	conn_update_watch(c);
	conn_owe(c, OWE_REQUEST);
}

static void conn_event(struct vsock_conn *c, GIOCondition cond)
{
	struct vsock_core *core = c->core;
	vsock_core_lock(core);
	if (c->dead || g_source_is_destroyed(&c->src->base)) {
		vsock_core_unlock(core);
		return;
	}
	if (c->state == CONN_HANDSHAKE) {
		conn_read_connect(c);
	} else if (c->state == CONN_ESTABLISHED) {
		if ((cond & (G_IO_OUT | G_IO_ERR | G_IO_HUP)) && c->out->len)
			conn_flush(c);
		if (!c->dead && !(c->owe & OWE_RST) && (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)) &&
		    conn_wants_input(c)) {
			/* Read later, into the guest's own rx buffer, as much as its credit allows. */
			c->readable = true;
			conn_update_watch(c);
			conn_owe(c, 0);
		}
	}
	vsock_core_unlock(core);
}

static gboolean core_accept(gint fd, GIOCondition cond, gpointer data)
{
	struct vsock_core *core = data;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return G_SOURCE_CONTINUE;
	vsock_core_lock(core);
	if (vsock_core_nr_conns(core) >= VSOCK_MAX_CONNS) {
		close(cfd);
	} else {
		struct vsock_conn *c = conn_new(core, cfd, CONN_HANDSHAKE);
		core->handshakes = g_list_prepend(core->handshakes, c);
		conn_update_watch(c);
	}
	vsock_core_unlock(core);
	return G_SOURCE_CONTINUE;
}

/* ---- guest side ---- */

static void credit_from(struct vsock_conn *c, const struct virtio_vsock_hdr *h)
{
	bool had = peer_credit(c) > 0;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (peer_credit(c) > 0) {
		c->credit_requested = false;
		if (!had && c->readable)
			conn_owe(c, 0); /* input was waiting for this credit */
		else if (!had)
			conn_update_watch(c);
	}
}

/* The guest connects to host port hdr->dst_port: the unix socket PATH_port. */
static void guest_connect(struct vsock_core *core, const struct virtio_vsock_hdr *h)
{
	if (g_hash_table_size(core->conns) >= VSOCK_MAX_CONNS) {
		orphan_rst(core, h->dst_port, h->src_port);
		return;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int len = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", core->socket_path, h->dst_port);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || len < 0 || (size_t)len >= sizeof(sa.sun_path) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		g_debug("%s: guest port %u -> host port %u: %s", core->name, h->src_port, h->dst_port,
			g_strerror(errno));
		if (fd >= 0)
			close(fd);
		orphan_rst(core, h->dst_port, h->src_port);
		return;
	}
	struct vsock_conn *c = conn_new(core, fd, CONN_ESTABLISHED);
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	g_hash_table_insert(core->conns, g_memdup2(&(uint64_t){ conn_key(c->local_port, c->peer_port) }, 8),
			    c);
	credit_from(c, h);
	conn_update_watch(c);
	conn_owe(c, OWE_RESPONSE);
}

static void guest_data(struct vsock_conn *c, const struct virtio_vsock_hdr *h, const void *payload)
{
	if (c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) {
		conn_reset(c, "data after the guest's SHUTDOWN(SEND)");
		return;
	}
	/* Credit: what the guest may have outstanding is our buf_alloc minus what we hold. */
	if (c->out->len + (uint64_t)h->len > VSOCK_BUF_ALLOC) {
		conn_reset(c, "the guest sent beyond its credit");
		return;
	}
	c->rx_cnt += h->len;
	if (c->host_shut_wr)
		return;
	g_byte_array_append(c->out, payload, h->len);
	conn_flush(c);
}

static void guest_shutdown(struct vsock_conn *c, uint32_t flags)
{
	c->peer_shutdown |= flags & (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	if (c->peer_shutdown == (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)) {
		/* The guest is done both ways: hand the host what is left, then RST. */
		c->closing = true;
		conn_flush(c);
		return;
	}
	if (c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND)
		conn_flush(c); /* shuts the host's write side once the buffer is empty */
	else
		conn_update_watch(c);
}

void vsock_core_from_guest(struct vsock_core *core, const struct virtio_vsock_hdr *h, const void *payload,
			   size_t avail)
{
	if (h->src_cid != core->guest_cid)
		return; /* not from this guest's address: nothing to answer */
	if (h->dst_cid != VSOCK_HOST_CID || h->type != VIRTIO_VSOCK_TYPE_STREAM) {
		if (h->op != VIRTIO_VSOCK_OP_RST)
			orphan_rst(core, h->dst_port, h->src_port);
		return;
	}
	uint64_t key = conn_key(h->dst_port, h->src_port);
	struct vsock_conn *c = g_hash_table_lookup(core->conns, &key);
	if (c && (c->owe & OWE_RST))
		return; /* already ending: its RST is on the way */
	if (!c) {
		if (h->op == VIRTIO_VSOCK_OP_REQUEST)
			guest_connect(core, h);
		else if (h->op != VIRTIO_VSOCK_OP_RST)
			orphan_rst(core, h->dst_port, h->src_port);
		return;
	}
	if (h->op == VIRTIO_VSOCK_OP_RST) {
		g_debug("%s: connection %u<->%u reset by the guest", core->name, c->local_port, c->peer_port);
		conn_close(c);
		return;
	}
	if (h->len > avail || h->len > VSOCK_MAX_PAYLOAD || (h->len && h->op != VIRTIO_VSOCK_OP_RW)) {
		conn_reset(c, "malformed packet");
		return;
	}
	credit_from(c, h);
	if (c->state == CONN_REQUEST) {
		if (h->op != VIRTIO_VSOCK_OP_RESPONSE) {
			conn_reset(c, "no RESPONSE to our REQUEST");
			return;
		}
		char ok[32];
		int n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
		if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
			conn_reset(c, "host program gone before OK");
			return;
		}
		c->state = CONN_ESTABLISHED;
		conn_update_watch(c);
		return;
	}
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RW:
		guest_data(c, h, payload);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		conn_owe(c, OWE_CREDIT_UPDATE);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		guest_shutdown(c, h->flags);
		break;
	default: /* REQUEST or RESPONSE on an established connection, unknown ops */
		conn_reset(c, "unexpected operation");
		break;
	}
}

/* ---- packets for the guest ---- */

bool vsock_core_rx_ready(struct vsock_core *core)
{
	return core->orphan_len || !g_queue_is_empty(&core->work);
}

static void fill_hdr(struct vsock_core *core, struct vsock_conn *c, struct virtio_vsock_hdr *h, uint16_t op)
{
	*h = (struct virtio_vsock_hdr){
		.src_cid = VSOCK_HOST_CID,
		.dst_cid = core->guest_cid,
		.src_port = c->local_port,
		.dst_port = c->peer_port,
		.type = VIRTIO_VSOCK_TYPE_STREAM,
		.op = op,
		.buf_alloc = VSOCK_BUF_ALLOC,
		.fwd_cnt = c->fwd_cnt,
	};
	c->fwd_reported = c->fwd_cnt;
}

/* Reads host data for c into buf. 1: a packet (RW or SHUTDOWN) is in *h. 0: nothing. */
static int conn_read_host(struct vsock_conn *c, struct virtio_vsock_hdr *h, void *buf, size_t cap)
{
	uint32_t credit = peer_credit(c);
	if (!credit) {
		/* Stays readable, unwatched: credit_from() queues it when credit comes. */
		if (!c->credit_requested) {
			c->credit_requested = true;
			fill_hdr(c->core, c, h, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
			return 1;
		}
		return 0;
	}
	size_t want = MIN(cap, (size_t)credit);
	ssize_t n = recv(c->fd, buf, want, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		c->readable = false;
		conn_update_watch(c);
		return 0;
	}
	if (n < 0) {
		conn_reset(c, "host socket read failed");
		return 0;
	}
	if (n == 0) {
		c->readable = false;
		c->host_eof = true;
		if (c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) {
			conn_reset(c, "both sides are done");
			return 0;
		}
		c->our_shutdown |= VIRTIO_VSOCK_SHUTDOWN_SEND;
		fill_hdr(c->core, c, h, VIRTIO_VSOCK_OP_SHUTDOWN);
		h->flags = c->our_shutdown;
		conn_update_watch(c);
		return 1;
	}
	fill_hdr(c->core, c, h, VIRTIO_VSOCK_OP_RW);
	h->len = (uint32_t)n;
	c->tx_cnt += (uint32_t)n;
	return 1;
}

/* One packet c owes, control packets first. 1: *h filled; 0: c owes nothing now. */
static int conn_next_packet(struct vsock_conn *c, struct virtio_vsock_hdr *h, void *buf, size_t cap)
{
	static const struct {
		unsigned int bit;
		uint16_t op;
	} order[] = {
		{ OWE_RST, VIRTIO_VSOCK_OP_RST },
		{ OWE_REQUEST, VIRTIO_VSOCK_OP_REQUEST },
		{ OWE_RESPONSE, VIRTIO_VSOCK_OP_RESPONSE },
		{ OWE_CREDIT_UPDATE, VIRTIO_VSOCK_OP_CREDIT_UPDATE },
	};
	for (unsigned int i = 0; i < G_N_ELEMENTS(order); i++) {
		if (!(c->owe & order[i].bit))
			continue;
		c->owe &= ~order[i].bit;
		fill_hdr(c->core, c, h, order[i].op);
		if (order[i].bit == OWE_RST)
			conn_close(c);
		return 1;
	}
	if (c->readable && c->state == CONN_ESTABLISHED)
		return conn_read_host(c, h, buf, cap);
	return 0;
}

bool vsock_core_to_guest(struct vsock_core *core, struct virtio_vsock_hdr *h, void *buf, size_t cap)
{
	if (core->orphan_len) {
		struct orphan_rst *o = &core->orphan[core->orphan_head];
		*h = (struct virtio_vsock_hdr){
			.src_cid = VSOCK_HOST_CID,
			.dst_cid = core->guest_cid,
			.src_port = o->local_port,
			.dst_port = o->peer_port,
			.type = VIRTIO_VSOCK_TYPE_STREAM,
			.op = VIRTIO_VSOCK_OP_RST,
		};
		core->orphan_head = (core->orphan_head + 1) % VSOCK_MAX_ORPHAN_RST;
		core->orphan_len--;
		return true;
	}
	/* Round robin: a connection sends one packet, then goes to the back of the line. */
	struct vsock_conn *c;
	while ((c = g_queue_pop_head(&core->work)) != NULL) {
		c->queued = false;
		int r = conn_next_packet(c, h, buf, cap);
		if (!c->dead && (c->owe || (c->readable && (peer_credit(c) || !c->credit_requested)))) {
			c->queued = true;
			g_queue_push_tail(&core->work, c);
		}
		if (r)
			return true;
	}
	return false;
}

/* ---- life cycle ---- */

void vsock_core_reset(struct vsock_core *core)
{
	GList *all = g_hash_table_get_values(core->conns);
	for (GList *l = all; l; l = l->next)
		conn_close(l->data);
	g_list_free(all);
	while (core->handshakes)
		conn_close(core->handshakes->data);
	core->orphan_len = core->orphan_head = 0;
}

struct vsock_core *vsock_core_new(const char *name, uint64_t guest_cid, const char *socket_path,
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
	struct vsock_core *core = g_new0(struct vsock_core, 1);
	core->name = g_strdup(name);
	core->guest_cid = guest_cid;
	core->socket_path = g_strdup(socket_path);
	core->ctx = g_main_context_ref(ctx);
	core->rx_kick = rx_kick;
	core->opaque = opaque;
	g_mutex_init(&core->lock);
	core->listen_fd = fd;
	core->conns = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	core->host_ports = g_hash_table_new(NULL, NULL);
	g_queue_init(&core->work);
	core->next_port = FIRST_HOST_PORT;
	core->listen_src = g_unix_fd_source_new(fd, G_IO_IN);
	g_source_set_callback(core->listen_src, G_SOURCE_FUNC(core_accept), core, NULL);
	g_source_attach(core->listen_src, ctx);
	return core;
}

void vsock_core_free(struct vsock_core *core)
{
	if (!core)
		return;
	g_source_destroy(core->listen_src);
	g_source_unref(core->listen_src);
	vsock_core_lock(core);
	vsock_core_reset(core);
	vsock_core_unlock(core);
	if (core->reaper)
		g_source_destroy(core->reaper);
	core_reap(core);
	close(core->listen_fd);
	unlink(core->socket_path);
	g_hash_table_unref(core->conns);
	g_hash_table_unref(core->host_ports);
	g_main_context_unref(core->ctx);
	g_mutex_clear(&core->lock);
	g_free(core->socket_path);
	g_free(core->name);
	g_free(core);
}
