/* images/composite.h — a GPT disk over partition files, without copying them.
 *
 * The disk is described as a VMDK descriptor (createType "monolithicFlat") whose extents are all
 * `RW <sectors> FLAT "<file>" <offset>`: the protective MBR and primary GPT come from a small
 * header file, each partition from its input file, every gap and pad from one shared sparse zero
 * file, and the backup GPT from a small footer file. Only RW FLAT extents are used because
 * QEMU 7.2's vmdk driver silently drops ZERO extents (see block/vmdk.c).
 *
 * Layout: partitions start on 1 MiB boundaries; a partition is its file's size rounded up to
 * 4 KiB (an empty file still gets one 4 KiB partition of zeroes, since a GPT entry cannot be
 * empty). The disk ends on a 1 MiB boundary with the backup entry array and backup header in its
 * last 33 sectors. Partition and disk GUIDs are derived from a caller-given seed and the partition
 * names, so reassembly with the same inputs gives the same bytes.
 *
 * A file whose size is not a multiple of 512 is mapped by a FLAT extent that runs up to 511 bytes
 * past its end: both QEMU and sepia's block layer read zeroes past the end of a file, and the
 * composite is never written (a qcow2 overlay sits on top), so the tail sector reads as the file's
 * bytes followed by zeroes without copying anything. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define COMPOSITE_SECTOR         512u
#define COMPOSITE_PART_ALIGN     (1u << 20) /* partition starts and the disk's end */
#define COMPOSITE_SIZE_ALIGN     4096u      /* partition sizes */
#define COMPOSITE_GPT_ENTRIES    128u
#define COMPOSITE_GPT_ENTRY_SIZE 128u
#define COMPOSITE_GPT_NAME_UNITS 36u /* UTF-16 code units in an entry's name */

/* Linux filesystem data, the default type. */
#define COMPOSITE_TYPE_LINUX_DATA "0FC63DAF-8483-4772-8E79-3D69D8477DE4"

/* What the caller asks for, in disk order. */
typedef struct {
	const char *name;      /* GPT partition name (UTF-8, at most 36 UTF-16 units) */
	const char *path;      /* the file whose bytes are the partition */
	const char *type_guid; /* "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX" or NULL for Linux data */
	uint64_t attributes;   /* GPT attribute bits */
} CompositePartitionSpec;

/* One laid-out partition. */
typedef struct {
	char *name;
	char *path;           /* absolute path of the input file */
	uint64_t file_size;   /* the input's size when laid out */
	uint64_t offset;      /* byte offset of the partition on the disk (1 MiB aligned) */
	uint64_t size;        /* partition size in bytes (file_size rounded up to 4 KiB, >= 4 KiB) */
	guint8 type_guid[16]; /* on-disk (mixed-endian) GPT byte order */
	guint8 part_guid[16];
	uint64_t attributes;
} CompositePartition;

typedef struct {
	CompositePartition *parts;
	guint n_parts;
	uint64_t disk_size; /* bytes, a multiple of 1 MiB */
	guint8 disk_guid[16];
	/* Set by composite_write: absolute paths of the files it made. */
	char *descriptor_path;
	char *header_path;
	char *footer_path;
	char *zero_path;
	uint64_t zero_size;  /* the shared zero file's length (the largest gap) */
	guint files_written; /* how many of the four files composite_write changed (0 = all current) */
} CompositeDisk;

void composite_disk_free(CompositeDisk *disk);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CompositeDisk, composite_disk_free)

/* Checks the inputs (each file exists, is readable and regular; names are unique, non-empty and
 * fit in a GPT entry; at most 128 partitions; type GUIDs parse) and computes the layout. Errors
 * are one line naming the file or partition. */
CompositeDisk *composite_layout(const CompositePartitionSpec *specs, guint n_specs, const char *disk_seed,
				GError **error);

/* Writes <dir>/<basename>.vmdk, <basename>_gpt_header.img, <basename>_gpt_footer.img and
 * <basename>_zero.img (sparse). Each file is replaced atomically, and only when its contents
 * differ from what is there, so reassembling unchanged inputs leaves every mtime alone. */
bool composite_write(CompositeDisk *disk, const char *dir, const char *basename, GError **error);

/* composite_layout + composite_write. */
CompositeDisk *composite_create(const char *dir, const char *basename, const CompositePartitionSpec *specs,
				guint n_specs, const char *disk_seed, GError **error);

/* The GPT pieces as bytes (for tests and for writers other than the VMDK one): the header region
 * is LBA 0..33 (protective MBR, primary header, entries), the footer the last 33 sectors. */
GBytes *composite_gpt_header(const CompositeDisk *disk);
GBytes *composite_gpt_footer(const CompositeDisk *disk);

/* "0FC63DAF-..." <-> on-disk GPT byte order; false if text is not a GUID. */
bool composite_guid_parse(const char *text, guint8 out[16]);
char *composite_guid_to_string(const guint8 guid[16]);

/* Replaces path atomically with data unless it already holds exactly those bytes. *changed (if
 * not NULL) says whether it wrote. */
bool composite_write_if_changed(const char *path, const void *data, gsize len, bool *changed, GError **error);
