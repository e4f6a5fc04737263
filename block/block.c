/* Opening a disk image: the format is read from the file's first bytes, never guessed
 * from its name. */
#include "block/block.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/error.h"

struct block_backend *block_open(const char *path, bool readonly, GError **error)
{
	uint8_t head[512] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot open disk %s: %s", path, g_strerror(errno));
		return NULL;
	}
	ssize_t n = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (n < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot read disk %s: %s", path, g_strerror(errno));
		return NULL;
	}
	static const char vmdk_text[] = "# Disk DescriptorFile";
	if (n >= 4 && !memcmp(head, "QFI\xfb", 4))
		return block_qcow2_open(path, readonly, error);
	if ((size_t)n >= sizeof(vmdk_text) - 1 && !memcmp(head, vmdk_text, sizeof(vmdk_text) - 1))
		return block_vmdk_open(path, readonly, error);
	/* A binary (sparse) VMDK: refuse rather than hand the guest its container bytes. */
	if (n >= 4 && (!memcmp(head, "KDMV", 4) || !memcmp(head, "COWD", 4))) {
		g_set_error(
			error, SEPIA_ERROR, ENOTSUP,
			"disk %s is a sparse VMDK image, which is not supported (convert it to raw or qcow2)",
			path);
		return NULL;
	}
	return block_raw_open(path, readonly, error);
}

void block_close(struct block_backend *b)
{
	if (b)
		b->ops->close(b);
}

uint64_t block_iov_length(const struct iovec *iov, int cnt)
{
	uint64_t len = 0;
	for (int i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	return len;
}

int block_iov_slice(const struct iovec *iov, int cnt, uint64_t skip, uint64_t len, struct iovec *out)
{
	int n = 0;
	for (int i = 0; i < cnt && len > 0; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t take = (size_t)MIN(iov[i].iov_len - skip, len);
		out[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
		out[n].iov_len = take;
		n++;
		len -= take;
		skip = 0;
	}
	return n;
}

int block_fd_rw(int fd, struct iovec *iov, int n, uint64_t off, bool write)
{
	while (n > 0) {
		ssize_t got = write ? pwritev(fd, iov, n, (off_t)off) : preadv(fd, iov, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0) {
			if (write)
				return -EIO;
			for (int i = 0; i < n; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return 0;
		}
		off += (uint64_t)got;
		while (n > 0 && (size_t)got >= iov->iov_len) {
			got -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + got;
			iov->iov_len -= (size_t)got;
		}
	}
	return 0;
}
