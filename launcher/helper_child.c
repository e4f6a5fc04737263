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
