/* Proposals in the store: a proposed block checked against the rules and the close, and
 * admitted while its height has room (a proposal that can never be committed, or a
 * smaller unapproved one, may give way), and the listings validators read, each
 * proposal with its verdicts. */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

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
	cv_reader r = {.p = v, .n = vl}; /* read up to the head's end: the block follows */
	uint32_t code, check, vote;

	memset(h, 0, sizeof *h);
	if (kl != CV_HASH_LEN)
		return CV_E_STORE;
	memcpy(h->hash, k, CV_HASH_LEN);
	h->seq = cv_rd_u64(&r);
	h->received_at = cv_rd_u64(&r);
	h->height = cv_rd_u64(&r);
	h->n_votes = cv_rd_u32(&r);
	cv_rd_copy(&r, h->merkle_root, CV_HASH_LEN);
	code = cv_rd_u32(&r);
	check = cv_rd_u32(&r);
	vote = cv_rd_u32(&r);
	h->checks.leading_zero_bits = cv_rd_u32(&r);
	if (r.bad || code >= CV_E__COUNT || check > CV_CHECK__COUNT)
		return CV_E_STORE;
	h->checks.verdict = (cv_err)code;
	h->checks.failed = (cv_check)check;
	h->checks.vote = vote == NO_VOTE_U32 ? SIZE_MAX : vote;
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
cv_err cv_st_close_admits(cv_store *s, DB_TXN *txn, const cv_st_close *cl, const cv_block *b,
                          size_t *bad_vote)
{
	uint8_t txid[CV_HASH_LEN];
	bool pending;
	cv_st_loc at;
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
		/* unknown or committed is not pending */
		pending = e == CV_OK && cv_st_loc_decode(loc, n, &at) == CV_OK && !at.committed;
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
	cv_err e = cv_st_past_setup(s, txn, false, &state);

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

	if ((e = cv_st_past_setup(s, txn, true, &state)) != CV_OK ||
	    (e = cv_st_close_get(s, txn, c->now, false, &cl)) != CV_OK ||
	    (e = cv_st_tip_get(s, txn, &tip)) != CV_OK)
		return e;
	/* Only a commit moves the tip, and it is what changes "has voted": with the same
	 * tip the checks made outside this transaction still hold. The close may have come
	 * meanwhile, so its rule is checked here. */
	if (memcmp(tip.hash, c->tip.hash, CV_HASH_LEN) != 0)
		return CV_E_STALE;
	if ((e = cv_st_close_admits(s, txn, &cl, c->b, c->bad_vote)) != CV_OK)
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

cv_err cv_st_verdict_decode(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl,
                            cv_verdict *out)
{
	cv_reader r = {.p = v, .n = vl};

	if (kl != VERDICT_KEY_LEN)
		return CV_E_STORE;
	memset(out, 0, sizeof *out);
	memcpy(out->sig.validator_key, k + CV_HASH_LEN, CV_KEY_LEN);
	out->approve = cv_rd_u8(&r) == 1;
	cv_rd_copy(&r, out->sig.signature, CV_SIG_LEN);
	out->at = cv_rd_u64(&r);
	cv_rd_text(&r, out->reason);
	return cv_rd_end(&r) ? CV_OK : CV_E_STORE;
}

static cv_err collect_verdict(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	cv_proposal *p = ctx;
	cv_verdict *grown = realloc(p->verdicts, (p->n_verdicts + 1) * sizeof *p->verdicts);

	if (grown == NULL)
		return CV_E_NOMEM;
	p->verdicts = grown;
	return cv_st_verdict_decode(k, kl, v, vl, &p->verdicts[p->n_verdicts++]);
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
cv_err cv_st_proposal_load(cv_store *s, DB_TXN *txn, const uint8_t *k, const uint8_t *v, size_t vl,
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
	return cv_st_proposal_load(c->s, c->txn, k, v, vl, &c->items[c->n - 1], &c->seqs[c->n - 1]);
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
	if ((e = cv_st_past_setup(s, txn, false, &state)) != CV_OK)
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

	if ((e = cv_st_past_setup(s, txn, false, &state)) != CV_OK)
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
	e = cv_st_proposal_load(s, txn, c->hash, v, vl, c->out, &seq);
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
