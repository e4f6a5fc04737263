/* launcher/file_modes.c — see file_modes.h. */
#include "launcher/file_modes.h"

#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>

#include "launcher/instance.h"

guint launcher_restricted_mode(guint mode)
{
	guint perm = mode & 07777;
	if (S_ISDIR(mode))
		return (mode & ~07777u) | (perm & (S_ISGID | LAUNCHER_DIR_MODE)) | S_IRWXU;
	if (S_ISREG(mode))
		return (mode & ~07777u) | (perm & LAUNCHER_FILE_MODE) | S_IRUSR | S_IWUSR;
	if (S_ISSOCK(mode))
		return (mode & ~07777u) | LAUNCHER_SOCKET_MODE;
	return mode;
}

/* nftw() has no user pointer: the first failure is kept here (the commands are single-threaded
 * where they call it). */
static int restrict_errno;
static char *restrict_failed;

static int restrict_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_SL || flag == FTW_SLN || flag == FTW_NS)
		return 0;
	guint want = launcher_restricted_mode(st->st_mode);
	if (want == st->st_mode || chmod(path, want & 07777) == 0 || errno == ENOENT)
		return 0;
	restrict_errno = errno;
	restrict_failed = g_strdup(path);
	return 1;
}

bool launcher_restrict_tree(const char *path, GError **error)
{
	restrict_errno = 0;
	g_clear_pointer(&restrict_failed, g_free);
	int r = nftw(path, restrict_entry, 16, FTW_PHYS);
	if (r == 0 || (r < 0 && errno == ENOENT))
		return true;
	int e = restrict_failed ? restrict_errno : errno;
	g_set_error(error, LAUNCHER_ERROR, e,
		    "cannot restrict the mode of %s: %s (chown it back to you or remove it)",
		    restrict_failed ? restrict_failed : path, g_strerror(e));
	g_clear_pointer(&restrict_failed, g_free);
	return false;
}
