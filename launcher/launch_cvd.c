/* launcher/launch_cvd.c — the launch_cvd command: checks the host, assembles the images
 * (launcher/assemble.h), writes each instance's effective configuration, starts one monitor
 * (run_cvd) per instance in a session of its own, and waits until every guest printed
 * VIRTUAL_DEVICE_BOOT_COMPLETED (or failed, or ran out of --boot_timeout_secs). With --daemon
 * it then returns; without, it stays in the foreground until the devices stop or Ctrl-C stops
 * them. Usage errors exit 2, launch failures 1. */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "display/scanouts.h"
#include "images/manifest.h"
#include "launcher/assemble.h"
#include "launcher/capped_log.h"
#include "launcher/control.h"
#include "launcher/file_modes.h"
#include "common/flags.h"
#include "launcher/select.h"
#include "launcher/instance.h"
#include "launcher/stop.h"
#include "launcher/vmm_child.h"

#ifndef SEPIA_PKGDATADIR
#define SEPIA_PKGDATADIR "/usr/share/sepia"
#endif

typedef struct {
	bool daemon, console, resume, restart_subprocesses, start_webview, enable_rng;
	guint64 cpus, memory_mb, blank_data_mb, boot_timeout_s, x_res, y_res, dpi, kernel_log_max_mb;
	const char *system_image_dir, *data_policy, *gpu_mode, *vm_manager, *extra_cmdline, *avb_key,
		*webview_allowed_hosts, *listen_address, *snapshot_path;
	const char *boot_snapshot, *boot_snapshot_dir; /* launcher/boot_snapshot.h */
	const char *sandbox; /* auto or off: sepia-vmm's jail and filters (devices/sandbox/) */
	const char *display[LAUNCHER_MAX_DISPLAYS];
	char *displays; /* for run_cvd: the scanouts as sepia-vmm --display specs, ';'-separated */
} LaunchConfig;

typedef struct {
	LauncherInstance inst;
	pid_t monitor;
	int lock_fd;    /* the instance lock, from before the host checks; the monitor inherits it */
	int ready_fd;   /* read end; -1 once the monitor said its word */
	GString *ready; /* what it said */
	bool ok, done;
} Launched;

static void say(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "launch_cvd: %s\n", msg);
}

/* The reference guest: beside the programs in a build tree; else installed with them
 * (<bindir>/../share/sepia/reference, so that a DESTDIR or moved install finds its own images);
 * else in the configured data directory, which the error then names. */
static char *default_system_image_dir(void)
{
	g_autofree char *dir = launcher_program_dir();
	g_autofree char *built = g_build_filename(dir, "guest", "out", "android", NULL);
	g_autofree char *installed = g_build_filename(dir, "..", "share", "sepia", "reference", NULL);
	const char *found[] = { built, installed };
	for (size_t i = 0; i < G_N_ELEMENTS(found); i++) {
		g_autofree char *probe = g_build_filename(found[i], "boot.img", NULL);
		if (g_file_test(probe, G_FILE_TEST_EXISTS))
			return g_canonicalize_filename(found[i], NULL);
	}
	return g_build_filename(SEPIA_PKGDATADIR, "reference", NULL);
}

/* --displayN=width=W,height=H[,dpi=D][,refresh_rate_hz=R] (Cuttlefish's form) as sepia-vmm's
 * --display; the refresh rate is accepted and not used. */
static bool display_spec(const char *flag, const char *text, GString *out, GError **error)
{
	struct display_mode m;
	if (!display_parse_mode(text, true, &m, error)) {
		g_prefix_error(error, "--%s=%s: ", flag, text);
		return false;
	}
	g_string_append_printf(out, "%swidth=%u,height=%u,dpi=%u", out->len ? ";" : "", m.width, m.height,
			       m.dpi);
	return true;
}

