/* virtio-vsock (virtio spec 5.10) in user space: stream sockets only (VIRTIO_VSOCK_F_STREAM).
 * Queue 0 (rx) carries packets to the guest, 1 (tx) the guest's packets, 2 (event) carries
 * one TRANSPORT_RESET after a restore from a snapshot: the host side's connections did not
 * survive, so the guest drops its own and reads its CID again. This file is
 * the virtqueue plumbing; the host protocol and the routing of packets live in
 * virtio/vsock_muxer.c, each stream's state, credit and buffering rules in
 * virtio/vsock_connection.c. */
#include "devices/virtio/vsock.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "devices/snapshot.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/vsock_muxer.h"

#define VIRTIO_VSOCK_F_STREAM 0

#define RX_QUEUE    0
#define TX_QUEUE    1
#define EVENT_QUEUE 2
#define QUEUE_SIZE  256
#define HDR_SIZE    sizeof(struct virtio_vsock_hdr)
/* The event queue's one event (virtio spec 5.10.6.7: struct virtio_vsock_event). */
#define EVENT_TRANSPORT_RESET 0

struct virtio_vsock {
	struct virtio_pci_dev *vp;
	struct vsock_muxer *mux;
	uint64_t cid;
	uint8_t payload[VSOCK_MAX_PAYLOAD]; /* one packet's data, either way */
	struct virtq_chain chain;
	uint64_t packets_in, packets_out;
	bool warned_header_only;
	bool reset_owed; /* restored: a TRANSPORT_RESET event waits for an event buffer */
};

static void vsock_config_read(void *dev, uint32_t off, void *data, unsigned int len)
{
	struct virtio_vsock *v = dev;
	uint8_t config[8];
	memcpy(config, &v->cid, 8);
	memcpy(data, config + off, len);
}

static void vsock_rx_kick(void *opaque)
{
	struct virtio_vsock *v = opaque;
	virtio_pci_kick(v->vp, RX_QUEUE);
}

/* Fills the guest's rx buffers with what the connections owe it. */
static void vsock_receive(struct virtio_vsock *v, struct virtq *q)
{
	bool was_stalled = vsock_muxer_tx_stalled(v->mux);
	while (vsock_muxer_rx_ready(v->mux)) {
		int r = virtq_take(q, &v->chain);
		if (r == 0)
			break; /* no buffers: the guest kicks rx when it posts some */
		struct virtq_cursor in;
		virtq_writer(&v->chain, &in);
		if (r < 0 || virtq_cursor_left(&in) < HDR_SIZE) {
			if (r > 0)
				g_warning("virtio-vsock: rx buffer %u refused: shorter than a header",
					  v->chain.head);
			virtq_push(q, v->chain.head, 0);
			continue;
		}
		struct virtio_vsock_hdr hdr;
		size_t cap = MIN(virtq_cursor_left(&in) - HDR_SIZE, sizeof(v->payload));
		if (!vsock_muxer_to_guest(v->mux, &hdr, v->payload, cap)) {
			if (!cap && vsock_muxer_rx_ready(v->mux)) {
				/* Data is owed and this buffer holds a header only: give it back
				 * empty (the driver drops it) so that the next one can carry it. */
				if (!v->warned_header_only)
					g_warning(
						"virtio-vsock: rx buffer %u holds only a header; given back "
						"unused (warned once)",
						v->chain.head);
				v->warned_header_only = true;
				virtq_push(q, v->chain.head, 0);
				continue;
			}
			virtq_unpop(q, 1); /* nothing after all: the buffer stays the guest's */
			break;
		}
		virtq_write_obj(&in, &hdr, HDR_SIZE);
		virtq_write(&in, v->payload, hdr.len);
		virtq_push(q, v->chain.head, (uint32_t)virtq_cursor_done(&in));
		v->packets_out++;
	}
	virtio_pci_queue_interrupt(v->vp, RX_QUEUE);
	if (was_stalled && !vsock_muxer_tx_stalled(v->mux))
		virtio_pci_kick(v->vp, TX_QUEUE);
}

static void vsock_transmit(struct virtio_vsock *v, struct virtq *q)
{
	int r;
	while (!vsock_muxer_tx_stalled(v->mux) && (r = virtq_take(q, &v->chain)) != 0) {
		struct virtq_cursor out;
		virtq_reader(&v->chain, &out);
		struct virtio_vsock_hdr hdr;
		if (r < 0) {
			/* refused and logged by the queue layer */
		} else if (!virtq_read_obj(&out, &hdr, HDR_SIZE)) {
			g_warning("virtio-vsock: tx packet %u dropped: shorter than a header", v->chain.head);
		} else {
			size_t avail = virtq_read(&out, v->payload, MIN((size_t)hdr.len, sizeof(v->payload)));
			vsock_muxer_from_guest(v->mux, &hdr, v->payload, avail);
			v->packets_in++;
		}
		virtq_push(q, v->chain.head, 0);
	}
	virtio_pci_queue_interrupt(v->vp, TX_QUEUE);
}

