/* virtio-rng (virtio 1.x section 5.4): the guest's entropy source, filled from getrandom(2) and
 * rate-limited (a token bucket of VIRTIO_RNG_RATE bytes a second, VIRTIO_RNG_BURST at once), so a
 * guest reading /dev/hwrng in a loop costs the host a bounded share of a core. Requests beyond the
 * budget wait in the queue until it refills. */
#pragma once

#include <glib.h>

#include "devices/host.h"

#define VIRTIO_RNG_RATE  (1024u * 1024) /* bytes a second */
#define VIRTIO_RNG_BURST (64u * 1024)   /* bytes at once after an idle spell */

struct virtio_rng;
struct virtio_rng *virtio_rng_create(struct vm_host *host, GError **error);
void virtio_rng_destroy(struct virtio_rng *r);
