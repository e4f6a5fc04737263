/* The client side of logd's socket (guest/init/logd.h), for logcat and log. */
#pragma once

#include "../init/logd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Connects and sends the first line (header, without '\n'); the socket or -errno. */
static inline int logd_client_open(const char *header)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[64];
	int fd, n;

	strcpy(sa.sun_path, LOGD_SOCKET);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = snprintf(line, sizeof(line), "%s\n", header);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
		int err = errno ? -errno : -EIO;
		close(fd);
		return err;
	}
	return fd;
}
