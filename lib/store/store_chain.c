/* The moving parts of the chain in the store: votes entering the pool, work templates
 * for miners, proposals, validators' verdicts, and the commit of a block when its
 * approvals reach the threshold. Signatures are checked before the transaction so
 * that locks are held only for the short bookkeeping; the rules come from rules.c. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_impl.h"

#define PENDING_LEN     9  /* txs: u8 0 || u64 pool seq */
#define COMMITTED_LEN   13 /* txs: u8 1 || u64 height || u32 index */
#define VERDICT_KEY_LEN (CV_HASH_LEN + CV_KEY_LEN)
#define HEIGHT_KEY_LEN  (8 + CV_KEY_LEN)

/* The state for operations that need the genesis fixed: CV_E_BAD_STATE in set-up. */
static cv_err past_setup(cv_store *s, DB_TXN *txn, bool write, cv_state *state)
{
	cv_err e = cv_st_state(s, txn, write, state);

	if (e == CV_E_NOT_FOUND)
		return CV_E_BAD_STATE;
	if (e == CV_OK && *state == CV_STATE_SETUP)
		return CV_E_BAD_STATE;
	return e;
}

/* ---- votes ---- */

static cv_err vote_state_err(cv_state state)
{
	if (state == CV_STATE_SETUP)
		return CV_E_NOT_OPEN;
	return state == CV_STATE_CLOSED ? CV_E_CLOSED : CV_OK;
}

/* The roll never changes once the election is open, so the rules read it without a
 * transaction: a begin and a commit for one B-tree lookup cost more than the lookup. */
static int roll_read(void *ctx, const uint8_t key[CV_KEY_LEN])
{
	cv_err e = cv_st_exists(ctx, ST_ROLL, NULL, key, CV_KEY_LEN);

	if (e == CV_OK)
		return 1;
	if (e == ST_RETRY || e == ST_TIMEOUT)
		e = CV_E_BUSY;
	return e == CV_E_NOT_FOUND ? 0 : -(int)e;
}

cv_err cv_store_check_vote(cv_store *s, const cv_vote *v, uint64_t now, uint8_t txid[CV_HASH_LEN])
{
	cv_view view;
	cv_state state;
	cv_err e;

	/* A cheap state check first, so a closed election answers so without the
	 * signature check. It reads without a transaction: the write checks again in its
	 * own, with the state's write lock. */
	e = cv_st_state(s, NULL, false, &state);
	if (e == CV_E_NOT_FOUND)
		return CV_E_NOT_OPEN;
	if (e == ST_RETRY || e == ST_TIMEOUT)
		return CV_E_BUSY;
	if (e != CV_OK)
		return e;
	if ((e = vote_state_err(state)) != CV_OK)
		return e;
	e = cv_st_view(s, &view);
	if (e != CV_OK)
		return e == CV_E_BAD_STATE ? CV_E_NOT_OPEN : e;
	if (view.genesis->secrecy != NULL)
		return CV_E_WRONG_MODE; /* a secret election takes ballots (cv_store_add_ballot) */
	view.on_roll = roll_read;
	/* Once `closes` has passed the election is closed by its clock, whatever the stored
	 * state says: the pool must stay what was pending at the close. */
	if (cv_st_closed_by_clock(view.genesis->election.closes, now))
		return CV_E_CLOSED;
	/* Rule 5 but "no earlier vote", outside any transaction: the genesis and the roll
	 * never change once open, and the signature check is the expensive part. */
	e = cv_check_vote(&view, v, now);
	if (e != CV_OK)
		return e;
	if (txid != NULL)
		cv_vote_txid(v, txid);
	return CV_OK;
}

typedef struct votes_ctx {
	const cv_vote *votes;
	size_t n;
	uint64_t now;
	cv_err *outcome;
} votes_ctx;

/* One item into the pool under its guard (the voter's ST_VOTED record, a trustee's
 * share record): the guard is the first write, so an item refused by it has written
 * nothing and the others of a batch go on in the same transaction (*outcome dup). */
static cv_err pool_put(cv_store *s, DB_TXN *txn, int guard_db, const void *guard_key,
                       size_t guard_klen, const uint8_t txid[CV_HASH_LEN], const void *leaf,
                       size_t leaf_len, uint64_t seq, cv_err dup, cv_err *outcome)
{
	uint8_t seq_key[8], loc[PENDING_LEN];
	cv_err e;

	/* one record per voter (trustee), pool or chain, written only if absent, inside the
	 * transaction that adds the item */
	e = cv_st_put(s, guard_db, txn, guard_key, guard_klen, txid, CV_HASH_LEN, DB_NOOVERWRITE);
	if (e == CV_E_EXISTS) {
		*outcome = dup;
		return CV_OK;
	}
	if (e != CV_OK)
		return e;
	cv_put_u64(seq_key, seq);
	e = cv_st_put(s, ST_POOL, txn, seq_key, sizeof seq_key, leaf, leaf_len, DB_NOOVERWRITE);
	if (e != CV_OK)
		return e == CV_E_EXISTS ? CV_E_STORE : e;
	loc[0] = 0;
	memcpy(loc + 1, seq_key, 8);
	/* a txid names its voter, so the guard above has refused any repeat already */
	e = cv_st_put(s, ST_TXS, txn, txid, CV_HASH_LEN, loc, sizeof loc, DB_NOOVERWRITE);
	if (e != CV_OK)
		return e == CV_E_EXISTS ? CV_E_STORE : e;
	*outcome = CV_OK;
	return CV_OK;
}

static cv_err add_one_vote(cv_store *s, DB_TXN *txn, const cv_vote *v, uint64_t seq,
                           cv_err *outcome)
{
	uint8_t txid[CV_HASH_LEN], leaf[CV_LEAF_LEN];

	cv_vote_txid(v, txid);
	cv_vote_leaf(v, leaf);
	return pool_put(s, txn, ST_VOTED, v->voter_key, CV_KEY_LEN, txid, leaf, sizeof leaf, seq,
	                CV_E_ALREADY_VOTED, outcome);
}

static cv_err add_votes_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	votes_ctx *c = ctx;
	cv_st_close cl;
	uint64_t seq, added = 0;
	cv_err e;

	/* The close in the transaction that writes: the state under its write lock and
	 * the clock at the batch's time, so that no vote enters the pool after the close
	 * and the pool stays what was pending at it. */
	e = cv_st_close_get(s, txn, c->now, true, &cl);
	if (e == CV_E_NOT_FOUND)
		return CV_E_NOT_OPEN;
	if (e != CV_OK)
		return e;
	if ((e = vote_state_err(cl.closed ? CV_STATE_CLOSED : cl.state)) != CV_OK)
		return e;
	if ((e = cv_st_meta_u64(s, txn, "pool_seq", &seq)) != CV_OK)
		return e;
	for (size_t i = 0; i < c->n; i++) {
		if ((e = add_one_vote(s, txn, &c->votes[i], seq + added, &c->outcome[i])) != CV_OK)
			return e;
		if (c->outcome[i] == CV_OK)
			added++;
	}
	if (added == 0)
		return CV_OK;
	if ((e = cv_st_meta_put_u64(s, txn, "pool_seq", seq + added)) != CV_OK)
		return e;
	return cv_st_meta_add(s, txn, "n_pending", (int64_t)added);
}

cv_err cv_store_add_votes(cv_store *s, const cv_vote *votes, size_t n, uint64_t now,
                          cv_err *outcome)
{
	votes_ctx c = {votes, n, now, outcome};

	if (n == 0)
		return CV_OK;
	return cv_st_run(s, add_votes_op, &c);
}

cv_err cv_store_add_vote(cv_store *s, const cv_vote *v, uint64_t now, uint8_t txid[CV_HASH_LEN])
{
	uint8_t id[CV_HASH_LEN];
	cv_err e, outcome = CV_E_INTERNAL;

	if ((e = cv_store_check_vote(s, v, now, id)) != CV_OK)
		return e;
	if ((e = cv_store_add_votes(s, v, 1, now, &outcome)) != CV_OK)
		return e;
	if (outcome == CV_OK && txid != NULL)
		memcpy(txid, id, CV_HASH_LEN);
	return outcome;
}

/* ---- ballots and decryption shares (DESIGN section 6) ---- */

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
static int guard_committed(cv_store *s, DB_TXN *txn, int db, const void *key, size_t klen,
                           uint8_t txid[CV_HASH_LEN], uint64_t *height, uint32_t *index)
{
	uint8_t loc[COMMITTED_LEN];
	void *p;
	size_t n;
	cv_err e = cv_st_get_fixed(s, db, txn, key, klen, txid, CV_HASH_LEN, 0);

	if (e == CV_E_NOT_FOUND)
		return 0;
	if (e != CV_OK)
		return -(int)e;
	if ((e = cv_st_get(s, ST_TXS, txn, txid, CV_HASH_LEN, &p, &n, 0)) != CV_OK)
		return -(int)(e == CV_E_NOT_FOUND ? CV_E_STORE : e);
	if (n != COMMITTED_LEN || ((uint8_t *)p)[0] != 1) {
		free(p);
		return 0;
	}
	memcpy(loc, p, sizeof loc);
	free(p);
	if (height != NULL)
		*height = cv_get_u64(loc + 1);
	if (index != NULL)
		*index = cv_get_u32(loc + 9);
	return 1;
}

