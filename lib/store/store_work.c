/* Work templates for miners in the store: the next block's header over the pool's oldest
 * items (votes, or a secret election's ballots and decryption shares), carrying the seal
 * once the votes pending at the close are committed. */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

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
	uint64_t genesis_timestamp;
	cv_err e = cv_st_genesis_get(s, txn, b->seal.election_id, &genesis_timestamp);

	if (e != CV_OK)
		return e;
	b->has_seal = true;
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
	if ((e = cv_st_past_setup(s, txn, false, &state)) != CV_OK ||
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
