/* launcher/adb_connector.h — tells the local adb server about a device, as Cuttlefish's
 * adb_connector does: `host:connect:127.0.0.1:6520` through the server's smart-socket protocol
 * (a 4-hex-digit length, the request; the answer "OKAY" or "FAIL", then a 4-hex-digit length and
 * a message) on 127.0.0.1:$ANDROID_ADB_SERVER_PORT (default 5037). */
#pragma once

#include <glib.h>
#include <stdbool.h>

/* Sends "host:<what>:<serial>" (what: connect or disconnect). Returns false with an error when
 * no adb server runs (G_IO_ERROR-like code ECONNREFUSED) or it refuses; *message (optional)
 * gets the server's message. */
bool adb_server_host_request(const char *what, const char *serial, char **message, GError **error);
