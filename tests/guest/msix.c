/* msix: a virtio-blk request completes with an MSI-X interrupt. The queue uses MSI-X
 * table entry 1 (address 0xfee00000 | this CPU's APIC ID << 12, data = vector 0x41);
 * the handler counts and EOIs. We submit, then `sti; hlt` until it fires, twice (the
 * second proves the EOI reached the APIC). A LAPIC one-shot timer (vector 0x42, about
 * two seconds at QEMU's and KVM's 1 GHz APIC clock) wakes us if it never does. */
#include "lib.h"

#define VEC_QUEUE    0x41
#define VEC_WATCHDOG 0x42
#define MSIX_ENTRY   1

#define LAPIC_LVT_TIMER  0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV  0x3e0

static volatile uint32_t queue_irqs, watchdog_fired;
static uint8_t buf[512] __attribute__((aligned(512)));

static void on_queue(struct irq_frame *f)
{
	queue_irqs++;
	lapic_eoi();
}

static void on_watchdog(struct irq_frame *f)
{
	watchdog_fired = 1;
	lapic_eoi();
}

static void watchdog_arm(void)
{
	watchdog_fired = 0;
	mmio_write32(GK_LAPIC + LAPIC_TIMER_DIV, 0xa);          /* divide by 128 */
	mmio_write32(GK_LAPIC + LAPIC_LVT_TIMER, VEC_WATCHDOG); /* one-shot, unmasked */
	mmio_write32(GK_LAPIC + LAPIC_TIMER_INIT, 16000000);
}

static void watchdog_disarm(void)
{
	mmio_write32(GK_LAPIC + LAPIC_TIMER_INIT, 0);
	mmio_write32(GK_LAPIC + LAPIC_LVT_TIMER, 0x10000 | VEC_WATCHDOG); /* masked */
}

static void one_round(struct virtq *q, int round)
{
	static struct blk_req r;
	struct virtq_used_elem e;

	watchdog_arm();
	blk_submit(q, &r, VIRTIO_BLK_T_IN, 0, buf, sizeof(buf));
	while (queue_irqs < (uint32_t)round && !watchdog_fired) {
		sti_hlt();
		cli();
	}
	watchdog_disarm();
	bool used = virtq_has_used(q);
	check(queue_irqs == (uint32_t)round, "round %d: interrupt count %u (used ring %s)", round, queue_irqs,
	      used ? "updated" : "not updated");
	if (check(used || virtq_wait_used(q, &e), "round %d: the request completed", round)) {
		if (used)
			virtq_wait_used(q, &e);
		check(r.status == VIRTIO_BLK_S_OK, "round %d: status %u", round, r.status);
	}
}

int main(void)
{
	struct pci_dev d;
	struct virtio_dev v;
	struct virtq q;

	pic_mask_all();
	lapic_enable();
	irq_set_handler(VEC_QUEUE, on_queue);
	irq_set_handler(VEC_WATCHDOG, on_watchdog);
	uint32_t apic = lapic_id();
	gk_printf("guest: APIC ID %u\n", apic);

	if (!check(pci_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(VIRTIO_ID_BLOCK), 0, &d),
		   "virtio-blk found"))
		return 0;
	if (!virtio_probe(&v, &d))
		return 0;
	if (!check(msix_route(&d, MSIX_ENTRY, apic, VEC_QUEUE), "MSI-X entry %d routed to vector 0x%x",
		   MSIX_ENTRY, VEC_QUEUE))
		return 0;
	if (!check(virtio_negotiate(&v, 0) != 0, "features negotiated"))
		return 0;
	if (!check(virtio_queue_setup(&v, &q, 0, MSIX_ENTRY), "queue 0 uses MSI-X entry %d", MSIX_ENTRY))
		return 0;
	virtio_driver_ok(&v);

	one_round(&q, 1);
	one_round(&q, 2);
	check(gk_unexpected_irqs == 0, "no unexpected interrupts (%u)", gk_unexpected_irqs);
	return 0;
}
