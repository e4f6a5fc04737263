/* libFuzzer target for the fallback instruction emulator (devices/emulate.c, emulate_mem.c,
 * emulate_sse.c): one emu_step on instruction bytes, registers and guest memory from the input.
 *
 * Fake guest RAM: 128 KiB at gpa 0 and 8 KiB at gpa 0x100000, exact-size heap blocks (ASan
 * sees any access past them). The paging modes 0-5 and 7 build page tables in the first
 * 32 KiB (identity maps of the low 128 KiB and of the second region with 4 KiB pages, plus
 * 2 MiB / 4 MiB / 1 GiB pages and kernel-half aliases) and copy the input's memory image
 * above them; mode 6 takes CR0, CR3, CR4 and EFER from the input and copies the image over
 * all of RAM, tables included.
 *
 * Input (little-endian): 0 flags (bits 0-2 mode: 0 32-bit protected without paging,
 * 1 32-bit paging, 2 PAE, 3 long mode 4-level, 4 long mode 5-level, 5 compatibility mode,
 * 6 raw control registers, 7 16-bit; bit 3 CPL 3, bit 4 CR0.WP, bit 5 CR4.SMAP,
 * bit 6 RFLAGS.AC, bit 7 GPRs masked to 0x1ffff so that they point into RAM); 1 flags
 * (bit 0 CR0.TS, 1 CR0.EM, 2 CR0.MP, 3 clears CR4.OSFXSR, 4 CR4.OSXSAVE, 5 EFER.FFXSR,
 * 6 CR4.PSE, 7 RFLAGS.VM); 2 page flags (bit 0 leaves read-only, 1 leaves user, 2 odd
 * pages not present, 3 tables read-only, 4 tables user); 3 FSW low byte; 4 RIP; 12 RFLAGS
 * (32 bits); 16 MXCSR; 20 CS, DS, SS, ES bases (32 bits each); 36 FS and GS bases;
 * 52 the 16 GPRs; 180 CR3, 188 CR0, 192 CR4, 196 EFER (mode 6, whose bits 0 and 1 also
 * give CS.L and CS.D); 200 a 16-byte xmm seed
 * (xmm n is the seed plus n); 216 15 instruction bytes, each written at RIP + i where that
 * translates;
 * 232 on: the memory image.
 *
 * Oracle beyond ASan/UBSan: the result is one of the three; EMU_UNHANDLED and EMU_FAULT
 * come with a detail and leave every register untouched; EMU_HANDLED either completes the
 * instruction (RIP advanced by 1-15 bytes, RF cleared, no fault queued, control registers
 * untouched) or queues one of the exceptions the emulator documents with RIP, the GPRs and
 * the FPU state untouched (a #PF changes CR2 only); the detail string stays in its buffer. */
#include "tests/fuzz/fuzz-common.h"

#include "devices/emulate.h"

#define RAM0_SIZE 0x20000ULL
#define RAM1_GPA  0x100000ULL
#define RAM1_SIZE 0x2000ULL
#define TABLES    0x8000ULL /* the built tables live below this */
#define HDR       232

#define CR0_PE      (1ull << 0)
#define CR0_MP      (1ull << 1)
#define CR0_EM      (1ull << 2)
#define CR0_TS      (1ull << 3)
#define CR0_WP      (1ull << 16)
#define CR0_PG      (1ull << 31)
#define CR4_PSE     (1ull << 4)
#define CR4_PAE     (1ull << 5)
#define CR4_OSFXSR  (1ull << 9)
#define CR4_LA57    (1ull << 12)
#define CR4_OSXSAVE (1ull << 18)
#define CR4_SMAP    (1ull << 21)
#define EFER_LME    (1ull << 8)
#define EFER_LMA    (1ull << 10)
#define EFER_FFXSR  (1ull << 14)
#define RFLAGS_RF   (1ull << 16)
#define RFLAGS_VM   (1ull << 17)
#define RFLAGS_AC   (1ull << 18)
#define PTE_P       1ull
#define PTE_W       2ull
#define PTE_U       4ull
#define PTE_PS      0x80ull

static struct guest_mem mem;

