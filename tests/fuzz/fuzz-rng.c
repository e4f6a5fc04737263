/* libFuzzer target for virtio-rng's queue (devices/virtio/rng.c, included): the guest's
 * request chains come from the input (layout: fuzz-virtio.h), served at one instant.
 *
 * Oracle: no crash or sanitizer report; the device never gives more than its burst at once;
 * when it says it served everything, every chain the guest offered was completed. */
#define FUZZ_WARNINGS_ARE_REPORTS 1
#include "tests/fuzz/fuzz-common.h"

#include "devices/virtio/rng.c"

#include "tests/fuzz/fuzz-virtio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fuzz_guest_setup(&data, &size))
		return 0;
	struct virtio_rng *r = rng_new(NULL);
	bool all = rng_serve(r, &fuzz_guest.q, r->refill_us);
	if (r->served > VIRTIO_RNG_BURST)
		abort();
	if (all)
		fuzz_guest_check_completed(0);
	r->served = 0; /* no message */
	virtio_rng_destroy(r);
	return 0;
}
