/* Fallback instruction emulator, x87/SSE state instructions: fxsave/fxrstor,
 * ldmxcsr/stmxcsr (and their VEX forms), the fences, and the SSE register moves and
 * xors the Linux kernel uses between kernel_fpu_begin() and kernel_fpu_end(). The
 * state lives in struct kvm_fpu (KVM_GET_FPU/KVM_SET_FPU); decoding and memory access
 * come from emulate.c. */
#define SEPIA_EMULATE_INTERNAL
#include "common/byteorder.h"
#include "devices/emulate.h"

#include <string.h>

#define CR0_EM      (1ull << 2)
#define CR0_TS      (1ull << 3)
#define CR4_OSFXSR  (1ull << 9)
#define CR4_OSXSAVE (1ull << 18)
#define EFER_FFXSR  (1ull << 14)

#define VEC_UD 6
#define VEC_NM 7
#define VEC_GP 13

#define FXSAVE_SIZE 512

static enum emu_result raise(struct emu_ctx *c, int vector, bool has_error)
{
	emu_raise(c, vector, has_error, 0);
	return c->result;
}

/* The checks every SSE instruction makes before touching operands: #UD when the OS
 * has not enabled SSE (CR0.EM, CR4.OSFXSR; CR4.OSXSAVE for VEX), #NM when the FPU
 * state is lazily switched out (CR0.TS). */
static bool sse_usable(struct emu_ctx *c)
{
	const struct kvm_sregs *s = &c->cpu->sregs;
	if (c->lock || (s->cr0 & CR0_EM) || !(s->cr4 & CR4_OSFXSR) || (c->vex && !(s->cr4 & CR4_OSXSAVE)))
		return emu_raise(c, VEC_UD, false, 0);
	if (s->cr0 & CR0_TS)
		return emu_raise(c, VEC_NM, false, 0);
	return true;
}

/* ---------------------------------------------------------------- MXCSR */

/* 0f ae /2 (and VEX.L0.0F ae /2): reserved MXCSR bits -> #GP(0), state unchanged. */
static enum emu_result emu_ldmxcsr(struct emu_ctx *c)
{
	uint32_t v;
	if (!sse_usable(c) || !emu_mem_read(c, 4, 0, &v))
		return c->result;
	if (v & ~EMU_MXCSR_MASK)
		return raise(c, VEC_GP, true);
	c->cpu->fpu.mxcsr = v;
	c->cpu->fpu_changed = true;
	return emu_complete(c);
}

/* 0f ae /3 (and VEX.L0.0F ae /3). */
static enum emu_result emu_stmxcsr(struct emu_ctx *c)
{
	uint32_t v = c->cpu->fpu.mxcsr;
	if (!sse_usable(c) || !emu_mem_write(c, 4, 0, &v))
		return c->result;
	return emu_complete(c);
}

/* ---------------------------------------------------------------- fxsave/fxrstor */

/* How many xmm registers fxsave/fxrstor move: 16 in 64-bit mode, 8 outside it, none
 * with AMD's fast FXSAVE (EFER.FFXSR) in 64-bit mode at CPL 0. */
static int fx_xmm_count(const struct emu_ctx *c)
{
	if (c->mode != 64)
		return 8;
	if ((c->cpu->sregs.efer & EFER_FFXSR) && (c->cpu->sregs.cs.selector & 3) == 0)
		return 0;
	return 16;
}

/* Checks shared by fxsave and fxrstor: #NM on CR0.EM or CR0.TS, #UD on lock, and the
 * 512-byte operand must be 16-byte aligned (#GP(0)), mapped and, for fxsave, writable. */
static bool fx_operand(struct emu_ctx *c, bool write, struct emu_span *sp)
{
	const struct kvm_sregs *s = &c->cpu->sregs;
	uint64_t la;
	if (c->lock)
		return emu_raise(c, VEC_UD, false, 0);
	if (s->cr0 & (CR0_EM | CR0_TS))
		return emu_raise(c, VEC_NM, false, 0);
	return emu_linear(c, FXSAVE_SIZE, 16, &la) && emu_map(c, la, FXSAVE_SIZE, write, sp);
}

/* 0f ae /0 fxsave (REX.W: fxsave64). Layout per SDM vol. 1 table 10-2/10-3:
 *   0 FCW, 2 FSW, 4 abridged FTW, 6 FOP, 8 FIP, 16 FDP, 24 MXCSR, 28 MXCSR_MASK,
 *   32 ST0-7 (16 bytes each), 160 XMM0-15. Bytes past the saved registers are not
 * written, as on hardware. The 32-bit format has FIP/FDP as 32-bit offsets followed
 * by FCS/FDS; kvm_fpu does not keep those selectors (recent CPUs store zero too). */
