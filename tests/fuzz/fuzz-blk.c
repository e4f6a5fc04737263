/* libFuzzer target for virtio-blk's request handling (devices/virtio/blk.c, included so its
 * static handler runs as the device): the guest's descriptors, headers and data come from
 * the input (layout: fuzz-virtio.h), the disk is 32 KiB in memory.
 *
 * Oracle: no crash or sanitizer report (a read or write outside the guest's buffers is one:
 * guest RAM is one exact-size block); every offered chain is completed unless the ring itself
 * is broken; a read-only disk is never written. */
#define FUZZ_WARNINGS_ARE_REPORTS 1
#include "tests/fuzz/fuzz-common.h"

#include "devices/virtio/blk.c"

#include "tests/fuzz/fuzz-virtio.h"

static uint8_t disk_bytes[64 * 512];
static bool disk_written;

static int mem_io(const struct iovec *iov, int n, uint64_t off, bool write)
{
	for (int i = 0; i < n; i++) {
		if (off > sizeof(disk_bytes) || iov[i].iov_len > sizeof(disk_bytes) - off)
			return -EIO;
		if (write)
			memcpy(disk_bytes + off, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, disk_bytes + off, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	if (write)
		disk_written = true;
	return 0;
}
static int mem_preadv(struct block_backend *b, const struct iovec *iov, int n, uint64_t off)
{
	(void)b;
	return mem_io(iov, n, off, false);
}
static int mem_pwritev(struct block_backend *b, const struct iovec *iov, int n, uint64_t off)
{
	(void)b;
	return mem_io(iov, n, off, true);
}
static int mem_flush(struct block_backend *b)
{
	(void)b;
	return 0;
}
static int mem_zero(struct block_backend *b, uint64_t off, uint64_t len, bool unmap)
{
	(void)b, (void)unmap;
	if (off > sizeof(disk_bytes) || len > sizeof(disk_bytes) - off)
		return -EIO;
	memset(disk_bytes + off, 0, len);
	disk_written = true;
	return 0;
}
static int mem_discard(struct block_backend *b, uint64_t off, uint64_t len)
{
	return mem_zero(b, off, len, true);
}

static const struct block_backend_ops mem_ops = {
	.preadv = mem_preadv,
	.pwritev = mem_pwritev,
	.flush = mem_flush,
	.write_zeroes = mem_zero,
	.discard = mem_discard,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool readonly = data[0] & 0x80;
	if (!fuzz_guest_setup(&data, &size))
		return 0;
	static struct block_backend backend;
	backend = (struct block_backend){ .ops = &mem_ops, .size = sizeof(disk_bytes), .readonly = readonly };
	static struct virtio_blk blk;
	memset(&blk, 0, sizeof(blk));
	blk.name = "fuzz-blk";
	blk.disk = &backend;
	blk.readonly = readonly;
	blk.capacity = sizeof(disk_bytes) / 512;
	disk_written = false;
	blk_queue_notify(&blk, 0);
	fuzz_guest_check_completed(0);
	if (readonly && disk_written)
		abort();
	return 0;
}