/* A trustee's share guard key: the prefix's bytes (no terminator) then the key. */
#define SHARE_PREFIX_LEN (sizeof ST_SHARE_PREFIX - 1)
#define SHARE_KEY_LEN    (SHARE_PREFIX_LEN + CV_KEY_LEN)
static void share_key(const uint8_t key[CV_KEY_LEN], uint8_t out[SHARE_KEY_LEN])
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
		share_key(sec->trustees[j].validator_key, key);
		r = guard_committed(s, txn, ST_META, key, sizeof key, txid, NULL, NULL);
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

/* The pool's write of one ballot or share: the election's state and close in the
 * transaction, then pool_put under the item's guard. */
typedef struct item_ctx {
	bool share; /* a decryption share (else a ballot) */
	const uint8_t *guard_key;
	size_t guard_klen;
	const uint8_t *txid;
	const cv_buf *leaf;
	uint64_t now;
	cv_err outcome;
} item_ctx;

static cv_err add_item_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	item_ctx *c = ctx;
	cv_st_close cl;
	uint64_t seq;
	cv_err e;

	e = cv_st_close_get(s, txn, c->now, true, &cl);
	if (e == CV_E_NOT_FOUND)
		return CV_E_NOT_OPEN;
	if (e != CV_OK)
		return e;
	/* a ballot enters only while open (as a vote); a share only after the seal */
	if (!c->share && (e = vote_state_err(cl.closed ? CV_STATE_CLOSED : cl.state)) != CV_OK)
		return e;
	if (c->share && cl.seal_height == 0)
		return CV_E_DECRYPTION_BEFORE_SEAL;
	if ((e = cv_st_meta_u64(s, txn, "pool_seq", &seq)) != CV_OK)
		return e;
	e = pool_put(s, txn, c->share ? ST_META : ST_VOTED, c->guard_key, c->guard_klen, c->txid,
	             c->leaf->data, c->leaf->len, seq,
	             c->share ? CV_E_DECRYPTION_DUPLICATE : CV_E_ALREADY_VOTED, &c->outcome);
	if (e != CV_OK || c->outcome != CV_OK)
		return e;
	if ((e = cv_st_meta_put_u64(s, txn, "pool_seq", seq + 1)) != CV_OK)
		return e;
	return cv_st_meta_add(s, txn, "n_pending", 1);
}

static cv_err add_item(cv_store *s, item_ctx *c)
{
	cv_err e;

	c->outcome = CV_E_INTERNAL;
	e = cv_st_run(s, add_item_op, c);
	return e != CV_OK ? e : c->outcome;
}

cv_err cv_store_add_ballot(cv_store *s, const cv_ballot *bl, uint64_t now,
                           uint8_t txid[CV_HASH_LEN], size_t *pos)
{
	uint8_t id[CV_HASH_LEN];
	cv_secret_view sv = {0};
	cv_buf leaf = {0};
	item_ctx c = {0};
	cv_view view;
	cv_state state;
	cv_err e;

	if (pos != NULL)
		*pos = SIZE_MAX;
	/* the cheap refusals first: a closed election answers so without a proof check */
	e = cv_st_state(s, NULL, false, &state);
	if (e == CV_E_NOT_FOUND)
		return CV_E_NOT_OPEN;
	if (e == ST_RETRY || e == ST_TIMEOUT)
		return CV_E_BUSY;
	if (e != CV_OK || (e = vote_state_err(state)) != CV_OK)
		return e;
	if ((e = cv_st_view(s, &view)) != CV_OK)
		return e == CV_E_BAD_STATE ? CV_E_NOT_OPEN : e;
	if (view.genesis->secrecy == NULL)
		return CV_E_WRONG_MODE;
	if (cv_st_closed_by_clock(view.genesis->election.closes, now))
		return CV_E_CLOSED;
	/* rule 5.2 bar "no earlier ballot" outside any transaction: K and the roll never
	 * change once open, and the proofs are the expensive part; only K is read */
	memcpy(sv.election_key, s->election_key, CV_POINT_LEN);
	view.secret = &sv;
	view.on_roll = roll_read;
	if ((e = cv_check_ballot(&view, bl, now, pos)) != CV_OK)
		return e;
	if ((e = cv_ballot_txid(bl, id)) != CV_OK || (e = cv_ballot_leaf(bl, &leaf)) != CV_OK)
		goto out;
	c.guard_key = bl->voter_key;
	c.guard_klen = CV_KEY_LEN;
	c.txid = id;
	c.leaf = &leaf;
	c.now = now;
	e = add_item(s, &c);
	if (e == CV_OK && txid != NULL)
		memcpy(txid, id, CV_HASH_LEN);
out:
	cv_buf_free(&leaf);
	return e;
}

cv_err cv_store_add_decryption(cv_store *s, const cv_decryption *d, uint64_t now,
                               uint8_t txid[CV_HASH_LEN])
{
	uint8_t id[CV_HASH_LEN], key[SHARE_KEY_LEN];
	cv_secret_view sv = {0};
	cv_buf leaf = {0};
	item_ctx c = {0};
	cv_view view = {0};
	cv_err e;

	if ((e = cv_st_secret_view(s, NULL, &view, &sv)) != CV_OK)
		return e == CV_E_BAD_STATE ? CV_E_NOT_OPEN : e;
	if (view.genesis->secrecy == NULL) {
		e = CV_E_WRONG_MODE;
		goto out;
	}
	/* rule 5.3 against the chain as committed: the seal, the trustee, no share of it in
	 * the chain, through_height, the proofs against K_j and α */
	if ((e = cv_check_decryption(&view, d)) != CV_OK)
		goto out;
	if ((e = cv_decryption_txid(d, id)) != CV_OK || (e = cv_decryption_leaf(d, &leaf)) != CV_OK)
		goto out;
	share_key(d->validator_key, key);
	c.share = true;
	c.guard_key = key;
	c.guard_klen = sizeof key;
	c.txid = id;
	c.leaf = &leaf;
	c.now = now;
	e = add_item(s, &c);
	if (e == CV_OK && txid != NULL)
		memcpy(txid, id, CV_HASH_LEN);
out:
	cv_buf_free(&leaf);
	cv_st_secret_view_free(&sv);
	return e;
}

/* ---- mining ---- */

typedef struct work_ctx {
	uint64_t now;
	cv_block *b;
	size_t max;
	cv_view view; /* the parameters in force, read before the transaction */
} work_ctx;

static cv_err work_vote(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	work_ctx *c = ctx;

	(void)k;
	(void)kl;
	if (c->b->n_votes >= c->max)
		return ST_STOP;
	return cv_st_vote_decode(v, vl, &c->b->votes[c->b->n_votes++]);
}

/* A secret election's pool item, by its leaf's tag: ballots before the seal, shares
 * after it (the pool never holds both: no ballot enters after the close, no share
 * before the seal), and a block takes one kind only. */
static cv_err work_item(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	work_ctx *c = ctx;
	cv_block *b = c->b;
	cv_err e;

	(void)k;
	(void)kl;
	if (b->n_ballots + b->n_decryptions >= c->max)
		return ST_STOP;
	if (vl > strlen(CV_TAG_BALLOT) && memcmp(v, CV_TAG_BALLOT, strlen(CV_TAG_BALLOT)) == 0) {
		if (b->n_decryptions != 0)
			return ST_STOP;
		e = cv_ballot_from_leaf(v, vl, &b->ballots[b->n_ballots]);
		if (e == CV_OK)
			b->n_ballots++;
	} else {
		if (b->n_ballots != 0)
			return ST_STOP;
		e = cv_decryption_from_leaf(v, vl, &b->decryptions[b->n_decryptions]);
		if (e == CV_OK)
			b->n_decryptions++;
	}
	return e == CV_E_MALFORMED ? CV_E_STORE : e;
}

/* The seal block's leaf: this election's close. */
static cv_err work_seal(cv_store *s, DB_TXN *txn, const cv_st_close *cl, cv_block *b)
{
	uint8_t rec[CV_HASH_LEN + 8];
	cv_err e = cv_st_get_fixed(s, ST_META, txn, "genesis", 7, rec, sizeof rec, 0);

	if (e != CV_OK)
		return e == CV_E_NOT_FOUND ? CV_E_STORE : e;
	b->has_seal = true;
	memcpy(b->seal.election_id, rec, CV_HASH_LEN);
	b->seal.closed_at = cl->closed_at;
	/* the seal's rule: closed_at <= the seal block's timestamp */
	if (b->header.timestamp < cl->closed_at)
		b->header.timestamp = cl->closed_at;
	return CV_OK;
}

