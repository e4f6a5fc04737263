/* Pause, resume, snapshot and restore of the whole machine. A snapshot directory holds:
 *   state.sepia  the state file (snapshot.h): identity, KVM's VM state (clock, irqchip, PIT),
 *                each vCPU, then each part of the machine that vm_host_add_state() listed
 *   memory.bin   guest RAM, the low region then the one above 4 GiB; zero pages are holes
 *   disk<N>      the writable disk N's image as it was (a reflink where the file system
 *                allows, else a copy): the RAM is only consistent with that disk
 * Each file is written beside its final name and renamed into place, so a VM running
 * from memory.bin (mapped MAP_PRIVATE) never sees it change under it. */
#include "devices/vm_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "devices/sandbox/sandbox.h"
#include "devices/snapshot.h"
#include "devices/vcpu.h"
#include "devices/vcpu_state.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define ZERO_CHUNK (64u << 10)

static bool vm_kvm(int fd, unsigned long req, void *arg, const char *what, GError **error)
{
	if (ioctl(fd, req, arg) >= 0)
		return true;
	g_set_error(error, SEPIA_ERROR, errno, "KVM: %s: %s", what, g_strerror(errno));
	return false;
}

char *vm_snapshot_machine(struct vm *vm)
{
	GString *m = g_string_new(NULL);
	g_string_append_printf(m, "cpus=%u mem_mib=%" G_GUINT64_FORMAT " parts=", vm->cfg->cpus,
			       vm->cfg->mem_mib);
	for (guint i = 0; i < vm->host.states->len; i++)
		g_string_append_printf(m, "%s%s", i ? "," : "",
				       g_array_index(vm->host.states, struct vm_state, i).name);
	return g_string_free(m, FALSE);
}

const char *vm_snapshot_version(void) { return PACKAGE_VERSION; }

/* ---- pause and resume ---- */

static uint64_t host_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Tells the guest its vCPUs were stopped (the pvclock's GUEST_STOPPED flag), so that its
 * soft-lockup watchdog does not take the time they stood still for a hung CPU. A guest that
 * has not set up kvmclock makes KVM refuse this (EINVAL): nothing to tell it then. */
static void vm_tell_guest_stopped(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg->cpus; i++)
		if (ioctl(vm->vcpu[i].fd, KVM_KVMCLOCK_CTRL, 0) < 0 && errno != EINVAL)
			g_message("vcpu%u: KVM_KVMCLOCK_CTRL: %s", i, g_strerror(errno));
}

void vm_pause(struct vm *vm)
{
	if (vm->paused)
		return;
	for (unsigned int i = 0; i < vm->cfg->cpus; i++)
		vcpu_pause(&vm->vcpu[i]);
	vm_host_park(&vm->host);
	vm->paused = true;
	g_message("vm: paused");
}

void vm_resume(struct vm *vm)
{
	if (!vm->paused)
		return;
	vm_host_unpark(&vm->host);
	vm->paused = false;
	vm_tell_guest_stopped(vm);
	for (unsigned int i = 0; i < vm->cfg->cpus; i++)
		vcpu_resume(&vm->vcpu[i]);
	g_message("vm: resumed");
}

/* ---- files ---- */

static bool write_all_at(int fd, const void *buf, size_t len, off_t off, const char *path, GError **error)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, MIN(len, (size_t)1 << 30), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error(error, SEPIA_ERROR, n < 0 ? errno : EIO, "cannot write %s: %s", path,
				    n < 0 ? g_strerror(errno) : "short write");
			return false;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return true;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	static const uint8_t zero[ZERO_CHUNK];
	return memcmp(p, zero, len) == 0;
}

