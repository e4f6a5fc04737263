/* sepia guest init: PID 1 of sepia's reference guest.
 *
 * It mounts the kernel file systems, reads `sepia.*` options from the kernel
 * command line, starts the guest's services, announces the end of boot with
 * VIRTUAL_DEVICE_BOOT_COMPLETED (the line Cuttlefish's tools wait for), then
 * reaps processes until it is asked to power off or reboot. Signals follow
 * busybox init, so busybox's halt/poweroff/reboot work: SIGUSR1 halt, SIGUSR2
 * poweroff, SIGTERM reboot; SIGINT (ctrl-alt-del) reboots, SIGPWR powers off.
 * With sepia.control=hvcN the host asks for the same through a line protocol
 * on /dev/hvcN (control.c).
 *
 * Everything here runs in guest user mode, which is cheap even on hosts that
 * interpret guest kernel code; the system calls are what cost, so init makes
 * few of them and never polls.
 */
#include "android_dirs.h"
#include "cmdline.h"
#include "control.h"
#include "logd.h"
#include "net.h"
#include "properties.h"
#include "service.h"
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BOOT_COMPLETED_MARKER  "VIRTUAL_DEVICE_BOOT_COMPLETED"
#define SHUTDOWN_GRACE_SECONDS 3
#define SHUTDOWN_DRAIN_MS      5000
#define MAX_SERVICES           12

static struct sepia_options options;
static int log_fd = -1; /* init's own lines to logd (tag "init") */
static struct service services[MAX_SERVICES];
static unsigned int service_count;

/* A line (ending in '\n') to logd, stamped with its time, as it may wait in the socket until
 * logd runs. Never waits (init must not hang on its log): a full socket drops the line. */
