/* qcow2 images (versions 2 and 3, 16-bit refcounts) with backing chains: the guest's
 * clusters are mapped through the L1 table and L2 tables; clusters the image does not
 * hold come from the backing file, or read as zeroes.
 *
 * Consistency: data clusters and refcounts are written first; changed L2 entries (and L1
 * entries for new L2 tables) stay in a small write-back cache and reach the file only
 * after an fdatasync — on a guest flush, on cache eviction, or at close. A crash therefore
 * loses unflushed guest writes (as a disk's write cache does) but can at worst leak
 * clusters, never point at unwritten data or uncounted clusters. The dirty bit a writable
 * open sets stays set after a crash (or a failed update), and the next writable open gives
 * the leaked clusters back (qcow2_repair.c).
 *
 * Not supported: compressed clusters (read as EIO), encryption, external data files,
 * extended L2 entries, refcount widths other than 16 bits, writing images with internal
 * snapshots. */
#include "block/qcow2.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"

enum cluster_kind { C_UNALLOC, C_ZERO, C_NORMAL, C_COMPRESSED };

static struct qcow2 *to_q(struct block_backend *b) { return (struct qcow2 *)b; }

void qcow2_report(struct qcow2 *q, const char *fmt, ...)
{
	static unsigned int reports;
	if (reports >= 20)
		return;
	reports++;
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_warning("qcow2 image %s: %s", q->b.path, msg);
}

/* preadv/pwritev of a whole (modifiable) iovec; reads past EOF give zeroes. */
static int fd_vec(struct qcow2 *q, struct iovec *iov, int n, uint64_t off, bool write)
{
	uint64_t len = block_iov_length(iov, n);
	int ret = block_fd_rw(q->fd, iov, n, off, write);
	if (ret == 0 && write) {
		q->file_size = MAX(q->file_size, off + len);
		q->unsynced = true;
	}
	return ret;
}

int qcow2_pread(struct qcow2 *q, void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { buf, len };
	return fd_vec(q, &iov, 1, off, false);
}

int qcow2_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { (void *)buf, len };
	return fd_vec(q, &iov, 1, off, true);
}

int qcow2_sync(struct qcow2 *q)
{
	if (fdatasync(q->fd) < 0)
		return -errno;
	q->unsynced = false;
	return 0;
}

static void iov_copy(const struct iovec *iov, int cnt, uint64_t skip, uint8_t *buf, uint64_t len, bool to_buf)
{
	for (int i = 0; i < cnt && len > 0; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t take = (size_t)MIN(iov[i].iov_len - skip, len);
		uint8_t *p = (uint8_t *)iov[i].iov_base + skip;
		if (!buf)
			memset(p, 0, take);
		else if (to_buf)
			memcpy(buf, p, take);
		else
			memcpy(p, buf, take);
		if (buf)
			buf += take;
		len -= take;
		skip = 0;
	}
}

/* Reads guest bytes [pos, pos+len) from the backing file into iov at skip: zeroes where
 * there is no backing file or it is shorter. */
static int backing_read(struct qcow2 *q, const struct iovec *iov, int cnt, uint64_t skip, uint64_t pos,
			uint64_t len)
{
	uint64_t have = 0;
	if (q->backing && pos < q->backing->size)
		have = MIN(len, q->backing->size - pos);
	if (have) {
		struct iovec *sub = g_new(struct iovec, cnt);
		int n = block_iov_slice(iov, cnt, skip, have, sub);
		int ret = q->backing->ops->preadv(q->backing, sub, n, pos);
		g_free(sub);
		if (ret < 0)
			return ret;
	}
	if (have < len)
		iov_copy(iov, cnt, skip + have, NULL, len - have, false);
	return 0;
}

static int l2_writeback(struct qcow2 *q, struct qcow2_l2_slot *s)
{
	if (!s->dirty)
		return 0;
	int ret = q->unsynced ? qcow2_sync(q) : 0;
	if (ret == 0)
		ret = qcow2_pwrite(q, s->table, q->cluster_size, s->offset);
	if (ret < 0)
		return ret;
	/* L2 contents need not be durable before anything else: the tables were zeroed on
	 * disk (and synced) before any L1 entry pointed at them. */
	q->unsynced = false;
	s->dirty = false;
	return 0;
}