static cv_err work_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	work_ctx *c = ctx;
	cv_block *b = c->b;
	cv_settings st;
	cv_st_close cl;
	cv_st_tip tip;
	cv_state state;
	cv_err e;

	cv_block_free(b);
	if ((e = past_setup(s, txn, false, &state)) != CV_OK ||
	    (e = cv_st_close_get(s, txn, c->now, false, &cl)) != CV_OK ||
	    (e = cv_st_settings(s, txn, &st)) != CV_OK ||
	    (e = cv_st_settings_in_force(s, txn, &st)) != CV_OK ||
	    (e = cv_st_tip_get(s, txn, &tip)) != CV_OK)
		return e;
	c->max = st.election.max_block_votes;
	/* a change with its signatures, for this block, is the block alone (like the seal) */
	if (cl.seal_height == 0) {
		bool ready = false;
		cv_change ch = {0};

		if ((e = cv_st_change_ready(s, txn, &c->view, tip.height + 1, &ready, &ch)) !=
		    CV_OK)
			return e;
		if (ready) {
			if ((b->change = malloc(sizeof *b->change)) == NULL) {
				cv_change_free(&ch);
				return CV_E_NOMEM;
			}
			*b->change = ch;
			b->secret = st.secret;
			goto header;
		}
	}
	if (st.secret) {
		/* after the seal the trustees' shares are the work, until a tally is decrypted */
		if (cl.seal_height != 0 && cl.n_pending == 0 &&
		    (e = cv_st_exists(s, ST_META, txn, ST_SECRET_TALLY, strlen(ST_SECRET_TALLY))) !=
		        CV_E_NOT_FOUND)
			return e == CV_OK ? CV_E_SEALED : e;
		b->secret = true;
		b->ballots = calloc(c->max, sizeof *b->ballots);
		b->decryptions = calloc(c->max, sizeof *b->decryptions);
		if (b->ballots == NULL || b->decryptions == NULL)
			return CV_E_NOMEM;
		e = cv_st_scan(s, ST_POOL, txn, NULL, 0, work_item, c);
	} else {
		if (cl.seal_height != 0)
			return CV_E_SEALED;
		b->votes = calloc(c->max, sizeof *b->votes);
		if (b->votes == NULL)
			return CV_E_NOMEM;
		e = cv_st_scan(s, ST_POOL, txn, NULL, 0, work_vote, c);
	}
	if (e != CV_OK)
		return e;
header:
	b->header.version = CV_VERSION;
	b->header.height = tip.height + 1;
	memcpy(b->header.prev_hash, tip.hash, CV_HASH_LEN);
	b->header.difficulty = st.election.difficulty;
	b->header.timestamp = c->now > tip.header.timestamp ? c->now : tip.header.timestamp;
	b->header.nonce = 0;
	/* after the close, once the votes pending at it are committed, the seal is next */
	if (b->change == NULL && cl.closed && cl.seal_height == 0 && cl.n_pending == 0 &&
	    (e = work_seal(s, txn, &cl, b)) != CV_OK)
		return e;
	e = cv_block_merkle_root(b, b->header.merkle_root);
	if (e == CV_OK)
		cv_header_hash(&b->header, b->hash);
	return e;
}

cv_err cv_store_work(cv_store *s, uint64_t now, cv_block *out)
{
	work_ctx c = {now, out, 0, {0}};
	cv_err e;

	memset(out, 0, sizeof *out);
	if ((e = cv_st_view(s, &c.view)) != CV_OK)
		return e;
	e = cv_st_run(s, work_op, &c);
	if (e != CV_OK)
		cv_block_free(out);
	return e;
}

/* ---- proposals ---- */

/* A proposal record's head (ST_PROPOSAL_HEAD_LEN in store_impl.h), decoded. */
typedef struct head {
	uint8_t hash[CV_HASH_LEN];
	uint64_t seq, received_at, height;
	uint32_t n_votes;
	uint8_t merkle_root[CV_HASH_LEN];
	cv_checks checks;
	/* counted from the verdicts when asked (count_verdicts) */
	size_t n_approvals, n_rejections;
} head;

#define NO_VOTE_U32 UINT32_MAX

static void head_encode(const head *h, uint8_t out[ST_PROPOSAL_HEAD_LEN])
{
	uint8_t *p = out;

	cv_put_u64(p, h->seq);
	cv_put_u64(p + 8, h->received_at);
	cv_put_u64(p + 16, h->height);
	cv_put_u32(p + 24, h->n_votes);
	memcpy(p + 28, h->merkle_root, CV_HASH_LEN);
	p += 28 + CV_HASH_LEN;
	cv_put_u32(p, (uint32_t)h->checks.verdict);
	cv_put_u32(p + 4, (uint32_t)h->checks.failed);
	cv_put_u32(p + 8, h->checks.vote == SIZE_MAX ? NO_VOTE_U32 : (uint32_t)h->checks.vote);
	cv_put_u32(p + 12, h->checks.leading_zero_bits);
}

/* The head of record v (at least its first ST_PROPOSAL_HEAD_LEN bytes) under key k. */
static cv_err head_decode(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, head *h)
{
	const uint8_t *p = v + 28 + CV_HASH_LEN;
	uint32_t code, check, vote;

	memset(h, 0, sizeof *h);
	if (kl != CV_HASH_LEN || vl < ST_PROPOSAL_HEAD_LEN)
		return CV_E_STORE;
	memcpy(h->hash, k, CV_HASH_LEN);
	h->seq = cv_get_u64(v);
	h->received_at = cv_get_u64(v + 8);
	h->height = cv_get_u64(v + 16);
	h->n_votes = cv_get_u32(v + 24);
	memcpy(h->merkle_root, v + 28, CV_HASH_LEN);
	code = cv_get_u32(p);
	check = cv_get_u32(p + 4);
	vote = cv_get_u32(p + 8);
	if (code >= CV_E__COUNT || check > CV_CHECK__COUNT)
		return CV_E_STORE;
	h->checks.verdict = (cv_err)code;
	h->checks.failed = (cv_check)check;
	h->checks.vote = vote == NO_VOTE_U32 ? SIZE_MAX : vote;
	h->checks.leading_zero_bits = cv_get_u32(p + 12);
	return CV_OK;
}

/* Visits the heads of every proposal record in key order, reading the head alone: a
 * listing costs the same whatever the size of the blocks. */
static cv_err scan_heads(cv_store *s, DB_TXN *txn, cv_err (*fn)(void *ctx, const head *h),
                         void *ctx)
{
	uint8_t key[CV_HASH_LEN], val[ST_PROPOSAL_HEAD_LEN];
	DBC *c = NULL;
	DBT k, v;
	head h;
	cv_err e = CV_OK;
	int rc;

	memset(&k, 0, sizeof k);
	memset(&v, 0, sizeof v);
	k.data = key;
	k.ulen = sizeof key;
	k.flags = DB_DBT_USERMEM;
	v.data = val;
	v.ulen = sizeof val;
	v.dlen = sizeof val;
	v.doff = 0;
	v.flags = DB_DBT_USERMEM | DB_DBT_PARTIAL;
	rc = s->db[ST_PROPOSALS]->cursor(s->db[ST_PROPOSALS], txn, &c, 0);
	if (rc != 0)
		return cv_st_dberr(rc);
	for (rc = c->get(c, &k, &v, DB_FIRST); rc == 0; rc = c->get(c, &k, &v, DB_NEXT))
		if ((e = head_decode(key, k.size, val, v.size, &h)) != CV_OK ||
		    (e = fn(ctx, &h)) != CV_OK)
			break;
	if (e == CV_OK && rc != DB_NOTFOUND)
		e = rc == DB_BUFFER_SMALL ? CV_E_STORE : cv_st_dberr(rc);
	rc = c->close(c);
	if (rc != 0 && e == CV_OK)
		e = cv_st_dberr(rc);
	return e;
}

static cv_err count_head(void *ctx, const head *h)
{
	(void)h;
	(*(uint64_t *)ctx)++;
	return CV_OK;
}

cv_err cv_st_proposal_count(cv_store *s, DB_TXN *txn, uint64_t *n)
{
	*n = 0;
	return scan_heads(s, txn, count_head, n);
}

static cv_err count_verdict(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	head *h = ctx;

	(void)k;
	if (kl != VERDICT_KEY_LEN || vl < 1)
		return CV_E_STORE;
	if (v[0] == 1)
		h->n_approvals++;
	else
		h->n_rejections++;
	return CV_OK;
}

static cv_err count_verdicts(cv_store *s, DB_TXN *txn, head *h)
{
	h->n_approvals = h->n_rejections = 0;
	return cv_st_scan(s, ST_VERDICTS, txn, h->hash, CV_HASH_LEN, count_verdict, h);
}

