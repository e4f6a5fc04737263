/* virtio-input (virtio 1.x section 5.8): eventq 0 carries host input to the guest, one
 * struct virtio_input_event per buffer; statusq 1 carries the guest's own events back (the
 * keyboard's LEDs). The config space describes the device as Linux's virtio_input driver
 * reads it: the guest writes select and subsel, then reads size and the answer in u.
 *
 * Host input comes from programs connected to a unix socket (the wire format is in input.h).
 * Sockets and queues are served on the VM's I/O thread; the pending events sit behind their own
 * lock because the transport's lock is not held while a socket is read. */
#include "devices/virtio/input.h"

#include <errno.h>
#include <linux/input.h>
#include <linux/virtio_input.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>

#include "common/error.h"
#include "devices/snapshot.h"
#include "devices/virtio/virtio.h"

#define EVENT_QUEUE  0
#define STATUS_QUEUE 1
#define BITMAP_BYTES 128 /* u.bitmap: codes 0..1023 of one type */
#define LOGGED_FIRST 10  /* then every 1000th of a kind */
#define READ_CHUNK   4096

struct input_client {
	struct virtio_input *dev;
	int fd;
	GSource *src;
	uint8_t partial[sizeof(struct virtio_input_event)];
	size_t partial_len;
	struct virtio_input_event group[VIRTIO_INPUT_GROUP_MAX]; /* host byte order */
	unsigned int group_len;
	bool skipping; /* an oversized group is being dropped up to its SYN_REPORT */
};

struct virtio_input {
	char *name;
	char *serial;
	struct virtio_input_spec spec;
	struct virtio_pci_dev *vp;

	/* What the device is: its event types and codes, properties and axes. */
	uint8_t bits[EV_CNT][BITMAP_BYTES];
	uint8_t props[BITMAP_BYTES];
	struct virtio_input_absinfo abs[ABS_CNT];
	struct virtio_input_devids ids;
	struct virtio_input_config config; /* what the guest's select/subsel chose */

	/* Events waiting for the guest: a ring, host byte order. */
	GMutex lock;
	struct virtio_input_event pending[VIRTIO_INPUT_PENDING_MAX];
	unsigned int head, count;
	uint64_t dropped_overflow; /* events dropped because the guest took none */
	uint64_t dropped_bad;      /* records refused from host clients */
	uint64_t tiny_buffers;     /* guest buffers too small for an event */
	uint16_t leds;             /* LED_* bits the guest last set */

	char *socket_path;
	int listen_fd;
	GSource *listen_src;
	GMainContext *ctx;
	GList *clients;
	unsigned int nr_clients;
	uint64_t refused_clients;
	struct virtq_chain chain;
};

static bool worth_logging(uint64_t *count)
{
	++*count;
	return *count <= LOGGED_FIRST || *count % 1000 == 0;
}

static void set_bit8(uint8_t *map, unsigned int bit) { map[bit / 8] |= (uint8_t)(1u << (bit % 8)); }
static bool test_bit8(const uint8_t *map, unsigned int bit) { return map[bit / 8] & (1u << (bit % 8)); }

/* ---- what the device is ---- */

static void input_set_abs(struct virtio_input *in, unsigned int axis, int32_t min, int32_t max)
{
	set_bit8(in->bits[EV_ABS], axis);
	in->abs[axis] = (struct virtio_input_absinfo){ .min = GUINT32_TO_LE((uint32_t)min),
						       .max = GUINT32_TO_LE((uint32_t)max) };
}

