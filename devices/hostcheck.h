/* Hosts whose KVM interprets guest kernel code in software (a nested hypervisor such as
 * kvm_pvm) need sepia-vmm's fallback emulator and a few kernel command-line flags; hosts
 * with hardware virtualisation never get either. */
#pragma once

#include <glib.h>
#include <stdbool.h>

enum vm_fallback_mode { FALLBACK_AUTO, FALLBACK_ON, FALLBACK_OFF };

/* Decides for mode AUTO by looking at the host; ON and OFF force the answer. */
bool hostcheck_interpreting(enum vm_fallback_mode mode);
/* Why the last hostcheck_interpreting() answered as it did, for the log. */
const char *hostcheck_reason(void);
/* Whether a kernel command line has the word key or key=value. */
bool kernel_cmdline_has(const char *cmdline, const char *key);
/* Appends the flags that keep a Linux guest off instructions the host cannot run. */
void hostcheck_append_cmdline(GString *cmdline);
