/* launcher/vmm_jail.c — see vmm_jail.h. */
#include "launcher/vmm_jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/instance.h"

#define NOBODY 65534
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#define FD_SCAN_LIMIT 65536

bool vmm_jail_valid_mode(const char *mode) { return !strcmp(mode, "auto") || !strcmp(mode, "off"); }

bool vmm_jail_wanted(const char *mode) { return geteuid() == 0 && (!mode || strcmp(mode, "off")); }

char *vmm_jail_user_arg(guint num)
{
	struct group *g = getgrnam("cvdnetwork");
	return g_strdup_printf("%u:%u", VMM_JAIL_UID_BASE + num, g ? (unsigned int)g->gr_gid : NOBODY);
}

/* In the child, before exec: async-signal-safe calls only (the monitor may have threads). */
static void child_exec(const char *const *argv, const int *source_fds, const int *target_fds, guint n_fds,
		       int devnull, int out_fd, int report_fd)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	/* Out of the way first: a source may sit on another's target number. */
	int moved[8];
	int top = 3;
	for (guint i = 0; i < n_fds; i++)
		top = MAX(top, target_fds[i] + 1);
	for (guint i = 0; i < n_fds && i < G_N_ELEMENTS(moved); i++)
		moved[i] = fcntl(source_fds[i], F_DUPFD_CLOEXEC, top + 16);
	if (dup2(devnull, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0)
		goto fail;
	for (guint i = 0; i < n_fds && i < G_N_ELEMENTS(moved); i++)
		if (moved[i] < 0 || dup2(moved[i], target_fds[i]) < 0)
			goto fail;
	/* Everything else goes at exec, the report pipe with it. */
	if (syscall(SYS_close_range, (unsigned int)top, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
		for (int fd = top; fd < FD_SCAN_LIMIT; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	execv(argv[0], (char *const *)argv);
fail:;
	int e = errno;
	if (write(report_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

bool vmm_jail_spawn(const char *const *argv, const int *source_fds, const int *target_fds, guint n_fds,
		    GPid *pid, int *stdout_fd, GError **error)
{
	int out[2] = { -1, -1 }, report[2] = { -1, -1 };
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "cannot start %s: %s", argv[0], g_strerror(errno));
		goto fail;
	}
	pid_t child = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0);
	if (child < 0 && errno == EPERM) {
		/* A container that withholds CAP_SYS_ADMIN: the VMM finds it cannot make its other
		 * namespaces either and runs with its uid drop and filters only (devices/sandbox/). */
		g_message("sandbox: %s starts without a PID namespace of its own: %s", argv[0],
			  g_strerror(errno));
		child = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
	}
	if (child == 0)
		child_exec(argv, source_fds, target_fds, n_fds, devnull, out[1], report[1]);
	if (child < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "cannot start %s in a PID namespace of its own: %s",
			    argv[0], g_strerror(errno));
		goto fail;
	}
	close(report[1]);
	report[1] = -1;
	int child_errno = 0;
	ssize_t n;
	do
		n = read(report[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	if (n == sizeof(child_errno)) {
		waitpid(child, NULL, 0);
		g_set_error(error, LAUNCHER_ERROR, child_errno, "cannot run %s: %s", argv[0],
			    g_strerror(child_errno));
		goto fail;
	}
	close(out[1]);
	close(report[0]);
	close(devnull);
	*pid = child;
	*stdout_fd = out[0];
	return true;
fail:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (report[i] >= 0)
			close(report[i]);
	}
	if (devnull >= 0)
		close(devnull);
	return false;
}
