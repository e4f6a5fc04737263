/* libFuzzer target for virtio-vsock's muxer and connections (devices/virtio/vsock_muxer.c,
 * vsock_connection.c): what a guest puts on its tx queue, and what host programs send on
 * the unix socket, in any order.
 *
 * Input: a list of operations, each a byte (its value modulo the number of operations)
 * and its operands from the bytes after it:
 *   - a guest packet: either a raw 44-byte header, or one built from a few bytes that pick
 *     its CIDs, ports (those of the last REQUEST, a listening host port, a free one, any),
 *     op, flags and credit; then a claimed len (which may lie) and the payload bytes the
 *     chain really held, passed as avail in a buffer of exactly that size;
 *   - a guest RW of up to 64 KiB of one repeated byte (credit overruns in short inputs);
 *   - the guest's RESPONSE to the last REQUEST it saw;
 *   - a host program connects and writes bytes (a CONNECT line, part of one, garbage);
 *     writes more; reads; closes (up to 8 at once);
 *   - the guest takes a packet into a buffer of 0, 1, 7, 4096 or 65536 bytes;
 *   - a host program listening on PATH_5 (the port guest connects reach) accepts,
 *     writes, or closes what it accepted;
 *   - the I/O thread runs; a device reset.
 *
 * Oracle, beyond "no crash, no sanitizer report": every packet for the guest comes from
 * CID 2 to the guest's CID, is a stream packet with a valid op and a len within the
 * buffer, carries data only in RW, and RW carries some; the muxer never holds more
 * half-open handshakes than VSOCK_MAX_HANDSHAKES; the I/O thread's context always goes
 * idle within a bounded number of iterations (a source that stays ready is a spin); a
 * device reset leaves no connection, and nothing is owed after it. */
#include "tests/fuzz/fuzz-common.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "devices/virtio/vsock_muxer.h"

#define GUEST_CID     3
#define LISTEN_PORT   5 /* a host program listens on PATH_5 */
#define MAX_CLIENTS   8
#define MAX_ACCEPTED  8
#define MAX_OPS       256
#define IDLE_WITHIN   256 /* iterations after which the context must be idle */
#define HDR_SIZE      sizeof(struct virtio_vsock_hdr)
#define PAYLOAD_LIMIT 65536

struct cursor {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct cursor *c)
{
	if (!c->n)
		return 0;
	c->n--;
	return *c->p++;
}

static uint16_t u16(struct cursor *c) { return (uint16_t)(u8(c) | u8(c) << 8); }
static uint32_t u32(struct cursor *c) { return (uint32_t)u16(c) | (uint32_t)u16(c) << 16; }

static char *dir, *path;
static GMainContext *ctx;
static int listener = -1;
static unsigned int kicks;
static uint8_t rxbuf[PAYLOAD_LIMIT];
static bool verbose; /* SEPIA_FUZZ_VERBOSE=1: print each packet the guest takes */

static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
	(void)domain;
	(void)data;
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) {
		fprintf(stderr, "fuzz-vsock: %s\n", msg);
		abort();
	}
}

static void cleanup(void)
{
	if (dir) {
		g_autofree char *p5 = g_strdup_printf("%s_%u", path, LISTEN_PORT);
		unlink(p5);
		unlink(path);
		rmdir(dir);
	}
}

static void setup_once(void)
{
	if (ctx)
		return;
	g_log_set_default_handler(drop_log, NULL);
	verbose = g_getenv("SEPIA_FUZZ_VERBOSE") != NULL;
	dir = g_strdup("/dev/shm/sepia-fuzz-vsock.XXXXXX");
	if (!g_mkdtemp(dir)) {
		g_free(dir);
		dir = g_strdup("/tmp/sepia-fuzz-vsock.XXXXXX");
		if (!g_mkdtemp(dir))
			abort();
	}
	atexit(cleanup);
	path = g_build_filename(dir, "v.sock", NULL);
	ctx = g_main_context_new();
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", path, LISTEN_PORT);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listener, 64) < 0)
		abort();
}

