/* The machine, assembled in one place and in order: vm_build() reads top to bottom as
 * "KVM, memory, interrupt controllers, platform devices, PCI devices, firmware tables,
 * kernel, vCPUs". */
#include "devices/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "devices/acpi.h"
#include "devices/boot.h"
#include "devices/hostcheck.h"
#include "devices/layout.h"
#include "devices/pci.h"
#include "devices/power.h"
#include "devices/rtc.h"
#include "devices/sandbox/sandbox.h"
#include "devices/serial.h"
#include "devices/vcpu.h"
#include "devices/vm_api.h"
#include "devices/vm_snapshot.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/vsock.h"
#include "devices/virtio/net.h"
#include "devices/virtio/gpu.h"
#include "devices/virtio/input.h"
#include "devices/virtio/rng.h"

#define IOAPIC_PINS   24
#define FIRST_MSI_GSI 24

static bool kvm_ioctl_ok(int ret, const char *what, GError **error)
{
	if (ret >= 0)
		return true;
	g_set_error(error, SEPIA_ERROR, errno, "KVM: %s failed: %s", what, g_strerror(errno));
	return false;
}

static bool vm_open_kvm(struct vm *vm, GError **error)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		g_set_error(
			error, SEPIA_ERROR, errno,
			"cannot open /dev/kvm: %s (is the kvm module loaded, and are you in the kvm group?)",
			g_strerror(errno));
		return false;
	}
	int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "/dev/kvm speaks API version %d, sepia-vmm needs %d",
			    version, KVM_API_VERSION);
		return false;
	}
	static const struct {
		int cap;
		const char *name;
	} needed[] = {
		{ KVM_CAP_IRQCHIP, "in-kernel irqchip" }, { KVM_CAP_IRQFD, "irqfd" },
		{ KVM_CAP_IOEVENTFD, "ioeventfd" },       { KVM_CAP_IRQ_ROUTING, "GSI routing" },
		{ KVM_CAP_PIT2, "in-kernel PIT" },        { KVM_CAP_USER_MEMORY, "user memory" },
	};
	for (unsigned int i = 0; i < G_N_ELEMENTS(needed); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0) {
			g_set_error(error, SEPIA_ERROR, ENOTSUP, "/dev/kvm lacks %s", needed[i].name);
			return false;
		}
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	return kvm_ioctl_ok(vm->vm_fd, "KVM_CREATE_VM", error);
}

/* RAM below the 32-bit MMIO hole in slot 0, the rest from 4 GiB in slot 1. */
static bool vm_setup_memory(struct vm *vm, GError **error)
{
	uint64_t total = vm->cfg->mem_mib << 20;
	uint64_t low = MIN(total, LAYOUT_MMIO_HOLE);
	uint64_t sizes[2] = { low, total - low };
	uint64_t bases[2] = { 0, LAYOUT_4G };
	for (unsigned int i = 0; i < 2 && sizes[i]; i++) {
		if (vm->cfg->restore_dir) {
			/* The snapshot's RAM file holds the regions back to back. */
			void *host = vm_snapshot_map_ram(vm, i ? sizes[0] : 0, sizes[i], error);
			if (!host)
				return false;
			struct kvm_userspace_memory_region r = {
				.slot = i,
				.guest_phys_addr = bases[i],
				.memory_size = sizes[i],
				.userspace_addr = (uint64_t)(uintptr_t)host,
			};
			vm->host.mem.region[vm->host.mem.nr_regions++] =
				(struct guest_mem_region){ bases[i], sizes[i], host };
			if (!kvm_ioctl_ok(ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r),
					  "KVM_SET_USER_MEMORY_REGION", error))
				return false;
			continue;
		}
		void *host = mmap(NULL, sizes[i], PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (host == MAP_FAILED) {
			g_set_error(error, SEPIA_ERROR, errno,
				    "cannot map %" G_GUINT64_FORMAT " MiB of guest RAM: %s", sizes[i] >> 20,
				    g_strerror(errno));
			return false;
		}
		madvise(host, sizes[i], MADV_MERGEABLE);
		struct kvm_userspace_memory_region r = {
			.slot = i,
			.guest_phys_addr = bases[i],
			.memory_size = sizes[i],
			.userspace_addr = (uint64_t)(uintptr_t)host,
		};
		if (!kvm_ioctl_ok(ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r),
				  "KVM_SET_USER_MEMORY_REGION", error))
			return false;
		vm->host.mem.region[vm->host.mem.nr_regions++] = (struct guest_mem_region){ bases[i],
											    sizes[i], host };
	}
	return true;
}

