/* Fallback instruction emulator: instruction fetch and decode, dispatch,
 * and the integer instructions (int3, ud2, clac/stac, fwait, popcnt, cmpxchg8b/16b).
 * The x87/SSE state instructions live in emulate_sse.c, the page walk in emulate_mem.c. See emulate.h for why this
 * exists at all; the Intel SDM vol. 2 (encodings) and vol. 3 ch. 4 (paging) are the
 * references for everything here. */
#define SEPIA_EMULATE_INTERNAL
#include "devices/emulate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- CPU mode, fetch */

/* 64 in 64-bit mode, 32 in 32-bit protected or compatibility mode, 16 otherwise. */
static int cpu_mode(const struct emu_vcpu *cpu)
{
	const struct kvm_sregs *s = &cpu->sregs;
	if (!(s->cr0 & CR0_PE) || (cpu->regs.rflags & RFLAGS_VM))
		return 16;
	if ((s->efer & EFER_LMA) && s->cs.l)
		return 64;
	return s->cs.db ? 32 : 16;
}

static uint64_t fetch_address(const struct emu_vcpu *cpu)
{
	int mode = cpu_mode(cpu);
	if (mode == 64)
		return cpu->regs.rip;
	if (mode == 32)
		return (cpu->sregs.cs.base + (cpu->regs.rip & 0xffffffffull)) & 0xffffffffull;
	return (cpu->sregs.cs.base + (cpu->regs.rip & 0xffff)) & 0xffffffffull;
}

size_t emu_fetch_insn(const struct guest_mem *mem, const struct emu_vcpu *cpu, uint8_t buf[EMU_MAX_INSN])
{
	uint64_t la = fetch_address(cpu);
	size_t got = 0;
	while (got < EMU_MAX_INSN) {
		size_t n = EMU_MAX_INSN - got;
		if (n > emu_page_left(la))
			n = emu_page_left(la);
		if (emu_read_virt(mem, &cpu->sregs, la, buf + got, n))
			break;
		got += n;
		la += n;
	}
	return got;
}

/* ---------------------------------------------------------------- helpers */

