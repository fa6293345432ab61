/* Changes of the parameters in force (docs/GOVERNANCE.md) in the store: the changes the
 * validators propose and co-sign while they wait for their block, the parameters in force
 * after the committed chain (what every rule of the service reads), and the bookkeeping
 * when a change block commits. The rules are cv_check_change's; nothing is judged here. */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

#define PENDING_KEY_LEN   (sizeof ST_CHANGE_PENDING - 1 + CV_HASH_LEN)
#define COMMITTED_KEY_LEN (sizeof ST_CHANGE_COMMITTED - 1 + 8)

static void pending_key(const uint8_t id[CV_HASH_LEN], uint8_t out[PENDING_KEY_LEN])
{
	memcpy(out, ST_CHANGE_PENDING, sizeof ST_CHANGE_PENDING - 1);
	memcpy(out + sizeof ST_CHANGE_PENDING - 1, id, CV_HASH_LEN);
}

static void committed_key(uint64_t height, uint8_t out[COMMITTED_KEY_LEN])
{
	memcpy(out, ST_CHANGE_COMMITTED, sizeof ST_CHANGE_COMMITTED - 1);
	cv_put_u64(out + sizeof ST_CHANGE_COMMITTED - 1, height);
}

/* A stored leaf that does not parse is the store's own corruption. */
static cv_err leaf_decode(const uint8_t *p, size_t n, cv_change *c)
{
	cv_err e = cv_change_from_leaf(p, n, c);

	return e == CV_E_MALFORMED ? CV_E_STORE : e;
}

void cv_change_records_free(cv_change_record *r, size_t n)
{
	for (size_t i = 0; r != NULL && i < n; i++)
		cv_change_free(&r[i].change);
	free(r);
}

/* ---- the parameters in force ---- */

static cv_err apply_committed(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	cv_change c;
	cv_err e;

	(void)k;
	(void)kl;
	if ((e = leaf_decode(v, vl, &c)) != CV_OK)
		return e;
	e = cv_params_apply(ctx, &c);
	cv_change_free(&c);
	return e == CV_E_BAD_CHANGE ? CV_E_STORE : e;
}

static cv_err params_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	cv_params *p = ctx;
	cv_err e;

	cv_params_free(p);
	if ((e = cv_params_init(p, &s->genesis)) != CV_OK)
		return e;
	return cv_st_scan(s, ST_META, txn, ST_CHANGE_COMMITTED, sizeof ST_CHANGE_COMMITTED - 1,
	                  apply_committed, p);
}

static cv_err count_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	return cv_st_meta_u64(s, txn, ST_CHANGE_COUNT, ctx);
}

static const cv_params *params_current(cv_store *s)
{
	return s->n_params ? s->params[s->n_params - 1] : NULL;
}

/* The parameters in force; recent: those of a count read less than ST_TRUST_NS ago
 * will do. */
static cv_err params_get(cv_store *s, bool recent, const cv_params **out)
{
	const cv_params *cur;
	cv_params *fresh, **grown;
	long long t = cv_st_mono_ns();
	uint64_t n = 0;
	cv_err e;

	*out = NULL;
	if (recent && cv_st_trust_fresh(&s->params_seen, t)) {
		pthread_mutex_lock(&s->lock);
		cur = params_current(s);
		pthread_mutex_unlock(&s->lock);
		if (cur != NULL) {
			*out = cur;
			return CV_OK;
		}
	}
	/* One short read per view: a change committed by another process is seen at once.
	 * It reads without a transaction of its own (a begin and a commit cost more than the
	 * lookup, on every vote): it sees committed data either way, and whatever it sees
	 * may be outdated by the time it is used, as a transaction's would be. Contended,
	 * it goes through the transaction and its retries. */
	e = cv_st_meta_u64(s, NULL, ST_CHANGE_COUNT, &n);
	if (e == ST_RETRY || e == ST_TIMEOUT)
		e = cv_st_run(s, count_op, &n);
	if (e != CV_OK)
		return e;
	pthread_mutex_lock(&s->lock);
	cur = params_current(s);
	pthread_mutex_unlock(&s->lock);
	if (cur != NULL && cur->n_changes == n) {
		cv_st_trust_keep(&s->params_seen, t);
		*out = cur;
		return CV_OK;
	}
	if ((fresh = calloc(1, sizeof *fresh)) == NULL)
		return CV_E_NOMEM;
	if ((e = cv_st_run(s, params_op, fresh)) != CV_OK) {
		cv_params_free(fresh);
		free(fresh);
		return e;
	}
	pthread_mutex_lock(&s->lock);
	cur = params_current(s);
	if (cur != NULL && cur->n_changes >= fresh->n_changes) {
		/* another thread was first, or a later change is known already */
		*out = cur;
		cv_params_free(fresh);
		free(fresh);
	} else if ((grown = realloc(s->params, (s->n_params + 1) * sizeof(cv_params *))) == NULL) {
		cv_params_free(fresh);
		free(fresh);
		e = CV_E_NOMEM;
	} else {
		s->params = grown;
		s->params[s->n_params++] = fresh;
		*out = fresh;
	}
	pthread_mutex_unlock(&s->lock);
	if (e == CV_OK)
		cv_st_trust_keep(&s->params_seen, t);
	return e;
}

