/* The overlay after a crash (issue 13, defect 10): a writer killed with SIGKILL leaves the
 * image consistent but with leaked clusters (allocated and counted, their L2 entries still
 * in the dead writer's cache). sepia marks writable version 3 images dirty while they are
 * open; the next writable open of a dirty image rebuilds the refcounts, freeing the leaks,
 * and what the guest had flushed reads back unchanged. Without that, the image grows by
 * what was in flight on every crash.
 *
 * The crash is real: a forked child writes through the backend and is killed. qemu-img
 * check (when installed) confirms the leaks before the repair and none after. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "block/block.h"
#include "tests/unit/imagefiles.h"

#define KiB        1024u
#define MiB        (1024u * 1024u)
#define CLUSTER    (64 * KiB)
#define DISK_SIZE  (16 * MiB)
#define BURST      (2 * MiB) /* written and never flushed by the writer that crashes */
#define BURST_AT   (8 * MiB)
#define FLUSHED    (1 * MiB) /* written and flushed before the crash */
#define FLUSHED_AT (12 * MiB)

static int io(struct block_backend *b, void *buf, size_t len, uint64_t off, bool write)
{
	struct iovec iov = { buf, len };
	return write ? b->ops->pwritev(b, &iov, 1, off) : b->ops->preadv(b, &iov, 1, off);
}

static struct block_backend *open_ok(const char *path, bool readonly)
{
	GError *err = NULL;
	struct block_backend *b = block_open_format(path, "qcow2", readonly, &err);
	g_assert_no_error(err);
	g_assert_nonnull(b);
	return b;
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	g_assert_cmpint(stat(path, &st), ==, 0);
	return (uint64_t)st.st_size;
}

static bool dirty_bit(const char *path)
{
	size_t len;
	g_autofree uint8_t *h = imagefiles_read(path, &len);
	g_assert_cmpuint(len, >=, 104);
	return h[79] & 1;
}

/* Leaked clusters qemu-img check reports (0 when clean), or -1 without qemu-img. Other
 * errors fail the test. */
static int qemu_leaks(const char *path)
{
	if (!imagefiles_have("qemu-img"))
		return -1;
	const char *argv[] = { "qemu-img", "check", "--output=json", "-f", "qcow2", path, NULL };
	g_autofree char *out = NULL;
	int code = imagefiles_run(argv, &out);
	g_assert_true(code == 0 || code == 3); /* 3: leaks, no errors */
	const char *p = strstr(out, "\"leaks\":");
	int leaks = p ? atoi(p + 8) : 0;
	g_assert_cmpint(leaks > 0, ==, code == 3);
	return leaks;
}

/* A writer that writes BURST bytes of pattern seed at BURST_AT, never flushes, and is killed. */
static void crash_writer(const char *path, uint64_t seed)
{
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		GError *err = NULL;
		struct block_backend *b = block_open_format(path, "qcow2", false, &err);
		if (!b)
			_exit(1);
		uint8_t *buf = g_malloc(CLUSTER);
		for (uint64_t off = 0; off < BURST; off += CLUSTER) {
			imagefiles_fill(buf, CLUSTER, seed + off);
			if (io(b, buf, CLUSTER, BURST_AT + off, true) < 0)
				_exit(1);
		}
		raise(SIGKILL);
		_exit(1);
	}
	int status;
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static char *make_overlay(const char *dir, uint8_t *base_data)
{
	g_autofree char *base = g_build_filename(dir, "base.raw", NULL);
	imagefiles_fill(base_data, DISK_SIZE, 1);
	imagefiles_write(base, base_data, DISK_SIZE);
	char *ov = g_build_filename(dir, "overlay.qcow2", NULL);
	g_autofree uint8_t *img = g_malloc(IMAGEFILES_QCOW2_BYTES);
	imagefiles_make_qcow2(img, DISK_SIZE, "base.raw", "raw");
	imagefiles_write(ov, img, IMAGEFILES_QCOW2_BYTES);
	return ov;
}

static void test_crash_repaired(void)
{
	g_autofree char *dir = imagefiles_tmpdir("sepia-repair");
	g_autofree uint8_t *model = g_malloc(DISK_SIZE);
	g_autofree char *ov = make_overlay(dir, model);

	/* A clean session: flushed data, and the dirty bit only while open. */
	struct block_backend *b = open_ok(ov, false);
	g_assert_true(dirty_bit(ov));
	g_autofree uint8_t *buf = g_malloc(FLUSHED);
	imagefiles_fill(buf, FLUSHED, 77);
	g_assert_cmpint(io(b, buf, FLUSHED, FLUSHED_AT, true), ==, 0);
	memcpy(model + FLUSHED_AT, buf, FLUSHED);
	g_assert_cmpint(b->ops->flush(b), ==, 0);
	block_close(b);
	g_assert_false(dirty_bit(ov));
	g_assert_cmpint(qemu_leaks(ov), <=, 0);

	crash_writer(ov, 1000);
	g_assert_true(dirty_bit(ov));
	int before = qemu_leaks(ov);
	if (before >= 0)
		g_assert_cmpint(before, >=, (int)(BURST / CLUSTER)); /* the burst's clusters at least */
	uint64_t size_crashed = file_size(ov);
	/* What the image holds now, read without repairing (read-only opens never write). */
	b = open_ok(ov, true);
	g_autofree uint8_t *seen = g_malloc(DISK_SIZE);
	g_assert_cmpint(io(b, seen, DISK_SIZE, 0, false), ==, 0);
	block_close(b);
	g_assert_true(dirty_bit(ov));
	g_assert_cmpmem(seen + FLUSHED_AT, FLUSHED, model + FLUSHED_AT, FLUSHED);

	/* The next writable open repairs; the contents are unchanged. */
	b = open_ok(ov, false);
	g_autofree uint8_t *after = g_malloc(DISK_SIZE);
	g_assert_cmpint(io(b, after, DISK_SIZE, 0, false), ==, 0);
	block_close(b);
	g_assert_false(dirty_bit(ov));
	g_assert_cmpmem(after, DISK_SIZE, seen, DISK_SIZE);
	g_assert_cmpmem(after, DISK_SIZE, model, DISK_SIZE); /* the burst was never flushed */
	g_assert_cmpint(qemu_leaks(ov), <=, 0);
	g_test_message("overlay %" G_GUINT64_FORMAT " bytes after the crash, %" G_GUINT64_FORMAT
		       " after the repair; qemu-img check counted %d leaked clusters before it",
		       size_crashed, file_size(ov), before);
	g_assert_cmpuint(file_size(ov), <, size_crashed);
	imagefiles_rmtree(dir);
}

