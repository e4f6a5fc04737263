/* The machine sepia-vmm builds: guest-physical and I/O-port layout in one place.
 * Payloads and guests discover devices through PCI and ACPI; these numbers are what
 * they find. */
#pragma once

/* Low memory used while booting (all below 1 MiB, reserved or RAM per e820). */
#define LAYOUT_GDT             0x00000500ULL
#define LAYOUT_PVH_START_INFO  0x00006000ULL /* hvm_start_info + memmap + modules */
#define LAYOUT_ZERO_PAGE       0x00007000ULL /* Linux boot_params */
#define LAYOUT_PML4            0x00009000ULL /* identity page tables for 64-bit entry */
#define LAYOUT_PDPT            0x0000a000ULL
#define LAYOUT_PD              0x0000b000ULL /* 4 pages: 4 GiB of 2 MiB pages */
#define LAYOUT_CMDLINE         0x00020000ULL
#define LAYOUT_CMDLINE_MAX     0x00010000ULL
#define LAYOUT_EBDA_START      0x0009fc00ULL /* reserved from here to 1 MiB */
#define LAYOUT_ACPI_TABLES     0x000e0000ULL /* RSDP found by the legacy scan here */
#define LAYOUT_ACPI_TABLES_END 0x00100000ULL
#define LAYOUT_HIGH_MEM        0x00100000ULL /* kernels load at or above 1 MiB */

/* RAM below the 32-bit hole; the rest of guest RAM starts at 4 GiB. */
#define LAYOUT_MMIO_HOLE     0xc0000000ULL
#define LAYOUT_4G            0x100000000ULL
#define LAYOUT_PCI_MMIO_BASE 0xc0000000ULL /* BARs assigned by sepia-vmm from here */
#define LAYOUT_PCI_MMIO_SIZE 0x20000000ULL
#define LAYOUT_IOAPIC        0xfec00000ULL
#define LAYOUT_LAPIC         0xfee00000ULL

/* I/O ports. */
#define PORT_COM1            0x3f8 /* 8250 UART, IRQ 4 */
#define IRQ_COM1             4
#define PORT_DEBUG_EXIT      0xf4 /* --debug-exit: write V, exit (V << 1) | 1 */
#define PORT_I8042_DATA      0x60
#define PORT_I8042_CMD       0x64 /* 0xfe = pulse reset line: reboot */
#define PORT_PCI_CONFIG_ADDR 0xcf8
#define PORT_PCI_CONFIG_DATA 0xcfc
#define PORT_ACPI_SLEEP_CTL  0x600 /* FADT sleep control register (HW-reduced) */
#define PORT_ACPI_SLEEP_STS  0x601 /* FADT sleep status register */
#define PORT_ACPI_RESET      0x602 /* FADT reset register, value ACPI_RESET_VALUE */
#define ACPI_RESET_VALUE     0x1
#define ACPI_S5_SLP_TYP      5 /* the DSDT's \_S5 package */
