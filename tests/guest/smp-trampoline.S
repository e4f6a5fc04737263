/* smp: where an application processor starts after INIT-SIPI-SIPI. smp.c copies this
 * to 0x8000 (SIPI vector 0x08); it runs in real mode with CS = 0x0800, records the
 * initial APIC ID that CPUID reports in the mailbox at 0x8f00, counts itself and
 * halts. APs are started one at a time, so no locked instruction is needed. */
#define MAILBOX 0x8f00 /* u32 count; u32 apic_id[]; */

	.section .rodata
	.globl ap_trampoline, ap_trampoline_end
	.code16
ap_trampoline:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	movl $1, %eax
	cpuid
	shrl $24, %ebx
	movzwl MAILBOX, %ecx
	movl %ebx, MAILBOX + 4(,%ecx,4)
	incw MAILBOX
1:	hlt
	jmp 1b
ap_trampoline_end:
	.code64

	.section .note.GNU-stack, "", @progbits
