/* Unit tests of virtio-vsock's muxer and connections (devices/virtio/vsock_muxer.c,
 * vsock_connection.c) without PCI or virtqueues: the test plays the guest by handing the
 * muxer packets and taking the ones it owes, and plays host programs with real unix
 * sockets in a temporary directory. The muxer's socket watches run on a private
 * GMainContext the test iterates. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "devices/virtio/vsock_muxer.h"

#define GUEST_CID 3

struct fx {
	char *dir;
	char *path;
	GMainContext *ctx;
	struct vsock_muxer *mux;
	unsigned int kicks;
	uint8_t buf[VSOCK_MAX_PAYLOAD];
};

static void kick(void *opaque)
{
	struct fx *f = opaque;
	f->kicks++;
}

static void fx_setup(struct fx *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("test-vsock.XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->path = g_build_filename(f->dir, "vsock.sock", NULL);
	f->ctx = g_main_context_new();
	GError *error = NULL;
	f->mux = vsock_muxer_new("test-vsock", GUEST_CID, f->path, f->ctx, kick, f, &error);
	g_assert_no_error(error);
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	vsock_muxer_free(f->mux);
	while (g_main_context_iteration(f->ctx, FALSE))
		;
	g_main_context_unref(f->ctx);
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);
	g_assert_cmpint(system(cmd), ==, 0);
	g_free(f->path);
	g_free(f->dir);
}

/* Runs the muxer's socket events until nothing is left to do, or for a bounded number
 * of rounds: a source that stays ready forever (a spinning handler) must not hang the
 * test but show up in the muxer's wakeup count. */
static void iterate(struct fx *f)
{
	for (int i = 0; i < 10; i++)
		for (int n = 0; n < 1000 && g_main_context_iteration(f->ctx, FALSE); n++)
			;
}

static void guest_send(struct fx *f, uint16_t op, uint32_t guest_port, uint32_t host_port, uint32_t flags,
		       uint32_t buf_alloc, uint32_t fwd_cnt, const void *data, uint32_t len)
{
	struct virtio_vsock_hdr h = {
		.src_cid = GUEST_CID,
		.dst_cid = VSOCK_HOST_CID,
		.src_port = guest_port,
		.dst_port = host_port,
		.len = len,
		.type = VIRTIO_VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = buf_alloc,
		.fwd_cnt = fwd_cnt,
	};
	vsock_muxer_lock(f->mux);
	vsock_muxer_from_guest(f->mux, &h, data, len);
	vsock_muxer_unlock(f->mux);
}

/* The next packet for the guest (false: none), its payload in f->buf. */
static bool guest_take(struct fx *f, struct virtio_vsock_hdr *h, size_t cap)
{
	iterate(f);
	vsock_muxer_lock(f->mux);
	bool got = vsock_muxer_to_guest(f->mux, h, f->buf, cap);
	vsock_muxer_unlock(f->mux);
	if (got) {
		g_assert_cmpuint(h->src_cid, ==, VSOCK_HOST_CID);
		g_assert_cmpuint(h->dst_cid, ==, GUEST_CID);
		g_assert_cmpuint(h->type, ==, VIRTIO_VSOCK_TYPE_STREAM);
		g_assert_cmpuint(h->len, <=, cap);
	}
	return got;
}

static int host_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	return fd;
}

static void host_write(int fd, const char *s)
{
	g_assert_cmpint(write(fd, s, strlen(s)), ==, (ssize_t)strlen(s));
}

/* Reads what is there (non-blocking) into a string. */
static char *host_read(struct fx *f, int fd)
{
	iterate(f);
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return g_strdup(buf);
}

static bool host_sees_eof(struct fx *f, int fd)
{
	iterate(f);
	char c;
	/* Closed with our bytes unread, a unix socket reports ECONNRESET instead of EOF. */
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* A host program connects to guest port 7000; returns its fd, the host port in *port. */
static int establish(struct fx *f, uint32_t buf_alloc, uint32_t *port)
{
	int fd = host_connect(f->path);
	host_write(fd, "CONNECT 7000\n");
	struct virtio_vsock_hdr h;
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_REQUEST);
	g_assert_cmpuint(h.dst_port, ==, 7000);
	g_assert_cmpuint(h.src_port, >=, 1024);
	g_assert_cmpuint(h.buf_alloc, ==, VSOCK_BUF_ALLOC);
	*port = h.src_port;
	guest_send(f, VIRTIO_VSOCK_OP_RESPONSE, 7000, *port, 0, buf_alloc, 0, NULL, 0);
	g_autofree char *ok = host_read(f, fd);
	g_autofree char *want = g_strdup_printf("OK %u\n", *port);
	g_assert_cmpstr(ok, ==, want);
	return fd;
}

