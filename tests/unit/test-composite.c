/* tests/unit/test-composite.c — GPT composite disk, qcow2 overlay and manifest.json.
 *
 * The composite is read back three ways: sepia's own block backends (VMDK and qcow2), qemu-img
 * (convert to raw, check, info) with qemu-io for guest-like writes, and sfdisk --json for the
 * partition table. Parts needing a missing tool are skipped with a message. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "images/bootimg.h"
#include "images/common.h"
#include "images/composite.h"
#include "images/crc32.h"
#include "images/manifest.h"
#include "images/overlay.h"
#include "tests/unit/image-testlib.h"

#define MiB (1024u * 1024u)

typedef struct {
	char *dir;
	char *paths[4];
	GBytes *data[4];
} Fixture;

static const char *const part_names[4] = { "misc", "boot_a", "super", "metadata" };
static const gsize part_sizes[4] = { 1000, MiB, 3 * MiB + 7, 0 };

static void fixture_setup(Fixture *f, gconstpointer unused)
{
	(void)unused;
	f->dir = make_tmp_dir("sepia-composite");
	g_autoptr(GRand) r = g_rand_new_with_seed(42);
	for (int i = 0; i < 4; i++) {
		guint8 *b = g_malloc(part_sizes[i] ? part_sizes[i] : 1);
		for (gsize k = 0; k < part_sizes[i]; k++)
			b[k] = (guint8)g_rand_int(r);
		f->paths[i] = g_strdup_printf("%s/%s.img", f->dir, part_names[i]);
		g_assert_true(g_file_set_contents(f->paths[i], (char *)b, (gssize)part_sizes[i], NULL));
		f->data[i] = g_bytes_new_take(b, part_sizes[i]);
	}
}

static void fixture_teardown(Fixture *f, gconstpointer unused)
{
	(void)unused;
	rm_tree(f->dir);
	for (int i = 0; i < 4; i++) {
		g_free(f->paths[i]);
		g_bytes_unref(f->data[i]);
	}
	g_free(f->dir);
}

static CompositeDisk *make_composite(Fixture *f, const char *seed)
{
	CompositePartitionSpec specs[4];
	for (int i = 0; i < 4; i++)
		specs[i] = (CompositePartitionSpec){ .name = part_names[i], .path = f->paths[i] };
	g_autoptr(GError) err = NULL;
	CompositeDisk *d = composite_create(f->dir, "os_composite", specs, 4, seed, &err);
	g_assert_no_error(err);
	return d;
}

/* Runs argv; returns its exit status (-1 if it could not run); stdout in *out if asked. */
static int run(char **out, const char *const *argv)
{
	g_autofree char *err = NULL, *ignored = NULL;
	int status = 0;
	if (!out)
		out = &ignored; /* keep the tools' chatter off the TAP stream */
	GError *e = NULL;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out, &err, &status,
			  &e)) {
		g_test_message("%s: %s", argv[0], e->message);
		g_error_free(e);
		return -1;
	}
	if (!g_spawn_check_wait_status(status, NULL)) {
		g_test_message("%s failed: %s", argv[0], err ? err : "");
		return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	}
	return 0;
}

static bool have(const char *tool)
{
	g_autofree char *p = g_find_program_in_path(tool);
	if (!p)
		g_test_message("%s not found: skipping the checks that need it", tool);
	return p != NULL;
}

