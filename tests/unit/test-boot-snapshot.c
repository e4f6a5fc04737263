/* Unit tests for the boot snapshot's key and cache (launcher/boot_snapshot.h): which parts of
 * the manifest count, that every input changes the key and nothing else does, and the cache's
 * lookup, atomic commit, concurrent commits of one key, pruning and removal. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include <glib/gstdio.h>

#include "launcher/boot_snapshot.h"

static const char manifest_a[] = "{\n"
				 "  \"manifest_version\": 1,\n"
				 "  \"inputs\": [\n"
				 "    {\n"
				 "      \"role\": \"boot\",\n"
				 "      \"path\": \"/home/a/images/boot.img\",\n"
				 "      \"size\": 3264512,\n"
				 "      \"sha256\": \"4cfe\",\n"
				 "      \"mtime\": \"2026-12-07T16:27:43.403773177Z\",\n"
				 "      \"boot_header_version\": 4\n"
				 "    }\n"
				 "  ],\n"
				 "  \"outputs\": [\n"
				 "    {\n"
				 "      \"role\": \"cvd-1 userdata\",\n"
				 "      \"path\": \"/tmp/x/userdata.img\",\n"
				 "      \"size\": 67108864,\n"
				 "      \"sha256\": \"b907\",\n"
				 "      \"mtime\": \"2026-12-07T18:29:16.024039716Z\"\n"
				 "    }\n"
				 "  ],\n"
				 "  \"composite\": {\n"
				 "    \"descriptor\": \"/tmp/x/os_composite.vmdk\",\n"
				 "    \"disk_size\": 116391936,\n"
				 "    \"disk_guid\": \"1CF9B6D3-5A85-4F63-84F1-F2CD6F6F11E9\",\n"
				 "    \"partitions\": [\n"
				 "      {\n"
				 "        \"index\": 1,\n"
				 "        \"name\": \"userdata\",\n"
				 "        \"offset\": 1048576,\n"
				 "        \"size\": 67108864,\n"
				 "        \"file\": \"/tmp/x/userdata.img\",\n"
				 "        \"guid\": \"6C563DDE-EEB1-4E60-B863-B0EE25DCF3E5\",\n"
				 "        \"attributes\": 0\n"
				 "      }\n"
				 "    ]\n"
				 "  }\n"
				 "}\n";

static char *replace(const char *text, const char *from, const char *to)
{
	g_auto(GStrv) parts = g_strsplit(text, from, -1);
	return g_strjoinv(to, parts);
}

static void test_manifest_key(void)
{
	g_autofree char *k = boot_snapshot_manifest_key(manifest_a);
	g_assert_nonnull(strstr(k, "manifest inputs role=\"boot\"\n"));
	g_assert_nonnull(strstr(k, "manifest inputs sha256=\"4cfe\"\n"));
	g_assert_nonnull(strstr(k, "manifest inputs boot_header_version=4\n"));
	g_assert_nonnull(strstr(k, "manifest composite disk_size=116391936\n"));
	g_assert_nonnull(strstr(k, "manifest composite name=\"userdata\"\n"));
	g_assert_nonnull(strstr(k, "manifest composite size=67108864\n"));
	/* Paths, times, GUIDs and the outputs' (per-launch) contents are not the guest's view. */
	g_assert_null(strstr(k, "path"));
	g_assert_null(strstr(k, "mtime"));
	g_assert_null(strstr(k, "guid="));
	g_assert_null(strstr(k, "b907"));

	/* Another home, other times, other GUIDs, other user data: the same key. */
	g_autofree char *m1 = replace(manifest_a, "/home/a/", "/home/b/");
	g_autofree char *m2 = replace(m1, "6C563DDE", "AAAAAAAA");
	g_autofree char *m3 = replace(m2, "b907", "ffff");
	g_autofree char *m4 = replace(m3, "16:27:43", "17:00:00");
	g_autofree char *k4 = boot_snapshot_manifest_key(m4);
	g_assert_cmpstr(k, ==, k4);

	/* Another boot image, another userdata size: another key. */
	g_autofree char *m5 = replace(manifest_a, "4cfe", "4cff");
	g_autofree char *k5 = boot_snapshot_manifest_key(m5);
	g_assert_cmpstr(k, !=, k5);
	g_autofree char *m6 = replace(manifest_a, "\"size\": 67108864", "\"size\": 134217728");
	g_autofree char *k6 = boot_snapshot_manifest_key(m6);
	g_assert_cmpstr(k, !=, k6);
	g_autofree char *empty = boot_snapshot_manifest_key("not json");
	g_assert_cmpstr(empty, ==, "");
}

