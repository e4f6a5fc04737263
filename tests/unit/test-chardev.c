/* Unit tests of the character-device sinks (devices/chardev.c): the SINK syntax of
 * --serial, --console and --control, fd:N carrying bytes both ways, and output nobody reads
 * (a pipe, a console pty) neither blocking the writer nor growing without bound. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib.h>

#include "common/error.h"
#include "devices/chardev.h"

static void test_parse_kinds(void)
{
	struct vm_sink s;
	g_autoptr(GError) error = NULL;

	g_assert_true(chardev_parse_sink("stdio", &s, false, &error));
	g_assert_cmpint(s.kind, ==, SINK_STDIO);
	g_assert_true(chardev_parse_sink("none", &s, false, &error));
	g_assert_cmpint(s.kind, ==, SINK_NONE);
	g_assert_true(chardev_parse_sink("sink", &s, false, &error));
	g_assert_cmpint(s.kind, ==, SINK_NULL);
	g_assert_true(chardev_parse_sink("pty", &s, true, &error));
	g_assert_cmpint(s.kind, ==, SINK_PTY);
	g_assert_true(chardev_parse_sink("file:/tmp/x.log", &s, false, &error));
	g_assert_cmpint(s.kind, ==, SINK_FILE);
	g_assert_cmpstr(s.path, ==, "/tmp/x.log");
	g_free(s.path);
	g_assert_no_error(error);
}

static void test_parse_fd(void)
{
	struct vm_sink s;
	g_autoptr(GError) error = NULL;

	g_assert_true(chardev_parse_sink("fd:3", &s, false, &error));
	g_assert_no_error(error);
	g_assert_cmpint(s.kind, ==, SINK_FD);
	g_assert_cmpint(s.fd, ==, 3);
	g_assert_null(s.path);
	g_assert_true(chardev_parse_sink("fd:0", &s, true, &error));
	g_assert_cmpint(s.fd, ==, 0);
}

static void test_parse_refusals(void)
{
	static const char *const bad[] = { "fd:",   "fd:-1", "fd:+3",    "fd: 3", "fd:3x", "fd:99999999999",
					   "file:", "pty",   "tcp:1234", "" };
	for (unsigned int i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct vm_sink s;
		g_autoptr(GError) error = NULL;
		g_assert_false(chardev_parse_sink(bad[i], &s, false, &error));
		g_assert_error(error, SEPIA_ERROR, EINVAL);
		/* The message names what was given. */
		g_assert_nonnull(strstr(error->message, bad[i]));
	}
}