cv_err cv_st_params(cv_store *s, const cv_params **out)
{
	return params_get(s, false, out);
}

cv_err cv_st_params_recent(cv_store *s, const cv_params **out)
{
	return params_get(s, true, out);
}

cv_err cv_st_settings_in_force(cv_store *s, DB_TXN *txn, cv_settings *st)
{
	uint8_t v[8];
	cv_err e;

	e = cv_st_get_fixed(s, ST_META, txn, ST_CHANGE_CLOSES, strlen(ST_CHANGE_CLOSES), v, 8, 0);
	if (e == CV_OK)
		st->election.closes = cv_get_u64(v);
	else if (e != CV_E_NOT_FOUND)
		return e;
	e = cv_st_get_fixed(s, ST_META, txn, ST_CHANGE_DIFFICULTY, strlen(ST_CHANGE_DIFFICULTY), v,
	                    8, 0);
	if (e == CV_OK)
		st->election.difficulty = (uint8_t)cv_get_u64(v);
	return e == CV_E_NOT_FOUND ? CV_OK : e;
}

static cv_err latest_pending(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	const size_t ballot_ts = strlen(CV_TAG_BALLOT) + CV_HASH_LEN + CV_KEY_LEN;
	uint64_t *latest = ctx, ts;

	(void)k;
	(void)kl;
	if (vl == CV_LEAF_LEN)
		ts = cv_get_u64(v + CV_PAYLOAD_LEN - 8);
	else if (vl >= ballot_ts + 8 && memcmp(v, CV_TAG_BALLOT, strlen(CV_TAG_BALLOT)) == 0)
		ts = cv_get_u64(v + ballot_ts);
	else
		return CV_OK; /* a decryption share carries no stamp */
	if (ts > *latest)
		*latest = ts;
	return CV_OK;
}

cv_err cv_st_latest_vote(cv_store *s, DB_TXN *txn, uint64_t *latest)
{
	cv_err e = cv_st_meta_u64(s, txn, "latest_vote", latest);

	return e != CV_OK ? e : cv_st_scan(s, ST_POOL, txn, NULL, 0, latest_pending, latest);
}

/* ---- proposing and signing ---- */

typedef struct judge_ctx {
	const cv_view *view; /* cv_st_view's, read before the transaction */
	const cv_change *change;
	uint64_t now;
	uint8_t id[CV_HASH_LEN];
	const cv_approval *sig; /* signing: the signature added */
	size_t n_signatures;    /* signing: how many the change has now */
	char *why;
	size_t why_len;
} judge_ctx;

/* A change for the chain as it stands in txn: the election open and not sealed, a
 * `closes` not after the close, a height still ahead, then cv_check_change at the
 * parameters in force with every vote committed or pending (none may fall after a closes
 * moved earlier). */
