/* The service's own JSON shapes, built and read in one place (see api.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* ---- GET /api/election ---- */

static json_object *u64_or_null(bool present, uint64_t v)
{
	return present ? json_object_new_uint64(v) : NULL;
}

json_object *cv_election_json(const cv_info *info, const cv_genesis *g)
{
	const cv_election *el = &info->settings.election;
	bool opened = info->state != CV_STATE_SETUP;
	json_object *o = json_object_new_object(), *cands = json_object_new_array(),
	            *vals = json_object_new_array();

	if (o == NULL || cands == NULL || vals == NULL)
		goto fail;
	for (size_t i = 0; i < g->n_candidates; i++) {
		json_object *c = json_object_new_object();

		if (c == NULL || json_object_array_add(cands, c) != 0) {
			json_object_put(c);
			goto fail;
		}
		json_object_object_add(c, "id", json_object_new_uint64(g->candidates[i].id));
		json_object_object_add(c, "name", json_object_new_string(g->candidates[i].name));
	}
	for (size_t i = 0; i < g->n_validators; i++) {
		json_object *v = json_object_new_object();

		if (v == NULL || json_object_array_add(vals, v) != 0) {
			json_object_put(v);
			goto fail;
		}
		cv_json_add_hex(v, "key", g->validators[i].key, CV_KEY_LEN);
		json_object_object_add(v, "name", json_object_new_string(g->validators[i].name));
	}
	json_object_object_add(o, "title", json_object_new_string(el->title));
	json_object_object_add(o, "state", json_object_new_string(cv_state_name(info->state)));
	json_object_object_add(o, "candidates", cands);
	json_object_object_add(o, "validators", vals);
	cands = vals = NULL;
	json_object_object_add(o, "threshold", json_object_new_uint64(el->threshold));
	json_object_object_add(o, "difficulty", json_object_new_uint64(el->difficulty));
	json_object_object_add(o, "max_block_votes", json_object_new_uint64(el->max_block_votes));
	json_object_object_add(o, "opens", json_object_new_uint64(el->opens));
	json_object_object_add(o, "closes", json_object_new_uint64(el->closes));
	json_object_object_add(o, "results_after_close",
	                       json_object_new_boolean(info->settings.results_after_close));
	json_object_object_add(o, "ballots",
	                       json_object_new_string(info->settings.secret ? "secret" : "open"));
	if (info->settings.secret) {
		uint8_t setup[CV_HASH_LEN];

		/* what every trustee entry is bound to: the settings, candidates and
		 * validators as they stand (DESIGN section 6) */
		json_object_object_add(o, "quorum", json_object_new_uint64(info->settings.quorum));
		if (cv_setup_hash(g, setup) != CV_OK)
			goto fail;
		cv_json_add_hex(o, "setup_hash", setup, CV_HASH_LEN);
	}
	json_object_object_add(o, "roll_size", json_object_new_uint64(info->n_voters));
	if (opened)
		cv_json_add_hex(o, "genesis_hash", info->genesis_hash, CV_HASH_LEN);
	else
		json_object_object_add(o, "genesis_hash", NULL);
	json_object_object_add(o, "genesis_timestamp",
	                       u64_or_null(opened, info->genesis_timestamp));
	json_object_object_add(o, "closed_at",
	                       u64_or_null(info->state == CV_STATE_CLOSED, info->closed_at));
	/* final: the seal is committed, the tally can no longer change */
	json_object_object_add(o, "final", json_object_new_boolean(info->final));
	json_object_object_add(o, "archived", json_object_new_boolean(info->archived_at != 0));
	json_object_object_add(o, "seal_height", u64_or_null(info->final, info->seal_height));
	json_object_object_add(o, "tip_height", u64_or_null(opened, info->tip_height));
	return o;
fail:
	json_object_put(o);
	json_object_put(cands);
	json_object_put(vals);
	return NULL;
}

/* Whether o has key and it is JSON null. */
static bool is_null(const json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v == NULL;
}

