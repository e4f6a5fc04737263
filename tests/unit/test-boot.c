/* Unit tests of kernel loading (devices/boot.c) into fake guest RAM. Synthetic bzImages
 * and ELF files are written to a temporary directory; the checks read back the zero page
 * or the PVH start info the way a kernel would, at the offsets of the Linux x86 boot
 * protocol (Documentation/arch/x86/boot.rst) and the Xen PVH ABI (hvm/start_info.h). */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "devices/boot.h"
#include "devices/layout.h"
#include "tests/unit/fakemem.h"

#define MiB (1ULL << 20)

/* struct boot_params offsets. */
#define ZP_ACPI_RSDP     0x070
#define ZP_E820_ENTRIES  0x1e8
#define ZP_SETUP_SECTS   0x1f1
#define ZP_BOOT_FLAG     0x1fe
#define ZP_JUMP          0x200
#define ZP_HEADER        0x202
#define ZP_VERSION       0x206
#define ZP_LOADER_TYPE   0x210
#define ZP_LOADFLAGS     0x211
#define ZP_RAMDISK_IMAGE 0x218
#define ZP_RAMDISK_SIZE  0x21c
#define ZP_HEAP_END      0x224
#define ZP_CMDLINE_PTR   0x228
#define ZP_INITRD_MAX    0x22c
#define ZP_KERNEL_ALIGN  0x230
#define ZP_XLOADFLAGS    0x236
#define ZP_CMDLINE_SIZE  0x238
#define ZP_PREF_ADDRESS  0x258
#define ZP_INIT_SIZE     0x260
#define ZP_E820_TABLE    0x2d0
#define HDRS             0x53726448u

#define CMDLINE "console=ttyS0 root=/dev/vda rw"
#define RSDP    0xe0000ULL

struct fx {
	struct guest_mem mem;
	char *dir;
	GError *error;
	struct boot_info info;
};

