/* launcher/webinput.c — see webinput.h. */
#include "launcher/webinput.h"

#include <errno.h>
#include <gio/gio.h>
#include <linux/input-event-codes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"

/* ---- the key map: KeyboardEvent.code (UI Events KeyboardEvent code Values) to Linux KEY_* */

struct key_name {
	const char *code;
	guint16 key;
};

static const struct key_name key_map[] = {
	{ "AltLeft", KEY_LEFTALT },
	{ "AltRight", KEY_RIGHTALT },
	{ "ArrowDown", KEY_DOWN },
	{ "ArrowLeft", KEY_LEFT },
	{ "ArrowRight", KEY_RIGHT },
	{ "ArrowUp", KEY_UP },
	{ "AudioVolumeDown", KEY_VOLUMEDOWN },
	{ "AudioVolumeMute", KEY_MUTE },
	{ "AudioVolumeUp", KEY_VOLUMEUP },
	{ "Backquote", KEY_GRAVE },
	{ "Backslash", KEY_BACKSLASH },
	{ "Backspace", KEY_BACKSPACE },
	{ "BracketLeft", KEY_LEFTBRACE },
	{ "BracketRight", KEY_RIGHTBRACE },
	{ "BrowserBack", KEY_BACK },
	{ "BrowserHome", KEY_HOMEPAGE },
	{ "CapsLock", KEY_CAPSLOCK },
	{ "Comma", KEY_COMMA },
	{ "ContextMenu", KEY_COMPOSE },
	{ "ControlLeft", KEY_LEFTCTRL },
	{ "ControlRight", KEY_RIGHTCTRL },
	{ "Delete", KEY_DELETE },
	{ "Digit0", KEY_0 },
	{ "Digit1", KEY_1 },
	{ "Digit2", KEY_2 },
	{ "Digit3", KEY_3 },
	{ "Digit4", KEY_4 },
	{ "Digit5", KEY_5 },
	{ "Digit6", KEY_6 },
	{ "Digit7", KEY_7 },
	{ "Digit8", KEY_8 },
	{ "Digit9", KEY_9 },
	{ "End", KEY_END },
	{ "Enter", KEY_ENTER },
	{ "Equal", KEY_EQUAL },
	{ "Escape", KEY_ESC },
	{ "F1", KEY_F1 },
	{ "F10", KEY_F10 },
	{ "F11", KEY_F11 },
	{ "F12", KEY_F12 },
	{ "F2", KEY_F2 },
	{ "F3", KEY_F3 },
	{ "F4", KEY_F4 },
	{ "F5", KEY_F5 },
	{ "F6", KEY_F6 },
	{ "F7", KEY_F7 },
	{ "F8", KEY_F8 },
	{ "F9", KEY_F9 },
	{ "Home", KEY_HOME },
	{ "Insert", KEY_INSERT },
	{ "IntlBackslash", KEY_102ND },
	{ "KeyA", KEY_A },
	{ "KeyB", KEY_B },
	{ "KeyC", KEY_C },
	{ "KeyD", KEY_D },
	{ "KeyE", KEY_E },
	{ "KeyF", KEY_F },
	{ "KeyG", KEY_G },
	{ "KeyH", KEY_H },
	{ "KeyI", KEY_I },
	{ "KeyJ", KEY_J },
	{ "KeyK", KEY_K },
	{ "KeyL", KEY_L },
	{ "KeyM", KEY_M },
	{ "KeyN", KEY_N },
	{ "KeyO", KEY_O },
	{ "KeyP", KEY_P },
	{ "KeyQ", KEY_Q },
	{ "KeyR", KEY_R },
	{ "KeyS", KEY_S },
	{ "KeyT", KEY_T },
	{ "KeyU", KEY_U },
	{ "KeyV", KEY_V },
	{ "KeyW", KEY_W },
	{ "KeyX", KEY_X },
	{ "KeyY", KEY_Y },
	{ "KeyZ", KEY_Z },
	{ "MetaLeft", KEY_LEFTMETA },
	{ "MetaRight", KEY_RIGHTMETA },
	{ "Minus", KEY_MINUS },
	{ "NumLock", KEY_NUMLOCK },
	{ "Numpad0", KEY_KP0 },
	{ "Numpad1", KEY_KP1 },
	{ "Numpad2", KEY_KP2 },
	{ "Numpad3", KEY_KP3 },
	{ "Numpad4", KEY_KP4 },
	{ "Numpad5", KEY_KP5 },
	{ "Numpad6", KEY_KP6 },
	{ "Numpad7", KEY_KP7 },
	{ "Numpad8", KEY_KP8 },
	{ "Numpad9", KEY_KP9 },
	{ "NumpadAdd", KEY_KPPLUS },
	{ "NumpadDecimal", KEY_KPDOT },
	{ "NumpadDivide", KEY_KPSLASH },
	{ "NumpadEnter", KEY_KPENTER },
	{ "NumpadEqual", KEY_KPEQUAL },
	{ "NumpadMultiply", KEY_KPASTERISK },
	{ "NumpadSubtract", KEY_KPMINUS },
	{ "PageDown", KEY_PAGEDOWN },
	{ "PageUp", KEY_PAGEUP },
	{ "Pause", KEY_PAUSE },
	{ "Period", KEY_DOT },
	{ "Power", KEY_POWER },
	{ "PrintScreen", KEY_SYSRQ },
	{ "Quote", KEY_APOSTROPHE },
	{ "ScrollLock", KEY_SCROLLLOCK },
	{ "Semicolon", KEY_SEMICOLON },
	{ "ShiftLeft", KEY_LEFTSHIFT },
	{ "ShiftRight", KEY_RIGHTSHIFT },
	{ "Slash", KEY_SLASH },
	{ "Space", KEY_SPACE },
	{ "Tab", KEY_TAB },
};

