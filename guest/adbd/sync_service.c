/* sepia adbd: the file sync service (adb's SYNC protocol: STAT/STA2/LST2,
 * LIST/LIS2, SEND, RECV, QUIT). Requests and replies are a 4-byte id and a
 * little-endian 32-bit length or value; see AOSP's adb SYNC.TXT. */
#include "sync_service.h"
#include "adb_message.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/byteorder.h"

#define ID_STAT ADB_CMD('S', 'T', 'A', 'T')
#define ID_STA2 ADB_CMD('S', 'T', 'A', '2')
#define ID_LST2 ADB_CMD('L', 'S', 'T', '2')
#define ID_LIST ADB_CMD('L', 'I', 'S', 'T')
#define ID_LIS2 ADB_CMD('L', 'I', 'S', '2')
#define ID_DENT ADB_CMD('D', 'E', 'N', 'T')
#define ID_DNT2 ADB_CMD('D', 'N', 'T', '2')
#define ID_SEND ADB_CMD('S', 'E', 'N', 'D')
#define ID_RECV ADB_CMD('R', 'E', 'C', 'V')
#define ID_DATA ADB_CMD('D', 'A', 'T', 'A')
#define ID_DONE ADB_CMD('D', 'O', 'N', 'E')
#define ID_OKAY ADB_CMD('O', 'K', 'A', 'Y')
#define ID_FAIL ADB_CMD('F', 'A', 'I', 'L')
#define ID_QUIT ADB_CMD('Q', 'U', 'I', 'T')

#define SYNC_MAX_PATH 1024
#define SYNC_DATA_MAX (64 * 1024)
/* stat_v2 after its id: error, dev, ino, mode, nlink, uid, gid, size, atime, mtime, ctime. */
#define STAT_V2_BODY 68

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -EPIPE : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writers that return where the next field goes. */
static uint8_t *put32(uint8_t *p, uint32_t v)
{
	put_le32(p, v);
	return p + 4;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
	put_le64(p, v);
	return p + 8;
}

/* The stat_v2 fields after the id (STAT_V2_BODY bytes). */
static uint8_t *put_stat_v2(uint8_t *p, int err, const struct stat *st)
{
	static const struct stat zero;

	if (err != 0)
		st = &zero;
	p = put32(p, (uint32_t)err);
	p = put64(p, st->st_dev);
	p = put64(p, st->st_ino);
	p = put32(p, st->st_mode);
	p = put32(p, (uint32_t)st->st_nlink);
	p = put32(p, st->st_uid);
	p = put32(p, st->st_gid);
	p = put64(p, (uint64_t)st->st_size);
	p = put64(p, (uint64_t)st->st_atime);
	p = put64(p, (uint64_t)st->st_mtime);
	p = put64(p, (uint64_t)st->st_ctime);
	return p;
}

static int do_stat(int fd, uint32_t id, const char *path)
{
	uint8_t reply[4 + STAT_V2_BODY];
	struct stat st;
	int err;

	if (id == ID_STAT) {
		/* v1: lstat's mode, size and mtime, all zero on failure. */
		memset(&st, 0, sizeof(st));
		if (lstat(path, &st) < 0)
			memset(&st, 0, sizeof(st));
		uint8_t *p = put32(reply, ID_STAT);
		p = put32(p, st.st_mode);
		p = put32(p, (uint32_t)st.st_size);
		p = put32(p, (uint32_t)st.st_mtime);
		return write_full(fd, reply, 16);
	}
	err = (id == ID_STA2 ? stat(path, &st) : lstat(path, &st)) < 0 ? errno : 0;
	put_stat_v2(put32(reply, id), err, &st);
	return write_full(fd, reply, sizeof(reply));
}

static int do_list(int fd, uint32_t id, const char *path)
{
	bool v2 = id == ID_LIS2;
	uint8_t rec[4 + STAT_V2_BODY + 4 + NAME_MAX + 1];
	char full[PATH_MAX];
	DIR *dir = opendir(path);
	struct dirent *de;

	while (dir != NULL && (de = readdir(dir)) != NULL) {
		struct stat st;
		size_t name_len = strlen(de->d_name);
		uint8_t *p;
		int err;

		if (snprintf(full, sizeof(full), "%s/%s", path, de->d_name) >= (int)sizeof(full))
			continue;
		err = lstat(full, &st) < 0 ? errno : 0;
		if (v2) {
			p = put_stat_v2(put32(rec, ID_DNT2), err, &st);
		} else {
			/* v1 lists only what it can stat, as adbd does. */
			if (err != 0)
				continue;
			p = put32(rec, ID_DENT);
			p = put32(p, st.st_mode);
			p = put32(p, (uint32_t)st.st_size);
			p = put32(p, (uint32_t)st.st_mtime);
		}
		p = put32(p, (uint32_t)name_len);
		memcpy(p, de->d_name, name_len);
		if (write_full(fd, rec, (size_t)(p - rec) + name_len) < 0) {
			closedir(dir);
			return -EPIPE;
		}
	}
	if (dir != NULL)
		closedir(dir);
	/* DONE fills a whole dent record of zeros. */
	size_t done_len = v2 ? 4 + STAT_V2_BODY + 4 : 20;
	memset(rec, 0, done_len);
	put32(rec, ID_DONE);
	return write_full(fd, rec, done_len);
}

