/* launcher/control.h — the control protocol's transport (proto/control.proto): one request and
 * one response per connection on the monitor's unix socket, each message framed by a 4-byte
 * big-endian length. Used by run_cvd (server) and launch_cvd, stop_cvd, cvd_status (clients). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "proto/control.pb-c.h"

#define CONTROL_MAX_MESSAGE 65536u

typedef Sepia__Control__Request ControlRequest;
typedef Sepia__Control__Response ControlResponse;
typedef Sepia__Control__InstanceStatus ControlStatus;

/* Writes one framed message; false with an error naming `peer`. */
bool control_send(int fd, const ProtobufCMessage *msg, const char *peer, GError **error);
/* The framed message (length prefix and bytes); NULL with an error naming `peer` when too large. */
GBytes *control_frame(const ProtobufCMessage *msg, const char *peer, GError **error);
/* How much of buf is the first whole framed message: its length with the prefix, 0 when more
 * bytes are needed, -1 (error naming `peer`) when it announces more than CONTROL_MAX_MESSAGE. */
gssize control_frame_complete(const guint8 *buf, gsize len, const char *peer, GError **error);
/* Reads one framed message within timeout_ms (-1: no limit). */
GBytes *control_recv(int fd, int timeout_ms, const char *peer, GError **error);

/* Binds and listens on path (a stale socket file there is replaced); the socket file gets
 * LAUNCHER_SOCKET_MODE (launcher/file_modes.h). */
int control_listen(const char *path, GError **error);

/* Connects to the monitor at socket_path, sends the command and waits up to timeout_ms for the
 * answer. No monitor there (no socket file, or nobody listening) is the error LAUNCHER_ERROR /
 * ECONNREFUSED; no answer in time is ETIMEDOUT. A refusal (!ok) is returned as the response. */
ControlResponse *control_call(const char *socket_path, Sepia__Control__Request__Command command,
			      guint32 guest_timeout_s, int timeout_ms, GError **error);
/* The same with a whole request (commands with arguments: SNAPSHOT_TAKE's snapshot_path). */
ControlResponse *control_call_request(const char *socket_path, const ControlRequest *req, int timeout_ms,
				      GError **error);
void control_response_free(ControlResponse *resp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ControlResponse, control_response_free)

/* Who is at the other end of the unix socket fd (SO_PEERCRED), and whether it may control an
 * instance owned by uid `owner`: only that uid and root may. A refusal is LAUNCHER_ERROR / EACCES
 * naming the client's pid and uid. */
bool control_peer_check(int fd, uid_t owner, pid_t *peer_pid, uid_t *peer_uid, GError **error);

const char *control_state_name(Sepia__Control__State state); /* "Running", "Booting", ... */
/* Appends the status as one JSON object (cvd_status --print), indented by `indent` spaces. */
void control_status_to_json(GString *out, const ControlStatus *st, int indent);
