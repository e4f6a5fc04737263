/* Disk image backends (block/): qcow2 with backing chains, VMDK descriptors with
 * FLAT/ZERO extents, and block_open's probe. The images are made and checked by QEMU's own
 * tools: `qemu-img create` makes them, the backend writes through its interface, and then
 * `qemu-img check` must find no errors or leaks and `qemu-img convert -O raw` must give the
 * bytes a plain in-memory model of the disk holds. Tests skip when qemu-img is missing. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "block/block.h"
#include "tests/unit/imagefiles.h"

#define KiB 1024ULL
#define MiB (1024ULL * 1024)

/* ---- helpers ---- */

static char *tmpdir_new(void)
{
	GError *err = NULL;
	char *d = g_dir_make_tmp("sepia-block-XXXXXX", &err);
	g_assert_no_error(err);
	return d;
}

static void tmpdir_free(char *d)
{
	GDir *dir = g_dir_open(d, 0, NULL);
	const char *n;
	while (dir && (n = g_dir_read_name(dir))) {
		g_autofree char *p = g_build_filename(d, n, NULL);
		g_unlink(p);
	}
	if (dir)
		g_dir_close(dir);
	g_rmdir(d);
	g_free(d);
}

static bool need_qemu_img(void)
{
	g_autofree char *p = g_find_program_in_path("qemu-img");
	if (!p)
		g_test_skip("qemu-img is not installed");
	return p != NULL;
}

/* Runs a command line split on spaces ('%' in a word stands for a space inside it);
 * returns its exit code. */
static int run(const char *cmdline, char **out)
{
	g_auto(GStrv) argv = g_strsplit(cmdline, " ", -1);
	for (int i = 0; argv[i]; i++)
		g_strdelimit(argv[i], "%", ' ');
	GError *err = NULL;
	char *o = NULL, *e = NULL;
	int status = 0;
	bool ok = g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &o, &e, &status, &err);
	g_assert_no_error(err);
	g_assert_true(ok);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	if (code != 0)
		g_test_message("`%s` exited %d: %s%s", cmdline, code, o, e);
	if (out)
		*out = o;
	else
		g_free(o);
	g_free(e);
	return code;
}

