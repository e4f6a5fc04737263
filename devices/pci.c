#include "devices/pci.h"

#include <errno.h>
#include <string.h>

#include "devices/layout.h"
#include "common/error.h"
#include "devices/host.h"
#include "devices/snapshot.h"

#define CONFIG_ENABLE 0x80000000u

static uint64_t bar_value(const struct pci_device *dev, unsigned int bar)
{
	uint32_t lo, hi;
	memcpy(&lo, dev->config + PCI_BAR0 + bar * 4, 4);
	memcpy(&hi, dev->config + PCI_BAR0 + bar * 4 + 4, 4);
	return ((uint64_t)hi << 32) | (lo & ~0xfULL);
}

/* After a BAR or COMMAND write: make the bus mapping follow what the guest programmed.
 * While decoding is off, or during sizing (all ones), the old mapping stays. */
static void pci_update_mappings(struct pci_device *dev)
{
	uint16_t cmd;
	memcpy(&cmd, dev->config + PCI_COMMAND, 2);
	if (!(cmd & PCI_COMMAND_MEMORY))
		return;
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &dev->bar[i];
		if (!b->size)
			continue;
		uint64_t addr = bar_value(dev, i);
		if (b->size < (1ULL << 32) && (uint32_t)addr == ((uint32_t) ~(b->size - 1) & ~0xfu))
			continue; /* the low dword is being sized: keep the mapping */
		if (addr == b->addr || addr == 0 || addr + b->size < addr || addr + b->size > (1ULL << 46))
			continue;
		if (bus_move(&dev->bus->host->mmio, b->range.opaque, b->addr, addr) < 0) {
			g_warning("pci %02x.0 %s: BAR%u at 0x%" G_GINT64_MODIFIER
				  "x overlaps another device; keeping 0x%" G_GINT64_MODIFIER "x",
				  dev->slot, dev->name, i, addr, b->addr);
			continue;
		}
		uint64_t old = b->addr;
		b->addr = addr;
		if (dev->bar_moved)
			dev->bar_moved(dev, i, old, addr);
	}
}

uint32_t pci_config_read(struct pci_device *dev, unsigned int offset, unsigned int len)
{
	uint32_t v = 0;
	if (offset < sizeof(dev->config) && len <= sizeof(dev->config) - offset)
		memcpy(&v, dev->config + offset, len);
	return v;
}

void pci_config_write(struct pci_device *dev, unsigned int offset, uint32_t value, unsigned int len)
{
	if (offset >= sizeof(dev->config) || len > sizeof(dev->config) - offset)
		return;
	for (unsigned int i = 0; i < len; i++) {
		uint8_t mask = dev->wmask[offset + i];
		uint8_t byte = (uint8_t)(value >> (8 * i));
		dev->config[offset + i] = (dev->config[offset + i] & ~mask) | (byte & mask);
	}
	if ((offset < PCI_BAR0 + 24 && offset + len > PCI_BAR0) ||
	    (offset <= PCI_COMMAND && offset + len > PCI_COMMAND))
		pci_update_mappings(dev);
	if (dev->config_written)
		dev->config_written(dev, offset, len);
}

static struct pci_device *pci_addressed(struct pci_bus *bus, unsigned int *reg)
{
	uint32_t a = bus->config_address;
	if (!(a & CONFIG_ENABLE) || ((a >> 16) & 0xff) != 0 || ((a >> 8) & 0x7) != 0)
		return NULL; /* only bus 0, function 0 exist */
	*reg = a & 0xfc;
	return bus->slot[(a >> 11) & 0x1f];
}

static void pci_io_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
	struct pci_bus *bus = opaque;
	uint32_t v = 0xffffffff;
	pthread_mutex_lock(&bus->lock);
	if (offset == 0 && len == 4) {
		v = bus->config_address;
	} else if (offset >= 4) {
		unsigned int reg;
		struct pci_device *dev = pci_addressed(bus, &reg);
		if (dev)
			v = pci_config_read(dev, reg + (unsigned int)(offset - 4), len);
	}
	pthread_mutex_unlock(&bus->lock);
	memcpy(data, &v, len);
}

static void pci_io_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
	struct pci_bus *bus = opaque;
	uint32_t v = 0;
	memcpy(&v, data, MIN(len, 4u));
	pthread_mutex_lock(&bus->lock);
	if (offset == 0 && len == 4) {
		bus->config_address = v;
	} else if (offset >= 4) {
		unsigned int reg;
		struct pci_device *dev = pci_addressed(bus, &reg);
		if (dev)
			pci_config_write(dev, reg + (unsigned int)(offset - 4), v, len);
	}
	pthread_mutex_unlock(&bus->lock);
}

static void set16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

