/* images/common.h — shared plumbing for sepia's Android image readers and writers.
 *
 * Every parser here treats its input as hostile: sizes come from the file, so every addition and
 * multiplication is checked, every range is checked against the real length before it is read,
 * and every error is one line that starts with the file's name and says what is wrong. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/byteorder.h"

#define SEPIA_IMAGES_ERROR (sepia_images_error_quark())
GQuark sepia_images_error_quark(void);

typedef enum {
	SEPIA_IMAGES_ERROR_IO,          /* open/read/write/rename failed */
	SEPIA_IMAGES_ERROR_FORMAT,      /* the bytes are not a valid image */
	SEPIA_IMAGES_ERROR_UNSUPPORTED, /* a valid image of a version or kind sepia does not handle */
	SEPIA_IMAGES_ERROR_INVALID,     /* the caller asked a writer for something impossible */
} SepiaImagesError;

/* Checked arithmetic: false on overflow, *out untouched then. */
static inline bool img_add(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}
static inline bool img_mul(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}
/* Round size up to a multiple of align (a power of two); false on overflow. */
static inline bool img_align_up(uint64_t size, uint64_t align, uint64_t *out)
{
	uint64_t t;
	if (!img_add(size, align - 1, &t))
		return false;
	*out = t & ~(align - 1);
	return true;
}
static inline bool img_is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

/* Where an image's bytes come from: a memory buffer or an open file (read with pread, so a
 * multi-gigabyte file never has to be in memory whole). `name` prefixes every error message. */
typedef struct {
	const char *name;
	const guint8 *data; /* buffer form; NULL for a file */
	int fd;             /* file form; -1 for a buffer */
	uint64_t size;      /* total length in bytes */
} ImgSource;

void img_source_init_buffer(ImgSource *src, const char *name, const void *data, gsize len);
/* Opens path read-only; on success the caller must img_source_close(). */
bool img_source_open(ImgSource *src, const char *path, GError **error);
void img_source_close(ImgSource *src);

/* Copies [off, off+len) into a new GBytes. `what` names the range in the error when it does
 * not lie inside the source ("kernel", "vendor ramdisk table"). */
GBytes *img_source_read(const ImgSource *src, uint64_t off, uint64_t len, const char *what, GError **error);
/* Reads exactly len bytes at off into buf (len small, e.g. a header). */
bool img_source_read_into(const ImgSource *src, uint64_t off, void *buf, gsize len, const char *what,
			  GError **error);
/* Reads the first len bytes of src into buf; a shorter source is an error that calls the header
 * `what` ("a boot image header"). */
bool img_read_header(const ImgSource *src, void *buf, uint32_t len, const char *what, GError **error);
/* Reads a page-aligned section of `size` bytes at *off (`field` names its size field in errors)
 * and advances *off to the next multiple of page. A size of 0 gives empty bytes, wherever *off is. */
GBytes *img_read_section(const ImgSource *src, uint64_t *off, uint32_t size, uint32_t page, const char *field,
			 GError **error);

/* A format's parser over an ImgSource; it returns the format's own struct, or NULL with *error set. */
typedef void *(*ImgParseFn)(const ImgSource *src, GError **error);
/* Runs parse over a memory buffer (named `name` in errors) or over the file at path: the
 * _parse_buffer() and _parse_file() of each format. */
void *img_parse_buffer(const void *data, gsize len, const char *name, ImgParseFn parse, GError **error);
void *img_parse_file(const char *path, ImgParseFn parse, GError **error);

/* The size of b, 0 for NULL (an absent section). */
static inline gsize img_bytes_len(GBytes *b) { return b ? g_bytes_get_size(b) : 0; }

/* Android boot images use page sizes that are powers of two from 2 KiB to 64 KiB; any
 * other is an error with the given code, naming the image. */
#define SEPIA_BOOT_MIN_PAGE_SIZE 2048
#define SEPIA_BOOT_MAX_PAGE_SIZE 65536
bool img_check_page_size(uint32_t page, SepiaImagesError code, const char *name, GError **error);

/* Sets *error to a FORMAT error "name: <printf>". Always returns false (for `return img_fail(...)`). */
bool img_fail(GError **error, const char *name, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
bool img_fail_code(GError **error, SepiaImagesError code, const char *name, const char *fmt, ...)
	G_GNUC_PRINTF(4, 5);

/* A fixed-size, NUL-padded string field to a C string (stops at the first NUL or at max). */
char *img_strndup_field(const guint8 *field, gsize max);
/* Replaces the string *dst with img_strndup_field(field, max). */
void img_set_field(char **dst, const guint8 *field, gsize max);

/* Writes data to path through a temporary file in the same directory, renamed on success; on
 * failure nothing new is left at path or beside it. */
bool img_write_atomic(const char *path, const guint8 *data, gsize len, GError **error);
/* img_write_atomic of a serialized image; NULL bytes (the serializer failed and set *error) is false. */
bool img_write_bytes(const char *path, GBytes *bytes, GError **error);
/* Reads a whole (small) file, such as a key; the error names path. */
bool img_read_file(const char *path, char **data, gsize *len, GError **error);

/* Temp-file-and-rename for streaming writers: img_tmp_create makes "<path>.XXXXXX" beside path
 * and returns its fd; img_tmp_commit fsyncs, closes and renames it over path; img_tmp_abort
 * closes and unlinks it. */
int img_tmp_create(const char *path, char **tmp_path_out, GError **error);
bool img_tmp_commit(int fd, const char *tmp_path, const char *path, GError **error);
void img_tmp_abort(int fd, const char *tmp_path);

/* Android's os_version field: A.B.C in bits 31..11 (7 bits each), (year-2000) in 10..4, month in
 * 3..0. */
uint32_t sepia_os_version_pack(unsigned major, unsigned minor, unsigned patch, unsigned year, unsigned month);
void sepia_os_version_unpack(uint32_t os_version, unsigned *major, unsigned *minor, unsigned *patch,
			     unsigned *year, unsigned *month);
