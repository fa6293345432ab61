/* SHA-256 and ECDSA P-256 over OpenSSL 3, in the wire forms of DESIGN section 2 (65-byte
 * uncompressed keys, 64-byte r||s signatures), plus the key-file JSON shared with the
 * browser. Key generation uses EVP's random source; the hot paths (hashing, key checks,
 * verification, signing: the vote program signs every acceptance it answers) use the
 * direct interfaces, which skip EVP's per-call algorithm lookups and its DER. The only
 * shared state is the P-256 group, built once and then only read, and each private
 * key's EC_KEY, built once and then only read (each thread keeps its own key object for
 * the checks), so all of it may run from many threads at once. */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_* and EC_KEY: see cv_sha256, cv_verify, cv_sign */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "bytes.h"
#include "crypto.h"

#define KEYFILE_FORMAT    "chainvote-key/1"
#define KEYFILE_MAX_DEPTH 8
#define B64URL_32_LEN     43 /* base64url of 32 bytes without padding */
#define DER_SIG_MAX       72

struct cv_privkey {
	/* built once with the key: signing reads it only (see cv_sign) */
	EC_KEY *ec;
	uint8_t pub[CV_KEY_LEN];
	uint8_t d[CV_SCALAR_LEN];
};

/* The P-256 group order n, big-endian. Scalars and signature halves are compared with it
 * bytewise, which is cheaper than building bignums on the verification path. */
static const uint8_t p256_order[CV_SCALAR_LEN] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* True when 1 <= x < n for a 32-byte big-endian x. */
static int scalar_in_range(const uint8_t x[CV_SCALAR_LEN])
{
	static const uint8_t zero[CV_SCALAR_LEN];

	return memcmp(x, zero, CV_SCALAR_LEN) != 0 && memcmp(x, p256_order, CV_SCALAR_LEN) < 0;
}

void cv_sha256(const void *data, size_t len, uint8_t out[CV_HASH_LEN])
{
	SHA256_CTX ctx;

	/* The direct interface: EVP_Digest looks the algorithm up on every call, which
	 * costs more than hashing a vote (merkle trees of a million-voter roll notice). */
	if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, data, len) != 1 ||
	    SHA256_Final(out, &ctx) != 1)
		memset(out, 0, CV_HASH_LEN); /* a broken library; a zero hash matches nothing */
}

void cv_sha256_2(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[CV_HASH_LEN])
{
	SHA256_CTX ctx;

	if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, a, alen) != 1 ||
	    SHA256_Update(&ctx, b, blen) != 1 || SHA256_Final(out, &ctx) != 1)
		memset(out, 0, CV_HASH_LEN); /* as cv_sha256 */
}

/* P-256, built once and then only read (OpenSSL allows that from many threads). */
static EC_GROUP *p256_group;
static pthread_once_t p256_once = PTHREAD_ONCE_INIT;

static void p256_init(void)
{
	p256_group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
}

static const EC_GROUP *p256(void)
{
	pthread_once(&p256_once, p256_init);
	return p256_group;
}

/* Per thread, what every key check and verification of that thread reuses: a key
 * object on P-256 (EC_KEY_new looks up the default engine and copies the group: about
 * as much as decoding the point) and the bignum scratch the decoding takes. Made at the
 * thread's first use, freed when it ends; a thread that cannot make it gets
 * CV_E_NOMEM. */
typedef struct thread_keys {
	EC_KEY *ec;
	BN_CTX *bn;
} thread_keys;

static pthread_key_t thread_keys_key;
static pthread_once_t thread_keys_once = PTHREAD_ONCE_INIT;
static bool thread_keys_ready;

static void thread_keys_free(void *p)
{
	thread_keys *tk = p;

	if (tk == NULL)
		return;
	EC_KEY_free(tk->ec);
	BN_CTX_free(tk->bn);
	free(tk);
}

static void thread_keys_init(void)
{
	thread_keys_ready = pthread_key_create(&thread_keys_key, thread_keys_free) == 0;
}

static thread_keys *this_thread_keys(void)
{
	thread_keys *tk;

	pthread_once(&thread_keys_once, thread_keys_init);
	if (!thread_keys_ready || p256() == NULL)
		return NULL;
	if ((tk = pthread_getspecific(thread_keys_key)) != NULL)
		return tk;
	if ((tk = calloc(1, sizeof(*tk))) == NULL)
		return NULL;
	tk->ec = EC_KEY_new();
	tk->bn = BN_CTX_new();
	if (tk->ec == NULL || tk->bn == NULL || EC_KEY_set_group(tk->ec, p256()) != 1 ||
	    pthread_setspecific(thread_keys_key, tk) != 0) {
		thread_keys_free(tk);
		return NULL;
	}
	return tk;
}

