/* virtio-input against fake guest RAM, with the PCI transport stubbed out: the device code
 * under test is devices/virtio/input.c itself (included so its static handlers can be driven).
 * The config space is read as Linux's virtio_input driver reads it (write select and subsel,
 * read size and u); host records go in through a client's byte stream and through the real
 * unix socket, and come out of the event queue into guest buffers. */
#include "devices/virtio/input.c"

#include <glib.h>
#include <glib/gstdio.h>

#include "devices/snapshot.h"
#include "tests/unit/fakemem.h"

#define RAM   0x100000ULL
#define QSIZE 16
#define DESC  0x1000ULL
#define AVAIL 0x2000ULL
#define USED  0x3000ULL
#define BUF   0x10000ULL

/* ---- the transport, stubbed: two queues, no interrupts ---- */
static struct virtq *test_queues[2];
static unsigned int kicks;
static char fake_vp;
struct virtq *virtio_pci_queue(struct virtio_pci_dev *vp, unsigned int q)
{
	return q < 2 ? test_queues[q] : NULL;
}
void virtio_pci_queue_interrupt(struct virtio_pci_dev *vp, unsigned int q) {}
void virtio_pci_set_needs_reset(struct virtio_pci_dev *vp, const char *why) {}
void virtio_pci_kick(struct virtio_pci_dev *vp, unsigned int q) { kicks++; }
struct virtio_pci_dev *virtio_pci_create(struct vm_host *host, const char *name,
					 const struct virtio_device_ops *ops, uint64_t features, void *dev,
					 GError **error)
{
	return (struct virtio_pci_dev *)&fake_vp;
}
void virtio_pci_destroy(struct virtio_pci_dev *vp) {}

/* ---- a guest: one queue at a time in fake RAM ---- */
struct guest {
	struct guest_mem mem;
	struct virtq q;
	uint16_t avail_idx;
	uint16_t seen_used; /* used entries already checked */
};

static void guest_init(struct guest *g)
{
	memset(g, 0, sizeof(*g));
	fakemem_add(&g->mem, 0, RAM);
	g->q = (struct virtq){ .size = QSIZE, .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED };
	g_assert_true(virtq_activate(&g->q, &g->mem));
}

static void guest_fini(struct guest *g) { fakemem_free(&g->mem); }

/* Offers a one-descriptor buffer of len bytes at BUF + 16 * slot (writable or readable). */
static void guest_offer(struct guest *g, unsigned int slot, uint32_t len, bool writable)
{
	uint64_t addr = BUF + 16ULL * slot;
	uint16_t flags = writable ? VRING_DESC_F_WRITE : 0, next = 0;
	uint8_t *d = fakemem_at(&g->mem, DESC + 16ULL * slot, 16);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	uint16_t head = (uint16_t)slot;
	memcpy(fakemem_at(&g->mem, AVAIL + 4 + 2 * (g->avail_idx % QSIZE), 2), &head, 2);
	g->avail_idx++;
	memcpy(fakemem_at(&g->mem, AVAIL + 2, 2), &g->avail_idx, 2);
}

static uint16_t guest_used_idx(struct guest *g) { return fakemem_rd16(&g->mem, USED + 2); }

/* The next used buffer's event; asserts the device wrote one whole event into it. */
static struct virtio_input_event guest_next_event(struct guest *g)
{
	g_assert_cmpuint(g->seen_used, <, guest_used_idx(g));
	uint64_t elem = USED + 4 + 8ULL * (g->seen_used % QSIZE);
	uint32_t id = fakemem_rd32(&g->mem, elem), len = fakemem_rd32(&g->mem, elem + 4);
	g->seen_used++;
	g_assert_cmpuint(len, ==, sizeof(struct virtio_input_event));
	struct virtio_input_event e;
	memcpy(&e, fakemem_at(&g->mem, BUF + 16ULL * id, sizeof(e)), sizeof(e));
	return e;
}

static void assert_event(struct guest *g, uint16_t type, uint16_t code, int32_t value)
{
	struct virtio_input_event e = guest_next_event(g);
	g_assert_cmpuint(GUINT16_FROM_LE(e.type), ==, type);
	g_assert_cmpuint(GUINT16_FROM_LE(e.code), ==, code);
	g_assert_cmpint((int32_t)GUINT32_FROM_LE(e.value), ==, value);
}

