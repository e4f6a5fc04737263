/* launcher/cvd_display.c — the cvd_display command: what a device's displays show, from the
 * scanout files sepia-vmm publishes in the instance directory (DIR/display<K>.fb).
 *
 *   cvd_display screenshot [--instance_num=N] [--display=K] --output=FILE.png
 *   cvd_display screenshot --framebuffer=PATH.fb --output=FILE.png
 *   cvd_display list [--instance_num=N]
 *   cvd_display wait --match=REF.png [--instance_num=N] [--display=K | --framebuffer=PATH.fb]
 *                    [--region=X,Y,W,H] [--tolerance=N] [--timeout=S]
 *
 * wait is the screen oracle of UI tests: it compares every new frame with the reference and
 * returns 0 as soon as one matches, or 1 at the timeout, saying how many pixels differed in the
 * last frame it saw.
 * A disabled scanout (the guest has not set one, or took it away) still has a picture in its
 * file, black until the guest shows something: screenshot writes it and warns, because a
 * script asking for a screenshot during boot should get a file, not a failure.
 * Exit 0 done, 1 failed or no match (message naming the instance, display or file), 2 usage
 * (and a reference picture that cannot be read). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "display/framebuffer.h"
#include "display/match.h"
#include "display/png.h"
#include "display/pngdec.h"
#include "display/scanouts.h"
#include "common/flags.h"
#include "launcher/select.h"
#include "launcher/instance.h"

#define EXIT_USAGE 2

static const char usage_text[] = "usage: cvd_display <command> [flags]\n"
				 "Commands:\n"
				 "  screenshot   write what a display of a device shows as a PNG file\n"
				 "  list         the displays of a device: size, state, frames shown\n"
				 "  wait         wait until a display shows a reference picture (PNG)\n"
				 "`cvd_display <command> --help` lists the command's flags.\n";

static const char screenshot_synopsis[] =
	"usage: cvd_display screenshot [--instance_num=N] [--display=K] --output=FILE.png\n"
	"       cvd_display screenshot --framebuffer=DISPLAY.fb --output=FILE.png\n"
	"Writes the current picture of display K (default 0) of instance N (default $CUTTLEFISH_INSTANCE\n"
	"or 1), or of a scanout file sepia-vmm writes, as an 8-bit RGB PNG.";

static const char wait_synopsis[] =
	"usage: cvd_display wait --match=REF.png [--instance_num=N] [--display=K] [--region=X,Y,W,H]\n"
	"                        [--tolerance=N] [--timeout=S]\n"
	"       cvd_display wait --match=REF.png --framebuffer=DISPLAY.fb [...]\n"
	"Waits until display K (default 0) of instance N shows the reference picture: every pixel of\n"
	"the region (default the whole screen) within N (default 0) of the reference in red, green and\n"
	"blue. The reference is the screen's size, or the region's (placed at X,Y). Exit 0 on a match,\n"
	"1 at the timeout (default 30 s) with the number of pixels that differed.";

static const char list_synopsis[] = "usage: cvd_display list [--instance_num=N]\n"
				    "Lists the displays of instance N (default $CUTTLEFISH_INSTANCE or 1).";

/* The instance whose displays are wanted: its directory must exist. */
static bool open_instance(const struct cli_flag *num_flag, guint64 num, LauncherInstance *inst, int *status,
			  GError **error)
{
	guint n = (guint)num;
	if (!num_flag->seen && !launcher_default_base_instance(&n, error)) {
		*status = EXIT_USAGE;
		return false;
	}
	launcher_instance_init(inst, launcher_home(), n);
	if (!g_file_test(inst->dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, LAUNCHER_ERROR, ENOENT,
			    "%s: no such instance (%s does not exist; launch_cvd makes it)", inst->name,
			    inst->dir);
		*status = 1;
		return false;
	}
	return true;
}

/* The framebuffer file a command reads: --framebuffer as given, or display k of the instance
 * (opened into inst); *what names it in messages. */
static bool find_display(const char *framebuffer, const struct cli_flag *num_flag, guint64 num, guint k,
			 LauncherInstance *inst, char **path, char **what, int *status, GError **error)
{
	if (framebuffer) {
		*path = g_strdup(framebuffer);
		*what = g_strdup(framebuffer);
		return true;
	}
	if (!open_instance(num_flag, num, inst, status, error))
		return false;
	*path = fb_file_path(inst->dir, k);
	*what = g_strdup_printf("display %u of %s", k, inst->name);
	return true;
}

