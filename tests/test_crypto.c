/* Hostile inputs to the byte, text and crypto layer: malformed hex, off-curve and
 * non-uncompressed keys, out-of-range signature halves, tampered messages, DER and key
 * file edge cases, and UTF-8 that must not pass as a title or name. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "bytes.h"
#include "chain.h"
#include "crypto.h"

/* A voter of the reference chain (vectors/keys.json): its scalar and public key. */
static const char vec_scalar_hex[] =
    "283d3fd6e41ecb59507bd503949fca6a2bf25cbe7dc42d6756875c4c227f7456";
static const char vec_key_hex[] =
    "049c066b8935635b574ec3c827bd427659e3ac5382fef7a0fa440c6419731929e2650989032ac698c61f2819a59b6a"
    "19f4843bd066e3e165b6743a78382aeb86c1";
static const char order_hex[] = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

static const uint8_t msg[] = "chainvote test message";

static cv_privkey *vec_key(void)
{
	uint8_t d[CV_SCALAR_LEN];
	cv_privkey *k = NULL;

	if (cv_hex_decode(vec_scalar_hex, d, sizeof d) != CV_OK ||
	    cv_privkey_from_scalar(d, &k) != CV_OK) {
		fprintf(stderr, "cannot load the test key\n");
		exit(2);
	}
	return k;
}

/* A valid signature over msg by the vector key, and that key. */
static void signed_msg(uint8_t key[CV_KEY_LEN], uint8_t sig[CV_SIG_LEN])
{
	cv_privkey *k = vec_key();

	cv_privkey_public(k, key);
	if (cv_sign(k, msg, sizeof msg, sig) != CV_OK)
		exit(2);
	cv_privkey_free(k);
}

/* ---- hex */

static void hex_round_trip(void)
{
	uint8_t in[4] = {0x00, 0x9f, 0xa0, 0xff}, out[4];
	char text[9];

	cv_hex_encode(in, sizeof in, text);
	CHECK_STR(text, "009fa0ff");
	CHECK_EQ_INT(cv_hex_decode(text, out, sizeof out), CV_OK);
	CHECK(memcmp(in, out, sizeof in) == 0);
}

static void hex_rejects_wrong_length(void)
{
	uint8_t out[2];

	CHECK_EQ_INT(cv_hex_decode("abc", out, 2), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_hex_decode("abcdef", out, 2), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_hex_decode("", out, 2), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_hex_decode("", out, 0), CV_OK);
	CHECK_EQ_INT(cv_hex_decode(NULL, out, 2), CV_E_MALFORMED);
}

static void hex_rejects_non_hex_chars(void)
{
	uint8_t out[2] = {0x55, 0x55};

	CHECK_EQ_INT(cv_hex_decode("0g12", out, 2), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_hex_decode("12 4", out, 2), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_hex_decode("0x12", out, 2), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_hex_decode("12\n4", out, 2), CV_E_MALFORMED);
	/* nothing written on failure */
	CHECK_EQ_INT(out[0], 0x55);
	CHECK_EQ_INT(out[1], 0x55);
}

static void hex_rejects_uppercase(void)
{
	uint8_t out[2];

	CHECK_EQ_INT(cv_hex_decode("ABCD", out, 2), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_hex_decode("abcD", out, 2), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_hex_decode("abcd", out, 2), CV_OK);
}

/* The prefix form reads the first 2n chars of a longer text, by the same rule. */
static void hex_prefix_reads_in_place(void)
{
	uint8_t out[2] = {0x55, 0x55};

	CHECK_EQ_INT(cv_hex_decode_prefix("abcd\"rest", out, 2), CV_OK);
	CHECK(out[0] == 0xab && out[1] == 0xcd);
	CHECK_EQ_INT(cv_hex_decode_prefix("009f", out, 2), CV_OK);
	CHECK(out[0] == 0x00 && out[1] == 0x9f);
	out[0] = out[1] = 0x55;
	CHECK_EQ_INT(cv_hex_decode_prefix("abCd\"", out, 2), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_hex_decode_prefix("ab\\d\"", out, 2), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_hex_decode_prefix("ab\0d\"", out, 2), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_hex_decode_prefix(NULL, out, 2), CV_E_MALFORMED);
	CHECK_EQ_INT(out[0], 0x55); /* nothing written on failure */
	CHECK_EQ_INT(out[1], 0x55);
}

/* ---- buffers and texts */

