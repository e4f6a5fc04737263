/* launcher/webview_stream.c — the WebSocket a page keeps open to sepia-webview (see webview.h).
 *
 * Server to page:
 *   - text {"type":"display","display":K,"width":W,"height":H,"enabled":B,"frames":N} when a
 *     display appears, changes size, state or frame count (and {"type":"display","display":K,
 *     "gone":true} when its file goes);
 *   - binary: the changed rectangle of a new frame (webview_rect_message: a 16-byte header and a
 *     PNG), the whole picture for the first frame and after a size change;
 *   - text {"type":"instance","name":"cvd-1","state":"Running"} when either changes.
 * Page to server: text messages of input lines (webinput.h), ping and close.
 *
 * One thread per connection, as every other request: it waits up to WEBVIEW_STREAM_TICK_MS for
 * what the page sends, then looks at each display's header (a 4 KiB read); a frame is encoded
 * only when its version changed. The rectangle is taken against the picture last sent to this
 * page, so frames that come while the page's socket is full are merged into the next one: a
 * slow page gets fewer, larger updates, never a queue. A page that takes nothing for
 * WEBVIEW_SEND_TIMEOUT_S (the socket's send timeout) is closed. */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "display/framebuffer.h"
#include "launcher/control.h"
#include "launcher/instance.h"
#include "launcher/websocket.h"
#include "launcher/webview.h"

#define WEBVIEW_STREAM_TICK_MS  15
#define WEBVIEW_LIST_EVERY_US   (1000 * 1000)
#define WEBVIEW_STATUS_EVERY_US (2000 * 1000)

/* ---- input */

void webview_input_init(struct webview_input *in, const char *dir)
{
	g_mutex_init(&in->lock);
	memset(in->touch, 0, sizeof(in->touch));
	for (guint d = 0; d <= DISPLAY_MAX_INDEX; d++) {
		g_autofree char *name = g_strdup_printf(LAUNCHER_INPUT_TOUCH_SOCKET, d);
		g_autofree char *path = g_build_filename(dir, name, NULL);
		webinput_sink_init(&in->touch_sink[d], path);
	}
	g_autofree char *kb = g_build_filename(dir, LAUNCHER_INPUT_KEYBOARD_SOCKET, NULL);
	g_autofree char *bt = g_build_filename(dir, LAUNCHER_INPUT_BUTTONS_SOCKET, NULL);
	webinput_sink_init(&in->keyboard, kb);
	webinput_sink_init(&in->buttons, bt);
}

guint webview_input_message(struct webview *wv, guint64 owner, const char *text, gsize len, guint *bad)
{
	g_autofree char *copy = g_strndup(text, len);
	g_auto(GStrv) lines = g_strsplit(copy, "\n", -1);
	struct webview_input *in = &wv->input;
	/* Display sizes, read once per message. */
	guint32 size[DISPLAY_MAX_INDEX + 1][2];
	bool have[DISPLAY_MAX_INDEX + 1] = { false };
	guint sent = 0;
	for (char **l = lines; *l; l++) {
		if (!**l)
			continue;
		struct webinput_cmd cmd;
		g_autoptr(GError) err = NULL;
		if (!webinput_parse_line(*l, &cmd, &err)) {
			(*bad)++;
			continue;
		}
		struct virtio_input_event ev[WEBINPUT_MAX_EVENTS];
		if (cmd.kind == WEBINPUT_KEY) {
			guint n = webinput_key_event(cmd.code, cmd.value, ev);
			sent += webinput_sink_send(&in->keyboard, ev, n) ? n : 0;
			continue;
		}
		if (cmd.kind == WEBINPUT_BUTTON) {
			guint n = webinput_key_event(cmd.code, cmd.value, ev);
			sent += webinput_sink_send(&in->buttons, ev, n) ? n : 0;
			continue;
		}
		guint d = cmd.display;
		if (!have[d]) {
			g_autofree char *path = fb_file_path(wv->dir, d);
			struct display_info info;
			if (!display_read_info(path, &info, NULL) || !info.width || !info.height) {
				(*bad)++;
				continue;
			}
			size[d][0] = info.width;
			size[d][1] = info.height;
			have[d] = true;
		}
		g_mutex_lock(&in->lock);
		guint n = webinput_touch_event(&in->touch[d], owner, cmd.action, cmd.pointer,
					       webinput_map(cmd.x, size[d][0]),
					       webinput_map(cmd.y, size[d][1]), ev);
		/* Sent under the lock: records of two pages' contacts never interleave. */
		sent += webinput_sink_send(&in->touch_sink[d], ev, n) ? n : 0;
		g_mutex_unlock(&in->lock);
	}
	return sent;
}

