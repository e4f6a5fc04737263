/* Where a guest character device (8250, virtio-console) sends its output and gets its
 * input: the VMM's stdio, a file, a pseudo-terminal, an inherited file descriptor, or
 * nowhere. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vm_sink_kind { SINK_NONE, SINK_STDIO, SINK_FILE, SINK_PTY, SINK_FD };

struct vm_sink {
	enum vm_sink_kind kind;
	char *path; /* SINK_FILE */
	int fd;     /* SINK_FD: inherited, for input and output */
};

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
};

bool chardev_open(struct chardev *cd, const char *name, const struct vm_sink *sink, GError **error);
/* Starts delivering input to fn on the VM's I/O thread. */
void chardev_attach_input(struct chardev *cd, GMainContext *ctx, chardev_input_fn fn, void *opaque);
/* Writes all of buf (retrying short writes); output errors drop the data. */
void chardev_write(struct chardev *cd, const void *buf, size_t len);
void chardev_close(struct chardev *cd);

/* "stdio", "none", "pty" (if allow_pty), "file:PATH", "fd:N" -> sink. */
bool chardev_parse_sink(const char *spec, struct vm_sink *sink, bool allow_pty, GError **error);
