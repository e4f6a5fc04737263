#pragma once

#include <glib.h>

#include "devices/vm.h"

struct virtio_blk;
/* format: "raw", "qcow2" or "vmdk"; NULL probes it (block_open_format). */
struct virtio_blk *virtio_blk_create(struct vm *vm, unsigned int index, const char *path, const char *format,
				     bool readonly, GError **error);
void virtio_blk_destroy(struct virtio_blk *b);
