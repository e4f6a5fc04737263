/* MC146818 CMOS clock at ports 0x70/0x71, read-only: the guest reads the host's UTC
 * time in BCD, never sees an update in progress, and its writes are ignored. */
#pragma once

#include <glib.h>
#include <stdbool.h>

struct vm_host;
bool rtc_register(struct vm_host *host, GError **error);
