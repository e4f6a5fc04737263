/* images/sparse.c — streaming Android sparse -> raw expansion. */
#include "images/sparse.h"

#include "images/crc32.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPARSE_IO_CHUNK (1u << 20)

/* The input: a buffer or an fd read front to back. */
typedef struct {
	const char *name;
	int fd;
	const guint8 *data;
	gsize len;
	uint64_t pos; /* bytes consumed so far */
} SparseIn;

/* The output: an fd written in order, or nothing (validation only). */
typedef struct {
	const char *name;
	int fd;       /* -1: discard */
	bool holes;   /* regular file: skip zeros, ftruncate at the end */
	uint64_t pos; /* next output offset */
	guint8 *buf;  /* scratch for copies and fills, grown on demand up to SPARSE_IO_CHUNK */
	gsize buf_cap;
} SparseOut;

/* Scratch of at least n (<= SPARSE_IO_CHUNK) bytes: small images never touch a megabyte. */
static guint8 *scratch(SparseOut *out, gsize n)
{
	if (n > out->buf_cap) {
		out->buf_cap = MAX(n, MIN(out->buf_cap * 2, (gsize)SPARSE_IO_CHUNK));
		g_free(out->buf);
		out->buf = g_malloc(out->buf_cap);
	}
	return out->buf;
}

/* Reads up to n bytes; returns how many (0 at end of input), -1 on error. */
static gssize in_read_some(SparseIn *in, guint8 *buf, gsize n, GError **error)
{
	if (in->data) {
		gsize left = in->len - (gsize)in->pos;
		gsize k = MIN(n, left);
		memcpy(buf, in->data + in->pos, k);
		in->pos += k;
		return (gssize)k;
	}
	for (;;) {
		ssize_t r = read(in->fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			img_fail_code(error, SEPIA_IMAGES_ERROR_IO, in->name, "read failed: %s",
				      g_strerror(errno));
			return -1;
		}
		in->pos += (uint64_t)r;
		return r;
	}
}

static bool in_read(SparseIn *in, void *buf, gsize n, const char *what, GError **error)
{
	uint64_t start = in->pos;
	guint8 *p = buf;
	while (n > 0) {
		gssize r = in_read_some(in, p, n, error);
		if (r < 0)
			return false;
		if (r == 0)
			return img_fail(error, in->name,
					"truncated: %s at offset 0x%" G_GINT64_MODIFIER
					"x runs past the end of the file",
					what, (guint64)start);
		p += r;
		n -= (gsize)r;
	}
	return true;
}

static bool in_skip(SparseIn *in, SparseOut *out, uint64_t n, const char *what, GError **error)
{
	while (n > 0) {
		gsize k = (gsize)MIN(n, (uint64_t)SPARSE_IO_CHUNK);
		if (!in_read(in, scratch(out, k), k, what, error))
			return false;
		n -= k;
	}
	return true;
}

static bool out_write(SparseOut *out, const guint8 *data, gsize n, GError **error)
{
	if (out->fd < 0) {
		out->pos += n;
		return true;
	}
	while (n > 0) {
		ssize_t w = out->holes ? pwrite(out->fd, data, n, (off_t)out->pos) : write(out->fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, out->name,
					     "write failed at offset 0x%" G_GINT64_MODIFIER "x: %s",
					     (guint64)out->pos, w < 0 ? g_strerror(errno) : "short write");
		data += w;
		n -= (gsize)w;
		out->pos += (uint64_t)w;
	}
	return true;
}

/* n bytes of a repeated 4-byte pattern (n is a multiple of 4); a zero pattern in a regular file
 * is a hole. */
