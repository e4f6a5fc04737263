/* A vCPU's state for snapshots: everything KVM needs to resume it exactly. Saved from a
 * vCPU out of KVM_RUN (any pending I/O completed), restored into a freshly created one. */
#include "devices/vcpu_state.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/error.h"
#include "devices/snapshot.h"

#define MAX_MSRS     1024
#define MSR_IA32_TSC 0x10

static bool vcpu_ioctl(struct vcpu *v, unsigned long req, void *arg, const char *what, GError **error)
{
	if (ioctl(v->fd, req, arg) >= 0)
		return true;
	g_set_error(error, SEPIA_ERROR, errno, "vcpu%u: %s: %s", v->index, what, g_strerror(errno));
	return false;
}

/* The MSRs KVM reports (KVM_GET_MSR_INDEX_LIST), kept to those this vCPU lets us read. */
static GArray *vcpu_msr_list(struct vcpu *v, GError **error)
{
	g_autofree struct kvm_msr_list *list = g_malloc0(sizeof(*list) + MAX_MSRS * sizeof(uint32_t));
	list->nmsrs = MAX_MSRS;
	if (ioctl(v->vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "KVM_GET_MSR_INDEX_LIST: %s", g_strerror(errno));
		return NULL;
	}
	GArray *readable = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} one;
	for (uint32_t i = 0; i < list->nmsrs; i++) {
		memset(&one, 0, sizeof(one));
		one.hdr.nmsrs = 1;
		one.e.index = list->indices[i];
		if (ioctl(v->fd, KVM_GET_MSRS, &one) == 1)
			g_array_append_val(readable, list->indices[i]);
	}
	return readable;
}

static bool vcpu_save_msrs(struct vcpu *v, struct snap_writer *w, GError **error)
{
	g_autoptr(GArray) idx = vcpu_msr_list(v, error);
	if (!idx)
		return false;
	g_autofree struct kvm_msrs *msrs = g_malloc0(sizeof(*msrs) + idx->len * sizeof(struct kvm_msr_entry));
	msrs->nmsrs = idx->len;
	for (guint i = 0; i < idx->len; i++)
		msrs->entries[i].index = g_array_index(idx, uint32_t, i);
	int n = ioctl(v->fd, KVM_GET_MSRS, msrs);
	if (n != (int)idx->len) {
		g_set_error(error, SEPIA_ERROR, n < 0 ? errno : EIO,
			    "vcpu%u: KVM_GET_MSRS read %d of %u MSRs", v->index, n, idx->len);
		return false;
	}
	snap_put_u32(w, msrs->nmsrs);
	for (guint i = 0; i < msrs->nmsrs; i++) {
		snap_put_u32(w, msrs->entries[i].index);
		snap_put_u64(w, msrs->entries[i].data);
	}
	return true;
}

/* An MSR this host's KVM refuses to set is logged and skipped: the rest still go in. */
static bool vcpu_load_msrs(struct vcpu *v, struct snap_reader *r, GError **error)
{
	uint32_t n = snap_get_u32(r);
	if (n > MAX_MSRS) {
		snap_reader_fail(r);
		return snap_reader_done(r, error);
	}
	g_autofree struct kvm_msrs *msrs = g_malloc0(sizeof(*msrs) + n * sizeof(struct kvm_msr_entry));
	msrs->nmsrs = n;
	for (uint32_t i = 0; i < n; i++) {
		msrs->entries[i].index = snap_get_u32(r);
		msrs->entries[i].data = snap_get_u64(r);
	}
	if (r->failed)
		return snap_reader_done(r, error);
	/* The TSC goes on by the host time since the snapshot, as kvmclock does. */
	int khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	for (uint32_t i = 0; i < n && khz > 0; i++)
		if (msrs->entries[i].index == MSR_IA32_TSC)
			msrs->entries[i].data += v->vm->restore_gap_ns / 1000 * (uint64_t)khz / 1000;
	/* KVM_SET_MSRS stops at the first MSR it refuses and says how many it set before it. */
	uint32_t done = 0;
	g_autofree struct kvm_msrs *part = g_malloc0(sizeof(*part) + n * sizeof(struct kvm_msr_entry));
	while (done < n) {
		part->nmsrs = n - done;
		memcpy(part->entries, &msrs->entries[done], part->nmsrs * sizeof(struct kvm_msr_entry));
		int set = ioctl(v->fd, KVM_SET_MSRS, part);
		if (set < 0) {
			g_set_error(error, SEPIA_ERROR, errno, "vcpu%u: KVM_SET_MSRS: %s", v->index,
				    g_strerror(errno));
			return false;
		}
		done += (uint32_t)set;
		if (done < n) {
			g_message("vcpu%u: KVM refused MSR 0x%x = 0x%llx from the snapshot; skipped",
				  v->index, msrs->entries[done].index,
				  (unsigned long long)msrs->entries[done].data);
			done++;
		}
	}
	return true;
}

