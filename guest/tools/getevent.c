/* getevent: shows the input events of the guest's devices, as Android's tool of the name.
 *
 *   getevent [-l] [-t] [-q] [-c COUNT] [DEVICE...]
 *
 * Without DEVICE it opens every /dev/input/event* and watches the directory for devices that
 * come later (a uinput device, say: inotify, and a look every 100 ms); each opened device is
 * announced as
 *
 *   add device 1: /dev/input/event0
 *     name:     "virtio-input-touch0"
 *
 * (not with -q). Each event is one line, "TYPE CODE VALUE" in hex (%04x %04x %08x), prefixed by
 * the device's path when several are watched; -l names type, code and, for keys, the value
 * (DOWN, UP, REPEAT) in columns as Android does: "EV_ABS       ABS_MT_POSITION_X    00000064".
 * -t prefixes the event's timestamp, [   SEC.USEC]. -c COUNT exits (status 0) after COUNT
 * events. stdout is line-buffered, so a reader sees each event as it comes. Status 1 when no
 * device can be opened. */
#include <linux/input.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define PROG        "getevent"
#define MAX_DEVICES 64

struct label {
	int value;
	const char *name;
};
#define L(x)          \
	{             \
		x, #x \
	}

static const struct label type_labels[] = {
	L(EV_SYN), L(EV_KEY), L(EV_REL), L(EV_ABS), L(EV_MSC), L(EV_SW),
	L(EV_LED), L(EV_SND), L(EV_REP), L(EV_FF),  L(EV_PWR), L(EV_FF_STATUS),
};
static const struct label syn_labels[] = { L(SYN_REPORT), L(SYN_CONFIG), L(SYN_MT_REPORT), L(SYN_DROPPED) };
static const struct label abs_labels[] = {
	L(ABS_X),
	L(ABS_Y),
	L(ABS_Z),
	L(ABS_PRESSURE),
	L(ABS_MT_SLOT),
	L(ABS_MT_TOUCH_MAJOR),
	L(ABS_MT_TOUCH_MINOR),
	L(ABS_MT_WIDTH_MAJOR),
	L(ABS_MT_WIDTH_MINOR),
	L(ABS_MT_ORIENTATION),
	L(ABS_MT_POSITION_X),
	L(ABS_MT_POSITION_Y),
	L(ABS_MT_TOOL_TYPE),
	L(ABS_MT_BLOB_ID),
	L(ABS_MT_TRACKING_ID),
	L(ABS_MT_PRESSURE),
	L(ABS_MT_DISTANCE),
};
static const struct label rel_labels[] = { L(REL_X), L(REL_Y), L(REL_WHEEL), L(REL_HWHEEL), L(REL_DIAL) };
static const struct label msc_labels[] = { L(MSC_SERIAL), L(MSC_PULSELED), L(MSC_GESTURE),
					   L(MSC_RAW),    L(MSC_SCAN),     L(MSC_TIMESTAMP) };
static const struct label led_labels[] = { L(LED_NUML), L(LED_CAPSL), L(LED_SCROLLL), L(LED_COMPOSE),
					   L(LED_KANA) };
