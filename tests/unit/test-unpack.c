/* LZ4 block decoding for host-side kernel unpacking: hand-made blocks whose decoding is
 * known, including overlapping matches, and corrupt blocks that must be refused. */
#include <errno.h>
#include <gio/gio.h>
#include <glib.h>
#include <string.h>

#include "devices/unpack.h"

static void test_literals_only(void)
{
	/* token 0x50: 5 literals, no match (the last sequence). */
	const uint8_t in[] = { 0x50, 'h', 'e', 'l', 'l', 'o' };
	uint8_t out[16];
	size_t n = 0;
	g_assert_cmpint(unpack_lz4_block(in, sizeof(in), out, sizeof(out), &n), ==, 0);
	g_assert_cmpuint(n, ==, 5);
	g_assert_cmpmem(out, n, "hello", 5);
}

static void test_overlapping_match(void)
{
	/* "ab", then a match of 4+4=8 at offset 2 (overlapping its own output), then "!". */
	const uint8_t in[] = { 0x24, 'a', 'b', 0x02, 0x00, 0x10, '!' };
	uint8_t out[32];
	size_t n = 0;
	g_assert_cmpint(unpack_lz4_block(in, sizeof(in), out, sizeof(out), &n), ==, 0);
	g_assert_cmpmem(out, n, "ababababab!", 11);
}

static void test_long_lengths(void)
{
	/* 15 + 5 = 20 literals through one extension byte, then a match of 15+4+1 = 20. */
	uint8_t in[64] = { 0xff, 5 };
	size_t i = 2;
	for (int k = 0; k < 20; k++)
		in[i++] = (uint8_t)('A' + k);
	in[i++] = 20; /* offset: copy the 20 literals again */
	in[i++] = 0;
	in[i++] = 1;    /* match length extension */
	in[i++] = 0x00; /* final token: no literals */
	uint8_t out[64];
	size_t n = 0;
	g_assert_cmpint(unpack_lz4_block(in, i, out, sizeof(out), &n), ==, 0);
	g_assert_cmpuint(n, ==, 40);
	g_assert_cmpmem(out, 20, out + 20, 20);
}

static void test_corrupt(void)
{
	uint8_t out[16];
	size_t n;
	const uint8_t offset_zero[] = { 0x10, 'x', 0x00, 0x00, 0x00 };
	const uint8_t offset_before_start[] = { 0x10, 'x', 0x05, 0x00, 0x00 };
	const uint8_t literals_past_end[] = { 0x50, 'a', 'b' };
	const uint8_t truncated_length[] = { 0xf0, 255 };
	const uint8_t too_big[] = { 0x1f, 'x', 0x01, 0x00, 200 };
	g_assert_cmpint(unpack_lz4_block(offset_zero, sizeof(offset_zero), out, sizeof(out), &n), ==,
			-EINVAL);
	g_assert_cmpint(
		unpack_lz4_block(offset_before_start, sizeof(offset_before_start), out, sizeof(out), &n), ==,
		-EINVAL);
	g_assert_cmpint(unpack_lz4_block(literals_past_end, sizeof(literals_past_end), out, sizeof(out), &n),
			==, -EINVAL);
	g_assert_cmpint(unpack_lz4_block(truncated_length, sizeof(truncated_length), out, sizeof(out), &n),
			==, -EINVAL);
	g_assert_cmpint(unpack_lz4_block(too_big, sizeof(too_big), out, sizeof(out), &n), ==, -EINVAL);
}

static void test_unknown_format(void)
{
	const uint8_t xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0, 0, 0, 0, 0 };
	const char *format = "unset";
	g_autoptr(GError) error = NULL;
	g_assert_null(unpack_kernel_payload(xz, sizeof(xz), &format, &error));
	g_assert_error(error, SEPIA_UNPACK_ERROR, ENOTSUP);
	g_assert_null(format);
}

