/* launcher/run_cvd.c — the per-instance monitor (Cuttlefish's run_cvd role). launch_cvd starts
 * one per instance in a session (and process group) of its own. It
 *   - runs the bootloader step on the instance's disk (bootloader/bootdisk.h: A/B slot from misc
 *     through the overlay, AVB, kernel/initrd/cmdline from the slot's partitions),
 *   - runs sepia-vmm (launcher/vmm_child.h) and watches it: a guest reboot goes through the
 *     bootloader step again; a guest poweroff ends the instance cleanly; any other end of the
 *     VMM is logged with how it ended and marks the instance Failed (restarted only with
 *     --restart_subprocesses),
 *   - marks the slot successful in misc after a boot that reached the marker, once the VMM is
 *     gone (so misc has one writer at a time),
 *   - holds the instance lock (launcher/instance.h) from launch_cvd, or takes it when run by hand,
 *     for as long as it runs,
 *   - answers the control protocol (launcher/control.h) on <instance_dir>/launcher_monitor.sock:
 *     status, stop, powerwash, restart, served without blocking (launcher/control_server.h) to
 *     the owner's uid and root only,
 *   - tells launch_cvd through --ready_fd whether the first boot completed.
 * Its state is a Monitor (launcher/monitor.h); one boot is launcher/monitor_boot.h. Its log is its
 * stderr (launch_cvd points it at logs/launcher.log). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

#include "bootloader/bootdisk.h"
#include "common/flags.h"
#include "launcher/capped_log.h"
#include "launcher/file_modes.h"
#include "launcher/monitor_boot.h"
#include "launcher/select.h"
#include "launcher/suspend.h"
#include "launcher/vmm_jail.h"

#define SIGTERM_GRACE_S         10 /* after SIGTERM, the VMM gets this long before SIGKILL */
#define DEFAULT_GUEST_TIMEOUT_S 20

static void mlog(const Monitor *m, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void mlog(const Monitor *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	launcher_log_text(m->inst.name, msg);
}

/* The libraries' g_message()s (the bootloader step's notes) in the log's own format. */
static void glib_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer instance)
{
	if ((level & G_LOG_LEVEL_DEBUG) && !g_getenv("SEPIA_DEBUG"))
		return;
	launcher_log_text(instance, message);
}

/* launch_cvd hears about the first boot only: one line, then the pipe closes. */
static void report_ready(Monitor *m, const char *line)
{
	if (m->ready_fd < 0)
		return;
	g_autofree char *text = g_strconcat(line, "\n", NULL);
	if (write(m->ready_fd, text, strlen(text)) < 0)
		mlog(m, "cannot tell launch_cvd: %s", g_strerror(errno));
	close(m->ready_fd);
	m->ready_fd = -1;
}

static void set_failed(Monitor *m, const char *why)
{
	m->state = SEPIA__CONTROL__STATE__FAILED;
	g_free(m->failure);
	m->failure = g_strdup(why);
	mlog(m, "instance failed: %s", why);
	g_autofree char *line = g_strdup_printf(VMM_MARKER_FAILED " %s: %s", m->inst.name, why);
	report_ready(m, line);
}

/* ---- boots */

static void on_booted(void *opaque);
static void on_boot_failed(void *opaque, const char *line);
static void on_vmm_exited(void *opaque, int wait_status);
static void on_snapshot_point(void *opaque);
static const VmmChildEvents vmm_events = { on_booted, on_boot_failed, on_vmm_exited, on_snapshot_point };

static bool start_boot(Monitor *m)
{
	m->state = SEPIA__CONTROL__STATE__BOOTING;
	m->booted = false;
	g_clear_pointer(&m->failure, g_free);
	g_autoptr(GError) err = NULL;
	if (!monitor_boot_start(m, &vmm_events, &err)) {
		set_failed(m, err->message);
		return false;
	}
	m->boots++;
	return true;
}

static void on_helper_exited(void *opaque, HelperChild *h, int wait_status);
static void begin(Monitor *m, AfterVmm after, guint guest_timeout_s);

/* The first boot is reported to launch_cvd once the adb server lists the device (or could not
 * be told), so that `adb devices` shows it as soon as launch_cvd returns. */
