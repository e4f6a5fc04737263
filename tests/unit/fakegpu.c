#include "tests/unit/fakegpu.h"

#include <glib.h>
#include <string.h>

#include "tests/unit/fakemem.h"

void fakegpu_init(struct fakegpu *f, uint64_t ram_bytes, unsigned int nr_scanouts, uint32_t width,
		  uint32_t height, const char *fb_dir)
{
	memset(f, 0, sizeof(*f));
	f->host = g_new0(struct vm_host, 1);
	fakemem_add(&f->host->mem, 0, ram_bytes);
	f->chain = g_new0(struct virtq_chain, 1);
	struct virtio_gpu *g = f->g = g_new0(struct virtio_gpu, 1);
	g->name = "virtio-gpu";
	g->host = f->host;
	g->resources = g_hash_table_new_full(NULL, NULL, NULL, gpu_resource_free);
	g->pending = g_array_new(FALSE, FALSE, sizeof(struct gpu_pending));
	g->nr_scanouts = nr_scanouts;
	for (unsigned int i = 0; i < nr_scanouts; i++) {
		g->scanout[i].width = width;
		g->scanout[i].height = height;
		g->scanout[i].dpi = 160;
		if (!fb_dir)
			continue;
		g_autoptr(GError) error = NULL;
		g_autofree char *path = fb_file_path(fb_dir, i);
		g->scanout[i].fb = fb_file_create(path, width, height, 160, &error);
		g_assert_no_error(error);
	}
	g->config.num_scanouts = nr_scanouts;
}

void fakegpu_reset(struct fakegpu *f) { gpu_resources_reset(f->g, true); }

void fakegpu_free(struct fakegpu *f)
{
	struct virtio_gpu *g = f->g;
	gpu_resources_reset(g, false);
	for (unsigned int i = 0; i < g->nr_scanouts; i++)
		fb_file_close(g->scanout[i].fb);
	g_hash_table_destroy(g->resources);
	g_array_free(g->pending, TRUE);
	g_free(g);
	fakemem_free(&f->host->mem);
	g_free(f->host);
	g_free(f->chain);
	memset(f, 0, sizeof(*f));
}

uint32_t fakegpu_cmd(struct fakegpu *f, const struct iovec *out, unsigned int n_out, void *resp,
		     size_t resp_len)
{
	struct virtq_chain *c = f->chain;
	g_assert_cmpuint(n_out, <, VIRTQ_MAX_SEGS);
	c->head = 0;
	c->nr_out = n_out;
	c->out_len = 0;
	for (unsigned int i = 0; i < n_out; i++) {
		c->iov[i] = out[i];
		c->out_len += out[i].iov_len;
	}
	c->nr_in = resp_len ? 1 : 0;
	c->in_len = resp_len;
	if (resp_len)
		c->iov[n_out] = (struct iovec){ resp, resp_len };
	uint32_t len = 0;
	g_assert_true(gpu_handle_request(f->g, c, &len)); /* 2D: answered at once */
	g_assert_cmpuint(len, <=, resp_len);
	if (len < sizeof(struct virtio_gpu_ctrl_hdr))
		return 0;
	struct virtio_gpu_ctrl_hdr h;
	memcpy(&h, resp, sizeof(h));
	return h.type;
}

uint32_t fakegpu_cmd1(struct fakegpu *f, const void *req, size_t len)
{
	struct iovec out = { (void *)req, len };
	struct virtio_gpu_ctrl_hdr resp;
	return fakegpu_cmd(f, &out, 1, &resp, sizeof(resp));
}

void *fakegpu_ram(struct fakegpu *f, uint64_t gpa, uint64_t len)
{
	return fakemem_at(&f->host->mem, gpa, len);
}
