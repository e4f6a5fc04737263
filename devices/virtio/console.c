/* virtio-console (virtio spec 5.3) with a single port: receiveq 0 carries host input to
 * the guest's hvcN, transmitq 1 carries its output to the chardev. A VM may have several
 * (the console and the control channel), each its own PCI function and state; the guest
 * numbers their hvcs in PCI order. */
#include "devices/virtio/console.h"

#include <errno.h>
#include <linux/virtio_console.h>
#include <stddef.h>
#include <string.h>

#include "devices/chardev.h"
#include "common/error.h"
#include "devices/snapshot.h"
#include "devices/virtio/virtio.h"

#define RX_QUEUE  0
#define TX_QUEUE  1
#define INPUT_MAX 65536 /* host input held while the guest posts no buffers */

struct virtio_console {
	const char *name; /* a literal: the PCI device keeps the pointer */
	struct virtio_pci_dev *vp;
	struct chardev cd;
	struct virtio_console_config config;
	GMutex input_lock; /* input arrives on the I/O thread, outside the device lock */
	GByteArray *input;
	uint64_t dropped;
	struct virtq_chain chain;
};

static void console_config_read(void *dev, uint32_t off, void *data, unsigned int len)
{
	struct virtio_console *c = dev;
	memcpy(data, (const uint8_t *)&c->config + off, len);
}

/* emerg_wr: a byte written here goes straight out, even before the queues exist. */
static void console_config_write(void *dev, uint32_t off, const void *data, unsigned int len)
{
	struct virtio_console *c = dev;
	if (off == offsetof(struct virtio_console_config, emerg_wr))
		chardev_write(&c->cd, data, 1);
}

static void console_transmit(struct virtio_console *c, struct virtq *q)
{
	int r;
	while ((r = virtq_take(q, &c->chain)) != 0) {
		struct virtq_cursor out;
		virtq_reader(&c->chain, &out);
		uint8_t buf[4096];
		size_t n;
		while (r > 0 && (n = virtq_read(&out, buf, sizeof(buf))) > 0)
			chardev_write(&c->cd, buf, n);
		virtq_push(q, c->chain.head, 0);
	}
	virtio_pci_queue_interrupt(c->vp, TX_QUEUE);
}

static void console_receive(struct virtio_console *c, struct virtq *q)
{
	g_mutex_lock(&c->input_lock);
	int r;
	while (c->input->len && (r = virtq_take(q, &c->chain)) != 0) {
		struct virtq_cursor in;
		virtq_writer(&c->chain, &in);
		size_t n = r > 0 ? virtq_write(&in, c->input->data, c->input->len) : 0;
		g_byte_array_remove_range(c->input, 0, (guint)n);
		virtq_push(q, c->chain.head, (uint32_t)n);
	}
	g_mutex_unlock(&c->input_lock);
	virtio_pci_queue_interrupt(c->vp, RX_QUEUE);
}

static bool console_input_empty(struct virtio_console *c)
{
	g_mutex_lock(&c->input_lock);
	bool empty = c->input->len == 0;
	g_mutex_unlock(&c->input_lock);
	return empty;
}

static void console_queue_notify(void *dev, unsigned int qi)
{
	struct virtio_console *c = dev;
	struct virtq *q = virtio_pci_queue(c->vp, qi);
	if (!q)
		return;
	/* Drain with notifications off, then re-arm and look once more, so a buffer added
	 * in between is not left waiting for a kick that will not come. */
	do {
		virtq_set_notification(q, false);
		if (qi == TX_QUEUE)
			console_transmit(c, q);
		else
			console_receive(c, q);
	} while (virtq_set_notification(q, true) && !(qi == RX_QUEUE && console_input_empty(c)));
}

static void console_input(void *opaque, const uint8_t *buf, size_t len)
{
	struct virtio_console *c = opaque;
	g_mutex_lock(&c->input_lock);
	size_t room = INPUT_MAX - c->input->len;
	if (len > room) {
		c->dropped += len - room;
		len = room;
	}
	g_byte_array_append(c->input, buf, (guint)len);
	g_mutex_unlock(&c->input_lock);
	virtio_pci_kick(c->vp, RX_QUEUE);
}

/* The host input the guest has not read yet goes with the snapshot. */
static bool console_save(void *dev, struct snap_writer *w, GError **error)
{
	struct virtio_console *c = dev;
	g_mutex_lock(&c->input_lock);
	snap_put_blob(w, c->input->data, c->input->len);
	g_mutex_unlock(&c->input_lock);
	return true;
}

static bool console_load(void *dev, struct snap_reader *r, GError **error)
{
	struct virtio_console *c = dev;
	size_t len;
	const uint8_t *input = snap_get_blob_ref(r, INPUT_MAX, &len);
	if (!input)
		return snap_reader_done(r, error);
	g_mutex_lock(&c->input_lock);
	g_byte_array_set_size(c->input, 0);
	g_byte_array_append(c->input, input, (guint)len);
	g_mutex_unlock(&c->input_lock);
	if (len)
		virtio_pci_kick(c->vp, RX_QUEUE);
	return true;
}

static const struct virtio_device_ops console_ops = {
	.device_id = VIRTIO_ID_CONSOLE,
	.pci_class = 0x078000, /* communication, other */
	.num_queues = 2,
	.queue_max_size = 256,
	.config_size = sizeof(struct virtio_console_config),
	.config_read = console_config_read,
	.config_write = console_config_write,
	.queue_notify = console_queue_notify,
	.save = console_save,
	.load = console_load,
};

struct virtio_console *virtio_console_create(struct vm_host *host, const char *name,
					     const struct vm_sink *sink, GError **error)
{
	struct virtio_console *c = g_new0(struct virtio_console, 1);
	c->name = name;
	g_mutex_init(&c->input_lock);
	c->input = g_byte_array_new();
	c->config.max_nr_ports = 1; /* meaningful only with MULTIPORT */
	if (!chardev_open(&c->cd, c->name, sink, error)) {
		virtio_console_destroy(c);
		return NULL;
	}
	c->vp = virtio_pci_create(host, c->name, &console_ops, 0, c, error);
	if (!c->vp) {
		virtio_console_destroy(c);
		return NULL;
	}
	chardev_attach_input(&c->cd, host->io_ctx, console_input, c);
	return c;
}

void virtio_console_destroy(struct virtio_console *c)
{
	if (!c)
		return;
	if (c->dropped)
		g_message("%s: %" G_GUINT64_FORMAT " input bytes dropped while the guest read none", c->name,
			  c->dropped);
	virtio_pci_destroy(c->vp);
	chardev_close(&c->cd);
	g_byte_array_unref(c->input);
	g_mutex_clear(&c->input_lock);
	g_free(c);
}
