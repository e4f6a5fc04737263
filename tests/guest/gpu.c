/* gpu: virtio-gpu from the driver's side, without Linux. Draws the reference test pattern
 * into a 2D resource and shows it on scanout 0 (the runner then reads the scanout's
 * framebuffer file on the host), sends malformed commands and checks each gets the right
 * error response while the device keeps working, and with "virgl=1" runs a 3D clear
 * through virglrenderer and reads the colour back.
 *
 * Command line: "guest-kit gpu width=W height=H [virgl=1] [w1=W1 h1=H1]" (the VMM's
 * --display; w1/h1: a second display, which gets the pattern at its own size).
 *
 * With "frames=N" it is bench/gpu.sh's guest instead: N full-screen updates (transfer to
 * the host, then flush) of a W x H resource whose backing is guest RAM at 64 MiB, and no
 * checks; the host times the runs.
 *
 * With "attack=N" it is bench/gpu-memory-attack.sh's guest: N times, a 1x1 resource with the
 * largest backing a guest may attach (16384 entries: 256 KiB of host iovecs each), and it
 * prints how many the device accepted and refused; the host measures the VMM's peak RSS. */
#include "lib.h"

#define VIRTIO_ID_GPU      16
#define VIRTIO_GPU_F_VIRGL 0
#define VIRTIO_GPU_F_EDID  1
#define FLAG_FENCE         1

/* Command and response types (virtio spec 5.7.6.7). */
enum {
	GET_DISPLAY_INFO = 0x100,
	RESOURCE_CREATE_2D,
	RESOURCE_UNREF,
	SET_SCANOUT,
	RESOURCE_FLUSH,
	TRANSFER_TO_HOST_2D,
	ATTACH_BACKING,
	DETACH_BACKING,
	GET_CAPSET_INFO,
	GET_CAPSET,
	GET_EDID,
	CTX_CREATE = 0x200,
	CTX_DESTROY,
	CTX_ATTACH_RESOURCE,
	CTX_DETACH_RESOURCE,
	RESOURCE_CREATE_3D,
	TRANSFER_TO_HOST_3D,
	TRANSFER_FROM_HOST_3D,
	SUBMIT_3D,
	OK_NODATA = 0x1100,
	OK_DISPLAY_INFO,
	OK_CAPSET_INFO,
	OK_CAPSET,
	OK_EDID,
	ERR_UNSPEC = 0x1200,
	ERR_OUT_OF_MEMORY,
	ERR_INVALID_SCANOUT_ID,
	ERR_INVALID_RESOURCE_ID,
	ERR_INVALID_CONTEXT_ID,
	ERR_INVALID_PARAMETER,
};

#define FORMAT_B8G8R8X8 2
#define FORMAT_B8G8R8A8 1

struct hdr {
	uint32_t type, flags;
	uint64_t fence_id;
	uint32_t ctx_id;
	uint32_t ring;
};
struct rect {
	uint32_t x, y, w, h;
};
struct mem_entry {
	uint64_t addr;
	uint32_t length, padding;
};

#define MAX_W 256
#define MAX_H 256
static uint32_t pixels[MAX_W * MAX_H] __attribute__((aligned(4096)));
static uint32_t readback[64 * 64] __attribute__((aligned(4096)));
static uint8_t req[512] __attribute__((aligned(64)));
static uint8_t resp[2048] __attribute__((aligned(64)));
static const uint8_t zeros[72];
static struct virtq ctrl, cursorq;
static uint64_t next_fence = 1;

static uint32_t pattern(uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	static const uint32_t bars[8] = { 0xffffff, 0xffff00, 0x00ffff, 0x00ff00,
					  0xff00ff, 0xff0000, 0x0000ff, 0 };
	if (y < h / 2)
		return bars[x * 8 / w];
	if (y < 3 * h / 4)
		return (x * 255 / (w - 1)) * 0x010101u;
	return ((x / 40 + y / 40) & 1) ? 0xffffff : 0;
}

/* Sends req[0, len) (+ an optional second readable part) and returns the response type,
 * or 0 when the device did not answer. */