/* gpu_mode from the instance's cuttlefish_config.json, for the "no display" message; NULL when
 * it cannot be read. */
static char *instance_gpu_mode(const LauncherInstance *inst)
{
	g_autofree char *json = NULL;
	if (!g_file_get_contents(inst->config_path, &json, NULL, NULL))
		return NULL;
	g_autoptr(GRegex) re = g_regex_new("\"gpu_mode\"\\s*:\\s*\"([^\"]*)\"", 0, 0, NULL);
	g_autoptr(GMatchInfo) m = NULL;
	return g_regex_match(re, json, 0, &m) ? g_match_info_fetch(m, 1) : NULL;
}

static void no_display_error(const LauncherInstance *inst, guint k, GError **error)
{
	g_autoptr(GArray) displays = display_list(inst->dir);
	if (displays->len) {
		g_autofree char *have = display_list_text(displays);
		g_set_error(error, LAUNCHER_ERROR, ENOENT, "%s has no display %u (its displays: %s)",
			    inst->name, k, have);
		return;
	}
	g_autofree char *gpu_mode = instance_gpu_mode(inst);
	g_autofree char *mode = gpu_mode ? g_strdup_printf(", --gpu_mode=%s", gpu_mode) : g_strdup("");
	g_set_error(error, LAUNCHER_ERROR, ENOENT,
		    "%s has no display: no display*.fb in %s (the device runs without a GPU%s, or its VMM "
		    "has not started)",
		    inst->name, inst->dir, mode);
}

static int screenshot(int argc, char **argv)
{
	guint64 num = 1, k = 0;
	const char *output = NULL, *framebuffer = NULL;
	struct cli_flag flags[] = {
		FLAG_UINT("instance_num", &num, 1, LAUNCHER_MAX_INSTANCE,
			  "the instance (default $CUTTLEFISH_INSTANCE or 1)"),
		FLAG_UINT("display", &k, 0, DISPLAY_MAX_INDEX, "the display (scanout) number, default 0"),
		FLAG_STRING("output", &output, "the PNG file to write (replaced atomically)"),
		FLAG_STRING("framebuffer", &framebuffer, "read this scanout file instead of an instance's"),
	};
	g_autoptr(GError) err = NULL;
	enum cli_flags_result r = cli_flags_parse(flags, G_N_ELEMENTS(flags), screenshot_synopsis, argc, argv,
						  &err);
	if (r == CLI_FLAGS_HELP)
		return 0;
	if (r == CLI_FLAGS_OK && !output)
		g_set_error(&err, LAUNCHER_ERROR, EINVAL, "--output=FILE.png is required");
	else if (r == CLI_FLAGS_OK && framebuffer && (flags[0].seen || flags[1].seen))
		g_set_error(
			&err, LAUNCHER_ERROR, EINVAL,
			"--framebuffer names the file itself: give it without --instance_num and --display");
	if (err) {
		fprintf(stderr, "cvd_display screenshot: %s (see --help)\n", err->message);
		return EXIT_USAGE;
	}

	g_auto(LauncherInstance) inst = { 0 };
	g_autofree char *path = NULL, *what = NULL;
	int open_status;
	if (!find_display(framebuffer, &flags[0], num, (guint)k, &inst, &path, &what, &open_status, &err)) {
		fprintf(stderr, "cvd_display screenshot: %s\n", err->message);
		return open_status;
	}
	if (!framebuffer) {
		if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
			no_display_error(&inst, (guint)k, &err);
			fprintf(stderr, "cvd_display screenshot: %s\n", err->message);
			return 1;
		}
		if (!launcher_group_alive(launcher_read_pid(&inst)))
			fprintf(stderr,
				"cvd_display screenshot: warning: %s is not running; %s keeps the last "
				"picture it showed\n",
				inst.name, path);
	}

	struct fb_image img;
	if (!fb_file_snapshot(path, &img, &err)) {
		fprintf(stderr, "cvd_display screenshot: %s\n", err->message);
		return 1;
	}
	int status = 0;
	if (img.torn)
		fprintf(stderr,
			"cvd_display screenshot: warning: the VMM stopped in the middle of a frame; %s may "
			"mix two "
			"frames\n",
			path);
	if (!img.width || !img.height) {
		fprintf(stderr,
			"cvd_display screenshot: %s shows nothing (a 0x0 picture in %s); %s not written\n",
			what, path, output);
		status = 1;
	} else if (!pngenc_save_image(output, &img, &err)) {
		fprintf(stderr, "cvd_display screenshot: %s\n", err->message);
		status = 1;
	} else {
		if (!img.enabled)
			fprintf(stderr,
				"cvd_display screenshot: warning: %s is disabled (the guest has not set a "
				"scanout); "
				"%s holds the %ux%u picture it keeps meanwhile (black until the guest shows "
				"one)\n",
				what, output, img.width, img.height);
		printf("cvd_display: wrote %s: %s, %ux%u, frame %" G_GUINT64_FORMAT "\n", output, what,
		       img.width, img.height, img.frames);
	}
	fb_image_clear(&img);
	return status;
}

