/* uart-irq: the COM1 interrupt, driven the way Linux's interrupt-driven 8250 driver drives it,
 * through an edge-triggered IOAPIC pin (IRQ 4 -> vector 0x44, as sepia's DSDT declares COM1).
 * An edge-triggered pin sees an interrupt only when the line rises, so every new interrupt
 * condition of the UART must make the line rise again, even when it was still high for an
 * earlier one the driver has not acknowledged yet. What the 16550 does:
 *   - THRE: pending when IER.THRI goes 0->1 with the transmitter empty, and again after each
 *     THR write once the byte is sent (the write clears it); an IIR read reporting it clears it;
 *   - RDI: pending while received data waits (with IER.RDI), and has priority in IIR.
 * Each step below makes one condition pending and waits (sti; hlt, with a LAPIC timer as
 * watchdog) for its interrupt. The UART is touched only outside the handler, which just
 * counts: the payload decides when IIR is read, as the driver's paths do. Output happens only
 * with IER 0 (no interrupt source) and loopback off. FIFOs stay off (16450 mode), so received
 * data raises RDI at once rather than after a character timeout. */
#include "lib.h"

#define IOAPIC       0xfec00000ULL
#define IOAPIC_SEL   0x00
#define IOAPIC_WIN   0x10
#define IRQ_COM1     4
#define VEC_UART     0x44
#define VEC_WATCHDOG 0x45

#define COM1     GK_PORT_COM1
#define UART_RBR 0
#define UART_THR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define IER_RDI  0x01
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI  0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR   0x01
#define LSR_THRE 0x20

#define LAPIC_LVT_TIMER  0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV  0x3e0

static volatile uint32_t uart_irqs, watchdog_fired;

static void on_uart(struct irq_frame *f)
{
	uart_irqs++;
	lapic_eoi();
}

static void on_watchdog(struct irq_frame *f)
{
	watchdog_fired = 1;
	lapic_eoi();
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC + IOAPIC_SEL, reg);
	mmio_write32(IOAPIC + IOAPIC_WIN, v);
}

/* IRQ 4: fixed delivery to this CPU, physical destination, active high, edge, unmasked. */
static void ioapic_route_com1(uint32_t apic_id)
{
	ioapic_write(0x10 + 2 * IRQ_COM1 + 1, apic_id << 24);
	ioapic_write(0x10 + 2 * IRQ_COM1, VEC_UART);
}

static uint8_t iir(void) { return inb(COM1 + UART_IIR) & 0x0f; }

/* The UART quiet: no interrupt source, loopback off, nothing received, THRE acknowledged. */
static void uart_quiet(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_MCR, MCR_OUT2);
	while (inb(COM1 + UART_LSR) & LSR_DR)
		inb(COM1 + UART_RBR);
	iir();
}

/* Waits (interrupts on) for one more COM1 interrupt than `before`, at most about two seconds
 * (a LAPIC one-shot at the 1 GHz APIC clock of KVM and QEMU). True when it came. */
static bool irq_arrived(uint32_t before)
{
	watchdog_fired = 0;
	mmio_write32(GK_LAPIC + LAPIC_TIMER_DIV, 0xa); /* divide by 128 */
	mmio_write32(GK_LAPIC + LAPIC_LVT_TIMER, VEC_WATCHDOG);
	mmio_write32(GK_LAPIC + LAPIC_TIMER_INIT, 16000000);
	while (uart_irqs == before && !watchdog_fired) {
		sti_hlt();
		cli();
	}
	mmio_write32(GK_LAPIC + LAPIC_TIMER_INIT, 0);
	mmio_write32(GK_LAPIC + LAPIC_LVT_TIMER, 0x10000 | VEC_WATCHDOG);
	return uart_irqs != before;
}

/* Takes an interrupt that is already pending, if any: sti; nop; cli. */
static void take_pending(void) { __asm__ volatile("sti; nop; nop; cli" ::: "memory"); }

/* One condition: `n` counts the interrupts seen so far. */
static bool expect_irq(uint32_t *n)
{
	bool came = irq_arrived(*n);
	take_pending();
	*n = uart_irqs;
	return came;
}

