/* images/vbmeta.c — AVB vbmeta header, descriptor and footer parser. */
#include "images/vbmeta.h"

#include <string.h>

/* Header field offsets. */
enum {
	H_MAJOR = 4,
	H_MINOR = 8,
	H_AUTH_SIZE = 12,
	H_AUX_SIZE = 20,
	H_ALGORITHM = 28,
	H_HASH_OFF = 32,
	H_HASH_SIZE = 40,
	H_SIG_OFF = 48,
	H_SIG_SIZE = 56,
	H_PK_OFF = 64,
	H_PK_SIZE = 72,
	H_PKMD_OFF = 80,
	H_PKMD_SIZE = 88,
	H_DESC_OFF = 96,
	H_DESC_SIZE = 104,
	H_ROLLBACK_INDEX = 112,
	H_FLAGS = 120,
	H_ROLLBACK_LOCATION = 124,
	H_RELEASE = 128,
};
/* Footer field offsets. */
enum { F_MAJOR = 4, F_MINOR = 8, F_ORIG_SIZE = 12, F_VBMETA_OFF = 20, F_VBMETA_SIZE = 28 };
/* Fixed parts of the descriptors (header of 16 bytes included). */
enum {
	DESC_HEADER_SIZE = 16,
	HASH_DESC_SIZE = 132,
	HASHTREE_DESC_SIZE = 180,
	CMDLINE_DESC_SIZE = 24,
	CHAIN_DESC_SIZE = 92,
	PROPERTY_DESC_SIZE = 32,
};

static const struct {
	const char *name;
	uint32_t hash_len, key_bits;
} algorithms[] = {
	{ "NONE", 0, 0 },
	{ "SHA256_RSA2048", 32, 2048 },
	{ "SHA256_RSA4096", 32, 4096 },
	{ "SHA256_RSA8192", 32, 8192 },
	{ "SHA512_RSA2048", 64, 2048 },
	{ "SHA512_RSA4096", 64, 4096 },
	{ "SHA512_RSA8192", 64, 8192 },
};

const char *sepia_avb_algorithm_name(uint32_t algorithm_type)
{
	return algorithm_type < G_N_ELEMENTS(algorithms) ? algorithms[algorithm_type].name : NULL;
}

static void descriptor_free(gpointer p)
{
	SepiaAvbDescriptor *d = p;
	g_clear_pointer(&d->raw, g_bytes_unref);
	g_free(d->partition_name);
	g_free(d->hash_algorithm);
	g_clear_pointer(&d->salt, g_bytes_unref);
	g_clear_pointer(&d->digest, g_bytes_unref);
	g_clear_pointer(&d->public_key, g_bytes_unref);
	g_free(d->kernel_cmdline);
	g_free(d->key);
	g_clear_pointer(&d->value, g_bytes_unref);
	g_free(d);
}

void sepia_vbmeta_free(SepiaVbmeta *vb)
{
	if (!vb)
		return;
	g_free(vb->release_string);
	g_clear_pointer(&vb->hash, g_bytes_unref);
	g_clear_pointer(&vb->signature, g_bytes_unref);
	g_clear_pointer(&vb->public_key, g_bytes_unref);
	g_clear_pointer(&vb->public_key_metadata, g_bytes_unref);
	g_clear_pointer(&vb->image, g_bytes_unref);
	if (vb->descriptors)
		g_ptr_array_unref(vb->descriptors);
	g_free(vb);
}

/* Checks that [off, off+size) lies inside a block of block_size bytes. */
static bool in_block(const char *name, const char *field, uint64_t off, uint64_t size, const char *block,
		     uint64_t block_size, GError **error)
{
	uint64_t end;
	if (!img_add(off, size, &end) || end > block_size)
		return img_fail(error, name,
				"%s (0x%" G_GINT64_MODIFIER "x bytes at offset 0x%" G_GINT64_MODIFIER
				"x) runs past the %s block (0x%" G_GINT64_MODIFIER "x bytes)",
				field, (guint64)size, (guint64)off, block, (guint64)block_size);
	return true;
}