/* The cached L2 table for l1 index i; with alloc, a missing table is created. *out is
 * NULL when the table is not allocated (and alloc is false). */
static int l2_get(struct qcow2 *q, uint64_t i, bool alloc, struct qcow2_l2_slot **out)
{
	*out = NULL;
	if (i >= q->l1_size) {
		qcow2_report(q, "L1 index %" PRIu64 " out of range", i);
		return -EIO;
	}
	uint64_t off = q->l1[i] & QCOW2_OFFSET_MASK;
	bool fresh = false;
	if (off == 0) {
		if (!alloc)
			return 0;
		int ret = qcow2_alloc_cluster(q, &off);
		if (ret < 0)
			return ret;
		uint8_t *zero = g_malloc0(q->cluster_size);
		ret = qcow2_pwrite(q, zero, q->cluster_size, off);
		g_free(zero);
		if (ret < 0)
			return ret;
		q->l1[i] = off | QCOW2_OFLAG_COPIED;
		q->l1_dirty_lo = MIN(q->l1_dirty_lo, (uint32_t)i);
		q->l1_dirty_hi = MAX(q->l1_dirty_hi, (uint32_t)i + 1);
		fresh = true;
	} else if (!qcow2_cluster_in_file(q, off)) {
		qcow2_report(q,
			     "L2 table at 0x%" PRIx64 " (L1 index %" PRIu64
			     ") is misaligned or past the end of the file",
			     off, i);
		return -EIO;
	}
	struct qcow2_l2_slot *victim = &q->l2[0];
	for (unsigned int k = 0; k < q->n_l2; k++) {
		if (q->l2[k].offset == off && !fresh) {
			q->l2[k].used = ++q->clock;
			*out = &q->l2[k];
			return 0;
		}
		if (q->l2[k].used < victim->used)
			victim = &q->l2[k];
	}
	int ret = 0;
	if (victim->dirty) {
		/* One fdatasync orders every pending L2 update: write them all back now. */
		for (unsigned int k = 0; k < q->n_l2 && ret == 0; k++)
			ret = l2_writeback(q, &q->l2[k]);
		if (ret < 0)
			return ret;
	}
	if (!victim->table)
		victim->table = g_malloc(q->cluster_size);
	victim->offset = 0;
	if (fresh)
		memset(victim->table, 0, q->cluster_size);
	else if ((ret = qcow2_pread(q, victim->table, q->cluster_size, off)) < 0)
		return ret;
	victim->offset = off;
	victim->used = ++q->clock;
	*out = victim;
	return 0;
}

/* What the guest cluster holding pos is; *entry is its L2 entry (0 if none). */
static int classify(struct qcow2 *q, uint64_t pos, bool alloc, struct qcow2_l2_slot **slot, uint64_t *idx,
		    uint64_t *entry, enum cluster_kind *kind, uint64_t *host)
{
	uint64_t l2_bits = q->cluster_bits - 3;
	struct qcow2_l2_slot *s;
	int ret = l2_get(q, pos >> (q->cluster_bits + l2_bits), alloc, &s);
	if (ret < 0)
		return ret;
	*idx = (pos >> q->cluster_bits) & (q->l2_entries - 1);
	*slot = s;
	uint64_t e = s ? GUINT64_FROM_BE(s->table[*idx]) : 0;
	*entry = e;
	*host = e & QCOW2_OFFSET_MASK;
	if (e & QCOW2_OFLAG_COMPRESSED) {
		*kind = C_COMPRESSED;
		return 0;
	}
	if ((e & QCOW2_OFLAG_ZERO) && q->version >= 3)
		*kind = C_ZERO;
	else if (*host == 0)
		*kind = C_UNALLOC;
	else
		*kind = C_NORMAL;
	if (*host && ((*host & (q->cluster_size - 1)) || *host >= q->file_size)) {
		qcow2_report(q,
			     "data cluster 0x%" PRIx64 " for guest offset 0x%" PRIx64
			     " is misaligned or past the end of the file",
			     *host, pos);
		return -EIO;
	}
	return 0;
}

static void set_entry(struct qcow2_l2_slot *s, uint64_t idx, uint64_t e)
{
	s->table[idx] = GUINT64_TO_BE(e);
	s->dirty = true;
}

