/* virtio-gpu (virtio spec 5.7): 2D scanouts in host memory, or 3D through virglrenderer. */
#pragma once

#include <glib.h>

#include "devices/vm.h"

struct virtio_gpu;
/* Adds the device with cfg->gpu_mode (not GPU_NONE) and cfg->displays; publishes each
 * scanout as cfg->framebuffer_dir/display<N>.fb when that is set. */
struct virtio_gpu *virtio_gpu_create(struct vm *vm, const struct vm_config *cfg, GError **error);
void virtio_gpu_destroy(struct virtio_gpu *g);
