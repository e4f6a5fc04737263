/* Unit tests for sepia adbd's protocol layers: message framing, shell v2
 * packets, service names, base64 and RSA signature checks. */
#include "guest/adbd/adb_auth.h"
#include "guest/adbd/adb_message.h"

#include <errno.h>
#include <glib.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <string.h>

static void test_header_roundtrip(void)
{
	uint8_t buf[ADB_HEADER_SIZE];
	struct adb_header h;
	static const char data[] = "shell:echo hi";

	adb_header_encode(buf, A_OPEN, 7, 0, data, sizeof(data));
	g_assert_cmpint(adb_header_decode(buf, ADB_MAX_PAYLOAD, &h), ==, 0);
	g_assert_cmphex(h.command, ==, A_OPEN);
	g_assert_cmpuint(h.arg0, ==, 7);
	g_assert_cmpuint(h.arg1, ==, 0);
	g_assert_cmpuint(h.data_length, ==, sizeof(data));
	g_assert_cmphex(h.magic, ==, A_OPEN ^ 0xffffffffu);
	g_assert_cmpuint(h.data_check, ==, adb_checksum(data, sizeof(data)));
	/* "OPEN" is the little-endian word of its letters. */
	g_assert_cmpmem(buf, 4, "OPEN", 4);
	/* Old peers need the checksum, new ones skip it. */
	g_assert_cmpint(adb_check_data(&h, ADB_VERSION_MIN, data), ==, 0);
	h.data_check ^= 1;
	g_assert_cmpint(adb_check_data(&h, ADB_VERSION_MIN, data), ==, -EBADMSG);
	g_assert_cmpint(adb_check_data(&h, ADB_VERSION_SKIP_CHECKSUM, data), ==, 0);
}

static void test_header_rejects(void)
{
	uint8_t buf[ADB_HEADER_SIZE];
	struct adb_header h;

	adb_header_encode(buf, A_WRTE, 1, 2, NULL, 4096);
	g_assert_cmpint(adb_header_decode(buf, 1024, &h), ==, -EMSGSIZE);
	buf[20] ^= 0x10; /* magic */
	g_assert_cmpint(adb_header_decode(buf, ADB_MAX_PAYLOAD, &h), ==, -EBADMSG);
	adb_header_encode(buf, ADB_CMD('X', 'Y', 'Z', 'W'), 0, 0, NULL, 0);
	g_assert_cmpint(adb_header_decode(buf, ADB_MAX_PAYLOAD, &h), ==, -EBADMSG);
}

static void test_shell_packets(void)
{
	uint8_t buf[64];
	uint8_t id;
	const uint8_t *data;
	uint32_t len;

	shell_packet_header(buf, SHELL_ID_STDIN, 3);
	memcpy(buf + 5, "abc", 3);
	shell_packet_header(buf + 8, SHELL_ID_CLOSE_STDIN, 0);
	/* Incomplete: header only, then part of the data. */
	g_assert_cmpint(shell_packet_parse(buf, 4, 100, &id, &data, &len), ==, 0);
	g_assert_cmpint(shell_packet_parse(buf, 7, 100, &id, &data, &len), ==, 0);
	g_assert_cmpint(shell_packet_parse(buf, 13, 100, &id, &data, &len), ==, 8);
	g_assert_cmpuint(id, ==, SHELL_ID_STDIN);
	g_assert_cmpuint(len, ==, 3);
	g_assert_cmpmem(data, 3, "abc", 3);
	g_assert_cmpint(shell_packet_parse(buf + 8, 5, 100, &id, &data, &len), ==, 5);
	g_assert_cmpuint(id, ==, SHELL_ID_CLOSE_STDIN);
	g_assert_cmpuint(len, ==, 0);
	g_assert_cmpint(shell_packet_parse(buf, 13, 2, &id, &data, &len), ==, -EMSGSIZE);
}

static void test_window_size(void)
{
	unsigned short ws[4];
	static const char text[] = "24x80,640x480";

	g_assert_true(shell_parse_window_size(text, sizeof(text), ws) == false ||
		      ws[0] == 24); /* with its NUL the copy stops early */
	g_assert_true(shell_parse_window_size(text, strlen(text), ws));
	g_assert_cmpuint(ws[0], ==, 24);
	g_assert_cmpuint(ws[1], ==, 80);
	g_assert_cmpuint(ws[2], ==, 640);
	g_assert_cmpuint(ws[3], ==, 480);
	g_assert_false(shell_parse_window_size("24x80", 5, ws));
	g_assert_false(shell_parse_window_size("24x80,1x2junk", 13, ws));
	g_assert_false(shell_parse_window_size("99999x1,1x1", 11, ws));
}

