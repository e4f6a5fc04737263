# bootloader/: the boot policy. Slot choice from misc, the AVB verdict, and the kernel,
# ramdisk and command line for a slot (bootloader.c), done on a device's disk read through
# block/ (bootdisk.c). run_cvd and sepia-bootloader call it.
noinst_LIBRARIES += bootloader/libsepiabootloader.a
bootloader_libsepiabootloader_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
bootloader_libsepiabootloader_a_SOURCES = \
	bootloader/bootloader.c bootloader/bootloader.h \
	bootloader/bootdisk.c bootloader/bootdisk.h
BOOTLOADER_LIBS = bootloader/libsepiabootloader.a images/libsepiaimages.a $(BLOCK_LIBS) $(CRYPTO_LIBS)

# The header-only helpers the unit tests of bootloader/ and images/ share (tests/unit/*.c include
# it); listed here so that `make dist` carries it. Its natural home is tests/unit/local.mk.
EXTRA_DIST += tests/unit/image-testlib.h
