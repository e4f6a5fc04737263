#pragma once

#include <glib.h>
#include <stdint.h>

#include "devices/host.h"

struct virtio_vsock;
/* A virtio-vsock device for guest CID cid whose host side is the unix socket path (see
 * virtio/vsock_muxer.c for the protocol). */
struct virtio_vsock *virtio_vsock_create(struct vm_host *host, uint64_t cid, const char *path,
					 GError **error);
void virtio_vsock_destroy(struct virtio_vsock *v);
