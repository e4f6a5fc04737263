/* kvm-clock for guest-kit payloads: KVM's hypervisor CPUID leaves, its time and wall-clock
 * pages (the layouts of Linux's pvclock-abi.h) and the read Linux's pvclock does. */
#pragma once

#include "lib.h"

#define CPUID_KVM_SIGNATURE      0x40000000u
#define CPUID_KVM_FEATURES       0x40000001u
#define KVM_FEATURE_CLOCKSOURCE2 3
#define KVM_FEATURE_STABLE_BIT   24
#define MSR_KVM_WALL_CLOCK_NEW   0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW  0x4b564d01u
#define PVCLOCK_TSC_STABLE_BIT   (1u << 0)

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

static inline void pv_cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static inline void pv_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t pv_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* The hypervisor's signature (12 characters, unprintable ones as '?') and 0x40000001 EAX
 * when the signature is KVM's; returns whether it offers the new kvm-clock MSRs. */
static inline bool pvclock_offered(char sig[13], uint32_t *max_leaf, uint32_t *features)
{
	uint32_t a, b, c, d;
	pv_cpuid(CPUID_KVM_SIGNATURE, &a, &b, &c, &d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
	bool kvm = memcmp(sig, "KVMKVMKVM\0\0\0", 12) == 0 && a >= CPUID_KVM_FEATURES;
	for (int i = 0; i < 12; i++)
		if (sig[i] && (sig[i] < 0x20 || sig[i] > 0x7e))
			sig[i] = '?';
	*max_leaf = a;
	*features = 0;
	if (kvm)
		pv_cpuid(CPUID_KVM_FEATURES, features, &b, &c, &d);
	return kvm && (*features & (1u << KVM_FEATURE_CLOCKSOURCE2));
}

/* Nanoseconds since the guest's boot, as Linux's pvclock_clocksource_read computes them. */
static inline uint64_t pvclock_read_ns(const volatile struct pvclock_vcpu_time_info *t,
				       uint32_t *version_seen)
{
	uint32_t version;
	uint64_t ns;
	do {
		version = t->version;
		barrier();
		uint64_t delta = pv_rdtsc() - t->tsc_timestamp;
		int8_t shift = t->tsc_shift;
		if (shift < 0)
			delta >>= -shift;
		else
			delta <<= shift;
		ns = t->system_time + (uint64_t)(((unsigned __int128)delta * t->tsc_to_system_mul) >> 32);
		barrier();
	} while ((version & 1) || version != t->version);
	if (version_seen)
		*version_seen = version;
	return ns;
}

/* The date now, in seconds since 1970: the boot time KVM writes into the wall-clock page
 * when the MSR is written, plus the system time. */
static inline uint64_t pvclock_now_s(volatile struct pvclock_wall_clock *w,
				     const volatile struct pvclock_vcpu_time_info *t)
{
	pv_wrmsr(MSR_KVM_WALL_CLOCK_NEW, (uint64_t)(uintptr_t)w);
	uint32_t sec = w->sec;
	return sec + pvclock_read_ns(t, NULL) / 1000000000u;
}
