#include "devices/guestmem.h"

#include <errno.h>
#include <string.h>

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	if (len == 0 || gpa + len < gpa)
		return NULL;
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->region[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *buf, size_t len)
{
	void *p = guest_mem_ptr(mem, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf, size_t len)
{
	void *p = guest_mem_ptr(mem, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

uint64_t guest_mem_total(const struct guest_mem *mem)
{
	uint64_t total = 0;
	for (unsigned int i = 0; i < mem->nr_regions; i++)
		total += mem->region[i].size;
	return total;
}
