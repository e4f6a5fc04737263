/* Opening a disk image: by the format the caller names, or by probing the file's first bytes
 * (never its name); and the rules for images named inside other images (chain.h). */
#include "block/chain.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/error.h"

static const char vmdk_text[] = "# Disk DescriptorFile";

const char *block_probe_bytes(const uint8_t *head, size_t len)
{
	if (len >= 4 && !memcmp(head, "QFI\xfb", 4))
		return "qcow2";
	if (len >= sizeof(vmdk_text) - 1 && !memcmp(head, vmdk_text, sizeof(vmdk_text) - 1))
		return "vmdk";
	if (len >= 4 && (!memcmp(head, "KDMV", 4) || !memcmp(head, "COWD", 4)))
		return "vmdk-sparse";
	return "raw";
}

const char *block_format_name(const char *name)
{
	static const char *const formats[] = { "raw", "qcow2", "vmdk" };
	for (size_t i = 0; name && i < G_N_ELEMENTS(formats); i++)
		if (!strcmp(name, formats[i]))
			return formats[i];
	return NULL;
}

/* The probed format of path, or NULL with error set. */
static const char *probe_file(const char *path, GError **error)
{
	uint8_t head[512] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot open disk %s: %s", path, g_strerror(errno));
		return NULL;
	}
	ssize_t n = pread(fd, head, sizeof(head), 0);
	int err = errno;
	close(fd);
	if (n < 0) {
		g_set_error(error, SEPIA_ERROR, err, "cannot read disk %s: %s", path, g_strerror(err));
		return NULL;
	}
	const char *fmt = block_probe_bytes(head, (size_t)n);
	if (!strcmp(fmt, "vmdk-sparse")) {
		/* A binary (sparse) VMDK: refuse rather than hand the guest its container bytes. */
		g_set_error(
			error, SEPIA_ERROR, ENOTSUP,
			"disk %s is a sparse VMDK image, which is not supported (convert it to raw or qcow2)",
			path);
		return NULL;
	}
	return fmt;
}

static struct block_backend *open_as(const struct block_chain *chain, const char *path, const char *format,
				     bool readonly, GError **error)
{
	if (!strcmp(format, "qcow2"))
		return block_qcow2_open_in(chain, path, readonly, error);
	if (!strcmp(format, "vmdk"))
		return block_vmdk_open_in(chain, path, readonly, error);
	return block_raw_open(path, readonly, error);
}

struct block_backend *block_open_format(const char *path, const char *format, bool readonly, GError **error)
{
	const char *fmt = format ? block_format_name(format) : probe_file(path, error);
	if (format && !fmt) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "disk %s: format '%s' is not supported (raw, qcow2 or vmdk)", path, format);
		return NULL;
	}
	if (!fmt)
		return NULL;
	struct block_chain chain;
	block_chain_init(&chain, path);
	struct block_backend *b = open_as(&chain, path, fmt, readonly, error);
	block_chain_clear(&chain);
	if (b && !format && !readonly && !strcmp(fmt, "raw")) {
		/* As QEMU does: a probed raw disk must not become something else under the guest. */
		block_raw_guard_probe(b);
		g_warning("disk %s: no format given and probing found raw; guest writes that would make its "
			  "first sector look like another format are refused (give format=raw to allow them)",
			  path);
	} else if (b && !format) {
		g_debug("disk %s: no format given, probed as %s", path, fmt);
	}
	return b;
}

struct block_backend *block_open(const char *path, bool readonly, GError **error)
{
	return block_open_format(path, NULL, readonly, error);
}

void block_close(struct block_backend *b)
{
	if (b)
		b->ops->close(b);
}

/* ---- allowed directories ---- */

static GMutex allowed_lock;
static GPtrArray *allowed_dirs; /* real paths */

bool block_allow_image_dir(const char *dir, GError **error)
{
	char *real = realpath(dir, NULL);
	if (!real) {
		g_set_error(error, SEPIA_ERROR, errno, "image directory %s: %s", dir, g_strerror(errno));
		return false;
	}
	if (!g_file_test(real, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, SEPIA_ERROR, ENOTDIR, "image directory %s is not a directory", dir);
		free(real);
		return false;
	}
	g_mutex_lock(&allowed_lock);
	if (!allowed_dirs)
		allowed_dirs = g_ptr_array_new_with_free_func(g_free);
	bool known = false;
	for (guint i = 0; i < allowed_dirs->len && !known; i++)
		known = !strcmp(allowed_dirs->pdata[i], real);
	if (!known)
		g_ptr_array_add(allowed_dirs, g_strdup(real));
	g_mutex_unlock(&allowed_lock);
	free(real);
	return true;
}

void block_forget_image_dirs(void)
{
	g_mutex_lock(&allowed_lock);
	g_clear_pointer(&allowed_dirs, g_ptr_array_unref);
	g_mutex_unlock(&allowed_lock);
}

static char *real_dirname(const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	char *real = realpath(dir, NULL);
	char *copy = g_strdup(real);
	free(real);
	return copy;
}

