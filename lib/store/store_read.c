/* Reading the store: the election's summary, the genesis, the tally, committed blocks,
 * the chain export, vote receipts with their inclusion proofs, and the pool. Each read
 * is one transaction (the export one per block). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "store_impl.h"

/* ---- summary ---- */

static cv_err info_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	cv_info *in = ctx;
	cv_st_close close;
	cv_st_tip tip;
	cv_err e;

	memset(in, 0, sizeof *in);
	e = cv_st_close_get(s, txn, cv_now(), false, &close);
	if (e == CV_OK)
		e = cv_st_settings(s, txn, &in->settings);
	if (e != CV_OK)
		return e;
	if (close.state != CV_STATE_SETUP &&
	    (e = cv_st_settings_in_force(s, txn, &in->settings)) != CV_OK)
		return e;
	in->state = close.closed ? CV_STATE_CLOSED : close.state;
	in->closed_at = close.closed ? close.closed_at : 0;
	in->seal_height = close.seal_height;
	in->final = close.seal_height != 0;
	if (in->state != CV_STATE_SETUP) {
		e = cv_st_genesis_get(s, txn, in->genesis_hash, &in->genesis_timestamp);
		if (e == CV_OK)
			e = cv_st_tip_get(s, txn, &tip);
		if (e != CV_OK)
			return e == CV_E_NOT_FOUND ? CV_E_STORE : e;
		in->tip_height = tip.height;
		memcpy(in->tip_hash, tip.hash, CV_HASH_LEN);
		in->tip_timestamp = tip.header.timestamp;
	}
	if ((e = cv_st_meta_u64(s, txn, "n_voters", &in->n_voters)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, "n_eligible", &in->n_eligible)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, "n_registered", &in->n_registered)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, "n_pending", &in->n_pending)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, "n_committed", &in->n_committed)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, "archived", &in->archived_at)) != CV_OK)
		return e;
	in->n_electorate = in->n_voters;
	if (in->n_eligible > in->n_registered)
		in->n_electorate += in->n_eligible - in->n_registered;
	return cv_st_proposal_count(s, txn, &in->n_proposals);
}

cv_err cv_store_info(cv_store *s, cv_info *out)
{
	return cv_st_run(s, info_op, out);
}

typedef struct genesis_ctx {
	bool with_voters;
	cv_genesis *g;
} genesis_ctx;

static cv_err genesis_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	genesis_ctx *c = ctx;

	cv_genesis_free(c->g);
	return cv_st_load_genesis(s, txn, c->with_voters, c->g);
}

cv_err cv_store_genesis(cv_store *s, bool with_voters, cv_genesis *out)
{
	genesis_ctx c = {with_voters, out};

	memset(out, 0, sizeof *out);
	return cv_st_run(s, genesis_op, &c);
}

static cv_err tally_candidate(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	cv_tally *t = ctx;
	void *ids, *votes;

	(void)v;
	(void)vl;
	if (kl != 4)
		return CV_E_STORE;
	ids = realloc(t->ids, (t->n + 1) * sizeof *t->ids);
	if (ids == NULL)
		return CV_E_NOMEM;
	t->ids = ids;
	votes = realloc(t->votes, (t->n + 1) * sizeof *t->votes);
	if (votes == NULL)
		return CV_E_NOMEM;
	t->votes = votes;
	t->ids[t->n] = cv_get_u32(k);
	t->votes[t->n] = 0;
	t->n++;
	return CV_OK;
}

static cv_err tally_count(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	cv_tally *t = ctx;
	uint32_t id;

	if (kl != 4 || vl != 8)
		return CV_E_STORE;
	id = cv_get_u32(k);
	/* Both lists are in id order; candidates are frozen once votes exist. */
	for (size_t i = 0; i < t->n; i++)
		if (t->ids[i] == id) {
			t->votes[i] = cv_get_u64(v);
			t->total += t->votes[i];
			return CV_OK;
		}
	return CV_E_STORE;
}

