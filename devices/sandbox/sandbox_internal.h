/* What the sandbox's files share: the allowlist tables (syscalls.c), the seccomp filters
 * (seccomp.c), the jail (jail.c) and the resource caps (limits.c). sandbox.c puts them in
 * order; nothing outside devices/sandbox/ includes this. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "devices/sandbox/sandbox.h"

/* What a rule checks of a call's arguments besides its number. */
enum sandbox_arg_check {
	SANDBOX_ARG_NONE,
	SANDBOX_ARG_NO_EXEC,        /* mmap/mprotect: no PROT_EXEC in arg 2 */
	SANDBOX_ARG_OWN_PROCESS,    /* tgkill: arg 0 is this process */
	SANDBOX_ARG_THREAD,         /* clone: CLONE_THREAD in arg 0 (a thread, not a process) */
	SANDBOX_ARG_PRCTL_NAME,     /* prctl: PR_SET_NAME / PR_GET_NAME only */
	SANDBOX_ARG_EMPTY_PATH,     /* newfstatat: AT_EMPTY_PATH, i.e. fstat of a descriptor */
	SANDBOX_ARG_UNIX_SOCKET,    /* socket: AF_UNIX only */
	SANDBOX_ARG_SECCOMP_FILTER, /* seccomp: SECCOMP_SET_MODE_FILTER without flags */
	SANDBOX_ARG_NOT_SIGSYS,     /* rt_sigaction: any signal but SIGSYS (the reporter stays) */
	SANDBOX_ARG_IOCTL,          /* ioctl: a request of the role's list (sandbox_ioctls) */
	SANDBOX_ARG_API_LISTENER,   /* accept4: arg 0 is the API socket's listener (none: no rule) */
	SANDBOX_FAILS_EROFS,        /* not run: fails with EROFS, as it would in the read-only jail */
	SANDBOX_FAILS_ENOENT,       /* not run: fails with ENOENT, as it would in the empty jail */
};

struct sandbox_rule {
	const char *name;
	unsigned int roles; /* 1 << enum sandbox_role */
	enum sandbox_arg_check check;
};

struct sandbox_ioctl {
	unsigned long request;
	unsigned int roles;
};

/* NULL-terminated / 0-terminated. */
extern const struct sandbox_rule sandbox_rules[];
extern const struct sandbox_ioctl sandbox_ioctls[];

/* seccomp.c */
const char *sandbox_role_name(enum sandbox_role role);
/* Compiles every role's filter (libseccomp), before anything is locked. */
bool sandbox_seccomp_build(enum sandbox_seccomp_mode mode, int api_listen_fd, GError **error);
/* The process-wide filter on every thread (TSYNC), with the SIGSYS reporter. Needs
 * no_new_privs (or CAP_SYS_ADMIN). */
bool sandbox_seccomp_install_process(GError **error);
/* The calling thread's role filter on top; -errno on failure. */
int sandbox_seccomp_install_role(enum sandbox_role role);

/* jail.c */
struct sandbox_jail {
	bool namespaces; /* sandbox_prepare made new mount/IPC/UTS namespaces */
	bool user_ns;    /* ... inside a user namespace of ours (not root) */
	bool drop_ids;   /* root: switch to uid/gid below */
	uid_t uid;
	gid_t gid;
};
/* Before threads: new namespaces (as root), else a user namespace where allowed. Returns
 * false with error only for a failure that is not a missing host feature; a missing one is
 * logged and leaves jail->namespaces false. */
bool sandbox_jail_enter_namespaces(struct sandbox_jail *jail, GError **error);
/* After the build: an empty read-only root holding keep_dir (may be NULL) at its own path. */
bool sandbox_jail_pivot(const struct sandbox_jail *jail, const char *keep_dir, GError **error);
/* Empties the calling thread's capability bounding set, which each thread it starts
 * inherits: done while the process has one thread, since a thread can drop only its own
 * (and threads libraries start, llvmpipe's, run none of sepia's code). Effective
 * capabilities stay until sandbox_jail_drop_privileges; sepia-vmm executes nothing. */
void sandbox_jail_drop_bounding_set(void);
/* Drops to jail->uid/gid with no supplementary groups and no capabilities (all threads). */
bool sandbox_jail_drop_privileges(const struct sandbox_jail *jail, GError **error);
/* This thread's capabilities only (threads of a user-namespace jail started before it). */
bool sandbox_jail_drop_thread_capabilities(GError **error);

/* limits.c */
struct sandbox_limits {
	uint64_t data_bytes; /* RLIMIT_DATA; 0: leave it */
	uint64_t files;      /* RLIMIT_NOFILE */
	uint64_t threads;    /* RLIMIT_NPROC; 0: leave it (the uid is shared) */
};
/* Computes the caps from what the built machine holds (read from /proc, so before the
 * pivot) and the configuration. */
bool sandbox_limits_measure(const struct sandbox_machine *machine, bool own_uid, struct sandbox_limits *out,
			    GError **error);
bool sandbox_limits_apply(const struct sandbox_limits *limits, GError **error);
