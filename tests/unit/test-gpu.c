/* virtio-gpu's pure parts: pixel format conversion to the framebuffer's XRGB8888, rectangle
 * bounds (overflow included) and the EDID a scanout reports; and its command handler in 2D
 * mode over fake guest RAM (tests/unit/fakegpu.h), where every host allocation a guest's
 * commands cause counts against one budget. The command paths also run against the real
 * device in tests/guest/gpu.c. */
#include <glib.h>
#include <string.h>

#include "devices/snapshot.h"
#include "devices/virtio/gpu_internal.h"
#include "tests/unit/fakegpu.h"

/* One pixel of colour R=0x11 G=0x22 B=0x33 (alpha/X 0x44) in each format's memory order. */
static void test_convert_formats(void)
{
	static const struct {
		uint32_t format;
		uint8_t bytes[4];
	} cases[] = {
		{ VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM, { 0x33, 0x22, 0x11, 0x44 } },
		{ VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, { 0x33, 0x22, 0x11, 0x44 } },
		{ VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM, { 0x44, 0x11, 0x22, 0x33 } },
		{ VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM, { 0x44, 0x11, 0x22, 0x33 } },
		{ VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM, { 0x11, 0x22, 0x33, 0x44 } },
		{ VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM, { 0x44, 0x33, 0x22, 0x11 } },
		{ VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM, { 0x44, 0x33, 0x22, 0x11 } },
		{ VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM, { 0x11, 0x22, 0x33, 0x44 } },
	};
	for (unsigned int i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_assert_true(gpu_format_supported(cases[i].format));
		/* A 3x2 picture with a padded source stride, into a wider destination. */
		uint8_t src[2][16], dst[2][20];
		memset(src, 0, sizeof(src));
		memset(dst, 0xaa, sizeof(dst));
		for (int y = 0; y < 2; y++)
			for (int x = 0; x < 3; x++)
				memcpy(&src[y][x * 4], cases[i].bytes, 4);
		gpu_convert_to_xrgb(cases[i].format, &src[0][0], 16, &dst[0][0], 20, 3, 2);
		for (int y = 0; y < 2; y++) {
			for (int x = 0; x < 3; x++) {
				g_assert_cmphex(dst[y][x * 4 + 0], ==, 0x33); /* B */
				g_assert_cmphex(dst[y][x * 4 + 1], ==, 0x22); /* G */
				g_assert_cmphex(dst[y][x * 4 + 2], ==, 0x11); /* R */
			}
			g_assert_cmphex(dst[y][12], ==, 0xaa); /* nothing past the width */
		}
	}
	g_assert_false(gpu_format_supported(0));
	g_assert_false(gpu_format_supported(99));
}

static void test_rect_inside(void)
{
	struct virtio_gpu_rect r = { 0, 0, 64, 48 };
	g_assert_true(gpu_rect_inside(&r, 64, 48));
	r = (struct virtio_gpu_rect){ 60, 0, 4, 1 };
	g_assert_true(gpu_rect_inside(&r, 64, 48));
	r = (struct virtio_gpu_rect){ 60, 0, 5, 1 };
	g_assert_false(gpu_rect_inside(&r, 64, 48));
	r = (struct virtio_gpu_rect){ 0xfffffff0u, 0, 0x20, 1 }; /* x + width wraps */
	g_assert_false(gpu_rect_inside(&r, 64, 48));
	r = (struct virtio_gpu_rect){ 0, 1, 1, 0xffffffffu };
	g_assert_false(gpu_rect_inside(&r, 64, 48));
	r = (struct virtio_gpu_rect){ 64, 48, 0, 0 }; /* empty, at the corner */
	g_assert_true(gpu_rect_inside(&r, 64, 48));
}