static void test_host_connect(struct fx *f, gconstpointer data)
{
	uint32_t port;
	int fd = establish(f, 65536, &port);
	/* Host to guest. */
	host_write(fd, "ping");
	struct virtio_vsock_hdr h;
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_RW);
	g_assert_cmpuint(h.len, ==, 4);
	g_assert_cmpmem(f->buf, 4, "ping", 4);
	g_assert_false(guest_take(f, &h, 4096));
	/* Guest to host. */
	guest_send(f, VIRTIO_VSOCK_OP_RW, 7000, port, 0, 65536, 4, "pong", 4);
	g_autofree char *got = host_read(f, fd);
	g_assert_cmpstr(got, ==, "pong");
	/* A second connection gets its own host port. */
	uint32_t port2;
	int fd2 = establish(f, 65536, &port2);
	g_assert_cmpuint(port2, !=, port);
	g_assert_cmpuint(vsock_muxer_nr_conns(f->mux), ==, 2);
	/* The host program goes: SHUTDOWN(SEND) to the guest, then the guest's full shutdown
	 * is answered with RST and the connection is gone. */
	close(fd);
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_SHUTDOWN);
	g_assert_cmpuint(h.flags, ==, VIRTIO_VSOCK_SHUTDOWN_SEND);
	guest_send(f, VIRTIO_VSOCK_OP_SHUTDOWN, 7000, port, 3, 65536, 4, NULL, 0);
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_RST);
	g_assert_cmpuint(h.src_port, ==, port);
	g_assert_cmpuint(vsock_muxer_nr_conns(f->mux), ==, 1);
	close(fd2);
}

static void test_host_credit(struct fx *f, gconstpointer data)
{
	uint32_t port;
	int fd = establish(f, 10, &port); /* the guest can take 10 bytes */
	host_write(fd, "0123456789abcdefghij");
	struct virtio_vsock_hdr h;
	uint32_t total = 0;
	while (guest_take(f, &h, 4)) { /* 4-byte rx buffers */
		if (h.op == VIRTIO_VSOCK_OP_CREDIT_REQUEST)
			break;
		g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_RW);
		total += h.len;
	}
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
	g_assert_cmpuint(total, ==, 10);
	g_assert_false(guest_take(f, &h, 4096)); /* no credit: nothing, and one request only */
	/* The guest read 10: credit for 10 more. */
	guest_send(f, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 7000, port, 0, 10, 10, NULL, 0);
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_RW);
	g_assert_cmpuint(h.len, ==, 10);
	g_assert_cmpmem(f->buf, 10, "abcdefghij", 10);
	/* A credit request from the guest is answered with our fwd_cnt. */
	guest_send(f, VIRTIO_VSOCK_OP_RW, 7000, port, 0, 10, 20, "xyz", 3);
	guest_send(f, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 7000, port, 0, 10, 20, NULL, 0);
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	g_assert_cmpuint(h.fwd_cnt, ==, 3);
	close(fd);
}

/* The host program reads nothing: the device keeps at most buf_alloc bytes, and a guest
 * that sends beyond its credit is reset. */
static void test_guest_overrun(struct fx *f, gconstpointer data)
{
	uint32_t port;
	int fd = establish(f, 65536, &port);
	memset(f->buf, 'x', sizeof(f->buf));
	static uint8_t chunk[VSOCK_MAX_PAYLOAD];
	memset(chunk, 'x', sizeof(chunk));
	struct virtio_vsock_hdr h;
	bool reset = false;
	uint64_t sent = 0;
	for (int i = 0; i < 200 && !reset; i++) {
		guest_send(f, VIRTIO_VSOCK_OP_RW, 7000, port, 0, 65536, 0, chunk, sizeof(chunk));
		sent += sizeof(chunk);
		while (guest_take(f, &h, 4096))
			if (h.op == VIRTIO_VSOCK_OP_RST)
				reset = true;
	}
	g_assert_true(reset);
	/* The RST came once the socket's buffer plus our 256 KiB were full, not later. */
	g_test_message("RST after %" G_GUINT64_FORMAT " bytes", sent);
	g_assert_cmpuint(sent, <=, (uint64_t)VSOCK_BUF_ALLOC + 4ULL * 1024 * 1024);
	g_assert_cmpuint(vsock_muxer_nr_conns(f->mux), ==, 0);
	close(fd);
}

