/* launcher/suspend.c — see suspend.h. */
#include "launcher/suspend.h"

#include <errno.h>

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
		g_autofree char *command = g_strdup_printf("snapshot %s", req->snapshot_path);
		Sepia__Control__State was = *state;
		*state = SEPIA__CONTROL__STATE__SUSPENDED;
		bool ok = vmm_child_api(vmm, command, SUSPEND_API_TIMEOUT_MS, error);
		*state = was;
		return ok;
	}
	default:
		g_set_error(error, LAUNCHER_ERROR, EINVAL, "%s: not a suspend, resume or snapshot request",
			    name);
		return false;
	}
}
