/* validate.fcgi: the validators' side. Lists the proposals at the next height as short
 * summaries, shows one with every check's result as the rules reported it when it was
 * admitted (stored with it: nothing is checked again on a GET), and takes signed
 * approvals and rejections; the approval that reaches the threshold commits. In a secret
 * election's set-up it carries the trustees' key ceremony (the validators are the
 * trustees): signed trustee entries, sealed shares and share checks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "json.h"
#include "service.h"
#include "store.h"

/* A verdict is small (nginx holds /api/proposals to 4k); a trustee entry with the
 * largest quorum (255 commitments and proofs) is about 80 KB of JSON. */
#define VALIDATE_MAX_BODY (96 * 1024)

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

/* ---- changes of the parameters in force (docs/GOVERNANCE.md) ---- */

/* GET /api/changes: 200 cv_api_changes_json (committed and pending changes, their
 * signers, the validators in force who may sign); 404 no election; 409 in setup; 503. */
static cv_err list_changes(cv_req *r)
{
	cv_change_record *items = NULL;
	cv_validator *vals = NULL;
	size_t n = 0, n_vals = 0;
	cv_genesis g;
	cv_info info;
	cv_err e;

	if ((e = election_load(r, &info, &g)) != CV_OK)
		return e;
	if ((e = cv_store_validators_in_force(r->store, &vals, &n_vals)) == CV_OK &&
	    (e = cv_store_changes(r->store, &items, &n)) == CV_OK)
		e = cv_reply_json(r, 200,
		                  cv_api_changes_json(info.tip_height + 1,
		                                      info.settings.election.threshold, vals,
		                                      n_vals, &g, items, n));
	cv_change_records_free(items, n);
	free(vals);
	cv_genesis_free(&g);
	return e;
}

/* Answers a change's refusal in words: the rule's own sentence when it gave one. */
static cv_err change_refused(cv_req *r, cv_err e, const char *why)
{
	char message[320];
	const char *text = NULL;

	if (why[0] != '\0') {
		snprintf(message, sizeof message, "The change: %s.", why);
		text = message;
	} else if (e == CV_E_STALE) {
		text = "The change's height has passed: propose it again for a later one.";
	} else if (e == CV_E_CLOSED) {
		text = "The election has closed: its closes no longer changes.";
	} else if (e == CV_E_EXISTS) {
		text = "Proposed or signed already.";
	} else if (e == CV_E_NOT_FOUND) {
		text = "No pending change has that id (it may have been committed, or its height "
		       "passed).";
	} else if (e == CV_E_PROPOSALS_FULL) {
		text = "Too many changes are waiting; let one commit or miss its height.";
	}
	cv_reply_error(r, e, text);
	return e;
}

static json_object *change_answer(const uint8_t id[CV_HASH_LEN], size_t n_signatures)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	cv_json_add_hex(o, "id", id, CV_HASH_LEN);
	json_object_object_add(o, "n_signatures", json_object_new_uint64(n_signatures));
	return o;
}

/* POST /api/changes {change with its proposer's signature, "signatures" of one}: 201
 * {"id", "n_signatures"}; 400 malformed; 409 bad_state (set-up), sealed, closed, stale
 * (its height passed), exists, proposals_full; 413; 415; 422 bad_change, change_closes,
 * change_signatures (not one signature, or not a validator in force), bad_signature;
 * 503 busy. The signature is its authentication: only a validator in force signs. */
static cv_err post_change(cv_req *r)
{
	char why[256] = "";
	uint8_t id[CV_HASH_LEN];
	cv_change c;
	cv_err e;

	if (cv_change_from_json(r->json, &c) != CV_OK) {
		r->message = "Expected a change: {\"election_id\", \"effective_height\", \"kind\", "
		             "the kind's fields, \"signatures\": [{\"validator_key\", "
		             "\"signature\"}]} (docs/GOVERNANCE.md).";
		return CV_E_MALFORMED;
	}
	if (c.n_signatures != 1) {
		r->message = "A change is proposed with one signature, its proposer's; the others "
		             "are added to it (POST /api/changes/{id}/signatures).";
		cv_change_free(&c);
		return CV_E_CHANGE_SIGNATURES;
	}
	e = cv_store_change_propose(r->store, &c, cv_now(), id, why, sizeof why);
	cv_change_free(&c);
	if (e != CV_OK)
		return change_refused(r, e, why);
	return cv_reply_json(r, 201, change_answer(id, 1));
}

