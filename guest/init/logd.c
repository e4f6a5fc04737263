/* sepia guest init: logd, see logd.h. */
#include "logd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define LOGD_MAX_ENTRIES 4096
#define LOGD_MAX_CLIENTS 64
#define LOGD_LINE_MAX    1024 /* a longer line is cut into entries of this size */
#define LOGD_TAG_MAX     32

static int listen_fd = -1;

int logd_listen(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	mkdir("/dev/socket", 0755);
	unlink(LOGD_SOCKET);
	strcpy(sa.sun_path, LOGD_SOCKET);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Anyone may log and read, as on a userdebug device. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(LOGD_SOCKET, 0666) < 0 ||
	    listen(fd, LOGD_MAX_CLIENTS) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	listen_fd = fd;
	return 0;
}

int logd_connect(const char *header, int nonblock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[64];
	int fd, n;

	strcpy(sa.sun_path, LOGD_SOCKET);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -errno;
	n = snprintf(line, sizeof(line), "%s\n", header);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, line, (size_t)n, MSG_NOSIGNAL | (nonblock ? MSG_DONTWAIT : 0)) != n) {
		int err = errno ? -errno : -EIO;
		close(fd);
		return err;
	}
	return fd;
}

/* ---- Formatting ---------------------------------------------------------- */

size_t logd_format(char *out, size_t size, const struct timespec *when, int pid, int tid, char prio,
		   const char *tag, const char *msg, size_t msg_len)
{
	struct tm tm;
	time_t sec = when->tv_sec;
	int n;

	while (msg_len > 0 && (msg[msg_len - 1] == '\n' || msg[msg_len - 1] == '\r'))
		msg_len--;
	gmtime_r(&sec, &tm);
	n = snprintf(out, size, "%02d-%02d %02d:%02d:%02d.%03ld %5d %5d %c %-8s: %.*s\n", tm.tm_mon + 1,
		     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, when->tv_nsec / 1000000L, pid, tid, prio,
		     tag, (int)msg_len, msg);
	if (n < 0)
		return 0;
	if ((size_t)n >= size) { /* cut, but still one line */
		out[size - 2] = '\n';
		out[size - 1] = '\0';
		return size - 1;
	}
	return (size_t)n;
}

int logd_parse_kmsg(const char *rec, size_t len, char *prio, unsigned long long *usec, const char **text,
		    size_t *text_len)
{
	static const char by_level[8] = { 'F', 'F', 'F', 'E', 'W', 'I', 'I', 'D' };
	unsigned int pri;
	unsigned long long seq;
	const char *semi = memchr(rec, ';', len), *nl;
	char head[64];

	if (semi == NULL || (size_t)(semi - rec) >= sizeof(head))
		return -1;
	memcpy(head, rec, (size_t)(semi - rec));
	head[semi - rec] = '\0';
	if (sscanf(head, "%u,%llu,%llu", &pri, &seq, usec) != 3)
		return -1;
	*prio = by_level[pri & 7];
	*text = semi + 1;
	nl = memchr(*text, '\n', len - (size_t)(*text - rec));
	*text_len = nl ? (size_t)(nl - *text) : len - (size_t)(*text - rec);
	return 0;
}

/* ---- The ring ------------------------------------------------------------ */

static char *ring[LOGD_MAX_ENTRIES];
static uint64_t first_seq, next_seq; /* entries first_seq .. next_seq-1 are held */
static size_t ring_bytes;

static void ring_add(const char *line, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy == NULL)
		return;
	memcpy(copy, line, len + 1);
	while (next_seq > first_seq &&
	       (next_seq - first_seq == LOGD_MAX_ENTRIES || ring_bytes + len > LOGD_RING_BYTES)) {
		char **old = &ring[first_seq % LOGD_MAX_ENTRIES];
		ring_bytes -= strlen(*old);
		free(*old);
		*old = NULL;
		first_seq++;
	}
	ring[next_seq % LOGD_MAX_ENTRIES] = copy;
	next_seq++;
	ring_bytes += len;
}

static void add_entry(const struct timespec *when, int pid, char prio, const char *tag, const char *msg,
		      size_t len)
{
	char line[LOGD_LINE_MAX + 128];
	size_t n = logd_format(line, sizeof(line), when, pid, pid, prio, tag, msg, len);

	if (n)
		ring_add(line, n);
}

/* ---- Clients --------------------------------------------------------------- */

enum client_kind { CLIENT_NEW, CLIENT_WRITER, CLIENT_DUMP, CLIENT_FOLLOW };

struct client {
	int fd; /* -1: free slot */
	enum client_kind kind;
	bool is_tty;  /* the hvc stream: never closed, never read */
	bool mirror;  /* a service: copy its lines to the console */
	bool stamped; /* each line starts with its time, "SEC.NSEC " */
	char prio;
	char tag[LOGD_TAG_MAX];
	int pid;
	char buf[LOGD_LINE_MAX];
	size_t len;
	uint64_t seq;     /* readers: the next entry to send */
	size_t off;       /* ... and how much of it went already */
	uint64_t end_seq; /* dump: where it ends */
};

