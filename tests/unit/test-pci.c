/* Unit tests of PCI bus 0 (devices/pci.c) and the I/O dispatch under it (devices/bus.c),
 * without KVM: a host interface (devices/host.h) with its port and MMIO buses is all
 * pci_bus_create() needs. The guest side is played through configuration mechanism #1 on the port bus, as
 * a kernel's PCI probe would do it. */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "devices/layout.h"
#include "devices/pci.h"
#include "common/error.h"
#include "devices/host.h"

#define CONF1_ENABLE 0x80000000u

struct fx {
	struct vm_host host;
	struct pci_bus *pci;
};

/* An MMIO handler that answers with its offset and counts what reaches it. */
struct fakedev {
	unsigned int reads, writes;
	uint64_t last_offset;
	unsigned int moves;
	uint64_t moved_from, moved_to;
};

static void fake_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
	struct fakedev *d = opaque;
	uint64_t v = 0xa5a50000 | offset;
	d->reads++;
	d->last_offset = offset;
	memcpy(data, &v, len);
}

static void fake_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
	struct fakedev *d = opaque;
	d->writes++;
	d->last_offset = offset;
}

static void fake_bar_moved(struct pci_device *dev, unsigned int bar, uint64_t old_addr, uint64_t new_addr)
{
	struct fakedev *d = dev->opaque;
	d->moves++;
	d->moved_from = old_addr;
	d->moved_to = new_addr;
}

static void fx_setup(struct fx *f, gconstpointer data)
{
	GError *error = NULL;
	vm_host_init(&f->host, -1);
	f->pci = pci_bus_create(&f->host, &error);
	g_assert_no_error(error);
	g_assert_nonnull(f->pci);
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	pci_bus_destroy(f->pci);
	vm_host_fini(&f->host);
}