static void fx_setup(struct fx *f, gconstpointer ram_size)
{
	fakemem_add(&f->mem, 0, ram_size ? GPOINTER_TO_SIZE(ram_size) : 64 * MiB);
	f->dir = g_dir_make_tmp("sepia-test-boot-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	GDir *d = g_dir_open(f->dir, 0, NULL);
	for (const char *name; d && (name = g_dir_read_name(d));) {
		g_autofree char *p = g_build_filename(f->dir, name, NULL);
		g_unlink(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(f->dir);
	g_free(f->dir);
	g_clear_error(&f->error);
	fakemem_free(&f->mem);
}

static char *write_file(struct fx *f, const char *name, const void *data, size_t len)
{
	char *path = g_build_filename(f->dir, name, NULL);
	g_assert_true(g_file_set_contents(path, data, len, NULL));
	return path;
}

static uint8_t *ram(struct fx *f, uint64_t gpa, uint64_t len) { return fakemem_at(&f->mem, gpa, len); }
static uint8_t zp8(struct fx *f, unsigned int off) { return *ram(f, LAYOUT_ZERO_PAGE + off, 1); }
static uint16_t zp16(struct fx *f, unsigned int off) { return fakemem_rd16(&f->mem, LAYOUT_ZERO_PAGE + off); }
static uint32_t zp32(struct fx *f, unsigned int off) { return fakemem_rd32(&f->mem, LAYOUT_ZERO_PAGE + off); }
static uint64_t zp64(struct fx *f, unsigned int off) { return fakemem_rd64(&f->mem, LAYOUT_ZERO_PAGE + off); }

static void w16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void w32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void w64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* A bzImage: the fields a 2.15 (0x20f) header has, then a patterned "kernel". */
struct bz {
	uint8_t setup_sects;
	uint16_t version;
	uint16_t xloadflags;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t initrd_max;
	uint32_t cmdline_size;
	size_t payload; /* bytes after the setup sectors */
};

static const struct bz bz_default = {
	.setup_sects = 3,
	.version = 0x20f,
	.xloadflags = 0x3,
	.pref_address = 16 * MiB,
	.init_size = 4 * MiB,
	.initrd_max = 0x7fffffff,
	.cmdline_size = 2047,
	.payload = 64 * 1024,
};

static uint8_t pattern(size_t i) { return (uint8_t)(i * 7 + (i >> 9)); }
static uint8_t initrd_pattern(size_t i) { return (uint8_t)(i * 13 + 0x55); }

static uint8_t *make_bzimage(const struct bz *b, size_t *len)
{
	size_t setup = ((b->setup_sects ? b->setup_sects : 4) + 1) * 512;
	*len = setup + b->payload;
	uint8_t *img = g_malloc0(*len);
	img[ZP_SETUP_SECTS] = b->setup_sects;
	w16(img + ZP_BOOT_FLAG, 0xaa55);
	img[ZP_JUMP] = 0xeb;
	img[ZP_JUMP + 1] = 0x6a; /* header ends at 0x26c */
	w32(img + ZP_HEADER, HDRS);
	w16(img + ZP_VERSION, b->version);
	img[ZP_LOADFLAGS] = 0x01; /* LOADED_HIGH */
	w32(img + ZP_INITRD_MAX, b->initrd_max);
	w32(img + ZP_KERNEL_ALIGN, 2 * MiB);
	w16(img + ZP_XLOADFLAGS, b->xloadflags);
	w32(img + ZP_CMDLINE_SIZE, b->cmdline_size);
	w64(img + ZP_PREF_ADDRESS, b->pref_address);
	w32(img + ZP_INIT_SIZE, b->init_size);
	memset(img + 0x26c, 0x5a, 0x290 - 0x26c); /* beyond the header: not to be copied */
	for (size_t i = 0; i < b->payload; i++)
		img[setup + i] = pattern(i);
	return img;
}

static char *write_bzimage(struct fx *f, const struct bz *b)
{
	size_t len;
	g_autofree uint8_t *img = make_bzimage(b, &len);
	return write_file(f, "bzImage", img, len);
}

static char *write_initrd(struct fx *f, size_t len)
{
	g_autofree uint8_t *data = g_malloc(len);
	for (size_t i = 0; i < len; i++)
		data[i] = initrd_pattern(i);
	return write_file(f, "initrd", data, len);
}

static bool load_with(struct fx *f, const char *kernel, const char *initrd, const char *cmdline,
		      bool unpack_on_host)
{
	struct boot_params_in in = { .kernel = kernel,
				     .initrd = initrd,
				     .cmdline = cmdline,
				     .rsdp = RSDP,
				     .unpack_on_host = unpack_on_host };
	bool ok = boot_load(&f->mem, &in, &f->info, &f->error);
	g_assert_true(ok == (f->error == NULL));
	return ok;
}

static bool load(struct fx *f, const char *kernel, const char *initrd, const char *cmdline)
{
	return load_with(f, kernel, initrd, cmdline, false);
}

/* Loading must fail with a message that names the offending file. */
static void expect_error_naming(struct fx *f, const char *kernel, const char *initrd, const char *named)
{
	g_assert_false(load(f, kernel, initrd, CMDLINE));
	g_test_message("expected error: %s", f->error->message);
	if (!strstr(f->error->message, named))
		g_error("error \"%s\" does not name %s", f->error->message, named);
	g_clear_error(&f->error);
}

static void check_kernel(struct fx *f, uint64_t gpa, size_t len)
{
	const uint8_t *k = ram(f, gpa, len);
	for (size_t i = 0; i < len; i++)
		if (k[i] != pattern(i))
			g_error("kernel byte %zu differs", i);
}

static void check_initrd(struct fx *f, uint64_t gpa, size_t len, uint64_t above, uint64_t limit)
{
	g_assert_cmpuint(gpa % 4096, ==, 0);
	g_assert_cmpuint(gpa, >=, above);
	g_assert_cmpuint(gpa + len, <=, limit);
	const uint8_t *p = ram(f, gpa, len);
	for (size_t i = 0; i < len; i++)
		if (p[i] != initrd_pattern(i))
			g_error("initrd byte %zu differs", i);
}

/* The e820 map of one 64 MiB region: low RAM, the EBDA/BIOS hole, RAM from 1 MiB. */
static void check_e820_64m(const struct e820_entry *e, unsigned int n)
{
	g_assert_cmpuint(n, ==, 3);
	g_assert_cmpuint(e[0].addr, ==, 0);
	g_assert_cmpuint(e[0].size, ==, 0x9fc00);
	g_assert_cmpuint(e[0].type, ==, 1);
	g_assert_cmpuint(e[1].addr, ==, 0x9fc00);
	g_assert_cmpuint(e[1].size, ==, 0x100000 - 0x9fc00);
	g_assert_cmpuint(e[1].type, ==, 2);
	g_assert_cmpuint(e[2].addr, ==, MiB);
	g_assert_cmpuint(e[2].size, ==, 63 * MiB);
	g_assert_cmpuint(e[2].type, ==, 1);
}

static void check_zero_page_common(struct fx *f, const char *cmdline)
{
	g_assert_cmpuint(zp8(f, ZP_LOADER_TYPE), ==, 0xff);
	g_assert_cmpuint(zp8(f, ZP_LOADFLAGS) & 0x81, ==, 0x81); /* LOADED_HIGH | CAN_USE_HEAP */
	g_assert_cmpuint(zp16(f, ZP_HEAP_END), ==, 0xfe00);
	g_assert_cmpuint(zp64(f, ZP_ACPI_RSDP), ==, RSDP);
	uint32_t cmd = zp32(f, ZP_CMDLINE_PTR);
	g_assert_cmpstr((const char *)ram(f, cmd, strlen(cmdline) + 1), ==, cmdline);
	struct e820_entry e[3];
	g_assert_cmpuint(zp8(f, ZP_E820_ENTRIES), ==, 3);
	memcpy(e, ram(f, LAYOUT_ZERO_PAGE + ZP_E820_TABLE, sizeof(e)), sizeof(e));
	check_e820_64m(e, 3);
}

static void test_bzimage(struct fx *f, gconstpointer data)
{
	g_autofree char *kernel = write_bzimage(f, &bz_default);
	g_autofree char *initrd = write_initrd(f, 10000);
	g_assert_true(load(f, kernel, initrd, CMDLINE));
	g_assert_cmpint(f->info.protocol, ==, BOOT_LINUX64);
	g_assert_cmpuint(f->info.entry, ==, 16 * MiB + 0x200); /* pref_address + 64-bit entry */
	g_assert_cmpuint(f->info.boot_data, ==, LAYOUT_ZERO_PAGE);
	check_kernel(f, 16 * MiB, bz_default.payload);

	/* The setup header is copied (up to its end per the jump), the rest is the VMM's. */
	g_assert_cmpuint(zp32(f, ZP_HEADER), ==, HDRS);
	g_assert_cmpuint(zp16(f, ZP_VERSION), ==, 0x20f);
	g_assert_cmpuint(zp8(f, ZP_SETUP_SECTS), ==, 3);
	g_assert_cmpuint(zp32(f, ZP_INIT_SIZE), ==, 4 * MiB);
	g_assert_cmpuint(zp8(f, 0x26c), ==, 0);
	check_zero_page_common(f, CMDLINE);
	uint32_t rd = zp32(f, ZP_RAMDISK_IMAGE);
	g_assert_cmpuint(zp32(f, ZP_RAMDISK_SIZE), ==, 10000);
	check_initrd(f, rd, 10000, 20 * MiB, 64 * MiB);
	g_assert_cmpuint(rd, ==, (64 * MiB - 10000) & ~0xfffULL); /* as high as allowed */
}

/* initrd_addr_max is the highest byte the initrd may occupy. */
static void test_bzimage_initrd_limit(struct fx *f, gconstpointer data)
{
	struct bz b = bz_default;
	b.initrd_max = 48 * MiB - 1;
	g_autofree char *kernel = write_bzimage(f, &b);
	g_autofree char *initrd = write_initrd(f, 3 * 4096);
	g_assert_true(load(f, kernel, initrd, CMDLINE));
	check_initrd(f, zp32(f, ZP_RAMDISK_IMAGE), 3 * 4096, 20 * MiB, 48 * MiB);
	g_assert_cmpuint(zp32(f, ZP_RAMDISK_IMAGE), ==, 48 * MiB - 3 * 4096);
}

/* A preferred address the kernel would not fit at falls back to 1 MiB; setup_sects 0 means 4. */
static void test_bzimage_fallback(struct fx *f, gconstpointer data)
{
	struct bz b = bz_default;
	b.setup_sects = 0;
	b.init_size = 60 * MiB;
	g_autofree char *kernel = write_bzimage(f, &b);
	g_assert_true(load(f, kernel, NULL, CMDLINE));
	g_assert_cmpuint(f->info.entry, ==, MiB + 0x200);
	check_kernel(f, MiB, b.payload);
	g_assert_cmpuint(zp32(f, ZP_RAMDISK_IMAGE), ==, 0);
	g_assert_cmpuint(zp32(f, ZP_RAMDISK_SIZE), ==, 0);
}

static void test_bzimage_errors(struct fx *f, gconstpointer data)
{
	size_t len;
	g_autofree uint8_t *img = make_bzimage(&bz_default, &len);
	g_autofree char *truncated = write_file(f, "truncated", img, 0x100);
	expect_error_naming(f, truncated, NULL, truncated);

	/* Setup sectors that run past the end of the file. */
	g_autofree char *short_setup = write_file(f, "short-setup", img, 2 * 512);
	expect_error_naming(f, short_setup, NULL, short_setup);

	g_autofree uint8_t *no_hdrs = g_memdup2(img, len);
	w32(no_hdrs + ZP_HEADER, 0x53726449);
	g_autofree char *bad_magic = write_file(f, "no-hdrs", no_hdrs, len);
	expect_error_naming(f, bad_magic, NULL, bad_magic);

	/* 2.12 is the first protocol with a 64-bit entry point (XLF_KERNEL_64). */
	struct bz b = bz_default;
	b.version = 0x20b;
	g_autofree char *old = write_bzimage(f, &b);
	expect_error_naming(f, old, NULL, old);
	b = bz_default;
	b.xloadflags = 0;
	g_autofree char *no64 = write_bzimage(f, &b);
	expect_error_naming(f, no64, NULL, no64);
	b = bz_default;
	b.version = 0x20c;
	g_autofree char *v212 = write_bzimage(f, &b);
	g_assert_true(load(f, v212, NULL, CMDLINE));

	g_autofree char *missing = g_build_filename(f->dir, "no-such-kernel", NULL);
	expect_error_naming(f, missing, NULL, missing);
	g_autofree char *kernel = write_bzimage(f, &bz_default);
	g_autofree char *missing_initrd = g_build_filename(f->dir, "no-such-initrd", NULL);
	expect_error_naming(f, kernel, missing_initrd, missing_initrd);
}

/* cmdline_size excludes the terminating NUL. */
static void test_bzimage_cmdline_size(struct fx *f, gconstpointer data)
{
	struct bz b = bz_default;
	b.cmdline_size = 8;
	g_autofree char *kernel = write_bzimage(f, &b);
	g_assert_true(load(f, kernel, NULL, "12345678"));
	check_zero_page_common(f, "12345678");
	g_assert_false(load(f, kernel, NULL, "123456789"));
	g_clear_error(&f->error);
}

/* 2 MiB of RAM: a 1.5 MiB kernel at 1 MiB does not fit. */
static void test_bzimage_kernel_too_big(struct fx *f, gconstpointer data)
{
	struct bz b = bz_default;
	b.payload = 3 * MiB / 2;
	g_autofree char *kernel = write_bzimage(f, &b);
	expect_error_naming(f, kernel, NULL, kernel);
}

/* The kernel occupies [16 MiB, 20 MiB) (init_size) and the initrd may not go above it. */
static void test_bzimage_initrd_too_big(struct fx *f, gconstpointer data)
{
	struct bz b = bz_default;
	b.initrd_max = 20 * MiB - 1;
	g_autofree char *kernel = write_bzimage(f, &b);
	g_autofree char *initrd = write_initrd(f, 4096);
	expect_error_naming(f, kernel, initrd, initrd);
}

static char *find_debian_kernel(const char *prefix)
{
	GDir *d = g_dir_open("/boot", 0, NULL);
	char *found = NULL;
	for (const char *name; d && !found && (name = g_dir_read_name(d));)
		if (g_str_has_prefix(name, prefix) && g_str_has_suffix(name, "-amd64"))
			found = g_build_filename("/boot", name, NULL);
	if (d)
		g_dir_close(d);
	return found;
}

/* The Debian kernel the reference guest boots (its path and bytes), and 1 GiB of RAM to
 * load it into. */
typedef struct {
	struct fx fx;
	char *kernel;
	gchar *img;
	gsize len;
} DebianKernel;

static void debian_kernel_clear(DebianKernel *d)
{
	g_free(d->kernel);
	g_free(d->img);
	g_clear_error(&d->fx.error);
	fakemem_free(&d->fx.mem);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(DebianKernel, debian_kernel_clear)

/* Fills d; false (test skipped) when there is no readable Debian kernel. */
static bool debian_kernel_fixture(DebianKernel *d)
{
	d->kernel = find_debian_kernel("vmlinuz-");
	if (!d->kernel || !g_file_get_contents(d->kernel, &d->img, &d->len, NULL)) {
		g_test_skip("no readable /boot/vmlinuz-*-amd64");
		return false;
	}
	fakemem_add(&d->fx.mem, 0, 1024 * MiB);
	return true;
}

static void test_debian_kernel(void)
{
	g_auto(DebianKernel) d = { 0 };
	if (!debian_kernel_fixture(&d))
		return;
	struct fx *f = &d.fx;
	g_autofree char *initrd = find_debian_kernel("initrd.img-");
	if (initrd && !g_file_test(initrd, G_FILE_TEST_IS_REGULAR))
		g_clear_pointer(&initrd, g_free);
	g_assert_true(load(f, d.kernel, initrd, CMDLINE));
	g_assert_cmpint(f->info.protocol, ==, BOOT_LINUX64);
	uint16_t version;
	memcpy(&version, d.img + ZP_VERSION, 2);
	g_assert_cmpuint(version, >=, 0x20c);
	g_assert_cmpuint(zp16(f, ZP_VERSION), ==, version);
	uint64_t pref;
	memcpy(&pref, d.img + ZP_PREF_ADDRESS, 8);
	g_assert_cmpuint(pref, >=, MiB);
	g_assert_cmpuint(f->info.entry, ==, pref + 0x200);
	size_t setup = ((uint8_t)d.img[ZP_SETUP_SECTS] + 1) * 512;
	g_assert_cmpmem(ram(f, pref, d.len - setup), d.len - setup, d.img + setup, d.len - setup);
	g_assert_cmpstr((const char *)ram(f, zp32(f, ZP_CMDLINE_PTR), sizeof(CMDLINE)), ==, CMDLINE);
	if (initrd) {
		uint32_t rd = zp32(f, ZP_RAMDISK_IMAGE), init_size = zp32(f, ZP_INIT_SIZE);
		g_assert_cmpuint(rd % 4096, ==, 0);
		g_assert_cmpuint(rd, >=, pref + init_size);
		g_assert_cmpuint((uint64_t)rd + zp32(f, ZP_RAMDISK_SIZE) - 1, <=, zp32(f, ZP_INITRD_MAX));
	}
}

/* The same kernel with its payload unpacked on the host: the kernel proper lies at its
 * link-time physical address as an ELF would place it, entered at startup_64, with the
 * bzImage's own setup header in the zero page. */
static void test_debian_kernel_unpacked(void)
{
	g_auto(DebianKernel) d = { 0 };
	if (!debian_kernel_fixture(&d))
		return;
	struct fx *f = &d.fx;
	g_assert_true(load_with(f, d.kernel, NULL, CMDLINE, true));
	if (!strstr(f->info.format, "unpacked")) {
		g_test_skip("this kernel's payload compression is not one sepia-vmm unpacks");
		return;
	}
	g_assert_cmpint(f->info.protocol, ==, BOOT_LINUX64);
	uint64_t pref;
	memcpy(&pref, d.img + ZP_PREF_ADDRESS, 8);
	g_assert_cmpuint(f->info.entry, ==, pref); /* startup_64 at LOAD_PHYSICAL_ADDR */
	/* The decompressed kernel text begins there: no longer the compressed stub. */
	size_t setup = ((uint8_t)d.img[ZP_SETUP_SECTS] + 1) * 512;
	g_assert_true(memcmp(ram(f, pref, 4096), d.img + setup, 4096) != 0);
	g_assert_cmpuint(zp16(f, ZP_VERSION), >=, 0x20c);
	g_assert_cmpstr((const char *)ram(f, zp32(f, ZP_CMDLINE_PTR), sizeof(CMDLINE)), ==, CMDLINE);
}

/* ELF: header, two program headers, notes at 0x200, segment data at 0x1000. */
#define ELF_LEN      0x2000
#define ELF_NOTE_OFF 0x200
#define SEG_OFF      0x1000
#define SEG_FILESZ   0x100
#define SEG_MEMSZ    0x2000
#define SEG_PADDR    (2 * MiB)
#define ELF_ENTRY    (SEG_PADDR + 0x10)
#define PVH_ENTRY    (SEG_PADDR + 0x40)

static size_t put_note(uint8_t *p, const char *name, uint32_t type, const void *desc, uint32_t descsz)
{
	uint32_t namesz = strlen(name) + 1;
	w32(p, namesz);
	w32(p + 4, descsz);
	w32(p + 8, type);
	memcpy(p + 12, name, namesz);
	size_t d = 12 + ((namesz + 3) & ~3u);
	memcpy(p + d, desc, descsz);
	return d + ((descsz + 3) & ~3u);
}

/* The identification bytes of a little-endian ELF of class cls (ELFCLASS32 or ELFCLASS64). */
static void put_elf_ident(unsigned char *ident, unsigned char cls)
{
	memcpy(ident, ELFMAG, SELFMAG);
	ident[EI_CLASS] = cls;
	ident[EI_DATA] = ELFDATA2LSB;
	ident[EI_VERSION] = EV_CURRENT;
}

static uint8_t *make_elf(bool pvh)
{
	uint8_t *img = g_malloc0(ELF_LEN);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	put_elf_ident(eh->e_ident, ELFCLASS64);
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = ELF_ENTRY;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + eh->e_phoff);
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD,
			      .p_flags = PF_R | PF_X,
			      .p_offset = SEG_OFF,
			      .p_vaddr = 0xffffffff80000000ULL + SEG_PADDR,
			      .p_paddr = SEG_PADDR,
			      .p_filesz = SEG_FILESZ,
			      .p_memsz = SEG_MEMSZ,
			      .p_align = 4096 };
	/* Notes the loader must step over: a Xen note of another type, a "GNU" note of type 18. */
	size_t n = ELF_NOTE_OFF;
	n += put_note(img + n, "Xen", 1, "abcdef", 6);
	uint64_t entry = 0xdead0000;
	n += put_note(img + n, "GNU", 18, &entry, 8);
	if (pvh) {
		entry = PVH_ENTRY;
		n += put_note(img + n, "Xen", 18, &entry, 8);
	}
	ph[1] = (Elf64_Phdr){
		.p_type = PT_NOTE, .p_offset = ELF_NOTE_OFF, .p_filesz = n - ELF_NOTE_OFF, .p_align = 4
	};
	for (size_t i = 0; i < SEG_FILESZ; i++)
		img[SEG_OFF + i] = pattern(i);
	return img;
}

static void check_segment(struct fx *f)
{
	check_kernel(f, SEG_PADDR, SEG_FILESZ);
	const uint8_t *bss = ram(f, SEG_PADDR + SEG_FILESZ, SEG_MEMSZ - SEG_FILESZ);
	for (size_t i = 0; i < SEG_MEMSZ - SEG_FILESZ; i++)
		if (bss[i])
			g_error("bss byte %zu is not zero", i);
}

/* struct hvm_start_info / hvm_modlist_entry / hvm_memmap_entry offsets. */
#define SI_MAGIC      0
#define SI_VERSION    4
#define SI_NR_MODULES 12
#define SI_MODLIST    16
#define SI_CMDLINE    24
#define SI_RSDP       32
#define SI_MEMMAP     40
#define SI_MEMMAP_N   48

static void test_elf_pvh(struct fx *f, gconstpointer data)
{
	g_autofree uint8_t *img = make_elf(true);
	g_autofree char *kernel = write_file(f, "pvh.elf", img, ELF_LEN);
	g_autofree char *initrd = write_initrd(f, 5000);
	/* Stale bytes where the bss goes must be cleared. */
	memset(ram(f, SEG_PADDR, SEG_MEMSZ), 0xaa, SEG_MEMSZ);
	g_assert_true(load(f, kernel, initrd, CMDLINE));
	g_assert_cmpint(f->info.protocol, ==, BOOT_PVH);
	g_assert_cmpuint(f->info.entry, ==, PVH_ENTRY);
	check_segment(f);

	uint64_t si = f->info.boot_data;
	g_assert_cmpuint(si, ==, LAYOUT_PVH_START_INFO);
	g_assert_cmpuint(fakemem_rd32(&f->mem, si + SI_MAGIC), ==, 0x336ec578);
	g_assert_cmpuint(fakemem_rd32(&f->mem, si + SI_VERSION), >=, 1); /* has the memmap */
	g_assert_cmpuint(fakemem_rd64(&f->mem, si + SI_RSDP), ==, RSDP);
	uint64_t cmd = fakemem_rd64(&f->mem, si + SI_CMDLINE);
	g_assert_cmpstr((const char *)ram(f, cmd, sizeof(CMDLINE)), ==, CMDLINE);

	g_assert_cmpuint(fakemem_rd32(&f->mem, si + SI_NR_MODULES), ==, 1);
	uint64_t mod = fakemem_rd64(&f->mem, si + SI_MODLIST);
	uint64_t rd = fakemem_rd64(&f->mem, mod), rd_size = fakemem_rd64(&f->mem, mod + 8);
	g_assert_cmpuint(rd_size, ==, 5000);
	check_initrd(f, rd, 5000, SEG_PADDR + SEG_MEMSZ, 64 * MiB);

	unsigned int n = fakemem_rd32(&f->mem, si + SI_MEMMAP_N);
	uint64_t map = fakemem_rd64(&f->mem, si + SI_MEMMAP);
	struct e820_entry e[3];
	g_assert_cmpuint(n, ==, 3);
	for (unsigned int i = 0; i < n; i++)
		e[i] = (struct e820_entry){ fakemem_rd64(&f->mem, map + 24 * i),
					    fakemem_rd64(&f->mem, map + 24 * i + 8),
					    fakemem_rd32(&f->mem, map + 24 * i + 16) };
	check_e820_64m(e, n);
}

/* Without the PVH note: the 64-bit boot protocol at e_entry with a synthetic zero page. */
static void test_elf_vmlinux(struct fx *f, gconstpointer data)
{
	g_autofree uint8_t *img = make_elf(false);
	g_autofree char *kernel = write_file(f, "vmlinux", img, ELF_LEN);
	g_autofree char *initrd = write_initrd(f, 5000);
	g_assert_true(load(f, kernel, initrd, CMDLINE));
	g_assert_cmpint(f->info.protocol, ==, BOOT_LINUX64);
	g_assert_cmpuint(f->info.entry, ==, ELF_ENTRY);
	g_assert_cmpuint(f->info.boot_data, ==, LAYOUT_ZERO_PAGE);
	check_segment(f);
	g_assert_cmpuint(zp32(f, ZP_HEADER), ==, HDRS);
	g_assert_cmpuint(zp16(f, ZP_VERSION), >=, 0x20c);
	check_zero_page_common(f, CMDLINE);
	g_assert_cmpuint(zp32(f, ZP_RAMDISK_SIZE), ==, 5000);
	check_initrd(f, zp32(f, ZP_RAMDISK_IMAGE), 5000, SEG_PADDR + SEG_MEMSZ, 64 * MiB);
}

static void test_elf_errors(struct fx *f, gconstpointer data)
{
	static const struct {
		uint64_t paddr, offset, filesz, memsz;
	} bad[] = {
		{ 256 * MiB, SEG_OFF, SEG_FILESZ, SEG_MEMSZ },          /* beyond 64 MiB of RAM */
		{ 64 * MiB - 0x1000, SEG_OFF, SEG_FILESZ, SEG_MEMSZ },  /* straddles the end */
		{ 0x80000, SEG_OFF, SEG_FILESZ, SEG_MEMSZ },            /* below 1 MiB */
		{ SEG_PADDR, SEG_OFF, 0x200, 0x100 },                   /* filesz > memsz */
		{ SEG_PADDR, ELF_LEN + 0x1000, SEG_FILESZ, SEG_MEMSZ }, /* offset past EOF */
		{ SEG_PADDR, ELF_LEN - 0x80, SEG_FILESZ, SEG_MEMSZ },   /* data runs past EOF */
	};
	for (unsigned int i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree uint8_t *img = make_elf(true);
		Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr));
		ph->p_paddr = bad[i].paddr;
		ph->p_offset = bad[i].offset;
		ph->p_filesz = bad[i].filesz;
		ph->p_memsz = bad[i].memsz;
		g_autofree char *name = g_strdup_printf("bad%u.elf", i);
		g_autofree char *kernel = write_file(f, name, img, ELF_LEN);
		expect_error_naming(f, kernel, NULL, kernel);
	}
	/* A program header table past the end of the file. */
	g_autofree uint8_t *img = make_elf(true);
	((Elf64_Ehdr *)img)->e_phoff = ELF_LEN - 8;
	g_autofree char *kernel = write_file(f, "bad-phoff.elf", img, ELF_LEN);
	expect_error_naming(f, kernel, NULL, kernel);
}

