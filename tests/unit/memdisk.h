/* A 32 KiB disk in memory behind the block backend interface, for the tests and the fuzz
 * target that drive virtio-blk's request handling directly. Header-only: each includer gets
 * its own disk. memdisk_written says whether anything changed it since the caller cleared it. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/uio.h>

#include "block/block.h"

static uint8_t memdisk_bytes[64 * 512];
static bool memdisk_written;

static int memdisk_io(const struct iovec *iov, int n, uint64_t off, bool write)
{
	for (int i = 0; i < n; i++) {
		if (off > sizeof(memdisk_bytes) || iov[i].iov_len > sizeof(memdisk_bytes) - off)
			return -EIO;
		if (write)
			memcpy(memdisk_bytes + off, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, memdisk_bytes + off, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	memdisk_written |= write && n > 0;
	return 0;
}
static int memdisk_preadv(struct block_backend *b, const struct iovec *iov, int n, uint64_t off)
{
	(void)b;
	return memdisk_io(iov, n, off, false);
}
static int memdisk_pwritev(struct block_backend *b, const struct iovec *iov, int n, uint64_t off)
{
	(void)b;
	return memdisk_io(iov, n, off, true);
}
static int memdisk_flush(struct block_backend *b)
{
	(void)b;
	return 0;
}
static int memdisk_write_zeroes(struct block_backend *b, uint64_t off, uint64_t len, bool unmap)
{
	(void)b, (void)unmap;
	if (off > sizeof(memdisk_bytes) || len > sizeof(memdisk_bytes) - off)
		return -EIO;
	memset(memdisk_bytes + off, 0, len);
	memdisk_written = true;
	return 0;
}
static int memdisk_discard(struct block_backend *b, uint64_t off, uint64_t len)
{
	return memdisk_write_zeroes(b, off, len, true);
}

static const struct block_backend_ops memdisk_ops = {
	.preadv = memdisk_preadv,
	.pwritev = memdisk_pwritev,
	.flush = memdisk_flush,
	.write_zeroes = memdisk_write_zeroes,
	.discard = memdisk_discard,
};