/* The overlay's size over crash after crash: it must not grow by what each crash leaked. */
static void test_crash_cycles(void)
{
	const int cycles = 8;
	g_autofree char *dir = imagefiles_tmpdir("sepia-repair");
	g_autofree uint8_t *model = g_malloc(DISK_SIZE);
	g_autofree char *ov = make_overlay(dir, model);
	uint64_t first = 0, last = 0;
	for (int i = 0; i < cycles; i++) {
		crash_writer(ov, 1000 * (uint64_t)(i + 1));
		last = file_size(ov);
		if (i == 0)
			first = last;
		g_test_message("after crash %d: overlay %" G_GUINT64_FORMAT " bytes", i + 1, last);
	}
	g_test_message("growth over %d crashes after the first: %" G_GUINT64_FORMAT
		       " bytes (%d bytes in flight "
		       "per crash)",
		       cycles - 1, last - first, (int)BURST);
	g_assert_cmpuint(last, <=, first);
	/* Repaired at the last open: what was flushed (nothing) reads back, and no leaks stay. */
	struct block_backend *b = open_ok(ov, false);
	g_autofree uint8_t *got = g_malloc(DISK_SIZE);
	g_assert_cmpint(io(b, got, DISK_SIZE, 0, false), ==, 0);
	g_assert_cmpmem(got, DISK_SIZE, model, DISK_SIZE);
	block_close(b);
	g_assert_cmpint(qemu_leaks(ov), <=, 0);
	imagefiles_rmtree(dir);
}

/* A dirty image whose metadata cannot be counted is refused writable, named, and left as it
 * was; read-only it still opens. */
static void test_dirty_unrepairable(void)
{
	g_autofree char *dir = imagefiles_tmpdir("sepia-repair");
	g_autofree uint8_t *model = g_malloc(DISK_SIZE);
	g_autofree char *ov = make_overlay(dir, model);
	size_t len;
	g_autofree uint8_t *img = imagefiles_read(ov, &len);
	img[79] |= 1;            /* dirty */
	img[CLUSTER + 0] = 0x80; /* L1[0]: copied ... */
	img[CLUSTER + 3] = 0x01; /* ... L2 table at 4 GiB: past the end */
	imagefiles_write(ov, img, len);
	GError *err = NULL;
	g_assert_null(block_open_format(ov, "qcow2", false, &err));
	g_test_message("%s", err->message);
	g_assert_nonnull(strstr(err->message, ov));
	g_assert_nonnull(strstr(err->message, "qemu-img check -r all"));
	g_clear_error(&err);
	size_t len2;
	g_autofree uint8_t *again = imagefiles_read(ov, &len2);
	g_assert_cmpmem(again, len2, img, len);
	struct block_backend *b = open_ok(ov, true);
	block_close(b);
	imagefiles_rmtree(dir);
}

/* Version 2 images have no dirty bit: the header is never changed by opening them. */
static void test_v2_untouched(void)
{
	g_autofree char *dir = imagefiles_tmpdir("sepia-repair");
	g_autofree uint8_t *model = g_malloc(DISK_SIZE);
	g_autofree char *ov = make_overlay(dir, model);
	size_t len;
	g_autofree uint8_t *img = imagefiles_read(ov, &len);
	img[7] = 2; /* version 2: the header is 72 bytes */
	memset(img + 72, 0, 32);
	imagefiles_write(ov, img, len);
	struct block_backend *b = open_ok(ov, false);
	size_t n;
	g_autofree uint8_t *open_hdr = imagefiles_read(ov, &n);
	g_assert_cmpmem(open_hdr, 512, img, 512);
	block_close(b);
	imagefiles_rmtree(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* The repair logs what it freed. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	g_test_add_func("/block/qcow2/repair/crash", test_crash_repaired);
	g_test_add_func("/block/qcow2/repair/crash-cycles", test_crash_cycles);
	g_test_add_func("/block/qcow2/repair/unrepairable", test_dirty_unrepairable);
	g_test_add_func("/block/qcow2/repair/v2-untouched", test_v2_untouched);
	return g_test_run();
}
