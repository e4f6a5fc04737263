/* launcher/http.c — see http.h. */
#include "launcher/http.h"

#include <arpa/inet.h>
#include <string.h>

void http_conn_init(struct http_conn *c, GSocketConnection *conn)
{
	c->stream = G_IO_STREAM(g_object_ref(conn));
	c->socket = g_object_ref(g_socket_connection_get_socket(conn));
	c->pending = g_byte_array_new();
	c->head_timeout_ms = HTTP_HEAD_TIMEOUT_MS;
	g_autoptr(GSocketAddress) addr = g_socket_connection_get_remote_address(conn, NULL);
	c->peer = c->peer_address = NULL;
	if (G_IS_INET_SOCKET_ADDRESS(addr)) {
		GInetSocketAddress *ia = G_INET_SOCKET_ADDRESS(addr);
		c->peer_address = g_inet_address_to_string(g_inet_socket_address_get_address(ia));
		c->peer = g_strdup_printf(strchr(c->peer_address, ':') ? "[%s]:%u" : "%s:%u", c->peer_address,
					  g_inet_socket_address_get_port(ia));
	}
	if (!c->peer)
		c->peer = g_strdup("unknown client");
	if (!c->peer_address)
		c->peer_address = g_strdup("unknown");
}

void http_conn_clear(struct http_conn *c)
{
	g_clear_object(&c->stream);
	g_clear_object(&c->socket);
	g_clear_pointer(&c->peer, g_free);
	g_clear_pointer(&c->peer_address, g_free);
	g_clear_pointer(&c->pending, g_byte_array_unref);
}

void http_request_clear(struct http_request *req)
{
	g_free(req->method);
	g_free(req->target);
	g_free(req->path);
	g_free(req->query);
	g_free(req->host);
	g_free(req->ws_key);
	g_free(req->ws_version);
	g_free(req->origin);
	memset(req, 0, sizeof(*req));
}

/* The end of the head in buf (the index after the blank line), or 0. Lines may end in LF
 * alone, as RFC 9112 allows a server to accept. */