static void input_describe(struct virtio_input *in)
{
	const struct virtio_input_spec *s = &in->spec;
	in->ids = (struct virtio_input_devids){ .bustype = GUINT16_TO_LE(BUS_VIRTUAL),
						.vendor = GUINT16_TO_LE(0x5345), /* "SE" */
						.product = GUINT16_TO_LE(0x0100 + s->kind),
						.version = GUINT16_TO_LE(1) };
	switch (s->kind) {
	case VIRTIO_INPUT_TOUCH:
		in->name = g_strdup_printf("virtio-input-touch%u", s->display);
		in->serial = g_strdup_printf("sepia-touch-%u", s->display);
		set_bit8(in->props, INPUT_PROP_DIRECT);
		set_bit8(in->bits[EV_KEY], BTN_TOUCH);
		input_set_abs(in, ABS_MT_SLOT, 0, VIRTIO_INPUT_TOUCH_SLOTS - 1);
		input_set_abs(in, ABS_MT_TRACKING_ID, -1, 65535);
		input_set_abs(in, ABS_MT_POSITION_X, 0, (int32_t)s->width - 1);
		input_set_abs(in, ABS_MT_POSITION_Y, 0, (int32_t)s->height - 1);
		break;
	case VIRTIO_INPUT_KEYBOARD:
		in->name = g_strdup("virtio-input-keyboard");
		in->serial = g_strdup("sepia-keyboard");
		/* Every keyboard key (codes below BTN_MISC), so any layout's scancodes get through. */
		for (unsigned int k = KEY_ESC; k < BTN_MISC; k++)
			set_bit8(in->bits[EV_KEY], k);
		set_bit8(in->bits[EV_LED], LED_NUML);
		set_bit8(in->bits[EV_LED], LED_CAPSL);
		set_bit8(in->bits[EV_LED], LED_SCROLLL);
		break;
	case VIRTIO_INPUT_BUTTONS:
		in->name = g_strdup("virtio-input-buttons");
		in->serial = g_strdup("sepia-buttons");
		set_bit8(in->bits[EV_KEY], KEY_POWER);
		set_bit8(in->bits[EV_KEY], KEY_VOLUMEUP);
		set_bit8(in->bits[EV_KEY], KEY_VOLUMEDOWN);
		break;
	}
}

char *virtio_input_socket_name(const struct virtio_input_spec *spec)
{
	switch (spec->kind) {
	case VIRTIO_INPUT_TOUCH:
		return g_strdup_printf("input_touch_%u.sock", spec->display);
	case VIRTIO_INPUT_KEYBOARD:
		return g_strdup("input_keyboard.sock");
	case VIRTIO_INPUT_BUTTONS:
		break;
	}
	return g_strdup("input_buttons.sock");
}

/* ---- config space ---- */

/* A bitmap's answer is as long as its last set byte; an empty one is size 0 (absent). */
static uint8_t bitmap_size(const uint8_t *map)
{
	unsigned int n = BITMAP_BYTES;
	while (n && !map[n - 1])
		n--;
	return (uint8_t)n;
}

static void input_config_select(struct virtio_input *in)
{
	struct virtio_input_config *c = &in->config;
	memset(&c->u, 0, sizeof(c->u));
	c->size = 0;
	switch (c->select) {
	case VIRTIO_INPUT_CFG_ID_NAME:
	case VIRTIO_INPUT_CFG_ID_SERIAL:
		if (c->subsel == 0) {
			const char *s = c->select == VIRTIO_INPUT_CFG_ID_NAME ? in->name : in->serial;
			c->size = (uint8_t)MIN(strlen(s), sizeof(c->u.string));
			memcpy(c->u.string, s, c->size);
		}
		break;
	case VIRTIO_INPUT_CFG_ID_DEVIDS:
		if (c->subsel == 0) {
			c->u.ids = in->ids;
			c->size = sizeof(c->u.ids);
		}
		break;
	case VIRTIO_INPUT_CFG_PROP_BITS:
		if (c->subsel == 0) {
			memcpy(c->u.bitmap, in->props, BITMAP_BYTES);
			c->size = bitmap_size(in->props);
		}
		break;
	case VIRTIO_INPUT_CFG_EV_BITS:
		if (c->subsel < EV_CNT) {
			memcpy(c->u.bitmap, in->bits[c->subsel], BITMAP_BYTES);
			c->size = bitmap_size(in->bits[c->subsel]);
		}
		break;
	case VIRTIO_INPUT_CFG_ABS_INFO:
		if (c->subsel < ABS_CNT && test_bit8(in->bits[EV_ABS], c->subsel)) {
			c->u.abs = in->abs[c->subsel];
			c->size = sizeof(c->u.abs);
		}
		break;
	default:
		break;
	}
}

static void input_config_read(void *dev, uint32_t off, void *data, unsigned int len)
{
	struct virtio_input *in = dev;
	if (off > sizeof(in->config) || len > sizeof(in->config) - off) {
		memset(data, 0, len);
		return;
	}
	memcpy(data, (const uint8_t *)&in->config + off, len);
}

