/* display/scanouts.h — the display files of one device: DIR/display<K>.fb for scanout K, as
 * sepia-vmm publishes them (display/framebuffer.h), and the names the host tools give them. */
#ifndef SEPIA_DISPLAY_SCANOUTS_H
#define SEPIA_DISPLAY_SCANOUTS_H

#include <glib.h>
#include <stdbool.h>

#define DISPLAY_MAX_INDEX 63u

/* DIR/display<index>.fb */
char *display_fb_path(const char *dir, guint index);
/* Reads "display<K>" followed by exactly suffix from the start of s ("display2.fb" with suffix
 * ".fb"); K is decimal without leading zeros, at most DISPLAY_MAX_INDEX. */
bool display_parse_name(const char *s, const char *suffix, guint *index);
/* The K of every DIR/display<K>.fb, ascending; empty when DIR is missing. */
GArray *display_list(const char *dir);
/* "0, 1, 2" for messages. */
char *display_list_text(const GArray *indexes);

#endif
