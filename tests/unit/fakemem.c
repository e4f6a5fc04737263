#include "tests/unit/fakemem.h"

#include <string.h>
#include <sys/mman.h>

#include <glib.h>

void fakemem_add(struct guest_mem *mem, uint64_t gpa, uint64_t size)
{
	g_assert_cmpuint(mem->nr_regions, <, GUEST_MEM_MAX_REGIONS);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		       0);
	g_assert_true(p != MAP_FAILED);
	mem->region[mem->nr_regions++] = (struct guest_mem_region){ gpa, size, p };
}

void fakemem_free(struct guest_mem *mem)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++)
		munmap(mem->region[i].host, mem->region[i].size);
	memset(mem, 0, sizeof(*mem));
}

void *fakemem_at(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	void *p = guest_mem_ptr(mem, gpa, len);
	if (!p)
		g_error("fakemem: 0x%" G_GINT64_MODIFIER "x+%" G_GUINT64_FORMAT " is not in fake RAM", gpa,
			len);
	return p;
}

uint16_t fakemem_rd16(const struct guest_mem *mem, uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, fakemem_at(mem, gpa, 2), 2);
	return v;
}

uint32_t fakemem_rd32(const struct guest_mem *mem, uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, fakemem_at(mem, gpa, 4), 4);
	return v;
}

uint64_t fakemem_rd64(const struct guest_mem *mem, uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, fakemem_at(mem, gpa, 8), 8);
	return v;
}