static bool out_fill(SparseOut *out, const guint8 pattern[4], uint64_t n, GError **error)
{
	bool zero = !pattern[0] && !pattern[1] && !pattern[2] && !pattern[3];
	if (out->fd < 0 || (zero && out->holes)) {
		out->pos += n;
		return true;
	}
	gsize span = (gsize)MIN(n, (uint64_t)SPARSE_IO_CHUNK); /* only as much as is needed */
	guint8 *buf = scratch(out, span);
	for (gsize i = 0; i < span; i += 4)
		memcpy(buf + i, pattern, 4);
	while (n > 0) {
		gsize k = (gsize)MIN(n, (uint64_t)SPARSE_IO_CHUNK);
		if (!out_write(out, buf, k, error))
			return false;
		n -= k;
	}
	return true;
}

static const char *chunk_type_name(uint16_t type)
{
	/* The chunk types are consecutive, from SEPIA_SPARSE_CHUNK_RAW on. */
	static const char *const names[] = { "RAW", "FILL", "DONT_CARE", "CRC32" };
	G_STATIC_ASSERT(SEPIA_SPARSE_CHUNK_CRC32 - SEPIA_SPARSE_CHUNK_RAW == G_N_ELEMENTS(names) - 1);
	unsigned i = (unsigned)type - SEPIA_SPARSE_CHUNK_RAW;
	return i < G_N_ELEMENTS(names) ? names[i] : "unknown";
}

