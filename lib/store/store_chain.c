/* The chain's growth in the store: validators' verdicts on proposals, the commit of a
 * block when its approvals reach the threshold (votes, ballots and shares leave the pool;
 * a secret election's aggregate and tally; the close), and the evidence of equivocation.
 * Votes enter the pool in store_pool.c, work templates are in store_work.c, proposals in
 * store_proposal.c. Signatures are checked before the transaction so that locks are held
 * only for the short bookkeeping; the rules come from rules*.c. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_impl.h"

#define HEIGHT_KEY_LEN (8 + CV_KEY_LEN)

/* The state for operations that need the genesis fixed: CV_E_BAD_STATE in set-up. */
cv_err cv_st_past_setup(cv_store *s, DB_TXN *txn, bool write, cv_state *state)
{
	cv_err e = cv_st_state(s, txn, write, state);

	if (e == CV_E_NOT_FOUND)
		return CV_E_BAD_STATE;
	if (e == CV_OK && *state == CV_STATE_SETUP)
		return CV_E_BAD_STATE;
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
	cv_err e = cv_st_verdict_decode(k, kl, v, vl, &vd);

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
	uint8_t old[CV_HASH_LEN], seq[8], loc[COMMITTED_LEN];
	cv_st_loc was;
	void *p;
	size_t n;
	cv_err e;

	e = cv_st_get_fixed(s, guard_db, txn, guard_key, guard_klen, old, sizeof old, DB_RMW);
	if (e == CV_OK) {
		e = cv_st_get(s, ST_TXS, txn, old, CV_HASH_LEN, &p, &n, DB_RMW);
		if (e != CV_OK)
			return e == CV_E_NOT_FOUND ? CV_E_STORE : e;
		e = cv_st_loc_decode(p, n, &was);
		free(p);
		if (e != CV_OK || was.committed)
			return CV_E_DOUBLE_VOTE; /* the rules made sure this cannot be */
		cv_put_u64(seq, was.seq);
		e = cv_st_del(s, ST_POOL, txn, seq, sizeof seq);
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
	cv_st_share_key(key, gkey);
	r = cv_st_guard_committed(s, txn, ST_META, gkey, sizeof gkey, txid, &height, &index);
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
		cv_st_share_key(b->decryptions[i].validator_key, gkey);
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
	if ((e = cv_st_past_setup(s, txn, true, &state)) != CV_OK ||
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
	e = cv_st_proposal_load(s, txn, c->hash, v, vl, &p, &seq);
	free(v);
	if (e != CV_OK)
		goto out;
	/* A proposal admitted before the close is held to it when approved after. */
	if ((e = cv_st_close_get(s, txn, cv_now(), false, &cl)) != CV_OK ||
	    (e = cv_st_close_admits(s, txn, &cl, &p.block, NULL)) != CV_OK)
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

	if ((e = cv_st_past_setup(s, txn, true, &state)) != CV_OK)
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
	cv_reader key = {.p = k, .n = kl}, rec = {.p = v, .n = vl};
	cv_equivocation q = {0}, *grown;

	q.height = cv_rd_u64(&key);
	cv_rd_copy(&key, q.sig.validator_key, CV_KEY_LEN);
	cv_rd_copy(&key, q.block_hash, CV_HASH_LEN);
	cv_rd_copy(&rec, q.approved_hash, CV_HASH_LEN);
	cv_rd_copy(&rec, q.sig.signature, CV_SIG_LEN);
	q.at = cv_rd_u64(&rec);
	cv_rd_copy(&rec, q.approved_signature, CV_SIG_LEN);
	if (!cv_rd_end(&key) || !cv_rd_end(&rec))
		return CV_E_STORE;
	grown = realloc(c->items, (c->n + 1) * sizeof *c->items);
	if (grown == NULL)
		return CV_E_NOMEM;
	c->items = grown;
	c->items[c->n++] = q;
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
