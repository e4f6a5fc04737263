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

struct display {
	uint32_t connector_id, crtc_id;
	struct drm_mode_modeinfo mode;
};

static void *xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size);
	if (p == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		exit(1);
	}
	return p;
}

/* The connector's details; *modes is malloc'ed. Loops while the counts grow
 * between the two calls (a hotplug in between). */
static int get_connector(int fd, uint32_t id, struct drm_mode_get_connector *conn,
			 struct drm_mode_modeinfo **modes, uint32_t **encoders)
{
	for (;;) {
		struct drm_mode_get_connector probe = { .connector_id = id };
		int err = drm_ioctl(fd, DRM_IOCTL_MODE_GETCONNECTOR, &probe);
		if (err < 0)
			return err;
		*modes = xcalloc(probe.count_modes, sizeof(**modes));
		*encoders = xcalloc(probe.count_encoders, sizeof(**encoders));
		memset(conn, 0, sizeof(*conn));
		conn->connector_id = id;
		conn->count_modes = probe.count_modes;
		conn->modes_ptr = (uintptr_t)*modes;
		conn->count_encoders = probe.count_encoders;
		conn->encoders_ptr = (uintptr_t)*encoders;
		err = drm_ioctl(fd, DRM_IOCTL_MODE_GETCONNECTOR, conn);
		if (err == 0 && conn->count_modes <= probe.count_modes &&
		    conn->count_encoders <= probe.count_encoders)
			return 0;
		free(*modes);
		free(*encoders);
		if (err < 0)
			return err;
	}
}

/* A CRTC the connector can use: its current encoder's, else the first one
 * any of its encoders can drive. */
static uint32_t pick_crtc(int fd, const struct drm_mode_get_connector *conn, const uint32_t *encoders,
			  const uint32_t *crtcs, uint32_t count_crtcs)
{
	struct drm_mode_get_encoder enc;

	if (conn->encoder_id != 0) {
		enc = (struct drm_mode_get_encoder){ .encoder_id = conn->encoder_id };
		if (drm_ioctl(fd, DRM_IOCTL_MODE_GETENCODER, &enc) == 0 && enc.crtc_id != 0)
			return enc.crtc_id;
	}
	for (uint32_t e = 0; e < conn->count_encoders; e++) {
		enc = (struct drm_mode_get_encoder){ .encoder_id = encoders[e] };
		if (drm_ioctl(fd, DRM_IOCTL_MODE_GETENCODER, &enc) < 0)
			continue;
		for (uint32_t c = 0; c < count_crtcs && c < 32; c++)
			if (enc.possible_crtcs & (1u << c))
				return crtcs[c];
	}
	return 0;
}

/* The first connected connector with a mode and a usable CRTC. */
static int find_display(int fd, struct display *out)
{
	struct drm_mode_card_res res = { 0 };
	uint32_t *connectors, *crtcs;
	int err = drm_ioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, &res);

	if (err < 0)
		return fail("DRM_IOCTL_MODE_GETRESOURCES (is this a KMS device?)", err);
	connectors = xcalloc(res.count_connectors, sizeof(*connectors));
	crtcs = xcalloc(res.count_crtcs, sizeof(*crtcs));
	struct drm_mode_card_res res2 = {
		.count_connectors = res.count_connectors,
		.connector_id_ptr = (uintptr_t)connectors,
		.count_crtcs = res.count_crtcs,
		.crtc_id_ptr = (uintptr_t)crtcs,
	};
	if ((err = drm_ioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, &res2)) < 0)
		return fail("DRM_IOCTL_MODE_GETRESOURCES (lists)", err);
	if (res2.count_connectors > res.count_connectors)
		res2.count_connectors = res.count_connectors;
	if (res2.count_crtcs > res.count_crtcs)
		res2.count_crtcs = res.count_crtcs;

	for (uint32_t i = 0; i < res2.count_connectors; i++) {
		struct drm_mode_get_connector conn;
		struct drm_mode_modeinfo *modes;
		uint32_t *encoders;
		int chosen = -1;

		if ((err = get_connector(fd, connectors[i], &conn, &modes, &encoders)) < 0) {
			fprintf(stderr, PROG ": DRM_IOCTL_MODE_GETCONNECTOR %u: %s\n", connectors[i],
				strerror(-err));
			continue;
		}
		if (conn.connection == 1 /* connected */ && conn.count_modes > 0) {
			chosen = 0;
			for (uint32_t m = 0; m < conn.count_modes; m++)
				if (modes[m].type & DRM_MODE_TYPE_PREFERRED) {
					chosen = (int)m;
					break;
				}
			out->crtc_id = pick_crtc(fd, &conn, encoders, crtcs, res2.count_crtcs);
			if (out->crtc_id == 0) {
				fprintf(stderr, PROG ": connector %u: no CRTC can drive it\n", connectors[i]);
				chosen = -1;
			} else {
				out->connector_id = connectors[i];
				out->mode = modes[chosen];
			}
		}
		free(modes);
		free(encoders);
		if (chosen >= 0) {
			free(connectors);
			free(crtcs);
			return 0;
		}
	}
	fprintf(stderr, PROG ": no connected connector with a mode (of %u connectors)\n",
		res2.count_connectors);
	free(connectors);
	free(crtcs);
	return 1;
}

