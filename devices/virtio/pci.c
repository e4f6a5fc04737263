/* virtio 1.x PCI transport (virtio spec 4.1): modern capabilities in one 64-bit BAR,
 * MSI-X through KVM GSI routes and irqfds, queue notifications through ioeventfds that
 * wake the VM's I/O thread. */
#include "common/error.h"
#include "devices/virtio/virtio.h"

#include <errno.h>
#include <glib-unix.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/pci.h"
#include "devices/snapshot.h"

/* BAR0 layout. */
#define BAR_SIZE       0x8000
#define COMMON_OFF     0x0000
#define COMMON_LEN     0x38
#define ISR_OFF        0x1000
#define DEVICE_OFF     0x2000
#define DEVICE_LEN     0x1000
#define NOTIFY_OFF     0x3000
#define NOTIFY_MULT    4
#define MSIX_TABLE_OFF 0x4000
#define MSIX_PBA_OFF   0x5000

/* Common configuration registers. */
#define CC_DFSELECT    0x00
#define CC_DF          0x04
#define CC_GFSELECT    0x08
#define CC_GF          0x0c
#define CC_MSIX_CONFIG 0x10
#define CC_NUM_QUEUES  0x12
#define CC_STATUS      0x14
#define CC_CFG_GEN     0x15
#define CC_Q_SELECT    0x16
#define CC_Q_SIZE      0x18
#define CC_Q_MSIX      0x1a
#define CC_Q_ENABLE    0x1c
#define CC_Q_NOFF      0x1e
#define CC_Q_DESC      0x20
#define CC_Q_AVAIL     0x28
#define CC_Q_USED      0x30

#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR    3
#define VIRTIO_PCI_CAP_DEVICE 4
#define PCI_CAP_ID_VNDR       0x09
#define PCI_CAP_ID_MSIX       0x11
#define MSIX_ENABLE           0x8000
#define MSIX_FUNC_MASK        0x4000
#define NO_VECTOR             0xffff

struct msix_vector {
	uint32_t addr_lo, addr_hi, data, ctrl; /* the guest-visible table entry */
	uint32_t gsi;
	int irqfd;
	bool pending;
};

struct vp_queue {
	struct virtq vq;
	uint16_t msix_vector;
	bool enabled;
	int kick_fd; /* ioeventfd the guest's notify write signals */
	guint source;
};

struct virtio_pci_dev {
	struct vm_host *host;
	GMainContext *ctx; /* where the queue notifications run */
	const char *name;
	const struct virtio_device_ops *ops;
	void *dev;
	struct pci_device *pci;
	pthread_mutex_t lock;
	uint64_t device_features;
	uint64_t driver_features;
	uint32_t dfselect, gfselect;
	uint16_t msix_config;
	uint16_t queue_select;
	uint8_t status;
	uint8_t config_generation;
	uint8_t isr;
	uint8_t msix_cap; /* config offset of the MSI-X capability */
	unsigned int nr_vectors;
	struct msix_vector vector[VIRTIO_MAX_QUEUES + 1];
	struct vp_queue queue[VIRTIO_MAX_QUEUES];
};

struct kick_ctx {
	struct virtio_pci_dev *vp;
	unsigned int q;
};

static uint64_t bar_base(struct virtio_pci_dev *vp) { return vp->pci->bar[0].addr; }

/* ---- MSI-X ---- */

static uint16_t msix_control(struct virtio_pci_dev *vp)
{
	uint16_t ctl;
	memcpy(&ctl, vp->pci->config + vp->msix_cap + 2, 2);
	return ctl;
}

static bool msix_vector_masked(struct virtio_pci_dev *vp, unsigned int v)
{
	uint16_t ctl = msix_control(vp);
	return !(ctl & MSIX_ENABLE) || (ctl & MSIX_FUNC_MASK) || (vp->vector[v].ctrl & 1);
}

