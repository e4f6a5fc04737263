/* guest/tools/drm-util.h — what the DRM tools (gpu-pattern, gpu-clear3d) share. The tools are
 * linked into one binary (sepia-tools), so everything here is static. Define PROG, the tool's
 * name for messages, before including. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

/* ioctl, retried on EINTR/EAGAIN as libdrm does; 0 or -errno. */
static inline int drm_ioctl(int fd, unsigned long request, void *arg)
{
	int ret;

	do
		ret = ioctl(fd, request, arg);
	while (ret < 0 && (errno == EINTR || errno == EAGAIN));
	return ret < 0 ? -errno : 0;
}

/* Opens the DRM device; on failure says so ("PROG: cannot open DEVICE: why") and returns -1. */
static inline int drm_open(const char *device)
{
	int fd = open(device, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, PROG ": cannot open %s: %s\n", device, strerror(errno));
	return fd;
}

/* Prints "PROG: what: strerror(-err)" and returns the failure status 1. */
static inline int fail(const char *what, int err)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(-err));
	return 1;
}
