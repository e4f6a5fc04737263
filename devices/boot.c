/* Kernel loading. Facts from the Linux x86 boot protocol (Documentation/arch/x86/boot.rst)
 * and the PVH boot ABI (xen/include/public/arch-x86/hvm/start_info.h). */
#include "devices/boot.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/byteorder.h"
#include "devices/layout.h"
#include "devices/unpack.h"
#include "common/error.h"

/* Offsets into the zero page (struct boot_params) and its setup header. */
#define BP_ACPI_RSDP     0x070
#define BP_E820_ENTRIES  0x1e8
#define BP_SETUP_SECTS   0x1f1
#define BP_BOOT_FLAG     0x1fe
#define BP_JUMP          0x200
#define BP_HEADER        0x202
#define BP_VERSION       0x206
#define BP_LOADER_TYPE   0x210
#define BP_LOADFLAGS     0x211
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE  0x21c
#define BP_HEAP_END      0x224
#define BP_CMDLINE_PTR   0x228
#define BP_INITRD_MAX    0x22c
#define BP_KERNEL_ALIGN  0x230
#define BP_XLOADFLAGS    0x236
#define BP_CMDLINE_SIZE  0x238
#define BP_PAYLOAD_OFF   0x248
#define BP_PAYLOAD_LEN   0x24c
#define BP_PREF_ADDRESS  0x258
#define BP_INIT_SIZE     0x260
#define BP_E820_TABLE    0x2d0
#define BP_E820_MAX      128

#define LOADED_HIGH   0x01
#define CAN_USE_HEAP  0x80
#define XLF_KERNEL_64 0x01

#define PVH_MAGIC                0x336ec578u
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};
struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static uint64_t low_ram_end(const struct guest_mem *mem) { return mem->region[0].gpa + mem->region[0].size; }

unsigned int boot_e820(const struct guest_mem *mem, struct e820_entry *e, unsigned int max)
{
	unsigned int n = 0;
	if (max < 3 + GUEST_MEM_MAX_REGIONS)
		return 0;
	e[n++] = (struct e820_entry){ 0, LAYOUT_EBDA_START, 1 };
	e[n++] = (struct e820_entry){ LAYOUT_EBDA_START, LAYOUT_HIGH_MEM - LAYOUT_EBDA_START, 2 };
	e[n++] = (struct e820_entry){ LAYOUT_HIGH_MEM, low_ram_end(mem) - LAYOUT_HIGH_MEM, 1 };
	for (unsigned int i = 1; i < mem->nr_regions; i++)
		e[n++] = (struct e820_entry){ mem->region[i].gpa, mem->region[i].size, 1 };
	return n;
}

/* Copies [off, off+len) of the file into guest RAM at gpa. */
static bool copy_to_guest(const struct guest_mem *mem, uint64_t gpa, const uint8_t *data, uint64_t len,
			  const char *what, GError **error)
{
	if (len == 0)
		return true;
	void *dst = guest_mem_ptr(mem, gpa, len);
	if (!dst) {
		g_set_error(error, SEPIA_ERROR, ERANGE,
			    "%s: %" G_GUINT64_FORMAT " bytes at 0x%" G_GINT64_MODIFIER
			    "x do not fit in guest RAM "
			    "(give the VM more memory with --mem)",
			    what, len, gpa);
		return false;
	}
	memcpy(dst, data, len);
	return true;
}

static bool load_cmdline(const struct guest_mem *mem, const char *cmdline, uint64_t max, GError **error)
{
	size_t len = strlen(cmdline) + 1;
	if (len > max || len > LAYOUT_CMDLINE_MAX) {
		g_set_error(error, SEPIA_ERROR, E2BIG,
			    "kernel command line is %zu bytes, the kernel accepts %" G_GUINT64_FORMAT, len,
			    (uint64_t)MIN(max, LAYOUT_CMDLINE_MAX));
		return false;
	}
	return copy_to_guest(mem, LAYOUT_CMDLINE, (const uint8_t *)cmdline, len, "command line", error);
}

/* The initrd goes as high as the kernel allows, below the 32-bit hole, page aligned. It is
 * read straight into guest RAM: a copy in the VMM's heap first would add the whole initrd
 * (megabytes) to the VMM's peak RSS for nothing. */
