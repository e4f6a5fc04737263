/* images/manifest.c — manifest.json writer with a size+mtime keyed hash cache. The JSON is
 * emitted by hand (GLib has no JSON writer; GVariant's text form is not JSON). */
#include "images/manifest.h"

#include "images/bootimg.h"
#include "images/common.h"
#include "images/vendorboot.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_CHUNK (1u << 20)

typedef struct {
	char *role;
	char *path;
	uint64_t size;
	int64_t mtime_ns;
	char *sha256;
	bool has_boot_version; /* kind is BOOT or VENDOR_BOOT */
	int boot_version;      /* -1: header did not parse */
	char *boot_error;
} ManifestEntry;

struct Manifest {
	char *cache_path;
	GKeyFile *old_cache; /* as loaded */
	GKeyFile *new_cache; /* entries for the files of this run */
	GArray *inputs;      /* ManifestEntry */
	GArray *outputs;
	CompositeDisk *layout; /* partitions and sizes only (paths of the pieces too) */
	guint rehashed;
};

static void entry_clear(gpointer p)
{
	ManifestEntry *e = p;
	g_free(e->role);
	g_free(e->path);
	g_free(e->sha256);
	g_free(e->boot_error);
}

Manifest *manifest_new(const char *cache_path)
{
	Manifest *m = g_new0(Manifest, 1);
	m->cache_path = g_strdup(cache_path);
	m->old_cache = g_key_file_new();
	m->new_cache = g_key_file_new();
	if (cache_path)
		(void)g_key_file_load_from_file(m->old_cache, cache_path, G_KEY_FILE_NONE, NULL);
	m->inputs = g_array_new(FALSE, TRUE, sizeof(ManifestEntry));
	m->outputs = g_array_new(FALSE, TRUE, sizeof(ManifestEntry));
	g_array_set_clear_func(m->inputs, entry_clear);
	g_array_set_clear_func(m->outputs, entry_clear);
	return m;
}

void manifest_free(Manifest *m)
{
	if (!m)
		return;
	g_free(m->cache_path);
	g_key_file_free(m->old_cache);
	g_key_file_free(m->new_cache);
	g_array_unref(m->inputs);
	g_array_unref(m->outputs);
	composite_disk_free(m->layout);
	g_free(m);
}

guint manifest_rehashed(const Manifest *m) { return m->rehashed; }

/* libcrypto's SHA-256 (SHA-NI where the CPU has it): several times GLib's speed, and a
 * first manifest hashes every byte of every image. */
char *manifest_sha256_file(const char *path, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "cannot open: %s", g_strerror(errno));
		return NULL;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	g_autofree guint8 *buf = g_malloc(HASH_CHUNK);
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	int read_errno = 0;
	while (ok) {
		ssize_t n = read(fd, buf, HASH_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			read_errno = errno;
			ok = false;
		} else if (n == 0) {
			break;
		} else {
			ok = EVP_DigestUpdate(ctx, buf, (size_t)n) == 1;
		}
	}
	unsigned char md[32];
	unsigned int md_len = 0;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == sizeof(md);
	EVP_MD_CTX_free(ctx);
	close(fd);
	if (!ok) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path, "cannot hash: %s",
			      read_errno ? g_strerror(read_errno) : "libcrypto SHA-256 failed");
		return NULL;
	}
	char *hex = g_malloc(2 * sizeof(md) + 1);
	for (unsigned int i = 0; i < sizeof(md); i++)
		g_snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return hex;
}

/* A cached digest is used only if it looks like one: the cache is a file on disk, and a
 * corrupt entry would otherwise go into manifest.json as the image's SHA-256. */
static bool is_sha256_hex(const char *s)
{
	gsize n = 0;
	for (; s[n]; n++)
		if (!g_ascii_isdigit(s[n]) && !(s[n] >= 'a' && s[n] <= 'f'))
			return false;
	return n == 64;
}

/* Fills size/mtime/sha256, from the cache when size and mtime match and the cached digest is
 * 64 lowercase hex digits. */