static void buf_encodes_big_endian(void)
{
	cv_buf b = {0};

	cv_buf_u8(&b, 0x01);
	cv_buf_u16(&b, 0x0203);
	cv_buf_u32(&b, 0x04050607);
	cv_buf_u64(&b, 0x08090a0b0c0d0e0fULL);
	cv_buf_tag(&b, "ab");
	CHECK_EQ_INT(b.len, 1 + 2 + 4 + 8 + 2);
	CHECK(memcmp(b.data,
	             "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
	             "ab",
	             b.len) == 0);
	CHECK_EQ_INT(cv_get_u32(b.data + 3), 0x04050607);
	CHECK(cv_get_u64(b.data + 7) == 0x08090a0b0c0d0e0fULL);
	CHECK(!b.failed);
	cv_buf_reset(&b);
	CHECK_EQ_INT(b.len, 0);
	cv_buf_free(&b);
	CHECK(b.data == NULL);
	cv_buf_free(&b); /* a zeroed buffer is fine */
}

static void buf_grows_over_many_appends(void)
{
	cv_buf b = {0};
	size_t i;
	int ok = 1;

	for (i = 0; i < 10000; i++)
		cv_buf_u32(&b, (uint32_t)i);
	CHECK_EQ_INT(b.len, 40000);
	for (i = 0; i < 10000; i++)
		ok &= cv_get_u32(b.data + 4 * i) == i;
	CHECK(ok);
	cv_buf_free(&b);
}

static void buf_text_accepts_200_bytes(void)
{
	char s[CV_TEXT_MAX + 1];
	cv_buf b = {0};

	memset(s, 'a', CV_TEXT_MAX);
	s[CV_TEXT_MAX] = '\0';
	CHECK_EQ_INT(cv_buf_text(&b, s), CV_OK);
	CHECK_EQ_INT(b.len, 2 + CV_TEXT_MAX);
	CHECK_EQ_INT(b.data[0], 0);
	CHECK_EQ_INT(b.data[1], CV_TEXT_MAX);
	cv_buf_free(&b);
}

static void buf_text_rejects_over_200_bytes(void)
{
	char s[CV_TEXT_MAX + 2];
	cv_buf b = {0};

	cv_buf_tag(&b, "x");
	memset(s, 'a', CV_TEXT_MAX + 1);
	s[CV_TEXT_MAX + 1] = '\0';
	CHECK_EQ_INT(cv_buf_text(&b, s), CV_E_TOO_LARGE);
	CHECK_EQ_INT(b.len, 1);
	CHECK(!b.failed);
	cv_buf_free(&b);
}

static void reader_reads_back_what_buf_wrote(void)
{
	char title[CV_TEXT_MAX + 1];
	uint8_t raw[3];
	cv_buf b = {0};
	cv_reader r;

	cv_buf_tag(&b, "tag/1");
	cv_buf_u8(&b, 0xfe);
	cv_buf_u16(&b, 0xbeef);
	cv_buf_u32(&b, 0x01020304);
	cv_buf_u64(&b, 0x1122334455667788ULL);
	cv_buf_text(&b, "Zo\xc3\xab");
	cv_buf_put(&b, "xyz", 3);
	r = (cv_reader){.p = b.data, .n = b.len};
	CHECK(cv_rd_tag(&r, "tag/1"));
	CHECK_EQ_INT(cv_rd_u8(&r), 0xfe);
	CHECK_EQ_INT(cv_rd_u16(&r), 0xbeef);
	CHECK_EQ_INT(cv_rd_u32(&r), 0x01020304);
	CHECK(cv_rd_u64(&r) == 0x1122334455667788ULL);
	cv_rd_text(&r, title);
	CHECK_STR(title, "Zo\xc3\xab");
	CHECK_EQ_INT(cv_rd_left(&r), 3);
	CHECK(!cv_rd_end(&r)); /* bytes left over */
	cv_rd_copy(&r, raw, sizeof raw);
	CHECK(memcmp(raw, "xyz", 3) == 0);
	CHECK(cv_rd_end(&r));
	cv_buf_free(&b);
}

static void reader_past_the_end_stays_bad(void)
{
	static const uint8_t p[5] = {1, 2, 3, 4, 5};
	cv_reader r = {.p = p, .n = sizeof p};
	uint8_t out[4] = {9, 9, 9, 9};

	CHECK_EQ_INT(cv_rd_u32(&r), 0x01020304);
	CHECK_EQ_INT(cv_rd_u16(&r), 0); /* one byte left: nothing is taken */
	CHECK(r.bad);
	CHECK_EQ_INT(cv_rd_left(&r), 1);
	CHECK_EQ_INT(cv_rd_u8(&r), 0); /* a read after a failed one fails too */
	CHECK(cv_rd_take(&r, 0) == NULL);
	cv_rd_copy(&r, out, 1);
	CHECK_EQ_INT(out[0], 0);
	CHECK(!cv_rd_end(&r));
}