static enum emu_result emu_fxsave(struct emu_ctx *c)
{
	const struct kvm_fpu *f = &c->cpu->fpu;
	struct emu_span sp;
	if (!fx_operand(c, true, &sp))
		return c->result;

	uint8_t img[FXSAVE_SIZE];
	memset(img, 0, sizeof(img));
	put_le16(img + 0, f->fcw);
	put_le16(img + 2, f->fsw);
	img[4] = f->ftwx;
	put_le16(img + 6, f->last_opcode);
	if (c->rex_w) {
		put_le64(img + 8, f->last_ip);
		put_le64(img + 16, f->last_dp);
	} else {
		put_le32(img + 8, (uint32_t)f->last_ip);
		put_le32(img + 16, (uint32_t)f->last_dp);
	}
	put_le32(img + 24, f->mxcsr);
	put_le32(img + 28, EMU_MXCSR_MASK);
	for (int i = 0; i < 8; i++)
		memcpy(img + 32 + 16 * i, f->fpr[i], 10); /* 80-bit registers, 6 bytes reserved */
	int nxmm = fx_xmm_count(c);
	for (int i = 0; i < nxmm; i++)
		memcpy(img + 160 + 16 * i, f->xmm[i], 16);

	emu_span_write(&sp, img, 160 + 16 * (size_t)nxmm);
	return emu_complete(c);
}

/* 0f ae /1 fxrstor (REX.W: fxrstor64). MXCSR with reserved bits -> #GP(0) before any
 * state changes. */
static enum emu_result emu_fxrstor(struct emu_ctx *c)
{
	struct kvm_fpu *f = &c->cpu->fpu;
	struct emu_span sp;
	if (!fx_operand(c, false, &sp))
		return c->result;

	uint8_t img[FXSAVE_SIZE];
	emu_span_read(&sp, img, sizeof(img));
	uint32_t mxcsr = get_le32(img + 24);
	if (mxcsr & ~EMU_MXCSR_MASK)
		return raise(c, VEC_GP, true);

	f->fcw = get_le16(img + 0);
	f->fsw = get_le16(img + 2);
	f->ftwx = img[4];
	f->last_opcode = get_le16(img + 6);
	if (c->rex_w) {
		f->last_ip = get_le64(img + 8);
		f->last_dp = get_le64(img + 16);
	} else {
		f->last_ip = get_le32(img + 8);
		f->last_dp = get_le32(img + 16);
	}
	f->mxcsr = mxcsr;
	for (int i = 0; i < 8; i++) {
		memset(f->fpr[i], 0, 16);
		memcpy(f->fpr[i], img + 32 + 16 * i, 10);
	}
	int nxmm = fx_xmm_count(c);
	for (int i = 0; i < nxmm; i++)
		memcpy(f->xmm[i], img + 160 + 16 * i, 16);
	c->cpu->fpu_changed = true;
	return emu_complete(c);
}

/* 0f ae: group 15. Memory forms without prefix: fxsave, fxrstor, ldmxcsr, stmxcsr
 * (xsave/xrstor/xsaveopt are left out: sepia boots guests with noxsave). Register
 * forms: lfence/mfence/sfence, which need nothing beyond ordering the host's view. */
enum emu_result emu_grp15(struct emu_ctx *c)
{
	if (!emu_decode_modrm(c))
		return c->result;
	unsigned int sub = c->reg & 7;

	if (c->vex) {
		if (!c->is_mem || (sub != 2 && sub != 3) || c->mandatory)
			return emu_unhandled(c, "unhandled VEX 0f ae instruction");
		if (c->vex_l || c->vex_vvvv) /* VEX.L must be 0, VEX.vvvv 1111b */
			return raise(c, VEC_UD, false);
		return sub == 2 ? emu_ldmxcsr(c) : emu_stmxcsr(c);
	}
	/* 66/F2/F3 turn these encodings into other instructions (clwb, rdfsbase, ...). */
	if (c->mandatory)
		return emu_unhandled(c, "unhandled prefixed 0f ae instruction");
	if (!c->is_mem) {
		if (sub < 5)
			return emu_unhandled(c, "unhandled 0f ae register form");
		if (c->lock)
			return raise(c, VEC_UD, false);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		return emu_complete(c);
	}
	switch (sub) {
	case 0:
		return emu_fxsave(c);
	case 1:
		return emu_fxrstor(c);
	case 2:
		return emu_ldmxcsr(c);
	case 3:
		return emu_stmxcsr(c);
	case 4:
	case 5:
	case 6:
		return emu_unhandled(c, "xsave/xrstor/xsaveopt not emulated (guest should run with noxsave)");
	default:
		return emu_unhandled(c, "clflush not emulated");
	}
}

/* ---------------------------------------------------------------- SSE moves */