static void log_send(const char *line, size_t len)
{
	char out[640];
	struct timespec now;
	int head;

	if (log_fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	head = snprintf(out, sizeof(out), "%lld.%09ld ", (long long)now.tv_sec, now.tv_nsec);
	if (head < 0 || len > sizeof(out) - (size_t)head)
		return;
	memcpy(out + head, line, len);
	if (send(log_fd, out, (size_t)head + len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN) {
		close(log_fd);
		log_fd = -1;
	}
}

/* Formats one line into line (size bytes), cut to fit and ending in '\n'; its length, 0 on error. */
static size_t format_line(char *line, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(line, size - 1, fmt, ap);

	if (n < 0)
		return 0;
	if ((size_t)n >= size - 1)
		n = (int)size - 2;
	line[n++] = '\n';
	return (size_t)n;
}

#define CONSOLE_PREFIX     "sepia-init: "
#define CONSOLE_PREFIX_LEN (sizeof(CONSOLE_PREFIX) - 1)
#define CONSOLE_LINE_MAX   512 /* prefix included */

/* A line for the console and the log. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char out[CONSOLE_LINE_MAX] = CONSOLE_PREFIX;
	char *line = out + CONSOLE_PREFIX_LEN;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = format_line(line, sizeof(out) - CONSOLE_PREFIX_LEN, fmt, ap);
	va_end(ap);
	if (!n)
		return;
	log_send(line, n);
	/* One write per line so lines from several processes do not interleave. */
	if (write(STDOUT_FILENO, out, CONSOLE_PREFIX_LEN + n) < 0)
		return;
}

/* A line for the log alone (logcat's "init" lines), as Android's init logs its
 * services: the console stays as quiet as it was. */
static void log_only(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_only(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	size_t n;

	if (log_fd < 0)
		return;
	va_start(ap, fmt);
	n = format_line(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n)
		log_send(line, n);
}

#define debug(...)                        \
	do {                              \
		if (options.debug)        \
			say(__VA_ARGS__); \
	} while (0)

/* ---- File systems -------------------------------------------------------- */

struct early_mount {
	const char *source, *target, *type;
	unsigned long flags;
	const char *data;
};

static const struct early_mount early_mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666" },
	{ "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
	{ "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
};

static void mount_early_filesystems(void)
{
	for (size_t i = 0; i < sizeof(early_mounts) / sizeof(early_mounts[0]); i++) {
		const struct early_mount *m = &early_mounts[i];

		mkdir(m->target, 0755);
		if (mount(m->source, m->target, m->type, m->flags, m->data) < 0 && errno != EBUSY)
			say("cannot mount %s on %s: %s", m->type, m->target, strerror(errno));
	}
}

/* The kernel gives init /dev/console as fds 0-2 when the initramfs has the
 * node; make sure of it anyway (devtmpfs is mounted by now). */
static void ensure_console_fds(void)
{
	if (fcntl(STDOUT_FILENO, F_GETFD) >= 0 && fcntl(STDERR_FILENO, F_GETFD) >= 0)
		return;
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	for (int target = 0; target <= 2; target++)
		if (fcntl(target, F_GETFD) < 0)
			dup2(fd, target);
	if (fd > 2)
		close(fd);
}

/* ---- Small system set-up -------------------------------------------------- */

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -errno;
	while ((size_t)total < size - 1 && (n = read(fd, buf + total, size - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return (int)total;
}

static void bring_up_loopback(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			say("cannot bring up lo: %s", strerror(errno));
	}
	close(fd);
}

/* The tty behind /dev/console (the last of /sys/class/tty/console/active),
 * so a shell there gets a real controlling terminal. */
static void console_tty(char *path, size_t size)
{
	char active[256];
	char *name;

	snprintf(path, size, "/dev/console");
	if (read_file("/sys/class/tty/console/active", active, sizeof(active)) <= 0)
		return;
	active[strcspn(active, "\n")] = '\0';
	name = strrchr(active, ' ');
	name = name != NULL ? name + 1 : active;
	if (name[0] != '\0')
		snprintf(path, size, "/dev/%.48s", name);
}

static void announce_boot_completed(void)
{
	static const char line[] = BOOT_COMPLETED_MARKER "\n";
	static const char kmsg_line[] = "<6>sepia-init: " BOOT_COMPLETED_MARKER "\n";
	char console[64];
	int fd;

	if (write(STDOUT_FILENO, line, sizeof(line) - 1) < 0)
		debug("cannot write the boot marker to the console: %s", strerror(errno));
	/* The virtio console, when it is not already the console: non-blocking,
	 * since nobody may be reading it on the host. Not when hvc0 is the host's
	 * control channel, which carries only answers to its commands. */
	console_tty(console, sizeof(console));
	if (strcmp(console, "/dev/hvc0") != 0 && strcmp(options.control, "hvc0") != 0 &&
	    strcmp(options.control, "/dev/hvc0") != 0) {
		fd = open("/dev/hvc0", O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, line, sizeof(line) - 1) < 0)
				debug("cannot write the boot marker to hvc0: %s", strerror(errno));
			close(fd);
		}
	}
	/* The kernel log, for whoever watches it (it carries a timestamp). */
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, kmsg_line, sizeof(kmsg_line) - 1) < 0)
			debug("cannot write the boot marker to kmsg: %s", strerror(errno));
		close(fd);
	}
}

/* ---- Services ------------------------------------------------------------- */

static struct service *add_service(const char *name, enum service_exit_action on_exit)
{
	if (service_count == MAX_SERVICES) {
		say("too many services, not starting %s", name);
		return NULL;
	}
	struct service *svc = &services[service_count++];
	memset(svc, 0, sizeof(*svc));
	svc->name = name;
	svc->on_exit = on_exit;
	svc->tty_hold = -1;
	svc->to_logd = log_fd >= 0;
	return svc;
}

