/* launcher/select.c — which instances a command acts on; see select.h. */
#include "launcher/select.h"

#include <errno.h>

#include "launcher/instance.h"

bool launcher_default_base_instance(guint *out, GError **error)
{
	const char *env = g_getenv("CUTTLEFISH_INSTANCE");
	guint64 v = 1;
	if (env && *env && !g_ascii_string_to_unsigned(env, 10, 1, LAUNCHER_MAX_INSTANCE, &v, NULL)) {
		g_set_error(error, LAUNCHER_ERROR, EINVAL,
			    "CUTTLEFISH_INSTANCE=%s is not an instance number 1..%u", env,
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

bool launcher_select_instances(const struct cli_flag *instance_nums, const struct cli_flag *num_instances,
			       const struct cli_flag *base_instance_num, GArray *out, GError **error)
{
	bool have_num = num_instances && num_instances->seen,
	     have_base = base_instance_num && base_instance_num->seen;
	if (instance_nums && instance_nums->seen) {
		const char *list = *(const char **)instance_nums->value;
		if (have_num || have_base) {
			g_set_error(error, LAUNCHER_ERROR, EINVAL,
				    "--instance_nums cannot be combined with --num_instances or "
				    "--base_instance_num");
			return false;
		}
		if (!parse_instance_list(list, out)) {
			g_set_error(error, LAUNCHER_ERROR, EINVAL,
				    "--instance_nums: '%s' is not a list of distinct numbers 1..%u", list,
				    LAUNCHER_MAX_INSTANCE);
			return false;
		}
		return true;
	}
	guint base;
	if (have_base)
		base = (guint) * (guint64 *)base_instance_num->value;
	else if (!launcher_default_base_instance(&base, error))
		return false;
	guint64 count = have_num ? *(guint64 *)num_instances->value : 1;
	if (base + count - 1 > LAUNCHER_MAX_INSTANCE) {
		g_set_error(error, LAUNCHER_ERROR, EINVAL,
			    "instances cvd-%u to cvd-%" G_GUINT64_FORMAT " requested: the last is cvd-%u",
			    base, base + count - 1, LAUNCHER_MAX_INSTANCE);
		return false;
	}
	for (guint64 k = 0; k < count; k++) {
		guint n = (guint)(base + k);
		g_array_append_val(out, n);
	}
	return true;
}

GArray *launcher_instances_from_flags(const struct cli_flag *flags, bool every_when_unnamed, const char *home,
				      GError **error)
{
	if (every_when_unnamed && !flags[0].seen && !flags[1].seen && !flags[2].seen)
		return launcher_list_instances(home);
	g_autoptr(GArray) nums = g_array_new(FALSE, FALSE, sizeof(guint));
	if (!launcher_select_instances(&flags[0], &flags[1], &flags[2], nums, error))
		return NULL;
	return g_steal_pointer(&nums);
}
