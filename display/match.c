/* display/match.c — a display's picture against a reference (see match.h). */
#include "display/match.h"

#include <errno.h>
#include <stdlib.h>

bool fb_region_parse(const char *text, struct fb_region *region, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(text, ",", -1);
	guint64 v[4];
	if (g_strv_length(parts) != 4)
		goto bad;
	for (int i = 0; i < 4; i++)
		if (!g_ascii_string_to_unsigned(parts[i], 10, i < 2 ? 0 : 1, FB_FILE_MAX_DIM, &v[i], NULL))
			goto bad;
	*region = (struct fb_region){ (uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2], (uint32_t)v[3] };
	return true;
bad:
	g_set_error(error, FB_ERROR, EINVAL,
		    "region '%s' is not X,Y,W,H (four numbers up to %u, W and H at least 1)", text,
		    FB_FILE_MAX_DIM);
	return false;
}

static bool pixel_differs(const uint8_t *a, const uint8_t *b, unsigned int tolerance)
{
	for (int c = 0; c < 3; c++)
		if ((unsigned int)abs(a[c] - b[c]) > tolerance)
			return true;
	return false;
}

bool fb_match_count(const struct fb_image *screen, const struct fb_image *reference,
		    const struct fb_region *region, unsigned int tolerance, uint64_t *mismatches,
		    GError **error)
{
	struct fb_region r = region ? *region : (struct fb_region){ 0, 0, screen->width, screen->height };
	if (!screen->pixels || (uint64_t)r.x + r.width > screen->width ||
	    (uint64_t)r.y + r.height > screen->height) {
		g_set_error(error, FB_ERROR, EINVAL,
			    "the region %ux%u at %u,%u is not within the %ux%u screen", r.width, r.height,
			    r.x, r.y, screen->width, screen->height);
		return false;
	}
	uint32_t rx, ry; /* where the region starts in the reference */
	if (reference->width == screen->width && reference->height == screen->height) {
		rx = r.x, ry = r.y;
	} else if (reference->width == r.width && reference->height == r.height) {
		rx = ry = 0;
	} else {
		g_set_error(error, FB_ERROR, EINVAL,
			    "the reference is %ux%u: neither the screen's size (%ux%u) nor the region's "
			    "(%ux%u)",
			    reference->width, reference->height, screen->width, screen->height, r.width,
			    r.height);
		return false;
	}
	uint64_t n = 0;
	for (uint32_t y = 0; y < r.height; y++) {
		const uint8_t *s = screen->pixels + ((size_t)(r.y + y) * screen->width + r.x) * 4;
		const uint8_t *f = reference->pixels + ((size_t)(ry + y) * reference->width + rx) * 4;
		for (uint32_t x = 0; x < r.width; x++, s += 4, f += 4)
			n += pixel_differs(s, f, tolerance);
	}
	*mismatches = n;
	return true;
}
