/* launcher/suspend.c — see suspend.h. */
#include "launcher/suspend.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "launcher/instance.h"

char *suspend_instance_dir(const char *snapshot_path, const char *name)
{
	return g_build_filename(snapshot_path, name, NULL);
}

const char *suspend_command_name(Sepia__Control__Request__Command command)
{
	return command == SEPIA__CONTROL__REQUEST__COMMAND__SUSPEND  ? "suspend"
	       : command == SEPIA__CONTROL__REQUEST__COMMAND__RESUME ? "resume"
								     : "snapshot";
}

static bool refuse(GError **error, const char *name, const char *what, Sepia__Control__State state)
{
	g_set_error(error, LAUNCHER_ERROR, EBUSY, "%s is %s: cannot %s it", name, control_state_name(state),
		    what);
	return false;
}

/* The files a snapshot writes, in the order sepia-vmm takes them (devices/vm_api.h): the state
 * file, guest RAM, then the one writable disk the monitor gives the VMM (the overlay). */
static const char *const snapshot_files[] = { "state.sepia", "memory.bin", "disk0" };
#define NR_SNAPSHOT_FILES G_N_ELEMENTS(snapshot_files)

/* The monitor creates the snapshot's files and passes them: a sandboxed VMM opens no path (an
 * empty jail, a uid of its own) and writes only what it is handed. Each is written beside its
 * final name and renamed into place once the VMM answers, the state file last, so a directory
 * with a state file holds a whole snapshot, and a failed one leaves the previous snapshot. */
bool suspend_snapshot_write(VmmChild *vmm, const char *name, const char *dir, GError **error)
{
	if (g_mkdir_with_parents(dir, 0700) < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "%s: cannot make snapshot directory %s: %s", name,
			    dir, g_strerror(errno));
		return false;
	}
	int fds[NR_SNAPSHOT_FILES];
	char *tmp[NR_SNAPSHOT_FILES] = { NULL };
	unsigned int n = 0;
	bool ok = true;
	for (; n < NR_SNAPSHOT_FILES; n++) {
		tmp[n] = g_strdup_printf("%s/%s.tmp", dir, snapshot_files[n]);
		fds[n] = open(tmp[n], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fds[n] < 0) {
			g_set_error(error, LAUNCHER_ERROR, errno, "%s: cannot create %s: %s", name, tmp[n],
				    g_strerror(errno));
			g_free(tmp[n]);
			ok = false;
			break;
		}
	}
	g_autofree char *command = g_strdup_printf("snapshot %s", dir);
	ok = ok && vmm_child_api_fds(vmm, command, fds, n, SUSPEND_API_TIMEOUT_MS, error);
	/* RAM and disk first, the state file last. */
	for (unsigned int i = 0; ok && i < NR_SNAPSHOT_FILES; i++) {
		unsigned int f = (i + 1) % NR_SNAPSHOT_FILES; /* memory.bin, disk0, state.sepia */
		g_autofree char *final = g_build_filename(dir, snapshot_files[f], NULL);
		if (rename(tmp[f], final) < 0) {
			g_set_error(error, LAUNCHER_ERROR, errno, "%s: cannot rename %s to %s: %s", name,
				    tmp[f], final, g_strerror(errno));
			ok = false;
		}
	}
	int dfd = ok ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	for (unsigned int i = 0; i < n; i++) {
		close(fds[i]);
		if (!ok)
			g_unlink(tmp[i]);
		g_free(tmp[i]);
	}
	return ok;
}

bool suspend_serve(VmmChild *vmm, const char *name, Sepia__Control__State *state, const ControlRequest *req,
		   GError **error)
{
	bool running = *state == SEPIA__CONTROL__STATE__RUNNING;
	bool suspended = *state == SEPIA__CONTROL__STATE__SUSPENDED;
	switch (req->command) {
	case SEPIA__CONTROL__REQUEST__COMMAND__SUSPEND:
		if (suspended)
			return true;
		if (!running || !vmm)
			return refuse(error, name, "suspend", *state);
		if (!vmm_child_api(vmm, "pause", SUSPEND_API_TIMEOUT_MS, error))
			return false;
		*state = SEPIA__CONTROL__STATE__SUSPENDED;
		return true;
	case SEPIA__CONTROL__REQUEST__COMMAND__RESUME:
		if (running)
			return true;
		if (!suspended || !vmm)
			return refuse(error, name, "resume", *state);
		if (!vmm_child_api(vmm, "resume", SUSPEND_API_TIMEOUT_MS, error))
			return false;
		*state = SEPIA__CONTROL__STATE__RUNNING;
		return true;
	case SEPIA__CONTROL__REQUEST__COMMAND__SNAPSHOT_TAKE: {
		if (!req->snapshot_path || !g_path_is_absolute(req->snapshot_path)) {
			g_set_error(error, LAUNCHER_ERROR, EINVAL,
				    "%s: a snapshot needs an absolute --snapshot_path", name);
			return false;
		}
		if ((!running && !suspended) || !vmm)
			return refuse(error, name, "snapshot", *state);
		/* sepia-vmm pauses for the snapshot and resumes a VM that was running; the state
		 * shows Suspended meanwhile for anyone asking from another client. */
		Sepia__Control__State was = *state;
		*state = SEPIA__CONTROL__STATE__SUSPENDED;
		bool ok = suspend_snapshot_write(vmm, name, req->snapshot_path, error);
		*state = was;
		return ok;
	}
	default:
		g_set_error(error, LAUNCHER_ERROR, EINVAL, "%s: not a suspend, resume or snapshot request",
			    name);
		return false;
	}
}
