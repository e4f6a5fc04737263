/* virtio-gpu (virtio spec 5.7): controlq 0 carries the guest's commands, cursorq 1 its
 * cursor updates. The device runs on a thread of its own, so a long transfer or a 3D
 * submission never holds up the disks and NICs on the VM's I/O thread; in virgl mode that
 * thread also owns virglrenderer's GL context.
 *
 * Every request is answered: a short or unknown command, a bad resource, scanout or
 * context id, a rectangle outside its resource or backing pages outside guest RAM get the
 * matching VIRTIO_GPU_RESP_ERR_* and the device carries on. A fenced request is answered
 * when its fence retires: at once in 2D mode (everything is synchronous), in virgl mode
 * when virglrenderer reports it done. */
#include "devices/virtio/gpu.h"

#include <errno.h>
#include <string.h>

#include "devices/virtio/gpu_internal.h"
#include "devices/sandbox/sandbox.h"

#define CTRL_QUEUE    0
#define CURSOR_QUEUE  1
#define FENCE_POLL_MS 1

/* ---- configuration space ---- */

static void gpu_config_read(void *dev, uint32_t off, void *data, unsigned int len)
{
	struct virtio_gpu *g = dev;
	memcpy(data, (const uint8_t *)&g->config + off, len);
}

static void gpu_config_write(void *dev, uint32_t off, const void *data, unsigned int len)
{
	struct virtio_gpu *g = dev;
	uint32_t v = 0;
	if (off == offsetof(struct virtio_gpu_config, events_clear) && len == 4) {
		memcpy(&v, data, 4);
		g->config.events_read &= ~v;
	}
}

/* ---- 2D queries ---- */

static uint32_t cmd_display_info(struct virtio_gpu *g, struct gpu_request *req)
{
	struct virtio_gpu_resp_display_info resp = { 0 };
	for (unsigned int i = 0; i < g->nr_scanouts; i++) {
		resp.pmodes[i].r.width = g->scanout[i].width;
		resp.pmodes[i].r.height = g->scanout[i].height;
		resp.pmodes[i].enabled = 1;
	}
	if (!virtq_write_obj(&req->resp, &resp.pmodes, sizeof(resp.pmodes)))
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	return VIRTIO_GPU_RESP_OK_DISPLAY_INFO;
}

static uint32_t cmd_edid(struct virtio_gpu *g, struct gpu_request *req)
{
	uint32_t id = req->u.edid.scanout;
	if (id >= g->nr_scanouts)
		return VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID;
	struct virtio_gpu_resp_edid resp = { .size = 128 };
	gpu_edid_build(resp.edid, g->scanout[id].width, g->scanout[id].height, g->scanout[id].dpi, id);
	if (!virtq_write_obj(&req->resp, (uint8_t *)&resp + sizeof(resp.hdr),
			     sizeof(resp) - sizeof(resp.hdr)))
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	return VIRTIO_GPU_RESP_OK_EDID;
}

/* ---- dispatch ---- */

static size_t request_size(uint32_t type)
{
	switch (type) {
	case VIRTIO_GPU_CMD_GET_DISPLAY_INFO:
		return sizeof(struct virtio_gpu_ctrl_hdr);
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_2D:
		return sizeof(struct virtio_gpu_resource_create_2d);
	case VIRTIO_GPU_CMD_RESOURCE_UNREF:
		return sizeof(struct virtio_gpu_resource_unref);
	case VIRTIO_GPU_CMD_SET_SCANOUT:
		return sizeof(struct virtio_gpu_set_scanout);
	case VIRTIO_GPU_CMD_RESOURCE_FLUSH:
		return sizeof(struct virtio_gpu_resource_flush);
	case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D:
		return sizeof(struct virtio_gpu_transfer_to_host_2d);
	case VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING:
		return sizeof(struct virtio_gpu_resource_attach_backing);
	case VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING:
		return sizeof(struct virtio_gpu_resource_detach_backing);
	case VIRTIO_GPU_CMD_GET_CAPSET_INFO:
		return sizeof(struct virtio_gpu_get_capset_info);
	case VIRTIO_GPU_CMD_GET_CAPSET:
		return sizeof(struct virtio_gpu_get_capset);
	case VIRTIO_GPU_CMD_GET_EDID:
		return sizeof(struct virtio_gpu_cmd_get_edid);
	case VIRTIO_GPU_CMD_CTX_CREATE:
		return sizeof(struct virtio_gpu_ctx_create);
	case VIRTIO_GPU_CMD_CTX_DESTROY:
		return sizeof(struct virtio_gpu_ctx_destroy);
	case VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE:
	case VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE:
		return sizeof(struct virtio_gpu_ctx_resource);
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_3D:
		return sizeof(struct virtio_gpu_resource_create_3d);
	case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D:
	case VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D:
		return sizeof(struct virtio_gpu_transfer_host_3d);
	case VIRTIO_GPU_CMD_SUBMIT_3D:
		return sizeof(struct virtio_gpu_cmd_submit);
	default:
		return 0;
	}
}

