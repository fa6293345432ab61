/* The service's JSON shapes of making a block (see api.h): the work template a miner
 * reads, the proposals a validator lists and judges, the answer to an approval. */
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* ---- GET /api/work ---- */

json_object *cv_api_work_json(const cv_block *b)
{
	json_object *o = json_object_new_object(), *votes = json_object_new_array();

	json_object *shares = NULL;

	if (o == NULL || votes == NULL)
		goto fail;
	for (size_t i = 0; i < b->n_votes + b->n_ballots; i++) {
		json_object *v = i < b->n_votes
		                     ? cv_vote_to_json(&b->votes[i], true)
		                     : cv_ballot_to_json(&b->ballots[i - b->n_votes], true);

		if (v == NULL || json_object_array_add(votes, v) != 0) {
			json_object_put(v);
			goto fail;
		}
	}
	/* a secret election's template, as its blocks (6.1): ballots in "votes", shares in
	 * "decryptions" */
	if (b->secret) {
		if ((shares = json_object_new_array()) == NULL)
			goto fail;
		for (size_t i = 0; i < b->n_decryptions; i++) {
			json_object *d = cv_decryption_to_json(&b->decryptions[i], true);

			if (d == NULL || json_object_array_add(shares, d) != 0) {
				json_object_put(d);
				goto fail;
			}
		}
	}
	json_object_object_add(o, "version", json_object_new_uint64(b->header.version));
	json_object_object_add(o, "height", json_object_new_uint64(b->header.height));
	cv_json_add_hex(o, "prev_hash", b->header.prev_hash, CV_HASH_LEN);
	json_object_object_add(o, "difficulty", json_object_new_uint64(b->header.difficulty));
	json_object_object_add(o, "timestamp", json_object_new_uint64(b->header.timestamp));
	cv_json_add_hex(o, "merkle_root", b->header.merkle_root, CV_HASH_LEN);
	json_object_object_add(o, "nonce", json_object_new_uint64(0));
	json_object_object_add(o, "votes", votes);
	if (shares != NULL)
		json_object_object_add(o, "decryptions", shares);
	cv_seal_add_json(o, b);
	if (b->change != NULL)
		json_object_object_add(o, "change", cv_change_to_json(b->change));
	return o;
fail:
	json_object_put(o);
	json_object_put(votes);
	json_object_put(shares);
	return NULL;
}

/* A secret election's template: ballots in "votes", shares in "decryptions". */
static cv_err work_read_secret(const json_object *o, json_object *votes, cv_block *b,
                               size_t *bad_vote)
{
	json_object *shares;
	size_t n = json_object_array_length(votes), m;
	cv_err e = CV_OK;

	b->secret = true;
	if (cv_json_get_array(o, "decryptions", &shares) != CV_OK ||
	    (b->has_seal && json_object_array_length(shares) != 0))
		e = CV_E_MALFORMED;
	m = e == CV_OK ? json_object_array_length(shares) : 0;
	if (e == CV_OK && ((n && (b->ballots = calloc(n, sizeof *b->ballots)) == NULL) ||
	                   (m && (b->decryptions = calloc(m, sizeof *b->decryptions)) == NULL)))
		e = CV_E_NOMEM;
	for (size_t i = 0; e == CV_OK && i < n; i++) {
		e = cv_ballot_from_json(json_object_array_get_idx(votes, i), &b->ballots[i]);
		if (e == CV_OK)
			b->n_ballots = i + 1;
		else if (bad_vote != NULL)
			*bad_vote = i;
	}
	for (size_t i = 0; e == CV_OK && i < m; i++) {
		e = cv_decryption_from_json(json_object_array_get_idx(shares, i),
		                            &b->decryptions[i]);
		if (e == CV_OK)
			b->n_decryptions = i + 1;
		else if (bad_vote != NULL)
			*bad_vote = n + i;
	}
	if (e != CV_OK) {
		cv_block_free(b);
		memset(b, 0, sizeof *b);
	}
	return e;
}

