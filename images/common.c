/* images/common.c — sources, errors and atomic writes shared by the image formats. */
#include "images/common.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(sepia - images - error - quark, sepia_images_error)

static bool img_vfail(GError **error, SepiaImagesError code, const char *name, const char *fmt, va_list ap)
{
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	g_set_error(error, SEPIA_IMAGES_ERROR, code, "%s: %s", name ? name : "(image)", msg);
	return false;
}

bool img_fail(GError **error, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	img_vfail(error, SEPIA_IMAGES_ERROR_FORMAT, name, fmt, ap);
	va_end(ap);
	return false;
}

bool img_fail_code(GError **error, SepiaImagesError code, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	img_vfail(error, code, name, fmt, ap);
	va_end(ap);
	return false;
}

void img_source_init_buffer(ImgSource *src, const char *name, const void *data, gsize len)
{
	src->name = name;
	src->data = data;
	src->fd = -1;
	src->size = len;
}

bool img_source_open(ImgSource *src, const char *path, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "cannot open: %s",
				     g_strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "cannot stat: %s", g_strerror(e));
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "not a regular file");
	}
	uint64_t size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);
		size = end > 0 ? (uint64_t)end : 0;
	}
	src->name = path;
	src->data = NULL;
	src->fd = fd;
	src->size = size;
	return true;
}

void img_source_close(ImgSource *src)
{
	if (src->fd >= 0)
		close(src->fd);
	src->fd = -1;
}

static bool img_range_ok(const ImgSource *src, uint64_t off, uint64_t len, const char *what, GError **error)
{
	uint64_t end;
	if (!img_add(off, len, &end) || end > src->size)
		return img_fail(error, src->name,
				"%s 0x%" G_GINT64_MODIFIER "x at offset 0x%" G_GINT64_MODIFIER
				"x runs past the end of the file (%" G_GUINT64_FORMAT " bytes)",
				what, (guint64)len, (guint64)off, (guint64)src->size);
	return true;
}

static bool img_pread_full(const ImgSource *src, uint64_t off, guint8 *buf, uint64_t len, const char *what,
			   GError **error)
{
	while (len > 0) {
		size_t want = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t n = pread(src->fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, src->name, "reading %s: %s", what,
					     g_strerror(errno));
		if (n == 0) /* the file shrank under us */
			return img_fail(error, src->name,
					"%s: unexpected end of file at offset 0x%" G_GINT64_MODIFIER "x",
					what, (guint64)off);
		buf += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return true;
}

bool img_source_read_into(const ImgSource *src, uint64_t off, void *buf, gsize len, const char *what,
			  GError **error)
{
	if (!img_range_ok(src, off, len, what, error))
		return false;
	if (src->data) {
		if (len)
			memcpy(buf, src->data + off, len);
		return true;
	}
	return img_pread_full(src, off, buf, len, what, error);
}

GBytes *img_source_read(const ImgSource *src, uint64_t off, uint64_t len, const char *what, GError **error)
{
	if (!img_range_ok(src, off, len, what, error))
		return NULL;
	if (len > G_MAXSIZE) {
		img_fail(error, src->name, "%s is too large to load", what);
		return NULL;
	}
	if (len == 0)
		return g_bytes_new(NULL, 0);
	if (src->data)
		return g_bytes_new(src->data + off, (gsize)len);
	guint8 *buf = g_try_malloc((gsize)len);
	if (!buf) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_IO, src->name,
			      "out of memory loading %s (%" G_GUINT64_FORMAT " bytes)", what, (guint64)len);
		return NULL;
	}
	if (!img_pread_full(src, off, buf, len, what, error)) {
		g_free(buf);
		return NULL;
	}
	return g_bytes_new_take(buf, (gsize)len);
}

bool img_read_header(const ImgSource *src, void *buf, uint32_t len, const char *what, GError **error)
{
	if (src->size < len)
		return img_fail(error, src->name,
				"file is %" G_GUINT64_FORMAT " bytes, too short for %s (%u bytes)",
				(guint64)src->size, what, len);
	return img_source_read_into(src, 0, buf, len, "header", error);
}

GBytes *img_read_section(const ImgSource *src, uint64_t *off, uint32_t size, uint32_t page, const char *field,
			 GError **error)
{
	if (size == 0) /* an absent section may sit past the end of an unpadded file */
		return g_bytes_new(NULL, 0);
	GBytes *b = img_source_read(src, *off, size, field, error);
	if (!b)
		return NULL;
	uint64_t end = *off + size; /* cannot overflow: checked inside img_source_read */
	if (!img_align_up(end, page, off)) {
		g_bytes_unref(b);
		img_fail(error, src->name, "%s 0x%x: image layout overflows", field, size);
		return NULL;
	}
	return b;
}

