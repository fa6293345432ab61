/* The chain's objects read from the public JSON of DESIGN section 3 (json.h): votes,
 * approvals, seals, a secret election's trustees, ballots and decryption shares, the
 * genesis, changes, blocks and the whole export, each with its exact key set and types,
 * over the strict readers of json.c. */
#include <stdlib.h>
#include <string.h>

#include "json_impl.h"

static const char *const vote_keys[] = {
    "election_id", "voter_key", "candidate_id", "timestamp", "signature", "txid", NULL};
static const char *const approval_keys[] = {"validator_key", "signature", NULL};
static const char *const block_keys[] = {
    "version", "height", "hash", "prev_hash", "merkle_root", "timestamp", "difficulty",
    "nonce",   "votes",  "seal", "approvals", "decryptions", "change",    NULL};
static const char *const seal_keys[] = {"election_id", "closed_at", NULL};
static const char *const genesis_keys[] = {
    "version", "height",   "hash",       "prev_hash",  "merkle_root", "timestamp", "difficulty",
    "nonce",   "election", "candidates", "validators", "voters",      "secrecy",   NULL};
static const char *const election_keys[] = {"title", "threshold", "difficulty", "max_block_votes",
                                            "opens", "closes",    NULL};
static const char *const candidate_keys[] = {"id", "name", NULL};
static const char *const validator_keys[] = {"key", "name", NULL};

static cv_err vote_parse(pstate *ps, const json_object *o, cv_vote *v)
{
	uint8_t stated[CV_HASH_LEN], txid[CV_HASH_LEN];
	json_object *val;
	uint64_t u = 0;
	cv_err rc;

	memset(v, 0, sizeof(*v));
	if ((rc = cv_js_only_keys(ps, o, vote_keys)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "election_id", v->election_id, CV_HASH_LEN)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "voter_key", v->voter_key, CV_KEY_LEN)) != CV_OK ||
	    (rc = cv_js_get_u64(ps, o, "candidate_id", UINT32_MAX, &u)) != CV_OK)
		return rc;
	v->candidate_id = (uint32_t)u;
	if ((rc = cv_js_get_u64(ps, o, "timestamp", UINT64_MAX, &v->timestamp)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "signature", v->signature, CV_SIG_LEN)) != CV_OK)
		return rc;
	if (json_object_object_get_ex(o, "txid", &val)) {
		if ((rc = cv_js_get_hex(ps, o, "txid", stated, CV_HASH_LEN)) != CV_OK)
			return rc;
		cv_vote_txid(v, txid);
		if (memcmp(stated, txid, CV_HASH_LEN) != 0) {
			/* an auditor hears of it and reads on; everyone else refuses */
			if (ps == NULL || ps->bad_txid == NULL)
				return CV_E_BAD_HASH;
			ps->bad_txid(ps->ctx, (size_t)ps->block, (size_t)ps->item_index);
		}
	}
	return CV_OK;
}

cv_err cv_vote_from_json(const json_object *o, cv_vote *v)
{
	return vote_parse(NULL, o, v);
}

static cv_err approval_parse(pstate *ps, const json_object *o, cv_approval *a)
{
	cv_err rc;

	memset(a, 0, sizeof(*a));
	if ((rc = cv_js_only_keys(ps, o, approval_keys)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "validator_key", a->validator_key, CV_KEY_LEN)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "signature", a->signature, CV_SIG_LEN)) != CV_OK)
		return rc;
	return CV_OK;
}

/* "seal": {"election_id", "closed_at"}, when the block has the key. */
static cv_err seal_parse(pstate *ps, const json_object *o, cv_block *b)
{
	json_object *so;
	cv_err rc;

	if (!json_object_object_get_ex(o, "seal", NULL))
		return CV_OK;
	if ((rc = cv_js_get_field(ps, o, "seal", json_type_object, &so)) != CV_OK)
		return rc;
	if ((rc = cv_js_only_keys(ps, so, seal_keys)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, so, "election_id", b->seal.election_id, CV_HASH_LEN)) !=
	        CV_OK ||
	    (rc = cv_js_get_u64(ps, so, "closed_at", UINT64_MAX, &b->seal.closed_at)) != CV_OK)
		return rc;
	b->has_seal = true;
	return CV_OK;
}