/* An ELF32 (i386) PVH kernel, as 32-bit PVH payloads are linked: the same segment, and a
 * PVH note whose value is 4 bytes (pvh) or 8 bytes (pvh8); pvh false: no PVH note. */
static uint8_t *make_elf32(bool pvh, uint32_t descsz)
{
	uint8_t *img = g_malloc0(ELF_LEN);
	Elf32_Ehdr *eh = (Elf32_Ehdr *)img;
	put_elf_ident(eh->e_ident, ELFCLASS32);
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_version = EV_CURRENT;
	eh->e_entry = ELF_ENTRY;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf32_Phdr);
	eh->e_phnum = 2;
	Elf32_Phdr *ph = (Elf32_Phdr *)(img + eh->e_phoff);
	ph[0] = (Elf32_Phdr){ .p_type = PT_LOAD,
			      .p_flags = PF_R | PF_X,
			      .p_offset = SEG_OFF,
			      .p_vaddr = SEG_PADDR,
			      .p_paddr = SEG_PADDR,
			      .p_filesz = SEG_FILESZ,
			      .p_memsz = SEG_MEMSZ,
			      .p_align = 4096 };
	size_t n = ELF_NOTE_OFF;
	n += put_note(img + n, "Xen", 1, "abcdef", 6);
	uint64_t entry = 0xdead0000;
	n += put_note(img + n, "GNU", 18, &entry, 4);
	if (pvh) {
		entry = PVH_ENTRY;
		n += put_note(img + n, "Xen", 18, &entry, descsz);
	}
	ph[1] = (Elf32_Phdr){
		.p_type = PT_NOTE, .p_offset = ELF_NOTE_OFF, .p_filesz = n - ELF_NOTE_OFF, .p_align = 4
	};
	for (size_t i = 0; i < SEG_FILESZ; i++)
		img[SEG_OFF + i] = pattern(i);
	return img;
}