/* A length-delimited string inside a descriptor; embedded NULs are refused. */
static char *desc_string(const char *name, const guint8 *p, uint64_t len, const char *what, uint64_t desc_off,
			 GError **error)
{
	if (memchr(p, 0, (size_t)len)) {
		img_fail(error, name,
			 "descriptor at offset 0x%" G_GINT64_MODIFIER "x: %s contains a "
			 "NUL byte",
			 (guint64)desc_off, what);
		return NULL;
	}
	return g_strndup((const char *)p, (gsize)len);
}

/* The length fields of each known descriptor's variable parts, by tag, as errors name them. */
static const char *const len_names[][3] = {
	[SEPIA_AVB_DESCRIPTOR_PROPERTY] = { "key_num_bytes", "value_num_bytes" },
	[SEPIA_AVB_DESCRIPTOR_HASHTREE] = { "partition_name_len", "salt_len", "root_digest_len" },
	[SEPIA_AVB_DESCRIPTOR_HASH] = { "partition_name_len", "salt_len", "digest_len" },
	[SEPIA_AVB_DESCRIPTOR_KERNEL_CMDLINE] = { "kernel_cmdline_length" },
	[SEPIA_AVB_DESCRIPTOR_CHAIN_PARTITION] = { "partition_name_len", "public_key_len" },
};

/* The fields hash and hashtree descriptors share, at f: hash_algorithm[32], then u32
 * partition_name_len, salt_len, digest_len (into lens) and flags. */
static void parse_digest_fields(SepiaAvbDescriptor *d, const guint8 *f, uint64_t lens[3])
{
	d->hash_algorithm = img_strndup_field(f, 32);
	lens[0] = get_be32(f + 32), lens[1] = get_be32(f + 36), lens[2] = get_be32(f + 40);
	d->flags = get_be32(f + 44);
}