static bool load_initrd(const struct guest_mem *mem, const char *path, uint64_t max_addr, uint64_t kernel_end,
			uint64_t *gpa, uint64_t *size, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "initrd: %s: %s", path, g_strerror(errno));
		return false;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "initrd: %s: not a regular file", path);
		close(fd);
		return false;
	}
	uint64_t len = (uint64_t)st.st_size;
	uint64_t top = MIN(low_ram_end(mem), max_addr + 1);
	if (len > top || ((top - len) & ~0xfffULL) < kernel_end) {
		g_set_error(error, SEPIA_ERROR, ENOSPC,
			    "initrd %s (%" G_GUINT64_FORMAT " bytes) does not fit between the kernel and "
			    "0x%" G_GINT64_MODIFIER "x; give the VM more memory with --mem",
			    path, len, top);
		close(fd);
		return false;
	}
	*gpa = (top - len) & ~0xfffULL;
	*size = len;
	uint8_t *dst = len ? guest_mem_ptr(mem, *gpa, len) : NULL;
	if (len && !dst) {
		g_set_error(error, SEPIA_ERROR, ERANGE,
			    "initrd %s: 0x%" G_GINT64_MODIFIER "x is not in guest RAM", path, *gpa);
		close(fd);
		return false;
	}
	for (uint64_t done = 0; done < len;) {
		ssize_t n = pread(fd, dst + done, MIN(len - done, (uint64_t)1 << 30), (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error(error, SEPIA_ERROR, n < 0 ? errno : EIO,
				    "initrd %s: read at byte %" G_GUINT64_FORMAT ": %s", path, done,
				    n < 0 ? g_strerror(errno) : "the file shrank while it was read");
			close(fd);
			return false;
		}
		done += (uint64_t)n;
	}
	close(fd);
	return true;
}

static void write_zero_page_common(const struct guest_mem *mem, uint8_t *zp, const struct boot_params_in *in,
				   uint64_t initrd_gpa, uint64_t initrd_size)
{
	struct e820_entry e[8];
	unsigned int n = boot_e820(mem, e, 8);
	zp[BP_E820_ENTRIES] = n;
	memcpy(zp + BP_E820_TABLE, e, n * sizeof(e[0]));
	put_le64(zp + BP_ACPI_RSDP, in->rsdp);
	zp[BP_LOADER_TYPE] = 0xff;
	zp[BP_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	put_le16(zp + BP_HEAP_END, 0xfe00);
	put_le32(zp + BP_CMDLINE_PTR, LAYOUT_CMDLINE);
	put_le32(zp + BP_RAMDISK_IMAGE, initrd_gpa);
	put_le32(zp + BP_RAMDISK_SIZE, initrd_size);
}

/* What the loader needs of an ELF file's header, the same for ELF32 and ELF64. */
struct elf_file {
	bool is64;
	uint64_t entry, phoff;
	unsigned int phnum, phentsize;
};

/* A program header, from an Elf32_Phdr or an Elf64_Phdr. */
struct elf_segment {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

static bool elf_parse(const uint8_t *img, size_t len, struct elf_file *ef);
static bool load_elf_segments(const struct guest_mem *mem, const char *path, const uint8_t *img, size_t len,
			      const struct elf_file *ef, uint64_t *end, GError **error);

/* The payload decompressed here and its ELF loaded where the kernel's decompressor would
 * put it (no KASLR): the kernel proper is then entered at startup_64 directly.
 * 1: loaded, *entry and *end set; 0: format not known here; -1: error set. */
static int load_bzimage_unpacked(const struct guest_mem *mem, const char *path, const uint8_t *img,
				 size_t len, size_t setup_size, uint64_t *entry, uint64_t *end,
				 const char **format, GError **error)
{
	uint32_t off = get_le32(img + BP_PAYLOAD_OFF), plen = get_le32(img + BP_PAYLOAD_LEN);
	if (off > len - setup_size || plen > len - setup_size - off) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "%s: payload (offset %u, %u bytes) runs past the end of the file", path, off,
			    plen);
		return -1;
	}
	g_autoptr(GError) unpack_error = NULL;
	g_autoptr(GBytes) elf = unpack_kernel_payload(img + setup_size + off, plen, format, &unpack_error);
	if (!elf) {
		if (g_error_matches(unpack_error, SEPIA_UNPACK_ERROR, ENOTSUP))
			return 0;
		g_set_error(error, SEPIA_ERROR, EINVAL, "%s: %s payload: %s", path, *format,
			    unpack_error->message);
		return -1;
	}
	gsize elf_len;
	const uint8_t *e = g_bytes_get_data(elf, &elf_len);
	struct elf_file ef;
	if (!elf_parse(e, elf_len, &ef) || !ef.is64) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "%s: the decompressed payload is not a 64-bit x86 ELF", path);
		return -1;
	}
	if (!load_elf_segments(mem, path, e, elf_len, &ef, end, error))
		return -1;
	*entry = ef.entry;
	return 1;
}

