/* guest/tools/fd-util.h — file-descriptor I/O the static guest programs share: the tools (linked
 * into one binary, sepia-tools) and guest/init. Everything here is static. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

/* Writes all len bytes, retrying short writes and EINTR; 0, or -1 with errno set (or 0 when the
 * fd accepted nothing). */
static inline int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}