/* Guest RAM as a sparse file: chunks of zeroes are left as holes. */
static bool vm_write_memory(struct vm *vm, int fd, const char *path, GError **error)
{
	off_t off = 0;
	bool ok = true;
	for (unsigned int i = 0; ok && i < vm->host.mem.nr_regions; i++) {
		const struct guest_mem_region *r = &vm->host.mem.region[i];
		for (uint64_t at = 0; ok && at < r->size; at += ZERO_CHUNK) {
			size_t n = (size_t)MIN((uint64_t)ZERO_CHUNK, r->size - at);
			const uint8_t *p = (const uint8_t *)r->host + at;
			if (!all_zero(p, n))
				ok = write_all_at(fd, p, n, off + (off_t)at, path, error);
		}
		off += (off_t)r->size;
	}
	if (ok && ftruncate(fd, off) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot size %s: %s", path, g_strerror(errno));
		ok = false;
	}
	return ok;
}

/* A reflink (FICLONE) of in where the file system shares extents, else a copy in the kernel
 * (at explicit offsets: the same descriptor is copied again for the next snapshot). */
static bool copy_into(int in, int out, const char *from, const char *to, GError **error)
{
	if (ioctl(out, FICLONE, in) == 0)
		return true;
	struct stat st;
	bool ok = fstat(in, &st) == 0;
	loff_t at = 0;
	while (ok && at < st.st_size) {
		loff_t in_off = at;
		ssize_t n = copy_file_range(in, &in_off, out, NULL,
					    (size_t)MIN(st.st_size - at, (off_t)1 << 30), 0);
		if (n < 0 && errno == EINTR)
			continue;
		ok = n > 0;
		at += n > 0 ? n : 0;
	}
	if (!ok)
		g_set_error(error, SEPIA_ERROR, errno ? errno : EIO, "cannot copy %s to %s: %s", from, to,
			    g_strerror(errno ? errno : EIO));
	return ok;
}

bool vm_snapshot_copy_file(const char *from, const char *to, GError **error)
{
	g_autofree char *tmp = g_strdup_printf("%s.tmp", to);
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot open %s: %s", from, g_strerror(errno));
		return false;
	}
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot create %s: %s", tmp, g_strerror(errno));
		close(in);
		return false;
	}
	bool ok = copy_into(in, out, from, tmp, error);
	close(in);
	if (close(out) < 0 && ok) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot write %s: %s", tmp, g_strerror(errno));
		ok = false;
	}
	if (ok && rename(tmp, to) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot rename %s to %s: %s", tmp, to,
			    g_strerror(errno));
		ok = false;
	}
	if (!ok)
		unlink(tmp);
	return ok;
}

/* Where a snapshot's files go. Outside the sandbox, the VMM makes dir and writes each file
 * beside its final name, renamed into place. A sandboxed VMM opens no path (its root is an
 * empty jail, its uid owns nothing): the monitor creates the files (state, memory, then each
 * writable disk in order), passes their descriptors with the command, and renames them
 * once the VMM answers. */
struct snap_out {
	const char *dir;
	int dirfd;      /* the VMM's own files: the directory, else -1 */
	const int *fds; /* the monitor's files, else NULL */
	unsigned int n_fds;
};

enum { SNAP_FD_STATE, SNAP_FD_MEMORY, SNAP_FD_DISKS };

/* The file at fd index (or name), empty, for writing; *path names it in errors. */
static int snap_out_open(const struct snap_out *o, unsigned int index, const char *name, char **path,
			 GError **error)
{
	*path = g_build_filename(o->dir, name, NULL);
	if (o->fds) {
		if (index >= o->n_fds) {
			g_set_error(error, SEPIA_ERROR, EINVAL,
				    "%s: no descriptor was passed for it (%u passed)", *path, o->n_fds);
			return -1;
		}
		if (ftruncate(o->fds[index], 0) < 0) {
			g_set_error(error, SEPIA_ERROR, errno, "cannot empty %s: %s", *path,
				    g_strerror(errno));
			return -1;
		}
		return o->fds[index];
	}
	g_autofree char *tmp = g_strdup_printf("%s.tmp", name);
	int fd = openat(o->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		g_set_error(error, SEPIA_ERROR, errno, "cannot create %s.tmp: %s", *path, g_strerror(errno));
	return fd;
}

/* The data on disk, then (the VMM's own file) the final name; a failed file is removed. */
static bool snap_out_close(const struct snap_out *o, int fd, const char *name, const char *path, bool ok,
			   GError **error)
{
	if (ok && fsync(fd) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot write %s: %s", path, g_strerror(errno));
		ok = false;
	}
	if (o->fds)
		return ok;
	if (close(fd) < 0 && ok) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot write %s: %s", path, g_strerror(errno));
		ok = false;
	}
	g_autofree char *tmp = g_strdup_printf("%s.tmp", name);
	if (ok && renameat(o->dirfd, tmp, o->dirfd, name) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot rename %s into place: %s", path,
			    g_strerror(errno));
		ok = false;
	}
	if (!ok)
		unlinkat(o->dirfd, tmp, 0);
	return ok;
}

