/* gpu-pattern: the reference guest's display test tool (static, in the initramfs).
 *
 *   gpu-pattern [--device PATH] [--foreground]
 *
 * Opens the DRM device (default /dev/dri/card0), takes the first connected
 * connector and its preferred mode (or its first mode), draws sepia's test
 * pattern into a KMS dumb buffer of the mode's size, shows it with SETCRTC and
 * reports the whole screen dirty with DIRTYFB. Then it prints one line
 *
 *   gpu-pattern: WxH on connector N
 *
 * and stays alive holding the DRM file and framebuffer, since closing them
 * makes the kernel turn the CRTC off. By default it daemonizes: the command
 * returns (status 0) only after the pattern is on screen, which is what the
 * guest's init relies on for sepia.gpu_pattern=1. With --foreground it stays
 * in the foreground instead. Errors name the step that failed; status 1.
 *
 * The pattern (host tests recompute it pixel for pixel), W x H, y = 0 at the top:
 *   y <  H/2          8 vertical bars, i = x*8/W:
 *                     white, yellow, cyan, green, magenta, red, blue, black
 *   H/2 <= y < 3H/4   grey ramp, v = x*255/(W-1), colour v*0x010101
 *   y >= 3H/4         40-pixel checkerboard, ((x/40 + y/40) & 1) ? white : black
 * Pixels are XRGB8888: in memory B, G, R, 0xff.
 */
#include <drm/drm.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_mode.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PROG "gpu-pattern"
#include "drm-util.h"
#include "kms-util.h"
#define CHECKER_SIZE 40

static const uint32_t bar_colours[8] = {
	0xFFFFFF, 0xFFFF00, 0x00FFFF, 0x00FF00, 0xFF00FF, 0xFF0000, 0x0000FF, 0x000000,
};

/* The pattern's colour (0xRRGGBB) at (x, y) of a width x height picture. */
static uint32_t pattern_colour(uint32_t x, uint32_t y, uint32_t width, uint32_t height)
{
	if (y < height / 2)
		return bar_colours[(uint64_t)x * 8 / width];
	if (y < 3 * height / 4) {
		uint32_t v = width > 1 ? (uint32_t)((uint64_t)x * 255 / (width - 1)) : 0;
		return v * 0x010101;
	}
	return ((x / CHECKER_SIZE + y / CHECKER_SIZE) & 1) ? 0xFFFFFF : 0x000000;
}

static void draw_pattern(uint8_t *pixels, uint32_t pitch, uint32_t width, uint32_t height)
{
	for (uint32_t y = 0; y < height; y++) {
		uint32_t *row = (uint32_t *)(pixels + (size_t)y * pitch);
		for (uint32_t x = 0; x < width; x++)
			/* XRGB8888 is little-endian 0xXXRRGGBB: bytes B, G, R, X. */
			row[x] = 0xFF000000u | pattern_colour(x, y, width, height);
	}
}

static void usage(FILE *to) { fprintf(to, "usage: " PROG " [--device PATH] [--foreground]\n"); }

int main(int argc, char **argv)
{
	const char *device = "/dev/dri/card0";
	int foreground = 0;
	struct display display = { 0 };
	uint32_t fb_id = 0, pitch = 0;
	uint8_t *pixels = NULL;
	int fd;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--foreground") == 0) {
			foreground = 1;
		} else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
			device = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}

	fd = drm_open(device);
	if (fd < 0)
		return 1;
	if (find_display(fd, &display) != 0)
		return 1;
	uint32_t width = display.mode.hdisplay, height = display.mode.vdisplay;
	if (width == 0 || height == 0) {
		fprintf(stderr, PROG ": connector %u: mode %ux%u is empty\n", display.connector_id, width,
			height);
		return 1;
	}
	if (create_framebuffer(fd, width, height, &fb_id, &pixels, &pitch) != 0)
		return 1;
	draw_pattern(pixels, pitch, width, height);
	if (show_framebuffer(fd, &display, fb_id) != 0)
		return 1;

	char line[96];
	snprintf(line, sizeof(line), PROG ": %ux%u on connector %u\n", width, height, display.connector_id);
	int err = report_and_detach(line, foreground);
	if (err < 0)
		return fail("fork", err);
	for (;;)
		pause();
}
