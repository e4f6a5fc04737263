/* logcat: the guest's log (logd, guest/init/logd.h), as Android's logcat prints it.
 *
 *   logcat              the log so far, then every new line until interrupted
 *   logcat -d           the log so far, then exit
 *   -v threadtime       the format (the default and the only one)
 *   -b main|system|kernel|all, -s  accepted for Android's habits; every buffer is one
 *
 * Lines: `MM-DD HH:MM:SS.mmm  PID  TID P TAG     : message`. Exit status 0; 1 when
 * logd cannot be reached (with a message); 2 for a usage error. */
#include "logd-client.h"

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

static int usage(FILE *f)
{
	fprintf(f, "usage: logcat [-d] [-v threadtime] [-b BUFFER]\n"
		   "  -d  print the log so far and exit (default: then follow it)\n");
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	static char buf[65536];
	bool dump = false;
	int opt, fd;

	while ((opt = getopt(argc, argv, "dv:b:sh")) != -1) {
		switch (opt) {
		case 'd':
			dump = true;
			break;
		case 'v':
			if (strcmp(optarg, "threadtime") != 0) {
				fprintf(stderr, "logcat: -v %s: only threadtime is supported\n", optarg);
				return 2;
			}
			break;
		case 'b':
		case 's':
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	/* adb's `logcat` passes filter specs (*:V); every line passes. */
	signal(SIGPIPE, SIG_DFL);
	fd = logd_client_open(dump ? "dump" : "follow");
	if (fd < 0) {
		fprintf(stderr, "logcat: cannot reach logd on %s: %s\n", LOGD_SOCKET, strerror(-fd));
		return 1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(STDOUT_FILENO, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return 0; /* the reader went away */
			off += w;
		}
	}
	close(fd);
	return 0;
}
