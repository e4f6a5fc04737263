/* What a disk image may reach and who may open it (issue 13, defects 1 and 5):
 * - a raw disk opened with format=raw is raw, whatever its first sector says;
 * - a probed raw disk refuses guest writes that would make it probe as another format (the
 *   attack: a guest writes a qcow2 header naming a host file as backing into its raw disk,
 *   and on the next start reads that file);
 * - qcow2 backing files and VMDK extents outside the allowed directories are refused, with
 *   `..` and symlinks resolved; relative names resolve against the naming image's directory;
 * - images carry OFD locks: two writers, or a writer and a reader, exclude each other.
 * The secret file the hostile images name lives in a second temporary directory. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "block/block.h"
#include "tests/unit/imagefiles.h"

#define KiB         1024u
#define MiB         (1024u * 1024u)
#define SECRET_SIZE (64 * KiB)
#define DISK_SIZE   (1 * MiB)

typedef struct {
	char *dir;    /* the images */
	char *other;  /* outside every allowed directory */
	char *secret; /* other/secret: what a hostile image wants to read */
	uint8_t secret_bytes[SECRET_SIZE];
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer unused)
{
	f->dir = imagefiles_tmpdir("sepia-access");
	f->other = imagefiles_tmpdir("sepia-secret");
	f->secret = g_build_filename(f->other, "secret", NULL);
	imagefiles_fill(f->secret_bytes, SECRET_SIZE, 1313);
	imagefiles_write(f->secret, f->secret_bytes, SECRET_SIZE);
}

static void fixture_teardown(Fixture *f, gconstpointer unused)
{
	block_forget_image_dirs();
	imagefiles_rmtree(f->dir);
	imagefiles_rmtree(f->other);
	g_free(f->dir);
	g_free(f->other);
	g_free(f->secret);
}

static char *in_dir(const Fixture *f, const char *name) { return g_build_filename(f->dir, name, NULL); }

static int io(struct block_backend *b, void *buf, size_t len, uint64_t off, bool write)
{
	struct iovec iov = { buf, len };
	return write ? b->ops->pwritev(b, &iov, 1, off) : b->ops->preadv(b, &iov, 1, off);
}

/* The whole disk as the backend reads it. */
static uint8_t *read_all(struct block_backend *b)
{
	uint8_t *buf = g_malloc(b->size);
	g_assert_cmpint(io(b, buf, b->size, 0, false), ==, 0);
	return buf;
}

/* Whether any 256-byte run of the secret shows in buf. */
static bool shows_secret(const Fixture *f, const uint8_t *buf, size_t len)
{
	for (size_t off = 0; off + 256 <= SECRET_SIZE; off += 4096)
		if (memmem(buf, len, f->secret_bytes + off, 256))
			return true;
	return false;
}

/* A raw disk whose first bytes are a qcow2 image naming backing: what a guest that owns the
 * raw disk can write into it. */
static char *make_hostile_raw(const Fixture *f, const char *name, const char *backing, uint8_t **bytes)
{
	char *path = in_dir(f, name);
	uint8_t *disk = g_malloc0(DISK_SIZE);
	imagefiles_make_qcow2(disk, DISK_SIZE, backing, "raw");
	imagefiles_write(path, disk, DISK_SIZE);
	if (bytes)
		*bytes = disk;
	else
		g_free(disk);
	return path;
}

static struct block_backend *open_ok(const char *path, const char *format, bool readonly)
{
	GError *err = NULL;
	struct block_backend *b = block_open_format(path, format, readonly, &err);
	g_assert_no_error(err);
	g_assert_nonnull(b);
	return b;
}

/* The open fails; its one-line error contains each of the strings given (NULL-terminated). */
static void expect_refused(const char *path, const char *format, bool readonly, ...)
{
	GError *err = NULL;
	struct block_backend *b = block_open_format(path, format, readonly, &err);
	if (b)
		g_error("%s opened (as %s), but it must be refused", path, b->format);
	g_assert_nonnull(err);
	g_test_message("refused: %s", err->message);
	g_assert_null(strchr(err->message, '\n'));
	va_list ap;
	va_start(ap, readonly);
	for (const char *s; (s = va_arg(ap, const char *));)
		if (!strstr(err->message, s))
			g_error("the error does not name %s: %s", s, err->message);
	va_end(ap);
	g_error_free(err);
}

/* ---- defect 1: the format ---- */

