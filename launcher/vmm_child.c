/* launcher/vmm_child.c — see vmm_child.h. */
#include "launcher/vmm_child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>

#include "launcher/capped_log.h"
#include "launcher/instance.h"
#include "launcher/vmm_jail.h"

/* One output stream of the guest read by the monitor: the 8250 (the VMM's stdout), the
 * kernel console hvc0, or logcat's hvc2 (see the console layout in vmm_child.h). */
typedef struct {
	VmmChild *c;
	const char *what; /* for messages: "serial", "hvc0", "hvc2" */
	CappedLog *log;   /* kernel.log (shared by serial and hvc0) or logcat; not owned */
	const char *log_name;
	bool scan; /* looked through for the boot markers */
	int fd;    /* -1: none */
	guint src;
	GString *line; /* the current line, for the marker scan */
} GuestStream;

struct VmmChild {
	const VmmChildEvents *events;
	void *opaque;
	char *name;
	pid_t pid;
	bool running; /* until the exit is reaped */
	gint64 started_us;
	GuestStream serial, kconsole, logcat;
	int control_fd; /* our end of the control socketpair */
	CappedLog *kernel_log, *logcat_log;
	int pty_master, pty_slave; /* -1 without a console */
	guint control_src, child_src;
	GString *control_line;
	bool marker_seen;
	bool kernel_log_failed, logcat_log_failed;
	char *api_socket;
	guint restore_src;      /* polls the API socket until a restored VMM runs */
	bool restore_continues; /* a boot snapshot's restore: "continue", then wait for the marker */
};

/* The guest console's lines, scanned for the markers. */
static void stream_scan(GuestStream *st, const char *buf, gssize n)
{
	VmmChild *c = st->c;
	for (gssize i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (st->line->len < 4096)
				g_string_append_c(st->line, buf[i]);
			continue;
		}
		if (!c->marker_seen && strstr(st->line->str, VMM_MARKER_COMPLETED)) {
			c->marker_seen = true;
			c->events->booted(c->opaque);
		} else if (strstr(st->line->str, VMM_MARKER_FAILED)) {
			c->events->boot_failed(c->opaque, st->line->str);
		}
		g_string_truncate(st->line, 0);
	}
}

/* Into its log, within the cap; a rotation and a failed write are logged once each. */
static void stream_log_append(GuestStream *st, const char *buf, gssize n)
{
	VmmChild *c = st->c;
	bool *failed = st->log == c->logcat_log ? &c->logcat_log_failed : &c->kernel_log_failed;
	guint rotations = capped_log_rotations(st->log);
	g_autoptr(GError) err = NULL;
	if (!capped_log_write(st->log, buf, (size_t)n, &err) && !*failed) {
		launcher_log(c->name, "guest %s: %s", st->what, err->message);
		*failed = true;
	}
	if (capped_log_rotations(st->log) != rotations)
		launcher_log(c->name, "guest %s: %s reached its cap; the part before is %s.1", st->what,
			     st->log_name, st->log_name);
}

/* Reads what is there, up to 256 KiB so that a guest that never stops writing cannot keep the
 * monitor's loop from its other work (the main loop calls again); false at end of file. */
static bool stream_drain(GuestStream *st)
{
	char buf[16384];
	for (guint reads = 0; reads < 16; reads++) {
		ssize_t n = read(st->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		stream_log_append(st, buf, n);
		if (st->scan)
			stream_scan(st, buf, n);
	}
	return true;
}

static gboolean on_stream(gint fd, GIOCondition cond, gpointer data)
{
	GuestStream *st = data;
	if (stream_drain(st))
		return G_SOURCE_CONTINUE;
	st->src = 0;
	return G_SOURCE_REMOVE;
}

/* The guest init's answers on the control channel ("ok poweroff"), logged. */
static gboolean on_control(gint fd, GIOCondition cond, gpointer data)
{
	VmmChild *c = data;
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		c->control_src = 0;
		return G_SOURCE_REMOVE;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || c->control_line->len >= 256) {
			if (!strcmp(c->control_line->str, "snapshot-point")) {
				if (!c->events->snapshot_point)
					vmm_child_continue_boot(c);
				else
					c->events->snapshot_point(c->opaque);
			} else if (c->control_line->len) {
				launcher_log(c->name, "guest control channel: %s", c->control_line->str);
			}
			g_string_truncate(c->control_line, 0);
		} else if (buf[i] != '\r') {
			g_string_append_c(c->control_line, buf[i]);
		}
	}
	return G_SOURCE_CONTINUE;
}

