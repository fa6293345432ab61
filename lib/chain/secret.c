/* Secret ballots (DESIGN section 6) over OpenSSL's EC_POINT and BN on P-256: the
 * encodings, the provers and the verifiers of the trustee, ballot and decryption proofs,
 * and the tally. Every point that arrives is decoded by pt_load, which refuses anything
 * but 04||X||Y on the curve; every product that would be hashed or encoded is checked
 * against O. Secret scalars (coefficients, r, w, s_j) are multiplied by points only
 * through single-scalar EC_POINT_mul calls (constant time in OpenSSL's P-256 code) with
 * BN_FLG_CONSTTIME set, and combined with public values through Montgomery products. */
/* EC_GROUP_precompute_mult: OpenSSL 3 keeps it (deprecated) and nothing replaces it for a
 * generator of one's own; see key_group */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "chain.h"
#include "secret.h"

const uint8_t CV_POINT_O[CV_POINT_LEN];

static const uint8_t p256_n[CV_SCALAR_LEN] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* The group, its order and a Montgomery context for the order: built once, then only
 * read, which OpenSSL allows from many threads. */
static EC_GROUP *grp;
static BIGNUM *order;
static BN_MONT_CTX *mont;
static pthread_once_t grp_once = PTHREAD_ONCE_INIT;

static void grp_init(void)
{
	BN_CTX *bn = BN_CTX_new();

	grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	order = BN_bin2bn(p256_n, CV_SCALAR_LEN, NULL);
	mont = BN_MONT_CTX_new();
	if (bn == NULL || mont == NULL || order == NULL || !BN_MONT_CTX_set(mont, order, bn)) {
		BN_MONT_CTX_free(mont);
		mont = NULL;
	}
	BN_CTX_free(bn);
}

/* A working context: the shared group and a BN_CTX of this call's own. */
typedef struct ec {
	const EC_GROUP *g;
	BN_CTX *bn;
} ec;

static cv_err ec_open(ec *e)
{
	pthread_once(&grp_once, grp_init);
	e->g = grp;
	e->bn = NULL;
	if (grp == NULL || order == NULL || mont == NULL)
		return CV_E_INTERNAL;
	if ((e->bn = BN_CTX_new()) == NULL)
		return CV_E_NOMEM;
	return CV_OK;
}

static void ec_close(ec *e)
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
static bool pt_load(const ec *e, const uint8_t p[CV_POINT_LEN], EC_POINT *out)
{
	if (p[0] != 0x04)
		return false;
	if (!EC_POINT_oct2point(e->g, out, p, CV_POINT_LEN, e->bn))
		return false;
	return EC_POINT_is_at_infinity(e->g, out) == 0 &&
	       EC_POINT_is_on_curve(e->g, out, e->bn) == 1;
}

/* As pt_load, but CV_POINT_O reads as the identity (aggregates). */
static bool pt_load_agg(const ec *e, const uint8_t p[CV_POINT_LEN], EC_POINT *out)
{
	if (memcmp(p, CV_POINT_O, CV_POINT_LEN) == 0)
		return EC_POINT_set_to_infinity(e->g, out) == 1;
	return pt_load(e, p, out);
}

/* Encodes p; O becomes CV_POINT_O and the answer is false, so that a caller about to
 * hash the point knows the proof is invalid. */
static bool pt_store(const ec *e, const EC_POINT *p, uint8_t out[CV_POINT_LEN])
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

	if ((rc = ec_open(&e)) != CV_OK)
		return rc;
	rc = CV_E_NOMEM;
	if ((pt = EC_POINT_new(e.g)) == NULL)
		goto out;
	rc = pt_load(&e, p, pt) ? CV_OK : CV_E_BAD_KEY;
out:
	EC_POINT_free(pt);
	ec_close(&e);
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
	if (b.failed || order == NULL)
		goto out;
	cv_sha256(b.data, b.len, h);
	/* H < 2^256 < 2n, so one conditional subtraction reduces it */
	if ((x = BN_bin2bn(h, CV_HASH_LEN, NULL)) == NULL)
		goto out;
	if (BN_cmp(x, order) >= 0)
		BN_sub(x, x, order);
	BN_bn2binpad(x, out, CV_SCALAR_LEN);
out:
	BN_free(x);
	cv_buf_free(&b);
}

/* A scalar as a BIGNUM in the BN_CTX frame (BN_CTX_start is the caller's). */
static BIGNUM *bn_get(const ec *e, const uint8_t s[CV_SCALAR_LEN], bool secret)
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
static bool sc_mul(const ec *e, BIGNUM *out, const BIGNUM *a, const BIGNUM *b)
{
	BIGNUM *t = BN_CTX_get(e->bn);

	return t != NULL && BN_to_montgomery(t, a, mont, e->bn) &&
	       BN_mod_mul_montgomery(out, t, b, mont, e->bn);
}

/* out = w - c·x mod n: the response of every proof here (x secret). */
static bool sc_response(const ec *e, BIGNUM *out, const BIGNUM *w, const BIGNUM *c, const BIGNUM *x)
{
	BIGNUM *t = BN_CTX_get(e->bn);

	if (t == NULL)
		return false;
	BN_set_flags(t, BN_FLG_CONSTTIME);
	return sc_mul(e, t, c, x) && BN_mod_sub(out, w, t, order, e->bn);
}

static void bn_store(const BIGNUM *x, uint8_t out[CV_SCALAR_LEN])
{
	BN_bn2binpad(x, out, CV_SCALAR_LEN);
}

/* A uniform secret scalar in [1, n) from the CSPRNG, by rejection. */
static cv_err random_scalar(uint8_t out[CV_SCALAR_LEN])
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
static bool mul2(const ec *e, EC_POINT *r, const BIGNUM *s, const EC_POINT *p, const BIGNUM *t)
{
	return EC_POINT_mul(e->g, r, s, p, t, e->bn) == 1;
}

/* r = s·P + t·Q, public scalars. */
static bool mul_pq(const ec *e, EC_POINT *r, const BIGNUM *s, const EC_POINT *p, const BIGNUM *t,
                   const EC_POINT *q)
{
	EC_POINT *x = EC_POINT_new(e->g);
	bool ok = x != NULL && EC_POINT_mul(e->g, r, NULL, p, s, e->bn) == 1 &&
	          EC_POINT_mul(e->g, x, NULL, q, t, e->bn) == 1 &&
	          EC_POINT_add(e->g, r, r, x, e->bn) == 1;

	EC_POINT_free(x);
	return ok;
}

/* Fixed-base tables for election keys. A copy of the group whose generator is K carries
 * OpenSSL's precomputed multiples of K (EC_GROUP_precompute_mult; P-256's code then
 * multiplies by K as it does by G: a comb over the table, constant time in the scalar), so
 * that v·K + c·X costs one variable-base multiplication, as v·G + c·A does, instead of
 * two. A table costs about 40 ms and 150 KB to build; it is built once per key and
 * process and kept for the process's life. A process that meets more than KEY_TABLES
 * keys takes the plain path for the others. */
#define KEY_TABLES 8
static struct {
	uint8_t K[CV_POINT_LEN];
	EC_GROUP *g;
} key_tables[KEY_TABLES];
static size_t n_key_tables;
static pthread_mutex_t key_mu = PTHREAD_MUTEX_INITIALIZER;

/* The group with generator K (Kp, decoded), or NULL when none can be had: the callers
 * then multiply by K as by any point. Thread-safe; the group is only read after. */
static const EC_GROUP *key_group(const ec *e, const uint8_t K[CV_POINT_LEN], const EC_POINT *Kp)
{
	const EC_GROUP *found = NULL;
	EC_GROUP *g = NULL;

	pthread_mutex_lock(&key_mu);
	for (size_t i = 0; i < n_key_tables && found == NULL; i++)
		if (memcmp(key_tables[i].K, K, CV_POINT_LEN) == 0)
			found = key_tables[i].g;
	if (found != NULL || n_key_tables == KEY_TABLES)
		goto out;
	if ((g = EC_GROUP_dup(e->g)) == NULL ||
	    !EC_GROUP_set_generator(g, Kp, order, BN_value_one()) ||
	    !EC_GROUP_precompute_mult(g, e->bn)) {
		EC_GROUP_free(g);
		goto out;
	}
	memcpy(key_tables[n_key_tables].K, K, CV_POINT_LEN);
	key_tables[n_key_tables++].g = g;
	found = g;
out:
	pthread_mutex_unlock(&key_mu);
	return found;
}

/* r = s·K + t·X (t and X may be NULL: r = s·K). kg: key_group's answer for K, or NULL.
 * With kg, s may be secret (the table's comb is constant time); without it, s is secret
 * only when X is NULL (one single-scalar multiplication). */
