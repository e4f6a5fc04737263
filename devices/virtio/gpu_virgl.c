/* virtio-gpu's 3D backend: virglrenderer turns the guest's Gallium command streams into
 * OpenGL on the host. On a host without a GPU it runs on Mesa's software EGL (surfaceless
 * platform, llvmpipe). Every call is made on the device thread, where init made the
 * renderer's GL context current.
 *
 * Why a plain virgl_renderer_init(NULL, USE_EGL | USE_SURFACELESS, &cbs) returns -1: the
 * library refuses a NULL cookie (it is handed back to the callbacks), before it touches
 * EGL at all; Mesa's surfaceless driver loads fine. sepia passes its device as the
 * cookie.
 *
 * virglrenderer 0.10 crashes inside its init when EGL itself cannot start (no vendor
 * library, no Mesa), so sepia first opens the surfaceless platform itself and reports
 * what is missing.
 *
 * sepia-vmm does not link virglrenderer or EGL: it opens them (dlopen) when a virtio-gpu
 * in virgl or auto mode starts, on the device thread, during vm_build and so before the
 * sandbox's lock-down (the libraries' files are still reachable, and mapping their code
 * is still allowed). A VM without 3D never maps them: the 3D stack (virglrenderer,
 * libepoxy, EGL, libGLdispatch and what they drag in: X11, Vulkan, VA-API, wayland) costs
 * a VMM about 3 MiB of resident memory, most of it its relocations and touched code. */
#include "common/error.h"
#include "devices/virtio/gpu_internal.h"

#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <virglrenderer.h>

/* The libraries' run-time names (their sonames, the packages that carry them). */
#define VIRGL_LIBRARY "libvirglrenderer.so.1"
#define EGL_LIBRARY   "libEGL.so.1"

/* What sepia calls, typed from the headers so that a changed prototype fails to build. */
#define VIRGL_FUNCTIONS(X)                    \
	X(virgl_set_debug_callback)           \
	X(virgl_renderer_init)                \
	X(virgl_renderer_cleanup)             \
	X(virgl_renderer_poll)                \
	X(virgl_renderer_get_cap_set)         \
	X(virgl_renderer_fill_caps)           \
	X(virgl_renderer_context_create)      \
	X(virgl_renderer_context_destroy)     \
	X(virgl_renderer_ctx_attach_resource) \
	X(virgl_renderer_ctx_detach_resource) \
	X(virgl_renderer_resource_create)     \
	X(virgl_renderer_resource_unref)      \
	X(virgl_renderer_resource_get_info)   \
	X(virgl_renderer_resource_attach_iov) \
	X(virgl_renderer_resource_detach_iov) \
	X(virgl_renderer_transfer_write_iov)  \
	X(virgl_renderer_transfer_read_iov)   \
	X(virgl_renderer_submit_cmd)          \
	X(virgl_renderer_create_fence)
#define EGL_FUNCTIONS(X)     \
	X(eglQueryString)    \
	X(eglGetProcAddress) \
	X(eglGetError)       \
	X(eglInitialize)     \
	X(eglTerminate)

#define LIB_FIELD(name) __typeof__(name) *name;
static struct {
	VIRGL_FUNCTIONS(LIB_FIELD)
	EGL_FUNCTIONS(LIB_FIELD)
} lib;
#undef LIB_FIELD

/* Opens one library for good (Mesa and virglrenderer are never unloaded). */
static void *lib_open(struct virtio_gpu *g, const char *soname, const char *debian, const char *centos,
		      GError **error)
{
	/* RTLD_NOW: every symbol bound here, none later under the sandbox's filter. */
	void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!handle)
		g_set_error(error, SEPIA_ERROR, ENOENT,
			    "%s: 3D (virgl) needs %s, which does not load (%s); install %s (Debian) or %s "
			    "(CentOS), or run the gpu in 2D mode (--gpu 2d)",
			    g->name, soname, dlerror(), debian, centos);
	return handle;
}

