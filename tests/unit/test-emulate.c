/* Unit tests of the fallback instruction emulator (devices/emulate.c, emulate_sse.c).
 * Each test builds a fake guest RAM with real x86 page tables, puts real instruction
 * bytes at a mapped virtual RIP, runs emu_step() and checks registers, memory and the
 * exception it queued. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "devices/emulate.h"

#define RAM_SIZE (8ull << 20)

#define CR0_PE         (1ull << 0)
#define CR0_MP         (1ull << 1)
#define CR0_TS         (1ull << 3)
#define CR0_ET         (1ull << 4)
#define CR0_NE         (1ull << 5)
#define CR0_WP         (1ull << 16)
#define CR0_PG         (1ull << 31)
#define CR4_PSE        (1ull << 4)
#define CR4_PAE        (1ull << 5)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_LA57       (1ull << 12)
#define CR4_OSXSAVE    (1ull << 18)
#define CR4_SMAP       (1ull << 21)
#define EFER_LME       (1ull << 8)
#define EFER_LMA       (1ull << 10)
#define EFER_NXE       (1ull << 11)
#define RFLAGS_ZF      (1ull << 6)
#define RFLAGS_AC      (1ull << 18)

#define PTE_P    0x1ull
#define PTE_W    0x2ull
#define PTE_U    0x4ull
#define PTE_A    0x20ull
#define PTE_D    0x40ull
#define PTE_PS   0x80ull
#define PTE_ADDR 0x000ffffffffff000ull

/* Guest-virtual layout used by most tests (physical pages deliberately not
 * contiguous, so page-crossing code must really walk twice). */
#define CODE_VA  0xffffffff81000000ull /* -> 0x100000, next page -> 0x103000 */
#define CODE_PA  0x100000ull
#define CODE2_PA 0x103000ull
#define DATA_VA  0x0000000040000000ull /* -> 0x201000, next page -> 0x205000 */
#define DATA_PA  0x201000ull
#define DATA2_PA 0x205000ull
#define HOLE_VA  (DATA_VA + 0x2000)    /* not mapped */
#define RO_VA    0x0000000040010000ull /* read-only -> 0x207000 */
#define RO_PA    0x207000ull
#define USER_VA  0x0000000040020000ull /* user page -> 0x208000 */
#define USER_PA  0x208000ull
#define BIG_VA   0xffffffff80000000ull /* 2 MiB page -> 0x400000 */
#define BIG_PA   0x400000ull
#define GIG_VA   0x0000008000000000ull /* 1 GiB page -> 0 */

struct fx {
	uint8_t *ram;
	struct guest_mem mem;
	uint64_t next_table;
	bool la57;
	struct emu_vcpu cpu;
	char detail[256];
};

static uint64_t *entry_at(struct fx *f, uint64_t gpa)
{
	g_assert_cmpuint(gpa + 8, <=, RAM_SIZE);
	return (uint64_t *)(f->ram + gpa);
}

static uint64_t alloc_table(struct fx *f)
{
	uint64_t t = f->next_table;
	f->next_table += 0x1000;
	g_assert_cmpuint(f->next_table, <=, 0x80000);
	memset(f->ram + t, 0, 0x1000);
	return t;
}

/* Maps va -> pa with a leaf at level 0 (4 KiB), 1 (2 MiB) or 2 (1 GiB), creating
 * intermediate tables (present, writable, supervisor) as needed. */
static void map(struct fx *f, uint64_t va, uint64_t pa, int leaf, uint64_t flags)
{
	int levels = f->la57 ? 5 : 4;
	uint64_t table = f->cpu.sregs.cr3 & PTE_ADDR;
	for (int lvl = levels - 1; lvl > leaf; lvl--) {
		uint64_t *e = entry_at(f, table + 8 * ((va >> (12 + 9 * lvl)) & 511));
		if (!(*e & PTE_P))
			*e = alloc_table(f) | PTE_P | PTE_W;
		*e |= flags & PTE_U; /* a user page needs U at every level */
		table = *e & PTE_ADDR;
	}
	uint64_t *e = entry_at(f, table + 8 * ((va >> (12 + 9 * leaf)) & 511));
	*e = pa | flags | (leaf ? PTE_PS : 0);
}

/* Leaf entry of a 4 KiB mapping made with map(). */
static uint64_t *leaf_pte(struct fx *f, uint64_t va)
{
	uint64_t table = f->cpu.sregs.cr3 & PTE_ADDR;
	for (int lvl = (f->la57 ? 4 : 3); lvl > 0; lvl--)
		table = *entry_at(f, table + 8 * ((va >> (12 + 9 * lvl)) & 511)) & PTE_ADDR;
	return entry_at(f, table + 8 * ((va >> 12) & 511));
}

static struct fx *fx_new_mode(bool la57)
{
	struct fx *f = g_new0(struct fx, 1);
	f->ram = aligned_alloc(4096, RAM_SIZE);
	g_assert_nonnull(f->ram);
	memset(f->ram, 0, RAM_SIZE);
	f->mem.nr_regions = 1;
	f->mem.region[0] = (struct guest_mem_region){ .gpa = 0, .size = RAM_SIZE, .host = f->ram };
	f->next_table = 0x10000;
	f->la57 = la57;

	/* 64-bit long mode, ring 0, SSE enabled by the OS, as Linux runs. */
	struct kvm_sregs *s = &f->cpu.sregs;
	s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | (la57 ? CR4_LA57 : 0);
	s->efer = EFER_LME | EFER_LMA | EFER_NXE;
	s->cr3 = alloc_table(f);
	s->cs = (struct kvm_segment){ .selector = 0x10, .type = 11, .present = 1, .s = 1, .l = 1, .g = 1 };
	s->ds = s->es = s->ss =
		(struct kvm_segment){ .selector = 0x18, .type = 3, .present = 1, .s = 1, .db = 1, .g = 1 };
	f->cpu.regs.rflags = 0x2;
	f->cpu.fpu.fcw = 0x37f;
	f->cpu.fpu.mxcsr = 0x1f80;

	map(f, CODE_VA, CODE_PA, 0, PTE_P | PTE_W);
	map(f, CODE_VA + 0x1000, CODE2_PA, 0, PTE_P | PTE_W);
	map(f, DATA_VA, DATA_PA, 0, PTE_P | PTE_W);
	map(f, DATA_VA + 0x1000, DATA2_PA, 0, PTE_P | PTE_W);
	map(f, RO_VA, RO_PA, 0, PTE_P);
	map(f, USER_VA, USER_PA, 0, PTE_P | PTE_W | PTE_U);
	map(f, BIG_VA, BIG_PA, 1, PTE_P | PTE_W);
	map(f, GIG_VA, 0, 2, PTE_P | PTE_W);
	return f;
}

static struct fx *fx_new(void) { return fx_new_mode(false); }

static void fx_free(struct fx *f)
{
	free(f->ram);
	g_free(f);
}

/* Puts the instruction at virtual rip (whose physical address is pa) and runs it. */
static enum emu_result run_at(struct fx *f, uint64_t rip, uint64_t pa, const uint8_t *insn, size_t len)
{
	memcpy(f->ram + pa, insn, len);
	f->cpu.regs.rip = rip;
	f->cpu.regs_changed = f->cpu.sregs_changed = f->cpu.fpu_changed = false;
	f->detail[0] = '\0';
	return emu_step(&f->cpu, &f->mem, f->detail, sizeof(f->detail));
}

#define BYTES(...)  (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })
#define RUN(f, ...) run_at((f), CODE_VA, CODE_PA, BYTES(__VA_ARGS__))

/* Handled, nothing injected, RIP advanced by len. */
static void assert_done(struct fx *f, enum emu_result r, uint64_t start, size_t len)
{
	g_assert_cmpint(r, ==, EMU_HANDLED);
	g_assert_cmpint(f->cpu.inject_vector, ==, -1);
	g_assert_cmphex(f->cpu.regs.rip, ==, start + len);
	g_assert_true(f->cpu.regs_changed);
}

/* Handled by queueing a fault: RIP unchanged. */
static void assert_fault(struct fx *f, enum emu_result r, int vector, bool has_error, uint32_t error)
{
	g_assert_cmpint(r, ==, EMU_HANDLED);
	g_assert_cmpint(f->cpu.inject_vector, ==, vector);
	g_assert_cmpint(f->cpu.inject_has_error, ==, has_error);
	if (has_error)
		g_assert_cmphex(f->cpu.inject_error, ==, error);
	g_assert_cmphex(f->cpu.regs.rip, ==, CODE_VA);
}

static void put32(struct fx *f, uint64_t pa, uint32_t v) { memcpy(f->ram + pa, &v, 4); }
static uint32_t get32(struct fx *f, uint64_t pa)
{
	uint32_t v;
	memcpy(&v, f->ram + pa, 4);
	return v;
}
static uint64_t get64(struct fx *f, uint64_t pa)
{
	uint64_t v;
	memcpy(&v, f->ram + pa, 8);
	return v;
}

static void fill_xmm(struct fx *f, int n, uint8_t first)
{
	for (int i = 0; i < 16; i++)
		f->cpu.fpu.xmm[n][i] = (uint8_t)(first + i);
}

/* ================================================================ page walk */

static void test_translate_4k(void)
{
	struct fx *f = fx_new();
	uint64_t gpa = 0;
	g_assert_cmpint(emu_translate(&f->mem, &f->cpu.sregs, DATA_VA + 0x123, &gpa), ==, 0);
	g_assert_cmphex(gpa, ==, DATA_PA + 0x123);
	g_assert_cmpint(emu_translate(&f->mem, &f->cpu.sregs, DATA_VA + 0x1fff, &gpa), ==, 0);
	g_assert_cmphex(gpa, ==, DATA2_PA + 0xfff);
	g_assert_cmpint(emu_translate(&f->mem, &f->cpu.sregs, CODE_VA + 0x10, &gpa), ==, 0);
	g_assert_cmphex(gpa, ==, CODE_PA + 0x10);
	fx_free(f);
}

static void test_translate_2m(void)
{
	struct fx *f = fx_new();
	uint64_t gpa = 0;
	g_assert_cmpint(emu_translate(&f->mem, &f->cpu.sregs, BIG_VA + 0x12345, &gpa), ==, 0);
	g_assert_cmphex(gpa, ==, BIG_PA + 0x12345);
	g_assert_cmpint(emu_translate(&f->mem, &f->cpu.sregs, BIG_VA + 0x1fffff, &gpa), ==, 0);
	g_assert_cmphex(gpa, ==, BIG_PA + 0x1fffff);

	/* and an instruction executed from the 2 MiB page: int3 */
	enum emu_result r = run_at(f, BIG_VA + 0x1234, BIG_PA + 0x1234, BYTES(0xcc));
	g_assert_cmpint(r, ==, EMU_HANDLED);
	g_assert_cmphex(f->cpu.regs.rip, ==, BIG_VA + 0x1235);
	g_assert_cmpint(f->cpu.inject_vector, ==, 3);
	fx_free(f);
}

