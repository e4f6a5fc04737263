/* A scanout published to host tools. sepia-vmm keeps one file per scanout
 * (DIR/display<N>.fb), maps it shared and rewrites the picture on every flush; cvd_display
 * and the web view map it read-only and copy a consistent picture out.
 *
 * Layout: a 4096-byte header, then max_width * max_height pixels of 4 bytes, rows of
 * width * 4 bytes from the top, each pixel B, G, R, X in memory (DRM's XRGB8888).
 * Consistency is a sequence lock: the writer makes seq odd, writes, then makes it even
 * again; a reader that saw the same even seq before and after its copy has a whole frame. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* Errors of the readers and the writer: domain FB_ERROR, code an errno value (ENOENT: no
 * such file, EINVAL: not a sepia framebuffer). */
#define FB_ERROR (fb_error_quark())
GQuark fb_error_quark(void);

#define FB_FILE_MAGIC       "SEPIAFB1"
#define FB_FILE_HEADER_SIZE 4096u
#define FB_FILE_MAX_DIM     8192u

struct fb_file_header {
	char magic[8];
	uint32_t header_size; /* FB_FILE_HEADER_SIZE */
	uint32_t max_width;   /* the file holds max_width * max_height pixels */
	uint32_t max_height;
	uint32_t width; /* the picture now published (0 x 0: nothing shown) */
	uint32_t height;
	uint32_t dpi;
	uint32_t enabled; /* 1 while the guest has a resource on this scanout */
	uint32_t reserved;
	uint64_t seq;         /* the sequence lock; accessed atomically */
	uint64_t frames;      /* pictures published since the file was made */
	uint64_t update_usec; /* g_get_real_time() of the last publish */
};

/* DIR/display<index>.fb: where scanout index of a device whose files are in DIR is published. */
char *fb_file_path(const char *dir, unsigned int index);

/* ---- the writer (sepia-vmm) ---- */

struct fb_file;
/* Creates (or replaces) path for a max_width x max_height scanout; the picture starts
 * disabled, black, at that size. */
struct fb_file *fb_file_create(const char *path, uint32_t max_width, uint32_t max_height, uint32_t dpi,
			       GError **error);
/* Pixels of the picture being written: max_width * max_height * 4 bytes, rows of width * 4
 * bytes as set by fb_file_begin. */
uint8_t *fb_file_begin(struct fb_file *fb, uint32_t width, uint32_t height, bool enabled);
void fb_file_end(struct fb_file *fb);
uint64_t fb_file_frames(const struct fb_file *fb);
void fb_file_close(struct fb_file *fb);

/* ---- readers (cvd_display, the web view, tests) ---- */

struct fb_image {
	uint32_t width, height; /* pixels are width * height * 4 bytes, B G R X */
	uint32_t dpi;
	bool enabled;
	bool torn; /* the writer died mid-frame: the copy may mix two frames */
	uint64_t frames;
	uint64_t update_usec;
	uint8_t *pixels; /* g_malloc'd; NULL when the picture is 0 x 0 */
};

/* Copies the current picture of path. Fails, naming path, when the file is missing, not a
 * sepia framebuffer, or kept changing for a second. A frame left half-written (the sequence
 * odd and unchanged for that second: the writer died in it) is copied with torn set. */
bool fb_file_snapshot(const char *path, struct fb_image *image, GError **error);
/* The header alone, cheaply (for a viewer asking often), copied under the sequence lock, and
 * the file's inode (a new VMM makes a new file). Fails as fb_file_snapshot does. */
bool fb_file_read_header(const char *path, struct fb_file_header *header, uint64_t *inode, GError **error);
void fb_image_clear(struct fb_image *image);
