/* bootloader/bootloader.c — slot choice, AVB check and boot assembly. See bootloader.h. */
#include "bootloader/bootloader.h"

#include "images/avb.h"
#include "images/bootimg.h"
#include "images/vendorboot.h"

#include <string.h>

#define BOOTCONFIG_MAGIC     "#BOOTCONFIG\n"
#define BOOTCONFIG_MAGIC_LEN 12
/* AVB: vbmeta header flag, and kernel-cmdline descriptor flags (avb_vbmeta_image.h,
 * avb_kernel_cmdline_descriptor.h). */
#define AVB_VBMETA_FLAG_HASHTREE_DISABLED    1u
#define AVB_CMDLINE_IF_HASHTREE_NOT_DISABLED 1u
#define AVB_CMDLINE_IF_HASHTREE_DISABLED     2u

G_DEFINE_QUARK(sepia - bootloader - error - quark, sepia_bootloader_error)

const char *sepia_boot_state_name(SepiaVerifiedBootState state)
{
	switch (state) {
	case SEPIA_BOOT_STATE_GREEN:
		return "green";
	case SEPIA_BOOT_STATE_YELLOW:
		return "yellow";
	case SEPIA_BOOT_STATE_ORANGE:
		return "orange";
	case SEPIA_BOOT_STATE_RED:
		return "red";
	}
	return "red";
}

void sepia_boot_result_free(SepiaBootResult *res)
{
	if (!res)
		return;
	g_free(res->vbmeta_digest);
	g_free(res->cmdline);
	if (res->bootconfig)
		g_bytes_unref(res->bootconfig);
	g_free(res->kernel_path);
	g_free(res->ramdisk_path);
	g_free(res->verification_error);
	g_free(res);
}

void sepia_bootconfig_append(GByteArray *ramdisk, const guint8 *config, gsize len)
{
	g_byte_array_append(ramdisk, config, (guint)len);
	uint32_t sum = 0;
	for (gsize i = 0; i < len; i++)
		sum += config[i];
	/* The kernel's tools/bootconfig pads with NULs so the whole initrd stays 4-byte aligned;
     * the padding counts in the size and adds nothing to the checksum. */
	gsize pad = (4 - ramdisk->len % 4) % 4;
	static const guint8 zeros[4];
	g_byte_array_append(ramdisk, zeros, (guint)pad);
	guint8 trailer[8];
	put_le32(trailer, (uint32_t)(len + pad));
	put_le32(trailer + 4, sum);
	g_byte_array_append(ramdisk, trailer, sizeof(trailer));
	g_byte_array_append(ramdisk, (const guint8 *)BOOTCONFIG_MAGIC, BOOTCONFIG_MAGIC_LEN);
}

/* ---- verification ---- */

typedef struct {
	const char *suffix;
	const SepiaBootOptions *opts;
	SepiaVerifiedBootState state; /* green/yellow when all passed so far */
	GString *failures;            /* one "; "-separated line of what failed */
} Verifier;

