/* sepia's one log line, for every program: "2026-12-07T03:55:26.123Z [cvd-1 ]who: message",
 * on stderr, in UTC, written with a single write(2) so that lines from several threads, or
 * from the monitor and the VMM sharing launcher.log, never interleave. */
#pragma once

#include <glib.h>
#include <stdarg.h>

/* who: the program ("sepia-vmm", "run_cvd"); instance: "cvd-N" or NULL. */
void log_line(const char *who, const char *instance, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void log_linev(const char *who, const char *instance, const char *fmt, va_list ap) G_GNUC_PRINTF(3, 0);

/* Routes GLib's messages (g_message, g_warning, ...) of this process to log_line: warnings
 * and criticals are marked "warning: " and "error: ", debug messages are dropped unless
 * SEPIA_DEBUG is set. who and instance must stay valid for the process's life. */
void log_route_glib(const char *who, const char *instance);
