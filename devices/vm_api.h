/* sepia-vmm's own control socket (--api-socket PATH): a unix stream socket that takes one
 * command per line and answers each with one line, "ok ..." or "error <why>":
 *
 *   status          ->  ok running | ok paused
 *   pause           ->  ok paused      (vCPUs out of KVM_RUN, device threads parked)
 *   resume          ->  ok running
 *   snapshot DIR    ->  ok snapshot DIR   (pauses for it; resumes unless it was paused)
 *
 * It is served on vm_run's thread, between its waits, one client at a time (a new client
 * replaces the old). Only the socket's owner may connect (mode 0600). */
#pragma once

#include <glib.h>
#include <poll.h>
#include <stdbool.h>

#include "devices/vm.h"

struct vm_api;

struct vm_api *vm_api_open(const char *path, GError **error);
void vm_api_close(struct vm_api *api);
/* Fills up to 2 pollfds (the listening socket and the client); returns how many. */
unsigned int vm_api_pollfds(struct vm_api *api, struct pollfd *fds);
/* Serves what poll() found on those fds. */
void vm_api_serve(struct vm_api *api, struct vm *vm, const struct pollfd *fds, unsigned int n);
/* One command line's answer (without the newline); for the socket and tests. */
char *vm_api_command(struct vm *vm, const char *line);