static bool load_bzimage(const struct guest_mem *mem, const struct boot_params_in *in, const uint8_t *img,
			 size_t len, struct boot_info *out, GError **error)
{
	if (len < 0x300 || get_le32(img + BP_HEADER) != 0x53726448 /* "HdrS" */) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "%s: not a bzImage (no HdrS signature)", in->kernel);
		return false;
	}
	uint16_t version = get_le16(img + BP_VERSION);
	if (version < 0x20c || !(get_le16(img + BP_XLOADFLAGS) & XLF_KERNEL_64)) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "%s: boot protocol %u.%02u without a 64-bit entry point; sepia-vmm needs 2.12+ "
			    "(Linux 3.8+)",
			    in->kernel, version >> 8, version & 0xff);
		return false;
	}
	unsigned int setup_sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
	size_t setup_size = (setup_sects + 1) * 512;
	if (setup_size >= len) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "%s: setup (%zu bytes) runs past the end of the file",
			    in->kernel, setup_size);
		return false;
	}

	uint64_t entry, end;
	const char *format = NULL;
	int unpacked = in->unpack_on_host ? load_bzimage_unpacked(mem, in->kernel, img, len, setup_size,
								  &entry, &end, &format, error)
					  : 0;
	if (unpacked < 0)
		return false;
	if (unpacked) {
		g_snprintf(out->format, sizeof(out->format), "bzImage (%s payload unpacked by sepia-vmm)",
			   format);
	} else {
		/* Loading at the preferred address spares the decompressor a move of itself. */
		uint64_t load = get_le64(img + BP_PREF_ADDRESS);
		uint64_t init_size = get_le32(img + BP_INIT_SIZE);
		if (load < LAYOUT_HIGH_MEM || load + MAX(init_size, len) > low_ram_end(mem))
			load = LAYOUT_HIGH_MEM;
		if (!copy_to_guest(mem, load, img + setup_size, len - setup_size, in->kernel, error))
			return false;
		entry = load + 0x200;
		end = load + MAX(init_size, len - setup_size);
		g_strlcpy(out->format, "bzImage", sizeof(out->format));
	}

	uint64_t initrd_gpa = 0, initrd_size = 0;
	if (in->initrd && !load_initrd(mem, in->initrd, get_le32(img + BP_INITRD_MAX), end, &initrd_gpa,
				       &initrd_size, error))
		return false;
	if (!load_cmdline(mem, in->cmdline, get_le32(img + BP_CMDLINE_SIZE) + 1, error))
		return false;

	uint8_t *zp = guest_mem_ptr(mem, LAYOUT_ZERO_PAGE, 4096);
	memset(zp, 0, 4096);
	/* The setup header runs from 0x1f1 to the end given by the jump at 0x200. */
	size_t hdr_end = 0x202 + img[BP_JUMP + 1];
	memcpy(zp + BP_SETUP_SECTS, img + BP_SETUP_SECTS, MIN(hdr_end, 0x290u) - BP_SETUP_SECTS);
	write_zero_page_common(mem, zp, in, initrd_gpa, initrd_size);

	out->protocol = BOOT_LINUX64;
	out->entry = entry;
	out->boot_data = LAYOUT_ZERO_PAGE;
	return true;
}

/* The ELF header when img is a little-endian x86 ELF, 64-bit (x86-64) or 32-bit (i386),
 * whose program header table lies in the file. */
