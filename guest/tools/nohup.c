/* nohup: runs a command immune to hangups, as POSIX describes nohup and as Android's toybox
 * offers it to `adb shell nohup CMD &`. The reference guest's busybox (Debian's busybox-static,
 * used as packaged) is built without its nohup applet, so the guest carries this one.
 *   nohup COMMAND [ARG]...
 * SIGHUP is ignored (the command inherits that). If standard output is a terminal, output is
 * appended to ./nohup.out, or to $HOME/nohup.out when the current directory is not writable; if
 * standard error is a terminal, it follows standard output; if standard input is a terminal, it
 * reads /dev/null instead. Exit status: the command's; 126 if it was found but could not be run;
 * 127 if it was not found or nohup itself failed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int open_nohup_out(char *name, size_t size)
{
	const char *home = getenv("HOME");
	int fd;

	snprintf(name, size, "nohup.out");
	fd = open(name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0 || home == NULL || *home == '\0')
		return fd;
	snprintf(name, size, "%s/nohup.out", home);
	return open(name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

int main(int argc, char **argv)
{
	int argi = 1;

	if (argi < argc && strcmp(argv[argi], "--") == 0)
		argi++;
	if (argi >= argc) {
		fprintf(stderr, "usage: nohup COMMAND [ARG]...\n");
		return 127;
	}
	if (signal(SIGHUP, SIG_IGN) == SIG_ERR) {
		fprintf(stderr, "nohup: cannot ignore SIGHUP: %s\n", strerror(errno));
		return 127;
	}
	if (isatty(STDIN_FILENO)) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || dup2(fd, STDIN_FILENO) < 0) {
			fprintf(stderr, "nohup: cannot read /dev/null instead of the terminal: %s\n",
				strerror(errno));
			return 127;
		}
		close(fd);
	}
	if (isatty(STDOUT_FILENO)) {
		char name[PATH_MAX];
		int fd = open_nohup_out(name, sizeof(name));
		if (fd < 0) {
			fprintf(stderr,
				"nohup: cannot open nohup.out here or in $HOME: %s "
				"(redirect the output: nohup CMD >FILE)\n",
				strerror(errno));
			return 127;
		}
		fprintf(stderr, "nohup: appending output to '%s'\n", name);
		if (dup2(fd, STDOUT_FILENO) < 0) {
			fprintf(stderr, "nohup: %s: %s\n", name, strerror(errno));
			return 127;
		}
		close(fd);
	}
	if (isatty(STDERR_FILENO) && dup2(STDOUT_FILENO, STDERR_FILENO) < 0) {
		fprintf(stderr, "nohup: cannot send errors to the output: %s\n", strerror(errno));
		return 127;
	}
	execvp(argv[argi], argv + argi);
	int e = errno;
	/* stderr may be nohup.out by now, which is where the message belongs then. */
	fprintf(stderr, "nohup: %s: %s\n", argv[argi], strerror(e));
	return e == ENOENT ? 127 : 126;
}
