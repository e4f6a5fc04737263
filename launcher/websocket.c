/* launcher/websocket.c — see websocket.h. Section numbers are RFC 6455's. */
#include "launcher/websocket.h"

#include <string.h>

/* Section 1.3: the GUID a server appends to the client's key. */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

char *ws_accept_key(const char *client_key)
{
	g_autoptr(GChecksum) sha1 = g_checksum_new(G_CHECKSUM_SHA1);
	g_checksum_update(sha1, (const guchar *)client_key, (gssize)strlen(client_key));
	g_checksum_update(sha1, (const guchar *)WS_GUID, (gssize)strlen(WS_GUID));
	guint8 digest[20];
	gsize len = sizeof(digest);
	g_checksum_get_digest(sha1, digest, &len);
	return g_base64_encode(digest, len);
}

static bool refuse(int *status, int code, GError **error, const char *why)
{
	*status = code;
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "WebSocket handshake refused: %s", why);
	return false;
}

/* Section 4.1: the key is base64 of 16 random bytes, so 24 characters ending in "==". */
static bool key_ok(const char *key)
{
	if (!key || strlen(key) != 24 || strcmp(key + 22, "=="))
		return false;
	for (int i = 0; i < 22; i++)
		if (!g_ascii_isalnum(key[i]) && key[i] != '+' && key[i] != '/')
			return false;
	/* The last character before the padding carries 2 bits: one of A, Q, g, w. */
	return strchr("AQgw", key[21]) != NULL;
}

bool ws_handshake_check(const struct http_request *req, int *status, GError **error)
{
	if (strcmp(req->method, "GET"))
		return refuse(status, 400, error, "the opening handshake must be a GET");
	if (!req->http11)
		return refuse(status, 400, error, "the opening handshake must be HTTP/1.1");
	if (!req->upgrade_websocket || !req->connection_upgrade)
		return refuse(status, 426, error, "no 'Upgrade: websocket' and 'Connection: Upgrade'");
	if (req->duplicate_ws_header)
		return refuse(status, 400, error, "Sec-WebSocket-Key, -Version or Origin given twice");
	if (!key_ok(req->ws_key))
		return refuse(status, 400, error, "Sec-WebSocket-Key is not base64 of 16 bytes");
	if (!req->ws_version || strcmp(req->ws_version, "13"))
		return refuse(status, 426, error, "only Sec-WebSocket-Version 13");
	if (req->origin) {
		g_autofree char *own = g_strconcat("http://", req->host ? req->host : "", NULL);
		if (!req->host || g_ascii_strcasecmp(req->origin, own))
			return refuse(
				status, 403, error,
				"the page's Origin is not this web view (a page elsewhere may not drive "
				"the device)");
	}
	return true;
}

char *ws_handshake_response(const struct http_request *req)
{
	g_autofree char *accept = ws_accept_key(req->ws_key);
	return g_strdup_printf(
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Accept: %s\r\nCache-Control: no-store\r\n\r\n",
		accept);
}

void ws_reader_init(struct ws_reader *r)
{
	r->in = g_byte_array_new();
	r->fragments = g_byte_array_new();
	r->frag_op = WS_CONTINUATION;
}

void ws_reader_clear(struct ws_reader *r)
{
	g_clear_pointer(&r->in, g_byte_array_unref);
	g_clear_pointer(&r->fragments, g_byte_array_unref);
}

void ws_reader_feed(struct ws_reader *r, const void *data, gsize len)
{
	g_byte_array_append(r->in, data, (guint)len);
}

void ws_mask(guint8 *data, gsize len, const guint8 key[4], gsize offset)
{
	for (gsize i = 0; i < len; i++)
		data[i] ^= key[(offset + i) & 3];
}

gsize ws_frame_header(guint8 *out, enum ws_opcode opcode, guint64 len)
{
	out[0] = 0x80 | (guint8)opcode;
	if (len < 126) {
		out[1] = (guint8)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (guint8)(len >> 8);
		out[3] = (guint8)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (guint8)(len >> (56 - 8 * i));
	return 10;
}

static enum ws_read_result fail(guint16 *close_code, guint16 code, GError **error, const char *why)
{
	*close_code = code;
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "WebSocket: %s", why);
	return WS_READ_FAIL;
}

/* Section 7.4: the codes an endpoint may send in a close frame. */
static bool close_code_ok(guint code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
	       (code >= 3000 && code <= 4999);
}

static bool utf8_ok(const guint8 *data, gsize len)
{
	return !len || g_utf8_validate_len((const char *)data, len, NULL);
}

