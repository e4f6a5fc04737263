/* Image locks: an OFD lock (fcntl F_OFD_SETLK) on the whole file, shared for read-only opens
 * and exclusive for writable ones, so that two writers, or a writer and a reader, never share
 * an image. OFD locks belong to the open file description: they conflict between two opens
 * in one process too, survive the closing of other descriptors of the file, and go away
 * when the process dies. QEMU locks bytes of the same files, so it and sepia exclude each
 * other as well.
 *
 * The holder of a conflicting OFD lock is not reported by F_OFD_GETLK (its pid reads -1);
 * it is looked for in /proc/<pid>/fdinfo/<fd>, whose "lock:" lines name the locked inode. */
#include "block/chain.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/error.h"

/* The pid of a process with a descriptor holding a lock on dev:ino, or 0. */
static pid_t find_lock_holder(dev_t dev, ino_t ino)
{
	/* As /proc/locks and fdinfo print it: " <pid> MAJ:MIN:INODE " */
	g_autofree char *needle = g_strdup_printf(" %02x:%02x:%lu ", major(dev), minor(dev),
						  (unsigned long)ino);
	pid_t found = 0;
	GDir *proc = g_dir_open("/proc", 0, NULL);
	const char *pid_name;
	while (proc && !found && (pid_name = g_dir_read_name(proc))) {
		guint64 pid;
		if (!g_ascii_string_to_unsigned(pid_name, 10, 1, G_MAXINT32, &pid, NULL))
			continue;
		g_autofree char *fdinfo = g_build_filename("/proc", pid_name, "fdinfo", NULL);
		GDir *fds = g_dir_open(fdinfo, 0, NULL);
		const char *fd_name;
		while (fds && !found && (fd_name = g_dir_read_name(fds))) {
			g_autofree char *path = g_build_filename(fdinfo, fd_name, NULL);
			g_autofree char *text = NULL;
			if (!g_file_get_contents(path, &text, NULL, NULL))
				continue;
			for (char *line = strstr(text, "\nlock:"); line && !found;
			     line = strstr(line + 1, "\nlock:")) {
				char *end = strchr(line + 1, '\n');
				if (end)
					*end = 0;
				if (strstr(line, needle))
					found = (pid_t)pid;
				if (end)
					*end = '\n';
			}
		}
		if (fds)
			g_dir_close(fds);
	}
	if (proc)
		g_dir_close(proc);
	return found;
}

bool block_lock_image(int fd, const char *path, bool write, GError **error)
{
	struct flock fl = { .l_type = write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET };
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return true;
	int err = errno;
	if (err == EINVAL || err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS) {
		static gsize warned;
		if (g_once_init_enter(&warned)) {
			g_warning("cannot lock disk %s (%s): its file system takes no locks, so nothing "
				  "stops a "
				  "second program from opening it",
				  path, g_strerror(err));
			g_once_init_leave(&warned, 1);
		}
		return true;
	}
	if (err != EAGAIN && err != EACCES) {
		g_set_error(error, SEPIA_ERROR, err, "cannot lock disk %s: %s", path, g_strerror(err));
		return false;
	}
	struct flock held = { .l_type = write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET };
	const char *kind = "a lock";
	pid_t pid = 0;
	if (fcntl(fd, F_OFD_GETLK, &held) == 0 && held.l_type != F_UNLCK) {
		kind = held.l_type == F_WRLCK ? "a write lock" : "a read lock";
		pid = held.l_pid > 0 ? held.l_pid : 0;
	}
	struct stat st;
	if (!pid && fstat(fd, &st) == 0)
		pid = find_lock_holder(st.st_dev, st.st_ino);
	g_autofree char *holder = pid ? g_strdup_printf("pid %d%s", (int)pid,
							pid == getpid() ? " (this process)" : "")
				      : g_strdup("another process");
	g_set_error(error, SEPIA_ERROR, EBUSY,
		    "disk %s is in use: %s holds %s on it; stop the program using it (another sepia-vmm, "
		    "run_cvd or QEMU) or give this one another image",
		    path, holder, kind);
	return false;
}
