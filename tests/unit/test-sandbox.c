/* Unit tests of sepia-vmm's system-call filters (devices/sandbox/seccomp.c, syscalls.c):
 * each case runs in a child process that installs the real filters, as sepia-vmm's
 * threads do, and makes one call; the parent checks how the child ended and what it wrote
 * on stderr. A call outside a thread's allowlist must end the process by SIGSYS with a
 * line naming the call and the thread; a call inside it must work. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "devices/sandbox/sandbox_internal.h"

#define CHILD_SKIP 77

struct outcome {
	int status; /* from waitpid */
	char *err;  /* what the child wrote on stderr */
};

typedef int (*child_body)(void);

static void outcome_clear(struct outcome *o) { g_free(o->err); }

/* Runs body in a child whose filters are the process-wide one plus role's (none for
 * SANDBOX_ROLE_ANY); mode on or log. */
static struct outcome run_filtered(enum sandbox_role role, enum sandbox_seccomp_mode mode, child_body body)
{
	int err_pipe[2];
	g_assert_cmpint(pipe(err_pipe), ==, 0);
	fflush(NULL);
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		dup2(err_pipe[1], STDERR_FILENO);
		close(err_pipe[0]);
		g_autoptr(GError) error = NULL;
		if (mode != SANDBOX_SECCOMP_OFF &&
		    (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || !sandbox_seccomp_build(mode, -1, &error) ||
		     !sandbox_seccomp_install_process(&error)))
			_exit(CHILD_SKIP);
		if (mode != SANDBOX_SECCOMP_OFF && role != SANDBOX_ROLE_ANY &&
		    sandbox_seccomp_install_role(role) < 0)
			_exit(CHILD_SKIP);
		_exit(body());
	}
	close(err_pipe[1]);
	GString *err = g_string_new(NULL);
	char buf[512];
	ssize_t n;
	while ((n = read(err_pipe[0], buf, sizeof(buf))) > 0)
		g_string_append_len(err, buf, n);
	close(err_pipe[0]);
	struct outcome o = { 0 };
	g_assert_cmpint(waitpid(pid, &o.status, 0), ==, pid);
	o.err = g_string_free(err, FALSE);
	return o;
}

static bool seccomp_available(void)
{
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
		g_test_skip("this kernel has no seccomp");
		return false;
	}
	return true;
}

static void assert_killed_naming(struct outcome *o, const char *role, const char *call, long nr)
{
	if (WIFEXITED(o->status) && WEXITSTATUS(o->status) == CHILD_SKIP) {
		g_test_skip("cannot install seccomp filters here");
		return;
	}
	g_test_message("child: status 0x%x, stderr: %s", o->status, o->err);
	g_assert_true(WIFSIGNALED(o->status));
	g_assert_cmpint(WTERMSIG(o->status), ==, SIGSYS);
	g_autofree char *want = g_strdup_printf("the %s thread called %s (%ld)", role, call, nr);
	g_assert_nonnull(strstr(o->err, want));
	g_assert_nonnull(strstr(o->err, "sepia-vmm: error: seccomp:"));
	/* One line. */
	g_assert_cmpint(strchr(o->err, '\n') - o->err, ==, (long)strlen(o->err) - 1);
}

static void assert_exited(struct outcome *o, int code)
{
	if (WIFEXITED(o->status) && WEXITSTATUS(o->status) == CHILD_SKIP) {
		g_test_skip("cannot install seccomp filters here");
		return;
	}
	g_test_message("child: status 0x%x, stderr: %s", o->status, o->err);
	g_assert_true(WIFEXITED(o->status));
	g_assert_cmpint(WEXITSTATUS(o->status), ==, code);
	g_assert_cmpstr(o->err, ==, "");
}

/* body in a child under role's enforcing filter: expect_runs wants it to exit 0 with nothing on
 * stderr, expect_killed wants SIGSYS and the one line naming who called call (nr). */
static void expect_runs(enum sandbox_role role, child_body body)
{
	struct outcome o = run_filtered(role, SANDBOX_SECCOMP_ON, body);
	assert_exited(&o, 0);
	outcome_clear(&o);
}