static const struct label key_labels[] = {
	L(KEY_ESC),       L(KEY_1),          L(KEY_2),          L(KEY_3),          L(KEY_4),
	L(KEY_5),         L(KEY_6),          L(KEY_7),          L(KEY_8),          L(KEY_9),
	L(KEY_0),         L(KEY_MINUS),      L(KEY_EQUAL),      L(KEY_BACKSPACE),  L(KEY_TAB),
	L(KEY_Q),         L(KEY_W),          L(KEY_E),          L(KEY_R),          L(KEY_T),
	L(KEY_Y),         L(KEY_U),          L(KEY_I),          L(KEY_O),          L(KEY_P),
	L(KEY_LEFTBRACE), L(KEY_RIGHTBRACE), L(KEY_ENTER),      L(KEY_LEFTCTRL),   L(KEY_A),
	L(KEY_S),         L(KEY_D),          L(KEY_F),          L(KEY_G),          L(KEY_H),
	L(KEY_J),         L(KEY_K),          L(KEY_L),          L(KEY_SEMICOLON),  L(KEY_APOSTROPHE),
	L(KEY_GRAVE),     L(KEY_LEFTSHIFT),  L(KEY_BACKSLASH),  L(KEY_Z),          L(KEY_X),
	L(KEY_C),         L(KEY_V),          L(KEY_B),          L(KEY_N),          L(KEY_M),
	L(KEY_COMMA),     L(KEY_DOT),        L(KEY_SLASH),      L(KEY_RIGHTSHIFT), L(KEY_LEFTALT),
	L(KEY_SPACE),     L(KEY_CAPSLOCK),   L(KEY_F1),         L(KEY_F2),         L(KEY_F3),
	L(KEY_F4),        L(KEY_F5),         L(KEY_F6),         L(KEY_F7),         L(KEY_F8),
	L(KEY_F9),        L(KEY_F10),        L(KEY_F11),        L(KEY_F12),        L(KEY_RIGHTCTRL),
	L(KEY_RIGHTALT),  L(KEY_HOME),       L(KEY_UP),         L(KEY_PAGEUP),     L(KEY_LEFT),
	L(KEY_RIGHT),     L(KEY_END),        L(KEY_DOWN),       L(KEY_PAGEDOWN),   L(KEY_INSERT),
	L(KEY_DELETE),    L(KEY_MUTE),       L(KEY_VOLUMEDOWN), L(KEY_VOLUMEUP),   L(KEY_POWER),
	L(KEY_LEFTMETA),  L(KEY_RIGHTMETA),  L(KEY_MENU),       L(KEY_BACK),       L(KEY_HOMEPAGE),
	L(KEY_SEARCH),    L(KEY_CAMERA),     L(KEY_APPSELECT),  L(BTN_TOUCH),      L(BTN_TOOL_FINGER),
	L(BTN_LEFT),      L(BTN_RIGHT),
};
static const struct label key_value_labels[] = { { 0, "UP" }, { 1, "DOWN" }, { 2, "REPEAT" } };

static const char *label_of(const struct label *t, size_t n, int value)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].value == value)
			return t[i].name;
	return NULL;
}
#define LABEL(t, v) label_of(t, sizeof(t) / sizeof(t[0]), v)

static void print_event(const struct input_event *e, int labels)
{
	if (!labels) {
		printf("%04x %04x %08x", e->type, e->code, (unsigned int)e->value);
		return;
	}
	const char *type = LABEL(type_labels, e->type), *code = NULL, *value = NULL;
	switch (e->type) {
	case EV_SYN:
		code = LABEL(syn_labels, e->code);
		break;
	case EV_KEY:
		code = LABEL(key_labels, e->code);
		value = LABEL(key_value_labels, e->value);
		break;
	case EV_ABS:
		code = LABEL(abs_labels, e->code);
		break;
	case EV_REL:
		code = LABEL(rel_labels, e->code);
		break;
	case EV_MSC:
		code = LABEL(msc_labels, e->code);
		break;
	case EV_LED:
		code = LABEL(led_labels, e->code);
		break;
	}
	if (type)
		printf("%-12.12s", type);
	else
		printf("%04x        ", e->type);
	if (code)
		printf(" %-20.20s", code);
	else
		printf(" %04x                ", e->code);
	if (value)
		printf(" %-20.20s", value);
	else
		printf(" %08x            ", (unsigned int)e->value);
}

struct device {
	int fd;
	char path[280];
};
static struct device devices[MAX_DEVICES];
static int nr_devices, next_number = 1, quiet;

static void add_device(const char *path, int quiet_errors)
{
	for (int i = 0; i < nr_devices; i++)
		if (!strcmp(devices[i].path, path))
			return;
	if (nr_devices == MAX_DEVICES) {
		fprintf(stderr, PROG ": %s: more than %d devices; not watched\n", path, MAX_DEVICES);
		return;
	}
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (!quiet_errors)
			fprintf(stderr, PROG ": could not open %s: %s\n", path, strerror(errno));
		return;
	}
	char name[128] = "";
	if (ioctl(fd, EVIOCGNAME(sizeof(name) - 1), name) < 0)
		name[0] = 0;
	devices[nr_devices].fd = fd;
	snprintf(devices[nr_devices].path, sizeof(devices[nr_devices].path), "%s", path);
	nr_devices++;
	if (!quiet)
		printf("add device %d: %s\n  name:     \"%s\"\n", next_number, path, name);
	next_number++;
}

