/* Helpers for the disk image tests (imagefiles.h). */
#include "tests/unit/imagefiles.h"

#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

char *imagefiles_tmpdir(const char *prefix)
{
	g_autofree char *tmpl = g_strdup_printf("%s-XXXXXX", prefix);
	GError *err = NULL;
	char *dir = g_dir_make_tmp(tmpl, &err);
	g_assert_no_error(err);
	return dir;
}

void imagefiles_rmtree(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *n;
	while (d && (n = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(dir, n, NULL);
		if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			imagefiles_rmtree(p);
		else
			g_unlink(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(dir);
}

void imagefiles_write(const char *path, const void *data, size_t len)
{
	GError *err = NULL;
	g_file_set_contents(path, data, (gssize)len, &err);
	g_assert_no_error(err);
}

uint8_t *imagefiles_read(const char *path, size_t *len)
{
	char *data = NULL;
	gsize n = 0;
	GError *err = NULL;
	g_file_get_contents(path, &data, &n, &err);
	g_assert_no_error(err);
	*len = n;
	return (uint8_t *)data;
}

void imagefiles_fill(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
}

bool imagefiles_have(const char *tool)
{
	g_autofree char *p = g_find_program_in_path(tool);
	if (!p)
		g_test_message("%s is not installed: the checks that need it are skipped", tool);
	return p != NULL;
}

int imagefiles_run(const char *const *argv, char **out)
{
	GError *err = NULL;
	char *o = NULL, *e = NULL;
	int status = 0;
	bool ok = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &o, &e, &status,
			       &err);
	g_assert_no_error(err);
	g_assert_true(ok);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	g_test_message("%s %s: exit %d%s%.300s", argv[0], argv[1] ? argv[1] : "", code,
		       *e ? ", stderr: " : "", e);
	if (out)
		*out = o;
	else
		g_free(o);
	g_free(e);
	return code;
}

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	be16(p, (uint16_t)(v >> 16));
	be16(p + 2, (uint16_t)v);
}

static void be64(uint8_t *p, uint64_t v)
{
	be32(p, (uint32_t)(v >> 32));
	be32(p + 4, (uint32_t)v);
}

void imagefiles_make_qcow2(uint8_t *out, uint64_t size, const char *backing, const char *backing_format)
{
	const uint32_t cs = IMAGEFILES_QCOW2_CLUSTER;
	memset(out, 0, IMAGEFILES_QCOW2_BYTES);
	memcpy(out, "QFI\xfb", 4);
	be32(out + 4, 3);
	be32(out + 20, 16); /* cluster_bits */
	be64(out + 24, size);
	uint64_t per_l2 = (uint64_t)cs * (cs / 8);
	be32(out + 36, (uint32_t)((size + per_l2 - 1) / per_l2)); /* L1 entries */
	be64(out + 40, cs);                                       /* L1 table: cluster 1 */
	be64(out + 48, 2 * cs);                                   /* refcount table: cluster 2 */
	be32(out + 56, 1);
	be32(out + 96, 4);    /* 16-bit refcounts */
	be32(out + 100, 104); /* header length */
	uint32_t pos = 104;
	if (backing_format) {
		uint32_t n = (uint32_t)strlen(backing_format);
		be32(out + pos, 0xe2792aca);
		be32(out + pos + 4, n);
		memcpy(out + pos + 8, backing_format, n);
		pos += 8 + ((n + 7) & ~7u);
	}
	pos += 8; /* the end of the header extensions */
	if (backing) {
		uint32_t n = (uint32_t)strlen(backing);
		be64(out + 8, pos);
		be32(out + 16, n);
		memcpy(out + pos, backing, n);
	}
	be64(out + 2 * cs, 3 * cs); /* refcount block: cluster 3 */
	for (int i = 0; i < 4; i++)
		be16(out + 3 * cs + 2 * i, 1);
}
