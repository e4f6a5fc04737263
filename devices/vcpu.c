/* One thread per vCPU: KVM_RUN, then dispatch the exit to the buses, the fallback
 * emulator, or the VM's end. */
#include "devices/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/error.h"
#include "devices/cpuid.h"
#include "devices/emulate.h"
#include "devices/layout.h"
#include "devices/sandbox/sandbox.h"

#define VCPU_KICK_SIGNAL SIGUSR1
#define APIC_LVT_LINT0   0x350
#define APIC_LVT_LINT1   0x360
#define APIC_MODE_EXTINT 0x7
#define APIC_MODE_NMI    0x4

static void vcpu_kick_handler(int sig) {}

/* CPUID as KVM supports it (read once, in vm_build), adapted for this vCPU: its own APIC
 * ID, and kvm-clock only where the VM offers it (devices/cpuid.c). */
static bool vcpu_set_cpuid(struct vcpu *v, GError **error)
{
	size_t size = sizeof(*v->vm->cpuid) + v->vm->cpuid->nent * sizeof(struct kvm_cpuid_entry2);
	g_autofree struct kvm_cpuid2 *cpuid = g_memdup2(v->vm->cpuid, size);
	struct cpuid_policy policy = { .index = v->index,
				       .cpus = v->vm->cfg->cpus,
				       .kvm_clock = v->vm->kvm_clock,
				       .kvm_pv = v->vm->kvm_pv };
	cpuid_adapt(cpuid, &policy);
	if (ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "vcpu%u: KVM_SET_CPUID2: %s", v->index,
			    g_strerror(errno));
		return false;
	}
	return true;
}

/* LINT0 receives the 8259's ExtINT, LINT1 NMIs, as on every PC. */
static bool vcpu_set_lint(struct vcpu *v, GError **error)
{
	struct kvm_lapic_state lapic;
	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "vcpu%u: KVM_GET_LAPIC: %s", v->index,
			    g_strerror(errno));
		return false;
	}
	uint32_t lint0, lint1;
	memcpy(&lint0, lapic.regs + APIC_LVT_LINT0, 4);
	memcpy(&lint1, lapic.regs + APIC_LVT_LINT1, 4);
	lint0 = (lint0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
	lint1 = (lint1 & ~0x700u) | (APIC_MODE_NMI << 8);
	memcpy(lapic.regs + APIC_LVT_LINT0, &lint0, 4);
	memcpy(lapic.regs + APIC_LVT_LINT1, &lint1, 4);
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "vcpu%u: KVM_SET_LAPIC: %s", v->index,
			    g_strerror(errno));
		return false;
	}
	return true;
}

bool vcpu_create(struct vm *vm, unsigned int index, GError **error)
{
	struct vcpu *v = &vm->vcpu[index];
	v->vm = vm;
	v->index = index;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, index);
	if (v->fd < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "vcpu%u: KVM_CREATE_VCPU: %s", index,
			    g_strerror(errno));
		return false;
	}
	int size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	v->run = size > 0 ? mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0)
			  : MAP_FAILED;
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		g_set_error(error, SEPIA_ERROR, errno, "vcpu%u: cannot map kvm_run: %s", index,
			    g_strerror(errno));
		return false;
	}
	v->run_size = (size_t)size;
	return vcpu_set_cpuid(v, error) && vcpu_set_lint(v, error);
}

static void vcpu_handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(&v->vm->host.pio, run->io.port, data, run->io.size);
		else
			bus_read(&v->vm->host.pio, run->io.port, data, run->io.size);
	}
}

static void vcpu_handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	if (run->mmio.is_write)
		bus_write(&v->vm->host.mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len);
	else
		bus_read(&v->vm->host.mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len);
}

