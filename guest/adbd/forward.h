/* sepia adbd: `adb forward` (the host opens "tcp:PORT": a connection to a guest port) and
 * `adb reverse` (a guest port whose connections adbd opens to the host as "tcp:PORT"). */
#pragma once

#include "adbd.h"

/* A guest port listening for `adb reverse`, owned by the connection that asked for it. */
struct reverse_listener {
	struct reverse_listener *next;
	struct conn *conn;
	int fd;
	bool dead;                         /* closed; freed by reverse_sweep */
	char local[16];                    /* "tcp:G" (the bound port when the client asked for 0) */
	char remote[ADB_REVERSE_SPEC_MAX]; /* what to open on the host: "tcp:H" */
};
extern struct reverse_listener *reverse_listeners;

/* "tcp:PORT": connects st to 127.0.0.1:PORT of the guest; returns 0 or -errno. */
int forward_connect(struct stream *st, const char *port);

/* A "reverse:" request of connection c: sets up or removes listeners and returns the bytes adbd
 * answers ("OKAY", "OKAY%04x<port>", "FAIL%04x<message>" or the "%04x" framed list) in *reply
 * (malloc'd, *len bytes); returns 0 or -ENOMEM. */
int reverse_request(struct conn *c, const char *request, char **reply, size_t *len);

/* A connection came to l: a stream for it, opened on the host with OPEN "tcp:H". */
void reverse_accept(struct reverse_listener *l);

/* Closes the listeners of c (its connection ended, or killforward-all). */
void reverse_drop_conn(struct conn *c);

/* Frees the listeners closed since the last call (none is in a poll set any more). */
void reverse_sweep(void);