/* A secret election's tally: the ballots committed, sealed, and the counts once the
 * trustees' shares decrypted them (ST_SECRET_TALLY, kept at the commit that brought the
 * quorum); pending before that, unless the seal came with no ballot at all. */
static cv_err secret_tally(cv_store *s, DB_TXN *txn, cv_tally *t)
{
	cv_settings st;
	uint64_t seal_height;
	void *rec = NULL;
	size_t n;
	cv_err e;

	if ((e = cv_st_settings(s, txn, &st)) != CV_OK || !st.secret)
		return e;
	t->secret = true;
	t->pending = true;
	if ((e = cv_st_meta_u64(s, txn, "n_committed", &t->ballots)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, "seal_height", &seal_height)) != CV_OK)
		return e;
	t->sealed = seal_height != 0;
	e = cv_st_get(s, ST_META, txn, ST_SECRET_TALLY, strlen(ST_SECRET_TALLY), &rec, &n, 0);
	if (e == CV_E_NOT_FOUND) {
		t->pending = !(t->sealed && t->ballots == 0);
		return CV_OK;
	}
	if (e != CV_OK)
		return e;
	if (n != t->n * 8) {
		free(rec);
		return CV_E_STORE;
	}
	t->total = 0;
	for (size_t i = 0; i < t->n; i++) {
		t->votes[i] = cv_get_u64((uint8_t *)rec + 8 * i);
		t->total += t->votes[i];
	}
	t->pending = false;
	free(rec);
	return CV_OK;
}

static cv_err tally_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	cv_tally *t = ctx;
	cv_state state;
	cv_err e;

	cv_tally_free(t);
	memset(t, 0, sizeof *t);
	e = cv_st_state(s, txn, false, &state);
	if (e == CV_OK)
		e = cv_st_scan(s, ST_CANDIDATES, txn, NULL, 0, tally_candidate, t);
	if (e == CV_OK)
		e = cv_st_scan(s, ST_TALLY, txn, NULL, 0, tally_count, t);
	if (e == CV_OK)
		e = secret_tally(s, txn, t);
	return e;
}

cv_err cv_store_tally(cv_store *s, cv_tally *out)
{
	cv_err e;

	memset(out, 0, sizeof *out);
	e = cv_st_run(s, tally_op, out);
	if (e != CV_OK) {
		cv_tally_free(out);
		memset(out, 0, sizeof *out);
	}
	return e;
}

static cv_err on_roll_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	return cv_st_exists(s, ST_ROLL, txn, ctx, CV_KEY_LEN);
}

bool cv_store_on_roll(cv_store *s, const uint8_t key[CV_KEY_LEN])
{
	return cv_st_run(s, on_roll_op, (void *)key) == CV_OK;
}

/* ---- blocks ---- */

typedef struct block_ctx {
	uint64_t height;
	const uint8_t *hash; /* by hash when set */
	cv_block *b;
} block_ctx;

static cv_err block_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	block_ctx *c = ctx;
	uint8_t key[8];
	void *p = NULL;
	size_t n;
	cv_err e;

	cv_block_free(c->b);
	if (c->hash != NULL) {
		e = cv_st_get_fixed(s, ST_HASHES, txn, c->hash, CV_HASH_LEN, key, sizeof key, 0);
		if (e != CV_OK)
			return e;
		c->height = cv_get_u64(key);
	}
	cv_put_u64(key, c->height);
	e = cv_st_get(s, ST_BLOCKS, txn, key, sizeof key, &p, &n, 0);
	if (e != CV_OK)
		return e;
	e = cv_st_block_decode(p, n, c->b);
	free(p);
	if (e != CV_OK || c->height != 0)
		return e;
	/* The genesis in its public form carries the whole roll. */
	c->b->genesis = calloc(1, sizeof *c->b->genesis);
	if (c->b->genesis == NULL)
		return CV_E_NOMEM;
	return cv_st_load_genesis(s, txn, true, c->b->genesis);
}

