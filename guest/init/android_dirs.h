/* sepia guest init: the directories Android's init makes on /data that adb users rely on. */
#pragma once

/* Makes /data/local/tmp (shell:shell 0771, as Android's init.rc does), once /data is mounted.
 * Returns 0 or -errno of the first directory that could not be made. */
int android_dirs_make(void);
