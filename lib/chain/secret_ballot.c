/* Secret ballots (DESIGN section 6, "Ballots"; the Benaloh check, 6.2): a choice
 * encrypted under K with its 0/1 proofs and sum proof, the checks of a received ballot,
 * and the Benaloh check of a ballot's revealed randomness. */
/* EC_GROUP_precompute_mult: OpenSSL 3 keeps it (deprecated) and nothing replaces it for a
 * generator of one's own; see key_group */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "chain.h"
#include "secret_impl.h"

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
	    !EC_GROUP_set_generator(g, Kp, cv_ec_order, BN_value_one()) ||
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
	return cv_ec_mul_pq(e, r, s, K, t, X);
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
	bool ok = r != NULL && cv_ec_mul2(e, r, v, A, c) && cv_ec_pt_store(e, r, a) &&
	          mul_key(e, kg, r, v, K, c, X) && cv_ec_pt_store(e, r, b);

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
	ok = ok && cv_ec_sc_mul(e, u, c, r) && BN_mod_add(u, u, v, cv_ec_order, e->bn) &&
	     EC_POINT_mul(e->g, P, u, NULL, NULL, e->bn) && cv_ec_pt_store(e, P, a) &&
	     EC_POINT_mul(e->g, Q, c, NULL, NULL, e->bn) && cv_ec_pt_store(e, Q, plus) &&
	     EC_POINT_invert(e->g, Q, e->bn) && cv_ec_pt_store(e, Q, minus);
	if (ok)
		ct_select(cg, minus, plus, CV_POINT_LEN, m);
	ok = ok && cv_ec_pt_load(e, cg, Q) && mul_key(e, kg, P, u, K, NULL, NULL) &&
	     EC_POINT_add(e->g, P, P, Q, e->bn) && cv_ec_pt_store(e, P, b);
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
	if ((rc = cv_ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((Kp = EC_POINT_new(e.g)) == NULL || (A = EC_POINT_new(e.g)) == NULL ||
	    (B = EC_POINT_new(e.g)) == NULL || (T = EC_POINT_new(e.g)) == NULL ||
	    (As = EC_POINT_new(e.g)) == NULL || (Bs = EC_POINT_new(e.g)) == NULL ||
	    (R = BN_CTX_get(e.bn)) == NULL)
		goto out;
	rc = CV_E_BAD_KEY;
	if (!cv_ec_pt_load(&e, K, Kp))
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
		} else if ((rc = cv_ec_random_scalar(r)) != CV_OK ||
		           (rc = cv_ec_random_scalar(w)) != CV_OK ||
		           (rc = cv_ec_random_scalar(sc)) != CV_OK ||
		           (rc = cv_ec_random_scalar(sv)) != CV_OK) {
			goto out;
		}
		rc = CV_E_INTERNAL;
		if ((rb = cv_ec_bn_get(&e, r, true)) == NULL ||
		    (wb = cv_ec_bn_get(&e, w, true)) == NULL)
			goto out;
		/* A = r·G; B = r·K + m·G, both values of m computed and one kept. The other
		 * branch proves B − (1−m)·G (sim_points). */
		rc = CV_E_BALLOT_PROOF; /* an O on the way: negligible, draw again */
		if (!EC_POINT_mul(e.g, A, rb, NULL, NULL, e.bn) ||
		    !cv_ec_pt_store(&e, A, bl->cts[i].a) ||
		    !mul_key(&e, kg, B, rb, Kp, NULL, NULL) || !cv_ec_pt_store(&e, B, b0) ||
		    !EC_POINT_add(e.g, T, B, EC_GROUP_get0_generator(e.g), e.bn) ||
		    !cv_ec_pt_store(&e, T, b1))
			goto out;
		ct_select(bl->cts[i].b, b0, b1, CV_POINT_LEN, m);
		rc = CV_E_INTERNAL;
		if (!cv_ec_pt_load(&e, bl->cts[i].b, B))
			goto out;
		/* the real pair: a = w·G, b = w·K; the simulated one from (c, v) drawn */
		if ((cb = cv_ec_bn_get(&e, sc, false)) == NULL ||
		    (vb = cv_ec_bn_get(&e, sv, false)) == NULL)
			goto out;
		{
			EC_POINT *W = EC_POINT_new(e.g);
			bool ok = W != NULL && EC_POINT_mul(e.g, W, wb, NULL, NULL, e.bn) &&
			          cv_ec_pt_store(&e, W, pts[0]) &&
			          mul_key(&e, kg, W, wb, Kp, NULL, NULL) &&
			          cv_ec_pt_store(&e, W, pts[1]) &&
			          sim_points(&e, kg, Kp, rb, cb, vb, m, pts[2], pts[3]);

			EC_POINT_free(W);
			if (!ok)
				goto out;
		}
		/* position order: (a_0, b_0, a_1, b_1); the real pair is slot m */
		ct_swap(pts[0], pts[2], 2 * CV_POINT_LEN, m);
		ballot_challenge(bl, i, (const uint8_t(*)[CV_POINT_LEN])pts, c);
		if ((cs = cv_ec_bn_get(&e, c, false)) == NULL ||
		    !BN_mod_sub(cs, cs, cb, cv_ec_order, e.bn))
			goto out;
		if (!cv_ec_sc_response(&e, vb, wb, cs, rb))
			goto out;
		/* (c_m, v_m) into slot m, the simulated pair into the other */
		cv_ec_bn_store(cs, pf->c0);
		cv_ec_bn_store(vb, pf->v0);
		memcpy(pf->c1, sc, CV_SCALAR_LEN);
		memcpy(pf->v1, sv, CV_SCALAR_LEN);
		ct_swap(pf->c0, pf->c1, CV_SCALAR_LEN, m);
		ct_swap(pf->v0, pf->v1, CV_SCALAR_LEN, m);
		if (!BN_mod_add(R, R, rb, cv_ec_order, e.bn) ||
		    !EC_POINT_add(e.g, As, As, A, e.bn) || !EC_POINT_add(e.g, Bs, Bs, B, e.bn))
			goto out;
		BN_CTX_end(e.bn);
	}
	/* the sum proof: a = w·G, b = w·K, v_s = w − c_s·R */
	if (rnd != NULL)
		memcpy(w, rnd->sum_w, CV_SCALAR_LEN);
	else if ((rc = cv_ec_random_scalar(w)) != CV_OK)
		goto out;
	rc = CV_E_INTERNAL;
	if ((wb = cv_ec_bn_get(&e, w, true)) == NULL || !cv_ec_pt_store(&e, As, pts[0]) ||
	    !cv_ec_pt_store(&e, Bs, pts[1]) || !EC_POINT_mul(e.g, T, wb, NULL, NULL, e.bn) ||
	    !cv_ec_pt_store(&e, T, pts[2]) || !mul_key(&e, kg, T, wb, Kp, NULL, NULL) ||
	    !cv_ec_pt_store(&e, T, pts[3]))
		goto out;
	sum_challenge(bl, (const uint8_t(*)[CV_POINT_LEN])pts, bl->sum_c);
	if ((cs = cv_ec_bn_get(&e, bl->sum_c, false)) == NULL || (vb = BN_CTX_get(e.bn)) == NULL ||
	    !cv_ec_sc_response(&e, vb, wb, cs, R))
		goto out;
	cv_ec_bn_store(vb, bl->sum_v);
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
	cv_ec_close(&e);
	return rc;
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
	if ((rc = cv_ec_open(&e)) != CV_OK)
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
	if (!cv_ec_pt_load(&e, K, Kp))
		goto out;
	kg = key_group(&e, K, Kp);
	/* every point and scalar first, so that a malformed value is named as such */
	for (at = 0; at < bl->k; at++) {
		const cv_ballot_proof *pf = &bl->proofs[at];

		rc = CV_E_BALLOT_POINT;
		if (!cv_ec_pt_load(&e, bl->cts[at].a, A) || !cv_ec_pt_load(&e, bl->cts[at].b, B))
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
		if (!cv_ec_pt_load(&e, bl->cts[at].a, A) || !cv_ec_pt_load(&e, bl->cts[at].b, B) ||
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
		if (!BN_mod_add(sum, c0, c1, cv_ec_order, e.bn))
			goto out;
		BN_bin2bn(c, CV_SCALAR_LEN, c0);
		if (BN_cmp(sum, c0) != 0)
			goto out;
	}
	at = SIZE_MAX;
	rc = CV_E_BALLOT_SUM_PROOF;
	if (!cv_ec_pt_store(&e, As, pts[0]) || !cv_ec_pt_store(&e, Bs, pts[1]))
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
	cv_ec_close(&e);
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
	if ((rc = cv_ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((Kp = EC_POINT_new(e.g)) == NULL || (P = EC_POINT_new(e.g)) == NULL ||
	    (r = BN_CTX_get(e.bn)) == NULL)
		goto out;
	rc = CV_E_BAD_KEY;
	if (!cv_ec_pt_load(&e, K, Kp))
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
		if (!cv_ec_mul2(&e, P, r, NULL, NULL) || !cv_ec_pt_store(&e, P, a) ||
		    !cv_ec_mul2(&e, P, NULL, Kp, r) ||
		    (m == 1 && !EC_POINT_add(e.g, P, P, EC_GROUP_get0_generator(e.g), e.bn)) ||
		    !cv_ec_pt_store(&e, P, b) || memcmp(a, bl->cts[at].a, CV_POINT_LEN) != 0 ||
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
	cv_ec_close(&e);
	return rc;
}