static uint32_t send2(uint32_t len, const void *extra, uint32_t extra_len, uint32_t resp_len)
{
	struct virtq_used_elem e;
	memset(resp, 0xee, sizeof(resp));
	struct virtq_buf bufs[3] = { { req, len, false } };
	int n = 1;
	if (extra_len)
		bufs[n++] = (struct virtq_buf){ (void *)extra, extra_len, false };
	bufs[n++] = (struct virtq_buf){ resp, resp_len, true };
	virtq_submit(&ctrl, bufs, n);
	if (!virtq_wait_used(&ctrl, &e))
		return 0;
	return ((struct hdr *)resp)->type;
}

static uint32_t send(uint32_t type, const void *body, uint32_t body_len)
{
	memset(req, 0, sizeof(req));
	((struct hdr *)req)->type = type;
	memcpy(req + sizeof(struct hdr), body, body_len);
	return send2(sizeof(struct hdr) + body_len, NULL, 0, sizeof(resp));
}

static uint32_t create_2d(uint32_t id, uint32_t format, uint32_t w, uint32_t h)
{
	uint32_t b[4] = { id, format, w, h };
	return send(RESOURCE_CREATE_2D, b, sizeof(b));
}

static uint32_t attach(uint32_t id, const struct mem_entry *e, uint32_t n, uint32_t claimed)
{
	memset(req, 0, sizeof(req));
	((struct hdr *)req)->type = ATTACH_BACKING;
	uint32_t b[2] = { id, claimed };
	memcpy(req + sizeof(struct hdr), b, sizeof(b));
	return send2(sizeof(struct hdr) + 8, e, n * sizeof(*e), sizeof(resp));
}

static uint32_t transfer_2d(uint32_t id, struct rect r, uint64_t offset)
{
	struct {
		struct rect r;
		uint64_t offset;
		uint32_t id, pad;
	} b = { r, offset, id, 0 };
	return send(TRANSFER_TO_HOST_2D, &b, sizeof(b));
}

static uint32_t set_scanout(uint32_t scanout, uint32_t id, struct rect r)
{
	struct {
		struct rect r;
		uint32_t scanout, id;
	} b = { r, scanout, id };
	return send(SET_SCANOUT, &b, sizeof(b));
}

static uint32_t flush(uint32_t id, struct rect r)
{
	struct {
		struct rect r;
		uint32_t id, pad;
	} b = { r, id, 0 };
	return send(RESOURCE_FLUSH, &b, sizeof(b));
}

static uint32_t one_id(uint32_t type, uint32_t id)
{
	uint32_t b[2] = { id, 0 };
	return send(type, b, sizeof(b));
}

static void expect(uint32_t got, uint32_t want, const char *what)
{
	check(got == want, "%s: response 0x%x (want 0x%x)", what, got, want);
}

static void test_queries(uint32_t w, uint32_t h, uint32_t scanouts)
{
	uint32_t t = send(GET_DISPLAY_INFO, NULL, 0);
	uint32_t *pm = (uint32_t *)(resp + sizeof(struct hdr));
	check(t == OK_DISPLAY_INFO && pm[2] == w && pm[3] == h && pm[4] == 1,
	      "display info: scanout 0 is %ux%u, enabled %u (want %ux%u)", pm[2], pm[3], pm[4], w, h);
	check(pm[6 * scanouts + 4] == 0, "display info: scanout %u (none configured) is disabled", scanouts);

	uint32_t s[2] = { 0, 0 };
	t = send(GET_EDID, s, sizeof(s));
	const uint8_t *edid = resp + sizeof(struct hdr) + 8;
	uint8_t sum = 0;
	for (int i = 0; i < 128; i++)
		sum = (uint8_t)(sum + edid[i]);
	uint32_t hact = edid[56] | ((edid[58] >> 4) << 8), vact = edid[59] | ((edid[61] >> 4) << 8);
	check(t == OK_EDID && *(uint32_t *)(resp + sizeof(struct hdr)) == 128 && edid[0] == 0 &&
		      edid[1] == 0xff && sum == 0,
	      "EDID: 128 bytes, header and checksum right");
	check(hact == w && vact == h, "EDID: preferred timing %ux%u", hact, vact);
	s[0] = 7;
	expect(send(GET_EDID, s, sizeof(s)), ERR_INVALID_SCANOUT_ID, "EDID of scanout 7");
}

