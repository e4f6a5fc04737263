# images/: Android image formats (boot/vendor_boot/init_boot, sparse, vbmeta). A library so the
# launcher, the VMM's bootloader step and the unit tests link the same code.
noinst_LIBRARIES += images/libsepiaimages.a
# Programs linking it add $(CRYPTO_LIBS) (images/avb*.c use libcrypto).
images_libsepiaimages_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
images_libsepiaimages_a_SOURCES = \
	images/common.c images/common.h \
	images/bootimg.c images/bootimg.h \
	images/vendorboot.c images/vendorboot.h \
	images/crc32.c images/crc32.h \
	images/sparse.c images/sparse.h \
	images/vbmeta.c images/vbmeta.h \
	images/avb.c images/avb.h images/avb_crypto.h images/avb_sign.c

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
FUZZ_BLOCK_SRCS = $(srcdir)/devices/block/block.c $(srcdir)/devices/block/raw.c \
	$(srcdir)/devices/block/qcow2.c $(srcdir)/devices/block/qcow2_open.c \
	$(srcdir)/devices/block/qcow2_refcount.c $(srcdir)/devices/block/vmdk.c $(srcdir)/devices/error.c
FUZZ_MANIFEST_SRCS = $(srcdir)/images/manifest.c $(srcdir)/images/composite.c $(FUZZ_LIB_SRCS)
FUZZ_ABMISC_SRCS = $(srcdir)/images/abmisc.c $(srcdir)/images/common.c $(srcdir)/images/crc32.c
FUZZ_BOOTDISK_SRCS = $(srcdir)/launcher/bootdisk.c $(srcdir)/images/abmisc.c \
	$(srcdir)/images/bootloader.c $(srcdir)/images/avb.c $(FUZZ_LIB_SRCS) $(FUZZ_BLOCK_SRCS)
FUZZ_TARGETS = tests/fuzz/fuzz-bootimg tests/fuzz/fuzz-vendorboot tests/fuzz/fuzz-sparse \
	tests/fuzz/fuzz-vbmeta tests/fuzz/fuzz-qcow2 tests/fuzz/fuzz-vmdk tests/fuzz/fuzz-manifest \
	tests/fuzz/fuzz-abmisc tests/fuzz/fuzz-gpt
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/make-seeds.sh tests/fuzz/fuzz-common.h \
	tests/fuzz/fuzz-bootimg.c tests/fuzz/fuzz-vendorboot.c tests/fuzz/fuzz-sparse.c \
	tests/fuzz/fuzz-vbmeta.c tests/fuzz/fuzz-qcow2.c tests/fuzz/fuzz-vmdk.c \
	tests/fuzz/fuzz-manifest.c tests/fuzz/fuzz-abmisc.c tests/fuzz/fuzz-gpt.c \
	tests/fuzz/regressions/qcow2/refcount-block-with-refcount-0.qcow2
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

# One at a time, at the lowest CPU priority (the machine's cores are shared); corpora and seeds
# live in the build tree. Each target has its own input bound: images are cut to 64 KiB, the
# text and metadata targets need far less. `make fuzz-run FUZZ_NAMES="qcow2 gpt"` runs some.
FUZZ_NAMES = bootimg vendorboot sparse vbmeta qcow2 vmdk manifest abmisc gpt
fuzz-run: fuzz
	@set -e; $(SHELL) $(srcdir)/tests/fuzz/make-seeds.sh tests/fuzz/seeds; \
	for t in $(FUZZ_NAMES); do \
	  case $$t in \
	  bootimg|vendorboot|sparse|vbmeta|qcow2) max=65536;; vmdk|manifest) max=4096;; \
	  abmisc) max=64;; gpt) max=32768;; esac; \
	  mkdir -p tests/fuzz/corpus-$$t; \
	  echo "== fuzz-$$t: $(FUZZ_RUNS) runs, max_len $$max"; \
	  nice -n 19 tests/fuzz/fuzz-$$t -runs=$(FUZZ_RUNS) -max_len=$$max -rss_limit_mb=2048 \
	    -artifact_prefix=tests/fuzz/ -print_final_stats=1 tests/fuzz/corpus-$$t tests/fuzz/seeds/$$t; \
	done

.PHONY: fuzz fuzz-run

# GPT composite disk (VMDK descriptor over the partition files), qcow2 overlay, manifest.json.
images_libsepiaimages_a_SOURCES += \
	images/composite.c images/composite.h \
	images/overlay.c images/overlay.h \
	images/manifest.c images/manifest.h

# The bootloader step: A/B metadata in misc, AVB check, kernel/ramdisk/cmdline for a slot.
images_libsepiaimages_a_SOURCES += \
	images/abmisc.c images/abmisc.h \
	images/bootloader.c images/bootloader.h