static void verifier_fail(Verifier *v, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void verifier_fail(Verifier *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (v->failures->len)
		g_string_append(v->failures, "; ");
	g_string_append_vprintf(v->failures, fmt, ap);
	va_end(ap);
}

/* Checks one partition image against vbmeta's hash descriptor for it. */
static void verify_partition(Verifier *v, const SepiaVbmeta *vb, const char *partition, const char *path)
{
	const SepiaAvbDescriptor *d = sepia_vbmeta_find_hash(vb, partition);
	if (!d) {
		verifier_fail(v, "%s%s: vbmeta%s has no hash descriptor for %s", partition, v->suffix,
			      v->suffix, partition);
		return;
	}
	g_autoptr(GError) err = NULL;
	SepiaAvbResult r = sepia_avb_verify_hash_descriptor(d, path, &err);
	if (r == SEPIA_AVB_OK)
		return;
	if (r == SEPIA_AVB_HASH_MISMATCH)
		verifier_fail(v, "%s%s (%s): %s digest does not match vbmeta%s", partition, v->suffix, path,
			      d->hash_algorithm ? d->hash_algorithm : "hash", v->suffix);
	else
		verifier_fail(v, "%s%s: cannot verify: %s", partition, v->suffix,
			      err ? err->message : sepia_avb_result_name(r));
}

/* Verifies vbmeta's signature and the partitions' digests. Returns the parsed vbmeta (NULL only
 * when it cannot be read at all); v->failures says what failed. */
static SepiaVbmeta *verify_slot(Verifier *v, const SepiaSlotImages *im)
{
	if (!im->vbmeta) {
		verifier_fail(v, "vbmeta%s: no vbmeta image", v->suffix);
		return NULL;
	}
	g_autoptr(GError) err = NULL;
	SepiaVbmeta *vb = sepia_vbmeta_parse_file(im->vbmeta, &err);
	if (!vb) {
		verifier_fail(v, "vbmeta%s: %s", v->suffix, err->message);
		return NULL;
	}
	SepiaAvbResult r = sepia_avb_verify_vbmeta(vb, im->vbmeta, v->opts->trusted_key, NULL, &err);
	switch (r) {
	case SEPIA_AVB_OK:
		v->state = v->opts->trusted_key ? SEPIA_BOOT_STATE_GREEN : SEPIA_BOOT_STATE_YELLOW;
		break;
	case SEPIA_AVB_UNSIGNED:
		verifier_fail(v, "vbmeta%s (%s): not signed", v->suffix, im->vbmeta);
		break;
	default:
		verifier_fail(v, "vbmeta%s: %s: %s", v->suffix, sepia_avb_result_name(r),
			      err ? err->message : "verification failed");
		break;
	}
	verify_partition(v, vb, "boot", im->boot);
	if (im->vendor_boot)
		verify_partition(v, vb, "vendor_boot", im->vendor_boot);
	if (im->init_boot)
		verify_partition(v, vb, "init_boot", im->init_boot);
	return vb;
}

/* ---- assembly ---- */

static void cmdline_add(GString *cmd, const char *part)
{
	if (!part)
		return;
	g_autofree char *t = g_strstrip(g_strdup(part));
	if (!*t)
		return;
	if (cmd->len)
		g_string_append_c(cmd, ' ');
	g_string_append(cmd, t);
}

static bool cmdline_has_word(const char *cmd, const char *word)
{
	g_auto(GStrv) words = g_strsplit_set(cmd, " \t\n", -1);
	for (char **w = words; *w; w++)
		if (strcmp(*w, word) == 0)
			return true;
	return false;
}

/* The kernel-cmdline descriptors libavb would add, given the header's hashtree flag. Ones that
 * need substitutions ($(ANDROID_...)) are left out: sepia has no partition UUIDs to give them. */
static void add_avb_cmdlines(GString *cmd, const SepiaVbmeta *vb)
{
	bool hashtree_disabled = vb->flags & AVB_VBMETA_FLAG_HASHTREE_DISABLED;
	for (guint i = 0; i < vb->descriptors->len; i++) {
		const SepiaAvbDescriptor *d = g_ptr_array_index(vb->descriptors, i);
		if (d->tag != SEPIA_AVB_DESCRIPTOR_KERNEL_CMDLINE || !d->kernel_cmdline)
			continue;
		if ((d->flags & AVB_CMDLINE_IF_HASHTREE_NOT_DISABLED) && hashtree_disabled)
			continue;
		if ((d->flags & AVB_CMDLINE_IF_HASHTREE_DISABLED) && !hashtree_disabled)
			continue;
		if (strstr(d->kernel_cmdline, "$("))
			continue;
		cmdline_add(cmd, d->kernel_cmdline);
	}
}

/* androidboot.* parameters, "key=value" each, in the order Android's bootloaders give them. */
static GPtrArray *androidboot_params(const char *suffix, SepiaVerifiedBootState state, const SepiaVbmeta *vb,
				     const char *digest, bool unlocked, const char *serialno)
{
	GPtrArray *p = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(p, g_strdup_printf("androidboot.slot_suffix=%s", suffix));
	g_ptr_array_add(p, g_strdup_printf("androidboot.verifiedbootstate=%s", sepia_boot_state_name(state)));
	g_ptr_array_add(
		p, g_strdup_printf("androidboot.vbmeta.device_state=%s", unlocked ? "unlocked" : "locked"));
	if (vb && digest) {
		g_ptr_array_add(p, g_strdup("androidboot.vbmeta.hash_alg=sha256"));
		g_ptr_array_add(p, g_strdup_printf("androidboot.vbmeta.size=%" G_GUINT64_FORMAT, vb->size));
		g_ptr_array_add(p, g_strdup_printf("androidboot.vbmeta.digest=%s", digest));
	}
	if (serialno && *serialno)
		g_ptr_array_add(p, g_strdup_printf("androidboot.serialno=%s", serialno));
	return p;
}

/* Whether a bootconfig line ("key = value", spaces optional) sets one of the params' keys. */
static bool bootconfig_line_overridden(const char *line, gsize len, const GPtrArray *params)
{
	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	gsize key = 0;
	while (key < len && line[key] != '=' && line[key] != ' ' && line[key] != '\t')
		key++;
	if (key == 0)
		return false;
	for (guint i = 0; i < params->len; i++) {
		const char *p = g_ptr_array_index(params, i);
		if (strncmp(p, line, key) == 0 && p[key] == '=')
			return true;
	}
	return false;
}

/* Everything that depends on the slot's images: parses, builds kernel/ramdisk/cmdline. */
typedef struct {
	GBytes *kernel;
	GByteArray *ramdisk;
	GString *cmdline;
	GBytes *bootconfig;
	uint32_t header_version;
} Assembly;

static void assembly_clear(Assembly *a)
{
	if (a->kernel)
		g_bytes_unref(a->kernel);
	if (a->ramdisk)
		g_byte_array_unref(a->ramdisk);
	if (a->cmdline)
		g_string_free(a->cmdline, TRUE);
	if (a->bootconfig)
		g_bytes_unref(a->bootconfig);
	memset(a, 0, sizeof(*a));
}

static void append_bytes(GByteArray *out, GBytes *b)
{
	gsize n;
	const guint8 *p = b ? g_bytes_get_data(b, &n) : NULL;
	if (p && n)
		g_byte_array_append(out, p, (guint)n);
}

static bool assemble(Assembly *a, const SepiaSlotImages *im, const char *suffix, const GPtrArray *params,
		     const SepiaVbmeta *vb, GError **error)
{
	g_autoptr(SepiaBootImage) boot = sepia_boot_image_parse_file(im->boot, error);
	if (!boot)
		return false;
	if (g_bytes_get_size(boot->kernel) == 0)
		return img_fail(error, im->boot, "boot%s has no kernel", suffix);
	g_autoptr(SepiaVendorBootImage) vendor = NULL;
	if (boot->header_version >= 3) {
		if (!im->vendor_boot)
			return img_fail(error, im->boot, "boot image v%u needs a vendor_boot%s image",
					boot->header_version, suffix);
		vendor = sepia_vendor_boot_image_parse_file(im->vendor_boot, error);
		if (!vendor)
			return false;
	}
	g_autoptr(SepiaBootImage) init_boot = NULL;
	if (im->init_boot) {
		init_boot = sepia_init_boot_image_parse_file(im->init_boot, error);
		if (!init_boot)
			return false;
	}

	a->header_version = boot->header_version;
	a->kernel = g_bytes_ref(boot->kernel);
	a->ramdisk = g_byte_array_new();
	if (vendor) {
		if (vendor->header_version >= 4 && vendor->ramdisks->len > 0)
			for (guint i = 0; i < vendor->ramdisks->len; i++)
				append_bytes(
					a->ramdisk,
					((SepiaVendorRamdisk *)g_ptr_array_index(vendor->ramdisks, i))->data);
		else
			append_bytes(a->ramdisk, vendor->vendor_ramdisk);
	}
	append_bytes(a->ramdisk, init_boot ? init_boot->ramdisk : boot->ramdisk);

	a->cmdline = g_string_new(NULL);
	if (vendor)
		cmdline_add(a->cmdline, vendor->cmdline);
	g_autofree char *boot_cmd = sepia_boot_image_full_cmdline(boot);
	cmdline_add(a->cmdline, boot_cmd);
	if (vb)
		add_avb_cmdlines(a->cmdline, vb);

	bool use_bootconfig = vendor && vendor->header_version >= 4;
	if (use_bootconfig) {
		GString *bc = g_string_new(NULL);
		gsize n = 0;
		const char *vbc = vendor->bootconfig ? g_bytes_get_data(vendor->bootconfig, &n) : NULL;
		/* The section is text; stop at a NUL, should a writer have padded it. Its lines that
		 * set a key the bootloader sets are left out. */
		gsize vlen = vbc ? strnlen(vbc, n) : 0;
		for (gsize at = 0; at < vlen;) {
			const char *nl = memchr(vbc + at, '\n', vlen - at);
			gsize end = nl ? (gsize)(nl - vbc) : vlen;
			if (!bootconfig_line_overridden(vbc + at, end - at, params)) {
				g_string_append_len(bc, vbc + at, (gssize)(end - at));
				g_string_append_c(bc, '\n');
			}
			at = end + 1;
		}
		for (guint i = 0; i < params->len; i++)
			g_string_append_printf(bc, "%s\n", (const char *)g_ptr_array_index(params, i));
		gsize len = bc->len;
		a->bootconfig = g_bytes_new_take(g_string_free(bc, FALSE), len);
		sepia_bootconfig_append(a->ramdisk, g_bytes_get_data(a->bootconfig, NULL), len);
		if (!cmdline_has_word(a->cmdline->str, "bootconfig"))
			cmdline_add(a->cmdline, "bootconfig");
	} else {
		for (guint i = 0; i < params->len; i++)
			cmdline_add(a->cmdline, g_ptr_array_index(params, i));
	}
	return true;
}

/* Slot-specific work: everything but writing the outputs. On failure the slot is at fault. */
static SepiaBootResult *prepare_in_memory(int slot, const SepiaSlotImages *im, const SepiaBootOptions *opts,
					  Assembly *a, GError **error)
{
	const char *suffix = sepia_ab_slot_suffix(slot);
	if (!suffix || !im || !im->boot) {
		g_set_error(error, SEPIA_BOOTLOADER_ERROR, SEPIA_BOOTLOADER_ERROR_NO_SLOT,
			    "slot %d: no boot image", slot);
		return NULL;
	}
	Verifier v = {
		.suffix = suffix, .opts = opts, .state = SEPIA_BOOT_STATE_RED, .failures = g_string_new(NULL)
	};
	g_autoptr(SepiaVbmeta) vb = verify_slot(&v, im);
	g_autofree char *failures = g_string_free(v.failures, v.failures->len == 0);
	if (failures && !opts->unlocked) {
		g_set_error(error, SEPIA_BOOTLOADER_ERROR, SEPIA_BOOTLOADER_ERROR_VERIFICATION,
			    "slot %s refused (verified boot state red): %s", suffix, failures);
		return NULL;
	}
	SepiaVerifiedBootState state = opts->unlocked ? SEPIA_BOOT_STATE_ORANGE : v.state;
	g_autofree char *digest = NULL;
	if (vb) {
		const SepiaVbmeta *list[1] = { vb };
		digest = sepia_avb_vbmeta_digest_hex(list, 1);
	}
	g_autoptr(GPtrArray)
		params = androidboot_params(suffix, state, vb, digest, opts->unlocked, opts->serialno);
	if (!assemble(a, im, suffix, params, vb, error))
		return NULL;

	SepiaBootResult *res = g_new0(SepiaBootResult, 1);
	res->slot = slot;
	g_strlcpy(res->suffix, suffix, sizeof(res->suffix));
	res->state = state;
	res->vbmeta_digest = g_steal_pointer(&digest);
	res->cmdline = g_strdup(a->cmdline->str);
	res->bootconfig = a->bootconfig ? g_bytes_ref(a->bootconfig) : NULL;
	res->boot_header_version = a->header_version;
	res->verification_error = g_steal_pointer(&failures);
	return res;
}

static bool write_outputs(SepiaBootResult *res, const Assembly *a, const char *out_dir, GError **error)
{
	if (!out_dir)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, "bootloader",
				     "no output directory given");
	res->kernel_path = g_build_filename(out_dir, "kernel", NULL);
	res->ramdisk_path = g_build_filename(out_dir, "initrd", NULL);
	gsize klen;
	const guint8 *k = g_bytes_get_data(a->kernel, &klen);
	if (!img_write_atomic(res->kernel_path, k, klen, error))
		return false;
	return img_write_atomic(res->ramdisk_path, a->ramdisk->data, a->ramdisk->len, error);
}

