/* launcher/sepia_bootloader.c — the bootloader step (bootloader/bootloader.h) as a command, for tests
 * and for running it by hand before sepia-vmm:
 *
 *   sepia-bootloader --misc PATH --slot_a boot=P,vendor_boot=P[,init_boot=P],vbmeta=P
 *                    [--slot_b ...] [--avb_key PATH] [--unlocked] --out DIR
 *   sepia-bootloader --disk OVERLAY [--avb_key PATH] [--unlocked] --out DIR
 *   sepia-bootloader --disk OVERLAY --mark_successful SLOT
 *   sepia-bootloader --disk OVERLAY --list_partitions
 *   (each --disk form also takes --allowed_image_dir DIR, repeatable: where the disk's
 *   backing files and extents may be besides its own directory, as sepia-vmm's option)
 *
 * With --disk the step runs as a real bootloader does, on the device's disk (bootloader/bootdisk.h):
 * misc is read and written through the overlay, the slots' images are read from its boot_a,
 * vendor_boot_a, init_boot_a, vbmeta_a, ... partitions (copied into DIR/bootdisk while it runs).
 * --mark_successful records a completed boot of SLOT (a, b, _a or 0, 1) in misc through the disk;
 * --list_partitions prints "partition name=N offset=BYTES size=BYTES" per GPT entry.
 *
 * Picks the slot from misc's A/B metadata, verifies it, writes DIR/kernel, DIR/initrd,
 * DIR/cmdline (and DIR/bootconfig for a v4 vendor_boot), and prints what it chose:
 *   slot=_a state=green cmdline=...
 *   vbmeta_digest=...
 *   misc slot=_a priority=15 tries=6 successful=0      (one line per slot, after the step)
 * Flags take `--flag=value` or `--flag value`. Usage errors exit 2; no bootable slot (or an I/O
 * error) exits 1 with the error on stderr. Only parsing here: the work is in the library. */
#include "images/abmisc.h"
#include "images/avb.h"
#include "bootloader/bootloader.h"
#include "bootloader/bootdisk.h"
#include "block/block.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SLOTS 2

static const char usage_text[] =
	"usage: sepia-bootloader --misc PATH --slot_a boot=P,vendor_boot=P[,init_boot=P],vbmeta=P\n"
	"                        [--slot_b ...] [--avb_key PATH] [--unlocked] --out DIR\n"
	"       sepia-bootloader --disk OVERLAY [--avb_key PATH] [--unlocked] --out DIR\n"
	"       sepia-bootloader --disk OVERLAY --mark_successful SLOT | --list_partitions\n"
	"       (with --disk: [--allowed_image_dir DIR]..., where its backing files may be)\n"
	"Chooses the A/B slot from misc, verifies it with AVB and writes DIR/kernel, DIR/initrd,\n"
	"DIR/cmdline (and DIR/bootconfig) for sepia-vmm. Prints slot=_x state=... cmdline=...\n"
	"With --disk, misc and the slot images are the disk's GPT partitions (misc written through\n"
	"the overlay).\n";

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "sepia-bootloader: %s%s%s (see --help)\n", what, arg ? " " : "", arg ? arg : "");
	return 2;
}

/* "boot=P,vendor_boot=P,..." -> images (strings owned by `keep`). */
static bool parse_slot(const char *spec, SepiaSlotImages *img, GPtrArray *keep)
{
	g_auto(GStrv) parts = g_strsplit(spec, ",", -1);
	for (char **p = parts; *p; p++) {
		char *eq = strchr(*p, '=');
		if (!eq || eq[1] == '\0')
			return false;
		*eq = '\0';
		char *path = g_strdup(eq + 1);
		g_ptr_array_add(keep, path);
		if (!strcmp(*p, "boot"))
			img->boot = path;
		else if (!strcmp(*p, "vendor_boot"))
			img->vendor_boot = path;
		else if (!strcmp(*p, "init_boot"))
			img->init_boot = path;
		else if (!strcmp(*p, "vbmeta"))
			img->vbmeta = path;
		else
			return false;
	}
	return img->boot != NULL;
}

/* "a", "_a", "0" -> 0; -1 when it names no slot. */
static int parse_slot_name(const char *s)
{
	if (s[0] == '_')
		s++;
	if (s[0] && !s[1] && s[0] >= 'a' && s[0] < 'a' + SEPIA_AB_MAX_SLOTS)
		return s[0] - 'a';
	if (s[0] && !s[1] && s[0] >= '0' && s[0] < '0' + SEPIA_AB_MAX_SLOTS)
		return s[0] - '0';
	return -1;
}

static void print_misc(const SepiaAbControl *ctl)
{
	for (int s = 0; s < ctl->nb_slot; s++)
		printf("misc slot=%s priority=%u tries=%u successful=%d bootable=%d\n",
		       sepia_ab_slot_suffix(s), ctl->slots[s].priority, ctl->slots[s].tries_remaining,
		       ctl->slots[s].successful_boot, sepia_ab_slot_is_bootable(ctl, s));
}

static int list_partitions(const char *disk_path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SepiaBootDisk) disk = sepia_bootdisk_open(disk_path, false, &error);
	if (!disk) {
		fprintf(stderr, "sepia-bootloader: %s\n", error->message);
		return 1;
	}
	for (guint i = 0; i < sepia_bootdisk_n_partitions(disk); i++) {
		const SepiaBootDiskPartition *p = sepia_bootdisk_partition(disk, i);
		printf("partition name=%s offset=%" G_GUINT64_FORMAT " size=%" G_GUINT64_FORMAT "\n", p->name,
		       (guint64)p->offset, (guint64)p->size);
	}
	return 0;
}

