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

/* ---- loading the vectors (the test parses them by hand, independent of lib/chain/json*.c) */

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
		snprintf(g->candidates[i].name, sizeof g->candidates[i].name, "%s",
		         get_str(c, "name"));
	}
	arr = get(b, "validators");
	g->n_validators = json_object_array_length(arr);
	g->validators = calloc(g->n_validators, sizeof *g->validators);
	for (i = 0; i < g->n_validators; i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		hex_in(get_str(v, "key"), g->validators[i].key, CV_KEY_LEN);
		snprintf(g->validators[i].name, sizeof g->validators[i].name, "%s",
		         get_str(v, "name"));
	}
	arr = get(b, "voters");
	g->n_voters = json_object_array_length(arr);
	g->voters = calloc(g->n_voters, CV_KEY_LEN);
	for (i = 0; i < g->n_voters; i++)
		hex_in(json_object_get_string(json_object_array_get_idx(arr, i)), g->voters[i],
		       CV_KEY_LEN);
}

/* ---- genesis */

static void genesis_entries_match_vectors(void)
{
	json_object *want = get(components, "genesis_entries_hex");
	json_object *want_hash = get(components, "genesis_leaf_hashes_hex");
	cv_buf b = {0};
	uint8_t leaf_hash[CV_HASH_LEN];
	size_t i, at = 0;

	CHECK_EQ_INT(json_object_array_length(want),
	             1 + genesis.n_candidates + genesis.n_validators + genesis.n_voters);
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
		CHECK_STR(hex(b.data, b.len),
		          json_object_get_string(json_object_array_get_idx(want, at)));
		cv_merkle_leaf_hash(b.data, b.len, leaf_hash);
		CHECK_STR(hex(leaf_hash, CV_HASH_LEN),
		          json_object_get_string(json_object_array_get_idx(want_hash, at)));
	}
	cv_buf_free(&b);
}

static void genesis_is_in_order_and_valid(void)
{
	cv_genesis g;

	CHECK_EQ_INT(cv_genesis_check(&genesis), CV_OK);
	build_genesis(&g);
	CHECK_EQ_INT(cv_genesis_normalise(&g), CV_OK);
	CHECK(memcmp(g.voters, genesis.voters, g.n_voters * CV_KEY_LEN) == 0);
	cv_genesis_free(&g);
}

static void genesis_header_and_hash_match_vectors(void)
{
	cv_header h, stated;
	uint8_t enc[CV_HEADER_LEN], hash[CV_HASH_LEN];

	CHECK_EQ_INT(cv_genesis_header(&genesis, get_u64(block(0), "timestamp"), &h), CV_OK);
	cv_header_encode(&h, enc);
	CHECK_STR(hex(enc, sizeof enc), get_str(components, "genesis_header_hex"));
	cv_header_hash(&h, hash);
	CHECK_STR(hex(hash, sizeof hash), get_str(components, "genesis_hash"));
	CHECK_STR(hex(hash, sizeof hash), get_str(block(0), "hash"));
	parse_header(block(0), &stated);
	CHECK(memcmp(&stated.merkle_root, h.merkle_root, CV_HASH_LEN) == 0);
}

static void genesis_normalise_sorts_shuffled_lists(void)
{
	cv_genesis g;
	cv_candidate c;
	uint8_t k[CV_KEY_LEN];
	uint8_t root[CV_HASH_LEN], want[CV_HASH_LEN];

	build_genesis(&g);
	c = g.candidates[0];
	g.candidates[0] = g.candidates[2];
	g.candidates[2] = c;
	memcpy(k, g.voters[0], CV_KEY_LEN);
	memcpy(g.voters[0], g.voters[5], CV_KEY_LEN);
	memcpy(g.voters[5], k, CV_KEY_LEN);
	CHECK_EQ_INT(cv_genesis_check(&g), CV_E_BAD_GENESIS);
	CHECK_EQ_INT(cv_genesis_normalise(&g), CV_OK);
	CHECK_EQ_INT(cv_genesis_check(&g), CV_OK);
	CHECK_EQ_INT(cv_genesis_merkle_root(&g, root), CV_OK);
	CHECK_EQ_INT(cv_genesis_merkle_root(&genesis, want), CV_OK);
	CHECK(memcmp(root, want, CV_HASH_LEN) == 0);
	cv_genesis_free(&g);
}

