/* 16550A UART at COM1 (0x3f8, IRQ 4): the guest's early console. Transmits at once,
 * receives from the chardev's input. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "devices/chardev.h"
#include "devices/host.h"

struct serial *serial_create(struct vm_host *host, const struct vm_sink *sink, GError **error);
void serial_destroy(struct serial *s);