static void set_service_tty(struct service *svc, const char *which)
{
	if (strcmp(which, "console") == 0)
		console_tty(svc->tty, sizeof(svc->tty));
	else if (which[0] == '/')
		snprintf(svc->tty, sizeof(svc->tty), "%.60s", which);
	else
		snprintf(svc->tty, sizeof(svc->tty), "/dev/%.48s", which);
}

/* The control tty's path from sepia.control (hvcN or /dev/...). */
static void control_path(char *path, size_t size)
{
	if (options.control[0] == '/')
		snprintf(path, size, "%.60s", options.control);
	else
		snprintf(path, size, "/dev/%.48s", options.control);
}

/* sepia.control: the tty is opened here, in init, before the boot-completed
 * marker, so the host may send its first command as soon as it sees it. */
static void declare_control_service(void)
{
	char path[64];
	struct service *svc;
	int err;

	if (options.control[0] == '\0')
		return;
	control_path(path, sizeof(path));
	err = control_prepare_tty(path);
	if (err < 0) {
		say("control: cannot open %s: %s", path, strerror(-err));
		return;
	}
	if ((svc = add_service("control", SERVICE_EXIT_RESPAWN)))
		svc->run = control_service_run;
}

#define ADBD_PATH      "/sbin/adbd"
#define ADBD_KEYS_PATH "/etc/adb_keys"

/* adbd on vsock port 5555 (the host's adb reaches it through sepia's vsock
 * proxy). The reference guest is built unsecured; an /etc/adb_keys in the
 * image (adbkey.pub lines) turns authentication on. */
static void declare_adbd_service(void)
{
	struct service *svc;
	unsigned int argc = 1;

	if (!options.adbd || access(ADBD_PATH, X_OK) < 0)
		return;
	if (!(svc = add_service("adbd", SERVICE_EXIT_RESPAWN)))
		return;
	svc->argv[0] = ADBD_PATH;
	if (access(ADBD_KEYS_PATH, R_OK) == 0) {
		svc->argv[argc++] = "--keys";
		svc->argv[argc++] = ADBD_KEYS_PATH;
	}
	if (options.debug)
		svc->argv[argc++] = "--verbose";
}

/* sepia.net: static addresses now, DHCP as a udhcpc service per interface (it
 * stays in the foreground to renew the lease; its script applies it). */
static struct net_spec net_specs[SEPIA_MAX_NETS];

static void declare_network(void)
{
	struct service *svc;
	const char *what;
	int err;

	for (unsigned int i = 0; i < options.nr_nets; i++) {
		struct net_spec *spec = &net_specs[i];

		if (net_spec_parse(options.net[i], spec) < 0) {
			say("sepia.net=%s: give IFACE:dhcp or IFACE:ADDR/PREFIX[,gw=GATEWAY]",
			    options.net[i]);
			continue;
		}
		if (!spec->dhcp) {
			err = net_configure_static(spec, &what);
			if (err < 0)
				say("net: %s: cannot set the %s: %s", spec->ifname, what, strerror(-err));
			else
				say("net: %s: %s", spec->ifname, options.net[i] + strlen(spec->ifname) + 1);
			continue;
		}
		if ((err = net_link_up(spec->ifname)) < 0)
			say("net: %s: cannot bring the link up: %s", spec->ifname, strerror(-err));
		if (!(svc = add_service("udhcpc", SERVICE_EXIT_RESPAWN)))
			continue;
		svc->argv[0] = UDHCPC_PATH;
		svc->argv[1] = "-f";
		svc->argv[2] = "-i";
		svc->argv[3] = spec->ifname;
		svc->argv[4] = "-s";
		svc->argv[5] = UDHCPC_SCRIPT;
	}
}

static int run_logd(void) { return logd_service_run(options.logcat); }

