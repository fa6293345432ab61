/* The key ceremony's sealed shares and share checks (sealed.h): ECDH on P-256 with an
 * ephemeral key, HKDF-SHA256 (EVP_KDF "HKDF"), AES-256-GCM, and ECDSA signatures of the
 * sender and the checking trustee. Every received point passes cv_point_check (04||X||Y on
 * the curve, so never O); the secret scalars (ephemeral, recipient key) are BIGNUMs with
 * BN_FLG_CONSTTIME multiplied through single-scalar EC_POINT_mul. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>

#include "sealed.h"

/* Z = X(d·P) for a secret scalar d in [1, n) and a received point P. CV_E_BAD_KEY when P
 * is no point, d is out of range, or the product is O. */
static cv_err ecdh_x(const uint8_t d[CV_SCALAR_LEN], const uint8_t point[CV_POINT_LEN],
                     uint8_t z[CV_SCALAR_LEN])
{
	EC_GROUP *g = NULL;
	EC_POINT *p = NULL, *q = NULL;
	BN_CTX *bn = NULL;
	BIGNUM *k = NULL, *x = NULL;
	uint8_t out[CV_POINT_LEN];
	cv_err rc;

	if ((rc = cv_point_check(point)) != CV_OK)
		return rc;
	if (!cv_scalar_ok(d))
		return CV_E_BAD_KEY;
	rc = CV_E_NOMEM;
	if ((g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) == NULL ||
	    (bn = BN_CTX_new()) == NULL || (p = EC_POINT_new(g)) == NULL ||
	    (q = EC_POINT_new(g)) == NULL || (k = BN_secure_new()) == NULL ||
	    (x = BN_new()) == NULL)
		goto out;
	BN_set_flags(k, BN_FLG_CONSTTIME);
	rc = CV_E_BAD_KEY;
	if (BN_bin2bn(d, CV_SCALAR_LEN, k) == NULL || BN_is_zero(k) ||
	    !EC_POINT_oct2point(g, p, point, CV_POINT_LEN, bn) ||
	    !EC_POINT_mul(g, q, NULL, p, k, bn) || EC_POINT_is_at_infinity(g, q) ||
	    EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, out, sizeof out, bn) !=
	        sizeof out)
		goto out;
	memcpy(z, out + 1, CV_SCALAR_LEN);
	rc = CV_OK;
out:
	OPENSSL_cleanse(out, sizeof out);
	BN_clear_free(k);
	BN_free(x);
	EC_POINT_clear_free(q);
	EC_POINT_free(p);
	BN_CTX_free(bn);
	EC_GROUP_free(g);
	return rc;
}

/* The AES key: HKDF-SHA256(Z, no salt, info binding the setup, both keys and E). */
static cv_err derive_key(const cv_sealed_share *sh, const uint8_t z[CV_SCALAR_LEN], uint8_t key[32])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	cv_buf info = {0};
	OSSL_PARAM params[4];
	cv_err rc = CV_E_NOMEM;

	cv_buf_tag(&info, CV_TAG_SEALED_SHARE);
	cv_buf_put(&info, sh->setup_hash, CV_HASH_LEN);
	cv_buf_put(&info, sh->sender, CV_KEY_LEN);
	cv_buf_put(&info, sh->recipient, CV_KEY_LEN);
	cv_buf_put(&info, sh->ephemeral, CV_POINT_LEN);
	if (kctx == NULL || info.failed)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, CV_SCALAR_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data, info.len);
	params[3] = OSSL_PARAM_construct_end();
	rc = EVP_KDF_derive(kctx, key, 32, params) == 1 ? CV_OK : CV_E_INTERNAL;
out:
	cv_buf_free(&info);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* AES-256-GCM over 32 bytes, no associated data; decrypt checks the tag (false: it
 * does not verify). */
