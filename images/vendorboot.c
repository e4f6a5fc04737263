/* images/vendorboot.c — Android vendor_boot (v3, v4) reader and writer. */
#include "images/vendorboot.h"

#include <string.h>

enum {
	VB_VERSION = 8,
	VB_PAGE_SIZE = 12,
	VB_KERNEL_ADDR = 16,
	VB_RAMDISK_ADDR = 20,
	VB_RAMDISK_SIZE = 24,
	VB_CMDLINE = 28,
	VB_TAGS_ADDR = 2076,
	VB_NAME = 2080,
	VB_HEADER_SIZE = 2096,
	VB_DTB_SIZE = 2100,
	VB_DTB_ADDR = 2104,
	VB4_TABLE_SIZE = 2112,
	VB4_TABLE_ENTRY_NUM = 2116,
	VB4_TABLE_ENTRY_SIZE = 2120,
	VB4_BOOTCONFIG_SIZE = 2124,
};
/* Vendor ramdisk table entry. */
enum { VRE_SIZE = 0, VRE_OFFSET = 4, VRE_TYPE = 8, VRE_NAME = 12, VRE_BOARD_ID = 44 };

static void vendor_ramdisk_free(gpointer p)
{
	SepiaVendorRamdisk *r = p;
	g_free(r->name);
	g_clear_pointer(&r->data, g_bytes_unref);
	g_free(r);
}

SepiaVendorBootImage *sepia_vendor_boot_image_new(void)
{
	SepiaVendorBootImage *img = g_new0(SepiaVendorBootImage, 1);
	img->name = g_strdup("");
	img->cmdline = g_strdup("");
	img->ramdisks = g_ptr_array_new_with_free_func(vendor_ramdisk_free);
	return img;
}

void sepia_vendor_boot_image_free(SepiaVendorBootImage *img)
{
	if (!img)
		return;
	g_free(img->name);
	g_free(img->cmdline);
	g_clear_pointer(&img->vendor_ramdisk, g_bytes_unref);
	g_clear_pointer(&img->dtb, g_bytes_unref);
	g_clear_pointer(&img->bootconfig, g_bytes_unref);
	g_ptr_array_unref(img->ramdisks);
	g_free(img);
}

SepiaVendorRamdisk *sepia_vendor_boot_image_add_ramdisk(SepiaVendorBootImage *img, const char *name,
							uint32_t type, const uint32_t *board_id, GBytes *data)
{
	SepiaVendorRamdisk *r = g_new0(SepiaVendorRamdisk, 1);
	r->name = g_strdup(name ? name : "");
	r->type = type;
	if (board_id)
		memcpy(r->board_id, board_id, sizeof(r->board_id));
	r->data = data ? g_bytes_ref(data) : g_bytes_new(NULL, 0);
	r->size = (uint32_t)g_bytes_get_size(r->data);
	g_ptr_array_add(img->ramdisks, r);
	return r;
}

static bool parse_table(const ImgSource *src, SepiaVendorBootImage *img, GBytes *table, uint32_t num,
			uint32_t entry_size, GError **error)
{
	if (entry_size < SEPIA_VENDOR_RAMDISK_ENTRY_V4_SIZE)
		return img_fail(error, src->name,
				"vendor_ramdisk_table_entry_size %u is smaller than "
				"an entry (%d bytes)",
				entry_size, SEPIA_VENDOR_RAMDISK_ENTRY_V4_SIZE);
	gsize table_size;
	const guint8 *t = g_bytes_get_data(table, &table_size);
	uint64_t need;
	if (!img_mul(num, entry_size, &need) || need > table_size)
		return img_fail(error, src->name,
				"vendor ramdisk table of %u entries of %u bytes does not "
				"fit in vendor_ramdisk_table_size 0x%zx",
				num, entry_size, table_size);
	gsize section_size = img_bytes_len(img->vendor_ramdisk);
	for (uint32_t i = 0; i < num; i++) {
		const guint8 *e = t + (gsize)i * entry_size;
		uint32_t size = get_le32(e + VRE_SIZE), offset = get_le32(e + VRE_OFFSET);
		if ((uint64_t)offset + size > section_size)
			return img_fail(error, src->name,
					"vendor ramdisk %u (0x%x bytes at offset 0x%x) runs "
					"past the vendor ramdisk section (0x%zx bytes)",
					i, size, offset, section_size);
		SepiaVendorRamdisk *r = g_new0(SepiaVendorRamdisk, 1);
		r->size = size;
		r->offset = offset;
		r->type = get_le32(e + VRE_TYPE);
		r->name = img_strndup_field(e + VRE_NAME, SEPIA_VENDOR_RAMDISK_NAME_SIZE);
		for (int w = 0; w < SEPIA_VENDOR_RAMDISK_BOARD_ID_SIZE; w++)
			r->board_id[w] = get_le32(e + VRE_BOARD_ID + 4 * w);
		r->data = g_bytes_new_from_bytes(img->vendor_ramdisk, offset, size);
		g_ptr_array_add(img->ramdisks, r);
	}
	return true;
}

