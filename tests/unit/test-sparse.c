/* Android sparse images: hand-built images of every chunk type (and img2simg's output when it is
 * installed) expand to the expected raw bytes, DONT_CARE becomes holes, CRC32 chunks are checked,
 * and malformed images fail with one-line errors and leave nothing behind. */
#include "images/crc32.h"
#include "images/sparse.h"
#include "tests/unit/image-testlib.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Builds a sparse image and, alongside, the raw bytes it should expand to. */
typedef struct {
	GByteArray *sparse, *raw;
	uint32_t blk_sz, chunks, blocks;
	uint16_t file_hdr_sz, chunk_hdr_sz;
} Builder;

static Builder *builder_new(uint32_t blk_sz, uint16_t file_hdr_sz, uint16_t chunk_hdr_sz)
{
	Builder *b = g_new0(Builder, 1);
	b->sparse = g_byte_array_new();
	b->raw = g_byte_array_new();
	b->blk_sz = blk_sz;
	b->file_hdr_sz = file_hdr_sz;
	b->chunk_hdr_sz = chunk_hdr_sz;
	g_byte_array_set_size(b->sparse, file_hdr_sz);
	memset(b->sparse->data, 0xee, file_hdr_sz); /* bytes past 28 are skipped */
	return b;
}

static void builder_free(Builder *b)
{
	g_byte_array_unref(b->sparse);
	g_byte_array_unref(b->raw);
	g_free(b);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Builder, builder_free)

static void add_chunk_header(Builder *b, uint16_t type, uint32_t blocks, uint32_t data_len)
{
	guint len = b->sparse->len;
	g_byte_array_set_size(b->sparse, len + b->chunk_hdr_sz);
	guint8 *h = b->sparse->data + len;
	memset(h, 0, b->chunk_hdr_sz);
	put_le16(h, type);
	put_le32(h + 4, blocks);
	put_le32(h + 8, b->chunk_hdr_sz + data_len);
	b->chunks++;
	b->blocks += blocks;
}

static void add_raw(Builder *b, uint32_t blocks, guint8 seed)
{
	gsize n = (gsize)blocks * b->blk_sz;
	add_chunk_header(b, SEPIA_SPARSE_CHUNK_RAW, blocks, (uint32_t)n);
	for (gsize i = 0; i < n; i++) {
		guint8 v = (guint8)(seed + i * 7 + (i >> 8));
		g_byte_array_append(b->sparse, &v, 1);
		g_byte_array_append(b->raw, &v, 1);
	}
}

static void add_fill(Builder *b, uint32_t blocks, uint32_t pattern_le)
{
	guint8 p[4];
	put_le32(p, pattern_le);
	add_chunk_header(b, SEPIA_SPARSE_CHUNK_FILL, blocks, 4);
	g_byte_array_append(b->sparse, p, 4);
	for (gsize i = 0; i < (gsize)blocks * b->blk_sz / 4; i++)
		g_byte_array_append(b->raw, p, 4);
}

static void add_dont_care(Builder *b, uint32_t blocks)
{
	add_chunk_header(b, SEPIA_SPARSE_CHUNK_DONT_CARE, blocks, 0);
	guint old = b->raw->len;
	g_byte_array_set_size(b->raw, old + blocks * b->blk_sz);
	memset(b->raw->data + old, 0, (gsize)blocks * b->blk_sz);
}

static void add_crc(Builder *b, bool correct)
{
	guint8 v[4];
	uint32_t crc = sepia_crc32_update(0, b->raw->data, b->raw->len);
	put_le32(v, correct ? crc : crc ^ 1);
	add_chunk_header(b, SEPIA_SPARSE_CHUNK_CRC32, 0, 4);
	g_byte_array_append(b->sparse, v, 4);
}

static void finish(Builder *b)
{
	guint8 *h = b->sparse->data;
	put_le32(h, SEPIA_SPARSE_MAGIC);
	put_le16(h + 4, 1);
	put_le16(h + 6, 0);
	put_le16(h + 8, b->file_hdr_sz);
	put_le16(h + 10, b->chunk_hdr_sz);
	put_le32(h + 12, b->blk_sz);
	put_le32(h + 16, b->blocks);
	put_le32(h + 20, b->chunks);
	put_le32(h + 24, 0);
}

