/* Unit tests of the split virtqueue, device side (devices/virtio/queue.c). Each test lays
 * out descriptor table, available and used rings in 1 MiB of fake guest RAM at gpa 0,
 * plays the driver by writing them, and checks what virtq_pop()/virtq_push() make of it:
 * the chain handed to the device, the errors for rule-breaking guests and the words the
 * device writes back. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <glib.h>

#include "devices/virtio/queue.h"
#include "tests/unit/fakemem.h"

#define RAM_SIZE  0x100000ULL
#define QSIZE     16
#define DESC_GPA  0x1000ULL
#define AVAIL_GPA 0x2000ULL
#define USED_GPA  0x3000ULL
#define INDIR_GPA 0x8000ULL  /* indirect descriptor tables */
#define BUF_GPA   0x10000ULL /* data buffers */

/* Ring words as the virtio 1.x spec (2.7) lays them out. */
#define AVAIL_IDX     (AVAIL_GPA + 2)
#define AVAIL_RING(i) (AVAIL_GPA + 4 + 2 * (i))
#define USED_EVENT    AVAIL_RING(QSIZE)
#define USED_FLAGS    USED_GPA
#define USED_IDX      (USED_GPA + 2)
#define USED_ELEM(i)  (USED_GPA + 4 + 8 * (i))
#define AVAIL_EVENT   USED_ELEM(QSIZE)

struct fx {
	struct guest_mem mem;
	struct virtq q;
	struct virtq_chain *c; /* 16 KiB of iovecs: on the heap */
	uint16_t avail_idx;    /* the driver's avail->idx */
};

static uint8_t *host(struct fx *f, uint64_t gpa) { return fakemem_at(&f->mem, gpa, 1); }

static void put16(struct fx *f, uint64_t gpa, uint16_t v) { memcpy(host(f, gpa), &v, 2); }
static uint16_t get16(struct fx *f, uint64_t gpa) { return fakemem_rd16(&f->mem, gpa); }
static uint32_t get32(struct fx *f, uint64_t gpa) { return fakemem_rd32(&f->mem, gpa); }

/* Writes descriptor i of the table at table_gpa (the queue's or an indirect one). */
static void desc_at(struct fx *f, uint64_t table_gpa, unsigned int i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	uint8_t *d = fakemem_at(&f->mem, table_gpa + 16ULL * i, 16);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void desc(struct fx *f, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	desc_at(f, DESC_GPA, i, addr, len, flags, next);
}

/* Makes head available, as the driver does: ring entry first, then the index. */
static void offer(struct fx *f, uint16_t head)
{
	put16(f, AVAIL_RING(f->avail_idx % QSIZE), head);
	put16(f, AVAIL_IDX, ++f->avail_idx);
}

static void fx_setup(struct fx *f, gconstpointer data)
{
	fakemem_add(&f->mem, 0, RAM_SIZE);
	f->c = g_new0(struct virtq_chain, 1);
	f->q.size = QSIZE;
	f->q.desc_gpa = DESC_GPA;
	f->q.avail_gpa = AVAIL_GPA;
	f->q.used_gpa = USED_GPA;
	g_assert_true(virtq_activate(&f->q, &f->mem));
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	g_free(f->c);
	fakemem_free(&f->mem);
}

static void test_empty(struct fx *f, gconstpointer data)
{
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 0);
	/* A queue that is not ready never looks at the rings. */
	desc(f, 0, BUF_GPA, 8, 0, 0);
	offer(f, 0);
	f->q.ready = false;
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 0);
}

