/* launcher/assemble_cvd.c — the assemble_cvd command: Cuttlefish-style flags in, the assembly of
 * launcher/assemble.c out. Flags take `--flag=value` or `--flag value` (one or two dashes);
 * booleans also `--flag` and `--noflag`. Usage errors exit 2, assembly errors 1. */
#include "launcher/assemble.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_BLANK_DATA_MB 2048u

static const char usage_text[] =
    "usage: assemble_cvd --system_image_dir=DIR [--instance_nums=1,2 | --num_instances=N]\n"
    "                    [--base_instance_num=N] [--blank_data_image_mb=N]\n"
    "                    [--data_policy=use_existing|always_create|resize_up_to] [--resume=BOOL]\n"
    "Builds $HOME/cuttlefish/instances/cvd-N/{os_composite.vmdk,overlay.qcow2} from DIR's Android\n"
    "images and $HOME/cuttlefish/assembly/manifest.json. CUTTLEFISH_INSTANCE sets the base instance.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "assemble_cvd: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see --help)\n");
    return 2;
}

static bool parse_uint(const char *s, guint64 min, guint64 max, guint64 *out)
{
    guint64 v;
    if (!g_ascii_string_to_unsigned(s, 10, min, max, &v, NULL))
        return false;
    *out = v;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "true", "1", "yes", "on" }, *const no[] = { "false", "0", "no", "off" };
    for (guint i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (!g_ascii_strcasecmp(s, yes[i]))
            return *out = true, true;
        if (!g_ascii_strcasecmp(s, no[i]))
            return *out = false, true;
    }
    return false;
}

/* "1,2,5" -> distinct instance numbers. */
static bool parse_instance_list(const char *s, GArray *out)
{
    g_auto(GStrv) parts = g_strsplit(s, ",", -1);
    for (char **p = parts; *p; p++) {
        guint64 v;
        if (!parse_uint(*p, 1, ASSEMBLE_MAX_INSTANCE, &v))
            return false;
        for (guint i = 0; i < out->len; i++)
            if (g_array_index(out, guint, i) == v)
                return false;
        guint n = (guint)v;
        g_array_append_val(out, n);
    }
    return out->len > 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *instance_nums = NULL, *policy_text = "use_existing";
    guint64 num_instances = 0, base = 1, data_mb = DEFAULT_BLANK_DATA_MB;
    bool have_num = false, have_base = false, resume = true;

    const char *env = g_getenv("CUTTLEFISH_INSTANCE");
    if (env && *env && !parse_uint(env, 1, ASSEMBLE_MAX_INSTANCE, &base))
        return usage_error("CUTTLEFISH_INSTANCE=%s is not an instance number 1..128", env);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (a[0] != '-')
            return usage_error("unexpected argument '%s'", a);
        const char *name_start = a + (a[1] == '-' ? 2 : 1);
        const char *eq = strchr(name_start, '=');
        g_autofree char *name = eq ? g_strndup(name_start, (gsize)(eq - name_start)) : g_strdup(name_start);
        const char *val = eq ? eq + 1 : NULL;

        if (!strcmp(name, "resume") || !strcmp(name, "noresume")) {
            bool neg = name[0] == 'n';
            if (!val && !neg && i + 1 < argc && parse_bool(argv[i + 1], &resume)) {
                i++;
                continue;
            }
            if (neg && val)
                return usage_error("--noresume takes no value ('%s')", a);
            if (!val)
                resume = !neg;
            else if (!parse_bool(val, &resume))
                return usage_error("--resume: '%s' is not a boolean (true/false)", val);
            continue;
        }
        static const char *const valued[] = { "system_image_dir", "instance_nums", "num_instances",
                                              "base_instance_num", "blank_data_image_mb", "data_policy" };
        bool known = false;
        for (guint k = 0; k < G_N_ELEMENTS(valued); k++)
            known |= !strcmp(name, valued[k]);
        if (!known)
            return usage_error("unknown flag '%s'", a);
        if (!val) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            val = argv[++i];
        }
        if (!strcmp(name, "system_image_dir")) {
            if (!*val)
                return usage_error("--system_image_dir is empty%s", "");
            dir = val;
        } else if (!strcmp(name, "instance_nums")) {
            instance_nums = val;
        } else if (!strcmp(name, "num_instances")) {
            if (!parse_uint(val, 1, ASSEMBLE_MAX_INSTANCE, &num_instances))
                return usage_error("--num_instances: '%s' is not a number 1..128", val);
            have_num = true;
        } else if (!strcmp(name, "base_instance_num")) {
            if (!parse_uint(val, 1, ASSEMBLE_MAX_INSTANCE, &base))
                return usage_error("--base_instance_num: '%s' is not a number 1..128", val);
            have_base = true;
        } else if (!strcmp(name, "blank_data_image_mb")) {
            if (!parse_uint(val, 1, 1u << 24, &data_mb))
                return usage_error("--blank_data_image_mb: '%s' is not a size in MiB (1..16777216)", val);
        } else if (!strcmp(name, "data_policy")) {
            AssembleDataPolicy unused;
            if (!assemble_parse_data_policy(val, &unused))
                return usage_error("--data_policy: '%s' is not use_existing, always_create or resize_up_to", val);
            policy_text = val;
        }
    }
    if (!dir)
        return usage_error("--system_image_dir is required%s", "");

    g_autoptr(GArray) nums = g_array_new(FALSE, FALSE, sizeof(guint));
    if (instance_nums) {
        if (have_num || have_base)
            return usage_error("--instance_nums cannot be combined with --num_instances or --base_instance_num%s", "");
        if (!parse_instance_list(instance_nums, nums))
            return usage_error("--instance_nums: '%s' is not a list of distinct numbers 1..128", instance_nums);
    } else {
        guint64 count = have_num ? num_instances : 1;
        if (base + count - 1 > ASSEMBLE_MAX_INSTANCE)
            return usage_error("instances past cvd-128 requested%s", "");
        for (guint64 k = 0; k < count; k++) {
            guint n = (guint)(base + k);
            g_array_append_val(nums, n);
        }
    }
    const char *home = g_getenv("HOME");
    if (!home || !*home)
        home = g_get_home_dir();

    AssembleOptions o = {
        .system_image_dir = dir,
        .home = home,
        .instance_nums = (const guint *)(void *)nums->data,
        .n_instances = nums->len,
        .blank_data_image_mb = data_mb,
        .resume = resume,
        .progress = isatty(STDERR_FILENO),
    };
    (void)assemble_parse_data_policy(policy_text, &o.data_policy);

    AssembleStats st;
    g_autoptr(GError) err = NULL;
    gint64 t0 = g_get_monotonic_time();
    if (!assemble_device(&o, &st, &err)) {
        fprintf(stderr, "assemble_cvd: %s\n", err->message);
        return 1;
    }
    fprintf(stderr,
            "assemble_cvd: assembled %u instance(s) in %.3f s: %u expanded, %u data images made, "
            "%u composite files written, %u overlays created, %u files hashed, manifest %s\n",
            o.n_instances, (double)(g_get_monotonic_time() - t0) / 1e6, st.images_expanded, st.images_created,
            st.composite_files, st.overlays_created, st.files_hashed, st.manifest_changed ? "written" : "unchanged");
    return 0;
}
