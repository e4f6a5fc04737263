/* The CPUID each vCPU is given: what KVM supports, with the vCPU's own APIC ID, and the
 * KVM paravirtual clock (kvm-clock) in the hypervisor leaves only where the host runs it.
 * Pure functions over a struct kvm_cpuid2, so the unit tests need no /dev/kvm. */
#pragma once

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

/* --kvm-clock: AUTO offers it where the host runs it (not on an interpreting host). */
enum vm_kvm_clock_mode { KVMCLOCK_MODE_AUTO, KVMCLOCK_MODE_ON, KVMCLOCK_MODE_OFF };

/* 0x40000001 EAX bits that make up kvm-clock: the old and new MSR pairs and the pvclock
 * "TSC stable" flag's meaning. */
uint32_t cpuid_kvm_clock_bits(void);

struct cpuid_policy {
	unsigned int index; /* the vCPU: its APIC ID */
	unsigned int cpus;  /* how many the VM has */
	bool kvm_clock;     /* leave kvm-clock in 0x40000001 as KVM offers it */
	bool kvm_pv;        /* leave KVM's signature and paravirtual features in at all */
};

/* Adapts KVM_GET_SUPPORTED_CPUID's answer for one vCPU under the policy. */
void cpuid_adapt(struct kvm_cpuid2 *cpuid, const struct cpuid_policy *policy);

/* Whether the entries offer kvm-clock: KVM's signature leaf, and CLOCKSOURCE2 or CLOCKSOURCE
 * in its features leaf (Linux takes either MSR pair). */
bool cpuid_offers_kvm_clock(const struct kvm_cpuid2 *cpuid);