static bool gcm(bool encrypt, const uint8_t key[32], const uint8_t nonce[CV_SEALED_NONCE_LEN],
                const uint8_t in[CV_SCALAR_LEN], uint8_t out[CV_SCALAR_LEN],
                uint8_t tag[CV_SEALED_TAG_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, fin = 0;
	bool ok =
	    c != NULL &&
	    EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt ? 1 : 0) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, CV_SEALED_NONCE_LEN, NULL) == 1 &&
	    EVP_CipherInit_ex(c, NULL, NULL, key, nonce, -1) == 1 &&
	    (encrypt ||
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, CV_SEALED_TAG_LEN, tag) == 1) &&
	    EVP_CipherUpdate(c, out, &len, in, CV_SCALAR_LEN) == 1 && len == CV_SCALAR_LEN &&
	    EVP_CipherFinal_ex(c, out + len, &fin) == 1 && fin == 0 &&
	    (!encrypt || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, CV_SEALED_TAG_LEN, tag) == 1);

	EVP_CIPHER_CTX_free(c);
	if (!ok)
		OPENSSL_cleanse(out, CV_SCALAR_LEN);
	return ok;
}

cv_err cv_sealed_message(const cv_sealed_share *sh, cv_buf *b)
{
	cv_buf_tag(b, CV_TAG_SHARE_POST);
	cv_buf_put(b, sh->setup_hash, CV_HASH_LEN);
	cv_buf_put(b, sh->sender, CV_KEY_LEN);
	cv_buf_put(b, sh->recipient, CV_KEY_LEN);
	cv_buf_put(b, sh->ephemeral, CV_POINT_LEN);
	cv_buf_put(b, sh->nonce, CV_SEALED_NONCE_LEN);
	cv_buf_put(b, sh->ciphertext, CV_SCALAR_LEN);
	cv_buf_put(b, sh->tag, CV_SEALED_TAG_LEN);
	return b->failed ? CV_E_NOMEM : CV_OK;
}

/* A scalar in [1, n) from the CSPRNG. */
static cv_err draw_scalar(uint8_t s[CV_SCALAR_LEN])
{
	static const uint8_t zero[CV_SCALAR_LEN];
	cv_err rc;

	do {
		if ((rc = cv_random(s, CV_SCALAR_LEN)) != CV_OK)
			return rc;
	} while (!cv_scalar_ok(s) || memcmp(s, zero, CV_SCALAR_LEN) == 0);
	return CV_OK;
}

cv_err cv_sealed_seal(const uint8_t setup_hash[CV_HASH_LEN], const cv_privkey *sender,
                      const uint8_t recipient[CV_KEY_LEN], const uint8_t value[CV_SCALAR_LEN],
                      const uint8_t eph[CV_SCALAR_LEN], const uint8_t nonce[CV_SEALED_NONCE_LEN],
                      cv_sealed_share *out)
{
	uint8_t e[CV_SCALAR_LEN], z[CV_SCALAR_LEN], key[32];
	cv_buf msg = {0};
	cv_err rc;

	memset(out, 0, sizeof *out);
	if (!cv_scalar_ok(value))
		return CV_E_MALFORMED;
	if ((rc = cv_point_check(recipient)) != CV_OK)
		return rc;
	memcpy(out->setup_hash, setup_hash, CV_HASH_LEN);
	cv_privkey_public(sender, out->sender);
	memcpy(out->recipient, recipient, CV_KEY_LEN);
	if (eph != NULL)
		memcpy(e, eph, CV_SCALAR_LEN);
	else if ((rc = draw_scalar(e)) != CV_OK)
		goto out;
	if (nonce != NULL)
		memcpy(out->nonce, nonce, CV_SEALED_NONCE_LEN);
	else if ((rc = cv_random(out->nonce, CV_SEALED_NONCE_LEN)) != CV_OK)
		goto out;
	if ((rc = cv_point_base_mul(e, out->ephemeral)) != CV_OK ||
	    (rc = ecdh_x(e, recipient, z)) != CV_OK || (rc = derive_key(out, z, key)) != CV_OK)
		goto out;
	rc = CV_E_INTERNAL;
	if (!gcm(true, key, out->nonce, value, out->ciphertext, out->tag))
		goto out;
	if ((rc = cv_sealed_message(out, &msg)) == CV_OK)
		rc = cv_sign(sender, msg.data, msg.len, out->signature);
out:
	cv_buf_free(&msg);
	OPENSSL_cleanse(e, sizeof e);
	OPENSSL_cleanse(z, sizeof z);
	OPENSSL_cleanse(key, sizeof key);
	if (rc != CV_OK)
		memset(out, 0, sizeof *out);
	return rc;
}