cv_err cv_seal_from_json(const json_object *o, cv_block *b)
{
	b->has_seal = false;
	return seal_parse(NULL, o, b);
}

cv_err cv_approval_from_json(const json_object *o, cv_approval *a)
{
	return approval_parse(NULL, o, a);
}

/* The array under key (NULL key: o itself) with its length; *n 0 means *arr may be
 * anything. Allocates nothing. */
static cv_err get_array(pstate *ps, const json_object *o, const char *key, json_object **arr,
                        size_t *n)
{
	cv_err rc;

	if ((rc = cv_js_get_field(ps, o, key, json_type_array, arr)) != CV_OK)
		return rc;
	*n = json_object_array_length(*arr);
	return CV_OK;
}

/* calloc that answers a usable pointer for n == 0 too, so that "no items" and "no
 * memory" stay apart. */
static void *alloc_items(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

/* ---- secret elections (DESIGN section 6.1) ---- */

static const char *const secrecy_keys[] = {"quorum", "trustees", NULL};
static const char *const trustee_keys[] = {"setup_hash", "validator_key", "commitments",
                                           "proofs",     "signature",     NULL};
static const char *const cv_keys[] = {"c", "v", NULL};
static const char *const ballot_keys[] = {"election_id", "voter_key", "timestamp",
                                          "ciphertexts", "proofs",    "sum_proof",
                                          "signature",   "txid",      NULL};
static const char *const ciphertext_keys[] = {"a", "b", NULL};
static const char *const ballot_proof_keys[] = {"c0", "v0", "c1", "v1", NULL};
static const char *const decryption_keys[] = {
    "election_id", "validator_key", "through_height", "shares", "signature", "txid", NULL};
static const char *const share_keys[] = {"d", "c", "v", NULL};

/* A string of exactly n bytes of lowercase hex, o itself (an array's item). */
static cv_err hex_item(pstate *ps, json_object *o, uint8_t *out, size_t n)
{
	if (!json_object_is_type(o, json_type_string) ||
	    (size_t)json_object_get_string_len(o) != 2 * n ||
	    cv_hex_decode(json_object_get_string(o), out, n) != CV_OK)
		return cv_js_fail(ps, NULL, "not %zu bytes of lowercase hex", n);
	return CV_OK;
}

/* The array under key with at most max items. */
static cv_err get_array_max(pstate *ps, const json_object *o, const char *key, size_t max,
                            json_object **arr, size_t *n)
{
	json_object *val;
	cv_err rc;

	if ((rc = cv_js_get_field(ps, o, key, json_type_array, &val)) != CV_OK)
		return rc;
	*arr = val;
	*n = json_object_array_length(val);
	if (*n > max)
		return cv_js_fail(ps, key, "more than %zu items", max);
	return CV_OK;
}

static cv_err trustee_parse(pstate *ps, const json_object *o, cv_trustee *t)
{
	json_object *carr, *parr, *item;
	size_t nc, np;
	cv_err rc;

	if ((rc = cv_js_only_keys(ps, o, trustee_keys)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "setup_hash", t->setup_hash, CV_HASH_LEN)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "validator_key", t->validator_key, CV_KEY_LEN)) != CV_OK ||
	    (rc = get_array_max(ps, o, "commitments", CV_MAX_QUORUM, &carr, &nc)) != CV_OK ||
	    (rc = get_array_max(ps, o, "proofs", CV_MAX_QUORUM, &parr, &np)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "signature", t->signature, CV_SIG_LEN)) != CV_OK)
		return rc;
	if (nc != np)
		return cv_js_fail(ps, "proofs", "%zu proofs for %zu commitments", np, nc);
	if ((rc = cv_trustee_alloc(t, nc)) != CV_OK)
		return rc;
	for (size_t k = 0; k < nc; k++) {
		item = json_object_array_get_idx(parr, k);
		if ((rc = hex_item(ps, json_object_array_get_idx(carr, k), t->commitments[k],
		                   CV_POINT_LEN)) != CV_OK ||
		    (rc = cv_js_only_keys(ps, item, cv_keys)) != CV_OK ||
		    (rc = cv_js_get_hex(ps, item, "c", t->proof_c[k], CV_SCALAR_LEN)) != CV_OK ||
		    (rc = cv_js_get_hex(ps, item, "v", t->proof_v[k], CV_SCALAR_LEN)) != CV_OK)
			return rc;
	}
	return CV_OK;
}

