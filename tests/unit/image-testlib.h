/* tests/unit/image-testlib.h — what the unit tests of images/ and bootloader/ share: files of the
 * source tree, one-line error checks, and the A/B slot images (v4 boot and vendor_boot, signed
 * with the test key) that the bootloader tests boot. Header-only (static inline), as each test is
 * a program of its own. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <stdbool.h>
#include <string.h>

#include "images/avb.h"
#include "images/bootimg.h"
#include "images/vendorboot.h"

/* A file of the source tree: under $top_srcdir (set by `make check`), else the current directory. */
static inline char *srcdir_file(const char *rel)
{
	const char *top = g_getenv("top_srcdir");
	return g_build_filename(top ? top : ".", rel, NULL);
}

/* A fresh directory under $TMPDIR, named prefix-XXXXXX. */
static inline char *make_tmp_dir(const char *prefix)
{
	g_autofree char *tmpl = g_strconcat(prefix, "-XXXXXX", NULL);
	char *dir = g_dir_make_tmp(tmpl, NULL);
	g_assert_nonnull(dir);
	return dir;
}

/* Removes path and, when it is a directory (not a link to one), everything inside it. */
static inline void rm_tree(const char *path)
{
	if (!g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
		g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
		for (const char *n; d && (n = g_dir_read_name(d));) {
			g_autofree char *p = g_build_filename(path, n, NULL);
			rm_tree(p);
		}
	}
	g_remove(path);
}

static inline GBytes *text_bytes(const char *s) { return g_bytes_new(s, strlen(s)); }

/* True when program is on PATH; else skips the test with the message why. */
static inline bool have_program(const char *program, const char *why)
{
	g_autofree char *p = g_find_program_in_path(program);
	if (!p)
		g_test_skip(why);
	return p != NULL;
}

/* Asserts that error is set, is one line that starts with "name: ", and holds needle (unless
 * NULL). */
static inline void assert_one_line_error(const GError *error, const char *name, const char *needle)
{
	g_assert_nonnull(error);
	g_autofree char *prefix = g_strconcat(name, ": ", NULL);
	g_assert_true(g_str_has_prefix(error->message, prefix));
	g_assert_null(strchr(error->message, '\n'));
	if (needle && !strstr(error->message, needle))
		g_error("expected \"%s\" in \"%s\"", needle, error->message);
}

/* ---- A/B slot images ---- */

#define SLOT_TEST_KEY          "tests/data/testkey_rsa2048.pem"
#define SLOT_GENERIC_RAMDISK   "generic-ramdisk-from-boot"
#define SLOT_VENDOR_FRAG0      "vendor-platform-fragment\n"
#define SLOT_VENDOR_FRAG1      "vendor-dlkm-fragment-with-modules"
#define SLOT_VENDOR_BOOTCONFIG "androidboot.hardware=sepia\nkernel.foo=1"

/* True when the test key (key, from srcdir_file(SLOT_TEST_KEY)) is there; else skips the test. */
static inline bool have_test_key(const char *key)
{
	if (g_file_test(key, G_FILE_TEST_EXISTS))
		return true;
	g_test_skip(SLOT_TEST_KEY " missing");
	return false;
}

/* A v4 boot image for a slot: kernel "KERNEL-<slot>-0123456789", ramdisk SLOT_GENERIC_RAMDISK,
 * command line "console=ttyS0 quiet". */
static inline void make_slot_boot(const char *path, char slot)
{
	g_autoptr(SepiaBootImage) b = sepia_boot_image_new();
	b->header_version = 4;
	g_autofree char *k = g_strdup_printf("KERNEL-%c-0123456789", slot);
	b->kernel = text_bytes(k);
	b->ramdisk = text_bytes(SLOT_GENERIC_RAMDISK);
	g_free(b->cmdline);
	b->cmdline = g_strdup("console=ttyS0 quiet");
	g_autoptr(GError) error = NULL;
	g_assert_true(sepia_boot_image_write(b, path, &error));
	g_assert_no_error(error);
}

/* A v4 vendor_boot image: command line "vendor.opt=1", the platform and dlkm ramdisk fragments
 * SLOT_VENDOR_FRAG0 and SLOT_VENDOR_FRAG1, and SLOT_VENDOR_BOOTCONFIG. */
static inline void make_slot_vendor_boot(const char *path)
{
	g_autoptr(SepiaVendorBootImage) v = sepia_vendor_boot_image_new();
	v->header_version = 4;
	v->page_size = 4096;
	g_free(v->cmdline);
	v->cmdline = g_strdup("vendor.opt=1");
	v->bootconfig = text_bytes(SLOT_VENDOR_BOOTCONFIG);
	g_autoptr(GBytes) f0 = text_bytes(SLOT_VENDOR_FRAG0), f1 = text_bytes(SLOT_VENDOR_FRAG1);
	sepia_vendor_boot_image_add_ramdisk(v, "platform", SEPIA_VENDOR_RAMDISK_TYPE_PLATFORM, NULL, f0);
	sepia_vendor_boot_image_add_ramdisk(v, "dlkm", SEPIA_VENDOR_RAMDISK_TYPE_DLKM, NULL, f1);
	g_autoptr(GError) error = NULL;
	g_assert_true(sepia_vendor_boot_image_write(v, path, &error));
	g_assert_no_error(error);
}

/* Writes a vbmeta image at path with hash descriptors of the n partitions (and the kernel
 * command lines, NULL-terminated, or NULL), signed SHA256_RSA2048 with key. */
static inline void sign_slot_vbmeta(const char *path, const char *key, const SepiaAvbHashPartition *parts,
				    gsize n, const char *const *cmdlines)
{
	SepiaAvbSignOptions o = {
		.algorithm = SEPIA_AVB_ALGORITHM_SHA256_RSA2048,
		.key_path = key,
		.partitions = parts,
		.n_partitions = n,
		.kernel_cmdlines = cmdlines,
	};
	g_autoptr(GError) error = NULL;
	g_assert_true(sepia_avb_write_vbmeta(path, &o, &error));
	g_assert_no_error(error);
}