static void vcpu_report_failure(struct vcpu *v, const char *what, const struct emu_vcpu *cpu,
				const char *detail)
{
	uint8_t bytes[EMU_MAX_INSN];
	size_t n = emu_fetch_insn(&v->vm->host.mem, cpu, bytes);
	GString *hex = g_string_new(NULL);
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(hex, "%s%02x", i ? " " : "", bytes[i]);
	g_critical("vcpu%u: %s at RIP 0x%llx (CR3 0x%llx), instruction bytes [%s]%s%s", v->index, what,
		   (unsigned long long)cpu->regs.rip, (unsigned long long)cpu->sregs.cr3, hex->str,
		   detail && *detail ? ": " : "", detail ? detail : "");
	g_string_free(hex, TRUE);
}

/* KVM gave up on an instruction. On an interpreting host, emulate it; else report. */
static bool vcpu_handle_emulation_failure(struct vcpu *v)
{
	struct emu_vcpu cpu = { .inject_vector = -1 };
	if (ioctl(v->fd, KVM_GET_REGS, &cpu.regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &cpu.sregs) < 0 ||
	    ioctl(v->fd, KVM_GET_FPU, &cpu.fpu) < 0) {
		g_critical("vcpu%u: cannot read registers after an emulation failure: %s", v->index,
			   g_strerror(errno));
		return false;
	}
	if (!v->vm->interpreting_host) {
		vcpu_report_failure(v, "KVM could not emulate an instruction", &cpu, NULL);
		return false;
	}
	char detail[128] = "";
	enum emu_result r = emu_step(&cpu, &v->vm->host.mem, detail, sizeof(detail));
	if (r != EMU_HANDLED) {
		vcpu_report_failure(v,
				    r == EMU_FAULT ? "unreadable instruction"
						   : "instruction the fallback emulator does not handle",
				    &cpu, detail);
		return false;
	}
	v->emulated++;
	if ((cpu.regs_changed && ioctl(v->fd, KVM_SET_REGS, &cpu.regs) < 0) ||
	    (cpu.sregs_changed && ioctl(v->fd, KVM_SET_SREGS, &cpu.sregs) < 0) ||
	    (cpu.fpu_changed && ioctl(v->fd, KVM_SET_FPU, &cpu.fpu) < 0)) {
		g_critical("vcpu%u: cannot write registers after emulating: %s", v->index, g_strerror(errno));
		return false;
	}
	if (cpu.inject_vector >= 0) {
		struct kvm_vcpu_events ev;
		if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0) {
			g_critical("vcpu%u: KVM_GET_VCPU_EVENTS: %s", v->index, g_strerror(errno));
			return false;
		}
		ev.exception.injected = 1;
		ev.exception.nr = (uint8_t)cpu.inject_vector;
		ev.exception.has_error_code = cpu.inject_has_error;
		ev.exception.error_code = cpu.inject_error;
		ev.flags = 0;
		if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0) {
			g_critical("vcpu%u: cannot inject exception %d: %s", v->index, cpu.inject_vector,
				   g_strerror(errno));
			return false;
		}
	}
	return true;
}

static bool vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(v);
		return true;
	case KVM_EXIT_HLT:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault resets a PC. */
		g_message("vcpu%u: triple fault: the guest resets", v->index);
		vm_request_exit(v->vm, VM_EXIT_RESET, 0);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vm_request_exit(v->vm,
				run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN ? VM_EXIT_POWEROFF
										    : VM_EXIT_RESET,
				0);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
		    vcpu_handle_emulation_failure(v))
			return true;
		if (run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION)
			g_critical("vcpu%u: KVM internal error, suberror %u", v->index,
				   run->internal.suberror);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		g_critical("vcpu%u: VM entry failed, hardware reason 0x%llx", v->index,
			   (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		g_critical("vcpu%u: unexpected KVM exit reason %u", v->index, run->exit_reason);
		break;
	}
	vm_request_exit(v->vm, VM_EXIT_ERROR, 1);
	return false;
}

