/* launcher/boot_snapshot.c — see boot_snapshot.h. */
#include "launcher/boot_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <glib/gstdio.h>

#include "images/manifest.h"
#include "launcher/instance.h"
#include "launcher/suspend.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define TMP_PREFIX   ".tmp-"
#define STALE_TMP_S  (24 * 3600) /* a temporary directory this old was left by a killed launch */
#define DIGEST_CHARS 64

/* ---- the key */

static bool key_in(const char *key, const char *const *keys)
{
	for (guint i = 0; keys[i]; i++)
		if (!strcmp(key, keys[i]))
			return true;
	return false;
}

char *boot_snapshot_manifest_key(const char *manifest_json)
{
	static const char *const input_keys[] = { "role", "size", "sha256", "boot_header_version", NULL };
	static const char *const disk_keys[] = { "disk_size", "index",     "name",       "offset",
						 "size",      "type_guid", "attributes", NULL };
	GString *out = g_string_new(NULL);
	g_auto(GStrv) lines = g_strsplit(manifest_json ? manifest_json : "", "\n", -1);
	const char *section = "";
	for (guint i = 0; lines[i]; i++) {
		g_autofree char *line = g_strstrip(g_strdup(lines[i]));
		if (line[0] != '"')
			continue;
		char *colon = strstr(line, "\":");
		if (!colon)
			continue;
		g_autofree char *key = g_strndup(line + 1, (gsize)(colon - line - 1));
		g_autofree char *value = g_strstrip(g_strdup(colon + 2));
		gsize vlen = strlen(value);
		if (vlen && value[vlen - 1] == ',')
			value[vlen - 1] = '\0';
		/* A section opens with "[" or "{" on its key's line. */
		if (!strcmp(value, "[") || !strcmp(value, "{")) {
			if (!strcmp(key, "inputs") || !strcmp(key, "outputs") || !strcmp(key, "composite"))
				section = !strcmp(key, "inputs")    ? "inputs"
					  : !strcmp(key, "outputs") ? "outputs"
								    : "composite";
			continue;
		}
		if ((!strcmp(section, "inputs") && key_in(key, input_keys)) ||
		    (!strcmp(section, "composite") && key_in(key, disk_keys)))
			g_string_append_printf(out, "manifest %s %s=%s\n", section, key, value);
	}
	return g_string_free(out, FALSE);
}

char *boot_snapshot_key_text(const BootSnapshotInputs *in, GError **error)
{
	g_autofree char *manifest = NULL;
	if (!g_file_get_contents(in->manifest_path, &manifest, NULL, error)) {
		g_prefix_error(error, "boot snapshot key: ");
		return NULL;
	}
	g_autofree char *vmm_digest = manifest_sha256_file(in->vmm_path, error);
	if (!vmm_digest) {
		g_prefix_error(error, "boot snapshot key: ");
		return NULL;
	}
	g_autofree char *manifest_key = boot_snapshot_manifest_key(manifest);
	if (!*manifest_key) {
		g_set_error(error, LAUNCHER_ERROR, EINVAL,
			    "boot snapshot key: %s lists no input images (run launch_cvd to assemble "
			    "the device again)",
			    in->manifest_path);
		return NULL;
	}
	GString *k = g_string_new(NULL);
	g_string_append_printf(k, "sepia_version=%s\nsepia_vmm=%s\n", PACKAGE_VERSION, vmm_digest);
	g_string_append(k, manifest_key);
	g_string_append_printf(k, "slot=%s\navb=%s\ncpus=%u\nmemory_mb=%u\ngpu=%s\n", in->slot_suffix,
			       in->avb_state, in->cpus, in->memory_mb, in->gpu ? in->gpu : "none");
	for (guint i = 0; in->displays && in->displays[i]; i++)
		g_string_append_printf(k, "display=%s\n", in->displays[i]);
	for (guint i = 0; in->nets && in->nets[i]; i++)
		g_string_append_printf(k, "net=%s\n", in->nets[i]);
	g_string_append_printf(k, "vsock_cid=%u\nrng=%d\ninput=%d\ncmdline=%s\n", in->vsock_cid, in->rng,
			       in->input, in->cmdline);
	return g_string_free(k, FALSE);
}

char *boot_snapshot_key_digest(const char *key_text)
{
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, key_text, -1);
}

