/* Split virtqueues (virtio 1.x, section 2.7), device side. The guest owns the rings; every
 * address and length read from them is checked against guest RAM before use, chains are
 * bounded by the queue size, and a chain that breaks a rule is refused whole. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/guestmem.h"

#define VIRTQ_MAX_SIZE 1024
#define VIRTQ_MAX_SEGS 1024 /* descriptors one chain may hold, indirect included */

#define VIRTQ_DESC_F_NEXT          1
#define VIRTQ_DESC_F_WRITE         2
#define VIRTQ_DESC_F_INDIRECT      4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

struct virtq {
	const struct guest_mem *mem;
	uint16_t size; /* entries, a power of two */
	bool ready;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;  /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail;     /* next available entry to take */
	uint16_t used_idx;       /* our copy of used->idx */
	uint16_t signalled_used; /* used->idx at the last interrupt (event-idx) */
	bool signalled_valid;
};

/* One request: the device-readable segments first, then the device-writable ones. */
struct virtq_chain {
	uint16_t head;
	unsigned int nr_out, nr_in;
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SEGS]; /* [0, nr_out) readable, then nr_in writable */
};

/* Checks that the rings lie in guest RAM; false leaves the queue not ready. */
bool virtq_activate(struct virtq *q, const struct guest_mem *mem);
void virtq_reset(struct virtq *q);

/* Takes the next available chain. 1: chain filled. 0: queue empty. -EINVAL: the guest
 * broke a rule (chain->head is valid when the head index itself was sane, so the
 * request can be completed with length 0); -EFAULT: the rings left guest RAM. */
int virtq_pop(struct virtq *q, struct virtq_chain *chain);

/* Gives back the last n chains taken by virtq_pop and not pushed: the guest sees
 * nothing, the next virtq_pop takes them again (a device that took buffers for input
 * that did not fit or did not come). */
void virtq_unpop(struct virtq *q, uint16_t n);

/* Whether the guest has made no chain available that virtq_pop has not taken. */
bool virtq_empty(struct virtq *q);

/* Returns a chain to the guest with len bytes written into its writable part. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);

/* Returns n chains at once: the guest sees all of them or none (one used->idx
 * update), as a packet spread over several buffers needs. */
void virtq_push_many(struct virtq *q, const uint16_t *heads, const uint32_t *lens, unsigned int n);

/* Whether the guest wants an interrupt for what was pushed since the last one. */
bool virtq_needs_interrupt(struct virtq *q);

/* Suppress (false) or request (true) notifications while the device drains the queue;
 * re-enabling returns true when more entries arrived meanwhile. */
bool virtq_set_notification(struct virtq *q, bool enable);

/* Copies between a chain's segments and a flat buffer, starting at byte offset off of
 * the readable (out) or writable (in) part. Return the number of bytes copied. */
size_t virtq_copy_from_out(const struct virtq_chain *c, size_t off, void *buf, size_t len);
size_t virtq_copy_to_in(const struct virtq_chain *c, size_t off, const void *buf, size_t len);
