/* launcher/suspend.h — suspend_cvd, resume_cvd and snapshot_util_cvd as the monitor serves
 * them: the requests go to sepia-vmm's API socket (launcher/vmm_child.h), and the instance's
 * state follows (Running <-> Suspended). */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "launcher/control.h"
#include "launcher/vmm_child.h"

/* How long sepia-vmm gets to answer: a snapshot writes all of guest RAM and copies the disk. */
#define SUSPEND_API_TIMEOUT_MS (10 * 60 * 1000)

/* Serves a SUSPEND, RESUME or SNAPSHOT_TAKE request for instance name, whose VMM is vmm (NULL:
 * none runs) and whose state is *state: updates *state, or returns false with an error saying
 * why the request was refused or failed. A snapshot of a running VM suspends it for the
 * snapshot and resumes it after; one of a suspended VM leaves it suspended. */
bool suspend_serve(VmmChild *vmm, const char *name, Sepia__Control__State *state, const ControlRequest *req,
		   GError **error);

/* "suspend", "resume" or "snapshot", for the log. */
const char *suspend_command_name(Sepia__Control__Request__Command command);

/* The directory of instance `name`'s snapshot under a --snapshot_path DIR: DIR/name. */
char *suspend_instance_dir(const char *snapshot_path, const char *name);

/* Writes the snapshot of vmm's machine to dir (made if missing): state.sepia, memory.bin and
 * disk0, each renamed into place once whole, the state file last. The VM is paused for it and
 * runs on after if it ran. */
bool suspend_snapshot_write(VmmChild *vmm, const char *name, const char *dir, GError **error);