static void test_show_pattern(uint32_t w, uint32_t h)
{
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			pixels[y * w + x] = 0xff000000u | pattern(x, y, w, h);
	expect(create_2d(1, FORMAT_B8G8R8X8, w, h), OK_NODATA, "create 2D resource 1");
	/* Backing in two pieces, as scattered pages would be. */
	uint32_t bytes = w * h * 4, half = (bytes / 2) & ~4095u;
	struct mem_entry e[2] = { { (uint64_t)(uintptr_t)pixels, half, 0 },
				  { (uint64_t)(uintptr_t)pixels + half, bytes - half, 0 } };
	expect(attach(1, e, 2, 2), OK_NODATA, "attach backing to resource 1 (2 entries)");
	struct rect full = { 0, 0, w, h };
	expect(transfer_2d(1, full, 0), OK_NODATA, "transfer the pattern to the host");
	expect(set_scanout(0, 1, full), OK_NODATA, "set scanout 0 to resource 1");

	/* A fenced flush comes back with its fence. */
	memset(req, 0, sizeof(req));
	struct hdr *hd = (struct hdr *)req;
	hd->type = RESOURCE_FLUSH;
	hd->flags = FLAG_FENCE;
	hd->fence_id = next_fence++;
	struct {
		struct rect r;
		uint32_t id, pad;
	} fb = { full, 1, 0 };
	memcpy(req + sizeof(*hd), &fb, sizeof(fb));
	uint32_t t = send2(sizeof(*hd) + sizeof(fb), NULL, 0, sizeof(struct hdr));
	struct hdr *rh = (struct hdr *)resp;
	check(t == OK_NODATA && (rh->flags & FLAG_FENCE) && rh->fence_id == hd->fence_id,
	      "fenced flush: OK with fence %u (got type 0x%x flags %u fence %u)", (unsigned)hd->fence_id, t,
	      rh->flags, (unsigned)rh->fence_id);

	/* A partial update: the top-left 8x8 turns grey, flushed alone, then back. */
	for (uint32_t y = 0; y < 8; y++)
		for (uint32_t x = 0; x < 8; x++)
			pixels[y * w + x] = 0xff808080u;
	struct rect corner = { 0, 0, 8, 8 };
	expect(transfer_2d(1, corner, 0), OK_NODATA, "transfer an 8x8 corner");
	expect(flush(1, corner), OK_NODATA, "flush the corner");
	for (uint32_t y = 0; y < 8; y++)
		for (uint32_t x = 0; x < 8; x++)
			pixels[y * w + x] = 0xff000000u | pattern(x, y, w, h);
	struct rect inner = { 4, 4, 4, 4 };
	expect(transfer_2d(1, inner, (4 * w + 4) * 4), OK_NODATA,
	       "transfer an inner rectangle at its offset");
	expect(transfer_2d(1, corner, 0), OK_NODATA, "transfer the corner back");
	expect(flush(1, full), OK_NODATA, "flush the whole screen");
}

/* Scanout 1 of the size the VMM gave it: a resource of its own with the pattern. */
static void test_second_scanout(uint32_t w1, uint32_t h1)
{
	uint32_t t = send(GET_DISPLAY_INFO, NULL, 0);
	uint32_t *pm = (uint32_t *)(resp + sizeof(struct hdr));
	check(t == OK_DISPLAY_INFO && pm[6 + 2] == w1 && pm[6 + 3] == h1 && pm[6 + 4] == 1,
	      "display info: scanout 1 is %ux%u, enabled %u (want %ux%u)", pm[6 + 2], pm[6 + 3], pm[6 + 4],
	      w1, h1);
	for (uint32_t y = 0; y < h1; y++)
		for (uint32_t x = 0; x < w1; x++)
			readback[y * w1 + x] = 0xff000000u | pattern(x, y, w1, h1);
	struct rect full = { 0, 0, w1, h1 };
	struct mem_entry e = { (uint64_t)(uintptr_t)readback, w1 * h1 * 4, 0 };
	expect(create_2d(3, FORMAT_B8G8R8X8, w1, h1), OK_NODATA, "create resource 3 for scanout 1");
	expect(attach(3, &e, 1, 1), OK_NODATA, "attach backing to resource 3");
	expect(transfer_2d(3, full, 0), OK_NODATA, "transfer the second pattern");
	expect(set_scanout(1, 3, full), OK_NODATA, "set scanout 1 to resource 3");
	expect(flush(3, full), OK_NODATA, "flush resource 3");
}