static void reader_refuses_wrong_tag_and_bad_text(void)
{
	static const uint8_t nul_inside[] = {0, 3, 'a', 0, 'b'};
	static const uint8_t too_long[] = {0, CV_TEXT_MAX + 1};
	char out[CV_TEXT_MAX + 1];
	cv_reader r = {.p = (const uint8_t *)"tag/2", .n = 5};

	CHECK(!cv_rd_tag(&r, "tag/1"));
	CHECK(!cv_rd_end(&r));
	r = (cv_reader){.p = (const uint8_t *)"tag", .n = 3};
	CHECK(!cv_rd_tag(&r, "tag/1")); /* shorter than the tag */
	r = (cv_reader){.p = nul_inside, .n = sizeof nul_inside};
	cv_rd_text(&r, out);
	CHECK(r.bad);
	r = (cv_reader){.p = too_long, .n = sizeof too_long};
	cv_rd_text(&r, out);
	CHECK(r.bad);
	CHECK_STR(out, "");
}

static void text_ok_accepts_utf8_names(void)
{
	CHECK(cv_text_ok("Candidate 1"));
	CHECK(cv_text_ok("Zo\xc3\xab M\xc3\xbcller")); /* Zoë Müller */
	CHECK(cv_text_ok("\xe6\x9d\xb1\xe4\xba\xac")); /* two CJK characters */
	CHECK(cv_text_ok("\xf0\x9f\x97\xb3 ballot"));  /* U+1F5F3 */
	CHECK(cv_text_ok("\xf4\x8f\xbf\xbd"));         /* U+10FFFD, the top plane */
}

static void text_ok_rejects_empty_and_long(void)
{
	char s[CV_TEXT_MAX + 2];

	CHECK(!cv_text_ok(""));
	CHECK(!cv_text_ok(NULL));
	memset(s, 'a', CV_TEXT_MAX + 1);
	s[CV_TEXT_MAX + 1] = '\0';
	CHECK(!cv_text_ok(s));
	s[CV_TEXT_MAX] = '\0';
	CHECK(cv_text_ok(s));
}

static void text_ok_rejects_invalid_utf8(void)
{
	CHECK(!cv_text_ok("\xff"));
	CHECK(!cv_text_ok("a\x80"));            /* lone continuation byte */
	CHECK(!cv_text_ok("\xc3"));             /* truncated at the end */
	CHECK(!cv_text_ok("\xe6\x9d x"));       /* truncated in the middle */
	CHECK(!cv_text_ok("\xed\xa0\x80"));     /* UTF-16 surrogate U+D800 */
	CHECK(!cv_text_ok("\xf4\x90\x80\x80")); /* U+110000, past the last plane */
	CHECK(!cv_text_ok("\xf8\x88\x80\x80\x80"));
}

static void text_ok_rejects_overlong_encodings(void)
{
	CHECK(!cv_text_ok("\xc0\xaf")); /* '/' in two bytes */
	CHECK(!cv_text_ok("\xc1\xbf"));
	CHECK(!cv_text_ok("\xe0\x80\xaf"));     /* '/' in three */
	CHECK(!cv_text_ok("\xe0\x9f\xbf"));     /* U+07FF in three */
	CHECK(!cv_text_ok("\xf0\x80\x80\xaf")); /* '/' in four */
	CHECK(!cv_text_ok("\xf0\x8f\xbf\xbf")); /* U+FFFF in four */
	CHECK(!cv_text_ok("\xc0\x80"));         /* "modified UTF-8" NUL */
}

static void text_ok_rejects_control_chars(void)
{
	CHECK(!cv_text_ok("two\nlines"));
	CHECK(!cv_text_ok("tab\there"));
	CHECK(!cv_text_ok("cr\r"));
	CHECK(!cv_text_ok("del\x7f"));
	CHECK(!cv_text_ok("nel\xc2\x85")); /* U+0085, a C1 control */
	CHECK(!cv_text_ok("\x1b[31mred"));
}

static void memeq_ct_compares(void)
{
	CHECK_EQ_INT(cv_memeq_ct("abcd", "abcd", 4), 0);
	CHECK(cv_memeq_ct("abcd", "abce", 4) != 0);
	CHECK(cv_memeq_ct("\x80", "\x00", 1) != 0);
	CHECK_EQ_INT(cv_memeq_ct("a", "b", 0), 0);
}

/* ---- public keys */

static void pubkey_accepts_vector_key(void)
{
	uint8_t key[CV_KEY_LEN];

	CHECK_EQ_INT(cv_hex_decode(vec_key_hex, key, sizeof key), CV_OK);
	CHECK_EQ_INT(cv_pubkey_check(key), CV_OK);
}

static void pubkey_rejects_point_off_curve(void)
{
	uint8_t key[CV_KEY_LEN];

	cv_hex_decode(vec_key_hex, key, sizeof key);
	key[64] ^= 0x01;
	CHECK_EQ_INT(cv_pubkey_check(key), CV_E_BAD_KEY);
	cv_hex_decode(vec_key_hex, key, sizeof key);
	key[1] ^= 0x80;
	CHECK_EQ_INT(cv_pubkey_check(key), CV_E_BAD_KEY);
}

