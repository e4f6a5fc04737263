/* guest-kit virtio: a minimal modern (1.x) virtio-pci driver with split virtqueues in
 * static memory. One request in flight at a time, descriptors always from 0: payloads
 * test a device, not a driver. */
#include "lib.h"

/* struct virtio_pci_common_cfg, virtio 1.x section 4.1.4.3 */
#define VCC_DEVICE_FEATURE_SELECT 0
#define VCC_DEVICE_FEATURE        4
#define VCC_DRIVER_FEATURE_SELECT 8
#define VCC_DRIVER_FEATURE        12
#define VCC_MSIX_CONFIG           16
#define VCC_NUM_QUEUES            18
#define VCC_DEVICE_STATUS         20
#define VCC_CONFIG_GENERATION     21
#define VCC_QUEUE_SELECT          22
#define VCC_QUEUE_SIZE            24
#define VCC_QUEUE_MSIX_VECTOR     26
#define VCC_QUEUE_ENABLE          28
#define VCC_QUEUE_NOTIFY_OFF      30
#define VCC_QUEUE_DESC            32
#define VCC_QUEUE_DRIVER          40
#define VCC_QUEUE_DEVICE          48

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_FAILED      0x80

/* Bounded polling: enough for an asynchronous device thread even when ring-0 code is
 * interpreted (a few hundred thousand iterations per second there), short enough
 * that a lost notification ends in a clear "not ok" before the runner's timeout. */
#define POLL_LIMIT 5000000

struct queue_mem {
	struct virtq_desc desc[VIRTQ_SIZE] __attribute__((aligned(16)));
	struct virtq_avail avail __attribute__((aligned(4)));
	struct virtq_used used __attribute__((aligned(4096)));
} __attribute__((aligned(4096)));

static struct queue_mem queue_slots[4];
static unsigned queue_slots_used;

bool virtio_probe(struct virtio_dev *v, const struct pci_dev *d)
{
	memset(v, 0, sizeof(*v));
	v->pci = *d;
	for (uint8_t cap = pci_find_cap(d, PCI_CAP_ID_VENDOR, 0); cap;
	     cap = pci_find_cap(d, PCI_CAP_ID_VENDOR, cap)) {
		uint8_t type = pci_read8(d->bus, d->dev, d->fn, cap + 3);
		uint8_t bar = pci_read8(d->bus, d->dev, d->fn, cap + 4);
		uint32_t off = pci_read32(d->bus, d->dev, d->fn, cap + 8);
		/* Where each structure's address goes; other types (PCI config access, shared memory,
		 * vendor extensions) are passed over. */
		uint64_t *slots[VIRTIO_PCI_CAP_DEVICE + 1] = {
			[VIRTIO_PCI_CAP_COMMON] = &v->common,
			[VIRTIO_PCI_CAP_NOTIFY] = &v->notify,
			[VIRTIO_PCI_CAP_ISR] = &v->isr,
			[VIRTIO_PCI_CAP_DEVICE] = &v->device,
		};
		uint64_t *slot = type <= VIRTIO_PCI_CAP_DEVICE ? slots[type] : NULL;
		if (!slot)
			continue;
		if (*slot || bar > 5)
			continue; /* the first usable one of each type wins */
		uint64_t base = pci_bar_addr(d, bar);
		if (!base)
			continue;
		*slot = base + off;
		if (type == VIRTIO_PCI_CAP_NOTIFY)
			v->notify_mult = pci_read32(d->bus, d->dev, d->fn, cap + 16);
	}
	if (!v->common || !v->notify || !v->isr) {
		check(false, "virtio %02x:%02x.%x has common/notify/isr structures (0x%lx/0x%lx/0x%lx)",
		      d->bus, d->dev, d->fn, v->common, v->notify, v->isr);
		return false;
	}
	return true;
}

uint8_t virtio_status(struct virtio_dev *v) { return mmio_read8(v->common + VCC_DEVICE_STATUS); }

static void virtio_set_status(struct virtio_dev *v, uint8_t s)
{
	mmio_write8(v->common + VCC_DEVICE_STATUS, s);
}

