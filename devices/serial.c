/* Register behaviour from the 16550A data sheet; enough for Linux's 8250 driver to
 * probe it as a 16550A (scratch, IER and loopback tests) and to run interrupt-driven. */
#include "devices/serial.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "common/error.h"
#include "devices/chardev.h"
#include "devices/layout.h"
#include "devices/snapshot.h"

#define UART_IER_RDI      0x01
#define UART_IER_THRI     0x02
#define UART_IIR_NONE     0x01
#define UART_IIR_THRI     0x02
#define UART_IIR_RDI      0x04
#define UART_IIR_FIFO     0xc0
#define UART_FCR_FIFO     0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_LCR_DLAB     0x80
#define UART_MCR_LOOP     0x10
#define UART_LSR_DR       0x01
#define UART_LSR_THRE     0x20
#define UART_LSR_TEMT     0x40
#define RX_FIFO_SIZE      64

/* The interrupt conditions behind the line (serial_update_irq). */
#define IRQ_SRC_RDI  0x01
#define IRQ_SRC_THRI 0x02

struct serial {
	struct vm_host *host;
	struct chardev out;
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri_pending; /* THR empty interrupt not yet acknowledged by an IIR read */
	bool irq_level;
	unsigned int irq_sources; /* IRQ_SRC_* pending when the line was last set */
	uint8_t rx[RX_FIFO_SIZE];
	unsigned int rx_head, rx_count;
};

/* COM1 is edge-triggered at the IOAPIC (the DSDT says so, as on every PC), and an edge-triggered
 * pin sees an interrupt only when the line rises. So a condition that becomes pending while the
 * line is already high for another one, or again before the guest acknowledged it (THRE after
 * each THR write), lowers the line and raises it again: every new condition is a new edge.
 * Otherwise a driver that has just handled the first (Linux's 8250 reads IIR and writes THR up
 * to a FIFO's worth in its handler, and re-enables THRI from other CPUs) can wait for an
 * interrupt that never comes. */
static void serial_update_irq(struct serial *s)
{
	unsigned int sources = ((s->ier & UART_IER_RDI) && s->rx_count ? IRQ_SRC_RDI : 0) |
			       ((s->ier & UART_IER_THRI) && s->thri_pending ? IRQ_SRC_THRI : 0);
	bool new_condition = sources & ~s->irq_sources;
	s->irq_sources = sources;
	if (!sources) {
		if (s->irq_level)
			vm_host_irq_line(s->host, IRQ_COM1, false);
		s->irq_level = false;
		return;
	}
	if (s->irq_level && !new_condition)
		return;
	if (s->irq_level)
		vm_host_irq_line(s->host, IRQ_COM1, false);
	vm_host_irq_line(s->host, IRQ_COM1, true);
	s->irq_level = true;
}

static void serial_rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_count == RX_FIFO_SIZE)
		return; /* overrun: the byte is lost, as on real hardware */
	s->rx[(s->rx_head + s->rx_count++) % RX_FIFO_SIZE] = c;
}

static uint8_t serial_iir(struct serial *s)
{
	uint8_t fifo = (s->fcr & UART_FCR_FIFO) ? UART_IIR_FIFO : 0;
	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return fifo | UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thri_pending) {
		s->thri_pending = false; /* reading IIR acknowledges THRE */
		return fifo | UART_IIR_THRI;
	}
	return fifo | UART_IIR_NONE;
}