bool emu_fail(struct emu_ctx *c, enum emu_result r, const char *fmt, ...)
{
	c->result = r;
	if (c->detail && c->detail_len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->detail, c->detail_len, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* Queues an exception. Faults leave RIP at the instruction; the caller of a trap
 * (int3) advances RIP itself. */
bool emu_raise(struct emu_ctx *c, int vector, bool has_error, uint32_t error)
{
	c->cpu->inject_vector = vector;
	c->cpu->inject_has_error = has_error;
	c->cpu->inject_error = has_error ? error : 0;
	c->result = EMU_HANDLED;
	return false;
}

/* Names the instruction bytes so the vCPU loop's report says what to add next. */
enum emu_result emu_unhandled(struct emu_ctx *c, const char *why)
{
	char hex[3 * EMU_MAX_INSN + 1] = "";
	size_t n = c->avail < 8 ? c->avail : 8;
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x%s", c->bytes[i], i + 1 < n ? " " : "");
	emu_fail(c, EMU_UNHANDLED, "%s: %s (rip 0x%llx, %d-bit)", why, hex,
		 (unsigned long long)c->cpu->regs.rip, c->mode);
	return EMU_UNHANDLED;
}

/* Next instruction byte. Running past the fetched bytes means either the 15-byte
 * limit (#GP) or an unreadable page after the instruction's start. */
static bool next_byte(struct emu_ctx *c, uint8_t *b)
{
	*b = 0;
	if (c->pos >= c->avail) {
		if (c->avail == EMU_MAX_INSN)
			return emu_raise(c, VEC_GP, true, 0);
		return emu_fail(c, EMU_FAULT, "instruction at rip 0x%llx runs into an unreadable page",
				(unsigned long long)c->cpu->regs.rip);
	}
	*b = c->bytes[c->pos++];
	return true;
}

static bool next_le(struct emu_ctx *c, int n, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		uint8_t b;
		if (!next_byte(c, &b))
			return false;
		*v |= (uint64_t)b << (8 * i);
	}
	return true;
}

/* kvm_regs keeps rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8..r15; the instruction
 * encoding numbers them rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15. */
__u64 *emu_gpr(struct kvm_regs *r, unsigned int n)
{
	switch (n & 15) {
	case 0:
		return &r->rax;
	case 1:
		return &r->rcx;
	case 2:
		return &r->rdx;
	case 3:
		return &r->rbx;
	case 4:
		return &r->rsp;
	case 5:
		return &r->rbp;
	case 6:
		return &r->rsi;
	case 7:
		return &r->rdi;
	case 8:
		return &r->r8;
	case 9:
		return &r->r9;
	case 10:
		return &r->r10;
	case 11:
		return &r->r11;
	case 12:
		return &r->r12;
	case 13:
		return &r->r13;
	case 14:
		return &r->r14;
	default:
		return &r->r15;
	}
}

/* Register write with x86 width rules: a 32-bit write zero-extends into 64 bits,
 * a 16-bit write keeps bits 63:16. */
void emu_gpr_write(struct kvm_regs *r, unsigned int n, int size, uint64_t val)
{
	__u64 *g = emu_gpr(r, n);
	if (size == 8)
		*g = val;
	else if (size == 4)
		*g = val & 0xffffffffull;
	else
		*g = (*g & ~0xffffull) | (val & 0xffff);
}

/* Successful end of an instruction: RIP past it, RF cleared as after any completed
 * instruction. */
enum emu_result emu_complete(struct emu_ctx *c)
{
	struct kvm_regs *r = &c->cpu->regs;
	r->rip += c->pos;
	if (c->mode != 64)
		r->rip &= 0xffffffffull;
	r->rflags &= ~RFLAGS_RF;
	c->cpu->regs_changed = true;
	c->result = EMU_HANDLED;
	return EMU_HANDLED;
}

/* ---------------------------------------------------------------- decode */

static bool decode_prefixes(struct emu_ctx *c)
{
	for (;;) {
		if (c->pos >= c->avail) {
			uint8_t dummy;
			return next_byte(c, &dummy);
		}
		uint8_t b = c->bytes[c->pos];
		switch (b) {
		case 0xf0:
			c->lock = true;
			break;
		case 0xf2:
		case 0xf3:
			c->last_rep = b;
			break;
		case 0x66:
			c->opsize_prefix = true;
			break;
		case 0x67:
			c->adsize_prefix = true;
			break;
		case 0x26:
			c->seg_override = EMU_SEG_ES;
			break;
		case 0x2e:
			c->seg_override = EMU_SEG_CS;
			break;
		case 0x36:
			c->seg_override = EMU_SEG_SS;
			break;
		case 0x3e:
			c->seg_override = EMU_SEG_DS;
			break;
		case 0x64:
			c->seg_override = EMU_SEG_FS;
			break;
		case 0x65:
			c->seg_override = EMU_SEG_GS;
			break;
		default:
			if (c->mode == 64 && (b & 0xf0) == 0x40) {
				c->rex = b;
				c->pos++;
				continue;
			}
			/* REX counts only right before the opcode */
			c->rex_w = c->rex & 8;
			c->rex_r = c->rex & 4;
			c->rex_x = c->rex & 2;
			c->rex_b = c->rex & 1;
			return true;
		}
		c->rex = 0; /* a legacy prefix after REX cancels it */
		c->pos++;
	}
}

/* c4/c5 VEX prefix (in 32-bit mode only when the next byte looks like ModRM.mod=3,
 * otherwise it is LES/LDS). Sets map and the implied mandatory prefix. */
static bool decode_vex(struct emu_ctx *c, uint8_t first, bool *is_vex)
{
	*is_vex = false;
	if (c->mode != 64 && (c->pos >= c->avail || (c->bytes[c->pos] & 0xc0) != 0xc0))
		return true;
	*is_vex = true;
	if (c->lock || c->opsize_prefix || c->last_rep || c->rex)
		return emu_raise(c, VEC_UD, false, 0);
	uint8_t b1, b2;
	if (!next_byte(c, &b1))
		return false;
	if (first == 0xc5) {
		c->rex_r = !(b1 & 0x80);
		c->map = 1;
		b2 = b1;
	} else {
		if (!next_byte(c, &b2))
			return false;
		c->rex_r = !(b1 & 0x80);
		c->rex_x = !(b1 & 0x40);
		c->rex_b = !(b1 & 0x20);
		c->map = b1 & 0x1f;
		c->rex_w = b2 & 0x80;
	}
	if (c->mode != 64) /* R/X/B/W do not exist outside 64-bit mode */
		c->rex_r = c->rex_x = c->rex_b = c->rex_w = false;
	c->vex = true;
	c->vex_vvvv = (~b2 >> 3) & 15;
	c->vex_l = b2 & 4;
	static const uint8_t pp[4] = { 0, 0x66, 0xf3, 0xf2 };
	c->mandatory = pp[b2 & 3];
	return true;
}

static bool decode_opcode(struct emu_ctx *c)
{
	uint8_t b;
	if (!next_byte(c, &b))
		return false;
	if (b == 0xc4 || b == 0xc5) {
		bool is_vex;
		if (!decode_vex(c, b, &is_vex))
			return false;
		if (is_vex)
			return next_byte(c, &c->op);
	}
	if (b != 0x0f) {
		c->map = 0;
		c->op = b;
	} else {
		if (!next_byte(c, &b))
			return false;
		if (b == 0x38 || b == 0x3a) {
			c->map = b == 0x38 ? 2 : 3;
			if (!next_byte(c, &b))
				return false;
		} else {
			c->map = 1;
		}
		c->op = b;
	}
	/* For SSE encodings F2/F3 decide over 66, and the last of F2/F3 wins. */
	c->mandatory = c->last_rep ? c->last_rep : (c->opsize_prefix ? 0x66 : 0);
	return true;
}

static uint64_t seg_base(const struct kvm_sregs *s, int seg)
{
	switch (seg) {
	case EMU_SEG_ES:
		return s->es.base;
	case EMU_SEG_CS:
		return s->cs.base;
	case EMU_SEG_SS:
		return s->ss.base;
	case EMU_SEG_FS:
		return s->fs.base;
	case EMU_SEG_GS:
		return s->gs.base;
	default:
		return s->ds.base;
	}
}

/* ModRM, SIB and displacement; computes the effective address of a memory operand.
 * None of the emulated instructions has an immediate, so RIP-relative addresses are
 * relative to the end of what has been decoded here. */
bool emu_decode_modrm(struct emu_ctx *c)
{
	uint8_t m;
	if (!next_byte(c, &m))
		return false;
	c->has_modrm = true;
	c->mod = m >> 6;
	c->reg = ((m >> 3) & 7) | (c->rex_r ? 8 : 0);
	c->rm = (m & 7) | (c->rex_b ? 8 : 0);
	c->is_mem = c->mod != 3;
	if (!c->is_mem)
		return true;
	if (c->addrsize == 2)
		return emu_unhandled(c, "16-bit addressing not emulated"), false;

	struct kvm_regs *r = &c->cpu->regs;
	uint64_t ea = 0, disp;
	int seg = EMU_SEG_DS;
	bool rip_relative = false;
	if ((m & 7) == 4) {
		uint8_t sib;
		if (!next_byte(c, &sib))
			return false;
		unsigned int scale = sib >> 6;
		unsigned int index = ((sib >> 3) & 7) | (c->rex_x ? 8 : 0);
		unsigned int base = (sib & 7) | (c->rex_b ? 8 : 0);
		if (index != 4) /* 100b without REX.X means no index; r12 is a valid one */
			ea += *emu_gpr(r, index) << scale;
		if ((sib & 7) == 5 && c->mod == 0) {
			if (!next_le(c, 4, &disp))
				return false;
			ea += (uint64_t)(int64_t)(int32_t)disp;
		} else {
			ea += *emu_gpr(r, base);
			if (base == 4 || base == 5) /* rsp/rbp-based: stack segment */
				seg = EMU_SEG_SS;
		}
	} else if ((m & 7) == 5 && c->mod == 0) {
		if (!next_le(c, 4, &disp))
			return false;
		ea += (uint64_t)(int64_t)(int32_t)disp;
		rip_relative = c->mode == 64; /* plain disp32 in 32-bit mode */
	} else {
		ea += *emu_gpr(r, c->rm);
		if (c->rm == 5)
			seg = EMU_SEG_SS;
	}
	if (c->mod == 1) {
		if (!next_le(c, 1, &disp))
			return false;
		ea += (uint64_t)(int64_t)(int8_t)disp;
	} else if (c->mod == 2) {
		if (!next_le(c, 4, &disp))
			return false;
		ea += (uint64_t)(int64_t)(int32_t)disp;
	}
	if (rip_relative)
		ea += r->rip + c->pos;
	if (c->addrsize == 4)
		ea &= 0xffffffffull;
	c->ea = ea;
	c->seg = c->seg_override != EMU_SEG_NONE ? c->seg_override : seg;
	return true;
}

static bool canonical(uint64_t la, int bits)
{
	int64_t v = (int64_t)(la << (64 - bits)) >> (64 - bits);
	return (uint64_t)v == la;
}

/* Linear address of the decoded memory operand, with the checks that come before the
 * page walk: non-canonical -> #GP(0) (#SS(0) for the stack segment), and the operand
 * alignment an instruction demands (align != 0) -> #GP(0). Segment limits are not
 * checked: 64-bit mode has none and 32-bit kernels use flat segments. */
bool emu_linear(struct emu_ctx *c, size_t len, size_t align, uint64_t *la)
{
	const struct kvm_sregs *s = &c->cpu->sregs;
	uint64_t a;
	if (c->mode == 64) {
		/* only FS and GS have bases in 64-bit mode */
		a = c->ea + ((c->seg == EMU_SEG_FS || c->seg == EMU_SEG_GS) ? seg_base(s, c->seg) : 0);
		int bits = (s->cr4 & CR4_LA57) ? 57 : 48;
		if (!canonical(a, bits) || !canonical(a + len - 1, bits))
			return emu_raise(c, c->seg == EMU_SEG_SS ? VEC_SS : VEC_GP, true, 0);
	} else {
		a = (c->ea + seg_base(s, c->seg)) & 0xffffffffull;
	}
	if (align && (a & (align - 1)))
		return emu_raise(c, VEC_GP, true, 0);
	*la = a;
	return true;
}

/* Translates [la, la+len) for an access, at most two pages. A translation fault is
 * what the CPU would raise: #PF with CR2 = the first faulting address. Memory that is
 * not RAM (MMIO) or tables outside RAM are beyond this emulator: EMU_FAULT. */
bool emu_map(struct emu_ctx *c, uint64_t la, size_t len, bool write, struct emu_span *sp)
{
	memset(sp, 0, sizeof(*sp));
	for (int i = 0; i < 2 && len; i++) {
		size_t n = len < emu_page_left(la) ? len : emu_page_left(la);
		uint64_t gpa;
		uint32_t pfec;
		int rc = emu_walk(c->mem, &c->cpu->sregs, c->cpu->regs.rflags, la,
				  write ? WALK_WRITE : WALK_READ, &gpa, &pfec);
		if (rc == -EFAULT) {
			c->cpu->sregs.cr2 = la;
			c->cpu->sregs_changed = true;
			return emu_raise(c, VEC_PF, true, pfec);
		}
		if (rc || !(sp->host[i] = guest_mem_ptr(c->mem, gpa, n)))
			return emu_fail(c, EMU_FAULT, "memory operand at 0x%llx is not guest RAM",
					(unsigned long long)la);
		sp->len[i] = n;
		la += n;
		len -= n;
	}
	if (len)
		return emu_fail(c, EMU_FAULT, "memory operand longer than a page");
	return true;
}

void emu_span_read(const struct emu_span *sp, void *buf, size_t len)
{
	uint8_t *out = buf;
	for (int i = 0; i < 2 && len; i++) {
		size_t n = len < sp->len[i] ? len : sp->len[i];
		memcpy(out, sp->host[i], n);
		out += n;
		len -= n;
	}
}

void emu_span_write(const struct emu_span *sp, const void *buf, size_t len)
{
	const uint8_t *in = buf;
	for (int i = 0; i < 2 && len; i++) {
		size_t n = len < sp->len[i] ? len : sp->len[i];
		memcpy(sp->host[i], in, n);
		in += n;
		len -= n;
	}
}

/* Reads/writes the decoded memory operand through the guest's page tables. */
bool emu_mem_read(struct emu_ctx *c, size_t len, size_t align, void *buf)
{
	uint64_t la;
	struct emu_span sp;
	if (!emu_linear(c, len, align, &la) || !emu_map(c, la, len, false, &sp))
		return false;
	emu_span_read(&sp, buf, len);
	return true;
}

bool emu_mem_write(struct emu_ctx *c, size_t len, size_t align, const void *buf)
{
	uint64_t la;
	struct emu_span sp;
	if (!emu_linear(c, len, align, &la) || !emu_map(c, la, len, true, &sp))
		return false;
	emu_span_write(&sp, buf, len);
	return true;
}

static bool cpl0(const struct emu_ctx *c) { return (c->cpu->sregs.cs.selector & 3) == 0; }

/* ---------------------------------------------------------------- integer instructions */

/* cc: a trap, so the exception is delivered with RIP after the instruction. */
static enum emu_result emu_int3(struct emu_ctx *c)
{
	if (c->lock)
		return emu_raise(c, VEC_UD, false, 0), c->result;
	emu_complete(c);
	emu_raise(c, VEC_BP, false, 0);
	return EMU_HANDLED;
}

/* 0f 0b: a fault, RIP stays on the instruction. */
static enum emu_result emu_ud2(struct emu_ctx *c)
{
	emu_raise(c, VEC_UD, false, 0);
	return EMU_HANDLED;
}

/* 9b: waits for x87 exceptions. #NM when CR0.TS and CR0.MP; a pending unmasked x87
 * exception (FSW.ES) becomes #MF. Otherwise nothing to do. */
static enum emu_result emu_fwait(struct emu_ctx *c)
{
	uint64_t cr0 = c->cpu->sregs.cr0;
	if (c->lock)
		return emu_raise(c, VEC_UD, false, 0), c->result;
	if ((cr0 & (CR0_TS | CR0_MP)) == (CR0_TS | CR0_MP))
		return emu_raise(c, VEC_NM, false, 0), c->result;
	if (c->cpu->fpu.fsw & 0x80)
		return emu_raise(c, VEC_MF, false, 0), c->result;
	return emu_complete(c);
}

/* 0f 01 group 7: clac/stac toggle RFLAGS.AC (ring 0 only). The xsave family
 * (xgetbv/xsetbv) is deliberately left out: sepia boots its guests with noxsave. */
static enum emu_result emu_grp7(struct emu_ctx *c)
{
	uint8_t m;
	if (c->pos >= c->avail)
		return next_byte(c, &m), c->result;
	m = c->bytes[c->pos];
	if (c->vex || c->mandatory)
		return emu_unhandled(c, "unhandled 0f 01 form");
	switch (m) {
	case 0xca: /* clac */
	case 0xcb: /* stac */
		c->pos++;
		if (c->lock || !cpl0(c))
			return emu_raise(c, VEC_UD, false, 0), c->result;
		if (m == 0xca)
			c->cpu->regs.rflags &= ~RFLAGS_AC;
		else
			c->cpu->regs.rflags |= RFLAGS_AC;
		return emu_complete(c);
	case 0xd0:
		return emu_unhandled(c, "xgetbv not emulated (guest should run with noxsave)");
	case 0xd1:
		return emu_unhandled(c, "xsetbv not emulated (guest should run with noxsave)");
	default:
		return emu_unhandled(c, "unhandled 0f 01 instruction");
	}
}

/* f3 0f b8: popcnt r, r/m (16/32/64). ZF = source was zero, the other arithmetic
 * flags are cleared. */
static enum emu_result emu_popcnt(struct emu_ctx *c)
{
	if (!emu_decode_modrm(c))
		return c->result;
	if (c->lock)
		return emu_raise(c, VEC_UD, false, 0), c->result;
	int size = c->opsize;
	uint64_t src = 0;
	if (c->is_mem) {
		if (!emu_mem_read(c, size, 0, &src)) /* little-endian host, like the guest */
			return c->result;
	} else {
		src = *emu_gpr(&c->cpu->regs, c->rm);
	}
	if (size < 8)
		src &= (1ull << (8 * size)) - 1;
	emu_gpr_write(&c->cpu->regs, c->reg, size, (uint64_t)__builtin_popcountll(src));
	__u64 *fl = &c->cpu->regs.rflags;
	*fl &= ~(RFLAGS_OF | RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF | RFLAGS_CF);
	if (!src)
		*fl |= RFLAGS_ZF;
	return emu_complete(c);
}

/* Compare-and-exchange of 16 bytes on host memory, atomically when the host can. */
static bool cas16(uint8_t *p, uint64_t *lo, uint64_t *hi, uint64_t nlo, uint64_t nhi)
{
#if defined(__x86_64__)
	if (((uintptr_t)p & 15) == 0) {
		bool ok;
		__asm__ __volatile__("lock cmpxchg16b %1"
				     : "=@ccz"(ok), "+m"(*(volatile unsigned __int128 *)p), "+a"(*lo),
				       "+d"(*hi)
				     : "b"(nlo), "c"(nhi)
				     : "memory");
		return ok;
	}
#endif
	uint64_t cur[2];
	memcpy(cur, p, 16);
	if (cur[0] == *lo && cur[1] == *hi) {
		uint64_t n[2] = { nlo, nhi };
		memcpy(p, n, 16);
		return true;
	}
	*lo = cur[0];
	*hi = cur[1];
	return false;
}

/* 0f c7 /1: cmpxchg8b m64, or with REX.W cmpxchg16b m128 (16-byte aligned or #GP).
 * Compares rDX:rAX with memory; equal: ZF=1 and memory = rCX:rBX; else ZF=0 and
 * rDX:rAX = memory. The destination is always checked for write, as the CPU does. */
static enum emu_result emu_cmpxchg8b16b(struct emu_ctx *c)
{
	struct kvm_regs *r = &c->cpu->regs;
	bool wide = c->rex_w;
	size_t len = wide ? 16 : 8;
	uint64_t la;
	struct emu_span sp;
	if (!emu_linear(c, len, wide ? 16 : 0, &la) || !emu_map(c, la, len, true, &sp))
		return c->result;

	bool equal;
	if (wide) {
		uint64_t lo = r->rax, hi = r->rdx;
		if (sp.len[1]) /* cannot happen for an aligned operand */
			return emu_fail(c, EMU_FAULT, "cmpxchg16b operand crosses a page"), c->result;
		equal = cas16(sp.host[0], &lo, &hi, r->rbx, r->rcx);
		if (!equal) {
			r->rax = lo;
			r->rdx = hi;
		}
	} else {
		uint64_t expect = (r->rax & 0xffffffffull) | (r->rdx << 32);
		uint64_t desired = (r->rbx & 0xffffffffull) | (r->rcx << 32);
		uint64_t cur;
		if (!sp.len[1] && ((uintptr_t)sp.host[0] & 7) == 0) {
			cur = expect;
			equal = __atomic_compare_exchange_n((uint64_t *)sp.host[0], &cur, desired, false,
							    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		} else { /* split operand: no atomic path on the host, good enough for one vCPU */
			emu_span_read(&sp, &cur, 8);
			equal = cur == expect;
			if (equal)
				emu_span_write(&sp, &desired, 8);
		}
		if (!equal) {
			emu_gpr_write(r, 0, 4, cur);
			emu_gpr_write(r, 2, 4, cur >> 32);
		}
	}
	if (equal)
		r->rflags |= RFLAGS_ZF;
	else
		r->rflags &= ~RFLAGS_ZF;
	return emu_complete(c);
}

static enum emu_result emu_grp9(struct emu_ctx *c)
{
	if (c->vex || c->mandatory)
		return emu_unhandled(c, "unhandled 0f c7 form");
	if (!emu_decode_modrm(c))
		return c->result;
	uint8_t sub = c->reg & 7;
	if (sub == 1 && c->is_mem)
		return emu_cmpxchg8b16b(c);
	if (sub == 1)
		return emu_raise(c, VEC_UD, false, 0), c->result;
	if (c->is_mem && sub >= 3 && sub <= 5)
		return emu_unhandled(c, "xrstors/xsavec/xsaves not emulated (guest should run with noxsave)");
	return emu_unhandled(c, "unhandled 0f c7 instruction");
}

/* ---------------------------------------------------------------- dispatch */

static enum emu_result dispatch(struct emu_ctx *c)
{
	if (c->vex) {
		/* Only vldmxcsr/vstmxcsr (VEX.0F AE /2, /3) are emulated. */
		if (c->map == 1 && c->op == 0xae)
			return emu_grp15(c);
		return emu_unhandled(c, "unhandled VEX instruction");
	}
	if (c->map == 0) {
		switch (c->op) {
		case 0xcc:
			return emu_int3(c);
		case 0x9b:
			return emu_fwait(c);
		}
	} else if (c->map == 1) {
		switch (c->op) {
		case 0x0b:
			return emu_ud2(c);
		case 0x01:
			return emu_grp7(c);
		case 0x00:
			return emu_grp6(c);
		case 0x03:
			return emu_lsl(c);
		case 0xae:
			return emu_grp15(c);
		case 0xc7:
			return emu_grp9(c);
		case 0xb8:
			if (c->last_rep == 0xf3)
				return emu_popcnt(c);
			break;
		case 0x10:
		case 0x11:
		case 0x28:
		case 0x29:
		case 0x57:
		case 0x6e:
		case 0x6f:
		case 0x7e:
		case 0x7f:
		case 0xd6:
		case 0xef:
			return emu_sse_move(c);
		}
	}
	return emu_unhandled(c, "unhandled instruction");
}

enum emu_result emu_step(struct emu_vcpu *cpu, const struct guest_mem *mem, char *detail, size_t detail_len)
{
	struct emu_ctx ctx = {
		.cpu = cpu,
		.mem = mem,
		.detail = detail,
		.detail_len = detail_len,
		.seg_override = EMU_SEG_NONE,
	};
	struct emu_ctx *c = &ctx;
	cpu->inject_vector = -1;
	cpu->inject_has_error = false;
	cpu->inject_error = 0;
	if (detail && detail_len)
		detail[0] = '\0';

	c->mode = cpu_mode(cpu);
	c->avail = emu_fetch_insn(mem, cpu, c->bytes);
	if (c->avail == 0) {
		emu_fail(c, EMU_FAULT, "instruction at rip 0x%llx (linear 0x%llx) is not readable",
			 (unsigned long long)cpu->regs.rip, (unsigned long long)fetch_address(cpu));
		return EMU_FAULT;
	}
	if (c->mode == 16)
		return emu_unhandled(c, "16-bit code not emulated");

	if (!decode_prefixes(c) || !decode_opcode(c))
		return c->result;
	if (c->mode == 64) {
		c->opsize = c->rex_w ? 8 : (c->opsize_prefix ? 2 : 4);
		c->addrsize = c->adsize_prefix ? 4 : 8;
	} else {
		c->opsize = c->opsize_prefix ? 2 : 4;
		c->addrsize = c->adsize_prefix ? 2 : 4;
	}
	return dispatch(c);
}
