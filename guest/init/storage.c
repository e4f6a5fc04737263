/* sepia guest init: the disk's partitions, found by their GPT names and mounted
 * where Android mounts them. See storage.h. */
#include "storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

struct partition_mount {
	const char *partname; /* the GPT entry's name (sysfs PARTNAME) */
	const char *target;
	unsigned long flags;
	const char *data;
};

/* noinit_itable: the host's mke2fs leaves nothing for the kernel's lazy inode
 * table zeroing to do; on other images that zeroing would be interpreted kernel
 * work and writes into the overlay for no gain to a virtual device. */
static const struct partition_mount partition_mounts[] = {
	{ "system", "/system", MS_RDONLY | MS_NODEV, NULL },
	{ "metadata", "/metadata", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME, "noinit_itable" },
	{ "userdata", "/data", MS_NOSUID | MS_NODEV | MS_NOATIME, "noinit_itable" },
};

#define N_MOUNTS (sizeof(partition_mounts) / sizeof(partition_mounts[0]))

/* Reads "KEY=value" lines of a sysfs uevent file into devname and partname. */
static void read_uevent(const char *path, char *devname, size_t dsize, char *partname, size_t psize)
{
	char buf[1024];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	devname[0] = partname[0] = '\0';
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		if (strncmp(line, "DEVNAME=", 8) == 0)
			snprintf(devname, dsize, "%s", line + 8);
		else if (strncmp(line, "PARTNAME=", 9) == 0)
			snprintf(partname, psize, "%s", line + 9);
	}
}

int storage_find_partition(const char *partname, char *devpath, size_t size)
{
	char path[512], devname[64], name[80];
	struct dirent *e;
	DIR *dir = opendir("/sys/class/block");
	int err = -ENOENT;

	if (dir == NULL)
		return -errno;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/block/%.200s/uevent", e->d_name);
		read_uevent(path, devname, sizeof(devname), name, sizeof(name));
		if (devname[0] == '\0' || strcmp(name, partname) != 0)
			continue;
		snprintf(devpath, size, "/dev/%s", devname);
		err = 0;
		break;
	}
	closedir(dir);
	return err;
}

void storage_mount_partitions(void (*report)(const char *fmt, ...))
{
	char dev[96];

	for (size_t i = 0; i < N_MOUNTS; i++) {
		const struct partition_mount *m = &partition_mounts[i];
		int err = storage_find_partition(m->partname, dev, sizeof(dev));

		if (err < 0) {
			report("no %s partition (%s): %s stays on the initramfs", m->partname, strerror(-err),
			       m->target);
			continue;
		}
		mkdir(m->target, 0755);
		if (mount(dev, m->target, "ext4", m->flags, m->data) < 0)
			report("cannot mount %s (the %s partition) on %s as ext4: %s; %s stays on the "
			       "initramfs%s",
			       dev, m->partname, m->target, strerror(errno), m->target,
			       strcmp(m->partname, "system") == 0
				       ? ""
				       : " and is lost at reboot (on the host, launch_cvd "
					 "--data_policy=always_create makes a blank one)");
	}
	/* Where adb users push to, as Android's init.rc makes it; on the initramfs when userdata
	 * did not mount, so adb push still works. */
	mkdir("/data", 0771);
	mkdir("/data/local", 0751);
	mkdir("/data/local/tmp", 0771);
}
