/* virtio-gpu resources and scanouts: creation, guest backing pages, 2D transfers into host
 * memory, and publishing what a scanout shows to its framebuffer file on each flush. In
 * virgl mode the pixels live in virglrenderer; this file keeps the bookkeeping and checks
 * every id, rectangle and guest address before anything reaches the renderer. */
#include "devices/virtio/gpu_internal.h"

#include <errno.h>
#include <string.h>

struct gpu_resource *gpu_resource_find(struct virtio_gpu *g, uint32_t id)
{
	return id ? g_hash_table_lookup(g->resources, GUINT_TO_POINTER(id)) : NULL;
}

void gpu_resource_free(gpointer data)
{
	struct gpu_resource *res = data;
	g_free(res->pixels);
	g_free(res->backing);
	g_free(res);
}

/* ---- the host memory budget ---- */

void gpu_log_refusal(struct virtio_gpu *g, const char *what, uint32_t id, const char *why)
{
	g->refusals++;
	gint64 now = g_get_monotonic_time();
	if (g->refusal_logged_at && now - g->refusal_logged_at < GPU_REFUSAL_LOG_USEC)
		return;
	g_message("%s: %s %u refused: %s; answered ERR_OUT_OF_MEMORY (%" G_GUINT64_FORMAT
		  " refusals, %" G_GUINT64_FORMAT " since the last such line)",
		  g->name, what, id, why, g->refusals, g->refusals - g->refusals_logged);
	g->refusals_logged = g->refusals;
	g->refusal_logged_at = now;
}

bool gpu_hostmem_take(struct virtio_gpu *g, uint64_t bytes, const char *what, uint32_t id)
{
	if (bytes <= GPU_MAX_HOSTMEM - g->hostmem) {
		g->hostmem += bytes;
		return true;
	}
	g_autofree char *why = g_strdup_printf(
		"%" G_GUINT64_FORMAT
		" more bytes of host memory would pass the device's %u MiB (%" G_GUINT64_FORMAT
		" bytes held by %u resources and %u contexts)",
		bytes, GPU_MAX_HOSTMEM >> 20, g->hostmem, g_hash_table_size(g->resources),
		g->contexts ? g_hash_table_size(g->contexts) : 0);
	gpu_log_refusal(g, what, id, why);
	return false;
}

void gpu_hostmem_give(struct virtio_gpu *g, uint64_t bytes)
{
	if (bytes > g->hostmem) { /* a sepia bug, fatal under the tests and fuzzers */
		g_critical("%s: host memory budget: %" G_GUINT64_FORMAT
			   " bytes given back, %" G_GUINT64_FORMAT " held",
			   g->name, bytes, g->hostmem);
		bytes = g->hostmem;
	}
	g->hostmem -= bytes;
}

