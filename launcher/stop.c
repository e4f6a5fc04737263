/* launcher/stop.c — see stop.h. */
#include "launcher/stop.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "launcher/control.h"

static bool wait_group_gone(pid_t pgid, guint ms)
{
	for (guint waited = 0; launcher_group_alive(pgid); waited += 50) {
		if (waited >= ms)
			return false;
		g_usleep(50 * 1000);
	}
	return true;
}

LauncherStopResult launcher_stop_instance(const LauncherInstance *inst, guint wait_s, guint guest_timeout_s,
					  GError **error)
{
	pid_t pgid = launcher_read_pid(inst);
	g_autoptr(GError) call_err = NULL;
	g_autoptr(ControlResponse)
		resp = control_call(inst->socket_path, SEPIA__CONTROL__REQUEST__COMMAND__STOP,
				    guest_timeout_s, (int)wait_s * 1000, &call_err);
	LauncherStopResult result = LAUNCHER_STOP_NOT_RUNNING;
	if (resp && resp->ok) {
		result = LAUNCHER_STOP_GRACEFUL;
		if (resp->status && resp->status->pid > 1)
			pgid = resp->status->pid;
		/* The monitor exits right after its answer. */
		if (pgid && !wait_group_gone(pgid, 5000))
			result = LAUNCHER_STOP_KILLED;
	} else if (pgid && launcher_group_alive(pgid)) {
		result = LAUNCHER_STOP_KILLED;
		g_printerr("%s: the monitor did not stop the instance (%s): killing process group %d\n",
			   inst->name, resp ? resp->error : call_err->message, (int)pgid);
	}
	if (result == LAUNCHER_STOP_KILLED && pgid) {
		kill(-pgid, SIGKILL);
		if (!wait_group_gone(pgid, 5000)) {
			g_set_error(error, LAUNCHER_ERROR, EBUSY, "%s: processes of group %d survive SIGKILL",
				    inst->name, (int)pgid);
			return LAUNCHER_STOP_FAILED;
		}
	}
	if (result == LAUNCHER_STOP_NOT_RUNNING && (g_file_test(inst->socket_path, G_FILE_TEST_EXISTS) ||
						    g_file_test(inst->pid_path, G_FILE_TEST_EXISTS)))
		result = LAUNCHER_STOP_CLEANED;
	launcher_remove_runtime_files(inst);
	return result;
}
