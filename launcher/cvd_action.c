/* launcher/cvd_action.c — restart_cvd and powerwash_cvd (one source, built twice with
 * CVD_ACTION set): ask the instances' monitors to restart the guest (bootloader step again) or
 * to powerwash it (a new overlay: the user data reset, then a fresh boot). Exit 0 when every
 * monitor did it; 1 otherwise; 2 for usage errors. */
#include <errno.h>
#include <stdio.h>

#include "launcher/control.h"
#include "common/flags.h"
#include "launcher/select.h"
#include "launcher/instance.h"

#if CVD_ACTION_POWERWASH
#define PROGRAM "powerwash_cvd"
#define COMMAND SEPIA__CONTROL__REQUEST__COMMAND__POWERWASH
#define DOING   "powerwashed (user data reset) and booting again"
#else
#define PROGRAM "restart_cvd"
#define COMMAND SEPIA__CONTROL__REQUEST__COMMAND__RESTART
#define DOING   "restarted through the bootloader step"
#endif

static const char synopsis[] = "usage: " PROGRAM
			       " [--instance_nums=1,2 | --num_instances=N [--base_instance_num=N]]\n"
			       "                   [--wait_for_launcher=SECS]\n"
#if CVD_ACTION_POWERWASH
			       "Resets the devices' user data (a new overlay) and boots them again.";
#else
			       "Stops the devices' guests and boots them again through the bootloader step.";
#endif

int main(int argc, char **argv)
{
	struct instance_flags sel = { NULL, 1, 1 };
	guint64 wait_s = 60;
	struct cli_flag flags[] = {
		INSTANCE_FLAGS(&sel),
		FLAG_UINT("wait_for_launcher", &wait_s, 1, 3600,
			  "seconds to wait for each monitor (default 60)"),
	};
	g_autoptr(GError) err = NULL;
	g_autoptr(GArray) nums = NULL;
	enum cli_flags_result r = cli_flags_parse(flags, G_N_ELEMENTS(flags), synopsis, argc, argv, &err);
	if (r == CLI_FLAGS_HELP)
		return 0;
	if (r == CLI_FLAGS_OK)
		nums = launcher_instances_from_flags(flags, false, launcher_home(), &err);
	if (err) {
		fprintf(stderr, PROGRAM ": %s (see --help)\n", err->message);
		return 2;
	}
	int status = 0;
	for (guint i = 0; i < nums->len; i++) {
		g_auto(LauncherInstance) inst = { 0 };
		launcher_instance_init(&inst, launcher_home(), g_array_index(nums, guint, i));
		g_autoptr(GError) e = NULL;
		g_autoptr(ControlResponse)
			resp = control_call(inst.socket_path, COMMAND, 0, (int)wait_s * 1000, &e);
		if (!resp) {
			fprintf(stderr, PROGRAM ": %s is not running (%s)\n", inst.name, e->message);
			status = 1;
		} else if (!resp->ok) {
			fprintf(stderr, PROGRAM ": %s: %s\n", inst.name, resp->error);
			status = 1;
		} else {
			fprintf(stderr, PROGRAM ": %s " DOING "\n", inst.name);
		}
	}
	return status;
}
