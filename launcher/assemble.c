/* launcher/assemble.c — the assembly step (see assemble.h). Three phases, so that a bad input
 * changes nothing: (1) find and validate every input, expanding sparse ones into temporary
 * files; (2) build the per-instance data images that are missing, also under temporary names;
 * (3) rename everything into place, then write composites, overlays and the manifest (each of
 * those replaces its files atomically and only when the bytes differ). */
#include "launcher/assemble.h"

#include "images/bootimg.h"
#include "images/common.h"
#include "images/composite.h"
#include "images/manifest.h"
#include "images/overlay.h"
#include "images/sparse.h"
#include "images/vbmeta.h"
#include "images/vendorboot.h"
#include "block/block.h"
#include "launcher/data_image.h"
#include "launcher/file_modes.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MISC_SIZE     (1ull << 20)
#define METADATA_SIZE (16ull << 20)
#define MAX_EXPANDED  (1ull << 40) /* a sparse header claiming more than 1 TiB is refused */

typedef enum {
	IN_MISC,
	IN_BOOT,
	IN_INIT_BOOT,
	IN_VENDOR_BOOT,
	IN_VBMETA,
	IN_VBMETA_SYSTEM,
	IN_SUPER,
	IN_SYSTEM,
	IN_USERDATA,
	IN_COUNT
} InputId;

typedef enum { CHECK_NONE, CHECK_BOOT, CHECK_INIT_BOOT, CHECK_VENDOR_BOOT, CHECK_VBMETA } InputCheck;

static const struct {
	const char *name; /* partition base name and role in the manifest */
	const char *file;
	bool required;
	InputCheck check;
	ManifestImageKind kind;
} input_table[IN_COUNT] = {
	[IN_MISC] = { "misc", "misc.img", false, CHECK_NONE, MANIFEST_IMAGE_PLAIN },
	[IN_BOOT] = { "boot", "boot.img", true, CHECK_BOOT, MANIFEST_IMAGE_BOOT },
	[IN_INIT_BOOT] = { "init_boot", "init_boot.img", false, CHECK_INIT_BOOT, MANIFEST_IMAGE_BOOT },
	[IN_VENDOR_BOOT] = { "vendor_boot", "vendor_boot.img", true, CHECK_VENDOR_BOOT,
			     MANIFEST_IMAGE_VENDOR_BOOT },
	[IN_VBMETA] = { "vbmeta", "vbmeta.img", false, CHECK_VBMETA, MANIFEST_IMAGE_PLAIN },
	[IN_VBMETA_SYSTEM] = { "vbmeta_system", "vbmeta_system.img", false, CHECK_VBMETA,
			       MANIFEST_IMAGE_PLAIN },
	[IN_SUPER] = { "super", "super.img", false, CHECK_NONE, MANIFEST_IMAGE_PLAIN },
	[IN_SYSTEM] = { "system", "system.img", false, CHECK_NONE, MANIFEST_IMAGE_PLAIN },
	[IN_USERDATA] = { "userdata", "userdata.img", false, CHECK_NONE, MANIFEST_IMAGE_PLAIN },
};

typedef struct {
	char *src;     /* the file in the image directory, NULL when absent */
	char *use;     /* what the composite maps: src, or the expanded copy in the assembly dir */
	char *check;   /* what validation reads now: use, or the expansion's temporary file */
	bool expanded; /* use is an expansion of a sparse src */
} Input;

/* A file built under a temporary name, renamed over `final` in phase 3. */
typedef struct {
	int fd;
	char *tmp;
	char *final;
	char *stamp_path; /* optional: written (atomically) after the rename */
	char *stamp_text;
} Pending;

typedef struct {
	char *dir;
	char *userdata, *misc, *metadata; /* paths the composite maps */
	bool own_userdata, own_misc;      /* made per instance (outputs) rather than inputs */
	CompositeDisk *disk;
} Instance;

typedef struct {
	const AssembleOptions *o;
	AssembleStats *st;
	char *cf_dir, *asm_dir;
	Input in[IN_COUNT];
	GArray *pending; /* Pending */
	Instance *inst;
} Ctx;

