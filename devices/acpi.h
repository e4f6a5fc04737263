#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/guestmem.h"

/* Writes the ACPI tables for cpus vCPUs below 1 MiB; returns the RSDP's guest address
 * (0 with error set on failure). */
uint64_t acpi_build(const struct guest_mem *mem, unsigned int cpus, GError **error);
