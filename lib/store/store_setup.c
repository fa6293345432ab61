/* Election set-up in the store: settings, candidates, validators, the roll,
 * eligibility entries with one-time registration codes, and the state changes (open
 * seals the genesis block, close ends voting). Set-up is refused once open. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

#define SALT_LEN ST_SALT_LEN
#define ELIG_LEN ST_ELIG_LEN

/* Starts every set-up write: the election exists, is still in set-up and is not
 * archived (an abandoned draft). */
static cv_err in_setup(cv_store *s, DB_TXN *txn)
{
	cv_state state;
	uint64_t archived_at;
	cv_err e = cv_st_state(s, txn, true, &state);

	if (e != CV_OK)
		return e;
	if (state != CV_STATE_SETUP)
		return CV_E_BAD_STATE;
	if ((e = cv_st_meta_u64(s, txn, "archived", &archived_at)) != CV_OK)
		return e;
	return archived_at != 0 ? CV_E_ARCHIVED : CV_OK;
}

/* Input checks of the administrator's settings. The genesis rules proper (threshold
 * against the validators, ids, keys) run through cv_genesis_normalise at open. */
static cv_err settings_ok(const cv_settings *st)
{
	const cv_election *e = &st->election;

	if (!cv_text_ok(e->title) || e->threshold < 2 || e->max_block_votes < 1)
		return CV_E_BAD_ELECTION;
	if (e->opens != 0 && e->closes != 0 && e->opens >= e->closes)
		return CV_E_BAD_ELECTION;
	if (st->secret ? st->quorum < 2 : st->quorum != 0)
		return CV_E_SECRECY_PARAMS;
	return CV_OK;
}

static cv_err put_settings(cv_store *s, DB_TXN *txn, const cv_settings *st)
{
	cv_buf b = {0};
	cv_err e = cv_st_settings_encode(st, &b);

	if (e == CV_OK)
		e = cv_st_put(s, ST_META, txn, "settings", 8, b.data, b.len, 0);
	cv_buf_free(&b);
	return e;
}

static cv_err create_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	cv_state state;
	uint8_t setup = CV_STATE_SETUP;
	cv_err e = cv_st_state(s, txn, true, &state);

	if (e == CV_OK)
		return CV_E_EXISTS;
	if (e != CV_E_NOT_FOUND)
		return e;
	e = cv_st_put(s, ST_META, txn, "state", 5, &setup, 1, 0);
	if (e == CV_OK)
		e = put_settings(s, txn, ctx);
	return e;
}

cv_err cv_store_create_election(cv_store *s, const cv_settings *st)
{
	cv_err e = settings_ok(st);

	return e != CV_OK ? e : cv_st_run(s, create_op, (void *)st);
}

static cv_err settings_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	cv_err e = in_setup(s, txn);

	if (e == CV_OK)
		e = put_settings(s, txn, ctx);
	return e != CV_OK ? e : cv_st_ceremony_revise(s, txn);
}

cv_err cv_store_set_settings(cv_store *s, const cv_settings *st)
{
	cv_err e = settings_ok(st);

	return e != CV_OK ? e : cv_st_run(s, settings_op, (void *)st);
}

/* ---- candidates, validators, the roll, eligibility: batches ---- */

/* One batch: n entries of one kind written in one transaction; bad is the index of a
 * refused entry. With known set (a merge), an entry stored already is left as it is and
 * flagged there instead of refusing the batch. */
typedef struct batch_ctx {
	const void *items;
	size_t n;
	size_t bad;
	const uint8_t (*recs)[ELIG_LEN]; /* eligibility records */
	bool *known;                     /* n flags, or NULL */
} batch_ctx;

/* A put of a batch entry that must be new: CV_OK also for an entry a merge keeps, and
 * *added counts the new ones. */
static cv_err put_new(cv_store *s, int db, DB_TXN *txn, batch_ctx *b, const void *key, size_t klen,
                      const void *val, size_t vlen, int64_t *added)
{
	cv_err e = cv_st_put(s, db, txn, key, klen, val, vlen, DB_NOOVERWRITE);

	if (e == CV_E_EXISTS && b->known != NULL) {
		b->known[b->bad] = true;
		return CV_OK;
	}
	if (e == CV_OK)
		(*added)++;
	return e;
}

