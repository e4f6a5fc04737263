/* virtio-gpu in a snapshot (devices/snapshot.h), 2D mode: the resources (their pixels, as the
 * host holds them, and the guest pages backing them), the scanouts and the cursor. virgl's 3D
 * state lives inside virglrenderer and cannot be saved: a snapshot of a device in virgl mode
 * is refused, saying so, once the guest made a context or a resource (before, there is no 3D
 * state, and the snapshot holds what a 2D one does). A restore checks every value as it checks a guest command: ids,
 * formats, sizes, the host memory budget, rectangles and guest addresses. */
#include "devices/virtio/gpu_internal.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "devices/host.h"
#include "devices/snapshot.h"

/* The guest physical address of a host pointer into guest RAM (a backing entry's). */
static bool host_to_gpa(const struct guest_mem *mem, const void *host, size_t len, uint64_t *gpa)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->region[i];
		const uint8_t *p = host;
		if (p >= r->host && (uint64_t)(p - r->host) < r->size &&
		    len <= r->size - (uint64_t)(p - r->host)) {
			*gpa = r->gpa + (uint64_t)(p - r->host);
			return true;
		}
	}
	return false;
}

bool gpu_snapshot_save(struct virtio_gpu *g, struct snap_writer *w, GError **error)
{
	/* A virgl device with no context and no resource holds nothing inside virglrenderer yet
	 * (a guest before its first use of the GPU, as at the boot snapshot point): its state is
	 * the scanouts' and the cursor's, as in 2D mode. */
	if (g->virgl &&
	    ((g->contexts && g_hash_table_size(g->contexts)) || g_hash_table_size(g->resources))) {
		g_set_error(error, SEPIA_ERROR, ENOTSUP,
			    "%s runs virgl 3D contexts, whose state lives in virglrenderer and cannot be "
			    "saved: take snapshots of a VM with --gpu 2d (launch_cvd --gpu_mode="
			    "guest_swiftshader) or none",
			    g->name);
		return false;
	}
	snap_put_u32(w, g->nr_scanouts);
	for (unsigned int i = 0; i < g->nr_scanouts; i++) {
		snap_put_u32(w, g->scanout[i].resource_id);
		snap_put_blob(w, &g->scanout[i].r, sizeof(g->scanout[i].r));
	}
	snap_put_blob(w, &g->cursor, sizeof(g->cursor));
	snap_put_u32(w, g_hash_table_size(g->resources));
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, g->resources);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct gpu_resource *res = value;
		snap_put_u32(w, res->id);
		snap_put_u32(w, res->format);
		snap_put_u32(w, res->width);
		snap_put_u32(w, res->height);
		snap_put_blob(w, res->pixels, (size_t)res->width * res->height * 4);
		snap_put_u32(w, res->nr_backing);
		for (unsigned int b = 0; b < res->nr_backing; b++) {
			uint64_t gpa = 0;
			if (!host_to_gpa(&g->host->mem, res->backing[b].iov_base, res->backing[b].iov_len,
					 &gpa)) {
				g_set_error(error, SEPIA_ERROR, EFAULT,
					    "%s: resource %u: backing entry %u is not in guest RAM", g->name,
					    res->id, b);
				return false;
			}
			snap_put_u64(w, gpa);
			snap_put_u32(w, (uint32_t)res->backing[b].iov_len);
		}
	}
	return true;
}

static bool load_refused(struct virtio_gpu *g, struct snap_reader *r, GError **error, const char *why,
			 uint32_t id)
{
	gpu_resources_reset(g, false);
	if (r->failed)
		return snap_reader_done(r, error);
	g_set_error(error, SEPIA_ERROR, EINVAL, "snapshot: %s: resource %u: %s", g->name, id, why);
	return false;
}

