/* sepia-vmm's defence in depth: once the machine is built, the VMM gives up what it no
 * longer needs before the guest runs a single instruction.
 *
 *   sandbox_prepare()     at the start of main, while the process has one thread: new
 *                         mount, IPC and UTS namespaces (as root), or a user namespace
 *                         (not root, where the host allows one)
 *   vm_build()            opens everything: /dev/kvm, disks, TAPs, sockets, Mesa
 *   sandbox_lock_down()   pivots into an empty root holding only the vsock socket's
 *                         directory, caps memory, files and threads, drops to an
 *                         unprivileged uid/gid with no capabilities, sets no_new_privs and
 *                         dumpable 0, and filters every thread's system calls (seccomp)
 *   sandbox_enter_role()  each thread narrows its own filter to its role's allowlist
 *
 * A system call outside a thread's allowlist stops the VMM (SIGSYS) with a line on
 * stderr naming the call and the thread. `--sandbox=off` is the one escape, and it is
 * logged; `--seccomp=log` lets every call run and has the kernel log the ones outside
 * the lists (devices/sandbox/learn-syscalls.sh learns them with strace). */
#pragma once

#include <glib.h>
#include <stdbool.h>

/* Who a thread is, for its system-call allowlist. */
enum sandbox_role {
	SANDBOX_ROLE_MAIN, /* waits for the end, stops the vCPUs, tears the machine down */
	SANDBOX_ROLE_IO,   /* the I/O thread: virtqueues of blk, net, vsock, console */
	SANDBOX_ROLE_VCPU, /* KVM_RUN and the exits it hands back */
	SANDBOX_ROLE_GPU,  /* virtio-gpu's thread with virglrenderer's GL context */
	SANDBOX_ROLE_ANY,  /* the process-wide filter: also threads libraries started (llvmpipe) */
	SANDBOX_NR_ROLES,
};

enum sandbox_seccomp_mode {
	SANDBOX_SECCOMP_ON,  /* a call outside the list stops the VMM */
	SANDBOX_SECCOMP_LOG, /* the kernel logs it (audit) and lets it run: learning mode */
	SANDBOX_SECCOMP_OFF,
};

/* The environment variable that gives --seccomp's default (on, log or off) when the
 * option is not given: how devices/sandbox/learn-syscalls.sh runs whole tests in log mode. */
#define SANDBOX_SECCOMP_ENV "SEPIA_VMM_SECCOMP"

/* --sandbox=auto|off, --seccomp=on|log|off, --sandbox-user=UID:GID; parsed into the
 * sandbox's own settings, checked after parsing. */
GOptionGroup *sandbox_option_group(void);

/* Before any thread exists (namespaces are per thread until then). Logs what it does. */
bool sandbox_prepare(GError **error);

/* What the sandbox needs to know of the built machine (main.c fills it from its
 * configuration, so the sandbox does not depend on vm.h). */
struct sandbox_machine {
	unsigned int cpus;
	const char *vsock_socket; /* NULL: no virtio-vsock */
	bool gpu;                 /* a virtio-gpu */
	bool gpu_3d;              /* ... that may run virglrenderer */
	int api_listen_fd;        /* --api-socket's listening socket; -1: none */
};

/* After vm_build, before vm_run. Every thread alive is filtered when it returns. */
bool sandbox_lock_down(const struct sandbox_machine *machine, GError **error);

/* Whether the options ask for the jail or enforcing filters. */
bool sandbox_restricts(void);

/* Narrows the calling thread's filter to the role's allowlist; nothing when seccomp is
 * off. A thread calls it first thing (the main thread once it started the others). */
void sandbox_enter_role(enum sandbox_role role);

/* For a thread started before sandbox_lock_down (virtio-gpu's): its filter is installed
 * from its own main loop, ctx, as soon as the lock-down happens; sandbox_lock_down waits
 * for it. */
void sandbox_defer_role(GMainContext *ctx, enum sandbox_role role);
