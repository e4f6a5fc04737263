/* images/avb.c — AVB public keys, vbmeta and hash-descriptor verification, vbmeta digest. */
#include "images/avb.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <string.h>
#include <unistd.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/param_build.h>
#endif

#include "images/avb_crypto.h"

#define AVB_RSA_EXPONENT 65537
#define HASH_CHUNK       (1u << 20)

G_DEFINE_AUTOPTR_CLEANUP_FUNC(BIGNUM, BN_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BN_CTX, BN_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_PKEY_CTX, EVP_PKEY_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_MD_CTX, EVP_MD_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BIO, BIO_free)

const char *sepia_avb_result_name(SepiaAvbResult result)
{
	static const char *const names[] = {
		"OK", "UNSIGNED", "HASH_MISMATCH", "SIGNATURE_INVALID", "KEY_NOT_TRUSTED", "ERROR"
	};
	return (unsigned)result < G_N_ELEMENTS(names) ? names[result] : "?";
}

bool sepia_avb_algorithm_params(uint32_t algorithm_type, uint32_t *hash_len, uint32_t *key_bits)
{
	static const uint32_t params[][2] = {
		{ 0, 0 }, { 32, 2048 }, { 32, 4096 }, { 32, 8192 }, { 64, 2048 }, { 64, 4096 }, { 64, 8192 },
	};
	if (algorithm_type >= G_N_ELEMENTS(params))
		return false;
	if (hash_len)
		*hash_len = params[algorithm_type][0];
	if (key_bits)
		*key_bits = params[algorithm_type][1];
	return true;
}

const EVP_MD *avb_md_for_hash_len(gsize hash_len)
{
	return hash_len == 32 ? EVP_sha256() : hash_len == 64 ? EVP_sha512() : NULL;
}

/* ---- public keys ---- */

/* -1/n0 mod 2^32 for odd n0: Newton's iteration doubles the correct low bits each step
 * (n0 is its own inverse mod 8, so 3 -> 6 -> 12 -> 24 -> 48). */
static uint32_t n0inv_of(uint32_t n0)
{
	uint32_t x = n0;
	for (int i = 0; i < 4; i++)
		x *= 2 - n0 * x;
	return (uint32_t)-x;
}

/* rr = 2^(2*bits) mod n, big-endian in bits/8 bytes at out. */
static bool rr_of(const BIGNUM *n, uint32_t bits, guint8 *out)
{
	g_autoptr(BN_CTX) ctx = BN_CTX_new();
	g_autoptr(BIGNUM) r = BN_new();
	g_autoptr(BIGNUM) rr = BN_new();
	return ctx && r && rr && BN_set_bit(r, (int)(2 * bits)) && BN_mod(rr, r, n, ctx) &&
	       BN_bn2binpad(rr, out, (int)(bits / 8)) == (int)(bits / 8);
}

GBytes *avb_public_key_encode_bn(const BIGNUM *n, const BIGNUM *e, const char *name, GError **error)
{
	int bits = BN_num_bits(n);
	if (bits != 2048 && bits != 4096 && bits != 8192) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_UNSUPPORTED, name,
			      "RSA key of %d bits: AVB "
			      "takes 2048, 4096 or 8192",
			      bits);
		return NULL;
	}
	if (!BN_is_word(e, AVB_RSA_EXPONENT)) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_UNSUPPORTED, name,
			      "RSA public exponent is not "
			      "65537, which AVB assumes");
		return NULL;
	}
	gsize nbytes = (gsize)bits / 8, len = 8 + 2 * nbytes;
	guint8 *k = g_malloc0(len);
	put_be32(k, (uint32_t)bits);
	if (BN_bn2binpad(n, k + 8, (int)nbytes) != (int)nbytes || !rr_of(n, (uint32_t)bits, k + 8 + nbytes)) {
		g_free(k);
		img_fail(error, name, "cannot encode the RSA modulus");
		return NULL;
	}
	put_be32(k + 4, n0inv_of(get_be32(k + 8 + nbytes - 4)));
	return g_bytes_new_take(k, len);
}