cv_err cv_store_block(cv_store *s, uint64_t height, cv_block *out)
{
	block_ctx c = {height, NULL, out};
	cv_err e;

	memset(out, 0, sizeof *out);
	e = cv_st_run(s, block_op, &c);
	if (e != CV_OK)
		cv_block_free(out);
	return e;
}

cv_err cv_store_block_by_hash(cv_store *s, const uint8_t hash[CV_HASH_LEN], cv_block *out)
{
	block_ctx c = {0, hash, out};
	cv_err e;

	memset(out, 0, sizeof *out);
	e = cv_st_run(s, block_op, &c);
	if (e != CV_OK)
		cv_block_free(out);
	return e;
}

static cv_err tip_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	cv_state state;
	cv_err e = cv_st_state(s, txn, false, &state);

	if (e != CV_OK)
		return e;
	if (state == CV_STATE_SETUP)
		return CV_E_BAD_STATE;
	return cv_st_tip_get(s, txn, ctx);
}

cv_err cv_store_export(cv_store *s, int (*write)(void *ctx, const char *p, size_t n), void *ctx)
{
	cv_st_tip tip;
	cv_err e;

	/* The tip read first bounds the export: blocks committed meanwhile are left for the
	 * next export, so the output is always a consistent prefix of the chain. */
	e = cv_st_run(s, tip_op, &tip);
	if (e != CV_OK)
		return e;
	return cv_store_export_through(s, tip.height, write, ctx);
}

cv_err cv_store_export_through(cv_store *s, uint64_t height,
                               int (*write)(void *ctx, const char *p, size_t n), void *ctx)
{
	static const char head[] = "{\"format\":\"chainvote-chain/1\",\"blocks\":[";
	cv_block b;
	json_object *o;
	const char *text;
	size_t len;
	cv_err e;

	if (write(ctx, head, sizeof head - 1) != 0)
		return CV_E_IO;
	for (uint64_t h = 0; h <= height; h++) {
		e = cv_store_block(s, h, &b);
		if (e != CV_OK)
			return e;
		o = cv_block_to_json(&b);
		cv_block_free(&b);
		if (o == NULL)
			return CV_E_NOMEM;
		text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
		if (text == NULL) {
			json_object_put(o);
			return CV_E_NOMEM;
		}
		if ((h > 0 && write(ctx, ",", 1) != 0) || write(ctx, text, len) != 0) {
			json_object_put(o);
			return CV_E_IO;
		}
		json_object_put(o);
	}
	return write(ctx, "]}\n", 3) == 0 ? CV_OK : CV_E_IO;
}

/* ---- votes ---- */

typedef struct status_ctx {
	const uint8_t *txid;
	cv_vote_status *out;
} status_ctx;

/* A pool record into st: a vote's leaf, or (secret election) a ballot's or a share's,
 * told apart by its tag. */
static cv_err status_item(const uint8_t *p, size_t n, cv_vote_status *st)
{
	if (n > strlen(CV_TAG_BALLOT) && memcmp(p, CV_TAG_BALLOT, strlen(CV_TAG_BALLOT)) == 0) {
		st->kind = CV_ITEM_BALLOT;
		return cv_ballot_from_leaf(p, n, &st->ballot) == CV_OK ? CV_OK : CV_E_STORE;
	}
	if (n > strlen(CV_TAG_DECRYPTION) &&
	    memcmp(p, CV_TAG_DECRYPTION, strlen(CV_TAG_DECRYPTION)) == 0) {
		st->kind = CV_ITEM_DECRYPTION;
		return cv_decryption_from_leaf(p, n, &st->decryption) == CV_OK ? CV_OK : CV_E_STORE;
	}
	return cv_st_vote_decode(p, n, &st->vote);
}