/* Decodes key into this thread's key object (the point stays there until the thread's
 * next decode). The decoder refuses coordinates that are not below the field prime or
 * not on the curve; the prefix check refuses compressed and hybrid forms, which section
 * 2 does not allow (and the 65-byte form cannot be infinity). */
static cv_err point_load(const uint8_t key[CV_KEY_LEN], EC_KEY **out)
{
	thread_keys *tk;

	*out = NULL;
	if (key[0] != 0x04)
		return CV_E_BAD_KEY;
	if ((tk = this_thread_keys()) == NULL)
		return CV_E_NOMEM;
	if (EC_KEY_oct2key(tk->ec, key, CV_KEY_LEN, tk->bn) != 1)
		return CV_E_BAD_KEY;
	*out = tk->ec;
	return CV_OK;
}

cv_err cv_pubkey_check(const uint8_t key[CV_KEY_LEN])
{
	EC_KEY *ec;

	return point_load(key, &ec);
}

/* The verification goes through the EC_KEY interface rather than EVP: EVP looks up the
 * key manager, digest and signature algorithms by name on every call and wants DER,
 * which together cost about a quarter of a verification. */
cv_err cv_verify(const uint8_t key[CV_KEY_LEN], const void *msg, size_t len,
                 const uint8_t sig[CV_SIG_LEN])
{
	uint8_t digest[CV_HASH_LEN];
	EC_KEY *ec = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	cv_err rc;

	/* OpenSSL would refuse these too, but saying so here keeps the rule visible and
	 * spares the point decoding for the cheapest forgeries. */
	if (!scalar_in_range(sig) || !scalar_in_range(sig + CV_SCALAR_LEN))
		return CV_E_BAD_SIGNATURE;
	rc = point_load(key, &ec);
	if (rc != CV_OK)
		return rc;
	rc = CV_E_NOMEM;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, CV_SCALAR_LEN, NULL);
	s = BN_bin2bn(sig + CV_SCALAR_LEN, CV_SCALAR_LEN, NULL);
	if (es == NULL || r == NULL || s == NULL)
		goto out;
	ECDSA_SIG_set0(es, r, s); /* es owns r and s from here */
	r = s = NULL;
	cv_sha256(msg, len, digest);
	rc = ECDSA_do_verify(digest, CV_HASH_LEN, es, ec) == 1 ? CV_OK : CV_E_BAD_SIGNATURE;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

/* Builds the key pair object for scalar d (already range-checked): the public point
 * is d*G, computed here because importing a private scalar alone does not derive it.
 * The scalar is marked constant-time before any use (EC_KEY_set_private_key keeps a
 * copy marked so as well): the multiplication here and every signature's arithmetic
 * on it take OpenSSL's constant-time paths. */
static cv_err privkey_build(const uint8_t d[CV_SCALAR_LEN], cv_privkey **out)
{
	const EC_GROUP *group = p256();
	EC_POINT *point = NULL;
	BIGNUM *dbn = NULL;
	BN_CTX *bn_ctx = NULL;
	cv_privkey *k = NULL;
	cv_err rc = CV_E_NOMEM;

	*out = NULL;
	if (group == NULL)
		return CV_E_INTERNAL;
	k = calloc(1, sizeof *k);
	if (k == NULL)
		goto out;
	memcpy(k->d, d, CV_SCALAR_LEN);
	point = EC_POINT_new(group);
	dbn = BN_secure_new();
	bn_ctx = BN_CTX_secure_new();
	k->ec = EC_KEY_new();
	if (point == NULL || dbn == NULL || bn_ctx == NULL || k->ec == NULL)
		goto out;
	BN_set_flags(dbn, BN_FLG_CONSTTIME);
	rc = CV_E_INTERNAL;
	if (BN_bin2bn(d, CV_SCALAR_LEN, dbn) == NULL ||
	    EC_POINT_mul(group, point, dbn, NULL, NULL, bn_ctx) != 1 ||
	    EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, k->pub, CV_KEY_LEN,
	                       bn_ctx) != CV_KEY_LEN ||
	    EC_KEY_set_group(k->ec, group) != 1 || EC_KEY_set_private_key(k->ec, dbn) != 1 ||
	    EC_KEY_set_public_key(k->ec, point) != 1)
		goto out;
	*out = k;
	k = NULL;
	rc = CV_OK;
out:
	cv_privkey_free(k);
	BN_CTX_free(bn_ctx);
	BN_clear_free(dbn);
	EC_POINT_free(point);
	return rc;
}

