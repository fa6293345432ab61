/* validate.fcgi: the validators' side. Lists the proposals at the next height with
 * every check recomputed here (so a dashboard shows why, not just a verdict), and takes
 * signed approvals and rejections; the approval that reaches the threshold commits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pow.h"
#include "rules.h"
#include "service.h"
#include "store.h"

#define VERDICT_MAX_BODY 4096

/* What every proposal is checked against: the tip and the election. */
typedef struct context {
	cv_info info;
	cv_genesis genesis; /* without the roll: the store answers roll questions */
	cv_view view;
	uint64_t now;
} context;

static int view_on_roll(void *ctx, const uint8_t key[CV_KEY_LEN])
{
	return cv_store_on_roll(ctx, key) ? 1 : 0;
}

static cv_err context_load(cv_req *r, context *c)
{
	cv_err e;

	memset(c, 0, sizeof *c);
	if ((e = cv_req_info(r, &c->info)) != CV_OK)
		return e;
	if (c->info.state == CV_STATE_SETUP) {
		r->message = "The election has not opened; there are no proposals.";
		return CV_E_BAD_STATE;
	}
	if ((e = cv_store_genesis(r->store, false, &c->genesis)) != CV_OK)
		return e;
	c->view.genesis = &c->genesis;
	memcpy(c->view.election_id, c->info.genesis_hash, CV_HASH_LEN);
	c->view.genesis_timestamp = c->info.genesis_timestamp;
	c->view.ctx = r->store;
	c->view.on_roll = view_on_roll;
	c->view.closed_at = c->info.state == CV_STATE_CLOSED ? c->info.closed_at : 0;
	c->view.sealed = c->info.final;
	/* has_voted stays NULL: a vote's voter having voted in the chain is checked by the
	 * store when the proposal is admitted, against the same tip as now */
	c->now = cv_now();
	return CV_OK;
}

static void add_bool(json_object *o, const char *key, bool v)
{
	json_object_object_add(o, key, json_object_new_boolean(v));
}

/* The header checks, each recomputed from the block's bytes. */
static json_object *header_checks(const context *c, const cv_block *b)
{
	const cv_header *h = &b->header;
	const cv_election *el = &c->genesis.election;
	uint8_t hash[CV_HASH_LEN], root[CV_HASH_LEN];
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	cv_header_hash(h, hash);
	add_bool(o, "version", h->version == CV_VERSION);
	add_bool(o, "height", h->height == c->info.tip_height + 1);
	add_bool(o, "link", memcmp(h->prev_hash, c->info.tip_hash, CV_HASH_LEN) == 0);
	add_bool(o, "difficulty", h->difficulty == el->difficulty);
	add_bool(o, "pow", cv_pow_ok(hash, h->difficulty));
	json_object_object_add(o, "leading_zero_bits",
	                       json_object_new_uint64(cv_leading_zero_bits(hash)));
	add_bool(o, "hash", memcmp(hash, b->hash, CV_HASH_LEN) == 0);
	add_bool(o, "timestamp",
	         h->timestamp >= c->info.tip_timestamp && h->timestamp <= c->now + CV_FUTURE_SLACK);
	add_bool(o, "vote_count",
	         b->has_seal ? b->n_votes == 0
	                     : b->n_votes >= 1 && b->n_votes <= el->max_block_votes);
	add_bool(o, "merkle",
	         cv_block_merkle_root(b, root) == CV_OK &&
	             memcmp(root, h->merkle_root, CV_HASH_LEN) == 0);
	return o;
}

/* One vote: the rule-5 verdict from the rules (cv_check_vote), the facts behind it, and
 * whether the voter has an earlier vote in this block. When the whole block passed the
 * rules (block_ok), every vote did: its checks are all true without checking again. */
