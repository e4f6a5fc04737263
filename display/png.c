/* display/png.c — see png.h. The format: PNG specification (ISO/IEC 15948), signature,
 * IHDR, one IDAT holding the zlib stream of the filtered rows (each row: a filter-type byte,
 * then width * 3 bytes R, G, B), IEND; each chunk length, type, data, CRC-32 of type + data.
 *
 * The default filter and level were measured on a 720x1280 phone-like screen (a page with
 * text, gradients, cards, rendered by headless Chromium) on the 2-core development machine,
 * best of 5 encodes:
 *   level 1: none 12.4 ms 381 KB, Sub 12.5 ms 344 KB, Up 15.7 ms 448 KB, Average 15.6 ms 428 KB,
 *            Paeth 18.6 ms 407 KB, adaptive (all five, least sum per row) 32.7 ms 401 KB
 *   level 6: none 28.8 ms 210 KB, Sub 53.3 ms 220 KB, Up 91.9 ms 313 KB, adaptive 93.6 ms 269 KB
 *   level 9: 78 ms (none) to 753 ms (Up)
 * Level 1 is 2-6x faster than level 6 for pictures 1.6x larger; for a live view on the same
 * host time matters more than bytes, and a screenshot of 350 KB is no burden. At level 1 Sub is
 * the smallest and as fast as no filter; the adaptive heuristic costs 2.6x and gained nothing
 * here. Hence Sub at level 1.
 * `tests/unit/test-png -m perf` prints such a table for synthetic pictures. */
#include "common/byteorder.h"
#include "display/png.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

const struct pngenc_options pngenc_default_options = { .filter = PNGENC_FILTER_SUB, .level = 1 };

static const uint8_t png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

/* Appends the length and type of a chunk; returns the offset of its type, where the CRC starts. */
static size_t chunk_begin(GByteArray *out, const char type[4], uint32_t length)
{
	uint8_t head[8];
	put_be32(head, length);
	memcpy(head + 4, type, 4);
	g_byte_array_append(out, head, sizeof(head));
	return out->len - 4;
}

/* Patches the chunk's length (now that it is known) and appends its CRC. */
static void chunk_end(GByteArray *out, size_t type_offset)
{
	size_t data_len = out->len - type_offset - 4;
	put_be32(out->data + type_offset - 4, (uint32_t)data_len);
	uLong crc = crc32(0L, Z_NULL, 0);
	crc = crc32_z(crc, out->data + type_offset, data_len + 4);
	uint8_t tail[4];
	put_be32(tail, (uint32_t)crc);
	g_byte_array_append(out, tail, sizeof(tail));
}

static uint8_t paeth(uint8_t a, uint8_t b, uint8_t c)
{
	int p = (int)a + b - c;
	int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	if (pa <= pb && pa <= pc)
		return a;
	return pb <= pc ? b : c;
}

/* out[0] = type, out[1..n] = row filtered against prev (the previous raw row, zeros for the
 * first). Pixels are 3 bytes, so "left" is 3 bytes back. */
static void filter_row(enum pngenc_filter type, const uint8_t *row, const uint8_t *prev, size_t n,
		       uint8_t *out)
{
	out[0] = (uint8_t)type;
	uint8_t *o = out + 1;
	for (size_t i = 0; i < n; i++) {
		uint8_t left = i >= 3 ? row[i - 3] : 0, up = prev[i], up_left = i >= 3 ? prev[i - 3] : 0;
		uint8_t predicted;
		switch (type) {
		case PNGENC_FILTER_SUB:
			predicted = left;
			break;
		case PNGENC_FILTER_UP:
			predicted = up;
			break;
		case PNGENC_FILTER_AVERAGE:
			predicted = (uint8_t)(((unsigned int)left + up) / 2);
			break;
		case PNGENC_FILTER_PAETH:
			predicted = paeth(left, up, up_left);
			break;
		default:
			predicted = 0;
			break;
		}
		o[i] = (uint8_t)(row[i] - predicted);
	}
}

/* The specification's heuristic: the filtered row whose bytes, read as signed, sum smallest. */
static unsigned long filtered_cost(const uint8_t *f, size_t n)
{
	unsigned long sum = 0;
	for (size_t i = 1; i <= n; i++)
		sum += (unsigned long)abs((int)(int8_t)f[i]);
	return sum;
}

static bool deflate_into(z_stream *zs, GByteArray *out, const uint8_t *data, size_t len, int flush,
			 GError **error)
{
	zs->next_in = (Bytef *)data;
	zs->avail_in = (uInt)len;
	for (;;) {
		size_t room = 65536;
		size_t old = out->len;
		g_byte_array_set_size(out, (guint)(old + room));
		zs->next_out = out->data + old;
		zs->avail_out = (uInt)room;
		int r = deflate(zs, flush);
		g_byte_array_set_size(out, (guint)(old + room - zs->avail_out));
		if (r == Z_STREAM_END)
			return true;
		if (r != Z_OK && r != Z_BUF_ERROR) {
			g_set_error(error, PNGENC_ERROR, EIO, "zlib deflate failed: %s",
				    zs->msg ? zs->msg : "error");
			return false;
		}
		/* Done with this input once zlib has taken it all and had output room to spare. */
		if (flush == Z_NO_FLUSH && zs->avail_in == 0 && zs->avail_out > 0)
			return true;
	}
}