static void on_child_exit(GPid pid, gint status, gpointer data)
{
	VmmChild *c = data;
	c->child_src = 0;
	c->running = false;
	/* The pipe and sockets hold what the VMM sent last; they end at EOF now that it is gone. */
	GuestStream *streams[] = { &c->serial, &c->kconsole, &c->logcat };
	for (guint i = 0; i < G_N_ELEMENTS(streams); i++) {
		if (streams[i]->fd < 0)
			continue;
		int flags = fcntl(streams[i]->fd, F_GETFL);
		fcntl(streams[i]->fd, F_SETFL, flags & ~O_NONBLOCK);
		while (stream_drain(streams[i]))
			;
	}
	g_spawn_close_pid(pid);
	c->events->exited(c->opaque, status);
}

static bool open_console_pty(VmmChild *c, const char *link, GError **error)
{
	/* Non-blocking: the VMM writes the guest's console to it and must not wait for a reader. */
	c->pty_master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (c->pty_master < 0 || grantpt(c->pty_master) < 0 || unlockpt(c->pty_master) < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "%s: cannot make a console pty: %s", c->name,
			    g_strerror(errno));
		return false;
	}
	const char *slave = ptsname(c->pty_master);
	/* The monitor holds the slave open so that the VMM's side never sees a hang-up while no
     * one is attached; raw mode, because the guest's shell echoes for itself. */
	c->pty_slave = slave ? open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
	if (c->pty_slave < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "%s: cannot open the console pty: %s", c->name,
			    g_strerror(errno));
		return false;
	}
	struct termios t;
	if (tcgetattr(c->pty_slave, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(c->pty_slave, TCSANOW, &t);
	}
	if (!launcher_replace_symlink(link, slave, error)) {
		g_prefix_error(error, "%s: ", c->name);
		return false;
	}
	launcher_log(c->name, "console: %s -> %s", link, slave);
	return true;
}

/* ---- sepia-vmm's API socket */

#define RESTORE_POLL_MS 50