static void test_translate_1g(void)
{
	struct fx *f = fx_new();
	uint64_t gpa = 0;
	g_assert_cmpint(emu_translate(&f->mem, &f->cpu.sregs, GIG_VA + 0x3456789, &gpa), ==, 0);
	g_assert_cmphex(gpa, ==, 0x3456789);
	/* the 1 GiB page covers more than RAM: translation works, access does not */
	g_assert_cmpint(emu_translate(&f->mem, &f->cpu.sregs, GIG_VA + 0x30000000, &gpa), ==, 0);
	g_assert_cmphex(gpa, ==, 0x30000000);
	uint8_t b[4];
	g_assert_cmpint(emu_read_virt(&f->mem, &f->cpu.sregs, GIG_VA + 0x30000000, b, 4), ==, -EFAULT);
	put32(f, 0x300000, 0xcafef00d);
	g_assert_cmpint(emu_read_virt(&f->mem, &f->cpu.sregs, GIG_VA + 0x300000, b, 4), ==, 0);
	g_assert_cmphex(*(uint32_t *)b, ==, 0xcafef00d);
	fx_free(f);
}

static void test_translate_5level(void)
{
	struct fx *f = fx_new_mode(true);
	uint64_t va = 0x0001000000005000ull; /* PML5 index 1: beyond what 4 levels reach */
	map(f, va, 0x209000, 0, PTE_P | PTE_W);
	uint64_t gpa = 0;
	g_assert_cmpint(emu_translate(&f->mem, &f->cpu.sregs, va + 0x42, &gpa), ==, 0);
	g_assert_cmphex(gpa, ==, 0x209042);
	g_assert_cmpint(emu_translate(&f->mem, &f->cpu.sregs, DATA_VA + 8, &gpa), ==, 0);
	g_assert_cmphex(gpa, ==, DATA_PA + 8);

	/* the same tables read as 4-level give a different (absent) answer */
	struct kvm_sregs four = f->cpu.sregs;
	four.cr4 &= ~CR4_LA57;
	g_assert_cmpint(emu_translate(&f->mem, &four, va + 0x42, &gpa), ==, -EFAULT);

	/* an instruction under 5-level paging: ldmxcsr [rax] */
	put32(f, 0x209000, 0x1fa0);
	f->cpu.regs.rax = va;
	enum emu_result r = RUN(f, 0x0f, 0xae, 0x10);
	assert_done(f, r, CODE_VA, 3);
	g_assert_cmphex(f->cpu.fpu.mxcsr, ==, 0x1fa0);
	fx_free(f);
}

static void test_translate_paging_off(void)
{
	struct fx *f = fx_new();
	struct kvm_sregs s = f->cpu.sregs;
	s.cr0 &= ~CR0_PG;
	s.efer &= ~(EFER_LMA | EFER_LME);
	uint64_t gpa = 0;
	g_assert_cmpint(emu_translate(&f->mem, &s, 0x123456, &gpa), ==, 0);
	g_assert_cmphex(gpa, ==, 0x123456);
	fx_free(f);
}

static void test_translate_not_present(void)
{
	struct fx *f = fx_new();
	uint64_t gpa = 0;
	uint8_t b[8];
	g_assert_cmpint(emu_translate(&f->mem, &f->cpu.sregs, HOLE_VA, &gpa), ==, -EFAULT);
	g_assert_cmpint(emu_translate(&f->mem, &f->cpu.sregs, 0x00007f0000000000ull, &gpa), ==, -EFAULT);
	g_assert_cmpint(emu_read_virt(&f->mem, &f->cpu.sregs, HOLE_VA + 4, b, 8), ==, -EFAULT);
	/* a present PTE turned not-present */
	*leaf_pte(f, DATA_VA) &= ~PTE_P;
	g_assert_cmpint(emu_translate(&f->mem, &f->cpu.sregs, DATA_VA, &gpa), ==, -EFAULT);
	fx_free(f);
}

static void test_translate_outside_ram(void)
{
	struct fx *f = fx_new();
	uint64_t gpa = 0;
	/* a PML4 entry pointing to a "table" at 1 GiB, past the 8 MiB of RAM */
	uint64_t va = 0x0000010000000000ull; /* PML4 index 2 */
	*entry_at(f, (f->cpu.sregs.cr3 & PTE_ADDR) + 8 * 2) = 0x40000000ull | PTE_P | PTE_W;
	g_assert_cmpint(emu_translate(&f->mem, &f->cpu.sregs, va, &gpa), ==, -EFAULT);
	/* CR3 itself outside RAM */
	struct kvm_sregs s = f->cpu.sregs;
	s.cr3 = 0x7ffff000000ull;
	g_assert_cmpint(emu_translate(&f->mem, &s, DATA_VA, &gpa), ==, -EFAULT);

	/* a memory operand behind such tables cannot be emulated: EMU_FAULT, no #PF */
	f->cpu.regs.rax = va;
	enum emu_result r = RUN(f, 0x0f, 0xae, 0x10);
	g_assert_cmpint(r, ==, EMU_FAULT);
	g_assert_cmpint(f->cpu.inject_vector, ==, -1);
	g_assert_cmphex(f->cpu.regs.rip, ==, CODE_VA);
	fx_free(f);
}

static void test_translate_legacy32(void)
{
	/* 32-bit 2-level paging: a 4 MiB page (CR4.PSE) and a 4 KiB page */
	struct fx *f = fx_new();
	struct kvm_sregs s = f->cpu.sregs;
	s.efer = 0;
	s.cr4 = CR4_PSE | CR4_OSFXSR;
	s.cr3 = 0x30000;
	uint32_t pde1 = 0x400000 | 0x83, pde2 = 0x31000 | 0x3, pte5 = 0x205000 | 0x3;
	memcpy(f->ram + 0x30000 + 4 * 1, &pde1, 4);
	memcpy(f->ram + 0x30000 + 4 * 2, &pde2, 4);
	memcpy(f->ram + 0x31000 + 4 * 5, &pte5, 4);
	uint64_t gpa = 0;
	g_assert_cmpint(emu_translate(&f->mem, &s, 0x412345, &gpa), ==, 0);
	g_assert_cmphex(gpa, ==, 0x412345);
	g_assert_cmpint(emu_translate(&f->mem, &s, 0x805123, &gpa), ==, 0);
	g_assert_cmphex(gpa, ==, 0x205123);
	g_assert_cmpint(emu_translate(&f->mem, &s, 0x806000, &gpa), ==, -EFAULT);
	fx_free(f);
}

static void test_translate_pae(void)
{
	/* PAE 3-level paging: PDPTE -> PD with a 2 MiB page and a 4 KiB page */
	struct fx *f = fx_new();
	struct kvm_sregs s = f->cpu.sregs;
	s.efer = 0;
	s.cr3 = 0x32000;
	*entry_at(f, 0x32000 + 8 * 1) = 0x33000 | PTE_P;
	*entry_at(f, 0x33000 + 8 * 0) = 0x600000 | PTE_P | PTE_W | PTE_PS;
	*entry_at(f, 0x33000 + 8 * 1) = 0x34000 | PTE_P | PTE_W;
	*entry_at(f, 0x34000 + 8 * 3) = 0x206000 | PTE_P | PTE_W;
	uint64_t gpa = 0;
	g_assert_cmpint(emu_translate(&f->mem, &s, 0x40012345, &gpa), ==, 0);
	g_assert_cmphex(gpa, ==, 0x612345);
	g_assert_cmpint(emu_translate(&f->mem, &s, 0x40203456, &gpa), ==, 0);
	g_assert_cmphex(gpa, ==, 0x206456);
	g_assert_cmpint(emu_translate(&f->mem, &s, 0x80000000, &gpa), ==, -EFAULT);
	fx_free(f);
}

static void test_rw_page_crossing(void)
{
	struct fx *f = fx_new();
	const uint8_t data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t back[8] = { 0 };
	g_assert_cmpint(emu_write_virt(&f->mem, &f->cpu.sregs, DATA_VA + 0xffc, data, 8), ==, 0);
	g_assert_cmpmem(f->ram + DATA_PA + 0xffc, 4, data, 4);
	g_assert_cmpmem(f->ram + DATA2_PA, 4, data + 4, 4);
	g_assert_cmpint(emu_read_virt(&f->mem, &f->cpu.sregs, DATA_VA + 0xffc, back, 8), ==, 0);
	g_assert_cmpmem(back, 8, data, 8);

	/* second page not mapped: fails, and the first page is left untouched */
	g_assert_cmpint(emu_write_virt(&f->mem, &f->cpu.sregs, DATA_VA + 0x1ffc, data, 8), ==, -EFAULT);
	g_assert_cmphex(get64(f, DATA2_PA + 0xff8), ==, 0);
	g_assert_cmpint(emu_read_virt(&f->mem, &f->cpu.sregs, DATA_VA + 0x1ffc, back, 8), ==, -EFAULT);
	fx_free(f);
}

/* ================================================================ fetch */

static void test_fetch_unreadable(void)
{
	struct fx *f = fx_new();
	f->cpu.regs.rip = HOLE_VA;
	enum emu_result r = emu_step(&f->cpu, &f->mem, f->detail, sizeof(f->detail));
	g_assert_cmpint(r, ==, EMU_FAULT);
	g_assert_cmpint(f->cpu.inject_vector, ==, -1);
	g_assert_nonnull(strstr(f->detail, "not readable"));
	fx_free(f);
}

static void test_fetch_page_crossing(void)
{
	struct fx *f = fx_new();
	/* movd xmm15, ecx split 3/2 across two non-contiguous physical pages */
	memcpy(f->ram + CODE_PA + 0xffd, (const uint8_t[]){ 0x66, 0x44, 0x0f }, 3);
	memcpy(f->ram + CODE2_PA, (const uint8_t[]){ 0x6e, 0xf9 }, 2);
	f->cpu.regs.rip = CODE_VA + 0xffd;
	f->cpu.regs.rcx = 0x11223344;
	uint8_t buf[EMU_MAX_INSN];
	g_assert_cmpuint(emu_fetch_insn(&f->mem, &f->cpu, buf), ==, EMU_MAX_INSN);
	enum emu_result r = emu_step(&f->cpu, &f->mem, f->detail, sizeof(f->detail));
	assert_done(f, r, CODE_VA + 0xffd, 5);
	g_assert_cmphex(f->cpu.fpu.xmm[15][0], ==, 0x44);

	/* an instruction that runs into an unmapped page */
	memcpy(f->ram + DATA2_PA + 0xffe, (const uint8_t[]){ 0x66, 0x44 }, 2);
	f->cpu.regs.rip = DATA_VA + 0x1ffe;
	g_assert_cmpuint(emu_fetch_insn(&f->mem, &f->cpu, buf), ==, 2);
	r = emu_step(&f->cpu, &f->mem, f->detail, sizeof(f->detail));
	g_assert_cmpint(r, ==, EMU_FAULT);
	fx_free(f);
}

