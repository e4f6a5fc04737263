/* images/composite.c — GPT layout and a VMDK (monolithicFlat, RW FLAT extents) descriptor over
 * the partition files. Facts used: UEFI spec 2.x §5.3 (GPT header and entry layout, CRC32 over
 * the header with its CRC field zeroed and over the whole entry array), the protective MBR
 * (one 0xEE entry from LBA 1), and QEMU's VMDK descriptor reader (extent lines
 * `RW <sectors> FLAT "<file>" <offset>`, file names at most 511 bytes, relative to the
 * descriptor's directory). */
#include "images/composite.h"

#include "images/common.h"
#include "images/crc32.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECTOR             ((uint64_t)COMPOSITE_SECTOR)
#define ENTRY_BYTES        (COMPOSITE_GPT_ENTRIES * COMPOSITE_GPT_ENTRY_SIZE) /* 16 KiB = 32 sectors */
#define ENTRY_SECTORS      (ENTRY_BYTES / COMPOSITE_SECTOR)
#define HEADER_SECTORS     (2 + ENTRY_SECTORS) /* MBR, primary header, entries */
#define FOOTER_SECTORS     (ENTRY_SECTORS + 1) /* backup entries, backup header */
#define GPT_HEADER_SIZE    92u
#define QEMU_VMDK_NAME_MAX 511u /* QEMU's sscanf("%511[^\n\r\"]") */

void composite_disk_free(CompositeDisk *disk)
{
	if (!disk)
		return;
	for (guint i = 0; i < disk->n_parts; i++) {
		g_free(disk->parts[i].name);
		g_free(disk->parts[i].path);
	}
	g_free(disk->parts);
	g_free(disk->descriptor_path);
	g_free(disk->header_path);
	g_free(disk->footer_path);
	g_free(disk->zero_path);
	g_free(disk);
}

/* ---- GUIDs ---- */

static int hexval(char c) { return g_ascii_isxdigit(c) ? g_ascii_xdigit_value(c) : -1; }

bool composite_guid_parse(const char *text, guint8 out[16])
{
	/* Text order is d1(4) d2(2) d3(2) d4(2) d5(6); on disk d1..d3 are little-endian. */
	static const int group_len[5] = { 4, 2, 2, 2, 6 };
	guint8 b[16];
	int n = 0;
	const char *p = text;
	if (!text || strlen(text) != 36)
		return false;
	for (int g = 0; g < 5; g++) {
		if (g > 0 && *p++ != '-')
			return false;
		for (int i = 0; i < group_len[g]; i++, p += 2) {
			int hi = hexval(p[0]), lo = hexval(p[1]);
			if (hi < 0 || lo < 0)
				return false;
			b[n++] = (guint8)(hi << 4 | lo);
		}
	}
	static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	for (int i = 0; i < 16; i++)
		out[i] = b[order[i]];
	return true;
}

char *composite_guid_to_string(const guint8 g[16])
{
	return g_strdup_printf("%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", g[3],
			       g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12],
			       g[13], g[14], g[15]);
}

/* A version-4-shaped GUID from SHA-256(tag, seed, name): stable across reassembly, distinct per
 * name and per disk seed. */
