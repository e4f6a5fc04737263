/* Fallback instruction emulator for hosts whose KVM interprets guest kernel code in
 * software and gives up on some instructions (KVM_EXIT_INTERNAL_ERROR, emulation
 * failure). The vCPU loop hands it the vCPU's registers; it decodes the instruction at
 * CS:RIP through the guest's own page tables, carries it out on the copies it was
 * given, and says which copies changed. Real hardware-virtualisation hosts never
 * reach this code. Nothing read from the guest is trusted: every guest-virtual access
 * is walked and bounds-checked against guest RAM. */
#ifndef SEPIA_EMULATE_H
#define SEPIA_EMULATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "guestmem.h"

#define EMU_MAX_INSN 15

struct emu_vcpu {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;     /* x87/SSE state incl. xmm0-15 and mxcsr */
	bool regs_changed;      /* caller must KVM_SET_REGS */
	bool sregs_changed;     /* caller must KVM_SET_SREGS */
	bool fpu_changed;       /* caller must KVM_SET_FPU */
	int inject_vector;      /* exception to inject with KVM_SET_VCPU_EVENTS, -1 none */
	bool inject_has_error;
	uint32_t inject_error;
};

enum emu_result {
	EMU_HANDLED,    /* state updated (possibly with an exception to inject) */
	EMU_UNHANDLED,  /* instruction not known: caller reports RIP and bytes and stops */
	EMU_FAULT,      /* instruction or operand not readable through the page tables */
};

/* Guest-virtual to guest-physical through CR3 (4- and 5-level, 2M/1G pages; paging off
 * means identity). Returns 0 or -EFAULT when not present or the tables leave RAM. */
int emu_translate(const struct guest_mem *mem, const struct kvm_sregs *sregs,
		  uint64_t gva, uint64_t *gpa);

/* Reads len bytes at guest-virtual gva, page by page. 0 or -EFAULT. */
int emu_read_virt(const struct guest_mem *mem, const struct kvm_sregs *sregs,
		  uint64_t gva, void *buf, size_t len);
int emu_write_virt(const struct guest_mem *mem, const struct kvm_sregs *sregs,
		   uint64_t gva, const void *buf, size_t len);

/* Fetches up to EMU_MAX_INSN bytes at CS:RIP (stopping at the first unreadable page);
 * returns how many bytes were read. */
size_t emu_fetch_insn(const struct guest_mem *mem, const struct emu_vcpu *cpu,
		      uint8_t buf[EMU_MAX_INSN]);

/* Emulates the one instruction at CS:RIP. On EMU_UNHANDLED/EMU_FAULT, detail (if not
 * NULL) receives a short human-readable reason. Sets inject_vector to -1 first. */
enum emu_result emu_step(struct emu_vcpu *cpu, const struct guest_mem *mem,
			 char *detail, size_t detail_len);

#endif