static void test_format_raw(Fixture *f, gconstpointer unused)
{
	g_autofree uint8_t *disk = NULL;
	g_autofree char *raw = make_hostile_raw(f, "disk.raw", f->secret, &disk);
	struct block_backend *b = open_ok(raw, "raw", false);
	g_assert_cmpstr(b->format, ==, "raw");
	g_assert_cmpuint(b->size, ==, DISK_SIZE);
	g_autofree uint8_t *got = read_all(b);
	g_assert_cmpmem(got, DISK_SIZE, disk, DISK_SIZE); /* the header bytes, as written */
	g_assert_false(shows_secret(f, got, DISK_SIZE));
	/* With format=raw the guest may write anything to its first sector. */
	uint8_t sector[512];
	memcpy(sector, disk, sizeof(sector));
	sector[511] ^= 1;
	g_assert_cmpint(io(b, sector, sizeof(sector), 0, true), ==, 0);
	block_close(b);
	/* read-only too */
	b = open_ok(raw, "raw", true);
	g_free(got);
	got = read_all(b);
	g_assert_false(shows_secret(f, got, DISK_SIZE));
	block_close(b);
	expect_refused(raw, "qcow3", false, raw, "qcow3", NULL);
}

static void test_probed_raw_guard(Fixture *f, gconstpointer unused)
{
	g_autofree char *raw = in_dir(f, "disk.raw");
	g_autofree uint8_t *zero = g_malloc0(DISK_SIZE);
	imagefiles_write(raw, zero, DISK_SIZE);
	g_autofree uint8_t *hostile = g_malloc0(DISK_SIZE);
	imagefiles_make_qcow2(hostile, DISK_SIZE, f->secret, "raw");

	/* As sepia-vmm opens a --disk without format=. */
	struct block_backend *b = open_ok(raw, NULL, false);
	g_assert_cmpstr(b->format, ==, "raw");
	/* The whole qcow2 image at once, its first sector alone, and the magic last. */
	g_assert_cmpint(io(b, hostile, IMAGEFILES_QCOW2_BYTES, 0, true), ==, -EIO);
	g_assert_cmpint(io(b, hostile, 512, 0, true), ==, -EIO);
	g_assert_cmpint(io(b, hostile + 4, 508, 4, true), ==, 0);
	g_assert_cmpint(io(b, hostile + 512, IMAGEFILES_QCOW2_BYTES - 512, 512, true), ==, 0);
	g_assert_cmpint(io(b, hostile, 4, 0, true), ==, -EIO);
	g_assert_cmpint(io(b, hostile, 2, 0, true), ==, 0); /* "QF": still raw */
	g_assert_cmpint(io(b, hostile + 2, 2, 2, true), ==, -EIO);
	/* A VMDK descriptor, split over two iovec pieces. */
	static const char desc[] = "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n";
	struct iovec two[2] = { { (void *)desc, 10 }, { (void *)(desc + 10), sizeof(desc) - 10 } };
	g_assert_cmpint(b->ops->pwritev(b, two, 2, 0), ==, -EIO);
	/* Ordinary writes to sector 0 (a partition table) and zeroes pass. */
	uint8_t mbr[512] = { 0 };
	mbr[510] = 0x55, mbr[511] = 0xaa;
	g_assert_cmpint(io(b, mbr, sizeof(mbr), 0, true), ==, 0);
	g_assert_cmpint(b->ops->write_zeroes(b, 0, 4096, false), ==, 0);
	block_close(b);

	/* The next start probes again: still raw, and the secret never shows. */
	b = open_ok(raw, NULL, false);
	g_assert_cmpstr(b->format, ==, "raw");
	g_autofree uint8_t *got = read_all(b);
	g_assert_false(shows_secret(f, got, DISK_SIZE));
	g_assert_cmpmem(got + 512, IMAGEFILES_QCOW2_BYTES - 512, hostile + 512, IMAGEFILES_QCOW2_BYTES - 512);
	block_close(b);
	/* Read-only probed disks cannot be written at all. */
	b = open_ok(raw, NULL, true);
	g_assert_cmpint(io(b, hostile, 512, 0, true), <, 0);
	block_close(b);
}

/* ---- defect 1: backing files and extents ---- */