/* The whole disk through sepia's block layer. */
static GBytes *read_backend(const char *path, uint64_t expect_size)
{
	g_autoptr(GError) err = NULL;
	struct block_backend *b = block_open(path, true, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(b->size, ==, expect_size);
	guint8 *buf = g_malloc(b->size);
	struct iovec iov = { buf, b->size };
	g_assert_cmpint(b->ops->preadv(b, &iov, 1, 0), ==, 0);
	block_close(b);
	return g_bytes_new_take(buf, expect_size);
}

static GBytes *qemu_to_raw(Fixture *f, const char *image, const char *fmt)
{
	g_autofree char *raw = g_build_filename(f->dir, "out.raw", NULL);
	const char *argv[] = { "qemu-img", "convert", "-f", fmt, "-O", "raw", image, raw, NULL };
	g_assert_cmpint(run(NULL, argv), ==, 0);
	char *data;
	gsize len;
	g_assert_true(g_file_get_contents(raw, &data, &len, NULL));
	return g_bytes_new_take(data, len);
}

static bool all_zero(const guint8 *p, gsize n)
{
	for (gsize i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* GPT structure, CRCs and each partition's bytes (file then zeroes). */
static void check_disk_bytes(Fixture *f, const CompositeDisk *d, GBytes *disk)
{
	gsize len;
	const guint8 *b = g_bytes_get_data(disk, &len);
	g_assert_cmpuint(len, ==, d->disk_size);
	g_assert_cmpuint(b[510], ==, 0x55);
	g_assert_cmpuint(b[450], ==, 0xEE);
	uint64_t last = len / 512 - 1;
	for (int copy = 0; copy < 2; copy++) {
		const guint8 *h = b + (copy ? last : 1) * 512;
		g_assert_cmpmem(h, 8, "EFI PART", 8);
		guint8 hc[92];
		memcpy(hc, h, 92);
		memset(hc + 16, 0, 4);
		g_assert_cmpuint(get_le32(h + 16), ==, sepia_crc32_update(0, hc, 92));
		g_assert_cmpuint(get_le64(h + 24), ==, copy ? last : 1);
		g_assert_cmpuint(get_le64(h + 32), ==, copy ? 1 : last);
		const guint8 *e = b + get_le64(h + 72) * 512;
		g_assert_cmpuint(get_le32(h + 88), ==, sepia_crc32_update(0, e, 128 * 128));
		for (int i = 0; i < 4; i++) {
			const guint8 *ent = e + 128 * i;
			g_assert_cmpuint(get_le64(ent + 32) * 512, ==, d->parts[i].offset);
			g_assert_cmpuint((get_le64(ent + 40) + 1) * 512, ==,
					 d->parts[i].offset + d->parts[i].size);
			g_assert_cmpuint(get_le16(ent + 56), ==, (guint8)part_names[i][0]);
		}
		g_assert_true(all_zero(e + 128 * 4, 128 * 124));
	}
	for (int i = 0; i < 4; i++) {
		gsize flen;
		const guint8 *fd = g_bytes_get_data(f->data[i], &flen);
		const CompositePartition *p = &d->parts[i];
		if (flen)
			g_assert_cmpmem(b + p->offset, flen, fd, flen);
		g_assert_true(all_zero(b + p->offset + flen, p->size - flen));
	}
}

static void test_layout(Fixture *f, gconstpointer unused)
{
	(void)unused;
	g_autoptr(CompositeDisk) d = make_composite(f, "cvd-1");
	g_assert_cmpuint(d->n_parts, ==, 4);
	const uint64_t off[4] = { 1 * MiB, 2 * MiB, 3 * MiB, 7 * MiB };
	const uint64_t size[4] = { 4096, MiB, 3 * MiB + 4096, 4096 }; /* the empty file gets 4 KiB */
	for (int i = 0; i < 4; i++) {
		g_assert_cmpuint(d->parts[i].offset, ==, off[i]);
		g_assert_cmpuint(d->parts[i].size, ==, size[i]);
	}
	g_assert_cmpuint(d->disk_size, ==, 8 * MiB);
	g_assert_cmpuint(d->files_written, ==, 4);
	/* Only RW FLAT extents (QEMU drops ZERO ones); inputs by absolute path. */
	g_autofree char *desc = NULL;
	g_assert_true(g_file_get_contents(d->descriptor_path, &desc, NULL, NULL));
	g_assert_nonnull(strstr(desc, "createType=\"monolithicFlat\""));
	g_assert_null(strstr(desc, "ZERO"));
	/* 3 MiB+7 bytes: 6145 sectors, the last one partly past the end of the file. */
	g_autofree char *ext = g_strdup_printf("RW 6145 FLAT \"%s\" 0\n", f->paths[2]);
	g_assert_nonnull(strstr(desc, ext));
	g_autofree char *fdesc = g_strdup_printf("\"%s\"", f->paths[3]);
	g_assert_null(strstr(desc, fdesc)); /* an empty file has no extent, only zeroes */
	struct stat st;
	g_assert_cmpint(stat(d->zero_path, &st), ==, 0);
	g_assert_cmpuint(st.st_blocks, ==, 0);
	g_assert_cmpuint((uint64_t)st.st_size, ==, d->zero_size);

	g_autoptr(GBytes) disk = read_backend(d->descriptor_path, d->disk_size);
	check_disk_bytes(f, d, disk);

	/* Reassembly: same bytes, nothing rewritten, mtimes unchanged; a different seed changes GUIDs. */
	struct stat before;
	g_assert_cmpint(stat(d->descriptor_path, &before), ==, 0);
	g_autoptr(CompositeDisk) again = make_composite(f, "cvd-1");
	g_assert_cmpuint(again->files_written, ==, 0);
	g_assert_cmpmem(again->parts[1].part_guid, 16, d->parts[1].part_guid, 16);
	g_assert_cmpint(stat(d->descriptor_path, &st), ==, 0);
	g_assert_cmpint(st.st_mtim.tv_nsec, ==, before.st_mtim.tv_nsec);
	g_autoptr(CompositeDisk) other = composite_layout(
		&(CompositePartitionSpec){ "boot_a", f->paths[1], NULL, 0 }, 1, "cvd-2", NULL);
	g_assert_true(memcmp(other->parts[0].part_guid, d->parts[1].part_guid, 16) != 0);
}

static void expect_error(const CompositePartitionSpec *specs, guint n, const char *needle)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(CompositeDisk) d = composite_layout(specs, n, "x", &err);
	g_assert_null(d);
	g_assert_nonnull(err);
	g_test_message("error: %s", err->message);
	g_assert_null(strchr(err->message, '\n'));
	g_assert_nonnull(strstr(err->message, needle));
}

static void test_errors(Fixture *f, gconstpointer unused)
{
	(void)unused;
	g_autofree char *missing = g_build_filename(f->dir, "nope.img", NULL);
	expect_error(&(CompositePartitionSpec){ "misc", missing, NULL, 0 }, 1, missing);
	CompositePartitionSpec dup[2] = { { "misc", f->paths[0], NULL, 0 },
					  { "misc", f->paths[1], NULL, 0 } };
	expect_error(dup, 2, "misc");
	const char *longname = "a_partition_name_that_is_37_chars_xx"; /* 36: fits */
	g_autoptr(CompositeDisk) ok = composite_layout(
		&(CompositePartitionSpec){ longname, f->paths[0], NULL, 0 }, 1, "x", NULL);
	g_assert_nonnull(ok);
	expect_error(
		&(CompositePartitionSpec){ "a_partition_name_that_is_37_chars_xxx", f->paths[0], NULL, 0 }, 1,
		"a_partition_name_that_is_37_chars_xxx");
	expect_error(&(CompositePartitionSpec){ "misc", f->paths[0], "not-a-guid", 0 }, 1, "misc");
	expect_error(&(CompositePartitionSpec){ "misc", f->dir, NULL, 0 }, 1, f->dir);
	if (getuid() != 0) { /* root reads anything */
		g_assert_cmpint(chmod(f->paths[0], 0), ==, 0);
		expect_error(&(CompositePartitionSpec){ "misc", f->paths[0], NULL, 0 }, 1, f->paths[0]);
		chmod(f->paths[0], 0644);
	}
	guint8 g[16];
	g_assert_true(composite_guid_parse(COMPOSITE_TYPE_LINUX_DATA, g));
	g_assert_cmpuint(g[0], ==, 0xAF); /* first field little-endian on disk */
	g_assert_cmpuint(g[15], ==, 0xE4);
	g_autofree char *s = composite_guid_to_string(g);
	g_assert_cmpstr(s, ==, COMPOSITE_TYPE_LINUX_DATA);
}

static GChecksum *hash_inputs(Fixture *f)
{
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
	for (int i = 0; i < 4; i++) {
		g_autofree char *h = manifest_sha256_file(f->paths[i], NULL);
		g_checksum_update(ck, (const guchar *)h, -1);
	}
	return ck;
}

static void test_overlay(Fixture *f, gconstpointer unused)
{
	(void)unused;
	g_autoptr(CompositeDisk) d = make_composite(f, "cvd-1");
	g_autofree char *ov = g_build_filename(f->dir, "overlay.qcow2", NULL);
	g_autoptr(GError) err = NULL;
	g_assert_true(overlay_create(ov, d->descriptor_path, "vmdk", d->disk_size, &err));
	g_assert_no_error(err);
	g_autoptr(GChecksum) before = hash_inputs(f);
	g_autoptr(GBytes) own = read_backend(ov, d->disk_size); /* sepia's qcow2 -> vmdk chain */
	check_disk_bytes(f, d, own);

	if (!have("qemu-img"))
		return;
	const char *check[] = { "qemu-img", "check", ov, NULL };
	g_assert_cmpint(run(NULL, check), ==, 0);
	g_autofree char *info = NULL;
	const char *infov[] = { "qemu-img", "info", "--backing-chain", "--output=json", ov, NULL };
	g_assert_cmpint(run(&info, infov), ==, 0);
	g_assert_nonnull(strstr(info, "\"backing-filename-format\": \"vmdk\""));
	g_assert_nonnull(strstr(info, "\"format\": \"vmdk\""));
	g_assert_nonnull(strstr(info, "\"cluster-size\": 65536"));
	g_autoptr(GBytes) raw = qemu_to_raw(f, ov, "qcow2");
	g_assert_true(g_bytes_equal(raw, own));
	g_autoptr(GBytes) raw_vmdk = qemu_to_raw(f, d->descriptor_path, "vmdk");
	g_assert_true(g_bytes_equal(raw_vmdk, own));

	if (have("sfdisk") && have("python3")) {
		g_autofree char *rawp = g_build_filename(f->dir, "out.raw", NULL);
		g_autofree char *cmd = g_strdup_printf(
			"sfdisk --json '%s' | python3 -c 'import json,sys\n"
			"t=json.load(sys.stdin)[\"partitiontable\"]\n"
			"print(t[\"label\"], *[\"%%s:%%d:%%d\" %% (p[\"name\"], p[\"start\"], p[\"size\"]) "
			"for p in t[\"partitions\"]])'",
			rawp);
		const char *sh[] = { "sh", "-c", cmd, NULL };
		g_autofree char *out = NULL;
		g_assert_cmpint(run(&out, sh), ==, 0);
		g_assert_cmpstr(out, ==,
				"gpt misc:2048:8 boot_a:4096:2048 super:6144:6152 metadata:14336:8\n");
	}

	if (have("qemu-io")) {
		const char *io[] = { "qemu-io", "-c", "write -P 0x5a 1M 64k", ov, NULL };
		g_assert_cmpint(run(NULL, io), ==, 0);
		g_assert_cmpint(run(NULL, check), ==, 0);
		g_autoptr(GChecksum) after = hash_inputs(f);
		g_assert_cmpstr(g_checksum_get_string(before), ==, g_checksum_get_string(after));
		g_autoptr(GBytes) written = qemu_to_raw(f, ov, "qcow2");
		g_autoptr(GBytes) own2 = read_backend(ov, d->disk_size);
		g_assert_true(g_bytes_equal(written, own2));
		const guint8 *w = g_bytes_get_data(written, NULL);
		for (gsize i = MiB; i < MiB + 65536; i++)
			g_assert_cmpuint(w[i], ==, 0x5a);
		g_assert_false(g_bytes_equal(written, own));
	}

	/* Powerwash: a fresh overlay reads as the composite again. */
	g_assert_true(overlay_recreate(ov, d->descriptor_path, "vmdk", d->disk_size, &err));
	g_assert_no_error(err);
	g_assert_cmpint(run(NULL, check), ==, 0);
	g_autoptr(GBytes) fresh = qemu_to_raw(f, ov, "qcow2");
	g_assert_true(g_bytes_equal(fresh, own));
}

static void test_overlay_sizes(void)
{
	g_autofree char *dir = make_tmp_dir("sepia-overlay");
	g_autofree char *ov = g_build_filename(dir, "o.qcow2", NULL);
	const uint64_t sizes[] = { 0, 512, 512ull * MiB, 512ull * MiB + 512, 10ull * 1024 * MiB, 5ull << 40 };
	for (gsize i = 0; i < G_N_ELEMENTS(sizes); i++) {
		g_autoptr(GError) err = NULL;
		g_assert_true(overlay_create(ov, NULL, NULL, sizes[i], &err));
		g_assert_no_error(err);
		g_autoptr(GError) e2 = NULL;
		struct block_backend *b = block_open(ov, false, &e2);
		g_assert_no_error(e2);
		g_assert_cmpuint(b->size, ==, sizes[i]);
		block_close(b);
		g_autofree char *qemu_img = g_find_program_in_path("qemu-img");
		if (qemu_img) {
			const char *check[] = { "qemu-img", "check", ov, NULL };
			g_assert_cmpint(run(NULL, check), ==, 0);
		}
	}
	g_assert_false(overlay_create(ov, NULL, NULL, 1000, NULL));
	rm_tree(dir);
}

static void test_manifest(Fixture *f, gconstpointer unused)
{
	(void)unused;
	g_autoptr(CompositeDisk) d = make_composite(f, "cvd-1");
	g_autofree char *ov = g_build_filename(f->dir, "overlay.qcow2", NULL);
	g_assert_true(overlay_create(ov, d->descriptor_path, "vmdk", d->disk_size, NULL));
	g_autofree char *boot = g_build_filename(f->dir, "boot.img", NULL);
	g_autoptr(SepiaBootImage) bi = sepia_boot_image_new();
	bi->header_version = 4;
	g_bytes_unref(bi->kernel);
	bi->kernel = g_bytes_new_static("kernel", 6);
	g_assert_true(sepia_boot_image_write(bi, boot, NULL));
	g_autofree char *json_path = g_build_filename(f->dir, "assembly", "manifest.json", NULL);
	g_autofree char *cache = g_build_filename(f->dir, "assembly", "manifest.cache", NULL);

	guint expect[3] = { 0 };
	for (int round = 0; round < 3; round++) {
		if (round == 2) { /* touch one input: only it is rehashed */
			struct timespec ts[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
			g_assert_cmpint(utimensat(AT_FDCWD, f->paths[2], ts, 0), ==, 0);
		}
		g_autoptr(Manifest) m = manifest_new(cache);
		g_autoptr(GError) err = NULL;
		g_assert_true(manifest_add_input(m, "boot_a", boot, MANIFEST_IMAGE_BOOT, &err));
		g_assert_true(
			manifest_add_input(m, "misc\"\n\\", f->paths[0], MANIFEST_IMAGE_VENDOR_BOOT, &err));
		for (int i = 1; i < 4; i++)
			g_assert_true(manifest_add_input(m, part_names[i], f->paths[i], MANIFEST_IMAGE_PLAIN,
							 &err));
		g_assert_true(manifest_add_output(m, "composite", d->descriptor_path, &err));
		g_assert_true(manifest_add_output(m, "gpt_header", d->header_path, &err));
		g_assert_true(manifest_add_output(m, "gpt_footer", d->footer_path, &err));
		g_assert_true(manifest_add_output(m, "overlay", ov, &err));
		manifest_set_layout(m, d);
		g_assert_true(manifest_write(m, json_path, &err));
		g_assert_no_error(err);
		expect[round] = manifest_rehashed(m);
		if (round == 0) {
			g_autofree char *json = manifest_to_json(m);
			g_assert_nonnull(strstr(json, "\"boot_header_version\": 4"));
			g_assert_nonnull(strstr(json, "\"boot_header_version\": null"));
			g_assert_nonnull(strstr(json, "\"role\": \"misc\\\"\\n\\\\\""));
			g_assert_nonnull(strstr(json, "\"name\": \"super\""));
		}
	}
	g_assert_cmpuint(expect[0], ==, 9);
	g_assert_cmpuint(expect[1], ==, 0);
	g_assert_cmpuint(expect[2], ==, 1);
	if (have("python3")) {
		const char *argv[] = { "python3", "-m", "json.tool", json_path, NULL };
		g_assert_cmpint(run(NULL, argv), ==, 0);
	}

	/* A corrupt cache entry (size and mtime right, digest not hex; found by fuzz-manifest) is a
     * miss: the file is hashed again and the real digest recorded. */
	{
		g_autofree char *real = manifest_sha256_file(boot, NULL);
		g_autofree char *canon = g_canonicalize_filename(boot, NULL);
		g_autofree char *group = g_compute_checksum_for_string(G_CHECKSUM_SHA256, canon, -1);
		g_autoptr(GKeyFile) kf = g_key_file_new();
		g_assert_true(g_key_file_load_from_file(kf, cache, G_KEY_FILE_NONE, NULL));
		g_autofree char *cached = g_key_file_get_string(kf, group, "sha256", NULL);
		g_assert_cmpstr(cached, ==, real);
		char bad[65];
		memcpy(bad, real, sizeof(bad));
		bad[10] = ')';
		g_key_file_set_string(kf, group, "sha256", bad);
		g_assert_true(g_key_file_save_to_file(kf, cache, NULL));
		g_autoptr(Manifest) m = manifest_new(cache);
		g_assert_true(manifest_add_input(m, "boot_a", boot, MANIFEST_IMAGE_BOOT, NULL));
		g_assert_cmpuint(manifest_rehashed(m), ==, 1);
		g_autofree char *json = manifest_to_json(m);
		g_assert_null(strstr(json, bad));
		g_assert_nonnull(strstr(json, real));
	}
	GString *s = g_string_new(NULL);
	manifest_json_string(s, "a\x01\xff\xe2\x80\xa8z");
	g_assert_cmpstr(s->str, ==, "\"a\\u0001\\ufffd\\u2028z\"");
	g_string_free(s, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/composite/layout", Fixture, NULL, fixture_setup, test_layout, fixture_teardown);
	g_test_add("/composite/errors", Fixture, NULL, fixture_setup, test_errors, fixture_teardown);
	g_test_add("/composite/overlay", Fixture, NULL, fixture_setup, test_overlay, fixture_teardown);
	g_test_add_func("/composite/overlay-sizes", test_overlay_sizes);
	g_test_add("/composite/manifest", Fixture, NULL, fixture_setup, test_manifest, fixture_teardown);
	return g_test_run();
}