/* Sends the TRANSPORT_RESET a restore owes, once the guest has an event buffer posted. */
static void vsock_send_reset(struct virtio_vsock *v, struct virtq *q)
{
	if (!v->reset_owed || virtq_take(q, &v->chain) == 0)
		return;
	struct virtq_cursor in;
	virtq_writer(&v->chain, &in);
	uint32_t id = GUINT32_TO_LE(EVENT_TRANSPORT_RESET);
	size_t n = virtq_write(&in, &id, sizeof(id));
	virtq_push(q, v->chain.head, (uint32_t)n);
	virtio_pci_queue_interrupt(v->vp, EVENT_QUEUE);
	v->reset_owed = false;
	g_message("virtio-vsock: restored: TRANSPORT_RESET sent, the guest's connections end");
}

static void vsock_queue_notify(void *dev, unsigned int qi)
{
	struct virtio_vsock *v = dev;
	if (qi == EVENT_QUEUE) {
		struct virtq *eq = virtio_pci_queue(v->vp, EVENT_QUEUE);
		if (eq)
			vsock_send_reset(v, eq);
		return;
	}
	struct virtq *q = virtio_pci_queue(v->vp, qi);
	struct virtq *rxq = virtio_pci_queue(v->vp, RX_QUEUE);
	if (!q)
		return;
	vsock_muxer_lock(v->mux);
	/* Drain with notifications off, re-arm and look again (see console.c). */
	do {
		virtq_set_notification(q, false);
		if (qi == TX_QUEUE)
			vsock_transmit(v, q);
		else
			vsock_receive(v, q);
	} while (virtq_set_notification(q, true) &&
		 (qi == TX_QUEUE ? !vsock_muxer_tx_stalled(v->mux) : vsock_muxer_rx_ready(v->mux)));
	/* What the guest sent may have made replies (RESPONSE, RST, credit): deliver now
	 * rather than after another trip through the kick eventfd. */
	if (qi == TX_QUEUE && rxq && vsock_muxer_rx_ready(v->mux))
		vsock_receive(v, rxq);
	vsock_muxer_unlock(v->mux);
}

static void vsock_reset(void *dev)
{
	struct virtio_vsock *v = dev;
	vsock_muxer_lock(v->mux);
	vsock_muxer_reset(v->mux);
	vsock_muxer_unlock(v->mux);
}

/* Connections are host sockets of this process: they cannot go with a snapshot. The CID
 * must be the same; a restored guest is told its transport was reset. */
static bool vsock_save(void *dev, struct snap_writer *w, GError **error)
{
	struct virtio_vsock *v = dev;
	snap_put_u64(w, v->cid);
	return true;
}

static bool vsock_load(void *dev, struct snap_reader *r, GError **error)
{
	struct virtio_vsock *v = dev;
	uint64_t cid = snap_get_u64(r);
	if (!r->failed && cid != v->cid) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "snapshot: virtio-vsock had guest CID %" G_GUINT64_FORMAT
			    ", this VM gives %" G_GUINT64_FORMAT,
			    cid, v->cid);
		return false;
	}
	v->reset_owed = true;
	virtio_pci_kick(v->vp, EVENT_QUEUE);
	return true;
}

static const struct virtio_device_ops vsock_ops = {
	.device_id = VIRTIO_ID_VSOCK,
	.pci_class = 0x078000, /* communication, other */
	.num_queues = 3,
	.queue_max_size = QUEUE_SIZE,
	.config_size = 8,
	.config_read = vsock_config_read,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
	.save = vsock_save,
	.load = vsock_load,
};

struct virtio_vsock *virtio_vsock_create(struct vm_host *host, uint64_t cid, const char *path, GError **error)
{
	struct virtio_vsock *v = g_new0(struct virtio_vsock, 1);
	v->cid = cid;
	v->mux = vsock_muxer_new("virtio-vsock", cid, path, host->io_ctx, vsock_rx_kick, v, error);
	if (!v->mux)
		goto fail;
	v->vp = virtio_pci_create(host, "virtio-vsock", &vsock_ops, 1ULL << VIRTIO_VSOCK_F_STREAM, v, error);
	if (!v->vp)
		goto fail;
	g_message("virtio-vsock: guest CID %" G_GUINT64_FORMAT ", host side %s", cid, path);
	return v;
fail:
	virtio_vsock_destroy(v);
	return NULL;
}

void virtio_vsock_destroy(struct virtio_vsock *v)
{
	if (!v)
		return;
	virtio_pci_destroy(v->vp);
	vsock_muxer_free(v->mux);
	g_free(v);
}
