/* sepia adbd: the adb wire protocol's framing. */
#include "adb_message.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/byteorder.h"

uint32_t adb_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return sum;
}

void adb_header_encode(uint8_t *out, uint32_t command, uint32_t arg0, uint32_t arg1, const void *data,
		       uint32_t len)
{
	put_le32(out, command);
	put_le32(out + 4, arg0);
	put_le32(out + 8, arg1);
	put_le32(out + 12, len);
	/* Cheap, and it keeps pre-0x01000001 clients working. */
	put_le32(out + 16, data != NULL ? adb_checksum(data, len) : 0);
	put_le32(out + 20, command ^ 0xffffffffu);
}

static bool adb_command_known(uint32_t command)
{
	switch (command) {
	case A_CNXN:
	case A_AUTH:
	case A_OPEN:
	case A_OKAY:
	case A_WRTE:
	case A_CLSE:
	case A_SYNC:
	case A_STLS:
		return true;
	default:
		return false;
	}
}

int adb_header_decode(const uint8_t *in, uint32_t max_payload, struct adb_header *hdr)
{
	hdr->command = get_le32(in);
	hdr->arg0 = get_le32(in + 4);
	hdr->arg1 = get_le32(in + 8);
	hdr->data_length = get_le32(in + 12);
	hdr->data_check = get_le32(in + 16);
	hdr->magic = get_le32(in + 20);
	if (hdr->magic != (hdr->command ^ 0xffffffffu) || !adb_command_known(hdr->command))
		return -EBADMSG;
	if (hdr->data_length > max_payload)
		return -EMSGSIZE;
	return 0;
}

int adb_check_data(const struct adb_header *hdr, uint32_t peer_version, const void *data)
{
	if (peer_version >= ADB_VERSION_SKIP_CHECKSUM)
		return 0;
	return adb_checksum(data, hdr->data_length) == hdr->data_check ? 0 : -EBADMSG;
}

void shell_packet_header(uint8_t *out, uint8_t id, uint32_t len)
{
	out[0] = id;
	put_le32(out + 1, len);
}

long shell_packet_parse(const uint8_t *buf, size_t len, size_t max_data, uint8_t *id, const uint8_t **data,
			uint32_t *data_len)
{
	uint32_t n;

	if (len < SHELL_PACKET_HEADER)
		return 0;
	n = get_le32(buf + 1);
	if (n > max_data)
		return -EMSGSIZE;
	if (len - SHELL_PACKET_HEADER < n)
		return 0;
	*id = buf[0];
	*data = buf + SHELL_PACKET_HEADER;
	*data_len = n;
	return (long)(SHELL_PACKET_HEADER + n);
}

bool shell_parse_window_size(const char *text, size_t len, unsigned short out[4])
{
	char copy[64];
	unsigned int v[4];
	int used = 0;

	if (len == 0 || len >= sizeof(copy))
		return false;
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (sscanf(copy, "%ux%u,%ux%u%n", &v[0], &v[1], &v[2], &v[3], &used) != 4)
		return false;
	/* The client sends the string with its NUL; nothing else may follow. */
	if ((size_t)used != strlen(copy))
		return false;
	for (int i = 0; i < 4; i++) {
		if (v[i] > 0xffff)
			return false;
		out[i] = (unsigned short)v[i];
	}
	return true;
}

/* "shell" then optional ",arg,arg" then ':' then the command. */
static int parse_shell_args(const char *args, size_t args_len, struct adb_service_request *req)
{
	size_t i = 0;

	while (i < args_len) {
		size_t start = ++i; /* skip the ',' */
		while (i < args_len && args[i] != ',')
			i++;
		size_t n = i - start;
		const char *a = args + start;

		if (n == 2 && memcmp(a, "v2", 2) == 0) {
			req->shell_v2 = true;
		} else if (n == 3 && memcmp(a, "raw", 3) == 0) {
			req->tty = SHELL_TTY_RAW;
		} else if (n == 3 && memcmp(a, "pty", 3) == 0) {
			req->tty = SHELL_TTY_PTY;
		} else if (n > 5 && memcmp(a, "TERM=", 5) == 0) {
			if (n - 5 >= sizeof(req->term))
				return -ENOENT;
			memcpy(req->term, a + 5, n - 5);
			req->term[n - 5] = '\0';
		}
		/* Other arguments (future options) are ignored, as adbd does. */
	}
	return 0;
}

