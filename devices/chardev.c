#include "devices/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/error.h"

#define DROP_LOG_USEC (10 * G_USEC_PER_SEC) /* at most one "dropped" line per chardev this often */

static struct termios saved_termios;
static bool termios_saved;
static int saved_stdout_flags = -1; /* stdout's file status flags before O_NONBLOCK */

/* At exit: the terminal and stdout as they were, since whoever started sepia-vmm shares them
 * (a shell would otherwise inherit a raw, non-blocking terminal). */
static void restore_stdio(void)
{
	if (termios_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
	if (saved_stdout_flags >= 0)
		fcntl(STDOUT_FILENO, F_SETFL, saved_stdout_flags);
}

static void restore_stdio_at_exit(void)
{
	static bool registered;
	if (!registered)
		atexit(restore_stdio);
	registered = true;
}

/* Keystrokes go to the guest as typed; ISIG stays so Ctrl-C still ends sepia-vmm. */
static void stdin_raw_mode(void)
{
	if (termios_saved || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) < 0)
		return;
	struct termios raw = saved_termios;
	raw.c_lflag &= ~(ICANON | ECHO | ECHONL | IEXTEN);
	raw.c_iflag &= ~(ICRNL | IXON);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	termios_saved = true;
	restore_stdio_at_exit();
	tcsetattr(STDIN_FILENO, TCSANOW, &raw);
}

/* Output must never wait for a reader: O_NONBLOCK on the fd's open file description,
 * whatever the caller handed over (a pty master, a pipe, a terminal). */
static void output_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || (flags & O_NONBLOCK))
		return;
	if (fd == STDOUT_FILENO && saved_stdout_flags < 0) {
		saved_stdout_flags = flags;
		restore_stdio_at_exit();
	}
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* "N" of fd:N: a whole non-negative decimal number that fits an int. */
static bool parse_fd_number(const char *text, int *fd)
{
	if (!g_ascii_isdigit(text[0]))
		return false;
	errno = 0;
	char *end;
	long v = strtol(text, &end, 10);
	if (errno || *end || v > G_MAXINT)
		return false;
	*fd = (int)v;
	return true;
}

bool chardev_parse_sink(const char *spec, struct vm_sink *sink, bool allow_pty, GError **error)
{
	memset(sink, 0, sizeof(*sink));
	sink->fd = -1;
	if (!strncmp(spec, "fd:", 3)) {
		if (!parse_fd_number(spec + 3, &sink->fd)) {
			g_set_error(error, SEPIA_ERROR, EINVAL, "'%s': fd:N needs a file descriptor number",
				    spec);
			return false;
		}
		sink->kind = SINK_FD;
	} else if (!strcmp(spec, "stdio"))
		sink->kind = SINK_STDIO;
	else if (!strcmp(spec, "none"))
		sink->kind = SINK_NONE;
	else if (!strcmp(spec, "sink"))
		sink->kind = SINK_NULL;
	else if (allow_pty && !strcmp(spec, "pty"))
		sink->kind = SINK_PTY;
	else if (!strncmp(spec, "file:", 5) && spec[5]) {
		sink->kind = SINK_FILE;
		sink->path = g_strdup(spec + 5);
	} else {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "'%s' is not one of stdio, file:PATH, fd:N, %ssink, none", spec,
			    allow_pty ? "pty, " : "");
		return false;
	}
	return true;
}

static bool chardev_open_sink(struct chardev *cd, const char *name, const struct vm_sink *sink,
			      GError **error);

bool chardev_open(struct chardev *cd, const char *name, const struct vm_sink *sink, GError **error)
{
	memset(cd, 0, sizeof(*cd));
	g_mutex_init(&cd->out_lock);
	cd->name = name;
	cd->out_fd = cd->in_fd = cd->pty_slave_fd = -1;
	if (!chardev_open_sink(cd, name, sink, error))
		return false;
	if (cd->out_fd >= 0)
		output_nonblocking(cd->out_fd);
	return true;
}

