/* libFuzzer target for virtio-console's queues (devices/virtio/console.c, included): the
 * guest's transmit chains and receive buffers come from the input (layout: fuzz-virtio.h),
 * and what the input holds after the guest's RAM is host input typed at the console.
 * The queue is driven first as the transmit queue, then, from the same rings reset, as the
 * receive queue.
 *
 * Oracle: no crash or sanitizer report; every offered chain is completed unless the ring
 * is broken, or (receive) the host input ran out first; host input is never lost: what is
 * not delivered stays queued. */
#define FUZZ_WARNINGS_ARE_REPORTS 1
#include "tests/fuzz/fuzz-common.h"

#include "devices/virtio/console.c"

#include "tests/fuzz/fuzz-virtio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *start = data;
	size_t total = size;
	if (!fuzz_guest_setup(&data, &size))
		return 0;
	static struct virtio_console c;
	memset(&c, 0, sizeof(c));
	c.name = "fuzz-console";
	struct vm_sink none = { .kind = SINK_NONE };
	if (!chardev_open(&c.cd, c.name, &none, NULL))
		abort();
	g_mutex_init(&c.input_lock);
	c.input = g_byte_array_new();
	console_queue_notify(&c, TX_QUEUE);
	fuzz_guest_check_completed(0);

	/* The same rings again, as the receive queue, with the input's tail as host input. */
	data = start;
	size = total;
	fuzz_guest_setup(&data, &size);
	console_input(&c, data, size);
	size_t queued = c.input->len;
	console_queue_notify(&c, RX_QUEUE);
	if (c.input->len > queued)
		abort();
	if (c.input->len > 0) /* input left: every buffer the guest offered was taken */
		fuzz_guest_check_completed(0);
	g_byte_array_unref(c.input);
	g_mutex_clear(&c.input_lock);
	chardev_close(&c.cd);
	return 0;
}
