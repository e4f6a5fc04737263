/* launcher/stop.h — stopping one instance, for stop_cvd and for launch_cvd when a boot fails:
 * the monitor's graceful stop over the control socket (guest poweroff request, then the VMM,
 * then helpers), and when the monitor does not answer in time, SIGKILL to the instance's whole
 * process group; then the runtime files (socket, pid file, console link) are removed. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "launcher/instance.h"

typedef enum {
	LAUNCHER_STOP_NOT_RUNNING, /* nothing of the instance ran or was left */
	LAUNCHER_STOP_CLEANED,     /* nothing ran, but a dead monitor's socket or pid file was removed */
	LAUNCHER_STOP_GRACEFUL,    /* the monitor stopped it */
	LAUNCHER_STOP_KILLED,      /* its process group was killed */
	LAUNCHER_STOP_FAILED,      /* processes remain; error says which */
} LauncherStopResult;

LauncherStopResult launcher_stop_instance(const LauncherInstance *inst, guint wait_s, guint guest_timeout_s,
					  GError **error);
