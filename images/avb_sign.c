/* images/avb_sign.c — builds and signs vbmeta images (what `avbtool make_vbmeta_image` does for
 * hash and kernel-cmdline descriptors). Layout as avbtool writes it: header; authentication
 * block = hash, then signature, padded to 64; auxiliary block = descriptors, then public key,
 * then (empty) key metadata, padded to 64. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <string.h>

#include "images/avb_crypto.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

enum { HASH_DESC_FIXED = 132, CMDLINE_DESC_FIXED = 24, DESC_HEADER = 16 };

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_PKEY, EVP_PKEY_free)

/* Appends a descriptor: 16-byte header, fixed (fixed_len bytes after the header), then the
 * variable parts, zero-padded so num_bytes_following is a multiple of 8. */
static void append_descriptor(GByteArray *out, uint64_t tag, const guint8 *fixed, gsize fixed_len,
			      const GByteArray *var)
{
	gsize body = fixed_len + var->len, padded = (body + 7) & ~(gsize)7;
	guint8 h[DESC_HEADER];
	put_be64(h, tag);
	put_be64(h + 8, padded);
	g_byte_array_append(out, h, sizeof h);
	g_byte_array_append(out, fixed, (guint)fixed_len);
	g_byte_array_append(out, var->data, var->len);
	static const guint8 zeros[8];
	g_byte_array_append(out, zeros, (guint)(padded - body));
}

static bool append_hash_descriptor(GByteArray *out, const SepiaAvbHashPartition *p,
				   const char *hash_algorithm, GError **error)
{
	gsize name_len = p->partition_name ? strlen(p->partition_name) : 0;
	if (name_len == 0 || !p->image_path)
		return img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, "vbmeta",
				     "a hash partition "
				     "needs a name and an image path");
	gsize digest_len = strcmp(hash_algorithm, "sha512") == 0 ? 64 : 32;
	g_autoptr(GBytes) salt = p->salt ? g_bytes_ref(p->salt) : NULL;
	if (!salt) {
		guint8 random_salt[64];
		if (RAND_bytes(random_salt, (int)digest_len) != 1)
			return img_fail(error, p->image_path, "cannot get random bytes for a salt");
		salt = g_bytes_new(random_salt, digest_len);
	}
	ImgSource src;
	if (!img_source_open(&src, p->image_path, error))
		return false;
	uint64_t image_size = src.size;
	img_source_close(&src);
	guint8 digest[64];
	gsize got = 0;
	if (!sepia_avb_hash_image(p->image_path, hash_algorithm, salt, image_size, digest, &got, error))
		return false;

	guint8 f[HASH_DESC_FIXED - DESC_HEADER] = { 0 };
	put_be64(f, image_size);
	memcpy(f + 8, hash_algorithm, strlen(hash_algorithm)); /* NUL-padded, 32 bytes */
	put_be32(f + 40, (uint32_t)name_len);
	put_be32(f + 44, (uint32_t)g_bytes_get_size(salt));
	put_be32(f + 48, (uint32_t)got);
	put_be32(f + 52, 0); /* flags */
	g_autoptr(GByteArray) var = g_byte_array_new();
	g_byte_array_append(var, (const guint8 *)p->partition_name, (guint)name_len);
	g_byte_array_append(var, g_bytes_get_data(salt, NULL), (guint)g_bytes_get_size(salt));
	g_byte_array_append(var, digest, (guint)got);
	append_descriptor(out, SEPIA_AVB_DESCRIPTOR_HASH, f, sizeof f, var);
	return true;
}

static void append_cmdline_descriptor(GByteArray *out, const char *cmdline)
{
	guint8 f[CMDLINE_DESC_FIXED - DESC_HEADER];
	put_be32(f, 0); /* flags: use whatever the hashtree state */
	put_be32(f + 4, (uint32_t)strlen(cmdline));
	g_autoptr(GByteArray) var = g_byte_array_new();
	g_byte_array_append(var, (const guint8 *)cmdline, (guint)strlen(cmdline));
	append_descriptor(out, SEPIA_AVB_DESCRIPTOR_KERNEL_CMDLINE, f, sizeof f, var);
}

static EVP_PKEY *load_private_key(const char *path, GError **error)
{
	g_autofree char *pem = NULL;
	gsize len;
	if (!img_read_file(path, &pem, &len, error))
		return NULL;
	BIO *bio = BIO_new_mem_buf(pem, (int)MIN(len, (gsize)G_MAXINT));
	EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : NULL;
	BIO_free(bio);
	ERR_clear_error();
	if (!pkey)
		img_fail(error, path, "no PEM private key (unencrypted PKCS#8 or PKCS#1 RSA)");
	return pkey;
}

static uint64_t round64(uint64_t v) { return (v + 63) & ~(uint64_t)63; }