static bool expand(SparseIn *in, SparseOut *out, uint64_t max_raw_size, SepiaSparseInfo *info, GError **error)
{
	const char *name = in->name;
	guint8 h[SEPIA_SPARSE_HEADER_SIZE];
	if (!in_read(in, h, sizeof h, "sparse header", error))
		return false;
	if (get_le32(h) != SEPIA_SPARSE_MAGIC)
		return img_fail(error, name, "bad magic 0x%08x (not 0x%08x): not an Android sparse image",
				get_le32(h), SEPIA_SPARSE_MAGIC);
	SepiaSparseInfo si = {
		.major_version = get_le16(h + 4),
		.minor_version = get_le16(h + 6),
		.blk_sz = get_le32(h + 12),
		.total_blks = get_le32(h + 16),
		.total_chunks = get_le32(h + 20),
		.image_checksum = get_le32(h + 24),
	};
	uint16_t file_hdr_sz = get_le16(h + 8), chunk_hdr_sz = get_le16(h + 10);
	if (si.major_version != 1)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_UNSUPPORTED, name,
				     "sparse major version %u is not supported (1)", si.major_version);
	if (file_hdr_sz < SEPIA_SPARSE_HEADER_SIZE)
		return img_fail(error, name, "file_hdr_sz %u is smaller than the header (%d bytes)",
				file_hdr_sz, SEPIA_SPARSE_HEADER_SIZE);
	if (chunk_hdr_sz < SEPIA_SPARSE_CHUNK_HEADER_SIZE)
		return img_fail(error, name, "chunk_hdr_sz %u is smaller than a chunk header (%d bytes)",
				chunk_hdr_sz, SEPIA_SPARSE_CHUNK_HEADER_SIZE);
	if (si.blk_sz == 0 || si.blk_sz % 4 != 0)
		return img_fail(error, name, "blk_sz %u is not a non-zero multiple of 4", si.blk_sz);
	si.raw_size = (uint64_t)si.blk_sz * si.total_blks; /* u32 * u32 fits in u64 */
	if (max_raw_size && si.raw_size > max_raw_size)
		return img_fail(error, name,
				"expands to %" G_GUINT64_FORMAT " bytes, more than the "
				"limit of %" G_GUINT64_FORMAT,
				(guint64)si.raw_size, (guint64)max_raw_size);
	if (!in_skip(in, out, file_hdr_sz - SEPIA_SPARSE_HEADER_SIZE, "sparse header", error))
		return false;

	uint32_t crc = 0;
	uint64_t block = 0;
	for (uint32_t i = 0; i < si.total_chunks; i++) {
		uint64_t chunk_off = in->pos;
		guint8 c[SEPIA_SPARSE_CHUNK_HEADER_SIZE];
		if (!in_read(in, c, sizeof c, "chunk header", error) ||
		    !in_skip(in, out, chunk_hdr_sz - SEPIA_SPARSE_CHUNK_HEADER_SIZE, "chunk header", error))
			return false;
		uint16_t type = get_le16(c);
		uint32_t chunk_sz = get_le32(c + 4), total_sz = get_le32(c + 8);
		const char *tn = chunk_type_name(type);
		if (total_sz < chunk_hdr_sz)
			return img_fail(error, name,
					"chunk %u (%s at offset 0x%" G_GINT64_MODIFIER "x): "
					"total_sz %u is smaller than its header",
					i, tn, (guint64)chunk_off, total_sz);
		uint64_t data_sz = total_sz - chunk_hdr_sz;
		uint64_t out_len = (uint64_t)chunk_sz * si.blk_sz;
		if (block + chunk_sz > si.total_blks)
			return img_fail(error, name,
					"chunk %u (%s at offset 0x%" G_GINT64_MODIFIER "x): "
					"blocks %" G_GUINT64_FORMAT "+%u run past total_blks %u",
					i, tn, (guint64)chunk_off, (guint64)block, chunk_sz, si.total_blks);
		uint64_t want_data = type == SEPIA_SPARSE_CHUNK_RAW         ? out_len
				     : type == SEPIA_SPARSE_CHUNK_DONT_CARE ? 0
									    : 4;
		if (!g_str_equal(tn, "unknown") && data_sz != want_data)
			return img_fail(
				error, name,
				"chunk %u (%s at offset 0x%" G_GINT64_MODIFIER "x): "
				"total_sz %u does not match its data (%" G_GUINT64_FORMAT " + %u bytes)",
				i, tn, (guint64)chunk_off, total_sz, (guint64)want_data, chunk_hdr_sz);
		switch (type) {
		case SEPIA_SPARSE_CHUNK_RAW:
			for (uint64_t left = out_len; left > 0;) {
				gsize k = (gsize)MIN(left, (uint64_t)SPARSE_IO_CHUNK);
				guint8 *buf = scratch(out, k);
				if (!in_read(in, buf, k, "RAW chunk data", error))
					return false;
				crc = sepia_crc32_update(crc, buf, k);
				if (!out_write(out, buf, k, error))
					return false;
				left -= k;
			}
			si.data_bytes += out_len;
			break;
		case SEPIA_SPARSE_CHUNK_FILL: {
			guint8 pattern[4];
			if (!in_read(in, pattern, 4, "FILL pattern", error))
				return false;
			crc = sepia_crc32_repeat(crc, pattern, out_len / 4);
			if (!out_fill(out, pattern, out_len, error))
				return false;
			if (pattern[0] | pattern[1] | pattern[2] | pattern[3])
				si.data_bytes += out_len;
			else
				si.hole_bytes += out_len;
			break;
		}
		case SEPIA_SPARSE_CHUNK_DONT_CARE: {
			static const guint8 zero[4];
			crc = sepia_crc32_zeros(crc, out_len);
			if (!out_fill(out, zero, out_len, error))
				return false;
			si.hole_bytes += out_len;
			break;
		}
		case SEPIA_SPARSE_CHUNK_CRC32: {
			guint8 v[4];
			if (!in_read(in, v, 4, "CRC32 value", error))
				return false;
			if (chunk_sz != 0)
				return img_fail(error, name,
						"chunk %u (CRC32 at offset 0x%" G_GINT64_MODIFIER
						"x): chunk_sz %u is not 0",
						i, (guint64)chunk_off, chunk_sz);
			if (get_le32(v) != crc)
				return img_fail(error, name,
						"chunk %u (CRC32 at offset 0x%" G_GINT64_MODIFIER
						"x): CRC 0x%08x does not match the data (0x%08x)",
						i, (guint64)chunk_off, get_le32(v), crc);
			si.crc_chunks++;
			break;
		}
		default:
			return img_fail(error, name,
					"chunk %u at offset 0x%" G_GINT64_MODIFIER "x has "
					"unknown type 0x%04x",
					i, (guint64)chunk_off, type);
		}
		block += chunk_sz;
	}
	if (block != si.total_blks)
		return img_fail(error, name,
				"chunks cover %" G_GUINT64_FORMAT " blocks but total_blks "
				"is %u",
				(guint64)block, si.total_blks);
	guint8 extra;
	gssize r = in_read_some(in, &extra, 1, error);
	if (r < 0)
		return false;
	if (r > 0)
		return img_fail(error, name,
				"trailing data after the last chunk (offset 0x%" G_GINT64_MODIFIER "x)",
				(guint64)(in->pos - 1));
	if (out->fd >= 0 && out->holes && ftruncate(out->fd, (off_t)si.raw_size) < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, out->name,
				     "cannot set size to %" G_GUINT64_FORMAT ": %s", (guint64)si.raw_size,
				     g_strerror(errno));
	if (info)
		*info = si;
	return true;
}

