/* display/match.c, behind cvd_display wait --match: the mismatch count within a region against a
 * reference of the screen's or the region's size, the per-channel tolerance, and every region or
 * reference that does not fit refused with an error naming the sizes (never a read outside). */
#include <glib.h>
#include <string.h>

#include "display/match.h"

static struct fb_image solid(uint32_t w, uint32_t h, uint32_t rgb)
{
	struct fb_image img = { .width = w, .height = h, .enabled = true };
	img.pixels = g_malloc((size_t)w * h * 4);
	for (uint32_t i = 0; i < w * h; i++) {
		img.pixels[4 * i] = rgb & 0xff, img.pixels[4 * i + 1] = (rgb >> 8) & 0xff;
		img.pixels[4 * i + 2] = (rgb >> 16) & 0xff, img.pixels[4 * i + 3] = 0xff;
	}
	return img;
}

static void paint(struct fb_image *img, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h, uint32_t rgb)
{
	for (uint32_t y = y0; y < y0 + h; y++)
		for (uint32_t x = x0; x < x0 + w; x++) {
			uint8_t *p = img->pixels + ((size_t)y * img->width + x) * 4;
			p[0] = rgb & 0xff, p[1] = (rgb >> 8) & 0xff, p[2] = (rgb >> 16) & 0xff;
		}
}

static uint64_t count(const struct fb_image *s, const struct fb_image *r, const struct fb_region *reg,
		      unsigned int tol)
{
	g_autoptr(GError) error = NULL;
	uint64_t n = 12345;
	g_assert_true(fb_match_count(s, r, reg, tol, &n, &error));
	g_assert_no_error(error);
	return n;
}

static void test_whole_and_region(void)
{
	struct fb_image screen = solid(40, 30, 0x000000), ref = solid(40, 30, 0x000000);
	g_assert_cmpuint(count(&screen, &ref, NULL, 0), ==, 0);
	paint(&screen, 10, 5, 4, 3, 0xffffff); /* a 4x3 mark */
	g_assert_cmpuint(count(&screen, &ref, NULL, 0), ==, 12);
	struct fb_region around = { 8, 4, 8, 6 }, away = { 20, 20, 5, 5 };
	g_assert_cmpuint(count(&screen, &ref, &around, 0), ==, 12);
	g_assert_cmpuint(count(&screen, &ref, &away, 0), ==, 0);
	/* A region-sized reference placed at the region's corner: the mark itself. */
	struct fb_image mark = solid(4, 3, 0xffffff);
	struct fb_region at = { 10, 5, 4, 3 }, off = { 11, 5, 4, 3 };
	g_assert_cmpuint(count(&screen, &mark, &at, 0), ==, 0);
	g_assert_cmpuint(count(&screen, &mark, &off, 0), ==, 3); /* one column past the mark */
	fb_image_clear(&screen);
	fb_image_clear(&ref);
	fb_image_clear(&mark);
}

static void test_tolerance(void)
{
	struct fb_image screen = solid(8, 8, 0x102030), ref = solid(8, 8, 0x102030);
	paint(&screen, 0, 0, 2, 1, 0x102035); /* blue off by 5 */
	paint(&screen, 0, 1, 1, 1, 0x0a2030); /* red off by 6 */
	g_assert_cmpuint(count(&screen, &ref, NULL, 0), ==, 3);
	g_assert_cmpuint(count(&screen, &ref, NULL, 5), ==, 1);
	g_assert_cmpuint(count(&screen, &ref, NULL, 6), ==, 0);
	/* The fourth byte (X) never counts. */
	screen.pixels[4 * 63 + 3] = 0;
	g_assert_cmpuint(count(&screen, &ref, NULL, 6), ==, 0);
	fb_image_clear(&screen);
	fb_image_clear(&ref);
}

static void test_refused(void)
{
	struct fb_image screen = solid(20, 10, 0), ref = solid(20, 10, 0), odd = solid(7, 7, 0);
	struct fb_image empty = { 0 };
	uint64_t n = 0;
	const struct fb_region outside[] = {
		{ 15, 0, 6, 1 },          { 0, 9, 1, 2 },           { 20, 0, 1, 1 },
		{ 0xffffffffu, 0, 2, 1 }, { 0, 0, 0xffffffffu, 1 },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(outside); i++) {
		g_autoptr(GError) error = NULL;
		g_assert_false(fb_match_count(&screen, &ref, &outside[i], 0, &n, &error));
		g_assert_nonnull(strstr(error->message, "20x10 screen"));
	}
	g_autoptr(GError) e1 = NULL;
	struct fb_region r = { 0, 0, 5, 5 };
	g_assert_false(fb_match_count(&screen, &odd, &r, 0, &n, &e1));
	g_assert_nonnull(strstr(e1->message, "7x7"));
	g_autoptr(GError) e2 = NULL;
	g_assert_false(fb_match_count(&empty, &ref, NULL, 0, &n, &e2)); /* a display showing nothing */
	fb_image_clear(&screen);
	fb_image_clear(&ref);
	fb_image_clear(&odd);
}

static void test_region_parse(void)
{
	struct fb_region r;
	g_autoptr(GError) error = NULL;
	g_assert_true(fb_region_parse("1,2,3,4", &r, &error));
	g_assert_cmpuint(r.x, ==, 1);
	g_assert_cmpuint(r.height, ==, 4);
	const char *bad[] = { "",         "1,2,3",   "1,2,3,4,5",   "1,2,0,4",
			      "-1,2,3,4", "a,b,c,d", "1,2,3,99999", "1,,3,4" };
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) e = NULL;
		g_assert_false(fb_region_parse(bad[i], &r, &e));
		g_assert_nonnull(strstr(e->message, "X,Y,W,H"));
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fbmatch/whole-and-region", test_whole_and_region);
	g_test_add_func("/fbmatch/tolerance", test_tolerance);
	g_test_add_func("/fbmatch/refused", test_refused);
	g_test_add_func("/fbmatch/region-parse", test_region_parse);
	return g_test_run();
}
