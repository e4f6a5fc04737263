/* launcher/control.c — see control.h. */
#include "launcher/control.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "images/manifest.h"
#include "launcher/file_modes.h"
#include "launcher/instance.h"

static bool wait_fd(int fd, short events, gint64 deadline, const char *peer, GError **error)
{
	for (;;) {
		int ms = -1;
		if (deadline >= 0) {
			gint64 left = deadline - g_get_monotonic_time();
			if (left <= 0) {
				g_set_error(error, LAUNCHER_ERROR, ETIMEDOUT, "%s: no answer in time", peer);
				return false;
			}
			ms = (int)MIN(left / 1000 + 1, G_MAXINT);
		}
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, ms);
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR) {
			g_set_error(error, LAUNCHER_ERROR, errno, "%s: poll: %s", peer, g_strerror(errno));
			return false;
		}
	}
}

static bool io_all(int fd, void *buf, size_t len, bool write_mode, gint64 deadline, const char *peer,
		   GError **error)
{
	guint8 *p = buf;
	while (len) {
		if (!wait_fd(fd, write_mode ? POLLOUT : POLLIN, deadline, peer, error))
			return false;
		ssize_t n = write_mode ? send(fd, p, len, MSG_NOSIGNAL) : read(fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : ECONNRESET;
			g_set_error(error, LAUNCHER_ERROR, e, "%s: %s", peer,
				    n < 0 ? g_strerror(e) : "connection closed before a whole message");
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

GBytes *control_frame(const ProtobufCMessage *msg, const char *peer, GError **error)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	if (len > CONTROL_MAX_MESSAGE) {
		g_set_error(error, LAUNCHER_ERROR, EMSGSIZE, "%s: message of %zu bytes is too large", peer,
			    len);
		return NULL;
	}
	guint8 *buf = g_malloc(len + 4);
	buf[0] = (guint8)(len >> 24), buf[1] = (guint8)(len >> 16), buf[2] = (guint8)(len >> 8),
	buf[3] = (guint8)len;
	protobuf_c_message_pack(msg, buf + 4);
	return g_bytes_new_take(buf, len + 4);
}

gssize control_frame_complete(const guint8 *buf, gsize len, const char *peer, GError **error)
{
	if (len < 4)
		return 0;
	guint32 n = (guint32)buf[0] << 24 | (guint32)buf[1] << 16 | (guint32)buf[2] << 8 | buf[3];
	if (n > CONTROL_MAX_MESSAGE) {
		g_set_error(error, LAUNCHER_ERROR, EMSGSIZE,
			    "%s: message of %u bytes announced, at most %u allowed", peer, n,
			    CONTROL_MAX_MESSAGE);
		return -1;
	}
	return len - 4 >= n ? (gssize)n + 4 : 0;
}

bool control_send(int fd, const ProtobufCMessage *msg, const char *peer, GError **error)
{
	g_autoptr(GBytes) frame = control_frame(msg, peer, error);
	if (!frame)
		return false;
	gsize len;
	const void *data = g_bytes_get_data(frame, &len);
	return io_all(fd, (void *)data, len, true, g_get_monotonic_time() + 5 * G_USEC_PER_SEC, peer, error);
}

GBytes *control_recv(int fd, int timeout_ms, const char *peer, GError **error)
{
	gint64 deadline = timeout_ms < 0 ? -1 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	guint8 hdr[4];
	if (!io_all(fd, hdr, 4, false, deadline, peer, error))
		return NULL;
	guint32 len = (guint32)hdr[0] << 24 | (guint32)hdr[1] << 16 | (guint32)hdr[2] << 8 | hdr[3];
	if (len > CONTROL_MAX_MESSAGE) {
		g_set_error(error, LAUNCHER_ERROR, EMSGSIZE,
			    "%s: message of %u bytes announced, at most %u allowed", peer, len,
			    CONTROL_MAX_MESSAGE);
		return NULL;
	}
	guint8 *buf = g_malloc(len ? len : 1);
	if (!io_all(fd, buf, len, false, deadline, peer, error)) {
		g_free(buf);
		return NULL;
	}
	return g_bytes_new_take(buf, len);
}

static bool fill_address(struct sockaddr_un *sa, const char *path, GError **error)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		g_set_error(error, LAUNCHER_ERROR, ENAMETOOLONG,
			    "%s: socket path longer than %zu bytes; use a shorter $HOME", path,
			    sizeof(sa->sun_path) - 1);
		return false;
	}
	strcpy(sa->sun_path, path);
	return true;
}

int control_listen(const char *path, GError **error)
{
	struct sockaddr_un sa;
	if (!fill_address(&sa, path, error))
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "%s: socket: %s", path, g_strerror(errno));
		return -1;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, LAUNCHER_SOCKET_MODE) < 0 ||
	    listen(fd, 16) < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "%s: cannot listen: %s", path, g_strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