/* Gives the device QSIZE event buffers and runs its event queue. */
static void guest_take_events(struct guest *g, struct virtio_input *in)
{
	for (unsigned int i = 0; i < QSIZE; i++)
		guest_offer(g, (g->avail_idx) % QSIZE, sizeof(struct virtio_input_event), true);
	test_queues[EVENT_QUEUE] = &g->q;
	input_queue_notify(in, EVENT_QUEUE);
}

/* ---- the host side: records as a client writes them ---- */
static void put_record(GByteArray *b, uint16_t type, uint16_t code, int32_t value)
{
	struct virtio_input_event e = { GUINT16_TO_LE(type), GUINT16_TO_LE(code),
					GUINT32_TO_LE((uint32_t)value) };
	g_byte_array_append(b, (const guint8 *)&e, sizeof(e));
}

/* A one-finger tap at (x, y), as protocol B: down and up, each ended by SYN_REPORT. */
static void put_tap(GByteArray *b, int32_t x, int32_t y)
{
	put_record(b, EV_ABS, ABS_MT_SLOT, 0);
	put_record(b, EV_ABS, ABS_MT_TRACKING_ID, 1);
	put_record(b, EV_ABS, ABS_MT_POSITION_X, x);
	put_record(b, EV_ABS, ABS_MT_POSITION_Y, y);
	put_record(b, EV_KEY, BTN_TOUCH, 1);
	put_record(b, EV_SYN, SYN_REPORT, 0);
	put_record(b, EV_ABS, ABS_MT_TRACKING_ID, -1);
	put_record(b, EV_KEY, BTN_TOUCH, 0);
	put_record(b, EV_SYN, SYN_REPORT, 0);
}

static const struct virtio_input_spec touch_720 = { VIRTIO_INPUT_TOUCH, 0, 720, 1280 };

/* ---- config space ---- */

/* As the driver does it: select, subsel, then size and the answer. */
static uint8_t cfg_select(struct virtio_input *in, uint8_t select, uint8_t subsel, void *answer)
{
	input_config_write(in, offsetof(struct virtio_input_config, select), &select, 1);
	input_config_write(in, offsetof(struct virtio_input_config, subsel), &subsel, 1);
	uint8_t size;
	input_config_read(in, offsetof(struct virtio_input_config, size), &size, 1);
	memset(answer, 0, 128);
	for (unsigned int i = 0; i < size; i++)
		input_config_read(in, offsetof(struct virtio_input_config, u) + i, (uint8_t *)answer + i, 1);
	return size;
}

static bool has_bit(const uint8_t *map, unsigned int bit) { return map[bit / 8] & (1u << (bit % 8)); }

