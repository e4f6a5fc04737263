/* launcher/webview.c — sepia-webview: a device's displays in a web browser.
 *
 *   sepia-webview --framebuffer-dir=DIR --port=P [--address=127.0.0.1] [--allowed-hosts=N,...]
 *                 [--verbose]
 *
 * Serves, over HTTP/1.1 (launcher/http.c), for every scanout file DIR/display<K>.fb:
 *   /                    the page (webview_page.c): the instance's name and state, its power
 *                        and volume buttons, each display on a canvas fitted to the window
 *   /stream              the page's WebSocket (webview_stream.c): frames out as changed
 *                        rectangles when the guest flushes them, input in as touch, key and
 *                        button lines that reach the instance's input sockets (webinput.h)
 *   /display<K>.png      the current picture as PNG (display/png.c), for scripts
 *   /display<K>/frames   {"version", "frames", "width", "height", "enabled", ...} as JSON;
 *                        ?after=VERSION&wait=MS holds the answer (up to 25 s) until the
 *                        display's version differs from VERSION: a long poll, for scripts
 * and 404 for anything else. Every answer has Content-Length and Cache-Control: no-store.
 * Each request opens the file again, so a VMM that replaces it is followed.
 *
 * Why a WebSocket rather than server-sent events plus POST: input goes the other way at the
 * rate of pointer moves, and one connection carrying both keeps their order and needs no
 * request per move (each POST would be a request head through the guards below, and a
 * connection of its own past keep-alive's limits). Frames go as binary messages (a PNG of the
 * changed rectangle, no base64). It crosses one TCP port with no STUN, TURN or video encoder,
 * so it works through Docker bridges and SSH tunnels. The protocol is written against RFC 6455
 * (websocket.c, about 250 lines; Debian's libwebsockets would bring its own event loop and
 * HTTP server beside this one).
 *
 * One thread per connection (GThreadedSocketService): long polls and WebSockets block only
 * their own client.
 * It logs one line when it starts and one per failure (naming the client and path); with
 * --verbose one per request. SIGTERM or SIGINT ends it with status 0.
 *
 * Only this host's browsers and programs are served, even though a web page elsewhere can make
 * a browser here send requests:
 *   - a request whose Host is not localhost, a loopback address, the --address it listens on or
 *     one of --allowed-hosts gets 403: a page that rebinds its own name to 127.0.0.1 (DNS
 *     rebinding) sends its own name as Host, and so never reads the screen;
 *   - at most WEBVIEW_MAX_PER_CLIENT connections per client address and WEBVIEW_MAX_CONNECTIONS
 *     in all (as many as there are threads, so none waits for one); beyond, a 503 and close,
 *     decided on the accepting thread before any thread is given;
 *   - a request head must arrive whole within HTTP_HEAD_TIMEOUT_MS (5 s), or the connection is
 *     closed: clients that connect and send nothing, or a byte at a time, hold a thread 5 s;
 *   - a WebSocket handshake must also come from this server's own page: an Origin other than
 *     http://HOST gets 403 (websocket.h), and its connection counts against the bounds above. */
#include <errno.h>
#include <signal.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "display/framebuffer.h"
#include "launcher/http.h"
#include "launcher/websocket.h"
#include "launcher/webview.h"
#include "display/png.h"
#include "display/scanouts.h"
#include "common/flags.h"

#define WEBVIEW_MAX_CONNECTIONS 64u
#define WEBVIEW_MAX_PER_CLIENT  8u
#define WEBVIEW_SEND_TIMEOUT_S  30u
#define WEBVIEW_MAX_HOLD_MS     25000u
#define WEBVIEW_HOLD_POLL_MS    15u

/* ---- the answers ---- */

struct answer {
	int status;
	const char *type;
	GBytes *body;
	char *extra_headers;
	char *failure; /* logged: why a request failed on our side, or was refused */
	bool close;    /* close the connection after answering */
	bool upgrade;  /* an accepted WebSocket handshake: webview_stream_serve answers it */
};