static gsize find_head_end(const GByteArray *buf)
{
	for (gsize i = 0; i < buf->len; i++) {
		if (buf->data[i] != '\n')
			continue;
		if (i + 1 < buf->len && buf->data[i + 1] == '\n')
			return i + 2;
		if (i + 2 < buf->len && buf->data[i + 1] == '\r' && buf->data[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static enum http_read_result bad(int *status, int code, GError **error, const char *why)
{
	*status = code;
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s", why);
	return HTTP_READ_BAD;
}

static bool header_has_token(const char *value, const char *token)
{
	g_auto(GStrv) parts = g_strsplit(value, ",", -1);
	for (char **p = parts; *p; p++)
		if (!g_ascii_strcasecmp(g_strstrip(*p), token))
			return true;
	return false;
}

static void set_once(char **field, const char *value, bool *duplicate)
{
	if (*field)
		*duplicate = true;
	else
		*field = g_strdup(value);
}

static enum http_read_result parse_head(char *head, struct http_request *req, int *status, GError **error)
{
	g_auto(GStrv) lines = g_strsplit(head, "\n", -1);
	for (char **l = lines; *l; l++)
		g_strchomp(*l); /* the CR of CRLF */
	if (!lines[0])
		return bad(status, 400, error, "malformed request line (an empty request)");
	g_auto(GStrv) words = g_strsplit(lines[0], " ", -1);
	if (g_strv_length(words) != 3 || !*words[0] || words[1][0] != '/')
		return bad(status, 400, error, "malformed request line");
	int minor;
	if (!strcmp(words[2], "HTTP/1.1"))
		minor = 1;
	else if (!strcmp(words[2], "HTTP/1.0"))
		minor = 0;
	else
		return bad(status, 505, error, "not HTTP/1.0 or HTTP/1.1");
	req->method = g_strdup(words[0]);
	req->target = g_strdup(words[1]);
	const char *q = strchr(req->target, '?');
	req->path = q ? g_strndup(req->target, (gsize)(q - req->target)) : g_strdup(req->target);
	req->query = g_strdup(q ? q + 1 : "");
	req->keep_alive = minor == 1;
	req->http11 = minor == 1;
	for (char **l = lines + 1; *l && **l; l++) {
		char *colon = strchr(*l, ':');
		if (!colon || colon == *l)
			return bad(status, 400, error, "malformed header line");
		*colon = '\0';
		const char *name = *l, *value = g_strstrip(colon + 1);
		if (!g_ascii_strcasecmp(name, "Host")) {
			if (req->host)
				return bad(status, 400, error, "more than one Host header");
			req->host = g_strdup(value);
		} else if (!g_ascii_strcasecmp(name, "Connection")) {
			if (header_has_token(value, "close"))
				req->keep_alive = false;
			else if (header_has_token(value, "keep-alive"))
				req->keep_alive = true;
			if (header_has_token(value, "upgrade"))
				req->connection_upgrade = true;
		} else if (!g_ascii_strcasecmp(name, "Upgrade")) {
			if (header_has_token(value, "websocket"))
				req->upgrade_websocket = true;
		} else if (!g_ascii_strcasecmp(name, "Sec-WebSocket-Key")) {
			set_once(&req->ws_key, value, &req->duplicate_ws_header);
		} else if (!g_ascii_strcasecmp(name, "Sec-WebSocket-Version")) {
			set_once(&req->ws_version, value, &req->duplicate_ws_header);
		} else if (!g_ascii_strcasecmp(name, "Origin")) {
			set_once(&req->origin, value, &req->duplicate_ws_header);
		} else if (!g_ascii_strcasecmp(name, "Transfer-Encoding") ||
			   (!g_ascii_strcasecmp(name, "Content-Length") && strcmp(value, "0"))) {
			req->has_body = true;
		}
	}
	/* RFC 9112 section 3.2: an HTTP/1.1 request without Host is answered 400. */
	if (minor == 1 && !req->host)
		return bad(status, 400, error, "HTTP/1.1 request without a Host header");
	return HTTP_READ_OK;
}

enum http_read_result http_parse_head(const char *head, gsize len, struct http_request *req, int *status,
				      GError **error)
{
	memset(req, 0, sizeof(*req));
	if (memchr(head, '\0', len))
		return bad(status, 400, error, "NUL byte in the request head");
	g_autofree char *copy = g_strndup(head, len);
	return parse_head(copy, req, status, error);
}

/* Waits until the socket has bytes or the deadline passed; false on the deadline. */
static bool wait_readable(struct http_conn *c, gint64 deadline)
{
	gint64 left = deadline - g_get_monotonic_time();
	if (left <= 0)
		return false;
	g_autoptr(GError) err = NULL;
	/* Any other failure: the read that follows reports it. */
	return g_socket_condition_timed_wait(c->socket, G_IO_IN, left, NULL, &err) ||
	       !g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

enum http_read_result http_read_request(struct http_conn *c, struct http_request *req, int *status,
					GError **error)
{
	memset(req, 0, sizeof(*req));
	GInputStream *in = g_io_stream_get_input_stream(c->stream);
	gint64 deadline = g_get_monotonic_time() + (gint64)c->head_timeout_ms * 1000;
	gsize end;
	for (;;) {
		/* Tolerate empty lines before a request (RFC 9112 section 2.2), also those that came
		 * in the same read as the previous request. */
		guint blank = 0;
		while (blank < c->pending->len &&
		       (c->pending->data[blank] == '\r' || c->pending->data[blank] == '\n'))
			blank++;
		g_byte_array_remove_range(c->pending, 0, blank);
		if ((end = find_head_end(c->pending)))
			break;
		if (c->pending->len >= HTTP_MAX_HEAD)
			return bad(status, 431, error, "request head larger than 16 KiB");
		if (!wait_readable(c, deadline)) {
			if (!c->pending->len)
				return HTTP_READ_TIMEOUT;
			return bad(status, 408, error, "the request head did not arrive in time");
		}
		guint8 chunk[4096];
		gssize n = g_input_stream_read(in, chunk, sizeof(chunk), NULL, error);
		if (n < 0) {
			/* A keep-alive connection the client reset: nothing to answer. */
			if (!c->pending->len) {
				g_clear_error(error);
				return HTTP_READ_EOF;
			}
			return bad(status, 400, error, "connection failed in the middle of a request");
		}
		if (n == 0) {
			if (!c->pending->len)
				return HTTP_READ_EOF;
			return bad(status, 400, error, "connection closed in the middle of a request");
		}
		g_byte_array_append(c->pending, chunk, (guint)n);
	}
	enum http_read_result r = http_parse_head((const char *)c->pending->data, end, req, status, error);
	g_byte_array_remove_range(c->pending, 0, (guint)end);
	return r;
}

/* ---- the Host check */

/* 1 to 5 decimal digits, at most 65535. Digits only: g_ascii_string_to_unsigned skips leading
 * white space (fuzz-http found "[::1]:\v10" taken as port 10). */
static bool is_port(const char *s)
{
	guint64 port;
	for (const char *p = s; *p; p++)
		if (!g_ascii_isdigit(*p))
			return false;
	return *s && strlen(s) <= 5 && g_ascii_string_to_unsigned(s, 10, 0, 65535, &port, NULL);
}

static bool is_loopback_literal(const char *name)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, name, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static bool name_in(const char *name, const char *const *allowed)
{
	for (; allowed && *allowed; allowed++) {
		const char *a = *allowed;
		gsize n = strlen(a);
		/* An IPv6 address may be configured with or without its brackets. */
		if (n > 2 && a[0] == '[' && a[n - 1] == ']') {
			if (strlen(name) == n - 2 && !g_ascii_strncasecmp(name, a + 1, n - 2))
				return true;
		} else if (*a && !g_ascii_strcasecmp(name, a)) {
			return true;
		}
	}
	return false;
}

bool http_host_allowed(const char *host, const char *const *allowed)
{
	if (!host || !*host)
		return false;
	g_autofree char *name = NULL;
	if (host[0] == '[') {
		const char *close = strchr(host, ']');
		struct in6_addr a6;
		if (!close || (close[1] && (close[1] != ':' || !is_port(close + 2))))
			return false;
		name = g_strndup(host + 1, (gsize)(close - host - 1));
		if (inet_pton(AF_INET6, name, &a6) != 1)
			return false;
	} else {
		const char *colon = strchr(host, ':');
		if (colon && !is_port(colon + 1))
			return false;
		name = colon ? g_strndup(host, (gsize)(colon - host)) : g_strdup(host);
		/* A host name's letters, digits, '-' and '.'; nothing else reaches the comparisons. */
		for (const char *p = name; *p; p++)
			if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.')
				return false;
		if (!*name)
			return false;
	}
	return !g_ascii_strcasecmp(name, "localhost") || is_loopback_literal(name) || name_in(name, allowed);
}

/* ---- connection bounds */

void http_limits_init(struct http_limits *l, guint max_per_address, guint max_total)
{
	g_mutex_init(&l->lock);
	l->per_address = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	l->total = 0;
	l->max_per_address = max_per_address;
	l->max_total = max_total;
}

void http_limits_clear(struct http_limits *l)
{
	g_clear_pointer(&l->per_address, g_hash_table_unref);
	g_mutex_clear(&l->lock);
}

bool http_limits_enter(struct http_limits *l, const char *address, const char **reason)
{
	g_mutex_lock(&l->lock);
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(l->per_address, address));
	bool ok = false;
	if (l->total >= l->max_total) {
		*reason = "the server has as many connections as it takes";
	} else if (n >= l->max_per_address) {
		*reason = "this client address has as many connections as one may have";
	} else {
		g_hash_table_replace(l->per_address, g_strdup(address), GUINT_TO_POINTER(n + 1));
		l->total++;
		ok = true;
	}
	g_mutex_unlock(&l->lock);
	return ok;
}

void http_limits_leave(struct http_limits *l, const char *address)
{
	g_mutex_lock(&l->lock);
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(l->per_address, address));
	if (n > 1)
		g_hash_table_replace(l->per_address, g_strdup(address), GUINT_TO_POINTER(n - 1));
	else
		g_hash_table_remove(l->per_address, address);
	if (n && l->total)
		l->total--;
	g_mutex_unlock(&l->lock);
}

char *http_query_value(const char *query, const char *name)
{
	g_auto(GStrv) pairs = g_strsplit(query, "&", -1);
	gsize n = strlen(name);
	for (char **p = pairs; *p; p++)
		if (!strncmp(*p, name, n) && (*p)[n] == '=')
			return g_strdup(*p + n + 1);
	return NULL;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 101:
		return "Switching Protocols";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 426:
		return "Upgrade Required";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

bool http_respond(struct http_conn *c, const struct http_request *req, int status, const char *type,
		  const void *body, gsize len, const char *extra_headers, GError **error)
{
	g_autoptr(GString) head = g_string_new(NULL);
	g_string_append_printf(head, "HTTP/1.1 %d %s\r\n", status, reason_phrase(status));
	if (type)
		g_string_append_printf(head, "Content-Type: %s\r\n", type);
	g_string_append_printf(head, "Content-Length: %" G_GSIZE_FORMAT "\r\nCache-Control: no-store\r\n",
			       len);
	g_string_append_printf(head, "Connection: %s\r\n", req && req->keep_alive ? "keep-alive" : "close");
	if (extra_headers)
		g_string_append(head, extra_headers);
	g_string_append(head, "\r\n");
	GOutputStream *out = g_io_stream_get_output_stream(c->stream);
	if (!g_output_stream_write_all(out, head->str, head->len, NULL, NULL, error))
		return false;
	bool send_body = !(req && req->method && !strcmp(req->method, "HEAD"));
	return !send_body || !len || g_output_stream_write_all(out, body, len, NULL, NULL, error);
}
