/* sepia adbd: the processes behind streams (shell, exec, sync, reboot). */
#include "adbd.h"
#include "forward.h"
#include "sync_service.h"

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#define SHELL_PATH "/bin/sh"
#define AID_SHELL  2000 /* Android's shell user and group, what a non-root adbd runs as */

static bool children_nonroot;

void stream_close_input(struct stream *st)
{
	if (st->fd_in < 0)
		return;
	if (st->fd_in == st->fd_out)
		shutdown(st->fd_in, SHUT_WR); /* a socket: half-close; a pty: no-op */
	else
		close(st->fd_in);
	st->fd_in = -1;
}

void stream_close_output(struct stream *st, int *which)
{
	int fd = *which;

	if (fd < 0)
		return;
	if (fd == st->fd_in)
		st->fd_in = -1;
	close(fd);
	*which = -1;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* In a child: signals as a fresh process has them. */
static void child_reset_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	/* After `adb unroot`: as a userdebug adbd that dropped root, the user is shell. */
	if (children_nonroot && (setgroups(0, NULL) < 0 || setgid(AID_SHELL) < 0 || setuid(AID_SHELL) < 0)) {
		dprintf(STDERR_FILENO, "adbd: cannot become the shell user: %s\n", strerror(errno));
		_exit(126);
	}
}

/* In a child: the descriptors of every other stream and connection go. */
static void child_close_other_fds(int keep)
{
	if (keep > 3)
		close_range(3, (unsigned int)keep - 1, 0);
	close_range((unsigned int)(keep < 3 ? 3 : keep + 1), ~0u, 0);
}

static void exec_shell(const struct adb_service_request *req, bool pty)
{
	const char *term = req->term[0] != '\0' ? req->term : (pty ? "xterm" : "dumb");

	setenv("TERM", term, 1);
	if (getenv("PATH") == NULL)
		setenv("PATH", "/sbin:/bin:/usr/sbin:/usr/bin", 1);
	if (getenv("HOME") == NULL)
		setenv("HOME", "/", 1);
	if (chdir("/") < 0)
		_exit(126);
	if (req->arg[0] == '\0')
		execl(SHELL_PATH, "-sh", (char *)NULL); /* a login shell reads /etc/profile */
	else
		execl(SHELL_PATH, "sh", "-c", req->arg, (char *)NULL);
	dprintf(STDERR_FILENO, "adbd: cannot run %s: %s\n", SHELL_PATH, strerror(errno));
	_exit(127);
}

static int spawn_pty_shell(struct stream *st, const struct adb_service_request *req)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	char *slave_name;
	pid_t pid;

	if (master < 0)
		return -errno;
	if (grantpt(master) < 0 || unlockpt(master) < 0 || (slave_name = ptsname(master)) == NULL) {
		int err = errno;
		close(master);
		return -err;
	}
	pid = fork();
	if (pid < 0) {
		int err = errno;
		close(master);
		return -err;
	}
	if (pid == 0) {
		child_reset_signals();
		setsid();
		int slave = open(slave_name, O_RDWR);
		if (slave < 0)
			_exit(126);
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, STDIN_FILENO);
		dup2(slave, STDOUT_FILENO);
		dup2(slave, STDERR_FILENO);
		child_close_other_fds(-1);
		exec_shell(req, true);
	}
	set_nonblock(master);
	st->pty = true;
	st->fd_in = st->fd_out = master;
	st->fd_err = -1;
	st->pid = pid;
	return 0;
}

/* Shell v2 without a tty: three pipes, so stderr stays apart. */
static int spawn_pipe_shell(struct stream *st, const struct adb_service_request *req)
{
	int in[2], out[2], err_pipe[2];
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(out, O_CLOEXEC) < 0) {
		int e = errno;
		close(in[0]), close(in[1]);
		return -e;
	}
	if (pipe2(err_pipe, O_CLOEXEC) < 0) {
		int e = errno;
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		return -e;
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		close(err_pipe[0]), close(err_pipe[1]);
		return -e;
	}
	if (pid == 0) {
		child_reset_signals();
		setsid();
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(err_pipe[1], STDERR_FILENO);
		child_close_other_fds(-1);
		exec_shell(req, false);
	}
	close(in[0]);
	close(out[1]);
	close(err_pipe[1]);
	/* Bigger pipes, bigger WRTEs: fewer round trips for each OKAY. Best effort. */
	fcntl(out[0], F_SETPIPE_SZ, 1024 * 1024);
	fcntl(in[1], F_SETPIPE_SZ, 1024 * 1024);
	set_nonblock(in[1]);
	set_nonblock(out[0]);
	set_nonblock(err_pipe[0]);
	st->fd_in = in[1];
	st->fd_out = out[0];
	st->fd_err = err_pipe[0];
	st->pid = pid;
	return 0;
}

/* A child's socket holds a whole message each way (push and pull move the data through it):
 * fewer wake-ups of adbd and the child per message. The kernel's caps (wmem_max) do not bind
 * root; as another user the defaults stay. */
