/* launcher/webview_frames.c — the changed rectangle of a frame, and the message that carries
 * it to a page (see webview.h). */
#include "launcher/webview.h"

#include <string.h>

#include "display/png.h"

/* Whether pixel i of two rows differs in B, G or R. */
static bool pixel_differs(const guint8 *a, const guint8 *b, guint32 i)
{
	return memcmp(a + 4 * (gsize)i, b + 4 * (gsize)i, 3) != 0;
}

bool webview_dirty_rect(const guint8 *before, const guint8 *after, guint32 w, guint32 h, guint32 *x,
			guint32 *y, guint32 *rw, guint32 *rh)
{
	gsize stride = (gsize)w * 4;
	bool any = false;
	guint32 top = 0, bottom = 0, left = 0, right = 0;
	for (guint32 row = 0; row < h; row++) {
		const guint8 *a = before + row * stride, *b = after + row * stride;
		if (!memcmp(a, b, stride))
			continue;
		guint32 l = 0;
		while (l < w && !pixel_differs(a, b, l))
			l++;
		if (l == w)
			continue; /* only X bytes differ */
		guint32 r = w - 1;
		while (r > l && !pixel_differs(a, b, r))
			r--;
		if (!any) {
			top = row;
			left = l;
			right = r;
			any = true;
		}
		bottom = row;
		left = MIN(left, l);
		right = MAX(right, r);
	}
	if (!any)
		return false;
	*x = left;
	*y = top;
	*rw = right - left + 1;
	*rh = bottom - top + 1;
	return true;
}

static void put16(guint8 *p, guint32 v)
{
	p[0] = (guint8)v;
	p[1] = (guint8)(v >> 8);
}

GBytes *webview_rect_message(guint k, const guint8 *pixels, guint32 w, guint32 h, guint32 x, guint32 y,
			     guint32 rw, guint32 rh, GError **error)
{
	g_autoptr(GBytes)
		png = pngenc_xrgb(pixels + ((gsize)y * w + x) * 4, rw, rh, (gsize)w * 4, NULL, error);
	if (!png)
		return NULL;
	gsize len;
	const guint8 *data = g_bytes_get_data(png, &len);
	guint8 *msg = g_malloc(WEBVIEW_RECT_HEADER + len);
	msg[0] = 1;
	msg[1] = (guint8)k;
	put16(msg + 2, 0);
	put16(msg + 4, x);
	put16(msg + 6, y);
	put16(msg + 8, rw);
	put16(msg + 10, rh);
	put16(msg + 12, w);
	put16(msg + 14, h);
	memcpy(msg + WEBVIEW_RECT_HEADER, data, len);
	return g_bytes_new_take(msg, WEBVIEW_RECT_HEADER + len);
}