static bool lib_symbol(struct virtio_gpu *g, void *handle, const char *soname, const char *name, void **out,
		       GError **error)
{
	*out = dlsym(handle, name);
	if (!*out)
		g_set_error(error, SEPIA_ERROR, ENOENT,
			    "%s: 3D (virgl): %s has no %s (an old or broken copy?); update or reinstall it, "
			    "or run the gpu in 2D mode (--gpu 2d)",
			    g->name, soname, name);
	return *out != NULL;
}

/* Loads virglrenderer and EGL once per process, on the first virtio-gpu that asks for 3D. */
static bool lib_load(struct virtio_gpu *g, GError **error)
{
	static GMutex lock;
	static bool loaded;
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&lock);
	if (loaded)
		return true;
	void *virgl = lib_open(g, VIRGL_LIBRARY, "libvirglrenderer1", "virglrenderer", error);
	if (!virgl)
		return false;
	void *egl = lib_open(g, EGL_LIBRARY, "libegl1 and libegl-mesa0", "libglvnd-egl and mesa-libEGL",
			     error);
	if (!egl)
		return false;
#define LIB_LOAD(handle, soname, name)                                        \
	if (!lib_symbol(g, handle, soname, #name, (void **)&lib.name, error)) \
		return false;
#define LIB_LOAD_VIRGL(name) LIB_LOAD(virgl, VIRGL_LIBRARY, name)
#define LIB_LOAD_EGL(name)   LIB_LOAD(egl, EGL_LIBRARY, name)
	VIRGL_FUNCTIONS(LIB_LOAD_VIRGL)
	EGL_FUNCTIONS(LIB_LOAD_EGL)
#undef LIB_LOAD_EGL
#undef LIB_LOAD_VIRGL
#undef LIB_LOAD
	loaded = true;
	return true;
}

/* virglrenderer.h leaves struct virgl_box opaque; it is six uint32_t, x y z w h d, the
 * same layout as virtio's struct virtio_gpu_box, which is what sepia fills in. */
#define VIRGL_BOX(b) ((struct virgl_box *)(b))

#define PIPE_BUFFER 0 /* a resource target: a buffer, width bytes long */

static const uint32_t capset_ids[] = { VIRTIO_GPU_CAPSET_VIRGL, VIRTIO_GPU_CAPSET_VIRGL2 };

static void virgl_write_fence(void *cookie, uint32_t fence)
{
	struct virtio_gpu *g = cookie;
	g->fence_done = fence;
}

static struct virgl_renderer_callbacks virgl_callbacks = {
	.version = 1,
	.write_fence = virgl_write_fence,
};

static void virgl_log(const char *fmt, va_list ap)
{
	g_autofree char *line = g_strdup_vprintf(fmt, ap);
	g_strchomp(line);
	g_debug("virglrenderer: %s", line);
}

static bool egl_surfaceless_usable(struct virtio_gpu *g, GError **error)
{
	const char *client = lib.eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
	PFNEGLGETPLATFORMDISPLAYEXTPROC get_display = (PFNEGLGETPLATFORMDISPLAYEXTPROC)lib.eglGetProcAddress(
		"eglGetPlatformDisplayEXT");
	if (!client || !strstr(client, "EGL_MESA_platform_surfaceless") || !get_display) {
		g_set_error(error, SEPIA_ERROR, ENOTSUP,
			    "%s: EGL offers no surfaceless platform "
			    "(EGL_MESA_platform_surfaceless); install Mesa's EGL (libegl-mesa0 on Debian, "
			    "mesa-libEGL on CentOS)",
			    g->name);
		return false;
	}
	EGLDisplay dpy = get_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
	EGLint major = 0, minor = 0;
	if (dpy == EGL_NO_DISPLAY || !lib.eglInitialize(dpy, &major, &minor)) {
		g_set_error(error, SEPIA_ERROR, ENOTSUP,
			    "%s: EGL's surfaceless display does not initialise "
			    "(EGL error 0x%x); is Mesa's software driver (libgl1-mesa-dri) installed?",
			    g->name, lib.eglGetError());
		return false;
	}
	g_debug("%s: EGL %d.%d surfaceless, vendor %s", g->name, major, minor,
		lib.eglQueryString(dpy, EGL_VENDOR));
	lib.eglTerminate(dpy);
	return true;
}

bool gpu_virgl_init(struct virtio_gpu *g, GError **error)
{
	if (!lib_load(g, error) || !egl_surfaceless_usable(g, error))
		return false;
	lib.virgl_set_debug_callback(virgl_log);
	int flags = VIRGL_RENDERER_USE_EGL | VIRGL_RENDERER_USE_SURFACELESS;
	int r = lib.virgl_renderer_init(g, flags, &virgl_callbacks);
	if (r) {
		g_set_error(error, SEPIA_ERROR, r < 0 ? -r : EIO,
			    "%s: virglrenderer did not initialise on surfaceless EGL (%d); is Mesa's EGL "
			    "(libegl-mesa0, libgl1-mesa-dri) installed?",
			    g->name, r);
		return false;
	}
	g->contexts = g_hash_table_new(NULL, NULL);
	return true;
}

void gpu_virgl_destroy_contexts(struct virtio_gpu *g)
{
	GHashTableIter it;
	gpointer id;
	g_hash_table_iter_init(&it, g->contexts);
	while (g_hash_table_iter_next(&it, &id, NULL)) {
		lib.virgl_renderer_context_destroy(GPOINTER_TO_UINT(id));
		gpu_hostmem_give(g, GPU_CONTEXT_COST);
	}
	g_hash_table_remove_all(g->contexts);
}

void gpu_virgl_cleanup(struct virtio_gpu *g)
{
	if (!g->contexts)
		return;
	gpu_virgl_destroy_contexts(g);
	g_hash_table_destroy(g->contexts);
	g->contexts = NULL;
	lib.virgl_renderer_cleanup(g);
}

unsigned int gpu_virgl_num_capsets(void)
{
	unsigned int n = 0;
	for (unsigned int i = 0; i < G_N_ELEMENTS(capset_ids); i++) {
		uint32_t max_ver = 0, max_size = 0;
		lib.virgl_renderer_get_cap_set(capset_ids[i], &max_ver, &max_size);
		if (max_ver && max_size)
			n++;
	}
	return n;
}

uint32_t gpu_virgl_resource_create(struct virtio_gpu *g, struct gpu_resource *res,
				   const struct virtio_gpu_resource_create_3d *c)
{
	struct virgl_renderer_resource_create_args args = {
		.handle = c->resource_id,
		.target = c->target,
		.format = c->format,
		.bind = c->bind,
		.width = c->width,
		.height = c->height,
		.depth = c->depth,
		.array_size = c->array_size,
		.last_level = c->last_level,
		.nr_samples = c->nr_samples,
		.flags = c->flags,
	};
	int r = lib.virgl_renderer_resource_create(&args, NULL, 0);
	if (r) {
		if (gpu_guest_error_logged(g))
			g_message("%s: resource %u: virglrenderer refused %ux%ux%u format %u target %u: %s",
				  g->name, c->resource_id, c->width, c->height, c->depth, c->format,
				  c->target, g_strerror(r < 0 ? -r : r));
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	return VIRTIO_GPU_RESP_OK_NODATA;
}

void gpu_virgl_resource_unref(struct gpu_resource *res)
{
	if (res->backing)
		gpu_virgl_detach_backing(res);
	lib.virgl_renderer_resource_unref(res->id);
}

uint32_t gpu_virgl_attach_backing(struct gpu_resource *res)
{
	/* virglrenderer keeps the iovec array until detach; it stays owned by res. */
	int r = lib.virgl_renderer_resource_attach_iov((int)res->id, res->backing, (int)res->nr_backing);
	return r ? VIRTIO_GPU_RESP_ERR_UNSPEC : VIRTIO_GPU_RESP_OK_NODATA;
}

void gpu_virgl_detach_backing(struct gpu_resource *res)
{
	struct iovec *iov = NULL;
	int n = 0;
	lib.virgl_renderer_resource_detach_iov((int)res->id, &iov, &n);
}

uint32_t gpu_virgl_transfer_to_host_2d(struct gpu_resource *res,
				       const struct virtio_gpu_transfer_to_host_2d *t)
{
	struct virtio_gpu_box box = {
		.x = t->r.x, .y = t->r.y, .z = 0, .w = t->r.width, .h = t->r.height, .d = 1
	};
	int r = lib.virgl_renderer_transfer_write_iov(res->id, 0, 0, 0, 0, VIRGL_BOX(&box), t->offset, NULL,
						      0);
	return r ? VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER : VIRTIO_GPU_RESP_OK_NODATA;
}

bool gpu_virgl_read_rect(struct virtio_gpu *g, struct gpu_resource *res, const struct virtio_gpu_rect *r,
			 uint8_t *dst, size_t dst_stride)
{
	struct virgl_renderer_resource_info info;
	if (lib.virgl_renderer_resource_get_info((int)res->id, &info) ||
	    !gpu_format_supported(info.virgl_format))
		return false;
	size_t need = (size_t)r->width * r->height * 4;
	if (need > g->readback_size) {
		g_free(g->readback);
		g->readback = g_malloc(need);
		g->readback_size = need;
	}
	struct virtio_gpu_box box = { .x = r->x, .y = r->y, .z = 0, .w = r->width, .h = r->height, .d = 1 };
	struct iovec iov = { g->readback, need };
	if (lib.virgl_renderer_transfer_read_iov(res->id, 0, 0, r->width * 4, 0, VIRGL_BOX(&box), 0, &iov, 1))
		return false;
	gpu_convert_to_xrgb(info.virgl_format, g->readback, (size_t)r->width * 4, dst, dst_stride, r->width,
			    r->height);
	return true;
}

void gpu_virgl_create_fence(uint32_t fence_id, uint32_t ctx_id)
{
	lib.virgl_renderer_create_fence((int)fence_id, ctx_id);
}

void gpu_virgl_poll(void) { lib.virgl_renderer_poll(); }

/* ---- the 3D commands ---- */

static bool context_known(struct virtio_gpu *g, uint32_t ctx_id)
{
	return ctx_id && g_hash_table_contains(g->contexts, GUINT_TO_POINTER(ctx_id));
}

static uint32_t cmd_capset_info(struct virtio_gpu *g, struct gpu_request *req)
{
	uint32_t index = req->u.capset_info.capset_index, n = 0;
	for (unsigned int i = 0; i < G_N_ELEMENTS(capset_ids); i++) {
		uint32_t max_ver = 0, max_size = 0;
		lib.virgl_renderer_get_cap_set(capset_ids[i], &max_ver, &max_size);
		if (!max_ver || !max_size || n++ != index)
			continue;
		struct virtio_gpu_resp_capset_info resp = {
			.capset_id = capset_ids[i],
			.capset_max_version = max_ver,
			.capset_max_size = max_size,
		};
		if (!virtq_write_obj(&req->resp, (uint8_t *)&resp + sizeof(resp.hdr),
				     sizeof(resp) - sizeof(resp.hdr)))
			return VIRTIO_GPU_RESP_ERR_UNSPEC;
		return VIRTIO_GPU_RESP_OK_CAPSET_INFO;
	}
	return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
}

static uint32_t cmd_capset(struct virtio_gpu *g, struct gpu_request *req)
{
	uint32_t id = req->u.capset.capset_id, version = req->u.capset.capset_version;
	uint32_t max_ver = 0, max_size = 0;
	if (id == VIRTIO_GPU_CAPSET_VIRGL || id == VIRTIO_GPU_CAPSET_VIRGL2)
		lib.virgl_renderer_get_cap_set(id, &max_ver, &max_size);
	if (!max_ver || !max_size || version > max_ver)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	if (virtq_cursor_left(&req->resp) < max_size)
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	g_autofree uint8_t *caps = g_malloc0(max_size);
	lib.virgl_renderer_fill_caps(id, version, caps);
	virtq_write_obj(&req->resp, caps, max_size);
	return VIRTIO_GPU_RESP_OK_CAPSET;
}

static uint32_t cmd_ctx_create(struct virtio_gpu *g, struct gpu_request *req)
{
	uint32_t ctx_id = req->hdr.ctx_id;
	const struct virtio_gpu_ctx_create *c = &req->u.ctx_create;
	if (!ctx_id || context_known(g, ctx_id))
		return VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID;
	if (c->nlen > sizeof(c->debug_name) || c->context_init)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	if (g_hash_table_size(g->contexts) >= GPU_MAX_CONTEXTS) {
		g_autofree char *why = g_strdup_printf("the guest holds %u contexts already, the most it may",
						       GPU_MAX_CONTEXTS);
		gpu_log_refusal(g, "context", ctx_id, why);
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	}
	if (!gpu_hostmem_take(g, GPU_CONTEXT_COST, "context", ctx_id))
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	char name[sizeof(c->debug_name) + 1] = { 0 };
	memcpy(name, c->debug_name, c->nlen);
	if (lib.virgl_renderer_context_create(ctx_id, c->nlen, name)) {
		gpu_hostmem_give(g, GPU_CONTEXT_COST);
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	g_hash_table_add(g->contexts, GUINT_TO_POINTER(ctx_id));
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_ctx_destroy(struct virtio_gpu *g, struct gpu_request *req)
{
	if (!context_known(g, req->hdr.ctx_id))
		return VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID;
	lib.virgl_renderer_context_destroy(req->hdr.ctx_id);
	g_hash_table_remove(g->contexts, GUINT_TO_POINTER(req->hdr.ctx_id));
	gpu_hostmem_give(g, GPU_CONTEXT_COST);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_ctx_resource(struct virtio_gpu *g, struct gpu_request *req, bool attach)
{
	if (!context_known(g, req->hdr.ctx_id))
		return VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID;
	if (!gpu_resource_find(g, req->u.ctx_resource.resource_id))
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (attach)
		lib.virgl_renderer_ctx_attach_resource((int)req->hdr.ctx_id,
						       (int)req->u.ctx_resource.resource_id);
	else
		lib.virgl_renderer_ctx_detach_resource((int)req->hdr.ctx_id,
						       (int)req->u.ctx_resource.resource_id);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_resource_create_3d(struct virtio_gpu *g, struct gpu_request *req)
{
	const struct virtio_gpu_resource_create_3d *c = &req->u.create_3d;
	if (!c->resource_id || gpu_resource_find(g, c->resource_id))
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (!c->width || c->width > GPU_MAX_RESOURCE_DIM || c->height > GPU_MAX_RESOURCE_DIM ||
	    c->depth > GPU_MAX_RESOURCE_DIM || c->array_size > GPU_MAX_RESOURCE_DIM)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	/* Charged at the widest texel first (a buffer's width is its size in bytes), then at
	 * the size virglrenderer actually chose. */
	uint64_t bound = gpu_resource_3d_bytes(c, c->target == PIPE_BUFFER ? 1 : GPU_MAX_TEXEL_BYTES);
	uint64_t bytes = bound > GPU_MAX_HOSTMEM ? bound : GPU_RESOURCE_COST + bound;
	if (!gpu_resource_admit(g, c->resource_id, bytes))
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	struct gpu_resource *res = g_new0(struct gpu_resource, 1);
	*res = (struct gpu_resource){ .id = c->resource_id,
				      .format = c->format,
				      .width = c->width,
				      .height = MAX(c->height, 1u),
				      .is_3d = true,
				      .hostmem = bytes };
	uint32_t resp = gpu_virgl_resource_create(g, res, c);
	if (resp != VIRTIO_GPU_RESP_OK_NODATA) {
		gpu_hostmem_give(g, bytes);
		gpu_resource_free(res);
		return resp;
	}
	struct virgl_renderer_resource_info info;
	if (c->target != PIPE_BUFFER && !lib.virgl_renderer_resource_get_info((int)res->id, &info) &&
	    info.stride) {
		uint64_t real = gpu_resource_3d_bytes(c, (info.stride + c->width - 1) / c->width);
		if (real < bound) {
			gpu_hostmem_give(g, bound - real);
			res->hostmem = GPU_RESOURCE_COST + real;
		}
	}
	g_hash_table_insert(g->resources, GUINT_TO_POINTER(res->id), res);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_transfer_3d(struct virtio_gpu *g, struct gpu_request *req, bool to_host)
{
	const struct virtio_gpu_transfer_host_3d *t = &req->u.transfer_3d;
	struct gpu_resource *res = gpu_resource_find(g, t->resource_id);
	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (req->hdr.ctx_id && !context_known(g, req->hdr.ctx_id))
		return VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID;
	if (!res->backing)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	struct virtio_gpu_box box = t->box;
	int r = to_host ? lib.virgl_renderer_transfer_write_iov(res->id, req->hdr.ctx_id, (int)t->level,
								t->stride, t->layer_stride, VIRGL_BOX(&box),
								t->offset, NULL, 0)
			: lib.virgl_renderer_transfer_read_iov(res->id, req->hdr.ctx_id, t->level, t->stride,
							       t->layer_stride, VIRGL_BOX(&box), t->offset,
							       NULL, 0);
	return r ? VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER : VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_submit(struct virtio_gpu *g, struct gpu_request *req)
{
	uint32_t size = req->u.submit.size;
	if (!context_known(g, req->hdr.ctx_id))
		return VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID;
	if (size % 4 || size > virtq_cursor_left(&req->body))
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	if (!size)
		return VIRTIO_GPU_RESP_OK_NODATA;
	/* The copy is held only while virglrenderer decodes it, but it counts too. */
	if (!gpu_hostmem_take(g, size, "command stream of context", req->hdr.ctx_id))
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	uint32_t resp = VIRTIO_GPU_RESP_OK_NODATA;
	uint8_t *cs = g_try_malloc(size);
	if (!cs) {
		resp = VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	} else {
		virtq_read_obj(&req->body, cs, size);
		if (lib.virgl_renderer_submit_cmd(cs, (int)req->hdr.ctx_id, (int)(size / 4))) {
			if (gpu_guest_error_logged(g))
				g_message("%s: context %u: virglrenderer rejected a %u-byte command stream",
					  g->name, req->hdr.ctx_id, size);
			resp = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
		}
		g_free(cs);
	}
	gpu_hostmem_give(g, size);
	return resp;
}

uint32_t gpu_virgl_cmd(struct virtio_gpu *g, struct gpu_request *req)
{
	switch (req->hdr.type) {
	case VIRTIO_GPU_CMD_GET_CAPSET_INFO:
		return cmd_capset_info(g, req);
	case VIRTIO_GPU_CMD_GET_CAPSET:
		return cmd_capset(g, req);
	case VIRTIO_GPU_CMD_CTX_CREATE:
		return cmd_ctx_create(g, req);
	case VIRTIO_GPU_CMD_CTX_DESTROY:
		return cmd_ctx_destroy(g, req);
	case VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE:
		return cmd_ctx_resource(g, req, true);
	case VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE:
		return cmd_ctx_resource(g, req, false);
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_3D:
		return cmd_resource_create_3d(g, req);
	case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D:
		return cmd_transfer_3d(g, req, true);
	case VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D:
		return cmd_transfer_3d(g, req, false);
	case VIRTIO_GPU_CMD_SUBMIT_3D:
		return cmd_submit(g, req);
	default:
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
}
