/* The genesis read from the setup databases, its cache on the handle, and the view the
 * rules judge a vote or block with (the roll, who has voted). */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

/* ---- the genesis from the setup databases ---- */

typedef struct load_ctx {
	cv_genesis *g;
	size_t cap;
	cv_err bad;
} load_ctx;

static bool grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, ncap * size);
	if (p == NULL)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

static cv_err load_candidate(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	load_ctx *l = ctx;
	cv_candidate *c;

	if (kl != 4 || vl > CV_TEXT_MAX)
		return CV_E_STORE;
	if (!grow((void **)&l->g->candidates, &l->cap, l->g->n_candidates, sizeof *c))
		return CV_E_NOMEM;
	c = &l->g->candidates[l->g->n_candidates++];
	c->id = cv_get_u32(k);
	memcpy(c->name, v, vl);
	c->name[vl] = '\0';
	return CV_OK;
}

static cv_err load_validator(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	load_ctx *l = ctx;
	cv_validator *val;

	if (kl != CV_KEY_LEN || vl > CV_TEXT_MAX)
		return CV_E_STORE;
	if (!grow((void **)&l->g->validators, &l->cap, l->g->n_validators, sizeof *val))
		return CV_E_NOMEM;
	val = &l->g->validators[l->g->n_validators++];
	memcpy(val->key, k, CV_KEY_LEN);
	memcpy(val->name, v, vl);
	val->name[vl] = '\0';
	return CV_OK;
}

static cv_err load_voter(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	load_ctx *l = ctx;

	(void)v;
	(void)vl;
	if (kl != CV_KEY_LEN)
		return CV_E_STORE;
	if (!grow((void **)&l->g->voters, &l->cap, l->g->n_voters, CV_KEY_LEN))
		return CV_E_NOMEM;
	memcpy(l->g->voters[l->g->n_voters++], k, CV_KEY_LEN);
	return CV_OK;
}

cv_err cv_st_load_genesis(cv_store *s, DB_TXN *txn, bool with_voters, cv_genesis *g)
{
	cv_settings st;
	load_ctx l = {g, 0, CV_OK};
	cv_err e;

	memset(g, 0, sizeof *g);
	e = cv_st_settings(s, txn, &st);
	if (e != CV_OK)
		goto err;
	g->election = st.election;
	e = cv_st_scan(s, ST_CANDIDATES, txn, NULL, 0, load_candidate, &l);
	if (e != CV_OK)
		goto err;
	l.cap = 0;
	e = cv_st_scan(s, ST_VALIDATORS, txn, NULL, 0, load_validator, &l);
	if (e != CV_OK)
		goto err;
	l.cap = 0;
	if (with_voters) {
		e = cv_st_scan(s, ST_ROLL, txn, NULL, 0, load_voter, &l);
		if (e != CV_OK)
			goto err;
	}
	if (st.secret) {
		/* a secret election's genesis: the secrecy entry and the trustee entries
		 * of its key ceremony, in key order (once open, frozen as the rest) */
		if ((g->secrecy = calloc(1, sizeof *g->secrecy)) == NULL) {
			e = CV_E_NOMEM;
			goto err;
		}
		e = cv_st_ceremony_entries(s, txn, st.quorum, g->secrecy);
		if (e != CV_OK)
			goto err;
	}
	return CV_OK;
err:
	cv_genesis_free(g);
	return e;
}

/* ---- the rules' view ---- */

typedef struct cache_ctx {
	cv_state state;
	cv_genesis g;
	uint8_t id[CV_HASH_LEN];
	uint64_t ts;
} cache_ctx;

static cv_err load_cache(cv_store *s, DB_TXN *txn, void *ctx)
{
	cache_ctx *c = ctx;
	cv_err e;

	cv_genesis_free(&c->g);
	e = cv_st_state(s, txn, false, &c->state);
	if (e != CV_OK || c->state == CV_STATE_SETUP)
		return e;
	if ((e = cv_st_genesis_get(s, txn, c->id, &c->ts)) != CV_OK)
		return e;
	return cv_st_load_genesis(s, txn, false, &c->g);
}