static void test_config_touch(void)
{
	struct virtio_input *in = input_new(&touch_720, NULL);
	uint8_t u[128];
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_ID_NAME, 0, u), ==, strlen("virtio-input-touch0"));
	g_assert_cmpstr((char *)u, ==, "virtio-input-touch0");
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_ID_SERIAL, 0, u), ==, strlen("sepia-touch-0"));
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_ID_DEVIDS, 0, u), ==,
			 sizeof(struct virtio_input_devids));
	struct virtio_input_devids ids;
	memcpy(&ids, u, sizeof(ids));
	g_assert_cmpuint(GUINT16_FROM_LE(ids.bustype), ==, BUS_VIRTUAL);
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_PROP_BITS, 0, u), ==, 1);
	g_assert_true(has_bit(u, INPUT_PROP_DIRECT));

	uint8_t size = cfg_select(in, VIRTIO_INPUT_CFG_EV_BITS, EV_ABS, u);
	g_assert_cmpuint(size, ==, ABS_MT_TRACKING_ID / 8 + 1);
	g_assert_true(has_bit(u, ABS_MT_SLOT) && has_bit(u, ABS_MT_TRACKING_ID) &&
		      has_bit(u, ABS_MT_POSITION_X) && has_bit(u, ABS_MT_POSITION_Y));
	g_assert_false(has_bit(u, ABS_X));
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_EV_BITS, EV_KEY, u), ==, BTN_TOUCH / 8 + 1);
	g_assert_true(has_bit(u, BTN_TOUCH));
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_EV_BITS, EV_REL, u), ==, 0);
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_EV_BITS, EV_LED, u), ==, 0);
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_EV_BITS, 200, u), ==, 0);

	/* The axes span the display: 0..719 by 0..1279; slots 0..9. */
	struct virtio_input_absinfo a;
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_ABS_INFO, ABS_MT_POSITION_X, u), ==, sizeof(a));
	memcpy(&a, u, sizeof(a));
	g_assert_cmpint(GUINT32_FROM_LE(a.min), ==, 0);
	g_assert_cmpint(GUINT32_FROM_LE(a.max), ==, 719);
	cfg_select(in, VIRTIO_INPUT_CFG_ABS_INFO, ABS_MT_POSITION_Y, u);
	memcpy(&a, u, sizeof(a));
	g_assert_cmpint(GUINT32_FROM_LE(a.max), ==, 1279);
	cfg_select(in, VIRTIO_INPUT_CFG_ABS_INFO, ABS_MT_SLOT, u);
	memcpy(&a, u, sizeof(a));
	g_assert_cmpint(GUINT32_FROM_LE(a.max), ==, VIRTIO_INPUT_TOUCH_SLOTS - 1);
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_ABS_INFO, ABS_X, u), ==, 0);
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_ABS_INFO, 255, u), ==, 0);
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_UNSET, 0, u), ==, 0);
	g_assert_cmpuint(cfg_select(in, 0x99, 0, u), ==, 0);
	/* Reads past the config space give zeros, never memory beyond it. */
	uint32_t beyond = 0xffffffff;
	input_config_read(in, sizeof(struct virtio_input_config), &beyond, 4);
	g_assert_cmpuint(beyond, ==, 0);
	virtio_input_destroy(in);

	/* A second display of another size gets its own axes and name. */
	struct virtio_input_spec other = { VIRTIO_INPUT_TOUCH, 1, 1920, 1080 };
	in = input_new(&other, NULL);
	cfg_select(in, VIRTIO_INPUT_CFG_ABS_INFO, ABS_MT_POSITION_X, u);
	memcpy(&a, u, sizeof(a));
	g_assert_cmpint(GUINT32_FROM_LE(a.max), ==, 1919);
	cfg_select(in, VIRTIO_INPUT_CFG_ID_NAME, 0, u);
	g_assert_cmpstr((char *)u, ==, "virtio-input-touch1");
	virtio_input_destroy(in);
}

static void test_config_keys(void)
{
	struct virtio_input_spec kbd = { .kind = VIRTIO_INPUT_KEYBOARD },
				 btn = { .kind = VIRTIO_INPUT_BUTTONS };
	struct virtio_input *in = input_new(&kbd, NULL);
	uint8_t u[128];
	cfg_select(in, VIRTIO_INPUT_CFG_ID_NAME, 0, u);
	g_assert_cmpstr((char *)u, ==, "virtio-input-keyboard");
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_EV_BITS, EV_KEY, u), ==, BTN_MISC / 8);
	g_assert_true(has_bit(u, KEY_A) && has_bit(u, KEY_ENTER) && has_bit(u, KEY_LEFTSHIFT));
	g_assert_false(has_bit(u, KEY_RESERVED));
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_EV_BITS, EV_LED, u), ==, 1);
	g_assert_true(has_bit(u, LED_CAPSL) && has_bit(u, LED_NUML) && has_bit(u, LED_SCROLLL));
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_EV_BITS, EV_ABS, u), ==, 0);
	g_assert_cmpuint(cfg_select(in, VIRTIO_INPUT_CFG_PROP_BITS, 0, u), ==, 0);
	virtio_input_destroy(in);

	in = input_new(&btn, NULL);
	cfg_select(in, VIRTIO_INPUT_CFG_EV_BITS, EV_KEY, u);
	g_assert_true(has_bit(u, KEY_POWER) && has_bit(u, KEY_VOLUMEUP) && has_bit(u, KEY_VOLUMEDOWN));
	g_assert_false(has_bit(u, KEY_A));
	g_autofree char *name = virtio_input_socket_name(&btn);
	g_assert_cmpstr(name, ==, "input_buttons.sock");
	virtio_input_destroy(in);
}

