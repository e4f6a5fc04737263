/* Unit tests for the guest's logd (guest/init/logd.c): the threadtime lines it keeps and the
 * kernel log records it reads. */
#include "guest/init/logd.h"

#include <glib.h>
#include <string.h>

static void test_format_threadtime(void)
{
	/* 2026-12-07 15:16:01.123 UTC */
	struct timespec when = { .tv_sec = 1796656561, .tv_nsec = 123456789 };
	char out[256];
	size_t n = logd_format(out, sizeof(out), &when, 1234, 1234, 'I', "adbd", "listening\r\n", 11);
	g_assert_cmpstr(out, ==, "12-07 15:16:01.123  1234  1234 I adbd    : listening\n");
	g_assert_cmpuint(n, ==, strlen(out));
	n = logd_format(out, sizeof(out), &when, 0, 0, 'W', "kernel", "a", 1);
	g_assert_cmpstr(out, ==, "12-07 15:16:01.123     0     0 W kernel  : a\n");
}

static void test_format_cut(void)
{
	struct timespec when = { 0 };
	char msg[300], out[64];
	memset(msg, 'x', sizeof(msg));
	size_t n = logd_format(out, sizeof(out), &when, 1, 1, 'E', "t", msg, sizeof(msg));
	g_assert_cmpuint(n, ==, sizeof(out) - 1);
	g_assert_cmpint(out[n - 1], ==, '\n');
	g_assert_null(memchr(out, '\n', n - 1));
}

static void test_parse_kmsg(void)
{
	static const char rec[] = "6,339,5140900,-;virtio_console: hvc0 up\n SUBSYSTEM=virtio\n";
	char prio;
	unsigned long long usec;
	const char *text;
	size_t len;
	g_assert_cmpint(logd_parse_kmsg(rec, strlen(rec), &prio, &usec, &text, &len), ==, 0);
	g_assert_cmpint(prio, ==, 'I');
	g_assert_cmpuint(usec, ==, 5140900);
	g_assert_cmpmem(text, len, "virtio_console: hvc0 up", 23);
	/* facility user (a write to /dev/kmsg), level 3 */
	static const char err[] = "11,2,7,-;sepia-init: oops";
	g_assert_cmpint(logd_parse_kmsg(err, strlen(err), &prio, &usec, &text, &len), ==, 0);
	g_assert_cmpint(prio, ==, 'E');
	g_assert_cmpmem(text, len, "sepia-init: oops", 16);
	g_assert_cmpint(logd_parse_kmsg("garbage", 7, &prio, &usec, &text, &len), ==, -1);
	g_assert_cmpint(logd_parse_kmsg("1,2;x", 5, &prio, &usec, &text, &len), ==, -1);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/guest-logd/format-threadtime", test_format_threadtime);
	g_test_add_func("/guest-logd/format-cut", test_format_cut);
	g_test_add_func("/guest-logd/parse-kmsg", test_parse_kmsg);
	return g_test_run();
}
