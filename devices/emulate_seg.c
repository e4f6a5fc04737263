/* Fallback instruction emulator, segment-descriptor instructions: LSL, VERR and VERW, which
 * look up the descriptor a selector names in the GDT or LDT and check it (Intel SDM, "LSL",
 * "VERR/VERW"). Decoding and memory access come from emulate.c. */
#define SEPIA_EMULATE_INTERNAL
#include "devices/emulate.h"

#include <string.h>

/* The selector operand of r/m16 (a register's low 16 bits, or 2 bytes of memory). */
static bool selector_operand(struct emu_ctx *c, uint16_t *sel)
{
	uint64_t v = 0;
	if (c->is_mem) {
		if (!emu_mem_read(c, 2, 0, &v))
			return false;
	} else {
		v = *emu_gpr(&c->cpu->regs, c->rm);
	}
	*sel = (uint16_t)v;
	return true;
}

/* The descriptor sel names: false for a null selector, one past its table (GDT or LDT) or
 * one whose bytes cannot be read. */
static bool descriptor(struct emu_ctx *c, uint16_t sel, uint8_t d[8])
{
	const struct kvm_sregs *s = &c->cpu->sregs;
	bool ldt = sel & 4;
	uint64_t table = ldt ? s->ldt.base : s->gdt.base;
	uint32_t table_limit = ldt ? (s->ldt.unusable ? 0 : s->ldt.limit) : s->gdt.limit;
	uint32_t offset = (uint32_t)(sel & ~7u);
	return (ldt || offset != 0) && offset + 7 <= table_limit &&
	       emu_read_virt(c->mem, s, table + offset, d, 8) == 0;
}

/* Whether the privilege levels let the current code see a descriptor: DPL >= CPL and
 * DPL >= RPL, except for conforming code segments. */
static bool visible(const struct emu_ctx *c, uint16_t sel, const uint8_t d[8])
{
	bool system = !(d[5] & 0x10);
	uint8_t type = d[5] & 0x0f, dpl = (d[5] >> 5) & 3;
	uint8_t cpl = c->cpu->sregs.cs.selector & 3, rpl = sel & 3;
	bool conforming_code = !system && (type & 0x0c) == 0x0c;
	return conforming_code || (dpl >= cpl && dpl >= rpl);
}

static enum emu_result set_zf(struct emu_ctx *c, bool zf)
{
	if (zf)
		c->cpu->regs.rflags |= RFLAGS_ZF;
	else
		c->cpu->regs.rflags &= ~RFLAGS_ZF;
	return emu_complete(c);
}

/* LSL r, r/m16: the limit of the segment a selector names. The kernel's paranoid entry (NMI,
 * #DB, #MC) reads its CPU and node number this way from the per-CPU GDT entry, and the
 * interpreting host refuses it (seen: an NMI in a boot on a loaded host). ZF=1 and the
 * limit in the register on success; ZF=0 and the register unchanged for a null selector,
 * one past its table, a descriptor type LSL does not accept, or one the privilege levels
 * do not allow. */
enum emu_result emu_lsl(struct emu_ctx *c)
{
	uint16_t sel;
	uint8_t d[8];
	if (!emu_decode_modrm(c))
		return c->result;
	if (c->lock)
		return emu_raise(c, VEC_UD, false, 0), c->result;
	if (!selector_operand(c, &sel))
		return c->result;
	bool ok = descriptor(c, sel, d);
	if (ok) {
		bool system = !(d[5] & 0x10);
		uint8_t type = d[5] & 0x0f;
		/* In 64-bit mode LSL takes LDTs and 64-bit TSSs (available or busy) of the system types. */
		if (system && type != 0x2 && type != 0x9 && type != 0xb)
			ok = false;
		else if (!visible(c, sel, d))
			ok = false;
	}
	if (!ok)
		return set_zf(c, false);
	uint32_t limit = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)(d[6] & 0x0f) << 16;
	if (d[6] & 0x80) /* granularity: the limit counts 4 KiB pages */
		limit = limit << 12 | 0xfff;
	emu_gpr_write(&c->cpu->regs, c->reg, c->opsize, limit);
	return set_zf(c, true);
}

/* 0f 00 /4 VERR, /5 VERW r/m16: ZF=1 when the segment a selector names may be read (data, or
 * code with R) or written (data with W) at the current privilege, ZF=0 otherwise (system
 * descriptors included). Linux clears CPU buffers with `verw` of its data selector before it
 * idles and on the way back to user space (the MDS mitigations), and the interpreting host
 * refuses it: seen, a stock kernel's second vCPU ended at its first idle. The other
 * instructions of the group (sldt, str, lldt, ltr) are not emulated. */
enum emu_result emu_grp6(struct emu_ctx *c)
{
	uint16_t sel;
	uint8_t d[8];
	if (!emu_decode_modrm(c))
		return c->result;
	unsigned int op = c->reg & 7; /* the ModRM.reg digit, whatever REX.R says */
	if (op != 4 && op != 5)
		return emu_unhandled(c, "0f 00: only verr and verw are emulated");
	if (c->lock)
		return emu_raise(c, VEC_UD, false, 0), c->result;
	if (!selector_operand(c, &sel))
		return c->result;
	bool ok = descriptor(c, sel, d) && (d[5] & 0x10) && visible(c, sel, d);
	if (ok) {
		uint8_t type = d[5] & 0x0f;
		bool code = type & 0x8;
		ok = op == 5 ? !code && (type & 0x2) : !code || (type & 0x2);
	}
	return set_zf(c, ok);
}
