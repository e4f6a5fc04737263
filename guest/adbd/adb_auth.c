/* sepia adbd: adb public-key authentication. */
#include "adb_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/byteorder.h"

static int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long adb_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t out_size)
{
	size_t o = 0;

	if (in_len % 4 != 0)
		return -EINVAL;
	for (size_t i = 0; i < in_len; i += 4) {
		int v[4];
		int pad = 0;

		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (c == '=' && i + 4 == in_len && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad > 0 || (v[k] = base64_value(c)) < 0) {
				return -EINVAL;
			}
		}
		uint32_t bits = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
				(uint32_t)v[3];
		size_t n = 3 - (size_t)pad;

		if (o + n > out_size)
			return -EINVAL;
		out[o++] = (uint8_t)(bits >> 16);
		if (n > 1)
			out[o++] = (uint8_t)(bits >> 8);
		if (n > 2)
			out[o++] = (uint8_t)bits;
	}
	return (long)o;
}

int adb_rsa_key_from_blob(const uint8_t *blob, size_t len, struct adb_rsa_key *key)
{
	uint32_t words;

	if (len < 4)
		return -EINVAL;
	words = get_le32(blob);
	if (words == 0 || words > ADB_RSA_MAX_WORDS || len != 4 + 4 + 8 * (size_t)words + 4)
		return -EINVAL;
	memset(key, 0, sizeof(*key));
	key->words = words;
	key->n0inv = get_le32(blob + 4);
	for (uint32_t i = 0; i < words; i++) {
		key->n[i] = get_le32(blob + 8 + 4 * i);
		key->rr[i] = get_le32(blob + 8 + 4 * words + 4 * i);
	}
	key->exponent = get_le32(blob + 8 + 8 * words);
	/* An even modulus has no Montgomery form; exponent 0/1 proves nothing. */
	if ((key->n[0] & 1) == 0 || key->exponent < 3 || key->n[words - 1] == 0)
		return -EINVAL;
	return 0;
}

int adb_rsa_key_from_text(const char *text, size_t len, struct adb_rsa_key *key)
{
	uint8_t blob[4 + 4 + 8 * ADB_RSA_MAX_WORDS + 4];
	size_t b64_len = 0;
	long n;

	while (b64_len < len && text[b64_len] != ' ' && text[b64_len] != '\t' && text[b64_len] != '\n' &&
	       text[b64_len] != '\r' && text[b64_len] != '\0')
		b64_len++;
	n = adb_base64_decode(text, b64_len, blob, sizeof(blob));
	if (n < 0)
		return -EINVAL;
	return adb_rsa_key_from_blob(blob, (size_t)n, key);
}

bool adb_rsa_key_equal(const struct adb_rsa_key *a, const struct adb_rsa_key *b)
{
	return a->words == b->words && a->exponent == b->exponent &&
	       memcmp(a->n, b->n, a->words * sizeof(uint32_t)) == 0;
}

/* -1/n[0] mod 2^32 by Newton's iteration (each step doubles the correct bits). */
static uint32_t mont_n0inv(uint32_t n0)
{
	uint32_t x = n0; /* correct to 3 bits for odd n0 */

	for (int i = 0; i < 5; i++)
		x *= 2 - n0 * x;
	return (uint32_t)0 - x;
}

/* out = a * b / R mod n (Montgomery product, R = 2^(32*words)); out may alias a or b. */
static void mont_mul(const struct adb_rsa_key *key, uint32_t n0inv, uint32_t *out, const uint32_t *a,
		     const uint32_t *b)
{
	uint32_t t[ADB_RSA_MAX_WORDS + 2] = { 0 };
	uint32_t w = key->words;

	for (uint32_t i = 0; i < w; i++) {
		uint64_t c = 0;

		for (uint32_t j = 0; j < w; j++) {
			c += (uint64_t)t[j] + (uint64_t)a[j] * b[i];
			t[j] = (uint32_t)c;
			c >>= 32;
		}
		c += t[w];
		t[w] = (uint32_t)c;
		t[w + 1] = (uint32_t)(c >> 32);

		uint32_t m = t[0] * n0inv;
		c = (uint64_t)t[0] + (uint64_t)m * key->n[0];
		c >>= 32;
		for (uint32_t j = 1; j < w; j++) {
			c += (uint64_t)t[j] + (uint64_t)m * key->n[j];
			t[j - 1] = (uint32_t)c;
			c >>= 32;
		}
		c += t[w];
		t[w - 1] = (uint32_t)c;
		t[w] = t[w + 1] + (uint32_t)(c >> 32);
	}

	/* t < 2n: subtract n once when t >= n. */
	bool ge = t[w] != 0;
	if (!ge) {
		ge = true;
		for (uint32_t j = w; j-- > 0;) {
			if (t[j] != key->n[j]) {
				ge = t[j] > key->n[j];
				break;
			}
		}
	}
	if (ge) {
		int64_t borrow = 0;
		for (uint32_t j = 0; j < w; j++) {
			int64_t d = (int64_t)t[j] - key->n[j] + borrow;
			t[j] = (uint32_t)d;
			borrow = d < 0 ? -1 : 0;
		}
	}
	memcpy(out, t, w * sizeof(uint32_t));
}

