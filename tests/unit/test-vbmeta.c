/* vbmeta: hand-built AVB images (big-endian header, every descriptor type, footers) parse field
 * for field; lying sizes and lengths fail with one-line errors naming the file. */
#include "images/vbmeta.h"
#include "tests/unit/image-testlib.h"

#include <glib/gstdio.h>
#include <string.h>

static void put_desc_header(GByteArray *a, uint64_t tag, uint64_t nbf)
{
	guint8 h[16];
	put_be64(h, tag);
	put_be64(h + 8, nbf);
	g_byte_array_append(a, h, 16);
}

/* Appends a descriptor: fixed part (after the 16-byte header) + variable data, padded to 8. */
static gsize add_desc(GByteArray *a, uint64_t tag, const guint8 *fixed, gsize fixed_len, const void *var,
		      gsize var_len)
{
	gsize at = a->len, body = fixed_len + var_len, padded = (body + 7) & ~(gsize)7;
	put_desc_header(a, tag, padded);
	g_byte_array_append(a, fixed, (guint)fixed_len);
	g_byte_array_append(a, var, (guint)var_len);
	static const guint8 zeros[8];
	g_byte_array_append(a, zeros, (guint)(padded - body));
	return at;
}

static gsize add_hash(GByteArray *a, const char *part, gsize salt_len, gsize digest_len)
{
	guint8 f[116] = { 0 }; /* 132 - 16 */
	put_be64(f, 0x123456);
	memcpy(f + 8, "sha256", 6);
	put_be32(f + 40, (uint32_t)strlen(part));
	put_be32(f + 44, (uint32_t)salt_len);
	put_be32(f + 48, (uint32_t)digest_len);
	put_be32(f + 52, 0);
	g_autoptr(GByteArray) v = g_byte_array_new();
	g_byte_array_append(v, (const guint8 *)part, (guint)strlen(part));
	for (gsize i = 0; i < salt_len + digest_len; i++)
		g_byte_array_append(v, (guint8[]){ (guint8)(i < salt_len ? 0x50 + i : 0xd0 + i) }, 1);
	return add_desc(a, SEPIA_AVB_DESCRIPTOR_HASH, f, sizeof f, v->data, v->len);
}

static gsize add_hashtree(GByteArray *a)
{
	guint8 f[164] = { 0 }; /* 180 - 16 */
	put_be32(f + 0, 1);
	put_be64(f + 4, 1 << 20);
	put_be64(f + 12, 1 << 20);
	put_be64(f + 20, 8192);
	put_be32(f + 28, 4096);
	put_be32(f + 32, 4096);
	put_be32(f + 36, 2);
	put_be64(f + 40, 0x108000);
	put_be64(f + 48, 0x2000);
	memcpy(f + 56, "sha1", 4);
	put_be32(f + 88, 6);
	put_be32(f + 92, 4);
	put_be32(f + 96, 20);
	put_be32(f + 100, 1);
	guint8 v[30];
	memcpy(v, "system", 6);
	for (int i = 6; i < 30; i++)
		v[i] = (guint8)i;
	return add_desc(a, SEPIA_AVB_DESCRIPTOR_HASHTREE, f, sizeof f, v, sizeof v);
}

static gsize add_cmdline(GByteArray *a, const char *cmdline)
{
	guint8 f[8];
	put_be32(f, 2);
	put_be32(f + 4, (uint32_t)strlen(cmdline));
	return add_desc(a, SEPIA_AVB_DESCRIPTOR_KERNEL_CMDLINE, f, 8, cmdline, strlen(cmdline));
}

static gsize add_chain(GByteArray *a)
{
	guint8 f[76] = { 0 }; /* 92 - 16 */
	put_be32(f, 3);
	put_be32(f + 4, 4);
	put_be32(f + 8, 10);
	put_be32(f + 12, 0);
	return add_desc(a, SEPIA_AVB_DESCRIPTOR_CHAIN_PARTITION, f, sizeof f, "bootKEYKEYKEY0", 14);
}

static gsize add_property(GByteArray *a)
{
	guint8 f[16];
	put_be64(f, 3);
	put_be64(f + 8, 5);
	return add_desc(a, SEPIA_AVB_DESCRIPTOR_PROPERTY, f, 16, "key\0value\0", 10);
}

/* A vbmeta image: header, authentication block (hash + signature when signed), auxiliary block
 * (public key + descriptors), both padded to 64. */
