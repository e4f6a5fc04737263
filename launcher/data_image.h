/* launcher/data_image.h — the instance's own ext4 data images (userdata, metadata), made and
 * grown on the host with e2fsprogs, and the guest's view of a partition copied out of the
 * device's disk (overlay.qcow2 over os_composite.vmdk) for a resize that keeps the data.
 *
 * Why the host and not the guest formats them: mke2fs runs natively in a fraction of a second
 * and writes the few MiB of metadata into the base file, which the qcow2 overlay shares; the
 * guest would format through interpreted kernel code on hosts whose KVM interprets it, and do it
 * again after every powerwash (which drops the overlay, not the base). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* Runs a tool (found in PATH, /usr/sbin or /sbin) to completion; an exit status above max_ok
 * (0 for most tools; e2fsck's "errors corrected" is 1 or 2) is an error naming file and the
 * tool's first stderr line. */
bool data_image_run_tool(const char *file, char **argv, int max_ok, GError **error);

/* Makes an empty ext4 of size bytes labelled label in path (a new, zero-filled file: its
 * inode tables are marked zeroed without being written where e2fsprogs can, 1.47 and later,
 * so the image stays sparse and the guest kernel has nothing to zero). */
bool data_image_make_ext4(const char *path, uint64_t size, const char *label, GError **error);

/* Whether path starts with an ext2/3/4 superblock (magic 0xEF53 at byte 1080). */
bool data_image_is_ext4(const char *path);

/* Grows the ext4 in path (a copy the caller owns) to size bytes: truncate, e2fsck -fy,
 * resize2fs. name is the image the errors name. */
bool data_image_grow_ext4(const char *path, uint64_t size, const char *name, GError **error);

/* Copies the partition partname of the disk image disk (as the guest sees it, through the
 * overlay) into fd from offset 0, leaving all-zero stretches as holes. *size_out gets the
 * partition's size. */
bool data_image_copy_partition(const char *disk, const char *partname, int fd, const char *dest_name,
			       uint64_t *size_out, GError **error);