static int qcow2_flush_locked(struct qcow2 *q)
{
	int ret = qcow2_sync(q);
	bool wrote = false;
	for (unsigned int k = 0; k < q->n_l2 && ret == 0; k++) {
		wrote |= q->l2[k].dirty;
		ret = l2_writeback(q, &q->l2[k]);
	}
	if (ret == 0 && q->l1_dirty_lo < q->l1_dirty_hi) {
		uint32_t n = q->l1_dirty_hi - q->l1_dirty_lo;
		uint64_t *be = g_new(uint64_t, n);
		for (uint32_t i = 0; i < n; i++)
			be[i] = GUINT64_TO_BE(q->l1[q->l1_dirty_lo + i]);
		ret = qcow2_pwrite(q, be, (size_t)n * 8, q->l1_offset + (uint64_t)q->l1_dirty_lo * 8);
		g_free(be);
		if (ret == 0) {
			q->l1_dirty_lo = UINT32_MAX;
			q->l1_dirty_hi = 0;
			wrote = true;
		}
	}
	if (ret == 0 && wrote)
		ret = qcow2_sync(q);
	return ret;
}

static int qcow2_preadv(struct block_backend *b, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct qcow2 *q = to_q(b);
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	uint64_t len = block_iov_length(iov, iovcnt);
	struct iovec *sub = g_new(struct iovec, MAX(iovcnt, 1));
	uint64_t cs = q->cluster_size, done = 0;
	int ret = 0;
	g_mutex_lock(&q->lock);
	while (done < len && ret == 0) {
		uint64_t pos = off + done;
		if (pos >= q->b.size || pos < off) {
			iov_copy(iov, iovcnt, done, NULL, len - done, false);
			break;
		}
		uint64_t chunk = MIN(len - done, q->b.size - pos);
		struct qcow2_l2_slot *s;
		uint64_t idx, e, host, nhost;
		enum cluster_kind kind, nkind;
		if ((ret = classify(q, pos, false, &s, &idx, &e, &kind, &host)) < 0)
			break;
		uint64_t n = MIN(chunk, cs - pos % cs);
		/* Extend the run over following clusters read the same way. */
		while (n < chunk && kind != C_COMPRESSED) {
			if ((ret = classify(q, pos + n, false, &s, &idx, &e, &nkind, &nhost)) < 0)
				break;
			if (nkind != kind || (kind == C_NORMAL && nhost != host + pos % cs + n))
				break;
			n += MIN(cs, chunk - n);
		}
		if (ret < 0)
			break;
		switch (kind) {
		case C_NORMAL: {
			int cnt = block_iov_slice(iov, iovcnt, done, n, sub);
			ret = fd_vec(q, sub, cnt, host + pos % cs, false);
			break;
		}
		case C_UNALLOC:
			ret = backing_read(q, iov, iovcnt, done, pos, n);
			break;
		case C_ZERO:
			iov_copy(iov, iovcnt, done, NULL, n, false);
			break;
		case C_COMPRESSED:
			qcow2_report(q,
				     "compressed cluster at guest offset 0x%" PRIx64
				     " (compressed clusters are not supported)",
				     pos - pos % cs);
			ret = -EIO;
			break;
		}
		done += n;
	}
	g_mutex_unlock(&q->lock);
	g_free(sub);
	return ret;
}

/* Writes [pos, pos+n) (inside one cluster) from iov at skip. cow is a cluster-sized
 * scratch buffer. */