cv_err cv_api_election_read(const json_object *o, cv_api_election *out)
{
	json_object *cands, *vals, *fin;
	cv_err e = CV_E_MALFORMED;

	memset(out, 0, sizeof *out);
	if (!json_object_is_type(o, json_type_object) ||
	    cv_json_get_u64(o, "threshold", 255, &out->threshold) != CV_OK ||
	    cv_json_get_u64(o, "difficulty", 255, &out->difficulty) != CV_OK ||
	    cv_json_get_u64(o, "max_block_votes", UINT32_MAX, &out->max_block_votes) != CV_OK ||
	    cv_json_get_array(o, "candidates", &cands) != CV_OK ||
	    cv_json_get_array(o, "validators", &vals) != CV_OK)
		goto fail;
	out->opened = !is_null(o, "genesis_hash");
	if (out->opened &&
	    (cv_json_get_hex(o, "genesis_hash", out->genesis_hash, CV_HASH_LEN) != CV_OK ||
	     cv_json_get_u64(o, "tip_height", UINT64_MAX, &out->tip_height) != CV_OK))
		goto fail;
	if (!is_null(o, "closed_at") &&
	    cv_json_get_u64(o, "closed_at", UINT64_MAX, &out->closed_at) != CV_OK)
		goto fail;
	if (json_object_object_get_ex(o, "final", &fin)) {
		if (!json_object_is_type(fin, json_type_boolean))
			goto fail;
		out->final = json_object_get_boolean(fin);
	}
	if (out->final && cv_json_get_u64(o, "seal_height", UINT64_MAX, &out->seal_height) != CV_OK)
		goto fail;
	if (json_object_object_get_ex(o, "ballots", &fin)) {
		if (!json_object_is_type(fin, json_type_string))
			goto fail;
		out->secret = strcmp(json_object_get_string(fin), "secret") == 0;
	}
	out->n_validators = json_object_array_length(vals);
	out->n_candidates = json_object_array_length(cands);
	out->candidate_ids = calloc(out->n_candidates ? out->n_candidates : 1, sizeof(uint32_t));
	if (out->candidate_ids == NULL) {
		e = CV_E_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < out->n_candidates; i++) {
		uint64_t id;

		if (cv_json_get_u64(json_object_array_get_idx(cands, i), "id", UINT32_MAX, &id) !=
		    CV_OK)
			goto fail;
		out->candidate_ids[i] = (uint32_t)id;
	}
	return CV_OK;
fail:
	cv_api_election_free(out);
	return e;
}

void cv_api_election_free(cv_api_election *e)
{
	if (e == NULL)
		return;
	free(e->candidate_ids);
	memset(e, 0, sizeof *e);
}

/* ---- GET /api/elections ---- */

/* One election's entry; CV_E_NOT_FOUND (nothing added) for the default one without
 * settings. */
static cv_err elections_add(json_object *list, cv_store *s, bool registered, uint64_t created)
{
	json_object *o;
	cv_info info;
	cv_err e = cv_store_info(s, &info);

	if (e != CV_OK && !(e == CV_E_NOT_FOUND && registered))
		return e;
	if ((o = json_object_new_object()) == NULL || json_object_array_add(list, o) != 0) {
		json_object_put(o);
		return CV_E_NOMEM;
	}
	json_object_object_add(o, "slug", json_object_new_string(cv_store_slug(s)));
	json_object_object_add(
	    o, "title", json_object_new_string(e == CV_OK ? info.settings.election.title : ""));
	json_object_object_add(
	    o, "state", json_object_new_string(e == CV_OK ? cv_state_name(info.state) : "new"));
	json_object_object_add(o, "final", json_object_new_boolean(e == CV_OK && info.final));
	json_object_object_add(o, "archived",
	                       json_object_new_boolean(e == CV_OK && info.archived_at != 0));
	json_object_object_add(o, "created", u64_or_null(registered, created));
	return CV_OK;
}

