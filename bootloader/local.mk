# bootloader/: the boot policy. Slot choice from misc, the AVB verdict, and the kernel,
# ramdisk and command line for a slot (bootloader.c), done on a device's disk read through
# block/ (bootdisk.c). run_cvd and sepia-bootloader call it.
noinst_LIBRARIES += bootloader/libsepiabootloader.a
bootloader_libsepiabootloader_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
bootloader_libsepiabootloader_a_SOURCES = \
	bootloader/bootloader.c bootloader/bootloader.h \
	bootloader/bootdisk.c bootloader/bootdisk.h
BOOTLOADER_LIBS = bootloader/libsepiabootloader.a images/libsepiaimages.a $(BLOCK_LIBS) $(CRYPTO_LIBS)

# ---- unit tests of bootloader/ (sources in tests/unit/; UNIT_CFLAGS and UNIT_LDADD there)
# The bootloader step: slot choice and fallback through misc, AVB states, ramdisk and bootconfig.
check_PROGRAMS += tests/unit/test-bootloader
tests_unit_test_bootloader_CFLAGS = $(UNIT_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_bootloader_LDADD = $(BOOTLOADER_LIBS)
TESTS += tests/unit/test-bootloader

# The bootloader step through the device disk (bootloader/bootdisk.c): a composite + overlay made
# from tiny signed images; GPT lookup, misc through the overlay, slot fallback, corrupt GPTs.
check_PROGRAMS += tests/unit/test-bootdisk
tests_unit_test_bootdisk_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_bootdisk_LDADD = $(BOOTLOADER_LIBS)
TESTS += tests/unit/test-bootdisk
