# tests/guest: guest-kit payloads, tiny freestanding x86-64 PVH ELFs that sepia-vmm (or
# QEMU) boots to exercise one thing each, and the TAP runner that boots them. See
# tests/guest/README for the exit-status convention and how to run them by hand.
#
# The payloads are check_PROGRAMS built with the system gcc for bare metal: per-target
# flags replace AM_CFLAGS, so nothing hosted (GLib, PIE, SSE, stack protector) leaks in.
GUESTKIT_COMPILE_FLAGS = -std=gnu11 $(SEPIA_CFLAGS) -O2 -g \
	-ffreestanding -fno-pic -fno-pie -mcmodel=small -mno-red-zone \
	-mno-sse -mno-mmx -mno-avx -mgeneral-regs-only \
	-fno-stack-protector -fcf-protection=none -fno-asynchronous-unwind-tables \
	-fno-tree-loop-distribute-patterns
GUESTKIT_LINK_FLAGS = -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-n \
	-Wl,-T,$(srcdir)/tests/guest/guestkit.ld
GUESTKIT_RUNTIME = tests/guest/start.S tests/guest/lib.c tests/guest/lib.h tests/guest/pvclock.h \
	tests/guest/pcibus.c tests/guest/virtio.c

check_PROGRAMS += tests/guest/serial.elf tests/guest/bootparams.elf tests/guest/pci.elf \
	tests/guest/blk.elf tests/guest/console.elf tests/guest/msix.elf tests/guest/smp.elf \
	tests/guest/usermode.elf tests/guest/gpu.elf tests/guest/uart-irq.elf tests/guest/input.elf tests/guest/snapshot.elf \
	tests/guest/kvmclock.elf

tests_guest_serial_elf_SOURCES = $(GUESTKIT_RUNTIME) tests/guest/serial.c
tests_guest_serial_elf_CFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_serial_elf_CCASFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_serial_elf_LDFLAGS = $(GUESTKIT_LINK_FLAGS)
EXTRA_tests_guest_serial_elf_DEPENDENCIES = $(srcdir)/tests/guest/guestkit.ld

tests_guest_bootparams_elf_SOURCES = $(GUESTKIT_RUNTIME) tests/guest/bootparams.c
tests_guest_bootparams_elf_CFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_bootparams_elf_CCASFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_bootparams_elf_LDFLAGS = $(GUESTKIT_LINK_FLAGS)
EXTRA_tests_guest_bootparams_elf_DEPENDENCIES = $(srcdir)/tests/guest/guestkit.ld

tests_guest_pci_elf_SOURCES = $(GUESTKIT_RUNTIME) tests/guest/pci.c
tests_guest_pci_elf_CFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_pci_elf_CCASFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_pci_elf_LDFLAGS = $(GUESTKIT_LINK_FLAGS)
EXTRA_tests_guest_pci_elf_DEPENDENCIES = $(srcdir)/tests/guest/guestkit.ld

tests_guest_blk_elf_SOURCES = $(GUESTKIT_RUNTIME) tests/guest/blk.c
tests_guest_blk_elf_CFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_blk_elf_CCASFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_blk_elf_LDFLAGS = $(GUESTKIT_LINK_FLAGS)
EXTRA_tests_guest_blk_elf_DEPENDENCIES = $(srcdir)/tests/guest/guestkit.ld

tests_guest_console_elf_SOURCES = $(GUESTKIT_RUNTIME) tests/guest/console.c
tests_guest_console_elf_CFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_console_elf_CCASFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_console_elf_LDFLAGS = $(GUESTKIT_LINK_FLAGS)
EXTRA_tests_guest_console_elf_DEPENDENCIES = $(srcdir)/tests/guest/guestkit.ld

tests_guest_msix_elf_SOURCES = $(GUESTKIT_RUNTIME) tests/guest/msix.c
tests_guest_msix_elf_CFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_msix_elf_CCASFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_msix_elf_LDFLAGS = $(GUESTKIT_LINK_FLAGS)
EXTRA_tests_guest_msix_elf_DEPENDENCIES = $(srcdir)/tests/guest/guestkit.ld

tests_guest_smp_elf_SOURCES = $(GUESTKIT_RUNTIME) tests/guest/smp.c tests/guest/smp-trampoline.S
tests_guest_smp_elf_CFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_smp_elf_CCASFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_smp_elf_LDFLAGS = $(GUESTKIT_LINK_FLAGS)
EXTRA_tests_guest_smp_elf_DEPENDENCIES = $(srcdir)/tests/guest/guestkit.ld