static void msix_fire(struct virtio_pci_dev *vp, unsigned int v)
{
	uint64_t one = 1;
	if (write(vp->vector[v].irqfd, &one, sizeof(one)) < 0)
		g_warning("%s: MSI-X vector %u: irqfd write: %s", vp->name, v, g_strerror(errno));
}

static void msix_signal(struct virtio_pci_dev *vp, uint16_t v)
{
	if (v == NO_VECTOR || v >= vp->nr_vectors)
		return;
	if (msix_vector_masked(vp, v))
		vp->vector[v].pending = true;
	else
		msix_fire(vp, v);
}

/* Table entry or mask state changed: reprogram the KVM route, deliver what was held. */
static void msix_update(struct virtio_pci_dev *vp, unsigned int v)
{
	struct msix_vector *m = &vp->vector[v];
	uint64_t addr = ((uint64_t)m->addr_hi << 32) | m->addr_lo;
	if (vm_host_set_msi_route(vp->host, m->gsi, addr, m->data) < 0)
		g_warning("%s: MSI-X vector %u: cannot route to 0x%" G_GINT64_MODIFIER "x", vp->name, v,
			  addr);
	if (m->pending && !msix_vector_masked(vp, v)) {
		m->pending = false;
		msix_fire(vp, v);
	}
}

static void msix_table_read(struct virtio_pci_dev *vp, uint64_t off, void *data, unsigned int len)
{
	uint32_t v = 0;
	if (off >= MSIX_PBA_OFF) {
		uint64_t bit = (off - MSIX_PBA_OFF) * 8;
		for (unsigned int i = 0; i < vp->nr_vectors; i++)
			if (vp->vector[i].pending && i >= bit && i < bit + 32)
				v |= 1u << (i - bit);
	} else {
		unsigned int idx = (unsigned int)((off - MSIX_TABLE_OFF) / 16);
		if (idx < vp->nr_vectors) {
			const uint32_t *e = &vp->vector[idx].addr_lo;
			v = e[((off - MSIX_TABLE_OFF) % 16) / 4];
		}
	}
	memcpy(data, &v, MIN(len, 4u));
}

static void msix_table_write(struct virtio_pci_dev *vp, uint64_t off, const void *data, unsigned int len)
{
	if (off >= MSIX_PBA_OFF || len != 4)
		return; /* the PBA is read-only; the table takes dword writes */
	unsigned int idx = (unsigned int)((off - MSIX_TABLE_OFF) / 16);
	if (idx >= vp->nr_vectors)
		return;
	uint32_t *e = &vp->vector[idx].addr_lo;
	memcpy(&e[((off - MSIX_TABLE_OFF) % 16) / 4], data, 4);
	msix_update(vp, idx);
}

static void virtio_pci_config_written(struct pci_device *dev, unsigned int offset, unsigned int len)
{
	struct virtio_pci_dev *vp = dev->opaque;
	if (offset + len <= vp->msix_cap + 2u || offset >= vp->msix_cap + 4u)
		return;
	pthread_mutex_lock(&vp->lock);
	for (unsigned int v = 0; v < vp->nr_vectors; v++)
		msix_update(vp, v);
	pthread_mutex_unlock(&vp->lock);
}

/* ---- notifications ---- */

static int ioeventfd_set(struct virtio_pci_dev *vp, unsigned int q, uint64_t base, bool assign)
{
	return vm_host_ioeventfd(vp->host, base + NOTIFY_OFF + q * NOTIFY_MULT, 2, vp->queue[q].kick_fd,
				 assign);
}

static void virtio_pci_bar_moved(struct pci_device *dev, unsigned int bar, uint64_t old, uint64_t new)
{
	struct virtio_pci_dev *vp = dev->opaque;
	for (unsigned int q = 0; q < vp->ops->num_queues; q++) {
		ioeventfd_set(vp, q, old, false);
		if (ioeventfd_set(vp, q, new, true) < 0)
			g_warning("%s: queue %u: ioeventfd at the new BAR: %s (kicks go through MMIO exits)",
				  vp->name, q, g_strerror(errno));
	}
}

