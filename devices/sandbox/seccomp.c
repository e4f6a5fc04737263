/* The seccomp-bpf filters: one per thread role, compiled with libseccomp from the tables
 * in syscalls.c before anything is locked, installed with the raw system call (nothing
 * to allocate at that point).
 *
 * Every thread carries the process-wide filter (SANDBOX_ROLE_ANY, the union of the
 * roles), installed on all threads at once (TSYNC); each thread sepia starts adds its
 * role's filter on top, and the kernel applies the stricter answer of the two. A call
 * outside the lists traps (SIGSYS): the handler writes one line naming the call and the
 * thread, then makes a call that the process-wide filter answers with
 * SECCOMP_RET_KILL_PROCESS, so the VMM ends killed by SIGSYS, the same as a bare
 * kill-process filter, but with the line in the monitor's log. */
#include "devices/sandbox/sandbox_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"

/* A system call number no kernel has: the process-wide filter kills the process on it.
 * Only the SIGSYS handler makes it, after writing its line. */
#define SANDBOX_KILL_NR 1023

/* Names for the handler's line, resolved before the lock-down: it may not allocate. */
#define SYSCALL_NAMES 512
static const char *syscall_names[SYSCALL_NAMES];

static struct sock_fprog role_prog[SANDBOX_NR_ROLES];
static __thread const char *thread_role;

static const char *const role_names[SANDBOX_NR_ROLES] = {
	[SANDBOX_ROLE_MAIN] = "main", [SANDBOX_ROLE_IO] = "I/O",      [SANDBOX_ROLE_VCPU] = "vCPU",
	[SANDBOX_ROLE_GPU] = "GPU",   [SANDBOX_ROLE_ANY] = "library",
};

const char *sandbox_role_name(enum sandbox_role role) { return role_names[role]; }

/* ---- the SIGSYS reporter (async-signal-safe: stack buffer, write, the kill call) ---- */

static size_t put_str(char *buf, size_t at, size_t size, const char *s)
{
	while (*s && at + 1 < size)
		buf[at++] = *s++;
	return at;
}

static size_t put_uint(char *buf, size_t at, size_t size, unsigned long v, unsigned int base)
{
	char digits[24];
	int n = 0;
	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n && at + 1 < size)
		buf[at++] = digits[--n];
	return at;
}

static void report_forbidden_call(int sig, siginfo_t *si, void *context)
{
	char line[320];
	size_t n = 0, size = sizeof(line);
	n = put_str(line, n, size, "sepia-vmm: error: seccomp: the ");
	n = put_str(line, n, size, thread_role ? thread_role : role_names[SANDBOX_ROLE_ANY]);
	n = put_str(line, n, size, " thread called ");
	if (si->si_arch != AUDIT_ARCH_X86_64) {
		n = put_str(line, n, size, "system call ");
		n = put_uint(line, n, size, (unsigned int)si->si_syscall, 10);
		n = put_str(line, n, size, " of another ABI (audit arch 0x");
		n = put_uint(line, n, size, si->si_arch, 16);
		n = put_str(line, n, size, ")");
	} else {
		int nr = si->si_syscall;
		const char *name = nr >= 0 && nr < SYSCALL_NAMES ? syscall_names[nr] : NULL;
		n = put_str(line, n, size, name ? name : "an unknown system call");
		n = put_str(line, n, size, " (");
		n = put_uint(line, n, size, (unsigned int)nr, 10);
		n = put_str(line, n, size, ")");
	}
	n = put_str(
		line, n, size,
		", which its allowlist forbids: sepia-vmm stops (SIGSYS); --seccomp=log runs with the call "
		"logged instead\n");
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nothing left to tell it to. */
	}
	syscall(SANDBOX_KILL_NR);
	syscall(SYS_exit_group, 128 + SIGSYS); /* only if no filter is in place */
}

/* ---- compiling ---- */

/* The API socket's listener, while the filters are compiled; -1: none. */
static int api_listener = -1;

static int add_rule(scmp_filter_ctx ctx, int nr, const struct sandbox_rule *r, unsigned int role_bit)
{
	int ret = 0;
	switch (r->check) {
	case SANDBOX_ARG_NONE:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	case SANDBOX_ARG_NO_EXEC:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case SANDBOX_ARG_OWN_PROCESS:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	case SANDBOX_ARG_THREAD:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	case SANDBOX_ARG_PRCTL_NAME:
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
		return ret ? ret
			   : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME));
	case SANDBOX_ARG_EMPTY_PATH:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
	case SANDBOX_ARG_UNIX_SOCKET:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	case SANDBOX_ARG_SECCOMP_FILTER:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
					SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER),
					SCMP_A1(SCMP_CMP_EQ, 0));
	case SANDBOX_FAILS_EROFS:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EROFS), nr, 0);
	case SANDBOX_FAILS_ENOENT:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), nr, 0);
	case SANDBOX_ARG_API_LISTENER:
		if (api_listener < 0)
			return 0;
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)api_listener));
	case SANDBOX_ARG_NOT_SIGSYS:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_NE, SIGSYS));
	case SANDBOX_ARG_IOCTL:
		/* The kernel reads the request as 32 bits; a caller may sign-extend it. */
		for (const struct sandbox_ioctl *io = sandbox_ioctls; io->roles && !ret; io++)
			if (io->roles & role_bit)
				ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
						       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, io->request));
		return ret;
	}
	return -EINVAL;
}

