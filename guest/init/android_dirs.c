/* sepia guest init: the directories Android's init makes on /data. `adb push FILE
 * /data/local/tmp/` is the most common push there is; the client pushes to
 * /data/local/tmp/FILE only when that directory exists (else adbd is asked to create a file
 * named "/data/local/tmp/", which fails), so it must exist, with Android's owner and mode. */
#include "android_dirs.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define AID_SHELL 2000 /* Android's shell user and group */

struct android_dir {
	const char *path;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

static const struct android_dir android_dirs[] = {
	{ "/data/local", 0751, 0, 0 },
	{ "/data/local/tmp", 0771, AID_SHELL, AID_SHELL },
};

int android_dirs_make(void)
{
	for (size_t i = 0; i < sizeof(android_dirs) / sizeof(android_dirs[0]); i++) {
		const struct android_dir *d = &android_dirs[i];

		if (mkdir(d->path, d->mode) < 0) {
			if (errno == EEXIST)
				continue; /* a persistent /data keeps what the user changed */
			return -errno;
		}
		if (chown(d->path, d->uid, d->gid) < 0 || chmod(d->path, d->mode) < 0)
			return -errno;
	}
	return 0;
}