/* The heads at the next height with their verdict counts, in key order. */
typedef struct heads {
	cv_store *s;
	DB_TXN *txn;
	head *items;
	size_t n;
} heads;

static cv_err collect_head(void *ctx, const head *h)
{
	heads *hs = ctx;
	head *grown;

	/* the bound is kept on every admission; more records than that is corruption,
	 * and a listing must stay small whatever the store holds */
	if (hs->n >= 2 * CV_PROPOSALS_PER_HEIGHT)
		return CV_E_STORE;
	grown = realloc(hs->items, (hs->n + 1) * sizeof *hs->items);
	if (grown == NULL)
		return CV_E_NOMEM;
	hs->items = grown;
	hs->items[hs->n] = *h;
	return count_verdicts(hs->s, hs->txn, &hs->items[hs->n++]);
}

static cv_err heads_load(cv_store *s, DB_TXN *txn, heads *hs)
{
	free(hs->items);
	hs->items = NULL;
	hs->n = 0;
	hs->s = s;
	hs->txn = txn;
	return scan_heads(s, txn, collect_head, hs);
}

/* What the election allows a proposal: validators that rejected it cannot approve it. */
typedef struct quorum {
	size_t n_validators, threshold;
} quorum;

/* A proposal that can never be committed (too many rejections) and that nobody approved:
 * it may give way without touching anybody's approval at this height. */
static bool dead(const quorum *q, const head *h)
{
	return h->n_approvals == 0 && (h->n_rejections > q->n_validators ||
	                               q->n_validators - h->n_rejections < q->threshold);
}

/* A block's items as a proposal's head counts them: votes, or ballots and shares. */
static size_t block_leaves(const cv_block *b)
{
	return b->n_votes + b->n_ballots + b->n_decryptions;
}

/* Whether b may join the proposals hs: CV_OK, with *evict the proposal it replaces (or
 * NULL), else why not. The order of preference is in cv_store_add_proposal's contract. */
static cv_err room_for(const heads *hs, const quorum *q, const cv_block *b, const head **evict)
{
	const head *pick = NULL;

	*evict = NULL;
	for (size_t i = 0; i < hs->n; i++)
		if (memcmp(hs->items[i].merkle_root, b->header.merkle_root, CV_HASH_LEN) == 0) {
			/* the same votes again (another nonce) add nothing for the validators,
			 * unless the waiting block can no longer be committed */
			if (!dead(q, &hs->items[i]))
				return CV_E_SAME_VOTES;
			*evict = &hs->items[i];
			return CV_OK;
		}
	if (hs->n < CV_PROPOSALS_PER_HEIGHT)
		return CV_OK;
	for (size_t i = 0; i < hs->n && pick == NULL; i++)
		if (dead(q, &hs->items[i]))
			pick = &hs->items[i];
	for (size_t i = 0; i < hs->n; i++) {
		const head *h = &hs->items[i];

		if ((pick != NULL && dead(q, pick)) || h->n_approvals != 0 ||
		    h->n_votes >= block_leaves(b))
			continue;
		if (pick == NULL || h->n_votes < pick->n_votes ||
		    (h->n_votes == pick->n_votes && h->seq > pick->seq))
			pick = h;
	}
	if (pick == NULL)
		return CV_E_PROPOSALS_FULL;
	*evict = pick;
	return CV_OK;
}

/* The close's rule that needs the store (the rest is in rules.c, through the view):
 * after the close a block carries only votes that were pending at the close, which are
 * the pool's (nothing enters it after the close), and the seal comes once none is left.
 * A voter's timestamp is the voter's claim, so a vote
 * signed later and stamped early is refused here, not by the rules. *bad_vote (may be
 * NULL) names the refused vote. */
static cv_err close_admits(cv_store *s, DB_TXN *txn, const cv_st_close *cl, const cv_block *b,
                           size_t *bad_vote)
{
	uint8_t txid[CV_HASH_LEN];
	bool pending;
	void *loc;
	size_t n;
	cv_err e;

	/* a secret election's shares come after the seal; the rules hold them to it */
	if (cl->seal_height != 0)
		return b->n_decryptions != 0 && b->n_ballots == 0 && !b->has_seal ? CV_OK
		                                                                  : CV_E_SEALED;
	/* the seal's timing and its closed_at are the rules' (cv_view's open and closed_at);
	 * whether a vote pending at the close is left only the store can tell */
	if (b->has_seal)
		return cl->n_pending != 0 ? CV_E_SEAL_EARLY : CV_OK;
	if (!cl->closed)
		return CV_OK;
	for (size_t i = 0; i < b->n_votes + b->n_ballots; i++) {
		if (i < b->n_votes)
			cv_vote_txid(&b->votes[i], txid);
		else if ((e = cv_ballot_txid(&b->ballots[i - b->n_votes], txid)) != CV_OK)
			return e;
		e = cv_st_get(s, ST_TXS, txn, txid, CV_HASH_LEN, &loc, &n, 0);
		if (e != CV_OK && e != CV_E_NOT_FOUND)
			return e;
		/* the pool's location is u8 0 || seq; unknown or committed is not pending */
		pending = e == CV_OK && n == PENDING_LEN && ((const uint8_t *)loc)[0] == 0;
		if (e == CV_OK)
			free(loc);
		if (pending)
			continue;
		if (bad_vote != NULL)
			*bad_vote = i;
		return CV_E_LATE_VOTE;
	}
	return CV_OK;
}

typedef struct proposal_ctx {
	const cv_block *b;
	quorum q;
	cv_st_tip tip;     /* read first; then the tip the rules were checked against */
	cv_st_close close; /* read with the tip */
	const cv_checks *checks;
	uint64_t now;
	uint64_t n_changes, latest_vote; /* read with the tip */
	size_t *bad_vote;                /* the vote the close refused, may be NULL */
	heads hs;
} proposal_ctx;

static cv_err tip_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	proposal_ctx *c = ctx;
	cv_state state;
	cv_err e = past_setup(s, txn, false, &state);

	if (e == CV_OK)
		e = cv_st_close_get(s, txn, c->now, false, &c->close);
	if (e == CV_OK)
		e = cv_st_meta_u64(s, txn, ST_CHANGE_COUNT, &c->n_changes);
	/* a change block's closes is held to every vote taken (the pool is read for it) */
	if (e == CV_OK && c->b->change != NULL)
		e = cv_st_latest_vote(s, txn, &c->latest_vote);
	return e != CV_OK ? e : cv_st_tip_get(s, txn, &c->tip);
}

static cv_err add_proposal_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	proposal_ctx *c = ctx;
	cv_block stripped = *c->b;
	uint8_t rec_head[ST_PROPOSAL_HEAD_LEN];
	const head *evict;
	head h = {0};
	cv_buf rec = {0};
	cv_st_close cl;
	cv_st_tip tip;
	cv_state state;
	cv_err e;

	if ((e = past_setup(s, txn, true, &state)) != CV_OK ||
	    (e = cv_st_close_get(s, txn, c->now, false, &cl)) != CV_OK ||
	    (e = cv_st_tip_get(s, txn, &tip)) != CV_OK)
		return e;
	/* Only a commit moves the tip, and it is what changes "has voted": with the same
	 * tip the checks made outside this transaction still hold. The close may have come
	 * meanwhile, so its rule is checked here. */
	if (memcmp(tip.hash, c->tip.hash, CV_HASH_LEN) != 0)
		return CV_E_STALE;
	if ((e = close_admits(s, txn, &cl, c->b, c->bad_vote)) != CV_OK)
		return e;
	e = cv_st_exists(s, ST_PROPOSALS, txn, c->b->hash, CV_HASH_LEN);
	if (e == CV_OK)
		return CV_E_EXISTS;
	if (e != CV_E_NOT_FOUND)
		return e;
	/* the room is decided here, after the rules (a block that breaks one is told which,
	 * and its proof of work, checked first, is what a miner pays for our checks) and
	 * where it cannot change underneath */
	if ((e = heads_load(s, txn, &c->hs)) != CV_OK ||
	    (e = room_for(&c->hs, &c->q, c->b, &evict)) != CV_OK)
		return e;
	if (evict != NULL &&
	    ((e = cv_st_del(s, ST_PROPOSALS, txn, evict->hash, CV_HASH_LEN)) != CV_OK ||
	     (e = cv_st_del_prefix(s, ST_VERDICTS, txn, evict->hash, CV_HASH_LEN)) != CV_OK))
		return e == CV_E_NOT_FOUND ? CV_E_STORE : e;
	if ((e = cv_st_meta_u64(s, txn, "prop_seq", &h.seq)) != CV_OK ||
	    (e = cv_st_meta_put_u64(s, txn, "prop_seq", h.seq + 1)) != CV_OK)
		return e;
	h.received_at = c->now;
	h.height = c->b->header.height;
	h.n_votes = (uint32_t)block_leaves(c->b);
	memcpy(h.merkle_root, c->b->header.merkle_root, CV_HASH_LEN);
	h.checks = *c->checks;
	head_encode(&h, rec_head);
	/* Approvals arrive as verdicts; the stored proposal carries none. */
	stripped.n_approvals = 0;
	stripped.approvals = NULL;
	stripped.genesis = NULL;
	cv_buf_put(&rec, rec_head, sizeof rec_head);
	e = rec.failed ? CV_E_NOMEM : cv_st_block_encode(&stripped, &rec);
	if (e == CV_OK)
		e = cv_st_put(s, ST_PROPOSALS, txn, c->b->hash, CV_HASH_LEN, rec.data, rec.len, 0);
	cv_buf_free(&rec);
	return e;
}

