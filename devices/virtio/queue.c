#include "devices/virtio/queue.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#define MIN_SIZE(a, b) ((a) < (b) ? (a) : (b))

/* Ring element offsets (split ring, little-endian, x86 needs no swapping). */
#define AVAIL_FLAGS   0
#define AVAIL_IDX     2
#define AVAIL_RING(i) (4 + 2 * (uint64_t)(i))
#define USED_FLAGS    0
#define USED_IDX      2
#define USED_RING(i)  (4 + 8 * (uint64_t)(i))

static uint64_t desc_bytes(uint16_t n) { return 16ULL * n; }
static uint64_t avail_bytes(uint16_t n) { return 6 + 2ULL * n; }
static uint64_t used_bytes(uint16_t n) { return 6 + 8ULL * n; }

bool virtq_activate(struct virtq *q, const struct guest_mem *mem)
{
	q->ready = false;
	if (q->size == 0 || q->size > VIRTQ_MAX_SIZE || (q->size & (q->size - 1)))
		return false;
	if (!guest_mem_ptr(mem, q->desc_gpa, desc_bytes(q->size)) ||
	    !guest_mem_ptr(mem, q->avail_gpa, avail_bytes(q->size)) ||
	    !guest_mem_ptr(mem, q->used_gpa, used_bytes(q->size)) || (q->desc_gpa & 15) ||
	    (q->avail_gpa & 1) || (q->used_gpa & 3))
		return false;
	q->mem = mem;
	q->broken = false;
	q->refused = 0;
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_valid = false;
	q->ready = true;
	return true;
}

void virtq_reset(struct virtq *q)
{
	struct virtq keep = *q;
	memset(q, 0, sizeof(*q));
	q->size = keep.size;
	q->on_broken = keep.on_broken;
	q->broken_opaque = keep.broken_opaque;
	memcpy(q->name, keep.name, sizeof(q->name));
}

void virtq_set_broken_handler(struct virtq *q, const char *name,
			      void (*on_broken)(void *opaque, const char *why), void *opaque)
{
	g_strlcpy(q->name, name, sizeof(q->name));
	q->on_broken = on_broken;
	q->broken_opaque = opaque;
}

static uint16_t *ring16(struct virtq *q, uint64_t gpa)
{
	/* Ring bounds were checked at activation; this only computes the pointer. */
	return guest_mem_ptr(q->mem, gpa, 2);
}