static void expect_killed(enum sandbox_role role, child_body body, const char *who, const char *call, long nr)
{
	struct outcome o = run_filtered(role, SANDBOX_SECCOMP_ON, body);
	assert_killed_naming(&o, who, call, nr);
	outcome_clear(&o);
}

/* ---- bodies: each returns its exit status, or dies ---- */

/* What a library's probe of a file meets: ENOENT, and the VMM goes on. */
static int open_fails_enoent(void)
{
	if (syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_CLOEXEC) >= 0 || errno != ENOENT)
		return 3;
	if (syscall(SYS_open, "/", O_RDONLY | O_CLOEXEC) >= 0 || errno != ENOENT)
		return 4;
	return 0;
}

static int exec_program(void)
{
	char *const argv[] = { "true", NULL };
	syscall(SYS_execve, "/bin/true", argv, NULL);
	return 3;
}

static int plain_work(void)
{
	/* What every thread does: memory, time, descriptors. */
	void *p = malloc(1 << 20);
	struct timespec ts;
	int fds[2];
	if (!p || clock_gettime(CLOCK_MONOTONIC, &ts) < 0 || pipe2(fds, O_CLOEXEC) < 0 ||
	    write(fds[1], "x", 1) != 1)
		return 3;
	char c;
	if (read(fds[0], &c, 1) != 1 || c != 'x')
		return 4;
	close(fds[0]);
	close(fds[1]);
	free(p);
	return 0;
}

static int ioctl_unlisted(void)
{
	ioctl(STDIN_FILENO, FIOCLEX);
	return 0;
}

static int ioctl_kvm_run_bad_fd(void)
{
	/* Listed for vCPUs: reaches the kernel, which answers EBADF. */
	return ioctl(-1, KVM_RUN, 0) < 0 && errno == EBADF ? 0 : 3;
}

static int map_executable(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? 3 : 0;
}

static int inet_socket(void) { return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 3; }

static int unix_socket(void) { return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) >= 0 ? 0 : 3; }

static int make_process(void)
{
	/* A new process, not a thread: glibc's fork is clone(SIGCHLD). */
	return syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0) >= 0 ? 0 : 3;
}

static int kill_other(void) { return syscall(SYS_tgkill, 1, 1, 0) == 0 ? 0 : 3; }

static void *thread_makes_inet_socket(void *unused)
{
	socket(AF_INET, SOCK_STREAM, 0);
	return NULL;
}

static int start_thread_that_makes_inet_socket(void)
{
	/* A thread started under the filters (the way llvmpipe's start under the GPU thread). */
	pthread_t t;
	if (pthread_create(&t, NULL, thread_makes_inet_socket, NULL))
		return 3;
	pthread_join(t, NULL);
	return 0;
}

/* ---- tests ---- */

static void test_vcpu_exec_kills(void)
{
	if (!seccomp_available())
		return;
	expect_killed(SANDBOX_ROLE_VCPU, exec_program, "vCPU", "execve", SYS_execve);
}

static void test_open_fails_without_stopping(void)
{
	if (!seccomp_available())
		return;
	for (int role = 0; role < SANDBOX_NR_ROLES; role++)
		expect_runs(role, open_fails_enoent);
}

static void test_roles_allow_their_work(void)
{
	if (!seccomp_available())
		return;
	for (int role = 0; role < SANDBOX_NR_ROLES; role++)
		expect_runs(role, plain_work);
}

static void test_ioctl_by_request(void)
{
	if (!seccomp_available())
		return;
	expect_runs(SANDBOX_ROLE_VCPU, ioctl_kvm_run_bad_fd);
	expect_killed(SANDBOX_ROLE_VCPU, ioctl_unlisted, "vCPU", "ioctl", SYS_ioctl);
	/* KVM_RUN is a vCPU's, not the I/O thread's. */
	expect_killed(SANDBOX_ROLE_IO, ioctl_kvm_run_bad_fd, "I/O", "ioctl", SYS_ioctl);
}

