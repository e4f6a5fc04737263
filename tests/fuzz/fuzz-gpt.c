/* libFuzzer target for the GPT reader in bootloader/bootdisk.c (sepia_bootdisk_open and what the
 * bootloader step does with its table): the input is the first sectors of a raw disk. The disk
 * is one file in a private tmpfs directory, rewritten in place per input and extended (sparse,
 * zero-filled) to the size the flags pick.
 *
 * The reader ignores LBA 0 (the protective MBR), so the input's byte 0 holds flags:
 *   bit 0   write a correct header CRC-32 (after the entry array's, with bit 1) so mutations
 *           get past the CRC checks
 *   bit 1   write a correct entry array CRC-32
 *   bits 2-3 disk size: 1 MiB, the input's own length, 64 MiB, 3 sectors (the smallest)
 *   bit 4   also mark slot (bits 5-6) successful through a writable open (raw disks only:
 *           byte 0 is then neither '#' nor 'Q', so block_open cannot see a VMDK descriptor
 *           naming host files, or a qcow2 image)
 *
 * Oracle: a refusal names the disk; every partition has a name, a nonzero size, lies inside
 * the disk, overlaps no other and (when named) has a unique name that sepia_bootdisk_find
 * returns; reads inside a partition succeed and past its end fail naming the disk; the A/B
 * metadata read through the disk is the decoded misc bytes or an error naming the disk. */
/* The block layer warns about what it finds (a probed raw disk, corrupt metadata met in I/O):
 * its documented answer to a hostile disk, not a bug (fuzz-common.h). */
#define FUZZ_WARNINGS_ARE_REPORTS 1
#include "tests/fuzz/fuzz-common.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/byteorder.h"

#include "images/crc32.h"
#include "bootloader/bootdisk.h"

#define LBA         512u
#define IMAGE_BYTES (1u << 20)

static char *disk;
static int disk_fd = -1;
static uint8_t image[IMAGE_BYTES];

/* The CRC fix-ups, inside image (zero beyond the input, which is what the disk reads). */
static void fix_crcs(uint8_t flags)
{
	uint8_t *h = image + LBA;
	if (flags & 2) {
		uint64_t lba = fuzz_le64(h, LBA, 72);
		uint64_t bytes = (uint64_t)get_le32(h + 80) * get_le32(h + 84);
		if (lba < IMAGE_BYTES / LBA && bytes <= IMAGE_BYTES - lba * LBA)
			put_le32(h + 88, sepia_crc32_update(0, image + lba * LBA, bytes));
	}
	if (flags & 1) {
		uint32_t hsize = get_le32(h + 12);
		if (hsize >= 92 && hsize <= LBA) {
			put_le32(h + 16, 0);
			put_le32(h + 16, sepia_crc32_update(0, h, hsize));
		}
	}
}

static void check_disk(SepiaBootDisk *d, uint64_t disk_size)
{
	guint n = sepia_bootdisk_n_partitions(d);
	if (strcmp(sepia_bootdisk_path(d), disk) || sepia_bootdisk_partition(d, n))
		abort();
	for (guint i = 0; i < n; i++) {
		const SepiaBootDiskPartition *p = sepia_bootdisk_partition(d, i);
		if (!p->name || !g_utf8_validate(p->name, -1, NULL) || p->size == 0 || p->offset % LBA ||
		    p->size % LBA || p->offset > disk_size || p->size > disk_size - p->offset)
			abort();
		for (guint k = 0; k < i; k++) {
			const SepiaBootDiskPartition *o = sepia_bootdisk_partition(d, k);
			if (p->offset < o->offset + o->size && o->offset < p->offset + p->size)
				abort();
			if (p->name[0] && !strcmp(p->name, o->name))
				abort();
		}
		if (p->name[0] && sepia_bootdisk_find(d, p->name) != p)
			abort();
		uint8_t buf[LBA];
		GError *error = NULL;
		if (!sepia_bootdisk_read(d, p, p->size - sizeof(buf), buf, sizeof(buf), &error) || error)
			abort();
		if (sepia_bootdisk_read(d, p, p->size - sizeof(buf) + 1, buf, sizeof(buf), &error))
			abort();
		fuzz_expect_error_naming(&error, disk);
		if (sepia_bootdisk_write(d, p, 0, buf, sizeof(buf), &error))
			abort(); /* opened read-only */
		fuzz_expect_error_naming(&error, disk);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (disk_fd < 0) {
		disk = g_build_filename(fuzz_private_dir("fuzz-gpt"), "disk.img", NULL);
		disk_fd = open(disk, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (disk_fd < 0)
			abort();
	}
	if (size == 0 || size > IMAGE_BYTES)
		return 0;
	uint8_t flags = data[0];
	memcpy(image, data, size);
	if (size >= 2 * LBA)
		fix_crcs(flags);
	static const uint64_t sizes[] = { 1u << 20, 0, 64u << 20, 3 * LBA };
	uint64_t disk_size = sizes[(flags >> 2) & 3] ? sizes[(flags >> 2) & 3] : size;
	/* Fix-ups write at most the header sector and the entry CRC field inside it; both lie
     * in the first IMAGE_BYTES bytes. Writing the whole prefix that may have changed: */
	size_t written = MAX(size, 2 * LBA);
	fuzz_rewrite_fd(disk_fd, image, MIN(written, (size_t)disk_size));
	if (ftruncate(disk_fd, (off_t)disk_size) < 0)
		abort();
	memset(image, 0, written);

	GError *error = NULL;
	SepiaBootDisk *d = sepia_bootdisk_open(disk, false, &error);
	if (!d) {
		fuzz_expect_error_naming(&error, disk);
		return 0;
	}
	if (error)
		abort();
	check_disk(d, disk_size);
	bool has_misc = sepia_bootdisk_find(d, "misc") != NULL;
	sepia_bootdisk_close(d);
	if (!has_misc)
		return 0;
	SepiaAbControl ctl;
	if (!sepia_bootdisk_read_ab(disk, &ctl, &error)) {
		fuzz_expect_error_naming(&error, disk);
		return 0;
	}
	if (error || sepia_ab_pick_slot(&ctl) >= ctl.nb_slot)
		abort();
	if ((flags & 0x10) && flags != '#' && flags != 'Q') {
		int slot = (flags >> 5) & 3;
		if (sepia_bootdisk_mark_successful(disk, slot, &error)) {
			SepiaAbControl after;
			if (error || !sepia_bootdisk_read_ab(disk, &after, &error) ||
			    !after.slots[slot].successful_boot)
				abort();
		} else {
			fuzz_expect_error_naming(&error, disk);
		}
	}
	return 0;
}
