/* launcher/data_image.c — the instance's own ext4 data images. See data_image.h. */
#include "launcher/data_image.h"

#include "bootloader/bootdisk.h"
#include "images/common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (1u << 20)

static char *find_tool(const char *name)
{
	char *p = g_find_program_in_path(name);
	for (const char *const *d = (const char *const[]){ "/usr/sbin", "/sbin", NULL }; !p && *d; d++) {
		char *q = g_build_filename(*d, name, NULL);
		if (g_file_test(q, G_FILE_TEST_IS_EXECUTABLE))
			p = q;
		else
			g_free(q);
	}
	return p;
}

bool data_image_run_tool(const char *file, char **argv, int max_ok, GError **error)
{
	g_autofree char *tool = find_tool(argv[0]);
	if (!tool)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, file,
				     "%s not found (install e2fsprogs/coreutils)", argv[0]);
	const char *name = argv[0];
	argv[0] = tool;
	g_autofree char *err_text = NULL;
	int status = 0;
	GError *e = NULL;
	bool ok = g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err_text,
			       &status, &e);
	argv[0] = (char *)name;
	if (!ok) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_IO, file, "cannot run %s: %s", name, e->message);
		g_error_free(e);
		return false;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) > max_ok) {
		char *nl = err_text ? strchr(err_text, '\n') : NULL;
		if (nl)
			*nl = '\0';
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, file, "%s failed (status %d): %s", name,
				     WIFEXITED(status) ? WEXITSTATUS(status) : -1,
				     err_text && *err_text ? err_text : "no message");
	}
	return true;
}

bool data_image_make_ext4(const char *path, uint64_t size, const char *label, GError **error)
{
	g_autofree char *size_arg = g_strdup_printf("%" PRIu64 "k", size / 1024);
	/* e2fsprogs 1.47+: the new file is zeroes, so the inode tables and journal need no writing
	 * and are marked zeroed. Older ones (CentOS Stream 9 has 1.46) lack the option: lazy init
	 * instead, and the guest mounts with noinit_itable. */
	static const char *const extended[] = { "assume_storage_prezeroed=1,nodiscard",
						"lazy_itable_init=1,lazy_journal_init=1,nodiscard" };
	GError *first = NULL;
	for (gsize i = 0; i < G_N_ELEMENTS(extended); i++) {
		char *mk[] = { "mke2fs",      "-t",     "ext4",
			       "-F",          "-q",     "-L",
			       (char *)label, "-E",     (char *)extended[i],
			       (char *)path,  size_arg, NULL };
		if (data_image_run_tool(path, mk, 0, i == 0 ? &first : error)) {
			g_clear_error(&first);
			return true;
		}
	}
	g_clear_error(&first);
	return false;
}

bool data_image_is_ext4(const char *path)
{
	guint8 magic[2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = pread(fd, magic, 2, 1080) == 2 && magic[0] == 0x53 && magic[1] == 0xEF;
	close(fd);
	return ok;
}

bool data_image_grow_ext4(const char *path, uint64_t size, const char *name, GError **error)
{
	if (truncate(path, (off_t)size) < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, name, "cannot size to %" PRIu64 ": %s",
				     size, g_strerror(errno));
	g_autofree char *size_arg = g_strdup_printf("%" PRIu64 "k", size / 1024);
	/* A guest that did not shut down cleanly leaves a journal to replay: e2fsck first, as
	 * resize2fs wants (1 and 2 mean it corrected something). */
	char *fsck[] = { "e2fsck", "-f", "-y", (char *)path, NULL };
	char *rs[] = { "resize2fs", "-f", (char *)path, size_arg, NULL };
	return data_image_run_tool(name, fsck, 2, error) && data_image_run_tool(name, rs, 0, error);
}

static bool all_zero(const guint8 *p, gsize n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

bool data_image_copy_partition(const char *disk, const char *partname, int fd, const char *dest_name,
			       uint64_t *size_out, GError **error)
{
	g_autoptr(SepiaBootDisk) d = sepia_bootdisk_open(disk, false, error);
	if (!d)
		return false;
	const SepiaBootDiskPartition *part = sepia_bootdisk_find(d, partname);
	if (!part)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, disk, "no partition named %s", partname);
	g_autofree guint8 *buf = g_malloc(COPY_CHUNK);
	for (uint64_t off = 0; off < part->size;) {
		gsize n = (gsize)MIN((uint64_t)COPY_CHUNK, part->size - off);
		if (!sepia_bootdisk_read(d, part, off, buf, n, error))
			return false;
		if (!all_zero(buf, n)) {
			for (gsize done = 0; done < n;) {
				ssize_t w = pwrite(fd, buf + done, n - done, (off_t)(off + done));
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, dest_name,
							     "writing the %s partition of %s: %s", partname,
							     disk, w < 0 ? g_strerror(errno) : "short write");
				done += (gsize)w;
			}
		}
		off += n;
	}
	if (ftruncate(fd, (off_t)part->size) < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, dest_name,
				     "cannot size to %" PRIu64 ": %s", part->size, g_strerror(errno));
	*size_out = part->size;
	return true;
}
