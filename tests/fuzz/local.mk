# tests/fuzz/: libFuzzer targets for what hostile inputs reach. They build from the sources
# of the layers they test, with clang and its sanitizers.
# libFuzzer targets, one per parser: `make fuzz` builds them with clang (they need clang and
# libclang-rt-dev); `make fuzz-run FUZZ_RUNS=1000000` runs each in turn; `make fuzz-smoke`
# (and tests/fuzz/smoke.sh in `make check`) runs each a few seconds on its committed corpus and
# regressions. See tests/fuzz/README.md.
FUZZ_CC = clang
FUZZ_COMPILE_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I$(top_srcdir) -I$(top_builddir) -D_GNU_SOURCE -std=gnu11 $(GLIB_CFLAGS) $(CRYPTO_CFLAGS) \
	$(PROTOBUF_C_CFLAGS)
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
	$(srcdir)/devices/virtio/gpu_snapshot.c $(srcdir)/devices/snapshot.c \
	$(srcdir)/devices/virtio/gpu_edid.c $(srcdir)/devices/virtio/queue.c $(srcdir)/devices/virtio/chain.c \
	$(srcdir)/devices/guestmem.c \
	$(srcdir)/display/framebuffer.c $(srcdir)/common/error.c $(srcdir)/tests/unit/fakegpu.c \
	$(srcdir)/tests/unit/fakemem.c
FUZZ_GPU_CORPUS = tests/fuzz/corpus/gpu/queries tests/fuzz/corpus/gpu/show-pattern \
	tests/fuzz/corpus/gpu/two-scanouts tests/fuzz/corpus/gpu/formats tests/fuzz/corpus/gpu/malformed \
	tests/fuzz/corpus/gpu/segments tests/fuzz/corpus/gpu/budget tests/fuzz/corpus/gpu/typed \
	tests/fuzz/corpus/gpu/resource-count
# What the guest and local clients control: the virtqueue walker, the fallback emulator, the
# kernel loaders, the guest adbd's protocol and the control socket (its .pb-c.c is built here).
FUZZ_VIRTQ_SRCS = $(srcdir)/devices/virtio/queue.c $(srcdir)/devices/virtio/chain.c $(srcdir)/devices/guestmem.c
FUZZ_EMULATE_SRCS = $(srcdir)/devices/emulate.c $(srcdir)/devices/emulate_mem.c \
	$(srcdir)/devices/emulate_sse.c $(srcdir)/devices/emulate_seg.c $(srcdir)/devices/guestmem.c
FUZZ_LOADER_SRCS = $(srcdir)/devices/boot.c $(srcdir)/devices/unpack.c $(srcdir)/devices/guestmem.c \
	$(srcdir)/common/error.c
FUZZ_ADBD_SRCS = $(srcdir)/guest/adbd/adb_message.c $(srcdir)/guest/adbd/adb_auth.c
FUZZ_CONTROL_SRCS = $(srcdir)/launcher/control.c proto/control.pb-c.c $(srcdir)/launcher/instance.c \
	$(srcdir)/common/log.c \
	$(srcdir)/display/framebuffer.c $(FUZZ_MANIFEST_SRCS)
# The web view's HTTP request heads and guards (launcher/http.c), and its WebSocket frames and
# opening handshake (launcher/websocket.c).
FUZZ_HTTP_SRCS = $(srcdir)/launcher/http.c
FUZZ_WEBSOCKET_SRCS = $(srcdir)/launcher/websocket.c $(srcdir)/launcher/http.c
# The input lines a page sends and the multi-touch state they drive (launcher/webinput.c).
FUZZ_WEBINPUT_SRCS = $(srcdir)/launcher/webinput.c $(srcdir)/common/log.c
FUZZ_TARGETS += tests/fuzz/fuzz-virtq tests/fuzz/fuzz-emulate \
	tests/fuzz/fuzz-loader tests/fuzz/fuzz-adbd tests/fuzz/fuzz-control tests/fuzz/fuzz-http \
	tests/fuzz/fuzz-websocket tests/fuzz/fuzz-webinput
