/* libFuzzer target for the split virtqueue walker (devices/virtio/queue.c): what virtq_pop,
 * virtq_push and the notification helpers make of rings and descriptor tables a guest wrote.
 *
 * Fake guest RAM: two regions, 16 KiB at gpa 0 and 4 KiB at gpa 0x8000 (a hole between them),
 * each an exact-size heap block so that ASan sees any access past a region. Both hold the
 * input's memory image (the second region mirrors the first 4 KiB).
 *
 * Input: byte 0 flags (bit 0 VIRTIO_RING_F_EVENT_IDX, bit 1 VIRTIO_RING_F_INDIRECT_DESC,
 * bit 2 take the queue size from bytes 2-3 instead of 1 << (byte 1 & 15)); bytes 4-15 the
 * descriptor table, available and used ring addresses (le32 each); bytes 16-19 the device's
 * last_avail and used_idx (le16 each: a queue that has run a while); bytes 20-23 seed the
 * choice of operations; the rest is the memory image.
 *
 * Oracle beyond ASan/UBSan: virtq_pop returns 1, 0, -EINVAL or -EFAULT, takes at most one
 * entry, and agrees with virtq_empty; a chain's head is inside the queue, it holds at most
 * as many segments as its table (the queue's, or the indirect table its head names) and at
 * most VIRTQ_MAX_SEGS, every segment lies wholly inside one RAM region, out_len and in_len
 * are the sums of their segments; the copy helpers copy exactly what the chain holds from
 * the offset on, and read out the bytes in segment order; a push lands in the used ring; a
 * queue that fails activation stays inert (pops nothing, pushes nothing, asks for nothing). */
#include "tests/fuzz/fuzz-common.h"

#include <errno.h>

#include "devices/virtio/queue.h"

#define RAM0_GPA  0x0ULL
#define RAM0_SIZE 0x4000ULL
#define RAM1_GPA  0x8000ULL
#define RAM1_SIZE 0x1000ULL
#define HDR       24
#define MAX_STEPS 40 /* operations per input: each pop may walk 1024 descriptors */

static struct guest_mem mem;
static struct virtq_chain *chain;

static void ram_init(void)
{
	if (mem.nr_regions)
		return;
	mem.region[0] = (struct guest_mem_region){ RAM0_GPA, RAM0_SIZE, malloc(RAM0_SIZE) };
	mem.region[1] = (struct guest_mem_region){ RAM1_GPA, RAM1_SIZE, malloc(RAM1_SIZE) };
	mem.nr_regions = 2;
	chain = malloc(sizeof(*chain));
	if (!mem.region[0].host || !mem.region[1].host || !chain)
		abort();
}

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }

static uint16_t rd16(uint64_t gpa)
{
	uint16_t v;
	if (guest_mem_read(&mem, gpa, &v, 2))
		abort(); /* the rings were checked at activation */
	return v;
}

/* Whether [p, p+len) lies inside one region's host block. */
static bool in_ram(const void *p, size_t len)
{
	for (unsigned int i = 0; i < mem.nr_regions; i++) {
		const uint8_t *h = mem.region[i].host;
		if ((const uint8_t *)p >= h && (const uint8_t *)p < h + mem.region[i].size &&
		    len <= mem.region[i].size - (size_t)((const uint8_t *)p - h))
			return true;
	}
	return false;
}

static void check_chain(const struct virtq *q, const struct virtq_chain *c)
{
	if (c->head >= q->size)
		abort();
	unsigned int n = c->nr_out + c->nr_in;
	if (n == 0 || n > VIRTQ_MAX_SEGS)
		abort();
	/* The bound of the table the chain came from: the queue's, or the indirect table its
	 * head descriptor names (read after the pop: nothing wrote guest RAM since). */
	uint8_t d[16];
	if (guest_mem_read(q->mem, q->desc_gpa + 16ULL * c->head, d, 16))
		abort();
	uint32_t dlen;
	uint16_t flags;
	memcpy(&dlen, d + 8, 4);
	memcpy(&flags, d + 12, 2);
	unsigned int bound = (flags & VRING_DESC_F_INDIRECT) ? dlen / 16 : q->size;
	if (n > bound)
		abort();
	uint64_t out = 0, in = 0;
	for (unsigned int i = 0; i < n; i++) {
		const struct iovec *v = &c->iov[i];
		if (v->iov_len == 0 ? v->iov_base != NULL : !in_ram(v->iov_base, v->iov_len))
			abort();
		if (i < c->nr_out)
			out += v->iov_len;
		else
			in += v->iov_len;
	}
	if (out != c->out_len || in != c->in_len)
		abort();
}

static size_t expect_copy(uint64_t total, size_t off, size_t len)
{
	return off < total ? (size_t)MIN((uint64_t)len, total - off) : 0;
}

/* The cursors read and write exactly the bytes the chain holds, in segment order; a split
 * view sees only its part, and its iovecs cover exactly its bytes. */
