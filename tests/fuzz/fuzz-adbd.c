/* libFuzzer target for what the adb client controls in the guest's adbd: the message framing
 * and shell v2 packets (guest/adbd/adb_message.c), service names, and public-key
 * authentication (guest/adbd/adb_auth.c: base64, adbkey.pub parsing, the RSA signature check
 * with adbd's own bignum). The sync service (sync_service.c) is not fuzzed: every request acts
 * on the real filesystem at a path the client names (SEND creates files and parent
 * directories, RECV and LIST read them), so it cannot run on hostile input in this process.
 *
 * Input: byte 0 picks the parser, the rest is its input:
 *   0 a byte stream of adb messages, framed as adbd's connection loop does (header, then
 *     data_length bytes, checksum by the peer's version);
 *   1 a stream of shell v2 packets; 2 a window size string; 3 a service name (OPEN payload),
 *     with the port of "tcp:" (adb forward) and the request of "reverse:" parsed further;
 *   4 base64 (byte 1: the output buffer's size / 8, 0 = large); 5 an adbkey.pub line, also
 *     parsed as an adb_keys file and used to check a signature (the bytes after a NUL);
 *   6 byte 1 picks a key, then a 20-byte token and a signature (with bit 7 of byte 1: the
 *     modulus plus the signed byte that follows): adbd's verdict must be OpenSSL's (RSA
 *     PKCS#1 v1.5 over SHA-1 DigestInfo, as adb clients sign);
 *   7 byte 1 picks a key, then a 20-byte token and (position le16, xor byte) edits applied to
 *     the correctly padded message, which is then signed raw with the private key: adbd
 *     must accept exactly the unedited encoding.
 * The keys are fixed: 512 and 2048 bits with e = 65537, 1024 bits with e = 3.
 *
 * Oracle beyond ASan/UBSan: decoded headers encode back to the same bytes; a packet's length
 * and data lie inside the buffer; service requests point into the name; base64 decodes to what
 * GLib decodes and fits the buffer; a parsed key is odd, sized and has e >= 3; the signature
 * checks above. */
#include "tests/fuzz/fuzz-common.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "guest/adbd/adb_auth.h"
#include "guest/adbd/adb_message.h"

#define MAX_INBOUND (1024u * 1024u) /* adbd's ADBD_MAX_INBOUND */
#define NKEYS       3

static EVP_PKEY *pkeys[NKEYS];
static struct adb_rsa_key keys[NKEYS];
static int keys_fd = -1, null_fd = -1, stderr_fd = -1;
static char *keys_path;

/* ---- keys: OpenSSL's, and the same key in adb's public key struct */

/* Fixed keys (made with `openssl genpkey` for this target; they protect nothing), so that a
 * crash input reproduces. */
