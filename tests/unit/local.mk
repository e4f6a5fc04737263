# Unit tests: no KVM, GLib's test framework, TAP output.
UNIT_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(GIO_CFLAGS)
UNIT_LDADD = $(VMM_LIBS) $(GIO_LIBS)

check_PROGRAMS += tests/unit/test-emulate
tests_unit_test_emulate_SOURCES = tests/unit/test-emulate.c
tests_unit_test_emulate_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_emulate_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-emulate

check_PROGRAMS += tests/unit/test-virtq
tests_unit_test_virtq_SOURCES = tests/unit/test-virtq.c tests/unit/fakemem.c tests/unit/fakemem.h
tests_unit_test_virtq_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_virtq_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-virtq

check_PROGRAMS += tests/unit/test-boot
tests_unit_test_boot_SOURCES = tests/unit/test-boot.c tests/unit/fakemem.c tests/unit/fakemem.h
tests_unit_test_boot_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_boot_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-boot

check_PROGRAMS += tests/unit/test-acpi
tests_unit_test_acpi_SOURCES = tests/unit/test-acpi.c tests/unit/fakemem.c tests/unit/fakemem.h
tests_unit_test_acpi_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_acpi_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-acpi

check_PROGRAMS += tests/unit/test-chardev
tests_unit_test_chardev_SOURCES = tests/unit/test-chardev.c
tests_unit_test_chardev_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_chardev_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-chardev

check_PROGRAMS += tests/unit/test-pci
tests_unit_test_pci_SOURCES = tests/unit/test-pci.c
tests_unit_test_pci_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pci_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-pci

check_PROGRAMS += tests/unit/test-unpack
tests_unit_test_unpack_SOURCES = tests/unit/test-unpack.c
tests_unit_test_unpack_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_unpack_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-unpack

check_PROGRAMS += tests/unit/test-block
tests_unit_test_block_SOURCES = tests/unit/test-block.c
tests_unit_test_block_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_block_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-block

check_PROGRAMS += tests/unit/test-image-access
tests_unit_test_image_access_SOURCES = tests/unit/test-image-access.c tests/unit/imagefiles.c \
	tests/unit/imagefiles.h
tests_unit_test_image_access_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_image_access_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-image-access

check_PROGRAMS += tests/unit/test-qcow2-repair
tests_unit_test_qcow2_repair_SOURCES = tests/unit/test-qcow2-repair.c tests/unit/imagefiles.c \
	tests/unit/imagefiles.h
tests_unit_test_qcow2_repair_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_qcow2_repair_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-qcow2-repair

check_PROGRAMS += tests/unit/test-bootimg
tests_unit_test_bootimg_SOURCES = tests/unit/test-bootimg.c
tests_unit_test_bootimg_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_bootimg_LDADD = images/libsepiaimages.a $(GLIB_LIBS) $(CRYPTO_LIBS)
TESTS += tests/unit/test-bootimg

check_PROGRAMS += tests/unit/test-sparse
tests_unit_test_sparse_SOURCES = tests/unit/test-sparse.c
tests_unit_test_sparse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sparse_LDADD = images/libsepiaimages.a $(GLIB_LIBS) $(CRYPTO_LIBS)
TESTS += tests/unit/test-sparse

check_PROGRAMS += tests/unit/test-vbmeta
tests_unit_test_vbmeta_SOURCES = tests/unit/test-vbmeta.c
tests_unit_test_vbmeta_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_vbmeta_LDADD = images/libsepiaimages.a $(GLIB_LIBS) $(CRYPTO_LIBS)
TESTS += tests/unit/test-vbmeta

