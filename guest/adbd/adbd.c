/* sepia adbd: a small adb daemon for sepia's reference guest.
 *
 * One process, one poll loop: it listens on vsock port 5555 (or, for tests
 * on the host, on 127.0.0.1:PORT with --tcp), speaks the adb wire protocol
 * (CNXN/AUTH/OPEN/OKAY/WRTE/CLSE, version 0x01000001) to each connection,
 * and runs every stream's service in a child process (shell, exec, sync,
 * reboot). Flow control is adb's: one WRTE per stream in flight until the
 * peer's OKAY, and our OKAY only once the child has taken the bytes. */
#include "adbd.h"
#include "adb_auth.h"
#include "forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define ADBD_VSOCK_PORT 5555
/* Each vsock connection's and child socket's buffer: two messages of the largest size. */
#define ADBD_SOCK_BUFFER (2u * ADB_MAX_PAYLOAD)
#define ADBD_FEATURES    "shell_v2,stat_v2,ls_v2,fixed_push_mkdir"
#define ADBD_BANNER                                                                     \
	"device::ro.product.name=sepia;ro.product.model=sepia;ro.product.device=sepia;" \
	"features=" ADBD_FEATURES
/* Stop reading children while this much waits for the connection. */
#define ADBD_OUT_HIGH_WATER (2u * 1024u * 1024u)

static struct adbd_options options;
static bool verbose;
static struct adb_rsa_key *auth_keys;
static int auth_key_count = -1; /* -1: no keys file, no authentication */
static struct conn *conns;
static int sigchld_pipe[2] = { -1, -1 };
uint8_t *scratch; /* one outgoing payload: shell header + data */

void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("adbd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- Connections: the outgoing queue -------------------------------------------- */

static void conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				say("%s: write failed: %s", c->name, strerror(errno));
				c->dead = true;
			}
			break;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
}

void conn_send(struct conn *c, uint32_t cmd, uint32_t arg0, uint32_t arg1, const void *data, uint32_t len)
{
	size_t need = ADB_HEADER_SIZE + len;

	if (c->dead)
		return;
	if (c->out_off > 0 && c->out_cap - c->out_len < need) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_cap - c->out_len < need) {
		size_t cap = c->out_cap ? c->out_cap : 64 * 1024;
		while (cap - c->out_len < need)
			cap *= 2;
		uint8_t *grown = realloc(c->out, cap);
		if (grown == NULL) {
			say("%s: out of memory", c->name);
			c->dead = true;
			return;
		}
		c->out = grown;
		c->out_cap = cap;
	}
	adb_header_encode(c->out + c->out_len, cmd, arg0, arg1, len ? data : NULL, len);
	if (len)
		memcpy(c->out + c->out_len + ADB_HEADER_SIZE, data, len);
	c->out_len += need;
	conn_flush(c);
}

size_t conn_backlog(const struct conn *c) { return c->out_len - c->out_off; }

static void reap_children(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (struct conn *c = conns; c != NULL; c = c->next) {
			for (struct stream *st = c->streams; st != NULL; st = st->next) {
				if (st->pid != pid)
					continue;
				st->exited = true;
				st->exit_code = WIFEXITED(status) ? WEXITSTATUS(status)
								  : 128 + WTERMSIG(status);
			}
		}
	}
}

/* ---- Messages from the client ---------------------------------------------------- */

static void send_connect(struct conn *c)
{
	static const char banner[] = ADBD_BANNER;

	c->online = true;
	conn_send(c, A_CNXN, ADB_VERSION, options.max_payload, banner, sizeof(banner) - 1);
	say("%s: online (peer version %#x, max payload %u)", c->name, c->peer_version, c->max_payload);
}

static void send_auth_token(struct conn *c)
{
	if (getrandom(c->token, sizeof(c->token), 0) != (ssize_t)sizeof(c->token)) {
		say("%s: no random token: %s", c->name, strerror(errno));
		c->dead = true;
		return;
	}
	conn_send(c, A_AUTH, ADB_AUTH_TOKEN, 0, c->token, sizeof(c->token));
}