/* ================================================================ simple instructions */

static void test_int3(void)
{
	struct fx *f = fx_new();
	enum emu_result r = RUN(f, 0xcc);
	g_assert_cmpint(r, ==, EMU_HANDLED);
	g_assert_cmphex(f->cpu.regs.rip, ==, CODE_VA + 1); /* trap: after the instruction */
	g_assert_cmpint(f->cpu.inject_vector, ==, 3);
	g_assert_false(f->cpu.inject_has_error);
	g_assert_true(f->cpu.regs_changed);
	fx_free(f);
}

static void test_ud2(void)
{
	struct fx *f = fx_new();
	enum emu_result r = RUN(f, 0x0f, 0x0b);
	assert_fault(f, r, 6, false, 0);
	fx_free(f);
}

static void test_clac_stac(void)
{
	struct fx *f = fx_new();
	enum emu_result r = RUN(f, 0x0f, 0x01, 0xcb); /* stac */
	assert_done(f, r, CODE_VA, 3);
	g_assert_cmphex(f->cpu.regs.rflags, ==, 0x2 | RFLAGS_AC);
	r = RUN(f, 0x0f, 0x01, 0xca); /* clac */
	assert_done(f, r, CODE_VA, 3);
	g_assert_cmphex(f->cpu.regs.rflags, ==, 0x2);

	/* ring 3: #UD */
	f->cpu.sregs.cs.selector = 0x33;
	r = RUN(f, 0x0f, 0x01, 0xcb);
	assert_fault(f, r, 6, false, 0);
	g_assert_cmphex(f->cpu.regs.rflags, ==, 0x2);
	fx_free(f);
}

static void test_fwait(void)
{
	struct fx *f = fx_new();
	enum emu_result r = RUN(f, 0x9b);
	assert_done(f, r, CODE_VA, 1);
	/* CR0.TS with CR0.MP: #NM (device not available) */
	f->cpu.sregs.cr0 |= CR0_TS;
	r = RUN(f, 0x9b);
	assert_fault(f, r, 7, false, 0);
	fx_free(f);
}

static void test_lfence(void)
{
	struct fx *f = fx_new();
	enum emu_result r = RUN(f, 0x0f, 0xae, 0xe8); /* lfence */
	assert_done(f, r, CODE_VA, 3);
	r = RUN(f, 0x0f, 0xae, 0xf0); /* mfence */
	assert_done(f, r, CODE_VA, 3);
	fx_free(f);
}

/* ================================================================ ldmxcsr / stmxcsr */

/* Runs an ldmxcsr form that must load 0x1fa0 from data placed at pa. */
static void check_ldmxcsr(struct fx *f, uint64_t pa, const uint8_t *insn, size_t len)
{
	put32(f, pa, 0x1fa0);
	f->cpu.fpu.mxcsr = 0x1f80;
	enum emu_result r = run_at(f, CODE_VA, CODE_PA, insn, len);
	assert_done(f, r, CODE_VA, len);
	g_assert_cmphex(f->cpu.fpu.mxcsr, ==, 0x1fa0);
	g_assert_true(f->cpu.fpu_changed);
	put32(f, pa, 0);
}

static void test_ldmxcsr_modrm(void)
{
	struct fx *f = fx_new();
	struct kvm_regs *g = &f->cpu.regs;
	g->rax = DATA_VA + 0x10;
	check_ldmxcsr(f, DATA_PA + 0x10, BYTES(0x0f, 0xae, 0x10));                          /* [rax] */
	check_ldmxcsr(f, DATA_PA + 0x18, BYTES(0x0f, 0xae, 0x50, 0x08));                    /* [rax+8] */
	check_ldmxcsr(f, DATA_PA + 0x08, BYTES(0x0f, 0xae, 0x50, 0xf8));                    /* [rax-8] */
	check_ldmxcsr(f, DATA_PA + 0x110, BYTES(0x0f, 0xae, 0x90, 0x00, 0x01, 0x00, 0x00)); /* [rax+0x100] */
	g->rcx = 3;
	check_ldmxcsr(f, DATA_PA + 0x1c, BYTES(0x0f, 0xae, 0x14, 0x88)); /* [rax+rcx*4] */
	g->rsp = DATA_VA + 0x200;
	check_ldmxcsr(f, DATA_PA + 0x210, BYTES(0x0f, 0xae, 0x54, 0x24, 0x10)); /* [rsp+0x10] */
	g->rbp = DATA_VA + 0x300;
	check_ldmxcsr(f, DATA_PA + 0x304, BYTES(0x0f, 0xae, 0x55, 0x04)); /* [rbp+4] */
	g->rbx = DATA_VA + 0x400;
	check_ldmxcsr(f, DATA_PA + 0x400, BYTES(0x0f, 0xae, 0x13)); /* [rbx] */
	/* SIB without base: [disp32] (absolute, 0x40000500 = DATA_VA + 0x500) */
	check_ldmxcsr(f, DATA_PA + 0x500, BYTES(0x0f, 0xae, 0x14, 0x25, 0x00, 0x05, 0x00, 0x40));
	/* RIP-relative: [rip + 0x800 - 7] = CODE_VA + 0x800 */
	check_ldmxcsr(f, CODE_PA + 0x800, BYTES(0x0f, 0xae, 0x15, 0xf9, 0x07, 0x00, 0x00));
	/* 67: 32-bit address size, [eax] ignores the upper half of rax */
	g->rax = 0xffff000000000000ull | (DATA_VA + 0x20);
	check_ldmxcsr(f, DATA_PA + 0x20, BYTES(0x67, 0x0f, 0xae, 0x10));
	fx_free(f);
}

static void test_ldmxcsr_rex(void)
{
	struct fx *f = fx_new();
	struct kvm_regs *g = &f->cpu.regs;
	g->r9 = DATA_VA + 0x40;
	check_ldmxcsr(f, DATA_PA + 0x40, BYTES(0x41, 0x0f, 0xae, 0x11)); /* [r9] (REX.B) */
	g->rax = DATA_VA + 0x100;
	g->r9 = 0x24;
	check_ldmxcsr(f, DATA_PA + 0x124, BYTES(0x42, 0x0f, 0xae, 0x14, 0x08)); /* [rax+r9] (REX.X) */
	g->r12 = DATA_VA + 0x60;
	check_ldmxcsr(f, DATA_PA + 0x60, BYTES(0x41, 0x0f, 0xae, 0x14, 0x24)); /* [r12] needs SIB */
	g->r13 = DATA_VA + 0x70;
	check_ldmxcsr(f, DATA_PA + 0x78, BYTES(0x41, 0x0f, 0xae, 0x55, 0x08)); /* [r13+8], not RIP-rel */
	g->r12 = 0x10;
	g->rdx = DATA_VA + 0x80;
	check_ldmxcsr(f, DATA_PA + 0xc0, BYTES(0x42, 0x0f, 0xae, 0x14, 0xa2)); /* [rdx+r12*4] */
	g->r15 = DATA_VA + 0x90;
	check_ldmxcsr(f, DATA_PA + 0x90, BYTES(0x49, 0x0f, 0xae, 0x17)); /* REX.WB [r15] */
	/* a legacy prefix after REX cancels it: 41 3e 0f ae 11 is ds:[rcx] */
	g->rcx = DATA_VA + 0xa0;
	check_ldmxcsr(f, DATA_PA + 0xa0, BYTES(0x41, 0x3e, 0x0f, 0xae, 0x11));
	fx_free(f);
}

static void test_ldmxcsr_segments(void)
{
	struct fx *f = fx_new();
	f->cpu.sregs.gs.base = DATA_VA + 0x800;
	f->cpu.sregs.fs.base = DATA_VA + 0x900;
	f->cpu.sregs.ds.base = 0x1000000; /* ignored in 64-bit mode */
	f->cpu.regs.rax = 0x10;
	/* gs:[0x20] */
	check_ldmxcsr(f, DATA_PA + 0x820, BYTES(0x65, 0x0f, 0xae, 0x14, 0x25, 0x20, 0x00, 0x00, 0x00));
	/* fs:[rax+0x10] */
	check_ldmxcsr(f, DATA_PA + 0x920, BYTES(0x64, 0x0f, 0xae, 0x50, 0x10));
	/* ds:[rax] stays flat */
	f->cpu.regs.rax = DATA_VA + 0x30;
	check_ldmxcsr(f, DATA_PA + 0x30, BYTES(0x3e, 0x0f, 0xae, 0x10));
	fx_free(f);
}

static void test_ldmxcsr_reserved(void)
{
	struct fx *f = fx_new();
	f->cpu.regs.rax = DATA_VA;
	put32(f, DATA_PA, 0x11f80);
	enum emu_result r = RUN(f, 0x0f, 0xae, 0x10);
	assert_fault(f, r, 13, true, 0);
	g_assert_cmphex(f->cpu.fpu.mxcsr, ==, 0x1f80);
	g_assert_false(f->cpu.fpu_changed);
	fx_free(f);
}

static void test_stmxcsr(void)
{
	struct fx *f = fx_new();
	memset(f->ram + DATA_PA, 0xaa, 16);
	f->cpu.fpu.mxcsr = 0x9fc0;
	f->cpu.regs.rdi = DATA_VA + 4;
	enum emu_result r = RUN(f, 0x0f, 0xae, 0x1f); /* stmxcsr [rdi] */
	assert_done(f, r, CODE_VA, 3);
	g_assert_cmphex(get32(f, DATA_PA + 4), ==, 0x9fc0);
	g_assert_cmphex(get32(f, DATA_PA), ==, 0xaaaaaaaa);
	g_assert_cmphex(get32(f, DATA_PA + 8), ==, 0xaaaaaaaa);
	/* the CPU sets accessed and dirty in the PTE it wrote through */
	g_assert_cmphex(*leaf_pte(f, DATA_VA) & (PTE_A | PTE_D), ==, PTE_A | PTE_D);

	/* page-crossing store: 2 bytes in each page */
	f->cpu.regs.rdi = DATA_VA + 0xffe;
	r = RUN(f, 0x0f, 0xae, 0x1f);
	assert_done(f, r, CODE_VA, 3);
	g_assert_cmphex(f->ram[DATA_PA + 0xffe], ==, 0xc0);
	g_assert_cmphex(f->ram[DATA_PA + 0xfff], ==, 0x9f);
	g_assert_cmphex(f->ram[DATA2_PA + 0], ==, 0x00);
	fx_free(f);
}

