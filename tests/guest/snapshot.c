/* snapshot: state that must survive a snapshot and a restore into a new sepia-vmm. A LAPIC
 * timer in periodic mode (vector 0x43) counts ticks in its handler; the main loop sleeps
 * (sti; hlt) and prints "tick N" on every new tick until it reaches `ticks=` (default 40).
 * The host takes a snapshot part-way, ends that sepia-vmm and restores the snapshot in
 * another: the count must go on from where it was (no "tick 1" again), the timer must keep
 * firing, a megabyte filled with a pattern at the start must read back intact, and the TSC
 * must not have gone backwards. Where the hypervisor offers kvm-clock, it is on from the start:
 * it must not go backwards either, and after the restore the date it gives ("kvm-clock date")
 * must be the host's. The runner (snapshot.sh) checks the serial logs. */
#include "lib.h"
#include "pvclock.h"

#define VEC_TICK         0x43
#define LAPIC_LVT_TIMER  0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV  0x3e0
#define LVT_PERIODIC     (1u << 17)
#define PATTERN_WORDS    (1u << 17) /* 1 MiB of 64-bit words */

static volatile uint32_t ticks;
static struct pvclock_vcpu_time_info time_page __attribute__((aligned(64)));
static struct pvclock_wall_clock wall_page __attribute__((aligned(16)));
static uint64_t pattern[PATTERN_WORDS];

static void on_tick(struct irq_frame *f)
{
	ticks++;
	lapic_eoi();
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t pattern_word(uint64_t i) { return (i * 0x9e3779b97f4a7c15ULL) ^ 0x5e9a5e9a5e9a5e9aULL; }

int main(void)
{
	uint32_t target = (uint32_t)cmdline_num("ticks", 40);
	for (uint64_t i = 0; i < PATTERN_WORDS; i++)
		pattern[i] = pattern_word(i);
	pic_mask_all();
	lapic_enable();
	irq_set_handler(VEC_TICK, on_tick);
	/* About 50 ms a tick at KVM's 1 GHz APIC clock: divide by 16, 3125000 counts. */
	mmio_write32(GK_LAPIC + LAPIC_TIMER_DIV, 0x3);
	mmio_write32(GK_LAPIC + LAPIC_LVT_TIMER, LVT_PERIODIC | VEC_TICK);
	mmio_write32(GK_LAPIC + LAPIC_TIMER_INIT, 3125000);
	char sig[13];
	uint32_t max_leaf, features;
	bool kvmclock = pvclock_offered(sig, &max_leaf, &features);
	if (kvmclock)
		pv_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&time_page | 1);
	uint64_t last_ns = kvmclock ? pvclock_read_ns(&time_page, NULL) : 0;
	bool kvmclock_monotonic = true;
	uint32_t seen = 0;
	uint64_t last_tsc = rdtsc();
	bool tsc_monotonic = true;
	while (seen < target) {
		sti_hlt();
		cli();
		if (ticks != seen) {
			seen = ticks;
			gk_printf("tick %u\n", seen);
			uint64_t now = rdtsc();
			tsc_monotonic &= now >= last_tsc;
			last_tsc = now;
			if (kvmclock) {
				uint64_t ns = pvclock_read_ns(&time_page, NULL);
				kvmclock_monotonic &= ns >= last_ns;
				last_ns = ns;
			}
		}
	}
	mmio_write32(GK_LAPIC + LAPIC_TIMER_INIT, 0);
	uint64_t bad = 0;
	for (uint64_t i = 0; i < PATTERN_WORDS; i++)
		bad += pattern[i] != pattern_word(i);
	check(bad == 0, "the 1 MiB pattern reads back intact (%lu words differ)", bad);
	check(tsc_monotonic, "the TSC never went backwards");
	check(seen >= target, "counted to %u ticks", seen);
	if (kvmclock) {
		check(kvmclock_monotonic, "kvm-clock never went backwards");
		gk_printf("kvm-clock date %llu\n", (unsigned long long)pvclock_now_s(&wall_page, &time_page));
		pv_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	} else {
		gk_printf("guest: info kvm-clock not offered (signature \"%s\")\n", sig);
	}
	return 0;
}