void webview_input_release(struct webview *wv, guint64 owner)
{
	struct webview_input *in = &wv->input;
	g_mutex_lock(&in->lock);
	for (guint d = 0; d <= DISPLAY_MAX_INDEX; d++) {
		struct virtio_input_event ev[WEBINPUT_MAX_EVENTS];
		guint n;
		while ((n = webinput_touch_release(&in->touch[d], owner, ev)) > 0)
			webinput_sink_send(&in->touch_sink[d], ev, n);
	}
	g_mutex_unlock(&in->lock);
}

/* ---- the instance's name and state */

void webview_instance_status(struct webview *wv, char **name, char **state)
{
	g_mutex_lock(&wv->status_lock);
	gint64 now = g_get_monotonic_time();
	if (!wv->status_name || now - wv->status_time_us >= WEBVIEW_STATUS_EVERY_US) {
		g_autofree char *sock = g_build_filename(wv->dir, "launcher_monitor.sock", NULL);
		g_autoptr(ControlResponse)
			resp = control_call(sock, SEPIA__CONTROL__REQUEST__COMMAND__STATUS, 0, 500, NULL);
		g_free(wv->status_name);
		g_free(wv->status_state);
		if (resp && resp->status && *resp->status->instance_name) {
			wv->status_name = g_strdup(resp->status->instance_name);
			wv->status_state = g_strdup(control_state_name(resp->status->state));
		} else {
			wv->status_name = g_path_get_basename(wv->dir);
			wv->status_state = g_strdup("no monitor");
		}
		wv->status_time_us = now;
	}
	*name = g_strdup(wv->status_name);
	*state = g_strdup(wv->status_state);
	g_mutex_unlock(&wv->status_lock);
}

/* ---- the connection */

struct shown {
	bool known; /* the page was told about this display */
	char *version;
	guint32 w, h;
	guint8 *pixels; /* the picture last sent, w * h * 4 */
};

struct stream {
	struct webview *wv;
	struct http_conn *c;
	guint64 owner;
	struct shown shown[DISPLAY_MAX_INDEX + 1];
	GArray *displays;
	gint64 listed_us, status_us;
	char *name, *state;
	guint bad_lines;
};

static bool send_frame(struct stream *s, enum ws_opcode op, const void *data, gsize len, GError **error)
{
	guint8 head[10];
	gsize hn = ws_frame_header(head, op, len);
	GOutputStream *out = g_io_stream_get_output_stream(s->c->stream);
	return g_output_stream_write_all(out, head, hn, NULL, NULL, error) &&
	       (!len || g_output_stream_write_all(out, data, len, NULL, NULL, error));
}

static bool send_text(struct stream *s, const char *text, GError **error)
{
	return send_frame(s, WS_TEXT, text, strlen(text), error);
}

static void send_close(struct stream *s, guint16 code)
{
	guint8 b[2] = { (guint8)(code >> 8), (guint8)code };
	send_frame(s, WS_CLOSE, b, 2, NULL);
}

