/* libFuzzer target for the A/B metadata in misc (images/abmisc.c): struct bootloader_control
 * decoding and encoding, and the slot choice and updates the bootloader step makes.
 *
 * Input: byte 0 holds flags (bit 0: write a correct CRC-32 over the metadata before decoding,
 * so mutations get past the CRC check), bytes 1..32 are the 32 bytes at misc offset 2048, and
 * each byte after them is one operation (high nibble: pick / mark boot attempt / mark
 * successful / mark unbootable / set active; low 3 bits: the slot, minus one, so -1..6 cover
 * out-of-range slots).
 *
 * Oracle: a refusal names the misc; what decodes, encodes to bytes that decode to the same
 * fields and re-encode to the same bytes; after every operation the picked slot is -1 or a
 * bootable slot of the highest bootable priority; a slot set active is picked next, a slot
 * marked unbootable is not; sepia_ab_load_fd on a misc holding the bytes resets exactly the
 * metadata that does not decode, and sepia_ab_store_fd writes what sepia_ab_control_encode
 * gives. */
#include "tests/fuzz/fuzz-common.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "images/abmisc.h"
#include "images/crc32.h"

static int misc_fd = -1;

static bool same_fields(const SepiaAbControl *a, const SepiaAbControl *b)
{
	if (strcmp(a->slot_suffix, b->slot_suffix) || a->version != b->version || a->nb_slot != b->nb_slot ||
	    a->recovery_tries_remaining != b->recovery_tries_remaining || a->merge_status != b->merge_status)
		return false;
	for (int i = 0; i < SEPIA_AB_MAX_SLOTS; i++)
		if (a->slots[i].priority != b->slots[i].priority ||
		    a->slots[i].tries_remaining != b->slots[i].tries_remaining ||
		    a->slots[i].successful_boot != b->slots[i].successful_boot ||
		    a->slots[i].verity_corrupted != b->slots[i].verity_corrupted)
			return false;
	return true;
}

/* ctl survives encode -> decode -> encode. */
static void check_round_trip(const SepiaAbControl *ctl)
{
	guint8 enc[SEPIA_AB_CONTROL_SIZE], enc2[SEPIA_AB_CONTROL_SIZE];
	sepia_ab_control_encode(ctl, enc);
	SepiaAbControl back;
	GError *error = NULL;
	if (!sepia_ab_control_decode(enc, &back, "misc", &error) || error)
		abort();
	if (!same_fields(ctl, &back))
		abort();
	sepia_ab_control_encode(&back, enc2);
	if (memcmp(enc, enc2, sizeof(enc)))
		abort();
}

static void check_pick(const SepiaAbControl *ctl)
{
	int s = sepia_ab_pick_slot(ctl);
	for (int i = 0; i < ctl->nb_slot; i++) {
		bool bootable = sepia_ab_slot_is_bootable(ctl, i);
		if (s < 0 ? bootable : bootable && ctl->slots[i].priority > ctl->slots[s].priority)
			abort();
	}
	if (s >= 0 && (s >= ctl->nb_slot || !sepia_ab_slot_is_bootable(ctl, s)))
		abort();
}

static void check_load_store(const guint8 *meta, bool decodes, const SepiaAbControl *decoded)
{
	if (misc_fd < 0) {
		misc_fd = memfd_create("misc", MFD_CLOEXEC);
		if (misc_fd < 0 || ftruncate(misc_fd, 4096) < 0)
			abort();
	}
	if (pwrite(misc_fd, meta, SEPIA_AB_CONTROL_SIZE, SEPIA_AB_MISC_OFFSET) != SEPIA_AB_CONTROL_SIZE)
		abort();
	SepiaAbControl ctl;
	bool reset = false;
	GError *error = NULL;
	if (!sepia_ab_load_fd(misc_fd, "misc", &ctl, &reset, &error) || error || reset == decodes)
		abort();
	if (decodes && !same_fields(&ctl, decoded))
		abort();
	if (!sepia_ab_store_fd(misc_fd, "misc", &ctl, &error) || error)
		abort();
	guint8 want[SEPIA_AB_CONTROL_SIZE], got[SEPIA_AB_CONTROL_SIZE];
	sepia_ab_control_encode(&ctl, want);
	if (pread(misc_fd, got, sizeof(got), SEPIA_AB_MISC_OFFSET) != (ssize_t)sizeof(got) ||
	    memcmp(want, got, sizeof(got)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 + SEPIA_AB_CONTROL_SIZE)
		return 0;
	guint8 meta[SEPIA_AB_CONTROL_SIZE];
	memcpy(meta, data + 1, sizeof(meta));
	if (data[0] & 1) {
		uint32_t crc = sepia_crc32_update(0, meta, 28);
		for (int i = 0; i < 4; i++)
			meta[28 + i] = (guint8)(crc >> (8 * i));
	}
	SepiaAbControl ctl;
	GError *error = NULL;
	bool ok = sepia_ab_control_decode(meta, &ctl, "misc", &error);
	if (size > 1 + SEPIA_AB_CONTROL_SIZE && (data[0] & 2))
		check_load_store(meta, ok, &ctl);
	if (!ok) {
		fuzz_expect_refusal(&error, "misc: ");
		return 0;
	}
	if (error)
		abort();
	check_round_trip(&ctl);
	check_pick(&ctl);
	for (size_t i = 1 + SEPIA_AB_CONTROL_SIZE; i < size; i++) {
		int slot = (int)(data[i] & 7) - 1;
		bool valid = slot >= 0 && slot < ctl.nb_slot;
		switch ((data[i] >> 4) % 5) {
		case 0:
			break;
		case 1:
			sepia_ab_mark_boot_attempt(&ctl, slot);
			if (valid && strcmp(ctl.slot_suffix, sepia_ab_slot_suffix(slot)))
				abort();
			break;
		case 2:
			sepia_ab_mark_successful(&ctl, slot);
			if (valid &&
			    (!ctl.slots[slot].successful_boot || ctl.slots[slot].tries_remaining != 1))
				abort();
			break;
		case 3:
			sepia_ab_mark_unbootable(&ctl, slot);
			if (valid &&
			    (sepia_ab_slot_is_bootable(&ctl, slot) || sepia_ab_pick_slot(&ctl) == slot))
				abort();
			break;
		case 4:
			sepia_ab_set_active(&ctl, slot);
			if (valid && sepia_ab_pick_slot(&ctl) != slot)
				abort();
			break;
		}
		check_pick(&ctl);
		check_round_trip(&ctl);
	}
	return 0;
}