static bool snap_out_bytes(const struct snap_out *o, unsigned int index, const char *name, GBytes *bytes,
			   GError **error)
{
	g_autofree char *path = NULL;
	int fd = snap_out_open(o, index, name, &path, error);
	if (fd < 0)
		return false;
	gsize len;
	const void *data = g_bytes_get_data(bytes, &len);
	return snap_out_close(o, fd, name, path, write_all_at(fd, data, len, 0, path, error), error);
}

static bool snap_out_memory(const struct snap_out *o, struct vm *vm, GError **error)
{
	g_autofree char *path = NULL;
	int fd = snap_out_open(o, SNAP_FD_MEMORY, SNAP_MEMORY_FILE, &path, error);
	if (fd < 0)
		return false;
	return snap_out_close(o, fd, SNAP_MEMORY_FILE, path, vm_write_memory(vm, fd, path, error), error);
}

bool vm_snapshot_open_disks(struct vm *vm, GError **error)
{
	if (!vm->cfg->api_socket)
		return true;
	for (unsigned int i = 0; i < vm->cfg->nr_disks; i++) {
		const struct vm_disk_config *d = &vm->cfg->disk[i];
		if (d->readonly)
			continue;
		vm->snapshot_disk_fd[i] = open(d->path, O_RDONLY | O_CLOEXEC);
		if (vm->snapshot_disk_fd[i] < 0) {
			g_set_error(error, SEPIA_ERROR, errno, "--disk %s: cannot open it for snapshots: %s",
				    d->path, g_strerror(errno));
			return false;
		}
	}
	return true;
}

void vm_snapshot_close_disks(struct vm *vm)
{
	for (unsigned int i = 0; i < VM_MAX_DISKS; i++) {
		if (vm->snapshot_disk_fd[i] >= 0)
			close(vm->snapshot_disk_fd[i]);
		vm->snapshot_disk_fd[i] = -1;
	}
}

/* ---- taking a snapshot ---- */

static bool vm_save_platform(struct vm *vm, struct snap_writer *w, GError **error)
{
	struct kvm_clock_data clock = { 0 };
	struct kvm_pit_state2 pit;
	struct kvm_irqchip chips[3] = { { .chip_id = KVM_IRQCHIP_PIC_MASTER },
					{ .chip_id = KVM_IRQCHIP_PIC_SLAVE },
					{ .chip_id = KVM_IRQCHIP_IOAPIC } };
	if (!vm_kvm(vm->vm_fd, KVM_GET_CLOCK, &clock, "KVM_GET_CLOCK", error))
		return false;
	/* The host's wall clock at that instant (KVM's own reading where it gives one), so that
	 * a restore moves the guest's clocks on by the time in between. */
	uint64_t realtime = (clock.flags & KVM_CLOCK_REALTIME) ? clock.realtime : host_realtime_ns();
	if (!vm_kvm(vm->vm_fd, KVM_GET_PIT2, &pit, "KVM_GET_PIT2", error))
		return false;
	for (unsigned int i = 0; i < 3; i++)
		if (!vm_kvm(vm->vm_fd, KVM_GET_IRQCHIP, &chips[i], "KVM_GET_IRQCHIP", error))
			return false;
	snap_begin(w, "vm");
	snap_put_u32(w, vm->host.mem.nr_regions);
	for (unsigned int i = 0; i < vm->host.mem.nr_regions; i++) {
		snap_put_u64(w, vm->host.mem.region[i].gpa);
		snap_put_u64(w, vm->host.mem.region[i].size);
	}
	snap_put_u64(w, clock.clock);
	snap_put_u64(w, realtime);
	snap_put_blob(w, &pit, sizeof(pit));
	for (unsigned int i = 0; i < 3; i++)
		snap_put_blob(w, &chips[i], sizeof(chips[i]));
	snap_end(w);
	return true;
}