static void ram_init(void)
{
	if (mem.nr_regions)
		return;
	mem.region[0] = (struct guest_mem_region){ 0, RAM0_SIZE, aligned_alloc(4096, RAM0_SIZE) };
	mem.region[1] = (struct guest_mem_region){ RAM1_GPA, RAM1_SIZE, aligned_alloc(4096, RAM1_SIZE) };
	mem.nr_regions = 2;
	if (!mem.region[0].host || !mem.region[1].host)
		abort();
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put(uint64_t gpa, uint64_t v, int esize)
{
	if (guest_mem_write(&mem, gpa, &v, (size_t)esize))
		abort();
}

/* Entry flags the input picked for tables and leaves. */
struct ptflags {
	uint64_t table, leaf;
	bool odd_absent;
};

/* Identity leaves of a last-level table: the low 128 KiB and the second region. */
static void fill_pt(uint64_t pt, int esize, const struct ptflags *f)
{
	for (uint64_t i = 0; i < RAM0_SIZE / 4096; i++)
		put(pt + i * esize, (i * 4096) | ((f->odd_absent && (i & 1)) ? 0 : f->leaf), esize);
	for (uint64_t i = 0; i < 3; i++) /* the third page lies past the region: not RAM */
		put(pt + (256 + i) * esize, (RAM1_GPA + i * 4096) | f->leaf, esize);
}

static uint64_t build_tables(int mode, const struct ptflags *f)
{
	switch (mode) {
	case 1: /* 32-bit paging: PD 0x1000, PT 0x2000 */
		put(0x1000, 0x2000 | f->table, 4);
		put(0x1000 + 1 * 4, 0x0 | f->leaf | PTE_PS, 4); /* 4 MiB page (with CR4.PSE) */
		put(0x1000 + 768 * 4, 0x2000 | f->table, 4);    /* 0xc0000000 */
		fill_pt(0x2000, 4, f);
		return 0x1000;
	case 2: /* PAE: PDPT 0x1000, PD 0x2000, PT 0x3000 */
		put(0x1000, 0x2000 | PTE_P, 8);
		put(0x1000 + 3 * 8, 0x2000 | PTE_P, 8);
		put(0x2000, 0x3000 | f->table, 8);
		put(0x2000 + 8, 0x0 | f->leaf | PTE_PS, 8); /* 2 MiB page */
		fill_pt(0x3000, 8, f);
		return 0x1000;
	default: /* long mode: PML4 0x1000, PDPTs 0x2000 and 0x5000, PDs 0x3000 and 0x6000, PT 0x4000 */
		put(0x1000, 0x2000 | f->table, 8);
		put(0x1000 + 511 * 8, 0x5000 | f->table, 8);
		put(0x2000, 0x3000 | f->table, 8);
		put(0x2000 + 8, 0x0 | f->leaf | PTE_PS, 8); /* 1 GiB page */
		put(0x3000, 0x4000 | f->table, 8);
		put(0x3000 + 8, 0x0 | f->leaf | PTE_PS, 8); /* 2 MiB page */
		fill_pt(0x4000, 8, f);
		put(0x5000 + 510 * 8, 0x6000 | f->table, 8); /* 0xffffffff80000000 */
		put(0x6000, 0x0 | f->leaf | PTE_PS, 8);
		put(0x6000 + 8 * 8, 0x4000 | f->table, 8); /* 0xffffffff81000000 */
		if (mode != 4)
			return 0x1000;
		put(0x7000, 0x1000 | f->table, 8); /* PML5 */
		put(0x7000 + 511 * 8, 0x1000 | f->table, 8);
		return 0x7000;
	}
}

static void setup_cpu(struct emu_vcpu *cpu, const uint8_t *d, int mode)
{
	struct kvm_sregs *s = &cpu->sregs;
	struct kvm_regs *r = &cpu->regs;
	uint8_t f0 = d[0], f1 = d[1];
	memset(cpu, 0, sizeof(*cpu));

	struct kvm_segment flat = { .selector = 0x18, .type = 3, .present = 1, .s = 1, .db = 1, .g = 1 };
	s->ds = s->es = s->ss = s->fs = s->gs = flat;
	s->cs = (struct kvm_segment){ .selector = 0x10, .type = 11, .present = 1, .s = 1, .g = 1 };
	s->cs.base = le(d + 20, 4);
	s->ds.base = le(d + 24, 4);
	s->ss.base = le(d + 28, 4);
	s->es.base = le(d + 32, 4);
	s->fs.base = le(d + 36, 8);
	s->gs.base = le(d + 44, 8);
	if (f0 & 8)
		s->cs.selector |= 3;

	s->cr0 = CR0_PE;
	s->cr4 = (f1 & 8) ? 0 : CR4_OSFXSR;
	switch (mode) {
	case 0:
		s->cs.db = 1;
		break;
	case 1:
	case 2:
		s->cr0 |= CR0_PG;
		s->cr4 |= mode == 2 ? CR4_PAE : 0;
		s->cs.db = 1;
		break;
	case 3:
	case 4:
	case 5:
		s->cr0 |= CR0_PG;
		s->cr4 |= CR4_PAE | (mode == 4 ? CR4_LA57 : 0);
		s->efer = EFER_LME | EFER_LMA;
		s->cs.l = mode != 5;
		s->cs.db = mode == 5;
		break;
	case 6:
		s->cr0 = le(d + 188, 4);
		s->cr4 = le(d + 192, 4);
		s->efer = le(d + 196, 4);
		s->cr3 = le(d + 180, 8);
		s->cs.l = s->efer & 1; /* SCE and a reserved bit: no meaning to the emulator */
		s->cs.db = (s->efer >> 1) & 1;
		break;
	default: /* 7: 16-bit protected mode */
		break;
	}
	if (mode != 6) {
		s->cr0 |= ((f0 & 16) ? CR0_WP : 0) | ((f1 & 1) ? CR0_TS : 0) | ((f1 & 2) ? CR0_EM : 0) |
			  ((f1 & 4) ? CR0_MP : 0);
		s->cr4 |= ((f0 & 32) ? CR4_SMAP : 0) | ((f1 & 16) ? CR4_OSXSAVE : 0) |
			  ((f1 & 64) ? CR4_PSE : 0);
		s->efer |= (f1 & 32) ? EFER_FFXSR : 0;
	}

	r->rip = le(d + 4, 8);
	r->rflags = (le(d + 12, 4) & ~(RFLAGS_AC | RFLAGS_VM)) | 2 | ((f0 & 64) ? RFLAGS_AC : 0) |
		    ((f1 & 128) ? RFLAGS_VM : 0);
	__u64 *gpr[16] = { &r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
			   &r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15 };
	for (int i = 0; i < 16; i++)
		*gpr[i] = le(d + 52 + 8 * i, 8) & ((f0 & 128) ? 0x1ffffull : ~0ull);

	cpu->fpu.fcw = 0x37f;
	cpu->fpu.fsw = d[3];
	cpu->fpu.mxcsr = (uint32_t)le(d + 16, 4);
	for (int n = 0; n < 16; n++)
		for (int i = 0; i < 16; i++)
			cpu->fpu.xmm[n][i] = (uint8_t)(d[200 + i] + n);
	cpu->inject_vector = -7; /* emu_step must set it */
}

static void check_result(enum emu_result res, const struct emu_vcpu *before, const struct emu_vcpu *cpu,
			 const char *detail, int mode64)
{
	const struct kvm_regs *r0 = &before->regs, *r = &cpu->regs;
	if (res == EMU_UNHANDLED || res == EMU_FAULT) {
		if (!detail[0] || cpu->inject_vector != -1 || cpu->regs_changed || cpu->sregs_changed ||
		    cpu->fpu_changed || memcmp(r, r0, sizeof(*r)) ||
		    memcmp(&cpu->sregs, &before->sregs, sizeof(cpu->sregs)) ||
		    memcmp(&cpu->fpu, &before->fpu, sizeof(cpu->fpu)))
			abort();
		return;
	}
	if (res != EMU_HANDLED)
		abort();
	int v = cpu->inject_vector;
	if (v == -1 || v == 3) { /* completed (int3 is a trap: RIP already past it) */
		uint64_t len = r->rip - r0->rip;
		if (!mode64) {
			len &= 0xffffffffull;
			if (r->rip > 0xffffffffull)
				abort();
		}
		if (len < 1 || len > 15 || !cpu->regs_changed || (r->rflags & RFLAGS_RF) ||
		    cpu->sregs_changed || memcmp(&cpu->sregs, &before->sregs, sizeof(cpu->sregs)))
			abort();
		if (v == 3 && cpu->inject_has_error)
			abort();
		return;
	}
	bool has_error = v == 12 || v == 13 || v == 14;
	if (v != 6 && v != 7 && v != 16 && !has_error)
		abort(); /* a vector the emulator does not document */
	if (cpu->inject_has_error != has_error || (!has_error && cpu->inject_error))
		abort();
	/* A fault: nothing but CR2 (for #PF) may have changed. */
	if (memcmp(r, r0, sizeof(*r)) || cpu->regs_changed || cpu->fpu_changed ||
	    memcmp(&cpu->fpu, &before->fpu, sizeof(cpu->fpu)))
		abort();
	struct kvm_sregs s = cpu->sregs;
	if (v == 14) {
		if (!cpu->sregs_changed)
			abort();
		s.cr2 = before->sregs.cr2;
	} else if (cpu->sregs_changed) {
		abort();
	}
	if (memcmp(&s, &before->sregs, sizeof(s)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;
	ram_init();
	int mode = data[0] & 7;
	uint8_t *ram0 = mem.region[0].host, *ram1 = mem.region[1].host;
	const uint8_t *image = data + HDR;
	size_t image_len = size - HDR;
	memset(ram0, 0, RAM0_SIZE);
	memset(ram1, 0, RAM1_SIZE);
	uint64_t base = mode == 6 ? 0 : TABLES;
	memcpy(ram0 + base, image, MIN(image_len, RAM0_SIZE - base));
	memcpy(ram1, image, MIN(image_len, RAM1_SIZE));

	struct emu_vcpu cpu;
	setup_cpu(&cpu, data, mode);
	if (mode != 6 && mode != 0 && mode != 7) {
		uint8_t f2 = data[2];
		struct ptflags f = {
			.table = PTE_P | ((f2 & 8) ? 0 : PTE_W) | ((f2 & 16) ? PTE_U : 0),
			.leaf = PTE_P | ((f2 & 1) ? 0 : PTE_W) | ((f2 & 2) ? PTE_U : 0),
			.odd_absent = f2 & 4,
		};
		cpu.sregs.cr3 = build_tables(mode, &f);
	}
	/* The instruction at CS:RIP where it translates (the page walk is the emulator's), byte by
	 * byte: its start may lie on a page whose successor is not mapped. */
	uint64_t la = cpu.regs.rip;
	if (!(cpu.sregs.efer & EFER_LMA) || !cpu.sregs.cs.l)
		la = (cpu.sregs.cs.base + (la & 0xffffffffull)) & 0xffffffffull;
	for (int i = 0; i < EMU_MAX_INSN; i++)
		(void)emu_write_virt(&mem, &cpu.sregs, la + i, data + 216 + i, 1);

	struct emu_vcpu before = cpu;
	char detail[129];
	detail[128] = 'Z';
	enum emu_result res = emu_step(&cpu, &mem, detail, 128);
	if (detail[128] != 'Z' || strnlen(detail, 128) == 128)
		abort();
	if (g_getenv("SEPIA_FUZZ_VERBOSE"))
		g_printerr("emu_step: %d, vector %d, rip 0x%llx -> 0x%llx: %s\n", res, cpu.inject_vector,
			   (unsigned long long)before.regs.rip, (unsigned long long)cpu.regs.rip, detail);
	bool mode64 = (cpu.sregs.efer & EFER_LMA) && cpu.sregs.cs.l && (cpu.sregs.cr0 & CR0_PE) &&
		      !(cpu.regs.rflags & RFLAGS_VM);
	check_result(res, &before, &cpu, detail, mode64);
	return 0;
}
