/* bootloader/bootdisk.h — the bootloader step against the device's disk, as a phone's bootloader
 * does it: the disk is the instance's overlay.qcow2 (over os_composite.vmdk), opened through the
 * VMM's block layer (block/block.h); partitions are found by name in its GPT; misc is
 * read and written through the overlay, so the composite's input files are never written; each
 * slot's boot, vendor_boot, init_boot and vbmeta are read from the boot_a/vendor_boot_a/...
 * partitions.
 *
 * GPT facts used (UEFI 2.x, chapter 5.3): 512-byte logical blocks; the primary header at LBA 1
 * ("EFI PART", revision 1.0, header_size 92..512, CRC-32 of header_size bytes with its own CRC
 * field zeroed, my_lba 1, first/last usable LBA, entries' starting LBA, count, size 128 * 2^n and
 * CRC-32 of the whole entry array); an entry: type GUID (all zero = unused), unique GUID, first and
 * last LBA (inclusive), attributes, 36 UTF-16LE code units of name. Only the primary GPT is read:
 * a corrupt one is an error naming the disk (no fallback to the backup, which sepia's composite
 * writes from the same bytes).
 *
 * One writer at a time: the bootloader step runs before sepia-vmm starts, and the monitor marks
 * a boot successful after the VMM has exited. */
#pragma once

#include "images/abmisc.h"
#include "bootloader/bootloader.h"

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
	char *name;      /* UTF-8 */
	uint64_t offset; /* bytes from the start of the disk */
	uint64_t size;   /* bytes */
} SepiaBootDiskPartition;

typedef struct SepiaBootDisk SepiaBootDisk;

/* Opens the disk (qcow2, VMDK or raw, as block_open recognises them) and reads its GPT. Errors
 * name the disk and what is wrong (bad signature, a CRC mismatch, entries out of bounds, ...). */
SepiaBootDisk *sepia_bootdisk_open(const char *path, bool writable, GError **error);
/* Flushes (when writable) and closes; NULL is fine. */
void sepia_bootdisk_close(SepiaBootDisk *disk);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SepiaBootDisk, sepia_bootdisk_close)

const char *sepia_bootdisk_path(const SepiaBootDisk *disk);
/* The used GPT entries, in table order. */
guint sepia_bootdisk_n_partitions(const SepiaBootDisk *disk);
const SepiaBootDiskPartition *sepia_bootdisk_partition(const SepiaBootDisk *disk, guint i);
/* The partition with that GPT name, or NULL. */
const SepiaBootDiskPartition *sepia_bootdisk_find(const SepiaBootDisk *disk, const char *name);

/* Reads or writes [off, off+len) of a partition; the range must lie inside it. */
bool sepia_bootdisk_read(SepiaBootDisk *disk, const SepiaBootDiskPartition *part, uint64_t off, void *buf,
			 gsize len, GError **error);
bool sepia_bootdisk_write(SepiaBootDisk *disk, const SepiaBootDiskPartition *part, uint64_t off,
			  const void *buf, gsize len, GError **error);
bool sepia_bootdisk_flush(SepiaBootDisk *disk, GError **error);
/* Copies a whole partition into a new file at path (replaced atomically). */
bool sepia_bootdisk_extract(SepiaBootDisk *disk, const SepiaBootDiskPartition *part, const char *path,
			    GError **error);

/* The whole bootloader step on a disk: copies misc and every slot's partitions (boot_<s>, and
 * vendor_boot_<s>, init_boot_<s>, vbmeta_<s> when the disk has them; slots a..d while boot_<s>
 * exists) into work_dir, runs sepia_bootloader_choose_and_prepare on the misc copy, writes the
 * misc bytes it changed back into the misc partition (also when no slot boots: the refusals are
 * recorded), flushes and closes the disk, and removes the copies. Kernel and initrd go to
 * opts->out_dir. *out receives the result; false with *error when no slot boots or on an I/O
 * error (the message starts with the disk's path). */
bool sepia_bootdisk_run_bootloader(const char *disk_path, const char *work_dir, const SepiaBootOptions *opts,
				   SepiaBootResult **out, GError **error);

/* The OS reached boot-complete on slot (0 = a): loads the A/B metadata from misc through the
 * disk, sepia_ab_mark_successful, stores it and flushes. Invalid metadata is an error (there
 * was no bootloader step to record). */
bool sepia_bootdisk_mark_successful(const char *disk_path, int slot, GError **error);

/* The A/B metadata in the disk's misc partition, for status display. Invalid metadata (a blank
 * misc before the first boot, a bad CRC) is an error naming the disk. */
bool sepia_bootdisk_read_ab(const char *disk_path, SepiaAbControl *out, GError **error);