static void test_mxcsr_vex(void)
{
	struct fx *f = fx_new();
	f->cpu.sregs.cr4 |= CR4_OSXSAVE;
	f->cpu.regs.rax = DATA_VA + 0x10;
	check_ldmxcsr(f, DATA_PA + 0x10, BYTES(0xc5, 0xf8, 0xae, 0x10));       /* vldmxcsr [rax] */
	check_ldmxcsr(f, DATA_PA + 0x10, BYTES(0xc4, 0xe1, 0x78, 0xae, 0x10)); /* 3-byte VEX form */
	f->cpu.fpu.mxcsr = 0x1f81;
	enum emu_result r = RUN(f, 0xc5, 0xf8, 0xae, 0x18); /* vstmxcsr [rax] */
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmphex(get32(f, DATA_PA + 0x10), ==, 0x1f81);
	/* VEX.vvvv other than 1111b: #UD */
	r = RUN(f, 0xc5, 0xf0, 0xae, 0x10);
	assert_fault(f, r, 6, false, 0);
	/* VEX.L=1: #UD */
	r = RUN(f, 0xc5, 0xfc, 0xae, 0x10);
	assert_fault(f, r, 6, false, 0);
	/* without CR4.OSXSAVE VEX is #UD */
	f->cpu.sregs.cr4 &= ~CR4_OSXSAVE;
	r = RUN(f, 0xc5, 0xf8, 0xae, 0x10);
	assert_fault(f, r, 6, false, 0);
	fx_free(f);
}

static void test_mxcsr_prefixes(void)
{
	struct fx *f = fx_new();
	f->cpu.regs.rax = DATA_VA;
	/* 66/F3/F2 make 0f ae /2 something other than ldmxcsr: not guessed at */
	g_assert_cmpint(RUN(f, 0x66, 0x0f, 0xae, 0x10), ==, EMU_UNHANDLED);
	g_assert_cmpint(RUN(f, 0xf3, 0x0f, 0xae, 0x10), ==, EMU_UNHANDLED);
	g_assert_cmpint(RUN(f, 0xf2, 0x0f, 0xae, 0x18), ==, EMU_UNHANDLED);
	g_assert_cmphex(f->cpu.regs.rip, ==, CODE_VA);
	/* lock: #UD */
	enum emu_result r = RUN(f, 0xf0, 0x0f, 0xae, 0x10);
	assert_fault(f, r, 6, false, 0);
	/* CR0.TS: #NM; CR4.OSFXSR clear: #UD */
	f->cpu.sregs.cr0 |= CR0_TS;
	r = RUN(f, 0x0f, 0xae, 0x10);
	assert_fault(f, r, 7, false, 0);
	f->cpu.sregs.cr0 &= ~CR0_TS;
	f->cpu.sregs.cr4 &= ~CR4_OSFXSR;
	r = RUN(f, 0x0f, 0xae, 0x10);
	assert_fault(f, r, 6, false, 0);
	fx_free(f);
}

static void test_mxcsr_page_faults(void)
{
	struct fx *f = fx_new();
	/* read from an unmapped page: #PF, error 0 (not present, read, supervisor) */
	f->cpu.regs.rax = HOLE_VA + 0x44;
	enum emu_result r = RUN(f, 0x0f, 0xae, 0x10);
	assert_fault(f, r, 14, true, 0);
	g_assert_cmphex(f->cpu.sregs.cr2, ==, HOLE_VA + 0x44);
	g_assert_true(f->cpu.sregs_changed);

	/* write to a read-only page (CR0.WP): error 3 (present, write) */
	f->cpu.regs.rax = RO_VA + 8;
	r = RUN(f, 0x0f, 0xae, 0x18);
	assert_fault(f, r, 14, true, 0x3);
	g_assert_cmphex(f->cpu.sregs.cr2, ==, RO_VA + 8);
	g_assert_cmphex(get32(f, RO_PA + 8), ==, 0);

	/* write to an unmapped page: error 2 */
	f->cpu.regs.rax = HOLE_VA;
	r = RUN(f, 0x0f, 0xae, 0x18);
	assert_fault(f, r, 14, true, 0x2);

	/* store crossing into an unmapped page: CR2 is the first byte of that page,
	 * and the mapped half is not written */
	f->cpu.regs.rax = DATA_VA + 0x1ffe;
	f->ram[DATA2_PA + 0xffe] = 0x55;
	r = RUN(f, 0x0f, 0xae, 0x18);
	assert_fault(f, r, 14, true, 0x2);
	g_assert_cmphex(f->cpu.sregs.cr2, ==, HOLE_VA);
	g_assert_cmphex(f->ram[DATA2_PA + 0xffe], ==, 0x55);

	/* ring 3 reading a supervisor page: error 5 (present, user) */
	f->cpu.sregs.cs.selector = 0x33;
	f->cpu.regs.rax = DATA_VA;
	r = RUN(f, 0x0f, 0xae, 0x10);
	assert_fault(f, r, 14, true, 0x5);
	/* ring 3 on its own page works */
	f->cpu.regs.rax = USER_VA;
	put32(f, USER_PA, 0x1f00);
	r = RUN(f, 0x0f, 0xae, 0x10);
	assert_done(f, r, CODE_VA, 3);
	g_assert_cmphex(f->cpu.fpu.mxcsr, ==, 0x1f00);

	/* SMAP: ring 0 touching a user page faults unless RFLAGS.AC */
	f->cpu.sregs.cs.selector = 0x10;
	f->cpu.sregs.cr4 |= CR4_SMAP;
	r = RUN(f, 0x0f, 0xae, 0x10);
	assert_fault(f, r, 14, true, 0x1);
	f->cpu.regs.rflags |= RFLAGS_AC;
	r = RUN(f, 0x0f, 0xae, 0x10);
	assert_done(f, r, CODE_VA, 3);

	/* non-canonical address: #GP(0), not #PF */
	f->cpu.regs.rax = 0x0000800000000000ull;
	r = RUN(f, 0x0f, 0xae, 0x10);
	assert_fault(f, r, 13, true, 0);
	fx_free(f);
}

/* ================================================================ SSE moves */

static void test_movd_xmm15_ecx(void)
{
	/* the vector measured on the interpreting host, inside kernel_fpu_begin */
	struct fx *f = fx_new();
	memset(f->cpu.fpu.xmm[15], 0xff, 16);
	f->cpu.regs.rcx = 0xdeadbeef12345678ull;
	enum emu_result r = RUN(f, 0x66, 0x44, 0x0f, 0x6e, 0xf9);
	assert_done(f, r, CODE_VA, 5);
	const uint8_t want[16] = { 0x78, 0x56, 0x34, 0x12 };
	g_assert_cmpmem(f->cpu.fpu.xmm[15], 16, want, 16);
	g_assert_true(f->cpu.fpu_changed);
	g_assert_cmphex(f->cpu.regs.rcx, ==, 0xdeadbeef12345678ull);
	for (int i = 0; i < 15; i++)
		g_assert_cmphex(f->cpu.fpu.xmm[i][0], ==, 0);
	fx_free(f);
}

