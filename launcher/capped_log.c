/* launcher/capped_log.c — see capped_log.h. */
#include "launcher/capped_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/instance.h"

struct CappedLog {
	char *path, *old_path;
	int fd;
	uint64_t size, max_bytes;
	guint rotations;
};

static bool open_current(CappedLog *log, int extra_flags, GError **error)
{
	log->fd = open(log->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | extra_flags, 0640);
	struct stat st;
	if (log->fd < 0 || fstat(log->fd, &st) < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "cannot open %s: %s", log->path, g_strerror(errno));
		return false;
	}
	log->size = (uint64_t)st.st_size;
	return true;
}

CappedLog *capped_log_open(const char *path, uint64_t max_bytes, GError **error)
{
	CappedLog *log = g_new0(CappedLog, 1);
	log->path = g_strdup(path);
	log->old_path = g_strconcat(path, ".1", NULL);
	log->max_bytes = MAX(max_bytes, 1);
	if (!open_current(log, 0, error)) {
		capped_log_free(log);
		return NULL;
	}
	return log;
}

static bool rotate(CappedLog *log, GError **error)
{
	close(log->fd);
	log->fd = -1;
	if (rename(log->path, log->old_path) < 0 && errno != ENOENT) {
		g_set_error(error, LAUNCHER_ERROR, errno, "cannot rotate %s to %s: %s", log->path,
			    log->old_path, g_strerror(errno));
		/* Keep the cap even so: start the file again. */
		open_current(log, O_TRUNC, NULL);
		return false;
	}
	log->rotations++;
	return open_current(log, O_TRUNC, error);
}

bool capped_log_write(CappedLog *log, const void *buf, size_t len, GError **error)
{
	const char *p = buf;
	bool ok = true;
	while (len) {
		if (log->size >= log->max_bytes && !rotate(log, ok ? error : NULL))
			ok = false;
		if (log->fd < 0)
			return false;
		size_t room = (size_t)MIN((uint64_t)len, log->max_bytes - MIN(log->size, log->max_bytes));
		if (!room)
			room = len; /* rotation failed and could not start the file again: never spin */
		ssize_t w = write(log->fd, p, room);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (ok)
				g_set_error(error, LAUNCHER_ERROR, w < 0 ? errno : EIO, "cannot write %s: %s",
					    log->path, w < 0 ? g_strerror(errno) : "nothing written");
			return false;
		}
		p += w;
		len -= (size_t)w;
		log->size += (uint64_t)w;
	}
	return ok;
}

guint capped_log_rotations(const CappedLog *log) { return log->rotations; }

void capped_log_free(CappedLog *log)
{
	if (!log)
		return;
	if (log->fd >= 0)
		close(log->fd);
	g_free(log->path);
	g_free(log->old_path);
	g_free(log);
}
