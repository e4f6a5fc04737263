/* AVB: vbmeta images signed by images/avb_sign.c parse back and verify; a changed partition,
 * auxiliary block or signature is caught as the right verdict; another key is "not trusted";
 * the public-key encoding (n0inv, rr) is what libavb expects; and the openssl command line
 * agrees that the signature is a plain PKCS#1 v1.5 SHA-256 signature of header || aux. */
#include "images/avb.h"
#include "tests/unit/image-testlib.h"

#include <glib/gstdio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

typedef struct {
	char *dir, *key, *boot, *vendor, *vbmeta;
} Fixture;

static void write_pattern(const char *path, gsize len, guint8 seed)
{
	g_autofree guint8 *b = g_malloc(len);
	for (gsize i = 0; i < len; i++)
		b[i] = (guint8)(i * 7 + seed + (i >> 11));
	g_assert_true(g_file_set_contents(path, (const char *)b, (gssize)len, NULL));
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
	f->dir = make_tmp_dir("test-avb");
	f->key = srcdir_file(SLOT_TEST_KEY);
	g_assert_true(g_file_test(f->key, G_FILE_TEST_EXISTS));
	f->boot = g_build_filename(f->dir, "boot.img", NULL);
	f->vendor = g_build_filename(f->dir, "vendor_boot.img", NULL);
	f->vbmeta = g_build_filename(f->dir, "vbmeta.img", NULL);
	write_pattern(f->boot, 5000, 1);
	write_pattern(f->vendor, (5u << 19) + 123, 2); /* 2.5 MiB: several read chunks */
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
	rm_tree(f->dir);
	g_free(f->dir), g_free(f->key), g_free(f->boot), g_free(f->vendor), g_free(f->vbmeta);
}

/* Signs boot + vendor_boot (boot with a fixed salt, vendor_boot with a random one). */
static void sign(Fixture *f, uint32_t algorithm, const char *key, const char *hash_alg)
{
	static const guint8 salt[] = "0123456789abcdef0123456789abcdef";
	g_autoptr(GBytes) s = g_bytes_new_static(salt, 32);
	SepiaAvbHashPartition parts[] = {
		{ "boot", f->boot, s },
		{ "vendor_boot", f->vendor, NULL },
	};
	const char *cmdlines[] = { "androidboot.hardware=sepia", NULL };
	SepiaAvbSignOptions o = {
		.algorithm = algorithm,
		.key_path = key,
		.hash_algorithm = hash_alg,
		.rollback_index = 5,
		.partitions = parts,
		.n_partitions = 2,
		.kernel_cmdlines = cmdlines,
	};
	g_autoptr(GError) error = NULL;
	g_assert_true(sepia_avb_write_vbmeta(f->vbmeta, &o, &error));
	g_assert_no_error(error);
}

static SepiaVbmeta *parse(const char *path)
{
	g_autoptr(GError) error = NULL;
	SepiaVbmeta *vb = sepia_vbmeta_parse_file(path, &error);
	g_assert_no_error(error);
	return vb;
}

static SepiaAvbResult verify(const SepiaVbmeta *vb, GBytes *trusted, GBytes **signer)
{
	g_autoptr(GError) error = NULL;
	SepiaAvbResult r = sepia_avb_verify_vbmeta(vb, "vbmeta.img", trusted, signer, &error);
	if (r == SEPIA_AVB_OK || r == SEPIA_AVB_UNSIGNED)
		g_assert_no_error(error);
	else {
		g_assert_nonnull(error);
		g_assert_true(g_str_has_prefix(error->message, "vbmeta.img: "));
		g_test_message("%s: %s", sepia_avb_result_name(r), error->message);
	}
	return r;
}

static SepiaAvbResult verify_part(const SepiaVbmeta *vb, const char *name, const char *path)
{
	const SepiaAvbDescriptor *d = sepia_vbmeta_find_hash(vb, name);
	g_assert_nonnull(d);
	g_autoptr(GError) error = NULL;
	SepiaAvbResult r = sepia_avb_verify_hash_descriptor(d, path, &error);
	g_assert_true((r == SEPIA_AVB_OK) == (error == NULL));
	return r;
}