static cv_err judge(cv_store *s, DB_TXN *txn, const cv_view *v0, const cv_change *c, bool complete,
                    char *why, size_t why_len)
{
	cv_view view = *v0;
	uint64_t n_changes;
	cv_st_close cl;
	cv_st_tip tip;
	cv_err e;

	if ((e = cv_st_close_get(s, txn, cv_now(), false, &cl)) != CV_OK)
		return e;
	if (cl.state == CV_STATE_SETUP)
		return CV_E_BAD_STATE;
	if (cl.seal_height != 0)
		return CV_E_SEALED;
	if (c->kind == CV_CHANGE_CLOSES && cl.closed)
		return CV_E_CLOSED;
	if ((e = cv_st_tip_get(s, txn, &tip)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, ST_CHANGE_COUNT, &n_changes)) != CV_OK ||
	    (e = cv_st_latest_vote(s, txn, &view.last_vote_time)) != CV_OK)
		return e;
	/* a change committed since the view was read: the caller asks again */
	if (n_changes != v0->params->n_changes)
		return CV_E_BUSY;
	if (c->effective_height < tip.height + 2)
		return CV_E_STALE;
	return cv_check_change(&view, c->effective_height - 1, c, complete, NULL, why, why_len);
}

typedef struct count_pending_ctx {
	uint64_t passed; /* effective heights up to this one can no longer be met */
	size_t n;
} count_pending_ctx;

static cv_err pending_prune(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	const size_t at = 8 + sizeof CV_TAG_CHANGE - 1 + CV_HASH_LEN;
	count_pending_ctx *c = ctx;

	(void)k;
	(void)kl;
	if (vl < at + 8)
		return CV_E_STORE;
	if (cv_get_u64(v + at) <= c->passed)
		return ST_DELETE;
	c->n++;
	return CV_OK;
}

static cv_err propose_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	judge_ctx *c = ctx;
	uint8_t key[PENDING_KEY_LEN];
	count_pending_ctx pc = {0};
	cv_buf rec = {0};
	cv_st_tip tip;
	cv_err e;

	if ((e = judge(s, txn, c->view, c->change, false, c->why, c->why_len)) != CV_OK)
		return e;
	pending_key(c->id, key);
	if ((e = cv_st_exists(s, ST_META, txn, key, sizeof key)) != CV_E_NOT_FOUND)
		return e == CV_OK ? CV_E_EXISTS : e;
	/* changes whose block height passed can never be committed: they make room */
	if ((e = cv_st_tip_get(s, txn, &tip)) != CV_OK)
		return e;
	pc.passed = tip.height + 1;
	if ((e = cv_st_scan(s, ST_META, txn, ST_CHANGE_PENDING, sizeof ST_CHANGE_PENDING - 1,
	                    pending_prune, &pc)) != CV_OK)
		return e;
	if (pc.n >= CV_CHANGES_PENDING_MAX)
		return CV_E_PROPOSALS_FULL;
	cv_buf_u64(&rec, c->now);
	if ((e = cv_change_leaf(c->change, &rec)) == CV_OK)
		e = rec.failed ? CV_E_NOMEM
		               : cv_st_put(s, ST_META, txn, key, sizeof key, rec.data, rec.len, 0);
	cv_buf_free(&rec);
	return e;
}

cv_err cv_store_change_propose(cv_store *s, const cv_change *c, uint64_t now,
                               uint8_t id[CV_HASH_LEN], char *why, size_t why_len)
{
	judge_ctx j = {.change = c, .now = now, .why = why, .why_len = why_len};
	cv_view view;
	cv_err e;

	if (why_len > 0)
		why[0] = '\0';
	if (c->n_signatures > 1)
		return CV_E_CHANGE_SIGNATURES; /* the proposer's own, and no other yet */
	if ((e = cv_change_id(c, j.id)) != CV_OK || (e = cv_st_view(s, &view)) != CV_OK)
		return e;
	j.view = &view;
	if ((e = cv_st_run(s, propose_op, &j)) == CV_OK)
		memcpy(id, j.id, CV_HASH_LEN);
	return e;
}