char *boot_snapshot_default_cache(void)
{
	const char *dir = g_getenv(BOOT_SNAPSHOT_ENV_DIR);
	if (dir && *dir)
		return g_canonicalize_filename(dir, NULL);
	const char *xdg = g_getenv("XDG_CACHE_HOME");
	if (xdg && g_path_is_absolute(xdg))
		return g_build_filename(xdg, "sepia", "boot-snapshots", NULL);
	return g_build_filename(launcher_home(), ".cache", "sepia", "boot-snapshots", NULL);
}

/* ---- the cache */

static bool is_digest(const char *name)
{
	if (strlen(name) != DIGEST_CHARS)
		return false;
	for (const char *p = name; *p; p++)
		if (!g_ascii_isxdigit(*p) || g_ascii_isupper(*p))
			return false;
	return true;
}

char *boot_snapshot_cache_lookup(const char *cache, const char *digest, const char *key_text, guint memory_mb)
{
	g_autofree char *entry = g_build_filename(cache, digest, NULL);
	g_autofree char *key_path = g_build_filename(entry, "key.txt", NULL);
	g_autofree char *state = g_build_filename(entry, "state.sepia", NULL);
	g_autofree char *memory = g_build_filename(entry, "memory.bin", NULL);
	g_autofree char *stored = NULL;
	struct stat st;
	if (!g_file_get_contents(key_path, &stored, NULL, NULL) || strcmp(stored, key_text) ||
	    !g_file_test(state, G_FILE_TEST_IS_REGULAR) || stat(memory, &st) < 0 ||
	    (guint64)st.st_size != (guint64)memory_mb << 20)
		return NULL;
	g_utime(entry, NULL); /* last use: the pruning keeps the newest */
	return g_steal_pointer(&entry);
}

char *boot_snapshot_cache_begin(const char *cache, GError **error)
{
	if (g_mkdir_with_parents(cache, 0700) < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno,
			    "boot snapshot cache %s: cannot make it: %s (set " BOOT_SNAPSHOT_ENV_DIR
			    " to a writable directory, or launch with --boot_snapshot=off)",
			    cache, g_strerror(errno));
		return NULL;
	}
	char *tmp = g_build_filename(cache, TMP_PREFIX "XXXXXX", NULL);
	if (!g_mkdtemp_full(tmp, 0700)) {
		g_set_error(error, LAUNCHER_ERROR, errno,
			    "boot snapshot cache %s: cannot make a directory: %s", cache, g_strerror(errno));
		g_free(tmp);
		return NULL;
	}
	return tmp;
}

static void remove_flat_dir(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	if (d) {
		const char *name;
		while ((name = g_dir_read_name(d))) {
			g_autofree char *f = g_build_filename(path, name, NULL);
			g_unlink(f);
		}
		g_dir_close(d);
	}
	g_rmdir(path);
}

void boot_snapshot_cache_remove(const char *path)
{
	g_autofree char *parent = g_path_get_dirname(path);
	g_autofree char *aside = g_build_filename(parent, TMP_PREFIX "gone-XXXXXX", NULL);
	/* A name of its own, then away: a reader sees the whole entry or none. */
	if (g_mkdtemp_full(aside, 0700) && rename(path, aside) == 0) {
		remove_flat_dir(aside);
		return;
	}
	g_rmdir(aside);
	remove_flat_dir(path);
}

typedef struct {
	char *path;
	gint64 mtime;
} Entry;

static gint newest_first(gconstpointer a, gconstpointer b)
{
	const Entry *x = a, *y = b;
	return x->mtime < y->mtime ? 1 : x->mtime > y->mtime ? -1 : 0;
}

/* All but the newest `keep` entries go, and temporary directories a killed launch left. */
static void prune(const char *cache, guint keep)
{
	GDir *d = g_dir_open(cache, 0, NULL);
	if (!d)
		return;
	g_autoptr(GArray) entries = g_array_new(FALSE, FALSE, sizeof(Entry));
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	const char *name;
	while ((name = g_dir_read_name(d))) {
		char *path = g_build_filename(cache, name, NULL);
		struct stat st;
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
			g_free(path);
		} else if (g_str_has_prefix(name, TMP_PREFIX)) {
			if (now - st.st_mtime > STALE_TMP_S)
				remove_flat_dir(path);
			g_free(path);
		} else if (is_digest(name)) {
			Entry e = { path, (gint64)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec };
			g_array_append_val(entries, e);
		} else {
			g_free(path);
		}
	}
	g_dir_close(d);
	g_array_sort(entries, newest_first);
	for (guint i = 0; i < entries->len; i++) {
		Entry *e = &g_array_index(entries, Entry, i);
		if (i >= keep)
			boot_snapshot_cache_remove(e->path);
		g_free(e->path);
	}
}