static bool vm_save_disks(struct vm *vm, const struct snap_out *o, struct snap_writer *w, GError **error)
{
	snap_begin(w, "disks");
	snap_put_u32(w, vm->cfg->nr_disks);
	bool ok = true;
	unsigned int writable = 0;
	for (unsigned int i = 0; ok && i < vm->cfg->nr_disks; i++) {
		const struct vm_disk_config *d = &vm->cfg->disk[i];
		snap_put_u8(w, d->readonly);
		if (d->readonly)
			continue;
		g_autofree char *name = g_strdup_printf("disk%u", i);
		g_autofree char *path = NULL;
		if (vm->snapshot_disk_fd[i] < 0) {
			g_set_error(error, SEPIA_ERROR, EBADF, "--disk %s was not opened for snapshots",
				    d->path);
			ok = false;
			break;
		}
		int fd = snap_out_open(o, SNAP_FD_DISKS + writable++, name, &path, error);
		ok = fd >= 0 &&
		     snap_out_close(o, fd, name, path,
				    copy_into(vm->snapshot_disk_fd[i], fd, d->path, path, error), error);
	}
	snap_end(w);
	if (ok && o->fds && o->n_fds != SNAP_FD_DISKS + writable) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "%u descriptors were passed; the snapshot writes %u (state, memory and %u disks)",
			    o->n_fds, SNAP_FD_DISKS + writable, writable);
		ok = false;
	}
	return ok;
}

