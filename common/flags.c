/* common/flags.c — see flags.h. */
#include "common/flags.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"

bool cli_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes", "on" }, *const no[] = { "false", "0", "no",
										       "off" };
	for (guint i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (!g_ascii_strcasecmp(s, yes[i]))
			return *out = true, true;
		if (!g_ascii_strcasecmp(s, no[i]))
			return *out = false, true;
	}
	return false;
}

void cli_flags_usage(FILE *out, const char *synopsis, const struct cli_flag *flags, gsize n_flags)
{
	fprintf(out, "%s\nFlags (--flag=value or --flag value; booleans also --flag / --noflag):\n",
		synopsis);
	for (gsize i = 0; i < n_flags; i++) {
		if (!*flags[i].help)
			continue;
		const char *arg = flags[i].kind == CLI_FLAG_BOOL   ? "[=BOOL]"
				  : flags[i].kind == CLI_FLAG_UINT ? "=N"
								   : "=VALUE";
		g_autofree char *left = g_strdup_printf("--%s%s", flags[i].name, arg);
		fprintf(out, "  %-30s %s\n", left, flags[i].help);
	}
}

static struct cli_flag *find_flag(struct cli_flag *flags, gsize n, const char *name, bool *negated)
{
	*negated = false;
	for (gsize i = 0; i < n; i++)
		if (!strcmp(flags[i].name, name))
			return &flags[i];
	if (g_str_has_prefix(name, "no")) {
		for (gsize i = 0; i < n; i++)
			if (flags[i].kind == CLI_FLAG_BOOL && !strcmp(flags[i].name, name + 2))
				return *negated = true, &flags[i];
	}
	return NULL;
}

static bool set_value(struct cli_flag *f, const char *val, GError **error)
{
	switch (f->kind) {
	case CLI_FLAG_STRING:
		*(const char **)f->value = val;
		return true;
	case CLI_FLAG_UINT:
		if (!g_ascii_string_to_unsigned(val, 10, f->min, f->max, (guint64 *)f->value, NULL)) {
			g_set_error(error, SEPIA_ERROR, EINVAL,
				    "--%s: '%s' is not a number %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT,
				    f->name, val, f->min, f->max);
			return false;
		}
		return true;
	case CLI_FLAG_BOOL:
		if (!cli_parse_bool(val, (bool *)f->value)) {
			g_set_error(error, SEPIA_ERROR, EINVAL, "--%s: '%s' is not a boolean (true/false)",
				    f->name, val);
			return false;
		}
		return true;
	}
	return false;
}

enum cli_flags_result cli_flags_parse(struct cli_flag *flags, gsize n_flags, const char *synopsis, int argc,
				      char **argv, GError **error)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-help") || !strcmp(a, "-h") ||
		    !strcmp(a, "--helpfull")) {
			cli_flags_usage(stdout, synopsis, flags, n_flags);
			return CLI_FLAGS_HELP;
		}
		if (a[0] != '-' || !a[1]) {
			g_set_error(error, SEPIA_ERROR, EINVAL, "unexpected argument '%s'", a);
			return CLI_FLAGS_ERROR;
		}
		const char *name_start = a + (a[1] == '-' ? 2 : 1);
		const char *eq = strchr(name_start, '=');
		g_autofree char *name = eq ? g_strndup(name_start, (gsize)(eq - name_start))
					   : g_strdup(name_start);
		const char *val = eq ? eq + 1 : NULL;
		bool negated;
		struct cli_flag *f = find_flag(flags, n_flags, name, &negated);
		if (!f) {
			g_set_error(error, SEPIA_ERROR, EINVAL, "unknown flag '%s'", a);
			return CLI_FLAGS_ERROR;
		}
		f->seen = true;
		if (f->kind == CLI_FLAG_BOOL) {
			if (negated) {
				if (val) {
					g_set_error(error, SEPIA_ERROR, EINVAL,
						    "--no%s takes no value ('%s')", f->name, a);
					return CLI_FLAGS_ERROR;
				}
				*(bool *)f->value = false;
				continue;
			}
			/* `--flag` alone is true; `--flag false` takes the next word only when it is a boolean. */
			if (!val) {
				if (i + 1 < argc && cli_parse_bool(argv[i + 1], (bool *)f->value))
					i++;
				else
					*(bool *)f->value = true;
				continue;
			}
		} else if (!val) {
			if (i + 1 >= argc) {
				g_set_error(error, SEPIA_ERROR, EINVAL, "%s needs a value", a);
				return CLI_FLAGS_ERROR;
			}
			val = argv[++i];
		}
		if (!set_value(f, val, error))
			return CLI_FLAGS_ERROR;
	}
	return CLI_FLAGS_OK;
}