static void handle_auth(struct conn *c, const struct adb_header *h, const uint8_t *data)
{
	if (auth_key_count < 0 || c->online)
		return;
	if (h->arg0 == ADB_AUTH_SIGNATURE) {
		for (int i = 0; i < auth_key_count; i++) {
			if (adb_rsa_verify(&auth_keys[i], c->token, sizeof(c->token), data, h->data_length)) {
				say("%s: signature verified with key %d", c->name, i + 1);
				send_connect(c);
				return;
			}
		}
		/* A fresh token for the client's next key. */
		send_auth_token(c);
	} else if (h->arg0 == ADB_AUTH_RSAPUBLICKEY) {
		struct adb_rsa_key key;
		if (adb_rsa_key_from_text((const char *)data, h->data_length, &key) == 0) {
			for (int i = 0; i < auth_key_count; i++) {
				if (adb_rsa_key_equal(&auth_keys[i], &key)) {
					say("%s: offered public key is authorized", c->name);
					send_connect(c);
					return;
				}
			}
		}
		say("%s: refused an unknown public key (no way to ask a user here)", c->name);
	}
}

static void handle_open(struct conn *c, const struct adb_header *h, const uint8_t *data)
{
	char name[1024];
	size_t n = h->data_length < sizeof(name) - 1 ? h->data_length : sizeof(name) - 1;
	struct adb_service_request req;
	struct stream *st;
	int err;

	memcpy(name, data, n);
	name[n] = '\0';
	if (adb_service_parse(name, &req) < 0) {
		say("%s: refused unknown service '%s'", c->name, name);
		conn_send(c, A_CLSE, 0, h->arg0, NULL, 0);
		return;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		conn_send(c, A_CLSE, 0, h->arg0, NULL, 0);
		return;
	}
	st->conn = c;
	st->remote_id = h->arg0;
	st->local_id = c->next_local_id++;
	st->fd_in = st->fd_out = st->fd_err = -1;
	err = service_spawn(st, &req, &options);
	if (err < 0) {
		say("%s: cannot start '%s': %s", c->name, name, strerror(-err));
		free(st);
		conn_send(c, A_CLSE, 0, h->arg0, NULL, 0);
		return;
	}
	st->next = c->streams;
	c->streams = st;
	if (verbose)
		say("%s: stream %u: '%s' (pid %d)", c->name, st->local_id, name, (int)st->pid);
	conn_send(c, A_OKAY, st->local_id, st->remote_id, NULL, 0);
}

static void handle_message(struct conn *c, const struct adb_header *h, const uint8_t *data)
{
	struct stream *st;

	switch (h->command) {
	case A_CNXN:
		c->peer_version = h->arg0 < ADB_VERSION ? h->arg0 : ADB_VERSION;
		c->max_payload = h->arg1 < options.max_payload ? h->arg1 : options.max_payload;
		if (c->max_payload < 4096)
			c->max_payload = 4096;
		if (c->online) {
			/* A reconnecting client: its old streams are gone. */
			for (st = c->streams; st != NULL; st = st->next)
				stream_end(st, false, true);
			c->online = false;
		}
		if (auth_key_count < 0)
			send_connect(c);
		else
			send_auth_token(c);
		return;
	case A_AUTH:
		handle_auth(c, h, data);
		return;
	}
	if (!c->online)
		return; /* nothing but CNXN and AUTH before the connection is up */
	switch (h->command) {
	case A_OPEN:
		handle_open(c, h, data);
		break;
	case A_OKAY:
		if ((st = stream_find(c, h->arg1)) != NULL && st->opening) {
			/* The host took our OPEN (adb reverse): the stream runs from now on. */
			st->opening = false;
			st->remote_id = h->arg0;
			st->write_pending = false;
		} else if (st != NULL && st->remote_id == h->arg0) {
			st->write_pending = false;
			stream_maybe_finish(st);
		}
		break;
	case A_WRTE:
		if ((st = stream_find(c, h->arg1)) == NULL)
			break;
		if (st->v2)
			shell_v2_input(st, data, h->data_length);
		else
			stream_queue_input(st, data, h->data_length);
		if (st->dead)
			break;
		st->ack_owed = true;
		stream_push_input(st);
		break;
	case A_CLSE:
		/* Input the child has not taken yet still goes to it (exec-in's last
		 * WRTE comes just before its CLSE); then the stream ends. */
		if ((st = stream_find(c, h->arg1)) != NULL) {
			st->peer_closed = true;
			st->ack_owed = false;
			stream_push_input(st);
		}
		break;
	default:
		break;
	}
}

