/* Opening qcow2 images: the header and its extensions are checked field by field (a
 * corrupt image is a one-line error naming the file and the field), then the L1 table,
 * the refcount table (writable opens) and the backing file are loaded.
 *
 * Writable opens of version 3 images set the dirty bit (incompatible feature bit 0) until a
 * clean close clears it. An image found dirty was not closed cleanly (a crash, SIGKILL):
 * clusters allocated for writes whose L2 entries never reached the file are leaked, so the
 * refcounts are rebuilt from the metadata before the image is written (qcow2_repair.c), as
 * QEMU does for dirty images. */
#include "block/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

#define QCOW2_MAGIC        0x514649fbu /* "QFI\xfb" */
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_SIZE     (1ULL << 56) /* 64 PiB: keeps offset arithmetic far from overflow */

#define EXT_END            0x00000000u
#define EXT_BACKING_FORMAT 0xe2792acau
#define EXT_EXTERNAL_DATA  0x44415441u
#define EXT_CRYPTO         0x0537be77u

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64_at(const uint8_t *p) { return (uint64_t)be32_at(p) << 32 | be32_at(p + 4); }

/* Checks the header fields and reads the header extensions; fills in q. */
static bool parse_header(struct qcow2 *q, const uint8_t *h, uint64_t hlen, char **backing, char **backing_fmt,
			 GError **error)
{
	const char *path = q->b.path;
#define CORRUPT(...)                                                                                  \
	do {                                                                                          \
		g_autofree char *why_ = g_strdup_printf(__VA_ARGS__);                                 \
		g_set_error(error, SEPIA_ERROR, EINVAL, "qcow2 image %s is corrupt: %s", path, why_); \
		return false;                                                                         \
	} while (0)
#define UNSUPPORTED(...)                                                                    \
	do {                                                                                \
		g_autofree char *why_ = g_strdup_printf(__VA_ARGS__);                       \
		g_set_error(error, SEPIA_ERROR, ENOTSUP, "qcow2 image %s: %s", path, why_); \
		return false;                                                               \
	} while (0)
	uint64_t cs = q->cluster_size;
	uint64_t backing_off = be64_at(h + 8);
	uint32_t backing_len = be32_at(h + 16);
	uint32_t crypt = be32_at(h + 32);
	uint32_t nb_snapshots = be32_at(h + 60);
	uint64_t incompat = 0, autoclear = 0;
	uint32_t refcount_order = 4, header_len = 72;
	if (q->version >= 3) {
		incompat = be64_at(h + 72);
		autoclear = be64_at(h + 88);
		refcount_order = be32_at(h + 96);
		header_len = be32_at(h + 100);
		if (header_len < 104 || header_len > cs || header_len > hlen)
			CORRUPT("header length %u is out of range", header_len);
	}
	if (crypt != 0)
		UNSUPPORTED("encrypted images (method %u) are not supported", crypt);
	if (incompat & QCOW2_INCOMPAT_CORRUPT)
		UNSUPPORTED("the image is marked corrupt; repair it with qemu-img check -r all");
	uint64_t unknown = incompat & ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT);
	if (unknown)
		UNSUPPORTED("incompatible features 0x%" PRIx64 " are not supported "
			    "(bit 2 external data file, 3 compression type, 4 extended L2)",
			    unknown);
	if (refcount_order != 4)
		UNSUPPORTED("refcount_order %u (%u-bit refcounts) is not supported, only 16-bit refcounts",
			    refcount_order, refcount_order < 32 ? 1u << refcount_order : 0);
	if (nb_snapshots && !q->b.readonly)
		UNSUPPORTED("images with internal snapshots (%u) can only be opened read-only", nb_snapshots);
	if (q->version >= 3 && header_len > 104 && h[104] != 0)
		CORRUPT("compression type %u without its incompatible feature bit", h[104]);

	if (backing_len) {
		if (backing_len > 1023)
			CORRUPT("backing file name is %u bytes (at most 1023)", backing_len);
		if (backing_off < header_len || backing_off > hlen || hlen - backing_off < backing_len)
			CORRUPT("backing file name at 0x%" PRIx64 " is outside the header cluster",
				backing_off);
		if (memchr(h + backing_off, 0, backing_len))
			CORRUPT("backing file name contains a NUL byte");
		*backing = g_strndup((const char *)h + backing_off, backing_len);
	}

	/* Header extensions: type, length, data padded to 8 bytes; up to the end of the
	 * header cluster. */
	uint64_t pos = header_len;
	while (pos + 8 <= hlen) {
		uint32_t type = be32_at(h + pos), len = be32_at(h + pos + 4);
		if (type == EXT_END)
			break;
		if (len > hlen - pos - 8)
			CORRUPT("header extension 0x%08x at 0x%" PRIx64 " runs past the header cluster", type,
				pos);
		const uint8_t *data = h + pos + 8;
		if (type == EXT_BACKING_FORMAT) {
			if (len == 0 || len > 31 || memchr(data, 0, len))
				CORRUPT("backing format extension has a bad name");
			g_free(*backing_fmt);
			*backing_fmt = g_strndup((const char *)data, len);
		} else if (type == EXT_EXTERNAL_DATA) {
			UNSUPPORTED("external data files are not supported");
		} else if (type == EXT_CRYPTO) {
			UNSUPPORTED("encryption is not supported");
		}
		pos += 8 + (((uint64_t)len + 7) & ~7ULL);
	}

	if (q->b.size > QCOW2_MAX_SIZE)
		CORRUPT("virtual size %" PRIu64 " is too large", q->b.size);
	uint64_t per_l1 = cs * q->l2_entries;
	uint64_t need = (q->b.size + per_l1 - 1) / per_l1;
	if (q->l1_size < need)
		CORRUPT("L1 table has %u entries, the virtual size needs %" PRIu64, q->l1_size, need);
	if ((uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		CORRUPT("L1 table has %u entries (too large)", q->l1_size);
	if (q->l1_size && (q->l1_offset == 0 || (q->l1_offset & (cs - 1))))
		CORRUPT("L1 table offset 0x%" PRIx64 " is not cluster aligned", q->l1_offset);
	if (q->l1_size &&
	    (q->l1_offset > q->file_size || q->file_size - q->l1_offset < (uint64_t)q->l1_size * 8))
		CORRUPT("L1 table at 0x%" PRIx64 " extends past the end of the file", q->l1_offset);
	q->autoclear = autoclear;
	q->incompat = incompat;
	return true;
#undef CORRUPT
#undef UNSUPPORTED
}

static struct block_backend *open_backing(const struct block_chain *chain, struct qcow2 *q, const char *name,
					  const char *fmt, GError **error)
{
	if (fmt && !block_format_name(fmt)) {
		g_set_error(error, SEPIA_ERROR, ENOTSUP,
			    "qcow2 image %s: backing format '%s' is not supported", q->b.path, fmt);
		return NULL;
	}
	return block_open_child(chain, "qcow2 image", q->b.path, "backing file", name, fmt, true, error);
}

/* Writable opens: a dirty image is repaired, stale autoclear bits are dropped, and a
 * version 3 image is marked dirty until its clean close. */
static bool prepare_writes(struct qcow2 *q, GError **error)
{
	if ((q->incompat & QCOW2_INCOMPAT_DIRTY) && !qcow2_repair_refcounts(q, error))
		return false;
	/* Autoclear bits describe data (e.g. bitmaps) that our writes make stale. */
	int ret = 0;
	if (q->autoclear) {
		uint64_t zero = 0;
		ret = qcow2_pwrite(q, &zero, 8, 88);
		if (ret == 0)
			q->autoclear = 0;
	}
	if (ret == 0 && q->version >= 3 && !(q->incompat & QCOW2_INCOMPAT_DIRTY)) {
		q->incompat |= QCOW2_INCOMPAT_DIRTY;
		ret = qcow2_write_incompat(q);
	} else if (ret == 0) {
		ret = qcow2_sync(q);
	}
	if (ret < 0) {
		g_set_error(error, SEPIA_ERROR, -ret, "cannot update the header of %s: %s", q->b.path,
			    g_strerror(-ret));
		return false;
	}
	q->clean_at_close = q->version >= 3;
	return true;
}

int qcow2_write_incompat(struct qcow2 *q)
{
	uint64_t be = GUINT64_TO_BE(q->incompat);
	int ret = qcow2_pwrite(q, &be, 8, 72);
	return ret < 0 ? ret : qcow2_sync(q);
}

struct block_backend *block_qcow2_open(const char *path, bool readonly, GError **error)
{
	struct block_chain chain;
	block_chain_init(&chain, path);
	struct block_backend *b = block_qcow2_open_in(&chain, path, readonly, error);
	block_chain_clear(&chain);
	return b;
}

struct block_backend *block_qcow2_open_in(const struct block_chain *chain, const char *path, bool readonly,
					  GError **error)
{
	struct qcow2 *q = g_new0(struct qcow2, 1);
	q->b.ops = &qcow2_ops;
	q->b.format = "qcow2";
	q->b.path = g_strdup(path);
	q->b.readonly = readonly;
	q->l1_dirty_lo = UINT32_MAX;
	g_mutex_init(&q->lock);
	g_autofree uint8_t *h = NULL;
	g_autofree char *backing = NULL, *backing_fmt = NULL;
	q->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	struct stat st;
	if (q->fd < 0 || fstat(q->fd, &st) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot open disk %s%s: %s", path,
			    readonly ? " read-only" : "", g_strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "disk %s is not a regular file or block device",
			    path);
		goto fail;
	}
	if (!block_lock_image(q->fd, path, !readonly, error))
		goto fail;
	q->file_size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : (uint64_t)lseek(q->fd, 0, SEEK_END);
	uint8_t fixed[104] = { 0 };
	int ret = qcow2_pread(q, fixed, sizeof(fixed), 0);
	if (ret < 0) {
		g_set_error(error, SEPIA_ERROR, -ret, "cannot read disk %s: %s", path, g_strerror(-ret));
		goto fail;
	}
	q->version = be32_at(fixed + 4);
	q->cluster_bits = be32_at(fixed + 20);
	if (be32_at(fixed) != QCOW2_MAGIC || q->file_size < 72) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "%s is not a qcow2 image (bad magic or too short)",
			    path);
		goto fail;
	}
	if (q->version != 2 && q->version != 3) {
		g_set_error(error, SEPIA_ERROR, ENOTSUP,
			    "qcow2 image %s: version %u is not supported (2 or 3)", path, q->version);
		goto fail;
	}
	if (q->cluster_bits < 9 || q->cluster_bits > 21) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "qcow2 image %s is corrupt: cluster_bits %u (512 B to 2 MiB clusters supported)",
			    path, q->cluster_bits);
		goto fail;
	}
	q->cluster_size = 1ULL << q->cluster_bits;
	q->l2_entries = q->cluster_size / 8;
	q->n_l2 = (unsigned int)CLAMP(QCOW2_L2_CACHE_BYTES / q->cluster_size, 4, 256);
	q->l2 = g_new0(struct qcow2_l2_slot, q->n_l2);
	q->b.size = be64_at(fixed + 24);
	q->l1_size = be32_at(fixed + 36);
	q->l1_offset = be64_at(fixed + 40);
	q->rt_offset = be64_at(fixed + 48);
	q->rt_clusters = be32_at(fixed + 56);
	uint64_t hlen = MIN(q->cluster_size, q->file_size);
	h = g_malloc0(q->cluster_size);
	if ((ret = qcow2_pread(q, h, hlen, 0)) < 0) {
		g_set_error(error, SEPIA_ERROR, -ret, "cannot read disk %s: %s", path, g_strerror(-ret));
		goto fail;
	}
	if (!parse_header(q, h, hlen, &backing, &backing_fmt, error))
		goto fail;

	q->l1 = g_new0(uint64_t, MAX(q->l1_size, 1));
	if ((ret = qcow2_pread(q, q->l1, (size_t)q->l1_size * 8, q->l1_offset)) < 0) {
		g_set_error(error, SEPIA_ERROR, -ret, "cannot read the L1 table of %s: %s", path,
			    g_strerror(-ret));
		goto fail;
	}
	for (uint32_t i = 0; i < q->l1_size; i++)
		q->l1[i] = GUINT64_FROM_BE(q->l1[i]);
	if (backing && !(q->backing = open_backing(chain, q, backing, backing_fmt, error)))
		goto fail;
	if (!readonly && (qcow2_refcount_init(q, error) < 0 || !prepare_writes(q, error)))
		goto fail;
	return &q->b;
fail:
	qcow2_ops.close(&q->b);
	return NULL;
}
