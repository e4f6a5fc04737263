/* sepia guest init: the processes init starts and watches. */
#include "service.h"

#include "logd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* In the child: give the service its own session and its terminal. Returns whether the
 * service has a terminal (its controlling terminal, on fds 0-2). */
static bool service_setup_stdio(const struct service *svc)
{
	int fd;
	bool tty = svc->tty[0] != '\0';

	setsid();
	if (tty) {
		fd = open(svc->tty, O_RDWR | O_NOCTTY);
		if (fd < 0) {
			dprintf(STDERR_FILENO, "sepia-init: %s: cannot open %s: %s\n", svc->name, svc->tty,
				strerror(errno));
			_exit(127);
		}
		/* The controlling terminal gives the shell job control and ^C. */
		ioctl(fd, TIOCSCTTY, 0);
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	} else {
		fd = open("/dev/null", O_RDONLY | O_NOCTTY);
		if (fd >= 0)
			dup2(fd, STDIN_FILENO);
		/* stdout and stderr to logd, which copies them to the console; without logd
		 * they stay init's: the console. */
		if (svc->to_logd) {
			char header[LOGD_TAG_HEADER_MAX];
			snprintf(header, sizeof(header), "I+%.30s", svc->name);
			int log_fd = logd_connect(header, 0);
			if (log_fd >= 0) {
				dup2(log_fd, STDOUT_FILENO);
				dup2(log_fd, STDERR_FILENO);
				close(log_fd);
			}
		}
	}
	if (fd > STDERR_FILENO)
		close(fd);
	return tty;
}

void tty_drain(int fd, unsigned int max_ms)
{
	const struct timespec step = { .tv_sec = 0, .tv_nsec = TTY_DRAIN_STEP_MS * 1000000L };
	for (unsigned int waited = 0; waited < max_ms; waited += TTY_DRAIN_STEP_MS) {
		int queued;
		if (ioctl(fd, TIOCOUTQ, &queued) < 0 || queued <= 0)
			return;
		nanosleep(&step, NULL);
	}
}

static void __attribute__((noreturn)) service_exec(const struct service *svc)
{
	if (svc->run != NULL)
		_exit(svc->run());
	execv(svc->argv[0], (char *const *)svc->argv);
	dprintf(STDERR_FILENO, "sepia-init: %s: cannot run %s: %s\n", svc->name, svc->argv[0],
		strerror(errno));
	_exit(127);
}

/* The session leader of a service on a terminal. When a session leader exits, the kernel
 * hangs up its controlling terminal, and a hangup throws away the output still queued in
 * the tty: the tail of what the service printed last (seen on 2 vCPUs, where the UART
 * sends from another CPU while the writer exits). So the service runs as this process's
 * child, in this session with this controlling terminal (job control and ^C reach it as
 * before), and this process, once the child ended, waits until the terminal sent its
 * output (at most TTY_DRAIN_MS: output stopped by ^S must not hold the service forever),
 * then ends the same way the child did. */
static void __attribute__((noreturn)) service_lead_session(const struct service *svc)
{
	pid_t child = fork();
	int status;

	if (child < 0) {
		dprintf(STDERR_FILENO, "sepia-init: %s: fork: %s; running it as the session leader\n",
			svc->name, strerror(errno));
		service_exec(svc);
	}
	if (child == 0)
		service_exec(svc);
	/* Signals from the terminal are for the service, not for its keeper. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			_exit(127);
	tty_drain(STDOUT_FILENO, TTY_DRAIN_MS);
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		raise(WTERMSIG(status));
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 127);
}

int service_hold_tty(struct service *svc)
{
	if (svc->tty[0] == '\0' || svc->tty_hold >= 0)
		return 0;
	svc->tty_hold = open(svc->tty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	return svc->tty_hold < 0 ? -errno : 0;
}

int service_start(struct service *svc)
{
	sigset_t all;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* init blocks the signals it waits for; services get them back. */
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (service_setup_stdio(svc))
			service_lead_session(svc);
		service_exec(svc);
	}
	svc->pid = pid;
	svc->starts++;
	return 0;
}

struct service *service_by_pid(struct service *services, unsigned int count, pid_t pid)
{
	for (unsigned int i = 0; i < count; i++)
		if (services[i].pid == pid)
			return &services[i];
	return NULL;
}
