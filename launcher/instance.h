/* launcher/instance.h — one device instance as every sepia command sees it: its number, its
 * Cuttlefish-style names and paths, and whether processes of it are alive.
 *
 * Runtime layout (as Cuttlefish's), under home ($HOME):
 *   cuttlefish/instances/cvd-N/            the instance directory
 *     launcher_monitor.sock                run_cvd's control socket (proto/control.proto)
 *     vsock.sock                           the host side of the guest's virtio-vsock (sepia-vmm)
 *     run_cvd.pid                          the monitor's pid = the instance's process group
 *     instance.lock                        locked by the launch, then the monitor (holder's pid)
 *     cuttlefish_config.json               the effective configuration
 *     console -> /dev/pts/K                with --console
 *     display<K>.fb                        scanout K as sepia-vmm publishes it (with a GPU)
 *     logs/launcher.log, logs/kernel.log   the monitor's log; everything the guest console printed
 *     bootloader/                          what the bootloader step extracted and prepared
 *   cuttlefish_runtime -> cvd-1 (the first instance), cuttlefish_runtime.N -> cvd-N,
 *   cuttlefish_assembly -> cuttlefish/assembly
 * Numbers: adb port 6520+N-1, vsock CID 3+N-1, the web view (--start_webview) on 8443+N-1,
 * serial number SEPIACVD0N. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#define LAUNCHER_ERROR (launcher_error_quark())
GQuark launcher_error_quark(void);

#define LAUNCHER_ADB_BASE_PORT     6520u
#define LAUNCHER_VSOCK_BASE_CID    3u
#define LAUNCHER_WEBVIEW_BASE_PORT 8443u
#define LAUNCHER_MAX_DISPLAYS      4
/* sepia-vmm's virtio-input sockets in the instance directory (README "Touch, keys and buttons"). */
#define LAUNCHER_INPUT_TOUCH_SOCKET    "input_touch_%u.sock" /* display D */
#define LAUNCHER_INPUT_KEYBOARD_SOCKET "input_keyboard.sock"
#define LAUNCHER_INPUT_BUTTONS_SOCKET  "input_buttons.sock"
/* The device's serial number (androidboot.serialno, so ro.serialno in the guest) is this
 * prefix and the instance number, two digits at least: SEPIACVD01 for cvd-1. */
#define LAUNCHER_SERIAL_PREFIX "SEPIACVD"

typedef struct {
	guint num;
	char *name;          /* "cvd-N" */
	char *serial_number; /* LAUNCHER_SERIAL_PREFIX + N */
	char *dir;
	char *logs_dir;
	char *socket_path;
	char *pid_path;
	char *config_path;
	char *console_link;
	char *overlay_path;
	char *vsock_socket; /* the VMM's host side of virtio-vsock */
	char *lock_path;    /* instance.lock */
	char *assembly_dir;
	guint adb_port;
	guint vsock_cid;
	guint webview_port;
} LauncherInstance;

/* $HOME, or the password database's home when $HOME is unset. */
const char *launcher_home(void);
void launcher_instance_init(LauncherInstance *inst, const char *home, guint num);
void launcher_instance_clear(LauncherInstance *inst);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(LauncherInstance, launcher_instance_clear)
/* The instance numbers that have a directory under home/cuttlefish/instances, ascending. */
GArray *launcher_list_instances(const char *home);

/* The monitor's pid from run_cvd.pid; 0 when there is no (readable) pid file. */
pid_t launcher_read_pid(const LauncherInstance *inst);
/* Does any process of the instance's process group (the monitor's pid) still exist? */
bool launcher_group_alive(pid_t pgid);
/* Removes what a monitor leaves in the instance directory while it runs (socket, pid file,
 * console link), for stop_cvd after a monitor that died without cleaning up. */
void launcher_remove_runtime_files(const LauncherInstance *inst);

/* The instance lock: an open file description (OFD) write lock on <dir>/instance.lock. launch_cvd
 * takes it before it checks or touches anything of the instance and hands it to the monitor,
 * which holds it for the device's life; so of two launches of one instance exactly one goes on,
 * and the other stops before it could disturb the first. The file holds the holder's pid.
 * Creates the instance directory when missing. Returns the locked fd (close-on-exec), or -1 with
 * EBUSY naming the instance and the holder's pid. */
int launcher_instance_lock(const LauncherInstance *inst, GError **error);
/* For the monitor: checks that fd (inherited from launch_cvd) is the instance's lock file and
 * holds its lock, makes it close-on-exec and writes the monitor's pid into it. */
bool launcher_instance_lock_adopt(const LauncherInstance *inst, int fd, GError **error);
/* The pid of whoever holds the instance's lock (-1 when it is held and no pid is known), or 0 when
 * nobody holds it. */
pid_t launcher_instance_lock_holder(const LauncherInstance *inst);

/* launch_cvd's --gpu_mode (Cuttlefish's names) as sepia-vmm's --gpu: auto, drm_virgl -> virgl,
 * guest_swiftshader -> 2d (the guest renders, the device only shows), none; NULL when unknown. */
const char *launcher_vmm_gpu_mode(const char *gpu_mode);

/* --listen_address: where an instance's adb proxy and web view listen. The default, 127.0.0.1,
 * serves this host only; 0.0.0.0 (a container's choice) every address of the network namespace. */
#define LAUNCHER_DEFAULT_LISTEN_ADDRESS "127.0.0.1"
/* Checks that text is a dotted IPv4 address; the error names the flag and says what to give. */
bool launcher_check_listen_address(const char *text, GError **error);
/* The address a client on this host reaches a listener on listen_address at: listen_address
 * itself, or 127.0.0.1 for the wildcard 0.0.0.0. Static storage or listen_address. */
const char *launcher_client_address(const char *listen_address);

/* "exited with status 3" / "killed by signal 9 (Killed)", from a waitpid status. */
char *launcher_describe_wait_status(int wait_status);

/* One line of an instance's log on stderr (common/log.h): "2026-12-07T03:55:26.123Z cvd-N run_cvd: message". */
void launcher_log(const char *instance, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void launcher_log_text(const char *instance, const char *message);

/* Points link at target, replacing whatever link is there atomically (a new link renamed over). */
bool launcher_replace_symlink(const char *link, const char *target, GError **error);

/* rm -rf path (symlinks are removed, not followed). */
bool launcher_remove_tree(const char *path, GError **error);

/* Host networking for the instance, when sepia-host-resources made its TAPs: their --net specs
 * appended to nets and the guest's sepia.net words to cmdline (details in instance.c). */
void launcher_instance_networks(const LauncherInstance *inst, GPtrArray *nets, GString *cmdline);

/* The monitor's pid (this process's) into the instance's pid file. */
bool launcher_instance_write_pid(const LauncherInstance *inst, GError **error);

/* The directory of the running program (where sepia's other programs live beside it). */
char *launcher_program_dir(void);
/* path of a sibling program: program_dir/name. */
char *launcher_sibling_program(const char *name);