typedef struct {
	char *dir, *manifest, *vmm;
	BootSnapshotInputs in;
	const char *displays[2], *nets[2];
} KeyFixture;

static void key_setup(KeyFixture *f, gconstpointer unused)
{
	f->dir = g_dir_make_tmp("test-boot-snapshot-XXXXXX", NULL);
	f->manifest = g_build_filename(f->dir, "manifest.json", NULL);
	f->vmm = g_build_filename(f->dir, "sepia-vmm", NULL);
	g_assert_true(g_file_set_contents(f->manifest, manifest_a, -1, NULL));
	g_assert_true(g_file_set_contents(f->vmm, "vmm build 1", -1, NULL));
	f->displays[0] = "width=720,height=1280,dpi=320";
	f->nets[0] = NULL;
	f->in = (BootSnapshotInputs){ .vmm_path = f->vmm,
				      .manifest_path = f->manifest,
				      .slot_suffix = "_a",
				      .avb_state = "yellow",
				      .cpus = 2,
				      .memory_mb = 512,
				      .gpu = "auto",
				      .displays = f->displays,
				      .nets = f->nets,
				      .vsock_cid = 3,
				      .rng = true,
				      .input = true,
				      .cmdline = "panic=-1 sepia.boot_snapshot=1" };
}

static void key_teardown(KeyFixture *f, gconstpointer unused)
{
	g_unlink(f->manifest);
	g_unlink(f->vmm);
	g_rmdir(f->dir);
	g_free(f->manifest);
	g_free(f->vmm);
	g_free(f->dir);
}

static char *digest_of(const BootSnapshotInputs *in)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *text = boot_snapshot_key_text(in, &err);
	g_assert_no_error(err);
	return boot_snapshot_key_digest(text);
}

static void test_key_inputs(KeyFixture *f, gconstpointer unused)
{
	g_autofree char *base = digest_of(&f->in);
	g_assert_cmpuint(strlen(base), ==, 64);
	g_autofree char *again = digest_of(&f->in);
	g_assert_cmpstr(base, ==, again);

	/* Each input alone changes the key. */
	BootSnapshotInputs v;
#define CHANGED(field, value)                       \
	do {                                        \
		v = f->in;                          \
		v.field = value;                    \
		g_autofree char *d = digest_of(&v); \
		g_assert_cmpstr(d, !=, base);       \
	} while (0)
	CHANGED(slot_suffix, "_b");
	CHANGED(avb_state, "orange");
	CHANGED(cpus, 1);
	CHANGED(memory_mb, 1024);
	CHANGED(gpu, "2d");
	CHANGED(displays, NULL);
	CHANGED(vsock_cid, 4);
	CHANGED(rng, false);
	CHANGED(cmdline, "panic=-1 sepia.boot_snapshot=1 quiet");
	const char *nets[] = { "tap=cvd-etap-01,mac=52:54:00:01:00:01", NULL };
	CHANGED(nets, nets);
#undef CHANGED

	/* Another sepia-vmm build, another boot image: another key. */
	g_assert_true(g_file_set_contents(f->vmm, "vmm build 2", -1, NULL));
	g_autofree char *vmm2 = digest_of(&f->in);
	g_assert_cmpstr(vmm2, !=, base);
	g_assert_true(g_file_set_contents(f->vmm, "vmm build 1", -1, NULL));
	g_autofree char *m = replace(manifest_a, "4cfe", "0000");
	g_assert_true(g_file_set_contents(f->manifest, m, -1, NULL));
	g_autofree char *boot2 = digest_of(&f->in);
	g_assert_cmpstr(boot2, !=, base);

	/* A missing manifest is an error naming it. */
	v = f->in;
	v.manifest_path = "/nonexistent/manifest.json";
	g_autoptr(GError) err = NULL;
	g_autofree char *none = boot_snapshot_key_text(&v, &err);
	g_assert_null(none);
	g_assert_nonnull(strstr(err->message, "/nonexistent/manifest.json"));
}