static void test_service_names(void)
{
	struct adb_service_request r;

	g_assert_cmpint(adb_service_parse("shell:", &r), ==, 0);
	g_assert_cmpint(r.kind, ==, ADB_SERVICE_SHELL);
	g_assert_false(r.shell_v2);
	g_assert_cmpint(r.tty, ==, SHELL_TTY_DEFAULT);
	g_assert_cmpstr(r.arg, ==, "");

	g_assert_cmpint(adb_service_parse("shell,v2,TERM=xterm-256color,raw:ls -l /", &r), ==, 0);
	g_assert_true(r.shell_v2);
	g_assert_cmpint(r.tty, ==, SHELL_TTY_RAW);
	g_assert_cmpstr(r.term, ==, "xterm-256color");
	g_assert_cmpstr(r.arg, ==, "ls -l /");

	g_assert_cmpint(adb_service_parse("shell,v2,pty:", &r), ==, 0);
	g_assert_cmpint(r.tty, ==, SHELL_TTY_PTY);
	g_assert_cmpint(adb_service_parse("shell,v2,raw:a:b", &r), ==, 0);
	g_assert_cmpstr(r.arg, ==, "a:b");

	g_assert_cmpint(adb_service_parse("exec:cat /x", &r), ==, 0);
	g_assert_cmpint(r.kind, ==, ADB_SERVICE_EXEC);
	g_assert_cmpstr(r.arg, ==, "cat /x");
	g_assert_cmpint(adb_service_parse("sync:", &r), ==, 0);
	g_assert_cmpint(r.kind, ==, ADB_SERVICE_SYNC);
	g_assert_cmpint(adb_service_parse("reboot:bootloader", &r), ==, 0);
	g_assert_cmpint(r.kind, ==, ADB_SERVICE_REBOOT);
	g_assert_cmpstr(r.arg, ==, "bootloader");
	g_assert_cmpint(adb_service_parse("tcp:8080", &r), ==, 0);
	g_assert_cmpint(r.kind, ==, ADB_SERVICE_TCP);
	g_assert_cmpstr(r.arg, ==, "8080");
	g_assert_cmpint(adb_service_parse("reverse:forward:tcp:1;tcp:2", &r), ==, 0);
	g_assert_cmpint(r.kind, ==, ADB_SERVICE_REVERSE);
	g_assert_cmpstr(r.arg, ==, "forward:tcp:1;tcp:2");
	g_assert_cmpint(adb_service_parse("root:", &r), ==, 0);
	g_assert_cmpint(r.kind, ==, ADB_SERVICE_ROOT);
	g_assert_cmpint(adb_service_parse("unroot:", &r), ==, 0);
	g_assert_cmpint(r.kind, ==, ADB_SERVICE_UNROOT);

	g_assert_cmpint(adb_service_parse("shellx:", &r), ==, -ENOENT);
	g_assert_cmpint(adb_service_parse("shell,v2", &r), ==, -ENOENT);
	g_assert_cmpint(adb_service_parse("jdwp:1", &r), ==, -ENOENT);
	g_assert_cmpint(adb_service_parse("", &r), ==, -ENOENT);
}

