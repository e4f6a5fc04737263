/* cvd_input's records (launcher/input_events.c): a tap is protocol B down and up, each group
 * ended by SYN_REPORT; text becomes US-keyboard keys with shift where needed; key names
 * resolve as evdev spells them; characters without a key are refused, naming them. */
#include <glib.h>
#include <linux/input.h>
#include <string.h>

#include "launcher/input_events.h"

struct rec {
	uint16_t type, code;
	int32_t value;
};

static struct rec rec_at(GByteArray *b, guint i)
{
	struct rec r;
	g_assert_cmpuint(b->len % 8, ==, 0);
	g_assert_cmpuint(i, <, b->len / 8);
	uint16_t t, c;
	uint32_t v;
	memcpy(&t, b->data + 8 * i, 2);
	memcpy(&c, b->data + 8 * i + 2, 2);
	memcpy(&v, b->data + 8 * i + 4, 4);
	r.type = GUINT16_FROM_LE(t), r.code = GUINT16_FROM_LE(c), r.value = (int32_t)GUINT32_FROM_LE(v);
	return r;
}

static void assert_rec(GByteArray *b, guint i, uint16_t type, uint16_t code, int32_t value)
{
	struct rec r = rec_at(b, i);
	g_assert_cmpuint(r.type, ==, type);
	g_assert_cmpuint(r.code, ==, code);
	g_assert_cmpint(r.value, ==, value);
}

static void test_tap(void)
{
	g_autoptr(GByteArray) b = g_byte_array_new();
	input_events_touch_down(b, 7, 100, 200);
	input_events_touch_up(b);
	g_assert_cmpuint(b->len / 8, ==, 10);
	assert_rec(b, 1, EV_ABS, ABS_MT_TRACKING_ID, 7);
	assert_rec(b, 2, EV_ABS, ABS_MT_POSITION_X, 100);
	assert_rec(b, 3, EV_ABS, ABS_MT_POSITION_Y, 200);
	assert_rec(b, 4, EV_KEY, BTN_TOUCH, 1);
	assert_rec(b, 5, EV_SYN, SYN_REPORT, 0);
	assert_rec(b, 7, EV_ABS, ABS_MT_TRACKING_ID, -1);
	assert_rec(b, 8, EV_KEY, BTN_TOUCH, 0);
	assert_rec(b, 9, EV_SYN, SYN_REPORT, 0);
}

static void test_text(void)
{
	g_autoptr(GByteArray) b = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	g_assert_true(input_events_text(b, "aZ1!", &error));
	/* a: down, syn, up, syn */
	assert_rec(b, 0, EV_KEY, KEY_A, 1);
	assert_rec(b, 2, EV_KEY, KEY_A, 0);
	/* Z: shift down, syn, Z down, syn, Z up, syn, shift up, syn */
	assert_rec(b, 4, EV_KEY, KEY_LEFTSHIFT, 1);
	assert_rec(b, 6, EV_KEY, KEY_Z, 1);
	assert_rec(b, 8, EV_KEY, KEY_Z, 0);
	assert_rec(b, 10, EV_KEY, KEY_LEFTSHIFT, 0);
	assert_rec(b, 12, EV_KEY, KEY_1, 1);
	assert_rec(b, 16, EV_KEY, KEY_LEFTSHIFT, 1);
	assert_rec(b, 18, EV_KEY, KEY_1, 1);
	g_assert_cmpuint(b->len / 8, ==, 4 + 8 + 4 + 8);
	for (guint i = 1; i < b->len / 8; i += 2)
		assert_rec(b, i, EV_SYN, SYN_REPORT, 0);

	g_byte_array_set_size(b, 0);
	g_assert_false(input_events_text(b, "ok\x01", &error));
	g_assert_nonnull(strstr(error->message, "offset 2"));
}

static void test_key_names(void)
{
	g_assert_cmpuint(input_events_key_code("POWER"), ==, KEY_POWER);
	g_assert_cmpuint(input_events_key_code("KEY_VOLUMEUP"), ==, KEY_VOLUMEUP);
	g_assert_cmpuint(input_events_key_code("volume_down"), ==, KEY_VOLUMEDOWN);
	g_assert_cmpuint(input_events_key_code("q"), ==, KEY_Q);
	g_assert_cmpuint(input_events_key_code("M"), ==, KEY_M);
	g_assert_cmpuint(input_events_key_code("0"), ==, KEY_0);
	g_assert_cmpuint(input_events_key_code("9"), ==, KEY_9);
	g_assert_cmpuint(input_events_key_code("F1"), ==, KEY_F1);
	g_assert_cmpuint(input_events_key_code("F12"), ==, KEY_F12);
	g_assert_cmpuint(input_events_key_code("enter"), ==, KEY_ENTER);
	g_assert_cmpuint(input_events_key_code("F13"), ==, 0);
	g_assert_cmpuint(input_events_key_code("NOSUCHKEY"), ==, 0);
	g_assert_cmpuint(input_events_key_code(""), ==, 0);
	g_assert_true(input_events_is_button(KEY_POWER));
	g_assert_false(input_events_is_button(KEY_A));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/input-events/tap", test_tap);
	g_test_add_func("/input-events/text", test_text);
	g_test_add_func("/input-events/key-names", test_key_names);
	return g_test_run();
}