/* The guest's long-running services, in start order. */
static void declare_services(void)
{
	struct service *svc;

	/* logd first: the others' output goes to it (init made its socket already). */
	if (log_fd >= 0 && (svc = add_service("logd", SERVICE_EXIT_RESPAWN))) {
		svc->run = run_logd;
		svc->to_logd = false;
	}
	declare_network();
	declare_control_service();
	declare_adbd_service();

	if (options.shell[0] != '\0' && (svc = add_service("shell", SERVICE_EXIT_RESPAWN))) {
		svc->argv[0] = "/bin/sh";
		svc->argv[1] = "-l";
		set_service_tty(svc, options.shell);
		/* Before the boot marker: the host may type as soon as it sees it. */
		int err = service_hold_tty(svc);
		if (err < 0)
			say("shell: cannot open %s: %s", svc->tty, strerror(-err));
	}
}

/* sepia.run: a one-shot command after boot; its end ends the system. */
static void declare_run_command(void)
{
	struct service *svc;
	enum service_exit_action action = options.reboot_after_run ? SERVICE_EXIT_REBOOT
								   : SERVICE_EXIT_POWEROFF;

	if (options.run[0] == '\0' || !(svc = add_service("run", action)))
		return;
	svc->argv[0] = "/bin/sh";
	svc->argv[1] = "-c";
	svc->argv[2] = options.run;
	set_service_tty(svc, "console");
}

static void start_services(unsigned int first)
{
	for (unsigned int i = first; i < service_count; i++) {
		int err = service_start(&services[i]);
		if (err < 0)
			say("cannot start %s: %s", services[i].name, strerror(-err));
		else
			log_only("starting service '%s' (pid %d)", services[i].name, (int)services[i].pid);
	}
}

/* ---- Shutdown ----------------------------------------------------------------- */

/* Waits until no child is left or the deadline passes. */
static void wait_for_children(unsigned int seconds)
{
	sigset_t chld;
	struct timespec timeout = { .tv_sec = seconds, .tv_nsec = 0 };
	struct timespec start, now;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t pid;
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			;
		if (pid < 0 && errno == ECHILD)
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)seconds)
			return;
		sigtimedwait(&chld, NULL, &timeout);
	}
}

/* Makes written data safe: every mount read-only (ext4 disks later), newest
 * first; the initramfs root and virtual file systems just refuse. */
static void remount_all_read_only(void)
{
	char mounts[8192];
	char *targets[128];
	unsigned int count = 0;

	if (read_file("/proc/mounts", mounts, sizeof(mounts)) <= 0)
		return;
	for (char *line = strtok(mounts, "\n"); line != NULL && count < 128; line = strtok(NULL, "\n")) {
		char *target = strchr(line, ' ');
		if (target == NULL)
			continue;
		target++;
		target[strcspn(target, " ")] = '\0';
		targets[count++] = target;
	}
	while (count > 0)
		mount(NULL, targets[--count], NULL, MS_REMOUNT | MS_RDONLY, NULL);
}

static void __attribute__((noreturn)) shut_down(int how)
{
	const char *what = how == RB_POWER_OFF ? "power off" : how == RB_AUTOBOOT ? "reboot" : "halt";
	say("%s: stopping processes", what);
	kill(-1, SIGTERM);
	/* Interactive shells ignore SIGTERM but leave on a hangup. */
	kill(-1, SIGHUP);
	kill(-1, SIGCONT);
	wait_for_children(SHUTDOWN_GRACE_SECONDS);
	kill(-1, SIGKILL);
	wait_for_children(1);
	sync();
	remount_all_read_only();
	sync();
	say("%s", what);
	/* What the services and init printed last may still be queued in the console's tty. */
	tty_drain(STDOUT_FILENO, SHUTDOWN_DRAIN_MS);
	reboot(how);
	/* Only reached if the kernel could not do it (no ACPI poweroff, ...). */
	say("%s failed: %s; halting", what, strerror(errno));
	reboot(RB_HALT_SYSTEM);
	for (;;)
		pause();
}

/* ---- Main loop --------------------------------------------------------------- */

