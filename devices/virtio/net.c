/* virtio-net (virtio spec 5.1) on a host TAP interface: one receive and one transmit
 * queue. The TAP is opened with IFF_VNET_HDR and a 12-byte header, the virtio 1.x
 * header itself, so the host kernel honours the guest's checksum and segmentation
 * requests on transmit and fills the header on receive: offloads cost the VMM nothing.
 * Receive reads the TAP only while the guest has buffers posted; otherwise frames wait
 * in the TAP's own queue (bounded by the host kernel), never in the VMM. */
#include "common/error.h"
#include "devices/virtio/net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/snapshot.h"
#include "devices/virtio/virtio.h"

#define RX_QUEUE    0
#define TX_QUEUE    1
#define QUEUE_SIZE  256
#define HDR_LEN     sizeof(struct virtio_net_hdr_mrg_rxbuf) /* the virtio 1.x header */
#define ETH_HDR_LEN 14
#define FRAME_MAX   (HDR_LEN + 65550) /* a 64 KiB GSO frame and its Ethernet header */
#define RX_BUDGET   128               /* frames per run before other I/O-thread work gets a turn */

struct virtio_net {
	char *name;
	struct virtio_pci_dev *vp;
	char ifname[IFNAMSIZ];
	int tap_fd;
	GSource *tap_source; /* the TAP's readability, watched only while rx waits for it */
	gpointer tap_tag;
	struct virtio_net_config config;
	bool mrg_rxbuf;
	/* One received frame not yet copied to the guest: the VMM's only rx buffering. */
	uint8_t *frame;
	size_t frame_len;
	uint16_t heads[QUEUE_SIZE]; /* the buffers one frame fills (mergeable rx) */
	uint32_t lens[QUEUE_SIZE];
	struct virtq_chain first;            /* the rx buffer that carries the header */
	struct virtq_chain chain;            /* tx requests, and rx buffers after the first */
	struct iovec tx_iov[VIRTQ_MAX_SEGS]; /* one tx request's header and frame, for writev */
	uint64_t rx_frames, tx_frames, rx_dropped, tx_errors;
};

static void net_config_read(void *dev, uint32_t off, void *data, unsigned int len)
{
	struct virtio_net *n = dev;
	memcpy(data, (const uint8_t *)&n->config + off, len);
}

static void net_watch_tap(struct virtio_net *n, bool on)
{
	g_source_modify_unix_fd(n->tap_source, n->tap_tag, on ? G_IO_IN : 0);
}

/* ---- transmit ---- */

static void net_tx_error(struct virtio_net *n, const char *why)
{
	if (n->tx_errors++ == 0)
		g_warning("%s: frame not sent to %s: %s (further errors are only counted)", n->name,
			  n->ifname, why);
}

/* The chain is the header and the frame, in guest RAM: one writev hands both to the TAP. */
static void net_transmit(struct virtio_net *n, struct virtq *q)
{
	int r;
	while ((r = virtq_take(q, &n->chain)) != 0) {
		struct virtq_cursor out;
		virtq_reader(&n->chain, &out);
		int cnt = r > 0 ? virtq_cursor_iov(&out, n->tx_iov, VIRTQ_MAX_SEGS) : -1;
		if (r < 0)
			net_tx_error(n, "descriptor chain breaks the virtio rules");
		else if (n->chain.nr_in || virtq_cursor_left(&out) < HDR_LEN + ETH_HDR_LEN || cnt < 0)
			net_tx_error(n, "request is not a header and an Ethernet frame");
		else if (writev(n->tap_fd, n->tx_iov, cnt) < 0)
			net_tx_error(n, g_strerror(errno));
		else
			n->tx_frames++;
		virtq_push(q, n->chain.head, 0);
	}
	virtio_pci_queue_interrupt(n->vp, TX_QUEUE);
}

/* ---- receive ---- */

/* Copies the pending frame into the guest's receive buffers: one chain, or with
 * VIRTIO_NET_F_MRG_RXBUF as many as it takes. 1: the frame is gone (delivered or
 * dropped); 0: the guest has not posted enough buffers yet (or broke its ring), none is
 * taken. */
