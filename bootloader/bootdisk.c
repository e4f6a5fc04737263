/* bootloader/bootdisk.c — GPT lookup on the device disk and the bootloader step through it. See
 * bootdisk.h. */
#include "bootloader/bootdisk.h"

#include "block/block.h"
#include "images/common.h"
#include "images/crc32.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define GPT_LBA              512u
#define GPT_HEADER_MIN       92u
#define GPT_ENTRY_MIN        128u
#define GPT_ENTRY_NAME_OFF   56u
#define GPT_ENTRY_NAME_UNITS 36u
/* No real table is this large (128 entries x 128 bytes is usual); a bound keeps a hostile header
 * from making us read gigabytes. */
#define GPT_ENTRIES_MAX_BYTES (1u << 20)
#define COPY_CHUNK            (1u << 20)

struct SepiaBootDisk {
	struct block_backend *b;
	char *path;
	GArray *parts; /* SepiaBootDiskPartition */
};

static bool disk_fail(GError **error, const SepiaBootDisk *d, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static bool disk_fail(GError **error, const SepiaBootDisk *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return img_fail(error, d->path, "%s", msg);
}

static bool disk_pread(SepiaBootDisk *d, uint64_t off, void *buf, gsize len, const char *what, GError **error)
{
	struct iovec iov = { buf, len };
	int r = d->b->ops->preadv(d->b, &iov, 1, off);
	if (r < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, d->path, "reading %s: %s", what,
				     g_strerror(-r));
	return true;
}

static void partition_clear(gpointer p) { g_free(((SepiaBootDiskPartition *)p)->name); }

/* The entry's name: UTF-16LE up to the first NUL. */
static char *entry_name(const guint8 *e)
{
	gunichar2 units[GPT_ENTRY_NAME_UNITS];
	glong n = 0;
	for (; n < (glong)GPT_ENTRY_NAME_UNITS; n++) {
		units[n] = get_le16(e + GPT_ENTRY_NAME_OFF + 2 * n);
		if (!units[n])
			break;
	}
	return g_utf16_to_utf8(units, n, NULL, NULL, NULL);
}

static bool all_zero(const guint8 *p, gsize n)
{
	for (gsize i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static bool read_gpt(SepiaBootDisk *d, GError **error)
{
	uint64_t disk_lbas = d->b->size / GPT_LBA;
	if (disk_lbas < 3)
		return disk_fail(error, d, "disk is %" G_GUINT64_FORMAT " bytes, too small for a GPT",
				 (guint64)d->b->size);
	guint8 h[GPT_LBA];
	if (!disk_pread(d, GPT_LBA, h, sizeof h, "the GPT header", error))
		return false;
	if (memcmp(h, "EFI PART", 8) != 0)
		return disk_fail(error, d, "no GPT: LBA 1 lacks the \"EFI PART\" signature");
	if (get_le16(h + 10) != 1)
		return disk_fail(error, d, "GPT header revision %u.%u is not supported (1.x)",
				 get_le16(h + 10), get_le16(h + 8));
	uint32_t hsize = get_le32(h + 12);
	if (hsize < GPT_HEADER_MIN || hsize > GPT_LBA)
		return disk_fail(error, d, "GPT header_size %u is outside %u..%u", hsize, GPT_HEADER_MIN,
				 GPT_LBA);
	uint32_t want_crc = get_le32(h + 16);
	guint8 hc[GPT_LBA];
	memcpy(hc, h, hsize);
	put_le32(hc + 16, 0);
	if (sepia_crc32_update(0, hc, hsize) != want_crc)
		return disk_fail(error, d, "GPT header CRC-32 mismatch (corrupt partition table)");
	uint64_t my_lba = get_le64(h + 24), first_usable = get_le64(h + 40), last_usable = get_le64(h + 48),
		 entries_lba = get_le64(h + 72);
	uint32_t n_entries = get_le32(h + 80), entry_size = get_le32(h + 84);
	if (my_lba != 1)
		return disk_fail(error, d, "GPT header at LBA 1 says it is at LBA %" G_GUINT64_FORMAT,
				 (guint64)my_lba);
	if (first_usable > last_usable || last_usable >= disk_lbas)
		return disk_fail(error, d,
				 "GPT usable LBAs %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
				 " do not fit the disk's %" G_GUINT64_FORMAT " LBAs",
				 (guint64)first_usable, (guint64)last_usable, (guint64)disk_lbas);
	if (entry_size < GPT_ENTRY_MIN || !img_is_pow2(entry_size))
		return disk_fail(error, d, "GPT entry size %u is not 128 times a power of two", entry_size);
	uint64_t array_bytes, array_off, array_end;
	if (!img_mul(n_entries, entry_size, &array_bytes) || array_bytes > GPT_ENTRIES_MAX_BYTES)
		return disk_fail(error, d, "GPT entry array (%u entries of %u bytes) exceeds %u bytes",
				 n_entries, entry_size, GPT_ENTRIES_MAX_BYTES);
	if (entries_lba < 2 || !img_mul(entries_lba, GPT_LBA, &array_off) ||
	    !img_add(array_off, array_bytes, &array_end) || array_end > d->b->size)
		return disk_fail(error, d,
				 "GPT entry array at LBA %" G_GUINT64_FORMAT " runs past the "
				 "end of the disk",
				 (guint64)entries_lba);
	g_autofree guint8 *ents = g_malloc(array_bytes ? array_bytes : 1);
	if (!disk_pread(d, array_off, ents, array_bytes, "the GPT entries", error))
		return false;
	if (sepia_crc32_update(0, ents, array_bytes) != get_le32(h + 88))
		return disk_fail(error, d, "GPT entry array CRC-32 mismatch (corrupt partition table)");

	for (uint32_t i = 0; i < n_entries; i++) {
		const guint8 *e = ents + (gsize)i * entry_size;
		if (all_zero(e, 16))
			continue;
		uint64_t first = get_le64(e + 32), last = get_le64(e + 40);
		if (first > last || first < first_usable || last > last_usable)
			return disk_fail(error, d,
					 "GPT entry %u: LBAs %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
					 " lie outside the usable %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT,
					 i + 1, (guint64)first, (guint64)last, (guint64)first_usable,
					 (guint64)last_usable);
		SepiaBootDiskPartition p = { entry_name(e), first * GPT_LBA, (last - first + 1) * GPT_LBA };
		if (!p.name)
			return disk_fail(error, d, "GPT entry %u: name is not valid UTF-16", i + 1);
		for (guint k = 0; k < d->parts->len; k++) {
			const SepiaBootDiskPartition *o = &g_array_index(d->parts, SepiaBootDiskPartition, k);
			bool dup = p.name[0] && !strcmp(o->name, p.name);
			bool overlap = p.offset < o->offset + o->size && o->offset < p.offset + p.size;
			if (dup || overlap) {
				disk_fail(error, d, "GPT entry %u (\"%s\") %s partition \"%s\"", i + 1,
					  p.name, dup ? "has the same name as" : "overlaps", o->name);
				g_free(p.name);
				return false;
			}
		}
		g_array_append_val(d->parts, p);
	}
	return true;
}

SepiaBootDisk *sepia_bootdisk_open(const char *path, bool writable, GError **error)
{
	struct block_backend *b = block_open(path, !writable, error);
	if (!b)
		return NULL;
	g_autoptr(SepiaBootDisk) d = g_new0(SepiaBootDisk, 1);
	d->b = b;
	d->path = g_strdup(path);
	d->parts = g_array_new(FALSE, TRUE, sizeof(SepiaBootDiskPartition));
	g_array_set_clear_func(d->parts, partition_clear);
	if (!read_gpt(d, error))
		return NULL;
	return g_steal_pointer(&d);
}

void sepia_bootdisk_close(SepiaBootDisk *disk)
{
	if (!disk)
		return;
	if (disk->b) {
		if (!disk->b->readonly)
			(void)disk->b->ops->flush(disk->b);
		block_close(disk->b);
	}
	if (disk->parts)
		g_array_unref(disk->parts);
	g_free(disk->path);
	g_free(disk);
}

const char *sepia_bootdisk_path(const SepiaBootDisk *disk) { return disk->path; }

guint sepia_bootdisk_n_partitions(const SepiaBootDisk *disk) { return disk->parts->len; }

const SepiaBootDiskPartition *sepia_bootdisk_partition(const SepiaBootDisk *disk, guint i)
{
	return i < disk->parts->len ? &g_array_index(disk->parts, SepiaBootDiskPartition, i) : NULL;
}

const SepiaBootDiskPartition *sepia_bootdisk_find(const SepiaBootDisk *disk, const char *name)
{
	for (guint i = 0; i < disk->parts->len; i++) {
		const SepiaBootDiskPartition *p = &g_array_index(disk->parts, SepiaBootDiskPartition, i);
		if (!strcmp(p->name, name))
			return p;
	}
	return NULL;
}

static bool range_ok(const SepiaBootDisk *d, const SepiaBootDiskPartition *part, uint64_t off, gsize len,
		     GError **error)
{
	uint64_t end;
	if (!img_add(off, len, &end) || end > part->size)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, d->path,
				     "partition %s: 0x%zx "
				     "bytes at offset 0x%" G_GINT64_MODIFIER
				     "x run past its end (0x%" G_GINT64_MODIFIER "x bytes)",
				     part->name, len, (guint64)off, (guint64)part->size);
	return true;
}

bool sepia_bootdisk_read(SepiaBootDisk *disk, const SepiaBootDiskPartition *part, uint64_t off, void *buf,
			 gsize len, GError **error)
{
	if (!range_ok(disk, part, off, len, error))
		return false;
	g_autofree char *what = g_strdup_printf("partition %s", part->name);
	return disk_pread(disk, part->offset + off, buf, len, what, error);
}

bool sepia_bootdisk_write(SepiaBootDisk *disk, const SepiaBootDiskPartition *part, uint64_t off,
			  const void *buf, gsize len, GError **error)
{
	if (!range_ok(disk, part, off, len, error))
		return false;
	if (disk->b->readonly)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, disk->path,
				     "partition %s: disk opened read-only", part->name);
	struct iovec iov = { (void *)buf, len };
	int r = disk->b->ops->pwritev(disk->b, &iov, 1, part->offset + off);
	if (r < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, disk->path, "writing partition %s: %s",
				     part->name, g_strerror(-r));
	return true;
}

bool sepia_bootdisk_flush(SepiaBootDisk *disk, GError **error)
{
	if (disk->b->readonly)
		return true;
	int r = disk->b->ops->flush(disk->b);
	if (r < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, disk->path, "flush: %s", g_strerror(-r));
	return true;
}

bool sepia_bootdisk_extract(SepiaBootDisk *disk, const SepiaBootDiskPartition *part, const char *path,
			    GError **error)
{
	g_autofree char *tmp = NULL;
	int fd = img_tmp_create(path, &tmp, error);
	if (fd < 0)
		return false;
	g_autofree guint8 *buf = g_malloc(COPY_CHUNK);
	for (uint64_t off = 0; off < part->size;) {
		gsize n = (gsize)MIN((uint64_t)COPY_CHUNK, part->size - off);
		if (!sepia_bootdisk_read(disk, part, off, buf, n, error))
			goto fail;
		for (gsize done = 0; done < n;) {
			ssize_t w = write(fd, buf + done, n - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "writing partition %s: %s",
					      part->name, w < 0 ? g_strerror(errno) : "short write");
				goto fail;
			}
			done += (gsize)w;
		}
		off += n;
	}
	return img_tmp_commit(fd, tmp, path, error);
fail:
	img_tmp_abort(fd, tmp);
	return false;
}

