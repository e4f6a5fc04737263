/* sepia-vmm: boots one guest under KVM and exits when it powers off, resets, writes the
 * debug-exit port, or fails. Only this file decides the process's exit status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chardev.h"
#include "vm.h"

static void log_line(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
	const char *prefix = (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) ? "error: "
			   : (level & G_LOG_LEVEL_WARNING) ? "warning: " : "";
	if ((level & G_LOG_LEVEL_DEBUG) && !g_getenv("SEPIA_DEBUG"))
		return;
	fprintf(stderr, "sepia-vmm: %s%s\n", prefix, message);
}

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
		if (!strcmp(parts[i], "ro"))
			d->readonly = true;
		else if (strcmp(parts[i], "rw")) {
			g_set_error(error, SEPIA_ERROR, EINVAL, "--disk '%s': unknown option '%s' (ro or rw)", spec, parts[i]);
			return false;
		}
	}
	cfg->nr_disks++;
	return true;
}

static bool parse_options(int argc, char **argv, struct vm_config *cfg, GError **error)
{
	g_autofree gchar *serial = NULL, *console = NULL, *fallback = NULL;
	g_auto(GStrv) disks = NULL;
	gint mem = 512, cpus = 1;
	gboolean debug_exit = FALSE;
	GOptionEntry entries[] = {
		{ "kernel", 0, 0, G_OPTION_ARG_FILENAME, &cfg->kernel, "Guest kernel: bzImage, ELF vmlinux or PVH ELF", "PATH" },
		{ "initrd", 0, 0, G_OPTION_ARG_FILENAME, &cfg->initrd, "Initial ramdisk", "PATH" },
		{ "cmdline", 0, 0, G_OPTION_ARG_STRING, &cfg->cmdline, "Kernel command line", "STR" },
		{ "mem", 0, 0, G_OPTION_ARG_INT, &mem, "Guest RAM in MiB (default 512)", "MIB" },
		{ "cpus", 0, 0, G_OPTION_ARG_INT, &cpus, "vCPUs (default 1)", "N" },
		{ "serial", 0, 0, G_OPTION_ARG_STRING, &serial, "8250 UART output: stdio|file:PATH|none (default stdio)", "SINK" },
		{ "console", 0, 0, G_OPTION_ARG_STRING, &console, "virtio-console (hvc0): stdio|file:PATH|pty|none (default none)", "SINK" },
		{ "disk", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &disks, "virtio-blk disk, raw file; repeatable", "PATH[,ro]" },
		{ "debug-exit", 0, 0, G_OPTION_ARG_NONE, &debug_exit, "A guest write of V to port 0xf4 ends sepia-vmm with status (V << 1) | 1", NULL },
		{ "emulation-fallback", 0, 0, G_OPTION_ARG_STRING, &fallback, "Fallback emulator for interpreting KVM hosts: auto|on|off (default auto)", "MODE" },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- boot a guest kernel under KVM");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, error))
		return false;
	if (argc > 1) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "unexpected argument '%s'", argv[1]);
		return false;
	}
	if (!cfg->kernel) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "--kernel is required");
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
	if (!chardev_parse_sink(serial ? serial : "stdio", &cfg->serial, false, error)) {
		g_prefix_error(error, "--serial: ");
		return false;
	}
	if (!chardev_parse_sink(console ? console : "none", &cfg->console, true, error)) {
		g_prefix_error(error, "--console: ");
		return false;
	}
	if (cfg->serial.kind == SINK_STDIO && cfg->console.kind == SINK_STDIO) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "--serial and --console cannot both use stdio");
		return false;
	}
	if (!fallback || !strcmp(fallback, "auto"))
		cfg->fallback = FALLBACK_AUTO;
	else if (!strcmp(fallback, "on"))
		cfg->fallback = FALLBACK_ON;
	else if (!strcmp(fallback, "off"))
		cfg->fallback = FALLBACK_OFF;
	else {
		g_set_error(error, SEPIA_ERROR, EINVAL, "--emulation-fallback '%s': give auto, on or off", fallback);
		return false;
	}
	for (unsigned int i = 0; disks && disks[i]; i++)
		if (!parse_disk(disks[i], cfg, error))
			return false;
	return true;
}

static void config_free(struct vm_config *cfg)
{
	g_free(cfg->kernel);
	g_free(cfg->initrd);
	g_free(cfg->cmdline);
	g_free(cfg->serial.path);
	g_free(cfg->console.path);
	for (unsigned int i = 0; i < cfg->nr_disks; i++)
		g_free(cfg->disk[i].path);
}

int main(int argc, char **argv)
{
	g_log_set_default_handler(log_line, NULL);
	struct vm_config cfg = { 0 };
	g_autoptr(GError) error = NULL;
	if (!parse_options(argc, argv, &cfg, &error)) {
		fprintf(stderr, "sepia-vmm: %s (see sepia-vmm --help)\n", error->message);
		config_free(&cfg);
		return 2;
	}
	struct vm vm;
	if (!vm_build(&vm, &cfg, &error)) {
		fprintf(stderr, "sepia-vmm: error: %s\n", error->message);
		vm_destroy(&vm);
		config_free(&cfg);
		return 1;
	}
	int status = vm_run(&vm);
	vm_destroy(&vm);
	config_free(&cfg);
	return status;
}