static void conn_read(struct conn *c)
{
	ssize_t n;

	do
		n = recv(c->fd, c->in + c->in_len, ADB_HEADER_SIZE + ADBD_MAX_INBOUND - c->in_len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		say("%s: disconnected", c->name);
		c->dead = true;
		return;
	}
	c->in_len += (size_t)n;

	size_t off = 0;
	while (!c->dead && c->in_len - off >= ADB_HEADER_SIZE) {
		struct adb_header h;
		int err = adb_header_decode(c->in + off, ADBD_MAX_INBOUND, &h);
		if (err < 0) {
			say("%s: %s message; closing the connection", c->name,
			    err == -EMSGSIZE ? "oversized" : "malformed");
			c->dead = true;
			return;
		}
		if (c->in_len - off < ADB_HEADER_SIZE + h.data_length)
			break;
		const uint8_t *data = c->in + off + ADB_HEADER_SIZE;
		if (adb_check_data(&h, h.command == A_CNXN ? h.arg0 : c->peer_version, data) < 0) {
			say("%s: bad data checksum; closing the connection", c->name);
			c->dead = true;
			return;
		}
		handle_message(c, &h, data);
		off += ADB_HEADER_SIZE + h.data_length;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
}

/* ---- Listening and the loop --------------------------------------------------------- */

static void conn_accept(int listen_fd)
{
	struct sockaddr_storage addr;
	socklen_t len = sizeof(addr);
	int fd = accept4(listen_fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct conn *c;

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->in = malloc(ADB_HEADER_SIZE + ADBD_MAX_INBOUND)) == NULL) {
		free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	c->next_local_id = 1;
	c->max_payload = 4096;
	if (addr.ss_family == AF_VSOCK) {
		const struct sockaddr_vm *vm = (const struct sockaddr_vm *)&addr;
		/* The guest kernel grants the host credit up to this buffer (256 KiB by default):
		 * a larger one lets a whole message in before adbd is scheduled to read it. */
		unsigned long long size = options.sock_buffer;
		if (size > 0) {
			setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &size, sizeof(size));
			setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &size, sizeof(size));
		}
		snprintf(c->name, sizeof(c->name), "vsock:%u:%u", vm->svm_cid, vm->svm_port);
	} else if (addr.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&addr;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		snprintf(c->name, sizeof(c->name), "tcp:%s:%u", inet_ntoa(in->sin_addr), ntohs(in->sin_port));
	} else {
		snprintf(c->name, sizeof(c->name), "fd%d", fd);
	}
	c->next = conns;
	conns = c;
	say("%s: connected", c->name);
}