static void remove_device(int i)
{
	if (!quiet)
		printf("remove device: %s\n", devices[i].path);
	close(devices[i].fd);
	devices[i] = devices[--nr_devices];
}

/* Opens the event devices of /dev/input not open yet; a rescan (quiet) skips those that fail. */
static void scan_dir(int quiet_errors)
{
	struct dirent **names;
	int n = scandir("/dev/input", &names, NULL, versionsort);
	for (int i = 0; i < n; i++) {
		if (!strncmp(names[i]->d_name, "event", 5)) {
			char p[280];
			snprintf(p, sizeof(p), "/dev/input/%s", names[i]->d_name);
			add_device(p, quiet_errors);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

static void usage(FILE *to) { fprintf(to, "usage: " PROG " [-l] [-t] [-q] [-c COUNT] [DEVICE...]\n"); }

int main(int argc, char **argv)
{
	int labels = 0, timestamps = 0, opt;
	long count = -1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "ltqc:h")) != -1) {
		switch (opt) {
		case 'l':
			labels = 1;
			break;
		case 't':
			timestamps = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'c':
			count = strtol(optarg, NULL, 10);
			if (count < 1) {
				fprintf(stderr, PROG ": -c wants a count of at least 1, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	int watch = -1;
	if (optind < argc) {
		for (int i = optind; i < argc; i++)
			add_device(argv[i], 0);
	} else {
		/* Watch first, then scan: a device made in between is seen by one or the other. */
		watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (watch >= 0 && inotify_add_watch(watch, "/dev/input", IN_CREATE | IN_DELETE) < 0) {
			close(watch);
			watch = -1;
		}
		scan_dir(0);
	}
	if (!nr_devices && watch < 0) {
		fprintf(stderr, PROG ": no input device could be opened\n");
		return 1;
	}
	int prefix = optind >= argc || argc - optind > 1;
	for (;;) {
		struct pollfd p[MAX_DEVICES + 1];
		int n = nr_devices;
		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = devices[i].fd, .events = POLLIN };
		p[n] = (struct pollfd){ .fd = watch, .events = POLLIN };
		/* Watching all devices, /dev/input is also looked at again every 100 ms: inotify may
		 * not report nodes the kernel's devtmpfs makes. */
		int ready = poll(p, (nfds_t)n + 1, optind < argc ? -1 : 100);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
			return 1;
		}
		if (ready == 0) {
			scan_dir(1);
			continue;
		}
		if (watch >= 0 && (p[n].revents & POLLIN)) {
			char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			ssize_t len = read(watch, buf, sizeof(buf));
			for (ssize_t off = 0; off < len;) {
				const struct inotify_event *ie = (const void *)(buf + off);
				if ((ie->mask & IN_CREATE) && ie->len && !strncmp(ie->name, "event", 5)) {
					char path[280];
					snprintf(path, sizeof(path), "/dev/input/%s", ie->name);
					add_device(path, 0);
				}
				off += (ssize_t)sizeof(*ie) + ie->len;
			}
		}
		for (int i = n - 1; i >= 0; i--) {
			if (!p[i].revents)
				continue;
			struct input_event ev[64];
			ssize_t len = read(devices[i].fd, ev, sizeof(ev));
			if (len < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (len <= 0) {
				remove_device(i); /* ENODEV: the device went away */
				continue;
			}
			for (size_t k = 0; k < (size_t)len / sizeof(ev[0]); k++) {
				if (timestamps)
					printf("[%8ld.%06ld] ", (long)ev[k].input_event_sec,
					       (long)ev[k].input_event_usec);
				if (prefix)
					printf("%s: ", devices[i].path);
				print_event(&ev[k], labels);
				putchar('\n');
				if (count > 0 && --count == 0)
					return 0;
			}
		}
	}
}