static bool elf_parse(const uint8_t *img, size_t len, struct elf_file *ef)
{
	if (len < sizeof(Elf32_Ehdr) || memcmp(img, ELFMAG, SELFMAG) || img[EI_DATA] != ELFDATA2LSB)
		return false;
	if (img[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;
		if (len < sizeof(eh))
			return false;
		memcpy(&eh, img, sizeof(eh));
		if (eh.e_machine != EM_X86_64 || eh.e_phentsize < sizeof(Elf64_Phdr))
			return false;
		*ef = (struct elf_file){ true, eh.e_entry, eh.e_phoff, eh.e_phnum, eh.e_phentsize };
	} else if (img[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;
		memcpy(&eh, img, sizeof(eh));
		if (eh.e_machine != EM_386 || eh.e_phentsize < sizeof(Elf32_Phdr))
			return false;
		*ef = (struct elf_file){ false, eh.e_entry, eh.e_phoff, eh.e_phnum, eh.e_phentsize };
	} else {
		return false;
	}
	return ef->phoff <= len && (uint64_t)ef->phnum * ef->phentsize <= len - ef->phoff;
}

/* Program header i of a file elf_parse() accepted. */
static struct elf_segment elf_segment(const uint8_t *img, const struct elf_file *ef, unsigned int i)
{
	const uint8_t *p = img + ef->phoff + (uint64_t)i * ef->phentsize;
	if (ef->is64) {
		Elf64_Phdr ph;
		memcpy(&ph, p, sizeof(ph));
		return (struct elf_segment){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz };
	}
	Elf32_Phdr ph;
	memcpy(&ph, p, sizeof(ph));
	return (struct elf_segment){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz };
}

/* ELF: PT_LOAD segments go to their physical addresses. Returns the highest end. */
static bool load_elf_segments(const struct guest_mem *mem, const char *path, const uint8_t *img, size_t len,
			      const struct elf_file *ef, uint64_t *end, GError **error)
{
	*end = 0;
	for (unsigned int i = 0; i < ef->phnum; i++) {
		struct elf_segment ph = elf_segment(img, ef, i);
		if (ph.type != PT_LOAD)
			continue;
		if (ph.offset > len || ph.filesz > len - ph.offset || ph.filesz > ph.memsz) {
			g_set_error(error, SEPIA_ERROR, EINVAL, "%s: segment %u lies outside the file", path,
				    i);
			return false;
		}
		uint8_t *dst = guest_mem_ptr(mem, ph.paddr, ph.memsz);
		if (!dst || ph.paddr < LAYOUT_HIGH_MEM) {
			g_set_error(error, SEPIA_ERROR, ERANGE,
				    "%s: segment %u (0x%" G_GINT64_MODIFIER "x, %" G_GUINT64_FORMAT
				    " bytes) is not in guest RAM above 1 MiB; "
				    "give the VM more memory with --mem",
				    path, i, ph.paddr, ph.memsz);
			return false;
		}
		memcpy(dst, img + ph.offset, ph.filesz);
		memset(dst + ph.filesz, 0, ph.memsz - ph.filesz);
		*end = MAX(*end, ph.paddr + ph.memsz);
	}
	return true;
}

/* The PVH entry is an ELF note "Xen" of type XEN_ELFNOTE_PHYS32_ENTRY, its value 4 or 8
 * bytes (ELF32 and ELF64 files use the same note layout). 0 when absent. */
static uint64_t find_pvh_entry(const uint8_t *img, size_t len, const struct elf_file *ef)
{
	for (unsigned int i = 0; i < ef->phnum; i++) {
		struct elf_segment ph = elf_segment(img, ef, i);
		if (ph.type != PT_NOTE || ph.offset > len || ph.filesz > len - ph.offset)
			continue;
		uint64_t off = ph.offset, end = ph.offset + ph.filesz;
		while (end - off >= 12) {
			uint32_t namesz = get_le32(img + off), descsz = get_le32(img + off + 4),
				 type = get_le32(img + off + 8);
			uint64_t name = off + 12, desc = name + ((namesz + 3ULL) & ~3ULL);
			uint64_t next = desc + ((descsz + 3ULL) & ~3ULL);
			if (next > end)
				break;
			if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && !memcmp(img + name, "Xen", 4))
				return descsz >= 8   ? get_le64(img + desc)
				       : descsz >= 4 ? get_le32(img + desc)
						     : 0;
			off = next;
		}
	}
	return 0;
}

static bool write_pvh_start_info(const struct guest_mem *mem, const struct boot_params_in *in,
				 uint64_t initrd_gpa, uint64_t initrd_size)
{
	/* start info, then one module entry, then the memory map, all in one page. */
	uint8_t *page = guest_mem_ptr(mem, LAYOUT_PVH_START_INFO, 4096);
	memset(page, 0, 4096);
	struct hvm_start_info *si = (struct hvm_start_info *)page;
	struct hvm_modlist_entry *mod = (struct hvm_modlist_entry *)(page + 64);
	struct hvm_memmap_entry *map = (struct hvm_memmap_entry *)(page + 128);
	struct e820_entry e[8];
	unsigned int n = boot_e820(mem, e, 8);
	for (unsigned int i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_entry){ e[i].addr, e[i].size, e[i].type, 0 };
	si->magic = PVH_MAGIC;
	si->version = 1;
	si->cmdline_paddr = LAYOUT_CMDLINE;
	si->rsdp_paddr = in->rsdp;
	si->memmap_paddr = LAYOUT_PVH_START_INFO + 128;
	si->memmap_entries = n;
	if (initrd_size) {
		mod->paddr = initrd_gpa;
		mod->size = initrd_size;
		si->nr_modules = 1;
		si->modlist_paddr = LAYOUT_PVH_START_INFO + 64;
	}
	return true;
}

static bool load_elf(const struct guest_mem *mem, const struct boot_params_in *in, const uint8_t *img,
		     size_t len, struct boot_info *out, GError **error)
{
	struct elf_file ef;
	if (!elf_parse(img, len, &ef)) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "%s: not a little-endian x86 ELF (64-bit x86-64 or 32-bit i386) with a valid "
			    "program header table",
			    in->kernel);
		return false;
	}
	uint64_t pvh = find_pvh_entry(img, len, &ef);
	if (!ef.is64 && !pvh) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "%s: a 32-bit ELF without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); sepia-vmm "
			    "boots 32-bit ELFs through PVH only",
			    in->kernel);
		return false;
	}
	if (pvh > 0xffffffffULL) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "%s: the PVH entry 0x%" G_GINT64_MODIFIER "x is not a 32-bit address", in->kernel,
			    pvh);
		return false;
	}
	uint64_t end;
	if (!load_elf_segments(mem, in->kernel, img, len, &ef, &end, error))
		return false;
	uint64_t initrd_gpa = 0, initrd_size = 0;
	if (in->initrd && !load_initrd(mem, in->initrd, 0xffffffffULL, end, &initrd_gpa, &initrd_size, error))
		return false;
	if (!load_cmdline(mem, in->cmdline, LAYOUT_CMDLINE_MAX, error))
		return false;

	if (pvh) {
		write_pvh_start_info(mem, in, initrd_gpa, initrd_size);
		out->protocol = BOOT_PVH;
		out->entry = pvh;
		out->boot_data = LAYOUT_PVH_START_INFO;
		g_strlcpy(out->format, ef.is64 ? "PVH ELF" : "PVH ELF32", sizeof(out->format));
		return true;
	}
	/* A vmlinux without the PVH note: 64-bit boot protocol with a synthetic header. */
	uint8_t *zp = guest_mem_ptr(mem, LAYOUT_ZERO_PAGE, 4096);
	memset(zp, 0, 4096);
	put_le16(zp + BP_BOOT_FLAG, 0xaa55);
	put_le32(zp + BP_HEADER, 0x53726448);
	put_le16(zp + BP_VERSION, 0x20c);
	put_le32(zp + BP_KERNEL_ALIGN, 0x1000000);
	write_zero_page_common(mem, zp, in, initrd_gpa, initrd_size);
	out->protocol = BOOT_LINUX64;
	out->entry = ef.entry;
	out->boot_data = LAYOUT_ZERO_PAGE;
	g_strlcpy(out->format, "ELF vmlinux", sizeof(out->format));
	return true;
}

