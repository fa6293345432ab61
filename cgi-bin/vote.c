/* vote.fcgi: voters post signed votes into the pool and follow them until a block
 * holds them (with the inclusion proof); anyone may list the pool. */
#include <stdlib.h>
#include <string.h>

#include "acceptance.h"
#include "json.h"
#include "service.h"
#include "store.h"

#define POOL_DEFAULT 100
#define POOL_MAX     1000
/* a vote's JSON is about 450 bytes; a secret election's ballot about 600 per candidate */
#define VOTE_MAX_BODY (64 * 1024)

/* The service's key, loaded (made at the first start) by the master before the workers
 * fork: every 202 carries an acceptance it signs. */
static cv_privkey *service_key;

static cv_err load_service_key(const char *data_dir)
{
	return cv_service_key_load(data_dir, true, &service_key);
}

/* The 202 of a ballot or share taken into the pool: {"txid", "status": "pending",
 * "acceptance"}. */
static cv_err reply_accepted(cv_req *r, const uint8_t txid[CV_HASH_LEN], const cv_acceptance *acc)
{
	json_object *o = json_object_new_object();

	if (o != NULL) {
		cv_json_add_hex(o, "txid", txid, CV_HASH_LEN);
		json_object_object_add(o, "status", json_object_new_string("pending"));
		json_object_object_add(o, "acceptance", cv_acceptance_to_json(acc));
	}
	return cv_reply_json(r, 202, o);
}

/* An error answer that names the position of a ballot a proof failed at. */
static cv_err reply_refused(cv_req *r, cv_err e, size_t pos)
{
	json_object *o, *inner;

	if (pos == SIZE_MAX)
		return e;
	o = cv_error_json(e, NULL);
	if (o != NULL && json_object_object_get_ex(o, "error", &inner))
		json_object_object_add(inner, "position", json_object_new_uint64(pos));
	cv_reply_json(r, cv_err_http_status(e), o);
	return e;
}

/* A secret election's ballot (DESIGN 6.1), as post_vote answers a vote: checked whole
 * (cv_store_add_ballot: the proofs against K, the roll, the time rules, the close, one
 * ballot per voter) before it enters the pool; 422 with "position" when a proof fails
 * at one. A ballot is larger than the batch of votes is built for and costs its proofs
 * anyway, so it is written on its own (one transaction, one flush). */
static cv_err post_ballot(cv_req *r)
{
	cv_ballot bl;
	cv_acceptance acc = {0};
	uint8_t txid[CV_HASH_LEN];
	size_t pos = SIZE_MAX;
	cv_err e;

	if ((e = cv_ballot_from_json(r->json, &bl)) != CV_OK) {
		if (e == CV_E_MALFORMED)
			r->message = "Expected a ballot: {\"election_id\", \"voter_key\", "
			             "\"timestamp\", \"ciphertexts\", \"proofs\", \"sum_proof\", "
			             "\"signature\"}.";
		return e;
	}
	if ((e = cv_ballot_txid(&bl, txid)) == CV_OK)
		e = cv_acceptance_sign(service_key, txid, cv_now(), &acc);
	if (e == CV_OK)
		e = cv_store_add_ballot(r->store, &bl, acc.accepted_at, txid, &pos);
	cv_ballot_free(&bl);
	if (e != CV_OK)
		return reply_refused(r, e, pos);
	return reply_accepted(r, txid, &acc);
}

/* POST /api/votes: 202 {"txid", "status": "pending", "acceptance"}; 400 malformed;
 * 403 not_on_roll; 409 already_voted, not_open, closed; 413; 415; 422 a broken rule
 * (signature, candidate, election, time; wrong_mode: a vote in a secret election or a
 * ballot in an open one); 503 busy or recovering. A secret election takes ballots here
 * (post_ballot). The vote is written
 * with the others the workers bring at the same time (one transaction, one flush), and
 * the acceptance is answered only after that flush, so a voter never holds one for a
 * vote the service could still lose; accepted_at is the time the vote's rules were
 * checked at. */
