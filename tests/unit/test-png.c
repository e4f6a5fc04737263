/* sepia's PNG encoder (display/png.c), checked by decoding its output with libpng, an
 * independent decoder: pixels must come back exactly, for every filter and several zlib
 * levels, odd sizes, 1x1 and a large picture. Also the chunk structure and CRCs walked by
 * hand, the atomic file write, and the whole path a screenshot takes: a framebuffer file
 * written as sepia-vmm writes it, fb_file_snapshot, PNG, decode, compare.
 * `-m perf` adds a table of encode times and sizes per filter and level (the measurements
 * behind pngenc_default_options). */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "display/framebuffer.h"
#include "display/png.h"

#ifdef SEPIA_HAVE_LIBPNG
#include <png.h>

/* A test picture: XRGB pixels (B, G, R, X), X random so the encoder must ignore it. */
struct picture {
	uint32_t width, height;
	size_t stride;
	uint8_t *px;
};

static struct picture picture_new(uint32_t w, uint32_t h, size_t extra_stride)
{
	struct picture p = { w, h, (size_t)w * 4 + extra_stride, NULL };
	p.px = g_malloc0(p.stride * h + 1);
	return p;
}

static void fill_noise(struct picture *p, guint32 seed)
{
	g_autoptr(GRand) r = g_rand_new_with_seed(seed);
	for (size_t i = 0; i < p->stride * p->height; i++)
		p->px[i] = (uint8_t)g_rand_int(r);
}

/* Something like a phone screen: a gradient status bar, flat cards, lines of "text". */
static void fill_ui(struct picture *p, guint32 seed)
{
	g_autoptr(GRand) r = g_rand_new_with_seed(seed);
	for (uint32_t y = 0; y < p->height; y++) {
		for (uint32_t x = 0; x < p->width; x++) {
			uint8_t *q = p->px + (size_t)y * p->stride + (size_t)x * 4;
			uint8_t b = 0xfa, g = 0xf5, rr = 0xf0;
			if (y < p->height / 20) {
				b = (uint8_t)(40 + x * 100 / p->width);
				g = (uint8_t)(90 + y);
				rr = 30;
			} else if ((y / 160) % 2 && x > 24 && x + 24 < p->width) {
				b = 0xff, g = 0xe8, rr = 0xd8;
				if (y % 160 > 40 && y % 160 < 120 && y % 20 < 12 && x % 9 < 6 &&
				    g_rand_int_range(r, 0, 3))
					b = g = rr = (uint8_t)g_rand_int_range(r, 0, 90);
			}
			q[0] = b, q[1] = g, q[2] = rr, q[3] = (uint8_t)g_rand_int(r);
		}
	}
}

/* libpng's simplified API: the PNG as 8-bit R, G, B rows. */
static uint8_t *decode(GBytes *png, uint32_t *w, uint32_t *h)
{
	png_image img = { .version = PNG_IMAGE_VERSION };
	size_t len;
	const void *data = g_bytes_get_data(png, &len);
	if (!png_image_begin_read_from_memory(&img, data, len)) {
		g_test_message("libpng: %s", img.message);
		return NULL;
	}
	img.format = PNG_FORMAT_RGB;
	uint8_t *rgb = g_malloc(PNG_IMAGE_SIZE(img));
	if (!png_image_finish_read(&img, NULL, rgb, 0, NULL)) {
		g_test_message("libpng: %s", img.message);
		g_free(rgb);
		return NULL;
	}
	*w = img.width;
	*h = img.height;
	return rgb;
}

static void assert_same_pixels(const struct picture *p, const uint8_t *rgb, uint32_t w, uint32_t h)
{
	g_assert_cmpuint(w, ==, p->width);
	g_assert_cmpuint(h, ==, p->height);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *s = p->px + (size_t)y * p->stride + (size_t)x * 4;
			const uint8_t *d = rgb + ((size_t)y * w + x) * 3;
			if (d[0] != s[2] || d[1] != s[1] || d[2] != s[0])
				g_error("pixel %u,%u of %ux%u: decoded %02x%02x%02x, want %02x%02x%02x", x, y,
					w, h, d[0], d[1], d[2], s[2], s[1], s[0]);
		}
}