static void on_adb_connected(void *opaque, bool connected)
{
	Monitor *m = opaque;
	if (m->ready_line)
		report_ready(m, m->ready_line);
	g_clear_pointer(&m->ready_line, g_free);
}

/* adb: a TCP proxy from <listen_address>:<6520+N-1> to the guest's vsock port 5555, and the local
 * adb server told about it (started with `adb connect` when none runs). */
static void start_adb(Monitor *m)
{
	g_autoptr(GError) err = NULL;
	if (!m->adb_proxy) {
		m->adb_proxy = helper_child_start_adb_proxy(&m->inst, m->listen_address, on_helper_exited, m,
							    &err);
		if (!m->adb_proxy) {
			set_failed(m, err->message);
			begin(m, AFTER_HALT, DEFAULT_GUEST_TIMEOUT_S);
			return;
		}
	}
	/* Also after each reboot: the server may have dropped the device while it was down. */
	adb_connector_stop(g_steal_pointer(&m->adb));
	m->adb = adb_connector_start(m->inst.name, launcher_client_address(m->listen_address),
				     m->inst.adb_port, on_adb_connected, m);
}

static void stop_adb(Monitor *m)
{
	adb_connector_stop(g_steal_pointer(&m->adb));
	if (m->adb_proxy) {
		mlog(m, "stopping the adb proxy (pid %d)", (int)helper_child_pid(m->adb_proxy));
		helper_child_stop(g_steal_pointer(&m->adb_proxy), 3000);
	}
}

/* The web view: sepia-webview serving the instance's framebuffer files to a browser. */
static bool start_webview(Monitor *m, GError **error)
{
	m->webview = helper_child_start_webview(&m->inst, m->listen_address, m->webview_allowed_hosts,
						on_helper_exited, m, error);
	return m->webview != NULL;
}

static void on_helper_exited(void *opaque, HelperChild *h, int wait_status)
{
	Monitor *m = opaque;
	g_autofree char *how = launcher_describe_wait_status(wait_status);
	g_autofree char *why = g_strdup_printf("%s (pid %d) %s", helper_child_name(h),
					       (int)helper_child_pid(h), how);
	bool webview = h == m->webview;
	if (h == m->adb_proxy) {
		helper_child_stop(g_steal_pointer(&m->adb_proxy), 0);
		adb_connector_stop(g_steal_pointer(&m->adb));
	}
	if (webview)
		helper_child_stop(g_steal_pointer(&m->webview), 0);
	if (m->restart_subprocesses) {
		g_autoptr(GError) err = NULL;
		mlog(m, "%s; --restart_subprocesses: starting it again", why);
		if (!webview)
			start_adb(m);
		else if (!start_webview(m, &err))
			mlog(m, "%s", err->message);
		return;
	}
	set_failed(m, why);
	begin(m, AFTER_HALT, DEFAULT_GUEST_TIMEOUT_S);
}

static void on_booted(void *opaque)
{
	Monitor *m = opaque;
	m->booted = true;
	if (m->state == SEPIA__CONTROL__STATE__BOOTING)
		m->state = SEPIA__CONTROL__STATE__RUNNING;
	double vmm_s = (double)(g_get_monotonic_time() - vmm_child_started_us(m->vmm)) / 1e6;
	double total_s = (double)(g_get_monotonic_time() - m->launch_us) / 1e6;
	mlog(m, "guest %s on slot %s, %.3f s after the VMM started",
	     m->boot_snapshot.entry ? "boot completed from the boot snapshot"
	     : m->restored_from     ? "restored from its snapshot"
				    : "boot completed",
	     m->slot_suffix, vmm_s);
	g_autofree char *line = g_strdup_printf(
		VMM_MARKER_COMPLETED " %s vmm_to_boot_s=%.3f monitor_to_boot_s=%.3f%s%s", m->inst.name, vmm_s,
		total_s, m->restored_from ? " restored_from=" : "", m->restored_from ? m->restored_from : "");
	if (m->ready_fd >= 0 && !m->ready_line)
		m->ready_line = g_steal_pointer(&line);
	start_adb(m);
}

static void on_boot_failed(void *opaque, const char *line)
{
	Monitor *m = opaque;
	mlog(m, "the guest reports a failed boot: %s", line);
	report_ready(m, VMM_MARKER_FAILED);
}

/* ---- stopping the VMM: poweroff request, SIGTERM, SIGKILL */

