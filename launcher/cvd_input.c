/* launcher/cvd_input.c — the cvd_input command: touches, swipes, text and keys into a running
 * device, through the unix sockets its VMM's virtio-input devices listen on in the instance
 * directory (input_touch_<D>.sock, input_keyboard.sock, input_buttons.sock).
 *
 *   cvd_input [--instance_num=N] [--display=D] --tap X,Y
 *   cvd_input [--instance_num=N] [--display=D] --swipe X1,Y1,X2,Y2[,MS]
 *   cvd_input [--instance_num=N] --text STR
 *   cvd_input [--instance_num=N] --key NAME
 *
 * Coordinates are the display's pixels. Exit 0 sent, 1 failed (message naming the instance and
 * socket), 2 usage. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/flags.h"
#include "display/framebuffer.h"
#include "display/scanouts.h"
#include "launcher/input_events.h"
#include "launcher/instance.h"
#include "launcher/select.h"

#define EXIT_USAGE       2
#define SWIPE_DEFAULT_MS 300
#define SWIPE_STEP_MS    10

static const char synopsis[] =
	"usage: cvd_input [--instance_num=N] [--display=D] (--tap X,Y | --swipe X1,Y1,X2,Y2[,MS] |\n"
	"                 --text STR | --key NAME)\n"
	"Sends input to a running device (instance N, default $CUTTLEFISH_INSTANCE or 1): a tap or a\n"
	"swipe (default 300 ms) on display D (default 0) in its pixels, text typed on a US keyboard,\n"
	"or one key pressed and released (evdev names: POWER, VOLUMEUP, VOLUMEDOWN, ENTER, A, F1, ...).";

/* "a,b,c": exactly min..max unsigned numbers. */
static bool parse_numbers(const char *flag, const char *text, guint min, guint max, int32_t *out, guint *n,
			  GError **error)
{
	g_auto(GStrv) parts = g_strsplit(text, ",", -1);
	*n = g_strv_length(parts);
	for (guint i = 0; i < *n && *n <= max; i++) {
		guint64 v;
		if (!g_ascii_string_to_unsigned(parts[i], 10, 0, 65535, &v, NULL)) {
			*n = 0;
			break;
		}
		out[i] = (int32_t)v;
	}
	if (*n < min || *n > max) {
		g_set_error(error, LAUNCHER_ERROR, EINVAL, "--%s=%s: give %s", flag, text,
			    max == 2 ? "X,Y in pixels"
				     : "X1,Y1,X2,Y2 in pixels and an optional duration in ms");
		return false;
	}
	return true;
}

