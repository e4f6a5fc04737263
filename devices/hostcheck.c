#include "devices/hostcheck.h"

#include <string.h>
#include <unistd.h>

static const char *reason = "";

/* Which of vmx or svm /proc/cpuinfo's first flags line names, or NULL for neither. NULL
 * with *unknown set when the file or its flags line cannot be read. */
static const char *host_hw_virt_flag(bool *unknown)
{
	g_autofree gchar *cpuinfo = NULL;
	*unknown = false;
	if (!g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL)) {
		*unknown = true;
		return NULL;
	}
	const char *flags = strstr(cpuinfo, "\nflags");
	if (!flags) {
		*unknown = true;
		return NULL;
	}
	const char *end = strchr(flags + 1, '\n');
	g_autofree gchar *line = g_strndup(flags, end ? (gsize)(end - flags) : strlen(flags));
	g_strdelimit(line, "\t", ' ');
	g_autofree gchar *padded = g_strconcat(line, " ", NULL);
	if (strstr(padded, " vmx "))
		return "vmx";
	if (strstr(padded, " svm "))
		return "svm";
	return NULL;
}

bool hostcheck_interpreting(enum vm_fallback_mode mode)
{
	if (mode == FALLBACK_ON) {
		reason = "forced by --emulation-fallback=on";
		return true;
	}
	if (mode == FALLBACK_OFF) {
		reason = "--emulation-fallback=off";
		return false;
	}
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		reason = "the kvm_pvm module serves /dev/kvm";
		return true;
	}
	bool unknown;
	const char *flag = host_hw_virt_flag(&unknown);
	if (unknown) {
		reason = "taken for a hardware-virtualisation host: /proc/cpuinfo names no CPU flags";
		return false;
	}
	if (!flag) {
		reason = "/dev/kvm works but the CPU has neither vmx nor svm";
		return true;
	}
	reason = strcmp(flag, "vmx") == 0 ? "a hardware-virtualisation host: the CPU has vmx (Intel VT-x)"
					  : "a hardware-virtualisation host: the CPU has svm (AMD-V)";
	return false;
}

const char *hostcheck_reason(void) { return reason; }

/* KVM_SET_CPUID2 does not reach the guest's CPUID on such hosts, so the kernel is told
 * on its command line: no XSAVE (xrstor and AVX state), no SMAP (stac/clac on every user
 * copy), none of the instructions the interpreter refuses (popcnt, cmpxchg16b), no
 * SSSE3/SSE4/AES-NI/SHA (the kernel's SIMD crypto, e.g. the RNG's BLAKE2s, would run
 * instruction by instruction through the fallback emulator), no KASLR (relocating the
 * kernel is millions of interpreted instructions), no lockup watchdog and no RCU stall
 * warnings (interpreted kernel code is slow enough to trip both; a stall warning's NMI
 * backtraces enter the kernel through paranoid_entry, whose `lsl` the interpreter refuses:
 * seen in a boot on a loaded host, stopped after 891 s).
 * Guest user space still runs on the host CPU with the host's XCR0, so AVX and AVX-512
 * work there, but a kernel without XSAVE switches only the x87/SSE state between
 * processes: measured, three processes that yield to each other on one vCPU found their
 * ymm upper halves changed in 76-91% of 300 rounds. glibc's string functions use those
 * registers (a copy preempted half-way can come out wrong, which fits the SIGSEGVs of
 * static busybox seen in CI), so the kernel also hands init an environment variable
 * that keeps glibc to SSE. Programs built on other C libraries are not covered. */
static const char *const interpreting_host_flags[] = {
	"noxsave",
	"nosmap",
	"nokaslr",
	"nowatchdog",
	"rcupdate.rcu_cpu_stall_suppress=1",
	"clearcpuid=popcnt,cx16,ssse3,sse4_1,sse4_2,avx,avx2,avx512f,aes,pclmulqdq,sha_ni,rdrand,rdseed",
	"GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD,"
	"-AVX_Fast_Unaligned_Load",
};

bool kernel_cmdline_has(const char *cmdline, const char *key)
{
	size_t n = strlen(key);
	for (const char *p = cmdline; (p = strstr(p, key)); p += n) {
		bool starts = p == cmdline || p[-1] == ' ' || p[-1] == '\t';
		bool ends = p[n] == '\0' || p[n] == '=' || p[n] == ' ' || p[n] == '\t';
		if (starts && ends)
			return true;
	}
	return false;
}

void hostcheck_append_cmdline(GString *cmdline)
{
	GString *added = g_string_new(NULL);
	for (unsigned int i = 0; i < G_N_ELEMENTS(interpreting_host_flags); i++) {
		const char *flag = interpreting_host_flags[i];
		g_autofree gchar *key = g_strdup(flag);
		char *eq = strchr(key, '=');
		if (eq)
			*eq = '\0';
		/* A flag the user already gave keeps the user's value. */
		if (kernel_cmdline_has(cmdline->str, key))
			continue;
		g_string_append_printf(cmdline, "%s%s", cmdline->len ? " " : "", flag);
		g_string_append_printf(added, " %s", flag);
	}
	if (added->len)
		g_message("vm: added to the kernel command line for this host:%s", added->str);
	g_string_free(added, TRUE);
}