cv_err cv_api_work_read(const json_object *o, cv_block *b, size_t *bad_vote)
{
	json_object *votes, *change;
	uint64_t version, height, difficulty, timestamp;
	size_t n;

	memset(b, 0, sizeof *b);
	if (bad_vote != NULL)
		*bad_vote = SIZE_MAX;
	if (!json_object_is_type(o, json_type_object) ||
	    cv_json_get_u64(o, "version", UINT32_MAX, &version) != CV_OK ||
	    cv_json_get_u64(o, "height", UINT64_MAX, &height) != CV_OK ||
	    cv_json_get_hex(o, "prev_hash", b->header.prev_hash, CV_HASH_LEN) != CV_OK ||
	    cv_json_get_u64(o, "difficulty", 256, &difficulty) != CV_OK ||
	    cv_json_get_u64(o, "timestamp", UINT64_MAX, &timestamp) != CV_OK ||
	    cv_json_get_hex(o, "merkle_root", b->header.merkle_root, CV_HASH_LEN) != CV_OK ||
	    cv_json_get_array(o, "votes", &votes) != CV_OK) {
		memset(b, 0, sizeof *b);
		return CV_E_MALFORMED;
	}
	if (version != CV_VERSION || height == 0) {
		memset(b, 0, sizeof *b);
		return version != CV_VERSION ? CV_E_BAD_VERSION : CV_E_BAD_HEIGHT;
	}
	b->header.version = (uint32_t)version;
	b->header.height = height;
	b->header.difficulty = (uint32_t)difficulty;
	b->header.timestamp = timestamp;
	b->header.nonce = 0;
	n = json_object_array_length(votes);
	if (cv_seal_from_json(o, b) != CV_OK || (b->has_seal && n != 0)) {
		memset(b, 0, sizeof *b);
		return CV_E_MALFORMED;
	}
	/* a change block's template: the change leaf alone (docs/GOVERNANCE.md) */
	if (json_object_object_get_ex(o, "change", &change)) {
		if (n != 0 || b->has_seal || (b->change = calloc(1, sizeof *b->change)) == NULL ||
		    cv_change_from_json(change, b->change) != CV_OK) {
			free(b->change);
			memset(b, 0, sizeof *b);
			return CV_E_MALFORMED;
		}
		b->secret = json_object_object_get_ex(o, "decryptions", NULL);
		return CV_OK;
	}
	if (json_object_object_get_ex(o, "decryptions", NULL))
		return work_read_secret(o, votes, b, bad_vote);
	if (n == 0)
		return CV_OK;
	if ((b->votes = calloc(n, sizeof *b->votes)) == NULL) {
		memset(b, 0, sizeof *b);
		return CV_E_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		cv_err e = cv_vote_from_json(json_object_array_get_idx(votes, i), &b->votes[i]);

		if (e != CV_OK) {
			if (bad_vote != NULL)
				*bad_vote = i;
			cv_block_free(b);
			memset(b, 0, sizeof *b);
			return e;
		}
		b->n_votes = i + 1;
	}
	return CV_OK;
}

/* ---- GET /api/proposals ---- */

static json_object *summary_json(const cv_proposal_summary *p)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	cv_json_add_hex(o, "hash", p->hash, CV_HASH_LEN);
	json_object_object_add(o, "height", json_object_new_uint64(p->height));
	json_object_object_add(o, "n_votes", json_object_new_uint64(p->n_votes));
	json_object_object_add(o, "verdict",
	                       json_object_new_string(cv_err_code(p->checks.verdict)));
	json_object_object_add(o, "n_approvals", json_object_new_uint64(p->n_approvals));
	json_object_object_add(o, "n_rejections", json_object_new_uint64(p->n_rejections));
	json_object_object_add(o, "received_at", json_object_new_uint64(p->received_at));
	return o;
}

json_object *cv_api_proposal_list_json(uint64_t height, unsigned threshold,
                                       const cv_proposal_summary *items, size_t n)
{
	json_object *o = json_object_new_object(), *list = json_object_new_array();

	if (o == NULL || list == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		json_object *p = summary_json(&items[i]);

		if (p == NULL || json_object_array_add(list, p) != 0) {
			json_object_put(p);
			goto fail;
		}
	}
	json_object_object_add(o, "height", json_object_new_uint64(height));
	json_object_object_add(o, "threshold", json_object_new_uint64(threshold));
	json_object_object_add(o, "limit", json_object_new_uint64(CV_PROPOSALS_PER_HEIGHT));
	json_object_object_add(o, "proposals", list);
	return o;
fail:
	json_object_put(o);
	json_object_put(list);
	return NULL;
}

/* The cv_err whose code is the string at key, or CV_E_MALFORMED. */
static cv_err get_code(const json_object *o, const char *key, cv_err *out)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return CV_E_MALFORMED;
	s = json_object_get_string(v);
	for (int e = CV_OK; e < CV_E__COUNT; e++)
		if (strcmp(cv_err_code((cv_err)e), s) == 0) {
			*out = (cv_err)e;
			return CV_OK;
		}
	return CV_E_MALFORMED;
}