static void genesis_rejects_threshold_out_of_range(void)
{
	cv_genesis g;

	build_genesis(&g);
	g.election.threshold = 1;
	CHECK_EQ_INT(cv_genesis_normalise(&g), CV_E_BAD_ELECTION);
	g.election.threshold = 4; /* three validators */
	CHECK_EQ_INT(cv_genesis_normalise(&g), CV_E_BAD_ELECTION);
	g.election.threshold = 3;
	CHECK_EQ_INT(cv_genesis_normalise(&g), CV_OK);
	cv_genesis_free(&g);
}

static void genesis_rejects_duplicate_or_zero_candidate_id(void)
{
	cv_genesis g;

	build_genesis(&g);
	g.candidates[1].id = 1;
	CHECK_EQ_INT(cv_genesis_normalise(&g), CV_E_BAD_ELECTION);
	cv_genesis_free(&g);
	build_genesis(&g);
	g.candidates[0].id = 0;
	CHECK_EQ_INT(cv_genesis_normalise(&g), CV_E_BAD_ELECTION);
	cv_genesis_free(&g);
}

static void genesis_rejects_duplicate_voter(void)
{
	cv_genesis g;

	build_genesis(&g);
	memcpy(g.voters[3], g.voters[4], CV_KEY_LEN);
	CHECK_EQ_INT(cv_genesis_check(&g), CV_E_BAD_ELECTION);
	CHECK_EQ_INT(cv_genesis_normalise(&g), CV_E_BAD_ELECTION);
	cv_genesis_free(&g);
}

static void genesis_rejects_duplicate_validator(void)
{
	cv_genesis g;

	build_genesis(&g);
	memcpy(g.validators[1].key, g.validators[0].key, CV_KEY_LEN);
	CHECK_EQ_INT(cv_genesis_normalise(&g), CV_E_BAD_ELECTION);
	cv_genesis_free(&g);
}

static void genesis_rejects_invalid_keys(void)
{
	cv_genesis g;

	build_genesis(&g);
	g.voters[2][64] ^= 1; /* off the curve */
	CHECK_EQ_INT(cv_genesis_normalise(&g), CV_E_BAD_KEY);
	cv_genesis_free(&g);
	build_genesis(&g);
	g.validators[0].key[0] = 0x02;
	CHECK_EQ_INT(cv_genesis_normalise(&g), CV_E_BAD_KEY);
	cv_genesis_free(&g);
}

static void genesis_rejects_bad_texts(void)
{
	cv_genesis g;

	build_genesis(&g);
	g.election.title[0] = '\0';
	CHECK_EQ_INT(cv_genesis_normalise(&g), CV_E_BAD_ELECTION);
	cv_genesis_free(&g);
	build_genesis(&g);
	snprintf(g.candidates[0].name, sizeof g.candidates[0].name, "two\nlines");
	CHECK_EQ_INT(cv_genesis_normalise(&g), CV_E_BAD_ELECTION);
	cv_genesis_free(&g);
	build_genesis(&g);
	memset(g.validators[0].name, 'a', sizeof g.validators[0].name); /* no NUL at all */
	CHECK_EQ_INT(cv_genesis_normalise(&g), CV_E_BAD_ELECTION);
	cv_genesis_free(&g);
}

static void genesis_lookups_find_members_only(void)
{
	uint8_t stranger[CV_KEY_LEN];
	size_t i;

	for (i = 0; i < genesis.n_candidates; i++)
		CHECK(cv_genesis_candidate(&genesis, genesis.candidates[i].id) ==
		      &genesis.candidates[i]);
	CHECK(cv_genesis_candidate(&genesis, 0) == NULL);
	CHECK(cv_genesis_candidate(&genesis, 4) == NULL);
	for (i = 0; i < genesis.n_validators; i++)
		CHECK(cv_genesis_validator(&genesis, genesis.validators[i].key) ==
		      &genesis.validators[i]);
	for (i = 0; i < genesis.n_voters; i++) {
		CHECK(cv_genesis_on_roll(&genesis, genesis.voters[i]));
		CHECK(cv_genesis_validator(&genesis, genesis.voters[i]) == NULL);
	}
	memcpy(stranger, genesis.voters[0], CV_KEY_LEN);
	stranger[64] ^= 1;
	CHECK(!cv_genesis_on_roll(&genesis, stranger));
	CHECK(!cv_genesis_on_roll(&genesis, genesis.validators[0].key));
}

/* ---- votes and blocks */

