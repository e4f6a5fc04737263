/* libFuzzer target for what a page or any local program sends sepia-webview's WebSocket
 * (launcher/websocket.c): the frames a client writes, and the opening handshake.
 *
 * Input: byte 0 picks the parser, the rest is its input:
 *   even: a client's byte stream, read by ws_reader_next until it fails or wants more; it is
 *         read twice, once fed whole and once in pieces whose sizes come from byte 0's upper
 *         bits and the bytes themselves, as a socket would cut it;
 *   odd:  a request head given to http_parse_head and then ws_handshake_check.
 *
 * Oracle beyond ASan/UBSan: both readings give the same messages and the same end (the reader
 * does not depend on how the bytes arrive); a message is a data message of at most
 * WS_MAX_MESSAGE bytes (valid UTF-8 when text) or a control frame of at most 125; a close
 * frame's payload is empty or a valid code and UTF-8; a failure comes with a close code of
 * 1002, 1007 or 1009 and a message; the reader never holds more unread bytes than it was fed.
 * An accepted handshake is a GET over HTTP/1.1 with version "13", a 24-character key whose
 * answer is 28 characters of base64, and no Origin or one equal to "http://" + Host. */
#include "tests/fuzz/fuzz-common.h"

#include "launcher/websocket.h"

struct outcome {
	GPtrArray *messages; /* "opcode:" + payload as GBytes */
	enum ws_read_result end;
	guint16 code;
};

static void check_message(const struct ws_message *m)
{
	gsize len = m->data->len;
	switch (m->opcode) {
	case WS_TEXT:
		if (len && !g_utf8_validate_len((const char *)m->data->data, len, NULL))
			abort();
		/* fall through */
	case WS_BINARY:
		if (len > WS_MAX_MESSAGE)
			abort();
		break;
	case WS_CLOSE:
		if (len == 1)
			abort();
		if (len >= 2 && !g_utf8_validate_len((const char *)m->data->data + 2, len - 2, NULL))
			abort();
		/* fall through */
	case WS_PING:
	case WS_PONG:
		if (len > 125)
			abort();
		break;
	default:
		abort();
	}
}

static void read_all(const uint8_t *data, size_t size, size_t piece_seed, struct outcome *o)
{
	struct ws_reader r;
	ws_reader_init(&r);
	o->messages = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	o->end = WS_READ_MORE;
	o->code = 0;
	size_t fed = 0, taken = 0;
	for (;;) {
		struct ws_message m;
		guint16 code = 0;
		g_autoptr(GError) err = NULL;
		enum ws_read_result res = ws_reader_next(&r, &m, &code, &err);
		if (res == WS_READ_MESSAGE) {
			check_message(&m);
			GByteArray *b = g_byte_array_new();
			guint8 op = (guint8)m.opcode;
			g_byte_array_append(b, &op, 1);
			g_byte_array_append(b, m.data->data, m.data->len);
			g_ptr_array_add(o->messages, g_byte_array_free_to_bytes(b));
			g_byte_array_unref(m.data);
			continue;
		}
		if (res == WS_READ_FAIL) {
			if ((code != WS_CLOSE_PROTOCOL_ERROR && code != WS_CLOSE_INVALID_DATA &&
			     code != WS_CLOSE_TOO_BIG) ||
			    !err || !*err->message)
				abort();
			o->end = res;
			o->code = code;
			break;
		}
		if (res != WS_READ_MORE || err)
			abort();
		if (fed == size)
			break;
		/* The next piece: all of it, or 1 to 64 bytes chosen by the data. */
		size_t piece = size - fed;
		if (piece_seed) {
			piece = 1 + ((data[fed] ^ piece_seed) & 63);
			piece = MIN(piece, size - fed);
		}
		ws_reader_feed(&r, data + fed, piece);
		fed += piece;
		(void)taken;
		if (r.in->len > fed)
			abort();
	}
	ws_reader_clear(&r);
}

static void fuzz_frames(const uint8_t *data, size_t size, size_t seed)
{
	struct outcome whole, pieces;
	read_all(data, size, 0, &whole);
	read_all(data, size, seed | 1, &pieces);
	if (whole.end != pieces.end || whole.code != pieces.code ||
	    whole.messages->len != pieces.messages->len)
		abort();
	for (guint i = 0; i < whole.messages->len; i++)
		if (!g_bytes_equal(whole.messages->pdata[i], pieces.messages->pdata[i]))
			abort();
	g_ptr_array_unref(whole.messages);
	g_ptr_array_unref(pieces.messages);
}

static void fuzz_handshake(const uint8_t *data, size_t size)
{
	struct http_request req;
	int status = 0;
	g_autoptr(GError) err = NULL;
	if (http_parse_head((const char *)data, size, &req, &status, &err) != HTTP_READ_OK) {
		http_request_clear(&req);
		return;
	}
	g_autoptr(GError) werr = NULL;
	int wstatus = 0;
	if (ws_handshake_check(&req, &wstatus, &werr)) {
		if (werr || strcmp(req.method, "GET") || !req.http11 || !req.ws_key ||
		    strlen(req.ws_key) != 24 || !req.ws_version || strcmp(req.ws_version, "13") ||
		    req.duplicate_ws_header)
			abort();
		if (req.origin) {
			g_autofree char *own = g_strconcat("http://", req.host, NULL);
			if (g_ascii_strcasecmp(req.origin, own))
				abort();
		}
		g_autofree char *accept = ws_accept_key(req.ws_key);
		gsize n = 0;
		g_autofree guchar *raw = g_base64_decode(accept, &n);
		if (strlen(accept) != 28 || n != 20)
			abort();
		g_autofree char *resp = ws_handshake_response(&req);
		if (!g_str_has_prefix(resp, "HTTP/1.1 101 ") || !strstr(resp, accept))
			abort();
	} else if ((wstatus != 400 && wstatus != 403 && wstatus != 426) || !werr || !*werr->message) {
		abort();
	}
	http_request_clear(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_handshake(data + 1, size - 1);
	else
		fuzz_frames(data + 1, size - 1, data[0] >> 1);
	return 0;
}
