/* guest/tools/evdev-util.h — what the input tools (getevent, touch-paint, input) share: bit tests
 * on evdev capability maps and finding the touch screen. Static (the tools are linked into one
 * binary, sepia-tools); define PROG, the tool's name for messages, before including. */
#pragma once

#include <linux/input.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define EVDEV_BITS_LONGS(n) (((n) + 8 * sizeof(long) - 1) / (8 * sizeof(long)))

static inline int evdev_test_bit(const unsigned long *map, unsigned int bit)
{
	return (map[bit / (8 * sizeof(long))] >> (bit % (8 * sizeof(long)))) & 1;
}

/* Whether the open device fd is a multi-touch screen (it has ABS_MT_POSITION_X). */
static inline int evdev_is_touch(int fd)
{
	unsigned long abs[EVDEV_BITS_LONGS(ABS_CNT)] = { 0 };
	if (ioctl(fd, EVIOCGBIT(EV_ABS, sizeof(abs)), abs) < 0)
		return 0;
	return evdev_test_bit(abs, ABS_MT_POSITION_X) && evdev_test_bit(abs, ABS_MT_POSITION_Y);
}

/* Opens the first multi-touch screen under /dev/input (lowest eventN), read-only; its path goes
 * into path. -1 (said on stderr) when there is none. */
static inline int evdev_open_touch(char *path, size_t path_len)
{
	int best = -1, best_n = -1;
	DIR *d = opendir("/dev/input");
	struct dirent *e;
	if (!d) {
		fprintf(stderr, PROG ": cannot open /dev/input (the kernel has no evdev?)\n");
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		int n;
		char p[280];
		if (sscanf(e->d_name, "event%d", &n) != 1 || (best_n >= 0 && n > best_n))
			continue;
		snprintf(p, sizeof(p), "/dev/input/%s", e->d_name);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!evdev_is_touch(fd)) {
			close(fd);
			continue;
		}
		if (best >= 0)
			close(best);
		best = fd, best_n = n;
		snprintf(path, path_len, "%s", p);
	}
	closedir(d);
	if (best < 0)
		fprintf(stderr, PROG ": no touch screen in /dev/input (a device with ABS_MT_POSITION_X)\n");
	return best;
}
