/* guest/mkimages.c — packs the reference guest as Android images with sepia's own writers
 * (Debian's mkbootimg stops at header v3 for vendor_boot). Used by guest/make-android-images.sh:
 *
 *   mkimages --kernel K --vendor-ramdisk R [--ramdisk R] [--vendor-cmdline C]
 *            [--bootconfig TEXT] --key PEM --out DIR
 *
 * writes DIR/boot.img (v4: kernel, the generic ramdisk or none), DIR/vendor_boot.img (v4: one
 * platform fragment "sepia" = R, the vendor command line, the bootconfig) and DIR/vbmeta.img
 * (SHA256_RSA2048 with PEM, hash descriptors for boot and vendor_boot). Each file is written
 * atomically; an error is one line on stderr and exit status 1 (2 for usage). */
#include "images/avb.h"
#include "images/bootimg.h"
#include "images/vendorboot.h"

#include <stdio.h>
#include <string.h>

static GBytes *load(const char *path, GError **error)
{
	char *data;
	gsize len;
	if (!g_file_get_contents(path, &data, &len, error))
		return NULL;
	return g_bytes_new_take(data, len);
}

int main(int argc, char **argv)
{
	g_autofree char *kernel = NULL, *ramdisk = NULL, *vendor_ramdisk = NULL, *vendor_cmdline = NULL,
			*bootconfig = NULL, *key = NULL, *out = NULL;
	GOptionEntry entries[] = {
		{ "kernel", 0, 0, G_OPTION_ARG_FILENAME, &kernel, "Kernel (bzImage or vmlinux)", "PATH" },
		{ "ramdisk", 0, 0, G_OPTION_ARG_FILENAME, &ramdisk, "Generic ramdisk (default none)",
		  "PATH" },
		{ "vendor-ramdisk", 0, 0, G_OPTION_ARG_FILENAME, &vendor_ramdisk, "Vendor ramdisk fragment",
		  "PATH" },
		{ "vendor-cmdline", 0, 0, G_OPTION_ARG_STRING, &vendor_cmdline, "Vendor command line",
		  "STR" },
		{ "bootconfig", 0, 0, G_OPTION_ARG_STRING, &bootconfig, "Vendor bootconfig text", "TEXT" },
		{ "key", 0, 0, G_OPTION_ARG_FILENAME, &key, "PEM RSA-2048 key signing vbmeta", "PEM" },
		{ "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Output directory", "DIR" },
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(GOptionContext) ctx = g_option_context_new("- write boot, vendor_boot and vbmeta images");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || !kernel || !vendor_ramdisk || !key ||
	    !out) {
		fprintf(stderr, "mkimages: %s\n",
			error ? error->message : "--kernel, --vendor-ramdisk, --key and --out are required");
		return 2;
	}
	g_autofree char *boot_path = g_build_filename(out, "boot.img", NULL);
	g_autofree char *vendor_path = g_build_filename(out, "vendor_boot.img", NULL);
	g_autofree char *vbmeta_path = g_build_filename(out, "vbmeta.img", NULL);
	uint32_t os_version = sepia_os_version_pack(14, 0, 0, 2026, 11);

	g_autoptr(SepiaBootImage) boot = sepia_boot_image_new();
	boot->header_version = 4;
	boot->page_size = SEPIA_BOOT_V3_PAGE_SIZE;
	boot->os_version = os_version;
	g_autoptr(SepiaVendorBootImage) vendor = sepia_vendor_boot_image_new();
	vendor->header_version = 4;
	vendor->page_size = 4096;
	g_free(vendor->name);
	vendor->name = g_strdup("sepia");
	g_free(vendor->cmdline);
	vendor->cmdline = g_strdup(vendor_cmdline ? vendor_cmdline : "");
	g_autoptr(GBytes) fragment = NULL;
	bool ok = (boot->kernel = load(kernel, &error)) &&
		  (!ramdisk || (boot->ramdisk = load(ramdisk, &error))) &&
		  (fragment = load(vendor_ramdisk, &error));
	if (ok) {
		if (bootconfig)
			vendor->bootconfig = g_bytes_new(bootconfig, strlen(bootconfig));
		sepia_vendor_boot_image_add_ramdisk(vendor, "sepia", SEPIA_VENDOR_RAMDISK_TYPE_PLATFORM, NULL,
						    fragment);
		ok = sepia_boot_image_write(boot, boot_path, &error) &&
		     sepia_vendor_boot_image_write(vendor, vendor_path, &error);
	}
	if (ok) {
		const SepiaAvbHashPartition parts[] = {
			{ "boot", boot_path, NULL },
			{ "vendor_boot", vendor_path, NULL },
		};
		const SepiaAvbSignOptions sign = {
			.algorithm = SEPIA_AVB_ALGORITHM_SHA256_RSA2048,
			.key_path = key,
			.partitions = parts,
			.n_partitions = G_N_ELEMENTS(parts),
		};
		ok = sepia_avb_write_vbmeta(vbmeta_path, &sign, &error);
	}
	if (!ok) {
		fprintf(stderr, "mkimages: %s\n", error->message);
		return 1;
	}
	return 0;
}