bool sepia_avb_public_key_check(GBytes *key, const char *name, GError **error)
{
	gsize len;
	const guint8 *k = g_bytes_get_data(key, &len);
	if (len < 8)
		return img_fail(error, name, "public key of %zu bytes is shorter than its 8-byte header",
				len);
	uint32_t bits = get_be32(k);
	if (bits != 2048 && bits != 4096 && bits != 8192)
		return img_fail(error, name,
				"public key says key_num_bits %u: AVB takes 2048, 4096 or "
				"8192",
				bits);
	gsize nbytes = bits / 8;
	if (len != 8 + 2 * nbytes)
		return img_fail(error, name, "public key of %zu bytes; %u bits need %zu", len, bits,
				8 + 2 * nbytes);
	const guint8 *n = k + 8, *rr = n + nbytes;
	if (!(n[0] & 0x80) || !(n[nbytes - 1] & 1))
		return img_fail(error, name, "public key modulus is not an odd %u-bit number", bits);
	if (get_be32(k + 4) != n0inv_of(get_be32(n + nbytes - 4)))
		return img_fail(error, name, "public key n0inv 0x%08x is wrong (0x%08x expected)",
				get_be32(k + 4), n0inv_of(get_be32(n + nbytes - 4)));
	g_autoptr(BIGNUM) bn = BN_bin2bn(n, (int)nbytes, NULL);
	g_autofree guint8 *want = g_malloc(nbytes);
	if (!bn || !rr_of(bn, bits, want))
		return img_fail(error, name, "cannot compute the public key's rr");
	if (memcmp(want, rr, nbytes) != 0)
		return img_fail(error, name, "public key rr is not 2^%u mod n", 2 * bits);
	return true;
}

GBytes *sepia_avb_public_key_from_pem(const void *pem, gsize len, const char *name, GError **error)
{
	g_autoptr(BIO) bio = BIO_new_mem_buf(pem, (int)MIN(len, (gsize)G_MAXINT));
	EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	if (!pkey && bio) {
		(void)BIO_reset(bio);
		pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
	}
	if (!pkey && bio) {
		(void)BIO_reset(bio);
		pkey = avb_read_pem_rsa_public_key(bio);
	}
	ERR_clear_error(); /* the formats that did not match left errors queued */
	if (!pkey) {
		img_fail(error, name, "no PEM RSA key (PUBLIC KEY, RSA PUBLIC KEY or a private key)");
		return NULL;
	}
	GBytes *k = avb_public_key_encode(pkey, name, error);
	EVP_PKEY_free(pkey);
	return k;
}

GBytes *sepia_avb_load_public_key(const char *path, GError **error)
{
	g_autofree char *data = NULL;
	gsize len;
	if (!img_read_file(path, &data, &len, error))
		return NULL;
	if (len >= 8 && get_be32((const guint8 *)data) != 0 &&
	    g_strstr_len(data, (gssize)len, "-----BEGIN") == NULL) {
		g_autoptr(GBytes) k = g_bytes_new(data, len);
		if (!sepia_avb_public_key_check(k, path, error))
			return NULL;
		return g_steal_pointer(&k);
	}
	return sepia_avb_public_key_from_pem(data, len, path, error);
}

bool sepia_avb_public_key_equal(GBytes *a, GBytes *b)
{
	gsize la, lb;
	const guint8 *pa = g_bytes_get_data(a, &la), *pb = g_bytes_get_data(b, &lb);
	if (la < 8 || la != lb || get_be32(pa) != get_be32(pb))
		return false;
	gsize nbytes = get_be32(pa) / 8;
	return la >= 8 + nbytes && memcmp(pa + 8, pb + 8, nbytes) == 0;
}

/* ---- verification ---- */

/* HASH(header || auxiliary block), as libavb computes it. */
static bool vbmeta_hash(const SepiaVbmeta *vb, const EVP_MD *md, guint8 *out, unsigned *out_len)
{
	const guint8 *img = g_bytes_get_data(vb->image, NULL);
	g_autoptr(EVP_MD_CTX) ctx = EVP_MD_CTX_new();
	return ctx && EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, img, SEPIA_AVB_HEADER_SIZE) &&
	       EVP_DigestUpdate(ctx, img + SEPIA_AVB_HEADER_SIZE + vb->authentication_data_block_size,
				(size_t)vb->auxiliary_data_block_size) &&
	       EVP_DigestFinal_ex(ctx, out, out_len);
}