static void roundtrip(const struct picture *p, enum pngenc_filter filter, int level)
{
	struct pngenc_options opt = { .filter = filter, .level = level };
	g_autoptr(GError) err = NULL;
	g_autoptr(GBytes) png = pngenc_xrgb(p->px, p->width, p->height, p->stride, &opt, &err);
	g_assert_no_error(err);
	uint32_t w = 0, h = 0;
	g_autofree uint8_t *rgb = decode(png, &w, &h);
	g_assert_nonnull(rgb);
	assert_same_pixels(p, rgb, w, h);
}

static void test_one_pixel(void)
{
	struct picture p = picture_new(1, 1, 0);
	for (int v = 0; v < 4; v++) {
		p.px[0] = (uint8_t)(0x11 * v), p.px[1] = 0x80, p.px[2] = (uint8_t)(0xff - v), p.px[3] = 0x5a;
		for (int f = PNGENC_FILTER_NONE; f <= PNGENC_FILTER_ADAPTIVE; f++)
			roundtrip(&p, (enum pngenc_filter)f, 6);
	}
	g_free(p.px);
}

/* Odd widths exercise the 3-byte "left" neighbour at row starts; a stride wider than the
 * row checks that padding is skipped. */
static void test_odd_sizes(void)
{
	static const uint32_t sizes[][2] = {
		{ 2, 1 }, { 1, 7 }, { 3, 5 }, { 17, 1 }, { 127, 63 }, { 33, 97 }
	};
	for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
		for (int kind = 0; kind < 2; kind++) {
			struct picture p = picture_new(sizes[i][0], sizes[i][1], kind ? 12 : 0);
			if (kind)
				fill_ui(&p, i);
			else
				fill_noise(&p, i);
			for (int f = PNGENC_FILTER_NONE; f <= PNGENC_FILTER_ADAPTIVE; f++)
				for (int level = 0; level <= 9; level += 3)
					roundtrip(&p, (enum pngenc_filter)f, level);
			g_free(p.px);
		}
	}
}

static void test_large(void)
{
	struct picture p = picture_new(2560, 1600, 0);
	fill_ui(&p, 7);
	/* Some noise in the middle: a photo on the screen. */
	g_autoptr(GRand) r = g_rand_new_with_seed(3);
	for (uint32_t y = 600; y < 1000; y++)
		for (uint32_t x = 1000; x < 1600; x++)
			memset(p.px + (size_t)y * p.stride + (size_t)x * 4, (int)g_rand_int_range(r, 0, 256),
			       3);
	roundtrip(&p, PNGENC_FILTER_ADAPTIVE, 6);
	roundtrip(&p, pngenc_default_options.filter, pngenc_default_options.level);
	g_free(p.px);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The file walked chunk by chunk without libpng: signature, IHDR (13 bytes: size, 8-bit,
 * colour type 2, no interlace) first, IDATs, IEND (empty) last, and each chunk's CRC over
 * its type and data; the IDAT data inflates to height rows of 1 + width * 3 bytes. */
static void test_chunks(void)
{
	struct picture p = picture_new(45, 31, 0);
	fill_ui(&p, 5);
	g_autoptr(GError) err = NULL;
	g_autoptr(GBytes) png = pngenc_xrgb(p.px, p.width, p.height, p.stride, NULL, &err);
	g_assert_no_error(err);
	size_t len;
	const uint8_t *d = g_bytes_get_data(png, &len);
	g_assert_cmpuint(len, >, 8 + 25 + 12 + 12);
	g_assert_cmpmem(d, 8, "\x89PNG\r\n\x1a\n", 8);
	size_t off = 8;
	GString *types = g_string_new(NULL);
	GByteArray *idat = g_byte_array_new();
	while (off < len) {
		g_assert_cmpuint(off + 12, <=, len);
		uint32_t n = be32(d + off);
		g_assert_cmpuint(off + 12 + n, <=, len);
		const uint8_t *type = d + off + 4, *data = type + 4;
		uint32_t want_crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), type, n + 4);
		g_assert_cmphex(be32(data + n), ==, want_crc);
		g_string_append_len(types, (const char *)type, 4);
		g_string_append_c(types, ' ');
		if (!memcmp(type, "IHDR", 4)) {
			g_assert_cmpuint(n, ==, 13);
			g_assert_cmpuint(be32(data), ==, 45);
			g_assert_cmpuint(be32(data + 4), ==, 31);
			g_assert_cmpmem(data + 8, 5, "\x08\x02\x00\x00\x00", 5);
		} else if (!memcmp(type, "IDAT", 4)) {
			g_byte_array_append(idat, data, n);
		} else if (!memcmp(type, "IEND", 4)) {
			g_assert_cmpuint(n, ==, 0);
		}
		off += 12 + n;
	}
	g_assert_cmpuint(off, ==, len);
	g_assert_true(g_str_has_prefix(types->str, "IHDR IDAT"));
	g_assert_true(g_str_has_suffix(types->str, "IDAT IEND "));
	uLongf raw_len = (uLongf)31 * (1 + 45 * 3);
	g_autofree uint8_t *raw = g_malloc(raw_len + 1);
	uLongf got = raw_len + 1;
	g_assert_cmpint(uncompress(raw, &got, idat->data, idat->len), ==, Z_OK);
	g_assert_cmpuint(got, ==, raw_len);
	for (uint32_t y = 0; y < 31; y++)
		g_assert_cmpuint(raw[y * (1 + 45 * 3)], ==, pngenc_default_options.filter);
	g_string_free(types, TRUE);
	g_byte_array_unref(idat);
	g_free(p.px);
}

