# libFuzzer targets for the virtio devices' queue handling: each includes its device's .c file
# with the virtio-pci transport stubbed (tests/fuzz/fuzz-virtio.h), over a guest the input
# describes. Included after tests/fuzz/local.mk, whose rules and flags they share.
FUZZ_VIRTIO_SRCS = $(srcdir)/devices/virtio/queue.c $(srcdir)/devices/virtio/chain.c \
	$(srcdir)/devices/guestmem.c $(srcdir)/common/error.c
FUZZ_VIRTIO_HDR = $(srcdir)/tests/fuzz/fuzz-virtio.h $(FUZZ_HDR)
FUZZ_TARGETS += tests/fuzz/fuzz-blk tests/fuzz/fuzz-net tests/fuzz/fuzz-console tests/fuzz/fuzz-input \
	tests/fuzz/fuzz-rng
FUZZ_NAMES += blk net console input rng
EXTRA_DIST += tests/fuzz/devices.mk tests/fuzz/make-virtio-seeds.py tests/fuzz/fuzz-virtio.h tests/fuzz/fuzz-blk.c tests/fuzz/fuzz-net.c \
	tests/fuzz/fuzz-console.c tests/fuzz/fuzz-input.c tests/fuzz/fuzz-rng.c

tests/fuzz/fuzz-blk: $(srcdir)/tests/fuzz/fuzz-blk.c $(srcdir)/devices/virtio/blk.c $(srcdir)/tests/unit/memdisk.h $(FUZZ_VIRTIO_HDR) \
		$(FUZZ_VIRTIO_SRCS) $(FUZZ_BLOCK_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-blk.c $(FUZZ_VIRTIO_SRCS) \
	  $(filter-out %/common/error.c,$(FUZZ_BLOCK_SRCS)) $(GLIB_LIBS) $(ZLIB_LIBS)
tests/fuzz/fuzz-net: $(srcdir)/tests/fuzz/fuzz-net.c $(srcdir)/devices/virtio/net.c $(FUZZ_VIRTIO_HDR) \
		$(FUZZ_VIRTIO_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-net.c $(FUZZ_VIRTIO_SRCS) \
	  $(GLIB_LIBS)
tests/fuzz/fuzz-console: $(srcdir)/tests/fuzz/fuzz-console.c $(srcdir)/devices/virtio/console.c \
		$(FUZZ_VIRTIO_HDR) $(FUZZ_VIRTIO_SRCS) $(srcdir)/devices/chardev.c
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-console.c $(FUZZ_VIRTIO_SRCS) \
	  $(srcdir)/devices/chardev.c $(GLIB_LIBS)
tests/fuzz/fuzz-input: $(srcdir)/tests/fuzz/fuzz-input.c $(srcdir)/devices/virtio/input.c \
		$(srcdir)/devices/virtio/input.h $(FUZZ_VIRTIO_HDR) $(FUZZ_VIRTIO_SRCS) $(srcdir)/devices/snapshot.c
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-input.c $(FUZZ_VIRTIO_SRCS) \
	  $(srcdir)/devices/snapshot.c $(GLIB_LIBS)
tests/fuzz/fuzz-rng: $(srcdir)/tests/fuzz/fuzz-rng.c $(srcdir)/devices/virtio/rng.c \
		$(srcdir)/devices/virtio/rng.h $(FUZZ_VIRTIO_HDR) $(FUZZ_VIRTIO_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-rng.c $(FUZZ_VIRTIO_SRCS) \
	  $(GLIB_LIBS)

# sepia-vmm's snapshot state parser and the PCI bus's loader behind it (no KVM).
FUZZ_SNAPSHOT_SRCS = $(srcdir)/devices/snapshot.c $(srcdir)/devices/pci.c $(srcdir)/devices/bus.c \
	$(srcdir)/devices/host.c $(srcdir)/common/error.c
FUZZ_SNAPSHOT_CORPUS = tests/fuzz/corpus/snapshot/pci-and-serial tests/fuzz/corpus/snapshot/empty-sections
FUZZ_TARGETS += tests/fuzz/fuzz-snapshot
FUZZ_NAMES += snapshot
EXTRA_DIST += tests/fuzz/fuzz-snapshot.c $(FUZZ_SNAPSHOT_CORPUS)
tests/fuzz/fuzz-snapshot: $(srcdir)/tests/fuzz/fuzz-snapshot.c $(FUZZ_HDR) $(FUZZ_SNAPSHOT_SRCS) \
		$(srcdir)/devices/snapshot.h $(srcdir)/devices/pci.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-snapshot.c $(FUZZ_SNAPSHOT_SRCS) \
	  $(GLIB_LIBS) -lpthread