static void test_guest_rst_on_request(struct fx *f, gconstpointer data)
{
	int fd = host_connect(f->path);
	host_write(fd, "CONNECT 9\n");
	struct virtio_vsock_hdr h;
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_REQUEST);
	guest_send(f, VIRTIO_VSOCK_OP_RST, 9, h.src_port, 0, 0, 0, NULL, 0);
	g_assert_true(host_sees_eof(f, fd));
	g_assert_cmpuint(vsock_muxer_nr_conns(f->mux), ==, 0);
	close(fd);
}

static void test_malformed_connect(struct fx *f, gconstpointer data)
{
	static const char *const lines[] = { "CONNECT\n",     "CONNECT x\n",
					     "connect 5\n",   "CONNECT 99999999999\n",
					     "CONNECT 5 6\n", "GET / HTTP/1.0\r\n" };
	for (unsigned int i = 0; i < G_N_ELEMENTS(lines); i++) {
		int fd = host_connect(f->path);
		host_write(fd, lines[i]);
		g_assert_true(host_sees_eof(f, fd));
		close(fd);
	}
	/* 64 bytes and no newline. */
	int fd = host_connect(f->path);
	host_write(fd, "CONNECT 0000000000000000000000000000000000000000000000000000000000000");
	g_assert_true(host_sees_eof(f, fd));
	close(fd);
	struct virtio_vsock_hdr h;
	g_assert_false(guest_take(f, &h, 4096));
	g_assert_cmpuint(vsock_muxer_nr_conns(f->mux), ==, 0);
	g_assert_cmpuint(vsock_muxer_nr_handshakes(f->mux), ==, 0);
}

static void test_unknown_connection(struct fx *f, gconstpointer data)
{
	struct virtio_vsock_hdr h;
	guest_send(f, VIRTIO_VSOCK_OP_RW, 1234, 5678, 0, 4096, 0, "data", 4);
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_RST);
	g_assert_cmpuint(h.src_port, ==, 5678);
	g_assert_cmpuint(h.dst_port, ==, 1234);
	/* An RST for an unknown connection is not answered. */
	guest_send(f, VIRTIO_VSOCK_OP_RST, 1234, 5678, 0, 0, 0, NULL, 0);
	g_assert_false(guest_take(f, &h, 4096));
	/* A packet claiming more payload than its chain held resets the connection. */
	uint32_t port;
	int fd = establish(f, 4096, &port);
	struct virtio_vsock_hdr bad = {
		.src_cid = GUEST_CID,
		.dst_cid = VSOCK_HOST_CID,
		.src_port = 7000,
		.dst_port = port,
		.len = 100,
		.type = VIRTIO_VSOCK_TYPE_STREAM,
		.op = VIRTIO_VSOCK_OP_RW,
		.buf_alloc = 4096,
	};
	vsock_muxer_lock(f->mux);
	vsock_muxer_from_guest(f->mux, &bad, "short", 5);
	vsock_muxer_unlock(f->mux);
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_RST);
	g_assert_true(host_sees_eof(f, fd));
	close(fd);
}

static int host_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(fd, 4), ==, 0);
	return fd;
}

static void test_guest_connect(struct fx *f, gconstpointer data)
{
	struct virtio_vsock_hdr h;
	/* Nothing listens on PATH_80: RST. */
	guest_send(f, VIRTIO_VSOCK_OP_REQUEST, 40000, 80, 0, 4096, 0, NULL, 0);
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_RST);
	g_assert_cmpuint(h.dst_port, ==, 40000);

	g_autofree char *p = g_strdup_printf("%s_81", f->path);
	int lfd = host_listen(p);
	guest_send(f, VIRTIO_VSOCK_OP_REQUEST, 40001, 81, 0, 4096, 0, NULL, 0);
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_RESPONSE);
	g_assert_cmpuint(h.src_port, ==, 81);
	g_assert_cmpuint(h.dst_port, ==, 40001);
	int fd = accept(lfd, NULL, NULL);
	g_assert_cmpint(fd, >=, 0);
	guest_send(f, VIRTIO_VSOCK_OP_RW, 40001, 81, 0, 4096, 0, "hi\n", 3);
	g_autofree char *got = host_read(f, fd);
	g_assert_cmpstr(got, ==, "hi\n");
	/* The guest shuts its sending side: the host reads EOF, can still answer. */
	guest_send(f, VIRTIO_VSOCK_OP_SHUTDOWN, 40001, 81, VIRTIO_VSOCK_SHUTDOWN_SEND, 4096, 0, NULL, 0);
	g_assert_true(host_sees_eof(f, fd));
	host_write(fd, "yo\n");
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_RW);
	g_assert_cmpmem(f->buf, h.len, "yo\n", 3);
	/* Data after SHUTDOWN(SEND) breaks the rules: RST. */
	guest_send(f, VIRTIO_VSOCK_OP_RW, 40001, 81, 0, 4096, 3, "x", 1);
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_RST);
	g_assert_cmpuint(vsock_muxer_nr_conns(f->mux), ==, 0);
	close(fd);
	close(lfd);
}

