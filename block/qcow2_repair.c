/* Rebuilding a qcow2 image's refcounts from its metadata, for an image left dirty (opened
 * writable and not closed cleanly). Writes reach the file in the order qcow2.c keeps, so a
 * crash leaves clusters counted but unreferenced (a new data cluster or L2 table whose
 * entry was still in the write-back cache): leaks, which would otherwise stay allocated for
 * good and make the image grow on every crash.
 *
 * The count: the header cluster, the L1 table, the refcount table, every refcount block,
 * every L2 table and every cluster an L2 entry references (data, preallocated zero, and the
 * clusters a compressed entry's bytes touch). Images with internal snapshots are never
 * opened writable, so no snapshot tables are counted. Clusters of header extensions that
 * hold data elsewhere (persistent bitmaps) are not counted: their autoclear bit is dropped
 * by every writable open, which makes them stale, and QEMU then counts them as leaks too.
 *
 * Refcount blocks whose counts differ are rewritten whole, then synced; the file is cut
 * after its last used cluster. A crash in the middle leaves the dirty bit set, and the next
 * open counts again. Metadata that cannot be counted (a table past the end of the file, an
 * L2 table referenced twice, a used cluster without a refcount block) is refused, naming
 * the image: `qemu-img check -r all` can repair what this does not. */
#include "block/qcow2.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

struct count {
	struct qcow2 *q;
	uint16_t *refs; /* expected refcount per cluster of the file */
	uint64_t n;     /* clusters in the file */
	GError **error;
};

static bool refuse(struct count *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool refuse(struct count *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(c->error, SEPIA_ERROR, EINVAL,
		    "qcow2 image %s was not closed cleanly and its refcounts cannot be rebuilt: %s; "
		    "repair it with qemu-img check -r all",
		    c->q->b.path, why);
	return false;
}

/* One more reference to each cluster of the host range [off, off+len). */
static bool count_range(struct count *c, uint64_t off, uint64_t len, const char *what)
{
	uint64_t cs = c->q->cluster_size;
	if (len == 0)
		return true;
	if (off / cs >= c->n || (off + len - 1) / cs >= c->n || off + len < off)
		return refuse(c, "%s at 0x%" PRIx64 " lies past the end of the file", what, off);
	for (uint64_t i = off / cs; i <= (off + len - 1) / cs; i++) {
		if (c->refs[i] == UINT16_MAX)
			return refuse(c, "cluster 0x%" PRIx64 " has too many references", i * cs);
		c->refs[i]++;
	}
	return true;
}

static bool count_aligned(struct count *c, uint64_t off, uint64_t len, const char *what)
{
	if (off & (c->q->cluster_size - 1))
		return refuse(c, "%s at 0x%" PRIx64 " is not cluster aligned", what, off);
	return count_range(c, off, len, what);
}

/* The clusters an L2 table's entries reference. */
static bool count_l2_entries(struct count *c, const uint64_t *table)
{
	struct qcow2 *q = c->q;
	uint32_t x = 62 - (q->cluster_bits - 8); /* compressed entry: offset bits, then sectors */
	for (uint64_t k = 0; k < q->l2_entries; k++) {
		uint64_t e = GUINT64_FROM_BE(table[k]);
		if (e & QCOW2_OFLAG_COMPRESSED) {
			uint64_t off = e & ((1ULL << x) - 1);
			uint64_t sectors = ((e & ~QCOW2_OFLAG_COPIED & ~QCOW2_OFLAG_COMPRESSED) >> x) + 1;
			if (!count_range(c, off & ~511ULL, sectors * 512, "compressed data"))
				return false;
			continue;
		}
		uint64_t host = e & QCOW2_OFFSET_MASK;
		if (host && !count_aligned(c, host, q->cluster_size, "data cluster"))
			return false;
	}
	return true;
}

static bool count_metadata(struct count *c)
{
	struct qcow2 *q = c->q;
	uint64_t cs = q->cluster_size;
	if (!count_range(c, 0, cs, "header") ||
	    !count_aligned(c, q->l1_offset, (uint64_t)q->l1_size * 8, "L1 table") ||
	    !count_aligned(c, q->rt_offset, (uint64_t)q->rt_clusters * cs, "refcount table"))
		return false;
	for (uint64_t r = 0; r < q->rt_entries; r++) {
		uint64_t off = q->rt[r] & QCOW2_RT_OFFSET_MASK;
		if (off && !count_aligned(c, off, cs, "refcount block"))
			return false;
	}
	g_autofree uint64_t *table = g_malloc(cs);
	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t off = q->l1[i] & QCOW2_OFFSET_MASK;
		if (!off)
			continue;
		if (!count_aligned(c, off, cs, "L2 table"))
			return false;
		if (c->refs[off / cs] > 1)
			return refuse(c, "L2 table at 0x%" PRIx64 " is used twice", off);
		int ret = qcow2_pread(q, table, cs, off);
		if (ret < 0) {
			g_set_error(c->error, SEPIA_ERROR, -ret, "cannot read an L2 table of %s: %s",
				    q->b.path, g_strerror(-ret));
			return false;
		}
		if (!count_l2_entries(c, table))
			return false;
	}
	return true;
}