# AVB verification and signing with libcrypto; tests/data holds a test-only RSA key.
check_PROGRAMS += tests/unit/test-avb
tests_unit_test_avb_SOURCES = tests/unit/test-avb.c
tests_unit_test_avb_CFLAGS = $(UNIT_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_avb_LDADD = images/libsepiaimages.a $(GLIB_LIBS) $(CRYPTO_LIBS)
TESTS += tests/unit/test-avb
EXTRA_DIST += tests/data/testkey_rsa2048.pem tests/data/README.md

# virtio-blk's request handler with the PCI transport stubbed (the test includes blk.c).
check_PROGRAMS += tests/unit/test-blk
tests_unit_test_blk_SOURCES = tests/unit/test-blk.c
tests_unit_test_blk_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_blk_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-blk

# GPT composite + qcow2 overlay + manifest, checked against qemu-img/qemu-io/sfdisk when present
# and against sepia's own block backends.
check_PROGRAMS += tests/unit/test-composite
tests_unit_test_composite_SOURCES = tests/unit/test-composite.c
tests_unit_test_composite_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_composite_LDADD = images/libsepiaimages.a $(UNIT_LDADD) $(CRYPTO_LIBS)
TESTS += tests/unit/test-composite

# The bootloader step: slot choice and fallback through misc, AVB states, ramdisk and bootconfig.
check_PROGRAMS += tests/unit/test-bootloader
tests_unit_test_bootloader_SOURCES = tests/unit/test-bootloader.c
tests_unit_test_bootloader_CFLAGS = $(UNIT_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_bootloader_LDADD = $(BOOTLOADER_LIBS)
TESTS += tests/unit/test-bootloader

# The bootloader step through the device disk (bootloader/bootdisk.c): a composite + overlay made
# from tiny signed images; GPT lookup, misc through the overlay, slot fallback, corrupt GPTs.
check_PROGRAMS += tests/unit/test-bootdisk
tests_unit_test_bootdisk_SOURCES = tests/unit/test-bootdisk.c
tests_unit_test_bootdisk_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_bootdisk_LDADD = $(BOOTLOADER_LIBS)
TESTS += tests/unit/test-bootdisk

check_PROGRAMS += tests/unit/test-adbd
tests_unit_test_adbd_SOURCES = tests/unit/test-adbd.c guest/adbd/adb_message.c \
	guest/adbd/adb_message.h guest/adbd/adb_auth.c guest/adbd/adb_auth.h
tests_unit_test_adbd_CFLAGS = $(UNIT_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_adbd_LDADD = $(GLIB_LIBS) $(CRYPTO_LIBS)
TESTS += tests/unit/test-adbd

# The launcher's flags, instance selection, control framing and status JSON, the instance
# lock, file modes, the monitor's control server and kernel.log's cap.
check_PROGRAMS += tests/unit/test-launcher
tests_unit_test_launcher_SOURCES = tests/unit/test-launcher.c
tests_unit_test_launcher_CPPFLAGS = $(LAUNCHER_CPPFLAGS)
tests_unit_test_launcher_CFLAGS = $(LAUNCHER_CFLAGS)
tests_unit_test_launcher_LDADD = $(CONTROL_LIBS)
TESTS += tests/unit/test-launcher

# The web view's HTTP: head parser, Host check, connection bounds.
check_PROGRAMS += tests/unit/test-http
tests_unit_test_http_SOURCES = tests/unit/test-http.c
tests_unit_test_http_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_http_LDADD = $(HTTP_LIBS)
TESTS += tests/unit/test-http

check_PROGRAMS += tests/unit/test-vsock
tests_unit_test_vsock_SOURCES = tests/unit/test-vsock.c
tests_unit_test_vsock_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_vsock_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-vsock

# sepia's PNG encoder against libpng's decoder, and a framebuffer file to PNG end to end.
check_PROGRAMS += tests/unit/test-png
tests_unit_test_png_SOURCES = tests/unit/test-png.c
tests_unit_test_png_CFLAGS = $(UNIT_CFLAGS) $(ZLIB_CFLAGS) $(LIBPNG_CFLAGS)
tests_unit_test_png_LDADD = $(DISPLAY_LIBS) $(LIBPNG_LIBS)
if HAVE_LIBPNG
tests_unit_test_png_CFLAGS += -DSEPIA_HAVE_LIBPNG
endif
TESTS += tests/unit/test-png

check_PROGRAMS += tests/unit/test-gpu
tests_unit_test_gpu_SOURCES = tests/unit/test-gpu.c tests/unit/fakegpu.c tests/unit/fakegpu.h \
	tests/unit/fakemem.c tests/unit/fakemem.h
tests_unit_test_gpu_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_gpu_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-gpu
