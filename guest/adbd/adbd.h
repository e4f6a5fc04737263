/* sepia adbd: connections, streams and the services behind them. */
#pragma once

#include "adb_message.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct conn;

/* One adb stream: an OPENed service and the child process serving it. */
struct stream {
	struct conn *conn;
	struct stream *next;
	uint32_t local_id, remote_id;
	bool v2;   /* shell protocol framing on both directions */
	bool pty;  /* fd_in == fd_out, a pty master */
	pid_t pid; /* 0 once reaped */
	bool exited;
	int exit_code;
	int fd_in;          /* the child's stdin, -1 once closed */
	int fd_out;         /* its stdout (pty master, socket), -1 at end of file */
	int fd_err;         /* its stderr (shell v2 pipes only), else -1 */
	bool write_pending; /* a WRTE is out, its OKAY not yet back */
	/* Bytes from the client for fd_in; the OKAY for them goes when written. */
	uint8_t *in_buf;
	size_t in_len, in_off, in_cap;
	bool ack_owed;
	bool close_stdin_after; /* shell v2 CLOSE_STDIN once in_buf drains */
	/* Shell v2: bytes of an incomplete packet from the client. */
	uint8_t *pkt_buf;
	size_t pkt_len, pkt_cap;
	bool peer_closed; /* the client sent CLSE: deliver what input is left, then end */
	bool dead;        /* closed; freed at the end of the loop iteration */
};

struct adbd_options {
	bool allow_reboot;
	bool verbose;
};

/* services.c: starts the child for req behind st (fds, pid); returns 0 or -errno. */
int service_spawn(struct stream *st, const struct adb_service_request *req, const struct adbd_options *opts);

/* Closes st's stdin side; fd_in may share its descriptor with fd_out. */
void stream_close_input(struct stream *st);
/* Closes st's output side (and its input when they share a descriptor). */
void stream_close_output(struct stream *st, int *which);