static GByteArray *build_vbmeta(uint32_t algorithm, const GByteArray *descs)
{
	uint32_t hash_len = algorithm == 0 ? 0 : 32, sig_len = algorithm == 0 ? 0 : 256;
	uint32_t pk_len = algorithm == 0 ? 0 : 8 + 2 * 256;
	gsize auth = (hash_len + sig_len + 63) & ~63u, aux = (pk_len + descs->len + 63) & ~(gsize)63;
	GByteArray *a = g_byte_array_new();
	g_byte_array_set_size(a, SEPIA_AVB_HEADER_SIZE + auth + aux);
	memset(a->data, 0, a->len);
	guint8 *h = a->data;
	memcpy(h, "AVB0", 4);
	put_be32(h + 4, 1);
	put_be32(h + 8, 2);
	put_be64(h + 12, auth);
	put_be64(h + 20, aux);
	put_be32(h + 28, algorithm);
	put_be64(h + 32, 0);
	put_be64(h + 40, hash_len);
	put_be64(h + 48, hash_len);
	put_be64(h + 56, sig_len);
	put_be64(h + 64, 0);
	put_be64(h + 72, pk_len);
	put_be64(h + 80, pk_len);
	put_be64(h + 88, 0);
	put_be64(h + 96, pk_len);
	put_be64(h + 104, descs->len);
	put_be64(h + 112, 42);
	put_be32(h + 120, 1);
	put_be32(h + 124, 7);
	memcpy(h + 128, "avbtool 1.2.0", 13);
	guint8 *ab = h + SEPIA_AVB_HEADER_SIZE, *xb = ab + auth;
	memset(ab, 0xaa, hash_len);
	memset(ab + hash_len, 0x55, sig_len);
	if (pk_len) {
		put_be32(xb, 2048);
		memset(xb + 8, 0x77, pk_len - 8);
	}
	memcpy(xb + pk_len, descs->data, descs->len);
	return a;
}

static GByteArray *all_descriptors(void)
{
	GByteArray *d = g_byte_array_new();
	add_hash(d, "boot", 32, 32);
	add_hashtree(d);
	add_cmdline(d, "dm=\"1 vroot\" root=/dev/dm-0");
	add_chain(d);
	add_property(d);
	add_desc(d, 99, (const guint8 *)"unknown!", 8, "", 0); /* unknown tag: kept, skipped */
	return d;
}

