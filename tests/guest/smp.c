/* smp: a second vCPU comes up. The ACPI MADT (found through hvm_start_info's RSDP or
 * the legacy scan of 0xe0000-0xfffff) lists cpus=N enabled local APICs; each AP gets
 * INIT-SIPI-SIPI to the real-mode trampoline at 0x8000 and checks in through the
 * mailbox at 0x8f00. */
#include "lib.h"

#define TRAMPOLINE 0x8000
#define MAILBOX    0x8f00
#define MAX_CPUS   16

extern const char ap_trampoline[], ap_trampoline_end[];

struct sdt {
	char sig[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

static bool sum_ok(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return s == 0;
}

static uint64_t find_rsdp(void)
{
	if (gk_start_info->rsdp_paddr)
		return gk_start_info->rsdp_paddr;
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
		if (!memcmp((const void *)a, "RSD PTR ", 8) && sum_ok((const void *)a, 20))
			return a;
	return 0;
}

static const struct sdt *find_table(uint64_t rsdp, const char *sig)
{
	const uint8_t *r = (const uint8_t *)rsdp;
	uint64_t xsdt = r[15] >= 2 ? *(const uint64_t *)(r + 24) : 0;
	const struct sdt *root = (const void *)(xsdt ? xsdt : *(const uint32_t *)(r + 16));
	size_t width = xsdt ? 8 : 4;
	if (memcmp(root->sig, xsdt ? "XSDT" : "RSDT", 4))
		return NULL;
	for (size_t off = sizeof(*root); off + width <= root->length; off += width) {
		const uint8_t *e = (const uint8_t *)root + off;
		uint64_t a = width == 8 ? *(const uint64_t *)e : *(const uint32_t *)e;
		const struct sdt *t = (const void *)a;
		if (!memcmp(t->sig, sig, 4))
			return t;
	}
	return NULL;
}

static void delay(long n)
{
	for (volatile long i = 0; i < n; i++)
		cpu_relax();
}

static void send_ipi(uint32_t apic_id, uint32_t lo)
{
	mmio_write32(GK_LAPIC + LAPIC_ICR_HI, apic_id << 24);
	mmio_write32(GK_LAPIC + LAPIC_ICR_LO, lo);
	for (int i = 0; i < 1000 && (mmio_read32(GK_LAPIC + LAPIC_ICR_LO) & 0x1000); i++)
		cpu_relax(); /* delivery pending */
}

static bool wait_checkin(volatile uint32_t *count, uint32_t want, long limit)
{
	for (long i = 0; i < limit; i++) {
		if (*count >= want)
			return true;
		cpu_relax();
	}
	return *count >= want;
}

int main(void)
{
	uint64_t cpus = cmdline_num("cpus", 2);
	uint32_t ids[MAX_CPUS];
	unsigned nids = 0;

	uint64_t rsdp = find_rsdp();
	if (!check(rsdp != 0, "ACPI RSDP found (0x%lx)", rsdp))
		return 0;
	const struct sdt *madt = find_table(rsdp, "APIC");
	if (!check(madt && sum_ok(madt, madt->length), "MADT found with a good checksum"))
		return 0;
	for (uint32_t off = sizeof(struct sdt) + 8; off + 2 <= madt->length;) {
		const uint8_t *e = (const uint8_t *)madt + off;
		if (e[1] < 2)
			break;
		if (e[0] == 0 && (e[4] & 1) && nids < MAX_CPUS) /* processor local APIC, enabled */
			ids[nids++] = e[3];
		off += e[1];
	}
	check(nids == cpus, "MADT lists %u enabled local APICs, expected %lu", nids, cpus);

	lapic_enable();
	uint32_t bsp = lapic_id();
	volatile uint32_t *mailbox = (volatile uint32_t *)MAILBOX;
	memcpy((void *)TRAMPOLINE, ap_trampoline, ap_trampoline_end - ap_trampoline);
	mailbox[0] = 0;
	mb();

	uint32_t started = 0;
	for (unsigned i = 0; i < nids; i++) {
		if (ids[i] == bsp)
			continue;
		send_ipi(ids[i], 0x4500); /* INIT, level assert */
		delay(10000);
		send_ipi(ids[i], 0x4600 | (TRAMPOLINE >> 12)); /* STARTUP */
		if (!wait_checkin(&mailbox[0], started + 1, 200000))
			send_ipi(ids[i], 0x4600 | (TRAMPOLINE >> 12)); /* the second SIPI */
		if (check(wait_checkin(&mailbox[0], started + 1, 5000000), "AP with APIC ID %u checks in",
			  ids[i]))
			gk_printf("guest: AP %u reports CPUID initial APIC ID %u\n", ids[i],
				  mailbox[1 + started]);
		started++;
	}
	check(mailbox[0] + 1 == cpus, "%u APs running besides the BSP (APIC ID %u)", mailbox[0], bsp);
	return 0;
}