static int net_deliver(struct virtio_net *n, struct virtq *q)
{
	uint16_t used = 0;
	size_t off = 0;
	while (off < n->frame_len) {
		struct virtq_chain *c = used == 0 ? &n->first : &n->chain;
		if (used == q->size) {
			/* The guest posted more than its ring holds: it lies; drop the frame. */
			virtq_unpop(q, used);
			n->rx_dropped++;
			n->frame_len = 0;
			return 1;
		}
		int r = virtq_take(q, c);
		if (r == 0) {
			virtq_unpop(q, used);
			return 0;
		}
		if (r < 0 || c->in_len < (used == 0 ? HDR_LEN : 1)) {
			/* A broken buffer: return what was taken unfilled and drop the frame. */
			g_warning("%s: receive buffer %u refused: not a writable chain of at least %d bytes",
				  n->name, c->head, used == 0 ? (int)HDR_LEN : 1);
			n->heads[used] = c->head;
			n->lens[used++] = 0;
			for (uint16_t i = 0; i < used; i++)
				n->lens[i] = 0;
			virtq_push_many(q, n->heads, n->lens, used);
			n->rx_dropped++;
			n->frame_len = 0;
			return 1;
		}
		struct virtq_cursor in;
		virtq_writer(c, &in);
		size_t copied = virtq_write(&in, n->frame + off, n->frame_len - off);
		n->heads[used] = c->head;
		n->lens[used++] = (uint32_t)copied;
		off += copied;
		if (off < n->frame_len && !n->mrg_rxbuf) {
			/* Without mergeable buffers a frame takes one buffer; it is too small. */
			virtq_unpop(q, used);
			n->rx_dropped++;
			n->frame_len = 0;
			return 1;
		}
	}
	struct virtq_cursor hdr;
	virtq_writer(&n->first, &hdr);
	virtq_skip(&hdr, offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers));
	virtq_write_obj(&hdr, &used, sizeof(used));
	virtq_push_many(q, n->heads, n->lens, used);
	n->frame_len = 0;
	n->rx_frames++;
	return 1;
}

/* The guest has no (or too few) buffers: returns true when some arrived meanwhile,
 * otherwise leaves its notifications on so that posting buffers kicks the queue. */
static bool net_buffers_arrived(struct virtq *q)
{
	if (!virtq_set_notification(q, true))
		return false;
	virtq_set_notification(q, false);
	return true;
}

static void net_receive(struct virtio_net *n, struct virtq *q)
{
	unsigned int frames = 0;
	virtq_set_notification(q, false);
	for (;;) {
		if (frames == RX_BUDGET) {
			/* Let transmit and other devices have the I/O thread; come back at once. */
			virtio_pci_kick(n->vp, RX_QUEUE);
			break;
		}
		if (n->frame_len == 0) {
			if (virtq_empty(q)) {
				if (net_buffers_arrived(q))
					continue;
				break;
			}
			ssize_t r = read(n->tap_fd, n->frame, FRAME_MAX);
			if (r < 0) {
				if (errno == EAGAIN || errno == EINTR)
					net_watch_tap(n, true); /* wake when the TAP has a frame */
				else
					g_warning("%s: read from %s: %s; receiving stops", n->name, n->ifname,
						  g_strerror(errno));
				break;
			}
			if ((size_t)r < HDR_LEN + ETH_HDR_LEN)
				continue;
			n->frame_len = (size_t)r;
		}
		if (net_deliver(n, q) == 0) {
			if (net_buffers_arrived(q))
				continue;
			break;
		}
		frames++;
	}
	virtio_pci_queue_interrupt(n->vp, RX_QUEUE);
}

/* The TAP has a frame: hand over to the receive queue's run, which holds the device
 * lock, and stay quiet until that run has drained the TAP and re-armed the watch. */
static gboolean net_tap_readable(gpointer data)
{
	struct virtio_net *n = data;
	net_watch_tap(n, false);
	virtio_pci_kick(n->vp, RX_QUEUE);
	return G_SOURCE_CONTINUE;
}

