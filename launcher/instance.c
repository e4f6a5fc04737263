/* launcher/instance.c — see instance.h. */
#include "launcher/instance.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "display/framebuffer.h"

G_DEFINE_QUARK(sepia - launcher - error - quark, launcher_error)

const char *launcher_home(void)
{
	const char *home = g_getenv("HOME");
	return home && *home ? home : g_get_home_dir();
}

void launcher_instance_init(LauncherInstance *inst, const char *home, guint num)
{
	inst->num = num;
	inst->name = g_strdup_printf("cvd-%u", num);
	inst->serial_number = g_strdup_printf(LAUNCHER_SERIAL_PREFIX "%02u", num);
	inst->dir = g_build_filename(home, "cuttlefish", "instances", inst->name, NULL);
	inst->logs_dir = g_build_filename(inst->dir, "logs", NULL);
	inst->socket_path = g_build_filename(inst->dir, "launcher_monitor.sock", NULL);
	inst->pid_path = g_build_filename(inst->dir, "run_cvd.pid", NULL);
	inst->config_path = g_build_filename(inst->dir, "cuttlefish_config.json", NULL);
	inst->console_link = g_build_filename(inst->dir, "console", NULL);
	inst->overlay_path = g_build_filename(inst->dir, "overlay.qcow2", NULL);
	inst->vsock_socket = g_build_filename(inst->dir, "vsock.sock", NULL);
	inst->lock_path = g_build_filename(inst->dir, "instance.lock", NULL);
	inst->assembly_dir = g_build_filename(home, "cuttlefish", "assembly", NULL);
	inst->adb_port = LAUNCHER_ADB_BASE_PORT + num - 1;
	inst->webview_port = LAUNCHER_WEBVIEW_BASE_PORT + num - 1;
	inst->vsock_cid = LAUNCHER_VSOCK_BASE_CID + num - 1;
}

void launcher_instance_clear(LauncherInstance *inst)
{
	g_free(inst->name);
	g_free(inst->serial_number);
	g_free(inst->dir);
	g_free(inst->logs_dir);
	g_free(inst->socket_path);
	g_free(inst->pid_path);
	g_free(inst->config_path);
	g_free(inst->console_link);
	g_free(inst->overlay_path);
	g_free(inst->vsock_socket);
	g_free(inst->lock_path);
	g_free(inst->assembly_dir);
	memset(inst, 0, sizeof(*inst));
}

static gint compare_uint(gconstpointer a, gconstpointer b)
{
	guint x = *(const guint *)a, y = *(const guint *)b;
	return x < y ? -1 : x > y;
}

GArray *launcher_list_instances(const char *home)
{
	GArray *nums = g_array_new(FALSE, FALSE, sizeof(guint));
	g_autofree char *dir = g_build_filename(home, "cuttlefish", "instances", NULL);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d))) {
		guint64 n;
		if (g_str_has_prefix(name, "cvd-") &&
		    g_ascii_string_to_unsigned(name + 4, 10, 1, G_MAXUINT, &n, NULL)) {
			guint v = (guint)n;
			g_array_append_val(nums, v);
		}
	}
	g_array_sort(nums, compare_uint);
	return nums;
}

pid_t launcher_read_pid(const LauncherInstance *inst)
{
	g_autofree char *text = NULL;
	guint64 pid;
	if (!g_file_get_contents(inst->pid_path, &text, NULL, NULL))
		return 0;
	g_strstrip(text);
	if (!g_ascii_string_to_unsigned(text, 10, 2, G_MAXINT32, &pid, NULL))
		return 0;
	return (pid_t)pid;
}

/* Only sepia's own processes count, so that a pid reused by something else after a crash is
 * never taken for the instance (and never killed by stop_cvd). */
bool launcher_group_alive(pid_t pgid)
{
	if (pgid <= 1)
		return false;
	g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
	const char *name;
	while (proc && (name = g_dir_read_name(proc))) {
		if (!g_ascii_isdigit(name[0]))
			continue;
		g_autofree char *path = g_build_filename("/proc", name, "stat", NULL);
		g_autofree char *stat = NULL;
		if (!g_file_get_contents(path, &stat, NULL, NULL))
			continue;
		/* "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses. */
		char *open = strchr(stat, '('), *close = strrchr(stat, ')');
		if (!open || !close || close < open)
			continue;
		*close = '\0';
		const char *comm = open + 1;
		char state;
		int ppid, pgrp;
		if (sscanf(close + 1, " %c %d %d", &state, &ppid, &pgrp) != 3 || pgrp != pgid || state == 'Z')
			continue;
		if (!strcmp(comm, "run_cvd") || !strcmp(comm, "sepia-vmm"))
			return true;
	}
	return false;
}