static void test_parse_all(void)
{
	for (uint32_t alg = 0; alg <= 1; alg++) {
		g_autoptr(GByteArray) descs = all_descriptors();
		g_autoptr(GByteArray) img = build_vbmeta(alg, descs);
		/* Trailing padding (a vbmeta partition) is fine. */
		g_byte_array_set_size(img, img->len + 1000);
		memset(img->data + img->len - 1000, 0xff, 1000);
		g_autoptr(GError) error = NULL;
		g_autoptr(SepiaVbmeta)
			vb = sepia_vbmeta_parse_buffer(img->data, img->len, "vbmeta.img", &error);
		g_assert_no_error(error);
		g_assert_cmpuint(vb->required_libavb_version_major, ==, 1);
		g_assert_cmpuint(vb->required_libavb_version_minor, ==, 2);
		g_assert_cmpuint(vb->algorithm_type, ==, alg);
		g_assert_cmpstr(sepia_avb_algorithm_name(alg), ==, alg ? "SHA256_RSA2048" : "NONE");
		g_assert_cmpuint(vb->rollback_index, ==, 42);
		g_assert_cmpuint(vb->flags, ==, 1);
		g_assert_cmpuint(vb->rollback_index_location, ==, 7);
		g_assert_cmpstr(vb->release_string, ==, "avbtool 1.2.0");
		g_assert_cmpuint(vb->size, ==, img->len - 1000);
		g_assert_cmpuint(g_bytes_get_size(vb->hash), ==, alg ? 32 : 0);
		g_assert_cmpuint(g_bytes_get_size(vb->signature), ==, alg ? 256 : 0);
		g_assert_cmpuint(g_bytes_get_size(vb->public_key), ==, alg ? 520 : 0);
		if (alg) {
			g_assert_cmpuint(vb->hash_offset, ==, 256);
			g_assert_cmpuint(vb->signature_offset, ==, 256 + 32);
			g_assert_cmpuint(((const guint8 *)g_bytes_get_data(vb->signature, NULL))[0], ==,
					 0x55);
			g_assert_cmpuint(vb->public_key_offset, ==, 256 + 320);
		}
		g_assert_cmpuint(vb->descriptors->len, ==, 6);

		const SepiaAvbDescriptor *h = sepia_vbmeta_find_hash(vb, "boot");
		g_assert_nonnull(h);
		g_assert_cmpuint(h->image_size, ==, 0x123456);
		g_assert_cmpstr(h->hash_algorithm, ==, "sha256");
		g_assert_cmpuint(g_bytes_get_size(h->salt), ==, 32);
		g_assert_cmpuint(g_bytes_get_size(h->digest), ==, 32);
		g_assert_cmpuint(((const guint8 *)g_bytes_get_data(h->salt, NULL))[1], ==, 0x51);
		g_assert_cmpuint(((const guint8 *)g_bytes_get_data(h->digest, NULL))[0], ==, 0xd0 + 32);
		g_assert_null(sepia_vbmeta_find_hash(vb, "system"));

		const SepiaAvbDescriptor *t = g_ptr_array_index(vb->descriptors, 1);
		g_assert_cmpuint(t->tag, ==, SEPIA_AVB_DESCRIPTOR_HASHTREE);
		g_assert_cmpstr(t->partition_name, ==, "system");
		g_assert_cmpuint(t->dm_verity_version, ==, 1);
		g_assert_cmpuint(t->image_size, ==, 1 << 20);
		g_assert_cmpuint(t->tree_offset, ==, 1 << 20);
		g_assert_cmpuint(t->tree_size, ==, 8192);
		g_assert_cmpuint(t->data_block_size, ==, 4096);
		g_assert_cmpuint(t->fec_num_roots, ==, 2);
		g_assert_cmpuint(t->fec_offset, ==, 0x108000);
		g_assert_cmpuint(t->fec_size, ==, 0x2000);
		g_assert_cmpstr(t->hash_algorithm, ==, "sha1");
		g_assert_cmpuint(g_bytes_get_size(t->salt), ==, 4);
		g_assert_cmpuint(g_bytes_get_size(t->digest), ==, 20);
		g_assert_cmpuint(t->flags, ==, 1);

		const SepiaAvbDescriptor *c = g_ptr_array_index(vb->descriptors, 2);
		g_assert_cmpstr(c->kernel_cmdline, ==, "dm=\"1 vroot\" root=/dev/dm-0");
		g_assert_cmpuint(c->flags, ==, 2);
		const SepiaAvbDescriptor *ch = g_ptr_array_index(vb->descriptors, 3);
		g_assert_cmpstr(ch->partition_name, ==, "boot");
		g_assert_cmpuint(ch->rollback_index_location, ==, 3);
		g_assert_cmpmem(g_bytes_get_data(ch->public_key, NULL), g_bytes_get_size(ch->public_key),
				"KEYKEYKEY0", 10);
		const SepiaAvbDescriptor *p = g_ptr_array_index(vb->descriptors, 4);
		g_assert_cmpstr(p->key, ==, "key");
		g_assert_cmpmem(g_bytes_get_data(p->value, NULL), g_bytes_get_size(p->value), "value", 5);
		const SepiaAvbDescriptor *u = g_ptr_array_index(vb->descriptors, 5);
		g_assert_cmpuint(u->tag, ==, 99);
		g_assert_cmpuint(g_bytes_get_size(u->raw), ==, 24);
	}
}