static Builder *sample(uint16_t file_hdr_sz, uint16_t chunk_hdr_sz)
{
	Builder *b = builder_new(4096, file_hdr_sz, chunk_hdr_sz);
	add_raw(b, 2, 1);
	add_fill(b, 3, 0xdeadbeef);
	add_dont_care(b, 4);
	add_crc(b, true);
	add_fill(b, 1, 0);
	add_raw(b, 1, 99);
	add_dont_care(b, 2);
	add_crc(b, true);
	finish(b);
	return b;
}

static guint count_entries(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	guint n = 0;
	while (g_dir_read_name(d))
		n++;
	return n;
}

static void assert_file_eq(const char *path, const GByteArray *want)
{
	g_autofree char *data = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	g_assert_cmpmem(data, len, want->data, want->len);
}

static void test_crc32(void)
{
	g_assert_cmphex(sepia_crc32_update(0, "123456789", 9), ==, 0xCBF43926);
	g_assert_cmphex(sepia_crc32_update(sepia_crc32_update(0, "1234", 4), "56789", 5), ==, 0xCBF43926);
	guint8 zeros[10000] = { 0 }, pat[4] = { 0xde, 0xad, 0xbe, 0xef }, rep[10000];
	for (int i = 0; i < 10000; i++)
		rep[i] = pat[i % 4];
	const uint64_t lens[] = { 0, 1, 3, 4, 5, 64, 1000, 4096, 9999 };
	for (size_t i = 0; i < G_N_ELEMENTS(lens); i++) {
		uint32_t start = sepia_crc32_update(0, "abc", 3);
		g_assert_cmphex(sepia_crc32_zeros(start, lens[i]), ==,
				sepia_crc32_update(start, zeros, lens[i]));
		g_assert_cmphex(sepia_crc32_repeat(start, pat, lens[i] / 4), ==,
				sepia_crc32_update(start, rep, lens[i] / 4 * 4));
		g_assert_cmphex(sepia_crc32_combine(start, sepia_crc32_update(0, rep, lens[i]), lens[i]), ==,
				sepia_crc32_update(start, rep, lens[i]));
	}
}

static void test_expand_all_chunk_types(void)
{
	const uint16_t hdr_sizes[][2] = { { 28, 12 }, { 32, 16 } }; /* larger headers are skipped */
	for (size_t k = 0; k < G_N_ELEMENTS(hdr_sizes); k++) {
		g_autoptr(Builder) b = sample(hdr_sizes[k][0], hdr_sizes[k][1]);
		g_autofree char *dir = make_tmp_dir("sepia-sparse");
		g_autofree char *out = g_build_filename(dir, "raw.img", NULL);
		int fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0644);
		g_assert_cmpint(fd, >=, 0);
		g_assert_cmpint(write(fd, "stale data", 10), ==, 10); /* truncated away */
		SepiaSparseInfo info;
		g_autoptr(GError) error = NULL;
		g_assert_true(sepia_sparse_expand_buffer(b->sparse->data, b->sparse->len, "s.img", fd, 0,
							 &info, &error));
		g_assert_no_error(error);
		close(fd);
		assert_file_eq(out, b->raw);
		g_assert_cmpuint(info.raw_size, ==, b->raw->len);
		g_assert_cmpuint(info.total_chunks, ==, 8);
		g_assert_cmpuint(info.crc_chunks, ==, 2);
		g_assert_cmpuint(info.data_bytes, ==, (2 + 3 + 1) * 4096);
		g_assert_cmpuint(info.hole_bytes, ==, (4 + 1 + 2) * 4096);

		/* File to file, through a temp file; and from an fd. */
		g_autofree char *in = g_build_filename(dir, "s.img", NULL);
		g_assert_true(g_file_set_contents(in, (char *)b->sparse->data, b->sparse->len, NULL));
		g_autofree char *out2 = g_build_filename(dir, "raw2.img", NULL);
		g_assert_true(sepia_sparse_is_sparse_file(in));
		g_assert_false(sepia_sparse_is_sparse_file(out));
		g_assert_true(sepia_sparse_expand_file(in, out2, 0, NULL, &error));
		g_assert_no_error(error);
		assert_file_eq(out2, b->raw);
		int in_fd = open(in, O_RDONLY);
		int out_fd = open(out, O_RDWR | O_TRUNC);
		g_assert_true(sepia_sparse_expand_fd(in_fd, in, out_fd, 0, NULL, &error));
		g_assert_no_error(error);
		close(in_fd);
		close(out_fd);
		assert_file_eq(out, b->raw);
		g_assert_cmpuint(count_entries(dir), ==, 3);
		rm_tree(dir);
	}
}

