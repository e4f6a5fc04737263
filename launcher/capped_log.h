/* launcher/capped_log.h — an append-only log file with a size cap, for what a guest writes
 * (logs/kernel.log, its serial console): when the next bytes would take the file past the cap,
 * it is renamed to PATH.1 (replacing the previous one) and a new PATH begins. The guest can
 * therefore never use more than twice the cap of the host's disk, and the newest output is
 * always in PATH. launch_cvd --kernel_log_max_mb sets the cap (default 64 MiB). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define CAPPED_LOG_DEFAULT_MAX_MB 64u

typedef struct CappedLog CappedLog;

/* Opens path for appending (created with mode 0640 under the umask); its current size counts. */
CappedLog *capped_log_open(const char *path, uint64_t max_bytes, GError **error);
/* Appends all of buf, rotating as often as needed; errors name the file. */
bool capped_log_write(CappedLog *log, const void *buf, size_t len, GError **error);
/* How often it rotated since it was opened. */
guint capped_log_rotations(const CappedLog *log);
void capped_log_free(CappedLog *log);