static void test_no_executable_memory_outside_gpu(void)
{
	if (!seccomp_available())
		return;
	expect_killed(SANDBOX_ROLE_IO, map_executable, "I/O", "mmap", SYS_mmap);
	expect_runs(SANDBOX_ROLE_GPU, map_executable);
}

static void test_sockets_unix_only(void)
{
	if (!seccomp_available())
		return;
	expect_runs(SANDBOX_ROLE_IO, unix_socket);
	expect_killed(SANDBOX_ROLE_IO, inet_socket, "I/O", "socket", SYS_socket);
}

static void test_no_new_process(void)
{
	if (!seccomp_available())
		return;
	/* Not even under the process-wide filter, which lets threads be made. */
	expect_killed(SANDBOX_ROLE_ANY, make_process, "main", "clone", SYS_clone);
	expect_killed(SANDBOX_ROLE_MAIN, kill_other, "main", "tgkill", SYS_tgkill);
}

static void test_threads_inherit_filters(void)
{
	if (!seccomp_available())
		return;
	expect_killed(SANDBOX_ROLE_ANY, start_thread_that_makes_inet_socket, "library", "socket", SYS_socket);
}

static void test_log_mode_lets_calls_run(void)
{
	if (!seccomp_available())
		return;
	struct outcome o = run_filtered(SANDBOX_ROLE_VCPU, SANDBOX_SECCOMP_LOG, inet_socket);
	assert_exited(&o, 0);
	outcome_clear(&o);
}

/* ---- the jail (root only) ---- */

static const char *jail_kept;
static int thread_sees_jail;
static int pivoted[2]; /* a pipe: written once the pivot is done */

static void *thread_looks(void *unused)
{
	/* A thread started before the pivot (virtio-gpu's) lands in the jail with the rest. It
	 * looks once told the pivot is done (no fixed wait, which a loaded host could outlast). */
	char c;
	while (read(pivoted[0], &c, 1) < 0 && errno == EINTR)
		;
	thread_sees_jail = access("/etc", F_OK) < 0 && access(jail_kept, F_OK) == 0;
	return NULL;
}

static int jail_child(void)
{
	struct sandbox_jail jail = { .uid = 65534, .gid = 65534 };
	g_autoptr(GError) error = NULL;
	if (!sandbox_jail_enter_namespaces(&jail, &error) || !jail.namespaces)
		return CHILD_SKIP;
	pthread_t t;
	if (pipe(pivoted) < 0 || pthread_create(&t, NULL, thread_looks, NULL))
		return 3;
	if (!sandbox_jail_pivot(&jail, jail_kept, &error)) {
		fprintf(stderr, "%s\n", error->message);
		return 4;
	}
	if (write(pivoted[1], "p", 1) != 1)
		return 3;
	if (!sandbox_jail_drop_privileges(&jail, &error)) {
		fprintf(stderr, "%s\n", error->message);
		return 5;
	}
	pthread_join(t, NULL);
	/* The root holds the way to the kept directory and nothing else; it is read-only. */
	g_autoptr(GDir) root = g_dir_open("/", 0, NULL);
	const char *first = root ? g_dir_read_name(root) : NULL;
	g_autofree char *want = g_strndup(jail_kept + 1, strcspn(jail_kept + 1, "/"));
	if (!first || strcmp(first, want) || g_dir_read_name(root))
		return 6;
	g_autofree char *probe = g_build_filename(jail_kept, "sock", NULL);
	if (access(probe, F_OK) < 0 || mkdir("/new", 0755) == 0 || errno != EROFS)
		return 7;
	if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534 || setuid(0) == 0)
		return 8;
	return thread_sees_jail ? 0 : 9;
}

static void test_jail(void)
{
	if (geteuid() != 0) {
		g_test_skip("the jail is made as root");
		return;
	}
	g_autofree char *dir = g_dir_make_tmp("sepia-jail-XXXXXX", NULL);
	g_assert_nonnull(dir);
	/* The jail's uid needs to reach into it, as into an instance directory. */
	g_assert_cmpint(chmod(dir, 0755), ==, 0);
	g_autofree char *probe = g_build_filename(dir, "sock", NULL);
	g_assert_true(g_file_set_contents(probe, "", 0, NULL));
	jail_kept = dir;
	struct outcome o = run_filtered(SANDBOX_ROLE_ANY, SANDBOX_SECCOMP_OFF, jail_child);
	unlink(probe);
	rmdir(dir);
	if (WIFEXITED(o.status) && WEXITSTATUS(o.status) == CHILD_SKIP)
		g_test_skip("no mount namespace here");
	else
		assert_exited(&o, 0);
	outcome_clear(&o);
}

