/* One virtio-vsock stream between a guest port and a host program (virtio spec 5.10.6).
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
 *    are flags on it, not a queue.
 *
 * Ends. The guest's SHUTDOWN flags are kept: SEND shuts the host socket's write side once
 * its buffer is flushed, RCV stops reading the host; both (or a guest RST) end the
 * connection, with an RST answer for the SHUTDOWN. EOF from the host socket becomes
 * SHUTDOWN(SEND) to the guest; a host socket error, or EOF both ways, becomes RST.
 *
 * The host socket is watched only for what the connection can act on now, so a socket
 * that stays readable or hung up never makes the I/O thread spin. */
#include "devices/virtio/vsock_connection.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define CREDIT_UPDATE_AFTER (VSOCK_BUF_ALLOC / 4)

enum conn_state {
	CONN_REQUEST, /* REQUEST owed or sent to the guest, waiting for RESPONSE */
	CONN_ESTABLISHED,
};

/* Packets a connection owes the guest. */
#define OWE_REQUEST        (1u << 0)
#define OWE_RESPONSE       (1u << 1)
#define OWE_CREDIT_UPDATE  (1u << 2)
#define OWE_CREDIT_REQUEST (1u << 3)
#define OWE_SHUTDOWN       (1u << 4)
#define OWE_RST            (1u << 5)

struct conn;

struct conn_source {
	GSource base;
	struct conn *conn;
	gpointer tag; /* NULL while nothing is watched */
};

struct conn {
	struct vsock_connection pub;
	const struct vsock_connection_owner *owner;
	int fd;
	struct conn_source *src;
	GIOCondition watching;
	enum conn_state state;

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
	unsigned int owe;
};

static struct conn *conn_of(struct vsock_connection *pub) { return (struct conn *)pub; }
static const struct conn *const_conn_of(const struct vsock_connection *pub)
{
	return (const struct conn *)pub;
}

/* ---- watching the host socket ---- */

static void conn_event(struct conn *c, GIOCondition cond);

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
static void conn_watch(struct conn *c, GIOCondition cond)
{
	if (c->pub.dead || cond == c->watching)
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

static uint32_t peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool conn_wants_input(const struct conn *c)
{
	return c->state == CONN_ESTABLISHED && !c->readable && !c->host_eof &&
	       !(c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV) && !(c->owe & OWE_RST) && peer_credit(c) > 0;
}

static void conn_update_watch(struct conn *c)
{
	GIOCondition cond = 0;
	if (conn_wants_input(c))
		cond |= G_IO_IN;
	if (c->state == CONN_ESTABLISHED && c->out->len && !(c->owe & OWE_RST))
		cond |= G_IO_OUT;
	conn_watch(c, cond);
}

/* ---- life cycle ---- */

static struct conn *conn_new(const struct vsock_connection_owner *owner, int fd, enum conn_state state,
			     uint32_t local_port, uint32_t peer_port)
{
	struct conn *c = g_new0(struct conn, 1);
	c->owner = owner;
	c->fd = fd;
	c->state = state;
	c->pub.local_port = local_port;
	c->pub.peer_port = peer_port;
	c->out = g_byte_array_new();
	c->src = (struct conn_source *)g_source_new(&conn_source_funcs, sizeof(struct conn_source));
	c->src->conn = c;
	g_source_attach(&c->src->base, owner->ctx);
	return c;
}

/* Records what c owes the guest and has the owner queue it for the rx path. */
static void conn_owe(struct conn *c, unsigned int what)
{
	c->owe |= what;
	c->owner->owes(c->owner->opaque, &c->pub);
}

void vsock_connection_free(struct vsock_connection *pub)
{
	struct conn *c = conn_of(pub);
	g_source_unref(&c->src->base);
	g_byte_array_unref(c->out);
	g_free(c);
}

void vsock_connection_close(struct vsock_connection *pub)
{
	struct conn *c = conn_of(pub);
	if (c->pub.dead)
		return;
	c->pub.dead = true;
	g_source_destroy(&c->src->base);
	close(c->fd);
	c->fd = -1;
	c->owner->closed(c->owner->opaque, &c->pub);
}

/* Ends c with an RST to the guest: the host socket closes now, the RST follows on rx. */
static void conn_reset(struct conn *c, const char *why)
{
	g_debug("%s: connection %u<->%u reset: %s", c->owner->name, c->pub.local_port, c->pub.peer_port, why);
	conn_watch(c, 0);
	shutdown(c->fd, SHUT_RDWR); /* the host program sees EOF now; the fd closes with the RST */
	c->owe = 0;
	conn_owe(c, OWE_RST);
}

bool vsock_connection_ending(const struct vsock_connection *pub) { return const_conn_of(pub)->owe & OWE_RST; }

/* ---- host side ---- */

/* Writes what c->out holds to the host socket; fwd_cnt counts what it took. */
static void conn_flush(struct conn *c)
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

static void conn_event(struct conn *c, GIOCondition cond)
{
	GMutex *lock = c->owner->lock;
	g_mutex_lock(lock);
	if (c->pub.dead || g_source_is_destroyed(&c->src->base)) {
		g_mutex_unlock(lock);
		return;
	}
	(*c->owner->socket_wakeups)++;
	if (c->state == CONN_ESTABLISHED) {
		if ((cond & (G_IO_OUT | G_IO_ERR | G_IO_HUP)) && c->out->len)
			conn_flush(c);
		if (!c->pub.dead && !(c->owe & OWE_RST) && (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)) &&
		    conn_wants_input(c)) {
			/* Read later, into the guest's own rx buffer, as much as its credit allows. */
			c->readable = true;
			conn_owe(c, 0);
		}
	}
	/* Whatever the event, the socket stays watched only for what c can act on now. */
	if (!c->pub.dead)
		conn_update_watch(c);
	g_mutex_unlock(lock);
}

