/* blk: virtio-blk end to end. The runner's image holds "sepia guest-kit\n" x 32 in
 * sector 0 and zeros after it; the command line says sectors=N and, for a read-only
 * disk, "ro".
 *   read-write: capacity, read sector 0, write "guest-kit wrote\n" x 32 to sector 1,
 *               flush, read it back (the runner then checks the host file);
 *   read-only:  VIRTIO_BLK_F_RO offered, a write to sector 1 fails with IOERR, the
 *               sector still reads back as zeros.
 * Both: a read past the end fails with IOERR. */
#include "lib.h"

#define SECTOR 512

static uint8_t buf[SECTOR] __attribute__((aligned(SECTOR)));

static bool filled_with(const uint8_t *b, const char *line16)
{
	for (int i = 0; i < SECTOR; i += 16)
		if (memcmp(b + i, line16, 16))
			return false;
	return true;
}

static bool all_zero(const uint8_t *b)
{
	for (int i = 0; i < SECTOR; i++)
		if (b[i])
			return false;
	return true;
}

int main(void)
{
	struct pci_dev d;
	struct virtio_dev v;
	struct virtq q;
	bool ro = cmdline_has("ro");
	uint64_t sectors = cmdline_num("sectors", 0);
	uint32_t len = 0;
	int st;

	if (!check(pci_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(VIRTIO_ID_BLOCK), 0, &d),
		   "virtio-blk found"))
		return 0;
	if (!virtio_probe(&v, &d))
		return 0;
	uint64_t feat = virtio_negotiate(&v, BIT64(VIRTIO_BLK_F_FLUSH) | BIT64(VIRTIO_BLK_F_RO));
	if (!check(feat != 0, "features negotiated (offered 0x%lx, took 0x%lx)", v.features, feat))
		return 0;
	check(!!(feat & BIT64(VIRTIO_BLK_F_RO)) == ro, "VIRTIO_BLK_F_RO %s for a %s disk",
	      ro ? "offered" : "not offered", ro ? "read-only" : "writable");
	if (!ro)
		check(feat & BIT64(VIRTIO_BLK_F_FLUSH), "VIRTIO_BLK_F_FLUSH offered");
	check(blk_capacity(&v) == sectors, "capacity %lu sectors, expected %lu", blk_capacity(&v), sectors);
	if (!virtio_queue_setup(&v, &q, 0, VIRTIO_MSI_NO_VECTOR))
		return 0;
	virtio_driver_ok(&v);
	check(virtio_status(&v) == 0xf, "device status 0x%x after DRIVER_OK", virtio_status(&v));

	memset(buf, 0xaa, sizeof(buf));
	st = blk_do(&q, VIRTIO_BLK_T_IN, 0, buf, SECTOR, &len);
	check(st == VIRTIO_BLK_S_OK, "read sector 0: status %d", st);
	check(len == SECTOR + 1, "read sector 0: used length %u (data + status)", len);
	check(filled_with(buf, "sepia guest-kit\n"),
	      "sector 0 holds the runner's pattern (starts \"%c%c%c%c\")", buf[0], buf[1], buf[2], buf[3]);

	for (int i = 0; i < SECTOR; i += 16)
		memcpy(buf + i, "guest-kit wrote\n", 16);
	st = blk_do(&q, VIRTIO_BLK_T_OUT, 1, buf, SECTOR, NULL);
	if (ro) {
		check(st == VIRTIO_BLK_S_IOERR, "write to a read-only disk fails with IOERR: status %d", st);
	} else {
		check(st == VIRTIO_BLK_S_OK, "write sector 1: status %d", st);
		st = blk_do(&q, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL);
		check(st == VIRTIO_BLK_S_OK, "flush: status %d", st);
	}

	memset(buf, 0xaa, sizeof(buf));
	st = blk_do(&q, VIRTIO_BLK_T_IN, 1, buf, SECTOR, NULL);
	check(st == VIRTIO_BLK_S_OK, "read sector 1: status %d", st);
	if (ro)
		check(all_zero(buf), "sector 1 is still zeros");
	else
		check(filled_with(buf, "guest-kit wrote\n"), "sector 1 reads back what was written");

	st = blk_do(&q, VIRTIO_BLK_T_IN, sectors, buf, SECTOR, NULL);
	check(st == VIRTIO_BLK_S_IOERR, "read at sector %lu (the capacity) fails with IOERR: status %d",
	      sectors, st);
	return 0;
}
