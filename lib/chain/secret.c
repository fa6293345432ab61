/* Secret ballots (DESIGN section 6) over OpenSSL's EC_POINT and BN on P-256: the group
 * every prover and verifier works in. Every point that arrives is decoded by
 * cv_ec_pt_load, which refuses anything but 04||X||Y on the curve; every product that
 * would be hashed or encoded is checked against O. Secret scalars (coefficients, r, w,
 * s_j) are multiplied by points only through single-scalar EC_POINT_mul calls (constant
 * time in OpenSSL's P-256 code) with BN_FLG_CONSTTIME set, and combined with public
 * values through Montgomery products. The items' byte forms are in secret_items.c; the
 * proofs of the trustees in secret_trustee.c, of the ballots in secret_ballot.c, of the
 * decryption shares with the tally in secret_tally.c. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "chain.h"
#include "secret.h"
#include "secret_impl.h"

const uint8_t CV_POINT_O[CV_POINT_LEN];

static const uint8_t p256_n[CV_SCALAR_LEN] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* The group, its order and a Montgomery context for the order: built once, then only
 * read, which OpenSSL allows from many threads. */
static EC_GROUP *grp;
BIGNUM *cv_ec_order;
static BN_MONT_CTX *mont;
static pthread_once_t grp_once = PTHREAD_ONCE_INIT;

static void grp_init(void)
{
	BN_CTX *bn = BN_CTX_new();

	grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	cv_ec_order = BN_bin2bn(p256_n, CV_SCALAR_LEN, NULL);
	mont = BN_MONT_CTX_new();
	if (bn == NULL || mont == NULL || cv_ec_order == NULL ||
	    !BN_MONT_CTX_set(mont, cv_ec_order, bn)) {
		BN_MONT_CTX_free(mont);
		mont = NULL;
	}
	BN_CTX_free(bn);
}

cv_err cv_ec_open(ec *e)
{
	pthread_once(&grp_once, grp_init);
	e->g = grp;
	e->bn = NULL;
	if (grp == NULL || cv_ec_order == NULL || mont == NULL)
		return CV_E_INTERNAL;
	if ((e->bn = BN_CTX_new()) == NULL)
		return CV_E_NOMEM;
	return CV_OK;
}

void cv_ec_close(ec *e)
{
	BN_CTX_free(e->bn);
	e->bn = NULL;
}

bool cv_scalar_ok(const uint8_t s[CV_SCALAR_LEN])
{
	return memcmp(s, p256_n, CV_SCALAR_LEN) < 0;
}

/* Decodes a received point: exactly 04||X||Y with X, Y < p and on the curve. The
 * explicit 04 test matters: EC_POINT_oct2point also takes compressed and hybrid forms. */
bool cv_ec_pt_load(const ec *e, const uint8_t p[CV_POINT_LEN], EC_POINT *out)
{
	if (p[0] != 0x04)
		return false;
	if (!EC_POINT_oct2point(e->g, out, p, CV_POINT_LEN, e->bn))
		return false;
	return EC_POINT_is_at_infinity(e->g, out) == 0 &&
	       EC_POINT_is_on_curve(e->g, out, e->bn) == 1;
}

/* As cv_ec_pt_load, but CV_POINT_O reads as the identity (aggregates). */
bool cv_ec_pt_load_agg(const ec *e, const uint8_t p[CV_POINT_LEN], EC_POINT *out)
{
	if (memcmp(p, CV_POINT_O, CV_POINT_LEN) == 0)
		return EC_POINT_set_to_infinity(e->g, out) == 1;
	return cv_ec_pt_load(e, p, out);
}

/* Encodes p; O becomes CV_POINT_O and the answer is false, so that a caller about to
 * hash the point knows the proof is invalid. */
bool cv_ec_pt_store(const ec *e, const EC_POINT *p, uint8_t out[CV_POINT_LEN])
{
	if (EC_POINT_is_at_infinity(e->g, p) ||
	    EC_POINT_point2oct(e->g, p, POINT_CONVERSION_UNCOMPRESSED, out, CV_POINT_LEN, e->bn) !=
	        CV_POINT_LEN) {
		memcpy(out, CV_POINT_O, CV_POINT_LEN);
		return false;
	}
	return true;
}

cv_err cv_point_check(const uint8_t p[CV_POINT_LEN])
{
	EC_POINT *pt = NULL;
	ec e;
	cv_err rc;

	if ((rc = cv_ec_open(&e)) != CV_OK)
		return rc;
	rc = CV_E_NOMEM;
	if ((pt = EC_POINT_new(e.g)) == NULL)
		goto out;
	rc = cv_ec_pt_load(&e, p, pt) ? CV_OK : CV_E_BAD_KEY;
out:
	EC_POINT_free(pt);
	cv_ec_close(&e);
	return rc;
}

void cv_hs(const char *tag, const void *parts, size_t len, uint8_t out[CV_SCALAR_LEN])
{
	uint8_t h[CV_HASH_LEN];
	cv_buf b = {0};
	BIGNUM *x = NULL;

	cv_buf_tag(&b, tag);
	cv_buf_put(&b, parts, len);
	memset(out, 0, CV_SCALAR_LEN);
	pthread_once(&grp_once, grp_init);
	if (b.failed || cv_ec_order == NULL)
		goto out;
	cv_sha256(b.data, b.len, h);
	/* H < 2^256 < 2n, so one conditional subtraction reduces it */
	if ((x = BN_bin2bn(h, CV_HASH_LEN, NULL)) == NULL)
		goto out;
	if (BN_cmp(x, cv_ec_order) >= 0)
		BN_sub(x, x, cv_ec_order);
	BN_bn2binpad(x, out, CV_SCALAR_LEN);
out:
	BN_free(x);
	cv_buf_free(&b);
}

