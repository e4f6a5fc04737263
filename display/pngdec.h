/* display/pngdec.h — a small PNG decoder for reference pictures (cvd_display wait --match):
 * 8-bit greyscale, grey+alpha, RGB and RGBA, and 8-bit palettes; not interlaced. Pixels come
 * out as the framebuffer keeps them (B, G, R, X in memory, rows of width * 4 bytes); alpha is
 * dropped. Every length and chunk CRC is checked; pictures are at most FB_FILE_MAX_DIM a side. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "display/framebuffer.h"

/* Decodes len bytes of PNG into image (width, height, pixels; the rest zero). Errors (domain
 * PNGENC_ERROR) say what is wrong or unsupported. */
bool pngdec_decode(const uint8_t *data, size_t len, struct fb_image *image, GError **error);
/* The same for a file; errors name it. */
bool pngdec_load(const char *path, struct fb_image *image, GError **error);
