/* images/avb.h — Android Verified Boot 2.0: verifying and signing vbmeta images.
 *
 * Facts this module relies on (AOSP external/avb, libavb and avbtool):
 * - The authentication block holds a hash of the 256-byte header followed by the whole
 *   auxiliary block (the authentication block itself is not hashed), and an RSA signature of
 *   that hash: PKCS#1 v1.5 (00 01 FF..FF 00, DigestInfo for SHA-256 or SHA-512, hash), the
 *   exponent always 65537.
 * - The auxiliary block holds descriptors, then the public key, then key metadata, padded to 64.
 * - A public key in AVB's encoding ("AvbRSAPublicKeyHeader"), big-endian: u32 key_num_bits,
 *   u32 n0inv (-1/n mod 2^32, for libavb's Montgomery multiplication), the modulus n and
 *   rr = 2^(2*key_num_bits) mod n, each key_num_bits/8 bytes.
 * - A hash descriptor's digest is HASH(salt || the first image_size bytes of the partition).
 * - androidboot.vbmeta.digest is SHA-256 over the vbmeta images (header + both blocks, no
 *   partition padding) in the order libavb loaded them: the top-level vbmeta first, then each
 *   chained partition's.
 *
 * Verdicts map onto Android's boot states later: OK -> green (trusted key) or yellow (a key
 * the user installed), KEY_NOT_TRUSTED -> yellow/red by policy, UNSIGNED -> orange (unlocked),
 * HASH_MISMATCH / SIGNATURE_INVALID -> red. */
#pragma once

#include "images/vbmeta.h"

typedef enum {
	SEPIA_AVB_OK = 0,
	SEPIA_AVB_UNSIGNED,          /* algorithm NONE: nothing to verify */
	SEPIA_AVB_HASH_MISMATCH,     /* vbmeta hash, or a partition's digest, does not match */
	SEPIA_AVB_SIGNATURE_INVALID, /* the signature does not verify with the embedded key */
	SEPIA_AVB_KEY_NOT_TRUSTED,   /* valid signature, but by a key other than the trusted one */
	SEPIA_AVB_ERROR,             /* could not check at all (I/O, malformed key, unsupported) */
} SepiaAvbResult;

const char *sepia_avb_result_name(SepiaAvbResult result); /* "OK", "HASH_MISMATCH", ... */

/* Hash length in bytes and key size in bits of an AVB algorithm; false if unknown. NONE is
 * known, with both 0. */
bool sepia_avb_algorithm_params(uint32_t algorithm_type, uint32_t *hash_len, uint32_t *key_bits);

/* ---- public keys (AVB encoding, as GBytes) ---- */

/* Checks that key is a well-formed AVB public key: its length matches key_num_bits (2048, 4096
 * or 8192), n is odd and as long as it says, and n0inv and rr are what libavb expects. */
bool sepia_avb_public_key_check(GBytes *key, const char *name, GError **error);
/* Encodes the public half of a PEM key (PUBLIC KEY, RSA PUBLIC KEY or a private key). */
GBytes *sepia_avb_public_key_from_pem(const void *pem, gsize len, const char *name, GError **error);
/* Loads a trusted key from a file: AVB's encoding (`avbtool extract_public_key` output, the
 * `--avb_key` file) or PEM. Returns the AVB encoding. */
GBytes *sepia_avb_load_public_key(const char *path, GError **error);
/* Same key? Compares key size and modulus (n0inv and rr follow from them). */
bool sepia_avb_public_key_equal(GBytes *a, GBytes *b);

/* ---- verification ---- */

/* Verifies a parsed vbmeta image: its hash, then its signature, then (when trusted_key is not
 * NULL) that the embedded key is the trusted one. On any result but OK and UNSIGNED, *error
 * says, in one line starting with `name`, what did not match. *signer_key (optional) receives
 * a reference to the embedded public key when the signature is valid (OK or KEY_NOT_TRUSTED),
 * so a caller can show or compare it; NULL otherwise. */
SepiaAvbResult sepia_avb_verify_vbmeta(const SepiaVbmeta *vb, const char *name, GBytes *trusted_key,
				       GBytes **signer_key, GError **error);

/* Hashes salt || the first image_size bytes of the file at path with hash_algorithm ("sha256"
 * or "sha512"), streaming. out must hold 64 bytes; *out_len gets 32 or 64. A file shorter than
 * image_size is an error. */
bool sepia_avb_hash_image(const char *path, const char *hash_algorithm, GBytes *salt, uint64_t image_size,
			  guint8 *out, gsize *out_len, GError **error);
/* Checks a partition image against a hash descriptor: OK or HASH_MISMATCH (also for an image
 * shorter than the descriptor's image_size), ERROR (with *error) when it cannot be checked. */
SepiaAvbResult sepia_avb_verify_hash_descriptor(const SepiaAvbDescriptor *desc, const char *image_path,
						GError **error);

/* androidboot.vbmeta.digest: SHA-256 over vbmetas[0..n) (the top-level one first, then chained
 * ones in load order). */
void sepia_avb_vbmeta_digest(const SepiaVbmeta *const *vbmetas, gsize n, guint8 out[32]);
char *sepia_avb_vbmeta_digest_hex(const SepiaVbmeta *const *vbmetas, gsize n); /* 64 hex chars */

/* ---- signing (images/avb_sign.c) ---- */

typedef struct {
	const char *partition_name; /* "boot" */
	const char *image_path;     /* hashed whole: image_size = file size */
	GBytes *salt;               /* NULL: random salt of the digest's length, as avbtool does */
} SepiaAvbHashPartition;

typedef struct {
	uint32_t algorithm;         /* SepiaAvbAlgorithm; NONE writes an unsigned image */
	const char *key_path;       /* PEM RSA private key, size matching the algorithm; unused for NONE */
	const char *hash_algorithm; /* for hash descriptors: "sha256" (NULL) or "sha512" */
	uint64_t rollback_index;
	uint32_t rollback_index_location;
	uint32_t flags;             /* header flags (1 = hashtree disabled, 2 = verification off) */
	const char *release_string; /* NULL: "sepia <version>"; at most 47 bytes */
	const SepiaAvbHashPartition *partitions;
	gsize n_partitions;
	const char *const *kernel_cmdlines; /* NULL-terminated, may be NULL */
} SepiaAvbSignOptions;

/* Builds a vbmeta image (header + authentication + auxiliary block, no partition padding). */
GBytes *sepia_avb_make_vbmeta(const SepiaAvbSignOptions *opts, GError **error);
/* Builds it and writes it to path atomically (temporary file, then rename). */
bool sepia_avb_write_vbmeta(const char *path, const SepiaAvbSignOptions *opts, GError **error);
