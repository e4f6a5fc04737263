/* libFuzzer target: vbmeta header/descriptor parser, both as a vbmeta image and as a partition
 * with an AVB footer. Every exposed range must lie inside the image. */
#include "images/vbmeta.h"
#include "tests/fuzz/fuzz-common.h"

#include <stdlib.h>

static void check(SepiaVbmeta *vb, GError *error, const char *name)
{
	if (!vb) {
		fuzz_expect_refusal(&error, name);
		return;
	}
	gsize len = g_bytes_get_size(vb->image);
	if (vb->hash_offset + vb->hash_size > len || vb->signature_offset + vb->signature_size > len ||
	    vb->public_key_offset + vb->public_key_size > len ||
	    vb->descriptors_offset + vb->descriptors_size > len)
		abort();
	for (guint i = 0; i < vb->descriptors->len; i++) {
		SepiaAvbDescriptor *d = g_ptr_array_index(vb->descriptors, i);
		if (d->offset + g_bytes_get_size(d->raw) > len)
			abort();
	}
	sepia_vbmeta_free(vb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GError *error = NULL;
	SepiaVbmeta *vb = sepia_vbmeta_parse_buffer(data, size, "fuzz.img", &error);
	check(vb, error, "fuzz.img: ");
	error = NULL;
	vb = sepia_vbmeta_parse_partition_buffer(data, size, "part.img", &error);
	check(vb, error, "part.img: ");
	return 0;
}