/* "secrecy": {"quorum", "trustees"}, when the genesis has the key. */
static cv_err secrecy_parse(pstate *ps, const json_object *o, cv_genesis *g)
{
	json_object *so, *arr;
	uint64_t u = 0;
	size_t n;
	cv_err rc;

	if (!json_object_object_get_ex(o, "secrecy", NULL))
		return CV_OK;
	if ((rc = cv_js_get_field(ps, o, "secrecy", json_type_object, &so)) != CV_OK)
		return rc;
	ps->item = "secrecy";
	ps->item_index = -1;
	if ((rc = cv_js_only_keys(ps, so, secrecy_keys)) != CV_OK ||
	    (rc = cv_js_get_u64(ps, so, "quorum", UINT8_MAX, &u)) != CV_OK ||
	    (rc = get_array_max(ps, so, "trustees", UINT8_MAX, &arr, &n)) != CV_OK)
		return rc;
	if ((g->secrecy = calloc(1, sizeof(*g->secrecy))) == NULL ||
	    (g->secrecy->trustees = alloc_items(n, sizeof(cv_trustee))) == NULL)
		return CV_E_NOMEM;
	g->secrecy->quorum = (uint8_t)u;
	g->secrecy->n_trustees = n;
	ps->item = "trustee";
	for (size_t i = 0; i < n; i++) {
		ps->item_index = (int64_t)i;
		rc = trustee_parse(ps, json_object_array_get_idx(arr, i), &g->secrecy->trustees[i]);
		if (rc != CV_OK)
			return rc;
	}
	ps->item = NULL;
	return CV_OK;
}

/* A stated txid: compared with the computed one; an auditor hears of a mismatch. */
static cv_err stated_txid(pstate *ps, const json_object *o, const uint8_t txid[CV_HASH_LEN])
{
	uint8_t stated[CV_HASH_LEN];
	cv_err rc;

	if (!json_object_object_get_ex(o, "txid", NULL))
		return CV_OK;
	if ((rc = cv_js_get_hex(ps, o, "txid", stated, CV_HASH_LEN)) != CV_OK)
		return rc;
	if (memcmp(stated, txid, CV_HASH_LEN) != 0) {
		if (ps == NULL || ps->bad_txid == NULL)
			return CV_E_BAD_HASH;
		ps->bad_txid(ps->ctx, (size_t)ps->block, (size_t)ps->item_index);
	}
	return CV_OK;
}

static cv_err vote_parse(pstate *ps, const json_object *o, cv_vote *v);