/* Only select and subsel are the driver's to write; every write re-reads the answer. */
static void input_config_write(void *dev, uint32_t off, const void *data, unsigned int len)
{
	struct virtio_input *in = dev;
	const uint8_t *b = data;
	for (unsigned int i = 0; i < len; i++) {
		if (off + i == offsetof(struct virtio_input_config, select))
			in->config.select = b[i];
		else if (off + i == offsetof(struct virtio_input_config, subsel))
			in->config.subsel = b[i];
	}
	input_config_select(in);
}

/* ---- events for the guest ---- */

/* Drops the oldest group (up to and including its SYN_REPORT); the lock is held. */
static void input_drop_oldest_group(struct virtio_input *in)
{
	while (in->count) {
		struct virtio_input_event e = in->pending[in->head];
		in->head = (in->head + 1) % VIRTIO_INPUT_PENDING_MAX;
		in->count--;
		in->dropped_overflow++;
		if (e.type == EV_SYN && e.code == SYN_REPORT)
			break;
	}
}

/* Queues a client's group (ended by its SYN_REPORT), making room by dropping the oldest groups. */
static void input_queue_group(struct virtio_input *in, const struct virtio_input_event *ev, unsigned int n)
{
	g_mutex_lock(&in->lock);
	uint64_t before = in->dropped_overflow;
	while (in->count + n > VIRTIO_INPUT_PENDING_MAX)
		input_drop_oldest_group(in);
	for (unsigned int i = 0; i < n; i++)
		in->pending[(in->head + in->count++) % VIRTIO_INPUT_PENDING_MAX] = ev[i];
	uint64_t dropped = in->dropped_overflow;
	g_mutex_unlock(&in->lock);
	if (dropped != before && (before == 0 || dropped / 10000 != before / 10000))
		g_message("%s: the guest takes no events; %" G_GUINT64_FORMAT
			  " oldest dropped so far (%u are held)",
			  in->name, dropped, VIRTIO_INPUT_PENDING_MAX);
	if (in->vp)
		virtio_pci_kick(in->vp, EVENT_QUEUE);
}

static void input_deliver(struct virtio_input *in, struct virtq *q)
{
	g_mutex_lock(&in->lock);
	int r;
	while (in->count && (r = virtq_take(q, &in->chain)) != 0) {
		struct virtq_cursor w;
		if (r < 0) {
			virtq_push(q, in->chain.head, 0);
			continue;
		}
		const struct virtio_input_event *e = &in->pending[in->head];
		struct virtio_input_event le = { GUINT16_TO_LE(e->type), GUINT16_TO_LE(e->code),
						 GUINT32_TO_LE(e->value) };
		virtq_writer(&in->chain, &w);
		if (!virtq_write_obj(&w, &le, sizeof(le))) {
			/* The event stays for the next buffer; this one goes back empty. */
			if (worth_logging(&in->tiny_buffers))
				g_warning("%s: event buffer of %zu bytes is too small for an event "
					  "(%" G_GUINT64_FORMAT " so far)",
					  in->name, virtq_cursor_left(&w), in->tiny_buffers);
			virtq_push(q, in->chain.head, 0);
			continue;
		}
		virtq_push(q, in->chain.head, sizeof(le));
		in->head = (in->head + 1) % VIRTIO_INPUT_PENDING_MAX;
		in->count--;
	}
	g_mutex_unlock(&in->lock);
	virtio_pci_queue_interrupt(in->vp, EVENT_QUEUE);
}

/* The guest's own events: LED states, which the device keeps; anything else is ignored. */
static void input_read_status(struct virtio_input *in, struct virtq *q)
{
	int r;
	while ((r = virtq_take(q, &in->chain)) != 0) {
		struct virtq_cursor rd;
		struct virtio_input_event e;
		virtq_reader(&in->chain, &rd);
		while (r > 0 && virtq_read_obj(&rd, &e, sizeof(e))) {
			uint16_t type = GUINT16_FROM_LE(e.type), code = GUINT16_FROM_LE(e.code);
			if (type == EV_LED && code < 16) {
				g_mutex_lock(&in->lock);
				if (GUINT32_FROM_LE(e.value))
					in->leds |= (uint16_t)(1u << code);
				else
					in->leds &= (uint16_t) ~(1u << code);
				g_mutex_unlock(&in->lock);
			}
		}
		virtq_push(q, in->chain.head, 0);
	}
	virtio_pci_queue_interrupt(in->vp, STATUS_QUEUE);
}

