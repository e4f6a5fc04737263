/* display/match.h — how far a display's picture is from a reference picture (cvd_display wait
 * --match): the pixels, within a region, whose colour differs from the reference's by more than
 * a tolerance in any of red, green or blue. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "display/framebuffer.h"

struct fb_region {
	uint32_t x, y, width, height;
};

/* Parses "X,Y,W,H" (decimal, W and H at least 1). Errors name the text. */
bool fb_region_parse(const char *text, struct fb_region *region, GError **error);

/* Counts the pixels of region (NULL: the whole screen) that differ by more than tolerance
 * (0..255, per channel) between screen and reference, into *mismatches. The reference is either
 * the screen's size (its own pixels of the region are compared) or the region's size (placed at
 * the region's corner). Fails (domain FB_ERROR, EINVAL) when the region leaves the screen or the
 * reference fits neither way; the message gives both sizes. */
bool fb_match_count(const struct fb_image *screen, const struct fb_image *reference,
		    const struct fb_region *region, unsigned int tolerance, uint64_t *mismatches,
		    GError **error);
