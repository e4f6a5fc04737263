/* Where a guest character device (8250, virtio-console) sends its output and gets its
 * input: the VMM's stdio, a file, a pseudo-terminal, an inherited file descriptor, or
 * nowhere.
 *
 * Output never blocks the caller (a vCPU thread or the I/O thread): the chardev makes its
 * fds non-blocking, whatever it was handed, and what the fd does not take at once waits in
 * a buffer of CHARDEV_OUT_MAX bytes, written out by a source on the I/O thread's context
 * once the fd is writable again. Beyond that bound the oldest output is dropped and
 * counted, so a console nobody reads keeps its newest 64 KiB and costs no more. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SINK_NONE: no device at all; SINK_NULL: a device whose output goes nowhere and that has no
 * input (a port kept only so that the ports after it keep their numbers). */
enum vm_sink_kind { SINK_NONE, SINK_NULL, SINK_STDIO, SINK_FILE, SINK_PTY, SINK_FD };

struct vm_sink {
	enum vm_sink_kind kind;
	char *path; /* SINK_FILE */
	int fd;     /* SINK_FD: inherited, for input and output */
};

#define CHARDEV_OUT_MAX (64u * 1024) /* output held while the fd takes none */

typedef void (*chardev_input_fn)(void *opaque, const uint8_t *buf, size_t len);

struct chardev {
	const char *name; /* device name for messages */
	int out_fd;       /* -1: output dropped */
	int in_fd;        /* -1: no input */
	bool own_out, own_in;
	char *pty_path;
	int pty_slave_fd;
	chardev_input_fn input;
	void *opaque;
	guint source;

	/* Output waiting for the fd (a ring of CHARDEV_OUT_MAX bytes, allocated on first
	 * need); everything below out_lock is guarded by it, as output comes from vCPU
	 * threads and the I/O thread alike. */
	GMutex out_lock;
	uint8_t *out_ring;
	size_t out_head, out_len;
	GMainContext *ctx;   /* the I/O thread's: where the flush source runs */
	GSource *out_source; /* waiting for the fd to become writable */
	uint64_t dropped;    /* output bytes dropped since open */
	uint64_t dropped_logged;
	gint64 dropped_logged_at;
};

bool chardev_open(struct chardev *cd, const char *name, const struct vm_sink *sink, GError **error);
/* Starts delivering input to fn on the VM's I/O thread (ctx), and flushes held output
 * there. Call it for every chardev, also one without input. */
void chardev_attach_input(struct chardev *cd, GMainContext *ctx, chardev_input_fn fn, void *opaque);
/* Writes buf without blocking: what the fd does not take now is held (the newest
 * CHARDEV_OUT_MAX bytes) and written once it can be; the rest is dropped and counted. An
 * output error (the reader hung up) drops the data. */
void chardev_write(struct chardev *cd, const void *buf, size_t len);
/* Output bytes dropped so far. */
uint64_t chardev_dropped(struct chardev *cd);
/* Bytes held, not yet written. */
size_t chardev_pending(struct chardev *cd);
/* Tries once more to write what is held, then closes. */
void chardev_close(struct chardev *cd);

/* "stdio", "none", "sink", "pty" (if allow_pty), "file:PATH", "fd:N" -> sink. */
bool chardev_parse_sink(const char *spec, struct vm_sink *sink, bool allow_pty, GError **error);