cv_err cv_store_add_proposal(cv_store *s, const cv_block *b, uint64_t now, size_t *bad_vote)
{
	proposal_ctx c = {.b = b, .now = now, .bad_vote = bad_vote};
	cv_checks checks;
	cv_secret_view sv = {0};
	cv_view view = {0};
	cv_err e;

	if (bad_vote != NULL)
		*bad_vote = SIZE_MAX;
	memset(&sv, 0, sizeof sv);
	if ((e = cv_st_view(s, &view)) != CV_OK)
		return e;
	c.q.n_validators = view.genesis->n_validators;
	c.q.threshold = view.genesis->election.threshold;
	e = cv_st_run(s, tip_op, &c);
	/* the parameters in force moved with the tip since the view was read */
	if (e == CV_OK && c.n_changes != view.params->n_changes)
		e = CV_E_STALE;
	/* A block that does not build on the tip is out of date, whatever else is wrong. */
	if (e == CV_OK && (b->header.height != c.tip.height + 1 ||
	                   memcmp(b->header.prev_hash, c.tip.hash, CV_HASH_LEN) != 0))
		e = CV_E_STALE;
	/* a secret election's view carries K, every K_j, α and the trustees with a share
	 * in the chain, read after the tip: only a commit changes them, and a commit moves
	 * the tip, which the write below checks */
	if (e == CV_OK && view.genesis->secrecy != NULL)
		e = cv_st_secret_view(s, NULL, &view, &sv);
	if (e != CV_OK)
		goto out;
	view.closed_at = c.close.closed ? c.close.closed_at : 0;
	view.sealed = c.close.seal_height != 0;
	view.open = !c.close.closed;
	view.last_vote_time = c.latest_vote;
	/* The rules' verdict, kept with the proposal: listings serve it as it is and never
	 * check a signature again. */
	e = cv_check_proposal_checks(&view, &c.tip.header, c.tip.hash, b, now, &checks);
	if (bad_vote != NULL)
		*bad_vote = checks.vote;
	if (e != CV_OK)
		goto out;
	c.checks = &checks;
	e = cv_st_run(s, add_proposal_op, &c);
out:
	free(c.hs.items);
	cv_st_secret_view_free(&sv);
	return e;
}

static cv_err verdict_decode(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl,
                             cv_verdict *out)
{
	if (kl != VERDICT_KEY_LEN || vl < 1 + CV_SIG_LEN + 8)
		return CV_E_STORE;
	memset(out, 0, sizeof *out);
	memcpy(out->sig.validator_key, k + CV_HASH_LEN, CV_KEY_LEN);
	out->approve = v[0] == 1;
	memcpy(out->sig.signature, v + 1, CV_SIG_LEN);
	out->at = cv_get_u64(v + 1 + CV_SIG_LEN);
	return cv_st_text_decode(v + 1 + CV_SIG_LEN + 8, vl - 1 - CV_SIG_LEN - 8, out->reason);
}

static cv_err collect_verdict(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	cv_proposal *p = ctx;
	cv_verdict *grown = realloc(p->verdicts, (p->n_verdicts + 1) * sizeof *p->verdicts);

	if (grown == NULL)
		return CV_E_NOMEM;
	p->verdicts = grown;
	return verdict_decode(k, kl, v, vl, &p->verdicts[p->n_verdicts++]);
}

void cv_proposal_free(cv_proposal *p)
{
	if (p == NULL)
		return;
	cv_block_free(&p->block);
	free(p->verdicts);
	memset(p, 0, sizeof *p);
}

void cv_proposals_free(cv_proposal *p, size_t n)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		cv_proposal_free(&p[i]);
	free(p);
}

/* A stored proposal record (head, block) under key k with its verdicts. */
static cv_err proposal_load(cv_store *s, DB_TXN *txn, const uint8_t *k, const uint8_t *v, size_t vl,
                            cv_proposal *out, uint64_t *seq)
{
	head h;
	cv_err e;

	memset(out, 0, sizeof *out);
	if ((e = head_decode(k, CV_HASH_LEN, v, vl, &h)) != CV_OK)
		return e;
	*seq = h.seq;
	out->received_at = h.received_at;
	out->checks = h.checks;
	e = cv_st_block_decode(v + ST_PROPOSAL_HEAD_LEN, vl - ST_PROPOSAL_HEAD_LEN, &out->block);
	if (e == CV_OK && memcmp(out->block.hash, k, CV_HASH_LEN) != 0)
		e = CV_E_STORE;
	if (e == CV_OK)
		e = cv_st_scan(s, ST_VERDICTS, txn, out->block.hash, CV_HASH_LEN, collect_verdict,
		               out);
	return e;
}

typedef struct list_ctx {
	cv_store *s;
	DB_TXN *txn;
	cv_proposal *items;
	uint64_t *seqs;
	size_t n;
} list_ctx;

static cv_err list_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	list_ctx *c = ctx;
	cv_proposal *items;
	uint64_t *seqs;

	if (kl != CV_HASH_LEN)
		return CV_E_STORE;
	items = realloc(c->items, (c->n + 1) * sizeof *c->items);
	if (items == NULL)
		return CV_E_NOMEM;
	c->items = items;
	seqs = realloc(c->seqs, (c->n + 1) * sizeof *c->seqs);
	if (seqs == NULL)
		return CV_E_NOMEM;
	c->seqs = seqs;
	c->n++;
	return proposal_load(c->s, c->txn, k, v, vl, &c->items[c->n - 1], &c->seqs[c->n - 1]);
}

static void list_reset(list_ctx *c)
{
	cv_proposals_free(c->items, c->n);
	free(c->seqs);
	c->items = NULL;
	c->seqs = NULL;
	c->n = 0;
}

static cv_err list_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	list_ctx *c = ctx;
	cv_state state;
	cv_err e;

	list_reset(c);
	c->s = s;
	c->txn = txn;
	if ((e = past_setup(s, txn, false, &state)) != CV_OK)
		return e;
	return cv_st_scan(s, ST_PROPOSALS, txn, NULL, 0, list_one, c);
}

cv_err cv_store_proposals(cv_store *s, cv_proposal **out, size_t *n)
{
	list_ctx c = {0};
	cv_err e = cv_st_run(s, list_op, &c);

	*out = NULL;
	*n = 0;
	if (e != CV_OK) {
		list_reset(&c);
		return e;
	}
	/* Oldest first: insertion sort on the arrival sequence (a bounded few). */
	for (size_t i = 1; i < c.n; i++)
		for (size_t j = i; j > 0 && c.seqs[j - 1] > c.seqs[j]; j--) {
			cv_proposal tp = c.items[j];
			uint64_t ts = c.seqs[j];

			c.items[j] = c.items[j - 1];
			c.seqs[j] = c.seqs[j - 1];
			c.items[j - 1] = tp;
			c.seqs[j - 1] = ts;
		}
	free(c.seqs);
	*out = c.items;
	*n = c.n;
	return CV_OK;
}

static cv_err summaries_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	cv_state state;
	cv_err e;

	if ((e = past_setup(s, txn, false, &state)) != CV_OK)
		return e;
	return heads_load(s, txn, ctx);
}

static int head_seq_cmp(const void *a, const void *b)
{
	const head *x = a, *y = b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

cv_err cv_store_proposal_summaries(cv_store *s, cv_proposal_summary **out, size_t *n)
{
	heads hs = {0};
	cv_proposal_summary *items = NULL;
	cv_err e = cv_st_run(s, summaries_op, &hs);

	*out = NULL;
	*n = 0;
	if (e != CV_OK)
		goto out;
	if (hs.n > 1)
		qsort(hs.items, hs.n, sizeof *hs.items, head_seq_cmp);
	if ((items = calloc(hs.n ? hs.n : 1, sizeof *items)) == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < hs.n; i++) {
		const head *h = &hs.items[i];

		memcpy(items[i].hash, h->hash, CV_HASH_LEN);
		items[i].height = h->height;
		items[i].n_votes = h->n_votes;
		memcpy(items[i].merkle_root, h->merkle_root, CV_HASH_LEN);
		items[i].received_at = h->received_at;
		items[i].checks = h->checks;
		items[i].n_approvals = h->n_approvals;
		items[i].n_rejections = h->n_rejections;
	}
	*out = items;
	*n = hs.n;
out:
	free(hs.items);
	return e;
}

typedef struct one_ctx {
	const uint8_t *hash;
	cv_proposal *out;
} one_ctx;

static cv_err one_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	one_ctx *c = ctx;
	uint64_t seq;
	void *v;
	size_t vl;
	cv_err e;

	cv_proposal_free(c->out);
	e = cv_st_get(s, ST_PROPOSALS, txn, c->hash, CV_HASH_LEN, &v, &vl, 0);
	if (e != CV_OK)
		return e;
	e = proposal_load(s, txn, c->hash, v, vl, c->out, &seq);
	free(v);
	return e;
}

