/* launcher/monitor_boot.c — one boot of the monitor's instance: the bootloader step on its disk
 * (A/B slot, AVB, kernel/initrd/cmdline from the slot), the boot snapshot to restore or take
 * (launcher/boot_snapshot.h), and sepia-vmm started with all of it (launcher/vmm_child.h). */
#include <errno.h>

#include "block/block.h"
#include "bootloader/bootdisk.h"
#include "launcher/file_modes.h"
#include "launcher/monitor_boot.h"
#include "launcher/suspend.h"

bool monitor_boot_start(Monitor *m, const VmmChildEvents *events, GError **error)
{
	g_autofree char *work = g_build_filename(m->inst.dir, "bootloader", NULL);
	SepiaBootOptions opts = { .trusted_key = m->avb_key,
				  .out_dir = work,
				  .serialno = m->inst.serial_number };
	g_autoptr(SepiaBootResult) res = NULL;
	gint64 t0 = g_get_monotonic_time();
	if (g_mkdir_with_parents(work, LAUNCHER_DIR_MODE) < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "%s: %s", work, g_strerror(errno));
		return false;
	}
	/* Where the overlay's backing chain lives: its composite and the files that maps. */
	const char *image_dirs[] = { m->inst.dir, m->inst.assembly_dir, m->system_image_dir, NULL };
	for (guint i = 0; image_dirs[i]; i++)
		if (!block_allow_image_dir(image_dirs[i], error))
			return false;
	if (!sepia_bootdisk_run_bootloader(m->inst.overlay_path, work, &opts, &res, error))
		return false;
	m->slot = res->slot;
	g_strlcpy(m->slot_suffix, res->suffix, sizeof(m->slot_suffix));
	m->boot_state = res->state;
	g_autofree char *note = g_strdup_printf(
		"bootloader: slot %s, verified boot state %s, boot image v%u (%.0f ms)%s%s", res->suffix,
		sepia_boot_state_name(res->state), res->boot_header_version,
		(double)(g_get_monotonic_time() - t0) / 1000.0,
		res->verification_error ? "; verification: " : "",
		res->verification_error ? res->verification_error : "");
	launcher_log_text(m->inst.name, note);

	g_autoptr(GPtrArray) nets = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) cmdline = g_string_new(res->cmdline);
	launcher_instance_networks(&m->inst, nets, cmdline);
	g_ptr_array_add(nets, NULL);
	if (m->extra_cmdline && *m->extra_cmdline)
		g_string_append_printf(cmdline, " %s", m->extra_cmdline);
	/* Only the first boot comes from --snapshot_path: a reboot, restart or powerwash is cold,
	 * or restores the boot snapshot when its key matches. */
	g_clear_pointer(&m->restored_from, g_free);
	if (m->snapshot_path && !m->boots)
		m->restored_from = suspend_instance_dir(m->snapshot_path, m->inst.name);
	bool boot_snapshot = !m->restored_from && m->boot_snapshot.cache;
	if (boot_snapshot)
		g_string_append(cmdline, " sepia.boot_snapshot=1");
	g_autofree char *vmm_path = launcher_sibling_program("sepia-vmm");
	g_autofree char *kernel_log = g_build_filename(m->inst.logs_dir, "kernel.log", NULL);
	g_autofree char *logcat_log = g_build_filename(m->inst.logs_dir, "logcat", NULL);
	g_autofree char *api_socket = g_build_filename(m->inst.dir, "vmm_api.sock", NULL);
	if (boot_snapshot) {
		g_autofree char *guest_cmdline = vmm_child_kernel_cmdline(cmdline->str, m->console);
		g_autofree char *manifest = g_build_filename(m->inst.assembly_dir, "manifest.json", NULL);
		BootSnapshotInputs in = {
			.vmm_path = vmm_path,
			.manifest_path = manifest,
			.slot_suffix = m->slot_suffix,
			.avb_state = sepia_boot_state_name(m->boot_state),
			.cpus = m->cpus,
			.memory_mb = m->memory_mb,
			.gpu = m->gpu,
			.displays = (const char *const *)m->displays,
			.nets = (const char *const *)nets->pdata,
			.vsock_cid = m->inst.vsock_cid,
			.rng = m->enable_rng,
			.input = true,
			.cmdline = guest_cmdline,
		};
		const char *entry = boot_snapshot_prepare(&m->boot_snapshot, m->inst.name, &in);
		m->restored_from = entry ? g_strdup(entry) : NULL;
	}
	VmmChildConfig cfg = {
		.vmm_path = vmm_path,
		.kernel = res->kernel_path,
		.initrd = res->ramdisk_path,
		.cmdline = cmdline->str,
		.disk = m->inst.overlay_path,
		.disk_format = "qcow2",
		.allowed_image_dirs = image_dirs,
		.cpus = m->cpus,
		.memory_mb = m->memory_mb,
		.kernel_log = kernel_log,
		.kernel_log_max_bytes = m->kernel_log_max_mb << 20,
		.logcat_log = logcat_log,
		.console_link = m->console ? m->inst.console_link : NULL,
		.name = m->inst.name,
		.vsock_cid = m->inst.vsock_cid,
		.vsock_socket = m->inst.vsock_socket,
		.nets = (const char *const *)nets->pdata,
		.gpu = m->gpu,
		.displays = (const char *const *)m->displays,
		.framebuffer_dir = m->inst.dir,
		.sandbox = m->sandbox,
		.instance_num = m->inst.num,
		.input_dir = m->inst.dir,
		.rng = m->enable_rng,
		.api_socket = api_socket,
		.restore_dir = m->restored_from,
		.restore_boot_snapshot = boot_snapshot && m->restored_from,
	};
	m->vmm = vmm_child_start(&cfg, events, m, error);
	return m->vmm != NULL;
}
