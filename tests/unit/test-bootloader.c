/* The bootloader step: A/B metadata in misc (layout, CRC, defaults, tries), AVB states (green with
 * the trusted key, yellow without, orange unlocked, red refused), the assembled ramdisk (vendor
 * fragments + generic ramdisk + bootconfig + the kernel's trailer) and command line, and the
 * fallback to slot b when boot_a is corrupt. Images are made with sepia's own v4 writers and
 * signed with tests/data/testkey_rsa2048.pem. */
#include "images/abmisc.h"
#include "images/avb.h"
#include "images/bootimg.h"
#include "bootloader/bootloader.h"
#include "images/crc32.h"
#include "images/vendorboot.h"
#include "tests/unit/image-testlib.h"

#include <glib/gstdio.h>
#include <string.h>

#define MISC_SIZE (64 * 1024)

typedef struct {
	char *dir, *key, *misc, *out;
	char *boot[2], *vendor[2], *vbmeta[2], *init_boot;
	SepiaSlotImages slots[2];
} Fixture;

static void sign_slot(Fixture *f, int s)
{
	SepiaAvbHashPartition parts[3] = {
		{ "boot", f->boot[s], NULL },
		{ "vendor_boot", f->vendor[s], NULL },
		{ "init_boot", f->init_boot, NULL },
	};
	const char *cmdlines[] = { "avb.from.vbmeta=1", NULL };
	sign_slot_vbmeta(f->vbmeta[s], f->key, parts, f->init_boot ? 3 : 2, cmdlines);
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
	memset(f, 0, sizeof(*f));
	f->key = srcdir_file(SLOT_TEST_KEY);
	f->dir = make_tmp_dir("test-bootloader");
	f->misc = g_build_filename(f->dir, "misc.img", NULL);
	f->out = g_build_filename(f->dir, "out", NULL);
	g_assert_cmpint(g_mkdir(f->out, 0755), ==, 0);
	g_autofree char *zeros = g_malloc0(MISC_SIZE);
	g_assert_true(g_file_set_contents(f->misc, zeros, MISC_SIZE, NULL));
	if (!g_file_test(f->key, G_FILE_TEST_EXISTS))
		return;
	for (int s = 0; s < 2; s++) {
		char c = (char)('a' + s);
		g_autofree char *bn = g_strdup_printf("boot_%c.img", c);
		g_autofree char *vn = g_strdup_printf("vendor_boot_%c.img", c);
		g_autofree char *mn = g_strdup_printf("vbmeta_%c.img", c);
		f->boot[s] = g_build_filename(f->dir, bn, NULL);
		f->vendor[s] = g_build_filename(f->dir, vn, NULL);
		f->vbmeta[s] = g_build_filename(f->dir, mn, NULL);
		make_slot_boot(f->boot[s], c);
		make_slot_vendor_boot(f->vendor[s]);
		sign_slot(f, s);
		f->slots[s] = (SepiaSlotImages){ f->boot[s], f->vendor[s], NULL, f->vbmeta[s] };
	}
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
	rm_tree(f->dir);
	g_free(f->dir), g_free(f->key), g_free(f->misc), g_free(f->out), g_free(f->init_boot);
	for (int s = 0; s < 2; s++)
		g_free(f->boot[s]), g_free(f->vendor[s]), g_free(f->vbmeta[s]);
}

static SepiaAbControl load_misc(Fixture *f, bool *reset)
{
	SepiaAbControl ctl;
	g_autoptr(GError) error = NULL;
	g_assert_true(sepia_ab_load(f->misc, &ctl, reset, &error));
	g_assert_no_error(error);
	return ctl;
}

/* ---- A/B metadata ---- */