static bool expand_to(SparseIn *in, int out_fd, const char *out_name, uint64_t max_raw_size,
		      SepiaSparseInfo *info, GError **error)
{
	SparseOut out = { .name = out_name ? out_name : "(output)", .fd = out_fd };
	if (out_fd >= 0) {
		struct stat st;
		if (fstat(out_fd, &st) < 0)
			return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, out.name, "cannot stat: %s",
					     g_strerror(errno));
		out.holes = S_ISREG(st.st_mode);
		if (out.holes && ftruncate(out_fd, 0) < 0)
			return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, out.name, "cannot truncate: %s",
					     g_strerror(errno));
	}
	bool ok = expand(in, &out, max_raw_size, info, error);
	g_free(out.buf);
	return ok;
}

bool sepia_sparse_expand_fd(int in_fd, const char *in_name, int out_fd, uint64_t max_raw_size,
			    SepiaSparseInfo *info, GError **error)
{
	SparseIn in = { .name = in_name ? in_name : "(input)", .fd = in_fd };
	return expand_to(&in, out_fd, NULL, max_raw_size, info, error);
}

bool sepia_sparse_expand_buffer(const void *data, gsize len, const char *name, int out_fd,
				uint64_t max_raw_size, SepiaSparseInfo *info, GError **error)
{
	SparseIn in = { .name = name ? name : "(input)", .fd = -1, .data = data, .len = len };
	static const guint8 empty[1];
	if (!in.data) /* an empty buffer is still a buffer */
		in.data = empty, in.len = 0;
	return expand_to(&in, out_fd, NULL, max_raw_size, info, error);
}

bool sepia_sparse_expand_file(const char *in_path, const char *out_path, uint64_t max_raw_size,
			      SepiaSparseInfo *info, GError **error)
{
	int in_fd = open(in_path, O_RDONLY | O_CLOEXEC);
	if (in_fd < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, in_path, "cannot open: %s",
				     g_strerror(errno));
	g_autofree char *tmp = NULL;
	int out_fd = img_tmp_create(out_path, &tmp, error);
	if (out_fd < 0) {
		close(in_fd);
		return false;
	}
	SparseIn in = { .name = in_path, .fd = in_fd };
	bool ok = expand_to(&in, out_fd, out_path, max_raw_size, info, error);
	close(in_fd);
	if (!ok) {
		img_tmp_abort(out_fd, tmp);
		return false;
	}
	return img_tmp_commit(out_fd, tmp, out_path, error);
}

bool sepia_sparse_is_sparse_buffer(const void *data, gsize len)
{
	return len >= 4 && get_le32(data) == SEPIA_SPARSE_MAGIC;
}

bool sepia_sparse_is_sparse_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	guint8 m[4];
	bool yes = pread(fd, m, 4, 0) == 4 && get_le32(m) == SEPIA_SPARSE_MAGIC;
	close(fd);
	return yes;
}
