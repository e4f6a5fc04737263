/* bootloader/bootloader.h — the bootloader step the launcher runs before it starts the VMM: the part a
 * phone's bootloader plays. Pick the A/B slot from misc (images/abmisc.h), verify the slot with AVB
 * (images/avb.h), and turn boot/vendor_boot/init_boot into a kernel, a ramdisk and a command line.
 *
 * Verified boot states (AVB's boot-flow rules, "locked" unless options say unlocked):
 *   green  — vbmeta signed by the trusted key given (--avb_key) and every digest matches;
 *   yellow — no trusted key given: signed by the key vbmeta embeds, every digest matches;
 *   orange — unlocked: verification is done and reported, but failures do not stop the boot;
 *   red    — locked and anything failed (bad signature, key not the trusted one, unsigned vbmeta,
 *            a partition whose digest does not match, a missing hash descriptor): refused, with
 *            an error naming the partition, so the caller can fall back to the other slot.
 *
 * Ramdisk (AOSP boot image v3/v4 rules): the vendor ramdisk fragments (v4: every table entry,
 * in table order; v3: the one vendor ramdisk), then the generic ramdisk (init_boot's when an
 * init_boot image is given, else boot's), then for a v4 vendor_boot the bootconfig: the vendor
 * bootconfig section plus the androidboot.* parameters, NUL padding to a 4-byte aligned total,
 * and the kernel's trailer: le32 size (bootconfig + padding), le32 checksum (sum of its bytes),
 * "#BOOTCONFIG\n" (Linux Documentation/admin-guide/bootconfig.rst).
 *
 * Command line: vendor cmdline, boot cmdline (v0-v2: cmdline + extra cmdline), the vbmeta's
 * kernel-cmdline descriptors that apply, then androidboot.slot_suffix, .verifiedbootstate,
 * .vbmeta.{device_state,hash_alg,size,digest} and .serialno when given. A vendor bootconfig
 * line setting one of these keys is dropped (the kernel refuses a bootconfig that sets a key
 * twice). With bootconfig (v4) the androidboot.* go into
 * the bootconfig instead, and "bootconfig" is added to the command line when missing (the kernel
 * reads bootconfig from the initrd only with it). */
#pragma once

#include "images/abmisc.h"
#include "images/common.h"

#define SEPIA_BOOTLOADER_ERROR (sepia_bootloader_error_quark())
GQuark sepia_bootloader_error_quark(void);

typedef enum {
	SEPIA_BOOTLOADER_ERROR_VERIFICATION, /* red: the slot failed AVB verification */
	SEPIA_BOOTLOADER_ERROR_NO_SLOT,      /* misc lists no bootable slot (or all were refused) */
} SepiaBootloaderError;

typedef enum {
	SEPIA_BOOT_STATE_GREEN,
	SEPIA_BOOT_STATE_YELLOW,
	SEPIA_BOOT_STATE_ORANGE,
	SEPIA_BOOT_STATE_RED,
} SepiaVerifiedBootState;

const char *sepia_boot_state_name(SepiaVerifiedBootState state); /* "green", ... */

/* One slot's partition images (paths). init_boot is optional; vendor_boot is required for a boot
 * image of header v3+ and unused for v0-v2; vbmeta is required unless unlocked. */
typedef struct {
	const char *boot;
	const char *vendor_boot;
	const char *init_boot;
	const char *vbmeta;
} SepiaSlotImages;

typedef struct {
	GBytes *trusted_key;  /* AVB-encoded (sepia_avb_load_public_key); NULL: embedded key, yellow */
	bool unlocked;        /* orange: boot even when verification fails */
	const char *out_dir;  /* where "kernel" and "initrd" are written (atomically) */
	const char *serialno; /* androidboot.serialno (the device's ro.serialno); NULL: none */
} SepiaBootOptions;

typedef struct {
	int slot;       /* 0 = a */
	char suffix[4]; /* "_a" */
	SepiaVerifiedBootState state;
	char *vbmeta_digest; /* 64 hex chars; NULL only when unlocked and vbmeta was unusable */
	char *cmdline;       /* kernel command line */
	GBytes *bootconfig;  /* v4: bootconfig text placed before the trailer; NULL otherwise */
	char *kernel_path;   /* out_dir/kernel */
	char *ramdisk_path;  /* out_dir/initrd */
	uint32_t boot_header_version;
	char *verification_error; /* orange only: what failed verification, else NULL */
} SepiaBootResult;

void sepia_boot_result_free(SepiaBootResult *res);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SepiaBootResult, sepia_boot_result_free)

/* Verifies and assembles one slot and writes kernel and initrd into opts->out_dir. Returns NULL
 * with a VERIFICATION error (red) or an image/I/O error; nothing half-written is left. */
SepiaBootResult *sepia_bootloader_prepare_slot(int slot, const SepiaSlotImages *images,
					       const SepiaBootOptions *opts, GError **error);

/* The whole step, as the launcher calls it: load the A/B metadata from misc (defaults written
 * when it is blank or corrupt), pick the slot, record the attempt in misc (one try used), then
 * prepare it. A slot that is refused (verification or a bad image) is marked unbootable in misc
 * and the next slot is tried. slots[i] are the images of slot i (n_slots of them; a slot with no
 * boot path is skipped). Errors writing the outputs stop at once: they are not the slot's fault.
 * When no slot boots, the error is NO_SLOT and lists why each slot was refused. */
SepiaBootResult *sepia_bootloader_choose_and_prepare(const char *misc_path, const SepiaSlotImages *slots,
						     gsize n_slots, const SepiaBootOptions *opts,
						     GError **error);

/* Appends bootconfig text, NUL padding (so that ramdisk->len becomes a multiple of 4 before the
 * trailer) and the trailer to a ramdisk. Exposed for tests and tools. */
void sepia_bootconfig_append(GByteArray *ramdisk, const guint8 *config, gsize len);
