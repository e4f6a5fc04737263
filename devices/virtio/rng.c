/* virtio-rng: one request queue; each buffer the guest offers is filled with host randomness.
 * The budget refills continuously; when it is spent, the buffers left wait and a timer on the
 * I/O thread runs the queue again once enough has refilled for a useful answer. */
#include "devices/virtio/rng.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "common/error.h"
#include "devices/snapshot.h"
#include "devices/virtio/virtio.h"

#define REQUEST_QUEUE 0
#define CHUNK         4096 /* bytes one getrandom call and one copy move */
#define MIN_ANSWER    4096 /* bytes worth waking up for when the budget is spent */

struct virtio_rng {
	struct virtio_pci_dev *vp;
	GMainContext *ctx;
	double budget;     /* bytes the guest may take now */
	gint64 refill_us;  /* when budget was last brought up to date */
	GSource *wait_src; /* the refill timer, while buffers wait */
	uint64_t served;   /* bytes given to the guest */
	uint64_t throttled;
	struct virtq_chain chain;
};

static void rng_refill(struct virtio_rng *r, gint64 now_us)
{
	r->budget += (double)(now_us - r->refill_us) * VIRTIO_RNG_RATE / G_USEC_PER_SEC;
	if (r->budget > VIRTIO_RNG_BURST)
		r->budget = VIRTIO_RNG_BURST;
	r->refill_us = now_us;
}

/* Fills one buffer with up to max bytes; returns how many it wrote. */
static size_t rng_fill(struct virtq_cursor *w, size_t max)
{
	uint8_t buf[CHUNK];
	size_t done = 0;
	while (done < max && virtq_cursor_left(w)) {
		size_t want = MIN(MIN(sizeof(buf), max - done), virtq_cursor_left(w));
		ssize_t got = getrandom(buf, want, 0);
		if (got <= 0) {
			if (got < 0 && errno == EINTR)
				continue;
			g_warning("virtio-rng: getrandom: %s", got < 0 ? g_strerror(errno) : "no bytes");
			break;
		}
		done += virtq_write(w, buf, (size_t)got);
	}
	return done;
}

static gboolean rng_wait_over(gpointer data)
{
	struct virtio_rng *r = data;
	virtio_pci_kick(r->vp, REQUEST_QUEUE);
	return G_SOURCE_REMOVE;
}

/* Serves buffers while the budget lasts; returns false when some wait for it to refill. */
static bool rng_serve(struct virtio_rng *r, struct virtq *q, gint64 now_us)
{
	rng_refill(r, now_us);
	bool pushed = false, waiting = false;
	while (!(waiting = r->budget < 1 && !virtq_empty(q))) {
		int got = virtq_take(q, &r->chain);
		if (got == 0)
			break;
		uint32_t len = 0;
		if (got > 0) {
			struct virtq_cursor w;
			virtq_writer(&r->chain, &w);
			len = (uint32_t)rng_fill(&w, (size_t)r->budget);
			r->budget -= len;
			r->served += len;
		}
		virtq_push(q, r->chain.head, len);
		pushed = true;
	}
	if (pushed)
		virtio_pci_queue_interrupt(r->vp, REQUEST_QUEUE);
	return !waiting;
}

static void rng_queue_notify(void *dev, unsigned int qi)
{
	struct virtio_rng *r = dev;
	struct virtq *q = virtio_pci_queue(r->vp, qi);
	if (!q || qi != REQUEST_QUEUE || (r->wait_src && !g_source_is_destroyed(r->wait_src)))
		return; /* a refill timer is set: it runs the queue */
	if (r->wait_src) {
		g_source_unref(r->wait_src);
		r->wait_src = NULL;
	}
	bool all = true;
	do {
		virtq_set_notification(q, false);
		all = rng_serve(r, q, g_get_monotonic_time());
	} while (all && virtq_set_notification(q, true));
	if (all)
		return;
	r->throttled++;
	guint ms = (guint)(MIN_ANSWER * 1000 / VIRTIO_RNG_RATE) + 1;
	r->wait_src = g_timeout_source_new(ms);
	g_source_set_callback(r->wait_src, rng_wait_over, r, NULL);
	g_source_attach(r->wait_src, r->ctx);
}

/* ---- snapshots ---- */

/* The device keeps nothing the guest could tell apart beyond the transport's state (features,
 * the queue and its indices, saved by the transport): the rate budget starts full in the new
 * process, as after an idle spell. Its section holds a format byte, so a later version can add
 * state and refuse this one's. */
#define RNG_SNAPSHOT_FORMAT 1

static bool rng_save(void *dev, struct snap_writer *w, GError **error)
{
	snap_put_u8(w, RNG_SNAPSHOT_FORMAT);
	return true;
}

static bool rng_load(void *dev, struct snap_reader *r, GError **error)
{
	struct virtio_rng *r_dev = dev;
	if (snap_get_u8(r) != RNG_SNAPSHOT_FORMAT)
		snap_reader_fail(r);
	if (r->failed)
		return snap_reader_done(r, error);
	/* Buffers that waited for the refill timer of the old process are served now. */
	if (r_dev->vp)
		virtio_pci_kick(r_dev->vp, REQUEST_QUEUE);
	return true;
}

static const struct virtio_device_ops rng_ops = {
	.device_id = VIRTIO_ID_RNG,
	.pci_class = 0xff0000, /* unclassified */
	.num_queues = 1,
	.queue_max_size = 64,
	.queue_notify = rng_queue_notify,
	.save = rng_save,
	.load = rng_load,
};

static struct virtio_rng *rng_new(GMainContext *ctx)
{
	struct virtio_rng *r = g_new0(struct virtio_rng, 1);
	r->ctx = ctx;
	r->budget = VIRTIO_RNG_BURST;
	r->refill_us = g_get_monotonic_time();
	return r;
}

struct virtio_rng *virtio_rng_create(struct vm_host *host, GError **error)
{
	uint8_t probe;
	if (getrandom(&probe, 1, GRND_NONBLOCK) < 0 && errno != EAGAIN) {
		g_set_error(error, SEPIA_ERROR, errno,
			    "virtio-rng: getrandom(2) fails on this host: %s; run without --rng",
			    g_strerror(errno));
		return NULL;
	}
	struct virtio_rng *r = rng_new(host->io_ctx);
	r->vp = virtio_pci_create(host, "virtio-rng", &rng_ops, 0, r, error);
	if (!r->vp) {
		virtio_rng_destroy(r);
		return NULL;
	}
	return r;
}

void virtio_rng_destroy(struct virtio_rng *r)
{
	if (!r)
		return;
	if (r->served)
		g_message("virtio-rng: gave the guest %" G_GUINT64_FORMAT " bytes (%" G_GUINT64_FORMAT
			  " times it waited for the rate limit)",
			  r->served, r->throttled);
	virtio_pci_destroy(r->vp);
	if (r->wait_src) {
		g_source_destroy(r->wait_src);
		g_source_unref(r->wait_src);
	}
	g_free(r);
}
