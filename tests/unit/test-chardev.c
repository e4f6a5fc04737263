/* Unit tests of the character-device sinks (devices/chardev.c): the SINK syntax of
 * --serial, --console and --control, and fd:N carrying bytes both ways. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/chardev/parse/kinds", test_parse_kinds);
	g_test_add_func("/chardev/parse/fd", test_parse_fd);
	g_test_add_func("/chardev/parse/refusals", test_parse_refusals);
	g_test_add_func("/chardev/open/closed-fd", test_open_closed_fd);
	g_test_add_func("/chardev/fd/both-ways", test_fd_both_ways);
	return g_test_run();
}
