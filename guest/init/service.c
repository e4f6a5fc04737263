/* sepia guest init: the processes init starts and watches. */
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* In the child: give the service its own session and its terminal. */
static void service_setup_stdio(const struct service *svc)
{
	int fd;

	setsid();
	if (svc->tty[0] != '\0') {
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
		/* stdout and stderr stay init's: the console. */
	}
	if (fd > STDERR_FILENO)
		close(fd);
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
		service_setup_stdio(svc);
		if (svc->run != NULL)
			_exit(svc->run());
		execv(svc->argv[0], (char *const *)svc->argv);
		dprintf(STDERR_FILENO, "sepia-init: %s: cannot run %s: %s\n", svc->name, svc->argv[0],
			strerror(errno));
		_exit(127);
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