static void runf_ok(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void runf_ok(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *cmd = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_assert_cmpint(run(cmd, NULL), ==, 0);
}

static void write_file(const char *path, const void *data, size_t len)
{
	GError *err = NULL;
	g_file_set_contents(path, data, (gssize)len, &err);
	g_assert_no_error(err);
}

static void patch_file(const char *path, uint64_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(pwrite(fd, data, len, (off_t)off), ==, (ssize_t)len);
	close(fd);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

/* Writes/reads through the backend, split into three iovec pieces. */
static int be_io(struct block_backend *b, uint8_t *buf, size_t len, uint64_t off, bool write)
{
	size_t a = len / 3, c = len / 4;
	struct iovec iov[3] = { { buf, a }, { buf + a, len - a - c }, { buf + len - c, c } };
	return write ? b->ops->pwritev(b, iov, 3, off) : b->ops->preadv(b, iov, 3, off);
}

static struct block_backend *open_ok(const char *path, bool readonly)
{
	GError *err = NULL;
	struct block_backend *b = block_open(path, readonly, &err);
	g_assert_no_error(err);
	g_assert_nonnull(b);
	return b;
}

static void assert_backend_equals(struct block_backend *b, const uint8_t *model, size_t len)
{
	g_assert_cmpuint(b->size, ==, len);
	g_autofree uint8_t *got = g_malloc(len);
	g_assert_cmpint(be_io(b, got, len, 0, false), ==, 0);
	for (size_t i = 0; i < len; i++)
		if (got[i] != model[i])
			g_error("byte 0x%zx: got %02x, expected %02x", i, got[i], model[i]);
}

/* qemu-img check is clean and qemu-img convert gives exactly the model. */
static void assert_qemu_agrees(const char *dir, const char *img, const char *fmt, const uint8_t *model,
			       size_t len)
{
	if (!strcmp(fmt, "qcow2"))
		runf_ok("qemu-img check -f qcow2 %s", img);
	g_autofree char *raw = g_build_filename(dir, "converted.raw", NULL);
	runf_ok("qemu-img convert -f %s -O raw %s %s", fmt, img, raw);
	size_t n;
	g_autofree uint8_t *got = imagefiles_read(raw, &n);
	g_assert_cmpuint(n, ==, len);
	for (size_t i = 0; i < len; i++)
		if (got[i] != model[i])
			g_error("qemu-img convert: byte 0x%zx is %02x, expected %02x", i, got[i], model[i]);
	g_unlink(raw);
}

/* Random writes through the backend and into the model. */
static void random_writes(struct block_backend *b, uint8_t *model, size_t size, unsigned int count,
			  size_t max_len, uint32_t seed)
{
	GRand *r = g_rand_new_with_seed(seed);
	g_autofree uint8_t *buf = g_malloc(max_len);
	for (unsigned int i = 0; i < count; i++) {
		size_t len = (size_t)g_rand_int_range(r, 1, (gint32)max_len + 1);
		uint64_t off = (uint64_t)g_rand_int_range(r, 0, (gint32)(size - len + 1));
		imagefiles_fill(buf, len, seed * 1000 + i);
		g_assert_cmpint(be_io(b, buf, len, off, true), ==, 0);
		memcpy(model + off, buf, len);
	}
	g_rand_free(r);
}

/* ---- probe ---- */

static void test_probe(void)
{
	char *dir = tmpdir_new();
	g_autofree char *raw = g_build_filename(dir, "disk.raw", NULL);
	g_autofree char *vmdk = g_build_filename(dir, "disk.vmdk", NULL);
	g_autofree char *qcow = g_build_filename(dir, "disk.qcow2", NULL);
	g_autofree char *sparse = g_build_filename(dir, "sparse.vmdk", NULL);
	g_autofree uint8_t *data = g_malloc(64 * KiB);
	imagefiles_fill(data, 64 * KiB, 1);
	write_file(raw, data, 64 * KiB);
	g_autofree char *desc = g_strdup_printf("# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
						"parentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
						"RW 128 FLAT \"disk.raw\" 0\n");
	write_file(vmdk, desc, strlen(desc));

	struct block_backend *b = open_ok(raw, true);
	g_assert_cmpstr(b->format, ==, "raw");
	block_close(b);
	b = open_ok(vmdk, true);
	g_assert_cmpstr(b->format, ==, "vmdk");
	g_assert_cmpuint(b->size, ==, 64 * KiB);
	assert_backend_equals(b, data, 64 * KiB);
	block_close(b);

	GError *err = NULL;
	g_autofree char *missing = g_build_filename(dir, "missing", NULL);
	g_assert_null(block_open(missing, true, &err));
	g_assert_nonnull(strstr(err->message, missing));
	g_clear_error(&err);

	if (need_qemu_img()) {
		runf_ok("qemu-img create -q -f qcow2 %s 1M", qcow);
		b = open_ok(qcow, false);
		g_assert_cmpstr(b->format, ==, "qcow2");
		g_assert_cmpuint(b->size, ==, 1 * MiB);
		block_close(b);
		runf_ok("qemu-img create -q -f vmdk %s 1M", sparse);
		g_assert_null(block_open(sparse, true, &err));
		g_test_message("sparse VMDK: %s", err->message);
		g_assert_nonnull(strstr(err->message, "sparse VMDK"));
		g_clear_error(&err);
	}
	tmpdir_free(dir);
}

/* ---- qcow2 without backing ---- */

struct rw_case {
	const char *opts; /* qemu-img create -o */
	uint64_t size;
	unsigned int writes;
	size_t max_len;
	bool fill; /* also write the whole disk: the refcount table must grow */
};

static void test_qcow2_rw(gconstpointer data)
{
	const struct rw_case *c = data;
	if (!need_qemu_img())
		return;
	char *dir = tmpdir_new();
	g_autofree char *img = g_build_filename(dir, "disk.qcow2", NULL);
	runf_ok("qemu-img create -q -f qcow2 -o %s %s %" G_GUINT64_FORMAT, c->opts, img, c->size);
	g_autofree uint8_t *model = g_malloc0(c->size);
	struct block_backend *b = open_ok(img, false);
	g_assert_cmpstr(b->format, ==, "qcow2");
	g_assert_cmpuint(b->size, ==, c->size);
	assert_backend_equals(b, model, c->size);

	/* Fixed cases: unaligned, across cluster and L2 boundaries, the last byte. */
	uint8_t buf[3000];
	imagefiles_fill(buf, sizeof(buf), 7);
	uint64_t offs[] = { 0, 1, 511, 4095, 65535, 65536 - 1000, c->size / 2 + 3, c->size - sizeof(buf) };
	for (size_t i = 0; i < G_N_ELEMENTS(offs); i++) {
		g_assert_cmpint(be_io(b, buf, sizeof(buf), offs[i], true), ==, 0);
		memcpy(model + offs[i], buf, sizeof(buf));
	}
	random_writes(b, model, c->size, c->writes, c->max_len, 42);
	assert_backend_equals(b, model, c->size);
	if (c->fill) {
		g_autofree uint8_t *chunk = g_malloc(64 * KiB);
		for (uint64_t off = 0; off < c->size; off += 64 * KiB) {
			imagefiles_fill(chunk, 64 * KiB, off);
			g_assert_cmpint(be_io(b, chunk, 64 * KiB, off, true), ==, 0);
			memcpy(model + off, chunk, 64 * KiB);
		}
	}
	g_assert_cmpint(b->ops->flush(b), ==, 0);
	/* Reads past the end give zeroes; writes past it fail. */
	uint8_t tail[16];
	memset(tail, 0xaa, sizeof(tail));
	g_assert_cmpint(be_io(b, tail, sizeof(tail), c->size, false), ==, 0);
	for (size_t i = 0; i < sizeof(tail); i++)
		g_assert_cmpint(tail[i], ==, 0);
	g_assert_cmpint(be_io(b, tail, sizeof(tail), c->size - 8, true), <, 0);
	block_close(b);

	size_t hlen;
	g_autofree uint8_t *hdr = imagefiles_read(img, &hlen);
	g_test_message("refcount table at 0x%02x%02x%02x%02x, %u clusters; file %zu bytes", hdr[52], hdr[53],
		       hdr[54], hdr[55], hdr[59], hlen);
	assert_qemu_agrees(dir, img, "qcow2", model, c->size);
	b = open_ok(img, true);
	assert_backend_equals(b, model, c->size);
	g_assert_cmpint(be_io(b, buf, 512, 0, true), ==, -EROFS);
	block_close(b);
	/* Writing again after reopening continues cleanly on the same metadata. */
	b = open_ok(img, false);
	random_writes(b, model, c->size, c->writes / 4 + 1, c->max_len, 43);
	block_close(b);
	assert_qemu_agrees(dir, img, "qcow2", model, c->size);
	tmpdir_free(dir);
}

/* ---- backing chains ---- */

static void test_qcow2_backing_raw(void)
{
	if (!need_qemu_img())
		return;
	char *dir = tmpdir_new();
	g_autofree char *base = g_build_filename(dir, "base.raw", NULL);
	g_autofree char *img = g_build_filename(dir, "overlay.qcow2", NULL);
	const size_t base_size = 3 * MiB + 4096, size = 4 * MiB;
	g_autofree uint8_t *model = g_malloc0(size);
	imagefiles_fill(model, base_size, 3);
	write_file(base, model, base_size);
	g_autofree uint8_t *base_copy = g_memdup2(model, base_size);
	/* A relative backing name: resolved against the overlay's directory. */
	runf_ok("qemu-img create -q -f qcow2 -o cluster_size=4096 -b base.raw -F raw %s %zu", img, size);
	struct block_backend *b = open_ok(img, false);
	assert_backend_equals(b, model, size); /* past the backing file's end: zeroes */
	random_writes(b, model, size, 300, 20000, 5);
	/* A write straddling the end of the backing file. */
	uint8_t buf[10000];
	imagefiles_fill(buf, sizeof(buf), 9);
	g_assert_cmpint(be_io(b, buf, sizeof(buf), base_size - 5000, true), ==, 0);
	memcpy(model + base_size - 5000, buf, sizeof(buf));
	assert_backend_equals(b, model, size);
	block_close(b);
	assert_qemu_agrees(dir, img, "qcow2", model, size);
	size_t n;
	g_autofree uint8_t *after = imagefiles_read(base, &n);
	g_assert_cmpuint(n, ==, base_size);
	g_assert_true(memcmp(after, base_copy, base_size) == 0);

	/* qcow2 <- qcow2 <- raw */
	g_autofree char *top = g_build_filename(dir, "top.qcow2", NULL);
	runf_ok("qemu-img create -q -f qcow2 -b overlay.qcow2 -F qcow2 %s %zu", top, size);
	b = open_ok(top, false);
	assert_backend_equals(b, model, size);
	random_writes(b, model, size, 50, 100000, 6);
	block_close(b);
	assert_qemu_agrees(dir, top, "qcow2", model, size);
	tmpdir_free(dir);
}

static char *write_descriptor(const char *dir, const char *name, const char *extents)
{
	char *path = g_build_filename(dir, name, NULL);
	g_autofree char *text = g_strdup_printf("# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
						"parentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\n"
						"# Extent description\n%s\n# The Disk Data Base\n"
						"ddb.adapterType = \"ide\"\n",
						extents);
	write_file(path, text, strlen(text));
	return path;
}

/* The composite disk: a VMDK over partition files, a qcow2 overlay on top. */
static void test_qcow2_backing_vmdk(void)
{
	if (!need_qemu_img())
		return;
	char *dir = tmpdir_new();
	g_autofree char *p1 = g_build_filename(dir, "part1.img", NULL);
	g_autofree char *p2 = g_build_filename(dir, "part2.img", NULL);
	const size_t s1 = 1 * MiB, s2 = 2 * MiB + 512, off2 = 8; /* part2 used from sector 8 */
	g_autofree uint8_t *d1 = g_malloc(s1), *d2 = g_malloc(s2);
	imagefiles_fill(d1, s1, 11);
	imagefiles_fill(d2, s2, 12);
	write_file(p1, d1, s1);
	write_file(p2, d2, s2);
	g_autofree char *extents = g_strdup_printf("RW %zu FLAT \"part1.img\" 0\nRW %zu FLAT \"%s\" %zu",
						   s1 / 512, s2 / 512 - off2, p2, off2);
	g_autofree char *vmdk = write_descriptor(dir, "composite.vmdk", extents);
	const size_t size = s1 + s2 - off2 * 512;
	g_autofree uint8_t *model = g_malloc(size);
	memcpy(model, d1, s1);
	memcpy(model + s1, d2 + off2 * 512, s2 - off2 * 512);

	g_autofree char *img = g_build_filename(dir, "overlay.qcow2", NULL);
	runf_ok("qemu-img create -q -f qcow2 -b composite.vmdk -F vmdk %s", img);
	struct block_backend *b = open_ok(img, false);
	g_assert_cmpuint(b->size, ==, size);
	assert_backend_equals(b, model, size);
	random_writes(b, model, size, 200, 70000, 13);
	/* Across the boundary between the two partition files. */
	uint8_t buf[5000];
	imagefiles_fill(buf, sizeof(buf), 14);
	g_assert_cmpint(be_io(b, buf, sizeof(buf), s1 - 2500, true), ==, 0);
	memcpy(model + s1 - 2500, buf, sizeof(buf));
	g_assert_cmpint(b->ops->flush(b), ==, 0);
	assert_backend_equals(b, model, size);
	block_close(b);
	assert_qemu_agrees(dir, img, "qcow2", model, size);

	size_t n;
	g_autofree uint8_t *a1 = imagefiles_read(p1, &n);
	g_assert_true(n == s1 && memcmp(a1, d1, s1) == 0);
	g_autofree uint8_t *a2 = imagefiles_read(p2, &n);
	g_assert_true(n == s2 && memcmp(a2, d2, s2) == 0);
	tmpdir_free(dir);
}

/* ---- zero clusters, write_zeroes, discard ---- */

static void test_qcow2_zero(gconstpointer data)
{
	const char *compat = data;
	if (!need_qemu_img())
		return;
	char *dir = tmpdir_new();
	g_autofree char *base = g_build_filename(dir, "base.raw", NULL);
	g_autofree char *img = g_build_filename(dir, "disk.qcow2", NULL);
	const size_t size = 2 * MiB, cs = 4096;
	g_autofree uint8_t *model = g_malloc(size);
	imagefiles_fill(model, size, 21);
	write_file(base, model, size);
	runf_ok("qemu-img create -q -f qcow2 -o compat=%s,cluster_size=4096 -b base.raw -F raw %s", compat,
		img);
	struct block_backend *b = open_ok(img, false);
	random_writes(b, model, size, 100, 3 * cs, 22);
	struct {
		uint64_t off, len;
		bool unmap;
	} z[] = {
		{ 0, 8 * cs, true },         { 16 * cs, 4 * cs, false },      { 30 * cs + 100, 3 * cs, true },
		{ 100 * cs + 7, 10, false }, { size - 5 * cs, 5 * cs, true },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(z); i++) {
		g_assert_cmpint(b->ops->write_zeroes(b, z[i].off, z[i].len, z[i].unmap), ==, 0);
		memset(model + z[i].off, 0, z[i].len);
	}
	assert_backend_equals(b, model, size);
	/* Writes into zeroed clusters, partly. */
	random_writes(b, model, size, 60, 2 * cs, 23);
	/* Discard: contents unspecified, so the model takes what the backend reads. */
	g_assert_cmpint(b->ops->discard(b, 200 * cs, 20 * cs + 5), ==, 0);
	g_assert_cmpint(be_io(b, model + 200 * cs, 20 * cs + 5, 200 * cs, false), ==, 0);
	assert_backend_equals(b, model, size);
	block_close(b);
	assert_qemu_agrees(dir, img, "qcow2", model, size);

	/* Without a backing file; discard then reuse of freed clusters. */
	g_autofree char *plain = g_build_filename(dir, "plain.qcow2", NULL);
	runf_ok("qemu-img create -q -f qcow2 -o compat=%s,cluster_size=4096 %s %zu", compat, plain, size);
	memset(model, 0, size);
	b = open_ok(plain, false);
	random_writes(b, model, size, 200, 3 * cs, 24);
	g_assert_cmpint(b->ops->discard(b, 0, size / 2), ==, 0);
	g_assert_cmpint(be_io(b, model, size / 2, 0, false), ==, 0);
	g_assert_cmpint(b->ops->write_zeroes(b, size / 2, size / 4, true), ==, 0);
	memset(model + size / 2, 0, size / 4);
	random_writes(b, model, size, 200, 3 * cs, 25);
	block_close(b);
	assert_qemu_agrees(dir, plain, "qcow2", model, size);
	tmpdir_free(dir);
}

/* Zero and compressed clusters written by QEMU itself. */
static void test_qcow2_qemu_written(void)
{
	g_autofree char *qemu_io = g_find_program_in_path("qemu-io");
	if (!need_qemu_img())
		return;
	if (!qemu_io) {
		g_test_skip("qemu-io is not installed");
		return;
	}
	char *dir = tmpdir_new();
	g_autofree char *img = g_build_filename(dir, "disk.qcow2", NULL);
	runf_ok("qemu-img create -q -f qcow2 %s 1M", img);
	runf_ok("qemu-io -f qcow2 -c write%%-P%%0x5a%%0%%256k -c write%%-z%%64k%%64k %s", img);
	struct block_backend *b = open_ok(img, false);
	uint8_t buf[256 * 1024];
	g_assert_cmpint(be_io(b, buf, sizeof(buf), 0, false), ==, 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		g_assert_cmpint(buf[i], ==, (i >= 65536 && i < 131072) ? 0 : 0x5a);
	block_close(b);

	g_autofree char *comp = g_build_filename(dir, "comp.qcow2", NULL);
	runf_ok("qemu-img create -q -f qcow2 %s 1M", comp);
	runf_ok("qemu-io -f qcow2 -c write%%-c%%-P%%0x33%%0%%64k %s", comp);
	b = open_ok(comp, false);
	g_assert_cmpint(be_io(b, buf, 4096, 65536, false), ==, 0); /* not compressed */
	g_assert_cmpint(be_io(b, buf, 4096, 0, false), ==, -EIO);
	g_assert_cmpint(be_io(b, buf, 4096, 0, true), ==, -EIO);
	block_close(b);
	runf_ok("qemu-img check -q %s", comp);
	tmpdir_free(dir);
}

/* ---- corrupt and unsupported images ---- */

static void expect_open_error_with(struct block_backend *(*opener)(const char *, bool, GError **),
				   const char *img, bool readonly, const char *what)
{
	GError *err = NULL;
	struct block_backend *b = opener(img, readonly, &err);
	if (b)
		g_error("%s: opened although %s", img, what);
	g_assert_nonnull(err);
	g_test_message("%s -> %s", what, err->message);
	g_assert_nonnull(strstr(err->message, img));
	g_assert_null(strchr(err->message, '\n'));
	g_clear_error(&err);
}

static void expect_open_error(const char *img, bool readonly, const char *what)
{
	expect_open_error_with(block_open, img, readonly, what);
}

static void test_qcow2_corrupt(void)
{
	if (!need_qemu_img())
		return;
	char *dir = tmpdir_new();
	g_autofree char *good = g_build_filename(dir, "good.qcow2", NULL);
	g_autofree char *img = g_build_filename(dir, "bad.qcow2", NULL);
	runf_ok("qemu-img create -q -f qcow2 -o cluster_size=65536 %s 64M", good);
	struct block_backend *b = open_ok(good, false);
	uint8_t buf[4096];
	imagefiles_fill(buf, sizeof(buf), 1);
	g_assert_cmpint(be_io(b, buf, sizeof(buf), 0, true), ==, 0);
	block_close(b);
	size_t len;
	g_autofree uint8_t *orig = imagefiles_read(good, &len);
	uint8_t v8[8], v4[4];
	const struct {
		uint64_t off;
		int width;
		uint64_t val;
		bool ro;
		const char *what;
	} cases[] = {
		{ 0, 4, 0x514649fa, false, "bad magic" },
		{ 4, 4, 4, false, "version 4" },
		{ 20, 4, 40, false, "cluster_bits 40" },
		{ 20, 4, 8, false, "cluster_bits 8" },
		{ 24, 8, 1ULL << 62, false, "virtual size 2^62" },
		{ 36, 4, 0, false, "L1 smaller than the virtual size" },
		{ 40, 8, 1ULL << 40, false, "L1 offset past EOF" },
		{ 40, 8, 0x30001, false, "L1 offset misaligned" },
		{ 48, 8, 1ULL << 40, false, "refcount table past EOF" },
		{ 56, 4, 0, false, "refcount table of 0 clusters" },
		{ 32, 4, 1, true, "encryption" },
		{ 96, 4, 5, true, "refcount_order 5" },
		{ 72, 8, 1ULL << 5, true, "unknown incompatible bit" },
		{ 72, 8, 1ULL << 4, true, "extended L2" },
		{ 72, 8, 1ULL << 1, true, "corrupt bit" },
		{ 100, 4, 1 << 20, true, "header length past the cluster" },
		{ 16, 4, 5000, true, "backing name too long" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		write_file(img, orig, len);
		if (cases[i].width == 4) {
			put_be32(v4, (uint32_t)cases[i].val);
			patch_file(img, cases[i].off, v4, 4);
		} else {
			put_be64(v8, cases[i].val);
			patch_file(img, cases[i].off, v8, 8);
		}
		expect_open_error_with(block_qcow2_open, img, false, cases[i].what);
		if (cases[i].ro)
			expect_open_error_with(block_qcow2_open, img, true, cases[i].what);
		if (i == 0) { /* the probe sees no qcow2 and treats the file as raw */
			b = open_ok(img, true);
			g_assert_cmpstr(b->format, ==, "raw");
			block_close(b);
		} else {
			expect_open_error(img, false, cases[i].what);
		}
	}
	/* Dirty images open read-only (the refcounts are not used), and writable after their
	 * refcounts are rebuilt (test-qcow2-repair has the leaks). */
	write_file(img, orig, len);
	put_be64(v8, 1);
	patch_file(img, 72, v8, 8);
	b = open_ok(img, true);
	block_close(b);
	b = open_ok(img, false);
	block_close(b);
	runf_ok("qemu-img check -q %s", img);

	/* An L2 table or a data cluster pointing past EOF: an I/O error, no crash. */
	write_file(img, orig, len);
	uint64_t l1 = ((uint64_t)orig[40] << 56) | ((uint64_t)orig[41] << 48) | ((uint64_t)orig[42] << 40) |
		      ((uint64_t)orig[43] << 32) | ((uint64_t)orig[44] << 24) | ((uint64_t)orig[45] << 16) |
		      ((uint64_t)orig[46] << 8) | orig[47];
	put_be64(v8, (1ULL << 63) | (1ULL << 40));
	patch_file(img, l1, v8, 8);
	b = open_ok(img, false);
	g_assert_cmpint(be_io(b, buf, sizeof(buf), 0, false), ==, -EIO);
	g_assert_cmpint(be_io(b, buf, sizeof(buf), 0, true), ==, -EIO);
	block_close(b);
	write_file(img, orig, len);
	uint64_t l2 = 0;
	for (int i = 0; i < 8; i++)
		l2 = l2 << 8 | orig[l1 + (uint64_t)i];
	l2 &= 0x00fffffffffffe00ULL;
	put_be64(v8, (1ULL << 63) | (1ULL << 45));
	patch_file(img, l2, v8, 8);
	b = open_ok(img, false);
	g_assert_cmpint(be_io(b, buf, sizeof(buf), 0, false), ==, -EIO);
	g_assert_cmpint(be_io(b, buf, sizeof(buf), 65536, false), ==, 0);
	block_close(b);

	/* A refcount block or an L2 table whose own refcount is 0 (found by fuzz-qcow2): the
	 * allocator must not hand it out for guest data, which the next refcount or L2 update
	 * would then overwrite. The write fails instead. */
	uint64_t rt = 0, rb = 0;
	for (int i = 0; i < 8; i++)
		rt = rt << 8 | orig[48 + i];
	for (int i = 0; i < 8; i++)
		rb = rb << 8 | orig[rt + (uint64_t)i];
	const uint64_t meta[] = { rb, l2 };
	for (size_t i = 0; i < G_N_ELEMENTS(meta); i++) {
		write_file(img, orig, len);
		uint8_t zero16[2] = { 0, 0 };
		patch_file(img, rb + (meta[i] / 65536) * 2, zero16, 2);
		size_t blen, alen;
		g_autofree uint8_t *before = imagefiles_read(img, &blen);
		b = open_ok(img, false);
		g_assert_cmpint(be_io(b, buf, sizeof(buf), 1 << 20, true), ==, -EIO);
		block_close(b);
		g_autofree uint8_t *after = imagefiles_read(img, &alen);
		g_assert_cmpmem(after + rb, 65536, before + rb, 65536);
		g_assert_cmpmem(after + meta[i], 65536, before + meta[i], 65536);
	}

	/* Garbage after the header: random bytes never crash the opener. */
	GRand *r = g_rand_new_with_seed(77);
	for (int round = 0; round < 200; round++) {
		g_autofree uint8_t *copy = g_memdup2(orig, len);
		int flips = g_rand_int_range(r, 1, 8);
		for (int f = 0; f < flips; f++)
			copy[g_rand_int_range(r, 4, 512)] = (uint8_t)g_rand_int(r);
		write_file(img, copy, len);
		GError *err = NULL;
		b = block_open(img, round % 2, &err);
		if (b) {
			uint8_t rb[8192];
			be_io(b, rb, sizeof(rb), 0, false);
			if (!b->readonly && b->size >= sizeof(rb))
				be_io(b, rb, sizeof(rb), b->size / 2 / 512 * 512, true);
			block_close(b);
		}
		g_clear_error(&err);
	}
	g_rand_free(r);
	tmpdir_free(dir);
}

/* ---- VMDK ---- */

static void test_vmdk_matches_qemu(void)
{
	if (!need_qemu_img())
		return;
	char *dir = tmpdir_new();
	g_autofree char *a = g_build_filename(dir, "a.img", NULL);
	g_autofree char *bb = g_build_filename(dir, "b.img", NULL);
	g_autofree char *z = g_build_filename(dir, "zero.img", NULL);
	const size_t sa = 300 * KiB, sb = 200 * KiB, sz = 64 * KiB;
	g_autofree uint8_t *da = g_malloc(sa), *db = g_malloc(sb);
	imagefiles_fill(da, sa, 31);
	imagefiles_fill(db, sb, 32);
	write_file(a, da, sa);
	write_file(bb, db, sb);
	/* a (from sector 2), b (whole), a again (first 16 sectors). */
	g_autofree char *flat = write_descriptor(
		dir, "flat.vmdk", "RW 598 FLAT \"a.img\" 2\nRW 400 FLAT \"b.img\" 0\nRW 16 FLAT \"a.img\" 0");
	const size_t size = 598 * 512 + sb + 16 * 512;
	g_autofree uint8_t *model = g_malloc(size);
	memcpy(model, da + 1024, 598 * 512);
	memcpy(model + 598 * 512, db, sb);
	memcpy(model + 598 * 512 + sb, da, 16 * 512);
	struct block_backend *b = open_ok(flat, true);
	g_assert_cmpstr(b->format, ==, "vmdk");
	assert_backend_equals(b, model, size);
	block_close(b);
	assert_qemu_agrees(dir, flat, "vmdk", model, size);

	/* Two raw files and a zero extent between them. QEMU 7.2 drops ZERO lines, so the
	 * comparison is against the same layout with the gap as a FLAT extent over a sparse
	 * file of zeroes. */
	g_autofree char *zdesc = write_descriptor(
		dir, "zero.vmdk", "RW 600 FLAT \"a.img\" 0\nRW 128 ZERO\nRW 400 FLAT \"b.img\" 0");
	int fd = open(z, O_CREAT | O_WRONLY, 0644);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, (off_t)sz), ==, 0);
	close(fd);
	g_autofree char *zflat = write_descriptor(
		dir, "zflat.vmdk",
		"RW 600 FLAT \"a.img\" 0\nRW 128 FLAT \"zero.img\" 0\nRW 400 FLAT \"b.img\" 0");
	const size_t zsize = sa + sz + sb;
	g_autofree uint8_t *zmodel = g_malloc0(zsize);
	memcpy(zmodel, da, sa);
	memcpy(zmodel + sa + sz, db, sb);
	b = open_ok(zdesc, true);
	assert_backend_equals(b, zmodel, zsize);
	block_close(b);
	assert_qemu_agrees(dir, zflat, "vmdk", zmodel, zsize);
	g_autofree char *info = NULL;
	g_autofree char *cmd = g_strdup_printf("qemu-img info --output=json %s", zdesc);
	if (run(cmd, &info) == 0 && !strstr(info, "\"virtual-size\": 1114112"))
		g_test_message("note: qemu-img does not count ZERO extents in %s", zdesc);
	tmpdir_free(dir);
}

static void test_vmdk_write(void)
{
	char *dir = tmpdir_new();
	g_autofree char *a = g_build_filename(dir, "a.img", NULL);
	g_autofree char *bb = g_build_filename(dir, "b.img", NULL);
	const size_t sa = 64 * KiB, sb = 64 * KiB;
	g_autofree uint8_t *da = g_malloc0(sa), *db = g_malloc0(sb);
	write_file(a, da, sa);
	write_file(bb, db, sb);
	g_autofree char *desc = write_descriptor(
		dir, "disk.vmdk",
		"RW 64 FLAT \"a.img\" 64\nRW 16 ZERO\nRW 32 FLAT \"b.img\" 0\n"
		"RDONLY 8 FLAT \"b.img\" 32\nNOACCESS 8 FLAT \"b.img\" 40");
	struct block_backend *b = open_ok(desc, false);
	g_assert_cmpuint(b->size, ==, (64 + 16 + 32 + 8 + 8) * 512);
	/* Spanning the end of a.img's extent: lands in a.img at 32 KiB + ... */
	uint8_t buf[2048];
	imagefiles_fill(buf, sizeof(buf), 41);
	g_assert_cmpint(be_io(b, buf, 1024, 64 * 512 - 1024, true), ==, 0);
	/* Into the ZERO extent: refused. Into b.img across into the RDONLY extent: refused. */
	g_assert_cmpint(be_io(b, buf, 1024, 64 * 512 - 512, true), ==, -EIO);
	g_assert_cmpint(be_io(b, buf, 2048, 80 * 512, true), ==, 0);
	g_assert_cmpint(be_io(b, buf, 1024, 112 * 512 - 512, true), ==, -EIO);
	uint8_t rd[2048];
	g_assert_cmpint(be_io(b, rd, 512, 64 * 512, false), ==, 0);
	for (int i = 0; i < 512; i++)
		g_assert_cmpint(rd[i], ==, 0);
	g_assert_cmpint(be_io(b, rd, 512, 120 * 512, false), ==, -EIO); /* NOACCESS */
	g_assert_cmpint(be_io(b, rd, 1024, 112 * 512, false), ==, 0);   /* RDONLY */
	g_assert_cmpint(b->ops->write_zeroes(b, 64 * 512, 16 * 512, true), ==, 0);
	g_assert_cmpint(b->ops->flush(b), ==, 0);
	block_close(b);
	size_t n;
	g_autofree uint8_t *ga = imagefiles_read(a, &n);
	g_assert_cmpuint(n, ==, sa);
	g_assert_true(memcmp(ga + 32 * KiB + 64 * 512 - 1024, buf, 1024) == 0);
	g_autofree uint8_t *gb = imagefiles_read(bb, &n);
	g_assert_true(memcmp(gb, buf, 2048) == 0);

	b = open_ok(desc, true);
	g_assert_cmpint(be_io(b, buf, 512, 0, true), ==, -EROFS);
	block_close(b);

	/* Broken descriptors. */
	const char *bad[] = {
		"RW 64 SPARSE \"a.img\"",
		"RW 0 FLAT \"a.img\" 0",
		"RW 64 FLAT \"a.img\"",
		"RW 64 FLAT \"missing.img\" 0",
		"RW x FLAT \"a.img\" 0",
		"RW 64 ZERO \"a.img\" 0",
		"RW 18446744073709551615 FLAT \"a.img\" 0",
		"",
		"RW 64 FLAT a.img 0",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *p = write_descriptor(dir, "bad.vmdk", bad[i]);
		expect_open_error(p, true, bad[i]);
	}
	tmpdir_free(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* Corrupt images are expected to produce the backends' one-line warnings. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	static const struct rw_case v3_64k = { "compat=1.1", 16 * MiB, 400, 200000, false };
	static const struct rw_case v2_64k = { "compat=0.10", 16 * MiB, 400, 200000, false };
	static const struct rw_case v3_512 = { "compat=1.1,cluster_size=512", 12 * MiB, 1500, 5000, true };
	static const struct rw_case v2_512 = { "compat=0.10,cluster_size=512", 10 * MiB, 600, 3000, true };
	static const struct rw_case v3_4k = { "compat=1.1,cluster_size=4096", 64 * MiB, 800, 40000, false };
	static const struct rw_case v3_2m = { "compat=1.1,cluster_size=2M", 24 * MiB, 100, 3 * MiB, false };
	g_test_add_func("/block/probe", test_probe);
	g_test_add_data_func("/block/qcow2/rw/v3-64k", &v3_64k, test_qcow2_rw);
	g_test_add_data_func("/block/qcow2/rw/v2-64k", &v2_64k, test_qcow2_rw);
	g_test_add_data_func("/block/qcow2/rw/v3-512", &v3_512, test_qcow2_rw);
	g_test_add_data_func("/block/qcow2/rw/v2-512", &v2_512, test_qcow2_rw);
	g_test_add_data_func("/block/qcow2/rw/v3-4k", &v3_4k, test_qcow2_rw);
	g_test_add_data_func("/block/qcow2/rw/v3-2m", &v3_2m, test_qcow2_rw);
	g_test_add_func("/block/qcow2/backing-raw", test_qcow2_backing_raw);
	g_test_add_func("/block/qcow2/backing-vmdk", test_qcow2_backing_vmdk);
	g_test_add_data_func("/block/qcow2/zero/v3", "1.1", test_qcow2_zero);
	g_test_add_data_func("/block/qcow2/zero/v2", "0.10", test_qcow2_zero);
	g_test_add_func("/block/qcow2/qemu-written", test_qcow2_qemu_written);
	g_test_add_func("/block/qcow2/corrupt", test_qcow2_corrupt);
	g_test_add_func("/block/vmdk/matches-qemu", test_vmdk_matches_qemu);
	g_test_add_func("/block/vmdk/write", test_vmdk_write);
	return g_test_run();
}
