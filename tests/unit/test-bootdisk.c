/* The bootloader step through the device disk (bootloader/bootdisk.h): a real composite (GPT over
 * the partition files) with a qcow2 overlay on top, made from tiny v4 boot/vendor_boot images and
 * signed vbmetas (sepia's own writers, tests/data/testkey_rsa2048.pem). Every input is padded
 * with zeros after signing, as a partition larger than its image is, so the parsers and the AVB
 * check must go by the sizes in headers and descriptors. Checked: GPT lookup, misc written
 * through the overlay only (the composite and its inputs stay byte-identical), fallback to slot b
 * when boot_a is corrupted through the overlay, and corrupt GPTs refused with the disk's name. */
#include "block/block.h"
#include "images/abmisc.h"
#include "images/avb.h"
#include "images/bootimg.h"
#include "bootloader/bootloader.h"
#include "images/composite.h"
#include "images/crc32.h"
#include "images/overlay.h"
#include "images/vendorboot.h"
#include "bootloader/bootdisk.h"
#include "tests/unit/image-testlib.h"

#include <glib/gstdio.h>
#include <string.h>

#define MISC_SIZE (64 * 1024)
#define PAD       (64 * 1024 + 100) /* zeros after each image: partition > image, not 4 KiB aligned */

static const char *const names[] = { "misc",          "boot_a",   "boot_b",   "vendor_boot_a",
				     "vendor_boot_b", "vbmeta_a", "vbmeta_b", "metadata" };
#define N_PARTS G_N_ELEMENTS(names)

typedef struct {
	char *dir, *key, *out, *work, *overlay;
	char *paths[N_PARTS];
	CompositeDisk *disk;
} Fixture;

static void append_zeros(const char *path, gsize n)
{
	g_autofree char *data = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	g_autofree char *padded = g_malloc0(len + n);
	memcpy(padded, data, len);
	g_assert_true(g_file_set_contents(path, padded, (gssize)(len + n), NULL));
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
	(void)data;
	memset(f, 0, sizeof(*f));
	f->key = srcdir_file(SLOT_TEST_KEY);
	f->dir = make_tmp_dir("test-bootdisk");
	f->out = g_build_filename(f->dir, "out", NULL);
	f->work = g_build_filename(f->dir, "work", NULL);
	f->overlay = g_build_filename(f->dir, "overlay.qcow2", NULL);
	g_assert_cmpint(g_mkdir(f->out, 0755), ==, 0);
	for (guint i = 0; i < N_PARTS; i++) {
		g_autofree char *file = g_strconcat(names[i], ".img", NULL);
		f->paths[i] = g_build_filename(f->dir, file, NULL);
	}
	if (!g_file_test(f->key, G_FILE_TEST_EXISTS))
		return;
	g_autofree char *zeros = g_malloc0(MISC_SIZE);
	g_assert_true(g_file_set_contents(f->paths[0], zeros, MISC_SIZE, NULL));
	g_assert_true(g_file_set_contents(f->paths[N_PARTS - 1], zeros, 4096, NULL));
	for (int s = 0; s < 2; s++) {
		const char *boot = f->paths[1 + s], *vendor = f->paths[3 + s], *vbmeta = f->paths[5 + s];
		make_slot_boot(boot, (char)('a' + s));
		make_slot_vendor_boot(vendor);
		SepiaAvbHashPartition parts[2] = { { "boot", boot, NULL }, { "vendor_boot", vendor, NULL } };
		sign_slot_vbmeta(vbmeta, f->key, parts, 2, NULL);
		append_zeros(boot, PAD);
		append_zeros(vendor, PAD);
		append_zeros(vbmeta, PAD);
	}
	CompositePartitionSpec specs[N_PARTS];
	for (guint i = 0; i < N_PARTS; i++)
		specs[i] = (CompositePartitionSpec){ .name = names[i], .path = f->paths[i] };
	g_autoptr(GError) error = NULL;
	f->disk = composite_create(f->dir, "os_composite", specs, N_PARTS, "test-bootdisk", &error);
	g_assert_no_error(error);
	g_assert_true(overlay_create(f->overlay, "os_composite.vmdk", "vmdk", f->disk->disk_size, &error));
	g_assert_no_error(error);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
	(void)data;
	rm_tree(f->dir);
	for (guint i = 0; i < N_PARTS; i++)
		g_free(f->paths[i]);
	composite_disk_free(f->disk);
	g_free(f->dir), g_free(f->key), g_free(f->out), g_free(f->work), g_free(f->overlay);
}