/* Moves leaf st->index of committed block b into st (b gives it up). */
static cv_err status_leaf(cv_block *b, cv_vote_status *st)
{
	size_t i = (size_t)st->index;

	if (!b->secret) {
		if (i >= b->n_votes)
			return CV_E_STORE;
		st->vote = b->votes[i];
		return CV_OK;
	}
	if (i < b->n_ballots) {
		st->kind = CV_ITEM_BALLOT;
		st->ballot = b->ballots[i];
		memset(&b->ballots[i], 0, sizeof b->ballots[i]);
		return CV_OK;
	}
	if (i - b->n_ballots < b->n_decryptions) {
		st->kind = CV_ITEM_DECRYPTION;
		st->decryption = b->decryptions[i - b->n_ballots];
		memset(&b->decryptions[i - b->n_ballots], 0, sizeof *b->decryptions);
		return CV_OK;
	}
	return CV_E_STORE;
}

static cv_err status_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	status_ctx *c = ctx;
	cv_vote_status *st = c->out;
	uint8_t key[8], (*leaves)[CV_HASH_LEN] = NULL;
	void *rec = NULL, *p = NULL;
	size_t n, plen, n_leaves;
	cv_st_loc loc;
	cv_block b;
	cv_err e;

	memset(&b, 0, sizeof b);
	cv_vote_status_free(st);
	e = cv_st_get(s, ST_TXS, txn, c->txid, CV_HASH_LEN, &rec, &n, 0);
	if (e != CV_OK)
		return e;
	if ((e = cv_st_loc_decode(rec, n, &loc)) != CV_OK)
		goto out;
	if (!loc.committed) {
		cv_put_u64(key, loc.seq);
		e = cv_st_get(s, ST_POOL, txn, key, sizeof key, &p, &n, 0);
		if (e == CV_OK)
			e = status_item(p, n, st);
		goto out;
	}
	st->committed = true;
	st->height = loc.height;
	st->index = loc.index;
	cv_put_u64(key, st->height);
	e = cv_st_get(s, ST_BLOCKS, txn, key, sizeof key, &p, &n, 0);
	if (e == CV_OK)
		e = cv_st_block_decode(p, n, &b);
	/* the path first: status_leaf takes the leaf out of b */
	if (e == CV_OK)
		e = cv_block_leaf_hashes(&b, &leaves, &n_leaves);
	if (e != CV_OK)
		goto out;
	if (st->index >= n_leaves) {
		e = CV_E_STORE;
		goto out;
	}
	memcpy(st->block_hash, b.hash, CV_HASH_LEN);
	st->tree_size = n_leaves;
	e = cv_merkle_path((const uint8_t(*)[CV_HASH_LEN])leaves, n_leaves, st->index, st->path,
	                   &plen);
	st->path_len = plen;
	if (e == CV_OK)
		e = status_leaf(&b, st);
out:
	free(leaves);
	cv_block_free(&b);
	free(rec);
	free(p);
	return e;
}

void cv_vote_status_free(cv_vote_status *st)
{
	if (st == NULL)
		return;
	cv_ballot_free(&st->ballot);
	cv_decryption_free(&st->decryption);
	memset(st, 0, sizeof *st);
}

cv_err cv_store_vote_status(cv_store *s, const uint8_t txid[CV_HASH_LEN], cv_vote_status *out)
{
	status_ctx c = {txid, out};
	cv_err e;

	memset(out, 0, sizeof *out);
	e = cv_st_run(s, status_op, &c);
	if (e != CV_OK)
		cv_vote_status_free(out);
	return e;
}

typedef struct pool_ctx {
	size_t max, n, cap;
	cv_vote *votes;         /* cv_store_pool */
	cv_pool_entry *entries; /* cv_store_pool_secret */
	bool secret;            /* which of the two is listed */
} pool_ctx;