uint64_t virtio_negotiate(struct virtio_dev *v, uint64_t wanted)
{
	virtio_set_status(v, 0);
	for (int i = 0; virtio_status(v) != 0; i++) {
		if (i > 1000) {
			check(false, "virtio device reset completes (status 0x%x)", virtio_status(v));
			return 0;
		}
		cpu_relax();
	}
	virtio_set_status(v, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_set_status(v, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);

	mmio_write32(v->common + VCC_DEVICE_FEATURE_SELECT, 0);
	uint64_t f = mmio_read32(v->common + VCC_DEVICE_FEATURE);
	mmio_write32(v->common + VCC_DEVICE_FEATURE_SELECT, 1);
	f |= (uint64_t)mmio_read32(v->common + VCC_DEVICE_FEATURE) << 32;
	v->features = f;
	if (!(f & BIT64(VIRTIO_F_VERSION_1))) {
		check(false, "virtio device offers VERSION_1 (features 0x%lx)", f);
		virtio_set_status(v, VIRTIO_STATUS_FAILED);
		return 0;
	}

	uint64_t drv = (wanted | BIT64(VIRTIO_F_VERSION_1)) & f;
	mmio_write32(v->common + VCC_DRIVER_FEATURE_SELECT, 0);
	mmio_write32(v->common + VCC_DRIVER_FEATURE, (uint32_t)drv);
	mmio_write32(v->common + VCC_DRIVER_FEATURE_SELECT, 1);
	mmio_write32(v->common + VCC_DRIVER_FEATURE, (uint32_t)(drv >> 32));
	virtio_set_status(v, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (!(virtio_status(v) & VIRTIO_STATUS_FEATURES_OK)) {
		check(false, "virtio device accepts features 0x%lx", drv);
		virtio_set_status(v, VIRTIO_STATUS_FAILED);
		return 0;
	}
	return drv;
}

bool virtio_queue_setup(struct virtio_dev *v, struct virtq *q, uint16_t index, uint16_t msix_vector)
{
	uint64_t c = v->common;
	if (queue_slots_used >= sizeof(queue_slots) / sizeof(queue_slots[0]))
		return false;
	if (index >= mmio_read16(c + VCC_NUM_QUEUES)) {
		check(false, "virtio device has queue %u (num_queues %u)", index,
		      mmio_read16(c + VCC_NUM_QUEUES));
		return false;
	}
	mmio_write16(c + VCC_QUEUE_SELECT, index);
	uint16_t size = mmio_read16(c + VCC_QUEUE_SIZE);
	if (size == 0 || (size & (size - 1))) {
		check(false, "virtio queue %u has a usable size (%u)", index, size);
		return false;
	}
	if (size > VIRTQ_SIZE) {
		size = VIRTQ_SIZE;
		mmio_write16(c + VCC_QUEUE_SIZE, size);
	}
	struct queue_mem *m = &queue_slots[queue_slots_used++]; /* zero: .bss, used once */
	q->index = index;
	q->size = size;
	q->last_used = 0;
	q->desc = m->desc;
	q->avail = &m->avail;
	q->used = &m->used;

	mmio_write16(c + VCC_QUEUE_MSIX_VECTOR, msix_vector);
	if (mmio_read16(c + VCC_QUEUE_MSIX_VECTOR) != msix_vector) {
		check(false, "virtio queue %u takes MSI-X vector %u (reads %u)", index, msix_vector,
		      mmio_read16(c + VCC_QUEUE_MSIX_VECTOR));
		return false;
	}
	mmio_write64(c + VCC_QUEUE_DESC, (uint64_t)q->desc);
	mmio_write64(c + VCC_QUEUE_DRIVER, (uint64_t)q->avail);
	mmio_write64(c + VCC_QUEUE_DEVICE, (uint64_t)q->used);
	mmio_write16(c + VCC_QUEUE_ENABLE, 1);
	q->notify_addr = v->notify + (uint64_t)mmio_read16(c + VCC_QUEUE_NOTIFY_OFF) * v->notify_mult;
	return true;
}

void virtio_driver_ok(struct virtio_dev *v)
{
	virtio_set_status(v, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
				     VIRTIO_STATUS_DRIVER_OK);
}

void virtq_submit(struct virtq *q, const struct virtq_buf *bufs, int n)
{
	for (int i = 0; i < n; i++) {
		q->desc[i].addr = (uint64_t)bufs[i].addr;
		q->desc[i].len = bufs[i].len;
		q->desc[i].flags = (bufs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
				   (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
		q->desc[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
	}
	uint16_t idx = q->avail->idx;
	q->avail->ring[idx % q->size] = 0;
	barrier(); /* x86 keeps stores in order; the compiler must too */
	q->avail->idx = idx + 1;
	mb(); /* the index must be visible before the device looks */
	mmio_write16(q->notify_addr, q->index);
}

bool virtq_has_used(struct virtq *q) { return *(volatile uint16_t *)&q->used->idx != q->last_used; }

bool virtq_wait_used(struct virtq *q, struct virtq_used_elem *out)
{
	for (long i = 0; !virtq_has_used(q); i++) {
		if (i >= POLL_LIMIT)
			return false;
		cpu_relax();
	}
	barrier();
	*out = q->used->ring[q->last_used % q->size];
	q->last_used++;
	return true;
}

uint8_t virtio_config_generation(struct virtio_dev *v)
{
	return mmio_read8(v->common + VCC_CONFIG_GENERATION);
}

/* ---- virtio-blk ---- */
void blk_submit(struct virtq *q, struct blk_req *r, uint32_t type, uint64_t sector, void *data, uint32_t len)
{
	struct virtq_buf bufs[3];
	int n = 0;
	r->hdr.type = type;
	r->hdr.reserved = 0;
	r->hdr.sector = sector;
	r->status = 0xff; /* a device that never writes it cannot look successful */
	bufs[n++] = (struct virtq_buf){ &r->hdr, sizeof(r->hdr), false };
	if (len)
		bufs[n++] = (struct virtq_buf){ data, len, type == VIRTIO_BLK_T_IN };
	bufs[n++] = (struct virtq_buf){ &r->status, 1, true };
	virtq_submit(q, bufs, n);
}

int blk_do(struct virtq *q, uint32_t type, uint64_t sector, void *data, uint32_t len, uint32_t *used_len)
{
	static struct blk_req r;
	struct virtq_used_elem e;
	blk_submit(q, &r, type, sector, data, len);
	if (!virtq_wait_used(q, &e))
		return -1;
	if (used_len)
		*used_len = e.len;
	return *(volatile uint8_t *)&r.status;
}

uint64_t blk_capacity(struct virtio_dev *v)
{
	uint64_t cap;
	uint8_t gen;
	do {
		gen = virtio_config_generation(v);
		cap = mmio_read32(v->device) | (uint64_t)mmio_read32(v->device + 4) << 32;
	} while (gen != virtio_config_generation(v));
	return cap;
}