/* ---- the bootloader step ---- */

/* A slot's partition copies in the work directory. */
typedef struct {
	char *path[4]; /* boot, vendor_boot, init_boot, vbmeta; NULL when the disk lacks it */
} SlotCopies;

static const char *const slot_parts[4] = { "boot", "vendor_boot", "init_boot", "vbmeta" };

static bool extract_named(SepiaBootDisk *d, const char *name, const char *work_dir, char **path,
			  GError **error)
{
	const SepiaBootDiskPartition *p = sepia_bootdisk_find(d, name);
	if (!p)
		return true;
	g_autofree char *file = g_strconcat(name, ".img", NULL);
	g_autofree char *out = g_build_filename(work_dir, file, NULL);
	if (!sepia_bootdisk_extract(d, p, out, error))
		return false;
	*path = g_steal_pointer(&out);
	return true;
}

/* Writes back the 512-byte blocks of misc that differ between before and after. */
static bool write_back_misc(SepiaBootDisk *d, const SepiaBootDiskPartition *misc, const guint8 *before,
			    const guint8 *after, gsize len, GError **error)
{
	gsize first = len, last = 0;
	for (gsize i = 0; i < len; i += GPT_LBA)
		if (memcmp(before + i, after + i, MIN((gsize)GPT_LBA, len - i)) != 0) {
			first = MIN(first, i);
			last = i + MIN((gsize)GPT_LBA, len - i);
		}
	if (first >= last)
		return true;
	return sepia_bootdisk_write(d, misc, first, after + first, last - first, error) &&
	       sepia_bootdisk_flush(d, error);
}