static void vote0_payload_and_txid_match_vectors(void)
{
	size_t n;
	cv_vote *votes = block_votes(1, &n);
	uint8_t payload[CV_PAYLOAD_LEN], txid[CV_HASH_LEN];

	cv_vote_payload(&votes[0], payload);
	CHECK_STR(hex(payload, sizeof payload), get_str(components, "vote0_payload_hex"));
	cv_vote_txid(&votes[0], txid);
	CHECK_STR(hex(txid, sizeof txid), get_str(components, "vote0_txid"));
	free(votes);
}

static void block1_leaves_match_vectors(void)
{
	json_object *want = get(components, "block1_leaves_hex");
	size_t n, i;
	cv_vote *votes = block_votes(1, &n);
	uint8_t leaf[CV_LEAF_LEN];

	CHECK_EQ_INT(n, json_object_array_length(want));
	for (i = 0; i < n; i++) {
		cv_vote_leaf(&votes[i], leaf);
		CHECK_STR(hex(leaf, sizeof leaf),
		          json_object_get_string(json_object_array_get_idx(want, i)));
	}
	free(votes);
}

static void block_merkle_roots_match_headers(void)
{
	size_t height, n;

	for (height = 1; height < json_object_array_length(get(chain, "blocks")); height++) {
		cv_vote *votes = block_votes(height, &n);
		cv_header h;
		uint8_t root[CV_HASH_LEN];

		parse_header(block(height), &h);
		CHECK_EQ_INT(cv_votes_merkle_root(votes, n, root), CV_OK);
		CHECK(memcmp(root, h.merkle_root, CV_HASH_LEN) == 0);
		free(votes);
	}
}

static void block1_header_hash_and_pow_match_vectors(void)
{
	cv_header h;
	uint8_t enc[CV_HEADER_LEN], hash[CV_HASH_LEN];

	parse_header(block(1), &h);
	cv_header_encode(&h, enc);
	CHECK_STR(hex(enc, sizeof enc), get_str(components, "block1_header_hex"));
	cv_header_hash(&h, hash);
	CHECK_STR(hex(hash, sizeof hash), get_str(components, "block1_hash"));
	CHECK_EQ_INT(cv_leading_zero_bits(hash), get_u64(components, "block1_leading_zero_bits"));
	CHECK(cv_pow_ok(hash, h.difficulty));
	CHECK(cv_pow_ok(hash, 9));
	CHECK(!cv_pow_ok(hash, 10));
}

static void every_block_hash_matches_stated(void)
{
	size_t height;

	for (height = 0; height < json_object_array_length(get(chain, "blocks")); height++) {
		cv_header h;
		uint8_t hash[CV_HASH_LEN];

		parse_header(block(height), &h);
		cv_header_hash(&h, hash);
		CHECK_STR(hex(hash, sizeof hash), get_str(block(height), "hash"));
	}
}

static void leaf_hashes_of_block(size_t height, uint8_t (**hashes)[CV_HASH_LEN], size_t *n)
{
	cv_vote *votes = block_votes(height, n);
	size_t i;

	*hashes = calloc(*n, CV_HASH_LEN);
	for (i = 0; i < *n; i++)
		cv_vote_leaf_hash(&votes[i], (*hashes)[i]);
	free(votes);
}

static void block1_inclusion_paths_match_vectors(void)
{
	json_object *want = get(components, "block1_inclusion");
	uint8_t(*hashes)[CV_HASH_LEN], path[CV_MERKLE_MAX_PATH][CV_HASH_LEN];
	uint8_t root[CV_HASH_LEN];
	size_t n, i, j, path_len;
	cv_header h;

	parse_header(block(1), &h);
	leaf_hashes_of_block(1, &hashes, &n);
	CHECK_EQ_INT(cv_merkle_root((const uint8_t(*)[CV_HASH_LEN])hashes, n, root), CV_OK);
	CHECK(memcmp(root, h.merkle_root, CV_HASH_LEN) == 0);
	CHECK_EQ_INT(json_object_array_length(want), n);
	for (i = 0; i < json_object_array_length(want); i++) {
		json_object *w = json_object_array_get_idx(want, i), *wp = get(w, "path");
		size_t index = get_u64(w, "index");

		CHECK_EQ_INT(get_u64(w, "tree_size"), n);
		CHECK_EQ_INT(cv_merkle_path((const uint8_t(*)[CV_HASH_LEN])hashes, n, index, path,
		                            &path_len),
		             CV_OK);
		CHECK_EQ_INT(path_len, json_object_array_length(wp));
		for (j = 0; j < path_len && j < json_object_array_length(wp); j++)
			CHECK_STR(hex(path[j], CV_HASH_LEN),
			          json_object_get_string(json_object_array_get_idx(wp, j)));
		CHECK(cv_merkle_verify(hashes[index], index, n, (const uint8_t(*)[CV_HASH_LEN])path,
		                       path_len, h.merkle_root));
	}
	free(hashes);
}

