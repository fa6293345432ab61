/* The tally of a secret election (DESIGN section 6, "Decryption shares" and "Tally"):
 * the aggregate of the ballots, a trustee's decryption share with its proofs and their
 * check, the Lagrange coefficients and the decrypted counts. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "chain.h"
#include "secret_impl.h"

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
	if ((rc = cv_ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((al = EC_POINT_new(e.g)) == NULL || (T = EC_POINT_new(e.g)) == NULL ||
	    (sb = cv_ec_bn_get(&e, s, true)) == NULL || (vb = BN_CTX_get(e.bn)) == NULL)
		goto out;
	for (size_t i = 0; i < k; i++) {
		rc = CV_E_DECRYPTION_PROOF;
		if (!cv_ec_pt_load(&e, alpha[i], al))
			goto out;
		if (nonces != NULL)
			memcpy(w, nonces[i], CV_SCALAR_LEN);
		else if ((rc = cv_ec_random_scalar(w)) != CV_OK)
			goto out;
		rc = CV_E_INTERNAL;
		if ((wb = cv_ec_bn_get(&e, w, true)) == NULL ||
		    !EC_POINT_mul(e.g, T, NULL, al, sb, e.bn) ||
		    !cv_ec_pt_store(&e, T, d->shares[i].d) ||
		    !EC_POINT_mul(e.g, T, wb, NULL, NULL, e.bn) || !cv_ec_pt_store(&e, T, ab[0]) ||
		    !EC_POINT_mul(e.g, T, NULL, al, wb, e.bn) || !cv_ec_pt_store(&e, T, ab[1]))
			goto out;
		decryption_challenge(d, i, K_j, alpha[i], (const uint8_t(*)[CV_POINT_LEN])ab,
		                     d->shares[i].c);
		if ((cb = cv_ec_bn_get(&e, d->shares[i].c, false)) == NULL ||
		    !cv_ec_sc_response(&e, vb, wb, cb, sb))
			goto out;
		cv_ec_bn_store(vb, d->shares[i].v);
	}
	rc = CV_OK;
out:
	OPENSSL_cleanse(w, sizeof(w));
	EC_POINT_free(al);
	EC_POINT_free(T);
	BN_CTX_end(e.bn);
	cv_ec_close(&e);
	return rc;
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
	if ((rc = cv_ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((Kp = EC_POINT_new(e.g)) == NULL || (al = EC_POINT_new(e.g)) == NULL ||
	    (D = EC_POINT_new(e.g)) == NULL || (T = EC_POINT_new(e.g)) == NULL ||
	    (cb = BN_CTX_get(e.bn)) == NULL || (vb = BN_CTX_get(e.bn)) == NULL)
		goto out;
	rc = CV_E_INTERNAL;
	if (!cv_ec_pt_load(&e, K_j, Kp))
		goto out;
	for (at = 0; at < k; at++) {
		rc = CV_E_BALLOT_POINT;
		if (!cv_ec_pt_load(&e, d->shares[at].d, D))
			goto out;
		rc = CV_E_BALLOT_SCALAR;
		if (!cv_scalar_ok(d->shares[at].c) || !cv_scalar_ok(d->shares[at].v))
			goto out;
	}
	for (at = 0; at < k; at++) {
		rc = CV_E_DECRYPTION_PROOF;
		if (!cv_ec_pt_load(&e, alpha[at], al) || !cv_ec_pt_load(&e, d->shares[at].d, D))
			goto out;
		BN_bin2bn(d->shares[at].c, CV_SCALAR_LEN, cb);
		BN_bin2bn(d->shares[at].v, CV_SCALAR_LEN, vb);
		if (!cv_ec_mul2(&e, T, vb, Kp, cb) || !cv_ec_pt_store(&e, T, ab[0]) ||
		    !cv_ec_mul_pq(&e, T, vb, al, cb, D) || !cv_ec_pt_store(&e, T, ab[1]))
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
	cv_ec_close(&e);
	return rc;
}

cv_err cv_lagrange(const uint64_t *xs, size_t q, size_t j, uint8_t out[CV_SCALAR_LEN])
{
	BIGNUM *num, *den, *t, *xj;
	ec e;
	cv_err rc;

	if ((rc = cv_ec_open(&e)) != CV_OK)
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
		if (!BN_mod_mul(num, num, t, cv_ec_order, e.bn) ||
		    !BN_mod_sub(t, t, xj, cv_ec_order, e.bn) ||
		    !BN_mod_mul(den, den, t, cv_ec_order, e.bn))
			goto out;
	}
	if (BN_mod_inverse(den, den, cv_ec_order, e.bn) == NULL ||
	    !BN_mod_mul(num, num, den, cv_ec_order, e.bn))
		goto out;
	cv_ec_bn_store(num, out);
	rc = CV_OK;
out:
	BN_CTX_end(e.bn);
	cv_ec_close(&e);
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

		if (!cv_ec_pt_store(e, P, pt))
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
		else if (!cv_ec_pt_store(e, M, pt))
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

	if ((rc = cv_ec_open(&e)) != CV_OK)
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
		if ((lb[j] = cv_ec_bn_get(&e, lam, false)) == NULL)
			goto out;
	}
	if ((rc = bsgs_init(&e, max_count, &steps)) != CV_OK)
		goto out;
	for (size_t i = 0; i < k; i++) {
		uint64_t m;

		rc = CV_E_TALLY;
		if (!cv_ec_pt_load_agg(&e, beta[i], M))
			goto out;
		for (size_t j = 0; j < q; j++) {
			if (!cv_ec_pt_load(&e, D[j][i].d, T) ||
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
	cv_ec_close(&e);
	return rc;
}
