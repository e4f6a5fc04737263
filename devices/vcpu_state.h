/* A vCPU's KVM state in a snapshot section: regs, sregs, FPU and XSAVE, XCRs, LAPIC, the
 * MSRs KVM reports, pending events, MP state and debug registers. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "devices/vm.h"

struct snap_writer;
struct snap_reader;

/* The vCPU must be out of KVM_RUN, with any pending I/O completed. */
bool vcpu_save_state(struct vcpu *v, struct snap_writer *w, GError **error);
/* Into a vCPU just created (CPUID set), before its thread starts. */
bool vcpu_load_state(struct vcpu *v, struct snap_reader *r, GError **error);
