/* libFuzzer target for the kernel loaders (devices/boot.c: bzImage, ELF vmlinux, PVH ELF;
 * devices/unpack.c: the LZ4 and gzip payloads sepia-vmm decompresses itself) on hostile
 * kernel images, loaded into fake guest RAM: 2 MiB at gpa 0 (an exact-size heap block, so
 * that ASan sees any write past it; kernels load at 1 MiB and up) and, when the input asks,
 * 64 KiB at 4 GiB.
 *
 * Input: byte 0 flags (bit 0 unpack_on_host, bit 1 pass an initrd, bit 2 a long command line,
 * bit 3 feed the bytes to unpack_kernel_payload and unpack_lz4_block directly instead of
 * boot_load, bit 4 the second RAM region); byte 1 the long command line's length / 32;
 * bytes 2-3 the initrd's length (le16, taken from the end of the input); the rest is the
 * kernel file. The files live in a private tmpfs directory and are rewritten per input.
 *
 * Oracle beyond ASan/UBSan: a refusal names the kernel, the initrd or the command line; a
 * load gives the protocol's boot data address and a format name, leaves the command line
 * at its address, the initrd page aligned inside low RAM with its bytes, and the zero page
 * (or PVH start info) pointing at both with sepia's e820 map; a bzImage loaded as is has its
 * protected-mode code at entry - 0x200, at or above 1 MiB; an ELF has its last PT_LOAD segment's
 * bytes and zero fill at p_paddr. Unpacking: success names the format, a refusal is
 * SEPIA_UNPACK_ERROR (ENOTSUP exactly when no format was recognised); a decoded LZ4 block
 * decodes again to the same bytes into a buffer of exactly its size and is refused by one a
 * byte smaller. */
#include "tests/fuzz/fuzz-common.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>

#include "devices/boot.h"
#include "devices/layout.h"
#include "devices/unpack.h"

#define RAM0_SIZE (2ULL << 20)
#define RAM1_SIZE 0x10000ULL
#define HDR       4
#define RSDP      0xe0000ULL

static struct guest_mem mem;
static char *kernel_path, *initrd_path;
static int kernel_fd = -1, initrd_fd = -1;
static char *long_cmdline;

