/* The virtual machine: its configuration, KVM handles, memory, buses and devices.
 * vm_build() assembles it in one readable order; vm_run() runs it to the end. */
#pragma once

#include <glib.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "devices/bus.h"
#include "devices/guestmem.h"

#define VM_MAX_CPUS  32
#define VM_MAX_DISKS 8
#define VM_MAX_NETS  4

enum vm_sink_kind { SINK_NONE, SINK_STDIO, SINK_FILE, SINK_PTY, SINK_FD };

struct vm_sink {
	enum vm_sink_kind kind;
	char *path; /* SINK_FILE */
	int fd;     /* SINK_FD: inherited, for input and output */
};

struct vm_disk_config {
	char *path;
	const char *format; /* "raw", "qcow2", "vmdk" (static); NULL: probed */
	bool readonly;
};

struct vm_net_config {
	char *tap;      /* host TAP interface name */
	uint8_t mac[6]; /* the guest's MAC address */
};

enum vm_fallback_mode { FALLBACK_AUTO, FALLBACK_ON, FALLBACK_OFF };

/* virtio-gpu: none, 2D only, 3D through virglrenderer, or 3D when it initialises. */
enum vm_gpu_mode { GPU_NONE, GPU_2D, GPU_VIRGL, GPU_AUTO };
#define VM_MAX_DISPLAYS 16

struct vm_display_config {
	uint32_t width, height, dpi;
};

struct vm_config {
	char *kernel;
	char *initrd;
	char *cmdline;
	uint64_t mem_mib;
	unsigned int cpus;
	struct vm_sink serial;
	struct vm_sink console;
	struct vm_sink control; /* a second virtio-console for the host's commands */
	struct vm_disk_config disk[VM_MAX_DISKS];
	unsigned int nr_disks;
	uint64_t vsock_cid; /* 0: no virtio-vsock */
	char *vsock_socket; /* its host side: a unix socket path */
	struct vm_net_config net[VM_MAX_NETS];
	unsigned int nr_nets;
	enum vm_gpu_mode gpu_mode;
	struct vm_display_config display[VM_MAX_DISPLAYS];
	unsigned int nr_displays;
	char *framebuffer_dir; /* where scanouts are published (display<N>.fb); NULL: not */
	bool debug_exit;
	enum vm_fallback_mode fallback;
};

/* Why the VM stopped; main.c's exit-status contract maps each to a status. */
enum vm_exit_reason {
	VM_RUNNING = 0,
	VM_EXIT_POWEROFF,  /* ACPI S5: status 0 */
	VM_EXIT_RESET,     /* i8042, ACPI reset or triple fault: status 4, the monitor reboots */
	VM_EXIT_DEBUG,     /* --debug-exit port write: (V << 1) | 1 */
	VM_EXIT_ERROR,     /* unrecoverable vCPU error, message logged: status 1 */
	VM_EXIT_HOST_STOP, /* SIGTERM, SIGINT or SIGHUP to sepia-vmm: status 0 */
};

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	uint64_t emulated; /* fallback-emulated instructions, for the log */
	bool started;
};

struct virtio_pci_dev;
struct serial;

struct vm {
	struct vm_config *cfg;
	int kvm_fd;
	int vm_fd;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct vcpu vcpu[VM_MAX_CPUS];
	bool interpreting_host;  /* KVM interprets kernel code: fallback emulator on */
	char *effective_cmdline; /* what the guest was given, incl. host workarounds */

	struct serial *serial;
	struct pci_bus *pci;
	struct virtio_console *console;
	struct virtio_console *control;
	struct virtio_blk *disk[VM_MAX_DISKS];
	struct virtio_vsock *vsock;
	struct virtio_net *net[VM_MAX_NETS];
	struct virtio_gpu *gpu;
	uint32_t next_gsi;        /* KVM GSIs handed to MSI-X vectors */
	pthread_mutex_t gsi_lock; /* next_gsi and the routing table */
	struct kvm_irq_routing *routes;

	GMainContext *io_ctx; /* the I/O thread: queue notifications, console input */
	GMainLoop *io_loop;
	GThread *io_thread;

	atomic_int exit_reason; /* enum vm_exit_reason */
	int exit_status;        /* for VM_EXIT_DEBUG: the status sepia-vmm ends with */
	int stop_eventfd;       /* written once to wake vm_run */
	int signal_fd;          /* signalfd for the stop signals */
	int stop_signal;        /* which one, for VM_EXIT_HOST_STOP */
};

/* The signals that stop the VM cleanly (SIGTERM, SIGINT, SIGHUP). The caller blocks
 * them in every thread before vm_build() so that vm_run() alone receives them. */
void vm_stop_signals(sigset_t *set);
bool vm_build(struct vm *vm, struct vm_config *cfg, GError **error);
/* Runs until the guest powers off, resets, debug-exits or fails, or a stop signal
 * arrives; logs and returns why. main() maps the reason to the exit status. */
enum vm_exit_reason vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Called by devices and vCPUs to end the VM. The first reason wins. */
void vm_request_exit(struct vm *vm, enum vm_exit_reason reason, int status);

/* Allocates a KVM GSI for an MSI route. */
uint32_t vm_alloc_gsi(struct vm *vm);
/* Points gsi at an MSI address/data pair (KVM GSI routing). 0 or -errno. */
int vm_set_msi_route(struct vm *vm, uint32_t gsi, uint64_t addr, uint32_t data);
