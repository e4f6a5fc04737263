/* sepia adbd: the file sync service (adb push/pull/ls), run in a child
 * process over one socket: blocking reads and writes keep it plain. */
#pragma once

#include <stdbool.h>

/* Serves sync requests on fd until QUIT, end of file or a protocol error;
 * returns the child's exit status. verbose: a line per request on stderr. */
int sync_service_run(int fd, bool verbose);