static void pubkey_rejects_compressed_prefix(void)
{
	uint8_t key[CV_KEY_LEN];

	cv_hex_decode(vec_key_hex, key, sizeof key);
	key[0] = 0x02;
	CHECK_EQ_INT(cv_pubkey_check(key), CV_E_BAD_KEY);
	key[0] = 0x03;
	CHECK_EQ_INT(cv_pubkey_check(key), CV_E_BAD_KEY);
	key[0] = 0x06; /* hybrid form, which OpenSSL would otherwise decode */
	CHECK_EQ_INT(cv_pubkey_check(key), CV_E_BAD_KEY);
	key[0] = 0x07;
	CHECK_EQ_INT(cv_pubkey_check(key), CV_E_BAD_KEY);
}

static void pubkey_rejects_all_zero(void)
{
	uint8_t key[CV_KEY_LEN] = {0};

	CHECK_EQ_INT(cv_pubkey_check(key), CV_E_BAD_KEY);
	key[0] = 0x04;
	CHECK_EQ_INT(cv_pubkey_check(key), CV_E_BAD_KEY);
}

static void verify_rejects_bad_key(void)
{
	uint8_t key[CV_KEY_LEN], sig[CV_SIG_LEN];

	signed_msg(key, sig);
	key[64] ^= 0x01;
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_E_BAD_KEY);
	key[64] ^= 0x01;
	key[0] = 0x02;
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_E_BAD_KEY);
}

/* ---- signatures */

static void sign_verify_round_trip(void)
{
	cv_privkey *k = NULL;
	uint8_t key[CV_KEY_LEN], sig[CV_SIG_LEN], d[CV_SCALAR_LEN];

	CHECK_EQ_INT(cv_privkey_generate(&k), CV_OK);
	if (k == NULL)
		return;
	cv_privkey_public(k, key);
	CHECK_EQ_INT(key[0], 0x04);
	CHECK_EQ_INT(cv_pubkey_check(key), CV_OK);
	cv_privkey_scalar(k, d);
	CHECK_EQ_INT(cv_sign(k, msg, sizeof msg, sig), CV_OK);
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_OK);
	CHECK_EQ_INT(cv_verify(key, "", 0, sig), CV_E_BAD_SIGNATURE);
	cv_privkey_free(k);
	/* the scalar rebuilds the same key */
	k = NULL;
	CHECK_EQ_INT(cv_privkey_from_scalar(d, &k), CV_OK);
	if (k != NULL) {
		uint8_t again[CV_KEY_LEN];

		cv_privkey_public(k, again);
		CHECK(memcmp(again, key, CV_KEY_LEN) == 0);
	}
	cv_privkey_free(k);
	cv_privkey_free(NULL);
}

static void verify_rejects_tampered_message(void)
{
	uint8_t key[CV_KEY_LEN], sig[CV_SIG_LEN], bad[sizeof msg];

	signed_msg(key, sig);
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_OK);
	memcpy(bad, msg, sizeof msg);
	bad[0] ^= 0x01;
	CHECK_EQ_INT(cv_verify(key, bad, sizeof bad, sig), CV_E_BAD_SIGNATURE);
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg - 1, sig), CV_E_BAD_SIGNATURE);
}

static void verify_rejects_tampered_signature(void)
{
	uint8_t key[CV_KEY_LEN], sig[CV_SIG_LEN];

	signed_msg(key, sig);
	sig[10] ^= 0x01;
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_E_BAD_SIGNATURE);
	sig[10] ^= 0x01;
	sig[50] ^= 0x01;
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_E_BAD_SIGNATURE);
}

static void verify_rejects_other_key(void)
{
	uint8_t key[CV_KEY_LEN], other[CV_KEY_LEN], sig[CV_SIG_LEN];
	cv_privkey *k = NULL;

	signed_msg(key, sig);
	CHECK_EQ_INT(cv_privkey_generate(&k), CV_OK);
	if (k == NULL)
		return;
	cv_privkey_public(k, other);
	CHECK_EQ_INT(cv_verify(other, msg, sizeof msg, sig), CV_E_BAD_SIGNATURE);
	cv_privkey_free(k);
}

static void verify_rejects_r_zero(void)
{
	uint8_t key[CV_KEY_LEN], sig[CV_SIG_LEN];

	signed_msg(key, sig);
	memset(sig, 0, CV_SCALAR_LEN);
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_E_BAD_SIGNATURE);
}

static void verify_rejects_s_zero(void)
{
	uint8_t key[CV_KEY_LEN], sig[CV_SIG_LEN];

	signed_msg(key, sig);
	memset(sig + CV_SCALAR_LEN, 0, CV_SCALAR_LEN);
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_E_BAD_SIGNATURE);
	memset(sig, 0, CV_SIG_LEN);
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_E_BAD_SIGNATURE);
}

static void verify_rejects_r_equal_to_order(void)
{
	uint8_t key[CV_KEY_LEN], sig[CV_SIG_LEN];

	signed_msg(key, sig);
	cv_hex_decode(order_hex, sig, CV_SCALAR_LEN);
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_E_BAD_SIGNATURE);
}