static int list(int argc, char **argv)
{
	guint64 num = 1;
	struct cli_flag flags[] = {
		FLAG_UINT("instance_num", &num, 1, LAUNCHER_MAX_INSTANCE,
			  "the instance (default $CUTTLEFISH_INSTANCE or 1)"),
	};
	g_autoptr(GError) err = NULL;
	enum cli_flags_result r = cli_flags_parse(flags, G_N_ELEMENTS(flags), list_synopsis, argc, argv,
						  &err);
	if (r == CLI_FLAGS_HELP)
		return 0;
	if (err) {
		fprintf(stderr, "cvd_display list: %s (see --help)\n", err->message);
		return EXIT_USAGE;
	}
	g_auto(LauncherInstance) inst = { 0 };
	int status;
	if (!open_instance(&flags[0], num, &inst, &status, &err)) {
		fprintf(stderr, "cvd_display list: %s\n", err->message);
		return status;
	}
	g_autoptr(GArray) displays = display_list(inst.dir);
	if (!displays->len) {
		no_display_error(&inst, 0, &err);
		fprintf(stderr, "cvd_display list: %s\n", err->message);
		return 1;
	}
	status = 0;
	for (guint i = 0; i < displays->len; i++) {
		guint k = g_array_index(displays, guint, i);
		g_autofree char *path = fb_file_path(inst.dir, k);
		struct display_info info;
		if (!display_read_info(path, &info, &err)) {
			fprintf(stderr, "cvd_display list: %s\n", err->message);
			g_clear_error(&err);
			status = 1;
			continue;
		}
		printf("display %u: %ux%u %s, %u dpi, %" G_GUINT64_FORMAT " frames, %s\n", k, info.width,
		       info.height, info.enabled ? "enabled" : "disabled", info.dpi, info.frames, path);
	}
	return status;
}

/* What the last frame looked at said: a mismatch count, or why it could not be compared. */
struct wait_state {
	uint64_t inode, frames, update_usec;
	bool seen;
	uint64_t mismatches, compared;
	char *why; /* the last reason no comparison was possible, or NULL */
};

/* Compares the display's current picture when it is new; true on a match. */
static bool wait_look(const char *path, const struct fb_image *ref, const struct fb_region *region,
		      guint tolerance, struct wait_state *st)
{
	struct fb_file_header h;
	uint64_t inode;
	g_autoptr(GError) err = NULL;
	if (!fb_file_read_header(path, &h, &inode, &err)) {
		g_free(st->why);
		st->why = g_strdup(err->message);
		return false;
	}
	if (st->seen && inode == st->inode && h.frames == st->frames && h.update_usec == st->update_usec)
		return false;
	struct fb_image img;
	if (!fb_file_snapshot(path, &img, &err)) {
		g_free(st->why);
		st->why = g_strdup(err->message);
		return false;
	}
	st->seen = true;
	st->inode = inode, st->frames = img.frames, st->update_usec = img.update_usec;
	uint64_t n;
	bool ok = fb_match_count(&img, ref, region, tolerance, &n, &err);
	g_free(st->why);
	st->why = ok ? NULL : g_strdup(err->message);
	if (ok) {
		st->mismatches = n;
		st->compared = region ? (uint64_t)region->width * region->height
				      : (uint64_t)img.width * img.height;
	}
	fb_image_clear(&img);
	return ok && n == 0;
}