static void *vendor_boot_parse(const ImgSource *src, GError **error)
{
	guint8 h[SEPIA_VENDOR_BOOT_HEADER_V4_SIZE] = { 0 };
	if (!img_read_header(src, h, VB_VERSION + 4, "a vendor_boot header", error))
		return NULL;
	if (memcmp(h, SEPIA_VENDOR_BOOT_MAGIC, SEPIA_VENDOR_BOOT_MAGIC_SIZE) != 0) {
		img_fail(error, src->name, "bad magic (not \"VNDRBOOT\"): not a vendor_boot image");
		return NULL;
	}
	uint32_t version = get_le32(h + VB_VERSION);
	if (version != 3 && version != 4) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_UNSUPPORTED, src->name,
			      "vendor_boot header_version %u is not supported (3 or 4)", version);
		return NULL;
	}
	uint32_t hsize = version == 3 ? SEPIA_VENDOR_BOOT_HEADER_V3_SIZE : SEPIA_VENDOR_BOOT_HEADER_V4_SIZE;
	g_autofree char *what = g_strdup_printf("a version %u vendor_boot header", version);
	if (!img_read_header(src, h, hsize, what, error))
		return NULL;
	uint32_t page = get_le32(h + VB_PAGE_SIZE);
	if (!img_check_page_size(page, SEPIA_IMAGES_ERROR_FORMAT, src->name, error))
		return NULL;
	g_autoptr(SepiaVendorBootImage) img = sepia_vendor_boot_image_new();
	img->header_version = version;
	img->page_size = page;
	img->kernel_addr = get_le32(h + VB_KERNEL_ADDR);
	img->ramdisk_addr = get_le32(h + VB_RAMDISK_ADDR);
	img->tags_addr = get_le32(h + VB_TAGS_ADDR);
	img->dtb_addr = get_le64(h + VB_DTB_ADDR);
	img->header_size = get_le32(h + VB_HEADER_SIZE);
	img_set_field(&img->name, h + VB_NAME, SEPIA_VENDOR_BOOT_NAME_SIZE);
	img_set_field(&img->cmdline, h + VB_CMDLINE, SEPIA_VENDOR_BOOT_ARGS_SIZE);

	uint64_t off;
	img_align_up(hsize, page, &off);
	if (!(img->vendor_ramdisk = img_read_section(src, &off, get_le32(h + VB_RAMDISK_SIZE), page,
						     "vendor_ramdisk_size", error)) ||
	    !(img->dtb = img_read_section(src, &off, get_le32(h + VB_DTB_SIZE), page, "dtb_size", error)))
		return NULL;
	if (version == 3) {
		img->bootconfig = g_bytes_new(NULL, 0);
		return g_steal_pointer(&img);
	}
	g_autoptr(GBytes) table = img_read_section(src, &off, get_le32(h + VB4_TABLE_SIZE), page,
						   "vendor_ramdisk_table_size", error);
	if (!table ||
	    !(img->bootconfig = img_read_section(src, &off, get_le32(h + VB4_BOOTCONFIG_SIZE), page,
						 "bootconfig_size", error)) ||
	    !parse_table(src, img, table, get_le32(h + VB4_TABLE_ENTRY_NUM),
			 get_le32(h + VB4_TABLE_ENTRY_SIZE), error))
		return NULL;
	return g_steal_pointer(&img);
}

