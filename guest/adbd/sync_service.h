/* sepia adbd: the file sync service (adb push/pull/ls), run in a child
 * process over one socket: blocking reads and writes keep it plain. */
#ifndef SEPIA_ADBD_SYNC_SERVICE_H
#define SEPIA_ADBD_SYNC_SERVICE_H

/* Serves sync requests on fd until QUIT, end of file or a protocol error;
 * returns the child's exit status. */
int sync_service_run(int fd);

#endif
