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
struct snap_writer;
struct snap_reader;

/* One part of the machine's state in a snapshot (snapshot.h): save writes it, load reads it
 * back into a machine built the same way. Both run with the VM paused. */
typedef bool (*vm_state_save_fn)(void *opaque, struct snap_writer *w, GError **error);
typedef bool (*vm_state_load_fn)(void *opaque, struct snap_reader *r, GError **error);

struct vm_state {
	char *name; /* the section's name, unique in the machine */
	vm_state_save_fn save;
	vm_state_load_fn load;
	void *opaque;
};

/* Parks the threads that run device work while the VM is paused. */
struct vm_park {
	GMutex lock;
	GCond cond;
	unsigned int parked;
	bool release;
};

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
	GArray *states;        /* struct vm_state, in creation order */
	GPtrArray *worker_ctx; /* GMainContext of device threads beyond io_ctx */
	struct vm_park park;
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

/* Lists a part of the machine's state for snapshots; every device with state does this
 * when it is made (the virtio transport does it for each virtio device). */
void vm_host_add_state(struct vm_host *h, const char *name, vm_state_save_fn save, vm_state_load_fn load,
		       void *opaque);
/* A device thread of its own (a GMainContext it runs): parked with the I/O thread on pause. */
void vm_host_add_worker(struct vm_host *h, GMainContext *ctx);
/* Parks every device thread (io_ctx and the workers) between two of their callbacks, so no
 * device state changes until vm_host_unpark(). The threads must be running their loops. */
void vm_host_park(struct vm_host *h);
void vm_host_unpark(struct vm_host *h);