/* The DER prefix of a SHA-1 DigestInfo (PKCS#1 v1.5, RFC 8017 section 9.2). */
static const uint8_t sha1_digest_info[] = {
	0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
};

bool adb_rsa_verify(const struct adb_rsa_key *key, const uint8_t *token, size_t token_len, const uint8_t *sig,
		    size_t sig_len)
{
	uint32_t w = key->words;
	size_t bytes = (size_t)w * 4;
	uint32_t s[ADB_RSA_MAX_WORDS], sr[ADB_RSA_MAX_WORDS], x[ADB_RSA_MAX_WORDS];
	uint32_t one[ADB_RSA_MAX_WORDS] = { 1 };
	uint8_t em[ADB_RSA_MAX_WORDS * 4];
	uint32_t n0inv = mont_n0inv(key->n[0]);
	int top;

	if (sig_len != bytes || token_len != 20)
		return false;
	for (uint32_t i = 0; i < w; i++) {
		const uint8_t *p = sig + bytes - 4 * (i + 1);
		s[i] = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
	}
	/* The signature must be below the modulus. */
	for (uint32_t j = w; j-- > 0;) {
		if (s[j] != key->n[j]) {
			if (s[j] > key->n[j])
				return false;
			break;
		}
		if (j == 0)
			return false;
	}

	mont_mul(key, n0inv, sr, s, key->rr); /* s * R mod n */
	memcpy(x, sr, bytes);
	for (top = 31; top >= 0 && !(key->exponent & (1u << top)); top--)
		;
	for (int bit = top - 1; bit >= 0; bit--) {
		mont_mul(key, n0inv, x, x, x);
		if (key->exponent & (1u << bit))
			mont_mul(key, n0inv, x, x, sr);
	}
	mont_mul(key, n0inv, x, x, one); /* out of Montgomery form */

	for (uint32_t i = 0; i < w; i++) {
		uint8_t *p = em + bytes - 4 * (i + 1);
		p[0] = (uint8_t)(x[i] >> 24);
		p[1] = (uint8_t)(x[i] >> 16);
		p[2] = (uint8_t)(x[i] >> 8);
		p[3] = (uint8_t)x[i];
	}

	/* 00 01 FF..FF 00 DigestInfo token */
	size_t tail = sizeof(sha1_digest_info) + token_len;
	if (bytes < tail + 11 || em[0] != 0x00 || em[1] != 0x01)
		return false;
	size_t pad_end = bytes - tail - 1;
	for (size_t i = 2; i < pad_end; i++)
		if (em[i] != 0xff)
			return false;
	if (em[pad_end] != 0x00)
		return false;
	if (memcmp(em + pad_end + 1, sha1_digest_info, sizeof(sha1_digest_info)) != 0)
		return false;
	return memcmp(em + bytes - token_len, token, token_len) == 0;
}

int adb_keys_load(const char *path, struct adb_rsa_key **keys)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int count = 0;
	struct adb_rsa_key *list = NULL;

	if (f == NULL)
		return -errno;
	while ((n = getline(&line, &cap, f)) >= 0) {
		struct adb_rsa_key key;

		if (n == 0 || line[0] == '#' || line[0] == '\n')
			continue;
		if (adb_rsa_key_from_text(line, (size_t)n, &key) < 0) {
			fprintf(stderr, "adbd: %s: skipping a line that is not an adb public key\n", path);
			continue;
		}
		struct adb_rsa_key *grown = realloc(list, (size_t)(count + 1) * sizeof(*list));
		if (grown == NULL) {
			free(list);
			free(line);
			fclose(f);
			return -ENOMEM;
		}
		list = grown;
		list[count++] = key;
	}
	free(line);
	fclose(f);
	*keys = list;
	return count;
}