void *img_parse_buffer(const void *data, gsize len, const char *name, ImgParseFn parse, GError **error)
{
	ImgSource src;
	img_source_init_buffer(&src, name, data, len);
	return parse(&src, error);
}

void *img_parse_file(const char *path, ImgParseFn parse, GError **error)
{
	ImgSource src;
	if (!img_source_open(&src, path, error))
		return NULL;
	void *parsed = parse(&src, error);
	img_source_close(&src);
	return parsed;
}

char *img_strndup_field(const guint8 *field, gsize max)
{
	gsize n = 0;
	while (n < max && field[n])
		n++;
	return g_strndup((const char *)field, n);
}

void img_set_field(char **dst, const guint8 *field, gsize max)
{
	g_free(*dst);
	*dst = img_strndup_field(field, max);
}

bool img_write_atomic(const char *path, const guint8 *data, gsize len, GError **error)
{
	g_autoptr(GError) local = NULL;
	/* GLib writes "<path>.XXXXXX", fsyncs it and renames it; on failure it unlinks the temp. */
	if (!g_file_set_contents_full(path, (const char *)data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT,
				      0644, &local))
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "cannot write: %s", local->message);
	return true;
}

bool img_write_bytes(const char *path, GBytes *bytes, GError **error)
{
	if (!bytes)
		return false;
	gsize len;
	const guint8 *data = g_bytes_get_data(bytes, &len);
	return img_write_atomic(path, data, len, error);
}

bool img_read_file(const char *path, char **data, gsize *len, GError **error)
{
	g_autoptr(GError) local = NULL;
	if (!g_file_get_contents(path, data, len, &local))
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "cannot read: %s", local->message);
	return true;
}

int img_tmp_create(const char *path, char **tmp_path_out, GError **error)
{
	char *tmp = g_strdup_printf("%s.XXXXXX", path);
	int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0644);
	if (fd < 0) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "cannot create a temporary file: %s",
			      g_strerror(errno));
		g_free(tmp);
		return -1;
	}
	*tmp_path_out = tmp;
	return fd;
}

bool img_tmp_commit(int fd, const char *tmp_path, const char *path, GError **error)
{
	if (fsync(fd) < 0 && errno != EINVAL) {
		int e = errno;
		img_tmp_abort(fd, tmp_path);
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "fsync failed: %s", g_strerror(e));
	}
	if (close(fd) < 0) {
		int e = errno;
		g_unlink(tmp_path);
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "close failed: %s", g_strerror(e));
	}
	if (g_rename(tmp_path, path) < 0) {
		int e = errno;
		g_unlink(tmp_path);
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "rename failed: %s", g_strerror(e));
	}
	return true;
}

void img_tmp_abort(int fd, const char *tmp_path)
{
	if (fd >= 0)
		close(fd);
	if (tmp_path)
		g_unlink(tmp_path);
}

uint32_t sepia_os_version_pack(unsigned major, unsigned minor, unsigned patch, unsigned year, unsigned month)
{
	uint32_t ver = (major & 0x7f) << 14 | (minor & 0x7f) << 7 | (patch & 0x7f);
	uint32_t lvl = year >= 2000 ? ((year - 2000) & 0x7f) << 4 | (month & 0xf) : 0;
	return ver << 11 | lvl;
}

void sepia_os_version_unpack(uint32_t v, unsigned *major, unsigned *minor, unsigned *patch, unsigned *year,
			     unsigned *month)
{
	if (major)
		*major = (v >> 25) & 0x7f;
	if (minor)
		*minor = (v >> 18) & 0x7f;
	if (patch)
		*patch = (v >> 11) & 0x7f;
	if (year)
		*year = ((v >> 4) & 0x7f) + 2000;
	if (month)
		*month = v & 0xf;
}

bool img_check_page_size(uint32_t page, SepiaImagesError code, const char *name, GError **error)
{
	if (img_is_pow2(page) && page >= SEPIA_BOOT_MIN_PAGE_SIZE && page <= SEPIA_BOOT_MAX_PAGE_SIZE)
		return true;
	return img_fail_code(error, code, name, "page_size %u is not a power of two between %u and %u", page,
			     SEPIA_BOOT_MIN_PAGE_SIZE, SEPIA_BOOT_MAX_PAGE_SIZE);
}