static cv_err sign_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	judge_ctx *c = ctx;
	uint8_t key[PENDING_KEY_LEN];
	cv_change change = {0};
	cv_buf rec = {0};
	void *v = NULL;
	size_t vl;
	cv_err e;

	pending_key(c->id, key);
	if ((e = cv_st_get(s, ST_META, txn, key, sizeof key, &v, &vl, DB_RMW)) != CV_OK)
		return e;
	if (vl < 8) {
		e = CV_E_STORE;
		goto out;
	}
	if ((e = leaf_decode((uint8_t *)v + 8, vl - 8, &change)) != CV_OK ||
	    (e = cv_change_add_signature(&change, c->sig)) != CV_OK ||
	    (e = judge(s, txn, c->view, &change, false, c->why, c->why_len)) != CV_OK)
		goto out;
	cv_buf_put(&rec, v, 8);
	if ((e = cv_change_leaf(&change, &rec)) == CV_OK)
		e = rec.failed ? CV_E_NOMEM
		               : cv_st_put(s, ST_META, txn, key, sizeof key, rec.data, rec.len, 0);
	c->n_signatures = change.n_signatures;
out:
	cv_buf_free(&rec);
	cv_change_free(&change);
	free(v);
	return e;
}

cv_err cv_store_change_sign(cv_store *s, const uint8_t id[CV_HASH_LEN], const cv_approval *sig,
                            size_t *n_signatures, char *why, size_t why_len)
{
	judge_ctx j = {.sig = sig, .why = why, .why_len = why_len};
	cv_view view;
	cv_err e;

	if (why_len > 0)
		why[0] = '\0';
	if ((e = cv_st_view(s, &view)) != CV_OK)
		return e;
	j.view = &view;
	memcpy(j.id, id, CV_HASH_LEN);
	if ((e = cv_st_run(s, sign_op, &j)) == CV_OK && n_signatures != NULL)
		*n_signatures = j.n_signatures;
	return e;
}

/* ---- the work template and the commit ---- */

typedef struct ready_ctx {
	cv_store *s;
	DB_TXN *txn;
	cv_view view; /* last_vote_time read once a change may be offered */
	bool have_latest;
	uint64_t height;
	bool closed;
	bool *ready;
	cv_change *out;
} ready_ctx;

static cv_err ready_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	ready_ctx *r = ctx;
	cv_change c;
	cv_err e;

	(void)k;
	(void)kl;
	if (vl < 8)
		return CV_E_STORE;
	if ((e = leaf_decode(v + 8, vl - 8, &c)) != CV_OK)
		return e;
	/* too few signatures, another height, or no longer valid: not offered (the pool is
	 * read for its latest stamp only when a change may be) */
	if (c.effective_height != r->height + 1 ||
	    c.n_signatures < r->view.genesis->election.threshold ||
	    (r->closed && c.kind == CV_CHANGE_CLOSES)) {
		cv_change_free(&c);
		return CV_OK;
	}
	if (!r->have_latest) {
		if ((e = cv_st_latest_vote(r->s, r->txn, &r->view.last_vote_time)) != CV_OK) {
			cv_change_free(&c);
			return e;
		}
		r->have_latest = true;
	}
	if (cv_check_change(&r->view, r->height, &c, true, NULL, NULL, 0) == CV_OK) {
		*r->out = c;
		*r->ready = true;
		return ST_STOP;
	}
	cv_change_free(&c);
	return CV_OK;
}

cv_err cv_st_change_ready(cv_store *s, DB_TXN *txn, const cv_view *v, uint64_t height, bool *ready,
                          cv_change *out)
{
	ready_ctx r = {s, txn, *v, false, height, false, ready, out};
	uint64_t n_changes;
	cv_st_close cl;
	cv_err e;

	*ready = false;
	memset(out, 0, sizeof *out);
	if ((e = cv_st_meta_u64(s, txn, ST_CHANGE_COUNT, &n_changes)) != CV_OK ||
	    (e = cv_st_close_get(s, txn, cv_now(), false, &cl)) != CV_OK)
		return e;
	if (n_changes != v->params->n_changes)
		return CV_E_BUSY;
	r.closed = cl.closed;
	return cv_st_scan(s, ST_META, txn, ST_CHANGE_PENDING, sizeof ST_CHANGE_PENDING - 1,
	                  ready_one, &r);
}

