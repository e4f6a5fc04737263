/* sepia guest init: the host's control channel (sepia.control=hvcN).
 *
 * The host (the instance monitor, through sepia-vmm --control) writes one
 * command per line; the guest answers each line with one line, written and
 * drained before it acts:
 *
 *   poweroff  ->  "ok poweroff", then init powers the guest off in order
 *   reboot    ->  "ok reboot", then init reboots in order (sepia-vmm exits 4)
 *   continue  ->  nothing (a late answer to the boot snapshot point, below)
 *   anything else (not blank)  ->  "error unknown command"
 *
 * Blank lines and a trailing CR are ignored. The actions are the signals
 * busybox's poweroff and reboot send to init (SIGUSR2, SIGTERM), so every way
 * of shutting down takes the same path in init.c. */
#pragma once

#include <stddef.h>

/* Opens the control tty (e.g. "/dev/hvc1") once, in init, and makes it a raw
 * terminal: no echo of the host's commands, no CR/LF translation. Init keeps
 * it open for its whole life, before the boot-completed marker, so the settings
 * and any input that arrives before the service's first read survive (and
 * survive restarts of the service). The service's children inherit the fd: it
 * is never their controlling terminal, so no hangup reaches init's copy.
 * Returns 0 or -errno. */
int control_prepare_tty(const char *path);

/* The boot snapshot point (sepia.boot_snapshot=1; docs/boot-snapshot.md): init,
 * before it mounts /data and /metadata and before it reads anything that may
 * differ from one launch to the next, writes "snapshot-point" on the control
 * channel and waits for the host's "continue" line. The host may snapshot the
 * whole machine meanwhile; a guest restored from that snapshot resumes in this
 * wait and the host's "continue" lets it go on. Returns 0 once "continue" came,
 * -ETIMEDOUT after timeout_s seconds (of guest time, which a restore moves on,
 * so a restored guest may leave early: harmless), or -errno. Lines other than
 * "continue" that arrive meanwhile are dropped. */
int control_boot_snapshot_point(unsigned int timeout_s);

/* The service's body, run in a forked child of init: reads commands from the
 * control tty and answers on it; returns (the exit status) when it ends. */
int control_service_run(void);

/* What one command line asks for: writes the answer line (with '\n') to
 * answer and returns the signal to send init, or 0 for none. */
int control_handle_line(const char *line, char *answer, size_t size);