static bool input_nothing_pending(struct virtio_input *in)
{
	g_mutex_lock(&in->lock);
	bool empty = in->count == 0;
	g_mutex_unlock(&in->lock);
	return empty;
}

static void input_queue_notify(void *dev, unsigned int qi)
{
	struct virtio_input *in = dev;
	struct virtq *q = virtio_pci_queue(in->vp, qi);
	if (!q)
		return;
	/* Drain with notifications off, then re-arm and look once more (as virtio-console). */
	do {
		virtq_set_notification(q, false);
		if (qi == EVENT_QUEUE)
			input_deliver(in, q);
		else
			input_read_status(in, q);
	} while (virtq_set_notification(q, true) && !(qi == EVENT_QUEUE && input_nothing_pending(in)));
}

/* A reset driver wants no input from before it. */
static void input_reset(void *dev)
{
	struct virtio_input *in = dev;
	g_mutex_lock(&in->lock);
	in->head = in->count = 0;
	in->leds = 0;
	g_mutex_unlock(&in->lock);
}

/* ---- records from host clients ---- */

/* Whether the device has this event; an axis value is clamped to the axis's range. */
static bool input_event_valid(struct virtio_input *in, struct virtio_input_event *e)
{
	if (e->type == EV_SYN)
		return e->code == SYN_REPORT;
	if (e->type >= EV_CNT || e->type == EV_LED || e->code >= BITMAP_BYTES * 8 ||
	    !test_bit8(in->bits[e->type], e->code))
		return false;
	if (e->type == EV_KEY)
		return e->value <= 2; /* release, press, autorepeat */
	if (e->type == EV_ABS && e->code != ABS_MT_TRACKING_ID) {
		int32_t v = (int32_t)e->value;
		int32_t min = (int32_t)GUINT32_FROM_LE(in->abs[e->code].min);
		int32_t max = (int32_t)GUINT32_FROM_LE(in->abs[e->code].max);
		e->value = (uint32_t)CLAMP(v, min, max);
	}
	return true;
}

static void input_client_record(struct input_client *cl, const uint8_t raw[8])
{
	struct virtio_input *in = cl->dev;
	struct virtio_input_event e;
	memcpy(&e, raw, sizeof(e));
	e.type = GUINT16_FROM_LE(e.type);
	e.code = GUINT16_FROM_LE(e.code);
	e.value = GUINT32_FROM_LE(e.value);
	if (!input_event_valid(in, &e)) {
		if (worth_logging(&in->dropped_bad))
			g_warning("%s: dropped a record the device does not have: type %u code %u value %d "
				  "(%" G_GUINT64_FORMAT " so far)",
				  in->name, e.type, e.code, (int32_t)e.value, in->dropped_bad);
		return;
	}
	bool syn = e.type == EV_SYN;
	if (cl->skipping) {
		cl->skipping = !syn;
		in->dropped_bad++;
		return;
	}
	cl->group[cl->group_len++] = e;
	if (syn) {
		input_queue_group(in, cl->group, cl->group_len);
		cl->group_len = 0;
	} else if (cl->group_len == VIRTIO_INPUT_GROUP_MAX - 1) {
		/* No room left for the SYN_REPORT: the whole group goes. */
		in->dropped_bad += cl->group_len;
		g_warning("%s: dropped a group of more than %u events without SYN_REPORT", in->name,
			  VIRTIO_INPUT_GROUP_MAX - 1);
		cl->group_len = 0;
		cl->skipping = true;
	}
}

/* Takes len bytes of a client's stream: whole records are processed, a tail is kept. */
static void input_client_feed(struct input_client *cl, const uint8_t *buf, size_t len)
{
	const size_t rec = sizeof(struct virtio_input_event);
	if (cl->partial_len) {
		size_t take = MIN(rec - cl->partial_len, len);
		memcpy(cl->partial + cl->partial_len, buf, take);
		cl->partial_len += take;
		buf += take, len -= take;
		if (cl->partial_len < rec)
			return;
		input_client_record(cl, cl->partial);
		cl->partial_len = 0;
	}
	for (; len >= rec; buf += rec, len -= rec)
		input_client_record(cl, buf);
	memcpy(cl->partial, buf, len);
	cl->partial_len = len;
}

