/* Unit tests for the guest init's system properties (guest/init/properties.c): what
 * bootconfig, the kernel command line and build.prop give, and what hostile lines in
 * them do (they are reported and left out; nothing else is lost). */
#include "guest/init/properties.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

static GPtrArray *reports;

static void collect(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_ptr_array_add(reports, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

static bool reported(const char *needle)
{
	for (guint i = 0; i < reports->len; i++)
		if (strstr(g_ptr_array_index(reports, i), needle))
			return true;
	return false;
}

typedef struct {
	char *dir;
	struct properties_sources src;
} Fixture;

static char *put(Fixture *f, const char *name, const char *text)
{
	char *path = g_build_filename(f->dir, name, NULL);
	if (text)
		g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static void setup(Fixture *f, gconstpointer data)
{
	(void)data;
	f->dir = g_dir_make_tmp("test-guest-properties.XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	reports = g_ptr_array_new_with_free_func(g_free);
}

static void teardown(Fixture *f, gconstpointer data)
{
	(void)data;
	const char *files[] = { "bootconfig", "cmdline", "build.prop", "props", "props.new" };
	for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *p = g_build_filename(f->dir, files[i], NULL);
		g_unlink(p);
	}
	g_rmdir(f->dir);
	g_free(f->dir);
	g_free((char *)f->src.bootconfig), g_free((char *)f->src.cmdline);
	g_free((char *)f->src.build_prop), g_free((char *)f->src.out);
	g_ptr_array_unref(reports);
}

/* The written file as a table. */
static GHashTable *load_out(Fixture *f)
{
	g_autofree char *text = NULL;
	g_assert_true(g_file_get_contents(f->src.out, &text, NULL, NULL));
	GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		char *eq = strchr(*l, '=');
		if (!eq)
			continue;
		g_assert_false(g_hash_table_contains(t, *l)); /* each name once */
		g_hash_table_insert(t, g_strndup(*l, (gsize)(eq - *l)), g_strdup(eq + 1));
	}
	return t;
}

static void sources(Fixture *f, const char *bootconfig, const char *cmdline, const char *build_prop)
{
	f->src.bootconfig = put(f, "bootconfig", bootconfig);
	f->src.cmdline = put(f, "cmdline", cmdline);
	f->src.build_prop = put(f, "build.prop", build_prop);
	f->src.out = put(f, "props", NULL);
	properties_load_files(&f->src, collect);
}

static void test_sources(Fixture *f, gconstpointer data)
{
	(void)data;
	sources(f,
		"androidboot.slot_suffix = \"_a\"\n"
		"androidboot.serialno = \"SEPIACVD01\"\n"
		"androidboot.list = \"one\", \"two\"\n"
		"androidboot.hardware = 'sepia'\n"
		"kernel.foo = \"1\"\n",
		"console=ttyS0 androidboot.serialno=OTHER androidboot.mode=charger bootconfig\n",
		"# a comment\n\nro.product.name=sepia_ref\n  ro.build.id = ID1  \nro.product.name=again\n"
		"persist.x=1\npersist.x=2\n");
	g_autoptr(GHashTable) t = load_out(f);
	g_assert_cmpstr(g_hash_table_lookup(t, "ro.boot.slot_suffix"), ==, "_a");
	g_assert_cmpstr(g_hash_table_lookup(t, "ro.boot.list"), ==, "one,two");
	g_assert_cmpstr(g_hash_table_lookup(t, "ro.boot.hardware"), ==, "sepia");
	g_assert_cmpstr(g_hash_table_lookup(t, "ro.hardware"), ==, "sepia");
	/* bootconfig first; a ro.* keeps its first value */
	g_assert_cmpstr(g_hash_table_lookup(t, "ro.boot.serialno"), ==, "SEPIACVD01");
	g_assert_cmpstr(g_hash_table_lookup(t, "ro.serialno"), ==, "SEPIACVD01");
	g_assert_cmpstr(g_hash_table_lookup(t, "ro.bootmode"), ==, "charger");
	g_assert_cmpstr(g_hash_table_lookup(t, "ro.product.name"), ==, "sepia_ref");
	g_assert_cmpstr(g_hash_table_lookup(t, "ro.build.id"), ==, "ID1");
	g_assert_cmpstr(g_hash_table_lookup(t, "persist.x"), ==, "2");
	g_assert_false(g_hash_table_contains(t, "ro.boot.kernel.foo"));
	g_assert_false(g_hash_table_contains(t, "kernel.foo"));
	g_assert_cmpuint(reports->len, ==, 0);

	/* properties_set: rewrites the file; ro.* once; no bad names or values */
	g_assert_cmpint(properties_set("sys.boot_completed", "1"), ==, 0);
	g_assert_cmpint(properties_set("ro.product.name", "x"), ==, -EPERM);
	g_assert_cmpint(properties_set("ro.new", "1"), ==, 0);
	g_assert_cmpint(properties_set("ro.new", "2"), ==, -EPERM);
	g_assert_cmpint(properties_set("a.b", "line\nbreak"), ==, -EINVAL);
	g_assert_cmpint(properties_set("bad name", "1"), ==, -EINVAL);
	g_assert_cmpint(properties_set(".a", "1"), ==, -EINVAL);
	g_assert_cmpint(properties_set("", "1"), ==, -EINVAL);
	g_autoptr(GHashTable) t2 = load_out(f);
	g_assert_cmpstr(g_hash_table_lookup(t2, "sys.boot_completed"), ==, "1");
	g_assert_cmpstr(g_hash_table_lookup(t2, "ro.new"), ==, "1");
	g_assert_cmpstr(g_hash_table_lookup(t2, "ro.product.name"), ==, "sepia_ref");
}

/* Hostile lines are reported and left out; the good ones around them are kept. */
static void test_hostile(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autoptr(GString) bc = g_string_new("androidboot.first = \"1\"\n");
	g_string_append(bc, "androidboot.unquoted = value\n");
	g_string_append(bc, "androidboot.unterminated = \"abc\n");
	g_string_append(bc, "androidboot.noequals\n");
	g_string_append(bc, "androidboot. = \"empty name\"\n");
	g_string_append_printf(bc, "androidboot.%0200d = \"long name\"\n", 0);
	g_string_append(bc, "androidboot.long = \"");
	for (int i = 0; i < 1000; i++)
		g_string_append_c(bc, 'v');
	g_string_append(bc, "\"\nandroidboot.last = \"2\"\n");

	g_autoptr(GString)
		bp = g_string_new("ro.product.name=ok\nno equals sign here\nbad name!=1\n=novalue\n");
	for (int i = 0; i < PROPERTY_COUNT_MAX + 10; i++)
		g_string_append_printf(bp, "many.p%d=%d\n", i, i);
	sources(f, bc->str, "androidboot.\"odd=1 androidboot=2 =3 androidboot.x\n", bp->str);

	g_autoptr(GHashTable) t = load_out(f);
	g_assert_cmpstr(g_hash_table_lookup(t, "ro.boot.first"), ==, "1");
	g_assert_cmpstr(g_hash_table_lookup(t, "ro.boot.last"), ==, "2");
	g_assert_cmpstr(g_hash_table_lookup(t, "ro.product.name"), ==, "ok");
	g_assert_false(g_hash_table_contains(t, "ro.boot.unquoted"));
	/* an overlong value is cut to what fits, never overrunning */
	const char *lv = g_hash_table_lookup(t, "ro.boot.long");
	g_assert_nonnull(lv);
	g_assert_cmpuint(strlen(lv), ==, PROPERTY_VALUE_MAX - 1);
	g_assert_cmpuint(g_hash_table_size(t), <=, PROPERTY_COUNT_MAX);
	g_assert_true(reported("unquoted value"));
	g_assert_true(reported("name too long"));
	g_assert_true(reported("'no equals sign here' is not NAME=VALUE"));
	g_assert_true(reported("bad name!"));
	g_assert_true(reported("No space left"));
}

/* Missing files: what is there is written, and the missing build.prop is reported. */
static void test_missing(Fixture *f, gconstpointer data)
{
	(void)data;
	sources(f, NULL, NULL, NULL);
	g_autoptr(GHashTable) t = load_out(f);
	g_assert_cmpstr(g_hash_table_lookup(t, "ro.serialno"), ==, "");
	g_assert_cmpstr(g_hash_table_lookup(t, "ro.bootmode"), ==, "unknown");
	g_assert_true(reported("no ro.product.* or ro.build.*"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/guest-properties/" name, Fixture, NULL, setup, fn, teardown)
	ADD("sources", test_sources);
	ADD("hostile", test_hostile);
	ADD("missing", test_missing);
	return g_test_run();
}
