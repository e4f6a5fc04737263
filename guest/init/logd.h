/* sepia guest init: logd, the guest's log (what `logcat` prints).
 *
 * One ring, in memory, of lines already in logcat's "threadtime" format
 * (`MM-DD HH:MM:SS.mmm  PID  TID P TAG     : message`), fed by:
 *   - the kernel log (/dev/kmsg), tag "kernel", pid 0;
 *   - init's own lines (tag "init", pid 1) and the stdout/stderr of init's
 *     services without a tty (tag: the service's name, pid: its pid), which
 *     logd also copies, as they were, to the console;
 *   - the `log` tool (tag and priority of its choosing).
 * The ring keeps the newest LOGD_RING_BYTES (oldest lines go first).
 *
 * Everyone talks to logd on one unix stream socket, LOGD_SOCKET; the first
 * line says who is calling:
 *   "P TAG\n"    a writer: every later line is one entry with priority P
 *                (one of VDIWEF) and TAG; "P+TAG\n" also copies the lines
 *                to the console (init's services); "P@TAG\n": every line starts
 *                with its own time, "SEC.NSEC " (CLOCK_REALTIME; init's lines,
 *                which may wait in the socket until logd runs);
 *   "dump\n"     logd sends the ring as it is and closes (`logcat -d`);
 *   "follow\n"   logd sends the ring, then every new line (`logcat`).
 * With sepia.logcat=hvcN, logd streams the whole log (from the boot on) to
 * /dev/hvcN, which the host writes to the instance's logs/logcat.
 *
 * Init makes the listening socket before it starts anything, so that a
 * service's connect never races logd's start; logd (a service of init)
 * inherits it and is restarted on the same socket if it dies. */
#pragma once

#include <stddef.h>
#include <time.h>

#define LOGD_SOCKET         "/dev/socket/logd"
#define LOGD_RING_BYTES     (256 * 1024)
#define LOGD_TAG_HEADER_MAX 40 /* "P+TAG" */

/* In init: makes LOGD_SOCKET and listens (close-on-exec). Returns 0 or -errno. */
int logd_listen(void);
/* Connects to logd as a writer: header is "P TAG" or "P+TAG". nonblock: never
 * wait (init). Returns the socket (close-on-exec) or -errno. */
int logd_connect(const char *header, int nonblock);
/* The service's body, in a forked child of init; hvc is sepia.logcat ("" for
 * none). Returns only on a fatal error. */
int logd_service_run(const char *hvc);

/* Formats one entry in threadtime format into out (ending in '\n'); the
 * message's trailing CR/LF are dropped. Returns the length. Exposed for tests. */
size_t logd_format(char *out, size_t size, const struct timespec *when, int pid, int tid, char prio,
		   const char *tag, const char *msg, size_t msg_len);
/* Parses one /dev/kmsg record ("pri,seq,usec,flags;text\n..."): the logcat
 * priority, the time in microseconds since boot and the text (up to its first
 * newline). Returns 0, or -1 for what is not a record. */
int logd_parse_kmsg(const char *rec, size_t len, char *prio, unsigned long long *usec, const char **text,
		    size_t *text_len);
