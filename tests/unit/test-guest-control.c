/* Unit tests for the guest init's control channel lines (guest/init/control.c): the boot
 * snapshot point's "continue", with and without the host's RNG seed. */
#include "guest/init/control.h"

#include <errno.h>
#include <glib.h>
#include <signal.h>
#include <string.h>

static void test_continue_seed(void)
{
	unsigned char seed[CONTROL_SEED_BYTES];
	g_autoptr(GString) line = g_string_new("continue ");
	for (unsigned int i = 0; i < CONTROL_SEED_BYTES; i++)
		g_string_append_printf(line, "%02x", (i * 37 + 5) & 0xff);
	g_assert_cmpint(control_parse_seed(line->str, seed), ==, CONTROL_SEED_BYTES);
	for (unsigned int i = 0; i < CONTROL_SEED_BYTES; i++)
		g_assert_cmpuint(seed[i], ==, (i * 37 + 5) & 0xff);
	g_assert_true(control_is_continue(line->str));
	/* Without a seed: still a "continue" (a host that sends none). */
	g_assert_cmpint(control_parse_seed("continue", seed), ==, 0);
	g_assert_true(control_is_continue("continue"));
}

static void test_continue_malformed(void)
{
	unsigned char seed[CONTROL_SEED_BYTES];
	g_autofree char *short_seed = g_strnfill(2 * CONTROL_SEED_BYTES - 2, 'a');
	g_autofree char *long_seed = g_strnfill(2 * CONTROL_SEED_BYTES + 2, 'a');
	g_autofree char *upper = g_strnfill(2 * CONTROL_SEED_BYTES, 'A');
	const char *bad[] = { "continued",
			      "continue ",
			      "Continue",
			      "",
			      "continue  00",
			      g_strconcat("continue ", short_seed, NULL),
			      g_strconcat("continue ", long_seed, NULL),
			      g_strconcat("continue ", upper, NULL) };
	for (unsigned int i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(control_parse_seed(bad[i], seed), ==, -EINVAL);
	g_assert_false(control_is_continue("continued"));
	g_assert_false(control_is_continue("contin"));
	for (unsigned int i = 5; i < G_N_ELEMENTS(bad); i++)
		g_free((char *)bad[i]);
}

static void test_late_continue_is_quiet(void)
{
	/* A "continue" the control service sees (nobody waited for it) gets no answer. */
	char answer[64] = "x";
	g_assert_cmpint(control_handle_line("continue 00", answer, sizeof(answer)), ==, 0);
	g_assert_cmpstr(answer, ==, "");
	g_assert_cmpint(control_handle_line("poweroff", answer, sizeof(answer)), ==, SIGUSR2);
	g_assert_cmpstr(answer, ==, "ok poweroff\n");
	g_assert_cmpint(control_handle_line("continuex", answer, sizeof(answer)), ==, 0);
	g_assert_cmpstr(answer, ==, "error unknown command\n");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/guest-control/continue-seed", test_continue_seed);
	g_test_add_func("/guest-control/continue-malformed", test_continue_malformed);
	g_test_add_func("/guest-control/late-continue", test_late_continue_is_quiet);
	return g_test_run();
}
