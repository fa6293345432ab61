/* The key ceremony's sealed shares and share checks (lib/chain/sealed.c): the vector of
 * docs/SECRET.md (fixed keys, ephemeral and nonce; computed independently with Python's
 * cryptography package) byte for byte, a fresh round trip, and each refusal: a tampered
 * byte, the wrong recipient, an ephemeral key off the curve, a forged signature, a
 * share that does not match its sender's commitments. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "bytes.h"
#include "crypto.h"
#include "sealed.h"
#include "secret.h"

static const char *V_SENDER_PUB =
    "040217e617f0b6443928278f96999e69a23a4f2c152bdf6d6cdf66e5b80282d4ed194a7debcb97712d2dda3c"
    "a85aa8765a56f45fc758599652f2897c65306e5794";
static const char *V_RECIPIENT_PUB =
    "04d65a93977caa3d1b081852ff57a79e465f1660577304baead505dd3a48589cf350185e895372df6221ea3a"
    "137557e473fddb6755f05bd507c3c533fce9c91285";
static const char *V_EPHEMERAL =
    "0451a7580833898ea1b183cbd7350a4099078c6ef1c1e18e970cd7683035f25e7d0110522712b0b5a7cff081"
    "685486984a94e6831edac46e7360fa9d834a7a81a1";
static const char *V_CIPHERTEXT =
    "c2341d38a802248c24af49d8df6746ed02b29e7001940cd296dd5f3a654d11f4";
static const char *V_TAG = "7485cfec9138255bef63bfb7a6ff5343";

static cv_privkey *key_of(uint8_t byte)
{
	uint8_t d[CV_SCALAR_LEN];
	cv_privkey *k = NULL;

	memset(d, byte, sizeof d);
	return cv_privkey_from_scalar(d, &k) == CV_OK ? k : NULL;
}

static void hex_is(const uint8_t *p, size_t n, const char *want)
{
	char got[2 * CV_POINT_LEN + 1];

	cv_hex_encode(p, n, got);
	CHECK_STR(got, want);
}

/* the vector: sender 0x11…, recipient 0x22…, ephemeral 0x33…, nonce 0x44…, setup 0x66…,
 * value 5 */
static void seal_vector(cv_sealed_share *sh, cv_privkey *sender, cv_privkey *recipient)
{
	uint8_t setup[CV_HASH_LEN], eph[CV_SCALAR_LEN], nonce[CV_SEALED_NONCE_LEN];
	uint8_t value[CV_SCALAR_LEN] = {0}, rpub[CV_KEY_LEN];

	memset(setup, 0x66, sizeof setup);
	memset(eph, 0x33, sizeof eph);
	memset(nonce, 0x44, sizeof nonce);
	value[31] = 5;
	cv_privkey_public(recipient, rpub);
	CHECK_EQ_INT(cv_sealed_seal(setup, sender, rpub, value, eph, nonce, sh), CV_OK);
}

static void test_vector(void)
{
	cv_privkey *sender = key_of(0x11), *recipient = key_of(0x22);
	cv_sealed_share sh;
	uint8_t value[CV_SCALAR_LEN], five[CV_SCALAR_LEN] = {0};

	five[31] = 5;
	CHECK(sender != NULL && recipient != NULL);
	seal_vector(&sh, sender, recipient);
	hex_is(sh.sender, CV_KEY_LEN, V_SENDER_PUB);
	hex_is(sh.recipient, CV_KEY_LEN, V_RECIPIENT_PUB);
	hex_is(sh.ephemeral, CV_POINT_LEN, V_EPHEMERAL);
	hex_is(sh.ciphertext, CV_SCALAR_LEN, V_CIPHERTEXT);
	hex_is(sh.tag, CV_SEALED_TAG_LEN, V_TAG);
	CHECK_EQ_INT(cv_sealed_verify(&sh), CV_OK);
	CHECK_EQ_INT(cv_sealed_open(&sh, recipient, value), CV_OK);
	CHECK(memcmp(value, five, sizeof five) == 0);
	cv_privkey_free(sender);
	cv_privkey_free(recipient);
}

static void test_fresh_round_trip(void)
{
	cv_privkey *sender = NULL, *recipient = NULL;
	cv_sealed_share a, b;
	uint8_t setup[CV_HASH_LEN] = {1}, rpub[CV_KEY_LEN], value[CV_SCALAR_LEN],
	        got[CV_SCALAR_LEN];

	CHECK_EQ_INT(cv_privkey_generate(&sender), CV_OK);
	CHECK_EQ_INT(cv_privkey_generate(&recipient), CV_OK);
	cv_privkey_public(recipient, rpub);
	memset(value, 0x7a, sizeof value);
	CHECK_EQ_INT(cv_sealed_seal(setup, sender, rpub, value, NULL, NULL, &a), CV_OK);
	CHECK_EQ_INT(cv_sealed_seal(setup, sender, rpub, value, NULL, NULL, &b), CV_OK);
	/* fresh ephemeral keys and nonces: two seals of one value differ */
	CHECK(memcmp(a.ephemeral, b.ephemeral, CV_POINT_LEN) != 0);
	CHECK(memcmp(a.nonce, b.nonce, CV_SEALED_NONCE_LEN) != 0);
	CHECK(memcmp(a.ciphertext, b.ciphertext, CV_SCALAR_LEN) != 0);
	CHECK_EQ_INT(cv_sealed_verify(&a), CV_OK);
	CHECK_EQ_INT(cv_sealed_open(&a, recipient, got), CV_OK);
	CHECK(memcmp(got, value, sizeof value) == 0);
	cv_privkey_free(sender);
	cv_privkey_free(recipient);
}

