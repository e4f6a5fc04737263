/* Resource caps for the built machine: host memory beyond what it holds now, open files and
 * threads. Each is measured from /proc/self (so before the pivot) plus what the devices may
 * legitimately add while the guest runs, and set as soft = hard limit, which the VMM cannot
 * raise again once it has no capabilities.
 *
 * Memory is RLIMIT_DATA, not RLIMIT_AS and not a cgroup. RLIMIT_AS counts address space
 * that holds nothing (glibc reserves 64 MiB per thread arena, llvmpipe reserves more), so a
 * bound on it is either loose or breaks Mesa. A cgroup v2 memory.max needs a cgroup of the
 * VMM's own to move into, which only whoever manages the host's cgroups can hand out (a
 * systemd unit's MemoryMax=, a delegated subtree); sepia-vmm does not create cgroups
 * behind the service manager's back. RLIMIT_DATA counts exactly the private writable
 * memory the VMM can grow (malloc, thread stacks, anonymous mappings; guest RAM is one
 * such mapping, made before the cap), so it bounds what a guest could make the VMM
 * allocate for it. */
#include "devices/sandbox/sandbox_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "common/error.h"

#define MIB (1024ull * 1024)
/* Beyond what the machine holds once built: malloc's working room, I/O request buffers. */
#define DATA_HEADROOM (256 * MIB)
/* What devices may hold for the guest, each bounded by its own rule: vsock buffers
 * (VSOCK_MAX_CONNS x VSOCK_BUF_ALLOC), 2D GPU resources (GPU_MAX_HOSTMEM), and for 3D,
 * llvmpipe's textures and compiled shaders. */
#define DATA_VSOCK  (256 * MIB)
#define DATA_GPU_2D (256 * MIB)
#define DATA_GPU_3D (1024 * MIB)
/* Files: the vsock device's connections (VSOCK_MAX_CONNS) and a margin. */
#define FILES_VSOCK  1024
#define FILES_MARGIN 64
/* Threads a library may still start (Mesa's queues), beyond the vCPUs and the I/O thread. */
#define THREADS_MARGIN 16

/* "VmData:    123456 kB" and "Threads:   3" from /proc/self/status. */
static bool read_status(uint64_t *data_kib, uint64_t *threads, GError **error)
{
	g_autofree char *text = NULL;
	if (!g_file_get_contents("/proc/self/status", &text, NULL, error)) {
		g_prefix_error(error, "sandbox: resource caps: ");
		return false;
	}
	*data_kib = *threads = 0;
	for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		unsigned long long v;
		if (sscanf(line, "VmData: %llu kB", &v) == 1)
			*data_kib = v;
		else if (sscanf(line, "Threads: %llu", &v) == 1)
			*threads = v;
	}
	if (!*data_kib || !*threads) {
		g_set_error(error, SEPIA_ERROR, EIO,
			    "sandbox: resource caps: no VmData or Threads in /proc/self/status");
		return false;
	}
	return true;
}

static uint64_t highest_open_fd(void)
{
	g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
	uint64_t highest = 2;
	const char *name;
	while (dir && (name = g_dir_read_name(dir))) {
		guint64 fd;
		if (g_ascii_string_to_unsigned(name, 10, 0, G_MAXINT, &fd, NULL) && fd > highest)
			highest = fd;
	}
	return highest;
}

bool sandbox_limits_measure(const struct sandbox_machine *machine, bool own_uid, struct sandbox_limits *out,
			    GError **error)
{
	uint64_t data_kib, threads;
	if (!read_status(&data_kib, &threads, error))
		return false;
	struct rlimit stack;
	uint64_t stack_bytes = getrlimit(RLIMIT_STACK, &stack) == 0 && stack.rlim_cur != RLIM_INFINITY
				       ? stack.rlim_cur
				       : 8 * MIB;
	uint64_t data = data_kib * 1024 + DATA_HEADROOM + (machine->cpus + 1) * stack_bytes;
	if (machine->vsock_socket)
		data += DATA_VSOCK;
	if (machine->gpu)
		data += DATA_GPU_2D;
	if (machine->gpu_3d)
		data += DATA_GPU_3D;
	*out = (struct sandbox_limits){
		.data_bytes = data,
		.files = highest_open_fd() + 1 + FILES_MARGIN + (machine->vsock_socket ? FILES_VSOCK : 0),
		/* RLIMIT_NPROC counts every process of the real uid: only a uid of the VMM's own
		 * makes it a bound on this VMM's threads. */
		.threads = own_uid ? threads + machine->cpus + 1 + THREADS_MARGIN : 0,
	};
	return true;
}

static bool cap(int resource, const char *name, uint64_t value, GError **error)
{
	struct rlimit now;
	if (getrlimit(resource, &now) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "sandbox: getrlimit(%s): %s", name, g_strerror(errno));
		return false;
	}
	/* Never above the hard limit the VMM was given. */
	rlim_t v = now.rlim_max != RLIM_INFINITY && now.rlim_max < value ? now.rlim_max : (rlim_t)value;
	struct rlimit want = { v, v };
	if (setrlimit(resource, &want) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "sandbox: setrlimit(%s, %llu): %s", name,
			    (unsigned long long)v, g_strerror(errno));
		return false;
	}
	return true;
}

bool sandbox_limits_apply(const struct sandbox_limits *limits, GError **error)
{
	if ((limits->data_bytes && !cap(RLIMIT_DATA, "RLIMIT_DATA", limits->data_bytes, error)) ||
	    !cap(RLIMIT_NOFILE, "RLIMIT_NOFILE", limits->files, error) ||
	    (limits->threads && !cap(RLIMIT_NPROC, "RLIMIT_NPROC", limits->threads, error)) ||
	    !cap(RLIMIT_CORE, "RLIMIT_CORE", 0, error))
		return false;
	return true;
}
