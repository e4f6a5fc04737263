/* sepia guest init: the host's control channel (see control.h). */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../tools/fd-util.h"

#define CONTROL_LINE_MAX 256

static int control_fd = -1;

int control_prepare_tty(const char *path)
{
	struct termios t;
	int fd;

	if (control_fd >= 0)
		return 0; /* opened already, at the boot snapshot point */
	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		if (tcsetattr(fd, TCSANOW, &t) < 0) {
			int err = errno;
			close(fd);
			return -err;
		}
	}
	control_fd = fd;
	return 0;
}

int control_handle_line(const char *line, char *answer, size_t size)
{
	if (strcmp(line, "poweroff") == 0) {
		snprintf(answer, size, "ok poweroff\n");
		return SIGUSR2;
	}
	if (strcmp(line, "reboot") == 0) {
		snprintf(answer, size, "ok reboot\n");
		return SIGTERM;
	}
	if (strcmp(line, "continue") == 0) {
		answer[0] = '\0';
		return 0;
	}
	snprintf(answer, size, "error unknown command\n");
	return 0;
}

int control_boot_snapshot_point(unsigned int timeout_s)
{
	static const char point[] = "snapshot-point\n";
	char line[64];
	size_t used = 0;

	if (control_fd < 0)
		return -EBADF;
	if (write_all(control_fd, point, sizeof(point) - 1) < 0)
		return -errno;
	tcdrain(control_fd);
	for (;;) {
		struct pollfd p = { .fd = control_fd, .events = POLLIN };
		char c;
		int n = poll(&p, 1, (int)timeout_s * 1000);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		ssize_t r = read(control_fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		if (c != '\n') {
			if (c != '\r' && used + 1 < sizeof(line))
				line[used++] = c;
			continue;
		}
		line[used] = '\0';
		used = 0;
		if (strcmp(line, "continue") == 0)
			return 0;
	}
}

/* One complete line (without its '\n'): answer it, then act. */
static void control_line(char *line)
{
	char answer[64];
	size_t len = strlen(line);
	int sig;

	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (len == 0)
		return;
	sig = control_handle_line(line, answer, sizeof(answer));
	if (answer[0] != '\0' && write_all(control_fd, answer, strlen(answer)) == 0)
		/* The answer must leave the guest before init starts stopping it. */
		tcdrain(control_fd);
	if (sig != 0)
		kill(1, sig);
}

int control_service_run(void)
{
	char line[CONTROL_LINE_MAX];
	size_t used = 0;
	bool overlong = false;

	if (control_fd < 0)
		return 1;
	for (;;) {
		char buf[128];
		ssize_t n = read(control_fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 1;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				line[used] = '\0';
				if (overlong)
					snprintf(line, sizeof(line), "(too long)");
				control_line(line);
				used = 0;
				overlong = false;
			} else if (used + 1 < sizeof(line)) {
				line[used++] = buf[i];
			} else {
				overlong = true;
			}
		}
	}
}
