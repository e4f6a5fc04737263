/* What the virtio-gpu files share: gpu.c (queues, command dispatch, fences), gpu_resource.c
 * (resources, guest backing, 2D pixels, scanouts), gpu_virgl.c (the virglrenderer backend)
 * and gpu_edid.c. Everything here runs on the device's own thread with the transport's
 * lock held. */
#pragma once

#include <linux/virtio_gpu.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/virtio/virtio.h"
#include "display/framebuffer.h"

#define GPU_MAX_BACKING_ENTRIES 16384 /* mem entries one resource may have */
#define GPU_MAX_RESOURCE_DIM    16384
#define GPU_LOGGED_ERRORS       20 /* guest errors logged one by one; the rest are counted */

/* The host memory a guest's commands may make the device hold, all together: 2D pixels,
 * virgl resources by their size, backing iovec arrays, contexts and command streams in
 * flight. A command past it is answered VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY; unref, detach
 * and destroy give back what they held. */
#ifndef GPU_MAX_HOSTMEM /* the fuzzer builds with smaller limits, so small inputs reach them */
#define GPU_MAX_HOSTMEM   (256u << 20)
#define GPU_MAX_RESOURCES 16384 /* resources the guest may hold at once */
#endif
#define GPU_MAX_CONTEXTS     64         /* virgl contexts the guest may hold at once */
#define GPU_RESOURCE_COST    1024       /* bookkeeping charged per resource, beyond its pixels */
#define GPU_CONTEXT_COST     (1u << 20) /* charged per virgl context: its GL state */
#define GPU_MAX_TEXEL_BYTES  16         /* the widest texel (R32G32B32A32): a 3D resource's bound */
#define GPU_REFUSAL_LOG_USEC (10 * G_USEC_PER_SEC) /* at most one refusal line this often */

struct gpu_resource {
	uint32_t id;
	uint32_t format; /* virtio-gpu / virgl format number */
	uint32_t width, height;
	bool is_3d;              /* created with RESOURCE_CREATE_3D */
	uint8_t *pixels;         /* 2D mode: width * height * 4 bytes; virgl mode: NULL */
	uint64_t hostmem;        /* charged for its storage and bookkeeping (the backing apart) */
	struct iovec *backing;   /* guest pages, host addresses; owned here */
	unsigned int nr_backing; /* nr_backing iovecs charged while attached */
	size_t backing_len;
	uint32_t scanouts; /* bit N: shown on scanout N */
};

struct gpu_scanout {
	uint32_t resource_id; /* 0: disabled */
	struct virtio_gpu_rect r;
	uint32_t width, height, dpi; /* the display's mode */
	struct fb_file *fb;          /* NULL without a framebuffer dir */
};

struct gpu_request {
	const struct virtq_chain *chain;
	/* What follows the command's fixed part (attach_backing's entries, submit_3d's command
	 * stream), and the room after the response header for a handler's larger answer. */
	struct virtq_cursor body;
	struct virtq_cursor resp;
	struct virtio_gpu_ctrl_hdr hdr;
	union {
		struct virtio_gpu_resource_create_2d create_2d;
		struct virtio_gpu_resource_unref unref;
		struct virtio_gpu_set_scanout set_scanout;
		struct virtio_gpu_resource_flush flush;
		struct virtio_gpu_transfer_to_host_2d transfer_2d;
		struct virtio_gpu_resource_attach_backing attach;
		struct virtio_gpu_resource_detach_backing detach;
		struct virtio_gpu_get_capset_info capset_info;
		struct virtio_gpu_get_capset capset;
		struct virtio_gpu_cmd_get_edid edid;
		struct virtio_gpu_ctx_create ctx_create;
		struct virtio_gpu_ctx_resource ctx_resource;
		struct virtio_gpu_resource_create_3d create_3d;
		struct virtio_gpu_transfer_host_3d transfer_3d;
		struct virtio_gpu_cmd_submit submit;
		uint8_t bytes[128];
	} u;
};

struct virtio_gpu {
	const char *name;
	struct vm_host *host;
	struct virtio_pci_dev *vp;
	bool virgl; /* 3D through virglrenderer */
	struct virtio_gpu_config config;
	unsigned int nr_scanouts;
	struct gpu_scanout scanout[VIRTIO_GPU_MAX_SCANOUTS];
	GHashTable *resources; /* id -> struct gpu_resource */
	GHashTable *contexts;  /* virgl: the 3D context ids the guest created */
	uint64_t hostmem;      /* bytes charged against GPU_MAX_HOSTMEM */
	uint64_t refusals;     /* commands refused for want of host memory, resources or contexts */
	uint64_t refusals_logged;
	gint64 refusal_logged_at;
	struct virtio_gpu_update_cursor cursor;
	bool needs_reset; /* the guest reset the device; drop state before new commands */

	GMainContext *ctx; /* the device thread */
	GMainLoop *loop;
	GThread *thread;

	GArray *pending;     /* struct gpu_pending: fenced responses not yet returned */
	uint32_t fence_done; /* virgl: the last fence virglrenderer retired */
	GSource *fence_timer;

	uint8_t *readback; /* virgl: a scanout rectangle read back for the framebuffer */
	size_t readback_size;
	struct virtq_chain chain;
	uint64_t commands, errors, flushes;
	uint64_t busy_usec; /* time spent handling commands */
};

/* Whether a guest error may still be logged in detail: a guest must not flood the log. */
static inline bool gpu_guest_error_logged(const struct virtio_gpu *g)
{
	return g->errors < GPU_LOGGED_ERRORS;
}