static const char *const key_pem[NKEYS] = {
	/* 512 bits, e = 65537 */
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEAyCnGTwhGkX2Y3ev1\n"
	"IdisFR4ywmWm3GqeRzmFLDS9ysjLfG6jWEOTcqF/jhCDv5CGdW+9q7w+BJ3VSDy/\n"
	"vO1XRQIDAQABAkEAiY1Tr0ojnKXwIEmfunO4xgZroXXTtlM6k/2uS9OuvaQI47bY\n"
	"Lu5nqWXHlXS+YdW1IKaLR5RDNfeLePFmWfBgHQIhAPhh2r7E6jBM8ZPZ3EFN6kv5\n"
	"IRAsAua1g/1D+lRMVFubAiEAzk1VZUAcov/G0pEl0R7Bg03UUdiPO8vMBj/QTrFd\n"
	"dp8CIQCEh+opKnbvKM8qHfAZZFKlERxkPaeapLX1uITk4AmPCwIgKgfHZiFxtCO4\n"
	"Nh4sPjat5jptD1+3js8uefd2URIBoLECIQCUbe3XCtD4+pjWdIPZeUjgL27s+BXq\n"
	"OI611qV9DfCcQg==\n"
	"-----END PRIVATE KEY-----\n",
	/* 1024 bits, e = 3 */
	"-----BEGIN PRIVATE KEY-----\n"
	"MIICdQIBADANBgkqhkiG9w0BAQEFAASCAl8wggJbAgEAAoGBALIJskG4+m3HKZNC\n"
	"Qy+jxECphdDPILA1eRUWWHYSAw93Ri1+wScnHmrmTjQg9qaSij2t5ytXFJAogja+\n"
	"K+jZi8Xxt6yAlbBoA57Si/1Lso0xvWvKlQv377gC1L1G1XP9zALYeC0wG0vBf8qM\n"
	"4sYs6z3K7DDiu4ziWHEPlxucJqU9AgEDAoGAdrEhgSX8SS9xDNbXdRfYKxuuizTA\n"
	"dXj7Y2Q6+WFXX6TZc6nWGhoUR0Q0IsCkbwxcKR6aHOS4YBsBedQdReZdLYR3Vd+X\n"
	"6fFFEPjOKPQm8UmgiHzYWInPsRuYSbkb6Mois2JHxDB4wN6FFjxzJ8ovkx0R2JZk\n"
	"vVuHR5iE4S+iotMCQQDYanTQFJI50TLfjEPd5hAaUVGEniRtT8zbp/lR7IpVykC5\n"
	"HITtgsyBDF1FtnFCLqa/w6VvmZOI9x2d5gPvJ20zAkEA0po24R0/RErSfcp7/5IT\n"
	"KPtNirJiu+hhfchVXz8MeM21C/AB+eNd8qvL7H+ZO3U6X43GkYrdUBZoDOnF5YtD\n"
	"zwJBAJBG+Iq4YXvgzJUILT6ZYBGLi62+wvOKiJJv+4vzBuPcKyYTA0kB3atdk4PO\n"
	"9iwfGdUtGPURDQX6E76ZV/TE83cCQQCMZs9Aviothzb+hv1VDAzF/N5cdux9RZZT\n"
	"2uOU1LL7M84H9Vaml5P3HTKdqmYno3w/s9m2XJOKuZqzRoPuXNffAkB5Egg/OLLf\n"
	"ERv0penmMhb67nrH4UKe/N68nfRcNShhZBIRYFswVKCQ+6+3HS8Em4zj/pWKjVTQ\n"
	"ZpitxOSII9qU\n"
	"-----END PRIVATE KEY-----\n",
	/* 2048 bits, e = 65537 */
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDlBLVJoJRQNe2m\n"
	"rTGNqZRfFlV0+WF8Nns+Q3ADp/vQKe6wlDWJqQ/QjMvTpWJZ3VSt7bFny0YD579N\n"
	"NAnMsgL13CjVbd/yzX6jinpy39/xgVR8SA7nuh1kDbH3G83DmuhBt6LntjKMv71e\n"
	"MauYPxnvBLhq593jXWZtSz7+Zon++GKbmVXpixiLO04J+HsIWNYFXB8j7AoDiY20\n"
	"aTD0gAfz6Nn5GyPbY8o0DrRnkLVPInG2TWnNcdazqM1G8IpDngfPi9Ev9TRVov/+\n"
	"XSEuX5knnnBmhOAsd5K6bL1w7ov3FRUqP0/TU5fROyqd/8SK9ic9bR5xUtAFSWVE\n"
	"XRkTUWp1AgMBAAECggEAGlb3yL+Mv0rsidJ6lAnwdB079+ektCYJ96fG7sy3tAHW\n"
	"n310SOBmXryKxs1LKf3AOv7O/BqPc2yIfochJ2dD2uYW1jE8ZA8JZSLMoYCpH3wZ\n"
	"7O9Ws4Ue0z6V/M84U6px0vkdZdv5JWH6FCbPTwPW5jwbP8RqKze3S5Ova4/8iBPu\n"
	"e8eqi0lUBnKEayGZKuPT6N29WvRlDEzFHtviqRlk1pcv/JLXXhIn4yyt1Dwf3LCP\n"
	"2OCrUzpQlcaadGid5cYPsX6Htst4uhd7nNbHtC+LuNO4EFfNO/p2gWHnkbTRkgBu\n"
	"LJhIclKfOlSZ9+jwo/Nh5eEgjTkbXYYKhxmPaUvnwwKBgQD6+msh8BDv20F7U6LK\n"
	"kiO99s2gCykpiUrHzbz3QXnBkh96TkSEJZuhNJtmGLsBqcBdwiEN9jBl6gal2Flq\n"
	"oMDx7oLaoeAW2VuQg4hXZ4vpjzOPqhlR+nrNfNuPZnVAgwOhclwsmlD3ZWRAoUUX\n"
	"rX/w7pCh8OrRiCyrOyIjAMn7GwKBgQDpmc4pAYOOZhY4nV732nweVWHpbg1Xfv1C\n"
	"l/7+aqEiOnS750Pro3UwTkcIyZ1NUf0AUy+HB2lAjm25OFBvYuC0Jartk93w0kAk\n"
	"sr0hktH9qjMLqe57cBmWzPbRO1ni1brw49ZmXW8Nrvlk0N5ReRTyHg4KnCqACcIg\n"
	"lYfWVp15rwKBgQCpxq6kFY6PgsVIFOqhl7w/6+1rX0FoDKyefolexVcE38EVbk6h\n"
	"CgO+SCT7Kq2OUXOEuSa9GBXjSy1WEQVjwPzka9Du7uP08PIkzyVy4uPdifZ6L7nT\n"
	"H9rkmJq55bhZfIb/NqotrfIpeNgZdD6V5tMOe4MxWRSvyytUZbsQ7J61kwKBgQDA\n"
	"mlq7vo7MkulRZpeNvevGStm+0ElZ0c9Y39+TvzD5+r6SyvxaRdxypqe03B7BSI9U\n"
	"fEHckES8wHJBW+gd3qWsgr4qwlcknwXZ/DEqhFZ1UqZhwItr5SKEDpyWKNxUxaor\n"
	"wX7dyb2tx43DDN+wxyd49UTYhKgaB3Gy0fc8xw9x6wKBgQCBs5e44qLyOn0/jLyg\n"
	"qbh2etLL4PwxeOeOF4OYdphWBTwi70cEq1bkx/A8245adX0FYsFfza2BIFLJF6Lv\n"
	"HWwr1Y5hlCha160FoXdnjSNtW9fOSI+YzTiO+S6BnGQmW4YAHHdAZfaEyaXdeUnj\n"
	"ilfc76hpfl+cCMi5v5qEX27PCQ==\n"
	"-----END PRIVATE KEY-----\n",
};

