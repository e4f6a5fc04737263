/* images/overlay.h — an empty qcow2 (version 3) image over a backing file, so the guest's writes
 * land in the overlay and the backing file (the composite disk and its inputs) is never written.
 *
 * The image is: header cluster (header, backing-format extension, backing file name), one
 * refcount-table cluster, one refcount block (16-bit refcounts) and the L1 table, all zeroed L1
 * entries; 64 KiB clusters. That is what `qemu-img create -f qcow2 -b <backing> -F <fmt>` makes. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define OVERLAY_CLUSTER_BITS 16u

/* Creates path (replacing it atomically: temp file + rename) as an empty qcow2 over backing.
 * backing is stored as given (QEMU and sepia resolve a relative name against path's directory);
 * backing_format ("vmdk", "raw", "qcow2") goes in the backing-format header extension, or none
 * when NULL. size is the virtual size in bytes (a multiple of 512, normally the backing file's). */
bool overlay_create(const char *path, const char *backing, const char *backing_format, uint64_t size,
		    GError **error);

/* Powerwash: deletes path if it exists, then overlay_create. */
bool overlay_recreate(const char *path, const char *backing, const char *backing_format, uint64_t size,
		      GError **error);
