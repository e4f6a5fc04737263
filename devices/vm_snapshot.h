/* Pause, resume, snapshot and restore of the machine (see vm_snapshot.c for the snapshot
 * directory's files). Only the machine's core (vm.c, vm_api.c, main.c) includes this. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/vm.h"

struct snap_file;

/* vCPUs out of KVM_RUN, then the device threads parked; idempotent. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
/* Writes a snapshot of the paused VM. Without descriptors, into dir, made if missing (files
 * there replaced; not in the sandbox, where no path opens). With n_fds descriptors (from the
 * monitor), into those: the state file, the memory file, then each writable disk's, in
 * order; dir names them, and the monitor gives them their names. */
bool vm_snapshot_take(struct vm *vm, const char *dir, const int *fds, unsigned int n_fds, GError **error);
/* With an API socket, each writable disk opened read-only for later snapshots (at the end
 * of vm_build, after a restore put the disks back); closed by vm_destroy. */
bool vm_snapshot_open_disks(struct vm *vm, GError **error);
void vm_snapshot_close_disks(struct vm *vm);

/* The identity a snapshot must match: this sepia's version and the machine's shape (vCPUs,
 * RAM, and every part listed with vm_host_add_state, in order). */
const char *vm_snapshot_version(void);
char *vm_snapshot_machine(struct vm *vm);
/* Reads dir's state file and checks its format and checksum only: done before a restore
 * touches anything (the disks), so a corrupt snapshot changes nothing. */
bool vm_snapshot_precheck(const char *dir, GError **error);
/* Reads and checks dir's state file against version and machine. */
struct snap_file *vm_snapshot_open(const char *dir, const char *version, const char *machine, GError **error);

/* For vm_build() with cfg->restore_dir: guest RAM mapped privately from the snapshot (size
 * bytes at offset), the writable disks put back before the devices open them, and the
 * state loaded once every device and vCPU exists. */
void *vm_snapshot_map_ram(struct vm *vm, uint64_t offset, uint64_t size, GError **error);
bool vm_snapshot_restore_disks(struct vm *vm, GError **error);
bool vm_snapshot_restore(struct vm *vm, GError **error);
/* A reflink of from at to where the file system allows, else a copy (through to.tmp). */
bool vm_snapshot_copy_file(const char *from, const char *to, GError **error);
