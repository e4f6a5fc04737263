/* launcher/flags.c — see flags.h. */
#include "launcher/flags.h"

#include <errno.h>
#include <string.h>

#include "launcher/instance.h"

bool launcher_parse_bool(const char *s, bool *out)
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

void launcher_flags_usage(FILE *out, const char *synopsis, const LauncherFlag *flags, gsize n_flags)
{
    fprintf(out, "%s\nFlags (--flag=value or --flag value; booleans also --flag / --noflag):\n", synopsis);
    for (gsize i = 0; i < n_flags; i++) {
        if (!*flags[i].help)
            continue;
        const char *arg = flags[i].kind == LAUNCHER_FLAG_BOOL ? "[=BOOL]" : flags[i].kind == LAUNCHER_FLAG_UINT ? "=N" : "=VALUE";
        g_autofree char *left = g_strdup_printf("--%s%s", flags[i].name, arg);
        fprintf(out, "  %-30s %s\n", left, flags[i].help);
    }
}

static LauncherFlag *find_flag(LauncherFlag *flags, gsize n, const char *name, bool *negated)
{
    *negated = false;
    for (gsize i = 0; i < n; i++)
        if (!strcmp(flags[i].name, name))
            return &flags[i];
    if (g_str_has_prefix(name, "no")) {
        for (gsize i = 0; i < n; i++)
            if (flags[i].kind == LAUNCHER_FLAG_BOOL && !strcmp(flags[i].name, name + 2))
                return *negated = true, &flags[i];
    }
    return NULL;
}

static bool set_value(LauncherFlag *f, const char *val, GError **error)
{
    switch (f->kind) {
    case LAUNCHER_FLAG_STRING:
        *(const char **)f->value = val;
        return true;
    case LAUNCHER_FLAG_UINT:
        if (!g_ascii_string_to_unsigned(val, 10, f->min, f->max, (guint64 *)f->value, NULL)) {
            g_set_error(error, LAUNCHER_ERROR, EINVAL, "--%s: '%s' is not a number %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT,
                        f->name, val, f->min, f->max);
            return false;
        }
        return true;
    case LAUNCHER_FLAG_BOOL:
        if (!launcher_parse_bool(val, (bool *)f->value)) {
            g_set_error(error, LAUNCHER_ERROR, EINVAL, "--%s: '%s' is not a boolean (true/false)", f->name, val);
            return false;
        }
        return true;
    }
    return false;
}

LauncherFlagsResult launcher_flags_parse(LauncherFlag *flags, gsize n_flags, const char *synopsis,
                                         int argc, char **argv, GError **error)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-help") || !strcmp(a, "-h") || !strcmp(a, "--helpfull")) {
            launcher_flags_usage(stdout, synopsis, flags, n_flags);
            return LAUNCHER_FLAGS_HELP;
        }
        if (a[0] != '-' || !a[1]) {
            g_set_error(error, LAUNCHER_ERROR, EINVAL, "unexpected argument '%s'", a);
            return LAUNCHER_FLAGS_ERROR;
        }
        const char *name_start = a + (a[1] == '-' ? 2 : 1);
        const char *eq = strchr(name_start, '=');
        g_autofree char *name = eq ? g_strndup(name_start, (gsize)(eq - name_start)) : g_strdup(name_start);
        const char *val = eq ? eq + 1 : NULL;
        bool negated;
        LauncherFlag *f = find_flag(flags, n_flags, name, &negated);
        if (!f) {
            g_set_error(error, LAUNCHER_ERROR, EINVAL, "unknown flag '%s'", a);
            return LAUNCHER_FLAGS_ERROR;
        }
        f->seen = true;
        if (f->kind == LAUNCHER_FLAG_BOOL) {
            if (negated) {
                if (val) {
                    g_set_error(error, LAUNCHER_ERROR, EINVAL, "--no%s takes no value ('%s')", f->name, a);
                    return LAUNCHER_FLAGS_ERROR;
                }
                *(bool *)f->value = false;
                continue;
            }
            /* `--flag` alone is true; `--flag false` takes the next word only when it is a boolean. */
            if (!val) {
                if (i + 1 < argc && launcher_parse_bool(argv[i + 1], (bool *)f->value))
                    i++;
                else
                    *(bool *)f->value = true;
                continue;
            }
        } else if (!val) {
            if (i + 1 >= argc) {
                g_set_error(error, LAUNCHER_ERROR, EINVAL, "%s needs a value", a);
                return LAUNCHER_FLAGS_ERROR;
            }
            val = argv[++i];
        }
        if (!set_value(f, val, error))
            return LAUNCHER_FLAGS_ERROR;
    }
    return LAUNCHER_FLAGS_OK;
}

bool launcher_default_base_instance(guint *out, GError **error)
{
    const char *env = g_getenv("CUTTLEFISH_INSTANCE");
    guint64 v = 1;
    if (env && *env && !g_ascii_string_to_unsigned(env, 10, 1, LAUNCHER_MAX_INSTANCE, &v, NULL)) {
        g_set_error(error, LAUNCHER_ERROR, EINVAL, "CUTTLEFISH_INSTANCE=%s is not an instance number 1..%u", env,
                    LAUNCHER_MAX_INSTANCE);
        return false;
    }
    *out = (guint)v;
    return true;
}

/* "1,2,5" -> distinct instance numbers. */
static bool parse_instance_list(const char *s, GArray *out)
{
    g_auto(GStrv) parts = g_strsplit(s, ",", -1);
    for (char **p = parts; *p; p++) {
        guint64 v;
        if (!g_ascii_string_to_unsigned(*p, 10, 1, LAUNCHER_MAX_INSTANCE, &v, NULL))
            return false;
        for (guint i = 0; i < out->len; i++)
            if (g_array_index(out, guint, i) == v)
                return false;
        guint n = (guint)v;
        g_array_append_val(out, n);
    }
    return out->len > 0;
}

bool launcher_select_instances(const LauncherFlag *instance_nums, const LauncherFlag *num_instances,
                               const LauncherFlag *base_instance_num, GArray *out, GError **error)
{
    bool have_num = num_instances && num_instances->seen, have_base = base_instance_num && base_instance_num->seen;
    if (instance_nums && instance_nums->seen) {
        const char *list = *(const char **)instance_nums->value;
        if (have_num || have_base) {
            g_set_error(error, LAUNCHER_ERROR, EINVAL,
                        "--instance_nums cannot be combined with --num_instances or --base_instance_num");
            return false;
        }
        if (!parse_instance_list(list, out)) {
            g_set_error(error, LAUNCHER_ERROR, EINVAL, "--instance_nums: '%s' is not a list of distinct numbers 1..%u",
                        list, LAUNCHER_MAX_INSTANCE);
            return false;
        }
        return true;
    }
    guint base;
    if (have_base)
        base = (guint)*(guint64 *)base_instance_num->value;
    else if (!launcher_default_base_instance(&base, error))
        return false;
    guint64 count = have_num ? *(guint64 *)num_instances->value : 1;
    if (base + count - 1 > LAUNCHER_MAX_INSTANCE) {
        g_set_error(error, LAUNCHER_ERROR, EINVAL, "instances cvd-%u to cvd-%" G_GUINT64_FORMAT " requested: the last is cvd-%u",
                    base, base + count - 1, LAUNCHER_MAX_INSTANCE);
        return false;
    }
    for (guint64 k = 0; k < count; k++) {
        guint n = (guint)(base + k);
        g_array_append_val(out, n);
    }
    return true;
}