static EVP_PKEY *load_key(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	if (!pkey)
		abort();
	BIO_free(bio);
	return pkey;
}

/* n, -1/n mod 2^32, R^2 mod n (R = 2^(32 words)) and e, little-endian words. */
static void adb_key_of(EVP_PKEY *pkey, struct adb_rsa_key *key)
{
	BIGNUM *n = NULL, *e = NULL, *r32 = BN_new(), *n0 = BN_new(), *r = BN_new(), *rr = BN_new();
	BN_CTX *ctx = BN_CTX_new();
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e))
		abort();
	int words = BN_num_bits(n) / 32;
	if (!BN_set_bit(r32, 32) || !BN_mod(n0, n, r32, ctx) || !BN_mod_inverse(n0, n0, r32, ctx) ||
	    !BN_sub(n0, r32, n0) || !BN_set_bit(r, words * 64) || !BN_mod(rr, r, n, ctx))
		abort();
	memset(key, 0, sizeof(*key));
	key->words = (uint32_t)words;
	key->n0inv = (uint32_t)BN_get_word(n0);
	key->exponent = (uint32_t)BN_get_word(e);
	if (BN_bn2lebinpad(n, (uint8_t *)key->n, words * 4) != words * 4 ||
	    BN_bn2lebinpad(rr, (uint8_t *)key->rr, words * 4) != words * 4)
		abort(); /* the words are little-endian on x86, as the struct keeps them */
	BN_free(n), BN_free(e), BN_free(r32), BN_free(n0), BN_free(r), BN_free(rr);
	BN_CTX_free(ctx);
}