/* The stated paths, taken from the vectors rather than our own cv_merkle_path. */
static size_t stated_path(size_t i, uint8_t path[][CV_HASH_LEN])
{
	json_object *wp =
	    get(json_object_array_get_idx(get(components, "block1_inclusion"), i), "path");
	size_t j;

	for (j = 0; j < json_object_array_length(wp); j++)
		hex_in(json_object_get_string(json_object_array_get_idx(wp, j)), path[j],
		       CV_HASH_LEN);
	return j;
}

static void merkle_verify_accepts_stated_paths(void)
{
	uint8_t(*hashes)[CV_HASH_LEN], path[CV_MERKLE_MAX_PATH][CV_HASH_LEN];
	size_t n, i, len;
	cv_header h;

	parse_header(block(1), &h);
	leaf_hashes_of_block(1, &hashes, &n);
	for (i = 0; i < n; i++) {
		len = stated_path(i, path);
		CHECK(cv_merkle_verify(hashes[i], i, n, (const uint8_t(*)[CV_HASH_LEN])path, len,
		                       h.merkle_root));
	}
	free(hashes);
}

static void merkle_verify_rejects_tampered_path(void)
{
	uint8_t(*hashes)[CV_HASH_LEN], path[CV_MERKLE_MAX_PATH][CV_HASH_LEN];
	size_t n, len;
	cv_header h;

	parse_header(block(1), &h);
	leaf_hashes_of_block(1, &hashes, &n);
	len = stated_path(0, path);
	path[1][31] ^= 1;
	CHECK(!cv_merkle_verify(hashes[0], 0, n, (const uint8_t(*)[CV_HASH_LEN])path, len,
	                        h.merkle_root));
	free(hashes);
}

static void merkle_verify_rejects_wrong_leaf_index_or_size(void)
{
	uint8_t(*hashes)[CV_HASH_LEN], path[CV_MERKLE_MAX_PATH][CV_HASH_LEN];
	size_t n, len;
	cv_header h;

	parse_header(block(1), &h);
	leaf_hashes_of_block(1, &hashes, &n);
	len = stated_path(0, path);
	CHECK(!cv_merkle_verify(hashes[1], 0, n, (const uint8_t(*)[CV_HASH_LEN])path, len,
	                        h.merkle_root));
	CHECK(!cv_merkle_verify(hashes[0], 1, n, (const uint8_t(*)[CV_HASH_LEN])path, len,
	                        h.merkle_root));
	/* sizes whose tree shape needs a path of another length (size 4 would not do: leaf
	 * 0's path has the same shape in trees of 3 and 4 leaves) */
	CHECK(!cv_merkle_verify(hashes[0], 0, 2, (const uint8_t(*)[CV_HASH_LEN])path, len,
	                        h.merkle_root));
	CHECK(!cv_merkle_verify(hashes[0], 0, 5, (const uint8_t(*)[CV_HASH_LEN])path, len,
	                        h.merkle_root));
	CHECK(!cv_merkle_verify(hashes[0], 0, 0, (const uint8_t(*)[CV_HASH_LEN])path, len,
	                        h.merkle_root));
	CHECK(!cv_merkle_verify(hashes[0], 3, n, (const uint8_t(*)[CV_HASH_LEN])path, len,
	                        h.merkle_root));
	/* a path one hash short, or with one extra, proves nothing */
	CHECK(!cv_merkle_verify(hashes[0], 0, n, (const uint8_t(*)[CV_HASH_LEN])path, len - 1,
	                        h.merkle_root));
	memcpy(path[len], path[0], CV_HASH_LEN);
	CHECK(!cv_merkle_verify(hashes[0], 0, n, (const uint8_t(*)[CV_HASH_LEN])path, len + 1,
	                        h.merkle_root));
	free(hashes);
}

/* ---- approvals */

