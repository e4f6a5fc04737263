/* PCI bus 0 behind configuration mechanism #1 (ports 0xcf8/0xcfc): a host bridge at
 * 00.0 and one function per slot after it. sepia-vmm plays firmware: it assigns every
 * BAR an address in the 32-bit MMIO hole and enables decoding before the guest runs. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"

#define PCI_MAX_SLOTS 32
#define PCI_NUM_BARS  6

#define PCI_VENDOR_ID           0x00
#define PCI_DEVICE_ID           0x02
#define PCI_COMMAND             0x04
#define PCI_STATUS              0x06
#define PCI_REVISION_ID         0x08
#define PCI_CLASS_PROG          0x09
#define PCI_HEADER_TYPE         0x0e
#define PCI_BAR0                0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_CAPABILITY_LIST     0x34
#define PCI_INTERRUPT_PIN       0x3d
#define PCI_COMMAND_MEMORY      0x2
#define PCI_COMMAND_MASTER      0x4
#define PCI_STATUS_CAP_LIST     0x10

struct pci_device;
struct vm_host;

/* Called after the guest wrote config bytes [offset, offset+len). */
typedef void (*pci_config_written_fn)(struct pci_device *dev, unsigned int offset, unsigned int len);
/* Called when a BAR's guest address changes (for ioeventfds bound to addresses). */
typedef void (*pci_bar_moved_fn)(struct pci_device *dev, unsigned int bar, uint64_t old_addr,
				 uint64_t new_addr);

struct pci_bar {
	uint64_t size; /* power of two, 0 when unused */
	uint64_t addr; /* where the bus maps it */
	struct bus_range range;
};

struct pci_device {
	const char *name;
	unsigned int slot;
	uint8_t config[256];
	uint8_t wmask[256]; /* bits the guest may change */
	uint8_t next_cap;   /* where the next capability goes */
	struct pci_bar bar[PCI_NUM_BARS];
	pci_config_written_fn config_written;
	pci_bar_moved_fn bar_moved;
	void *opaque;
	struct pci_bus *bus;
};

struct pci_bus {
	struct vm_host *host;
	pthread_mutex_t lock; /* config space of every device */
	uint32_t config_address;
	struct pci_device *slot[PCI_MAX_SLOTS];
	uint64_t next_mmio; /* BAR allocator */
};

struct pci_bus *pci_bus_create(struct vm_host *host, GError **error);
void pci_bus_destroy(struct pci_bus *bus);

/* A new function 0 in the next free slot. class is (base << 16) | (sub << 8) | prog-if. */
struct pci_device *pci_device_add(struct pci_bus *bus, const char *name, uint16_t vendor, uint16_t device,
				  uint32_t class, uint16_t subsys_vendor, uint16_t subsys_id,
				  uint8_t revision, GError **error);
/* A 64-bit memory BAR (uses bar and bar+1) with handlers on the MMIO bus. */
bool pci_device_add_bar64(struct pci_device *dev, unsigned int bar, uint64_t size, bus_read_fn read,
			  bus_write_fn write, void *opaque, GError **error);
/* Appends a capability (data[0] is its ID, data[1] is filled with the next pointer);
 * returns its config-space offset, 0 when config space is full. */
uint8_t pci_device_add_capability(struct pci_device *dev, const void *data, uint8_t len);

/* Config space access as the bus does it (tests use these directly). */
uint32_t pci_config_read(struct pci_device *dev, unsigned int offset, unsigned int len);
void pci_config_write(struct pci_device *dev, unsigned int offset, uint32_t value, unsigned int len);
