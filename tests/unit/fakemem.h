/* Fake guest RAM for unit tests: anonymous mappings dressed up as a struct guest_mem.
 * mmap (not malloc) so a 1 GiB "guest" costs only the pages a test touches, also under
 * valgrind, and so the bytes start out zero like fresh guest RAM. */
#pragma once

#include <stdint.h>

#include "devices/guestmem.h"

/* Appends a region of size bytes at guest address gpa (asserts on failure). */
void fakemem_add(struct guest_mem *mem, uint64_t gpa, uint64_t size);

/* Unmaps every region and zeroes mem. */
void fakemem_free(struct guest_mem *mem);

/* Host address of gpa; asserts that [gpa, gpa+len) is RAM. */
void *fakemem_at(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Little-endian loads from guest RAM (asserting the range is RAM). */
uint16_t fakemem_rd16(const struct guest_mem *mem, uint64_t gpa);
uint32_t fakemem_rd32(const struct guest_mem *mem, uint64_t gpa);
uint64_t fakemem_rd64(const struct guest_mem *mem, uint64_t gpa);
