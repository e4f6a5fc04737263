/* launcher/monitor.h — the per-instance monitor's state (launcher/run_cvd.c runs it), shared with
 * the step that boots it (launcher/monitor_boot.h). */
#ifndef SEPIA_LAUNCHER_MONITOR_H
#define SEPIA_LAUNCHER_MONITOR_H

#include <stdbool.h>

#include <glib.h>

#include "images/avb.h"
#include "launcher/adb_connector.h"
#include "launcher/assemble.h"
#include "launcher/boot_snapshot.h"
#include "launcher/control.h"
#include "launcher/control_server.h"
#include "launcher/helper_child.h"
#include "launcher/instance.h"
#include "launcher/vmm_child.h"

/* What to do once the VMM is gone, in rising strength: a stop asked during a restart wins. */
/* AFTER_HALT: a helper died; stop the VMM and stay, Failed, until stop_cvd. */
typedef enum { AFTER_NOTHING, AFTER_HALT, AFTER_RESTART, AFTER_POWERWASH, AFTER_STOP } AfterVmm;

typedef struct {
	LauncherInstance inst;
	const char *home;
	guint cpus, memory_mb;
	bool console, restart_subprocesses;
	const char *extra_cmdline, *avb_key_path, *system_image_dir;
	guint64 blank_data_mb;
	AssembleDataPolicy data_policy;
	GBytes *avb_key;

	GMainLoop *loop;
	int exit_status;
	int ready_fd;
	int listen_fd;
	int lock_fd; /* the instance lock, held while the monitor runs */
	ControlServer *control;
	guint64 kernel_log_max_mb;
	const char *webview_allowed_hosts;
	VmmChild *vmm;
	Sepia__Control__State state;
	char *failure;
	int slot;
	char slot_suffix[4];
	SepiaVerifiedBootState boot_state;
	guint boots;
	bool booted; /* this VMM run printed the marker */
	gint64 launch_us;
	AfterVmm after;
	GPtrArray *waiting; /* client fds (GINT_TO_POINTER) to answer when `after` is done */
	guint stop_timer;
	bool term_sent;         /* SIGTERM went to this VMM */
	HelperChild *adb_proxy; /* from the first completed boot until the monitor ends */
	const char *gpu;        /* sepia-vmm's --gpu mode */
	char **displays;        /* its --display specs */
	bool start_webview;
	const char *sandbox;  /* sepia-vmm's --sandbox (launcher/vmm_jail.h) */
	bool enable_rng;      /* virtio-rng (launch_cvd's --enable_rng) */
	HelperChild *webview; /* the screen on http://<listen_address>:<8443+N-1>/ while the monitor runs */
	const char *listen_address; /* of the adb proxy and the web view */
	char *adb_serial;           /* <the address a local client reaches>:<6520+N-1> */
	AdbConnector *adb;          /* telling the local adb server about the device */
	char *ready_line;           /* the first boot's line for launch_cvd, until adb is connected */
	const char *snapshot_path;  /* launch_cvd --snapshot_path: the first boot restores from it */
	char *restored_from;        /* the snapshot the current boot started from, or NULL */
	BootSnapshot boot_snapshot; /* launcher/boot_snapshot.h; its cache NULL with --boot_snapshot=off */
} Monitor;

#endif