static gboolean on_stop_timer(gpointer data)
{
	Monitor *m = data;
	m->stop_timer = 0;
	if (!m->vmm)
		return G_SOURCE_REMOVE;
	if (!m->term_sent) {
		/* The guest did not power off in time (or could not be asked): SIGTERM, a clean stop. */
		mlog(m, "sending SIGTERM to sepia-vmm (pid %d)", (int)vmm_child_pid(m->vmm));
		vmm_child_signal(m->vmm, SIGTERM);
		m->term_sent = true;
		m->stop_timer = g_timeout_add_seconds(SIGTERM_GRACE_S, on_stop_timer, m);
		return G_SOURCE_REMOVE;
	}
	mlog(m, "sepia-vmm (pid %d) ignored SIGTERM for %d s: SIGKILL", (int)vmm_child_pid(m->vmm),
	     SIGTERM_GRACE_S);
	vmm_child_signal(m->vmm, SIGKILL);
	return G_SOURCE_REMOVE;
}

static void stop_vmm(Monitor *m, guint guest_timeout_s)
{
	bool was_running = m->state == SEPIA__CONTROL__STATE__RUNNING;
	m->state = SEPIA__CONTROL__STATE__STOPPING;
	if (m->stop_timer || m->term_sent)
		return; /* already on its way */
	if (was_running && vmm_child_request_poweroff(m->vmm)) {
		mlog(m, "asked the guest to power off (up to %u s)", guest_timeout_s);
		m->stop_timer = g_timeout_add_seconds(guest_timeout_s, on_stop_timer, m);
	} else {
		m->stop_timer = g_idle_add(on_stop_timer, m);
	}
}

/* ---- the control protocol */

static void fill_status(const Monitor *m, ControlStatus *st, char *adb_serial)
{
	st->instance_name = m->inst.name;
	st->instance_dir = m->inst.dir;
	st->assembly_dir = m->inst.assembly_dir;
	st->adb_serial = adb_serial;
	st->state = m->state;
	st->pid = (int32_t)getpid();
	st->vmm_pid = m->vmm ? (int32_t)vmm_child_pid(m->vmm) : 0;
	st->cpus = m->cpus;
	st->memory_mb = m->memory_mb;
	st->uptime_s = m->vmm ? (uint64_t)((g_get_monotonic_time() - vmm_child_started_us(m->vmm)) /
					   G_USEC_PER_SEC)
			      : 0;
	st->boot_slot = (char *)m->slot_suffix;
	st->verified_boot_state = m->boots ? (char *)sepia_boot_state_name(m->boot_state) : (char *)"";
	st->boots = m->boots;
	st->failure = m->failure ? m->failure : (char *)"";
	st->vsock_cid = m->inst.vsock_cid;
	st->serial_number = m->inst.serial_number;
	st->restored_from = m->restored_from ? m->restored_from : (char *)"";
}

static void answer(Monitor *m, int fd, bool ok, const char *error_text)
{
	ControlResponse resp = SEPIA__CONTROL__RESPONSE__INIT;
	ControlStatus st = SEPIA__CONTROL__INSTANCE_STATUS__INIT;
	fill_status(m, &st, m->adb_serial);
	resp.ok = ok;
	resp.error = (char *)(error_text ? error_text : "");
	resp.status = &st;
	g_autoptr(GError) err = NULL;
	if (!control_server_answer(fd, &resp.base, &err))
		mlog(m, "%s", err->message);
}

static void answer_waiting(Monitor *m, bool ok, const char *error_text)
{
	for (guint i = 0; i < m->waiting->len; i++)
		answer(m, GPOINTER_TO_INT(m->waiting->pdata[i]), ok, error_text);
	g_ptr_array_set_size(m->waiting, 0);
}

static void finish(Monitor *m, int status)
{
	stop_adb(m);
	if (m->webview) {
		mlog(m, "stopping the web view (pid %d)", (int)helper_child_pid(m->webview));
		helper_child_stop(g_steal_pointer(&m->webview), 3000);
	}
	answer_waiting(m, true, NULL);
	m->exit_status = status;
	g_main_loop_quit(m->loop);
}

static void on_control_log(void *opaque, const char *message) { mlog(opaque, "%s", message); }