static void init_once(void)
{
	if (pkeys[0])
		return;
	for (int i = 0; i < NKEYS; i++) {
		pkeys[i] = load_key(key_pem[i]);
		adb_key_of(pkeys[i], &keys[i]);
	}
	keys_path = g_build_filename(fuzz_private_dir("adbd"), "adb_keys", NULL);
	keys_fd = open(keys_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	stderr_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (keys_fd < 0 || null_fd < 0 || stderr_fd < 0)
		abort();
}

/* ---- 0: messages */

static void fuzz_messages(const uint8_t *in, size_t len)
{
	uint32_t peer_version = ADB_VERSION_MIN;
	size_t off = 0;
	while (len - off >= ADB_HEADER_SIZE) {
		struct adb_header h;
		int err = adb_header_decode(in + off, MAX_INBOUND, &h);
		if (err == -EBADMSG || err == -EMSGSIZE)
			return;
		if (err || h.data_length > MAX_INBOUND)
			abort();
		uint8_t again[ADB_HEADER_SIZE];
		adb_header_encode(again, h.command, h.arg0, h.arg1, NULL, h.data_length);
		if (memcmp(again, in + off, 16) || memcmp(again + 20, in + off + 20, 4))
			abort();
		if (len - off - ADB_HEADER_SIZE < h.data_length)
			return; /* adbd waits for the rest */
		const uint8_t *data = in + off + ADB_HEADER_SIZE;
		uint32_t version = h.command == A_CNXN ? h.arg0 : peer_version;
		int ok = adb_check_data(&h, version, data);
		if (ok != 0 && ok != -EBADMSG)
			abort();
		bool must = version < ADB_VERSION_SKIP_CHECKSUM;
		if ((ok == 0) != (!must || adb_checksum(data, h.data_length) == h.data_check))
			abort();
		if (ok)
			return;
		if (h.command == A_CNXN)
			peer_version = h.arg0 < ADB_VERSION ? h.arg0 : ADB_VERSION;
		off += ADB_HEADER_SIZE + h.data_length;
	}
}

/* ---- 1: shell v2 packets; 2: window size */

static void fuzz_shell_packets(const uint8_t *in, size_t len, size_t max_data)
{
	size_t off = 0;
	for (;;) {
		uint8_t id;
		const uint8_t *data = NULL;
		uint32_t dlen = 0;
		long used = shell_packet_parse(in + off, len - off, max_data, &id, &data, &dlen);
		if (used == -EMSGSIZE)
			return;
		if (used < 0)
			abort();
		if (used == 0) {
			if (len - off >= SHELL_PACKET_HEADER &&
			    len - off - SHELL_PACKET_HEADER >= (uint32_t)fuzz_le64(in + off + 1, 4, 0))
				abort(); /* a complete packet was not taken */
			return;
		}
		if ((size_t)used > len - off || (size_t)used != SHELL_PACKET_HEADER + (size_t)dlen ||
		    data != in + off + SHELL_PACKET_HEADER || dlen > max_data || id != in[off])
			abort();
		off += (size_t)used;
	}
}

static void fuzz_window_size(const uint8_t *in, size_t len)
{
	unsigned short ws[4] = { 0 }, back[4] = { 0 };
	if (!shell_parse_window_size((const char *)in, len, ws))
		return;
	char text[64];
	int n = snprintf(text, sizeof(text), "%ux%u,%ux%u", ws[0], ws[1], ws[2], ws[3]);
	if (!shell_parse_window_size(text, (size_t)n, back) || memcmp(ws, back, sizeof(ws)))
		abort();
}

/* ---- 3: service names, as handle_open copies them; the ports of "tcp:" and the requests of
 * "reverse:" (adb forward and adb reverse) parsed as forward.c parses them */

static void fuzz_port(const char *text)
{
	int port = adb_port_parse(text, true);
	if (port == -EINVAL)
		return;
	if (port < 0 || port > 65535 || strspn(text, "0123456789") != strlen(text) ||
	    strtoul(text, NULL, 10) != (unsigned long)port)
		abort();
	if (port == 0 && adb_port_parse(text, false) != -EINVAL)
		abort();
}

static void fuzz_reverse(const char *text)
{
	struct adb_reverse_request rq;
	int r = adb_reverse_parse(text, &rq);
	if (r != 0 && r != -ENOENT && r != -EINVAL && r != -EPROTONOSUPPORT)
		abort();
	if (!memchr(rq.local, 0, sizeof(rq.local)) || !memchr(rq.remote, 0, sizeof(rq.remote)))
		abort();
	if (r != 0 || rq.kind != ADB_REVERSE_FORWARD)
		return;
	/* A parsed forward names a tcp port and says back exactly what the client sent. */
	if (strncmp(rq.local, "tcp:", 4) != 0 || rq.local_port != adb_port_parse(rq.local + 4, true) ||
	    rq.remote[0] == '\0')
		abort();
	char again[2 * ADB_REVERSE_SPEC_MAX + 32];
	snprintf(again, sizeof(again), "forward:%s%s;%s", rq.no_rebind ? "norebind:" : "", rq.local,
		 rq.remote);
	if (strcmp(again, text) != 0)
		abort();
}

static void fuzz_service(const uint8_t *in, size_t len)
{
	char name[1024];
	size_t n = MIN(len, sizeof(name) - 1);
	memcpy(name, in, n);
	name[n] = '\0';
	struct adb_service_request req;
	int r = adb_service_parse(name, &req);
	if (r != 0 && r != -ENOENT)
		abort();
	if (!req.arg || !memchr(req.term, 0, sizeof(req.term)))
		abort();
	if (req.arg[0] && (req.arg < name || req.arg > name + strlen(name)))
		abort(); /* a non-empty argument lies inside the name */
	if (r == 0 && req.kind == ADB_SERVICE_UNKNOWN)
		abort();
	if (r == 0 && req.kind == ADB_SERVICE_SHELL && req.arg != strchr(name, ':') + 1)
		abort();
	if (r == 0 && req.kind == ADB_SERVICE_TCP)
		fuzz_port(req.arg);
	if (r == 0 && req.kind == ADB_SERVICE_REVERSE)
		fuzz_reverse(req.arg);
}

/* ---- 4: base64 */

static void fuzz_base64(const uint8_t *in, size_t len, size_t out_size)
{
	uint8_t *out = malloc(out_size ? out_size : 1);
	if (!out)
		abort();
	long n = adb_base64_decode((const char *)in, len, out, out_size);
	if (n == -EINVAL) {
		free(out);
		return;
	}
	if (n < 0 || (size_t)n > out_size || len % 4 || (size_t)n > len / 4 * 3 ||
	    (size_t)n + 2 < len / 4 * 3)
		abort();
	g_autofree char *text = g_strndup((const char *)in, len);
	gsize glen = 0;
	g_autofree guchar *ref = g_base64_decode(text, &glen);
	if (glen != (gsize)n || memcmp(ref, out, glen))
		abort();
	free(out);
}

/* ---- 5: adbkey.pub lines and adb_keys files */

static void check_key(const struct adb_rsa_key *k)
{
	if (k->words == 0 || k->words > ADB_RSA_MAX_WORDS || !(k->n[0] & 1) || k->exponent < 3 ||
	    !k->n[k->words - 1] || !adb_rsa_key_equal(k, k))
		abort();
}

static void fuzz_key_text(const uint8_t *in, size_t len)
{
	struct adb_rsa_key key;
	const uint8_t *nul = memchr(in, 0, len);
	size_t text_len = nul ? (size_t)(nul - in) : len;
	if (adb_rsa_key_from_text((const char *)in, text_len, &key) == 0) {
		check_key(&key);
		/* A key from the keys file may be anything; checking a signature must stay safe. */
		uint8_t token[ADB_AUTH_TOKEN_SIZE] = { 1, 2, 3 };
		const uint8_t *sig = nul ? nul + 1 : in + len;
		(void)adb_rsa_verify(&key, token, sizeof(token), sig, (size_t)(in + len - sig));
	}
	fuzz_rewrite_fd(keys_fd, in, len);
	struct adb_rsa_key *list = NULL;
	/* adbd says on stderr which lines it skips: a million lines of noise here. */
	fflush(stderr);
	if (dup2(null_fd, 2) < 0)
		abort();
	int count = adb_keys_load(keys_path, &list);
	if (dup2(stderr_fd, 2) < 0)
		abort();
	if (count < 0)
		abort();
	for (int i = 0; i < count; i++)
		check_key(&list[i]);
	free(list);
}

/* ---- 6, 7: signatures */

static bool openssl_verify(EVP_PKEY *pkey, const uint8_t *token, const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	if (!ctx || EVP_PKEY_verify_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha1()) != 1)
		abort();
	int r = EVP_PKEY_verify(ctx, sig, sig_len, token, ADB_AUTH_TOKEN_SIZE);
	EVP_PKEY_CTX_free(ctx);
	return r == 1;
}

