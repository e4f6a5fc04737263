/* console: virtio-console port 0 output. Sends one known line on transmitq0 (queue 1,
 * no MULTIPORT); the runner finds it in the VMM's --console file. */
#include "lib.h"

static char line[] = "guest-kit console: hello through virtio-console port 0\n";

int main(void)
{
	struct pci_dev d;
	struct virtio_dev v;
	struct virtq rx, tx;
	struct virtq_used_elem e;

	if (!check(pci_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(VIRTIO_ID_CONSOLE), 0, &d),
		   "virtio-console found"))
		return 0;
	if (!virtio_probe(&v, &d))
		return 0;
	uint64_t feat = virtio_negotiate(&v, 0);
	if (!check(feat != 0, "features negotiated (offered 0x%lx, took 0x%lx)", v.features, feat))
		return 0;
	if (!virtio_queue_setup(&v, &rx, 0, VIRTIO_MSI_NO_VECTOR) ||
	    !virtio_queue_setup(&v, &tx, 1, VIRTIO_MSI_NO_VECTOR))
		return 0;
	virtio_driver_ok(&v);
	check(virtio_status(&v) == 0xf, "device status 0x%x after DRIVER_OK", virtio_status(&v));

	virtq_submit(&tx, &(struct virtq_buf){ line, sizeof(line) - 1, false }, 1);
	if (check(virtq_wait_used(&tx, &e), "transmitq0 returns the buffer"))
		check(e.id == 0, "used element id %u is the head we gave", e.id);
	return 0;
}
