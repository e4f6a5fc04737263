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

#include <stdbool.h>
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
 * -ETIMEDOUT after timeout_s one-second waits with nothing read (a restore's
 * clock skip ends one of them, not the whole wait), or -errno. Lines other than
 * "continue" that arrive meanwhile are dropped. Returns CONTROL_RESEED_FAILED
 * when the line's seed could not be given to the kernel. */
int control_boot_snapshot_point(unsigned int timeout_s);

/* "continue" may carry a seed: "continue " and 64 lowercase hex digits, 32
 * bytes of the host's getrandom(2). Guests restored from one snapshot share
 * the kernel RNG's state up to the point; init credits the seed to the kernel
 * (RNDADDENTROPY) and reseeds its CRNG (RNDRESEEDCRNG) before anything past
 * the point draws from it. */
#define CONTROL_SEED_BYTES 32
/* control_boot_snapshot_point's result when "continue" came but the kernel
 * refused the seed (init goes on, and says so). */
#define CONTROL_RESEED_FAILED 1

/* True for "continue", with or without a seed. */
bool control_is_continue(const char *line);

/* The seed of a "continue" line into seed[]: returns CONTROL_SEED_BYTES, 0
 * when the line has none, or -EINVAL for anything else. */
int control_parse_seed(const char *line, unsigned char seed[CONTROL_SEED_BYTES]);

/* The service's body, run in a forked child of init: reads commands from the
 * control tty and answers on it; returns (the exit status) when it ends. */
int control_service_run(void);

/* What one command line asks for: writes the answer line (with '\n') to
 * answer and returns the signal to send init, or 0 for none. */
int control_handle_line(const char *line, char *answer, size_t size);
