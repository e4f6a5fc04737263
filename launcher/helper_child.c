/* launcher/helper_child.c — see helper_child.h. */
#include "launcher/helper_child.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/instance.h"

struct HelperChild {
	char *name;
	pid_t pid;
	guint watch;
	HelperExitedFn exited;
	void *opaque;
};

static void child_setup(gpointer unused) { prctl(PR_SET_PDEATHSIG, SIGTERM); }

static void on_exit_cb(GPid pid, gint status, gpointer data)
{
	HelperChild *h = data;
	h->watch = 0;
	h->pid = 0;
	g_spawn_close_pid(pid);
	h->exited(h->opaque, h, status);
}

HelperChild *helper_child_start(const char *name, const char *const *argv, HelperExitedFn exited,
				void *opaque, GError **error)
{
	GPid pid;
	if (!g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, child_setup, NULL, &pid,
			   error)) {
		g_prefix_error(error, "%s: cannot start %s: ", name, argv[0]);
		return NULL;
	}
	HelperChild *h = g_new0(HelperChild, 1);
	h->name = g_strdup(name);
	h->pid = pid;
	h->exited = exited;
	h->opaque = opaque;
	h->watch = g_child_watch_add(pid, on_exit_cb, h);
	return h;
}

const char *helper_child_name(const HelperChild *h) { return h->name; }

pid_t helper_child_pid(const HelperChild *h) { return h->pid; }

void helper_child_stop(HelperChild *h, guint grace_ms)
{
	if (!h)
		return;
	if (h->watch)
		g_source_remove(h->watch);
	if (h->pid > 0) {
		kill(h->pid, SIGTERM);
		int status;
		guint waited = 0;
		while (waitpid(h->pid, &status, WNOHANG) == 0) {
			if (waited >= grace_ms) {
				kill(h->pid, SIGKILL);
				waitpid(h->pid, &status, 0);
				break;
			}
			g_usleep(20 * 1000);
			waited += 20;
		}
	}
	g_free(h->name);
	g_free(h);
}

HelperChild *helper_child_start_adb_proxy(const LauncherInstance *inst, const char *listen_address,
					  HelperExitedFn exited, void *opaque, GError **error)
{
	g_autofree char *proxy = launcher_sibling_program("sepia-vsock-proxy");
	g_autofree char *listen = g_strdup_printf("--listen=%s:%u", listen_address, inst->adb_port);
	g_autofree char *sock = g_strdup_printf("--vsock_socket=%s", inst->vsock_socket);
	const char *argv[] = { proxy, listen, sock, "--port=5555", NULL };
	HelperChild *h = helper_child_start("adb proxy", argv, exited, opaque, error);
	if (h)
		launcher_log(inst->name, "adb proxy started (pid %d): %s:%u -> vsock port 5555",
			     (int)helper_child_pid(h), listen_address, inst->adb_port);
	return h;
}

HelperChild *helper_child_start_webview(const LauncherInstance *inst, const char *listen_address,
					const char *allowed_hosts, HelperExitedFn exited, void *opaque,
					GError **error)
{
	g_autofree char *program = launcher_sibling_program("sepia-webview");
	g_autofree char *dir = g_strdup_printf("--framebuffer-dir=%s", inst->dir);
	g_autofree char *port = g_strdup_printf("--port=%u", inst->webview_port);
	g_autofree char *hosts = g_strdup_printf("--allowed-hosts=%s", allowed_hosts ? allowed_hosts : "");
	g_autofree char *address = g_strdup_printf("--address=%s", listen_address);
	const char *argv[] = { program, dir, port, address, hosts, NULL };
	HelperChild *h = helper_child_start("web view", argv, exited, opaque, error);
	if (h)
		launcher_log(inst->name, "web view started (pid %d): http://%s:%u/", (int)helper_child_pid(h),
			     listen_address, inst->webview_port);
	return h;
}