static void kick(void *opaque)
{
	(void)opaque;
	kicks++;
}

/* Runs the I/O thread's work; a context still busy after IDLE_WITHIN iterations spins. */
static void run_io(void)
{
	for (int i = 0; g_main_context_iteration(ctx, FALSE); i++)
		if (i == IDLE_WITHIN) {
			fprintf(stderr, "fuzz-vsock: the I/O context is still busy after %d iterations\n",
				IDLE_WITHIN);
			abort();
		}
}

static const uint16_t valid_ops[] = {
	VIRTIO_VSOCK_OP_REQUEST,       VIRTIO_VSOCK_OP_RESPONSE, VIRTIO_VSOCK_OP_RST,
	VIRTIO_VSOCK_OP_SHUTDOWN,      VIRTIO_VSOCK_OP_RW,       VIRTIO_VSOCK_OP_CREDIT_UPDATE,
	VIRTIO_VSOCK_OP_CREDIT_REQUEST
};

struct state {
	struct vsock_muxer *mux;
	int clients[MAX_CLIENTS];
	int accepted[MAX_ACCEPTED];
	struct virtio_vsock_hdr last_request; /* the last REQUEST the guest took */
	uint32_t guest_fwd;                   /* guest bytes taken, for plausible fwd_cnt */
};

/* The guest takes one packet into a buffer of cap bytes after the header. */
static void guest_take(struct state *s, size_t cap)
{
	struct virtio_vsock_hdr h;
	vsock_muxer_lock(s->mux);
	bool got = vsock_muxer_to_guest(s->mux, &h, rxbuf, cap);
	vsock_muxer_unlock(s->mux);
	if (!got)
		return;
	bool known = false;
	for (unsigned int i = 0; i < G_N_ELEMENTS(valid_ops); i++)
		known |= h.op == valid_ops[i];
	if (h.src_cid != VSOCK_HOST_CID || h.dst_cid != GUEST_CID || h.type != VIRTIO_VSOCK_TYPE_STREAM ||
	    !known || h.len > cap || (h.len && h.op != VIRTIO_VSOCK_OP_RW) ||
	    (h.op == VIRTIO_VSOCK_OP_RW && !h.len)) {
		fprintf(stderr, "fuzz-vsock: bad packet for the guest: op %u len %u cap %zu\n", h.op, h.len,
			cap);
		abort();
	}
	if (verbose)
		g_printerr("to the guest: op %u, %u -> %u, len %u, flags %u\n", h.op, h.src_port, h.dst_port,
			   h.len, h.flags);
	if (h.op == VIRTIO_VSOCK_OP_REQUEST)
		s->last_request = h;
	s->guest_fwd += h.len;
}

static void guest_send(struct state *s, const struct virtio_vsock_hdr *h, const uint8_t *data, size_t avail)
{
	/* Exactly avail bytes, so that a read past them is a sanitizer report. */
	uint8_t *payload = g_malloc(avail ? avail : 1);
	if (avail)
		memcpy(payload, data, avail);
	vsock_muxer_lock(s->mux);
	vsock_muxer_from_guest(s->mux, h, payload, avail);
	vsock_muxer_unlock(s->mux);
	g_free(payload);
}