static void init_once(void)
{
	if (kernel_fd >= 0)
		return;
	mem.region[0] = (struct guest_mem_region){ 0, RAM0_SIZE, malloc(RAM0_SIZE) };
	mem.region[1] = (struct guest_mem_region){ LAYOUT_4G, RAM1_SIZE, malloc(RAM1_SIZE) };
	if (!mem.region[0].host || !mem.region[1].host)
		abort();
	const char *dir = fuzz_private_dir("loader");
	kernel_path = g_build_filename(dir, "kernel", NULL);
	initrd_path = g_build_filename(dir, "initrd", NULL);
	kernel_fd = open(kernel_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	initrd_fd = open(initrd_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (kernel_fd < 0 || initrd_fd < 0)
		abort();
	long_cmdline = g_malloc(255 * 32 + 1);
	for (size_t i = 0; i < 255 * 32; i++)
		long_cmdline[i] = "console=ttyS0 "[i % 14];
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static const uint8_t *ram(uint64_t gpa, uint64_t len)
{
	const uint8_t *p = guest_mem_ptr(&mem, gpa, len);
	if (!p)
		abort();
	return p;
}

static bool all_zero(const uint8_t *p, uint64_t len)
{
	static const uint8_t zero[1 << 16];
	for (uint64_t n; len; p += n, len -= n) {
		n = MIN(len, sizeof(zero));
		if (memcmp(p, zero, n))
			return false;
	}
	return true;
}

static void check_unpack(const uint8_t *in, size_t len)
{
	const char *format = "unset";
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) out = unpack_kernel_payload(in, len, &format, &error);
	if (out) {
		if (error || !format || (strcmp(format, "lz4") && strcmp(format, "gzip")))
			abort();
	} else if (!error || error->domain != SEPIA_UNPACK_ERROR ||
		   (error->code == ENOTSUP) != (format == NULL) || !error->message[0]) {
		abort();
	}

	/* One raw LZ4 block: decoding into exactly its size gives the same bytes. */
	static uint8_t a[1 << 16], b[1 << 16];
	size_t n = 0, m = 0;
	if (unpack_lz4_block(in, len, a, sizeof(a), &n) == 0) {
		if (n > sizeof(a))
			abort();
		uint8_t *exact = malloc(n ? n : 1);
		if (!exact || unpack_lz4_block(in, len, exact, n, &m) || m != n || memcmp(exact, a, n))
			abort();
		if (n && unpack_lz4_block(in, len, b, n - 1, &m) == 0)
			abort();
		free(exact);
	}
}

/* The last PT_LOAD segment of an ELF (what no later segment can overwrite). */
static bool last_load(const uint8_t *img, size_t len, Elf64_Phdr *out)
{
	uint64_t phoff = rd64(img + 32);
	uint16_t phentsize = rd16(img + 54), phnum = rd16(img + 56);
	bool found = false;
	for (unsigned int i = 0; i < phnum; i++) {
		uint64_t at = phoff + (uint64_t)i * phentsize;
		if (at > len || len - at < sizeof(Elf64_Phdr))
			abort(); /* the loader accepted a header table outside the file */
		Elf64_Phdr ph;
		memcpy(&ph, img + at, sizeof(ph));
		if (ph.p_type == PT_LOAD) {
			*out = ph;
			found = true;
		}
	}
	return found;
}

static void check_e820(uint32_t count, const uint8_t *table, size_t entry_size)
{
	struct e820_entry e[8];
	unsigned int n = boot_e820(&mem, e, 8);
	if (count != n)
		abort();
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *t = table + i * entry_size;
		if (rd64(t) != e[i].addr || rd64(t + 8) != e[i].size || rd32(t + 16) != e[i].type)
			abort();
	}
}

static void check_loaded(const struct boot_info *info, const uint8_t *kernel, size_t klen,
			 const uint8_t *initrd, size_t ilen, bool with_initrd, const char *cmdline)
{
	if (!memchr(info->format, 0, sizeof(info->format)) || !info->format[0])
		abort();
	size_t clen = strlen(cmdline) + 1;
	if (memcmp(ram(LAYOUT_CMDLINE, clen), cmdline, clen))
		abort();
	uint64_t rd_gpa, rd_size;
	if (info->protocol == BOOT_PVH) {
		if (info->boot_data != LAYOUT_PVH_START_INFO || strcmp(info->format, "PVH ELF"))
			abort();
		const uint8_t *si = ram(LAYOUT_PVH_START_INFO, 4096);
		if (rd32(si) != 0x336ec578u || rd64(si + 24) != LAYOUT_CMDLINE || rd64(si + 32) != RSDP ||
		    rd32(si + 12) != (with_initrd && ilen ? 1u : 0u))
			abort();
		check_e820(rd32(si + 48), si + 128, 24);
		rd_gpa = rd32(si + 12) ? rd64(si + 64) : 0;
		rd_size = rd32(si + 12) ? rd64(si + 72) : 0;
	} else {
		if (info->protocol != BOOT_LINUX64 || info->boot_data != LAYOUT_ZERO_PAGE)
			abort();
		const uint8_t *zp = ram(LAYOUT_ZERO_PAGE, 4096);
		if (rd32(zp + 0x228) != LAYOUT_CMDLINE || rd64(zp + 0x70) != RSDP || zp[0x210] != 0xff)
			abort();
		check_e820(zp[0x1e8], zp + 0x2d0, 20);
		rd_gpa = rd32(zp + 0x218);
		rd_size = rd32(zp + 0x21c);
	}
	if (with_initrd && ilen) {
		if (rd_size != ilen || rd_gpa % 4096 || rd_gpa < LAYOUT_HIGH_MEM ||
		    rd_gpa + rd_size > mem.region[0].gpa + mem.region[0].size ||
		    memcmp(ram(rd_gpa, ilen), initrd, ilen))
			abort();
	} else if (rd_size) {
		abort();
	}

	if (!strcmp(info->format, "bzImage")) {
		size_t setup = ((kernel[0x1f1] ? kernel[0x1f1] : 4) + 1) * 512ULL;
		uint64_t load = info->entry - 0x200;
		if (load < LAYOUT_HIGH_MEM || memcmp(ram(load, klen - setup), kernel + setup, klen - setup))
			abort();
		/* The initrd lies above what the kernel may use. */
		if (with_initrd && ilen && rd_gpa < load + MAX((uint64_t)rd32(kernel + 0x260), klen - setup))
			abort();
	} else if (klen >= 4 && !memcmp(kernel, ELFMAG, SELFMAG)) {
		Elf64_Phdr ph;
		if (last_load(kernel, klen, &ph)) {
			const uint8_t *seg = ram(ph.p_paddr, ph.p_memsz);
			if (ph.p_paddr < LAYOUT_HIGH_MEM || memcmp(seg, kernel + ph.p_offset, ph.p_filesz))
				abort();
			if (!all_zero(seg + ph.p_filesz, ph.p_memsz - ph.p_filesz))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;
	init_once();
	uint8_t flags = data[0];
	if (flags & 8) {
		check_unpack(data + HDR, size - HDR);
		return 0;
	}
	bool with_initrd = flags & 2;
	size_t ilen = with_initrd ? MIN((size_t)rd16(data + 2), size - HDR) : 0;
	const uint8_t *kernel = data + HDR, *initrd = data + size - ilen;
	size_t klen = size - HDR - ilen;
	fuzz_rewrite_fd(kernel_fd, kernel, klen);
	fuzz_rewrite_fd(initrd_fd, initrd, ilen);
	mem.nr_regions = (flags & 16) ? 2 : 1;

	const char *cmdline = "console=ttyS0";
	if (flags & 4) {
		long_cmdline[data[1] * 32] = '\0';
		cmdline = long_cmdline;
	}
	struct boot_params_in in = {
		.kernel = kernel_path,
		.initrd = with_initrd ? initrd_path : NULL,
		.cmdline = cmdline,
		.rsdp = RSDP,
		.unpack_on_host = flags & 1,
	};
	struct boot_info info;
	memset(&info, 0xee, sizeof(info));
	GError *error = NULL;
	if (boot_load(&mem, &in, &info, &error)) {
		if (error)
			abort();
		check_loaded(&info, kernel, klen, initrd, ilen, with_initrd, cmdline);
	} else {
		fuzz_show_refusal(error);
		if (!error || !(strstr(error->message, kernel_path) || strstr(error->message, initrd_path) ||
				strstr(error->message, "command line")))
			abort();
		g_clear_error(&error);
	}
	if (flags & 4)
		long_cmdline[data[1] * 32] = "console=ttyS0 "[(data[1] * 32) % 14];
	return 0;
}
