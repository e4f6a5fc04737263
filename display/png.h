/* display/png.h — sepia's PNG encoder for scanout pictures: 8-bit RGB (colour type 2,
 * no alpha, no interlace) from the XRGB8888 pixels of a framebuffer (B, G, R, X in memory),
 * deflated with zlib. Used by cvd_display (to a file) and the web view (to memory). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "display/framebuffer.h"

#define PNGENC_ERROR (g_quark_from_static_string("sepia-pngenc"))

/* The per-row filter (PNG filter method 0). PNGENC_FILTER_ADAPTIVE tries all five on each
 * row and keeps the one with the smallest sum of absolute differences (the heuristic the
 * PNG specification suggests); the others use one filter type for every row. */
enum pngenc_filter {
	PNGENC_FILTER_NONE = 0,
	PNGENC_FILTER_SUB = 1,
	PNGENC_FILTER_UP = 2,
	PNGENC_FILTER_AVERAGE = 3,
	PNGENC_FILTER_PAETH = 4,
	PNGENC_FILTER_ADAPTIVE = 5,
};

struct pngenc_options {
	enum pngenc_filter filter;
	int level; /* zlib level 0..9 */
};

/* What cvd_display and the web view use; see png.c for the measurements behind it. */
extern const struct pngenc_options pngenc_default_options;

/* Encodes width x height pixels (rows of stride bytes, each pixel B, G, R, X) as a PNG.
 * options NULL means pngenc_default_options. Fails for a 0 x 0 picture (PNG has none) and
 * on zlib errors. */
GBytes *pngenc_xrgb(const uint8_t *pixels, uint32_t width, uint32_t height, size_t stride,
		    const struct pngenc_options *options, GError **error);
/* The same for a framebuffer snapshot. */
GBytes *pngenc_image(const struct fb_image *image, const struct pngenc_options *options, GError **error);

/* Writes data to path atomically: a temporary file beside it, then rename. Errors name path. */
bool pngenc_write_file(const char *path, GBytes *data, GError **error);
/* pngenc_image + pngenc_write_file; errors name path. */
bool pngenc_save_image(const char *path, const struct fb_image *image, GError **error);