/* A header from a few bytes: fields the muxer can match, sometimes not. */
static void built_header(struct state *s, struct cursor *c, struct virtio_vsock_hdr *h)
{
	uint8_t pick = u8(c);
	static const uint32_t allocs[] = { 0, 1, 10, 4096, 65536, VSOCK_BUF_ALLOC };
	*h = (struct virtio_vsock_hdr){
		.src_cid = pick & 0x80 ? 99 : GUEST_CID,
		.dst_cid = pick & 0x40 ? 77 : VSOCK_HOST_CID,
		.type = pick & 0x20 ? 2 : VIRTIO_VSOCK_TYPE_STREAM,
		.op = (uint16_t)(u8(c) % 9),
		.flags = u8(c) & 7,
		.fwd_cnt = s->guest_fwd,
	};
	uint8_t ports = u8(c);
	switch (ports & 3) {
	case 0: /* the connection the host asked for */
		h->src_port = s->last_request.dst_port;
		h->dst_port = s->last_request.src_port;
		break;
	case 1: /* a guest connect to the listening host port */
		h->src_port = 40000 + (ports >> 2 & 3);
		h->dst_port = LISTEN_PORT;
		break;
	case 2: /* nothing listens there */
		h->src_port = 40000 + (ports >> 2 & 3);
		h->dst_port = 6;
		break;
	default:
		h->src_port = u32(c);
		h->dst_port = u32(c);
		break;
	}
	uint8_t credit = u8(c);
	h->buf_alloc = credit < 0xf0 ? allocs[credit % G_N_ELEMENTS(allocs)] : u32(c);
	if (credit & 1)
		h->fwd_cnt = u32(c);
}

static void op_guest_packet(struct state *s, struct cursor *c, bool raw)
{
	struct virtio_vsock_hdr h;
	if (raw) {
		uint8_t b[HDR_SIZE];
		for (size_t i = 0; i < HDR_SIZE; i++)
			b[i] = u8(c);
		memcpy(&h, b, HDR_SIZE);
	} else {
		built_header(s, c, &h);
		uint8_t lie = u8(c);
		h.len = lie < 0xf0 ? u16(c) % 1024 : u32(c);
	}
	/* What the chain really held: vsock.c copies at most hdr.len and 64 KiB. */
	bool short_chain = u8(c) & 1;
	size_t avail = MIN(MIN((size_t)h.len, (size_t)PAYLOAD_LIMIT), c->n);
	if (short_chain && avail)
		avail--; /* a chain shorter than the len it claims */
	guest_send(s, &h, c->p, avail);
	c->p += avail;
	c->n -= avail;
}

/* A large packet whose payload is one byte repeated: credit overruns and full host
 * sockets within a short input. */
static void op_guest_bulk(struct state *s, struct cursor *c)
{
	struct virtio_vsock_hdr h;
	built_header(s, c, &h);
	h.len = ((uint32_t)u8(c) + 1) * 256;
	static uint8_t bulk[PAYLOAD_LIMIT];
	memset(bulk, u8(c), h.len);
	guest_send(s, &h, bulk, h.len);
}

static void op_response(struct state *s)
{
	struct virtio_vsock_hdr h = {
		.src_cid = GUEST_CID,
		.dst_cid = VSOCK_HOST_CID,
		.src_port = s->last_request.dst_port,
		.dst_port = s->last_request.src_port,
		.type = VIRTIO_VSOCK_TYPE_STREAM,
		.op = VIRTIO_VSOCK_OP_RESPONSE,
		.buf_alloc = VSOCK_BUF_ALLOC,
		.fwd_cnt = s->guest_fwd,
	};
	guest_send(s, &h, NULL, 0);
}