/* POST /api/changes/{id}/signatures {"validator_key", "signature"}: 201 {"id",
 * "n_signatures"}; 400 malformed; 404 no such pending change; 409 sealed, closed, stale,
 * exists (signed already); 413; 415; 422 change_signatures (not a validator in force),
 * bad_signature (not over this change's message), bad_change; 503 busy. */
static cv_err post_change_signature(cv_req *r)
{
	char why[256] = "";
	uint8_t id[CV_HASH_LEN];
	size_t n = 0;
	cv_approval a;
	cv_err e;

	if ((e = cv_req_arg_hash(r, 0, id)) != CV_OK)
		return e;
	if (cv_approval_from_json(r->json, &a) != CV_OK) {
		r->message = "Expected {\"validator_key\", \"signature\"}: the signature over the "
		             "change's message.";
		return CV_E_MALFORMED;
	}
	if ((e = cv_store_change_sign(r->store, id, &a, &n, why, sizeof why)) != CV_OK)
		return change_refused(r, e, why);
	return cv_reply_json(r, 201, change_answer(id, n));
}

/* ---- the key ceremony ---- */

/* GET /api/ceremony: 200 the ceremony's status (cv_api_ceremony_json): every trustee with
 * its entry, the shares posted (who to whom), every check; 404 no election; 503 busy. */
static cv_err get_ceremony(cv_req *r)
{
	cv_ceremony c = {0};
	cv_err e = cv_store_ceremony(r->store, &c);

	if (e != CV_OK)
		return e;
	e = cv_reply_json(r, 200, cv_api_ceremony_json(&c));
	cv_ceremony_free(&c);
	return e;
}

/* What a ceremony write's refusal means, in words. */
static void ceremony_why(cv_req *r, cv_err e)
{
	if (e == CV_E_BAD_STATE)
		r->message =
		    "The ceremony runs in a secret election's set-up; shares wait for every "
		    "trustee's entry.";
	else if (e == CV_E_TRUSTEE_SETUP_HASH)
		r->message =
		    "Made for another setup_hash: read GET /api/ceremony (or /api/election) "
		    "and make it again.";
	else if (e == CV_E_SECRECY_PARAMS)
		r->message = "A trustee entry has one commitment per quorum member.";
	else if (e == CV_E_EXISTS)
		r->message = "Recorded already: an entry, share or check is posted once (the admin "
		             "resets the ceremony to run it again).";
}

/* POST /api/ceremony/entries {trustee entry}: 201 {"validator_key"}; 400 malformed or a
 * point off the curve (bad_key); 403 trustee_not_validator; 409 bad_state (not a secret
 * election in set-up), exists; 413; 415; 422 trustee_setup_hash, secrecy_params,
 * trustee_proof, trustee_signature; 503 busy. The entry's own signature is its
 * authentication: only the validator's key makes it. */
static cv_err post_entry(cv_req *r)
{
	cv_trustee t;
	json_object *o;
	cv_err e = cv_trustee_from_json(r->json, &t);

	if (e != CV_OK) {
		r->message = "Expected a trustee entry: {\"setup_hash\", \"validator_key\", "
		             "\"commitments\", \"proofs\": [{\"c\", \"v\"}...], \"signature\"}.";
		return e;
	}
	e = cv_store_put_trustee(r->store, &t);
	if (e == CV_E_TRUSTEE_PROOF) {
		/* a commitment off the curve is no point, so its proof fails: say which */
		for (size_t k = 0; k < t.n_coeffs; k++)
			if (cv_point_check(t.commitments[k]) != CV_OK) {
				r->message = "A commitment is not a P-256 point.";
				e = CV_E_BAD_KEY;
			}
	}
	if (e == CV_OK && (o = json_object_new_object()) != NULL) {
		cv_json_add_hex(o, "validator_key", t.validator_key, CV_KEY_LEN);
		e = cv_reply_json(r, 201, o);
	} else if (e == CV_OK) {
		e = CV_E_NOMEM;
	}
	ceremony_why(r, e);
	cv_trustee_free(&t);
	return e;
}

/* POST /api/ceremony/shares {sealed share}: 201 {"sender", "recipient"}; 400 malformed,
 * bad_key; 403 decryption_not_trustee (sender or recipient not a trustee, or the same);
 * 409 bad_state, exists; 413; 415; 422 bad_signature (the sender's), trustee_setup_hash;
 * 503 busy. The service cannot read the share: only the recipient's key opens it. */