static cv_err post_vote(cv_req *r)
{
	cv_vote v;
	cv_acceptance acc;
	cv_err e;

	/* a ballot says so by its ciphertexts; the store refuses either in the wrong mode */
	if (json_object_object_get_ex(r->json, "ciphertexts", NULL))
		return post_ballot(r);
	if ((e = cv_vote_from_json(r->json, &v)) != CV_OK) {
		if (e == CV_E_MALFORMED)
			r->message =
			    "Expected a vote: {\"election_id\", \"voter_key\", \"candidate_id\", "
			    "\"timestamp\", \"signature\"}.";
		return e;
	}
	/* the acceptance leaves this process only once the vote is in the pool */
	if ((e = cv_req_add_vote(r, &v, service_key, &acc)) != CV_OK)
		return e;
	return reply_accepted(r, acc.txid, &acc);
}

/* POST /api/decryptions: a trustee's decryption share (DESIGN 6.1) once the seal is
 * committed: 202 {"txid", "status": "pending", "acceptance"}; 400 malformed; 409
 * decryption_before_seal, decryption_duplicate (the trustee has a share in the pool or
 * the chain), not_open; 413; 415; 422 a broken rule (not a trustee, through_height, a
 * proof, the signature, wrong_mode in an open election); 503 busy. */
static cv_err post_decryption(cv_req *r)
{
	cv_decryption d;
	cv_acceptance acc = {0};
	uint8_t txid[CV_HASH_LEN];
	cv_err e;

	if ((e = cv_decryption_from_json(r->json, &d)) != CV_OK) {
		if (e == CV_E_MALFORMED)
			r->message = "Expected a decryption share: {\"election_id\", "
			             "\"validator_key\", \"through_height\", \"shares\", "
			             "\"signature\"}.";
		return e;
	}
	if ((e = cv_decryption_txid(&d, txid)) == CV_OK)
		e = cv_acceptance_sign(service_key, txid, cv_now(), &acc);
	if (e == CV_OK)
		e = cv_store_add_decryption(r->store, &d, acc.accepted_at, txid);
	cv_decryption_free(&d);
	return e != CV_OK ? e : reply_accepted(r, txid, &acc);
}

/* The item a txid names, in its public JSON: a vote, a ballot or a share. */
static json_object *status_item_json(const cv_vote_status *st)
{
	if (st->kind == CV_ITEM_BALLOT)
		return cv_ballot_to_json(&st->ballot, true);
	if (st->kind == CV_ITEM_DECRYPTION)
		return cv_decryption_to_json(&st->decryption, true);
	return cv_vote_to_json(&st->vote, true);
}

/* The proposals at the next height that hold pending vote v (txid): each as {"hash",
 * "height", "n_approvals"}, for a voter to see a vote that waits for approvals rather
 * than for a miner. A voter has one vote, so only a vote by the same key is hashed.
 * Returns a new array (the caller owns it), or NULL on a failure. */
static json_object *proposals_holding(cv_req *r, const cv_vote *v, const uint8_t txid[CV_HASH_LEN])
{
	cv_proposal *props = NULL;
	size_t n = 0;
	json_object *list = json_object_new_array();

	if (list == NULL || cv_store_proposals(r->store, &props, &n) != CV_OK) {
		json_object_put(list);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const cv_block *b = &props[i].block;
		bool holds = false;

		for (size_t j = 0; j < b->n_votes && !holds; j++) {
			uint8_t other[CV_HASH_LEN];

			if (memcmp(b->votes[j].voter_key, v->voter_key, CV_KEY_LEN) != 0)
				continue;
			cv_vote_txid(&b->votes[j], other);
			holds = memcmp(other, txid, CV_HASH_LEN) == 0;
		}
		if (holds) {
			json_object *p = json_object_new_object();
			size_t n_approvals = 0;

			if (p == NULL || json_object_array_add(list, p) != 0) {
				json_object_put(p);
				break;
			}
			for (size_t k = 0; k < props[i].n_verdicts; k++)
				n_approvals += props[i].verdicts[k].approve;
			cv_json_add_hex(p, "hash", b->hash, CV_HASH_LEN);
			json_object_object_add(p, "height",
			                       json_object_new_uint64(b->header.height));
			json_object_object_add(p, "n_approvals",
			                       json_object_new_uint64(n_approvals));
		}
	}
	cv_proposals_free(props, n);
	return list;
}

/* GET /api/votes/{txid}: 200 pending (with "proposals", the blocks proposed at the next
 * height that hold it, and "threshold", the approvals one needs), or committed with
 * height, block_hash, index, tree_size and the audit path; 400 not a txid; 404 unknown;
 * 503 busy. */
