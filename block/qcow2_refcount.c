/* qcow2 refcounts: the refcount table, 16-bit refcount blocks, and cluster allocation.
 *
 * Ordering rules kept here (the caller keeps the L2 side):
 * - a cluster's refcount is written before the cluster is referenced: the L1/L2 entries
 *   pointing at it reach the file only after an fdatasync (see qcow2.c, qcow2_flush_locked);
 * - a new refcount block is written and synced before the table entry that points at it;
 * - a grown refcount table (with the blocks describing it) is written and synced before the
 *   header points at it, and the old table is freed only afterwards.
 * Refcount updates are written through (two bytes at a time); a tiny cache keeps the last
 * few blocks so allocation scans do not re-read them. */
#include "common/byteorder.h"
#include "block/qcow2.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"

#define QCOW2_MAX_RT_BYTES (8u << 20)

/* The cached refcount block for table index r, or *out = NULL when it is not allocated. */
static int rb_get(struct qcow2 *q, uint64_t r, struct qcow2_rb_slot **out)
{
	*out = NULL;
	if (r >= q->rt_entries || q->rt[r] == 0)
		return 0;
	uint64_t off = q->rt[r];
	if ((off & ~QCOW2_RT_OFFSET_MASK) || !qcow2_cluster_in_file(q, off)) {
		qcow2_report(q,
			     "refcount block %" PRIu64 " at offset 0x%" PRIx64
			     " is misaligned or past the end of the file",
			     r, off);
		return -EIO;
	}
	struct qcow2_rb_slot *victim = &q->rb[0];
	for (int i = 0; i < QCOW2_RB_CACHE; i++) {
		if (q->rb[i].offset == off) {
			q->rb[i].used = ++q->clock;
			*out = &q->rb[i];
			return 0;
		}
		if (q->rb[i].used < victim->used)
			victim = &q->rb[i];
	}
	if (!victim->block)
		victim->block = g_malloc(q->cluster_size);
	victim->offset = 0;
	int ret = qcow2_pread(q, victim->block, q->cluster_size, off);
	if (ret < 0)
		return ret;
	victim->offset = off;
	victim->used = ++q->clock;
	*out = victim;
	return 0;
}

void qcow2_refcount_forget(struct qcow2 *q, uint64_t off)
{
	for (int i = 0; i < QCOW2_RB_CACHE; i++)
		if (q->rb[i].offset == off)
			q->rb[i].offset = 0;
}

static int get_refcount(struct qcow2 *q, uint64_t idx, uint16_t *rc)
{
	struct qcow2_rb_slot *s;
	int ret = rb_get(q, idx / q->rb_entries, &s);
	if (ret < 0)
		return ret;
	*rc = s ? get_be16(s->block + (idx % q->rb_entries) * 2) : 0;
	return 0;
}

int qcow2_set_refcount(struct qcow2 *q, uint64_t idx, uint16_t v)
{
	struct qcow2_rb_slot *s;
	int ret = rb_get(q, idx / q->rb_entries, &s);
	if (ret < 0)
		return ret;
	if (!s)
		return -EIO;
	uint8_t *p = s->block + (idx % q->rb_entries) * 2;
	put_be16(p, v);
	ret = qcow2_pwrite(q, p, 2, s->offset + (idx % q->rb_entries) * 2);
	if (ret < 0) {
		s->offset = 0; /* the cached copy no longer matches the file */
		return ret;
	}
	if (v && idx + 1 > q->alloc_end)
		q->alloc_end = idx + 1;
	return 0;
}

static bool rt_covered(struct qcow2 *q, uint64_t r) { return r < q->rt_entries && q->rt[r] != 0; }

/* Moves the refcount table to a bigger place at the end of the image. The new table and
 * any refcount blocks that must be created to count it are placed together at the end,
 * and they count themselves. */
