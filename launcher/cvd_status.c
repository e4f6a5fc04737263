/* launcher/cvd_status.c — the cvd_status command: asks instances' monitors for their status.
 * Exit 0 when every instance asked about runs (Booting or Running); 1 when one is stopped,
 * unknown or Failed (with a message naming it); 2 for usage errors. --print writes a JSON array
 * like Cuttlefish's on stdout. */
#include <errno.h>
#include <stdio.h>

#include "launcher/control.h"
#include "common/flags.h"
#include "launcher/select.h"
#include "launcher/instance.h"

static const char synopsis[] =
	"usage: cvd_status [--instance_nums=1,2 | --num_instances=N | --all_instances] [--print]\n"
	"                  [--wait_for_launcher=SECS]\n"
	"Exits 0 when the devices run; --print shows them as JSON.";

int main(int argc, char **argv)
{
	struct instance_flags sel = { NULL, 1, 1 };
	guint64 wait_s = 5;
	bool all = false, print = false;
	struct cli_flag flags[] = {
		INSTANCE_FLAGS(&sel),
		FLAG_BOOL("all_instances", &all, "every instance that has a monitor"),
		FLAG_BOOL("print", &print, "print the status as JSON"),
		FLAG_UINT("wait_for_launcher", &wait_s, 1, 3600,
			  "seconds to wait for a monitor's answer (default 5)"),
	};
	g_autoptr(GError) err = NULL;
	enum cli_flags_result r = cli_flags_parse(flags, G_N_ELEMENTS(flags), synopsis, argc, argv, &err);
	if (r == CLI_FLAGS_HELP)
		return 0;
	const char *home = launcher_home();
	g_autoptr(GArray) nums = NULL;
	if (r == CLI_FLAGS_OK) {
		if (all && (flags[0].seen || flags[1].seen || flags[2].seen))
			g_set_error(&err, LAUNCHER_ERROR, EINVAL,
				    "--all_instances cannot be combined with instance flags");
		else
			nums = launcher_instances_from_flags(flags, all, home, &err);
	}
	if (err) {
		fprintf(stderr, "cvd_status: %s (see --help)\n", err->message);
		return 2;
	}
	g_autoptr(GString) json = g_string_new("[\n");
	guint listed = 0, bad = 0;
	for (guint i = 0; i < nums->len; i++) {
		g_auto(LauncherInstance) inst = { 0 };
		launcher_instance_init(&inst, home, g_array_index(nums, guint, i));
		g_autoptr(GError) e = NULL;
		g_autoptr(ControlResponse)
			resp = control_call(inst.socket_path, SEPIA__CONTROL__REQUEST__COMMAND__STATUS, 0,
					    (int)wait_s * 1000, &e);
		if (!resp || !resp->status) {
			/* With --all_instances, a directory without a monitor is just a stopped device. */
			if (all && !launcher_group_alive(launcher_read_pid(&inst)))
				continue;
			fprintf(stderr, "cvd_status: %s is not running (%s)\n", inst.name,
				resp ? resp->error : e->message);
			bad++;
			continue;
		}
		const ControlStatus *st = resp->status;
		if (st->state == SEPIA__CONTROL__STATE__FAILED) {
			fprintf(stderr, "cvd_status: %s failed: %s\n", inst.name, st->failure);
			bad++;
		}
		if (listed++)
			g_string_append(json, ",\n");
		control_status_to_json(json, st, 2);
	}
	if (all && !listed && !bad) {
		fprintf(stderr, "cvd_status: no device is running\n");
		bad++;
	}
	g_string_append(json, listed ? "\n]\n" : "]\n");
	if (print)
		fputs(json->str, stdout);
	return bad ? 1 : 0;
}