static bool hash_entry(Manifest *m, ManifestEntry *e, GError **error)
{
	struct stat st;
	if (stat(e->path, &st) < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, e->path, "cannot stat: %s",
				     g_strerror(errno));
	if (!S_ISREG(st.st_mode))
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, e->path, "not a regular file");
	e->size = (uint64_t)st.st_size;
	e->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	/* Group names cannot hold every path byte ('[', ']'); key by the path's hash, keep the path. */
	g_autofree char *group = g_compute_checksum_for_string(G_CHECKSUM_SHA256, e->path, -1);
	g_autofree char *cpath = g_key_file_get_string(m->old_cache, group, "path", NULL);
	g_autofree char *csum = g_key_file_get_string(m->old_cache, group, "sha256", NULL);
	guint64 csize = g_key_file_get_uint64(m->old_cache, group, "size", NULL);
	gint64 cmtime = g_key_file_get_int64(m->old_cache, group, "mtime_ns", NULL);
	if (cpath && csum && !strcmp(cpath, e->path) && csize == e->size && cmtime == e->mtime_ns &&
	    is_sha256_hex(csum)) {
		e->sha256 = g_steal_pointer(&csum);
	} else {
		e->sha256 = manifest_sha256_file(e->path, error);
		if (!e->sha256)
			return false;
		m->rehashed++;
	}
	g_key_file_set_string(m->new_cache, group, "path", e->path);
	g_key_file_set_uint64(m->new_cache, group, "size", e->size);
	g_key_file_set_int64(m->new_cache, group, "mtime_ns", e->mtime_ns);
	g_key_file_set_string(m->new_cache, group, "sha256", e->sha256);
	return true;
}

static bool add_entry(Manifest *m, GArray *list, const char *role, const char *path, ManifestImageKind kind,
		      GError **error)
{
	ManifestEntry e = { .role = g_strdup(role), .path = g_canonicalize_filename(path, NULL) };
	if (!hash_entry(m, &e, error)) {
		entry_clear(&e);
		return false;
	}
	if (kind != MANIFEST_IMAGE_PLAIN) {
		g_autoptr(GError) err = NULL;
		e.has_boot_version = true;
		e.boot_version = -1;
		if (kind == MANIFEST_IMAGE_BOOT) {
			g_autoptr(SepiaBootImage) img = sepia_boot_image_parse_file(e.path, &err);
			if (img)
				e.boot_version = (int)img->header_version;
		} else {
			g_autoptr(SepiaVendorBootImage)
				img = sepia_vendor_boot_image_parse_file(e.path, &err);
			if (img)
				e.boot_version = (int)img->header_version;
		}
		if (err)
			e.boot_error = g_strdup(err->message);
	}
	g_array_append_val(list, e);
	return true;
}

bool manifest_add_input(Manifest *m, const char *role, const char *path, ManifestImageKind kind,
			GError **error)
{
	return add_entry(m, m->inputs, role, path, kind, error);
}

bool manifest_add_output(Manifest *m, const char *role, const char *path, GError **error)
{
	return add_entry(m, m->outputs, role, path, MANIFEST_IMAGE_PLAIN, error);
}

void manifest_set_layout(Manifest *m, const CompositeDisk *disk)
{
	composite_disk_free(m->layout);
	CompositeDisk *c = g_new0(CompositeDisk, 1);
	*c = *disk;
	c->parts = g_new0(CompositePartition, disk->n_parts ? disk->n_parts : 1);
	for (guint i = 0; i < disk->n_parts; i++) {
		c->parts[i] = disk->parts[i];
		c->parts[i].name = g_strdup(disk->parts[i].name);
		c->parts[i].path = g_strdup(disk->parts[i].path);
	}
	c->descriptor_path = g_strdup(disk->descriptor_path);
	c->header_path = g_strdup(disk->header_path);
	c->footer_path = g_strdup(disk->footer_path);
	c->zero_path = g_strdup(disk->zero_path);
	m->layout = c;
}

/* ---- JSON ---- */

void manifest_json_string(GString *out, const char *text)
{
	g_string_append_c(out, '"');
	const char *p = text ? text : "";
	while (*p) {
		gunichar c = g_utf8_get_char_validated(p, -1);
		if (c == (gunichar)-1 || c == (gunichar)-2) { /* not UTF-8: one replacement per byte */
			g_string_append(out, "\\ufffd");
			p++;
			continue;
		}
		/* JSON's two-character escapes: json_escaped[i] is written as '\\' json_escape_as[i]. */
		static const char json_escaped[] = "\"\\\n\r\t\b\f", json_escape_as[] = "\"\\nrtbf";
		const char *esc = c != 0 && c < 0x80 ? strchr(json_escaped, (int)c) : NULL;
		if (esc) {
			g_string_append_c(out, '\\');
			g_string_append_c(out, json_escape_as[esc - json_escaped]);
		} else if (c < 0x20 || c == 0x2028 || c == 0x2029) {
			g_string_append_printf(out, "\\u%04x", c);
		} else {
			g_string_append_len(out, p, g_utf8_next_char(p) - p);
		}
		p = g_utf8_next_char(p);
	}
	g_string_append_c(out, '"');
}

static void json_key(GString *o, int indent, const char *key)
{
	g_string_append_printf(o, "%*s", indent, "");
	manifest_json_string(o, key);
	g_string_append(o, ": ");
}

static void json_kv_str(GString *o, int indent, const char *key, const char *val, bool last)
{
	json_key(o, indent, key);
	if (val)
		manifest_json_string(o, val);
	else
		g_string_append(o, "null");
	g_string_append(o, last ? "\n" : ",\n");
}

