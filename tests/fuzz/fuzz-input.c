/* libFuzzer target for virtio-input's queues and host records (devices/virtio/input.c,
 * included): the guest's event buffers and status chains come from the input (layout:
 * fuzz-virtio.h), byte 1 bits 2-3 pick the device (touch screen, keyboard, buttons), and
 * what the input holds after the guest's RAM is a host client's byte stream, fed in pieces
 * whose sizes the stream's own bytes choose. The queue is driven first as the event queue,
 * then, from the same rings reset, as the status queue.
 *
 * Oracle: no crash or sanitizer report; the events held never pass VIRTIO_INPUT_PENDING_MAX;
 * every event the guest gets is one the device has (a SYN_REPORT or a set bit, axes within
 * range); while events are left, every chain the guest offered was completed; every status
 * chain is completed. */
#define FUZZ_WARNINGS_ARE_REPORTS 1 /* malformed records are logged: the documented answer */
#include "tests/fuzz/fuzz-common.h"

#include "devices/virtio/input.c"

#include "tests/fuzz/fuzz-virtio.h"

static void check_held(struct virtio_input *in)
{
	if (in->count > VIRTIO_INPUT_PENDING_MAX)
		abort();
	for (unsigned int i = 0; i < in->count; i++) {
		struct virtio_input_event e = in->pending[(in->head + i) % VIRTIO_INPUT_PENDING_MAX];
		struct virtio_input_event copy = e;
		if (!input_event_valid(in, &copy) || copy.value != e.value)
			abort(); /* held events are valid and already clamped */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *start = data;
	size_t total = size;
	if (!fuzz_guest_setup(&data, &size))
		return 0;
	static const struct virtio_input_spec specs[] = {
		{ VIRTIO_INPUT_TOUCH, 0, 720, 1280 },
		{ .kind = VIRTIO_INPUT_KEYBOARD },
		{ .kind = VIRTIO_INPUT_BUTTONS },
		{ VIRTIO_INPUT_TOUCH, 3, 1, 1 },
	};
	struct virtio_input *in = input_new(&specs[(start[1] >> 2) & 3], NULL);
	struct input_client cl = { .dev = in };
	while (size) {
		size_t piece = 1 + data[0] % 97;
		if (piece > size)
			piece = size;
		input_client_feed(&cl, data, piece);
		data += piece, size -= piece;
	}
	check_held(in);
	input_queue_notify(in, EVENT_QUEUE);
	check_held(in);
	if (in->count)
		fuzz_guest_check_completed(0);

	/* The same rings again, as the status queue. */
	data = start;
	size = total;
	fuzz_guest_setup(&data, &size);
	input_queue_notify(in, STATUS_QUEUE);
	fuzz_guest_check_completed(0);
	virtio_input_destroy(in);
	return 0;
}
