/* sepia guest init: the disk's partitions, found by their GPT names (the PARTNAME
 * of /sys/class/block/<dev>/uevent), mounted where Android mounts them: system
 * read-only at /system, metadata at /metadata, userdata at /data, all ext4 (the
 * host's assemble_cvd formats the blank ones). A partition that is missing or
 * does not mount is reported and its directory stays on the initramfs: the
 * guest still boots. */
#pragma once

#include <stddef.h>

/* "/dev/<DEVNAME>" of the partition named partname, into devpath; 0 or -errno
 * (-ENOENT: no such partition). */
int storage_find_partition(const char *partname, char *devpath, size_t size);

/* Mounts system, metadata and userdata; report() gets one line per problem. */
void storage_mount_partitions(void (*report)(const char *fmt, ...));
