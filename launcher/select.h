/* launcher/select.h — the instance selection all commands share: --instance_nums, or
 * --num_instances from --base_instance_num (default $CUTTLEFISH_INSTANCE, else 1). */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "common/flags.h"

#define LAUNCHER_MAX_INSTANCE 128u

/* The three instance flags every command takes, for the head of its flag table. */
struct instance_flags {
	const char *nums;
	guint64 count, base;
};
#define INSTANCE_FLAGS(sel)                                                            \
	FLAG_STRING("instance_nums", &(sel)->nums, "the instances, e.g. 1,3"),         \
		FLAG_UINT("num_instances", &(sel)->count, 1, LAUNCHER_MAX_INSTANCE,    \
			  "N instances from the base one"),                            \
		FLAG_UINT("base_instance_num", &(sel)->base, 1, LAUNCHER_MAX_INSTANCE, \
			  "first instance (default $CUTTLEFISH_INSTANCE or 1)")

/* After cli_flags_parse: the instances INSTANCE_FLAGS at flags[0..2] name or, when none of
 * them was given and every_when_unnamed, every instance that has a directory under home.
 * NULL with an error naming the flag for bad values. */
GArray *launcher_instances_from_flags(const struct cli_flag *flags, bool every_when_unnamed, const char *home,
				      GError **error);

/* The instances a command acts on, in order, from the shared flags (NULL/unseen ones ignored).
 * Errors: bad lists, --instance_nums combined with the others, instances past 128. */
bool launcher_select_instances(const struct cli_flag *instance_nums, const struct cli_flag *num_instances,
			       const struct cli_flag *base_instance_num, GArray *out, GError **error);
/* $CUTTLEFISH_INSTANCE (1..128) or 1; an invalid value is an error. */
bool launcher_default_base_instance(guint *out, GError **error);