cv_err cv_sealed_verify(const cv_sealed_share *sh)
{
	cv_buf msg = {0};
	cv_err rc;

	if ((rc = cv_point_check(sh->ephemeral)) != CV_OK ||
	    (rc = cv_pubkey_check(sh->sender)) != CV_OK ||
	    (rc = cv_pubkey_check(sh->recipient)) != CV_OK)
		return rc;
	if ((rc = cv_sealed_message(sh, &msg)) == CV_OK)
		rc = cv_verify(sh->sender, msg.data, msg.len, sh->signature);
	cv_buf_free(&msg);
	return rc;
}

cv_err cv_sealed_open(const cv_sealed_share *sh, const cv_privkey *recipient,
                      uint8_t value[CV_SCALAR_LEN])
{
	uint8_t me[CV_KEY_LEN], d[CV_SCALAR_LEN], z[CV_SCALAR_LEN], key[32];
	uint8_t tag[CV_SEALED_TAG_LEN];
	cv_err rc;

	memset(value, 0, CV_SCALAR_LEN);
	cv_privkey_public(recipient, me);
	if (memcmp(me, sh->recipient, CV_KEY_LEN) != 0)
		return CV_E_SEALED_OPEN;
	cv_privkey_scalar(recipient, d);
	rc = ecdh_x(d, sh->ephemeral, z);
	if (rc == CV_OK)
		rc = derive_key(sh, z, key);
	memcpy(tag, sh->tag, sizeof tag);
	if (rc == CV_OK &&
	    (!gcm(false, key, sh->nonce, sh->ciphertext, value, tag) || !cv_scalar_ok(value)))
		rc = CV_E_SEALED_OPEN;
	if (rc == CV_E_BAD_KEY)
		rc = CV_E_SEALED_OPEN;
	if (rc != CV_OK)
		OPENSSL_cleanse(value, CV_SCALAR_LEN);
	OPENSSL_cleanse(d, sizeof d);
	OPENSSL_cleanse(z, sizeof z);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

cv_err cv_share_check_message(const cv_share_check *c, cv_buf *b)
{
	cv_buf_tag(b, CV_TAG_SHARE_CHECK);
	cv_buf_put(b, c->setup_hash, CV_HASH_LEN);
	cv_buf_put(b, c->trustee, CV_KEY_LEN);
	cv_buf_put(b, c->sender, CV_KEY_LEN);
	cv_buf_u8(b, c->good ? 1 : 0);
	return b->failed ? CV_E_NOMEM : CV_OK;
}

cv_err cv_share_check_sign(cv_share_check *c, const cv_privkey *trustee)
{
	cv_buf msg = {0};
	cv_err rc;

	cv_privkey_public(trustee, c->trustee);
	if ((rc = cv_share_check_message(c, &msg)) == CV_OK)
		rc = cv_sign(trustee, msg.data, msg.len, c->signature);
	cv_buf_free(&msg);
	return rc;
}

cv_err cv_share_check_verify(const cv_share_check *c)
{
	cv_buf msg = {0};
	cv_err rc;

	if ((rc = cv_pubkey_check(c->trustee)) != CV_OK ||
	    (rc = cv_pubkey_check(c->sender)) != CV_OK)
		return rc;
	if ((rc = cv_share_check_message(c, &msg)) == CV_OK)
		rc = cv_verify(c->trustee, msg.data, msg.len, c->signature);
	cv_buf_free(&msg);
	return rc;
}

cv_err cv_share_matches(const uint8_t value[CV_SCALAR_LEN],
                        const uint8_t (*commitments)[CV_POINT_LEN], size_t n, uint64_t x)
{
	/* Σ_k x^k·C_k is K_j of a ceremony with the sender as its only trustee. */
	cv_trustee t = {.n_coeffs = n, .commitments = (uint8_t(*)[CV_POINT_LEN])commitments};
	cv_secrecy one = {.quorum = 0, .n_trustees = 1, .trustees = &t};
	uint8_t expect[CV_POINT_LEN], got[CV_POINT_LEN];
	cv_err rc = cv_trustee_key(&one, x, expect);

	if (rc != CV_OK)
		return rc;
	if (cv_point_base_mul(value, got) != CV_OK)
		return CV_E_SHARE_MISMATCH;
	return memcmp(expect, got, CV_POINT_LEN) == 0 ? CV_OK : CV_E_SHARE_MISMATCH;
}
