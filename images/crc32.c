/* images/crc32.c — table-driven CRC-32 plus GF(2) arithmetic for zero/pattern runs.
 *
 * Registers use the reflected representation (bit 31 is the coefficient of x^0), so feeding one
 * zero byte into the raw register multiplies it by x^8 modulo the CRC polynomial; n zero bytes
 * multiply it by x^(8n), which square-and-multiply computes in O(log n). */
#include "images/crc32.h"

#include <glib.h>

#define CRC32_POLY_REFLECTED 0xEDB88320u

static uint32_t crc_table[256];
static uint32_t x8_pow2_table[64]; /* x^(8 * 2^k) mod P */

/* a * b mod P, both reflected. */
static uint32_t gf2_mul(uint32_t a, uint32_t b)
{
	uint32_t prod = 0;
	for (uint32_t m = 1u << 31; m; m >>= 1) {
		if (a & m)
			prod ^= b;
		b = (b & 1) ? (b >> 1) ^ CRC32_POLY_REFLECTED : b >> 1;
	}
	return prod;
}

static void crc32_init_tables(void)
{
	static gsize done;
	if (!g_once_init_enter(&done))
		return;
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32_POLY_REFLECTED : c >> 1;
		crc_table[i] = c;
	}
	x8_pow2_table[0] = 1u << (31 - 8); /* x^8 */
	for (int k = 1; k < 64; k++)
		x8_pow2_table[k] = gf2_mul(x8_pow2_table[k - 1], x8_pow2_table[k - 1]);
	g_once_init_leave(&done, 1);
}

/* x^(8n) mod P. */
static uint32_t x8n(uint64_t n)
{
	uint32_t r = 1u << 31; /* x^0 */
	for (int k = 0; n; k++, n >>= 1)
		if (n & 1)
			r = gf2_mul(r, x8_pow2_table[k]);
	return r;
}

uint32_t sepia_crc32_update(uint32_t crc, const void *buf, size_t len)
{
	crc32_init_tables();
	const uint8_t *p = buf;
	uint32_t c = ~crc;
	while (len--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

uint32_t sepia_crc32_zeros(uint32_t crc, uint64_t n)
{
	crc32_init_tables();
	return ~gf2_mul(x8n(n), ~crc);
}

uint32_t sepia_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
	crc32_init_tables();
	return gf2_mul(x8n(len_b), crc_a) ^ crc_b;
}

uint32_t sepia_crc32_repeat(uint32_t crc, const uint8_t pattern[4], uint64_t count)
{
	/* Binary doubling: `unit` is the crc of the pattern repeated 2^k times. */
	uint32_t unit = sepia_crc32_update(0, pattern, 4), acc = 0;
	uint64_t unit_len = 4, acc_len = 0;
	while (count) {
		if (count & 1) {
			acc = sepia_crc32_combine(acc, unit, unit_len);
			acc_len += unit_len;
		}
		count >>= 1;
		if (count) {
			unit = sepia_crc32_combine(unit, unit, unit_len);
			unit_len *= 2;
		}
	}
	return sepia_crc32_combine(crc, acc, acc_len);
}