/* SHA-256 of every file the overlay's backing chain reads: the inputs and the composite's own. */
static char *hash_backing(Fixture *f)
{
	g_autoptr(GString) all = g_string_new(NULL);
	const char *extra[] = { f->disk->descriptor_path, f->disk->header_path, f->disk->footer_path,
				f->disk->zero_path };
	for (guint i = 0; i < N_PARTS + G_N_ELEMENTS(extra); i++) {
		const char *p = i < N_PARTS ? f->paths[i] : extra[i - N_PARTS];
		g_autofree char *data = NULL;
		gsize len;
		g_assert_true(g_file_get_contents(p, &data, &len, NULL));
		g_autofree char *h = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guint8 *)data, len);
		g_string_append_printf(all, "%s %s\n", h, p);
	}
	return g_string_free(g_steal_pointer(&all), FALSE);
}

static SepiaBootResult *run_step(Fixture *f, GError **error)
{
	g_autoptr(GBytes) key = sepia_avb_load_public_key(f->key, NULL);
	g_assert_nonnull(key);
	SepiaBootOptions opts = { .trusted_key = key, .out_dir = f->out };
	SepiaBootResult *res = NULL;
	bool ok = sepia_bootdisk_run_bootloader(f->overlay, f->work, &opts, &res, error);
	g_assert_true(ok == (res != NULL));
	return res;
}

static SepiaAbControl read_ab(Fixture *f)
{
	SepiaAbControl ctl;
	g_autoptr(GError) error = NULL;
	g_assert_true(sepia_bootdisk_read_ab(f->overlay, &ctl, &error));
	g_assert_no_error(error);
	return ctl;
}

static void check_kernel(Fixture *f, char slot)
{
	g_autofree char *path = g_build_filename(f->out, "kernel", NULL);
	g_autofree char *data = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	g_autofree char *want = g_strdup_printf("KERNEL-%c-0123456789", slot);
	g_assert_cmpmem(data, len, want, strlen(want));
}

/* Writes len bytes of `value` at off of a partition, through the overlay. */
static void poke(Fixture *f, const char *part, uint64_t off, guint8 value, gsize len)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SepiaBootDisk) d = sepia_bootdisk_open(f->overlay, true, &error);
	g_assert_no_error(error);
	const SepiaBootDiskPartition *p = sepia_bootdisk_find(d, part);
	g_assert_nonnull(p);
	g_autofree guint8 *buf = g_malloc(len);
	memset(buf, value, len);
	g_assert_true(sepia_bootdisk_write(d, p, off, buf, len, &error));
	g_assert_true(sepia_bootdisk_flush(d, &error));
	g_assert_no_error(error);
}

