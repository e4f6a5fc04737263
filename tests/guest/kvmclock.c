/* kvmclock: what the hypervisor's CPUID leaves offer this guest, and, where they offer
 * kvm-clock, that the clock works: the per-vCPU time page (MSR_KVM_SYSTEM_TIME_NEW) is
 * filled in and goes forward, and the wall-clock page gives a date after 2020.
 *
 * Prints "guest: info kvm-clock offered" or "guest: info kvm-clock not offered"; the runner
 * holds that against what sepia-vmm's log says it chose for this host, and the date against
 * the host's. Where nothing is offered there is nothing more to test: the payload skips. */
#include "pvclock.h"

#define SECONDS_2020_01_01 1577836800u

static struct pvclock_vcpu_time_info time_page __attribute__((aligned(64)));
static struct pvclock_wall_clock wall_page __attribute__((aligned(16)));

int main(void)
{
	char sig[13];
	uint32_t max_leaf, features;
	bool offered = pvclock_offered(sig, &max_leaf, &features);
	gk_printf("guest: info CPUID 0x40000000: max leaf 0x%x, signature \"%s\"; 0x40000001 eax 0x%x\n",
		  max_leaf, sig, features);
	gk_printf("guest: info kvm-clock %s\n", offered ? "offered" : "not offered");
	if (!offered)
		skip("the hypervisor offers no kvm-clock here");
	check(true, "the hypervisor offers kvm-clock (KVMKVMKVM, 0x40000001 bit 3)");

	pv_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&time_page | 1);
	uint32_t v1, v2;
	uint64_t t1 = pvclock_read_ns(&time_page, &v1);
	check(v1 != 0 && time_page.tsc_to_system_mul != 0,
	      "MSR_KVM_SYSTEM_TIME_NEW: the time page is filled in (version %u, mul %u, shift %d)", v1,
	      time_page.tsc_to_system_mul, time_page.tsc_shift);
	gk_printf("guest: info time page flags 0x%x (TSC stable: %s; 0x40000001 stable bit: %s)\n",
		  time_page.flags, (time_page.flags & PVCLOCK_TSC_STABLE_BIT) ? "yes" : "no",
		  (features & (1u << KVM_FEATURE_STABLE_BIT)) ? "yes" : "no");
	/* Ten million TSC cycles: some milliseconds on any host, no timing assumed. */
	uint64_t until = pv_rdtsc() + 10000000;
	while (pv_rdtsc() < until)
		cpu_relax();
	uint64_t t2 = pvclock_read_ns(&time_page, &v2);
	check(t2 > t1, "kvm-clock goes forward (%llu ns, then %llu ns)", (unsigned long long)t1,
	      (unsigned long long)t2);

	uint64_t now = pvclock_now_s(&wall_page, &time_page);
	check((wall_page.version & 1) == 0 && wall_page.sec != 0,
	      "MSR_KVM_WALL_CLOCK_NEW: the boot time is filled in (%u s since 1970)", wall_page.sec);
	check(now >= SECONDS_2020_01_01, "kvm-clock's date is after 2020 (%llu s since 1970)",
	      (unsigned long long)now);
	gk_printf("guest: info wall clock now %llu s since 1970\n", (unsigned long long)now);

	pv_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	finish();
}
