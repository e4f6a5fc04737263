/* input: sends input from inside the guest, as Android's `input` command, for scripts that use it.
 *
 *   input keyevent KEY...          KEY: an Android key code (3), its name (KEYCODE_HOME or HOME)
 *   input tap X Y
 *   input swipe X1 Y1 X2 Y2 [MS]   (default 300 ms)
 *   input text STRING              US layout: letters, digits, space and ASCII punctuation
 *
 * Android's command injects into its input manager; here the events come from a uinput device,
 * "sepia-input", made for the one command: a keyboard with every key and a multi-touch screen
 * whose range is that of the first touch screen in /dev/input (so X Y are its display pixels;
 * 720x1280 without one). Readers that watch /dev/input (getevent) see the device appear, its
 * events, and the device go. Status 0 when sent, 1 on errors (naming the step), 2 usage. */
#include <linux/input.h>
#include <linux/uinput.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define PROG "input"
#include "evdev-util.h"
#include "fd-util.h"

/* How long the device stays before and after its events: long enough for a reader watching
 * /dev/input to open it (inotify, then open), and to read the events before the node goes
 * (evdev refuses reads once its device is gone). The guest kernel may run interpreted. */
#define SETTLE_MS 500

struct keycode {
	const char *name; /* Android's, without KEYCODE_ */
	int android, linux_key;
};
static const struct keycode keycodes[] = {
	{ "HOME", 3, KEY_HOMEPAGE },
	{ "BACK", 4, KEY_BACK },
	{ "DPAD_UP", 19, KEY_UP },
	{ "DPAD_DOWN", 20, KEY_DOWN },
	{ "DPAD_LEFT", 21, KEY_LEFT },
	{ "DPAD_RIGHT", 22, KEY_RIGHT },
	{ "DPAD_CENTER", 23, KEY_SELECT },
	{ "VOLUME_UP", 24, KEY_VOLUMEUP },
	{ "VOLUME_DOWN", 25, KEY_VOLUMEDOWN },
	{ "POWER", 26, KEY_POWER },
	{ "CAMERA", 27, KEY_CAMERA },
	{ "COMMA", 55, KEY_COMMA },
	{ "PERIOD", 56, KEY_DOT },
	{ "TAB", 61, KEY_TAB },
	{ "SPACE", 62, KEY_SPACE },
	{ "ENTER", 66, KEY_ENTER },
	{ "DEL", 67, KEY_BACKSPACE },
	{ "MINUS", 69, KEY_MINUS },
	{ "EQUALS", 70, KEY_EQUAL },
	{ "SLASH", 76, KEY_SLASH },
	{ "MENU", 82, KEY_MENU },
	{ "SEARCH", 84, KEY_SEARCH },
	{ "ESCAPE", 111, KEY_ESC },
	{ "FORWARD_DEL", 112, KEY_DELETE },
	{ "APP_SWITCH", 187, KEY_APPSELECT },
	{ "SLEEP", 223, KEY_SLEEP },
	{ "WAKEUP", 224, KEY_WAKEUP },
};
static const int letter_keys[26] = {
	KEY_A, KEY_B, KEY_C, KEY_D, KEY_E, KEY_F, KEY_G, KEY_H, KEY_I, KEY_J, KEY_K, KEY_L, KEY_M,
	KEY_N, KEY_O, KEY_P, KEY_Q, KEY_R, KEY_S, KEY_T, KEY_U, KEY_V, KEY_W, KEY_X, KEY_Y, KEY_Z,
};
static const int digit_keys[10] = { KEY_0, KEY_1, KEY_2, KEY_3, KEY_4, KEY_5, KEY_6, KEY_7, KEY_8, KEY_9 };

/* The Linux key of an Android key code or name; 0 when unknown. */
static int android_key(const char *arg)
{
	char *end;
	long n = strtol(arg, &end, 10);
	int numeric = *arg && !*end;
	const char *name = strncmp(arg, "KEYCODE_", 8) ? arg : arg + 8;
	for (size_t i = 0; i < sizeof(keycodes) / sizeof(keycodes[0]); i++)
		if (numeric ? keycodes[i].android == n : !strcasecmp(keycodes[i].name, name))
			return keycodes[i].linux_key;
	if (numeric && n >= 29 && n <= 54) /* KEYCODE_A..Z */
		return letter_keys[n - 29];
	if (numeric && n >= 7 && n <= 16) /* KEYCODE_0..9 */
		return digit_keys[n - 7];
	if (!numeric && strlen(name) == 1 && isalpha((unsigned char)name[0]))
		return letter_keys[toupper((unsigned char)name[0]) - 'A'];
	if (!numeric && strlen(name) == 1 && isdigit((unsigned char)name[0]))
		return digit_keys[name[0] - '0'];
	return 0;
}

