/* virtio-blk request handling against fake guest RAM, with the PCI transport stubbed
 * out: the device code under test is devices/virtio/blk.c itself (included below so its
 * static request handler can be driven directly). Each case lays out one descriptor
 * chain, kicks the queue and checks the status byte, the used ring and the backing. */
#include "devices/virtio/blk.c"

#include <glib.h>
#include <sys/mman.h>

#define RAM   (1u << 20)
#define DESC  0x1000
#define AVAIL 0x2000
#define USED  0x3000

/* ---- the transport, stubbed: one queue, no interrupts ---- */
static struct virtq *test_queue;
static int needs_reset;
struct virtq *virtio_pci_queue(struct virtio_pci_dev *vp, unsigned int q) { return test_queue; }
void virtio_pci_queue_interrupt(struct virtio_pci_dev *vp, unsigned int q) {}
void virtio_pci_set_needs_reset(struct virtio_pci_dev *vp, const char *why) { needs_reset++; }
struct virtio_pci_dev *virtio_pci_create(struct vm_host *host, const char *name,
					 const struct virtio_device_ops *ops, uint64_t features, void *dev,
					 GError **error)
{
	return NULL;
}
void virtio_pci_destroy(struct virtio_pci_dev *vp) {}

/* ---- a backend in memory ---- */
#include "tests/unit/memdisk.h"

struct fx {
	uint8_t *ram;
	struct guest_mem mem;
	struct virtq q;
	struct block_backend backend;
	struct virtio_blk blk;
	uint16_t avail_idx;
};

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static void fx_init(struct fx *f, bool readonly)
{
	memset(f, 0, sizeof(*f));
	f->ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	f->mem.region[0] = (struct guest_mem_region){ 0, RAM, f->ram };
	f->mem.nr_regions = 1;
	f->q = (struct virtq){ .size = 16, .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED };
	g_assert_true(virtq_activate(&f->q, &f->mem));
	test_queue = &f->q;
	needs_reset = 0;
	f->backend = (struct block_backend){ .ops = &memdisk_ops,
					     .size = sizeof(memdisk_bytes),
					     .readonly = readonly };
	f->blk = (struct virtio_blk){ .name = "test-blk",
				      .disk = &f->backend,
				      .readonly = readonly,
				      .capacity = sizeof(memdisk_bytes) / 512 };
	for (size_t i = 0; i < sizeof(memdisk_bytes); i++)
		memdisk_bytes[i] = (uint8_t)(i * 7);
}

static void fx_fini(struct fx *f) { munmap(f->ram, RAM); }

/* Posts a chain of n descriptors starting at 0 and runs the device. */
static void submit(struct fx *f, const struct desc *d, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct desc e = d[i];
		if (i + 1 < n) {
			e.flags |= VRING_DESC_F_NEXT;
			e.next = (uint16_t)(i + 1);
		}
		memcpy(f->ram + DESC + 16 * i, &e, sizeof(e));
	}
	uint16_t head = 0;
	memcpy(f->ram + AVAIL + 4 + 2 * (f->avail_idx % 16), &head, 2);
	f->avail_idx++;
	memcpy(f->ram + AVAIL + 2, &f->avail_idx, 2);
	blk_queue_notify(&f->blk, 0);
}

static uint32_t used_len(struct fx *f, unsigned int i)
{
	uint32_t len;
	memcpy(&len, f->ram + USED + 4 + 8 * i + 4, 4);
	return len;
}

static void put_header(struct fx *f, uint64_t gpa, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };
	memcpy(f->ram + gpa, &h, sizeof(h));
}

static void test_read(void)
{
	struct fx f;
	fx_init(&f, false);
	put_header(&f, 0x10000, VIRTIO_BLK_T_IN, 2);
	f.ram[0x12000] = 0xee;
	struct desc d[] = { { 0x10000, 16, 0, 0 },
			    { 0x11000, 1024, VRING_DESC_F_WRITE, 0 },
			    { 0x12000, 1, VRING_DESC_F_WRITE, 0 } };
	submit(&f, d, 3);
	g_assert_cmpuint(f.ram[0x12000], ==, VIRTIO_BLK_S_OK);
	g_assert_cmpmem(f.ram + 0x11000, 1024, memdisk_bytes + 1024, 1024);
	g_assert_cmpuint(used_len(&f, 0), ==, 1025);
	fx_fini(&f);
}

