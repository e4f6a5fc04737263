# block/: disk image formats (raw, qcow2 with backing chains, VMDK descriptors with FLAT/ZERO
# extents). sepia-vmm's virtio-blk and the launcher's bootloader step read disks through it.
noinst_LIBRARIES += block/libsepiablock.a
block_libsepiablock_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(ZLIB_CFLAGS)
block_libsepiablock_a_SOURCES = \
	block/block.c block/block.h block/chain.h block/image_lock.c block/raw.c \
	block/qcow2.c block/qcow2.h block/qcow2_open.c block/qcow2_refcount.c block/qcow2_repair.c \
	block/vmdk.c
BLOCK_LIBS = block/libsepiablock.a common/libsepiacommon.a $(GLIB_LIBS) $(ZLIB_LIBS)
