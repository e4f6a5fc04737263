/* The system calls each sepia-vmm thread may make once the machine is built, learned by
 * running every test that boots sepia-vmm under `--seccomp=log` and strace
 * (devices/sandbox/learn-syscalls.sh), then read line by line. What is not here stops
 * the VMM. Nothing opens a path any more (open and openat fail with ENOENT; execve, mount,
 * ... stop the VMM), and no socket but a unix one is made (a guest's vsock connect to the
 * host).
 *
 * The main thread also serves --api-socket (pause, resume, snapshot): it accepts on that one
 * listener, takes a command with the snapshot's files as descriptors (recvmsg), reads the
 * vCPUs' and the VM's state (KVM_GET_*), and writes the files it was given (pwrite, a
 * reflink or copy_file_range, fsync). It never opens or names a file: the monitor does.
 *
 * Roles: M main, I the I/O thread, V a vCPU, G virtio-gpu's thread (virglrenderer and
 * Mesa's llvmpipe run on it), L the threads a library started before the lock-down
 * (llvmpipe's rasterisers): those run under the process-wide filter, which allows
 * what any role allows. */
#include "devices/sandbox/sandbox_internal.h"

#include <linux/kvm.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <termios.h>

#define M   (1u << SANDBOX_ROLE_MAIN)
#define I   (1u << SANDBOX_ROLE_IO)
#define V   (1u << SANDBOX_ROLE_VCPU)
#define G   (1u << SANDBOX_ROLE_GPU)
#define L   (1u << SANDBOX_ROLE_ANY)
#define ALL (M | I | V | G | L)

const struct sandbox_rule sandbox_rules[] = {
	/* Memory: malloc, thread stacks, GLib's slices. Only the GPU's JIT (llvmpipe compiles
	 * shaders) maps executable memory. */
	{ "brk", ALL, SANDBOX_ARG_NONE },
	{ "mmap", M | I | V, SANDBOX_ARG_NO_EXEC },
	{ "mmap", G | L, SANDBOX_ARG_NONE },
	{ "mprotect", M | I | V, SANDBOX_ARG_NO_EXEC },
	{ "mprotect", G | L, SANDBOX_ARG_NONE },
	{ "munmap", ALL, SANDBOX_ARG_NONE },
	{ "mremap", ALL, SANDBOX_ARG_NONE },
	{ "madvise", ALL, SANDBOX_ARG_NONE },

	/* Threads: futexes, signals within the process, the end of a thread or of all. */
	{ "futex", ALL, SANDBOX_ARG_NONE },
	{ "sched_yield", ALL, SANDBOX_ARG_NONE },
	{ "gettid", ALL, SANDBOX_ARG_NONE },
	{ "getpid", ALL, SANDBOX_ARG_NONE },
	{ "rt_sigreturn", ALL, SANDBOX_ARG_NONE },
	{ "rt_sigprocmask", ALL, SANDBOX_ARG_NONE },
	{ "tgkill", M | G | L, SANDBOX_ARG_OWN_PROCESS },
	{ "exit", ALL, SANDBOX_ARG_NONE },
	{ "exit_group", ALL, SANDBOX_ARG_NONE },
	{ "restart_syscall", ALL, SANDBOX_ARG_NONE },
	/* Mesa starts worker threads lazily; glibc tries clone3 first (whose flags a filter
	 * cannot read: it gets ENOSYS, see seccomp.c) and then clone, which must make a
	 * thread of this process, never a new process. */
	{ "clone", G | L, SANDBOX_ARG_THREAD },
	{ "set_robust_list", G | L, SANDBOX_ARG_NONE },
	/* glibc's first pthread_create sets its own signal handlers (SIGSETXID, SIGCANCEL). */
	{ "rt_sigaction", L, SANDBOX_ARG_NOT_SIGSYS },
	{ "rseq", G | L, SANDBOX_ARG_NONE },
	{ "prctl", G | L, SANDBOX_ARG_PRCTL_NAME },
	{ "sched_getaffinity", G | L, SANDBOX_ARG_NONE },

	/* Time, when the vDSO falls back to the kernel. */
	{ "clock_gettime", ALL, SANDBOX_ARG_NONE },
	{ "clock_nanosleep", ALL, SANDBOX_ARG_NONE },
	{ "nanosleep", ALL, SANDBOX_ARG_NONE },
	{ "gettimeofday", ALL, SANDBOX_ARG_NONE },

	/* I/O on descriptors opened while the machine was built. */
	{ "read", ALL, SANDBOX_ARG_NONE },
	{ "write", ALL, SANDBOX_ARG_NONE },
	{ "readv", M | I | V | G, SANDBOX_ARG_NONE },
	{ "writev", M | I | V | G, SANDBOX_ARG_NONE },
	{ "pread64", M | I | V, SANDBOX_ARG_NONE },
	{ "pwrite64", M | I | V, SANDBOX_ARG_NONE },
	{ "preadv", M | I | V, SANDBOX_ARG_NONE },
	{ "pwritev", M | I | V, SANDBOX_ARG_NONE },
	{ "lseek", M | I | V, SANDBOX_ARG_NONE },
	{ "fsync", M | I | V, SANDBOX_ARG_NONE },
	{ "fdatasync", M | I | V, SANDBOX_ARG_NONE },
	{ "fallocate", M | I | V, SANDBOX_ARG_NONE },
	{ "ftruncate", M | I | V, SANDBOX_ARG_NONE },
	{ "fstat", ALL, SANDBOX_ARG_NONE },
	{ "newfstatat", ALL, SANDBOX_ARG_EMPTY_PATH },
	{ "close", ALL, SANDBOX_ARG_NONE },
	{ "dup", M | I | V | G, SANDBOX_ARG_NONE },
	{ "fcntl", M | I | V | G, SANDBOX_ARG_NONE },
	{ "ioctl", ALL, SANDBOX_ARG_IOCTL },
	{ "poll", ALL, SANDBOX_ARG_NONE },
	{ "ppoll", ALL, SANDBOX_ARG_NONE },
	{ "eventfd2", M | I | V | G, SANDBOX_ARG_NONE },
	{ "pipe2", M | I | V | G, SANDBOX_ARG_NONE },

	/* virtio-vsock: host programs connect to the listening socket, a guest connects to a
	 * host port's unix socket, bytes flow both ways. */
	{ "socket", I | V, SANDBOX_ARG_UNIX_SOCKET },
	{ "connect", I | V, SANDBOX_ARG_NONE },
	{ "accept4", I, SANDBOX_ARG_NONE },
	{ "recvfrom", I | V, SANDBOX_ARG_NONE },
	{ "recvmsg", I | V, SANDBOX_ARG_NONE },
	{ "sendto", I | V, SANDBOX_ARG_NONE },

	/* --api-socket, on the main thread: its one listener, a command and its descriptors,
	 * the answer; a snapshot's disk is copied into the file the monitor passed. */
	{ "accept4", M, SANDBOX_ARG_API_LISTENER },
	{ "recvmsg", M, SANDBOX_ARG_NONE },
	{ "sendto", M, SANDBOX_ARG_NONE },
	{ "copy_file_range", M, SANDBOX_ARG_NONE },
	{ "sendmsg", I | V, SANDBOX_ARG_NONE },
	{ "shutdown", I | V, SANDBOX_ARG_NONE },
	{ "getsockopt", I | V, SANDBOX_ARG_NONE },

	/* Opening a path never works, but does not stop the VMM either: glibc's malloc reads
	 * /proc/sys/vm/overcommit_memory the first time any thread's arena shrinks (met on the
	 * GPU thread under virgl), which in the empty jail finds nothing anyway. */
	{ "open", ALL, SANDBOX_FAILS_ENOENT },
	{ "openat", ALL, SANDBOX_FAILS_ENOENT },

	/* virtio-vsock removes its socket at the end; the jail's root is read-only, so that
	 * fails (the monitor removes it), and without a jail it fails the same way. */
	{ "unlink", M, SANDBOX_FAILS_EROFS },

	/* The GPU thread installs its own filter from its loop once the process is locked. */
	{ "seccomp", L, SANDBOX_ARG_SECCOMP_FILTER },
	/* In a user-namespace jail, the GPU thread drops the capabilities of that namespace
	 * there too; a capset can never raise what a thread is permitted. */
	{ "capset", L, SANDBOX_ARG_NONE },
	{ "getrandom", ALL, SANDBOX_ARG_NONE },
	{ NULL, 0, 0 },
};