static int write_chunk(struct qcow2 *q, uint64_t pos, uint64_t n, const struct iovec *iov, int iovcnt,
		       uint64_t skip, struct iovec *sub, uint8_t *cow)
{
	uint64_t cs = q->cluster_size, in = pos % cs;
	struct qcow2_l2_slot *s;
	uint64_t idx, e, host;
	enum cluster_kind kind;
	int ret = classify(q, pos, true, &s, &idx, &e, &kind, &host);
	if (ret < 0)
		return ret;
	if (kind == C_COMPRESSED) {
		qcow2_report(q,
			     "write to compressed cluster at guest offset 0x%" PRIx64
			     " (compressed clusters are not supported)",
			     pos - in);
		return -EIO;
	}
	if (kind == C_NORMAL) {
		if (!(e & QCOW2_OFLAG_COPIED)) {
			uint16_t rc;
			if ((ret = qcow2_get_refcount(q, host, &rc)) < 0)
				return ret;
			if (rc != 1) {
				qcow2_report(q, "cluster 0x%" PRIx64 " is shared (refcount %u)", host, rc);
				return -EIO;
			}
			set_entry(s, idx, e | QCOW2_OFLAG_COPIED);
		}
		int cnt = block_iov_slice(iov, iovcnt, skip, n, sub);
		return fd_vec(q, sub, cnt, host + in, true);
	}
	/* A new cluster (or a preallocated zero cluster we own): whole-cluster contents. */
	bool reuse = kind == C_ZERO && host && (e & QCOW2_OFLAG_COPIED);
	if (!reuse && (ret = qcow2_alloc_cluster(q, &host)) < 0)
		return ret;
	bool zero_source = kind == C_ZERO || !q->backing || pos - in >= q->backing->size;
	if (n == cs) {
		int cnt = block_iov_slice(iov, iovcnt, skip, n, sub);
		ret = fd_vec(q, sub, cnt, host, true);
	} else if (zero_source && host >= q->file_size) {
		/* Past the end of the file the rest of the cluster is a hole: zeroes already. */
		int cnt = block_iov_slice(iov, iovcnt, skip, n, sub);
		ret = fd_vec(q, sub, cnt, host + in, true);
		if (ret == 0 && q->file_size < host + cs) {
			if (ftruncate(q->fd, (off_t)(host + cs)) < 0)
				return -errno;
			q->file_size = host + cs;
		}
	} else {
		struct iovec whole = { cow, cs };
		if (kind == C_ZERO)
			memset(cow, 0, cs);
		else if ((ret = backing_read(q, &whole, 1, 0, pos - in, cs)) < 0)
			return ret;
		iov_copy(iov, iovcnt, skip, cow + in, n, true);
		ret = qcow2_pwrite(q, cow, cs, host);
	}
	if (ret < 0)
		return ret; /* the new cluster leaks; the image stays consistent */
	set_entry(s, idx, host | QCOW2_OFLAG_COPIED);
	return 0;
}

static int qcow2_pwritev(struct block_backend *b, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct qcow2 *q = to_q(b);
	if (b->readonly)
		return -EROFS;
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	uint64_t len = block_iov_length(iov, iovcnt);
	if (off > b->size || len > b->size - off)
		return -EIO;
	struct iovec *sub = g_new(struct iovec, MAX(iovcnt, 1));
	uint8_t *cow = g_malloc(q->cluster_size);
	int ret = 0;
	g_mutex_lock(&q->lock);
	uint64_t allocs = q->allocs;
	for (uint64_t done = 0; done < len && ret == 0;) {
		uint64_t pos = off + done;
		uint64_t n = MIN(len - done, q->cluster_size - pos % q->cluster_size);
		ret = write_chunk(q, pos, n, iov, iovcnt, done, sub, cow);
		done += n;
	}
	if (ret < 0 && q->allocs != allocs)
		q->may_leak = true; /* a cluster counted for this write may be referenced by nothing */
	g_mutex_unlock(&q->lock);
	g_free(cow);
	g_free(sub);
	return ret;
}

/* Frees clusters whose L2 entries were just changed: the entries go to disk first. */
static int free_after_flush(struct qcow2 *q, GArray *to_free)
{
	if (to_free->len == 0)
		return 0;
	int ret = qcow2_flush_locked(q);
	for (guint i = 0; i < to_free->len && ret == 0; i++)
		ret = qcow2_free_cluster(q, g_array_index(to_free, uint64_t, i));
	return ret;
}