enum move_kind {
	MV_LOAD,     /* xmm[reg] = xmm/m (len bytes, rest of xmm[reg] zeroed) */
	MV_STORE,    /* xmm/m = xmm[reg] (len bytes; a register destination is zero-extended) */
	MV_XOR,      /* xmm[reg] ^= xmm/m128 */
	MV_FROM_GPR, /* xmm[reg] = r/m32 or r/m64 (REX.W), zero-extended */
	MV_TO_GPR,   /* r/m32 or r/m64 (REX.W) = low bytes of xmm[reg] */
};

struct move_desc {
	uint8_t op, mandatory;
	enum move_kind kind;
	uint8_t len, align; /* len 0: 4 or 8 by REX.W */
	const char *name;
};

/* Legacy-SSE forms only (no VEX). Aligned forms demand a 16-byte aligned memory
 * operand (#GP(0)); so do pxor/xorps, as every legacy SSE m128 operand does. */
static const struct move_desc moves[] = {
	{ 0x10, 0x00, MV_LOAD, 16, 0, "movups" },     { 0x10, 0x66, MV_LOAD, 16, 0, "movupd" },
	{ 0x11, 0x00, MV_STORE, 16, 0, "movups" },    { 0x11, 0x66, MV_STORE, 16, 0, "movupd" },
	{ 0x28, 0x00, MV_LOAD, 16, 16, "movaps" },    { 0x28, 0x66, MV_LOAD, 16, 16, "movapd" },
	{ 0x29, 0x00, MV_STORE, 16, 16, "movaps" },   { 0x29, 0x66, MV_STORE, 16, 16, "movapd" },
	{ 0x6f, 0x66, MV_LOAD, 16, 16, "movdqa" },    { 0x6f, 0xf3, MV_LOAD, 16, 0, "movdqu" },
	{ 0x7f, 0x66, MV_STORE, 16, 16, "movdqa" },   { 0x7f, 0xf3, MV_STORE, 16, 0, "movdqu" },
	{ 0x7e, 0xf3, MV_LOAD, 8, 0, "movq" },        { 0xd6, 0x66, MV_STORE, 8, 0, "movq" },
	{ 0x57, 0x00, MV_XOR, 16, 16, "xorps" },      { 0x57, 0x66, MV_XOR, 16, 16, "xorpd" },
	{ 0xef, 0x66, MV_XOR, 16, 16, "pxor" },       { 0x6e, 0x66, MV_FROM_GPR, 0, 0, "movd/movq" },
	{ 0x7e, 0x66, MV_TO_GPR, 0, 0, "movd/movq" },
};

enum emu_result emu_sse_move(struct emu_ctx *c)
{
	const struct move_desc *d = NULL;
	for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++)
		if (moves[i].op == c->op && moves[i].mandatory == c->mandatory)
			d = &moves[i];
	if (!d) /* MMX forms (no prefix) and movss/movsd among others */
		return emu_unhandled(c, "unhandled SSE instruction");
	if (!emu_decode_modrm(c) || !sse_usable(c))
		return c->result;

	struct kvm_fpu *f = &c->cpu->fpu;
	struct kvm_regs *r = &c->cpu->regs;
	uint8_t *xreg = f->xmm[c->reg];
	size_t len = d->len ? d->len : (c->rex_w ? 8 : 4);
	uint8_t buf[16] = { 0 };

	switch (d->kind) {
	case MV_LOAD:
	case MV_XOR:
		if (c->is_mem) {
			if (!emu_mem_read(c, len, d->align, buf))
				return c->result;
		} else {
			memcpy(buf, f->xmm[c->rm], len);
		}
		if (d->kind == MV_LOAD) {
			memcpy(xreg, buf, 16); /* buf is zero past len */
		} else {
			for (int i = 0; i < 16; i++)
				xreg[i] ^= buf[i];
		}
		c->cpu->fpu_changed = true;
		break;
	case MV_STORE:
		memcpy(buf, xreg, len);
		if (c->is_mem) {
			if (!emu_mem_write(c, len, d->align, buf))
				return c->result;
		} else {
			memcpy(f->xmm[c->rm], buf, 16);
			c->cpu->fpu_changed = true;
		}
		break;
	case MV_FROM_GPR:
		if (c->is_mem) {
			if (!emu_mem_read(c, len, 0, buf))
				return c->result;
		} else {
			uint64_t v = *emu_gpr(r, c->rm);
			memcpy(buf, &v, len); /* little-endian: the low len bytes */
		}
		memcpy(xreg, buf, 16);
		c->cpu->fpu_changed = true;
		break;
	case MV_TO_GPR:
		if (c->is_mem) {
			if (!emu_mem_write(c, len, 0, xreg))
				return c->result;
		} else {
			uint64_t v = 0;
			memcpy(&v, xreg, len);
			emu_gpr_write(r, c->rm, (int)len, v); /* a 32-bit write zero-extends */
		}
		break;
	}
	return emu_complete(c);
}
