#pragma once

#include <glib.h>
#include <stdbool.h>

#include "devices/vm.h"

bool vcpu_create(struct vm *vm, unsigned int index, GError **error);
void vcpu_start(struct vcpu *v);
/* Interrupts KVM_RUN and joins the thread. */
void vcpu_stop(struct vcpu *v);
/* Takes the vCPU out of KVM_RUN with any pending I/O completed; its thread stays, parked,
 * until vcpu_resume() (so a sandboxed VMM never starts a thread after its lock-down). */
void vcpu_pause(struct vcpu *v);
void vcpu_resume(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