cv_err cv_store_proposal(cv_store *s, const uint8_t hash[CV_HASH_LEN], cv_proposal *out)
{
	one_ctx c = {hash, out};
	cv_err e;

	memset(out, 0, sizeof *out);
	e = cv_st_run(s, one_op, &c);
	if (e != CV_OK)
		cv_proposal_free(out);
	return e;
}

/* ---- verdicts and the commit ---- */

static cv_err put_verdict(cv_store *s, DB_TXN *txn, const uint8_t hash[CV_HASH_LEN],
                          const cv_approval *a, bool approve, const char *reason)
{
	uint8_t key[VERDICT_KEY_LEN];
	cv_buf rec = {0};
	cv_err e;

	memcpy(key, hash, CV_HASH_LEN);
	memcpy(key + CV_HASH_LEN, a->validator_key, CV_KEY_LEN);
	cv_buf_u8(&rec, approve ? 1 : 0);
	cv_buf_put(&rec, a->signature, CV_SIG_LEN);
	cv_buf_u64(&rec, cv_now());
	e = cv_buf_text(&rec, reason);
	if (e == CV_OK && rec.failed)
		e = CV_E_NOMEM;
	if (e == CV_OK)
		e = cv_st_put(s, ST_VERDICTS, txn, key, sizeof key, rec.data, rec.len,
		              DB_NOOVERWRITE);
	cv_buf_free(&rec);
	return e == CV_E_EXISTS ? CV_E_DUPLICATE_APPROVAL : e;
}

typedef struct approvals_ctx {
	cv_approval *a;
	size_t n;
} approvals_ctx;

static cv_err collect_approval(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	approvals_ctx *c = ctx;
	cv_verdict vd;
	cv_approval *grown;
	cv_err e = verdict_decode(k, kl, v, vl, &vd);

	if (e != CV_OK || !vd.approve)
		return e;
	grown = realloc(c->a, (c->n + 1) * sizeof *c->a);
	if (grown == NULL)
		return CV_E_NOMEM;
	c->a = grown;
	c->a[c->n++] = vd.sig;
	return CV_OK;
}

/* Takes an item of block b (leaf index i) out of the pool and records where it is. Its
 * guard (the voter's ST_VOTED record, a trustee's share record) may name another pool
 * item (a miner may include one sent to it directly): that one leaves the pool too, and
 * the guard points at the chain's. */
static cv_err commit_leaf(cv_store *s, DB_TXN *txn, int guard_db, const void *guard_key,
                          size_t guard_klen, const uint8_t txid[CV_HASH_LEN], uint64_t height,
                          size_t i, uint64_t *removed)
{
	uint8_t old[CV_HASH_LEN], loc[COMMITTED_LEN];
	void *p;
	size_t n;
	cv_err e;

	e = cv_st_get_fixed(s, guard_db, txn, guard_key, guard_klen, old, sizeof old, DB_RMW);
	if (e == CV_OK) {
		e = cv_st_get(s, ST_TXS, txn, old, CV_HASH_LEN, &p, &n, DB_RMW);
		if (e != CV_OK)
			return e == CV_E_NOT_FOUND ? CV_E_STORE : e;
		if (n != PENDING_LEN || ((uint8_t *)p)[0] != 0) {
			free(p);
			return CV_E_DOUBLE_VOTE; /* the rules made sure this cannot be */
		}
		e = cv_st_del(s, ST_POOL, txn, (uint8_t *)p + 1, 8);
		free(p);
		if (e == CV_OK)
			e = cv_st_del(s, ST_TXS, txn, old, CV_HASH_LEN);
		if (e != CV_OK)
			return e == CV_E_NOT_FOUND ? CV_E_STORE : e;
		(*removed)++;
	} else if (e != CV_E_NOT_FOUND) {
		return e;
	}
	e = cv_st_put(s, guard_db, txn, guard_key, guard_klen, txid, CV_HASH_LEN, 0);
	if (e != CV_OK)
		return e;
	loc[0] = 1;
	cv_put_u64(loc + 1, height);
	cv_put_u32(loc + 9, (uint32_t)i);
	return cv_st_put(s, ST_TXS, txn, txid, CV_HASH_LEN, loc, sizeof loc, 0);
}

static cv_err commit_vote(cv_store *s, DB_TXN *txn, const cv_block *b, size_t i, uint64_t *removed)
{
	const cv_vote *v = &b->votes[i];
	uint8_t txid[CV_HASH_LEN], key[4], count[8];
	cv_err e;

	cv_vote_txid(v, txid);
	e = commit_leaf(s, txn, ST_VOTED, v->voter_key, CV_KEY_LEN, txid, b->header.height, i,
	                removed);
	if (e != CV_OK)
		return e;
	cv_put_u32(key, v->candidate_id);
	e = cv_st_get_fixed(s, ST_TALLY, txn, key, sizeof key, count, sizeof count, DB_RMW);
	if (e == CV_E_NOT_FOUND) {
		cv_put_u64(count, 0);
		e = CV_OK;
	}
	if (e != CV_OK)
		return e;
	cv_put_u64(count, cv_get_u64(count) + 1);
	return cv_st_put(s, ST_TALLY, txn, key, sizeof key, count, sizeof count, 0);
}

/* A committed share of trustee key: from block b when it is there, else from its
 * committed block. CV_E_NOT_FOUND when the trustee has none in the chain. */
static cv_err committed_share_of(cv_store *s, DB_TXN *txn, const cv_block *b,
                                 const uint8_t key[CV_KEY_LEN], cv_decryption *out)
{
	uint8_t gkey[SHARE_KEY_LEN], txid[CV_HASH_LEN], hkey[8];
	uint64_t height;
	uint32_t index;
	cv_block other;
	void *rec;
	size_t n;
	cv_err e;
	int r;

	memset(out, 0, sizeof *out);
	share_key(key, gkey);
	r = guard_committed(s, txn, ST_META, gkey, sizeof gkey, txid, &height, &index);
	if (r <= 0)
		return r < 0 ? (cv_err)-r : CV_E_NOT_FOUND;
	if (height == b->header.height) {
		if (index < b->n_ballots || index - b->n_ballots >= b->n_decryptions)
			return CV_E_STORE;
		*out = b->decryptions[index - b->n_ballots];
		out->shares = NULL; /* the copy below owns its own */
		if (cv_decryption_alloc(out, b->decryptions[index - b->n_ballots].k) != CV_OK)
			return CV_E_NOMEM;
		memcpy(out->shares, b->decryptions[index - b->n_ballots].shares,
		       out->k * sizeof *out->shares);
		return CV_OK;
	}
	cv_put_u64(hkey, height);
	if ((e = cv_st_get(s, ST_BLOCKS, txn, hkey, sizeof hkey, &rec, &n, 0)) != CV_OK)
		return e == CV_E_NOT_FOUND ? CV_E_STORE : e;
	e = cv_st_block_decode(rec, n, &other);
	free(rec);
	if (e != CV_OK)
		return e;
	if (index < other.n_ballots || index - other.n_ballots >= other.n_decryptions) {
		cv_block_free(&other);
		return CV_E_STORE;
	}
	*out = other.decryptions[index - other.n_ballots];
	other.decryptions[index - other.n_ballots].shares = NULL; /* moved to out */
	cv_block_free(&other);
	return CV_OK;
}

/* Once quorum trustees (the first in trustee order) have a share in the chain, the
 * counts are decrypted (DESIGN section 6, "Tally") and kept as ST_SECRET_TALLY: the
 * chain can no longer change them. Shares that decrypt to no count (the rules make
 * that impossible) leave the tally pending rather than refuse the block. */
