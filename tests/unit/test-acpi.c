/* Unit tests of the ACPI tables (devices/acpi.c): built into 2 MiB of fake RAM and walked
 * the way a guest's ACPI code walks them, from the RSDP through the XSDT. Offsets are the
 * ACPI 6.x specification's (5.2.5 RSDP, 5.2.8 XSDT, 5.2.9 FADT, 5.2.12 MADT). */
#include <string.h>

#include <glib.h>

#include "devices/acpi.h"
#include "devices/layout.h"
#include "tests/unit/fakemem.h"

#define RAM_SIZE (2ULL << 20)

struct tables {
	struct guest_mem mem;
	uint64_t rsdp;
	uint64_t fadt, madt, dsdt;
};

static const uint8_t *at(struct tables *t, uint64_t gpa, uint64_t len)
{
	return fakemem_at(&t->mem, gpa, len);
}
static uint16_t rd16(struct tables *t, uint64_t gpa) { return fakemem_rd16(&t->mem, gpa); }
static uint32_t rd32(struct tables *t, uint64_t gpa) { return fakemem_rd32(&t->mem, gpa); }
static uint64_t rd64(struct tables *t, uint64_t gpa) { return fakemem_rd64(&t->mem, gpa); }

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	while (len--)
		s += *p++;
	return s;
}

/* A table header that a guest would accept: signature, length, checksum 0. */
static void check_table(struct tables *t, uint64_t gpa, const char *sig)
{
	g_assert_cmpuint(gpa, !=, 0);
	g_assert_cmpmem(at(t, gpa, 4), 4, sig, 4);
	uint32_t len = rd32(t, gpa + 4);
	g_assert_cmpuint(len, >=, 36);
	g_assert_cmpuint(gpa + len, <=, LAYOUT_ACPI_TABLES_END);
	g_assert_cmpuint(sum(at(t, gpa, len), len), ==, 0);
}

/* Builds the tables for cpus vCPUs and follows RSDP -> XSDT -> FADT/MADT -> DSDT. */
static void build(struct tables *t, unsigned int cpus)
{
	memset(t, 0, sizeof(*t));
	fakemem_add(&t->mem, 0, RAM_SIZE);
	GError *error = NULL;
	t->rsdp = acpi_build(&t->mem, cpus, &error);
	g_assert_no_error(error);

	/* RSDP: where the legacy scan looks, 16-byte aligned, both checksums. */
	g_assert_cmpuint(t->rsdp, >=, LAYOUT_ACPI_TABLES);
	g_assert_cmpuint(t->rsdp + 36, <=, LAYOUT_ACPI_TABLES_END);
	g_assert_cmpuint(t->rsdp % 16, ==, 0);
	g_assert_cmpmem(at(t, t->rsdp, 8), 8, "RSD PTR ", 8);
	g_assert_cmpuint(sum(at(t, t->rsdp, 20), 20), ==, 0);
	g_assert_cmpuint(*at(t, t->rsdp + 15, 1), >=, 2); /* revision: has the XSDT */
	g_assert_cmpuint(rd32(t, t->rsdp + 20), ==, 36);
	g_assert_cmpuint(sum(at(t, t->rsdp, 36), 36), ==, 0);

	uint64_t xsdt = rd64(t, t->rsdp + 24);
	check_table(t, xsdt, "XSDT");
	uint32_t entries = (rd32(t, xsdt + 4) - 36) / 8;
	g_assert_cmpuint(entries, ==, 2);
	for (unsigned int i = 0; i < entries; i++) {
		uint64_t e = rd64(t, xsdt + 36 + 8 * i);
		if (!memcmp(at(t, e, 4), "FACP", 4))
			t->fadt = e;
		else if (!memcmp(at(t, e, 4), "APIC", 4))
			t->madt = e;
		else
			g_error("XSDT entry %u points at an unexpected table", i);
	}
	check_table(t, t->fadt, "FACP");
	check_table(t, t->madt, "APIC");
	t->dsdt = rd64(t, t->fadt + 140); /* X_DSDT */
	check_table(t, t->dsdt, "DSDT");
	g_assert_cmpuint(rd32(t, t->fadt + 40), ==, t->dsdt); /* DSDT, 32-bit copy */
}

static void teardown(struct tables *t) { fakemem_free(&t->mem); }

