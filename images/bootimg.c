/* images/bootimg.c — Android boot image (v0-v4) and init_boot reader and writer. */
#include "images/bootimg.h"

#include <string.h>

/* Field offsets, v0-v2 header. */
enum {
	V0_KERNEL_SIZE = 8,
	V0_KERNEL_ADDR = 12,
	V0_RAMDISK_SIZE = 16,
	V0_RAMDISK_ADDR = 20,
	V0_SECOND_SIZE = 24,
	V0_SECOND_ADDR = 28,
	V0_TAGS_ADDR = 32,
	V0_PAGE_SIZE = 36,
	HDR_VERSION = 40, /* the same place in every version */
	V0_OS_VERSION = 44,
	V0_NAME = 48,
	V0_CMDLINE = 64,
	V0_ID = 576,
	V0_EXTRA_CMDLINE = 608,
	V1_RECOVERY_DTBO_SIZE = 1632,
	V1_RECOVERY_DTBO_OFFSET = 1636,
	V1_HEADER_SIZE = 1644,
	V2_DTB_SIZE = 1648,
	V2_DTB_ADDR = 1652,
};
/* Field offsets, v3/v4 header. */
enum {
	V3_KERNEL_SIZE = 8,
	V3_RAMDISK_SIZE = 12,
	V3_OS_VERSION = 16,
	V3_HEADER_SIZE = 20,
	V3_CMDLINE = 44,
	V4_SIGNATURE_SIZE = 1580,
};

static const uint32_t header_struct_size[] = {
	SEPIA_BOOT_HEADER_V0_SIZE, SEPIA_BOOT_HEADER_V1_SIZE, SEPIA_BOOT_HEADER_V2_SIZE,
	SEPIA_BOOT_HEADER_V3_SIZE, SEPIA_BOOT_HEADER_V4_SIZE,
};

SepiaBootImage *sepia_boot_image_new(void)
{
	SepiaBootImage *img = g_new0(SepiaBootImage, 1);
	img->name = g_strdup("");
	img->cmdline = g_strdup("");
	img->extra_cmdline = g_strdup("");
	return img;
}

void sepia_boot_image_free(SepiaBootImage *img)
{
	if (!img)
		return;
	g_free(img->name);
	g_free(img->cmdline);
	g_free(img->extra_cmdline);
	g_clear_pointer(&img->kernel, g_bytes_unref);
	g_clear_pointer(&img->ramdisk, g_bytes_unref);
	g_clear_pointer(&img->second, g_bytes_unref);
	g_clear_pointer(&img->recovery_dtbo, g_bytes_unref);
	g_clear_pointer(&img->dtb, g_bytes_unref);
	g_clear_pointer(&img->signature, g_bytes_unref);
	g_free(img);
}

static SepiaBootImage *parse_v0_v2(const ImgSource *src, const guint8 *h, uint32_t version, GError **error)
{
	uint32_t page = get_le32(h + V0_PAGE_SIZE);
	if (!img_check_page_size(page, SEPIA_IMAGES_ERROR_FORMAT, src->name, error))
		return NULL;
	g_autoptr(SepiaBootImage) img = sepia_boot_image_new();
	img->header_version = version;
	img->page_size = page;
	img->kernel_addr = get_le32(h + V0_KERNEL_ADDR);
	img->ramdisk_addr = get_le32(h + V0_RAMDISK_ADDR);
	img->second_addr = get_le32(h + V0_SECOND_ADDR);
	img->tags_addr = get_le32(h + V0_TAGS_ADDR);
	img->os_version = get_le32(h + V0_OS_VERSION);
	img_set_field(&img->name, h + V0_NAME, SEPIA_BOOT_NAME_SIZE);
	img_set_field(&img->cmdline, h + V0_CMDLINE, SEPIA_BOOT_ARGS_SIZE);
	img_set_field(&img->extra_cmdline, h + V0_EXTRA_CMDLINE, SEPIA_BOOT_EXTRA_ARGS_SIZE);
	memcpy(img->id, h + V0_ID, SEPIA_BOOT_ID_SIZE);

	uint32_t recovery_size = 0, dtb_size = 0;
	if (version >= 1) {
		recovery_size = get_le32(h + V1_RECOVERY_DTBO_SIZE);
		img->recovery_dtbo_offset = get_le64(h + V1_RECOVERY_DTBO_OFFSET);
		img->header_size = get_le32(h + V1_HEADER_SIZE);
	}
	if (version >= 2) {
		dtb_size = get_le32(h + V2_DTB_SIZE);
		img->dtb_addr = get_le64(h + V2_DTB_ADDR);
	}

	uint64_t off = page; /* the header takes one page */
	if (!(img->kernel = img_read_section(src, &off, get_le32(h + V0_KERNEL_SIZE), page, "kernel_size",
					     error)) ||
	    !(img->ramdisk = img_read_section(src, &off, get_le32(h + V0_RAMDISK_SIZE), page, "ramdisk_size",
					      error)) ||
	    !(img->second = img_read_section(src, &off, get_le32(h + V0_SECOND_SIZE), page, "second_size",
					     error)))
		return NULL;
	if (recovery_size && img->recovery_dtbo_offset != off) {
		img_fail(error, src->name,
			 "recovery_dtbo_offset 0x%" G_GINT64_MODIFIER "x does not match the layout "
			 "(expected 0x%" G_GINT64_MODIFIER "x)",
			 (guint64)img->recovery_dtbo_offset, (guint64)off);
		return NULL;
	}
	if (!(img->recovery_dtbo = img_read_section(src, &off, recovery_size, page, "recovery_dtbo_size",
						    error)) ||
	    !(img->dtb = img_read_section(src, &off, dtb_size, page, "dtb_size", error)))
		return NULL;
	img->signature = g_bytes_new(NULL, 0);
	return g_steal_pointer(&img);
}