static bool chardev_open_sink(struct chardev *cd, const char *name, const struct vm_sink *sink,
			      GError **error)
{
	switch (sink->kind) {
	case SINK_NONE:
	case SINK_NULL:
		return true;
	case SINK_STDIO:
		cd->out_fd = STDOUT_FILENO;
		cd->in_fd = STDIN_FILENO;
		stdin_raw_mode();
		return true;
	case SINK_FILE:
		cd->out_fd = open(sink->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (cd->out_fd < 0) {
			g_set_error(error, SEPIA_ERROR, errno, "%s: cannot open output file %s: %s", name,
				    sink->path, g_strerror(errno));
			return false;
		}
		cd->own_out = true;
		return true;
	case SINK_FD:
		/* Inherited from whoever started sepia-vmm (the monitor's end of a socketpair):
		 * checked now so a wrong number fails the start, not the first write. */
		if (fcntl(sink->fd, F_GETFD) < 0) {
			g_set_error(error, SEPIA_ERROR, errno, "%s: fd:%d is not an open file descriptor: %s",
				    name, sink->fd, g_strerror(errno));
			return false;
		}
		fcntl(sink->fd, F_SETFD, FD_CLOEXEC);
		cd->out_fd = cd->in_fd = sink->fd;
		cd->own_out = true;
		return true;
	case SINK_PTY: {
		/* Non-blocking, as every chardev's output (chardev_write). */
		int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0) {
			g_set_error(error, SEPIA_ERROR, errno, "%s: cannot create a pseudo-terminal: %s",
				    name, g_strerror(errno));
			if (fd >= 0)
				close(fd);
			return false;
		}
		struct termios t;
		if (tcgetattr(fd, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(fd, TCSANOW, &t);
		}
		cd->pty_path = g_strdup(ptsname(fd));
		/* Holding the slave open keeps the master from reading EIO while no
		 * terminal program is attached. */
		cd->pty_slave_fd = open(cd->pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		cd->out_fd = cd->in_fd = fd;
		cd->own_out = true;
		g_message("%s: pseudo-terminal %s", name, cd->pty_path);
		return true;
	}
	}
	return true;
}

static gboolean chardev_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct chardev *cd = data;
	uint8_t buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		cd->input(cd->opaque, buf, (size_t)n);
		return G_SOURCE_CONTINUE;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	cd->source = 0;
	return G_SOURCE_REMOVE; /* end of input */
}

/* ---- output: written now, or held in a bounded ring until the fd takes it ---- */

/* Writes what fd takes now; stops at EAGAIN. *failed: another error (the reader hung up). */
static size_t write_now(int fd, const uint8_t *p, size_t len, bool *failed)
{
	size_t done = 0;
	*failed = false;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		*failed = !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
		break;
	}
	return done;
}

/* Holds p, dropping the oldest bytes (held ones first) beyond CHARDEV_OUT_MAX. */
static void ring_append(struct chardev *cd, const uint8_t *p, size_t len)
{
	if (!cd->out_ring)
		cd->out_ring = g_malloc(CHARDEV_OUT_MAX);
	if (len >= CHARDEV_OUT_MAX) {
		cd->dropped += cd->out_len + (len - CHARDEV_OUT_MAX);
		p += len - CHARDEV_OUT_MAX;
		len = CHARDEV_OUT_MAX;
		cd->out_head = cd->out_len = 0;
	}
	size_t over = cd->out_len + len > CHARDEV_OUT_MAX ? cd->out_len + len - CHARDEV_OUT_MAX : 0;
	cd->out_head = (cd->out_head + over) % CHARDEV_OUT_MAX;
	cd->out_len -= over;
	cd->dropped += over;
	size_t tail = (cd->out_head + cd->out_len) % CHARDEV_OUT_MAX;
	size_t first = MIN(len, CHARDEV_OUT_MAX - tail);
	memcpy(cd->out_ring + tail, p, first);
	memcpy(cd->out_ring, p + first, len - first);
	cd->out_len += len;
}

/* Writes what is held as far as the fd takes it. Returns the bytes written; on an output
 * error the rest is dropped. */
static size_t ring_flush(struct chardev *cd)
{
	size_t written = 0;
	while (cd->out_len) {
		size_t first = MIN(cd->out_len, CHARDEV_OUT_MAX - cd->out_head);
		bool failed;
		size_t n = write_now(cd->out_fd, cd->out_ring + cd->out_head, first, &failed);
		written += n;
		cd->out_head = (cd->out_head + n) % CHARDEV_OUT_MAX;
		cd->out_len -= n;
		if (failed) {
			cd->dropped += cd->out_len;
			cd->out_len = 0;
		}
		if (n < first)
			break;
	}
	if (!cd->out_len)
		cd->out_head = 0;
	return written;
}