static int key_name_cmp(const void *key, const void *entry)
{
	return strcmp(key, ((const struct key_name *)entry)->code);
}

guint16 webinput_key_code(const char *code)
{
	const struct key_name *k = bsearch(code, key_map, G_N_ELEMENTS(key_map), sizeof(key_map[0]),
					   key_name_cmp);
	return k ? k->key : 0;
}

/* ---- the page's lines */

static bool bad(GError **error, const char *line, const char *why)
{
	g_autofree char *shown = g_strescape(line, NULL);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "input line '%.64s': %s", shown, why);
	return false;
}

static bool number(const char *s, guint64 max, guint64 *out)
{
	/* Digits only: g_ascii_string_to_unsigned would take a sign. */
	for (const char *p = s; *p; p++)
		if (!g_ascii_isdigit(*p))
			return false;
	return *s && strlen(s) <= 10 && g_ascii_string_to_unsigned(s, 10, 0, max, out, NULL);
}

bool webinput_parse_line(const char *line, struct webinput_cmd *cmd, GError **error)
{
	memset(cmd, 0, sizeof(*cmd));
	g_auto(GStrv) w = g_strsplit(line, " ", -1);
	guint n = g_strv_length(w);
	guint64 v[4];
	if (n == 6 && !strcmp(w[0], "t")) {
		if (!number(w[1], WEBINPUT_MAX_DISPLAY, &v[0]))
			return bad(error, line, "no display number 0 to 63");
		if (strlen(w[2]) != 1 || !strchr("dmuc", w[2][0]))
			return bad(error, line, "the action is not d, m, u or c");
		if (!number(w[3], G_MAXINT32, &v[1]) || !number(w[4], 65535, &v[2]) ||
		    !number(w[5], 65535, &v[3]))
			return bad(error, line, "the pointer id or position is out of range");
		cmd->kind = WEBINPUT_TOUCH;
		cmd->display = (guint)v[0];
		cmd->action = w[2][0];
		cmd->pointer = (guint32)v[1];
		cmd->x = (guint32)v[2];
		cmd->y = (guint32)v[3];
		return true;
	}
	if (n == 3 && !strcmp(w[0], "k")) {
		if (!number(w[2], 2, &v[0]))
			return bad(error, line, "the key value is not 0, 1 or 2");
		cmd->kind = WEBINPUT_KEY;
		cmd->code = webinput_key_code(w[1]);
		cmd->value = (gint32)v[0];
		return cmd->code || bad(error, line, "no Linux key for this key code");
	}
	if (n == 3 && !strcmp(w[0], "b")) {
		if (!number(w[2], 1, &v[0]))
			return bad(error, line, "the button value is not 0 or 1");
		cmd->kind = WEBINPUT_BUTTON;
		cmd->value = (gint32)v[0];
		if (!strcmp(w[1], "power"))
			cmd->code = KEY_POWER;
		else if (!strcmp(w[1], "volumeup"))
			cmd->code = KEY_VOLUMEUP;
		else if (!strcmp(w[1], "volumedown"))
			cmd->code = KEY_VOLUMEDOWN;
		else
			return bad(error, line, "the button is not power, volumeup or volumedown");
		return true;
	}
	return bad(error, line, "not a t, k or b line with its fields");
}

