/* qcow2 images (versions 2 and 3, 16-bit refcounts) with backing chains: the guest's
 * clusters are mapped through the L1 table and L2 tables; clusters the image does not
 * hold come from the backing file, or read as zeroes.
 *
 * Consistency: data clusters and refcounts are written first; changed L2 entries (and L1
 * entries for new L2 tables) stay in a small write-back cache and reach the file only
 * after an fdatasync — on a guest flush, on cache eviction, or at close. A crash therefore
 * loses unflushed guest writes (as a disk's write cache does) but can at worst leak
 * clusters, never point at unwritten data or uncounted clusters.
 *
 * Not supported: compressed clusters (read as EIO), encryption, external data files,
 * extended L2 entries, refcount widths other than 16 bits, writing images with internal
 * snapshots. */
#include "qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/vm.h"

#define QCOW2_MAGIC           0x514649fbu   /* "QFI\xfb" */
#define QCOW2_MAX_L1_BYTES    (32u << 20)
#define QCOW2_MAX_SIZE        (1ULL << 56)  /* 64 PiB: keeps offset arithmetic far from overflow */
#define QCOW2_MAX_CHAIN       16

#define INCOMPAT_DIRTY        (1ULL << 0)
#define INCOMPAT_CORRUPT      (1ULL << 1)

#define EXT_END               0x00000000u
#define EXT_BACKING_FORMAT    0xe2792acau
#define EXT_EXTERNAL_DATA     0x44415441u
#define EXT_CRYPTO            0x0537be77u

enum cluster_kind { C_UNALLOC, C_ZERO, C_NORMAL, C_COMPRESSED };

static __thread unsigned int chain_depth;  /* backing files being opened on this thread */