static void progress(const Ctx *c, gint64 *t0, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void progress(const Ctx *c, gint64 *t0, const char *fmt, ...)
{
	if (!c->o->progress)
		return;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		g_autofree char *msg = g_strdup_vprintf(fmt, ap);
		va_end(ap);
		fprintf(stderr, "assemble_cvd: %s ...\n", msg);
		*t0 = g_get_monotonic_time();
	} else {
		fprintf(stderr, "assemble_cvd:   done in %.2f s\n",
			(double)(g_get_monotonic_time() - *t0) / 1e6);
	}
}

static void pending_clear(gpointer p)
{
	Pending *x = p;
	if (x->fd >= 0)
		img_tmp_abort(x->fd, x->tmp); /* never committed: remove the temporary file */
	g_free(x->tmp);
	g_free(x->final);
	g_free(x->stamp_path);
	g_free(x->stamp_text);
}

static int pending_add(Ctx *c, const char *final, GError **error)
{
	Pending p = { .fd = -1, .final = g_strdup(final) };
	p.fd = img_tmp_create(final, &p.tmp, error);
	if (p.fd < 0) {
		g_free(p.final);
		return -1;
	}
	g_array_append_val(c->pending, p);
	return (int)c->pending->len - 1;
}

static bool pending_commit_all(Ctx *c, GError **error)
{
	for (guint i = 0; i < c->pending->len; i++) {
		Pending *p = &g_array_index(c->pending, Pending, i);
		int fd = p->fd;
		p->fd = -1;
		if (!img_tmp_commit(fd, p->tmp, p->final, error))
			return false;
		if (p->stamp_path && !composite_write_if_changed(p->stamp_path, p->stamp_text,
								 strlen(p->stamp_text), NULL, error))
			return false;
	}
	return true;
}

/* The parsers name the file they were given; when that was a temporary expansion, name the
 * input instead. */
static void error_rename_file(GError *err, const char *from, const char *to)
{
	if (err && g_str_has_prefix(err->message, from)) {
		char *m = g_strconcat(to, err->message + strlen(from), NULL);
		g_free(err->message);
		err->message = m;
	}
}

static char *file_stamp(const char *path, const struct stat *st)
{
	return g_strdup_printf("%s\n%" PRIu64 "\n%" PRId64 ".%09ld\n%" PRIu64 "\n", path,
			       (uint64_t)st->st_size, (int64_t)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
			       (uint64_t)st->st_ino);
}

static bool file_equals_text(const char *path, const char *text)
{
	g_autofree char *have = NULL;
	gsize len = 0;
	return g_file_get_contents(path, &have, &len, NULL) && len == strlen(text) &&
	       !memcmp(have, text, len);
}

/* Expands a sparse input into the assembly dir, unless an expansion of this very file (same
 * path, size, mtime and inode, recorded in <name>.source) is already there. */
static bool expand_input(Ctx *c, InputId id, const struct stat *st, GError **error)
{
	Input *in = &c->in[id];
	in->use = g_build_filename(c->asm_dir, input_table[id].file, NULL);
	in->expanded = true;
	g_autofree char *stamp_path = g_strconcat(in->use, ".source", NULL);
	g_autofree char *stamp = file_stamp(in->src, st);
	if (g_file_test(in->use, G_FILE_TEST_IS_REGULAR) && file_equals_text(stamp_path, stamp)) {
		in->check = g_strdup(in->use);
		return true;
	}
	int idx = pending_add(c, in->use, error);
	if (idx < 0)
		return false;
	Pending *p = &g_array_index(c->pending, Pending, idx);
	p->stamp_path = g_steal_pointer(&stamp_path);
	p->stamp_text = g_steal_pointer(&stamp);
	in->check = g_strdup(p->tmp);
	int in_fd = open(in->src, O_RDONLY | O_CLOEXEC);
	if (in_fd < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, in->src, "cannot open: %s",
				     g_strerror(errno));
	gint64 t0 = 0;
	SepiaSparseInfo info;
	progress(c, &t0, "expanding sparse %s", input_table[id].file);
	bool ok = sepia_sparse_expand_fd(in_fd, in->src, p->fd, MAX_EXPANDED, &info, error);
	close(in_fd);
	if (!ok)
		return false;
	progress(c, &t0, NULL);
	c->st->images_expanded++;
	return true;
}