static cv_err secret_tally_commit(cv_store *s, DB_TXN *txn, const cv_block *b)
{
	const cv_genesis *g = &s->genesis;
	const cv_secrecy *sec = g->secrecy;
	size_t k = g->n_candidates, q = 0;
	uint8_t(*alpha)[CV_POINT_LEN] = NULL, (*beta)[CV_POINT_LEN] = NULL;
	cv_decryption *held = NULL;
	const cv_share **D = NULL;
	uint64_t *xs = NULL, *counts = NULL, n_ballots;
	cv_buf rec = {0};
	cv_err e;

	if (b->n_decryptions == 0 || sec == NULL)
		return CV_OK;
	e = cv_st_exists(s, ST_META, txn, ST_SECRET_TALLY, strlen(ST_SECRET_TALLY));
	if (e != CV_E_NOT_FOUND)
		return e;
	held = calloc(sec->quorum, sizeof *held);
	D = calloc(sec->quorum, sizeof(const cv_share *));
	xs = calloc(sec->quorum, sizeof *xs);
	counts = calloc(k ? k : 1, sizeof *counts);
	if (held == NULL || D == NULL || xs == NULL || counts == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	for (size_t j = 0; j < sec->n_trustees && q < sec->quorum; j++) {
		e = committed_share_of(s, txn, b, sec->trustees[j].validator_key, &held[q]);
		if (e == CV_E_NOT_FOUND)
			continue;
		if (e != CV_OK)
			goto out;
		xs[q] = j + 1;
		D[q] = held[q].shares;
		q++;
	}
	e = CV_OK;
	if (q < sec->quorum)
		goto out;
	if ((e = cv_st_meta_u64(s, txn, "n_committed", &n_ballots)) != CV_OK ||
	    (e = cv_st_aggregate(s, txn, k, &alpha, &beta)) != CV_OK)
		goto out;
	if (cv_tally_decrypt(xs, D, q, (const uint8_t(*)[CV_POINT_LEN])beta, k, n_ballots,
	                     counts) != CV_OK)
		goto out; /* pending: see above */
	for (size_t i = 0; i < k; i++)
		cv_buf_u64(&rec, counts[i]);
	e = rec.failed ? CV_E_NOMEM
	               : cv_st_put(s, ST_META, txn, ST_SECRET_TALLY, strlen(ST_SECRET_TALLY),
	                           rec.data, rec.len, 0);
out:
	for (size_t i = 0; held != NULL && i < q; i++)
		cv_decryption_free(&held[i]);
	free(held);
	free(D);
	free(xs);
	free(counts);
	free(alpha);
	free(beta);
	cv_buf_free(&rec);
	return e;
}

/* A secret block's leaves join the chain: each ballot and share leaves the pool under
 * its guard, the ballots add into α and β (what shares and the tally are computed
 * over), and with quorum shares in the chain the tally is decrypted. */
static cv_err commit_secret(cv_store *s, DB_TXN *txn, const cv_block *b, uint64_t *removed)
{
	size_t k = s->genesis.n_candidates;
	uint8_t txid[CV_HASH_LEN], gkey[SHARE_KEY_LEN];
	uint8_t(*alpha)[CV_POINT_LEN] = NULL, (*beta)[CV_POINT_LEN] = NULL;
	cv_buf rec = {0};
	cv_err e = CV_OK;

	for (size_t i = 0; e == CV_OK && i < b->n_ballots; i++)
		if ((e = cv_ballot_txid(&b->ballots[i], txid)) == CV_OK)
			e = commit_leaf(s, txn, ST_VOTED, b->ballots[i].voter_key, CV_KEY_LEN, txid,
			                b->header.height, i, removed);
	for (size_t i = 0; e == CV_OK && i < b->n_decryptions; i++) {
		share_key(b->decryptions[i].validator_key, gkey);
		if ((e = cv_decryption_txid(&b->decryptions[i], txid)) == CV_OK)
			e = commit_leaf(s, txn, ST_META, gkey, sizeof gkey, txid, b->header.height,
			                b->n_ballots + i, removed);
	}
	if (e != CV_OK || b->n_ballots == 0)
		return e == CV_OK ? secret_tally_commit(s, txn, b) : e;
	if ((e = cv_st_aggregate(s, txn, k, &alpha, &beta)) != CV_OK)
		return e;
	for (size_t i = 0; e == CV_OK && i < b->n_ballots; i++)
		if (b->ballots[i].k == k)
			e = cv_aggregate_add(&b->ballots[i], alpha, beta);
	cv_buf_put(&rec, alpha, k * CV_POINT_LEN);
	cv_buf_put(&rec, beta, k * CV_POINT_LEN);
	if (e == CV_OK)
		e = rec.failed ? CV_E_NOMEM
		               : cv_st_put(s, ST_META, txn, ST_AGGREGATE, strlen(ST_AGGREGATE),
		                           rec.data, rec.len, 0);
	cv_buf_free(&rec);
	free(alpha);
	free(beta);
	return e;
}

/* What a committed block tells of the close: the latest vote stamp (a close stamps
 * closed_at no earlier), and with the seal, that the election is final. A seal that
 * comes after `closes` passed (closed by the clock) records the close as well. */
static cv_err commit_close(cv_store *s, DB_TXN *txn, const cv_block *b)
{
	uint8_t closed = CV_STATE_CLOSED;
	uint64_t latest, before;
	cv_state state;
	cv_err e;

	if ((e = cv_st_meta_u64(s, txn, "latest_vote", &before)) != CV_OK)
		return e;
	latest = before;
	for (size_t i = 0; i < b->n_votes; i++)
		if (b->votes[i].timestamp > latest)
			latest = b->votes[i].timestamp;
	for (size_t i = 0; i < b->n_ballots; i++)
		if (b->ballots[i].timestamp > latest)
			latest = b->ballots[i].timestamp;
	if (latest != before && (e = cv_st_meta_put_u64(s, txn, "latest_vote", latest)) != CV_OK)
		return e;
	if (!b->has_seal)
		return CV_OK;
	if ((e = cv_st_state(s, txn, false, &state)) != CV_OK)
		return e;
	if (state == CV_STATE_OPEN &&
	    ((e = cv_st_put(s, ST_META, txn, "state", 5, &closed, 1, 0)) != CV_OK ||
	     (e = cv_st_meta_put_u64(s, txn, "closed_at", b->seal.closed_at)) != CV_OK))
		return e;
	return cv_st_meta_put_u64(s, txn, "seal_height", b->header.height);
}

/* The block joins the chain with the approvals collected so far. Every proposal left
 * is at the same height (only blocks on the tip are admitted), so all of them and
 * all verdicts are discarded with it. */
static cv_err commit_block(cv_store *s, DB_TXN *txn, cv_block *b, approvals_ctx *ap)
{
	uint8_t height[8];
	uint64_t removed = 0;
	cv_buf rec = {0};
	cv_st_tip tip;
	cv_err e;

	b->approvals = ap->a;
	b->n_approvals = ap->n;
	e = cv_st_block_encode(b, &rec);
	b->approvals = NULL;
	b->n_approvals = 0;
	cv_put_u64(height, b->header.height);
	if (e == CV_OK)
		e = cv_st_put(s, ST_BLOCKS, txn, height, 8, rec.data, rec.len, DB_NOOVERWRITE);
	cv_buf_free(&rec);
	if (e == CV_OK)
		e = cv_st_put(s, ST_HASHES, txn, b->hash, CV_HASH_LEN, height, 8, DB_NOOVERWRITE);
	if (e == CV_E_EXISTS)
		return CV_E_STALE;
	for (size_t i = 0; e == CV_OK && i < b->n_votes; i++)
		e = commit_vote(s, txn, b, i, &removed);
	if (e == CV_OK && b->secret)
		e = commit_secret(s, txn, b, &removed);
	if (e == CV_OK)
		e = commit_close(s, txn, b);
	if (e == CV_OK && b->change != NULL)
		e = cv_st_change_commit(s, txn, b);
	if (e == CV_OK)
		e = cv_st_meta_add(s, txn, "n_pending", -(int64_t)removed);
	/* ballots count as votes cast; shares do not */
	if (e == CV_OK)
		e = cv_st_meta_add(s, txn, "n_committed", (int64_t)(b->n_votes + b->n_ballots));
	if (e != CV_OK)
		return e;
	tip.height = b->header.height;
	memcpy(tip.hash, b->hash, CV_HASH_LEN);
	tip.header = b->header;
	if ((e = cv_st_tip_put(s, txn, &tip)) != CV_OK ||
	    (e = cv_st_del_prefix(s, ST_PROPOSALS, txn, NULL, 0)) != CV_OK)
		return e;
	return cv_st_del_prefix(s, ST_VERDICTS, txn, NULL, 0);
}

typedef struct approve_ctx {
	const uint8_t *hash;
	const cv_approval *a;
	uint64_t n_changes; /* of the parameters the approval was judged at */
	unsigned threshold;
	bool committed;
	cv_err refused; /* an answer that still commits (equivocation evidence) */
} approve_ctx;

/* An approval for a block that is no longer a proposal. */
static cv_err approve_gone(cv_store *s, DB_TXN *txn, approve_ctx *c)
{
	uint8_t height[8], hkey[HEIGHT_KEY_LEN], approved[CV_HASH_LEN];
	cv_err e = cv_st_get_fixed(s, ST_HASHES, txn, c->hash, CV_HASH_LEN, height, 8, 0);

	if (e != CV_OK)
		return e;
	memcpy(hkey, height, 8);
	memcpy(hkey + 8, c->a->validator_key, CV_KEY_LEN);
	e = cv_st_get_fixed(s, ST_HEIGHT_APPR, txn, hkey, sizeof hkey, approved, sizeof approved,
	                    0);
	if (e == CV_OK && memcmp(approved, c->hash, CV_HASH_LEN) == 0)
		return CV_E_DUPLICATE_APPROVAL;
	return e == CV_OK || e == CV_E_NOT_FOUND ? CV_E_STALE : e;
}

static cv_err approve_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	approve_ctx *c = ctx;
	uint8_t hkey[HEIGHT_KEY_LEN], approved[CV_HASH_LEN], ekey[HEIGHT_KEY_LEN + CV_HASH_LEN];
	approvals_ctx ap = {NULL, 0};
	cv_proposal p;
	cv_buf ev = {0};
	cv_st_close cl;
	cv_state state;
	uint64_t seq, n_changes;
	void *v = NULL;
	size_t vl;
	cv_err e;

	c->committed = false;
	c->refused = CV_OK;
	memset(&p, 0, sizeof p);
	if ((e = past_setup(s, txn, true, &state)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, ST_CHANGE_COUNT, &n_changes)) != CV_OK)
		return e;
	/* a change committed since the signer was judged: judged again by the caller */
	if (n_changes != c->n_changes)
		return CV_E_BUSY;
	e = cv_st_get(s, ST_PROPOSALS, txn, c->hash, CV_HASH_LEN, &v, &vl, 0);
	if (e == CV_E_NOT_FOUND)
		return approve_gone(s, txn, c);
	if (e != CV_OK)
		return e;
	e = proposal_load(s, txn, c->hash, v, vl, &p, &seq);
	free(v);
	if (e != CV_OK)
		goto out;
	/* A proposal admitted before the close is held to it when approved after. */
	if ((e = cv_st_close_get(s, txn, cv_now(), false, &cl)) != CV_OK ||
	    (e = close_admits(s, txn, &cl, &p.block, NULL)) != CV_OK)
		goto out;
	for (size_t i = 0; i < p.n_verdicts; i++)
		if (memcmp(p.verdicts[i].sig.validator_key, c->a->validator_key, CV_KEY_LEN) == 0) {
			e = CV_E_DUPLICATE_APPROVAL;
			goto out;
		}
	cv_put_u64(hkey, p.block.header.height);
	memcpy(hkey + 8, c->a->validator_key, CV_KEY_LEN);
	e = cv_st_get_fixed(s, ST_HEIGHT_APPR, txn, hkey, sizeof hkey, approved, sizeof approved,
	                    0);
	if (e == CV_OK) {
		/* A second block at this height: refused, and kept as evidence with the
		 * earlier approval it contradicts (that verdict goes when the height is
		 * decided; the evidence stays). */
		uint8_t vkey[CV_HASH_LEN + CV_KEY_LEN], first[1 + CV_SIG_LEN] = {0};
		void *verdict = NULL;
		size_t verdict_len;

		memcpy(vkey, approved, CV_HASH_LEN);
		memcpy(vkey + CV_HASH_LEN, c->a->validator_key, CV_KEY_LEN);
		e = cv_st_get(s, ST_VERDICTS, txn, vkey, sizeof vkey, &verdict, &verdict_len, 0);
		if (e == CV_OK && verdict_len >= sizeof first)
			memcpy(first, verdict, sizeof first);
		free(verdict);
		if (e != CV_OK && e != CV_E_NOT_FOUND)
			goto out;
		memcpy(ekey, hkey, sizeof hkey);
		memcpy(ekey + sizeof hkey, c->hash, CV_HASH_LEN);
		cv_buf_put(&ev, approved, CV_HASH_LEN);
		cv_buf_put(&ev, c->a->signature, CV_SIG_LEN);
		cv_buf_u64(&ev, cv_now());
		cv_buf_put(&ev, first + 1, CV_SIG_LEN);
		e = ev.failed
		        ? CV_E_NOMEM
		        : cv_st_put(s, ST_EVIDENCE, txn, ekey, sizeof ekey, ev.data, ev.len, 0);
		cv_buf_free(&ev);
		c->refused = CV_E_EQUIVOCATION;
		goto out;
	}
	if (e != CV_E_NOT_FOUND)
		goto out;
	if ((e = put_verdict(s, txn, c->hash, c->a, true, "")) != CV_OK ||
	    (e = cv_st_put(s, ST_HEIGHT_APPR, txn, hkey, sizeof hkey, c->hash, CV_HASH_LEN, 0)) !=
	        CV_OK ||
	    (e = cv_st_scan(s, ST_VERDICTS, txn, c->hash, CV_HASH_LEN, collect_approval, &ap)) !=
	        CV_OK)
		goto out;
	if (ap.n >= c->threshold) {
		e = commit_block(s, txn, &p.block, &ap);
		c->committed = e == CV_OK;
	}