static void answer_text(struct answer *a, int status, const char *type, char *text)
{
	a->status = status;
	a->type = type;
	a->body = g_bytes_new_take(text, strlen(text));
}

/* A JSON string's contents: quotes, backslashes and control characters escaped; UTF-8 kept. */
char *webview_json_escape(const char *s)
{
	GString *o = g_string_new(NULL);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_printf(o, "\\%c", *p);
		else if (*p < 0x20)
			g_string_append_printf(o, "\\u%04x", *p);
		else
			g_string_append_c(o, (char)*p);
	}
	return g_string_free(o, FALSE);
}

static void answer_png(const struct webview *wv, guint k, struct answer *a)
{
	g_autofree char *path = fb_file_path(wv->dir, k);
	g_autoptr(GError) err = NULL;
	struct fb_image img;
	if (!fb_file_snapshot(path, &img, &err)) {
		bool missing = g_error_matches(err, FB_ERROR, ENOENT);
		answer_text(a, missing ? 404 : 500, "text/plain; charset=utf-8",
			    g_strdup_printf("%s\n", err->message));
		if (!missing)
			a->failure = g_strdup(err->message);
		return;
	}
	if (!img.width || !img.height) {
		answer_text(a, 503, "text/plain; charset=utf-8",
			    g_strdup_printf("display %u shows nothing (a 0x0 picture)\n", k));
	} else if (!(a->body = pngenc_image(&img, NULL, &err))) {
		answer_text(a, 500, "text/plain; charset=utf-8", g_strdup_printf("%s\n", err->message));
		a->failure = g_strdup_printf("%s: %s", path, err->message);
	} else {
		a->status = 200;
		a->type = "image/png";
		a->extra_headers = g_strdup_printf("X-Sepia-Frames: %" G_GUINT64_FORMAT "\r\n", img.frames);
	}
	fb_image_clear(&img);
}

static void answer_frames(const struct webview *wv, guint k, const char *query, struct answer *a)
{
	g_autofree char *path = fb_file_path(wv->dir, k);
	g_autofree char *after = http_query_value(query, "after");
	g_autofree char *wait_text = http_query_value(query, "wait");
	guint64 wait_ms = 0;
	if (after && wait_text)
		g_ascii_string_to_unsigned(wait_text, 10, 0, G_MAXUINT32, &wait_ms, NULL);
	wait_ms = MIN(wait_ms, WEBVIEW_MAX_HOLD_MS);
	/* The long poll: the file's header is read again every 15 ms (an open and two small
	 * reads), which also notices a VMM replacing the file. */
	gint64 deadline = g_get_monotonic_time() + (gint64)wait_ms * 1000;
	struct display_info info;
	g_autoptr(GError) err = NULL;
	g_autofree char *v = NULL;
	for (;;) {
		g_clear_error(&err);
		g_free(v);
		v = display_read_info(path, &info, &err) ? display_info_version(&info)
							 : display_error_version(err);
		if (!after || strcmp(v, after) || g_get_monotonic_time() >= deadline)
			break;
		g_usleep(WEBVIEW_HOLD_POLL_MS * 1000);
	}
	if (err) {
		bool missing = g_error_matches(err, FB_ERROR, ENOENT);
		g_autofree char *msg = webview_json_escape(err->message);
		answer_text(a, missing ? 404 : 500, "application/json",
			    g_strdup_printf("{\"display\": %u, \"version\": \"%s\", \"error\": \"%s\"}\n", k,
					    v, msg));
		if (!missing)
			a->failure = g_strdup(err->message);
		return;
	}
	answer_text(a, 200, "application/json",
		    g_strdup_printf("{\"display\": %u, \"version\": \"%s\", \"frames\": %" G_GUINT64_FORMAT
				    ", \"width\": %u, \"height\": %u, \"enabled\": %s, \"dpi\": %u, "
				    "\"update_usec\": %" G_GUINT64_FORMAT "}\n",
				    k, v, info.frames, info.width, info.height,
				    info.enabled ? "true" : "false", info.dpi, info.update_usec));
}