static SepiaBootImage *parse_v3_v4(const ImgSource *src, const guint8 *h, uint32_t version, GError **error)
{
	const uint32_t page = SEPIA_BOOT_V3_PAGE_SIZE;
	g_autoptr(SepiaBootImage) img = sepia_boot_image_new();
	img->header_version = version;
	img->page_size = page;
	img->os_version = get_le32(h + V3_OS_VERSION);
	img->header_size = get_le32(h + V3_HEADER_SIZE);
	img_set_field(&img->cmdline, h + V3_CMDLINE, SEPIA_BOOT_V3_ARGS_SIZE);

	uint32_t sig_size = version >= 4 ? get_le32(h + V4_SIGNATURE_SIZE) : 0;
	uint64_t off = page;
	if (!(img->kernel = img_read_section(src, &off, get_le32(h + V3_KERNEL_SIZE), page, "kernel_size",
					     error)) ||
	    !(img->ramdisk = img_read_section(src, &off, get_le32(h + V3_RAMDISK_SIZE), page, "ramdisk_size",
					      error)) ||
	    !(img->signature = img_read_section(src, &off, sig_size, page, "signature_size", error)))
		return NULL;
	img->second = g_bytes_new(NULL, 0);
	img->recovery_dtbo = g_bytes_new(NULL, 0);
	img->dtb = g_bytes_new(NULL, 0);
	return g_steal_pointer(&img);
}

static void *boot_image_parse(const ImgSource *src, GError **error)
{
	guint8 h[SEPIA_BOOT_HEADER_V2_SIZE] = { 0 }; /* the largest header structure */
	if (!img_read_header(src, h, HDR_VERSION + 4, "a boot image header", error))
		return NULL;
	if (memcmp(h, SEPIA_BOOT_MAGIC, SEPIA_BOOT_MAGIC_SIZE) != 0) {
		img_fail(error, src->name, "bad magic (not \"ANDROID!\"): not an Android boot image");
		return NULL;
	}
	uint32_t version = get_le32(h + HDR_VERSION);
	if (version > SEPIA_BOOT_MAX_HEADER_VERSION) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_UNSUPPORTED, src->name,
			      "header_version %u is not supported (0-%d)", version,
			      SEPIA_BOOT_MAX_HEADER_VERSION);
		return NULL;
	}
	uint32_t hsize = header_struct_size[version];
	g_autofree char *what = g_strdup_printf("a version %u header", version);
	if (!img_read_header(src, h, hsize, what, error))
		return NULL;
	return version >= 3 ? parse_v3_v4(src, h, version, error) : parse_v0_v2(src, h, version, error);
}

SepiaBootImage *sepia_boot_image_parse_buffer(const void *data, gsize len, const char *name, GError **error)
{
	return img_parse_buffer(data, len, name, boot_image_parse, error);
}

SepiaBootImage *sepia_boot_image_parse_file(const char *path, GError **error)
{
	return img_parse_file(path, boot_image_parse, error);
}

static SepiaBootImage *check_init_boot(SepiaBootImage *img, const char *name, GError **error)
{
	if (!img)
		return NULL;
	if (img->header_version < 3)
		img_fail(error, name, "init_boot needs boot header version 3 or 4, found %u",
			 img->header_version);
	else if (img_bytes_len(img->kernel) != 0)
		img_fail(error, name, "init_boot must not hold a kernel (kernel_size 0x%zx)",
			 img_bytes_len(img->kernel));
	else if (img_bytes_len(img->ramdisk) == 0)
		img_fail(error, name, "init_boot holds no ramdisk (ramdisk_size 0)");
	else
		return img;
	sepia_boot_image_free(img);
	return NULL;
}

