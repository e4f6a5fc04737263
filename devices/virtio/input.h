/* virtio-input (virtio 1.x section 5.8): a touch screen per display, a keyboard and the
 * power/volume buttons, each its own PCI function fed by host programs through a unix socket.
 *
 * Host wire format: a client connects to the device's socket and writes a stream of 8-byte
 * records, struct virtio_input_event (le16 type, le16 code, le32 value), in Linux evdev
 * semantics; touch screens take multi-touch protocol B (ABS_MT_SLOT, ABS_MT_TRACKING_ID,
 * ABS_MT_POSITION_X/Y in display pixels, BTN_TOUCH, SYN_REPORT). A client's events reach the
 * guest in groups ended by its SYN_REPORT, so several clients at once never interleave within
 * a group. A record of a type or code the device does not have, or a partial record, is dropped
 * and logged at a capped rate; the events waiting for the guest are bounded
 * (VIRTIO_INPUT_PENDING_MAX), the oldest groups dropping first. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "devices/host.h"

#define VIRTIO_INPUT_PENDING_MAX 1024 /* events held while the guest takes none */
#define VIRTIO_INPUT_GROUP_MAX   128  /* events of one client before its SYN_REPORT */
#define VIRTIO_INPUT_CLIENTS_MAX 16   /* host programs connected to one device at once */
#define VIRTIO_INPUT_TOUCH_SLOTS 10   /* multi-touch contacts (ABS_MT_SLOT 0..9) */

enum virtio_input_kind {
	VIRTIO_INPUT_TOUCH,    /* a display's multi-touch screen */
	VIRTIO_INPUT_KEYBOARD, /* a full keyboard, with LEDs */
	VIRTIO_INPUT_BUTTONS,  /* KEY_POWER, KEY_VOLUMEUP, KEY_VOLUMEDOWN */
};

struct virtio_input_spec {
	enum virtio_input_kind kind;
	unsigned int display;   /* VIRTIO_INPUT_TOUCH: which display (0-based) */
	uint32_t width, height; /* VIRTIO_INPUT_TOUCH: the display's size in pixels */
};

struct virtio_input;
/* The device, listening on socket_path (a stale socket there is replaced). */
struct virtio_input *virtio_input_create(struct vm_host *host, const struct virtio_input_spec *spec,
					 const char *socket_path, GError **error);
void virtio_input_destroy(struct virtio_input *in);
/* The socket's file name in the instance directory: input_touch_<D>.sock, input_keyboard.sock
 * or input_buttons.sock (newly allocated). */
char *virtio_input_socket_name(const struct virtio_input_spec *spec);
