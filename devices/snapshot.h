/* The snapshot state file: versioned, self-describing and checksummed. It holds no KVM or
 * device knowledge, so unit tests and the fuzzer drive it with plain buffers.
 *
 * Layout (little-endian):
 *   "SEPIASNP"   8-byte magic
 *   u32          format version (SNAP_FORMAT_VERSION)
 *   u32          flags (0)
 *   u64          payload length
 *   u8[32]       SHA-256 of the payload
 *   payload      sections, each: u16 name length, name (printable ASCII), u32 data length, data
 *
 * The first two sections are "sepia-version" (the version of sepia that wrote it) and
 * "machine" (the machine's configuration: vCPUs, RAM and the devices in order); a reader
 * refuses a file whose version or machine differs from its own. Every other section is one
 * part of the machine's state (a vCPU, the irqchip, a device), named as that part is named.
 * Guest RAM is not in this file: it is the file next to it (SNAP_MEMORY_FILE). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC          "SEPIASNP"
#define SNAP_FORMAT_VERSION 2
#define SNAP_HEADER_SIZE    (8 + 4 + 4 + 8 + 32)
#define SNAP_MAX_NAME       64
#define SNAP_STATE_FILE     "state.sepia"
#define SNAP_MEMORY_FILE    "memory.bin"

/* ---- writing ---- */

struct snap_writer {
	GByteArray *payload;
	guint section_len_at; /* where the open section's length goes; 0: none open */
};

void snap_writer_init(struct snap_writer *w);
void snap_writer_clear(struct snap_writer *w);
/* Opens a section; sections do not nest. */
void snap_begin(struct snap_writer *w, const char *name);
void snap_end(struct snap_writer *w);
void snap_put_u8(struct snap_writer *w, uint8_t v);
void snap_put_u16(struct snap_writer *w, uint16_t v);
void snap_put_u32(struct snap_writer *w, uint32_t v);
void snap_put_u64(struct snap_writer *w, uint64_t v);
void snap_put_bytes(struct snap_writer *w, const void *data, size_t len);
/* A length (u32) and the bytes. */
void snap_put_blob(struct snap_writer *w, const void *data, size_t len);
/* A whole section holding one string. */
void snap_put_string_section(struct snap_writer *w, const char *name, const char *value);
/* The file's bytes: header and payload (the writer is left empty). */
GBytes *snap_writer_finish(struct snap_writer *w);

/* ---- reading ---- */

struct snap_section {
	const char *name; /* points into the file's table, NUL-terminated */
	const uint8_t *data;
	size_t len;
};

struct snap_file {
	GBytes *bytes;
	GArray *sections; /* struct snap_section, in file order */
	GStringChunk *names;
};

/* Parses a state file's bytes: magic, version, length, checksum, and the section table
 * (bounded, no duplicates, names printable). what names the file in errors. Never trusts
 * a length it has not checked against the bytes it has. */
struct snap_file *snap_file_parse(GBytes *bytes, const char *what, GError **error);
void snap_file_free(struct snap_file *f);
typedef struct snap_file snap_file;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(snap_file, snap_file_free)
const struct snap_section *snap_file_find(const struct snap_file *f, const char *name);
/* The string section name's value (no NUL inside, not empty) or NULL. */
char *snap_file_string(const struct snap_file *f, const char *name);

/* A cursor over one section: reads past the end fail once and stay failed, so a caller
 * checks once, in snap_reader_done(). */
struct snap_reader {
	const char *name;
	const uint8_t *data;
	size_t len, off;
	bool failed;
};

void snap_reader_init(struct snap_reader *r, const struct snap_section *s);
uint8_t snap_get_u8(struct snap_reader *r);
uint16_t snap_get_u16(struct snap_reader *r);
uint32_t snap_get_u32(struct snap_reader *r);
uint64_t snap_get_u64(struct snap_reader *r);
bool snap_get_bytes(struct snap_reader *r, void *out, size_t len);
/* A blob of exactly len bytes (as snap_put_blob wrote it). */
bool snap_get_blob(struct snap_reader *r, void *out, size_t len);
/* A blob of any length up to max: a pointer into the section, its length in *len. */
const uint8_t *snap_get_blob_ref(struct snap_reader *r, size_t max, size_t *len);
/* Marks the reader failed (a value out of range). */
void snap_reader_fail(struct snap_reader *r);
/* True when every read fit and the section was read to its end; else an error naming it. */
bool snap_reader_done(struct snap_reader *r, GError **error);

/* Checks the two identity sections against this program's version and the machine it
 * built; the error says what differs. */
bool snap_file_check_identity(const struct snap_file *f, const char *what, const char *version,
			      const char *machine, GError **error);