static bool check_displays(LaunchConfig *c, GError **error)
{
	g_autoptr(GString) specs = g_string_new(NULL);
	for (guint i = 0; i < LAUNCHER_MAX_DISPLAYS; i++) {
		g_autofree char *flag = g_strdup_printf("display%u", i);
		if (c->display[i] && !display_spec(flag, c->display[i], specs, error))
			return false;
	}
	if (!specs->len)
		g_string_printf(specs,
				"width=%" G_GUINT64_FORMAT ",height=%" G_GUINT64_FORMAT
				",dpi=%" G_GUINT64_FORMAT,
				c->x_res, c->y_res, c->dpi);
	c->displays = g_string_free(g_steal_pointer(&specs), FALSE);
	return true;
}

static bool check_values(LaunchConfig *c, GError **error)
{
	AssembleDataPolicy p;
	if (strcmp(c->vm_manager, "sepia"))
		g_set_error(error, LAUNCHER_ERROR, EINVAL,
			    "--vm_manager=%s: sepia runs its own VMM only (--vm_manager=sepia)",
			    c->vm_manager);
	else if (!launcher_vmm_gpu_mode(c->gpu_mode))
		g_set_error(error, LAUNCHER_ERROR, EINVAL,
			    "--gpu_mode=%s: give auto, drm_virgl, guest_swiftshader or none", c->gpu_mode);
	else if (c->start_webview && !strcmp(c->gpu_mode, "none"))
		g_set_error(error, LAUNCHER_ERROR, EINVAL,
			    "--start_webview shows the screen, and --gpu_mode=none has none");
	else if (!check_displays(c, error))
		return false;
	else if (!assemble_parse_data_policy(c->data_policy, &p))
		g_set_error(error, LAUNCHER_ERROR, EINVAL,
			    "--data_policy=%s: give use_existing, create_if_missing, always_create or "
			    "resize_up_to",
			    c->data_policy);
	else if (strcmp(c->boot_snapshot, "auto") && strcmp(c->boot_snapshot, "off"))
		g_set_error(error, LAUNCHER_ERROR, EINVAL, "--boot_snapshot=%s: give auto or off",
			    c->boot_snapshot);
	else if (strcmp(c->sandbox, "auto") && strcmp(c->sandbox, "off"))
		g_set_error(error, LAUNCHER_ERROR, EINVAL, "--sandbox=%s: give auto or off", c->sandbox);
	else if (!launcher_check_listen_address(c->listen_address, error))
		return false;
	else if (c->extra_cmdline && strchr(c->extra_cmdline, '\n'))
		g_set_error(error, LAUNCHER_ERROR, EINVAL, "--extra_kernel_cmdline holds a newline");
	return !*error;
}

/* Whether address:port (--listen_address) can be listened on. SO_REUSEADDR as the helpers bind:
 * connections of an earlier run in TIME_WAIT do not make the port busy, another listener does. */
static bool port_free(const LauncherInstance *inst, const char *what, const char *address, guint port,
		      GError **error)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (s >= 0)
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, address, &sa.sin_addr); /* checked by check_values() */
	int r = s < 0 ? -1 : bind(s, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	if (s >= 0)
		close(s);
	if (r < 0)
		g_set_error(error, LAUNCHER_ERROR, e, "%s: %s port %s:%u is not free: %s", inst->name, what,
			    address, port, g_strerror(e));
	return r == 0;
}

/* Host checks before anything is written: KVM access, each instance's lock (so exactly one of
 * two launches of an instance goes on, and the other stops here, before it touched anything of
 * the one running), nothing of the instances running, free adb ports. */
static bool check_host(const LaunchConfig *c, GArray *instances, GError **error)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno,
			    "cannot open /dev/kvm: %s (is KVM enabled, and are you in the kvm group?)",
			    g_strerror(errno));
		return false;
	}
	close(kvm);
	for (guint i = 0; i < instances->len; i++) {
		Launched *l = &g_array_index(instances, Launched, i);
		if ((l->lock_fd = launcher_instance_lock(&l->inst, error)) < 0)
			return false;
	}
	for (guint i = 0; i < instances->len; i++) {
		const LauncherInstance *inst = &g_array_index(instances, Launched, i).inst;
		g_autoptr(ControlResponse) st = control_call(
			inst->socket_path, SEPIA__CONTROL__REQUEST__COMMAND__STATUS, 0, 3000, NULL);
		pid_t pgid = launcher_read_pid(inst);
		if (st || launcher_group_alive(pgid)) {
			g_set_error(error, LAUNCHER_ERROR, EBUSY,
				    "%s is already running (%s %d); stop it with stop_cvd first", inst->name,
				    st ? "monitor pid" : "process group",
				    st && st->status ? st->status->pid : (int)pgid);
			return false;
		}
		launcher_remove_runtime_files(inst); /* left by a monitor that was killed */
		if (!port_free(inst, "adb", c->listen_address, inst->adb_port, error) ||
		    (c->start_webview &&
		     !port_free(inst, "web view", c->listen_address, inst->webview_port, error)))
			return false;
	}
	return true;
}