/* Parses one descriptor d of `total` bytes (header included) at image offset `off`. */
static bool parse_descriptor(const char *name, GBytes *image, uint64_t off, uint64_t total,
			     SepiaAvbDescriptor *d, GError **error)
{
	const guint8 *p = (const guint8 *)g_bytes_get_data(image, NULL) + off;
	static const struct {
		uint64_t tag;
		uint64_t fixed;
		const char *what;
	} fixed[] = {
		{ SEPIA_AVB_DESCRIPTOR_PROPERTY, PROPERTY_DESC_SIZE, "property" },
		{ SEPIA_AVB_DESCRIPTOR_HASHTREE, HASHTREE_DESC_SIZE, "hashtree" },
		{ SEPIA_AVB_DESCRIPTOR_HASH, HASH_DESC_SIZE, "hash" },
		{ SEPIA_AVB_DESCRIPTOR_KERNEL_CMDLINE, CMDLINE_DESC_SIZE, "kernel cmdline" },
		{ SEPIA_AVB_DESCRIPTOR_CHAIN_PARTITION, CHAIN_DESC_SIZE, "chain partition" },
	};
	d->tag = get_be64(p);
	d->offset = off;
	d->raw = g_bytes_new_from_bytes(image, (gsize)off, (gsize)total);
	if (d->tag >= G_N_ELEMENTS(fixed))
		return true; /* unknown tags are kept as raw bytes, as libavb skips them */
	const char *what = fixed[d->tag].what;
	if (total < fixed[d->tag].fixed)
		return img_fail(error, name,
				"%s descriptor at offset 0x%" G_GINT64_MODIFIER "x is %" G_GUINT64_FORMAT
				" bytes, smaller than its fixed part (%" G_GUINT64_FORMAT ")",
				what, (guint64)off, (guint64)total, (guint64)fixed[d->tag].fixed);
	uint64_t var_off = fixed[d->tag].fixed, lens[3] = { 0, 0, 0 };
	const char *const *names = len_names[d->tag];
	switch (d->tag) {
	case SEPIA_AVB_DESCRIPTOR_HASH:
		d->image_size = get_be64(p + 16);
		parse_digest_fields(d, p + 24, lens);
		break;
	case SEPIA_AVB_DESCRIPTOR_HASHTREE:
		d->dm_verity_version = get_be32(p + 16);
		d->image_size = get_be64(p + 20);
		d->tree_offset = get_be64(p + 28);
		d->tree_size = get_be64(p + 36);
		d->data_block_size = get_be32(p + 44);
		d->hash_block_size = get_be32(p + 48);
		d->fec_num_roots = get_be32(p + 52);
		d->fec_offset = get_be64(p + 56);
		d->fec_size = get_be64(p + 64);
		parse_digest_fields(d, p + 72, lens);
		break;
	case SEPIA_AVB_DESCRIPTOR_KERNEL_CMDLINE:
		d->flags = get_be32(p + 16);
		lens[0] = get_be32(p + 20);
		break;
	case SEPIA_AVB_DESCRIPTOR_CHAIN_PARTITION:
		d->rollback_index_location = get_be32(p + 16);
		lens[0] = get_be32(p + 20), lens[1] = get_be32(p + 24);
		d->flags = get_be32(p + 28);
		break;
	case SEPIA_AVB_DESCRIPTOR_PROPERTY:
		/* key, NUL, value, NUL */
		lens[0] = get_be64(p + 16), lens[1] = get_be64(p + 24);
		break;
	}
	/* The variable parts must fit in what num_bytes_following claims. */
	uint64_t need = var_off, extra = d->tag == SEPIA_AVB_DESCRIPTOR_PROPERTY ? 2 : 0;
	for (int i = 0; i < 3; i++)
		if (!img_add(need, lens[i], &need))
			need = UINT64_MAX;
	if (!img_add(need, extra, &need) || need > total) {
		g_autoptr(GString) why = g_string_new(NULL);
		for (int i = 0; i < 3 && names[i]; i++)
			g_string_append_printf(why, "%s%s %" G_GUINT64_FORMAT, i ? " + " : "", names[i],
					       (guint64)lens[i]);
		return img_fail(error, name,
				"%s descriptor at offset 0x%" G_GINT64_MODIFIER "x: %s need "
				"more than its %" G_GUINT64_FORMAT " bytes",
				what, (guint64)off, why->str, (guint64)total);
	}
	const guint8 *v = p + var_off;
	uint64_t voff = off + var_off;
	switch (d->tag) {
	case SEPIA_AVB_DESCRIPTOR_HASH:
	case SEPIA_AVB_DESCRIPTOR_HASHTREE:
		if (!(d->partition_name = desc_string(name, v, lens[0], "partition name", off, error)))
			return false;
		d->salt = g_bytes_new_from_bytes(image, (gsize)(voff + lens[0]), (gsize)lens[1]);
		d->digest = g_bytes_new_from_bytes(image, (gsize)(voff + lens[0] + lens[1]), (gsize)lens[2]);
		break;
	case SEPIA_AVB_DESCRIPTOR_KERNEL_CMDLINE:
		if (!(d->kernel_cmdline = desc_string(name, v, lens[0], "kernel cmdline", off, error)))
			return false;
		break;
	case SEPIA_AVB_DESCRIPTOR_CHAIN_PARTITION:
		if (!(d->partition_name = desc_string(name, v, lens[0], "partition name", off, error)))
			return false;
		d->public_key = g_bytes_new_from_bytes(image, (gsize)(voff + lens[0]), (gsize)lens[1]);
		break;
	case SEPIA_AVB_DESCRIPTOR_PROPERTY:
		if (v[lens[0]] != 0 || v[lens[0] + 1 + lens[1]] != 0)
			return img_fail(error, name,
					"property descriptor at offset 0x%" G_GINT64_MODIFIER
					"x: key or value is not NUL-terminated",
					(guint64)off);
		if (!(d->key = desc_string(name, v, lens[0], "property key", off, error)))
			return false;
		d->value = g_bytes_new_from_bytes(image, (gsize)(voff + lens[0] + 1), (gsize)lens[1]);
		break;
	}
	return true;
}

