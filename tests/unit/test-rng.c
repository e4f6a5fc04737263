/* virtio-rng against fake guest RAM, with the PCI transport stubbed out (the test includes
 * devices/virtio/rng.c): buffers come back full of bytes that are not all equal, a chain of
 * several buffers is filled across them, and the rate limit holds a guest that asks for more
 * than its budget: the buffers beyond it wait in the queue (not answered empty), and are
 * served once the budget has refilled. The clock is passed in, so nothing here depends on time. */
#include "devices/virtio/rng.c"

#include <glib.h>

#include "devices/snapshot.h"
#include "tests/unit/fakemem.h"

#define RAM   0x400000ULL
#define QSIZE 64
#define DESC  0x1000ULL
#define AVAIL 0x2000ULL
#define USED  0x3000ULL
#define BUF   0x10000ULL
#define BUFSZ 0x8000u /* 32 KiB per buffer */

static struct virtq *test_queue;
static unsigned int interrupts;
struct virtq *virtio_pci_queue(struct virtio_pci_dev *vp, unsigned int q) { return test_queue; }
void virtio_pci_queue_interrupt(struct virtio_pci_dev *vp, unsigned int q) { interrupts++; }
void virtio_pci_set_needs_reset(struct virtio_pci_dev *vp, const char *why) {}
void virtio_pci_kick(struct virtio_pci_dev *vp, unsigned int q) {}
struct virtio_pci_dev *virtio_pci_create(struct vm_host *host, const char *name,
					 const struct virtio_device_ops *ops, uint64_t features, void *dev,
					 GError **error)
{
	return NULL;
}
void virtio_pci_destroy(struct virtio_pci_dev *vp) {}

struct guest {
	struct guest_mem mem;
	struct virtq q;
	uint16_t avail_idx;
};

static void guest_init(struct guest *g)
{
	memset(g, 0, sizeof(*g));
	fakemem_add(&g->mem, 0, RAM);
	g->q = (struct virtq){ .size = QSIZE, .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED };
	g_assert_true(virtq_activate(&g->q, &g->mem));
	test_queue = &g->q;
}