SepiaVendorBootImage *sepia_vendor_boot_image_parse_buffer(const void *data, gsize len, const char *name,
							   GError **error)
{
	return img_parse_buffer(data, len, name, vendor_boot_parse, error);
}

SepiaVendorBootImage *sepia_vendor_boot_image_parse_file(const char *path, GError **error)
{
	return img_parse_file(path, vendor_boot_parse, error);
}

static bool invalid(GError **error, const char *who, const char *what)
{
	return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, who, "%s", what);
}

/* Lays out the v4 section: either img->vendor_ramdisk verbatim (entries keep their offsets) or
 * the fragments concatenated. Returns the section; fills offsets/sizes in offs/sizes. */
static GBytes *build_section(const SepiaVendorBootImage *img, const char *who, uint32_t *offs,
			     uint32_t *sizes, GError **error)
{
	guint n = img->ramdisks->len;
	if (img->vendor_ramdisk) {
		gsize section = g_bytes_get_size(img->vendor_ramdisk);
		for (guint i = 0; i < n; i++) {
			const SepiaVendorRamdisk *r = g_ptr_array_index(img->ramdisks, i);
			if ((uint64_t)r->offset + r->size > section) {
				img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, who,
					      "vendor ramdisk %u lies "
					      "outside the vendor ramdisk section",
					      i);
				return NULL;
			}
			offs[i] = r->offset;
			sizes[i] = r->size;
		}
		return g_bytes_ref(img->vendor_ramdisk);
	}
	GByteArray *cat = g_byte_array_new();
	for (guint i = 0; i < n; i++) {
		const SepiaVendorRamdisk *r = g_ptr_array_index(img->ramdisks, i);
		gsize len = img_bytes_len(r->data);
		if ((uint64_t)cat->len + len > UINT32_MAX) {
			g_byte_array_unref(cat);
			invalid(error, who, "vendor ramdisks are too large");
			return NULL;
		}
		offs[i] = cat->len;
		sizes[i] = (uint32_t)len;
		if (len)
			g_byte_array_append(cat, g_bytes_get_data(r->data, NULL), (guint)len);
	}
	return g_byte_array_free_to_bytes(cat);
}

