/* guest-kit runtime: what every payload links with.
 *
 * A payload is a freestanding x86-64 PVH ELF loaded at 1 MiB. start.S enters long mode
 * with the low 4 GiB identity mapped (2 MiB pages, MMIO hole uncached), installs an IDT
 * and calls main(). A payload reports each check on the serial port as
 *     guest: ok <what>          or     guest: not ok <what>
 * and ends through the debug-exit port (see README for the exit-status convention). */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the machine (mirrors devices/layout.h; QEMU's q35 agrees on these) ---- */
#define GK_PORT_COM1       0x3f8
#define GK_PORT_DEBUG_EXIT 0xf4
#define GK_PORT_PCI_ADDR   0xcf8
#define GK_PORT_PCI_DATA   0xcfc
#define GK_MMIO_HOLE       0xc0000000ULL
#define GK_LAPIC           0xfee00000ULL
#define GK_BAR_FALLBACK    0xe0000000ULL /* where we place BARs nobody assigned */

/* ---- exit codes written to the debug-exit port; status = (code << 1) | 1 ---- */
#define GK_EXIT_PASS  0x10 /* status 33: every check passed */
#define GK_EXIT_FAIL  0x11 /* status 35: at least one check failed */
#define GK_EXIT_SKIP  0x12 /* status 37: what the payload tests is not there */
#define GK_EXIT_CRASH 0x13 /* status 39: unexpected exception or interrupt */

/* ---- PVH boot information (Xen's arch-x86/hvm/start_info.h, version 1) ---- */
#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;   /* version >= 1 */
	uint32_t memmap_entries; /* version >= 1 */
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* e820 types: 1 RAM, 2 reserved, 3 ACPI, 4 NVS, 5 unusable */
	uint32_t reserved;
};

#define E820_RAM      1
#define E820_RESERVED 2

extern const struct hvm_start_info *gk_start_info; /* set before main() */

/* ---- CPU and port I/O ---- */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* MMIO: volatile accesses of exactly the given width (devices care). */
static inline uint8_t mmio_read8(uint64_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t mmio_read16(uint64_t a) { return *(volatile uint16_t *)a; }
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write8(uint64_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void mmio_write16(uint64_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
/* 64-bit registers as two 32-bit halves, low first: the virtio spec allows it and
 * it keeps VMMs from having to support 8-byte MMIO. */
static inline void mmio_write64(uint64_t a, uint64_t v)
{
	mmio_write32(a, (uint32_t)v);
	mmio_write32(a + 4, (uint32_t)(v >> 32));
}

static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void mb(void) { __asm__ volatile("mfence" ::: "memory"); }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
/* sti; hlt back to back: the sti shadow keeps an interrupt from slipping in between. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

/* ---- freestanding string helpers (the compiler may call memcpy/memset itself) ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* ---- serial console and reporting ---- */
void serial_putc(char c);
void serial_puts(const char *s);
/* printf-lite: %s %c %d %i %u %x %X %p, length l/ll/z, flag 0, width. */
void gk_vprintf(const char *fmt, va_list ap);
void gk_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One check: prints "guest: ok|not ok <what>", remembers failures, returns cond. */
bool check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "guest: done, N checks, M failed" and exits PASS or FAIL. */
__attribute__((noreturn)) void finish(void);
__attribute__((noreturn)) void exit_with(uint8_t code);
__attribute__((noreturn)) void skip(const char *why);

/* ---- command line (from hvm_start_info) ---- */
const char *cmdline(void); /* "" when there is none */
/* Value of "key=value" in the command line copied to buf; false when absent. */
bool cmdline_get(const char *key, char *buf, size_t len);
bool cmdline_has(const char *word); /* a bare word or key=... is present */
/* Number in "key=N" (decimal or 0x hex); def when absent or malformed. */
uint64_t cmdline_num(const char *key, uint64_t def);
bool parse_u64(const char *s, uint64_t *out);

/* ---- interrupts ---- */
/* A 64-bit IDT gate descriptor. */
struct idt_gate {
	uint16_t off_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

struct irq_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
typedef void (*irq_handler)(struct irq_frame *f);
/* Vectors 32..255; exceptions (0..31) always end the payload with GK_EXIT_CRASH. */
void irq_set_handler(uint8_t vector, irq_handler h);
extern volatile uint32_t gk_unexpected_irqs;

/* ---- local APIC (xAPIC, MMIO at 0xfee00000) ---- */
#define LAPIC_ID     0x020
#define LAPIC_EOI    0x0b0
#define LAPIC_SVR    0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
void lapic_enable(void); /* software-enable, spurious vector 0xff, TPR 0 */
uint32_t lapic_id(void);
void lapic_eoi(void);
void pic_mask_all(void); /* keep the legacy 8259s quiet */

/* ---- PCI configuration mechanism #1 ---- */
uint32_t pci_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off);
uint16_t pci_read16(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off);
uint8_t pci_read8(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off);
void pci_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint32_t v);
void pci_write16(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint16_t v);

struct pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
};
/* Finds the index-th (from 0) function on bus 0 with this vendor/device. */
bool pci_find(uint16_t vendor, uint16_t device, int index, struct pci_dev *out);
/* Config offset of the first/next capability with this id after `from` (0: first). */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t from);
/* The BAR's address (64-bit BARs handled); assigns one from GK_BAR_FALLBACK up when
 * it reads 0, and enables memory decoding and bus mastering. 0 on failure. */