static struct client clients[LOGD_MAX_CLIENTS + 1]; /* + the hvc stream */

static void client_close(struct client *c)
{
	close(c->fd);
	c->fd = -1;
}

static void writer_line(struct client *c, const char *msg, size_t len)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	/* "P@TAG": the writer's own time of each line ("SEC.NSEC message"), for lines that
	 * waited in the socket before logd ran (init's first lines). */
	if (c->stamped) {
		char *end;
		unsigned long long sec = strtoull(msg, &end, 10);
		if (end < msg + len && *end == '.') {
			unsigned long nsec = strtoul(end + 1, &end, 10);
			if (end < msg + len && *end == ' ' && nsec < 1000000000UL) {
				now.tv_sec = (time_t)sec;
				now.tv_nsec = (long)nsec;
				len -= (size_t)(end + 1 - msg);
				msg = end + 1;
			}
		}
	}
	add_entry(&now, c->pid, c->prio, c->tag, msg, len);
	if (c->mirror) {
		char out[LOGD_LINE_MAX + 1];
		memcpy(out, msg, len);
		out[len] = '\n';
		if (write(STDOUT_FILENO, out, len + 1) < 0) {
			/* the console is gone: nothing to do about it */
		}
	}
}

/* The first line: who the client is. */
static void client_header(struct client *c, const char *line)
{
	static const char prios[] = "VDIWEF";
	struct ucred cred;
	socklen_t cred_len = sizeof(cred);

	if (strcmp(line, "dump") == 0 || strcmp(line, "follow") == 0) {
		c->kind = line[0] == 'd' ? CLIENT_DUMP : CLIENT_FOLLOW;
		c->seq = first_seq;
		c->off = 0;
		c->end_seq = next_seq;
		return;
	}
	if (line[0] == '\0' || strchr(prios, line[0]) == NULL || strchr(" +@", line[1]) == NULL ||
	    line[2] == '\0') {
		client_close(c);
		return;
	}
	c->kind = CLIENT_WRITER;
	c->prio = line[0];
	c->mirror = line[1] == '+';
	c->stamped = line[1] == '@';
	snprintf(c->tag, sizeof(c->tag), "%s", line + 2);
	c->pid = getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) == 0 ? (int)cred.pid : 0;
}

/* Input from a new client or a writer: whole lines; a line too long is cut. */
static void client_read(struct client *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	size_t start = 0;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (c->kind == CLIENT_WRITER && c->len > 0)
			writer_line(c, c->buf, c->len);
		client_close(c);
		return;
	}
	if (c->kind != CLIENT_NEW && c->kind != CLIENT_WRITER)
		return; /* a reader says nothing after its first line */
	c->len += (size_t)n;
	for (size_t i = 0; i < c->len && c->fd >= 0; i++) {
		if (c->buf[i] != '\n')
			continue;
		if (c->kind == CLIENT_NEW) {
			c->buf[i] = '\0';
			client_header(c, c->buf + start);
		} else {
			writer_line(c, c->buf + start, i - start);
		}
		start = i + 1;
		if (c->kind != CLIENT_NEW && c->kind != CLIENT_WRITER)
			break; /* a reader: the rest is not ours to read */
	}
	if (c->fd < 0)
		return;
	if (start == 0 && c->len == sizeof(c->buf)) {
		if (c->kind == CLIENT_WRITER)
			writer_line(c, c->buf, c->len);
		else
			client_close(c); /* no header in 1 KiB */
		start = c->len;
	}
	if (c->fd >= 0) {
		memmove(c->buf, c->buf + start, c->len - start);
		c->len -= start;
	}
}

/* Sends readers what they have not had, as far as their socket takes it. */
static void reader_send(struct client *c)
{
	if (c->seq < first_seq) { /* it fell behind the ring: skip to what is held */
		c->seq = first_seq;
		c->off = 0;
	}
	while (c->seq < next_seq && (c->kind != CLIENT_DUMP || c->seq < c->end_seq)) {
		const char *line = ring[c->seq % LOGD_MAX_ENTRIES];
		size_t len = strlen(line);
		ssize_t n = c->is_tty ? write(c->fd, line + c->off, len - c->off)
				      : send(c->fd, line + c->off, len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			if (!c->is_tty)
				client_close(c);
			else
				c->seq = next_seq; /* the host is gone: drop, try again later */
			return;
		}
		c->off += (size_t)n;
		if (c->off == len) {
			c->seq++;
			c->off = 0;
		}
	}
	if (c->kind == CLIENT_DUMP && (c->seq >= c->end_seq || c->seq >= next_seq))
		client_close(c);
}

