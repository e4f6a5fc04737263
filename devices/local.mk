# sepia-vmm: the library holds everything but main() so unit tests link the real code.
noinst_LIBRARIES += devices/libsepiavmm.a
devices_libsepiavmm_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(ZLIB_CFLAGS) $(VIRGL_CFLAGS) $(EGL_CFLAGS)
devices_libsepiavmm_a_SOURCES = \
	devices/acpi.c devices/acpi.h \
	devices/boot.c devices/boot.h \
	devices/bus.c devices/bus.h \
	devices/chardev.c devices/chardev.h \
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
	devices/vcpu.c devices/vcpu.h \
	devices/vm.c devices/vm.h \
	devices/virtio/virtio.h \
	devices/virtio/queue.c devices/virtio/queue.h devices/virtio/chain.c devices/virtio/chain.h \
	devices/virtio/pci.c \
	devices/virtio/blk.c devices/virtio/blk.h \
	devices/virtio/console.c devices/virtio/console.h \
	devices/virtio/vsock.c devices/virtio/vsock.h \
	devices/virtio/vsock_muxer.c devices/virtio/vsock_muxer.h \
	devices/virtio/vsock_connection.c devices/virtio/vsock_connection.h \
	devices/virtio/net.c devices/virtio/net.h \
	devices/virtio/gpu.c devices/virtio/gpu.h devices/virtio/gpu_internal.h \
	devices/virtio/gpu_resource.c devices/virtio/gpu_virgl.c devices/virtio/gpu_edid.c

bin_PROGRAMS += sepia-vmm
sepia_vmm_SOURCES = devices/main.c
sepia_vmm_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
VMM_LIBS = devices/libsepiavmm.a block/libsepiablock.a display/libsepiadisplay.a common/libsepiacommon.a \
	$(GLIB_LIBS) $(ZLIB_LIBS) $(VIRGL_LIBS) $(EGL_LIBS) -lpthread
sepia_vmm_LDADD = $(VMM_LIBS)