/* A secret election's pool record (a ballot's or a share's leaf) into e. */
static cv_err pool_entry_of(const uint8_t *v, size_t vl, cv_pool_entry *e)
{
	cv_vote_status st;
	cv_err err;

	memset(&st, 0, sizeof st);
	memset(e, 0, sizeof *e);
	if ((err = status_item(v, vl, &st)) != CV_OK)
		goto out;
	e->kind = st.kind;
	if (st.kind == CV_ITEM_BALLOT) {
		memcpy(e->key, st.ballot.voter_key, CV_KEY_LEN);
		e->at = st.ballot.timestamp;
		err = cv_ballot_txid(&st.ballot, e->txid);
	} else {
		memcpy(e->key, st.decryption.validator_key, CV_KEY_LEN);
		e->at = st.decryption.through_height;
		err = cv_decryption_txid(&st.decryption, e->txid);
	}
	if (err != CV_OK && err != CV_E_NOMEM)
		err = CV_E_STORE;
out:
	cv_vote_status_free(&st);
	return err;
}

static cv_err pool_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	pool_ctx *c = ctx;
	cv_vote *grown;

	(void)k;
	if (kl != 8)
		return CV_E_STORE;
	if (c->n >= c->max)
		return ST_STOP;
	/* a vote's leaf has the one fixed length; a ballot's or share's never has it */
	if ((vl == CV_LEAF_LEN) == c->secret)
		return CV_OK;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;

		if (c->secret) {
			cv_pool_entry *more = realloc(c->entries, cap * sizeof *more);

			if (more == NULL)
				return CV_E_NOMEM;
			c->entries = more;
		} else {
			grown = realloc(c->votes, cap * sizeof *c->votes);
			if (grown == NULL)
				return CV_E_NOMEM;
			c->votes = grown;
		}
		c->cap = cap;
	}
	if (c->secret)
		return pool_entry_of(v, vl, &c->entries[c->n++]);
	return cv_st_vote_decode(v, vl, &c->votes[c->n++]);
}

static cv_err pool_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	pool_ctx *c = ctx;

	c->n = 0;
	return cv_st_scan(s, ST_POOL, txn, NULL, 0, pool_one, c);
}

cv_err cv_store_pool_secret(cv_store *s, size_t max, cv_pool_entry **out, size_t *n)
{
	pool_ctx c = {max, 0, 0, NULL, NULL, true};
	cv_err e = cv_st_run(s, pool_op, &c);

	*out = NULL;
	*n = 0;
	if (e != CV_OK) {
		free(c.entries);
		return e;
	}
	*out = c.entries;
	*n = c.n;
	return CV_OK;
}

cv_err cv_store_pool(cv_store *s, size_t max, cv_vote **out, size_t *n)
{
	pool_ctx c = {max, 0, 0, NULL, NULL, false};
	cv_err e = cv_st_run(s, pool_op, &c);

	*out = NULL;
	*n = 0;
	if (e != CV_OK) {
		free(c.votes);
		return e;
	}
	*out = c.votes;
	*n = c.n;
	return CV_OK;
}

/* ---- voters ---- */

typedef struct voter_ctx {
	const uint8_t *key;
	bool *on_roll, *has_vote;
	uint8_t *txid;
} voter_ctx;

static cv_err voter_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	voter_ctx *c = ctx;
	void *v = NULL;
	size_t n;
	cv_err e;

	*c->on_roll = *c->has_vote = false;
	e = cv_st_exists(s, ST_ROLL, txn, c->key, CV_KEY_LEN);
	if (e != CV_OK && e != CV_E_NOT_FOUND)
		return e;
	*c->on_roll = e == CV_OK;
	e = cv_st_get(s, ST_VOTED, txn, c->key, CV_KEY_LEN, &v, &n, 0);
	if (e == CV_E_NOT_FOUND)
		return CV_OK;
	if (e == CV_OK && n == CV_HASH_LEN) {
		*c->has_vote = true;
		memcpy(c->txid, v, CV_HASH_LEN);
	} else if (e == CV_OK) {
		e = CV_E_STORE;
	}
	free(v);
	return e;
}

cv_err cv_store_voter(cv_store *s, const uint8_t key[CV_KEY_LEN], bool *on_roll, bool *has_vote,
                      uint8_t txid[CV_HASH_LEN])
{
	voter_ctx c = {key, on_roll, has_vote, txid};

	return cv_st_run(s, voter_op, &c);
}
