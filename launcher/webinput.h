/* launcher/webinput.h — what the web view's page sends for input, and the evdev records it
 * becomes on the instance's input sockets.
 *
 * The page sends WebSocket text messages of one or more lines (separated by '\n'), each one of:
 *   t D A ID X Y   a pointer on display D's picture: A is d (down), m (move), u (up) or c
 *                  (cancel); ID the browser's pointer id (0 to 2^31-1); X and Y its position as
 *                  a fraction of the picture's width and height, in 65536ths (0 to 65535)
 *   k CODE V       a key: CODE the browser's KeyboardEvent.code ("KeyA", "Enter", "ShiftLeft"),
 *                  V 1 (pressed), 0 (released) or 2 (auto-repeat)
 *   b NAME V       a device button: NAME power, volumeup or volumedown; V 1 or 0
 *
 * The records (struct virtio_input_event: le16 type, le16 code, le32 value; Linux evdev
 * semantics) go to unix stream sockets in the instance directory: input_touch_<D>.sock (a
 * multi-touch screen per display, protocol B: ABS_MT_SLOT, ABS_MT_TRACKING_ID,
 * ABS_MT_POSITION_X/Y in the display's pixels, BTN_TOUCH, SYN_REPORT), input_keyboard.sock and
 * input_buttons.sock (KEY_POWER, KEY_VOLUMEUP, KEY_VOLUMEDOWN). */
#pragma once

#include <glib.h>
#include <linux/virtio_input.h>
#include <stdbool.h>
#include <stdint.h>

#define WEBINPUT_MAX_DISPLAY 63u
#define WEBINPUT_SLOTS       10u /* contacts at once per display; more pointers are ignored */
#define WEBINPUT_MAX_EVENTS  8u  /* records one command can make */

enum webinput_kind { WEBINPUT_TOUCH, WEBINPUT_KEY, WEBINPUT_BUTTON };

struct webinput_cmd {
	enum webinput_kind kind;
	guint display;   /* touch */
	char action;     /* touch: 'd', 'm', 'u', 'c' */
	guint32 pointer; /* touch */
	guint32 x, y;    /* touch: 65536ths of the picture */
	guint16 code;    /* key, button: the Linux KEY_* code */
	gint32 value;    /* key, button */
};

/* Parses one line; false with an error saying what is wrong (a key code the map does not know
 * is an error too: the caller ignores that line). */
bool webinput_parse_line(const char *line, struct webinput_cmd *cmd, GError **error);

/* The Linux KEY_* code for a browser KeyboardEvent.code, or 0 when it has none. */
guint16 webinput_key_code(const char *code);

/* A position as a fraction in 65536ths of a size (the picture's) mapped to a pixel of a display
 * `size` pixels long: floor(frac * size / 65536), at most size - 1. */
guint32 webinput_map(guint32 frac, guint32 size);

/* The contacts on one display's touch screen, shared by every page that shows it: each browser
 * pointer of each page (owner) that is down holds a slot. */
struct webinput_touch {
	struct {
		bool used;
		guint64 owner;
		guint32 pointer;
	} slot[WEBINPUT_SLOTS];
	guint active;
	guint32 next_tracking_id;
};

/* The records for a touch command (its x and y already mapped to display pixels gx, gy) from
 * page `owner`; returns how many it wrote to out (at most WEBINPUT_MAX_EVENTS), 0 when the
 * command changes nothing (a move or up of a pointer that is not down, an 11th contact). A
 * down of a pointer already down is a move. */
guint webinput_touch_event(struct webinput_touch *t, guint64 owner, char action, guint32 pointer, guint32 gx,
			   guint32 gy, struct virtio_input_event *out);
/* Lifts the next contact `owner` still holds (a page that went away): the records, or 0 when
 * it holds none. Call until 0. */
guint webinput_touch_release(struct webinput_touch *t, guint64 owner, struct virtio_input_event *out);

/* A key or button: EV_KEY code value, SYN_REPORT. Returns 2. */
guint webinput_key_event(guint16 code, gint32 value, struct virtio_input_event *out);

/* One input socket, connected when first needed and again after it failed (the VMM restarted).
 * Writes never wait long: a device that does not read loses records, counted and logged at
 * most every 10 s. Safe to use from several threads. */
struct webinput_sink {
	GMutex lock;
	char *path;
	int fd;
	guint64 dropped;
	gint64 last_log_us;
	gint64 retry_after_us; /* after a failed connect, do not try again before this */
};
void webinput_sink_init(struct webinput_sink *s, const char *path);
void webinput_sink_clear(struct webinput_sink *s);
/* Sends n records; false when they were dropped (no socket, or it failed). */
bool webinput_sink_send(struct webinput_sink *s, const struct virtio_input_event *ev, guint n);