/* ---- events ---- */

static struct input_client *client_new(struct virtio_input *in)
{
	struct input_client *cl = g_new0(struct input_client, 1);
	cl->dev = in;
	return cl;
}

static void test_tap_delivered(void)
{
	struct virtio_input *in = input_new(&touch_720, NULL);
	struct input_client *cl = client_new(in);
	g_autoptr(GByteArray) b = g_byte_array_new();
	put_tap(b, 100, 200);
	/* In odd pieces: records split across reads still arrive whole. */
	for (guint off = 0; off < b->len; off += 3)
		input_client_feed(cl, b->data + off, MIN(3u, b->len - off));
	g_assert_cmpuint(in->count, ==, 9);
	g_assert_cmpuint(in->dropped_bad, ==, 0);

	struct guest g;
	guest_init(&g);
	guest_take_events(&g, in);
	g_assert_cmpuint(guest_used_idx(&g), ==, 9);
	assert_event(&g, EV_ABS, ABS_MT_SLOT, 0);
	assert_event(&g, EV_ABS, ABS_MT_TRACKING_ID, 1);
	assert_event(&g, EV_ABS, ABS_MT_POSITION_X, 100);
	assert_event(&g, EV_ABS, ABS_MT_POSITION_Y, 200);
	assert_event(&g, EV_KEY, BTN_TOUCH, 1);
	assert_event(&g, EV_SYN, SYN_REPORT, 0);
	assert_event(&g, EV_ABS, ABS_MT_TRACKING_ID, -1);
	assert_event(&g, EV_KEY, BTN_TOUCH, 0);
	assert_event(&g, EV_SYN, SYN_REPORT, 0);
	g_assert_cmpuint(in->count, ==, 0);
	guest_fini(&g);
	g_free(cl);
	virtio_input_destroy(in);
}

/* A group waits for its SYN_REPORT; a position beyond the display is clamped to its edge. */
static void test_group_and_clamp(void)
{
	struct virtio_input *in = input_new(&touch_720, NULL);
	struct input_client *cl = client_new(in);
	g_autoptr(GByteArray) b = g_byte_array_new();
	put_record(b, EV_ABS, ABS_MT_POSITION_X, 5000);
	put_record(b, EV_ABS, ABS_MT_POSITION_Y, -3);
	input_client_feed(cl, b->data, b->len);
	g_assert_cmpuint(in->count, ==, 0);
	g_byte_array_set_size(b, 0);
	put_record(b, EV_SYN, SYN_REPORT, 0);
	input_client_feed(cl, b->data, b->len);
	g_assert_cmpuint(in->count, ==, 3);
	struct guest g;
	guest_init(&g);
	guest_take_events(&g, in);
	assert_event(&g, EV_ABS, ABS_MT_POSITION_X, 719);
	assert_event(&g, EV_ABS, ABS_MT_POSITION_Y, 0);
	assert_event(&g, EV_SYN, SYN_REPORT, 0);
	guest_fini(&g);
	g_free(cl);
	virtio_input_destroy(in);
}

/* Records the device does not have are dropped and counted; the rest of the group goes on. */
static void test_malformed_dropped(void)
{
	struct virtio_input_spec btn = { .kind = VIRTIO_INPUT_BUTTONS };
	struct virtio_input *in = input_new(&btn, NULL);
	struct input_client *cl = client_new(in);
	g_autoptr(GByteArray) b = g_byte_array_new();
	put_record(b, EV_KEY, KEY_A, 1);         /* not a button */
	put_record(b, EV_REL, REL_X, 1);         /* no such type here */
	put_record(b, EV_LED, LED_CAPSL, 1);     /* the guest's, not the host's */
	put_record(b, EV_KEY, KEY_POWER, 7);     /* no such key state */
	put_record(b, 0xffff, 0xffff, -1);       /* no such type at all */
	put_record(b, EV_KEY, 0xfff0, 1);        /* beyond any bitmap */
	put_record(b, EV_SYN, SYN_MT_REPORT, 0); /* protocol A */
	put_record(b, EV_KEY, KEY_POWER, 1);
	put_record(b, EV_SYN, SYN_REPORT, 0);
	input_client_feed(cl, b->data, b->len);
	g_assert_cmpuint(in->dropped_bad, ==, 7);
	g_assert_cmpuint(in->count, ==, 2);
	struct guest g;
	guest_init(&g);
	guest_take_events(&g, in);
	assert_event(&g, EV_KEY, KEY_POWER, 1);
	assert_event(&g, EV_SYN, SYN_REPORT, 0);
	guest_fini(&g);
	g_free(cl);
	virtio_input_destroy(in);
}

