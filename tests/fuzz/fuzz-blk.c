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

#include "tests/unit/memdisk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool readonly = data[0] & 0x80;
	if (!fuzz_guest_setup(&data, &size))
		return 0;
	static struct block_backend backend;
	backend = (struct block_backend){ .ops = &memdisk_ops,
					  .size = sizeof(memdisk_bytes),
					  .readonly = readonly };
	static struct virtio_blk blk;
	memset(&blk, 0, sizeof(blk));
	blk.name = "fuzz-blk";
	blk.disk = &backend;
	blk.readonly = readonly;
	blk.capacity = sizeof(memdisk_bytes) / 512;
	memdisk_written = false;
	blk_queue_notify(&blk, 0);
	fuzz_guest_check_completed(0);
	if (readonly && memdisk_written)
		abort();
	return 0;
}
