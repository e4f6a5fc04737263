/* launcher/websocket.h — the server side of the WebSocket protocol (RFC 6455), as much as the
 * web view needs: the opening handshake's checks and answer (section 4.2), reading the frames a
 * client sends (masked, possibly fragmented, with control frames between the fragments) into
 * whole messages with a bound on their size, and the headers of the unmasked frames a server
 * sends (section 5). No extensions (a client's offer of one is declined by not answering it),
 * no subprotocol. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "launcher/http.h"

/* The largest message the reader assembles; a larger one fails the connection with 1009. */
#define WS_MAX_MESSAGE 4096u

enum ws_opcode {
	WS_CONTINUATION = 0x0,
	WS_TEXT = 0x1,
	WS_BINARY = 0x2,
	WS_CLOSE = 0x8,
	WS_PING = 0x9,
	WS_PONG = 0xA,
};

/* Close codes (section 7.4.1). */
enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL_ERROR = 1002,
	WS_CLOSE_UNSUPPORTED = 1003,
	WS_CLOSE_INVALID_DATA = 1007,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
};

/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)). */
char *ws_accept_key(const char *client_key);

/* Whether req is a WebSocket opening handshake this server accepts: GET, HTTP/1.1, Upgrade:
 * websocket, Connection with the upgrade token, a Sec-WebSocket-Key that is base64 of 16
 * bytes, Sec-WebSocket-Version 13, and an Origin (when a browser sends one) that is this very
 * server: "http://" followed by the request's Host, compared without case. A web page
 * elsewhere can open WebSockets to localhost (browsers apply no same-origin rule to them), so
 * the Origin check is what keeps it from driving the device. On refusal, *status is 400, 403
 * or 426 and error says why. */
bool ws_handshake_check(const struct http_request *req, int *status, GError **error);

/* The 101 answer's head for an accepted handshake. */
char *ws_handshake_response(const struct http_request *req);

/* A message a client sent, or a control frame. */
struct ws_message {
	enum ws_opcode opcode; /* WS_TEXT, WS_BINARY, WS_CLOSE, WS_PING or WS_PONG */
	GByteArray *data;      /* unmasked payload; for WS_CLOSE, the code (2 bytes) and reason */
};

/* The bytes a client sent, as they arrive. */
struct ws_reader {
	GByteArray *in;         /* bytes not yet taken as frames */
	GByteArray *fragments;  /* the message being assembled */
	enum ws_opcode frag_op; /* its opcode, or WS_CONTINUATION when none is open */
};

void ws_reader_init(struct ws_reader *r);
void ws_reader_clear(struct ws_reader *r);
void ws_reader_feed(struct ws_reader *r, const void *data, gsize len);

enum ws_read_result {
	WS_READ_MESSAGE, /* *msg is set (free its data with g_byte_array_unref) */
	WS_READ_MORE,    /* needs more bytes */
	WS_READ_FAIL,    /* the client broke the protocol: close with *close_code; error says how */
};

/* The next whole message or control frame from the bytes fed so far. Fails on an unmasked
 * frame, reserved bits or opcodes, a fragmented or over-long (> 125 bytes) control frame, a
 * continuation with nothing open or a new message while one is open, a length that is not in
 * its shortest form or has the top bit set, a message past WS_MAX_MESSAGE (1009), text that is
 * not UTF-8 (1007), and a close frame of 1 byte, with an invalid code or a non-UTF-8 reason. */
enum ws_read_result ws_reader_next(struct ws_reader *r, struct ws_message *msg, guint16 *close_code,
				   GError **error);

/* Writes into out (at least 10 bytes) the header of a final, unmasked server frame of len
 * payload bytes; returns its size (2, 4 or 10). */
gsize ws_frame_header(guint8 *out, enum ws_opcode opcode, guint64 len);

/* Unmasks (or masks: the same operation) data in place with a 4-byte key, the first byte of
 * data being payload byte `offset`. */
void ws_mask(guint8 *data, gsize len, const guint8 key[4], gsize offset);