static void json_field(GString *o, const char *key, const char *val, bool last)
{
	g_string_append_printf(o, "  \"%s\": ", key);
	manifest_json_string(o, val ? val : "");
	g_string_append(o, last ? "\n" : ",\n");
}

static bool write_config(const LaunchConfig *c, const LauncherInstance *inst, GError **error)
{
	g_autoptr(GString) o = g_string_new("{\n");
	g_autofree char *adb = g_strdup_printf("%s:%u", launcher_client_address(c->listen_address),
					       inst->adb_port);
	json_field(o, "instance_name", inst->name, false);
	json_field(o, "instance_dir", inst->dir, false);
	json_field(o, "assembly_dir", inst->assembly_dir, false);
	json_field(o, "system_image_dir", c->system_image_dir, false);
	json_field(o, "vm_manager", c->vm_manager, false);
	json_field(o, "gpu_mode", c->gpu_mode, false);
	json_field(o, "displays", c->displays, false);
	json_field(o, "adb_serial", adb, false);
	json_field(o, "data_policy", c->data_policy, false);
	json_field(o, "extra_kernel_cmdline", c->extra_cmdline, false);
	json_field(o, "avb_key", c->avb_key, false);
	json_field(o, "webview_allowed_hosts", c->webview_allowed_hosts, false);
	json_field(o, "listen_address", c->listen_address, false);
	g_string_append_printf(o, "  \"kernel_log_max_mb\": %" G_GUINT64_FORMAT ",\n", c->kernel_log_max_mb);
	g_string_append_printf(o,
			       "  \"instance_num\": %u,\n  \"adb_port\": %u,\n  \"vsock_guest_cid\": %u,\n",
			       inst->num, inst->adb_port, inst->vsock_cid);
	g_string_append_printf(o, "  \"enable_rng\": %s,\n", c->enable_rng ? "true" : "false");
	g_string_append_printf(o, "  \"start_webview\": %s,\n  \"webview_port\": %u,\n",
			       c->start_webview ? "true" : "false", inst->webview_port);
	g_string_append_printf(
		o, "  \"cpus\": %" G_GUINT64_FORMAT ",\n  \"memory_mb\": %" G_GUINT64_FORMAT ",\n", c->cpus,
		c->memory_mb);
	g_string_append_printf(o,
			       "  \"blank_data_image_mb\": %" G_GUINT64_FORMAT
			       ",\n  \"boot_timeout_secs\": %" G_GUINT64_FORMAT ",\n",
			       c->blank_data_mb, c->boot_timeout_s);
	g_string_append_printf(
		o, "  \"console\": %s,\n  \"resume\": %s,\n  \"daemon\": %s,\n  \"restart_subprocesses\": %s\n}\n",
		c->console ? "true" : "false", c->resume ? "true" : "false", c->daemon ? "true" : "false",
		c->restart_subprocesses ? "true" : "false");
	return g_file_set_contents(inst->config_path, o->str, (gssize)o->len, error);
}

