/* virtio-gpu (virtio spec 5.7): 2D scanouts in host memory, or 3D through virglrenderer. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "devices/host.h"

/* none, 2D only, 3D through virglrenderer, or 3D when it initialises. */
enum vm_gpu_mode { GPU_NONE, GPU_2D, GPU_VIRGL, GPU_AUTO };
#define VM_MAX_DISPLAYS 16

struct vm_display_config {
	uint32_t width, height, dpi;
};

struct vm_gpu_config {
	enum vm_gpu_mode mode;
	struct vm_display_config display[VM_MAX_DISPLAYS];
	unsigned int nr_displays;
	char *framebuffer_dir; /* where scanouts are published (display<N>.fb); NULL: not */
};

struct virtio_gpu;
/* Adds the device with cfg->mode (not GPU_NONE) and cfg->display; publishes each scanout as
 * cfg->framebuffer_dir/display<N>.fb when that is set. */
struct virtio_gpu *virtio_gpu_create(struct vm_host *host, const struct vm_gpu_config *cfg, GError **error);
void virtio_gpu_destroy(struct virtio_gpu *g);