static void test_errors(void)
{
	uint8_t px[4] = { 0 };
	g_autoptr(GError) err = NULL;
	g_assert_null(pngenc_xrgb(px, 0, 0, 0, NULL, &err));
	g_assert_error(err, PNGENC_ERROR, EINVAL);
	g_assert_nonnull(strstr(err->message, "0x0"));
	g_clear_error(&err);
	struct pngenc_options bad = { .filter = PNGENC_FILTER_UP, .level = 12 };
	g_assert_null(pngenc_xrgb(px, 1, 1, 4, &bad, &err));
	g_assert_error(err, PNGENC_ERROR, EINVAL);
	g_clear_error(&err);
	g_assert_null(pngenc_xrgb(px, 2, 1, 4, NULL, &err)); /* stride shorter than a row */
	g_assert_error(err, PNGENC_ERROR, EINVAL);
}

static void test_write_file(void)
{
	g_autofree char *dir = g_dir_make_tmp("sepia-png-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "shot.png", NULL);
	g_autoptr(GBytes) one = g_bytes_new_static("first", 5), two = g_bytes_new_static("second", 6);
	g_autoptr(GError) err = NULL;
	mode_t old = umask(022);
	g_assert_true(pngenc_write_file(path, one, &err));
	g_assert_true(pngenc_write_file(path, two, &err)); /* replaces */
	umask(old);
	g_assert_no_error(err);
	g_autofree char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "second");
	struct stat st;
	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 0777, ==, 0644);
	/* Nothing but the file itself is left in the directory. */
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_assert_cmpstr(g_dir_read_name(d), ==, "shot.png");
	g_assert_null(g_dir_read_name(d));
	/* An output whose directory does not exist: the error names the output file. */
	g_autofree char *bad = g_build_filename(dir, "missing", "shot.png", NULL);
	g_assert_false(pngenc_write_file(bad, one, &err));
	g_assert_error(err, PNGENC_ERROR, ENOENT);
	g_assert_nonnull(strstr(err->message, bad));
	g_unlink(path);
	g_rmdir(dir);
}