SepiaBootResult *sepia_bootloader_prepare_slot(int slot, const SepiaSlotImages *images,
					       const SepiaBootOptions *opts, GError **error)
{
	Assembly a = { 0 };
	SepiaBootResult *res = prepare_in_memory(slot, images, opts, &a, error);
	if (res && !write_outputs(res, &a, opts->out_dir, error)) {
		sepia_boot_result_free(res);
		res = NULL;
	}
	assembly_clear(&a);
	return res;
}

SepiaBootResult *sepia_bootloader_choose_and_prepare(const char *misc_path, const SepiaSlotImages *slots,
						     gsize n_slots, const SepiaBootOptions *opts,
						     GError **error)
{
	SepiaAbControl ctl;
	bool was_reset = false;
	if (!sepia_ab_load(misc_path, &ctl, &was_reset, error))
		return NULL;
	if (was_reset) {
		g_message("%s: no valid A/B metadata; writing defaults (slot _a active)", misc_path);
		if (!sepia_ab_store(misc_path, &ctl, error))
			return NULL;
	}
	/* Slots misc lists but the caller has no images for can never boot. */
	for (int i = 0; i < ctl.nb_slot; i++)
		if ((gsize)i >= n_slots || !slots[i].boot)
			ctl.slots[i].priority = 0;

	g_autoptr(GString) refused = g_string_new(NULL);
	for (int attempt = 0; attempt < SEPIA_AB_MAX_SLOTS; attempt++) {
		int slot = sepia_ab_pick_slot(&ctl);
		if (slot < 0)
			break;
		/* Reload what is on disk, change only this slot, store: the priority-0 marks above for
         * missing images stay in memory. */
		SepiaAbControl disk;
		if (!sepia_ab_load(misc_path, &disk, NULL, error))
			return NULL;
		sepia_ab_mark_boot_attempt(&disk, slot);
		sepia_ab_mark_boot_attempt(&ctl, slot);
		if (!sepia_ab_store(misc_path, &disk, error))
			return NULL;

		Assembly a = { 0 };
		g_autoptr(GError) slot_err = NULL;
		SepiaBootResult *res = prepare_in_memory(slot, &slots[slot], opts, &a, &slot_err);
		if (res) {
			bool ok = write_outputs(res, &a, opts->out_dir, error);
			assembly_clear(&a);
			if (!ok) {
				sepia_boot_result_free(res);
				return NULL;
			}
			return res;
		}
		assembly_clear(&a);
		g_message("bootloader: %s", slot_err->message);
		g_string_append_printf(refused, "%s%s", refused->len ? "; " : "", slot_err->message);
		sepia_ab_mark_unbootable(&disk, slot);
		sepia_ab_mark_unbootable(&ctl, slot);
		if (!sepia_ab_store(misc_path, &disk, error))
			return NULL;
	}
	g_set_error(error, SEPIA_BOOTLOADER_ERROR, SEPIA_BOOTLOADER_ERROR_NO_SLOT, "%s: no bootable slot%s%s",
		    misc_path, refused->len ? ": " : "", refused->str);
	return NULL;
}