static void input_client_free(struct input_client *cl)
{
	struct virtio_input *in = cl->dev;
	if (cl->partial_len || cl->group_len) {
		in->dropped_bad += cl->group_len + (cl->partial_len ? 1 : 0);
		g_warning("%s: a client left with %zu bytes of a record and %u events without SYN_REPORT; "
			  "dropped",
			  in->name, cl->partial_len, cl->group_len);
	}
	if (cl->src) {
		g_source_destroy(cl->src);
		g_source_unref(cl->src);
	}
	close(cl->fd);
	in->clients = g_list_remove(in->clients, cl);
	in->nr_clients--;
	g_free(cl);
}

static gboolean input_client_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct input_client *cl = data;
	uint8_t buf[READ_CHUNK];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		input_client_feed(cl, buf, (size_t)n);
		return G_SOURCE_CONTINUE;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	input_client_free(cl);
	return G_SOURCE_REMOVE;
}

static gboolean input_accept(gint fd, GIOCondition cond, gpointer data)
{
	struct virtio_input *in = data;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return G_SOURCE_CONTINUE; /* EAGAIN, or out of fds: the backlog keeps the client */
	if (in->nr_clients >= VIRTIO_INPUT_CLIENTS_MAX) {
		if (worth_logging(&in->refused_clients))
			g_warning("%s: refused a client on %s: %u are connected already", in->name,
				  in->socket_path, VIRTIO_INPUT_CLIENTS_MAX);
		close(cfd);
		return G_SOURCE_CONTINUE;
	}
	struct input_client *cl = g_new0(struct input_client, 1);
	cl->dev = in;
	cl->fd = cfd;
	cl->src = g_unix_fd_source_new(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(cl->src, G_SOURCE_FUNC(input_client_readable), cl, NULL);
	g_source_attach(cl->src, in->ctx);
	in->clients = g_list_prepend(in->clients, cl);
	in->nr_clients++;
	return G_SOURCE_CONTINUE;
}

/* Listens on path, replacing a socket a previous run left there (never another kind of file). */
static bool input_listen(struct virtio_input *in, const char *path, GError **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(error, SEPIA_ERROR, ENAMETOOLONG,
			    "%s: socket path %s is longer than %zu bytes; use a shorter instance directory",
			    in->name, path, sizeof(sa.sun_path) - 1);
		return false;
	}
	strcpy(sa.sun_path, path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			g_set_error(error, SEPIA_ERROR, EEXIST,
				    "%s: %s exists and is not a socket; move it out of the way", in->name,
				    path);
			return false;
		}
		unlink(path);
	}
	in->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* 0660: the owner and the group send input, as to the launcher's sockets (README). */
	if (in->listen_fd < 0 || bind(in->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0660) < 0 || listen(in->listen_fd, 8) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "%s: cannot listen on %s: %s", in->name, path,
			    g_strerror(errno));
		return false;
	}
	in->socket_path = g_strdup(path);
	in->listen_src = g_unix_fd_source_new(in->listen_fd, G_IO_IN);
	g_source_set_callback(in->listen_src, G_SOURCE_FUNC(input_accept), in, NULL);
	g_source_attach(in->listen_src, in->ctx);
	return true;
}

/* ---- snapshots ---- */

/* What the device is (checked on load: another kind or screen size is another machine), the
 * guest's config selection, its LEDs, and the events it has not taken yet, oldest first. Host
 * clients are sockets of the old process and do not survive; a group a client had not ended
 * with SYN_REPORT never reached the queue, so the guest sees whole groups only. */
static bool input_save(void *dev, struct snap_writer *w, GError **error)
{
	struct virtio_input *in = dev;
	snap_put_u8(w, (uint8_t)in->spec.kind);
	snap_put_u32(w, in->spec.display);
	snap_put_u32(w, in->spec.width);
	snap_put_u32(w, in->spec.height);
	snap_put_u8(w, in->config.select);
	snap_put_u8(w, in->config.subsel);
	g_mutex_lock(&in->lock);
	snap_put_u16(w, in->leds);
	snap_put_u32(w, in->count);
	for (unsigned int i = 0; i < in->count; i++) {
		const struct virtio_input_event *e = &in->pending[(in->head + i) % VIRTIO_INPUT_PENDING_MAX];
		snap_put_u16(w, e->type);
		snap_put_u16(w, e->code);
		snap_put_u32(w, e->value);
	}
	g_mutex_unlock(&in->lock);
	return true;
}