static void test_movd_to_xmm(void)
{
	struct fx *f = fx_new();
	struct kvm_regs *g = &f->cpu.regs;
	/* every GPR by its encoding number, to catch kvm_regs order mistakes */
	__u64 *order[16] = { &g->rax, &g->rcx, &g->rdx, &g->rbx, &g->rsp, &g->rbp, &g->rsi, &g->rdi,
			     &g->r8,  &g->r9,  &g->r10, &g->r11, &g->r12, &g->r13, &g->r14, &g->r15 };
	for (int n = 0; n < 16; n++)
		*order[n] = 0xa0b0c000u + (unsigned int)n;
	for (int n = 0; n < 16; n++) {
		uint8_t modrm = 0xc0 | (2 << 3) | (n & 7); /* movd xmm2, r32 */
		enum emu_result r = n < 8 ? RUN(f, 0x66, 0x0f, 0x6e, modrm)
					  : RUN(f, 0x66, 0x41, 0x0f, 0x6e, modrm);
		assert_done(f, r, CODE_VA, n < 8 ? 4 : 5);
		uint32_t lo;
		memcpy(&lo, f->cpu.fpu.xmm[2], 4);
		g_assert_cmphex(lo, ==, 0xa0b0c000u + (unsigned int)n);
	}
	/* movd xmm1, r9d */
	g->r9 = 0xffffffff87654321ull;
	memset(f->cpu.fpu.xmm[1], 0xee, 16);
	enum emu_result r = RUN(f, 0x66, 0x41, 0x0f, 0x6e, 0xc9);
	assert_done(f, r, CODE_VA, 5);
	const uint8_t want[16] = { 0x21, 0x43, 0x65, 0x87 };
	g_assert_cmpmem(f->cpu.fpu.xmm[1], 16, want, 16);

	/* movq xmm0, rcx */
	g->rcx = 0x0102030405060708ull;
	memset(f->cpu.fpu.xmm[0], 0xee, 16);
	r = RUN(f, 0x66, 0x48, 0x0f, 0x6e, 0xc1);
	assert_done(f, r, CODE_VA, 5);
	const uint8_t want64[16] = { 8, 7, 6, 5, 4, 3, 2, 1 };
	g_assert_cmpmem(f->cpu.fpu.xmm[0], 16, want64, 16);

	/* movd xmm2, [rsi] and movq xmm3, [rsi] (REX.W) */
	g->rsi = DATA_VA + 0x40;
	memcpy(f->ram + DATA_PA + 0x40, (const uint8_t[]){ 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 9);
	r = RUN(f, 0x66, 0x0f, 0x6e, 0x16);
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmpmem(f->cpu.fpu.xmm[2], 16, ((const uint8_t[16]){ 1, 2, 3, 4 }), 16);
	r = RUN(f, 0x66, 0x48, 0x0f, 0x6e, 0x1e);
	assert_done(f, r, CODE_VA, 5);
	g_assert_cmpmem(f->cpu.fpu.xmm[3], 16, ((const uint8_t[16]){ 1, 2, 3, 4, 5, 6, 7, 8 }), 16);
	fx_free(f);
}

static void test_movd_from_xmm(void)
{
	struct fx *f = fx_new();
	struct kvm_regs *g = &f->cpu.regs;
	fill_xmm(f, 0, 0x10); /* 10 11 12 ... 1f */
	fill_xmm(f, 3, 0x30);
	/* movd ecx, xmm0: a 32-bit destination zero-extends */
	g->rcx = 0xffffffffffffffffull;
	enum emu_result r = RUN(f, 0x66, 0x0f, 0x7e, 0xc1);
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmphex(g->rcx, ==, 0x13121110ull);
	g_assert_false(f->cpu.fpu_changed);
	/* movd r9d, xmm3 */
	g->r9 = 0xffffffffffffffffull;
	r = RUN(f, 0x66, 0x41, 0x0f, 0x7e, 0xd9);
	assert_done(f, r, CODE_VA, 5);
	g_assert_cmphex(g->r9, ==, 0x33323130ull);
	g_assert_cmphex(g->rcx, ==, 0x13121110ull);
	/* movq rbx, xmm0 */
	r = RUN(f, 0x66, 0x48, 0x0f, 0x7e, 0xc3);
	assert_done(f, r, CODE_VA, 5);
	g_assert_cmphex(g->rbx, ==, 0x1716151413121110ull);
	/* movd [rdi], xmm3 writes exactly 4 bytes */
	g->rdi = DATA_VA + 0x80;
	memset(f->ram + DATA_PA + 0x80, 0xaa, 8);
	r = RUN(f, 0x66, 0x0f, 0x7e, 0x1f);
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmpmem(f->ram + DATA_PA + 0x80, 8,
			((const uint8_t[]){ 0x30, 0x31, 0x32, 0x33, 0xaa, 0xaa, 0xaa, 0xaa }), 8);
	fx_free(f);
}

static void test_movq_xmm(void)
{
	struct fx *f = fx_new();
	struct kvm_regs *g = &f->cpu.regs;
	g->rsi = DATA_VA + 0x100;
	g->rdi = DATA_VA + 0x200;
	for (int i = 0; i < 16; i++)
		f->ram[DATA_PA + 0x100 + i] = (uint8_t)(0x80 + i);
	/* f3 0f 7e: movq xmm0, [rsi] zeroes bits 127:64 */
	memset(f->cpu.fpu.xmm[0], 0xee, 16);
	enum emu_result r = RUN(f, 0xf3, 0x0f, 0x7e, 0x06);
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmpmem(f->cpu.fpu.xmm[0], 16,
			((const uint8_t[16]){ 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87 }), 16);
	/* f3 0f 7e: movq xmm1, xmm2 */
	fill_xmm(f, 2, 0x20);
	memset(f->cpu.fpu.xmm[1], 0xee, 16);
	r = RUN(f, 0xf3, 0x0f, 0x7e, 0xca);
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmpmem(f->cpu.fpu.xmm[1], 16,
			((const uint8_t[16]){ 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27 }), 16);
	/* 66 0f d6: movq [rdi], xmm2 writes 8 bytes */
	memset(f->ram + DATA_PA + 0x200, 0xaa, 16);
	r = RUN(f, 0x66, 0x0f, 0xd6, 0x17);
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmpmem(f->ram + DATA_PA + 0x200, 10,
			((const uint8_t[]){ 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0xaa, 0xaa }),
			10);
	/* 66 0f d6: movq xmm9, xmm2 (REX.B) zeroes the destination's upper half */
	memset(f->cpu.fpu.xmm[9], 0xee, 16);
	r = RUN(f, 0x66, 0x41, 0x0f, 0xd6, 0xd1);
	assert_done(f, r, CODE_VA, 5);
	g_assert_cmpmem(f->cpu.fpu.xmm[9], 16,
			((const uint8_t[16]){ 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27 }), 16);
	fx_free(f);
}

static void test_movdqa_movdqu(void)
{
	struct fx *f = fx_new();
	struct kvm_regs *g = &f->cpu.regs;
	uint8_t pattern[16];
	for (int i = 0; i < 16; i++)
		pattern[i] = (uint8_t)(0xc0 + i);
	memcpy(f->ram + DATA_PA + 0x100, pattern, 16);
	g->rsi = DATA_VA + 0x100;
	/* movdqa xmm0, [rsi] */
	enum emu_result r = RUN(f, 0x66, 0x0f, 0x6f, 0x06);
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmpmem(f->cpu.fpu.xmm[0], 16, pattern, 16);
	/* movdqa xmm12, xmm0 (REX.R) */
	r = RUN(f, 0x66, 0x44, 0x0f, 0x6f, 0xe0);
	assert_done(f, r, CODE_VA, 5);
	g_assert_cmpmem(f->cpu.fpu.xmm[12], 16, pattern, 16);
	/* movdqa [rdi], xmm12 */
	g->rdi = DATA_VA + 0x300;
	r = RUN(f, 0x66, 0x44, 0x0f, 0x7f, 0x27);
	assert_done(f, r, CODE_VA, 5);
	g_assert_cmpmem(f->ram + DATA_PA + 0x300, 16, pattern, 16);

	/* movdqa with a misaligned operand: #GP(0), nothing changes */
	g->rsi = DATA_VA + 0x108;
	memset(f->cpu.fpu.xmm[0], 0, 16);
	r = RUN(f, 0x66, 0x0f, 0x6f, 0x06);
	assert_fault(f, r, 13, true, 0);
	g_assert_cmphex(f->cpu.fpu.xmm[0][0], ==, 0);
	g->rdi = DATA_VA + 0x304;
	r = RUN(f, 0x66, 0x0f, 0x7f, 0x07);
	assert_fault(f, r, 13, true, 0);

	/* movdqu load and store, misaligned and crossing a page */
	memcpy(f->ram + DATA_PA + 0xff8, pattern, 8);
	memcpy(f->ram + DATA2_PA, pattern + 8, 8);
	g->rsi = DATA_VA + 0xff8;
	r = RUN(f, 0xf3, 0x0f, 0x6f, 0x0e); /* movdqu xmm1, [rsi] */
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmpmem(f->cpu.fpu.xmm[1], 16, pattern, 16);
	fill_xmm(f, 5, 0x50);
	g->rdi = DATA_VA + 0xff3;
	r = RUN(f, 0xf3, 0x0f, 0x7f, 0x2f); /* movdqu [rdi], xmm5 */
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmphex(f->ram[DATA_PA + 0xff3], ==, 0x50);
	g_assert_cmphex(f->ram[DATA_PA + 0xfff], ==, 0x5c);
	g_assert_cmphex(f->ram[DATA2_PA + 0], ==, 0x5d);
	g_assert_cmphex(f->ram[DATA2_PA + 2], ==, 0x5f);
	fx_free(f);
}

static void test_movaps_movups(void)
{
	struct fx *f = fx_new();
	struct kvm_regs *g = &f->cpu.regs;
	fill_xmm(f, 6, 0x60);
	g->rdi = DATA_VA + 0x400;
	enum emu_result r = RUN(f, 0x0f, 0x29, 0x37); /* movaps [rdi], xmm6 */
	assert_done(f, r, CODE_VA, 3);
	g_assert_cmpmem(f->ram + DATA_PA + 0x400, 16, f->cpu.fpu.xmm[6], 16);
	g->rsi = DATA_VA + 0x400;
	r = RUN(f, 0x44, 0x0f, 0x28, 0x3e); /* movaps xmm15, [rsi] */
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmpmem(f->cpu.fpu.xmm[15], 16, f->cpu.fpu.xmm[6], 16);
	g->rsi = DATA_VA + 0x401;
	r = RUN(f, 0x0f, 0x28, 0x06); /* misaligned movaps: #GP(0) */
	assert_fault(f, r, 13, true, 0);
	r = RUN(f, 0x0f, 0x10, 0x06); /* movups xmm0, [rsi] */
	assert_done(f, r, CODE_VA, 3);
	g_assert_cmphex(f->cpu.fpu.xmm[0][0], ==, 0x61);
	g_assert_cmphex(f->cpu.fpu.xmm[0][14], ==, 0x6f);
	g_assert_cmphex(f->cpu.fpu.xmm[0][15], ==, 0x00);
	g->rdi = DATA_VA + 0x501;
	r = RUN(f, 0x0f, 0x11, 0x07); /* movups [rdi], xmm0 */
	assert_done(f, r, CODE_VA, 3);
	g_assert_cmpmem(f->ram + DATA_PA + 0x501, 16, f->cpu.fpu.xmm[0], 16);
	r = RUN(f, 0x0f, 0x28, 0xd6); /* movaps xmm2, xmm6 */
	assert_done(f, r, CODE_VA, 3);
	g_assert_cmpmem(f->cpu.fpu.xmm[2], 16, f->cpu.fpu.xmm[6], 16);
	fx_free(f);
}

static void test_pxor_xorps(void)
{
	struct fx *f = fx_new();
	struct kvm_regs *g = &f->cpu.regs;
	fill_xmm(f, 0, 0x10);
	enum emu_result r = RUN(f, 0x66, 0x0f, 0xef, 0xc0); /* pxor xmm0, xmm0 */
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmpmem(f->cpu.fpu.xmm[0], 16, ((const uint8_t[16]){ 0 }), 16);
	g_assert_true(f->cpu.fpu_changed);

	fill_xmm(f, 1, 0x10);
	memset(f->ram + DATA_PA + 0x600, 0xff, 16);
	g->rsi = DATA_VA + 0x600;
	r = RUN(f, 0x66, 0x0f, 0xef, 0x0e); /* pxor xmm1, [rsi] */
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmphex(f->cpu.fpu.xmm[1][0], ==, 0xef);
	g_assert_cmphex(f->cpu.fpu.xmm[1][15], ==, 0xe0);
	g->rsi = DATA_VA + 0x604;
	r = RUN(f, 0x66, 0x0f, 0xef, 0x0e); /* misaligned m128: #GP(0) */
	assert_fault(f, r, 13, true, 0);

	fill_xmm(f, 2, 0x01);
	fill_xmm(f, 11, 0x01);
	r = RUN(f, 0x41, 0x0f, 0x57, 0xd3); /* xorps xmm2, xmm11 */
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmpmem(f->cpu.fpu.xmm[2], 16, ((const uint8_t[16]){ 0 }), 16);
	g_assert_cmphex(f->cpu.fpu.xmm[11][3], ==, 0x04);
	fx_free(f);
}

static void test_sse_unhandled_and_nm(void)
{
	struct fx *f = fx_new();
	/* MMX movd mm0, ecx (no 66): not emulated */
	enum emu_result r = RUN(f, 0x0f, 0x6e, 0xc1);
	g_assert_cmpint(r, ==, EMU_UNHANDLED);
	g_assert_nonnull(strstr(f->detail, "0f 6e c1"));
	/* movss (f3 0f 10): not emulated */
	g_assert_cmpint(RUN(f, 0xf3, 0x0f, 0x10, 0xc1), ==, EMU_UNHANDLED);
	/* CR0.TS: #NM before anything changes */
	f->cpu.sregs.cr0 |= CR0_TS;
	f->cpu.regs.rcx = 5;
	r = RUN(f, 0x66, 0x44, 0x0f, 0x6e, 0xf9);
	assert_fault(f, r, 7, false, 0);
	g_assert_cmphex(f->cpu.fpu.xmm[15][0], ==, 0);
	g_assert_false(f->cpu.fpu_changed);
	/* lock prefix: #UD */
	f->cpu.sregs.cr0 &= ~CR0_TS;
	r = RUN(f, 0xf0, 0x66, 0x0f, 0xef, 0xc0);
	assert_fault(f, r, 6, false, 0);
	fx_free(f);
}

/* ================================================================ fxsave / fxrstor */

static void set_fpu_state(struct fx *f)
{
	struct kvm_fpu *p = &f->cpu.fpu;
	p->fcw = 0x027f;
	p->fsw = 0x3800;
	p->ftwx = 0x81;
	p->last_opcode = 0x05d9;
	p->last_ip = 0x1122334455667788ull;
	p->last_dp = 0x99aabbccddeeff00ull;
	p->mxcsr = 0x1fa0;
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 10; j++)
			p->fpr[i][j] = (uint8_t)(0x40 + 16 * i + j);
	for (int i = 0; i < 16; i++)
		fill_xmm(f, i, (uint8_t)(16 * i));
}

