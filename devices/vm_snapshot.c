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
		vcpu_start(&vm->vcpu[i]);
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
static bool vm_write_memory(struct vm *vm, const char *path, GError **error)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot create %s: %s", path, g_strerror(errno));
		return false;
	}
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
	close(fd);
	return ok;
}

/* A reflink (FICLONE) where the file system shares extents, else a copy in the kernel. */
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
	bool ok = true;
	if (ioctl(out, FICLONE, in) < 0) {
		struct stat st;
		ok = fstat(in, &st) == 0;
		off_t left = ok ? st.st_size : 0;
		while (ok && left > 0) {
			ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)MIN(left, (off_t)1 << 30),
						    0);
			if (n < 0 && errno == EINTR)
				continue;
			ok = n > 0;
			left -= n > 0 ? n : 0;
		}
		if (!ok)
			g_set_error(error, SEPIA_ERROR, errno ? errno : EIO, "cannot copy %s to %s: %s", from,
				    tmp, g_strerror(errno ? errno : EIO));
	}
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

static bool write_file_atomically(const char *path, GBytes *bytes, GError **error)
{
	g_autofree char *tmp = g_strdup_printf("%s.tmp", path);
	gsize len;
	const void *data = g_bytes_get_data(bytes, &len);
	if (!g_file_set_contents(tmp, data, (gssize)len, error))
		return false;
	if (rename(tmp, path) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot rename %s to %s: %s", tmp, path,
			    g_strerror(errno));
		unlink(tmp);
		return false;
	}
	return true;
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

static bool vm_save_disks(struct vm *vm, const char *dir, struct snap_writer *w, GError **error)
{
	snap_begin(w, "disks");
	snap_put_u32(w, vm->cfg->nr_disks);
	for (unsigned int i = 0; i < vm->cfg->nr_disks; i++) {
		const struct vm_disk_config *d = &vm->cfg->disk[i];
		snap_put_u8(w, d->readonly);
		if (d->readonly)
			continue;
		g_autofree char *name = g_strdup_printf("disk%u", i);
		g_autofree char *to = g_build_filename(dir, name, NULL);
		if (!vm_snapshot_copy_file(d->path, to, error)) {
			snap_end(w);
			return false;
		}
	}
	snap_end(w);
	return true;
}

bool vm_snapshot_take(struct vm *vm, const char *dir, GError **error)
{
	g_assert(vm->paused);
	gint64 t0 = g_get_monotonic_time();
	if (g_mkdir_with_parents(dir, 0700) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot make snapshot directory %s: %s", dir,
			    g_strerror(errno));
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
	g_autofree char *mem_path = g_build_filename(dir, SNAP_MEMORY_FILE, NULL);
	g_autofree char *mem_tmp = g_strdup_printf("%s.tmp", mem_path);
	ok = ok && vm_save_disks(vm, dir, &w, error) && vm_write_memory(vm, mem_tmp, error);
	if (ok && rename(mem_tmp, mem_path) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot rename %s: %s", mem_tmp, g_strerror(errno));
		ok = false;
	}
	if (ok) {
		g_autoptr(GBytes) bytes = snap_writer_finish(&w);
		g_autofree char *state = g_build_filename(dir, SNAP_STATE_FILE, NULL);
		ok = write_file_atomically(state, bytes, error);
	}
	snap_writer_clear(&w);
	if (!ok) {
		unlink(mem_tmp);
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