static void derive_guid(const char *tag, const char *seed, const char *name, guint8 out[16])
{
	g_autoptr(GChecksum) ck = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(ck, (const guchar *)tag, (gssize)strlen(tag) + 1);
	g_checksum_update(ck, (const guchar *)seed, (gssize)strlen(seed) + 1);
	g_checksum_update(ck, (const guchar *)name, (gssize)strlen(name));
	guint8 digest[32];
	gsize len = sizeof digest;
	g_checksum_get_digest(ck, digest, &len);
	memcpy(out, digest, 16);
	out[7] = (guint8)((out[7] & 0x0f) | 0x40); /* version 4 (top nibble of d3, stored little-endian) */
	out[8] = (guint8)((out[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

/* ---- layout ---- */

static bool check_name(const char *name, GError **error)
{
	if (!name || !*name)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, "composite",
				     "a partition has an empty name");
	glong units = 0;
	g_autoptr(GError) err = NULL;
	g_autofree gunichar2 *u16 = g_utf8_to_utf16(name, -1, NULL, &units, &err);
	if (!u16)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, name,
				     "partition name is not valid UTF-8");
	if (units > (glong)COMPOSITE_GPT_NAME_UNITS)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, name,
				     "partition name is %ld UTF-16 units long (a GPT entry holds %u)", units,
				     COMPOSITE_GPT_NAME_UNITS);
	return true;
}

CompositeDisk *composite_layout(const CompositePartitionSpec *specs, guint n_specs, const char *disk_seed,
				GError **error)
{
	if (n_specs > COMPOSITE_GPT_ENTRIES) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, "composite",
			      "%u partitions (a GPT holds %u)", n_specs, COMPOSITE_GPT_ENTRIES);
		return NULL;
	}
	g_autoptr(CompositeDisk) disk = g_new0(CompositeDisk, 1);
	disk->parts = g_new0(CompositePartition, n_specs ? n_specs : 1);
	const char *seed = disk_seed ? disk_seed : "";
	derive_guid("sepia-composite-disk", seed, "", disk->disk_guid);

	uint64_t pos = COMPOSITE_PART_ALIGN; /* first partition: 1 MiB, well past LBA 33 */
	for (guint i = 0; i < n_specs; i++) {
		const CompositePartitionSpec *s = &specs[i];
		if (!check_name(s->name, error))
			return NULL;
		for (guint j = 0; j < i; j++) {
			if (!strcmp(specs[j].name, s->name)) {
				img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, s->name,
					      "partition name given twice (%s and %s)", specs[j].path,
					      s->path ? s->path : "(null)");
				return NULL;
			}
		}
		if (!s->path || !*s->path) {
			img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, s->name, "partition has no file");
			return NULL;
		}
		CompositePartition *p = &disk->parts[disk->n_parts];
		p->name = g_strdup(s->name);
		p->path = g_canonicalize_filename(s->path, NULL);
		p->attributes = s->attributes;
		disk->n_parts++;
		if (strpbrk(p->path, "\"\r\n") || strlen(p->path) > QEMU_VMDK_NAME_MAX) {
			img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, p->path,
				      "path cannot go in a VMDK descriptor (quote or newline, or longer than "
				      "%u bytes)",
				      QEMU_VMDK_NAME_MAX);
			return NULL;
		}
		ImgSource src;
		if (!img_source_open(&src, p->path, error))
			return NULL;
		p->file_size = src.size;
		img_source_close(&src);
		if (!composite_guid_parse(s->type_guid ? s->type_guid : COMPOSITE_TYPE_LINUX_DATA,
					  p->type_guid)) {
			img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, s->name,
				      "bad partition type GUID '%s'", s->type_guid);
			return NULL;
		}
		derive_guid("sepia-composite-partition", seed, s->name, p->part_guid);

		uint64_t size, end;
		if (!img_align_up(p->file_size, COMPOSITE_SIZE_ALIGN, &size) ||
		    !img_align_up(pos, COMPOSITE_PART_ALIGN, &p->offset) ||
		    !img_add(p->offset, size ? size : COMPOSITE_SIZE_ALIGN, &end)) {
			img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, p->path,
				      "file too large for the disk");
			return NULL;
		}
		p->size = size ? size : COMPOSITE_SIZE_ALIGN;
		pos = end;
	}
	if (!img_add(pos, FOOTER_SECTORS * SECTOR, &pos) ||
	    !img_align_up(pos, COMPOSITE_PART_ALIGN, &disk->disk_size)) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, "composite", "disk too large");
		return NULL;
	}
	return g_steal_pointer(&disk);
}

/* ---- GPT bytes ---- */

static GBytes *entry_array(const CompositeDisk *d)
{
	guint8 *e = g_malloc0(ENTRY_BYTES);
	for (guint i = 0; i < d->n_parts; i++) {
		const CompositePartition *p = &d->parts[i];
		guint8 *ent = e + i * COMPOSITE_GPT_ENTRY_SIZE;
		memcpy(ent, p->type_guid, 16);
		memcpy(ent + 16, p->part_guid, 16);
		put_le64(ent + 32, p->offset / SECTOR);
		put_le64(ent + 40, (p->offset + p->size) / SECTOR - 1); /* inclusive */
		put_le64(ent + 48, p->attributes);
		glong units = 0;
		g_autofree gunichar2 *u16 = g_utf8_to_utf16(p->name, -1, NULL, &units, NULL);
		for (glong k = 0; k < units && k < (glong)COMPOSITE_GPT_NAME_UNITS; k++)
			put_le16(ent + 56 + 2 * k, u16[k]);
	}
	return g_bytes_new_take(e, ENTRY_BYTES);
}