static void json_kv_u64(GString *o, int indent, const char *key, uint64_t val, bool last)
{
	json_key(o, indent, key);
	g_string_append_printf(o, "%" G_GUINT64_FORMAT "%s", val, last ? "\n" : ",\n");
}

static char *iso_mtime(int64_t ns)
{
	g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(ns / 1000000000);
	if (!t)
		return NULL;
	g_autofree char *base = g_date_time_format(t, "%Y-%m-%dT%H:%M:%S");
	return g_strdup_printf("%s.%09" G_GINT64_FORMAT "Z", base, ns % 1000000000);
}

static void json_entries(GString *o, const char *key, GArray *list, bool last)
{
	json_key(o, 2, key);
	g_string_append(o, "[");
	for (guint i = 0; i < list->len; i++) {
		const ManifestEntry *e = &g_array_index(list, ManifestEntry, i);
		g_autofree char *mtime = iso_mtime(e->mtime_ns);
		g_string_append(o, i ? ",\n    {\n" : "\n    {\n");
		json_kv_str(o, 6, "role", e->role, false);
		json_kv_str(o, 6, "path", e->path, false);
		json_kv_u64(o, 6, "size", e->size, false);
		json_kv_str(o, 6, "sha256", e->sha256, false);
		json_kv_str(o, 6, "mtime", mtime, !e->has_boot_version);
		if (e->has_boot_version) {
			json_key(o, 6, "boot_header_version");
			if (e->boot_version >= 0)
				g_string_append_printf(o, "%d", e->boot_version);
			else
				g_string_append(o, "null");
			g_string_append(o, e->boot_error ? ",\n" : "\n");
			if (e->boot_error)
				json_kv_str(o, 6, "boot_header_error", e->boot_error, true);
		}
		g_string_append(o, "    }");
	}
	g_string_append(o, list->len ? "\n  ]" : "]");
	g_string_append(o, last ? "\n" : ",\n");
}

char *manifest_to_json(const Manifest *m)
{
	GString *o = g_string_new("{\n");
	json_kv_u64(o, 2, "manifest_version", 1, false);
	json_entries(o, "inputs", m->inputs, false);
	json_entries(o, "outputs", m->outputs, !m->layout);
	if (m->layout) {
		const CompositeDisk *d = m->layout;
		g_autofree char *guid = composite_guid_to_string(d->disk_guid);
		json_key(o, 2, "composite");
		g_string_append(o, "{\n");
		json_kv_str(o, 4, "descriptor", d->descriptor_path, false);
		json_kv_str(o, 4, "gpt_header", d->header_path, false);
		json_kv_str(o, 4, "gpt_footer", d->footer_path, false);
		json_kv_str(o, 4, "zero_file", d->zero_path, false);
		json_kv_u64(o, 4, "disk_size", d->disk_size, false);
		json_kv_str(o, 4, "disk_guid", guid, false);
		json_key(o, 4, "partitions");
		g_string_append(o, "[");
		for (guint i = 0; i < d->n_parts; i++) {
			const CompositePartition *p = &d->parts[i];
			g_autofree char *type = composite_guid_to_string(p->type_guid);
			g_autofree char *pg = composite_guid_to_string(p->part_guid);
			g_string_append(o, i ? ",\n      {\n" : "\n      {\n");
			json_kv_u64(o, 8, "index", i + 1, false);
			json_kv_str(o, 8, "name", p->name, false);
			json_kv_u64(o, 8, "offset", p->offset, false);
			json_kv_u64(o, 8, "size", p->size, false);
			json_kv_str(o, 8, "file", p->path, false);
			json_kv_u64(o, 8, "file_size", p->file_size, false);
			json_kv_str(o, 8, "type_guid", type, false);
			json_kv_str(o, 8, "guid", pg, false);
			json_kv_u64(o, 8, "attributes", p->attributes, true);
			g_string_append(o, "      }");
		}
		g_string_append(o, d->n_parts ? "\n    ]\n  }\n" : "]\n  }\n");
	}
	g_string_append(o, "}\n");
	return g_string_free(o, FALSE);
}

bool manifest_write(Manifest *m, const char *path, GError **error)
{
	g_autofree char *json = manifest_to_json(m);
	g_autofree char *dir = g_path_get_dirname(path);
	if (g_mkdir_with_parents(dir, 0755) < 0)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, dir, "cannot create directory: %s",
				     g_strerror(errno));
	if (!composite_write_if_changed(path, json, strlen(json), NULL, error))
		return false;
	if (!m->cache_path)
		return true;
	gsize len = 0;
	g_autofree char *cache = g_key_file_to_data(m->new_cache, &len, NULL);
	return composite_write_if_changed(m->cache_path, cache, len, NULL, error);
}