/* The cursor queue: updates and moves come back, a bad one too (it is only counted). */
static void test_cursor(void)
{
	static struct {
		struct hdr h;
		uint32_t scanout, x, y, pad, id, hot_x, hot_y, pad2;
	} cur;
	struct virtq_used_elem e;
	cur.h.type = 0x300; /* UPDATE_CURSOR */
	cur.id = 1;
	cur.x = 10, cur.y = 20;
	virtq_submit(&cursorq, (struct virtq_buf[]){ { &cur, sizeof(cur), false } }, 1);
	check(virtq_wait_used(&cursorq, &e), "cursor update comes back");
	cur.h.type = 0x301; /* MOVE_CURSOR */
	cur.x = 30;
	virtq_submit(&cursorq, (struct virtq_buf[]){ { &cur, sizeof(cur), false } }, 1);
	check(virtq_wait_used(&cursorq, &e), "cursor move comes back");
	cur.h.type = 0x300;
	cur.scanout = 9;
	cur.id = 77;
	virtq_submit(&cursorq, (struct virtq_buf[]){ { &cur, sizeof(cur), false } }, 1);
	check(virtq_wait_used(&cursorq, &e), "a cursor update for scanout 9 and resource 77 comes back too");
}

static void test_malformed(uint32_t w, uint32_t h)
{
	struct rect full = { 0, 0, w, h };
	expect(create_2d(0, FORMAT_B8G8R8X8, 4, 4), ERR_INVALID_RESOURCE_ID, "create resource id 0");
	expect(create_2d(1, FORMAT_B8G8R8X8, 4, 4), ERR_INVALID_RESOURCE_ID, "create an id in use");
	expect(create_2d(2, 99, 4, 4), ERR_INVALID_PARAMETER, "create with an unknown format");
	expect(create_2d(2, FORMAT_B8G8R8X8, 0, 4), ERR_INVALID_PARAMETER, "create 0 pixels wide");
	expect(create_2d(2, FORMAT_B8G8R8X8, 100000, 4), ERR_INVALID_PARAMETER, "create 100000 pixels wide");
	expect(create_2d(2, FORMAT_B8G8R8X8, 16, 16), OK_NODATA, "create resource 2 (no backing yet)");

	expect(transfer_2d(77, full, 0), ERR_INVALID_RESOURCE_ID, "transfer to resource 77");
	expect(transfer_2d(2, (struct rect){ 0, 0, 16, 16 }, 0), ERR_INVALID_PARAMETER,
	       "transfer without backing");
	expect(transfer_2d(1, (struct rect){ w - 4, 0, 8, 1 }, 0), ERR_INVALID_PARAMETER,
	       "transfer past the right edge");
	expect(transfer_2d(1, (struct rect){ 0xfffffff0u, 0, 0x20, 1 }, 0), ERR_INVALID_PARAMETER,
	       "transfer whose x + width wraps");
	expect(transfer_2d(1, (struct rect){ 0, h - 1, w, 1 }, (uint64_t)w * h * 4), ERR_INVALID_PARAMETER,
	       "transfer with an offset past the backing");
	expect(transfer_2d(1, (struct rect){ 0, 0, w, h }, ~0ull - 8), ERR_INVALID_PARAMETER,
	       "transfer with an offset that wraps");

	expect(set_scanout(5, 1, full), ERR_INVALID_SCANOUT_ID, "set scanout 5");
	expect(set_scanout(0, 77, full), ERR_INVALID_RESOURCE_ID, "set scanout to resource 77");
	expect(set_scanout(0, 1, (struct rect){ 0, 0, w + 1, h }), ERR_INVALID_PARAMETER,
	       "scanout wider than its resource");
	expect(flush(77, full), ERR_INVALID_RESOURCE_ID, "flush resource 77");
	expect(flush(1, (struct rect){ 0, h, 1, 1 }), ERR_INVALID_PARAMETER, "flush below the bottom edge");

	struct mem_entry outside = { 0x1000000000ull, 4096, 0 };
	expect(attach(2, &outside, 1, 1), ERR_INVALID_PARAMETER, "backing at 64 GiB, outside guest RAM");
	struct mem_entry hole = { 0xfee00000ull, 4096, 0 };
	expect(attach(2, &hole, 1, 1), ERR_INVALID_PARAMETER, "backing on the local APIC's page");
	struct mem_entry straddle = { 256ull * 1024 * 1024 - 2048, 4096, 0 };
	expect(attach(2, &straddle, 1, 1), ERR_INVALID_PARAMETER, "backing running past the end of RAM");
	struct mem_entry empty = { (uint64_t)(uintptr_t)readback, 0, 0 };
	expect(attach(2, &empty, 1, 1), ERR_INVALID_PARAMETER, "backing entry of 0 bytes");
	struct mem_entry one = { (uint64_t)(uintptr_t)readback, 4096, 0 };
	expect(attach(2, &one, 1, 5), ERR_UNSPEC, "backing claiming 5 entries but carrying 1");
	expect(attach(2, &one, 1, 100000), ERR_INVALID_PARAMETER, "backing claiming 100000 entries");
	expect(attach(77, &one, 1, 1), ERR_INVALID_RESOURCE_ID, "backing for resource 77");
	expect(one_id(DETACH_BACKING, 2), ERR_INVALID_PARAMETER, "detach backing that was never attached");
	expect(one_id(RESOURCE_UNREF, 77), ERR_INVALID_RESOURCE_ID, "unref resource 77");
	expect(one_id(RESOURCE_UNREF, 2), OK_NODATA, "unref resource 2");

	expect(send(0x777, NULL, 0), ERR_UNSPEC, "unknown command 0x777");
	memset(req, 0, sizeof(req));
	((struct hdr *)req)->type = RESOURCE_CREATE_2D;
	expect(send2(sizeof(struct hdr) + 4, NULL, 0, sizeof(resp)), ERR_UNSPEC,
	       "a create request cut short");
	memset(req, 0, sizeof(req));
	((struct hdr *)req)->type = GET_DISPLAY_INFO;
	expect(send2(sizeof(struct hdr), NULL, 0, sizeof(struct hdr)), ERR_UNSPEC,
	       "display info with room for the header only");

	/* After all that the device still answers, and the scanout still shows resource 1. */
	uint32_t t = send(GET_DISPLAY_INFO, NULL, 0);
	check(t == OK_DISPLAY_INFO, "the device still answers after %s", "the malformed commands");
	expect(flush(1, full), OK_NODATA, "flush resource 1 again");
}