SepiaBootImage *sepia_init_boot_image_parse_buffer(const void *data, gsize len, const char *name,
						   GError **error)
{
	return check_init_boot(sepia_boot_image_parse_buffer(data, len, name, error), name, error);
}

SepiaBootImage *sepia_init_boot_image_parse_file(const char *path, GError **error)
{
	return check_init_boot(sepia_boot_image_parse_file(path, error), path, error);
}

char *sepia_boot_image_full_cmdline(const SepiaBootImage *img)
{
	return g_strconcat(img->cmdline ? img->cmdline : "", img->extra_cmdline ? img->extra_cmdline : "",
			   NULL);
}

bool sepia_boot_image_set_cmdline(SepiaBootImage *img, const char *cmdline, GError **error)
{
	size_t len = strlen(cmdline);
	if (len > SEPIA_BOOT_V3_ARGS_SIZE)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, "boot image",
				     "command line is %zu bytes, more than %d", len, SEPIA_BOOT_V3_ARGS_SIZE);
	g_free(img->cmdline);
	g_free(img->extra_cmdline);
	if (img->header_version >= 3 || len <= SEPIA_BOOT_ARGS_SIZE) {
		img->cmdline = g_strdup(cmdline);
		img->extra_cmdline = g_strdup("");
	} else {
		img->cmdline = g_strndup(cmdline, SEPIA_BOOT_ARGS_SIZE);
		img->extra_cmdline = g_strdup(cmdline + SEPIA_BOOT_ARGS_SIZE);
	}
	return true;
}

/* mkbootimg's image id: SHA-1 over each payload followed by its size as a little-endian u32. */
static void compute_image_id(const SepiaBootImage *img, guint8 id[SEPIA_BOOT_ID_SIZE])
{
	GBytes *parts[5] = { img->kernel, img->ramdisk, img->second, img->recovery_dtbo, img->dtb };
	int nparts = 3 + (img->header_version >= 1) + (img->header_version >= 2);
	g_autoptr(GChecksum) sha = g_checksum_new(G_CHECKSUM_SHA1);
	for (int i = 0; i < nparts; i++) {
		guint8 le[4];
		gsize n = img_bytes_len(parts[i]);
		if (n)
			g_checksum_update(sha, g_bytes_get_data(parts[i], NULL), n);
		put_le32(le, (uint32_t)n);
		g_checksum_update(sha, le, 4);
	}
	gsize dlen = 20;
	memset(id, 0, SEPIA_BOOT_ID_SIZE);
	g_checksum_get_digest(sha, id, &dlen);
}

static bool check_str(const char *who, const char *s, gsize max, const char *field, GError **error)
{
	if (s && strlen(s) > max)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, who, "%s is %zu bytes, more than %zu",
				     field, strlen(s), max);
	return true;
}

static void put_str(guint8 *dst, const char *s)
{
	if (s)
		memcpy(dst, s, strlen(s)); /* length checked by check_str; the buffer is zeroed */
}