static uint8_t serial_msr(struct serial *s)
{
	if (!(s->mcr & UART_MCR_LOOP))
		return 0xb0; /* DCD, DSR, CTS: a cable is attached */
	/* Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	return (uint8_t)(((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3) | ((s->mcr & 0x04) << 4) |
			 ((s->mcr & 0x08) << 4));
}

static void serial_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
	struct serial *s = opaque;
	uint8_t v = 0;
	pthread_mutex_lock(&s->lock);
	bool dlab = s->lcr & UART_LCR_DLAB;
	switch (offset) {
	case 0:
		if (dlab) {
			v = s->dll;
		} else if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
			s->rx_count--;
		}
		break;
	case 1:
		v = dlab ? s->dlm : s->ier;
		break;
	case 2:
		v = serial_iir(s);
		break;
	case 3:
		v = s->lcr;
		break;
	case 4:
		v = s->mcr;
		break;
	case 5:
		v = UART_LSR_THRE | UART_LSR_TEMT | (s->rx_count ? UART_LSR_DR : 0);
		break;
	case 6:
		v = serial_msr(s);
		break;
	case 7:
		v = s->scr;
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	memset(data, 0, len);
	*(uint8_t *)data = v;
}

static void serial_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
	struct serial *s = opaque;
	uint8_t v = *(const uint8_t *)data;
	pthread_mutex_lock(&s->lock);
	bool dlab = s->lcr & UART_LCR_DLAB;
	switch (offset) {
	case 0:
		if (dlab) {
			s->dll = v;
			break;
		}
		if (s->mcr & UART_MCR_LOOP)
			serial_rx_push(s, v);
		else
			chardev_write(&s->out, &v, 1);
		/* The write clears a pending THRE interrupt; the byte is sent at once and THR
		 * is empty again: a new THRE interrupt (a new edge, see serial_update_irq). */
		s->irq_sources &= ~IRQ_SRC_THRI;
		s->thri_pending = true;
		break;
	case 1:
		if (dlab) {
			s->dlm = v;
		} else {
			/* Enabling THRI while THR is empty raises the interrupt at once. */
			if ((v & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
				s->thri_pending = true;
			s->ier = v & 0x0f;
		}
		break;
	case 2:
		s->fcr = v & 0xc9;
		if (v & UART_FCR_CLEAR_RX)
			s->rx_count = 0;
		break;
	case 3:
		s->lcr = v;
		break;
	case 4:
		s->mcr = v & 0x1f;
		break;
	case 7:
		s->scr = v;
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_input(void *opaque, const uint8_t *buf, size_t len)
{
	struct serial *s = opaque;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < len; i++)
		serial_rx_push(s, buf[i]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static bool serial_save(void *opaque, struct snap_writer *w, GError **error)
{
	struct serial *s = opaque;
	pthread_mutex_lock(&s->lock);
	const uint8_t regs[] = { s->ier, s->lcr, s->mcr,          s->scr,      s->fcr,
				 s->dll, s->dlm, s->thri_pending, s->irq_level };
	snap_put_blob(w, regs, sizeof(regs));
	snap_put_u32(w, s->rx_count);
	for (unsigned int i = 0; i < s->rx_count; i++)
		snap_put_u8(w, s->rx[(s->rx_head + i) % RX_FIFO_SIZE]);
	pthread_mutex_unlock(&s->lock);
	return true;
}

static bool serial_load(void *opaque, struct snap_reader *r, GError **error)
{
	struct serial *s = opaque;
	uint8_t regs[9], rx[RX_FIFO_SIZE];
	snap_get_blob(r, regs, sizeof(regs));
	uint32_t n = snap_get_u32(r);
	if (n > RX_FIFO_SIZE)
		snap_reader_fail(r);
	else
		snap_get_bytes(r, rx, n);
	if (!snap_reader_done(r, error))
		return false;
	pthread_mutex_lock(&s->lock);
	s->ier = regs[0] & 0x0f;
	s->lcr = regs[1];
	s->mcr = regs[2] & 0x1f;
	s->scr = regs[3];
	s->fcr = regs[4] & 0xc9;
	s->dll = regs[5];
	s->dlm = regs[6];
	s->thri_pending = regs[7];
	s->rx_head = 0;
	s->rx_count = n;
	memcpy(s->rx, rx, n);
	/* KVM keeps no level for the line across a new VM: raise it again if it was up. */
	s->irq_level = false;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return true;
}

struct serial *serial_create(struct vm_host *host, const struct vm_sink *sink, GError **error)
{
	struct serial *s = g_new0(struct serial, 1);
	s->host = host;
	pthread_mutex_init(&s->lock, NULL);
	if (!chardev_open(&s->out, "serial", sink, error)) {
		g_free(s);
		return NULL;
	}
	struct bus_range r = { PORT_COM1, 8, "serial", serial_read, serial_write, s };
	int ret = bus_register(&host->pio, &r);
	if (ret < 0) {
		g_set_error(error, SEPIA_ERROR, -ret, "serial: cannot claim ports 0x3f8-0x3ff: %s",
			    g_strerror(-ret));
		serial_destroy(s);
		return NULL;
	}
	chardev_attach_input(&s->out, host->io_ctx, serial_input, s);
	vm_host_add_state(host, "serial", serial_save, serial_load, s);
	return s;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	chardev_close(&s->out);
	g_free(s);
}
