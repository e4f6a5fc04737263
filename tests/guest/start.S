/* guest-kit entry: PVH (32-bit protected mode, paging off, EBX = hvm_start_info)
 * to long mode with the low 4 GiB identity mapped, then gk_entry() in lib.c.
 *
 * The page tables are built by the assembler, not at run time: on hosts whose KVM
 * interprets ring-0 code, every instruction we do not execute is time saved. */

#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* The PVH entry note. The descriptor is a pointer-sized (8-byte) address, as loaders
 * such as QEMU read it for 64-bit ELF files. */
	.pushsection .note.Xen, "a", @note
	.balign 4
	.long 4                         /* namesz: "Xen\0" */
	.long 8                         /* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.balign 4
	.quad pvh_start32
	.popsection

	.section .text.start, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	movl %ebx, %edi                 /* keep hvm_start_info for gk_entry() */
	lgdt gdt_desc
	movl %cr4, %eax
	orl $0x20, %eax                 /* CR4.PAE */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx          /* IA32_EFER */
	rdmsr
	orl $0x100, %eax                /* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax           /* PG | PE */
	movl %eax, %cr0
	ljmp $0x08, $start64

	.code64
start64:
	movl $0x10, %eax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movl %edi, %r12d                /* zero-extends: start_info is below 4 GiB */
	/* ELF loaders zero memsz beyond filesz; do it again so a loader bug shows up as
	 * a failed check rather than as garbage in static queues. */
	movq $__bss_start, %rdi
	movq $__bss_end, %rcx
	subq %rdi, %rcx
	shrq $3, %rcx                   /* the linker script aligns both ends to 16 */
	xorl %eax, %eax
	rep stosq
	movq $stack_top, %rsp
	xorl %ebp, %ebp
	movq %r12, %rdi
	call gk_entry
1:	cli
	hlt
	jmp 1b

/* Interrupt stubs: 256 of them, 16 bytes apart, so lib.c can compute stub addresses.
 * Each pushes a zero error code where the CPU does not push one, then the vector. */
	.balign 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp isr_common
	.set vec, vec + 1
	.endr

isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi                 /* struct irq_frame * */
	call isr_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp                  /* vector, error code */
	iretq

	.section .data
	.balign 16
gdt:
	.quad 0                         /* null */
	.quad 0x00af9a000000ffff        /* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff        /* 0x10: flat data */
gdt_end:
	.balign 4
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

/* Identity map of 0..4 GiB in 2 MiB pages (2 MiB pages need no CPUID feature, unlike
 * 1 GiB ones, which QEMU's default CPU model lacks). The top GiB, the 32-bit MMIO
 * hole with PCI BARs and the LAPIC, is mapped uncached (PCD|PWT). */
	.balign 4096
pml4:
	.quad pdpt + 0x003              /* present, writable */
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0000 + 0x003
	.quad pd + 0x1000 + 0x003
	.quad pd + 0x2000 + 0x003
	.quad pd + 0x3000 + 0x003
	.fill 508, 8, 0
pd:
	.set page, 0
	.rept 2048
	.if page >= 1536
	.quad (page << 21) | 0x9b       /* present, writable, PWT, PCD, 2 MiB */
	.else
	.quad (page << 21) | 0x083      /* present, writable, 2 MiB */
	.endif
	.set page, page + 1
	.endr

	.section .bss
	.balign 16
stack:
	.skip 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
