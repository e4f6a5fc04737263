/* The monitor's side of the VMM's jail (launcher/vmm_jail.c): the child starts as PID 1 of a
 * PID namespace of its own, and where making one is not permitted (a container that withholds
 * CAP_SYS_ADMIN) it still starts, in the caller's. Needs root (skips otherwise). */
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/vmm_jail.h"

/* Runs `sh -c 'echo $$'` through vmm_jail_spawn and returns the pid it printed, or -1. */
static long spawned_pid(GError **error)
{
	const char *argv[] = { "/bin/sh", "-c", "echo $$", NULL };
	GPid pid;
	int out;
	if (!vmm_jail_spawn(argv, NULL, NULL, 0, &pid, &out, error))
		return -1;
	char buf[32] = "";
	ssize_t n, got = 0;
	while ((n = read(out, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(out);
	int status;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return strtol(buf, NULL, 10);
}

static void test_own_pid_namespace(void)
{
	if (geteuid() != 0) {
		g_test_skip("needs root (a PID namespace)");
		return;
	}
	g_autoptr(GError) err = NULL;
	long pid = spawned_pid(&err);
	if (pid < 0 && err && err->code == EPERM) {
		g_test_skip("this host refuses PID namespaces even to root");
		return;
	}
	g_assert_no_error(err);
	g_assert_cmpint(pid, ==, 1);
}

/* In a child that gave up CAP_SYS_ADMIN, as a container's root has. */
static void test_without_cap_sys_admin(void)
{
	if (geteuid() != 0) {
		g_test_skip("needs root (to give up CAP_SYS_ADMIN)");
		return;
	}
	pid_t child = fork();
	g_assert_cmpint(child, >=, 0);
	if (child == 0) {
		struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct data[2];
		if (syscall(SYS_capget, &hdr, data) < 0)
			_exit(10);
		data[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
		data[CAP_SYS_ADMIN / 32].permitted &= ~(1u << (CAP_SYS_ADMIN % 32));
		if (syscall(SYS_capset, &hdr, data) < 0)
			_exit(11);
		GError *err = NULL;
		long pid = spawned_pid(&err);
		/* Started, and in this PID namespace: its pid is not 1. */
		_exit(pid > 1 ? 0 : 12);
	}
	int status;
	g_assert_cmpint(waitpid(child, &status, 0), ==, child);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vmm-jail/own-pid-namespace", test_own_pid_namespace);
	g_test_add_func("/vmm-jail/without-cap-sys-admin", test_without_cap_sys_admin);
	return g_test_run();
}
