/* images/abmisc.c — A/B slot metadata (AOSP bootloader_control) in misc. See abmisc.h. */
#include "images/abmisc.h"

#include "images/crc32.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const slot_suffixes[SEPIA_AB_MAX_SLOTS] = { "_a", "_b", "_c", "_d" };

const char *sepia_ab_slot_suffix(int slot)
{
	return slot >= 0 && slot < SEPIA_AB_MAX_SLOTS ? slot_suffixes[slot] : NULL;
}

void sepia_ab_control_init_default(SepiaAbControl *ctl)
{
	memset(ctl, 0, sizeof(*ctl));
	memcpy(ctl->slot_suffix, "_a", 3);
	ctl->version = SEPIA_AB_VERSION;
	ctl->nb_slot = 2;
	for (int i = 0; i < 2; i++) {
		ctl->slots[i].priority = (uint8_t)(SEPIA_AB_MAX_PRIORITY - i);
		ctl->slots[i].tries_remaining = SEPIA_AB_MAX_TRIES;
	}
}

bool sepia_ab_control_decode(const guint8 buf[SEPIA_AB_CONTROL_SIZE], SepiaAbControl *ctl, const char *name,
			     GError **error)
{
	uint32_t magic = get_le32(buf + 4);
	if (magic != SEPIA_AB_MAGIC)
		return img_fail(error, name, "A/B metadata at offset %d: bad magic 0x%08x",
				SEPIA_AB_MISC_OFFSET, magic);
	uint32_t want = get_le32(buf + 28);
	uint32_t got = sepia_crc32_update(0, buf, 28);
	if (want != got)
		return img_fail(error, name, "A/B metadata: crc32 0x%08x recorded, 0x%08x computed", want,
				got);
	if (buf[8] != SEPIA_AB_VERSION)
		return img_fail(error, name, "A/B metadata: unsupported version %u", buf[8]);
	unsigned bits = buf[9] | (unsigned)buf[10] << 8;
	unsigned nb_slot = bits & 7;
	if (nb_slot < 1 || nb_slot > SEPIA_AB_MAX_SLOTS)
		return img_fail(error, name, "A/B metadata: nb_slot %u outside 1..%d", nb_slot,
				SEPIA_AB_MAX_SLOTS);

	memset(ctl, 0, sizeof(*ctl));
	memcpy(ctl->raw, buf, SEPIA_AB_CONTROL_SIZE);
	memcpy(ctl->slot_suffix, buf, 4);
	ctl->slot_suffix[3] = '\0';
	ctl->version = buf[8];
	ctl->nb_slot = (uint8_t)nb_slot;
	ctl->recovery_tries_remaining = (uint8_t)((bits >> 3) & 7);
	ctl->merge_status = (uint8_t)((bits >> 6) & 7);
	for (int i = 0; i < SEPIA_AB_MAX_SLOTS; i++) {
		const guint8 *s = buf + 12 + 2 * i;
		ctl->slots[i].priority = s[0] & 0xf;
		ctl->slots[i].tries_remaining = (s[0] >> 4) & 7;
		ctl->slots[i].successful_boot = (s[0] >> 7) & 1;
		ctl->slots[i].verity_corrupted = s[1] & 1;
	}
	return true;
}

void sepia_ab_control_encode(const SepiaAbControl *ctl, guint8 buf[SEPIA_AB_CONTROL_SIZE])
{
	memcpy(buf, ctl->raw, SEPIA_AB_CONTROL_SIZE); /* reserved bytes and bits as read */
	memset(buf, 0, 4);
	memcpy(buf, ctl->slot_suffix, strnlen(ctl->slot_suffix, 3));
	put_le32(buf + 4, SEPIA_AB_MAGIC);
	buf[8] = ctl->version;
	unsigned bits = (ctl->nb_slot & 7u) | (ctl->recovery_tries_remaining & 7u) << 3 |
			(ctl->merge_status & 7u) << 6;
	buf[9] = (guint8)bits;
	buf[10] = (guint8)((buf[10] & ~1u) | (bits >> 8));
	for (int i = 0; i < SEPIA_AB_MAX_SLOTS; i++) {
		guint8 *s = buf + 12 + 2 * i;
		const SepiaAbSlot *sl = &ctl->slots[i];
		s[0] = (guint8)((sl->priority & 0xf) | (sl->tries_remaining & 7) << 4 |
				(sl->successful_boot ? 0x80 : 0));
		s[1] = (guint8)((s[1] & ~1u) | (sl->verity_corrupted ? 1 : 0));
	}
	put_le32(buf + 28, sepia_crc32_update(0, buf, 28));
}

static bool misc_check_size(int fd, const char *name, GError **error)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, name, "cannot stat: %s",
				     g_strerror(errno));
	/* A block device reports size 0 through stat; its reads and writes speak for themselves. */
	if (S_ISREG(st.st_mode) && st.st_size < SEPIA_AB_MISC_OFFSET + SEPIA_AB_CONTROL_SIZE)
		return img_fail(error, name, "misc is %lld bytes, too small for A/B metadata at %d",
				(long long)st.st_size, SEPIA_AB_MISC_OFFSET);
	return true;
}