static cv_err put_candidates_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	batch_ctx *b = ctx;
	const cv_candidate *c = b->items;
	uint8_t key[4];
	cv_err e = in_setup(s, txn);

	for (b->bad = 0; e == CV_OK && b->bad < b->n; b->bad++) {
		cv_put_u32(key, c[b->bad].id);
		e = cv_st_put(s, ST_CANDIDATES, txn, key, sizeof key, c[b->bad].name,
		              strlen(c[b->bad].name), 0);
		if (e != CV_OK)
			return e;
	}
	return e != CV_OK ? e : cv_st_ceremony_revise(s, txn);
}

cv_err cv_store_put_candidates(cv_store *s, const cv_candidate *c, size_t n, size_t *bad)
{
	batch_ctx b = {c, n, 0, NULL, NULL};
	cv_err e;

	if (bad != NULL)
		*bad = SIZE_MAX;
	for (size_t i = 0; i < n; i++)
		if (c[i].id < 1 || !cv_text_ok(c[i].name)) {
			if (bad != NULL)
				*bad = i;
			return CV_E_BAD_ELECTION;
		}
	e = cv_st_run(s, put_candidates_op, &b);
	if (e != CV_OK && bad != NULL && b.bad < n)
		*bad = b.bad;
	return e;
}

cv_err cv_store_put_candidate(cv_store *s, const cv_candidate *c)
{
	return cv_store_put_candidates(s, c, 1, NULL);
}

static cv_err del_candidate_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	uint8_t key[4];
	cv_err e = in_setup(s, txn);

	if (e != CV_OK)
		return e;
	cv_put_u32(key, *(const uint32_t *)ctx);
	e = cv_st_del(s, ST_CANDIDATES, txn, key, sizeof key);
	return e != CV_OK ? e : cv_st_ceremony_revise(s, txn);
}

cv_err cv_store_del_candidate(cv_store *s, uint32_t id)
{
	return cv_st_run(s, del_candidate_op, &id);
}

static cv_err put_validators_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	batch_ctx *b = ctx;
	const cv_validator *v = b->items;
	cv_err e = in_setup(s, txn);

	for (b->bad = 0; e == CV_OK && b->bad < b->n; b->bad++) {
		e = cv_st_put(s, ST_VALIDATORS, txn, v[b->bad].key, CV_KEY_LEN, v[b->bad].name,
		              strlen(v[b->bad].name), 0);
		if (e != CV_OK)
			return e;
	}
	return e != CV_OK ? e : cv_st_ceremony_revise(s, txn);
}

cv_err cv_store_put_validators(cv_store *s, const cv_validator *v, size_t n, size_t *bad)
{
	batch_ctx b = {v, n, 0, NULL, NULL};
	cv_err e;

	if (bad != NULL)
		*bad = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		e = cv_pubkey_check(v[i].key);
		if (e == CV_OK && !cv_text_ok(v[i].name))
			e = CV_E_BAD_ELECTION;
		if (e != CV_OK) {
			if (bad != NULL)
				*bad = i;
			return e;
		}
	}
	e = cv_st_run(s, put_validators_op, &b);
	if (e != CV_OK && bad != NULL && b.bad < n)
		*bad = b.bad;
	return e;
}

cv_err cv_store_put_validator(cv_store *s, const cv_validator *v)
{
	return cv_store_put_validators(s, v, 1, NULL);
}

static cv_err del_validator_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	cv_err e = in_setup(s, txn);

	if (e == CV_OK)
		e = cv_st_del(s, ST_VALIDATORS, txn, ctx, CV_KEY_LEN);
	return e != CV_OK ? e : cv_st_ceremony_revise(s, txn);
}

cv_err cv_store_del_validator(cv_store *s, const uint8_t key[CV_KEY_LEN])
{
	return cv_st_run(s, del_validator_op, (void *)key);
}

static cv_err add_voters_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	batch_ctx *b = ctx;
	const uint8_t(*keys)[CV_KEY_LEN] = b->items;
	int64_t added = 0;
	cv_err e = in_setup(s, txn);

	/* a retry after a deadlock starts over */
	if (b->known != NULL)
		memset(b->known, 0, b->n * sizeof *b->known);
	for (b->bad = 0; e == CV_OK && b->bad < b->n; b->bad++) {
		e = put_new(s, ST_ROLL, txn, b, keys[b->bad], CV_KEY_LEN, "", 0, &added);
		if (e != CV_OK)
			return e;
	}
	if (e == CV_OK && added > 0)
		e = cv_st_meta_add(s, txn, "n_voters", added);
	return e;
}