static bool run_on_disk(SepiaBootDisk *d, const char *work_dir, const SepiaBootOptions *opts,
			SepiaBootResult **out, GPtrArray *copies, GError **error)
{
	const SepiaBootDiskPartition *misc = sepia_bootdisk_find(d, "misc");
	if (!misc)
		return disk_fail(error, d, "no partition named misc in the GPT");
	if (misc->size > G_MAXSIZE / 2)
		return disk_fail(error, d, "partition misc is too large (%" G_GUINT64_FORMAT " bytes)",
				 (guint64)misc->size);
	gsize misc_len = (gsize)misc->size;
	g_autofree guint8 *before = g_malloc(misc_len);
	if (!sepia_bootdisk_read(d, misc, 0, before, misc_len, error))
		return false;
	g_autofree char *misc_copy = g_build_filename(work_dir, "misc.img", NULL);
	if (!img_write_atomic(misc_copy, before, misc_len, error))
		return false;
	g_ptr_array_add(copies, g_strdup(misc_copy));

	SlotCopies slots[SEPIA_AB_MAX_SLOTS] = { 0 };
	SepiaSlotImages images[SEPIA_AB_MAX_SLOTS] = { 0 };
	gsize n_slots = 0;
	bool ok = true;
	for (int s = 0; ok && s < SEPIA_AB_MAX_SLOTS; s++) {
		g_autofree char *boot = g_strconcat("boot", sepia_ab_slot_suffix(s), NULL);
		if (!sepia_bootdisk_find(d, boot))
			break;
		for (int k = 0; ok && k < 4; k++) {
			g_autofree char *name = g_strconcat(slot_parts[k], sepia_ab_slot_suffix(s), NULL);
			ok = extract_named(d, name, work_dir, &slots[s].path[k], error);
			if (slots[s].path[k])
				g_ptr_array_add(copies, g_strdup(slots[s].path[k]));
		}
		images[s] = (SepiaSlotImages){ slots[s].path[0], slots[s].path[1], slots[s].path[2],
					       slots[s].path[3] };
		n_slots = (gsize)s + 1;
	}
	if (ok && n_slots == 0)
		ok = disk_fail(error, d, "no partition named boot_a in the GPT");
	g_autoptr(GError) step_err = NULL;
	if (ok)
		*out = sepia_bootloader_choose_and_prepare(misc_copy, images, n_slots, opts, &step_err);
	for (int s = 0; s < SEPIA_AB_MAX_SLOTS; s++)
		for (int k = 0; k < 4; k++)
			g_free(slots[s].path[k]);
	if (!ok)
		return false;

	/* Whatever the step recorded (the attempt, refused slots), also when no slot booted. */
	g_autofree char *after = NULL;
	gsize after_len = 0;
	if (!g_file_get_contents(misc_copy, &after, &after_len, error) ||
	    (after_len != misc_len &&
	     !img_fail_code(error, SEPIA_IMAGES_ERROR_IO, misc_copy, "misc copy changed size")) ||
	    !write_back_misc(d, misc, before, (const guint8 *)after, misc_len, error)) {
		g_clear_pointer(out, sepia_boot_result_free);
		return false;
	}
	if (!*out) {
		g_propagate_error(error, g_steal_pointer(&step_err));
		return false;
	}
	return true;
}