static bool validate_input(Ctx *c, InputId id, GError **error)
{
	const Input *in = &c->in[id];
	GError *err = NULL;
	void *parsed = NULL;
	switch (input_table[id].check) {
	case CHECK_NONE:
		return true;
	case CHECK_BOOT:
		parsed = sepia_boot_image_parse_file(in->check, &err);
		sepia_boot_image_free(parsed);
		break;
	case CHECK_INIT_BOOT:
		parsed = sepia_init_boot_image_parse_file(in->check, &err);
		sepia_boot_image_free(parsed);
		break;
	case CHECK_VENDOR_BOOT:
		parsed = sepia_vendor_boot_image_parse_file(in->check, &err);
		sepia_vendor_boot_image_free(parsed);
		break;
	case CHECK_VBMETA:
		parsed = sepia_vbmeta_parse_file(in->check, &err);
		sepia_vbmeta_free(parsed);
		break;
	}
	if (parsed)
		return true;
	error_rename_file(err, in->check, in->src);
	g_propagate_error(error, err);
	return false;
}

static bool find_inputs(Ctx *c, GError **error)
{
	g_autofree char *dir = g_canonicalize_filename(c->o->system_image_dir, NULL);
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, dir,
				     "not a directory (--system_image_dir)");
	for (InputId id = 0; id < IN_COUNT; id++) {
		Input *in = &c->in[id];
		g_autofree char *path = g_build_filename(dir, input_table[id].file, NULL);
		if (stat(path, &st) < 0) {
			if (errno == ENOENT && !input_table[id].required)
				continue;
			return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "%s",
					     errno == ENOENT ? "missing (required input)"
							     : g_strerror(errno));
		}
		if (!S_ISREG(st.st_mode))
			return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "not a regular file");
		in->src = g_steal_pointer(&path);
		if (sepia_sparse_is_sparse_file(in->src)) {
			if (!expand_input(c, id, &st, error))
				return false;
		} else {
			in->use = g_strdup(in->src);
			in->check = g_strdup(in->src);
		}
		if (!validate_input(c, id, error))
			return false;
	}
	if (!c->in[IN_SUPER].src && !c->in[IN_SYSTEM].src)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, dir,
				     "neither super.img nor system.img is there");
	return true;
}

/* A zero-filled image of `size` bytes (a hole), built under a temporary name. */
static bool make_zero_image(Ctx *c, const char *path, uint64_t size, GError **error)
{
	int idx = pending_add(c, path, error);
	if (idx < 0)
		return false;
	Pending *p = &g_array_index(c->pending, Pending, idx);
	if (ftruncate(p->fd, (off_t)size) < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "cannot size to %" PRIu64 ": %s",
				     size, g_strerror(errno));
	c->st->images_created++;
	return true;
}

/* A blank ext4 image (userdata, metadata): a sparse file of size bytes, formatted by mke2fs. */
static bool make_ext4_image(Ctx *c, guint n, const char *path, uint64_t size, const char *label,
			    GError **error)
{
	int idx = pending_add(c, path, error);
	if (idx < 0)
		return false;
	Pending *p = &g_array_index(c->pending, Pending, idx);
	gint64 t0 = 0;
	progress(c, &t0, "cvd-%u: making a blank %" PRIu64 " MiB ext4 %s (mke2fs)", n, size >> 20, label);
	if (ftruncate(p->fd, (off_t)size) < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "cannot size to %" PRIu64 ": %s",
				     size, g_strerror(errno));
	if (!data_image_make_ext4(p->tmp, size, label, error))
		return false;
	progress(c, &t0, NULL);
	c->st->images_created++;
	return true;
}

/* The instance's disk as the guest left it, when the next boot would keep it: with --resume and
 * an overlay on the composite that is still there. NULL otherwise. */
static char *current_overlay(Ctx *c, const Instance *ins)
{
	g_autofree char *overlay = g_build_filename(ins->dir, "overlay.qcow2", NULL);
	if (!c->o->resume || !g_file_test(overlay, G_FILE_TEST_IS_REGULAR))
		return NULL;
	return g_steal_pointer(&overlay);
}

/* A copy of userdata grown to size (resize_up_to). With a current overlay the copy is the guest's
 * own view of its userdata partition, so what the user wrote under /data survives the resize (the
 * grown composite needs a new overlay); metadata and an own misc are carried over likewise.
 * Without one (or when it cannot be read: the error goes to stderr) the copy is of from. */