/* An item of a secret block's "votes": a ballot, or an open vote kept to be refused. */
static cv_err ballot_parse(pstate *ps, const json_object *o, cv_ballot *b)
{
	json_object *carr, *parr, *sp, *item;
	uint8_t txid[CV_HASH_LEN];
	size_t nc, np;
	cv_err rc;

	memset(b, 0, sizeof(*b));
	if (json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "candidate_id", NULL)) {
		cv_vote v;

		if ((rc = vote_parse(ps, o, &v)) != CV_OK)
			return rc;
		b->is_vote = true;
		memcpy(b->election_id, v.election_id, CV_HASH_LEN);
		memcpy(b->voter_key, v.voter_key, CV_KEY_LEN);
		b->timestamp = v.timestamp;
		b->vote_candidate = v.candidate_id;
		memcpy(b->signature, v.signature, CV_SIG_LEN);
		return CV_OK;
	}
	if ((rc = cv_js_only_keys(ps, o, ballot_keys)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "election_id", b->election_id, CV_HASH_LEN)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "voter_key", b->voter_key, CV_KEY_LEN)) != CV_OK ||
	    (rc = cv_js_get_u64(ps, o, "timestamp", UINT64_MAX, &b->timestamp)) != CV_OK ||
	    (rc = get_array_max(ps, o, "ciphertexts", CV_MAX_K, &carr, &nc)) != CV_OK ||
	    (rc = get_array_max(ps, o, "proofs", CV_MAX_K, &parr, &np)) != CV_OK ||
	    (rc = cv_js_get_field(ps, o, "sum_proof", json_type_object, &sp)) != CV_OK ||
	    (rc = cv_js_only_keys(ps, sp, cv_keys)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, sp, "c", b->sum_c, CV_SCALAR_LEN)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, sp, "v", b->sum_v, CV_SCALAR_LEN)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "signature", b->signature, CV_SIG_LEN)) != CV_OK)
		return rc;
	if (nc != np)
		return cv_js_fail(ps, "proofs", "%zu proofs for %zu ciphertexts", np, nc);
	if ((rc = cv_ballot_alloc(b, nc)) != CV_OK)
		return rc;
	for (size_t i = 0; i < nc; i++) {
		item = json_object_array_get_idx(carr, i);
		if ((rc = cv_js_only_keys(ps, item, ciphertext_keys)) != CV_OK ||
		    (rc = cv_js_get_hex(ps, item, "a", b->cts[i].a, CV_POINT_LEN)) != CV_OK ||
		    (rc = cv_js_get_hex(ps, item, "b", b->cts[i].b, CV_POINT_LEN)) != CV_OK)
			return rc;
		item = json_object_array_get_idx(parr, i);
		if ((rc = cv_js_only_keys(ps, item, ballot_proof_keys)) != CV_OK ||
		    (rc = cv_js_get_hex(ps, item, "c0", b->proofs[i].c0, CV_SCALAR_LEN)) != CV_OK ||
		    (rc = cv_js_get_hex(ps, item, "v0", b->proofs[i].v0, CV_SCALAR_LEN)) != CV_OK ||
		    (rc = cv_js_get_hex(ps, item, "c1", b->proofs[i].c1, CV_SCALAR_LEN)) != CV_OK ||
		    (rc = cv_js_get_hex(ps, item, "v1", b->proofs[i].v1, CV_SCALAR_LEN)) != CV_OK)
			return rc;
	}
	if ((rc = cv_ballot_txid(b, txid)) != CV_OK)
		return rc;
	return stated_txid(ps, o, txid);
}

static cv_err decryption_parse(pstate *ps, const json_object *o, cv_decryption *d)
{
	json_object *arr, *item;
	uint8_t txid[CV_HASH_LEN];
	size_t n;
	cv_err rc;

	memset(d, 0, sizeof(*d));
	if ((rc = cv_js_only_keys(ps, o, decryption_keys)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "election_id", d->election_id, CV_HASH_LEN)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "validator_key", d->validator_key, CV_KEY_LEN)) != CV_OK ||
	    (rc = cv_js_get_u64(ps, o, "through_height", UINT64_MAX, &d->through_height)) !=
	        CV_OK ||
	    (rc = get_array_max(ps, o, "shares", CV_MAX_K, &arr, &n)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "signature", d->signature, CV_SIG_LEN)) != CV_OK)
		return rc;
	if ((rc = cv_decryption_alloc(d, n)) != CV_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		item = json_object_array_get_idx(arr, i);
		if ((rc = cv_js_only_keys(ps, item, share_keys)) != CV_OK ||
		    (rc = cv_js_get_hex(ps, item, "d", d->shares[i].d, CV_POINT_LEN)) != CV_OK ||
		    (rc = cv_js_get_hex(ps, item, "c", d->shares[i].c, CV_SCALAR_LEN)) != CV_OK ||
		    (rc = cv_js_get_hex(ps, item, "v", d->shares[i].v, CV_SCALAR_LEN)) != CV_OK)
			return rc;
	}
	if ((rc = cv_decryption_txid(d, txid)) != CV_OK)
		return rc;
	return stated_txid(ps, o, txid);
}

cv_err cv_trustee_from_json(const json_object *o, cv_trustee *t)
{
	cv_err rc;

	memset(t, 0, sizeof *t);
	if (!json_object_is_type(o, json_type_object))
		return CV_E_MALFORMED;
	rc = trustee_parse(NULL, o, t);
	if (rc != CV_OK)
		cv_trustee_free(t);
	return rc;
}