/* Not root: a user namespace of its own, where the host allows one, with the same pivot
 * into an empty read-only root; the uid stays the caller's (mapped to itself), and no
 * capability of that namespace is left. As root, the child first becomes 65534. */
static int user_jail_child(void)
{
	if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
			       setresuid(65534, 65534, 65534) < 0))
		return 3;
	/* A change of uid leaves a process not dumpable, its /proc files root's; a user that
	 * starts sepia-vmm itself has them. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	uid_t uid = getuid();
	gid_t gid = getgid();
	struct sandbox_jail jail = { .uid = 65534, .gid = 65534 };
	g_autoptr(GError) error = NULL;
	if (!sandbox_jail_enter_namespaces(&jail, &error)) {
		fprintf(stderr, "%s\n", error->message);
		return 4;
	}
	if (!jail.user_ns)
		return CHILD_SKIP;
	if (!jail.namespaces || jail.drop_ids)
		return 5;
	if (!sandbox_jail_pivot(&jail, jail_kept, &error) || !sandbox_jail_drop_privileges(&jail, &error)) {
		fprintf(stderr, "%s\n", error->message);
		return 6;
	}
	g_autoptr(GDir) root = g_dir_open("/", 0, NULL);
	const char *first = root ? g_dir_read_name(root) : NULL;
	g_autofree char *want = g_strndup(jail_kept + 1, strcspn(jail_kept + 1, "/"));
	if (!first || strcmp(first, want) || g_dir_read_name(root) || access("/etc", F_OK) == 0)
		return 7;
	g_autofree char *probe = g_build_filename(jail_kept, "sock", NULL);
	if (access(probe, F_OK) < 0 || mkdir("/new", 0755) == 0 || errno != EROFS)
		return 8;
	if (getuid() != uid || getgid() != gid)
		return 9;
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
	if (syscall(SYS_capget, &hdr, caps) < 0)
		return 10;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (caps[i].effective || caps[i].permitted || caps[i].inheritable)
			return 11;
	return 0;
}

static void test_user_namespace_jail(void)
{
	g_autofree char *dir = g_dir_make_tmp("sepia-userjail-XXXXXX", NULL);
	g_assert_nonnull(dir);
	/* Reachable by uid 65534, which the child becomes when the test runs as root. */
	g_assert_cmpint(chmod(dir, 0755), ==, 0);
	g_autofree char *probe = g_build_filename(dir, "sock", NULL);
	g_assert_true(g_file_set_contents(probe, "", 0, NULL));
	jail_kept = dir;
	struct outcome o = run_filtered(SANDBOX_ROLE_ANY, SANDBOX_SECCOMP_OFF, user_jail_child);
	unlink(probe);
	rmdir(dir);
	if (WIFEXITED(o.status) && WEXITSTATUS(o.status) == CHILD_SKIP)
		g_test_skip("this host allows no user namespace to an unprivileged uid");
	else
		assert_exited(&o, 0);
	outcome_clear(&o);
}

/* A host whose policy hands out user namespaces but lets them mount nothing (AppArmor's
 * restriction of unprivileged user namespaces), made here by a filter answering mount
 * with EPERM: sepia-vmm runs without a jail, as on a host with no user namespaces,
 * instead of failing to start. */
static int no_mount_child(void)
{
	if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
			       setresuid(65534, 65534, 65534) < 0))
		return 3;
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mount, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = G_N_ELEMENTS(insns), .filter = insns };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return CHILD_SKIP;
	struct sandbox_jail jail = { .uid = 65534, .gid = 65534 };
	g_autoptr(GError) error = NULL;
	if (!sandbox_jail_enter_namespaces(&jail, &error)) {
		fprintf(stderr, "%s\n", error->message);
		return 4;
	}
	if (!jail.user_ns)
		return CHILD_SKIP;
	return jail.namespaces ? 5 : 0;
}