static bool grow_userdata(Ctx *c, guint n, Instance *ins, const char *path, uint64_t size, const char *from,
			  GError **error)
{
	int idx = pending_add(c, path, error);
	if (idx < 0)
		return false;
	Pending *p = &g_array_index(c->pending, Pending, idx);
	gint64 t0 = 0;
	progress(c, &t0, "cvd-%u: growing userdata to %" PRIu64 " MiB (e2fsck, resize2fs)", n, size >> 20);
	g_autofree char *overlay = current_overlay(c, ins);
	bool carried = false;
	if (overlay) {
		g_autoptr(GError) e = NULL;
		uint64_t got = 0;
		const char *dirs[] = { ins->dir, c->asm_dir, c->o->system_image_dir, NULL };
		for (guint i = 0; dirs[i] && !e; i++)
			(void)block_allow_image_dir(dirs[i], &e);
		carried = !e && data_image_copy_partition(overlay, "userdata", p->fd, path, &got, &e);
		if (!carried) {
			fprintf(stderr,
				"assemble_cvd: cvd-%u: warning: cannot read /data through %s (%s); "
				"the grown userdata starts from %s\n",
				n, overlay, e->message, from);
			if (ftruncate(p->fd, 0) < 0)
				return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "cannot empty: %s",
						     g_strerror(errno));
		}
		/* metadata and misc keep their size: carried into the files the new overlay maps. */
		const struct {
			const char *part, *file;
		} keep[] = { { "metadata", ins->metadata }, { "misc", ins->own_misc ? ins->misc : NULL } };
		for (gsize i = 0; carried && i < G_N_ELEMENTS(keep); i++) {
			if (!keep[i].file)
				continue;
			int k = pending_add(c, keep[i].file, error);
			if (k < 0)
				return false;
			Pending *q = &g_array_index(c->pending, Pending, k);
			p = &g_array_index(c->pending, Pending, idx); /* the array may have moved */
			if (!data_image_copy_partition(overlay, keep[i].part, q->fd, keep[i].file, &got,
						       error))
				return false;
		}
	}
	if (!carried) {
		char *cp[] = { "cp", "--sparse=always", "--reflink=auto", (char *)from, p->tmp, NULL };
		if (!data_image_run_tool(path, cp, 0, error))
			return false;
	}
	if (!data_image_grow_ext4(p->tmp, size, path, error))
		return false;
	if (carried)
		fprintf(stderr,
			"assemble_cvd: cvd-%u: userdata grown to %" PRIu64 " MiB with the guest's data\n", n,
			size >> 20);
	progress(c, &t0, NULL);
	c->st->images_created++;
	return true;
}

static bool plan_instance_data(Ctx *c, guint n, Instance *ins, GError **error)
{
	const AssembleOptions *o = c->o;
	uint64_t want = o->blank_data_image_mb << 20;
	struct stat st;

	/* misc: the input's when given (the overlay takes the bootloader's writes), else our own. */
	if (c->in[IN_MISC].use) {
		ins->misc = g_strdup(c->in[IN_MISC].use);
	} else {
		ins->misc = g_build_filename(ins->dir, "misc.img", NULL);
		ins->own_misc = true;
		if ((stat(ins->misc, &st) < 0 || (uint64_t)st.st_size != MISC_SIZE) &&
		    !make_zero_image(c, ins->misc, MISC_SIZE, error))
			return false;
	}
	/* metadata: a blank ext4 (the guest mounts it at /metadata); an older sepia's zeroed one is
	 * replaced. */
	ins->metadata = g_build_filename(ins->dir, "metadata.img", NULL);
	if ((stat(ins->metadata, &st) < 0 || (uint64_t)st.st_size != METADATA_SIZE ||
	     !data_image_is_ext4(ins->metadata)) &&
	    !make_ext4_image(c, n, ins->metadata, METADATA_SIZE, "metadata", error))
		return false;

	g_autofree char *own = g_build_filename(ins->dir, "userdata.img", NULL);
	bool have_own = stat(own, &st) == 0 && S_ISREG(st.st_mode);
	uint64_t own_size = have_own ? (uint64_t)st.st_size : 0;
	const char *input = c->in[IN_USERDATA].use;
	switch (o->data_policy) {
	case ASSEMBLE_DATA_USE_EXISTING:
	case ASSEMBLE_DATA_CREATE_IF_MISSING:
		if (input) {
			ins->userdata = g_strdup(input);
			return true;
		}
		if (have_own && o->data_policy == ASSEMBLE_DATA_USE_EXISTING && !data_image_is_ext4(own))
			fprintf(stderr,
				"assemble_cvd: cvd-%u: warning: %s holds no ext4 file system, so the "
				"guest's /data will not mount; --data_policy=create_if_missing or "
				"always_create makes a blank one\n",
				n, own);
		/* create_if_missing also replaces an own image that holds no file system. */
		if ((!have_own ||
		     (o->data_policy == ASSEMBLE_DATA_CREATE_IF_MISSING && !data_image_is_ext4(own))) &&
		    !make_ext4_image(c, n, own, want, "userdata", error))
			return false;
		break;
	case ASSEMBLE_DATA_ALWAYS_CREATE:
		if (!make_ext4_image(c, n, own, want, "userdata", error))
			return false;
		break;
	case ASSEMBLE_DATA_RESIZE_UP_TO: {
		const char *from = have_own ? own : input;
		uint64_t from_size = have_own ? own_size : 0;
		if (!have_own && input) {
			if (stat(input, &st) < 0)
				return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, input, "cannot stat: %s",
						     g_strerror(errno));
			from_size = (uint64_t)st.st_size;
		}
		if (!from) {
			if (!make_ext4_image(c, n, own, want, "userdata", error))
				return false;
		} else if (from_size < want) {
			/* the input itself is never resized */
			if (!grow_userdata(c, n, ins, own, want, from, error))
				return false;
		} else if (!have_own) {
			ins->userdata = g_strdup(input); /* already big enough: mapped in place */
			return true;
		}
		break;
	}
	}
	ins->userdata = g_steal_pointer(&own);
	ins->own_userdata = true;
	return true;
}