cv_err cv_api_elections_json(cv_store *root, json_object **out)
{
	json_object *o = json_object_new_object(), *list = json_object_new_array();
	cv_election_listing *reg = NULL;
	size_t n = 0;
	cv_err e;

	*out = NULL;
	if (o == NULL || list == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	e = elections_add(list, root, false, 0);
	if (e != CV_OK && e != CV_E_NOT_FOUND)
		goto out;
	if ((e = cv_store_elections(root, &reg, &n)) != CV_OK)
		goto out;
	for (size_t i = 0; i < n && e == CV_OK; i++) {
		cv_store *el;

		if ((e = cv_store_election(root, reg[i].slug, &el)) == CV_OK)
			e = elections_add(list, el, true, reg[i].created);
	}
	if (e != CV_OK)
		goto out;
	json_object_object_add(o, "elections", list);
	list = NULL;
	*out = o;
	o = NULL;
out:
	free(reg);
	json_object_put(list);
	json_object_put(o);
	return e;
}

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

/* ---- changes of the parameters ---- */

static const char *change_status(uint64_t next_height, unsigned threshold,
                                 const cv_change_record *r)
{
	if (r->committed)
		return "committed";
	if (r->change.effective_height < next_height + 1)
		return "missed";
	if (r->change.effective_height == next_height + 1 && r->change.n_signatures >= threshold)
		return "ready";
	return "pending";
}

static const char *validator_name(const cv_validator *v, size_t n, const cv_genesis *g,
                                  const uint8_t key[CV_KEY_LEN])
{
	const cv_validator *found = NULL;

	for (size_t i = 0; v != NULL && i < n && found == NULL; i++)
		if (memcmp(v[i].key, key, CV_KEY_LEN) == 0)
			found = &v[i];
	if (found == NULL && g != NULL)
		found = cv_genesis_validator(g, key);
	return found != NULL ? found->name : NULL;
}

static json_object *signer_json(const char *key_name, const uint8_t key[CV_KEY_LEN],
                                const char *name)
{
	json_object *s = json_object_new_object();

	if (s == NULL)
		return NULL;
	cv_json_add_hex(s, key_name, key, CV_KEY_LEN);
	json_object_object_add(s, "name", name != NULL ? json_object_new_string(name) : NULL);
	return s;
}

json_object *cv_api_changes_json(uint64_t next_height, unsigned threshold,
                                 const cv_validator *in_force, size_t n_in_force,
                                 const cv_genesis *g, const cv_change_record *r, size_t n)
{
	json_object *o = json_object_new_object(), *vals = json_object_new_array(),
	            *list = json_object_new_array();

	if (o == NULL || vals == NULL || list == NULL)
		goto nomem;
	json_object_object_add(o, "height", json_object_new_uint64(next_height));
	json_object_object_add(o, "threshold", json_object_new_uint64(threshold));
	json_object_object_add(o, "validators", vals);
	json_object_object_add(o, "changes", list);
	for (size_t i = 0; i < n_in_force; i++)
		if (json_object_array_add(
		        vals, signer_json("key", in_force[i].key, in_force[i].name)) != 0)
			goto nomem_added;
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_new_object(), *signers = json_object_new_array();
		const cv_change *c = &r[i].change;

		if (item == NULL || signers == NULL || json_object_array_add(list, item) != 0) {
			json_object_put(item);
			json_object_put(signers);
			goto nomem_added;
		}
		cv_json_add_hex(item, "id", r[i].id, CV_HASH_LEN);
		json_object_object_add(
		    item, "status",
		    json_object_new_string(change_status(next_height, threshold, &r[i])));
		json_object_object_add(
		    item, "height",
		    json_object_new_uint64(r[i].committed ? r[i].height : c->effective_height - 1));
		json_object_object_add(item, "proposed_at",
		                       r[i].committed ? NULL
		                                      : json_object_new_uint64(r[i].proposed_at));
		json_object_object_add(item, "change", cv_change_to_json(c));
		json_object_object_add(item, "signers", signers);
		json_object_object_add(item, "n_signatures",
		                       json_object_new_uint64(c->n_signatures));
		for (size_t k = 0; k < c->n_signatures; k++) {
			const uint8_t *key = c->signatures[k].validator_key;

			if (json_object_array_add(
			        signers,
			        signer_json("validator_key", key,
			                    validator_name(in_force, n_in_force, g, key))) != 0)
				goto nomem_added;
		}
	}
	return o;
nomem:
	json_object_put(vals);
	json_object_put(list);
nomem_added:
	json_object_put(o);
	return NULL;
}