static void test_user_namespace_without_mounts(void)
{
	struct outcome o = run_filtered(SANDBOX_ROLE_ANY, SANDBOX_SECCOMP_OFF, no_mount_child);
	g_test_message("child: status 0x%x, stderr: %s", o.status, o.err);
	if (WIFEXITED(o.status) && WEXITSTATUS(o.status) == CHILD_SKIP)
		g_test_skip("this host allows no user namespace (or no seccomp) to an unprivileged uid");
	else {
		g_assert_true(WIFEXITED(o.status));
		g_assert_cmpint(WEXITSTATUS(o.status), ==, 0);
	}
	outcome_clear(&o);
}

static void *thread_reads_bounding_set(void *unused)
{
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap) >= 0; cap++)
		if (prctl(PR_CAPBSET_READ, cap) == 1)
			return GINT_TO_POINTER(cap + 1);
	return NULL;
}

/* As root, sepia-vmm empties its capability bounding set at the start, while it has one
 * thread, so that the threads it starts while building the machine (virtio-gpu's) and the
 * threads those start (llvmpipe's, which run none of sepia's code) hold none either. */
static int prepare_child(void)
{
	g_autoptr(GError) error = NULL;
	if (!sandbox_prepare(&error)) {
		fprintf(stderr, "%s\n", error->message);
		return 3;
	}
	pthread_t t;
	void *held = NULL;
	if (pthread_create(&t, NULL, thread_reads_bounding_set, NULL) || pthread_join(t, &held))
		return 4;
	if (held)
		fprintf(stderr,
			"a thread started after sandbox_prepare holds capability %d in its bounding set\n",
			GPOINTER_TO_INT(held) - 1);
	return held ? 5 : 0;
}

static void test_threads_start_without_bounding_set(void)
{
	if (geteuid() != 0) {
		g_test_skip("a bounding set to drop is root's");
		return;
	}
	struct outcome o = run_filtered(SANDBOX_ROLE_ANY, SANDBOX_SECCOMP_OFF, prepare_child);
	g_test_message("child: status 0x%x, stderr: %s", o.status, o.err);
	g_assert_true(WIFEXITED(o.status));
	g_assert_cmpint(WEXITSTATUS(o.status), ==, 0);
	outcome_clear(&o);
}

/* Every name in the tables is a system call libseccomp knows (a typo would stop the VMM
 * at its lock-down). */
static void test_tables_resolve(void)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(sandbox_seccomp_build(SANDBOX_SECCOMP_ON, -1, &error));
	g_assert_no_error(error);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sandbox/tables-resolve", test_tables_resolve);
	g_test_add_func("/sandbox/vcpu-exec-kills", test_vcpu_exec_kills);
	g_test_add_func("/sandbox/open-fails-without-stopping", test_open_fails_without_stopping);
	g_test_add_func("/sandbox/roles-allow-their-work", test_roles_allow_their_work);
	g_test_add_func("/sandbox/ioctl-by-request", test_ioctl_by_request);
	g_test_add_func("/sandbox/no-executable-memory-outside-gpu", test_no_executable_memory_outside_gpu);
	g_test_add_func("/sandbox/sockets-unix-only", test_sockets_unix_only);
	g_test_add_func("/sandbox/no-new-process", test_no_new_process);
	g_test_add_func("/sandbox/threads-inherit-filters", test_threads_inherit_filters);
	g_test_add_func("/sandbox/log-mode-lets-calls-run", test_log_mode_lets_calls_run);
	g_test_add_func("/sandbox/jail", test_jail);
	g_test_add_func("/sandbox/user-namespace-jail", test_user_namespace_jail);
	g_test_add_func("/sandbox/user-namespace-without-mounts", test_user_namespace_without_mounts);
	g_test_add_func("/sandbox/threads-start-without-bounding-set",
			test_threads_start_without_bounding_set);
	return g_test_run();
}
