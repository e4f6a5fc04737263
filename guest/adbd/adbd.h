/* sepia adbd: connections, streams and the services behind them. */
#pragma once

#include "adb_message.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Inbound messages may be as large as the biggest payload any adb offers. */
#define ADBD_MAX_INBOUND (1024u * 1024u)

struct stream;

/* One connection from an adb server. */
struct conn {
	struct conn *next;
	int fd;
	char name[64];
	bool online;
	bool dead;
	uint32_t peer_version;
	uint32_t max_payload; /* what we put in one message */
	uint8_t token[ADB_AUTH_TOKEN_SIZE];
	uint8_t *in;
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	struct stream *streams;
	uint32_t next_local_id;
};

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
	bool peer_closed;   /* the client sent CLSE: deliver what input is left, then end */
	bool dead;          /* closed; freed at the end of the loop iteration */
	bool opening;       /* adbd's OPEN (adb reverse) is out, the host's OKAY not yet back */
	bool restart_after; /* adbd ends every connection once this stream (adb root's answer) is done */
};

struct adbd_options {
	bool allow_reboot;
	bool verbose;
	bool nonroot;         /* children run as the shell user (after `adb unroot`) */
	uint32_t max_payload; /* what adbd offers in CNXN (--max-payload) */
	uint32_t sock_buffer; /* the buffer of each vsock connection and of each child's socket */
};

/* adbd.c */
extern uint8_t *scratch; /* one outgoing payload: shell header + data */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Queues one message and writes what the socket takes now. */
void conn_send(struct conn *c, uint32_t cmd, uint32_t arg0, uint32_t arg1, const void *data, uint32_t len);
/* Bytes queued for the connection, not yet written. */
size_t conn_backlog(const struct conn *c);

/* streams.c */
struct stream *stream_find(struct conn *c, uint32_t local_id);
/* Ends st (CLSE to the client when send_close; SIGHUP to its process group when hangup). */
void stream_end(struct stream *st, bool send_close, bool hangup);
void stream_free(struct stream *st);
/* Writes what it can of the client's bytes to the child; the owed OKAY once all is taken. */
void stream_push_input(struct stream *st);
void stream_queue_input(struct stream *st, const uint8_t *data, size_t len);
void shell_v2_input(struct stream *st, const uint8_t *data, size_t len);
/* Reads one chunk of the child's output (*which: fd_out or fd_err) and sends it as one WRTE. */
void stream_read_output(struct stream *st, int *which);
/* After output ends: shell v2 reports the exit code, then the stream closes. */
void stream_maybe_finish(struct stream *st);

/* services.c: starts the child for req behind st (fds, pid); returns 0 or -errno. */
int service_spawn(struct stream *st, const struct adb_service_request *req, struct adbd_options *opts);

/* Closes st's stdin side; fd_in may share its descriptor with fd_out. */
void stream_close_input(struct stream *st);
/* Closes st's output side (and its input when they share a descriptor). */
void stream_close_output(struct stream *st, int *which);
