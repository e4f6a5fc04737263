/* Disk image backends behind virtio-blk: raw files, qcow2 (with backing chains) and VMDK
 * descriptors with FLAT/ZERO extents (the composite disk). A backend presents a flat
 * array of bytes; virtio-blk deals in sectors and requests.
 *
 * What an image may reach: a qcow2 backing file or a VMDK extent is named inside an image,
 * so its name is not trusted. Relative names resolve against the directory of the image
 * that names them; the result (with symlinks and `..` resolved) must lie under an allowed
 * directory: the top image's own directory, the naming image's directory, or one given to
 * block_allow_image_dir. Anything else is refused with an error naming both files.
 *
 * Locks: every image file a backend opens (the top image, backing files, extents, VMDK
 * descriptors) carries an OFD lock for as long as it is open: shared for read-only opens,
 * exclusive for writable ones. A conflicting open fails at once, naming the file and,
 * where it can be found, the pid holding it. */
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

/* Opens path as format: "raw", "qcow2" or "vmdk". With format NULL the format is probed
 * from the file's first bytes (qcow2 magic, VMDK descriptor, otherwise raw), a warning says
 * so, and a disk probed as raw refuses (-EIO) guest writes that would make its first
 * sector probe as another format: a guest must not turn its raw disk into a qcow2 image
 * naming a host file as backing. Errors name the file and what is wrong with it. */
struct block_backend *block_open_format(const char *path, const char *format, bool readonly, GError **error);
/* block_open_format(path, NULL, readonly, error). */
struct block_backend *block_open(const char *path, bool readonly, GError **error);
void block_close(struct block_backend *b);
/* Whether name is one of "raw", "qcow2", "vmdk"; returns the static copy, or NULL. */
const char *block_format_name(const char *name);

/* Allows backing files and extents under dir (and its subdirectories) for every image this
 * process opens afterwards. dir must exist; it is kept as its real path. */
bool block_allow_image_dir(const char *dir, GError **error);
/* Forgets the directories block_allow_image_dir added (for tests). */
void block_forget_image_dirs(void);

/* Helpers the backends share. */
/* The part [skip, skip+len) of an iovec as a new iovec in out (room for cnt entries);
 * returns its entry count. */
int block_iov_slice(const struct iovec *iov, int cnt, uint64_t skip, uint64_t len, struct iovec *out);
/* Total bytes of an iovec. */
uint64_t block_iov_length(const struct iovec *iov, int cnt);
/* preadv/pwritev of the whole iovec at off, retrying short transfers (iov is consumed);
 * reads past the end of the file give zeroes. 0 or -errno. */
int block_fd_rw(int fd, struct iovec *iov, int n, uint64_t off, bool write);

/* Backends, for block_open and for tests: each opens path as the top of its chain. */
struct block_backend *block_raw_open(const char *path, bool readonly, GError **error);
struct block_backend *block_qcow2_open(const char *path, bool readonly, GError **error);
struct block_backend *block_vmdk_open(const char *path, bool readonly, GError **error);
