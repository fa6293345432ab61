/* Fuzz target: a block as a miner posts it or an export holds it (both forms: height 0
 * with the genesis content, height >= 1 with votes and approvals). An accepted block
 * must come back equal through JSON text; then the encodings and hashes run over it,
 * and the genesis rules on a genesis: what cv_genesis_normalise accepts,
 * cv_genesis_check must accept too, and every entry must be found by its lookup. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "merkle.h"
#include "pow.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_genesis(const cv_genesis *a, const cv_genesis *b)
{
	const cv_election *x = &a->election, *y = &b->election;

	FUZZ_CHECK(strcmp(x->title, y->title) == 0 && x->threshold == y->threshold &&
	           x->difficulty == y->difficulty && x->max_block_votes == y->max_block_votes &&
	           x->opens == y->opens && x->closes == y->closes);
	FUZZ_CHECK(a->n_candidates == b->n_candidates && a->n_validators == b->n_validators &&
	           a->n_voters == b->n_voters);
	for (size_t i = 0; i < a->n_candidates; i++)
		FUZZ_CHECK(a->candidates[i].id == b->candidates[i].id &&
		           strcmp(a->candidates[i].name, b->candidates[i].name) == 0);
	for (size_t i = 0; i < a->n_validators; i++)
		FUZZ_CHECK(memcmp(a->validators[i].key, b->validators[i].key, CV_KEY_LEN) == 0 &&
		           strcmp(a->validators[i].name, b->validators[i].name) == 0);
	if (a->n_voters > 0)
		FUZZ_CHECK(memcmp(a->voters, b->voters, a->n_voters * CV_KEY_LEN) == 0);
}

static void same_block(const cv_block *a, const cv_block *b)
{
	uint8_t x[CV_LEAF_LEN], y[CV_LEAF_LEN];

	cv_header_encode(&a->header, x);
	cv_header_encode(&b->header, y);
	FUZZ_CHECK(memcmp(x, y, CV_HEADER_LEN) == 0);
	FUZZ_CHECK(memcmp(a->hash, b->hash, CV_HASH_LEN) == 0);
	FUZZ_CHECK(a->n_votes == b->n_votes && a->n_approvals == b->n_approvals);
	for (size_t i = 0; i < a->n_votes; i++) {
		cv_vote_leaf(&a->votes[i], x);
		cv_vote_leaf(&b->votes[i], y);
		FUZZ_CHECK(memcmp(x, y, CV_LEAF_LEN) == 0);
	}
	for (size_t i = 0; i < a->n_approvals; i++)
		FUZZ_CHECK(memcmp(&a->approvals[i], &b->approvals[i], sizeof(cv_approval)) == 0);
	FUZZ_CHECK((a->genesis == NULL) == (b->genesis == NULL));
	if (a->genesis != NULL)
		same_genesis(a->genesis, b->genesis);
}

/* The genesis rules on a parsed genesis (which they may sort). */
static void genesis_rules(cv_block *b)
{
	cv_genesis *g = b->genesis;
	uint8_t root[CV_HASH_LEN];
	cv_header h;

	(void)cv_check_genesis(b);
	if (cv_genesis_merkle_root(g, root) == CV_OK)
		FUZZ_CHECK(cv_genesis_header(g, b->header.timestamp, &h) == CV_OK &&
		           memcmp(h.merkle_root, root, CV_HASH_LEN) == 0);
	if (cv_genesis_normalise(g) != CV_OK)
		return;
	FUZZ_CHECK(cv_genesis_check(g) == CV_OK);
	for (size_t i = 0; i < g->n_candidates; i++)
		FUZZ_CHECK(cv_genesis_candidate(g, g->candidates[i].id) == &g->candidates[i]);
	for (size_t i = 0; i < g->n_validators; i++)
		FUZZ_CHECK(cv_genesis_validator(g, g->validators[i].key) == &g->validators[i]);
	for (size_t i = 0; i < g->n_voters; i++)
		FUZZ_CHECK(cv_genesis_on_roll(g, g->voters[i]));
}

/* The votes' merkle root, and the first few audit paths verified against it. */
static void votes_merkle(const cv_block *b)
{
	uint8_t(*leaves)[CV_HASH_LEN] = calloc(b->n_votes ? b->n_votes : 1, CV_HASH_LEN);
	uint8_t root[CV_HASH_LEN], path[CV_MERKLE_MAX_PATH][CV_HASH_LEN];
	size_t path_len;

	FUZZ_CHECK(leaves != NULL);
	FUZZ_CHECK(cv_votes_merkle_root(b->votes, b->n_votes, root) == CV_OK);
	for (size_t j = 0; j < b->n_votes; j++)
		cv_vote_leaf_hash(&b->votes[j], leaves[j]);
	for (size_t i = 0; i < b->n_votes && i < 4; i++) {
		FUZZ_CHECK(cv_merkle_path((const uint8_t(*)[CV_HASH_LEN])leaves, b->n_votes, i,
		                          path, &path_len) == CV_OK);
		FUZZ_CHECK(cv_merkle_verify(leaves[i], i, b->n_votes,
		                            (const uint8_t(*)[CV_HASH_LEN])path, path_len, root));
	}
	free(leaves);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *in = NULL, *out = NULL, *again = NULL;
	cv_block b = {0}, c = {0};
	uint8_t hash[CV_HASH_LEN];

	if (cv_json_parse((const char *)data, size, &in) != CV_OK)
		return 0;
	if (cv_block_from_json(in, &b) != CV_OK) {
		/* a refused block is left zeroed: nothing to free, nothing to misread */
		FUZZ_CHECK(b.votes == NULL && b.approvals == NULL && b.genesis == NULL);
		goto out;
	}
	FUZZ_CHECK((b.header.height == 0) == (b.genesis != NULL));
	out = cv_block_to_json(&b);
	FUZZ_CHECK(out != NULL);
	again = fuzz_reparse(out);
	FUZZ_CHECK(cv_block_from_json(again, &c) == CV_OK);
	same_block(&b, &c);

	cv_header_hash(&b.header, hash);
	(void)cv_pow_ok(hash, b.header.difficulty);
	if (b.genesis != NULL) {
		genesis_rules(&b);
	} else {
		votes_merkle(&b);
	}
out:
	cv_block_free(&c);
	cv_block_free(&b);
	json_object_put(again);
	json_object_put(out);
	json_object_put(in);
	return 0;
}