/* What the overlay's contents depend on: the layout and every mapped file's identity. */
static char *overlay_stamp(const CompositeDisk *d)
{
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "disk_size %" PRIu64 "\n", d->disk_size);
	for (guint i = 0; i < d->n_parts; i++) {
		struct stat st = { 0 };
		(void)stat(d->parts[i].path, &st);
		g_autofree char *f = file_stamp(d->parts[i].path, &st);
		g_string_append_printf(s, "%s %" PRIu64 " %" PRIu64 "\n%s", d->parts[i].name,
				       d->parts[i].offset, d->parts[i].size, f);
	}
	return g_string_free(s, FALSE);
}

static bool build_instance_disk(Ctx *c, guint n, Instance *ins, GError **error)
{
	CompositePartitionSpec specs[16];
	guint k = 0;
	char names[16][32];
#define ADD(nm, p)                                                                    \
	do {                                                                          \
		g_strlcpy(names[k], (nm), sizeof names[k]);                           \
		specs[k] = (CompositePartitionSpec){ .name = names[k], .path = (p) }; \
		k++;                                                                  \
	} while (0)
#define ADD_AB(id)                                                      \
	do {                                                            \
		if (c->in[id].use) {                                    \
			ADD(input_table[id].name, c->in[id].use);       \
			g_strlcat(names[k - 1], "_a", sizeof names[0]); \
			ADD(input_table[id].name, c->in[id].use);       \
			g_strlcat(names[k - 1], "_b", sizeof names[0]); \
		}                                                       \
	} while (0)
	ADD("misc", ins->misc);
	ADD_AB(IN_BOOT);
	ADD_AB(IN_INIT_BOOT);
	ADD_AB(IN_VENDOR_BOOT);
	ADD_AB(IN_VBMETA);
	ADD_AB(IN_VBMETA_SYSTEM);
	if (c->in[IN_SUPER].use)
		ADD("super", c->in[IN_SUPER].use);
	else
		ADD("system", c->in[IN_SYSTEM].use);
	ADD("userdata", ins->userdata);
	ADD("metadata", ins->metadata);
#undef ADD_AB
#undef ADD
	g_autofree char *seed = g_strdup_printf("sepia cvd-%u", n);
	ins->disk = composite_create(ins->dir, "os_composite", specs, k, seed, error);
	if (!ins->disk)
		return false;
	c->st->composite_files += ins->disk->files_written;

	g_autofree char *overlay = g_build_filename(ins->dir, "overlay.qcow2", NULL);
	g_autofree char *stamp_path = g_build_filename(ins->dir, "overlay.stamp", NULL);
	g_autofree char *stamp = overlay_stamp(ins->disk);
	const char *why = NULL;
	if (!c->o->resume)
		why = "--resume=false (powerwash)";
	else if (!g_file_test(overlay, G_FILE_TEST_EXISTS))
		why = "no overlay yet";
	else if (ins->disk->files_written || !file_equals_text(stamp_path, stamp))
		why = "the composite disk changed";
	if (why) {
		/* Relative backing name: resolved against the overlay's directory by QEMU and sepia. */
		if (!overlay_recreate(overlay, "os_composite.vmdk", "vmdk", ins->disk->disk_size, error))
			return false;
		c->st->overlays_created++;
		fprintf(stderr, "assemble_cvd: cvd-%u: new overlay.qcow2: %s\n", n, why);
	}
	return composite_write_if_changed(stamp_path, stamp, strlen(stamp), NULL, error);
}

