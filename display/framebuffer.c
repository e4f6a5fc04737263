/* The scanout file shared between sepia-vmm and the host's display tools; see
 * framebuffer.h for the layout and the sequence lock. */
#include "display/framebuffer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

GQuark fb_error_quark(void) { return g_quark_from_static_string("sepia-framebuffer"); }

struct fb_file {
	char *path;
	uint8_t *map;
	size_t size;
	struct fb_file_header *hdr;
};

static size_t fb_file_size(uint32_t max_width, uint32_t max_height)
{
	return FB_FILE_HEADER_SIZE + (size_t)max_width * max_height * 4;
}

char *fb_file_path(const char *dir, unsigned int index)
{
	g_autofree char *name = g_strdup_printf("display%u.fb", index);
	return g_build_filename(dir, name, NULL);
}

struct fb_file *fb_file_create(const char *path, uint32_t max_width, uint32_t max_height, uint32_t dpi,
			       GError **error)
{
	if (!max_width || !max_height || max_width > FB_FILE_MAX_DIM || max_height > FB_FILE_MAX_DIM) {
		g_set_error(error, FB_ERROR, EINVAL, "%s: a %ux%u framebuffer is outside 1x1 to %ux%u", path,
			    max_width, max_height, FB_FILE_MAX_DIM, FB_FILE_MAX_DIM);
		return NULL;
	}
	/* A new file renamed over the old one: a reader holding the old mapping keeps a
	 * whole (stale) picture instead of a truncated one. */
	g_autofree char *tmp = g_strdup_printf("%s.new", path);
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		g_set_error(error, FB_ERROR, errno, "cannot create %s: %s", tmp, g_strerror(errno));
		return NULL;
	}
	size_t size = fb_file_size(max_width, max_height);
	if (ftruncate(fd, (off_t)size) < 0) {
		g_set_error(error, FB_ERROR, errno, "cannot size %s to %zu bytes: %s", tmp, size,
			    g_strerror(errno));
		close(fd);
		unlink(tmp);
		return NULL;
	}
	void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		g_set_error(error, FB_ERROR, errno, "cannot map %s: %s", tmp, g_strerror(errno));
		unlink(tmp);
		return NULL;
	}
	struct fb_file *fb = g_new0(struct fb_file, 1);
	fb->path = g_strdup(path);
	fb->map = map;
	fb->size = size;
	fb->hdr = map;
	*fb->hdr = (struct fb_file_header){
		.header_size = FB_FILE_HEADER_SIZE,
		.max_width = max_width,
		.max_height = max_height,
		.width = max_width,
		.height = max_height,
		.dpi = dpi,
		.update_usec = (uint64_t)g_get_real_time(),
	};
	memcpy(fb->hdr->magic, FB_FILE_MAGIC, 8);
	if (rename(tmp, path) < 0) {
		g_set_error(error, FB_ERROR, errno, "cannot rename %s to %s: %s", tmp, path,
			    g_strerror(errno));
		unlink(tmp);
		fb_file_close(fb);
		return NULL;
	}
	return fb;
}

uint8_t *fb_file_begin(struct fb_file *fb, uint32_t width, uint32_t height, bool enabled)
{
	__atomic_add_fetch(&fb->hdr->seq, 1, __ATOMIC_ACQ_REL);
	fb->hdr->width = MIN(width, fb->hdr->max_width);
	fb->hdr->height = MIN(height, fb->hdr->max_height);
	fb->hdr->enabled = enabled;
	return fb->map + FB_FILE_HEADER_SIZE;
}

void fb_file_end(struct fb_file *fb)
{
	fb->hdr->frames++;
	fb->hdr->update_usec = (uint64_t)g_get_real_time();
	__atomic_add_fetch(&fb->hdr->seq, 1, __ATOMIC_RELEASE);
}

uint64_t fb_file_frames(const struct fb_file *fb) { return fb->hdr->frames; }

void fb_file_close(struct fb_file *fb)
{
	if (!fb)
		return;
	munmap(fb->map, fb->size);
	g_free(fb->path);
	g_free(fb);
}

/* ---- readers ---- */