static bool reader_behind(const struct client *c)
{
	if (c->kind == CLIENT_DUMP)
		return true;
	return c->kind == CLIENT_FOLLOW && (c->seq < next_seq || c->seq < first_seq);
}

/* ---- The kernel log ------------------------------------------------------------ */

static void kmsg_read(int fd)
{
	char rec[LOGD_LINE_MAX + 128];

	for (int i = 0; i < 64; i++) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		struct timespec now_real, now_mono, when;
		unsigned long long usec;
		const char *text;
		size_t text_len;
		char prio;

		if (n < 0 && errno == EPIPE)
			continue; /* overwritten before we read it: go on with the next */
		if (n <= 0)
			return;
		rec[n] = '\0';
		if (logd_parse_kmsg(rec, (size_t)n, &prio, &usec, &text, &text_len) < 0)
			continue;
		/* The record's time is since boot: the wall clock at that moment. */
		clock_gettime(CLOCK_REALTIME, &now_real);
		clock_gettime(CLOCK_MONOTONIC, &now_mono);
		long long ago_ns = ((long long)now_mono.tv_sec * 1000000000LL + now_mono.tv_nsec) -
				   (long long)usec * 1000LL;
		long long at_ns = (long long)now_real.tv_sec * 1000000000LL + now_real.tv_nsec -
				  (ago_ns > 0 ? ago_ns : 0);
		when.tv_sec = (time_t)(at_ns / 1000000000LL);
		when.tv_nsec = (long)(at_ns % 1000000000LL);
		add_entry(&when, 0, prio, "kernel", text, text_len);
	}
}

/* ---- The service ------------------------------------------------------------------ */

static struct client *client_slot(void)
{
	for (int i = 0; i < LOGD_MAX_CLIENTS; i++)
		if (clients[i].fd < 0)
			return &clients[i];
	return NULL;
}

static void accept_clients(void)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct client *c;

		if (fd < 0)
			return;
		if ((c = client_slot()) == NULL) {
			close(fd); /* full: the caller sees its connection closed */
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->kind = CLIENT_NEW;
	}
}

static void open_hvc(struct client *c, const char *hvc)
{
	char path[64];
	struct termios t;

	c->fd = -1;
	if (hvc[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s%.48s", hvc[0] == '/' ? "" : "/dev/", hvc);
	c->fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (c->fd < 0) {
		dprintf(STDERR_FILENO, "logd: cannot open %s for logcat: %s\n", path, strerror(errno));
		return;
	}
	/* Raw: the host gets the lines as they are, "\n" not "\r\n". */
	if (tcgetattr(c->fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(c->fd, TCSANOW, &t);
	}
	c->kind = CLIENT_FOLLOW;
	c->is_tty = true;
	c->seq = first_seq;
}

int logd_service_run(const char *hvc)
{
	struct pollfd pfds[LOGD_MAX_CLIENTS + 3];
	struct client *polled[LOGD_MAX_CLIENTS + 3];
	struct client *stream = &clients[LOGD_MAX_CLIENTS];
	int kmsg;

	if (listen_fd < 0) {
		dprintf(STDERR_FILENO, "logd: no listening socket from init\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	for (int i = 0; i < LOGD_MAX_CLIENTS; i++)
		clients[i].fd = -1;
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg < 0)
		dprintf(STDERR_FILENO, "logd: cannot read /dev/kmsg: %s\n", strerror(errno));
	open_hvc(stream, hvc);
	for (;;) {
		nfds_t n = 0;

		pfds[n] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
		polled[n++] = NULL;
		if (kmsg >= 0) {
			pfds[n] = (struct pollfd){ .fd = kmsg, .events = POLLIN };
			polled[n++] = NULL;
		}
		for (int i = 0; i <= LOGD_MAX_CLIENTS; i++) {
			struct client *c = &clients[i];
			short events;
			if (c->fd < 0)
				continue;
			events = c->is_tty ? 0 : POLLIN;
			if (reader_behind(c))
				events |= POLLOUT;
			if (events == 0)
				continue;
			pfds[n] = (struct pollfd){ .fd = c->fd, .events = events };
			polled[n++] = c;
		}
		if (poll(pfds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			dprintf(STDERR_FILENO, "logd: poll: %s\n", strerror(errno));
			return 1;
		}
		for (nfds_t i = 0; i < n; i++) {
			struct client *c = polled[i];
			if (pfds[i].revents == 0)
				continue;
			if (pfds[i].fd == listen_fd && c == NULL)
				accept_clients();
			else if (c == NULL)
				kmsg_read(kmsg);
			else if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR))
				client_read(c);
		}
		/* Every reader gets what came in this round. */
		for (int i = 0; i <= LOGD_MAX_CLIENTS; i++)
			if (clients[i].fd >= 0 && reader_behind(&clients[i]))
				reader_send(&clients[i]);
	}
}
