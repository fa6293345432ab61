/* blocks.fcgi: the miners' side: a template for the next block, and mined blocks in
 * return, which become proposals once they pass rules 1-5 against the tip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "json.h"
#include "service.h"
#include "store.h"

#define BLOCK_MAX_BODY (2 * 1024 * 1024)

/* GET /api/work: 200 {"version", "height", "prev_hash", "difficulty", "timestamp",
 * "merkle_root", "nonce", "votes"} ("votes": [] when the pool is empty; after the close,
 * once the votes pending at it are committed, "votes": [] and "seal": the seal block to
 * mine); 404 no election; 409 in setup, or "sealed" once the seal is committed; 503
 * busy. */
static cv_err get_work(cv_req *r)
{
	cv_block b = {0};
	cv_err e;

	if ((e = cv_store_work(r->store, cv_now(), &b)) != CV_OK)
		return e;
	e = cv_reply_json(r, 200, cv_api_work_json(&b));
	cv_block_free(&b);
	return e;
}

/* POST /api/blocks: 202 {"hash", "height", "status": "proposed"}; 400 malformed (or
 * carrying approvals); 409 stale (does not extend the tip), exists, same_votes (a
 * proposal with the same merkle root waits) or proposals_full (the height keeps no more,
 * see cv_store_add_proposal); 413; 415; 422 a broken rule, with "vote": index when a vote
 * broke it; 503 busy. */
static cv_err post_block(cv_req *r)
{
	cv_block b = {0};
	size_t bad_vote = SIZE_MAX;
	json_object *o = NULL, *inner;
	cv_err e;

	if ((e = cv_block_from_json(r->json, &b)) != CV_OK) {
		r->message = "Expected a block in the public JSON form.";
		return e;
	}
	if (b.genesis != NULL) {
		r->message = "A genesis block cannot be proposed.";
		e = CV_E_BAD_HEIGHT;
		goto out;
	}
	if (b.n_approvals != 0) {
		r->message = "A proposal carries no approvals; validators post theirs to "
		             "/api/proposals/{hash}/approvals.";
		e = CV_E_MALFORMED;
		goto out;
	}
	e = cv_store_add_proposal(r->store, &b, cv_now(), &bad_vote);
	if (e != CV_OK) {
		/* a vote's failure names the vote, so the miner can drop it */
		o = cv_error_json(e, e == CV_E_STALE ? "The block does not extend the current tip; "
		                                       "fetch new work."
		                                     : NULL);
		if (o != NULL && bad_vote != SIZE_MAX &&
		    json_object_object_get_ex(o, "error", &inner))
			json_object_object_add(inner, "vote", json_object_new_uint64(bad_vote));
		cv_reply_json(r, cv_err_http_status(e), o);
		goto out;
	}
	o = json_object_new_object();
	if (o != NULL) {
		cv_json_add_hex(o, "hash", b.hash, CV_HASH_LEN);
		json_object_object_add(o, "height", json_object_new_uint64(b.header.height));
		json_object_object_add(o, "status", json_object_new_string("proposed"));
	}
	e = cv_reply_json(r, 202, o);
out:
	cv_block_free(&b);
	return e;
}

static const cv_route routes[] = {
    {"GET", "/api/work", CV_BODY_NONE, get_work},
    {"POST", "/api/blocks", CV_BODY_JSON, post_block},
};

static const cv_program program = {"blocks", routes, sizeof routes / sizeof routes[0],
                                   BLOCK_MAX_BODY};

int main(int argc, char **argv)
{
	return cv_service_main(argc, argv, &program);
}
