/* images/avb_crypto.h — libcrypto glue shared by images/avb.c and images/avb_sign.c (internal:
 * callers outside images/avb*.c use images/avb.h, which names no OpenSSL type). Works with
 * OpenSSL 3 (EVP_PKEY_fromdata / parameter getters) and 1.1 (RSA_set0_key). */
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#include "images/avb.h"

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#define EVP_PKEY_get_size EVP_PKEY_size
#endif

/* EVP_sha256() for 32, EVP_sha512() for 64, else NULL. */
const EVP_MD *avb_md_for_hash_len(gsize hash_len);
/* The AVB encoding of an RSA key's public half (n, e = 65537). */
GBytes *avb_public_key_encode_bn(const BIGNUM *n, const BIGNUM *e, const char *name, GError **error);
GBytes *avb_public_key_encode(EVP_PKEY *pkey, const char *name, GError **error);
/* An RSA public key (n from the AVB encoding, e = 65537); key checked by the caller. */
EVP_PKEY *avb_public_key_decode(GBytes *key);
/* "-----BEGIN RSA PUBLIC KEY-----" (PKCS#1), which PEM_read_bio_PUBKEY does not read. */
EVP_PKEY *avb_read_pem_rsa_public_key(BIO *bio);
/* PKCS#1 v1.5 with the DigestInfo of SHA-256 (hash_len 32) or SHA-512 (64) over a ready hash:
 * the block libavb checks. verify returns 1 when valid. sign fills sig (EVP_PKEY_get_size bytes). */
int avb_rsa_verify(EVP_PKEY *pkey, gsize hash_len, const guint8 *hash, const guint8 *sig, gsize sig_len);
bool avb_rsa_sign(EVP_PKEY *pkey, gsize hash_len, const guint8 *hash, guint8 *sig, gsize *sig_len);