cv_err cv_ballot_from_json(const json_object *o, cv_ballot *b)
{
	cv_err rc = ballot_parse(NULL, o, b);

	if (rc != CV_OK)
		cv_ballot_free(b);
	return rc;
}

cv_err cv_decryption_from_json(const json_object *o, cv_decryption *d)
{
	cv_err rc = decryption_parse(NULL, o, d);

	if (rc != CV_OK)
		cv_decryption_free(d);
	return rc;
}

/* A secret block's "votes" (ballots) and "decryptions". */
static cv_err secret_items_parse(pstate *ps, const json_object *o, cv_block *b)
{
	json_object *arr;
	size_t n;
	cv_err rc;

	b->secret = true;
	if ((rc = get_array(ps, o, "votes", &arr, &n)) != CV_OK)
		return rc;
	if ((b->ballots = alloc_items(n, sizeof(*b->ballots))) == NULL)
		return CV_E_NOMEM;
	ps->item = "ballot";
	for (size_t i = 0; i < n; i++) {
		ps->item_index = (int64_t)i;
		b->n_ballots = i + 1; /* so that a failed item is freed with the block */
		rc = ballot_parse(ps, json_object_array_get_idx(arr, i), &b->ballots[i]);
		if (rc != CV_OK)
			return rc;
	}
	ps->item = NULL;
	if ((rc = get_array(ps, o, "decryptions", &arr, &n)) != CV_OK)
		return rc;
	if ((b->decryptions = alloc_items(n, sizeof(*b->decryptions))) == NULL)
		return CV_E_NOMEM;
	ps->item = "decryption";
	for (size_t i = 0; i < n; i++) {
		ps->item_index = (int64_t)i;
		b->n_decryptions = i + 1;
		rc = decryption_parse(ps, json_object_array_get_idx(arr, i), &b->decryptions[i]);
		if (rc != CV_OK)
			return rc;
	}
	ps->item = NULL;
	return CV_OK;
}

static cv_err election_parse(pstate *ps, const json_object *o, cv_election *e)
{
	json_object *eo;
	uint64_t u = 0;
	cv_err rc;

	if ((rc = cv_js_get_field(ps, o, "election", json_type_object, &eo)) != CV_OK)
		return rc;
	ps->item = "election";
	ps->item_index = -1;
	if ((rc = cv_js_only_keys(ps, eo, election_keys)) != CV_OK ||
	    (rc = cv_js_get_text(ps, eo, "title", e->title)) != CV_OK ||
	    (rc = cv_js_get_u64(ps, eo, "threshold", UINT8_MAX, &u)) != CV_OK)
		return rc;
	e->threshold = (uint8_t)u;
	if ((rc = cv_js_get_u64(ps, eo, "difficulty", UINT8_MAX, &u)) != CV_OK)
		return rc;
	e->difficulty = (uint8_t)u;
	if ((rc = cv_js_get_u64(ps, eo, "max_block_votes", UINT32_MAX, &u)) != CV_OK)
		return rc;
	e->max_block_votes = (uint32_t)u;
	if ((rc = cv_js_get_u64(ps, eo, "opens", UINT64_MAX, &e->opens)) != CV_OK ||
	    (rc = cv_js_get_u64(ps, eo, "closes", UINT64_MAX, &e->closes)) != CV_OK)
		return rc;
	ps->item = NULL;
	return CV_OK;
}

/* The genesis content of a height-0 block, in the order given (the rules check it). */
/* One key of the roll: a string of exactly 130 lowercase hex digits. */
cv_err cv_js_voter_parse(pstate *ps, json_object *item, uint8_t key[CV_KEY_LEN])
{
	if (!json_object_is_type(item, json_type_string))
		return cv_js_fail(ps, NULL, "not a string");
	if ((size_t)json_object_get_string_len(item) != 2 * CV_KEY_LEN ||
	    cv_hex_decode(json_object_get_string(item), key, CV_KEY_LEN) != CV_OK)
		return cv_js_fail(ps, NULL, "not %d bytes of lowercase hex", CV_KEY_LEN);
	return CV_OK;
}

