/* sepia-vmm: boots one guest under KVM and exits when it powers off, resets, writes the
 * debug-exit port, fails, or is told to stop. Only this file decides the process's exit
 * status. The contract, which the instance monitor relies on:
 *
 *   0            the guest powered off (ACPI S5), or SIGTERM/SIGINT/SIGHUP stopped the
 *                VM cleanly (vCPUs out of KVM_RUN, disks flushed and closed)
 *   1            an error: the VM could not be built, or a vCPU failed (message logged)
 *   2            bad command-line options
 *   4            the guest reset (ACPI reset register, i8042 0xfe, triple fault): the
 *                monitor boots it again
 *   (V << 1) | 1 with --debug-exit, the guest wrote V to port 0xf4 (always odd)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "devices/chardev.h"
#include "devices/sandbox/sandbox.h"
#include "devices/vm_api.h"
#include "display/scanouts.h"
#include "common/log.h"
#include "devices/vm.h"

#define STATUS_OK    0
#define STATUS_ERROR 1
#define STATUS_USAGE 2
#define STATUS_RESET 4

static const char exit_status_help[] =
	"Exit status:\n"
	"  0             the guest powered off, or SIGTERM/SIGINT/SIGHUP stopped it cleanly\n"
	"  1             error (the VM could not be built or a vCPU failed)\n"
	"  2             bad options\n"
	"  4             the guest reset (ACPI reset, i8042 reset, triple fault)\n"
	"  (V << 1) | 1  --debug-exit: the guest wrote V to port 0xf4\n"
	"\n"
	"SINK is one of stdio, file:PATH (output only), pty (--hvc, --console and --control), fd:N\n"
	"(an inherited file descriptor used for input and output, such as one end of a\n"
	"socketpair), sink (output dropped, no input; --hvc) or none.";

static bool parse_disk(const char *spec, struct vm_config *cfg, GError **error)
{
	if (cfg->nr_disks == VM_MAX_DISKS) {
		g_set_error(error, SEPIA_ERROR, E2BIG, "--disk: at most %d disks", VM_MAX_DISKS);
		return false;
	}
	g_auto(GStrv) parts = g_strsplit(spec, ",", -1);
	struct vm_disk_config *d = &cfg->disk[cfg->nr_disks];
	if (!parts[0] || !*parts[0]) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "--disk '%s': no path", spec);
		return false;
	}
	d->path = g_strdup(parts[0]);
	for (unsigned int i = 1; parts[i]; i++) {
		if (!strcmp(parts[i], "ro")) {
			d->readonly = true;
		} else if (g_str_has_prefix(parts[i], "format=")) {
			if (!(d->format = block_format_name(parts[i] + 7))) {
				g_set_error(error, SEPIA_ERROR, EINVAL,
					    "--disk '%s': format '%s' is not supported (raw, qcow2 or vmdk)",
					    spec, parts[i] + 7);
				return false;
			}
		} else if (strcmp(parts[i], "rw")) {
			g_set_error(error, SEPIA_ERROR, EINVAL,
				    "--disk '%s': unknown option '%s' (ro, rw or format=raw|qcow2|vmdk)",
				    spec, parts[i]);
			return false;
		}
	}
	cfg->nr_disks++;
	return true;
}

/* --vsock cid=N,socket=PATH */
static bool parse_vsock(const char *spec, struct vm_config *cfg, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(spec, ",", -1);
	for (unsigned int i = 0; parts[i]; i++) {
		if (g_str_has_prefix(parts[i], "cid=")) {
			guint64 cid;
			if (!g_ascii_string_to_unsigned(parts[i] + 4, 10, 3, UINT32_MAX - 1, &cid, NULL)) {
				g_set_error(error, SEPIA_ERROR, EINVAL, "--vsock '%s': cid must be 3 to %u",
					    spec, UINT32_MAX - 1);
				return false;
			}
			cfg->vsock_cid = cid;
		} else if (g_str_has_prefix(parts[i], "socket=") && parts[i][7]) {
			g_free(cfg->vsock_socket);
			cfg->vsock_socket = g_strdup(parts[i] + 7);
		} else {
			g_set_error(error, SEPIA_ERROR, EINVAL,
				    "--vsock '%s': unknown part '%s' (cid=N,socket=PATH)", spec, parts[i]);
			return false;
		}
	}
	if (!cfg->vsock_cid || !cfg->vsock_socket) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "--vsock '%s': give both cid=N and socket=PATH",
			    spec);
		return false;
	}
	return true;
}