static void test_edid(void)
{
	uint8_t e[128];
	gpu_edid_build(e, 720, 1280, 320, 0);
	static const uint8_t header[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	g_assert_cmpmem(e, 8, header, 8);
	uint8_t sum = 0;
	for (int i = 0; i < 128; i++)
		sum = (uint8_t)(sum + e[i]);
	g_assert_cmpuint(sum, ==, 0);
	g_assert_cmpuint(e[18], ==, 1); /* EDID 1.4 */
	g_assert_cmpuint(e[19], ==, 4);
	/* The preferred timing: 720 x 1280 active pixels. */
	g_assert_cmpuint(e[56] | ((e[58] >> 4) << 8), ==, 720);
	g_assert_cmpuint(e[59] | ((e[61] >> 4) << 8), ==, 1280);
	/* 720 px at 320 dpi = 57 mm, 1280 px = 101 mm. */
	g_assert_cmpuint(e[66] | ((e[68] >> 4) << 8), ==, 57);
	g_assert_cmpuint(e[67] | ((e[68] & 0xf) << 8), ==, 101);
	g_assert_cmpuint(e[21], ==, 6); /* cm */
	g_assert_cmpuint(e[22], ==, 10);
	/* The pixel clock: (720 + 160) * (1280 + 30) * 60 Hz in 10 kHz units. */
	g_assert_cmpuint(e[54] | (e[55] << 8), ==, (880u * 1310 * 60 + 5000) / 10000);
	g_assert_cmpuint(e[75], ==, 0xfc); /* monitor name */
	g_assert_cmpmem(e + 77, 8, "sepia-0\n", 8);
	g_assert_cmpuint(e[126], ==, 0); /* no extensions */
}

/* ---- the host memory budget, through the command handler ---- */

#define RAM        (1u << 20)
#define PAGE_GPA   0x1000u
#define BACKING_KB (GPU_MAX_BACKING_ENTRIES * sizeof(struct iovec) / 1024)

static uint32_t create_2d(struct fakegpu *f, uint32_t id, uint32_t w, uint32_t h)
{
	struct virtio_gpu_resource_create_2d c = {
		.hdr.type = VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
		.resource_id = id,
		.format = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM,
		.width = w,
		.height = h,
	};
	return fakegpu_cmd1(f, &c, sizeof(c));
}

static uint32_t unref(struct fakegpu *f, uint32_t id)
{
	struct virtio_gpu_resource_unref u = { .hdr.type = VIRTIO_GPU_CMD_RESOURCE_UNREF, .resource_id = id };
	return fakegpu_cmd1(f, &u, sizeof(u));
}

static uint32_t detach(struct fakegpu *f, uint32_t id)
{
	struct virtio_gpu_resource_detach_backing d = { .hdr.type = VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
							.resource_id = id };
	return fakegpu_cmd1(f, &d, sizeof(d));
}

/* The largest backing a guest may attach: GPU_MAX_BACKING_ENTRIES entries, each one page of
 * guest RAM (the same page: the host array is what costs). */
static struct virtio_gpu_mem_entry *big_table(void)
{
	struct virtio_gpu_mem_entry *e = g_new(struct virtio_gpu_mem_entry, GPU_MAX_BACKING_ENTRIES);
	for (unsigned int i = 0; i < GPU_MAX_BACKING_ENTRIES; i++)
		e[i] = (struct virtio_gpu_mem_entry){ .addr = PAGE_GPA, .length = 4096 };
	return e;
}

static uint32_t attach(struct fakegpu *f, uint32_t id, const struct virtio_gpu_mem_entry *e, uint32_t n)
{
	struct virtio_gpu_resource_attach_backing a = { .hdr.type = VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
							.resource_id = id,
							.nr_entries = n };
	struct iovec out[2] = { { &a, sizeof(a) }, { (void *)e, (size_t)n * sizeof(*e) } };
	struct virtio_gpu_ctrl_hdr resp;
	return fakegpu_cmd(f, out, 2, &resp, sizeof(resp));
}

/* Counts the device's refusal lines. */
static unsigned int refusal_lines;
static void count_refusals(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
	if (strstr(msg, " refused: "))
		refusal_lines++;
}

/* Defect: each attach made the host hold up to 256 KiB of iovecs, uncounted, so a guest
 * grew the VMM without bound (400 commands, 100 MiB). They now count against
 * GPU_MAX_HOSTMEM with everything else, and detach and unref give them back. */
static void test_budget_backing(void)
{
	struct fakegpu f;
	fakegpu_init(&f, RAM, 1, 64, 48, NULL);
	g_autofree struct virtio_gpu_mem_entry *e = big_table();
	unsigned int limit = GPU_MAX_HOSTMEM / (BACKING_KB * 1024) + 2, accepted = 0, refused_at = 0;
	bool created = false; /* resource refused_at exists (only its attach was refused) */
	uint64_t per_resource = GPU_RESOURCE_COST + 4;
	for (uint32_t id = 1; id <= limit && !refused_at; id++) {
		uint32_t r = create_2d(&f, id, 1, 1);
		if (r == VIRTIO_GPU_RESP_OK_NODATA) {
			created = true;
			r = attach(&f, id, e, GPU_MAX_BACKING_ENTRIES);
		}
		if (r == VIRTIO_GPU_RESP_OK_NODATA)
			accepted++;
		else if (r == VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY)
			refused_at = id;
		else
			g_error("resource %u: answered 0x%x", id, r);
		g_assert_cmpuint(f.g->hostmem, <=, GPU_MAX_HOSTMEM);
		if (!refused_at)
			created = false;
	}
	g_assert_cmpuint(refused_at, !=, 0);
	/* Refused only when the next resource and array would not fit: all of it is usable. */
	g_assert_cmpuint(f.g->hostmem, ==,
			 accepted * (BACKING_KB * 1024 + per_resource) + (created ? per_resource : 0));
	g_assert_cmpuint(f.g->hostmem + BACKING_KB * 1024 + per_resource, >, GPU_MAX_HOSTMEM);

	/* Detach gives the array back, exactly. */
	uint64_t before = f.g->hostmem;
	g_assert_cmphex(detach(&f, 1), ==, VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmpuint(f.g->hostmem, ==, before - BACKING_KB * 1024);
	g_assert_cmphex(attach(&f, 1, e, GPU_MAX_BACKING_ENTRIES), ==, VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmpuint(f.g->hostmem, ==, before);
	/* Unref gives back the resource and its array: the refused one now fits. */
	g_assert_cmphex(unref(&f, 2), ==, VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmpuint(f.g->hostmem, ==, before - BACKING_KB * 1024 - per_resource);
	if (!created)
		g_assert_cmphex(create_2d(&f, refused_at, 1, 1), ==, VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmphex(attach(&f, refused_at, e, GPU_MAX_BACKING_ENTRIES), ==, VIRTIO_GPU_RESP_OK_NODATA);
	/* A refused attach leaves no backing; a failed one (a bad entry) gives back all it took. */
	g_assert_cmphex(detach(&f, 3), ==, VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmphex(create_2d(&f, 99999, 1, 1), ==, VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmphex(attach(&f, 99999, e, GPU_MAX_BACKING_ENTRIES), ==, VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
	g_assert_null(gpu_resource_find(f.g, 99999)->backing);
	before = f.g->hostmem;
	struct virtio_gpu_mem_entry bad[2] = { { .addr = PAGE_GPA, .length = 4096 },
					       { .addr = RAM, .length = 4096 } };
	g_assert_cmphex(attach(&f, 99999, bad, 2), ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	g_assert_cmpuint(f.g->hostmem, ==, before);
	g_assert_null(gpu_resource_find(f.g, 99999)->backing);

	for (uint32_t id = 1; id <= refused_at; id++)
		g_assert_cmphex(unref(&f, id), ==,
				id == 2 ? VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID
					: VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmphex(unref(&f, 99999), ==, VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmpuint(f.g->hostmem, ==, 0);
	g_assert_cmpuint(g_hash_table_size(f.g->resources), ==, 0);
	fakegpu_free(&f);
}

/* Defect: the number of resources was unbounded (each costs host memory however small). */
static void test_budget_resource_count(void)
{
	struct fakegpu f;
	fakegpu_init(&f, RAM, 1, 64, 48, NULL);
	for (uint32_t id = 1; id <= GPU_MAX_RESOURCES; id++)
		if (create_2d(&f, id, 1, 1) != VIRTIO_GPU_RESP_OK_NODATA)
			g_error("resource %u of %u refused", id, GPU_MAX_RESOURCES);
	g_assert_cmphex(create_2d(&f, GPU_MAX_RESOURCES + 1, 1, 1), ==, VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
	g_assert_null(gpu_resource_find(f.g, GPU_MAX_RESOURCES + 1));

	/* A guest that keeps trying is refused each time, and the log does not follow it:
	 * at most one line per GPU_REFUSAL_LOG_USEC (a bound that holds however slow the host). */
	refusal_lines = 0;
	f.g->refusal_logged_at = 0; /* as after a long quiet spell: the next refusal is logged */
	guint handler = g_log_set_handler(NULL, G_LOG_LEVEL_MESSAGE, count_refusals, NULL);
	gint64 t0 = g_get_monotonic_time();
	uint64_t refusals = f.g->refusals;
	for (unsigned int i = 0; i < 500; i++)
		g_assert_cmphex(create_2d(&f, GPU_MAX_RESOURCES + 2 + i, 1, 1), ==,
				VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
	gint64 elapsed = g_get_monotonic_time() - t0;
	g_log_remove_handler(NULL, handler);
	g_assert_cmpuint(f.g->refusals, ==, refusals + 500);
	g_assert_cmpuint(refusal_lines, >=, 1);
	g_assert_cmpuint(refusal_lines, <=, 1 + elapsed / GPU_REFUSAL_LOG_USEC + 1);

	g_assert_cmphex(unref(&f, 7), ==, VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmphex(create_2d(&f, GPU_MAX_RESOURCES + 1, 1, 1), ==, VIRTIO_GPU_RESP_OK_NODATA);
	fakegpu_reset(&f);
	g_assert_cmpuint(f.g->hostmem, ==, 0);
	fakegpu_free(&f);
}

/* Pixels and backing arrays share the one budget. */
static void test_budget_shared(void)
{
	struct fakegpu f;
	fakegpu_init(&f, RAM, 1, 64, 48, NULL);
	uint64_t big = 4096ull * 4096 * 4 + GPU_RESOURCE_COST; /* 64 MiB of pixels, never touched */
	uint32_t id = 1;
	while (f.g->hostmem + big <= GPU_MAX_HOSTMEM)
		g_assert_cmphex(create_2d(&f, id++, 4096, 4096), ==, VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmphex(create_2d(&f, id, 4096, 4096), ==, VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
	g_autofree struct virtio_gpu_mem_entry *e = big_table();
	unsigned int attached = 0;
	while (create_2d(&f, id, 1, 1) == VIRTIO_GPU_RESP_OK_NODATA &&
	       attach(&f, id, e, GPU_MAX_BACKING_ENTRIES) == VIRTIO_GPU_RESP_OK_NODATA) {
		attached++;
		id++;
		g_assert_cmpuint(attached, <=, GPU_MAX_HOSTMEM / (BACKING_KB * 1024));
	}
	g_assert_cmpuint(f.g->hostmem, <=, GPU_MAX_HOSTMEM);
	g_assert_cmpuint(attached, <, (GPU_MAX_HOSTMEM - 3 * big) / (BACKING_KB * 1024) + 1);
	/* A device reset gives everything back. */
	fakegpu_reset(&f);
	g_assert_cmpuint(f.g->hostmem, ==, 0);
	fakegpu_free(&f);
}

/* The size a 3D resource is charged: every level, layer and sample, never wrapping. */
static void test_resource_3d_bytes(void)
{
	struct virtio_gpu_resource_create_3d c = {
		.target = 2, .width = 64, .height = 64, .depth = 1, .array_size = 1
	};
	g_assert_cmpuint(gpu_resource_3d_bytes(&c, 4), ==, 64 * 64 * 4);
	c.last_level = 6; /* 64, 32, ... 1 */
	g_assert_cmpuint(gpu_resource_3d_bytes(&c, 4), ==, (4096 + 1024 + 256 + 64 + 16 + 4 + 1) * 4);
	c.last_level = 1000; /* levels past 1x1 cost a texel each, and the loop ends */
	g_assert_cmpuint(gpu_resource_3d_bytes(&c, 4), ==, (4096 + 1024 + 256 + 64 + 16 + 4 + 1 + 25) * 4);
	c = (struct virtio_gpu_resource_create_3d){ .target = 2, .width = 100, .height = 0, .depth = 0 };
	g_assert_cmpuint(gpu_resource_3d_bytes(&c, 1), ==, 100); /* a buffer: width bytes */
	c = (struct virtio_gpu_resource_create_3d){ .width = 16384,
						    .height = 16384,
						    .depth = 16384,
						    .array_size = 16384,
						    .nr_samples = 0xffffffffu,
						    .last_level = 14 };
	g_assert_cmpuint(gpu_resource_3d_bytes(&c, GPU_MAX_TEXEL_BYTES), ==, UINT64_MAX);
	c.nr_samples = 1;
	c.array_size = 1;
	c.depth = 1;
	c.last_level = 0;
	g_assert_cmpuint(gpu_resource_3d_bytes(&c, GPU_MAX_TEXEL_BYTES), ==, 4ull << 30);
}

/* ---- snapshots (gpu_snapshot.c) ---- */

static GBytes *gpu_state(struct fakegpu *f)
{
	struct snap_writer w;
	snap_writer_init(&w);
	snap_begin(&w, "gpu");
	g_autoptr(GError) err = NULL;
	g_assert_true(gpu_snapshot_save(f->g, &w, &err));
	g_assert_no_error(err);
	snap_end(&w);
	GBytes *b = snap_writer_finish(&w);
	snap_writer_clear(&w);
	return b;
}

static bool gpu_load_state(struct fakegpu *f, GBytes *b, GError **err)
{
	g_autoptr(snap_file) file = snap_file_parse(b, "gpu-test", err);
	g_assert_nonnull(file);
	struct snap_reader r;
	snap_reader_init(&r, snap_file_find(file, "gpu"));
	return gpu_snapshot_load(f->g, &r, err) && snap_reader_done(&r, err);
}

/* A resource's pixels, its backing pages and what a scanout shows come back in a new device. */
static void test_snapshot_round_trip(void)
{
	struct fakegpu a, b;
	fakegpu_init(&a, RAM, 1, 64, 48, NULL);
	fakegpu_init(&b, RAM, 1, 64, 48, NULL);
	g_assert_cmphex(create_2d(&a, 7, 4, 2), ==, VIRTIO_GPU_RESP_OK_NODATA);
	struct virtio_gpu_mem_entry e = { .addr = PAGE_GPA, .length = 4096 };
	g_assert_cmphex(attach(&a, 7, &e, 1), ==, VIRTIO_GPU_RESP_OK_NODATA);
	struct gpu_resource *ra = gpu_resource_find(a.g, 7);
	for (unsigned int i = 0; i < 4 * 2 * 4; i++)
		ra->pixels[i] = (uint8_t)(i * 7 + 1);
	struct virtio_gpu_set_scanout sc = {
		.hdr.type = VIRTIO_GPU_CMD_SET_SCANOUT, .r = { 1, 0, 3, 2 }, .scanout_id = 0, .resource_id = 7
	};
	g_assert_cmphex(fakegpu_cmd1(&a, &sc, sizeof(sc)), ==, VIRTIO_GPU_RESP_OK_NODATA);
	g_autoptr(GBytes) state = gpu_state(&a);
	g_autoptr(GError) err = NULL;
	g_assert_true(gpu_load_state(&b, state, &err));
	g_assert_no_error(err);
	struct gpu_resource *rb = gpu_resource_find(b.g, 7);
	g_assert_nonnull(rb);
	g_assert_cmpuint(rb->width, ==, 4);
	g_assert_cmpuint(rb->format, ==, ra->format);
	g_assert_cmpmem(rb->pixels, 32, ra->pixels, 32);
	g_assert_cmpuint(rb->nr_backing, ==, 1);
	g_assert_true(rb->backing[0].iov_base == fakegpu_ram(&b, PAGE_GPA, 4096));
	g_assert_cmpuint(rb->scanouts, ==, 1);
	g_assert_cmpuint(b.g->scanout[0].resource_id, ==, 7);
	g_assert_cmpmem(&b.g->scanout[0].r, sizeof(sc.r), &sc.r, sizeof(sc.r));
	g_assert_cmpuint(b.g->hostmem, ==, a.g->hostmem);
	fakegpu_free(&a);
	fakegpu_free(&b);
}

/* A hostile state (a backing page outside guest RAM, a scanout past its resource) is refused,
 * naming the device, and leaves nothing held. */
static void test_snapshot_hostile(void)
{
	struct fakegpu f;
	fakegpu_init(&f, RAM, 1, 64, 48, NULL);
	for (int which = 0; which < 2; which++) {
		struct snap_writer w;
		snap_writer_init(&w);
		snap_begin(&w, "gpu");
		snap_put_u32(&w, 1);
		snap_put_u32(&w, which ? 5 : 0);
		struct virtio_gpu_rect rect = { 0, 0, which ? 2 : 0, which ? 1 : 0 };
		snap_put_blob(&w, &rect, sizeof(rect));
		struct virtio_gpu_update_cursor cursor = { 0 };
		snap_put_blob(&w, &cursor, sizeof(cursor));
		snap_put_u32(&w, 1);
		snap_put_u32(&w, 5);
		snap_put_u32(&w, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM);
		snap_put_u32(&w, 1);
		snap_put_u32(&w, 1);
		snap_put_blob(&w, "pixl", 4);
		snap_put_u32(&w, 1);
		snap_put_u64(&w, which ? PAGE_GPA : RAM);
		snap_put_u32(&w, 4096);
		snap_end(&w);
		g_autoptr(GBytes) b = snap_writer_finish(&w);
		snap_writer_clear(&w);
		g_autoptr(GError) err = NULL;
		g_assert_false(gpu_load_state(&f, b, &err));
		g_assert_nonnull(strstr(err->message, f.g->name));
		g_assert_nonnull(strstr(err->message, which ? "scanout" : "not in guest RAM"));
		g_assert_cmpuint(g_hash_table_size(f.g->resources), ==, 0);
		g_assert_cmpuint(f.g->hostmem, ==, 0);
	}
	fakegpu_free(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/gpu/convert-formats", test_convert_formats);
	g_test_add_func("/gpu/rect-inside", test_rect_inside);
	g_test_add_func("/gpu/edid", test_edid);
	g_test_add_func("/gpu/budget/backing", test_budget_backing);
	g_test_add_func("/gpu/budget/resource-count", test_budget_resource_count);
	g_test_add_func("/gpu/budget/shared", test_budget_shared);
	g_test_add_func("/gpu/budget/3d-bytes", test_resource_3d_bytes);
	g_test_add_func("/gpu/snapshot/round-trip", test_snapshot_round_trip);
	g_test_add_func("/gpu/snapshot/hostile", test_snapshot_hostile);
	return g_test_run();
}
