/* launcher/http.h — the small part of HTTP/1.1 (RFC 9112) the web view needs: read request
 * heads from a connection (keep-alive, pipelined requests kept in order), write complete
 * responses with Content-Length. No request bodies: a request announcing one is answered
 * and the connection closed. */
#pragma once

#include <gio/gio.h>
#include <stdbool.h>

#define HTTP_MAX_HEAD 16384u

struct http_conn {
	GIOStream *stream;
	char *peer;          /* "127.0.0.1:40312", for log lines */
	GByteArray *pending; /* bytes read past the last request head */
};

struct http_request {
	char *method;
	char *target;    /* as sent: "/display0/frames?after=..." */
	char *path;      /* target up to '?' */
	char *query;     /* after '?', or "" */
	bool keep_alive; /* the client lets the connection stay open after the answer */
	bool has_body;
};

enum http_read_result {
	HTTP_READ_OK,
	HTTP_READ_EOF, /* the client closed (or went quiet) between requests */
	HTTP_READ_BAD, /* a malformed head: answer *status and close */
};

void http_conn_init(struct http_conn *c, GSocketConnection *conn);
void http_conn_clear(struct http_conn *c);

/* Reads and parses the next request head. HTTP_READ_BAD sets *status (400, 431, 505) and
 * error (the reason, for the log). */
enum http_read_result http_read_request(struct http_conn *c, struct http_request *req, int *status,
					GError **error);
void http_request_clear(struct http_request *req);

/* The value of name in a query string "a=1&b=2" (no percent-decoding: the web view's values
 * are digits and letters); NULL when absent. */
char *http_query_value(const char *query, const char *name);

/* Writes a whole response: status line, Content-Type (when type is not NULL), Content-Length,
 * Cache-Control: no-store, Connection, extra_headers ("Name: value\r\n"... or NULL), then the
 * body unless the method is HEAD. */
bool http_respond(struct http_conn *c, const struct http_request *req, int status, const char *type,
		  const void *body, gsize len, const char *extra_headers, GError **error);
