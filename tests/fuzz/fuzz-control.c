/* libFuzzer target for the control protocol (launcher/control.c, proto/control.proto through
 * protobuf-c): the bytes a local client sends on the monitor's socket, framed and decoded
 * as run_cvd's on_client does, and the monitor's answer as control_call decodes it and
 * cvd_status prints it.
 *
 * Input: byte 0 bit 0 picks the side (0: the monitor reading a Request, 1: a client reading
 * a Response); the rest is what the peer writes on the socket (a 4-byte big-endian length,
 * then the message), written into a socketpair whose writing end is then shut down.
 *
 * Oracle beyond ASan/UBSan: control_recv returns exactly the framed bytes when the length
 * is at most CONTROL_MAX_MESSAGE and they all came, and otherwise fails with an error that
 * names the peer; a decoded Request's fields pack and decode to the same values; the monitor's
 * answer (sent with control_send as run_cvd's answer() does, with the request's values in
 * it) comes back whole through control_recv; a decoded Response prints as valid JSON in
 * valid UTF-8.
 *
 * libprotobuf-c itself is the system's shared library, not instrumented: the coverage
 * numbers count sepia's code and the generated descriptors, not the decoder's insides
 * (ASan still checks the decoder's copies into sepia's buffers). */
#include "tests/fuzz/fuzz-common.h"

#include <errno.h>
#include <sys/socket.h>

#include "launcher/control.h"

#define PEER_SERVER "control client"
#define PEER_CLIENT "/run/sepia/launcher_monitor.sock"

/* ---- a minimal JSON checker: objects, strings, numbers (what cvd_status prints) */

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL; /* control characters must be escaped (also the NUL at the end) */
		if (*p++ != '\\')
			continue;
		if (*p == 'u') {
			for (int i = 1; i <= 4; i++)
				if (!g_ascii_isxdigit(p[i]))
					return NULL;
			p += 5;
		} else if (strchr("\"\\/bfnrt", *p) && *p) {
			p++;
		} else {
			return NULL;
		}
	}
	return p + 1;
}

static const char *json_number(const char *p)
{
	const char *start = p;
	if (*p == '-')
		p++;
	if (!g_ascii_isdigit(*p) || (*p == '0' && g_ascii_isdigit(p[1])))
		return NULL;
	while (g_ascii_isdigit(*p))
		p++;
	return p > start ? p : NULL;
}

static const char *json_object(const char *p)
{
	p = json_ws(p);
	if (*p++ != '{')
		return NULL;
	p = json_ws(p);
	if (*p == '}')
		return p + 1;
	for (;;) {
		if (!(p = json_string(json_ws(p))))
			return NULL;
		p = json_ws(p);
		if (*p++ != ':')
			return NULL;
		p = json_ws(p);
		p = *p == '"' ? json_string(p) : json_number(p);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p == '}')
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

/* ---- the socket */

static void pair(int fds[2], const uint8_t *data, size_t len)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		abort();
	int buf = 1 << 20;
	(void)setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	size_t done = 0;
	while (done < len) {
		ssize_t n = send(fds[1], data + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n <= 0)
			abort(); /* max_len keeps inputs far below the socket buffer */
		done += (size_t)n;
	}
	if (shutdown(fds[1], SHUT_WR) < 0)
		abort();
}