static void test_backing_outside(Fixture *f, gconstpointer unused)
{
	g_autofree uint8_t *img = g_malloc(IMAGEFILES_QCOW2_BYTES);
	g_autofree char *top = in_dir(f, "top.qcow2");
	imagefiles_make_qcow2(img, DISK_SIZE, f->secret, "raw");
	imagefiles_write(top, img, IMAGEFILES_QCOW2_BYTES);
	expect_refused(top, "qcow2", false, top, f->secret, "allowed image directories", NULL);
	expect_refused(top, NULL, true, top, f->secret, NULL);
	/* The hostile raw disk of the attack, probed read-only (a writable probe is guarded). */
	g_autofree char *raw = make_hostile_raw(f, "disk.raw", f->secret, NULL);
	expect_refused(raw, NULL, true, raw, f->secret, NULL);
	if (g_file_test("/etc/passwd", G_FILE_TEST_EXISTS)) {
		imagefiles_make_qcow2(img, DISK_SIZE, "/etc/passwd", "raw");
		imagefiles_write(top, img, IMAGEFILES_QCOW2_BYTES);
		expect_refused(top, "qcow2", false, top, "/etc/passwd", NULL);
		expect_refused(top, NULL, true, top, "/etc/passwd", NULL);
	}
	/* A VMDK extent outside. */
	g_autofree char *vmdk = in_dir(f, "disk.vmdk");
	g_autofree char *text = g_strdup_printf("# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
						"parentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
						"RW 128 FLAT \"%s\" 0\n",
						f->secret);
	imagefiles_write(vmdk, text, strlen(text));
	expect_refused(vmdk, "vmdk", true, vmdk, f->secret, NULL);
	expect_refused(vmdk, NULL, false, vmdk, f->secret, NULL);

	/* Allowing the directory (sepia-vmm --allowed-image-dir) lets the same chain open. */
	GError *err = NULL;
	g_assert_true(block_allow_image_dir(f->other, &err));
	g_assert_no_error(err);
	struct block_backend *b = open_ok(vmdk, "vmdk", true);
	g_autofree uint8_t *got = read_all(b);
	g_assert_cmpmem(got, SECRET_SIZE, f->secret_bytes, SECRET_SIZE);
	block_close(b);
	g_autofree char *missing = g_build_filename(f->other, "missing", NULL);
	g_assert_false(block_allow_image_dir(missing, &err));
	g_assert_nonnull(strstr(err->message, missing));
	g_clear_error(&err);
}

static void test_backing_relative(Fixture *f, gconstpointer unused)
{
	/* top.qcow2 -> sub/mid.qcow2 -> base.raw: relative to mid's directory (dir/sub), not to
	 * top's or to the working directory, where decoys of the same names lie. */
	g_autofree char *sub = in_dir(f, "sub");
	g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
	g_autofree char *base = g_build_filename(sub, "base.raw", NULL);
	g_autofree char *decoy = in_dir(f, "base.raw");
	g_autofree char *mid = g_build_filename(sub, "mid.qcow2", NULL);
	g_autofree char *top = in_dir(f, "top.qcow2");
	g_autofree uint8_t *data = g_malloc(DISK_SIZE), *other = g_malloc(DISK_SIZE);
	imagefiles_fill(data, DISK_SIZE, 7);
	imagefiles_fill(other, DISK_SIZE, 8);
	imagefiles_write(base, data, DISK_SIZE);
	imagefiles_write(decoy, other, DISK_SIZE);
	g_autofree char *cwd_base = g_build_filename(f->other, "base.raw", NULL);
	imagefiles_write(cwd_base, other, DISK_SIZE);
	g_autofree uint8_t *img = g_malloc(IMAGEFILES_QCOW2_BYTES);
	imagefiles_make_qcow2(img, DISK_SIZE, "base.raw", "raw");
	imagefiles_write(mid, img, IMAGEFILES_QCOW2_BYTES);
	imagefiles_make_qcow2(img, DISK_SIZE, "sub/mid.qcow2", NULL);
	imagefiles_write(top, img, IMAGEFILES_QCOW2_BYTES);
	g_autofree char *cwd = g_get_current_dir();
	g_assert_cmpint(chdir(f->other), ==, 0);
	struct block_backend *b = open_ok(top, "qcow2", false);
	g_assert_cmpint(chdir(cwd), ==, 0);
	g_autofree uint8_t *got = read_all(b);
	g_assert_cmpmem(got, DISK_SIZE, data, DISK_SIZE);
	block_close(b);
}