/* A group too long for the device is dropped whole, up to its SYN_REPORT; the next one passes. */
static void test_oversized_group(void)
{
	struct virtio_input *in = input_new(&touch_720, NULL);
	struct input_client *cl = client_new(in);
	g_autoptr(GByteArray) b = g_byte_array_new();
	for (int i = 0; i < 3 * VIRTIO_INPUT_GROUP_MAX; i++)
		put_record(b, EV_ABS, ABS_MT_POSITION_X, i % 700);
	put_record(b, EV_SYN, SYN_REPORT, 0);
	put_record(b, EV_ABS, ABS_MT_POSITION_X, 42);
	put_record(b, EV_SYN, SYN_REPORT, 0);
	input_client_feed(cl, b->data, b->len);
	g_assert_cmpuint(in->count, ==, 2);
	struct guest g;
	guest_init(&g);
	guest_take_events(&g, in);
	assert_event(&g, EV_ABS, ABS_MT_POSITION_X, 42);
	guest_fini(&g);
	g_free(cl);
	virtio_input_destroy(in);
}

/* A guest that takes nothing holds the host to VIRTIO_INPUT_PENDING_MAX events: the oldest
 * groups go, whole, and the newest are what the guest gets when it comes back. */
static void test_bounded_oldest_dropped(void)
{
	struct virtio_input *in = input_new(&touch_720, NULL);
	struct input_client *cl = client_new(in);
	g_autoptr(GByteArray) b = g_byte_array_new();
	const int groups = 3 * VIRTIO_INPUT_PENDING_MAX; /* of 3 events each */
	for (int i = 0; i < groups; i++) {
		put_record(b, EV_ABS, ABS_MT_POSITION_X, i % 720);
		put_record(b, EV_ABS, ABS_MT_POSITION_Y, i / 720);
		put_record(b, EV_SYN, SYN_REPORT, 0);
	}
	input_client_feed(cl, b->data, b->len);
	g_assert_cmpuint(in->count, <=, VIRTIO_INPUT_PENDING_MAX);
	g_assert_cmpuint(in->count % 3, ==, 0); /* whole groups only */
	g_assert_cmpuint(in->dropped_overflow, ==, 3u * groups - in->count);
	struct guest g;
	guest_init(&g);
	guest_take_events(&g, in);
	/* The first event the guest gets belongs to the oldest group still held. */
	int first = groups - (int)(in->count + QSIZE) / 3;
	assert_event(&g, EV_ABS, ABS_MT_POSITION_X, first % 720);
	assert_event(&g, EV_ABS, ABS_MT_POSITION_Y, first / 720);
	assert_event(&g, EV_SYN, SYN_REPORT, 0);
	guest_fini(&g);
	g_free(cl);
	virtio_input_destroy(in);
}

/* A buffer too small for an event goes back empty; the event waits for the next buffer. */
static void test_tiny_buffer(void)
{
	struct virtio_input *in = input_new(&touch_720, NULL);
	struct input_client *cl = client_new(in);
	g_autoptr(GByteArray) b = g_byte_array_new();
	put_record(b, EV_SYN, SYN_REPORT, 0);
	input_client_feed(cl, b->data, b->len);
	struct guest g;
	guest_init(&g);
	guest_offer(&g, 0, 4, true);
	guest_offer(&g, 1, 8, false); /* not writable at all */
	guest_offer(&g, 2, 8, true);
	test_queues[EVENT_QUEUE] = &g.q;
	input_queue_notify(in, EVENT_QUEUE);
	g_assert_cmpuint(guest_used_idx(&g), ==, 3);
	g_assert_cmpuint(fakemem_rd32(&g.mem, USED + 4 + 4), ==, 0);
	g_assert_cmpuint(fakemem_rd32(&g.mem, USED + 4 + 8 + 4), ==, 0);
	g_assert_cmpuint(fakemem_rd32(&g.mem, USED + 4 + 16), ==, 2);
	g_assert_cmpuint(fakemem_rd32(&g.mem, USED + 4 + 16 + 4), ==, 8);
	g_assert_cmpuint(in->count, ==, 0);
	guest_fini(&g);
	g_free(cl);
	virtio_input_destroy(in);
}

