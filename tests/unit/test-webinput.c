/* Unit tests for launcher/webinput.c: the page's input lines, the multi-touch records they
 * become (protocol B, exact bytes), keys and buttons, and the socket writer against a fake
 * device listening on the instance's input socket. */
#include <errno.h>
#include <linux/input-event-codes.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "launcher/webinput.h"

static void test_parse(void)
{
	struct webinput_cmd c;
	g_autoptr(GError) err = NULL;
	g_assert_true(webinput_parse_line("t 2 d 7 32768 65535", &c, &err));
	g_assert_no_error(err);
	g_assert_cmpint(c.kind, ==, WEBINPUT_TOUCH);
	g_assert_cmpuint(c.display, ==, 2);
	g_assert_cmpint(c.action, ==, 'd');
	g_assert_cmpuint(c.pointer, ==, 7);
	g_assert_cmpuint(c.x, ==, 32768);
	g_assert_cmpuint(c.y, ==, 65535);
	g_assert_true(webinput_parse_line("k KeyA 1", &c, NULL));
	g_assert_cmpint(c.kind, ==, WEBINPUT_KEY);
	g_assert_cmpuint(c.code, ==, KEY_A);
	g_assert_cmpint(c.value, ==, 1);
	g_assert_true(webinput_parse_line("k Enter 2", &c, NULL));
	g_assert_cmpuint(c.code, ==, KEY_ENTER);
	g_assert_true(webinput_parse_line("b volumedown 0", &c, NULL));
	g_assert_cmpint(c.kind, ==, WEBINPUT_BUTTON);
	g_assert_cmpuint(c.code, ==, KEY_VOLUMEDOWN);
	g_assert_true(webinput_parse_line("b power 1", &c, NULL));
	g_assert_cmpuint(c.code, ==, KEY_POWER);
	static const char *const bad[] = {
		"",
		"t",
		"t 0 d 1 2",
		"t 0 d 1 2 3 4",
		"t 64 d 1 2 3",
		"t 0 x 1 2 3",
		"t 0 dd 1 2 3",
		"t 0 d -1 2 3",
		"t 0 d +1 2 3",
		"t 0 d 1 65536 3",
		"t 0 d 1 2 99999999999999999999",
		"t 0 d 2147483648 2 3",
		"t  0 d 1 2 3",
		"t 0 d 1 2 3 ",
		"t 0 d 1 0x10 3",
		"t 0 d 1 \t2 3",
		"k KeyA 3",
		"k NoSuchKey 1",
		"k KeyA",
		"b reset 1",
		"b power 2",
		"x 1 2",
	};
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) e = NULL;
		if (webinput_parse_line(bad[i], &c, &e))
			g_error("line '%s' parsed", bad[i]);
		g_assert_nonnull(e);
		g_assert_nonnull(strstr(e->message, "input line"));
	}
}

static void test_key_map(void)
{
	/* Every name the map holds is found (the table is sorted for bsearch). */
	static const char *const names[] = { "AltLeft", "Backspace", "Digit0",  "Digit9",    "Enter", "KeyA",
					     "KeyM",    "KeyZ",      "Numpad0", "ShiftLeft", "Space", "Tab" };
	static const guint16 keys[] = {
		KEY_LEFTALT, KEY_BACKSPACE, KEY_0,   KEY_9,         KEY_ENTER, KEY_A,
		KEY_M,       KEY_Z,         KEY_KP0, KEY_LEFTSHIFT, KEY_SPACE, KEY_TAB
	};
	for (guint i = 0; i < G_N_ELEMENTS(names); i++)
		g_assert_cmpuint(webinput_key_code(names[i]), ==, keys[i]);
	g_assert_cmpuint(webinput_key_code("keya"), ==, 0);
	g_assert_cmpuint(webinput_key_code(""), ==, 0);
	/* Each letter key in order. */
	for (char l = 'A'; l <= 'Z'; l++) {
		char name[5] = { 'K', 'e', 'y', l, 0 };
		g_assert_cmpuint(webinput_key_code(name), !=, 0);
	}
}

static void test_map(void)
{
	g_assert_cmpuint(webinput_map(0, 720), ==, 0);
	g_assert_cmpuint(webinput_map(32768, 720), ==, 360);
	g_assert_cmpuint(webinput_map(65535, 720), ==, 719);
	g_assert_cmpuint(webinput_map(65535, 1), ==, 0);
	g_assert_cmpuint(webinput_map(100, 0), ==, 0);
	/* Pixel centre p of an n-pixel picture maps to p. */
	for (guint32 p = 0; p < 1280; p += 37)
		g_assert_cmpuint(webinput_map((guint32)(((p + 0.5) / 1280) * 65536), 1280), ==, p);
}