static cv_err get_vote(cv_req *r)
{
	uint8_t txid[CV_HASH_LEN];
	cv_vote_status st;
	json_object *o, *path;
	cv_err e;

	if ((e = cv_req_arg_hash(r, 0, txid)) != CV_OK)
		return e;
	if ((e = cv_store_vote_status(r->store, txid, &st)) != CV_OK) {
		if (e == CV_E_NOT_FOUND)
			r->message = "No vote with that txid is pending or committed.";
		return e;
	}
	o = json_object_new_object();
	if (o == NULL)
		return CV_E_NOMEM;
	cv_json_add_hex(o, "txid", txid, CV_HASH_LEN);
	json_object_object_add(o, "status",
	                       json_object_new_string(st.committed ? "committed" : "pending"));
	/* a secret election's item: "ballot" or "decryption" in place of "vote" */
	json_object_object_add(o,
	                       st.kind == CV_ITEM_BALLOT       ? "ballot"
	                       : st.kind == CV_ITEM_DECRYPTION ? "decryption"
	                                                       : "vote",
	                       status_item_json(&st));
	if (st.committed) {
		json_object_object_add(o, "height", json_object_new_uint64(st.height));
		cv_json_add_hex(o, "block_hash", st.block_hash, CV_HASH_LEN);
		json_object_object_add(o, "index", json_object_new_uint64(st.index));
		json_object_object_add(o, "tree_size", json_object_new_uint64(st.tree_size));
		path = json_object_new_array();
		for (size_t i = 0; path != NULL && i < st.path_len && i < CV_MERKLE_MAX_PATH; i++) {
			char hex[2 * CV_HASH_LEN + 1];

			cv_hex_encode(st.path[i], CV_HASH_LEN, hex);
			json_object_array_add(path, json_object_new_string(hex));
		}
		json_object_object_add(o, "path", path);
	} else {
		cv_info info;

		/* where a pending vote waits is a courtesy: a store that cannot say leaves it out
		 */
		if (st.kind == CV_ITEM_VOTE && cv_req_info(r, &info) == CV_OK) {
			json_object *props = proposals_holding(r, &st.vote, txid);

			if (props != NULL) {
				json_object_object_add(o, "proposals", props);
				json_object_object_add(
				    o, "threshold",
				    json_object_new_uint64(info.settings.election.threshold));
			}
		}
	}
	cv_vote_status_free(&st);
	return cv_reply_json(r, 200, o);
}

/* A secret election's pending ballot or share in GET /api/pool: {"txid", "voter_key",
 * "timestamp"} or {"txid", "validator_key", "through_height"}, and "proofs": "verified"
 * (the pool holds only items whose proofs and signature the service checked at
 * admission). Never the ciphertexts: GET /api/votes/{txid} gives the whole ballot. */
static json_object *pool_entry_json(const cv_pool_entry *p)
{
	json_object *o = json_object_new_object();
	bool ballot = p->kind == CV_ITEM_BALLOT;

	if (o == NULL)
		return NULL;
	cv_json_add_hex(o, "txid", p->txid, CV_HASH_LEN);
	cv_json_add_hex(o, ballot ? "voter_key" : "validator_key", p->key, CV_KEY_LEN);
	json_object_object_add(o, ballot ? "timestamp" : "through_height",
	                       json_object_new_uint64(p->at));
	json_object_object_add(o, "proofs", json_object_new_string("verified"));
	return o;
}

/* A secret election's pool: "ballots": "secret", its pending ballots in "votes" (as its
 * blocks carry them) and its pending shares in "decryptions", each as pool_entry_json. */