/* ---- guest side ---- */

static void credit_from(struct conn *c, const struct virtio_vsock_hdr *h)
{
	bool had = peer_credit(c) > 0;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (peer_credit(c) > 0) {
		c->credit_requested = false;
		if (!had && c->readable)
			conn_owe(c, 0); /* input was waiting for this credit */
	}
	/* Credit can shrink too (a smaller buf_alloc, a fwd_cnt that goes back): then the
	 * socket must leave the watch, or its input would wake us again and again. */
	conn_update_watch(c);
}

struct vsock_connection *vsock_connection_new_request(const struct vsock_connection_owner *owner, int fd,
						      uint32_t local_port, uint32_t peer_port)
{
	struct conn *c = conn_new(owner, fd, CONN_REQUEST, local_port, peer_port);
	conn_update_watch(c);
	conn_owe(c, OWE_REQUEST);
	return &c->pub;
}

struct vsock_connection *vsock_connection_new_accepted(const struct vsock_connection_owner *owner, int fd,
						       const struct virtio_vsock_hdr *h)
{
	struct conn *c = conn_new(owner, fd, CONN_ESTABLISHED, h->dst_port, h->src_port);
	credit_from(c, h);
	conn_update_watch(c);
	conn_owe(c, OWE_RESPONSE);
	return &c->pub;
}

static void guest_data(struct conn *c, const struct virtio_vsock_hdr *h, const void *payload)
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

static void guest_shutdown(struct conn *c, uint32_t flags)
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

/* The guest's RESPONSE to our REQUEST: the host program hears "OK <hostport>". */
static void guest_response(struct conn *c, const struct virtio_vsock_hdr *h)
{
	if (h->op != VIRTIO_VSOCK_OP_RESPONSE) {
		conn_reset(c, "no RESPONSE to our REQUEST");
		return;
	}
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->pub.local_port);
	if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		conn_reset(c, "host program gone before OK");
		return;
	}
	c->state = CONN_ESTABLISHED;
	conn_update_watch(c);
}

void vsock_connection_from_guest(struct vsock_connection *pub, const struct virtio_vsock_hdr *h,
				 const void *payload, size_t avail)
{
	struct conn *c = conn_of(pub);
	if (h->op == VIRTIO_VSOCK_OP_RST) {
		g_debug("%s: connection %u<->%u reset by the guest", c->owner->name, c->pub.local_port,
			c->pub.peer_port);
		vsock_connection_close(pub);
		return;
	}
	if (h->len > avail || h->len > VSOCK_MAX_PAYLOAD || (h->len && h->op != VIRTIO_VSOCK_OP_RW)) {
		conn_reset(c, "malformed packet");
		return;
	}
	credit_from(c, h);
	if (c->state == CONN_REQUEST) {
		guest_response(c, h);
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

static void fill_hdr(struct conn *c, struct virtio_vsock_hdr *h, uint16_t op)
{
	*h = (struct virtio_vsock_hdr){
		.src_cid = VSOCK_HOST_CID,
		.dst_cid = c->owner->guest_cid,
		.src_port = c->pub.local_port,
		.dst_port = c->pub.peer_port,
		.type = VIRTIO_VSOCK_TYPE_STREAM,
		.op = op,
		.buf_alloc = VSOCK_BUF_ALLOC,
		.fwd_cnt = c->fwd_cnt,
	};
	c->fwd_reported = c->fwd_cnt;
}

/* Reads host data for c into buf. True: a packet (RW, SHUTDOWN or CREDIT_REQUEST) is in *h. */
static bool conn_read_host(struct conn *c, struct virtio_vsock_hdr *h, void *buf, size_t cap)
{
	uint32_t credit = peer_credit(c);
	if (!credit) {
		/* Stays readable, unwatched: credit_from() queues it when credit comes. */
		if (!c->credit_requested) {
			c->credit_requested = true;
			fill_hdr(c, h, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
			return true;
		}
		return false;
	}
	/* A buffer with room for the header only: the data waits for one that can hold it.
	 * (A read of 0 bytes would return 0, which means end of file.) */
	if (!cap)
		return false;
	size_t want = MIN(cap, (size_t)credit);
	ssize_t n = recv(c->fd, buf, want, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		c->readable = false;
		conn_update_watch(c);
		return false;
	}
	if (n < 0) {
		conn_reset(c, "host socket read failed");
		return false;
	}
	if (n == 0) {
		c->readable = false;
		c->host_eof = true;
		if (c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) {
			conn_reset(c, "both sides are done");
			return false;
		}
		c->our_shutdown |= VIRTIO_VSOCK_SHUTDOWN_SEND;
		fill_hdr(c, h, VIRTIO_VSOCK_OP_SHUTDOWN);
		h->flags = c->our_shutdown;
		conn_update_watch(c);
		return true;
	}
	fill_hdr(c, h, VIRTIO_VSOCK_OP_RW);
	h->len = (uint32_t)n;
	c->tx_cnt += (uint32_t)n;
	return true;
}

bool vsock_connection_next_packet(struct vsock_connection *pub, struct virtio_vsock_hdr *h, void *buf,
				  size_t cap)
{
	struct conn *c = conn_of(pub);
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
		fill_hdr(c, h, order[i].op);
		if (order[i].bit == OWE_RST)
			vsock_connection_close(pub);
		return true;
	}
	if (c->readable && c->state == CONN_ESTABLISHED)
		return conn_read_host(c, h, buf, cap);
	return false;
}

bool vsock_connection_has_work(const struct vsock_connection *pub)
{
	const struct conn *c = const_conn_of(pub);
	return !c->pub.dead && (c->owe || (c->readable && (peer_credit(c) || !c->credit_requested)));
}