int adb_service_parse(const char *name, struct adb_service_request *req)
{
	memset(req, 0, sizeof(*req));
	req->arg = "";
	if (strncmp(name, "shell", 5) == 0 && (name[5] == ':' || name[5] == ',')) {
		const char *colon = strchr(name, ':');

		if (colon == NULL)
			return -ENOENT;
		req->kind = ADB_SERVICE_SHELL;
		req->arg = colon + 1;
		return parse_shell_args(name + 5, (size_t)(colon - (name + 5)), req);
	}
	if (strncmp(name, "exec:", 5) == 0) {
		req->kind = ADB_SERVICE_EXEC;
		req->tty = SHELL_TTY_RAW;
		req->arg = name + 5;
		return 0;
	}
	if (strcmp(name, "sync:") == 0) {
		req->kind = ADB_SERVICE_SYNC;
		return 0;
	}
	if (strncmp(name, "reboot:", 7) == 0) {
		req->kind = ADB_SERVICE_REBOOT;
		req->arg = name + 7;
		return 0;
	}
	static const struct {
		const char *prefix;
		enum adb_service_kind kind;
	} simple[] = {
		{ "tcp:", ADB_SERVICE_TCP },
		{ "reverse:", ADB_SERVICE_REVERSE },
		{ "root:", ADB_SERVICE_ROOT },
		{ "unroot:", ADB_SERVICE_UNROOT },
	};
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		size_t n = strlen(simple[i].prefix);
		if (strncmp(name, simple[i].prefix, n) == 0) {
			req->kind = simple[i].kind;
			req->arg = name + n;
			return 0;
		}
	}
	req->kind = ADB_SERVICE_UNKNOWN;
	return -ENOENT;
}

int adb_port_parse(const char *text, bool allow_zero)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; text[i] >= '0' && text[i] <= '9'; i++) {
		v = v * 10 + (unsigned long)(text[i] - '0');
		if (v > 65535)
			return -EINVAL;
	}
	if (i == 0 || text[i] != '\0' || (v == 0 && !allow_zero))
		return -EINVAL;
	return (int)v;
}

static int copy_spec(char *out, const char *text, size_t len)
{
	if (len == 0 || len >= ADB_REVERSE_SPEC_MAX)
		return -EINVAL;
	memcpy(out, text, len);
	out[len] = '\0';
	return 0;
}

int adb_reverse_parse(const char *text, struct adb_reverse_request *req)
{
	memset(req, 0, sizeof(*req));
	if (strcmp(text, "killforward-all") == 0) {
		req->kind = ADB_REVERSE_KILL_ALL;
		return 0;
	}
	if (strcmp(text, "list-forward") == 0) {
		req->kind = ADB_REVERSE_LIST;
		return 0;
	}
	if (strncmp(text, "killforward:", 12) == 0) {
		req->kind = ADB_REVERSE_KILL;
		return copy_spec(req->local, text + 12, strlen(text + 12));
	}
	if (strncmp(text, "forward:", 8) != 0)
		return -ENOENT;
	req->kind = ADB_REVERSE_FORWARD;
	text += 8;
	if (strncmp(text, "norebind:", 9) == 0) {
		req->no_rebind = true;
		text += 9;
	}
	const char *semi = strchr(text, ';');
	if (semi == NULL || copy_spec(req->local, text, (size_t)(semi - text)) < 0 ||
	    copy_spec(req->remote, semi + 1, strlen(semi + 1)) < 0 || req->remote[0] == '*')
		return -EINVAL;
	if (strncmp(req->local, "tcp:", 4) != 0 ||
	    (req->local_port = adb_port_parse(req->local + 4, true)) < 0)
		return -EPROTONOSUPPORT;
	return 0;
}