static void handle_exited(pid_t pid, int status)
{
	struct service *svc = service_by_pid(services, service_count, pid);
	struct timespec one_second = { .tv_sec = 1, .tv_nsec = 0 };

	if (svc == NULL)
		return; /* an orphan reparented to init */
	svc->pid = 0;
	svc->last_status = status;
	if (WIFEXITED(status))
		log_only("service '%s' (pid %d) exited with status %d", svc->name, (int)pid,
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_only("service '%s' (pid %d) killed by signal %d", svc->name, (int)pid, WTERMSIG(status));

	switch (svc->on_exit) {
	case SERVICE_EXIT_IGNORE:
		break;
	case SERVICE_EXIT_RESPAWN: {
		/* A service that keeps dying must not spin the (slow) kernel. */
		if (svc->starts > 1)
			nanosleep(&one_second, NULL);
		int err = service_start(svc);
		if (err < 0)
			say("cannot restart %s: %s", svc->name, strerror(-err));
		else
			log_only("restarting service '%s' (pid %d)", svc->name, (int)svc->pid);
		break;
	}
	case SERVICE_EXIT_POWEROFF:
	case SERVICE_EXIT_REBOOT:
		if (WIFEXITED(status))
			say("%s: exit status %d", svc->name, WEXITSTATUS(status));
		else
			say("%s: killed by signal %d", svc->name, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		shut_down(svc->on_exit == SERVICE_EXIT_POWEROFF ? RB_POWER_OFF : RB_AUTOBOOT);
	}
}

#define GPU_PATTERN_PATH            "/bin/gpu-pattern"
#define GPU_PATTERN_DEVICE          "/dev/dri/card0"
#define GPU_PATTERN_TIMEOUT_SECONDS 60

/* sepia.gpu_pattern=1: the display test pattern is on screen before the
 * boot-completed marker, so a host test may look as soon as launch_cvd
 * returns. gpu-pattern returns once its SETCRTC and DIRTYFB are done and leaves
 * a daemon holding the framebuffer; init waits for that return (reaping other
 * children meanwhile), but not forever: a stuck display must not stop the boot. */
static void show_gpu_pattern(void)
{
	struct timespec start, now, wait;
	struct service *svc;
	sigset_t chld;
	int status, err;
	pid_t pid;

	if (!options.gpu_pattern)
		return;
	if (access(GPU_PATTERN_DEVICE, F_OK) < 0) {
		say("gpu-pattern: no %s (no virtio-gpu device?); no test pattern", GPU_PATTERN_DEVICE);
		return;
	}
	if (!(svc = add_service("gpu-pattern", SERVICE_EXIT_IGNORE)))
		return;
	svc->argv[0] = GPU_PATTERN_PATH;
	if ((err = service_start(svc)) < 0) {
		say("cannot start %s: %s", GPU_PATTERN_PATH, strerror(-err));
		return;
	}
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			handle_exited(pid, status);
		if (svc->pid == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= GPU_PATTERN_TIMEOUT_SECONDS) {
			say("gpu-pattern: still running after %d s; booting on without waiting",
			    GPU_PATTERN_TIMEOUT_SECONDS);
			return;
		}
		wait = (struct timespec){ .tv_sec = 1, .tv_nsec = 0 };
		sigtimedwait(&chld, NULL, &wait);
	}
	status = svc->last_status;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		say("gpu-pattern: failed (%s %d); no test pattern",
		    WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

#define BOOT_SNAPSHOT_WAIT_SECONDS 600

/* sepia.boot_snapshot=1: the boot snapshot point (control.h). Everything before
 * it is the same on every launch with the same boot snapshot key (the images,
 * the slot, the machine, the kernel command line); everything per launch
 * (/data, /metadata, the services, the clock's use) comes after it. */
static void boot_snapshot_point(void)
{
	char path[64];
	int err;

	if (!options.boot_snapshot)
		return;
	if (options.control[0] == '\0') {
		say("boot snapshot: no sepia.control channel; no snapshot point");
		return;
	}
	control_path(path, sizeof(path));
	err = control_prepare_tty(path);
	if (err == 0)
		err = control_boot_snapshot_point(BOOT_SNAPSHOT_WAIT_SECONDS);
	if (err < 0)
		say("boot snapshot point on %s: %s; booting on", path, strerror(-err));
	else if (err == CONTROL_RESEED_FAILED)
		say("boot snapshot point passed, but the kernel refused the host's RNG seed "
		    "(RNDADDENTROPY, RNDRESEEDCRNG on /dev/urandom)");
	else
		log_only("boot snapshot point passed");
}

static void warn_unknown_option(const char *key) { say("unknown option sepia.%s ignored", key); }

int main(void)
{
	char cmdline[4096];
	sigset_t handled;
	unsigned int first_run_service;

	if (getpid() != 1) {
		fprintf(stderr, "sepia-init: must run as PID 1 (the guest's /init)\n");
		return 1;
	}

	/* Signals are taken synchronously with sigwaitinfo(): no handlers, no
	 * races between a signal and the wait. */
	sigemptyset(&handled);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig == SIGCHLD || sig == SIGTERM || sig == SIGUSR1 || sig == SIGUSR2 || sig == SIGINT ||
		    sig == SIGPWR || sig == SIGHUP)
			sigaddset(&handled, sig);
	sigprocmask(SIG_BLOCK, &handled, NULL);
	reboot(RB_DISABLE_CAD); /* ctrl-alt-del becomes SIGINT to init */

	mount_early_filesystems();
	ensure_console_fds();
	/* The log's socket before anything logs: init's lines wait in it until logd runs. */
	int err = logd_listen();
	if (err == 0)
		err = logd_connect("I@init", 1);
	if (err < 0)
		say("logd: cannot make %s: %s; no log", LOGD_SOCKET, strerror(-err));
	else
		log_fd = err;
	umask(022);
	if (chdir("/") < 0)
		say("cannot chdir to /: %s", strerror(errno));
	setenv("PATH", "/sbin:/usr/sbin:/bin:/usr/bin", 1);
	setenv("HOME", "/root", 1);
	setenv("SHELL", "/bin/sh", 1);
	setenv("TERM", "linux", 0);

	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = '\0';
	sepia_options_parse(&options, cmdline, warn_unknown_option);
	if (sethostname(options.hostname, strlen(options.hostname)) < 0)
		say("cannot set hostname %s: %s", options.hostname, strerror(errno));
	bring_up_loopback();
	boot_snapshot_point();
	storage_mount_partitions(say);
	properties_load(say);
	/* After /data is mounted, before adbd starts. */
	err = android_dirs_make();
	if (err < 0)
		say("cannot make /data/local/tmp: %s", strerror(-err));

	declare_services();
	start_services(0);
	show_gpu_pattern();
	/* As on Android, where the marker follows sys.boot_completed. */
	if (properties_set("sys.boot_completed", "1") < 0 || properties_set("dev.bootcomplete", "1") < 0)
		say("cannot set sys.boot_completed in %s", PROPERTIES_PATH);
	announce_boot_completed();
	log_only("boot completed (sys.boot_completed=1)");
	first_run_service = service_count;
	declare_run_command();
	start_services(first_run_service);

	for (;;) {
		siginfo_t info;
		int status;
		pid_t pid;

		if (sigwaitinfo(&handled, &info) < 0)
			continue;
		switch (info.si_signo) {
		case SIGCHLD:
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
				handle_exited(pid, status);
			break;
		case SIGUSR1:
			shut_down(RB_HALT_SYSTEM);
		case SIGUSR2:
		case SIGPWR:
			shut_down(RB_POWER_OFF);
		case SIGTERM:
		case SIGINT:
			shut_down(RB_AUTOBOOT);
		default:
			break; /* SIGHUP: nothing to reload yet */
		}
	}
}