static void route(struct webview *wv, const struct http_request *req, struct answer *a)
{
	if (req->host && !http_host_allowed(req->host, (const char *const *)wv->allowed_hosts)) {
		answer_text(a, 403, "text/plain; charset=utf-8",
			    g_strdup("this web view answers requests for localhost, 127.0.0.1 and [::1] only "
				     "(sepia-webview --allowed-hosts, launch_cvd --webview_allowed_hosts add "
				     "names)\n"));
		a->failure = g_strdup_printf("Host '%s' is not allowed", req->host);
		a->close = true;
		return;
	}
	if (!strcmp(req->path, "/stream")) {
		int status = 0;
		g_autoptr(GError) err = NULL;
		if (ws_handshake_check(req, &status, &err)) {
			a->upgrade = true;
			return;
		}
		answer_text(a, status, "text/plain; charset=utf-8", g_strdup_printf("%s\n", err->message));
		if (status == 426)
			a->extra_headers = g_strdup("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
		a->failure = g_strdup(err->message);
		a->close = true;
		return;
	}
	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
		answer_text(a, 405, "text/plain; charset=utf-8", g_strdup("only GET and HEAD\n"));
		a->extra_headers = g_strdup("Allow: GET, HEAD\r\n");
		return;
	}
	guint k;
	if (!strcmp(req->path, "/") || !strcmp(req->path, "/index.html")) {
		GString *page = webview_page(wv);
		a->status = 200;
		a->type = "text/html; charset=utf-8";
		a->body = g_string_free_to_bytes(page);
	} else if (display_parse_name(req->path + 1, ".png", &k)) {
		answer_png(wv, k, a);
	} else if (display_parse_name(req->path + 1, "/frames", &k)) {
		answer_frames(wv, k, req->query, a);
	} else {
		answer_text(a, 404, "text/plain; charset=utf-8",
			    g_strdup_printf("no such page: %s\n", req->path));
	}
}

/* One client connection, on a thread of its own, request after request. */
static gboolean serve_connection(GThreadedSocketService *service, GSocketConnection *conn, GObject *source,
				 gpointer user_data)
{
	struct webview *wv = user_data;
	g_socket_set_timeout(g_socket_connection_get_socket(conn), WEBVIEW_SEND_TIMEOUT_S);
	struct http_conn c;
	http_conn_init(&c, conn);
	for (;;) {
		struct http_request req;
		int status = 0;
		g_autoptr(GError) err = NULL;
		enum http_read_result r = http_read_request(&c, &req, &status, &err);
		if (r == HTTP_READ_EOF || r == HTTP_READ_TIMEOUT) {
			if (r == HTTP_READ_TIMEOUT)
				log_line("sepia-webview", NULL, "client %s: no request within %u ms: closed",
					 c.peer, c.head_timeout_ms);
			http_request_clear(&req);
			break;
		}
		if (r == HTTP_READ_BAD) {
			log_line("sepia-webview", NULL, "client %s: %s %s: answered %d: %s", c.peer,
				 req.method ? req.method : "?", req.target ? req.target : "?", status,
				 err->message);
			g_autofree char *text = g_strdup_printf("%s\n", err->message);
			req.keep_alive = false;
			http_respond(&c, &req, status, "text/plain; charset=utf-8", text, strlen(text), NULL,
				     NULL);
			http_request_clear(&req);
			break;
		}
		struct answer a = { 0 };
		gint64 t0 = g_get_monotonic_time();
		route(wv, &req, &a);
		if (a.upgrade) {
			/* The connection is the WebSocket's until it ends. */
			webview_stream_serve(wv, &c, &req);
			http_request_clear(&req);
			break;
		}
		/* A body we do not read would be taken for the next request: close after answering. */
		if (req.has_body || a.close)
			req.keep_alive = false;
		gsize len;
		const void *body = g_bytes_get_data(a.body, &len);
		bool sent = http_respond(&c, &req, a.status, a.type, body, len, a.extra_headers, &err);
		if (a.failure)
			log_line("sepia-webview", NULL, "client %s: %s %s: answered %d: %s", c.peer,
				 req.method, req.target, a.status, a.failure);
		if (!sent)
			log_line("sepia-webview", NULL, "client %s: %s %s: cannot send the answer: %s",
				 c.peer, req.method, req.target, err->message);
		else if (wv->verbose)
			log_line("sepia-webview", NULL,
				 "client %s: %s %s: %d, %" G_GSIZE_FORMAT " bytes, %.1f ms", c.peer,
				 req.method, req.target, a.status, len,
				 (g_get_monotonic_time() - t0) / 1000.0);
		bool keep = sent && req.keep_alive;
		g_bytes_unref(a.body);
		g_free(a.extra_headers);
		g_free(a.failure);
		http_request_clear(&req);
		if (!keep)
			break;
	}
	/* Uncounted before the client sees the close: it may connect again at once. */
	http_limits_leave(&wv->limits, c.peer_address);
	g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
	http_conn_clear(&c);
	return TRUE;
}