static void test_escape(Fixture *f, gconstpointer unused)
{
	g_autofree char *top = in_dir(f, "top.qcow2");
	g_autofree uint8_t *img = g_malloc(IMAGEFILES_QCOW2_BYTES);
	/* ../sepia-secret-XXXXXX/secret, from the image's directory */
	g_autofree char *other_name = g_path_get_basename(f->other);
	g_autofree char *up = g_build_filename("..", other_name, "secret", NULL);
	/* dir/sub/../../sepia-secret-XXXXXX/secret */
	g_autofree char *up2 = g_build_filename(f->dir, "sub", "..", "..", other_name, "secret", NULL);
	g_autofree char *sub = in_dir(f, "sub");
	g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
	/* a symlink inside the directory that points out of it, to the file or to its directory */
	g_autofree char *link = in_dir(f, "link.raw");
	g_assert_cmpint(symlink(f->secret, link), ==, 0);
	g_autofree char *dirlink = in_dir(f, "outside");
	g_assert_cmpint(symlink(f->other, dirlink), ==, 0);
	const char *names[] = { up, up2, "link.raw", "outside/secret" };
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		g_test_message("backing name %s", names[i]);
		imagefiles_make_qcow2(img, DISK_SIZE, names[i], i % 2 ? NULL : "raw");
		imagefiles_write(top, img, IMAGEFILES_QCOW2_BYTES);
		expect_refused(top, "qcow2", false, top, names[i], f->secret, NULL);
		expect_refused(top, NULL, true, top, names[i], f->secret, NULL);
		g_autofree char *vmdk = in_dir(f, "disk.vmdk");
		g_autofree char *text = g_strdup_printf("# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
							"parentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
							"RW 128 FLAT \"%s\" 0\n",
							names[i]);
		imagefiles_write(vmdk, text, strlen(text));
		expect_refused(vmdk, "vmdk", true, vmdk, names[i], f->secret, NULL);
	}
	/* A symlink to a file inside the directory is fine. */
	g_autofree char *base = in_dir(f, "base.raw");
	g_autofree char *inside = in_dir(f, "inside.raw");
	g_autofree uint8_t *data = g_malloc(DISK_SIZE);
	imagefiles_fill(data, DISK_SIZE, 9);
	imagefiles_write(base, data, DISK_SIZE);
	g_assert_cmpint(symlink("base.raw", inside), ==, 0);
	imagefiles_make_qcow2(img, DISK_SIZE, "inside.raw", "raw");
	imagefiles_write(top, img, IMAGEFILES_QCOW2_BYTES);
	struct block_backend *b = open_ok(top, "qcow2", true);
	g_autofree uint8_t *got = read_all(b);
	g_assert_cmpmem(got, DISK_SIZE, data, DISK_SIZE);
	block_close(b);
}

/* ---- defect 5: image locks ---- */

static char *make_overlay(const Fixture *f, const char *name, const char *backing)
{
	char *path = in_dir(f, name);
	g_autofree uint8_t *img = g_malloc(IMAGEFILES_QCOW2_BYTES);
	imagefiles_make_qcow2(img, DISK_SIZE, backing, backing ? "raw" : NULL);
	imagefiles_write(path, img, IMAGEFILES_QCOW2_BYTES);
	return path;
}

static void test_two_writers(Fixture *f, gconstpointer unused)
{
	g_autofree char *ov = make_overlay(f, "overlay.qcow2", NULL);
	/* Two opens in one process: separate open file descriptions. */
	struct block_backend *a = open_ok(ov, "qcow2", false);
	expect_refused(ov, "qcow2", false, ov, "in use", NULL);
	expect_refused(ov, "qcow2", true, ov, "in use", NULL);
	expect_refused(ov, "raw", false, ov, "in use", NULL);
	uint8_t buf[4096];
	imagefiles_fill(buf, sizeof(buf), 3);
	g_assert_cmpint(io(a, buf, sizeof(buf), 8192, true), ==, 0);
	block_close(a);
	/* Closed: free again. */
	a = open_ok(ov, "qcow2", false);
	uint8_t back[4096];
	g_assert_cmpint(io(a, back, sizeof(back), 8192, false), ==, 0);
	g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
	block_close(a);
	/* Raw files and VMDK extents too. */
	g_autofree char *raw = in_dir(f, "disk.raw");
	g_autofree uint8_t *zero = g_malloc0(DISK_SIZE);
	imagefiles_write(raw, zero, DISK_SIZE);
	a = open_ok(raw, "raw", false);
	expect_refused(raw, "raw", true, raw, "in use", NULL);
	g_autofree char *vmdk = in_dir(f, "disk.vmdk");
	static const char text[] = "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
				   "createType=\"monolithicFlat\"\nRW 2048 FLAT \"disk.raw\" 0\n";
	imagefiles_write(vmdk, text, strlen(text));
	expect_refused(vmdk, "vmdk", true, vmdk, raw, "in use", NULL);
	block_close(a);
	a = open_ok(vmdk, "vmdk", false);
	expect_refused(raw, "raw", true, raw, "in use", NULL);
	block_close(a);
}

