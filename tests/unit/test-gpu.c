/* virtio-gpu's pure parts: pixel format conversion to the framebuffer's XRGB8888, rectangle
 * bounds (overflow included) and the EDID a scanout reports. The command paths run against
 * the real device in tests/guest/gpu.c. */
#include <glib.h>
#include <string.h>

#include "devices/virtio/gpu_internal.h"

/* One pixel of colour R=0x11 G=0x22 B=0x33 (alpha/X 0x44) in each format's memory order. */
static void test_convert_formats(void)
{
	static const struct {
		uint32_t format;
		uint8_t bytes[4];
	} cases[] = {
		{ VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM, { 0x33, 0x22, 0x11, 0x44 } },
		{ VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, { 0x33, 0x22, 0x11, 0x44 } },
		{ VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM, { 0x44, 0x11, 0x22, 0x33 } },
		{ VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM, { 0x44, 0x11, 0x22, 0x33 } },
		{ VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM, { 0x11, 0x22, 0x33, 0x44 } },
		{ VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM, { 0x44, 0x33, 0x22, 0x11 } },
		{ VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM, { 0x44, 0x33, 0x22, 0x11 } },
		{ VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM, { 0x11, 0x22, 0x33, 0x44 } },
	};
	for (unsigned int i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_assert_true(gpu_format_supported(cases[i].format));
		/* A 3x2 picture with a padded source stride, into a wider destination. */
		uint8_t src[2][16], dst[2][20];
		memset(src, 0, sizeof(src));
		memset(dst, 0xaa, sizeof(dst));
		for (int y = 0; y < 2; y++)
			for (int x = 0; x < 3; x++)
				memcpy(&src[y][x * 4], cases[i].bytes, 4);
		gpu_convert_to_xrgb(cases[i].format, &src[0][0], 16, &dst[0][0], 20, 3, 2);
		for (int y = 0; y < 2; y++) {
			for (int x = 0; x < 3; x++) {
				g_assert_cmphex(dst[y][x * 4 + 0], ==, 0x33); /* B */
				g_assert_cmphex(dst[y][x * 4 + 1], ==, 0x22); /* G */
				g_assert_cmphex(dst[y][x * 4 + 2], ==, 0x11); /* R */
			}
			g_assert_cmphex(dst[y][12], ==, 0xaa); /* nothing past the width */
		}
	}
	g_assert_false(gpu_format_supported(0));
	g_assert_false(gpu_format_supported(99));
}

static void test_rect_inside(void)
{
	struct virtio_gpu_rect r = { 0, 0, 64, 48 };
	g_assert_true(gpu_rect_inside(&r, 64, 48));
	r = (struct virtio_gpu_rect){ 60, 0, 4, 1 };
	g_assert_true(gpu_rect_inside(&r, 64, 48));
	r = (struct virtio_gpu_rect){ 60, 0, 5, 1 };
	g_assert_false(gpu_rect_inside(&r, 64, 48));
	r = (struct virtio_gpu_rect){ 0xfffffff0u, 0, 0x20, 1 }; /* x + width wraps */
	g_assert_false(gpu_rect_inside(&r, 64, 48));
	r = (struct virtio_gpu_rect){ 0, 1, 1, 0xffffffffu };
	g_assert_false(gpu_rect_inside(&r, 64, 48));
	r = (struct virtio_gpu_rect){ 64, 48, 0, 0 }; /* empty, at the corner */
	g_assert_true(gpu_rect_inside(&r, 64, 48));
}

static void test_edid(void)
{
	uint8_t e[128];
	gpu_edid_build(e, 720, 1280, 320, 0);
	static const uint8_t header[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	g_assert_cmpmem(e, 8, header, 8);
	uint8_t sum = 0;
	for (int i = 0; i < 128; i++)
		sum = (uint8_t)(sum + e[i]);
	g_assert_cmpuint(sum, ==, 0);
	g_assert_cmpuint(e[18], ==, 1); /* EDID 1.4 */
	g_assert_cmpuint(e[19], ==, 4);
	/* The preferred timing: 720 x 1280 active pixels. */
	g_assert_cmpuint(e[56] | ((e[58] >> 4) << 8), ==, 720);
	g_assert_cmpuint(e[59] | ((e[61] >> 4) << 8), ==, 1280);
	/* 720 px at 320 dpi = 57 mm, 1280 px = 101 mm. */
	g_assert_cmpuint(e[66] | ((e[68] >> 4) << 8), ==, 57);
	g_assert_cmpuint(e[67] | ((e[68] & 0xf) << 8), ==, 101);
	g_assert_cmpuint(e[21], ==, 6); /* cm */
	g_assert_cmpuint(e[22], ==, 10);
	/* The pixel clock: (720 + 160) * (1280 + 30) * 60 Hz in 10 kHz units. */
	g_assert_cmpuint(e[54] | (e[55] << 8), ==, (880u * 1310 * 60 + 5000) / 10000);
	g_assert_cmpuint(e[75], ==, 0xfc); /* monitor name */
	g_assert_cmpmem(e + 77, 8, "sepia-0\n", 8);
	g_assert_cmpuint(e[126], ==, 0); /* no extensions */
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/gpu/convert-formats", test_convert_formats);
	g_test_add_func("/gpu/rect-inside", test_rect_inside);
	g_test_add_func("/gpu/edid", test_edid);
	return g_test_run();
}
