/* libFuzzer target for the disk image backends (block/), aimed at qcow2: the input is
 * the image. It is opened read-only through block_open (so qcow2, VMDK descriptors and raw
 * all get probed) and read at two offsets; inputs with the qcow2 magic are opened again
 * writable through block_qcow2_open, and one write (read back and compared), one
 * write_zeroes and one discard run at offsets derived from the input's last 8 bytes, so
 * allocation and refcount updates run on hostile metadata too.
 *
 * Speed (an earlier version reached ~42k runs in its time budget): the image is one file in
 * a private tmpfs directory, created once and rewritten in place per input (no create/fsync/
 * rename per input, and fdatasync on tmpfs is free); transfers are 4 KiB and few; inputs are
 * bounded by -max_len (make fuzz-run uses 65536).
 *
 * Oracle: no crash or sanitizer report; a refusal names the file; an open image's size is
 * sane (raw: the file's size; qcow2: at most 2^56); transfers return 0 or -errno; data
 * written is read back unchanged.
 *
 * The private directory holds backing.raw (64 KiB of a pattern), so inputs with a relative
 * backing file name can reach a backing chain (input.img names itself: a loop, cut at 16, or
 * refused by its own image lock when writable). Backing names outside the private directory
 * are refused (block.h: allowed directories); writable opens are qcow2 only. Inputs with the
 * dirty bit set are repaired on their writable open, so the refcount rebuild
 * (qcow2_repair.c) runs on hostile metadata too. */
#define FUZZ_WARNINGS_ARE_REPORTS 1
#include "tests/fuzz/fuzz-common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"

#define XFER           4096u
#define QCOW2_MAX_SIZE (1ULL << 56)

static char *img;
static int img_fd = -1;

static void check_ret(int ret)
{
	if (ret > 0 || ret < -4095)
		abort();
}

static void check_open(struct block_backend *b, GError **error, size_t input_size)
{
	if (!b) {
		fuzz_expect_error_naming(error, img);
		return;
	}
	if (*error)
		abort();
	if (!strcmp(b->format, "raw")     ? b->size != input_size
	    : !strcmp(b->format, "qcow2") ? b->size > QCOW2_MAX_SIZE
					  : strcmp(b->format, "vmdk") != 0)
		abort();
}

/* A sector-aligned offset inside the image (or 0), picked by r. */
static uint64_t pick_offset(const struct block_backend *b, uint64_t r)
{
	if (b->size <= XFER)
		return 0;
	return (r % (b->size - XFER)) & ~511ULL;
}

static void exercise_readonly(size_t size, uint64_t r)
{
	GError *err = NULL;
	struct block_backend *b = block_open(img, true, &err);
	check_open(b, &err, size);
	if (!b)
		return;
	static uint8_t buf[XFER];
	struct iovec iov = { buf, sizeof(buf) };
	check_ret(b->ops->preadv(b, &iov, 1, 0));
	check_ret(b->ops->preadv(b, &iov, 1, pick_offset(b, r)));
	/* Writes to a read-only backend fail and change nothing. */
	if (b->ops->pwritev(b, &iov, 1, 0) == 0)
		abort();
	block_close(b);
}

static void exercise_writable(size_t size, uint64_t r)
{
	GError *err = NULL;
	struct block_backend *b = block_qcow2_open(img, false, &err);
	check_open(b, &err, size);
	if (!b)
		return;
	static uint8_t pattern[XFER], back[XFER];
	memset(pattern, (int)(r >> 56) | 1, sizeof(pattern));
	struct iovec out = { pattern, sizeof(pattern) }, in = { back, sizeof(back) };
	uint64_t off = pick_offset(b, r);
	int wret = b->ops->pwritev(b, &out, 1, off);
	check_ret(wret);
	if (wret == 0 && b->ops->preadv(b, &in, 1, off) == 0 && memcmp(pattern, back, sizeof(back)))
		abort();
	check_ret(b->ops->write_zeroes(b, pick_offset(b, r >> 13), XFER, (r >> 40) & 1));
	check_ret(b->ops->discard(b, pick_offset(b, r >> 23), 4 * XFER));
	check_ret(b->ops->preadv(b, &in, 1, off));
	check_ret(b->ops->flush(b));
	block_close(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (img_fd < 0) {
		img = g_build_filename(fuzz_private_dir("fuzz-qcow2"), "input.img", NULL);
		static uint8_t backing[65536];
		for (size_t i = 0; i < sizeof(backing); i++)
			backing[i] = (uint8_t)(i * 7 + 3);
		g_free(fuzz_make_file("backing.raw", backing, sizeof(backing)));
		img_fd = open(img, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (img_fd < 0)
			abort();
	}
	fuzz_rewrite_fd(img_fd, data, size);
	uint64_t r = size >= 8 ? fuzz_le64(data, size, size - 8) : 0;
	exercise_readonly(size, r);
	if (size >= 4 && !memcmp(data, "QFI\xfb", 4))
		exercise_writable(size, r);
	return 0;
}
