/* virtio-net on a host TAP interface. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "devices/host.h"

struct vm_net_config {
	char *tap;      /* host TAP interface name */
	uint8_t mac[6]; /* the guest's MAC address */
};

struct virtio_net;
/* A virtio-net device on the TAP interface cfg->tap (attached when it exists, created
 * otherwise), with the guest-visible MAC address cfg->mac. */
struct virtio_net *virtio_net_create(struct vm_host *host, unsigned int index,
				     const struct vm_net_config *cfg, GError **error);
void virtio_net_destroy(struct virtio_net *n);