SepiaAvbResult sepia_avb_verify_vbmeta(const SepiaVbmeta *vb, const char *name, GBytes *trusted_key,
				       GBytes **signer_key, GError **error)
{
	if (signer_key)
		*signer_key = NULL;
	uint32_t hash_len, bits;
	if (!sepia_avb_algorithm_params(vb->algorithm_type, &hash_len, &bits)) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_UNSUPPORTED, name, "unknown algorithm_type %u",
			      vb->algorithm_type);
		return SEPIA_AVB_ERROR;
	}
	if (vb->algorithm_type == SEPIA_AVB_ALGORITHM_NONE)
		return SEPIA_AVB_UNSIGNED;
	const char *alg = sepia_avb_algorithm_name(vb->algorithm_type);
	guint8 hash[EVP_MAX_MD_SIZE];
	unsigned got_len = 0;
	if (!vbmeta_hash(vb, avb_md_for_hash_len(hash_len), hash, &got_len) || got_len != hash_len) {
		img_fail(error, name, "cannot compute the vbmeta %s hash", alg);
		return SEPIA_AVB_ERROR;
	}
	if (g_bytes_get_size(vb->hash) != hash_len ||
	    memcmp(hash, g_bytes_get_data(vb->hash, NULL), hash_len) != 0) {
		img_fail(error, name,
			 "vbmeta hash mismatch: the header and auxiliary block do not match "
			 "the %s hash in the authentication block",
			 alg);
		return SEPIA_AVB_HASH_MISMATCH;
	}
	/* libavb uses n0inv and rr as stored: a key with wrong ones never verifies there. */
	g_autoptr(GError) key_error = NULL;
	if (!sepia_avb_public_key_check(vb->public_key, name, &key_error) ||
	    get_be32(g_bytes_get_data(vb->public_key, NULL)) != bits) {
		img_fail(error, name, "signature invalid: embedded public key unusable for %s (%s)", alg,
			 key_error ? key_error->message : "wrong size");
		return SEPIA_AVB_SIGNATURE_INVALID;
	}
	EVP_PKEY *pkey = avb_public_key_decode(vb->public_key);
	if (!pkey) {
		img_fail(error, name, "cannot load the embedded public key into libcrypto");
		return SEPIA_AVB_ERROR;
	}
	int ok = avb_rsa_verify(pkey, hash_len, hash, g_bytes_get_data(vb->signature, NULL),
				g_bytes_get_size(vb->signature));
	EVP_PKEY_free(pkey);
	if (ok != 1) {
		img_fail(error, name,
			 "signature invalid: the %s signature does not verify with the "
			 "embedded public key",
			 alg);
		return SEPIA_AVB_SIGNATURE_INVALID;
	}
	if (signer_key)
		*signer_key = g_bytes_ref(vb->public_key);
	if (trusted_key && !sepia_avb_public_key_equal(trusted_key, vb->public_key)) {
		img_fail(error, name, "signed by a %u-bit key that is not the trusted key", bits);
		return SEPIA_AVB_KEY_NOT_TRUSTED;
	}
	return SEPIA_AVB_OK;
}