static void check_copies(const struct virtq_chain *c, uint32_t *s)
{
	uint8_t buf[512], flat[512];
	size_t off = rnd(s) % 300, len = rnd(s) % sizeof(buf);
	struct virtq_cursor r, part;
	virtq_reader(c, &r);
	if (virtq_skip(&r, off) != expect_copy(c->out_len, 0, off))
		abort();
	virtq_split_at(&r, len, &part);
	size_t want = expect_copy(c->out_len, off, len);
	if (virtq_cursor_left(&part) != want ||
	    virtq_cursor_left(&r) != expect_copy(c->out_len, off + want, SIZE_MAX))
		abort();
	struct iovec iov[VIRTQ_MAX_SEGS];
	int n = virtq_cursor_iov(&part, iov, VIRTQ_MAX_SEGS);
	uint64_t sum = 0;
	for (int i = 0; i < n; i++)
		sum += iov[i].iov_len;
	if (n < 0 || sum != want)
		abort();
	size_t got = virtq_read(&part, buf, sizeof(buf));
	if (got != want || virtq_cursor_done(&part) != got || virtq_cursor_left(&part) != 0)
		abort();
	/* The same bytes, gathered here segment by segment. */
	size_t pos = 0, done = 0;
	for (unsigned int i = 0; i < c->nr_out && done < got; i++) {
		const struct iovec *v = &c->iov[i];
		for (size_t k = 0; k < v->iov_len && done < got; k++, pos++)
			if (pos >= off)
				flat[done++] = ((const uint8_t *)v->iov_base)[k];
	}
	if (done != got || memcmp(buf, flat, got))
		abort();

	memset(buf, 0xa5, sizeof(buf));
	off = rnd(s) % 300, len = rnd(s) % sizeof(buf);
	struct virtq_cursor w;
	virtq_writer(c, &w);
	virtq_skip(&w, off);
	if (virtq_write(&w, buf, len) != expect_copy(c->in_len, off, len))
		abort();
}

static void check_push(struct virtq *q, uint16_t head, uint32_t len)
{
	virtq_push(q, head, len);
	if (rd16(q->used_gpa + 2) != q->used_idx)
		abort();
	uint16_t slot = (uint16_t)(q->used_idx - 1) % q->size;
	uint8_t elem[8];
	if (guest_mem_read(q->mem, q->used_gpa + 4 + 8ULL * slot, elem, 8))
		abort();
	uint32_t id, l;
	memcpy(&id, elem, 4);
	memcpy(&l, elem + 4, 4);
	if (id != head || l != len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;
	ram_init();
	memset(mem.region[0].host, 0, RAM0_SIZE);
	memset(mem.region[1].host, 0, RAM1_SIZE);
	memcpy(mem.region[0].host, data + HDR, MIN(size - HDR, RAM0_SIZE));
	memcpy(mem.region[1].host, data + HDR, MIN(size - HDR, RAM1_SIZE));

	struct virtq q = { 0 };
	q.size = (data[0] & 4) ? le16(data + 2) : (uint16_t)(1u << (data[1] & 15));
	q.desc_gpa = le32(data + 4);
	q.avail_gpa = le32(data + 8);
	q.used_gpa = le32(data + 12);
	q.event_idx = data[0] & 1;
	q.indirect = data[0] & 2;
	bool sane = q.size && q.size <= VIRTQ_MAX_SIZE && !(q.size & (q.size - 1)) && !(q.desc_gpa & 15) &&
		    !(q.avail_gpa & 1) && !(q.used_gpa & 3);
	if (!virtq_activate(&q, &mem)) {
		/* A queue the guest did not set up right stays inert: nothing touches its rings. */
		uint16_t head = 0;
		uint32_t len = 0;
		if (q.ready || virtq_pop(&q, chain) != 0 || !virtq_empty(&q) || virtq_needs_interrupt(&q) ||
		    virtq_set_notification(&q, true))
			abort();
		q.mem = &mem; /* even with a memory map (a queue reset after use) */
		virtq_push_many(&q, &head, &len, 1);
		if (q.used_idx)
			abort();
		return 0;
	}
	if (!sane)
		abort(); /* activation took a queue that breaks the spec's rules */
	q.last_avail = le16(data + 16);
	q.used_idx = le16(data + 18);
	uint32_t s = le32(data + 20) | 1;

	uint16_t heads[8];
	uint32_t lens[8];
	unsigned int held = 0;
	for (unsigned int step = 0; step < MAX_STEPS; step++) {
		uint32_t op = rnd(&s) % 16;
		if (op == 0) {
			virtq_needs_interrupt(&q);
			continue;
		}
		if (op == 1) {
			bool enable = rnd(&s) & 1;
			bool more = virtq_set_notification(&q, enable);
			if (enable && more != (rd16(q.avail_gpa + 2) != q.last_avail))
				abort();
			if (!enable && more)
				abort();
			continue;
		}
		uint16_t before = q.last_avail;
		bool empty = virtq_empty(&q);
		int r = virtq_pop(&q, chain);
		if (empty != (r == 0))
			abort();
		if (r == 0)
			break;
		if ((uint16_t)(q.last_avail - before) > 1)
			abort();
		if (r == -EINVAL) {
			if (chain->head >= q.size || q.last_avail == before)
				abort();
			continue;
		}
		if (r == -EFAULT)
			continue;
		if (r != 1)
			abort();
		check_chain(&q, chain);
		check_copies(chain, &s);
		switch (op) {
		case 2:
			virtq_unpop(&q, 1);
			if (q.last_avail != before)
				abort();
			break;
		case 3:
		case 4:
			heads[held] = chain->head;
			lens[held++] = (uint32_t)MIN(chain->in_len, UINT32_MAX);
			if (held == 8 || op == 4) {
				virtq_push_many(&q, heads, lens, held);
				if (rd16(q.used_gpa + 2) != q.used_idx)
					abort();
				held = 0;
			}
			break;
		default:
			check_push(&q, chain->head, (uint32_t)MIN(chain->in_len, UINT32_MAX));
			break;
		}
	}
	return 0;
}