void block_chain_init(struct block_chain *chain, const char *top_path)
{
	*chain = (struct block_chain){ 0 };
	chain->top_dirs[0] = real_dirname(top_path);
	char *real = realpath(top_path, NULL);
	if (real)
		chain->top_dirs[1] = g_path_get_dirname(real);
	free(real);
}

void block_chain_clear(struct block_chain *chain)
{
	g_free(chain->top_dirs[0]);
	g_free(chain->top_dirs[1]);
	*chain = (struct block_chain){ 0 };
}

/* Whether the real path path is dir or lies under it. */
static bool path_under(const char *path, const char *dir)
{
	if (!dir)
		return false;
	size_t n = strlen(dir);
	if (n == 1 && dir[0] == '/')
		return true;
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == 0);
}

/* Appends dir to list unless it is there. */
static void add_dir(GPtrArray *list, const char *dir)
{
	for (guint i = 0; dir && i < list->len; i++)
		if (!strcmp(list->pdata[i], dir))
			return;
	if (dir)
		g_ptr_array_add(list, g_strdup(dir));
}

/* Whether real (a real path) lies under an allowed directory; listing gets them all. */
static bool allowed(const struct block_chain *chain, const char *parent_dir, const char *real,
		    GString *listing)
{
	g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
	add_dir(dirs, chain->top_dirs[0]);
	add_dir(dirs, chain->top_dirs[1]);
	add_dir(dirs, parent_dir);
	g_mutex_lock(&allowed_lock);
	for (guint i = 0; allowed_dirs && i < allowed_dirs->len; i++)
		add_dir(dirs, allowed_dirs->pdata[i]);
	g_mutex_unlock(&allowed_lock);
	bool ok = false;
	for (guint i = 0; i < dirs->len; i++) {
		ok |= path_under(real, dirs->pdata[i]);
		g_string_append_printf(listing, "%s%s", i ? ", " : "", (const char *)dirs->pdata[i]);
	}
	return ok;
}

char *block_resolve_child(const struct block_chain *chain, const char *parent_kind, const char *parent_path,
			  const char *what, const char *name, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(parent_path);
	g_autofree char *named = g_path_is_absolute(name) ? g_strdup(name)
							  : g_build_filename(dir, name, NULL);
	char *real = realpath(named, NULL);
	if (!real) {
		g_set_error(error, SEPIA_ERROR, errno, "%s %s: cannot open %s %s: %s", parent_kind,
			    parent_path, what, named, g_strerror(errno));
		return NULL;
	}
	g_autofree char *parent_dir = real_dirname(parent_path);
	g_autoptr(GString) listing = g_string_new(NULL);
	bool ok = allowed(chain, parent_dir, real, listing);
	if (!ok)
		g_set_error(error, SEPIA_ERROR, EPERM,
			    "%s %s: %s %s (%s) is outside the allowed image directories (%s); "
			    "allow its directory (--allowed-image-dir) or move the file there",
			    parent_kind, parent_path, what, name, real, listing->str);
	char *copy = ok ? g_strdup(real) : NULL;
	free(real);
	return copy;
}

struct block_backend *block_open_child(const struct block_chain *chain, const char *parent_kind,
				       const char *parent_path, const char *what, const char *name,
				       const char *format, bool readonly, GError **error)
{
	if (chain->depth >= BLOCK_MAX_CHAIN) {
		g_set_error(error, SEPIA_ERROR, ELOOP, "%s %s: chain of images deeper than %d (a loop?)",
			    parent_kind, parent_path, BLOCK_MAX_CHAIN);
		return NULL;
	}
	g_autofree char *real = block_resolve_child(chain, parent_kind, parent_path, what, name, error);
	if (!real)
		return NULL;
	struct block_chain child = *chain;
	child.depth++;
	GError *err = NULL;
	const char *fmt = format ? format : probe_file(real, &err);
	struct block_backend *b = fmt ? open_as(&child, real, fmt, readonly, &err) : NULL;
	if (!b)
		g_set_error(error, SEPIA_ERROR, err->code, "%s %s: cannot open %s %s: %s", parent_kind,
			    parent_path, what, real, err->message);
	g_clear_error(&err);
	return b;
}

/* ---- iovec and fd helpers ---- */

uint64_t block_iov_length(const struct iovec *iov, int cnt)
{
	uint64_t len = 0;
	for (int i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	return len;
}

int block_iov_slice(const struct iovec *iov, int cnt, uint64_t skip, uint64_t len, struct iovec *out)
{
	int n = 0;
	for (int i = 0; i < cnt && len > 0; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t take = (size_t)MIN(iov[i].iov_len - skip, len);
		out[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
		out[n].iov_len = take;
		n++;
		len -= take;
		skip = 0;
	}
	return n;
}

int block_fd_rw(int fd, struct iovec *iov, int n, uint64_t off, bool write)
{
	while (n > 0) {
		ssize_t got = write ? pwritev(fd, iov, n, (off_t)off) : preadv(fd, iov, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0) {
			if (write)
				return -EIO;
			for (int i = 0; i < n; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return 0;
		}
		off += (uint64_t)got;
		while (n > 0 && (size_t)got >= iov->iov_len) {
			got -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + got;
			iov->iov_len -= (size_t)got;
		}
	}
	return 0;
}
