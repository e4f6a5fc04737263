/* The ways a guest ends the VM: ACPI sleep control (S5 = power-off) and reset registers,
 * the i8042 reset line, and the optional isa-debug-exit style port. */
#pragma once

#include <glib.h>
#include <stdbool.h>

struct vm;
bool power_register(struct vm *vm, bool debug_exit, GError **error);
