/* sepia adbd: a stream's data both ways: input for the child (raw or shell v2 packets, OKAY once
 * taken), its output as WRTEs (one in flight until the client's OKAY), its end. */
#include "adbd.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

/* ---- Streams ------------------------------------------------------------------- */

struct stream *stream_find(struct conn *c, uint32_t local_id)
{
	for (struct stream *st = c->streams; st != NULL; st = st->next)
		if (st->local_id == local_id && !st->dead)
			return st;
	return NULL;
}

/* Ends the stream: its descriptors close, which the child sees as end of
 * input, EPIPE on output or (a pty) a hangup. hangup: SIGHUP its process
 * group too, for ends the client did not ask for in order (lost connection,
 * protocol errors); after a client's CLSE the child may still be finishing
 * with the last input it got (exec-in), so it is left to see end of file. */
void stream_end(struct stream *st, bool send_close, bool hangup)
{
	if (st->dead)
		return;
	if (send_close)
		conn_send(st->conn, A_CLSE, st->local_id, st->remote_id, NULL, 0);
	stream_close_input(st);
	stream_close_output(st, &st->fd_out);
	stream_close_output(st, &st->fd_err);
	if (hangup && st->pid > 0 && !st->exited)
		kill(-st->pid, SIGHUP);
	st->dead = true;
}

void stream_free(struct stream *st)
{
	free(st->in_buf);
	free(st->pkt_buf);
	free(st);
}

static bool append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *data, size_t n)
{
	if (*cap - *len < n) {
		size_t c = *cap ? *cap : 4096;
		while (c - *len < n)
			c *= 2;
		uint8_t *grown = realloc(*buf, c);
		if (grown == NULL)
			return false;
		*buf = grown;
		*cap = c;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	return true;
}

/* Writes what it can of in_buf to the child; sends the owed OKAY once all is taken. */
void stream_push_input(struct stream *st)
{
	while (st->fd_in >= 0 && st->in_off < st->in_len) {
		ssize_t n = write(st->fd_in, st->in_buf + st->in_off, st->in_len - st->in_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			/* The child stopped reading (EPIPE): what it did not take is dropped. */
			stream_close_input(st);
			break;
		}
		st->in_off += (size_t)n;
	}
	st->in_off = st->in_len = 0;
	if (st->close_stdin_after) {
		st->close_stdin_after = false;
		stream_close_input(st);
	}
	if (st->peer_closed) {
		stream_end(st, false, false);
		return;
	}
	if (st->ack_owed) {
		st->ack_owed = false;
		conn_send(st->conn, A_OKAY, st->local_id, st->remote_id, NULL, 0);
	}
}

void stream_queue_input(struct stream *st, const uint8_t *data, size_t len)
{
	if (st->fd_in < 0)
		return; /* nobody reads it any more */
	if (!append(&st->in_buf, &st->in_len, &st->in_cap, data, len))
		stream_end(st, true, true);
}

void shell_v2_input(struct stream *st, const uint8_t *data, size_t len)
{
	if (!append(&st->pkt_buf, &st->pkt_len, &st->pkt_cap, data, len)) {
		stream_end(st, true, true);
		return;
	}
	size_t off = 0;
	for (;;) {
		uint8_t id;
		const uint8_t *pd;
		uint32_t pl;
		long used = shell_packet_parse(st->pkt_buf + off, st->pkt_len - off, ADBD_MAX_INBOUND, &id,
					       &pd, &pl);
		if (used < 0) {
			say("%s: stream %u: bad shell packet", st->conn->name, st->local_id);
			stream_end(st, true, true);
			return;
		}
		if (used == 0)
			break;
		off += (size_t)used;
		switch (id) {
		case SHELL_ID_STDIN:
			stream_queue_input(st, pd, pl);
			break;
		case SHELL_ID_CLOSE_STDIN:
			/* A pty has no half-close; the shell's own exit ends it. */
			if (!st->pty)
				st->close_stdin_after = true;
			break;
		case SHELL_ID_WINDOW_SIZE: {
			unsigned short ws[4];
			if (st->pty && st->fd_out >= 0 &&
			    shell_parse_window_size((const char *)pd, strnlen((const char *)pd, pl), ws)) {
				struct winsize w = { .ws_row = ws[0],
						     .ws_col = ws[1],
						     .ws_xpixel = ws[2],
						     .ws_ypixel = ws[3] };
				ioctl(st->fd_out, TIOCSWINSZ, &w);
			}
			break;
		}
		default:
			break; /* ids the client should not send are ignored */
		}
		if (st->dead)
			return;
	}
	memmove(st->pkt_buf, st->pkt_buf + off, st->pkt_len - off);
	st->pkt_len -= off;
}

/* Reads one chunk of child output and sends it as one WRTE. */
void stream_read_output(struct stream *st, int *which)
{
	struct conn *c = st->conn;
	size_t hdr = st->v2 ? SHELL_PACKET_HEADER : 0;
	ssize_t n;

	do
		n = read(*which, scratch + hdr, c->max_payload - hdr);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		/* End of file; EIO is how a pty master says the last slave closed. */
		stream_close_output(st, which);
		return;
	}
	if (st->v2)
		shell_packet_header(scratch, which == &st->fd_err ? SHELL_ID_STDERR : SHELL_ID_STDOUT,
				    (uint32_t)n);
	conn_send(c, A_WRTE, st->local_id, st->remote_id, scratch, (uint32_t)(hdr + (size_t)n));
	st->write_pending = true;
}

/* After output ends: shell v2 reports the exit code, then the stream closes. */
void stream_maybe_finish(struct stream *st)
{
	if (st->dead || st->peer_closed || st->fd_out >= 0 || st->fd_err >= 0)
		return;
	if (st->v2) {
		if (!st->exited || st->write_pending)
			return;
		uint8_t pkt[SHELL_PACKET_HEADER + 1];
		shell_packet_header(pkt, SHELL_ID_EXIT, 1);
		pkt[SHELL_PACKET_HEADER] = (uint8_t)st->exit_code;
		conn_send(st->conn, A_WRTE, st->local_id, st->remote_id, pkt, sizeof(pkt));
	}
	stream_end(st, true, false);
}
