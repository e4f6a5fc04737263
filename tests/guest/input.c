/* input: virtio-input from the driver's side, without Linux. Finds sepia-vmm's three input
 * devices (a touch screen for the 64x48 display, the keyboard, the buttons), reads their config
 * space as Linux's virtio_input driver does (select/subsel, then size and the answer), and checks
 * names, ids, properties, event bits and axis ranges. Then it offers the touch screen's event
 * queue one buffer at a time, prints "guest: info input ready" (the runner then writes a tap, a
 * record the device lacks and an out-of-range move to input_touch_0.sock) and checks the events
 * it gets: the tap whole and in order, the bad record gone, the move clamped to the display. It
 * also sends the keyboard an LED event on its status queue.
 *
 * Command line: "guest-kit input width=64 height=48". */
#include "lib.h"

#define VIRTIO_ID_INPUT 18

/* struct virtio_input_config (virtio 1.x section 5.8.4) */
#define CFG_SELECT 0
#define CFG_SUBSEL 1
#define CFG_SIZE   2
#define CFG_U      8
enum {
	CFG_ID_NAME = 0x01,
	CFG_ID_SERIAL = 0x02,
	CFG_ID_DEVIDS = 0x03,
	CFG_PROP_BITS = 0x10,
	CFG_EV_BITS = 0x11,
	CFG_ABS_INFO = 0x12,
};

/* evdev codes (linux/input-event-codes.h) */
#define EV_SYN             0
#define EV_KEY             1
#define EV_ABS             3
#define EV_LED             0x11
#define KEY_A              30
#define KEY_POWER          116
#define BTN_TOUCH          0x14a
#define ABS_MT_SLOT        0x2f
#define ABS_MT_POSITION_X  0x35
#define ABS_MT_POSITION_Y  0x36
#define ABS_MT_TRACKING_ID 0x39
#define LED_CAPSL          1
#define INPUT_PROP_DIRECT  1
#define BUS_VIRTUAL        6

struct event {
	uint16_t type, code;
	uint32_t value;
};

/* Selects (select, subsel); returns the answer's size and copies up to len bytes of it. */
static uint8_t cfg_query(struct virtio_dev *v, uint8_t select, uint8_t subsel, uint8_t *out, unsigned len)
{
	mmio_write8(v->device + CFG_SELECT, select);
	mmio_write8(v->device + CFG_SUBSEL, subsel);
	uint8_t size = mmio_read8(v->device + CFG_SIZE);
	for (unsigned i = 0; i < len && i < 128; i++)
		out[i] = mmio_read8(v->device + CFG_U + i);
	return size;
}

static bool has_bit(const uint8_t *map, uint8_t size, unsigned bit)
{
	return bit / 8 < size && (map[bit / 8] >> (bit % 8)) & 1;
}

static uint32_t abs_max(struct virtio_dev *v, uint8_t axis)
{
	uint8_t a[20];
	if (cfg_query(v, CFG_ABS_INFO, axis, a, sizeof(a)) != sizeof(a))
		return 0xffffffff;
	return a[4] | a[5] << 8 | a[6] << 16 | (uint32_t)a[7] << 24;
}

/* The used element of q, waiting longer than virtq_wait_used: the host writes only after it
 * read our "ready" line. false after about a minute even where ring 0 is interpreted. */
static bool wait_used_long(struct virtq *q, struct virtq_used_elem *e)
{
	for (int i = 0; i < 40; i++)
		if (virtq_wait_used(q, e))
			return true;
	return false;
}

static struct event ev_buf __attribute__((aligned(8)));

static bool next_event(struct virtq *q, struct event *out)
{
	struct virtq_used_elem e;
	memset(&ev_buf, 0xee, sizeof(ev_buf));
	virtq_submit(q, &(struct virtq_buf){ &ev_buf, sizeof(ev_buf), true }, 1);
	if (!wait_used_long(q, &e) || e.len != sizeof(ev_buf))
		return false;
	*out = ev_buf;
	return true;
}