bool boot_load(const struct guest_mem *mem, const struct boot_params_in *in, struct boot_info *out,
	       GError **error)
{
	/* Mapped, not read: only the pages the loader copies become resident, so an ELF
	 * vmlinux's symbols and debug sections (most of its file) never cost the VMM memory. */
	g_autoptr(GMappedFile) file = g_mapped_file_new(in->kernel, FALSE, error);
	if (!file) {
		g_prefix_error(error, "kernel: ");
		return false;
	}
	const uint8_t *img = (const uint8_t *)g_mapped_file_get_contents(file);
	gsize len = g_mapped_file_get_length(file);
	if (len >= 4 && !memcmp(img, ELFMAG, SELFMAG))
		return load_elf(mem, in, img, len, out, error);
	return load_bzimage(mem, in, img, len, out, error);
}

/* GDT: null, null, 64-bit code (0x10), data (0x18), 32-bit code (0x20), TSS (0x28). */
static const uint64_t boot_gdt[] = {
	0, 0, 0x00af9b000000ffffULL, 0x00cf93000000ffffULL, 0x00cf9b000000ffffULL, 0x00008b0000000067ULL,
};

static struct kvm_segment segment_from_gdt(uint64_t desc, uint16_t selector)
{
	return (struct kvm_segment){
		.base = ((desc >> 16) & 0xffffff) | (((desc >> 56) & 0xff) << 24),
		.limit = (uint32_t)((((desc >> 48) & 0xf) << 16) | (desc & 0xffff)),
		.selector = selector,
		.type = (desc >> 40) & 0xf,
		.present = (desc >> 47) & 1,
		.dpl = (desc >> 45) & 3,
		.db = (desc >> 54) & 1,
		.s = (desc >> 44) & 1,
		.l = (desc >> 53) & 1,
		.g = (desc >> 55) & 1,
	};
}