/* A 32-bit PVH ELF loads as the 64-bit one does: segments at their physical addresses,
 * the 32-bit entry from the note (4- or 8-byte value), the start info with the initrd. */
static void test_elf32_pvh(struct fx *f, gconstpointer data)
{
	static const uint32_t descsz[] = { 4, 8 };
	for (unsigned int i = 0; i < G_N_ELEMENTS(descsz); i++) {
		g_autofree uint8_t *img = make_elf32(true, descsz[i]);
		g_autofree char *name = g_strdup_printf("pvh32-%u.elf", descsz[i]);
		g_autofree char *kernel = write_file(f, name, img, ELF_LEN);
		g_autofree char *initrd = write_initrd(f, 5000);
		memset(ram(f, SEG_PADDR, SEG_MEMSZ), 0xaa, SEG_MEMSZ);
		g_assert_true(load(f, kernel, initrd, CMDLINE));
		g_assert_cmpint(f->info.protocol, ==, BOOT_PVH);
		g_assert_cmpuint(f->info.entry, ==, PVH_ENTRY);
		g_assert_cmpuint(f->info.boot_data, ==, LAYOUT_PVH_START_INFO);
		g_assert_nonnull(strstr(f->info.format, "PVH"));
		check_segment(f);
		uint64_t si = f->info.boot_data;
		g_assert_cmpuint(fakemem_rd32(&f->mem, si + SI_MAGIC), ==, 0x336ec578);
		uint64_t cmd = fakemem_rd64(&f->mem, si + SI_CMDLINE);
		g_assert_cmpstr((const char *)ram(f, cmd, sizeof(CMDLINE)), ==, CMDLINE);
		g_assert_cmpuint(fakemem_rd32(&f->mem, si + SI_NR_MODULES), ==, 1);
		uint64_t mod = fakemem_rd64(&f->mem, si + SI_MODLIST);
		check_initrd(f, fakemem_rd64(&f->mem, mod), 5000, SEG_PADDR + SEG_MEMSZ, 64 * MiB);
	}
}

