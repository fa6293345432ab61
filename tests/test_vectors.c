/* Reproduces, byte for byte, every value of vectors/components.json and checks every
 * signature of vectors/chain.json, so that our encodings, hashes, Merkle trees and proof
 * of work agree with an independent implementation of DESIGN section 2. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "chain.h"
#include "crypto.h"
#include "merkle.h"
#include "pow.h"

static json_object *components, *chain, *keys;
static cv_genesis genesis;

/* ---- loading the vectors (the test parses them by hand, independent of lib/json.c) */

static json_object *load_json(const char *name)
{
	const char *dir = getenv("VECTORS");
	char path[4096];
	json_object *o;

	snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "../shared/vectors", name);
	o = json_object_from_file(path);
	if (o == NULL) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	return o;
}

/* Borrowed member lookup along a path of keys; aborts when missing, since every test
 * depends on the vectors being there. */
static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v)) {
		fprintf(stderr, "vectors: missing \"%s\"\n", key);
		exit(2);
	}
	return v;
}

static const char *get_str(json_object *o, const char *key)
{
	return json_object_get_string(get(o, key));
}

static uint64_t get_u64(json_object *o, const char *key)
{
	return (uint64_t)json_object_get_int64(get(o, key));
}

static void hex_in(const char *hex, uint8_t *out, size_t n)
{
	if (cv_hex_decode(hex, out, n) != CV_OK) {
		fprintf(stderr, "vectors: bad hex %s\n", hex);
		exit(2);
	}
}

/* Lowercase hex of p, in one of a few rotating static buffers (for CHECK_STR). */
static const char *hex(const uint8_t *p, size_t n)
{
	static char bufs[4][2 * 1024 + 1];
	static int next;
	char *out = bufs[next++ % 4];

	if (n > 1024)
		return "(too long)";
	cv_hex_encode(p, n, out);
	return out;
}

static json_object *block(size_t height)
{
	return json_object_array_get_idx(get(chain, "blocks"), height);
}

static void parse_vote(json_object *o, cv_vote *v)
{
	hex_in(get_str(o, "election_id"), v->election_id, CV_HASH_LEN);
	hex_in(get_str(o, "voter_key"), v->voter_key, CV_KEY_LEN);
	v->candidate_id = (uint32_t)get_u64(o, "candidate_id");
	v->timestamp = get_u64(o, "timestamp");
	hex_in(get_str(o, "signature"), v->signature, CV_SIG_LEN);
}

static void parse_header(json_object *o, cv_header *h)
{
	h->version = (uint32_t)get_u64(o, "version");
	h->height = get_u64(o, "height");
	hex_in(get_str(o, "prev_hash"), h->prev_hash, CV_HASH_LEN);
	hex_in(get_str(o, "merkle_root"), h->merkle_root, CV_HASH_LEN);
	h->timestamp = get_u64(o, "timestamp");
	h->difficulty = (uint32_t)get_u64(o, "difficulty");
	h->nonce = get_u64(o, "nonce");
}

/* The votes of block `height` as a malloc'd array. */
static cv_vote *block_votes(size_t height, size_t *n)
{
	json_object *arr = get(block(height), "votes");
	cv_vote *votes;
	size_t i;

	*n = json_object_array_length(arr);
	votes = calloc(*n, sizeof *votes);
	for (i = 0; i < *n; i++)
		parse_vote(json_object_array_get_idx(arr, i), &votes[i]);
	return votes;
}

static void build_genesis(cv_genesis *g)
{
	json_object *b = block(0), *e = get(b, "election"), *arr;
	size_t i;

	memset(g, 0, sizeof *g);
	snprintf(g->election.title, sizeof g->election.title, "%s", get_str(e, "title"));
	g->election.threshold = (uint8_t)get_u64(e, "threshold");
	g->election.difficulty = (uint8_t)get_u64(e, "difficulty");
	g->election.max_block_votes = (uint32_t)get_u64(e, "max_block_votes");
	g->election.opens = get_u64(e, "opens");
	g->election.closes = get_u64(e, "closes");
	arr = get(b, "candidates");
	g->n_candidates = json_object_array_length(arr);
	g->candidates = calloc(g->n_candidates, sizeof *g->candidates);
	for (i = 0; i < g->n_candidates; i++) {
		json_object *c = json_object_array_get_idx(arr, i);

		g->candidates[i].id = (uint32_t)get_u64(c, "id");
		snprintf(g->candidates[i].name, sizeof g->candidates[i].name, "%s", get_str(c, "name"));
	}
	arr = get(b, "validators");
	g->n_validators = json_object_array_length(arr);
	g->validators = calloc(g->n_validators, sizeof *g->validators);
	for (i = 0; i < g->n_validators; i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		hex_in(get_str(v, "key"), g->validators[i].key, CV_KEY_LEN);
		snprintf(g->validators[i].name, sizeof g->validators[i].name, "%s", get_str(v, "name"));
	}
	arr = get(b, "voters");
	g->n_voters = json_object_array_length(arr);
	g->voters = calloc(g->n_voters, CV_KEY_LEN);
	for (i = 0; i < g->n_voters; i++)
		hex_in(json_object_get_string(json_object_array_get_idx(arr, i)), g->voters[i], CV_KEY_LEN);
}

/* A deep copy of the reference genesis for tests that damage it. */
static void copy_genesis(cv_genesis *dst)
{
	build_genesis(dst);
}

/* ---- genesis */

TEST_genesis_entries_match_vectors(void);
static void genesis_entries_match_vectors(void)
{
	json_object *want = get(components, "genesis_entries_hex");
	json_object *want_hash = get(components, "genesis_leaf_hashes_hex");
	cv_buf b = {0};
	uint8_t leaf_hash[CV_HASH_LEN];
	size_t i, at = 0;

	CHECK_EQ_INT(json_object_array_length(want), 1 + genesis.n_candidates + genesis.n_validators + genesis.n_voters);
	for (at = 0; at < json_object_array_length(want); at++) {
		cv_buf_reset(&b);
		if (at == 0) {
			CHECK_EQ_INT(cv_election_entry(&genesis.election, &b), CV_OK);
		} else if ((i = at - 1) < genesis.n_candidates) {
			CHECK_EQ_INT(cv_candidate_entry(&genesis.candidates[i], &b), CV_OK);
		} else if ((i -= genesis.n_candidates) < genesis.n_validators) {
			CHECK_EQ_INT(cv_validator_entry(&genesis.validators[i], &b), CV_OK);
		} else {
			i -= genesis.n_validators;
			CHECK_EQ_INT(cv_voter_entry(genesis.voters[i], &b), CV_OK);
		}
		CHECK_STR(hex(b.data, b.len), json_object_get_string(json_object_array_get_idx(want, at)));
		cv_merkle_leaf_hash(b.data, b.len, leaf_hash);
		CHECK_STR(hex(leaf_hash, CV_HASH_LEN),
			  json_object_get_string(json_object_array_get_idx(want_hash, at)));
	}
	cv_buf_free(&b);
}
