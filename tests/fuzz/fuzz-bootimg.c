/* libFuzzer target: boot and init_boot image parser, plus the writer's round trip.
 * Oracle: whatever parses must serialize, re-parse, and serialize to the same bytes. */
#include "images/bootimg.h"
#include "tests/fuzz/fuzz-common.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GError *error = NULL;
	SepiaBootImage *img = sepia_boot_image_parse_buffer(data, size, "fuzz.img", &error);
	if (!img) {
		fuzz_expect_refusal(&error, "fuzz.img: ");
	} else {
		GBytes *once = sepia_boot_image_serialize(img, &error);
		if (!once)
			abort(); /* a parsed image must be writable */
		gsize len;
		const guint8 *d = g_bytes_get_data(once, &len);
		SepiaBootImage *again = sepia_boot_image_parse_buffer(d, len, "again", &error);
		if (!again)
			abort();
		GBytes *twice = sepia_boot_image_serialize(again, &error);
		if (!twice || !g_bytes_equal(once, twice))
			abort();
		g_bytes_unref(twice);
		g_bytes_unref(once);
		sepia_boot_image_free(again);
		sepia_boot_image_free(img);
	}
	img = sepia_init_boot_image_parse_buffer(data, size, "init_boot.img", &error);
	if (img)
		sepia_boot_image_free(img);
	else
		g_clear_error(&error);
	return 0;
}