/* ---- the cache */

static void write_entry_files(const char *dir, guint memory_mb)
{
	g_autofree char *state = g_build_filename(dir, "state.sepia", NULL);
	g_autofree char *memory = g_build_filename(dir, "memory.bin", NULL);
	g_autofree char *disk = g_build_filename(dir, "disk0", NULL);
	g_assert_true(g_file_set_contents(state, "state", -1, NULL));
	g_assert_true(g_file_set_contents(disk, "disk", -1, NULL));
	int fd = open(memory, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, (off_t)memory_mb << 20), ==, 0);
	close(fd);
}

static guint count_entries(const char *cache)
{
	GDir *d = g_dir_open(cache, 0, NULL);
	guint n = 0;
	const char *name;
	while (d && (name = g_dir_read_name(d)))
		n += strlen(name) == 64;
	if (d)
		g_dir_close(d);
	return n;
}

static void remove_tree(const char *path)
{
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", path);
	g_assert_cmpint(system(cmd), ==, 0);
}

static void test_cache(void)
{
	g_autofree char *top = g_dir_make_tmp("test-boot-cache-XXXXXX", NULL);
	g_autofree char *cache = g_build_filename(top, "c", NULL); /* made by the first begin */
	const char *key = "key one\n";
	g_autofree char *digest = boot_snapshot_key_digest(key);
	g_assert_null(boot_snapshot_cache_lookup(cache, digest, key, 1));

	g_autoptr(GError) err = NULL;
	g_autofree char *tmp = boot_snapshot_cache_begin(cache, &err);
	g_assert_no_error(err);
	write_entry_files(tmp, 1);
	/* Half written: not an entry yet. */
	g_assert_null(boot_snapshot_cache_lookup(cache, digest, key, 1));
	g_assert_true(boot_snapshot_cache_commit(cache, tmp, digest, key, 3, &err));
	g_assert_no_error(err);
	g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
	g_autofree char *entry = boot_snapshot_cache_lookup(cache, digest, key, 1);
	g_assert_nonnull(entry);
	g_autofree char *disk = g_build_filename(entry, "disk0", NULL);
	g_assert_false(g_file_test(disk, G_FILE_TEST_EXISTS)); /* a boot snapshot holds no disk */

	/* Another key text under the same name, another memory size: not this entry. */
	g_assert_null(boot_snapshot_cache_lookup(cache, digest, "key two\n", 1));
	g_assert_null(boot_snapshot_cache_lookup(cache, digest, key, 2));

	/* A second commit of the same key keeps the first entry and drops the new one. */
	g_autofree char *tmp2 = boot_snapshot_cache_begin(cache, &err);
	write_entry_files(tmp2, 1);
	g_autofree char *marker = g_build_filename(tmp2, "second", NULL);
	g_assert_true(g_file_set_contents(marker, "", -1, NULL));
	g_assert_true(boot_snapshot_cache_commit(cache, tmp2, digest, key, 3, &err));
	g_assert_false(g_file_test(tmp2, G_FILE_TEST_EXISTS));
	g_autofree char *second = g_build_filename(entry, "second", NULL);
	g_assert_false(g_file_test(second, G_FILE_TEST_EXISTS));

	/* Removal: whole, and the lookup misses after. */
	boot_snapshot_cache_remove(entry);
	g_assert_false(g_file_test(entry, G_FILE_TEST_EXISTS));
	g_assert_null(boot_snapshot_cache_lookup(cache, digest, key, 1));
	g_assert_cmpuint(count_entries(cache), ==, 0);
	remove_tree(top);
}