tests_guest_usermode_elf_SOURCES = $(GUESTKIT_RUNTIME) tests/guest/usermode.c
tests_guest_usermode_elf_CFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_usermode_elf_CCASFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_usermode_elf_LDFLAGS = $(GUESTKIT_LINK_FLAGS)
EXTRA_tests_guest_usermode_elf_DEPENDENCIES = $(srcdir)/tests/guest/guestkit.ld

tests_guest_kvmclock_elf_SOURCES = $(GUESTKIT_RUNTIME) tests/guest/kvmclock.c
tests_guest_kvmclock_elf_CFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_kvmclock_elf_CCASFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_kvmclock_elf_LDFLAGS = $(GUESTKIT_LINK_FLAGS)
EXTRA_tests_guest_kvmclock_elf_DEPENDENCIES = $(srcdir)/tests/guest/guestkit.ld

tests_guest_uart_irq_elf_SOURCES = $(GUESTKIT_RUNTIME) tests/guest/uart-irq.c
tests_guest_uart_irq_elf_CFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_uart_irq_elf_CCASFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_uart_irq_elf_LDFLAGS = $(GUESTKIT_LINK_FLAGS)
EXTRA_tests_guest_uart_irq_elf_DEPENDENCIES = $(srcdir)/tests/guest/guestkit.ld

# serial32.elf: the serial payload as a 32-bit ELF (elf32-i386). PVH enters a kernel in
# 32-bit protected mode, so its ELF may be of either class: the code is the same (the
# 32-bit entry stub switches to long mode), only the headers are ELF32.
check_DATA += tests/guest/serial32.elf
CLEANFILES += tests/guest/serial32.elf
tests/guest/serial32.elf: tests/guest/serial.elf
	$(AM_V_GEN)$(OBJCOPY) -O elf32-i386 --strip-debug tests/guest/serial.elf $@

# One wrapper per payload under sepia-vmm (each skips without /dev/kvm or sepia-vmm),
# and every payload under QEMU TCG (skips without QEMU) to keep the payloads honest.
GUESTKIT_TESTS = tests/guest/serial.sh tests/guest/serial-elf32.sh tests/guest/bootparams.sh tests/guest/pci.sh \
	tests/guest/blk.sh tests/guest/blk-ro.sh tests/guest/console.sh tests/guest/console-hvc.sh tests/guest/msix.sh \
	tests/guest/smp.sh tests/guest/usermode.sh tests/guest/emulation-failure.sh \
	tests/guest/qemu-selftest.sh tests/guest/gpu.sh tests/guest/gpu-virgl.sh \
	tests/guest/gpu-fallback.sh tests/guest/gpu-nolib.sh tests/guest/uart-irq.sh tests/guest/snapshot.sh \
	tests/guest/kvmclock.sh
TESTS += $(GUESTKIT_TESTS)
EXTRA_DIST += $(GUESTKIT_TESTS) tests/guest/run-payload.sh tests/guest/guestkit.ld tests/pattern-check.py \
	tests/guest/README

tests_guest_snapshot_elf_SOURCES = $(GUESTKIT_RUNTIME) tests/guest/snapshot.c
tests_guest_snapshot_elf_CFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_snapshot_elf_CCASFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_snapshot_elf_LDFLAGS = $(GUESTKIT_LINK_FLAGS)
EXTRA_tests_guest_snapshot_elf_DEPENDENCIES = $(srcdir)/tests/guest/guestkit.ld

tests_guest_gpu_elf_SOURCES = $(GUESTKIT_RUNTIME) tests/guest/gpu.c
tests_guest_gpu_elf_CFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_gpu_elf_CCASFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_gpu_elf_LDFLAGS = $(GUESTKIT_LINK_FLAGS)
EXTRA_tests_guest_gpu_elf_DEPENDENCIES = $(srcdir)/tests/guest/guestkit.ld

tests_guest_input_elf_SOURCES = $(GUESTKIT_RUNTIME) tests/guest/input.c
tests_guest_input_elf_CFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_input_elf_CCASFLAGS = $(GUESTKIT_COMPILE_FLAGS)
tests_guest_input_elf_LDFLAGS = $(GUESTKIT_LINK_FLAGS)
EXTRA_tests_guest_input_elf_DEPENDENCIES = $(srcdir)/tests/guest/guestkit.ld
TESTS += tests/guest/input.sh
EXTRA_DIST += tests/guest/input.sh tests/guest/input.c