/* A whole request from the control server (launcher/control_server.h); c is the client's fd. */
static void on_request(void *data, int c, const ControlRequest *req)
{
	Monitor *m = data;
	guint guest_timeout = req->guest_timeout_s ? req->guest_timeout_s : DEFAULT_GUEST_TIMEOUT_S;
	switch (req->command) {
	case SEPIA__CONTROL__REQUEST__COMMAND__STATUS:
		answer(m, c, true, NULL);
		break;
	case SEPIA__CONTROL__REQUEST__COMMAND__STOP:
	case SEPIA__CONTROL__REQUEST__COMMAND__RESTART:
	case SEPIA__CONTROL__REQUEST__COMMAND__POWERWASH: {
		AfterVmm after = req->command == SEPIA__CONTROL__REQUEST__COMMAND__STOP ? AFTER_STOP
				 : req->command == SEPIA__CONTROL__REQUEST__COMMAND__RESTART
					 ? AFTER_RESTART
					 : AFTER_POWERWASH;
		if (m->after == AFTER_STOP && after != AFTER_STOP) {
			answer(m, c, false, "the instance is stopping");
			break;
		}
		mlog(m, "control: %s requested",
		     after == AFTER_STOP      ? "stop"
		     : after == AFTER_RESTART ? "restart"
					      : "powerwash");
		g_ptr_array_add(m->waiting, GINT_TO_POINTER(c));
		begin(m, after, guest_timeout);
		break;
	}
	case SEPIA__CONTROL__REQUEST__COMMAND__SUSPEND:
	case SEPIA__CONTROL__REQUEST__COMMAND__RESUME:
	case SEPIA__CONTROL__REQUEST__COMMAND__SNAPSHOT_TAKE: {
		g_autoptr(GError) e = NULL;
		bool ok = suspend_serve(m->vmm, m->inst.name, &m->state, req, &e);
		mlog(m, "control: %s: %s", suspend_command_name(req->command), ok ? "done" : e->message);
		answer(m, c, ok, ok ? NULL : e->message);
		break;
	}
	default:
		answer(m, c, false, "unknown command");
		break;
	}
}

/* ---- what happens when the VMM is gone */

static bool powerwash(Monitor *m, GError **error)
{
	return assemble_powerwash(m->system_image_dir, m->home, m->inst.num, m->blank_data_mb, m->data_policy,
				  error);
}

static void boot_again(Monitor *m)
{
	if (start_boot(m))
		answer_waiting(m, true, NULL);
	else
		answer_waiting(m, false, m->failure);
}

static void after_vmm(Monitor *m)
{
	AfterVmm after = m->after;
	m->after = AFTER_NOTHING;
	if (m->stop_timer)
		g_source_remove(m->stop_timer);
	m->stop_timer = 0;
	m->term_sent = false;
	switch (after) {
	case AFTER_STOP:
		mlog(m, "stopped");
		finish(m, 0);
		return;
	case AFTER_HALT:
		stop_adb(m);
		mlog(m, "the instance stays Failed until stop_cvd");
		return;
	case AFTER_POWERWASH: {
		g_autoptr(GError) err = NULL;
		if (!powerwash(m, &err)) {
			set_failed(m, err->message);
			answer_waiting(m, false, err->message);
			return;
		}
		mlog(m, "powerwash: a new overlay.qcow2, user data reset");
	}
		/* fall through */
	case AFTER_RESTART:
	case AFTER_NOTHING:
		boot_again(m);
		return;
	}
}

/* The guest waits at the boot snapshot point (launcher/boot_snapshot.h). */
static void on_snapshot_point(void *opaque)
{
	Monitor *m = opaque;
	boot_snapshot_at_point(&m->boot_snapshot, m->vmm, m->inst.name);
	if (!vmm_child_continue_boot(m->vmm))
		mlog(m, "cannot tell the guest to go on from the boot snapshot point");
}

