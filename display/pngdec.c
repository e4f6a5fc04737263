/* display/pngdec.c — PNG decoding for reference pictures (see pngdec.h). */
#include "display/pngdec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "display/png.h"

#define MAX_IDAT (256u << 20) /* compressed bytes accepted: far beyond any 8192^2 RGBA picture */

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static bool bad(GError **error, const char *why)
{
	g_set_error(error, PNGENC_ERROR, EINVAL, "%s", why);
	return false;
}

static uint8_t paeth(uint8_t a, uint8_t b, uint8_t c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undoes the row filters in place: rows of 1 + rowbytes bytes, bpp bytes a pixel. */
static bool unfilter(uint8_t *raw, uint32_t height, size_t rowbytes, unsigned int bpp, GError **error)
{
	const uint8_t *prev = NULL;
	for (uint32_t y = 0; y < height; y++) {
		uint8_t *row = raw + y * (rowbytes + 1);
		uint8_t f = row[0], *cur = row + 1;
		for (size_t i = 0; i < rowbytes; i++) {
			uint8_t a = i >= bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0;
			uint8_t c = prev && i >= bpp ? prev[i - bpp] : 0;
			switch (f) {
			case 0:
				break;
			case 1:
				cur[i] += a;
				break;
			case 2:
				cur[i] += b;
				break;
			case 3:
				cur[i] += (uint8_t)((a + b) / 2);
				break;
			case 4:
				cur[i] += paeth(a, b, c);
				break;
			default:
				return bad(error, "a row has an unknown filter type");
			}
		}
		prev = cur;
	}
	return true;
}

bool pngdec_decode(const uint8_t *data, size_t len, struct fb_image *image, GError **error)
{
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	memset(image, 0, sizeof(*image));
	if (len < 8 || memcmp(data, sig, 8))
		return bad(error, "not a PNG file (no PNG signature)");
	uint32_t width = 0, height = 0;
	uint8_t depth = 0, colour = 0, interlace = 0;
	uint8_t palette[256 * 3];
	unsigned int palette_len = 0;
	bool seen_ihdr = false, seen_iend = false;
	g_autoptr(GByteArray) idat = g_byte_array_new();
	size_t off = 8;
	while (!seen_iend) {
		if (len - off < 12)
			return bad(error, "truncated: a chunk runs past the end of the file");
		uint32_t clen = be32(data + off);
		const uint8_t *type = data + off + 4, *body = data + off + 8;
		if (clen > len - off - 12)
			return bad(error, "truncated: a chunk runs past the end of the file");
		if ((uint32_t)crc32(0, type, clen + 4) != be32(body + clen))
			return bad(error, "a chunk's CRC does not match (corrupt file)");
		if (!memcmp(type, "IHDR", 4)) {
			if (clen != 13 || seen_ihdr)
				return bad(error, "a malformed IHDR chunk");
			width = be32(body), height = be32(body + 4);
			depth = body[8], colour = body[9], interlace = body[12];
			seen_ihdr = true;
		} else if (!seen_ihdr) {
			return bad(error, "the first chunk is not IHDR");
		} else if (!memcmp(type, "PLTE", 4)) {
			if (clen % 3 || clen > sizeof(palette))
				return bad(error, "a malformed PLTE chunk");
			memcpy(palette, body, clen);
			palette_len = clen / 3;
		} else if (!memcmp(type, "IDAT", 4)) {
			if (idat->len + clen > MAX_IDAT)
				return bad(error, "more image data than any supported picture holds");
			g_byte_array_append(idat, body, clen);
		} else if (!memcmp(type, "IEND", 4)) {
			seen_iend = true;
		} else if (!(type[0] & 0x20)) {
			return bad(error, "an unknown critical chunk");
		}
		off += 12 + (size_t)clen;
	}
	if (!width || !height || width > FB_FILE_MAX_DIM || height > FB_FILE_MAX_DIM)
		return bad(error, "the picture is empty or larger than 8192 pixels a side");
	unsigned int channels;
	switch (colour) {
	case 0:
	case 3:
		channels = 1;
		break;
	case 4:
		channels = 2;
		break;
	case 2:
		channels = 3;
		break;
	case 6:
		channels = 4;
		break;
	default:
		return bad(error, "an unknown colour type");
	}
	if (depth != 8 || interlace != 0)
		return bad(error, "only 8-bit, non-interlaced PNGs are supported (save it as 8-bit RGB)");
	if (colour == 3 && !palette_len)
		return bad(error, "a palette picture without a PLTE chunk");
	size_t rowbytes = (size_t)width * channels, rawlen = (rowbytes + 1) * height;
	g_autofree uint8_t *raw = g_malloc(rawlen);
	uLongf got = rawlen;
	if (uncompress(raw, &got, idat->data, idat->len) != Z_OK || got != rawlen)
		return bad(error, "the image data does not inflate to the picture's size (corrupt file)");
	if (!unfilter(raw, height, rowbytes, channels, error))
		return false;
	uint8_t *px = g_malloc((size_t)width * height * 4);
	for (uint32_t y = 0; y < height; y++) {
		const uint8_t *in = raw + y * (rowbytes + 1) + 1;
		uint8_t *out = px + (size_t)y * width * 4;
		for (uint32_t x = 0; x < width; x++, in += channels, out += 4) {
			uint8_t r, g, b;
			if (colour == 3) {
				if (in[0] >= palette_len) {
					g_free(px);
					return bad(error, "a pixel names a colour beyond the palette");
				}
				r = palette[3 * in[0]], g = palette[3 * in[0] + 1],
				b = palette[3 * in[0] + 2];
			} else if (channels <= 2) {
				r = g = b = in[0];
			} else {
				r = in[0], g = in[1], b = in[2];
			}
			out[0] = b, out[1] = g, out[2] = r, out[3] = 0xff;
		}
	}
	image->width = width;
	image->height = height;
	image->enabled = true;
	image->pixels = px;
	return true;
}

bool pngdec_load(const char *path, struct fb_image *image, GError **error)
{
	g_autofree char *data = NULL;
	gsize len;
	if (!g_file_get_contents(path, &data, &len, error))
		return false;
	if (!pngdec_decode((const uint8_t *)data, len, image, error)) {
		g_prefix_error(error, "%s: ", path);
		return false;
	}
	return true;
}
