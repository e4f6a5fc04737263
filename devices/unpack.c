/* Host-side decompression of a bzImage's payload (the compressed vmlinux ELF). On hosts
 * whose KVM interprets guest kernel code, the kernel's own decompressor costs minutes;
 * here it costs milliseconds. Formats: LZ4 legacy frames (the LZ4 block format, as
 * documented in lz4's lz4_Block_format.md) and gzip (through zlib).
 * Anything else is left to the kernel's decompressor. */
#include "common/byteorder.h"
#include "devices/unpack.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>

#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK (8u << 20) /* uncompressed bytes per legacy block */
#define UNPACK_MAX       (1u << 30) /* no kernel is larger; a bigger output is a bomb */

/* Reads an LZ4 length: the nibble, plus extension bytes while they are 255. */
static bool lz4_length(const uint8_t **p, const uint8_t *end, size_t *len)
{
	if (*len != 15)
		return true;
	for (;;) {
		if (*p >= end)
			return false;
		uint8_t b = *(*p)++;
		*len += b;
		if (b != 255)
			return true;
	}
}

int unpack_lz4_block(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	const uint8_t *p = in, *end = in + in_len;
	size_t o = 0;
	while (p < end) {
		uint8_t token = *p++;
		size_t lit = token >> 4;
		if (!lz4_length(&p, end, &lit) || lit > (size_t)(end - p) || lit > out_cap - o)
			return -EINVAL;
		memcpy(out + o, p, lit);
		p += lit;
		o += lit;
		if (p == end)
			break; /* the last sequence has literals only */
		if (end - p < 2)
			return -EINVAL;
		size_t offset = (size_t)p[0] | (size_t)p[1] << 8;
		p += 2;
		size_t match = token & 15;
		if (!lz4_length(&p, end, &match))
			return -EINVAL;
		match += 4;
		if (offset == 0 || offset > o || match > out_cap - o)
			return -EINVAL;
		/* Byte by byte: a match may overlap the bytes it produces. */
		for (size_t i = 0; i < match; i++, o++)
			out[o] = out[o - offset];
	}
	*out_len = o;
	return 0;
}

/* The most an LZ4 block of len bytes can decode to: literals come one for one; a match costs
 * a token and a 2-byte offset for its first 19 bytes and one byte per 255 more. */
static size_t lz4_block_bound(size_t len) { return MIN((size_t)LZ4_LEGACY_BLOCK, len * 255); }

/* The next block of a legacy frame at *pos, skipping the magic of concatenated frames; false
 * at the 4-byte size trailer a bzImage appends, or at the end. */
static bool lz4_legacy_next(const uint8_t *in, size_t len, size_t *pos, uint32_t *chunk)
{
	while (len - *pos >= 4) {
		*chunk = get_le32(in + *pos);
		if (*chunk != LZ4_LEGACY_MAGIC)
			/* a "chunk" that does not fit what is left is the trailer */
			return *chunk != 0 && *chunk <= len - *pos - 4;
		*pos += 4;
	}
	return false;
}

static GBytes *unpack_lz4_legacy(const uint8_t *in, size_t len, GError **error)
{
	/* One allocation for the whole output, not a reallocation at each doubling of a growing
	 * array: each block reserves what it can decode to. */
	size_t reserve = 0;
	uint32_t chunk;
	for (size_t pos = 4; reserve < UNPACK_MAX && lz4_legacy_next(in, len, &pos, &chunk); pos += 4 + chunk)
		reserve += lz4_block_bound(chunk);
	GByteArray *out = g_byte_array_sized_new((guint)MIN(reserve, (size_t)UNPACK_MAX));
	for (size_t pos = 4; lz4_legacy_next(in, len, &pos, &chunk); pos += 4 + chunk) {
		guint old = out->len;
		if (old > UNPACK_MAX - LZ4_LEGACY_BLOCK) {
			g_set_error(error, SEPIA_UNPACK_ERROR, EINVAL,
				    "LZ4 payload unpacks to more than %u MiB", UNPACK_MAX >> 20);
			g_byte_array_unref(out);
			return NULL;
		}
		size_t cap = lz4_block_bound(chunk), got;
		g_byte_array_set_size(out, old + (guint)cap);
		if (unpack_lz4_block(in + pos + 4, chunk, out->data + old, cap, &got) < 0) {
			g_set_error(error, SEPIA_UNPACK_ERROR, EINVAL,
				    "corrupt LZ4 block at payload offset %zu", pos);
			g_byte_array_unref(out);
			return NULL;
		}
		g_byte_array_set_size(out, old + (guint)got);
	}
	return g_byte_array_free_to_bytes(out);
}

static GBytes *unpack_gzip(const uint8_t *in, size_t len, GError **error)
{
	z_stream z = { .next_in = (Bytef *)in, .avail_in = (uInt)MIN(len, (size_t)UINT_MAX) };
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) { /* 16: gzip wrapper */
		g_set_error(error, SEPIA_UNPACK_ERROR, ENOMEM, "zlib: %s",
			    z.msg ? z.msg : "cannot initialise");
		return NULL;
	}
	GByteArray *out = g_byte_array_new();
	int r;
	do {
		guint old = out->len;
		if (old > UNPACK_MAX - (1u << 20)) {
			g_set_error(error, SEPIA_UNPACK_ERROR, EINVAL,
				    "gzip payload unpacks to more than %u MiB", UNPACK_MAX >> 20);
			inflateEnd(&z);
			g_byte_array_unref(out);
			return NULL;
		}
		g_byte_array_set_size(out, old + (1u << 20));
		z.next_out = out->data + old;
		z.avail_out = 1u << 20;
		r = inflate(&z, Z_NO_FLUSH);
		g_byte_array_set_size(out, old + (1u << 20) - z.avail_out);
	} while (r == Z_OK);
	if (r != Z_STREAM_END) {
		g_set_error(error, SEPIA_UNPACK_ERROR, EINVAL, "corrupt gzip data: %s",
			    z.msg ? z.msg : "truncated");
		inflateEnd(&z);
		g_byte_array_unref(out);
		return NULL;
	}
	inflateEnd(&z);
	return g_byte_array_free_to_bytes(out);
}

GBytes *unpack_kernel_payload(const uint8_t *payload, size_t len, const char **format, GError **error)
{
	if (len >= 8 && get_le32(payload) == LZ4_LEGACY_MAGIC) {
		*format = "lz4";
		return unpack_lz4_legacy(payload, len, error);
	}
	if (len >= 18 && payload[0] == 0x1f && payload[1] == 0x8b) {
		*format = "gzip";
		return unpack_gzip(payload, len, error);
	}
	*format = NULL;
	g_set_error(error, SEPIA_UNPACK_ERROR, ENOTSUP,
		    "payload compression not known to sepia-vmm (magic %02x %02x %02x %02x)",
		    len > 0 ? payload[0] : 0, len > 1 ? payload[1] : 0, len > 2 ? payload[2] : 0,
		    len > 3 ? payload[3] : 0);
	return NULL;
}

G_DEFINE_QUARK(sepia - unpack - error - quark, sepia_unpack_error)