static void on_vmm_exited(void *opaque, int wait_status)
{
	Monitor *m = opaque;
	g_autofree char *how = launcher_describe_wait_status(wait_status);
	pid_t pid = vmm_child_pid(m->vmm);
	g_clear_pointer(&m->vmm, vmm_child_free);
	mlog(m, "sepia-vmm (pid %d) %s", (int)pid, how);
	if (m->booted) {
		g_autoptr(GError) mark_err = NULL;
		if (sepia_bootdisk_mark_successful(m->inst.overlay_path, m->slot, &mark_err))
			mlog(m, "misc: slot %s marked successful", m->slot_suffix);
		else
			mlog(m, "cannot mark slot %s successful: %s", m->slot_suffix, mark_err->message);
	}
	if (m->after != AFTER_NOTHING) {
		after_vmm(m);
		return;
	}
	bool exited = WIFEXITED(wait_status);
	/* A boot snapshot the VMM refused (corrupt, of another build), or whose guest ended before
	 * its boot completed (so a reboot cannot restore it again and again), never fails the
	 * launch: it goes, and the device boots cold. */
	if (m->boot_snapshot.entry && !m->booted) {
		boot_snapshot_refused(&m->boot_snapshot, m->inst.name, how);
		boot_again(m);
		return;
	}
	if (exited && WEXITSTATUS(wait_status) == VMM_EXIT_POWEROFF) {
		mlog(m, "the guest powered off: stopping the instance");
		if (!m->booted)
			set_failed(m, "the guest powered off before it finished booting");
		finish(m, 0);
		return;
	}
	if (exited && WEXITSTATUS(wait_status) == VMM_EXIT_RESET) {
		mlog(m, "the guest rebooted: bootloader step again");
		boot_again(m);
		return;
	}
	g_autofree char *why = g_strdup_printf("sepia-vmm %s (see %s/launcher.log)", how, m->inst.logs_dir);
	set_failed(m, why);
	if (m->restart_subprocesses) {
		mlog(m, "--restart_subprocesses: starting the guest again");
		boot_again(m);
	}
}

/* Asks for `after` once the VMM is gone; with no VMM, does it now. */
static void begin(Monitor *m, AfterVmm after, guint guest_timeout_s)
{
	if (after > m->after)
		m->after = after;
	if (m->vmm)
		stop_vmm(m, guest_timeout_s);
	else
		after_vmm(m);
}

static gboolean on_signal(gpointer data)
{
	Monitor *m = data;
	mlog(m, "signal received: stopping");
	begin(m, AFTER_STOP, DEFAULT_GUEST_TIMEOUT_S);
	return G_SOURCE_CONTINUE;
}

/* ---- main */

static const char synopsis[] =
	"usage: run_cvd --instance_num=N [flags]   (started by launch_cvd; one per instance)\n"
	"Runs the bootloader step and sepia-vmm for instance N and answers stop_cvd and cvd_status.";