/* 52:54:00:12:34:56 -> 6 bytes; false unless six two-digit hex groups. */
static bool parse_mac(const char *text, uint8_t mac[6])
{
	unsigned int b[6];
	char end;
	if (strlen(text) != 17 ||
	    sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
		return false;
	for (unsigned int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return true;
}

/* tap=NAME[,mac=52:54:00:xx:xx:xx]; without a MAC, 52:54:00:12:34:(56 + index). */
static bool parse_net(const char *spec, struct vm_config *cfg, GError **error)
{
	if (cfg->nr_nets == VM_MAX_NETS) {
		g_set_error(error, SEPIA_ERROR, E2BIG, "--net: at most %d network devices", VM_MAX_NETS);
		return false;
	}
	struct vm_net_config *n = &cfg->net[cfg->nr_nets];
	g_auto(GStrv) parts = g_strsplit(spec, ",", -1);
	bool have_mac = false;
	for (unsigned int i = 0; parts[i]; i++) {
		if (g_str_has_prefix(parts[i], "tap=") && parts[i][4]) {
			g_free(n->tap);
			n->tap = g_strdup(parts[i] + 4);
		} else if (g_str_has_prefix(parts[i], "mac=")) {
			if (!parse_mac(parts[i] + 4, n->mac) || (n->mac[0] & 1)) {
				g_set_error(error, SEPIA_ERROR, EINVAL,
					    "--net '%s': '%s' is not a unicast MAC address "
					    "such as 52:54:00:12:34:56",
					    spec, parts[i] + 4);
				return false;
			}
			have_mac = true;
		} else {
			g_set_error(error, SEPIA_ERROR, EINVAL,
				    "--net '%s': unknown option '%s' (tap=NAME or mac=MAC)", spec, parts[i]);
			return false;
		}
	}
	if (!n->tap) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "--net '%s': no tap=NAME", spec);
		return false;
	}
	if (!have_mac)
		memcpy(n->mac, (uint8_t[6]){ 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + cfg->nr_nets) },
		       6);
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		if (!strcmp(cfg->net[i].tap, n->tap) || !memcmp(cfg->net[i].mac, n->mac, 6)) {
			g_set_error(error, SEPIA_ERROR, EINVAL, "--net '%s': TAP or MAC given twice", spec);
			return false;
		}
	cfg->nr_nets++;
	return true;
}

/* width=W,height=H[,dpi=D]: one scanout. */
static bool parse_display(const char *spec, struct vm_config *cfg, GError **error)
{
	if (cfg->gpu.nr_displays == VM_MAX_DISPLAYS) {
		g_set_error(error, SEPIA_ERROR, E2BIG, "--display: at most %d displays", VM_MAX_DISPLAYS);
		return false;
	}
	struct display_mode m;
	if (!display_parse_mode(spec, false, &m, error)) {
		g_prefix_error(error, "--display '%s': ", spec);
		return false;
	}
	struct vm_display_config d = { m.width, m.height, m.dpi };
	cfg->gpu.display[cfg->gpu.nr_displays++] = d;
	return true;
}

