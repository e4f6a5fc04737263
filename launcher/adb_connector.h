/* launcher/adb_connector.h — tells the local adb server about a device, as Cuttlefish's
 * adb_connector does: `host:connect:127.0.0.1:6520` through the server's smart-socket protocol
 * (a 4-hex-digit length, the request; the answer "OKAY" or "FAIL", then a 4-hex-digit length and
 * a message) on 127.0.0.1:$ANDROID_ADB_SERVER_PORT (default 5037). When no server answers, it
 * runs the adb client's `adb connect SERIAL`, which starts a server (in a session of its own,
 * so it outlives the device) and connects it, as `adb connect` does for a Cuttlefish user. */
#pragma once

#include <glib.h>
#include <stdbool.h>

/* Sends "host:<what>:<serial>" (what: connect or disconnect). Returns false with an error when
 * no adb server runs (G_IO_ERROR-like code ECONNREFUSED) or it refuses; *message (optional)
 * gets the server's message. */
bool adb_server_host_request(const char *what, const char *serial, char **message, GError **error);

typedef struct AdbConnector AdbConnector;
/* Called once: connected says whether the server now lists the device. */
typedef void (*AdbConnectorDone)(void *opaque, bool connected);

/* Starts connecting the server to serial (host:port; host an IPv4 address, 127.0.0.1 for a
 * proxy on loopback or on every address) in the main loop: it waits until the
 * port accepts connections, starts a server with `adb connect` when none answers, and retries
 * while the server cannot reach the device yet (about 10 s in all). Each step is logged under
 * instance's name. done may be NULL. */
AdbConnector *adb_connector_start(const char *instance, const char *host, guint port, AdbConnectorDone done,
				  void *opaque);
/* Whether the server was told about the device. */
bool adb_connector_connected(const AdbConnector *a);
/* Stops trying, tells the server to forget the device when it was told about it, frees a. */
void adb_connector_stop(AdbConnector *a);
