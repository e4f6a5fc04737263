/* Fallback instruction emulator for hosts whose KVM interprets guest kernel code in
 * software and gives up on some instructions (KVM_EXIT_INTERNAL_ERROR, emulation
 * failure). The vCPU loop hands it the vCPU's registers; it decodes the instruction at
 * CS:RIP through the guest's own page tables, carries it out on the copies it was
 * given, and says which copies changed. Real hardware-virtualisation hosts never
 * reach this code. Nothing read from the guest is trusted: every guest-virtual access
 * is walked and bounds-checked against guest RAM. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "devices/guestmem.h"

#define EMU_MAX_INSN 15

struct emu_vcpu {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu; /* x87/SSE state incl. xmm0-15 and mxcsr */
	bool regs_changed;  /* caller must KVM_SET_REGS */
	bool sregs_changed; /* caller must KVM_SET_SREGS */
	bool fpu_changed;   /* caller must KVM_SET_FPU */
	int inject_vector;  /* exception to inject with KVM_SET_VCPU_EVENTS, -1 none */
	bool inject_has_error;
	uint32_t inject_error;
};

enum emu_result {
	EMU_HANDLED,   /* state updated (possibly with an exception to inject) */
	EMU_UNHANDLED, /* instruction not known: caller reports RIP and bytes and stops */
	EMU_FAULT,     /* instruction or operand not readable through the page tables */
};

/* Guest-virtual to guest-physical through CR3 (4- and 5-level, 2M/1G pages; paging off
 * means identity). Returns 0 or -EFAULT when not present or the tables leave RAM. */
int emu_translate(const struct guest_mem *mem, const struct kvm_sregs *sregs, uint64_t gva, uint64_t *gpa);

/* Reads len bytes at guest-virtual gva, page by page. 0 or -EFAULT. */
int emu_read_virt(const struct guest_mem *mem, const struct kvm_sregs *sregs, uint64_t gva, void *buf,
		  size_t len);
int emu_write_virt(const struct guest_mem *mem, const struct kvm_sregs *sregs, uint64_t gva, const void *buf,
		   size_t len);

/* Fetches up to EMU_MAX_INSN bytes at CS:RIP (stopping at the first unreadable page);
 * returns how many bytes were read. */
size_t emu_fetch_insn(const struct guest_mem *mem, const struct emu_vcpu *cpu, uint8_t buf[EMU_MAX_INSN]);

/* Emulates the one instruction at CS:RIP. On EMU_UNHANDLED/EMU_FAULT, detail (if not
 * NULL) receives a short human-readable reason. Sets inject_vector to -1 first; the
 * *_changed flags are only ever set, never cleared. An exception the instruction
 * raises (#UD, #NM, #GP(0), #PF with CR2) is EMU_HANDLED with inject_vector set and
 * RIP left on the instruction; int3 is a trap, so RIP is already past it.
 * Emulated: int3, ud2, clac/stac, fwait, lfence/mfence/sfence, ldmxcsr/stmxcsr (also
 * VEX), fxsave/fxrstor(64), movd/movq/movdqa/movdqu/movaps/movups/movapd/movupd,
 * pxor/xorps/xorpd, popcnt, cmpxchg8b/16b; 64-bit, compatibility and 32-bit protected
 * mode. The xsave family is not (sepia boots guests with noxsave). */
enum emu_result emu_step(struct emu_vcpu *cpu, const struct guest_mem *mem, char *detail, size_t detail_len);

/* ---- Shared between emulate.c (decode, page walk, dispatch, integer instructions) and
 * emulate_sse.c (x87/SSE state instructions). Not part of the interface: only those two
 * files define SEPIA_EMULATE_INTERNAL before including this header. ---- */
#ifdef SEPIA_EMULATE_INTERNAL

#include <stdarg.h>

/* Control-register and flag bits used below. */
#define CR0_PE    (1ull << 0)
#define CR0_MP    (1ull << 1)
#define CR0_TS    (1ull << 3)
#define CR0_WP    (1ull << 16)
#define CR0_PG    (1ull << 31)
#define CR4_PSE   (1ull << 4)
#define CR4_PAE   (1ull << 5)
#define CR4_LA57  (1ull << 12)
#define CR4_SMAP  (1ull << 21)
#define EFER_LMA  (1ull << 10)
#define RFLAGS_CF (1ull << 0)
#define RFLAGS_PF (1ull << 2)
#define RFLAGS_AF (1ull << 4)
#define RFLAGS_ZF (1ull << 6)
#define RFLAGS_SF (1ull << 7)
#define RFLAGS_OF (1ull << 11)
#define RFLAGS_RF (1ull << 16)
#define RFLAGS_VM (1ull << 17)
#define RFLAGS_AC (1ull << 18)

#define PTE_P    (1ull << 0)
#define PTE_W    (1ull << 1)
#define PTE_U    (1ull << 2)
#define PTE_A    (1ull << 5)
#define PTE_D    (1ull << 6)
#define PTE_PS   (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull

#define PFEC_P    (1u << 0)
#define PFEC_W    (1u << 1)
#define PFEC_U    (1u << 2)
#define PFEC_RSVD (1u << 3)

