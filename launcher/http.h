/* launcher/http.h — the small part of HTTP/1.1 (RFC 9112) a local server needs: read request
 * heads from a connection (keep-alive, pipelined requests kept in order) within a deadline,
 * write complete responses with Content-Length, and the guards of a server that only this host
 * should use: the Host check against DNS rebinding and bounds on connections per client
 * address and in all. No request bodies: a request announcing one is answered and the
 * connection closed. */
#pragma once

#include <gio/gio.h>
#include <stdbool.h>

#define HTTP_MAX_HEAD 16384u
/* A request head must arrive whole within this time from when the server starts waiting for it
 * (after the connection opened, or after the previous answer on a kept-alive connection). */
#define HTTP_HEAD_TIMEOUT_MS 5000u

struct http_conn {
	GIOStream *stream;
	GSocket *socket;
	char *peer;          /* "127.0.0.1:40312", for log lines */
	char *peer_address;  /* "127.0.0.1": what the per-client bound counts */
	GByteArray *pending; /* bytes read past the last request head */
	guint head_timeout_ms;
};

struct http_request {
	char *method;
	char *target;    /* as sent: "/display0/frames?after=..." */
	char *path;      /* target up to '?' */
	char *query;     /* after '?', or "" */
	char *host;      /* the Host header's value; NULL without one (HTTP/1.0 only) */
	bool keep_alive; /* the client lets the connection stay open after the answer */
	bool has_body;
	bool http11; /* HTTP/1.1 (else HTTP/1.0) */
	/* What a WebSocket opening handshake carries (launcher/websocket.h checks it). */
	bool upgrade_websocket;   /* Upgrade lists "websocket" */
	bool connection_upgrade;  /* Connection lists "upgrade" */
	char *ws_key;             /* Sec-WebSocket-Key, or NULL */
	char *ws_version;         /* Sec-WebSocket-Version, or NULL */
	char *origin;             /* Origin, or NULL */
	bool duplicate_ws_header; /* one of the three above came twice */
};

enum http_read_result {
	HTTP_READ_OK,
	HTTP_READ_EOF,     /* the client closed between requests */
	HTTP_READ_BAD,     /* a malformed or late head: answer *status and close */
	HTTP_READ_TIMEOUT, /* nothing of a request within the head timeout: close */
};

void http_conn_init(struct http_conn *c, GSocketConnection *conn);
void http_conn_clear(struct http_conn *c);

/* Reads and parses the next request head, waiting at most c->head_timeout_ms for all of it.
 * HTTP_READ_BAD sets *status (400, 408, 431, 505) and error (the reason, for the log). */
enum http_read_result http_read_request(struct http_conn *c, struct http_request *req, int *status,
					GError **error);
/* Parses one request head of len bytes (request line, header lines, the blank line). The same
 * result, *status and error as http_read_request; an HTTP/1.1 request needs exactly one Host. */
enum http_read_result http_parse_head(const char *head, gsize len, struct http_request *req, int *status,
				      GError **error);
void http_request_clear(struct http_request *req);

/* Whether a Host header value names this host in a way a web page elsewhere cannot take over by
 * DNS rebinding: localhost, an IPv4 loopback address (127.0.0.0/8) or [::1], or one of `allowed`
 * (host names or IP addresses the user configured, compared without case; NULL-terminated, may
 * be NULL), each with any port or none. Malformed values are refused. */
bool http_host_allowed(const char *host, const char *const *allowed);

/* Bounds on open connections, per client address and in all, shared by the accepting thread and
 * the connection threads. */
struct http_limits {
	GMutex lock;
	GHashTable *per_address; /* address -> count */
	guint total, max_per_address, max_total;
};
void http_limits_init(struct http_limits *l, guint max_per_address, guint max_total);
void http_limits_clear(struct http_limits *l);
/* Counts a new connection from address; false (and nothing counted) when one of the bounds is
 * reached, with *reason saying which (static text). */
bool http_limits_enter(struct http_limits *l, const char *address, const char **reason);
void http_limits_leave(struct http_limits *l, const char *address);

/* The value of name in a query string "a=1&b=2" (no percent-decoding: the web view's values
 * are digits and letters); NULL when absent. */
char *http_query_value(const char *query, const char *name);

/* Writes a whole response: status line, Content-Type (when type is not NULL), Content-Length,
 * Cache-Control: no-store, Connection, extra_headers ("Name: value\r\n"... or NULL), then the
 * body unless the method is HEAD. */
bool http_respond(struct http_conn *c, const struct http_request *req, int status, const char *type,
		  const void *body, gsize len, const char *extra_headers, GError **error);