guint32 webinput_map(guint32 frac, guint32 size)
{
	if (!size)
		return 0;
	guint64 p = ((guint64)frac * size) >> 16;
	return p >= size ? size - 1 : (guint32)p;
}

/* ---- records */

static void put(struct virtio_input_event *ev, guint16 type, guint16 code, gint32 value)
{
	ev->type = GUINT16_TO_LE(type);
	ev->code = GUINT16_TO_LE(code);
	ev->value = GUINT32_TO_LE((guint32)value);
}

guint webinput_key_event(guint16 code, gint32 value, struct virtio_input_event *out)
{
	put(&out[0], EV_KEY, code, value);
	put(&out[1], EV_SYN, SYN_REPORT, 0);
	return 2;
}

static int find_slot(const struct webinput_touch *t, guint64 owner, guint32 pointer)
{
	for (guint s = 0; s < WEBINPUT_SLOTS; s++)
		if (t->slot[s].used && t->slot[s].owner == owner && t->slot[s].pointer == pointer)
			return (int)s;
	return -1;
}

static guint lift(struct webinput_touch *t, int s, struct virtio_input_event *out)
{
	guint n = 0;
	t->slot[s].used = false;
	t->active--;
	put(&out[n++], EV_ABS, ABS_MT_SLOT, s);
	put(&out[n++], EV_ABS, ABS_MT_TRACKING_ID, -1);
	if (!t->active)
		put(&out[n++], EV_KEY, BTN_TOUCH, 0);
	put(&out[n++], EV_SYN, SYN_REPORT, 0);
	return n;
}

guint webinput_touch_event(struct webinput_touch *t, guint64 owner, char action, guint32 pointer, guint32 gx,
			   guint32 gy, struct virtio_input_event *out)
{
	int s = find_slot(t, owner, pointer);
	guint n = 0;
	if (action == 'u' || action == 'c')
		return s < 0 ? 0 : lift(t, s, out);
	if (action == 'd' && s < 0) {
		for (guint i = 0; i < WEBINPUT_SLOTS && s < 0; i++)
			if (!t->slot[i].used)
				s = (int)i;
		if (s < 0)
			return 0;
		t->slot[s].used = true;
		t->slot[s].owner = owner;
		t->slot[s].pointer = pointer;
		put(&out[n++], EV_ABS, ABS_MT_SLOT, s);
		/* Tracking ids are 0 to 65535 and wrap, as the kernel's own are. */
		put(&out[n++], EV_ABS, ABS_MT_TRACKING_ID, (gint32)(t->next_tracking_id++ & 0xffff));
		put(&out[n++], EV_ABS, ABS_MT_POSITION_X, (gint32)gx);
		put(&out[n++], EV_ABS, ABS_MT_POSITION_Y, (gint32)gy);
		if (!t->active++)
			put(&out[n++], EV_KEY, BTN_TOUCH, 1);
		put(&out[n++], EV_SYN, SYN_REPORT, 0);
		return n;
	}
	if (s < 0 || (action != 'm' && action != 'd'))
		return 0;
	put(&out[n++], EV_ABS, ABS_MT_SLOT, s);
	put(&out[n++], EV_ABS, ABS_MT_POSITION_X, (gint32)gx);
	put(&out[n++], EV_ABS, ABS_MT_POSITION_Y, (gint32)gy);
	put(&out[n++], EV_SYN, SYN_REPORT, 0);
	return n;
}