/* ---- interrupts ---- */

static bool vm_commit_routes(struct vm *vm, GError **error)
{
	return kvm_ioctl_ok(ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, vm->host.routes), "KVM_SET_GSI_ROUTING",
			    error);
}

/* The PC wiring: ISA IRQs to both 8259s and the IOAPIC, IRQ0 (PIT) to IOAPIC pin 2 as
 * the MADT's interrupt source override says. KVM_SET_GSI_ROUTING replaces the whole
 * table, so these stay in it next to the MSI routes. */
static bool vm_setup_irqchip(struct vm *vm, GError **error)
{
	if (!kvm_ioctl_ok(ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL), "KVM_SET_TSS_ADDR", error))
		return false;
	uint64_t identity = 0xfffbc000ULL;
	if (!kvm_ioctl_ok(ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity), "KVM_SET_IDENTITY_MAP_ADDR",
			  error) ||
	    !kvm_ioctl_ok(ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP", error))
		return false;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (!kvm_ioctl_ok(ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit), "KVM_CREATE_PIT2", error))
		return false;

	struct kvm_irq_routing_entry *e = vm->host.routes->entries;
	unsigned int n = 0;
	for (uint32_t irq = 0; irq < 16; irq++) {
		if (irq == 2)
			continue; /* the cascade */
		e[n++] = (struct kvm_irq_routing_entry){
			.gsi = irq,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { irq < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, irq % 8 }
		};
	}
	for (uint32_t pin = 0; pin < IOAPIC_PINS; pin++) {
		if (pin == 2)
			continue;
		e[n++] = (struct kvm_irq_routing_entry){ .gsi = pin,
							 .type = KVM_IRQ_ROUTING_IRQCHIP,
							 .u.irqchip = { KVM_IRQCHIP_IOAPIC,
									pin == 0 ? 2 : pin } };
	}
	vm->host.routes->nr = n;
	vm->host.next_gsi = FIRST_MSI_GSI;
	return vm_commit_routes(vm, error);
}

/* ---- the I/O thread ---- */

static gpointer vm_io_thread(gpointer data)
{
	struct vm *vm = data;
	sandbox_enter_role(SANDBOX_ROLE_IO);
	g_main_context_push_thread_default(vm->host.io_ctx);
	g_main_loop_run(vm->io_loop);
	g_main_context_pop_thread_default(vm->host.io_ctx);
	return NULL;
}

static gboolean vm_io_quit(gpointer data)
{
	struct vm *vm = data;
	g_main_loop_quit(vm->io_loop);
	return G_SOURCE_REMOVE;
}

void vm_request_exit(struct vm *vm, enum vm_exit_reason reason, int status)
{
	int expected = VM_RUNNING;
	if (!atomic_compare_exchange_strong(&vm->exit_reason, &expected, (int)reason))
		return;
	vm->exit_status = status;
	uint64_t one = 1;
	if (write(vm->stop_eventfd, &one, sizeof(one)) < 0)
		g_warning("vm: cannot wake the main thread: %s", g_strerror(errno));
}

static void vm_host_exit(void *opaque, enum vm_exit_reason reason, int status)
{
	vm_request_exit(opaque, reason, status);
}

/* ---- assembly ---- */

/* Each device goes on the host's list as it is made; vm_destroy() takes them down in
 * reverse. The order here is the guest's view: PCI slots, hvc and eth numbering. */
static bool vm_keep(struct vm_host *h, const char *name, void *dev, void (*destroy)(void *))
{
	if (!dev)
		return false;
	vm_host_add_device(h, name, dev, destroy);
	return true;
}
#define VM_ADD(dev, destroy_fn) vm_keep(h, #dev, (dev), (void (*)(void *))(destroy_fn))

/* A touch screen per display (sized as the GPU's scanouts), then the keyboard and the buttons,
 * each listening in cfg->input_dir. */