bool sepia_bootdisk_run_bootloader(const char *disk_path, const char *work_dir, const SepiaBootOptions *opts,
				   SepiaBootResult **out, GError **error)
{
	*out = NULL;
	if (g_mkdir_with_parents(work_dir, 0755) < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, work_dir, "cannot create directory: %s",
				     g_strerror(errno));
	g_autoptr(SepiaBootDisk) d = sepia_bootdisk_open(disk_path, true, error);
	if (!d)
		return false;
	g_autoptr(GPtrArray) copies = g_ptr_array_new_with_free_func(g_free);
	bool ok = run_on_disk(d, work_dir, opts, out, copies, error);
	for (guint i = 0; i < copies->len; i++)
		(void)g_unlink(g_ptr_array_index(copies, i));
	if (!ok && error && *error && !g_str_has_prefix((*error)->message, disk_path))
		g_prefix_error(error, "%s: ", disk_path);
	return ok;
}

/* ---- A/B metadata through the disk ---- */

/* The metadata lives in misc's sector at SEPIA_AB_MISC_OFFSET; it is read and written as that
 * whole sector, so the block layer only ever sees sector-sized writes, as from a guest. */
static bool read_ab_sector(SepiaBootDisk *d, const SepiaBootDiskPartition **misc_out, guint8 sector[GPT_LBA],
			   SepiaAbControl *ctl, GError **error)
{
	const SepiaBootDiskPartition *misc = sepia_bootdisk_find(d, "misc");
	if (!misc)
		return disk_fail(error, d, "no partition named misc in the GPT");
	if (!sepia_bootdisk_read(d, misc, SEPIA_AB_MISC_OFFSET, sector, GPT_LBA, error))
		return false;
	g_autofree char *name = g_strdup_printf("%s: misc", d->path);
	if (!sepia_ab_control_decode(sector, ctl, name, error))
		return false;
	*misc_out = misc;
	return true;
}