/* m^d mod n for m of exactly the key's size. */
static void raw_sign(EVP_PKEY *pkey, const uint8_t *m, size_t len, uint8_t *sig)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	size_t out = len;
	if (!ctx || EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) != 1 ||
	    EVP_PKEY_sign(ctx, sig, &out, m, len) != 1 || out != len)
		abort();
	EVP_PKEY_CTX_free(ctx);
}

static void fuzz_verify(const uint8_t *in, size_t len)
{
	if (len < 1 + ADB_AUTH_TOKEN_SIZE)
		return;
	int k = in[0] % NKEYS;
	const uint8_t *token = in + 1, *sig = in + 1 + ADB_AUTH_TOKEN_SIZE;
	size_t sig_len = len - 1 - ADB_AUTH_TOKEN_SIZE;
	uint8_t near_n[ADB_RSA_MAX_WORDS * 4];
	if (in[0] & 0x80) {
		/* The modulus plus a small signed delta (the next byte): signatures at the bound. */
		size_t bytes = keys[k].words * 4;
		for (size_t i = 0; i < bytes; i++)
			near_n[bytes - 1 - i] = (uint8_t)(keys[k].n[i / 4] >> (8 * (i % 4)));
		int carry = sig_len ? (int8_t)sig[0] : 0;
		for (size_t i = bytes; i-- > 0 && carry;) {
			int v = near_n[i] + carry;
			near_n[i] = (uint8_t)v;
			carry = v < 0 ? -1 : v > 255;
		}
		sig = near_n;
		sig_len = bytes;
	}
	bool ours = adb_rsa_verify(&keys[k], token, ADB_AUTH_TOKEN_SIZE, sig, sig_len);
	if (ours != openssl_verify(pkeys[k], token, sig, sig_len))
		abort();
}

