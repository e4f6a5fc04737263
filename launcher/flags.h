/* launcher/flags.h — Cuttlefish-style command-line flags for sepia's commands (assemble_cvd,
 * launch_cvd, stop_cvd, cvd_status, run_cvd): `--flag=value` or `--flag value`, one or two
 * dashes; booleans also `--flag` and `--noflag`. Unknown flags and bad values are errors that
 * name the flag. And the instance selection all commands share: --instance_nums, or
 * --num_instances from --base_instance_num (default $CUTTLEFISH_INSTANCE, else 1). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

#define LAUNCHER_MAX_INSTANCE 128u

typedef enum {
    LAUNCHER_FLAG_STRING, /* value: const char ** (points into argv) */
    LAUNCHER_FLAG_UINT,   /* value: guint64 *, within [min, max] */
    LAUNCHER_FLAG_BOOL,   /* value: bool * */
} LauncherFlagKind;

typedef struct {
    const char *name;
    LauncherFlagKind kind;
    void *value;
    guint64 min, max;
    const char *help; /* one line; "" hides the flag from --help */
    bool seen;        /* set by the parser */
} LauncherFlag;

/* Table entries. */
#define FLAG_STRING(n, p, h) { .name = (n), .kind = LAUNCHER_FLAG_STRING, .value = (p), .help = (h) }
#define FLAG_UINT(n, p, lo, hi, h) { .name = (n), .kind = LAUNCHER_FLAG_UINT, .value = (p), .min = (lo), .max = (hi), .help = (h) }
#define FLAG_BOOL(n, p, h) { .name = (n), .kind = LAUNCHER_FLAG_BOOL, .value = (p), .help = (h) }

typedef enum {
    LAUNCHER_FLAGS_OK,
    LAUNCHER_FLAGS_HELP, /* --help was given: usage printed on stdout */
    LAUNCHER_FLAGS_ERROR,
} LauncherFlagsResult;

/* Parses argv[1..]; positional arguments are errors. */
LauncherFlagsResult launcher_flags_parse(LauncherFlag *flags, gsize n_flags, const char *synopsis,
                                         int argc, char **argv, GError **error);
void launcher_flags_usage(FILE *out, const char *synopsis, const LauncherFlag *flags, gsize n_flags);
bool launcher_parse_bool(const char *s, bool *out);

/* The instances a command acts on, in order, from the shared flags (NULL/unseen ones ignored).
 * Errors: bad lists, --instance_nums combined with the others, instances past 128. */
bool launcher_select_instances(const LauncherFlag *instance_nums, const LauncherFlag *num_instances,
                               const LauncherFlag *base_instance_num, GArray *out, GError **error);
/* $CUTTLEFISH_INSTANCE (1..128) or 1; an invalid value is an error. */
bool launcher_default_base_instance(guint *out, GError **error);
