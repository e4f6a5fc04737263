/* One request's buffers (a descriptor chain) and cursors that walk them. Devices read a
 * request and write its answer only through cursors: they never index iovecs or do pointer
 * arithmetic on guest buffers, and a cursor never runs past the bytes the guest gave. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VIRTQ_MAX_SEGS 1024 /* descriptors one chain may hold, indirect included */

/* One request: the device-readable segments first, then the device-writable ones. */
struct virtq_chain {
	uint16_t head;
	unsigned int nr_out, nr_in;
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SEGS]; /* [0, nr_out) readable, then nr_in writable */
};

/* A position in the readable (reader) or writable (writer) part of a chain. Copies are
 * cheap: a cursor is a view, the chain stays the owner. */
struct virtq_cursor {
	const struct iovec *iov; /* the segment the cursor is in, then the rest */
	unsigned int nr;         /* segments from iov on */
	size_t off;              /* bytes of iov[0] already consumed */
	size_t left;             /* bytes left in the whole view */
	size_t done;             /* bytes consumed since the view began */
};

/* The readable bytes of c, and its writable bytes. */
void virtq_reader(const struct virtq_chain *c, struct virtq_cursor *r);
void virtq_writer(const struct virtq_chain *c, struct virtq_cursor *w);

static inline size_t virtq_cursor_left(const struct virtq_cursor *cur) { return cur->left; }
/* What has been read from (or written to) the view so far: a writer's answer length. */
static inline size_t virtq_cursor_done(const struct virtq_cursor *cur) { return cur->done; }

/* Copies up to len bytes out of (or into) the view and advances; returns how many. */
size_t virtq_read(struct virtq_cursor *r, void *buf, size_t len);
size_t virtq_write(struct virtq_cursor *w, const void *buf, size_t len);
/* The whole object or nothing: false (cursor unmoved) when fewer than size bytes are left. */
bool virtq_read_obj(struct virtq_cursor *r, void *obj, size_t size);
bool virtq_write_obj(struct virtq_cursor *w, const void *obj, size_t size);
/* Advances by up to len bytes without copying; returns how many. */
size_t virtq_skip(struct virtq_cursor *cur, size_t len);
/* Splits the view: *head gets its first len bytes (all of it when fewer are left), and cur
 * continues after them; each is a view of its own (virtq_cursor_done counts from the split). */
void virtq_split_at(struct virtq_cursor *cur, size_t len, struct virtq_cursor *head);
/* The view's bytes as at most max iovecs in out, for preadv/pwritev/readv/writev. Returns the
 * count, or -1 when the view needs more than max entries (it never truncates silently). */
int virtq_cursor_iov(const struct virtq_cursor *cur, struct iovec *out, unsigned int max);