static int api_connect(const char *path, GError **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(error, LAUNCHER_ERROR, ENAMETOOLONG, "%s: the path is too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	g_set_error(error, LAUNCHER_ERROR, errno, "%s: cannot connect: %s", path, g_strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

bool vmm_child_api(VmmChild *c, const char *command, int timeout_ms, GError **error)
{
	return vmm_child_api_fds(c, command, NULL, 0, timeout_ms, error);
}

/* The command's bytes, with the descriptors (SCM_RIGHTS) in the same message. */
static bool api_send(int fd, const char *line, const int *fds, unsigned int n_fds)
{
	struct iovec iov = { .iov_base = (void *)line, .iov_len = strlen(line) };
	union {
		struct cmsghdr align;
		char bytes[CMSG_SPACE(sizeof(int) * VMM_CHILD_API_FDS_MAX)];
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n_fds) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.bytes;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	return sendmsg(fd, &msg, MSG_NOSIGNAL) == (ssize_t)iov.iov_len;
}

bool vmm_child_api_fds(VmmChild *c, const char *command, const int *fds, unsigned int n_fds, int timeout_ms,
		       GError **error)
{
	g_return_val_if_fail(n_fds <= VMM_CHILD_API_FDS_MAX, false);
	if (!c->running) {
		g_set_error(error, LAUNCHER_ERROR, ENOTCONN, "%s: sepia-vmm is not running", c->name);
		return false;
	}
	if (!c->api_socket) {
		g_set_error(error, LAUNCHER_ERROR, ENOTSUP,
			    "%s: sepia-vmm runs without its API socket (its path was too long): suspend, "
			    "resume and snapshots need a shorter instance directory",
			    c->name);
		return false;
	}
	int fd = api_connect(c->api_socket, error);
	if (fd < 0) {
		g_prefix_error(error, "%s: sepia-vmm's API socket: ", c->name);
		return false;
	}
	g_autofree char *line = g_strdup_printf("%s\n", command);
	g_autoptr(GString) answer = g_string_new(NULL);
	bool sent = api_send(fd, line, fds, n_fds);
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	while (sent && !strchr(answer->str, '\n')) {
		int left = (int)((deadline - g_get_monotonic_time()) / 1000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		char buf[512];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		g_string_append_len(answer, buf, n);
	}
	close(fd);
	char *nl = strchr(answer->str, '\n');
	if (!nl) {
		g_set_error(error, LAUNCHER_ERROR, ETIMEDOUT,
			    "%s: sepia-vmm did not answer '%s' within %d ms", c->name, command, timeout_ms);
		return false;
	}
	*nl = '\0';
	if (g_str_has_prefix(answer->str, "ok"))
		return true;
	g_set_error(error, LAUNCHER_ERROR, EIO, "%s: sepia-vmm: %s", c->name,
		    g_str_has_prefix(answer->str, "error ") ? answer->str + 6 : answer->str);
	return false;
}

/* A restored guest prints no boot marker: it is up once the VMM answers on its API socket,
 * which it serves from when its vCPUs run. */
static gboolean on_restore_poll(gpointer data)
{
	VmmChild *c = data;
	if (!c->running) {
		c->restore_src = 0;
		return G_SOURCE_REMOVE;
	}
	int fd = api_connect(c->api_socket, NULL);
	if (fd < 0)
		return G_SOURCE_CONTINUE;
	close(fd);
	if (!vmm_child_api(c, "status", 1000, NULL))
		return G_SOURCE_CONTINUE;
	c->restore_src = 0;
	if (c->restore_continues) {
		/* The guest waits at the boot snapshot point; the marker follows its boot. */
		if (!vmm_child_continue_boot(c))
			launcher_log(c->name, "cannot send 'continue' to the guest: %s", g_strerror(errno));
		return G_SOURCE_REMOVE;
	}
	c->marker_seen = true;
	c->events->booted(c->opaque);
	return G_SOURCE_REMOVE;
}

/* In the child before exec: the VMM never outlives its monitor; when the monitor dies, the VMM
 * gets SIGTERM, its clean stop (disks flushed). */
static void child_setup(gpointer unused) { prctl(PR_SET_PDEATHSIG, SIGTERM); }

/* The image's command line with the console layout's words (vmm_child.h): its own console=
 * words go, since the launcher decides where the consoles are; a word in double quotes
 * (sepia.run="...") is kept whole. */
char *vmm_child_kernel_cmdline(const char *image_cmdline, bool shell_console)
{
	GString *out = g_string_new(NULL);
	const char *p = image_cmdline ? image_cmdline : "";
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		const char *start = p;
		bool quoted = false;
		while (*p && (quoted || (*p != ' ' && *p != '\t' && *p != '\n'))) {
			if (*p == '"')
				quoted = !quoted;
			p++;
		}
		if (p == start || g_str_has_prefix(start, "console="))
			continue;
		g_string_append_printf(out, "%s%.*s", out->len ? " " : "", (int)(p - start), start);
	}
	g_string_append_printf(out,
			       "%searlycon=uart8250,io,0x3f8,115200 console=hvc0 sepia.logcat=hvc2 "
			       "sepia.control=hvc3%s",
			       out->len ? " " : "", shell_console ? " sepia.shell=hvc1" : "");
	return g_string_free(out, FALSE);
}

static bool spawn_vmm(VmmChild *c, const VmmChildConfig *cfg, int control_fd, int kconsole_fd, int logcat_fd,
		      GPid *pid, GError **error)
{
	g_autofree char *cmdline = vmm_child_kernel_cmdline(cfg->cmdline, cfg->console_link != NULL);
	g_autofree char *cpus = g_strdup_printf("%u", cfg->cpus),
			*mem = g_strdup_printf("%u", cfg->memory_mb);
	g_autofree char *vsock = g_strdup_printf("cid=%u,socket=%s", cfg->vsock_cid, cfg->vsock_socket);
	/* The format is always named: a probed disk could be turned into another format by its guest. */
	g_autofree char *disk = g_strdup_printf("%s,format=%s", cfg->disk, cfg->disk_format);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	const char *fixed[] = { cfg->vmm_path, "--kernel", cfg->kernel, "--initrd", cfg->initrd, "--cmdline",
				cmdline, "--cpus", cpus, "--mem", mem, "--disk", disk, "--serial", "stdio",
				/* hvc0 kernel console, hvc1 serial console, hvc2 logcat, hvc3 control */
				"--hvc", "fd:4", "--hvc", cfg->console_link ? "fd:6" : "sink", "--hvc",
				"fd:5", "--hvc", "fd:3", "--vsock", vsock };
	for (guint i = 0; i < G_N_ELEMENTS(fixed); i++)
		g_ptr_array_add(argv, (gpointer)fixed[i]);
	for (guint i = 0; cfg->allowed_image_dirs && cfg->allowed_image_dirs[i]; i++) {
		g_ptr_array_add(argv, "--allowed-image-dir");
		g_ptr_array_add(argv, (gpointer)cfg->allowed_image_dirs[i]);
	}
	for (guint i = 0; cfg->nets && cfg->nets[i]; i++) {
		g_ptr_array_add(argv, "--net");
		g_ptr_array_add(argv, (gpointer)cfg->nets[i]);
	}
	if (cfg->gpu && strcmp(cfg->gpu, "none")) {
		g_ptr_array_add(argv, "--gpu");
		g_ptr_array_add(argv, (gpointer)cfg->gpu);
		for (guint i = 0; cfg->displays && cfg->displays[i]; i++) {
			g_ptr_array_add(argv, "--display");
			g_ptr_array_add(argv, (gpointer)cfg->displays[i]);
		}
		g_ptr_array_add(argv, "--framebuffer-dir");
		g_ptr_array_add(argv, (gpointer)cfg->framebuffer_dir);
	}
	/* As root, the VMM is jailed: a PID namespace from us, the rest by itself (vmm_jail.h). */
	bool jailed = vmm_jail_wanted(cfg->sandbox);
	g_autofree char *jail_user = jailed ? vmm_jail_user_arg(cfg->instance_num) : NULL;
	g_ptr_array_add(argv, jailed ? "--sandbox-user" : "--sandbox");
	g_ptr_array_add(argv, jailed ? jail_user : (cfg->sandbox ? (gpointer)cfg->sandbox : "auto"));
	if (cfg->input_dir) {
		g_ptr_array_add(argv, "--input-dir");
		g_ptr_array_add(argv, (gpointer)cfg->input_dir);
	}
	if (cfg->rng)
		g_ptr_array_add(argv, "--rng");
	if (c->api_socket) {
		g_ptr_array_add(argv, "--api-socket");
		g_ptr_array_add(argv, (gpointer)cfg->api_socket);
	}
	if (cfg->restore_dir) {
		g_ptr_array_add(argv, "--restore");
		g_ptr_array_add(argv, (gpointer)cfg->restore_dir);
		if (cfg->restore_boot_snapshot)
			g_ptr_array_add(argv, "--restore-keep-disks");
	}
	g_ptr_array_add(argv, NULL);
	int source_fds[4] = { control_fd, kconsole_fd, logcat_fd, c->pty_master },
	    target_fds[4] = { 3, 4, 5, 6 };
	guint nr_fds = cfg->console_link ? 4 : 3;
	if (jailed ? !vmm_jail_spawn((const char *const *)argv->pdata, source_fds, target_fds, nr_fds, pid,
				     &c->serial.fd, error)
		   : !g_spawn_async_with_pipes_and_fds(NULL, (const char *const *)argv->pdata, NULL,
						       G_SPAWN_DO_NOT_REAP_CHILD, child_setup, NULL, -1, -1,
						       -1, source_fds, target_fds, nr_fds, pid, NULL,
						       &c->serial.fd, NULL, error)) {
		g_prefix_error(error, "%s: cannot start %s: ", c->name, cfg->vmm_path);
		return false;
	}
	return true;
}

VmmChild *vmm_child_start(const VmmChildConfig *cfg, const VmmChildEvents *events, void *opaque,
			  GError **error)
{
	VmmChild *c = g_new0(VmmChild, 1);
	c->events = events;
	c->opaque = opaque;
	c->name = g_strdup(cfg->name);
	c->control_fd = c->pty_master = c->pty_slave = -1;
	GuestStream *streams[] = { &c->serial, &c->kconsole, &c->logcat };
	const char *whats[] = { "serial console", "kernel console (hvc0)", "logcat (hvc2)" };
	for (guint i = 0; i < G_N_ELEMENTS(streams); i++) {
		streams[i]->c = c;
		streams[i]->what = whats[i];
		streams[i]->fd = -1;
		streams[i]->line = g_string_new(NULL);
		streams[i]->scan = streams[i] != &c->logcat;
		streams[i]->log_name = streams[i] == &c->logcat ? "logcat" : "kernel.log";
	}
	c->control_line = g_string_new(NULL);
	c->restore_continues = cfg->restore_dir && cfg->restore_boot_snapshot;
	/* A path too long for a unix socket costs suspend and snapshots, not the boot. */
	struct sockaddr_un sa;
	if (cfg->api_socket && strlen(cfg->api_socket) < sizeof(sa.sun_path))
		c->api_socket = g_strdup(cfg->api_socket);
	else if (cfg->api_socket)
		launcher_log(c->name,
			     "%s: the path is too long for a unix socket: no suspend, resume or "
			     "snapshots for this boot",
			     cfg->api_socket);
	if (cfg->restore_dir && !c->api_socket) {
		g_set_error(error, LAUNCHER_ERROR, ENAMETOOLONG,
			    "%s: cannot start from %s: a restore needs sepia-vmm's API socket, and %s is "
			    "too long a path for one",
			    c->name, cfg->restore_dir, cfg->api_socket ? cfg->api_socket : "(none)");
		vmm_child_free(c);
		return NULL;
	}
	/* The VMM's ends: the control channel, the kernel console, logcat. */
	int vmm_fds[3] = { -1, -1, -1 };
	uint64_t cap = cfg->kernel_log_max_bytes ? cfg->kernel_log_max_bytes
						 : (uint64_t)CAPPED_LOG_DEFAULT_MAX_MB << 20;
	c->kernel_log = capped_log_open(cfg->kernel_log, cap, error);
	c->logcat_log = c->kernel_log && cfg->logcat_log ? capped_log_open(cfg->logcat_log, cap, error)
							 : NULL;
	if (!c->kernel_log || (cfg->logcat_log && !c->logcat_log)) {
		g_prefix_error(error, "%s: ", c->name);
		goto fail;
	}
	c->serial.log = c->kconsole.log = c->kernel_log;
	c->logcat.log = c->logcat_log ? c->logcat_log : c->kernel_log;
	if (cfg->console_link && !open_console_pty(c, cfg->console_link, error))
		goto fail;
	int *ours[3] = { &c->control_fd, &c->kconsole.fd, &c->logcat.fd };
	for (guint i = 0; i < 3; i++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			g_set_error(error, LAUNCHER_ERROR, errno, "%s: socketpair: %s", c->name,
				    g_strerror(errno));
			for (guint j = 0; j < i; j++)
				close(vmm_fds[j]);
			goto fail;
		}
		*ours[i] = sv[0];
		vmm_fds[i] = sv[1];
	}

	GPid pid;
	bool ok = spawn_vmm(c, cfg, vmm_fds[0], vmm_fds[1], vmm_fds[2], &pid, error);
	for (guint i = 0; i < 3; i++)
		close(vmm_fds[i]);
	if (!ok)
		goto fail;
	c->pid = pid;
	c->running = true;
	c->started_us = g_get_monotonic_time();
	for (guint i = 0; i < G_N_ELEMENTS(streams); i++) {
		g_unix_set_fd_nonblocking(streams[i]->fd, TRUE, NULL);
		streams[i]->src = g_unix_fd_add(streams[i]->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stream,
						streams[i]);
	}
	g_unix_set_fd_nonblocking(c->control_fd, TRUE, NULL);
	c->control_src = g_unix_fd_add(c->control_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_control, c);
	c->child_src = g_child_watch_add(pid, on_child_exit, c);
	if (cfg->restore_dir && c->api_socket)
		c->restore_src = g_timeout_add(RESTORE_POLL_MS, on_restore_poll, c);
	launcher_log(c->name, "sepia-vmm started (pid %d): %u vCPUs, %u MiB, disk %s", (int)pid, cfg->cpus,
		     cfg->memory_mb, cfg->disk);
	return c;
fail:
	vmm_child_free(c);
	return NULL;
}

pid_t vmm_child_pid(const VmmChild *c) { return c->pid; }

gint64 vmm_child_started_us(const VmmChild *c) { return c->started_us; }

/* One whole line to the guest init's control channel, never waiting for it. */
static bool control_send(VmmChild *c, const char *line, size_t len)
{
	return c->running && send(c->control_fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len;
}

bool vmm_child_request_poweroff(VmmChild *c)
{
	static const char cmd[] = "poweroff\n";
	return control_send(c, cmd, sizeof(cmd) - 1);
}

bool vmm_child_continue_boot(VmmChild *c)
{
	/* With a fresh seed for the guest kernel's RNG: every guest restored from one boot
	 * snapshot holds the same RNG state up to the point (guest/init/control.h). */
	unsigned char seed[32];
	char cmd[sizeof("continue ") + 2 * sizeof(seed) + 1] = "continue";
	if (getrandom(seed, sizeof(seed), 0) == (ssize_t)sizeof(seed)) {
		char *p = cmd + strlen(cmd);
		*p++ = ' ';
		for (size_t i = 0; i < sizeof(seed); i++, p += 2)
			snprintf(p, 3, "%02x", seed[i]);
	} else {
		launcher_log(c->name,
			     "getrandom: %s; the guest goes on from the boot snapshot point "
			     "without a fresh RNG seed",
			     g_strerror(errno));
	}
	explicit_bzero(seed, sizeof(seed));
	size_t len = strlen(cmd);
	cmd[len++] = '\n';
	bool sent = control_send(c, cmd, len);
	explicit_bzero(cmd, sizeof(cmd));
	return sent;
}

void vmm_child_signal(VmmChild *c, int sig)
{
	if (c->running)
		kill(c->pid, sig);
}

void vmm_child_free(VmmChild *c)
{
	if (!c)
		return;
	GuestStream *streams[] = { &c->serial, &c->kconsole, &c->logcat };
	for (guint i = 0; i < G_N_ELEMENTS(streams); i++) {
		if (streams[i]->src)
			g_source_remove(streams[i]->src);
		if (streams[i]->fd >= 0)
			close(streams[i]->fd);
		g_string_free(streams[i]->line, TRUE);
	}
	if (c->control_src)
		g_source_remove(c->control_src);
	if (c->child_src)
		g_source_remove(c->child_src);
	if (c->restore_src)
		g_source_remove(c->restore_src);
	g_free(c->api_socket);
	capped_log_free(c->kernel_log);
	capped_log_free(c->logcat_log);
	int fds[] = { c->control_fd, c->pty_master, c->pty_slave };
	for (guint i = 0; i < G_N_ELEMENTS(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	g_string_free(c->control_line, TRUE);
	g_free(c->name);
	g_free(c);
}