static cv_err voters_batch(cv_store *s, const uint8_t (*keys)[CV_KEY_LEN], size_t n, bool *known,
                           size_t *bad)
{
	batch_ctx b = {keys, n, 0, NULL, known};
	cv_err e;

	if (bad != NULL)
		*bad = SIZE_MAX;
	for (size_t i = 0; i < n; i++)
		if ((e = cv_pubkey_check(keys[i])) != CV_OK) {
			if (bad != NULL)
				*bad = i;
			return e;
		}
	e = cv_st_run(s, add_voters_op, &b);
	if (e != CV_OK && bad != NULL && b.bad < n)
		*bad = b.bad;
	return e;
}

cv_err cv_store_add_voters(cv_store *s, const uint8_t (*keys)[CV_KEY_LEN], size_t n, size_t *bad)
{
	return voters_batch(s, keys, n, NULL, bad);
}

cv_err cv_store_merge_voters(cv_store *s, const uint8_t (*keys)[CV_KEY_LEN], size_t n, bool *known,
                             size_t *bad)
{
	return voters_batch(s, keys, n, known, bad);
}

cv_err cv_store_add_voter(cv_store *s, const uint8_t key[CV_KEY_LEN])
{
	return cv_store_add_voters(s, (const uint8_t(*)[CV_KEY_LEN])key, 1, NULL);
}

static cv_err add_eligibles_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	batch_ctx *b = ctx;
	const cv_eligible *el = b->items;
	int64_t added = 0;
	cv_err e = in_setup(s, txn);

	if (b->known != NULL)
		memset(b->known, 0, b->n * sizeof *b->known);
	for (b->bad = 0; e == CV_OK && b->bad < b->n; b->bad++) {
		e = put_new(s, ST_ELIGIBLE, txn, b, el[b->bad].voter_id,
		            strlen(el[b->bad].voter_id), b->recs[b->bad], ELIG_LEN, &added);
		if (e != CV_OK)
			return e;
	}
	if (e == CV_OK && added > 0)
		e = cv_st_meta_add(s, txn, "n_eligible", added);
	return e;
}

static cv_err eligibles_batch(cv_store *s, const cv_eligible *el, size_t n, bool *known,
                              size_t *bad)
{
	uint8_t(*recs)[ELIG_LEN] = NULL;
	batch_ctx b = {el, n, 0, NULL, known};
	cv_err e = CV_OK;

	if (bad != NULL)
		*bad = SIZE_MAX;
	for (size_t i = 0; i < n; i++)
		if (el[i].voter_id == NULL || el[i].code == NULL ||
		    !cv_eligible_text_ok(el[i].voter_id)) {
			if (bad != NULL)
				*bad = i;
			return CV_E_MALFORMED;
		}
	recs = malloc((n ? n : 1) * sizeof *recs);
	if (recs == NULL)
		return CV_E_NOMEM;
	/* Salts and hashes are made before the transaction: it only writes. A code the
	 * administrator chose must be strong; a generated one is by how it was drawn. */
	for (size_t i = 0; i < n; i++)
		if ((e = cv_st_code_record(el[i].code, !el[i].generated, recs[i])) != CV_OK) {
			if (bad != NULL)
				*bad = i;
			goto out;
		}
	b.recs = (const uint8_t(*)[ELIG_LEN])recs;
	e = cv_st_run(s, add_eligibles_op, &b);
	if (e != CV_OK && bad != NULL && b.bad < n)
		*bad = b.bad;
out:
	free(recs);
	return e;
}

cv_err cv_store_add_eligibles(cv_store *s, const cv_eligible *el, size_t n, size_t *bad)
{
	return eligibles_batch(s, el, n, NULL, bad);
}

cv_err cv_store_merge_eligibles(cv_store *s, const cv_eligible *el, size_t n, bool *known,
                                size_t *bad)
{
	return eligibles_batch(s, el, n, known, bad);
}

cv_err cv_store_add_eligible(cv_store *s, const char *voter_id, const char *code)
{
	cv_eligible el = {voter_id, code, false};

	return cv_store_add_eligibles(s, &el, 1, NULL);
}

typedef struct register_ctx {
	const char *voter_id, *code;
	const uint8_t *key;
} register_ctx;