/* A scalar as a BIGNUM in the BN_CTX frame (BN_CTX_start is the caller's). */
BIGNUM *cv_ec_bn_get(const ec *e, const uint8_t s[CV_SCALAR_LEN], bool secret)
{
	BIGNUM *x = BN_CTX_get(e->bn);

	if (x == NULL || BN_bin2bn(s, CV_SCALAR_LEN, x) == NULL)
		return NULL;
	if (secret)
		BN_set_flags(x, BN_FLG_CONSTTIME);
	return x;
}

/* out = a·b mod n through the Montgomery product (a, b < n): no data-dependent
 * reduction for the secret operand. */
bool cv_ec_sc_mul(const ec *e, BIGNUM *out, const BIGNUM *a, const BIGNUM *b)
{
	BIGNUM *t = BN_CTX_get(e->bn);

	return t != NULL && BN_to_montgomery(t, a, mont, e->bn) &&
	       BN_mod_mul_montgomery(out, t, b, mont, e->bn);
}

/* out = w - c·x mod n: the response of every proof here (x secret). */
bool cv_ec_sc_response(const ec *e, BIGNUM *out, const BIGNUM *w, const BIGNUM *c, const BIGNUM *x)
{
	BIGNUM *t = BN_CTX_get(e->bn);

	if (t == NULL)
		return false;
	BN_set_flags(t, BN_FLG_CONSTTIME);
	return cv_ec_sc_mul(e, t, c, x) && BN_mod_sub(out, w, t, cv_ec_order, e->bn);
}

void cv_ec_bn_store(const BIGNUM *x, uint8_t out[CV_SCALAR_LEN])
{
	BN_bn2binpad(x, out, CV_SCALAR_LEN);
}

/* A uniform secret scalar in [1, n) from the CSPRNG, by rejection. */
cv_err cv_ec_random_scalar(uint8_t out[CV_SCALAR_LEN])
{
	static const uint8_t zero[CV_SCALAR_LEN];
	cv_err rc;

	do {
		if ((rc = cv_random(out, CV_SCALAR_LEN)) != CV_OK)
			return rc;
	} while (!cv_scalar_ok(out) || memcmp(out, zero, CV_SCALAR_LEN) == 0);
	return CV_OK;
}

/* r = s·G + t·P (s or t may be NULL): for public scalars only (a double-scalar
 * multiplication is not constant time). */
bool cv_ec_mul2(const ec *e, EC_POINT *r, const BIGNUM *s, const EC_POINT *p, const BIGNUM *t)
{
	return EC_POINT_mul(e->g, r, s, p, t, e->bn) == 1;
}

/* r = s·P + t·Q, public scalars. */
bool cv_ec_mul_pq(const ec *e, EC_POINT *r, const BIGNUM *s, const EC_POINT *p, const BIGNUM *t,
                  const EC_POINT *q)
{
	EC_POINT *x = EC_POINT_new(e->g);
	bool ok = x != NULL && EC_POINT_mul(e->g, r, NULL, p, s, e->bn) == 1 &&
	          EC_POINT_mul(e->g, x, NULL, q, t, e->bn) == 1 &&
	          EC_POINT_add(e->g, r, r, x, e->bn) == 1;

	EC_POINT_free(x);
	return ok;
}

cv_err cv_point_base_mul(const uint8_t s[CV_SCALAR_LEN], uint8_t out[CV_POINT_LEN])
{
	EC_POINT *p = NULL;
	BIGNUM *x;
	ec e;
	cv_err rc;

	if (!cv_scalar_ok(s))
		return CV_E_BAD_KEY;
	if ((rc = cv_ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((p = EC_POINT_new(e.g)) == NULL || (x = cv_ec_bn_get(&e, s, true)) == NULL)
		goto out;
	rc = CV_E_INTERNAL;
	if (!EC_POINT_mul(e.g, p, x, NULL, NULL, e.bn))
		goto out;
	rc = cv_ec_pt_store(&e, p, out) ? CV_OK : CV_E_BAD_KEY;
out:
	EC_POINT_free(p);
	BN_CTX_end(e.bn);
	cv_ec_close(&e);
	return rc;
}

cv_err cv_point_sum(const uint8_t (*points)[CV_POINT_LEN], size_t n, uint8_t out[CV_POINT_LEN])
{
	EC_POINT *acc = NULL, *p = NULL;
	ec e;
	cv_err rc;

	if ((rc = cv_ec_open(&e)) != CV_OK)
		return rc;
	rc = CV_E_NOMEM;
	if ((acc = EC_POINT_new(e.g)) == NULL || (p = EC_POINT_new(e.g)) == NULL)
		goto out;
	EC_POINT_set_to_infinity(e.g, acc);
	rc = CV_E_BAD_KEY;
	for (size_t i = 0; i < n; i++)
		if (!cv_ec_pt_load_agg(&e, points[i], p) || !EC_POINT_add(e.g, acc, acc, p, e.bn))
			goto out;
	cv_ec_pt_store(&e, acc, out);
	rc = CV_OK;
out:
	EC_POINT_free(acc);
	EC_POINT_free(p);
	cv_ec_close(&e);
	return rc;
}
