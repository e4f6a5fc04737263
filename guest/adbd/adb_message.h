/* sepia adbd: the adb wire protocol's framing (messages, shell v2 packets,
 * service names). Pure functions over byte buffers, unit-tested. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADB_CMD(a, b, c, d) \
	((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define A_CNXN ADB_CMD('C', 'N', 'X', 'N')
#define A_AUTH ADB_CMD('A', 'U', 'T', 'H')
#define A_OPEN ADB_CMD('O', 'P', 'E', 'N')
#define A_OKAY ADB_CMD('O', 'K', 'A', 'Y')
#define A_WRTE ADB_CMD('W', 'R', 'T', 'E')
#define A_CLSE ADB_CMD('C', 'L', 'S', 'E')
#define A_SYNC ADB_CMD('S', 'Y', 'N', 'C')
#define A_STLS ADB_CMD('S', 'T', 'L', 'S')

/* Version 0x01000001 and later peers skip the data checksum. */
#define ADB_VERSION_MIN           0x01000000u
#define ADB_VERSION_SKIP_CHECKSUM 0x01000001u
#define ADB_VERSION               0x01000001u
#define ADB_HEADER_SIZE           24
/* What this adbd accepts in one message and offers in CNXN (adb's own 1 MiB); the peer's offer
 * may lower what it sends. Each message is one round trip through the guest kernel's vsock,
 * which the interpreting host makes costly: the larger, the fewer. */
#define ADB_MAX_PAYLOAD (1024u * 1024u)

#define ADB_AUTH_TOKEN        1
#define ADB_AUTH_SIGNATURE    2
#define ADB_AUTH_RSAPUBLICKEY 3
#define ADB_AUTH_TOKEN_SIZE   20

struct adb_header {
	uint32_t command;
	uint32_t arg0;
	uint32_t arg1;
	uint32_t data_length;
	uint32_t data_check;
	uint32_t magic;
};

uint32_t adb_checksum(const void *data, size_t len);

/* Fills out[ADB_HEADER_SIZE] for a message carrying len bytes of data. */
void adb_header_encode(uint8_t *out, uint32_t command, uint32_t arg0, uint32_t arg1, const void *data,
		       uint32_t len);

/* Parses 24 bytes; returns 0, or -EBADMSG (bad magic or unknown command) or
 * -EMSGSIZE (data_length above max_payload). */
int adb_header_decode(const uint8_t *in, uint32_t max_payload, struct adb_header *hdr);

/* Checks the data checksum where the peer's version requires one; returns 0 or -EBADMSG. */
int adb_check_data(const struct adb_header *hdr, uint32_t peer_version, const void *data);

/* Shell protocol (shell_v2): [id:u8][len:u32 le][data]. */
enum shell_packet_id {
	SHELL_ID_STDIN = 0,
	SHELL_ID_STDOUT = 1,
	SHELL_ID_STDERR = 2,
	SHELL_ID_EXIT = 3,
	SHELL_ID_CLOSE_STDIN = 4,
	SHELL_ID_WINDOW_SIZE = 5,
};
#define SHELL_PACKET_HEADER 5

void shell_packet_header(uint8_t *out, uint8_t id, uint32_t len);

/* The first complete packet in buf[0..len): returns the bytes it takes (header
 * + data) and sets *id, *data, *data_len; 0 when more bytes are needed;
 * -EMSGSIZE when its length exceeds max_data. */
long shell_packet_parse(const uint8_t *buf, size_t len, size_t max_data, uint8_t *id, const uint8_t **data,
			uint32_t *data_len);

/* "rowsxcols,xpixelsxypixels" as the client sends with SHELL_ID_WINDOW_SIZE. */
bool shell_parse_window_size(const char *text, size_t len, unsigned short out[4]);

/* A service request such as "shell,v2,TERM=xterm,raw:ls -l". */
enum adb_service_kind {
	ADB_SERVICE_UNKNOWN,
	ADB_SERVICE_SHELL,
	ADB_SERVICE_EXEC,
	ADB_SERVICE_SYNC,
	ADB_SERVICE_REBOOT,
	ADB_SERVICE_TCP,     /* "tcp:PORT": adb forward's connection to a guest port */
	ADB_SERVICE_REVERSE, /* "reverse:forward:...", "reverse:killforward:...", ... */
	ADB_SERVICE_ROOT,    /* "root:" */
	ADB_SERVICE_UNROOT,  /* "unroot:" */
};
enum shell_tty_mode { SHELL_TTY_DEFAULT, SHELL_TTY_RAW, SHELL_TTY_PTY };

struct adb_service_request {
	enum adb_service_kind kind;
	bool shell_v2;
	enum shell_tty_mode tty;
	char term[64];
	/* Points into the parsed name: the command (shell, exec), the reboot
	 * target, the port (tcp) or the reverse request; empty when none. */
	const char *arg;
};

/* name must be NUL-terminated; returns 0 or -ENOENT for unknown services. */
int adb_service_parse(const char *name, struct adb_service_request *req);

/* "N", 0 <= N <= 65535, digits only (0 only when allow_zero): the port, or -EINVAL. */
int adb_port_parse(const char *text, bool allow_zero);

/* What follows "reverse:" in an `adb reverse` request. */
enum adb_reverse_kind {
	ADB_REVERSE_FORWARD,  /* forward:[norebind:]LOCAL;REMOTE */
	ADB_REVERSE_KILL,     /* killforward:LOCAL */
	ADB_REVERSE_KILL_ALL, /* killforward-all */
	ADB_REVERSE_LIST,     /* list-forward */
};
#define ADB_REVERSE_SPEC_MAX 256
struct adb_reverse_request {
	enum adb_reverse_kind kind;
	bool no_rebind;
	int local_port;                    /* LOCAL's port (FORWARD; 0: the guest picks one) */
	char local[ADB_REVERSE_SPEC_MAX];  /* as the client named it (FORWARD, KILL) */
	char remote[ADB_REVERSE_SPEC_MAX]; /* what the host opens: "tcp:H" (FORWARD) */
};

/* Parses a reverse request; returns 0, -ENOENT (no such command), -EINVAL (a malformed
 * forward, or a name too long) or -EPROTONOSUPPORT (LOCAL is not "tcp:PORT"). */
int adb_reverse_parse(const char *text, struct adb_reverse_request *req);
