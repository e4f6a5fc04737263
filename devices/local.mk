# sepia-vmm: the library holds everything but main() so unit tests link the real code.
# virglrenderer and EGL are compiled against (their headers) but not linked: gpu_virgl.c opens
# them when a VM asks for 3D.
noinst_LIBRARIES += devices/libsepiavmm.a
devices_libsepiavmm_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(ZLIB_CFLAGS) $(VIRGL_CFLAGS) $(EGL_CFLAGS)
devices_libsepiavmm_a_SOURCES = \
	devices/acpi.c devices/acpi.h \
	devices/boot.c devices/boot.h \
	devices/bus.c devices/bus.h \
	devices/chardev.c devices/chardev.h \
	devices/cpuid.c devices/cpuid.h \
	devices/emulate.c devices/emulate.h devices/emulate_sse.c devices/emulate_mem.c devices/emulate_seg.c \
	devices/guestmem.c devices/guestmem.h \
	devices/host.c devices/host.h \
	devices/hostcheck.c devices/hostcheck.h \
	devices/unpack.c devices/unpack.h \
	devices/layout.h \
	devices/pci.c devices/pci.h \
	devices/power.c devices/power.h \
	devices/rtc.c devices/rtc.h \
	devices/serial.c devices/serial.h \
	devices/snapshot.c devices/snapshot.h \
	devices/vcpu.c devices/vcpu.h devices/vcpu_state.c devices/vcpu_state.h \
	devices/vm.c devices/vm.h devices/vm_api.c devices/vm_api.h \
	devices/vm_snapshot.c devices/vm_snapshot.h \
	devices/virtio/virtio.h \
	devices/virtio/queue.c devices/virtio/queue.h devices/virtio/chain.c devices/virtio/chain.h \
	devices/virtio/pci.c \
	devices/virtio/blk.c devices/virtio/blk.h \
	devices/virtio/console.c devices/virtio/console.h \
	devices/virtio/vsock.c devices/virtio/vsock.h \
	devices/virtio/vsock_muxer.c devices/virtio/vsock_muxer.h \
	devices/virtio/vsock_connection.c devices/virtio/vsock_connection.h \
	devices/virtio/net.c devices/virtio/net.h \
	devices/virtio/input.c devices/virtio/input.h \
	devices/virtio/rng.c devices/virtio/rng.h \
	devices/virtio/gpu.c devices/virtio/gpu.h devices/virtio/gpu_internal.h \
	devices/virtio/gpu_resource.c devices/virtio/gpu_virgl.c devices/virtio/gpu_edid.c \
	devices/virtio/gpu_snapshot.c

# The sandbox (devices/sandbox/sandbox.h): jail, resource caps, per-thread seccomp filters.
devices_libsepiavmm_a_SOURCES += \
	devices/sandbox/sandbox.c devices/sandbox/sandbox.h devices/sandbox/sandbox_internal.h \
	devices/sandbox/seccomp.c devices/sandbox/syscalls.c devices/sandbox/jail.c devices/sandbox/limits.c
devices_libsepiavmm_a_CFLAGS += $(SECCOMP_CFLAGS)
EXTRA_DIST += devices/sandbox/learn-syscalls.py devices/sandbox/learn-syscalls.sh

bin_PROGRAMS += sepia-vmm
sepia_vmm_SOURCES = devices/main.c
sepia_vmm_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
VMM_LIBS = devices/libsepiavmm.a block/libsepiablock.a display/libsepiadisplay.a common/libsepiacommon.a \
	$(GLIB_LIBS) $(ZLIB_LIBS) $(DLOPEN_LIBS) $(SECCOMP_LIBS) -lpthread
sepia_vmm_LDADD = $(VMM_LIBS)

# ---- unit tests of devices/ (sources in tests/unit/; UNIT_CFLAGS and UNIT_LDADD there)
check_PROGRAMS += tests/unit/test-emulate
tests_unit_test_emulate_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-emulate

check_PROGRAMS += tests/unit/test-virtq
tests_unit_test_virtq_SOURCES = tests/unit/test-virtq.c tests/unit/fakemem.c tests/unit/fakemem.h
tests_unit_test_virtq_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-virtq

check_PROGRAMS += tests/unit/test-boot
tests_unit_test_boot_SOURCES = tests/unit/test-boot.c tests/unit/fakemem.c tests/unit/fakemem.h
tests_unit_test_boot_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-boot

check_PROGRAMS += tests/unit/test-acpi
tests_unit_test_acpi_SOURCES = tests/unit/test-acpi.c tests/unit/fakemem.c tests/unit/fakemem.h
tests_unit_test_acpi_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-acpi

check_PROGRAMS += tests/unit/test-cpuid
tests_unit_test_cpuid_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-cpuid

check_PROGRAMS += tests/unit/test-chardev
tests_unit_test_chardev_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-chardev

check_PROGRAMS += tests/unit/test-pci
tests_unit_test_pci_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-pci

check_PROGRAMS += tests/unit/test-unpack
tests_unit_test_unpack_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-unpack

# virtio-blk's request handler with the PCI transport stubbed (the test includes blk.c).
check_PROGRAMS += tests/unit/test-blk
tests_unit_test_blk_SOURCES = tests/unit/test-blk.c tests/unit/memdisk.h
tests_unit_test_blk_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-blk

check_PROGRAMS += tests/unit/test-vsock
tests_unit_test_vsock_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-vsock

check_PROGRAMS += tests/unit/test-gpu
tests_unit_test_gpu_SOURCES = tests/unit/test-gpu.c tests/unit/fakegpu.c tests/unit/fakegpu.h \
	tests/unit/fakemem.c tests/unit/fakemem.h
tests_unit_test_gpu_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-gpu

# The sandbox: filters per role (a forbidden call stops a forked child naming the call), the
# jail (as root), the caps.
check_PROGRAMS += tests/unit/test-sandbox
tests_unit_test_sandbox_CFLAGS = $(UNIT_CFLAGS) $(SECCOMP_CFLAGS)
tests_unit_test_sandbox_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-sandbox
# virtio-input and virtio-rng with the PCI transport stubbed (each test includes its device's .c).
check_PROGRAMS += tests/unit/test-input
tests_unit_test_input_SOURCES = tests/unit/test-input.c tests/unit/fakemem.c tests/unit/fakemem.h
tests_unit_test_input_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-input

check_PROGRAMS += tests/unit/test-rng
tests_unit_test_rng_SOURCES = tests/unit/test-rng.c tests/unit/fakemem.c tests/unit/fakemem.h
tests_unit_test_rng_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-rng

check_PROGRAMS += tests/unit/test-snapshot
tests_unit_test_snapshot_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-snapshot