bool sepia_avb_hash_image(const char *path, const char *hash_algorithm, GBytes *salt, uint64_t image_size,
			  guint8 *out, gsize *out_len, GError **error)
{
	const EVP_MD *md = g_strcmp0(hash_algorithm, "sha256") == 0   ? EVP_sha256()
			   : g_strcmp0(hash_algorithm, "sha512") == 0 ? EVP_sha512()
								      : NULL;
	if (!md)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_UNSUPPORTED, path,
				     "hash algorithm \"%s\" "
				     "is not supported (sha256, sha512)",
				     hash_algorithm);
	ImgSource src;
	if (!img_source_open(&src, path, error))
		return false;
	g_autoptr(EVP_MD_CTX) ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestInit_ex(ctx, md, NULL);
	if (ok && salt)
		ok = EVP_DigestUpdate(ctx, g_bytes_get_data(salt, NULL), g_bytes_get_size(salt));
	if (!ok) {
		img_source_close(&src);
		return img_fail(error, path, "cannot start a %s hash", hash_algorithm);
	}
	if (src.size < image_size) {
		img_source_close(&src);
		return img_fail(error, path,
				"image is %" G_GUINT64_FORMAT " bytes, shorter than the %" G_GUINT64_FORMAT
				" bytes its hash covers",
				(guint64)src.size, (guint64)image_size);
	}
	g_autofree guint8 *buf = g_malloc(HASH_CHUNK);
	for (uint64_t off = 0; off < image_size;) {
		size_t want = (size_t)MIN((uint64_t)HASH_CHUNK, image_size - off);
		ssize_t got = pread(src.fd, buf, want, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			int e = got < 0 ? errno : 0;
			img_source_close(&src);
			return img_fail_code(error, SEPIA_IMAGES_ERROR_IO, path,
					     "read at offset %" G_GUINT64_FORMAT " failed: %s", (guint64)off,
					     e ? g_strerror(e) : "unexpected end of file");
		}
		EVP_DigestUpdate(ctx, buf, (size_t)got);
		off += (uint64_t)got;
	}
	img_source_close(&src);
	unsigned len = 0;
	if (!EVP_DigestFinal_ex(ctx, out, &len))
		return img_fail(error, path, "cannot finish the %s hash", hash_algorithm);
	*out_len = len;
	return true;
}

SepiaAvbResult sepia_avb_verify_hash_descriptor(const SepiaAvbDescriptor *desc, const char *image_path,
						GError **error)
{
	if (desc->tag != SEPIA_AVB_DESCRIPTOR_HASH) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, image_path,
			      "descriptor (tag %" G_GUINT64_FORMAT ") is not a hash descriptor",
			      (guint64)desc->tag);
		return SEPIA_AVB_ERROR;
	}
	gsize want = g_bytes_get_size(desc->digest);
	if (want == 0) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_UNSUPPORTED, image_path,
			      "partition \"%s\": "
			      "persistent digests (empty digest) are not supported",
			      desc->partition_name);
		return SEPIA_AVB_ERROR;
	}
	ImgSource probe;
	if (!img_source_open(&probe, image_path, error))
		return SEPIA_AVB_ERROR;
	uint64_t size = probe.size;
	img_source_close(&probe);
	if (size < desc->image_size) {
		img_fail(error, image_path,
			 "partition \"%s\": hash mismatch: image is %" G_GUINT64_FORMAT
			 " bytes, its descriptor covers %" G_GUINT64_FORMAT,
			 desc->partition_name, (guint64)size, (guint64)desc->image_size);
		return SEPIA_AVB_HASH_MISMATCH;
	}
	guint8 got[EVP_MAX_MD_SIZE];
	gsize got_len = 0;
	if (!sepia_avb_hash_image(image_path, desc->hash_algorithm, desc->salt, desc->image_size, got,
				  &got_len, error))
		return SEPIA_AVB_ERROR;
	if (got_len != want || memcmp(got, g_bytes_get_data(desc->digest, NULL), want) != 0) {
		img_fail(error, image_path,
			 "partition \"%s\": hash mismatch: %s over salt and %" G_GUINT64_FORMAT
			 " bytes differs from the descriptor's digest",
			 desc->partition_name, desc->hash_algorithm, (guint64)desc->image_size);
		return SEPIA_AVB_HASH_MISMATCH;
	}
	return SEPIA_AVB_OK;
}

void sepia_avb_vbmeta_digest(const SepiaVbmeta *const *vbmetas, gsize n, guint8 out[32])
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	for (gsize i = 0; i < n; i++) {
		gsize len;
		const guint8 *d = g_bytes_get_data(vbmetas[i]->image, &len);
		g_checksum_update(sum, d, (gssize)len);
	}
	gsize out_len = 32;
	g_checksum_get_digest(sum, out, &out_len);
}

char *sepia_avb_vbmeta_digest_hex(const SepiaVbmeta *const *vbmetas, gsize n)
{
	guint8 d[32];
	sepia_avb_vbmeta_digest(vbmetas, n, d);
	char *hex = g_malloc(65);
	for (int i = 0; i < 32; i++)
		g_snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return hex;
}

/* ---- libcrypto glue (images/avb_crypto.h) ---- */