/* r + n is a well-known forgery attempt when r < 2^256 - n: a verifier that reduces r
 * modulo n would accept it. */
static void verify_rejects_s_at_or_above_order(void)
{
	uint8_t key[CV_KEY_LEN], sig[CV_SIG_LEN];

	signed_msg(key, sig);
	cv_hex_decode(order_hex, sig + CV_SCALAR_LEN, CV_SCALAR_LEN);
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_E_BAD_SIGNATURE);
	sig[CV_SIG_LEN - 1] += 1; /* n + 1 */
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_E_BAD_SIGNATURE);
	memset(sig + CV_SCALAR_LEN, 0xff, CV_SCALAR_LEN);
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_E_BAD_SIGNATURE);
}

/* ECDSA accepts both s and n - s for one signature, and WebCrypto may produce either:
 * the range check must let the high form through to the real verification. */
static void verify_accepts_high_s_form(void)
{
	uint8_t key[CV_KEY_LEN], sig[CV_SIG_LEN], n[CV_SCALAR_LEN];
	int i, borrow = 0;

	signed_msg(key, sig);
	cv_hex_decode(order_hex, n, sizeof n);
	for (i = CV_SCALAR_LEN - 1; i >= 0; i--) {
		int v = n[i] - sig[CV_SCALAR_LEN + i] - borrow;

		borrow = v < 0;
		sig[CV_SCALAR_LEN + i] = (uint8_t)(v + (borrow ? 256 : 0));
	}
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_OK);
}

static void der_round_trip(void)
{
	uint8_t key[CV_KEY_LEN], sig[CV_SIG_LEN], der[72], back[CV_SIG_LEN];
	size_t der_len = 0;

	signed_msg(key, sig);
	CHECK_EQ_INT(cv_sig_to_der(sig, der, &der_len), CV_OK);
	CHECK(der_len >= 8 && der_len <= 72);
	CHECK_EQ_INT(der[0], 0x30);
	CHECK_EQ_INT(cv_sig_from_der(der, der_len, back), CV_OK);
	CHECK(memcmp(sig, back, CV_SIG_LEN) == 0);
}

static void der_round_trip_with_short_halves(void)
{
	uint8_t sig[CV_SIG_LEN] = {0}, der[72], back[CV_SIG_LEN];
	size_t der_len = 0;

	sig[CV_SCALAR_LEN - 1] = 0x05; /* r = 5 */
	sig[CV_SCALAR_LEN] = 0x80;     /* s with its top bit set: DER adds a zero byte */
	CHECK_EQ_INT(cv_sig_to_der(sig, der, &der_len), CV_OK);
	CHECK_EQ_INT(der_len, 2 + 3 + 2 + 33);
	CHECK_EQ_INT(cv_sig_from_der(der, der_len, back), CV_OK);
	CHECK(memcmp(sig, back, CV_SIG_LEN) == 0);
}

static void der_rejects_trailing_bytes(void)
{
	uint8_t key[CV_KEY_LEN], sig[CV_SIG_LEN], der[73], back[CV_SIG_LEN];
	size_t der_len = 0;

	signed_msg(key, sig);
	cv_sig_to_der(sig, der, &der_len);
	der[der_len] = 0x00;
	CHECK_EQ_INT(cv_sig_from_der(der, der_len + 1, back), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_sig_from_der(der, der_len - 1, back), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_sig_from_der(der, 0, back), CV_E_MALFORMED);
}

static void der_rejects_non_canonical_integer(void)
{
	/* SEQUENCE { INTEGER 00 05 (needless leading zero), INTEGER 07 } */
	static const uint8_t der[] = {0x30, 0x07, 0x02, 0x02, 0x00, 0x05, 0x02, 0x01, 0x07};
	uint8_t back[CV_SIG_LEN];

	CHECK_EQ_INT(cv_sig_from_der(der, sizeof der, back), CV_E_MALFORMED);
}

static void der_rejects_halves_over_32_bytes(void)
{
	uint8_t der[2 + 2 + 33 + 3] = {0x30, 2 + 33 + 3, 0x02, 33};
	uint8_t back[CV_SIG_LEN];

	der[4] = 0x01; /* a 33-byte positive integer: 2^256 or more */
	der[2 + 2 + 33] = 0x02;
	der[2 + 2 + 33 + 1] = 0x01;
	der[2 + 2 + 33 + 2] = 0x01;
	CHECK_EQ_INT(cv_sig_from_der(der, sizeof der, back), CV_E_MALFORMED);
}

