/* launcher/monitor_boot.h — start one boot of a monitor's instance (launcher/monitor_boot.c). */
#ifndef SEPIA_LAUNCHER_MONITOR_BOOT_H
#define SEPIA_LAUNCHER_MONITOR_BOOT_H

#include "launcher/monitor.h"

/* Runs the bootloader step on m's overlay, records the slot and its verified boot state in m,
 * chooses the boot snapshot (m->restored_from), and starts sepia-vmm as m->vmm with events
 * (opaque m). False with error when any of it failed; m->vmm is then NULL. */
bool monitor_boot_start(Monitor *m, const VmmChildEvents *events, GError **error);

#endif