static int grow_table(struct qcow2 *q, uint64_t need_entries)
{
	uint64_t cs = q->cluster_size, per_cluster = cs / 8, rbe = q->rb_entries;
	uint64_t want = MAX(need_entries, q->rt_entries * 2);
	uint64_t start = MAX(q->alloc_end, (q->file_size + cs - 1) / cs);
	uint64_t tn, bn, total;
	for (;;) {
		tn = (want + per_cluster - 1) / per_cluster;
		bn = 0;
		for (;;) {
			total = tn + bn;
			uint64_t r0 = start / rbe, r1 = (start + total - 1) / rbe, count = 0;
			for (uint64_t r = r0; r <= r1; r++)
				count += !rt_covered(q, r);
			uint64_t tn2 = MAX(tn, (MAX(want, r1 + 1) + per_cluster - 1) / per_cluster);
			if (count == bn && tn2 == tn)
				break;
			bn = count;
			tn = tn2;
		}
		if (tn * cs > QCOW2_MAX_RT_BYTES)
			return -ENOSPC;
		/* The region must be free in the blocks that already exist. */
		uint64_t busy = 0;
		for (uint64_t x = start; x < start + total && !busy; x++) {
			uint16_t rc;
			int ret = get_refcount(q, x, &rc);
			if (ret < 0)
				return ret;
			if (rc)
				busy = x + 1;
		}
		if (!busy)
			break;
		start = busy;
	}

	uint64_t new_entries = tn * per_cluster;
	uint64_t *new_rt = g_new0(uint64_t, new_entries);
	memcpy(new_rt, q->rt, q->rt_entries * sizeof(uint64_t));
	uint8_t *blocks = g_malloc0(MAX(bn, 1) * cs);
	uint64_t *block_range = g_new0(uint64_t, MAX(bn, 1));
	uint64_t k = 0;
	for (uint64_t r = start / rbe; r <= (start + total - 1) / rbe; r++) {
		if (!rt_covered(q, r)) {
			block_range[k] = r;
			new_rt[r] = (start + tn + k) * cs;
			k++;
		}
	}
	int ret = 0;
	for (uint64_t x = start; x < start + total && ret == 0; x++) {
		uint64_t r = x / rbe;
		uint64_t j;
		for (j = 0; j < bn && block_range[j] != r; j++)
			;
		if (j < bn)
			put_be16(blocks + j * cs + (x % rbe) * 2, 1);
		else
			ret = qcow2_set_refcount(q, x, 1);
	}
	if (ret == 0 && bn)
		ret = qcow2_pwrite(q, blocks, bn * cs, (start + tn) * cs);
	if (ret == 0) {
		uint64_t *be = g_new(uint64_t, new_entries);
		for (uint64_t i = 0; i < new_entries; i++)
			be[i] = GUINT64_TO_BE(new_rt[i]);
		ret = qcow2_pwrite(q, be, new_entries * 8, start * cs);
		g_free(be);
	}
	if (ret == 0)
		ret = qcow2_sync(q);
	if (ret == 0) {
		uint8_t hdr[12];
		uint64_t off_be = GUINT64_TO_BE(start * cs);
		uint32_t n_be = GUINT32_TO_BE((uint32_t)tn);
		memcpy(hdr, &off_be, 8);
		memcpy(hdr + 8, &n_be, 4);
		ret = qcow2_pwrite(q, hdr, sizeof(hdr), 48);
	}
	if (ret == 0)
		ret = qcow2_sync(q);
	g_free(blocks);
	g_free(block_range);
	if (ret < 0) {
		/* Clusters counted above stay counted: a leak, never a double use. */
		g_free(new_rt);
		return ret;
	}
	uint64_t old_off = q->rt_offset, old_clusters = q->rt_clusters;
	g_free(q->rt);
	q->rt = new_rt;
	q->rt_entries = new_entries;
	q->rt_offset = start * cs;
	q->rt_clusters = (uint32_t)tn;
	if (start + total > q->alloc_end)
		q->alloc_end = start + total;
	for (uint64_t i = 0; i < old_clusters; i++) {
		ret = qcow2_free_cluster(q, old_off + i * cs);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Makes sure the refcount block covering cluster idx exists. A new block is placed at
 * the first cluster of the range it covers (free, since nothing there is counted yet),
 * so it counts itself. */
static int ensure_block(struct qcow2 *q, uint64_t idx)
{
	uint64_t r = idx / q->rb_entries;
	int ret;
	if (r >= q->rt_entries && (ret = grow_table(q, r + 1)) < 0)
		return ret;
	if (q->rt[r])
		return 0;
	uint64_t b = r * q->rb_entries;
	if (b == 0) {
		qcow2_report(q, "refcount table has no block for the header cluster");
		return -EIO;
	}
	uint8_t *block = g_malloc0(q->cluster_size);
	put_be16(block, 1);
	uint64_t off = b * q->cluster_size;
	ret = qcow2_pwrite(q, block, q->cluster_size, off);
	g_free(block);
	if (ret == 0)
		ret = qcow2_sync(q);
	if (ret < 0)
		return ret;
	uint64_t be = GUINT64_TO_BE(off);
	ret = qcow2_pwrite(q, &be, 8, q->rt_offset + r * 8);
	if (ret < 0)
		return ret;
	q->rt[r] = off;
	qcow2_refcount_forget(q, off);
	if (b + 1 > q->alloc_end)
		q->alloc_end = b + 1;
	return 0;
}

/* Whether the cluster at off is the header, part of the L1 or refcount table, a refcount
 * block or an L2 table: a corrupt image can give any of them refcount 0, and handing one out
 * as a new cluster would let guest data and metadata overwrite each other (fuzz-qcow2 found
 * a refcount block handed out so). The scans are over the in-memory tables, once per
 * allocated cluster. */
static bool holds_metadata(struct qcow2 *q, uint64_t off)
{
	uint64_t cs = q->cluster_size;
	if (off < cs || (off < q->l1_offset + (uint64_t)q->l1_size * 8 && off + cs > q->l1_offset) ||
	    (off < q->rt_offset + (uint64_t)q->rt_clusters * cs && off + cs > q->rt_offset))
		return true;
	for (uint64_t r = 0; r < q->rt_entries; r++)
		if ((q->rt[r] & QCOW2_RT_OFFSET_MASK) == off)
			return true;
	for (uint32_t i = 0; i < q->l1_size; i++)
		if ((q->l1[i] & QCOW2_OFFSET_MASK) == off)
			return true;
	return false;
}

int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *out)
{
	uint64_t max_idx = (QCOW2_OFFSET_MASK >> q->cluster_bits);
	for (;;) {
		uint64_t idx = q->free_hint;
		uint16_t rc = 1;
		for (; idx < max_idx; idx++) {
			int ret = get_refcount(q, idx, &rc);
			if (ret < 0)
				return ret;
			if (rc == 0)
				break;
		}
		if (idx >= max_idx)
			return -ENOSPC;
		q->free_hint = idx;
		int ret = ensure_block(q, idx);
		if (ret < 0)
			return ret;
		if ((ret = get_refcount(q, idx, &rc)) < 0)
			return ret;
		if (rc != 0)
			continue; /* taken by a refcount block or table just created */
		/* A free cluster holding metadata means the refcounts are wrong: stop before
		 * data lands on the header, a table or a refcount block. */
		uint64_t off = idx << q->cluster_bits;
		if (holds_metadata(q, off)) {
			qcow2_report(q, "metadata cluster 0x%" PRIx64 " has refcount 0", off);
			return -EIO;
		}
		if ((ret = qcow2_set_refcount(q, idx, 1)) < 0)
			return ret;
		q->free_hint = idx + 1;
		q->allocs++;
		*out = off;
		return 0;
	}
}

int qcow2_free_cluster(struct qcow2 *q, uint64_t off)
{
	uint64_t idx = off >> q->cluster_bits;
	uint16_t rc;
	int ret = get_refcount(q, idx, &rc);
	if (ret < 0)
		return ret;
	if (rc == 0) {
		qcow2_report(q, "freeing cluster 0x%" PRIx64 " whose refcount is already 0", off);
		return -EIO;
	}
	if ((ret = qcow2_set_refcount(q, idx, (uint16_t)(rc - 1))) < 0)
		return ret;
	if (rc == 1 && idx < q->free_hint)
		q->free_hint = idx;
	return 0;
}

int qcow2_get_refcount(struct qcow2 *q, uint64_t off, uint16_t *rc)
{
	return get_refcount(q, off >> q->cluster_bits, rc);
}

int qcow2_refcount_init(struct qcow2 *q, GError **error)
{
	uint64_t bytes = (uint64_t)q->rt_clusters * q->cluster_size;
	const char *bad = NULL;
	if (q->rt_clusters == 0)
		bad = "refcount table has size 0";
	else if (bytes > QCOW2_MAX_RT_BYTES)
		bad = "refcount table is larger than 8 MiB";
	else if (q->rt_offset == 0 || (q->rt_offset & (q->cluster_size - 1)))
		bad = "refcount table offset is not cluster aligned";
	else if (q->rt_offset > q->file_size || q->file_size - q->rt_offset < bytes)
		bad = "refcount table extends past the end of the file";
	if (bad) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "qcow2 image %s is corrupt: %s", q->b.path, bad);
		return -EINVAL;
	}
	q->rt_entries = bytes / 8;
	q->rt = g_malloc(bytes);
	int ret = qcow2_pread(q, q->rt, bytes, q->rt_offset);
	if (ret < 0) {
		g_set_error(error, SEPIA_ERROR, -ret, "cannot read the refcount table of %s: %s", q->b.path,
			    g_strerror(-ret));
		return ret;
	}
	for (uint64_t i = 0; i < q->rt_entries; i++)
		q->rt[i] = GUINT64_FROM_BE(q->rt[i]);
	q->rb_entries = q->cluster_size * 8 / 16;
	q->alloc_end = (q->file_size + q->cluster_size - 1) / q->cluster_size;
	q->free_hint = 0;
	return 0;
}

void qcow2_refcount_free(struct qcow2 *q)
{
	for (int i = 0; i < QCOW2_RB_CACHE; i++)
		g_free(q->rb[i].block);
	g_free(q->rt);
}