/* DONT_CARE is a hole: a 1 TiB image of one DONT_CARE chunk takes no space and no time. */
static void test_holes(void)
{
	g_autoptr(Builder) b = builder_new(4096, 28, 12);
	add_raw(b, 1, 5);
	add_chunk_header(b, SEPIA_SPARSE_CHUNK_DONT_CARE, 1u << 28, 0);
	add_fill(b, 1, 0x01020304);
	finish(b);
	g_autofree char *dir = make_tmp_dir("sepia-sparse");
	g_autofree char *out = g_build_filename(dir, "big.img", NULL);
	int fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0644);
	SepiaSparseInfo info;
	g_autoptr(GError) error = NULL;
	bool ok = sepia_sparse_expand_buffer(b->sparse->data, b->sparse->len, "big", fd, 0, &info, &error);
	if (!ok && error && strstr(error->message, "File too large")) {
		g_test_skip("file system cannot hold a 1 TiB sparse file");
	} else {
		g_assert_no_error(error);
		struct stat st;
		g_assert_cmpint(fstat(fd, &st), ==, 0);
		g_assert_cmpuint((uint64_t)st.st_size, ==, (uint64_t)((1u << 28) + 2) * 4096);
		g_assert_cmpuint((uint64_t)st.st_blocks * 512, <, 1024 * 1024);
		guint8 tail[4096];
		g_assert_cmpint(pread(fd, tail, 4096, st.st_size - 4096), ==, 4096);
		g_assert_cmphex(get_le32(tail + 4092), ==, 0x01020304);
	}
	close(fd);
	/* A limit refuses it before anything is written. */
	g_clear_error(&error);
	g_assert_false(sepia_sparse_expand_buffer(b->sparse->data, b->sparse->len, "big", -1, 1 << 30, NULL,
						  &error));
	g_assert_nonnull(strstr(error->message, "more than the limit"));
	rm_tree(dir);
}

/* Output to a pipe: holes are written as zeros, in order. */
static gpointer drain_pipe(gpointer data)
{
	int fd = GPOINTER_TO_INT(data);
	GByteArray *got = g_byte_array_new();
	guint8 buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		g_byte_array_append(got, buf, (guint)n);
	return got;
}

static void test_pipe_output(void)
{
	g_autoptr(Builder) b = sample(28, 12);
	int fds[2];
	g_assert_cmpint(pipe(fds), ==, 0);
	GThread *reader = g_thread_new("drain", drain_pipe, GINT_TO_POINTER(fds[0]));
	g_autoptr(GError) error = NULL;
	g_assert_true(sepia_sparse_expand_buffer(b->sparse->data, b->sparse->len, "s.img", fds[1], 0, NULL,
						 &error));
	g_assert_no_error(error);
	close(fds[1]);
	GByteArray *got = g_thread_join(reader);
	close(fds[0]);
	g_assert_cmpmem(got->data, got->len, b->raw->data, b->raw->len);
	g_byte_array_unref(got);
}

static void expect_error(const guint8 *d, gsize len, const char *needle)
{
	g_autoptr(GError) error = NULL;
	g_assert_false(sepia_sparse_expand_buffer(d, len, "s.img", -1, 0, NULL, &error));
	assert_one_line_error(error, "s.img", needle);
}