static bool parse_gpu_mode(const char *mode, struct vm_config *cfg, GError **error)
{
	static const struct {
		const char *name;
		enum vm_gpu_mode mode;
	} modes[] = {
		{ "none", GPU_NONE },
		{ "2d", GPU_2D },
		{ "virgl", GPU_VIRGL },
		{ "auto", GPU_AUTO },
	};
	for (unsigned int i = 0; i < G_N_ELEMENTS(modes); i++)
		if (!strcmp(mode, modes[i].name)) {
			cfg->gpu.mode = modes[i].mode;
			return true;
		}
	g_set_error(error, SEPIA_ERROR, EINVAL, "--gpu '%s': give none, 2d, virgl or auto", mode);
	return false;
}

/* An auto|on|off option's value (auto when it is not given): *choice is 0, 1 or 2. */
static bool parse_auto_on_off(const char *option, const char *value, unsigned int *choice, GError **error)
{
	static const char *const names[] = { "auto", "on", "off" };
	for (unsigned int i = 0; i < G_N_ELEMENTS(names); i++)
		if (!value ? i == 0 : !strcmp(value, names[i])) {
			*choice = i;
			return true;
		}
	g_set_error(error, SEPIA_ERROR, EINVAL, "%s '%s': give auto, on or off", option, value);
	return false;
}