uint64_t pci_bar_addr(const struct pci_dev *d, int bar);

#define PCI_CAP_ID_MSIX   0x11
#define PCI_CAP_ID_VENDOR 0x09

/* MSI-X: point table entry `entry` at the local APIC `apic_id` with `vector`, unmask
 * it and enable MSI-X on the function. false when the function has no MSI-X. */
bool msix_route(const struct pci_dev *d, uint16_t entry, uint32_t apic_id, uint8_t vector);

/* ---- virtio over PCI, modern (1.x) only ---- */
#define VIRTIO_PCI_VENDOR     0x1af4
#define VIRTIO_PCI_DEVICE(id) (0x1040 + (id))
#define VIRTIO_ID_BLOCK       2
#define VIRTIO_ID_CONSOLE     3

#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR    3
#define VIRTIO_PCI_CAP_DEVICE 4

#define VIRTIO_F_VERSION_1 32

#define VIRTQ_DESC_F_NEXT    1
#define VIRTQ_DESC_F_WRITE   2
#define VIRTQ_SIZE           16 /* we never need more in flight */
#define VIRTIO_MSI_NO_VECTOR 0xffff

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[VIRTQ_SIZE];
	uint16_t used_event;
};
struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};
struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[VIRTQ_SIZE];
	uint16_t avail_event;
};

struct virtq {
	uint16_t index;
	uint16_t size;
	uint64_t notify_addr;
	uint16_t last_used;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
};

struct virtio_dev {
	struct pci_dev pci;
	uint64_t common; /* MMIO address of each structure, 0 when absent */
	uint64_t notify;
	uint32_t notify_mult;
	uint64_t isr;
	uint64_t device;
	uint64_t features; /* what the device offered */
};

/* Finds the capabilities and maps the BARs. false (with a "not ok" line) on failure. */
bool virtio_probe(struct virtio_dev *v, const struct pci_dev *d);
/* Reset, ACKNOWLEDGE|DRIVER, offer VERSION_1 | wanted (masked by what the device
 * has), FEATURES_OK and check it stuck. Returns the negotiated set, 0 on failure. */
uint64_t virtio_negotiate(struct virtio_dev *v, uint64_t wanted);
/* Sets up queue `index` in one of a few static slots; msix_vector may be
 * VIRTIO_MSI_NO_VECTOR. false on failure. */
bool virtio_queue_setup(struct virtio_dev *v, struct virtq *q, uint16_t index, uint16_t msix_vector);
void virtio_driver_ok(struct virtio_dev *v);
uint8_t virtio_status(struct virtio_dev *v);

struct virtq_buf {
	void *addr;
	uint32_t len;
	bool device_writes;
};
/* Puts one chain on the avail ring (descriptors from 0) and notifies. */
void virtq_submit(struct virtq *q, const struct virtq_buf *bufs, int n);
/* Polls the used ring for the next element; false after a bounded wait. */
bool virtq_wait_used(struct virtq *q, struct virtq_used_elem *out);
/* True when the used ring has an element we have not consumed. */
bool virtq_has_used(struct virtq *q);

/* ---- virtio-blk requests (virtio 1.x section 5.2.6) ---- */
#define VIRTIO_BLK_F_RO     5
#define VIRTIO_BLK_F_FLUSH  9
#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

struct blk_req {
	struct {
		uint32_t type;
		uint32_t reserved;
		uint64_t sector;
	} hdr;
	uint8_t status;
};
/* Header, optional data (device-written for T_IN), status: one chain. */
void blk_submit(struct virtq *q, struct blk_req *r, uint32_t type, uint64_t sector, void *data, uint32_t len);
/* Submits and polls: the status byte, or -1 when the device never answered.
 * *used_len (may be NULL) receives the used element's length. */
int blk_do(struct virtq *q, uint32_t type, uint64_t sector, void *data, uint32_t len, uint32_t *used_len);
/* Capacity in 512-byte sectors from the device configuration (generation-checked). */
uint64_t blk_capacity(struct virtio_dev *v);
uint8_t virtio_config_generation(struct virtio_dev *v);

#define BIT64(n) (1ULL << (n))
