/* launcher/assemble_cvd.c — the assemble_cvd command: Cuttlefish-style flags in, the assembly of
 * launcher/assemble.c out (flags as common/flags.h reads them). Usage errors exit 2, assembly
 * errors 1. */
#include "launcher/assemble.h"
#include "common/flags.h"
#include "launcher/select.h"
#include "launcher/file_modes.h"
#include "launcher/instance.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_BLANK_DATA_MB 2048u

static const char synopsis[] =
	"usage: assemble_cvd --system_image_dir=DIR [--instance_nums=1,2 | --num_instances=N]\n"
	"                    [--base_instance_num=N] [--blank_data_image_mb=N]\n"
	"                    [--data_policy=use_existing|create_if_missing|always_create|resize_up_to] "
	"[--resume=BOOL]\n"
	"Builds $HOME/cuttlefish/instances/cvd-N/{os_composite.vmdk,overlay.qcow2} from DIR's Android\n"
	"images and $HOME/cuttlefish/assembly/manifest.json. CUTTLEFISH_INSTANCE sets the base instance.";

int main(int argc, char **argv)
{
	const char *dir = NULL, *instance_nums = NULL, *policy_text = "use_existing";
	guint64 num_instances = 1, base = 1, data_mb = DEFAULT_BLANK_DATA_MB;
	bool resume = true;
	struct cli_flag flags[] = {
		FLAG_STRING("instance_nums", &instance_nums, "the instances, e.g. 1,3"),
		FLAG_UINT("num_instances", &num_instances, 1, LAUNCHER_MAX_INSTANCE, "instances to assemble"),
		FLAG_UINT("base_instance_num", &base, 1, LAUNCHER_MAX_INSTANCE,
			  "first instance (default $CUTTLEFISH_INSTANCE or 1)"),
		FLAG_STRING("system_image_dir", &dir, "the Android images"),
		FLAG_UINT("blank_data_image_mb", &data_mb, 1, 1u << 24,
			  "size of a blank userdata in MiB (default 2048)"),
		FLAG_STRING("data_policy", &policy_text,
			    "use_existing, create_if_missing, always_create or resize_up_to"),
		FLAG_BOOL("resume", &resume, "keep the overlays (default true); false recreates them"),
	};
	g_autoptr(GError) err = NULL;
	g_autoptr(GArray) nums = g_array_new(FALSE, FALSE, sizeof(guint));
	AssembleOptions o = { 0 };
	enum cli_flags_result r = cli_flags_parse(flags, G_N_ELEMENTS(flags), synopsis, argc, argv, &err);
	if (r == CLI_FLAGS_HELP)
		return 0;
	if (r == CLI_FLAGS_OK && launcher_select_instances(&flags[0], &flags[1], &flags[2], nums, &err)) {
		if (!dir || !*dir)
			g_set_error(&err, LAUNCHER_ERROR, EINVAL, "--system_image_dir is required");
		else if (!assemble_parse_data_policy(policy_text, &o.data_policy))
			g_set_error(&err, LAUNCHER_ERROR, EINVAL,
				    "--data_policy: '%s' is not use_existing, create_if_missing, "
				    "always_create or resize_up_to",
				    policy_text);
	}
	if (err) {
		fprintf(stderr, "assemble_cvd: %s (see --help)\n", err->message);
		return 2;
	}
	umask(LAUNCHER_UMASK); /* launcher/file_modes.h */
	o.system_image_dir = dir;
	o.home = launcher_home();
	/* Never under a running device: its VMM has the overlay open. */
	for (guint i = 0; i < nums->len; i++) {
		g_auto(LauncherInstance) inst = { 0 };
		launcher_instance_init(&inst, o.home, g_array_index(nums, guint, i));
		pid_t holder = launcher_instance_lock_holder(&inst);
		if (holder) {
			fprintf(stderr,
				"assemble_cvd: %s is running (pid %d holds %s); stop it with stop_cvd "
				"first\n",
				inst.name, (int)holder, inst.lock_path);
			return 1;
		}
	}
	o.instance_nums = (const guint *)(void *)nums->data;
	o.n_instances = nums->len;
	o.blank_data_image_mb = data_mb;
	o.resume = resume;
	o.progress = isatty(STDERR_FILENO);

	AssembleStats st;
	gint64 t0 = g_get_monotonic_time();
	if (!assemble_device(&o, &st, &err)) {
		fprintf(stderr, "assemble_cvd: %s\n", err->message);
		return 1;
	}
	fprintf(stderr,
		"assemble_cvd: assembled %u instance(s) in %.3f s: %u expanded, %u data images made, "
		"%u composite files written, %u overlays created, %u files hashed, manifest %s\n",
		o.n_instances, (double)(g_get_monotonic_time() - t0) / 1e6, st.images_expanded,
		st.images_created, st.composite_files, st.overlays_created, st.files_hashed,
		st.manifest_changed ? "written" : "unchanged");
	return 0;
}
