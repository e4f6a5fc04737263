/* libFuzzer target for the input lines a page sends sepia-webview (launcher/webinput.c): the
 * line parser and the multi-touch state they drive, as webview_stream.c uses them.
 *
 * Input: byte 0 sets the display's size (16 << (b & 7) wide, 16 << ((b >> 3) & 7) high); the
 * rest is a text message of lines separated by '\n'. Each line is parsed; touch lines act on
 * one display's contacts, the owner (page) being the line's pointer id modulo 3; at the end
 * every owner's contacts are released.
 *
 * Oracle beyond ASan/UBSan: a refused line has an error naming it; a parsed key has a Linux
 * code; a command makes at most WEBINPUT_MAX_EVENTS records, each EV_ABS, EV_KEY or EV_SYN,
 * the last a SYN_REPORT; positions are inside the display; slots are below WEBINPUT_SLOTS;
 * the count of active contacts equals the slots in use, BTN_TOUCH goes to 1 exactly when it
 * leaves 0 and to 0 exactly when it returns to 0; after the release nothing is held. */
#include "tests/fuzz/fuzz-common.h"

#include <linux/input-event-codes.h>

#include "launcher/webinput.h"

static guint used_slots(const struct webinput_touch *t)
{
	guint n = 0;
	for (guint s = 0; s < WEBINPUT_SLOTS; s++)
		n += t->slot[s].used;
	return n;
}

static void check_records(const struct webinput_touch *t, guint before, const struct virtio_input_event *ev,
			  guint n, guint32 w, guint32 h)
{
	if (n > WEBINPUT_MAX_EVENTS || t->active != used_slots(t) || t->active > WEBINPUT_SLOTS)
		abort();
	if (!n) {
		if (t->active != before)
			abort();
		return;
	}
	int btn = -1;
	for (guint i = 0; i < n; i++) {
		guint16 type = GUINT16_FROM_LE(ev[i].type), code = GUINT16_FROM_LE(ev[i].code);
		gint32 value = (gint32)GUINT32_FROM_LE(ev[i].value);
		if (type == EV_ABS) {
			if ((code == ABS_MT_POSITION_X && (value < 0 || (guint32)value >= w)) ||
			    (code == ABS_MT_POSITION_Y && (value < 0 || (guint32)value >= h)) ||
			    (code == ABS_MT_SLOT && (value < 0 || value >= (gint32)WEBINPUT_SLOTS)) ||
			    (code == ABS_MT_TRACKING_ID && (value < -1 || value > 0xffff)))
				abort();
		} else if (type == EV_KEY) {
			if (code != BTN_TOUCH || (value != 0 && value != 1))
				abort();
			btn = value;
		} else if (type != EV_SYN || code != SYN_REPORT || i != n - 1) {
			abort();
		}
	}
	if (GUINT16_FROM_LE(ev[n - 1].type) != EV_SYN)
		abort();
	bool pressed = !before && t->active, lifted = before && !t->active;
	if ((btn == 1) != pressed || (btn == 0) != lifted)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	guint32 w = 16u << (data[0] & 7), h = 16u << ((data[0] >> 3) & 7);
	g_autofree char *text = g_strndup((const char *)data + 1, size - 1);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	struct webinput_touch t = { 0 };
	struct virtio_input_event ev[WEBINPUT_MAX_EVENTS];
	for (char **l = lines; *l; l++) {
		struct webinput_cmd cmd;
		g_autoptr(GError) err = NULL;
		if (!webinput_parse_line(*l, &cmd, &err)) {
			if (!err || !strstr(err->message, "input line"))
				abort();
			continue;
		}
		if (err)
			abort();
		if (cmd.kind != WEBINPUT_TOUCH) {
			if (!cmd.code || cmd.value < 0 || cmd.value > 2)
				abort();
			if (webinput_key_event(cmd.code, cmd.value, ev) != 2)
				abort();
			continue;
		}
		if (cmd.display > WEBINPUT_MAX_DISPLAY || cmd.x > 65535 || cmd.y > 65535 ||
		    !strchr("dmuc", cmd.action))
			abort();
		guint before = t.active;
		guint n = webinput_touch_event(&t, cmd.pointer % 3, cmd.action, cmd.pointer,
					       webinput_map(cmd.x, w), webinput_map(cmd.y, h), ev);
		check_records(&t, before, ev, n, w, h);
	}
	for (guint64 owner = 0; owner < 3; owner++) {
		guint n, before = t.active;
		while ((n = webinput_touch_release(&t, owner, ev)) > 0) {
			check_records(&t, before, ev, n, w, h);
			before = t.active;
		}
	}
	if (t.active || used_slots(&t))
		abort();
	return 0;
}