static bool vm_add_input_devices(struct vm *vm, GError **error)
{
	struct vm_config *cfg = vm->cfg;
	struct vm_host *h = &vm->host;
	GArray *specs = g_array_new(FALSE, TRUE, sizeof(struct virtio_input_spec));
	if (cfg->gpu.mode != GPU_NONE)
		for (unsigned int i = 0; i < MAX(cfg->gpu.nr_displays, 1u); i++) {
			const struct vm_display_config *d = &cfg->gpu.display[i];
			struct virtio_input_spec s = { VIRTIO_INPUT_TOUCH, i,
						       cfg->gpu.nr_displays ? d->width : 720,
						       cfg->gpu.nr_displays ? d->height : 1280 };
			g_array_append_val(specs, s);
		}
	struct virtio_input_spec keys[] = { { .kind = VIRTIO_INPUT_KEYBOARD },
					    { .kind = VIRTIO_INPUT_BUTTONS } };
	g_array_append_vals(specs, keys, G_N_ELEMENTS(keys));
	bool ok = true;
	for (guint i = 0; ok && i < specs->len; i++) {
		const struct virtio_input_spec *s = &g_array_index(specs, struct virtio_input_spec, i);
		g_autofree char *name = virtio_input_socket_name(s);
		g_autofree char *path = g_build_filename(cfg->input_dir, name, NULL);
		struct virtio_input *input = virtio_input_create(h, s, path, error);
		ok = VM_ADD(input, virtio_input_destroy);
	}
	g_array_free(specs, TRUE);
	return ok;
}

static bool vm_add_devices(struct vm *vm, GError **error)
{
	struct vm_config *cfg = vm->cfg;
	struct vm_host *h = &vm->host;
	struct serial *serial = serial_create(h, &cfg->serial, error);
	if (!VM_ADD(serial, serial_destroy) || !rtc_register(h, error) ||
	    !power_register(h, cfg->debug_exit, error))
		return false;
	h->pci = pci_bus_create(h, error);
	if (!VM_ADD(h->pci, pci_bus_destroy))
		return false;
	/* The --hvc ports first, in order: the guest numbers virtio-consoles hvc0, hvc1, ... as
	 * they appear on the bus. Each is a device of one port, as Cuttlefish's VMM makes them:
	 * no control queue to get wrong, and a port's number never depends on a guest's
	 * multiport handshake. */
	static const char *const hvc_names[VM_MAX_HVCS] = {
		"virtio-console-hvc0", "virtio-console-hvc1", "virtio-console-hvc2", "virtio-console-hvc3",
		"virtio-console-hvc4", "virtio-console-hvc5", "virtio-console-hvc6", "virtio-console-hvc7",
	};
	for (unsigned int i = 0; i < cfg->nr_hvcs; i++) {
		struct virtio_console *hvc = virtio_console_create(h, hvc_names[i], &cfg->hvc[i], error);
		if (!VM_ADD(hvc, virtio_console_destroy))
			return false;
	}
	/* Then the console, so the guest numbers it before the control channel. */
	if (cfg->console.kind != SINK_NONE) {
		struct virtio_console *console = virtio_console_create(h, "virtio-console", &cfg->console,
								       error);
		if (!VM_ADD(console, virtio_console_destroy))
			return false;
	}
	if (cfg->control.kind != SINK_NONE) {
		struct virtio_console *control = virtio_console_create(h, "virtio-console-control",
								       &cfg->control, error);
		if (!VM_ADD(control, virtio_console_destroy))
			return false;
	}
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		struct virtio_blk *disk = virtio_blk_create(h, i, &cfg->disk[i], error);
		if (!VM_ADD(disk, virtio_blk_destroy))
			return false;
	}
	/* The NICs after the disks: the guest names them eth0, eth1, ... in this order. */
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		struct virtio_net *net = virtio_net_create(h, i, &cfg->net[i], error);
		if (!VM_ADD(net, virtio_net_destroy))
			return false;
	}
	if (cfg->vsock_cid) {
		struct virtio_vsock *vsock = virtio_vsock_create(h, cfg->vsock_cid, cfg->vsock_socket, error);
		if (!VM_ADD(vsock, virtio_vsock_destroy))
			return false;
	}
	if (cfg->gpu.mode != GPU_NONE) {
		struct virtio_gpu *gpu = virtio_gpu_create(h, &cfg->gpu, error);
		if (!VM_ADD(gpu, virtio_gpu_destroy))
			return false;
	}
	if (cfg->input_dir && !vm_add_input_devices(vm, error))
		return false;
	if (cfg->rng) {
		struct virtio_rng *rng = virtio_rng_create(h, error);
		if (!VM_ADD(rng, virtio_rng_destroy))
			return false;
	}
	return true;
}