/* Hostile or unbootable ELF32 files are refused with an error naming the file. */
static void test_elf32_errors(struct fx *f, gconstpointer data)
{
	/* No PVH note: a 32-bit ELF has no 64-bit entry to boot through. */
	g_autofree uint8_t *nonote = make_elf32(false, 4);
	g_autofree char *nonote_path = write_file(f, "nonote32.elf", nonote, ELF_LEN);
	expect_error_naming(f, nonote_path, NULL, "PVH");

	/* Not i386. */
	g_autofree uint8_t *arm = make_elf32(true, 4);
	((Elf32_Ehdr *)arm)->e_machine = EM_ARM;
	g_autofree char *arm_path = write_file(f, "arm32.elf", arm, ELF_LEN);
	expect_error_naming(f, arm_path, NULL, arm_path);

	/* Program header entries smaller than an Elf32_Phdr; a table past the end of the file. */
	g_autofree uint8_t *small = make_elf32(true, 4);
	((Elf32_Ehdr *)small)->e_phentsize = sizeof(Elf32_Phdr) - 4;
	g_autofree char *small_path = write_file(f, "phentsize32.elf", small, ELF_LEN);
	expect_error_naming(f, small_path, NULL, small_path);
	g_autofree uint8_t *past = make_elf32(true, 4);
	((Elf32_Ehdr *)past)->e_phoff = ELF_LEN - 8;
	g_autofree char *past_path = write_file(f, "phoff32.elf", past, ELF_LEN);
	expect_error_naming(f, past_path, NULL, past_path);

	/* A header cut short: shorter than an Elf32_Ehdr. */
	g_autofree char *cut_path = write_file(f, "cut32.elf", small, sizeof(Elf32_Ehdr) - 1);
	expect_error_naming(f, cut_path, NULL, cut_path);

	/* Segments outside the file or below 1 MiB, as for ELF64. */
	static const struct {
		uint32_t paddr, offset, filesz, memsz;
	} bad[] = {
		{ 0x80000, SEG_OFF, SEG_FILESZ, SEG_MEMSZ },
		{ SEG_PADDR, SEG_OFF, 0x200, 0x100 },
		{ SEG_PADDR, ELF_LEN - 0x80, SEG_FILESZ, SEG_MEMSZ },
		{ 0xfffff000, SEG_OFF, SEG_FILESZ, SEG_MEMSZ },
	};
	for (unsigned int i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree uint8_t *img = make_elf32(true, 4);
		Elf32_Phdr *ph = (Elf32_Phdr *)(img + sizeof(Elf32_Ehdr));
		ph->p_paddr = bad[i].paddr;
		ph->p_offset = bad[i].offset;
		ph->p_filesz = bad[i].filesz;
		ph->p_memsz = bad[i].memsz;
		g_autofree char *name = g_strdup_printf("bad32-%u.elf", i);
		g_autofree char *kernel = write_file(f, name, img, ELF_LEN);
		expect_error_naming(f, kernel, NULL, kernel);
	}
}