static gboolean tap_source_dispatch(GSource *src, GSourceFunc callback, gpointer data)
{
	return callback(data);
}

static GSourceFuncs tap_source_funcs = { .dispatch = tap_source_dispatch };

static void net_queue_notify(void *dev, unsigned int qi)
{
	struct virtio_net *n = dev;
	struct virtq *q = virtio_pci_queue(n->vp, qi);
	if (!q)
		return;
	if (qi == RX_QUEUE) {
		net_receive(n, q);
		return;
	}
	do {
		virtq_set_notification(q, false);
		net_transmit(n, q);
	} while (virtq_set_notification(q, true));
}

/* What the TAP may hand us is what the guest said it can take. */
static unsigned int net_tap_offloads(uint64_t features)
{
	unsigned int off = 0;
	if (!(features & (1ULL << VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	off |= TUN_F_CSUM;
	if (features & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
		off |= TUN_F_TSO4;
	if (features & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
		off |= TUN_F_TSO6;
	if ((off & (TUN_F_TSO4 | TUN_F_TSO6)) && (features & (1ULL << VIRTIO_NET_F_GUEST_ECN)))
		off |= TUN_F_TSO_ECN;
	return off;
}

static void net_activate(void *dev, uint64_t features)
{
	struct virtio_net *n = dev;
	n->mrg_rxbuf = features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	unsigned int offloads = net_tap_offloads(features);
	if (ioctl(n->tap_fd, TUNSETOFFLOAD, offloads) < 0)
		g_warning("%s: TAP %s: TUNSETOFFLOAD 0x%x: %s", n->name, n->ifname, offloads,
			  g_strerror(errno));
	g_message("%s: driver ready, features 0x%" G_GINT64_MODIFIER "x, TAP offloads 0x%x%s", n->name,
		  features, offloads, n->mrg_rxbuf ? ", mergeable rx buffers" : "");
	virtio_pci_kick(n->vp, RX_QUEUE);
}

static void net_reset(void *dev)
{
	struct virtio_net *n = dev;
	n->mrg_rxbuf = false;
	n->frame_len = 0;
	if (ioctl(n->tap_fd, TUNSETOFFLOAD, 0) < 0)
		g_warning("%s: TAP %s: TUNSETOFFLOAD 0: %s", n->name, n->ifname, g_strerror(errno));
}

/* The TAP is the one named on the command line, opened again by the new sepia-vmm (the
 * transport's restore calls net_activate, which sets its offloads and starts rx). A frame
 * read from the TAP and not yet given to the guest is dropped, as a wire may drop it. */
static bool net_save(void *dev, struct snap_writer *w, GError **error)
{
	struct virtio_net *n = dev;
	snap_put_blob(w, n->config.mac, sizeof(n->config.mac));
	return true;
}

static bool net_load(void *dev, struct snap_reader *r, GError **error)
{
	struct virtio_net *n = dev;
	uint8_t mac[sizeof(n->config.mac)];
	if (snap_get_blob(r, mac, sizeof(mac)) && memcmp(mac, n->config.mac, sizeof(mac))) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "snapshot: %s had MAC %02x:%02x:%02x:%02x:%02x:%02x; give it the same --net mac=",
			    n->name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		return false;
	}
	return true;
}

static const struct virtio_device_ops net_ops = {
	.device_id = VIRTIO_ID_NET,
	.pci_class = 0x020000, /* network, Ethernet */
	.num_queues = 2,
	.save = net_save,
	.load = net_load,
	.queue_max_size = QUEUE_SIZE,
	.config_size = offsetof(struct virtio_net_config, mtu), /* mac, status, max_virtqueue_pairs */
	.config_read = net_config_read,
	.queue_notify = net_queue_notify,
	.activate = net_activate,
	.reset = net_reset,
};

/* Attaches to the TAP tap, creating it (and bringing it up) when it does not exist. */
static bool net_open_tap(struct virtio_net *n, const char *tap, GError **error)
{
	if (!*tap || strlen(tap) >= IFNAMSIZ) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "%s: TAP name '%s': give 1 to %d characters", n->name,
			    tap, IFNAMSIZ - 1);
		return false;
	}
	bool existed = if_nametoindex(tap) != 0;
	n->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (n->tap_fd < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "%s: cannot open /dev/net/tun: %s", n->name,
			    g_strerror(errno));
		return false;
	}
	unsigned int tun_features = 0;
	if (ioctl(n->tap_fd, TUNGETFEATURES, &tun_features) == 0 && !(tun_features & IFF_VNET_HDR)) {
		g_set_error(error, SEPIA_ERROR, ENOTSUP, "%s: the host's TUN driver lacks IFF_VNET_HDR",
			    n->name);
		return false;
	}
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(n->tap_fd, TUNSETIFF, &ifr) < 0) {
		g_set_error(error, SEPIA_ERROR, errno,
			    "%s: TAP %s: TUNSETIFF: %s (is it a TAP this user may attach to?)", n->name, tap,
			    g_strerror(errno));
		return false;
	}
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifr.ifr_name);
	int hdr_len = (int)HDR_LEN;
	if (ioctl(n->tap_fd, TUNSETVNETHDRSZ, &hdr_len) < 0 || ioctl(n->tap_fd, TUNSETOFFLOAD, 0) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "%s: TAP %s: setting the virtio header: %s", n->name,
			    tap, g_strerror(errno));
		return false;
	}
	if (existed)
		return true;
	/* Ours alone (it goes away with the VMM): up, so frames flow. */
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0))
		g_message("%s: created TAP %s but cannot bring it up: %s", n->name, tap, g_strerror(errno));
	else
		g_message("%s: created TAP %s", n->name, tap);
	if (s >= 0)
		close(s);
	return true;
}