static gboolean virtio_pci_kicked(gint fd, GIOCondition cond, gpointer data)
{
	struct kick_ctx *k = data;
	struct virtio_pci_dev *vp = k->vp;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return G_SOURCE_CONTINUE;
	pthread_mutex_lock(&vp->lock);
	if ((vp->status & VIRTIO_CONFIG_S_DRIVER_OK) && !(vp->status & VIRTIO_CONFIG_S_NEEDS_RESET) &&
	    vp->queue[k->q].vq.ready)
		if (vp->ops->queue_notify)
			vp->ops->queue_notify(vp->dev, k->q);
	pthread_mutex_unlock(&vp->lock);
	return G_SOURCE_CONTINUE;
}

void virtio_pci_kick(struct virtio_pci_dev *vp, unsigned int q)
{
	uint64_t one = 1;
	if (q < vp->ops->num_queues && write(vp->queue[q].kick_fd, &one, sizeof(one)) < 0)
		g_warning("%s: queue %u: kick: %s", vp->name, q, g_strerror(errno));
}

struct virtq *virtio_pci_queue(struct virtio_pci_dev *vp, unsigned int q)
{
	return q < vp->ops->num_queues && vp->queue[q].vq.ready ? &vp->queue[q].vq : NULL;
}

void virtio_pci_queue_interrupt(struct virtio_pci_dev *vp, unsigned int q)
{
	if (q >= vp->ops->num_queues || !virtq_needs_interrupt(&vp->queue[q].vq))
		return;
	vp->isr |= 1;
	msix_signal(vp, vp->queue[q].msix_vector);
}