static bool parse_options(int argc, char **argv, struct vm_config *cfg, GError **error)
{
	g_autofree gchar *serial = NULL, *console = NULL, *control = NULL, *fallback = NULL, *vsock = NULL;
	g_autofree gchar *kvm_clock = NULL;
	g_autofree gchar *gpu = NULL;
	g_auto(GStrv) disks = NULL, nets = NULL, displays = NULL, image_dirs = NULL, hvcs = NULL;
	gint mem = 512, cpus = 1;
	gboolean debug_exit = FALSE, rng = FALSE, keep_disks = FALSE;
	GOptionEntry entries[] = {
		{ "kernel", 0, 0, G_OPTION_ARG_FILENAME, &cfg->kernel,
		  "Guest kernel: bzImage, ELF vmlinux or PVH ELF", "PATH" },
		{ "initrd", 0, 0, G_OPTION_ARG_FILENAME, &cfg->initrd, "Initial ramdisk", "PATH" },
		{ "cmdline", 0, 0, G_OPTION_ARG_STRING, &cfg->cmdline, "Kernel command line", "STR" },
		{ "mem", 0, 0, G_OPTION_ARG_INT, &mem, "Guest RAM in MiB (default 512)", "MIB" },
		{ "cpus", 0, 0, G_OPTION_ARG_INT, &cpus, "vCPUs (default 1)", "N" },
		{ "serial", 0, 0, G_OPTION_ARG_STRING, &serial,
		  "8250 UART: stdio|file:PATH|fd:N|none (default stdio)", "SINK" },
		{ "hvc", 0, 0, G_OPTION_ARG_STRING_ARRAY, &hvcs,
		  "A virtio-console of one port; repeatable, up to 8: the guest's hvc0, hvc1, ... in this "
		  "order, before --console and --control. `sink` keeps a port that goes nowhere, so the "
		  "ports after it keep their numbers",
		  "SINK" },
		{ "console", 0, 0, G_OPTION_ARG_STRING, &console,
		  "virtio-console (hvc0): stdio|file:PATH|pty|fd:N|none (default none)", "SINK" },
		{ "control", 0, 0, G_OPTION_ARG_STRING, &control,
		  "A second virtio-console for host commands, the guest's hvc1 (hvc0 without --console): "
		  "stdio|file:PATH|pty|fd:N|none (default none)",
		  "SINK" },
		{ "disk", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &disks,
		  "virtio-blk disk: a raw file or block device, a qcow2 image or a VMDK descriptor; without "
		  "format= the format is probed, and a disk probed as raw refuses guest writes that would "
		  "make it probe as another format; repeatable",
		  "PATH[,format=raw|qcow2|vmdk][,ro]" },
		{ "allowed-image-dir", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &image_dirs,
		  "A directory (with its subdirectories) where qcow2 backing files and VMDK extents may be, "
		  "besides the directory of the image naming them; repeatable",
		  "DIR" },
		{ "vsock", 0, 0, G_OPTION_ARG_STRING, &vsock,
		  "virtio-vsock for guest CID N (3 or more); host programs reach guest ports through the "
		  "unix "
		  "socket PATH (\"CONNECT port\\n\"), guest connects to host port P reach PATH_P",
		  "cid=N,socket=PATH" },
		{ "net", 0, 0, G_OPTION_ARG_STRING_ARRAY, &nets,
		  "virtio-net on a host TAP (attached, or created when missing); repeatable, up to 4",
		  "tap=NAME[,mac=MAC]" },
		{ "gpu", 0, 0, G_OPTION_ARG_STRING, &gpu,
		  "virtio-gpu: none, 2d, virgl (3D through virglrenderer) or auto (virgl when it "
		  "initialises, "
		  "else 2d; default none)",
		  "MODE" },
		{ "display", 0, 0, G_OPTION_ARG_STRING_ARRAY, &displays,
		  "A virtio-gpu scanout (default one, 720x1280 at 320 dpi); repeatable, up to 16",
		  "width=W,height=H[,dpi=D]" },
		{ "framebuffer-dir", 0, 0, G_OPTION_ARG_FILENAME, &cfg->gpu.framebuffer_dir,
		  "Publish scanout N as DIR/display<N>.fb for cvd_display and the web view", "DIR" },
		{ "input-dir", 0, 0, G_OPTION_ARG_FILENAME, &cfg->input_dir,
		  "virtio-input: a touch screen per display (with --gpu), a keyboard and power/volume "
		  "buttons, fed through DIR/input_touch_<D>.sock, DIR/input_keyboard.sock and "
		  "DIR/input_buttons.sock (8-byte virtio_input_event records)",
		  "DIR" },
		{ "rng", 0, 0, G_OPTION_ARG_NONE, &rng,
		  "virtio-rng: guest entropy from getrandom(2), at most 1 MiB/s", NULL },
		{ "debug-exit", 0, 0, G_OPTION_ARG_NONE, &debug_exit,
		  "A guest write of V to port 0xf4 ends sepia-vmm with status (V << 1) | 1", NULL },
		{ "api-socket", 0, 0, G_OPTION_ARG_FILENAME, &cfg->api_socket,
		  "sepia-vmm's control socket: one command a line (status, pause, resume, snapshot DIR), "
		  "one answer a line",
		  "PATH" },
		{ "restore", 0, 0, G_OPTION_ARG_FILENAME, &cfg->restore_dir,
		  "Start from the snapshot in DIR (taken with the same --cpus, --mem and devices) instead "
		  "of booting --kernel; its disk images are copied back over the writable --disk files",
		  "DIR" },
		{ "restore-keep-disks", 0, 0, G_OPTION_ARG_NONE, &keep_disks,
		  "With --restore: leave the writable --disk files as they are instead of copying the "
		  "snapshot's images over them (for a snapshot taken before the guest used them, as the "
		  "launcher's boot snapshot is)",
		  NULL },
		{ "emulation-fallback", 0, 0, G_OPTION_ARG_STRING, &fallback,
		  "Fallback emulator for interpreting KVM hosts: auto|on|off (default auto)", "MODE" },
		{ "kvm-clock", 0, 0, G_OPTION_ARG_STRING, &kvm_clock,
		  "Offer the guest kvm-clock: auto (where the host runs it: not on a host whose KVM "
		  "interprets kernel code), on or off (default auto)",
		  "MODE" },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- boot a guest kernel under KVM");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_add_group(ctx, sandbox_option_group());
	g_option_context_set_description(ctx, exit_status_help);
	if (!g_option_context_parse(ctx, &argc, &argv, error))
		return false;
	if (argc > 1) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "unexpected argument '%s'", argv[1]);
		return false;
	}
	if (!cfg->kernel && !cfg->restore_dir) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "--kernel (or --restore) is required");
		return false;
	}
	if (mem < 16 || mem > 1024 * 1024) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "--mem %d: give 16 to 1048576 MiB", mem);
		return false;
	}
	if (cpus < 1 || cpus > VM_MAX_CPUS) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "--cpus %d: give 1 to %d", cpus, VM_MAX_CPUS);
		return false;
	}
	cfg->mem_mib = (uint64_t)mem;
	cfg->cpus = (unsigned int)cpus;
	cfg->debug_exit = debug_exit;
	cfg->rng = rng;
	cfg->restore_keep_disks = keep_disks;
	if (!chardev_parse_sink(serial ? serial : "stdio", &cfg->serial, false, error)) {
		g_prefix_error(error, "--serial: ");
		return false;
	}
	if (!chardev_parse_sink(console ? console : "none", &cfg->console, true, error)) {
		g_prefix_error(error, "--console: ");
		return false;
	}
	if (!chardev_parse_sink(control ? control : "none", &cfg->control, true, error)) {
		g_prefix_error(error, "--control: ");
		return false;
	}
	for (guint i = 0; hvcs && hvcs[i]; i++) {
		if (i == VM_MAX_HVCS) {
			g_set_error(error, SEPIA_ERROR, E2BIG, "--hvc: at most %d ports", VM_MAX_HVCS);
			return false;
		}
		if (!chardev_parse_sink(hvcs[i], &cfg->hvc[i], true, error)) {
			g_prefix_error(error, "--hvc (hvc%u): ", i);
			return false;
		}
		if (cfg->hvc[i].kind == SINK_NONE) {
			g_set_error(error, SEPIA_ERROR, EINVAL,
				    "--hvc (hvc%u): none would renumber the ports after it; give sink", i);
			return false;
		}
		cfg->nr_hvcs = i + 1;
	}
	const struct vm_sink *sinks[3 + VM_MAX_HVCS] = { &cfg->serial, &cfg->console, &cfg->control };
	unsigned int nr_sinks = 3, stdio_users = 0;
	for (unsigned int i = 0; i < cfg->nr_hvcs; i++)
		sinks[nr_sinks++] = &cfg->hvc[i];
	for (unsigned int i = 0; i < nr_sinks; i++)
		stdio_users += sinks[i]->kind == SINK_STDIO;
	if (stdio_users > 1) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "only one of --serial, --hvc, --console and --control can use stdio");
		return false;
	}
	for (unsigned int i = 0; i < nr_sinks; i++)
		for (unsigned int j = i + 1; j < nr_sinks; j++)
			if (sinks[i]->kind == SINK_FD && sinks[j]->kind == SINK_FD &&
			    sinks[i]->fd == sinks[j]->fd) {
				g_set_error(error, SEPIA_ERROR, EINVAL, "fd:%d is given to two devices",
					    sinks[i]->fd);
				return false;
			}
	static const enum vm_fallback_mode fallback_modes[] = { FALLBACK_AUTO, FALLBACK_ON, FALLBACK_OFF };
	static const enum vm_kvm_clock_mode kvm_clock_modes[] = { KVMCLOCK_MODE_AUTO, KVMCLOCK_MODE_ON,
								  KVMCLOCK_MODE_OFF };
	unsigned int choice;
	if (!parse_auto_on_off("--emulation-fallback", fallback, &choice, error))
		return false;
	cfg->fallback = fallback_modes[choice];
	if (!parse_auto_on_off("--kvm-clock", kvm_clock, &choice, error))
		return false;
	cfg->kvm_clock = kvm_clock_modes[choice];
	if (vsock && !parse_vsock(vsock, cfg, error))
		return false;
	if (gpu && !parse_gpu_mode(gpu, cfg, error))
		return false;
	for (unsigned int i = 0; displays && displays[i]; i++)
		if (!parse_display(displays[i], cfg, error))
			return false;
	if ((cfg->gpu.nr_displays || cfg->gpu.framebuffer_dir) && cfg->gpu.mode == GPU_NONE) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "--display and --framebuffer-dir need --gpu");
		return false;
	}
	for (unsigned int i = 0; image_dirs && image_dirs[i]; i++)
		if (!block_allow_image_dir(image_dirs[i], error)) {
			g_prefix_error(error, "--allowed-image-dir: ");
			return false;
		}
	for (unsigned int i = 0; disks && disks[i]; i++)
		if (!parse_disk(disks[i], cfg, error))
			return false;
	for (unsigned int i = 0; nets && nets[i]; i++)
		if (!parse_net(nets[i], cfg, error)) {
			g_free(cfg->net[cfg->nr_nets].tap);
			cfg->net[cfg->nr_nets].tap = NULL;
			return false;
		}
	return true;
}