static void test_corrupt(void)
{
	g_autoptr(Builder) b = sample(28, 12);
	const guint8 *orig = b->sparse->data;
	gsize len = b->sparse->len;
	g_autofree guint8 *d = g_memdup2(orig, len);
	g_assert_true(sepia_sparse_expand_buffer(d, len, "s.img", -1, 0, NULL, NULL));

	for (gsize cut = 0; cut < len; cut += (cut < 200 ? 1 : 333))
		expect_error(d, cut, NULL);
	expect_error(d, 10, "truncated: sparse header");
	expect_error(d, len - 1, "truncated");
	d[0] ^= 1;
	expect_error(d, len, "bad magic");
	memcpy(d, orig, len);
#define FIELD(off, bits, val, needle)           \
	do {                                    \
		memcpy(d, orig, len);           \
		put_le##bits(d + (off), (val)); \
		expect_error(d, len, needle);   \
	} while (0)
	FIELD(4, 16, 2, "major version 2");
	FIELD(8, 16, 20, "file_hdr_sz 20");
	FIELD(10, 16, 8, "chunk_hdr_sz 8");
	FIELD(12, 32, 0, "blk_sz 0");
	FIELD(12, 32, 4094, "blk_sz 4094");
	FIELD(16, 32, 17, "chunks cover 13 blocks but total_blks is 17");
	FIELD(16, 32, 5, "run past total_blks 5");
	FIELD(20, 32, 9, "truncated: chunk header");
	FIELD(20, 32, 7, "trailing data");
	/* First chunk (RAW, 2 blocks) at 28. */
	FIELD(28, 16, 0xCAC9, "unknown type 0xcac9");
	FIELD(28 + 8, 32, 11, "total_sz 11 is smaller than its header");
	FIELD(28 + 8, 32, 12 + 4096, "total_sz 4108 does not match its data (8192 + 12 bytes)");
	FIELD(28 + 4, 32, 0xffffffff, "run past total_blks");
	/* Second chunk (FILL) at 28 + 12 + 8192. */
	FIELD(28 + 12 + 8192 + 8, 32, 12 + 8, "FILL");
	/* The CRC32 chunk: wrong value, non-zero chunk_sz. */
	gsize crc_at = 28 + 12 + 8192 + 16 + 12;
	g_assert_cmphex(get_le16(orig + crc_at), ==, SEPIA_SPARSE_CHUNK_CRC32);
	FIELD(crc_at + 12, 32, 0x12345678, "does not match the data");
	FIELD(crc_at + 4, 32, 1, "chunk_sz 1 is not 0");
	g_autoptr(Builder) bad = builder_new(4096, 28, 12);
	add_raw(bad, 1, 3);
	add_crc(bad, false);
	finish(bad);
	expect_error(bad->sparse->data, bad->sparse->len, "CRC 0x");

	/* A FILL and a DONT_CARE chunk each describing 2^32-1 blocks of 2^32-4 bytes: total_blks
     * overflows nothing, the CRC over ~2^64 bytes is computed in O(log n), and the limit check
     * or the discard sink keeps it instant. */
	g_autoptr(Builder) huge = builder_new(0xfffffffc, 28, 12);
	add_chunk_header(huge, SEPIA_SPARSE_CHUNK_DONT_CARE, 0x7fffffff, 0);
	guint8 p[4] = { 1, 2, 3, 4 };
	add_chunk_header(huge, SEPIA_SPARSE_CHUNK_FILL, 0x7fffffff, 4);
	g_byte_array_append(huge->sparse, p, 4);
	add_chunk_header(huge, SEPIA_SPARSE_CHUNK_CRC32, 0, 4);
	g_byte_array_append(huge->sparse, (guint8[]){ 0, 0, 0, 0 }, 4);
	finish(huge);
	expect_error(huge->sparse->data, huge->sparse->len, "CRC 0x00000000 does not match");
}