/* control_recv on what the peer wrote: exactly the framed bytes, or an error naming peer. */
static GBytes *receive(int fd, const uint8_t *data, size_t len, const char *peer)
{
	GError *error = NULL;
	GBytes *msg = control_recv(fd, 2000, peer, &error);
	uint32_t want = len >= 4 ? (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | data[2] << 8 | data[3]
				 : 0;
	bool whole = len >= 4 && want <= CONTROL_MAX_MESSAGE && len - 4 >= want;
	if (!msg) {
		fuzz_expect_refusal(&error, peer);
		if (whole)
			abort();
		return NULL;
	}
	gsize got;
	const uint8_t *bytes = g_bytes_get_data(msg, &got);
	if (error || !whole || got != want || (got && memcmp(bytes, data + 4, got)))
		abort();
	return msg;
}

static void check_request(int srv, int cli, const ControlRequest *req)
{
	/* Its fields pack and decode to the same values. (Not the whole message: protobuf-c keeps
	 * unknown fields, and one numbered 0, sent with a 2-byte tag, re-packs as a tag it then
	 * refuses; sepia never packs what it received.) */
	ControlRequest fresh = SEPIA__CONTROL__REQUEST__INIT;
	fresh.command = req->command;
	fresh.guest_timeout_s = req->guest_timeout_s;
	size_t n = protobuf_c_message_get_packed_size(&fresh.base);
	uint8_t buf[32];
	if (n > sizeof(buf) || protobuf_c_message_pack(&fresh.base, buf) != n)
		abort();
	ControlRequest *again = sepia__control__request__unpack(NULL, n, buf);
	if (!again || again->command != req->command || again->guest_timeout_s != req->guest_timeout_s)
		abort();
	sepia__control__request__free_unpacked(again, NULL);

	/* The monitor's answer, as run_cvd's answer() builds it, through the same socket. */
	ControlResponse resp = SEPIA__CONTROL__RESPONSE__INIT;
	ControlStatus st = SEPIA__CONTROL__INSTANCE_STATUS__INIT;
	g_autofree char *name = g_strdup_printf("cvd-%u", req->guest_timeout_s);
	st.instance_name = name;
	st.state = (Sepia__Control__State)req->command;
	st.uptime_s = req->guest_timeout_s;
	resp.ok = req->command == SEPIA__CONTROL__REQUEST__COMMAND__STATUS;
	resp.error = resp.ok ? (char *)"" : (char *)"unknown command";
	resp.status = &st;
	GError *error = NULL;
	if (!control_send(srv, &resp.base, PEER_SERVER, &error))
		abort();
	GBytes *answer = control_recv(cli, 2000, PEER_CLIENT, &error);
	if (!answer)
		abort();
	gsize len;
	const uint8_t *data = g_bytes_get_data(answer, &len);
	ControlResponse *back = sepia__control__response__unpack(NULL, len, data);
	if (!back || back->ok != resp.ok || strcmp(back->error, resp.error) || !back->status ||
	    strcmp(back->status->instance_name, name) || back->status->state != st.state ||
	    back->status->uptime_s != st.uptime_s)
		abort();
	control_response_free(back);
	g_bytes_unref(answer);
}

static void check_response(const ControlResponse *resp)
{
	if (!resp->status)
		return;
	if (!control_state_name(resp->status->state))
		abort();
	GString *out = g_string_new(NULL);
	control_status_to_json(out, resp->status, 2);
	const char *end = json_object(out->str);
	if (!end || *json_ws(end) || !g_utf8_validate(out->str, (gssize)out->len, NULL))
		abort();
	g_string_free(out, TRUE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 256 * 1024)
		return 0;
	bool client_side = data[0] & 1;
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	int fds[2];
	pair(fds, in, len);
	g_autoptr(GBytes) msg = receive(fds[0], in, len, client_side ? PEER_CLIENT : PEER_SERVER);
	if (msg) {
		gsize n;
		const uint8_t *bytes = g_bytes_get_data(msg, &n);
		if (client_side) {
			ControlResponse *resp = sepia__control__response__unpack(NULL, n, bytes);
			if (resp)
				check_response(resp);
			control_response_free(resp);
		} else {
			ControlRequest *req = sepia__control__request__unpack(NULL, n, bytes);
			if (req) {
				/* The monitor answers on the connection; here the peer end reads. */
				check_request(fds[0], fds[1], req);
				sepia__control__request__free_unpacked(req, NULL);
			}
		}
	}
	close(fds[0]);
	close(fds[1]);
	return 0;
}