static void test_reset(struct fx *f, gconstpointer data)
{
	uint32_t port;
	int fd = establish(f, 4096, &port);
	vsock_muxer_lock(f->mux);
	vsock_muxer_reset(f->mux);
	vsock_muxer_unlock(f->mux);
	g_assert_true(host_sees_eof(f, fd));
	g_assert_cmpuint(vsock_muxer_nr_conns(f->mux), ==, 0);
	close(fd);
}

/* A host program connects and sends part of its CONNECT line: one half-open handshake.
 * Returns the fd and, in *woke, how often the muxer's handler has run so far. */
static int host_partial_line(struct fx *f, const char *part, uint64_t *woke)
{
	int fd = host_connect(f->path);
	host_write(fd, part);
	iterate(f);
	g_assert_cmpuint(vsock_muxer_nr_handshakes(f->mux), ==, 1);
	*woke = vsock_muxer_handshake_wakeups(f->mux);
	return fd;
}

/* A host program sends part of its CONNECT line and waits: the muxer takes the bytes and
 * sleeps until more come (its handler woke once, not in a loop), then the rest of the
 * line finishes the handshake. */
static void test_partial_line(struct fx *f, gconstpointer data)
{
	uint64_t woke;
	int fd = host_partial_line(f, "CONNECT 70", &woke);
	g_test_message("handler ran %" G_GUINT64_FORMAT " times for one partial line", woke);
	g_assert_cmpuint(woke, >=, 1);
	g_assert_cmpuint(woke, <=, 2);
	iterate(f); /* nothing new on the socket: the handler stays asleep */
	g_assert_cmpuint(vsock_muxer_handshake_wakeups(f->mux), ==, woke);
	/* The rest of the line finishes the handshake. */
	host_write(fd, "00\n");
	struct virtio_vsock_hdr h;
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_REQUEST);
	g_assert_cmpuint(h.dst_port, ==, 7000);
	g_assert_cmpuint(vsock_muxer_nr_handshakes(f->mux), ==, 0);
	close(fd);
}

/* A partial line, then the program goes: the half-open handshake is dropped, and the
 * socket's end of file wakes the muxer once, not in a loop. */
static void test_partial_line_close(struct fx *f, gconstpointer data)
{
	uint64_t woke;
	int fd = host_partial_line(f, "CONNECT 7", &woke);
	close(fd);
	iterate(f);
	g_assert_cmpuint(vsock_muxer_nr_handshakes(f->mux), ==, 0);
	g_assert_cmpuint(vsock_muxer_handshake_wakeups(f->mux) - woke, <=, 2);
	iterate(f);
	g_assert_cmpuint(vsock_muxer_handshake_wakeups(f->mux) - woke, <=, 2);
}

/* A host program that never finishes its line is closed after the handshake timeout;
 * established connections are not timed. No speed is asserted: the test sleeps until at
 * least forty timeouts have passed. */
static void test_handshake_timeout(struct fx *f, gconstpointer data)
{
	const unsigned int timeout_ms = 20;
	vsock_muxer_set_handshake_timeout(f->mux, timeout_ms);
	uint32_t port;
	int live = establish(f, 4096, &port);
	int fd = host_connect(f->path);
	host_write(fd, "CONNECT 7");
	bool closed = false;
	for (unsigned int slept = 0; slept < 40 * timeout_ms && !closed; slept += 5) {
		g_usleep(5000);
		closed = host_sees_eof(f, fd);
	}
	g_assert_true(closed);
	g_assert_cmpuint(vsock_muxer_nr_handshakes(f->mux), ==, 0);
	close(fd);
	/* The established connection still carries data both ways. */
	g_assert_cmpuint(vsock_muxer_nr_conns(f->mux), ==, 1);
	guest_send(f, VIRTIO_VSOCK_OP_RW, 7000, port, 0, 4096, 0, "still", 5);
	g_autofree char *got = host_read(f, live);
	g_assert_cmpstr(got, ==, "still");
	host_write(live, "here");
	struct virtio_vsock_hdr h;
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_RW);
	g_assert_cmpmem(f->buf, h.len, "here", 4);
	close(live);
}

