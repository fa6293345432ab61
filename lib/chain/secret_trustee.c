/* A secret election's trustees (DESIGN section 6, "Genesis entries"): a trustee entry
 * made and its commitments' proofs checked, the election key K and each trustee's K_j
 * from the entries, and the polynomial of the ceremony. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "chain.h"
#include "secret_impl.h"

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
	if ((rc = cv_ec_open(&e)) != CV_OK)
		goto out;
	for (size_t k = 0; k < quorum; k++) {
		if ((rc = cv_point_base_mul(coeffs[k], t->commitments[k])) != CV_OK)
			goto out;
		if (nonces != NULL)
			memcpy(u_bytes, nonces[k], CV_SCALAR_LEN);
		else if ((rc = cv_ec_random_scalar(u_bytes)) != CV_OK)
			goto out;
		if ((rc = cv_point_base_mul(u_bytes, h)) != CV_OK)
			goto out;
		trustee_challenge(t, k, h, t->proof_c[k]);
		BN_CTX_start(e.bn);
		rc = CV_E_INTERNAL;
		if ((a = cv_ec_bn_get(&e, coeffs[k], true)) != NULL &&
		    (u = cv_ec_bn_get(&e, u_bytes, true)) != NULL &&
		    (c = cv_ec_bn_get(&e, t->proof_c[k], false)) != NULL &&
		    (v = BN_CTX_get(e.bn)) != NULL && cv_ec_sc_response(&e, v, u, c, a)) {
			cv_ec_bn_store(v, t->proof_v[k]);
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
	cv_ec_close(&e);
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

	if ((rc = cv_ec_open(&e)) != CV_OK)
		return rc;
	BN_CTX_start(e.bn);
	rc = CV_E_NOMEM;
	if ((C = EC_POINT_new(e.g)) == NULL || (h = EC_POINT_new(e.g)) == NULL ||
	    (c = BN_CTX_get(e.bn)) == NULL || (v = BN_CTX_get(e.bn)) == NULL)
		goto out;
	for (size_t k = 0; k < t->n_coeffs; k++) {
		rc = CV_E_TRUSTEE_PROOF;
		if (!cv_ec_pt_load(&e, t->commitments[k], C) || !cv_scalar_ok(t->proof_c[k]) ||
		    !cv_scalar_ok(t->proof_v[k]))
			goto out;
		BN_bin2bn(t->proof_c[k], CV_SCALAR_LEN, c);
		BN_bin2bn(t->proof_v[k], CV_SCALAR_LEN, v);
		if (!cv_ec_mul2(&e, h, v, C, c) || !cv_ec_pt_store(&e, h, h_bytes))
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
	cv_ec_close(&e);
	return rc;
}

cv_err cv_election_key(const cv_secrecy *s, uint8_t K[CV_POINT_LEN])
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
	rc = CV_E_SECRECY_PARAMS;
	for (size_t j = 0; j < s->n_trustees; j++)
		if (s->trustees[j].n_coeffs < 1 ||
		    !cv_ec_pt_load(&e, s->trustees[j].commitments[0], p) ||
		    !EC_POINT_add(e.g, acc, acc, p, e.bn))
			goto out;
	rc = cv_ec_pt_store(&e, acc, K) ? CV_OK : CV_E_SECRECY_PARAMS;
out:
	EC_POINT_free(acc);
	EC_POINT_free(p);
	cv_ec_close(&e);
	return rc;
}

cv_err cv_trustee_key(const cv_secrecy *s, uint64_t x, uint8_t K_j[CV_POINT_LEN])
{
	EC_POINT *acc = NULL, *p = NULL, *t = NULL;
	BIGNUM *xb, *xk;
	ec e;
	cv_err rc;

	if ((rc = cv_ec_open(&e)) != CV_OK)
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
			if (!cv_ec_pt_load(&e, tr->commitments[k], p))
				goto out;
			rc = CV_E_INTERNAL;
			if (!EC_POINT_mul(e.g, t, NULL, p, xk, e.bn) ||
			    !EC_POINT_add(e.g, acc, acc, t, e.bn) ||
			    !BN_mod_mul(xk, xk, xb, cv_ec_order, e.bn))
				goto out;
		}
	}
	rc = cv_ec_pt_store(&e, acc, K_j) ? CV_OK : CV_E_SECRECY_PARAMS;
out:
	EC_POINT_free(acc);
	EC_POINT_free(p);
	EC_POINT_free(t);
	BN_CTX_end(e.bn);
	cv_ec_close(&e);
	return rc;
}

cv_err cv_poly_eval(const uint8_t (*coeffs)[CV_SCALAR_LEN], size_t n, uint64_t x,
                    uint8_t out[CV_SCALAR_LEN])
{
	BIGNUM *acc, *xb, *a;
	ec e;
	cv_err rc;

	if ((rc = cv_ec_open(&e)) != CV_OK)
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
		if ((a = cv_ec_bn_get(&e, coeffs[k], true)) == NULL ||
		    !cv_ec_sc_mul(&e, acc, acc, xb) || !BN_mod_add(acc, acc, a, cv_ec_order, e.bn))
			goto out;
	}
	cv_ec_bn_store(acc, out);
	rc = CV_OK;
out:
	BN_CTX_end(e.bn);
	cv_ec_close(&e);
	return rc;
}