/* adb forward's "tcp:PORT" and adb reverse's requests, as the client sends them. */
static void test_forward_requests(void)
{
	struct adb_reverse_request q;
	char long_spec[600];

	g_assert_cmpint(adb_port_parse("8080", false), ==, 8080);
	g_assert_cmpint(adb_port_parse("65535", false), ==, 65535);
	g_assert_cmpint(adb_port_parse("0", true), ==, 0);
	g_assert_cmpint(adb_port_parse("0", false), ==, -EINVAL);
	g_assert_cmpint(adb_port_parse("65536", false), ==, -EINVAL);
	g_assert_cmpint(adb_port_parse("99999999999999999999", false), ==, -EINVAL);
	g_assert_cmpint(adb_port_parse("", true), ==, -EINVAL);
	g_assert_cmpint(adb_port_parse("-1", true), ==, -EINVAL);
	g_assert_cmpint(adb_port_parse(" 80", true), ==, -EINVAL);
	g_assert_cmpint(adb_port_parse("80x", true), ==, -EINVAL);

	g_assert_cmpint(adb_reverse_parse("forward:tcp:6000;tcp:7000", &q), ==, 0);
	g_assert_cmpint(q.kind, ==, ADB_REVERSE_FORWARD);
	g_assert_false(q.no_rebind);
	g_assert_cmpstr(q.local, ==, "tcp:6000");
	g_assert_cmpint(q.local_port, ==, 6000);
	g_assert_cmpstr(q.remote, ==, "tcp:7000");
	g_assert_cmpint(adb_reverse_parse("forward:norebind:tcp:0;tcp:7000", &q), ==, 0);
	g_assert_true(q.no_rebind);
	g_assert_cmpint(q.local_port, ==, 0);
	g_assert_cmpint(adb_reverse_parse("killforward:tcp:6000", &q), ==, 0);
	g_assert_cmpint(q.kind, ==, ADB_REVERSE_KILL);
	g_assert_cmpstr(q.local, ==, "tcp:6000");
	g_assert_cmpint(adb_reverse_parse("killforward-all", &q), ==, 0);
	g_assert_cmpint(q.kind, ==, ADB_REVERSE_KILL_ALL);
	g_assert_cmpint(adb_reverse_parse("list-forward", &q), ==, 0);
	g_assert_cmpint(q.kind, ==, ADB_REVERSE_LIST);

	g_assert_cmpint(adb_reverse_parse("forward:tcp:6000", &q), ==, -EINVAL);
	g_assert_cmpint(adb_reverse_parse("forward:;tcp:1", &q), ==, -EINVAL);
	g_assert_cmpint(adb_reverse_parse("forward:tcp:1;", &q), ==, -EINVAL);
	g_assert_cmpint(adb_reverse_parse("forward:tcp:1;*", &q), ==, -EINVAL);
	g_assert_cmpint(adb_reverse_parse("killforward:", &q), ==, -EINVAL);
	g_assert_cmpint(adb_reverse_parse("forward:localabstract:x;tcp:1", &q), ==, -EPROTONOSUPPORT);
	g_assert_cmpint(adb_reverse_parse("forward:tcp:70000;tcp:1", &q), ==, -EPROTONOSUPPORT);
	g_assert_cmpint(adb_reverse_parse("frobnicate", &q), ==, -ENOENT);
	memset(long_spec, 'a', sizeof(long_spec));
	memcpy(long_spec, "forward:tcp:1;tcp:", 18);
	long_spec[sizeof(long_spec) - 1] = '\0';
	g_assert_cmpint(adb_reverse_parse(long_spec, &q), ==, -EINVAL);
}

static void test_base64(void)
{
	uint8_t out[16];

	g_assert_cmpint(adb_base64_decode("aGk=", 4, out, sizeof(out)), ==, 2);
	g_assert_cmpmem(out, 2, "hi", 2);
	g_assert_cmpint(adb_base64_decode("c2VwaWE=", 8, out, sizeof(out)), ==, 5);
	g_assert_cmpmem(out, 5, "sepia", 5);
	g_assert_cmpint(adb_base64_decode("YWJj", 4, out, sizeof(out)), ==, 3);
	g_assert_cmpint(adb_base64_decode("YW=j", 4, out, sizeof(out)), ==, -EINVAL);
	g_assert_cmpint(adb_base64_decode("YWJ", 3, out, sizeof(out)), ==, -EINVAL);
	g_assert_cmpint(adb_base64_decode("YW*j", 4, out, sizeof(out)), ==, -EINVAL);
	g_assert_cmpint(adb_base64_decode("YWJjYWJj", 8, out, 4), ==, -EINVAL);
}

static void put_le32(GByteArray *b, uint32_t v)
{
	uint8_t le[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	g_byte_array_append(b, le, 4);
}

/* adbkey.pub's text for pkey, built here with OpenSSL's bignums (the layout
 * of adb's public key struct: word count, -1/n mod 2^32, n, R^2 mod n, e). */
static char *adbkey_pub_text(EVP_PKEY *pkey)
{
	BIGNUM *n = NULL, *e = NULL;
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *r32 = BN_new(), *n0 = BN_new(), *rr = BN_new(), *r = BN_new();
	GByteArray *blob = g_byte_array_new();
	int words;

	g_assert_true(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n));
	g_assert_true(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e));
	words = BN_num_bits(n) / 32;
	g_assert_true(BN_set_bit(r32, 32));
	g_assert_true(BN_mod(n0, n, r32, ctx));
	g_assert_nonnull(BN_mod_inverse(n0, n0, r32, ctx));
	g_assert_true(BN_sub(n0, r32, n0));
	g_assert_true(BN_set_bit(r, words * 64));
	g_assert_true(BN_mod(rr, r, n, ctx));

	put_le32(blob, (uint32_t)words);
	put_le32(blob, (uint32_t)BN_get_word(n0));
	uint8_t *buf = g_malloc((size_t)words * 4);
	g_assert_cmpint(BN_bn2lebinpad(n, buf, words * 4), ==, words * 4);
	g_byte_array_append(blob, buf, (guint)words * 4);
	g_assert_cmpint(BN_bn2lebinpad(rr, buf, words * 4), ==, words * 4);
	g_byte_array_append(blob, buf, (guint)words * 4);
	put_le32(blob, (uint32_t)BN_get_word(e));
	g_free(buf);

	gchar *b64 = g_base64_encode(blob->data, blob->len);
	char *text = g_strdup_printf("%s test@sepia\n", b64);
	g_free(b64);
	g_byte_array_unref(blob);
	BN_free(n), BN_free(e), BN_free(r32), BN_free(n0), BN_free(rr), BN_free(r);
	BN_CTX_free(ctx);
	return text;
}