GBytes *sepia_avb_make_vbmeta(const SepiaAvbSignOptions *opts, GError **error)
{
	uint32_t hash_len, key_bits;
	if (!sepia_avb_algorithm_params(opts->algorithm, &hash_len, &key_bits)) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, "vbmeta", "unknown algorithm %u",
			      opts->algorithm);
		return NULL;
	}
	const char *hash_algorithm = opts->hash_algorithm ? opts->hash_algorithm : "sha256";
	if (strcmp(hash_algorithm, "sha256") != 0 && strcmp(hash_algorithm, "sha512") != 0) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, "vbmeta",
			      "hash descriptor algorithm "
			      "\"%s\": sha256 or sha512",
			      hash_algorithm);
		return NULL;
	}
	g_autofree char *release = g_strdup(opts->release_string ? opts->release_string
								 : "sepia " PACKAGE_VERSION);
	if (strlen(release) >= SEPIA_AVB_RELEASE_STRING_SIZE) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, "vbmeta",
			      "release string \"%s\" is "
			      "longer than %d bytes",
			      release, SEPIA_AVB_RELEASE_STRING_SIZE - 1);
		return NULL;
	}

	/* The key first: a wrong key should fail before any partition is hashed. */
	g_autoptr(EVP_PKEY) pkey = NULL;
	g_autoptr(GBytes) public_key = NULL;
	if (opts->algorithm != SEPIA_AVB_ALGORITHM_NONE) {
		if (!opts->key_path) {
			img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, "vbmeta", "algorithm %s needs a key",
				      sepia_avb_algorithm_name(opts->algorithm));
			return NULL;
		}
		if (!(pkey = load_private_key(opts->key_path, error)) ||
		    !(public_key = avb_public_key_encode(pkey, opts->key_path, error)))
			return NULL;
		uint32_t bits = get_be32(g_bytes_get_data(public_key, NULL));
		if (bits != key_bits) {
			img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, opts->key_path,
				      "a %u-bit key cannot "
				      "sign %s (%u bits)",
				      bits, sepia_avb_algorithm_name(opts->algorithm), key_bits);
			return NULL;
		}
	}

	g_autoptr(GByteArray) descs = g_byte_array_new();
	for (gsize i = 0; i < opts->n_partitions; i++)
		if (!append_hash_descriptor(descs, &opts->partitions[i], hash_algorithm, error))
			return NULL;
	for (gsize i = 0; opts->kernel_cmdlines && opts->kernel_cmdlines[i]; i++)
		append_cmdline_descriptor(descs, opts->kernel_cmdlines[i]);

	gsize pk_len = public_key ? g_bytes_get_size(public_key) : 0;
	uint64_t sig_len = key_bits / 8;
	uint64_t auth = round64(hash_len + sig_len), aux = round64(descs->len + pk_len);
	uint64_t total = SEPIA_AVB_HEADER_SIZE + auth + aux;
	if (total > SEPIA_AVB_MAX_VBMETA_SIZE) {
		img_fail_code(error, SEPIA_IMAGES_ERROR_INVALID, "vbmeta",
			      "%" G_GUINT64_FORMAT " bytes "
			      "of vbmeta exceed the %d-byte limit",
			      (guint64)total, SEPIA_AVB_MAX_VBMETA_SIZE);
		return NULL;
	}
	guint8 *img = g_malloc0((gsize)total);
	guint8 *h = img, *ab = img + SEPIA_AVB_HEADER_SIZE, *xb = ab + auth;
	memcpy(h, SEPIA_AVB_MAGIC, 4);
	put_be32(h + 4, SEPIA_AVB_VERSION_MAJOR);
	/* avbtool asks for libavb 1.2 when a rollback index location is used, else 1.0. */
	put_be32(h + 8, opts->rollback_index_location ? 2 : 0);
	put_be64(h + 12, auth);
	put_be64(h + 20, aux);
	put_be32(h + 28, opts->algorithm);
	put_be64(h + 32, 0);        /* hash offset */
	put_be64(h + 40, hash_len); /* hash size */
	put_be64(h + 48, hash_len); /* signature offset */
	put_be64(h + 56, sig_len);
	put_be64(h + 64, descs->len); /* public key offset */
	put_be64(h + 72, pk_len);
	put_be64(h + 80, descs->len + pk_len); /* public key metadata offset */
	put_be64(h + 88, 0);
	put_be64(h + 96, 0); /* descriptors offset */
	put_be64(h + 104, descs->len);
	put_be64(h + 112, opts->rollback_index);
	put_be32(h + 120, opts->flags);
	put_be32(h + 124, opts->rollback_index_location);
	memcpy(h + 128, release, strlen(release));
	memcpy(xb, descs->data, descs->len);
	if (public_key)
		memcpy(xb + descs->len, g_bytes_get_data(public_key, NULL), pk_len);

	if (pkey) {
		/* The hash covers the header and the auxiliary block; the signature signs the hash. */
		g_autoptr(GChecksum)
			sum = g_checksum_new(hash_len == 64 ? G_CHECKSUM_SHA512 : G_CHECKSUM_SHA256);
		g_checksum_update(sum, h, SEPIA_AVB_HEADER_SIZE);
		g_checksum_update(sum, xb, (gssize)aux);
		gsize got = hash_len;
		g_checksum_get_digest(sum, ab, &got);
		gsize sig_got = (gsize)sig_len;
		if (got != hash_len || !avb_rsa_sign(pkey, hash_len, ab, ab + hash_len, &sig_got) ||
		    sig_got != sig_len) {
			g_free(img);
			img_fail(error, opts->key_path, "RSA signing failed");
			return NULL;
		}
	}
	return g_bytes_new_take(img, (gsize)total);
}

bool sepia_avb_write_vbmeta(const char *path, const SepiaAvbSignOptions *opts, GError **error)
{
	g_autoptr(GBytes) img = sepia_avb_make_vbmeta(opts, error);
	return img_write_bytes(path, img, error);
}