/* The cached genesis, loaded on first need once the election is open. */
static cv_err genesis_cached(cv_store *s)
{
	uint8_t(*keys)[CV_POINT_LEN] = NULL;
	uint8_t K[CV_POINT_LEN];
	cache_ctx c;
	cv_err e;

	pthread_mutex_lock(&s->lock);
	if (s->have_genesis) {
		pthread_mutex_unlock(&s->lock);
		return CV_OK;
	}
	pthread_mutex_unlock(&s->lock);
	memset(&c, 0, sizeof c);
	e = cv_st_run(s, load_cache, &c);
	if (e == CV_E_NOT_FOUND)
		e = CV_E_BAD_STATE;
	if (e == CV_OK && c.state == CV_STATE_SETUP)
		e = CV_E_BAD_STATE;
	if (e != CV_OK) {
		cv_genesis_free(&c.g);
		return e;
	}
	/* a secret election's K and every K_j, derived once: every ballot and share is
	 * checked against them */
	if (c.g.secrecy != NULL) {
		size_t n = c.g.secrecy->n_trustees;

		if ((keys = calloc(n ? n : 1, CV_POINT_LEN)) == NULL) {
			cv_genesis_free(&c.g);
			return CV_E_NOMEM;
		}
		if (cv_election_key(c.g.secrecy, K) != CV_OK)
			memcpy(K, CV_POINT_O, CV_POINT_LEN);
		for (size_t j = 0; j < n; j++)
			if (cv_trustee_key(c.g.secrecy, j + 1, keys[j]) != CV_OK)
				memcpy(keys[j], CV_POINT_O, CV_POINT_LEN);
	}
	pthread_mutex_lock(&s->lock);
	if (!s->have_genesis) {
		memcpy(s->election_key, K, CV_POINT_LEN);
		s->trustee_keys = keys;
		keys = NULL;
		s->genesis = c.g;
		memcpy(s->election_id, c.id, CV_HASH_LEN);
		s->genesis_ts = c.ts;
		s->have_genesis = true;
	} else {
		cv_genesis_free(&c.g);
	}
	pthread_mutex_unlock(&s->lock);
	free(keys);
	return CV_OK;
}

static cv_err roll_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	return cv_st_exists(s, ST_ROLL, txn, ctx, CV_KEY_LEN);
}

static int view_on_roll(void *ctx, const uint8_t key[CV_KEY_LEN])
{
	cv_err e = cv_st_run(ctx, roll_op, (void *)key);

	if (e == CV_OK)
		return 1;
	return e == CV_E_NOT_FOUND ? 0 : -(int)e;
}

int cv_st_has_voted_txn(cv_store *s, DB_TXN *txn, const uint8_t key[CV_KEY_LEN])
{
	uint8_t txid[CV_HASH_LEN];
	bool committed;
	void *loc;
	size_t n;
	cv_err e;

	e = cv_st_get_fixed(s, ST_VOTED, txn, key, CV_KEY_LEN, txid, sizeof txid, 0);
	if (e == CV_E_NOT_FOUND)
		return 0;
	if (e != CV_OK)
		return -(int)e;
	e = cv_st_get(s, ST_TXS, txn, txid, CV_HASH_LEN, &loc, &n, 0);
	if (e != CV_OK)
		return -(int)(e == CV_E_NOT_FOUND ? CV_E_STORE : e);
	committed = n > 0 && ((uint8_t *)loc)[0] == 1;
	free(loc);
	return committed ? 1 : 0;
}

typedef struct voted_ctx {
	const uint8_t *key;
	int result;
} voted_ctx;

static cv_err voted_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	voted_ctx *v = ctx;

	v->result = cv_st_has_voted_txn(s, txn, v->key);
	return v->result < 0 ? (cv_err)-v->result : CV_OK;
}

static int view_has_voted(void *ctx, const uint8_t key[CV_KEY_LEN])
{
	voted_ctx v = {key, 0};
	cv_err e = cv_st_run(ctx, voted_op, &v);

	return e == CV_OK ? v.result : -(int)e;
}

static cv_err view_with(cv_store *s, bool recent, cv_view *v)
{
	const cv_params *params = NULL;
	cv_err e = genesis_cached(s);

	memset(v, 0, sizeof *v);
	if (e == CV_OK)
		e = recent ? cv_st_params_recent(s, &params) : cv_st_params(s, &params);
	if (e != CV_OK)
		return e;
	/* every rule reads the parameters in force (docs/GOVERNANCE.md) */
	v->genesis = &params->genesis;
	v->params = params;
	memcpy(v->election_id, s->election_id, CV_HASH_LEN);
	v->genesis_timestamp = s->genesis_ts;
	v->ctx = s;
	v->on_roll = view_on_roll;
	v->has_voted = view_has_voted;
	return CV_OK;
}

cv_err cv_st_view(cv_store *s, cv_view *v)
{
	return view_with(s, false, v);
}

cv_err cv_st_view_recent(cv_store *s, cv_view *v)
{
	return view_with(s, true, v);
}