static void approval0_message_matches_vectors(void)
{
	uint8_t hash[CV_HASH_LEN], msg[CV_APPROVAL_MSG_LEN];

	hex_in(get_str(components, "block1_hash"), hash, CV_HASH_LEN);
	cv_approval_message(hash, msg);
	CHECK_STR(hex(msg, sizeof msg), get_str(components, "approval0_message_hex"));
}

static void reject_message_matches_vectors(void)
{
	json_object *ex = get(components, "reject_message_example");
	uint8_t hash[CV_HASH_LEN];
	cv_buf b = {0};

	hex_in(get_str(ex, "block_hash"), hash, CV_HASH_LEN);
	CHECK_EQ_INT(cv_rejection_message(hash, get_str(ex, "reason"), &b), CV_OK);
	CHECK_STR(hex(b.data, b.len), get_str(ex, "message_hex"));
	cv_buf_free(&b);
}

static void reject_message_refuses_long_reason(void)
{
	uint8_t hash[CV_HASH_LEN] = {0};
	char reason[CV_TEXT_MAX + 2];
	cv_buf b = {0};

	memset(reason, 'x', CV_TEXT_MAX + 1);
	reason[CV_TEXT_MAX + 1] = '\0';
	CHECK_EQ_INT(cv_rejection_message(hash, reason, &b), CV_E_TOO_LARGE);
	CHECK_EQ_INT(b.len, 0);
	cv_buf_free(&b);
}

/* ---- RFC 6962 */

static void rfc6962_values_match_vectors(void)
{
	json_object *r = get(components, "rfc6962");
	uint8_t out[CV_HASH_LEN], node[1 + 8];

	CHECK_EQ_INT(cv_merkle_root(NULL, 0, out), CV_OK);
	CHECK_STR(hex(out, sizeof out), get_str(r, "empty_root"));
	cv_merkle_leaf_hash("", 0, out);
	CHECK_STR(hex(out, sizeof out), get_str(r, "leaf_empty"));
	cv_merkle_leaf_hash("L123456", 7, out);
	CHECK_STR(hex(out, sizeof out), get_str(r, "leaf_L123456"));
	/* The reference node value hashes two 4-byte children; ours are always 32-byte
	 * hashes, so this checks the 0x01 domain prefix through the plain hash. */
	node[0] = 0x01;
	memcpy(node + 1, "N123N456", 8);
	cv_sha256(node, sizeof node, out);
	CHECK_STR(hex(out, sizeof out), get_str(r, "node_N123_N456"));
}

static void merkle_roots_of_leaf_i_byte_match_vectors(void)
{
	json_object *want = get(components, "merkle_roots_of_leaf_i_byte");
	uint8_t hashes[16][CV_HASH_LEN], root[CV_HASH_LEN];
	char key[8];
	size_t n, i;

	for (n = 0; n <= 8; n++) {
		uint8_t b = 0;

		for (i = 0; i < n; i++) {
			b = (uint8_t)i;
			cv_merkle_leaf_hash(&b, 1, hashes[i]);
		}
		snprintf(key, sizeof key, "%zu", n);
		CHECK_EQ_INT(cv_merkle_root((const uint8_t(*)[CV_HASH_LEN])hashes, n, root), CV_OK);
		CHECK_STR(hex(root, sizeof root), get_str(want, key));
	}
}

static void merkle_paths_verify_for_every_leaf_of_small_trees(void)
{
	uint8_t hashes[16][CV_HASH_LEN], root[CV_HASH_LEN], path[CV_MERKLE_MAX_PATH][CV_HASH_LEN];
	size_t n, i, len;
	uint8_t b;

	for (i = 0; i < 16; i++) {
		b = (uint8_t)i;
		cv_merkle_leaf_hash(&b, 1, hashes[i]);
	}
	for (n = 1; n <= 16; n++) {
		cv_merkle_root((const uint8_t(*)[CV_HASH_LEN])hashes, n, root);
		for (i = 0; i < n; i++) {
			CHECK_EQ_INT(
			    cv_merkle_path((const uint8_t(*)[CV_HASH_LEN])hashes, n, i, path, &len),
			    CV_OK);
			CHECK(cv_merkle_verify(hashes[i], i, n, (const uint8_t(*)[CV_HASH_LEN])path,
			                       len, root));
			/* the same proof for a neighbour's leaf must fail */
			CHECK(!cv_merkle_verify(hashes[(i + 1) % 16], i, n,
			                        (const uint8_t(*)[CV_HASH_LEN])path, len, root));
		}
	}
}

