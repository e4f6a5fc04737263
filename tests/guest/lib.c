/* guest-kit runtime: strings, serial output and check reporting, the debug-exit port,
 * the command line, the IDT and the local APIC. PCI is in pcibus.c, virtio in virtio.c. */
#include "lib.h"

const struct hvm_start_info *gk_start_info;
volatile uint32_t gk_unexpected_irqs;
static unsigned checks_run, checks_failed;

int main(void);

/* ---- strings ---- */
void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;
	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

int strcmp(const char *a, const char *b) { return strncmp(a, b, (size_t)-1); }

/* ---- serial (8250 at COM1; we rely on the firmware or VMM defaults, no setup) ---- */
#define UART_THR      0
#define UART_LSR      5
#define UART_LSR_THRE 0x20

void serial_putc(char c)
{
	/* Bounded: a UART that never reports THRE must not hang the payload. */
	for (int i = 0; i < 1000 && !(inb(GK_PORT_COM1 + UART_LSR) & UART_LSR_THRE); i++)
		cpu_relax();
	outb(GK_PORT_COM1 + UART_THR, (uint8_t)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void put_num(uint64_t v, unsigned base, bool upper, bool neg, int width, char pad)
{
	char buf[24];
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0;
	do {
		buf[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		buf[n++] = '-';
	for (int i = n; i < width; i++)
		serial_putc(pad);
	while (n)
		serial_putc(buf[--n]);
}

void gk_vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, lng = 0;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			put_num(v < 0 ? -(uint64_t)v : (uint64_t)v, 10, false, v < 0, width, pad);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			put_num(v, *fmt == 'u' ? 10 : 16, *fmt == 'X', false, width, pad);
			break;
		}
		case 'p':
			serial_puts("0x");
			put_num((uint64_t)va_arg(ap, void *), 16, false, false, width, pad);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			serial_puts(s ? s : "(null)");
			break;
		}
		case 'c':
			serial_putc((char)va_arg(ap, int));
			break;
		case '%':
			serial_putc('%');
			break;
		default:
			serial_putc('%');
			if (!*fmt)
				return;
			serial_putc(*fmt);
		}
	}
}

void gk_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	gk_vprintf(fmt, ap);
	va_end(ap);
}

/* ---- checks and exit ---- */
bool check(bool cond, const char *fmt, ...)
{
	va_list ap;
	checks_run++;
	if (!cond)
		checks_failed++;
	serial_puts(cond ? "guest: ok " : "guest: not ok ");
	va_start(ap, fmt);
	gk_vprintf(fmt, ap);
	va_end(ap);
	serial_putc('\n');
	return cond;
}

void exit_with(uint8_t code)
{
	/* QEMU's isa-debug-exit and sepia-vmm --debug-exit end here with (code << 1) | 1. */
	outb(GK_PORT_DEBUG_EXIT, code);
	gk_printf("guest: exit code 0x%x not taken (no debug-exit device?), halting\n", code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void finish(void)
{
	bool pass = checks_run > 0 && checks_failed == 0;
	gk_printf("guest: done, %u checks, %u failed\n", checks_run, checks_failed);
	exit_with(pass ? GK_EXIT_PASS : GK_EXIT_FAIL);
}

void skip(const char *why)
{
	gk_printf("guest: skip %s\n", why);
	exit_with(GK_EXIT_SKIP);
}

/* ---- command line ---- */
const char *cmdline(void)
{
	if (!gk_start_info || !gk_start_info->cmdline_paddr)
		return "";
	return (const char *)gk_start_info->cmdline_paddr;
}

/* Finds `key` as a whole word or as the key of key=value; returns the character
 * after the key ('\0', ' ' or '=') position, NULL when absent. */
static const char *cmdline_find(const char *key)
{
	size_t n = strlen(key);
	const char *p = cmdline();
	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, n) && (p[n] == '\0' || p[n] == ' ' || p[n] == '='))
			return p + n;
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}

bool cmdline_has(const char *word) { return cmdline_find(word) != NULL; }

bool cmdline_get(const char *key, char *buf, size_t len)
{
	const char *p = cmdline_find(key);
	size_t i = 0;
	if (!p || *p != '=' || !len)
		return false;
	for (p++; *p && *p != ' ' && i + 1 < len; p++)
		buf[i++] = *p;
	buf[i] = '\0';
	return true;
}

bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

uint64_t cmdline_num(const char *key, uint64_t def)
{
	char buf[24];
	uint64_t v;
	if (!cmdline_get(key, buf, sizeof(buf)) || !parse_u64(buf, &v))
		return def;
	return v;
}

/* ---- interrupts ---- */
static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler handlers[256];
extern const char isr_stubs[];

static void idt_init(void)
{
	for (int v = 0; v < 256; v++) {
		uint64_t a = (uint64_t)(isr_stubs + 16 * v);
		idt[v].off_lo = (uint16_t)a;
		idt[v].selector = 0x08;
		idt[v].type = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
		idt[v].off_mid = (uint16_t)(a >> 16);
		idt[v].off_hi = (uint32_t)(a >> 32);
	}
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" ::"m"(desc));
}

void irq_set_handler(uint8_t vector, irq_handler h) { handlers[vector] = h; }

void isr_dispatch(struct irq_frame *f);
void isr_dispatch(struct irq_frame *f)
{
	if (f->vector < 32) {
		uint64_t cr2;
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		gk_printf("guest: not ok exception %lu, error 0x%lx, rip 0x%lx, cr2 0x%lx\n", f->vector,
			  f->error, f->rip, cr2);
		exit_with(GK_EXIT_CRASH);
	}
	if (handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	gk_unexpected_irqs++;
	gk_printf("guest: unexpected interrupt, vector 0x%lx\n", f->vector);
	if (f->vector != 0xff) /* the spurious vector takes no EOI */
		lapic_eoi();
}

/* ---- local APIC and legacy PIC ---- */
static inline uint32_t lapic_read(uint32_t reg) { return mmio_read32(GK_LAPIC + reg); }
static inline void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(GK_LAPIC + reg, v); }

void lapic_enable(void)
{
	lapic_write(0x080, 0);                /* TPR: accept every priority */
	lapic_write(LAPIC_SVR, 0x100 | 0xff); /* APIC software enable, spurious 0xff */
}

uint32_t lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }

void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

void pic_mask_all(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

/* ---- entry from start.S ---- */
void gk_entry(uint64_t start_info);
void gk_entry(uint64_t start_info)
{
	gk_start_info = (const struct hvm_start_info *)start_info;
	idt_init();
	main();
	finish();
}
