# block/: disk image formats (raw, qcow2 with backing chains, VMDK descriptors with FLAT/ZERO
# extents). sepia-vmm's virtio-blk and the launcher's bootloader step read disks through it.
noinst_LIBRARIES += block/libsepiablock.a
block_libsepiablock_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(ZLIB_CFLAGS)
block_libsepiablock_a_SOURCES = \
	block/block.c block/block.h block/chain.h block/image_lock.c block/raw.c \
	block/qcow2.c block/qcow2.h block/qcow2_open.c block/qcow2_refcount.c block/qcow2_repair.c \
	block/vmdk.c
BLOCK_LIBS = block/libsepiablock.a common/libsepiacommon.a $(GLIB_LIBS) $(ZLIB_LIBS)

# ---- unit tests of block/ (sources in tests/unit/; UNIT_CFLAGS and UNIT_LDADD there)
check_PROGRAMS += tests/unit/test-block
tests_unit_test_block_SOURCES = tests/unit/test-block.c tests/unit/imagefiles.c tests/unit/imagefiles.h
tests_unit_test_block_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-block

check_PROGRAMS += tests/unit/test-image-access
tests_unit_test_image_access_SOURCES = tests/unit/test-image-access.c tests/unit/imagefiles.c \
	tests/unit/imagefiles.h
tests_unit_test_image_access_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-image-access

check_PROGRAMS += tests/unit/test-qcow2-repair
tests_unit_test_qcow2_repair_SOURCES = tests/unit/test-qcow2-repair.c tests/unit/imagefiles.c \
	tests/unit/imagefiles.h
tests_unit_test_qcow2_repair_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-qcow2-repair