/* ---- 3D: a clear through virglrenderer ---- */

/* The virgl command stream (facts from virglrenderer's virgl_protocol.h): a header dword
 * cmd | object << 8 | length << 16, then length dwords. */
#define VIRGL_CMD(cmd, obj, len)         ((cmd) | ((obj) << 8) | ((uint32_t)(len) << 16))
#define VIRGL_CCMD_CREATE_OBJECT         1
#define VIRGL_CCMD_SET_FRAMEBUFFER_STATE 5
#define VIRGL_CCMD_CLEAR                 7
#define VIRGL_OBJECT_SURFACE             8
#define PIPE_CLEAR_COLOR0                (1 << 2)
#define PIPE_TEXTURE_2D                  2
#define VIRGL_BIND_RENDER_TARGET         (1 << 1)
/* 0.2, 0.4, 0.6 and 1.0 as IEEE-754 single bits (no floating point in a guest-kit payload). */
#define F_0_2 0x3e4ccccdu
#define F_0_4 0x3ecccccdu
#define F_0_6 0x3f19999au
#define F_1_0 0x3f800000u

static void test_virgl(void)
{
	uint32_t idx[2] = { 0, 0 };
	uint32_t t = send(GET_CAPSET_INFO, idx, sizeof(idx));
	uint32_t *ci = (uint32_t *)(resp + sizeof(struct hdr));
	check(t == OK_CAPSET_INFO && (ci[0] == 1 || ci[0] == 2) && ci[1] >= 1 && ci[2] > 0,
	      "capset 0: id %u, version %u, %u bytes", ci[0], ci[1], ci[2]);
	uint32_t capset[2] = { ci[0], ci[1] };
	t = send(GET_CAPSET, capset, sizeof(capset));
	check(t == OK_CAPSET && *(uint32_t *)(resp + sizeof(struct hdr)) != 0xeeeeeeeeu, "capset %u: filled",
	      capset[0]);
	idx[0] = 9;
	expect(send(GET_CAPSET_INFO, idx, sizeof(idx)), ERR_INVALID_PARAMETER, "capset index 9");

	/* Context 1. */
	memset(req, 0, sizeof(req));
	struct hdr *hd = (struct hdr *)req;
	hd->type = CTX_CREATE;
	hd->ctx_id = 1;
	uint32_t *body = (uint32_t *)(req + sizeof(*hd));
	body[0] = 8;
	memcpy(&body[2], "guestkit", 8);
	expect(send2(sizeof(*hd) + 8 + 64, NULL, 0, sizeof(resp)), OK_NODATA, "create 3D context 1");
	expect(send2(sizeof(*hd) + 8 + 64, NULL, 0, sizeof(resp)), ERR_INVALID_CONTEXT_ID,
	       "create context 1 again");

	/* A 64x64 render target with backing, attached to the context. */
	uint32_t c3d[12] = {
		10, PIPE_TEXTURE_2D, FORMAT_B8G8R8A8, VIRGL_BIND_RENDER_TARGET, 64, 64, 1, 1, 0, 0, 0, 0
	};
	expect(send(RESOURCE_CREATE_3D, c3d, sizeof(c3d)), OK_NODATA,
	       "create 3D resource 10 (64x64 render target)");
	struct mem_entry e = { (uint64_t)(uintptr_t)readback, sizeof(readback), 0 };
	expect(attach(10, &e, 1, 1), OK_NODATA, "attach backing to resource 10");
	memset(req, 0, sizeof(req));
	hd->type = CTX_ATTACH_RESOURCE;
	hd->ctx_id = 1;
	body[0] = 10;
	expect(send2(sizeof(*hd) + 8, NULL, 0, sizeof(resp)), OK_NODATA, "attach resource 10 to context 1");

	/* Surface 1 on resource 10, framebuffer = { surface 1 }, clear to (0.2, 0.4, 0.6, 1). */
	uint32_t cs[] = {
		VIRGL_CMD(VIRGL_CCMD_CREATE_OBJECT, VIRGL_OBJECT_SURFACE, 5),
		1,
		10,
		FORMAT_B8G8R8A8,
		0,
		0,
		VIRGL_CMD(VIRGL_CCMD_SET_FRAMEBUFFER_STATE, 0, 3),
		1,
		0,
		1,
		VIRGL_CMD(VIRGL_CCMD_CLEAR, 0, 8),
		PIPE_CLEAR_COLOR0,
		F_0_2,
		F_0_4,
		F_0_6,
		F_1_0,
		0,
		0,
		0,
	};
	memset(req, 0, sizeof(req));
	hd->type = SUBMIT_3D;
	hd->ctx_id = 1;
	hd->flags = FLAG_FENCE;
	hd->fence_id = next_fence++;
	body[0] = sizeof(cs);
	t = send2(sizeof(*hd) + 8, cs, sizeof(cs), sizeof(struct hdr));
	check(t == OK_NODATA && ((struct hdr *)resp)->fence_id == hd->fence_id,
	      "submit a clear (fenced): response 0x%x, fence %u", t,
	      (unsigned)((struct hdr *)resp)->fence_id);

	memset(readback, 0, sizeof(readback));
	memset(req, 0, sizeof(req));
	hd->type = TRANSFER_FROM_HOST_3D;
	hd->ctx_id = 1;
	hd->flags = FLAG_FENCE;
	hd->fence_id = next_fence++;
	uint32_t tr[12] = {
		0, 0, 0, 64, 64, 1, 0, 0, 10, 0, 64 * 4, 0
	}; /* box, offset (2), id, level, stride, layer */
	memcpy(body, tr, sizeof(tr));
	expect(send2(sizeof(*hd) + sizeof(tr), NULL, 0, sizeof(struct hdr)), OK_NODATA,
	       "transfer resource 10 from the host");
	unsigned int wrong = 0;
	for (unsigned int i = 0; i < 64 * 64; i++)
		wrong += readback[i] != 0xff336699u; /* B 0x99, G 0x66, R 0x33, A 0xff */
	check(wrong == 0,
	      "the clear colour came back: pixel 0 is 0x%08x (want 0xff336699), %u of 4096 differ",
	      readback[0], wrong);

	/* Malformed 3D commands. */
	memset(req, 0, sizeof(req));
	hd->type = SUBMIT_3D;
	hd->ctx_id = 9;
	body[0] = 4;
	expect(send2(sizeof(*hd) + 8, cs, 4, sizeof(resp)), ERR_INVALID_CONTEXT_ID, "submit to context 9");
	hd->ctx_id = 1;
	body[0] = 4096;
	expect(send2(sizeof(*hd) + 8, cs, sizeof(cs), sizeof(resp)), ERR_INVALID_PARAMETER,
	       "submit claiming more bytes than it carries");
	static const uint32_t garbage[] = { VIRGL_CMD(250, 0, 3), 1, 2, 3 };
	body[0] = sizeof(garbage);
	t = send2(sizeof(*hd) + 8, garbage, sizeof(garbage), sizeof(resp));
	check(t == ERR_INVALID_PARAMETER || t == OK_NODATA,
	      "submit of an unknown virgl command: answered (0x%x)", t);
	uint32_t bad3d[12] = { 11, PIPE_TEXTURE_2D, 9999, VIRGL_BIND_RENDER_TARGET, 64, 64, 1, 1, 0, 0, 0, 0 };
	expect(send(RESOURCE_CREATE_3D, bad3d, sizeof(bad3d)), ERR_INVALID_PARAMETER,
	       "create 3D with format 9999");
	memset(req, 0, sizeof(req));
	hd->type = TRANSFER_FROM_HOST_3D;
	hd->ctx_id = 1;
	tr[8] = 77;
	memcpy(body, tr, sizeof(tr));
	expect(send2(sizeof(*hd) + sizeof(tr), NULL, 0, sizeof(resp)), ERR_INVALID_RESOURCE_ID,
	       "transfer from resource 77");
	memset(req, 0, sizeof(req));
	hd->type = CTX_DESTROY;
	hd->ctx_id = 1;
	expect(send2(sizeof(*hd), NULL, 0, sizeof(resp)), OK_NODATA, "destroy context 1");
	expect(send2(sizeof(*hd), NULL, 0, sizeof(resp)), ERR_INVALID_CONTEXT_ID, "destroy context 1 again");
	expect(one_id(RESOURCE_UNREF, 10), OK_NODATA, "unref resource 10");
}