int main(void)
{
	pic_mask_all();
	lapic_enable();
	irq_set_handler(VEC_UART, on_uart);
	irq_set_handler(VEC_WATCHDOG, on_watchdog);
	outb(COM1 + UART_LCR, 0x03); /* 8N1, DLAB off */
	outb(COM1 + UART_FCR, 0);    /* FIFOs off */
	uart_quiet();
	ioapic_route_com1(lapic_id());
	take_pending();
	uint32_t n = uart_irqs;
	check(n == 0, "no COM1 interrupt with IER 0 (%u)", n);

	/* The driver's startup test: THRI on with the transmitter empty raises THRE; reading
	 * IIR reports and clears it; THRI off and on again raises it again. */
	outb(COM1 + UART_IER, IER_THRI);
	bool a = expect_irq(&n);
	uint8_t iir1 = iir(), iir2 = iir();
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_IER, IER_THRI);
	bool b = expect_irq(&n);
	uint8_t iir3 = iir();
	uart_quiet();
	check(a, "IER.THRI 0->1 with the transmitter empty: an interrupt");
	check(iir1 == IIR_THRI && iir2 == IIR_NONE, "IIR reports THRE (0x%x), then nothing (0x%x)", iir1,
	      iir2);
	check(b, "IER.THRI 1->0->1 with the transmitter empty: another interrupt (IIR 0x%x)", iir3);

	/* The console's write: IER saved and cleared, bytes written by polling LSR, IER restored,
	 * all while the THRE interrupt of the tty's own output is pending, not yet acknowledged. */
	outb(COM1 + UART_IER, IER_THRI);
	a = expect_irq(&n);
	outb(COM1 + UART_IER, 0);
	for (const char *s = "\n\n"; *s; s++) {
		while (!(inb(COM1 + UART_LSR) & LSR_THRE))
			cpu_relax();
		outb(COM1 + UART_THR, (uint8_t)*s);
	}
	outb(COM1 + UART_IER, IER_THRI);
	b = expect_irq(&n);
	iir1 = iir();
	uart_quiet();
	check(a && b, "THRI toggled around console output, THRE unacknowledged: an interrupt again (%s, %s)",
	      a ? "yes" : "no", b ? "yes" : "no");
	check(iir1 == IIR_THRI, "IIR reports THRE after the console's write (0x%x)", iir1);

	/* The driver's transmit path: THRI on and acknowledged, then bytes written into THR. Each
	 * write clears THRE and its transmission raises it anew, whether or not the previous one
	 * was acknowledged (the handler writes up to a FIFO's worth without reading IIR). */
	outb(COM1 + UART_IER, IER_THRI);
	expect_irq(&n);
	iir();
	outb(COM1 + UART_THR, '\n');
	a = expect_irq(&n);
	outb(COM1 + UART_THR, '\n');
	b = expect_irq(&n);
	outb(COM1 + UART_THR, '\n');
	bool c = expect_irq(&n);
	iir1 = iir();
	iir2 = iir();
	uart_quiet();
	check(a, "a THR write with THRI on: an interrupt once the byte is sent");
	check(b && c, "further THR writes, THRE not acknowledged in between: an interrupt each (%s, %s)",
	      b ? "yes" : "no", c ? "yes" : "no");
	check(iir1 == IIR_THRI && iir2 == IIR_NONE, "IIR reports THRE (0x%x), then nothing (0x%x)", iir1,
	      iir2);

	/* Receiving (loopback: THR goes to RBR). RDI alone; then data arriving while the line is
	 * still up for an unacknowledged THRE. */
	outb(COM1 + UART_MCR, MCR_OUT2 | MCR_LOOP);
	outb(COM1 + UART_IER, IER_RDI);
	outb(COM1 + UART_THR, 'q');
	a = expect_irq(&n);
	iir1 = iir();
	uint8_t q = inb(COM1 + UART_RBR);
	iir2 = iir();
	outb(COM1 + UART_IER, IER_RDI | IER_THRI);
	expect_irq(&n); /* THRI 0->1 */
	outb(COM1 + UART_THR, 'x');
	b = expect_irq(&n);
	iir3 = iir();
	uint8_t x = inb(COM1 + UART_RBR);
	outb(COM1 + UART_THR, 'w'); /* RBR empty again, THRE still unacknowledged */
	c = expect_irq(&n);
	uint8_t iir4 = iir(), w = inb(COM1 + UART_RBR), iir5 = iir(), iir6 = iir();
	uart_quiet();
	check(a && q == 'q', "received data with RDI on: an interrupt (RBR '%c')", q);
	check(iir1 == IIR_RDI && iir2 == IIR_NONE, "IIR reports RDI (0x%x), nothing once RBR is read (0x%x)",
	      iir1, iir2);
	check(b && x == 'x', "data and THRE at once: an interrupt, RDI first in IIR (0x%x)", iir3);
	check(c && w == 'w', "data again while THRE is still pending: an interrupt (%s)", c ? "yes" : "no");
	check(iir4 == IIR_RDI && iir5 == IIR_THRI && iir6 == IIR_NONE,
	      "IIR: RDI 0x%x, THRE 0x%x, nothing 0x%x", iir4, iir5, iir6);

	/* With IER 0 (the console's polled output), a THR write raises nothing. Interrupts left
	 * pending by the steps above are taken first (QEMU's IOAPIC delivers each raise of a
	 * line that is already high). */
	take_pending();
	uint32_t before = uart_irqs;
	outb(COM1 + UART_THR, '\n');
	take_pending();
	check(uart_irqs == before && iir() == IIR_NONE, "a THR write with IER 0: no interrupt (%u)",
	      uart_irqs - before);
	check(gk_unexpected_irqs == 0, "no unexpected interrupts (%u)", gk_unexpected_irqs);
	return 0;
}
