/* libFuzzer target for virtio-input's queues and host records (devices/virtio/input.c,
 * included): the guest's event buffers and status chains come from the input (layout:
 * fuzz-virtio.h), byte 1 bits 2-3 pick the device (touch screen, keyboard, buttons), and
 * what the input holds after the guest's RAM is a host client's byte stream, fed in pieces
 * whose sizes the stream's own bytes choose. The queue is driven first as the event queue,
 * then, from the same rings reset, as the status queue. Before that, the input's first bytes
 * are also the guest's config-space accesses: writes and reads of 1 to 4 bytes at any offset,
 * within and past struct virtio_input_config.
 *
 * Oracle: no crash or sanitizer report; the events held never pass VIRTIO_INPUT_PENDING_MAX;
 * every event the guest gets is one the device has (a SYN_REPORT or a set bit, axes within
 * range); while events are left, every chain the guest offered was completed; every status
 * chain is completed; a config answer is never longer than its union, and its bytes past the
 * answer's size are zero.
 *
 * Then the host stream's bytes are also a saved state for the device's snapshot loader
 * (input_load): it refuses them with an error or loads only valid events, never more than it
 * holds; a loaded state saves back to the same bytes it read. */
#define FUZZ_WARNINGS_ARE_REPORTS 1 /* malformed records are logged: the documented answer */
#include "tests/fuzz/fuzz-common.h"

#include "devices/virtio/input.c"
#include "devices/snapshot.h"

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

/* The guest's config accesses, three input bytes each: offset, length and read/write, value. */
static void fuzz_config(struct virtio_input *in, const uint8_t *ops, size_t n)
{
	const uint32_t span = sizeof(struct virtio_input_config) + 8;
	for (size_t i = 0; i + 3 <= n && i < 3 * 64; i += 3) {
		uint32_t off = ops[i] % span, len = 1 + (ops[i + 1] & 3);
		uint8_t value[4] = { ops[i + 2], ops[i + 2] ^ 0x5a, ops[i], ops[i + 1] };
		if (ops[i + 1] & 4) {
			input_config_write(in, off, value, len);
		} else {
			uint8_t out[4];
			input_config_read(in, off, out, len);
		}
		const struct virtio_input_config *c = &in->config;
		if (c->size > sizeof(c->u))
			abort();
		for (size_t b = c->size; b < sizeof(c->u); b++)
			if (((const uint8_t *)&c->u)[b])
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *start = data;
	size_t total = size;
	if (!fuzz_guest_setup(&data, &size))
		return 0;
	size_t size_after_guest = size;
	static const struct virtio_input_spec specs[] = {
		{ VIRTIO_INPUT_TOUCH, 0, 720, 1280 },
		{ .kind = VIRTIO_INPUT_KEYBOARD },
		{ .kind = VIRTIO_INPUT_BUTTONS },
		{ VIRTIO_INPUT_TOUCH, 3, 1, 1 },
	};
	struct virtio_input *in = input_new(&specs[(start[1] >> 2) & 3], NULL);
	fuzz_config(in, start, total);
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

	/* The snapshot loader on hostile bytes. */
	struct virtio_input *ld = input_new(&specs[(start[1] >> 2) & 3], NULL);
	size_t skip = total - size_after_guest;
	struct snap_section sec = { .name = "fuzz-input", .data = start + skip, .len = total - skip };
	struct snap_reader r;
	snap_reader_init(&r, &sec);
	GError *error = NULL;
	bool loaded = input_load(ld, &r, &error) && snap_reader_done(&r, &error);
	if (loaded == (error != NULL))
		abort(); /* a refusal comes with an error, a load without one */
	g_clear_error(&error);
	check_held(ld);
	if (loaded) {
		struct snap_writer w;
		snap_writer_init(&w);
		snap_begin(&w, "x");
		input_save(ld, &w, NULL);
		snap_end(&w);
		/* The section's bytes follow its 2-byte name length, the name and its 4-byte length. */
		const size_t head = 2 + 1 + 4;
		if (w.payload->len - head != sec.len || memcmp(w.payload->data + head, sec.data, sec.len))
			abort();
		snap_writer_clear(&w);
	}
	virtio_input_destroy(ld);
	return 0;
}
