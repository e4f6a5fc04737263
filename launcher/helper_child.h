/* launcher/helper_child.h — a helper process of an instance (the adb proxy, ...), started by the
 * monitor in the instance's process group, its output on the monitor's log, and stopped with
 * SIGTERM (then SIGKILL) in reverse start order. It never outlives the monitor (PDEATHSIG). An
 * exit the monitor did not ask for is reported through `exited`. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "launcher/instance.h"

typedef struct HelperChild HelperChild;
typedef void (*HelperExitedFn)(void *opaque, HelperChild *helper, int wait_status);

HelperChild *helper_child_start(const char *name, const char *const *argv, HelperExitedFn exited,
				void *opaque, GError **error);
const char *helper_child_name(const HelperChild *h);
pid_t helper_child_pid(const HelperChild *h);
/* SIGTERM, up to grace_ms for it to end, then SIGKILL; reaps it; `exited` is not called. Frees h. */
void helper_child_stop(HelperChild *h, guint grace_ms);

/* The monitor's two helpers, started and logged under the instance's name. The adb proxy:
 * sepia-vsock-proxy from <listen_address>:<6520+N-1> to the guest's vsock port 5555. */
HelperChild *helper_child_start_adb_proxy(const LauncherInstance *inst, const char *listen_address,
					  HelperExitedFn exited, void *opaque, GError **error);
/* The web view: sepia-webview serving the instance's framebuffer files on
 * http://<listen_address>:<8443+N-1>/ to allowed_hosts (comma-separated) besides localhost. */
HelperChild *helper_child_start_webview(const LauncherInstance *inst, const char *listen_address,
					const char *allowed_hosts, HelperExitedFn exited, void *opaque,
					GError **error);
