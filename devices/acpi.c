/* ACPI tables: RSDP -> XSDT -> {FADT -> DSDT, MADT}. The platform is "hardware reduced"
 * (no PM1 blocks, no SCI): power-off is a write to the FADT sleep control register, reset
 * a write to the FADT reset register, both I/O ports of power.c. The MADT announces the
 * vCPUs (their in-kernel LAPICs) and the in-kernel IOAPIC. Layouts from the ACPI 6.x
 * specification. */
#include "common/byteorder.h"
#include "devices/acpi.h"

#include <errno.h>
#include <string.h>

#include "devices/layout.h"
#include "common/error.h"

struct acpi_builder {
	uint8_t *base; /* host pointer of LAYOUT_ACPI_TABLES */
	uint64_t used;
	uint64_t size;
};

static uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

/* Reserves len bytes (16-byte aligned); returns its guest address or 0 when full. */
static uint64_t acpi_alloc(struct acpi_builder *b, size_t len, uint8_t **host)
{
	uint64_t off = (b->used + 15) & ~15ULL;
	if (off + len > b->size)
		return 0;
	b->used = off + len;
	*host = b->base + off;
	memset(*host, 0, len);
	return LAYOUT_ACPI_TABLES + off;
}

static void acpi_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put_le32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "SEPIA ", 6);
	memcpy(t + 16, "SEPIAVMM", 8);
	put_le32(t + 24, 1);
	memcpy(t + 28, "SEPA", 4);
	put_le32(t + 32, 1);
}

/* Reserves a table of len bytes and writes its header; returns its guest address or 0 when full. */
static uint64_t acpi_new_table(struct acpi_builder *b, const char sig[4], uint32_t len, uint8_t rev,
			       uint8_t **t)
{
	uint64_t gpa = acpi_alloc(b, len, t);
	if (gpa)
		acpi_header(*t, sig, len, rev);
	return gpa;
}

static void acpi_finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = acpi_checksum(t, len);
}

/* Generic Address Structure for a byte-wide I/O port. */
static void acpi_gas_io8(uint8_t *p, uint16_t port)
{
	p[0] = 1; /* system I/O */
	p[1] = 8; /* bit width */
	p[2] = 0; /* bit offset */
	p[3] = 1; /* byte access */
	put_le64(p + 4, port);
}

/* ---- a little AML (ACPI Machine Language), enough for the DSDT ---- */

/* PkgLength counts itself: one byte up to 63, else a lead byte holding the low nibble
 * and the count of following bytes, which hold the rest. */
static void aml_prepend_pkglength(GByteArray *body)
{
	guint len = body->len;
	uint8_t enc[4];
	guint n;
	if (len + 1 < 64) {
		enc[0] = (uint8_t)(len + 1);
		n = 1;
	} else if (len + 2 < (1u << 12)) {
		len += 2;
		enc[0] = (uint8_t)(0x40 | (len & 0xf));
		enc[1] = (uint8_t)(len >> 4);
		n = 2;
	} else {
		len += 3;
		enc[0] = (uint8_t)(0x80 | (len & 0xf));
		enc[1] = (uint8_t)(len >> 4);
		enc[2] = (uint8_t)(len >> 12);
		n = 3;
	}
	g_byte_array_prepend(body, enc, n);
}

/* Appends op (op_len bytes), then body behind its PkgLength, and frees body. */
static void aml_package(GByteArray *out, const char *op, guint op_len, GByteArray *body)
{
	aml_prepend_pkglength(body);
	g_byte_array_append(out, (const uint8_t *)op, op_len);
	g_byte_array_append(out, body->data, body->len);
	g_byte_array_unref(body);
}

static void aml_name(GByteArray *out, const char name[4])
{
	g_byte_array_append(out, (const uint8_t *)"\x08", 1); /* NameOp */
	g_byte_array_append(out, (const uint8_t *)name, 4);
}

