/* The fallback emulator's view of guest-virtual memory: a page walk through the guest's
 * own tables (Intel SDM vol. 3 ch. 4), never trusting them to stay inside guest RAM. */
#define SEPIA_EMULATE_INTERNAL
#include "devices/emulate.h"

#include <errno.h>
#include <string.h>

int emu_walk(const struct guest_mem *mem, const struct kvm_sregs *s, uint64_t rflags, uint64_t la,
	     enum walk_access acc, uint64_t *gpa, uint32_t *pfec)
{
	bool user = (s->cs.selector & 3) == 3 && (s->cr0 & CR0_PE);
	*pfec = (acc == WALK_WRITE ? PFEC_W : 0) | (user ? PFEC_U : 0);

	if (!(s->cr0 & CR0_PG)) {
		*gpa = (s->efer & EFER_LMA) ? la : (la & 0xffffffffull);
		return 0;
	}

	/* Level layout per paging mode: shift of the lowest address bit each level
	 * indexes, index width, entry size, and whether PS makes it a leaf. */
	int shifts[5], nlevels, bits, esize;
	uint64_t table;
	bool pae_pdpt = false; /* PAE's PDPTEs carry no R/W/U bits */
	if (s->efer & EFER_LMA) {
		nlevels = (s->cr4 & CR4_LA57) ? 5 : 4;
		for (int i = 0; i < nlevels; i++)
			shifts[i] = 12 + 9 * (nlevels - 1 - i);
		bits = 9;
		esize = 8;
		table = s->cr3 & PTE_ADDR;
	} else if (s->cr4 & CR4_PAE) {
		nlevels = 3;
		shifts[0] = 30;
		shifts[1] = 21;
		shifts[2] = 12;
		bits = 9;
		esize = 8;
		table = s->cr3 & 0xffffffe0ull;
		pae_pdpt = true;
		la &= 0xffffffffull;
	} else {
		nlevels = 2;
		shifts[0] = 22;
		shifts[1] = 12;
		bits = 10;
		esize = 4;
		table = s->cr3 & 0xfffff000ull;
		la &= 0xffffffffull;
	}

	void *entry_ptr[5];
	bool writable = true, user_ok = true;
	int level;
	uint64_t e = 0, page_base = 0;
	int page_shift = 12;
	for (level = 0; level < nlevels; level++) {
		unsigned int idx = (la >> shifts[level]) & ((1u << bits) - 1);
		if (pae_pdpt && level == 0)
			idx = (la >> 30) & 3;
		void *p = guest_mem_ptr(mem, table + (uint64_t)idx * esize, esize);
		if (!p)
			return -EIO;
		entry_ptr[level] = p;
		if (esize == 8) {
			e = __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
		} else {
			e = __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
		}
		if (!(e & PTE_P))
			return -EFAULT;
		if (!(pae_pdpt && level == 0)) {
			writable = writable && (e & PTE_W);
			user_ok = user_ok && (e & PTE_U);
		}
		bool last = level == nlevels - 1;
		bool ps_allowed = (esize == 8) ? (shifts[level] == 21 || (shifts[level] == 30 && !pae_pdpt))
					       : (shifts[level] == 22 && (s->cr4 & CR4_PSE));
		/* 32-bit paging without CR4.PSE ignores PS; elsewhere it is a leaf or reserved */
		bool ps = (e & PTE_PS) && !(esize == 4 && !(s->cr4 & CR4_PSE));
		if (!last && ps) {
			if (!ps_allowed) {
				/* PS in a PML4E/PML5E/PDPTE(PAE) is a reserved bit */
				*pfec |= PFEC_P | PFEC_RSVD;
				return -EFAULT;
			}
			page_shift = shifts[level];
			if (esize == 4) /* 4 MiB page; PSE-36 keeps bits 39:32 in 20:13 */
				page_base = (e & 0xffc00000ull) | (((e >> 13) & 0xffull) << 32);
			else
				page_base = e & PTE_ADDR & ~((1ull << page_shift) - 1);
			break;
		}
		if (last) {
			page_base = e & (esize == 8 ? PTE_ADDR : 0xfffff000ull);
			break;
		}
		table = e & (esize == 8 ? PTE_ADDR : 0xfffff000ull);
	}
	/* NX/SMEP only concern instruction fetches, which the CPU already did: not checked. */

	if (acc != WALK_QUERY) {
		/* A present translation that forbids the access: P=1 in the error code. */
		bool smap = (s->cr4 & CR4_SMAP) && !user && !(rflags & RFLAGS_AC);
		if ((user && !user_ok) || (acc == WALK_WRITE && !writable && (user || (s->cr0 & CR0_WP))) ||
		    (!user && user_ok && smap)) {
			*pfec |= PFEC_P;
			return -EFAULT;
		}
		/* The CPU marks the entries it used as accessed, and the leaf dirty on a write. */
		for (int i = 0; i <= level; i++) {
			uint64_t set = PTE_A | (i == level && acc == WALK_WRITE ? PTE_D : 0);
			if (pae_pdpt && i == 0)
				continue;
			if (esize == 8)
				__atomic_fetch_or((uint64_t *)entry_ptr[i], set, __ATOMIC_RELAXED);
			else
				__atomic_fetch_or((uint32_t *)entry_ptr[i], (uint32_t)set, __ATOMIC_RELAXED);
		}
	}
	*gpa = page_base | (la & ((1ull << page_shift) - 1));
	return 0;
}

int emu_translate(const struct guest_mem *mem, const struct kvm_sregs *sregs, uint64_t gva, uint64_t *gpa)
{
	uint32_t pfec;
	return emu_walk(mem, sregs, 0, gva, WALK_QUERY, gpa, &pfec) ? -EFAULT : 0;
}

/* Bytes from gva to the end of its 4 KiB page (a large page is contiguous, so
 * stepping by 4 KiB is always correct). */
size_t emu_page_left(uint64_t gva) { return PAGE_SIZE - (gva & (PAGE_SIZE - 1)); }

int emu_read_virt(const struct guest_mem *mem, const struct kvm_sregs *sregs, uint64_t gva, void *buf,
		  size_t len)
{
	uint8_t *out = buf;
	while (len) {
		size_t n = len < emu_page_left(gva) ? len : emu_page_left(gva);
		uint64_t gpa;
		if (emu_translate(mem, sregs, gva, &gpa) || guest_mem_read(mem, gpa, out, n))
			return -EFAULT;
		out += n;
		gva += n;
		len -= n;
	}
	return 0;
}

int emu_write_virt(const struct guest_mem *mem, const struct kvm_sregs *sregs, uint64_t gva, const void *buf,
		   size_t len)
{
	/* Check every page first so a failing write leaves guest memory untouched. */
	uint64_t v = gva;
	size_t left = len;
	while (left) {
		size_t n = left < emu_page_left(v) ? left : emu_page_left(v);
		uint64_t gpa;
		if (emu_translate(mem, sregs, v, &gpa) || !guest_mem_ptr(mem, gpa, n))
			return -EFAULT;
		v += n;
		left -= n;
	}
	const uint8_t *in = buf;
	while (len) {
		size_t n = len < emu_page_left(gva) ? len : emu_page_left(gva);
		uint64_t gpa;
		emu_translate(mem, sregs, gva, &gpa);
		guest_mem_write(mem, gpa, in, n);
		in += n;
		gva += n;
		len -= n;
	}
	return 0;
}