/* What a screenshot does, from a framebuffer file as sepia-vmm writes it. */
static void test_framebuffer_to_png(void)
{
	g_autofree char *dir = g_dir_make_tmp("sepia-png-XXXXXX", NULL);
	g_autofree char *fbpath = g_build_filename(dir, "display0.fb", NULL);
	g_autofree char *pngpath = g_build_filename(dir, "shot.png", NULL);
	g_autoptr(GError) err = NULL;
	struct fb_file *fb = fb_file_create(fbpath, 320, 240, 160, &err);
	g_assert_no_error(err);

	/* A new file: disabled, black, at its full size. */
	struct fb_image img;
	g_assert_true(fb_file_snapshot(fbpath, &img, &err));
	g_assert_false(img.enabled);
	g_assert_cmpuint(img.width, ==, 320);
	g_assert_cmpuint(img.frames, ==, 0);
	g_assert_true(pngenc_save_image(pngpath, &img, &err));
	g_autofree char *data = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(pngpath, &data, &len, NULL));
	g_autoptr(GBytes) black = g_bytes_new(data, len);
	uint32_t w, h;
	g_autofree uint8_t *rgb = decode(black, &w, &h);
	g_assert_nonnull(rgb);
	g_assert_cmpuint(w * h, ==, 320 * 240);
	for (size_t i = 0; i < (size_t)w * h * 3; i++)
		g_assert_cmpuint(rgb[i], ==, 0);
	fb_image_clear(&img);

	/* A frame smaller than the file's maximum: rows are width * 4 bytes. */
	struct picture want = picture_new(301, 199, 0);
	fill_ui(&want, 11);
	uint8_t *px = fb_file_begin(fb, 301, 199, true);
	memcpy(px, want.px, want.stride * want.height);
	fb_file_end(fb);
	g_assert_true(fb_file_snapshot(fbpath, &img, &err));
	g_assert_no_error(err);
	g_assert_true(img.enabled);
	g_assert_cmpuint(img.frames, ==, 1);
	g_assert_cmpuint(img.dpi, ==, 160);
	g_assert_true(pngenc_save_image(pngpath, &img, &err));
	g_free(data);
	g_assert_true(g_file_get_contents(pngpath, &data, &len, NULL));
	g_autoptr(GBytes) shot = g_bytes_new(data, len);
	g_free(rgb);
	rgb = decode(shot, &w, &h);
	g_assert_nonnull(rgb);
	assert_same_pixels(&want, rgb, w, h);
	fb_image_clear(&img);
	fb_file_close(fb);
	g_free(want.px);
	g_unlink(fbpath);
	g_unlink(pngpath);
	g_rmdir(dir);
}

static double encode_ms(const struct picture *p, const struct pngenc_options *opt, size_t *size)
{
	double best = 1e9;
	for (int i = 0; i < 3; i++) {
		gint64 t = g_get_monotonic_time();
		g_autoptr(GBytes) png = pngenc_xrgb(p->px, p->width, p->height, p->stride, opt, NULL);
		best = MIN(best, (g_get_monotonic_time() - t) / 1000.0);
		*size = g_bytes_get_size(png);
	}
	return best;
}

/* The time of the default encoding at a phone's 720x1280, reported (not asserted); with
 * -m perf, every filter at levels 1 and 6 on a UI-like picture and on noise. */
static void test_speed(void)
{
	struct picture ui = picture_new(720, 1280, 0), noise = picture_new(720, 1280, 0);
	fill_ui(&ui, 1);
	fill_noise(&noise, 1);
	size_t size;
	double ms = encode_ms(&ui, &pngenc_default_options, &size);
	g_test_message("720x1280 UI-like picture, default encoding: %.1f ms, %zu bytes", ms, size);
	static const char *const names[] = { "none", "sub", "up", "average", "paeth", "adaptive" };
	for (int level = 1; level <= 6 && g_test_perf(); level += 5)
		for (int f = PNGENC_FILTER_NONE; f <= PNGENC_FILTER_ADAPTIVE; f++) {
			struct pngenc_options opt = { .filter = (enum pngenc_filter)f, .level = level };
			size_t ui_size, noise_size;
			double ui_ms = encode_ms(&ui, &opt, &ui_size),
			       noise_ms = encode_ms(&noise, &opt, &noise_size);
			g_test_message("level %d %-8s UI %7.1f ms %8zu bytes | noise %7.1f ms %8zu bytes",
				       level, names[f], ui_ms, ui_size, noise_ms, noise_size);
		}
	g_free(ui.px);
	g_free(noise.px);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/png/one-pixel", test_one_pixel);
	g_test_add_func("/png/odd-sizes", test_odd_sizes);
	g_test_add_func("/png/large", test_large);
	g_test_add_func("/png/chunks", test_chunks);
	g_test_add_func("/png/errors", test_errors);
	g_test_add_func("/png/write-file", test_write_file);
	g_test_add_func("/png/framebuffer-to-png", test_framebuffer_to_png);
	g_test_add_func("/png/speed", test_speed);
	return g_test_run();
}

#else

int main(void)
{
	printf("1..0 # SKIP libpng was not found at configure time (install libpng-dev or libpng-devel)\n");
	return 77;
}

#endif