/* The status queue: the guest's LED events are kept, its buffers returned. */
static void test_status_leds(void)
{
	struct virtio_input_spec kbd = { .kind = VIRTIO_INPUT_KEYBOARD };
	struct virtio_input *in = input_new(&kbd, NULL);
	struct guest g;
	guest_init(&g);
	struct virtio_input_event leds[3] = {
		{ GUINT16_TO_LE(EV_LED), GUINT16_TO_LE(LED_CAPSL), GUINT32_TO_LE(1) },
		{ GUINT16_TO_LE(EV_LED), GUINT16_TO_LE(LED_NUML), GUINT32_TO_LE(1) },
		{ GUINT16_TO_LE(EV_LED), GUINT16_TO_LE(LED_NUML), GUINT32_TO_LE(0) },
	};
	for (unsigned int i = 0; i < 3; i++) {
		memcpy(fakemem_at(&g.mem, BUF + 16ULL * i, 8), &leds[i], 8);
		guest_offer(&g, i, 8, false);
	}
	test_queues[STATUS_QUEUE] = &g.q;
	input_queue_notify(in, STATUS_QUEUE);
	g_assert_cmpuint(guest_used_idx(&g), ==, 3);
	g_assert_cmpuint(in->leds, ==, 1u << LED_CAPSL);
	guest_fini(&g);
	virtio_input_destroy(in);
}

/* ---- the real socket ---- */

static int connect_to(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	return fd;
}

static void send_all(int fd, const GByteArray *b, guint from, guint to)
{
	g_assert_cmpint(write(fd, b->data + from, to - from), ==, (gssize)(to - from));
}

static void pump_until(GMainContext *ctx, struct virtio_input *in, unsigned int count, unsigned int clients)
{
	while (in->count != count || in->nr_clients != clients)
		g_main_context_iteration(ctx, TRUE);
}

/* Two clients at once: one's half-written group does not split the other's. A stale socket
 * file is replaced; a plain file in the way is an error naming it. */
static void test_socket_clients(void)
{
	g_autofree char *dir = g_dir_make_tmp("sepia-input-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "input_touch_0.sock", NULL);
	GMainContext *ctx = g_main_context_new();
	struct vm_host host = { .io_ctx = ctx };
	g_autoptr(GError) error = NULL;

	/* A stale socket from an earlier run. */
	struct virtio_input *in = virtio_input_create(&host, &touch_720, path, &error);
	g_assert_no_error(error);
	int stale = in->listen_fd;
	in->listen_fd = -1;
	g_free(g_steal_pointer(&in->socket_path)); /* keep the file */
	virtio_input_destroy(in);
	close(stale);
	g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
	in = virtio_input_create(&host, &touch_720, path, &error);
	g_assert_no_error(error);

	int a = connect_to(path), b = connect_to(path);
	pump_until(ctx, in, 0, 2);
	g_autoptr(GByteArray) ga = g_byte_array_new(), gb = g_byte_array_new();
	put_record(ga, EV_ABS, ABS_MT_POSITION_X, 1);
	put_record(ga, EV_ABS, ABS_MT_POSITION_Y, 2);
	put_record(ga, EV_SYN, SYN_REPORT, 0);
	put_record(gb, EV_ABS, ABS_MT_POSITION_X, 10);
	put_record(gb, EV_SYN, SYN_REPORT, 0);
	send_all(a, ga, 0, 12); /* one record and a half */
	send_all(b, gb, 0, gb->len);
	pump_until(ctx, in, 2, 2);
	send_all(a, ga, 12, ga->len);
	pump_until(ctx, in, 5, 2);
	/* A client that leaves mid-record loses only that record. */
	g_byte_array_set_size(ga, 4);
	send_all(a, ga, 0, 4);
	close(a);
	pump_until(ctx, in, 5, 1);
	g_assert_cmpuint(in->dropped_bad, ==, 1);
	close(b);
	pump_until(ctx, in, 5, 0);

	struct guest g;
	guest_init(&g);
	guest_take_events(&g, in);
	assert_event(&g, EV_ABS, ABS_MT_POSITION_X, 10);
	assert_event(&g, EV_SYN, SYN_REPORT, 0);
	assert_event(&g, EV_ABS, ABS_MT_POSITION_X, 1);
	assert_event(&g, EV_ABS, ABS_MT_POSITION_Y, 2);
	assert_event(&g, EV_SYN, SYN_REPORT, 0);
	guest_fini(&g);
	virtio_input_destroy(in);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));

	g_assert_true(g_file_set_contents(path, "not a socket", -1, NULL));
	in = virtio_input_create(&host, &touch_720, path, &error);
	g_assert_null(in);
	g_assert_nonnull(error);
	g_assert_nonnull(strstr(error->message, path));
	g_unlink(path);
	g_rmdir(dir);
	g_main_context_unref(ctx);
}

