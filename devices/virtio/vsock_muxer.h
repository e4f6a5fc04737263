/* virtio-vsock's muxer (virtio spec 5.10): the host side of the device. It listens on a
 * unix socket for host programs, reads their "CONNECT <port>" line, picks host ports,
 * keeps the table of connections (vsock_connection.h) and routes each guest packet to
 * one, answers packets for unknown connections with RST, and picks whose packet goes to
 * the guest next. It knows nothing of PCI or virtqueues: virtio/vsock.c hands it the
 * packets the guest sent and asks it for the next packet to deliver, so unit tests can
 * drive it with plain buffers. See vsock_muxer.c for the host protocol. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/vsock_connection.h"

/* Connections (established or being set up) at once; more are refused. */
#define VSOCK_MAX_CONNS 1024
/* Host programs connected but still sending their CONNECT line, counted apart from the
 * connections; when full, the one that has waited longest is closed for a new one. */
#define VSOCK_MAX_HANDSHAKES 64
/* How long a host program may take to send its CONNECT line. */
#define VSOCK_HANDSHAKE_TIMEOUT_MS 5000
/* RSTs owed for packets of unknown connections; when full the guest's tx waits. */
#define VSOCK_MAX_ORPHAN_RST 256

struct vsock_muxer;

/* Called (with the muxer's lock held, from any of its callbacks) when the muxer has
 * packets for the guest; the device schedules a run of its rx queue. */
typedef void (*vsock_kick_fn)(void *opaque);

/* Listens on socket_path for host programs; a guest connect to host port P goes to
 * socket_path_P. Host sockets are watched on ctx. name is for messages. */
struct vsock_muxer *vsock_muxer_new(const char *name, uint64_t guest_cid, const char *socket_path,
				    GMainContext *ctx, vsock_kick_fn rx_kick, void *opaque, GError **error);
void vsock_muxer_free(struct vsock_muxer *mux);

/* The entry points below run with the lock held; host socket events take it themselves. */
void vsock_muxer_lock(struct vsock_muxer *mux);
void vsock_muxer_unlock(struct vsock_muxer *mux);

/* One packet the guest put on its tx queue: payload holds the avail bytes that followed
 * the header in the chain (hdr->len of them are the packet's data when the guest is
 * honest). */
void vsock_muxer_from_guest(struct vsock_muxer *mux, const struct virtio_vsock_hdr *hdr, const void *payload,
			    size_t avail);

/* Whether a packet waits for the guest's rx queue. */
bool vsock_muxer_rx_ready(struct vsock_muxer *mux);

/* Builds the next packet for the guest: header in *hdr, payload (up to cap bytes) in buf.
 * False when nothing is owed after all, or (with vsock_muxer_rx_ready still true) when
 * only data is owed and cap is 0: a buffer with room for a header only cannot carry it. */
bool vsock_muxer_to_guest(struct vsock_muxer *mux, struct virtio_vsock_hdr *hdr, void *buf, size_t cap);

/* True while the guest's tx queue must wait: the RSTs owed for unknown connections fill
 * their bounded queue until the rx queue takes them. */
bool vsock_muxer_tx_stalled(struct vsock_muxer *mux);

/* Device reset: every connection is dropped (host sockets closed), nothing is owed. */
void vsock_muxer_reset(struct vsock_muxer *mux);

/* Live connections (for tests and messages). */
unsigned int vsock_muxer_nr_conns(struct vsock_muxer *mux);
/* Host programs still sending their CONNECT line. */
unsigned int vsock_muxer_nr_handshakes(struct vsock_muxer *mux);
/* How many times a handshaking host program's socket woke the muxer (for tests: one
 * partial line must not wake it again and again). */
uint64_t vsock_muxer_handshake_wakeups(struct vsock_muxer *mux);
/* How many times the listening socket woke the muxer (for tests, likewise). */
uint64_t vsock_muxer_accept_wakeups(struct vsock_muxer *mux);
/* How many times connections' host sockets woke the muxer (for tests, likewise). */
uint64_t vsock_muxer_conn_wakeups(struct vsock_muxer *mux);
/* Changes VSOCK_HANDSHAKE_TIMEOUT_MS for host programs that connect from now on (tests). */
void vsock_muxer_set_handshake_timeout(struct vsock_muxer *mux, unsigned int ms);
