/* sepia guest init: the host's control channel (see control.h). */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
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

bool control_is_continue(const char *line)
{
	return strncmp(line, "continue", 8) == 0 && (line[8] == '\0' || line[8] == ' ');
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int control_parse_seed(const char *line, unsigned char seed[CONTROL_SEED_BYTES])
{
	if (!control_is_continue(line))
		return -EINVAL;
	if (line[8] == '\0')
		return 0;
	const char *hex = line + 9;
	if (strlen(hex) != 2 * CONTROL_SEED_BYTES)
		return -EINVAL;
	for (unsigned int i = 0; i < CONTROL_SEED_BYTES; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		seed[i] = (unsigned char)(hi << 4 | lo);
	}
	return CONTROL_SEED_BYTES;
}

/* Credits the host's seed to the kernel's input pool and reseeds the CRNG from
 * it at once, so that guests restored from one snapshot part ways here. */
static int reseed_kernel_rng(const unsigned char seed[CONTROL_SEED_BYTES])
{
	struct {
		struct rand_pool_info info;
		unsigned char bytes[CONTROL_SEED_BYTES];
	} add = { .info = { .entropy_count = 8 * CONTROL_SEED_BYTES, .buf_size = CONTROL_SEED_BYTES } };
	int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	memcpy(add.bytes, seed, CONTROL_SEED_BYTES);
	if (ioctl(fd, RNDADDENTROPY, &add) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0)
		err = -errno;
	memset(&add, 0, sizeof(add));
	close(fd);
	return err;
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
	if (control_is_continue(line)) {
		answer[0] = '\0';
		return 0;
	}
	snprintf(answer, size, "error unknown command\n");
	return 0;
}

int control_boot_snapshot_point(unsigned int timeout_s)
{
	static const char point[] = "snapshot-point\n";
	char line[128];
	size_t used = 0;

	if (control_fd < 0)
		return -EBADF;
	if (write_all(control_fd, point, sizeof(point) - 1) < 0)
		return -errno;
	tcdrain(control_fd);
	/* A second at a time: a restore moves the guest's clocks on by the time
	 * since the snapshot (hours, for a boot snapshot kept in a cache), which
	 * ends one pending poll at once, not the whole wait. */
	for (unsigned int waited = 0;;) {
		struct pollfd p = { .fd = control_fd, .events = POLLIN };
		char c;
		int n = poll(&p, 1, 1000);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			if (++waited >= timeout_s)
				return -ETIMEDOUT;
			continue;
		}
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
		unsigned char seed[CONTROL_SEED_BYTES];
		int got = control_parse_seed(line, seed);
		if (got < 0)
			continue;
		int err = got > 0 ? reseed_kernel_rng(seed) : 0;
		memset(seed, 0, sizeof(seed));
		return err < 0 ? CONTROL_RESEED_FAILED : 0;
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