static bool send_status(struct stream *s, GError **error)
{
	g_autofree char *name = NULL, *state = NULL;
	webview_instance_status(s->wv, &name, &state);
	if (s->name && !strcmp(name, s->name) && !strcmp(state, s->state))
		return true;
	g_free(s->name);
	g_free(s->state);
	s->name = g_steal_pointer(&name);
	s->state = g_steal_pointer(&state);
	/* Text messages must be UTF-8: a directory name need not be. */
	g_autofree char *name_utf8 = g_utf8_make_valid(s->name, -1),
			*state_utf8 = g_utf8_make_valid(s->state, -1);
	g_autofree char *n = webview_json_escape(name_utf8), *st = webview_json_escape(state_utf8);
	g_autofree char *msg = g_strdup_printf("{\"type\":\"instance\",\"name\":\"%s\",\"state\":\"%s\"}", n,
					       st);
	return send_text(s, msg, error);
}

/* Sends what changed on display k since the page last heard of it. */
static bool update_display(struct stream *s, guint k, GError **error)
{
	struct shown *sh = &s->shown[k];
	g_autofree char *path = fb_file_path(s->wv->dir, k);
	g_autofree char *v = display_version(path);
	if (sh->version && !strcmp(v, sh->version))
		return true;
	struct fb_image img;
	g_autoptr(GError) err = NULL;
	if (!fb_file_snapshot(path, &img, &err)) {
		g_free(sh->version);
		sh->version = g_steal_pointer(&v);
		g_clear_pointer(&sh->pixels, g_free);
		if (!sh->known)
			return true;
		sh->known = false;
		g_autofree char *msg = g_strdup_printf("{\"type\":\"display\",\"display\":%u,\"gone\":true}",
						       k);
		return send_text(s, msg, error);
	}
	g_free(sh->version);
	sh->version = g_steal_pointer(&v);
	g_autofree char *msg = g_strdup_printf(
		"{\"type\":\"display\",\"display\":%u,\"width\":%u,\"height\":%u,"
		"\"enabled\":%s,\"frames\":%" G_GUINT64_FORMAT "}",
		k, img.width, img.height, img.enabled ? "true" : "false", img.frames);
	bool ok = send_text(s, msg, error);
	sh->known = true;
	if (ok && img.width && img.height) {
		guint32 x = 0, y = 0, rw = img.width, rh = img.height;
		bool changed = true;
		if (sh->pixels && sh->w == img.width && sh->h == img.height)
			changed = webview_dirty_rect(sh->pixels, img.pixels, img.width, img.height, &x, &y,
						     &rw, &rh);
		if (changed) {
			g_autoptr(GBytes) m = webview_rect_message(k, img.pixels, img.width, img.height, x, y,
								   rw, rh, error);
			gsize len;
			const void *data = m ? g_bytes_get_data(m, &len) : NULL;
			ok = m && send_frame(s, WS_BINARY, data, len, error);
		}
		g_free(sh->pixels);
		sh->pixels = g_steal_pointer(&img.pixels);
		sh->w = img.width;
		sh->h = img.height;
	}
	fb_image_clear(&img);
	return ok;
}

static bool update_displays(struct stream *s, GError **error)
{
	gint64 now = g_get_monotonic_time();
	if (!s->displays || now - s->listed_us >= WEBVIEW_LIST_EVERY_US) {
		g_clear_pointer(&s->displays, g_array_unref);
		s->displays = display_list(s->wv->dir);
		s->listed_us = now;
		/* Displays whose file went away. */
		for (guint k = 0; k <= DISPLAY_MAX_INDEX; k++) {
			bool listed = false;
			for (guint i = 0; i < s->displays->len; i++)
				listed |= g_array_index(s->displays, guint, i) == k;
			if (!listed && s->shown[k].known && !update_display(s, k, error))
				return false;
		}
	}
	for (guint i = 0; i < s->displays->len; i++)
		if (!update_display(s, g_array_index(s->displays, guint, i), error))
			return false;
	if (now - s->status_us >= WEBVIEW_STATUS_EVERY_US) {
		s->status_us = now;
		return send_status(s, error);
	}
	return true;
}

/* Acts on the whole messages the page sent so far; false when the connection ends (why in
 * *why). */