static GBytes *load_key(const char *path)
{
	g_autoptr(GError) error = NULL;
	GBytes *k = sepia_avb_load_public_key(path, &error);
	g_assert_no_error(error);
	return k;
}

/* Runs a command; true when it exits 0. */
static bool run(const char *const *argv)
{
	int status = -1;
	g_autoptr(GError) error = NULL;
	g_autofree char *err = NULL;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
			  NULL, NULL, &err, &status, &error))
		g_error("%s: %s", argv[0], error->message);
	return g_spawn_check_wait_status(status, NULL);
}

static bool have_openssl(void) { return have_program("openssl", "no openssl command"); }

/* A fresh RSA key of `bits` from the openssl command, in the fixture directory. */
static char *genrsa(Fixture *f, const char *name, const char *bits)
{
	char *path = g_build_filename(f->dir, name, NULL);
	const char *argv[] = { "openssl", "genrsa", "-out", path, bits, NULL };
	g_assert_true(run(argv));
	return path;
}

static void test_sign_verify(Fixture *f, gconstpointer data)
{
	sign(f, SEPIA_AVB_ALGORITHM_SHA256_RSA2048, f->key, NULL);
	g_autoptr(SepiaVbmeta) vb = parse(f->vbmeta);
	g_assert_cmpuint(vb->algorithm_type, ==, SEPIA_AVB_ALGORITHM_SHA256_RSA2048);
	g_assert_cmpuint(vb->rollback_index, ==, 5);
	g_assert_cmpuint(vb->descriptors->len, ==, 3);
	g_assert_true(g_str_has_prefix(vb->release_string, "sepia "));
	const SepiaAvbDescriptor *c = g_ptr_array_index(vb->descriptors, 2);
	g_assert_cmpuint(c->tag, ==, SEPIA_AVB_DESCRIPTOR_KERNEL_CMDLINE);
	g_assert_cmpstr(c->kernel_cmdline, ==, "androidboot.hardware=sepia");
	const SepiaAvbDescriptor *b = sepia_vbmeta_find_hash(vb, "boot");
	g_assert_cmpuint(b->image_size, ==, 5000);
	g_assert_cmpmem(g_bytes_get_data(b->salt, NULL), 32, "0123456789abcdef0123456789abcdef", 32);
	g_assert_cmpuint(g_bytes_get_size(sepia_vbmeta_find_hash(vb, "vendor_boot")->salt), ==, 32);

	g_autoptr(GBytes) trusted = load_key(f->key);
	g_autoptr(GBytes) signer = NULL;
	g_assert_cmpint(verify(vb, NULL, &signer), ==, SEPIA_AVB_OK);
	g_assert_true(sepia_avb_public_key_equal(signer, trusted));
	g_clear_pointer(&signer, g_bytes_unref);
	g_assert_cmpint(verify(vb, trusted, &signer), ==, SEPIA_AVB_OK);
	g_assert_cmpint(verify_part(vb, "boot", f->boot), ==, SEPIA_AVB_OK);
	g_assert_cmpint(verify_part(vb, "vendor_boot", f->vendor), ==, SEPIA_AVB_OK);

	/* The trusted key as an AVB-format file (avbtool extract_public_key) loads the same. */
	g_autofree char *avbkey = g_build_filename(f->dir, "key.avbpubkey", NULL);
	g_assert_true(g_file_set_contents(avbkey, g_bytes_get_data(signer, NULL),
					  (gssize)g_bytes_get_size(signer), NULL));
	g_autoptr(GBytes) trusted2 = load_key(avbkey);
	g_assert_true(g_bytes_equal(trusted2, signer));

	/* androidboot.vbmeta.digest: SHA-256 over the vbmeta image's bytes. */
	g_autofree char *file = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(f->vbmeta, &file, &len, NULL));
	g_assert_cmpuint(len, ==, vb->size);
	g_autofree char *want = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guint8 *)file, len);
	const SepiaVbmeta *chain[] = { vb };
	g_autofree char *got = sepia_avb_vbmeta_digest_hex(chain, 1);
	g_assert_cmpstr(got, ==, want);
}