static uint32_t gpu_dispatch(struct virtio_gpu *g, struct gpu_request *req)
{
	switch (req->hdr.type) {
	case VIRTIO_GPU_CMD_GET_DISPLAY_INFO:
		return cmd_display_info(g, req);
	case VIRTIO_GPU_CMD_GET_EDID:
		return cmd_edid(g, req);
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_2D:
		return gpu_cmd_resource_create_2d(g, req);
	case VIRTIO_GPU_CMD_RESOURCE_UNREF:
		return gpu_cmd_resource_unref(g, req);
	case VIRTIO_GPU_CMD_SET_SCANOUT:
		return gpu_cmd_set_scanout(g, req);
	case VIRTIO_GPU_CMD_RESOURCE_FLUSH:
		return gpu_cmd_resource_flush(g, req);
	case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D:
		return gpu_cmd_transfer_to_host_2d(g, req);
	case VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING:
		return gpu_cmd_attach_backing(g, req);
	case VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING:
		return gpu_cmd_detach_backing(g, req);
	case VIRTIO_GPU_CMD_GET_CAPSET_INFO:
		if (!g->virgl)
			return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER; /* num_capsets is 0 */
		return gpu_virgl_cmd(g, req);
	default:
		/* 3D commands without VIRTIO_GPU_F_VIRGL, and commands sepia does not offer
		 * (blob resources, UUIDs). */
		return g->virgl && req->hdr.type >= VIRTIO_GPU_CMD_GET_CAPSET ? gpu_virgl_cmd(g, req)
									      : VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
}

static const char *resp_name(uint32_t resp)
{
	switch (resp) {
	case VIRTIO_GPU_RESP_ERR_UNSPEC:
		return "ERR_UNSPEC";
	case VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY:
		return "ERR_OUT_OF_MEMORY";
	case VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID:
		return "ERR_INVALID_SCANOUT_ID";
	case VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID:
		return "ERR_INVALID_RESOURCE_ID";
	case VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID:
		return "ERR_INVALID_CONTEXT_ID";
	case VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER:
		return "ERR_INVALID_PARAMETER";
	default:
		return "OK";
	}
}

static bool fence_retired(const struct virtio_gpu *g, uint32_t fence_id)
{
	return (int32_t)(g->fence_done - fence_id) >= 0;
}

/* Runs one request and writes its response; returns false when the response waits for
 * its fence (then it is in g->pending). */
bool gpu_handle_request(struct virtio_gpu *g, struct virtq_chain *c, uint32_t *len)
{
	struct gpu_request req = { .chain = c };
	struct virtq_cursor answer_hdr;
	virtq_reader(c, &req.body);
	virtq_writer(c, &req.resp);
	virtq_split_at(&req.resp, sizeof(struct virtio_gpu_ctrl_hdr), &answer_hdr);
	uint32_t resp = VIRTIO_GPU_RESP_ERR_UNSPEC;
	gint64 t0 = g_get_monotonic_time();
	struct virtq_cursor peek = req.body;
	if (virtq_read_obj(&peek, &req.hdr, sizeof(req.hdr))) {
		size_t need = request_size(req.hdr.type);
		/* The command's fixed part, its header included; body goes on after it. */
		if (need && virtq_read_obj(&req.body, &req.u, need))
			resp = gpu_dispatch(g, &req);
	}
	g->commands++;
	g->busy_usec += (uint64_t)(g_get_monotonic_time() - t0);
	if (resp >= VIRTIO_GPU_RESP_ERR_UNSPEC) {
		if (gpu_guest_error_logged(g))
			g_message("%s: command 0x%x (%" G_GUINT64_FORMAT " bytes) answered %s%s", g->name,
				  req.hdr.type, c->out_len, resp_name(resp),
				  g->errors + 1 == GPU_LOGGED_ERRORS ? "; further errors are only counted"
								     : "");
		g->errors++;
	}
	*len = 0;
	if (virtq_cursor_left(&answer_hdr) < sizeof(struct virtio_gpu_ctrl_hdr))
		return true; /* nowhere to answer: return the buffer empty */
	struct virtio_gpu_ctrl_hdr out = { .type = resp };
	bool fenced = req.hdr.flags & VIRTIO_GPU_FLAG_FENCE;
	if (fenced) {
		out.flags = VIRTIO_GPU_FLAG_FENCE;
		out.fence_id = req.hdr.fence_id;
		out.ctx_id = req.hdr.ctx_id;
	}
	virtq_write_obj(&answer_hdr, &out, sizeof(out));
	/* An error answer is the header alone, whatever a handler wrote before failing. */
	*len = (uint32_t)(sizeof(out) +
			  (resp < VIRTIO_GPU_RESP_ERR_UNSPEC ? virtq_cursor_done(&req.resp) : 0));
	if (!fenced || !g->virgl)
		return true;
	gpu_virgl_create_fence((uint32_t)req.hdr.fence_id, req.hdr.ctx_id);
	struct gpu_pending p = { c->head, *len, (uint32_t)req.hdr.fence_id };
	g_array_append_val(g->pending, p);
	return false;
}

static gboolean gpu_fence_timer(gpointer data)
{
	struct virtio_gpu *g = data;
	g->fence_timer = NULL;
	virtio_pci_kick(g->vp, CTRL_QUEUE);
	return G_SOURCE_REMOVE;
}

/* Returns the fenced responses whose fence virglrenderer retired, in order. */
static void gpu_retire_fences(struct virtio_gpu *g, struct virtq *q)
{
	if (!g->pending->len)
		return;
	gpu_virgl_poll();
	unsigned int kept = 0;
	for (unsigned int i = 0; i < g->pending->len; i++) {
		struct gpu_pending *p = &g_array_index(g->pending, struct gpu_pending, i);
		if (fence_retired(g, p->fence_id))
			virtq_push(q, p->head, p->len);
		else
			g_array_index(g->pending, struct gpu_pending, kept++) = *p;
	}
	g_array_set_size(g->pending, kept);
	if (kept && !g->fence_timer) {
		g->fence_timer = g_timeout_source_new(FENCE_POLL_MS);
		g_source_set_callback(g->fence_timer, gpu_fence_timer, g, NULL);
		g_source_attach(g->fence_timer, g->ctx);
		g_source_unref(g->fence_timer);
	}
}

static void gpu_process_ctrl(struct virtio_gpu *g, struct virtq *q)
{
	int r;
	while ((r = virtq_take(q, &g->chain)) != 0) {
		uint32_t len = 0;
		if (r < 0) {
			virtq_push(q, g->chain.head, 0); /* a broken chain: nothing to read or answer */
			continue;
		}
		if (gpu_handle_request(g, &g->chain, &len))
			virtq_push(q, g->chain.head, len);
	}
	gpu_retire_fences(g, q);
	virtio_pci_queue_interrupt(g->vp, CTRL_QUEUE);
}

/* The cursor: recorded (position, image resource and hotspot) for the display tools;
 * the buffers go back empty, as the spec's cursorq has no responses. */
static void gpu_process_cursor(struct virtio_gpu *g, struct virtq *q)
{
	int r;
	while ((r = virtq_take(q, &g->chain)) != 0) {
		struct virtio_gpu_update_cursor cur;
		struct virtq_cursor in;
		virtq_reader(&g->chain, &in);
		if (r > 0 && virtq_read_obj(&in, &cur, sizeof(cur))) {
			if (cur.pos.scanout_id >= g->nr_scanouts) {
				g->errors++;
			} else if (cur.hdr.type == VIRTIO_GPU_CMD_UPDATE_CURSOR) {
				if (cur.resource_id && !gpu_resource_find(g, cur.resource_id))
					g->errors++;
				else
					g->cursor = cur;
			} else if (cur.hdr.type == VIRTIO_GPU_CMD_MOVE_CURSOR) {
				g->cursor.pos = cur.pos;
			}
		}
		virtq_push(q, g->chain.head, 0);
	}
	virtio_pci_queue_interrupt(g->vp, CURSOR_QUEUE);
}

static void gpu_drop_state(struct virtio_gpu *g)
{
	g_array_set_size(g->pending, 0);
	gpu_resources_reset(g, true);
	if (g->virgl)
		gpu_virgl_destroy_contexts(g);
	g->needs_reset = false;
}

static void gpu_queue_notify(void *dev, unsigned int qi)
{
	struct virtio_gpu *g = dev;
	struct virtq *q = virtio_pci_queue(g->vp, qi);
	if (!q)
		return;
	if (g->needs_reset)
		gpu_drop_state(g);
	do {
		virtq_set_notification(q, false);
		if (qi == CTRL_QUEUE)
			gpu_process_ctrl(g, q);
		else
			gpu_process_cursor(g, q);
	} while (virtq_set_notification(q, true));
}

static void gpu_activate(void *dev, uint64_t features) {}

/* Runs on a vCPU thread: the renderer's state is dropped on the device thread, before
 * the next command of the re-initialised driver. */
static void gpu_reset(void *dev)
{
	struct virtio_gpu *g = dev;
	g->needs_reset = true;
	g->config.events_read = 0;
}

static bool gpu_save(void *dev, struct snap_writer *w, GError **error)
{
	return gpu_snapshot_save(dev, w, error);
}

static bool gpu_load(void *dev, struct snap_reader *r, GError **error)
{
	return gpu_snapshot_load(dev, r, error);
}

static const struct virtio_device_ops gpu_ops = {
	.device_id = VIRTIO_ID_GPU,
	.pci_class = 0x038000, /* display controller, other */
	.num_queues = 2,
	.queue_max_size = 256,
	.config_size = sizeof(struct virtio_gpu_config),
	.config_read = gpu_config_read,
	.config_write = gpu_config_write,
	.queue_notify = gpu_queue_notify,
	.activate = gpu_activate,
	.reset = gpu_reset,
	.save = gpu_save,
	.load = gpu_load,
};

/* ---- the device thread ---- */

struct gpu_start {
	struct virtio_gpu *g;
	bool want_virgl;
	GMutex lock;
	GCond cond;
	bool done;
	GError *error;
};

static gpointer gpu_thread(gpointer data)
{
	struct gpu_start *start = data;
	struct virtio_gpu *g = start->g;
	g_main_context_push_thread_default(g->ctx);
	bool ok = !start->want_virgl || gpu_virgl_init(g, &start->error);
	g->virgl = start->want_virgl && ok;
	sandbox_defer_role(g->ctx, SANDBOX_ROLE_GPU); /* virglrenderer is loaded: filtered from here */
	g_mutex_lock(&start->lock);
	start->done = true;
	g_cond_signal(&start->cond);
	g_mutex_unlock(&start->lock);
	/* start is gone once signalled. */
	g_main_loop_run(g->loop);
	gpu_resources_reset(g, false);
	if (g->virgl)
		gpu_virgl_cleanup(g);
	g_main_context_pop_thread_default(g->ctx);
	return NULL;
}

static bool gpu_start_thread(struct virtio_gpu *g, bool want_virgl, GError **error)
{
	struct gpu_start start = { .g = g, .want_virgl = want_virgl };
	g_mutex_init(&start.lock);
	g_cond_init(&start.cond);
	g->thread = g_thread_new("sepia-gpu", gpu_thread, &start);
	g_mutex_lock(&start.lock);
	while (!start.done)
		g_cond_wait(&start.cond, &start.lock);
	g_mutex_unlock(&start.lock);
	g_mutex_clear(&start.lock);
	g_cond_clear(&start.cond);
	if (start.error)
		g_propagate_error(error, start.error);
	return !want_virgl || g->virgl;
}

static gboolean gpu_quit(gpointer data)
{
	struct virtio_gpu *g = data;
	g_main_loop_quit(g->loop);
	return G_SOURCE_REMOVE;
}

/* ---- construction ---- */

static bool gpu_open_framebuffers(struct virtio_gpu *g, const char *dir, GError **error)
{
	for (unsigned int i = 0; i < g->nr_scanouts; i++) {
		struct gpu_scanout *s = &g->scanout[i];
		g_autofree char *path = fb_file_path(dir, i);
		s->fb = fb_file_create(path, s->width, s->height, s->dpi, error);
		if (!s->fb) {
			g_prefix_error(error, "%s: scanout %u: ", g->name, i);
			return false;
		}
	}
	return true;
}

struct virtio_gpu *virtio_gpu_create(struct vm_host *host, const struct vm_gpu_config *cfg, GError **error)
{
	/* Declared before the first goto: jumping past it would free an uninitialised pointer. */
	g_autoptr(GError) virgl_error = NULL;
	struct virtio_gpu *g = g_new0(struct virtio_gpu, 1);
	g->name = "virtio-gpu";
	g->host = host;
	g->resources = g_hash_table_new_full(NULL, NULL, NULL, gpu_resource_free);
	g->pending = g_array_new(FALSE, FALSE, sizeof(struct gpu_pending));
	g->nr_scanouts = MAX(cfg->nr_displays, 1u);
	for (unsigned int i = 0; i < g->nr_scanouts; i++) {
		const struct vm_display_config *d = &cfg->display[i];
		g->scanout[i].width = cfg->nr_displays ? d->width : 720;
		g->scanout[i].height = cfg->nr_displays ? d->height : 1280;
		g->scanout[i].dpi = cfg->nr_displays ? d->dpi : 320;
	}
	if (cfg->framebuffer_dir && !gpu_open_framebuffers(g, cfg->framebuffer_dir, error))
		goto fail;

	g->ctx = g_main_context_new();
	g->loop = g_main_loop_new(g->ctx, FALSE);
	bool want_virgl = cfg->mode == GPU_VIRGL || cfg->mode == GPU_AUTO;
	if (!gpu_start_thread(g, want_virgl, &virgl_error)) {
		if (cfg->mode == GPU_VIRGL) {
			g_propagate_error(error, g_steal_pointer(&virgl_error));
			goto fail;
		}
		g_message("%s; gpu mode auto: running 2D only", virgl_error->message);
	}

	g->config.num_scanouts = g->nr_scanouts;
	g->config.num_capsets = g->virgl ? gpu_virgl_num_capsets() : 0;
	uint64_t features = 1ULL << VIRTIO_GPU_F_EDID;
	if (g->virgl)
		features |= 1ULL << VIRTIO_GPU_F_VIRGL;
	vm_host_add_worker(host, g->ctx);
	g->vp = virtio_pci_create_on(host, g->ctx, g->name, &gpu_ops, features, g, error);
	if (!g->vp)
		goto fail;
	GString *modes = g_string_new(NULL);
	for (unsigned int i = 0; i < g->nr_scanouts; i++)
		g_string_append_printf(modes, "%s%ux%u@%udpi", i ? ", " : "", g->scanout[i].width,
				       g->scanout[i].height, g->scanout[i].dpi);
	g_message("%s: %s, %u scanout%s (%s)%s%s", g->name,
		  g->virgl ? "3D through virglrenderer (EGL surfaceless)" : "2D", g->nr_scanouts,
		  g->nr_scanouts == 1 ? "" : "s", modes->str, cfg->framebuffer_dir ? ", published in " : "",
		  cfg->framebuffer_dir ? cfg->framebuffer_dir : "");
	g_string_free(modes, TRUE);
	return g;
fail:
	virtio_gpu_destroy(g);
	return NULL;
}

void virtio_gpu_destroy(struct virtio_gpu *g)
{
	if (!g)
		return;
	if (g->thread) {
		GSource *quit = g_idle_source_new();
		g_source_set_callback(quit, gpu_quit, g, NULL);
		g_source_attach(quit, g->ctx);
		g_source_unref(quit);
		g_thread_join(g->thread);
	}
	if (g->commands)
		g_message("%s: %" G_GUINT64_FORMAT " commands in %.1f ms, %" G_GUINT64_FORMAT
			  " flushes, %" G_GUINT64_FORMAT " answered with an error (%" G_GUINT64_FORMAT
			  " for want of host memory)",
			  g->name, g->commands, (double)g->busy_usec / 1000.0, g->flushes, g->errors,
			  g->refusals);
	virtio_pci_destroy(g->vp);
	for (unsigned int i = 0; i < g->nr_scanouts; i++)
		fb_file_close(g->scanout[i].fb);
	g_hash_table_destroy(g->resources);
	g_array_free(g->pending, TRUE);
	g_free(g->readback);
	if (g->loop)
		g_main_loop_unref(g->loop);
	if (g->ctx)
		g_main_context_unref(g->ctx);
	g_free(g);
}
