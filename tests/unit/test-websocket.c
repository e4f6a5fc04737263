/* Unit tests for launcher/websocket.c, the web view's WebSocket (RFC 6455): the opening
 * handshake's checks (a page elsewhere must not open one), and the frame reader against what a
 * hostile client sends: unmasked frames, reserved bits and opcodes, over-long and fragmented
 * control frames, lengths not in their shortest form, messages past the bound (refused from the
 * header, before the payload comes), bytes that arrive one at a time. */
#include <string.h>

#include "launcher/websocket.h"

/* ---- the handshake */

static void handshake(const char *head, struct http_request *req)
{
	int status = 0;
	g_autoptr(GError) err = NULL;
	g_assert_cmpint(http_parse_head(head, strlen(head), req, &status, &err), ==, HTTP_READ_OK);
	g_assert_no_error(err);
}

#define WS_HEAD(extra)                                                           \
	"GET /stream HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nUpgrade: websocket\r\n" \
	"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" extra "\r\n"

static void test_accept_key(void)
{
	/* RFC 6455 section 1.3's example. */
	g_autofree char *a = ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==");
	g_assert_cmpstr(a, ==, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	struct http_request req;
	handshake(WS_HEAD("Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:8443\r\n"), &req);
	int status = 0;
	g_autoptr(GError) err = NULL;
	g_assert_true(ws_handshake_check(&req, &status, &err));
	g_autofree char *resp = ws_handshake_response(&req);
	g_assert_true(g_str_has_prefix(resp, "HTTP/1.1 101 Switching Protocols\r\n"));
	g_assert_nonnull(strstr(resp, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	g_assert_true(g_str_has_suffix(resp, "\r\n\r\n"));
	http_request_clear(&req);
	/* No Origin (a program, not a browser page) is accepted; the origin compares without case. */
	handshake(WS_HEAD("Sec-WebSocket-Version: 13\r\n"), &req);
	g_assert_true(ws_handshake_check(&req, &status, NULL));
	http_request_clear(&req);
	handshake(WS_HEAD("Sec-WebSocket-Version: 13\r\nOrigin: HTTP://127.0.0.1:8443\r\n"), &req);
	g_assert_true(ws_handshake_check(&req, &status, NULL));
	http_request_clear(&req);
}

static void expect_refused(const char *head, int want, const char *why)
{
	struct http_request req;
	handshake(head, &req);
	int status = 0;
	g_autoptr(GError) err = NULL;
	g_assert_false(ws_handshake_check(&req, &status, &err));
	g_assert_cmpint(status, ==, want);
	if (!strstr(err->message, why))
		g_error("'%s' does not say '%s'", err->message, why);
	http_request_clear(&req);
}

static void test_handshake_refused(void)
{
	/* A page elsewhere (DNS rebinding passes the Host check but not this). */
	expect_refused(WS_HEAD("Sec-WebSocket-Version: 13\r\nOrigin: http://evil.example\r\n"), 403,
		       "Origin");
	expect_refused(WS_HEAD("Sec-WebSocket-Version: 13\r\nOrigin: null\r\n"), 403, "Origin");
	expect_refused(WS_HEAD("Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:8443.evil\r\n"), 403,
		       "Origin");
	expect_refused(WS_HEAD("Sec-WebSocket-Version: 13\r\nOrigin: https://127.0.0.1:8443\r\n"), 403,
		       "Origin");
	expect_refused(WS_HEAD("Sec-WebSocket-Version: 8\r\n"), 426, "Version 13");
	expect_refused(WS_HEAD(""), 426, "Version 13");
	expect_refused(WS_HEAD("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13\r\n"), 400, "twice");
	expect_refused(
		WS_HEAD("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"), 400,
		"twice");
	expect_refused(
		"GET /stream HTTP/1.1\r\nHost: localhost\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		426, "Upgrade");
	expect_refused(
		"GET /stream HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: short==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		400, "base64");
	expect_refused(
		"GET /stream HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		400, "base64");
	expect_refused(
		"POST /stream HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		400, "GET");
	expect_refused(
		"GET /stream HTTP/1.0\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		400, "HTTP/1.1");
}

/* ---- frames */

/* A client frame: masked with key 37 fa 21 3d unless masked is false. */
static GByteArray *frame(guint8 b0, const void *payload, gsize len, bool masked)
{
	static const guint8 key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	GByteArray *f = g_byte_array_new();
	guint8 h[10];
	gsize n = ws_frame_header(h, 0, len);
	h[0] = b0;
	if (masked)
		h[1] |= 0x80;
	g_byte_array_append(f, h, (guint)n);
	if (masked)
		g_byte_array_append(f, key, 4);
	guint at = f->len;
	g_byte_array_append(f, payload, (guint)len);
	if (masked)
		ws_mask(f->data + at, len, key, 0);
	return f;
}

static void feed(struct ws_reader *r, GByteArray *f)
{
	ws_reader_feed(r, f->data, f->len);
	g_byte_array_unref(f);
}

static void expect_message(struct ws_reader *r, enum ws_opcode op, const char *text, gsize len)
{
	struct ws_message m;
	guint16 code = 0;
	g_autoptr(GError) err = NULL;
	g_assert_cmpint(ws_reader_next(r, &m, &code, &err), ==, WS_READ_MESSAGE);
	g_assert_no_error(err);
	g_assert_cmpint(m.opcode, ==, op);
	g_assert_cmpmem(m.data->data, m.data->len, text, len);
	g_byte_array_unref(m.data);
}

static void expect_more(struct ws_reader *r)
{
	struct ws_message m;
	guint16 code = 0;
	g_assert_cmpint(ws_reader_next(r, &m, &code, NULL), ==, WS_READ_MORE);
}

static void test_frames(void)
{
	struct ws_reader r;
	ws_reader_init(&r);
	/* RFC 6455 section 5.7: a masked "Hello". */
	static const guint8 hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	/* One byte at a time: nothing comes out before the last. */
	for (gsize i = 0; i < sizeof(hello); i++) {
		expect_more(&r);
		ws_reader_feed(&r, hello + i, 1);
	}
	expect_message(&r, WS_TEXT, "Hello", 5);
	expect_more(&r);
	/* A fragmented message with a ping between its fragments: the ping comes first. */
	feed(&r, frame(0x01, "Hel", 3, true));
	feed(&r, frame(0x89, "ping", 4, true));
	feed(&r, frame(0x00, "l", 1, true));
	feed(&r, frame(0x80, "o", 1, true));
	expect_message(&r, WS_PING, "ping", 4);
	expect_message(&r, WS_TEXT, "Hello", 5);
	/* Lengths of 126 and 65536 forms, binary, an empty message, pong, close with a reason. */
	g_autofree guint8 *big = g_malloc(WS_MAX_MESSAGE);
	memset(big, 'x', WS_MAX_MESSAGE);
	feed(&r, frame(0x82, big, 200, true));
	expect_message(&r, WS_BINARY, (const char *)big, 200);
	feed(&r, frame(0x82, big, WS_MAX_MESSAGE, true));
	expect_message(&r, WS_BINARY, (const char *)big, WS_MAX_MESSAGE);
	feed(&r, frame(0x81, "", 0, true));
	expect_message(&r, WS_TEXT, "", 0);
	/* An empty message in two empty fragments (fuzz-websocket: an empty array's NULL data). */
	feed(&r, frame(0x01, "", 0, true));
	feed(&r, frame(0x80, "", 0, true));
	expect_message(&r, WS_TEXT, "", 0);
	feed(&r, frame(0x8a, "", 0, true));
	expect_message(&r, WS_PONG, "", 0);
	feed(&r, frame(0x88,
		       "\x03\xe8"
		       "bye",
		       5, true));
	expect_message(&r, WS_CLOSE,
		       "\x03\xe8"
		       "bye",
		       5);
	feed(&r, frame(0x88, "", 0, true));
	expect_message(&r, WS_CLOSE, "", 0);
	expect_more(&r);
	ws_reader_clear(&r);
}

/* The frames after a good one: the reader fails with code and a message saying why. */
static void expect_fail_bytes(const void *bytes, gsize len, guint16 want, const char *why)
{
	struct ws_reader r;
	ws_reader_init(&r);
	ws_reader_feed(&r, bytes, len);
	struct ws_message m;
	guint16 code = 0;
	g_autoptr(GError) err = NULL;
	enum ws_read_result res;
	while ((res = ws_reader_next(&r, &m, &code, &err)) == WS_READ_MESSAGE)
		g_byte_array_unref(m.data);
	g_assert_cmpint(res, ==, WS_READ_FAIL);
	g_assert_cmpuint(code, ==, want);
	if (!strstr(err->message, why))
		g_error("'%s' does not say '%s'", err->message, why);
	ws_reader_clear(&r);
}

static void expect_fail(GByteArray *f, guint16 want, const char *why)
{
	expect_fail_bytes(f->data, f->len, want, why);
	g_byte_array_unref(f);
}

static void test_hostile_frames(void)
{
	expect_fail(frame(0x81, "hi", 2, false), WS_CLOSE_PROTOCOL_ERROR, "unmasked");
	expect_fail(frame(0xc1, "hi", 2, true), WS_CLOSE_PROTOCOL_ERROR, "reserved bits");
	expect_fail(frame(0x83, "hi", 2, true), WS_CLOSE_PROTOCOL_ERROR, "reserved data opcode");
	expect_fail(frame(0x8b, "hi", 2, true), WS_CLOSE_PROTOCOL_ERROR, "reserved control opcode");
	expect_fail(frame(0x09, "hi", 2, true), WS_CLOSE_PROTOCOL_ERROR, "fragmented control");
	g_autofree guint8 *big = g_malloc0(WS_MAX_MESSAGE + 1);
	expect_fail(frame(0x89, big, 126, true), WS_CLOSE_PROTOCOL_ERROR, "over 125");
	expect_fail(frame(0x80, "hi", 2, true), WS_CLOSE_PROTOCOL_ERROR, "no message open");
	expect_fail(frame(0x82, big, WS_MAX_MESSAGE + 1, true), WS_CLOSE_TOO_BIG, "larger than");
	expect_fail(frame(0x81, "\xff\xfe", 2, true), WS_CLOSE_INVALID_DATA, "UTF-8");
	expect_fail(frame(0x88, "\x03", 1, true), WS_CLOSE_PROTOCOL_ERROR, "close frame");
	expect_fail(frame(0x88, "\x03\xed", 2, true), WS_CLOSE_PROTOCOL_ERROR, "close frame"); /* 1005 */
	expect_fail(frame(0x88, "\x03\xe8\xff", 3, true), WS_CLOSE_PROTOCOL_ERROR, "close frame");
	/* A new message while a fragmented one is open. */
	GByteArray *two = frame(0x01, "a", 1, true);
	GByteArray *b = frame(0x81, "b", 1, true);
	g_byte_array_append(two, b->data, b->len);
	g_byte_array_unref(b);
	expect_fail(two, WS_CLOSE_PROTOCOL_ERROR, "before the last one ended");
	/* Fragments that add up past the bound fail at the header of the one that crosses it. */
	GByteArray *frags = frame(0x02, big, WS_MAX_MESSAGE - 10, true);
	static const guint8 crossing[] = { 0x80, 0x80 | 11, 1, 2, 3, 4 };
	g_byte_array_append(frags, crossing, sizeof(crossing));
	expect_fail(frags, WS_CLOSE_TOO_BIG, "larger than");
	/* A 1 GiB frame is refused from its 10-byte header and mask alone: nothing waits for it. */
	static const guint8 huge[] = { 0x82, 0xff, 0, 0, 0, 0, 0x40, 0, 0, 0 };
	expect_fail_bytes(huge, sizeof(huge), WS_CLOSE_TOO_BIG, "larger than");
	static const guint8 top_bit[] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0 };
	expect_fail_bytes(top_bit, sizeof(top_bit), WS_CLOSE_PROTOCOL_ERROR, "top bit");
	static const guint8 long16[] = { 0x82, 0xfe, 0, 5 };
	expect_fail_bytes(long16, sizeof(long16), WS_CLOSE_PROTOCOL_ERROR, "shortest form");
	static const guint8 long64[] = { 0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 200 };
	expect_fail_bytes(long64, sizeof(long64), WS_CLOSE_PROTOCOL_ERROR, "shortest form");
}

static void test_frame_header(void)
{
	guint8 h[10];
	g_assert_cmpuint(ws_frame_header(h, WS_BINARY, 125), ==, 2);
	g_assert_cmphex(h[0], ==, 0x82);
	g_assert_cmphex(h[1], ==, 125);
	g_assert_cmpuint(ws_frame_header(h, WS_TEXT, 126), ==, 4);
	g_assert_cmpmem(h, 4, "\x81\x7e\x00\x7e", 4);
	g_assert_cmpuint(ws_frame_header(h, WS_BINARY, 65536), ==, 10);
	g_assert_cmpmem(h, 10, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/websocket/handshake/accept", test_accept_key);
	g_test_add_func("/websocket/handshake/refused", test_handshake_refused);
	g_test_add_func("/websocket/frames", test_frames);
	g_test_add_func("/websocket/frames/hostile", test_hostile_frames);
	g_test_add_func("/websocket/frame-header", test_frame_header);
	return g_test_run();
}