static void test_lz4_legacy_frame(void)
{
	/* magic, one block of 6 bytes, then the 4-byte size trailer a bzImage appends. */
	const uint8_t in[] = { 0x02, 0x21, 0x4c, 0x18, 6, 0, 0, 0, 0x50, 'h', 'e', 'l', 'l', 'o', 5, 0, 0, 0 };
	const char *format = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) out = unpack_kernel_payload(in, sizeof(in), &format, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(format, ==, "lz4");
	gsize n;
	const char *data = g_bytes_get_data(out, &n);
	g_assert_cmpmem(data, n, "hello", 5);
}

static void test_lz4_legacy_blocks(void)
{
	/* Two blocks: the first expands as far as LZ4 allows (a literal, then a match whose
	 * length grows 255 per input byte), the second is "hello"; then the size trailer. */
	enum { EXT = 1000, RUN = 1 + 15 + 4 + 255 * EXT };
	GByteArray *in = g_byte_array_new();
	const uint8_t magic[] = { 0x02, 0x21, 0x4c, 0x18 }, head[] = { 0x1f, 'x', 0x01, 0x00 };
	const uint8_t tail[] = { 0, 0x00 }, hello[] = { 6, 0, 0, 0, 0x50, 'h', 'e', 'l', 'l', 'o' };
	uint8_t len[4] = { (sizeof(head) + EXT + sizeof(tail)) & 0xff,
			   (sizeof(head) + EXT + sizeof(tail)) >> 8 };
	g_byte_array_append(in, magic, sizeof(magic));
	g_byte_array_append(in, len, sizeof(len));
	g_byte_array_append(in, head, sizeof(head));
	for (int i = 0; i < EXT; i++)
		g_byte_array_append(in, (const uint8_t[]){ 255 }, 1);
	g_byte_array_append(in, tail, sizeof(tail));
	g_byte_array_append(in, hello, sizeof(hello));
	g_byte_array_append(
		in, (const uint8_t[]){ (RUN + 5) & 0xff, (RUN + 5) >> 8 & 0xff, (RUN + 5) >> 16, 0 }, 4);
	const char *format = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) out = unpack_kernel_payload(in->data, in->len, &format, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(format, ==, "lz4");
	gsize n;
	const char *data = g_bytes_get_data(out, &n);
	g_assert_cmpuint(n, ==, RUN + 5);
	for (gsize i = 0; i < RUN; i++)
		g_assert_cmpint(data[i], ==, 'x');
	g_assert_cmpmem(data + RUN, 5, "hello", 5);
	g_byte_array_unref(in);
}

static void test_gzip(void)
{
	const char text[] = "sepia unpacks gzip payloads through GLib";
	g_autoptr(GZlibCompressor) z = g_zlib_compressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
	uint8_t packed[256];
	gsize read = 0, written = 0;
	g_assert_cmpint(g_converter_convert(G_CONVERTER(z), text, sizeof(text), packed, sizeof(packed),
					    G_CONVERTER_INPUT_AT_END, &read, &written, NULL),
			==, G_CONVERTER_FINISHED);
	const char *format = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) out = unpack_kernel_payload(packed, written, &format, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(format, ==, "gzip");
	gsize n;
	const char *data = g_bytes_get_data(out, &n);
	g_assert_cmpmem(data, n, text, sizeof(text));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/unpack/lz4/literals-only", test_literals_only);
	g_test_add_func("/unpack/lz4/overlapping-match", test_overlapping_match);
	g_test_add_func("/unpack/lz4/long-lengths", test_long_lengths);
	g_test_add_func("/unpack/lz4/corrupt", test_corrupt);
	g_test_add_func("/unpack/lz4/legacy-frame", test_lz4_legacy_frame);
	g_test_add_func("/unpack/lz4/legacy-blocks", test_lz4_legacy_blocks);
	g_test_add_func("/unpack/gzip", test_gzip);
	g_test_add_func("/unpack/unknown-format", test_unknown_format);
	return g_test_run();
}