bool gpu_resource_admit(struct virtio_gpu *g, uint32_t id, uint64_t bytes)
{
	if (g_hash_table_size(g->resources) >= GPU_MAX_RESOURCES) {
		g_autofree char *why = g_strdup_printf(
			"the guest holds %u resources already, the most it may", GPU_MAX_RESOURCES);
		gpu_log_refusal(g, "resource", id, why);
		return false;
	}
	return gpu_hostmem_take(g, bytes, "resource", id);
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

uint64_t gpu_resource_3d_bytes(const struct virtio_gpu_resource_create_3d *c, uint32_t texel_bytes)
{
	uint64_t per_level_copies = mul_sat(mul_sat(MAX(c->array_size, 1u), MAX(c->nr_samples, 1u)),
					    texel_bytes);
	uint64_t total = 0;
	for (uint32_t level = 0; level <= c->last_level && level < 32; level++) {
		uint64_t texels = mul_sat(mul_sat(MAX(c->width >> level, 1u), MAX(c->height >> level, 1u)),
					  MAX(c->depth >> level, 1u));
		uint64_t bytes = mul_sat(texels, per_level_copies);
		total = bytes > UINT64_MAX - total ? UINT64_MAX : total + bytes;
	}
	return total;
}

/* What a resource holds against the budget: its storage, bookkeeping and backing array. */
static uint64_t resource_charge(const struct gpu_resource *res)
{
	return res->hostmem + (uint64_t)res->nr_backing * sizeof(struct iovec);
}

bool gpu_rect_inside(const struct virtio_gpu_rect *r, uint32_t width, uint32_t height)
{
	return r->x <= width && r->width <= width - r->x && r->y <= height && r->height <= height - r->y;
}

bool gpu_format_supported(uint32_t format)
{
	switch (format) {
	case VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM:
	case VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM:
	case VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM:
	case VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM:
	case VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM:
	case VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM:
	case VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM:
	case VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM:
		return true;
	default:
		return false;
	}
}

/* Byte positions of R, G and B inside a pixel of each format (names list bytes in memory
 * order, as Gallium's formats do). */
static void format_positions(uint32_t format, unsigned int *r, unsigned int *g, unsigned int *b)
{
	switch (format) {
	case VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM:
	case VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM:
		*r = 1, *g = 2, *b = 3;
		break;
	case VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM:
	case VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM:
		*r = 0, *g = 1, *b = 2;
		break;
	case VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM:
	case VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM:
		*r = 3, *g = 2, *b = 1;
		break;
	default: /* B8G8R8A8, B8G8R8X8: already XRGB8888 */
		*r = 2, *g = 1, *b = 0;
		break;
	}
}

void gpu_convert_to_xrgb(uint32_t format, const uint8_t *src, size_t src_stride, uint8_t *dst,
			 size_t dst_stride, uint32_t width, uint32_t height)
{
	unsigned int r, g, b;
	format_positions(format, &r, &g, &b);
	for (uint32_t y = 0; y < height; y++) {
		const uint8_t *s = src + y * src_stride;
		uint8_t *d = dst + y * dst_stride;
		if (r == 2 && g == 1 && b == 0) {
			memcpy(d, s, (size_t)width * 4);
			continue;
		}
		for (uint32_t x = 0; x < width; x++, s += 4, d += 4) {
			d[0] = s[b];
			d[1] = s[g];
			d[2] = s[r];
			d[3] = 0xff;
		}
	}
}

/* ---- the scanouts' framebuffer files ---- */

/* Copies rect (resource coordinates, inside both the resource and the scanout) of what
 * scanout s shows into its framebuffer file. */
static void scanout_publish(struct virtio_gpu *g, struct gpu_scanout *s, struct gpu_resource *res,
			    const struct virtio_gpu_rect *rect)
{
	if (!s->fb)
		return;
	uint32_t pic_w = MIN(s->r.width, s->width), pic_h = MIN(s->r.height, s->height);
	uint8_t *pixels = fb_file_begin(s->fb, pic_w, pic_h, true);
	uint32_t x0 = rect->x - s->r.x, y0 = rect->y - s->r.y;
	if (x0 < pic_w && y0 < pic_h) {
		uint32_t w = MIN(rect->width, pic_w - x0), h = MIN(rect->height, pic_h - y0);
		uint8_t *dst = pixels + ((size_t)y0 * pic_w + x0) * 4;
		struct virtio_gpu_rect clipped = { rect->x, rect->y, w, h };
		if (res->pixels)
			gpu_convert_to_xrgb(res->format,
					    res->pixels + ((size_t)rect->y * res->width + rect->x) * 4,
					    (size_t)res->width * 4, dst, (size_t)pic_w * 4, w, h);
		else if (w && h && !gpu_virgl_read_rect(g, res, &clipped, dst, (size_t)pic_w * 4))
			g_warning("%s: resource %u: cannot read back %ux%u+%u+%u for the display", g->name,
				  res->id, w, h, rect->x, rect->y);
	}
	fb_file_end(s->fb);
}

static void scanout_disable(struct virtio_gpu *g, unsigned int index)
{
	struct gpu_scanout *s = &g->scanout[index];
	struct gpu_resource *old = gpu_resource_find(g, s->resource_id);
	if (old)
		old->scanouts &= ~(1u << index);
	s->resource_id = 0;
	memset(&s->r, 0, sizeof(s->r));
	if (s->fb) {
		uint8_t *pixels = fb_file_begin(s->fb, s->width, s->height, false);
		memset(pixels, 0, (size_t)s->width * s->height * 4);
		fb_file_end(s->fb);
	}
}

void gpu_scanouts_publish(struct virtio_gpu *g)
{
	for (unsigned int i = 0; i < g->nr_scanouts; i++) {
		struct gpu_scanout *s = &g->scanout[i];
		struct gpu_resource *res = gpu_resource_find(g, s->resource_id);
		if (res)
			scanout_publish(g, s, res, &s->r);
	}
}

void gpu_resources_reset(struct virtio_gpu *g, bool blank)
{
	for (unsigned int i = 0; i < g->nr_scanouts; i++) {
		if (blank && g->scanout[i].resource_id)
			scanout_disable(g, i);
		g->scanout[i].resource_id = 0;
	}
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, g->resources);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		gpu_hostmem_give(g, resource_charge(value));
		if (g->virgl)
			gpu_virgl_resource_unref(value);
	}
	g_hash_table_remove_all(g->resources);
	memset(&g->cursor, 0, sizeof(g->cursor));
}

/* ---- commands ---- */