cv_err cv_st_change_commit(cv_store *s, DB_TXN *txn, const cv_block *b)
{
	uint8_t id[CV_HASH_LEN], pkey[PENDING_KEY_LEN], ckey[COMMITTED_KEY_LEN], v[8];
	const cv_change *c = b->change;
	cv_buf leaf = {0};
	cv_err e;

	if ((e = cv_change_id(c, id)) != CV_OK || (e = cv_change_leaf(c, &leaf)) != CV_OK)
		goto out;
	pending_key(id, pkey);
	committed_key(b->header.height, ckey);
	e = cv_st_del(s, ST_META, txn, pkey, sizeof pkey);
	if (e == CV_OK || e == CV_E_NOT_FOUND)
		e = cv_st_put(s, ST_META, txn, ckey, sizeof ckey, leaf.data, leaf.len, 0);
	if (e == CV_OK)
		e = cv_st_meta_add(s, txn, ST_CHANGE_COUNT, 1);
	if (e == CV_OK && c->kind == CV_CHANGE_CLOSES) {
		cv_put_u64(v, c->closes);
		e = cv_st_put(s, ST_META, txn, ST_CHANGE_CLOSES, strlen(ST_CHANGE_CLOSES), v, 8, 0);
	} else if (e == CV_OK && c->kind == CV_CHANGE_DIFFICULTY) {
		cv_put_u64(v, c->difficulty);
		e = cv_st_put(s, ST_META, txn, ST_CHANGE_DIFFICULTY, strlen(ST_CHANGE_DIFFICULTY),
		              v, 8, 0);
	}
out:
	cv_buf_free(&leaf);
	return e;
}

/* ---- listing ---- */

typedef struct list_ctx {
	cv_change_record *r;
	size_t n, cap;
	bool committed;
} list_ctx;

static cv_err list_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	list_ctx *l = ctx;
	cv_change_record *rec;
	size_t skip = l->committed ? 0 : 8;
	cv_err e;

	if (vl < skip || kl < 8)
		return CV_E_STORE;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		cv_change_record *grown = realloc(l->r, cap * sizeof *grown);

		if (grown == NULL)
			return CV_E_NOMEM;
		l->r = grown;
		l->cap = cap;
	}
	rec = &l->r[l->n];
	memset(rec, 0, sizeof *rec);
	if ((e = leaf_decode(v + skip, vl - skip, &rec->change)) != CV_OK ||
	    (e = cv_change_id(&rec->change, rec->id)) != CV_OK) {
		cv_change_free(&rec->change);
		return e;
	}
	rec->committed = l->committed;
	if (l->committed)
		rec->height = cv_get_u64(k + kl - 8);
	else
		rec->proposed_at = cv_get_u64(v);
	l->n++;
	return CV_OK;
}

static cv_err changes_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	list_ctx *l = ctx;
	cv_err e;

	cv_change_records_free(l->r, l->n);
	memset(l, 0, sizeof *l);
	l->committed = true;
	if ((e = cv_st_scan(s, ST_META, txn, ST_CHANGE_COMMITTED, sizeof ST_CHANGE_COMMITTED - 1,
	                    list_one, l)) != CV_OK)
		return e;
	l->committed = false;
	return cv_st_scan(s, ST_META, txn, ST_CHANGE_PENDING, sizeof ST_CHANGE_PENDING - 1,
	                  list_one, l);
}

cv_err cv_store_changes(cv_store *s, cv_change_record **out, size_t *n)
{
	list_ctx l = {0};
	cv_err e = cv_st_run(s, changes_op, &l);

	if (e != CV_OK) {
		cv_change_records_free(l.r, l.n);
		return e;
	}
	*out = l.r;
	*n = l.n;
	return CV_OK;
}

cv_err cv_store_validators_in_force(cv_store *s, cv_validator **out, size_t *n)
{
	cv_view view;
	cv_err e = cv_st_view(s, &view);

	*out = NULL;
	*n = 0;
	if (e != CV_OK)
		return e;
	if ((*out = malloc((view.genesis->n_validators + 1) * sizeof **out)) == NULL)
		return CV_E_NOMEM;
	memcpy(*out, view.genesis->validators, view.genesis->n_validators * sizeof **out);
	*n = view.genesis->n_validators;
	return CV_OK;
}