void launcher_remove_runtime_files(const LauncherInstance *inst)
{
	unlink(inst->socket_path);
	unlink(inst->pid_path);
	unlink(inst->console_link);
	unlink(inst->vsock_socket);
	/* sepia-vmm removes its input sockets, but not from its jail (a read-only root). */
	const char *const inputs[] = { LAUNCHER_INPUT_KEYBOARD_SOCKET, LAUNCHER_INPUT_BUTTONS_SOCKET };
	for (guint i = 0; i < G_N_ELEMENTS(inputs); i++) {
		g_autofree char *path = g_build_filename(inst->dir, inputs[i], NULL);
		unlink(path);
	}
	for (guint i = 0; i < LAUNCHER_MAX_DISPLAYS; i++) {
		g_autofree char *fb = fb_file_path(inst->dir, i);
		g_autofree char *name = g_strdup_printf(LAUNCHER_INPUT_TOUCH_SOCKET, i);
		g_autofree char *touch = g_build_filename(inst->dir, name, NULL);
		unlink(fb);
		unlink(touch);
	}
}

/* ---- the instance lock */

static int ofd_lock(int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };
	return fcntl(fd, F_OFD_SETLK, &fl);
}

static bool write_holder_pid(int fd)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
	return ftruncate(fd, 0) == 0 && pwrite(fd, text, (size_t)n, 0) == n;
}

static pid_t read_holder_pid(const char *path)
{
	g_autofree char *text = NULL;
	guint64 pid;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	g_strstrip(text);
	if (!g_ascii_string_to_unsigned(text, 10, 2, G_MAXINT32, &pid, NULL))
		return 0;
	return (pid_t)pid;
}

static bool pid_exists(pid_t pid) { return pid > 1 && (kill(pid, 0) == 0 || errno == EPERM); }

/* The holder writes its pid right after it took the lock: a loser that looks in between sees
 * the previous holder's pid or none, so it looks again for a moment. */
static pid_t wait_holder_pid(const char *path)
{
	pid_t pid = 0;
	for (guint i = 0; i < 50; i++) {
		pid = read_holder_pid(path);
		if (pid_exists(pid))
			return pid;
		g_usleep(10 * 1000);
	}
	return pid_exists(pid) ? pid : -1;
}

static void set_busy_error(const LauncherInstance *inst, GError **error)
{
	pid_t pid = wait_holder_pid(inst->lock_path);
	g_autofree char *who = pid > 0 ? g_strdup_printf("pid %d", (int)pid) : g_strdup("a process");
	g_set_error(error, LAUNCHER_ERROR, EBUSY,
		    "%s is already running (%s holds %s); stop it with stop_cvd first", inst->name, who,
		    inst->lock_path);
}

int launcher_instance_lock(const LauncherInstance *inst, GError **error)
{
	if (g_mkdir_with_parents(inst->dir, 0750) < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "%s: cannot create %s: %s", inst->name, inst->dir,
			    g_strerror(errno));
		return -1;
	}
	int fd = open(inst->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "%s: cannot open %s: %s", inst->name,
			    inst->lock_path, g_strerror(errno));
		return -1;
	}
	if (ofd_lock(fd, F_WRLCK) < 0) {
		int e = errno;
		close(fd);
		if (e == EAGAIN || e == EACCES)
			set_busy_error(inst, error);
		else
			g_set_error(error, LAUNCHER_ERROR, e, "%s: cannot lock %s: %s", inst->name,
				    inst->lock_path, g_strerror(e));
		return -1;
	}
	if (!write_holder_pid(fd)) {
		int e = errno;
		close(fd);
		g_set_error(error, LAUNCHER_ERROR, e, "%s: cannot write %s: %s", inst->name, inst->lock_path,
			    g_strerror(e));
		return -1;
	}
	return fd;
}

bool launcher_instance_lock_adopt(const LauncherInstance *inst, int fd, GError **error)
{
	struct stat held, named;
	if (fstat(fd, &held) < 0 || stat(inst->lock_path, &named) < 0 || held.st_dev != named.st_dev ||
	    held.st_ino != named.st_ino) {
		g_set_error(error, LAUNCHER_ERROR, EBADF,
			    "%s: fd %d is not %s (start the device with launch_cvd)", inst->name, fd,
			    inst->lock_path);
		return false;
	}
	/* Taking it again through the same open file description succeeds only when it holds it. */
	if (ofd_lock(fd, F_WRLCK) < 0) {
		if (errno == EAGAIN || errno == EACCES)
			set_busy_error(inst, error);
		else
			g_set_error(error, LAUNCHER_ERROR, errno, "%s: cannot lock %s: %s", inst->name,
				    inst->lock_path, g_strerror(errno));
		return false;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || !write_holder_pid(fd)) {
		g_set_error(error, LAUNCHER_ERROR, errno, "%s: cannot write %s: %s", inst->name,
			    inst->lock_path, g_strerror(errno));
		return false;
	}
	return true;
}

