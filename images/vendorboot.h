/* images/vendorboot.h — Android vendor_boot images, header v3 and v4, read and written.
 *
 * Layout (AOSP bootimg.h): header (2112 bytes for v3, 2128 for v4) padded to page_size, then the
 * vendor ramdisk section, the dtb, and for v4 the vendor ramdisk table and the bootconfig, each
 * starting on a page_size boundary. v4's table lists the ramdisk fragments inside the section
 * (size, offset, type, name, board id). Fields are little-endian. header_size is recorded but
 * not trusted for the layout (Debian's mkbootimg writes 2108 for v3). */
#pragma once

#include "images/common.h"

#define SEPIA_VENDOR_BOOT_MAGIC            "VNDRBOOT"
#define SEPIA_VENDOR_BOOT_MAGIC_SIZE       8
#define SEPIA_VENDOR_BOOT_ARGS_SIZE        2048
#define SEPIA_VENDOR_BOOT_NAME_SIZE        16
#define SEPIA_VENDOR_BOOT_HEADER_V3_SIZE   2112
#define SEPIA_VENDOR_BOOT_HEADER_V4_SIZE   2128
#define SEPIA_VENDOR_RAMDISK_NAME_SIZE     32
#define SEPIA_VENDOR_RAMDISK_BOARD_ID_SIZE 16 /* u32 words */
#define SEPIA_VENDOR_RAMDISK_ENTRY_V4_SIZE 108

typedef enum {
	SEPIA_VENDOR_RAMDISK_TYPE_NONE = 0,
	SEPIA_VENDOR_RAMDISK_TYPE_PLATFORM = 1,
	SEPIA_VENDOR_RAMDISK_TYPE_RECOVERY = 2,
	SEPIA_VENDOR_RAMDISK_TYPE_DLKM = 3,
} SepiaVendorRamdiskType;

/* One entry of the v4 vendor ramdisk table. */
typedef struct {
	uint32_t size;   /* bytes */
	uint32_t offset; /* inside the vendor ramdisk section */
	uint32_t type;   /* SepiaVendorRamdiskType (other values are kept as read) */
	char *name;      /* at most 32 bytes */
	uint32_t board_id[SEPIA_VENDOR_RAMDISK_BOARD_ID_SIZE];
	GBytes *data; /* the fragment's bytes */
} SepiaVendorRamdisk;

typedef struct {
	uint32_t header_version; /* 3 or 4 */
	uint32_t page_size;
	uint32_t kernel_addr, ramdisk_addr, tags_addr;
	uint64_t dtb_addr;
	uint32_t header_size; /* as recorded; the writer fills the AOSP value when 0 */
	char *name;           /* board name, at most 16 bytes */
	char *cmdline;        /* vendor command line, at most 2048 bytes */

	GBytes *vendor_ramdisk; /* the whole vendor ramdisk section (all fragments) */
	GBytes *dtb;
	GBytes *bootconfig;  /* v4 */
	GPtrArray *ramdisks; /* SepiaVendorRamdisk*, v4 table entries in order; empty for v3 */
} SepiaVendorBootImage;

SepiaVendorBootImage *sepia_vendor_boot_image_new(void);
void sepia_vendor_boot_image_free(SepiaVendorBootImage *img);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SepiaVendorBootImage, sepia_vendor_boot_image_free)

/* Appends a v4 fragment (copies name, refs data). */
SepiaVendorRamdisk *sepia_vendor_boot_image_add_ramdisk(SepiaVendorBootImage *img, const char *name,
							uint32_t type, const uint32_t *board_id,
							GBytes *data);

SepiaVendorBootImage *sepia_vendor_boot_image_parse_buffer(const void *data, gsize len, const char *name,
							   GError **error);
SepiaVendorBootImage *sepia_vendor_boot_image_parse_file(const char *path, GError **error);

/* Serialize (v3 or v4). v4: when vendor_ramdisk is NULL the section is the fragments' data
 * concatenated (offsets and sizes computed); otherwise vendor_ramdisk is written as the section
 * and each fragment's recorded offset/size must lie inside it (this keeps round trips exact). */
GBytes *sepia_vendor_boot_image_serialize(const SepiaVendorBootImage *img, GError **error);
bool sepia_vendor_boot_image_write(const SepiaVendorBootImage *img, const char *path, GError **error);