/* The key and shift of an ASCII character on a US keyboard; 0 when it has none. */
static int char_key(char ch, int *shift)
{
	static const char plain[] = "-=[];'`\\,./ \t\n", shifted[] = "_+{}:\"~|<>?";
	static const int plain_keys[] = { KEY_MINUS,     KEY_EQUAL,      KEY_LEFTBRACE, KEY_RIGHTBRACE,
					  KEY_SEMICOLON, KEY_APOSTROPHE, KEY_GRAVE,     KEY_BACKSLASH,
					  KEY_COMMA,     KEY_DOT,        KEY_SLASH,     KEY_SPACE,
					  KEY_TAB,       KEY_ENTER };
	static const char shifted_digits[] = ")!@#$%^&*(";
	*shift = 0;
	if (ch >= 'a' && ch <= 'z')
		return letter_keys[ch - 'a'];
	if (ch >= 'A' && ch <= 'Z')
		return *shift = 1, letter_keys[ch - 'A'];
	if (ch >= '0' && ch <= '9')
		return digit_keys[ch - '0'];
	const char *p;
	if (ch && (p = strchr(plain, ch)))
		return plain_keys[p - plain];
	if (ch && (p = strchr(shifted, ch)))
		return *shift = 1, plain_keys[p - shifted];
	if (ch && (p = strchr(shifted_digits, ch)))
		return *shift = 1, digit_keys[p - shifted_digits];
	return 0;
}

static int ui = -1;

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

