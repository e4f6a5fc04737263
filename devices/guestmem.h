/* Guest physical memory as the VMM sees it: one host mapping per RAM region.
 * Every access a device or the emulator makes on the guest's behalf goes through
 * guest_mem_ptr(), which refuses ranges that are not wholly inside guest RAM. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 2

struct guest_mem_region {
	uint64_t gpa;  /* guest physical start */
	uint64_t size; /* bytes */
	uint8_t *host; /* host mapping of the region */
};

struct guest_mem {
	struct guest_mem_region region[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
};

/* Host pointer for [gpa, gpa+len) or NULL when any byte of it lies outside guest RAM
 * (or the range straddles two regions, or gpa+len overflows). len 0 is refused. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copies with the same check; return 0 or -EFAULT. */
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *buf, size_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf, size_t len);

/* Total bytes of RAM across regions. */
uint64_t guest_mem_total(const struct guest_mem *mem);