static cv_err add_secret_pool(cv_req *r, size_t limit, json_object *o)
{
	cv_pool_entry *items = NULL;
	json_object *votes = json_object_new_array(), *shares = json_object_new_array();
	size_t n = 0;
	cv_err e;

	if (votes == NULL || shares == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	if ((e = cv_store_pool_secret(r->store, limit, &items, &n)) != CV_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		json_object *item = pool_entry_json(&items[i]);
		json_object *into = items[i].kind == CV_ITEM_BALLOT ? votes : shares;

		if (item == NULL || json_object_array_add(into, item) != 0) {
			json_object_put(item);
			e = CV_E_NOMEM;
			goto out;
		}
	}
	json_object_object_add(o, "ballots", json_object_new_string("secret"));
	json_object_object_add(o, "votes", votes);
	json_object_object_add(o, "decryptions", shares);
	votes = shares = NULL;
out:
	json_object_put(votes);
	json_object_put(shares);
	free(items);
	return e;
}

/* GET /api/pool?limit=N: the oldest N pending votes (1-1000, default 100) and the pool's
 * size; a secret election's pending ballots and shares (add_secret_pool). 200 (empty
 * before the election opens); 400 bad limit; 404 no election; 503 busy. */
static cv_err get_pool(cv_req *r)
{
	uint64_t limit;
	cv_info info;
	cv_vote *votes = NULL;
	size_t n = 0;
	json_object *o = NULL, *list = NULL;
	cv_err e;

	if ((e = cv_req_query_u64(r, "limit", 1, POOL_MAX, POOL_DEFAULT, &limit)) != CV_OK)
		return e;
	if ((e = cv_req_info(r, &info)) != CV_OK)
		return e;
	o = json_object_new_object();
	if (o == NULL)
		return CV_E_NOMEM;
	json_object_object_add(o, "pending", json_object_new_uint64(info.n_pending));
	if (info.settings.secret) {
		if ((e = add_secret_pool(r, (size_t)limit, o)) != CV_OK)
			goto out;
		e = cv_reply_json(r, 200, o);
		o = NULL;
		goto out;
	}
	if ((e = cv_store_pool(r->store, (size_t)limit, &votes, &n)) != CV_OK)
		goto out;
	list = json_object_new_array();
	if (list == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *v = cv_vote_to_json(&votes[i], true);

		if (v == NULL || json_object_array_add(list, v) != 0) {
			json_object_put(v);
			e = CV_E_NOMEM;
			goto out;
		}
	}
	json_object_object_add(o, "votes", list);
	list = NULL;
	e = cv_reply_json(r, 200, o);
	o = NULL;
out:
	json_object_put(o);
	json_object_put(list);
	free(votes);
	return e;
}

/* GET /api/voters/{key}: whether the key is on the roll and, if it has voted, its txid,
 * the vote and its status (both public: the roll is in the genesis block). 200; 400 not a
 * key; 404 no election; 503 busy. */
static cv_err get_voter(cv_req *r)
{
	uint8_t key[CV_KEY_LEN], txid[CV_HASH_LEN];
	bool on_roll, has_vote;
	cv_vote_status st;
	json_object *o;
	cv_err e;

	if (r->n_args < 1 || cv_hex_decode(r->args[0], key, CV_KEY_LEN) != CV_OK) {
		r->message = "Expected a public key: 130 lowercase hex digits in the path.";
		return CV_E_MALFORMED;
	}
	if ((e = cv_store_voter(r->store, key, &on_roll, &has_vote, txid)) != CV_OK)
		return e;
	o = json_object_new_object();
	if (o == NULL)
		return CV_E_NOMEM;
	cv_json_add_hex(o, "voter_key", key, CV_KEY_LEN);
	json_object_object_add(o, "on_roll", json_object_new_boolean(on_roll));
	if (has_vote && cv_store_vote_status(r->store, txid, &st) == CV_OK) {
		cv_json_add_hex(o, "txid", txid, CV_HASH_LEN);
		json_object_object_add(
		    o, "status", json_object_new_string(st.committed ? "committed" : "pending"));
		json_object_object_add(o, st.kind == CV_ITEM_BALLOT ? "ballot" : "vote",
		                       status_item_json(&st));
		if (st.committed)
			json_object_object_add(o, "height", json_object_new_uint64(st.height));
		cv_vote_status_free(&st);
	} else {
		json_object_object_add(o, "txid", NULL);
		json_object_object_add(o, "status", json_object_new_string("not_voted"));
	}
	return cv_reply_json(r, 200, o);
}

static const cv_route routes[] = {
    {"POST", "/api/votes", CV_BODY_JSON, post_vote},
    {"GET", "/api/votes/:", CV_BODY_NONE, get_vote},
    {"GET", "/api/pool", CV_BODY_NONE, get_pool},
    {"GET", "/api/voters/:", CV_BODY_NONE, get_voter},
    {"POST", "/api/decryptions", CV_BODY_JSON, post_decryption},
};

static const cv_program program = {
    .name = "vote",
    .routes = routes,
    .n_routes = sizeof routes / sizeof routes[0],
    .max_body = VOTE_MAX_BODY,
    .start = load_service_key,
};

int main(int argc, char **argv)
{
	return cv_service_main(argc, argv, &program);
}