/* The snapshot directory, made if missing: only outside the sandbox, where paths open. */
static int open_snapshot_dir(const char *dir, GError **error)
{
	int fd = -1;
	if (g_mkdir_with_parents(dir, 0700) < 0 || (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		g_set_error(error, SEPIA_ERROR, errno, "cannot open snapshot directory %s: %s", dir,
			    g_strerror(errno));
	return fd;
}

bool vm_snapshot_take(struct vm *vm, const char *dir, const int *fds, unsigned int n_fds, GError **error)
{
	g_assert(vm->paused);
	gint64 t0 = g_get_monotonic_time();
	struct snap_out o = { .dir = dir, .dirfd = -1, .fds = n_fds ? fds : NULL, .n_fds = n_fds };
	if (!o.fds && sandbox_restricts()) {
		/* Not even tried: a path call would stop the VMM (seccomp) or find nothing (jail). */
		g_set_error(error, SEPIA_ERROR, EPERM,
			    "snapshot to %s: sepia-vmm runs in the sandbox, where it opens no path: pass "
			    "the snapshot's files as descriptors with the command (state.sepia, "
			    "memory.bin, then disk<N> of each writable disk; see devices/vm_api.h), as "
			    "run_cvd does, or run sepia-vmm with --sandbox off",
			    dir);
		return false;
	}
	if (!o.fds && (o.dirfd = open_snapshot_dir(dir, error)) < 0) {
		g_prefix_error(error, "snapshot to %s: ", dir);
		return false;
	}
	struct snap_writer w;
	snap_writer_init(&w);
	g_autofree char *machine = vm_snapshot_machine(vm);
	snap_put_string_section(&w, "sepia-version", vm_snapshot_version());
	snap_put_string_section(&w, "machine", machine);
	bool ok = vm_save_platform(vm, &w, error);
	for (unsigned int i = 0; ok && i < vm->cfg->cpus; i++) {
		g_autofree char *name = g_strdup_printf("vcpu%u", i);
		snap_begin(&w, name);
		ok = vcpu_save_state(&vm->vcpu[i], &w, error);
		snap_end(&w);
	}
	/* The devices first: they refuse (virgl, no hook) before anything is written, and blk
	 * flushes its backend before the disk is copied. */
	for (guint i = 0; ok && i < vm->host.states->len; i++) {
		struct vm_state *st = &g_array_index(vm->host.states, struct vm_state, i);
		snap_begin(&w, st->name);
		ok = st->save(st->opaque, &w, error);
		snap_end(&w);
	}
	ok = ok && vm_save_disks(vm, &o, &w, error) && snap_out_memory(&o, vm, error);
	if (ok) {
		/* The state file last: a directory holding one holds a whole snapshot. */
		g_autoptr(GBytes) bytes = snap_writer_finish(&w);
		ok = snap_out_bytes(&o, SNAP_FD_STATE, SNAP_STATE_FILE, bytes, error);
	}
	snap_writer_clear(&w);
	if (o.dirfd >= 0) {
		if (ok && fsync(o.dirfd) < 0) {
			g_set_error(error, SEPIA_ERROR, errno, "cannot write the directory: %s",
				    g_strerror(errno));
			ok = false;
		}
		close(o.dirfd);
	}
	if (!ok) {
		g_prefix_error(error, "snapshot to %s: ", dir);
		return false;
	}
	g_message("vm: snapshot taken in %s (%.1f ms)", dir, (g_get_monotonic_time() - t0) / 1000.0);
	return true;
}

/* ---- restoring ---- */

void *vm_snapshot_map_ram(struct vm *vm, uint64_t offset, uint64_t size, GError **error)
{
	g_autofree char *path = g_build_filename(vm->cfg->restore_dir, SNAP_MEMORY_FILE, NULL);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "snapshot: cannot open %s: %s", path,
			    g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if ((uint64_t)st.st_size != vm->cfg->mem_mib << 20) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "snapshot: %s holds %" G_GUINT64_FORMAT
			    " bytes of RAM; this VM has %" G_GUINT64_FORMAT
			    " MiB: restore with the --mem it was taken with",
			    path, (uint64_t)st.st_size, vm->cfg->mem_mib);
		close(fd);
		return NULL;
	}
	/* Private: the guest's writes stay in this process; pages load on first touch, and
	 * every VM restored from this file shares the pages none of them wrote. */
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, (off_t)offset);
	int err = errno;
	close(fd);
	if (p == MAP_FAILED) {
		g_set_error(error, SEPIA_ERROR, err, "snapshot: cannot map %s: %s", path, g_strerror(err));
		return NULL;
	}
	return p;
}

bool vm_snapshot_restore_disks(struct vm *vm, GError **error)
{
	for (unsigned int i = 0; i < vm->cfg->nr_disks; i++) {
		const struct vm_disk_config *d = &vm->cfg->disk[i];
		if (d->readonly)
			continue;
		g_autofree char *name = g_strdup_printf("disk%u", i);
		g_autofree char *from = g_build_filename(vm->cfg->restore_dir, name, NULL);
		if (!g_file_test(from, G_FILE_TEST_IS_REGULAR)) {
			g_set_error(error, SEPIA_ERROR, ENOENT,
				    "snapshot %s has no image of writable disk %u (%s): it was taken with "
				    "that disk read-only or absent",
				    vm->cfg->restore_dir, i, d->path);
			return false;
		}
		if (!vm_snapshot_copy_file(from, d->path, error))
			return false;
	}
	return true;
}