static void test_ab_layout_and_crc(Fixture *f, gconstpointer data)
{
	SepiaAbControl ctl;
	sepia_ab_control_init_default(&ctl);
	ctl.merge_status = 5; /* straddles bytes 9 and 10 */
	ctl.recovery_tries_remaining = 3;
	ctl.slots[1].successful_boot = true;
	ctl.slots[1].verity_corrupted = true;
	guint8 buf[SEPIA_AB_CONTROL_SIZE];
	sepia_ab_control_encode(&ctl, buf);
	g_assert_cmpmem(buf, 3, "_a", 3);
	g_assert_cmpuint(get_le32(buf + 4), ==, 0x42414342);
	g_assert_cmpmem(buf + 4, 4, "BCAB", 4); /* the magic's bytes, little-endian */
	g_assert_cmpuint(buf[8], ==, 1);
	g_assert_cmpuint(buf[9], ==, (2 | 3 << 3 | (5 & 3) << 6));
	g_assert_cmpuint(buf[10], ==, 1);
	g_assert_cmpuint(buf[12], ==, 15 | 7 << 4);        /* slot a */
	g_assert_cmpuint(buf[14], ==, 14 | 7 << 4 | 0x80); /* slot b, successful */
	g_assert_cmpuint(buf[15], ==, 1);
	g_assert_cmpuint(get_le32(buf + 28), ==, sepia_crc32_update(0, buf, 28));

	SepiaAbControl back;
	g_autoptr(GError) error = NULL;
	g_assert_true(sepia_ab_control_decode(buf, &back, "misc", &error));
	g_assert_no_error(error);
	g_assert_cmpuint(back.merge_status, ==, 5);
	g_assert_cmpuint(back.recovery_tries_remaining, ==, 3);
	g_assert_cmpuint(back.nb_slot, ==, 2);
	g_assert_true(back.slots[1].successful_boot && back.slots[1].verity_corrupted);
	g_assert_cmpuint(back.slots[0].priority, ==, 15);
	guint8 again[SEPIA_AB_CONTROL_SIZE];
	sepia_ab_control_encode(&back, again);
	g_assert_cmpmem(again, sizeof(again), buf, sizeof(buf));

	/* Through the file: store, load, same bytes; a flipped bit makes the CRC fail -> defaults. */
	g_assert_true(sepia_ab_store(f->misc, &back, &error));
	bool reset = true;
	SepiaAbControl disk = load_misc(f, &reset);
	g_assert_false(reset);
	g_assert_cmpuint(disk.merge_status, ==, 5);
	g_autofree char *contents = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(f->misc, &contents, &len, NULL));
	g_assert_cmpuint(len, ==, MISC_SIZE);
	g_assert_cmpmem(contents + SEPIA_AB_MISC_OFFSET, 32, buf, 32);
	contents[SEPIA_AB_MISC_OFFSET + 12] ^= 0x01;
	g_assert_true(g_file_set_contents(f->misc, contents, (gssize)len, NULL));
	g_assert_false(
		sepia_ab_control_decode((guint8 *)contents + SEPIA_AB_MISC_OFFSET, &back, "misc", &error));
	g_assert_nonnull(strstr(error->message, "crc32"));
	disk = load_misc(f, &reset);
	g_assert_true(reset);
	g_assert_cmpuint(disk.merge_status, ==, 0);
	g_assert_cmpuint(disk.slots[0].priority, ==, 15);
	g_assert_cmpuint(disk.slots[1].priority, ==, 14);
	g_assert_cmpuint(disk.slots[1].tries_remaining, ==, 7);
	g_assert_false(disk.slots[1].successful_boot);
}

