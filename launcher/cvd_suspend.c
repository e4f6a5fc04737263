/* launcher/cvd_suspend.c — suspend_cvd, resume_cvd and snapshot_util_cvd (one source, built
 * three times with CVD_SUSPEND_ACTION set), with Cuttlefish's names and flags: ask the
 * instances' monitors to pause their VMs, let them run again, or take a snapshot of each
 * (`snapshot_util_cvd --subcmd=snapshot_take --snapshot_path=DIR`: instance cvd-N's goes to
 * DIR/cvd-N; the device is suspended for it, then resumed). `launch_cvd --snapshot_path=DIR`
 * starts devices from such a snapshot. Exit 0 when every monitor did it; 1 otherwise; 2 for
 * usage errors. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/flags.h"
#include "launcher/control.h"
#include "launcher/instance.h"
#include "launcher/select.h"
#include "launcher/suspend.h"

#if CVD_SUSPEND_ACTION == 0
#define PROGRAM  "suspend_cvd"
#define COMMAND  SEPIA__CONTROL__REQUEST__COMMAND__SUSPEND
#define DOING    "suspended"
#define SYNOPSIS "Suspends the devices: their vCPUs stop and their devices are quiesced."
#elif CVD_SUSPEND_ACTION == 1
#define PROGRAM  "resume_cvd"
#define COMMAND  SEPIA__CONTROL__REQUEST__COMMAND__RESUME
#define DOING    "resumed"
#define SYNOPSIS "Lets suspended devices run again."
#else
#define PROGRAM "snapshot_util_cvd"
#define COMMAND SEPIA__CONTROL__REQUEST__COMMAND__SNAPSHOT_TAKE
#define DOING   "snapshot taken in"
#define SYNOPSIS                                                                                  \
	"--subcmd=snapshot_take --snapshot_path=DIR: saves each device's state, RAM and disk in " \
	"DIR/cvd-N\n(each is suspended for it, then resumed); launch_cvd --snapshot_path=DIR "    \
	"starts devices from it."
#endif

static const char synopsis[] = "usage: " PROGRAM
			       " [--instance_nums=1,2 | --num_instances=N [--base_instance_num=N]]\n"
			       "                   [--wait_for_launcher=SECS]"
#if CVD_SUSPEND_ACTION == 2
			       " --subcmd=snapshot_take --snapshot_path=DIR"
#endif
			       "\n" SYNOPSIS;

int main(int argc, char **argv)
{
	struct instance_flags sel = { NULL, 1, 1 };
	guint64 wait_s = 600;
	const char *subcmd = NULL, *snapshot_path = NULL;
	struct cli_flag flags[] = {
		INSTANCE_FLAGS(&sel),
		FLAG_UINT("wait_for_launcher", &wait_s, 1, 3600,
			  "seconds to wait for each monitor (default 600)"),
#if CVD_SUSPEND_ACTION == 2
		FLAG_STRING("subcmd", &subcmd, "snapshot_take (the one supported)"),
		FLAG_STRING("snapshot_path", &snapshot_path, "the directory the snapshots go to"),
#endif
	};
	g_autoptr(GError) err = NULL;
	g_autoptr(GArray) nums = NULL;
	enum cli_flags_result r = cli_flags_parse(flags, G_N_ELEMENTS(flags), synopsis, argc, argv, &err);
	if (r == CLI_FLAGS_HELP)
		return 0;
	if (r == CLI_FLAGS_OK && CVD_SUSPEND_ACTION == 2 && (!subcmd || strcmp(subcmd, "snapshot_take")))
		g_set_error(&err, LAUNCHER_ERROR, EINVAL, "--subcmd=snapshot_take is required (got %s)",
			    subcmd ? subcmd : "none");
	else if (r == CLI_FLAGS_OK && CVD_SUSPEND_ACTION == 2 && (!snapshot_path || !*snapshot_path))
		g_set_error(&err, LAUNCHER_ERROR, EINVAL, "--snapshot_path=DIR is required");
	if (r == CLI_FLAGS_OK && !err)
		nums = launcher_instances_from_flags(flags, false, launcher_home(), &err);
	if (err) {
		fprintf(stderr, PROGRAM ": %s (see --help)\n", err->message);
		return 2;
	}
	g_autofree char *base = snapshot_path ? g_canonicalize_filename(snapshot_path, NULL) : NULL;
	int status = 0;
	for (guint i = 0; i < nums->len; i++) {
		g_auto(LauncherInstance) inst = { 0 };
		launcher_instance_init(&inst, launcher_home(), g_array_index(nums, guint, i));
		g_autofree char *dir = base ? suspend_instance_dir(base, inst.name) : NULL;
		ControlRequest req = SEPIA__CONTROL__REQUEST__INIT;
		req.command = COMMAND;
		req.snapshot_path = dir ? dir : (char *)"";
		g_autoptr(GError) e = NULL;
		g_autoptr(ControlResponse)
			resp = control_call_request(inst.socket_path, &req, (int)wait_s * 1000, &e);
		if (!resp) {
			fprintf(stderr, PROGRAM ": %s is not running (%s)\n", inst.name, e->message);
			status = 1;
		} else if (!resp->ok) {
			fprintf(stderr, PROGRAM ": %s: %s\n", inst.name, resp->error);
			status = 1;
		} else {
			fprintf(stderr, PROGRAM ": %s " DOING "%s%s\n", inst.name, dir ? " " : "",
				dir ? dir : "");
		}
	}
	return status;
}
