/* virtio-vsock's connection layer (virtio spec 5.10): the stream sockets between the guest
 * and host programs on a unix socket, their credit accounting and the packets they owe the
 * guest. It knows nothing of PCI or virtqueues: virtio/vsock.c hands it the packets the
 * guest sent and asks it for the next packet to deliver, so unit tests can drive it with
 * plain buffers. See vsock_conn.c for the host protocol and the buffering rules. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSOCK_HOST_CID 2

#define VIRTIO_VSOCK_TYPE_STREAM 1

#define VIRTIO_VSOCK_OP_INVALID        0
#define VIRTIO_VSOCK_OP_REQUEST        1
#define VIRTIO_VSOCK_OP_RESPONSE       2
#define VIRTIO_VSOCK_OP_RST            3
#define VIRTIO_VSOCK_OP_SHUTDOWN       4
#define VIRTIO_VSOCK_OP_RW             5
#define VIRTIO_VSOCK_OP_CREDIT_UPDATE  6
#define VIRTIO_VSOCK_OP_CREDIT_REQUEST 7

#define VIRTIO_VSOCK_SHUTDOWN_RCV  1 /* the sender will receive no more */
#define VIRTIO_VSOCK_SHUTDOWN_SEND 2 /* the sender will send no more */

/* Largest payload of one guest packet (Linux sends at most 64 KiB). */
#define VSOCK_MAX_PAYLOAD 65536
/* What the device advertises per connection as buf_alloc: the most guest bytes it will
 * ever hold for one connection that its host peer has not taken yet. */
#define VSOCK_BUF_ALLOC (256 * 1024)
/* Connections (established or being set up) at once; more are refused. */
#define VSOCK_MAX_CONNS 1024
/* RSTs owed for packets of unknown connections; when full the guest's tx waits. */
#define VSOCK_MAX_ORPHAN_RST 256

/* The packet header, little-endian, as the spec lays it out. */
struct virtio_vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

struct vsock_core;

/* Called (with the core's lock held, from any of its callbacks) when the core has
 * packets for the guest; the device schedules a run of its rx queue. */
typedef void (*vsock_kick_fn)(void *opaque);

/* Listens on socket_path for host programs; a guest connect to host port P goes to
 * socket_path_P. Host sockets are watched on ctx. name is for messages. */
struct vsock_core *vsock_core_new(const char *name, uint64_t guest_cid, const char *socket_path,
				  GMainContext *ctx, vsock_kick_fn rx_kick, void *opaque, GError **error);
void vsock_core_free(struct vsock_core *core);

/* The entry points below run with the lock held; host socket events take it themselves. */
void vsock_core_lock(struct vsock_core *core);
void vsock_core_unlock(struct vsock_core *core);

/* One packet the guest put on its tx queue: payload holds the avail bytes that followed
 * the header in the chain (hdr->len of them are the packet's data when the guest is
 * honest). */
void vsock_core_from_guest(struct vsock_core *core, const struct virtio_vsock_hdr *hdr, const void *payload,
			   size_t avail);

/* Whether a packet waits for the guest's rx queue. */
bool vsock_core_rx_ready(struct vsock_core *core);

/* Builds the next packet for the guest: header in *hdr, payload (up to cap bytes) in buf.
 * False when nothing is owed after all. */
bool vsock_core_to_guest(struct vsock_core *core, struct virtio_vsock_hdr *hdr, void *buf, size_t cap);

/* True while the guest's tx queue must wait: the RSTs owed for unknown connections fill
 * their bounded queue until the rx queue takes them. */
bool vsock_core_tx_stalled(struct vsock_core *core);

/* Device reset: every connection is dropped (host sockets closed), nothing is owed. */
void vsock_core_reset(struct vsock_core *core);

/* Live connections (for tests and messages). */
unsigned int vsock_core_nr_conns(struct vsock_core *core);
