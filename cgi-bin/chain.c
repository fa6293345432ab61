/* chain.fcgi: the public, read-only view of the election and its chain: the election,
 * the results, committed blocks and the whole chain export, and the list of elections.
 * Nothing here writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acceptance.h"
#include "bytes.h"
#include "json.h"
#include "service.h"
#include "store.h"

#define BLOCKS_DEFAULT 20
#define BLOCKS_MAX     100

/* The public half of the key that signs vote acceptances (cgi-bin/vote.c), read (made
 * at the first start) by the master before the workers fork. */
static uint8_t service_key[CV_KEY_LEN];

static cv_err load_service_key(const char *data_dir)
{
	cv_privkey *k = NULL;
	cv_err e = cv_service_key_load(data_dir, true, &k);

	if (e == CV_OK)
		cv_privkey_public(k, service_key);
	cv_privkey_free(k);
	return e;
}

/* GET /api/election: 200 (with "service_key", the key that signs vote acceptances);
 * 404 no election yet; 503 busy. */
static cv_err get_election(cv_req *r)
{
	cv_info info;
	cv_genesis g = {0};
	json_object *o;
	cv_err e;

	if ((e = cv_req_info(r, &info)) != CV_OK)
		return e;
	if ((e = cv_store_genesis(r->store, false, &g)) != CV_OK)
		return e;
	o = cv_election_json(&info, &g);
	cv_genesis_free(&g);
	if (o != NULL)
		cv_json_add_hex(o, "service_key", service_key, CV_KEY_LEN);
	return cv_reply_json(r, 200, o);
}

/* GET /api/elections: 200 every election with its state (cv_api_elections_json); 503
 * busy. */
static cv_err list_elections(cv_req *r)
{
	json_object *o;
	cv_err e = cv_api_elections_json(r->root, &o);

	return e == CV_OK ? cv_reply_json(r, 200, o) : e;
}

static uint64_t votes_of(const cv_tally *t, uint32_t id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->ids[i] == id)
			return t->votes[i];
	return 0;
}

/* GET /api/results: 200 (with "hidden": true and no counts per candidate while the
 * settings keep results until the close: until the seal is committed); "final" once it
 * is, when the tally can no longer change; 404 no election; 503 busy. A secret election
 * (DESIGN 6.1) adds "ballots": "secret" and "decrypted": its counts ("votes", "total")
 * appear only once quorum trustees' shares are committed and decrypt them; before, the
 * tally is pending and turnout (ballots committed, electorate) is all there is. */
static cv_err get_results(cv_req *r)
{
	cv_info info;
	cv_genesis g = {0};
	cv_tally t = {0};
	json_object *o = NULL, *list = NULL;
	char turnout_text[32];
	double turnout;
	bool hidden, decrypted;
	cv_err e;

	if ((e = cv_req_info(r, &info)) != CV_OK)
		return e;
	hidden = info.settings.results_after_close && !info.final;
	if ((e = cv_store_genesis(r->store, false, &g)) != CV_OK)
		goto out;
	if (info.state != CV_STATE_SETUP && (e = cv_store_tally(r->store, &t)) != CV_OK)
		goto out;
	/* a secret election's counts exist only once decrypted */
	decrypted = info.settings.secret && info.state != CV_STATE_SETUP && !t.pending;
	if (info.settings.secret && !decrypted)
		hidden = true;
	o = json_object_new_object();
	list = json_object_new_array();
	if (o == NULL || list == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < g.n_candidates; i++) {
		json_object *c = json_object_new_object();

		if (c == NULL || json_object_array_add(list, c) != 0) {
			json_object_put(c);
			e = CV_E_NOMEM;
			goto out;
		}
		json_object_object_add(c, "id", json_object_new_uint64(g.candidates[i].id));
		json_object_object_add(c, "name", json_object_new_string(g.candidates[i].name));
		if (!hidden)
			json_object_object_add(
			    c, "votes", json_object_new_uint64(votes_of(&t, g.candidates[i].id)));
	}
	json_object_object_add(o, "state", json_object_new_string(cv_state_name(info.state)));
	json_object_object_add(o, "final", json_object_new_boolean(info.final));
	json_object_object_add(o, "hidden", json_object_new_boolean(hidden));
	if (info.settings.secret) {
		json_object_object_add(o, "ballots", json_object_new_string("secret"));
		json_object_object_add(o, "decrypted", json_object_new_boolean(decrypted));
	}
	json_object_object_add(o, "tally", list);
	list = NULL;
	if (!hidden)
		json_object_object_add(o, "total", json_object_new_uint64(t.total));
	json_object_object_add(o, "committed", json_object_new_uint64(info.n_committed));
	json_object_object_add(o, "pending", json_object_new_uint64(info.n_pending));
	json_object_object_add(o, "roll_size", json_object_new_uint64(info.n_voters));
	json_object_object_add(o, "electorate", json_object_new_uint64(info.n_electorate));
	/* committed votes over everyone entitled to vote (an entry that never registered
	 * counts: it is someone who did not vote), a fraction from 0 to 1, written short
	 * ("0.2", not "0.20000000000000001") */
	turnout = info.n_electorate ? (double)info.n_committed / (double)info.n_electorate : 0.0;
	snprintf(turnout_text, sizeof turnout_text, "%.6g", turnout);
	json_object_object_add(o, "turnout", json_object_new_double_s(turnout, turnout_text));
	if (info.state != CV_STATE_SETUP)
		json_object_object_add(o, "tip_height", json_object_new_uint64(info.tip_height));
	else
		json_object_object_add(o, "tip_height", NULL);
	e = cv_reply_json(r, 200, o);
	o = NULL;
out:
	json_object_put(o);
	json_object_put(list);
	cv_genesis_free(&g);
	cv_tally_free(&t);
	return e;
}