struct gpu_pending {
	uint16_t head;
	uint32_t len;
	uint32_t fence_id;
};

/* ---- gpu.c ---- */
/* Runs the request in chain c and writes its response; *len: the bytes written. Returns
 * false when the response waits for its fence (then it is in g->pending). */
bool gpu_handle_request(struct virtio_gpu *g, struct virtq_chain *c, uint32_t *len);

/* ---- gpu_resource.c: the host memory budget ---- */
/* Charges bytes to the budget; false (nothing charged, the refusal logged at a capped rate)
 * when they do not fit. what and id name the object for the log. */
bool gpu_hostmem_take(struct virtio_gpu *g, uint64_t bytes, const char *what, uint32_t id);
void gpu_hostmem_give(struct virtio_gpu *g, uint64_t bytes);
/* A new resource of bytes (its storage and GPU_RESOURCE_COST): within GPU_MAX_RESOURCES and
 * the budget, then charged; false (nothing charged) otherwise. */
bool gpu_resource_admit(struct virtio_gpu *g, uint32_t id, uint64_t bytes);
/* Logs a refusal (at most once per GPU_REFUSAL_LOG_USEC) and counts it. */
void gpu_log_refusal(struct virtio_gpu *g, const char *what, uint32_t id, const char *why);
/* Host bytes of a 3D resource of texel_bytes per texel: every mip level, layer and sample;
 * saturates at UINT64_MAX instead of wrapping. */
uint64_t gpu_resource_3d_bytes(const struct virtio_gpu_resource_create_3d *c, uint32_t texel_bytes);

/* ---- gpu_resource.c ---- */
struct gpu_resource *gpu_resource_find(struct virtio_gpu *g, uint32_t id);
void gpu_resource_free(gpointer r);
/* The handlers return a VIRTIO_GPU_RESP_* type. */
uint32_t gpu_cmd_resource_create_2d(struct virtio_gpu *g, struct gpu_request *req);
uint32_t gpu_cmd_resource_unref(struct virtio_gpu *g, struct gpu_request *req);
uint32_t gpu_cmd_attach_backing(struct virtio_gpu *g, struct gpu_request *req);
uint32_t gpu_cmd_detach_backing(struct virtio_gpu *g, struct gpu_request *req);
uint32_t gpu_cmd_transfer_to_host_2d(struct virtio_gpu *g, struct gpu_request *req);
uint32_t gpu_cmd_set_scanout(struct virtio_gpu *g, struct gpu_request *req);
uint32_t gpu_cmd_resource_flush(struct virtio_gpu *g, struct gpu_request *req);
/* Whether rect lies inside a width x height resource (overflow-safe; empty is allowed). */
bool gpu_rect_inside(const struct virtio_gpu_rect *r, uint32_t width, uint32_t height);
/* Copies a rectangle of 4-byte pixels in format to XRGB8888 (B, G, R, X bytes). */
void gpu_convert_to_xrgb(uint32_t format, const uint8_t *src, size_t src_stride, uint8_t *dst,
			 size_t dst_stride, uint32_t width, uint32_t height);
bool gpu_format_supported(uint32_t format);
/* Drops every resource and disables every scanout; blank: the scanouts' framebuffer files
 * turn black (a device reset), else they keep the last picture (the VM stopped). */
void gpu_resources_reset(struct virtio_gpu *g, bool blank);
/* Writes what every enabled scanout shows to its framebuffer file (after a restore). */
void gpu_scanouts_publish(struct virtio_gpu *g);

/* Snapshots (gpu_snapshot.c): 2D state only; a device in virgl mode is refused. */
struct snap_writer;
struct snap_reader;
bool gpu_snapshot_save(struct virtio_gpu *g, struct snap_writer *w, GError **error);
bool gpu_snapshot_load(struct virtio_gpu *g, struct snap_reader *r, GError **error);

/* ---- gpu_virgl.c ---- */
bool gpu_virgl_init(struct virtio_gpu *g, GError **error);
void gpu_virgl_cleanup(struct virtio_gpu *g);
void gpu_virgl_destroy_contexts(struct virtio_gpu *g);
unsigned int gpu_virgl_num_capsets(void);
uint32_t gpu_virgl_resource_create(struct virtio_gpu *g, struct gpu_resource *res,
				   const struct virtio_gpu_resource_create_3d *args);
void gpu_virgl_resource_unref(struct gpu_resource *res);
uint32_t gpu_virgl_attach_backing(struct gpu_resource *res);
void gpu_virgl_detach_backing(struct gpu_resource *res);
uint32_t gpu_virgl_transfer_to_host_2d(struct gpu_resource *res,
				       const struct virtio_gpu_transfer_to_host_2d *t);
/* Reads rect of res into XRGB8888 at dst. */
bool gpu_virgl_read_rect(struct virtio_gpu *g, struct gpu_resource *res, const struct virtio_gpu_rect *r,
			 uint8_t *dst, size_t dst_stride);
uint32_t gpu_virgl_cmd(struct virtio_gpu *g, struct gpu_request *req);
void gpu_virgl_create_fence(uint32_t fence_id, uint32_t ctx_id);
void gpu_virgl_poll(void);

/* ---- gpu_edid.c ---- */
/* A 128-byte EDID base block whose preferred mode is width x height at 60 Hz. */
void gpu_edid_build(uint8_t edid[128], uint32_t width, uint32_t height, uint32_t dpi, unsigned int index);