cv_err cv_api_proposal_list_read(const json_object *o, cv_api_proposal_list *out)
{
	json_object *list;
	cv_err e = CV_E_MALFORMED;

	memset(out, 0, sizeof *out);
	if (!json_object_is_type(o, json_type_object) ||
	    cv_json_get_u64(o, "height", UINT64_MAX, &out->height) != CV_OK ||
	    cv_json_get_u64(o, "threshold", 255, &out->threshold) != CV_OK ||
	    cv_json_get_array(o, "proposals", &list) != CV_OK)
		return CV_E_MALFORMED;
	out->n = json_object_array_length(list);
	if (out->n > CV_PROPOSALS_PER_HEIGHT) {
		out->n = 0;
		return CV_E_TOO_LARGE;
	}
	if ((out->items = calloc(out->n ? out->n : 1, sizeof *out->items)) == NULL) {
		out->n = 0;
		return CV_E_NOMEM;
	}
	for (size_t i = 0; i < out->n; i++) {
		const json_object *p = json_object_array_get_idx(list, i);
		cv_proposal_summary *s = &out->items[i];
		uint64_t n_votes, n_approvals, n_rejections;

		if (!json_object_is_type(p, json_type_object) ||
		    cv_json_get_hex(p, "hash", s->hash, CV_HASH_LEN) != CV_OK ||
		    cv_json_get_u64(p, "height", UINT64_MAX, &s->height) != CV_OK ||
		    cv_json_get_u64(p, "n_votes", UINT32_MAX, &n_votes) != CV_OK ||
		    get_code(p, "verdict", &s->checks.verdict) != CV_OK ||
		    cv_json_get_u64(p, "n_approvals", UINT32_MAX, &n_approvals) != CV_OK ||
		    cv_json_get_u64(p, "n_rejections", UINT32_MAX, &n_rejections) != CV_OK ||
		    cv_json_get_u64(p, "received_at", UINT64_MAX, &s->received_at) != CV_OK)
			goto fail;
		s->n_votes = (uint32_t)n_votes;
		s->n_approvals = n_approvals;
		s->n_rejections = n_rejections;
		s->checks.failed = CV_CHECK__COUNT;
		s->checks.vote = SIZE_MAX;
	}
	return CV_OK;
fail:
	cv_api_proposal_list_free(out);
	return e;
}

void cv_api_proposal_list_free(cv_api_proposal_list *l)
{
	if (l == NULL)
		return;
	free(l->items);
	memset(l, 0, sizeof *l);
}

/* ---- GET /api/proposals/{hash} ---- */

/* true, false, or null (not judged) */
static json_object *tristate(int v)
{
	return v < 0 ? NULL : json_object_new_boolean(v);
}

/* Each check as the rules reported it at admission, by its name. */
static json_object *checks_json(const cv_proposal *p)
{
	const cv_checks *k = &p->checks;
	const cv_block *b = &p->block;
	json_object *o = json_object_new_object(), *votes, *rules;

	if (o == NULL)
		return NULL;
	for (int c = 0; c < CV_CHECK_VOTES; c++)
		json_object_object_add(o, cv_check_name((cv_check)c),
		                       tristate(cv_checks_result(k, (cv_check)c)));
	json_object_object_add(o, "leading_zero_bits",
	                       json_object_new_uint64(k->leading_zero_bits));
	if ((votes = json_object_new_array()) == NULL)
		goto fail;
	json_object_object_add(o, "votes", votes);
	for (size_t i = 0; i < b->n_votes; i++) {
		json_object *v = json_object_new_object();
		uint8_t txid[CV_HASH_LEN];
		const char *result = NULL;

		if (v == NULL || json_object_array_add(votes, v) != 0) {
			json_object_put(v);
			goto fail;
		}
		if (k->verdict == CV_OK)
			result = cv_err_code(CV_OK);
		else if (k->failed == CV_CHECK_VOTES && k->vote == i)
			result = cv_err_code(k->verdict);
		cv_vote_txid(&b->votes[i], txid);
		cv_json_add_hex(v, "txid", txid, CV_HASH_LEN);
		json_object_object_add(v, "result", result ? json_object_new_string(result) : NULL);
	}
	if ((rules = json_object_new_object()) == NULL)
		goto fail;
	json_object_object_add(o, "rules", rules);
	json_object_object_add(rules, "ok", json_object_new_boolean(k->verdict == CV_OK));
	json_object_object_add(rules, "code", json_object_new_string(cv_err_code(k->verdict)));
	json_object_object_add(rules, "message",
	                       json_object_new_string(cv_err_message(k->verdict)));
	json_object_object_add(
	    rules, "check",
	    k->verdict == CV_OK ? NULL : json_object_new_string(cv_check_name(k->failed)));
	json_object_object_add(rules, "vote",
	                       k->vote == SIZE_MAX ? NULL : json_object_new_uint64(k->vote));
	return o;
fail:
	json_object_put(o);
	return NULL;
}

