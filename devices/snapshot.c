/* The snapshot state file; see snapshot.h. */
#include "devices/snapshot.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"

#define SNAP_MAX_SECTIONS 4096

/* ---- writing ---- */

void snap_writer_init(struct snap_writer *w)
{
	w->payload = g_byte_array_new();
	w->section_len_at = 0;
}

void snap_writer_clear(struct snap_writer *w)
{
	if (w->payload)
		g_byte_array_unref(w->payload);
	w->payload = NULL;
}

void snap_put_bytes(struct snap_writer *w, const void *data, size_t len)
{
	g_byte_array_append(w->payload, data, (guint)len);
}

void snap_put_u8(struct snap_writer *w, uint8_t v) { snap_put_bytes(w, &v, 1); }

void snap_put_u16(struct snap_writer *w, uint16_t v)
{
	uint16_t le = GUINT16_TO_LE(v);
	snap_put_bytes(w, &le, 2);
}

void snap_put_u32(struct snap_writer *w, uint32_t v)
{
	uint32_t le = GUINT32_TO_LE(v);
	snap_put_bytes(w, &le, 4);
}

void snap_put_u64(struct snap_writer *w, uint64_t v)
{
	uint64_t le = GUINT64_TO_LE(v);
	snap_put_bytes(w, &le, 8);
}

void snap_put_blob(struct snap_writer *w, const void *data, size_t len)
{
	snap_put_u32(w, (uint32_t)len);
	snap_put_bytes(w, data, len);
}

void snap_begin(struct snap_writer *w, const char *name)
{
	g_assert(w->section_len_at == 0);
	size_t n = strlen(name);
	g_assert(n > 0 && n <= SNAP_MAX_NAME);
	snap_put_u16(w, (uint16_t)n);
	snap_put_bytes(w, name, n);
	w->section_len_at = w->payload->len;
	snap_put_u32(w, 0);
}

void snap_end(struct snap_writer *w)
{
	g_assert(w->section_len_at != 0);
	uint32_t len = GUINT32_TO_LE(w->payload->len - w->section_len_at - 4);
	memcpy(w->payload->data + w->section_len_at, &len, 4);
	w->section_len_at = 0;
}

void snap_put_string_section(struct snap_writer *w, const char *name, const char *value)
{
	snap_begin(w, name);
	snap_put_bytes(w, value, strlen(value));
	snap_end(w);
}

static void snap_checksum(const uint8_t *data, size_t len, uint8_t out[32])
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(sum, data, len);
	gsize n = 32;
	g_checksum_get_digest(sum, out, &n);
}

GBytes *snap_writer_finish(struct snap_writer *w)
{
	g_assert(w->section_len_at == 0);
	uint8_t header[SNAP_HEADER_SIZE];
	memcpy(header, SNAP_MAGIC, 8);
	uint32_t version = GUINT32_TO_LE(SNAP_FORMAT_VERSION), flags = 0;
	uint64_t len = GUINT64_TO_LE((uint64_t)w->payload->len);
	memcpy(header + 8, &version, 4);
	memcpy(header + 12, &flags, 4);
	memcpy(header + 16, &len, 8);
	snap_checksum(w->payload->data, w->payload->len, header + 24);
	g_byte_array_prepend(w->payload, header, sizeof(header));
	GBytes *out = g_byte_array_free_to_bytes(w->payload);
	w->payload = g_byte_array_new();
	return out;
}

/* ---- reading ---- */

static uint16_t le16_at(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return GUINT16_FROM_LE(v);
}

static uint32_t le32_at(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return GUINT32_FROM_LE(v);
}

static uint64_t le64_at(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return GUINT64_FROM_LE(v);
}

void snap_file_free(struct snap_file *f)
{
	if (!f)
		return;
	if (f->sections)
		g_array_unref(f->sections);
	if (f->names)
		g_string_chunk_free(f->names);
	if (f->bytes)
		g_bytes_unref(f->bytes);
	g_free(f);
}

static bool snap_name_ok(const uint8_t *name, size_t len)
{
	if (len == 0 || len > SNAP_MAX_NAME)
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] < 0x21 || name[i] > 0x7e)
			return false;
	return true;
}

static bool snap_parse_sections(struct snap_file *f, const uint8_t *p, size_t len, const char *what,
				GError **error)
{
	size_t off = 0;
	while (off < len) {
		if (f->sections->len == SNAP_MAX_SECTIONS) {
			g_set_error(error, SEPIA_ERROR, EINVAL, "snapshot %s: more than %d sections", what,
				    SNAP_MAX_SECTIONS);
			return false;
		}
		if (len - off < 2) {
			g_set_error(error, SEPIA_ERROR, EINVAL,
				    "snapshot %s: truncated section header at byte %zu", what, off);
			return false;
		}
		size_t nlen = le16_at(p + off);
		off += 2;
		if (len - off < nlen + 4 || !snap_name_ok(p + off, nlen)) {
			g_set_error(error, SEPIA_ERROR, EINVAL,
				    "snapshot %s: bad section name at byte %zu (%zu bytes)", what, off, nlen);
			return false;
		}
		g_autofree char *name = g_strndup((const char *)p + off, nlen);
		off += nlen;
		size_t dlen = le32_at(p + off);
		off += 4;
		if (len - off < dlen) {
			g_set_error(error, SEPIA_ERROR, EINVAL,
				    "snapshot %s: section '%s' claims %zu bytes, %zu are left", what, name,
				    dlen, len - off);
			return false;
		}
		if (snap_file_find(f, name)) {
			g_set_error(error, SEPIA_ERROR, EINVAL, "snapshot %s: section '%s' appears twice",
				    what, name);
			return false;
		}
		struct snap_section s = { g_string_chunk_insert(f->names, name), p + off, dlen };
		g_array_append_val(f->sections, s);
		off += dlen;
	}
	return true;
}