static int vcpu_xsave_size(struct vcpu *v)
{
#ifdef KVM_CAP_XSAVE2
	int size = ioctl(v->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	if (size > (int)sizeof(struct kvm_xsave))
		return size;
#endif
	return ioctl(v->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0 ? (int)sizeof(struct kvm_xsave)
									    : 0;
}

bool vcpu_save_state(struct vcpu *v, struct snap_writer *w, GError **error)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct kvm_mp_state mp;
	struct kvm_xcrs xcrs = { 0 };
	struct kvm_fpu fpu;
	if (!vcpu_ioctl(v, KVM_GET_REGS, &regs, "KVM_GET_REGS", error) ||
	    !vcpu_ioctl(v, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS", error) ||
	    !vcpu_ioctl(v, KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC", error) ||
	    !vcpu_ioctl(v, KVM_GET_VCPU_EVENTS, &events, "KVM_GET_VCPU_EVENTS", error) ||
	    !vcpu_ioctl(v, KVM_GET_DEBUGREGS, &debugregs, "KVM_GET_DEBUGREGS", error) ||
	    !vcpu_ioctl(v, KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE", error) ||
	    !vcpu_ioctl(v, KVM_GET_FPU, &fpu, "KVM_GET_FPU", error))
		return false;
	snap_put_blob(w, &regs, sizeof(regs));
	snap_put_blob(w, &sregs, sizeof(sregs));
	snap_put_blob(w, &fpu, sizeof(fpu));
	int xsave_size = vcpu_xsave_size(v);
	g_autofree uint8_t *xsave = g_malloc0(MAX(xsave_size, 1));
	unsigned long xsave_req = xsave_size > (int)sizeof(struct kvm_xsave) ?
#ifdef KVM_GET_XSAVE2
									     KVM_GET_XSAVE2
#else
									     KVM_GET_XSAVE
#endif
									     : KVM_GET_XSAVE;
	if (xsave_size && !vcpu_ioctl(v, xsave_req, xsave, "KVM_GET_XSAVE", error))
		return false;
	snap_put_blob(w, xsave, (size_t)xsave_size);
	bool have_xcrs = ioctl(v->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	if (have_xcrs && !vcpu_ioctl(v, KVM_GET_XCRS, &xcrs, "KVM_GET_XCRS", error))
		return false;
	snap_put_u8(w, have_xcrs);
	snap_put_blob(w, &xcrs, sizeof(xcrs));
	snap_put_blob(w, &lapic, sizeof(lapic));
	if (!vcpu_save_msrs(v, w, error))
		return false;
	snap_put_blob(w, &events, sizeof(events));
	snap_put_blob(w, &mp, sizeof(mp));
	snap_put_blob(w, &debugregs, sizeof(debugregs));
	return true;
}

/* The order follows what KVM needs: segments and control registers before the LAPIC
 * (its base is in sregs), the LAPIC before the MSRs (the TSC deadline needs its timer
 * mode), the pending events and the run state last. */
bool vcpu_load_state(struct vcpu *v, struct snap_reader *r, GError **error)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct kvm_mp_state mp;
	struct kvm_xcrs xcrs;
	snap_get_blob(r, &regs, sizeof(regs));
	snap_get_blob(r, &sregs, sizeof(sregs));
	snap_get_blob(r, &fpu, sizeof(fpu));
	size_t xsave_len;
	const uint8_t *xsave_ref = snap_get_blob_ref(r, 1u << 20, &xsave_len);
	bool have_xcrs = snap_get_u8(r);
	snap_get_blob(r, &xcrs, sizeof(xcrs));
	snap_get_blob(r, &lapic, sizeof(lapic));
	if (r->failed)
		return snap_reader_done(r, error);
	int xsave_size = vcpu_xsave_size(v);
	if (xsave_len != (size_t)xsave_size) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "snapshot: vcpu%u's XSAVE area is %zu bytes; this host's KVM uses %d", v->index,
			    xsave_len, xsave_size);
		return false;
	}
	if (!vcpu_ioctl(v, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS", error) ||
	    !vcpu_ioctl(v, KVM_SET_REGS, &regs, "KVM_SET_REGS", error) ||
	    !vcpu_ioctl(v, KVM_SET_FPU, &fpu, "KVM_SET_FPU", error))
		return false;
	if (xsave_len) {
		/* KVM_SET_XSAVE takes the larger area of XSAVE2 as well. */
		g_autofree uint8_t *xsave = g_memdup2(xsave_ref, xsave_len);
		if (!vcpu_ioctl(v, KVM_SET_XSAVE, xsave, "KVM_SET_XSAVE", error))
			return false;
	}
	if (have_xcrs && !vcpu_ioctl(v, KVM_SET_XCRS, &xcrs, "KVM_SET_XCRS", error))
		return false;
	if (!vcpu_ioctl(v, KVM_SET_LAPIC, &lapic, "KVM_SET_LAPIC", error) || !vcpu_load_msrs(v, r, error))
		return false;
	snap_get_blob(r, &events, sizeof(events));
	snap_get_blob(r, &mp, sizeof(mp));
	snap_get_blob(r, &debugregs, sizeof(debugregs));
	if (!snap_reader_done(r, error))
		return false;
	/* Restore what was pending, but not the SMM and latched-INIT state this machine never
	 * uses; the flags say which fields KVM is to take. */
	events.flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
			KVM_VCPUEVENT_VALID_SHADOW;
	return vcpu_ioctl(v, KVM_SET_VCPU_EVENTS, &events, "KVM_SET_VCPU_EVENTS", error) &&
	       vcpu_ioctl(v, KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE", error) &&
	       vcpu_ioctl(v, KVM_SET_DEBUGREGS, &debugregs, "KVM_SET_DEBUGREGS", error);
}