/* A recorded verdict; its signature was checked when it was recorded. */
static json_object *verdict_json(const cv_genesis *g, const cv_verdict *v)
{
	const cv_validator *val = cv_genesis_validator(g, v->sig.validator_key);
	json_object *o = cv_approval_to_json(&v->sig);

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "name", val ? json_object_new_string(val->name) : NULL);
	if (!v->approve)
		json_object_object_add(o, "reason", json_object_new_string(v->reason));
	json_object_object_add(o, "at", json_object_new_uint64(v->at));
	return o;
}

json_object *cv_api_proposal_json(const cv_genesis *g, const cv_proposal *p)
{
	json_object *o = json_object_new_object(), *part, *approvals, *rejections;
	size_t n_approvals = 0;

	/* each part is added to o as soon as it exists, so o alone is put on failure */
	if (o == NULL)
		return NULL;
	if ((part = cv_block_to_json(&p->block)) == NULL)
		goto fail;
	json_object_object_add(o, "block", part);
	json_object_object_add(o, "received_at", json_object_new_uint64(p->received_at));
	json_object_object_add(o, "verdict",
	                       json_object_new_string(cv_err_code(p->checks.verdict)));
	if ((part = checks_json(p)) == NULL)
		goto fail;
	json_object_object_add(o, "checks", part);
	if ((approvals = json_object_new_array()) == NULL)
		goto fail;
	json_object_object_add(o, "approvals", approvals);
	if ((rejections = json_object_new_array()) == NULL)
		goto fail;
	json_object_object_add(o, "rejections", rejections);
	for (size_t i = 0; i < p->n_verdicts; i++) {
		const cv_verdict *v = &p->verdicts[i];
		json_object *item = verdict_json(g, v);

		if (item == NULL ||
		    json_object_array_add(v->approve ? approvals : rejections, item)) {
			json_object_put(item);
			goto fail;
		}
		n_approvals += v->approve;
	}
	json_object_object_add(o, "n_approvals", json_object_new_uint64(n_approvals));
	json_object_object_add(o, "n_rejections",
	                       json_object_new_uint64(p->n_verdicts - n_approvals));
	json_object_object_add(o, "threshold", json_object_new_uint64(g->election.threshold));
	return o;
fail:
	json_object_put(o);
	return NULL;
}

cv_err cv_api_proposal_read(const json_object *o, cv_block *b, uint64_t *n_approvals,
                            uint64_t *n_rejections)
{
	json_object *block;
	cv_err e;

	memset(b, 0, sizeof *b);
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "block", &block) ||
	    cv_json_get_u64(o, "n_approvals", UINT32_MAX, n_approvals) != CV_OK ||
	    cv_json_get_u64(o, "n_rejections", UINT32_MAX, n_rejections) != CV_OK)
		return CV_E_MALFORMED;
	e = cv_block_from_json(block, b);
	return e;
}

/* ---- POST /api/proposals/{hash}/approvals ---- */

json_object *cv_api_approved_json(bool committed, uint64_t approvals, unsigned threshold)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "committed", json_object_new_boolean(committed));
	json_object_object_add(o, "approvals", json_object_new_uint64(approvals));
	json_object_object_add(o, "threshold", json_object_new_uint64(threshold));
	return o;
}

cv_err cv_api_approved_read(const json_object *o, bool *committed, uint64_t *approvals,
                            uint64_t *threshold)
{
	json_object *v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "committed", &v) ||
	    !json_object_is_type(v, json_type_boolean) ||
	    cv_json_get_u64(o, "approvals", UINT32_MAX, approvals) != CV_OK ||
	    cv_json_get_u64(o, "threshold", 255, threshold) != CV_OK)
		return CV_E_MALFORMED;
	*committed = json_object_get_boolean(v);
	return CV_OK;
}