static void test_partition_changed(Fixture *f, gconstpointer data)
{
	sign(f, SEPIA_AVB_ALGORITHM_SHA256_RSA2048, f->key, NULL);
	g_autoptr(SepiaVbmeta) vb = parse(f->vbmeta);
	/* One byte deep inside vendor_boot (third read chunk). */
	g_autofree char *b = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(f->vendor, &b, &len, NULL));
	b[(2u << 20) + 77] ^= 1;
	g_assert_true(g_file_set_contents(f->vendor, b, (gssize)len, NULL));
	g_assert_cmpint(verify_part(vb, "vendor_boot", f->vendor), ==, SEPIA_AVB_HASH_MISMATCH);
	g_assert_cmpint(verify_part(vb, "boot", f->boot), ==, SEPIA_AVB_OK);
	g_assert_cmpint(verify(vb, NULL, NULL), ==, SEPIA_AVB_OK); /* vbmeta itself is intact */

	/* Bytes past image_size are not covered; a short image is a mismatch, a missing one an error. */
	b[(2u << 20) + 77] ^= 1;
	g_assert_true(g_file_set_contents(f->vendor, b, (gssize)len - 1, NULL));
	g_assert_cmpint(verify_part(vb, "vendor_boot", f->vendor), ==, SEPIA_AVB_HASH_MISMATCH);
	g_autofree char *longer = g_malloc(len + 10);
	memcpy(longer, b, len);
	memset(longer + len, 0xee, 10);
	g_assert_true(g_file_set_contents(f->vendor, longer, (gssize)len + 10, NULL));
	g_assert_cmpint(verify_part(vb, "vendor_boot", f->vendor), ==, SEPIA_AVB_OK);
	g_unlink(f->boot);
	g_assert_cmpint(verify_part(vb, "boot", f->boot), ==, SEPIA_AVB_ERROR);
}

/* Parses the vbmeta file with one byte flipped at off. */
static SepiaVbmeta *parse_flipped(Fixture *f, gsize off)
{
	g_autofree guint8 *b = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(f->vbmeta, (char **)&b, &len, NULL));
	g_assert_cmpuint(off, <, len);
	b[off] ^= 0x40;
	g_autoptr(GError) error = NULL;
	SepiaVbmeta *vb = sepia_vbmeta_parse_buffer(b, len, "vbmeta.img", &error);
	g_assert_no_error(error);
	return vb;
}

