/* kvmclock: what the hypervisor's CPUID leaves offer this guest, and, where they offer
 * kvm-clock, that the clock works: the per-vCPU time page (MSR_KVM_SYSTEM_TIME_NEW) is
 * filled in and goes forward, the wall-clock page gives a plausible date.
 *
 * Prints "guest: info kvm-clock offered" or "guest: info kvm-clock not offered" so the
 * runner can hold the answer against what sepia-vmm chose for this host. With
 * "expect=offered" on the command line a missing kvm-clock is a failed check; without
 * it the payload skips when there is nothing to test. */
#include "lib.h"

#define CPUID_KVM_SIGNATURE      0x40000000u
#define CPUID_KVM_FEATURES       0x40000001u
#define KVM_FEATURE_CLOCKSOURCE  0
#define KVM_FEATURE_CLOCKSOURCE2 3
#define KVM_FEATURE_STABLE_BIT   24
#define MSR_KVM_WALL_CLOCK_NEW   0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW  0x4b564d01u
#define PVCLOCK_TSC_STABLE_BIT   (1u << 0)
#define SECONDS_2020_01_01       1577836800u

/* The layouts KVM fills in (Linux's pvclock-abi.h). */
struct pvclock_vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

struct pvclock_wall_clock {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
} __attribute__((packed));

static struct pvclock_vcpu_time_info time_page __attribute__((aligned(64)));
static struct pvclock_wall_clock wall_page __attribute__((aligned(16)));

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Nanoseconds since the guest's boot, as Linux's pvclock_clocksource_read computes them. */
static uint64_t kvmclock_read_ns(uint32_t *version_seen)
{
	volatile struct pvclock_vcpu_time_info *t = &time_page;
	uint32_t version;
	uint64_t ns;
	do {
		version = t->version;
		barrier();
		uint64_t delta = rdtsc() - t->tsc_timestamp;
		int8_t shift = t->tsc_shift;
		if (shift < 0)
			delta >>= -shift;
		else
			delta <<= shift;
		ns = t->system_time + (uint64_t)(((unsigned __int128)delta * t->tsc_to_system_mul) >> 32);
		barrier();
	} while ((version & 1) || version != t->version);
	*version_seen = version;
	return ns;
}

int main(void)
{
	uint32_t a, b, c, d;
	cpuid(CPUID_KVM_SIGNATURE, &a, &b, &c, &d);
	char sig[13];
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
	for (int i = 0; i < 12; i++)
		if (sig[i] && (sig[i] < 0x20 || sig[i] > 0x7e))
			sig[i] = '?';
	bool kvm = memcmp(sig, "KVMKVMKVM\0\0\0", 12) == 0 && a >= CPUID_KVM_FEATURES;
	uint32_t features = 0;
	if (kvm)
		cpuid(CPUID_KVM_FEATURES, &features, &b, &c, &d);
	gk_printf("guest: info CPUID 0x40000000: max leaf 0x%x, signature \"%s\"; 0x40000001 eax "
		  "0x%x\n",
		  a, sig, features);
	bool offered = kvm && (features & (1u << KVM_FEATURE_CLOCKSOURCE2));
	gk_printf("guest: info kvm-clock %s\n", offered ? "offered" : "not offered");
	if (!offered) {
		if (cmdline_has("expect=offered"))
			check(false, "the hypervisor offers kvm-clock (KVMKVMKVM, 0x40000001 bit 3)");
		else
			skip("the hypervisor offers no kvm-clock here");
		finish();
	}
	check(true, "the hypervisor offers kvm-clock (KVMKVMKVM, 0x40000001 bit 3)");

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&time_page | 1);
	uint32_t v1, v2;
	uint64_t t1 = kvmclock_read_ns(&v1);
	check(v1 != 0 && time_page.tsc_to_system_mul != 0,
	      "MSR_KVM_SYSTEM_TIME_NEW: the time page is filled in (version %u, mul %u, shift %d)", v1,
	      time_page.tsc_to_system_mul, time_page.tsc_shift);
	gk_printf("guest: info time page flags 0x%x (TSC stable: %s; 0x40000001 stable bit: %s)\n",
		  time_page.flags, (time_page.flags & PVCLOCK_TSC_STABLE_BIT) ? "yes" : "no",
		  (features & (1u << KVM_FEATURE_STABLE_BIT)) ? "yes" : "no");
	/* Ten million TSC cycles: some microseconds on any host, no timing assumed. */
	uint64_t until = rdtsc() + 10000000;
	while (rdtsc() < until)
		cpu_relax();
	uint64_t t2 = kvmclock_read_ns(&v2);
	check(t2 > t1, "kvm-clock goes forward (%llu ns, then %llu ns)", (unsigned long long)t1,
	      (unsigned long long)t2);

	wrmsr(MSR_KVM_WALL_CLOCK_NEW, (uint64_t)(uintptr_t)&wall_page);
	volatile struct pvclock_wall_clock *w = &wall_page;
	uint32_t sec = w->sec;
	/* The wall clock gives the boot time; what it says now adds the system time. */
	uint64_t now = sec + t2 / 1000000000u;
	check((w->version & 1) == 0 && sec >= SECONDS_2020_01_01,
	      "MSR_KVM_WALL_CLOCK_NEW: the boot time is a date after 2020 (%u s since 1970)", sec);
	gk_printf("guest: info wall clock now %llu s since 1970\n", (unsigned long long)now);

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	finish();
}