/* The FAIL reply: "REASON: strerror(err)" as adbd words it, or REASON alone when err is 0. */
static int send_fail_text(int fd, const char *reason, int err)
{
	char msg[256];
	uint8_t hdr[8];
	int n = err ? snprintf(msg, sizeof(msg), "%s: %s", reason, strerror(err))
		    : snprintf(msg, sizeof(msg), "%s", reason);

	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = (int)sizeof(msg) - 1;
	put32(put32(hdr, ID_FAIL), (uint32_t)n);
	if (write_full(fd, hdr, 8) < 0)
		return -EPIPE;
	return write_full(fd, msg, (size_t)n);
}

/* mkdir -p of dir, each new level 0775 as adbd makes them; returns 0 or -errno. */
static int make_dirs(const char *dir)
{
	char buf[PATH_MAX];
	size_t len = strlen(dir);

	if (dir[0] != '/' || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (p[-1] != '/' && mkdir(buf, 0775) < 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (c == '\0')
			return 0;
	}
}

/* The directory part of path ("/" for "/x"), in out[PATH_MAX]. */
static void parent_dir(const char *path, char *out)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash == NULL ? 0 : (size_t)(slash - path);

	if (len == 0) {
		strcpy(out, slash == NULL ? "." : "/");
		return;
	}
	memcpy(out, path, len);
	out[len] = '\0';
}

/* After a failure the client still sends its DATA and DONE before it reads the FAIL: they are
 * read and dropped (as adbd does), so the FAIL is not lost to a reset connection. */
static void drain_send(int fd, uint8_t *buf)
{
	for (;;) {
		uint8_t hdr[8];
		if (read_full(fd, hdr, 8) < 0)
			return;
		uint32_t id = get_le32(hdr), len = get_le32(hdr + 4);
		if (id != ID_DATA || len > SYNC_DATA_MAX || read_full(fd, buf, len) < 0)
			return;
	}
}

/* A symlink push: one DATA with the target (NUL-terminated by the client), then DONE. */
static int send_link(int fd, const char *path, uint8_t *buf, uint32_t *mtime)
{
	char parent[PATH_MAX];
	uint8_t hdr[8];
	uint32_t len;

	if (read_full(fd, hdr, 8) < 0)
		return -EPIPE;
	len = get_le32(hdr + 4);
	if (get_le32(hdr) != ID_DATA || len > SYNC_DATA_MAX) {
		send_fail_text(fd, "invalid data message: expected ID_DATA", 0);
		return -EPROTO;
	}
	if (read_full(fd, buf, len) < 0)
		return -EPIPE;
	buf[len] = '\0'; /* buf holds SYNC_DATA_MAX + 8 */
	unlink(path);
	int rc = symlink((const char *)buf, path);
	if (rc < 0 && errno == ENOENT) {
		parent_dir(path, parent);
		int err = make_dirs(parent);
		if (err < 0) {
			send_fail_text(fd, "secure_mkdirs failed", -err);
			return err;
		}
		rc = symlink((const char *)buf, path);
	}
	if (rc < 0) {
		int err = errno;
		send_fail_text(fd, "symlink failed", err);
		return -err;
	}
	if (read_full(fd, hdr, 8) < 0)
		return -EPIPE;
	if (get_le32(hdr) != ID_DONE) {
		send_fail_text(fd, "invalid data message: expected ID_DONE", 0);
		return -EPROTO;
	}
	*mtime = get_le32(hdr + 4);
	return 0;
}

