/* Raw image files and block devices: the guest's bytes are the file's bytes. A raw disk
 * whose format was probed refuses writes that would make its first sector probe as another
 * format (block_raw_guard_probe). */
#include "block/chain.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

struct raw_backend {
	struct block_backend b;
	int fd;
	bool can_punch;
	bool guard_probe;   /* writes must keep sector 0 probing as raw */
	bool guard_refused; /* a refusal was logged */
	GMutex guard_lock;  /* orders the check and the write of sector-0 writes */
};

static struct raw_backend *to_raw(struct block_backend *b) { return (struct raw_backend *)b; }

static int raw_transfer(struct block_backend *b, const struct iovec *iov_in, int iovcnt, uint64_t off,
			bool write)
{
	struct iovec iov[IOV_MAX];
	if (iovcnt > IOV_MAX)
		return -EINVAL; /* virtio-blk never builds requests that long */
	memcpy(iov, iov_in, (size_t)iovcnt * sizeof(*iov));
	return block_fd_rw(to_raw(b)->fd, iov, iovcnt, off, write);
}

static int raw_preadv(struct block_backend *b, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return raw_transfer(b, iov, iovcnt, off, false);
}

/* A write touching sector 0 of a guarded disk: sector 0 as it would be afterwards must
 * still probe as raw. Zeroes can never make a format's magic appear, so write_zeroes and
 * discard need no check. */
static int guarded_write(struct raw_backend *r, const struct iovec *iov, int iovcnt, uint64_t off)
{
	uint8_t head[512] = { 0 };
	struct iovec cur = { head, sizeof(head) };
	g_mutex_lock(&r->guard_lock);
	int ret = block_fd_rw(r->fd, &cur, 1, 0, false);
	if (ret == 0) {
		uint64_t pos = off;
		for (int i = 0; i < iovcnt && pos < sizeof(head); i++) {
			memcpy(head + pos, iov[i].iov_base, (size_t)MIN(iov[i].iov_len, sizeof(head) - pos));
			pos += iov[i].iov_len;
		}
		const char *as = block_probe_bytes(head, sizeof(head));
		if (strcmp(as, "raw")) {
			if (!r->guard_refused)
				g_warning("disk %s: refused a guest write to its first sector that would "
					  "make it "
					  "probe as %s (the format was probed; give format=raw to allow such "
					  "writes)",
					  r->b.path, as);
			r->guard_refused = true;
			ret = -EIO;
		} else {
			ret = raw_transfer(&r->b, iov, iovcnt, off, true);
		}
	}
	g_mutex_unlock(&r->guard_lock);
	return ret;
}

static int raw_pwritev(struct block_backend *b, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct raw_backend *r = to_raw(b);
	if (b->readonly)
		return -EROFS;
	if (r->guard_probe && off < 512)
		return guarded_write(r, iov, iovcnt, off);
	return raw_transfer(b, iov, iovcnt, off, true);
}

static int raw_flush(struct block_backend *b) { return fdatasync(to_raw(b)->fd) == 0 ? 0 : -errno; }

static int raw_write_zeroes(struct block_backend *b, uint64_t off, uint64_t len, bool unmap)
{
	struct raw_backend *r = to_raw(b);
	if (unmap && r->can_punch &&
	    fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (fallocate(r->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	static const uint8_t zeroes[65536];
	while (len > 0) {
		ssize_t n = pwrite(r->fd, zeroes, (size_t)MIN(len, sizeof(zeroes)), (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int raw_discard(struct block_backend *b, uint64_t off, uint64_t len)
{
	struct raw_backend *r = to_raw(b);
	/* A hint: a file system that cannot punch holes keeps the data, which is allowed. */
	if (r->can_punch)
		fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
	return 0;
}

static void raw_close(struct block_backend *b)
{
	struct raw_backend *r = to_raw(b);
	if (r->fd >= 0)
		close(r->fd);
	g_mutex_clear(&r->guard_lock);
	g_free(r->b.path);
	g_free(r);
}

static const struct block_backend_ops raw_ops = {
	.preadv = raw_preadv,
	.pwritev = raw_pwritev,
	.flush = raw_flush,
	.write_zeroes = raw_write_zeroes,
	.discard = raw_discard,
	.close = raw_close,
};

void block_raw_guard_probe(struct block_backend *b)
{
	if (b->ops == &raw_ops)
		to_raw(b)->guard_probe = true;
}

struct block_backend *block_raw_open(const char *path, bool readonly, GError **error)
{
	struct raw_backend *r = g_new0(struct raw_backend, 1);
	r->b.ops = &raw_ops;
	r->b.format = "raw";
	r->b.path = g_strdup(path);
	r->b.readonly = readonly;
	g_mutex_init(&r->guard_lock);
	r->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	struct stat st;
	if (r->fd < 0 || fstat(r->fd, &st) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot open disk %s%s: %s", path,
			    readonly ? " read-only" : "", g_strerror(errno));
		raw_close(&r->b);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "disk %s is not a regular file or block device",
			    path);
		raw_close(&r->b);
		return NULL;
	}
	if (!block_lock_image(r->fd, path, !readonly, error)) {
		raw_close(&r->b);
		return NULL;
	}
	r->b.size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : (uint64_t)lseek(r->fd, 0, SEEK_END);
	/* Regular files get hole punching; where the file system refuses it, discard keeps
	 * the data and write-zeroes falls back to writing zeroes. */
	r->can_punch = S_ISREG(st.st_mode);
	return &r->b;
}