enum ws_read_result ws_reader_next(struct ws_reader *r, struct ws_message *msg, guint16 *close_code,
				   GError **error)
{
	for (;;) {
		const guint8 *p = r->in->data;
		gsize have = r->in->len;
		if (have < 2)
			return WS_READ_MORE;
		bool fin = p[0] & 0x80;
		guint op = p[0] & 0x0f;
		if (p[0] & 0x70)
			return fail(close_code, WS_CLOSE_PROTOCOL_ERROR, error,
				    "reserved bits set (no extension was agreed)");
		if (!(p[1] & 0x80))
			return fail(close_code, WS_CLOSE_PROTOCOL_ERROR, error,
				    "an unmasked frame from the client");
		guint64 len = p[1] & 0x7f;
		gsize head = 2;
		if (len == 126) {
			if (have < 4)
				return WS_READ_MORE;
			len = (guint64)p[2] << 8 | p[3];
			head = 4;
			if (len < 126)
				return fail(close_code, WS_CLOSE_PROTOCOL_ERROR, error,
					    "a length not in its shortest form");
		} else if (len == 127) {
			if (have < 10)
				return WS_READ_MORE;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | p[2 + i];
			head = 10;
			if (len >> 63)
				return fail(close_code, WS_CLOSE_PROTOCOL_ERROR, error,
					    "a length with its top bit set");
			if (len <= 0xffff)
				return fail(close_code, WS_CLOSE_PROTOCOL_ERROR, error,
					    "a length not in its shortest form");
		}
		bool control = op & 0x8;
		if (control) {
			if (op != WS_CLOSE && op != WS_PING && op != WS_PONG)
				return fail(close_code, WS_CLOSE_PROTOCOL_ERROR, error,
					    "a reserved control opcode");
			if (!fin || len > 125)
				return fail(close_code, WS_CLOSE_PROTOCOL_ERROR, error,
					    "a fragmented control frame or one over 125 bytes");
		} else if (op == WS_CONTINUATION) {
			if (r->frag_op == WS_CONTINUATION)
				return fail(close_code, WS_CLOSE_PROTOCOL_ERROR, error,
					    "a continuation frame with no message open");
		} else if (op == WS_TEXT || op == WS_BINARY) {
			if (r->frag_op != WS_CONTINUATION)
				return fail(close_code, WS_CLOSE_PROTOCOL_ERROR, error,
					    "a new message before the last one ended");
		} else {
			return fail(close_code, WS_CLOSE_PROTOCOL_ERROR, error, "a reserved data opcode");
		}
		/* The bound holds before the payload arrives: nothing waits for a huge frame. */
		if (!control && len > WS_MAX_MESSAGE - r->fragments->len)
			return fail(close_code, WS_CLOSE_TOO_BIG, error, "a message larger than 4 KiB");
		if (have - head < 4 || have - head - 4 < len)
			return WS_READ_MORE;
		guint8 key[4];
		memcpy(key, p + head, 4);
		gsize start = head + 4;
		if (control) {
			GByteArray *data = g_byte_array_sized_new((guint)len);
			g_byte_array_append(data, p + start, (guint)len);
			g_byte_array_remove_range(r->in, 0, (guint)(start + len));
			ws_mask(data->data, data->len, key, 0);
			if (op == WS_CLOSE && data->len) {
				guint code = data->len >= 2 ? (guint)data->data[0] << 8 | data->data[1] : 0;
				if (data->len == 1 || !close_code_ok(code) ||
				    !utf8_ok(data->data + 2, data->len - 2)) {
					g_byte_array_unref(data);
					return fail(close_code, WS_CLOSE_PROTOCOL_ERROR, error,
						    "a malformed close frame");
				}
			}
			msg->opcode = op;
			msg->data = data;
			return WS_READ_MESSAGE;
		}
		if (op != WS_CONTINUATION)
			r->frag_op = op;
		guint at = r->fragments->len;
		g_byte_array_append(r->fragments, p + start, (guint)len);
		g_byte_array_remove_range(r->in, 0, (guint)(start + len));
		if (len) /* an empty array's data may be NULL */
			ws_mask(r->fragments->data + at, len, key, 0);
		if (!fin)
			continue;
		enum ws_opcode done = r->frag_op;
		r->frag_op = WS_CONTINUATION;
		GByteArray *data = r->fragments;
		r->fragments = g_byte_array_new();
		if (done == WS_TEXT && !utf8_ok(data->data, data->len)) {
			g_byte_array_unref(data);
			return fail(close_code, WS_CLOSE_INVALID_DATA, error,
				    "a text message that is not UTF-8");
		}
		msg->opcode = done;
		msg->data = data;
		return WS_READ_MESSAGE;
	}
}
