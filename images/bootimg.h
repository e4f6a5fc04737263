/* images/bootimg.h — Android boot images (header v0-v4) and init_boot, read and written.
 *
 * Layout facts (from AOSP's bootimg.h / mkbootimg.py):
 *   v0-v2: a header page, then kernel, ramdisk, second, (v1+) recovery dtbo/acpio, (v2) dtb, each
 *          starting on a page_size boundary. page_size is recorded in the header.
 *   v3-v4: a 4096-byte header, then kernel, ramdisk, (v4) boot signature, each 4096-aligned.
 *   init_boot: a v4 (or v3) boot image with no kernel, only the generic ramdisk.
 * All header fields are little-endian. header_size is recorded but not trusted for the layout:
 * Debian's mkbootimg writes 1596 for v3 where AOSP writes 1580. */
#pragma once

#include "images/common.h"

#define SEPIA_BOOT_MAGIC           "ANDROID!"
#define SEPIA_BOOT_MAGIC_SIZE      8
#define SEPIA_BOOT_NAME_SIZE       16
#define SEPIA_BOOT_ARGS_SIZE       512
#define SEPIA_BOOT_EXTRA_ARGS_SIZE 1024
#define SEPIA_BOOT_V3_ARGS_SIZE    (SEPIA_BOOT_ARGS_SIZE + SEPIA_BOOT_EXTRA_ARGS_SIZE)
#define SEPIA_BOOT_ID_SIZE         32
#define SEPIA_BOOT_V3_PAGE_SIZE    4096
/* Sizes of the header structures as AOSP defines them. */
#define SEPIA_BOOT_HEADER_V0_SIZE     1632
#define SEPIA_BOOT_HEADER_V1_SIZE     1648
#define SEPIA_BOOT_HEADER_V2_SIZE     1660
#define SEPIA_BOOT_HEADER_V3_SIZE     1580
#define SEPIA_BOOT_HEADER_V4_SIZE     1584
#define SEPIA_BOOT_MAX_HEADER_VERSION 4
/* page_size accepted for v0-v2 (and vendor_boot): a power of two in this range. */

typedef struct {
	uint32_t header_version; /* 0..4 */
	uint32_t page_size;      /* v0-v2 from the header; 4096 for v3/v4 */
	uint32_t header_size;    /* as recorded (v1+); the writer fills the AOSP value when 0 */
	uint32_t os_version;     /* raw; see sepia_os_version_unpack() */

	/* v0-v2 only: load addresses, board name, image id. */
	uint32_t kernel_addr, ramdisk_addr, second_addr, tags_addr;
	uint64_t dtb_addr; /* v2 */
	char *name;        /* board name, at most 16 bytes */
	guint8 id[SEPIA_BOOT_ID_SIZE];
	uint64_t recovery_dtbo_offset; /* v1/v2, as recorded */

	/* v0-v2: cmdline holds the first 512 bytes and extra_cmdline the next 1024 (mkbootimg splits
     * a long command line there); v3/v4: cmdline holds all 1536 bytes, extra_cmdline is "". */
	char *cmdline;
	char *extra_cmdline;

	/* Payloads; never NULL after a parse (empty GBytes when absent). */
	GBytes *kernel;
	GBytes *ramdisk;
	GBytes *second;        /* v0-v2 */
	GBytes *recovery_dtbo; /* v1/v2: recovery DTBO or ACPIO */
	GBytes *dtb;           /* v2 */
	GBytes *signature;     /* v4: boot signature section */
} SepiaBootImage;

SepiaBootImage *sepia_boot_image_new(void);
void sepia_boot_image_free(SepiaBootImage *img);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SepiaBootImage, sepia_boot_image_free)

/* Parse. `name` is used in error messages ("boot.img: kernel_size 0x... runs past the end..."). */
SepiaBootImage *sepia_boot_image_parse_buffer(const void *data, gsize len, const char *name, GError **error);
SepiaBootImage *sepia_boot_image_parse_file(const char *path, GError **error);
/* init_boot: a boot image of header version >= 3 with kernel_size 0 and a ramdisk. */
SepiaBootImage *sepia_init_boot_image_parse_buffer(const void *data, gsize len, const char *name,
						   GError **error);
SepiaBootImage *sepia_init_boot_image_parse_file(const char *path, GError **error);

/* The whole kernel command line: cmdline followed by extra_cmdline (v0-v2), or cmdline (v3+). */
char *sepia_boot_image_full_cmdline(const SepiaBootImage *img);
/* Splits a command line over cmdline/extra_cmdline as mkbootimg does; false if too long. */
bool sepia_boot_image_set_cmdline(SepiaBootImage *img, const char *cmdline, GError **error);

/* Serialize. NULL payloads count as empty. For v0-v2 an all-zero id is replaced by mkbootimg's
 * SHA-1 image id. Writers check every size against the format and fail rather than truncate. */
GBytes *sepia_boot_image_serialize(const SepiaBootImage *img, GError **error);
/* Serialize and write atomically (temp file in the same directory, renamed on success). */
bool sepia_boot_image_write(const SepiaBootImage *img, const char *path, GError **error);