cv_err cv_privkey_generate(cv_privkey **out)
{
	uint8_t d[CV_SCALAR_LEN];
	cv_err rc;
	int tries;

	*out = NULL;
	/* Rejection sampling gives a uniform scalar in [1, n); a draw outside it has
	 * probability about 2^-32, so the bound is never reached in practice. */
	for (tries = 0; tries < 64; tries++) {
		rc = cv_random(d, sizeof d);
		if (rc != CV_OK)
			break;
		if (scalar_in_range(d)) {
			rc = privkey_build(d, out);
			break;
		}
		rc = CV_E_INTERNAL;
	}
	OPENSSL_cleanse(d, sizeof d);
	return rc;
}

cv_err cv_privkey_from_scalar(const uint8_t d[CV_SCALAR_LEN], cv_privkey **out)
{
	*out = NULL;
	if (!scalar_in_range(d))
		return CV_E_BAD_KEY;
	return privkey_build(d, out);
}

void cv_privkey_public(const cv_privkey *k, uint8_t key[CV_KEY_LEN])
{
	memcpy(key, k->pub, CV_KEY_LEN);
}

void cv_privkey_scalar(const cv_privkey *k, uint8_t d[CV_SCALAR_LEN])
{
	memcpy(d, k->d, CV_SCALAR_LEN);
}

/* Through ECDSA_do_sign on the key's EC_KEY: the same signing code EVP's provider
 * ends in (a fresh random nonce, constant-time arithmetic on the secret scalar and the
 * nonce), without EVP's per-call algorithm fetch, context and DER round trip, which
 * cost about as much as the signature. r and s leave as two 32-byte halves. */
cv_err cv_sign(const cv_privkey *k, const void *msg, size_t len, uint8_t sig[CV_SIG_LEN])
{
	uint8_t digest[CV_HASH_LEN];
	ECDSA_SIG *es;
	const BIGNUM *r, *s;
	cv_err rc = CV_E_INTERNAL;

	cv_sha256(msg, len, digest);
	es = ECDSA_do_sign(digest, CV_HASH_LEN, k->ec);
	if (es == NULL)
		return CV_E_INTERNAL;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, CV_SCALAR_LEN) == CV_SCALAR_LEN &&
	    BN_bn2binpad(s, sig + CV_SCALAR_LEN, CV_SCALAR_LEN) == CV_SCALAR_LEN)
		rc = CV_OK;
	ECDSA_SIG_free(es);
	return rc;
}

void cv_privkey_free(cv_privkey *k)
{
	if (k == NULL)
		return;
	EC_KEY_free(k->ec); /* clears the scalar it holds */
	OPENSSL_cleanse(k, sizeof *k);
	free(k);
}

cv_err cv_sig_to_der(const uint8_t sig[CV_SIG_LEN], uint8_t der[72], size_t *der_len)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = der;
	int n;
	cv_err rc = CV_E_NOMEM;

	*der_len = 0;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, CV_SCALAR_LEN, NULL);
	s = BN_bin2bn(sig + CV_SCALAR_LEN, CV_SCALAR_LEN, NULL);
	if (es == NULL || r == NULL || s == NULL)
		goto out;
	ECDSA_SIG_set0(es, r, s); /* es owns r and s from here */
	r = s = NULL;
	/* Two 33-byte INTEGERs at most, so the encoding never exceeds 72 bytes. */
	n = i2d_ECDSA_SIG(es, NULL);
	if (n <= 0 || n > DER_SIG_MAX) {
		rc = CV_E_INTERNAL;
		goto out;
	}
	n = i2d_ECDSA_SIG(es, &p);
	if (n <= 0) {
		rc = CV_E_INTERNAL;
		goto out;
	}
	*der_len = (size_t)n;
	rc = CV_OK;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

cv_err cv_sig_from_der(const uint8_t *der, size_t der_len, uint8_t sig[CV_SIG_LEN])
{
	const unsigned char *p = der;
	uint8_t again[DER_SIG_MAX];
	unsigned char *q = again;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	cv_err rc = CV_E_MALFORMED;

	if (der_len == 0 || der_len > DER_SIG_MAX)
		return CV_E_MALFORMED;
	es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (es == NULL || (size_t)(p - der) != der_len)
		goto out;
	/* Only the one canonical DER encoding is accepted: re-encode and compare. */
	if (i2d_ECDSA_SIG(es, NULL) != (int)der_len || i2d_ECDSA_SIG(es, &q) != (int)der_len ||
	    memcmp(again, der, der_len) != 0)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_is_negative(r) || BN_is_negative(s) ||
	    BN_bn2binpad(r, sig, CV_SCALAR_LEN) != CV_SCALAR_LEN ||
	    BN_bn2binpad(s, sig + CV_SCALAR_LEN, CV_SCALAR_LEN) != CV_SCALAR_LEN)
		goto out;
	rc = CV_OK;