static bool vm_load_platform(struct vm *vm, const struct snap_file *f, GError **error)
{
	const struct snap_section *s = snap_file_find(f, "vm");
	if (!s) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "snapshot: no 'vm' section");
		return false;
	}
	struct snap_reader r;
	snap_reader_init(&r, s);
	if (snap_get_u32(&r) != vm->host.mem.nr_regions)
		snap_reader_fail(&r);
	for (unsigned int i = 0; i < vm->host.mem.nr_regions; i++)
		if (snap_get_u64(&r) != vm->host.mem.region[i].gpa ||
		    snap_get_u64(&r) != vm->host.mem.region[i].size)
			snap_reader_fail(&r);
	struct kvm_clock_data clock = { .clock = snap_get_u64(&r) };
	uint64_t realtime = snap_get_u64(&r), now = host_realtime_ns();
	struct kvm_pit_state2 pit;
	struct kvm_irqchip chips[3];
	snap_get_blob(&r, &pit, sizeof(pit));
	for (unsigned int i = 0; i < 3; i++) {
		snap_get_blob(&r, &chips[i], sizeof(chips[i]));
		if (chips[i].chip_id != i)
			snap_reader_fail(&r);
	}
	if (!snap_reader_done(&r, error))
		return false;
	/* The guest's clocks go on from the host's time now, not from the snapshot's: kvmclock
	 * here, each vCPU's TSC in vcpu_load_state. A host clock set back skips nothing. */
	vm->restore_gap_ns = now > realtime ? now - realtime : 0;
	clock.clock += vm->restore_gap_ns;
	for (unsigned int i = 0; i < 3; i++)
		if (!vm_kvm(vm->vm_fd, KVM_SET_IRQCHIP, &chips[i], "KVM_SET_IRQCHIP", error))
			return false;
	return vm_kvm(vm->vm_fd, KVM_SET_PIT2, &pit, "KVM_SET_PIT2", error) &&
	       vm_kvm(vm->vm_fd, KVM_SET_CLOCK, &clock, "KVM_SET_CLOCK", error);
}

static bool vm_load_section(const struct snap_file *f, const char *name, vm_state_load_fn load, void *opaque,
			    GError **error)
{
	const struct snap_section *s = snap_file_find(f, name);
	if (!s) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "snapshot: no state for %s", name);
		return false;
	}
	struct snap_reader r;
	snap_reader_init(&r, s);
	if (!load(opaque, &r, error))
		return false;
	return snap_reader_done(&r, error);
}

static bool vm_load_vcpu(void *opaque, struct snap_reader *r, GError **error)
{
	return vcpu_load_state(opaque, r, error);
}

bool vm_snapshot_precheck(const char *dir, GError **error)
{
	g_autofree char *path = g_build_filename(dir, SNAP_STATE_FILE, NULL);
	g_autofree char *data = NULL;
	gsize len;
	if (!g_file_get_contents(path, &data, &len, error))
		return false;
	g_autoptr(GBytes) bytes = g_bytes_new_take(g_steal_pointer(&data), len);
	g_autoptr(snap_file) f = snap_file_parse(bytes, path, error);
	return f != NULL;
}

struct snap_file *vm_snapshot_open(const char *dir, const char *version, const char *machine, GError **error)
{
	g_autofree char *path = g_build_filename(dir, SNAP_STATE_FILE, NULL);
	g_autofree char *data = NULL;
	gsize len;
	if (!g_file_get_contents(path, &data, &len, error))
		return NULL;
	g_autoptr(GBytes) bytes = g_bytes_new_take(g_steal_pointer(&data), len);
	g_autoptr(snap_file) f = snap_file_parse(bytes, path, error);
	if (!f || !snap_file_check_identity(f, path, version, machine, error))
		return NULL;
	return g_steal_pointer(&f);
}

bool vm_snapshot_restore(struct vm *vm, GError **error)
{
	g_autofree char *machine = vm_snapshot_machine(vm);
	g_autoptr(snap_file)
		f = vm_snapshot_open(vm->cfg->restore_dir, vm_snapshot_version(), machine, error);
	if (!f || !vm_load_platform(vm, f, error))
		return false;
	for (unsigned int i = 0; i < vm->cfg->cpus; i++) {
		g_autofree char *name = g_strdup_printf("vcpu%u", i);
		if (!vm_load_section(f, name, vm_load_vcpu, &vm->vcpu[i], error))
			return false;
	}
	vm_tell_guest_stopped(vm);
	g_message("vm: restored; the guest's clocks skip the %.3f s since the snapshot",
		  vm->restore_gap_ns / 1e9);
	for (guint i = 0; i < vm->host.states->len; i++) {
		struct vm_state *st = &g_array_index(vm->host.states, struct vm_state, i);
		if (!vm_load_section(f, st->name, st->load, st->opaque, error))
			return false;
	}
	return true;
}