#define BENCH_BACKING 0x4000000ull /* 64 MiB: identity mapped, unused by the payload */

static void bench(uint32_t w, uint32_t h, uint64_t frames)
{
	uint32_t *fb = (uint32_t *)(uintptr_t)BENCH_BACKING;
	if (!check(create_2d(1, FORMAT_B8G8R8X8, w, h) == OK_NODATA, "bench: create a %ux%u resource", w, h))
		return;
	struct mem_entry e = { BENCH_BACKING, w * h * 4, 0 };
	struct rect full = { 0, 0, w, h };
	if (!check(attach(1, &e, 1, 1) == OK_NODATA && set_scanout(0, 1, full) == OK_NODATA,
		   "bench: backing and scanout"))
		return;
	/* Both requests built once; each frame only re-queues them (this host's KVM interprets
	 * ring-0 code, so the guest's share must stay a few instructions). */
	static struct {
		struct hdr h;
		struct rect r;
		uint64_t offset;
		uint32_t id, pad;
	} t2d;
	static struct {
		struct hdr h;
		struct rect r;
		uint32_t id, pad;
	} fl;
	static struct hdr r1, r2;
	t2d.h.type = TRANSFER_TO_HOST_2D, t2d.r = full, t2d.id = 1;
	fl.h.type = RESOURCE_FLUSH, fl.r = full, fl.id = 1;
	unsigned int failed = 0;
	struct virtq_used_elem used;
	for (uint64_t i = 0; i < frames; i++) {
		fb[(i * 7919) % (w * h)] = (uint32_t)i; /* each frame differs a little */
		virtq_submit(&ctrl,
			     (struct virtq_buf[]){ { &t2d, sizeof(t2d), false }, { &r1, sizeof(r1), true } },
			     2);
		failed += !virtq_wait_used(&ctrl, &used) || r1.type != OK_NODATA;
		virtq_submit(&ctrl,
			     (struct virtq_buf[]){ { &fl, sizeof(fl), false }, { &r2, sizeof(r2), true } },
			     2);
		failed += !virtq_wait_used(&ctrl, &used) || r2.type != OK_NODATA;
	}
	check(failed == 0, "bench: %u frames, %u failed commands", (unsigned)frames, failed);
}