static void gpt_header(const CompositeDisk *d, guint8 *h, bool primary, uint32_t entries_crc)
{
	uint64_t last = d->disk_size / SECTOR - 1;
	memset(h, 0, SECTOR);
	memcpy(h, "EFI PART", 8);
	put_le32(h + 8, 0x00010000); /* revision 1.0 */
	put_le32(h + 12, GPT_HEADER_SIZE);
	put_le64(h + 24, primary ? 1 : last);
	put_le64(h + 32, primary ? last : 1);
	put_le64(h + 40, HEADER_SECTORS);        /* first usable LBA */
	put_le64(h + 48, last - FOOTER_SECTORS); /* last usable LBA */
	memcpy(h + 56, d->disk_guid, 16);
	put_le64(h + 72, primary ? 2 : last - ENTRY_SECTORS);
	put_le32(h + 80, COMPOSITE_GPT_ENTRIES);
	put_le32(h + 84, COMPOSITE_GPT_ENTRY_SIZE);
	put_le32(h + 88, entries_crc);
	put_le32(h + 16, sepia_crc32_update(0, h, GPT_HEADER_SIZE)); /* CRC field is zero while computed */
}

GBytes *composite_gpt_header(const CompositeDisk *d)
{
	guint8 *buf = g_malloc0(HEADER_SECTORS * SECTOR);
	uint64_t sectors = d->disk_size / SECTOR;
	/* Protective MBR: one partition of type 0xEE from LBA 1 over the whole disk (capped). */
	guint8 *pe = buf + 446;
	pe[1] = 0x00, pe[2] = 0x02, pe[3] = 0x00; /* CHS of LBA 1 */
	pe[4] = 0xEE;
	pe[5] = 0xFF, pe[6] = 0xFF, pe[7] = 0xFF;
	put_le32(pe + 8, 1);
	put_le32(pe + 12, sectors - 1 > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)(sectors - 1));
	buf[510] = 0x55, buf[511] = 0xAA;

	g_autoptr(GBytes) entries = entry_array(d);
	gsize elen;
	const guint8 *e = g_bytes_get_data(entries, &elen);
	gpt_header(d, buf + SECTOR, true, sepia_crc32_update(0, e, elen));
	memcpy(buf + 2 * SECTOR, e, elen);
	return g_bytes_new_take(buf, HEADER_SECTORS * SECTOR);
}

GBytes *composite_gpt_footer(const CompositeDisk *d)
{
	guint8 *buf = g_malloc0(FOOTER_SECTORS * SECTOR);
	g_autoptr(GBytes) entries = entry_array(d);
	gsize elen;
	const guint8 *e = g_bytes_get_data(entries, &elen);
	memcpy(buf, e, elen);
	gpt_header(d, buf + ENTRY_BYTES, false, sepia_crc32_update(0, e, elen));
	return g_bytes_new_take(buf, FOOTER_SECTORS * SECTOR);
}

/* ---- files ---- */

static bool file_has_bytes(const char *path, const void *data, gsize len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	bool same = false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == len) {
		g_autofree guint8 *buf = g_malloc(len ? len : 1);
		gsize got = 0;
		while (got < len) {
			ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (gsize)n;
		}
		same = got == len && memcmp(buf, data, len) == 0;
	}
	close(fd);
	return same;
}

bool composite_write_if_changed(const char *path, const void *data, gsize len, bool *changed, GError **error)
{
	if (changed)
		*changed = false;
	if (file_has_bytes(path, data, len))
		return true;
	if (!img_write_atomic(path, data, len, error))
		return false;
	if (changed)
		*changed = true;
	return true;
}

/* The shared zero file: a hole of `size` bytes. Kept when it already is one. */
static bool write_zero_file(const char *path, uint64_t size, bool *changed, GError **error)
{
	*changed = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct stat st;
		bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size &&
			  lseek(fd, 0, SEEK_DATA) < 0 && errno == ENXIO; /* no data anywhere: all zeroes */
		close(fd);
		if (ok)
			return true;
	}
	g_autofree char *tmp = NULL;
	fd = img_tmp_create(path, &tmp, error);
	if (fd < 0)
		return false;
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = errno;
		img_tmp_abort(fd, tmp);
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "cannot size zero file: %s",
				     g_strerror(e));
	}
	if (!img_tmp_commit(fd, tmp, path, error))
		return false;
	*changed = true;
	return true;
}

static void add_extent(GString *s, uint64_t len, const char *file, uint64_t file_off)
{
	g_string_append_printf(s, "RW %" G_GUINT64_FORMAT " FLAT \"%s\" %" G_GUINT64_FORMAT "\n",
			       len / SECTOR, file, file_off / SECTOR);
}

