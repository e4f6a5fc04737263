/* launcher/webview.h — what the parts of sepia-webview share: webview.c (the server, its HTTP
 * answers), webview_stream.c (the WebSocket a page keeps open: frames out, input in),
 * webview_page.c (the page) and webview_frames.c (changed rectangles). */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "display/scanouts.h"
#include "launcher/http.h"
#include "launcher/webinput.h"

/* The input devices of the instance, shared by every page. */
struct webview_input {
	GMutex lock; /* the touch states */
	struct webinput_touch touch[DISPLAY_MAX_INDEX + 1];
	struct webinput_sink touch_sink[DISPLAY_MAX_INDEX + 1]; /* DIR/input_touch_<D>.sock */
	struct webinput_sink keyboard;                          /* DIR/input_keyboard.sock */
	struct webinput_sink buttons;                           /* DIR/input_buttons.sock */
};

struct webview {
	char *dir;
	bool verbose;
	char **allowed_hosts; /* besides localhost and loopback addresses */
	struct http_limits limits;
	struct webview_input input;
	/* The instance's name and state from its monitor, asked at most every 2 s. */
	GMutex status_lock;
	char *status_name, *status_state;
	gint64 status_time_us;
};

void webview_input_init(struct webview_input *in, const char *dir);

/* The instance's name ("cvd-1", or the directory's name when no monitor answers) and state
 * ("Running", "Booting", ..., or "no monitor"), each newly allocated. */
void webview_instance_status(struct webview *wv, char **name, char **state);

/* A JSON string's contents: quotes, backslashes and control characters escaped; UTF-8 kept. */
char *webview_json_escape(const char *s);

/* The page (HTML, CSS and its script). */
GString *webview_page(struct webview *wv);

/* Serves a WebSocket opening handshake that ws_handshake_check accepted, then the connection
 * until either side closes it: every display's new frames as they come (the changed rectangle
 * as PNG), the instance's state, and the page's input to the input sockets. */
void webview_stream_serve(struct webview *wv, struct http_conn *c, const struct http_request *req);

/* Handles the lines of one text message from page `owner`: input records to the sockets.
 * Lines that do not parse are skipped (counted in *bad). Returns the records sent. */
guint webview_input_message(struct webview *wv, guint64 owner, const char *text, gsize len, guint *bad);
/* Lifts every contact page `owner` still holds, on every display (the page went away). */
void webview_input_release(struct webview *wv, guint64 owner);

/* ---- webview_frames.c: what a page is sent of a display's new frame */

/* The smallest rectangle holding every pixel that differs between two pictures of w x h
 * (XRGB8888, rows of w * 4 bytes; the X byte ignored); false when none differs. */
bool webview_dirty_rect(const guint8 *before, const guint8 *after, guint32 w, guint32 h, guint32 *x,
			guint32 *y, guint32 *rw, guint32 *rh);

/* The binary message that paints a rectangle of display k: a 16-byte header (u8 1, u8 k,
 * u16 0, then u16 x, y, width, height of the rectangle and u16 width, height of the display,
 * all little-endian) followed by the rectangle as PNG. pixels is the whole w x h picture. */
#define WEBVIEW_RECT_HEADER 16u
GBytes *webview_rect_message(guint k, const guint8 *pixels, guint32 w, guint32 h, guint32 x, guint32 y,
			     guint32 rw, guint32 rh, GError **error);