static bool mul_key(const ec *e, const EC_GROUP *kg, EC_POINT *r, const BIGNUM *s,
                    const EC_POINT *K, const BIGNUM *t, const EC_POINT *X)
{
	if (kg != NULL)
		return EC_POINT_mul(kg, r, s, X, t, e->bn) == 1;
	if (X == NULL)
		return EC_POINT_mul(e->g, r, NULL, K, s, e->bn) == 1;
	return mul_pq(e, r, s, K, t, X);
}

cv_err cv_point_base_mul(const uint8_t s[CV_SCALAR_LEN], uint8_t out[CV_POINT_LEN])
{
	EC_POINT *p = NULL;
	BIGNUM *x;
	ec e;
	cv_err rc;

	if (!cv_scalar_ok(s))
		return CV_E_BAD_KEY;
	if ((rc = ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((p = EC_POINT_new(e.g)) == NULL || (x = bn_get(&e, s, true)) == NULL)
		goto out;
	rc = CV_E_INTERNAL;
	if (!EC_POINT_mul(e.g, p, x, NULL, NULL, e.bn))
		goto out;
	rc = pt_store(&e, p, out) ? CV_OK : CV_E_BAD_KEY;
out:
	EC_POINT_free(p);
	BN_CTX_end(e.bn);
	ec_close(&e);
	return rc;
}

cv_err cv_point_sum(const uint8_t (*points)[CV_POINT_LEN], size_t n, uint8_t out[CV_POINT_LEN])
{
	EC_POINT *acc = NULL, *p = NULL;
	ec e;
	cv_err rc;

	if ((rc = ec_open(&e)) != CV_OK)
		return rc;
	rc = CV_E_NOMEM;
	if ((acc = EC_POINT_new(e.g)) == NULL || (p = EC_POINT_new(e.g)) == NULL)
		goto out;
	EC_POINT_set_to_infinity(e.g, acc);
	rc = CV_E_BAD_KEY;
	for (size_t i = 0; i < n; i++)
		if (!pt_load_agg(&e, points[i], p) || !EC_POINT_add(e.g, acc, acc, p, e.bn))
			goto out;
	pt_store(&e, acc, out);
	rc = CV_OK;
out:
	EC_POINT_free(acc);
	EC_POINT_free(p);
	ec_close(&e);
	return rc;
}

/* ---- destructors and allocation ---- */

void cv_trustee_free(cv_trustee *t)
{
	if (t == NULL)
		return;
	free(t->commitments);
	free(t->proof_c);
	free(t->proof_v);
	memset(t, 0, sizeof(*t));
}

void cv_secrecy_free(cv_secrecy *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_trustees; i++)
		cv_trustee_free(&s->trustees[i]);
	free(s->trustees);
	memset(s, 0, sizeof(*s));
}

void cv_ballot_free(cv_ballot *b)
{
	if (b == NULL)
		return;
	free(b->cts);
	free(b->proofs);
	memset(b, 0, sizeof(*b));
}

void cv_decryption_free(cv_decryption *d)
{
	if (d == NULL)
		return;
	free(d->shares);
	memset(d, 0, sizeof(*d));
}

cv_err cv_trustee_alloc(cv_trustee *t, size_t n)
{
	if (n > CV_MAX_QUORUM)
		return CV_E_TOO_LARGE;
	t->commitments = calloc(n ? n : 1, CV_POINT_LEN);
	t->proof_c = calloc(n ? n : 1, CV_SCALAR_LEN);
	t->proof_v = calloc(n ? n : 1, CV_SCALAR_LEN);
	t->n_coeffs = n;
	if (t->commitments == NULL || t->proof_c == NULL || t->proof_v == NULL) {
		cv_trustee_free(t);
		return CV_E_NOMEM;
	}
	return CV_OK;
}

cv_err cv_ballot_alloc(cv_ballot *b, size_t k)
{
	if (k > CV_MAX_K)
		return CV_E_TOO_LARGE;
	b->cts = calloc(k ? k : 1, sizeof(*b->cts));
	b->proofs = calloc(k ? k : 1, sizeof(*b->proofs));
	b->k = k;
	if (b->cts == NULL || b->proofs == NULL) {
		free(b->cts);
		free(b->proofs);
		b->cts = NULL;
		b->proofs = NULL;
		b->k = 0;
		return CV_E_NOMEM;
	}
	return CV_OK;
}

cv_err cv_decryption_alloc(cv_decryption *d, size_t k)
{
	if (k > CV_MAX_K)
		return CV_E_TOO_LARGE;
	if ((d->shares = calloc(k ? k : 1, sizeof(*d->shares))) == NULL)
		return CV_E_NOMEM;
	d->k = k;
	return CV_OK;
}

/* ---- the genesis ---- */

cv_err cv_secrecy_entry(const cv_secrecy *s, cv_buf *b)
{
	size_t before = b->len;

	if (s->n_trustees > UINT8_MAX)
		return CV_E_TOO_LARGE;
	cv_buf_tag(b, CV_TAG_SECRECY);
	cv_buf_u8(b, s->quorum);
	cv_buf_u8(b, (uint8_t)s->n_trustees);
	if (b->failed) {
		b->len = before;
		return CV_E_NOMEM;
	}
	return CV_OK;
}

cv_err cv_trustee_entry(const cv_trustee *t, bool with_signature, cv_buf *b)
{
	size_t before = b->len;

	if (t->n_coeffs > UINT8_MAX)
		return CV_E_TOO_LARGE;
	cv_buf_tag(b, CV_TAG_TRUSTEE);
	cv_buf_put(b, t->setup_hash, CV_HASH_LEN);
	cv_buf_put(b, t->validator_key, CV_KEY_LEN);
	cv_buf_u8(b, (uint8_t)t->n_coeffs);
	for (size_t k = 0; k < t->n_coeffs; k++)
		cv_buf_put(b, t->commitments[k], CV_POINT_LEN);
	for (size_t k = 0; k < t->n_coeffs; k++) {
		cv_buf_put(b, t->proof_c[k], CV_SCALAR_LEN);
		cv_buf_put(b, t->proof_v[k], CV_SCALAR_LEN);
	}
	if (with_signature)
		cv_buf_put(b, t->signature, CV_SIG_LEN);
	if (b->failed) {
		b->len = before;
		return CV_E_NOMEM;
	}
	return CV_OK;
}

/* The challenge of trustee proof k: Hs(tag, setup_hash, key, u8(k), C_k, h). */
static void trustee_challenge(const cv_trustee *t, size_t k, const uint8_t h[CV_POINT_LEN],
                              uint8_t c[CV_SCALAR_LEN])
{
	uint8_t parts[CV_HASH_LEN + CV_KEY_LEN + 1 + 2 * CV_POINT_LEN], *p = parts;

	memcpy(p, t->setup_hash, CV_HASH_LEN);
	p += CV_HASH_LEN;
	memcpy(p, t->validator_key, CV_KEY_LEN);
	p += CV_KEY_LEN;
	*p++ = (uint8_t)k;
	memcpy(p, t->commitments[k], CV_POINT_LEN);
	memcpy(p + CV_POINT_LEN, h, CV_POINT_LEN);
	cv_hs(CV_TAG_TRUSTEE_PROOF, parts, sizeof(parts), c);
}

cv_err cv_trustee_make(const uint8_t setup_hash[CV_HASH_LEN], const cv_privkey *validator,
                       const uint8_t (*coeffs)[CV_SCALAR_LEN], size_t quorum,
                       const uint8_t (*nonces)[CV_SCALAR_LEN], cv_trustee *t)
{
	uint8_t u_bytes[CV_SCALAR_LEN], h[CV_POINT_LEN];
	BIGNUM *a, *u, *c, *v;
	cv_buf msg = {0};
	ec e = {0};
	cv_err rc;

	memset(t, 0, sizeof(*t));
	if (quorum < 1 || quorum > CV_MAX_QUORUM)
		return CV_E_SECRECY_PARAMS;
	if ((rc = cv_trustee_alloc(t, quorum)) != CV_OK)
		return rc;
	memcpy(t->setup_hash, setup_hash, CV_HASH_LEN);
	cv_privkey_public(validator, t->validator_key);
	if ((rc = ec_open(&e)) != CV_OK)
		goto out;
	for (size_t k = 0; k < quorum; k++) {
		if ((rc = cv_point_base_mul(coeffs[k], t->commitments[k])) != CV_OK)
			goto out;
		if (nonces != NULL)
			memcpy(u_bytes, nonces[k], CV_SCALAR_LEN);
		else if ((rc = random_scalar(u_bytes)) != CV_OK)
			goto out;
		if ((rc = cv_point_base_mul(u_bytes, h)) != CV_OK)
			goto out;
		trustee_challenge(t, k, h, t->proof_c[k]);
		BN_CTX_start(e.bn);
		rc = CV_E_INTERNAL;
		if ((a = bn_get(&e, coeffs[k], true)) != NULL &&
		    (u = bn_get(&e, u_bytes, true)) != NULL &&
		    (c = bn_get(&e, t->proof_c[k], false)) != NULL &&
		    (v = BN_CTX_get(e.bn)) != NULL && sc_response(&e, v, u, c, a)) {
			bn_store(v, t->proof_v[k]);
			rc = CV_OK;
		}
		BN_CTX_end(e.bn);
		if (rc != CV_OK)
			goto out;
	}
	if ((rc = cv_trustee_entry(t, false, &msg)) == CV_OK)
		rc = cv_sign(validator, msg.data, msg.len, t->signature);
out:
	OPENSSL_cleanse(u_bytes, sizeof(u_bytes));
	cv_buf_free(&msg);
	ec_close(&e);
	if (rc != CV_OK)
		cv_trustee_free(t);
	return rc;
}

cv_err cv_trustee_verify(const cv_trustee *t)
{
	uint8_t h_bytes[CV_POINT_LEN], c_want[CV_SCALAR_LEN];
	EC_POINT *C = NULL, *h = NULL;
	BIGNUM *c, *v;
	cv_buf msg = {0};
	ec e = {0};
	cv_err rc;

	if ((rc = ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((C = EC_POINT_new(e.g)) == NULL || (h = EC_POINT_new(e.g)) == NULL ||
	    (c = BN_CTX_get(e.bn)) == NULL || (v = BN_CTX_get(e.bn)) == NULL)
		goto out;
	for (size_t k = 0; k < t->n_coeffs; k++) {
		rc = CV_E_TRUSTEE_PROOF;
		if (!pt_load(&e, t->commitments[k], C) || !cv_scalar_ok(t->proof_c[k]) ||
		    !cv_scalar_ok(t->proof_v[k]))
			goto out;
		BN_bin2bn(t->proof_c[k], CV_SCALAR_LEN, c);
		BN_bin2bn(t->proof_v[k], CV_SCALAR_LEN, v);
		if (!mul2(&e, h, v, C, c) || !pt_store(&e, h, h_bytes))
			goto out;
		trustee_challenge(t, k, h_bytes, c_want);
		if (memcmp(c_want, t->proof_c[k], CV_SCALAR_LEN) != 0)
			goto out;
	}
	if ((rc = cv_trustee_entry(t, false, &msg)) != CV_OK)
		goto out;
	rc = cv_verify(t->validator_key, msg.data, msg.len, t->signature) == CV_OK
	         ? CV_OK
	         : CV_E_TRUSTEE_SIGNATURE;
out:
	cv_buf_free(&msg);
	EC_POINT_free(C);
	EC_POINT_free(h);
	BN_CTX_end(e.bn);
	ec_close(&e);
	return rc;
}

cv_err cv_election_key(const cv_secrecy *s, uint8_t K[CV_POINT_LEN])
{
	EC_POINT *acc = NULL, *p = NULL;
	ec e;
	cv_err rc;

	if ((rc = ec_open(&e)) != CV_OK)
		return rc;
	rc = CV_E_NOMEM;
	if ((acc = EC_POINT_new(e.g)) == NULL || (p = EC_POINT_new(e.g)) == NULL)
		goto out;
	EC_POINT_set_to_infinity(e.g, acc);
	rc = CV_E_SECRECY_PARAMS;
	for (size_t j = 0; j < s->n_trustees; j++)
		if (s->trustees[j].n_coeffs < 1 || !pt_load(&e, s->trustees[j].commitments[0], p) ||
		    !EC_POINT_add(e.g, acc, acc, p, e.bn))
			goto out;
	rc = pt_store(&e, acc, K) ? CV_OK : CV_E_SECRECY_PARAMS;
out:
	EC_POINT_free(acc);
	EC_POINT_free(p);
	ec_close(&e);
	return rc;
}

cv_err cv_trustee_key(const cv_secrecy *s, uint64_t x, uint8_t K_j[CV_POINT_LEN])
{
	EC_POINT *acc = NULL, *p = NULL, *t = NULL;
	BIGNUM *xb, *xk;
	ec e;
	cv_err rc;

	if ((rc = ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((acc = EC_POINT_new(e.g)) == NULL || (p = EC_POINT_new(e.g)) == NULL ||
	    (t = EC_POINT_new(e.g)) == NULL || (xb = BN_CTX_get(e.bn)) == NULL ||
	    (xk = BN_CTX_get(e.bn)) == NULL)
		goto out;
	EC_POINT_set_to_infinity(e.g, acc);
	BN_set_word(xb, x);
	for (size_t l = 0; l < s->n_trustees; l++) {
		const cv_trustee *tr = &s->trustees[l];

		BN_one(xk);
		for (size_t k = 0; k < tr->n_coeffs; k++) {
			rc = CV_E_SECRECY_PARAMS;
			if (!pt_load(&e, tr->commitments[k], p))
				goto out;
			rc = CV_E_INTERNAL;
			if (!EC_POINT_mul(e.g, t, NULL, p, xk, e.bn) ||
			    !EC_POINT_add(e.g, acc, acc, t, e.bn) ||
			    !BN_mod_mul(xk, xk, xb, order, e.bn))
				goto out;
		}
	}
	rc = pt_store(&e, acc, K_j) ? CV_OK : CV_E_SECRECY_PARAMS;
out:
	EC_POINT_free(acc);
	EC_POINT_free(p);
	EC_POINT_free(t);
	BN_CTX_end(e.bn);
	ec_close(&e);
	return rc;
}

cv_err cv_poly_eval(const uint8_t (*coeffs)[CV_SCALAR_LEN], size_t n, uint64_t x,
                    uint8_t out[CV_SCALAR_LEN])
{
	BIGNUM *acc, *xb, *a;
	ec e;
	cv_err rc;

	if ((rc = ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_INTERNAL;
	if ((acc = BN_CTX_get(e.bn)) == NULL || (xb = BN_CTX_get(e.bn)) == NULL)
		goto out;
	BN_set_flags(acc, BN_FLG_CONSTTIME);
	BN_zero(acc);
	BN_set_word(xb, x);
	/* Horner from the top coefficient: acc = acc·x + a_k */
	for (size_t k = n; k-- > 0;) {
		if ((a = bn_get(&e, coeffs[k], true)) == NULL || !sc_mul(&e, acc, acc, xb) ||
		    !BN_mod_add(acc, acc, a, order, e.bn))
			goto out;
	}
	bn_store(acc, out);
	rc = CV_OK;
out:
	BN_CTX_end(e.bn);
	ec_close(&e);
	return rc;
}

/* ---- signed items: a ballot and a decryption share are each a payload, its hash as
 * txid, and payload || signature as the leaf; one copy of that shape for both ---- */

typedef cv_err (*payload_fn)(const void *item, cv_buf *b);

static cv_err item_txid(payload_fn payload, const void *item, uint8_t txid[CV_HASH_LEN])
{
	cv_buf b = {0};
	cv_err rc = payload(item, &b);

	if (rc == CV_OK)
		cv_sha256(b.data, b.len, txid);
	cv_buf_free(&b);
	return rc;
}

static cv_err item_leaf(payload_fn payload, const void *item, const uint8_t sig[CV_SIG_LEN],
                        cv_buf *b)
{
	cv_err rc = payload(item, b);

	return rc == CV_OK ? cv_buf_put(b, sig, CV_SIG_LEN) : rc;
}

static cv_err item_sign(payload_fn payload, const void *item, const cv_privkey *key,
                        uint8_t sig[CV_SIG_LEN])
{
	cv_buf b = {0};
	cv_err rc = payload(item, &b);

	if (rc == CV_OK)
		rc = cv_sign(key, b.data, b.len, sig);
	cv_buf_free(&b);
	return rc;
}

static cv_err ballot_payload(const void *item, cv_buf *b)
{
	return cv_ballot_payload(item, b);
}

static cv_err decryption_payload(const void *item, cv_buf *b)
{
	return cv_decryption_payload(item, b);
}

/* ---- ballots ---- */

cv_err cv_ballot_payload(const cv_ballot *bl, cv_buf *b)
{
	size_t before = b->len;

	if (bl->is_vote) {
		cv_vote v = {.candidate_id = bl->vote_candidate, .timestamp = bl->timestamp};
		uint8_t payload[CV_PAYLOAD_LEN];

		memcpy(v.election_id, bl->election_id, CV_HASH_LEN);
		memcpy(v.voter_key, bl->voter_key, CV_KEY_LEN);
		cv_vote_payload(&v, payload);
		return cv_buf_put(b, payload, sizeof(payload));
	}
	if (bl->k > UINT16_MAX)
		return CV_E_TOO_LARGE;
	cv_buf_tag(b, CV_TAG_BALLOT);
	cv_buf_put(b, bl->election_id, CV_HASH_LEN);
	cv_buf_put(b, bl->voter_key, CV_KEY_LEN);
	cv_buf_u64(b, bl->timestamp);
	cv_buf_u16(b, (uint16_t)bl->k);
	for (size_t i = 0; i < bl->k; i++) {
		cv_buf_put(b, bl->cts[i].a, CV_POINT_LEN);
		cv_buf_put(b, bl->cts[i].b, CV_POINT_LEN);
	}
	for (size_t i = 0; i < bl->k; i++)
		cv_buf_put(b, &bl->proofs[i], sizeof(bl->proofs[i]));
	cv_buf_put(b, bl->sum_c, CV_SCALAR_LEN);
	cv_buf_put(b, bl->sum_v, CV_SCALAR_LEN);
	if (b->failed) {
		b->len = before;
		return CV_E_NOMEM;
	}
	return CV_OK;
}

cv_err cv_ballot_txid(const cv_ballot *bl, uint8_t txid[CV_HASH_LEN])
{
	return item_txid(ballot_payload, bl, txid);
}

cv_err cv_ballot_leaf(const cv_ballot *bl, cv_buf *b)
{
	return item_leaf(ballot_payload, bl, bl->signature, b);
}

/* A bounded reader over a leaf: every read checks the bytes left first. */
typedef struct leaf_reader {
	const uint8_t *p;
	size_t n, off;
	bool bad;
} leaf_reader;

static const uint8_t *lr_take(leaf_reader *r, size_t n)
{
	const uint8_t *at;

	if (r->bad || n > r->n - r->off) {
		r->bad = true;
		return NULL;
	}
	at = r->p + r->off;
	r->off += n;
	return at;
}

static void lr_copy(leaf_reader *r, void *out, size_t n)
{
	const uint8_t *at = lr_take(r, n);

	if (at != NULL)
		memcpy(out, at, n);
}

static uint64_t lr_uint(leaf_reader *r, size_t n)
{
	const uint8_t *at = lr_take(r, n);
	uint64_t v = 0;

	for (size_t i = 0; at != NULL && i < n; i++)
		v = v << 8 | at[i];
	return v;
}

cv_err cv_ballot_from_leaf(const uint8_t *leaf, size_t len, cv_ballot *bl)
{
	leaf_reader r = {leaf, len, 0, false};
	const uint8_t *tag;
	size_t k;

	memset(bl, 0, sizeof(*bl));
	tag = lr_take(&r, strlen(CV_TAG_BALLOT));
	if (tag == NULL || memcmp(tag, CV_TAG_BALLOT, strlen(CV_TAG_BALLOT)) != 0)
		return CV_E_MALFORMED;
	lr_copy(&r, bl->election_id, CV_HASH_LEN);
	lr_copy(&r, bl->voter_key, CV_KEY_LEN);
	bl->timestamp = lr_uint(&r, 8);
	k = (size_t)lr_uint(&r, 2);
	if (r.bad || k > (r.n - r.off) / (2 * CV_POINT_LEN + sizeof(cv_ballot_proof)))
		return CV_E_MALFORMED;
	if (cv_ballot_alloc(bl, k) != CV_OK)
		return CV_E_NOMEM;
	for (size_t i = 0; i < k; i++) {
		lr_copy(&r, bl->cts[i].a, CV_POINT_LEN);
		lr_copy(&r, bl->cts[i].b, CV_POINT_LEN);
	}
	for (size_t i = 0; i < k; i++)
		lr_copy(&r, &bl->proofs[i], sizeof(bl->proofs[i]));
	lr_copy(&r, bl->sum_c, CV_SCALAR_LEN);
	lr_copy(&r, bl->sum_v, CV_SCALAR_LEN);
	lr_copy(&r, bl->signature, CV_SIG_LEN);
	if (r.bad || r.off != r.n) {
		cv_ballot_free(bl);
		return CV_E_MALFORMED;
	}
	return CV_OK;
}

/* The 0/1 proof's challenge for position i. */
static void ballot_challenge(const cv_ballot *bl, size_t i, const uint8_t pts[4][CV_POINT_LEN],
                             uint8_t c[CV_SCALAR_LEN])
{
	uint8_t parts[CV_HASH_LEN + CV_KEY_LEN + 2 + 6 * CV_POINT_LEN], *p = parts;

	memcpy(p, bl->election_id, CV_HASH_LEN);
	p += CV_HASH_LEN;
	memcpy(p, bl->voter_key, CV_KEY_LEN);
	p += CV_KEY_LEN;
	*p++ = (uint8_t)(i >> 8);
	*p++ = (uint8_t)i;
	memcpy(p, bl->cts[i].a, CV_POINT_LEN);
	memcpy(p + CV_POINT_LEN, bl->cts[i].b, CV_POINT_LEN);
	memcpy(p + 2 * CV_POINT_LEN, pts, 4 * CV_POINT_LEN);
	cv_hs(CV_TAG_BALLOT_PROOF, parts, sizeof(parts), c);
}

static void sum_challenge(const cv_ballot *bl, const uint8_t pts[4][CV_POINT_LEN],
                          uint8_t c[CV_SCALAR_LEN])
{
	uint8_t parts[CV_HASH_LEN + CV_KEY_LEN + 4 * CV_POINT_LEN];

	memcpy(parts, bl->election_id, CV_HASH_LEN);
	memcpy(parts + CV_HASH_LEN, bl->voter_key, CV_KEY_LEN);
	memcpy(parts + CV_HASH_LEN + CV_KEY_LEN, pts, 4 * CV_POINT_LEN);
	cv_hs(CV_TAG_BALLOT_SUM, parts, sizeof(parts), c);
}

/* The verifier's view of either branch for ciphertext (A, B) and X = B − m·G:
 * a = v·G + c·A, b = v·K + c·X (kg: K's table or NULL). False when either is O. Public
 * values only; the prover's simulated branch is sim_points. */
static bool branch_points(const ec *e, const EC_GROUP *kg, const EC_POINT *A, const EC_POINT *X,
                          const EC_POINT *K, const BIGNUM *c, const BIGNUM *v,
                          uint8_t a[CV_POINT_LEN], uint8_t b[CV_POINT_LEN])
{
	EC_POINT *r = EC_POINT_new(e->g);
	bool ok = r != NULL && mul2(e, r, v, A, c) && pt_store(e, r, a) &&
	          mul_key(e, kg, r, v, K, c, X) && pt_store(e, r, b);

	EC_POINT_free(r);
	return ok;
}

/* X − m·G for m ∈ {0, 1} (the verifier's view; public values only). */
static bool minus_mG(const ec *e, EC_POINT *out, const EC_POINT *X, int m)
{
	if (!EC_POINT_copy(out, X))
		return false;
	if (m == 0)
		return true;
	EC_POINT *G = EC_POINT_dup(EC_GROUP_get0_generator(e->g), e->g);
	bool ok =
	    G != NULL && EC_POINT_invert(e->g, G, e->bn) && EC_POINT_add(e->g, out, out, G, e->bn);

	EC_POINT_free(G);
	return ok;
}

/* The prover's secret choice never picks a branch, an address or a table entry: both
 * candidates are computed and one is kept by mask. bit is 0 or 1. */
static unsigned ct_eq(size_t a, size_t b)
{
	size_t d = a ^ b;

	return (unsigned)(1 & ~((d | (0 - d)) >> (sizeof(size_t) * 8 - 1)));
}

/* out = bit ? y : x, byte by byte under a mask. */
static void ct_select(uint8_t *out, const uint8_t *x, const uint8_t *y, size_t n, unsigned bit)
{
	uint8_t mask = (uint8_t)(0u - bit);

	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(x[i] ^ (mask & (x[i] ^ y[i])));
}

/* Swaps x and y when bit is 1. */
static void ct_swap(uint8_t *x, uint8_t *y, size_t n, unsigned bit)
{
	uint8_t mask = (uint8_t)(0u - bit);

	for (size_t i = 0; i < n; i++) {
		uint8_t t = (uint8_t)(mask & (x[i] ^ y[i]));

		x[i] ^= t;
		y[i] ^= t;
	}
}

/* The prover's simulated pair (a, b) for ciphertext A = r·G, B = r·K + m·G and the other
 * branch's statement X = B − (1−m)·G = r·K + d·G, d = 2m − 1, without a variable-base
 * multiplication: a = v·G + c·A = u·G and b = v·K + c·X = u·K + d·(c·G), u = v + c·r.
 * The same points the verifier computes, so the same bytes. u depends on the secret r and
 * meets points only through fixed-base combs (constant time); ±c·G is chosen by a byte
 * mask on m. False when a point on the way is O (negligible: draw again). */
static bool sim_points(const ec *e, const EC_GROUP *kg, const EC_POINT *K, const BIGNUM *r,
                       const BIGNUM *c, const BIGNUM *v, unsigned m, uint8_t a[CV_POINT_LEN],
                       uint8_t b[CV_POINT_LEN])
{
	uint8_t plus[CV_POINT_LEN], minus[CV_POINT_LEN], cg[CV_POINT_LEN];
	EC_POINT *P = EC_POINT_new(e->g), *Q = EC_POINT_new(e->g);
	BIGNUM *u = BN_CTX_get(e->bn);
	bool ok = P != NULL && Q != NULL && u != NULL;

	if (ok)
		BN_set_flags(u, BN_FLG_CONSTTIME);
	ok = ok && sc_mul(e, u, c, r) && BN_mod_add(u, u, v, order, e->bn) &&
	     EC_POINT_mul(e->g, P, u, NULL, NULL, e->bn) && pt_store(e, P, a) &&
	     EC_POINT_mul(e->g, Q, c, NULL, NULL, e->bn) && pt_store(e, Q, plus) &&
	     EC_POINT_invert(e->g, Q, e->bn) && pt_store(e, Q, minus);
	if (ok)
		ct_select(cg, minus, plus, CV_POINT_LEN, m);
	ok = ok && pt_load(e, cg, Q) && mul_key(e, kg, P, u, K, NULL, NULL) &&
	     EC_POINT_add(e->g, P, P, Q, e->bn) && pt_store(e, P, b);
	EC_POINT_free(P);
	EC_POINT_free(Q);
	return ok;
}

cv_err cv_ballot_make(cv_ballot *bl, const uint8_t K[CV_POINT_LEN], size_t k, size_t choice,
                      const cv_ballot_rand *rnd)
{
	uint8_t r[CV_SCALAR_LEN], w[CV_SCALAR_LEN], sc[CV_SCALAR_LEN], sv[CV_SCALAR_LEN];
	/* pts: the real pair (a, b) then the simulated one, swapped into position order */
	uint8_t pts[4][CV_POINT_LEN], c[CV_SCALAR_LEN];
	uint8_t b0[CV_POINT_LEN], b1[CV_POINT_LEN];
	EC_POINT *Kp = NULL, *A = NULL, *B = NULL, *T = NULL, *As = NULL, *Bs = NULL;
	BIGNUM *rb, *wb, *cb, *cs, *vb, *R;
	const EC_GROUP *kg;
	ec e = {0};
	cv_err rc;

	if (k < 1 || choice >= k)
		return CV_E_BALLOT_COUNT;
	free(bl->cts);
	free(bl->proofs);
	bl->cts = NULL;
	bl->proofs = NULL;
	bl->is_vote = false;
	if ((rc = cv_ballot_alloc(bl, k)) != CV_OK)
		return rc;
	if ((rc = ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((Kp = EC_POINT_new(e.g)) == NULL || (A = EC_POINT_new(e.g)) == NULL ||
	    (B = EC_POINT_new(e.g)) == NULL || (T = EC_POINT_new(e.g)) == NULL ||
	    (As = EC_POINT_new(e.g)) == NULL || (Bs = EC_POINT_new(e.g)) == NULL ||
	    (R = BN_CTX_get(e.bn)) == NULL)
		goto out;
	rc = CV_E_BAD_KEY;
	if (!pt_load(&e, K, Kp))
		goto out;
	kg = key_group(&e, K, Kp);
	BN_set_flags(R, BN_FLG_CONSTTIME);
	BN_zero(R);
	EC_POINT_set_to_infinity(e.g, As);
	EC_POINT_set_to_infinity(e.g, Bs);
	for (size_t i = 0; i < k; i++) {
		unsigned m = ct_eq(i, choice);
		cv_ballot_proof *pf = &bl->proofs[i];

		/* one BN_CTX frame per position (ended below, or by BN_CTX_free on failure) */
		BN_CTX_start(e.bn);

		if (rnd != NULL) {
			memcpy(r, rnd->r[i], CV_SCALAR_LEN);
			memcpy(w, rnd->w[i], CV_SCALAR_LEN);
			memcpy(sc, rnd->sim_c[i], CV_SCALAR_LEN);
			memcpy(sv, rnd->sim_v[i], CV_SCALAR_LEN);
		} else if ((rc = random_scalar(r)) != CV_OK || (rc = random_scalar(w)) != CV_OK ||
		           (rc = random_scalar(sc)) != CV_OK || (rc = random_scalar(sv)) != CV_OK) {
			goto out;
		}
		rc = CV_E_INTERNAL;
		if ((rb = bn_get(&e, r, true)) == NULL || (wb = bn_get(&e, w, true)) == NULL)
			goto out;
		/* A = r·G; B = r·K + m·G, both values of m computed and one kept. The other
		 * branch proves B − (1−m)·G (sim_points). */
		rc = CV_E_BALLOT_PROOF; /* an O on the way: negligible, draw again */
		if (!EC_POINT_mul(e.g, A, rb, NULL, NULL, e.bn) || !pt_store(&e, A, bl->cts[i].a) ||
		    !mul_key(&e, kg, B, rb, Kp, NULL, NULL) || !pt_store(&e, B, b0) ||
		    !EC_POINT_add(e.g, T, B, EC_GROUP_get0_generator(e.g), e.bn) ||
		    !pt_store(&e, T, b1))
			goto out;
		ct_select(bl->cts[i].b, b0, b1, CV_POINT_LEN, m);
		rc = CV_E_INTERNAL;
		if (!pt_load(&e, bl->cts[i].b, B))
			goto out;
		/* the real pair: a = w·G, b = w·K; the simulated one from (c, v) drawn */
		if ((cb = bn_get(&e, sc, false)) == NULL || (vb = bn_get(&e, sv, false)) == NULL)
			goto out;
		{
			EC_POINT *W = EC_POINT_new(e.g);
			bool ok = W != NULL && EC_POINT_mul(e.g, W, wb, NULL, NULL, e.bn) &&
			          pt_store(&e, W, pts[0]) &&
			          mul_key(&e, kg, W, wb, Kp, NULL, NULL) &&
			          pt_store(&e, W, pts[1]) &&
			          sim_points(&e, kg, Kp, rb, cb, vb, m, pts[2], pts[3]);

			EC_POINT_free(W);
			if (!ok)
				goto out;
		}
		/* position order: (a_0, b_0, a_1, b_1); the real pair is slot m */
		ct_swap(pts[0], pts[2], 2 * CV_POINT_LEN, m);
		ballot_challenge(bl, i, (const uint8_t(*)[CV_POINT_LEN])pts, c);
		if ((cs = bn_get(&e, c, false)) == NULL || !BN_mod_sub(cs, cs, cb, order, e.bn))
			goto out;
		if (!sc_response(&e, vb, wb, cs, rb))
			goto out;
		/* (c_m, v_m) into slot m, the simulated pair into the other */
		bn_store(cs, pf->c0);
		bn_store(vb, pf->v0);
		memcpy(pf->c1, sc, CV_SCALAR_LEN);
		memcpy(pf->v1, sv, CV_SCALAR_LEN);
		ct_swap(pf->c0, pf->c1, CV_SCALAR_LEN, m);
		ct_swap(pf->v0, pf->v1, CV_SCALAR_LEN, m);
		if (!BN_mod_add(R, R, rb, order, e.bn) || !EC_POINT_add(e.g, As, As, A, e.bn) ||
		    !EC_POINT_add(e.g, Bs, Bs, B, e.bn))
			goto out;
		BN_CTX_end(e.bn);
	}
	/* the sum proof: a = w·G, b = w·K, v_s = w − c_s·R */
	if (rnd != NULL)
		memcpy(w, rnd->sum_w, CV_SCALAR_LEN);
	else if ((rc = random_scalar(w)) != CV_OK)
		goto out;
	rc = CV_E_INTERNAL;
	if ((wb = bn_get(&e, w, true)) == NULL || !pt_store(&e, As, pts[0]) ||
	    !pt_store(&e, Bs, pts[1]) || !EC_POINT_mul(e.g, T, wb, NULL, NULL, e.bn) ||
	    !pt_store(&e, T, pts[2]) || !mul_key(&e, kg, T, wb, Kp, NULL, NULL) ||
	    !pt_store(&e, T, pts[3]))
		goto out;
	sum_challenge(bl, (const uint8_t(*)[CV_POINT_LEN])pts, bl->sum_c);
	if ((cs = bn_get(&e, bl->sum_c, false)) == NULL || (vb = BN_CTX_get(e.bn)) == NULL ||
	    !sc_response(&e, vb, wb, cs, R))
		goto out;
	bn_store(vb, bl->sum_v);
	rc = CV_OK;
out:
	OPENSSL_cleanse(r, sizeof(r));
	OPENSSL_cleanse(w, sizeof(w));
	EC_POINT_free(Kp);
	EC_POINT_free(A);
	EC_POINT_free(B);
	EC_POINT_free(T);
	EC_POINT_free(As);
	EC_POINT_free(Bs);
	BN_CTX_end(e.bn);
	ec_close(&e);
	return rc;
}

cv_err cv_ballot_sign(cv_ballot *bl, const cv_privkey *voter)
{
	return item_sign(ballot_payload, bl, voter, bl->signature);
}

/* cv_ballot_verify, and without the signature cv_ballot_verify_proofs. */
static cv_err ballot_check(const cv_ballot *bl, const uint8_t K[CV_POINT_LEN], size_t n_candidates,
                           size_t *pos, bool with_signature)
{
	uint8_t pts[4][CV_POINT_LEN], c[CV_SCALAR_LEN];
	EC_POINT *Kp = NULL, *A = NULL, *B = NULL, *As = NULL, *Bs = NULL, *X = NULL;
	BIGNUM *c0, *v0, *c1, *v1, *sum;
	const EC_GROUP *kg;
	size_t at = SIZE_MAX;
	cv_buf msg = {0};
	ec e = {0};
	cv_err rc;

	if (pos != NULL)
		*pos = SIZE_MAX;
	if (bl->is_vote)
		return CV_E_WRONG_MODE;
	if (bl->k != n_candidates)
		return CV_E_BALLOT_COUNT;
	if ((rc = ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((Kp = EC_POINT_new(e.g)) == NULL || (A = EC_POINT_new(e.g)) == NULL ||
	    (B = EC_POINT_new(e.g)) == NULL || (As = EC_POINT_new(e.g)) == NULL ||
	    (Bs = EC_POINT_new(e.g)) == NULL || (X = EC_POINT_new(e.g)) == NULL ||
	    (c0 = BN_CTX_get(e.bn)) == NULL || (v0 = BN_CTX_get(e.bn)) == NULL ||
	    (c1 = BN_CTX_get(e.bn)) == NULL || (v1 = BN_CTX_get(e.bn)) == NULL ||
	    (sum = BN_CTX_get(e.bn)) == NULL)
		goto out;
	rc = CV_E_INTERNAL;
	if (!pt_load(&e, K, Kp))
		goto out;
	kg = key_group(&e, K, Kp);
	/* every point and scalar first, so that a malformed value is named as such */
	for (at = 0; at < bl->k; at++) {
		const cv_ballot_proof *pf = &bl->proofs[at];

		rc = CV_E_BALLOT_POINT;
		if (!pt_load(&e, bl->cts[at].a, A) || !pt_load(&e, bl->cts[at].b, B))
			goto out;
		rc = CV_E_BALLOT_SCALAR;
		if (!cv_scalar_ok(pf->c0) || !cv_scalar_ok(pf->v0) || !cv_scalar_ok(pf->c1) ||
		    !cv_scalar_ok(pf->v1))
			goto out;
	}
	at = SIZE_MAX;
	rc = CV_E_BALLOT_SCALAR;
	if (!cv_scalar_ok(bl->sum_c) || !cv_scalar_ok(bl->sum_v))
		goto out;
	EC_POINT_set_to_infinity(e.g, As);
	EC_POINT_set_to_infinity(e.g, Bs);
	for (at = 0; at < bl->k; at++) {
		const cv_ballot_proof *pf = &bl->proofs[at];

		rc = CV_E_INTERNAL;
		if (!pt_load(&e, bl->cts[at].a, A) || !pt_load(&e, bl->cts[at].b, B) ||
		    !EC_POINT_add(e.g, As, As, A, e.bn) || !EC_POINT_add(e.g, Bs, Bs, B, e.bn))
			goto out;
		BN_bin2bn(pf->c0, CV_SCALAR_LEN, c0);
		BN_bin2bn(pf->v0, CV_SCALAR_LEN, v0);
		BN_bin2bn(pf->c1, CV_SCALAR_LEN, c1);
		BN_bin2bn(pf->v1, CV_SCALAR_LEN, v1);
		rc = CV_E_BALLOT_PROOF;
		if (!branch_points(&e, kg, A, B, Kp, c0, v0, pts[0], pts[1]) ||
		    !minus_mG(&e, X, B, 1) ||
		    !branch_points(&e, kg, A, X, Kp, c1, v1, pts[2], pts[3]))
			goto out;
		ballot_challenge(bl, at, (const uint8_t(*)[CV_POINT_LEN])pts, c);
		if (!BN_mod_add(sum, c0, c1, order, e.bn))
			goto out;
		BN_bin2bn(c, CV_SCALAR_LEN, c0);
		if (BN_cmp(sum, c0) != 0)
			goto out;
	}
	at = SIZE_MAX;
	rc = CV_E_BALLOT_SUM_PROOF;
	if (!pt_store(&e, As, pts[0]) || !pt_store(&e, Bs, pts[1]))
		goto out;
	BN_bin2bn(bl->sum_c, CV_SCALAR_LEN, c0);
	BN_bin2bn(bl->sum_v, CV_SCALAR_LEN, v0);
	if (!minus_mG(&e, X, Bs, 1) || !branch_points(&e, kg, As, X, Kp, c0, v0, pts[2], pts[3]))
		goto out;
	sum_challenge(bl, (const uint8_t(*)[CV_POINT_LEN])pts, c);
	if (memcmp(c, bl->sum_c, CV_SCALAR_LEN) != 0)
		goto out;
	rc = CV_OK;
	if (!with_signature)
		goto out;
	if ((rc = cv_ballot_payload(bl, &msg)) != CV_OK)
		goto out;
	rc = cv_verify(bl->voter_key, msg.data, msg.len, bl->signature);
out:
	if (pos != NULL)
		*pos = rc == CV_OK ? SIZE_MAX : at;
	cv_buf_free(&msg);
	EC_POINT_free(Kp);
	EC_POINT_free(A);
	EC_POINT_free(B);
	EC_POINT_free(As);
	EC_POINT_free(Bs);
	EC_POINT_free(X);
	BN_CTX_end(e.bn);
	ec_close(&e);
	return rc;
}

cv_err cv_ballot_verify(const cv_ballot *bl, const uint8_t K[CV_POINT_LEN], size_t n_candidates,
                        size_t *pos)
{
	return ballot_check(bl, K, n_candidates, pos, true);
}

cv_err cv_ballot_verify_proofs(const cv_ballot *bl, const uint8_t K[CV_POINT_LEN],
                               size_t n_candidates, size_t *pos)
{
	return ballot_check(bl, K, n_candidates, pos, false);
}

cv_err cv_ballot_open(const cv_ballot *bl, const uint8_t K[CV_POINT_LEN],
                      const cv_ballot_opening *opening, size_t *choice, size_t *pos)
{
	static const uint8_t zero[CV_SCALAR_LEN];
	uint8_t a[CV_POINT_LEN], b[CV_POINT_LEN];
	EC_POINT *Kp = NULL, *P = NULL;
	BIGNUM *r;
	size_t at = SIZE_MAX, n_ones = 0;
	ec e = {0};
	cv_err rc;

	*choice = SIZE_MAX;
	if (pos != NULL)
		*pos = SIZE_MAX;
	if (bl->is_vote)
		return CV_E_WRONG_MODE;
	if ((rc = ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((Kp = EC_POINT_new(e.g)) == NULL || (P = EC_POINT_new(e.g)) == NULL ||
	    (r = BN_CTX_get(e.bn)) == NULL)
		goto out;
	rc = CV_E_BAD_KEY;
	if (!pt_load(&e, K, Kp))
		goto out;
	for (at = 0; at < bl->k; at++) {
		const uint8_t *ri = opening->r[at];
		uint8_t m = opening->m[at];

		rc = CV_E_BALLOT_SCALAR;
		if (!cv_scalar_ok(ri) || memcmp(ri, zero, CV_SCALAR_LEN) == 0)
			goto out;
		rc = CV_E_MALFORMED;
		if (m > 1)
			goto out;
		n_ones += m;
		if (m == 1)
			*choice = at;
		/* r is revealed: public scalars, plain multiplications */
		BN_bin2bn(ri, CV_SCALAR_LEN, r);
		rc = CV_E_BALLOT_PROOF;
		if (!mul2(&e, P, r, NULL, NULL) || !pt_store(&e, P, a) ||
		    !mul2(&e, P, NULL, Kp, r) ||
		    (m == 1 && !EC_POINT_add(e.g, P, P, EC_GROUP_get0_generator(e.g), e.bn)) ||
		    !pt_store(&e, P, b) || memcmp(a, bl->cts[at].a, CV_POINT_LEN) != 0 ||
		    memcmp(b, bl->cts[at].b, CV_POINT_LEN) != 0)
			goto out;
	}
	at = SIZE_MAX;
	rc = n_ones == 1 ? CV_OK : CV_E_MALFORMED;
out:
	if (rc != CV_OK) {
		*choice = SIZE_MAX;
		if (pos != NULL)
			*pos = at;
	}
	EC_POINT_free(Kp);
	EC_POINT_free(P);
	BN_CTX_end(e.bn);
	ec_close(&e);
	return rc;
}

/* ---- decryption shares and the tally ---- */

cv_err cv_decryption_payload(const cv_decryption *d, cv_buf *b)
{
	size_t before = b->len;

	if (d->k > UINT16_MAX)
		return CV_E_TOO_LARGE;
	cv_buf_tag(b, CV_TAG_DECRYPTION);
	cv_buf_put(b, d->election_id, CV_HASH_LEN);
	cv_buf_put(b, d->validator_key, CV_KEY_LEN);
	cv_buf_u64(b, d->through_height);
	cv_buf_u16(b, (uint16_t)d->k);
	for (size_t i = 0; i < d->k; i++)
		cv_buf_put(b, &d->shares[i], sizeof(d->shares[i]));
	if (b->failed) {
		b->len = before;
		return CV_E_NOMEM;
	}
	return CV_OK;
}

cv_err cv_decryption_txid(const cv_decryption *d, uint8_t txid[CV_HASH_LEN])
{
	return item_txid(decryption_payload, d, txid);
}

cv_err cv_decryption_leaf(const cv_decryption *d, cv_buf *b)
{
	return item_leaf(decryption_payload, d, d->signature, b);
}

cv_err cv_decryption_from_leaf(const uint8_t *leaf, size_t len, cv_decryption *d)
{
	leaf_reader r = {leaf, len, 0, false};
	const uint8_t *tag;
	size_t k;

	memset(d, 0, sizeof(*d));
	tag = lr_take(&r, strlen(CV_TAG_DECRYPTION));
	if (tag == NULL || memcmp(tag, CV_TAG_DECRYPTION, strlen(CV_TAG_DECRYPTION)) != 0)
		return CV_E_MALFORMED;
	lr_copy(&r, d->election_id, CV_HASH_LEN);
	lr_copy(&r, d->validator_key, CV_KEY_LEN);
	d->through_height = lr_uint(&r, 8);
	k = (size_t)lr_uint(&r, 2);
	if (r.bad || k > (r.n - r.off) / sizeof(cv_share))
		return CV_E_MALFORMED;
	if (cv_decryption_alloc(d, k) != CV_OK)
		return CV_E_NOMEM;
	for (size_t i = 0; i < k; i++)
		lr_copy(&r, &d->shares[i], sizeof(d->shares[i]));
	lr_copy(&r, d->signature, CV_SIG_LEN);
	if (r.bad || r.off != r.n) {
		cv_decryption_free(d);
		return CV_E_MALFORMED;
	}
	return CV_OK;
}

cv_err cv_aggregate_add(const cv_ballot *bl, uint8_t (*alpha)[CV_POINT_LEN],
                        uint8_t (*beta)[CV_POINT_LEN])
{
	uint8_t two[2][CV_POINT_LEN];
	cv_err rc;

	for (size_t i = 0; i < bl->k; i++) {
		memcpy(two[0], alpha[i], CV_POINT_LEN);
		memcpy(two[1], bl->cts[i].a, CV_POINT_LEN);
		if ((rc = cv_point_sum((const uint8_t(*)[CV_POINT_LEN])two, 2, alpha[i])) != CV_OK)
			return rc;
		memcpy(two[0], beta[i], CV_POINT_LEN);
		memcpy(two[1], bl->cts[i].b, CV_POINT_LEN);
		if ((rc = cv_point_sum((const uint8_t(*)[CV_POINT_LEN])two, 2, beta[i])) != CV_OK)
			return rc;
	}
	return CV_OK;
}

static void decryption_challenge(const cv_decryption *d, size_t i, const uint8_t K_j[CV_POINT_LEN],
                                 const uint8_t alpha[CV_POINT_LEN],
                                 const uint8_t ab[2][CV_POINT_LEN], uint8_t c[CV_SCALAR_LEN])
{
	uint8_t parts[CV_HASH_LEN + CV_KEY_LEN + 2 + 5 * CV_POINT_LEN], *p = parts;

	memcpy(p, d->election_id, CV_HASH_LEN);
	p += CV_HASH_LEN;
	memcpy(p, d->validator_key, CV_KEY_LEN);
	p += CV_KEY_LEN;
	*p++ = (uint8_t)(i >> 8);
	*p++ = (uint8_t)i;
	memcpy(p, K_j, CV_POINT_LEN);
	memcpy(p + CV_POINT_LEN, alpha, CV_POINT_LEN);
	memcpy(p + 2 * CV_POINT_LEN, d->shares[i].d, CV_POINT_LEN);
	memcpy(p + 3 * CV_POINT_LEN, ab, 2 * CV_POINT_LEN);
	cv_hs(CV_TAG_DECRYPT_PROOF, parts, sizeof(parts), c);
}

cv_err cv_decryption_make(cv_decryption *d, const uint8_t s[CV_SCALAR_LEN],
                          const uint8_t (*alpha)[CV_POINT_LEN], size_t k,
                          const uint8_t (*nonces)[CV_SCALAR_LEN])
{
	uint8_t w[CV_SCALAR_LEN], ab[2][CV_POINT_LEN], K_j[CV_POINT_LEN];
	EC_POINT *al = NULL, *T = NULL;
	BIGNUM *sb, *wb, *cb, *vb;
	ec e = {0};
	cv_err rc;

	free(d->shares);
	d->shares = NULL;
	if ((rc = cv_decryption_alloc(d, k)) != CV_OK)
		return rc;
	if ((rc = cv_point_base_mul(s, K_j)) != CV_OK)
		return rc;
	if ((rc = ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((al = EC_POINT_new(e.g)) == NULL || (T = EC_POINT_new(e.g)) == NULL ||
	    (sb = bn_get(&e, s, true)) == NULL || (vb = BN_CTX_get(e.bn)) == NULL)
		goto out;
	for (size_t i = 0; i < k; i++) {
		rc = CV_E_DECRYPTION_PROOF;
		if (!pt_load(&e, alpha[i], al))
			goto out;
		if (nonces != NULL)
			memcpy(w, nonces[i], CV_SCALAR_LEN);
		else if ((rc = random_scalar(w)) != CV_OK)
			goto out;
		rc = CV_E_INTERNAL;
		if ((wb = bn_get(&e, w, true)) == NULL ||
		    !EC_POINT_mul(e.g, T, NULL, al, sb, e.bn) || !pt_store(&e, T, d->shares[i].d) ||
		    !EC_POINT_mul(e.g, T, wb, NULL, NULL, e.bn) || !pt_store(&e, T, ab[0]) ||
		    !EC_POINT_mul(e.g, T, NULL, al, wb, e.bn) || !pt_store(&e, T, ab[1]))
			goto out;
		decryption_challenge(d, i, K_j, alpha[i], (const uint8_t(*)[CV_POINT_LEN])ab,
		                     d->shares[i].c);
		if ((cb = bn_get(&e, d->shares[i].c, false)) == NULL ||
		    !sc_response(&e, vb, wb, cb, sb))
			goto out;
		bn_store(vb, d->shares[i].v);
	}
	rc = CV_OK;
out:
	OPENSSL_cleanse(w, sizeof(w));
	EC_POINT_free(al);
	EC_POINT_free(T);
	BN_CTX_end(e.bn);
	ec_close(&e);
	return rc;
}

cv_err cv_decryption_sign(cv_decryption *d, const cv_privkey *validator)
{
	return item_sign(decryption_payload, d, validator, d->signature);
}

cv_err cv_decryption_verify(const cv_decryption *d, const uint8_t K_j[CV_POINT_LEN],
                            const uint8_t (*alpha)[CV_POINT_LEN], size_t k, size_t *pos)
{
	uint8_t ab[2][CV_POINT_LEN], c[CV_SCALAR_LEN];
	EC_POINT *Kp = NULL, *al = NULL, *D = NULL, *T = NULL;
	BIGNUM *cb, *vb;
	size_t at = SIZE_MAX;
	cv_buf msg = {0};
	ec e = {0};
	cv_err rc;

	if (pos != NULL)
		*pos = SIZE_MAX;
	if (d->k != k)
		return CV_E_BALLOT_COUNT;
	if ((rc = ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((Kp = EC_POINT_new(e.g)) == NULL || (al = EC_POINT_new(e.g)) == NULL ||
	    (D = EC_POINT_new(e.g)) == NULL || (T = EC_POINT_new(e.g)) == NULL ||
	    (cb = BN_CTX_get(e.bn)) == NULL || (vb = BN_CTX_get(e.bn)) == NULL)
		goto out;
	rc = CV_E_INTERNAL;
	if (!pt_load(&e, K_j, Kp))
		goto out;
	for (at = 0; at < k; at++) {
		rc = CV_E_BALLOT_POINT;
		if (!pt_load(&e, d->shares[at].d, D))
			goto out;
		rc = CV_E_BALLOT_SCALAR;
		if (!cv_scalar_ok(d->shares[at].c) || !cv_scalar_ok(d->shares[at].v))
			goto out;
	}
	for (at = 0; at < k; at++) {
		rc = CV_E_DECRYPTION_PROOF;
		if (!pt_load(&e, alpha[at], al) || !pt_load(&e, d->shares[at].d, D))
			goto out;
		BN_bin2bn(d->shares[at].c, CV_SCALAR_LEN, cb);
		BN_bin2bn(d->shares[at].v, CV_SCALAR_LEN, vb);
		if (!mul2(&e, T, vb, Kp, cb) || !pt_store(&e, T, ab[0]) ||
		    !mul_pq(&e, T, vb, al, cb, D) || !pt_store(&e, T, ab[1]))
			goto out;
		decryption_challenge(d, at, K_j, alpha[at], (const uint8_t(*)[CV_POINT_LEN])ab, c);
		if (memcmp(c, d->shares[at].c, CV_SCALAR_LEN) != 0)
			goto out;
	}
	at = SIZE_MAX;
	if ((rc = cv_decryption_payload(d, &msg)) != CV_OK)
		goto out;
	rc = cv_verify(d->validator_key, msg.data, msg.len, d->signature);
out:
	if (pos != NULL)
		*pos = rc == CV_OK ? SIZE_MAX : at;
	cv_buf_free(&msg);
	EC_POINT_free(Kp);
	EC_POINT_free(al);
	EC_POINT_free(D);
	EC_POINT_free(T);
	BN_CTX_end(e.bn);
	ec_close(&e);
	return rc;
}

cv_err cv_lagrange(const uint64_t *xs, size_t q, size_t j, uint8_t out[CV_SCALAR_LEN])
{
	BIGNUM *num, *den, *t, *xj;
	ec e;
	cv_err rc;

	if ((rc = ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_INTERNAL;
	if ((num = BN_CTX_get(e.bn)) == NULL || (den = BN_CTX_get(e.bn)) == NULL ||
	    (t = BN_CTX_get(e.bn)) == NULL || (xj = BN_CTX_get(e.bn)) == NULL)
		goto out;
	BN_one(num);
	BN_one(den);
	BN_set_word(xj, xs[j]);
	for (size_t l = 0; l < q; l++) {
		if (l == j)
			continue;
		if (xs[l] == xs[j])
			goto out;
		BN_set_word(t, xs[l]);
		if (!BN_mod_mul(num, num, t, order, e.bn) || !BN_mod_sub(t, t, xj, order, e.bn) ||
		    !BN_mod_mul(den, den, t, order, e.bn))
			goto out;
	}
	if (BN_mod_inverse(den, den, order, e.bn) == NULL ||
	    !BN_mod_mul(num, num, den, order, e.bn))
		goto out;
	bn_store(num, out);
	rc = CV_OK;
out:
	BN_CTX_end(e.bn);
	ec_close(&e);
	return rc;
}

/* The small discrete logarithm of the tally by baby-step giant-step: with s = ⌈√(max+1)⌉,
 * the baby steps j·G (j = 1 … s−1) are kept in a hash table by their encoding, and the
 * giant steps walk M − i·(s·G) until one is O (m = i·s) or in the table (m = i·s + j).
 * About 2√max point additions and encodings in all: 10^6 ballots take some 2,000 rather
 * than a million. Only public values. */
typedef struct baby {
	uint8_t pt[CV_POINT_LEN]; /* j·G; all zero: a free slot */
	uint64_t j;
} baby;

typedef struct bsgs {
	uint64_t s;  /* the step */
	size_t mask; /* table size − 1 (a power of two, at least 2s) */
	baby *table;
	EC_POINT *giant; /* −s·G */
} bsgs;

static size_t baby_slot(const bsgs *t, const uint8_t pt[CV_POINT_LEN])
{
	uint64_t h = 0;

	for (size_t i = 1; i < 9; i++) /* X's first bytes: uniform enough to index */
		h = h << 8 | pt[i];
	return (size_t)h & t->mask;
}

static void bsgs_free(bsgs *t)
{
	free(t->table);
	EC_POINT_free(t->giant);
	memset(t, 0, sizeof(*t));
}

static cv_err bsgs_init(const ec *e, uint64_t max_count, bsgs *t)
{
	const EC_POINT *G = EC_GROUP_get0_generator(e->g);
	EC_POINT *P = NULL;
	BIGNUM *sb = NULL;
	size_t size = 1;
	cv_err rc = CV_E_NOMEM;

	memset(t, 0, sizeof(*t));
	t->s = 1;
	while (t->s * t->s < max_count + 1 && t->s < UINT32_MAX)
		t->s++;
	while (size < 2 * t->s)
		size <<= 1;
	t->mask = size - 1;
	if ((t->table = calloc(size, sizeof(*t->table))) == NULL ||
	    (t->giant = EC_POINT_new(e->g)) == NULL || (P = EC_POINT_new(e->g)) == NULL ||
	    (sb = BN_new()) == NULL)
		goto out;
	rc = CV_E_INTERNAL;
	if (!BN_set_word(sb, t->s) || !EC_POINT_mul(e->g, t->giant, sb, NULL, NULL, e->bn) ||
	    !EC_POINT_invert(e->g, t->giant, e->bn) || !EC_POINT_copy(P, G))
		goto out;
	for (uint64_t j = 1; j < t->s; j++) {
		uint8_t pt[CV_POINT_LEN];
		size_t at;

		if (!pt_store(e, P, pt))
			goto out;
		for (at = baby_slot(t, pt); t->table[at].j != 0; at = (at + 1) & t->mask)
			;
		memcpy(t->table[at].pt, pt, CV_POINT_LEN);
		t->table[at].j = j;
		if (!EC_POINT_add(e->g, P, P, G, e->bn))
			goto out;
	}
	rc = CV_OK;
out:
	EC_POINT_free(P);
	BN_free(sb);
	if (rc != CV_OK)
		bsgs_free(t);
	return rc;
}

/* m in 0 … max_count with m·G = M (M is consumed); false when there is none. */
static bool bsgs_log(const ec *e, const bsgs *t, EC_POINT *M, uint64_t max_count, uint64_t *m)
{
	for (uint64_t i = 0; i <= max_count / t->s; i++) {
		uint8_t pt[CV_POINT_LEN] = {0};
		uint64_t found = UINT64_MAX;

		if (EC_POINT_is_at_infinity(e->g, M))
			found = i * t->s;
		else if (!pt_store(e, M, pt))
			return false;
		for (size_t at = baby_slot(t, pt); found == UINT64_MAX && t->table[at].j != 0;
		     at = (at + 1) & t->mask)
			if (memcmp(t->table[at].pt, pt, CV_POINT_LEN) == 0)
				found = i * t->s + t->table[at].j;
		if (found != UINT64_MAX) {
			*m = found;
			return found <= max_count;
		}
		if (!EC_POINT_add(e->g, M, M, t->giant, e->bn))
			return false;
	}
	return false;
}

cv_err cv_tally_decrypt(const uint64_t *xs, const cv_share *const *D, size_t q,
                        const uint8_t (*beta)[CV_POINT_LEN], size_t k, uint64_t max_count,
                        uint64_t *counts)
{
	uint8_t lam[CV_SCALAR_LEN];
	EC_POINT *M = NULL, *T = NULL;
	BIGNUM **lb = NULL;
	bsgs steps = {0};
	ec e;
	cv_err rc;

	if ((rc = ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((M = EC_POINT_new(e.g)) == NULL || (T = EC_POINT_new(e.g)) == NULL ||
	    (lb = calloc(q ? q : 1, sizeof(void *))) == NULL) /* BIGNUM pointers */
		goto out;
	for (size_t j = 0; j < q; j++) {
		if ((rc = cv_lagrange(xs, q, j, lam)) != CV_OK)
			goto out;
		rc = CV_E_NOMEM;
		if ((lb[j] = bn_get(&e, lam, false)) == NULL)
			goto out;
	}
	if ((rc = bsgs_init(&e, max_count, &steps)) != CV_OK)
		goto out;
	for (size_t i = 0; i < k; i++) {
		uint64_t m;

		rc = CV_E_TALLY;
		if (!pt_load_agg(&e, beta[i], M))
			goto out;
		for (size_t j = 0; j < q; j++) {
			if (!pt_load(&e, D[j][i].d, T) ||
			    !EC_POINT_mul(e.g, T, NULL, T, lb[j], e.bn) ||
			    !EC_POINT_invert(e.g, T, e.bn) || !EC_POINT_add(e.g, M, M, T, e.bn))
				goto out;
		}
		if (!bsgs_log(&e, &steps, M, max_count, &m))
			goto out;
		counts[i] = m;
	}
	rc = CV_OK;
out:
	free(lb);
	EC_POINT_free(M);
	EC_POINT_free(T);
	bsgs_free(&steps);
	BN_CTX_end(e.bn);
	ec_close(&e);
	return rc;
}
