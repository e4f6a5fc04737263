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

static int send_fail(int fd, const char *fmt, const char *path, int err)
{
	char msg[SYNC_MAX_PATH + 128];
	uint8_t hdr[8];
	int n = snprintf(msg, sizeof(msg), fmt, path, strerror(err));

	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = (int)sizeof(msg) - 1;
	put32(put32(hdr, ID_FAIL), (uint32_t)n);
	if (write_full(fd, hdr, 8) < 0)
		return -EPIPE;
	return write_full(fd, msg, (size_t)n);
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

/* mkdir -p of path's parent (the fixed_push_mkdir feature). */
static void make_parents(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
}

static int do_send(int fd, char *spec, uint8_t *buf)
{
	char *comma = strrchr(spec, ',');
	mode_t mode = 0644;
	int out = -1, err = 0;
	bool is_link = false;
	size_t link_len = 0;
	char link_target[PATH_MAX];

	if (comma != NULL) {
		*comma = '\0';
		mode = (mode_t)strtoul(comma + 1, NULL, 0);
	}
	is_link = S_ISLNK(mode);
	if (!is_link) {
		make_parents(spec);
		out = open(spec, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 07777);
		if (out < 0)
			err = errno;
		else if (fchmod(out, mode & 07777) < 0) /* the umask must not narrow it */
			err = errno;
	}

	/* Take every DATA chunk even after a failure: the client sends them all
	 * before it reads the answer. */
	for (;;) {
		uint8_t hdr[8];
		uint32_t id, len;

		if (read_full(fd, hdr, 8) < 0)
			goto lost;
		id = get_le32(hdr);
		len = get_le32(hdr + 4);
		if (id == ID_DONE) {
			if (is_link && err == 0) {
				link_target[link_len] = '\0';
				make_parents(spec);
				unlink(spec);
				if (symlink(link_target, spec) < 0)
					err = errno;
			}
			if (out >= 0) {
				struct timeval tv[2] = { { .tv_sec = len }, { .tv_sec = len } };
				if (err == 0 && futimes(out, tv) < 0)
					err = errno;
				if (close(out) < 0 && err == 0)
					err = errno;
				out = -1;
			}
			if (err != 0)
				return send_fail(fd, "couldn't write %s: %s", spec, err);
			put32(put32(hdr, ID_OKAY), 0);
			return write_full(fd, hdr, 8);
		}
		if (id != ID_DATA || len > SYNC_DATA_MAX)
			goto lost;
		if (read_full(fd, buf, len) < 0)
			goto lost;
		if (is_link) {
			if (link_len + len >= sizeof(link_target)) {
				err = ENAMETOOLONG;
			} else {
				memcpy(link_target + link_len, buf, len);
				link_len += len;
			}
		} else if (err == 0 && write_full(out, buf, len) < 0) {
			err = errno;
		}
	}
lost:
	if (out >= 0) {
		close(out);
		unlink(spec); /* a half-pushed file is worse than none */
	}
	return -EPROTO;
}

static int do_recv(int fd, const char *path, uint8_t *buf)
{
	int in = open(path, O_RDONLY | O_CLOEXEC);

	if (in < 0)
		return send_fail(fd, "open failed: %s: %s", path, errno);
	for (;;) {
		ssize_t n = read(in, buf + 8, SYNC_DATA_MAX);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(in);
			return send_fail(fd, "read failed: %s: %s", path, err);
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
			send_fail(fd, "path too long%s%s", "", ENAMETOOLONG);
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
			send_fail(fd, "unknown sync request%s: %s", "", EPROTO);
			rc = 1;
			break;
		}
	}
	free(buf);
	return rc == 0 ? 0 : 1;
}
