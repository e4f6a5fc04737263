#pragma once

#include <glib.h>
#include <stdint.h>

#include "devices/vm.h"

struct virtio_net;
/* A virtio-net device on the TAP interface tap (attached when it exists, created
 * otherwise), with the guest-visible MAC address mac. */
struct virtio_net *virtio_net_create(struct vm *vm, unsigned int index, const char *tap, const uint8_t mac[6],
				     GError **error);
void virtio_net_destroy(struct virtio_net *n);