/* Appends committed block `height` in the public JSON to list. */
static cv_err add_block(cv_req *r, uint64_t height, json_object *list)
{
	cv_block b = {0};
	json_object *o;
	cv_err e;

	if ((e = cv_store_block(r->store, height, &b)) != CV_OK)
		return e;
	o = cv_block_to_json(&b);
	cv_block_free(&b);
	if (o == NULL || json_object_array_add(list, o) != 0) {
		json_object_put(o);
		return CV_E_NOMEM;
	}
	return CV_OK;
}

/* GET /api/blocks?from=H&limit=N: with from, up to N blocks ascending from height H;
 * without, the last N newest first (N 1-100, default 20). 200; 400 bad query; 404 no
 * election; 503 busy. */
static cv_err list_blocks(cv_req *r)
{
	cv_info info;
	uint64_t from, limit;
	bool ascending;
	json_object *o = NULL, *list = NULL;
	cv_err e;

	if ((e = cv_req_query_u64(r, "limit", 1, BLOCKS_MAX, BLOCKS_DEFAULT, &limit)) != CV_OK)
		return e;
	if ((e = cv_req_query_u64(r, "from", 0, UINT64_MAX - 1, UINT64_MAX, &from)) != CV_OK)
		return e;
	ascending = from != UINT64_MAX;
	if ((e = cv_req_info(r, &info)) != CV_OK)
		return e;
	o = json_object_new_object();
	list = json_object_new_array();
	if (o == NULL || list == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	if (info.state != CV_STATE_SETUP) {
		uint64_t tip = info.tip_height;

		if (ascending) {
			for (uint64_t h = from; h <= tip && h - from < limit; h++)
				if ((e = add_block(r, h, list)) != CV_OK)
					goto out;
		} else {
			for (uint64_t i = 0; i < limit && i <= tip; i++)
				if ((e = add_block(r, tip - i, list)) != CV_OK)
					goto out;
		}
		json_object_object_add(o, "tip_height", json_object_new_uint64(tip));
	} else {
		json_object_object_add(o, "tip_height", NULL);
	}
	json_object_object_add(o, "blocks", list);
	list = NULL;
	e = cv_reply_json(r, 200, o);
	o = NULL;
out:
	json_object_put(o);
	json_object_put(list);
	return e;
}

/* GET /api/blocks/{height or 64-hex hash}: 200; 304 when If-None-Match names the
 * block's hash; 400 neither; 404 unknown; 503 busy. A committed block never changes
 * (its hash is its ETag, and it may be cached for good). A conditional request by hash
 * is answered without the store: a client holds that tag only from an earlier 200.
 * Compressed here (gzip) when nginx says the client takes it: nginx keeps each form
 * and serves it again as it is, rather than compressing the block on every read. */
static cv_err get_block(cv_req *r)
{
	const char *arg = r->args[0];
	uint8_t hash[CV_HASH_LEN];
	char etag[2 * CV_HASH_LEN + 1];
	cv_cache cache = {etag, CV_CACHE_IMMUTABLE, true, cv_req_wants_gzip(r)};
	uint64_t height;
	cv_block b = {0};
	cv_err e;

	if (strlen(arg) == 2 * CV_HASH_LEN) {
		if ((e = cv_req_arg_hash(r, 0, hash)) != CV_OK)
			return e;
		cv_hex_encode(hash, CV_HASH_LEN, etag);
		if (cv_req_not_modified(r, &cache))
			return CV_OK;
		e = cv_store_block_by_hash(r->store, hash, &b);
	} else if (cv_parse_u64(arg, 0, UINT64_MAX, &height) == CV_OK) {
		e = cv_store_block(r->store, height, &b);
	} else {
		r->message = "Expected a block height or a 64-hex block hash.";
		return CV_E_MALFORMED;
	}
	if (e == CV_E_NOT_FOUND)
		r->message = "No committed block has that height or hash.";
	if (e != CV_OK)
		return e;
	cv_hex_encode(b.hash, CV_HASH_LEN, etag);
	if (!cv_req_not_modified(r, &cache))
		e = cv_reply_json_cached(r, 200, cv_block_to_json(&b), &cache);
	cv_block_free(&b);
	return e;
}

/* Streams the export through height with the block hash at that height as ETag,
 * compressed on the way (gzip) when nginx says the client takes it: nginx keeps each
 * form of the export at a tip and serves it again as it is. */
static cv_err export_through(cv_req *r, uint64_t height, const char *etag)
{
	cv_cache cache = {etag, CV_CACHE_REVALIDATE, true, cv_req_wants_gzip(r)};
	cv_gzip_out *gz = NULL;
	cv_err e;

	if (cache.gzip) {
		if ((e = cv_reply_begin_gzip(r, 200, &cache, &gz)) != CV_OK)
			return e;
		e = cv_store_export_through(r->store, height, cv_reply_gzip_write, gz);
		if (cv_reply_gzip_end(gz, e == CV_OK) != 0 && e == CV_OK)
			e = CV_E_IO;
	} else {
		if ((e = cv_reply_begin_cached(r, 200, &cache)) != CV_OK)
			return e;
		e = cv_store_export_through(r->store, height, cv_reply_write, r);
	}
	if (e != CV_OK)
		cv_log("export cut short: %s", cv_err_code(e));
	return e == CV_E_RECOVER ? e : CV_OK;
}

/* GET /api/chain/export: 200 streamed; 304 when If-None-Match names the tip's hash;
 * 404 no election; 409 still in setup; 503 busy. The export up to a tip never changes,
 * so the tip's hash is its ETag; caches must ask again each time (the tip moves), and
 * asking costs one read of the tip. Behind nginx (the CV_EXPORT_AT parameter names its
 * internal location) the answer is a redirect there, to the export at this tip, which
 * nginx keeps once written and serves again as a file until the tip moves. Once the
 * first byte is out a failure can only cut the stream short, which leaves JSON that
 * does not parse: a reader cannot mistake it for a whole chain. */
static cv_err export_chain(cv_req *r)
{
	const char *at = cv_req_param(r, "CV_EXPORT_AT");
	cv_info info;
	char etag[2 * CV_HASH_LEN + 1], uri[128];
	cv_cache cache = {etag, CV_CACHE_REVALIDATE, true, false};
	cv_err e;

	if ((e = cv_req_info(r, &info)) != CV_OK)
		return e;
	if (info.state == CV_STATE_SETUP) {
		r->message = "The election has no chain until it opens.";
		return CV_E_BAD_STATE;
	}
	cv_hex_encode(info.tip_hash, CV_HASH_LEN, etag);
	if (cv_req_not_modified(r, &cache))
		return CV_OK;
	if (at != NULL && at[0] != '\0' &&
	    snprintf(uri, sizeof uri, "%s%s", at, etag) < (int)sizeof uri)
		return cv_reply_redirect_internal(r, uri, &cache);
	return export_through(r, info.tip_height, etag);
}

/* GET /api/chain/export/{block hash}: the export through that committed block (nginx's
 * internal location for the export at a tip; not routed from outside). 200 streamed;
 * 400 not a hash; 404 no such committed block; 503 busy. */
static cv_err export_at(cv_req *r)
{
	uint8_t hash[CV_HASH_LEN];
	char etag[2 * CV_HASH_LEN + 1];
	cv_block b = {0};
	uint64_t height;
	cv_err e;

	if ((e = cv_req_arg_hash(r, 0, hash)) != CV_OK)
		return e;
	if ((e = cv_store_block_by_hash(r->store, hash, &b)) == CV_E_NOT_FOUND)
		r->message = "No committed block has that hash.";
	if (e != CV_OK)
		return e;
	height = b.header.height;
	cv_block_free(&b);
	cv_hex_encode(hash, CV_HASH_LEN, etag);
	return export_through(r, height, etag);
}

static const cv_route routes[] = {
    {"GET", "/api/election", CV_BODY_NONE, get_election},
    {"GET", "/api/elections", CV_BODY_NONE, list_elections},
    {"GET", "/api/results", CV_BODY_NONE, get_results},
    {"GET", "/api/blocks", CV_BODY_NONE, list_blocks},
    {"GET", "/api/blocks/:", CV_BODY_NONE, get_block},
    {"GET", "/api/chain/export", CV_BODY_NONE, export_chain},
    {"GET", "/api/chain/export/:", CV_BODY_NONE, export_at},
    {"GET", "/api/cluster", CV_BODY_NONE, cv_cluster_handler},
};

static const cv_program program = {
    .name = "chain",
    .routes = routes,
    .n_routes = sizeof routes / sizeof routes[0],
    .start = load_service_key,
};

int main(int argc, char **argv)
{
	return cv_service_main(argc, argv, &program);
}
