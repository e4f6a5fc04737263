# launcher/: assemble_cvd (and later launch_cvd, stop_cvd, cvd_status). The assembly logic is a
# library so launch_cvd can call it directly.
noinst_LIBRARIES += launcher/libsepialauncher.a
launcher_libsepialauncher_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
launcher_libsepialauncher_a_SOURCES = launcher/assemble.c launcher/assemble.h

bin_PROGRAMS += assemble_cvd
assemble_cvd_SOURCES = launcher/assemble_cvd.c
assemble_cvd_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
assemble_cvd_LDADD = launcher/libsepialauncher.a images/libsepiaimages.a $(GLIB_LIBS) $(CRYPTO_LIBS)

# End to end: real mkbootimg inputs, qemu-img/sfdisk/mke2fs checks (skips when they are missing).
TESTS += tests/e2e/assemble-cvd.sh
EXTRA_DIST += tests/e2e/assemble-cvd.sh bench/assemble.sh

# `make bench-assemble`: bench/assemble.sh, assembly vs a plain copy into one raw disk.
bench-assemble: assemble_cvd$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/assemble.sh $(BENCH_ASSEMBLE_FLAGS)
BENCH_ASSEMBLE_FLAGS =
.PHONY: bench-assemble

# sepia-bootloader: the bootloader step (images/bootloader.h) as a command.
bin_PROGRAMS += sepia-bootloader
sepia_bootloader_SOURCES = launcher/sepia_bootloader.c
sepia_bootloader_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
sepia_bootloader_LDADD = images/libsepiaimages.a $(GLIB_LIBS) $(CRYPTO_LIBS)

# End to end: the reference guest as Android images, assembled, booted through the bootloader
# step from the composite disk, then slot b after boot_a is corrupted (skips without /dev/kvm).
TESTS += tests/e2e/boot-android.sh
EXTRA_DIST += tests/e2e/boot-android.sh

# ---- bootdisk: the bootloader step through the device disk (overlay.qcow2 -> composite): GPT
# lookup, misc read and written through the overlay, slot images read from the partitions.
# Programs using it link devices/libsepiavmm.a (the block layer) and $(ZLIB_LIBS) too; the
# images library is named again after the launcher library, which calls into it.
launcher_libsepialauncher_a_SOURCES += launcher/bootdisk.c launcher/bootdisk.h
sepia_bootloader_LDADD += launcher/libsepialauncher.a images/libsepiaimages.a devices/libsepiavmm.a \
	$(GLIB_LIBS) $(ZLIB_LIBS) $(CRYPTO_LIBS)
# ---- end of bootdisk
