/* bootparams: what the VMM hands a PVH kernel. The hvm_start_info magic and version,
 * the command line (the runner passes "token=s3pia-bootparams mem_mib=<MiB>") and the
 * e820-style memory map: RAM at 0 and at 1 MiB, about mem_mib of RAM in all, nothing
 * in the 32-bit MMIO hole, entries in order and not overlapping. */
#include "lib.h"

extern char __bss_end[];

static const char *e820_name(uint32_t t)
{
	static const char *const names[] = { "other", "RAM", "reserved", "ACPI", "NVS", "unusable" };
	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "other";
}

static bool ram_covers(const struct hvm_memmap_entry *m, uint32_t n, uint64_t lo, uint64_t hi)
{
	for (uint32_t i = 0; i < n; i++)
		if (m[i].type == E820_RAM && m[i].addr <= lo && hi <= m[i].addr + m[i].size)
			return true;
	return false;
}

int main(void)
{
	const struct hvm_start_info *si = gk_start_info;
	char token[32];

	if (!check(si && si->magic == HVM_START_MAGIC, "hvm_start_info magic 0x%x at %p", si ? si->magic : 0,
		   (const void *)si))
		return 0;
	check(si->version >= 1, "hvm_start_info version %u >= 1 (has a memory map)", si->version);
	gk_printf("guest: cmdline \"%s\"\n", cmdline());
	check(si->cmdline_paddr != 0, "cmdline_paddr is set (0x%lx)", si->cmdline_paddr);
	check(cmdline_get("token", token, sizeof(token)) && !strcmp(token, "s3pia-bootparams"),
	      "cmdline carries token=s3pia-bootparams");
	gk_printf("guest: rsdp_paddr 0x%lx, %u modules\n", si->rsdp_paddr, si->nr_modules);

	uint64_t mem = cmdline_num("mem_mib", 0) << 20;
	check(mem != 0, "cmdline carries mem_mib=N");
	if (si->version < 1)
		return 0;
	const struct hvm_memmap_entry *m = (const void *)si->memmap_paddr;
	uint32_t n = si->memmap_entries;
	if (!check(m && n > 0 && n < 128, "memory map has entries (%u at 0x%lx)", n, si->memmap_paddr))
		return 0;

	uint64_t ram = 0, prev_end = 0;
	bool ordered = true, hole_clear = true;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t end = m[i].addr + m[i].size;
		gk_printf("guest: e820 %016lx-%016lx %s (%u)\n", m[i].addr, end, e820_name(m[i].type),
			  m[i].type);
		if (m[i].size == 0)
			continue; /* harmless; QEMU's microvm firmware (qboot) ends with one */
		if (m[i].addr < prev_end)
			ordered = false;
		prev_end = end;
		if (m[i].type != E820_RAM)
			continue;
		ram += m[i].size;
		if (m[i].addr < 0x100000000ull && end > GK_MMIO_HOLE)
			hole_clear = false;
	}
	check(ordered, "memory map is sorted and entries do not overlap");
	check(ram_covers(m, n, 0, 0x1000), "RAM at address 0");
	check(ram_covers(m, n, 0x100000, (uint64_t)__bss_end),
	      "RAM from 1 MiB covers this payload (to 0x%lx)", (uint64_t)__bss_end);
	check(hole_clear, "no RAM in the MMIO hole 0x%lx-0x100000000", (uint64_t)GK_MMIO_HOLE);
	/* Firmware and the VMM may keep a little for themselves (EBDA, ROMs, tables). */
	check(ram <= mem && ram + (4u << 20) >= mem, "RAM totals %lu KiB for %lu KiB configured", ram >> 10,
	      mem >> 10);
	check(ram_covers(m, n, 0x100000, mem < (16u << 20) ? mem : (16u << 20)),
	      "RAM is contiguous from 1 MiB to 16 MiB");
	return 0;
}