static void fix_limit(struct kvm_segment *s)
{
	if (s->g)
		s->limit = (s->limit << 12) | 0xfff;
}

bool boot_setup_cpu(const struct guest_mem *mem, int vcpu_fd, const struct boot_info *info, GError **error)
{
	struct kvm_sregs sregs;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "vcpu0: KVM_GET_SREGS: %s", g_strerror(errno));
		return false;
	}
	guest_mem_write(mem, LAYOUT_GDT, boot_gdt, sizeof(boot_gdt));
	sregs.gdt.base = LAYOUT_GDT;
	sregs.gdt.limit = sizeof(boot_gdt) - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;

	bool long_mode = info->protocol == BOOT_LINUX64;
	struct kvm_segment code = segment_from_gdt(boot_gdt[long_mode ? 2 : 4], long_mode ? 0x10 : 0x20);
	struct kvm_segment data = segment_from_gdt(boot_gdt[3], 0x18);
	struct kvm_segment tss = segment_from_gdt(boot_gdt[5], 0x28);
	fix_limit(&code);
	fix_limit(&data);
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = tss;
	sregs.cr0 = 0x11; /* PE | ET */
	sregs.cr4 = 0;
	sregs.efer = 0;

	if (long_mode) {
		/* Identity-map the first 4 GiB with 2 MiB pages. */
		uint64_t *pml4 = guest_mem_ptr(mem, LAYOUT_PML4, 4096);
		uint64_t *pdpt = guest_mem_ptr(mem, LAYOUT_PDPT, 4096);
		uint64_t *pd = guest_mem_ptr(mem, LAYOUT_PD, 4 * 4096);
		memset(pml4, 0, 4096);
		memset(pdpt, 0, 4096);
		pml4[0] = LAYOUT_PDPT | 0x3;
		for (unsigned int i = 0; i < 4; i++)
			pdpt[i] = (LAYOUT_PD + i * 4096ULL) | 0x3;
		for (unsigned int i = 0; i < 4 * 512; i++)
			pd[i] = ((uint64_t)i << 21) | 0x83; /* present, writable, 2 MiB */
		sregs.cr3 = LAYOUT_PML4;
		sregs.cr4 = 1u << 5;    /* PAE */
		sregs.cr0 = 0x80000011; /* PG | ET | PE */
		sregs.efer = 0x500;     /* LME | LMA */
	}
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "vcpu0: KVM_SET_SREGS: %s", g_strerror(errno));
		return false;
	}

	struct kvm_regs regs = { .rflags = 0x2, .rip = info->entry };
	if (long_mode)
		regs.rsi = info->boot_data;
	else
		regs.rbx = info->boot_data;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "vcpu0: KVM_SET_REGS: %s", g_strerror(errno));
		return false;
	}
	return true;
}
