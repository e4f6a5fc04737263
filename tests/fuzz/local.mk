# tests/fuzz/: libFuzzer targets for what hostile inputs reach. They build from the sources
# of the layers they test, with clang and its sanitizers.
# libFuzzer targets, one per parser: `make fuzz` builds them with clang (not part of `make check`:
# they need clang and libclang-rt-dev); `make fuzz-run FUZZ_RUNS=1000000` runs each in turn.
# See tests/fuzz/README.md.
FUZZ_CC = clang
FUZZ_COMPILE_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I$(top_srcdir) -D_GNU_SOURCE -std=gnu11 $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
FUZZ_RUNS = 1000000
FUZZ_LIB_SRCS = $(srcdir)/images/common.c $(srcdir)/images/bootimg.c \
	$(srcdir)/images/vendorboot.c $(srcdir)/images/crc32.c $(srcdir)/images/sparse.c \
	$(srcdir)/images/vbmeta.c
# The VMM's disk backends (qcow2, VMDK descriptors, raw) and the error quark they use.
FUZZ_BLOCK_SRCS = $(srcdir)/block/block.c $(srcdir)/block/image_lock.c $(srcdir)/block/raw.c \
	$(srcdir)/block/qcow2.c $(srcdir)/block/qcow2_open.c \
	$(srcdir)/block/qcow2_refcount.c $(srcdir)/block/qcow2_repair.c $(srcdir)/block/vmdk.c \
	$(srcdir)/common/error.c
FUZZ_MANIFEST_SRCS = $(srcdir)/images/manifest.c $(srcdir)/images/composite.c $(FUZZ_LIB_SRCS)
FUZZ_ABMISC_SRCS = $(srcdir)/images/abmisc.c $(srcdir)/images/common.c $(srcdir)/images/crc32.c
FUZZ_BOOTDISK_SRCS = $(srcdir)/bootloader/bootdisk.c $(srcdir)/images/abmisc.c \
	$(srcdir)/bootloader/bootloader.c $(srcdir)/images/avb.c $(FUZZ_LIB_SRCS) $(FUZZ_BLOCK_SRCS)
# virtio-vsock's muxer and connections: guest packets and host CONNECT lines.
FUZZ_VSOCK_CORPUS = tests/fuzz/corpus/vsock/credit-overrun \
	tests/fuzz/corpus/vsock/guest-connect-listener \
	tests/fuzz/corpus/vsock/header-only-buffer \
	tests/fuzz/corpus/vsock/host-connect-exchange \
	tests/fuzz/corpus/vsock/partial-and-malformed-lines \
	tests/fuzz/corpus/vsock/raw-headers-that-lie \
	tests/fuzz/regressions/vsock/host-input-without-credit-spins \
	tests/fuzz/regressions/vsock/queued-twice-after-a-failed-host-read
FUZZ_VSOCK_SRCS = $(srcdir)/devices/virtio/vsock_muxer.c $(srcdir)/devices/virtio/vsock_connection.c \
	$(srcdir)/common/error.c
FUZZ_TARGETS = tests/fuzz/fuzz-bootimg tests/fuzz/fuzz-vendorboot tests/fuzz/fuzz-sparse \
	tests/fuzz/fuzz-vbmeta tests/fuzz/fuzz-qcow2 tests/fuzz/fuzz-vmdk tests/fuzz/fuzz-manifest \
	tests/fuzz/fuzz-abmisc tests/fuzz/fuzz-gpt tests/fuzz/fuzz-vsock tests/fuzz/fuzz-gpu
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/make-seeds.sh tests/fuzz/fuzz-common.h \
	tests/fuzz/fuzz-bootimg.c tests/fuzz/fuzz-vendorboot.c tests/fuzz/fuzz-sparse.c \
	tests/fuzz/fuzz-vbmeta.c tests/fuzz/fuzz-qcow2.c tests/fuzz/fuzz-vmdk.c \
	tests/fuzz/fuzz-manifest.c tests/fuzz/fuzz-abmisc.c tests/fuzz/fuzz-gpt.c tests/fuzz/fuzz-vsock.c \
	tests/fuzz/regressions/qcow2/refcount-block-with-refcount-0.qcow2 \
	$(FUZZ_VSOCK_CORPUS) tests/fuzz/fuzz-gpu.c $(FUZZ_GPU_CORPUS)
# virtio-gpu's command handler in 2D mode over fake guest RAM (the transport and virglrenderer
# are stubbed in the target), built with a 4 MiB budget and 64 resources so that small inputs
# reach both limits (and big resources do not make every run slow).
FUZZ_GPU_LIMITS = '-DGPU_MAX_HOSTMEM=(4u << 20)' -DGPU_MAX_RESOURCES=64
FUZZ_GPU_SRCS = $(srcdir)/devices/virtio/gpu.c $(srcdir)/devices/virtio/gpu_resource.c \
	$(srcdir)/devices/virtio/gpu_edid.c $(srcdir)/devices/virtio/queue.c $(srcdir)/devices/virtio/chain.c \
	$(srcdir)/devices/guestmem.c \
	$(srcdir)/display/framebuffer.c $(srcdir)/common/error.c $(srcdir)/tests/unit/fakegpu.c \
	$(srcdir)/tests/unit/fakemem.c