ControlResponse *control_call_request(const char *socket_path, const ControlRequest *req, int timeout_ms,
				      GError **error)
{
	struct sockaddr_un sa;
	if (!fill_address(&sa, socket_path, error))
		return NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "%s: socket: %s", socket_path, g_strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno == ENOENT ? ECONNREFUSED : errno;
		g_set_error(error, LAUNCHER_ERROR, e, "%s: no monitor answers: %s", socket_path,
			    g_strerror(errno));
		close(fd);
		return NULL;
	}
	g_autoptr(GBytes) answer = NULL;
	if (control_send(fd, &req->base, socket_path, error))
		answer = control_recv(fd, timeout_ms, socket_path, error);
	close(fd);
	if (!answer)
		return NULL;
	gsize len;
	const guint8 *data = g_bytes_get_data(answer, &len);
	ControlResponse *resp = sepia__control__response__unpack(NULL, len, data);
	if (!resp)
		g_set_error(error, LAUNCHER_ERROR, EPROTO,
			    "%s: the monitor's answer is not a control Response", socket_path);
	return resp;
}

ControlResponse *control_call(const char *socket_path, Sepia__Control__Request__Command command,
			      guint32 guest_timeout_s, int timeout_ms, GError **error)
{
	ControlRequest req = SEPIA__CONTROL__REQUEST__INIT;
	req.command = command;
	req.guest_timeout_s = guest_timeout_s;
	return control_call_request(socket_path, &req, timeout_ms, error);
}

void control_response_free(ControlResponse *resp)
{
	if (resp)
		sepia__control__response__free_unpacked(resp, NULL);
}

bool control_peer_check(int fd, uid_t owner, pid_t *peer_pid, uid_t *peer_uid, GError **error)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred)) {
		g_set_error(error, LAUNCHER_ERROR, errno,
			    "control client: cannot tell who it is (SO_PEERCRED): %s", g_strerror(errno));
		return false;
	}
	if (peer_pid)
		*peer_pid = cred.pid;
	if (peer_uid)
		*peer_uid = cred.uid;
	if (cred.uid != owner && cred.uid != 0) {
		g_set_error(error, LAUNCHER_ERROR, EACCES,
			    "control client pid %d (uid %u) refused: only uid %u (the instance's owner) and "
			    "root may control it",
			    (int)cred.pid, (unsigned)cred.uid, (unsigned)owner);
		return false;
	}
	return true;
}

const char *control_state_name(Sepia__Control__State state)
{
	switch (state) {
	case SEPIA__CONTROL__STATE__BOOTING:
		return "Booting";
	case SEPIA__CONTROL__STATE__RUNNING:
		return "Running";
	case SEPIA__CONTROL__STATE__FAILED:
		return "Failed";
	case SEPIA__CONTROL__STATE__STOPPING:
		return "Stopping";
	case SEPIA__CONTROL__STATE__SUSPENDED:
		return "Suspended";
	default:
		return "Unknown";
	}
}

static void json_str(GString *o, const char *pad, const char *key, const char *val)
{
	g_string_append_printf(o, "%s  \"%s\": ", pad, key);
	manifest_json_string(o, val ? val : "");
	g_string_append(o, ",\n");
}

void control_status_to_json(GString *o, const ControlStatus *st, int indent)
{
	g_autofree char *pad = g_strnfill((gsize)indent, ' ');
	g_string_append_printf(o, "%s{\n", pad);
	json_str(o, pad, "instance_name", st->instance_name);
	json_str(o, pad, "instance_dir", st->instance_dir);
	json_str(o, pad, "assembly_dir", st->assembly_dir);
	json_str(o, pad, "adb_serial", st->adb_serial);
	json_str(o, pad, "serial_number", st->serial_number);
	json_str(o, pad, "status", control_state_name(st->state));
	g_string_append_printf(o, "%s  \"pid\": %d,\n%s  \"vmm_pid\": %d,\n", pad, st->pid, pad, st->vmm_pid);
	g_string_append_printf(o, "%s  \"cpus\": %u,\n%s  \"memory_mb\": %u,\n", pad, st->cpus, pad,
			       st->memory_mb);
	g_string_append_printf(o, "%s  \"uptime_s\": %" G_GUINT64_FORMAT ",\n", pad, (guint64)st->uptime_s);
	g_string_append_printf(o, "%s  \"vsock_cid\": %u,\n%s  \"boots\": %u,\n", pad, st->vsock_cid, pad,
			       st->boots);
	json_str(o, pad, "boot_slot", st->boot_slot);
	json_str(o, pad, "verified_boot_state", st->verified_boot_state);
	json_str(o, pad, "restored_from", st->restored_from);
	g_string_append_printf(o, "%s  \"failure\": ", pad);
	manifest_json_string(o, st->failure ? st->failure : "");
	g_string_append_printf(o, "\n%s}", pad);
}
