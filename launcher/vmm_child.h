/* launcher/vmm_child.h — one run of sepia-vmm under the monitor: spawned in the monitor's
 * process group with its stderr on the monitor's log, and the guest's consoles laid out as
 * Cuttlefish lays them out (virtio-consoles of one port each, numbered in PCI order):
 *   hvc0  the kernel console (console=hvc0), on a socketpair: copied to logs/kernel.log and
 *         scanned for the boot markers. The 8250 (ttyS0, the VMM's stdout) is only the
 *         early console (earlycon) until hvc0 takes over, and goes to kernel.log too;
 *   hvc1  the serial console: with a console_link, a pty with the guest's shell
 *         (sepia.shell=hvc1); without, a sink that keeps the numbering;
 *   hvc2  logcat (sepia.logcat=hvc2): the guest's logd streams its log here, copied to
 *         logs/logcat, capped as kernel.log is;
 *   hvc3  sepia's control channel to the guest init (sepia.control=hvc3). Cuttlefish's later
 *         ports (keymaster at hvc3 and on) are future work; this one will move behind them.
 *
 * sepia-vmm's exit statuses: 0 guest poweroff (or stopped by SIGTERM), 4 guest reset,
 * 1 error, 2 bad options. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define VMM_EXIT_POWEROFF 0
#define VMM_EXIT_RESET    4

#define VMM_MARKER_COMPLETED "VIRTUAL_DEVICE_BOOT_COMPLETED"
#define VMM_MARKER_FAILED    "VIRTUAL_DEVICE_BOOT_FAILED"

typedef struct VmmChild VmmChild;

typedef struct {
	void (*booted)(void *opaque);                        /* the serial console printed the marker */
	void (*boot_failed)(void *opaque, const char *line); /* ... or VIRTUAL_DEVICE_BOOT_FAILED */
	void (*exited)(void *opaque, int wait_status);       /* the VMM is gone; its output drained */
	/* The guest init reached the boot snapshot point ("snapshot-point" on hvc3) and waits for
	 * vmm_child_continue_boot(); NULL: it is let go at once. */
	void (*snapshot_point)(void *opaque);
} VmmChildEvents;

typedef struct {
	const char *vmm_path;
	const char *kernel, *initrd, *cmdline; /* the image's; see vmm_child_kernel_cmdline() */
	const char *disk;
	const char *disk_format;               /* "qcow2", "raw" or "vmdk": always given to sepia-vmm */
	const char *const *allowed_image_dirs; /* NULL-terminated: where the disk's backing files may be */
	guint cpus, memory_mb;
	const char *kernel_log; /* appended, rotated to kernel_log.1 at kernel_log_max_bytes */
	uint64_t kernel_log_max_bytes;
	const char *logcat_log;   /* hvc2, the same way with the same cap; NULL: into kernel_log */
	const char *console_link; /* non-NULL: make a pty for hvc0 and link it here */
	const char *name;         /* instance name for log lines */
	guint vsock_cid;          /* virtio-vsock: the guest's CID and the host side's unix socket */
	const char *vsock_socket;
	const char *const *nets;     /* NULL-terminated --net specs (tap=NAME,mac=MAC), the guest's eth0... */
	const char *gpu;             /* sepia-vmm's --gpu mode; NULL or "none": no GPU */
	const char *const *displays; /* NULL-terminated --display specs (width=W,height=H,dpi=D) */
	const char *framebuffer_dir; /* where the scanouts are published */
	const char *sandbox;         /* sepia-vmm's --sandbox: auto (NULL) or off; jailed as root */
	guint instance_num;          /* for the jail's uid (vmm_jail.h) */
	const char *input_dir;       /* virtio-input's sockets (input_*.sock); NULL: no input devices */
	bool rng;                    /* virtio-rng */
	const char *api_socket;      /* sepia-vmm's own control socket (pause, resume, snapshot) */
	const char *restore_dir;     /* non-NULL: start from this snapshot (sepia-vmm --restore); the
				      * booted event comes once the restored VMM answers on api_socket */
	bool restore_boot_snapshot;  /* restore_dir is a boot snapshot: the disks stay as they are
				      * (--restore-keep-disks), the guest waiting at the snapshot
				      * point is sent "continue" once the VMM runs, and the booted
				      * event comes with the boot marker, as after a cold boot */
} VmmChildConfig;

/* The kernel command line for the image's (cmdline): its console= words replaced by the
 * layout's words above; sepia.shell=hvc1 with shell_console. Free with g_free. */
char *vmm_child_kernel_cmdline(const char *cmdline, bool shell_console);
VmmChild *vmm_child_start(const VmmChildConfig *cfg, const VmmChildEvents *events, void *opaque,
			  GError **error);
pid_t vmm_child_pid(const VmmChild *c);
gint64 vmm_child_started_us(const VmmChild *c);
/* Asks the guest init to power off through the control channel; false when it cannot be sent. */
bool vmm_child_request_poweroff(VmmChild *c);
/* Lets the guest init go on from the boot snapshot point ("continue" on hvc3). */
bool vmm_child_continue_boot(VmmChild *c);
/* Sends signal sig to the VMM (no-op once it exited). */
void vmm_child_signal(VmmChild *c, int sig);
/* One command on sepia-vmm's API socket ("pause", "resume", "snapshot DIR", "status"), waiting
 * up to timeout_ms: true on an "ok" answer; else an error naming the instance with the VMM's
 * words. Blocks the caller (a snapshot of a large guest takes seconds). */
bool vmm_child_api(VmmChild *c, const char *command, int timeout_ms, GError **error);
/* The same, passing descriptors with the command (a snapshot's files, devices/vm_api.h). */
#define VMM_CHILD_API_FDS_MAX 10
bool vmm_child_api_fds(VmmChild *c, const char *command, const int *fds, unsigned int n_fds, int timeout_ms,
		       GError **error);
/* Frees it; the VMM must have exited (the exited event came). */
void vmm_child_free(VmmChild *c);