static cv_err genesis_parse(pstate *ps, const json_object *o, cv_genesis *g)
{
	json_object *arr, *item;
	uint64_t u = 0;
	size_t n;
	cv_err rc;

	if ((rc = election_parse(ps, o, &g->election)) != CV_OK)
		return rc;

	if ((rc = get_array(ps, o, "candidates", &arr, &n)) != CV_OK)
		return rc;
	if ((g->candidates = alloc_items(n, sizeof(*g->candidates))) == NULL)
		return CV_E_NOMEM;
	g->n_candidates = n;
	ps->item = "candidate";
	for (size_t i = 0; i < n; i++) {
		ps->item_index = (int64_t)i;
		item = json_object_array_get_idx(arr, i);
		if ((rc = cv_js_only_keys(ps, item, candidate_keys)) != CV_OK ||
		    (rc = cv_js_get_u64(ps, item, "id", UINT32_MAX, &u)) != CV_OK ||
		    (rc = cv_js_get_text(ps, item, "name", g->candidates[i].name)) != CV_OK)
			return rc;
		g->candidates[i].id = (uint32_t)u;
	}

	ps->item = NULL;
	if ((rc = get_array(ps, o, "validators", &arr, &n)) != CV_OK)
		return rc;
	if ((g->validators = alloc_items(n, sizeof(*g->validators))) == NULL)
		return CV_E_NOMEM;
	g->n_validators = n;
	ps->item = "validator";
	for (size_t i = 0; i < n; i++) {
		ps->item_index = (int64_t)i;
		item = json_object_array_get_idx(arr, i);
		if ((rc = cv_js_only_keys(ps, item, validator_keys)) != CV_OK ||
		    (rc = cv_js_get_hex(ps, item, "key", g->validators[i].key, CV_KEY_LEN)) !=
		        CV_OK ||
		    (rc = cv_js_get_text(ps, item, "name", g->validators[i].name)) != CV_OK)
			return rc;
	}

	ps->item = NULL;
	if ((rc = secrecy_parse(ps, o, g)) != CV_OK)
		return rc;
	if ((rc = get_array(ps, o, "voters", &arr, &n)) != CV_OK)
		return rc;
	if ((g->voters = alloc_items(n, sizeof(*g->voters))) == NULL)
		return CV_E_NOMEM;
	g->n_voters = n;
	ps->item = "voter";
	for (size_t i = 0; i < n; i++) {
		ps->item_index = (int64_t)i;
		if ((rc = cv_js_voter_parse(ps, json_object_array_get_idx(arr, i), g->voters[i])) !=
		    CV_OK)
			return rc;
	}
	ps->item = NULL;
	return CV_OK;
}

/* ---- changes (docs/GOVERNANCE.md) ---- */

static const char *const change_closes_keys[] = {"election_id", "effective_height", "kind",
                                                 "closes",      "signatures",       NULL};
static const char *const change_key_keys[] = {"election_id", "effective_height", "kind", "old_key",
                                              "new_key",     "signatures",       NULL};
static const char *const change_difficulty_keys[] = {"election_id", "effective_height", "kind",
                                                     "difficulty",  "signatures",       NULL};

/* {"election_id", "effective_height", "kind", the kind's fields, "signatures"}. On failure
 * *c is left zeroed (nothing to free). */
