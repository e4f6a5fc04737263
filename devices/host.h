/* The VM as its devices see it. A device gets a struct vm_host and nothing else of the
 * machine: guest memory, the port-I/O and MMIO buses, the PCI bus, interrupts (ISA lines,
 * MSI routes, irqfds), ioeventfds for notifications, the I/O thread's context, a way to end
 * the VM, and the device list vm_destroy() tears down. vm.c owns and fills it; devices never
 * include vm.h, so what a device can touch is exactly what this header declares. */
#pragma once

#include <glib.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/guestmem.h"

/* Why the VM stopped; main.c's exit-status contract maps each to a status. */
enum vm_exit_reason {
	VM_RUNNING = 0,
	VM_EXIT_POWEROFF,  /* ACPI S5: status 0 */
	VM_EXIT_RESET,     /* i8042, ACPI reset or triple fault: status 4, the monitor reboots */
	VM_EXIT_DEBUG,     /* --debug-exit port write: (V << 1) | 1 */
	VM_EXIT_ERROR,     /* unrecoverable vCPU error, message logged: status 1 */
	VM_EXIT_HOST_STOP, /* SIGTERM, SIGINT or SIGHUP to sepia-vmm: status 0 */
};

struct pci_bus;

/* One device of the machine, torn down in reverse order of creation. */
struct vm_device {
	const char *name;
	void *dev;
	void (*destroy)(void *dev);
};

struct vm_host {
	int vm_fd; /* the KVM VM, for the interrupt and notification calls below */
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct pci_bus *pci;      /* once the host bridge exists */
	GMainContext *io_ctx;     /* the I/O thread: queue notifications, host input */
	GArray *devices;          /* struct vm_device, in creation order */
	pthread_mutex_t gsi_lock; /* next_gsi and the routing table */
	uint32_t next_gsi;        /* KVM GSIs handed to MSI vectors */
	struct kvm_irq_routing *routes;
	void (*request_exit)(void *opaque, enum vm_exit_reason reason, int status);
	void *exit_opaque;
};

/* Sets up an empty host for the KVM VM vm_fd (buses, device list, GSI lock); the caller
 * adds memory, routes and the I/O context. vm_host_fini() releases what it holds. */
void vm_host_init(struct vm_host *h, int vm_fd);
void vm_host_fini(struct vm_host *h);

/* Drives an ISA interrupt line (KVM_IRQ_LINE). 0 or -errno. */
int vm_host_irq_line(struct vm_host *h, uint32_t irq, bool level);
/* Allocates a KVM GSI for an MSI vector. */
uint32_t vm_host_alloc_gsi(struct vm_host *h);
/* Points gsi at an MSI address/data pair (KVM GSI routing). 0 or -errno. */
int vm_host_set_msi_route(struct vm_host *h, uint32_t gsi, uint64_t addr, uint32_t data);
/* Makes a write to eventfd fd raise gsi (KVM_IRQFD), or stops it. 0 or -errno. */
int vm_host_irqfd(struct vm_host *h, int fd, uint32_t gsi, bool assign);
/* Makes a guest MMIO write of len bytes at addr signal fd instead of exiting
 * (KVM_IOEVENTFD), or stops it. 0 or -errno. */
int vm_host_ioeventfd(struct vm_host *h, uint64_t addr, uint32_t len, int fd, bool assign);
/* Ends the VM; the first reason wins. Thread-safe. */
void vm_host_request_exit(struct vm_host *h, enum vm_exit_reason reason, int status);
/* Adds a created device to the list vm_destroy() tears down (last added, first destroyed). */
void vm_host_add_device(struct vm_host *h, const char *name, void *dev, void (*destroy)(void *dev));
/* Destroys every listed device, the last added first, and empties the list. */
void vm_host_destroy_devices(struct vm_host *h);