void virtio_pci_set_needs_reset(struct virtio_pci_dev *vp, const char *why)
{
	if (vp->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	g_warning("%s: %s; device needs reset", vp->name, why);
	vp->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (vp->status & VIRTIO_CONFIG_S_DRIVER_OK) {
		vp->isr |= 2;
		vp->config_generation++;
		msix_signal(vp, vp->msix_config);
	}
}

/* ---- common configuration ---- */

static void virtio_pci_reset(struct virtio_pci_dev *vp)
{
	if (vp->ops->reset)
		vp->ops->reset(vp->dev);
	vp->status = 0;
	vp->driver_features = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_select = 0;
	vp->isr = 0;
	vp->msix_config = NO_VECTOR;
	for (unsigned int q = 0; q < vp->ops->num_queues; q++) {
		vp->queue[q].vq.size = vp->ops->queue_max_size;
		virtq_reset(&vp->queue[q].vq);
		vp->queue[q].vq.size = vp->ops->queue_max_size;
		vp->queue[q].msix_vector = NO_VECTOR;
		vp->queue[q].enabled = false;
	}
	for (unsigned int v = 0; v < vp->nr_vectors; v++)
		vp->vector[v].pending = false;
}

static void virtio_pci_set_status(struct virtio_pci_dev *vp, uint8_t status)
{
	if (status == 0) {
		virtio_pci_reset(vp);
		return;
	}
	if ((status & VIRTIO_CONFIG_S_FEATURES_OK) && !(vp->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		/* Accept only a subset of what was offered, and only modern drivers. */
		if ((vp->driver_features & ~vp->device_features) ||
		    !(vp->driver_features & (1ULL << VIRTIO_F_VERSION_1)))
			status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && !(vp->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
		for (unsigned int q = 0; q < vp->ops->num_queues; q++) {
			vp->queue[q].vq.event_idx = vp->driver_features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
			vp->queue[q].vq.indirect = vp->driver_features &
						   (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
		}
		if (vp->ops->activate)
			vp->ops->activate(vp->dev, vp->driver_features);
	}
	vp->status = status | (vp->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static uint64_t set_half(uint64_t old, uint32_t v, bool high)
{
	return high ? (old & 0xffffffffULL) | ((uint64_t)v << 32) : (old & ~0xffffffffULL) | v;
}

static void queue_enable(struct virtio_pci_dev *vp, struct vp_queue *q, unsigned int idx)
{
	q->vq.event_idx = vp->driver_features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	q->vq.indirect = vp->driver_features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	if (!virtq_activate(&q->vq, &vp->host->mem)) {
		g_autofree char *why = g_strdup_printf(
			"queue %u: size %u or ring addresses outside guest RAM", idx, q->vq.size);
		virtio_pci_set_needs_reset(vp, why);
		return;
	}
	q->enabled = true;
}

static void common_write(struct virtio_pci_dev *vp, uint64_t off, uint64_t v, unsigned int len)
{
	struct vp_queue *q = vp->queue_select < vp->ops->num_queues ? &vp->queue[vp->queue_select] : NULL;
	switch (off) {
	case CC_DFSELECT:
		vp->dfselect = (uint32_t)v;
		break;
	case CC_GFSELECT:
		vp->gfselect = (uint32_t)v;
		break;
	case CC_GF:
		if (vp->gfselect < 2 && !(vp->status & VIRTIO_CONFIG_S_FEATURES_OK))
			vp->driver_features = set_half(vp->driver_features, (uint32_t)v, vp->gfselect);
		break;
	case CC_MSIX_CONFIG:
		vp->msix_config = (uint16_t)v;
		break;
	case CC_STATUS:
		virtio_pci_set_status(vp, (uint8_t)v);
		break;
	case CC_Q_SELECT:
		vp->queue_select = (uint16_t)v;
		break;
	}
	if (!q || q->enabled)
		return; /* queue registers are fixed once the queue is enabled */
	switch (off) {
	case CC_Q_SIZE:
		if (v && v <= vp->ops->queue_max_size && !(v & (v - 1)))
			q->vq.size = (uint16_t)v;
		break;
	case CC_Q_MSIX:
		q->msix_vector = (uint16_t)v;
		break;
	case CC_Q_ENABLE:
		if (v == 1)
			queue_enable(vp, q, vp->queue_select);
		break;
	case CC_Q_DESC:
	case CC_Q_DESC + 4:
		q->vq.desc_gpa = len == 8 ? v : set_half(q->vq.desc_gpa, (uint32_t)v, off & 4);
		break;
	case CC_Q_AVAIL:
	case CC_Q_AVAIL + 4:
		q->vq.avail_gpa = len == 8 ? v : set_half(q->vq.avail_gpa, (uint32_t)v, off & 4);
		break;
	case CC_Q_USED:
	case CC_Q_USED + 4:
		q->vq.used_gpa = len == 8 ? v : set_half(q->vq.used_gpa, (uint32_t)v, off & 4);
		break;
	}
}

static uint64_t common_read(struct virtio_pci_dev *vp, uint64_t off)
{
	struct vp_queue *q = vp->queue_select < vp->ops->num_queues ? &vp->queue[vp->queue_select] : NULL;
	switch (off) {
	case CC_DFSELECT:
		return vp->dfselect;
	case CC_DF:
		return vp->dfselect < 2 ? (uint32_t)(vp->device_features >> (32 * vp->dfselect)) : 0;
	case CC_GFSELECT:
		return vp->gfselect;
	case CC_GF:
		return vp->gfselect < 2 ? (uint32_t)(vp->driver_features >> (32 * vp->gfselect)) : 0;
	case CC_MSIX_CONFIG:
		return vp->msix_config;
	case CC_NUM_QUEUES:
		return vp->ops->num_queues;
	case CC_STATUS:
		return vp->status;
	case CC_CFG_GEN:
		return vp->config_generation;
	case CC_Q_SELECT:
		return vp->queue_select;
	}
	if (!q)
		return 0; /* a queue that does not exist reads as size 0 */
	switch (off) {
	case CC_Q_SIZE:
		return q->vq.size;
	case CC_Q_MSIX:
		return q->msix_vector;
	case CC_Q_ENABLE:
		return q->enabled;
	case CC_Q_NOFF:
		return vp->queue_select;
	case CC_Q_DESC:
		return q->vq.desc_gpa;
	case CC_Q_DESC + 4:
		return q->vq.desc_gpa >> 32;
	case CC_Q_AVAIL:
		return q->vq.avail_gpa;
	case CC_Q_AVAIL + 4:
		return q->vq.avail_gpa >> 32;
	case CC_Q_USED:
		return q->vq.used_gpa;
	case CC_Q_USED + 4:
		return q->vq.used_gpa >> 32;
	}
	return 0;
}

/* ---- BAR dispatch ---- */

static void bar_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	struct virtio_pci_dev *vp = opaque;
	uint64_t v = 0;
	memset(data, 0, len);
	pthread_mutex_lock(&vp->lock);
	if (off < COMMON_OFF + COMMON_LEN) {
		v = common_read(vp, off);
		memcpy(data, &v, len);
	} else if (off == ISR_OFF) {
		*(uint8_t *)data = vp->isr;
		vp->isr = 0; /* reading ISR acknowledges it */
	} else if (off >= DEVICE_OFF && off < DEVICE_OFF + DEVICE_LEN) {
		uint32_t doff = (uint32_t)(off - DEVICE_OFF);
		if (vp->ops->config_read && doff < vp->ops->config_size && len <= vp->ops->config_size - doff)
			vp->ops->config_read(vp->dev, doff, data, len);
	} else if (off >= MSIX_TABLE_OFF && off < BAR_SIZE) {
		msix_table_read(vp, off, data, len);
	}
	pthread_mutex_unlock(&vp->lock);
}

static void bar_write(void *opaque, uint64_t off, const void *data, unsigned int len)
{
	struct virtio_pci_dev *vp = opaque;
	uint64_t v = 0;
	memcpy(&v, data, MIN(len, 8u));
	if (off >= NOTIFY_OFF && off < NOTIFY_OFF + NOTIFY_MULT * VIRTIO_MAX_QUEUES) {
		/* Reached only when the ioeventfd is missing: forward to the I/O thread. */
		virtio_pci_kick(vp, (unsigned int)((off - NOTIFY_OFF) / NOTIFY_MULT));
		return;
	}
	pthread_mutex_lock(&vp->lock);
	if (off < COMMON_OFF + COMMON_LEN)
		common_write(vp, off, v, len);
	else if (off >= DEVICE_OFF && off < DEVICE_OFF + DEVICE_LEN) {
		uint32_t doff = (uint32_t)(off - DEVICE_OFF);
		if (vp->ops->config_write && doff < vp->ops->config_size &&
		    len <= vp->ops->config_size - doff)
			vp->ops->config_write(vp->dev, doff, data, len);
	} else if (off >= MSIX_TABLE_OFF && off < BAR_SIZE)
		msix_table_write(vp, off, data, len);
	pthread_mutex_unlock(&vp->lock);
}

/* ---- construction ---- */

static void add_virtio_cap(struct pci_device *pci, uint8_t type, uint32_t off, uint32_t len, bool notify)
{
	uint8_t cap[20] = { PCI_CAP_ID_VNDR, 0, notify ? 20 : 16, type, 0 /* bar */ };
	memcpy(cap + 8, &off, 4);
	memcpy(cap + 12, &len, 4);
	if (notify) {
		uint32_t mult = NOTIFY_MULT;
		memcpy(cap + 16, &mult, 4);
	}
	pci_device_add_capability(pci, cap, cap[2]);
}

static bool setup_vectors(struct virtio_pci_dev *vp, GError **error)
{
	vp->nr_vectors = vp->ops->num_queues + 1;
	for (unsigned int v = 0; v < vp->nr_vectors; v++) {
		struct msix_vector *m = &vp->vector[v];
		m->ctrl = 1; /* masked until the guest programs it */
		m->gsi = vm_host_alloc_gsi(vp->host);
		m->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		int r = m->irqfd < 0 ? -errno : vm_host_irqfd(vp->host, m->irqfd, m->gsi, true);
		if (r < 0) {
			errno = -r;
			g_set_error(error, SEPIA_ERROR, errno, "%s: MSI-X vector %u: irqfd for GSI %u: %s",
				    vp->name, v, m->gsi, g_strerror(errno));
			return false;
		}
	}
	return true;
}

/* The queue layer found the guest's ring broken: the device needs a reset. */
static void queue_broken(void *opaque, const char *why) { virtio_pci_set_needs_reset(opaque, why); }

static bool setup_queues(struct virtio_pci_dev *vp, GError **error)
{
	for (unsigned int q = 0; q < vp->ops->num_queues; q++) {
		struct vp_queue *vq = &vp->queue[q];
		g_autofree char *qname = g_strdup_printf("%s queue %u", vp->name, q);
		virtq_set_broken_handler(&vq->vq, qname, queue_broken, vp);
		vq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vq->kick_fd < 0) {
			g_set_error(error, SEPIA_ERROR, errno, "%s: queue %u: eventfd: %s", vp->name, q,
				    g_strerror(errno));
			return false;
		}
		if (ioeventfd_set(vp, q, bar_base(vp), true) < 0)
			g_message("%s: queue %u: no ioeventfd (%s); kicks go through MMIO exits", vp->name, q,
				  g_strerror(errno));
		struct kick_ctx *k = g_new(struct kick_ctx, 1);
		*k = (struct kick_ctx){ vp, q };
		GSource *src = g_unix_fd_source_new(vq->kick_fd, G_IO_IN);
		g_source_set_callback(src, G_SOURCE_FUNC(virtio_pci_kicked), k, g_free);
		vq->source = g_source_attach(src, vp->ctx);
		g_source_unref(src);
	}
	return true;
}

/* ---- snapshots ---- */

static bool virtio_pci_save(void *opaque, struct snap_writer *w, GError **error)
{
	struct virtio_pci_dev *vp = opaque;
	if (!vp->ops->save || !vp->ops->load) {
		g_set_error(error, SEPIA_ERROR, ENOTSUP,
			    "%s cannot be saved in a snapshot (the device has no snapshot hook); remove it "
			    "from the VM to take snapshots",
			    vp->name);
		return false;
	}
	pthread_mutex_lock(&vp->lock);
	snap_put_u64(w, vp->device_features);
	snap_put_u64(w, vp->driver_features);
	snap_put_u32(w, vp->dfselect);
	snap_put_u32(w, vp->gfselect);
	snap_put_u16(w, vp->msix_config);
	snap_put_u16(w, vp->queue_select);
	snap_put_u8(w, vp->status);
	snap_put_u8(w, vp->config_generation);
	snap_put_u8(w, vp->isr);
	snap_put_u32(w, vp->nr_vectors);
	for (unsigned int v = 0; v < vp->nr_vectors; v++) {
		const struct msix_vector *m = &vp->vector[v];
		snap_put_u32(w, m->addr_lo);
		snap_put_u32(w, m->addr_hi);
		snap_put_u32(w, m->data);
		snap_put_u32(w, m->ctrl);
		snap_put_u8(w, m->pending);
	}
	snap_put_u32(w, vp->ops->num_queues);
	for (unsigned int q = 0; q < vp->ops->num_queues; q++) {
		const struct vp_queue *vq = &vp->queue[q];
		snap_put_u16(w, vq->vq.size);
		snap_put_u16(w, vq->msix_vector);
		snap_put_u8(w, vq->enabled);
		snap_put_u8(w, vq->vq.ready);
		snap_put_u64(w, vq->vq.desc_gpa);
		snap_put_u64(w, vq->vq.avail_gpa);
		snap_put_u64(w, vq->vq.used_gpa);
		snap_put_u16(w, vq->vq.last_avail);
		snap_put_u16(w, vq->vq.used_idx);
		snap_put_u16(w, vq->vq.signalled_used);
		snap_put_u8(w, vq->vq.signalled_valid);
		snap_put_u8(w, vq->vq.broken);
	}
	bool ok = vp->ops->save(vp->dev, w, error);
	pthread_mutex_unlock(&vp->lock);
	return ok;
}

static bool virtio_pci_load_queue(struct virtio_pci_dev *vp, unsigned int q, struct snap_reader *r,
				  GError **error)
{
	struct vp_queue *vq = &vp->queue[q];
	uint16_t size = snap_get_u16(r);
	vq->msix_vector = snap_get_u16(r);
	bool enabled = snap_get_u8(r), ready = snap_get_u8(r);
	vq->vq.desc_gpa = snap_get_u64(r);
	vq->vq.avail_gpa = snap_get_u64(r);
	vq->vq.used_gpa = snap_get_u64(r);
	uint16_t last_avail = snap_get_u16(r), used_idx = snap_get_u16(r);
	uint16_t signalled_used = snap_get_u16(r);
	bool signalled_valid = snap_get_u8(r), broken = snap_get_u8(r);
	if (r->failed || !size || size > vp->ops->queue_max_size || (size & (size - 1))) {
		snap_reader_fail(r);
		return snap_reader_done(r, error);
	}
	vq->vq.size = size;
	vq->enabled = enabled;
	if (!ready)
		return true;
	vq->vq.event_idx = vp->driver_features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vq->vq.indirect = vp->driver_features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	if (!virtq_activate(&vq->vq, &vp->host->mem)) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "snapshot: %s queue %u: its rings lie outside guest RAM", vp->name, q);
		return false;
	}
	vq->vq.last_avail = last_avail;
	vq->vq.used_idx = used_idx;
	vq->vq.signalled_used = signalled_used;
	vq->vq.signalled_valid = signalled_valid;
	vq->vq.broken = broken;
	return true;
}

static bool virtio_pci_load(void *opaque, struct snap_reader *r, GError **error)
{
	struct virtio_pci_dev *vp = opaque;
	if (snap_get_u64(r) != vp->device_features) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "snapshot: %s offered other features when it was taken", vp->name);
		return false;
	}
	pthread_mutex_lock(&vp->lock);
	vp->driver_features = snap_get_u64(r) & vp->device_features;
	vp->dfselect = snap_get_u32(r);
	vp->gfselect = snap_get_u32(r);
	vp->msix_config = snap_get_u16(r);
	vp->queue_select = snap_get_u16(r);
	vp->status = snap_get_u8(r);
	vp->config_generation = snap_get_u8(r);
	vp->isr = snap_get_u8(r);
	bool ok = snap_get_u32(r) == vp->nr_vectors;
	for (unsigned int v = 0; ok && v < vp->nr_vectors; v++) {
		struct msix_vector *m = &vp->vector[v];
		m->addr_lo = snap_get_u32(r);
		m->addr_hi = snap_get_u32(r);
		m->data = snap_get_u32(r);
		m->ctrl = snap_get_u32(r);
		m->pending = snap_get_u8(r);
	}
	ok = ok && snap_get_u32(r) == vp->ops->num_queues;
	if (!ok)
		snap_reader_fail(r);
	for (unsigned int q = 0; ok && q < vp->ops->num_queues; q++)
		ok = virtio_pci_load_queue(vp, q, r, error);
	if (ok && r->failed)
		ok = snap_reader_done(r, error);
	if (ok) {
		/* The routes of a new VM: program each vector as the guest left it. */
		for (unsigned int v = 0; v < vp->nr_vectors; v++)
			msix_update(vp, v);
		/* What the device derives from the features at DRIVER_OK, it derives again. */
		if ((vp->status & VIRTIO_CONFIG_S_DRIVER_OK) && vp->ops->activate)
			vp->ops->activate(vp->dev, vp->driver_features);
		if (!vp->ops->load) {
			g_set_error(error, SEPIA_ERROR, ENOTSUP, "snapshot: %s has no snapshot hook",
				    vp->name);
			ok = false;
		} else {
			ok = vp->ops->load(vp->dev, r, error) && snap_reader_done(r, error);
		}
	}
	pthread_mutex_unlock(&vp->lock);
	return ok;
}