static bool input_load(void *dev, struct snap_reader *r, GError **error)
{
	struct virtio_input *in = dev;
	uint8_t kind = snap_get_u8(r);
	uint32_t display = snap_get_u32(r), width = snap_get_u32(r), height = snap_get_u32(r);
	uint8_t select = snap_get_u8(r), subsel = snap_get_u8(r);
	uint16_t leds = snap_get_u16(r);
	uint32_t count = snap_get_u32(r);
	if (r->failed)
		return snap_reader_done(r, error);
	if (kind != in->spec.kind || display != in->spec.display || width != in->spec.width ||
	    height != in->spec.height) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "snapshot: %s was another input device when it was taken (kind %u, display %u, "
			    "%ux%u); restore with the same displays and sizes",
			    in->name, kind, display, width, height);
		return false;
	}
	if (count > VIRTIO_INPUT_PENDING_MAX) {
		snap_reader_fail(r);
		return snap_reader_done(r, error);
	}
	struct virtio_input_event *ev = g_new(struct virtio_input_event, MAX(count, 1u));
	for (uint32_t i = 0; i < count; i++) {
		ev[i].type = snap_get_u16(r);
		ev[i].code = snap_get_u16(r);
		ev[i].value = snap_get_u32(r);
		/* Only events a host client could have queued (valid, axes already clamped): the
		 * guest never gets one the device does not describe. */
		struct virtio_input_event checked = ev[i];
		if (!r->failed && (!input_event_valid(in, &checked) || checked.value != ev[i].value))
			snap_reader_fail(r);
	}
	if (r->failed) {
		g_free(ev);
		return snap_reader_done(r, error);
	}
	in->config.select = select;
	in->config.subsel = subsel;
	input_config_select(in);
	g_mutex_lock(&in->lock);
	in->leds = leds;
	in->head = 0;
	in->count = count;
	memcpy(in->pending, ev, count * sizeof(*ev));
	g_mutex_unlock(&in->lock);
	g_free(ev);
	if (count && in->vp)
		virtio_pci_kick(in->vp, EVENT_QUEUE);
	return true;
}

static const struct virtio_device_ops input_ops = {
	.device_id = VIRTIO_ID_INPUT,
	.pci_class = 0x098000, /* input device, other */
	.num_queues = 2,
	.queue_max_size = 64,
	.config_size = sizeof(struct virtio_input_config),
	.config_read = input_config_read,
	.config_write = input_config_write,
	.queue_notify = input_queue_notify,
	.reset = input_reset,
	.save = input_save,
	.load = input_load,
};

/* The device without its transport or socket (what unit tests and fuzzers drive). */
static struct virtio_input *input_new(const struct virtio_input_spec *spec, GMainContext *ctx)
{
	struct virtio_input *in = g_new0(struct virtio_input, 1);
	in->spec = *spec;
	in->listen_fd = -1;
	in->ctx = ctx;
	g_mutex_init(&in->lock);
	input_describe(in);
	return in;
}

struct virtio_input *virtio_input_create(struct vm_host *host, const struct virtio_input_spec *spec,
					 const char *socket_path, GError **error)
{
	if (spec->kind == VIRTIO_INPUT_TOUCH && (spec->width < 1 || spec->height < 1)) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "virtio-input-touch%u: display has no size",
			    spec->display);
		return NULL;
	}
	struct virtio_input *in = input_new(spec, host->io_ctx);
	if (!input_listen(in, socket_path, error) ||
	    !(in->vp = virtio_pci_create(host, in->name, &input_ops, 0, in, error))) {
		virtio_input_destroy(in);
		return NULL;
	}
	return in;
}

void virtio_input_destroy(struct virtio_input *in)
{
	if (!in)
		return;
	while (in->clients)
		input_client_free(in->clients->data);
	if (in->dropped_overflow || in->dropped_bad)
		g_message("%s: %" G_GUINT64_FORMAT
			  " events dropped while the guest took none, %" G_GUINT64_FORMAT
			  " malformed records dropped",
			  in->name, in->dropped_overflow, in->dropped_bad);
	virtio_pci_destroy(in->vp);
	if (in->listen_src) {
		g_source_destroy(in->listen_src);
		g_source_unref(in->listen_src);
	}
	if (in->listen_fd >= 0)
		close(in->listen_fd);
	if (in->socket_path)
		unlink(in->socket_path);
	g_free(in->socket_path);
	g_mutex_clear(&in->lock);
	g_free(in->name);
	g_free(in->serial);
	g_free(in);
}