/* A Generic Address Structure naming a byte-wide I/O port. */
static void check_gas_io(struct tables *t, uint64_t gas, uint16_t port)
{
	g_assert_cmpuint(*at(t, gas, 1), ==, 1);     /* system I/O space */
	g_assert_cmpuint(*at(t, gas + 1, 1), ==, 8); /* register bit width */
	g_assert_cmpuint(*at(t, gas + 2, 1), ==, 0); /* bit offset */
	g_assert_cmpuint(*at(t, gas + 3, 1), ==, 1); /* byte access */
	g_assert_cmpuint(rd64(t, gas + 4), ==, port);
}

static void test_fadt(void)
{
	struct tables t;
	build(&t, 1);
	g_assert_cmpuint(rd32(&t, t.fadt + 4), >=, 276); /* ACPI 6 FADT, up to the vendor id */
	uint32_t flags = rd32(&t, t.fadt + 112);
	g_assert_cmpuint(flags & (1u << 20), !=, 0);     /* HW_REDUCED_ACPI */
	g_assert_cmpuint(flags & (1u << 10), !=, 0);     /* RESET_REG_SUP */
	check_gas_io(&t, t.fadt + 116, PORT_ACPI_RESET); /* RESET_REG */
	g_assert_cmpuint(*at(&t, t.fadt + 128, 1), ==, ACPI_RESET_VALUE);
	check_gas_io(&t, t.fadt + 244, PORT_ACPI_SLEEP_CTL); /* SLEEP_CONTROL_REG */
	check_gas_io(&t, t.fadt + 256, PORT_ACPI_SLEEP_STS); /* SLEEP_STATUS_REG */
	/* Hardware-reduced: no fixed PM1 event/control blocks for a guest to poke. */
	g_assert_cmpuint(rd32(&t, t.fadt + 56), ==, 0); /* PM1a_EVT_BLK */
	g_assert_cmpuint(rd32(&t, t.fadt + 64), ==, 0); /* PM1a_CNT_BLK */
	g_assert_cmpuint(rd16(&t, t.fadt + 46), ==, 0); /* SCI_INT */
	teardown(&t);
}

/* Builds the tables for one vCPU; [*aml, *end) is the DSDT's AML, after its 36-byte header. */
static void build_dsdt(struct tables *t, const uint8_t **aml, const uint8_t **end)
{
	build(t, 1);
	uint32_t len = rd32(t, t->dsdt + 4) - 36;
	*aml = at(t, t->dsdt + 36, len);
	*end = *aml + len;
}

/* The first n-byte needle in [from, end); asserts there is one. */
static const uint8_t *find(const uint8_t *from, const uint8_t *end, const void *needle, size_t n)
{
	const uint8_t *p = memmem(from, (size_t)(end - from), needle, n);
	if (!p)
		g_error("%zu-byte needle not found in %zd bytes of AML", n, end - from);
	return p;
}

/* \_S5 must be a Package whose first element is SLP_TYPa = ACPI_S5_SLP_TYP. */
static void test_dsdt_s5(void)
{
	struct tables t;
	const uint8_t *aml, *end;
	build_dsdt(&t, &aml, &end);
	const uint8_t *name = find(aml, end, "_S5_", 4);
	g_assert_true(name > aml && name[-1] == 0x08); /* NameOp */
	const uint8_t *pkg = name + 4;
	g_assert_cmpuint(pkg[0], ==, 0x12);   /* PackageOp */
	g_assert_cmpuint(pkg[1] >> 6, ==, 0); /* one-byte PkgLength */
	g_assert_true(pkg + 1 + pkg[1] <= end);
	g_assert_cmpuint(pkg[2], >=, 1); /* NumElements */
	const uint8_t *el = pkg + 3;
	unsigned int slp_typ = el[0] == 0x0a ? el[1] : el[0] == 0x00 ? 0 : el[0] == 0x01 ? 1 : 0x100;
	g_assert_cmpuint(slp_typ, ==, ACPI_S5_SLP_TYP);
	teardown(&t);
}

/* \_SB.PCI0: Linux with ACPI finds PCI only through a PNP0A03 device, and takes its
 * BAR window from the _CRS. The AML is checked byte for byte where it matters. */
static void test_dsdt_pci_root(void)
{
	struct tables t;
	const uint8_t *aml, *end;
	build_dsdt(&t, &aml, &end);
	const uint8_t *scope = find(aml, end, "_SB_", 4);
	const uint8_t *dev = find(aml, end, "\x5b\x82", 2); /* DeviceOp */
	g_assert_true(dev > scope);
	const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	find(dev, end, hid, sizeof(hid));
	find(dev, end, "PCI0", 4);
	/* The DWord memory window is the BAR window of devices/layout.h. */
	const uint8_t *crs = find(dev, end, "_CRS", 4);
	const uint8_t *mem = find(crs, end, "\x87", 1);
	uint32_t min, max;
	memcpy(&min, mem + 10, 4);
	memcpy(&max, mem + 14, 4);
	g_assert_cmphex(min, ==, (uint32_t)LAYOUT_PCI_MMIO_BASE);
	g_assert_cmphex(max, ==, (uint32_t)(LAYOUT_PCI_MMIO_BASE + LAYOUT_PCI_MMIO_SIZE - 1));
	teardown(&t);
}

