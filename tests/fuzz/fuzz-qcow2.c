/* libFuzzer target for the disk image backends (devices/block): the input is written to a
 * file and opened through block_open (so qcow2, VMDK descriptors and raw all get probed),
 * then a few sectors are read; a second, writable open (qcow2 only) writes, zeroes,
 * discards and reads back a few sectors so allocation and refcount updates run on hostile
 * metadata too. Not part of
 * `make check`. Build and run by hand from the top of the tree:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     -std=gnu11 -I. -D_GNU_SOURCE $(pkg-config --cflags glib-2.0) \
 *     -o /tmp/fuzz-qcow2 tests/fuzz/fuzz-qcow2.c devices/block/block.c devices/block/raw.c \
 *     devices/block/qcow2.c devices/block/qcow2_open.c devices/block/qcow2_refcount.c \
 *     devices/block/vmdk.c \
 *     $(pkg-config --libs glib-2.0)
 *   mkdir -p /tmp/qcow2-corpus && qemu-img create -f qcow2 /tmp/qcow2-corpus/a.qcow2 1M
 *   /tmp/fuzz-qcow2 -max_len=262144 -rss_limit_mb=4096 /tmp/qcow2-corpus
 *
 * Backing file names in the input are resolved against a private temporary directory
 * (absolute names are opened read-only as they are). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "devices/block/backend.h"

/* devices/vm.c defines this for the VMM; the fuzzer links only devices/block. */
G_DEFINE_QUARK(sepia-error-quark, sepia_error)

static char *dir, *img;

static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
}

static void exercise(bool readonly)
{
	GError *err = NULL;
	/* Writable opens go to qcow2 only: a fuzzed VMDK descriptor could name any host file
	 * as a writable extent. (Backing files are always opened read-only.) */
	struct block_backend *b = readonly ? block_open(img, true, &err) : block_qcow2_open(img, false, &err);
	if (!b) {
		g_clear_error(&err);
		return;
	}
	static uint8_t buf[64 * 1024];
	struct iovec iov = { buf, sizeof(buf) };
	uint64_t offs[] = { 0, b->size / 2 / 512 * 512, b->size > sizeof(buf) ? b->size - sizeof(buf) : 0 };
	for (size_t i = 0; i < G_N_ELEMENTS(offs); i++) {
		b->ops->preadv(b, &iov, 1, offs[i]);
		if (!readonly && b->size >= sizeof(buf)) {
			memset(buf, (int)i + 1, sizeof(buf));
			b->ops->pwritev(b, &iov, 1, offs[i]);
			b->ops->write_zeroes(b, offs[i], 4096, true);
			b->ops->discard(b, offs[i], sizeof(buf));
			b->ops->preadv(b, &iov, 1, offs[i]);
		}
	}
	if (!readonly)
		b->ops->flush(b);
	block_close(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir) {
		dir = g_dir_make_tmp("fuzz-qcow2-XXXXXX", NULL);
		if (!dir)
			abort();
		img = g_build_filename(dir, "input.img", NULL);
		g_log_set_default_handler(drop_log, NULL);
	}
	if (!g_file_set_contents(img, (const char *)data, (gssize)size, NULL))
		abort();
	exercise(true);
	exercise(false);
	unlink(img);
	return 0;
}