static json_object *vote_checks(const context *c, const cv_block *b, size_t i, bool block_ok)
{
	const cv_vote *v = &b->votes[i];
	json_object *o = json_object_new_object();
	uint8_t txid[CV_HASH_LEN], payload[CV_PAYLOAD_LEN];
	cv_err rule = block_ok ? CV_OK : cv_check_vote(&c->view, v, b->header.timestamp);
	bool signature;
	size_t dup = SIZE_MAX;

	if (o == NULL)
		return NULL;
	for (size_t j = 0; j < i && dup == SIZE_MAX && !block_ok; j++)
		if (memcmp(b->votes[j].voter_key, v->voter_key, CV_KEY_LEN) == 0)
			dup = j;
	/* the signature is the rule's last check: when the rule passed or failed on it,
	 * its verdict is the signature's, else the signature is checked on its own */
	if (rule == CV_OK)
		signature = true;
	else if (rule == CV_E_BAD_SIGNATURE || rule == CV_E_BAD_KEY)
		signature = false;
	else {
		cv_vote_payload(v, payload);
		signature = cv_verify(v->voter_key, payload, sizeof payload, v->signature) == CV_OK;
	}
	if (rule == CV_OK && dup != SIZE_MAX)
		rule = CV_E_DOUBLE_VOTE;
	cv_vote_txid(v, txid);
	cv_json_add_hex(o, "txid", txid, CV_HASH_LEN);
	add_bool(o, "election", memcmp(v->election_id, c->view.election_id, CV_HASH_LEN) == 0);
	add_bool(o, "on_roll", block_ok || cv_store_on_roll(c->view.ctx, v->voter_key));
	add_bool(o, "candidate", cv_genesis_candidate(&c->genesis, v->candidate_id) != NULL);
	add_bool(o, "signature", signature);
	json_object_object_add(o, "duplicate_of",
	                       dup == SIZE_MAX ? NULL : json_object_new_uint64(dup));
	json_object_object_add(o, "result", json_object_new_string(cv_err_code(rule)));
	return o;
}

static json_object *verdict_json(const context *c, const cv_block *b, const cv_verdict *v)
{
	const cv_validator *val = cv_genesis_validator(&c->genesis, v->sig.validator_key);
	json_object *o = cv_approval_to_json(&v->sig);
	cv_err check = v->approve ? cv_check_approval(&c->genesis, b->hash, &v->sig)
	                          : cv_check_rejection(&c->genesis, b->hash, v->reason, &v->sig);

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "name", val ? json_object_new_string(val->name) : NULL);
	if (!v->approve)
		json_object_object_add(o, "reason", json_object_new_string(v->reason));
	json_object_object_add(o, "at", json_object_new_uint64(v->at));
	add_bool(o, "valid", check == CV_OK);
	return o;
}

/* Appends item (taken) to list; false when item is NULL (out of memory) or not added. */
static bool add_item(json_object *list, json_object *item)
{
	if (item == NULL || json_object_array_add(list, item) != 0) {
		json_object_put(item);
		return false;
	}
	return true;
}

/* A proposal as the dashboard shows it: the block, every check, the verdicts. */
static json_object *proposal_json(const context *c, const cv_proposal *p)
{
	const cv_block *b = &p->block;
	cv_header prev = {0};
	size_t bad_vote = SIZE_MAX, n_approvals = 0;
	cv_err verdict;
	json_object *o = json_object_new_object(), *checks, *votes, *rules, *approvals, *rejections;

	/* each part is added to o as soon as it exists, so o alone is put on failure */
	if (o == NULL)
		return NULL;
	json_object_object_add(o, "block", cv_block_to_json(b));
	json_object_object_add(o, "received_at", json_object_new_uint64(p->received_at));

	if ((checks = header_checks(c, b)) == NULL)
		goto fail;
	json_object_object_add(o, "checks", checks);
	/* the overall verdict of rules 1-5, as the store applied them at admission */
	prev.version = CV_VERSION;
	prev.height = c->info.tip_height;
	prev.timestamp = c->info.tip_timestamp;
	verdict = cv_check_proposal(&c->view, &prev, c->info.tip_hash, b, c->now, &bad_vote);
	if ((votes = json_object_new_array()) == NULL)
		goto fail;
	json_object_object_add(checks, "votes", votes);
	for (size_t i = 0; i < b->n_votes; i++)
		if (!add_item(votes, vote_checks(c, b, i, verdict == CV_OK)))
			goto fail;
	if ((rules = json_object_new_object()) == NULL)
		goto fail;
	json_object_object_add(checks, "rules", rules);
	add_bool(rules, "ok", verdict == CV_OK);
	json_object_object_add(rules, "code", json_object_new_string(cv_err_code(verdict)));
	json_object_object_add(rules, "message", json_object_new_string(cv_err_message(verdict)));
	json_object_object_add(rules, "vote",
	                       bad_vote == SIZE_MAX ? NULL : json_object_new_uint64(bad_vote));

	if ((approvals = json_object_new_array()) == NULL)
		goto fail;
	json_object_object_add(o, "approvals", approvals);
	if ((rejections = json_object_new_array()) == NULL)
		goto fail;
	json_object_object_add(o, "rejections", rejections);
	for (size_t i = 0; i < p->n_verdicts; i++) {
		const cv_verdict *v = &p->verdicts[i];

		if (!add_item(v->approve ? approvals : rejections, verdict_json(c, b, v)))
			goto fail;
		n_approvals += v->approve;
	}
	json_object_object_add(o, "n_approvals", json_object_new_uint64(n_approvals));
	json_object_object_add(o, "threshold",
	                       json_object_new_uint64(c->genesis.election.threshold));
	return o;
fail:
	json_object_put(o);
	return NULL;
}