struct virtio_pci_dev *virtio_pci_create(struct vm_host *host, const char *name,
					 const struct virtio_device_ops *ops, uint64_t features, void *dev,
					 GError **error)
{
	return virtio_pci_create_on(host, host->io_ctx, name, ops, features, dev, error);
}

struct virtio_pci_dev *virtio_pci_create_on(struct vm_host *host, GMainContext *ctx, const char *name,
					    const struct virtio_device_ops *ops, uint64_t features, void *dev,
					    GError **error)
{
	g_assert(ops->num_queues <= VIRTIO_MAX_QUEUES);
	struct virtio_pci_dev *vp = g_new0(struct virtio_pci_dev, 1);
	vp->host = host;
	vp->ctx = ctx;
	vp->name = name;
	vp->ops = ops;
	vp->dev = dev;
	vp->device_features = features | (1ULL << VIRTIO_F_VERSION_1) |
			      (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX);
	pthread_mutex_init(&vp->lock, NULL);

	/* Modern-only device IDs are 0x1040 + type; revision 1 says "no legacy". */
	vp->pci = pci_device_add(host->pci, name, 0x1af4, 0x1040 + ops->device_id, ops->pci_class, 0x1af4,
				 0x1040 + ops->device_id, 1, error);
	if (!vp->pci)
		goto fail;
	vp->pci->opaque = vp;
	vp->pci->config_written = virtio_pci_config_written;
	vp->pci->bar_moved = virtio_pci_bar_moved;
	if (!pci_device_add_bar64(vp->pci, 0, BAR_SIZE, bar_read, bar_write, vp, error))
		goto fail;
	add_virtio_cap(vp->pci, VIRTIO_PCI_CAP_COMMON, COMMON_OFF, COMMON_LEN, false);
	add_virtio_cap(vp->pci, VIRTIO_PCI_CAP_NOTIFY, NOTIFY_OFF, NOTIFY_MULT * ops->num_queues, true);
	add_virtio_cap(vp->pci, VIRTIO_PCI_CAP_ISR, ISR_OFF, 1, false);
	add_virtio_cap(vp->pci, VIRTIO_PCI_CAP_DEVICE, DEVICE_OFF, MAX(ops->config_size, 4u), false);
	uint16_t table_size = (uint16_t)(ops->num_queues + 1 - 1);
	uint32_t table = MSIX_TABLE_OFF, pba = MSIX_PBA_OFF; /* BIR 0 */
	uint8_t msix[12] = { PCI_CAP_ID_MSIX, 0 };
	memcpy(msix + 2, &table_size, 2);
	memcpy(msix + 4, &table, 4);
	memcpy(msix + 8, &pba, 4);
	vp->msix_cap = pci_device_add_capability(vp->pci, msix, sizeof(msix));
	vp->pci->wmask[vp->msix_cap + 3] = (MSIX_ENABLE | MSIX_FUNC_MASK) >> 8;

	if (!setup_vectors(vp, error) || !setup_queues(vp, error))
		goto fail;
	virtio_pci_reset(vp);
	vm_host_add_state(host, name, virtio_pci_save, virtio_pci_load, vp);
	return vp;
fail:
	virtio_pci_destroy(vp);
	return NULL;
}

void virtio_pci_destroy(struct virtio_pci_dev *vp)
{
	if (!vp)
		return;
	for (unsigned int q = 0; q < vp->ops->num_queues; q++) {
		GSource *src = vp->queue[q].source
				       ? g_main_context_find_source_by_id(vp->ctx, vp->queue[q].source)
				       : NULL;
		if (src)
			g_source_destroy(src);
		if (vp->queue[q].kick_fd > 0)
			close(vp->queue[q].kick_fd);
	}
	for (unsigned int v = 0; v < vp->nr_vectors; v++)
		if (vp->vector[v].irqfd > 0)
			close(vp->vector[v].irqfd);
	g_free(vp);
}