out:
	free(ap.a);
	cv_proposal_free(&p);
	return e;
}

cv_err cv_store_approve(cv_store *s, const uint8_t hash[CV_HASH_LEN], const cv_approval *a,
                        bool *committed)
{
	approve_ctx c = {hash, a, 0, 0, false, CV_OK};
	cv_view view;
	cv_err e;

	if (committed != NULL)
		*committed = false;
	if ((e = cv_st_view(s, &view)) != CV_OK)
		return e;
	e = cv_check_approval(view.genesis, hash, a);
	if (e != CV_OK)
		return e;
	c.n_changes = view.params->n_changes;
	c.threshold = view.genesis->election.threshold;
	e = cv_st_run(s, approve_op, &c);
	if (e != CV_OK)
		return e;
	if (committed != NULL)
		*committed = c.committed;
	return c.refused;
}

typedef struct reject_ctx {
	const uint8_t *hash;
	const char *reason;
	const cv_approval *a;
} reject_ctx;

static cv_err reject_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	reject_ctx *c = ctx;
	cv_state state;
	cv_err e;

	if ((e = past_setup(s, txn, true, &state)) != CV_OK)
		return e;
	e = cv_st_exists(s, ST_PROPOSALS, txn, c->hash, CV_HASH_LEN);
	if (e != CV_OK)
		return e;
	return put_verdict(s, txn, c->hash, c->a, false, c->reason);
}

cv_err cv_store_reject(cv_store *s, const uint8_t hash[CV_HASH_LEN], const char *reason,
                       const cv_approval *a)
{
	reject_ctx c = {hash, reason, a};
	cv_view view;
	cv_err e;

	if ((e = cv_st_view(s, &view)) != CV_OK)
		return e;
	e = cv_check_rejection(view.genesis, hash, reason, a);
	return e != CV_OK ? e : cv_st_run(s, reject_op, &c);
}

typedef struct evidence_ctx {
	cv_equivocation *items;
	size_t n;
} evidence_ctx;

static cv_err evidence_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	evidence_ctx *c = ctx;
	cv_equivocation *grown, *q;

	if (kl != HEIGHT_KEY_LEN + CV_HASH_LEN || vl != CV_HASH_LEN + CV_SIG_LEN + 8 + CV_SIG_LEN)
		return CV_E_STORE;
	grown = realloc(c->items, (c->n + 1) * sizeof *c->items);
	if (grown == NULL)
		return CV_E_NOMEM;
	c->items = grown;
	q = &c->items[c->n++];
	q->height = cv_get_u64(k);
	memcpy(q->sig.validator_key, k + 8, CV_KEY_LEN);
	memcpy(q->block_hash, k + HEIGHT_KEY_LEN, CV_HASH_LEN);
	memcpy(q->approved_hash, v, CV_HASH_LEN);
	memcpy(q->sig.signature, v + CV_HASH_LEN, CV_SIG_LEN);
	q->at = cv_get_u64(v + CV_HASH_LEN + CV_SIG_LEN);
	memcpy(q->approved_signature, v + CV_HASH_LEN + CV_SIG_LEN + 8, CV_SIG_LEN);
	return CV_OK;
}

static cv_err evidence_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	evidence_ctx *c = ctx;

	free(c->items);
	c->items = NULL;
	c->n = 0;
	return cv_st_scan(s, ST_EVIDENCE, txn, NULL, 0, evidence_one, c);
}

cv_err cv_store_equivocations(cv_store *s, cv_equivocation **out, size_t *n)
{
	evidence_ctx c = {NULL, 0};
	cv_err e = cv_st_run(s, evidence_op, &c);

	*out = NULL;
	*n = 0;
	if (e != CV_OK) {
		free(c.items);
		return e;
	}
	*out = c.items;
	*n = c.n;
	return CV_OK;
}