static void test_ab_tries(Fixture *f, gconstpointer data)
{
	SepiaAbControl ctl;
	sepia_ab_control_init_default(&ctl);
	g_assert_cmpint(sepia_ab_pick_slot(&ctl), ==, 0);
	for (int i = 0; i < 7; i++) {
		g_assert_cmpint(sepia_ab_pick_slot(&ctl), ==, 0);
		sepia_ab_mark_boot_attempt(&ctl, 0);
	}
	g_assert_cmpuint(ctl.slots[0].tries_remaining, ==, 0);
	g_assert_cmpint(sepia_ab_pick_slot(&ctl), ==, 1);
	sepia_ab_mark_boot_attempt(&ctl, 1);
	g_assert_cmpstr(ctl.slot_suffix, ==, "_b");
	sepia_ab_mark_successful(&ctl, 1);
	for (int i = 0; i < 10; i++)
		sepia_ab_mark_boot_attempt(&ctl, 1); /* a successful slot keeps its tries */
	g_assert_cmpint(sepia_ab_pick_slot(&ctl), ==, 1);
	sepia_ab_set_active(&ctl, 0);
	g_assert_cmpint(sepia_ab_pick_slot(&ctl), ==, 0);
	g_assert_cmpuint(ctl.slots[1].priority, ==, 14);
	sepia_ab_mark_unbootable(&ctl, 0);
	sepia_ab_mark_unbootable(&ctl, 1);
	g_assert_cmpint(sepia_ab_pick_slot(&ctl), ==, -1);

	/* A misc too small for the metadata is an error, not silently extended. */
	g_autofree char *small = g_build_filename(f->dir, "small.img", NULL);
	g_assert_true(g_file_set_contents(small, "x", 1, NULL));
	g_autoptr(GError) error = NULL;
	g_assert_false(sepia_ab_load(small, &ctl, NULL, &error));
	g_assert_true(g_str_has_prefix(error->message, small));
	g_unlink(small);
}

/* ---- boot assembly ---- */

static SepiaBootResult *choose(Fixture *f, GBytes *key, bool unlocked, GError **error)
{
	SepiaBootOptions o = { .trusted_key = key, .unlocked = unlocked, .out_dir = f->out };
	return sepia_bootloader_choose_and_prepare(f->misc, f->slots, 2, &o, error);
}

static GBytes *load_key(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	GBytes *k = sepia_avb_load_public_key(f->key, &error);
	g_assert_no_error(error);
	return k;
}

static void check_ramdisk(Fixture *f, const SepiaBootResult *r, const char *generic)
{
	g_autofree char *rd = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(r->ramdisk_path, &rd, &len, NULL));
	g_autoptr(GString) want = g_string_new(SLOT_VENDOR_FRAG0);
	g_string_append(want, SLOT_VENDOR_FRAG1);
	g_string_append(want, generic);
	gsize prefix = want->len;
	g_assert_cmpuint(len, >, prefix + 20);
	g_assert_cmpmem(rd, prefix, want->str, prefix);

	/* Trailer: le32 size, le32 checksum, "#BOOTCONFIG\n", whole file 4-byte aligned. */
	g_assert_cmpuint(len % 4, ==, 0);
	g_assert_cmpmem(rd + len - 12, 12, "#BOOTCONFIG\n", 12);
	uint32_t size = get_le32((guint8 *)rd + len - 20);
	uint32_t csum = get_le32((guint8 *)rd + len - 16);
	g_assert_cmpuint(prefix + size + 20, ==, len);
	const guint8 *bc = (guint8 *)rd + prefix;
	uint32_t sum = 0;
	for (uint32_t i = 0; i < size; i++)
		sum += bc[i];
	g_assert_cmpuint(sum, ==, csum);
	gsize bclen;
	const char *text = g_bytes_get_data(r->bootconfig, &bclen);
	g_assert_cmpuint(size - bclen, <, 4);
	g_assert_cmpmem(bc, bclen, text, bclen);
	for (gsize i = bclen; i < size; i++)
		g_assert_cmpuint(bc[i], ==, 0);
	g_autofree char *bcs = g_strndup(text, bclen);
	g_assert_true(g_str_has_prefix(bcs, "androidboot.hardware=sepia\nkernel.foo=1\n"));
	g_assert_nonnull(strstr(bcs, "\nandroidboot.slot_suffix=_a\n"));
	g_autofree char *state = g_strdup_printf("\nandroidboot.verifiedbootstate=%s\n",
						 sepia_boot_state_name(r->state));
	g_assert_nonnull(strstr(bcs, state));
	g_autofree char *dig = g_strdup_printf("\nandroidboot.vbmeta.digest=%s\n", r->vbmeta_digest);
	g_assert_nonnull(strstr(bcs, dig));
}

