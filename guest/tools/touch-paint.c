/* touch-paint: draws a mark wherever the guest's touch screen is touched, through the same KMS
 * path as gpu-pattern (a dumb buffer shown with SETCRTC, damage reported with DIRTYFB), so a
 * test can close the loop from a host click to a pixel of the host's screenshot.
 *
 *   touch-paint [--device PATH] [--input PATH] [--foreground]
 *
 * It takes the first connected connector of the DRM device (default /dev/dri/card0) and the
 * first multi-touch screen in /dev/input (or --input), clears the screen to black and prints
 *
 *   touch-paint: WxH on connector N, touches from /dev/input/eventK
 *
 * Then, at every SYN_REPORT, each contact down (protocol B slots) gets a white square of
 * 2 * MARK_RADIUS + 1 pixels centred on its position, scaled from the device's axis range to
 * the mode's size (the identity for sepia's virtio touch screens, whose range is the display's
 * size), and only that square is reported dirty. It must be the DRM master: run it where
 * nothing else shows a picture (not with sepia.gpu_pattern=1). By default it daemonizes once
 * the black screen is shown (the command returns 0 then); --foreground stays and prints a line
 * per mark, "touch-paint: mark at X,Y". Errors name the step that failed; status 1. */
#include <linux/input.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define PROG "touch-paint"
#include "drm-util.h"
#include "evdev-util.h"
#include "kms-util.h"

#define MARK_RADIUS 10
#define MARK_COLOUR 0xFFFFFFu
#define SLOTS       16

struct contact {
	int active;
	int x, y;
};

struct screen {
	int fd;
	uint32_t fb_id, pitch, width, height;
	uint8_t *pixels;
};

static int scale(int v, const struct input_absinfo *a, uint32_t size)
{
	long long range = (long long)a->maximum - a->minimum + 1;
	if (range <= 1)
		return 0;
	long long p = ((long long)v - a->minimum) * size / range;
	return (int)(p < 0 ? 0 : p >= size ? size - 1 : p);
}

static void paint_mark(const struct screen *s, int cx, int cy, int foreground)
{
	int x0 = cx - MARK_RADIUS < 0 ? 0 : cx - MARK_RADIUS;
	int y0 = cy - MARK_RADIUS < 0 ? 0 : cy - MARK_RADIUS;
	int x1 = cx + MARK_RADIUS >= (int)s->width ? (int)s->width - 1 : cx + MARK_RADIUS;
	int y1 = cy + MARK_RADIUS >= (int)s->height ? (int)s->height - 1 : cy + MARK_RADIUS;
	for (int y = y0; y <= y1; y++) {
		uint32_t *row = (uint32_t *)(s->pixels + (size_t)y * s->pitch);
		for (int x = x0; x <= x1; x++)
			row[x] = 0xFF000000u | MARK_COLOUR;
	}
	struct drm_clip_rect clip = { (unsigned short)x0, (unsigned short)y0, (unsigned short)(x1 + 1),
				      (unsigned short)(y1 + 1) };
	struct drm_mode_fb_dirty_cmd dirty = { .fb_id = s->fb_id,
					       .num_clips = 1,
					       .clips_ptr = (uintptr_t)&clip };
	int err = drm_ioctl(s->fd, DRM_IOCTL_MODE_DIRTYFB, &dirty);
	if (err < 0 && err != -ENOSYS)
		fail("DRM_IOCTL_MODE_DIRTYFB", err);
	if (foreground)
		printf(PROG ": mark at %d,%d\n", cx, cy);
}

/* Reads touches until the device goes away. */
static int paint_touches(const struct screen *s, int in, const struct input_absinfo *ax,
			 const struct input_absinfo *ay, int foreground)
{
	struct contact c[SLOTS] = { 0 };
	int slot = 0;
	for (;;) {
		struct input_event ev[64];
		ssize_t len = read(in, ev, sizeof(ev));
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return fail("reading the touch screen", len < 0 ? -errno : -ENODEV);
		for (size_t i = 0; i < (size_t)len / sizeof(ev[0]); i++) {
			const struct input_event *e = &ev[i];
			if (e->type == EV_ABS && e->code == ABS_MT_SLOT)
				slot = e->value >= 0 && e->value < SLOTS ? e->value : 0;
			else if (e->type == EV_ABS && e->code == ABS_MT_TRACKING_ID)
				c[slot].active = e->value >= 0;
			else if (e->type == EV_ABS && e->code == ABS_MT_POSITION_X)
				c[slot].x = scale(e->value, ax, s->width);
			else if (e->type == EV_ABS && e->code == ABS_MT_POSITION_Y)
				c[slot].y = scale(e->value, ay, s->height);
			else if (e->type == EV_SYN && e->code == SYN_REPORT)
				for (int k = 0; k < SLOTS; k++)
					if (c[k].active)
						paint_mark(s, c[k].x, c[k].y, foreground);
		}
		if (foreground)
			fflush(stdout);
	}
}

static void usage(FILE *to)
{
	fprintf(to, "usage: " PROG " [--device PATH] [--input PATH] [--foreground]\n");
}

int main(int argc, char **argv)
{
	const char *device = "/dev/dri/card0", *input = NULL;
	int foreground = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--foreground") == 0) {
			foreground = 1;
		} else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
			device = argv[++i];
		} else if (strcmp(argv[i], "--input") == 0 && i + 1 < argc) {
			input = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}

	char input_path[280];
	int in;
	if (input) {
		snprintf(input_path, sizeof(input_path), "%s", input);
		in = open(input, O_RDONLY | O_CLOEXEC);
		if (in < 0)
			return fail(input, -errno);
		if (!evdev_is_touch(in)) {
			fprintf(stderr, PROG ": %s is no multi-touch screen (no ABS_MT_POSITION_X)\n", input);
			return 1;
		}
	} else if ((in = evdev_open_touch(input_path, sizeof(input_path))) < 0) {
		return 1;
	}
	struct input_absinfo ax, ay;
	if (ioctl(in, EVIOCGABS(ABS_MT_POSITION_X), &ax) < 0 ||
	    ioctl(in, EVIOCGABS(ABS_MT_POSITION_Y), &ay) < 0)
		return fail("EVIOCGABS (the touch screen's axes)", -errno);

	struct display display = { 0 };
	struct screen s = { 0 };
	s.fd = drm_open(device);
	if (s.fd < 0 || find_display(s.fd, &display) != 0)
		return 1;
	s.width = display.mode.hdisplay, s.height = display.mode.vdisplay;
	if (!s.width || !s.height) {
		fprintf(stderr, PROG ": connector %u: mode %ux%u is empty\n", display.connector_id, s.width,
			s.height);
		return 1;
	}
	if (create_framebuffer(s.fd, s.width, s.height, &s.fb_id, &s.pixels, &s.pitch) != 0)
		return 1;
	for (uint32_t y = 0; y < s.height; y++)
		for (uint32_t x = 0; x < s.width; x++)
			((uint32_t *)(s.pixels + (size_t)y * s.pitch))[x] = 0xFF000000u;
	if (show_framebuffer(s.fd, &display, s.fb_id) != 0)
		return 1;

	char line[400]; /* input_path and the sizes */
	snprintf(line, sizeof(line), PROG ": %ux%u on connector %u, touches from %s\n", s.width, s.height,
		 display.connector_id, input_path);
	int err = report_and_detach(line, foreground);
	if (err < 0)
		return fail("fork", err);
	return paint_touches(&s, in, &ax, &ay, foreground);
}