static void log_drops(struct chardev *cd)
{
	if (cd->dropped == cd->dropped_logged)
		return;
	gint64 now = g_get_monotonic_time();
	if (cd->dropped_logged_at && now - cd->dropped_logged_at < DROP_LOG_USEC)
		return;
	g_message("%s: nobody reads the output: %" G_GUINT64_FORMAT " more bytes dropped (%" G_GUINT64_FORMAT
		  " in all); the newest %u KiB are held until it is read",
		  cd->name, cd->dropped - cd->dropped_logged, cd->dropped, CHARDEV_OUT_MAX / 1024);
	cd->dropped_logged = cd->dropped;
	cd->dropped_logged_at = now;
}

static gboolean chardev_writable(gint fd, GIOCondition cond, gpointer data)
{
	struct chardev *cd = data;
	g_mutex_lock(&cd->out_lock);
	size_t written = ring_flush(cd);
	if (cd->out_len && !written && (cond & (G_IO_HUP | G_IO_ERR))) {
		cd->dropped += cd->out_len; /* the reader is gone: nothing will take it */
		cd->out_len = cd->out_head = 0;
	}
	bool keep = cd->out_len > 0;
	if (!keep)
		g_clear_pointer(&cd->out_source, g_source_unref);
	log_drops(cd);
	g_mutex_unlock(&cd->out_lock);
	return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* With output held and an I/O context to run on: flush it there once the fd is writable. */
static void watch_writable(struct chardev *cd)
{
	if (cd->out_source || !cd->ctx || !cd->out_len)
		return;
	cd->out_source = g_unix_fd_source_new(cd->out_fd, G_IO_OUT | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(cd->out_source, G_SOURCE_FUNC(chardev_writable), cd, NULL);
	g_source_attach(cd->out_source, cd->ctx);
}

void chardev_attach_input(struct chardev *cd, GMainContext *ctx, chardev_input_fn fn, void *opaque)
{
	g_mutex_lock(&cd->out_lock);
	cd->ctx = ctx;
	watch_writable(cd);
	g_mutex_unlock(&cd->out_lock);
	if (cd->in_fd < 0)
		return;
	cd->input = fn;
	cd->opaque = opaque;
	GSource *src = g_unix_fd_source_new(cd->in_fd, G_IO_IN | G_IO_HUP);
	g_source_set_callback(src, G_SOURCE_FUNC(chardev_readable), cd, NULL);
	cd->source = g_source_attach(src, ctx);
	g_source_unref(src);
}

void chardev_write(struct chardev *cd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	g_mutex_lock(&cd->out_lock);
	if (cd->out_fd < 0 || !len)
		goto out;
	/* In order: held output goes first; while a source waits for the fd, it writes. */
	if (!cd->out_source) {
		ring_flush(cd);
		if (!cd->out_len) {
			bool failed;
			size_t n = write_now(cd->out_fd, p, len, &failed);
			p += n;
			len -= n;
			if (failed) {
				cd->dropped += len;
				len = 0;
			}
		}
	}
	if (len) {
		ring_append(cd, p, len);
		watch_writable(cd);
	}
	log_drops(cd);
out:
	g_mutex_unlock(&cd->out_lock);
}

uint64_t chardev_dropped(struct chardev *cd)
{
	g_mutex_lock(&cd->out_lock);
	uint64_t n = cd->dropped;
	g_mutex_unlock(&cd->out_lock);
	return n;
}

size_t chardev_pending(struct chardev *cd)
{
	g_mutex_lock(&cd->out_lock);
	size_t n = cd->out_len;
	g_mutex_unlock(&cd->out_lock);
	return n;
}

void chardev_close(struct chardev *cd)
{
	g_mutex_lock(&cd->out_lock);
	if (cd->out_source) {
		g_source_destroy(cd->out_source);
		g_clear_pointer(&cd->out_source, g_source_unref);
	}
	if (cd->out_fd >= 0)
		ring_flush(cd); /* last words (a panic, say), if the reader takes them now */
	cd->dropped += cd->out_len;
	cd->out_len = cd->out_head = 0;
	if (cd->dropped)
		g_message("%s: %" G_GUINT64_FORMAT " output bytes were dropped in all: nobody read them",
			  cd->name, cd->dropped);
	g_clear_pointer(&cd->out_ring, g_free);
	g_mutex_unlock(&cd->out_lock);
	if (cd->own_out && cd->out_fd >= 0)
		close(cd->out_fd);
	if (cd->pty_slave_fd >= 0)
		close(cd->pty_slave_fd);
	cd->out_fd = cd->in_fd = cd->pty_slave_fd = -1;
	g_clear_pointer(&cd->pty_path, g_free);
}