/* The platform has no PIT for Linux to use (ACPI hardware-reduced), no HPET and no PM
 * timer, so a guest without kvm-clock cannot measure its TSC; tell it the frequency. */
static void vm_append_tsc_khz(struct vm *vm, GString *cmdline)
{
	if (kernel_cmdline_has(cmdline->str, "tsc_early_khz"))
		return;
	int khz = ioctl(vm->vm_fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0) {
		g_message("vm: KVM does not report the TSC frequency; a guest without kvm-clock may not "
			  "calibrate it");
		return;
	}
	g_string_append_printf(cmdline, "%stsc_early_khz=%d", cmdline->len ? " " : "", khz);
}

/* What KVM offers, read once; whether the guest gets kvm-clock from it. On a hardware host
 * kvm-clock is the guest's stable clock (without it Linux may find its TSC unstable and fall
 * back to jiffies). On a host whose KVM interprets kernel code a Linux guest with kvm-clock
 * never brings its second vCPU up, so there it is hidden and the guest keeps the TSC. */
static bool vm_setup_cpuid(struct vm *vm, GError **error)
{
	unsigned int nent = 256;
	vm->cpuid = g_malloc0(sizeof(*vm->cpuid) + nent * sizeof(struct kvm_cpuid_entry2));
	vm->cpuid->nent = nent;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "vm: KVM_GET_SUPPORTED_CPUID on /dev/kvm: %s",
			    g_strerror(errno));
		return false;
	}
	enum vm_kvm_clock_mode mode = vm->cfg->kvm_clock;
	if (!cpuid_offers_kvm_clock(vm->cpuid)) {
		vm->kvm_clock = false;
		vm->kvm_pv = !vm->interpreting_host;
		g_message("vm: this host's KVM offers no kvm-clock (CPUID 0x40000001); the guest keeps "
			  "its TSC%s",
			  mode == KVMCLOCK_MODE_ON ? " (--kvm-clock=on cannot give what KVM lacks)" : "");
		return true;
	}
	vm->kvm_clock = mode == KVMCLOCK_MODE_ON || (mode == KVMCLOCK_MODE_AUTO && !vm->interpreting_host);
	/* Measured on an interpreting host: with KVM's features offered, the reference kernel's
	 * second vCPU never came up ("x86: Booting SMP configuration:" and no more for 11
	 * minutes). PV IPIs are the cause: clearing KVM_FEATURE_PV_SEND_IPI (bit 11) alone
	 * brought both vCPUs up, clearing the kvm-clock bits alone did not. There the guest gets
	 * no KVM leaves at all, as before it had KVM support. */
	vm->kvm_pv = vm->kvm_clock || !vm->interpreting_host;
	if (vm->kvm_clock)
		g_message("vm: kvm-clock offered to the guest (CPUID 0x40000001)%s",
			  mode == KVMCLOCK_MODE_ON && vm->interpreting_host
				  ? "; forced by --kvm-clock=on on an interpreting host, where a Linux "
				    "guest's second vCPU may never come up"
				  : "");
	else
		g_message("vm: kvm-clock hidden from the guest (CPUID 0x40000001): %s; it keeps its TSC%s",
			  mode == KVMCLOCK_MODE_OFF
				  ? "--kvm-clock=off"
				  : "with KVM's paravirtual IPIs a Linux guest's second "
				    "vCPU never comes up on this host",
			  vm->kvm_pv ? "" : "; KVM's signature and paravirtual features are hidden too");
	return true;
}

