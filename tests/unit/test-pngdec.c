/* The PNG decoder behind cvd_display wait (display/pngdec.c): sepia's own encoder's output
 * comes back pixel for pixel with every row filter; hand-made greyscale, grey+alpha, RGBA and
 * palette pictures decode to the colours they hold; every truncation and a flipped byte in
 * any chunk are refused with an error, never a crash or a wrong picture. */
#include <glib.h>
#include <string.h>
#include <zlib.h>

#include "display/png.h"
#include "display/pngdec.h"

static uint8_t *xrgb_picture(uint32_t w, uint32_t h)
{
	uint8_t *px = g_malloc((size_t)w * h * 4);
	for (uint32_t i = 0; i < w * h; i++) {
		px[4 * i] = (uint8_t)(i * 7), px[4 * i + 1] = (uint8_t)(i * 13 + 5);
		px[4 * i + 2] = (uint8_t)(i / 3), px[4 * i + 3] = 0xff;
	}
	return px;
}

static void test_roundtrip(void)
{
	const uint32_t w = 37, h = 23;
	g_autofree uint8_t *px = xrgb_picture(w, h);
	for (int f = PNGENC_FILTER_NONE; f <= PNGENC_FILTER_ADAPTIVE; f++) {
		struct pngenc_options o = { .filter = f, .level = 6 };
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) png = pngenc_xrgb(px, w, h, w * 4, &o, &error);
		g_assert_no_error(error);
		struct fb_image img;
		gsize len;
		const uint8_t *data = g_bytes_get_data(png, &len);
		g_assert_true(pngdec_decode(data, len, &img, &error));
		g_assert_cmpuint(img.width, ==, w);
		g_assert_cmpuint(img.height, ==, h);
		g_assert_cmpmem(img.pixels, w * h * 4, px, w * h * 4);
		fb_image_clear(&img);
	}
}

static void png_chunk(GByteArray *b, const char *type, const uint8_t *body, uint32_t len)
{
	uint8_t be[4] = { len >> 24, len >> 16, len >> 8, len };
	g_byte_array_append(b, be, 4);
	guint start = b->len;
	g_byte_array_append(b, (const uint8_t *)type, 4);
	if (len)
		g_byte_array_append(b, body, len);
	uint32_t crc = (uint32_t)crc32(0, b->data + start, len + 4);
	uint8_t c[4] = { crc >> 24, crc >> 16, crc >> 8, crc };
	g_byte_array_append(b, c, 4);
}

/* A PNG of one IDAT built here: colour type ct, channels bytes a pixel, raw unfiltered rows. */
static GByteArray *make_png(uint32_t w, uint32_t h, uint8_t ct, const uint8_t *pixels, unsigned int channels,
			    const uint8_t *plte, unsigned int plte_len)
{
	GByteArray *b = g_byte_array_new();
	g_byte_array_append(b, (const uint8_t *)"\x89PNG\r\n\x1a\n", 8);
	uint8_t ihdr[13] = { 0, 0, 0, (uint8_t)w, 0, 0, 0, (uint8_t)h, 8, ct, 0, 0, 0 };
	png_chunk(b, "IHDR", ihdr, 13);
	if (plte)
		png_chunk(b, "PLTE", plte, plte_len);
	size_t rawlen = (1 + (size_t)w * channels) * h;
	g_autofree uint8_t *raw = g_malloc0(rawlen);
	for (uint32_t y = 0; y < h; y++)
		memcpy(raw + y * (1 + w * channels) + 1, pixels + y * w * channels, w * channels);
	uLongf zlen = compressBound(rawlen);
	g_autofree uint8_t *z = g_malloc(zlen);
	g_assert_cmpint(compress(z, &zlen, raw, rawlen), ==, Z_OK);
	png_chunk(b, "IDAT", z, (uint32_t)zlen);
	png_chunk(b, "IEND", NULL, 0);
	return b;
}

static void assert_pixel(const struct fb_image *img, uint32_t x, uint32_t y, uint32_t rgb)
{
	const uint8_t *p = img->pixels + ((size_t)y * img->width + x) * 4;
	g_assert_cmphex((uint32_t)p[2] << 16 | p[1] << 8 | p[0], ==, rgb);
}

