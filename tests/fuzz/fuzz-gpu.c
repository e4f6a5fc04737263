/* libFuzzer target for virtio-gpu's control-queue command handler (gpu_handle_request,
 * devices/virtio/gpu*.c) in 2D mode, over 1 MiB of fake guest RAM (tests/unit/fakegpu.c):
 * no PCI transport, queues or device thread, so whatever reaches the handler is the input.
 *
 * Input: a run of commands, each a 4-byte record header and its bytes:
 *   flags   bits 0-1: the command's bytes are split into 1-4 readable segments;
 *           bits 2-3: the response buffer: 1 KiB, a header's 24 bytes, 8 bytes, none;
 *           bit 7: the command's type becomes known_types[selector % N] (a shortcut past
 *           the type switch; without it the type is whatever the bytes say)
 *   selector
 *   length  16 bits, little-endian: the command's bytes that follow (cut at the input's end)
 * The device state (resources, backing, scanouts) lives on from command to command and is
 * reset after each input, as a guest's device reset does. The two scanouts publish into
 * framebuffer files in a private tmpfs directory, so flushes convert and copy pixels.
 *
 * Oracle, beyond no crash and no sanitizer report: every command is answered at once with an
 * OK_* or ERR_* type that fits the response buffer; the host memory charged never passes
 * GPU_MAX_HOSTMEM and always equals what the live resources hold (storage plus backing
 * arrays), down to 0 after the reset; the resource count stays within GPU_MAX_RESOURCES. */
#include "tests/fuzz/fuzz-common.h"

#include <stdlib.h>
#include <string.h>

#include "devices/sandbox/sandbox.h"
#include "tests/unit/fakegpu.h"

#define RAM      (1u << 20)
#define RESP_MAX 1024 /* the largest response (display info) is 408 bytes */

/* ---- what the handler never reaches in 2D mode: the transport and virglrenderer ---- */
struct virtq *virtio_pci_queue(struct virtio_pci_dev *vp, unsigned int q) { abort(); }
void virtio_pci_queue_interrupt(struct virtio_pci_dev *vp, unsigned int q) { abort(); }
void virtio_pci_set_needs_reset(struct virtio_pci_dev *vp, const char *why) { abort(); }
void virtio_pci_kick(struct virtio_pci_dev *vp, unsigned int q) { abort(); }
void virtio_pci_destroy(struct virtio_pci_dev *vp) { abort(); }
void vm_host_add_worker(struct vm_host *h, GMainContext *ctx) { abort(); }
void sandbox_defer_role(GMainContext *ctx, enum sandbox_role role) { abort(); }
struct virtio_pci_dev *virtio_pci_create_on(struct vm_host *host, GMainContext *ctx, const char *name,
					    const struct virtio_device_ops *ops, uint64_t features, void *dev,
					    GError **error)
{
	abort();
}
bool gpu_virgl_init(struct virtio_gpu *g, GError **error) { abort(); }
void gpu_virgl_cleanup(struct virtio_gpu *g) { abort(); }
void gpu_virgl_destroy_contexts(struct virtio_gpu *g) { abort(); }
unsigned int gpu_virgl_num_capsets(void) { abort(); }
uint32_t gpu_virgl_resource_create(struct virtio_gpu *g, struct gpu_resource *res,
				   const struct virtio_gpu_resource_create_3d *args)
{
	abort();
}
void gpu_virgl_resource_unref(struct gpu_resource *res) { abort(); }
uint32_t gpu_virgl_attach_backing(struct gpu_resource *res) { abort(); }
void gpu_virgl_detach_backing(struct gpu_resource *res) { abort(); }
uint32_t gpu_virgl_transfer_to_host_2d(struct gpu_resource *res,
				       const struct virtio_gpu_transfer_to_host_2d *t)
{
	abort();
}
bool gpu_virgl_read_rect(struct virtio_gpu *g, struct gpu_resource *res, const struct virtio_gpu_rect *r,
			 uint8_t *dst, size_t dst_stride)
{
	abort();
}
uint32_t gpu_virgl_cmd(struct virtio_gpu *g, struct gpu_request *req) { abort(); }
void gpu_virgl_create_fence(uint32_t fence_id, uint32_t ctx_id) { abort(); }
void gpu_virgl_poll(void) { abort(); }

static const uint32_t known_types[] = {
	VIRTIO_GPU_CMD_GET_DISPLAY_INFO,
	VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
	VIRTIO_GPU_CMD_RESOURCE_UNREF,
	VIRTIO_GPU_CMD_SET_SCANOUT,
	VIRTIO_GPU_CMD_RESOURCE_FLUSH,
	VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D,
	VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
	VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
	VIRTIO_GPU_CMD_GET_CAPSET_INFO,
	VIRTIO_GPU_CMD_GET_CAPSET,
	VIRTIO_GPU_CMD_GET_EDID,
	VIRTIO_GPU_CMD_CTX_CREATE,
	VIRTIO_GPU_CMD_RESOURCE_CREATE_3D,
	VIRTIO_GPU_CMD_SUBMIT_3D,
	VIRTIO_GPU_CMD_RESOURCE_ASSIGN_UUID,
	VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB,
	VIRTIO_GPU_CMD_UPDATE_CURSOR,
};

