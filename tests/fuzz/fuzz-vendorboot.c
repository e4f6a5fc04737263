/* libFuzzer target: vendor_boot (v3/v4) parser, plus the writer's round trip. */
#include "images/vendorboot.h"
#include "tests/fuzz/fuzz-common.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GError *error = NULL;
	SepiaVendorBootImage *img = sepia_vendor_boot_image_parse_buffer(data, size, "fuzz.img", &error);
	if (!img) {
		fuzz_expect_refusal(&error, "fuzz.img: ");
		return 0;
	}
	GBytes *once = sepia_vendor_boot_image_serialize(img, &error);
	if (!once)
		abort();
	gsize len;
	const guint8 *d = g_bytes_get_data(once, &len);
	SepiaVendorBootImage *again = sepia_vendor_boot_image_parse_buffer(d, len, "again", &error);
	if (!again || again->ramdisks->len != img->ramdisks->len)
		abort();
	GBytes *twice = sepia_vendor_boot_image_serialize(again, &error);
	if (!twice || !g_bytes_equal(once, twice))
		abort();
	g_bytes_unref(twice);
	g_bytes_unref(once);
	sepia_vendor_boot_image_free(again);
	sepia_vendor_boot_image_free(img);
	return 0;
}
