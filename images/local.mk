# images/: Android image formats (boot/vendor_boot/init_boot, sparse, vbmeta, AVB, misc), the
# GPT composite disk, the qcow2 overlay and the manifest. A library so the launcher, the
# bootloader step, the guest's image packer and the unit tests link the same code.
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


# GPT composite disk (VMDK descriptor over the partition files), qcow2 overlay, manifest.json.
images_libsepiaimages_a_SOURCES += \
	images/composite.c images/composite.h \
	images/overlay.c images/overlay.h \
	images/manifest.c images/manifest.h

# The A/B metadata in misc (the format; the slot choice is bootloader/'s).
images_libsepiaimages_a_SOURCES += images/abmisc.c images/abmisc.h
IMAGES_LIBS = images/libsepiaimages.a $(GLIB_LIBS) $(CRYPTO_LIBS)

# ---- unit tests of images/ (sources in tests/unit/; UNIT_CFLAGS and UNIT_LDADD there)
check_PROGRAMS += tests/unit/test-bootimg
tests_unit_test_bootimg_LDADD = images/libsepiaimages.a $(GLIB_LIBS) $(CRYPTO_LIBS)
TESTS += tests/unit/test-bootimg

check_PROGRAMS += tests/unit/test-sparse
tests_unit_test_sparse_LDADD = images/libsepiaimages.a $(GLIB_LIBS) $(CRYPTO_LIBS)
TESTS += tests/unit/test-sparse

check_PROGRAMS += tests/unit/test-vbmeta
tests_unit_test_vbmeta_LDADD = images/libsepiaimages.a $(GLIB_LIBS) $(CRYPTO_LIBS)
TESTS += tests/unit/test-vbmeta

# AVB verification and signing with libcrypto; tests/data holds a test-only RSA key.
check_PROGRAMS += tests/unit/test-avb
tests_unit_test_avb_CFLAGS = $(UNIT_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_avb_LDADD = images/libsepiaimages.a $(GLIB_LIBS) $(CRYPTO_LIBS)
TESTS += tests/unit/test-avb
EXTRA_DIST += tests/data/testkey_rsa2048.pem tests/data/README.md

# GPT composite + qcow2 overlay + manifest, checked against qemu-img/qemu-io/sfdisk when present
# and against sepia's own block backends.
check_PROGRAMS += tests/unit/test-composite
tests_unit_test_composite_LDADD = images/libsepiaimages.a $(UNIT_LDADD) $(CRYPTO_LIBS)
TESTS += tests/unit/test-composite