static bool parse_descriptors(const char *name, SepiaVbmeta *vb, GError **error)
{
	const guint8 *base = g_bytes_get_data(vb->image, NULL);
	uint64_t pos = vb->descriptors_offset, end = vb->descriptors_offset + vb->descriptors_size;
	while (pos < end) {
		uint64_t left = end - pos;
		if (left < DESC_HEADER_SIZE)
			return img_fail(error, name,
					"descriptor at offset 0x%" G_GINT64_MODIFIER
					"x: only %" G_GUINT64_FORMAT
					" bytes left, less than a descriptor header",
					(guint64)pos, (guint64)left);
		uint64_t tag = get_be64(base + pos), nbf = get_be64(base + pos + 8);
		if (nbf % 8 != 0)
			return img_fail(
				error, name,
				"descriptor at offset 0x%" G_GINT64_MODIFIER "x (tag %" G_GUINT64_FORMAT
				"): num_bytes_following 0x%" G_GINT64_MODIFIER "x is not a multiple of 8",
				(guint64)pos, (guint64)tag, (guint64)nbf);
		if (nbf > left - DESC_HEADER_SIZE)
			return img_fail(
				error, name,
				"descriptor at offset 0x%" G_GINT64_MODIFIER "x (tag %" G_GUINT64_FORMAT
				"): num_bytes_following 0x%" G_GINT64_MODIFIER
				"x runs past the descriptors (0x%" G_GINT64_MODIFIER "x bytes left)",
				(guint64)pos, (guint64)tag, (guint64)nbf, (guint64)(left - DESC_HEADER_SIZE));
		SepiaAvbDescriptor *d = g_new0(SepiaAvbDescriptor, 1);
		g_ptr_array_add(vb->descriptors, d);
		if (!parse_descriptor(name, vb->image, pos, DESC_HEADER_SIZE + nbf, d, error))
			return false;
		pos += DESC_HEADER_SIZE + nbf;
	}
	return true;
}

/* Key header (AvbRSAPublicKeyHeader): u32 key_num_bits, u32 n0inv, then n and rr of
 * key_num_bits/8 bytes each. Only the shape is checked here. */
static bool check_signing_fields(const char *name, SepiaVbmeta *vb, GError **error)
{
	uint32_t alg = vb->algorithm_type;
	if (alg >= G_N_ELEMENTS(algorithms))
		return img_fail(error, name, "algorithm_type %u is not a known AVB algorithm (0-%zu)", alg,
				G_N_ELEMENTS(algorithms) - 1);
	if (alg == SEPIA_AVB_ALGORITHM_NONE)
		return true;
	uint32_t bits = algorithms[alg].key_bits;
	if (vb->hash_size != algorithms[alg].hash_len)
		return img_fail(error, name, "hash_size %" G_GUINT64_FORMAT " does not match %s (%u)",
				(guint64)vb->hash_size, algorithms[alg].name, algorithms[alg].hash_len);
	if (vb->signature_size != bits / 8)
		return img_fail(error, name, "signature_size %" G_GUINT64_FORMAT " does not match %s (%u)",
				(guint64)vb->signature_size, algorithms[alg].name, bits / 8);
	if (vb->public_key_size != 8 + 2 * (uint64_t)(bits / 8))
		return img_fail(error, name, "public_key_size %" G_GUINT64_FORMAT " does not match %s (%u)",
				(guint64)vb->public_key_size, algorithms[alg].name, 8 + 2 * (bits / 8));
	const guint8 *pk = g_bytes_get_data(vb->public_key, NULL);
	if (get_be32(pk) != bits)
		return img_fail(error, name, "public key says %u bits, %s needs %u", get_be32(pk),
				algorithms[alg].name, bits);
	return true;
}