guint webinput_touch_release(struct webinput_touch *t, guint64 owner, struct virtio_input_event *out)
{
	for (guint s = 0; s < WEBINPUT_SLOTS; s++)
		if (t->slot[s].used && t->slot[s].owner == owner)
			return lift(t, (int)s, out);
	return 0;
}

/* ---- the sockets */

#define SINK_SEND_TIMEOUT_MS 100
#define SINK_RETRY_US        (500 * 1000)
#define SINK_LOG_EVERY_US    (10 * G_USEC_PER_SEC)

void webinput_sink_init(struct webinput_sink *s, const char *path)
{
	g_mutex_init(&s->lock);
	s->path = g_strdup(path);
	s->fd = -1;
	s->dropped = 0;
	s->last_log_us = 0;
	s->retry_after_us = 0;
}

void webinput_sink_clear(struct webinput_sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	g_clear_pointer(&s->path, g_free);
	g_mutex_clear(&s->lock);
}

static int sink_connect(const char *path, int *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		*err = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	struct timeval tv = { .tv_sec = 0, .tv_usec = SINK_SEND_TIMEOUT_MS * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		*err = errno;
		close(fd);
		return -1;
	}
	return fd;
}

/* Called with the lock held. */
static void sink_drop(struct webinput_sink *s, guint n, const char *why, int err)
{
	s->dropped += n;
	gint64 now = g_get_monotonic_time();
	if (s->last_log_us && now - s->last_log_us < SINK_LOG_EVERY_US)
		return;
	s->last_log_us = now;
	log_line("sepia-webview", NULL,
		 "input to %s dropped (%" G_GUINT64_FORMAT " records so far): %s: %s (is the device's VMM "
		 "running with its input devices?)",
		 s->path, s->dropped, why, g_strerror(err));
}

bool webinput_sink_send(struct webinput_sink *s, const struct virtio_input_event *ev, guint n)
{
	if (!n)
		return true;
	g_mutex_lock(&s->lock);
	bool ok = false;
	int err = 0;
	if (s->fd < 0 && g_get_monotonic_time() >= s->retry_after_us) {
		s->fd = sink_connect(s->path, &err);
		if (s->fd < 0) {
			s->retry_after_us = g_get_monotonic_time() + SINK_RETRY_US;
			sink_drop(s, n, "cannot connect", err);
			goto out;
		}
	}
	if (s->fd < 0) {
		sink_drop(s, n, "cannot connect", ECONNREFUSED);
		goto out;
	}
	const guint8 *p = (const guint8 *)ev;
	gsize len = (gsize)n * sizeof(*ev), done = 0;
	while (done < len) {
		ssize_t w = send(s->fd, p + done, len - done, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* A record cut in two would shift every later one: start a new connection. */
			err = w < 0 ? errno : EPIPE;
			close(s->fd);
			s->fd = -1;
			sink_drop(s, n, err == EAGAIN ? "the device does not read" : "cannot send", err);
			goto out;
		}
		done += (gsize)w;
	}
	ok = true;
out:
	g_mutex_unlock(&s->lock);
	return ok;
}
