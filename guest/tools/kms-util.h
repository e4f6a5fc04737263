/* guest/tools/kms-util.h — the KMS path the display tools share (gpu-pattern, touch-paint): find
 * the first connected connector and a CRTC for it, make an XRGB8888 dumb buffer of its mode's
 * size, show it with SETCRTC and report damage with DIRTYFB. Static (the tools are linked into one
 * binary, sepia-tools); include drm-util.h first. */
#pragma once

#include <drm/drm.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_mode.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drm-util.h"

struct display {
	uint32_t connector_id, crtc_id;
	struct drm_mode_modeinfo mode;
};

static inline void *xcalloc(size_t count, size_t size)
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
static inline int get_connector(int fd, uint32_t id, struct drm_mode_get_connector *conn,
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
static inline uint32_t pick_crtc(int fd, const struct drm_mode_get_connector *conn, const uint32_t *encoders,
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
static inline int find_display(int fd, struct display *out)
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
static inline int create_framebuffer(int fd, uint32_t width, uint32_t height, uint32_t *fb_id,
				     uint8_t **pixels, uint32_t *pitch)
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

static inline int show_framebuffer(int fd, const struct display *d, uint32_t fb_id)
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

/* Prints line once the screen is shown. In the foreground that is all. Otherwise the tool
 * detaches: the parent prints and exits, and the child goes on in a session of its own with
 * /dev/null as its stdio, keeping the DRM file (and so the CRTC) alive. Returns 0 in the
 * process that goes on, or -errno. */
static inline int report_and_detach(const char *line, bool foreground)
{
	if (!foreground) {
		pid_t pid = fork();
		if (pid < 0)
			return -errno;
		if (pid > 0) {
			fputs(line, stdout);
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
		return 0;
	}
	fputs(line, stdout);
	fflush(stdout);
	return 0;
}