SepiaVbmeta *sepia_vbmeta_parse_buffer(const void *data, gsize len, const char *name, GError **error)
{
	const guint8 *h = data;
	if (len < SEPIA_AVB_HEADER_SIZE) {
		img_fail(error, name, "%zu bytes, too short for a vbmeta header (%d bytes)", len,
			 SEPIA_AVB_HEADER_SIZE);
		return NULL;
	}
	if (memcmp(h, SEPIA_AVB_MAGIC, 4) != 0) {
		img_fail(error, name, "bad magic (not \"AVB0\"): not a vbmeta image");
		return NULL;
	}
	g_autoptr(SepiaVbmeta) vb = g_new0(SepiaVbmeta, 1);
	vb->descriptors = g_ptr_array_new_with_free_func(descriptor_free);
	vb->required_libavb_version_major = get_be32(h + H_MAJOR);
	vb->required_libavb_version_minor = get_be32(h + H_MINOR);
	vb->authentication_data_block_size = get_be64(h + H_AUTH_SIZE);
	vb->auxiliary_data_block_size = get_be64(h + H_AUX_SIZE);
	vb->algorithm_type = get_be32(h + H_ALGORITHM);
	vb->rollback_index = get_be64(h + H_ROLLBACK_INDEX);
	vb->flags = get_be32(h + H_FLAGS);
	vb->rollback_index_location = get_be32(h + H_ROLLBACK_LOCATION);
	vb->release_string = img_strndup_field(h + H_RELEASE, SEPIA_AVB_RELEASE_STRING_SIZE);
	if (vb->required_libavb_version_major != SEPIA_AVB_VERSION_MAJOR) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_UNSUPPORTED, name,
			      "required libavb version %u.%u is not supported (major 1)",
			      vb->required_libavb_version_major, vb->required_libavb_version_minor);
		return NULL;
	}
	uint64_t auth = vb->authentication_data_block_size, aux = vb->auxiliary_data_block_size;
	if (auth % 64 || aux % 64) {
		img_fail(error, name,
			 "block sizes (authentication 0x%" G_GINT64_MODIFIER "x, auxiliary "
			 "0x%" G_GINT64_MODIFIER "x) are not multiples of 64",
			 (guint64)auth, (guint64)aux);
		return NULL;
	}
	uint64_t total;
	if (!img_add(SEPIA_AVB_HEADER_SIZE, auth, &total) || !img_add(total, aux, &total) ||
	    total > SEPIA_AVB_MAX_VBMETA_SIZE) {
		img_fail(error, name,
			 "header + authentication (0x%" G_GINT64_MODIFIER "x) + auxiliary "
			 "(0x%" G_GINT64_MODIFIER "x) blocks exceed the %d-byte vbmeta limit",
			 (guint64)auth, (guint64)aux, SEPIA_AVB_MAX_VBMETA_SIZE);
		return NULL;
	}
	if (total > len) {
		img_fail(error, name,
			 "header + authentication (0x%" G_GINT64_MODIFIER "x) + auxiliary "
			 "(0x%" G_GINT64_MODIFIER "x) blocks run past the end of the data (%zu bytes)",
			 (guint64)auth, (guint64)aux, len);
		return NULL;
	}
	vb->size = total;
	vb->image = g_bytes_new(data, (gsize)total);
	const uint64_t auth_base = SEPIA_AVB_HEADER_SIZE, aux_base = SEPIA_AVB_HEADER_SIZE + auth;
	struct {
		int off_field;
		const char *what;
		bool in_aux;
		uint64_t *off, *size;
		GBytes **out;
	} ranges[] = {
		{ H_HASH_OFF, "hash", false, &vb->hash_offset, &vb->hash_size, &vb->hash },
		{ H_SIG_OFF, "signature", false, &vb->signature_offset, &vb->signature_size, &vb->signature },
		{ H_PK_OFF, "public key", true, &vb->public_key_offset, &vb->public_key_size,
		  &vb->public_key },
		{ H_PKMD_OFF, "public key metadata", true, &vb->public_key_metadata_offset,
		  &vb->public_key_metadata_size, &vb->public_key_metadata },
		{ H_DESC_OFF, "descriptors", true, &vb->descriptors_offset, &vb->descriptors_size, NULL },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(ranges); i++) {
		uint64_t off = get_be64(h + ranges[i].off_field),
			 size = get_be64(h + ranges[i].off_field + 8);
		if (!in_block(name, ranges[i].what, off, size,
			      ranges[i].in_aux ? "auxiliary" : "authentication",
			      ranges[i].in_aux ? aux : auth, error))
			return NULL;
		*ranges[i].off = (ranges[i].in_aux ? aux_base : auth_base) + off;
		*ranges[i].size = size;
		if (ranges[i].out)
			*ranges[i].out = g_bytes_new_from_bytes(vb->image, (gsize)*ranges[i].off,
								(gsize)size);
	}
	if (!check_signing_fields(name, vb, error) || !parse_descriptors(name, vb, error))
		return NULL;
	return g_steal_pointer(&vb);
}

/* Parses the vbmeta image in [off, off+size) of src (`what` names the range in errors). */
static SepiaVbmeta *parse_range(const ImgSource *src, uint64_t off, uint64_t size, const char *what,
				GError **error)
{
	g_autoptr(GBytes) b = img_source_read(src, off, size, what, error);
	if (!b)
		return NULL;
	gsize len;
	const void *d = g_bytes_get_data(b, &len);
	return sepia_vbmeta_parse_buffer(d, len, src->name, error);
}

