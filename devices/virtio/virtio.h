/* What a virtio device (blk, console, ...) gives the virtio-pci transport, and what the
 * transport offers back. Devices see queues and config space; PCI, MSI-X and
 * notifications stay in virtio/pci.c. */
#pragma once

#include <glib.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdint.h>

#include "devices/virtio/queue.h"
#include "devices/host.h"

#define VIRTIO_MAX_QUEUES 8

struct virtio_pci_dev;
struct snap_writer;
struct snap_reader;

/* What a device does; any op it does not need may be NULL. */
struct virtio_device_ops {
	uint16_t device_id;
	uint32_t pci_class; /* (base << 16) | (sub << 8) | prog-if */
	unsigned int num_queues;
	uint16_t queue_max_size;
	uint32_t config_size;
	/* Device config space; called with the transport's lock held. */
	void (*config_read)(void *dev, uint32_t offset, void *data, unsigned int len);
	void (*config_write)(void *dev, uint32_t offset, const void *data, unsigned int len);
	/* The guest kicked queue q, or the device asked for a run: runs on the I/O thread
	 * with the transport's lock held. */
	void (*queue_notify)(void *dev, unsigned int q);
	/* DRIVER_OK reached: features are final (transport lock held). */
	void (*activate)(void *dev, uint64_t features);
	/* Status written 0 (transport lock held). */
	void (*reset)(void *dev);
	/* Snapshots (devices/snapshot.h): the device's own state, written after the transport's
	 * (features, queues, MSI-X) in the device's section; the one function a device adds.
	 * A device without save cannot be snapshotted: the snapshot is refused, naming it.
	 * Both run with the VM paused and the transport's lock held; load runs on a freshly
	 * built machine before any vCPU runs, and may kick queues (the kick runs once the
	 * device threads start). */
	bool (*save)(void *dev, struct snap_writer *w, GError **error);
	bool (*load)(void *dev, struct snap_reader *r, GError **error);
};

struct virtio_pci_dev *virtio_pci_create(struct vm_host *host, const char *name,
					 const struct virtio_device_ops *ops, uint64_t features, void *dev,
					 GError **error);
/* The same, with the queues' notifications run on ctx's thread instead of the VM's I/O
 * thread (a device whose requests take long, such as the GPU, runs its own). */
struct virtio_pci_dev *virtio_pci_create_on(struct vm_host *host, GMainContext *ctx, const char *name,
					    const struct virtio_device_ops *ops, uint64_t features, void *dev,
					    GError **error);
void virtio_pci_destroy(struct virtio_pci_dev *vp);

/* The device's view of queue q (valid while DRIVER_OK; NULL when not ready). */
struct virtq *virtio_pci_queue(struct virtio_pci_dev *vp, unsigned int q);
/* Interrupts the guest for queue q if the guest wants one (call after virtq_push). */
void virtio_pci_queue_interrupt(struct virtio_pci_dev *vp, unsigned int q);
/* Marks the device broken (NEEDS_RESET) after the guest broke a queue rule. */
void virtio_pci_set_needs_reset(struct virtio_pci_dev *vp, const char *why);
/* Runs queue_notify(q) on the I/O thread soon, as if the guest had kicked (for devices
 * whose input arrives from the host side). Thread-safe. */
void virtio_pci_kick(struct virtio_pci_dev *vp, unsigned int q);