static uint32_t conf1_address(unsigned int bus, unsigned int slot, unsigned int fn, unsigned int reg)
{
	return CONF1_ENABLE | bus << 16 | slot << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t cfg_read_bdf(struct fx *f, unsigned int bus, unsigned int slot, unsigned int fn,
			     unsigned int reg, unsigned int len)
{
	uint32_t addr = conf1_address(bus, slot, fn, reg), v = 0;
	g_assert_true(bus_write(&f->host.pio, PORT_PCI_CONFIG_ADDR, &addr, 4));
	g_assert_true(bus_read(&f->host.pio, PORT_PCI_CONFIG_DATA + (reg & 3), &v, len));
	return v;
}

static uint32_t cfg_read(struct fx *f, unsigned int slot, unsigned int reg, unsigned int len)
{
	return cfg_read_bdf(f, 0, slot, 0, reg, len);
}

static void cfg_write(struct fx *f, unsigned int slot, unsigned int reg, uint32_t v, unsigned int len)
{
	uint32_t addr = conf1_address(0, slot, 0, reg);
	g_assert_true(bus_write(&f->host.pio, PORT_PCI_CONFIG_ADDR, &addr, 4));
	g_assert_true(bus_write(&f->host.pio, PORT_PCI_CONFIG_DATA + (reg & 3), &v, len));
}

static uint32_t mmio_read32(struct fx *f, uint64_t addr, bool *claimed)
{
	uint32_t v = 0;
	*claimed = bus_read(&f->host.mmio, addr, &v, 4);
	return v;
}

static void test_host_bridge(struct fx *f, gconstpointer data)
{
	g_assert_cmpuint(cfg_read(f, 0, PCI_VENDOR_ID, 4), ==, 0x00081b36);
	g_assert_cmpuint(cfg_read(f, 0, PCI_DEVICE_ID, 2), ==, 0x0008);          /* word at 0xcfe */
	g_assert_cmpuint(cfg_read(f, 0, PCI_VENDOR_ID + 1, 1), ==, 0x1b);        /* byte at 0xcfd */
	g_assert_cmpuint(cfg_read(f, 0, PCI_REVISION_ID, 4) >> 8, ==, 0x060000); /* host bridge */
	g_assert_cmpuint(cfg_read(f, 0, PCI_HEADER_TYPE, 1), ==, 0);             /* single function */
	/* The address register reads back. */
	uint32_t addr = conf1_address(0, 3, 0, 0x10), back = 0;
	bus_write(&f->host.pio, PORT_PCI_CONFIG_ADDR, &addr, 4);
	bus_read(&f->host.pio, PORT_PCI_CONFIG_ADDR, &back, 4);
	g_assert_cmpuint(back, ==, addr);
	/* IDs are read-only. */
	cfg_write(f, 0, PCI_VENDOR_ID, 0x12345678, 4);
	g_assert_cmpuint(cfg_read(f, 0, PCI_VENDOR_ID, 4), ==, 0x00081b36);
}

/* What does not exist reads all-ones: a probe takes vendor 0xffff as "nothing here". */
static void test_absent(struct fx *f, gconstpointer data)
{
	g_assert_cmpuint(cfg_read(f, 5, PCI_VENDOR_ID, 4), ==, 0xffffffff); /* empty slot */
	g_assert_cmpuint(cfg_read(f, 31, PCI_VENDOR_ID, 2), ==, 0xffff);
	g_assert_cmpuint(cfg_read_bdf(f, 1, 0, 0, PCI_VENDOR_ID, 4), ==, 0xffffffff); /* bus 1 */
	g_assert_cmpuint(cfg_read_bdf(f, 0, 0, 1, PCI_VENDOR_ID, 4), ==, 0xffffffff); /* 00.1 */
	g_assert_cmpuint(cfg_read_bdf(f, 0, 0, 7, PCI_VENDOR_ID, 4), ==, 0xffffffff); /* 00.7 */
	/* Without the enable bit the data port addresses nothing. */
	uint32_t addr = 0, v = 0;
	bus_write(&f->host.pio, PORT_PCI_CONFIG_ADDR, &addr, 4);
	bus_read(&f->host.pio, PORT_PCI_CONFIG_DATA, &v, 4);
	g_assert_cmpuint(v, ==, 0xffffffff);
}

static struct pci_device *add_device(struct fx *f, struct fakedev *d)
{
	GError *error = NULL;
	struct pci_device *dev = pci_device_add(f->pci, "fake", 0x1af4, 0x1042, 0x010000, 0x1af4, 0x0002, 1,
						&error);
	g_assert_no_error(error);
	dev->opaque = d;
	dev->bar_moved = fake_bar_moved;
	return dev;
}

static void add_bar(struct pci_device *dev, unsigned int bar, uint64_t size, struct fakedev *d)
{
	GError *error = NULL;
	g_assert_true(pci_device_add_bar64(dev, bar, size, fake_read, fake_write, d, &error));
	g_assert_no_error(error);
}

static void test_device_add(struct fx *f, gconstpointer data)
{
	struct fakedev d = { 0 };
	struct pci_device *dev = add_device(f, &d);
	g_assert_cmpuint(dev->slot, ==, 1);
	g_assert_cmpuint(cfg_read(f, 1, PCI_VENDOR_ID, 4), ==, 0x10421af4);
	g_assert_cmpuint(cfg_read(f, 1, PCI_REVISION_ID, 4), ==, 0x01000001);
	g_assert_cmpuint(cfg_read(f, 1, PCI_SUBSYSTEM_VENDOR_ID, 4), ==, 0x00021af4);
	/* Slots fill up to 31; the 32nd device has nowhere to go. */
	for (unsigned int slot = 2; slot < PCI_MAX_SLOTS; slot++)
		g_assert_cmpuint(add_device(f, &d)->slot, ==, slot);
	GError *error = NULL;
	g_assert_null(pci_device_add(f->pci, "one-too-many", 1, 2, 0, 0, 0, 0, &error));
	g_assert_error(error, SEPIA_ERROR, ENOSPC);
	g_error_free(error);
}

static uint64_t bar_addr(struct fx *f, unsigned int slot, unsigned int bar)
{
	uint32_t lo = cfg_read(f, slot, PCI_BAR0 + 4 * bar, 4),
		 hi = cfg_read(f, slot, PCI_BAR0 + 4 * bar + 4, 4);
	return ((uint64_t)hi << 32) | (lo & ~0xfu);
}

static void test_bar64(struct fx *f, gconstpointer data)
{
	struct fakedev d0 = { 0 }, d2 = { 0 };
	struct pci_device *dev = add_device(f, &d0);
	add_bar(dev, 0, 0x4000, &d0);
	add_bar(dev, 2, 0x100000, &d2);
	uint64_t a0 = bar_addr(f, 1, 0), a2 = bar_addr(f, 1, 2);
	g_assert_cmpuint(dev->bar[0].addr, ==, a0);
	g_assert_cmpuint(dev->bar[2].addr, ==, a2);
	/* Naturally aligned, inside the hole, not overlapping. */
	g_assert_cmpuint(a0 % 0x4000, ==, 0);
	g_assert_cmpuint(a2 % 0x100000, ==, 0);
	g_assert_cmpuint(a0, >=, LAYOUT_PCI_MMIO_BASE);
	g_assert_cmpuint(a0 + 0x4000, <=, LAYOUT_PCI_MMIO_BASE + LAYOUT_PCI_MMIO_SIZE);
	g_assert_cmpuint(a2, >=, LAYOUT_PCI_MMIO_BASE);
	g_assert_cmpuint(a2 + 0x100000, <=, LAYOUT_PCI_MMIO_BASE + LAYOUT_PCI_MMIO_SIZE);
	g_assert_true(a0 + 0x4000 <= a2 || a2 + 0x100000 <= a0);
	g_assert_cmpuint(cfg_read(f, 1, PCI_BAR0, 4) & 0xf, ==, 0x4); /* 64-bit memory */
	g_assert_cmpuint(cfg_read(f, 1, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY, !=, 0);

	/* The handler sees offsets relative to its BAR. */
	bool claimed;
	g_assert_cmpuint(mmio_read32(f, a0 + 0x10, &claimed), ==, 0xa5a50010);
	g_assert_true(claimed);
	g_assert_cmpuint(d0.reads, ==, 1);
	g_assert_cmpuint(mmio_read32(f, a2 + 0xff00, &claimed), ==, 0xa5a5ff00);
	g_assert_cmpuint(d2.reads, ==, 1);
	/* Past the BAR's end: nobody answers. */
	mmio_read32(f, a0 + 0x4000 == a2 ? a2 + 0x100000 : a0 + 0x4000, &claimed);
	g_assert_false(claimed);

	/* A BAR bigger than what is left of the hole. */
	GError *error = NULL;
	g_assert_false(
		pci_device_add_bar64(dev, 4, LAYOUT_PCI_MMIO_SIZE, fake_read, fake_write, &d0, &error));
	g_assert_error(error, SEPIA_ERROR, ENOSPC);
	g_error_free(error);
}

/* The sizing dance as Linux does it: decode off, all-ones to each dword, read the mask,
 * restore, decode on. The mapping must come through unchanged. */
static void test_bar_sizing(struct fx *f, gconstpointer data)
{
	struct fakedev d = { 0 };
	struct pci_device *dev = add_device(f, &d);
	add_bar(dev, 0, 0x4000, &d);
	uint64_t addr = bar_addr(f, 1, 0);
	uint32_t lo = cfg_read(f, 1, PCI_BAR0, 4), hi = cfg_read(f, 1, PCI_BAR0 + 4, 4);
	uint16_t cmd = cfg_read(f, 1, PCI_COMMAND, 2);

	cfg_write(f, 1, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY, 2);
	cfg_write(f, 1, PCI_BAR0, 0xffffffff, 4);
	g_assert_cmpuint(cfg_read(f, 1, PCI_BAR0, 4), ==, (uint32_t) ~(0x4000 - 1) | 0x4);
	cfg_write(f, 1, PCI_BAR0 + 4, 0xffffffff, 4);
	g_assert_cmpuint(cfg_read(f, 1, PCI_BAR0 + 4, 4), ==, 0xffffffff);
	cfg_write(f, 1, PCI_BAR0, lo, 4);
	cfg_write(f, 1, PCI_BAR0 + 4, hi, 4);
	cfg_write(f, 1, PCI_COMMAND, cmd, 2);

	g_assert_cmpuint(bar_addr(f, 1, 0), ==, addr);
	g_assert_cmpuint(cfg_read(f, 1, PCI_BAR0, 4), ==, lo);
	g_assert_cmpuint(d.moves, ==, 0);
	bool claimed;
	mmio_read32(f, addr, &claimed);
	g_assert_true(claimed);
	g_assert_cmpuint(d.reads, ==, 1);
}

/* pci.c promises: "during sizing (all ones), the old mapping stays" — also with decode on. */
static void test_bar_sizing_decode_on(struct fx *f, gconstpointer data)
{
	struct fakedev d = { 0 };
	struct pci_device *dev = add_device(f, &d);
	add_bar(dev, 0, 0x4000, &d);
	uint64_t addr = bar_addr(f, 1, 0);
	uint32_t lo = cfg_read(f, 1, PCI_BAR0, 4);
	cfg_write(f, 1, PCI_BAR0, 0xffffffff, 4);
	bool claimed;
	mmio_read32(f, addr, &claimed);
	g_assert_true(claimed); /* still where it was while the mask is read */
	g_assert_cmpuint(d.moves, ==, 0);
	cfg_write(f, 1, PCI_BAR0, lo, 4);
	g_assert_cmpuint(dev->bar[0].addr, ==, addr);
}

static void test_bar_move(struct fx *f, gconstpointer data)
{
	struct fakedev d = { 0 };
	struct pci_device *dev = add_device(f, &d);
	add_bar(dev, 0, 0x4000, &d);
	uint64_t old = bar_addr(f, 1, 0), new = LAYOUT_PCI_MMIO_BASE + 0x10000000;
	bool claimed;

	/* Decode on: the write alone moves the range. */
	cfg_write(f, 1, PCI_BAR0, (uint32_t) new, 4);
	g_assert_cmpuint(bar_addr(f, 1, 0), ==, new);
	g_assert_cmpuint(mmio_read32(f, new + 8, &claimed), ==, 0xa5a50008);
	g_assert_true(claimed);
	g_assert_cmpuint(d.reads, ==, 1);
	g_assert_cmpuint(mmio_read32(f, old + 8, &claimed), ==, 0xffffffff);
	g_assert_false(claimed);
	g_assert_cmpuint(d.reads, ==, 1);
	g_assert_cmpuint(d.moves, ==, 1);
	g_assert_cmpuint(d.moved_from, ==, old);
	g_assert_cmpuint(d.moved_to, ==, new);

	/* Above 4 GiB through the high dword. */
	cfg_write(f, 1, PCI_BAR0 + 4, 0x10, 4);
	new |= 0x1000000000ULL;
	mmio_read32(f, new, &claimed);
	g_assert_true(claimed);
	g_assert_cmpuint(dev->bar[0].addr, ==, new);

	/* Decode off: programmed but not followed until decode comes back on. */
	uint16_t cmd = cfg_read(f, 1, PCI_COMMAND, 2);
	cfg_write(f, 1, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY, 2);
	cfg_write(f, 1, PCI_BAR0 + 4, 0, 4);
	cfg_write(f, 1, PCI_BAR0, (uint32_t)old, 4);
	mmio_read32(f, old, &claimed);
	g_assert_false(claimed);
	cfg_write(f, 1, PCI_COMMAND, cmd, 2);
	mmio_read32(f, old, &claimed);
	g_assert_true(claimed);
	mmio_read32(f, new, &claimed);
	g_assert_false(claimed);
	g_assert_cmpuint(d.moves, ==, 3);
}

/* Moving onto another device's BAR is refused (with a warning) and nothing moves. */
static void test_bar_move_overlap(struct fx *f, gconstpointer data)
{
	struct fakedev d1 = { 0 }, d2 = { 0 };
	struct pci_device *dev1 = add_device(f, &d1), *dev2 = add_device(f, &d2);
	add_bar(dev1, 0, 0x4000, &d1);
	add_bar(dev2, 0, 0x4000, &d2);
	uint64_t a1 = dev1->bar[0].addr, a2 = dev2->bar[0].addr;
	g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*overlaps another device*");
	cfg_write(f, dev2->slot, PCI_BAR0, (uint32_t)a1 | 0x4, 4);
	g_test_assert_expected_messages();
	g_assert_cmpuint(dev2->bar[0].addr, ==, a2);
	g_assert_cmpuint(d2.moves, ==, 0);
	bool claimed;
	mmio_read32(f, a1, &claimed);
	mmio_read32(f, a2, &claimed);
	g_assert_cmpuint(d1.reads, ==, 1);
	g_assert_cmpuint(d2.reads, ==, 1);
}

static void test_capabilities(struct fx *f, gconstpointer data)
{
	struct fakedev d = { 0 };
	struct pci_device *dev = add_device(f, &d);
	g_assert_cmpuint(cfg_read(f, 1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, ==, 0);
	static const uint8_t vndr[5] = { 0x09, 0xee, 5, 0xab, 0xcd };
	static const uint8_t msix[12] = { 0x11, 0xee, 0x03, 0x00, 0x01, 0, 0, 0, 0x01, 0x08, 0, 0 };
	uint8_t off1 = pci_device_add_capability(dev, vndr, sizeof(vndr));
	uint8_t off2 = pci_device_add_capability(dev, msix, sizeof(msix));
	g_assert_cmpuint(off1, >=, 0x40);
	g_assert_cmpuint(off2, >=, off1 + sizeof(vndr));
	g_assert_cmpuint(off1 % 4, ==, 0);
	g_assert_cmpuint(off2 % 4, ==, 0);

	/* The guest's walk: status bit, then pointers until 0. */
	g_assert_cmpuint(cfg_read(f, 1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, !=, 0);
	uint8_t expect[] = { off1, off2 }, ids[] = { 0x09, 0x11 };
	unsigned int n = 0;
	for (uint8_t p = cfg_read(f, 1, PCI_CAPABILITY_LIST, 1); p; p = cfg_read(f, 1, p + 1, 1), n++) {
		g_assert_cmpuint(n, <, 2);
		g_assert_cmpuint(p, ==, expect[n]);
		g_assert_cmpuint(cfg_read(f, 1, p, 1), ==, ids[n]);
	}
	g_assert_cmpuint(n, ==, 2);
	/* The bodies are there, after the next pointer. */
	g_assert_cmpuint(cfg_read(f, 1, off1 + 2, 2), ==, 0xab05);
	g_assert_cmpuint(cfg_read(f, 1, off2 + 8, 2), ==, 0x0801);
	/* Read-only to the guest. */
	cfg_write(f, 1, off1, 0xffffffff, 4);
	g_assert_cmpuint(cfg_read(f, 1, off1, 1), ==, 0x09);
	g_assert_cmpuint(cfg_read(f, 1, off1 + 1, 1), ==, off2);
}

/* Capabilities that fill config space to its last byte, then one more: refused (0) and
 * nothing else in config space may change. */
static void test_capabilities_full(struct fx *f, gconstpointer data)
{
	struct fakedev d = { 0 };
	struct pci_device *dev = add_device(f, &d);
	uint8_t cap[0x40] = { 0x09 };
	unsigned int n = 0;
	while (dev->next_cap >= 0x40 && dev->next_cap + sizeof(cap) <= 0x100) {
		g_assert_cmpuint(pci_device_add_capability(dev, cap, sizeof(cap)), !=, 0);
		n++;
	}
	g_assert_cmpuint(n, ==, 3); /* 0x40, 0x80, 0xc0: exactly full */
	uint8_t before[256];
	memcpy(before, dev->config, sizeof(before));
	static const uint8_t small[4] = { 0x05, 0, 0, 0 };
	g_assert_cmpuint(pci_device_add_capability(dev, small, sizeof(small)), ==, 0);
	g_assert_cmpuint(cfg_read(f, 1, PCI_VENDOR_ID, 4), ==, 0x10421af4);
	g_assert_cmpmem(dev->config, sizeof(before), before, sizeof(before));
	/* Too long for what is left is refused as well. */
	struct fakedev d2 = { 0 };
	struct pci_device *dev2 = add_device(f, &d2);
	uint8_t big[0xc1] = { 0x09 };
	g_assert_cmpuint(pci_device_add_capability(dev2, big, sizeof(big)), ==, 0);
	g_assert_cmpuint(cfg_read(f, dev2->slot, PCI_CAPABILITY_LIST, 1), ==, 0);
}

static void noop_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
	memset(data, 0x11, len);
}

static void test_bus(void)
{
	struct bus bus;
	bus_init(&bus);
	struct bus_range r = { 0x1000, 0x100, "a", noop_read, NULL, &bus };
	g_assert_cmpint(bus_register(&bus, &r), ==, 0);
	/* Any overlap is refused: inside, across either end, covering. */
	static const uint64_t clash[][2] = {
		{ 0x1000, 0x100 }, { 0x1080, 1 }, { 0xf00, 0x101 }, { 0x10ff, 0x10 }, { 0x0, 0x10000 }
	};
	for (unsigned int i = 0; i < G_N_ELEMENTS(clash); i++) {
		struct bus_range c = { clash[i][0], clash[i][1], "clash", noop_read, NULL, NULL };
		g_assert_cmpint(bus_register(&bus, &c), ==, -EBUSY);
	}
	/* Touching is not overlapping. */
	struct bus_range below = { 0xf00, 0x100, "below", NULL, NULL, NULL };
	struct bus_range above = { 0x1100, 0x100, "above", NULL, NULL, NULL };
	g_assert_cmpint(bus_register(&bus, &below), ==, 0);
	g_assert_cmpint(bus_register(&bus, &above), ==, 0);

	/* Dispatch: inside, straddling the end, unclaimed. */
	uint32_t v = 0;
	g_assert_true(bus_read(&bus, 0x10fc, &v, 4));
	g_assert_cmpuint(v, ==, 0x11111111);
	g_assert_false(bus_read(&bus, 0x10fe, &v, 4)); /* straddles "a" and "above" */
	g_assert_cmpuint(v, ==, 0xffffffff);
	g_assert_false(bus_read(&bus, 0x5000, &v, 4));
	g_assert_cmpuint(v, ==, 0xffffffff);

	/* Moves: onto a neighbour refused, unknown range not found, free space fine. */
	g_assert_cmpint(bus_move(&bus, &bus, 0x1000, 0x1080), ==, -EBUSY);
	g_assert_cmpint(bus_move(&bus, &bus, 0x2000, 0x3000), ==, -ENOENT);
	g_assert_cmpint(bus_move(&bus, &bus, 0x1000, 0x3000), ==, 0);
	g_assert_true(bus_read(&bus, 0x3000, &v, 4));
	g_assert_cmpuint(v, ==, 0x11111111);
	g_assert_false(bus_read(&bus, 0x1000, &v, 4));

	/* The table holds BUS_MAX_RANGES. */
	for (uint64_t base = 0x10000; bus.nr < BUS_MAX_RANGES; base += 0x10) {
		struct bus_range fill = { base, 0x10, "fill", NULL, NULL, NULL };
		g_assert_cmpint(bus_register(&bus, &fill), ==, 0);
	}
	struct bus_range extra = { 0x100000, 0x10, "extra", NULL, NULL, NULL };
	g_assert_cmpint(bus_register(&bus, &extra), ==, -ENOSPC);
	pthread_rwlock_destroy(&bus.lock);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* Known bugs in pci.c fail their own test case without hiding the ones after it. */
	g_test_set_nonfatal_assertions();
#define T(path, fn) g_test_add("/pci/" path, struct fx, NULL, fx_setup, fn, fx_teardown)
	T("conf1/host-bridge", test_host_bridge);
	T("conf1/absent", test_absent);
	T("device-add", test_device_add);
	T("bar64/assign", test_bar64);
	T("bar64/sizing", test_bar_sizing);
	T("bar64/sizing-decode-on", test_bar_sizing_decode_on);
	T("bar64/move", test_bar_move);
	T("bar64/move-overlap", test_bar_move_overlap);
	T("capabilities/chain", test_capabilities);
	T("capabilities/full", test_capabilities_full);
#undef T
	g_test_add_func("/bus/register-and-dispatch", test_bus);
	return g_test_run();
}