static bool update_link(const char *link, const char *target, GError **error)
{
	g_autofree char *have = g_file_read_link(link, NULL);
	if (have && !strcmp(have, target))
		return true;
	struct stat st;
	if (!have && lstat(link, &st) == 0) {
		fprintf(stderr, "assemble_cvd: warning: %s exists and is not a symlink; left alone\n", link);
		return true;
	}
	g_autofree char *tmp = g_strconcat(link, ".tmp-link", NULL);
	(void)g_unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, link) < 0) {
		int e = errno;
		(void)g_unlink(tmp);
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, link, "cannot link to %s: %s", target,
				     g_strerror(e));
	}
	return true;
}

static bool write_manifest(Ctx *c, GError **error)
{
	g_autofree char *path = g_build_filename(c->asm_dir, "manifest.json", NULL);
	g_autofree char *cache = g_build_filename(c->asm_dir, "manifest.cache", NULL);
	g_autoptr(Manifest) m = manifest_new(cache);
	gint64 t0 = 0;
	progress(c, &t0, "hashing images for manifest.json (cached by size and mtime)");
	for (InputId id = 0; id < IN_COUNT; id++) {
		if (c->in[id].src &&
		    !manifest_add_input(m, input_table[id].name, c->in[id].src, input_table[id].kind, error))
			return false;
	}
	for (InputId id = 0; id < IN_COUNT; id++) {
		if (!c->in[id].expanded)
			continue;
		g_autofree char *role = g_strconcat(input_table[id].name, " (expanded)", NULL);
		if (!manifest_add_output(m, role, c->in[id].use, error))
			return false;
	}
	for (guint i = 0; i < c->o->n_instances; i++) {
		const Instance *ins = &c->inst[i];
		const CompositeDisk *d = ins->disk;
		guint n = c->o->instance_nums[i];
		const struct {
			const char *what;
			const char *path;
			bool own;
		} outs[] = {
			{ "os_composite.vmdk", d->descriptor_path, true },
			{ "gpt_header", d->header_path, true },
			{ "gpt_footer", d->footer_path, true },
			{ "zero", d->zero_path, true },
			{ "overlay.qcow2", NULL, true },
			{ "misc", ins->misc, ins->own_misc },
			{ "metadata", ins->metadata, true },
			{ "userdata", ins->userdata, ins->own_userdata },
		};
		for (gsize j = 0; j < G_N_ELEMENTS(outs); j++) {
			if (!outs[j].own)
				continue;
			g_autofree char *ov = g_build_filename(ins->dir, "overlay.qcow2", NULL);
			g_autofree char *role = g_strdup_printf("cvd-%u %s", n, outs[j].what);
			if (!manifest_add_output(m, role, outs[j].path ? outs[j].path : ov, error))
				return false;
		}
	}
	manifest_set_layout(m, c->inst[0].disk);
	struct stat before = { 0 }, after = { 0 };
	(void)stat(path, &before);
	if (!manifest_write(m, path, error))
		return false;
	(void)stat(path, &after);
	progress(c, &t0, NULL);
	c->st->files_hashed = manifest_rehashed(m);
	c->st->manifest_changed = before.st_ino != after.st_ino ||
				  before.st_mtim.tv_nsec != after.st_mtim.tv_nsec ||
				  before.st_mtim.tv_sec != after.st_mtim.tv_sec;
	return true;
}

