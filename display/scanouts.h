/* display/scanouts.h — the display files of one device: DIR/display<K>.fb for scanout K, as
 * sepia-vmm publishes them (display/framebuffer.h), and the names the host tools give them. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define DISPLAY_MAX_INDEX 63u

/* Reads "display<K>" followed by exactly suffix from the start of s ("display2.fb" with suffix
 * ".fb"); K is decimal without leading zeros, at most DISPLAY_MAX_INDEX. */
bool display_parse_name(const char *s, const char *suffix, guint *index);
/* The K of every DIR/display<K>.fb, ascending; empty when DIR is missing. */
GArray *display_list(const char *dir);
/* "0, 1, 2" for messages. */
char *display_list_text(const GArray *indexes);

/* A display's mode as the command lines give it: "width=W,height=H[,dpi=D]" (W and H 16 to
 * 4096, D 10 to 2000, default 320); with allow_refresh_rate, Cuttlefish's ",refresh_rate_hz=R"
 * (1 to 240) too, accepted and not used. The message names the part that is wrong; callers
 * prefix the flag. */
struct display_mode {
	uint32_t width, height, dpi;
};
bool display_parse_mode(const char *spec, bool allow_refresh_rate, struct display_mode *mode, GError **error);

/* The state of a display without its pixels (for a viewer asking often): the header of the
 * file, read under its sequence lock (fb_file_read_header; its errors). */
struct display_info {
	uint32_t width, height, dpi;
	bool enabled;
	uint64_t frames;
	uint64_t update_usec;
	uint64_t inode; /* of the file read: a new VMM makes a new file */
};
bool display_read_info(const char *path, struct display_info *info, GError **error);

/* A short text that changes whenever the display shows something new: a new frame, or a new
 * file (a new VMM starts its frame count again, so the inode and the time of the last frame
 * tell it from the old one). */
char *display_info_version(const struct display_info *info);
/* The version standing for display_read_info's error: "absent" without a file, "unreadable"
 * for a file that is no framebuffer. */
char *display_error_version(const GError *error);
/* The version of path, whichever of the two. */
char *display_version(const char *path);
