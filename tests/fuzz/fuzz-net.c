/* libFuzzer target for virtio-net's queues (devices/virtio/net.c, included): the guest's
 * transmit requests and receive buffers come from the input (layout: fuzz-virtio.h), and
 * what the input holds after the guest's RAM are frames "from the TAP": a packet socket
 * pair stands in for it, so each read returns one frame as a TAP's does. The queue is
 * driven as the transmit queue, then from the same rings reset as the receive queue, with
 * and without mergeable receive buffers (input byte 1, bit 2).
 *
 * Oracle: no crash or sanitizer report; every transmit chain is completed unless the ring
 * is broken; a receive chain is used at most once and only with a length within its
 * writable bytes (the used ring never runs ahead of the available one). */
#define FUZZ_WARNINGS_ARE_REPORTS 1
#include "tests/fuzz/fuzz-common.h"

#include <sys/socket.h>

#include "devices/virtio/net.c"

#include "tests/fuzz/fuzz-virtio.h"

static struct virtio_net net;
static int tap_peer = -1;

static void net_fuzz_init(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	net.name = g_strdup("fuzz-net");
	g_strlcpy(net.ifname, "fuzztap", sizeof(net.ifname));
	net.tap_fd = sv[0];
	tap_peer = sv[1];
	net.frame = g_malloc(FRAME_MAX);
	net.tap_source = g_source_new(&tap_source_funcs, sizeof(GSource));
	net.tap_tag = g_source_add_unix_fd(net.tap_source, net.tap_fd, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (tap_peer < 0)
		net_fuzz_init();
	const uint8_t *start = data;
	size_t total = size;
	if (!fuzz_guest_setup(&data, &size))
		return 0;
	net.mrg_rxbuf = start[1] & 4;
	net.frame_len = 0;
	/* Transmit: writev goes to the pair; drain it so it never fills. */
	net_queue_notify(&net, TX_QUEUE);
	fuzz_guest_check_completed(0);
	uint8_t sink[FRAME_MAX];
	while (read(tap_peer, sink, sizeof(sink)) > 0)
		;

	/* Receive: the input's tail as up to four frames of its first bytes' lengths. */
	data = start;
	size = total;
	fuzz_guest_setup(&data, &size);
	for (int i = 0; i < 4 && size > 2; i++) {
		size_t len = (size_t)(data[0] | data[1] << 8) % (FRAME_MAX + 1);
		data += 2, size -= 2;
		if (len > size)
			len = size;
		if (len && write(tap_peer, data, len) < 0)
			break;
		data += len, size -= len;
	}
	net_queue_notify(&net, RX_QUEUE);
	uint16_t avail, used;
	memcpy(&avail, fuzz_guest.ram + FUZZ_AVAIL + 2, 2);
	memcpy(&used, fuzz_guest.ram + FUZZ_USED + 2, 2);
	if (used > avail && !fuzz_guest.q.broken)
		abort();
	while (read(net.tap_fd, sink, sizeof(sink)) > 0)
		; /* frames the guest had no room for */
	return 0;
}