GBytes *avb_public_key_encode(EVP_PKEY *pkey, const char *name, GError **error)
{
	if (EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_UNSUPPORTED, name,
			      "not an RSA key: AVB signs "
			      "with RSA only");
		return NULL;
	}
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	g_autoptr(BIGNUM) n = NULL;
	g_autoptr(BIGNUM) e = NULL;
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
		img_fail(error, name, "cannot read the RSA modulus and exponent");
		return NULL;
	}
	return avb_public_key_encode_bn(n, e, name, error);
#else
	const RSA *rsa = EVP_PKEY_get0_RSA(pkey);
	const BIGNUM *n = NULL, *e = NULL;
	RSA_get0_key(rsa, &n, &e, NULL);
	return avb_public_key_encode_bn(n, e, name, error);
#endif
}

EVP_PKEY *avb_public_key_decode(GBytes *key)
{
	gsize len;
	const guint8 *k = g_bytes_get_data(key, &len);
	if (len < 8 || len < 8 + (gsize)get_be32(k) / 8)
		return NULL;
	g_autoptr(BIGNUM) n = BN_bin2bn(k + 8, (int)(get_be32(k) / 8), NULL);
	g_autoptr(BIGNUM) e = BN_new();
	if (!n || !e || !BN_set_word(e, AVB_RSA_EXPONENT))
		return NULL;
	EVP_PKEY *pkey = NULL;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	g_autoptr(EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
#else
	RSA *rsa = RSA_new();
	if (rsa && RSA_set0_key(rsa, n, e, NULL)) {
		n = NULL, e = NULL; /* owned by rsa now */
		pkey = EVP_PKEY_new();
		if (pkey && !EVP_PKEY_assign_RSA(pkey, rsa)) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
		if (pkey)
			rsa = NULL;
	}
	RSA_free(rsa);
#endif
	return pkey;
}

EVP_PKEY *avb_read_pem_rsa_public_key(BIO *bio)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	/* PEM_read_bio_RSAPublicKey is deprecated in 3.0; the decoder reads the same PEM type. */
	EVP_PKEY *pkey = NULL;
	OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", "type-specific", "RSA",
							       EVP_PKEY_PUBLIC_KEY, NULL, NULL);
	if (dctx && OSSL_DECODER_from_bio(dctx, bio) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	OSSL_DECODER_CTX_free(dctx);
	return pkey;
#else
	RSA *rsa = PEM_read_bio_RSAPublicKey(bio, NULL, NULL, NULL);
	EVP_PKEY *pkey = rsa ? EVP_PKEY_new() : NULL;
	if (pkey && EVP_PKEY_assign_RSA(pkey, rsa))
		return pkey;
	EVP_PKEY_free(pkey);
	RSA_free(rsa);
	return NULL;
#endif
}

/* An EVP_PKEY_CTX set up for PKCS#1 v1.5 with the DigestInfo of the hash's algorithm. */
static EVP_PKEY_CTX *pkcs1_ctx(EVP_PKEY *pkey, gsize hash_len, bool sign)
{
	const EVP_MD *md = avb_md_for_hash_len(hash_len);
	EVP_PKEY_CTX *ctx = md ? EVP_PKEY_CTX_new(pkey, NULL) : NULL;
	if (!ctx)
		return NULL;
	if ((sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int avb_rsa_verify(EVP_PKEY *pkey, gsize hash_len, const guint8 *hash, const guint8 *sig, gsize sig_len)
{
	g_autoptr(EVP_PKEY_CTX) ctx = pkcs1_ctx(pkey, hash_len, false);
	if (!ctx || sig_len != (gsize)EVP_PKEY_get_size(pkey))
		return 0;
	int r = EVP_PKEY_verify(ctx, sig, sig_len, hash, hash_len);
	ERR_clear_error(); /* a bad signature leaves an error queued; it is our verdict, not a fault */
	return r;
}

bool avb_rsa_sign(EVP_PKEY *pkey, gsize hash_len, const guint8 *hash, guint8 *sig, gsize *sig_len)
{
	g_autoptr(EVP_PKEY_CTX) ctx = pkcs1_ctx(pkey, hash_len, true);
	size_t len = *sig_len;
	if (!ctx || EVP_PKEY_sign(ctx, sig, &len, hash, hash_len) != 1)
		return false;
	*sig_len = len;
	return true;
}
