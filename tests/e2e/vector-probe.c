/* vector-probe: do glibc's string functions in this process use the AVX registers?
 * Sets ymm7's upper half (code with VEX encodings ends with vzeroupper, which clears it)
 * and ymm16 (the registers of glibc's EVEX variants) to a pattern, calls memcpy, memset,
 * memchr, strlen and strcmp, and reads both back. A guest kernel booted with noxsave
 * cannot keep these registers across context switches, so on such a guest no process
 * may use them (sepia's interpreting-host workarounds tell glibc so through
 * GLIBC_TUNABLES). Exit status: 0 kept, 1 changed, 2 the CPU or OS offers no AVX. */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t xcr0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

int main(void)
{
	static char src[8192], dst[8192];
	static const uint64_t pattern = 0x5e9a5e9a12345678ull;
	void *(*volatile copy)(void *, const void *, size_t) = memcpy;
	void *(*volatile fill)(void *, int, size_t) = memset;
	void *(*volatile find)(const void *, int, size_t) = memchr;
	size_t (*volatile length)(const char *) = strlen;
	int (*volatile compare)(const char *, const char *) = strcmp;
	unsigned int a, b, c, d;
	uint64_t upper7[2], zmm16[4];
	int avx512 = 0;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX) || (xcr0() & 6) != 6) {
		printf("vector-probe: no AVX offered to this process\n");
		return 2;
	}
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX512F) && (b & bit_AVX512VL) &&
	    (xcr0() & 0xe6) == 0xe6)
		avx512 = 1;
	memset(src, 'x', sizeof(src) - 1);
	memset(dst, 'y', sizeof(dst) - 1);

	__asm__ volatile("vbroadcastsd %0, %%ymm7" ::"m"(pattern) : "xmm7");
	if (avx512)
		__asm__ volatile("vpbroadcastq %0, %%ymm16" ::"m"(pattern));
	copy(dst, src, sizeof(dst) - 1);
	fill(src, 'z', 4000);
	size_t n = length(dst);
	const char *hit = find(src, 'x', sizeof(src));
	int order = compare(src, dst);
	__asm__ volatile("vextractf128 $1, %%ymm7, %%xmm7\n\tvmovdqu %%xmm7, %0" : "=m"(upper7)::"xmm7");
	if (avx512)
		__asm__ volatile("vmovdqu64 %%ymm16, %0" : "=m"(zmm16));

	int kept7 = upper7[0] == pattern && upper7[1] == pattern;
	int kept16 = !avx512 || (zmm16[0] == pattern && zmm16[1] == pattern && zmm16[2] == pattern &&
				 zmm16[3] == pattern);
	printf("vector-probe: ymm7 upper half %s, ymm16 %s (strlen %zu, memchr at %td, strcmp %d)\n",
	       kept7 ? "kept" : "changed",
	       !avx512  ? "not offered"
	       : kept16 ? "kept"
			: "changed",
	       n, hit ? hit - src : -1,
	       order > 0   ? 1
	       : order < 0 ? -1
			   : 0);
	return kept7 && kept16 ? 0 : 1;
}
