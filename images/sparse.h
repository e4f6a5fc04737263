/* images/sparse.h — Android sparse images (libsparse format) expanded to raw images.
 *
 * Format facts (AOSP libsparse sparse_format.h), all little-endian:
 *   file header (file_hdr_sz >= 28 bytes): magic 0xed26ff3a, major 1, minor, file_hdr_sz,
 *     chunk_hdr_sz, blk_sz (multiple of 4), total_blks, total_chunks, image_checksum;
 *   then total_chunks chunks, each a header (chunk_hdr_sz >= 12 bytes: type, reserved, chunk_sz in
 *   blocks, total_sz in bytes including the header) and its data:
 *     RAW 0xCAC1 chunk_sz*blk_sz bytes, FILL 0xCAC2 a 4-byte pattern, DONT_CARE 0xCAC3 nothing,
 *     CRC32 0xCAC4 the 4-byte CRC-32 of all output so far (DONT_CARE counted as zeros).
 *
 * Expansion streams: the input is read once, front to back (a pipe works), and the output is
 * written as it goes. Into a regular file DONT_CARE blocks (and zero FILLs) become holes; into
 * anything else (pipe, block device) they are written as zeros. CRC32 chunks are verified. */
#pragma once

#include "images/common.h"

#define SEPIA_SPARSE_MAGIC             0xed26ff3au
#define SEPIA_SPARSE_HEADER_SIZE       28
#define SEPIA_SPARSE_CHUNK_HEADER_SIZE 12

typedef enum {
	SEPIA_SPARSE_CHUNK_RAW = 0xCAC1,
	SEPIA_SPARSE_CHUNK_FILL = 0xCAC2,
	SEPIA_SPARSE_CHUNK_DONT_CARE = 0xCAC3,
	SEPIA_SPARSE_CHUNK_CRC32 = 0xCAC4,
} SepiaSparseChunkType;

typedef struct {
	uint16_t major_version, minor_version;
	uint32_t blk_sz, total_blks, total_chunks, image_checksum;
	uint64_t raw_size;   /* blk_sz * total_blks: the expanded size */
	uint64_t data_bytes; /* bytes written from RAW and non-zero FILL chunks */
	uint64_t hole_bytes; /* bytes from DONT_CARE and zero FILL chunks */
	uint32_t crc_chunks; /* CRC32 chunks checked */
} SepiaSparseInfo;

/* True when the first four bytes are the sparse magic. */
bool sepia_sparse_is_sparse_buffer(const void *data, gsize len);
/* True when the file starts with the sparse magic; false if not or unreadable. */
bool sepia_sparse_is_sparse_file(const char *path);

/* Expand from an input fd (read sequentially) to out_fd. A regular out_fd is truncated first
 * and ends up exactly raw_size long. out_fd < 0 only validates (every chunk and CRC is checked,
 * nothing written). max_raw_size, if non-zero, refuses images that expand beyond it. `in_name`
 * names the input in errors. info may be NULL. */
bool sepia_sparse_expand_fd(int in_fd, const char *in_name, int out_fd, uint64_t max_raw_size,
			    SepiaSparseInfo *info, GError **error);
bool sepia_sparse_expand_buffer(const void *data, gsize len, const char *name, int out_fd,
				uint64_t max_raw_size, SepiaSparseInfo *info, GError **error);
/* Path to path, through a temp file beside out_path renamed on success (nothing half-written). */
bool sepia_sparse_expand_file(const char *in_path, const char *out_path, uint64_t max_raw_size,
			      SepiaSparseInfo *info, GError **error);