static void test_fxsave(void)
{
	struct fx *f = fx_new();
	set_fpu_state(f);
	uint8_t *img = f->ram + DATA_PA + 0x200;
	memset(img, 0xaa, 512);
	f->cpu.regs.rdi = DATA_VA + 0x200;
	enum emu_result r = RUN(f, 0x48, 0x0f, 0xae, 0x07); /* fxsave64 [rdi] */
	assert_done(f, r, CODE_VA, 4);
	g_assert_false(f->cpu.fpu_changed);
	g_assert_cmphex(*(uint16_t *)(img + 0), ==, 0x027f);
	g_assert_cmphex(*(uint16_t *)(img + 2), ==, 0x3800);
	g_assert_cmphex(img[4], ==, 0x81);
	g_assert_cmphex(img[5], ==, 0);
	g_assert_cmphex(*(uint16_t *)(img + 6), ==, 0x05d9);
	g_assert_cmphex(*(uint64_t *)(img + 8), ==, 0x1122334455667788ull);
	g_assert_cmphex(*(uint64_t *)(img + 16), ==, 0x99aabbccddeeff00ull);
	g_assert_cmphex(*(uint32_t *)(img + 24), ==, 0x1fa0);
	g_assert_cmphex(*(uint32_t *)(img + 28), ==, 0xffff);
	for (int i = 0; i < 8; i++) {
		g_assert_cmpmem(img + 32 + 16 * i, 10, f->cpu.fpu.fpr[i], 10);
		g_assert_cmpmem(img + 42 + 16 * i, 6, ((const uint8_t[6]){ 0 }), 6);
	}
	for (int i = 0; i < 16; i++)
		g_assert_cmpmem(img + 160 + 16 * i, 16, f->cpu.fpu.xmm[i], 16);
	for (int i = 416; i < 512; i++) /* reserved and software-available bytes untouched */
		g_assert_cmphex(img[i], ==, 0xaa);

	/* without REX.W: 32-bit FIP/FDP, FCS/FDS zero */
	memset(img, 0xaa, 512);
	r = RUN(f, 0x0f, 0xae, 0x07);
	assert_done(f, r, CODE_VA, 3);
	g_assert_cmphex(*(uint32_t *)(img + 8), ==, 0x55667788);
	g_assert_cmphex(*(uint32_t *)(img + 12), ==, 0);
	g_assert_cmphex(*(uint32_t *)(img + 16), ==, 0xddeeff00);
	g_assert_cmphex(*(uint32_t *)(img + 20), ==, 0);
	g_assert_cmpmem(img + 160 + 16 * 15, 16, f->cpu.fpu.xmm[15], 16);

	/* misaligned: #GP(0) and nothing written */
	memset(img, 0xaa, 512);
	f->cpu.regs.rdi = DATA_VA + 0x208;
	r = RUN(f, 0x0f, 0xae, 0x07);
	assert_fault(f, r, 13, true, 0);
	g_assert_cmphex(img[8], ==, 0xaa);

	/* crossing into the next page (non-contiguous physically) */
	f->cpu.regs.rdi = DATA_VA + 0xf00;
	r = RUN(f, 0x48, 0x0f, 0xae, 0x07);
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmphex(*(uint32_t *)(f->ram + DATA_PA + 0xf00 + 24), ==, 0x1fa0);
	/* xmm15 at offset 400 = 0x100 + 144 in the second page */
	g_assert_cmpmem(f->ram + DATA2_PA + 144, 16, f->cpu.fpu.xmm[15], 16);

	/* a destination whose second page is not mapped: #PF, nothing written */
	memset(f->ram + DATA2_PA + 0xf00, 0xaa, 256);
	f->cpu.regs.rdi = DATA_VA + 0x1f00;
	r = RUN(f, 0x48, 0x0f, 0xae, 0x07);
	assert_fault(f, r, 14, true, 0x2);
	g_assert_cmphex(f->cpu.sregs.cr2, ==, HOLE_VA);
	g_assert_cmphex(f->ram[DATA2_PA + 0xf00], ==, 0xaa);
	fx_free(f);
}

static void test_fxrstor(void)
{
	struct fx *f = fx_new();
	set_fpu_state(f);
	struct kvm_fpu saved = f->cpu.fpu;
	f->cpu.regs.rdi = DATA_VA + 0x400;
	enum emu_result r = RUN(f, 0x48, 0x0f, 0xae, 0x07); /* fxsave64 [rdi] */
	assert_done(f, r, CODE_VA, 4);

	memset(&f->cpu.fpu, 0, sizeof(f->cpu.fpu));
	f->cpu.regs.rsi = DATA_VA + 0x400;
	r = RUN(f, 0x48, 0x0f, 0xae, 0x0e); /* fxrstor64 [rsi] */
	assert_done(f, r, CODE_VA, 4);
	g_assert_true(f->cpu.fpu_changed);
	g_assert_cmpmem(&f->cpu.fpu, sizeof(saved), &saved, sizeof(saved));

	/* 32-bit format: FIP/FDP are 32-bit */
	memset(&f->cpu.fpu, 0, sizeof(f->cpu.fpu));
	r = RUN(f, 0x0f, 0xae, 0x0e);
	assert_done(f, r, CODE_VA, 3);
	g_assert_cmphex(f->cpu.fpu.last_ip, ==, 0x55667788);
	g_assert_cmphex(f->cpu.fpu.last_dp, ==, 0xddeeff00);
	g_assert_cmphex(f->cpu.fpu.mxcsr, ==, 0x1fa0);
	g_assert_cmpmem(f->cpu.fpu.xmm, sizeof(saved.xmm), saved.xmm, sizeof(saved.xmm));

	/* reserved MXCSR bits in the image: #GP(0), state unchanged */
	put32(f, DATA_PA + 0x400 + 24, 0x80001f80);
	struct kvm_fpu before = f->cpu.fpu;
	r = RUN(f, 0x0f, 0xae, 0x0e);
	assert_fault(f, r, 13, true, 0);
	g_assert_cmpmem(&f->cpu.fpu, sizeof(before), &before, sizeof(before));

	/* misaligned: #GP(0) */
	f->cpu.regs.rsi = DATA_VA + 0x404;
	r = RUN(f, 0x0f, 0xae, 0x0e);
	assert_fault(f, r, 13, true, 0);
	fx_free(f);
}

/* ================================================================ integer extras */

/* lsl rax, rax (48 0f 03 c0), as the kernel's paranoid entry reads its CPU number from the
 * per-CPU GDT entry (a DPL 3 data segment whose limit is node << 12 | cpu). */
static void test_lsl(void)
{
	struct fx *f = fx_new();
	struct kvm_regs *g = &f->cpu.regs;
	f->cpu.sregs.gdt.base = DATA_VA;
	f->cpu.sregs.gdt.limit = 16 * 8 - 1;
	/* entry 15: data, DPL 3, present, byte granular, limit 0x01003 (node 1, CPU 3) */
	uint8_t cpunode[8] = { 0x03, 0x10, 0, 0, 0, 0xf3, 0x00, 0 };
	memcpy(f->ram + DATA_PA + 15 * 8, cpunode, 8);
	g->rax = 15 * 8 + 3;
	g->rflags = 0x2;
	enum emu_result r = RUN(f, 0x48, 0x0f, 0x03, 0xc0);
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmphex(g->rax, ==, 0x1003);
	g_assert_cmphex(g->rflags & RFLAGS_ZF, ==, RFLAGS_ZF);

	/* 4 KiB granularity scales the limit; a 32-bit destination zero-extends. */
	cpunode[6] = 0x8f;
	memcpy(f->ram + DATA_PA + 15 * 8, cpunode, 8);
	g->rcx = 15 * 8;
	g->rax = 0xffffffffffffffffull;
	r = RUN(f, 0x0f, 0x03, 0xc1); /* lsl eax, ecx */
	assert_done(f, r, CODE_VA, 3);
	g_assert_cmphex(g->rax, ==, 0xf1003fff); /* (0xf << 16 | 0x1003) pages */

	/* A null selector, one past the GDT, and a DPL 0 entry from CPL 3 clear ZF and leave
	 * the register alone. */
	static const struct {
		uint64_t sel;
		uint8_t access;
		uint16_t cs;
	} refused[] = { { 0, 0xf3, 0 }, { 16 * 8, 0xf3, 0 }, { 15 * 8 + 3, 0x93, 0x33 } };
	for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
		cpunode[5] = refused[i].access;
		memcpy(f->ram + DATA_PA + 15 * 8, cpunode, 8);
		f->cpu.sregs.cs.selector = refused[i].cs;
		g->rax = refused[i].sel;
		g->rflags = 0x2 | RFLAGS_ZF;
		r = RUN(f, 0x48, 0x0f, 0x03, 0xc0);
		assert_done(f, r, CODE_VA, 4);
		g_assert_cmphex(g->rax, ==, refused[i].sel);
		g_assert_cmphex(g->rflags & RFLAGS_ZF, ==, 0);
	}
	fx_free(f);
}

/* verw m16 (0f 00 2d disp32), as Linux clears CPU buffers before it idles (the bytes a
 * stock kernel's AP stopped on: verw [rip+disp]), and verr/verw on registers: ZF says whether
 * the segment may be written (VERW: data with W) or read (VERR: data, or code with R) from
 * the current privilege level; the register and memory are left alone. */