out:
	ECDSA_SIG_free(es);
	return rc;
}

/* base64url of 32 bytes, no padding, into out[44]. */
static void b64url_encode32(const uint8_t in[CV_SCALAR_LEN], char out[B64URL_32_LEN + 1])
{
	char std[4 * ((CV_SCALAR_LEN + 2) / 3) + 1];
	int i;

	EVP_EncodeBlock((unsigned char *)std, in, CV_SCALAR_LEN);
	for (i = 0; i < B64URL_32_LEN; i++)
		out[i] = std[i] == '+' ? '-' : std[i] == '/' ? '_' : std[i];
	out[B64URL_32_LEN] = '\0';
}

/* Decodes exactly 32 bytes of unpadded base64url. Refuses every other spelling,
 * including the standard alphabet, padding and non-zero unused trailing bits, so that
 * each key has one textual form. */
static cv_err b64url_decode32(const char *in, uint8_t out[CV_SCALAR_LEN])
{
	char std[B64URL_32_LEN + 2], again[B64URL_32_LEN + 1];
	unsigned char raw[CV_SCALAR_LEN + 1];
	int i;

	if (strnlen(in, B64URL_32_LEN + 1) != B64URL_32_LEN)
		return CV_E_MALFORMED;
	for (i = 0; i < B64URL_32_LEN; i++) {
		char c = in[i];

		if (c == '+' || c == '/' || c == '=')
			return CV_E_MALFORMED;
		std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	std[B64URL_32_LEN] = '=';
	std[B64URL_32_LEN + 1] = '\0';
	/* EVP_DecodeBlock counts the padding position as an output byte: 33 for 32. */
	if (EVP_DecodeBlock(raw, (const unsigned char *)std, B64URL_32_LEN + 1) !=
	    CV_SCALAR_LEN + 1)
		return CV_E_MALFORMED;
	b64url_encode32(raw, again);
	if (memcmp(again, in, B64URL_32_LEN) != 0)
		return CV_E_MALFORMED;
	memcpy(out, raw, CV_SCALAR_LEN);
	OPENSSL_cleanse(raw, sizeof raw);
	return CV_OK;
}

/* Adds "key": value to o; o owns the new string, or it is released on failure. */
static cv_err add_string(json_object *o, const char *key, const char *value)
{
	json_object *v = json_object_new_string(value);

	if (v == NULL)
		return CV_E_NOMEM;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return CV_E_NOMEM;
	}
	return CV_OK;
}

cv_err cv_keyfile_format(const cv_privkey *k, char **out)
{
	char pub_hex[2 * CV_KEY_LEN + 1], x[B64URL_32_LEN + 1], y[B64URL_32_LEN + 1],
	    d[B64URL_32_LEN + 1];
	json_object *top = NULL, *jwk = NULL;
	const char *text;
	cv_err rc = CV_E_NOMEM;

	*out = NULL;
	cv_hex_encode(k->pub, CV_KEY_LEN, pub_hex);
	b64url_encode32(k->pub + 1, x);
	b64url_encode32(k->pub + 1 + CV_SCALAR_LEN, y);
	b64url_encode32(k->d, d);
	top = json_object_new_object();
	jwk = json_object_new_object();
	if (top == NULL || jwk == NULL)
		goto out;
	if (add_string(jwk, "kty", "EC") != CV_OK || add_string(jwk, "crv", "P-256") != CV_OK ||
	    add_string(jwk, "x", x) != CV_OK || add_string(jwk, "y", y) != CV_OK ||
	    add_string(jwk, "d", d) != CV_OK ||
	    add_string(top, "format", KEYFILE_FORMAT) != CV_OK ||
	    add_string(top, "public_key", pub_hex) != CV_OK)
		goto out;
	if (json_object_object_add(top, "private_key", jwk) != 0)
		goto out;
	jwk = NULL; /* top owns it now */
	text = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN |
	                                               JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL)
		goto out;
	*out = strdup(text);
	if (*out == NULL)
		goto out;
	rc = CV_OK;
out:
	/* The serialised text inside top held d; json-c frees it without wiping. */
	OPENSSL_cleanse(d, sizeof d);
	json_object_put(jwk);
	json_object_put(top);
	return rc;
}

