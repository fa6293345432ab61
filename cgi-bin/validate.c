/* validate.fcgi: the validators' side. Lists the proposals at the next height as short
 * summaries, shows one with every check's result as the rules reported it when it was
 * admitted (stored with it: nothing is checked again on a GET), and takes signed
 * approvals and rejections; the approval that reaches the threshold commits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "json.h"
#include "service.h"
#include "store.h"

#define VERDICT_MAX_BODY 4096

/* The election behind the proposals: its state and genesis (names of validators). */
static cv_err election_load(cv_req *r, cv_info *info, cv_genesis *g)
{
	cv_err e;

	memset(g, 0, sizeof *g);
	if ((e = cv_req_info(r, info)) != CV_OK)
		return e;
	if (info->state == CV_STATE_SETUP) {
		r->message = "The election has not opened; there are no proposals.";
		return CV_E_BAD_STATE;
	}
	return cv_store_genesis(r->store, false, g);
}

/* GET /api/proposals: 200 {"height", "threshold", "limit", "proposals": [summary...]}
 * oldest first, at most CV_PROPOSALS_PER_HEIGHT; 404 no election; 409 in setup; 503 busy.
 * A summary is read from the proposal's stored head: no block is read, no rule run. */
static cv_err list_proposals(cv_req *r)
{
	cv_info info;
	cv_proposal_summary *items = NULL;
	size_t n = 0;
	cv_err e;

	if ((e = cv_req_info(r, &info)) != CV_OK)
		return e;
	if (info.state == CV_STATE_SETUP) {
		r->message = "The election has not opened; there are no proposals.";
		return CV_E_BAD_STATE;
	}
	if ((e = cv_store_proposal_summaries(r->store, &items, &n)) != CV_OK)
		return e;
	e = cv_reply_json(r, 200,
	                  cv_api_proposal_list_json(info.tip_height + 1,
	                                            info.settings.election.threshold, items, n));
	free(items);
	return e;
}

/* GET /api/proposals/{hash}: 200 the block, every check's result as the rules reported
 * it at admission (stored with the proposal), the verdicts; 400 not a hash; 404 not a
 * current proposal; 409 in setup; 503 busy. */
static cv_err get_proposal(cv_req *r)
{
	cv_info info;
	cv_genesis g;
	uint8_t hash[CV_HASH_LEN];
	cv_proposal p = {0};
	cv_err e;

	if ((e = cv_req_arg_hash(r, 0, hash)) != CV_OK)
		return e;
	if ((e = election_load(r, &info, &g)) != CV_OK)
		goto out;
	if ((e = cv_store_proposal(r->store, hash, &p)) != CV_OK) {
		if (e == CV_E_NOT_FOUND)
			r->message =
			    "No current proposal has that hash (it may have been committed "
			    "or discarded).";
		goto out;
	}
	e = cv_reply_json(r, 200, cv_api_proposal_json(&g, &p));
out:
	cv_proposal_free(&p);
	cv_genesis_free(&g);
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
	/* the approval that commits is the one that reached the threshold */
	return cv_reply_json(r, 201,
	                     cv_api_approved_json(committed,
	                                          committed ? info.settings.election.threshold
	                                                    : count_approvals(r, hash),
	                                          info.settings.election.threshold));
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
		json_object_object_add(o, "rejected", json_object_new_boolean(true));
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
