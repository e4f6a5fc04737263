/* launcher/file_modes.h — who may read what sepia keeps under ~/cuttlefish.
 *
 * The guest's data (overlay.qcow2, userdata), its screen (display<K>.fb) and its console
 * (logs/kernel.log) are the owner's: nothing is readable by other users. The group keeps read
 * access to files and directories and may connect to the sockets, so that a host that gives
 * ~/cuttlefish a shared group (chgrp + the setgid bit; the setgid bit is kept) lets its members
 * watch and reach devices. sepia never puts a directory or file in the `cvdnetwork` group itself:
 * that group is every device user's on the host (packaging gives it the TAPs), and its members
 * must not read one another's data. The monitor's control socket further admits only its
 * owner's uid and root (launcher/control_server.h).
 *
 *   directories 0750, files 0640, sockets 0660; the commands run with umask 027. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#define LAUNCHER_UMASK       027
#define LAUNCHER_DIR_MODE    0750
#define LAUNCHER_FILE_MODE   0640
#define LAUNCHER_SOCKET_MODE 0660

/* What a directory, regular file or socket with mode `mode` (st_mode) becomes: never more than
 * the modes above, never less than the owner's own access; a directory keeps its setgid bit.
 * Other kinds keep their mode. */
guint launcher_restricted_mode(guint mode);

/* Brings path and everything under it (symlinks not followed) to launcher_restricted_mode():
 * trees written by an earlier sepia, or under a wider umask. Errors name the file. */
bool launcher_restrict_tree(const char *path, GError **error);
