/* pci: bus 0 as the runner configured it. A host bridge at 00.0; exactly blk=N
 * virtio-blk and console=N virtio-console functions (command line), each a modern
 * (non-transitional) virtio device: ID 0x1040 + type, revision >= 1, subsystem
 * vendor 0x1af4 and subsystem ID >= 0x40, the common/notify/isr/device capabilities
 * in assigned memory BARs, and an MSI-X capability. */
#include "lib.h"

static void check_virtio(const struct pci_dev *d, const char *name)
{
	uint32_t class_rev = pci_read32(d->bus, d->dev, d->fn, 0x08);
	uint32_t subsys = pci_read32(d->bus, d->dev, d->fn, 0x2c);
	struct virtio_dev v;

	gk_printf("guest: %s at %02x:%02x.%x, class 0x%06x rev %u, subsystem %04x:%04x\n", name, d->bus,
		  d->dev, d->fn, class_rev >> 8, class_rev & 0xff, subsys & 0xffff, subsys >> 16);
	check((class_rev & 0xff) >= 1, "%s revision %u >= 1 (modern)", name, class_rev & 0xff);
	check((subsys & 0xffff) == VIRTIO_PCI_VENDOR, "%s subsystem vendor 0x%04x is 0x1af4", name,
	      subsys & 0xffff);
	check((subsys >> 16) >= 0x40, "%s subsystem ID 0x%04x >= 0x40", name, subsys >> 16);
	if (!virtio_probe(&v, d))
		return;
	check(true, "%s has common/notify/isr capabilities", name);
	check(v.device != 0, "%s has a device-specific configuration capability", name);
	gk_printf("guest: %s common 0x%lx notify 0x%lx isr 0x%lx device 0x%lx\n", name, v.common, v.notify,
		  v.isr, v.device);
	check(v.common >= GK_MMIO_HOLE && v.common < 0xfec00000ull,
	      "%s BAR lies in the MMIO hole below the IOAPIC", name);
	uint8_t msix = pci_find_cap(d, PCI_CAP_ID_MSIX, 0);
	if (check(msix != 0, "%s has an MSI-X capability", name)) {
		uint16_t ctrl = pci_read16(d->bus, d->dev, d->fn, msix + 2);
		check((ctrl & 0x7ff) + 1 >= 2, "%s MSI-X table has %u entries (config + a queue)", name,
		      (ctrl & 0x7ff) + 1);
	}
}

static void check_kind(uint16_t device, const char *name, uint64_t expected)
{
	struct pci_dev d;
	uint64_t found = 0;
	while (pci_find(VIRTIO_PCI_VENDOR, device, (int)found, &d)) {
		check_virtio(&d, name);
		found++;
	}
	check(found == expected, "%lu %s function(s), expected %lu", found, name, expected);
}

int main(void)
{
	uint32_t id = pci_read32(0, 0, 0, 0);
	uint32_t class_rev = pci_read32(0, 0, 0, 0x08);
	struct pci_dev d;

	gk_printf("guest: 00:00.0 is %04x:%04x class 0x%06x\n", id & 0xffff, id >> 16, class_rev >> 8);
	check((id & 0xffff) != 0xffff, "a function at 00:00.0");
	check((class_rev >> 16) == 0x0600, "00:00.0 is a host bridge (class 06.00)");
	check((pci_read8(0, 0, 0, 0x0e) & 0x7f) == 0, "00:00.0 has a type 0 header");
	for (uint8_t dev = 1; dev < 32; dev++) {
		if ((pci_read32(0, dev, 0, 0) & 0xffff) != 0xffff)
			continue;
		check(pci_read32(0, dev, 0, 0x08) == 0xffffffff, "absent function 00:%02x.0 reads all-ones",
		      dev);
		break;
	}
	check(!pci_find(VIRTIO_PCI_VENDOR, 0x1001, 0, &d) && !pci_find(VIRTIO_PCI_VENDOR, 0x1003, 0, &d),
	      "no transitional (0x1001/0x1003) virtio functions");

	check_kind(VIRTIO_PCI_DEVICE(VIRTIO_ID_BLOCK), "virtio-blk", cmdline_num("blk", 0));
	check_kind(VIRTIO_PCI_DEVICE(VIRTIO_ID_CONSOLE), "virtio-console", cmdline_num("console", 0));
	return 0;
}
