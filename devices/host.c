/* The VM as its devices see it; see host.h. */
#include "devices/host.h"

#include <errno.h>
#include <sys/ioctl.h>

#define MAX_ROUTES 1024

void vm_host_init(struct vm_host *h, int vm_fd)
{
	h->vm_fd = vm_fd;
	bus_init(&h->pio);
	bus_init(&h->mmio);
	h->devices = g_array_new(FALSE, TRUE, sizeof(struct vm_device));
	pthread_mutex_init(&h->gsi_lock, NULL);
	h->routes = g_malloc0(sizeof(*h->routes) + MAX_ROUTES * sizeof(struct kvm_irq_routing_entry));
	h->states = g_array_new(FALSE, TRUE, sizeof(struct vm_state));
	h->worker_ctx = g_ptr_array_new();
	g_mutex_init(&h->park.lock);
	g_cond_init(&h->park.cond);
}

void vm_host_fini(struct vm_host *h)
{
	if (h->devices)
		vm_host_destroy_devices(h);
	g_clear_pointer(&h->devices, g_array_unref);
	g_clear_pointer(&h->routes, g_free);
	for (guint i = 0; h->states && i < h->states->len; i++)
		g_free(g_array_index(h->states, struct vm_state, i).name);
	g_clear_pointer(&h->states, g_array_unref);
	g_clear_pointer(&h->worker_ctx, g_ptr_array_unref);
}

int vm_host_irq_line(struct vm_host *h, uint32_t irq, bool level)
{
	struct kvm_irq_level line = { .irq = irq, .level = level };
	return ioctl(h->vm_fd, KVM_IRQ_LINE, &line) < 0 ? -errno : 0;
}

uint32_t vm_host_alloc_gsi(struct vm_host *h)
{
	pthread_mutex_lock(&h->gsi_lock);
	uint32_t gsi = h->next_gsi++;
	pthread_mutex_unlock(&h->gsi_lock);
	return gsi;
}

int vm_host_set_msi_route(struct vm_host *h, uint32_t gsi, uint64_t addr, uint32_t data)
{
	int ret = 0;
	pthread_mutex_lock(&h->gsi_lock);
	struct kvm_irq_routing_entry *e = NULL;
	for (unsigned int i = 0; i < h->routes->nr; i++)
		if (h->routes->entries[i].gsi == gsi && h->routes->entries[i].type == KVM_IRQ_ROUTING_MSI)
			e = &h->routes->entries[i];
	if (!e && h->routes->nr < MAX_ROUTES)
		e = &h->routes->entries[h->routes->nr++];
	if (!e) {
		ret = -ENOSPC;
	} else {
		*e = (struct kvm_irq_routing_entry){ .gsi = gsi,
						     .type = KVM_IRQ_ROUTING_MSI,
						     .u.msi = { .address_lo = (uint32_t)addr,
								.address_hi = (uint32_t)(addr >> 32),
								.data = data } };
		if (ioctl(h->vm_fd, KVM_SET_GSI_ROUTING, h->routes) < 0)
			ret = -errno;
	}
	pthread_mutex_unlock(&h->gsi_lock);
	return ret;
}

int vm_host_irqfd(struct vm_host *h, int fd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd,
				   .gsi = gsi,
				   .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };
	return ioctl(h->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

int vm_host_ioeventfd(struct vm_host *h, uint64_t addr, uint32_t len, int fd, bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};
	return ioctl(h->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

void vm_host_request_exit(struct vm_host *h, enum vm_exit_reason reason, int status)
{
	if (h->request_exit)
		h->request_exit(h->exit_opaque, reason, status);
}

void vm_host_add_device(struct vm_host *h, const char *name, void *dev, void (*destroy)(void *dev))
{
	struct vm_device d = { name, dev, destroy };
	g_array_append_val(h->devices, d);
}

void vm_host_destroy_devices(struct vm_host *h)
{
	for (guint i = h->devices->len; i-- > 0;) {
		struct vm_device *d = &g_array_index(h->devices, struct vm_device, i);
		if (d->destroy)
			d->destroy(d->dev);
	}
	g_array_set_size(h->devices, 0);
}

void vm_host_add_state(struct vm_host *h, const char *name, vm_state_save_fn save, vm_state_load_fn load,
		       void *opaque)
{
	struct vm_state st = { g_strdup(name), save, load, opaque };
	g_array_append_val(h->states, st);
}

void vm_host_add_worker(struct vm_host *h, GMainContext *ctx) { g_ptr_array_add(h->worker_ctx, ctx); }

/* Runs on a parked thread: waits, holding no device lock, until vm_host_unpark(). */
static gboolean vm_host_parked(gpointer data)
{
	struct vm_park *p = data;
	g_mutex_lock(&p->lock);
	p->parked++;
	g_cond_broadcast(&p->cond);
	while (!p->release)
		g_cond_wait(&p->cond, &p->lock);
	p->parked--;
	g_cond_broadcast(&p->cond);
	g_mutex_unlock(&p->lock);
	return G_SOURCE_REMOVE;
}

static void vm_host_park_one(struct vm_host *h, GMainContext *ctx)
{
	GSource *src = g_idle_source_new();
	g_source_set_priority(src, G_PRIORITY_HIGH);
	g_source_set_callback(src, vm_host_parked, &h->park, NULL);
	g_source_attach(src, ctx);
	g_source_unref(src);
}

void vm_host_park(struct vm_host *h)
{
	unsigned int n = 1 + h->worker_ctx->len;
	g_mutex_lock(&h->park.lock);
	h->park.release = false;
	g_mutex_unlock(&h->park.lock);
	vm_host_park_one(h, h->io_ctx);
	for (guint i = 0; i < h->worker_ctx->len; i++)
		vm_host_park_one(h, h->worker_ctx->pdata[i]);
	g_mutex_lock(&h->park.lock);
	while (h->park.parked < n)
		g_cond_wait(&h->park.cond, &h->park.lock);
	g_mutex_unlock(&h->park.lock);
}

void vm_host_unpark(struct vm_host *h)
{
	g_mutex_lock(&h->park.lock);
	h->park.release = true;
	g_cond_broadcast(&h->park.cond);
	while (h->park.parked > 0)
		g_cond_wait(&h->park.cond, &h->park.lock);
	g_mutex_unlock(&h->park.lock);
}