/* A borrowed string member of o, or NULL when missing or not a string. */
static const char *member_string(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* True when a single quote appears outside a JSON string. json-c 0.16 accepts
 * 'single-quoted' member names even in strict mode, so they are refused here: in
 * JSON a quote character can only stand inside a double-quoted string. */
static bool single_quote_outside_string(const char *text, size_t len)
{
	bool in_string = false;
	size_t i;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (text[i] == '\\')
				i++; /* the escaped character cannot end the string */
			else if (text[i] == '"')
				in_string = false;
		} else if (text[i] == '"') {
			in_string = true;
		} else if (text[i] == '\'') {
			return true;
		}
	}
	return false;
}

/* Parses exactly len bytes of JSON (trailing whitespace allowed, as files end with a
 * newline). Strict grammar, UTF-8 checked, depth bounded. */
static cv_err parse_json_exact(const char *text, size_t len, json_object **out)
{
	json_tokener *tok = NULL;
	json_object *o = NULL;
	size_t end;
	cv_err rc = CV_E_MALFORMED;

	*out = NULL;
	if (len > INT32_MAX || memchr(text, '\0', len) != NULL ||
	    single_quote_outside_string(text, len))
		return CV_E_MALFORMED;
	tok = json_tokener_new_ex(KEYFILE_MAX_DEPTH);
	if (tok == NULL)
		return CV_E_NOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success)
		goto out;
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (strchr(" \t\r\n", text[end]) == NULL)
			goto out;
	*out = o;
	o = NULL;
	rc = CV_OK;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

cv_err cv_keyfile_parse(const char *text, size_t len, cv_privkey **out)
{
	static const char *const top_keys[] = {"format", "public_key", "private_key"};
	json_object *top = NULL, *jwk = NULL;
	const char *s;
	uint8_t pub[CV_KEY_LEN], d[CV_SCALAR_LEN], xy[2 * CV_SCALAR_LEN];
	cv_privkey *k = NULL;
	size_t i;
	cv_err rc;

	*out = NULL;
	rc = parse_json_exact(text, len, &top);
	if (rc != CV_OK)
		return rc;
	rc = CV_E_MALFORMED;
	if (!json_object_is_type(top, json_type_object) || json_object_object_length(top) != 3)
		goto out;
	for (i = 0; i < sizeof top_keys / sizeof top_keys[0]; i++)
		if (!json_object_object_get_ex(top, top_keys[i], NULL))
			goto out;
	s = member_string(top, "format");
	if (s == NULL || strcmp(s, KEYFILE_FORMAT) != 0)
		goto out;
	s = member_string(top, "public_key");
	if (s == NULL || cv_hex_decode(s, pub, CV_KEY_LEN) != CV_OK)
		goto out;
	/* Other JWK members (WebCrypto adds "ext" and "key_ops") carry nothing we use. */
	if (!json_object_object_get_ex(top, "private_key", &jwk) ||
	    !json_object_is_type(jwk, json_type_object))
		goto out;
	s = member_string(jwk, "kty");
	if (s == NULL || strcmp(s, "EC") != 0)
		goto out;
	s = member_string(jwk, "crv");
	if (s == NULL || strcmp(s, "P-256") != 0)
		goto out;
	s = member_string(jwk, "x");
	if (s == NULL || b64url_decode32(s, xy) != CV_OK)
		goto out;
	s = member_string(jwk, "y");
	if (s == NULL || b64url_decode32(s, xy + CV_SCALAR_LEN) != CV_OK)
		goto out;
	s = member_string(jwk, "d");
	if (s == NULL || b64url_decode32(s, d) != CV_OK)
		goto out;
	rc = CV_E_BAD_KEY;
	if (cv_privkey_from_scalar(d, &k) != CV_OK)
		goto out;
	/* The stated public key and the JWK point must both be d*G: a file whose parts
	 * disagree would make the voter sign with a key other than the one registered. */
	if (memcmp(k->pub, pub, CV_KEY_LEN) != 0 || memcmp(k->pub + 1, xy, sizeof xy) != 0)
		goto out;
	*out = k;
	k = NULL;
	rc = CV_OK;
out:
	OPENSSL_cleanse(d, sizeof d);
	cv_privkey_free(k);
	json_object_put(top);
	return rc;
}

cv_err cv_random(void *out, size_t n)
{
	unsigned char *p = out;
	int chunk;

	while (n > 0) {
		chunk = n > INT32_MAX ? INT32_MAX : (int)n;
		if (RAND_bytes(p, chunk) != 1)
			return CV_E_INTERNAL;
		p += chunk;
		n -= (size_t)chunk;
	}
	return CV_OK;
}
