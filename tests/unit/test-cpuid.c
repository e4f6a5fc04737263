/* Unit tests of the CPUID each vCPU gets (devices/cpuid.c), on a table shaped like what
 * KVM_GET_SUPPORTED_CPUID returns: leaf 1, leaf 0xb, and KVM's hypervisor leaves
 * 0x40000000 (signature "KVMKVMKVM\0\0\0", EAX the highest such leaf) and 0x40000001
 * (paravirtual features in EAX, as Documentation/virt/kvm/x86/cpuid.rst lists them). */
#include <asm/kvm_para.h>
#include <string.h>

#include <glib.h>

#include "devices/cpuid.h"

#define NENT 4

struct table {
	struct kvm_cpuid2 hdr;
	struct kvm_cpuid_entry2 e[NENT];
};

/* What a KVM on a hardware host offers: every kvm-clock bit, and PV EOI, PV send-IPI and
 * steal time next to them. */
static const uint32_t KVM_FEATURES = (1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_NOP_IO_DELAY) |
				     (1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_STEAL_TIME) |
				     (1u << KVM_FEATURE_PV_EOI) | (1u << KVM_FEATURE_PV_SEND_IPI) |
				     (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);

static void table_init(struct table *t)
{
	memset(t, 0, sizeof(*t));
	t->hdr.nent = NENT;
	t->e[0] = (struct kvm_cpuid_entry2){ .function = 1, .ebx = 0xaabb0800, .edx = 0x178bfbff };
	t->e[1] = (struct kvm_cpuid_entry2){ .function = 0xb, .edx = 7 };
	t->e[2] = (struct kvm_cpuid_entry2){ .function = KVM_CPUID_SIGNATURE, .eax = KVM_CPUID_FEATURES };
	memcpy(&t->e[2].ebx, KVM_SIGNATURE, 4);
	memcpy(&t->e[2].ecx, KVM_SIGNATURE + 4, 4);
	memcpy(&t->e[2].edx, KVM_SIGNATURE + 8, 4);
	t->e[3] = (struct kvm_cpuid_entry2){ .function = KVM_CPUID_FEATURES, .eax = KVM_FEATURES };
}

static void test_apic_id(void)
{
	struct table t;
	table_init(&t);
	cpuid_adapt(&t.hdr,
		    &(struct cpuid_policy){ .index = 3, .cpus = 4, .kvm_clock = true, .kvm_pv = true });
	g_assert_cmphex(t.e[0].ebx, ==, 0x0304 << 16 | 0x0800);
	g_assert_cmphex(t.e[0].edx & (1u << 28), !=, 0);
	g_assert_cmpuint(t.e[1].edx, ==, 3);
}

static void test_kvm_clock_offered(void)
{
	struct table t;
	table_init(&t);
	g_assert_true(cpuid_offers_kvm_clock(&t.hdr));
	cpuid_adapt(&t.hdr,
		    &(struct cpuid_policy){ .index = 0, .cpus = 1, .kvm_clock = true, .kvm_pv = true });
	g_assert_cmphex(t.e[3].eax, ==, KVM_FEATURES);
	g_assert_true(cpuid_offers_kvm_clock(&t.hdr));
	/* KVM leaves the hypervisor bit to user space; without it Linux never reads 0x40000000. */
	g_assert_cmphex(t.e[0].ecx & (1u << 31), !=, 0);
}

/* Hidden: the three kvm-clock bits go, KVM's other features and its signature stay. */
static void test_kvm_clock_hidden(void)
{
	struct table t;
	table_init(&t);
	cpuid_adapt(&t.hdr,
		    &(struct cpuid_policy){ .index = 1, .cpus = 2, .kvm_clock = false, .kvm_pv = true });
	g_assert_cmphex(t.e[3].eax, ==, KVM_FEATURES & ~cpuid_kvm_clock_bits());
	g_assert_cmphex(t.e[3].eax & (1u << KVM_FEATURE_CLOCKSOURCE), ==, 0);
	g_assert_cmphex(t.e[3].eax & (1u << KVM_FEATURE_CLOCKSOURCE2), ==, 0);
	g_assert_cmphex(t.e[3].eax & (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT), ==, 0);
	g_assert_cmphex(t.e[3].eax & (1u << KVM_FEATURE_PV_EOI), !=, 0);
	g_assert_cmpmem(&t.e[2].ebx, 4, KVM_SIGNATURE, 4);
	g_assert_false(cpuid_offers_kvm_clock(&t.hdr));
	/* The APIC ID is set all the same. */
	g_assert_cmpuint(t.e[1].edx, ==, 1);
}

/* Either MSR pair is kvm-clock to Linux (the new one, bit 3, first); neither is none... */
static void test_offers_needs_signature_and_a_clocksource(void)
{
	struct table t;
	table_init(&t);
	t.e[3].eax = 1u << KVM_FEATURE_CLOCKSOURCE;
	g_assert_true(cpuid_offers_kvm_clock(&t.hdr));
	t.e[3].eax = 1u << KVM_FEATURE_CLOCKSOURCE2;
	g_assert_true(cpuid_offers_kvm_clock(&t.hdr));
	t.e[3].eax = KVM_FEATURES & ~cpuid_kvm_clock_bits();
	g_assert_false(cpuid_offers_kvm_clock(&t.hdr));
	/* ...and another hypervisor's signature is not KVM's. */
	table_init(&t);
	memcpy(&t.e[2].ebx, "Micr", 4);
	g_assert_false(cpuid_offers_kvm_clock(&t.hdr));
	/* No hypervisor leaves at all (a KVM that reports none): nothing to hide, nothing offered. */
	table_init(&t);
	t.hdr.nent = 2;
	cpuid_adapt(&t.hdr,
		    &(struct cpuid_policy){ .index = 0, .cpus = 1, .kvm_clock = false, .kvm_pv = true });
	g_assert_false(cpuid_offers_kvm_clock(&t.hdr));
	g_assert_cmphex(t.e[3].eax, ==, KVM_FEATURES); /* beyond nent: untouched */
}

/* No KVM leaves at all (the interpreting host): no signature, no features. */
static void test_kvm_pv_hidden(void)
{
	struct table t;
	table_init(&t);
	cpuid_adapt(&t.hdr,
		    &(struct cpuid_policy){ .index = 0, .cpus = 2, .kvm_clock = false, .kvm_pv = false });
	g_assert_cmphex(t.e[2].ebx | t.e[2].ecx | t.e[2].edx | t.e[2].eax, ==, 0);
	g_assert_cmphex(t.e[3].eax, ==, 0);
	g_assert_false(cpuid_offers_kvm_clock(&t.hdr));
	g_assert_cmphex(t.e[0].ebx >> 16, ==, 0x0002);
	/* ...and no hypervisor bit pointing at them. */
	t.e[0].ecx |= 1u << 31;
	cpuid_adapt(&t.hdr,
		    &(struct cpuid_policy){ .index = 0, .cpus = 2, .kvm_clock = false, .kvm_pv = false });
	g_assert_cmphex(t.e[0].ecx & (1u << 31), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cpuid/apic-id", test_apic_id);
	g_test_add_func("/cpuid/kvm-clock-offered", test_kvm_clock_offered);
	g_test_add_func("/cpuid/kvm-clock-hidden", test_kvm_clock_hidden);
	g_test_add_func("/cpuid/kvm-pv-hidden", test_kvm_pv_hidden);
	g_test_add_func("/cpuid/offers-needs-signature-and-a-clocksource",
			test_offers_needs_signature_and_a_clocksource);
	return g_test_run();
}
