/* virtio-blk: a disk for the guest, read through block/. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "devices/host.h"

struct vm_disk_config {
	char *path;
	const char *format; /* "raw", "qcow2", "vmdk" (static); NULL: probed (block_open_format) */
	bool readonly;
};

struct virtio_blk;
struct virtio_blk *virtio_blk_create(struct vm_host *host, unsigned int index,
				     const struct vm_disk_config *cfg, GError **error);
void virtio_blk_destroy(struct virtio_blk *b);