static GBytes *serialize(const SepiaVendorBootImage *img, const char *who, GError **error)
{
	uint32_t v = img->header_version, page = img->page_size;
	if (v != 3 && v != 4) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, who, "header_version %u is not 3 or 4", v);
		return NULL;
	}
	if (!img_check_page_size(page, SEPIA_IMAGES_ERROR_INVALID, who, error))
		return NULL;
	if (strlen(img->cmdline ? img->cmdline : "") > SEPIA_VENDOR_BOOT_ARGS_SIZE ||
	    strlen(img->name ? img->name : "") > SEPIA_VENDOR_BOOT_NAME_SIZE) {
		invalid(error, who, "vendor cmdline (2048 bytes) or board name (16 bytes) too long");
		return NULL;
	}
	guint n = img->ramdisks->len;
	if (v == 3 && n) {
		invalid(error, who, "vendor_boot v3 has no vendor ramdisk table (use v4)");
		return NULL;
	}
	if (v == 3 && img_bytes_len(img->bootconfig)) {
		invalid(error, who, "vendor_boot v3 has no bootconfig section (use v4)");
		return NULL;
	}
	g_autofree uint32_t *offs = g_new0(uint32_t, n + 1), *sizes = g_new0(uint32_t, n + 1);
	g_autoptr(GBytes) section = v == 4 ? build_section(img, who, offs, sizes, error)
					   : (img->vendor_ramdisk ? g_bytes_ref(img->vendor_ramdisk)
								  : g_bytes_new(NULL, 0));
	if (!section)
		return NULL;
	uint64_t table_size = (uint64_t)n * SEPIA_VENDOR_RAMDISK_ENTRY_V4_SIZE;
	uint32_t hsize = v == 3 ? SEPIA_VENDOR_BOOT_HEADER_V3_SIZE : SEPIA_VENDOR_BOOT_HEADER_V4_SIZE;
	uint64_t lens[4] = { g_bytes_get_size(section), img_bytes_len(img->dtb), v == 4 ? table_size : 0,
			     img_bytes_len(img->bootconfig) };
	uint64_t total = 0, padded;
	if (!img_align_up(hsize, page, &total)) {
		invalid(error, who, "the header does not fit the vendor_boot format");
		return NULL;
	}
	for (int i = 0; i < 4; i++) {
		if (lens[i] > UINT32_MAX || !img_align_up(lens[i], page, &padded) ||
		    !img_add(total, padded, &total) || total > G_MAXSIZE) {
			invalid(error, who, "a section is too large for the vendor_boot format");
			return NULL;
		}
	}
	guint8 *out = g_try_malloc0((gsize)total);
	if (!out) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_IO, who, "out of memory");
		return NULL;
	}
	memcpy(out, SEPIA_VENDOR_BOOT_MAGIC, SEPIA_VENDOR_BOOT_MAGIC_SIZE);
	put_le32(out + VB_VERSION, v);
	put_le32(out + VB_PAGE_SIZE, page);
	put_le32(out + VB_KERNEL_ADDR, img->kernel_addr);
	put_le32(out + VB_RAMDISK_ADDR, img->ramdisk_addr);
	put_le32(out + VB_RAMDISK_SIZE, (uint32_t)lens[0]);
	if (img->cmdline)
		memcpy(out + VB_CMDLINE, img->cmdline, strlen(img->cmdline));
	put_le32(out + VB_TAGS_ADDR, img->tags_addr);
	if (img->name)
		memcpy(out + VB_NAME, img->name, strlen(img->name));
	put_le32(out + VB_HEADER_SIZE, img->header_size ? img->header_size : hsize);
	put_le32(out + VB_DTB_SIZE, (uint32_t)lens[1]);
	put_le64(out + VB_DTB_ADDR, img->dtb_addr);
	if (v == 4) {
		put_le32(out + VB4_TABLE_SIZE, (uint32_t)table_size);
		put_le32(out + VB4_TABLE_ENTRY_NUM, n);
		put_le32(out + VB4_TABLE_ENTRY_SIZE, SEPIA_VENDOR_RAMDISK_ENTRY_V4_SIZE);
		put_le32(out + VB4_BOOTCONFIG_SIZE, (uint32_t)lens[3]);
	}
	uint64_t off;
	img_align_up(hsize, page, &off);
	GBytes *blobs[4] = { section, img->dtb, NULL, img->bootconfig };
	for (int i = 0; i < 4; i++) {
		guint8 *dst = out + off;
		if (i == 2) {
			for (guint k = 0; k < n; k++) {
				const SepiaVendorRamdisk *r = g_ptr_array_index(img->ramdisks, k);
				guint8 *e = dst + (gsize)k * SEPIA_VENDOR_RAMDISK_ENTRY_V4_SIZE;
				if (r->name && strlen(r->name) > SEPIA_VENDOR_RAMDISK_NAME_SIZE) {
					g_free(out);
					invalid(error, who, "a vendor ramdisk name is longer than 32 bytes");
					return NULL;
				}
				put_le32(e + VRE_SIZE, sizes[k]);
				put_le32(e + VRE_OFFSET, offs[k]);
				put_le32(e + VRE_TYPE, r->type);
				if (r->name)
					memcpy(e + VRE_NAME, r->name, strlen(r->name));
				for (int w = 0; w < SEPIA_VENDOR_RAMDISK_BOARD_ID_SIZE; w++)
					put_le32(e + VRE_BOARD_ID + 4 * w, r->board_id[w]);
			}
		} else if (lens[i]) {
			memcpy(dst, g_bytes_get_data(blobs[i], NULL), (gsize)lens[i]);
		}
		img_align_up(off + lens[i], page, &off);
	}
	return g_bytes_new_take(out, (gsize)total);
}

GBytes *sepia_vendor_boot_image_serialize(const SepiaVendorBootImage *img, GError **error)
{
	return serialize(img, "vendor_boot image", error);
}

bool sepia_vendor_boot_image_write(const SepiaVendorBootImage *img, const char *path, GError **error)
{
	g_autoptr(GBytes) bytes = serialize(img, path, error);
	return img_write_bytes(path, bytes, error);
}
