/* Decompressing a bzImage's payload on the host (see unpack.c for why). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEPIA_UNPACK_ERROR (sepia_unpack_error_quark())
GQuark sepia_unpack_error_quark(void);

/* The decompressed payload (a vmlinux ELF), or NULL with error: ENOTSUP for a format
 * sepia does not decompress (the caller then lets the kernel do it), EINVAL for corrupt
 * data. *format names the format found ("lz4", "gzip") or NULL. */
GBytes *unpack_kernel_payload(const uint8_t *payload, size_t len, const char **format, GError **error);

/* One LZ4 block into out; 0 or -EINVAL when the block is corrupt or out is too small. */
int unpack_lz4_block(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len);
