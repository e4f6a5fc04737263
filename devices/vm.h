/* The virtual machine: its configuration, KVM handles, vCPUs, and the host interface its
 * devices see (host.h). vm_build() assembles it in one readable order; vm_run() runs it to
 * the end. Only the machine's core (vm.c, vcpu.c, main.c) includes this. */
#pragma once

#include <glib.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "devices/chardev.h"
#include "devices/host.h"
#include "devices/cpuid.h"
#include "devices/hostcheck.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/gpu.h"
#include "devices/virtio/net.h"

#define VM_MAX_CPUS  32
#define VM_MAX_DISKS 8
#define VM_MAX_NETS  4
#define VM_MAX_HVCS  8

struct vm_config {
	char *kernel;
	char *initrd;
	char *cmdline;
	uint64_t mem_mib;
	unsigned int cpus;
	struct vm_sink serial;
	/* --hvc: virtio-consoles of one port each, the guest's hvc0, hvc1, ... in this order,
	 * before the console and the control channel below (see README, console layout). */
	struct vm_sink hvc[VM_MAX_HVCS];
	unsigned int nr_hvcs;
	struct vm_sink console;
	struct vm_sink control; /* a second virtio-console for the host's commands */
	struct vm_disk_config disk[VM_MAX_DISKS];
	unsigned int nr_disks;
	uint64_t vsock_cid; /* 0: no virtio-vsock */
	char *vsock_socket; /* its host side: a unix socket path */
	struct vm_net_config net[VM_MAX_NETS];
	unsigned int nr_nets;
	struct vm_gpu_config gpu;
	char *input_dir; /* virtio-input on: the devices' sockets go here */
	bool rng;        /* virtio-rng */
	bool debug_exit;
	enum vm_fallback_mode fallback;
	enum vm_kvm_clock_mode kvm_clock;
	char *api_socket;        /* the VMM's own control socket (pause, resume, snapshot); NULL: none */
	char *restore_dir;       /* start from this snapshot instead of booting the kernel */
	bool restore_keep_disks; /* the disks stay as they are (a boot snapshot holds none of them) */
	gint64 start_us;         /* when sepia-vmm started (monotonic), for the restore-time log */
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
	atomic_bool pausing; /* park at the next return from KVM_RUN */
	bool first_run_logged;
	/* A paused vCPU's thread waits here, alive, for vcpu_resume(): no thread is created
	 * after the sandbox's lock-down, and each keeps its own filter. */
	GMutex park_lock;
	GCond park_cond;
	bool parked; /* the thread waits in vcpu_park_here() */
	bool ended;  /* the thread left its run loop for good */
	bool park_init;
};

struct vm {
	struct vm_config *cfg;
	int kvm_fd;
	int vm_fd;
	struct vm_host host; /* what the devices see of the VM, and the device list */
	struct vcpu vcpu[VM_MAX_CPUS];
	bool interpreting_host;   /* KVM interprets kernel code: fallback emulator on */
	char *effective_cmdline;  /* what the guest was given, incl. host workarounds */
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID's answer, adapted per vCPU */
	bool kvm_clock;           /* kvm-clock offered to the guest in CPUID 0x40000001 */
	bool kvm_pv;              /* KVM's hypervisor leaves shown at all */

	GMainLoop *io_loop; /* runs host.io_ctx on the I/O thread */
	GThread *io_thread;

	atomic_int exit_reason;  /* enum vm_exit_reason */
	int exit_status;         /* for VM_EXIT_DEBUG: the status sepia-vmm ends with */
	int stop_eventfd;        /* written once to wake vm_run */
	int signal_fd;           /* signalfd for the stop signals */
	int stop_signal;         /* which one, for VM_EXIT_HOST_STOP */
	bool paused;             /* vCPUs out of KVM_RUN, device threads parked */
	struct vm_api *api;      /* the control socket, when there is one */
	uint64_t restore_gap_ns; /* host time between the snapshot and its restore: the clocks skip it */
	/* With an API socket: each writable disk opened read-only at build time, so a snapshot
	 * copies it from the sandbox, where no path opens; -1 for the others. */
	int snapshot_disk_fd[VM_MAX_DISKS];
};

/* The signals that stop the VM cleanly (SIGTERM, SIGINT, SIGHUP). The caller blocks
 * them in every thread before vm_build() so that vm_run() alone receives them. */
void vm_stop_signals(sigset_t *set);
bool vm_build(struct vm *vm, struct vm_config *cfg, GError **error);
/* Runs until the guest powers off, resets, debug-exits or fails, or a stop signal
 * arrives; logs and returns why. main() maps the reason to the exit status. */
enum vm_exit_reason vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Called by vCPUs (and, through the host interface, devices) to end the VM. The first
 * reason wins. */
void vm_request_exit(struct vm *vm, enum vm_exit_reason reason, int status);