/* Reads the vbmeta from an ImgSource: at its start, or where its AVB footer says. */
static void *parse_source(const ImgSource *src, GError **error)
{
	guint8 head[SEPIA_AVB_HEADER_SIZE];
	bool at_start = src->size >= 4 && img_source_read_into(src, 0, head, 4, "magic", NULL) &&
			memcmp(head, SEPIA_AVB_MAGIC, 4) == 0;
	if (at_start) {
		if (!img_source_read_into(src, 0, head, SEPIA_AVB_HEADER_SIZE, "vbmeta header", error))
			return NULL;
		/* Read header + blocks, but never more than the vbmeta limit; the parser checks. */
		uint64_t want = MIN(src->size, (uint64_t)SEPIA_AVB_MAX_VBMETA_SIZE);
		uint64_t claimed;
		if (img_add(SEPIA_AVB_HEADER_SIZE, get_be64(head + H_AUTH_SIZE), &claimed) &&
		    img_add(claimed, get_be64(head + H_AUX_SIZE), &claimed) && claimed < want)
			want = claimed;
		return parse_range(src, 0, want, "vbmeta image", error);
	}
	guint8 f[SEPIA_AVB_FOOTER_SIZE];
	if (src->size < SEPIA_AVB_FOOTER_SIZE ||
	    !img_source_read_into(src, src->size - SEPIA_AVB_FOOTER_SIZE, f, sizeof f, "footer", NULL) ||
	    memcmp(f, SEPIA_AVB_FOOTER_MAGIC, 4) != 0) {
		img_fail(error, src->name,
			 "no vbmeta image: neither \"AVB0\" at the start nor an \"AVBf\" "
			 "footer at the end");
		return NULL;
	}
	if (get_be32(f + F_MAJOR) != 1) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_UNSUPPORTED, src->name,
			      "AVB footer version %u.%u is not supported (major 1)", get_be32(f + F_MAJOR),
			      get_be32(f + F_MINOR));
		return NULL;
	}
	uint64_t off = get_be64(f + F_VBMETA_OFF), size = get_be64(f + F_VBMETA_SIZE), end;
	if (!img_add(off, size, &end) || end > src->size - SEPIA_AVB_FOOTER_SIZE) {
		img_fail(error, src->name,
			 "AVB footer: vbmeta (0x%" G_GINT64_MODIFIER "x bytes at offset "
			 "0x%" G_GINT64_MODIFIER "x) runs past the footer",
			 (guint64)size, (guint64)off);
		return NULL;
	}
	if (size > SEPIA_AVB_MAX_VBMETA_SIZE) {
		img_fail(error, src->name,
			 "AVB footer: vbmeta_size 0x%" G_GINT64_MODIFIER "x exceeds the "
			 "%d-byte vbmeta limit",
			 (guint64)size, SEPIA_AVB_MAX_VBMETA_SIZE);
		return NULL;
	}
	SepiaVbmeta *vb = parse_range(src, off, size, "vbmeta_size", error);
	if (vb) {
		vb->has_footer = true;
		vb->footer_original_image_size = get_be64(f + F_ORIG_SIZE);
		vb->footer_vbmeta_offset = off;
		vb->footer_vbmeta_size = size;
	}
	return vb;
}

SepiaVbmeta *sepia_vbmeta_parse_file(const char *path, GError **error)
{
	return img_parse_file(path, parse_source, error);
}

SepiaVbmeta *sepia_vbmeta_parse_partition_buffer(const void *data, gsize len, const char *name,
						 GError **error)
{
	return img_parse_buffer(data, len, name, parse_source, error);
}

const SepiaAvbDescriptor *sepia_vbmeta_find_hash(const SepiaVbmeta *vb, const char *partition)
{
	for (guint i = 0; i < vb->descriptors->len; i++) {
		const SepiaAvbDescriptor *d = g_ptr_array_index(vb->descriptors, i);
		if (d->tag == SEPIA_AVB_DESCRIPTOR_HASH && g_strcmp0(d->partition_name, partition) == 0)
			return d;
	}
	return NULL;
}