static uint16_t load_acquire16(uint16_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

/* Walks one descriptor table (the queue's or an indirect one) into chain. */
static int walk_table(struct virtq *q, uint64_t table_gpa, uint32_t table_len, uint16_t first,
		      struct virtq_chain *c, bool nested)
{
	const struct vring_desc *table = guest_mem_ptr(q->mem, table_gpa, desc_bytes(table_len));
	if (!table)
		return -EINVAL;
	uint16_t i = first;
	for (uint32_t steps = 0;; steps++) {
		if (i >= table_len || steps >= table_len)
			return -EINVAL; /* index out of the table, or a loop */
		struct vring_desc d;
		memcpy(&d, &table[i], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* An indirect table stands alone in its chain and may not nest. */
			if (nested || !q->indirect || (d.flags & VRING_DESC_F_NEXT) || c->nr_out + c->nr_in ||
			    d.len == 0 || d.len % 16 || d.len / 16 > VIRTQ_MAX_SEGS)
				return -EINVAL;
			return walk_table(q, d.addr, d.len / 16, 0, c, true);
		}
		if (c->nr_out + c->nr_in == VIRTQ_MAX_SEGS)
			return -EINVAL;
		void *host = d.len ? guest_mem_ptr(q->mem, d.addr, d.len) : NULL;
		if (d.len && !host)
			return -EINVAL; /* buffer outside guest RAM */
		if (d.flags & VRING_DESC_F_WRITE) {
			c->iov[c->nr_out + c->nr_in++] = (struct iovec){ host, d.len };
			c->in_len += d.len;
		} else {
			if (c->nr_in)
				return -EINVAL; /* readable after writable */
			c->iov[c->nr_out++] = (struct iovec){ host, d.len };
			c->out_len += d.len;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 1;
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	if (!q->ready)
		return 0;
	uint16_t avail_idx = load_acquire16(ring16(q, q->avail_gpa + AVAIL_IDX));
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return -EFAULT; /* the guest claims more entries than the ring holds */
	uint16_t head = *ring16(q, q->avail_gpa + AVAIL_RING(q->last_avail % q->size));
	q->last_avail++;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	c->head = head;
	if (head >= q->size)
		return -EFAULT;
	if (q->event_idx) {
		/* Ask for a kick once the guest passes what we have taken (used->avail_event). */
		uint16_t *avail_event = ring16(q, q->used_gpa + USED_RING(q->size));
		__atomic_store_n(avail_event, q->last_avail, __ATOMIC_RELEASE);
	}
	return walk_table(q, q->desc_gpa, q->size, head, c, false);
}

/* Refusals are logged one per chain up to this many per queue, then every 1000th. */
#define REFUSALS_LOGGED 16

int virtq_take(struct virtq *q, struct virtq_chain *c)
{
	if (q->broken)
		return 0;
	int r = virtq_pop(q, c);
	if (r == -EFAULT) {
		q->broken = true;
		q->ready = false;
		const char *why =
			"the available ring is corrupt (more entries than the ring holds, or a head "
			"outside it)";
		g_warning("%s: %s; the queue is stopped until the driver resets the device", q->name, why);
		if (q->on_broken)
			q->on_broken(q->broken_opaque, why);
		return 0;
	}
	if (r < 0) {
		q->refused++;
		if (q->refused <= REFUSALS_LOGGED || q->refused % 1000 == 0)
			g_warning("%s: chain %u refused: it breaks the virtio descriptor rules (%u refused "
				  "so far)",
				  q->name, c->head, q->refused);
		return -EINVAL;
	}
	return r;
}

void virtq_unpop(struct virtq *q, uint16_t n) { q->last_avail -= n; }

bool virtq_empty(struct virtq *q)
{
	return !q->ready || load_acquire16(ring16(q, q->avail_gpa + AVAIL_IDX)) == q->last_avail;
}

void virtq_push_many(struct virtq *q, const uint16_t *heads, const uint32_t *lens, unsigned int n)
{
	if (!q->ready)
		return;
	for (unsigned int i = 0; i < n; i++) {
		uint16_t slot = (uint16_t)(q->used_idx + i) % q->size;
		uint8_t *elem = guest_mem_ptr(q->mem, q->used_gpa + USED_RING(slot), 8);
		uint32_t id = heads[i];
		memcpy(elem, &id, 4);
		memcpy(elem + 4, &lens[i], 4);
	}
	q->used_idx += (uint16_t)n;
	__atomic_store_n(ring16(q, q->used_gpa + USED_IDX), q->used_idx, __ATOMIC_RELEASE);
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len) { virtq_push_many(q, &head, &len, 1); }

bool virtq_needs_interrupt(struct virtq *q)
{
	if (!q->ready)
		return false;
	/* Order the used->idx store before reading the guest's suppression state. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx) {
		uint16_t flags = load_acquire16(ring16(q, q->avail_gpa + AVAIL_FLAGS));
		return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
	}
	uint16_t used_event = load_acquire16(ring16(q, q->avail_gpa + AVAIL_RING(q->size)));
	uint16_t old = q->signalled_used, new = q->used_idx;
	bool valid = q->signalled_valid;
	q->signalled_used = new;
	q->signalled_valid = true;
	/* virtio 1.x 2.7.10: interrupt when used_event lies in [old, new). */
	return !valid || (uint16_t)(new - used_event - 1) < (uint16_t)(new - old);
}

bool virtq_set_notification(struct virtq *q, bool enable)
{
	if (!q->ready)
		return false;
	if (!q->event_idx) {
		uint16_t *flags = ring16(q, q->used_gpa + USED_FLAGS);
		__atomic_store_n(flags, enable ? 0 : VRING_USED_F_NO_NOTIFY, __ATOMIC_RELEASE);
	} else if (enable) {
		uint16_t *avail_event = ring16(q, q->used_gpa + USED_RING(q->size));
		__atomic_store_n(avail_event, q->last_avail, __ATOMIC_RELEASE);
	}
	if (!enable)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load_acquire16(ring16(q, q->avail_gpa + AVAIL_IDX)) != q->last_avail;
}
