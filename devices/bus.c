#include "devices/bus.h"

#include <errno.h>
#include <string.h>

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

void bus_init(struct bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	pthread_rwlock_init(&bus->lock, NULL);
}

static bool bus_is_free(const struct bus *bus, uint64_t base, uint64_t size, const struct bus_range *skip)
{
	for (unsigned int i = 0; i < bus->nr; i++)
		if (&bus->range[i] != skip &&
		    ranges_overlap(bus->range[i].base, bus->range[i].size, base, size))
			return false;
	return true;
}

int bus_register(struct bus *bus, const struct bus_range *range)
{
	int ret = 0;
	pthread_rwlock_wrlock(&bus->lock);
	if (bus->nr == BUS_MAX_RANGES)
		ret = -ENOSPC;
	else if (!bus_is_free(bus, range->base, range->size, NULL))
		ret = -EBUSY;
	else
		bus->range[bus->nr++] = *range;
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_move(struct bus *bus, void *opaque, uint64_t old_base, uint64_t new_base)
{
	int ret = -ENOENT;
	pthread_rwlock_wrlock(&bus->lock);
	for (unsigned int i = 0; i < bus->nr; i++) {
		struct bus_range *r = &bus->range[i];
		if (r->opaque != opaque || r->base != old_base)
			continue;
		if (bus_is_free(bus, new_base, r->size, r)) {
			r->base = new_base;
			ret = 0;
		} else {
			ret = -EBUSY;
		}
		break;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

static struct bus_range *bus_find(struct bus *bus, uint64_t addr, unsigned int len)
{
	for (unsigned int i = 0; i < bus->nr; i++) {
		struct bus_range *r = &bus->range[i];
		if (addr >= r->base && addr - r->base < r->size && len <= r->size - (addr - r->base))
			return r;
	}
	return NULL;
}

/* The handler runs under the read lock so a concurrent BAR move cannot pull the
 * range away mid-access; handlers must not register or move ranges themselves. */
bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned int len)
{
	pthread_rwlock_rdlock(&bus->lock);
	struct bus_range *r = bus_find(bus, addr, len);
	if (r && r->read)
		r->read(r->opaque, addr - r->base, data, len);
	else
		memset(data, 0xff, len);
	pthread_rwlock_unlock(&bus->lock);
	return r != NULL;
}

bool bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned int len)
{
	pthread_rwlock_rdlock(&bus->lock);
	struct bus_range *r = bus_find(bus, addr, len);
	if (r && r->write)
		r->write(r->opaque, addr - r->base, data, len);
	pthread_rwlock_unlock(&bus->lock);
	return r != NULL;
}
