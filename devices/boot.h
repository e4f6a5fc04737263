/* Loading a guest kernel into RAM and the boot CPU's initial state.
 * Three formats: bzImage (Linux boot protocol, 64-bit entry), ELF vmlinux (64-bit entry
 * with boot_params) and PVH ELF, 64- or 32-bit (32-bit entry with hvm_start_info). */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "devices/guestmem.h"

enum boot_protocol { BOOT_LINUX64, BOOT_PVH };

struct boot_info {
	enum boot_protocol protocol;
	uint64_t entry;     /* guest-physical entry point */
	uint64_t boot_data; /* zero page (RSI) or hvm_start_info (EBX) */
	char format[64];    /* "bzImage", "ELF vmlinux", "PVH ELF[32]": for the log */
};

struct boot_params_in {
	const char *kernel;
	const char *initrd; /* may be NULL */
	const char *cmdline;
	uint64_t rsdp;       /* guest-physical address of the ACPI RSDP */
	bool unpack_on_host; /* bzImage: decompress the payload here when the format is
				  * known, and enter the kernel proper directly */
};

/* Loads kernel, initrd and command line into mem and writes the zero page or the PVH
 * start info with the e820 map of mem. Errors name the file and what is wrong. */
bool boot_load(const struct guest_mem *mem, const struct boot_params_in *in, struct boot_info *out,
	       GError **error);

/* Sets the boot vCPU's registers for the protocol (GDT, page tables for 64-bit). */
bool boot_setup_cpu(const struct guest_mem *mem, int vcpu_fd, const struct boot_info *info, GError **error);

/* Fills e820-style entries for mem (RAM, the legacy hole, the 32-bit MMIO hole); returns
 * the count. type: 1 RAM, 2 reserved. */
struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));
unsigned int boot_e820(const struct guest_mem *mem, struct e820_entry *e, unsigned int max);