/* Resources with the most backing entries the device takes, one after another, none given
 * back: what a guest does to make the VMM hold host memory. The table (256 KiB) lives at
 * BENCH_BACKING, every entry names the same guest page. */
static void attack(uint64_t n)
{
	enum { ENTRIES = 16384 };
	struct mem_entry *table = (struct mem_entry *)(uintptr_t)BENCH_BACKING;
	for (uint32_t i = 0; i < ENTRIES; i++)
		table[i] = (struct mem_entry){ BENCH_BACKING + ENTRIES * sizeof(*table), 4096, 0 };
	uint64_t accepted = 0, refused = 0, other = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t id = (uint32_t)i + 1, t = create_2d(id, FORMAT_B8G8R8X8, 1, 1);
		if (t == OK_NODATA)
			t = attach(id, table, ENTRIES, ENTRIES);
		accepted += t == OK_NODATA;
		refused += t == ERR_OUT_OF_MEMORY;
		other += t != OK_NODATA && t != ERR_OUT_OF_MEMORY;
	}
	gk_printf("gpu attack: %u resources with %u backing entries each: %u accepted, %u refused "
		  "(ERR_OUT_OF_MEMORY), %u other answers\n",
		  (unsigned)n, ENTRIES, (unsigned)accepted, (unsigned)refused, (unsigned)other);
	check(other == 0, "attack: every command answered OK or ERR_OUT_OF_MEMORY");
}

