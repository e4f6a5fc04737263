/* Unit tests for launcher/http.c, the web view's HTTP: the request head parser (hostile heads
 * included), the Host check that keeps DNS-rebinding pages out, and the connection bounds. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "launcher/http.h"

static enum http_read_result parse(const char *head, struct http_request *req, int *status, GError **error)
{
	return http_parse_head(head, strlen(head), req, status, error);
}

static void test_parse_good(void)
{
	struct http_request req;
	int status = 0;
	g_autoptr(GError) err = NULL;
	g_assert_cmpint(parse("GET /display0/frames?after=v1&wait=10 HTTP/1.1\r\nHost: localhost:8443\r\n"
			      "Connection: keep-alive\r\n\r\n",
			      &req, &status, &err),
			==, HTTP_READ_OK);
	g_assert_no_error(err);
	g_assert_cmpstr(req.method, ==, "GET");
	g_assert_cmpstr(req.path, ==, "/display0/frames");
	g_assert_cmpstr(req.query, ==, "after=v1&wait=10");
	g_assert_cmpstr(req.host, ==, "localhost:8443");
	g_assert_true(req.keep_alive && !req.has_body);
	g_autofree char *after = http_query_value(req.query, "after");
	g_assert_cmpstr(after, ==, "v1");
	http_request_clear(&req);
	/* LF line ends, header names without case, Connection: close, a body announced. */
	g_assert_cmpint(parse("HEAD / HTTP/1.1\nhOsT:  127.0.0.1 \nCONNECTION: Close\nContent-Length: 5\n\n",
			      &req, &status, &err),
			==, HTTP_READ_OK);
	g_assert_cmpstr(req.host, ==, "127.0.0.1");
	g_assert_true(!req.keep_alive && req.has_body);
	http_request_clear(&req);
	/* HTTP/1.0 without Host is allowed (RFC 9112 requires it of 1.1 only); no keep-alive. */
	g_assert_cmpint(parse("GET / HTTP/1.0\r\n\r\n", &req, &status, &err), ==, HTTP_READ_OK);
	g_assert_null(req.host);
	g_assert_false(req.keep_alive);
	http_request_clear(&req);
}

static void expect_bad(const char *head, gsize len, int want_status, const char *why)
{
	struct http_request req;
	int status = 0;
	g_autoptr(GError) err = NULL;
	g_assert_cmpint(http_parse_head(head, len, &req, &status, &err), ==, HTTP_READ_BAD);
	g_assert_cmpint(status, ==, want_status);
	g_assert_nonnull(err);
	if (!strstr(err->message, why))
		g_error("'%s' does not say '%s'", err->message, why);
	http_request_clear(&req);
}

static void test_parse_bad(void)
{
#define BAD(text, status, why) expect_bad(text, sizeof(text) - 1, status, why)
	BAD("GET / HTTP/1.1\r\n\r\n", 400, "without a Host");
	BAD("GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n", 400, "more than one Host");
	BAD("GET / HTTP/2.0\r\nHost: localhost\r\n\r\n", 505, "not HTTP/1.0");
	BAD("GET /\r\n\r\n", 400, "malformed request line");
	BAD("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request line");
	BAD("GET http://evil/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request line");
	BAD("GET / HTTP/1.1\r\nHost localhost\r\n\r\n", 400, "malformed header line");
	BAD("GET / HTTP/1.1\r\n: empty\r\n\r\n", 400, "malformed header line");
	BAD("GET / HTTP/1.1\r\nHost: local\0host\r\n\r\n", 400, "NUL byte");
	BAD("\0", 400, "NUL byte");
	/* Nothing at all, or a blank line only (fuzz-http: an empty head once split into no
	 * lines and handed NULL on). */
	expect_bad("", 0, 400, "malformed request line");
	BAD("\r\n", 400, "malformed request line");
#undef BAD
}

/* Requests read from a connection as the server reads them: the client wrote all of `stream`
 * and closed its side. Returns the paths read, then "400" when a request was refused. */