cv_err cv_api_changes_apply(const json_object *o, uint64_t below, cv_params *p)
{
	json_object *list;

	if (cv_json_get_array(o, "changes", &list) != CV_OK)
		return CV_E_MALFORMED;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *item = json_object_array_get_idx(list, i), *st, *v;
		uint64_t height;
		cv_change c;
		cv_err e;

		if (!json_object_is_type(item, json_type_object) ||
		    !json_object_object_get_ex(item, "status", &st) ||
		    !json_object_is_type(st, json_type_string) ||
		    cv_json_get_u64(item, "height", UINT64_MAX, &height) != CV_OK ||
		    !json_object_object_get_ex(item, "change", &v))
			return CV_E_MALFORMED;
		/* committed ones come first, by height */
		if (strcmp(json_object_get_string(st), "committed") != 0 || height >= below)
			continue;
		if (cv_change_from_json(v, &c) != CV_OK)
			return CV_E_MALFORMED;
		e = cv_params_apply(p, &c);
		cv_change_free(&c);
		if (e != CV_OK)
			return e;
	}
	return CV_OK;
}

cv_err cv_api_change_find(const json_object *o, const char *id_hex, cv_change *c, char *status,
                          size_t status_len)
{
	json_object *list, *v;

	memset(c, 0, sizeof *c);
	if (cv_json_get_array(o, "changes", &list) != CV_OK)
		return CV_E_MALFORMED;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *item = json_object_array_get_idx(list, i), *id, *st;

		if (!json_object_is_type(item, json_type_object) ||
		    !json_object_object_get_ex(item, "id", &id) ||
		    !json_object_is_type(id, json_type_string))
			return CV_E_MALFORMED;
		if (strcmp(json_object_get_string(id), id_hex) != 0)
			continue;
		if (!json_object_object_get_ex(item, "status", &st) ||
		    !json_object_is_type(st, json_type_string) ||
		    !json_object_object_get_ex(item, "change", &v))
			return CV_E_MALFORMED;
		snprintf(status, status_len, "%s", json_object_get_string(st));
		return cv_change_from_json(v, c);
	}
	return CV_E_NOT_FOUND;
}

/* ---- the key ceremony ---- */

static const char *const sealed_keys[] = {"setup_hash", "sender", "recipient", "ephemeral", "nonce",
                                          "ciphertext", "tag",    "signature", NULL};

json_object *cv_api_sealed_json(const cv_sealed_share *sh)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	cv_json_add_hex(o, "setup_hash", sh->setup_hash, CV_HASH_LEN);
	cv_json_add_hex(o, "sender", sh->sender, CV_KEY_LEN);
	cv_json_add_hex(o, "recipient", sh->recipient, CV_KEY_LEN);
	cv_json_add_hex(o, "ephemeral", sh->ephemeral, CV_POINT_LEN);
	cv_json_add_hex(o, "nonce", sh->nonce, CV_SEALED_NONCE_LEN);
	cv_json_add_hex(o, "ciphertext", sh->ciphertext, CV_SCALAR_LEN);
	cv_json_add_hex(o, "tag", sh->tag, CV_SEALED_TAG_LEN);
	cv_json_add_hex(o, "signature", sh->signature, CV_SIG_LEN);
	return o;
}

cv_err cv_api_sealed_read(const json_object *o, cv_sealed_share *sh)
{
	memset(sh, 0, sizeof *sh);
	if (!json_object_is_type(o, json_type_object) ||
	    cv_json_only_keys(o, sealed_keys) != CV_OK ||
	    cv_json_get_hex(o, "setup_hash", sh->setup_hash, CV_HASH_LEN) != CV_OK ||
	    cv_json_get_hex(o, "sender", sh->sender, CV_KEY_LEN) != CV_OK ||
	    cv_json_get_hex(o, "recipient", sh->recipient, CV_KEY_LEN) != CV_OK ||
	    cv_json_get_hex(o, "ephemeral", sh->ephemeral, CV_POINT_LEN) != CV_OK ||
	    cv_json_get_hex(o, "nonce", sh->nonce, CV_SEALED_NONCE_LEN) != CV_OK ||
	    cv_json_get_hex(o, "ciphertext", sh->ciphertext, CV_SCALAR_LEN) != CV_OK ||
	    cv_json_get_hex(o, "tag", sh->tag, CV_SEALED_TAG_LEN) != CV_OK ||
	    cv_json_get_hex(o, "signature", sh->signature, CV_SIG_LEN) != CV_OK) {
		memset(sh, 0, sizeof *sh);
		return CV_E_MALFORMED;
	}
	return CV_OK;
}

static const char *const check_keys[] = {"setup_hash", "trustee",   "sender",
                                         "good",       "signature", NULL};

