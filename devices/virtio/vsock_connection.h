/* One virtio-vsock stream (virtio spec 5.10.6) between a guest port and a host program's
 * unix socket: its state machine, its credit accounting both ways, the packets it owes the
 * guest and the reads and writes of its host socket. The muxer (vsock_muxer.c) owns every
 * connection: it finds the connection a guest packet is for, picks whose packet goes to the
 * guest next, and frees connections. See vsock_connection.c for the buffering rules. */
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

struct vsock_connection;

/* What a connection needs from the muxer that owns it. */
struct vsock_connection_owner {
	const char *name; /* for messages */
	uint64_t guest_cid;
	GMainContext *ctx;        /* host sockets are watched here */
	GMutex *lock;             /* held by every entry point; socket events take it themselves */
	uint64_t *socket_wakeups; /* counts the host socket events connections handle (tests) */
	void *opaque;
	/* c owes the guest packets: queue it for the rx path (once) and tell the device. */
	void (*owes)(void *opaque, struct vsock_connection *c);
	/* c has ended (its socket is closed): forget it, and free it with
	 * vsock_connection_free later, on the thread that watches the sockets. */
	void (*closed)(void *opaque, struct vsock_connection *c);
};

/* What the muxer sees of a connection; the rest is vsock_connection.c's own. */
struct vsock_connection {
	uint32_t local_port; /* the host side's port */
	uint32_t peer_port;  /* the guest's port */
	bool dead;           /* closed: its memory waits for vsock_connection_free */
	/* The muxer's own: c is on its rx work list; local_port came from its allocator. */
	bool queued;
	bool host_port_owned;
};

/* A connection over the host socket fd (nonblocking; the connection owns it). A host
 * program's CONNECT makes one that owes the guest a REQUEST and waits for its RESPONSE; a
 * guest's REQUEST (hdr) makes an established one that owes the guest a RESPONSE. */
struct vsock_connection *vsock_connection_new_request(const struct vsock_connection_owner *owner, int fd,
						      uint32_t local_port, uint32_t peer_port);
struct vsock_connection *vsock_connection_new_accepted(const struct vsock_connection_owner *owner, int fd,
						       const struct virtio_vsock_hdr *hdr);
/* Frees a connection vsock_connection_close ended. */
void vsock_connection_free(struct vsock_connection *c);

/* Ends c now: its socket closes and the owner's closed() runs; no RST is owed. */
void vsock_connection_close(struct vsock_connection *c);

/* A guest packet for c (the muxer matched its ports; payload holds avail bytes). */
void vsock_connection_from_guest(struct vsock_connection *c, const struct virtio_vsock_hdr *hdr,
				 const void *payload, size_t avail);

/* Builds the next packet c owes the guest, control packets first: header in *hdr, payload
 * (up to cap bytes) in buf. False when c has nothing to send now, or only data and cap is
 * 0 (the data waits for a buffer that can hold some). */
bool vsock_connection_next_packet(struct vsock_connection *c, struct virtio_vsock_hdr *hdr, void *buf,
				  size_t cap);

/* Whether c still has a packet to build (it stays on the muxer's work list). */
bool vsock_connection_has_work(const struct vsock_connection *c);

/* Whether c is ending: its RST is owed and every further guest packet is ignored. */
bool vsock_connection_ending(const struct vsock_connection *c);
