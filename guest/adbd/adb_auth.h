/* sepia adbd: adb's public-key authentication (AUTH TOKEN / SIGNATURE /
 * RSAPUBLICKEY): the adbkey.pub format and RSA PKCS#1 v1.5 verification with
 * a small bignum of our own, so the static guest binary needs no libcrypto. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Up to 4096-bit moduli. */
#define ADB_RSA_MAX_WORDS 128

/* The key as adb stores it (little-endian 32-bit words, least significant first). */
struct adb_rsa_key {
	uint32_t words;
	uint32_t n0inv;
	uint32_t n[ADB_RSA_MAX_WORDS];
	uint32_t rr[ADB_RSA_MAX_WORDS];
	uint32_t exponent;
};

/* Standard base64 (with padding, whitespace not allowed); returns the decoded
 * length or -EINVAL. */
long adb_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t out_size);

/* The binary key struct (as inside adbkey.pub's base64); returns 0 or -EINVAL. */
int adb_rsa_key_from_blob(const uint8_t *blob, size_t len, struct adb_rsa_key *key);

/* One adbkey.pub line (or an AUTH RSAPUBLICKEY payload): "<base64> user@host". */
int adb_rsa_key_from_text(const char *text, size_t len, struct adb_rsa_key *key);

/* true when sig (big-endian, key size bytes) is key's PKCS#1 v1.5 signature
 * of the 20-byte token with a SHA-1 DigestInfo, as adb clients sign it. */
bool adb_rsa_verify(const struct adb_rsa_key *key, const uint8_t *token, size_t token_len, const uint8_t *sig,
		    size_t sig_len);

bool adb_rsa_key_equal(const struct adb_rsa_key *a, const struct adb_rsa_key *b);

/* The keys of an adb_keys file (one adbkey.pub per line); returns the count or -errno. */
int adb_keys_load(const char *path, struct adb_rsa_key **keys);