static int emit(int type, int code, int value)
{
	struct input_event e = { .type = (unsigned short)type, .code = (unsigned short)code, .value = value };
	if (write_all(ui, (const char *)&e, sizeof(e)) < 0) {
		fprintf(stderr, PROG ": writing to /dev/uinput: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}
static int syn(void) { return emit(EV_SYN, SYN_REPORT, 0); }

static int press(int key, int shift)
{
	if (shift && (emit(EV_KEY, KEY_LEFTSHIFT, 1) || syn()))
		return -1;
	if (emit(EV_KEY, key, 1) || syn() || emit(EV_KEY, key, 0) || syn())
		return -1;
	return shift ? emit(EV_KEY, KEY_LEFTSHIFT, 0) || syn() : 0;
}

static int touch(int x, int y, int down_or_move)
{
	if (down_or_move == 1 &&
	    (emit(EV_ABS, ABS_MT_SLOT, 0) || emit(EV_ABS, ABS_MT_TRACKING_ID, getpid() & 0xffff)))
		return -1;
	if (emit(EV_ABS, ABS_MT_POSITION_X, x) || emit(EV_ABS, ABS_MT_POSITION_Y, y))
		return -1;
	return (down_or_move == 1 ? emit(EV_KEY, BTN_TOUCH, 1) : 0) || syn();
}
static int lift(void) { return emit(EV_ABS, ABS_MT_TRACKING_ID, -1) || emit(EV_KEY, BTN_TOUCH, 0) || syn(); }

/* Makes the uinput device and waits until its event node exists (and readers had time to open
 * it); 0 or 1 (said). */
static int make_device(void)
{
	int w = 720, h = 1280;
	char touch_path[280];
	int t = evdev_open_touch(touch_path, sizeof(touch_path));
	if (t >= 0) {
		struct input_absinfo ax, ay;
		if (!ioctl(t, EVIOCGABS(ABS_MT_POSITION_X), &ax) &&
		    !ioctl(t, EVIOCGABS(ABS_MT_POSITION_Y), &ay))
			w = ax.maximum + 1, h = ay.maximum + 1;
		close(t);
	}
	ui = open("/dev/uinput", O_WRONLY | O_CLOEXEC);
	if (ui < 0) {
		fprintf(stderr,
			PROG ": cannot open /dev/uinput: %s (a kernel without CONFIG_INPUT_UINPUT?)\n",
			strerror(errno));
		return 1;
	}
	int bad = ioctl(ui, UI_SET_EVBIT, EV_KEY) || ioctl(ui, UI_SET_EVBIT, EV_ABS) ||
		  ioctl(ui, UI_SET_EVBIT, EV_SYN) || ioctl(ui, UI_SET_PROPBIT, INPUT_PROP_DIRECT);
	for (int k = KEY_ESC; k < BTN_MISC && !bad; k++)
		bad = ioctl(ui, UI_SET_KEYBIT, k);
	bad = bad || ioctl(ui, UI_SET_KEYBIT, BTN_TOUCH);
	const struct uinput_abs_setup axes[] = {
		{ ABS_MT_SLOT, { .minimum = 0, .maximum = 9 } },
		{ ABS_MT_TRACKING_ID, { .minimum = 0, .maximum = 65535 } },
		{ ABS_MT_POSITION_X, { .minimum = 0, .maximum = w - 1 } },
		{ ABS_MT_POSITION_Y, { .minimum = 0, .maximum = h - 1 } },
	};
	for (size_t i = 0; i < sizeof(axes) / sizeof(axes[0]) && !bad; i++)
		bad = ioctl(ui, UI_SET_ABSBIT, axes[i].code) || ioctl(ui, UI_ABS_SETUP, &axes[i]);
	struct uinput_setup setup = { .id = { .bustype = BUS_VIRTUAL, .vendor = 0x5345, .product = 0x0200 } };
	snprintf(setup.name, sizeof(setup.name), "sepia-input");
	if (bad || ioctl(ui, UI_DEV_SETUP, &setup) || ioctl(ui, UI_DEV_CREATE)) {
		fprintf(stderr, PROG ": setting up the uinput device: %s\n", strerror(errno));
		return 1;
	}
	/* The node: /sys/devices/virtual/input/<sysname>/event<N> -> /dev/input/event<N>. */
	char sysname[64] = "", dir[160];
	if (ioctl(ui, UI_GET_SYSNAME(sizeof(sysname)), sysname) >= 0) {
		snprintf(dir, sizeof(dir), "/sys/devices/virtual/input/%s", sysname);
		for (int tries = 0; tries < 500; tries++) {
			DIR *d = opendir(dir);
			struct dirent *e;
			int found = 0;
			while (d && (e = readdir(d)) != NULL) {
				char node[300];
				snprintf(node, sizeof(node), "/dev/input/%s", e->d_name);
				if (!strncmp(e->d_name, "event", 5) && access(node, F_OK) == 0)
					found = 1;
			}
			if (d)
				closedir(d);
			if (found)
				break;
			sleep_ms(10);
		}
	}
	sleep_ms(SETTLE_MS);
	return 0;
}

static void usage(FILE *to)
{
	fprintf(to, "usage: " PROG " keyevent KEY... | tap X Y | swipe X1 Y1 X2 Y2 [MS] | text STRING\n");
}

static int parse_int(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 0 || v > 65535)
		return fprintf(stderr, PROG ": '%s' is not a coordinate\n", s), -1;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	int v[5] = { 0, 0, 0, 0, 300 }, nv = argc - 2, rc = 0;
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "keyevent")) {
		if (nv < 1)
			return usage(stderr), 2;
		for (int i = 2; i < argc; i++)
			if (!android_key(argv[i]))
				return fprintf(stderr, PROG ": unknown key '%s'\n", argv[i]), 2;
	} else if (!strcmp(cmd, "tap") || !strcmp(cmd, "swipe")) {
		int want = !strcmp(cmd, "tap") ? 2 : 4;
		if (nv != want && !(want == 4 && nv == 5))
			return usage(stderr), 2;
		for (int i = 0; i < nv; i++)
			if (parse_int(argv[2 + i], &v[i]))
				return 2;
	} else if (!strcmp(cmd, "text")) {
		if (nv != 1)
			return usage(stderr), 2;
		for (const char *p = argv[2]; *p; p++) {
			int shift;
			if (!char_key(*p, &shift))
				return fprintf(stderr, PROG ": no key types '%c' (US layout)\n", *p), 2;
		}
	} else {
		usage(stderr);
		return 2;
	}

	if (make_device())
		return 1;
	if (!strcmp(cmd, "keyevent")) {
		for (int i = 2; i < argc && !rc; i++)
			rc = press(android_key(argv[i]), 0);
	} else if (!strcmp(cmd, "tap")) {
		rc = touch(v[0], v[1], 1) || lift();
	} else if (!strcmp(cmd, "swipe")) {
		int steps = v[4] / 10 > 0 ? v[4] / 10 : 1;
		rc = touch(v[0], v[1], 1);
		for (int i = 1; i <= steps && !rc; i++) {
			sleep_ms(v[4] / steps);
			rc = touch(v[0] + (v[2] - v[0]) * i / steps, v[1] + (v[3] - v[1]) * i / steps, 0);
		}
		rc = rc || lift();
	} else {
		for (const char *p = argv[2]; *p && !rc; p++) {
			int shift, key = char_key(*p, &shift);
			rc = press(key, shift);
		}
	}
	sleep_ms(SETTLE_MS);
	ioctl(ui, UI_DEV_DESTROY);
	close(ui);
	return rc ? 1 : 0;
}