static void privkey_rejects_scalar_out_of_range(void)
{
	uint8_t d[CV_SCALAR_LEN] = {0};
	cv_privkey *k = NULL;

	CHECK_EQ_INT(cv_privkey_from_scalar(d, &k), CV_E_BAD_KEY);
	CHECK(k == NULL);
	cv_hex_decode(order_hex, d, sizeof d);
	CHECK_EQ_INT(cv_privkey_from_scalar(d, &k), CV_E_BAD_KEY);
	memset(d, 0xff, sizeof d);
	CHECK_EQ_INT(cv_privkey_from_scalar(d, &k), CV_E_BAD_KEY);
	cv_hex_decode(order_hex, d, sizeof d);
	d[CV_SCALAR_LEN - 1] -= 1; /* n - 1 is the largest scalar */
	CHECK_EQ_INT(cv_privkey_from_scalar(d, &k), CV_OK);
	cv_privkey_free(k);
}

static void privkey_from_vector_scalar_gives_vector_key(void)
{
	cv_privkey *k = vec_key();
	uint8_t key[CV_KEY_LEN], d[CV_SCALAR_LEN];
	char text[2 * CV_KEY_LEN + 1];

	cv_privkey_public(k, key);
	cv_hex_encode(key, CV_KEY_LEN, text);
	CHECK_STR(text, vec_key_hex);
	cv_privkey_scalar(k, d);
	cv_hex_encode(d, CV_SCALAR_LEN, text);
	CHECK_STR(text, vec_scalar_hex);
	cv_privkey_free(k);
}

/* ---- key files */

static char *vec_keyfile(void)
{
	cv_privkey *k = vec_key();
	char *text = NULL;

	if (cv_keyfile_format(k, &text) != CV_OK)
		exit(2);
	cv_privkey_free(k);
	return text;
}

/* Parses text and returns the error, freeing any key. */
static cv_err parse_rc(const char *text)
{
	cv_privkey *k = NULL;
	cv_err rc = cv_keyfile_parse(text, strlen(text), &k);

	if ((rc == CV_OK) != (k != NULL))
		return CV_E__COUNT; /* the contract broken: neither result fits */
	cv_privkey_free(k);
	return rc;
}

/* text with the first occurrence of `from` replaced by `to` (malloc'd). */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);

	if (at == NULL || out == NULL) {
		fprintf(stderr, "replaced: \"%s\" not found\n", from);
		exit(2);
	}
	snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

static void keyfile_round_trip(void)
{
	char *text = vec_keyfile();
	cv_privkey *k = NULL;
	uint8_t key[CV_KEY_LEN], d[CV_SCALAR_LEN];
	char hex[2 * CV_KEY_LEN + 1];

	CHECK(strstr(text, "\"format\":\"chainvote-key/1\"") != NULL);
	CHECK(strstr(text, vec_key_hex) != NULL);
	CHECK(strstr(text, "\"kty\":\"EC\"") != NULL);
	CHECK(strstr(text, "\"crv\":\"P-256\"") != NULL);
	CHECK(strchr(text, '=') == NULL);
	CHECK_EQ_INT(cv_keyfile_parse(text, strlen(text), &k), CV_OK);
	if (k != NULL) {
		cv_privkey_public(k, key);
		cv_hex_encode(key, CV_KEY_LEN, hex);
		CHECK_STR(hex, vec_key_hex);
		cv_privkey_scalar(k, d);
		cv_hex_encode(d, CV_SCALAR_LEN, hex);
		CHECK_STR(hex, vec_scalar_hex);
	}
	cv_privkey_free(k);
	free(text);
}

static void keyfile_has_expected_jwk_values(void)
{
	char *text = vec_keyfile();

	/* d of the vector scalar in base64url, worked out independently */
	CHECK(strstr(text, "\"d\":\"KD0_1uQey1lQe9UDlJ_KaivyXL59xC1nVodcTCJ_dFY\"") != NULL);
	free(text);
}

static void keyfile_accepts_trailing_newline_and_webcrypto_members(void)
{
	char *text = vec_keyfile(),
	     *more = replaced(text, "\"kty\"", "\"ext\":true,\"key_ops\":[\"sign\"],\"kty\"");
	char *nl = malloc(strlen(more) + 2);

	snprintf(nl, strlen(more) + 2, "%s\n", more);
	CHECK_EQ_INT(parse_rc(nl), CV_OK);
	free(nl);
	free(more);
	free(text);
}

static void keyfile_rejects_mismatched_public_key(void)
{
	char *text = vec_keyfile(), *bad;
	/* the public key of another vector voter */
	const char *other = "04a4f4574ae8702d047756aaca15c7b4226e079855ed50e81d087d1e63ef626033e695"
	                    "4713334a8689c492588c7616acfe3983822f7a9199deeb060f87d5414722";

	bad = replaced(text, vec_key_hex, other);
	CHECK_EQ_INT(parse_rc(bad), CV_E_BAD_KEY);
	free(bad);
	free(text);
}

