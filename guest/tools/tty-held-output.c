/* tty-held-output: output that is still on its way when its writer leaves the terminal.
 *   tty-held-output TEXT [SECONDS]
 * Stops its terminal's output (tcflow TCOOFF, as a ^S would), writes TEXT and a newline to
 * it, and exits at once, leaving a helper process that restarts the output SECONDS (default
 * 2) later. The line is then still queued in the tty when the program ends: the reference
 * guest's end-to-end tests run it as sepia.run and check the line reaches the host whole,
 * whatever the program's exit does to the terminal (a session leader's exit hangs its
 * controlling terminal up, and a hangup throws away output not yet sent).
 * Exit status: 0 the line is queued, 1 a system call failed, 2 bad arguments. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* The terminal's output is stopped: say it on the kernel log, where it is seen. */
static int fail(const char *what, int err)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		dprintf(fd, "tty-held-output: %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : "");
		close(fd);
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: tty-held-output TEXT [SECONDS]\n");
		return 2;
	}
	unsigned int seconds = argc == 3 ? (unsigned int)strtoul(argv[2], NULL, 10) : 2;
	const char *tty = ttyname(STDOUT_FILENO);
	if (!tty) {
		fprintf(stderr, "tty-held-output: standard output is not a terminal\n");
		return 2;
	}
	char path[64];
	snprintf(path, sizeof(path), "%s", tty);

	if (tcflow(STDOUT_FILENO, TCOOFF) < 0)
		return fail("tcflow TCOOFF", errno);
	size_t len = strlen(argv[1]);
	char *line = malloc(len + 2);
	if (!line)
		return fail("malloc", errno);
	memcpy(line, argv[1], len);
	line[len++] = '\n';
	for (size_t done = 0; done < len;) {
		ssize_t n = write(STDOUT_FILENO, line + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail("write", errno);
		done += (size_t)n;
	}
	int queued = 0;
	if (ioctl(STDOUT_FILENO, TIOCOUTQ, &queued) < 0)
		return fail("TIOCOUTQ", errno);

	pid_t pid = fork();
	if (pid < 0)
		return fail("fork", errno);
	if (pid == 0) {
		/* The helper: a hangup of the terminal must not end it, and it reopens the
		 * terminal by name, since a hangup leaves inherited descriptors unusable. */
		signal(SIGHUP, SIG_IGN);
		struct timespec wait = { .tv_sec = seconds, .tv_nsec = 0 };
		while (nanosleep(&wait, &wait) < 0 && errno == EINTR)
			;
		int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || tcflow(fd, TCOON) < 0)
			_exit(fail("restarting the output", errno));
		_exit(0);
	}
	return queued > 0 ? 0 : fail("the line was sent at once, with the output stopped", 0);
}
