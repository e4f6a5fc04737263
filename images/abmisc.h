/* images/abmisc.h — A/B slot metadata in the misc partition (AOSP `struct bootloader_control`).
 *
 * Layout facts (AOSP bootable/recovery bootloader_message.h; sepia's own code):
 * - misc starts with `struct bootloader_message` (2048 bytes, BOOTLOADER_MESSAGE_OFFSET_IN_MISC
 *   is 0); `struct bootloader_message_ab` follows it with `char slot_suffix[32]`, and that
 *   field holds `struct bootloader_control`: so the A/B metadata is 32 bytes at misc offset 2048.
 * - bootloader_control (packed, little-endian):
 *     0  char slot_suffix[4]        NUL-terminated active suffix ("_a")
 *     4  u32  magic                 0x42414342 (BOOT_CTRL_MAGIC)
 *     8  u8   version               1
 *     9  bits 0-2 nb_slot, bits 3-5 recovery_tries_remaining, bits 6-8 merge_status (the packed
 *        bit-field straddles into byte 10 bit 0; checked against GCC and clang layouts)
 *    11  u8   reserved0
 *    12  slot_metadata[4], 2 bytes each: byte 0 = priority (bits 0-3), tries_remaining (4-6),
 *        successful_boot (7); byte 1 = verity_corrupted (bit 0), reserved (1-7)
 *    20  u8   reserved1[8]
 *    28  u32  crc32_le              zlib CRC-32 of bytes 0..27
 * - Priority 15 is highest, 0 means unbootable. A slot is bootable when priority > 0 and it has
 *   booted successfully or has tries left (libboot_control / U-Boot android_ab semantics).
 *
 * Reserved bits are kept as read, so a round trip through sepia does not lose them. */
#pragma once

#include "images/common.h"

#define SEPIA_AB_MISC_OFFSET  2048
#define SEPIA_AB_CONTROL_SIZE 32
#define SEPIA_AB_MAGIC        0x42414342u
#define SEPIA_AB_VERSION      1
#define SEPIA_AB_MAX_SLOTS    4
#define SEPIA_AB_MAX_PRIORITY 15
#define SEPIA_AB_MAX_TRIES    7

typedef struct {
	uint8_t priority;        /* 0..15; 0 = unbootable */
	uint8_t tries_remaining; /* 0..7 */
	bool successful_boot;
	bool verity_corrupted;
} SepiaAbSlot;

typedef struct {
	char slot_suffix[4]; /* NUL-terminated */
	uint8_t version;
	uint8_t nb_slot;                  /* 1..4 */
	uint8_t recovery_tries_remaining; /* 0..7 */
	uint8_t merge_status;             /* 0..7 */
	SepiaAbSlot slots[SEPIA_AB_MAX_SLOTS];
	guint8 raw[SEPIA_AB_CONTROL_SIZE]; /* the bytes last read, for the reserved bits */
} SepiaAbControl;

/* "_a", "_b", "_c", "_d"; NULL for an out-of-range slot. */
const char *sepia_ab_slot_suffix(int slot);

/* Defaults for a blank misc: 2 slots, a = priority 15, b = 14, both 7 tries, not yet
 * successful, active suffix "_a". */
void sepia_ab_control_init_default(SepiaAbControl *ctl);
/* Decodes the 32 bytes; false (with a one-line error naming `name`) for a bad magic, a CRC
 * mismatch, an unknown version or a slot count outside 1..4. */
bool sepia_ab_control_decode(const guint8 buf[SEPIA_AB_CONTROL_SIZE], SepiaAbControl *ctl, const char *name,
			     GError **error);
/* Encodes with a fresh CRC. */
void sepia_ab_control_encode(const SepiaAbControl *ctl, guint8 buf[SEPIA_AB_CONTROL_SIZE]);

/* Reads the metadata from misc (fd or path). Invalid metadata (blank misc, bad CRC, ...) is
 * replaced by the defaults and *was_reset (optional) set: as libboot_control does; the caller
 * then stores them. I/O errors and a misc too small to hold the metadata are errors. */
bool sepia_ab_load_fd(int fd, const char *name, SepiaAbControl *ctl, bool *was_reset, GError **error);
bool sepia_ab_load(const char *misc_path, SepiaAbControl *ctl, bool *was_reset, GError **error);
/* Writes the 32 bytes in place (the rest of misc untouched) and fsyncs. */
bool sepia_ab_store_fd(int fd, const char *name, const SepiaAbControl *ctl, GError **error);
bool sepia_ab_store(const char *misc_path, const SepiaAbControl *ctl, GError **error);

bool sepia_ab_slot_is_bootable(const SepiaAbControl *ctl, int slot);
/* The bootable slot with the highest priority (the lower index on a tie), or -1. */
int sepia_ab_pick_slot(const SepiaAbControl *ctl);
/* Before booting `slot`: one try used (unless it already booted successfully); records it as
 * the active suffix. A slot left with no tries and no success becomes unbootable next time. */
void sepia_ab_mark_boot_attempt(SepiaAbControl *ctl, int slot);
/* The OS reached boot-complete on `slot` (libboot_control: successful, tries reset to 1). */
void sepia_ab_mark_successful(SepiaAbControl *ctl, int slot);
/* Priority 0, no tries, not successful: never picked again until set active. */
void sepia_ab_mark_unbootable(SepiaAbControl *ctl, int slot);
/* Makes `slot` the one to boot next (priority 15, 7 tries, not yet successful); other slots at
 * priority 15 drop to 14. */
void sepia_ab_set_active(SepiaAbControl *ctl, int slot);