static void put_desc(struct guest *g, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *d = fakemem_at(&g->mem, DESC + 16ULL * i, 16);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void make_available(struct guest *g, uint16_t head)
{
	memcpy(fakemem_at(&g->mem, AVAIL + 4 + 2 * (g->avail_idx % QSIZE), 2), &head, 2);
	g->avail_idx++;
	memcpy(fakemem_at(&g->mem, AVAIL + 2, 2), &g->avail_idx, 2);
}

static uint16_t used_idx(struct guest *g) { return fakemem_rd16(&g->mem, USED + 2); }
static uint32_t used_len(struct guest *g, unsigned int i)
{
	return fakemem_rd32(&g->mem, USED + 4 + 8ULL * i + 4);
}

static bool all_same(const uint8_t *p, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (p[i] != p[0])
			return false;
	return true;
}

static void test_fills_buffers(void)
{
	struct guest g;
	guest_init(&g);
	struct virtio_rng *r = rng_new(NULL);
	/* One 64-byte buffer, then a chain of three writable buffers (16 + 1 + 100 bytes). */
	put_desc(&g, 0, BUF, 64, VRING_DESC_F_WRITE, 0);
	make_available(&g, 0);
	put_desc(&g, 1, BUF + 0x1000, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	put_desc(&g, 2, BUF + 0x2000, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	put_desc(&g, 3, BUF + 0x3000, 100, VRING_DESC_F_WRITE, 0);
	make_available(&g, 1);
	/* A buffer the device may only read gets an empty answer. */
	put_desc(&g, 4, BUF + 0x4000, 32, 0, 0);
	make_available(&g, 4);
	g_assert_true(rng_serve(r, &g.q, r->refill_us));
	g_assert_cmpuint(used_idx(&g), ==, 3);
	g_assert_cmpuint(used_len(&g, 0), ==, 64);
	g_assert_cmpuint(used_len(&g, 1), ==, 117);
	g_assert_cmpuint(used_len(&g, 2), ==, 0);
	g_assert_false(all_same(fakemem_at(&g.mem, BUF, 64), 64));
	g_assert_false(all_same(fakemem_at(&g.mem, BUF + 0x3000, 100), 100));
	g_assert_cmpuint(r->served, ==, 64 + 117);
	virtio_rng_destroy(r);
	fakemem_free(&g.mem);
}

/* Asking for far more than the burst: the device stops at the budget, leaves the rest
 * waiting, and serves again only as the budget refills with time. */
static void test_rate_limited(void)
{
	struct guest g;
	guest_init(&g);
	struct virtio_rng *r = rng_new(NULL);
	gint64 t = r->refill_us;
	const unsigned int n = QSIZE; /* 64 buffers of 32 KiB: 2 MiB wanted */
	for (unsigned int i = 0; i < n; i++) {
		put_desc(&g, i, BUF + (uint64_t)i * BUFSZ % (RAM - BUF - BUFSZ), BUFSZ, VRING_DESC_F_WRITE,
			 0);
		make_available(&g, (uint16_t)i);
	}
	g_assert_false(rng_serve(r, &g.q, t));
	g_assert_cmpuint(r->served, ==, VIRTIO_RNG_BURST);
	uint16_t answered = used_idx(&g);
	g_assert_cmpuint(answered, ==, VIRTIO_RNG_BURST / BUFSZ);
	for (unsigned int i = 0; i < answered; i++)
		g_assert_cmpuint(used_len(&g, i), >, 0);
	/* No time passed: nothing more, and no buffer answered empty. */
	g_assert_false(rng_serve(r, &g.q, t));
	g_assert_cmpuint(used_idx(&g), ==, answered);
	/* A 32nd of a second refills a 32nd of the rate. */
	t += G_USEC_PER_SEC / 32;
	g_assert_false(rng_serve(r, &g.q, t));
	g_assert_cmpuint(r->served, ==, VIRTIO_RNG_BURST + VIRTIO_RNG_RATE / 32);
	/* A long idle spell refills only up to the burst. */
	t += 100 * G_USEC_PER_SEC;
	rng_serve(r, &g.q, t);
	g_assert_cmpuint(r->served, ==, 2 * VIRTIO_RNG_BURST + VIRTIO_RNG_RATE / 32);
	for (unsigned int i = 0; i < used_idx(&g); i++)
		g_assert_cmpuint(used_len(&g, i), >, 0);
	virtio_rng_destroy(r);
	fakemem_free(&g.mem);
}

/* Its section round-trips; another format byte or a longer section is refused. */
static void test_snapshot(void)
{
	for (unsigned int which = 0; which < 3; which++) {
		struct virtio_rng *r = rng_new(NULL);
		struct snap_writer w;
		snap_writer_init(&w);
		snap_begin(&w, "rng");
		if (which == 0) {
			g_assert_true(rng_save(r, &w, NULL));
		} else {
			snap_put_u8(&w, which == 1 ? RNG_SNAPSHOT_FORMAT + 1 : RNG_SNAPSHOT_FORMAT);
			if (which == 2)
				snap_put_u8(&w, 0);
		}
		snap_end(&w);
		g_autoptr(GBytes) b = snap_writer_finish(&w);
		snap_writer_clear(&w);
		g_autoptr(snap_file) f = snap_file_parse(b, "rng-test", NULL);
		g_assert_nonnull(f);
		struct snap_reader rd;
		snap_reader_init(&rd, snap_file_find(f, "rng"));
		g_autoptr(GError) error = NULL;
		bool ok = rng_load(r, &rd, &error) && snap_reader_done(&rd, &error);
		g_assert_true(ok == (which == 0));
		g_assert_true(ok == (error == NULL));
		virtio_rng_destroy(r);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rng/fills-buffers", test_fills_buffers);
	g_test_add_func("/rng/rate-limited", test_rate_limited);
	g_test_add_func("/rng/snapshot", test_snapshot);
	return g_test_run();
}