static void test_vbmeta_changed(Fixture *f, gconstpointer data)
{
	sign(f, SEPIA_AVB_ALGORITHM_SHA256_RSA2048, f->key, NULL);
	g_autoptr(SepiaVbmeta) vb = parse(f->vbmeta);
	gsize aux = SEPIA_AVB_HEADER_SIZE + vb->authentication_data_block_size;
	/* A digest byte of boot's descriptor (aux block), a release-string byte (header). */
	const SepiaAvbDescriptor *d = sepia_vbmeta_find_hash(vb, "boot");
	gsize digest_off = d->offset + 132 + 4 + 32;
	g_assert_cmpuint(digest_off, >=, aux);
	g_autoptr(SepiaVbmeta) v1 = parse_flipped(f, digest_off);
	g_assert_cmpint(verify(v1, NULL, NULL), ==, SEPIA_AVB_HASH_MISMATCH);
	g_autoptr(SepiaVbmeta) v2 = parse_flipped(f, 128 + 2);
	g_assert_cmpint(verify(v2, NULL, NULL), ==, SEPIA_AVB_HASH_MISMATCH);
	/* The signature (auth block, not hashed). */
	g_autoptr(SepiaVbmeta) v3 = parse_flipped(f, (gsize)vb->signature_offset + 100);
	g_assert_cmpint(verify(v3, NULL, NULL), ==, SEPIA_AVB_SIGNATURE_INVALID);

	/* A changed aux block with a recomputed hash: only the signature can catch it. */
	g_autofree guint8 *b = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(f->vbmeta, (char **)&b, &len, NULL));
	b[digest_off] ^= 1;
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(sum, b, SEPIA_AVB_HEADER_SIZE);
	g_checksum_update(sum, b + aux, (gssize)vb->auxiliary_data_block_size);
	gsize hl = 32;
	g_checksum_get_digest(sum, b + vb->hash_offset, &hl);
	g_autoptr(SepiaVbmeta) v4 = sepia_vbmeta_parse_buffer(b, len, "vbmeta.img", NULL);
	g_assert_cmpint(verify(v4, NULL, NULL), ==, SEPIA_AVB_SIGNATURE_INVALID);
	/* And a modulus byte of the embedded key (n0inv/rr no longer match). */
	g_autoptr(SepiaVbmeta) v5 = parse_flipped(f, (gsize)vb->public_key_offset + 8 + 50);
	g_assert_cmpint(verify(v5, NULL, NULL), ==, SEPIA_AVB_HASH_MISMATCH);
}

static void test_other_key(Fixture *f, gconstpointer data)
{
	if (!have_openssl())
		return;
	g_autofree char *other = genrsa(f, "other.pem", "2048");
	sign(f, SEPIA_AVB_ALGORITHM_SHA256_RSA2048, other, NULL);
	g_autoptr(SepiaVbmeta) vb = parse(f->vbmeta);
	g_autoptr(GBytes) trusted = load_key(f->key);
	g_autoptr(GBytes) other_key = load_key(other);
	g_autoptr(GBytes) signer = NULL;
	g_assert_cmpint(verify(vb, trusted, &signer), ==, SEPIA_AVB_KEY_NOT_TRUSTED);
	g_assert_nonnull(signer);
	g_assert_true(sepia_avb_public_key_equal(signer, other_key));
	g_assert_false(sepia_avb_public_key_equal(signer, trusted));
	g_clear_pointer(&signer, g_bytes_unref);
	g_assert_cmpint(verify(vb, other_key, &signer), ==, SEPIA_AVB_OK);

	/* Trusted keys as PEM public keys: SubjectPublicKeyInfo and PKCS#1 "RSA PUBLIC KEY". */
	g_autofree char *pub = g_build_filename(f->dir, "other.pub.pem", NULL);
	g_autofree char *rsapub = g_build_filename(f->dir, "other.rsapub.pem", NULL);
	const char *a1[] = { "openssl", "pkey", "-in", other, "-pubout", "-out", pub, NULL };
	const char *a2[] = { "openssl", "rsa", "-in", other, "-RSAPublicKey_out", "-out", rsapub, NULL };
	g_assert_true(run(a1));
	g_assert_true(run(a2));
	g_autoptr(GBytes) k1 = load_key(pub);
	g_autoptr(GBytes) k2 = load_key(rsapub);
	g_assert_true(g_bytes_equal(k1, other_key));
	g_assert_true(g_bytes_equal(k2, other_key));

	/* A 2048-bit key cannot sign SHA256_RSA4096. */
	SepiaAvbSignOptions o = { .algorithm = SEPIA_AVB_ALGORITHM_SHA256_RSA4096, .key_path = other };
	g_autoptr(GError) error = NULL;
	g_assert_null(sepia_avb_make_vbmeta(&o, &error));
	g_assert_error(error, SEPIA_IMAGES_ERROR, SEPIA_IMAGES_ERROR_INVALID);
}

