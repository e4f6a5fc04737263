/* common/flags.h — Cuttlefish-style command-line flags for sepia's commands (assemble_cvd,
 * launch_cvd, stop_cvd, cvd_status, run_cvd, cvd_display, sepia-webview): `--flag=value` or
 * `--flag value`, one or two dashes; booleans also `--flag` and `--noflag`. Unknown flags and
 * bad values are errors that name the flag. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

enum cli_flag_kind {
	CLI_FLAG_STRING, /* value: const char ** (points into argv) */
	CLI_FLAG_UINT,   /* value: guint64 *, within [min, max] */
	CLI_FLAG_BOOL,   /* value: bool * */
};

struct cli_flag {
	const char *name;
	enum cli_flag_kind kind;
	void *value;
	guint64 min, max;
	const char *help; /* one line; "" hides the flag from --help */
	bool seen;        /* set by the parser */
};

/* Table entries. */
#define FLAG_STRING(n, p, h)                                                    \
	{                                                                       \
		.name = (n), .kind = CLI_FLAG_STRING, .value = (p), .help = (h) \
	}
#define FLAG_UINT(n, p, lo, hi, h)                                                                      \
	{                                                                                               \
		.name = (n), .kind = CLI_FLAG_UINT, .value = (p), .min = (lo), .max = (hi), .help = (h) \
	}
#define FLAG_BOOL(n, p, h)                                                    \
	{                                                                     \
		.name = (n), .kind = CLI_FLAG_BOOL, .value = (p), .help = (h) \
	}

enum cli_flags_result {
	CLI_FLAGS_OK,
	CLI_FLAGS_HELP, /* --help was given: usage printed on stdout */
	CLI_FLAGS_ERROR,
};

/* Parses argv[1..]; positional arguments are errors. */
enum cli_flags_result cli_flags_parse(struct cli_flag *flags, gsize n_flags, const char *synopsis, int argc,
				      char **argv, GError **error);
void cli_flags_usage(FILE *out, const char *synopsis, const struct cli_flag *flags, gsize n_flags);
bool cli_parse_bool(const char *s, bool *out);