FUZZ_GPU_CORPUS = tests/fuzz/corpus/gpu/queries tests/fuzz/corpus/gpu/show-pattern \
	tests/fuzz/corpus/gpu/two-scanouts tests/fuzz/corpus/gpu/formats tests/fuzz/corpus/gpu/malformed \
	tests/fuzz/corpus/gpu/segments tests/fuzz/corpus/gpu/budget tests/fuzz/corpus/gpu/typed \
	tests/fuzz/corpus/gpu/resource-count
CLEANFILES += $(FUZZ_TARGETS)
FUZZ_HDR = $(srcdir)/tests/fuzz/fuzz-common.h

fuzz: $(FUZZ_TARGETS)
tests/fuzz/fuzz-bootimg: $(srcdir)/tests/fuzz/fuzz-bootimg.c $(FUZZ_HDR) $(FUZZ_LIB_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-bootimg.c $(FUZZ_LIB_SRCS) $(GLIB_LIBS)
tests/fuzz/fuzz-vendorboot: $(srcdir)/tests/fuzz/fuzz-vendorboot.c $(FUZZ_HDR) $(FUZZ_LIB_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-vendorboot.c $(FUZZ_LIB_SRCS) $(GLIB_LIBS)
tests/fuzz/fuzz-sparse: $(srcdir)/tests/fuzz/fuzz-sparse.c $(FUZZ_HDR) $(FUZZ_LIB_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-sparse.c $(FUZZ_LIB_SRCS) $(GLIB_LIBS)
tests/fuzz/fuzz-vbmeta: $(srcdir)/tests/fuzz/fuzz-vbmeta.c $(FUZZ_HDR) $(FUZZ_LIB_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-vbmeta.c $(FUZZ_LIB_SRCS) $(GLIB_LIBS)
tests/fuzz/fuzz-qcow2: $(srcdir)/tests/fuzz/fuzz-qcow2.c $(FUZZ_HDR) $(FUZZ_BLOCK_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-qcow2.c $(FUZZ_BLOCK_SRCS) $(GLIB_LIBS)
tests/fuzz/fuzz-vmdk: $(srcdir)/tests/fuzz/fuzz-vmdk.c $(FUZZ_HDR) $(FUZZ_BLOCK_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-vmdk.c $(FUZZ_BLOCK_SRCS) $(GLIB_LIBS)
tests/fuzz/fuzz-manifest: $(srcdir)/tests/fuzz/fuzz-manifest.c $(FUZZ_HDR) $(FUZZ_MANIFEST_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-manifest.c $(FUZZ_MANIFEST_SRCS) \
	  $(GLIB_LIBS) $(CRYPTO_LIBS)
tests/fuzz/fuzz-abmisc: $(srcdir)/tests/fuzz/fuzz-abmisc.c $(FUZZ_HDR) $(FUZZ_ABMISC_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-abmisc.c $(FUZZ_ABMISC_SRCS) $(GLIB_LIBS)
tests/fuzz/fuzz-gpt: $(srcdir)/tests/fuzz/fuzz-gpt.c $(FUZZ_HDR) $(FUZZ_BOOTDISK_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-gpt.c $(FUZZ_BOOTDISK_SRCS) \
	  $(GLIB_LIBS) $(ZLIB_LIBS) $(CRYPTO_LIBS)
tests/fuzz/fuzz-vsock: $(srcdir)/tests/fuzz/fuzz-vsock.c $(FUZZ_HDR) $(FUZZ_VSOCK_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-vsock.c $(FUZZ_VSOCK_SRCS) $(GLIB_LIBS)
tests/fuzz/fuzz-gpu: $(srcdir)/tests/fuzz/fuzz-gpu.c $(FUZZ_HDR) $(FUZZ_GPU_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) $(FUZZ_GPU_LIMITS) -o $@ $(srcdir)/tests/fuzz/fuzz-gpu.c \
	  $(FUZZ_GPU_SRCS) $(GLIB_LIBS)

# One at a time, at the lowest CPU priority (the machine's cores are shared); corpora and seeds
# live in the build tree. Each target has its own input bound: images are cut to 64 KiB, the
# text and metadata targets need far less. `make fuzz-run FUZZ_NAMES="qcow2 gpt"` runs some.
FUZZ_NAMES = bootimg vendorboot sparse vbmeta qcow2 vmdk manifest abmisc gpt vsock gpu
fuzz-run: fuzz
	@set -e; $(SHELL) $(srcdir)/tests/fuzz/make-seeds.sh tests/fuzz/seeds; \
	for t in $(FUZZ_NAMES); do \
	  case $$t in \
	  bootimg|vendorboot|sparse|vbmeta|qcow2) max=65536;; vmdk|manifest) max=4096;; \
	  abmisc) max=64;; gpt) max=32768;; gpu) max=8192;; *) max=4096;; esac; \
	  mkdir -p tests/fuzz/corpus-$$t; \
	  echo "== fuzz-$$t: $(FUZZ_RUNS) runs, max_len $$max"; \
	  nice -n 19 tests/fuzz/fuzz-$$t -runs=$(FUZZ_RUNS) -max_len=$$max -rss_limit_mb=2048 \
	    -artifact_prefix=tests/fuzz/ -print_final_stats=1 tests/fuzz/corpus-$$t tests/fuzz/seeds/$$t; \
	done

.PHONY: fuzz fuzz-run