static void test_open_closed_fd(void)
{
	int fds[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
	close(fds[1]);
	struct vm_sink s;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *spec = g_strdup_printf("fd:%d", fds[1]);
	g_assert_true(chardev_parse_sink(spec, &s, false, &error));
	struct chardev cd;
	g_assert_false(chardev_open(&cd, "virtio-console-control", &s, &error));
	g_assert_error(error, SEPIA_ERROR, EBADF);
	g_assert_nonnull(strstr(error->message, "virtio-console-control"));
	g_assert_nonnull(strstr(error->message, spec));
	close(fds[0]);
}

static void on_input(void *opaque, const uint8_t *buf, size_t len)
{
	g_string_append_len(opaque, (const char *)buf, (gssize)len);
}

/* A sink port: writes go nowhere and are not counted as dropped, and it takes no input. */
static void test_sink(void)
{
	struct vm_sink s;
	g_autoptr(GError) error = NULL;
	g_assert_true(chardev_parse_sink("sink", &s, false, &error));
	struct chardev cd;
	g_assert_true(chardev_open(&cd, "virtio-console-hvc1", &s, &error));
	g_assert_no_error(error);
	g_assert_cmpint(cd.out_fd, ==, -1);
	g_assert_cmpint(cd.in_fd, ==, -1);
	chardev_write(&cd, "nobody reads this\n", 18);
	g_assert_cmpuint(chardev_pending(&cd), ==, 0);
	chardev_close(&cd);
}

static void test_fd_both_ways(void)
{
	int fds[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
	struct vm_sink s;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *spec = g_strdup_printf("fd:%d", fds[1]);
	g_assert_true(chardev_parse_sink(spec, &s, false, &error));
	struct chardev cd;
	g_assert_true(chardev_open(&cd, "control", &s, &error));
	g_assert_no_error(error);

	chardev_write(&cd, "ok poweroff\n", 12);
	char buf[32] = "";
	g_assert_cmpint(read(fds[0], buf, sizeof(buf)), ==, 12);
	g_assert_cmpstr(buf, ==, "ok poweroff\n");

	GMainContext *ctx = g_main_context_new();
	GString *got = g_string_new(NULL);
	chardev_attach_input(&cd, ctx, on_input, got);
	g_assert_cmpint(write(fds[0], "poweroff\n", 9), ==, 9);
	while (got->len < 9)
		g_main_context_iteration(ctx, TRUE);
	g_assert_cmpstr(got->str, ==, "poweroff\n");

	GSource *src = g_main_context_find_source_by_id(ctx, cd.source);
	g_assert_nonnull(src);
	g_source_destroy(src);
	chardev_close(&cd);
	/* The sink owned the inherited fd: the peer now sees the end. */
	g_assert_cmpint(read(fds[0], buf, sizeof(buf)), ==, 0);
	close(fds[0]);
	g_string_free(got, TRUE);
	g_main_context_unref(ctx);
}

/* ---- output nobody reads ---- */

#define UNREAD_TOTAL (1u << 20) /* far more than a pipe or a pty holds */
#define UNREAD_CHUNK 4096u

/* A hang is the failure these tests look for: chardev_write blocking on a full fd. The alarm
 * is a watchdog, not a speed limit: it only fires when a write never returns. */
static void watchdog_fired(int sig)
{
	static const char msg[] =
		"test-chardev: watchdog: chardev_write blocked, or held output was never flushed\n";
	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static void watchdog_arm(void)
{
	signal(SIGALRM, watchdog_fired);
	alarm(120);
}

/* Word i of the stream is i: any loss or reordering shows. */
static void fill_chunk(uint32_t *words, size_t first_word)
{
	for (size_t i = 0; i < UNREAD_CHUNK / 4; i++)
		words[i] = (uint32_t)(first_word + i);
}

/* Opens fd (blocking, as a caller may hand it over) as an fd:N chardev and writes
 * UNREAD_TOTAL bytes with nobody reading. */
static void write_unread(struct chardev *cd, int fd)
{
	g_assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	struct vm_sink s = { .kind = SINK_FD, .fd = fd };
	g_autoptr(GError) error = NULL;
	g_assert_true(chardev_open(cd, "console", &s, &error));
	g_assert_no_error(error);
	/* The chardev made its side non-blocking itself. */
	g_assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	uint32_t words[UNREAD_CHUNK / 4];
	watchdog_arm();
	for (size_t off = 0; off < UNREAD_TOTAL; off += UNREAD_CHUNK) {
		fill_chunk(words, off / 4);
		chardev_write(cd, words, sizeof(words));
	}
	alarm(0);
}

/* Reads rfd while the chardev's context flushes what it held, until want bytes came;
 * returns them. */
static GByteArray *read_back(struct chardev *cd, GMainContext *ctx, int rfd, size_t want)
{
	GByteArray *got = g_byte_array_new();
	g_assert_true(g_unix_set_fd_nonblocking(rfd, TRUE, NULL));
	watchdog_arm();
	while (got->len < want) {
		uint8_t buf[16384];
		ssize_t n;
		while ((n = read(rfd, buf, sizeof(buf))) > 0)
			g_byte_array_append(got, buf, (guint)n);
		g_assert_true(n < 0 && errno == EAGAIN);
		if (got->len < want)
			g_main_context_iteration(ctx, TRUE);
	}
	alarm(0);
	g_assert_cmpuint(got->len, ==, want);
	g_assert_cmpuint(chardev_pending(cd), ==, 0);
	return got;
}

/* What came through: words in increasing order (drops leave gaps, nothing is reordered),
 * starting with the first word written; the first `contiguous` bytes are the words the fd took
 * at once, the last CHARDEV_OUT_MAX bytes the newest words written, without a gap. */
static void check_stream(const GByteArray *got, size_t contiguous)
{
	const uint32_t *w = (const uint32_t *)got->data;
	size_t n = got->len / 4, total = UNREAD_TOTAL / 4, held = CHARDEV_OUT_MAX / 4;
	g_assert_cmpuint(got->len % 4, ==, 0);
	g_assert_cmpuint(n, >, held);
	for (size_t i = 0; i < contiguous / 4; i++)
		if (w[i] != i)
			g_error("word %zu is %u, want %zu", i, w[i], i);
	for (size_t i = 1; i < n; i++)
		if (w[i] <= w[i - 1])
			g_error("word %zu (%u) does not follow word %zu (%u)", i, w[i], i - 1, w[i - 1]);
	for (size_t i = n - held; i < n; i++)
		if (w[i] != total - (n - i))
			g_error("held word %zu is %u, want %zu", i, w[i], total - (n - i));
	g_assert_cmpuint(w[0], ==, 0);
}

/* Defect: an fd:N sink nobody reads (a full pipe) blocked the I/O thread in chardev_write. */
static void test_unread_pipe(void)
{
	int p[2];
	g_assert_cmpint(pipe(p), ==, 0);
	struct chardev cd;
	write_unread(&cd, p[1]);
	int queued = 0;
	g_assert_cmpint(ioctl(p[0], FIONREAD, &queued), ==, 0);
	g_assert_cmpint(queued, >, 0);
	/* Bounded: the pipe's share, then CHARDEV_OUT_MAX held, the oldest of the rest dropped. */
	g_assert_cmpuint(chardev_pending(&cd), ==, CHARDEV_OUT_MAX);
	g_assert_cmpuint(chardev_dropped(&cd), ==, UNREAD_TOTAL - (size_t)queued - CHARDEV_OUT_MAX);

	/* A reader comes: the held bytes follow once the I/O context runs. */
	GMainContext *ctx = g_main_context_new();
	g_autoptr(GString) input = g_string_new(NULL);
	chardev_attach_input(&cd, ctx, on_input, input);
	g_autoptr(GByteArray) got = read_back(&cd, ctx, p[0], (size_t)queued + CHARDEV_OUT_MAX);
	check_stream(got, (size_t)queued);
	/* Once drained, writes go straight through again. */
	chardev_write(&cd, "x", 1);
	char c = 0;
	g_assert_cmpint(read(p[0], &c, 1), ==, 1);
	g_assert_cmpint(c, ==, 'x');
	g_assert_cmpuint(chardev_pending(&cd), ==, 0);
	chardev_close(&cd);
	close(p[0]);
	g_main_context_unref(ctx);
}

/* Defect: launch_cvd --console handed the VMM a blocking pty master; with the console
 * unread (the monitor holds the slave open) every device stalled once ~8 KiB were queued. */
static void test_unread_console_pty(void)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	g_assert_cmpint(master, >=, 0);
	g_assert_cmpint(grantpt(master), ==, 0);
	g_assert_cmpint(unlockpt(master), ==, 0);
	int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	g_assert_cmpint(slave, >=, 0);
	struct termios t;
	g_assert_cmpint(tcgetattr(slave, &t), ==, 0);
	cfmakeraw(&t);
	g_assert_cmpint(tcsetattr(slave, TCSANOW, &t), ==, 0);

	struct chardev cd;
	write_unread(&cd, master);
	g_assert_cmpuint(chardev_pending(&cd), ==, CHARDEV_OUT_MAX);
	uint64_t dropped = chardev_dropped(&cd);
	g_assert_cmpuint(dropped, >, 0);
	g_assert_cmpuint(dropped, <, UNREAD_TOTAL - CHARDEV_OUT_MAX);

	/* Someone attaches to the console: what the pty held, then the newest 64 KiB. */
	GMainContext *ctx = g_main_context_new();
	g_autoptr(GString) input = g_string_new(NULL);
	chardev_attach_input(&cd, ctx, on_input, input);
	size_t want = UNREAD_TOTAL - dropped;
	g_autoptr(GByteArray) got = read_back(&cd, ctx, slave, want);
	/* A pty takes more in spurts as its line discipline moves bytes on, so only the start
	 * of what it took at once is known to be gap-free. */
	check_stream(got, 4);
	g_source_destroy(g_main_context_find_source_by_id(ctx, cd.source));
	chardev_close(&cd);
	close(slave);
	g_main_context_unref(ctx);
}

/* A reader that hangs up: what is held is dropped, and writes keep returning. */
static void test_reader_gone(void)
{
	int p[2];
	g_assert_cmpint(pipe(p), ==, 0);
	struct chardev cd;
	write_unread(&cd, p[1]);
	close(p[0]);
	uint64_t before = chardev_dropped(&cd);
	chardev_write(&cd, "after", 5);
	g_assert_cmpuint(chardev_pending(&cd), ==, 0);
	g_assert_cmpuint(chardev_dropped(&cd), ==, before + CHARDEV_OUT_MAX + 5);
	chardev_close(&cd);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN); /* as sepia-vmm: a reader that hung up is EPIPE, not death */
	g_test_add_func("/chardev/parse/kinds", test_parse_kinds);
	g_test_add_func("/chardev/parse/fd", test_parse_fd);
	g_test_add_func("/chardev/parse/refusals", test_parse_refusals);
	g_test_add_func("/chardev/open/closed-fd", test_open_closed_fd);
	g_test_add_func("/chardev/fd/both-ways", test_fd_both_ways);
	g_test_add_func("/chardev/sink", test_sink);
	g_test_add_func("/chardev/unread/pipe", test_unread_pipe);
	g_test_add_func("/chardev/unread/console-pty", test_unread_console_pty);
	g_test_add_func("/chardev/unread/reader-gone", test_reader_gone);
	return g_test_run();
}