/* More half-open host programs than the muxer takes connections: a real client (the adb
 * proxy) still gets in, and the half-open ones are bounded on their own. */
static void test_handshake_flood(struct fx *f, gconstpointer data)
{
	const unsigned int n = MAX(VSOCK_MAX_CONNS, VSOCK_MAX_HANDSHAKES) + 8;
	/* Each client costs this process two descriptors (both ends). */
	struct rlimit rl;
	g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &rl), ==, 0);
	rlim_t need = 2 * (rlim_t)n + 64;
	if (rl.rlim_cur < need) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
			g_autofree char *why = g_strdup_printf("needs %lu open files, the hard limit is %lu",
							       (unsigned long)need,
							       (unsigned long)rl.rlim_max);
			g_test_skip(why);
			return;
		}
		rl.rlim_cur = need;
		g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &rl), ==, 0);
	}
	int *fds = g_new(int, n);
	for (unsigned int i = 0; i < n; i++) {
		fds[i] = host_connect(f->path);
		host_write(fds[i], "CONNECT 1");
		/* Let the muxer accept, so the listen backlog never fills. */
		for (int k = 0; k < 4 && g_main_context_iteration(f->ctx, FALSE); k++)
			;
	}
	iterate(f);
	/* The real client. */
	int fd = host_connect(f->path);
	host_write(fd, "CONNECT 7000\n");
	struct virtio_vsock_hdr h;
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_REQUEST);
	g_assert_cmpuint(h.dst_port, ==, 7000);
	guest_send(f, VIRTIO_VSOCK_OP_RESPONSE, 7000, h.src_port, 0, 4096, 0, NULL, 0);
	g_autofree char *ok = host_read(f, fd);
	g_autofree char *want = g_strdup_printf("OK %u\n", h.src_port);
	g_assert_cmpstr(ok, ==, want);
	g_assert_cmpuint(vsock_muxer_nr_handshakes(f->mux), <=, VSOCK_MAX_HANDSHAKES);
	close(fd);
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);
	g_free(fds);
	iterate(f);
	g_assert_cmpuint(vsock_muxer_nr_handshakes(f->mux), ==, 0);
}

/* A guest rx buffer with room for a header only: host data must wait for a buffer that
 * can hold it, not be read with a zero length (which looks like end of file); control
 * packets still fit. */
static void test_header_only_buffer(struct fx *f, gconstpointer data)
{
	uint32_t port;
	int fd = establish(f, 65536, &port);
	host_write(fd, "data");
	struct virtio_vsock_hdr h;
	g_assert_false(guest_take(f, &h, 0));
	/* A credit request is answered in a header-only buffer. */
	guest_send(f, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 7000, port, 0, 65536, 0, NULL, 0);
	g_assert_true(guest_take(f, &h, 0));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	g_assert_false(guest_take(f, &h, 0));
	/* The data comes whole in a real buffer, and the connection lives on. */
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_RW);
	g_assert_cmpmem(f->buf, h.len, "data", 4);
	g_assert_false(guest_take(f, &h, 4096));
	guest_send(f, VIRTIO_VSOCK_OP_RW, 7000, port, 0, 65536, 4, "back", 4);
	g_autofree char *got = host_read(f, fd);
	g_assert_cmpstr(got, ==, "back");
	/* Then the host's real end of file still reaches the guest. */
	close(fd);
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_SHUTDOWN);
}

/* accept() fails for want of file descriptors: the pending client keeps the listening
 * socket readable, so the muxer must stop watching it for a while rather than spin, and
 * take the client once descriptors are free again. */