/* GET /api/proposals: 200 {"height", "threshold", "proposals": [...]} oldest first;
 * 404 no election; 409 in setup; 503 busy. */
static cv_err list_proposals(cv_req *r)
{
	context c;
	cv_proposal *props = NULL;
	size_t n = 0;
	json_object *o = NULL, *list = NULL;
	cv_err e;

	if ((e = context_load(r, &c)) != CV_OK)
		goto out;
	if ((e = cv_store_proposals(r->store, &props, &n)) != CV_OK)
		goto out;
	o = json_object_new_object();
	list = json_object_new_array();
	if (o == NULL || list == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *p = proposal_json(&c, &props[i]);

		if (p == NULL || json_object_array_add(list, p) != 0) {
			json_object_put(p);
			e = CV_E_NOMEM;
			goto out;
		}
	}
	json_object_object_add(o, "height", json_object_new_uint64(c.info.tip_height + 1));
	json_object_object_add(o, "threshold",
	                       json_object_new_uint64(c.genesis.election.threshold));
	json_object_object_add(o, "proposals", list);
	list = NULL;
	e = cv_reply_json(r, 200, o);
	o = NULL;
out:
	json_object_put(o);
	json_object_put(list);
	cv_proposals_free(props, n);
	cv_genesis_free(&c.genesis);
	return e;
}

/* GET /api/proposals/{hash}: 200; 400 not a hash; 404 not a current proposal; 409 in
 * setup; 503 busy. */
static cv_err get_proposal(cv_req *r)
{
	context c;
	uint8_t hash[CV_HASH_LEN];
	cv_proposal p = {0};
	cv_err e;

	if ((e = cv_req_arg_hash(r, 0, hash)) != CV_OK)
		return e;
	if ((e = context_load(r, &c)) != CV_OK)
		goto out;
	if ((e = cv_store_proposal(r->store, hash, &p)) != CV_OK) {
		if (e == CV_E_NOT_FOUND)
			r->message =
			    "No current proposal has that hash (it may have been committed "
			    "or discarded).";
		goto out;
	}
	e = cv_reply_json(r, 200, proposal_json(&c, &p));
out:
	cv_proposal_free(&p);
	cv_genesis_free(&c.genesis);
	return e;
}

/* Approvals counted for a proposal that is still open, or 0 when it is gone. */
static size_t count_approvals(cv_req *r, const uint8_t hash[CV_HASH_LEN])
{
	cv_proposal p = {0};
	size_t n = 0;

	if (cv_store_proposal(r->store, hash, &p) == CV_OK)
		for (size_t i = 0; i < p.n_verdicts; i++)
			n += p.verdicts[i].approve;
	cv_proposal_free(&p);
	return n;
}

/* POST /api/proposals/{hash}/approvals {"validator_key", "signature"}: 201 {"committed",
 * "approvals", "threshold"}; 400 malformed; 403 not_validator; 404 no such proposal;
 * 409 duplicate_approval, equivocation; 413; 415; 422 bad_signature; 503 busy. */
static cv_err post_approval(cv_req *r)
{
	uint8_t hash[CV_HASH_LEN];
	cv_approval a;
	cv_info info;
	bool committed = false;
	json_object *o;
	cv_err e;

	if ((e = cv_req_arg_hash(r, 0, hash)) != CV_OK)
		return e;
	if ((e = cv_approval_from_json(r->json, &a)) != CV_OK) {
		r->message = "Expected {\"validator_key\", \"signature\"}.";
		return e;
	}
	if ((e = cv_store_approve(r->store, hash, &a, &committed)) != CV_OK)
		return e;
	if ((e = cv_req_info(r, &info)) != CV_OK)
		return e;
	o = json_object_new_object();
	if (o == NULL)
		return CV_E_NOMEM;
	add_bool(o, "committed", committed);
	/* the approval that commits is the one that reached the threshold */
	json_object_object_add(o, "approvals",
	                       json_object_new_uint64(committed ? info.settings.election.threshold
	                                                        : count_approvals(r, hash)));
	json_object_object_add(o, "threshold",
	                       json_object_new_uint64(info.settings.election.threshold));
	return cv_reply_json(r, 201, o);
}