/* A partition image with vbmeta appended and an AVB footer at its very end. */
static void test_footer(void)
{
	g_autoptr(GByteArray) descs = g_byte_array_new();
	add_hash(descs, "boot", 4, 32);
	g_autoptr(GByteArray) vbm = build_vbmeta(0, descs);
	g_autoptr(GByteArray) part = g_byte_array_new();
	g_byte_array_set_size(part, 8192);
	memset(part->data, 0, part->len);
	memset(part->data, 0x11, 5000);
	memcpy(part->data + 4096, vbm->data, vbm->len);
	guint8 *f = part->data + 8192 - 64;
	memset(f, 0, 64);
	memcpy(f, "AVBf", 4);
	put_be32(f + 4, 1);
	put_be64(f + 12, 5000);
	put_be64(f + 20, 4096);
	put_be64(f + 28, vbm->len);
	g_autofree char *dir = make_tmp_dir("sepia-vbmeta");
	g_autofree char *path = g_build_filename(dir, "boot.img", NULL);
	g_assert_true(g_file_set_contents(path, (char *)part->data, part->len, NULL));
	g_autoptr(GError) error = NULL;
	g_autoptr(SepiaVbmeta) vb = sepia_vbmeta_parse_file(path, &error);
	g_assert_no_error(error);
	g_assert_true(vb->has_footer);
	g_assert_cmpuint(vb->footer_original_image_size, ==, 5000);
	g_assert_cmpuint(vb->footer_vbmeta_offset, ==, 4096);
	g_assert_nonnull(sepia_vbmeta_find_hash(vb, "boot"));

	/* A footer pointing past itself, and a file with neither header nor footer. */
	put_be64(f + 20, 8000);
	g_autoptr(SepiaVbmeta)
		bad = sepia_vbmeta_parse_partition_buffer(part->data, part->len, "boot.img", &error);
	g_assert_null(bad);
	g_assert_nonnull(strstr(error->message, "runs past the footer"));
	g_clear_error(&error);
	memset(f, 0, 4);
	g_assert_null(sepia_vbmeta_parse_partition_buffer(part->data, part->len, "boot.img", &error));
	g_assert_nonnull(strstr(error->message, "neither"));
	g_clear_error(&error);
	/* A plain vbmeta.img file works too. */
	g_assert_true(g_file_set_contents(path, (char *)vbm->data, vbm->len, NULL));
	g_autoptr(SepiaVbmeta) plain = sepia_vbmeta_parse_file(path, &error);
	g_assert_no_error(error);
	g_assert_false(plain->has_footer);
	g_unlink(path);
	g_assert_null(sepia_vbmeta_parse_file(path, &error));
	g_assert_error(error, SEPIA_IMAGES_ERROR, SEPIA_IMAGES_ERROR_IO);
	g_rmdir(dir);
}

static void expect_error(const GByteArray *a, const char *needle)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SepiaVbmeta) vb = sepia_vbmeta_parse_buffer(a->data, a->len, "vbmeta.img", &error);
	if (vb)
		g_error("parsed, but expected an error \"%s\" (%u bytes)", needle ? needle : "", a->len);
	assert_one_line_error(error, "vbmeta.img", needle);
}

static void test_header_lies(void)
{
	g_autoptr(GByteArray) descs = all_descriptors();
	g_autoptr(GByteArray) good = build_vbmeta(1, descs);
	g_autoptr(GByteArray) a = g_byte_array_new();
	for (guint cut = 0; cut < good->len; cut += (cut < 300 ? 1 : 37)) {
		g_byte_array_set_size(a, 0);
		g_byte_array_append(a, good->data, cut);
		expect_error(a, NULL);
	}
#define LIE(off, bits, val, needle)                            \
	do {                                                   \
		g_byte_array_set_size(a, 0);                   \
		g_byte_array_append(a, good->data, good->len); \
		put_be##bits(a->data + (off), (val));          \
		expect_error(a, needle);                       \
	} while (0)
	LIE(0, 32, 0x41564231, "bad magic");
	LIE(4, 32, 2, "required libavb version 2.2 is not supported");
	LIE(12, 64, 100, "not multiples of 64");
	LIE(20, 64, 0xffffffffffffffc0ull, "exceed the 65536-byte vbmeta limit");
	LIE(12, 64, 0xffffffffffffff00ull, "exceed");
	LIE(20, 64, good->len, "run past the end of the data");
	LIE(28, 32, 7, "algorithm_type 7");
	LIE(40, 64, 0xffffffffffffffffull,
	    "hash (0xffffffffffffffff bytes at offset 0x0) runs past "
	    "the authentication block");
	LIE(32, 64, 0xfffffffffffffff0ull, "hash");
	LIE(48, 64, 65, "signature (0x100 bytes at offset 0x41) runs past the authentication block");
	LIE(72, 64, 100000, "public key");
	LIE(80, 64, 1u << 20, "public key metadata");
	LIE(104, 64, 1u << 16, "descriptors (0x10000 bytes");
	LIE(96, 64, 0xfffffffffffffff8ull, "descriptors");
	LIE(40, 64, 64, "hash_size 64 does not match SHA256_RSA2048 (32)");
	LIE(56, 64, 128, "signature_size 128 does not match");
	LIE(256 + 320, 32, 4096, "public key says 4096 bits");
}

