/* virtio-blk (virtio spec 5.2) over a raw host file: read, write, flush, get-id, and
 * discard / write-zeroes where the host file system can punch holes. */
#include "devices/virtio/blk.h"

#include <errno.h>
#include <string.h>

#include "block/block.h"
#include "devices/virtio/virtio.h"

#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define SECTOR                 512ULL
#define QUEUE_SIZE             256
#define SEG_MAX                (QUEUE_SIZE - 2)
#define MAX_DISCARD_SECTORS    (1u << 22) /* 2 GiB per segment */
#define MAX_DISCARD_SEGS       16
#define WRITE_ZEROES_MAY_UNMAP 1

struct blk_req_header {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_discard_segment {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct virtio_blk {
	struct virtio_pci_dev *vp;
	char *name;
	struct block_backend *disk;
	bool readonly;
	uint64_t capacity; /* in 512-byte sectors */
	uint8_t config[60];
	uint64_t requests;
	struct virtq_chain chain;
};

static void blk_config_read(void *dev, uint32_t off, void *data, unsigned int len)
{
	struct virtio_blk *b = dev;
	memcpy(data, b->config + off, len);
}

static bool range_ok(struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
	return sector <= b->capacity && bytes / SECTOR <= b->capacity - sector && bytes % SECTOR == 0;
}

/* Reads or writes the data segments of a request at sector. */
static uint8_t blk_rw(struct virtio_blk *b, bool write, uint64_t sector, const struct iovec *iov,
		      unsigned int n, uint64_t bytes)
{
	if (!range_ok(b, sector, bytes) || (write && b->readonly))
		return VIRTIO_BLK_S_IOERR;
	int r = write ? b->disk->ops->pwritev(b->disk, iov, (int)n, sector * SECTOR)
		      : b->disk->ops->preadv(b->disk, iov, (int)n, sector * SECTOR);
	return r == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
}

static uint8_t blk_discard(struct virtio_blk *b, uint32_t type, const struct virtq_chain *c)
{
	if (b->readonly)
		return VIRTIO_BLK_S_IOERR;
	uint64_t bytes = c->out_len - sizeof(struct blk_req_header);
	if (bytes == 0 || bytes % sizeof(struct blk_discard_segment) ||
	    bytes / sizeof(struct blk_discard_segment) > MAX_DISCARD_SEGS)
		return VIRTIO_BLK_S_UNSUPP;
	for (uint64_t off = 0; off < bytes; off += sizeof(struct blk_discard_segment)) {
		struct blk_discard_segment seg;
		virtq_copy_from_out(c, sizeof(struct blk_req_header) + off, &seg, sizeof(seg));
		if (seg.num_sectors > MAX_DISCARD_SECTORS ||
		    !range_ok(b, seg.sector, seg.num_sectors * SECTOR))
			return VIRTIO_BLK_S_IOERR;
		if (type == VIRTIO_BLK_T_DISCARD) {
			if (seg.flags) /* discard takes no flags */
				return VIRTIO_BLK_S_UNSUPP;
			/* A discard is a hint: a backend that keeps the data is not an error. */
			b->disk->ops->discard(b->disk, seg.sector * SECTOR, seg.num_sectors * SECTOR);
		} else {
			if (seg.flags & ~1u)
				return VIRTIO_BLK_S_UNSUPP;
			if (b->disk->ops->write_zeroes(b->disk, seg.sector * SECTOR, seg.num_sectors * SECTOR,
						       seg.flags & 1) < 0)
				return VIRTIO_BLK_S_IOERR;
		}
	}
	return VIRTIO_BLK_S_OK;
}

/* Handles one chain; returns the bytes written into the guest's buffers. */
static uint32_t blk_handle_request(struct virtio_blk *b, struct virtq_chain *c)
{
	struct blk_req_header hdr;
	uint32_t written = 0;
	/* Every request starts with a readable header and ends in a writable status byte,
	 * the last byte of a non-empty last segment. */
	if (c->nr_in == 0 || c->iov[c->nr_out + c->nr_in - 1].iov_len == 0 ||
	    virtq_copy_from_out(c, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
		return 0;
	struct iovec *status_iov = &c->iov[c->nr_out + c->nr_in - 1];
	uint8_t *status = (uint8_t *)status_iov->iov_base + status_iov->iov_len - 1;
	uint8_t st = VIRTIO_BLK_S_UNSUPP;

	/* Data segments: everything after the 16-byte header (reads: before the status). */
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN: {
		struct iovec data[VIRTQ_MAX_SEGS];
		unsigned int n = 0;
		for (unsigned int i = c->nr_out; i < c->nr_out + c->nr_in; i++)
			data[n++] = c->iov[i];
		data[n - 1].iov_len--; /* leave the status byte out */
		st = blk_rw(b, false, hdr.sector, data, n, c->in_len - 1);
		if (st == VIRTIO_BLK_S_OK)
			written = (uint32_t)(c->in_len - 1);
		break;
	}
	case VIRTIO_BLK_T_OUT: {
		struct iovec data[VIRTQ_MAX_SEGS];
		unsigned int n = 0;
		size_t skip = sizeof(hdr);
		for (unsigned int i = 0; i < c->nr_out; i++) {
			struct iovec v = c->iov[i];
			size_t cut = MIN(skip, v.iov_len);
			skip -= cut;
			if (v.iov_len - cut)
				data[n++] = (struct iovec){ (uint8_t *)v.iov_base + cut, v.iov_len - cut };
		}
		st = blk_rw(b, true, hdr.sector, data, n, c->out_len - sizeof(hdr));
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
		st = b->disk->ops->flush(b->disk) == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		char id[20] = { 0 }; /* not NUL-terminated when all 20 bytes are used */
		memcpy(id, b->name, MIN(strlen(b->name), sizeof(id)));
		written = (uint32_t)virtq_copy_to_in(c, 0, id, MIN(sizeof(id), c->in_len - 1));
		st = VIRTIO_BLK_S_OK;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = blk_discard(b, hdr.type, c);
		break;
	}
	*status = st;
	return written + 1;
}

static void blk_queue_notify(void *dev, unsigned int qi)
{
	struct virtio_blk *b = dev;
	struct virtq *q = virtio_pci_queue(b->vp, qi);
	if (!q)
		return;
	do {
		virtq_set_notification(q, false);
		int r;
		while ((r = virtq_pop(q, &b->chain)) != 0) {
			if (r == -EFAULT) {
				virtio_pci_set_needs_reset(b->vp, "request queue: available ring is corrupt");
				return;
			}
			uint32_t len = r > 0 ? blk_handle_request(b, &b->chain) : 0;
			if (r < 0)
				g_warning("%s: request %u refused: descriptor chain breaks the virtio rules",
					  b->name, b->chain.head);
			virtq_push(q, b->chain.head, len);
			b->requests++;
		}
		virtio_pci_queue_interrupt(b->vp, qi);
	} while (virtq_set_notification(q, true));
}

static void blk_activate(void *dev, uint64_t features) {}
static void blk_reset(void *dev) {}

static const struct virtio_device_ops blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.pci_class = 0x018000, /* mass storage, other */
	.num_queues = 1,
	.queue_max_size = QUEUE_SIZE,
	.config_size = sizeof(((struct virtio_blk *)0)->config),
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
	.activate = blk_activate,
	.reset = blk_reset,
};

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

struct virtio_blk *virtio_blk_create(struct vm *vm, unsigned int index, const char *path, const char *format,
				     bool readonly, GError **error)
{
	struct virtio_blk *b = g_new0(struct virtio_blk, 1);
	b->name = g_strdup_printf("virtio-blk%u", index);
	b->readonly = readonly;
	b->disk = block_open_format(path, format, readonly, error);
	if (!b->disk) {
		g_prefix_error(error, "%s: ", b->name);
		goto fail;
	}
	b->capacity = b->disk->size / SECTOR;
	if (b->disk->size % SECTOR)
		g_message("%s: %s is not a multiple of 512 bytes; the last %" G_GUINT64_FORMAT
			  " bytes are not visible",
			  b->name, path, (uint64_t)(b->disk->size % SECTOR));

	memcpy(b->config, &b->capacity, 8);
	put32(b->config + 12, SEG_MAX);
	put32(b->config + 20, SECTOR);
	put32(b->config + 36, MAX_DISCARD_SECTORS);
	put32(b->config + 40, MAX_DISCARD_SEGS);
	put32(b->config + 44, 1);
	put32(b->config + 48, MAX_DISCARD_SECTORS);
	put32(b->config + 52, MAX_DISCARD_SEGS);
	b->config[56] = WRITE_ZEROES_MAY_UNMAP;

	uint64_t features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
			    (1ULL << VIRTIO_BLK_F_FLUSH);
	if (readonly)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		features |= (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	b->vp = virtio_pci_create(vm, b->name, &blk_ops, features, b, error);
	if (!b->vp)
		goto fail;
	g_message("%s: %s (%s), %" G_GUINT64_FORMAT " sectors%s", b->name, path, b->disk->format, b->capacity,
		  readonly ? ", read-only" : "");
	return b;
fail:
	virtio_blk_destroy(b);
	return NULL;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	if (!b)
		return;
	virtio_pci_destroy(b->vp);
	block_close(b->disk);
	g_free(b->name);
	g_free(b);
}