#define IOCTL_ALL (M | I | V | G | L)

/* ioctl requests, by role; the descriptor is not checked (any the VMM holds). */
const struct sandbox_ioctl sandbox_ioctls[] = {
	{ KVM_RUN, V },
	{ KVM_GET_REGS, V | M },
	{ KVM_SET_REGS, V },
	{ KVM_GET_SREGS, V | M },
	{ KVM_SET_SREGS, V },
	{ KVM_GET_FPU, V | M },
	{ KVM_SET_FPU, V },
	{ KVM_GET_VCPU_EVENTS, V | M },
	{ KVM_SET_VCPU_EVENTS, V },
	{ KVM_SET_GSI_ROUTING, V | I },
	{ KVM_IRQ_LINE, V | I },
	{ KVM_IRQFD, V | I },
	{ KVM_IOEVENTFD, V | I | M },
	{ TUNSETOFFLOAD, V | I },
	{ FIONREAD, I | V },
	{ TCGETS, IOCTL_ALL },
	/* Pause, resume and snapshots (the main thread; the vCPUs are parked meanwhile). */
	{ KVM_KVMCLOCK_CTRL, M },
	{ KVM_GET_LAPIC, M },
	{ KVM_GET_DEBUGREGS, M },
	{ KVM_GET_MP_STATE, M },
	{ KVM_GET_XSAVE, M },
	{ KVM_GET_XSAVE2, M },
	{ KVM_GET_XCRS, M },
	{ KVM_GET_MSRS, M },
	{ KVM_GET_MSR_INDEX_LIST, M },
	{ KVM_CHECK_EXTENSION, M },
	{ KVM_GET_CLOCK, M },
	{ KVM_GET_PIT2, M },
	{ KVM_GET_IRQCHIP, M },
	{ FICLONE, M },
	{ 0, 0 },
};