static void test_rsa4096(Fixture *f, gconstpointer data)
{
	if (!have_openssl())
		return;
	g_autofree char *k4 = genrsa(f, "k4096.pem", "4096");
	g_autoptr(GBytes) trusted = load_key(k4);
	for (uint32_t alg = SEPIA_AVB_ALGORITHM_SHA256_RSA4096; alg <= SEPIA_AVB_ALGORITHM_SHA512_RSA4096;
	     alg += 3) {
		sign(f, alg, k4, alg == SEPIA_AVB_ALGORITHM_SHA512_RSA4096 ? "sha512" : NULL);
		g_autoptr(SepiaVbmeta) vb = parse(f->vbmeta);
		g_assert_cmpuint(vb->algorithm_type, ==, alg);
		g_assert_cmpuint(g_bytes_get_size(vb->signature), ==, 512);
		g_assert_cmpint(verify(vb, trusted, NULL), ==, SEPIA_AVB_OK);
		g_assert_cmpint(verify_part(vb, "boot", f->boot), ==, SEPIA_AVB_OK);
		g_assert_cmpint(verify_part(vb, "vendor_boot", f->vendor), ==, SEPIA_AVB_OK);
		g_autoptr(SepiaVbmeta) bad = parse_flipped(f, (gsize)vb->signature_offset);
		g_assert_cmpint(verify(bad, trusted, NULL), ==, SEPIA_AVB_SIGNATURE_INVALID);
	}
}

static void test_unsigned(Fixture *f, gconstpointer data)
{
	sign(f, SEPIA_AVB_ALGORITHM_NONE, NULL, NULL);
	g_autoptr(SepiaVbmeta) vb = parse(f->vbmeta);
	g_assert_cmpuint(vb->authentication_data_block_size, ==, 0);
	g_assert_cmpuint(g_bytes_get_size(vb->public_key), ==, 0);
	g_autoptr(GBytes) trusted = load_key(f->key);
	g_autoptr(GBytes) signer = NULL;
	g_assert_cmpint(verify(vb, trusted, &signer), ==, SEPIA_AVB_UNSIGNED);
	g_assert_null(signer);
	g_assert_cmpint(verify_part(vb, "boot", f->boot), ==, SEPIA_AVB_OK);
}

/* The openssl command line verifies our signature over the bytes we say are signed. */
static void test_openssl_crosscheck(Fixture *f, gconstpointer data)
{
	if (!have_openssl())
		return;
	sign(f, SEPIA_AVB_ALGORITHM_SHA256_RSA2048, f->key, NULL);
	g_autoptr(SepiaVbmeta) vb = parse(f->vbmeta);
	const guint8 *img = g_bytes_get_data(vb->image, NULL);
	g_autoptr(GByteArray) signed_bytes = g_byte_array_new();
	g_byte_array_append(signed_bytes, img, SEPIA_AVB_HEADER_SIZE);
	g_byte_array_append(signed_bytes, img + SEPIA_AVB_HEADER_SIZE + vb->authentication_data_block_size,
			    (guint)vb->auxiliary_data_block_size);
	g_autofree char *data_path = g_build_filename(f->dir, "signed.bin", NULL);
	g_autofree char *sig_path = g_build_filename(f->dir, "sig.bin", NULL);
	g_autofree char *pub = g_build_filename(f->dir, "pub.pem", NULL);
	g_assert_true(
		g_file_set_contents(data_path, (char *)signed_bytes->data, (gssize)signed_bytes->len, NULL));
	g_assert_true(g_file_set_contents(sig_path, g_bytes_get_data(vb->signature, NULL),
					  (gssize)g_bytes_get_size(vb->signature), NULL));
	const char *pk[] = { "openssl", "pkey", "-in", f->key, "-pubout", "-out", pub, NULL };
	g_assert_true(run(pk));
	const char *dgst[] = { "openssl",    "dgst",   "-sha256", "-verify", pub,
			       "-signature", sig_path, data_path, NULL };
	g_assert_true(run(dgst));
	signed_bytes->data[300] ^= 1;
	g_assert_true(
		g_file_set_contents(data_path, (char *)signed_bytes->data, (gssize)signed_bytes->len, NULL));
	g_assert_false(run(dgst));
}

