/* Port-I/O and MMIO dispatch: a device claims a range and gets the accesses that hit it.
 * vCPU threads call bus_pio()/bus_mmio() on every exit; each device locks its own state. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* offset is relative to the range start; len is 1, 2, 4 or 8. */
typedef void (*bus_read_fn)(void *opaque, uint64_t offset, void *data, unsigned int len);
typedef void (*bus_write_fn)(void *opaque, uint64_t offset, const void *data, unsigned int len);

struct bus_range {
	uint64_t base;
	uint64_t size;
	const char *name;
	bus_read_fn read;
	bus_write_fn write;
	void *opaque;
};

#define BUS_MAX_RANGES 64

struct bus {
	pthread_rwlock_t lock; /* writers: register and move; readers: dispatch */
	struct bus_range range[BUS_MAX_RANGES];
	unsigned int nr;
};

void bus_init(struct bus *bus);

/* 0, -EBUSY when it overlaps a range already claimed, -ENOSPC when the bus is full. */
int bus_register(struct bus *bus, const struct bus_range *range);

/* Move a range (PCI BAR reprogrammed by the guest). Size unchanged. */
int bus_move(struct bus *bus, void *opaque, uint64_t old_base, uint64_t new_base);

/* false when nothing claims the address; reads from nowhere return all ones. */
bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned int len);
bool bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned int len);