bool boot_snapshot_cache_commit(const char *cache, const char *tmp, const char *digest, const char *key_text,
				guint keep, GError **error)
{
	g_autofree char *key_path = g_build_filename(tmp, "key.txt", NULL);
	g_autofree char *disk = g_build_filename(tmp, "disk0", NULL);
	g_autofree char *entry = g_build_filename(cache, digest, NULL);
	g_autofree char *lock_path = g_build_filename(cache, "lock", NULL);
	g_unlink(disk); /* the disks are the launch's own: never restored from a boot snapshot */
	if (!g_file_set_contents(key_path, key_text, -1, error)) {
		g_prefix_error(error, "boot snapshot cache: ");
		return false;
	}
	int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "boot snapshot cache: cannot lock %s: %s",
			    lock_path, g_strerror(errno));
		if (lock >= 0)
			close(lock);
		return false;
	}
	bool ok = true;
	if (g_file_test(entry, G_FILE_TEST_IS_DIR)) {
		/* Another launch with the same key was first: its entry is as good as ours. */
		remove_flat_dir(tmp);
	} else if (rename(tmp, entry) < 0) {
		g_set_error(error, LAUNCHER_ERROR, errno, "boot snapshot cache: cannot rename %s to %s: %s",
			    tmp, entry, g_strerror(errno));
		ok = false;
	}
	if (ok)
		prune(cache, keep);
	close(lock);
	return ok;
}

/* ---- the monitor's side */

const char *boot_snapshot_prepare(BootSnapshot *bs, const char *instance, const BootSnapshotInputs *in)
{
	g_clear_pointer(&bs->key_text, g_free);
	g_clear_pointer(&bs->digest, g_free);
	g_clear_pointer(&bs->entry, g_free);
	bs->take = false;
	if (!bs->cache)
		return NULL;
	g_autoptr(GError) err = NULL;
	bs->key_text = boot_snapshot_key_text(in, &err);
	if (!bs->key_text) {
		launcher_log(instance, "%s; booting cold without a boot snapshot", err->message);
		return NULL;
	}
	bs->digest = boot_snapshot_key_digest(bs->key_text);
	if (bs->skip_restore) {
		bs->skip_restore = false;
		bs->take = true;
		launcher_log(instance, "boot snapshot: booting cold after the refused restore");
		return NULL;
	}
	bs->entry = boot_snapshot_cache_lookup(bs->cache, bs->digest, bs->key_text, in->memory_mb);
	if (bs->entry) {
		launcher_log(instance, "boot snapshot: restoring %s", bs->entry);
		return bs->entry;
	}
	bs->take = true;
	launcher_log(instance, "boot snapshot: none for key %.12s in %s: a cold boot, snapshot at the point",
		     bs->digest, bs->cache);
	return NULL;
}

void boot_snapshot_at_point(BootSnapshot *bs, VmmChild *vmm, const char *instance)
{
	if (!bs->take || !bs->digest) {
		launcher_log(instance, "guest at the boot snapshot point: no snapshot wanted");
		return;
	}
	bs->take = false;
	gint64 t0 = g_get_monotonic_time();
	g_autoptr(GError) err = NULL;
	g_autofree char *tmp = boot_snapshot_cache_begin(bs->cache, &err);
	bool ok = tmp && suspend_snapshot_write(vmm, instance, tmp, &err) &&
		  boot_snapshot_cache_commit(bs->cache, tmp, bs->digest, bs->key_text, BOOT_SNAPSHOT_KEEP,
					     &err);
	if (!ok) {
		if (tmp)
			remove_flat_dir(tmp);
		launcher_log(instance, "boot snapshot not taken: %s; the boot goes on", err->message);
		return;
	}
	launcher_log(instance, "boot snapshot taken: %s/%s (%.0f ms)", bs->cache, bs->digest,
		     (g_get_monotonic_time() - t0) / 1000.0);
}

void boot_snapshot_refused(BootSnapshot *bs, const char *instance, const char *how)
{
	launcher_log(instance,
		     "boot snapshot %s: sepia-vmm %s while restoring it (see the lines above): "
		     "removing it and booting cold",
		     bs->entry ? bs->entry : "(none)", how);
	if (bs->entry)
		boot_snapshot_cache_remove(bs->entry);
	g_clear_pointer(&bs->entry, g_free);
	bs->skip_restore = true;
}

void boot_snapshot_clear(BootSnapshot *bs)
{
	g_free(bs->cache);
	g_free(bs->key_text);
	g_free(bs->digest);
	g_free(bs->entry);
	memset(bs, 0, sizeof(*bs));
}