static void test_verr_verw(void)
{
	struct fx *f = fx_new();
	struct kvm_regs *g = &f->cpu.regs;
	f->cpu.sregs.gdt.base = DATA_VA;
	f->cpu.sregs.gdt.limit = 16 * 8 - 1;
	static const uint8_t kernel_ds[8] = { 0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0 }; /* data RW, DPL 0 */
	static const uint8_t kernel_cs[8] = { 0xff, 0xff, 0, 0, 0, 0x9b, 0xaf, 0 }; /* code RX, DPL 0 */
	static const uint8_t exec_only[8] = { 0xff, 0xff, 0, 0, 0, 0x99, 0xaf, 0 }; /* code X, DPL 0 */
	static const uint8_t user_ro[8] = { 0xff, 0xff, 0, 0, 0, 0xf1, 0xcf, 0 };   /* data RO, DPL 3 */
	static const uint8_t tss[8] = { 0x67, 0, 0, 0, 0, 0x89, 0, 0 };             /* 64-bit TSS */
	memcpy(f->ram + DATA_PA + 3 * 8, kernel_ds, 8);
	memcpy(f->ram + DATA_PA + 2 * 8, kernel_cs, 8);
	memcpy(f->ram + DATA_PA + 5 * 8, exec_only, 8);
	memcpy(f->ram + DATA_PA + 6 * 8, user_ro, 8);
	memcpy(f->ram + DATA_PA + 8 * 8, tss, 8);

	/* verw [rip+0x100]: the selector 0x18 (kernel data) sits after the instruction. */
	uint16_t data_sel = 0x18;
	memcpy(f->ram + CODE_PA + 7 + 0x100, &data_sel, 2);
	g->rflags = 0x2;
	enum emu_result r = RUN(f, 0x0f, 0x00, 0x2d, 0x00, 0x01, 0x00, 0x00);
	assert_done(f, r, CODE_VA, 7);
	g_assert_cmphex(g->rflags, ==, 0x2 | RFLAGS_ZF);

	static const struct {
		uint16_t sel;
		uint16_t cs;
		bool readable, writable;
	} cases[] = {
		{ 0x18, 0x10, true, true },   /* kernel data */
		{ 0x10, 0x10, true, false },  /* readable code */
		{ 0x28, 0x10, false, false }, /* execute-only code */
		{ 0x33, 0x33, true, false },  /* read-only data, DPL 3, from CPL 3 */
		{ 0x18, 0x33, false, false }, /* DPL 0 data from CPL 3 */
		{ 0x1b, 0x10, false, false }, /* DPL 0 data with RPL 3 */
		{ 0x40, 0x10, false, false }, /* a system descriptor */
		{ 0x00, 0x10, false, false }, /* null */
		{ 0x80, 0x10, false, false }, /* past the GDT */
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		f->cpu.sregs.cs.selector = cases[i].cs;
		g->rcx = 0xabcd0000 | cases[i].sel;
		g->rflags = 0x2 | RFLAGS_ZF;
		r = RUN(f, 0x0f, 0x00, 0xe1); /* verr cx */
		assert_done(f, r, CODE_VA, 3);
		g_assert_cmphex(g->rflags & RFLAGS_ZF, ==, cases[i].readable ? RFLAGS_ZF : 0);
		g->rflags = 0x2;
		r = RUN(f, 0x0f, 0x00, 0xe9); /* verw cx */
		assert_done(f, r, CODE_VA, 3);
		g_assert_cmphex(g->rflags & RFLAGS_ZF, ==, cases[i].writable ? RFLAGS_ZF : 0);
		g_assert_cmphex(g->rcx, ==, 0xabcd0000 | cases[i].sel);
	}
	/* REX.R does not change the digit: 44 0f 00 e9 is still verw cx. */
	f->cpu.sregs.cs.selector = 0x10;
	g->rcx = 0x18;
	g->rflags = 0x2;
	r = RUN(f, 0x44, 0x0f, 0x00, 0xe9);
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmphex(g->rflags & RFLAGS_ZF, ==, RFLAGS_ZF);

	/* The rest of group 6 (sldt, str, lldt, ltr) is not emulated; lock is #UD. */
	r = RUN(f, 0x0f, 0x00, 0xc8); /* str eax */
	g_assert_cmpint(r, ==, EMU_UNHANDLED);
	r = RUN(f, 0xf0, 0x0f, 0x00, 0x2d, 0x00, 0x01, 0x00, 0x00);
	assert_fault(f, r, 6, false, 0);
	fx_free(f);
}

static void test_popcnt(void)
{
	struct fx *f = fx_new();
	struct kvm_regs *g = &f->cpu.regs;
	g->rflags = 0x2 | 0x8d5; /* CF PF AF SF OF set beforehand */
	g->rcx = 0xffff00000000f0f1ull;
	g->rax = 0xdeadbeefdeadbeefull;
	enum emu_result r = RUN(f, 0xf3, 0x0f, 0xb8, 0xc1); /* popcnt eax, ecx */
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmphex(g->rax, ==, 9);
	g_assert_cmphex(g->rflags, ==, 0x2);

	g->rax = 0xdeadbeefdeadbeefull;
	r = RUN(f, 0x66, 0xf3, 0x0f, 0xb8, 0xc1); /* popcnt ax, cx */
	assert_done(f, r, CODE_VA, 5);
	g_assert_cmphex(g->rax, ==, 0xdeadbeefdead0009ull);

	r = RUN(f, 0xf3, 0x48, 0x0f, 0xb8, 0xc1); /* popcnt rax, rcx */
	assert_done(f, r, CODE_VA, 5);
	g_assert_cmphex(g->rax, ==, 25);

	g->r8 = 0;
	g->r9 = 77;
	r = RUN(f, 0xf3, 0x4d, 0x0f, 0xb8, 0xc8); /* popcnt r9, r8: zero -> ZF */
	assert_done(f, r, CODE_VA, 5);
	g_assert_cmphex(g->r9, ==, 0);
	g_assert_cmphex(g->rflags, ==, 0x2 | RFLAGS_ZF);

	g->rsi = DATA_VA + 0x10;
	put32(f, DATA_PA + 0x10, 0x80000001);
	r = RUN(f, 0xf3, 0x0f, 0xb8, 0x16); /* popcnt edx, [rsi] */
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmphex(g->rdx, ==, 2);
	g_assert_cmphex(g->rflags, ==, 0x2);
	fx_free(f);
}

static void test_cmpxchg16b(void)
{
	struct fx *f = fx_new();
	struct kvm_regs *g = &f->cpu.regs;
	uint64_t mem[2] = { 0x1111, 0x2222 };
	memcpy(f->ram + DATA_PA + 0x100, mem, 16);
	g->rsi = DATA_VA + 0x100;
	g->rax = 0x1111;
	g->rdx = 0x2222;
	g->rbx = 0xaaaa;
	g->rcx = 0xbbbb;
	enum emu_result r = RUN(f, 0xf0, 0x48, 0x0f, 0xc7, 0x0e); /* lock cmpxchg16b [rsi] */
	assert_done(f, r, CODE_VA, 5);
	g_assert_cmphex(get64(f, DATA_PA + 0x100), ==, 0xaaaa);
	g_assert_cmphex(get64(f, DATA_PA + 0x108), ==, 0xbbbb);
	g_assert_true(g->rflags & RFLAGS_ZF);

	/* mismatch: ZF=0, rdx:rax = memory, memory unchanged */
	g->rax = 0x1111;
	g->rdx = 0x2222;
	r = RUN(f, 0xf0, 0x48, 0x0f, 0xc7, 0x0e);
	assert_done(f, r, CODE_VA, 5);
	g_assert_false(g->rflags & RFLAGS_ZF);
	g_assert_cmphex(g->rax, ==, 0xaaaa);
	g_assert_cmphex(g->rdx, ==, 0xbbbb);
	g_assert_cmphex(get64(f, DATA_PA + 0x100), ==, 0xaaaa);

	/* misaligned: #GP(0) */
	g->rsi = DATA_VA + 0x108;
	r = RUN(f, 0xf0, 0x48, 0x0f, 0xc7, 0x0e);
	assert_fault(f, r, 13, true, 0);
	/* read-only destination: #PF with write error even though it would not match */
	g->rsi = RO_VA;
	r = RUN(f, 0xf0, 0x48, 0x0f, 0xc7, 0x0e);
	assert_fault(f, r, 14, true, 0x3);
	/* register operand: #UD */
	r = RUN(f, 0x48, 0x0f, 0xc7, 0xce);
	assert_fault(f, r, 6, false, 0);
	fx_free(f);
}

static void test_cmpxchg8b(void)
{
	struct fx *f = fx_new();
	struct kvm_regs *g = &f->cpu.regs;
	uint64_t v = 0x0000000500000004ull;
	memcpy(f->ram + DATA_PA + 0x20, &v, 8);
	g->rdi = DATA_VA + 0x20;
	g->rax = 0xffffffff00000004ull;
	g->rdx = 0xffffffff00000005ull; /* only edx:eax count */
	g->rbx = 0x77;
	g->rcx = 0x88;
	enum emu_result r = RUN(f, 0xf0, 0x0f, 0xc7, 0x0f); /* lock cmpxchg8b [rdi] */
	assert_done(f, r, CODE_VA, 4);
	g_assert_cmphex(get64(f, DATA_PA + 0x20), ==, 0x0000008800000077ull);
	g_assert_true(g->rflags & RFLAGS_ZF);
	g_assert_cmphex(g->rax, ==, 0xffffffff00000004ull); /* untouched on success */

	r = RUN(f, 0x0f, 0xc7, 0x0f); /* mismatch */
	assert_done(f, r, CODE_VA, 3);
	g_assert_false(g->rflags & RFLAGS_ZF);
	g_assert_cmphex(g->rax, ==, 0x77); /* zero-extended */
	g_assert_cmphex(g->rdx, ==, 0x88);

	/* misaligned and page-crossing is allowed for cmpxchg8b */
	v = 0x0000000200000001ull;
	memcpy(f->ram + DATA_PA + 0xffc, &v, 4);
	memcpy(f->ram + DATA2_PA, (uint8_t *)&v + 4, 4);
	g->rdi = DATA_VA + 0xffc;
	g->rax = 1;
	g->rdx = 2;
	r = RUN(f, 0x0f, 0xc7, 0x0f);
	assert_done(f, r, CODE_VA, 3);
	g_assert_true(g->rflags & RFLAGS_ZF);
	g_assert_cmphex(get32(f, DATA_PA + 0xffc), ==, 0x77);
	g_assert_cmphex(get32(f, DATA2_PA), ==, 0x88);
	fx_free(f);
}

/* ================================================================ unhandled */

