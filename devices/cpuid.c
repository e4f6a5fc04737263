#include "devices/cpuid.h"

#include <asm/kvm_para.h>
#include <string.h>

#define CPUID_HTT        (1u << 28) /* leaf 1 EDX: the logical processor count in EBX is valid */
#define CPUID_HYPERVISOR (1u << 31) /* leaf 1 ECX: running under a hypervisor (0x40000000 is it) */

uint32_t cpuid_kvm_clock_bits(void)
{
	return (1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_CLOCKSOURCE2) |
	       (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);
}

/* The entry for a leaf (index 0), or -1. */
static int cpuid_find(const struct kvm_cpuid2 *cpuid, uint32_t function)
{
	for (uint32_t i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == function)
			return (int)i;
	return -1;
}

static bool cpuid_is_kvm_signature(const struct kvm_cpuid_entry2 *e)
{
	char sig[12];
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	return memcmp(sig, KVM_SIGNATURE, sizeof(sig)) == 0 && e->eax >= KVM_CPUID_FEATURES;
}

void cpuid_adapt(struct kvm_cpuid2 *cpuid, const struct cpuid_policy *policy)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		if (e->function == 1) {
			e->ebx = (e->ebx & 0x0000ffff) | (policy->index << 24) | (policy->cpus << 16);
			e->edx |= CPUID_HTT;
			/* KVM leaves this bit to user space. Without it Linux never looks at
			 * 0x40000000 (kvm_para_available), so it would find neither kvm-clock
			 * nor any other of KVM's features that the leaves below offer. */
			if (policy->kvm_pv)
				e->ecx |= CPUID_HYPERVISOR;
			else
				e->ecx &= ~CPUID_HYPERVISOR;
		} else if (e->function == 0xb) {
			e->edx = policy->index; /* x2APIC ID */
		}
	}
	/* A guest that finds no kvm-clock bit keeps its TSC (Linux: kvmclock_init() returns
	 * before touching the MSRs), whatever else KVM's leaves offer it. */
	int features = cpuid_find(cpuid, KVM_CPUID_FEATURES);
	if (!policy->kvm_clock && features >= 0)
		cpuid->entries[features].eax &= ~cpuid_kvm_clock_bits();
	/* No KVM at all: the guest finds no hypervisor signature and uses none of KVM's
	 * paravirtual features (PV IPIs, PV EOI, steal time, ...). */
	int sig = cpuid_find(cpuid, KVM_CPUID_SIGNATURE);
	if (!policy->kvm_pv && sig >= 0)
		cpuid->entries[sig].eax = cpuid->entries[sig].ebx = cpuid->entries[sig].ecx =
			cpuid->entries[sig].edx = 0;
	if (!policy->kvm_pv && features >= 0)
		cpuid->entries[features].eax = cpuid->entries[features].edx = 0;
}

bool cpuid_offers_kvm_clock(const struct kvm_cpuid2 *cpuid)
{
	int sig = cpuid_find(cpuid, KVM_CPUID_SIGNATURE);
	int features = cpuid_find(cpuid, KVM_CPUID_FEATURES);
	return sig >= 0 && features >= 0 && cpuid_is_kvm_signature(&cpuid->entries[sig]) &&
	       (cpuid->entries[features].eax &
		((1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_CLOCKSOURCE2)));
}