static cv_err register_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	static const uint8_t dummy_salt[SALT_LEN];
	register_ctx *c = ctx;
	uint8_t rec[ELIG_LEN + CV_KEY_LEN], hash[CV_HASH_LEN];
	bool known, match;
	void *stored = NULL;
	size_t n = 0;
	cv_err e = in_setup(s, txn);

	if (e != CV_OK)
		return e;
	e = cv_st_get(s, ST_ELIGIBLE, txn, c->voter_id, strlen(c->voter_id), &stored, &n, DB_RMW);
	if (e != CV_OK && e != CV_E_NOT_FOUND)
		return e;
	/* An unspent entry is ELIG_LEN bytes, a spent one also holds the bound key. */
	known = e == CV_OK && (n == ELIG_LEN || n == ELIG_LEN + CV_KEY_LEN);
	memset(rec, 0, sizeof rec);
	if (known)
		memcpy(rec, stored, n);
	free(stored);
	/* The hash is computed for unknown ids too, so the answer takes the same time. */
	cv_st_code_hash(known ? rec : dummy_salt, c->code, hash);
	match = cv_memeq_ct(hash, rec + SALT_LEN, CV_HASH_LEN) == 0;
	if (!known || !match || rec[SALT_LEN + CV_HASH_LEN] != 0)
		return CV_E_BAD_CODE;
	e = cv_st_put(s, ST_ROLL, txn, c->key, CV_KEY_LEN, "", 0, DB_NOOVERWRITE);
	if (e != CV_OK)
		return e;
	rec[SALT_LEN + CV_HASH_LEN] = 1;
	memcpy(rec + ELIG_LEN, c->key, CV_KEY_LEN);
	e = cv_st_put(s, ST_ELIGIBLE, txn, c->voter_id, strlen(c->voter_id), rec, sizeof rec, 0);
	if (e == CV_OK)
		e = cv_st_meta_add(s, txn, "n_registered", 1);
	if (e == CV_OK)
		e = cv_st_meta_add(s, txn, "n_voters", 1);
	return e;
}

cv_err cv_store_register(cv_store *s, const char *voter_id, const char *code,
                         const uint8_t key[CV_KEY_LEN])
{
	char normal[CV_ELIGIBLE_TEXT_MAX + 1];
	register_ctx c = {voter_id, normal, key};
	cv_err e;

	if (voter_id == NULL || code == NULL || !cv_eligible_text_ok(voter_id) ||
	    !cv_eligible_code_normalise(code, normal))
		return CV_E_BAD_CODE;
	e = cv_pubkey_check(key);
	return e != CV_OK ? e : cv_st_run(s, register_op, &c);
}

/* ---- state changes ---- */

typedef struct open_ctx {
	uint64_t now;
	uint8_t hash[CV_HASH_LEN];
} open_ctx;

/* A secret election opens only when its key ceremony is complete. */
static cv_err ceremony_complete(cv_store *s, DB_TXN *txn)
{
	cv_ceremony c = {0};
	cv_err e;

	e = cv_st_ceremony_status(s, txn, &c);
	if (e == CV_OK && !c.complete)
		e = CV_E_CEREMONY;
	cv_ceremony_free(&c);
	return e;
}