/* n0inv * n[0] == -1 mod 2^32 and rr == 2^(2*bits) mod n, computed here with BN. */
static void test_key_encoding(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) key = load_key(f->key);
	gsize len;
	const guint8 *k = g_bytes_get_data(key, &len);
	g_assert_cmpuint(len, ==, 8 + 2 * 256);
	g_assert_cmpuint(get_be32(k), ==, 2048);
	const guint8 *n = k + 8, *rr = n + 256;
	g_assert_cmpuint((uint32_t)(get_be32(k + 4) * get_be32(n + 252)), ==, 0xffffffffu);

	/* The modulus is the PEM key's. */
	g_autofree char *pem = NULL;
	gsize pem_len;
	g_assert_true(g_file_get_contents(f->key, &pem, &pem_len, NULL));
	BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	g_assert_nonnull(pkey);
	BIGNUM *bn_n = NULL;
	g_assert_true(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &bn_n));
	EVP_PKEY_free(pkey);
	guint8 nbuf[256];
	g_assert_cmpint(BN_bn2binpad(bn_n, nbuf, 256), ==, 256);
	g_assert_cmpmem(nbuf, 256, n, 256);
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *r = BN_new(), *want = BN_new(), *got = BN_bin2bn(rr, 256, NULL);
	g_assert_true(BN_set_bit(r, 4096));
	g_assert_true(BN_mod(want, r, bn_n, ctx));
	g_assert_cmpint(BN_cmp(want, got), ==, 0);
	BN_free(r), BN_free(want), BN_free(got), BN_free(bn_n), BN_CTX_free(ctx);

	g_autoptr(GError) error = NULL;
	g_assert_true(sepia_avb_public_key_check(key, "key", &error));
	g_assert_no_error(error);
	/* Wrong n0inv, wrong rr, wrong length: refused. */
	for (gsize off = 4; off < len; off += len - 5) {
		g_autofree guint8 *bad = g_memdup2(k, len);
		bad[off] ^= 1;
		g_autoptr(GBytes) b = g_bytes_new(bad, len);
		g_assert_false(sepia_avb_public_key_check(b, "key", &error));
		g_test_message("%s", error->message);
		g_clear_error(&error);
	}
	g_autoptr(GBytes) shorter = g_bytes_new(k, len - 1);
	g_assert_false(sepia_avb_public_key_check(shorter, "key", &error));
	g_clear_error(&error);
	g_assert_cmpstr(sepia_avb_result_name(SEPIA_AVB_KEY_NOT_TRUSTED), ==, "KEY_NOT_TRUSTED");

	/* Neither format, and not a private key for signing: one-line errors naming the file. */
	g_autofree char *junk = g_build_filename(f->dir, "junk.pem", NULL);
	g_assert_true(g_file_set_contents(junk, "-----BEGIN NOTHING-----\nzz\n", -1, NULL));
	g_assert_null(sepia_avb_load_public_key(junk, &error));
	g_assert_true(g_str_has_prefix(error->message, junk));
	g_clear_error(&error);
	SepiaAvbSignOptions o = { .algorithm = SEPIA_AVB_ALGORITHM_SHA256_RSA2048, .key_path = junk };
	g_assert_null(sepia_avb_make_vbmeta(&o, &error));
	g_assert_true(g_str_has_prefix(error->message, junk));
	g_clear_error(&error);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/avb/sign-verify", test_sign_verify);
	ADD("/avb/partition-changed", test_partition_changed);
	ADD("/avb/vbmeta-changed", test_vbmeta_changed);
	ADD("/avb/other-key", test_other_key);
	ADD("/avb/rsa4096", test_rsa4096);
	ADD("/avb/unsigned", test_unsigned);
	ADD("/avb/openssl-crosscheck", test_openssl_crosscheck);
	ADD("/avb/key-encoding", test_key_encoding);
	return g_test_run();
}