/* Descriptors that lie about their lengths. */
static void test_descriptor_lies(void)
{
	struct {
		uint64_t tag;
		gsize fixed; /* bytes after the 16-byte header */
		int field;   /* offset of the length field to corrupt, from the descriptor start */
		int bits;
		uint64_t value;
		const char *needle;
	} cases[] = {
		{ SEPIA_AVB_DESCRIPTOR_HASH, 116, 56, 32, 0xffffffff, "hash descriptor at offset" },
		{ SEPIA_AVB_DESCRIPTOR_HASH, 116, 60, 32, 1000, "salt_len 1000" },
		{ SEPIA_AVB_DESCRIPTOR_HASH, 116, 64, 32, 0xffffffff, "digest_len 4294967295" },
		{ SEPIA_AVB_DESCRIPTOR_HASHTREE, 164, 112, 32, 21 + 8, "root_digest_len 29" },
		{ SEPIA_AVB_DESCRIPTOR_KERNEL_CMDLINE, 8, 20, 32, 1u << 31, "kernel_cmdline_length" },
		{ SEPIA_AVB_DESCRIPTOR_CHAIN_PARTITION, 76, 24, 32, 0xfffffff0, "public_key_len" },
		{ SEPIA_AVB_DESCRIPTOR_PROPERTY, 16, 16, 64, 0xffffffffffffffffull, "key_num_bytes" },
		{ SEPIA_AVB_DESCRIPTOR_PROPERTY, 16, 24, 64, 0xfffffffffffffffeull, "value_num_bytes" },
		{ SEPIA_AVB_DESCRIPTOR_PROPERTY, 16, 24, 64, 4, "not NUL-terminated" },
		/* num_bytes_following itself: too small for the fixed part, not a multiple of 8, past
         * the end, and huge. */
		{ SEPIA_AVB_DESCRIPTOR_HASH, 116, 8, 64, 64, "smaller than its fixed part (132)" },
		{ SEPIA_AVB_DESCRIPTOR_HASH, 116, 8, 64, 161, "not a multiple of 8" },
		{ SEPIA_AVB_DESCRIPTOR_CHAIN_PARTITION, 76, 8, 64, 4096, "runs past the descriptors" },
		{ SEPIA_AVB_DESCRIPTOR_KERNEL_CMDLINE, 8, 8, 64, 0xfffffffffffffff8ull,
		  "num_bytes_following 0xfffffffffffffff8 runs past" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GByteArray) descs = g_byte_array_new();
		gsize at;
		switch (cases[i].tag) {
		case SEPIA_AVB_DESCRIPTOR_HASH:
			at = add_hash(descs, "boot", 8, 32);
			break;
		case SEPIA_AVB_DESCRIPTOR_HASHTREE:
			at = add_hashtree(descs);
			break;
		case SEPIA_AVB_DESCRIPTOR_KERNEL_CMDLINE:
			at = add_cmdline(descs, "quiet");
			break;
		case SEPIA_AVB_DESCRIPTOR_CHAIN_PARTITION:
			at = add_chain(descs);
			break;
		default:
			at = add_property(descs);
			break;
		}
		guint8 *p = descs->data + at + cases[i].field;
		if (cases[i].bits == 32)
			put_be32(p, (uint32_t)cases[i].value);
		else
			put_be64(p, cases[i].value);
		g_autoptr(GByteArray) img = build_vbmeta(0, descs);
		expect_error(img, cases[i].needle);
	}
	/* A partition name with a NUL in it, and a descriptor area ending mid-header. */
	g_autoptr(GByteArray) descs = g_byte_array_new();
	gsize at = add_hash(descs, "bo\0t", 0, 0);
	put_be32(descs->data + at + 56, 4);
	g_autoptr(GByteArray) img = build_vbmeta(0, descs);
	expect_error(img, "partition name contains a NUL byte");
	g_byte_array_set_size(descs, 0);
	add_cmdline(descs, "x");
	g_byte_array_append(descs, (const guint8 *)"12345678", 8);
	g_autoptr(GByteArray) img2 = build_vbmeta(0, descs);
	expect_error(img2, "less than a descriptor header");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vbmeta/parse/all-descriptors", test_parse_all);
	g_test_add_func("/vbmeta/parse/footer", test_footer);
	g_test_add_func("/vbmeta/corrupt/header", test_header_lies);
	g_test_add_func("/vbmeta/corrupt/descriptors", test_descriptor_lies);
	return g_test_run();
}