/* The role's filter; the process-wide one (ANY) takes every rule of every role. */
static scmp_filter_ctx compile_role(enum sandbox_role role, enum sandbox_seccomp_mode mode, GError **error)
{
	uint32_t outside = mode == SANDBOX_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP;
	unsigned int role_bit = role == SANDBOX_ROLE_ANY ? ~0u : 1u << role;
	scmp_filter_ctx ctx = seccomp_init(outside);
	if (!ctx) {
		g_set_error(error, SEPIA_ERROR, ENOMEM, "seccomp: cannot start the %s filter",
			    role_names[role]);
		return NULL;
	}
	int ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, outside);
	if (!ret)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (!ret)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2); /* a binary tree, not a list */
	bool clones = false;
	for (const struct sandbox_rule *r = sandbox_rules; r->name && !ret; r++) {
		if (!(r->roles & role_bit))
			continue;
		int nr = seccomp_syscall_resolve_name(r->name);
		if (nr == __NR_SCMP_ERROR) {
			g_set_error(error, SEPIA_ERROR, EINVAL, "seccomp: %s filter: unknown system call %s",
				    role_names[role], r->name);
			seccomp_release(ctx);
			return NULL;
		}
		clones |= nr == __NR_clone;
		ret = add_rule(ctx, nr, r, role_bit);
		if (ret == -EEXIST)
			ret = 0;
	}
	/* clone3 passes its flags in memory a filter cannot read: ENOSYS makes glibc use clone. */
	if (!ret && clones)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), __NR_clone3, 0);
	if (!ret && role == SANDBOX_ROLE_ANY)
		ret = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SANDBOX_KILL_NR, 0);
	if (ret) {
		g_set_error(error, SEPIA_ERROR, -ret, "seccomp: %s filter: %s", role_names[role],
			    g_strerror(-ret));
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/* The filter as BPF instructions in memory (libseccomp 2.5 exports to a descriptor). */
static bool export_program(scmp_filter_ctx ctx, enum sandbox_role role, GError **error)
{
	int fd = memfd_create("sepia-seccomp", MFD_CLOEXEC);
	int ret = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
	off_t size = ret ? -1 : lseek(fd, 0, SEEK_END);
	if (ret || size <= 0 || size % sizeof(struct sock_filter)) {
		g_set_error(error, SEPIA_ERROR, ret ? -ret : EIO, "seccomp: cannot export the %s filter: %s",
			    role_names[role], ret ? g_strerror(-ret) : "bad size");
		if (fd >= 0)
			close(fd);
		return false;
	}
	struct sock_filter *insns = g_malloc((size_t)size);
	ssize_t got = pread(fd, insns, (size_t)size, 0);
	close(fd);
	if (got != size) {
		g_set_error(error, SEPIA_ERROR, EIO, "seccomp: cannot read back the %s filter",
			    role_names[role]);
		g_free(insns);
		return false;
	}
	g_free(role_prog[role].filter);
	role_prog[role] = (struct sock_fprog){ .len = (unsigned short)(size / sizeof(*insns)),
					       .filter = insns };
	return true;
}

bool sandbox_seccomp_build(enum sandbox_seccomp_mode mode, int api_listen_fd, GError **error)
{
	api_listener = api_listen_fd;
	for (int nr = 0; nr < SYSCALL_NAMES; nr++)
		if (!syscall_names[nr])
			syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	for (int role = 0; role < SANDBOX_NR_ROLES; role++) {
		scmp_filter_ctx ctx = compile_role(role, mode, error);
		if (!ctx)
			return false;
		bool ok = export_program(ctx, role, error);
		seccomp_release(ctx);
		if (!ok)
			return false;
	}
	return true;
}

/* ---- installing ---- */

bool sandbox_seccomp_install_process(GError **error)
{
	struct sigaction sa = { .sa_sigaction = report_forbidden_call, .sa_flags = SA_SIGINFO };
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "seccomp: SIGSYS handler: %s", g_strerror(errno));
		return false;
	}
	long ret = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
			   &role_prog[SANDBOX_ROLE_ANY]);
	if (ret > 0) {
		g_set_error(error, SEPIA_ERROR, EBUSY,
			    "seccomp: thread %ld already has a filter of its own; cannot filter every thread",
			    ret);
		return false;
	}
	if (ret < 0) {
		g_set_error(error, SEPIA_ERROR, errno,
			    "seccomp: cannot install the process-wide filter: %s (a kernel without "
			    "CONFIG_SECCOMP_FILTER? --seccomp=off runs without)",
			    g_strerror(errno));
		return false;
	}
	thread_role = role_names[SANDBOX_ROLE_MAIN]; /* the caller, until it enters its role */
	return true;
}

int sandbox_seccomp_install_role(enum sandbox_role role)
{
	if (!role_prog[role].filter)
		return -ENOENT;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &role_prog[role]) < 0)
		return -errno;
	thread_role = role_names[role];
	return 0;
}
