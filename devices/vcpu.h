#pragma once

#include <glib.h>
#include <stdbool.h>

#include "devices/vm.h"

bool vcpu_create(struct vm *vm, unsigned int index, GError **error);
void vcpu_start(struct vcpu *v);
/* Interrupts KVM_RUN and joins the thread. */
void vcpu_stop(struct vcpu *v);
/* Takes the vCPU out of KVM_RUN with any pending I/O completed and joins its thread;
 * vcpu_start() runs it again. */
void vcpu_pause(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
