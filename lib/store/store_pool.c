/* The pool in the store: votes, and a secret election's ballots and decryption shares,
 * entering it, each once under its guard (the voter's, the trustee's). Signatures are
 * checked before the transaction so that locks are held only for the short
 * bookkeeping; the rules come from rules.c and rules_secret.c. */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

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

/* The state pre-check: a closed election answers so without the signature check.
 * It reads without a transaction, and not at every vote: a state read open is trusted
 * for ST_TRUST_NS (a read costs about 5% of a vote worker's CPU, and waits behind the
 * batch whose flush holds the page it is on). Nothing is decided on a trusted reading
 * alone: a vote the rules accept is written by a transaction that checks the state
 * again under its write lock, and a vote they refuse has the state read again first
 * (cv_store_check_vote), so a vote after a close is refused as closed either way.
 * *trusted says whether the reading was an earlier one. */
static cv_err state_precheck(cv_store *s, bool *trusted)
{
	long long t = cv_st_mono_ns();
	cv_state state;
	cv_err e;

	*trusted = cv_st_trust_fresh(&s->open_seen, t);
	if (*trusted)
		return CV_OK;
	e = cv_st_state(s, NULL, false, &state);
	if (e == CV_E_NOT_FOUND)
		return CV_E_NOT_OPEN;
	if (e == ST_RETRY || e == ST_TIMEOUT)
		return CV_E_BUSY;
	if (e != CV_OK)
		return e;
	if ((e = vote_state_err(state)) != CV_OK)
		return e;
	cv_st_trust_keep(&s->open_seen, t);
	return CV_OK;
}

/* The vote's rules but "no earlier vote", for an election whose state was open, on
 * the parameters in force (recent: or up to ST_TRUST_NS older; *n_changes
 * says which). */
static cv_err check_vote_rules(cv_store *s, const cv_vote *v, uint64_t now, bool recent,
                               uint64_t *n_changes)
{
	cv_view view;
	cv_err e;

	e = recent ? cv_st_view_recent(s, &view) : cv_st_view(s, &view);
	if (e != CV_OK)
		return e == CV_E_BAD_STATE ? CV_E_NOT_OPEN : e;
	*n_changes = view.params->n_changes;
	if (view.genesis->secrecy != NULL)
		return CV_E_WRONG_MODE; /* a secret election takes ballots (cv_store_add_ballot) */
	view.on_roll = roll_read;
	/* Once `closes` has passed the election is closed by its clock, whatever the stored
	 * state says: the pool must stay what was pending at the close. */
	if (cv_st_closed_by_clock(view.genesis->election.closes, now))
		return CV_E_CLOSED;
	/* Rule 5 but "no earlier vote", outside any transaction: the genesis and the roll
	 * never change once open, and the signature check is the expensive part. */
	return cv_check_vote(&view, v, now);
}

cv_err cv_store_check_vote_at(cv_store *s, const cv_vote *v, uint64_t now, bool recent,
                              uint8_t txid[CV_HASH_LEN], uint64_t *n_changes)
{
	uint64_t unused;
	bool trusted;
	cv_err e;

	if (n_changes == NULL)
		n_changes = &unused;
	if ((e = state_precheck(s, &trusted)) != CV_OK)
		return e;
	e = check_vote_rules(s, v, now, recent, n_changes);
	if (e != CV_OK && trusted) {
		/* a refusal names the close first, as the state read at this vote would */
		cv_err st;

		cv_st_trust_forget(&s->open_seen);
		if ((st = state_precheck(s, &trusted)) != CV_OK)
			return st;
	}
	if (e != CV_OK)
		return e;
	if (txid != NULL)
		cv_vote_txid(v, txid);
	return CV_OK;
}

cv_err cv_store_check_vote(cv_store *s, const cv_vote *v, uint64_t now, uint8_t txid[CV_HASH_LEN])
{
	return cv_store_check_vote_at(s, v, now, false, txid, NULL);
}

typedef struct votes_ctx {
	const cv_vote *votes;
	const uint64_t *n_changes; /* NULL: the votes were checked on the parameters in force */
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
	uint64_t seq, added = 0, n_changes = 0;
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
	/* the count of committed changes, on the page the state's write lock holds: a vote
	 * checked on other parameters than those in force now is not written */
	if (c->n_changes != NULL &&
	    (e = cv_st_meta_u64(s, txn, ST_CHANGE_COUNT, &n_changes)) != CV_OK)
		return e;
	for (size_t i = 0; i < c->n; i++) {
		if (c->n_changes != NULL && c->n_changes[i] != n_changes) {
			c->outcome[i] = CV_E_BUSY;
			continue;
		}
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

cv_err cv_store_add_votes_checked(cv_store *s, const cv_vote *votes, const uint64_t *n_changes,
                                  size_t n, uint64_t now, cv_err *outcome)
{
	votes_ctx c = {votes, n_changes, n, now, outcome};

	if (n == 0)
		return CV_OK;
	return cv_st_run(s, add_votes_op, &c);
}

cv_err cv_store_add_votes(cv_store *s, const cv_vote *votes, size_t n, uint64_t now,
                          cv_err *outcome)
{
	return cv_store_add_votes_checked(s, votes, NULL, n, now, outcome);
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
	cv_st_share_key(d->validator_key, key);
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