static void test_accept_out_of_files(struct fx *f, gconstpointer data)
{
	int fd = host_connect(f->path);
	host_write(fd, "CONNECT 7000\n");
	/* Every descriptor below the new limit is in use: the muxer's accept gets EMFILE. */
	struct rlimit saved, rl;
	g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &saved), ==, 0);
	int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(lowest, >=, 0);
	close(lowest);
	rl = saved;
	rl.rlim_cur = (rlim_t)lowest;
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &rl), ==, 0);
	iterate(f);
	uint64_t woke = vsock_muxer_accept_wakeups(f->mux);
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &saved), ==, 0);
	g_test_message("the listening socket woke the muxer %" G_GUINT64_FORMAT " times", woke);
	g_assert_cmpuint(woke, >=, 1);
	g_assert_cmpuint(woke, <=, 2);
	/* Descriptors are back: the client gets in once the pause is over. */
	struct virtio_vsock_hdr h;
	bool got = false;
	for (unsigned int slept = 0; slept < 20000 && !got; slept += 10) {
		g_usleep(10000);
		got = guest_take(f, &h, 4096);
	}
	g_assert_true(got);
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_REQUEST);
	g_assert_cmpuint(h.dst_port, ==, 7000);
	close(fd);
}

/* The host program closes with guest data unread: its socket reports ECONNRESET on the
 * read the rx path makes, and the connection is reset while it is being asked for a
 * packet. It must be on the work list once (twice, the second entry outlives the
 * connection: nothing owed, a freed connection still queued). */
static void test_host_reset_during_read(struct fx *f, gconstpointer data)
{
	uint32_t port;
	int fd = establish(f, 65536, &port);
	guest_send(f, VIRTIO_VSOCK_OP_RW, 7000, port, 0, 65536, 0, "unread", 6);
	host_write(fd, "x");
	iterate(f);
	close(fd); /* with "unread" still in its receive queue */
	/* The "x" may come first, or be lost with the reset; then the RST. */
	struct virtio_vsock_hdr h;
	bool rst = false;
	for (int i = 0; i < 4 && !rst; i++)
		rst = guest_take(f, &h, 4096) && h.op == VIRTIO_VSOCK_OP_RST;
	g_assert_true(rst);
	g_assert_cmpuint(vsock_muxer_nr_conns(f->mux), ==, 0);
	vsock_muxer_lock(f->mux);
	bool owed = vsock_muxer_rx_ready(f->mux);
	vsock_muxer_unlock(f->mux);
	g_assert_false(owed);
	g_assert_false(guest_take(f, &h, 4096));
}

/* The guest takes its credit back (buf_alloc 0): host input must wait unwatched, not wake
 * the muxer again and again, and flow once credit returns. */
static void test_credit_shrinks(struct fx *f, gconstpointer data)
{
	uint32_t port;
	int fd = establish(f, 65536, &port);
	guest_send(f, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 7000, port, 0, 0, 0, NULL, 0);
	uint64_t woke = vsock_muxer_conn_wakeups(f->mux);
	host_write(fd, "wait");
	iterate(f);
	struct virtio_vsock_hdr h;
	g_assert_false(guest_take(f, &h, 4096));
	g_test_message("the host socket woke the muxer %" G_GUINT64_FORMAT " times",
		       vsock_muxer_conn_wakeups(f->mux) - woke);
	g_assert_cmpuint(vsock_muxer_conn_wakeups(f->mux) - woke, <=, 2);
	/* Credit again: the data comes. */
	guest_send(f, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 7000, port, 0, 65536, 0, NULL, 0);
	g_assert_true(guest_take(f, &h, 4096));
	g_assert_cmpuint(h.op, ==, VIRTIO_VSOCK_OP_RW);
	g_assert_cmpmem(f->buf, h.len, "wait", 4);
	close(fd);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define T(path, fn) g_test_add("/vsock/" path, struct fx, NULL, fx_setup, fn, fx_teardown)
	T("host-connect", test_host_connect);
	T("host-credit", test_host_credit);
	T("guest-overrun", test_guest_overrun);
	T("guest-rst-on-request", test_guest_rst_on_request);
	T("malformed-connect", test_malformed_connect);
	T("unknown-connection", test_unknown_connection);
	T("guest-connect", test_guest_connect);
	T("reset", test_reset);
	T("partial-line", test_partial_line);
	T("partial-line-close", test_partial_line_close);
	T("handshake-timeout", test_handshake_timeout);
	T("handshake-flood", test_handshake_flood);
	T("header-only-buffer", test_header_only_buffer);
	T("accept-out-of-files", test_accept_out_of_files);
	T("host-reset-during-read", test_host_reset_during_read);
	T("credit-shrinks", test_credit_shrinks);
	return g_test_run();
}