/* Out of order on purpose: 3 -> 7 -> 1 -> 12, two readable then two writable. */
static void test_chain(struct fx *f, gconstpointer data)
{
	desc(f, 3, BUF_GPA, 100, VRING_DESC_F_NEXT, 7);
	desc(f, 7, BUF_GPA + 0x1000, 28, VRING_DESC_F_NEXT, 1);
	desc(f, 1, BUF_GPA + 0x2000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 12);
	desc(f, 12, BUF_GPA + 0x3000, 1, VRING_DESC_F_WRITE, 0);
	offer(f, 3);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_cmpuint(f->c->head, ==, 3);
	g_assert_cmpuint(f->c->nr_out, ==, 2);
	g_assert_cmpuint(f->c->nr_in, ==, 2);
	g_assert_cmpuint(f->c->out_len, ==, 128);
	g_assert_cmpuint(f->c->in_len, ==, 513);
	/* The iovecs point straight into guest RAM: zero copy. */
	g_assert_true(f->c->iov[0].iov_base == host(f, BUF_GPA));
	g_assert_cmpuint(f->c->iov[0].iov_len, ==, 100);
	g_assert_true(f->c->iov[1].iov_base == host(f, BUF_GPA + 0x1000));
	g_assert_cmpuint(f->c->iov[1].iov_len, ==, 28);
	g_assert_true(f->c->iov[2].iov_base == host(f, BUF_GPA + 0x2000));
	g_assert_cmpuint(f->c->iov[2].iov_len, ==, 512);
	g_assert_true(f->c->iov[3].iov_base == host(f, BUF_GPA + 0x3000));
	g_assert_cmpuint(f->c->iov[3].iov_len, ==, 1);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 0);
}

/* virtq_unpop: the chain taken last is offered again, in order, and nothing is used. */
static void test_unpop(struct fx *f, gconstpointer data)
{
	desc(f, 0, BUF_GPA, 64, VRING_DESC_F_WRITE, 0);
	desc(f, 1, BUF_GPA + 0x100, 64, VRING_DESC_F_WRITE, 0);
	offer(f, 0);
	offer(f, 1);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_cmpuint(f->c->head, ==, 0);
	virtq_unpop(&f->q, 1);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_cmpuint(f->c->head, ==, 0);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_cmpuint(f->c->head, ==, 1);
	g_assert_cmpuint(get16(f, USED_IDX), ==, 0);
}

/* The longest legal chain uses every descriptor of the table once. */
static void test_chain_full_table(struct fx *f, gconstpointer data)
{
	for (unsigned int i = 0; i < QSIZE; i++)
		desc(f, i, BUF_GPA + 16 * i, 16, i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0, i + 1);
	offer(f, 0);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_cmpuint(f->c->nr_out, ==, QSIZE);
	g_assert_cmpuint(f->c->out_len, ==, 16 * QSIZE);
}