/* Whether h starts a sepia framebuffer file of file_size bytes. */
static bool fb_header_valid(const struct fb_file_header *h, size_t file_size)
{
	return !memcmp(h->magic, FB_FILE_MAGIC, 8) && h->header_size == FB_FILE_HEADER_SIZE &&
	       h->max_width <= FB_FILE_MAX_DIM && h->max_height <= FB_FILE_MAX_DIM &&
	       file_size >= fb_file_size(h->max_width, h->max_height);
}

static const struct fb_file_header *fb_map_read(const char *path, size_t *size_out, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		g_set_error(error, FB_ERROR, errno, "cannot open the framebuffer %s: %s", path,
			    g_strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < FB_FILE_HEADER_SIZE) {
		g_set_error(error, FB_ERROR, EINVAL, "%s is not a sepia framebuffer (too short)", path);
		close(fd);
		return NULL;
	}
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		g_set_error(error, FB_ERROR, errno, "cannot map %s: %s", path, g_strerror(errno));
		return NULL;
	}
	const struct fb_file_header *h = map;
	if (!fb_header_valid(h, (size_t)st.st_size)) {
		g_set_error(error, FB_ERROR, EINVAL, "%s is not a sepia framebuffer (bad header)", path);
		munmap(map, (size_t)st.st_size);
		return NULL;
	}
	*size_out = (size_t)st.st_size;
	return h;
}

bool fb_file_snapshot(const char *path, struct fb_image *image, GError **error)
{
	memset(image, 0, sizeof(*image));
	size_t size;
	const struct fb_file_header *h = fb_map_read(path, &size, error);
	if (!h)
		return false;
	const uint8_t *pixels = (const uint8_t *)h + FB_FILE_HEADER_SIZE;
	bool ok = false;
	uint64_t first = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
	for (unsigned int attempt = 0; attempt <= 1000 && !ok; attempt++) {
		uint64_t seq = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
		bool stuck = attempt == 1000 && seq == first;
		if ((seq & 1) && !stuck) {
			g_usleep(1000);
			continue;
		}
		uint32_t w = MIN(h->width, h->max_width), hh = MIN(h->height, h->max_height);
		size_t bytes = (size_t)w * hh * 4;
		g_free(image->pixels);
		image->pixels = bytes ? g_malloc(bytes) : NULL;
		if (bytes)
			memcpy(image->pixels, pixels, bytes);
		image->width = w;
		image->height = hh;
		image->dpi = h->dpi;
		image->enabled = h->enabled;
		image->torn = stuck;
		image->frames = h->frames;
		image->update_usec = h->update_usec;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		ok = stuck || __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE) == seq;
	}
	munmap((void *)h, size);
	if (!ok) {
		fb_image_clear(image);
		g_set_error(error, FB_ERROR, EAGAIN, "%s kept changing for a second; no consistent picture",
			    path);
	}
	return ok;
}

bool fb_file_read_header(const char *path, struct fb_file_header *header, uint64_t *inode, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		g_set_error(error, FB_ERROR, errno, "cannot open the framebuffer %s: %s", path,
			    g_strerror(errno));
		return false;
	}
	/* Two reads of the header with the same even seq saw one state. */
	struct stat st;
	struct fb_file_header again;
	bool ok = false, valid = fstat(fd, &st) == 0;
	for (unsigned int attempt = 0; attempt < 1000 && !ok && valid; attempt++) {
		valid = pread(fd, header, sizeof(*header), 0) == (ssize_t)sizeof(*header) &&
			fb_header_valid(header, (size_t)st.st_size);
		if (!valid)
			break;
		ok = !(header->seq & 1) && pread(fd, &again, sizeof(again), 0) == (ssize_t)sizeof(again) &&
		     again.seq == header->seq;
		if (!ok)
			g_usleep(1000);
	}
	close(fd);
	if (!valid)
		g_set_error(error, FB_ERROR, EINVAL, "%s is not a sepia framebuffer (bad header)", path);
	else if (!ok)
		g_set_error(error, FB_ERROR, EAGAIN, "%s kept changing for a second", path);
	else
		*inode = (uint64_t)st.st_ino;
	return valid && ok;
}

void fb_image_clear(struct fb_image *image)
{
	g_free(image->pixels);
	memset(image, 0, sizeof(*image));
}