static void write_some(int fd, struct cursor *c)
{
	size_t want = u8(c), len = MIN(want, c->n);
	if (fd >= 0 && len)
		(void)!send(fd, c->p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	c->p += len;
	c->n -= len;
}

static void op_client_connect(struct state *s, struct cursor *c)
{
	unsigned int i = u8(c) % MAX_CLIENTS;
	if (s->clients[i] >= 0)
		close(s->clients[i]);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	s->clients[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->clients[i] < 0)
		abort();
	if (connect(s->clients[i], (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EAGAIN) {
		close(s->clients[i]);
		s->clients[i] = -1;
	}
	uint8_t kind = u8(c);
	if (s->clients[i] >= 0 && kind < 0xc0) {
		/* A well-formed line most of the time, so that connections come up. */
		char line[32];
		int n = snprintf(line, sizeof(line), "CONNECT %u\n", 7000 + kind % 4);
		(void)!send(s->clients[i], line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	} else {
		write_some(s->clients[i], c);
	}
}

static void op_client(struct state *s, struct cursor *c, int what)
{
	int *fd = &s->clients[u8(c) % MAX_CLIENTS];
	if (what == 0) {
		write_some(*fd, c);
	} else if (what == 1 && *fd >= 0) {
		char b[4096];
		(void)!recv(*fd, b, sizeof(b), MSG_DONTWAIT);
	} else if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void op_accepted(struct state *s, struct cursor *c)
{
	uint8_t b = u8(c);
	int *fd = &s->accepted[b % MAX_ACCEPTED];
	switch (b >> 3 & 3) {
	case 0:
		if (*fd < 0)
			*fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		break;
	case 1:
		write_some(*fd, c);
		break;
	case 2:
		if (*fd >= 0) {
			char buf[4096];
			(void)!recv(*fd, buf, sizeof(buf), MSG_DONTWAIT);
		}
		break;
	default:
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		break;
	}
}

static void op_reset(struct state *s)
{
	vsock_muxer_lock(s->mux);
	vsock_muxer_reset(s->mux);
	bool owed = vsock_muxer_rx_ready(s->mux);
	unsigned int conns = vsock_muxer_nr_conns(s->mux), hs = vsock_muxer_nr_handshakes(s->mux);
	vsock_muxer_unlock(s->mux);
	if (owed || conns || hs) {
		fprintf(stderr, "fuzz-vsock: after a reset: owed %d, %u connections, %u handshakes\n", owed,
			conns, hs);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup_once();
	struct state s = { 0 };
	for (unsigned int i = 0; i < MAX_CLIENTS; i++)
		s.clients[i] = -1;
	for (unsigned int i = 0; i < MAX_ACCEPTED; i++)
		s.accepted[i] = -1;
	GError *error = NULL;
	s.mux = vsock_muxer_new("fuzz-vsock", GUEST_CID, path, ctx, kick, NULL, &error);
	if (!s.mux) {
		fprintf(stderr, "fuzz-vsock: %s\n", error->message);
		abort();
	}
	static const size_t caps[] = { 0, 1, 7, 4096, PAYLOAD_LIMIT };
	struct cursor c = { data, size };
	for (unsigned int n = 0; c.n && n < MAX_OPS; n++) {
		switch (u8(&c) % 15) {
		case 0:
			op_guest_packet(&s, &c, false);
			break;
		case 1:
			op_guest_packet(&s, &c, true);
			break;
		case 2:
			op_response(&s);
			break;
		case 3:
			op_client_connect(&s, &c);
			break;
		case 4:
		case 5:
		case 6:
			op_client(&s, &c, u8(&c) % 3);
			break;
		case 7:
		case 8:
			guest_take(&s, caps[u8(&c) % G_N_ELEMENTS(caps)]);
			break;
		case 9: /* the guest drains what it is owed */
			for (int k = 0; k < 64; k++)
				guest_take(&s, 4096);
			break;
		case 10:
			op_accepted(&s, &c);
			break;
		case 11:
			op_reset(&s);
			break;
		case 12:
			op_guest_bulk(&s, &c);
			break;
		default:
			run_io();
			break;
		}
		if (vsock_muxer_nr_handshakes(s.mux) > VSOCK_MAX_HANDSHAKES)
			abort();
	}
	run_io();
	op_reset(&s);
	for (unsigned int i = 0; i < MAX_CLIENTS; i++)
		if (s.clients[i] >= 0)
			close(s.clients[i]);
	for (unsigned int i = 0; i < MAX_ACCEPTED; i++)
		if (s.accepted[i] >= 0)
			close(s.accepted[i]);
	/* Guest connects the target never accepted wait in the listener's backlog. */
	int fd;
	while ((fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	vsock_muxer_free(s.mux);
	run_io();
	return 0;
}