/* The records as (type, code, value) triples, after a check of their little-endian bytes. */
static void expect_events(const struct virtio_input_event *ev, guint n, const gint32 (*want)[3], guint wn)
{
	g_assert_cmpuint(n, ==, wn);
	for (guint i = 0; i < n; i++) {
		const guint8 *b = (const guint8 *)&ev[i];
		guint8 exp[8] = { (guint8)want[i][0],         (guint8)(want[i][0] >> 8),
				  (guint8)want[i][1],         (guint8)(want[i][1] >> 8),
				  (guint8)want[i][2],         (guint8)(want[i][2] >> 8),
				  (guint8)(want[i][2] >> 16), (guint8)(want[i][2] >> 24) };
		if (memcmp(b, exp, 8))
			g_error("record %u: %d %d %d expected", i, want[i][0], want[i][1], want[i][2]);
	}
}

static void test_touch(void)
{
	g_assert_cmpuint(sizeof(struct virtio_input_event), ==, 8);
	struct webinput_touch t = { 0 };
	struct virtio_input_event ev[WEBINPUT_MAX_EVENTS];
	guint n = webinput_touch_event(&t, 1, 'd', 5, 100, 200, ev);
	static const gint32 down[][3] = {
		{ EV_ABS, ABS_MT_SLOT, 0 },         { EV_ABS, ABS_MT_TRACKING_ID, 0 },
		{ EV_ABS, ABS_MT_POSITION_X, 100 }, { EV_ABS, ABS_MT_POSITION_Y, 200 },
		{ EV_KEY, BTN_TOUCH, 1 },           { EV_SYN, SYN_REPORT, 0 }
	};
	expect_events(ev, n, down, G_N_ELEMENTS(down));
	/* A second pointer of the same page: slot 1, no second BTN_TOUCH. */
	n = webinput_touch_event(&t, 1, 'd', 6, 300, 400, ev);
	static const gint32 down2[][3] = { { EV_ABS, ABS_MT_SLOT, 1 },
					   { EV_ABS, ABS_MT_TRACKING_ID, 1 },
					   { EV_ABS, ABS_MT_POSITION_X, 300 },
					   { EV_ABS, ABS_MT_POSITION_Y, 400 },
					   { EV_SYN, SYN_REPORT, 0 } };
	expect_events(ev, n, down2, G_N_ELEMENTS(down2));
	n = webinput_touch_event(&t, 1, 'm', 5, 101, 202, ev);
	static const gint32 move[][3] = { { EV_ABS, ABS_MT_SLOT, 0 },
					  { EV_ABS, ABS_MT_POSITION_X, 101 },
					  { EV_ABS, ABS_MT_POSITION_Y, 202 },
					  { EV_SYN, SYN_REPORT, 0 } };
	expect_events(ev, n, move, G_N_ELEMENTS(move));
	/* Another page's pointer 5 is not this page's: it moves nothing. */
	g_assert_cmpuint(webinput_touch_event(&t, 2, 'm', 5, 1, 1, ev), ==, 0);
	g_assert_cmpuint(webinput_touch_event(&t, 2, 'u', 5, 1, 1, ev), ==, 0);
	n = webinput_touch_event(&t, 1, 'u', 5, 0, 0, ev);
	static const gint32 up[][3] = { { EV_ABS, ABS_MT_SLOT, 0 },
					{ EV_ABS, ABS_MT_TRACKING_ID, -1 },
					{ EV_SYN, SYN_REPORT, 0 } };
	expect_events(ev, n, up, G_N_ELEMENTS(up));
	/* The last contact lifts BTN_TOUCH too (cancel is an up). */
	n = webinput_touch_event(&t, 1, 'c', 6, 0, 0, ev);
	static const gint32 up2[][3] = { { EV_ABS, ABS_MT_SLOT, 1 },
					 { EV_ABS, ABS_MT_TRACKING_ID, -1 },
					 { EV_KEY, BTN_TOUCH, 0 },
					 { EV_SYN, SYN_REPORT, 0 } };
	expect_events(ev, n, up2, G_N_ELEMENTS(up2));
	g_assert_cmpuint(t.active, ==, 0);
	/* Eleven contacts: the eleventh is ignored, and so are its moves and its up. */
	for (guint i = 0; i < WEBINPUT_SLOTS; i++)
		g_assert_cmpuint(webinput_touch_event(&t, 3, 'd', i, i, i, ev), >, 0);
	g_assert_cmpuint(webinput_touch_event(&t, 3, 'd', 99, 1, 1, ev), ==, 0);
	g_assert_cmpuint(webinput_touch_event(&t, 3, 'm', 99, 1, 1, ev), ==, 0);
	g_assert_cmpuint(webinput_touch_event(&t, 3, 'u', 99, 1, 1, ev), ==, 0);
	/* A page that goes away lifts all it held; the last lift releases BTN_TOUCH. */
	guint lifts = 0, last = 0;
	while ((n = webinput_touch_release(&t, 3, ev)) > 0) {
		lifts++;
		last = n;
	}
	g_assert_cmpuint(lifts, ==, WEBINPUT_SLOTS);
	g_assert_cmpuint(last, ==, 4);
	g_assert_cmpuint(ev[2].type, ==, GUINT16_TO_LE(EV_KEY));
	g_assert_cmpuint(t.active, ==, 0);
	/* Tracking ids wrap at 16 bits. */
	t.next_tracking_id = 0xffff;
	n = webinput_touch_event(&t, 1, 'd', 1, 0, 0, ev);
	g_assert_cmpuint(GUINT32_FROM_LE(ev[1].value), ==, 0xffff);
	webinput_touch_event(&t, 1, 'u', 1, 0, 0, ev);
	webinput_touch_event(&t, 1, 'd', 1, 0, 0, ev);
	g_assert_cmpuint(GUINT32_FROM_LE(ev[1].value), ==, 0);
}

