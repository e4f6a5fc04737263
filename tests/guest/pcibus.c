/* guest-kit PCI: configuration mechanism #1 (ports 0xcf8/0xcfc, accessed with the
 * widths Linux uses), bus-0 enumeration, capabilities, BARs and MSI-X. */
#include "lib.h"

#define PCI_COMMAND         0x04
#define PCI_STATUS          0x06
#define PCI_HEADER_TYPE     0x0e
#define PCI_BAR0            0x10
#define PCI_CAP_PTR         0x34
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_COMMAND_MEMORY  0x2
#define PCI_COMMAND_MASTER  0x4

static void pci_select(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
	outl(GK_PORT_PCI_ADDR, 0x80000000u | (uint32_t)bus << 16 | (uint32_t)(dev & 31) << 11 |
				       (uint32_t)(fn & 7) << 8 | (off & 0xfc));
}

uint32_t pci_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
	pci_select(bus, dev, fn, off);
	return inl(GK_PORT_PCI_DATA);
}

uint16_t pci_read16(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
	pci_select(bus, dev, fn, off);
	return inw(GK_PORT_PCI_DATA + (off & 2));
}

uint8_t pci_read8(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
	pci_select(bus, dev, fn, off);
	return inb(GK_PORT_PCI_DATA + (off & 3));
}

void pci_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint32_t v)
{
	pci_select(bus, dev, fn, off);
	outl(GK_PORT_PCI_DATA, v);
}

void pci_write16(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint16_t v)
{
	pci_select(bus, dev, fn, off);
	outw(GK_PORT_PCI_DATA + (off & 2), v);
}

bool pci_find(uint16_t vendor, uint16_t device, int index, struct pci_dev *out)
{
	for (uint8_t dev = 0; dev < 32; dev++) {
		uint8_t nfn = 1;
		for (uint8_t fn = 0; fn < nfn; fn++) {
			uint32_t id = pci_read32(0, dev, fn, 0);
			if ((id & 0xffff) == 0xffff)
				continue;
			if (fn == 0 && (pci_read8(0, dev, 0, PCI_HEADER_TYPE) & 0x80))
				nfn = 8;
			if ((id & 0xffff) == vendor && (id >> 16) == device && index-- == 0) {
				*out = (struct pci_dev){ 0, dev, fn, vendor, device };
				return true;
			}
		}
	}
	return false;
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t from)
{
	uint8_t p;
	int guard = 48; /* a looping list must not hang us */
	if (!from) {
		if (!(pci_read16(d->bus, d->dev, d->fn, PCI_STATUS) & PCI_STATUS_CAP_LIST))
			return 0;
		p = pci_read8(d->bus, d->dev, d->fn, PCI_CAP_PTR) & 0xfc;
	} else {
		p = pci_read8(d->bus, d->dev, d->fn, from + 1) & 0xfc;
	}
	for (; p && guard--; p = pci_read8(d->bus, d->dev, d->fn, p + 1) & 0xfc)
		if (pci_read8(d->bus, d->dev, d->fn, p) == id)
			return p;
	return 0;
}

static uint64_t bar_cursor = GK_BAR_FALLBACK;

uint64_t pci_bar_addr(const struct pci_dev *d, int bar)
{
	uint8_t off = PCI_BAR0 + 4 * bar;
	uint32_t lo = pci_read32(d->bus, d->dev, d->fn, off);
	bool is64 = (lo & 0x6) == 0x4;
	uint64_t addr;

	if (lo & 1)
		return 0; /* an I/O BAR: virtio modern structures live in memory BARs */
	addr = lo & ~0xfull;
	if (is64)
		addr |= (uint64_t)pci_read32(d->bus, d->dev, d->fn, off + 4) << 32;

	/* Unassigned (no firmware ran), or above the 4 GiB we map: place it ourselves. */
	if (addr == 0 || addr >= 0x100000000ull) {
		uint16_t cmd = pci_read16(d->bus, d->dev, d->fn, PCI_COMMAND);
		pci_write16(d->bus, d->dev, d->fn, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
		pci_write32(d->bus, d->dev, d->fn, off, 0xffffffff);
		uint64_t mask = pci_read32(d->bus, d->dev, d->fn, off) & ~0xfull;
		if (is64) {
			pci_write32(d->bus, d->dev, d->fn, off + 4, 0xffffffff);
			mask |= (uint64_t)pci_read32(d->bus, d->dev, d->fn, off + 4) << 32;
		} else {
			mask |= 0xffffffff00000000ull;
		}
		uint64_t size = ~mask + 1;
		if (!mask || size > 0x10000000)
			return 0;
		addr = (bar_cursor + size - 1) & ~(size - 1);
		bar_cursor = addr + size;
		pci_write32(d->bus, d->dev, d->fn, off, (uint32_t)addr);
		if (is64)
			pci_write32(d->bus, d->dev, d->fn, off + 4, 0);
		gk_printf("guest: placed %02x:%02x.%x BAR%d (%lu bytes) at 0x%lx\n", d->bus, d->dev, d->fn,
			  bar, size, addr);
	}
	uint16_t cmd = pci_read16(d->bus, d->dev, d->fn, PCI_COMMAND);
	if ((cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) != (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER))
		pci_write16(d->bus, d->dev, d->fn, PCI_COMMAND,
			    cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return addr;
}

bool msix_route(const struct pci_dev *d, uint16_t entry, uint32_t apic_id, uint8_t vector)
{
	uint8_t cap = pci_find_cap(d, PCI_CAP_ID_MSIX, 0);
	if (!cap)
		return false;
	uint16_t ctrl = pci_read16(d->bus, d->dev, d->fn, cap + 2);
	if (entry > (ctrl & 0x7ff))
		return false;
	uint32_t table = pci_read32(d->bus, d->dev, d->fn, cap + 4);
	uint64_t bar = pci_bar_addr(d, table & 7);
	if (!bar)
		return false;
	uint64_t e = bar + (table & ~7u) + 16u * entry;

	/* Enable with the function masked while the entry is written, then unmask. */
	pci_write16(d->bus, d->dev, d->fn, cap + 2, ctrl | 0x8000 | 0x4000);
	mmio_write32(e + 0, (uint32_t)GK_LAPIC | (apic_id & 0xff) << 12); /* fixed, physical */
	mmio_write32(e + 4, 0);
	mmio_write32(e + 8, vector); /* edge, fixed */
	mmio_write32(e + 12, 0);     /* unmasked */
	pci_write16(d->bus, d->dev, d->fn, cap + 2, (ctrl | 0x8000) & ~0x4000);
	return true;
}