static char *read_all(const char *stream)
{
	int sv[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	g_assert_cmpint(write(sv[1], stream, strlen(stream)), ==, (gssize)strlen(stream));
	shutdown(sv[1], SHUT_WR);
	g_autoptr(GSocket) sock = g_socket_new_from_fd(sv[0], NULL);
	g_autoptr(GSocketConnection) conn = g_socket_connection_factory_create_connection(sock);
	struct http_conn c;
	http_conn_init(&c, conn);
	GString *seen = g_string_new(NULL);
	for (;;) {
		struct http_request req;
		int status = 0;
		g_autoptr(GError) err = NULL;
		enum http_read_result r = http_read_request(&c, &req, &status, &err);
		if (r == HTTP_READ_OK)
			g_string_append_printf(seen, "%s ", req.path);
		else if (r == HTTP_READ_BAD)
			g_string_append_printf(seen, "%d", status);
		http_request_clear(&req);
		if (r != HTTP_READ_OK)
			break;
	}
	http_conn_clear(&c);
	close(sv[1]);
	return g_string_free(seen, FALSE);
}

static void test_read_pipelined(void)
{
	g_autofree char *plain = read_all(
		"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
	g_assert_cmpstr(plain, ==, "/a /b ");
	/* Empty lines before a request are ignored (RFC 9112 section 2.2), also when they follow
	 * the previous request in the same read: they were once parsed as a request line (400). */
	g_autofree char *blank = read_all("\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n\r\n\nGET /b HTTP/1.1\r\n"
					  "Host: x\r\n\r\n\r\n");
	g_assert_cmpstr(blank, ==, "/a /b ");
	g_autofree char *cut = read_all("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n");
	g_assert_cmpstr(cut, ==, "/a 400");
}

static void test_host_check(void)
{
	const char *const allowed[] = { "device.example", "192.168.1.5", "[fd00::5]", NULL };
	const char *const yes[] = {
		"localhost",      "localhost:8443",      "LocalHost:1",
		"127.0.0.1",      "127.0.0.1:8443",      "127.1.2.3:80",
		"[::1]",          "[::1]:8443",          "[0:0:0:0:0:0:0:1]:9",
		"device.example", "DEVICE.example:8443", "192.168.1.5:8443",
		"[fd00::5]:8443",
	};
	const char *const no[] = {
		"",
		"evil.example",
		"evil.example:8443",
		"localhost.evil.example",
		"localhost.",
		"127.0.0.1.evil.example",
		"evil-127.0.0.1",
		"localhost:",
		"localhost:abc",
		"localhost:99999",
		"localhost:8443:1",
		"[::1",
		"[::1]x",
		"[::1]:",
		"[::2]:8443",
		"::1",
		"[localhost]",
		"user@localhost",
		"localhost/x",
		"local host",
		"128.0.0.1",
		"0.0.0.0",
		"127.1",
		"device.example.evil",
		"sub.device.example",
		"fd00::5",
		"192.168.1.50",
		"[::ffff:127.0.0.1]",
		/* White space before a port (fuzz-http: regressions/http/host-port-after-vtab). */
		"[::1]:\v10",
		"localhost: 80",
		"127.0.0.1:\t8443",
		"[::1]:\n1",
	};
	for (guint i = 0; i < G_N_ELEMENTS(yes); i++)
		if (!http_host_allowed(yes[i], allowed))
			g_error("Host '%s' is refused", yes[i]);
	for (guint i = 0; i < G_N_ELEMENTS(no); i++)
		if (http_host_allowed(no[i], allowed))
			g_error("Host '%s' is allowed", no[i]);
	g_assert_false(http_host_allowed(NULL, allowed));
	/* Without a configured list, only this host's names. */
	g_assert_true(http_host_allowed("localhost:1", NULL));
	g_assert_false(http_host_allowed("device.example", NULL));
}

static void test_limits(void)
{
	struct http_limits l;
	http_limits_init(&l, 8, 10);
	const char *why = NULL;
	for (guint i = 0; i < 8; i++)
		g_assert_true(http_limits_enter(&l, "127.0.0.2", &why));
	g_assert_false(http_limits_enter(&l, "127.0.0.2", &why));
	g_assert_nonnull(strstr(why, "client address"));
	/* Another client is still served, up to the bound in all. */
	g_assert_true(http_limits_enter(&l, "127.0.0.1", &why));
	g_assert_true(http_limits_enter(&l, "::1", &why));
	g_assert_false(http_limits_enter(&l, "127.0.0.3", &why));
	g_assert_nonnull(strstr(why, "as many connections as it takes"));
	http_limits_leave(&l, "127.0.0.2");
	g_assert_true(http_limits_enter(&l, "127.0.0.3", &why));
	g_assert_false(http_limits_enter(&l, "127.0.0.2", &why));
	/* Leaving an address that holds nothing changes nothing. */
	http_limits_leave(&l, "10.0.0.1");
	g_assert_false(http_limits_enter(&l, "10.0.0.1", &why));
	for (guint i = 0; i < 7; i++)
		http_limits_leave(&l, "127.0.0.2");
	for (guint i = 0; i < 7; i++)
		g_assert_true(http_limits_enter(&l, "127.0.0.2", &why));
	http_limits_clear(&l);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/http/parse/good", test_parse_good);
	g_test_add_func("/http/parse/bad", test_parse_bad);
	g_test_add_func("/http/read/pipelined", test_read_pipelined);
	g_test_add_func("/http/host-check", test_host_check);
	g_test_add_func("/http/limits", test_limits);
	return g_test_run();
}