static cv_err change_parse(pstate *ps, const json_object *o, cv_change *c)
{
	const char *const *keys;
	json_object *val, *arr;
	uint64_t u = 0;
	size_t n = 0;
	cv_err rc;

	memset(c, 0, sizeof(*c));
	if ((rc = cv_js_get_field(ps, o, "kind", json_type_string, &val)) != CV_OK)
		return rc;
	c->kind = cv_change_kind_of(json_object_get_string(val));
	keys = c->kind == CV_CHANGE_CLOSES          ? change_closes_keys
	       : c->kind == CV_CHANGE_VALIDATOR_KEY ? change_key_keys
	       : c->kind == CV_CHANGE_DIFFICULTY    ? change_difficulty_keys
	                                            : NULL;
	if (keys == NULL)
		return cv_js_fail(ps, "kind", "not closes, validator_key or difficulty");
	if ((rc = cv_js_only_keys(ps, o, keys)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "election_id", c->election_id, CV_HASH_LEN)) != CV_OK ||
	    (rc = cv_js_get_u64(ps, o, "effective_height", UINT64_MAX, &c->effective_height)) !=
	        CV_OK)
		goto err;
	if (c->kind == CV_CHANGE_CLOSES)
		rc = cv_js_get_u64(ps, o, "closes", UINT64_MAX, &c->closes);
	else if (c->kind == CV_CHANGE_VALIDATOR_KEY &&
	         (rc = cv_js_get_hex(ps, o, "old_key", c->old_key, CV_KEY_LEN)) == CV_OK)
		rc = cv_js_get_hex(ps, o, "new_key", c->new_key, CV_KEY_LEN);
	else if (c->kind == CV_CHANGE_DIFFICULTY &&
	         (rc = cv_js_get_u64(ps, o, "difficulty", UINT8_MAX, &u)) == CV_OK)
		c->difficulty = (uint8_t)u;
	if (rc != CV_OK ||
	    (rc = get_array_max(ps, o, "signatures", CV_CHANGE_MAX_SIGNATURES, &arr, &n)) != CV_OK)
		goto err;
	if ((c->signatures = alloc_items(n, sizeof(*c->signatures))) == NULL) {
		rc = CV_E_NOMEM;
		goto err;
	}
	c->n_signatures = n;
	for (size_t i = 0; i < n; i++)
		if ((rc = approval_parse(ps, json_object_array_get_idx(arr, i),
		                         &c->signatures[i])) != CV_OK)
			goto err;
	return CV_OK;
err:
	cv_change_free(c);
	return rc;
}

cv_err cv_change_from_json(const json_object *o, cv_change *c)
{
	return change_parse(NULL, o, c);
}

/* "change": {...}, when the block has the key. */
static cv_err block_change_parse(pstate *ps, const json_object *o, cv_block *b)
{
	json_object *co;
	cv_err rc;

	if (!json_object_object_get_ex(o, "change", NULL))
		return CV_OK;
	if ((rc = cv_js_get_field(ps, o, "change", json_type_object, &co)) != CV_OK)
		return rc;
	if ((b->change = calloc(1, sizeof(*b->change))) == NULL)
		return CV_E_NOMEM;
	ps->item = "change";
	ps->item_index = 0;
	rc = change_parse(ps, co, b->change);
	ps->item = NULL;
	return rc;
}

