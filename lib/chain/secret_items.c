/* A secret election's items as bytes (DESIGN section 6): their destructors and
 * allocation, the genesis's secrecy and trustee entries, and the payload, txid, leaf and
 * signature of a ballot and of a decryption share (and their leaves read back). */
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "secret.h"

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

cv_err cv_ballot_from_leaf(const uint8_t *leaf, size_t len, cv_ballot *bl)
{
	cv_reader r = {.p = leaf, .n = len};
	size_t k;

	memset(bl, 0, sizeof(*bl));
	if (!cv_rd_tag(&r, CV_TAG_BALLOT))
		return CV_E_MALFORMED;
	cv_rd_copy(&r, bl->election_id, CV_HASH_LEN);
	cv_rd_copy(&r, bl->voter_key, CV_KEY_LEN);
	bl->timestamp = cv_rd_u64(&r);
	k = cv_rd_u16(&r);
	if (r.bad || k > cv_rd_left(&r) / (2 * CV_POINT_LEN + sizeof(cv_ballot_proof)))
		return CV_E_MALFORMED;
	if (cv_ballot_alloc(bl, k) != CV_OK)
		return CV_E_NOMEM;
	for (size_t i = 0; i < k; i++) {
		cv_rd_copy(&r, bl->cts[i].a, CV_POINT_LEN);
		cv_rd_copy(&r, bl->cts[i].b, CV_POINT_LEN);
	}
	for (size_t i = 0; i < k; i++)
		cv_rd_copy(&r, &bl->proofs[i], sizeof(bl->proofs[i]));
	cv_rd_copy(&r, bl->sum_c, CV_SCALAR_LEN);
	cv_rd_copy(&r, bl->sum_v, CV_SCALAR_LEN);
	cv_rd_copy(&r, bl->signature, CV_SIG_LEN);
	if (!cv_rd_end(&r)) {
		cv_ballot_free(bl);
		return CV_E_MALFORMED;
	}
	return CV_OK;
}

cv_err cv_ballot_sign(cv_ballot *bl, const cv_privkey *voter)
{
	return item_sign(ballot_payload, bl, voter, bl->signature);
}

/* ---- decryption shares ---- */

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
	cv_reader r = {.p = leaf, .n = len};
	size_t k;

	memset(d, 0, sizeof(*d));
	if (!cv_rd_tag(&r, CV_TAG_DECRYPTION))
		return CV_E_MALFORMED;
	cv_rd_copy(&r, d->election_id, CV_HASH_LEN);
	cv_rd_copy(&r, d->validator_key, CV_KEY_LEN);
	d->through_height = cv_rd_u64(&r);
	k = cv_rd_u16(&r);
	if (r.bad || k > cv_rd_left(&r) / sizeof(cv_share))
		return CV_E_MALFORMED;
	if (cv_decryption_alloc(d, k) != CV_OK)
		return CV_E_NOMEM;
	for (size_t i = 0; i < k; i++)
		cv_rd_copy(&r, &d->shares[i], sizeof(d->shares[i]));
	cv_rd_copy(&r, d->signature, CV_SIG_LEN);
	if (!cv_rd_end(&r)) {
		cv_decryption_free(d);
		return CV_E_MALFORMED;
	}
	return CV_OK;
}

cv_err cv_decryption_sign(cv_decryption *d, const cv_privkey *validator)
{
	return item_sign(decryption_payload, d, validator, d->signature);
}