static cv_err open_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	open_ctx *c = ctx;
	cv_genesis g;
	cv_block b;
	cv_st_tip tip = {0};
	cv_buf enc = {0};
	uint8_t rec[CV_HASH_LEN + 8], height[8], state = CV_STATE_OPEN;
	cv_err e = in_setup(s, txn);

	if (e != CV_OK)
		return e;
	e = cv_st_load_genesis(s, txn, true, &g);
	if (e != CV_OK)
		return e;
	e = cv_genesis_normalise(&g);
	if (e == CV_OK && g.secrecy != NULL)
		e = ceremony_complete(s, txn);
	/* an election opened at or after its `closes` could take no vote, and its seal
	 * could not be valid (closed_at = closes would be before the genesis) */
	if (e == CV_OK && g.election.closes != 0 && c->now >= g.election.closes)
		e = CV_E_BAD_ELECTION;
	if (e == CV_OK)
		e = cv_genesis_header(&g, c->now, &tip.header);
	if (e == CV_OK && g.secrecy != NULL) {
		/* the genesis a verifier will read: the secrecy rules (quorum, trustees,
		 * setup_hash, proofs, K) hold before it is sealed */
		cv_block gb = {0};

		gb.header = tip.header;
		gb.genesis = &g;
		cv_header_hash(&tip.header, gb.hash);
		e = cv_check_genesis(&gb);
	}
	cv_genesis_free(&g);
	if (e != CV_OK)
		return e;
	cv_header_hash(&tip.header, c->hash);
	tip.height = 0;
	memcpy(tip.hash, c->hash, CV_HASH_LEN);
	/* Block 0 is stored as its header; its entries are the frozen set-up databases. */
	memset(&b, 0, sizeof b);
	b.header = tip.header;
	memcpy(b.hash, c->hash, CV_HASH_LEN);
	e = cv_st_block_encode(&b, &enc);
	cv_put_u64(height, 0);
	if (e == CV_OK)
		e = cv_st_put(s, ST_BLOCKS, txn, height, 8, enc.data, enc.len, 0);
	cv_buf_free(&enc);
	if (e == CV_OK)
		e = cv_st_put(s, ST_HASHES, txn, c->hash, CV_HASH_LEN, height, 8, 0);
	memcpy(rec, c->hash, CV_HASH_LEN);
	cv_put_u64(rec + CV_HASH_LEN, c->now);
	if (e == CV_OK)
		e = cv_st_put(s, ST_META, txn, "genesis", 7, rec, sizeof rec, 0);
	if (e == CV_OK)
		e = cv_st_tip_put(s, txn, &tip);
	if (e == CV_OK)
		e = cv_st_put(s, ST_META, txn, "state", 5, &state, 1, 0);
	return e;
}

cv_err cv_store_open_election(cv_store *s, uint64_t now, uint8_t genesis_hash[CV_HASH_LEN])
{
	open_ctx c = {now, {0}};
	cv_err e = cv_st_run(s, open_op, &c);

	if (e == CV_OK && genesis_hash != NULL)
		memcpy(genesis_hash, c.hash, CV_HASH_LEN);
	return e;
}

/* The latest timestamp among pool votes (leaves: the timestamp ends the payload). */
/* closed_at is when the admin closed (or `closes`, when that passed first), moved on to
 * the latest vote stamped after it: rule 5 lets a vote be stamped up to 300 s ahead of
 * the clock that took it, and a seal must leave no accepted vote out (every vote of a
 * sealed chain is stamped no later than closed_at). Votes are never stamped after
 * `closes`, so closed_at stays within it. */
static cv_err close_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	uint64_t now = *(const uint64_t *)ctx, closed_at, latest;
	uint8_t closed = CV_STATE_CLOSED;
	cv_st_close c;
	cv_err e = cv_st_close_get(s, txn, now, true, &c);

	if (e != CV_OK)
		return e;
	if (c.state != CV_STATE_OPEN)
		return CV_E_BAD_STATE;
	closed_at = c.closed ? c.closed_at : now;
	if ((e = cv_st_latest_vote(s, txn, &latest)) != CV_OK)
		return e;
	if (latest > closed_at)
		closed_at = latest;
	if (c.closes != 0 && closed_at > c.closes)
		closed_at = c.closes;
	e = cv_st_put(s, ST_META, txn, "state", 5, &closed, 1, 0);
	if (e == CV_OK)
		e = cv_st_meta_put_u64(s, txn, "closed_at", closed_at);
	return e;
}

cv_err cv_store_close_election(cv_store *s, uint64_t now)
{
	return cv_st_run(s, close_op, &now);
}

/* ---- archiving ---- */

static cv_err archive_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	const uint64_t *now = ctx;
	uint64_t archived_at;
	cv_st_close c;
	cv_err e = cv_st_close_get(s, txn, *now, true, &c);

	if (e != CV_OK)
		return e;
	if ((e = cv_st_meta_u64(s, txn, "archived", &archived_at)) != CV_OK)
		return e;
	if (archived_at != 0)
		return CV_E_ARCHIVED;
	/* only what can change no more: a draft never opened, or a sealed chain */
	if (c.state != CV_STATE_SETUP && c.seal_height == 0)
		return CV_E_BAD_STATE;
	return cv_st_meta_put_u64(s, txn, "archived", *now > 0 ? *now : 1);
}

cv_err cv_store_archive(cv_store *s, uint64_t now)
{
	return cv_st_run(s, archive_op, &now);
}