bool sepia_bootdisk_read_ab(const char *disk_path, SepiaAbControl *out, GError **error)
{
	g_autoptr(SepiaBootDisk) d = sepia_bootdisk_open(disk_path, false, error);
	const SepiaBootDiskPartition *misc;
	guint8 sector[GPT_LBA];
	return d && read_ab_sector(d, &misc, sector, out, error);
}

bool sepia_bootdisk_mark_successful(const char *disk_path, int slot, GError **error)
{
	g_autoptr(SepiaBootDisk) d = sepia_bootdisk_open(disk_path, true, error);
	if (!d)
		return false;
	const SepiaBootDiskPartition *misc;
	guint8 sector[GPT_LBA];
	SepiaAbControl ctl;
	if (!read_ab_sector(d, &misc, sector, &ctl, error))
		return false;
	if (slot < 0 || slot >= ctl.nb_slot)
		return disk_fail(error, d, "misc: slot %d does not exist (%u slots)", slot, ctl.nb_slot);
	sepia_ab_mark_successful(&ctl, slot);
	sepia_ab_control_encode(&ctl, sector);
	return sepia_bootdisk_write(d, misc, SEPIA_AB_MISC_OFFSET, sector, GPT_LBA, error) &&
	       sepia_bootdisk_flush(d, error);
}