static void aml_dword(GByteArray *out, uint32_t v)
{
	uint8_t b[5] = { 0x0c, (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	g_byte_array_append(out, b, 5);
}

static void aml_zero(GByteArray *out) { g_byte_array_append(out, (const uint8_t *)"\x00", 1); }

/* Name(name, v) and Name(name, Zero). */
static void aml_name_dword(GByteArray *out, const char name[4], uint32_t v)
{
	aml_name(out, name);
	aml_dword(out, v);
}
static void aml_name_zero(GByteArray *out, const char name[4])
{
	aml_name(out, name);
	aml_zero(out);
}

/* Buffer (resource template) holding data. */
static void aml_buffer(GByteArray *out, const uint8_t *data, guint len)
{
	GByteArray *body = g_byte_array_new();
	uint8_t size[3] = { 0x0b, (uint8_t)len, (uint8_t)(len >> 8) }; /* WordConst */
	g_byte_array_append(body, size, 3);
	g_byte_array_append(body, data, len);
	aml_package(out, "\x11", 1, body); /* BufferOp */
}

/* Word address space descriptor (bus numbers or I/O ports), a producer with fixed ends. */
static void res_word(GByteArray *out, uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max)
{
	uint16_t len = (uint16_t)(max - min + 1);
	uint8_t d[16] = { 0x88,
			  13,
			  0,
			  type,
			  0x0c,
			  type_flags,
			  0,
			  0,
			  (uint8_t)min,
			  (uint8_t)(min >> 8),
			  (uint8_t)max,
			  (uint8_t)(max >> 8),
			  0,
			  0,
			  (uint8_t)len,
			  (uint8_t)(len >> 8) };
	g_byte_array_append(out, d, sizeof(d));
}

static void res_dword_memory(GByteArray *out, uint32_t min, uint32_t len)
{
	uint32_t max = min + len - 1;
	uint8_t d[26] = { 0x87, 23, 0, 0 /* memory */, 0x0c, 0x01 /* read-write, non-cacheable */ };
	memcpy(d + 10, &min, 4);
	memcpy(d + 14, &max, 4);
	memcpy(d + 22, &len, 4);
	g_byte_array_append(out, d, sizeof(d));
}

/* Device(name) { body } appended to out. */
static void aml_device(GByteArray *out, const char name[4], GByteArray *body)
{
	GByteArray *dev = g_byte_array_new();
	g_byte_array_append(dev, (const uint8_t *)name, 4);
	g_byte_array_append(dev, body->data, body->len);
	aml_package(out, "\x5b\x82", 2, dev); /* DeviceOp */
}

/* PCI0: the host bridge on bus 0 with its windows. With ACPI, Linux finds PCI only
 * through such a device; the windows cover the config ports' neighbours and the BAR
 * window sepia-vmm assigns from. Interrupts are MSI-X only, so no _PRT. */
static void aml_pci_root(GByteArray *out)
{
	GByteArray *crs = g_byte_array_new();
	res_word(crs, 2, 0, 0, 0); /* bus 0 */
	static const uint8_t conf1[8] = { 0x47, 1, 0xf8, 0x0c, 0xf8, 0x0c, 1, 8 };
	g_byte_array_append(crs, conf1, sizeof(conf1)); /* IO 0xcf8-0xcff, consumed */
	res_word(crs, 1, 3, 0x0000, 0x0cf7);
	res_word(crs, 1, 3, 0x0d00, 0xffff);
	res_dword_memory(crs, (uint32_t)LAYOUT_PCI_MMIO_BASE, (uint32_t)LAYOUT_PCI_MMIO_SIZE);
	static const uint8_t end_tag[2] = { 0x79, 0 };
	g_byte_array_append(crs, end_tag, sizeof(end_tag));

	GByteArray *body = g_byte_array_new();
	aml_name_dword(body, "_HID", 0x030ad041); /* EISAID("PNP0A03") */
	aml_name_zero(body, "_UID");
	aml_name_zero(body, "_SEG");
	aml_name_zero(body, "_BBN");
	aml_name(body, "_CRS");
	aml_buffer(body, crs->data, crs->len);
	aml_device(out, "PCI0", body);
	g_byte_array_unref(body);
	g_byte_array_unref(crs);
}

/* COM1: the 8250 at 0x3f8 and its interrupt. A hardware-reduced platform has no legacy
 * ISA IRQ map, so Linux wires IRQ 4 to the IOAPIC only for a device that names it. */
static void aml_com1(GByteArray *out)
{
	static const uint8_t crs[] = {
		0x47, 1, 0xf8, 0x03, 0xf8, 0x03,     1, 8,    /* IO 0x3f8-0x3ff */
		0x89, 6, 0,    0x03, 1,    IRQ_COM1, 0, 0, 0, /* Interrupt: consumer, edge, high */
		0x79, 0,
	};
	GByteArray *body = g_byte_array_new();
	aml_name_dword(body, "_HID", 0x0105d041); /* EISAID("PNP0501") */
	aml_name_zero(body, "_UID");
	aml_name(body, "_CRS");
	aml_buffer(body, crs, sizeof(crs));
	aml_device(out, "COM1", body);
	g_byte_array_unref(body);
}

/* \_SB with the platform's devices. */
static void aml_system_bus(GByteArray *out)
{
	GByteArray *scope = g_byte_array_new();
	g_byte_array_append(scope, (const uint8_t *)"_SB_", 4);
	aml_pci_root(scope);
	aml_com1(scope);
	aml_package(out, "\x10", 1, scope); /* ScopeOp */
}

/* DSDT: \_S5 (SLP_TYPa, SLP_TYPb, reserved, reserved), which Linux needs before it offers
 * ACPI power-off, then the PCI host bridge and COM1. */
static uint64_t acpi_build_dsdt(struct acpi_builder *b)
{
	static const uint8_t aml_s5[] = {
		0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, ACPI_S5_SLP_TYP, 0x00, 0x00, 0x00,
	};
	GByteArray *aml = g_byte_array_new();
	g_byte_array_append(aml, aml_s5, sizeof(aml_s5));
	aml_system_bus(aml);
	uint32_t len = 36 + aml->len;
	uint8_t *t;
	uint64_t gpa = acpi_new_table(b, "DSDT", len, 2, &t);
	if (gpa) {
		memcpy(t + 36, aml->data, aml->len);
		acpi_finish(t, len);
	}
	g_byte_array_unref(aml);
	return gpa;
}

static uint64_t acpi_build_fadt(struct acpi_builder *b, uint64_t dsdt)
{
	const uint32_t len = 276;
	uint8_t *t;
	uint64_t gpa = acpi_new_table(b, "FACP", len, 6, &t);
	if (!gpa)
		return 0;
	put_le32(t + 40, (uint32_t)dsdt);
	/* IAPC_BOOT_ARCH: no VGA, no CMOS RTC for ACPI to drive (the RTC stays for reads). */
	put_le16(t + 109, (1u << 2));
	/* Flags: WBINVD, RESET_REG_SUP, HW_REDUCED_ACPI. */
	put_le32(t + 112, (1u << 0) | (1u << 10) | (1u << 20));
	acpi_gas_io8(t + 116, PORT_ACPI_RESET);
	t[128] = ACPI_RESET_VALUE;
	t[131] = 3; /* FADT minor version: 6.3 */
	put_le64(t + 140, dsdt);
	acpi_gas_io8(t + 244, PORT_ACPI_SLEEP_CTL);
	acpi_gas_io8(t + 256, PORT_ACPI_SLEEP_STS);
	memcpy(t + 268, "SEPIAVMM", 8);
	acpi_finish(t, len);
	return gpa;
}

static uint64_t acpi_build_madt(struct acpi_builder *b, unsigned int cpus)
{
	uint32_t len = 44 + cpus * 8 + 12 + 10 + 6;
	uint8_t *t;
	uint64_t gpa = acpi_new_table(b, "APIC", len, 5, &t);
	if (!gpa)
		return 0;
	put_le32(t + 36, (uint32_t)LAYOUT_LAPIC);
	put_le32(t + 40, 1); /* PCAT_COMPAT: the in-kernel 8259s exist */
	uint8_t *e = t + 44;
	for (unsigned int i = 0; i < cpus; i++, e += 8) {
		e[0] = 0; /* processor local APIC */
		e[1] = 8;
		e[2] = i;           /* ACPI processor UID */
		e[3] = i;           /* APIC ID */
		put_le32(e + 4, 1); /* enabled */
	}
	e[0] = 1; /* I/O APIC */
	e[1] = 12;
	e[2] = 0; /* id: after nothing; Linux renumbers if it clashes */
	put_le32(e + 4, (uint32_t)LAYOUT_IOAPIC);
	put_le32(e + 8, 0); /* GSI base */
	e += 12;
	e[0] = 2; /* interrupt source override: ISA IRQ0 (PIT) -> GSI 2 */
	e[1] = 10;
	e[2] = 0;
	e[3] = 0;
	put_le32(e + 4, 2);
	put_le16(e + 8, 0);
	e += 10;
	e[0] = 4; /* local APIC NMI: all processors, LINT1 */
	e[1] = 6;
	e[2] = 0xff;
	put_le16(e + 3, 0);
	e[5] = 1;
	acpi_finish(t, len);
	return gpa;
}

uint64_t acpi_build(const struct guest_mem *mem, unsigned int cpus, GError **error)
{
	struct acpi_builder b = {
		.base = guest_mem_ptr(mem, LAYOUT_ACPI_TABLES, LAYOUT_ACPI_TABLES_END - LAYOUT_ACPI_TABLES),
		.size = LAYOUT_ACPI_TABLES_END - LAYOUT_ACPI_TABLES,
	};
	uint8_t *rsdp, *xsdt;
	/* The RSDP first: the legacy scan finds it on a 16-byte boundary in 0xe0000-0xfffff. */
	uint64_t rsdp_gpa = b.base ? acpi_alloc(&b, 36, &rsdp) : 0;
	uint64_t dsdt = rsdp_gpa ? acpi_build_dsdt(&b) : 0;
	uint64_t fadt = dsdt ? acpi_build_fadt(&b, dsdt) : 0;
	uint64_t madt = fadt ? acpi_build_madt(&b, cpus) : 0;
	uint64_t xsdt_gpa = madt ? acpi_new_table(&b, "XSDT", 36 + 2 * 8, 1, &xsdt) : 0;
	if (!xsdt_gpa) {
		g_set_error(error, SEPIA_ERROR, ENOSPC, "ACPI tables for %u vCPUs do not fit below 1 MiB",
			    cpus);
		return 0;
	}
	put_le64(xsdt + 36, fadt);
	put_le64(xsdt + 44, madt);
	acpi_finish(xsdt, 36 + 16);

	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "SEPIA ", 6);
	rsdp[15] = 2; /* ACPI 2.0+ */
	put_le32(rsdp + 20, 36);
	put_le64(rsdp + 24, xsdt_gpa);
	rsdp[8] = acpi_checksum(rsdp, 20);
	rsdp[32] = acpi_checksum(rsdp, 36);
	return rsdp_gpa;
}