/* A PVH entry above 4 GiB cannot be a 32-bit entry point. */
static void test_elf_pvh_entry_above_4g(struct fx *f, gconstpointer data)
{
	g_autofree uint8_t *img = make_elf(false);
	size_t n = ELF_NOTE_OFF + 4096;
	uint64_t entry = 0x100000000ULL + PVH_ENTRY;
	size_t len = put_note(img + n, "Xen", 18, &entry, 8);
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr));
	ph[1].p_offset = n;
	ph[1].p_filesz = len;
	g_autofree char *kernel = write_file(f, "pvh-high.elf", img, ELF_LEN);
	expect_error_naming(f, kernel, NULL, kernel);
}

/* 3 GiB below the 32-bit hole and 2 GiB from 4 GiB (host mappings are never touched). */
static void test_e820_two_regions(void)
{
	struct guest_mem mem = { .nr_regions = 2 };
	mem.region[0] = (struct guest_mem_region){ 0, 3ULL << 30, NULL };
	mem.region[1] = (struct guest_mem_region){ LAYOUT_4G, 2ULL << 30, NULL };
	struct e820_entry e[8];
	unsigned int n = boot_e820(&mem, e, G_N_ELEMENTS(e));
	g_assert_cmpuint(n, ==, 4);
	g_assert_cmpuint(e[0].addr, ==, 0);
	g_assert_cmpuint(e[0].size, ==, LAYOUT_EBDA_START);
	g_assert_cmpuint(e[0].type, ==, 1);
	g_assert_cmpuint(e[1].addr, ==, LAYOUT_EBDA_START);
	g_assert_cmpuint(e[1].addr + e[1].size, ==, MiB);
	g_assert_cmpuint(e[1].type, ==, 2);
	g_assert_cmpuint(e[2].addr, ==, MiB);
	g_assert_cmpuint(e[2].addr + e[2].size, ==, 3ULL << 30);
	g_assert_cmpuint(e[2].type, ==, 1);
	g_assert_cmpuint(e[3].addr, ==, LAYOUT_4G);
	g_assert_cmpuint(e[3].size, ==, 2ULL << 30);
	g_assert_cmpuint(e[3].type, ==, 1);
	/* Nothing claims the MMIO hole as RAM. */
	for (unsigned int i = 0; i < n; i++)
		if (e[i].type == 1)
			g_assert_true(e[i].addr + e[i].size <= LAYOUT_MMIO_HOLE || e[i].addr >= LAYOUT_4G);
	/* Too small a table: nothing rather than a truncated map. */
	g_assert_cmpuint(boot_e820(&mem, e, 2), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define T(path, fn, ram) \
	g_test_add("/boot/" path, struct fx, GSIZE_TO_POINTER(ram), fx_setup, fn, fx_teardown)
	T("bzimage/load", test_bzimage, 0);
	T("bzimage/initrd-limit", test_bzimage_initrd_limit, 0);
	T("bzimage/pref-address-fallback", test_bzimage_fallback, 0);
	T("bzimage/errors", test_bzimage_errors, 0);
	T("bzimage/cmdline-size", test_bzimage_cmdline_size, 0);
	T("bzimage/kernel-too-big", test_bzimage_kernel_too_big, 2 * MiB);
	T("bzimage/initrd-too-big", test_bzimage_initrd_too_big, 0);
	T("elf/pvh", test_elf_pvh, 0);
	T("elf/vmlinux", test_elf_vmlinux, 0);
	T("elf/errors", test_elf_errors, 0);
	T("elf/pvh-entry-above-4g", test_elf_pvh_entry_above_4g, 0);
	T("elf32/pvh", test_elf32_pvh, 0);
	T("elf32/errors", test_elf32_errors, 0);
#undef T
	g_test_add_func("/boot/bzimage/debian-kernel", test_debian_kernel);
	g_test_add_func("/boot/bzimage/debian-kernel-unpacked", test_debian_kernel_unpacked);
	g_test_add_func("/boot/e820/two-regions", test_e820_two_regions);
	return g_test_run();
}