/* RSA_sign(NID_sha1) over the token itself, as adb clients answer AUTH TOKEN. */
static size_t sign_token(EVP_PKEY *pkey, const uint8_t *token, uint8_t *sig, size_t size)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	size_t len = size;

	g_assert_cmpint(EVP_PKEY_sign_init(ctx), ==, 1);
	g_assert_cmpint(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), ==, 1);
	g_assert_cmpint(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha1()), ==, 1);
	g_assert_cmpint(EVP_PKEY_sign(ctx, sig, &len, token, ADB_AUTH_TOKEN_SIZE), ==, 1);
	EVP_PKEY_CTX_free(ctx);
	return len;
}

static void test_rsa_verify(void)
{
	EVP_PKEY *pkey = EVP_RSA_gen(2048), *other = EVP_RSA_gen(2048);
	struct adb_rsa_key key, other_key;
	uint8_t token[ADB_AUTH_TOKEN_SIZE], sig[512];
	size_t sig_len;

	g_assert_nonnull(pkey);
	g_assert_nonnull(other);
	char *text = adbkey_pub_text(pkey), *other_text = adbkey_pub_text(other);
	g_assert_cmpint(adb_rsa_key_from_text(text, strlen(text), &key), ==, 0);
	g_assert_cmpint(adb_rsa_key_from_text(other_text, strlen(other_text), &other_key), ==, 0);
	g_assert_cmpuint(key.words, ==, 64);
	g_assert_cmpuint(key.exponent, ==, 65537);
	g_assert_true(adb_rsa_key_equal(&key, &key));
	g_assert_false(adb_rsa_key_equal(&key, &other_key));

	for (int round = 0; round < 4; round++) {
		for (size_t i = 0; i < sizeof(token); i++)
			token[i] = (uint8_t)g_random_int();
		sig_len = sign_token(pkey, token, sig, sizeof(sig));
		g_assert_cmpuint(sig_len, ==, 256);
		g_assert_true(adb_rsa_verify(&key, token, sizeof(token), sig, sig_len));
		g_assert_false(adb_rsa_verify(&other_key, token, sizeof(token), sig, sig_len));
		token[round] ^= 1;
		g_assert_false(adb_rsa_verify(&key, token, sizeof(token), sig, sig_len));
		token[round] ^= 1;
		sig[100 + round] ^= 0x40;
		g_assert_false(adb_rsa_verify(&key, token, sizeof(token), sig, sig_len));
		sig[100 + round] ^= 0x40;
		g_assert_false(adb_rsa_verify(&key, token, sizeof(token), sig, sig_len - 1));
	}
	/* A signature not below the modulus is refused before any arithmetic. */
	memset(sig, 0xff, 256);
	g_assert_false(adb_rsa_verify(&key, token, sizeof(token), sig, 256));

	/* Broken key text. */
	g_assert_cmpint(adb_rsa_key_from_text("AAAA user@host", 14, &key), ==, -EINVAL);
	g_assert_cmpint(adb_rsa_key_from_text("not base64!", 11, &key), ==, -EINVAL);

	g_free(text);
	g_free(other_text);
	EVP_PKEY_free(pkey);
	EVP_PKEY_free(other);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/adbd/header/roundtrip", test_header_roundtrip);
	g_test_add_func("/adbd/header/rejects", test_header_rejects);
	g_test_add_func("/adbd/shell-v2/packets", test_shell_packets);
	g_test_add_func("/adbd/shell-v2/window-size", test_window_size);
	g_test_add_func("/adbd/services", test_service_names);
	g_test_add_func("/adbd/forward-requests", test_forward_requests);
	g_test_add_func("/adbd/auth/base64", test_base64);
	g_test_add_func("/adbd/auth/rsa-verify", test_rsa_verify);
	return g_test_run();
}
