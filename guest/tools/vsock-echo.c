/* vsock-echo: the reference guest's vsock test tool (static, in the initramfs).
 *   vsock-echo PORT                      listens on AF_VSOCK VMADDR_CID_ANY:PORT and echoes
 *                                        every connection (one child process each), until
 *                                        killed
 *   vsock-echo --connect CID PORT [MSG]  connects to CID:PORT, sends MSG (default "hello")
 *                                        and a newline, half-closes, prints what comes back */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd-util.h"

static void echo(int fd)
{
	static char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || write_all(fd, buf, (size_t)n) < 0)
			break;
	}
	shutdown(fd, SHUT_WR);
	close(fd);
}

static unsigned int parse_uint(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || v > 0xffffffffUL) {
		fprintf(stderr, "vsock-echo: bad %s '%s'\n", what, s);
		exit(2);
	}
	return (unsigned int)v;
}

static int serve(unsigned int port)
{
	int s = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 128) < 0) {
		fprintf(stderr, "vsock-echo: cannot listen on vsock port %u: %s\n", port, strerror(errno));
		return 1;
	}
	signal(SIGCHLD, SIG_IGN); /* no zombies */
	printf("vsock-echo: listening on port %u\n", port);
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vsock-echo: accept: %s\n", strerror(errno));
			return 1;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(s);
			echo(c);
			_exit(0);
		}
		if (pid < 0)
			fprintf(stderr, "vsock-echo: fork: %s\n", strerror(errno));
		close(c);
	}
}

static int connect_once(unsigned int cid, unsigned int port, const char *msg)
{
	int s = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("vsock-echo: connect to %u:%u: %s\n", cid, port, strerror(errno));
		return 1;
	}
	char line[4096];
	snprintf(line, sizeof(line), "%s\n", msg);
	if (write_all(s, line, strlen(line)) < 0) {
		printf("vsock-echo: write: %s\n", strerror(errno));
		return 1;
	}
	shutdown(s, SHUT_WR);
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(line) - 1 && (n = read(s, line + got, sizeof(line) - 1 - got)) > 0)
		got += (size_t)n;
	line[got] = '\0';
	printf("vsock-echo: reply: %s%s", line, got && line[got - 1] == '\n' ? "" : "\n");
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "--connect"))
		return connect_once(parse_uint(argv[2], "CID"), parse_uint(argv[3], "port"),
				    argc > 4 ? argv[4] : "hello");
	if (argc == 2)
		return serve(parse_uint(argv[1], "port"));
	fprintf(stderr, "usage: vsock-echo PORT | vsock-echo --connect CID PORT [MSG]\n");
	return 2;
}