static void keyfile_rejects_mismatched_jwk_point(void)
{
	char *text = vec_keyfile(), *bad;
	const char *x = strstr(text, "\"x\":\"");
	char want[64], swapped[64];

	/* swap x's first character for another valid base64url one */
	snprintf(want, sizeof want, "\"x\":\"%c", x[5]);
	snprintf(swapped, sizeof swapped, "\"x\":\"%c", x[5] == 'A' ? 'B' : 'A');
	bad = replaced(text, want, swapped);
	CHECK_EQ_INT(parse_rc(bad), CV_E_BAD_KEY);
	free(bad);
	free(text);
}

static void keyfile_rejects_bad_json(void)
{
	char *text = vec_keyfile(), *bad;

	CHECK_EQ_INT(parse_rc(""), CV_E_MALFORMED);
	CHECK_EQ_INT(parse_rc("{"), CV_E_MALFORMED);
	CHECK_EQ_INT(parse_rc("[]"), CV_E_MALFORMED);
	CHECK_EQ_INT(parse_rc("null"), CV_E_MALFORMED);
	/* json-c's strict mode lets single-quoted names through; we must not */
	bad = replaced(text, "\"format\"", "'format'");
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	bad = replaced(text, "\"EC\"", "'EC'");
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	bad = replaced(text, "}}", "},}"); /* trailing comma: not strict JSON */
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	bad = replaced(text, "\"EC\"", "\"E\xff\"");
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	free(text);
}

static void keyfile_rejects_trailing_bytes(void)
{
	char *text = vec_keyfile();
	size_t n = strlen(text);
	char *more = malloc(n + 3);
	cv_privkey *k = NULL;

	snprintf(more, n + 3, "%s{}", text);
	CHECK_EQ_INT(parse_rc(more), CV_E_MALFORMED);
	snprintf(more, n + 3, "%s x", text);
	CHECK_EQ_INT(parse_rc(more), CV_E_MALFORMED);
	/* a NUL inside the stated length counts as a trailing byte too */
	memcpy(more, text, n + 1);
	more[n + 1] = '\n';
	CHECK_EQ_INT(cv_keyfile_parse(more, n + 2, &k), CV_E_MALFORMED);
	CHECK(k == NULL);
	free(more);
	free(text);
}

static void keyfile_rejects_wrong_fields(void)
{
	char *text = vec_keyfile(), *bad;
	char upper[2 * CV_KEY_LEN + 1];
	size_t i;

	bad = replaced(text, "chainvote-key/1", "chainvote-key/2");
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	bad = replaced(text, "P-256", "P-384");
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	bad = replaced(text, "\"kty\":\"EC\"", "\"kty\":\"RSA\"");
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	for (i = 0; vec_key_hex[i]; i++)
		upper[i] = (char)(vec_key_hex[i] >= 'a' ? vec_key_hex[i] - 32 : vec_key_hex[i]);
	upper[i] = '\0';
	bad = replaced(text, vec_key_hex, upper);
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	bad = replaced(text, "\"format\"", "\"extra\":1,\"format\"");
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	bad = replaced(text, "\"d\":\"", "\"dd\":\"");
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	free(text);
}

static void keyfile_rejects_non_canonical_base64url(void)
{
	char *text = vec_keyfile(), *bad;
	const char *d = "KD0_1uQey1lQe9UDlJ_KaivyXL59xC1nVodcTCJ_dFY";

	bad = replaced(text, d, "KD0_1uQey1lQe9UDlJ_KaivyXL59xC1nVodcTCJ_dFY=");
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	bad = replaced(text, d, "KD0/1uQey1lQe9UDlJ/KaivyXL59xC1nVodcTCJ/dFY");
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	/* 'Z' instead of 'Y' sets an unused low bit: same bytes, second spelling */
	bad = replaced(text, d, "KD0_1uQey1lQe9UDlJ_KaivyXL59xC1nVodcTCJ_dFZ");
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	bad = replaced(text, d, "KD0_1uQey1lQe9UDlJ_KaivyXL59xC1nVodcTCJ_dF");
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	free(text);
}