static void merkle_path_refuses_index_past_end(void)
{
	uint8_t hashes[2][CV_HASH_LEN] = {{0}}, path[CV_MERKLE_MAX_PATH][CV_HASH_LEN];
	size_t len = 99;

	CHECK(cv_merkle_path((const uint8_t(*)[CV_HASH_LEN])hashes, 2, 2, path, &len) != CV_OK);
	CHECK_EQ_INT(len, 0);
	CHECK(cv_merkle_path((const uint8_t(*)[CV_HASH_LEN])hashes, 0, 0, path, &len) != CV_OK);
}

/* ---- signatures */

static void every_vote_signature_in_chain_verifies(void)
{
	size_t height, n, i, checked = 0;

	for (height = 1; height < json_object_array_length(get(chain, "blocks")); height++) {
		cv_vote *votes = block_votes(height, &n);

		for (i = 0; i < n; i++) {
			uint8_t payload[CV_PAYLOAD_LEN];

			cv_vote_payload(&votes[i], payload);
			CHECK_EQ_INT(cv_verify(votes[i].voter_key, payload, sizeof payload,
			                       votes[i].signature),
			             CV_OK);
			checked++;
		}
		free(votes);
	}
	CHECK_EQ_INT(checked, 5);
}

static void every_approval_signature_in_chain_verifies(void)
{
	size_t height, i, checked = 0;

	for (height = 1; height < json_object_array_length(get(chain, "blocks")); height++) {
		json_object *arr = get(block(height), "approvals");
		uint8_t hash[CV_HASH_LEN], msg[CV_APPROVAL_MSG_LEN];

		hex_in(get_str(block(height), "hash"), hash, CV_HASH_LEN);
		cv_approval_message(hash, msg);
		for (i = 0; i < json_object_array_length(arr); i++) {
			json_object *a = json_object_array_get_idx(arr, i);
			uint8_t key[CV_KEY_LEN], sig[CV_SIG_LEN];

			hex_in(get_str(a, "validator_key"), key, CV_KEY_LEN);
			hex_in(get_str(a, "signature"), sig, CV_SIG_LEN);
			CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_OK);
			CHECK(cv_genesis_validator(&genesis, key) != NULL);
			checked++;
		}
	}
	CHECK(checked >= 4);
}

static void approval_signature_fails_for_other_block(void)
{
	json_object *a = json_object_array_get_idx(get(block(1), "approvals"), 0);
	uint8_t hash[CV_HASH_LEN], msg[CV_APPROVAL_MSG_LEN], key[CV_KEY_LEN], sig[CV_SIG_LEN];

	hex_in(get_str(block(2), "hash"), hash, CV_HASH_LEN);
	cv_approval_message(hash, msg);
	hex_in(get_str(a, "validator_key"), key, CV_KEY_LEN);
	hex_in(get_str(a, "signature"), sig, CV_SIG_LEN);
	CHECK_EQ_INT(cv_verify(key, msg, sizeof msg, sig), CV_E_BAD_SIGNATURE);
}

static void vote_resigned_with_vector_key_verifies(void)
{
	size_t n;
	cv_vote *votes = block_votes(1, &n);
	char key_hex[2 * CV_KEY_LEN + 1];
	uint8_t d[CV_SCALAR_LEN], pub[CV_KEY_LEN], payload[CV_PAYLOAD_LEN], old_sig[CV_SIG_LEN];
	cv_privkey *k = NULL;

	cv_hex_encode(votes[0].voter_key, CV_KEY_LEN, key_hex);
	hex_in(get_str(get(keys, "voters"), key_hex), d, CV_SCALAR_LEN);
	CHECK_EQ_INT(cv_privkey_from_scalar(d, &k), CV_OK);
	if (k == NULL)
		goto out;
	cv_privkey_public(k, pub);
	CHECK(memcmp(pub, votes[0].voter_key, CV_KEY_LEN) == 0);
	memcpy(old_sig, votes[0].signature, CV_SIG_LEN);
	votes[0].timestamp += 1;
	CHECK_EQ_INT(cv_vote_sign(&votes[0], k), CV_OK);
	CHECK(memcmp(old_sig, votes[0].signature, CV_SIG_LEN) != 0);
	cv_vote_payload(&votes[0], payload);
	CHECK_EQ_INT(cv_verify(votes[0].voter_key, payload, sizeof payload, votes[0].signature),
	             CV_OK);
	/* the old signature does not cover the new timestamp */
	CHECK_EQ_INT(cv_verify(votes[0].voter_key, payload, sizeof payload, old_sig),
	             CV_E_BAD_SIGNATURE);
out:
	cv_privkey_free(k);
	free(votes);
}