static bool assemble_run(Ctx *c, GError **error)
{
	const AssembleOptions *o = c->o;
	if (g_mkdir_with_parents(c->asm_dir, LAUNCHER_DIR_MODE) < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, c->asm_dir, "cannot create: %s",
				     g_strerror(errno));
	/* Phase 1: inputs. */
	if (!find_inputs(c, error))
		return false;
	/* Phase 2: per-instance data images. */
	for (guint i = 0; i < o->n_instances; i++) {
		guint n = o->instance_nums[i];
		Instance *ins = &c->inst[i];
		ins->dir = g_strdup_printf("%s/instances/cvd-%u", c->cf_dir, n);
		if (g_mkdir_with_parents(ins->dir, LAUNCHER_DIR_MODE) < 0)
			return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, ins->dir, "cannot create: %s",
					     g_strerror(errno));
		if (!plan_instance_data(c, n, ins, error))
			return false;
	}
	/* Phase 3: commit, then the disks and the manifest. */
	if (!pending_commit_all(c, error))
		return false;
	for (guint i = 0; i < o->n_instances; i++) {
		if (!build_instance_disk(c, o->instance_nums[i], &c->inst[i], error))
			return false;
	}
	if (!write_manifest(c, error))
		return false;
	g_autofree char *asm_link = g_build_filename(o->home, "cuttlefish_assembly", NULL);
	g_autofree char *rt_link = g_build_filename(o->home, "cuttlefish_runtime", NULL);
	/* The user's data and screens are not for other users, whatever the umask was and whatever
	 * an earlier sepia left (launcher/file_modes.h). */
	return update_link(asm_link, c->asm_dir, error) && update_link(rt_link, c->inst[0].dir, error) &&
	       launcher_restrict_tree(c->cf_dir, error);
}

bool assemble_device(const AssembleOptions *o, AssembleStats *stats, GError **error)
{
	AssembleStats dummy;
	Ctx c = { .o = o, .st = stats ? stats : &dummy };
	memset(c.st, 0, sizeof *c.st);
	if (o->n_instances == 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, "assemble_cvd", "no instances");
	if (o->blank_data_image_mb == 0 || o->blank_data_image_mb > (1ull << 24))
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, "assemble_cvd",
				     "--blank_data_image_mb must be 1..16777216");
	g_autofree char *home = g_canonicalize_filename(o->home, NULL);
	c.cf_dir = g_build_filename(home, "cuttlefish", NULL);
	c.asm_dir = g_build_filename(c.cf_dir, "assembly", NULL);
	c.pending = g_array_new(FALSE, TRUE, sizeof(Pending));
	g_array_set_clear_func(c.pending, pending_clear);
	c.inst = g_new0(Instance, o->n_instances);

	bool ok = assemble_run(&c, error);

	g_array_unref(c.pending); /* removes any temporary file not committed */
	for (guint i = 0; i < o->n_instances; i++) {
		g_free(c.inst[i].dir);
		g_free(c.inst[i].userdata);
		g_free(c.inst[i].misc);
		g_free(c.inst[i].metadata);
		composite_disk_free(c.inst[i].disk);
	}
	g_free(c.inst);
	for (InputId id = 0; id < IN_COUNT; id++) {
		g_free(c.in[id].src);
		g_free(c.in[id].use);
		g_free(c.in[id].check);
	}
	g_free(c.cf_dir);
	g_free(c.asm_dir);
	return ok;
}

bool assemble_parse_data_policy(const char *text, AssembleDataPolicy *out)
{
	/* In AssembleDataPolicy's order. */
	static const char *const names[] = { "use_existing", "always_create", "resize_up_to",
					     "create_if_missing" };
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		if (!strcmp(text, names[i])) {
			*out = (AssembleDataPolicy)i;
			return true;
		}
	}
	return false;
}

const char *assemble_data_policy_name(AssembleDataPolicy p)
{
	return p == ASSEMBLE_DATA_ALWAYS_CREATE       ? "always_create"
	       : p == ASSEMBLE_DATA_RESIZE_UP_TO      ? "resize_up_to"
	       : p == ASSEMBLE_DATA_CREATE_IF_MISSING ? "create_if_missing"
						      : "use_existing";
}

bool assemble_powerwash(const char *system_image_dir, const char *home, guint instance_num,
			guint64 blank_data_image_mb, AssembleDataPolicy data_policy, GError **error)
{
	guint nums[1] = { instance_num };
	AssembleOptions o = {
		.system_image_dir = system_image_dir,
		.home = home,
		.instance_nums = nums,
		.n_instances = 1,
		.blank_data_image_mb = blank_data_image_mb,
		.data_policy = data_policy,
		.resume = false,
	};
	AssembleStats st;
	return assemble_device(&o, &st, error);
}