static void conn_free(struct conn *c)
{
	struct stream *st = c->streams;

	reverse_drop_conn(c);
	while (st != NULL) {
		struct stream *next = st->next;
		stream_end(st, false, true);
		stream_free(st);
		st = next;
	}
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Set when the stream that answered `adb root` or `adb unroot` is done: the connections end. */
static bool restart_now;

/* Frees what this iteration closed. */
static void sweep(void)
{
	for (struct conn **cp = &conns; *cp != NULL;) {
		struct conn *c = *cp;
		if (c->dead) {
			*cp = c->next;
			conn_free(c);
			continue;
		}
		for (struct stream **sp = &c->streams; *sp != NULL;) {
			if ((*sp)->dead) {
				struct stream *st = *sp;
				*sp = st->next;
				restart_now |= st->restart_after;
				stream_free(st);
			} else {
				sp = &(*sp)->next;
			}
		}
		cp = &c->next;
	}
	reverse_sweep(); /* after conn_free: it closes the listeners of the connections it frees */
}

enum poll_what {
	POLL_LISTEN,
	POLL_SIGCHLD,
	POLL_CONN,
	POLL_STREAM_IN,
	POLL_STREAM_OUT,
	POLL_STREAM_ERR,
	POLL_REVERSE,
};
struct poll_ref {
	enum poll_what what;
	struct conn *conn;
	struct stream *stream;
	struct reverse_listener *listener;
};

static void on_sigchld(int sig)
{
	int saved = errno;
	char b = 0;

	(void)sig;
	if (write(sigchld_pipe[1], &b, 1) < 0) {
		/* full pipe: a wakeup is pending anyway */
	}
	errno = saved;
}

static int listen_on(int tcp_port, unsigned int vsock_port)
{
	int fd, one = 1;

	if (tcp_port > 0) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons((uint16_t)tcp_port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return -errno;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		say("listening on tcp 127.0.0.1:%d", tcp_port);
		return fd;
	}
	struct sockaddr_vm v = { .svm_family = AF_VSOCK, .svm_port = vsock_port, .svm_cid = VMADDR_CID_ANY };
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&v, sizeof(v)) < 0 || listen(fd, 8) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	say("listening on vsock port %u", vsock_port);
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: adbd [--vsock-port N] [--tcp PORT] [--keys FILE] [--allow-reboot] [--max-payload N]\n"
		"            [--buffer N] [--verbose]\n"
		"  --vsock-port N  listen on AF_VSOCK port N, any CID (default %d)\n"
		"  --tcp PORT      listen on 127.0.0.1:PORT instead (testing on a host);\n"
		"                  the reboot: service is then refused unless --allow-reboot\n"
		"  --keys FILE     require adb authentication against these adbkey.pub lines\n"
		"  --max-payload N the largest message adbd offers (4096 to %u, default %u)\n"
		"  --buffer N      bytes of buffer for each vsock connection and child socket\n"
		"                  (default %u; 0: the kernel's defaults)\n"
		"  --verbose       a line per stream opened\n",
		ADBD_VSOCK_PORT, ADB_MAX_PAYLOAD, ADB_MAX_PAYLOAD, ADBD_SOCK_BUFFER);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tcp", required_argument, NULL, 't' },
		{ "vsock-port", required_argument, NULL, 'v' },
		{ "keys", required_argument, NULL, 'k' },
		{ "allow-reboot", no_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'V' },
		{ "max-payload", required_argument, NULL, 'm' },
		{ "buffer", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int tcp_port = 0, opt, listen_fd;
	unsigned int vsock_port = ADBD_VSOCK_PORT;
	const char *keys_path = NULL;
	bool allow_reboot = false;
	unsigned long max_payload = ADB_MAX_PAYLOAD, sock_buffer = ADBD_SOCK_BUFFER;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 't':
			tcp_port = atoi(optarg);
			break;
		case 'v':
			vsock_port = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			keys_path = optarg;
			break;
		case 'r':
			allow_reboot = true;
			break;
		case 'V':
			verbose = true;
			break;
		case 'm':
			max_payload = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			sock_buffer = strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || tcp_port < 0 || tcp_port > 65535 || max_payload < 4096 ||
	    max_payload > ADB_MAX_PAYLOAD || sock_buffer > 64ul * 1024 * 1024) {
		usage(stderr);
		return 2;
	}
	options.allow_reboot = allow_reboot || tcp_port == 0;
	options.verbose = verbose;
	options.max_payload = (uint32_t)max_payload;
	options.sock_buffer = (uint32_t)sock_buffer;
	setvbuf(stderr, NULL, _IOLBF, 0);

	if (keys_path != NULL) {
		auth_key_count = adb_keys_load(keys_path, &auth_keys);
		if (auth_key_count < 0) {
			say("cannot read keys file %s: %s", keys_path, strerror(-auth_key_count));
			return 1;
		}
		say("authentication on: %d key(s) from %s", auth_key_count, keys_path);
	}
	scratch = malloc(options.max_payload);
	if (scratch == NULL || pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		say("cannot set up: %s", strerror(errno));
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_RESTART | SA_NOCLDSTOP };
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	listen_fd = listen_on(tcp_port, vsock_port);
	/* A guest without a vsock transport yet: wait for one rather than have
	 * init respawn us every second. */
	for (unsigned int tries = 0; listen_fd < 0 && tcp_port == 0; tries++) {
		if (tries == 0)
			say("cannot listen on vsock port %u: %s; retrying every 10 s", vsock_port,
			    strerror(-listen_fd));
		sleep(10);
		listen_fd = listen_on(tcp_port, vsock_port);
	}
	if (listen_fd < 0) {
		say("cannot listen on tcp port %d: %s", tcp_port, strerror(-listen_fd));
		return 1;
	}

	struct pollfd *pfds = NULL;
	struct poll_ref *refs = NULL;
	size_t cap = 0;

	for (;;) {
		size_t n = 0;

#define ADD(fd_, ev_, what_, c_, s_)                                        \
	do {                                                                \
		if (n == cap) {                                             \
			cap = cap ? cap * 2 : 64;                           \
			pfds = realloc(pfds, cap * sizeof(*pfds));          \
			refs = realloc(refs, cap * sizeof(*refs));          \
			if (pfds == NULL || refs == NULL) {                 \
				say("out of memory");                       \
				return 1;                                   \
			}                                                   \
		}                                                           \
		pfds[n] = (struct pollfd){ .fd = (fd_), .events = (ev_) };  \
		refs[n++] = (struct poll_ref){ (what_), (c_), (s_), NULL }; \
	} while (0)

		ADD(listen_fd, POLLIN, POLL_LISTEN, NULL, NULL);
		ADD(sigchld_pipe[0], POLLIN, POLL_SIGCHLD, NULL, NULL);
		for (struct reverse_listener *l = reverse_listeners; l != NULL; l = l->next) {
			if (l->dead)
				continue;
			ADD(l->fd, POLLIN, POLL_REVERSE, l->conn, NULL);
			refs[n - 1].listener = l;
		}
		for (struct conn *c = conns; c != NULL; c = c->next) {
			ADD(c->fd, POLLIN | (conn_backlog(c) ? POLLOUT : 0), POLL_CONN, c, NULL);
			bool room = conn_backlog(c) < ADBD_OUT_HIGH_WATER;
			for (struct stream *st = c->streams; st != NULL; st = st->next) {
				if (st->in_off < st->in_len && st->fd_in >= 0)
					ADD(st->fd_in, POLLOUT, POLL_STREAM_IN, c, st);
				if (!st->write_pending && !st->peer_closed && room) {
					if (st->fd_out >= 0)
						ADD(st->fd_out, POLLIN, POLL_STREAM_OUT, c, st);
					if (st->fd_err >= 0)
						ADD(st->fd_err, POLLIN, POLL_STREAM_ERR, c, st);
				}
			}
		}
#undef ADD
		if (poll(pfds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			say("poll: %s", strerror(errno));
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			struct poll_ref *r = &refs[i];
			short ev = pfds[i].revents;

			if (ev == 0)
				continue;
			if ((r->conn && r->conn->dead) || (r->stream && r->stream->dead))
				continue;
			switch (r->what) {
			case POLL_LISTEN:
				conn_accept(listen_fd);
				break;
			case POLL_SIGCHLD: {
				char drain[64];
				while (read(sigchld_pipe[0], drain, sizeof(drain)) > 0)
					;
				reap_children();
				break;
			}
			case POLL_CONN:
				if (ev & POLLOUT)
					conn_flush(r->conn);
				if (ev & (POLLIN | POLLHUP | POLLERR))
					conn_read(r->conn);
				break;
			case POLL_STREAM_IN:
				if (ev & (POLLERR | POLLHUP) && !(ev & POLLOUT))
					stream_close_input(r->stream);
				stream_push_input(r->stream);
				break;
			case POLL_STREAM_OUT:
				/* One WRTE per round trip: the other output waits its turn. */
				if (!r->stream->write_pending)
					stream_read_output(r->stream, &r->stream->fd_out);
				break;
			case POLL_STREAM_ERR:
				if (!r->stream->write_pending)
					stream_read_output(r->stream, &r->stream->fd_err);
				break;
			case POLL_REVERSE:
				reverse_accept(r->listener);
				break;
			}
		}
		for (struct conn *c = conns; c != NULL; c = c->next)
			for (struct stream *st = c->streams; st != NULL; st = st->next)
				stream_maybe_finish(st); /* SIGCHLD wakes the loop for exits */
		sweep();
		if (restart_now) {
			/* As a restarted adbd would be: the answer goes out (given a moment), then every
			 * connection ends; the adb server connects again and finds the new user. */
			restart_now = false;
			for (int tries = 0; tries < 50; tries++) {
				bool pending = false;
				for (struct conn *c = conns; c != NULL; c = c->next) {
					conn_flush(c);
					pending |= !c->dead && conn_backlog(c) > 0;
				}
				if (!pending)
					break;
				poll(NULL, 0, 20);
			}
			say("now %s: ending every connection, as a restart would",
			    options.nonroot ? "non root" : "root");
			for (struct conn *c = conns; c != NULL; c = c->next)
				c->dead = true;
			sweep();
		}
	}
}