static bool vm_load_guest(struct vm *vm, struct boot_info *boot, GError **error)
{
	uint64_t rsdp = acpi_build(&vm->host.mem, vm->cfg->cpus, error);
	if (!rsdp)
		return false;
	GString *cmdline = g_string_new(vm->cfg->cmdline ? vm->cfg->cmdline : "");
	vm_append_tsc_khz(vm, cmdline);
	if (vm->interpreting_host)
		hostcheck_append_cmdline(cmdline);
	vm->effective_cmdline = g_string_free(cmdline, FALSE);
	struct boot_params_in in = {
		.kernel = vm->cfg->kernel,
		.initrd = vm->cfg->initrd,
		.cmdline = vm->effective_cmdline,
		.rsdp = rsdp,
		/* The kernel's own decompressor is minutes of interpreted code on such hosts. */
		.unpack_on_host = vm->interpreting_host,
	};
	if (!boot_load(&vm->host.mem, &in, boot, error))
		return false;
	g_message("vm: %s %s, entry 0x%" G_GINT64_MODIFIER "x, %u vCPUs, %" G_GUINT64_FORMAT
		  " MiB, cmdline \"%s\"",
		  boot->format, vm->cfg->kernel, boot->entry, vm->cfg->cpus, vm->cfg->mem_mib,
		  vm->effective_cmdline);
	return true;
}

void vm_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

static const char *vm_signal_name(int sig)
{
	switch (sig) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	default:
		return "a signal";
	}
}

/* The stop signals arrive as reads on a signalfd, in vm_run's wait, rather than in a
 * handler that could interrupt any thread: the caller has blocked them everywhere. */
static bool vm_open_signalfd(struct vm *vm, GError **error)
{
	sigset_t stop;
	vm_stop_signals(&stop);
	vm->signal_fd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->signal_fd < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "vm: signalfd for SIGTERM/SIGINT/SIGHUP: %s",
			    g_strerror(errno));
		return false;
	}
	return true;
}

bool vm_build(struct vm *vm, struct vm_config *cfg, GError **error)
{
	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->kvm_fd = vm->vm_fd = vm->stop_eventfd = vm->signal_fd = -1;
	for (unsigned int i = 0; i < VM_MAX_DISKS; i++)
		vm->snapshot_disk_fd[i] = -1;
	vm_host_init(&vm->host, -1);
	vm->host.request_exit = vm_host_exit;
	vm->host.exit_opaque = vm;
	vm->host.io_ctx = g_main_context_new();
	vm->io_loop = g_main_loop_new(vm->host.io_ctx, FALSE);
	vm->stop_eventfd = eventfd(0, EFD_CLOEXEC);
	struct boot_info boot;

	if (vm->stop_eventfd < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "vm: eventfd: %s", g_strerror(errno));
		return false;
	}
	if (!vm_open_signalfd(vm, error) || !vm_open_kvm(vm, error))
		return false;
	vm->host.vm_fd = vm->vm_fd;
	vm->interpreting_host = hostcheck_interpreting(cfg->fallback);
	if (vm->interpreting_host)
		g_message("vm: this host's KVM interprets guest kernel code (%s); the fallback emulator "
			  "and kernel command-line workarounds are on",
			  hostcheck_reason());
	else
		g_message("vm: %s; no fallback emulator and no kernel command-line workaround",
			  hostcheck_reason());
	if (!vm_setup_cpuid(vm, error))
		return false;
	if (cfg->api_socket && !(vm->api = vm_api_open(cfg->api_socket, error)))
		return false;
	if (cfg->restore_dir) {
		/* The same machine, built the same way, then its state loaded over it: RAM from
		 * the snapshot's file, no kernel to load. */
		if (!vm_snapshot_precheck(cfg->restore_dir, error) || !vm_setup_memory(vm, error) ||
		    !vm_setup_irqchip(vm, error) ||
		    (!cfg->restore_keep_disks && !vm_snapshot_restore_disks(vm, error)) ||
		    !vm_add_devices(vm, error))
			return false;
		for (unsigned int i = 0; i < cfg->cpus; i++)
			if (!vcpu_create(vm, i, error))
				return false;
		if (!vm_snapshot_restore(vm, error)) {
			g_prefix_error(error, "cannot restore from %s: ", cfg->restore_dir);
			return false;
		}
		return vm_snapshot_open_disks(vm, error);
	}
	if (!vm_setup_memory(vm, error) || !vm_setup_irqchip(vm, error) || !vm_add_devices(vm, error) ||
	    !vm_load_guest(vm, &boot, error))
		return false;
	for (unsigned int i = 0; i < cfg->cpus; i++)
		if (!vcpu_create(vm, i, error))
			return false;
	return boot_setup_cpu(&vm->host.mem, vm->vcpu[0].fd, &boot, error) &&
	       vm_snapshot_open_disks(vm, error);
}

/* Sleeps until a device or vCPU ends the VM (vm_request_exit sets the reason, then
 * writes stop_eventfd) or a stop signal arrives. */