/* ---- snapshots ---- */

static GBytes *input_state(struct virtio_input *in)
{
	struct snap_writer w;
	snap_writer_init(&w);
	snap_begin(&w, "input");
	g_assert_true(input_save(in, &w, NULL));
	snap_end(&w);
	GBytes *b = snap_writer_finish(&w);
	snap_writer_clear(&w);
	return b;
}

static bool input_load_state(struct virtio_input *in, GBytes *b, GError **error)
{
	g_autoptr(snap_file) f = snap_file_parse(b, "input-test", error);
	g_assert_nonnull(f);
	struct snap_reader r;
	snap_reader_init(&r, snap_file_find(f, "input"));
	return input_load(in, &r, error) && snap_reader_done(&r, error);
}

/* Events the guest has not taken, its LEDs and its config selection survive a round trip,
 * in order, for every kind of device; the events still reach the guest afterwards. */
static void test_snapshot_round_trip(void)
{
	const struct virtio_input_spec specs[] = {
		touch_720,
		{ .kind = VIRTIO_INPUT_KEYBOARD },
		{ .kind = VIRTIO_INPUT_BUTTONS },
	};
	for (unsigned int k = 0; k < G_N_ELEMENTS(specs); k++) {
		struct virtio_input *a = input_new(&specs[k], NULL);
		struct input_client *cl = client_new(a);
		g_autoptr(GByteArray) rec = g_byte_array_new();
		unsigned int code = specs[k].kind == VIRTIO_INPUT_TOUCH      ? BTN_TOUCH
				    : specs[k].kind == VIRTIO_INPUT_KEYBOARD ? KEY_A
									     : KEY_POWER;
		/* The oldest events were taken before, so the ring wraps. */
		a->head = VIRTIO_INPUT_PENDING_MAX - 2;
		put_record(rec, EV_KEY, code, 1);
		put_record(rec, EV_SYN, SYN_REPORT, 0);
		put_record(rec, EV_KEY, code, 0);
		put_record(rec, EV_SYN, SYN_REPORT, 0);
		input_client_feed(cl, rec->data, rec->len);
		/* A group without its SYN_REPORT yet is the client's, not the device's. */
		g_byte_array_set_size(rec, 0);
		put_record(rec, EV_KEY, code, 1);
		input_client_feed(cl, rec->data, rec->len);
		g_assert_cmpuint(a->count, ==, 4);
		a->leds = 1u << LED_CAPSL;
		a->config.select = VIRTIO_INPUT_CFG_EV_BITS;
		a->config.subsel = EV_KEY;
		input_config_select(a);
		g_autoptr(GBytes) state = input_state(a);

		struct virtio_input *b = input_new(&specs[k], NULL);
		g_autoptr(GError) error = NULL;
		g_assert_true(input_load_state(b, state, &error));
		g_assert_no_error(error);
		g_assert_cmpuint(b->count, ==, 4);
		g_assert_cmpuint(b->leds, ==, 1u << LED_CAPSL);
		g_assert_cmpuint(b->config.select, ==, VIRTIO_INPUT_CFG_EV_BITS);
		g_assert_cmpmem(&b->config, sizeof(b->config), &a->config, sizeof(a->config));
		struct guest g;
		guest_init(&g);
		guest_take_events(&g, b);
		g_assert_cmpuint(guest_used_idx(&g), ==, 4);
		assert_event(&g, EV_KEY, code, 1);
		assert_event(&g, EV_SYN, SYN_REPORT, 0);
		assert_event(&g, EV_KEY, code, 0);
		assert_event(&g, EV_SYN, SYN_REPORT, 0);
		guest_fini(&g);
		g_free(cl);
		virtio_input_destroy(a);
		virtio_input_destroy(b);
	}
}