int main(void)
{
	struct pci_dev d;
	struct virtio_dev devs[3], *touch = NULL, *kbd = NULL, *btn = NULL;
	char name[129];
	uint8_t u[128];
	int found = 0;
	for (int i = 0; i < 3 && pci_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(VIRTIO_ID_INPUT), i, &d);
	     i++) {
		if (!virtio_probe(&devs[i], &d))
			return 0;
		found++;
		uint8_t n = cfg_query(&devs[i], CFG_ID_NAME, 0, (uint8_t *)name, 128);
		name[n < 128 ? n : 128] = 0;
		gk_printf("guest: info virtio-input %d: \"%s\"\n", i, name);
		if (!strcmp(name, "virtio-input-touch0"))
			touch = &devs[i];
		else if (!strcmp(name, "virtio-input-keyboard"))
			kbd = &devs[i];
		else if (!strcmp(name, "virtio-input-buttons"))
			btn = &devs[i];
	}
	if (!check(found == 3 && touch && kbd && btn,
		   "three virtio-input devices: touch0, keyboard, buttons (%d found)", found))
		return 0;

	/* The touch screen. */
	uint8_t n = cfg_query(touch, CFG_ID_DEVIDS, 0, u, 8);
	check(n == 8 && (u[0] | u[1] << 8) == BUS_VIRTUAL,
	      "touch0: ID_DEVIDS is 8 bytes, bus BUS_VIRTUAL (%u)", u[0] | u[1] << 8);
	n = cfg_query(touch, CFG_PROP_BITS, 0, u, sizeof(u));
	check(has_bit(u, n, INPUT_PROP_DIRECT), "touch0: PROP_BITS has INPUT_PROP_DIRECT");
	n = cfg_query(touch, CFG_EV_BITS, EV_ABS, u, sizeof(u));
	check(has_bit(u, n, ABS_MT_SLOT) && has_bit(u, n, ABS_MT_POSITION_X) &&
		      has_bit(u, n, ABS_MT_POSITION_Y) && has_bit(u, n, ABS_MT_TRACKING_ID),
	      "touch0: EV_BITS(EV_ABS) has ABS_MT_SLOT, _POSITION_X/Y, _TRACKING_ID (size %u)", n);
	n = cfg_query(touch, CFG_EV_BITS, EV_KEY, u, sizeof(u));
	check(has_bit(u, n, BTN_TOUCH) && !has_bit(u, n, KEY_A),
	      "touch0: EV_BITS(EV_KEY) is BTN_TOUCH, not keys");
	check(abs_max(touch, ABS_MT_POSITION_X) == 63 && abs_max(touch, ABS_MT_POSITION_Y) == 47,
	      "touch0: ABS_INFO ranges are the 64x48 display's (max %u, %u)",
	      abs_max(touch, ABS_MT_POSITION_X), abs_max(touch, ABS_MT_POSITION_Y));
	check(cfg_query(touch, CFG_ABS_INFO, 0x00 /* ABS_X: not an axis it has */, u, 20) == 0,
	      "touch0: ABS_INFO of an axis it lacks answers size 0");
	check(cfg_query(touch, 0x7f, 0, u, sizeof(u)) == 0, "touch0: an unknown select answers size 0");
	check(cfg_query(touch, CFG_EV_BITS, 0xff, u, sizeof(u)) == 0,
	      "touch0: EV_BITS of type 255 answers size 0");

	n = cfg_query(kbd, CFG_EV_BITS, EV_KEY, u, sizeof(u));
	check(has_bit(u, n, KEY_A) && has_bit(u, n, KEY_POWER), "keyboard: EV_BITS(EV_KEY) has KEY_A");
	n = cfg_query(kbd, CFG_EV_BITS, EV_LED, u, sizeof(u));
	check(has_bit(u, n, LED_CAPSL), "keyboard: EV_BITS(EV_LED) has LED_CAPSL");
	n = cfg_query(btn, CFG_EV_BITS, EV_KEY, u, sizeof(u));
	check(has_bit(u, n, KEY_POWER) && !has_bit(u, n, KEY_A),
	      "buttons: EV_BITS(EV_KEY) has KEY_POWER and no KEY_A");

	/* The keyboard's status queue takes the guest's LED event. */
	struct virtq kq0, kq1, tq0, tq1;
	struct virtq_used_elem e;
	if (!virtio_negotiate(kbd, 0) || !virtio_queue_setup(kbd, &kq0, 0, VIRTIO_MSI_NO_VECTOR) ||
	    !virtio_queue_setup(kbd, &kq1, 1, VIRTIO_MSI_NO_VECTOR))
		return 0;
	virtio_driver_ok(kbd);
	static struct event led = { EV_LED, LED_CAPSL, 1 };
	virtq_submit(&kq1, &(struct virtq_buf){ &led, sizeof(led), false }, 1);
	check(virtq_wait_used(&kq1, &e) && e.id == 0,
	      "keyboard: the status queue returns the LED event's buffer");

	/* Events from the host. */
	if (!virtio_negotiate(touch, 0) || !virtio_queue_setup(touch, &tq0, 0, VIRTIO_MSI_NO_VECTOR) ||
	    !virtio_queue_setup(touch, &tq1, 1, VIRTIO_MSI_NO_VECTOR))
		return 0;
	virtio_driver_ok(touch);
	gk_printf("guest: info input ready\n");
	static const struct event want[] = {
		{ EV_ABS, ABS_MT_SLOT, 0 },        { EV_ABS, ABS_MT_TRACKING_ID, 5 },
		{ EV_ABS, ABS_MT_POSITION_X, 10 }, { EV_ABS, ABS_MT_POSITION_Y, 20 },
		{ EV_KEY, BTN_TOUCH, 1 },          { EV_SYN, 0, 0 },
		{ EV_ABS, ABS_MT_POSITION_X, 63 }, { EV_SYN, 0, 0 },
	};
	int right = 0;
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct event got;
		if (!next_event(&tq0, &got)) {
			check(false, "touch0: event %u arrives", i);
			break;
		}
		if (got.type == want[i].type && got.code == want[i].code && got.value == want[i].value)
			right++;
		else
			check(false, "touch0: event %u is %u %u %u, not %u %u %u", i, got.type, got.code,
			      got.value, want[i].type, want[i].code, want[i].value);
	}
	check(right == 8,
	      "touch0: the host's tap arrives whole and in order, the record it lacks dropped, the move "
	      "to x=1000 clamped to 63 (%d of 8 events right)",
	      right);
	return 0;
}