static void test_green_and_yellow(Fixture *f, gconstpointer data)
{
	if (!have_test_key(f->key))
		return;
	g_autoptr(GBytes) key = load_key(f);
	g_autoptr(GError) error = NULL;
	g_autoptr(SepiaBootResult) r = choose(f, key, false, &error);
	g_assert_no_error(error);
	g_assert_cmpint(r->slot, ==, 0);
	g_assert_cmpstr(r->suffix, ==, "_a");
	g_assert_cmpint(r->state, ==, SEPIA_BOOT_STATE_GREEN);
	g_assert_cmpuint(r->boot_header_version, ==, 4);
	g_assert_null(r->verification_error);

	g_autoptr(SepiaVbmeta) vb = sepia_vbmeta_parse_file(f->vbmeta[0], &error);
	g_assert_no_error(error);
	const SepiaVbmeta *list[1] = { vb };
	g_autofree char *digest = sepia_avb_vbmeta_digest_hex(list, 1);
	g_assert_cmpstr(r->vbmeta_digest, ==, digest);

	g_autofree char *kernel = NULL;
	g_assert_true(g_file_get_contents(r->kernel_path, &kernel, NULL, NULL));
	g_assert_cmpstr(kernel, ==, "KERNEL-a-0123456789");
	check_ramdisk(f, r, SLOT_GENERIC_RAMDISK);
	/* v4 with bootconfig: androidboot.* in the bootconfig, not on the command line. */
	g_assert_cmpstr(r->cmdline, ==, "vendor.opt=1 console=ttyS0 quiet avb.from.vbmeta=1 bootconfig");

	/* misc: written with defaults, then one try of slot a used. */
	bool reset = true;
	SepiaAbControl ctl = load_misc(f, &reset);
	g_assert_false(reset);
	g_assert_cmpuint(ctl.slots[0].tries_remaining, ==, 6);
	g_assert_cmpuint(ctl.slots[1].tries_remaining, ==, 7);
	g_assert_cmpstr(ctl.slot_suffix, ==, "_a");

	/* Without a trusted key: the embedded key verifies, yellow. */
	g_autoptr(SepiaBootResult) y = choose(f, NULL, false, &error);
	g_assert_no_error(error);
	g_assert_cmpint(y->slot, ==, 0);
	g_assert_cmpint(y->state, ==, SEPIA_BOOT_STATE_YELLOW);
	check_ramdisk(f, y, SLOT_GENERIC_RAMDISK);
}

