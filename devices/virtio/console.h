/* virtio-console: one port, connected to a chardev sink. */
#pragma once

#include <glib.h>

#include "devices/chardev.h"
#include "devices/host.h"

struct virtio_console;
/* One port (the guest's next hvc) connected to sink; name (a string literal)
 * is for messages. */
struct virtio_console *virtio_console_create(struct vm_host *host, const char *name,
					     const struct vm_sink *sink, GError **error);
void virtio_console_destroy(struct virtio_console *c);