static void test_indirect(struct fx *f, gconstpointer data)
{
	f->q.indirect = true;
	desc_at(f, INDIR_GPA, 0, BUF_GPA, 10, VRING_DESC_F_NEXT, 2);
	desc_at(f, INDIR_GPA, 2, BUF_GPA + 0x100, 20, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	desc_at(f, INDIR_GPA, 1, BUF_GPA + 0x200, 30, VRING_DESC_F_WRITE, 0);
	desc(f, 5, INDIR_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(f, 5);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_cmpuint(f->c->head, ==, 5);
	g_assert_cmpuint(f->c->nr_out, ==, 1);
	g_assert_cmpuint(f->c->nr_in, ==, 2);
	g_assert_cmpuint(f->c->out_len, ==, 10);
	g_assert_cmpuint(f->c->in_len, ==, 50);
	g_assert_true(f->c->iov[0].iov_base == host(f, BUF_GPA));
	g_assert_true(f->c->iov[1].iov_base == host(f, BUF_GPA + 0x100));
	g_assert_true(f->c->iov[2].iov_base == host(f, BUF_GPA + 0x200));
}

/* Pops one chain that must be refused with -EINVAL yet still name its head, so the
 * device can complete it with length 0; the next chain must then come out fine. */
static void expect_refused(struct fx *f, uint16_t head)
{
	offer(f, head);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, -EINVAL);
	g_assert_cmpuint(f->c->head, ==, head);
	desc(f, 15, BUF_GPA, 4, 0, 0);
	offer(f, 15);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_cmpuint(f->c->head, ==, 15);
	g_assert_cmpuint(f->c->out_len, ==, 4);
}

static void test_indirect_not_negotiated(struct fx *f, gconstpointer data)
{
	desc_at(f, INDIR_GPA, 0, BUF_GPA, 10, 0, 0);
	desc(f, 2, INDIR_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	expect_refused(f, 2);
}

static void test_indirect_nested(struct fx *f, gconstpointer data)
{
	f->q.indirect = true;
	desc_at(f, INDIR_GPA + 0x100, 0, BUF_GPA, 10, 0, 0);
	desc_at(f, INDIR_GPA, 0, INDIR_GPA + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	desc(f, 2, INDIR_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	expect_refused(f, 2);
}

static void test_indirect_with_next(struct fx *f, gconstpointer data)
{
	f->q.indirect = true;
	desc_at(f, INDIR_GPA, 0, BUF_GPA, 10, 0, 0);
	desc(f, 2, INDIR_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 3);
	desc(f, 3, BUF_GPA + 0x100, 10, VRING_DESC_F_WRITE, 0);
	expect_refused(f, 2);
}

static void test_indirect_bad_len(struct fx *f, gconstpointer data)
{
	f->q.indirect = true;
	for (unsigned int i = 0; i < 4; i++)
		desc_at(f, INDIR_GPA, i, BUF_GPA, 10, 0, 0);
	desc(f, 2, INDIR_GPA, 40, VRING_DESC_F_INDIRECT, 0); /* not a multiple of 16 */
	expect_refused(f, 2);
	desc(f, 2, INDIR_GPA, 0, VRING_DESC_F_INDIRECT, 0); /* empty table */
	expect_refused(f, 2);
	desc(f, 2, INDIR_GPA, (VIRTQ_MAX_SEGS + 1) * 16, VRING_DESC_F_INDIRECT, 0); /* too long */
	expect_refused(f, 2);
	desc(f, 2, RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0); /* table leaves RAM */
	expect_refused(f, 2);
}

/* An indirect table stands alone: not after direct descriptors in the same chain. */
static void test_indirect_after_direct(struct fx *f, gconstpointer data)
{
	f->q.indirect = true;
	desc_at(f, INDIR_GPA, 0, BUF_GPA, 10, 0, 0);
	desc(f, 2, BUF_GPA + 0x100, 10, VRING_DESC_F_NEXT, 3);
	desc(f, 3, INDIR_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	expect_refused(f, 2);
}

/* A loop inside an indirect table is bounded by the table's length. */
static void test_indirect_loop(struct fx *f, gconstpointer data)
{
	f->q.indirect = true;
	desc_at(f, INDIR_GPA, 0, BUF_GPA, 10, VRING_DESC_F_NEXT, 1);
	desc_at(f, INDIR_GPA, 1, BUF_GPA, 10, VRING_DESC_F_NEXT, 0);
	desc(f, 2, INDIR_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	expect_refused(f, 2);
	/* ... and so is a next index past its end. */
	desc_at(f, INDIR_GPA, 1, BUF_GPA, 10, VRING_DESC_F_NEXT, 2);
	expect_refused(f, 2);
}

static void test_buffer_outside_ram(struct fx *f, gconstpointer data)
{
	desc(f, 4, BUF_GPA, 10, VRING_DESC_F_NEXT, 5);
	desc(f, 5, 2 * RAM_SIZE, 10, VRING_DESC_F_WRITE, 0);
	expect_refused(f, 4);
	/* An address that wraps around the 64-bit space. */
	desc(f, 5, ~0ULL - 4, 10, VRING_DESC_F_WRITE, 0);
	expect_refused(f, 4);
}

static void test_buffer_straddles_end(struct fx *f, gconstpointer data)
{
	desc(f, 4, RAM_SIZE - 0x100, 0x101, 0, 0);
	expect_refused(f, 4);
	/* Ending exactly at the last byte of RAM is fine. */
	desc(f, 4, RAM_SIZE - 0x100, 0x100, 0, 0);
	offer(f, 4);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_true(f->c->iov[0].iov_base == host(f, RAM_SIZE - 0x100));
}

static void test_loop(struct fx *f, gconstpointer data)
{
	desc(f, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
	desc(f, 1, BUF_GPA, 8, VRING_DESC_F_NEXT, 0);
	expect_refused(f, 0);
	desc(f, 6, BUF_GPA, 8, VRING_DESC_F_NEXT, 6); /* a descriptor pointing at itself */
	expect_refused(f, 6);
}

static void test_next_out_of_range(struct fx *f, gconstpointer data)
{
	desc(f, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, QSIZE);
	expect_refused(f, 0);
	desc(f, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 0xffff);
	expect_refused(f, 0);
}

static void test_readable_after_writable(struct fx *f, gconstpointer data)
{
	desc(f, 0, BUF_GPA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	desc(f, 1, BUF_GPA + 8, 8, 0, 0);
	expect_refused(f, 0);
}

/* avail->idx may run at most size entries ahead of what the device took. */
static void test_avail_idx_jump(struct fx *f, gconstpointer data)
{
	for (unsigned int i = 0; i < QSIZE; i++)
		desc(f, i, BUF_GPA + 8 * i, 8, 0, 0);
	put16(f, AVAIL_IDX, QSIZE + 1);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, -EFAULT);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, -EFAULT); /* and stays refused */
	/* Exactly a full ring is legal: all QSIZE entries come out. */
	for (unsigned int i = 0; i < QSIZE; i++)
		put16(f, AVAIL_RING(i), QSIZE - 1 - i);
	put16(f, AVAIL_IDX, QSIZE);
	for (unsigned int i = 0; i < QSIZE; i++) {
		g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
		g_assert_cmpuint(f->c->head, ==, QSIZE - 1 - i);
	}
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 0);
}

/* A head index outside the table cannot be completed: the ring itself is corrupt. */
static void test_head_out_of_range(struct fx *f, gconstpointer data)
{
	offer(f, QSIZE);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, -EFAULT);
}

/* What devices call: a broken ring stops the queue and tells its handler once; a chain
 * that breaks a descriptor rule comes back as -EINVAL with its head, and the next one follows. */
static unsigned int broken_calls;
static void count_broken(void *opaque, const char *why)
{
	g_assert_nonnull(why);
	broken_calls++;
	*(bool *)opaque = true;
}

static void test_take(struct fx *f, gconstpointer data)
{
	bool told = false;
	broken_calls = 0;
	virtq_set_broken_handler(&f->q, "test queue 0", count_broken, &told);
	desc(f, 0, BUF_GPA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	desc(f, 1, BUF_GPA + 8, 8, 0, 0); /* readable after writable */
	desc(f, 2, BUF_GPA, 4, 0, 0);
	offer(f, 0);
	offer(f, 2);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "test queue 0: chain 0 refused*");
	g_assert_cmpint(virtq_take(&f->q, f->c), ==, -EINVAL);
	g_test_assert_expected_messages();
	g_assert_cmpuint(f->c->head, ==, 0);
	g_assert_cmpint(virtq_take(&f->q, f->c), ==, 1);
	g_assert_cmpuint(f->c->head, ==, 2);
	g_assert_cmpint(virtq_take(&f->q, f->c), ==, 0);
	g_assert_false(told);

	put16(f, AVAIL_IDX, (uint16_t)(get16(f, AVAIL_IDX) + QSIZE + 1)); /* claims more than the ring */
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
			      "test queue 0: the available ring is corrupt*");
	g_assert_cmpint(virtq_take(&f->q, f->c), ==, 0);
	g_test_assert_expected_messages();
	g_assert_true(told);
	g_assert_true(f->q.broken);
	g_assert_false(f->q.ready);
	g_assert_cmpint(virtq_take(&f->q, f->c), ==, 0); /* stays stopped, told once */
	g_assert_cmpuint(broken_calls, ==, 1);

	/* A reset keeps who to tell; activating again clears the breakage. */
	virtq_reset(&f->q);
	f->q.size = QSIZE;
	f->q.desc_gpa = DESC_GPA;
	f->q.avail_gpa = AVAIL_GPA;
	f->q.used_gpa = USED_GPA;
	g_assert_true(f->q.on_broken == count_broken);
	g_assert_cmpstr(f->q.name, ==, "test queue 0");
	put16(f, AVAIL_IDX, 0);
	f->avail_idx = 0;
	g_assert_true(virtq_activate(&f->q, &f->mem));
	g_assert_false(f->q.broken);
	offer(f, 2);
	g_assert_cmpint(virtq_take(&f->q, f->c), ==, 1);
}

static void test_activate(void)
{
	struct guest_mem mem = { 0 };
	fakemem_add(&mem, 0, RAM_SIZE);
	struct virtq good = {
		.size = QSIZE, .desc_gpa = DESC_GPA, .avail_gpa = AVAIL_GPA, .used_gpa = USED_GPA
	};
	struct virtq q = good;
	g_assert_true(virtq_activate(&q, &mem));
	g_assert_true(q.ready);

	/* Each ring may end at the end of RAM, trailing event word included, but not
	 * reach past it (the used ring's 134 bytes end 2 short to keep 4-byte alignment). */
	static const struct {
		size_t field;
		uint64_t fits, past;
	} edge[] = {
		{ offsetof(struct virtq, desc_gpa), RAM_SIZE - 16 * QSIZE, RAM_SIZE - 16 * QSIZE + 16 },
		{ offsetof(struct virtq, avail_gpa), RAM_SIZE - (6 + 2 * QSIZE),
		  RAM_SIZE - (6 + 2 * QSIZE) + 2 },
		{ offsetof(struct virtq, used_gpa), RAM_SIZE - (8 + 8 * QSIZE),
		  RAM_SIZE - (8 + 8 * QSIZE) + 4 },
		{ offsetof(struct virtq, desc_gpa), DESC_GPA, 4 * RAM_SIZE },
	};
	for (unsigned int i = 0; i < G_N_ELEMENTS(edge); i++) {
		q = good;
		memcpy((uint8_t *)&q + edge[i].field, &edge[i].fits, 8);
		g_assert_true(virtq_activate(&q, &mem));
		memcpy((uint8_t *)&q + edge[i].field, &edge[i].past, 8);
		g_assert_false(virtq_activate(&q, &mem));
		g_assert_false(q.ready);
	}
	/* Alignment: descriptors 16, available ring 2, used ring 4 (spec 2.7). */
	q = good;
	q.desc_gpa += 8;
	g_assert_false(virtq_activate(&q, &mem));
	q = good;
	q.avail_gpa += 1;
	g_assert_false(virtq_activate(&q, &mem));
	q = good;
	q.used_gpa += 2;
	g_assert_false(virtq_activate(&q, &mem));
	/* Size: a power of two from 1 to VIRTQ_MAX_SIZE. */
	q = good;
	q.size = 0;
	g_assert_false(virtq_activate(&q, &mem));
	q = good;
	q.size = 12;
	g_assert_false(virtq_activate(&q, &mem));
	q = good;
	q.size = 2 * VIRTQ_MAX_SIZE;
	g_assert_false(virtq_activate(&q, &mem));
	q = good;
	q.size = 1;
	g_assert_true(virtq_activate(&q, &mem));
	fakemem_free(&mem);
}

static void test_push(struct fx *f, gconstpointer data)
{
	virtq_push(&f->q, 5, 77);
	g_assert_cmpuint(get32(f, USED_ELEM(0)), ==, 5);
	g_assert_cmpuint(get32(f, USED_ELEM(0) + 4), ==, 77);
	g_assert_cmpuint(get16(f, USED_IDX), ==, 1);
	virtq_push(&f->q, 9, 0);
	g_assert_cmpuint(get32(f, USED_ELEM(1)), ==, 9);
	g_assert_cmpuint(get32(f, USED_ELEM(1) + 4), ==, 0);
	g_assert_cmpuint(get16(f, USED_IDX), ==, 2);
	/* The ring wraps; the index keeps counting. */
	for (unsigned int i = 2; i < QSIZE + 3; i++)
		virtq_push(&f->q, i % QSIZE, 1000 + i);
	g_assert_cmpuint(get16(f, USED_IDX), ==, QSIZE + 3);
	g_assert_cmpuint(get32(f, USED_ELEM(2) + 4), ==, 1000 + QSIZE + 2);
	g_assert_cmpuint(get32(f, USED_ELEM(3) + 4), ==, 1000 + 3);
	/* Nothing is written while the queue is not ready. */
	f->q.ready = false;
	virtq_push(&f->q, 1, 1);
	g_assert_cmpuint(get16(f, USED_IDX), ==, QSIZE + 3);
}

static void test_event_idx_avail_event(struct fx *f, gconstpointer data)
{
	f->q.event_idx = true;
	for (unsigned int i = 0; i < 3; i++) {
		desc(f, i, BUF_GPA, 8, 0, 0);
		offer(f, i);
	}
	for (unsigned int i = 1; i <= 3; i++) {
		g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
		g_assert_cmpuint(get16(f, AVAIL_EVENT), ==, i);
	}
}

/* The driver's used_event: interrupt only when used->idx steps past it
 * (vring_need_event(used_event, new, old) = (u16)(new - used_event - 1) < (u16)(new - old)). */
static void test_event_idx_needs_interrupt(struct fx *f, gconstpointer data)
{
	f->q.event_idx = true;
	put16(f, USED_EVENT, 0);
	virtq_push(&f->q, 0, 0);
	g_assert_true(virtq_needs_interrupt(&f->q)); /* first one: nothing signalled yet */
	put16(f, USED_EVENT, 1);
	virtq_push(&f->q, 0, 0); /* idx 1 -> 2 passes 1 */
	g_assert_true(virtq_needs_interrupt(&f->q));
	put16(f, USED_EVENT, 4);
	virtq_push(&f->q, 0, 0); /* 3 */
	g_assert_false(virtq_needs_interrupt(&f->q));
	virtq_push(&f->q, 0, 0); /* 4 */
	g_assert_false(virtq_needs_interrupt(&f->q));
	virtq_push(&f->q, 0, 0); /* 5: entry 4 was used */
	g_assert_true(virtq_needs_interrupt(&f->q));
	g_assert_false(virtq_needs_interrupt(&f->q)); /* nothing new since */
	/* A batch of three that crosses used_event in the middle. */
	put16(f, USED_EVENT, 6);
	for (int i = 0; i < 3; i++)
		virtq_push(&f->q, 0, 0); /* 8 */
	g_assert_true(virtq_needs_interrupt(&f->q));
	/* used_event behind the window: the driver has not caught up, stay quiet. */
	put16(f, USED_EVENT, 2);
	virtq_push(&f->q, 0, 0);
	g_assert_false(virtq_needs_interrupt(&f->q));
	/* Across the 16-bit wrap of the index. */
	while (f->q.used_idx != 0xfffe)
		virtq_push(&f->q, 0, 0);
	put16(f, USED_EVENT, 0xffff);
	g_assert_false(virtq_needs_interrupt(&f->q));
	virtq_push(&f->q, 0, 0); /* 0xffff */
	g_assert_false(virtq_needs_interrupt(&f->q));
	virtq_push(&f->q, 0, 0); /* 0x0000: entry 0xffff used */
	g_assert_true(virtq_needs_interrupt(&f->q));
	/* The driver's flags are ignored with event-idx. */
	put16(f, AVAIL_GPA, VRING_AVAIL_F_NO_INTERRUPT);
	put16(f, USED_EVENT, 0);
	virtq_push(&f->q, 0, 0);
	g_assert_true(virtq_needs_interrupt(&f->q));
}

static void test_no_interrupt_flag(struct fx *f, gconstpointer data)
{
	virtq_push(&f->q, 0, 0);
	g_assert_true(virtq_needs_interrupt(&f->q));
	put16(f, AVAIL_GPA, VRING_AVAIL_F_NO_INTERRUPT);
	virtq_push(&f->q, 0, 0);
	g_assert_false(virtq_needs_interrupt(&f->q));
	put16(f, AVAIL_GPA, 0);
	g_assert_true(virtq_needs_interrupt(&f->q));
	/* used_event means nothing without event-idx. */
	put16(f, USED_EVENT, 100);
	g_assert_true(virtq_needs_interrupt(&f->q));
}

static void test_set_notification(struct fx *f, gconstpointer data)
{
	desc(f, 0, BUF_GPA, 8, 0, 0);
	g_assert_false(virtq_set_notification(&f->q, false));
	g_assert_cmpuint(get16(f, USED_FLAGS), ==, VRING_USED_F_NO_NOTIFY);
	g_assert_false(virtq_set_notification(&f->q, true)); /* nothing arrived */
	g_assert_cmpuint(get16(f, USED_FLAGS), ==, 0);
	virtq_set_notification(&f->q, false);
	offer(f, 0); /* arrives while suppressed */
	g_assert_true(virtq_set_notification(&f->q, true));
	g_assert_cmpuint(get16(f, USED_FLAGS), ==, 0);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_false(virtq_set_notification(&f->q, true));
}

static void test_set_notification_event_idx(struct fx *f, gconstpointer data)
{
	f->q.event_idx = true;
	desc(f, 0, BUF_GPA, 8, 0, 0);
	offer(f, 0);
	offer(f, 0);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	virtq_set_notification(&f->q, false);
	/* Re-enabling republishes avail_event and sees the entry still waiting. */
	put16(f, AVAIL_EVENT, 0);
	g_assert_true(virtq_set_notification(&f->q, true));
	g_assert_cmpuint(get16(f, AVAIL_EVENT), ==, 1);
	g_assert_cmpuint(get16(f, USED_FLAGS), ==, 0); /* flags untouched with event-idx */
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_false(virtq_set_notification(&f->q, true));
	g_assert_cmpuint(get16(f, AVAIL_EVENT), ==, 2);
}

/* Segments of 3, 5 and 8 readable bytes, then 4, 4 and 10 writable ones, at scattered
 * addresses: copies must stitch across the boundaries and start at the offset. */
static void test_copy(struct fx *f, gconstpointer data)
{
	static const uint32_t out_len[] = { 3, 5, 8 }, in_len[] = { 4, 4, 10 };
	uint64_t gpa = BUF_GPA;
	uint8_t *out_host[3];
	for (unsigned int i = 0; i < 3; i++, gpa += 0x100) {
		desc(f, i, gpa, out_len[i], VRING_DESC_F_NEXT, i + 1);
		out_host[i] = host(f, gpa);
	}
	uint8_t *in_host[3];
	for (unsigned int i = 0; i < 3; i++, gpa += 0x100) {
		desc(f, 3 + i, gpa, in_len[i], VRING_DESC_F_WRITE | (i < 2 ? VRING_DESC_F_NEXT : 0), 4 + i);
		in_host[i] = host(f, gpa);
		memset(in_host[i], 0xee, in_len[i] + 1);
	}
	memcpy(out_host[0], "abc", 3);
	memcpy(out_host[1], "defgh", 5);
	memcpy(out_host[2], "ijklmnop", 8);
	offer(f, 0);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);

	char buf[32] = { 0 };
	struct virtq_cursor r, w, head;
	virtq_reader(f->c, &r);
	g_assert_cmpuint(virtq_cursor_left(&r), ==, 16);
	g_assert_cmpuint(virtq_skip(&r, 2), ==, 2);
	g_assert_cmpuint(virtq_read(&r, buf, 10), ==, 10); /* across two segment boundaries */
	g_assert_cmpstr(buf, ==, "cdefghijkl");
	g_assert_false(virtq_read_obj(&r, buf, 5)); /* 4 left: all or nothing */
	g_assert_cmpuint(virtq_cursor_left(&r), ==, 4);
	memset(buf, 0, sizeof(buf));
	g_assert_cmpuint(virtq_read(&r, buf, sizeof(buf)), ==, 4); /* short */
	g_assert_cmpstr(buf, ==, "mnop");
	g_assert_cmpuint(virtq_read(&r, buf, 4), ==, 0); /* past the end */
	g_assert_cmpuint(virtq_cursor_done(&r), ==, 16);

	/* split_at: the head sees its bytes only, the rest goes on after them. */
	virtq_reader(f->c, &r);
	virtq_split_at(&r, 8, &head);
	g_assert_cmpuint(virtq_cursor_left(&head), ==, 8);
	g_assert_cmpuint(virtq_cursor_left(&r), ==, 8);
	g_assert_cmpuint(virtq_cursor_done(&r), ==, 0); /* a view of its own from the split */
	memset(buf, 0, sizeof(buf));
	g_assert_cmpuint(virtq_read(&head, buf, sizeof(buf)), ==, 8);
	g_assert_cmpstr(buf, ==, "abcdefgh");
	g_assert_true(virtq_read_obj(&r, buf, 8));
	g_assert_cmpmem(buf, 8, "ijklmnop", 8);
	struct iovec iov[3];
	virtq_reader(f->c, &r);
	virtq_skip(&r, 4);
	virtq_split_at(&r, 6, &head);
	g_assert_cmpint(virtq_cursor_iov(&head, iov, 3), ==, 2); /* "defgh" then "i" */
	g_assert_cmpuint(iov[0].iov_len, ==, 4);
	g_assert_true(iov[0].iov_base == out_host[1] + 1);
	g_assert_cmpuint(iov[1].iov_len, ==, 2);
	g_assert_true(iov[1].iov_base == out_host[2]);
	g_assert_cmpint(virtq_cursor_iov(&head, iov, 1), ==, -1); /* never truncated silently */

	virtq_writer(f->c, &w);
	g_assert_cmpuint(virtq_cursor_left(&w), ==, 18);
	virtq_skip(&w, 3);
	g_assert_cmpuint(virtq_write(&w, "0123456789", 10), ==, 10);
	g_assert_cmpmem(in_host[0], 5,
			"\xee\xee\xee"
			"0\xee",
			5);
	g_assert_cmpmem(in_host[1], 5, "1234\xee", 5);
	g_assert_cmpmem(in_host[2], 6, "56789\xee", 6);
	virtq_writer(f->c, &w);
	virtq_skip(&w, 12);
	g_assert_false(virtq_write_obj(&w, "ABCDEFGHIJ", 10)); /* 6 left: nothing written */
	g_assert_cmpmem(in_host[2], 6, "56789\xee", 6);
	g_assert_cmpuint(virtq_write(&w, "ABCDEFGHIJ", 10), ==, 6); /* short */
	g_assert_cmpmem(in_host[2], 11, "5678ABCDEF\xee", 11);
	g_assert_cmpuint(virtq_cursor_done(&w), ==, 18);
	/* Past the end of the writable part nothing is copied, and never into the readable part. */
	g_assert_cmpuint(virtq_write(&w, "x", 1), ==, 0);
	g_assert_cmpmem(out_host[0], 3, "abc", 3);
}

/* A device that took buffers it could not fill gives them back; several chains pushed
 * at once appear to the guest with one used->idx update. */
static void test_unpop_push_many(struct fx *f, gconstpointer data)
{
	for (unsigned int i = 0; i < 3; i++) {
		desc(f, i, BUF_GPA + 0x100 * i, 64, VRING_DESC_F_WRITE, 0);
		offer(f, (uint16_t)i);
	}
	g_assert_false(virtq_empty(&f->q));
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_cmpuint(f->c->head, ==, 1);
	virtq_unpop(&f->q, 2);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_cmpuint(f->c->head, ==, 0);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_cmpint(virtq_pop(&f->q, f->c), ==, 1);
	g_assert_cmpuint(f->c->head, ==, 2);
	g_assert_true(virtq_empty(&f->q));
	uint16_t heads[3] = { 0, 1, 2 };
	uint32_t lens[3] = { 64, 64, 10 };
	virtq_push_many(&f->q, heads, lens, 3);
	g_assert_cmpuint(get16(f, USED_IDX), ==, 3);
	for (unsigned int i = 0; i < 3; i++) {
		g_assert_cmpuint(get32(f, USED_ELEM(i)), ==, heads[i]);
		g_assert_cmpuint(get32(f, USED_ELEM(i) + 4), ==, lens[i]);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define T(path, fn) g_test_add("/virtq/" path, struct fx, NULL, fx_setup, fn, fx_teardown)
	T("pop/empty", test_empty);
	T("pop/chain", test_chain);
	T("pop/unpop", test_unpop);
	T("pop/chain-full-table", test_chain_full_table);
	T("pop/indirect", test_indirect);
	T("pop/indirect-not-negotiated", test_indirect_not_negotiated);
	T("pop/indirect-nested", test_indirect_nested);
	T("pop/indirect-with-next", test_indirect_with_next);
	T("pop/indirect-bad-len", test_indirect_bad_len);
	T("pop/indirect-after-direct", test_indirect_after_direct);
	T("pop/indirect-loop", test_indirect_loop);
	T("pop/buffer-outside-ram", test_buffer_outside_ram);
	T("pop/buffer-straddles-end", test_buffer_straddles_end);
	T("pop/loop", test_loop);
	T("pop/next-out-of-range", test_next_out_of_range);
	T("pop/readable-after-writable", test_readable_after_writable);
	T("pop/avail-idx-jump", test_avail_idx_jump);
	T("pop/head-out-of-range", test_head_out_of_range);
	T("take", test_take);
	g_test_add_func("/virtq/activate", test_activate);
	T("push", test_push);
	T("unpop-push-many", test_unpop_push_many);
	T("event-idx/avail-event", test_event_idx_avail_event);
	T("event-idx/needs-interrupt", test_event_idx_needs_interrupt);
	T("no-interrupt-flag", test_no_interrupt_flag);
	T("set-notification", test_set_notification);
	T("set-notification/event-idx", test_set_notification_event_idx);
	T("copy", test_copy);
#undef T
	return g_test_run();
}
