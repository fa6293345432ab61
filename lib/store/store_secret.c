/* A secret election's records in the store (DESIGN section 6): the aggregate α, β of
 * the committed ballots, the trustees' share guards, and the secret view the rules judge
 * a block with. */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

static const cv_decryption committed_share; /* share_of's mark: "has one in the chain" */

static cv_err aggregate_get(cv_store *s, DB_TXN *txn, size_t k, uint8_t (*alpha)[CV_POINT_LEN],
                            uint8_t (*beta)[CV_POINT_LEN])
{
	void *rec = NULL;
	size_t n;
	cv_err e = cv_st_get(s, ST_META, txn, ST_AGGREGATE, strlen(ST_AGGREGATE), &rec, &n, 0);

	if (e == CV_E_NOT_FOUND) {
		for (size_t i = 0; i < k; i++) {
			memcpy(alpha[i], CV_POINT_O, CV_POINT_LEN);
			memcpy(beta[i], CV_POINT_O, CV_POINT_LEN);
		}
		return CV_OK;
	}
	if (e != CV_OK)
		return e;
	if (n != 2 * k * CV_POINT_LEN) {
		free(rec);
		return CV_E_STORE;
	}
	memcpy(alpha, rec, k * CV_POINT_LEN);
	memcpy(beta, (uint8_t *)rec + k * CV_POINT_LEN, k * CV_POINT_LEN);
	free(rec);
	return CV_OK;
}

cv_err cv_st_aggregate(cv_store *s, DB_TXN *txn, size_t k, uint8_t (**alpha)[CV_POINT_LEN],
                       uint8_t (**beta)[CV_POINT_LEN])
{
	cv_err e;

	*alpha = calloc(k ? k : 1, CV_POINT_LEN);
	*beta = calloc(k ? k : 1, CV_POINT_LEN);
	e = *alpha == NULL || *beta == NULL ? CV_E_NOMEM : aggregate_get(s, txn, k, *alpha, *beta);
	if (e != CV_OK) {
		free(*alpha);
		free(*beta);
		*alpha = *beta = NULL;
	}
	return e;
}

/* Whether the item whose txid the guard record (db, key) holds is committed: 1, 0 (in
 * the pool or no record), or -cv_err. */
int cv_st_guard_committed(cv_store *s, DB_TXN *txn, int db, const void *key, size_t klen,
                          uint8_t txid[CV_HASH_LEN], uint64_t *height, uint32_t *index)
{
	cv_st_loc loc;
	void *p;
	size_t n;
	cv_err e = cv_st_get_fixed(s, db, txn, key, klen, txid, CV_HASH_LEN, 0);

	if (e == CV_E_NOT_FOUND)
		return 0;
	if (e != CV_OK)
		return -(int)e;
	if ((e = cv_st_get(s, ST_TXS, txn, txid, CV_HASH_LEN, &p, &n, 0)) != CV_OK)
		return -(int)(e == CV_E_NOT_FOUND ? CV_E_STORE : e);
	e = cv_st_loc_decode(p, n, &loc);
	free(p);
	if (e != CV_OK || !loc.committed)
		return 0;
	if (height != NULL)
		*height = loc.height;
	if (index != NULL)
		*index = loc.index;
	return 1;
}

void cv_st_share_key(const uint8_t key[CV_KEY_LEN], uint8_t out[SHARE_KEY_LEN])
{
	static const char prefix[SHARE_PREFIX_LEN + 1] = ST_SHARE_PREFIX;

	for (size_t i = 0; i < SHARE_PREFIX_LEN; i++)
		out[i] = (uint8_t)prefix[i];
	memcpy(out + SHARE_PREFIX_LEN, key, CV_KEY_LEN);
}

typedef struct sview_ctx {
	cv_view *v;
	cv_secret_view *sv;
	uint8_t (*beta)[CV_POINT_LEN]; /* read with α, not kept */
	cv_st_close cl;
} sview_ctx;

static cv_err sview_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	sview_ctx *c = ctx;
	const cv_secrecy *sec = c->v->genesis->secrecy;
	uint8_t key[SHARE_KEY_LEN], txid[CV_HASH_LEN];
	cv_err e;
	int r;

	if ((e = cv_st_close_get(s, txn, cv_now(), false, &c->cl)) != CV_OK ||
	    (e = aggregate_get(s, txn, c->v->genesis->n_candidates, c->sv->alpha, c->beta)) !=
	        CV_OK)
		return e;
	for (size_t j = 0; j < sec->n_trustees; j++) {
		cv_st_share_key(sec->trustees[j].validator_key, key);
		r = cv_st_guard_committed(s, txn, ST_META, key, sizeof key, txid, NULL, NULL);
		if (r < 0)
			return (cv_err)-r;
		c->sv->share_of[j] = r > 0 ? &committed_share : NULL;
	}
	return CV_OK;
}

void cv_st_secret_view_free(cv_secret_view *sv)
{
	if (sv == NULL)
		return;
	free(sv->share_of);
	free(sv->alpha);
	memset(sv, 0, sizeof *sv);
}

cv_err cv_st_secret_view(cv_store *s, DB_TXN *txn, cv_view *v, cv_secret_view *sv)
{
	sview_ctx c;
	size_t k, n;
	cv_err e;

	memset(sv, 0, sizeof *sv);
	memset(&c, 0, sizeof c);
	c.v = v;
	c.sv = sv;
	if ((e = cv_st_view(s, v)) != CV_OK)
		return e;
	if (v->genesis->secrecy == NULL)
		return CV_OK;
	k = v->genesis->n_candidates;
	n = v->genesis->secrecy->n_trustees;
	memcpy(sv->election_key, s->election_key, CV_POINT_LEN);
	sv->n_trustees = n;
	sv->trustee_keys = s->trustee_keys; /* the handle's, lent */
	sv->share_of = calloc(n ? n : 1, sizeof(const cv_decryption *));
	sv->alpha = calloc(k ? k : 1, CV_POINT_LEN);
	c.beta = calloc(k ? k : 1, CV_POINT_LEN);
	if (sv->share_of == NULL || sv->alpha == NULL || c.beta == NULL)
		e = CV_E_NOMEM;
	else
		e = txn != NULL ? sview_op(s, txn, &c) : cv_st_run(s, sview_op, &c);
	free(c.beta);
	if (e != CV_OK) {
		cv_st_secret_view_free(sv);
		return e;
	}
	sv->seal_height = c.cl.seal_height;
	v->closed_at = c.cl.closed ? c.cl.closed_at : 0;
	v->sealed = c.cl.seal_height != 0;
	v->open = !c.cl.closed;
	v->secret = sv;
	return CV_OK;
}