/* Rewrites the refcount blocks that differ from c->refs; counts what changed. */
static bool write_refcounts(struct count *c, uint64_t *leaked, uint64_t *raised)
{
	struct qcow2 *q = c->q;
	uint64_t cs = q->cluster_size, per = q->rb_entries;
	g_autofree uint8_t *block = g_malloc(cs);
	g_autofree uint8_t *want = g_malloc(cs);
	for (uint64_t r = 0; r < q->rt_entries; r++) {
		uint64_t off = q->rt[r] & QCOW2_RT_OFFSET_MASK;
		uint64_t first = r * per;
		if (!off) {
			for (uint64_t i = first; i < c->n && i < first + per; i++)
				if (c->refs[i])
					return refuse(c,
						      "cluster 0x%" PRIx64
						      " is in use but has no refcount block",
						      i * cs);
			continue;
		}
		int ret = qcow2_pread(q, block, cs, off);
		if (ret < 0) {
			g_set_error(c->error, SEPIA_ERROR, -ret, "cannot read a refcount block of %s: %s",
				    q->b.path, g_strerror(-ret));
			return false;
		}
		bool differs = false;
		for (uint64_t k = 0; k < per; k++) {
			uint16_t have = (uint16_t)(block[2 * k] << 8 | block[2 * k + 1]);
			uint16_t should = first + k < c->n ? c->refs[first + k] : 0;
			want[2 * k] = (uint8_t)(should >> 8);
			want[2 * k + 1] = (uint8_t)should;
			if (have > should)
				(*leaked)++;
			else if (have < should)
				(*raised)++;
			differs |= have != should;
		}
		if (differs && (ret = qcow2_pwrite(q, want, cs, off)) < 0) {
			g_set_error(c->error, SEPIA_ERROR, -ret, "cannot write a refcount block of %s: %s",
				    q->b.path, g_strerror(-ret));
			return false;
		}
		qcow2_refcount_forget(q, off);
	}
	uint64_t beyond = q->rt_entries * per;
	for (uint64_t i = beyond; i < c->n; i++)
		if (c->refs[i])
			return refuse(c, "cluster 0x%" PRIx64 " lies past what the refcount table covers",
				      i * cs);
	return true;
}

bool qcow2_repair_refcounts(struct qcow2 *q, GError **error)
{
	uint64_t cs = q->cluster_size;
	struct count c = { .q = q, .n = (q->file_size + cs - 1) / cs, .error = error };
	c.refs = g_try_new0(uint16_t, MAX(c.n, 1));
	if (!c.refs) {
		g_set_error(error, SEPIA_ERROR, ENOMEM,
			    "qcow2 image %s was not closed cleanly and is too large to recount in memory; "
			    "repair it with qemu-img check -r leaks",
			    q->b.path);
		return false;
	}
	uint64_t leaked = 0, raised = 0;
	bool ok = count_metadata(&c) && write_refcounts(&c, &leaked, &raised);
	int ret = ok ? qcow2_sync(q) : 0;
	if (ret < 0) {
		g_set_error(error, SEPIA_ERROR, -ret, "cannot sync %s: %s", q->b.path, g_strerror(-ret));
		ok = false;
	}
	uint64_t last = 0; /* one past the last used cluster */
	for (uint64_t i = 0; ok && i < c.n; i++)
		if (c.refs[i])
			last = i + 1;
	g_free(c.refs);
	if (!ok)
		return false;
	uint64_t old_size = q->file_size;
	struct stat st;
	if (last * cs < q->file_size && fstat(q->fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    ftruncate(q->fd, (off_t)(last * cs)) == 0)
		q->file_size = last * cs;
	q->alloc_end = (q->file_size + cs - 1) / cs;
	q->free_hint = 0;
	if (leaked || raised || q->file_size != old_size)
		g_warning("qcow2 image %s was not closed cleanly: %" PRIu64 " leaked clusters freed, %" PRIu64
			  " under-counted clusters fixed, file cut from %" PRIu64 " to %" PRIu64 " bytes",
			  q->b.path, leaked, raised, old_size, q->file_size);
	return true;
}