GBytes *pngenc_xrgb(const uint8_t *pixels, uint32_t width, uint32_t height, size_t stride,
		    const struct pngenc_options *options, GError **error)
{
	const struct pngenc_options *opt = options ? options : &pngenc_default_options;
	if (!width || !height) {
		g_set_error(error, PNGENC_ERROR, EINVAL, "a %ux%u picture has no PNG form (it shows nothing)",
			    width, height);
		return NULL;
	}
	if (width > FB_FILE_MAX_DIM || height > FB_FILE_MAX_DIM || stride < (size_t)width * 4 ||
	    opt->filter > PNGENC_FILTER_ADAPTIVE || opt->level < 0 || opt->level > 9) {
		g_set_error(error, PNGENC_ERROR, EINVAL,
			    "cannot encode a %ux%u picture (stride %zu, filter %d, level %d)", width, height,
			    stride, (int)opt->filter, opt->level);
		return NULL;
	}
	size_t n = (size_t)width * 3;
	GByteArray *out = g_byte_array_sized_new((guint)MIN((size_t)G_MAXUINT / 2, n * height / 4 + 1024));
	g_byte_array_append(out, png_signature, sizeof(png_signature));

	uint8_t ihdr[13];
	put_be32(ihdr, width);
	put_be32(ihdr + 4, height);
	ihdr[8] = 8;  /* bit depth */
	ihdr[9] = 2;  /* colour type: truecolour */
	ihdr[10] = 0; /* deflate */
	ihdr[11] = 0; /* filter method 0 */
	ihdr[12] = 0; /* no interlace */
	size_t at = chunk_begin(out, "IHDR", sizeof(ihdr));
	g_byte_array_append(out, ihdr, sizeof(ihdr));
	chunk_end(out, at);

	z_stream zs = { 0 };
	if (deflateInit(&zs, opt->level) != Z_OK) {
		g_set_error(error, PNGENC_ERROR, ENOMEM, "zlib deflateInit failed");
		g_byte_array_unref(out);
		return NULL;
	}
	/* Two raw rows (this one and the one above) and one filtered row per filter type. */
	uint8_t *raw = g_malloc0(2 * n);
	uint8_t *filtered = g_malloc(5 * (n + 1));
	uint8_t *row = raw, *prev = raw + n;
	bool ok = true;
	at = chunk_begin(out, "IDAT", 0);
	for (uint32_t y = 0; y < height && ok; y++) {
		const uint8_t *src = pixels + (size_t)y * stride;
		for (uint32_t x = 0; x < width; x++) {
			row[x * 3 + 0] = src[x * 4 + 2];
			row[x * 3 + 1] = src[x * 4 + 1];
			row[x * 3 + 2] = src[x * 4 + 0];
		}
		const uint8_t *chosen = filtered;
		if (opt->filter == PNGENC_FILTER_ADAPTIVE) {
			unsigned long best = ULONG_MAX;
			for (int t = PNGENC_FILTER_NONE; t <= PNGENC_FILTER_PAETH; t++) {
				uint8_t *f = filtered + (size_t)t * (n + 1);
				filter_row((enum pngenc_filter)t, row, prev, n, f);
				unsigned long cost = filtered_cost(f, n);
				if (cost < best) {
					best = cost;
					chosen = f;
				}
			}
		} else {
			filter_row(opt->filter, row, prev, n, filtered);
		}
		ok = deflate_into(&zs, out, chosen, n + 1, Z_NO_FLUSH, error);
		uint8_t *t = prev;
		prev = row;
		row = t;
	}
	if (ok)
		ok = deflate_into(&zs, out, NULL, 0, Z_FINISH, error);
	deflateEnd(&zs);
	g_free(raw);
	g_free(filtered);
	if (!ok) {
		g_byte_array_unref(out);
		return NULL;
	}
	chunk_end(out, at);
	at = chunk_begin(out, "IEND", 0);
	chunk_end(out, at);
	return g_byte_array_free_to_bytes(out);
}

GBytes *pngenc_image(const struct fb_image *image, const struct pngenc_options *options, GError **error)
{
	return pngenc_xrgb(image->pixels, image->width, image->height, (size_t)image->width * 4, options,
			   error);
}

bool pngenc_write_file(const char *path, GBytes *data, GError **error)
{
	g_autofree char *tmp = g_strdup_printf("%s.XXXXXX", path);
	/* open() applies the umask to 0666: a screenshot is as readable as any file the user makes. */
	int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0666);
	if (fd < 0) {
		int e = errno;
		g_set_error(error, PNGENC_ERROR, e, "cannot write %s: cannot create %s: %s", path, tmp,
			    g_strerror(e));
		return false;
	}
	size_t len;
	const uint8_t *p = g_bytes_get_data(data, &len);
	int e = 0;
	while (!e && len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			e = errno;
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0 && !e)
		e = errno;
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e) {
		unlink(tmp);
		g_set_error(error, PNGENC_ERROR, e, "cannot write %s: %s", path, g_strerror(e));
		return false;
	}
	return true;
}

bool pngenc_save_image(const char *path, const struct fb_image *image, GError **error)
{
	g_autoptr(GBytes) png = pngenc_image(image, NULL, error);
	if (!png) {
		g_prefix_error(error, "cannot write %s: ", path);
		return false;
	}
	return pngenc_write_file(path, png, error);
}