static void config_free(struct vm_config *cfg)
{
	g_free(cfg->kernel);
	g_free(cfg->initrd);
	g_free(cfg->cmdline);
	g_free(cfg->serial.path);
	g_free(cfg->console.path);
	g_free(cfg->control.path);
	for (unsigned int i = 0; i < cfg->nr_hvcs; i++)
		g_free(cfg->hvc[i].path);
	g_free(cfg->vsock_socket);
	g_free(cfg->gpu.framebuffer_dir);
	g_free(cfg->input_dir);
	g_free(cfg->api_socket);
	g_free(cfg->restore_dir);
	for (unsigned int i = 0; i < cfg->nr_disks; i++)
		g_free(cfg->disk[i].path);
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		g_free(cfg->net[i].tap);
}

static int exit_status_of(const struct vm *vm, enum vm_exit_reason reason)
{
	switch (reason) {
	case VM_EXIT_POWEROFF:
	case VM_EXIT_HOST_STOP:
		return STATUS_OK;
	case VM_EXIT_RESET:
		return STATUS_RESET;
	case VM_EXIT_DEBUG:
		return vm->exit_status;
	default:
		return STATUS_ERROR;
	}
}

int main(int argc, char **argv)
{
	log_route_glib("sepia-vmm", NULL);
	/* A --control or --serial peer that goes away must not kill the VMM: writes to it
	 * fail with EPIPE and the output is dropped. */
	signal(SIGPIPE, SIG_IGN);
	struct vm_config cfg = { .start_us = g_get_monotonic_time() };
	g_autoptr(GError) error = NULL;
	if (!parse_options(argc, argv, &cfg, &error)) {
		fprintf(stderr, "sepia-vmm: %s (see sepia-vmm --help)\n", error->message);
		config_free(&cfg);
		return STATUS_USAGE;
	}
	if (!sandbox_prepare(&error)) { /* while there is one thread: namespaces */
		fprintf(stderr, "sepia-vmm: error: %s\n", error->message);
		config_free(&cfg);
		return STATUS_ERROR;
	}
	/* Blocked before any thread exists, so every thread inherits the mask and a stop
	 * signal reaches only vm_run's signalfd (one that came during vm_build waits there). */
	sigset_t stop;
	vm_stop_signals(&stop);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	struct vm vm;
	struct sandbox_machine machine = {
		.cpus = cfg.cpus,
		.vsock_socket = cfg.vsock_cid ? cfg.vsock_socket : NULL,
		.gpu = cfg.gpu.mode != GPU_NONE,
		.gpu_3d = cfg.gpu.mode == GPU_VIRGL || cfg.gpu.mode == GPU_AUTO,
	};
	bool built = vm_build(&vm, &cfg, &error);
	/* The main thread may accept on the API socket and on no other. */
	machine.api_listen_fd = built && vm.api ? vm_api_listen_fd(vm.api) : -1;
	if (!built || !sandbox_lock_down(&machine, &error)) {
		fprintf(stderr, "sepia-vmm: error: %s\n", error->message);
		vm_destroy(&vm);
		config_free(&cfg);
		return STATUS_ERROR;
	}
	enum vm_exit_reason reason = vm_run(&vm);
	int status = exit_status_of(&vm, reason);
	/* Closes the disks (a qcow2 image writes its metadata back here) and the chardevs. */
	vm_destroy(&vm);
	config_free(&cfg);
	return status;
}