/* A pause: wait, out of KVM_RUN, until vcpu_resume() or the VM's end. */
static void vcpu_park_here(struct vcpu *v)
{
	g_mutex_lock(&v->park_lock);
	v->parked = true;
	g_cond_broadcast(&v->park_cond);
	while (atomic_load(&v->pausing) && atomic_load(&v->vm->exit_reason) == VM_RUNNING)
		g_cond_wait(&v->park_cond, &v->park_lock);
	v->parked = false;
	g_mutex_unlock(&v->park_lock);
}

static void *vcpu_thread(void *data)
{
	struct vcpu *v = data;
	g_autofree gchar *name = g_strdup_printf("vcpu%u", v->index);
	pthread_setname_np(pthread_self(), name);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	sandbox_enter_role(SANDBOX_ROLE_VCPU);
	if (v->vm->cfg->restore_dir && v->index == 0 && !v->first_run_logged) {
		v->first_run_logged = true;
		g_message("vm: restored from %s: first guest instruction %.1f ms after sepia-vmm started",
			  v->vm->cfg->restore_dir, (g_get_monotonic_time() - v->vm->cfg->start_us) / 1000.0);
	}
	while (atomic_load(&v->vm->exit_reason) == VM_RUNNING) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			/* A pause leaves only here: a KVM_RUN after an I/O exit has completed that
			 * I/O before returning EINTR, so the saved state holds no half instruction. */
			if ((errno == EINTR || errno == EAGAIN) && atomic_load(&v->pausing)) {
				vcpu_park_here(v);
				continue;
			}
			if (errno == EINTR || errno == EAGAIN)
				continue;
			g_critical("vcpu%u: KVM_RUN: %s", v->index, g_strerror(errno));
			vm_request_exit(v->vm, VM_EXIT_ERROR, 1);
			break;
		}
		if (!vcpu_handle_exit(v))
			break;
	}
	g_mutex_lock(&v->park_lock);
	v->ended = true;
	g_cond_broadcast(&v->park_cond);
	g_mutex_unlock(&v->park_lock);
	return NULL;
}

void vcpu_start(struct vcpu *v)
{
	static bool handler_installed;
	if (!handler_installed) {
		struct sigaction sa = { .sa_handler = vcpu_kick_handler };
		sigemptyset(&sa.sa_mask);
		sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
		handler_installed = true;
	}
	if (!v->park_init) {
		g_mutex_init(&v->park_lock);
		g_cond_init(&v->park_cond);
		v->park_init = true;
	}
	v->ended = false;
	pthread_create(&v->thread, NULL, vcpu_thread, v);
	v->started = true;
}

void vcpu_stop(struct vcpu *v)
{
	if (!v->started)
		return;
	/* immediate_exit makes a KVM_RUN that starts after this return at once; the signal
	 * interrupts one already running. */
	v->run->immediate_exit = 1;
	/* A parked thread wakes on the broadcast and sees the VM's end (set before this). */
	g_mutex_lock(&v->park_lock);
	g_cond_broadcast(&v->park_cond);
	g_mutex_unlock(&v->park_lock);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	pthread_join(v->thread, NULL);
	v->started = false;
}

void vcpu_pause(struct vcpu *v)
{
	if (!v->started)
		return;
	atomic_store(&v->pausing, true);
	v->run->immediate_exit = 1;
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	g_mutex_lock(&v->park_lock);
	while (!v->parked && !v->ended)
		g_cond_wait(&v->park_cond, &v->park_lock);
	g_mutex_unlock(&v->park_lock);
}

void vcpu_resume(struct vcpu *v)
{
	if (!v->started) {
		vcpu_start(v);
		return;
	}
	g_mutex_lock(&v->park_lock);
	v->run->immediate_exit = 0;
	atomic_store(&v->pausing, false);
	g_cond_broadcast(&v->park_cond);
	g_mutex_unlock(&v->park_lock);
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd > 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}