static void test_xsave_family_unhandled(void)
{
	struct fx *f = fx_new();
	f->cpu.regs.rdi = DATA_VA;
	g_assert_cmpint(RUN(f, 0x0f, 0x01, 0xd0), ==, EMU_UNHANDLED); /* xgetbv */
	g_assert_nonnull(strstr(f->detail, "xgetbv"));
	g_assert_nonnull(strstr(f->detail, "0f 01 d0"));
	g_assert_cmpint(RUN(f, 0x0f, 0x01, 0xd1), ==, EMU_UNHANDLED); /* xsetbv */
	g_assert_nonnull(strstr(f->detail, "xsetbv"));
	g_assert_cmpint(RUN(f, 0x48, 0x0f, 0xae, 0x2f), ==, EMU_UNHANDLED); /* xrstor64 [rdi] */
	g_assert_nonnull(strstr(f->detail, "xrstor"));
	g_assert_cmpint(RUN(f, 0x0f, 0xae, 0x27), ==, EMU_UNHANDLED);       /* xsave [rdi] */
	g_assert_cmpint(RUN(f, 0x48, 0x0f, 0xc7, 0x1f), ==, EMU_UNHANDLED); /* xrstors64 [rdi] */
	g_assert_cmphex(f->cpu.regs.rip, ==, CODE_VA);
	g_assert_cmpint(f->cpu.inject_vector, ==, -1);
	fx_free(f);
}

static void test_unhandled_opcode(void)
{
	struct fx *f = fx_new();
	enum emu_result r = RUN(f, 0x0f, 0x0d, 0x08); /* prefetchw [rax] */
	g_assert_cmpint(r, ==, EMU_UNHANDLED);
	g_assert_nonnull(strstr(f->detail, "0f 0d 08"));
	g_assert_cmphex(f->cpu.regs.rip, ==, CODE_VA);
	g_assert_false(f->cpu.regs_changed);
	r = RUN(f, 0x90); /* nop: not ours either */
	g_assert_cmpint(r, ==, EMU_UNHANDLED);
	g_assert_nonnull(strstr(f->detail, "90"));
	/* 15 prefixes and no end: #GP(0) for an over-long instruction */
	r = RUN(f, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
		0x66);
	assert_fault(f, r, 13, true, 0);
	fx_free(f);
}

/* ================================================================ 32-bit and 16-bit code */

static void set_prot32(struct fx *f)
{
	struct kvm_sregs *s = &f->cpu.sregs;
	s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE; /* paging off: identity */
	s->cr4 = CR4_OSFXSR | CR4_OSXMMEXCPT;
	s->efer = 0;
	s->cs = (struct kvm_segment){ .selector = 0x08, .type = 11, .present = 1, .s = 1, .db = 1, .g = 1 };
}

static void test_prot32(void)
{
	struct fx *f = fx_new();
	set_prot32(f);
	struct kvm_regs *g = &f->cpu.regs;
	uint64_t rip = 0x100000;
	g->rax = 0x200000;
	put32(f, 0x200008, 0x1fa0);
	enum emu_result r = run_at(f, rip, rip, BYTES(0x0f, 0xae, 0x50, 0x08)); /* ldmxcsr [eax+8] */
	assert_done(f, r, rip, 4);
	g_assert_cmphex(f->cpu.fpu.mxcsr, ==, 0x1fa0);

	/* modrm 05 in 32-bit mode is an absolute disp32, not RIP-relative; DS base applies */
	f->cpu.sregs.ds.base = 0x10000;
	f->cpu.fpu.mxcsr = 0x1f83;
	r = run_at(f, rip, rip, BYTES(0x0f, 0xae, 0x1d, 0x00, 0x00, 0x20, 0x00)); /* stmxcsr [0x200000] */
	assert_done(f, r, rip, 7);
	g_assert_cmphex(get32(f, 0x210000), ==, 0x1f83);

	/* [ebp+4] uses SS, whose base differs */
	f->cpu.sregs.ss.base = 0x20000;
	g->rbp = 0x200000;
	put32(f, 0x220004, 0x1f84);
	r = run_at(f, rip, rip, BYTES(0x0f, 0xae, 0x55, 0x04));
	assert_done(f, r, rip, 4);
	g_assert_cmphex(f->cpu.fpu.mxcsr, ==, 0x1f84);

	/* movd xmm0, ecx and movd ecx, xmm1 */
	g->rcx = 0x12345678;
	r = run_at(f, rip, rip, BYTES(0x66, 0x0f, 0x6e, 0xc1));
	assert_done(f, r, rip, 4);
	g_assert_cmpmem(f->cpu.fpu.xmm[0], 16, ((const uint8_t[16]){ 0x78, 0x56, 0x34, 0x12 }), 16);
	fill_xmm(f, 1, 0xa0);
	r = run_at(f, rip, rip, BYTES(0x66, 0x0f, 0x7e, 0xc9));
	assert_done(f, r, rip, 4);
	g_assert_cmphex(g->rcx, ==, 0xa3a2a1a0);
	/* movdqu xmm2, [esi] */
	g->rsi = 0x1f0;
	memset(f->ram + 0x10000 + 0x1f0, 0x5a, 16);
	r = run_at(f, rip, rip, BYTES(0xf3, 0x0f, 0x6f, 0x16));
	assert_done(f, r, rip, 4);
	g_assert_cmphex(f->cpu.fpu.xmm[2][15], ==, 0x5a);

	/* 0x41 is "inc ecx" here, not REX: not emulated */
	r = run_at(f, rip, rip, BYTES(0x41, 0x0f, 0xae, 0x11));
	g_assert_cmpint(r, ==, EMU_UNHANDLED);
	/* 16-bit addressing (67) is not emulated */
	r = run_at(f, rip, rip, BYTES(0x67, 0x0f, 0xae, 0x10));
	g_assert_cmpint(r, ==, EMU_UNHANDLED);
	/* EIP wraps at 4 GiB is not tested; RIP stays 32-bit */
	g_assert_cmphex(g->rip, ==, rip);
	fx_free(f);
}

static void test_compat_mode(void)
{
	/* compatibility mode: long-mode paging, 32-bit decoding */
	struct fx *f = fx_new();
	f->cpu.sregs.cs.l = 0;
	f->cpu.sregs.cs.db = 1;
	map(f, 0x00400000, 0x209000, 0, PTE_P | PTE_W);
	map(f, 0x00500000, 0x20a000, 0, PTE_P | PTE_W);
	f->cpu.regs.rax = 0x500010;
	put32(f, 0x20a010, 0x1f90);
	enum emu_result r = run_at(f, 0x400000, 0x209000, BYTES(0x0f, 0xae, 0x10));
	assert_done(f, r, 0x400000, 3);
	g_assert_cmphex(f->cpu.fpu.mxcsr, ==, 0x1f90);
	fx_free(f);
}

static void test_real_mode_unhandled(void)
{
	struct fx *f = fx_new();
	f->cpu.sregs.cr0 = 0;
	f->cpu.sregs.efer = 0;
	f->cpu.sregs.cs = (struct kvm_segment){ .selector = 0, .base = 0, .type = 11, .present = 1, .s = 1 };
	enum emu_result r = run_at(f, 0x1000, 0x1000, BYTES(0x0f, 0xae, 0x10));
	g_assert_cmpint(r, ==, EMU_UNHANDLED);
	g_assert_nonnull(strstr(f->detail, "16-bit"));
	fx_free(f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/emulate/translate/4k", test_translate_4k);
	g_test_add_func("/emulate/lsl", test_lsl);
	g_test_add_func("/emulate/verr-verw", test_verr_verw);
	g_test_add_func("/emulate/translate/2m", test_translate_2m);
	g_test_add_func("/emulate/translate/1g", test_translate_1g);
	g_test_add_func("/emulate/translate/5level", test_translate_5level);
	g_test_add_func("/emulate/translate/paging-off", test_translate_paging_off);
	g_test_add_func("/emulate/translate/not-present", test_translate_not_present);
	g_test_add_func("/emulate/translate/outside-ram", test_translate_outside_ram);
	g_test_add_func("/emulate/translate/legacy32", test_translate_legacy32);
	g_test_add_func("/emulate/translate/pae", test_translate_pae);
	g_test_add_func("/emulate/rw/page-crossing", test_rw_page_crossing);
	g_test_add_func("/emulate/fetch/unreadable", test_fetch_unreadable);
	g_test_add_func("/emulate/fetch/page-crossing", test_fetch_page_crossing);
	g_test_add_func("/emulate/int3", test_int3);
	g_test_add_func("/emulate/ud2", test_ud2);
	g_test_add_func("/emulate/clac-stac", test_clac_stac);
	g_test_add_func("/emulate/fwait", test_fwait);
	g_test_add_func("/emulate/fences", test_lfence);
	g_test_add_func("/emulate/ldmxcsr/modrm", test_ldmxcsr_modrm);
	g_test_add_func("/emulate/ldmxcsr/rex", test_ldmxcsr_rex);
	g_test_add_func("/emulate/ldmxcsr/segments", test_ldmxcsr_segments);
	g_test_add_func("/emulate/ldmxcsr/reserved", test_ldmxcsr_reserved);
	g_test_add_func("/emulate/stmxcsr", test_stmxcsr);
	g_test_add_func("/emulate/mxcsr/vex", test_mxcsr_vex);
	g_test_add_func("/emulate/mxcsr/prefixes", test_mxcsr_prefixes);
	g_test_add_func("/emulate/mxcsr/page-faults", test_mxcsr_page_faults);
	g_test_add_func("/emulate/sse/movd-xmm15-ecx", test_movd_xmm15_ecx);
	g_test_add_func("/emulate/sse/movd-to-xmm", test_movd_to_xmm);
	g_test_add_func("/emulate/sse/movd-from-xmm", test_movd_from_xmm);
	g_test_add_func("/emulate/sse/movq", test_movq_xmm);
	g_test_add_func("/emulate/sse/movdqa-movdqu", test_movdqa_movdqu);
	g_test_add_func("/emulate/sse/movaps-movups", test_movaps_movups);
	g_test_add_func("/emulate/sse/pxor-xorps", test_pxor_xorps);
	g_test_add_func("/emulate/sse/unhandled-and-nm", test_sse_unhandled_and_nm);
	g_test_add_func("/emulate/fxsave", test_fxsave);
	g_test_add_func("/emulate/fxrstor", test_fxrstor);
	g_test_add_func("/emulate/popcnt", test_popcnt);
	g_test_add_func("/emulate/cmpxchg16b", test_cmpxchg16b);
	g_test_add_func("/emulate/cmpxchg8b", test_cmpxchg8b);
	g_test_add_func("/emulate/unhandled/xsave-family", test_xsave_family_unhandled);
	g_test_add_func("/emulate/unhandled/opcode", test_unhandled_opcode);
	g_test_add_func("/emulate/mode/prot32", test_prot32);
	g_test_add_func("/emulate/mode/compat", test_compat_mode);
	g_test_add_func("/emulate/mode/real", test_real_mode_unhandled);
	return g_test_run();
}