static void socket_buffers(const int sv[2], uint32_t size)
{
	int n = (int)size;

	for (int i = 0; i < 2 && n > 0; i++) {
		if (setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &n, sizeof(n)) < 0)
			setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
		if (setsockopt(sv[i], SOL_SOCKET, SO_RCVBUFFORCE, &n, sizeof(n)) < 0)
			setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
	}
}

/* One socket for stdin and stdout (stderr joins stdout): the raw shell:,
 * exec: and the services run in-process after fork (sync, reboot). */
static int spawn_socket_child(struct stream *st, const struct adb_service_request *req,
			      int (*run)(int fd, bool verbose), const struct adbd_options *opts)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	socket_buffers(sv, opts->sock_buffer);
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]), close(sv[1]);
		return -e;
	}
	if (pid == 0) {
		child_reset_signals();
		setsid();
		if (run != NULL) {
			child_close_other_fds(sv[1]);
			_exit(run(sv[1], opts->verbose));
		}
		dup2(sv[1], STDIN_FILENO);
		dup2(sv[1], STDOUT_FILENO);
		dup2(sv[1], STDERR_FILENO);
		child_close_other_fds(-1);
		exec_shell(req, false);
	}
	close(sv[1]);
	set_nonblock(sv[0]);
	st->fd_in = st->fd_out = sv[0];
	st->fd_err = -1;
	st->pid = pid;
	return 0;
}

static int reboot_run(int fd, bool verbose)
{
	(void)fd;
	(void)verbose;
	sync();
	/* busybox's reboot signals PID 1 (SIGTERM), which sepia's init takes as reboot. */
	execlp("reboot", "reboot", (char *)NULL);
	return kill(1, SIGTERM) == 0 ? 0 : 1;
}

/* A fixed answer (reverse:, root:, unroot:): the bytes wait in a pipe the stream reads to its
 * end; what the client sends is dropped. */
static int stream_reply(struct stream *st, const void *data, size_t len)
{
	int p[2];

	if (len > 65536)
		return -EMSGSIZE; /* more than a pipe holds without a reader */
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	fcntl(p[1], F_SETPIPE_SZ, 65536);
	if (write(p[1], data, len) != (ssize_t)len) {
		int e = errno ? errno : EIO;
		close(p[0]), close(p[1]);
		return -e;
	}
	close(p[1]);
	st->fd_in = st->fd_err = -1;
	st->fd_out = p[0];
	return 0;
}

/* adb root / adb unroot, answered as a userdebug adbd answers them. adbd itself stays root (it
 * must serve both); the choice applies to the processes it starts from now on. A real adbd
 * restarts, and the client waits for the device to go away: this one ends every connection once
 * the answer is out (st->restart_after), and the adb server connects again. */
static int root_service(struct stream *st, bool want_root, struct adbd_options *opts)
{
	const char *answer;

	if (want_root == !opts->nonroot) {
		answer = want_root ? "adbd is already running as root\n" : "adbd not running as root\n";
		return stream_reply(st, answer, strlen(answer));
	}
	answer = want_root ? "restarting adbd as root\n" : "restarting adbd as non root\n";
	int err = stream_reply(st, answer, strlen(answer));
	if (err < 0)
		return err;
	opts->nonroot = !want_root;
	children_nonroot = opts->nonroot;
	st->restart_after = true;
	return 0;
}

int service_spawn(struct stream *st, const struct adb_service_request *req, struct adbd_options *opts)
{
	bool pty;
	char *reply;
	size_t len;
	int err;

	switch (req->kind) {
	case ADB_SERVICE_TCP:
		return forward_connect(st, req->arg);
	case ADB_SERVICE_REVERSE:
		if ((err = reverse_request(st->conn, req->arg, &reply, &len)) < 0)
			return err;
		err = stream_reply(st, reply, len);
		free(reply);
		return err;
	case ADB_SERVICE_ROOT:
	case ADB_SERVICE_UNROOT:
		return root_service(st, req->kind == ADB_SERVICE_ROOT, opts);
	case ADB_SERVICE_SYNC:
		return spawn_socket_child(st, req, sync_service_run, opts);
	case ADB_SERVICE_REBOOT:
		if (!opts->allow_reboot)
			return -EPERM;
		return spawn_socket_child(st, req, reboot_run, opts);
	case ADB_SERVICE_EXEC:
		return spawn_socket_child(st, req, NULL, opts);
	case ADB_SERVICE_SHELL:
		pty = req->tty == SHELL_TTY_PTY || (req->tty == SHELL_TTY_DEFAULT && req->arg[0] == '\0');
		st->v2 = req->shell_v2;
		if (pty)
			return spawn_pty_shell(st, req);
		if (req->shell_v2)
			return spawn_pipe_shell(st, req);
		return spawn_socket_child(st, req, NULL, opts);
	default:
		return -ENOENT;
	}
}