static void test_readers_share(Fixture *f, gconstpointer unused)
{
	g_autofree char *base = in_dir(f, "base.raw");
	g_autofree uint8_t *data = g_malloc(DISK_SIZE);
	imagefiles_fill(data, DISK_SIZE, 5);
	imagefiles_write(base, data, DISK_SIZE);
	g_autofree char *ov = make_overlay(f, "overlay.qcow2", "base.raw");
	g_autofree char *ov2 = make_overlay(f, "overlay2.qcow2", "base.raw");
	struct block_backend *a = open_ok(ov, "qcow2", true);
	struct block_backend *b = open_ok(ov, "qcow2", true);
	/* Two writable overlays over one backing file (two instances over one composite). */
	struct block_backend *c = open_ok(ov2, "qcow2", false);
	g_autofree uint8_t *got = read_all(b);
	g_assert_cmpmem(got, DISK_SIZE, data, DISK_SIZE);
	block_close(a);
	block_close(b);
	b = open_ok(ov, "qcow2", false);
	block_close(b);
	block_close(c);
}

static void test_backing_in_use(Fixture *f, gconstpointer unused)
{
	g_autofree char *base = in_dir(f, "base.raw");
	g_autofree uint8_t *data = g_malloc0(DISK_SIZE);
	imagefiles_write(base, data, DISK_SIZE);
	g_autofree char *ov = make_overlay(f, "overlay.qcow2", "base.raw");
	struct block_backend *a = open_ok(ov, "qcow2", false);
	/* The backing file is read-locked while the overlay is open: no writer may change it. */
	expect_refused(base, "raw", false, base, "in use", "read lock", NULL);
	expect_refused(base, NULL, false, base, "in use", NULL);
	struct block_backend *r = open_ok(base, "raw", true);
	block_close(r);
	block_close(a);
	/* ... and the other way round: a backing file open for writing cannot back an overlay. */
	a = open_ok(base, "raw", false);
	expect_refused(ov, "qcow2", false, ov, base, "in use", "write lock", NULL);
	block_close(a);
}

/* Another process holds the lock: the error names its pid when /proc shows it. */
static void test_other_process(Fixture *f, gconstpointer unused)
{
	g_autofree char *ov = make_overlay(f, "overlay.qcow2", NULL);
	int ready[2], done[2];
	g_assert_cmpint(pipe(ready), ==, 0);
	g_assert_cmpint(pipe(done), ==, 0);
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		close(ready[0]);
		close(done[1]);
		GError *err = NULL;
		struct block_backend *b = block_open_format(ov, "qcow2", false, &err);
		char c = b ? 'y' : 'n', x;
		if (write(ready[1], &c, 1) != 1 || read(done[0], &x, 1) < 0)
			_exit(2);
		_exit(b ? 0 : 1); /* dies holding the image: the lock goes with it */
	}
	close(ready[1]);
	close(done[0]);
	char c = 0;
	g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
	g_assert_cmpint(c, ==, 'y');
	g_autofree char *fdinfo = g_strdup_printf("/proc/%d/fdinfo", (int)pid);
	bool visible = g_access(fdinfo, R_OK) == 0;
	g_autofree char *pid_text = g_strdup_printf("pid %d", (int)pid);
	if (visible)
		expect_refused(ov, "qcow2", false, ov, "in use", pid_text, NULL);
	else
		expect_refused(ov, "qcow2", false, ov, "in use", NULL);
	expect_refused(ov, "qcow2", true, ov, "in use", NULL);
	close(done[1]);
	int status;
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
	struct block_backend *b = open_ok(ov, "qcow2", false);
	block_close(b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* The backends warn about probed disks and refused writes; those are expected here. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
#define ADD(name, fn) g_test_add(name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/block/access/format-raw-keeps-header", test_format_raw);
	ADD("/block/access/probed-raw-refuses-format-change", test_probed_raw_guard);
	ADD("/block/access/backing-outside-refused", test_backing_outside);
	ADD("/block/access/backing-relative", test_backing_relative);
	ADD("/block/access/escape-refused", test_escape);
	ADD("/block/locks/two-writers", test_two_writers);
	ADD("/block/locks/readers-share", test_readers_share);
	ADD("/block/locks/backing-in-use", test_backing_in_use);
	ADD("/block/locks/other-process", test_other_process);
	return g_test_run();
}
