/* qcow2 internals shared by qcow2.c (header, L1/L2 mapping, guest I/O) and
 * qcow2_refcount.c (refcount table/blocks, cluster allocation). Not a public interface:
 * everything outside block/ goes through block.h. */
#pragma once

#include "block/chain.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

/* Entry layout (docs/interop/qcow2.txt). */
#define QCOW2_OFLAG_COPIED     (1ULL << 63) /* refcount is exactly 1: writable in place */
#define QCOW2_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW2_OFLAG_ZERO       1ULL                  /* v3: the cluster reads as zeroes */
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ULL /* bits 9-55 */
#define QCOW2_RT_OFFSET_MASK   0xfffffffffffffe00ULL /* refcount table: bits 9-63 */

#define QCOW2_INCOMPAT_DIRTY   (1ULL << 0) /* refcounts may be wrong: repaired on a writable open */
#define QCOW2_INCOMPAT_CORRUPT (1ULL << 1)

#define QCOW2_L2_CACHE_BYTES (4u << 20) /* L2 tables kept: 4 MiB worth, 4 to 256 of them */
#define QCOW2_RB_CACHE       4

struct qcow2_l2_slot {
	uint64_t offset; /* host offset of the table; 0 = slot empty */
	uint64_t *table; /* big-endian entries, as on disk */
	uint64_t used;   /* LRU clock */
	bool dirty;      /* entries changed in memory, not yet written */
};

struct qcow2_rb_slot {
	uint64_t offset;
	uint8_t *block; /* big-endian 16-bit entries, as on disk */
	uint64_t used;
};

struct qcow2 {
	struct block_backend b;
	int fd;
	GMutex lock;
	uint32_t version;
	uint32_t cluster_bits;
	uint64_t cluster_size;
	uint64_t l2_entries; /* entries per L2 table */
	uint64_t rb_entries; /* refcounts per refcount block */
	uint64_t file_size;  /* host file size as we know it */

	uint64_t l1_offset;
	uint32_t l1_size;
	uint64_t *l1;                      /* host byte order */
	uint32_t l1_dirty_lo, l1_dirty_hi; /* [lo, hi) entries to write at the next flush */

	uint64_t rt_offset;
	uint32_t rt_clusters;
	uint64_t rt_entries;
	uint64_t *rt; /* host byte order */

	uint64_t free_hint; /* no free cluster below this index */
	uint64_t alloc_end; /* no used cluster at or above this index */
	bool unsynced;      /* data/refcounts written since the last fdatasync */

	struct qcow2_l2_slot *l2;
	unsigned int n_l2;
	struct qcow2_rb_slot rb[QCOW2_RB_CACHE];
	uint64_t clock;

	uint64_t autoclear;  /* header autoclear bits as read */
	uint64_t incompat;   /* header incompatible feature bits as on disk now */
	uint64_t allocs;     /* clusters allocated so far */
	bool may_leak;       /* a failed update may have leaked clusters: stay dirty at close */
	bool clean_at_close; /* this open set the dirty bit (or repaired): a clean close clears it */
	struct block_backend *backing;
};

/* Whether a cluster of metadata at file offset off is cluster-aligned and wholly inside the
 * file (an L2 table or refcount block a hostile image points elsewhere is refused). */
static inline bool qcow2_cluster_in_file(const struct qcow2 *q, uint64_t off)
{
	return !(off & (q->cluster_size - 1)) && off <= q->file_size && q->file_size - off >= q->cluster_size;
}

/* pread/pwrite of all of buf at off: 0 or -errno (short reads past EOF give zeroes). */
int qcow2_pread(struct qcow2 *q, void *buf, size_t len, uint64_t off);
int qcow2_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off);
int qcow2_sync(struct qcow2 *q);
/* Complains once per image (rate-limited log) about a corrupt structure. */
void qcow2_report(struct qcow2 *q, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

extern const struct block_backend_ops qcow2_ops;

/* qcow2_refcount.c */
int qcow2_refcount_init(struct qcow2 *q, GError **error);
/* Sets the refcount of cluster index idx, whose refcount block must exist. 0 or -errno. */
int qcow2_set_refcount(struct qcow2 *q, uint64_t idx, uint16_t v);
/* Drops the cached copy of the refcount block at host offset off. */
void qcow2_refcount_forget(struct qcow2 *q, uint64_t off);
void qcow2_refcount_free(struct qcow2 *q);
/* One new cluster with refcount 1, its host offset in *off. 0 or -errno. */
int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *off);
int qcow2_get_refcount(struct qcow2 *q, uint64_t off, uint16_t *rc);
/* Drops one reference to the cluster at host offset off (freeing it at 0). */
int qcow2_free_cluster(struct qcow2 *q, uint64_t off);

/* qcow2_repair.c: recounts every cluster the image's metadata references and rewrites the
 * refcounts that differ (leaked clusters are freed, under-counted ones fixed), then cuts
 * free clusters off the end of the file. For writable opens of an image marked dirty (it
 * was not closed cleanly). Errors name the image and what cannot be repaired. */
bool qcow2_repair_refcounts(struct qcow2 *q, GError **error);
/* Writes the header's incompatible feature bits (q->incompat) and syncs. 0 or -errno. */
int qcow2_write_incompat(struct qcow2 *q);