static int mark_successful(const char *disk_path, const char *slot_name)
{
	int slot = parse_slot_name(slot_name);
	if (slot < 0)
		return usage_error("bad slot (want a, b, _a, 0, ...):", slot_name);
	g_autoptr(GError) error = NULL;
	SepiaAbControl ctl;
	if (!sepia_bootdisk_mark_successful(disk_path, slot, &error) ||
	    !sepia_bootdisk_read_ab(disk_path, &ctl, &error)) {
		fprintf(stderr, "sepia-bootloader: %s\n", error->message);
		return 1;
	}
	print_misc(&ctl);
	return 0;
}

static bool write_text(const char *dir, const char *name, const char *data, gssize len, GError **error)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	return g_file_set_contents(path, data, len, error);
}

int main(int argc, char **argv)
{
	const char *misc = NULL, *avb_key = NULL, *out = NULL, *disk = NULL, *mark = NULL;
	bool unlocked = false, list = false;
	SepiaSlotImages slots[MAX_SLOTS] = { 0 };
	g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func(g_free);

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (!strcmp(arg, "--unlocked")) {
			unlocked = true;
			continue;
		}
		if (!strcmp(arg, "--list_partitions")) {
			list = true;
			continue;
		}
		if (strncmp(arg, "--", 2))
			return usage_error("unexpected argument", arg);
		const char *name = arg + 2, *value;
		g_autofree char *flag = NULL;
		const char *eq = strchr(name, '=');
		if (eq) {
			flag = g_strndup(name, eq - name);
			value = eq + 1;
		} else {
			flag = g_strdup(name);
			if (i + 1 >= argc)
				return usage_error("missing value for", arg);
			value = argv[++i];
		}
		if (!strcmp(flag, "misc"))
			misc = value;
		else if (!strcmp(flag, "disk"))
			disk = value;
		else if (!strcmp(flag, "mark_successful"))
			mark = value;
		else if (!strcmp(flag, "avb_key"))
			avb_key = value;
		else if (!strcmp(flag, "out"))
			out = value;
		else if (!strcmp(flag, "allowed_image_dir") || !strcmp(flag, "allowed-image-dir")) {
			g_autoptr(GError) dir_error = NULL;
			if (!block_allow_image_dir(value, &dir_error))
				return usage_error(dir_error->message, NULL);
		} else if (!strcmp(flag, "slot_a") || !strcmp(flag, "slot_b")) {
			if (!parse_slot(value, &slots[flag[5] - 'a'], keep))
				return usage_error(
					"bad slot images (want boot=P,vendor_boot=P,...,vbmeta=P):", value);
		} else
			return usage_error("unknown flag", arg);
	}
	if (disk && (misc || slots[0].boot || slots[1].boot))
		return usage_error("--disk replaces --misc and --slot_a/--slot_b", NULL);
	if (!disk && (mark || list))
		return usage_error("--mark_successful and --list_partitions need --disk", NULL);
	if (list)
		return list_partitions(disk);
	if (mark)
		return mark_successful(disk, mark);
	if (disk ? !out : (!misc || !out || !slots[0].boot))
		return usage_error("--misc, --slot_a and --out (or --disk and --out) are required", NULL);

	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) key = NULL;
	if (avb_key && !(key = sepia_avb_load_public_key(avb_key, &error))) {
		fprintf(stderr, "sepia-bootloader: %s\n", error->message);
		return 1;
	}
	if (g_mkdir_with_parents(out, 0755) < 0) {
		fprintf(stderr, "sepia-bootloader: %s: cannot create directory\n", out);
		return 1;
	}
	SepiaBootOptions opts = { .trusted_key = key, .unlocked = unlocked, .out_dir = out };
	gsize n_slots = slots[1].boot ? 2 : 1;
	g_autoptr(SepiaBootResult) res = NULL;
	if (disk) {
		g_autofree char *work = g_build_filename(out, "bootdisk", NULL);
		if (!sepia_bootdisk_run_bootloader(disk, work, &opts, &res, &error))
			res = NULL;
		(void)g_rmdir(work);
	} else {
		res = sepia_bootloader_choose_and_prepare(misc, slots, n_slots, &opts, &error);
	}
	int status = 0;
	if (!res) {
		fprintf(stderr, "sepia-bootloader: %s\n", error->message);
		status = 1;
	} else if (!write_text(out, "cmdline", res->cmdline, -1, &error) ||
		   (res->bootconfig && !write_text(out, "bootconfig", g_bytes_get_data(res->bootconfig, NULL),
						   (gssize)g_bytes_get_size(res->bootconfig), &error))) {
		fprintf(stderr, "sepia-bootloader: %s\n", error->message);
		status = 1;
	} else {
		printf("slot=%s state=%s cmdline=%s\n", res->suffix, sepia_boot_state_name(res->state),
		       res->cmdline);
		if (res->vbmeta_digest)
			printf("vbmeta_digest=%s\n", res->vbmeta_digest);
		if (res->verification_error)
			printf("verification_error=%s\n", res->verification_error);
	}

	/* The A/B metadata as the step left it. */
	SepiaAbControl ctl;
	g_autoptr(GError) misc_err = NULL;
	if (disk ? sepia_bootdisk_read_ab(disk, &ctl, &misc_err) : sepia_ab_load(misc, &ctl, NULL, &misc_err))
		print_misc(&ctl);
	return status;
}