uint32_t gpu_cmd_resource_create_2d(struct virtio_gpu *g, struct gpu_request *req)
{
	const struct virtio_gpu_resource_create_2d *c = &req->u.create_2d;
	if (!c->resource_id || gpu_resource_find(g, c->resource_id))
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (!gpu_format_supported(c->format) || !c->width || !c->height || c->width > GPU_MAX_RESOURCE_DIM ||
	    c->height > GPU_MAX_RESOURCE_DIM)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	uint64_t bytes = GPU_RESOURCE_COST + (uint64_t)c->width * c->height * 4;
	if (!gpu_resource_admit(g, c->resource_id, bytes))
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	struct gpu_resource *res = g_new0(struct gpu_resource, 1);
	*res = (struct gpu_resource){ .id = c->resource_id,
				      .format = c->format,
				      .width = c->width,
				      .height = c->height,
				      .hostmem = bytes };
	if (g->virgl) {
		struct virtio_gpu_resource_create_3d args = {
			.resource_id = c->resource_id,
			.target = 2 /* PIPE_TEXTURE_2D */,
			.format = c->format,
			.bind = 1u << 1 /* render target */,
			.width = c->width,
			.height = c->height,
			.depth = 1,
			.array_size = 1,
			.flags = VIRTIO_GPU_RESOURCE_FLAG_Y_0_TOP,
		};
		uint32_t resp = gpu_virgl_resource_create(g, res, &args);
		if (resp != VIRTIO_GPU_RESP_OK_NODATA) {
			gpu_hostmem_give(g, bytes);
			gpu_resource_free(res);
			return resp;
		}
	} else {
		res->pixels = g_try_malloc0((size_t)c->width * c->height * 4);
		if (!res->pixels) {
			gpu_hostmem_give(g, bytes);
			g_free(res);
			return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
		}
	}
	g_hash_table_insert(g->resources, GUINT_TO_POINTER(res->id), res);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

uint32_t gpu_cmd_resource_unref(struct virtio_gpu *g, struct gpu_request *req)
{
	struct gpu_resource *res = gpu_resource_find(g, req->u.unref.resource_id);
	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	for (unsigned int i = 0; i < g->nr_scanouts; i++)
		if (res->scanouts & (1u << i))
			scanout_disable(g, i);
	gpu_hostmem_give(g, resource_charge(res));
	if (g->virgl)
		gpu_virgl_resource_unref(res);
	g_hash_table_remove(g->resources, GUINT_TO_POINTER(res->id));
	return VIRTIO_GPU_RESP_OK_NODATA;
}

/* Drops res's backing array and gives its charge back. */
static void backing_release(struct virtio_gpu *g, struct gpu_resource *res)
{
	gpu_hostmem_give(g, (uint64_t)res->nr_backing * sizeof(struct iovec));
	g_clear_pointer(&res->backing, g_free);
	res->nr_backing = 0;
	res->backing_len = 0;
}

uint32_t gpu_cmd_attach_backing(struct virtio_gpu *g, struct gpu_request *req)
{
	const struct virtio_gpu_resource_attach_backing *a = &req->u.attach;
	struct gpu_resource *res = gpu_resource_find(g, a->resource_id);
	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (res->backing || !a->nr_entries || a->nr_entries > GPU_MAX_BACKING_ENTRIES)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	size_t table = (size_t)a->nr_entries * sizeof(struct virtio_gpu_mem_entry);
	if (virtq_cursor_left(&req->body) < table)
		return VIRTIO_GPU_RESP_ERR_UNSPEC; /* fewer entries than it says */
	if (!gpu_hostmem_take(g, (uint64_t)a->nr_entries * sizeof(struct iovec), "backing of resource",
			      res->id))
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	res->backing = g_new(struct iovec, a->nr_entries);
	res->nr_backing = a->nr_entries;
	/* The entries come a page at a time: no host copy of the whole table. */
	struct virtio_gpu_mem_entry e[4096 / sizeof(struct virtio_gpu_mem_entry)];
	size_t total = 0;
	for (uint32_t i = 0; i < a->nr_entries; i++) {
		uint32_t k = i % G_N_ELEMENTS(e);
		if (k == 0)
			virtq_read_obj(&req->body, e, MIN(G_N_ELEMENTS(e), a->nr_entries - i) * sizeof(e[0]));
		void *host = e[k].length ? guest_mem_ptr(&g->host->mem, e[k].addr, e[k].length) : NULL;
		if (!host) {
			if (gpu_guest_error_logged(g))
				g_message("%s: resource %u: backing entry %u (0x%" G_GINT64_MODIFIER
					  "x, %u bytes) is not in guest RAM",
					  g->name, res->id, i, (uint64_t)e[k].addr, e[k].length);
			backing_release(g, res);
			return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
		}
		res->backing[i] = (struct iovec){ host, e[k].length };
		total += e[k].length;
	}
	res->backing_len = total;
	if (g->virgl) {
		uint32_t resp = gpu_virgl_attach_backing(res);
		if (resp != VIRTIO_GPU_RESP_OK_NODATA) {
			backing_release(g, res);
			return resp;
		}
	}
	return VIRTIO_GPU_RESP_OK_NODATA;
}

uint32_t gpu_cmd_detach_backing(struct virtio_gpu *g, struct gpu_request *req)
{
	struct gpu_resource *res = gpu_resource_find(g, req->u.detach.resource_id);
	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (!res->backing)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	if (g->virgl)
		gpu_virgl_detach_backing(res);
	backing_release(g, res);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

/* Copies len bytes at byte offset off of the backing into dst. */
static void backing_read(const struct gpu_resource *res, size_t off, uint8_t *dst, size_t len)
{
	for (unsigned int i = 0; i < res->nr_backing && len; i++) {
		if (off >= res->backing[i].iov_len) {
			off -= res->backing[i].iov_len;
			continue;
		}
		size_t n = MIN(len, res->backing[i].iov_len - off);
		memcpy(dst, (const uint8_t *)res->backing[i].iov_base + off, n);
		dst += n;
		len -= n;
		off = 0;
	}
}

uint32_t gpu_cmd_transfer_to_host_2d(struct virtio_gpu *g, struct gpu_request *req)
{
	const struct virtio_gpu_transfer_to_host_2d *t = &req->u.transfer_2d;
	struct gpu_resource *res = gpu_resource_find(g, t->resource_id);
	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (!res->backing || !gpu_rect_inside(&t->r, res->width, res->height))
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	if (!t->r.width || !t->r.height)
		return VIRTIO_GPU_RESP_OK_NODATA;
	/* The guest's offset already points at (x, y) in a width * 4 stride; its last row
	 * must end inside the backing. */
	size_t stride = (size_t)res->width * 4, row = (size_t)t->r.width * 4;
	uint64_t last_end = t->offset + (uint64_t)(t->r.height - 1) * stride + row;
	if (t->offset > res->backing_len || last_end > res->backing_len || last_end < t->offset)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	if (g->virgl)
		return gpu_virgl_transfer_to_host_2d(res, t);
	uint8_t *dst = res->pixels + (size_t)t->r.y * stride + (size_t)t->r.x * 4;
	if (t->r.x == 0 && t->r.width == res->width) {
		backing_read(res, t->offset, dst, (size_t)t->r.height * stride);
	} else {
		for (uint32_t y = 0; y < t->r.height; y++)
			backing_read(res, t->offset + y * stride, dst + y * stride, row);
	}
	return VIRTIO_GPU_RESP_OK_NODATA;
}

uint32_t gpu_cmd_set_scanout(struct virtio_gpu *g, struct gpu_request *req)
{
	const struct virtio_gpu_set_scanout *s = &req->u.set_scanout;
	if (s->scanout_id >= g->nr_scanouts)
		return VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID;
	if (!s->resource_id) {
		scanout_disable(g, s->scanout_id);
		return VIRTIO_GPU_RESP_OK_NODATA;
	}
	struct gpu_resource *res = gpu_resource_find(g, s->resource_id);
	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (!s->r.width || !s->r.height || !gpu_rect_inside(&s->r, res->width, res->height))
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	struct gpu_scanout *so = &g->scanout[s->scanout_id];
	struct gpu_resource *old = gpu_resource_find(g, so->resource_id);
	if (old)
		old->scanouts &= ~(1u << s->scanout_id);
	so->resource_id = res->id;
	so->r = s->r;
	res->scanouts |= 1u << s->scanout_id;
	/* Show what the resource holds now; later flushes update the changed parts. */
	scanout_publish(g, so, res, &s->r);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

uint32_t gpu_cmd_resource_flush(struct virtio_gpu *g, struct gpu_request *req)
{
	const struct virtio_gpu_resource_flush *f = &req->u.flush;
	struct gpu_resource *res = gpu_resource_find(g, f->resource_id);
	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (!gpu_rect_inside(&f->r, res->width, res->height))
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	g->flushes++;
	for (unsigned int i = 0; i < g->nr_scanouts; i++) {
		struct gpu_scanout *s = &g->scanout[i];
		if (!(res->scanouts & (1u << i)))
			continue;
		/* The part of the flushed rectangle this scanout shows. */
		uint32_t x0 = MAX(f->r.x, s->r.x), y0 = MAX(f->r.y, s->r.y);
		uint32_t x1 = MIN(f->r.x + f->r.width, s->r.x + s->r.width);
		uint32_t y1 = MIN(f->r.y + f->r.height, s->r.y + s->r.height);
		if (x0 >= x1 || y0 >= y1)
			continue;
		struct virtio_gpu_rect dirty = { x0, y0, x1 - x0, y1 - y0 };
		scanout_publish(g, s, res, &dirty);
	}
	return VIRTIO_GPU_RESP_OK_NODATA;
}
