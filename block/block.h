/* Disk image backends behind virtio-blk: raw files, qcow2 (with backing chains) and VMDK
 * descriptors with FLAT/ZERO extents (the composite disk). A backend presents a flat
 * array of bytes; virtio-blk deals in sectors and requests. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct block_backend;

struct block_backend_ops {
	/* Whole transfers: return 0 when all of iov was read/written at off, else -errno.
	 * Reads past the end of the data a backend holds return zeroes. */
	int (*preadv)(struct block_backend *b, const struct iovec *iov, int iovcnt, uint64_t off);
	int (*pwritev)(struct block_backend *b, const struct iovec *iov, int iovcnt, uint64_t off);
	int (*flush)(struct block_backend *b);
	/* The range reads as zeroes afterwards; unmap allows freeing its storage. */
	int (*write_zeroes)(struct block_backend *b, uint64_t off, uint64_t len, bool unmap);
	/* A hint: the guest no longer needs the range (its contents become unspecified). */
	int (*discard)(struct block_backend *b, uint64_t off, uint64_t len);
	void (*close)(struct block_backend *b);
};

struct block_backend {
	const struct block_backend_ops *ops;
	const char *format; /* "raw", "qcow2", "vmdk" */
	char *path;
	uint64_t size; /* bytes the guest sees */
	bool readonly;
};

/* Opens path, recognising the format by its contents (qcow2 magic, VMDK descriptor,
 * otherwise raw). Errors name the file and what is wrong with it. */
struct block_backend *block_open(const char *path, bool readonly, GError **error);
void block_close(struct block_backend *b);

/* Helpers the backends share. */
/* The part [skip, skip+len) of an iovec as a new iovec in out (room for cnt entries);
 * returns its entry count. */
int block_iov_slice(const struct iovec *iov, int cnt, uint64_t skip, uint64_t len, struct iovec *out);
/* Total bytes of an iovec. */
uint64_t block_iov_length(const struct iovec *iov, int cnt);
/* preadv/pwritev of the whole iovec at off, retrying short transfers (iov is consumed);
 * reads past the end of the file give zeroes. 0 or -errno. */
int block_fd_rw(int fd, struct iovec *iov, int n, uint64_t off, bool write);

/* Backends, for block_open and for tests. */
struct block_backend *block_raw_open(const char *path, bool readonly, GError **error);
struct block_backend *block_qcow2_open(const char *path, bool readonly, GError **error);
struct block_backend *block_vmdk_open(const char *path, bool readonly, GError **error);