/* write_zeroes (discard=false) and discard (discard=true) share the walk. */
static int zero_or_discard(struct qcow2 *q, uint64_t off, uint64_t len, bool unmap, bool discard)
{
	if (q->b.readonly)
		return -EROFS;
	if (off > q->b.size || len > q->b.size - off)
		return -EIO;
	uint64_t cs = q->cluster_size;
	bool v3 = q->version >= 3;
	uint8_t *zero = NULL, *cow = NULL;
	GArray *to_free = g_array_new(false, false, sizeof(uint64_t));
	int ret = 0;
	g_mutex_lock(&q->lock);
	uint64_t allocs = q->allocs;
	for (uint64_t done = 0; done < len && ret == 0;) {
		uint64_t pos = off + done, in = pos % cs;
		uint64_t n = MIN(len - done, cs - in);
		done += n;
		bool whole = in == 0 && (n == cs || pos + n == q->b.size);
		struct qcow2_l2_slot *s;
		uint64_t idx, e, host;
		enum cluster_kind kind;
		if ((ret = classify(q, pos, false, &s, &idx, &e, &kind, &host)) < 0)
			break;
		bool reads_zero = kind == C_ZERO || (kind == C_UNALLOC && !q->backing);
		if (discard) {
			/* Only whole, owned clusters are given back; anything else is kept. */
			if (!whole || kind != C_NORMAL || !(v3 || !q->backing))
				continue;
			set_entry(s, idx, q->backing ? QCOW2_OFLAG_ZERO : 0);
			g_array_append_val(to_free, host);
			continue;
		}
		if (reads_zero)
			continue;
		if (whole && kind != C_COMPRESSED && (v3 || (!q->backing && unmap && kind == C_NORMAL))) {
			if (!s && (ret = classify(q, pos, true, &s, &idx, &e, &kind, &host)) < 0)
				break;
			if (kind == C_NORMAL && unmap) {
				set_entry(s, idx, v3 ? QCOW2_OFLAG_ZERO : 0);
				g_array_append_val(to_free, host);
			} else {
				set_entry(s, idx, e | QCOW2_OFLAG_ZERO); /* keeps a preallocation */
			}
			continue;
		}
		if (!zero) {
			zero = g_malloc0(cs);
			cow = g_malloc(cs);
		}
		struct iovec ziov = { zero, (size_t)n }, sub;
		ret = write_chunk(q, pos, n, &ziov, 1, 0, &sub, cow);
	}
	if (ret == 0)
		ret = free_after_flush(q, to_free);
	if (ret < 0 && (q->allocs != allocs || to_free->len))
		q->may_leak = true;
	g_mutex_unlock(&q->lock);
	g_array_free(to_free, true);
	g_free(zero);
	g_free(cow);
	return ret;
}

static int qcow2_write_zeroes(struct block_backend *b, uint64_t off, uint64_t len, bool unmap)
{
	return zero_or_discard(to_q(b), off, len, unmap, false);
}

static int qcow2_discard(struct block_backend *b, uint64_t off, uint64_t len)
{
	return zero_or_discard(to_q(b), off, len, true, true);
}

static int qcow2_flush(struct block_backend *b)
{
	struct qcow2 *q = to_q(b);
	if (b->readonly)
		return 0;
	g_mutex_lock(&q->lock);
	int ret = qcow2_flush_locked(q);
	if (ret < 0)
		q->may_leak = true;
	g_mutex_unlock(&q->lock);
	return ret;
}

static void qcow2_close(struct block_backend *b)
{
	struct qcow2 *q = to_q(b);
	if (q->fd >= 0 && !b->readonly && q->l1) {
		int ret = qcow2_flush_locked(q);
		if (ret < 0)
			g_warning("qcow2 image %s: cannot write metadata at close: %s", b->path,
				  g_strerror(-ret));
		/* A clean close: the refcounts are exact again. */
		if (ret == 0 && q->clean_at_close && !q->may_leak) {
			q->incompat &= ~QCOW2_INCOMPAT_DIRTY;
			ret = qcow2_write_incompat(q);
			if (ret < 0)
				g_warning("qcow2 image %s: cannot clear the dirty bit at close: %s", b->path,
					  g_strerror(-ret));
		} else if (q->clean_at_close) {
			g_warning("qcow2 image %s: an update failed, so it stays marked dirty; its next "
				  "writable open repairs its refcounts",
				  b->path);
		}
	}
	for (unsigned int k = 0; q->l2 && k < q->n_l2; k++)
		g_free(q->l2[k].table);
	g_free(q->l2);
	qcow2_refcount_free(q);
	g_free(q->l1);
	block_close(q->backing);
	if (q->fd >= 0)
		close(q->fd);
	g_mutex_clear(&q->lock);
	g_free(q->b.path);
	g_free(q);
}

const struct block_backend_ops qcow2_ops = {
	.preadv = qcow2_preadv,
	.pwritev = qcow2_pwritev,
	.flush = qcow2_flush,
	.write_zeroes = qcow2_write_zeroes,
	.discard = qcow2_discard,
	.close = qcow2_close,
};