static void test_fallback_to_b(Fixture *f, gconstpointer data)
{
	if (!have_test_key(f->key))
		return;
	/* One byte of boot_a's kernel changed. */
	g_autofree char *b = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(f->boot[0], &b, &len, NULL));
	b[4096 + 3] ^= 0x20;
	g_assert_true(g_file_set_contents(f->boot[0], b, (gssize)len, NULL));

	g_autoptr(GBytes) key = load_key(f);
	g_autoptr(GError) error = NULL;
	SepiaBootOptions o = { .trusted_key = key, .out_dir = f->out };
	g_autoptr(SepiaBootResult) direct = sepia_bootloader_prepare_slot(0, &f->slots[0], &o, &error);
	g_assert_null(direct);
	g_assert_error(error, SEPIA_BOOTLOADER_ERROR, SEPIA_BOOTLOADER_ERROR_VERIFICATION);
	g_assert_nonnull(strstr(error->message, "boot_a"));
	g_assert_nonnull(strstr(error->message, "red"));
	g_assert_null(strstr(error->message, "vendor_boot_a"));
	g_clear_error(&error);
	g_autofree char *kpath = g_build_filename(f->out, "kernel", NULL);
	g_assert_false(g_file_test(kpath, G_FILE_TEST_EXISTS)); /* nothing written for a red slot */

	g_autoptr(SepiaBootResult) r = choose(f, key, false, &error);
	g_assert_no_error(error);
	g_assert_cmpint(r->slot, ==, 1);
	g_assert_cmpstr(r->suffix, ==, "_b");
	g_assert_cmpint(r->state, ==, SEPIA_BOOT_STATE_GREEN);
	g_autofree char *kernel = NULL;
	g_assert_true(g_file_get_contents(r->kernel_path, &kernel, NULL, NULL));
	g_assert_cmpstr(kernel, ==, "KERNEL-b-0123456789");
	g_autofree char *bc = g_strndup(g_bytes_get_data(r->bootconfig, NULL),
					g_bytes_get_size(r->bootconfig));
	g_assert_nonnull(strstr(bc, "androidboot.slot_suffix=_b\n"));

	SepiaAbControl ctl = load_misc(f, NULL);
	g_assert_cmpuint(ctl.slots[0].priority, ==, 0); /* unbootable */
	g_assert_cmpuint(ctl.slots[0].tries_remaining, ==, 0);
	g_assert_cmpuint(ctl.slots[1].tries_remaining, ==, 6);
	g_assert_cmpstr(ctl.slot_suffix, ==, "_b");

	/* Next launch goes straight to b. */
	g_autoptr(SepiaBootResult) r2 = choose(f, key, false, &error);
	g_assert_no_error(error);
	g_assert_cmpint(r2->slot, ==, 1);

	/* Unlocked: the corrupt slot a boots, orange, and the failure is reported. */
	sepia_ab_set_active(&ctl, 0);
	g_assert_true(sepia_ab_store(f->misc, &ctl, &error));
	g_autoptr(SepiaBootResult) o2 = choose(f, key, true, &error);
	g_assert_no_error(error);
	g_assert_cmpint(o2->slot, ==, 0);
	g_assert_cmpint(o2->state, ==, SEPIA_BOOT_STATE_ORANGE);
	g_assert_nonnull(strstr(o2->verification_error, "boot_a"));

	/* Both slots corrupt: no slot, and the error says why each was refused. */
	g_assert_true(g_file_set_contents(f->boot[1], b, (gssize)len, NULL));
	g_autoptr(SepiaBootResult) none = choose(f, key, false, &error);
	g_assert_null(none);
	g_assert_error(error, SEPIA_BOOTLOADER_ERROR, SEPIA_BOOTLOADER_ERROR_NO_SLOT);
	g_assert_nonnull(strstr(error->message, "boot_a"));
	g_assert_nonnull(strstr(error->message, "boot_b"));
}

static void test_other_key_is_red(Fixture *f, gconstpointer data)
{
	if (!have_test_key(f->key))
		return;
	/* A trusted key other than the signer: locked -> red for both slots. */
	g_autofree char *pem = g_build_filename(f->dir, "other.pem", NULL);
	g_autofree char *cmd = g_strdup_printf("openssl genrsa -out '%s' 2048", pem);
	int status;
	if (!have_program("openssl", "no openssl command"))
		return;
	g_assert_true(g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL));
	g_assert_true(g_spawn_check_wait_status(status, NULL));
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) other = sepia_avb_load_public_key(pem, &error);
	g_assert_no_error(error);
	g_autoptr(SepiaBootResult) r = choose(f, other, false, &error);
	g_assert_null(r);
	g_assert_error(error, SEPIA_BOOTLOADER_ERROR, SEPIA_BOOTLOADER_ERROR_NO_SLOT);
	g_assert_nonnull(strstr(error->message, "KEY_NOT_TRUSTED"));
}

static void test_tries_exhausted(Fixture *f, gconstpointer data)
{
	if (!have_test_key(f->key))
		return;
	SepiaAbControl ctl;
	sepia_ab_control_init_default(&ctl);
	ctl.slots[0].tries_remaining = 1;
	g_autoptr(GError) error = NULL;
	g_assert_true(sepia_ab_store(f->misc, &ctl, &error));
	/* The last try of a: it boots (and, say, the guest never reports success)... */
	g_autoptr(SepiaBootResult) r1 = choose(f, NULL, false, &error);
	g_assert_no_error(error);
	g_assert_cmpint(r1->slot, ==, 0);
	ctl = load_misc(f, NULL);
	g_assert_cmpuint(ctl.slots[0].tries_remaining, ==, 0);
	/* ...so the next launch takes b. */
	g_autoptr(SepiaBootResult) r2 = choose(f, NULL, false, &error);
	g_assert_no_error(error);
	g_assert_cmpint(r2->slot, ==, 1);
}