static int connect_socket(const LauncherInstance *inst, const char *name, GError **error)
{
	g_autofree char *path = g_build_filename(inst->dir, name, NULL);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(error, LAUNCHER_ERROR, ENAMETOOLONG, "%s: socket path %s is too long", inst->name,
			    path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		g_set_error(error, LAUNCHER_ERROR, e,
			    "%s: cannot connect to %s: %s (is the device running? its sepia-vmm makes the "
			    "socket)",
			    inst->name, path, g_strerror(e));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static bool send_records(int fd, const LauncherInstance *inst, GByteArray *records, GError **error)
{
	size_t done = 0;
	while (done < records->len) {
		ssize_t n = write(fd, records->data + done, records->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error(error, LAUNCHER_ERROR, errno, "%s: the input socket closed: %s",
				    inst->name, g_strerror(errno));
			return false;
		}
		done += (size_t)n;
	}
	g_byte_array_set_size(records, 0);
	return true;
}

/* The display's size when its scanout file says it; a point outside it is an error. */
static bool check_point(const LauncherInstance *inst, guint display, int32_t x, int32_t y, GError **error)
{
	g_autofree char *path = fb_file_path(inst->dir, display);
	struct display_info info;
	if (!display_read_info(path, &info, NULL) || !info.width || !info.height)
		return true; /* unknown: the device clamps */
	if ((uint32_t)x >= info.width || (uint32_t)y >= info.height) {
		g_set_error(error, LAUNCHER_ERROR, EINVAL, "%s: %d,%d is outside display %u (%ux%u)",
			    inst->name, x, y, display, info.width, info.height);
		return false;
	}
	return true;
}

static bool swipe(int fd, const LauncherInstance *inst, const int32_t *v, guint n, GError **error)
{
	guint ms = n == 5 ? (guint)v[4] : SWIPE_DEFAULT_MS;
	guint steps = MAX(ms / SWIPE_STEP_MS, 1u);
	g_autoptr(GByteArray) b = g_byte_array_new();
	input_events_touch_down(b, (int32_t)(getpid() & 0x7fff), v[0], v[1]);
	if (!send_records(fd, inst, b, error))
		return false;
	for (guint i = 1; i <= steps; i++) {
		g_usleep((gulong)ms * 1000 / steps);
		input_events_touch_move(b, v[0] + (v[2] - v[0]) * (int32_t)i / (int32_t)steps,
					v[1] + (v[3] - v[1]) * (int32_t)i / (int32_t)steps);
		if (!send_records(fd, inst, b, error))
			return false;
	}
	input_events_touch_up(b);
	return send_records(fd, inst, b, error);
}

int main(int argc, char **argv)
{
	guint64 num = 1, display = 0;
	const char *tap = NULL, *swipe_spec = NULL, *text = NULL, *key = NULL;
	struct cli_flag flags[] = {
		FLAG_UINT("instance_num", &num, 1, LAUNCHER_MAX_INSTANCE,
			  "the instance (default $CUTTLEFISH_INSTANCE or 1)"),
		FLAG_UINT("display", &display, 0, DISPLAY_MAX_INDEX, "the display touched (default 0)"),
		FLAG_STRING("tap", &tap, "touch X,Y and let go"),
		FLAG_STRING("swipe", &swipe_spec, "touch X1,Y1, move to X2,Y2 over MS ms (default 300)"),
		FLAG_STRING("text", &text, "type STR on the keyboard (US layout)"),
		FLAG_STRING("key", &key, "press and release one key by its evdev name"),
	};
	g_autoptr(GError) err = NULL;
	enum cli_flags_result r = cli_flags_parse(flags, G_N_ELEMENTS(flags), synopsis, argc, argv, &err);
	if (r == CLI_FLAGS_HELP)
		return 0;
	int32_t v[5];
	guint nv = 0;
	uint16_t code = 0;
	if (r == CLI_FLAGS_OK && (!!tap + !!swipe_spec + !!text + !!key) != 1)
		g_set_error(&err, LAUNCHER_ERROR, EINVAL,
			    "give exactly one of --tap, --swipe, --text, --key");
	else if (r == CLI_FLAGS_OK && tap)
		parse_numbers("tap", tap, 2, 2, v, &nv, &err);
	else if (r == CLI_FLAGS_OK && swipe_spec)
		parse_numbers("swipe", swipe_spec, 4, 5, v, &nv, &err);
	else if (r == CLI_FLAGS_OK && key && !(code = input_events_key_code(key)))
		g_set_error(&err, LAUNCHER_ERROR, EINVAL,
			    "--key=%s: not a key name (evdev's: POWER, VOLUMEUP, ENTER, A, F1, ...)", key);
	if (err) {
		fprintf(stderr, "cvd_input: %s (see --help)\n", err->message);
		return EXIT_USAGE;
	}
	guint n = (guint)num;
	if (!flags[0].seen && !launcher_default_base_instance(&n, &err)) {
		fprintf(stderr, "cvd_input: %s\n", err->message);
		return EXIT_USAGE;
	}
	g_auto(LauncherInstance) inst = { 0 };
	launcher_instance_init(&inst, launcher_home(), n);

	g_autofree char *socket_name = NULL;
	if (tap || swipe_spec)
		socket_name = g_strdup_printf(LAUNCHER_INPUT_TOUCH_SOCKET, (guint)display);
	else
		socket_name = g_strdup(code && input_events_is_button(code) ? LAUNCHER_INPUT_BUTTONS_SOCKET
									    : LAUNCHER_INPUT_KEYBOARD_SOCKET);
	g_autoptr(GByteArray) b = g_byte_array_new();
	if (text && !input_events_text(b, text, &err)) {
		fprintf(stderr, "cvd_input: %s\n", err->message);
		return EXIT_USAGE;
	}
	if ((tap || swipe_spec) && (!check_point(&inst, (guint)display, v[0], v[1], &err) ||
				    (swipe_spec && !check_point(&inst, (guint)display, v[2], v[3], &err)))) {
		fprintf(stderr, "cvd_input: %s\n", err->message);
		return EXIT_USAGE;
	}
	int fd = connect_socket(&inst, socket_name, &err);
	if (fd < 0) {
		fprintf(stderr, "cvd_input: %s\n", err->message);
		return 1;
	}
	bool ok;
	if (tap) {
		input_events_touch_down(b, (int32_t)(getpid() & 0x7fff), v[0], v[1]);
		input_events_touch_up(b);
		ok = send_records(fd, &inst, b, &err);
	} else if (swipe_spec) {
		ok = swipe(fd, &inst, v, nv, &err);
	} else {
		if (key)
			input_events_key(b, code, false);
		ok = send_records(fd, &inst, b, &err);
	}
	close(fd);
	if (!ok) {
		fprintf(stderr, "cvd_input: %s\n", err->message);
		return 1;
	}
	return 0;
}
