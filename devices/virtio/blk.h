#pragma once

#include <glib.h>

#include "devices/vm.h"

struct virtio_blk;
struct virtio_blk *virtio_blk_create(struct vm *vm, unsigned int index, const char *path, bool readonly,
				     GError **error);
void virtio_blk_destroy(struct virtio_blk *b);
