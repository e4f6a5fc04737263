#include "devices/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/error.h"

static struct termios saved_termios;
static bool termios_saved;

static void restore_terminal(void)
{
	if (termios_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
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
	atexit(restore_terminal);
	tcsetattr(STDIN_FILENO, TCSANOW, &raw);
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
	else if (allow_pty && !strcmp(spec, "pty"))
		sink->kind = SINK_PTY;
	else if (!strncmp(spec, "file:", 5) && spec[5]) {
		sink->kind = SINK_FILE;
		sink->path = g_strdup(spec + 5);
	} else {
		g_set_error(error, SEPIA_ERROR, EINVAL, "'%s' is not one of stdio, file:PATH, fd:N, %snone",
			    spec, allow_pty ? "pty, " : "");
		return false;
	}
	return true;
}

bool chardev_open(struct chardev *cd, const char *name, const struct vm_sink *sink, GError **error)
{
	memset(cd, 0, sizeof(*cd));
	cd->name = name;
	cd->out_fd = cd->in_fd = cd->pty_slave_fd = -1;
	switch (sink->kind) {
	case SINK_NONE:
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
		/* Non-blocking: with nobody reading, output is dropped rather than stalling the
		 * I/O thread (chardev_write gives up on EAGAIN). */
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

void chardev_attach_input(struct chardev *cd, GMainContext *ctx, chardev_input_fn fn, void *opaque)
{
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
	while (cd->out_fd >= 0 && len > 0) {
		ssize_t n = write(cd->out_fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

void chardev_close(struct chardev *cd)
{
	if (cd->own_out && cd->out_fd >= 0)
		close(cd->out_fd);
	if (cd->pty_slave_fd >= 0)
		close(cd->pty_slave_fd);
	cd->out_fd = cd->in_fd = cd->pty_slave_fd = -1;
	g_clear_pointer(&cd->pty_path, g_free);
}
