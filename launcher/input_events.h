/* launcher/input_events.h — what cvd_input sends: taps, swipes, text and keys as the records
 * sepia-vmm's virtio-input sockets take (struct virtio_input_event: le16 type, le16 code, le32
 * value; evdev semantics, touch in multi-touch protocol B, each group ended by SYN_REPORT). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* One touch contact going down at (x, y) (slot 0, tracking id id), moving, and going up. */
void input_events_touch_down(GByteArray *out, int32_t id, int32_t x, int32_t y);
void input_events_touch_move(GByteArray *out, int32_t x, int32_t y);
void input_events_touch_up(GByteArray *out);
/* A key pressed and released (with left shift around it when shift). */
void input_events_key(GByteArray *out, uint16_t code, bool shift);
/* The key code for a name: KEY_POWER, POWER, power, VOLUME_UP, A, 7, ENTER, ... (evdev's names,
 * case-insensitive, KEY_ optional); 0 when unknown. */
uint16_t input_events_key_code(const char *name);
/* Whether a key belongs to the buttons device (power, volume) rather than the keyboard. */
bool input_events_is_button(uint16_t code);
/* The keys that type text on a US keyboard; false (with the offending character in the error)
 * when a character has no key. */
bool input_events_text(GByteArray *out, const char *text, GError **error);
