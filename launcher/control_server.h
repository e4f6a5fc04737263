/* launcher/control_server.h — the monitor's side of the control protocol (launcher/control.h),
 * served from the monitor's main loop without ever blocking it: each client's request is read as
 * it arrives (non-blocking, per-client state), so a client that connects and sends nothing, or
 * half a message, holds up neither other clients nor the monitor's other work (the guest
 * console's drain, the VMM's exit). A client gets CONTROL_SERVER_TIMEOUT_MS for its whole
 * request; at most CONTROL_SERVER_MAX_CLIENTS wait at a time. Only the owner's uid and root are
 * served (SO_PEERCRED); every refusal and drop is one log line. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "launcher/control.h"

#define CONTROL_SERVER_TIMEOUT_MS  2000u
#define CONTROL_SERVER_MAX_CLIENTS 32u

typedef struct ControlServer ControlServer;

/* A whole request from client_fd, which the handler now owns: it answers it
 * (control_server_answer) now or later. */
typedef void (*ControlRequestFn)(void *opaque, int client_fd, const ControlRequest *req);
typedef void (*ControlLogFn)(void *opaque, const char *message);

/* Serves listen_fd (non-blocking, listening) on the thread-default main context. */
ControlServer *control_server_new(int listen_fd, uid_t owner, guint timeout_ms, ControlRequestFn on_request,
				  ControlLogFn log, void *opaque);
void control_server_free(ControlServer *s);
/* Clients whose request is still being read. */
guint control_server_pending(const ControlServer *s);

/* Sends msg to client_fd without waiting (a control answer fits in the socket's buffer; a client
 * that leaves it full gets nothing) and closes client_fd. */
bool control_server_answer(int client_fd, const ProtobufCMessage *msg, GError **error);