/* POST /api/proposals/{hash}/rejections {"validator_key", "signature", "reason"}: 201
 * {"rejected": true}; 400 malformed; 403 not_validator; 404 no such proposal; 409
 * duplicate_approval (a verdict is recorded already); 413; 415; 422 bad_signature;
 * 503 busy. */
static cv_err post_rejection(cv_req *r)
{
	static const char *const keys[] = {"validator_key", "signature", "reason", NULL};
	uint8_t hash[CV_HASH_LEN];
	cv_approval a;
	char reason[CV_TEXT_MAX + 1];
	json_object *o;
	cv_err e;

	if ((e = cv_req_arg_hash(r, 0, hash)) != CV_OK)
		return e;
	if (cv_json_only_keys(r->json, keys) != CV_OK ||
	    cv_json_get_hex(r->json, "validator_key", a.validator_key, CV_KEY_LEN) != CV_OK ||
	    cv_json_get_hex(r->json, "signature", a.signature, CV_SIG_LEN) != CV_OK ||
	    cv_json_get_text(r->json, "reason", reason) != CV_OK) {
		r->message =
		    "Expected {\"validator_key\", \"signature\", \"reason\"} with a reason "
		    "of at most 200 bytes.";
		return CV_E_MALFORMED;
	}
	if ((e = cv_store_reject(r->store, hash, reason, &a)) != CV_OK)
		return e;
	o = json_object_new_object();
	if (o != NULL)
		add_bool(o, "rejected", true);
	return cv_reply_json(r, 201, o);
}

/* GET /api/equivocations: every refused approval of a second block at a height, with
 * the earlier approval it contradicts: both signed messages, so anyone can check that
 * the validator signed both. 200; 404 no election; 503 busy. */
static cv_err list_equivocations(cv_req *r)
{
	cv_equivocation *items = NULL;
	json_object *o = NULL, *list = NULL;
	size_t n = 0;
	cv_err e;

	if ((e = cv_store_equivocations(r->store, &items, &n)) != CV_OK)
		return e;
	o = json_object_new_object();
	list = json_object_new_array();
	if (o == NULL || list == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *q = json_object_new_object(), *first, *second;

		if (q == NULL || json_object_array_add(list, q) != 0) {
			json_object_put(q);
			e = CV_E_NOMEM;
			goto out;
		}
		json_object_object_add(q, "height", json_object_new_uint64(items[i].height));
		cv_json_add_hex(q, "validator_key", items[i].sig.validator_key, CV_KEY_LEN);
		first = json_object_new_object();
		cv_json_add_hex(first, "block_hash", items[i].approved_hash, CV_HASH_LEN);
		cv_json_add_hex(first, "signature", items[i].approved_signature, CV_SIG_LEN);
		json_object_object_add(q, "approved", first);
		second = json_object_new_object();
		cv_json_add_hex(second, "block_hash", items[i].block_hash, CV_HASH_LEN);
		cv_json_add_hex(second, "signature", items[i].sig.signature, CV_SIG_LEN);
		json_object_object_add(second, "at", json_object_new_uint64(items[i].at));
		json_object_object_add(q, "refused", second);
	}
	json_object_object_add(o, "equivocations", list);
	list = NULL;
	e = cv_reply_json(r, 200, o);
	o = NULL;
out:
	json_object_put(o);
	json_object_put(list);
	free(items);
	return e;
}

static const cv_route routes[] = {
    {"GET", "/api/proposals", CV_BODY_NONE, list_proposals},
    {"GET", "/api/proposals/:", CV_BODY_NONE, get_proposal},
    {"POST", "/api/proposals/:/approvals", CV_BODY_JSON, post_approval},
    {"POST", "/api/proposals/:/rejections", CV_BODY_JSON, post_rejection},
    {"GET", "/api/equivocations", CV_BODY_NONE, list_equivocations},
};

static const cv_program program = {"validate", routes, sizeof routes / sizeof routes[0],
                                   VERDICT_MAX_BODY, true};

int main(int argc, char **argv)
{
	return cv_service_main(argc, argv, &program);
}
