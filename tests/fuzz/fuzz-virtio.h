/* What the virtio device targets share: a guest whose RAM, descriptor table and available
 * ring all come from the fuzzer's input, one split virtqueue over them, and the virtio-pci
 * transport stubbed out, so a device's own queue handler (included by the target as its .c
 * file) runs on hostile chains exactly as it does under a guest.
 *
 * Input layout: byte 0: how many chains the guest offers (0-31); byte 1: bit 0 event_idx,
 * bit 1 indirect descriptors; then the 16-entry descriptor table (256 bytes) and the 16
 * available-ring heads (32 bytes); the rest is RAM from 0x1000 on, zero beyond the input.
 * Descriptors may point anywhere, RAM or not: the queue layer must refuse what is not RAM. */
#pragma once

#include <stdint.h>
#include <string.h>

#include "devices/guestmem.h"
#include "devices/virtio/queue.h"
#include "devices/virtio/virtio.h"

#define FUZZ_RAM     (64u * 1024)
#define FUZZ_QSIZE   16u
#define FUZZ_DESC    0x0
#define FUZZ_AVAIL   0x200
#define FUZZ_USED    0x300
#define FUZZ_BUFFERS 0x1000
#define FUZZ_HEADER  (2 + 16 * FUZZ_QSIZE + 2 * FUZZ_QSIZE)

struct fuzz_guest {
	uint8_t ram[FUZZ_RAM];
	struct guest_mem mem;
	struct virtq q;
	unsigned int needs_reset;
};

static struct fuzz_guest fuzz_guest;

/* ---- the transport, stubbed: one queue, no interrupts ---- */
struct virtq *virtio_pci_queue(struct virtio_pci_dev *vp, unsigned int q)
{
	(void)vp;
	(void)q;
	return fuzz_guest.q.ready ? &fuzz_guest.q : NULL;
}
void virtio_pci_queue_interrupt(struct virtio_pci_dev *vp, unsigned int q)
{
	(void)vp;
	(void)q;
}
void virtio_pci_set_needs_reset(struct virtio_pci_dev *vp, const char *why)
{
	(void)vp;
	(void)why;
	fuzz_guest.needs_reset++;
}
void virtio_pci_kick(struct virtio_pci_dev *vp, unsigned int q)
{
	(void)vp;
	(void)q;
}
struct virtio_pci_dev *virtio_pci_create(struct vm_host *host, const char *name,
					 const struct virtio_device_ops *ops, uint64_t features, void *dev,
					 GError **error)
{
	(void)host, (void)name, (void)ops, (void)features, (void)dev, (void)error;
	return NULL;
}
struct virtio_pci_dev *virtio_pci_create_on(struct vm_host *host, GMainContext *ctx, const char *name,
					    const struct virtio_device_ops *ops, uint64_t features, void *dev,
					    GError **error)
{
	(void)host, (void)ctx, (void)name, (void)ops, (void)features, (void)dev, (void)error;
	return NULL;
}
void virtio_pci_destroy(struct virtio_pci_dev *vp) { (void)vp; }

static void fuzz_queue_broken(void *opaque, const char *why) { virtio_pci_set_needs_reset(opaque, why); }

/* Lays the input out as the guest's RAM and rings; false when it is too short. After it,
 * the queue is ready and data/size describe the input's tail after the RAM it used (for
 * targets that need more, such as host-side input). */
static bool fuzz_guest_setup(const uint8_t **data, size_t *size)
{
	struct fuzz_guest *g = &fuzz_guest;
	if (*size < FUZZ_HEADER)
		return false;
	const uint8_t *in = *data;
	memset(g->ram, 0, sizeof(g->ram));
	memcpy(g->ram + FUZZ_DESC, in + 2, 16 * FUZZ_QSIZE);
	uint16_t offered = in[0] % 32;
	memcpy(g->ram + FUZZ_AVAIL + 4, in + 2 + 16 * FUZZ_QSIZE, 2 * FUZZ_QSIZE);
	memcpy(g->ram + FUZZ_AVAIL + 2, &offered, 2);
	size_t rest = *size - FUZZ_HEADER;
	size_t ram_bytes = rest < FUZZ_RAM - FUZZ_BUFFERS ? rest : FUZZ_RAM - FUZZ_BUFFERS;
	memcpy(g->ram + FUZZ_BUFFERS, in + FUZZ_HEADER, ram_bytes);
	g->mem = (struct guest_mem){ .region = { { 0, FUZZ_RAM, g->ram } }, .nr_regions = 1 };
	memset(&g->q, 0, sizeof(g->q));
	virtq_set_broken_handler(&g->q, "fuzz queue", fuzz_queue_broken, NULL);
	g->q.size = FUZZ_QSIZE;
	g->q.desc_gpa = FUZZ_DESC;
	g->q.avail_gpa = FUZZ_AVAIL;
	g->q.used_gpa = FUZZ_USED;
	g->q.event_idx = in[1] & 1;
	g->q.indirect = in[1] & 2;
	g->needs_reset = 0;
	if (!virtq_activate(&g->q, &g->mem))
		abort(); /* the fixed layout is valid */
	*data = in + FUZZ_HEADER + ram_bytes;
	*size = rest - ram_bytes;
	return true;
}

/* Every chain the device took was completed (at most slack still held, for a device that
 * keeps buffers for input to come), and, unless the ring was found broken, it took every
 * chain the guest offered. The device's own counts are checked, not the rings in RAM: a
 * guest may hand the device its own rings as buffers, and the device then writes over them. */
static void fuzz_guest_check_completed(unsigned int slack)
{
	struct fuzz_guest *g = &fuzz_guest;
	/* A broken ring's last entry was taken and cannot be completed. */
	if ((uint16_t)(g->q.last_avail - g->q.used_idx) > slack + (g->q.broken ? 1 : 0))
		abort();
	uint16_t avail;
	memcpy(&avail, g->ram + FUZZ_AVAIL + 2, 2);
	if (!g->q.broken && avail != g->q.last_avail)
		abort();
}
