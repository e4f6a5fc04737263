/* libFuzzer target for what a browser or any local program sends sepia-webview: the HTTP/1.1
 * request heads (launcher/http.c), read as the server reads them, and the guards and helpers
 * the server runs on them.
 *
 * Input: byte 0 picks the parser, the rest is its input:
 *   0 a byte stream a client sends on one connection: http_read_request reads request heads
 *     from a socket until the stream ends (pipelined and kept-alive requests, empty lines
 *     between them, heads cut short);
 *   1 one request head given whole to http_parse_head;
 *   2 a Host header value for http_host_allowed (the bytes after a NUL, split at commas, are the
 *     --allowed-hosts list);
 *   3 a query string and, after a NUL, a parameter name for http_query_value.
 *
 * Oracle beyond ASan/UBSan: a parsed request has a method, a target starting with '/' that is
 * its path, then '?' and its query when it has one, and a Host when it is HTTP/1.1; a refusal
 * comes with 400, 408, 431 or 505 and an error; no more requests come out of a stream than it
 * has head ends; the Host check does not depend on letter case, and refuses values with bytes
 * no host name or address has; a query value is what follows "name=" in one of the '&' parts. */
#include "tests/fuzz/fuzz-common.h"

#include <gio/gio.h>
#include <sys/socket.h>

#include "launcher/http.h"

static void check_request(const struct http_request *req)
{
	if (!req->method || !*req->method || !req->target || req->target[0] != '/' || !req->path ||
	    !req->query)
		abort();
	gsize plen = strlen(req->path);
	if (strncmp(req->target, req->path, plen))
		abort();
	if (req->target[plen] == '?') {
		if (strcmp(req->target + plen + 1, req->query) || strchr(req->path, '?'))
			abort();
	} else if (req->target[plen] || *req->query) {
		abort();
	}
}

static void check_refusal(enum http_read_result r, int status, GError **err)
{
	if (r != HTTP_READ_BAD)
		return;
	if (status != 400 && status != 408 && status != 431 && status != 505)
		abort();
	if (!*err || !*(*err)->message)
		abort();
}

/* Head ends in data: a line feed followed by an empty line (LF or CRLF). */
static size_t count_head_ends(const uint8_t *d, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		if (d[i] == '\n' &&
		    ((i + 1 < n && d[i + 1] == '\n') || (i + 2 < n && d[i + 1] == '\r' && d[i + 2] == '\n')))
			count++;
	return count;
}

static void fuzz_stream(const uint8_t *data, size_t size)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	/* The whole input fits the socket buffer: the client has sent everything and gone. */
	int buf = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	size_t done = 0;
	while (done < size) {
		ssize_t w = write(sv[1], data + done, size - done);
		if (w <= 0)
			abort();
		done += (size_t)w;
	}
	shutdown(sv[1], SHUT_WR);
	g_autoptr(GSocket) sock = g_socket_new_from_fd(sv[0], NULL);
	if (!sock)
		abort();
	g_autoptr(GSocketConnection) conn = g_socket_connection_factory_create_connection(sock);
	struct http_conn c;
	http_conn_init(&c, conn);
	c.head_timeout_ms = 2000; /* never reached: the stream has ended */
	size_t requests = 0, ends = count_head_ends(data, size);
	for (;;) {
		struct http_request req;
		int status = 0;
		g_autoptr(GError) err = NULL;
		enum http_read_result r = http_read_request(&c, &req, &status, &err);
		if (r == HTTP_READ_TIMEOUT)
			abort(); /* nothing waits on a closed stream */
		check_refusal(r, status, &err);
		if (r == HTTP_READ_OK) {
			check_request(&req);
			if (++requests > ends)
				abort();
		}
		http_request_clear(&req);
		if (r != HTTP_READ_OK)
			break;
	}
	http_conn_clear(&c);
	close(sv[1]);
}

static void fuzz_head(const uint8_t *data, size_t size)
{
	struct http_request req;
	int status = 0;
	g_autoptr(GError) err = NULL;
	enum http_read_result r = http_parse_head((const char *)data, size, &req, &status, &err);
	check_refusal(r, status, &err);
	if (r == HTTP_READ_OK)
		check_request(&req);
	else if (r != HTTP_READ_BAD)
		abort();
	http_request_clear(&req);
}

static void fuzz_host(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t hlen = nul ? (size_t)(nul - data) : size;
	g_autofree char *host = g_strndup((const char *)data, hlen);
	g_autofree char *list = nul ? g_strndup((const char *)nul + 1, size - hlen - 1) : NULL;
	g_auto(GStrv) allowed = list ? g_strsplit(list, ",", -1) : NULL;
	bool ok = http_host_allowed(host, (const char *const *)allowed);
	g_autofree char *upper = g_ascii_strup(host, -1);
	g_autofree char *lower = g_ascii_strdown(host, -1);
	if (http_host_allowed(upper, (const char *const *)allowed) != ok ||
	    http_host_allowed(lower, (const char *const *)allowed) != ok)
		abort();
	if (ok)
		for (const char *p = host; *p; p++)
			if (!g_ascii_isalnum(*p) && !strchr("-.:[]", *p))
				abort();
	if (!*host && ok)
		abort();
}

static void fuzz_query(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t qlen = nul ? (size_t)(nul - data) : size;
	g_autofree char *query = g_strndup((const char *)data, qlen);
	g_autofree char *name = nul ? g_strndup((const char *)nul + 1, size - qlen - 1) : g_strdup("after");
	g_autofree char *value = http_query_value(query, name);
	if (!value)
		return;
	g_autofree char *part = g_strconcat(name, "=", value, NULL);
	g_auto(GStrv) parts = g_strsplit(query, "&", -1);
	for (char **p = parts; *p; p++)
		if (!strcmp(*p, part))
			return;
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *d = data + 1;
	size_t n = size - 1;
	switch (data[0] % 4) {
	case 0:
		fuzz_stream(d, n);
		break;
	case 1:
		fuzz_head(d, n);
		break;
	case 2:
		fuzz_host(d, n);
		break;
	default:
		fuzz_query(d, n);
		break;
	}
	return 0;
}
