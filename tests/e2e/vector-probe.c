/* vector-probe: do glibc's string functions in this process use the AVX registers?
 * Sets ymm7's upper half (code with VEX encodings ends with vzeroupper, which clears it)
 * and ymm16 (the registers of glibc's EVEX variants) to a pattern, calls memcpy, memset,
 * memchr, strlen and strcmp, and reads both back. A guest kernel booted with noxsave
 * cannot keep these registers across context switches, so on such a guest no process
 * may use them (sepia's interpreting-host workarounds tell glibc so through
 * GLIBC_TUNABLES). Exit status: 0 kept, 1 changed, 2 the CPU or OS offers no AVX.
 *
 * `vector-probe switch [ROUNDS]` asks the question a kernel that does switch the AVX state
 * (XSAVE) must answer yes to, where glibc may use those registers: does each process keep
 * them across context switches? Three processes fill ymm0-ymm15 with patterns of their own,
 * give up the CPU (sched_yield) and read all sixteen back, ROUNDS times (default 300). Same
 * exit statuses. */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t xcr0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static int avx_offered(void)
{
	unsigned int a, b, c, d;
	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE) && (c & bit_AVX) && (xcr0() & 6) == 6;
}

/* One round: ymm0-ymm15 loaded from `in` (16 x 32 bytes), the CPU given up, the registers
 * stored to `out`. One asm statement, so that no compiled code runs between the load and the
 * store; the system call is made here rather than through libc for the same reason. */
static void switch_round(const uint64_t in[64], uint64_t out[64])
{
	long ret = SYS_sched_yield;
	__asm__ volatile("vmovdqu 0(%1), %%ymm0\n\tvmovdqu 32(%1), %%ymm1\n\t"
			 "vmovdqu 64(%1), %%ymm2\n\tvmovdqu 96(%1), %%ymm3\n\t"
			 "vmovdqu 128(%1), %%ymm4\n\tvmovdqu 160(%1), %%ymm5\n\t"
			 "vmovdqu 192(%1), %%ymm6\n\tvmovdqu 224(%1), %%ymm7\n\t"
			 "vmovdqu 256(%1), %%ymm8\n\tvmovdqu 288(%1), %%ymm9\n\t"
			 "vmovdqu 320(%1), %%ymm10\n\tvmovdqu 352(%1), %%ymm11\n\t"
			 "vmovdqu 384(%1), %%ymm12\n\tvmovdqu 416(%1), %%ymm13\n\t"
			 "vmovdqu 448(%1), %%ymm14\n\tvmovdqu 480(%1), %%ymm15\n\t"
			 "syscall\n\t"
			 "vmovdqu %%ymm0, 0(%2)\n\tvmovdqu %%ymm1, 32(%2)\n\t"
			 "vmovdqu %%ymm2, 64(%2)\n\tvmovdqu %%ymm3, 96(%2)\n\t"
			 "vmovdqu %%ymm4, 128(%2)\n\tvmovdqu %%ymm5, 160(%2)\n\t"
			 "vmovdqu %%ymm6, 192(%2)\n\tvmovdqu %%ymm7, 224(%2)\n\t"
			 "vmovdqu %%ymm8, 256(%2)\n\tvmovdqu %%ymm9, 288(%2)\n\t"
			 "vmovdqu %%ymm10, 320(%2)\n\tvmovdqu %%ymm11, 352(%2)\n\t"
			 "vmovdqu %%ymm12, 384(%2)\n\tvmovdqu %%ymm13, 416(%2)\n\t"
			 "vmovdqu %%ymm14, 448(%2)\n\tvmovdqu %%ymm15, 480(%2)\n\t"
			 "vzeroupper"
			 : "+a"(ret)
			 : "r"(in), "r"(out)
			 : "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
			   "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

/* Rounds in which a register came back changed, for the process with pattern seed `seed`. */
static int switch_rounds(uint64_t seed, int rounds)
{
	uint64_t in[64], out[64];
	int changed = 0;
	for (int i = 0; i < 64; i++)
		in[i] = (seed << 32) ^ (0x9e3779b97f4a7c15ull * (uint64_t)(i + 1));
	for (int r = 0; r < rounds; r++) {
		switch_round(in, out);
		if (memcmp(in, out, sizeof(in)) != 0)
			changed++;
	}
	return changed;
}

static int switch_probe(int rounds)
{
	enum { PROCESSES = 3 };
	pid_t child[PROCESSES - 1];
	int changed = 0, lost = 0;

	if (!avx_offered()) {
		printf("vector-probe switch: no AVX offered to this process\n");
		return 2;
	}
	fflush(stdout);
	for (int p = 0; p < PROCESSES - 1; p++) {
		child[p] = fork();
		if (child[p] == 0)
			_exit(switch_rounds((uint64_t)p + 2, rounds) > 0 ? 1 : 0);
		if (child[p] < 0)
			lost++;
	}
	changed = switch_rounds(1, rounds);
	int processes_changed = changed > 0;
	for (int p = 0; p < PROCESSES - 1; p++) {
		int status;
		if (child[p] < 0)
			continue;
		if (waitpid(child[p], &status, 0) != child[p] || !WIFEXITED(status))
			lost++;
		else if (WEXITSTATUS(status) != 0)
			processes_changed++;
	}
	if (lost) {
		printf("vector-probe switch: %d of %d processes did not run to the end\n", lost, PROCESSES);
		return 1;
	}
	printf("vector-probe switch: ymm0-ymm15 %s across %d yields in each of %d processes "
	       "(%d of %d processes saw a change; %d of the parent's rounds)\n",
	       processes_changed ? "changed" : "kept", rounds, PROCESSES, processes_changed, PROCESSES,
	       changed);
	return processes_changed ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "switch") == 0)
		return switch_probe(argc > 2 ? atoi(argv[2]) > 0 ? atoi(argv[2]) : 300 : 300);

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
