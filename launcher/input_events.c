/* launcher/input_events.c — records for sepia-vmm's virtio-input sockets (see input_events.h). */
#include "launcher/input_events.h"

#include <errno.h>
#include <linux/input.h>
#include <string.h>

#include "launcher/instance.h"

static void put(GByteArray *out, uint16_t type, uint16_t code, int32_t value)
{
	uint8_t rec[8];
	uint16_t t = GUINT16_TO_LE(type), c = GUINT16_TO_LE(code);
	uint32_t v = GUINT32_TO_LE((uint32_t)value);
	memcpy(rec, &t, 2);
	memcpy(rec + 2, &c, 2);
	memcpy(rec + 4, &v, 4);
	g_byte_array_append(out, rec, sizeof(rec));
}

static void syn(GByteArray *out) { put(out, EV_SYN, SYN_REPORT, 0); }

void input_events_touch_down(GByteArray *out, int32_t id, int32_t x, int32_t y)
{
	put(out, EV_ABS, ABS_MT_SLOT, 0);
	put(out, EV_ABS, ABS_MT_TRACKING_ID, id);
	put(out, EV_ABS, ABS_MT_POSITION_X, x);
	put(out, EV_ABS, ABS_MT_POSITION_Y, y);
	put(out, EV_KEY, BTN_TOUCH, 1);
	syn(out);
}

void input_events_touch_move(GByteArray *out, int32_t x, int32_t y)
{
	put(out, EV_ABS, ABS_MT_SLOT, 0);
	put(out, EV_ABS, ABS_MT_POSITION_X, x);
	put(out, EV_ABS, ABS_MT_POSITION_Y, y);
	syn(out);
}

void input_events_touch_up(GByteArray *out)
{
	put(out, EV_ABS, ABS_MT_SLOT, 0);
	put(out, EV_ABS, ABS_MT_TRACKING_ID, -1);
	put(out, EV_KEY, BTN_TOUCH, 0);
	syn(out);
}

void input_events_key(GByteArray *out, uint16_t code, bool shift)
{
	if (shift) {
		put(out, EV_KEY, KEY_LEFTSHIFT, 1);
		syn(out);
	}
	put(out, EV_KEY, code, 1);
	syn(out);
	put(out, EV_KEY, code, 0);
	syn(out);
	if (shift) {
		put(out, EV_KEY, KEY_LEFTSHIFT, 0);
		syn(out);
	}
}

static const struct {
	const char *name;
	uint16_t code;
} key_names[] = {
	{ "ESC", KEY_ESC },
	{ "ENTER", KEY_ENTER },
	{ "TAB", KEY_TAB },
	{ "SPACE", KEY_SPACE },
	{ "BACKSPACE", KEY_BACKSPACE },
	{ "DEL", KEY_BACKSPACE },
	{ "DELETE", KEY_DELETE },
	{ "INSERT", KEY_INSERT },
	{ "HOME", KEY_HOME },
	{ "END", KEY_END },
	{ "PAGEUP", KEY_PAGEUP },
	{ "PAGEDOWN", KEY_PAGEDOWN },
	{ "UP", KEY_UP },
	{ "DOWN", KEY_DOWN },
	{ "LEFT", KEY_LEFT },
	{ "RIGHT", KEY_RIGHT },
	{ "LEFTSHIFT", KEY_LEFTSHIFT },
	{ "RIGHTSHIFT", KEY_RIGHTSHIFT },
	{ "LEFTCTRL", KEY_LEFTCTRL },
	{ "LEFTALT", KEY_LEFTALT },
	{ "CAPSLOCK", KEY_CAPSLOCK },
	{ "MINUS", KEY_MINUS },
	{ "EQUAL", KEY_EQUAL },
	{ "COMMA", KEY_COMMA },
	{ "DOT", KEY_DOT },
	{ "SLASH", KEY_SLASH },
	{ "SEMICOLON", KEY_SEMICOLON },
	{ "APOSTROPHE", KEY_APOSTROPHE },
	{ "GRAVE", KEY_GRAVE },
	{ "BACKSLASH", KEY_BACKSLASH },
	{ "LEFTBRACE", KEY_LEFTBRACE },
	{ "RIGHTBRACE", KEY_RIGHTBRACE },
	{ "POWER", KEY_POWER },
	{ "VOLUMEUP", KEY_VOLUMEUP },
	{ "VOLUME_UP", KEY_VOLUMEUP },
	{ "VOLUMEDOWN", KEY_VOLUMEDOWN },
	{ "VOLUME_DOWN", KEY_VOLUMEDOWN },
	{ "MUTE", KEY_MUTE },
	{ "BACK", KEY_BACK },
	{ "HOMEPAGE", KEY_HOMEPAGE },
	{ "MENU", KEY_MENU },
	{ "SEARCH", KEY_SEARCH },
	{ "SLEEP", KEY_SLEEP },
	{ "WAKEUP", KEY_WAKEUP },
};

