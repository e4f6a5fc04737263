/* virtio-blk (virtio spec 5.2) over a raw host file: read, write, flush, get-id, and
 * discard / write-zeroes where the host file system can punch holes. */
#include "devices/virtio/blk.h"

#include <errno.h>
#include <linux/virtio_blk.h>
#include <stddef.h>
#include <string.h>

#include "block/block.h"
#include "common/error.h"
#include "devices/snapshot.h"
#include "devices/virtio/virtio.h"

#define SECTOR              512ULL
#define QUEUE_SIZE          256
#define SEG_MAX             (QUEUE_SIZE - 2)
#define MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB per segment */
#define MAX_DISCARD_SEGS    16
/* The config space the guest sees ends after write_zeroes_may_unmap and its padding: the
 * fields past it belong to features sepia does not offer. */
#define CONFIG_SIZE \
	offsetof(struct virtio_blk_config, unused1) + sizeof(((struct virtio_blk_config *)0)->unused1)

struct virtio_blk {
	struct virtio_pci_dev *vp;
	char *name;
	struct block_backend *disk;
	bool readonly;
	uint64_t capacity; /* in 512-byte sectors */
	struct virtio_blk_config config;
	uint64_t requests;
	struct virtq_chain chain;
	struct iovec data[VIRTQ_MAX_SEGS]; /* one request's data segments, for the backend */
};

static void blk_config_read(void *dev, uint32_t off, void *data, unsigned int len)
{
	struct virtio_blk *b = dev;
	memcpy(data, (const uint8_t *)&b->config + off, len);
}

static bool range_ok(struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
	return sector <= b->capacity && bytes / SECTOR <= b->capacity - sector && bytes % SECTOR == 0;
}

/* Reads or writes a request's data (the view data) at sector. */
static uint8_t blk_rw(struct virtio_blk *b, bool write, uint64_t sector, const struct virtq_cursor *data)
{
	uint64_t bytes = virtq_cursor_left(data);
	if (!range_ok(b, sector, bytes) || (write && b->readonly))
		return VIRTIO_BLK_S_IOERR;
	int n = virtq_cursor_iov(data, b->data, VIRTQ_MAX_SEGS);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	int r = write ? b->disk->ops->pwritev(b->disk, b->data, n, sector * SECTOR)
		      : b->disk->ops->preadv(b->disk, b->data, n, sector * SECTOR);
	return r == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
}

/* Discard or write-zeroes: the segments that follow the header. */
static uint8_t blk_discard(struct virtio_blk *b, uint32_t type, struct virtq_cursor *segs)
{
	if (b->readonly)
		return VIRTIO_BLK_S_IOERR;
	size_t bytes = virtq_cursor_left(segs);
	struct virtio_blk_discard_write_zeroes seg;
	if (bytes == 0 || bytes % sizeof(seg) || bytes / sizeof(seg) > MAX_DISCARD_SEGS)
		return VIRTIO_BLK_S_UNSUPP;
	while (virtq_read_obj(segs, &seg, sizeof(seg))) {
		if (seg.num_sectors > MAX_DISCARD_SECTORS ||
		    !range_ok(b, seg.sector, seg.num_sectors * SECTOR))
			return VIRTIO_BLK_S_IOERR;
		if (type == VIRTIO_BLK_T_DISCARD) {
			if (seg.flags) /* discard takes no flags */
				return VIRTIO_BLK_S_UNSUPP;
			/* A discard is a hint: a backend that keeps the data is not an error. */
			b->disk->ops->discard(b->disk, seg.sector * SECTOR, seg.num_sectors * SECTOR);
		} else {
			if (seg.flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
				return VIRTIO_BLK_S_UNSUPP;
			if (b->disk->ops->write_zeroes(b->disk, seg.sector * SECTOR, seg.num_sectors * SECTOR,
						       seg.flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) < 0)
				return VIRTIO_BLK_S_IOERR;
		}
	}
	return VIRTIO_BLK_S_OK;
}

/* Handles one chain; returns the bytes written into the guest's buffers. */
static uint32_t blk_handle_request(struct virtio_blk *b, const struct virtq_chain *c)
{
	struct virtq_cursor req, answer, data_in;
	struct virtio_blk_outhdr hdr;
	virtq_reader(c, &req);
	virtq_writer(c, &answer);
	/* Every request starts with a readable header and ends in a writable status byte, the
	 * last byte of the writable part; what lies between is the request's data. */
	if (!virtq_read_obj(&req, &hdr, sizeof(hdr)) || virtq_cursor_left(&answer) == 0)
		return 0;
	virtq_split_at(&answer, virtq_cursor_left(&answer) - 1, &data_in);
	uint32_t written = 0;
	uint8_t st = VIRTIO_BLK_S_UNSUPP;

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
		st = blk_rw(b, false, hdr.sector, &data_in);
		if (st == VIRTIO_BLK_S_OK)
			written = (uint32_t)virtq_cursor_left(&data_in);
		break;
	case VIRTIO_BLK_T_OUT:
		st = blk_rw(b, true, hdr.sector, &req);
		break;
	case VIRTIO_BLK_T_FLUSH:
		st = b->disk->ops->flush(b->disk) == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		char id[VIRTIO_BLK_ID_BYTES] = { 0 }; /* not NUL-terminated when all 20 bytes are used */
		memcpy(id, b->name, MIN(strlen(b->name), sizeof(id)));
		written = (uint32_t)virtq_write(&data_in, id, sizeof(id));
		st = VIRTIO_BLK_S_OK;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = blk_discard(b, hdr.type, &req);
		break;
	}
	virtq_write_obj(&answer, &st, sizeof(st));
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
		while ((r = virtq_take(q, &b->chain)) != 0) {
			virtq_push(q, b->chain.head, r > 0 ? blk_handle_request(b, &b->chain) : 0);
			b->requests++;
		}
		virtio_pci_queue_interrupt(b->vp, qi);
	} while (virtq_set_notification(q, true));
}