/* A dumb buffer of the mode's size as an XRGB8888 framebuffer, mapped. */
static int create_framebuffer(int fd, uint32_t width, uint32_t height, uint32_t *fb_id, uint8_t **pixels,
			      uint32_t *pitch)
{
	struct drm_mode_create_dumb create = { .width = width, .height = height, .bpp = 32 };
	struct drm_mode_map_dumb map = { 0 };
	int err;

	if ((err = drm_ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &create)) < 0)
		return fail("DRM_IOCTL_MODE_CREATE_DUMB", err);

	struct drm_mode_fb_cmd2 fb2 = {
		.width = width,
		.height = height,
		.pixel_format = DRM_FORMAT_XRGB8888,
		.handles = { create.handle },
		.pitches = { create.pitch },
	};
	if ((err = drm_ioctl(fd, DRM_IOCTL_MODE_ADDFB2, &fb2)) == 0) {
		*fb_id = fb2.fb_id;
	} else {
		/* Older drivers: the legacy call, depth 24 in 32 bits is XRGB8888. */
		struct drm_mode_fb_cmd fb = {
			.width = width,
			.height = height,
			.pitch = create.pitch,
			.bpp = 32,
			.depth = 24,
			.handle = create.handle,
		};
		int err1 = drm_ioctl(fd, DRM_IOCTL_MODE_ADDFB, &fb);
		if (err1 < 0) {
			fprintf(stderr, PROG ": DRM_IOCTL_MODE_ADDFB2 (XRGB8888): %s\n", strerror(-err));
			return fail("DRM_IOCTL_MODE_ADDFB (32 bpp, depth 24)", err1);
		}
		*fb_id = fb.fb_id;
	}

	map.handle = create.handle;
	if ((err = drm_ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &map)) < 0)
		return fail("DRM_IOCTL_MODE_MAP_DUMB", err);
	void *p = mmap(NULL, create.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)map.offset);
	if (p == MAP_FAILED)
		return fail("mmap of the dumb buffer", -errno);
	*pixels = p;
	*pitch = create.pitch;
	return 0;
}

static int show_framebuffer(int fd, const struct display *d, uint32_t fb_id)
{
	uint32_t connector_id = d->connector_id;
	struct drm_mode_crtc crtc = {
		.set_connectors_ptr = (uintptr_t)&connector_id,
		.count_connectors = 1,
		.crtc_id = d->crtc_id,
		.fb_id = fb_id,
		.mode_valid = 1,
		.mode = d->mode,
	};
	/* SETCRTC already sends the new framebuffer to the host; DIRTYFB for
	 * the whole screen makes sure, for drivers that only send damage. (On
	 * 6.1, virtio-gpu's plane update logs a one-time "drm_plane_enable_fb_
	 * damage_clips() not called" warning either way: harmless.) */
	struct drm_clip_rect whole = { 0, 0, d->mode.hdisplay, d->mode.vdisplay };
	struct drm_mode_fb_dirty_cmd dirty = {
		.fb_id = fb_id,
		.num_clips = 1,
		.clips_ptr = (uintptr_t)&whole,
	};
	int err;

	if ((err = drm_ioctl(fd, DRM_IOCTL_MODE_SETCRTC, &crtc)) < 0)
		return fail("DRM_IOCTL_MODE_SETCRTC", err);
	/* Drivers without a dirty hook (-ENOSYS) show the buffer as it is. */
	if ((err = drm_ioctl(fd, DRM_IOCTL_MODE_DIRTYFB, &dirty)) < 0 && err != -ENOSYS)
		return fail("DRM_IOCTL_MODE_DIRTYFB", err);
	return 0;
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

	if (!foreground) {
		/* The parent reports and returns only now that the pattern is
		 * shown; the child keeps the DRM file (and so the CRTC) alive. */
		pid_t pid = fork();
		if (pid < 0)
			return fail("fork", -errno);
		if (pid > 0) {
			printf(PROG ": %ux%u on connector %u\n", width, height, display.connector_id);
			fflush(stdout);
			_exit(0);
		}
		setsid();
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			if (null > STDERR_FILENO)
				close(null);
		}
	} else {
		printf(PROG ": %ux%u on connector %u\n", width, height, display.connector_id);
		fflush(stdout);
	}
	for (;;)
		pause();
}