cv_err cv_js_block_parse(pstate *ps, const json_object *o, cv_block *b)
{
	json_object *arr, *val;
	cv_header *h = &b->header;
	uint64_t u = 0;
	size_t n;
	cv_err rc;

	memset(b, 0, sizeof(*b));
	ps->item = NULL;
	if (!json_object_is_type(o, json_type_object)) {
		rc = cv_js_fail(ps, NULL, "not an object");
		goto err;
	}
	/* the height decides which of the two forms the block must have */
	if ((rc = cv_js_get_u64(ps, o, "height", UINT64_MAX, &h->height)) != CV_OK ||
	    (rc = cv_js_only_keys(ps, o, h->height == 0 ? genesis_keys : block_keys)) != CV_OK ||
	    (rc = cv_js_get_u64(ps, o, "version", UINT32_MAX, &u)) != CV_OK)
		goto err;
	h->version = (uint32_t)u;
	if ((rc = cv_js_get_hex(ps, o, "hash", b->hash, CV_HASH_LEN)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "prev_hash", h->prev_hash, CV_HASH_LEN)) != CV_OK ||
	    (rc = cv_js_get_hex(ps, o, "merkle_root", h->merkle_root, CV_HASH_LEN)) != CV_OK ||
	    (rc = cv_js_get_u64(ps, o, "timestamp", UINT64_MAX, &h->timestamp)) != CV_OK ||
	    (rc = cv_js_get_u64(ps, o, "difficulty", UINT32_MAX, &u)) != CV_OK)
		goto err;
	h->difficulty = (uint32_t)u;
	if ((rc = cv_js_get_u64(ps, o, "nonce", CV_NONCE_LIMIT - 1, &h->nonce)) != CV_OK)
		goto err;

	if (h->height == 0) {
		if ((b->genesis = calloc(1, sizeof(*b->genesis))) == NULL) {
			rc = CV_E_NOMEM;
			goto err;
		}
		if ((rc = genesis_parse(ps, o, b->genesis)) != CV_OK)
			goto err;
		return CV_OK;
	}

	/* a secret election's blocks have "decryptions" (section 6.1); their "votes" are
	 * ballots */
	if (json_object_object_get_ex(o, "decryptions", NULL)) {
		if ((rc = secret_items_parse(ps, o, b)) != CV_OK)
			goto err;
	} else {
		if ((rc = get_array(ps, o, "votes", &arr, &n)) != CV_OK)
			goto err;
		if ((b->votes = alloc_items(n, sizeof(*b->votes))) == NULL) {
			rc = CV_E_NOMEM;
			goto err;
		}
		b->n_votes = n;
		ps->item = "vote";
		for (size_t i = 0; i < n; i++) {
			ps->item_index = (int64_t)i;
			rc = vote_parse(ps, json_object_array_get_idx(arr, i), &b->votes[i]);
			if (rc != CV_OK)
				goto err;
		}
	}
	ps->item = NULL;
	if ((rc = seal_parse(ps, o, b)) != CV_OK || (rc = block_change_parse(ps, o, b)) != CV_OK)
		goto err;

	n = 0;
	if (json_object_object_get_ex(o, "approvals", &val) &&
	    (rc = get_array(ps, o, "approvals", &arr, &n)) != CV_OK)
		goto err;
	if ((b->approvals = alloc_items(n, sizeof(*b->approvals))) == NULL) {
		rc = CV_E_NOMEM;
		goto err;
	}
	b->n_approvals = n;
	ps->item = "approval";
	for (size_t i = 0; i < n; i++) {
		ps->item_index = (int64_t)i;
		rc = approval_parse(ps, json_object_array_get_idx(arr, i), &b->approvals[i]);
		if (rc != CV_OK)
			goto err;
	}
	ps->item = NULL;
	return CV_OK;
err:
	cv_block_free(b);
	memset(b, 0, sizeof(*b));
	return rc;
}

cv_err cv_block_from_json(const json_object *o, cv_block *b)
{
	pstate ps = {.block = -1, .item_index = -1};

	return cv_js_block_parse(&ps, o, b);
}

cv_err cv_chain_from_json_audit(const json_object *o, cv_chain *c, cv_json_txid_fn bad_txid,
                                void *ctx, char *why, size_t why_len)
{
	pstate ps = {.why = why,
	             .why_len = why_len,
	             .block = -1,
	             .item_index = -1,
	             .bad_txid = bad_txid,
	             .ctx = ctx};
	json_object *arr, *val;
	size_t n;
	cv_err rc;

	memset(c, 0, sizeof(*c));
	if (why != NULL && why_len > 0)
		why[0] = '\0';
	if ((rc = cv_js_get_field(&ps, o, "format", json_type_string, &val)) != CV_OK)
		return rc;
	if (strcmp(json_object_get_string(val), "chainvote-chain/1") != 0)
		return cv_js_fail(&ps, "format", "not \"chainvote-chain/1\"");
	if ((rc = get_array(&ps, o, "blocks", &arr, &n)) != CV_OK)
		return rc;
	if ((c->blocks = alloc_items(n, sizeof(*c->blocks))) == NULL)
		return CV_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		ps.block = (int64_t)i;
		if ((rc = cv_js_block_parse(&ps, json_object_array_get_idx(arr, i),
		                            &c->blocks[i])) != CV_OK)
			goto err;
		c->n_blocks = i + 1;
	}
	return CV_OK;
err:
	cv_chain_free(c);
	memset(c, 0, sizeof(*c));
	return rc;
}

cv_err cv_chain_from_json(const json_object *o, cv_chain *c)
{
	return cv_chain_from_json_audit(o, c, NULL, NULL, NULL, 0);
}