static void fuzz_padding(const uint8_t *in, size_t len)
{
	static const uint8_t sha1_prefix[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
					       0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };
	if (len < 1 + ADB_AUTH_TOKEN_SIZE)
		return;
	int k = in[0] % NKEYS;
	const uint8_t *token = in + 1;
	size_t bytes = keys[k].words * 4;
	uint8_t em[ADB_RSA_MAX_WORDS * 4], edited[ADB_RSA_MAX_WORDS * 4], sig[ADB_RSA_MAX_WORDS * 4];
	/* 00 01 ff..ff 00 DigestInfo(SHA-1) token */
	size_t tail = sizeof(sha1_prefix) + ADB_AUTH_TOKEN_SIZE;
	em[0] = 0, em[1] = 1;
	memset(em + 2, 0xff, bytes - tail - 3);
	em[bytes - tail - 1] = 0;
	memcpy(em + bytes - tail, sha1_prefix, sizeof(sha1_prefix));
	memcpy(em + bytes - ADB_AUTH_TOKEN_SIZE, token, ADB_AUTH_TOKEN_SIZE);
	memcpy(edited, em, bytes);
	for (size_t i = 1 + ADB_AUTH_TOKEN_SIZE; i + 3 <= len; i += 3)
		edited[(in[i] | in[i + 1] << 8) % bytes] ^= in[i + 2];
	edited[0] = 0; /* below the modulus, whose top bit is set */
	raw_sign(pkeys[k], edited, bytes, sig);
	bool ours = adb_rsa_verify(&keys[k], token, ADB_AUTH_TOKEN_SIZE, sig, bytes);
	if (ours != !memcmp(edited, em, bytes))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	init_once();
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	switch (data[0] % 8) {
	case 0:
		fuzz_messages(in, len);
		break;
	case 1:
		fuzz_shell_packets(in, len, MAX_INBOUND);
		fuzz_shell_packets(in, len, 16);
		break;
	case 2:
		fuzz_window_size(in, len);
		break;
	case 3:
		fuzz_service(in, len);
		break;
	case 4:
		if (len)
			fuzz_base64(in + 1, len - 1, in[0] ? in[0] * 8u : 4096);
		break;
	case 5:
		fuzz_key_text(in, len);
		break;
	case 6:
		fuzz_verify(in, len);
		break;
	default:
		fuzz_padding(in, len);
		break;
	}
	return 0;
}