static struct fakegpu gpu;
static char *fb_dir;

static void remove_fb_dir(void)
{
	for (unsigned int i = 0; i < 2; i++) {
		g_autofree char *path = fb_file_path(fb_dir, i);
		g_unlink(path);
	}
	g_rmdir(fb_dir);
}

static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data) {}

static void setup(void)
{
	/* The device's guest-error and refusal lines are its answer to hostile input, not news. */
	g_log_set_handler(NULL, G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG, drop_log, NULL);
	fb_dir = g_strdup("/dev/shm/sepia-fuzz-gpu.XXXXXX");
	if (!g_mkdtemp(fb_dir)) {
		g_free(fb_dir);
		fb_dir = g_dir_make_tmp("sepia-fuzz-gpu.XXXXXX", NULL);
	}
	if (!fb_dir)
		abort();
	atexit(remove_fb_dir);
	fakegpu_init(&gpu, RAM, 2, 64, 48, fb_dir);
}

/* What the live resources hold must be exactly what is charged. */
static void check_budget(void)
{
	struct virtio_gpu *g = gpu.g;
	uint64_t held = 0;
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, g->resources);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct gpu_resource *res = value;
		held += res->hostmem + (uint64_t)res->nr_backing * sizeof(struct iovec);
	}
	if (held != g->hostmem || g->hostmem > GPU_MAX_HOSTMEM ||
	    g_hash_table_size(g->resources) > GPU_MAX_RESOURCES)
		abort();
}

static bool response_type_valid(uint32_t t)
{
	return (t >= VIRTIO_GPU_RESP_OK_NODATA && t <= VIRTIO_GPU_RESP_OK_EDID) ||
	       (t >= VIRTIO_GPU_RESP_ERR_UNSPEC && t <= VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
}

/* Each segment and the response are heap blocks of their exact size, so a read or write
 * past any of them is a sanitizer report. */
static void run_command(uint8_t flags, uint8_t selector, const uint8_t *bytes, size_t len)
{
	g_autofree uint8_t *cmd = g_malloc(MAX(len, 1));
	memcpy(cmd, bytes, len);
	if ((flags & 0x80) && len >= 4) {
		uint32_t type = known_types[selector % G_N_ELEMENTS(known_types)];
		memcpy(cmd, &type, 4);
	}
	/* The bytes in 1-4 readable segments, cut at points the selector picks. */
	unsigned int nseg = (flags & 3) + 1, n = 0;
	struct iovec out[4];
	size_t off = 0;
	for (unsigned int i = 0; i < nseg && (off < len || i == 0); i++) {
		size_t end = i + 1 == nseg ? len : MIN(len, off + ((selector >> (2 * i)) & 3) * 8 + 4);
		out[n++] = (struct iovec){ end > off ? g_memdup2(cmd + off, end - off) : NULL, end - off };
		off = end;
	}
	static const size_t resp_sizes[4] = { RESP_MAX, sizeof(struct virtio_gpu_ctrl_hdr), 8, 0 };
	size_t resp_len = resp_sizes[(flags >> 2) & 3];
	g_autofree uint8_t *resp = resp_len ? g_malloc(resp_len) : NULL;
	if (resp)
		memset(resp, 0xee, resp_len);
	uint32_t t = fakegpu_cmd(&gpu, out, n, resp, resp_len);
	for (unsigned int i = 0; i < n; i++)
		g_free(out[i].iov_base);
	if (resp_len >= sizeof(struct virtio_gpu_ctrl_hdr) && !response_type_valid(t))
		abort();
	if (resp_len < sizeof(struct virtio_gpu_ctrl_hdr) && t != 0)
		abort();
	check_budget();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!gpu.g)
		setup();
	while (size >= 4) {
		uint8_t flags = data[0], selector = data[1];
		size_t len = MIN((size_t)(data[2] | data[3] << 8), size - 4);
		run_command(flags, selector, data + 4, len);
		data += 4 + len;
		size -= 4 + len;
	}
	fakegpu_reset(&gpu);
	if (gpu.g->hostmem != 0 || g_hash_table_size(gpu.g->resources) != 0)
		abort();
	for (unsigned int i = 0; i < gpu.g->nr_scanouts; i++)
		if (gpu.g->scanout[i].resource_id)
			abort();
	return 0;
}