static void vector_scalars_give_their_public_keys(void)
{
	const char *groups[] = {"validators", "voters"};
	size_t g;

	for (g = 0; g < 2; g++) {
		json_object_object_foreach(get(keys, groups[g]), key_hex, scalar)
		{
			uint8_t d[CV_SCALAR_LEN], pub[CV_KEY_LEN];
			cv_privkey *k = NULL;

			hex_in(json_object_get_string(scalar), d, CV_SCALAR_LEN);
			CHECK_EQ_INT(cv_privkey_from_scalar(d, &k), CV_OK);
			if (k == NULL)
				continue;
			cv_privkey_public(k, pub);
			CHECK_STR(hex(pub, CV_KEY_LEN), key_hex);
			cv_privkey_free(k);
		}
	}
}

/* ---- proof of work */

static void mine_finds_block1_nonce_from_zero(void)
{
	cv_header h;
	uint8_t hash[CV_HASH_LEN], again[CV_HASH_LEN];
	uint64_t tries = 0;

	parse_header(block(1), &h);
	h.nonce = 0;
	CHECK(cv_mine(&h, CV_NONCE_LIMIT, 1, NULL, hash, &tries));
	CHECK(h.nonce <= 440);
	CHECK_EQ_INT(tries, h.nonce + 1);
	CHECK(cv_pow_ok(hash, 8));
	/* the midstate shortcut must give the plain header hash */
	cv_header_hash(&h, again);
	CHECK(memcmp(hash, again, CV_HASH_LEN) == 0);
}

static void mine_stops_at_end_without_a_solution(void)
{
	cv_header h;
	uint8_t hash[CV_HASH_LEN];
	uint64_t tries = 0, first;

	parse_header(block(1), &h);
	h.nonce = 0;
	CHECK(cv_mine(&h, CV_NONCE_LIMIT, 1, NULL, hash, NULL));
	first = h.nonce;
	h.nonce = 0;
	CHECK(!cv_mine(&h, first, 1, NULL, hash, &tries));
	CHECK_EQ_INT(tries, first);
	CHECK_EQ_INT(h.nonce, 0);
}

static void mine_with_stride_visits_its_own_nonces(void)
{
	cv_header h;
	uint8_t hash[CV_HASH_LEN];
	uint64_t tries = 0;

	parse_header(block(1), &h);
	h.nonce = 440 % 4;
	CHECK(cv_mine(&h, 441, 4, NULL, hash, &tries));
	CHECK_EQ_INT(h.nonce % 4, 440 % 4);
	CHECK(h.nonce <= 440);
	CHECK(cv_pow_ok(hash, h.difficulty));
}

static void mine_honours_stop_flag(void)
{
	cv_header h;
	uint8_t hash[CV_HASH_LEN];
	uint64_t tries = 99;
	volatile int stop = 1;

	parse_header(block(1), &h);
	h.nonce = 0;
	CHECK(!cv_mine(&h, CV_NONCE_LIMIT, 1, &stop, hash, &tries));
	CHECK_EQ_INT(tries, 0);
}

static void leading_zero_bits_counts_exactly(void)
{
	uint8_t hash[CV_HASH_LEN] = {0};

	CHECK_EQ_INT(cv_leading_zero_bits(hash), 256);
	CHECK(cv_pow_ok(hash, 256));
	CHECK(!cv_pow_ok(hash, 257));
	hash[0] = 0x80;
	CHECK_EQ_INT(cv_leading_zero_bits(hash), 0);
	CHECK(cv_pow_ok(hash, 0));
	CHECK(!cv_pow_ok(hash, 1));
	hash[0] = 0x01;
	CHECK_EQ_INT(cv_leading_zero_bits(hash), 7);
	hash[0] = 0;
	hash[1] = 0x20;
	CHECK_EQ_INT(cv_leading_zero_bits(hash), 10);
}

/* ---- the seal (chain-sealed.json) ---- */

/* The seal block's merkle root is MTH({seal leaf}) of the leaf built from its stated
 * election_id and closed_at, and its header hashes to its stated hash with the proof of
 * work; block 1 of the sealed chain is the genesis hash's election. */
