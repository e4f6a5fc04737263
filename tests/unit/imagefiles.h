/* Helpers for the disk image tests: private temporary directories, whole-file reads and
 * writes, running qemu-img, and a hand-made qcow2 image (so the tests that need one do not
 * depend on QEMU's tools). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAGEFILES_QCOW2_CLUSTER 65536u
#define IMAGEFILES_QCOW2_BYTES   (4 * IMAGEFILES_QCOW2_CLUSTER)

/* A new directory under $TMPDIR (prefix names it); rmtree removes it with everything inside. */
char *imagefiles_tmpdir(const char *prefix);
void imagefiles_rmtree(const char *dir);

void imagefiles_write(const char *path, const void *data, size_t len);
uint8_t *imagefiles_read(const char *path, size_t *len);
/* A file of len bytes of a pattern seeded by seed. */
void imagefiles_fill(uint8_t *buf, size_t len, uint64_t seed);

/* Whether tool is on PATH (a test message says so when not). */
bool imagefiles_have(const char *tool);
/* Runs argv (NULL-terminated); its stdout in *out (when out), its exit status returned. */
int imagefiles_run(const char *const *argv, char **out);

/* A qcow2 version 3 image of IMAGEFILES_QCOW2_BYTES (64 KiB clusters: header, L1 table,
 * refcount table, refcount block) with virtual size size and no data clusters, over
 * backing (a name as stored in the image; NULL: none) of backing_format (NULL: none). */
void imagefiles_make_qcow2(uint8_t *out, uint64_t size, const char *backing, const char *backing_format);
