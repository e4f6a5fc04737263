/* The ways a guest ends the VM: ACPI sleep control (S5 = power-off) and reset registers,
 * the i8042 reset line, and the optional isa-debug-exit style port. */
#pragma once

#include <glib.h>
#include <stdbool.h>

struct vm_host;
bool power_register(struct vm_host *host, bool debug_exit, GError **error);