static void test_init_boot_ramdisk(Fixture *f, gconstpointer data)
{
	if (!have_test_key(f->key))
		return;
	/* init_boot given: the generic ramdisk comes from it, not from boot. */
	f->init_boot = g_build_filename(f->dir, "init_boot.img", NULL);
	g_autoptr(SepiaBootImage) ib = sepia_boot_image_new();
	ib->header_version = 4;
	ib->ramdisk = text_bytes("generic-ramdisk-from-init_boot");
	g_autoptr(GError) error = NULL;
	g_assert_true(sepia_boot_image_write(ib, f->init_boot, &error));
	g_assert_no_error(error);
	sign_slot(f, 0);
	f->slots[0].init_boot = f->init_boot;
	g_autoptr(SepiaBootResult) r = choose(f, NULL, false, &error);
	g_assert_no_error(error);
	g_assert_cmpint(r->slot, ==, 0);
	check_ramdisk(f, r, "generic-ramdisk-from-init_boot");
}

/* The serial number given goes into the bootconfig, and a vendor bootconfig line setting a key
 * the bootloader sets is left out (the kernel refuses a bootconfig that sets a key twice). */
static void test_serialno_overrides_vendor(Fixture *f, gconstpointer data)
{
	if (!have_test_key(f->key))
		return;
	g_autoptr(SepiaVendorBootImage) v = sepia_vendor_boot_image_new();
	v->header_version = 4;
	v->page_size = 4096;
	v->bootconfig = text_bytes("androidboot.hardware=sepia\n  androidboot.serialno = OLD0001\n"
				   "androidboot.slot_suffix=_z\nandroidboot.serialnox=kept\nkernel.foo=1\n");
	g_autoptr(GBytes) f0 = text_bytes(SLOT_VENDOR_FRAG0);
	sepia_vendor_boot_image_add_ramdisk(v, "platform", SEPIA_VENDOR_RAMDISK_TYPE_PLATFORM, NULL, f0);
	g_autoptr(GError) error = NULL;
	g_assert_true(sepia_vendor_boot_image_write(v, f->vendor[0], &error));
	g_assert_no_error(error);
	sign_slot(f, 0);
	g_autoptr(GBytes) key = load_key(f);
	SepiaBootOptions o = { .trusted_key = key, .out_dir = f->out, .serialno = "SEPIACVD07" };
	g_autoptr(SepiaBootResult) r = sepia_bootloader_prepare_slot(0, &f->slots[0], &o, &error);
	g_assert_no_error(error);
	g_autofree char *bc = g_strndup(g_bytes_get_data(r->bootconfig, NULL),
					g_bytes_get_size(r->bootconfig));
	g_assert_true(g_str_has_prefix(bc, "androidboot.hardware=sepia\nandroidboot.serialnox=kept\n"
					   "kernel.foo=1\n"));
	g_assert_nonnull(strstr(bc, "\nandroidboot.serialno=SEPIACVD07\n"));
	g_assert_nonnull(strstr(bc, "\nandroidboot.slot_suffix=_a\n"));
	g_assert_null(strstr(bc, "OLD0001"));
	g_assert_null(strstr(bc, "_z"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/bootloader/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("ab-layout-crc", test_ab_layout_and_crc);
	ADD("ab-tries", test_ab_tries);
	ADD("green-yellow", test_green_and_yellow);
	ADD("fallback-to-b", test_fallback_to_b);
	ADD("other-key-red", test_other_key_is_red);
	ADD("tries-exhausted", test_tries_exhausted);
	ADD("init-boot", test_init_boot_ramdisk);
	ADD("serialno-overrides-vendor", test_serialno_overrides_vendor);
	return g_test_run();
}