static struct pci_device *pci_device_new(struct pci_bus *bus, unsigned int slot, const char *name,
					 uint16_t vendor, uint16_t device, uint32_t class,
					 uint16_t subsys_vendor, uint16_t subsys_id, uint8_t revision)
{
	struct pci_device *dev = g_new0(struct pci_device, 1);
	dev->name = name;
	dev->slot = slot;
	dev->bus = bus;
	set16(dev->config + PCI_VENDOR_ID, vendor);
	set16(dev->config + PCI_DEVICE_ID, device);
	dev->config[PCI_REVISION_ID] = revision;
	dev->config[PCI_CLASS_PROG] = class & 0xff;
	dev->config[PCI_CLASS_PROG + 1] = (class >> 8) & 0xff;
	dev->config[PCI_CLASS_PROG + 2] = (class >> 16) & 0xff;
	set16(dev->config + PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	set16(dev->config + PCI_SUBSYSTEM_ID, subsys_id);
	dev->wmask[PCI_COMMAND] = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | 0x01;
	dev->wmask[PCI_COMMAND + 1] = 0x04; /* INTx disable */
	dev->wmask[0x0c] = 0xff;            /* cache line size */
	dev->wmask[0x0d] = 0xff;            /* latency timer */
	dev->wmask[0x3c] = 0xff;            /* interrupt line: scratch for the guest */
	dev->next_cap = 0x40;
	bus->slot[slot] = dev;
	return dev;
}

/* Snapshot: the config address latch and every function's config space. The BARs the
 * guest programmed are mapped again where the saved config space puts them. */
static bool pci_bus_save(void *opaque, struct snap_writer *w, GError **error)
{
	struct pci_bus *bus = opaque;
	pthread_mutex_lock(&bus->lock);
	snap_put_u32(w, bus->config_address);
	uint32_t present = 0;
	for (unsigned int i = 0; i < PCI_MAX_SLOTS; i++)
		present |= (bus->slot[i] ? 1u : 0u) << i;
	snap_put_u32(w, present);
	for (unsigned int i = 0; i < PCI_MAX_SLOTS; i++)
		if (bus->slot[i])
			snap_put_blob(w, bus->slot[i]->config, sizeof(bus->slot[i]->config));
	pthread_mutex_unlock(&bus->lock);
	return true;
}

static bool pci_bus_load(void *opaque, struct snap_reader *r, GError **error)
{
	struct pci_bus *bus = opaque;
	bus->config_address = snap_get_u32(r);
	uint32_t present = snap_get_u32(r), ours = 0;
	for (unsigned int i = 0; i < PCI_MAX_SLOTS; i++)
		ours |= (bus->slot[i] ? 1u : 0u) << i;
	if (present != ours)
		snap_reader_fail(r);
	for (unsigned int i = 0; i < PCI_MAX_SLOTS && !r->failed; i++) {
		struct pci_device *dev = bus->slot[i];
		if (!dev)
			continue;
		uint8_t config[sizeof(dev->config)];
		if (!snap_get_blob(r, config, sizeof(config)))
			break;
		/* The identity bytes must be this machine's: the same device in the same slot. */
		if (memcmp(config, dev->config, PCI_COMMAND) ||
		    memcmp(config + PCI_REVISION_ID, dev->config + PCI_REVISION_ID, 4) ||
		    memcmp(config + PCI_SUBSYSTEM_VENDOR_ID, dev->config + PCI_SUBSYSTEM_VENDOR_ID, 4)) {
			g_set_error(error, SEPIA_ERROR, EINVAL,
				    "snapshot: PCI slot %02x holds another device than %s", i, dev->name);
			return false;
		}
		memcpy(dev->config, config, sizeof(config));
		for (unsigned int b = 0; b < PCI_NUM_BARS; b++) {
			struct pci_bar *bar = &dev->bar[b];
			uint64_t addr = bar_value(dev, b);
			if (!bar->size || addr == bar->addr)
				continue;
			if (addr + bar->size < addr || addr + bar->size > (1ULL << 46) ||
			    bus_move(&bus->host->mmio, bar->range.opaque, bar->addr, addr) < 0) {
				g_set_error(error, SEPIA_ERROR, EINVAL,
					    "snapshot: PCI %02x.0 %s: BAR%u at 0x%" G_GINT64_MODIFIER
					    "x cannot be mapped",
					    i, dev->name, b, addr);
				return false;
			}
			uint64_t old = bar->addr;
			bar->addr = addr;
			if (dev->bar_moved)
				dev->bar_moved(dev, b, old, addr);
		}
	}
	return snap_reader_done(r, error);
}

struct pci_bus *pci_bus_create(struct vm_host *host, GError **error)
{
	struct pci_bus *bus = g_new0(struct pci_bus, 1);
	bus->host = host;
	bus->next_mmio = LAYOUT_PCI_MMIO_BASE;
	pthread_mutex_init(&bus->lock, NULL);
	/* Host bridge: class 06.00.00, like every PC's 00.0. */
	pci_device_new(bus, 0, "host-bridge", 0x1b36, 0x0008, 0x060000, 0x1b36, 0x0008, 0);
	struct bus_range r = { PORT_PCI_CONFIG_ADDR, 8, "pci-conf1", pci_io_read, pci_io_write, bus };
	int ret = bus_register(&host->pio, &r);
	if (ret < 0) {
		g_set_error(error, SEPIA_ERROR, -ret, "pci: cannot claim ports 0xcf8-0xcff: %s",
			    g_strerror(-ret));
		pci_bus_destroy(bus);
		return NULL;
	}
	vm_host_add_state(host, "pci", pci_bus_save, pci_bus_load, bus);
	return bus;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	if (!bus)
		return;
	for (unsigned int i = 0; i < PCI_MAX_SLOTS; i++)
		g_free(bus->slot[i]);
	g_free(bus);
}

struct pci_device *pci_device_add(struct pci_bus *bus, const char *name, uint16_t vendor, uint16_t device,
				  uint32_t class, uint16_t subsys_vendor, uint16_t subsys_id,
				  uint8_t revision, GError **error)
{
	for (unsigned int slot = 1; slot < PCI_MAX_SLOTS; slot++)
		if (!bus->slot[slot])
			return pci_device_new(bus, slot, name, vendor, device, class, subsys_vendor,
					      subsys_id, revision);
	g_set_error(error, SEPIA_ERROR, ENOSPC, "pci: no free slot for %s (bus 0 holds %d devices)", name,
		    PCI_MAX_SLOTS - 1);
	return NULL;
}

bool pci_device_add_bar64(struct pci_device *dev, unsigned int bar, uint64_t size, bus_read_fn read,
			  bus_write_fn write, void *opaque, GError **error)
{
	struct pci_bus *bus = dev->bus;
	g_assert(bar + 1 < PCI_NUM_BARS && size >= 16 && (size & (size - 1)) == 0);
	uint64_t addr = (bus->next_mmio + size - 1) & ~(size - 1);
	if (addr + size > LAYOUT_PCI_MMIO_BASE + LAYOUT_PCI_MMIO_SIZE) {
		g_set_error(error, SEPIA_ERROR, ENOSPC,
			    "pci %s: no room for a %" G_GUINT64_FORMAT "-byte BAR", dev->name, size);
		return false;
	}
	struct pci_bar *b = &dev->bar[bar];
	b->size = size;
	b->addr = addr;
	b->range = (struct bus_range){ addr, size, dev->name, read, write, opaque };
	int ret = bus_register(&bus->host->mmio, &b->range);
	if (ret < 0) {
		g_set_error(error, SEPIA_ERROR, -ret, "pci %s: BAR%u: %s", dev->name, bar, g_strerror(-ret));
		return false;
	}
	bus->next_mmio = addr + size;
	uint32_t lo = (uint32_t)addr | 0x4 /* 64-bit memory */, hi = (uint32_t)(addr >> 32);
	uint64_t mask = ~(size - 1);
	memcpy(dev->config + PCI_BAR0 + bar * 4, &lo, 4);
	memcpy(dev->config + PCI_BAR0 + bar * 4 + 4, &hi, 4);
	uint32_t mlo = (uint32_t)mask & ~0xfu, mhi = (uint32_t)(mask >> 32);
	memcpy(dev->wmask + PCI_BAR0 + bar * 4, &mlo, 4);
	memcpy(dev->wmask + PCI_BAR0 + bar * 4 + 4, &mhi, 4);
	dev->config[PCI_COMMAND] |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	return true;
}

uint8_t pci_device_add_capability(struct pci_device *dev, const void *data, uint8_t len)
{
	unsigned int off = dev->next_cap; /* 0 once a capability ended at 0x100 */
	if (len < 2 || off < 0x40 || off + len > 0x100)
		return 0;
	memcpy(dev->config + off, data, len);
	dev->config[off + 1] = 0;
	/* Link it at the end of the list. */
	if (!dev->config[PCI_CAPABILITY_LIST]) {
		dev->config[PCI_CAPABILITY_LIST] = off;
		dev->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	} else {
		uint8_t p = dev->config[PCI_CAPABILITY_LIST];
		while (dev->config[p + 1])
			p = dev->config[p + 1];
		dev->config[p + 1] = off;
	}
	dev->next_cap = (uint8_t)((off + len + 3) & ~3);
	return (uint8_t)off;
}