static void test_expand_file_errors(void)
{
	g_autofree char *dir = make_tmp_dir("sepia-sparse");
	g_autofree char *in = g_build_filename(dir, "bad.img", NULL);
	g_autofree char *out = g_build_filename(dir, "raw.img", NULL);
	g_autoptr(Builder) b = sample(28, 12);
	g_assert_true(g_file_set_contents(in, (char *)b->sparse->data, b->sparse->len - 5, NULL));
	g_assert_true(g_file_set_contents(out, "previous", 8, NULL));
	g_autoptr(GError) error = NULL;
	g_assert_false(sepia_sparse_expand_file(in, out, 0, NULL, &error));
	g_assert_error(error, SEPIA_IMAGES_ERROR, SEPIA_IMAGES_ERROR_FORMAT);
	g_assert_true(g_str_has_prefix(error->message, in));
	g_autofree char *prev = NULL;
	g_assert_true(g_file_get_contents(out, &prev, NULL, NULL));
	g_assert_cmpstr(prev, ==, "previous");       /* untouched, */
	g_assert_cmpuint(count_entries(dir), ==, 2); /* and no temp file left */
	g_clear_error(&error);
	g_autofree char *missing = g_build_filename(dir, "missing.img", NULL);
	g_assert_false(sepia_sparse_expand_file(missing, out, 0, NULL, &error));
	g_assert_error(error, SEPIA_IMAGES_ERROR, SEPIA_IMAGES_ERROR_IO);
	rm_tree(dir);
}

/* img2simg (android-sdk-libsparse-utils) output expands back to the original. */
static void test_img2simg(void)
{
	g_autofree char *tool = g_find_program_in_path("img2simg");
	if (!tool) {
		g_test_skip("img2simg not installed (android-sdk-libsparse-utils)");
		return;
	}
	g_autofree char *dir = make_tmp_dir("sepia-sparse");
	g_autofree char *raw = g_build_filename(dir, "raw.img", NULL);
	g_autofree char *sparse = g_build_filename(dir, "sparse.img", NULL);
	g_autofree char *back = g_build_filename(dir, "back.img", NULL);
	/* 1 MiB: data, zeros, a repeated word, data, zeros. */
	GByteArray *want = g_byte_array_sized_new(1 << 20);
	g_byte_array_set_size(want, 1 << 20);
	memset(want->data, 0, want->len);
	for (guint i = 0; i < 40000; i++)
		want->data[i] = (guint8)(i * 13 + 1);
	for (guint i = 300000; i < 500000; i += 4)
		put_le32(want->data + i, 0xa5a5a5a5);
	for (guint i = 700000; i < 720001; i++)
		want->data[i] = (guint8)(i ^ 0x5a);
	g_assert_true(g_file_set_contents(raw, (char *)want->data, want->len, NULL));
	const char *argv[] = { tool, raw, sparse, NULL };
	int status;
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL, NULL, NULL, &status, NULL));
	g_assert_true(g_spawn_check_wait_status(status, NULL));
	g_assert_true(sepia_sparse_is_sparse_file(sparse));
	SepiaSparseInfo info;
	g_autoptr(GError) error = NULL;
	g_assert_true(sepia_sparse_expand_file(sparse, back, 0, &info, &error));
	g_assert_no_error(error);
	assert_file_eq(back, want);
	g_assert_cmpuint(info.raw_size, ==, 1 << 20);
	g_assert_cmpuint(info.hole_bytes, >, 0);
	g_byte_array_unref(want);
	rm_tree(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sparse/crc32", test_crc32);
	g_test_add_func("/sparse/expand/all-chunk-types", test_expand_all_chunk_types);
	g_test_add_func("/sparse/expand/holes", test_holes);
	g_test_add_func("/sparse/expand/pipe-output", test_pipe_output);
	g_test_add_func("/sparse/corrupt", test_corrupt);
	g_test_add_func("/sparse/expand-file/errors", test_expand_file_errors);
	g_test_add_func("/sparse/img2simg", test_img2simg);
	return g_test_run();
}