static void check_madt(unsigned int cpus)
{
	struct tables t;
	build(&t, cpus);
	uint32_t len = rd32(&t, t.madt + 4);
	g_assert_cmpuint(rd32(&t, t.madt + 36), ==, LAYOUT_LAPIC);
	unsigned int lapics = 0, ioapics = 0, overrides = 0;
	bool seen[256] = { false };
	for (uint64_t e = t.madt + 44; e < t.madt + len;) {
		uint8_t type = *at(&t, e, 1), elen = *at(&t, e + 1, 1);
		g_assert_cmpuint(elen, >=, 2);
		g_assert_cmpuint(e + elen, <=, t.madt + len);
		switch (type) {
		case 0: { /* processor local APIC */
			g_assert_cmpuint(elen, ==, 8);
			uint8_t apic_id = *at(&t, e + 3, 1);
			g_assert_cmpuint(rd32(&t, e + 4) & 1, ==, 1); /* enabled */
			g_assert_false(seen[apic_id]);
			g_assert_cmpuint(apic_id, <, cpus);
			seen[apic_id] = true;
			lapics++;
			break;
		}
		case 1: /* I/O APIC */
			g_assert_cmpuint(elen, ==, 12);
			g_assert_cmpuint(rd32(&t, e + 4), ==, LAYOUT_IOAPIC);
			g_assert_cmpuint(rd32(&t, e + 8), ==, 0); /* GSI base */
			ioapics++;
			break;
		case 2: /* interrupt source override */
			g_assert_cmpuint(elen, ==, 10);
			g_assert_cmpuint(*at(&t, e + 2, 1), ==, 0); /* ISA bus */
			g_assert_cmpuint(*at(&t, e + 3, 1), ==, 0); /* IRQ 0, the PIT ... */
			g_assert_cmpuint(rd32(&t, e + 4), ==, 2);   /* ... arrives on GSI 2 */
			overrides++;
			break;
		}
		e += elen;
	}
	g_assert_cmpuint(lapics, ==, cpus);
	g_assert_cmpuint(ioapics, ==, 1);
	g_assert_cmpuint(overrides, ==, 1);
	teardown(&t);
}

static void test_madt(gconstpointer cpus) { check_madt(GPOINTER_TO_UINT(cpus)); }

/* Tables and RSDP stay inside the legacy window, clear of each other. */
static void test_layout(void)
{
	struct tables t;
	build(&t, 32);
	uint64_t xsdt = rd64(&t, t.rsdp + 24);
	uint64_t start[] = { t.rsdp, xsdt, t.fadt, t.madt, t.dsdt };
	uint64_t len[] = { 36, rd32(&t, xsdt + 4), rd32(&t, t.fadt + 4), rd32(&t, t.madt + 4),
			   rd32(&t, t.dsdt + 4) };
	for (unsigned int i = 0; i < G_N_ELEMENTS(start); i++)
		for (unsigned int j = i + 1; j < G_N_ELEMENTS(start); j++)
			g_assert_true(start[i] + len[i] <= start[j] || start[j] + len[j] <= start[i]);
	teardown(&t);
}

/* RAM that does not reach the table window is an error, not a crash. */
static void test_no_room(void)
{
	struct guest_mem mem = { 0 };
	fakemem_add(&mem, 0, LAYOUT_ACPI_TABLES);
	GError *error = NULL;
	g_assert_cmpuint(acpi_build(&mem, 1, &error), ==, 0);
	g_assert_nonnull(error);
	g_error_free(error);
	fakemem_free(&mem);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/acpi/fadt", test_fadt);
	g_test_add_func("/acpi/dsdt-s5", test_dsdt_s5);
	g_test_add_func("/acpi/dsdt-pci-root", test_dsdt_pci_root);
	g_test_add_data_func("/acpi/madt/1", GUINT_TO_POINTER(1), test_madt);
	g_test_add_data_func("/acpi/madt/2", GUINT_TO_POINTER(2), test_madt);
	g_test_add_data_func("/acpi/madt/32", GUINT_TO_POINTER(32), test_madt);
	g_test_add_func("/acpi/layout", test_layout);
	g_test_add_func("/acpi/no-room", test_no_room);
	return g_test_run();
}
