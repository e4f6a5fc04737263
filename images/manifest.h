/* images/manifest.h — manifest.json for an assembly: every input and output image with its size,
 * SHA-256, path and mtime, boot images' header versions, and the composite disk's partition
 * layout.
 *
 * Hashes are cached in a GKeyFile (e.g. manifest.cache beside manifest.json) keyed by path with
 * size, mtime (ns) and sha256: a file whose size and mtime match its cache entry is not read
 * again, so reassembling unchanged inputs rehashes nothing. manifest_rehashed() counts the files
 * actually read, for tests and logs. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "images/composite.h"

typedef enum {
	MANIFEST_IMAGE_PLAIN,       /* no header version recorded */
	MANIFEST_IMAGE_BOOT,        /* boot / init_boot: header_version from sepia_boot_image_parse_file */
	MANIFEST_IMAGE_VENDOR_BOOT, /* vendor_boot: header_version from sepia_vendor_boot_image_parse_file */
} ManifestImageKind;

typedef struct Manifest Manifest;

/* cache_path may be NULL (every file is hashed). A missing or unreadable cache is an empty one. */
Manifest *manifest_new(const char *cache_path);
void manifest_free(Manifest *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Manifest, manifest_free)

/* Stats (and hashes, unless cached) path now. For BOOT/VENDOR_BOOT a header that does not parse
 * records "boot_header_version": null and the parser's message; it is not an error here. */
bool manifest_add_input(Manifest *m, const char *role, const char *path, ManifestImageKind kind,
			GError **error);
bool manifest_add_output(Manifest *m, const char *role, const char *path, GError **error);
/* Records the composite's layout (copied). */
void manifest_set_layout(Manifest *m, const CompositeDisk *disk);

/* The JSON text. */
char *manifest_to_json(const Manifest *m);
/* Writes the JSON to path (atomically, only if it changed) and saves the hash cache. */
bool manifest_write(Manifest *m, const char *path, GError **error);

/* Files read and hashed since manifest_new. */
guint manifest_rehashed(const Manifest *m);

/* Streams path through SHA-256; returns the lowercase hex digest. */
char *manifest_sha256_file(const char *path, GError **error);

/* Appends text as a JSON string literal (quotes, escapes, control characters as \u00XX; bytes
 * that are not UTF-8 become U+FFFD). */
void manifest_json_string(GString *out, const char *text);
