/* images/overlay.c — writes an empty qcow2 v3 overlay. Facts from QEMU's docs/interop/qcow2.txt:
 * big-endian header of 104 bytes for version 3 (header_length field at 100), header extensions
 * after it (type, length, data padded to 8 bytes; type 0 ends the list; 0xe2792aca = backing
 * file format name), refcount table entries are host offsets of refcount blocks, refcount
 * entries are 2^refcount_order bits (order 4: 16-bit), every L2 table holds cluster_size/8
 * entries, so one L1 entry covers cluster_size^2/8 bytes (512 MiB at 64 KiB). */
#include "images/overlay.h"

#include "images/common.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define CLUSTER            ((uint64_t)1 << OVERLAY_CLUSTER_BITS)
#define HEADER_LENGTH      104u
#define EXT_BACKING_FORMAT 0xe2792acau
#define REFCOUNT_ORDER     4u
#define BACKING_NAME_MAX   1023u

static bool pwrite_all(int fd, const guint8 *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return true;
}

bool overlay_create(const char *path, const char *backing, const char *backing_format, uint64_t size,
		    GError **error)
{
	size_t blen = backing ? strlen(backing) : 0;
	size_t flen = backing_format ? strlen(backing_format) : 0;
	if (size % 512)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, path,
				     "virtual size %" G_GUINT64_FORMAT " is not a multiple of 512", size);
	if (blen > BACKING_NAME_MAX)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, path,
				     "backing file name is %zu bytes (at most %u)", blen, BACKING_NAME_MAX);
	if (backing_format && (!backing || flen == 0 || flen > 255))
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, path, "bad backing format '%s'",
				     backing_format);

	/* One L1 entry per cluster_size^2/8 bytes of guest disk. */
	uint64_t per_l1 = CLUSTER * (CLUSTER / 8);
	uint64_t l1_size = size / per_l1 + (size % per_l1 != 0);
	uint64_t l1_clusters = (l1_size * 8 + CLUSTER - 1) / CLUSTER; /* none for an empty disk */
	uint64_t n_clusters = 3 + l1_clusters; /* header, refcount table, refcount block, L1 */
	if (l1_size > UINT32_MAX || n_clusters > CLUSTER * 8 / (1u << REFCOUNT_ORDER))
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, path,
				     "virtual size %" G_GUINT64_FORMAT " is too large", size);

	g_autofree guint8 *c = g_malloc0(3 * CLUSTER);
	guint8 *h = c, *rt = c + CLUSTER, *rb = c + 2 * CLUSTER;
	memcpy(h, "QFI\xfb", 4);
	put_be32(h + 4, 3);
	put_be32(h + 20, OVERLAY_CLUSTER_BITS);
	put_be64(h + 24, size);
	put_be32(h + 32, 0); /* no encryption */
	put_be32(h + 36, (uint32_t)l1_size);
	put_be64(h + 40, 3 * CLUSTER); /* L1 table */
	put_be64(h + 48, CLUSTER);     /* refcount table */
	put_be32(h + 56, 1);           /* refcount table clusters */
	/* no snapshots; incompatible/compatible/autoclear features all 0 */
	put_be32(h + 96, REFCOUNT_ORDER);
	put_be32(h + 100, HEADER_LENGTH);
	size_t off = HEADER_LENGTH;
	if (backing_format) {
		put_be32(h + off, EXT_BACKING_FORMAT);
		put_be32(h + off + 4, (uint32_t)flen);
		memcpy(h + off + 8, backing_format, flen);
		off += 8 + ((flen + 7) & ~(size_t)7);
	}
	off += 8; /* end-of-extensions: type 0, length 0 */
	if (backing) {
		put_be64(h + 8, off);
		put_be32(h + 16, (uint32_t)blen);
		memcpy(h + off, backing, blen);
	}
	put_be64(rt, 2 * CLUSTER); /* the one refcount block */
	for (uint64_t i = 0; i < n_clusters; i++)
		rb[2 * i + 1] = 1; /* 16-bit big-endian refcount 1 */

	g_autofree char *tmp = NULL;
	int fd = img_tmp_create(path, &tmp, error);
	if (fd < 0)
		return false;
	if (!pwrite_all(fd, c, 3 * CLUSTER, 0) || ftruncate(fd, (off_t)(n_clusters * CLUSTER)) < 0) {
		int e = errno;
		img_tmp_abort(fd, tmp);
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "cannot write: %s",
				     g_strerror(e ? e : EIO));
	}
	return img_tmp_commit(fd, tmp, path, error);
}

bool overlay_recreate(const char *path, const char *backing, const char *backing_format, uint64_t size,
		      GError **error)
{
	if (g_unlink(path) < 0 && errno != ENOENT)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "cannot delete: %s",
				     g_strerror(errno));
	return overlay_create(path, backing, backing_format, size, error);
}