static void test_cache_prune(void)
{
	g_autofree char *cache = g_dir_make_tmp("test-boot-cache-XXXXXX", NULL);
	char *digests[5];
	for (guint i = 0; i < 5; i++) {
		g_autofree char *key = g_strdup_printf("key %u\n", i);
		digests[i] = boot_snapshot_key_digest(key);
		g_autofree char *tmp = boot_snapshot_cache_begin(cache, NULL);
		write_entry_files(tmp, 1);
		g_assert_true(boot_snapshot_cache_commit(cache, tmp, digests[i], key, 3, NULL));
		/* Entries ordered by time: each one older than the next. */
		g_autofree char *entry = g_build_filename(cache, digests[i], NULL);
		struct utimbuf t = { .actime = 1000 + i, .modtime = 1000 + i };
		g_assert_cmpint(utime(entry, &t), ==, 0);
	}
	g_assert_cmpuint(count_entries(cache), ==, 3);
	/* The newest three stay: 2, 3, 4 (0 and 1 went as 3 and 4 came). */
	for (guint i = 0; i < 5; i++) {
		g_autofree char *entry = g_build_filename(cache, digests[i], NULL);
		g_assert_cmpint(g_file_test(entry, G_FILE_TEST_IS_DIR), ==, i >= 2);
		g_free(digests[i]);
	}
	remove_tree(cache);
}

/* Two processes commit the same key at once, many times: always one whole entry. */
static void test_cache_concurrent(void)
{
	g_autofree char *cache = g_dir_make_tmp("test-boot-cache-XXXXXX", NULL);
	const char *key = "shared key\n";
	g_autofree char *digest = boot_snapshot_key_digest(key);
	for (guint round = 0; round < 20; round++) {
		pid_t pids[2];
		for (guint p = 0; p < 2; p++) {
			pids[p] = fork();
			g_assert_cmpint(pids[p], >=, 0);
			if (pids[p] == 0) {
				char *tmp = boot_snapshot_cache_begin(cache, NULL);
				write_entry_files(tmp, 1);
				_exit(tmp && boot_snapshot_cache_commit(cache, tmp, digest, key, 3, NULL)
					      ? 0
					      : 1);
			}
		}
		for (guint p = 0; p < 2; p++) {
			int status;
			g_assert_cmpint(waitpid(pids[p], &status, 0), ==, pids[p]);
			g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		}
		g_autofree char *entry = boot_snapshot_cache_lookup(cache, digest, key, 1);
		g_assert_nonnull(entry);
		g_assert_cmpuint(count_entries(cache), ==, 1);
		if (round % 2)
			boot_snapshot_cache_remove(entry);
	}
	remove_tree(cache);
}

static void test_default_cache(void)
{
	g_setenv(BOOT_SNAPSHOT_ENV_DIR, "/var/tmp/x/../bs", TRUE);
	g_autofree char *a = boot_snapshot_default_cache();
	g_assert_cmpstr(a, ==, "/var/tmp/bs");
	g_unsetenv(BOOT_SNAPSHOT_ENV_DIR);
	g_setenv("XDG_CACHE_HOME", "/c", TRUE);
	g_autofree char *b = boot_snapshot_default_cache();
	g_assert_cmpstr(b, ==, "/c/sepia/boot-snapshots");
	g_unsetenv("XDG_CACHE_HOME");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/boot-snapshot/manifest-key", test_manifest_key);
	g_test_add("/boot-snapshot/key-inputs", KeyFixture, NULL, key_setup, test_key_inputs, key_teardown);
	g_test_add_func("/boot-snapshot/cache", test_cache);
	g_test_add_func("/boot-snapshot/cache-prune", test_cache_prune);
	g_test_add_func("/boot-snapshot/cache-concurrent", test_cache_concurrent);
	g_test_add_func("/boot-snapshot/default-cache", test_default_cache);
	return g_test_run();
}
