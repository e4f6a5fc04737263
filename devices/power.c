#include "devices/power.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/layout.h"
#include "common/error.h"
#include "devices/host.h"
#include "devices/snapshot.h"

/* ACPI sleep control: SLP_TYP in bits 2-4, SLP_EN in bit 5. */
#define SLP_EN     (1u << 5)
#define SLP_TYP(v) (((v) >> 2) & 7)

static void acpi_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
	struct vm_host *host = opaque;
	uint8_t v = *(const uint8_t *)data;
	uint16_t port = PORT_ACPI_SLEEP_CTL + offset;
	if (port == PORT_ACPI_SLEEP_CTL && (v & SLP_EN) && SLP_TYP(v) == ACPI_S5_SLP_TYP)
		vm_host_request_exit(host, VM_EXIT_POWEROFF, 0);
	else if (port == PORT_ACPI_RESET && v == ACPI_RESET_VALUE)
		vm_host_request_exit(host, VM_EXIT_RESET, 0);
}

static void acpi_read(void *opaque, uint64_t offset, void *data, unsigned int len) { memset(data, 0, len); }

/* i8042: reads say "nothing buffered, ready"; command 0xfe pulses the reset line. */
static void i8042_read(void *opaque, uint64_t offset, void *data, unsigned int len) { memset(data, 0, len); }

static void i8042_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
	struct vm_host *host = opaque;
	if (offset == PORT_I8042_CMD - PORT_I8042_DATA && *(const uint8_t *)data == 0xfe)
		vm_host_request_exit(host, VM_EXIT_RESET, 0);
}

/* Same contract as QEMU's isa-debug-exit: the process exits with (value << 1) | 1. */
static void debug_exit_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
	struct vm_host *host = opaque;
	uint32_t v = 0;
	memcpy(&v, data, MIN(len, sizeof(v)));
	vm_host_request_exit(host, VM_EXIT_DEBUG, (int)(((v << 1) | 1) & 0xff));
}

/* ACPI sleep/reset, i8042 and debug-exit act on writes and hold nothing between them: an
 * empty section says so, and that the machine has them. */
static bool power_save(void *opaque, struct snap_writer *w, GError **error) { return true; }

static bool power_load(void *opaque, struct snap_reader *r, GError **error)
{
	return snap_reader_done(r, error);
}

bool power_register(struct vm_host *host, bool debug_exit, GError **error)
{
	const struct bus_range ranges[] = {
		{ PORT_ACPI_SLEEP_CTL, 3, "acpi-pm", acpi_read, acpi_write, host },
		{ PORT_I8042_DATA, 5, "i8042", i8042_read, i8042_write, host },
		{ PORT_DEBUG_EXIT, 4, "debug-exit", NULL, debug_exit_write, host },
	};
	for (unsigned int i = 0; i < G_N_ELEMENTS(ranges); i++) {
		if (i == 2 && !debug_exit)
			break;
		int ret = bus_register(&host->pio, &ranges[i]);
		if (ret < 0) {
			g_set_error(error, SEPIA_ERROR, -ret,
				    "%s: cannot claim port 0x%" G_GINT64_MODIFIER "x: %s", ranges[i].name,
				    ranges[i].base, g_strerror(-ret));
			return false;
		}
	}
	vm_host_add_state(host, "power", power_save, power_load, NULL);
	return true;
}