static struct qcow2 *to_q(struct block_backend *b)
{
	return (struct qcow2 *)b;
}

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
	while (n > 0) {
		ssize_t got = write ? pwritev(q->fd, iov, n, (off_t)off) : preadv(q->fd, iov, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0) {
			if (write)
				return -EIO;
			for (int i = 0; i < n; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return 0;
		}
		off += (uint64_t)got;
		if (write && off > q->file_size)
			q->file_size = off;
		while (n > 0 && (size_t)got >= iov->iov_len) {
			got -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + got;
			iov->iov_len -= (size_t)got;
		}
	}
	if (write)
		q->unsynced = true;
	return 0;
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

/* The part [skip, skip+len) of iov as a new iovec in out (which has room for cnt). */
static int iov_sub(const struct iovec *iov, int cnt, uint64_t skip, uint64_t len, struct iovec *out)
{
	int n = 0;
	for (int i = 0; i < cnt && len > 0; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t take = (size_t)MIN(iov[i].iov_len - skip, len);
		out[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
		out[n].iov_len = take;
		n++;
		len -= take;
		skip = 0;
	}
	return n;
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
static int backing_read(struct qcow2 *q, const struct iovec *iov, int cnt, uint64_t skip,
			uint64_t pos, uint64_t len)
{
	uint64_t have = 0;
	if (q->backing && pos < q->backing->size)
		have = MIN(len, q->backing->size - pos);
	if (have) {
		struct iovec *sub = g_new(struct iovec, cnt);
		int n = iov_sub(iov, cnt, skip, have, sub);
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
	} else if ((off & (q->cluster_size - 1)) || off > q->file_size ||
		   q->file_size - off < q->cluster_size) {
		qcow2_report(q, "L2 table at 0x%" PRIx64 " (L1 index %" PRIu64
			     ") is misaligned or past the end of the file", off, i);
		return -EIO;
	}
	struct qcow2_l2_slot *victim = &q->l2[0];
	for (int k = 0; k < QCOW2_L2_CACHE; k++) {
		if (q->l2[k].offset == off && !fresh) {
			q->l2[k].used = ++q->clock;
			*out = &q->l2[k];
			return 0;
		}
		if (q->l2[k].used < victim->used)
			victim = &q->l2[k];
	}
	int ret = l2_writeback(q, victim);
	if (ret < 0)
		return ret;
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
static int classify(struct qcow2 *q, uint64_t pos, bool alloc, struct qcow2_l2_slot **slot,
		    uint64_t *idx, uint64_t *entry, enum cluster_kind *kind, uint64_t *host)
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
		qcow2_report(q, "data cluster 0x%" PRIx64 " for guest offset 0x%" PRIx64
			     " is misaligned or past the end of the file", *host, pos);
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
	for (int k = 0; k < QCOW2_L2_CACHE && ret == 0; k++) {
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
	uint64_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
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
			int cnt = iov_sub(iov, iovcnt, done, n, sub);
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
			qcow2_report(q, "compressed cluster at guest offset 0x%" PRIx64
				     " (compressed clusters are not supported)", pos - pos % cs);
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
static int write_chunk(struct qcow2 *q, uint64_t pos, uint64_t n, const struct iovec *iov,
		       int iovcnt, uint64_t skip, struct iovec *sub, uint8_t *cow)
{
	uint64_t cs = q->cluster_size, in = pos % cs;
	struct qcow2_l2_slot *s;
	uint64_t idx, e, host;
	enum cluster_kind kind;
	int ret = classify(q, pos, true, &s, &idx, &e, &kind, &host);
	if (ret < 0)
		return ret;
	if (kind == C_COMPRESSED) {
		qcow2_report(q, "write to compressed cluster at guest offset 0x%" PRIx64
			     " (compressed clusters are not supported)", pos - in);
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
		int cnt = iov_sub(iov, iovcnt, skip, n, sub);
		return fd_vec(q, sub, cnt, host + in, true);
	}
	/* A new cluster (or a preallocated zero cluster we own): whole-cluster contents. */
	bool reuse = kind == C_ZERO && host && (e & QCOW2_OFLAG_COPIED);
	if (!reuse && (ret = qcow2_alloc_cluster(q, &host)) < 0)
		return ret;
	if (n == cs) {
		int cnt = iov_sub(iov, iovcnt, skip, n, sub);
		ret = fd_vec(q, sub, cnt, host, true);
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
		return ret;  /* the new cluster leaks; the image stays consistent */
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
	uint64_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (off > b->size || len > b->size - off)
		return -EIO;
	struct iovec *sub = g_new(struct iovec, MAX(iovcnt, 1));
	uint8_t *cow = g_malloc(q->cluster_size);
	int ret = 0;
	g_mutex_lock(&q->lock);
	for (uint64_t done = 0; done < len && ret == 0;) {
		uint64_t pos = off + done;
		uint64_t n = MIN(len - done, q->cluster_size - pos % q->cluster_size);
		ret = write_chunk(q, pos, n, iov, iovcnt, done, sub, cow);
		done += n;
	}
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
				set_entry(s, idx, e | QCOW2_OFLAG_ZERO);  /* keeps a preallocation */
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
	g_mutex_unlock(&q->lock);
	return ret;
}

static void qcow2_close(struct block_backend *b)
{
	struct qcow2 *q = to_q(b);
	if (q->fd >= 0 && !b->readonly && q->l1) {
		int ret = qcow2_flush_locked(q);
		if (ret < 0)
			g_warning("qcow2 image %s: cannot write metadata at close: %s", b->path, g_strerror(-ret));
	}
	for (int k = 0; k < QCOW2_L2_CACHE; k++)
		g_free(q->l2[k].table);
	qcow2_refcount_free(q);
	g_free(q->l1);
	block_close(q->backing);
	if (q->fd >= 0)
		close(q->fd);
	g_mutex_clear(&q->lock);
	g_free(q->b.path);
	g_free(q);
}

static const struct block_backend_ops qcow2_ops = {
	.preadv = qcow2_preadv,
	.pwritev = qcow2_pwritev,
	.flush = qcow2_flush,
	.write_zeroes = qcow2_write_zeroes,
	.discard = qcow2_discard,
	.close = qcow2_close,
};

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64_at(const uint8_t *p)
{
	return (uint64_t)be32_at(p) << 32 | be32_at(p + 4);
}

/* Checks the header fields and reads the header extensions; fills in q. */
static bool parse_header(struct qcow2 *q, const uint8_t *h, uint64_t hlen, char **backing,
			 char **backing_fmt, GError **error)
{
	const char *path = q->b.path;
#define CORRUPT(...) do { \
		g_autofree char *why_ = g_strdup_printf(__VA_ARGS__); \
		g_set_error(error, SEPIA_ERROR, EINVAL, "qcow2 image %s is corrupt: %s", path, why_); \
		return false; \
	} while (0)
#define UNSUPPORTED(...) do { \
		g_autofree char *why_ = g_strdup_printf(__VA_ARGS__); \
		g_set_error(error, SEPIA_ERROR, ENOTSUP, "qcow2 image %s: %s", path, why_); \
		return false; \
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
	if (incompat & INCOMPAT_CORRUPT)
		UNSUPPORTED("the image is marked corrupt; repair it with qemu-img check -r all");
	if ((incompat & INCOMPAT_DIRTY) && !q->b.readonly)
		UNSUPPORTED("the image is marked dirty (lazy refcounts not written back); "
			    "run qemu-img check -r all before opening it writable");
	uint64_t unknown = incompat & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT);
	if (unknown)
		UNSUPPORTED("incompatible features 0x%" PRIx64 " are not supported "
			    "(bit 2 external data file, 3 compression type, 4 extended L2)", unknown);
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
			CORRUPT("backing file name at 0x%" PRIx64 " is outside the header cluster", backing_off);
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
			CORRUPT("header extension 0x%08x at 0x%" PRIx64 " runs past the header cluster", type, pos);
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
	if (q->l1_size && (q->l1_offset > q->file_size || q->file_size - q->l1_offset < (uint64_t)q->l1_size * 8))
		CORRUPT("L1 table at 0x%" PRIx64 " extends past the end of the file", q->l1_offset);
	q->autoclear = autoclear;
	return true;
#undef CORRUPT
#undef UNSUPPORTED
}

static struct block_backend *open_backing(struct qcow2 *q, const char *name, const char *fmt, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(q->b.path);
	g_autofree char *path = g_path_is_absolute(name) ? g_strdup(name) : g_build_filename(dir, name, NULL);
	GError *err = NULL;
	struct block_backend *b = NULL;
	if (chain_depth >= QCOW2_MAX_CHAIN) {
		g_set_error(error, SEPIA_ERROR, ELOOP, "qcow2 image %s: backing chain deeper than %d (a loop?)",
			    q->b.path, QCOW2_MAX_CHAIN);
		return NULL;
	}
	chain_depth++;
	if (!fmt)
		b = block_open(path, true, &err);
	else if (!strcmp(fmt, "raw"))
		b = block_raw_open(path, true, &err);
	else if (!strcmp(fmt, "qcow2"))
		b = block_qcow2_open(path, true, &err);
	else if (!strcmp(fmt, "vmdk"))
		b = block_vmdk_open(path, true, &err);
	else
		g_set_error(&err, SEPIA_ERROR, ENOTSUP, "backing format '%s' is not supported", fmt);
	chain_depth--;
	if (!b) {
		g_set_error(error, SEPIA_ERROR, err->code, "qcow2 image %s: cannot open backing file %s: %s",
			    q->b.path, path, err->message);
		g_error_free(err);
	}
	return b;
}

struct block_backend *block_qcow2_open(const char *path, bool readonly, GError **error)
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
		g_set_error(error, SEPIA_ERROR, EINVAL, "disk %s is not a regular file or block device", path);
		goto fail;
	}
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
		g_set_error(error, SEPIA_ERROR, EINVAL, "%s is not a qcow2 image (bad magic or too short)", path);
		goto fail;
	}
	if (q->version != 2 && q->version != 3) {
		g_set_error(error, SEPIA_ERROR, ENOTSUP, "qcow2 image %s: version %u is not supported (2 or 3)",
			    path, q->version);
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
		g_set_error(error, SEPIA_ERROR, -ret, "cannot read the L1 table of %s: %s", path, g_strerror(-ret));
		goto fail;
	}
	for (uint32_t i = 0; i < q->l1_size; i++)
		q->l1[i] = GUINT64_FROM_BE(q->l1[i]);
	if (!readonly) {
		if (qcow2_refcount_init(q, error) < 0)
			goto fail;
		/* Autoclear bits describe data (e.g. bitmaps) that our writes make stale. */
		if (q->autoclear) {
			uint64_t zero = 0;
			if ((ret = qcow2_pwrite(q, &zero, 8, 88)) < 0 || (ret = qcow2_sync(q)) < 0) {
				g_set_error(error, SEPIA_ERROR, -ret, "cannot update the header of %s: %s",
					    path, g_strerror(-ret));
				goto fail;
			}
		}
	}
	if (backing && !(q->backing = open_backing(q, backing, backing_fmt, error)))
		goto fail;
	return &q->b;
fail:
	qcow2_close(&q->b);
	return NULL;
}