/* Letters, digits and F-keys by position: evdev's codes are not alphabetical. */
static const char qwerty_rows[][11] = { "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM" };
static const uint16_t qwerty_first[] = { KEY_Q, KEY_A, KEY_Z };

static uint16_t letter_code(char c)
{
	c = g_ascii_toupper(c);
	for (unsigned int r = 0; r < G_N_ELEMENTS(qwerty_rows); r++) {
		const char *p = strchr(qwerty_rows[r], c);
		if (p && c)
			return (uint16_t)(qwerty_first[r] + (p - qwerty_rows[r]));
	}
	return 0;
}

static uint16_t digit_code(char c) { return c == '0' ? KEY_0 : (uint16_t)(KEY_1 + (c - '1')); }

uint16_t input_events_key_code(const char *name)
{
	if (g_ascii_strncasecmp(name, "KEY_", 4) == 0)
		name += 4;
	if (strlen(name) == 1 && g_ascii_isalpha(name[0]))
		return letter_code(name[0]);
	if (strlen(name) == 1 && g_ascii_isdigit(name[0]))
		return digit_code(name[0]);
	if ((name[0] == 'F' || name[0] == 'f') && g_ascii_isdigit(name[1])) {
		guint64 n;
		if (g_ascii_string_to_unsigned(name + 1, 10, 1, 12, &n, NULL))
			return n <= 10 ? (uint16_t)(KEY_F1 + n - 1) : (uint16_t)(KEY_F11 + n - 11);
	}
	for (unsigned int i = 0; i < G_N_ELEMENTS(key_names); i++)
		if (!g_ascii_strcasecmp(name, key_names[i].name))
			return key_names[i].code;
	return 0;
}

bool input_events_is_button(uint16_t code)
{
	return code == KEY_POWER || code == KEY_VOLUMEUP || code == KEY_VOLUMEDOWN;
}

/* US layout: the key of each punctuation character, unshifted and shifted. */
static const struct {
	char plain, shifted;
	uint16_t code;
} punctuation[] = {
	{ '-', '_', KEY_MINUS },      { '=', '+', KEY_EQUAL },      { '[', '{', KEY_LEFTBRACE },
	{ ']', '}', KEY_RIGHTBRACE }, { ';', ':', KEY_SEMICOLON },  { '\'', '"', KEY_APOSTROPHE },
	{ '`', '~', KEY_GRAVE },      { '\\', '|', KEY_BACKSLASH }, { ',', '<', KEY_COMMA },
	{ '.', '>', KEY_DOT },        { '/', '?', KEY_SLASH },
};
static const char shifted_digits[] = ")!@#$%^&*(";

static bool char_key(char c, uint16_t *code, bool *shift)
{
	*shift = false;
	if (g_ascii_isalpha(c)) {
		*shift = g_ascii_isupper(c);
		return (*code = letter_code(c)) != 0;
	}
	if (g_ascii_isdigit(c))
		return (*code = digit_code(c)), true;
	const char *d = c ? strchr(shifted_digits, c) : NULL;
	if (d) {
		*shift = true;
		return (*code = digit_code((char)('0' + (d - shifted_digits)))), true;
	}
	switch (c) {
	case ' ':
		return (*code = KEY_SPACE), true;
	case '\n':
		return (*code = KEY_ENTER), true;
	case '\t':
		return (*code = KEY_TAB), true;
	default:
		break;
	}
	for (unsigned int i = 0; i < G_N_ELEMENTS(punctuation); i++)
		if (c == punctuation[i].plain || c == punctuation[i].shifted) {
			*shift = c == punctuation[i].shifted;
			*code = punctuation[i].code;
			return true;
		}
	return false;
}

bool input_events_text(GByteArray *out, const char *text, GError **error)
{
	for (const char *p = text; *p; p++) {
		uint16_t code;
		bool shift;
		if (!char_key(*p, &code, &shift)) {
			g_set_error(error, LAUNCHER_ERROR, EINVAL,
				    "--text: character %u ('%c') at offset %zu has no key on a US keyboard; "
				    "send it with --key",
				    (unsigned char)*p, g_ascii_isprint(*p) ? *p : '?', (size_t)(p - text));
			return false;
		}
		input_events_key(out, code, shift);
	}
	return true;
}
