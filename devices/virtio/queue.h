/* Split virtqueues (virtio 1.x, section 2.7), device side. The guest owns the rings; every
 * address and length read from them is checked against guest RAM before use, chains are
 * bounded by the queue size, and a chain that breaks a rule is refused whole. */
#pragma once

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/guestmem.h"
#include "devices/virtio/chain.h"

#define VIRTQ_MAX_SIZE 1024

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
	/* Who hears that the guest broke the ring itself (the transport: NEEDS_RESET), and the
	 * queue's name for messages ("virtio-blk0 queue 0"). */
	void (*on_broken)(void *opaque, const char *why);
	void *broken_opaque;
	char name[48];
	bool broken;
	unsigned int refused; /* chains refused for breaking a descriptor rule */
};

/* Sets who is told when the guest breaks the ring, and the queue's name (kept across resets). */
void virtq_set_broken_handler(struct virtq *q, const char *name,
			      void (*on_broken)(void *opaque, const char *why), void *opaque);

/* Checks that the rings lie in guest RAM; false leaves the queue not ready. */
bool virtq_activate(struct virtq *q, const struct guest_mem *mem);
void virtq_reset(struct virtq *q);

/* What devices call to take the next request. 1: *chain is one. 0: nothing to take: the
 * queue is empty, or the guest broke the ring itself (it claims more entries than the ring
 * holds, or a head outside it); then the queue stops, says why through its broken handler
 * (the transport sets NEEDS_RESET) and stays stopped until reset. -EINVAL: the chain at
 * chain->head breaks a descriptor rule (logged here, at a capped rate); complete it with
 * length 0 and take the next. */
int virtq_take(struct virtq *q, struct virtq_chain *chain);

/* The walker under virtq_take, for tests and fuzzers: takes the next available chain. 1: chain filled. 0: queue empty. -EINVAL: the guest
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
