/* sepia guest init: the processes init starts and watches. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

enum service_exit_action {
	SERVICE_EXIT_IGNORE,   /* a finished one-shot: nothing to do */
	SERVICE_EXIT_RESPAWN,  /* start it again (a getty-like shell, a daemon) */
	SERVICE_EXIT_POWEROFF, /* the system's job is done (sepia.run) */
	SERVICE_EXIT_REBOOT,
};

struct service {
	const char *name;
	/* argv[0] is the program path; NULL-terminated. */
	const char *argv[8];
	/* Instead of argv: a service built into init, run in the forked child;
	 * its return value is the child's exit status. */
	int (*run)(void);
	/* tty for stdin/stdout/stderr, e.g. "/dev/ttyS0"; NULL: /dev/null in,
	 * console out. With a tty the service gets it as controlling terminal. */
	char tty[64];
	/* Without a tty: stdout and stderr go to logd (tag: name), which copies them to the
	 * console; false: init's own stdout and stderr (logd itself). */
	bool to_logd;
	enum service_exit_action on_exit;
	/* init's own descriptor of tty (-1: none), see service_hold_tty(). */
	int tty_hold;

	/* Run-time state, owned by service.c. */
	pid_t pid;
	int last_status;
	unsigned int starts;
};

/* Opens svc's tty in init and keeps it open for good. An hvc tty takes input from its
 * device only while it is open, and at its last close the kernel drops what it took but
 * nobody read. Without the hold, input that waits in the device (typed during the boot, or
 * as soon as the boot marker appeared) is swallowed, whole or in part, by the marker's short
 * open of hvc0 if it comes before the shell's own open; a respawn loses it the same way.
 * Returns 0 or -errno. */
int service_hold_tty(struct service *svc);

/* Waits until the tty fd has sent its queued output, polling TIOCOUTQ, for at most max_ms
 * (output stopped by ^S never drains). Returns at once for what is not a tty. */
#define TTY_DRAIN_MS      20000
#define TTY_DRAIN_STEP_MS 10
void tty_drain(int fd, unsigned int max_ms);

/* Starts svc (fork + exec); returns 0 or -errno. A service on a tty runs under a session
 * leader of its own that, when the service ends, lets the tty send the service's output
 * before the session's end hangs the tty up (see service.c). */
int service_start(struct service *svc);

/* The service whose process is pid, or NULL. */
struct service *service_by_pid(struct service *services, unsigned int count, pid_t pid);