int main(int argc, char **argv)
{
	Monitor m = { .ready_fd = -1, .listen_fd = -1, .lock_fd = -1, .slot = -1 };
	guint64 num = 0, cpus = 2, mem = 2048, ready_fd = G_MAXUINT64, data_mb = 2048, lock_fd = G_MAXUINT64,
		log_mb = CAPPED_LOG_DEFAULT_MAX_MB;
	bool console = false, restart = false, webview = false, rng = false;
	const char *extra = NULL, *key = NULL, *sysdir = NULL, *policy = "use_existing", *gpu_mode = "none",
		   *displays = NULL, *allowed_hosts = NULL, *sandbox = "auto",
		   *listen_address = LAUNCHER_DEFAULT_LISTEN_ADDRESS, *snapshot_path = NULL,
		   *boot_snapshot = "auto", *boot_snapshot_dir = NULL;
	struct cli_flag flags[] = {
		FLAG_UINT("instance_num", &num, 1, LAUNCHER_MAX_INSTANCE, "the instance (cvd-N)"),
		FLAG_UINT("cpus", &cpus, 1, 64, "vCPUs"),
		FLAG_UINT("memory_mb", &mem, 64, 1 << 20, "guest RAM in MiB"),
		FLAG_BOOL("console", &console,
			  "a pty on hvc0 with a shell, linked as <instance_dir>/console"),
		FLAG_BOOL("restart_subprocesses", &restart, "start the guest again when the VMM dies"),
		FLAG_STRING("extra_kernel_cmdline", &extra, "words added to the kernel command line"),
		FLAG_STRING("avb_key", &key, "trusted AVB public key (PEM or AVB): green instead of yellow"),
		FLAG_STRING("system_image_dir", &sysdir, "the images, for powerwash"),
		FLAG_UINT("blank_data_image_mb", &data_mb, 1, 1u << 24, "userdata size, for powerwash"),
		FLAG_STRING("data_policy", &policy, "data policy, for powerwash"),
		FLAG_UINT("ready_fd", &ready_fd, 0, 1024, "where to say whether the first boot completed"),
		FLAG_STRING("gpu_mode", &gpu_mode, "auto, drm_virgl, guest_swiftshader or none"),
		FLAG_STRING("displays", &displays, "the scanouts, width=W,height=H,dpi=D separated by ';'"),
		FLAG_BOOL("start_webview", &webview,
			  "serve the screen on http://<listen_address>:<8443+N-1>/"),
		FLAG_STRING("listen_address", &listen_address,
			    "where the adb proxy and the web view listen (default 127.0.0.1)"),
		FLAG_STRING("sandbox", &sandbox, "auto (jail and filter the VMM) or off"),
		FLAG_BOOL("enable_rng", &rng, "a virtio-rng device (entropy from the host's getrandom)"),
		FLAG_STRING("webview_allowed_hosts", &allowed_hosts,
			    "host names the web view answers besides localhost, comma-separated"),
		FLAG_UINT("instance_lock_fd", &lock_fd, 0, 1024,
			  "the instance lock launch_cvd took (without it, run_cvd takes it)"),
		FLAG_UINT("kernel_log_max_mb", &log_mb, 1, 1u << 20,
			  "logs/kernel.log rotates to kernel.log.1 at this size (default 64)"),
		FLAG_STRING("snapshot_path", &snapshot_path,
			    "start the first boot from the snapshot in DIR/cvd-N (snapshot_util_cvd's)"),
		FLAG_STRING("boot_snapshot", &boot_snapshot,
			    "auto (restore the boot snapshot when its key matches, else take it) or off"),
		FLAG_STRING("boot_snapshot_dir", &boot_snapshot_dir,
			    "the boot snapshot cache (default $" BOOT_SNAPSHOT_ENV_DIR
			    ", else ~/.cache/sepia/boot-snapshots)"),
	};
	g_autoptr(GError) err = NULL;
	enum cli_flags_result r = cli_flags_parse(flags, G_N_ELEMENTS(flags), synopsis, argc, argv, &err);
	if (r == CLI_FLAGS_HELP)
		return 0;
	if (r == CLI_FLAGS_OK &&
	    (!flags[0].seen || !sysdir || !assemble_parse_data_policy(policy, &m.data_policy)))
		g_set_error(&err, LAUNCHER_ERROR, EINVAL,
			    "--instance_num, --system_image_dir and a valid --data_policy are required");
	else if (r == CLI_FLAGS_OK && !(m.gpu = launcher_vmm_gpu_mode(gpu_mode)))
		g_set_error(&err, LAUNCHER_ERROR, EINVAL,
			    "--gpu_mode=%s: give auto, drm_virgl, guest_swiftshader or none", gpu_mode);
	else if (r == CLI_FLAGS_OK && strcmp(boot_snapshot, "auto") && strcmp(boot_snapshot, "off"))
		g_set_error(&err, LAUNCHER_ERROR, EINVAL, "--boot_snapshot=%s: give auto or off",
			    boot_snapshot);
	else if (r == CLI_FLAGS_OK && !vmm_jail_valid_mode(sandbox))
		g_set_error(&err, LAUNCHER_ERROR, EINVAL, "--sandbox=%s: give auto or off", sandbox);
	else if (r == CLI_FLAGS_OK)
		launcher_check_listen_address(listen_address, &err);
	if (err) {
		fprintf(stderr, "run_cvd: %s (see --help)\n", err->message);
		return 2;
	}
	umask(LAUNCHER_UMASK);
	m.home = launcher_home();
	launcher_instance_init(&m.inst, m.home, (guint)num);
	g_log_set_default_handler(glib_log, m.inst.name);
	m.cpus = (guint)cpus, m.memory_mb = (guint)mem, m.console = console, m.restart_subprocesses = restart;
	m.extra_cmdline = extra, m.avb_key_path = key, m.system_image_dir = sysdir, m.blank_data_mb = data_mb;
	m.ready_fd = ready_fd == G_MAXUINT64 ? -1 : (int)ready_fd;
	m.displays = displays && *displays ? g_strsplit(displays, ";", LAUNCHER_MAX_DISPLAYS) : NULL;
	m.start_webview = webview && strcmp(m.gpu, "none");
	m.sandbox = sandbox;
	m.webview_allowed_hosts = allowed_hosts;
	m.enable_rng = rng;
	m.listen_address = listen_address;
	m.adb_serial = g_strdup_printf("%s:%u", launcher_client_address(listen_address), m.inst.adb_port);
	m.kernel_log_max_mb = log_mb;
	m.snapshot_path = snapshot_path && *snapshot_path ? snapshot_path : NULL;
	if (!strcmp(boot_snapshot, "auto"))
		m.boot_snapshot.cache = boot_snapshot_dir && *boot_snapshot_dir
						? g_canonicalize_filename(boot_snapshot_dir, NULL)
						: boot_snapshot_default_cache();
	m.launch_us = g_get_monotonic_time();
	m.waiting = g_ptr_array_new();
	m.exit_status = 1;
	signal(SIGPIPE, SIG_IGN);

	/* The instance lock first: with it, nothing else of this instance runs, so what a killed
	 * monitor left may be replaced. Without it, the one running is left alone. */
	if (lock_fd != G_MAXUINT64) {
		m.lock_fd = (int)lock_fd;
		if (!launcher_instance_lock_adopt(&m.inst, m.lock_fd, &err))
			m.lock_fd = -1;
	} else {
		m.lock_fd = launcher_instance_lock(&m.inst, &err);
	}
	if (m.lock_fd < 0) {
		report_ready(&m, err->message);
		fprintf(stderr, "run_cvd: %s\n", err->message);
		return 1;
	}
	g_autoptr(ControlResponse) other = control_call(
		m.inst.socket_path, SEPIA__CONTROL__REQUEST__COMMAND__STATUS, 0, 2000, NULL);
	if (other) {
		g_autofree char *why = g_strdup_printf("%s is already running (monitor pid %d)", m.inst.name,
						       other->status ? other->status->pid : 0);
		report_ready(&m, why);
		fprintf(stderr, "run_cvd: %s\n", why);
		return 1;
	}
	if (key) {
		m.avb_key = sepia_avb_load_public_key(key, &err);
		if (!m.avb_key) {
			set_failed(&m, err->message);
			return 1;
		}
	}
	m.listen_fd = control_listen(m.inst.socket_path, &err);
	if (m.listen_fd < 0 || !launcher_instance_write_pid(&m.inst, &err)) {
		set_failed(&m, err->message);
		launcher_remove_runtime_files(&m.inst);
		return 1;
	}
	mlog(&m, "monitor started (pid %d): %u vCPUs, %u MiB, control socket %s", (int)getpid(), m.cpus,
	     m.memory_mb, m.inst.socket_path);

	m.loop = g_main_loop_new(NULL, FALSE);
	m.control = control_server_new(m.listen_fd, geteuid(), CONTROL_SERVER_TIMEOUT_MS, on_request,
				       on_control_log, &m);
	guint sources[] = {
		g_unix_signal_add(SIGTERM, on_signal, &m),
		g_unix_signal_add(SIGINT, on_signal, &m),
		g_unix_signal_add(SIGHUP, on_signal, &m),
	};
	/* The web view serves the screen from the start, boot included. */
	if (m.start_webview && !start_webview(&m, &err))
		set_failed(&m, err->message);
	/* A first boot that fails leaves the monitor up, reporting Failed, until stop_cvd. */
	else
		start_boot(&m);
	g_main_loop_run(m.loop);

	for (guint i = 0; i < G_N_ELEMENTS(sources); i++)
		g_source_remove(sources[i]);
	control_server_free(m.control);
	close(m.listen_fd);
	launcher_remove_runtime_files(&m.inst);
	mlog(&m, "monitor exits with status %d", m.exit_status);
	g_main_loop_unref(m.loop);
	g_ptr_array_free(m.waiting, TRUE);
	if (m.avb_key)
		g_bytes_unref(m.avb_key);
	g_free(m.failure);
	g_free(m.restored_from);
	boot_snapshot_clear(&m.boot_snapshot);
	g_strfreev(m.displays);
	g_free(m.adb_serial);
	launcher_instance_clear(&m.inst);
	close(m.lock_fd); /* last: the instance is free once everything of it is gone */
	return m.exit_status;
}