static void test_key_records(void)
{
	struct virtio_input_event ev[2];
	static const gint32 want[][3] = { { EV_KEY, KEY_POWER, 1 }, { EV_SYN, SYN_REPORT, 0 } };
	expect_events(ev, webinput_key_event(KEY_POWER, 1, ev), want, 2);
}

/* A fake device: a listening unix socket at path. */
static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_assert_cmpuint(strlen(path), <, sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(fd, 4), ==, 0);
	return fd;
}

static void read_exact(int fd, void *buf, gsize len)
{
	gsize done = 0;
	while (done < len) {
		ssize_t r = read(fd, (guint8 *)buf + done, len - done);
		g_assert_cmpint(r, >, 0);
		done += (gsize)r;
	}
}

static void test_sink(void)
{
	g_autofree char *dir = g_dir_make_tmp("sepia-webinput-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "input_keyboard.sock", NULL);
	struct webinput_sink s;
	webinput_sink_init(&s, path);
	struct virtio_input_event ev[2];
	guint n = webinput_key_event(KEY_A, 1, ev);
	/* No device yet: dropped, counted. */
	g_assert_false(webinput_sink_send(&s, ev, n));
	g_assert_cmpuint(s.dropped, ==, 2);
	int l = listen_at(path);
	s.retry_after_us = 0; /* the retry pause has passed */
	g_assert_true(webinput_sink_send(&s, ev, n));
	int c = accept(l, NULL, NULL);
	g_assert_cmpint(c, >=, 0);
	guint8 got[16];
	read_exact(c, got, sizeof(got));
	static const guint8 want[16] = { 1, 0, 30, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	g_assert_cmpmem(got, 16, want, 16);
	/* The device restarts: the send on the dead connection fails, the next one reconnects. */
	close(c);
	close(l);
	unlink(path);
	l = listen_at(path);
	bool sent = webinput_sink_send(&s, ev, n); /* may land in the old socket's buffer */
	if (sent)
		sent = webinput_sink_send(&s, ev, n);
	s.retry_after_us = 0;
	if (!sent)
		g_assert_true(webinput_sink_send(&s, ev, n));
	c = accept(l, NULL, NULL);
	g_assert_cmpint(c, >=, 0);
	read_exact(c, got, sizeof(got));
	g_assert_cmpmem(got, 16, want, 16);
	close(c);
	close(l);
	webinput_sink_clear(&s);
	unlink(path);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/webinput/parse", test_parse);
	g_test_add_func("/webinput/key-map", test_key_map);
	g_test_add_func("/webinput/map", test_map);
	g_test_add_func("/webinput/touch", test_touch);
	g_test_add_func("/webinput/keys", test_key_records);
	g_test_add_func("/webinput/sink", test_sink);
	return g_test_run();
}