struct virtio_net *virtio_net_create(struct vm_host *host, unsigned int index,
				     const struct vm_net_config *cfg, GError **error)
{
	const char *tap = cfg->tap;
	const uint8_t *mac = cfg->mac;
	struct virtio_net *n = g_new0(struct virtio_net, 1);
	n->name = g_strdup_printf("virtio-net%u", index);
	n->tap_fd = -1;
	n->frame = g_malloc(FRAME_MAX);
	if (!net_open_tap(n, tap, error))
		goto fail;
	memcpy(n->config.mac, mac, sizeof(n->config.mac));
	n->config.status = VIRTIO_NET_S_LINK_UP;
	n->config.max_virtqueue_pairs = 1;

	uint64_t features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
			    (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_NET_F_CSUM) |
			    (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |
			    (1ULL << VIRTIO_NET_F_HOST_ECN) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
			    (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
			    (1ULL << VIRTIO_NET_F_GUEST_ECN);
	n->vp = virtio_pci_create(host, n->name, &net_ops, features, n, error);
	if (!n->vp)
		goto fail;
	n->tap_source = g_source_new(&tap_source_funcs, sizeof(GSource));
	n->tap_tag = g_source_add_unix_fd(n->tap_source, n->tap_fd, 0);
	g_source_set_callback(n->tap_source, net_tap_readable, n, NULL);
	g_source_attach(n->tap_source, host->io_ctx);
	g_message("%s: TAP %s, MAC %02x:%02x:%02x:%02x:%02x:%02x", n->name, n->ifname, mac[0], mac[1], mac[2],
		  mac[3], mac[4], mac[5]);
	return n;
fail:
	virtio_net_destroy(n);
	return NULL;
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (!n)
		return;
	if (n->vp)
		g_message("%s: %" G_GUINT64_FORMAT " frames received, %" G_GUINT64_FORMAT
			  " sent, %" G_GUINT64_FORMAT
			  " dropped for want of guest buffer space, %" G_GUINT64_FORMAT " not sent",
			  n->name, n->rx_frames, n->tx_frames, n->rx_dropped, n->tx_errors);
	if (n->tap_source) {
		g_source_destroy(n->tap_source);
		g_source_unref(n->tap_source);
	}
	virtio_pci_destroy(n->vp);
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	g_free(n->frame);
	g_free(n->name);
	g_free(n);
}
