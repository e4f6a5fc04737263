/* launcher/stop_cvd.c — the stop_cvd command: stops instances gracefully through their monitors
 * (guest poweroff request, then the VMM, then helpers) and kills the whole process group of an
 * instance whose monitor does not answer within --wait_for_launcher. Without instance flags it
 * stops every instance under $HOME/cuttlefish/instances. Exit 0 when something was stopped and
 * nothing survived; 1 when nothing was running or something survived; 2 for usage errors. */
#include <stdio.h>
#include <unistd.h>

#include "common/flags.h"
#include "launcher/select.h"
#include "launcher/instance.h"
#include "launcher/stop.h"

static const char synopsis[] =
	"usage: stop_cvd [--instance_nums=1,2 | --num_instances=N [--base_instance_num=N]]\n"
	"                [--wait_for_launcher=SECS] [--clear_instance_dirs]\n"
	"Stops the devices (all of them when no instance is named).";

int main(int argc, char **argv)
{
	struct instance_flags sel = { NULL, 1, 1 };
	guint64 wait_s = 40, guest_s = 20;
	bool clear = false;
	struct cli_flag flags[] = {
		INSTANCE_FLAGS(&sel),
		FLAG_UINT("wait_for_launcher", &wait_s, 1, 3600,
			  "seconds to wait for a monitor (default 40), then kill"),
		FLAG_UINT("guest_timeout_secs", &guest_s, 1, 3600,
			  "seconds a guest gets to power off (default 20)"),
		FLAG_BOOL("clear_instance_dirs", &clear, "remove the instance directories afterwards"),
	};
	g_autoptr(GError) err = NULL;
	enum cli_flags_result r = cli_flags_parse(flags, G_N_ELEMENTS(flags), synopsis, argc, argv, &err);
	if (r == CLI_FLAGS_HELP)
		return 0;
	g_autoptr(GArray) nums = NULL;
	const char *home = launcher_home();
	if (r == CLI_FLAGS_OK)
		nums = launcher_instances_from_flags(flags, true, home, &err);
	if (err) {
		fprintf(stderr, "stop_cvd: %s (see --help)\n", err->message);
		return 2;
	}
	guint stopped = 0, failed = 0;
	for (guint i = 0; i < nums->len; i++) {
		g_auto(LauncherInstance) inst = { 0 };
		launcher_instance_init(&inst, home, g_array_index(nums, guint, i));
		g_autoptr(GError) e = NULL;
		gint64 t0 = g_get_monotonic_time();
		LauncherStopResult res = launcher_stop_instance(&inst, (guint)wait_s, (guint)guest_s, &e);
		double took = (double)(g_get_monotonic_time() - t0) / 1e6;
		switch (res) {
		case LAUNCHER_STOP_GRACEFUL:
			fprintf(stderr, "stop_cvd: %s stopped (%.1f s)\n", inst.name, took);
			stopped++;
			break;
		case LAUNCHER_STOP_KILLED:
			fprintf(stderr, "stop_cvd: %s: its processes were killed (%.1f s)\n", inst.name,
				took);
			stopped++;
			break;
		case LAUNCHER_STOP_CLEANED:
			fprintf(stderr,
				"stop_cvd: %s was not running; removed the socket and pid file its monitor "
				"left\n",
				inst.name);
			stopped++;
			break;
		case LAUNCHER_STOP_FAILED:
			fprintf(stderr, "stop_cvd: %s\n", e->message);
			failed++;
			break;
		case LAUNCHER_STOP_NOT_RUNNING:
			break;
		}
		pid_t holder = clear && res != LAUNCHER_STOP_FAILED ? launcher_instance_lock_holder(&inst)
								    : 0;
		if (holder) {
			/* A launch of it under way (the lock is taken before anything else). */
			fprintf(stderr, "stop_cvd: %s: not removed: pid %d holds %s\n", inst.name,
				(int)holder, inst.lock_path);
			failed++;
		} else if (clear && res != LAUNCHER_STOP_FAILED) {
			g_autofree char *link = g_strdup_printf("%s/cuttlefish_runtime.%u", home, inst.num);
			unlink(link);
			if (!launcher_remove_tree(inst.dir, &e)) {
				fprintf(stderr, "stop_cvd: %s\n", e->message);
				failed++;
			}
		}
	}
	if (!stopped && !failed) {
		fprintf(stderr, "stop_cvd: no device was running%s\n",
			nums->len ? "" : " (no instance directories)");
		return 1;
	}
	return failed ? 1 : 0;
}