static bool start_monitor(const LaunchConfig *c, Launched *l, GError **error)
{
	if (g_mkdir_with_parents(l->inst.logs_dir, LAUNCHER_DIR_MODE) < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "%s: %s", l->inst.logs_dir, g_strerror(errno));
		return false;
	}
	if (!write_config(c, &l->inst, error))
		return false;
	g_autofree char *runtime_link = g_strdup_printf("%s/cuttlefish_runtime.%u", launcher_home(),
							l->inst.num);
	if (!launcher_replace_symlink(runtime_link, l->inst.dir, error))
		return false;
	g_autofree char *log_path = g_build_filename(l->inst.logs_dir, "launcher.log", NULL);
	int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, LAUNCHER_FILE_MODE);
	int pipefd[2];
	if (log_fd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "%s: %s", log_path, g_strerror(errno));
		if (log_fd >= 0)
			close(log_fd);
		return false;
	}
	g_autofree char *run_cvd = launcher_sibling_program("run_cvd");
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(argv, g_strdup(run_cvd));
	g_ptr_array_add(argv, g_strdup_printf("--instance_num=%u", l->inst.num));
	g_ptr_array_add(argv, g_strdup_printf("--cpus=%" G_GUINT64_FORMAT, c->cpus));
	g_ptr_array_add(argv, g_strdup_printf("--memory_mb=%" G_GUINT64_FORMAT, c->memory_mb));
	g_ptr_array_add(argv, g_strdup_printf("--console=%s", c->console ? "true" : "false"));
	g_ptr_array_add(argv, g_strdup_printf("--restart_subprocesses=%s",
					      c->restart_subprocesses ? "true" : "false"));
	g_ptr_array_add(argv, g_strdup_printf("--system_image_dir=%s", c->system_image_dir));
	g_ptr_array_add(argv, g_strdup_printf("--blank_data_image_mb=%" G_GUINT64_FORMAT, c->blank_data_mb));
	g_ptr_array_add(argv, g_strdup_printf("--data_policy=%s", c->data_policy));
	g_ptr_array_add(argv, g_strdup_printf("--ready_fd=%d", pipefd[1]));
	g_ptr_array_add(argv, g_strdup_printf("--instance_lock_fd=%d", l->lock_fd));
	g_ptr_array_add(argv,
			g_strdup_printf("--kernel_log_max_mb=%" G_GUINT64_FORMAT, c->kernel_log_max_mb));
	if (c->snapshot_path)
		g_ptr_array_add(argv, g_strdup_printf("--snapshot_path=%s", c->snapshot_path));
	g_ptr_array_add(argv, g_strdup_printf("--boot_snapshot=%s", c->boot_snapshot));
	if (c->boot_snapshot_dir)
		g_ptr_array_add(argv, g_strdup_printf("--boot_snapshot_dir=%s", c->boot_snapshot_dir));
	if (c->webview_allowed_hosts)
		g_ptr_array_add(argv,
				g_strdup_printf("--webview_allowed_hosts=%s", c->webview_allowed_hosts));
	if (c->extra_cmdline)
		g_ptr_array_add(argv, g_strdup_printf("--extra_kernel_cmdline=%s", c->extra_cmdline));
	if (c->avb_key)
		g_ptr_array_add(argv, g_strdup_printf("--avb_key=%s", c->avb_key));
	g_ptr_array_add(argv, g_strdup_printf("--gpu_mode=%s", c->gpu_mode));
	g_ptr_array_add(argv, g_strdup_printf("--displays=%s", c->displays));
	g_ptr_array_add(argv, g_strdup_printf("--start_webview=%s", c->start_webview ? "true" : "false"));
	g_ptr_array_add(argv, g_strdup_printf("--sandbox=%s", c->sandbox));
	g_ptr_array_add(argv, g_strdup_printf("--enable_rng=%s", c->enable_rng ? "true" : "false"));
	g_ptr_array_add(argv, g_strdup_printf("--listen_address=%s", c->listen_address));
	g_ptr_array_add(argv, NULL);

	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		/* The monitor: a session and process group of its own (stop_cvd's fallback kills the
         * group), its log on stdout/stderr, the ready pipe's write end kept across exec. */
		setsid();
		int null_fd = open("/dev/null", O_RDONLY);
		dup2(null_fd, 0);
		dup2(log_fd, 1);
		dup2(log_fd, 2);
		fcntl(pipefd[1], F_SETFD, 0);
		fcntl(l->lock_fd, F_SETFD, 0); /* the monitor holds the instance lock from here on */
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(run_cvd, (char **)argv->pdata);
		dprintf(2, "launch_cvd: cannot run %s: %s\n", run_cvd, strerror(errno));
		_exit(127);
	}
	int e = errno;
	close(log_fd);
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		g_set_error(error, LAUNCHER_ERROR, e, "%s: fork: %s", l->inst.name, g_strerror(e));
		return false;
	}
	l->monitor = pid;
	l->ready_fd = pipefd[0];
	return true;
}