json_object *cv_api_check_json(const cv_share_check *c)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	cv_json_add_hex(o, "setup_hash", c->setup_hash, CV_HASH_LEN);
	cv_json_add_hex(o, "trustee", c->trustee, CV_KEY_LEN);
	cv_json_add_hex(o, "sender", c->sender, CV_KEY_LEN);
	json_object_object_add(o, "good", json_object_new_boolean(c->good));
	cv_json_add_hex(o, "signature", c->signature, CV_SIG_LEN);
	return o;
}

cv_err cv_api_check_read(const json_object *o, cv_share_check *c)
{
	json_object *good;

	memset(c, 0, sizeof *c);
	if (!json_object_is_type(o, json_type_object) ||
	    cv_json_only_keys(o, check_keys) != CV_OK ||
	    cv_json_get_hex(o, "setup_hash", c->setup_hash, CV_HASH_LEN) != CV_OK ||
	    cv_json_get_hex(o, "trustee", c->trustee, CV_KEY_LEN) != CV_OK ||
	    cv_json_get_hex(o, "sender", c->sender, CV_KEY_LEN) != CV_OK ||
	    !json_object_object_get_ex(o, "good", &good) ||
	    !json_object_is_type(good, json_type_boolean) ||
	    cv_json_get_hex(o, "signature", c->signature, CV_SIG_LEN) != CV_OK) {
		memset(c, 0, sizeof *c);
		return CV_E_MALFORMED;
	}
	c->good = json_object_get_boolean(good);
	return CV_OK;
}

/* How many of the pairs (from, to) have `key` on the given side. */
static uint64_t count_key(const uint8_t (*keys)[CV_KEY_LEN], size_t n, const uint8_t *key)
{
	uint64_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += memcmp(keys[i], key, CV_KEY_LEN) == 0;
	return count;
}

json_object *cv_api_ceremony_json(const cv_ceremony *c)
{
	json_object *o = json_object_new_object(), *ts = json_object_new_array(),
	            *shares = json_object_new_array(), *checks = json_object_new_array();

	if (o == NULL || ts == NULL || shares == NULL || checks == NULL)
		goto fail;
	json_object_object_add(o, "ballots", json_object_new_string(c->secret ? "secret" : "open"));
	json_object_object_add(o, "quorum", json_object_new_uint64(c->quorum));
	cv_json_add_hex(o, "setup_hash", c->setup_hash, CV_HASH_LEN);
	for (size_t i = 0; i < c->n_validators; i++) {
		const uint8_t *key = c->validators[i].key;
		const cv_trustee *entry = NULL;
		json_object *t = json_object_new_object();
		uint64_t confirmed = 0, complaints = 0;

		if (t == NULL || json_object_array_add(ts, t) != 0) {
			json_object_put(t);
			goto fail;
		}
		for (size_t j = 0; j < c->entries.n_trustees; j++)
			if (memcmp(c->entries.trustees[j].validator_key, key, CV_KEY_LEN) == 0)
				entry = &c->entries.trustees[j];
		for (size_t j = 0; j < c->n_checks; j++)
			if (memcmp(c->checks[j].trustee, key, CV_KEY_LEN) == 0) {
				confirmed += c->checks[j].good;
				complaints += !c->checks[j].good;
			}
		json_object_object_add(t, "x", json_object_new_uint64(i + 1));
		cv_json_add_hex(t, "validator_key", key, CV_KEY_LEN);
		json_object_object_add(t, "name", json_object_new_string(c->validators[i].name));
		json_object_object_add(t, "entry",
		                       entry != NULL ? cv_trustee_to_json(entry) : NULL);
		json_object_object_add(
		    t, "shares_sent",
		    json_object_new_uint64(count_key(c->share_from, c->n_shares, key)));
		json_object_object_add(
		    t, "shares_received",
		    json_object_new_uint64(count_key(c->share_to, c->n_shares, key)));
		json_object_object_add(t, "confirmed", json_object_new_uint64(confirmed));
		json_object_object_add(t, "complaints", json_object_new_uint64(complaints));
	}
	for (size_t i = 0; i < c->n_shares; i++) {
		json_object *sh = json_object_new_object();

		if (sh == NULL || json_object_array_add(shares, sh) != 0) {
			json_object_put(sh);
			goto fail;
		}
		cv_json_add_hex(sh, "sender", c->share_from[i], CV_KEY_LEN);
		cv_json_add_hex(sh, "recipient", c->share_to[i], CV_KEY_LEN);
	}
	for (size_t i = 0; i < c->n_checks; i++) {
		json_object *ck = cv_api_check_json(&c->checks[i]);

		if (ck == NULL || json_object_array_add(checks, ck) != 0) {
			json_object_put(ck);
			goto fail;
		}
	}
	json_object_object_add(o, "trustees", ts);
	json_object_object_add(o, "shares", shares);
	json_object_object_add(o, "checks", checks);
	ts = shares = checks = NULL;
	json_object_object_add(o, "complaints", json_object_new_uint64(c->n_complaints));
	json_object_object_add(o, "voided", json_object_new_uint64(c->voided));
	json_object_object_add(o, "complete", json_object_new_boolean(c->complete));
	return o;
fail:
	json_object_put(o);
	json_object_put(ts);
	json_object_put(shares);
	json_object_put(checks);
	return NULL;
}