int main(void)
{
	struct pci_dev d;
	struct virtio_dev v;
	uint32_t w = (uint32_t)cmdline_num("width", 64), h = (uint32_t)cmdline_num("height", 48);
	bool virgl = cmdline_num("virgl", 0) != 0;
	uint64_t frames = cmdline_num("frames", ~0ull), attacks = cmdline_num("attack", ~0ull);
	if (attacks != ~0ull)
		frames = 0;
	if (frames == ~0ull && (w > MAX_W || h > MAX_H || w < 8 || h < 8)) {
		check(false, "display %ux%u fits the payload's %ux%u buffer", w, h, MAX_W, MAX_H);
		return 0;
	}
	if (!check(pci_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(VIRTIO_ID_GPU), 0, &d), "virtio-gpu found"))
		return 0;
	if (!virtio_probe(&v, &d))
		return 0;
	if (frames != ~0ull) {
		virtio_negotiate(&v, 1ull << VIRTIO_GPU_F_EDID);
		if (virtio_queue_setup(&v, &ctrl, 0, VIRTIO_MSI_NO_VECTOR) &&
		    virtio_queue_setup(&v, &cursorq, 1, VIRTIO_MSI_NO_VECTOR)) {
			virtio_driver_ok(&v);
			if (attacks != ~0ull)
				attack(attacks);
			else
				bench(w, h, frames);
		}
		return 0;
	}
	uint64_t want = (1ull << VIRTIO_GPU_F_EDID) | (virgl ? 1ull << VIRTIO_GPU_F_VIRGL : 0);
	uint64_t feat = virtio_negotiate(&v, want);
	check((feat & want) == want, "features: offered 0x%lx, took 0x%lx (want 0x%lx)", v.features, feat,
	      want);
	check(!!(v.features & (1ull << VIRTIO_GPU_F_VIRGL)) == virgl, "VIRGL %s offered",
	      virgl ? "is" : "is not");
	uint32_t w1 = (uint32_t)cmdline_num("w1", 0), h1 = (uint32_t)cmdline_num("h1", 0);
	uint32_t scanouts = mmio_read32(v.device + 8), capsets = mmio_read32(v.device + 12);
	check(scanouts == (w1 ? 2u : 1u), "config: %u scanouts", scanouts);
	check(virgl ? capsets >= 1 : capsets == 0, "config: %u capsets", capsets);
	if (!virtio_queue_setup(&v, &ctrl, 0, VIRTIO_MSI_NO_VECTOR) ||
	    !virtio_queue_setup(&v, &cursorq, 1, VIRTIO_MSI_NO_VECTOR))
		return 0;
	virtio_driver_ok(&v);

	test_queries(w, h, scanouts);
	test_show_pattern(w, h);
	test_cursor();
	if (w1 && w1 <= 64 && h1 <= 64)
		test_second_scanout(w1, h1);
	test_malformed(w, h);
	if (virgl)
		test_virgl();
	else
		expect(send(CTX_CREATE, zeros, sizeof(zeros)), ERR_UNSPEC, "a 3D command without VIRGL");
	return 0;
}