EXTRA_DIST += tests/fuzz/make-corpus.py tests/fuzz/smoke.sh \
	tests/fuzz/fuzz-virtq.c tests/fuzz/fuzz-emulate.c tests/fuzz/fuzz-loader.c \
	tests/fuzz/fuzz-adbd.c tests/fuzz/adbd-coverage-ignore.txt tests/fuzz/fuzz-control.c tests/fuzz/fuzz-http.c tests/fuzz/fuzz-websocket.c tests/fuzz/fuzz-webinput.c \
	tests/fuzz/corpus tests/fuzz/regressions
CLEANFILES += $(FUZZ_TARGETS)
# The smoke run: every target a few seconds on its corpus and regressions, when clang can
# build libFuzzer targets here (it skips, saying why, when not).
TESTS += tests/fuzz/smoke.sh
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

tests/fuzz/fuzz-virtq: $(srcdir)/tests/fuzz/fuzz-virtq.c $(FUZZ_HDR) $(FUZZ_VIRTQ_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-virtq.c $(FUZZ_VIRTQ_SRCS) $(GLIB_LIBS)
tests/fuzz/fuzz-emulate: $(srcdir)/tests/fuzz/fuzz-emulate.c $(FUZZ_HDR) $(FUZZ_EMULATE_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-emulate.c $(FUZZ_EMULATE_SRCS) \
	  $(GLIB_LIBS)
tests/fuzz/fuzz-loader: $(srcdir)/tests/fuzz/fuzz-loader.c $(FUZZ_HDR) $(FUZZ_LOADER_SRCS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-loader.c $(FUZZ_LOADER_SRCS) \
	  $(GLIB_LIBS) $(ZLIB_LIBS)
tests/fuzz/fuzz-adbd: $(srcdir)/tests/fuzz/fuzz-adbd.c $(FUZZ_HDR) $(FUZZ_ADBD_SRCS) \
  $(srcdir)/tests/fuzz/adbd-coverage-ignore.txt
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) \
	  -fsanitize-coverage-ignorelist=$(srcdir)/tests/fuzz/adbd-coverage-ignore.txt -o $@ $(srcdir)/tests/fuzz/fuzz-adbd.c $(FUZZ_ADBD_SRCS) \
	  $(GLIB_LIBS) $(CRYPTO_LIBS)
# FUZZ_PROTOBUF_C_SRC=DIR, a protobuf-c source tree of the installed version: fuzz-control then
# compiles DIR/protobuf-c/protobuf-c.c with the sanitizers and coverage instead of linking the
# system's uninstrumented library, so that the fuzzer sees inside the decoder. Without UBSan's
# shift-base check there: protobuf-c (1.4.1 to 1.5.2 at least) shifts 7 tag bits into an int's
# sign bit when it parses a 5-byte field tag (see README.md), which would stop every run.
FUZZ_PROTOBUF_C_SRC =
tests/fuzz/fuzz-control: $(srcdir)/tests/fuzz/fuzz-control.c $(FUZZ_HDR) $(FUZZ_CONTROL_SRCS) proto/control.pb-c.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)pbc='$(PROTOBUF_C_LIBS)'; \
	if test -n '$(FUZZ_PROTOBUF_C_SRC)'; then \
	  $(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -fno-sanitize=shift-base -I'$(FUZZ_PROTOBUF_C_SRC)' -c \
	    -o tests/fuzz/protobuf-c.o '$(FUZZ_PROTOBUF_C_SRC)/protobuf-c/protobuf-c.c' || exit 1; \
	  pbc='-I$(FUZZ_PROTOBUF_C_SRC) tests/fuzz/protobuf-c.o'; fi; \
	$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-control.c $(FUZZ_CONTROL_SRCS) \
	  $$pbc $(GLIB_LIBS) $(CRYPTO_LIBS)
CLEANFILES += tests/fuzz/protobuf-c.o
tests/fuzz/fuzz-http: $(srcdir)/tests/fuzz/fuzz-http.c $(FUZZ_HDR) $(FUZZ_HTTP_SRCS) $(srcdir)/launcher/http.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) $(GIO_CFLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-http.c \
	  $(FUZZ_HTTP_SRCS) $(GIO_LIBS) $(GLIB_LIBS)
tests/fuzz/fuzz-websocket: $(srcdir)/tests/fuzz/fuzz-websocket.c $(FUZZ_HDR) $(FUZZ_WEBSOCKET_SRCS) \
	  $(srcdir)/launcher/websocket.h $(srcdir)/launcher/http.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) $(GIO_CFLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-websocket.c \
	  $(FUZZ_WEBSOCKET_SRCS) $(GIO_LIBS) $(GLIB_LIBS)
tests/fuzz/fuzz-webinput: $(srcdir)/tests/fuzz/fuzz-webinput.c $(FUZZ_HDR) $(FUZZ_WEBINPUT_SRCS) \
	  $(srcdir)/launcher/webinput.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_COMPILE_FLAGS) $(GIO_CFLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz-webinput.c \
	  $(FUZZ_WEBINPUT_SRCS) $(GIO_LIBS) $(GLIB_LIBS)

# One at a time, at the lowest CPU priority (the machine's cores are shared); growing corpora
# live in the build tree, seeded from make-seeds.sh's images (the image targets), the committed
# corpus/<name>/ and regressions/<name>/. Each target has its own input bound: images are cut
# to 64 KiB, the text and metadata targets need far less. `make fuzz-run FUZZ_NAMES="qcow2 gpt"`
# runs some.
FUZZ_NAMES = bootimg vendorboot sparse vbmeta qcow2 vmdk manifest abmisc gpt vsock gpu \
	virtq emulate loader adbd control http websocket webinput
fuzz-run: fuzz
	@set -e; $(SHELL) $(srcdir)/tests/fuzz/make-seeds.sh tests/fuzz/seeds; \
	for t in $(FUZZ_NAMES); do \
	  case $$t in \
	  bootimg|vendorboot|sparse|vbmeta|qcow2|loader|control) max=65536;; \
	  vmdk|manifest|emulate|adbd) max=4096;; http) max=20000;; abmisc) max=64;; gpt) max=32768;; virtq) max=16408;; \
	  gpu) max=8192;; *) max=4096;; esac; \
	  mkdir -p tests/fuzz/corpus-$$t; \
	  dirs=; for d in tests/fuzz/seeds/$$t $(srcdir)/tests/fuzz/corpus/$$t $(srcdir)/tests/fuzz/regressions/$$t; do \
	    if test -d $$d; then dirs="$$dirs $$d"; fi; done; \
	  echo "== fuzz-$$t: $(FUZZ_RUNS) runs, max_len $$max"; \
	  nice -n 19 tests/fuzz/fuzz-$$t -runs=$(FUZZ_RUNS) -max_len=$$max -rss_limit_mb=2048 \
	    -artifact_prefix=tests/fuzz/ -print_final_stats=1 tests/fuzz/corpus-$$t $$dirs; \
	done

# Every target FUZZ_SMOKE_SECONDS on its corpus and regressions (tests/fuzz/smoke.sh, which
# `make check` runs too); a crash fails it and is kept as tests/fuzz/smoke-<target>-crash-*.
FUZZ_SMOKE_SECONDS = 5
fuzz-smoke: fuzz
	@FUZZ_NAMES="$(FUZZ_NAMES)" FUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) FUZZ_SMOKE_BUILT=1 FUZZ_CC=$(FUZZ_CC) \
	  top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir) $(SHELL) $(srcdir)/tests/fuzz/smoke.sh
fuzz-names:
	@echo $(FUZZ_NAMES)

.PHONY: fuzz fuzz-run fuzz-smoke fuzz-names