static void test_gpt_lookup(Fixture *f, gconstpointer data)
{
	(void)data;
	if (!have_test_key(f->key))
		return;
	g_autoptr(GError) error = NULL;
	g_autoptr(SepiaBootDisk) d = sepia_bootdisk_open(f->overlay, false, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(sepia_bootdisk_path(d), ==, f->overlay);
	g_assert_cmpuint(sepia_bootdisk_n_partitions(d), ==, N_PARTS);
	for (guint i = 0; i < N_PARTS; i++) {
		const SepiaBootDiskPartition *p = sepia_bootdisk_find(d, names[i]);
		g_assert_nonnull(p);
		g_assert_true(p == sepia_bootdisk_partition(d, i));
		g_assert_cmpstr(p->name, ==, f->disk->parts[i].name);
		g_assert_cmpuint(p->offset, ==, f->disk->parts[i].offset);
		g_assert_cmpuint(p->size, ==, f->disk->parts[i].size);
		/* The partition holds the file, then zeros. */
		g_autofree char *file = NULL;
		gsize len;
		g_assert_true(g_file_get_contents(f->paths[i], &file, &len, NULL));
		g_assert_cmpuint(p->size, >=, len);
		g_autofree guint8 *buf = g_malloc(p->size);
		g_assert_true(sepia_bootdisk_read(d, p, 0, buf, p->size, &error));
		g_assert_no_error(error);
		g_assert_cmpmem(buf, len, file, len);
		for (gsize k = len; k < p->size; k++)
			g_assert_cmpuint(buf[k], ==, 0);
	}
	g_assert_null(sepia_bootdisk_find(d, "boot"));
	g_assert_null(sepia_bootdisk_find(d, "init_boot_a"));
	g_assert_null(sepia_bootdisk_partition(d, N_PARTS));
	/* Reads outside the partition and writes to a read-only disk are refused. */
	const SepiaBootDiskPartition *misc = sepia_bootdisk_find(d, "misc");
	guint8 b[16];
	g_assert_false(sepia_bootdisk_read(d, misc, misc->size - 8, b, sizeof b, &error));
	g_assert_nonnull(strstr(error->message, "misc"));
	g_clear_error(&error);
	g_assert_false(sepia_bootdisk_write(d, misc, 0, b, sizeof b, &error));
	g_assert_nonnull(strstr(error->message, "read-only"));
}

static void test_misc_through_overlay(Fixture *f, gconstpointer data)
{
	(void)data;
	if (!have_test_key(f->key))
		return;
	g_autofree char *before = hash_backing(f);
	g_autoptr(GError) error = NULL;
	SepiaAbControl ctl;
	/* Blank misc: nothing to show or mark yet. */
	g_assert_false(sepia_bootdisk_read_ab(f->overlay, &ctl, &error));
	g_assert_nonnull(strstr(error->message, f->overlay));
	g_clear_error(&error);
	g_assert_false(sepia_bootdisk_mark_successful(f->overlay, 0, &error));
	g_clear_error(&error);

	g_autoptr(SepiaBootResult) res = run_step(f, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(res->suffix, ==, "_a");
	g_assert_cmpint(res->state, ==, SEPIA_BOOT_STATE_GREEN);
	g_assert_cmpuint(res->boot_header_version, ==, 4);
	check_kernel(f, 'a');
	ctl = read_ab(f);
	g_assert_cmpstr(ctl.slot_suffix, ==, "_a");
	g_assert_cmpuint(ctl.slots[0].tries_remaining, ==, SEPIA_AB_MAX_TRIES - 1);
	g_assert_false(ctl.slots[0].successful_boot);
	/* The copies in the work directory are gone. */
	g_autoptr(GDir) w = g_dir_open(f->work, 0, NULL);
	g_assert_nonnull(w);
	g_assert_null(g_dir_read_name(w));

	g_assert_true(sepia_bootdisk_mark_successful(f->overlay, 0, &error));
	g_assert_no_error(error);
	ctl = read_ab(f);
	g_assert_true(ctl.slots[0].successful_boot);
	g_assert_false(sepia_bootdisk_mark_successful(f->overlay, 3, &error));
	g_assert_nonnull(strstr(error->message, "slot 3"));
	g_clear_error(&error);

	/* A second step: a successful slot uses no try. */
	g_autoptr(SepiaBootResult) again = run_step(f, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(again->suffix, ==, "_a");
	g_assert_true(read_ab(f).slots[0].successful_boot);

	/* Every write went to the overlay: the misc input is still zeros, nothing else changed. */
	g_autofree char *after = hash_backing(f);
	g_assert_cmpstr(after, ==, before);
	g_autofree char *misc = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(f->paths[0], &misc, &len, NULL));
	for (gsize i = 0; i < len; i++)
		g_assert_cmpuint((guint8)misc[i], ==, 0);
}

static void test_fallback_to_b(Fixture *f, gconstpointer data)
{
	(void)data;
	if (!have_test_key(f->key))
		return;
	g_autofree char *before = hash_backing(f);
	poke(f, "boot_a", 4096 + 4, 0xff, 4096); /* inside boot_a's kernel page */
	g_autoptr(GError) error = NULL;
	g_autoptr(SepiaBootResult) res = run_step(f, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(res->suffix, ==, "_b");
	g_assert_cmpint(res->state, ==, SEPIA_BOOT_STATE_GREEN);
	check_kernel(f, 'b');
	SepiaAbControl ctl = read_ab(f);
	g_assert_false(sepia_ab_slot_is_bootable(&ctl, 0));
	g_assert_cmpuint(ctl.slots[0].priority, ==, 0);
	g_assert_cmpuint(ctl.slots[1].tries_remaining, ==, SEPIA_AB_MAX_TRIES - 1);

	/* Both slots bad: no slot, the refusals still recorded in misc, the error names the disk. */
	poke(f, "vendor_boot_b", 4096 + 4, 0xff, 512);
	g_autoptr(SepiaBootResult) none = run_step(f, &error);
	g_assert_null(none);
	g_assert_error(error, SEPIA_BOOTLOADER_ERROR, SEPIA_BOOTLOADER_ERROR_NO_SLOT);
	g_assert_true(g_str_has_prefix(error->message, f->overlay));
	g_assert_nonnull(strstr(error->message, "vendor_boot_b"));
	ctl = read_ab(f);
	g_assert_false(sepia_ab_slot_is_bootable(&ctl, 1));

	g_autofree char *after = hash_backing(f);
	g_assert_cmpstr(after, ==, before);
}

/* Rewrites the primary GPT through the overlay after edit() changed header h / entries e, with
 * fresh CRCs when `fix_crcs`. */
static void rewrite_gpt(Fixture *f, void (*edit)(guint8 *h, guint8 *e), bool fix_crcs)
{
	g_autoptr(GError) error = NULL;
	struct block_backend *b = block_open(f->overlay, false, &error);
	g_assert_no_error(error);
	guint8 buf[34 * 512];
	struct iovec iov = { buf, sizeof buf };
	g_assert_cmpint(b->ops->preadv(b, &iov, 1, 0), ==, 0);
	guint8 *h = buf + 512, *e = buf + 1024;
	edit(h, e);
	if (fix_crcs) {
		put_le32(h + 88, sepia_crc32_update(0, e, 128 * 128));
		put_le32(h + 16, 0);
		put_le32(h + 16, sepia_crc32_update(0, h, get_le32(h + 12)));
	}
	g_assert_cmpint(b->ops->pwritev(b, &iov, 1, 0), ==, 0);
	g_assert_cmpint(b->ops->flush(b), ==, 0);
	block_close(b);
}

static void flip_header_byte(guint8 *h, guint8 *e)
{
	(void)e;
	h[48] ^= 1;
}
static void flip_entry_name(guint8 *h, guint8 *e)
{
	(void)h;
	e[128 + 56] ^= 1;
}
static void entry_past_end(guint8 *h, guint8 *e)
{
	(void)h;
	put_le64(e + 40, 1ull << 40);
}
static void entry_overlaps(guint8 *h, guint8 *e)
{
	(void)h;
	put_le64(e + 128 + 32, get_le64(e + 40)); /* boot_a starts on misc's last LBA */
}
static void bad_entry_size(guint8 *h, guint8 *e)
{
	(void)e;
	put_le32(h + 84, 96);
}
static void huge_array(guint8 *h, guint8 *e)
{
	(void)e;
	put_le32(h + 80, 1u << 24);
}
static void no_signature(guint8 *h, guint8 *e)
{
	(void)e;
	memcpy(h, "NOT GPT!", 8);
}

static void test_corrupt_gpt(Fixture *f, gconstpointer data)
{
	(void)data;
	if (!have_test_key(f->key))
		return;
	static const struct {
		void (*edit)(guint8 *, guint8 *);
		bool fix_crcs;
		const char *needle;
	} cases[] = {
		{ flip_header_byte, false, "header CRC-32 mismatch" },
		{ flip_entry_name, false, "entry array CRC-32 mismatch" },
		{ entry_past_end, true, "outside the usable" },
		{ entry_overlaps, true, "overlaps partition \"misc\"" },
		{ bad_entry_size, true, "entry size 96" },
		{ huge_array, true, "exceeds" },
		{ no_signature, false, "EFI PART" },
	};
	g_autofree char *good = NULL;
	gsize good_len;
	g_assert_true(g_file_get_contents(f->overlay, &good, &good_len, NULL));
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_assert_true(g_file_set_contents(f->overlay, good, (gssize)good_len, NULL));
		rewrite_gpt(f, cases[i].edit, cases[i].fix_crcs);
		g_autoptr(GError) error = NULL;
		g_autoptr(SepiaBootDisk) d = sepia_bootdisk_open(f->overlay, false, &error);
		g_assert_null(d);
		g_assert_nonnull(error);
		if (!strstr(error->message, cases[i].needle) || !strstr(error->message, f->overlay))
			g_error("case %u: \"%s\" lacks \"%s\" or the disk's name", i, error->message,
				cases[i].needle);
		/* The whole step refuses too, and writes nothing. */
		g_clear_error(&error);
		g_assert_null(run_step(f, &error));
		g_assert_nonnull(strstr(error->message, cases[i].needle));
	}
	/* A disk without any GPT (a blank raw file). */
	g_autofree char *raw = g_build_filename(f->dir, "blank.raw", NULL);
	g_autofree char *zeros = g_malloc0(64 * 1024);
	g_assert_true(g_file_set_contents(raw, zeros, 64 * 1024, NULL));
	g_autoptr(GError) error = NULL;
	g_assert_null(sepia_bootdisk_open(raw, false, &error));
	g_assert_nonnull(strstr(error->message, "blank.raw"));
	g_assert_nonnull(strstr(error->message, "EFI PART"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/bootdisk/gpt-lookup", test_gpt_lookup);
	ADD("/bootdisk/misc-through-overlay", test_misc_through_overlay);
	ADD("/bootdisk/fallback-to-b", test_fallback_to_b);
	ADD("/bootdisk/corrupt-gpt", test_corrupt_gpt);
#undef ADD
	return g_test_run();
}