static void keyfile_rejects_zero_scalar(void)
{
	char *text = vec_keyfile(), *bad;

	bad = replaced(text, "KD0_1uQey1lQe9UDlJ_KaivyXL59xC1nVodcTCJ_dFY",
	               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	CHECK_EQ_INT(parse_rc(bad), CV_E_BAD_KEY);
	free(bad);
	free(text);
}

static void keyfile_rejects_deep_nesting(void)
{
	char *text = vec_keyfile(), *bad;

	bad = replaced(text, "\"kty\"", "\"ext\":[[[[[[[[[[[[]]]]]]]]]]]],\"kty\"");
	CHECK_EQ_INT(parse_rc(bad), CV_E_MALFORMED);
	free(bad);
	free(text);
}

/* ---- thread safety */

struct verify_job {
	uint8_t key[CV_KEY_LEN], sig[CV_SIG_LEN];
	int failures;
};

/* Each thread decodes keys into its own key object: a key refused there (off the curve)
 * leaves nothing behind for the next check. */
static void *verify_many(void *arg)
{
	struct verify_job *job = arg;
	uint8_t off_curve[CV_KEY_LEN];
	int i;

	memcpy(off_curve, job->key, CV_KEY_LEN);
	off_curve[64] ^= 0x01;
	for (i = 0; i < 200; i++) {
		if (cv_verify(job->key, msg, sizeof msg, job->sig) != CV_OK)
			job->failures++;
		if (cv_verify(off_curve, msg, sizeof msg, job->sig) != CV_E_BAD_KEY ||
		    cv_pubkey_check(off_curve) != CV_E_BAD_KEY)
			job->failures++;
		if (cv_verify(job->key, msg, sizeof msg - 1, job->sig) != CV_E_BAD_SIGNATURE)
			job->failures++;
		if (cv_verify(job->key, msg, sizeof msg, job->sig) != CV_OK)
			job->failures++;
	}
	return NULL;
}

static void verify_is_safe_across_threads(void)
{
	struct verify_job jobs[4];
	pthread_t threads[4];
	int i;

	for (i = 0; i < 4; i++) {
		signed_msg(jobs[i].key, jobs[i].sig);
		jobs[i].failures = 0;
		CHECK_EQ_INT(pthread_create(&threads[i], NULL, verify_many, &jobs[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		CHECK_EQ_INT(jobs[i].failures, 0);
	}
}

static void random_fills_bytes(void)
{
	uint8_t a[32] = {0}, b[32] = {0};

	CHECK_EQ_INT(cv_random(a, sizeof a), CV_OK);
	CHECK_EQ_INT(cv_random(b, sizeof b), CV_OK);
	CHECK(memcmp(a, b, sizeof a) != 0);
	CHECK_EQ_INT(cv_random(a, 0), CV_OK);
}

static void sha256_of_abc(void)
{
	uint8_t out[CV_HASH_LEN];
	char hex[2 * CV_HASH_LEN + 1];

	cv_sha256("abc", 3, out);
	cv_hex_encode(out, sizeof out, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
	RUN(hex_round_trip);
	RUN(hex_rejects_wrong_length);
	RUN(hex_rejects_non_hex_chars);
	RUN(hex_rejects_uppercase);
	RUN(hex_prefix_reads_in_place);
	RUN(buf_encodes_big_endian);
	RUN(buf_grows_over_many_appends);
	RUN(buf_text_accepts_200_bytes);
	RUN(buf_text_rejects_over_200_bytes);
	RUN(reader_reads_back_what_buf_wrote);
	RUN(reader_past_the_end_stays_bad);
	RUN(reader_refuses_wrong_tag_and_bad_text);
	RUN(text_ok_accepts_utf8_names);
	RUN(text_ok_rejects_empty_and_long);
	RUN(text_ok_rejects_invalid_utf8);
	RUN(text_ok_rejects_overlong_encodings);
	RUN(text_ok_rejects_control_chars);
	RUN(memeq_ct_compares);
	RUN(sha256_of_abc);
	RUN(random_fills_bytes);
	RUN(pubkey_accepts_vector_key);
	RUN(pubkey_rejects_point_off_curve);
	RUN(pubkey_rejects_compressed_prefix);
	RUN(pubkey_rejects_all_zero);
	RUN(verify_rejects_bad_key);
	RUN(sign_verify_round_trip);
	RUN(verify_rejects_tampered_message);
	RUN(verify_rejects_tampered_signature);
	RUN(verify_rejects_other_key);
	RUN(verify_rejects_r_zero);
	RUN(verify_rejects_s_zero);
	RUN(verify_rejects_r_equal_to_order);
	RUN(verify_rejects_s_at_or_above_order);
	RUN(verify_accepts_high_s_form);
	RUN(der_round_trip);
	RUN(der_round_trip_with_short_halves);
	RUN(der_rejects_trailing_bytes);
	RUN(der_rejects_non_canonical_integer);
	RUN(der_rejects_halves_over_32_bytes);
	RUN(privkey_rejects_scalar_out_of_range);
	RUN(privkey_from_vector_scalar_gives_vector_key);
	RUN(keyfile_round_trip);
	RUN(keyfile_has_expected_jwk_values);
	RUN(keyfile_accepts_trailing_newline_and_webcrypto_members);
	RUN(keyfile_rejects_mismatched_public_key);
	RUN(keyfile_rejects_mismatched_jwk_point);
	RUN(keyfile_rejects_bad_json);
	RUN(keyfile_rejects_trailing_bytes);
	RUN(keyfile_rejects_wrong_fields);
	RUN(keyfile_rejects_non_canonical_base64url);
	RUN(keyfile_rejects_zero_scalar);
	RUN(keyfile_rejects_deep_nesting);
	RUN(verify_is_safe_across_threads);
	return CHECK_DONE("test_crypto");
}