/* On the accepting (main) thread, before a connection gets a thread: the connection bounds.
 * Returning TRUE keeps the threaded service from serving it. */
static gboolean on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source,
			    gpointer user_data)
{
	struct webview *wv = user_data;
	struct http_conn c;
	http_conn_init(&c, conn);
	const char *reason = NULL;
	bool ok = http_limits_enter(&wv->limits, c.peer_address, &reason);
	/* Answers go out as a head and then a body (HTTP), a frame header and then its payload
	 * (WebSocket): with Nagle's algorithm the second write waits for the client's delayed ACK of
	 * the first, up to 40 ms on Linux (bench/webview.sh measured 63 ms against 20 ms for a
	 * full-screen PNG). Each write is a whole part of a message, so nothing is gained by
	 * holding it back. Failing to set it (not TCP) costs only that time. */
	g_socket_set_option(c.socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
	if (!ok) {
		log_line("sepia-webview", NULL, "client %s: refused with 503: %s (%u per address, %u in all)",
			 c.peer, reason, WEBVIEW_MAX_PER_CLIENT, WEBVIEW_MAX_CONNECTIONS);
		/* Without waiting: a client that does not read gets nothing. */
		static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; "
					   "charset=utf-8\r\nContent-Length: 18\r\nRetry-After: 5\r\n"
					   "Connection: close\r\n\r\ntoo many requests\n";
		g_socket_set_blocking(c.socket, FALSE);
		g_socket_send(c.socket, busy, sizeof(busy) - 1, NULL, NULL);
		g_socket_shutdown(c.socket, FALSE, TRUE, NULL);
		g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
	}
	http_conn_clear(&c);
	return !ok;
}

static gboolean on_signal(gpointer data)
{
	log_line("sepia-webview", NULL, "stopping on a signal");
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

static const char synopsis[] =
	"usage: sepia-webview --framebuffer-dir=DIR --port=P [--address=127.0.0.1]\n"
	"                     [--allowed-hosts=NAME,...] [--verbose]\n"
	"Serves the displays of DIR/display<K>.fb (a device's instance directory) over HTTP: open\n"
	"http://ADDRESS:P/ in a browser. Listens on 127.0.0.1 unless --address says otherwise, and\n"
	"answers requests for localhost, loopback addresses, ADDRESS and --allowed-hosts only.";

int main(int argc, char **argv)
{
	const char *dir = NULL, *address = "127.0.0.1", *allowed_hosts = NULL;
	guint64 port = 0;
	bool verbose = false;
	struct cli_flag flags[] = {
		FLAG_STRING("framebuffer-dir", &dir,
			    "the directory of the display<K>.fb files (the instance directory)"),
		FLAG_UINT("port", &port, 1, 65535, "the TCP port (launch_cvd --start_webview: 8443+N-1)"),
		FLAG_STRING("address", &address,
			    "the address to listen on (default 127.0.0.1: this host only)"),
		FLAG_STRING("allowed-hosts", &allowed_hosts,
			    "host names (or addresses) to answer besides localhost and loopback, "
			    "comma-separated"),
		FLAG_BOOL("verbose", &verbose, "log one line per request"),
	};
	g_autoptr(GError) err = NULL;
	enum cli_flags_result r = cli_flags_parse(flags, G_N_ELEMENTS(flags), synopsis, argc, argv, &err);
	if (r == CLI_FLAGS_HELP)
		return 0;
	if (r == CLI_FLAGS_OK && (!dir || !flags[1].seen))
		g_set_error(&err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "--framebuffer-dir and --port are required");
	if (err) {
		fprintf(stderr, "sepia-webview: %s (see --help)\n", err->message);
		return 2;
	}
	g_autoptr(GInetAddress) ia = g_inet_address_new_from_string(address);
	if (!ia) {
		fprintf(stderr, "sepia-webview: --address=%s is not an IP address\n", address);
		return 2;
	}
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
		log_line("sepia-webview", NULL,
			 "warning: %s is not a directory (yet); the page will say there is no display", dir);

	/* static: connection threads may still use it while the process exits. */
	static struct webview wv;
	wv = (struct webview){ .dir = g_strdup(dir), .verbose = verbose };
	g_mutex_init(&wv.status_lock);
	webview_input_init(&wv.input, dir);
	g_autoptr(GPtrArray) hosts = g_ptr_array_new();
	g_auto(GStrv) given = g_strsplit(allowed_hosts ? allowed_hosts : "", ",", -1);
	for (char **h = given; *h; h++)
		if (*g_strstrip(*h))
			g_ptr_array_add(hosts, g_strdup(*h));
	/* The address it listens on, when it is one (not 0.0.0.0 or ::): an address cannot be
	 * rebound, and a browser given http://ADDRESS:P/ sends it as Host. */
	if (!g_inet_address_get_is_any(ia))
		g_ptr_array_add(hosts, g_strdup(address));
	g_ptr_array_add(hosts, NULL);
	wv.allowed_hosts = (char **)g_ptr_array_free(g_steal_pointer(&hosts), FALSE);
	http_limits_init(&wv.limits, WEBVIEW_MAX_PER_CLIENT, WEBVIEW_MAX_CONNECTIONS);
	g_autoptr(GSocketService) service = g_threaded_socket_service_new(WEBVIEW_MAX_CONNECTIONS);
	g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(ia, (guint16)port);
	g_autofree char *where = g_strdup_printf(
		g_inet_address_get_family(ia) == G_SOCKET_FAMILY_IPV6 ? "[%s]:%u" : "%s:%u", address,
		(guint)port);
	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(service), sa, G_SOCKET_TYPE_STREAM,
					   G_SOCKET_PROTOCOL_TCP, NULL, NULL, &err)) {
		fprintf(stderr, "sepia-webview: cannot listen on %s: %s\n", where, err->message);
		return 1;
	}
	g_signal_connect(service, "incoming", G_CALLBACK(on_incoming), &wv);
	g_signal_connect(service, "run", G_CALLBACK(serve_connection), &wv);
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_signal, loop);
	g_unix_signal_add(SIGINT, on_signal, loop);
	g_socket_service_start(service);
	log_line("sepia-webview", NULL, "serving the displays in %s on http://%s/", dir, where);
	g_main_loop_run(loop);
	g_socket_service_stop(service);
	g_socket_listener_close(G_SOCKET_LISTENER(service));
	/* Connection threads may still run (a held poll): the process ends without waiting for them. */
	return 0;
}