static void vm_wait_for_exit(struct vm *vm)
{
	struct pollfd fds[4] = {
		{ .fd = vm->stop_eventfd, .events = POLLIN },
		{ .fd = vm->signal_fd, .events = POLLIN },
	};
	while (atomic_load(&vm->exit_reason) == VM_RUNNING) {
		unsigned int n_api = vm->api ? vm_api_pollfds(vm->api, fds + 2) : 0;
		if (poll(fds, 2 + n_api, -1) < 0) {
			if (errno == EINTR)
				continue;
			g_critical("vm: poll on the stop eventfd and signalfd: %s", g_strerror(errno));
			vm_request_exit(vm, VM_EXIT_ERROR, 1);
			break;
		}
		struct signalfd_siginfo si;
		if ((fds[1].revents & POLLIN) && read(vm->signal_fd, &si, sizeof(si)) == sizeof(si)) {
			vm->stop_signal = (int)si.ssi_signo;
			vm_request_exit(vm, VM_EXIT_HOST_STOP, 0);
		}
		if (n_api)
			vm_api_serve(vm->api, vm, fds + 2, n_api);
	}
}

enum vm_exit_reason vm_run(struct vm *vm)
{
	vm->io_thread = g_thread_new("sepia-io", vm_io_thread, vm);
	for (unsigned int i = 0; i < vm->cfg->cpus; i++)
		vcpu_start(&vm->vcpu[i]);
	sandbox_enter_role(SANDBOX_ROLE_MAIN); /* its threads started, inheriting none of this */
	vm_wait_for_exit(vm);
	for (unsigned int i = 0; i < vm->cfg->cpus; i++)
		vcpu_stop(&vm->vcpu[i]);
	/* Stopped while paused: the device threads must run again to end. */
	if (vm->paused) {
		vm_host_unpark(&vm->host);
		vm->paused = false;
	}
	/* Quit from inside the loop: a quit issued before the I/O thread entered
	 * g_main_loop_run() would be lost. The quit outranks every device source: GLib
	 * dispatches only the highest-priority ready sources, so at idle priority it would
	 * wait forever behind a device source that stays ready (a handler that loops). */
	GSource *quit = g_idle_source_new();
	g_source_set_priority(quit, G_PRIORITY_HIGH);
	g_source_set_callback(quit, vm_io_quit, vm, NULL);
	g_source_attach(quit, vm->host.io_ctx);
	g_source_unref(quit);
	g_thread_join(vm->io_thread);
	vm->io_thread = NULL;

	uint64_t emulated = 0;
	for (unsigned int i = 0; i < vm->cfg->cpus; i++)
		emulated += vm->vcpu[i].emulated;
	if (emulated)
		g_message("vm: the fallback emulator handled %" G_GUINT64_FORMAT " instructions", emulated);
	enum vm_exit_reason reason = (enum vm_exit_reason)atomic_load(&vm->exit_reason);
	switch (reason) {
	case VM_EXIT_POWEROFF:
		g_message("vm: guest powered off");
		break;
	case VM_EXIT_RESET:
		g_message("vm: guest reset");
		break;
	case VM_EXIT_HOST_STOP:
		g_message("vm: stopped by %s", vm_signal_name(vm->stop_signal));
		break;
	default:
		break;
	}
	return reason;
}

void vm_destroy(struct vm *vm)
{
	vm_api_close(vm->api);
	vm->api = NULL;
	vm_snapshot_close_disks(vm);
	vm_host_destroy_devices(&vm->host);
	for (unsigned int i = 0; i < VM_MAX_CPUS; i++)
		vcpu_destroy(&vm->vcpu[i]);
	for (unsigned int i = 0; i < vm->host.mem.nr_regions; i++)
		munmap(vm->host.mem.region[i].host, vm->host.mem.region[i].size);
	vm_host_fini(&vm->host);
	g_free(vm->effective_cmdline);
	g_free(vm->cpuid);
	if (vm->io_loop)
		g_main_loop_unref(vm->io_loop);
	if (vm->host.io_ctx)
		g_main_context_unref(vm->host.io_ctx);
	if (vm->stop_eventfd >= 0)
		close(vm->stop_eventfd);
	if (vm->signal_fd >= 0)
		close(vm->signal_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
}