static void print_tail(const char *path, guint lines)
{
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return;
	g_auto(GStrv) all = g_strsplit(text, "\n", -1);
	guint n = g_strv_length(all);
	guint first = n > lines + 1 ? n - lines - 1 : 0;
	fprintf(stderr, "---- last lines of %s\n", path);
	for (guint i = first; i < n; i++)
		if (*all[i])
			fprintf(stderr, "  %s\n", all[i]);
}

/* Reads what the monitors say until each said its word, the deadline passes, or a signal
 * (sigfd) asks to give up. */
static bool wait_for_boot(GArray *launched, guint64 timeout_s, int sigfd, gint64 t0)
{
	gint64 deadline = t0 + (gint64)timeout_s * G_USEC_PER_SEC;
	bool tty = isatty(STDERR_FILENO), interrupted = false;
	gint64 next_progress = 0;
	for (;;) {
		GArray *fds = g_array_new(FALSE, FALSE, sizeof(struct pollfd));
		g_autoptr(GString) pending = g_string_new(NULL);
		for (guint i = 0; i < launched->len; i++) {
			Launched *l = &g_array_index(launched, Launched, i);
			if (l->done)
				continue;
			struct pollfd p = { .fd = l->ready_fd, .events = POLLIN };
			g_array_append_val(fds, p);
			g_string_append_printf(pending, "%s%s", pending->len ? ", " : "", l->inst.name);
		}
		guint n_ready = fds->len;
		struct pollfd sp = { .fd = sigfd, .events = POLLIN };
		g_array_append_val(fds, sp);
		gint64 now = g_get_monotonic_time();
		if (!n_ready || now >= deadline || interrupted) {
			g_array_free(fds, TRUE);
			if (tty)
				fputs("\r\033[K", stderr);
			return n_ready == 0;
		}
		if (tty && now >= next_progress) {
			fprintf(stderr, "\r\033[Klaunch_cvd: waiting for %s to boot (%" G_GINT64_FORMAT " s)",
				pending->str, (now - t0) / G_USEC_PER_SEC);
			next_progress = now + G_USEC_PER_SEC;
		}
		int r = poll((struct pollfd *)fds->data, fds->len, 1000);
		if (r > 0) {
			struct pollfd *p = (struct pollfd *)fds->data;
			if (p[n_ready].revents) {
				struct signalfd_siginfo si;
				if (read(sigfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD)
					interrupted = true;
			}
			for (guint k = 0; k < n_ready; k++) {
				if (!p[k].revents)
					continue;
				for (guint i = 0; i < launched->len; i++) {
					Launched *l = &g_array_index(launched, Launched, i);
					if (l->done || l->ready_fd != p[k].fd)
						continue;
					char buf[1024];
					ssize_t got = read(l->ready_fd, buf, sizeof(buf));
					if (got > 0) {
						g_string_append_len(l->ready, buf, got);
						continue;
					}
					l->done = true;
					l->ok = g_str_has_prefix(l->ready->str, VMM_MARKER_COMPLETED);
					close(l->ready_fd);
					l->ready_fd = -1;
				}
			}
		}
		g_array_free(fds, TRUE);
	}
}

static void stop_all(GArray *launched)
{
	for (guint i = 0; i < launched->len; i++) {
		Launched *l = &g_array_index(launched, Launched, i);
		g_autoptr(GError) err = NULL;
		if (launcher_stop_instance(&l->inst, 30, 10, &err) == LAUNCHER_STOP_FAILED)
			say("%s", err->message);
		if (l->monitor > 0)
			waitpid(l->monitor, NULL, 0);
		l->monitor = 0;
	}
}

/* Foreground: until every monitor ends (guest poweroff, stop_cvd) or a signal stops them all. */
static int stay_in_foreground(GArray *launched, int sigfd)
{
	guint alive = launched->len;
	int status = 0;
	say("running in the foreground; Ctrl-C stops the device%s", launched->len > 1 ? "s" : "");
	while (alive) {
		struct signalfd_siginfo si;
		if (read(sigfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo != SIGCHLD) {
			say("stopping (signal %u)", si.ssi_signo);
			stop_all(launched);
			return 0;
		}
		int st;
		pid_t pid;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			for (guint i = 0; i < launched->len; i++) {
				Launched *l = &g_array_index(launched, Launched, i);
				if (l->monitor != pid)
					continue;
				g_autofree char *how = launcher_describe_wait_status(st);
				say("%s: monitor %s", l->inst.name, how);
				if (!WIFEXITED(st) || WEXITSTATUS(st))
					status = 1;
				l->monitor = 0;
				alive--;
			}
		}
	}
	return status;
}

static const char synopsis[] =
	"usage: launch_cvd [--daemon] [--num_instances=N | --instance_nums=1,2] [flags]\n"
	"Assembles the images of --system_image_dir (default: sepia's reference guest), boots one\n"
	"device per instance and prints VIRTUAL_DEVICE_BOOT_COMPLETED when all have booted.\n"
	"Instance N: $HOME/cuttlefish/instances/cvd-N, adb <listen_address>:6520+N-1, vsock CID 3+N-1.";

int main(int argc, char **argv)
{
	LaunchConfig c = { .resume = true,
			   .cpus = 2,
			   .memory_mb = 2048,
			   .blank_data_mb = 2048,
			   .boot_timeout_s = 1000,
			   .x_res = 720,
			   .y_res = 1280,
			   .dpi = 320,
			   .kernel_log_max_mb = CAPPED_LOG_DEFAULT_MAX_MB,
			   .data_policy = "use_existing",
			   .gpu_mode = "auto",
			   .sandbox = "auto",
			   .boot_snapshot = "auto",
			   .enable_rng = true,
			   .vm_manager = "sepia",
			   .listen_address = LAUNCHER_DEFAULT_LISTEN_ADDRESS };
	const char *instance_nums = NULL, *usage_stats = NULL;
	guint64 num_instances = 1, base = 1;
	struct cli_flag flags[] = {
		FLAG_BOOL("daemon", &c.daemon, "return once every device booted, leaving them running"),
		FLAG_UINT("cpus", &c.cpus, 1, 64, "vCPUs per device (default 2)"),
		FLAG_UINT("memory_mb", &c.memory_mb, 64, 1 << 20, "guest RAM in MiB (default 2048)"),
		FLAG_UINT("num_instances", &num_instances, 1, LAUNCHER_MAX_INSTANCE, "devices to launch"),
		FLAG_UINT("base_instance_num", &base, 1, LAUNCHER_MAX_INSTANCE,
			  "first instance (default $CUTTLEFISH_INSTANCE or 1)"),
		FLAG_STRING("instance_nums", &instance_nums, "the instances, e.g. 1,3"),
		FLAG_STRING("system_image_dir", &c.system_image_dir,
			    "the Android images (default: the reference guest)"),
		FLAG_BOOL("console", &c.console, "a shell on a pty, linked as <instance_dir>/console"),
		FLAG_BOOL("resume", &c.resume, "keep the device's data (default true); false: powerwash"),
		FLAG_STRING("data_policy", &c.data_policy,
			    "use_existing, create_if_missing, always_create or resize_up_to"),
		FLAG_UINT("blank_data_image_mb", &c.blank_data_mb, 1, 1u << 24,
			  "size of a blank userdata (default 2048)"),
		FLAG_UINT("boot_timeout_secs", &c.boot_timeout_s, 1, 86400,
			  "give up waiting for the boot after this (default 1000)"),
		FLAG_STRING(
			"gpu_mode", &c.gpu_mode,
			"auto (3D when virglrenderer starts, else 2D), drm_virgl, guest_swiftshader or none"),
		FLAG_UINT("x_res", &c.x_res, 16, 4096, "display width without --display0 (default 720)"),
		FLAG_UINT("y_res", &c.y_res, 16, 4096, "display height without --display0 (default 1280)"),
		FLAG_UINT("dpi", &c.dpi, 10, 2000, "display density without --display0 (default 320)"),
		FLAG_STRING("display0", &c.display[0], "first display: width=W,height=H[,dpi=D]"),
		FLAG_STRING("display1", &c.display[1], "second display"),
		FLAG_STRING("display2", &c.display[2], "third display"),
		FLAG_STRING("display3", &c.display[3], "fourth display"),
		FLAG_BOOL("start_webview", &c.start_webview,
			  "serve the screen to a browser on http://<listen_address>:<8443+N-1>/"),
		FLAG_BOOL("enable_rng", &c.enable_rng,
			  "a virtio-rng device: the guest's /dev/hwrng, from the host's getrandom(2) "
			  "(default true)"),
		FLAG_STRING("webview_allowed_hosts", &c.webview_allowed_hosts,
			    "host names (comma-separated) the web view answers besides localhost, 127.0.0.1, "
			    "[::1]"),
		FLAG_STRING("listen_address", &c.listen_address,
			    "where the adb proxy and the web view listen (default 127.0.0.1: this host "
			    "only; 0.0.0.0: every address, as in a container)"),
		FLAG_UINT("kernel_log_max_mb", &c.kernel_log_max_mb, 1, 1u << 20,
			  "logs/kernel.log rotates to kernel.log.1 at this size (default 64)"),
		FLAG_STRING("vm_manager", &c.vm_manager, "sepia"),
		FLAG_STRING("extra_kernel_cmdline", &c.extra_cmdline,
			    "words added to the kernel command line"),
		FLAG_BOOL("restart_subprocesses", &c.restart_subprocesses,
			  "start a guest again when its VMM dies"),
		FLAG_STRING("avb_key", &c.avb_key, "trusted AVB key: verified boot green instead of yellow"),
		FLAG_STRING("sandbox", &c.sandbox,
			    "auto (default): each VMM jailed (as root) and its system calls filtered; off: "
			    "neither"),
		FLAG_STRING("snapshot_path", &c.snapshot_path,
			    "start each device from its snapshot in DIR/cvd-N (snapshot_util_cvd's), taken "
			    "with the same --cpus, --memory_mb and --gpu_mode"),
		FLAG_STRING("boot_snapshot", &c.boot_snapshot,
			    "auto (default): restore each device from the boot snapshot when its key "
			    "matches (images, slot, machine, kernel command line, sepia build), else boot "
			    "cold and take it; off: always boot cold"),
		FLAG_STRING("boot_snapshot_dir", &c.boot_snapshot_dir,
			    "the boot snapshot cache (default $SEPIA_BOOT_SNAPSHOT_DIR, else "
			    "~/.cache/sepia/boot-snapshots)"),
		FLAG_STRING("report_anonymous_usage_stats", &usage_stats,
			    "" /* accepted; sepia reports nothing */),
	};
	g_autoptr(GError) err = NULL;
	g_autoptr(GArray) nums = g_array_new(FALSE, FALSE, sizeof(guint));
	enum cli_flags_result r = cli_flags_parse(flags, G_N_ELEMENTS(flags), synopsis, argc, argv, &err);
	if (r == CLI_FLAGS_HELP)
		return 0;
	if (r == CLI_FLAGS_OK && launcher_select_instances(&flags[5], &flags[3], &flags[4], nums, &err))
		check_values(&c, &err);
	if (err) {
		say("%s (see --help)", err->message);
		return 2;
	}
	if (!strcmp(c.sandbox, "off"))
		say("--sandbox=off: each VMM runs unjailed and unfiltered, with every right of uid %u",
		    (unsigned int)geteuid());
	g_autofree char *default_dir = c.system_image_dir ? NULL : default_system_image_dir();
	if (!c.system_image_dir)
		c.system_image_dir = default_dir;
	g_autofree char *abs_dir = g_canonicalize_filename(c.system_image_dir, NULL);
	c.system_image_dir = abs_dir;
	g_autofree char *abs_key = c.avb_key ? g_canonicalize_filename(c.avb_key, NULL) : NULL;
	c.avb_key = abs_key;
	g_autofree char *abs_snapshot = c.snapshot_path ? g_canonicalize_filename(c.snapshot_path, NULL)
							: NULL;
	c.snapshot_path = abs_snapshot;
	g_autofree char *abs_cache = c.boot_snapshot_dir ? g_canonicalize_filename(c.boot_snapshot_dir, NULL)
							 : NULL;
	c.boot_snapshot_dir = abs_cache;

	const char *home = launcher_home();
	g_autoptr(GArray) launched = g_array_new(FALSE, TRUE, sizeof(Launched));
	umask(LAUNCHER_UMASK); /* launcher/file_modes.h */
	for (guint i = 0; i < nums->len; i++) {
		Launched l = { .ready_fd = -1, .lock_fd = -1, .ready = g_string_new(NULL) };
		launcher_instance_init(&l.inst, home, g_array_index(nums, guint, i));
		g_array_append_val(launched, l);
	}
	int status = 1;
	gint64 t0 = g_get_monotonic_time();
	/* Signals arrive through a signalfd, so that Ctrl-C while waiting stops what started. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	if (!check_host(&c, launched, &err)) {
		say("%s", err->message);
		goto out;
	}

	AssembleOptions ao = {
		.system_image_dir = c.system_image_dir,
		.home = home,
		.instance_nums = (const guint *)(void *)nums->data,
		.n_instances = nums->len,
		.blank_data_image_mb = c.blank_data_mb,
		.resume = c.resume,
		.progress = isatty(STDERR_FILENO),
	};
	(void)assemble_parse_data_policy(c.data_policy, &ao.data_policy);
	AssembleStats st;
	if (!assemble_device(&ao, &st, &err)) {
		say("%s", err->message);
		goto out;
	}
	gint64 t_assembled = g_get_monotonic_time();
	say("assembled %u instance(s) from %s in %.3f s (%u files hashed, %u overlays created)", nums->len,
	    c.system_image_dir, (double)(t_assembled - t0) / 1e6, st.files_hashed, st.overlays_created);

	for (guint i = 0; i < launched->len; i++) {
		Launched *l = &g_array_index(launched, Launched, i);
		if (!start_monitor(&c, l, &err)) {
			say("%s", err->message);
			stop_all(launched);
			goto out;
		}
	}
	bool all = wait_for_boot(launched, c.boot_timeout_s, sigfd, t_assembled);
	bool ok = all;
	for (guint i = 0; i < launched->len; i++) {
		Launched *l = &g_array_index(launched, Launched, i);
		g_strchomp(l->ready->str);
		if (l->ok) {
			say("%s booted: %s", l->inst.name, l->ready->str);
			continue;
		}
		ok = false;
		if (!l->done)
			say("%s: no boot within %" G_GUINT64_FORMAT " s (--boot_timeout_secs) or interrupted",
			    l->inst.name, c.boot_timeout_s);
		else
			say("%s: %s", l->inst.name,
			    l->ready->len ? l->ready->str : "the monitor ended before the guest booted");
		g_autofree char *log = g_build_filename(l->inst.logs_dir, "launcher.log", NULL);
		g_autofree char *klog = g_build_filename(l->inst.logs_dir, "kernel.log", NULL);
		print_tail(log, 8);
		print_tail(klog, 8);
	}
	if (!ok) {
		puts(VMM_MARKER_FAILED);
		fflush(stdout);
		stop_all(launched);
		goto out;
	}
	say("timing: assembly %.3f s, assembly to all booted %.3f s, total %.3f s",
	    (double)(t_assembled - t0) / 1e6, (double)(g_get_monotonic_time() - t_assembled) / 1e6,
	    (double)(g_get_monotonic_time() - t0) / 1e6);
	puts(VMM_MARKER_COMPLETED);
	fflush(stdout);
	status = c.daemon ? 0 : stay_in_foreground(launched, sigfd);
out:
	for (guint i = 0; i < launched->len; i++) {
		Launched *l = &g_array_index(launched, Launched, i);
		if (l->ready_fd >= 0)
			close(l->ready_fd);
		if (l->lock_fd >= 0)
			close(l->lock_fd);
		g_string_free(l->ready, TRUE);
		launcher_instance_clear(&l->inst);
	}
	close(sigfd);
	g_free(c.displays);
	return status;
}