static GString *descriptor_text(CompositeDisk *d, const char *header_name, const char *footer_name,
				const char *zero_name)
{
	GString *ext = g_string_new(NULL);
	uint64_t cur = HEADER_SECTORS * SECTOR, footer_start = d->disk_size - FOOTER_SECTORS * SECTOR;
	d->zero_size = 0;
	add_extent(ext, cur, header_name, 0);
	for (guint i = 0; i <= d->n_parts; i++) {
		uint64_t next = i < d->n_parts ? d->parts[i].offset : footer_start;
		if (next > cur) {
			add_extent(ext, next - cur, zero_name, 0);
			d->zero_size = MAX(d->zero_size, next - cur);
		}
		if (i == d->n_parts)
			break;
		const CompositePartition *p = &d->parts[i];
		g_string_append_printf(ext, "# partition %u: %s\n", i + 1, p->name);
		uint64_t mapped = (p->file_size + SECTOR - 1) / SECTOR *
				  SECTOR; /* tail sector reads zeroes past EOF */
		if (mapped)
			add_extent(ext, mapped, p->path, 0);
		cur = p->offset + mapped;
	}
	add_extent(ext, FOOTER_SECTORS * SECTOR, footer_name, 0);

	GString *s = g_string_new("# Disk DescriptorFile\n");
	g_string_append_printf(s, "# sepia composite disk: %u partitions, %" G_GUINT64_FORMAT " bytes\n",
			       d->n_parts, d->disk_size);
	g_string_append_printf(s,
			       "version=1\nCID=%08x\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\n",
			       sepia_crc32_update(0, ext->str, ext->len));
	g_string_append(s, "# Extent description\n");
	g_string_append_len(s, ext->str, (gssize)ext->len);
	uint64_t cyl = d->disk_size / SECTOR / (16 * 63);
	g_string_append_printf(s,
			       "\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\n"
			       "ddb.geometry.cylinders = \"%" G_GUINT64_FORMAT
			       "\"\nddb.geometry.heads = \"16\"\n"
			       "ddb.geometry.sectors = \"63\"\nddb.adapterType = \"ide\"\n",
			       MIN(cyl, (uint64_t)65535));
	g_string_free(ext, TRUE);
	return s;
}

bool composite_write(CompositeDisk *d, const char *dir, const char *basename, GError **error)
{
	g_autofree char *adir = g_canonicalize_filename(dir, NULL);
	g_autofree char *header_name = g_strconcat(basename, "_gpt_header.img", NULL);
	g_autofree char *footer_name = g_strconcat(basename, "_gpt_footer.img", NULL);
	g_autofree char *zero_name = g_strconcat(basename, "_zero.img", NULL);
	g_autofree char *desc_name = g_strconcat(basename, ".vmdk", NULL);
	if (strpbrk(basename, "\"/\r\n"))
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, basename, "bad composite base name");
	if (g_mkdir_with_parents(adir, 0755) < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, adir, "cannot create directory: %s",
				     g_strerror(errno));
	g_free(d->descriptor_path), d->descriptor_path = g_build_filename(adir, desc_name, NULL);
	g_free(d->header_path), d->header_path = g_build_filename(adir, header_name, NULL);
	g_free(d->footer_path), d->footer_path = g_build_filename(adir, footer_name, NULL);
	g_free(d->zero_path), d->zero_path = g_build_filename(adir, zero_name, NULL);
	d->files_written = 0;

	g_autoptr(GBytes) header = composite_gpt_header(d);
	g_autoptr(GBytes) footer = composite_gpt_footer(d);
	GString *desc = descriptor_text(d, header_name, footer_name, zero_name);
	bool changed = false, ok;
	gsize len;
	const void *p;
	/* Pieces first, descriptor last: a reader never sees a descriptor pointing at missing files. */
	p = g_bytes_get_data(header, &len);
	ok = composite_write_if_changed(d->header_path, p, len, &changed, error);
	d->files_written += changed;
	if (ok) {
		p = g_bytes_get_data(footer, &len);
		ok = composite_write_if_changed(d->footer_path, p, len, &changed, error);
		d->files_written += changed;
	}
	if (ok) {
		ok = write_zero_file(d->zero_path, d->zero_size, &changed, error);
		d->files_written += changed;
	}
	if (ok) {
		ok = composite_write_if_changed(d->descriptor_path, desc->str, desc->len, &changed, error);
		d->files_written += changed;
	}
	g_string_free(desc, TRUE);
	return ok;
}

CompositeDisk *composite_create(const char *dir, const char *basename, const CompositePartitionSpec *specs,
				guint n_specs, const char *disk_seed, GError **error)
{
	g_autoptr(CompositeDisk) d = composite_layout(specs, n_specs, disk_seed, error);
	if (!d || !composite_write(d, dir, basename, error))
		return NULL;
	return g_steal_pointer(&d);
}