static cv_err post_share(cv_req *r)
{
	cv_sealed_share sh;
	json_object *o;
	cv_err e = cv_api_sealed_read(r->json, &sh);

	if (e != CV_OK) {
		r->message = "Expected a sealed share: {\"setup_hash\", \"sender\", \"recipient\", "
		             "\"ephemeral\", \"nonce\", \"ciphertext\", \"tag\", \"signature\"}.";
		return e;
	}
	if ((e = cv_store_put_share(r->store, &sh)) != CV_OK) {
		ceremony_why(r, e);
		if (e == CV_E_DECRYPTION_NOT_TRUSTEE)
			r->message = "Shares go from one trustee (a validator) to another.";
		return e;
	}
	if ((o = json_object_new_object()) == NULL)
		return CV_E_NOMEM;
	cv_json_add_hex(o, "sender", sh.sender, CV_KEY_LEN);
	cv_json_add_hex(o, "recipient", sh.recipient, CV_KEY_LEN);
	return cv_reply_json(r, 201, o);
}

/* GET /api/ceremony/shares/{key}: 200 {"shares": [sealed share...]} addressed to the
 * trustee with that validator key (130 hex digits), by sender; 400 not a key; 404 no
 * election; 503 busy. Public: each is sealed to its recipient. */
static cv_err get_shares(cv_req *r)
{
	uint8_t key[CV_KEY_LEN];
	cv_sealed_share *items = NULL;
	json_object *o = NULL, *list = NULL;
	size_t n = 0;
	cv_err e;

	if (cv_hex_decode(r->args[0], key, CV_KEY_LEN) != CV_OK) {
		r->message = "Expected a validator key: 130 lowercase hex digits.";
		return CV_E_MALFORMED;
	}
	if ((e = cv_store_shares_to(r->store, key, &items, &n)) != CV_OK)
		return e;
	o = json_object_new_object();
	list = json_object_new_array();
	e = CV_E_NOMEM;
	if (o == NULL || list == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		json_object *item = cv_api_sealed_json(&items[i]);

		if (item == NULL || json_object_array_add(list, item) != 0) {
			json_object_put(item);
			goto out;
		}
	}
	json_object_object_add(o, "shares", list);
	list = NULL;
	e = cv_reply_json(r, 200, o);
	o = NULL;
out:
	json_object_put(o);
	json_object_put(list);
	free(items);
	return e;
}

/* POST /api/ceremony/checks {share check}: 201 {"good"}; 400 malformed, bad_key; 403
 * decryption_not_trustee; 404 no such share; 409 bad_state, exists; 413; 415; 422
 * bad_signature, trustee_setup_hash; 503 busy. A check with "good": false is a
 * complaint: it blocks the open until the admin resets the ceremony. */
static cv_err post_check(cv_req *r)
{
	cv_share_check c;
	json_object *o;
	cv_err e = cv_api_check_read(r->json, &c);

	if (e != CV_OK) {
		r->message = "Expected a share check: {\"setup_hash\", \"trustee\", \"sender\", "
		             "\"good\", \"signature\"}.";
		return e;
	}
	if ((e = cv_store_put_check(r->store, &c)) != CV_OK) {
		ceremony_why(r, e);
		if (e == CV_E_NOT_FOUND)
			r->message = "No share from that sender to that trustee is posted.";
		return e;
	}
	if ((o = json_object_new_object()) == NULL)
		return CV_E_NOMEM;
	json_object_object_add(o, "good", json_object_new_boolean(c.good));
	return cv_reply_json(r, 201, o);
}

static const cv_route routes[] = {
    {"GET", "/api/ceremony", CV_BODY_NONE, get_ceremony},
    {"POST", "/api/ceremony/entries", CV_BODY_JSON, post_entry},
    {"POST", "/api/ceremony/shares", CV_BODY_JSON, post_share},
    {"GET", "/api/ceremony/shares/:", CV_BODY_NONE, get_shares},
    {"POST", "/api/ceremony/checks", CV_BODY_JSON, post_check},
    {"GET", "/api/proposals", CV_BODY_NONE, list_proposals},
    {"GET", "/api/proposals/:", CV_BODY_NONE, get_proposal},
    {"POST", "/api/proposals/:/approvals", CV_BODY_JSON, post_approval},
    {"POST", "/api/proposals/:/rejections", CV_BODY_JSON, post_rejection},
    {"GET", "/api/equivocations", CV_BODY_NONE, list_equivocations},
    {"GET", "/api/changes", CV_BODY_NONE, list_changes},
    {"POST", "/api/changes", CV_BODY_JSON, post_change},
    {"POST", "/api/changes/:/signatures", CV_BODY_JSON, post_change_signature},
};

static const cv_program program = {"validate", routes, sizeof routes / sizeof routes[0],
                                   VALIDATE_MAX_BODY, true};

int main(int argc, char **argv)
{
	return cv_service_main(argc, argv, &program);
}