struct snap_file *snap_file_parse(GBytes *bytes, const char *what, GError **error)
{
	gsize size;
	const uint8_t *p = g_bytes_get_data(bytes, &size);
	if (size < SNAP_HEADER_SIZE || memcmp(p, SNAP_MAGIC, 8) != 0) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "%s is not a sepia snapshot state file", what);
		return NULL;
	}
	uint32_t version = le32_at(p + 8);
	if (version != SNAP_FORMAT_VERSION) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "snapshot %s has format version %u; this sepia-vmm reads version %u only: take "
			    "the snapshot again with this sepia",
			    what, version, SNAP_FORMAT_VERSION);
		return NULL;
	}
	if (le32_at(p + 12) != 0) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "snapshot %s: unknown flags 0x%x", what,
			    le32_at(p + 12));
		return NULL;
	}
	uint64_t len = le64_at(p + 16);
	if (len != size - SNAP_HEADER_SIZE) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "snapshot %s is truncated or padded: its header says %" G_GUINT64_FORMAT
			    " bytes of state, the file holds %zu",
			    what, len, (size_t)(size - SNAP_HEADER_SIZE));
		return NULL;
	}
	uint8_t sum[32];
	snap_checksum(p + SNAP_HEADER_SIZE, (size_t)len, sum);
	if (memcmp(sum, p + 24, 32) != 0) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "snapshot %s is corrupt: the checksum of its state does not match", what);
		return NULL;
	}
	struct snap_file *f = g_new0(struct snap_file, 1);
	f->bytes = g_bytes_ref(bytes);
	f->sections = g_array_new(FALSE, FALSE, sizeof(struct snap_section));
	f->names = g_string_chunk_new(256);
	if (!snap_parse_sections(f, p + SNAP_HEADER_SIZE, (size_t)len, what, error)) {
		snap_file_free(f);
		return NULL;
	}
	return f;
}

const struct snap_section *snap_file_find(const struct snap_file *f, const char *name)
{
	for (guint i = 0; i < f->sections->len; i++) {
		const struct snap_section *s = &g_array_index(f->sections, struct snap_section, i);
		if (!strcmp(s->name, name))
			return s;
	}
	return NULL;
}

char *snap_file_string(const struct snap_file *f, const char *name)
{
	const struct snap_section *s = snap_file_find(f, name);
	if (!s || !s->len || memchr(s->data, 0, s->len))
		return NULL;
	return g_strndup((const char *)s->data, s->len);
}

bool snap_file_check_identity(const struct snap_file *f, const char *what, const char *version,
			      const char *machine, GError **error)
{
	g_autofree char *theirs = snap_file_string(f, "sepia-version");
	if (!theirs || strcmp(theirs, version)) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "snapshot %s was taken by sepia %s; this is sepia %s: take it again with this "
			    "version",
			    what, theirs ? theirs : "(unknown)", version);
		return false;
	}
	g_autofree char *their_machine = snap_file_string(f, "machine");
	if (!their_machine || strcmp(their_machine, machine)) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "snapshot %s is of another machine: it has [%s], this one [%s]; restore it "
			    "with the same --cpus, --mem and devices",
			    what, their_machine ? their_machine : "(none)", machine);
		return false;
	}
	return true;
}

void snap_reader_init(struct snap_reader *r, const struct snap_section *s)
{
	*r = (struct snap_reader){ s->name, s->data, s->len, 0, false };
}

bool snap_get_bytes(struct snap_reader *r, void *out, size_t len)
{
	if (r->failed || r->len - r->off < len) {
		r->failed = true;
		memset(out, 0, len);
		return false;
	}
	memcpy(out, r->data + r->off, len);
	r->off += len;
	return true;
}

uint8_t snap_get_u8(struct snap_reader *r)
{
	uint8_t v;
	snap_get_bytes(r, &v, 1);
	return v;
}

uint16_t snap_get_u16(struct snap_reader *r)
{
	uint16_t v;
	snap_get_bytes(r, &v, 2);
	return GUINT16_FROM_LE(v);
}

uint32_t snap_get_u32(struct snap_reader *r)
{
	uint32_t v;
	snap_get_bytes(r, &v, 4);
	return GUINT32_FROM_LE(v);
}

uint64_t snap_get_u64(struct snap_reader *r)
{
	uint64_t v;
	snap_get_bytes(r, &v, 8);
	return GUINT64_FROM_LE(v);
}

bool snap_get_blob(struct snap_reader *r, void *out, size_t len)
{
	if (snap_get_u32(r) != len) {
		r->failed = true;
		memset(out, 0, len);
		return false;
	}
	return snap_get_bytes(r, out, len);
}

const uint8_t *snap_get_blob_ref(struct snap_reader *r, size_t max, size_t *len)
{
	size_t n = snap_get_u32(r);
	if (r->failed || n > max || r->len - r->off < n) {
		r->failed = true;
		*len = 0;
		return NULL;
	}
	const uint8_t *p = r->data + r->off;
	r->off += n;
	*len = n;
	return p;
}

void snap_reader_fail(struct snap_reader *r) { r->failed = true; }

bool snap_reader_done(struct snap_reader *r, GError **error)
{
	if (r->failed || r->off != r->len) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "snapshot section '%s' does not hold what this sepia-vmm expects "
			    "(%zu bytes, %s)",
			    r->name, r->len,
			    r->failed ? "a value is missing or out of range" : "bytes left over");
		return false;
	}
	return true;
}