static bool load_resource(struct virtio_gpu *g, struct snap_reader *r, GError **error)
{
	uint32_t id = snap_get_u32(r), format = snap_get_u32(r);
	uint32_t width = snap_get_u32(r), height = snap_get_u32(r);
	if (r->failed)
		return load_refused(g, r, error, "", 0);
	if (!id || gpu_resource_find(g, id))
		return load_refused(g, r, error, "a null or repeated id", id);
	if (!gpu_format_supported(format) || !width || !height || width > GPU_MAX_RESOURCE_DIM ||
	    height > GPU_MAX_RESOURCE_DIM)
		return load_refused(g, r, error, "a format or size no guest command could make", id);
	size_t len, want = (size_t)width * height * 4;
	const uint8_t *pixels = snap_get_blob_ref(r, want, &len);
	if (!pixels || len != want)
		return load_refused(g, r, error, "its pixels are not width * height * 4 bytes", id);
	uint64_t bytes = GPU_RESOURCE_COST + want;
	if (!gpu_resource_admit(g, id, bytes))
		return load_refused(g, r, error, "it passes the device's host memory budget", id);
	struct gpu_resource *res = g_new0(struct gpu_resource, 1);
	*res = (struct gpu_resource){
		.id = id, .format = format, .width = width, .height = height, .hostmem = bytes
	};
	res->pixels = g_try_malloc(want);
	if (!res->pixels) {
		gpu_hostmem_give(g, bytes);
		g_free(res);
		return load_refused(g, r, error, "no host memory for its pixels", id);
	}
	memcpy(res->pixels, pixels, want);
	g_hash_table_insert(g->resources, GUINT_TO_POINTER(id), res);
	uint32_t n = snap_get_u32(r);
	if (r->failed || n > GPU_MAX_BACKING_ENTRIES)
		return load_refused(g, r, error, "too many backing entries", id);
	if (!n)
		return true;
	if (!gpu_hostmem_take(g, (uint64_t)n * sizeof(struct iovec), "backing of resource", id))
		return load_refused(g, r, error, "its backing passes the host memory budget", id);
	res->backing = g_new0(struct iovec, n);
	res->nr_backing = n;
	for (uint32_t b = 0; b < n; b++) {
		uint64_t gpa = snap_get_u64(r);
		uint32_t blen = snap_get_u32(r);
		void *host = r->failed ? NULL : guest_mem_ptr(&g->host->mem, gpa, blen);
		if (!host)
			return load_refused(g, r, error, "a backing entry is not in guest RAM", id);
		res->backing[b] = (struct iovec){ host, blen };
		res->backing_len += blen;
	}
	return true;
}

bool gpu_snapshot_load(struct virtio_gpu *g, struct snap_reader *r, GError **error)
{
	gpu_resources_reset(g, false);
	uint32_t nr_scanouts = snap_get_u32(r);
	uint32_t ids[VIRTIO_GPU_MAX_SCANOUTS];
	struct virtio_gpu_rect rects[VIRTIO_GPU_MAX_SCANOUTS];
	if (nr_scanouts != g->nr_scanouts)
		snap_reader_fail(r);
	for (unsigned int i = 0; i < g->nr_scanouts && !r->failed; i++) {
		ids[i] = snap_get_u32(r);
		snap_get_blob(r, &rects[i], sizeof(rects[i]));
	}
	struct virtio_gpu_update_cursor cursor;
	snap_get_blob(r, &cursor, sizeof(cursor));
	uint32_t n = snap_get_u32(r);
	if (r->failed || n > GPU_MAX_RESOURCES)
		return load_refused(g, r, error, "too many resources", n);
	for (uint32_t i = 0; i < n; i++)
		if (!load_resource(g, r, error))
			return false;
	for (unsigned int i = 0; i < g->nr_scanouts; i++) {
		struct gpu_resource *res = gpu_resource_find(g, ids[i]);
		if (ids[i] && (!res || !gpu_rect_inside(&rects[i], res->width, res->height)))
			return load_refused(g, r, error, "a scanout shows a rectangle it does not have",
					    ids[i]);
		g->scanout[i].resource_id = ids[i];
		g->scanout[i].r = rects[i];
		if (res)
			res->scanouts |= 1u << i;
	}
	g->cursor = cursor;
	gpu_scanouts_publish(g);
	return true;
}
