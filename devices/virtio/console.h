#ifndef SEPIA_VIRTIO_CONSOLE_H
#define SEPIA_VIRTIO_CONSOLE_H

#include <glib.h>

#include "devices/vm.h"

struct virtio_console;
/* One port (the guest's hvc0) connected to sink. */
struct virtio_console *virtio_console_create(struct vm *vm, const struct vm_sink *sink, GError **error);
void virtio_console_destroy(struct virtio_console *c);

#endif