#define VEC_BP 3
#define VEC_UD 6
#define VEC_NM 7
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14
#define VEC_MF 16

#define PAGE_SIZE 4096ull

/* What an access needs from the page tables. WALK_QUERY only translates (used for
 * the public emu_translate and for instruction fetch, which the CPU already did). */
enum walk_access { WALK_QUERY, WALK_READ, WALK_WRITE };

/* Walk result: 0, -EFAULT (a page fault: *pfec says why) or -EIO (a table lies
 * outside guest RAM, which the emulator cannot reason about). */
int emu_walk(const struct guest_mem *mem, const struct kvm_sregs *s, uint64_t rflags, uint64_t la,
	     enum walk_access acc, uint64_t *gpa, uint32_t *pfec);
/* Bytes from gva to the end of its 4 KiB page. */
size_t emu_page_left(uint64_t gva);

enum emu_seg { EMU_SEG_ES, EMU_SEG_CS, EMU_SEG_SS, EMU_SEG_DS, EMU_SEG_FS, EMU_SEG_GS, EMU_SEG_NONE = -1 };

/* One instruction being decoded and carried out. */
struct emu_ctx {
	struct emu_vcpu *cpu;
	const struct guest_mem *mem;
	char *detail;
	size_t detail_len;

	uint8_t bytes[EMU_MAX_INSN];
	size_t avail; /* bytes fetched at CS:RIP */
	size_t pos;   /* bytes consumed so far = length once decoded */
	int mode;     /* 64 (long mode, CS.L) or 32 (protected/compat, CS.D) */

	/* prefixes */
	bool lock, opsize_prefix, adsize_prefix;
	uint8_t last_rep; /* 0, 0xf2 or 0xf3: the last of those seen */
	int seg_override; /* enum emu_seg */
	uint8_t rex;      /* the REX byte in effect, 0 if none */
	bool rex_w, rex_r, rex_x, rex_b;
	bool vex; /* VEX-encoded (c4/c5) */
	bool vex_l;
	uint8_t vex_vvvv; /* already un-inverted */

	/* opcode */
	int map; /* 0 one-byte, 1 0f, 2 0f38, 3 0f3a */
	uint8_t op;
	uint8_t mandatory; /* 0, 0x66, 0xf3 or 0xf2: SSE mandatory prefix in effect */
	int opsize;        /* 2, 4 or 8 bytes */
	int addrsize;      /* 2, 4 or 8 bytes */

	/* ModRM operand, valid after emu_decode_modrm() */
	bool has_modrm;
	uint8_t mod; /* 0-3 */
	uint8_t reg; /* ModRM.reg extended by REX.R (0-15) */
	uint8_t rm;  /* register operand (mod == 3), extended by REX.B */
	bool is_mem; /* mod != 3 */
	uint64_t ea; /* effective address (offset within the segment) */
	int seg;     /* segment of the memory operand */

	enum emu_result result; /* set by helpers that return false */
};

/* Guest-virtual memory, as one or two host spans (an access crosses at most one
 * page boundary because it is never longer than a page). */
struct emu_span {
	uint8_t *host[2];
	size_t len[2];
};

/* Helpers in emulate.c. The bool ones return false when the instruction must stop;
 * c->result then says how (EMU_HANDLED with an exception queued, or EMU_FAULT /
 * EMU_UNHANDLED with detail). */
bool emu_fail(struct emu_ctx *c, enum emu_result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool emu_raise(struct emu_ctx *c, int vector, bool has_error, uint32_t error);
enum emu_result emu_unhandled(struct emu_ctx *c, const char *why);
bool emu_decode_modrm(struct emu_ctx *c);
bool emu_linear(struct emu_ctx *c, size_t len, size_t align, uint64_t *la);
bool emu_map(struct emu_ctx *c, uint64_t la, size_t len, bool write, struct emu_span *sp);
void emu_span_read(const struct emu_span *sp, void *buf, size_t len);
void emu_span_write(const struct emu_span *sp, const void *buf, size_t len);
bool emu_mem_read(struct emu_ctx *c, size_t len, size_t align, void *buf);
bool emu_mem_write(struct emu_ctx *c, size_t len, size_t align, const void *buf);
__u64 *emu_gpr(struct kvm_regs *regs, unsigned int n); /* by encoding number 0-15 */
void emu_gpr_write(struct kvm_regs *regs, unsigned int n, int size, uint64_t val);
enum emu_result emu_complete(struct emu_ctx *c);

/* Segment-descriptor instructions in emulate_seg.c. */
enum emu_result emu_lsl(struct emu_ctx *c);  /* 0f 03: lsl */
enum emu_result emu_grp6(struct emu_ctx *c); /* 0f 00: verr, verw */

/* Instruction families in emulate_sse.c. */
enum emu_result emu_grp15(struct emu_ctx *c);    /* 0f ae: fxsave..stmxcsr, fences */
enum emu_result emu_sse_move(struct emu_ctx *c); /* movd/movq/movdqa/... pxor, xorps */

#define EMU_MXCSR_MASK 0x0000ffffu /* MXCSR bits a modern CPU accepts (DAZ included) */

#endif /* SEPIA_EMULATE_INTERNAL */