/* Another device, a screen of another size, an event the device does not have, more events
 * than it holds, or a section cut short: each is refused with an error, nothing loaded. */
static void test_snapshot_refused(void)
{
	struct virtio_input_spec kbd = { .kind = VIRTIO_INPUT_KEYBOARD };
	struct virtio_input_spec touch_small = touch_720;
	touch_small.width = 640;
	struct virtio_input *tch = input_new(&touch_720, NULL);
	g_autoptr(GBytes) touch_state = input_state(tch);
	struct virtio_input *other = input_new(&kbd, NULL);
	g_autoptr(GError) error = NULL;
	g_assert_false(input_load_state(other, touch_state, &error));
	g_assert_nonnull(strstr(error->message, "virtio-input-keyboard"));
	g_clear_error(&error);
	struct virtio_input *small = input_new(&touch_small, NULL);
	g_assert_false(input_load_state(small, touch_state, &error));
	g_assert_nonnull(error);
	g_clear_error(&error);

	for (unsigned int which = 0; which < 3; which++) {
		struct snap_writer w;
		snap_writer_init(&w);
		snap_begin(&w, "input");
		snap_put_u8(&w, VIRTIO_INPUT_KEYBOARD);
		snap_put_u32(&w, 0);
		snap_put_u32(&w, 0);
		snap_put_u32(&w, 0);
		snap_put_u8(&w, 0);
		snap_put_u8(&w, 0);
		snap_put_u16(&w, 0);
		snap_put_u32(&w, which == 1 ? VIRTIO_INPUT_PENDING_MAX + 1 : 1);
		if (which != 2) {
			snap_put_u16(&w, which == 0 ? EV_ABS : EV_KEY); /* a keyboard has no axes */
			snap_put_u16(&w, which == 0 ? ABS_X : KEY_A);
			snap_put_u32(&w, 1);
		}
		snap_end(&w);
		g_autoptr(GBytes) bad = snap_writer_finish(&w);
		snap_writer_clear(&w);
		g_assert_false(input_load_state(other, bad, &error));
		g_assert_nonnull(error);
		g_clear_error(&error);
		g_assert_cmpuint(other->count, ==, 0);
	}
	virtio_input_destroy(tch);
	virtio_input_destroy(other);
	virtio_input_destroy(small);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
	g_test_add_func("/input/config-touch", test_config_touch);
	g_test_add_func("/input/config-keys", test_config_keys);
	g_test_add_func("/input/tap-delivered", test_tap_delivered);
	g_test_add_func("/input/group-and-clamp", test_group_and_clamp);
	g_test_add_func("/input/malformed-dropped", test_malformed_dropped);
	g_test_add_func("/input/oversized-group", test_oversized_group);
	g_test_add_func("/input/bounded-oldest-dropped", test_bounded_oldest_dropped);
	g_test_add_func("/input/tiny-buffer", test_tiny_buffer);
	g_test_add_func("/input/status-leds", test_status_leds);
	g_test_add_func("/input/socket-clients", test_socket_clients);
	g_test_add_func("/input/snapshot-round-trip", test_snapshot_round_trip);
	g_test_add_func("/input/snapshot-refused", test_snapshot_refused);
	return g_test_run();
}