static void test_colour_types(void)
{
	g_autoptr(GError) error = NULL;
	struct fb_image img;
	const uint8_t grey[] = { 0, 128, 255, 7 };
	g_autoptr(GByteArray) g = make_png(2, 2, 0, grey, 1, NULL, 0);
	g_assert_true(pngdec_decode(g->data, g->len, &img, &error));
	assert_pixel(&img, 1, 0, 0x808080);
	assert_pixel(&img, 0, 1, 0xffffff);
	fb_image_clear(&img);

	const uint8_t ga[] = { 10, 0, 20, 255 };
	g_autoptr(GByteArray) a = make_png(2, 1, 4, ga, 2, NULL, 0);
	g_assert_true(pngdec_decode(a->data, a->len, &img, &error));
	assert_pixel(&img, 1, 0, 0x141414);
	fb_image_clear(&img);

	const uint8_t rgba[] = { 1, 2, 3, 0, 250, 251, 252, 255 };
	g_autoptr(GByteArray) c = make_png(2, 1, 6, rgba, 4, NULL, 0);
	g_assert_true(pngdec_decode(c->data, c->len, &img, &error));
	assert_pixel(&img, 0, 0, 0x010203);
	assert_pixel(&img, 1, 0, 0xfafbfc);
	fb_image_clear(&img);

	const uint8_t plte[] = { 255, 0, 0, 0, 0, 255 }, idx[] = { 1, 0, 0 };
	g_autoptr(GByteArray) p = make_png(3, 1, 3, idx, 1, plte, sizeof(plte));
	g_assert_true(pngdec_decode(p->data, p->len, &img, &error));
	assert_pixel(&img, 0, 0, 0x0000ff);
	assert_pixel(&img, 1, 0, 0xff0000);
	fb_image_clear(&img);

	/* An index beyond the palette is an error, not a read past it. */
	const uint8_t beyond[] = { 2 };
	g_autoptr(GByteArray) q = make_png(1, 1, 3, beyond, 1, plte, sizeof(plte));
	g_assert_false(pngdec_decode(q->data, q->len, &img, &error));
	g_clear_error(&error);
	/* A palette picture without a palette. */
	g_autoptr(GByteArray) n = make_png(1, 1, 3, idx, 1, NULL, 0);
	g_assert_false(pngdec_decode(n->data, n->len, &img, &error));
}

static void test_hostile(void)
{
	const uint32_t w = 9, h = 5;
	g_autofree uint8_t *px = xrgb_picture(w, h);
	g_autoptr(GBytes) png = pngenc_xrgb(px, w, h, w * 4, NULL, NULL);
	gsize len;
	const uint8_t *data = g_bytes_get_data(png, &len);
	struct fb_image img;
	for (gsize cut = 0; cut < len; cut++) {
		g_autoptr(GError) error = NULL;
		g_assert_false(pngdec_decode(data, cut, &img, &error));
		g_assert_nonnull(error);
		g_assert_null(img.pixels);
	}
	g_autofree uint8_t *copy = g_memdup2(data, len);
	for (gsize i = 8; i < len; i++) {
		g_autoptr(GError) error = NULL;
		copy[i] ^= 0x40;
		g_assert_false(pngdec_decode(copy, len, &img, &error));
		copy[i] ^= 0x40;
	}
	/* A size beyond any display, with its CRC right. */
	uint8_t big[] = { 1, 2, 3 };
	g_autoptr(GByteArray) b = make_png(1, 1, 2, big, 3, NULL, 0);
	b->data[8 + 8] = 0x01; /* width 0x01000001 */
	uint32_t crc = (uint32_t)crc32(0, b->data + 12, 17);
	uint8_t c[4] = { crc >> 24, crc >> 16, crc >> 8, crc };
	memcpy(b->data + 29, c, 4);
	g_autoptr(GError) error = NULL;
	g_assert_false(pngdec_decode(b->data, b->len, &img, &error));
	g_assert_nonnull(strstr(error->message, "8192"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/pngdec/roundtrip", test_roundtrip);
	g_test_add_func("/pngdec/colour-types", test_colour_types);
	g_test_add_func("/pngdec/hostile", test_hostile);
	return g_test_run();
}
