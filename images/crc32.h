/* images/crc32.h — CRC-32 (IEEE 802.3, the zlib/libsparse variant) with O(log n) extension by
 * runs of zeros or of a repeated 4-byte pattern, so a sparse image that describes terabytes of
 * DONT_CARE or FILL blocks can have its CRC32 chunks checked without touching those bytes. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* crc of (previous data || buf); start with crc = 0. */
uint32_t sepia_crc32_update(uint32_t crc, const void *buf, size_t len);
/* crc of (previous data || n zero bytes). */
uint32_t sepia_crc32_zeros(uint32_t crc, uint64_t n);
/* crc of (previous data || pattern repeated count times). */
uint32_t sepia_crc32_repeat(uint32_t crc, const uint8_t pattern[4], uint64_t count);
/* crc of (A || B) given crc(A), crc(B) and the length of B. */
uint32_t sepia_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