/* Requests complete within queue_notify, so a paused device has none in flight; what the
 * backend caches (qcow2 metadata) reaches the file here, before the disk is copied. */
static bool blk_save(void *dev, struct snap_writer *w, GError **error)
{
	struct virtio_blk *b = dev;
	int r = b->readonly ? 0 : b->disk->ops->flush(b->disk);
	if (r < 0) {
		g_set_error(error, SEPIA_ERROR, -r, "%s: cannot flush %s for the snapshot: %s", b->name,
			    b->disk->path, g_strerror(-r));
		return false;
	}
	snap_put_u64(w, b->capacity);
	snap_put_u8(w, b->readonly);
	return true;
}

static bool blk_load(void *dev, struct snap_reader *r, GError **error)
{
	struct virtio_blk *b = dev;
	uint64_t capacity = snap_get_u64(r);
	bool readonly = snap_get_u8(r);
	if (!r->failed && (capacity != b->capacity || readonly != b->readonly)) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "snapshot: %s was a %s disk of %" G_GUINT64_FORMAT
			    " sectors; %s is a %s disk of %" G_GUINT64_FORMAT,
			    b->name, readonly ? "read-only" : "writable", capacity, b->disk->path,
			    b->readonly ? "read-only" : "writable", b->capacity);
		return false;
	}
	return true;
}

static const struct virtio_device_ops blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.pci_class = 0x018000, /* mass storage, other */
	.num_queues = 1,
	.save = blk_save,
	.load = blk_load,
	.queue_max_size = QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
};

struct virtio_blk *virtio_blk_create(struct vm_host *host, unsigned int index,
				     const struct vm_disk_config *cfg, GError **error)
{
	const char *path = cfg->path;
	bool readonly = cfg->readonly;
	struct virtio_blk *b = g_new0(struct virtio_blk, 1);
	b->name = g_strdup_printf("virtio-blk%u", index);
	b->readonly = readonly;
	b->disk = block_open_format(path, cfg->format, readonly, error);
	if (!b->disk) {
		g_prefix_error(error, "%s: ", b->name);
		goto fail;
	}
	b->capacity = b->disk->size / SECTOR;
	if (b->disk->size % SECTOR)
		g_message("%s: %s is not a multiple of 512 bytes; the last %" G_GUINT64_FORMAT
			  " bytes are not visible",
			  b->name, path, (uint64_t)(b->disk->size % SECTOR));

	b->config = (struct virtio_blk_config){
		.capacity = b->capacity,
		.seg_max = SEG_MAX,
		.blk_size = SECTOR,
		.max_discard_sectors = MAX_DISCARD_SECTORS,
		.max_discard_seg = MAX_DISCARD_SEGS,
		.discard_sector_alignment = 1,
		.max_write_zeroes_sectors = MAX_DISCARD_SECTORS,
		.max_write_zeroes_seg = MAX_DISCARD_SEGS,
		.write_zeroes_may_unmap = 1,
	};

	uint64_t features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
			    (1ULL << VIRTIO_BLK_F_FLUSH);
	if (readonly)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		features |= (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	b->vp = virtio_pci_create(host, b->name, &blk_ops, features, b, error);
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