pid_t launcher_instance_lock_holder(const LauncherInstance *inst)
{
	int fd = open(inst->lock_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int r = fcntl(fd, F_OFD_GETLK, &fl);
	close(fd);
	if (r < 0 || fl.l_type == F_UNLCK)
		return 0;
	return wait_holder_pid(inst->lock_path);
}

const char *launcher_vmm_gpu_mode(const char *gpu_mode)
{
	static const char *const map[][2] = {
		{ "auto", "auto" },
		{ "drm_virgl", "virgl" },
		{ "guest_swiftshader", "2d" },
		{ "none", "none" },
	};
	for (guint i = 0; i < G_N_ELEMENTS(map); i++)
		if (!strcmp(gpu_mode, map[i][0]))
			return map[i][1];
	return NULL;
}

bool launcher_check_listen_address(const char *text, GError **error)
{
	struct in_addr a;
	if (text && inet_pton(AF_INET, text, &a) == 1)
		return true;
	g_set_error(error, LAUNCHER_ERROR, EINVAL,
		    "--listen_address=%s: give an IPv4 address (127.0.0.1: this host only; 0.0.0.0: every "
		    "address, as in a container)",
		    text ? text : "");
	return false;
}

const char *launcher_client_address(const char *listen_address)
{
	struct in_addr a;
	if (inet_pton(AF_INET, listen_address, &a) == 1 && a.s_addr == htonl(INADDR_ANY))
		return "127.0.0.1";
	return listen_address;
}

char *launcher_describe_wait_status(int st)
{
	if (WIFEXITED(st))
		return g_strdup_printf("exited with status %d", WEXITSTATUS(st));
	if (WIFSIGNALED(st))
		return g_strdup_printf("killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	return g_strdup_printf("ended with wait status 0x%x", st);
}

void launcher_log_text(const char *instance, const char *message)
{
	log_line("run_cvd", instance, "%s", message);
}

void launcher_log(const char *instance, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	launcher_log_text(instance, msg);
}

bool launcher_replace_symlink(const char *link, const char *target, GError **error)
{
	g_autofree char *tmp = g_strconcat(link, ".tmp", NULL);
	unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, link) < 0) {
		int e = errno;
		unlink(tmp);
		g_set_error(error, LAUNCHER_ERROR, e, "cannot link %s -> %s: %s", link, target,
			    g_strerror(e));
		return false;
	}
	return true;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

bool launcher_remove_tree(const char *path, GError **error)
{
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT) {
		g_set_error(error, LAUNCHER_ERROR, errno, "cannot remove %s: %s", path, g_strerror(errno));
		return false;
	}
	return true;
}

char *launcher_program_dir(void)
{
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	return exe ? g_path_get_dirname(exe) : g_strdup(".");
}

char *launcher_sibling_program(const char *name)
{
	g_autofree char *dir = launcher_program_dir();
	return g_build_filename(dir, name, NULL);
}

/* Host networking, when sepia-host-resources made the instance's TAPs (account N): cvd-etap-NN
 * on the ethernet bridge, the guest asks dnsmasq for an address; cvd-mtap-NN, the guest takes
 * 192.168.97.(4N-2)/30 with the host at .(4N-3). Each NIC gets a MAC of its own per instance. */
void launcher_instance_networks(const LauncherInstance *inst, GPtrArray *nets, GString *cmdline)
{
	guint n = inst->num, nic = 0;
	g_autofree char *etap = g_strdup_printf("cvd-etap-%02u", n),
			*mtap = g_strdup_printf("cvd-mtap-%02u", n);
	g_autofree char *esys = g_build_filename("/sys/class/net", etap, NULL),
			*msys = g_build_filename("/sys/class/net", mtap, NULL);
	if (g_file_test(esys, G_FILE_TEST_EXISTS)) {
		g_ptr_array_add(nets,
				g_strdup_printf("tap=%s,mac=52:54:00:01:%02x:%02x", etap, n >> 8, n & 0xff));
		g_string_append_printf(cmdline, " sepia.net=eth%u:dhcp", nic++);
	}
	if (g_file_test(msys, G_FILE_TEST_EXISTS) && n <= 64) {
		g_ptr_array_add(nets,
				g_strdup_printf("tap=%s,mac=52:54:00:02:%02x:%02x", mtap, n >> 8, n & 0xff));
		g_string_append_printf(cmdline, " sepia.net=eth%u:192.168.97.%u/30,gw=192.168.97.%u", nic++,
				       4 * n - 2, 4 * n - 3);
	}
	if (nic)
		launcher_log(inst->name, "networking: %s%s%s", nets->len ? (char *)nets->pdata[0] : "",
			     nets->len > 1 ? ", " : "", nets->len > 1 ? (char *)nets->pdata[1] : "");
	else
		launcher_log(inst->name,
			     "networking off: no %s or %s (sepia-host-resources start makes them)", etap,
			     mtap);
}

bool launcher_instance_write_pid(const LauncherInstance *inst, GError **error)
{
	g_autofree char *text = g_strdup_printf("%d\n", (int)getpid());
	return g_file_set_contents(inst->pid_path, text, -1, error);
}