static void test_tampered_refused(void)
{
	cv_privkey *sender = key_of(0x11), *recipient = key_of(0x22);
	cv_sealed_share sh, t;
	uint8_t value[CV_SCALAR_LEN];

	seal_vector(&sh, sender, recipient);
	t = sh;
	t.ciphertext[0] ^= 1;
	CHECK_EQ_INT(cv_sealed_open(&t, recipient, value), CV_E_SEALED_OPEN);
	CHECK_EQ_INT(cv_sealed_verify(&t), CV_E_BAD_SIGNATURE);
	t = sh;
	t.tag[15] ^= 0x80;
	CHECK_EQ_INT(cv_sealed_open(&t, recipient, value), CV_E_SEALED_OPEN);
	t = sh;
	t.nonce[0] ^= 1;
	CHECK_EQ_INT(cv_sealed_open(&t, recipient, value), CV_E_SEALED_OPEN);
	/* the key is bound to the setup: the same bytes under another setup_hash fail */
	t = sh;
	t.setup_hash[0] ^= 1;
	CHECK_EQ_INT(cv_sealed_open(&t, recipient, value), CV_E_SEALED_OPEN);
	/* an ephemeral key off the curve (Y changed) */
	t = sh;
	t.ephemeral[64] ^= 1;
	CHECK_EQ_INT(cv_sealed_open(&t, recipient, value), CV_E_SEALED_OPEN);
	CHECK_EQ_INT(cv_sealed_verify(&t), CV_E_BAD_KEY);
	for (size_t i = 0; i < sizeof value; i++)
		CHECK(value[i] == 0);
	cv_privkey_free(sender);
	cv_privkey_free(recipient);
}

static void test_wrong_recipient_refused(void)
{
	cv_privkey *sender = key_of(0x11), *recipient = key_of(0x22), *other = key_of(0x23);
	cv_sealed_share sh, t;
	uint8_t value[CV_SCALAR_LEN];

	seal_vector(&sh, sender, recipient);
	/* another key cannot open it, neither as addressed nor readdressed to itself */
	CHECK_EQ_INT(cv_sealed_open(&sh, other, value), CV_E_SEALED_OPEN);
	t = sh;
	cv_privkey_public(other, t.recipient);
	CHECK_EQ_INT(cv_sealed_open(&t, other, value), CV_E_SEALED_OPEN);
	CHECK_EQ_INT(cv_sealed_verify(&t), CV_E_BAD_SIGNATURE);
	cv_privkey_free(sender);
	cv_privkey_free(recipient);
	cv_privkey_free(other);
}

static void test_share_checks(void)
{
	cv_privkey *trustee = key_of(0x22);
	cv_share_check c = {0};

	memset(c.setup_hash, 0x66, CV_HASH_LEN);
	cv_privkey_public(trustee, c.sender); /* any key will do here */
	c.good = false;
	CHECK_EQ_INT(cv_share_check_sign(&c, trustee), CV_OK);
	CHECK_EQ_INT(cv_share_check_verify(&c), CV_OK);
	c.good = true; /* a complaint cannot be turned into a confirmation */
	CHECK_EQ_INT(cv_share_check_verify(&c), CV_E_BAD_SIGNATURE);
	cv_privkey_free(trustee);
}

static void test_share_matches_commitments(void)
{
	cv_privkey *v = key_of(0x11);
	uint8_t setup[CV_HASH_LEN] = {2}, coeffs[2][CV_SCALAR_LEN] = {{0}}, share[CV_SCALAR_LEN];
	cv_trustee t = {0};

	coeffs[0][31] = 7;
	coeffs[1][31] = 9;
	CHECK_EQ_INT(
	    cv_trustee_make(setup, v, (const uint8_t(*)[CV_SCALAR_LEN])coeffs, 2, NULL, &t), CV_OK);
	CHECK_EQ_INT(cv_poly_eval((const uint8_t(*)[CV_SCALAR_LEN])coeffs, 2, 3, share), CV_OK);
	CHECK_EQ_INT(share[31], 7 + 9 * 3);
	CHECK_EQ_INT(cv_share_matches(share, (const uint8_t(*)[CV_POINT_LEN])t.commitments, 2, 3),
	             CV_OK);
	CHECK_EQ_INT(cv_share_matches(share, (const uint8_t(*)[CV_POINT_LEN])t.commitments, 2, 2),
	             CV_E_SHARE_MISMATCH);
	share[31]++;
	CHECK_EQ_INT(cv_share_matches(share, (const uint8_t(*)[CV_POINT_LEN])t.commitments, 2, 3),
	             CV_E_SHARE_MISMATCH);
	cv_trustee_free(&t);
	cv_privkey_free(v);
}

int main(void)
{
	RUN(test_vector);
	RUN(test_fresh_round_trip);
	RUN(test_tampered_refused);
	RUN(test_wrong_recipient_refused);
	RUN(test_share_checks);
	RUN(test_share_matches_commitments);
	return CHECK_DONE("test_sealed");
}
