/* launcher/vmm_jail.h — the monitor's side of sepia-vmm's jail (devices/sandbox/): as root, the
 * VMM starts as PID 1 of a PID namespace of its own (a process cannot move itself into one,
 * so its parent makes it with clone(CLONE_NEWPID)) and is told which uid and gid to drop
 * to: one uid per instance, VMM_JAIL_UID_BASE + N, and the group cvdnetwork (65534 where
 * the group does not exist). sepia-vmm does the rest itself once its machine is built. */
#pragma once

#include <glib.h>
#include <stdbool.h>

/* Instance N's VMM runs as uid VMM_JAIL_UID_BASE + N: far above login users, system
 * users and the subordinate-uid ranges useradd hands out by default (100000-600100000). */
#define VMM_JAIL_UID_BASE 700000000u

/* launch_cvd/run_cvd's --sandbox: "auto" or "off". */
bool vmm_jail_valid_mode(const char *mode);

/* Whether the VMM of a monitor with this --sandbox is jailed by it (root and not off). */
bool vmm_jail_wanted(const char *mode);

/* sepia-vmm's --sandbox-user value for instance num. */
char *vmm_jail_user_arg(guint num);

/* As g_spawn_async_with_pipes_and_fds with G_SPAWN_DO_NOT_REAP_CHILD (stdin /dev/null,
 * stdout on a pipe returned in *stdout_fd, stderr inherited, source_fds[i] as
 * target_fds[i], every other descriptor closed), in a new PID namespace (in the caller's own
 * where making one is not permitted, logged), with PR_SET_PDEATHSIG SIGTERM. An exec failure is
 * reported as an error naming argv[0]. */
bool vmm_jail_spawn(const char *const *argv, const int *source_fds, const int *target_fds, guint n_fds,
		    GPid *pid, int *stdout_fd, GError **error);