static int wait_match(int argc, char **argv)
{
	guint64 num = 1, k = 0, tolerance = 0, timeout = 30;
	const char *match = NULL, *region_text = NULL, *framebuffer = NULL;
	struct cli_flag flags[] = {
		FLAG_UINT("instance_num", &num, 1, LAUNCHER_MAX_INSTANCE,
			  "the instance (default $CUTTLEFISH_INSTANCE or 1)"),
		FLAG_UINT("display", &k, 0, DISPLAY_MAX_INDEX, "the display (scanout) number, default 0"),
		FLAG_STRING("match", &match, "the reference picture (PNG, 8-bit)"),
		FLAG_STRING("region", &region_text, "X,Y,W,H: compare only this rectangle of the screen"),
		FLAG_UINT("tolerance", &tolerance, 0, 255, "the difference allowed in each of R, G, B (0)"),
		FLAG_UINT("timeout", &timeout, 0, 86400, "seconds to wait (30); 0 looks once"),
		FLAG_STRING("framebuffer", &framebuffer, "read this scanout file instead of an instance's"),
	};
	g_autoptr(GError) err = NULL;
	struct fb_region region;
	enum cli_flags_result r = cli_flags_parse(flags, G_N_ELEMENTS(flags), wait_synopsis, argc, argv,
						  &err);
	if (r == CLI_FLAGS_HELP)
		return 0;
	if (r == CLI_FLAGS_OK && !match)
		g_set_error(&err, LAUNCHER_ERROR, EINVAL, "--match=REF.png is required");
	else if (r == CLI_FLAGS_OK && framebuffer && (flags[0].seen || flags[1].seen))
		g_set_error(
			&err, LAUNCHER_ERROR, EINVAL,
			"--framebuffer names the file itself: give it without --instance_num and --display");
	else if (r == CLI_FLAGS_OK && region_text)
		fb_region_parse(region_text, &region, &err);
	if (err) {
		fprintf(stderr, "cvd_display wait: %s (see --help)\n", err->message);
		return EXIT_USAGE;
	}
	struct fb_image ref;
	if (!pngdec_load(match, &ref, &err)) {
		fprintf(stderr, "cvd_display wait: reference picture %s\n", err->message);
		return EXIT_USAGE;
	}

	g_auto(LauncherInstance) inst = { 0 };
	g_autofree char *path = NULL, *what = NULL;
	int open_status;
	if (!find_display(framebuffer, &flags[0], num, (guint)k, &inst, &path, &what, &open_status, &err)) {
		fprintf(stderr, "cvd_display wait: %s\n", err->message);
		fb_image_clear(&ref);
		return open_status;
	}

	/* A new frame is looked at as soon as it is published; the file is polled every 10 ms
	 * (a header read: 4 KB from the page cache). A display that does not exist yet (the
	 * device is booting) is waited for too. */
	const struct fb_region *reg = region_text ? &region : NULL;
	struct wait_state st = { 0 };
	gint64 start = g_get_monotonic_time(), deadline = start + (gint64)timeout * G_USEC_PER_SEC;
	bool matched;
	while (!(matched = wait_look(path, &ref, reg, (guint)tolerance, &st)) &&
	       g_get_monotonic_time() < deadline)
		g_usleep(10000);
	gint64 ms = (g_get_monotonic_time() - start) / 1000;
	int status = 0;
	if (matched) {
		printf("cvd_display: %s matches %s at frame %" G_GUINT64_FORMAT " (after %" G_GINT64_FORMAT
		       " ms)\n",
		       what, match, st.frames, ms);
	} else if (st.why) {
		fprintf(stderr, "cvd_display wait: %s does not match %s after %" G_GUINT64_FORMAT " s: %s\n",
			what, match, timeout, st.why);
		status = 1;
	} else {
		fprintf(stderr,
			"cvd_display wait: %s does not match %s after %" G_GUINT64_FORMAT
			" s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
			" pixels differ (tolerance %u, frame %" G_GUINT64_FORMAT ")\n",
			what, match, timeout, st.mismatches, st.compared, (guint)tolerance, st.frames);
		printf("%" G_GUINT64_FORMAT "\n", st.mismatches);
		status = 1;
	}
	g_free(st.why);
	fb_image_clear(&ref);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	/* The command's flags start after its name, which the flag parser takes for argv[0]. */
	if (!strcmp(cmd, "screenshot"))
		return screenshot(argc - 1, argv + 1);
	if (!strcmp(cmd, "list"))
		return list(argc - 1, argv + 1);
	if (!strcmp(cmd, "wait"))
		return wait_match(argc - 1, argv + 1);
	fprintf(stderr, "cvd_display: unknown command '%s'\n%s", cmd, usage_text);
	return EXIT_USAGE;
}