/* A regular file push: created (with its missing parents), DATA written, DONE's mtime kept. */
static int send_file(int fd, const char *path, mode_t mode, bool unlink_on_failure, uint8_t *buf,
		     uint32_t *mtime)
{
	char parent[PATH_MAX];
	int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	int err;

	if (out < 0 && errno == ENOENT) {
		parent_dir(path, parent);
		if ((err = make_dirs(parent)) < 0) {
			send_fail_text(fd, "secure_mkdirs failed", -err);
			goto fail;
		}
		out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	}
	if (out < 0 && errno == EEXIST)
		out = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (out < 0) {
		err = -errno;
		send_fail_text(fd, "couldn't create file", -err);
		goto fail;
	}
	fchmod(out, mode); /* the umask must not narrow it; not every file system can */
	for (;;) {
		uint8_t hdr[8];
		if (read_full(fd, hdr, 8) < 0) {
			err = -EPIPE;
			break;
		}
		uint32_t id = get_le32(hdr), len = get_le32(hdr + 4);
		if (id == ID_DONE) {
			*mtime = len;
			if (close(out) < 0) {
				out = -1;
				err = -errno;
				send_fail_text(fd, "write failed", -err);
				goto fail;
			}
			return 0;
		}
		if (id != ID_DATA) {
			send_fail_text(fd, "invalid data message", 0);
			err = -EPROTO;
			break;
		}
		if (len > SYNC_DATA_MAX) {
			send_fail_text(fd, "oversize data message", 0);
			err = -EPROTO;
			break;
		}
		if (read_full(fd, buf, len) < 0) {
			err = -EPIPE;
			break;
		}
		if (write_full(out, buf, len) < 0) {
			err = -errno;
			send_fail_text(fd, "write failed", -err);
			close(out);
			out = -1;
			goto fail;
		}
	}
	close(out);
	if (unlink_on_failure)
		unlink(path);
	return err;
fail:
	drain_send(fd, buf);
	if (unlink_on_failure)
		unlink(path);
	return err;
}

/* SEND "PATH,MODE": as adbd, a regular file or symlink already there is replaced, a file's mode
 * gets its owner's bits copied to group and others (0644 -> 0666, 0755 -> 0777), and the file
 * takes DONE's mtime. A failure ends the sync session after its FAIL. */
static int do_send(int fd, char *spec, uint8_t *buf)
{
	char *comma = strrchr(spec, ',');
	struct stat st;
	uint32_t mtime = 0;
	mode_t mode;
	int err;

	if (comma == NULL) {
		send_fail_text(fd, "missing , in ID_SEND_V1", 0);
		return -EPROTO;
	}
	*comma = '\0';
	mode = (mode_t)strtoul(comma + 1, NULL, 0);
	bool replace = lstat(spec, &st) < 0 || S_ISREG(st.st_mode) || (S_ISLNK(st.st_mode) && !S_ISLNK(mode));
	if (replace)
		unlink(spec);
	if (S_ISLNK(mode)) {
		err = send_link(fd, spec, buf, &mtime);
	} else {
		mode &= 0777;
		mode |= (mode >> 3) & 0070;
		mode |= (mode >> 3) & 0007;
		err = send_file(fd, spec, mode, replace, buf, &mtime);
	}
	if (err < 0)
		return err;
	struct timeval tv[2] = { { .tv_sec = mtime }, { .tv_sec = mtime } };
	lutimes(spec, tv);
	uint8_t okay[8];
	put32(put32(okay, ID_OKAY), 0);
	return write_full(fd, okay, 8);
}

static int do_recv(int fd, const char *path, uint8_t *buf)
{
	int in = open(path, O_RDONLY | O_CLOEXEC);

	if (in < 0) {
		int err = errno;
		send_fail_text(fd, "open failed", err);
		return -err;
	}
	for (;;) {
		ssize_t n = read(in, buf + 8, SYNC_DATA_MAX);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(in);
			send_fail_text(fd, "read failed", err);
			return -err;
		}
		if (n == 0)
			break;
		put32(put32(buf, ID_DATA), (uint32_t)n);
		if (write_full(fd, buf, 8 + (size_t)n) < 0) {
			close(in);
			return -EPIPE;
		}
	}
	close(in);
	put32(put32(buf, ID_DONE), 0);
	return write_full(fd, buf, 8);
}

int sync_service_run(int fd, bool verbose)
{
	uint8_t *buf = malloc(8 + SYNC_DATA_MAX);
	char path[SYNC_MAX_PATH + 1];
	int rc = 0;

	if (buf == NULL)
		return 1;
	while (rc == 0) {
		uint8_t hdr[8];
		uint32_t id, len;

		if (read_full(fd, hdr, 8) < 0)
			break;
		id = get_le32(hdr);
		len = get_le32(hdr + 4);
		if (id == ID_QUIT)
			break;
		if (len > SYNC_MAX_PATH) {
			send_fail_text(fd, "path too long", 0);
			rc = 1;
			break;
		}
		if (read_full(fd, path, len) < 0)
			break;
		path[len] = '\0';
		if (verbose)
			fprintf(stderr, "adbd: sync: %.4s %s\n", (const char *)hdr, path);
		switch (id) {
		case ID_STAT:
		case ID_STA2:
		case ID_LST2:
			rc = do_stat(fd, id, path);
			break;
		case ID_LIST:
		case ID_LIS2:
			rc = do_list(fd, id, path);
			break;
		case ID_SEND:
			rc = do_send(fd, path, buf);
			break;
		case ID_RECV:
			rc = do_recv(fd, path, buf);
			break;
		default:
			snprintf(path, sizeof(path), "unknown command %08x", id);
			send_fail_text(fd, path, 0);
			rc = 1;
			break;
		}
	}
	free(buf);
	return rc == 0 ? 0 : 1;
}
