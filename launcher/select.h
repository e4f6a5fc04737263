/* launcher/select.h — the instance selection all commands share: --instance_nums, or
 * --num_instances from --base_instance_num (default $CUTTLEFISH_INSTANCE, else 1). */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "common/flags.h"

#define LAUNCHER_MAX_INSTANCE 128u

/* The instances a command acts on, in order, from the shared flags (NULL/unseen ones ignored).
 * Errors: bad lists, --instance_nums combined with the others, instances past 128. */
bool launcher_select_instances(const struct cli_flag *instance_nums, const struct cli_flag *num_instances,
			       const struct cli_flag *base_instance_num, GArray *out, GError **error);
/* $CUTTLEFISH_INSTANCE (1..128) or 1; an invalid value is an error. */
bool launcher_default_base_instance(guint *out, GError **error);