cv_err cv_api_ceremony_read(const json_object *o, cv_ceremony *out)
{
	json_object *ts, *checks, *shares, *v;
	uint64_t q;
	size_t n;
	cv_err e = CV_E_MALFORMED;

	memset(out, 0, sizeof *out);
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "ballots", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    cv_json_get_u64(o, "quorum", UINT8_MAX, &q) != CV_OK ||
	    cv_json_get_hex(o, "setup_hash", out->setup_hash, CV_HASH_LEN) != CV_OK ||
	    cv_json_get_array(o, "trustees", &ts) != CV_OK ||
	    cv_json_get_array(o, "shares", &shares) != CV_OK ||
	    cv_json_get_array(o, "checks", &checks) != CV_OK ||
	    !json_object_object_get_ex(o, "complete", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return CV_E_MALFORMED;
	out->complete = json_object_get_boolean(v);
	out->secret =
	    strcmp(json_object_get_string(json_object_object_get(o, "ballots")), "secret") == 0;
	out->quorum = (uint8_t)q;
	out->entries.quorum = (uint8_t)q;
	n = json_object_array_length(ts);
	if (n > CV_MAX_QUORUM || json_object_array_length(checks) > CV_MAX_QUORUM * CV_MAX_QUORUM ||
	    json_object_array_length(shares) > CV_MAX_QUORUM * CV_MAX_QUORUM)
		return CV_E_TOO_LARGE;
	if (n > 0 && ((out->validators = calloc(n, sizeof *out->validators)) == NULL ||
	              (out->entries.trustees = calloc(n, sizeof(cv_trustee))) == NULL)) {
		e = CV_E_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(ts, i), *entry;

		if (!json_object_is_type(t, json_type_object) ||
		    cv_json_get_hex(t, "validator_key", out->validators[i].key, CV_KEY_LEN) !=
		        CV_OK ||
		    cv_json_get_text(t, "name", out->validators[i].name) != CV_OK ||
		    !json_object_object_get_ex(t, "entry", &entry))
			goto fail;
		out->n_validators++;
		if (entry == NULL)
			continue;
		if (cv_trustee_from_json(entry, &out->entries.trustees[out->entries.n_trustees]) !=
		    CV_OK)
			goto fail;
		out->entries.n_trustees++;
	}
	/* the shares posted, by sender and recipient: n_shares counts what is read */
	n = json_object_array_length(shares);
	if (n > 0 && ((out->share_from = calloc(n, CV_KEY_LEN)) == NULL ||
	              (out->share_to = calloc(n, CV_KEY_LEN)) == NULL)) {
		e = CV_E_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *sh = json_object_array_get_idx(shares, i);

		if (!json_object_is_type(sh, json_type_object) ||
		    cv_json_get_hex(sh, "sender", out->share_from[i], CV_KEY_LEN) != CV_OK ||
		    cv_json_get_hex(sh, "recipient", out->share_to[i], CV_KEY_LEN) != CV_OK)
			goto fail;
		out->n_shares++;
	}
	n = json_object_array_length(checks);
	if (n > 0 && (out->checks = calloc(n, sizeof *out->checks)) == NULL) {
		e = CV_E_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (cv_api_check_read(json_object_array_get_idx(checks, i), &out->checks[i]) !=
		    CV_OK)
			goto fail;
		out->n_checks++;
		out->n_complaints += !out->checks[i].good;
	}
	return CV_OK;
fail:
	cv_ceremony_free(out);
	return e;
}