static GBytes *serialize(const SepiaBootImage *img, const char *who, GError **error)
{
	uint32_t v = img->header_version;
	if (v > SEPIA_BOOT_MAX_HEADER_VERSION) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, who, "header_version %u is not 0-4", v);
		return NULL;
	}
	uint32_t page = v >= 3 ? SEPIA_BOOT_V3_PAGE_SIZE : img->page_size;
	if (!img_check_page_size(page, SEPIA_IMAGES_ERROR_INVALID, who, error))
		return NULL;
	/* Which payloads this version can carry, in layout order. */
	struct {
		GBytes *b;
		const char *field;
		bool allowed;
	} parts[] = {
		{ img->kernel, "kernel", true },   { img->ramdisk, "ramdisk", true },
		{ img->second, "second", v <= 2 }, { img->recovery_dtbo, "recovery_dtbo", v == 1 || v == 2 },
		{ img->dtb, "dtb", v == 2 },       { img->signature, "signature", v == 4 },
	};
	uint64_t total = page;
	for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
		gsize n = img_bytes_len(parts[i].b);
		if (n && !parts[i].allowed) {
			img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, who,
				      "header version %u cannot carry a %s", v, parts[i].field);
			return NULL;
		}
		uint64_t padded;
		if (n > UINT32_MAX || !img_align_up(n, page, &padded) || !img_add(total, padded, &total)) {
			img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, who, "%s is too large (%zu bytes)",
				      parts[i].field, n);
			return NULL;
		}
	}
	if (total > G_MAXSIZE) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, who, "image is too large");
		return NULL;
	}
	if (v >= 3) {
		if (!check_str(who, img->cmdline, SEPIA_BOOT_V3_ARGS_SIZE, "cmdline", error))
			return NULL;
		if (img->extra_cmdline && *img->extra_cmdline) {
			img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, who,
				      "header version %u has no extra_cmdline (put it all in cmdline)", v);
			return NULL;
		}
	} else if (!check_str(who, img->cmdline, SEPIA_BOOT_ARGS_SIZE, "cmdline", error) ||
		   !check_str(who, img->extra_cmdline, SEPIA_BOOT_EXTRA_ARGS_SIZE, "extra_cmdline", error) ||
		   !check_str(who, img->name, SEPIA_BOOT_NAME_SIZE, "board name", error)) {
		return NULL;
	}

	guint8 *out = g_try_malloc0((gsize)total);
	if (!out) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_IO, who,
			      "out of memory (%" G_GUINT64_FORMAT " bytes)", (guint64)total);
		return NULL;
	}
	memcpy(out, SEPIA_BOOT_MAGIC, SEPIA_BOOT_MAGIC_SIZE);
	put_le32(out + HDR_VERSION, v);
	uint32_t hsize = img->header_size ? img->header_size : header_struct_size[v];
	if (v >= 3) {
		put_le32(out + V3_KERNEL_SIZE, (uint32_t)img_bytes_len(img->kernel));
		put_le32(out + V3_RAMDISK_SIZE, (uint32_t)img_bytes_len(img->ramdisk));
		put_le32(out + V3_OS_VERSION, img->os_version);
		put_le32(out + V3_HEADER_SIZE, hsize);
		put_str(out + V3_CMDLINE, img->cmdline);
		if (v == 4)
			put_le32(out + V4_SIGNATURE_SIZE, (uint32_t)img_bytes_len(img->signature));
	} else {
		put_le32(out + V0_KERNEL_SIZE, (uint32_t)img_bytes_len(img->kernel));
		put_le32(out + V0_KERNEL_ADDR, img->kernel_addr);
		put_le32(out + V0_RAMDISK_SIZE, (uint32_t)img_bytes_len(img->ramdisk));
		put_le32(out + V0_RAMDISK_ADDR, img->ramdisk_addr);
		put_le32(out + V0_SECOND_SIZE, (uint32_t)img_bytes_len(img->second));
		put_le32(out + V0_SECOND_ADDR, img->second_addr);
		put_le32(out + V0_TAGS_ADDR, img->tags_addr);
		put_le32(out + V0_PAGE_SIZE, page);
		put_le32(out + V0_OS_VERSION, img->os_version);
		put_str(out + V0_NAME, img->name);
		put_str(out + V0_CMDLINE, img->cmdline);
		put_str(out + V0_EXTRA_CMDLINE, img->extra_cmdline);
		static const guint8 zero_id[SEPIA_BOOT_ID_SIZE];
		if (memcmp(img->id, zero_id, SEPIA_BOOT_ID_SIZE) == 0)
			compute_image_id(img, out + V0_ID);
		else
			memcpy(out + V0_ID, img->id, SEPIA_BOOT_ID_SIZE);
	}
	uint64_t off = page;
	for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
		gsize n = img_bytes_len(parts[i].b);
		if (i == 3 && v >= 1 && v <= 2) { /* recovery dtbo/acpio: record where it lands */
			put_le32(out + V1_RECOVERY_DTBO_SIZE, (uint32_t)n);
			put_le64(out + V1_RECOVERY_DTBO_OFFSET, n ? off : 0);
			put_le32(out + V1_HEADER_SIZE, hsize);
		}
		if (i == 4 && v == 2) {
			put_le32(out + V2_DTB_SIZE, (uint32_t)n);
			put_le64(out + V2_DTB_ADDR, img->dtb_addr);
		}
		if (n)
			memcpy(out + off, g_bytes_get_data(parts[i].b, NULL), n);
		img_align_up(off + n, page, &off); /* bounded by total, checked above */
	}
	return g_bytes_new_take(out, (gsize)total);
}

GBytes *sepia_boot_image_serialize(const SepiaBootImage *img, GError **error)
{
	return serialize(img, "boot image", error);
}

bool sepia_boot_image_write(const SepiaBootImage *img, const char *path, GError **error)
{
	g_autoptr(GBytes) bytes = serialize(img, path, error);
	return img_write_bytes(path, bytes, error);
}