static void test_write_and_readonly(void)
{
	struct fx f;
	for (int ro = 0; ro < 2; ro++) {
		fx_init(&f, ro);
		put_header(&f, 0x10000, VIRTIO_BLK_T_OUT, 1);
		memset(f.ram + 0x11000, 0x5a, 512);
		struct desc d[] = { { 0x10000, 16, 0, 0 },
				    { 0x11000, 512, 0, 0 },
				    { 0x12000, 1, VRING_DESC_F_WRITE, 0 } };
		submit(&f, d, 3);
		g_assert_cmpuint(f.ram[0x12000], ==, ro ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
		g_assert_cmpuint(memdisk_bytes[512], ==, ro ? (uint8_t)(512 * 7) : 0x5a);
		fx_fini(&f);
	}
}

static void test_out_of_range(void)
{
	struct fx f;
	fx_init(&f, false);
	put_header(&f, 0x10000, VIRTIO_BLK_T_IN, 63); /* the last sector, then one past it */
	struct desc d[] = { { 0x10000, 16, 0, 0 },
			    { 0x11000, 1024, VRING_DESC_F_WRITE, 0 },
			    { 0x12000, 1, VRING_DESC_F_WRITE, 0 } };
	submit(&f, d, 3);
	g_assert_cmpuint(f.ram[0x12000], ==, VIRTIO_BLK_S_IOERR);
	fx_fini(&f);
}

/* The status byte is the last byte of the writable part, however the guest split it: an
 * empty last descriptor is never written through (it once wrote through a NULL base), and
 * a writable part that is all empty descriptors gets length 0 and no status. */
static void test_empty_last_writable(void)
{
	struct fx f;
	fx_init(&f, false);
	put_header(&f, 0x10000, VIRTIO_BLK_T_FLUSH, 0);
	f.ram[0x11000] = 0xee;
	struct desc d[] = { { 0x10000, 16, 0, 0 },
			    { 0x11000, 1, VRING_DESC_F_WRITE, 0 },
			    { 0x12000, 0, VRING_DESC_F_WRITE, 0 } };
	submit(&f, d, 3);
	g_assert_cmpuint(used_len(&f, 0), ==, 1);
	g_assert_cmpuint(f.ram[0x11000], ==, VIRTIO_BLK_S_OK);
	f.ram[0x11000] = 0xee;
	struct desc all_empty[] = { { 0x10000, 16, 0, 0 },
				    { 0x11000, 0, VRING_DESC_F_WRITE, 0 },
				    { 0x12000, 0, VRING_DESC_F_WRITE, 0 } };
	submit(&f, all_empty, 3);
	g_assert_cmpuint(used_len(&f, 1), ==, 0);
	g_assert_cmpuint(f.ram[0x11000], ==, 0xee);
	fx_fini(&f);
}

/* No writable part at all, or a header shorter than 16 bytes: length 0, no status. */
static void test_malformed(void)
{
	struct fx f;
	fx_init(&f, false);
	put_header(&f, 0x10000, VIRTIO_BLK_T_IN, 0);
	struct desc no_status[] = { { 0x10000, 16, 0, 0 } };
	submit(&f, no_status, 1);
	g_assert_cmpuint(used_len(&f, 0), ==, 0);
	f.ram[0x12000] = 0xee;
	struct desc short_header[] = { { 0x10000, 8, 0, 0 }, { 0x12000, 1, VRING_DESC_F_WRITE, 0 } };
	submit(&f, short_header, 2);
	g_assert_cmpuint(used_len(&f, 1), ==, 0);
	g_assert_cmpuint(f.ram[0x12000], ==, 0xee);
	/* A buffer outside guest RAM: the chain is refused, the request completed empty. */
	struct desc outside[] = { { 0x10000, 16, 0, 0 }, { RAM - 8, 64, VRING_DESC_F_WRITE, 0 } };
	submit(&f, outside, 2);
	g_assert_cmpuint(used_len(&f, 2), ==, 0);
	g_assert_cmpint(needs_reset, ==, 0);
	fx_fini(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
	g_log_set_handler(NULL, G_LOG_LEVEL_WARNING, g_log_default_handler, NULL);
	g_test_add_func("/blk/read", test_read);
	g_test_add_func("/blk/write-and-readonly", test_write_and_readonly);
	g_test_add_func("/blk/out-of-range", test_out_of_range);
	g_test_add_func("/blk/empty-last-writable", test_empty_last_writable);
	g_test_add_func("/blk/malformed", test_malformed);
	return g_test_run();
}

/* The device is given its backend directly; opening files is not under test here. */
struct block_backend *block_open_format(const char *path, const char *format, bool readonly, GError **error)
{
	return NULL;
}
void block_close(struct block_backend *b) {}
