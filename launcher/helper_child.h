/* launcher/helper_child.h — a helper process of an instance (the adb proxy, ...), started by the
 * monitor in the instance's process group, its output on the monitor's log, and stopped with
 * SIGTERM (then SIGKILL) in reverse start order. It never outlives the monitor (PDEATHSIG). An
 * exit the monitor did not ask for is reported through `exited`. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct HelperChild HelperChild;
typedef void (*HelperExitedFn)(void *opaque, HelperChild *helper, int wait_status);

HelperChild *helper_child_start(const char *name, const char *const *argv, HelperExitedFn exited,
				void *opaque, GError **error);
const char *helper_child_name(const HelperChild *h);
pid_t helper_child_pid(const HelperChild *h);
/* SIGTERM, up to grace_ms for it to end, then SIGKILL; reaps it; `exited` is not called. Frees h. */
void helper_child_stop(HelperChild *h, guint grace_ms);
