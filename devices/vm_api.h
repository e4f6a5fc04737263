/* sepia-vmm's own control socket (--api-socket PATH): a unix stream socket that takes one
 * command per line and answers each with one line, "ok ..." or "error <why>":
 *
 *   status          ->  ok running | ok paused
 *   pause           ->  ok paused      (vCPUs out of KVM_RUN, device threads parked)
 *   resume          ->  ok running
 *   snapshot DIR    ->  ok snapshot DIR   (pauses for it; resumes unless it was paused)
 *
 * A client may send descriptors (SCM_RIGHTS) with a command's bytes: for `snapshot DIR` they
 * are the files to write (the state file, the memory file, then each writable disk's, all
 * empty and writable; DIR then only names them). That is how a sandboxed VMM, which opens no
 * path, writes a snapshot: its monitor creates the files, passes them, and names them after
 * the answer.
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
/* The same, with the descriptors the client passed; the caller keeps them. */
char *vm_api_command_fds(struct vm *vm, const char *line, const int *fds, unsigned int n_fds);
/* The listening socket: the sandbox lets the main thread accept on it and nothing else. */
int vm_api_listen_fd(const struct vm_api *api);