static bool take_messages(struct stream *s, struct ws_reader *r, char **why)
{
	g_autoptr(GError) err = NULL;
	for (;;) {
		struct ws_message m;
		guint16 code = 0;
		g_clear_error(&err);
		enum ws_read_result res = ws_reader_next(r, &m, &code, &err);
		if (res == WS_READ_MORE)
			return true;
		if (res == WS_READ_FAIL) {
			send_close(s, code);
			*why = g_strdup_printf("%s: closed with %u", err->message, code);
			return false;
		}
		bool go_on = true;
		if (m.opcode == WS_TEXT) {
			webview_input_message(s->wv, s->owner, (const char *)m.data->data, m.data->len,
					      &s->bad_lines);
		} else if (m.opcode == WS_PING) {
			go_on = send_frame(s, WS_PONG, m.data->data, m.data->len, NULL);
			if (!go_on)
				*why = g_strdup("cannot answer a ping");
		} else if (m.opcode == WS_CLOSE) {
			/* Echo the code, as section 5.5.1 asks. */
			send_frame(s, WS_CLOSE, m.data->data, MIN(m.data->len, 2u), NULL);
			*why = g_strdup("the page closed the WebSocket");
			go_on = false;
		} else if (m.opcode == WS_BINARY) {
			send_close(s, WS_CLOSE_UNSUPPORTED);
			*why = g_strdup("a binary message (the page sends text only): closed with 1003");
			go_on = false;
		}
		g_byte_array_unref(m.data);
		if (!go_on)
			return false;
	}
}

/* Reads what the page sent (the socket is readable) and acts on it. */
static bool take_input(struct stream *s, struct ws_reader *r, char **why)
{
	guint8 buf[4096];
	g_autoptr(GError) err = NULL;
	gssize n = g_socket_receive(s->c->socket, (gchar *)buf, sizeof(buf), NULL, &err);
	if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
		return true;
	if (n <= 0) {
		*why = n ? g_strdup_printf("cannot read: %s", err->message)
			 : g_strdup("the page closed the connection");
		return false;
	}
	ws_reader_feed(r, buf, (gsize)n);
	return take_messages(s, r, why);
}

void webview_stream_serve(struct webview *wv, struct http_conn *c, const struct http_request *req)
{
	static gint next_owner;
	struct stream s = { .wv = wv, .c = c, .owner = (guint64)(guint)g_atomic_int_add(&next_owner, 1) + 1 };
	g_autofree char *head = ws_handshake_response(req);
	GOutputStream *out = g_io_stream_get_output_stream(c->stream);
	g_autoptr(GError) err = NULL;
	if (!g_output_stream_write_all(out, head, strlen(head), NULL, NULL, &err)) {
		log_line("sepia-webview", NULL, "client %s: cannot answer the WebSocket handshake: %s",
			 c->peer, err->message);
		return;
	}
	if (wv->verbose)
		log_line("sepia-webview", NULL, "client %s: WebSocket open", c->peer);
	struct ws_reader r;
	ws_reader_init(&r);
	/* Bytes the HTTP reader took past the head are the first frames. */
	if (c->pending && c->pending->len) {
		ws_reader_feed(&r, c->pending->data, c->pending->len);
		g_byte_array_set_size(c->pending, 0);
	}
	g_autofree char *why = NULL;
	if (r.in->len && !take_messages(&s, &r, &why))
		goto done;
	for (;;) {
		if (!update_displays(&s, &err)) {
			why = g_strdup_printf("cannot send: %s", err->message);
			break;
		}
		g_clear_error(&err);
		if (g_socket_condition_timed_wait(c->socket, G_IO_IN, WEBVIEW_STREAM_TICK_MS * 1000, NULL,
						  NULL) &&
		    !take_input(&s, &r, &why))
			break;
	}
done:
	webview_input_release(wv, s.owner);
	log_line("sepia-webview", NULL, "client %s: WebSocket ended: %s (%u input lines ignored)", c->peer,
		 why ? why : "?", s.bad_lines);
	ws_reader_clear(&r);
	for (guint k = 0; k <= DISPLAY_MAX_INDEX; k++) {
		g_free(s.shown[k].version);
		g_free(s.shown[k].pixels);
	}
	g_clear_pointer(&s.displays, g_array_unref);
	g_free(s.name);
	g_free(s.state);
}