static void seal_leaf_gives_the_seal_blocks_merkle_root(void)
{
	json_object *sealed = load_json("chain-sealed.json");
	json_object *blocks = get(sealed, "blocks");
	json_object *last = json_object_array_get_idx(blocks, json_object_array_length(blocks) - 1);
	json_object *seal = get(last, "seal");
	cv_block b = {0};
	uint8_t leaf[CV_SEAL_LEN], leaf_hash[CV_HASH_LEN], root[CV_HASH_LEN], stated[CV_HASH_LEN],
	    hash[CV_HASH_LEN], genesis_hash[CV_HASH_LEN];

	parse_header(last, &b.header);
	hex_in(get_str(seal, "election_id"), b.seal.election_id, CV_HASH_LEN);
	b.seal.closed_at = get_u64(seal, "closed_at");
	b.has_seal = true;
	CHECK_EQ_INT(json_object_array_length(get(last, "votes")), 0);
	cv_seal_leaf(&b.seal, leaf);
	CHECK(memcmp(leaf, "chainvote/seal/1", 16) == 0);
	cv_merkle_leaf_hash(leaf, sizeof leaf, leaf_hash);
	CHECK(memcmp(leaf_hash, b.header.merkle_root, CV_HASH_LEN) == 0); /* MTH of one leaf */
	CHECK_EQ_INT(cv_block_merkle_root(&b, root), CV_OK);
	CHECK(memcmp(root, b.header.merkle_root, CV_HASH_LEN) == 0);
	hex_in(get_str(last, "hash"), stated, CV_HASH_LEN);
	cv_header_hash(&b.header, hash);
	CHECK(memcmp(hash, stated, CV_HASH_LEN) == 0);
	CHECK(cv_pow_ok(hash, b.header.difficulty));
	hex_in(get_str(json_object_array_get_idx(blocks, 0), "hash"), genesis_hash, CV_HASH_LEN);
	CHECK(memcmp(b.seal.election_id, genesis_hash, CV_HASH_LEN) == 0);
	json_object_put(sealed);
}

int main(void)
{
	components = load_json("components.json");
	chain = load_json("chain.json");
	keys = load_json("keys.json");
	build_genesis(&genesis);

	RUN(genesis_entries_match_vectors);
	RUN(genesis_is_in_order_and_valid);
	RUN(genesis_header_and_hash_match_vectors);
	RUN(genesis_normalise_sorts_shuffled_lists);
	RUN(genesis_rejects_threshold_out_of_range);
	RUN(genesis_rejects_duplicate_or_zero_candidate_id);
	RUN(genesis_rejects_duplicate_voter);
	RUN(genesis_rejects_duplicate_validator);
	RUN(genesis_rejects_invalid_keys);
	RUN(genesis_rejects_bad_texts);
	RUN(genesis_lookups_find_members_only);
	RUN(vote0_payload_and_txid_match_vectors);
	RUN(block1_leaves_match_vectors);
	RUN(block_merkle_roots_match_headers);
	RUN(block1_header_hash_and_pow_match_vectors);
	RUN(every_block_hash_matches_stated);
	RUN(block1_inclusion_paths_match_vectors);
	RUN(merkle_verify_accepts_stated_paths);
	RUN(merkle_verify_rejects_tampered_path);
	RUN(merkle_verify_rejects_wrong_leaf_index_or_size);
	RUN(approval0_message_matches_vectors);
	RUN(reject_message_matches_vectors);
	RUN(reject_message_refuses_long_reason);
	RUN(rfc6962_values_match_vectors);
	RUN(merkle_roots_of_leaf_i_byte_match_vectors);
	RUN(merkle_paths_verify_for_every_leaf_of_small_trees);
	RUN(merkle_path_refuses_index_past_end);
	RUN(every_vote_signature_in_chain_verifies);
	RUN(every_approval_signature_in_chain_verifies);
	RUN(approval_signature_fails_for_other_block);
	RUN(vote_resigned_with_vector_key_verifies);
	RUN(vector_scalars_give_their_public_keys);
	RUN(mine_finds_block1_nonce_from_zero);
	RUN(mine_stops_at_end_without_a_solution);
	RUN(mine_with_stride_visits_its_own_nonces);
	RUN(mine_honours_stop_flag);
	RUN(leading_zero_bits_counts_exactly);
	RUN(seal_leaf_gives_the_seal_blocks_merkle_root);

	cv_genesis_free(&genesis);
	json_object_put(components);
	json_object_put(chain);
	json_object_put(keys);
	return CHECK_DONE("test_vectors");
}
