/* libFuzzer target for VMDK text descriptors (block/vmdk.c, block_vmdk_open): the
 * input is the descriptor. It lives in a private tmpfs directory beside two small extent
 * files, p1.img (8 KiB) and p2.img (4 KiB), created once; the descriptor file is rewritten
 * in place per input.
 *
 * Every input is opened read-only and read at two offsets. Inputs without a '/' byte can only
 * name files inside the private directory, so those are opened writable as well: one write
 * (read back and compared), one write_zeroes and one discard at offsets derived from the
 * input; the extent files are restored afterwards. (Inputs with a '/' could name any host
 * file as a writable extent.)
 *
 * Oracle: no crash or sanitizer report; a refusal names the descriptor; an open disk has a
 * size that is a positive multiple of 512; transfers return 0 or -errno; data written is
 * read back unchanged; read-only opens refuse writes. */
#define FUZZ_WARNINGS_ARE_REPORTS 1
#include "tests/fuzz/fuzz-common.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"

#define XFER 1024u

static char *desc;
static int desc_fd = -1;
static const char *const extent_names[] = { "p1.img", "p2.img" };
static const size_t extent_sizes[] = { 8192, 4096 };
static int extent_fds[2] = { -1, -1 };
static uint8_t extent_data[8192];

static void check_ret(int ret)
{
	if (ret > 0 || ret < -4095)
		abort();
}

static struct block_backend *open_checked(bool readonly)
{
	GError *err = NULL;
	struct block_backend *b = block_vmdk_open(desc, readonly, &err);
	if (!b) {
		fuzz_expect_error_naming(&err, desc);
		return NULL;
	}
	if (err || b->size == 0 || b->size % 512 || strcmp(b->format, "vmdk"))
		abort();
	return b;
}

static uint64_t pick_offset(const struct block_backend *b, uint64_t r)
{
	if (b->size <= XFER)
		return 0;
	return (r % (b->size - XFER)) & ~511ULL;
}

static void setup(void)
{
	for (size_t i = 0; i < sizeof(extent_data); i++)
		extent_data[i] = (uint8_t)(i * 13 + 1);
	const char *dir = fuzz_private_dir("fuzz-vmdk");
	for (size_t i = 0; i < G_N_ELEMENTS(extent_names); i++) {
		g_autofree char *p = g_build_filename(dir, extent_names[i], NULL);
		extent_fds[i] = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (extent_fds[i] < 0)
			abort();
		fuzz_rewrite_fd(extent_fds[i], extent_data, extent_sizes[i]);
	}
	desc = g_build_filename(dir, "disk.vmdk", NULL);
	desc_fd = open(desc, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (desc_fd < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (desc_fd < 0)
		setup();
	fuzz_rewrite_fd(desc_fd, data, size);
	/* FNV-1a of the input picks the offsets. */
	uint64_t r = 14695981039346656037ULL;
	for (size_t i = 0; i < size; i++)
		r = (r ^ data[i]) * 1099511628211ULL;

	static uint8_t buf[XFER], back[XFER];
	struct block_backend *b = open_checked(true);
	if (b) {
		struct iovec iov = { buf, sizeof(buf) };
		check_ret(b->ops->preadv(b, &iov, 1, 0));
		check_ret(b->ops->preadv(b, &iov, 1, pick_offset(b, r)));
		if (b->ops->pwritev(b, &iov, 1, 0) == 0 || b->ops->write_zeroes(b, 0, 512, false) == 0)
			abort();
		block_close(b);
	}
	if (memchr(data, '/', size))
		return 0;
	if (!(b = open_checked(false)))
		return 0;
	memset(buf, (int)(r >> 56) | 1, sizeof(buf));
	struct iovec out = { buf, sizeof(buf) }, in = { back, sizeof(back) };
	uint64_t off = pick_offset(b, r >> 7);
	int wret = b->ops->pwritev(b, &out, 1, off);
	check_ret(wret);
	if (wret == 0 && b->ops->preadv(b, &in, 1, off) == 0 && memcmp(buf, back, sizeof(back)))
		abort();
	check_ret(b->ops->write_zeroes(b, pick_offset(b, r >> 17), XFER, (r >> 3) & 1));
	check_ret(b->ops->discard(b, pick_offset(b, r >> 27), XFER));
	check_ret(b->ops->flush(b));
	block_close(b);
	for (size_t i = 0; i < G_N_ELEMENTS(extent_names); i++)
		fuzz_rewrite_fd(extent_fds[i], extent_data, extent_sizes[i]);
	return 0;
}