bool sepia_ab_load_fd(int fd, const char *name, SepiaAbControl *ctl, bool *was_reset, GError **error)
{
	if (!misc_check_size(fd, name, error))
		return false;
	guint8 buf[SEPIA_AB_CONTROL_SIZE];
	gsize done = 0;
	while (done < sizeof(buf)) {
		ssize_t n = pread(fd, buf + done, sizeof(buf) - done, SEPIA_AB_MISC_OFFSET + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, name,
					     "cannot read A/B metadata: %s", g_strerror(errno));
		if (n == 0)
			return img_fail(error, name, "misc ends inside the A/B metadata");
		done += (gsize)n;
	}
	bool valid = sepia_ab_control_decode(buf, ctl, name, NULL);
	if (!valid)
		sepia_ab_control_init_default(ctl);
	if (was_reset)
		*was_reset = !valid;
	return true;
}

bool sepia_ab_store_fd(int fd, const char *name, const SepiaAbControl *ctl, GError **error)
{
	if (!misc_check_size(fd, name, error))
		return false;
	guint8 buf[SEPIA_AB_CONTROL_SIZE];
	sepia_ab_control_encode(ctl, buf);
	gsize done = 0;
	while (done < sizeof(buf)) {
		ssize_t n = pwrite(fd, buf + done, sizeof(buf) - done, SEPIA_AB_MISC_OFFSET + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, name,
					     "cannot write A/B metadata: %s",
					     n < 0 ? g_strerror(errno) : "short write");
		done += (gsize)n;
	}
	if (fsync(fd) < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, name, "fsync: %s", g_strerror(errno));
	return true;
}

static int misc_open(const char *path, int flags, GError **error)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "cannot open misc: %s", g_strerror(errno));
	return fd;
}

bool sepia_ab_load(const char *misc_path, SepiaAbControl *ctl, bool *was_reset, GError **error)
{
	int fd = misc_open(misc_path, O_RDONLY, error);
	if (fd < 0)
		return false;
	bool ok = sepia_ab_load_fd(fd, misc_path, ctl, was_reset, error);
	close(fd);
	return ok;
}

bool sepia_ab_store(const char *misc_path, const SepiaAbControl *ctl, GError **error)
{
	int fd = misc_open(misc_path, O_RDWR, error);
	if (fd < 0)
		return false;
	bool ok = sepia_ab_store_fd(fd, misc_path, ctl, error);
	if (close(fd) < 0 && ok)
		ok = img_fail_code(error, SEPIA_IMAGES_ERROR_IO, misc_path, "close: %s", g_strerror(errno));
	return ok;
}

static bool slot_valid(const SepiaAbControl *ctl, int slot)
{
	return slot >= 0 && slot < ctl->nb_slot && slot < SEPIA_AB_MAX_SLOTS;
}

bool sepia_ab_slot_is_bootable(const SepiaAbControl *ctl, int slot)
{
	if (!slot_valid(ctl, slot))
		return false;
	const SepiaAbSlot *s = &ctl->slots[slot];
	return s->priority > 0 && (s->successful_boot || s->tries_remaining > 0);
}

int sepia_ab_pick_slot(const SepiaAbControl *ctl)
{
	int best = -1;
	for (int i = 0; i < ctl->nb_slot && i < SEPIA_AB_MAX_SLOTS; i++)
		if (sepia_ab_slot_is_bootable(ctl, i) &&
		    (best < 0 || ctl->slots[i].priority > ctl->slots[best].priority))
			best = i;
	return best;
}

void sepia_ab_mark_boot_attempt(SepiaAbControl *ctl, int slot)
{
	if (!slot_valid(ctl, slot))
		return;
	SepiaAbSlot *s = &ctl->slots[slot];
	if (!s->successful_boot && s->tries_remaining > 0)
		s->tries_remaining--;
	memset(ctl->slot_suffix, 0, sizeof(ctl->slot_suffix));
	memcpy(ctl->slot_suffix, slot_suffixes[slot], 2);
}

void sepia_ab_mark_successful(SepiaAbControl *ctl, int slot)
{
	if (!slot_valid(ctl, slot))
		return;
	ctl->slots[slot].successful_boot = true;
	/* libboot_control keeps one try so a slot that succeeded on its last try stays bootable. */
	ctl->slots[slot].tries_remaining = 1;
}

void sepia_ab_mark_unbootable(SepiaAbControl *ctl, int slot)
{
	if (!slot_valid(ctl, slot))
		return;
	ctl->slots[slot].priority = 0;
	ctl->slots[slot].tries_remaining = 0;
	ctl->slots[slot].successful_boot = false;
}

void sepia_ab_set_active(SepiaAbControl *ctl, int slot)
{
	if (!slot_valid(ctl, slot))
		return;
	for (int i = 0; i < ctl->nb_slot && i < SEPIA_AB_MAX_SLOTS; i++)
		if (i != slot && ctl->slots[i].priority >= SEPIA_AB_MAX_PRIORITY)
			ctl->slots[i].priority = SEPIA_AB_MAX_PRIORITY - 1;
	ctl->slots[slot].priority = SEPIA_AB_MAX_PRIORITY;
	ctl->slots[slot].tries_remaining = SEPIA_AB_MAX_TRIES;
	ctl->slots[slot].successful_boot = false;
	ctl->slots[slot].verity_corrupted = false;
	memset(ctl->slot_suffix, 0, sizeof(ctl->slot_suffix));
	memcpy(ctl->slot_suffix, slot_suffixes[slot], 2);
}
