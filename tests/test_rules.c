/* Tests of the chain rules (lib/chain/rules*.c, verifier.c). Each rule is broken alone on
 * a copy of the reference chain: votes are re-signed, approvals re-made and blocks re-mined
 * with the test keys of vectors/keys.json, so that only the rule under test fails. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "pow.h"
#include "rules.h"

static cv_chain ref; /* the reference chain, never modified */

typedef struct test_key {
	uint8_t pub[CV_KEY_LEN];
	cv_privkey *key;
} test_key;
static test_key keys[16];
static size_t n_keys;

static char *slurp(const char *name, size_t *len)
{
	const char *dir = getenv("VECTORS") ? getenv("VECTORS") : "../shared/vectors";
	char path[4096];
	FILE *f;
	char *buf = NULL;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static int load_vectors(void)
{
	size_t len;
	char *text = slurp("chain.json", &len);
	json_object *o = NULL, *group;
	int rc = -1;

	if (text == NULL || cv_json_parse(text, len, &o) != CV_OK ||
	    cv_chain_from_json(o, &ref) != CV_OK)
		goto out;
	json_object_put(o);
	o = NULL;
	free(text);
	if ((text = slurp("keys.json", &len)) == NULL || cv_json_parse(text, len, &o) != CV_OK)
		goto out;
	for (int g = 0; g < 2; g++) {
		json_object_object_get_ex(o, g ? "voters" : "validators", &group);
		json_object_object_foreach(group, pub, scalar)
		{
			uint8_t d[CV_SCALAR_LEN];

			if (n_keys == 16 ||
			    cv_hex_decode(pub, keys[n_keys].pub, CV_KEY_LEN) != CV_OK ||
			    cv_hex_decode(json_object_get_string(scalar), d, CV_SCALAR_LEN) !=
			        CV_OK ||
			    cv_privkey_from_scalar(d, &keys[n_keys].key) != CV_OK)
				goto out;
			n_keys++;
		}
	}
	rc = 0;
out:
	json_object_put(o);
	free(text);
	return rc;
}

static const cv_privkey *key_of(const uint8_t pub[CV_KEY_LEN])
{
	for (size_t i = 0; i < n_keys; i++)
		if (memcmp(keys[i].pub, pub, CV_KEY_LEN) == 0)
			return keys[i].key;
	return NULL;
}

static const cv_genesis *G(void)
{
	return ref.blocks[0].genesis;
}

/* A deep copy of reference block h (1 or 2). */
static void copy_block(size_t h, cv_block *b)
{
	const cv_block *r = &ref.blocks[h];

	*b = *r;
	b->genesis = NULL;
	b->votes = malloc((r->n_votes + 8) * sizeof(cv_vote));
	b->approvals = malloc((r->n_approvals + 8) * sizeof(cv_approval));
	memcpy(b->votes, r->votes, r->n_votes * sizeof(cv_vote));
	memcpy(b->approvals, r->approvals, r->n_approvals * sizeof(cv_approval));
}

static void resign(cv_vote *v)
{
	const cv_privkey *k = key_of(v->voter_key);

	CHECK(k != NULL);
	if (k != NULL)
		CHECK_EQ_INT(cv_vote_sign(v, k), CV_OK);
}

/* Recomputes the merkle root (unless keep_root), finds a nonce for the header's
 * difficulty and states the true hash. */
static void remine(cv_block *b, bool keep_root)
{
	if (!keep_root)
		CHECK_EQ_INT(cv_votes_merkle_root(b->votes, b->n_votes, b->header.merkle_root),
		             CV_OK);
	b->header.nonce = 0;
	CHECK(cv_mine(&b->header, CV_NONCE_LIMIT, 1, NULL, b->hash, NULL));
}

static cv_view view_of(const cv_genesis *g)
{
	cv_view v = {.genesis = g, .genesis_timestamp = ref.blocks[0].header.timestamp};

	memcpy(v.election_id, ref.blocks[0].hash, CV_HASH_LEN);
	return v;
}

/* Checks block b as the successor of reference block h-1 (b's reference height h). */
static cv_err check_as(size_t h, const cv_view *v, const cv_block *b, uint64_t now, size_t *bad)
{
	return cv_check_proposal(v, &ref.blocks[h - 1].header, ref.blocks[h - 1].hash, b, now, bad);
}

static cv_err check1(const cv_block *b, size_t *bad)
{
	cv_view v = view_of(G());

	return check_as(1, &v, b, 0, bad);
}

/* A vote by reference voter i (index into the roll) for candidate, signed. */
static cv_vote new_vote(size_t voter, uint32_t candidate, uint64_t ts)
{
	cv_vote v = {0};

	memcpy(v.election_id, ref.blocks[0].hash, CV_HASH_LEN);
	memcpy(v.voter_key, G()->voters[voter], CV_KEY_LEN);
	v.candidate_id = candidate;
	v.timestamp = ts;
	resign(&v);
	return v;
}

/* ---- the reference passes ---- */

static void reference_blocks_pass(void)
{
	cv_view v = view_of(G());
	size_t bad = 0;

	CHECK_EQ_INT(cv_check_genesis(&ref.blocks[0]), CV_OK);
	CHECK_EQ_INT(check_as(1, &v, &ref.blocks[1], 0, &bad), CV_OK);
	CHECK_EQ_INT(bad, SIZE_MAX);
	CHECK_EQ_INT(check_as(2, &v, &ref.blocks[2], 0, NULL), CV_OK);
	for (size_t h = 1; h <= 2; h++)
		CHECK_EQ_INT(cv_check_approvals(G(), ref.blocks[h].hash, ref.blocks[h].approvals,
		                                ref.blocks[h].n_approvals, NULL),
		             CV_OK);
}

static void remined_copy_still_passes(void)
{
	cv_block b;

	copy_block(1, &b);
	remine(&b, false);
	CHECK_EQ_INT(check1(&b, NULL), CV_OK);
	cv_block_free(&b);
}

/* ---- rules 1-4 ---- */

static void wrong_version_is_refused(void)
{
	cv_block b;

	copy_block(1, &b);
	b.header.version = 2;
	remine(&b, false);
	CHECK_EQ_INT(check1(&b, NULL), CV_E_BAD_VERSION);
	cv_block_free(&b);
}

static void wrong_height_is_refused(void)
{
	cv_block b;

	copy_block(1, &b);
	b.header.height = 2;
	remine(&b, false);
	CHECK_EQ_INT(check1(&b, NULL), CV_E_BAD_HEIGHT);
	cv_block_free(&b);
}

static void broken_prev_link_is_refused(void)
{
	cv_block b;

	copy_block(1, &b);
	b.header.prev_hash[5] ^= 1;
	remine(&b, false);
	CHECK_EQ_INT(check1(&b, NULL), CV_E_BAD_PREV);
	cv_block_free(&b);
}

static void other_difficulty_is_refused(void)
{
	cv_block b;

	copy_block(1, &b);
	b.header.difficulty = 9;
	remine(&b, false);
	CHECK_EQ_INT(check1(&b, NULL), CV_E_BAD_DIFFICULTY);
	cv_block_free(&b);
}

static void weak_pow_is_refused(void)
{
	cv_block b;

	copy_block(1, &b);
	for (b.header.nonce = 0;; b.header.nonce++) {
		cv_header_hash(&b.header, b.hash);
		if (!cv_pow_ok(b.hash, b.header.difficulty))
			break;
	}
	CHECK_EQ_INT(check1(&b, NULL), CV_E_WEAK_POW);
	cv_block_free(&b);
}

static void stated_hash_mismatch_is_refused(void)
{
	cv_block b;

	copy_block(1, &b);
	b.hash[31] ^= 1;
	CHECK_EQ_INT(check1(&b, NULL), CV_E_BAD_HASH);
	cv_block_free(&b);
}

static void timestamp_before_previous_is_refused(void)
{
	cv_block b;

	copy_block(2, &b);
	b.header.timestamp = ref.blocks[1].header.timestamp - 1;
	remine(&b, false);
	cv_view v = view_of(G());
	CHECK_EQ_INT(check_as(2, &v, &b, 0, NULL), CV_E_BAD_TIMESTAMP);
	b.header.timestamp = ref.blocks[1].header.timestamp;
	remine(&b, false);
	CHECK_EQ_INT(check_as(2, &v, &b, 0, NULL), CV_OK);
	cv_block_free(&b);
}

static void future_timestamp_is_refused_when_now_set(void)
{
	cv_view v = view_of(G());
	uint64_t ts = ref.blocks[1].header.timestamp;

	CHECK_EQ_INT(check_as(1, &v, &ref.blocks[1], ts - 301, NULL), CV_E_BAD_TIMESTAMP);
	CHECK_EQ_INT(check_as(1, &v, &ref.blocks[1], ts - 300, NULL), CV_OK);
	CHECK_EQ_INT(check_as(1, &v, &ref.blocks[1], 0, NULL), CV_OK);
}

static void empty_block_is_refused(void)
{
	cv_block b;

	copy_block(1, &b);
	b.n_votes = 0;
	remine(&b, false);
	CHECK_EQ_INT(check1(&b, NULL), CV_E_VOTE_COUNT);
	cv_block_free(&b);
}

static void more_than_max_block_votes_is_refused(void)
{
	cv_genesis g = *G();
	cv_view v;

	g.election.max_block_votes = 2;
	v = view_of(&g);
	CHECK_EQ_INT(check_as(1, &v, &ref.blocks[1], 0, NULL), CV_E_VOTE_COUNT);
	g.election.max_block_votes = 3;
	CHECK_EQ_INT(check_as(1, &v, &ref.blocks[1], 0, NULL), CV_OK);
}

static void bad_merkle_root_is_refused(void)
{
	cv_block b;

	copy_block(1, &b);
	b.header.merkle_root[0] ^= 0x80;
	remine(&b, true);
	CHECK_EQ_INT(check1(&b, NULL), CV_E_BAD_MERKLE);
	cv_block_free(&b);
}

/* ---- rule 5 inside a block ---- */

/* Block 1 with vote i replaced by v, re-mined; the result of the check and bad index. */
static cv_err block1_with_vote(size_t i, cv_vote v, size_t *bad)
{
	cv_block b;
	cv_err rc;

	copy_block(1, &b);
	b.votes[i] = v;
	remine(&b, false);
	rc = check1(&b, bad);
	cv_block_free(&b);
	return rc;
}

static void wrong_election_id_is_refused(void)
{
	cv_vote v = ref.blocks[1].votes[1];
	size_t bad = 0;

	v.election_id[0] ^= 1;
	resign(&v);
	CHECK_EQ_INT(block1_with_vote(1, v, &bad), CV_E_WRONG_ELECTION);
	CHECK_EQ_INT(bad, 1);
}

static void voter_not_on_roll_is_refused(void)
{
	cv_vote v = ref.blocks[1].votes[2];
	cv_privkey *k;
	size_t bad = 0;

	CHECK_EQ_INT(cv_privkey_generate(&k), CV_OK);
	cv_privkey_public(k, v.voter_key);
	CHECK_EQ_INT(cv_vote_sign(&v, k), CV_OK);
	CHECK_EQ_INT(block1_with_vote(2, v, &bad), CV_E_NOT_ON_ROLL);
	CHECK_EQ_INT(bad, 2);
	cv_privkey_free(k);
}

static void unknown_candidate_is_refused(void)
{
	cv_vote v = ref.blocks[1].votes[0];
	size_t bad = 9;

	v.candidate_id = 4;
	resign(&v);
	CHECK_EQ_INT(block1_with_vote(0, v, &bad), CV_E_UNKNOWN_CANDIDATE);
	CHECK_EQ_INT(bad, 0);
}

static void bad_vote_signature_is_refused(void)
{
	cv_vote v = ref.blocks[1].votes[1];
	size_t bad = 0;

	v.signature[40] ^= 4;
	CHECK_EQ_INT(block1_with_vote(1, v, &bad), CV_E_BAD_SIGNATURE);
	CHECK_EQ_INT(bad, 1);
}

static void double_vote_within_block_is_refused(void)
{
	cv_vote v = ref.blocks[1].votes[0];
	size_t bad = 0;

	v.candidate_id = 1; /* same voter, another choice, validly signed */
	resign(&v);
	CHECK_EQ_INT(block1_with_vote(2, v, &bad), CV_E_DOUBLE_VOTE);
	CHECK_EQ_INT(bad, 2);
}

static const uint8_t *voted_key;

static int voted_before(void *ctx, const uint8_t key[CV_KEY_LEN])
{
	(void)ctx;
	return memcmp(key, voted_key, CV_KEY_LEN) == 0;
}

static int store_fails(void *ctx, const uint8_t key[CV_KEY_LEN])
{
	(void)ctx;
	(void)key;
	return -(int)CV_E_STORE;
}

static void has_voted_callback_refuses_second_vote(void)
{
	cv_view v = view_of(G());
	size_t bad = 0;

	voted_key = ref.blocks[1].votes[1].voter_key;
	v.has_voted = voted_before;
	CHECK_EQ_INT(check_as(1, &v, &ref.blocks[1], 0, &bad), CV_E_DOUBLE_VOTE);
	CHECK_EQ_INT(bad, 1);
	v.has_voted = store_fails;
	CHECK_EQ_INT(check_as(1, &v, &ref.blocks[1], 0, &bad), CV_E_STORE);
}

static int nobody_on_roll(void *ctx, const uint8_t key[CV_KEY_LEN])
{
	(void)ctx;
	(void)key;
	return 0;
}

static void on_roll_callback_is_asked(void)
{
	cv_view v = view_of(G());

	v.on_roll = nobody_on_roll;
	CHECK_EQ_INT(cv_check_vote(&v, &ref.blocks[1].votes[0], ref.blocks[1].header.timestamp),
	             CV_E_NOT_ON_ROLL);
}

static void vote_before_genesis_is_refused(void)
{
	cv_view v = view_of(G());
	uint64_t g_ts = ref.blocks[0].header.timestamp;
	cv_vote vote = new_vote(5, 1, g_ts - 1);

	CHECK_EQ_INT(cv_check_vote(&v, &vote, g_ts + 100), CV_E_VOTE_TIME);
	vote = new_vote(5, 1, g_ts);
	CHECK_EQ_INT(cv_check_vote(&v, &vote, g_ts + 100), CV_OK);
}

static void vote_after_block_plus_300_is_refused(void)
{
	cv_view v = view_of(G());
	uint64_t latest = ref.blocks[1].header.timestamp;
	cv_vote vote = new_vote(5, 1, latest + 301);
	size_t bad = 0;

	CHECK_EQ_INT(cv_check_vote(&v, &vote, latest), CV_E_VOTE_TIME);
	CHECK_EQ_INT(block1_with_vote(0, vote, &bad), CV_E_VOTE_TIME);
	CHECK_EQ_INT(bad, 0);
	vote = new_vote(5, 1, latest + 300);
	CHECK_EQ_INT(cv_check_vote(&v, &vote, latest), CV_OK);
}

static void vote_before_opens_is_refused(void)
{
	cv_genesis g = *G();
	cv_view v = view_of(&g);
	const cv_vote *vote = &ref.blocks[1].votes[0];
	uint64_t latest = ref.blocks[1].header.timestamp;

	g.election.opens = vote->timestamp + 1;
	CHECK_EQ_INT(cv_check_vote(&v, vote, latest), CV_E_NOT_OPEN);
	g.election.opens = vote->timestamp;
	CHECK_EQ_INT(cv_check_vote(&v, vote, latest), CV_OK);
}

static void vote_after_closes_is_refused(void)
{
	cv_genesis g = *G();
	cv_view v = view_of(&g);
	const cv_vote *vote = &ref.blocks[1].votes[0];
	uint64_t latest = ref.blocks[1].header.timestamp;

	g.election.closes = vote->timestamp - 1;
	CHECK_EQ_INT(cv_check_vote(&v, vote, latest), CV_E_CLOSED);
	g.election.closes = vote->timestamp;
	CHECK_EQ_INT(cv_check_vote(&v, vote, latest), CV_OK);
}

/* ---- rule 6 ---- */

static cv_approval approve(const uint8_t pub[CV_KEY_LEN], const cv_privkey *k,
                           const uint8_t hash[CV_HASH_LEN])
{
	uint8_t msg[CV_APPROVAL_MSG_LEN];
	cv_approval a;

	memcpy(a.validator_key, pub, CV_KEY_LEN);
	cv_approval_message(hash, msg);
	CHECK_EQ_INT(cv_sign(k, msg, sizeof(msg), a.signature), CV_OK);
	return a;
}

static void approval_from_non_validator_is_refused(void)
{
	const cv_block *b = &ref.blocks[1];
	cv_approval a[3];
	cv_privkey *k;
	uint8_t pub[CV_KEY_LEN];
	size_t bad = 0;

	CHECK_EQ_INT(cv_privkey_generate(&k), CV_OK);
	cv_privkey_public(k, pub);
	a[0] = b->approvals[0];
	a[1] = approve(pub, k, b->hash);
	a[2] = b->approvals[1];
	CHECK_EQ_INT(cv_check_approval(G(), b->hash, &a[1]), CV_E_NOT_VALIDATOR);
	CHECK_EQ_INT(cv_check_approvals(G(), b->hash, a, 3, &bad), CV_E_NOT_VALIDATOR);
	CHECK_EQ_INT(bad, 1);
	cv_privkey_free(k);
}

static void duplicate_approval_is_refused(void)
{
	const cv_block *b = &ref.blocks[1];
	cv_approval a[3] = {b->approvals[0], b->approvals[1], b->approvals[0]};
	size_t bad = 0;

	CHECK_EQ_INT(cv_check_approvals(G(), b->hash, a, 3, &bad), CV_E_DUPLICATE_APPROVAL);
	CHECK_EQ_INT(bad, 2);
}

static void too_few_approvals_is_refused(void)
{
	const cv_block *b = &ref.blocks[1];
	size_t bad = 0;

	CHECK_EQ_INT(cv_check_approvals(G(), b->hash, b->approvals, 1, &bad),
	             CV_E_TOO_FEW_APPROVALS);
	CHECK_EQ_INT(bad, SIZE_MAX);
	CHECK_EQ_INT(cv_check_approvals(G(), b->hash, b->approvals, 0, &bad),
	             CV_E_TOO_FEW_APPROVALS);
}

static void third_validator_approval_counts(void)
{
	const cv_block *b = &ref.blocks[1];
	const cv_validator *val = &G()->validators[2];
	cv_approval a[2] = {b->approvals[0], approve(val->key, key_of(val->key), b->hash)};

	CHECK_EQ_INT(cv_check_approvals(G(), b->hash, a, 2, NULL), CV_OK);
}

static void bad_approval_signature_is_refused(void)
{
	const cv_block *b = &ref.blocks[1];
	cv_approval a[2] = {b->approvals[0], b->approvals[1]};
	size_t bad = 0;

	a[1].signature[3] ^= 1;
	CHECK_EQ_INT(cv_check_approval(G(), b->hash, &a[1]), CV_E_BAD_SIGNATURE);
	CHECK_EQ_INT(cv_check_approvals(G(), b->hash, a, 2, &bad), CV_E_BAD_SIGNATURE);
	CHECK_EQ_INT(bad, 1);
	/* an approval of another block is no approval of this one */
	CHECK_EQ_INT(cv_check_approval(G(), ref.blocks[2].hash, &b->approvals[0]),
	             CV_E_BAD_SIGNATURE);
}

static void rejection_signature_covers_the_reason(void)
{
	const cv_block *b = &ref.blocks[1];
	const cv_validator *val = &G()->validators[0];
	cv_buf msg = {0};
	cv_approval a;

	memcpy(a.validator_key, val->key, CV_KEY_LEN);
	CHECK_EQ_INT(cv_rejection_message(b->hash, "double vote", &msg), CV_OK);
	CHECK_EQ_INT(cv_sign(key_of(val->key), msg.data, msg.len, a.signature), CV_OK);
	CHECK_EQ_INT(cv_check_rejection(G(), b->hash, "double vote", &a), CV_OK);
	CHECK_EQ_INT(cv_check_rejection(G(), b->hash, "double votes", &a), CV_E_BAD_SIGNATURE);
	a.validator_key[64] ^= 1;
	CHECK_EQ_INT(cv_check_rejection(G(), b->hash, "double vote", &a), CV_E_NOT_VALIDATOR);
	cv_buf_free(&msg);
}

/* ---- genesis ---- */

static void genesis_out_of_order_is_refused(void)
{
	cv_block b = ref.blocks[0];
	cv_genesis g = *G();
	uint8_t(*voters)[CV_KEY_LEN] = malloc(g.n_voters * CV_KEY_LEN);

	memcpy(voters, g.voters, g.n_voters * CV_KEY_LEN);
	memcpy(voters[0], g.voters[1], CV_KEY_LEN);
	memcpy(voters[1], g.voters[0], CV_KEY_LEN);
	g.voters = voters;
	b.genesis = &g;
	CHECK_EQ_INT(cv_check_genesis(&b), CV_E_BAD_GENESIS);
	free(voters);
}

static void genesis_nonzero_nonce_is_refused(void)
{
	cv_block b = ref.blocks[0];

	b.header.nonce = 1;
	cv_header_hash(&b.header, b.hash);
	CHECK_EQ_INT(cv_check_genesis(&b), CV_E_BAD_GENESIS);
}

static void genesis_merkle_and_hash_are_checked(void)
{
	cv_block b = ref.blocks[0];

	b.header.merkle_root[0] ^= 1;
	cv_header_hash(&b.header, b.hash);
	CHECK_EQ_INT(cv_check_genesis(&b), CV_E_BAD_MERKLE);
	b = ref.blocks[0];
	b.hash[0] ^= 1;
	CHECK_EQ_INT(cv_check_genesis(&b), CV_E_BAD_HASH);
}

/* ---- the verifier ---- */

typedef struct seen {
	size_t n;
	int64_t height[32];
	int64_t vote[32];
	cv_err code[32];
	char detail[32][240];
} seen;

static void collect(void *ctx, int64_t height, int64_t vote, cv_err code, const char *detail)
{
	seen *s = ctx;

	if (s->n < 32) {
		s->height[s->n] = height;
		s->vote[s->n] = vote;
		s->code[s->n] = code;
		snprintf(s->detail[s->n], sizeof(s->detail[0]), "%s", detail);
	}
	s->n++;
}

static void verify_accepts_reference_with_tally(void)
{
	seen s = {0};
	cv_tally t;

	CHECK_EQ_INT(cv_verify_chain(&ref, collect, &s, &t), 0);
	CHECK_EQ_INT(s.n, 0);
	CHECK_EQ_INT(t.n, 3);
	if (t.n == 3) {
		CHECK_EQ_INT(t.ids[0], 1);
		CHECK_EQ_INT(t.votes[0], 2);
		CHECK_EQ_INT(t.votes[1], 1);
		CHECK_EQ_INT(t.votes[2], 2);
	}
	CHECK_EQ_INT(t.total, 5);
	cv_tally_free(&t);
}

static void ignore_txid(void *ctx, size_t block, size_t vote)
{
	(void)ctx;
	(void)block;
	(void)vote;
}

static void verify_rejects_every_invalid_variant(void)
{
	static const struct {
		const char *name;
		cv_err code;
		int64_t height;
	} want[] = {
	    {"vote_candidate", CV_E_BAD_SIGNATURE, 1},
	    {"vote_signature", CV_E_BAD_SIGNATURE, 1},
	    {"prev_link", CV_E_BAD_PREV, 2},
	    {"nonce", CV_E_BAD_HASH, 1},
	    {"approval_missing", CV_E_TOO_FEW_APPROVALS, 2},
	    {"approval_duplicate", CV_E_DUPLICATE_APPROVAL, 2},
	    {"double_vote", CV_E_BAD_SIGNATURE, 2},
	    {"roll_tamper", CV_E_BAD_ELECTION, 0},
	    {"drop_vote", CV_E_BAD_MERKLE, 1},
	    {"deep_double_vote", CV_E_DOUBLE_VOTE, 2},
	    {"deep_not_on_roll", CV_E_NOT_ON_ROLL, 1},
	    {"deep_non_validator_approval", CV_E_NOT_VALIDATOR, 1},
	    {"deep_weak_difficulty", CV_E_BAD_DIFFICULTY, 2},
	};
	size_t len, n_variants = 0;
	char *text = slurp("invalid-chains.json", &len);
	json_object *o = NULL;

	CHECK(text != NULL && cv_json_parse(text, len, &o) == CV_OK);
	json_object_object_foreach(o, name, variant)
	{
		cv_chain c;
		seen s = {0};
		bool found = false;
		size_t i;

		n_variants++;
		for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			if (strcmp(want[i].name, name) == 0)
				break;
		CHECK(i < sizeof(want) / sizeof(want[0]));
		if (i == sizeof(want) / sizeof(want[0]))
			continue;
		/* txids are the parser's; the audit form lets the rules run past them */
		CHECK_EQ_INT(cv_chain_from_json_audit(variant, &c, ignore_txid, NULL, NULL, 0),
		             CV_OK);
		memset(&s, 0, sizeof(s));
		CHECK(cv_verify_chain(&c, collect, &s, NULL) > 0);
		for (size_t j = 0; j < s.n && j < 32; j++)
			if (s.code[j] == want[i].code && s.height[j] == want[i].height)
				found = true;
		if (!found)
			fprintf(stderr, "  %s: expected %s at height %lld\n", name,
			        cv_err_code(want[i].code), (long long)want[i].height);
		CHECK(found);
		cv_chain_free(&c);
	}
	CHECK_EQ_INT(n_variants, 13);
	json_object_put(o);
	free(text);
}

static void verify_reports_in_chain_order_and_goes_on(void)
{
	cv_chain c = ref;
	cv_block blocks[3] = {ref.blocks[0], ref.blocks[1], ref.blocks[2]};
	cv_vote votes1[3], votes2[2];
	seen s = {0}, again = {0};

	memcpy(votes1, ref.blocks[1].votes, sizeof(votes1));
	memcpy(votes2, ref.blocks[2].votes, sizeof(votes2));
	votes1[2].signature[10] ^= 1; /* block 1 vote 2 */
	votes2[0].signature[10] ^= 1; /* block 2 vote 0 */
	blocks[1].votes = votes1;
	blocks[2].votes = votes2;
	c.blocks = blocks;
	CHECK_EQ_INT(cv_verify_chain(&c, collect, &s, NULL), 4); /* + two merkle roots */
	CHECK_EQ_INT(s.height[0], 1);
	CHECK_EQ_INT(s.code[0], CV_E_BAD_MERKLE);
	CHECK_EQ_INT(s.height[1], 1);
	CHECK_EQ_INT(s.vote[1], 2);
	CHECK_EQ_INT(s.code[1], CV_E_BAD_SIGNATURE);
	CHECK_EQ_INT(s.height[3], 2);
	CHECK_EQ_INT(s.vote[3], 0);
	CHECK_EQ_INT(cv_verify_chain(&c, collect, &again, NULL), 4);
	for (size_t i = 0; i < 4; i++)
		CHECK_STR(again.detail[i], s.detail[i]);
}

static void verify_message_names_the_voter(void)
{
	cv_chain c = ref;
	cv_block blocks[3] = {ref.blocks[0], ref.blocks[1], ref.blocks[2]};
	cv_genesis g = *G();
	seen s = {0};

	g.election.closes = ref.blocks[1].votes[0].timestamp - 1;
	blocks[0].genesis = &g; /* breaks the genesis merkle root too */
	c.blocks = blocks;
	cv_verify_chain(&c, collect, &s, NULL);
	CHECK(s.n > 2);
	CHECK_EQ_INT(s.code[0], CV_E_BAD_MERKLE);
	CHECK_EQ_INT(s.code[1], CV_E_CLOSED);
	CHECK_STR(s.detail[1], "timestamp 1767225607 is after the election closes at 1767225606");
}

static void verify_judges_blocks_after_an_unsorted_genesis(void)
{
	cv_chain c = ref;
	cv_block blocks[3] = {ref.blocks[0], ref.blocks[1], ref.blocks[2]};
	cv_genesis g = *G();
	uint8_t(*voters)[CV_KEY_LEN] = malloc(g.n_voters * CV_KEY_LEN);
	seen s = {0};

	for (size_t i = 0; i < g.n_voters; i++) /* reversed: every vote's voter is still there */
		memcpy(voters[i], G()->voters[g.n_voters - 1 - i], CV_KEY_LEN);
	g.voters = voters;
	blocks[0].genesis = &g;
	c.blocks = blocks;
	CHECK_EQ_INT(cv_verify_chain(&c, collect, &s, NULL), 2);
	CHECK_EQ_INT(s.code[0], CV_E_BAD_GENESIS);
	CHECK_EQ_INT(s.code[1], CV_E_BAD_MERKLE);
	CHECK_EQ_INT(s.height[1], 0);
	free(voters);
}

static void verify_empty_chain_is_one_problem(void)
{
	cv_chain c = {0};
	seen s = {0};

	CHECK_EQ_INT(cv_verify_chain(&c, collect, &s, NULL), 1);
	CHECK_EQ_INT(s.height[0], -1);
}

static int pub_cmp(const void *a, const void *b)
{
	return memcmp(((const test_key *)a)->pub, ((const test_key *)b)->pub, CV_KEY_LEN);
}

/* A chain of 40 blocks of 5 votes by a generated roll of 200, so that the parallel
 * signature pass has real work and its verdicts must land on the right votes. */
static void same_when_streamed_json(json_object *o, int flags, size_t piece);

static void verify_long_chain_finds_the_bad_votes(void)
{
	enum { N_BLOCKS = 40, PER_BLOCK = 5, N_VOTERS = N_BLOCKS * PER_BLOCK };
	test_key *roll = calloc(N_VOTERS, sizeof(*roll));
	cv_block *blocks = calloc(N_BLOCKS + 1, sizeof(cv_block));
	cv_genesis g = *G();
	cv_chain c = {0};
	seen s = {0};
	cv_tally t;
	json_object *out;

	g.voters = malloc(N_VOTERS * CV_KEY_LEN);
	g.n_voters = N_VOTERS;
	g.election.max_block_votes = PER_BLOCK;
	for (size_t i = 0; i < N_VOTERS; i++) {
		CHECK_EQ_INT(cv_privkey_generate(&roll[i].key), CV_OK);
		cv_privkey_public(roll[i].key, roll[i].pub);
	}
	qsort(roll, N_VOTERS, sizeof(*roll), pub_cmp);
	for (size_t i = 0; i < N_VOTERS; i++)
		memcpy(g.voters[i], roll[i].pub, CV_KEY_LEN);
	blocks[0] = ref.blocks[0];
	blocks[0].genesis = &g;
	CHECK_EQ_INT(cv_genesis_merkle_root(&g, blocks[0].header.merkle_root), CV_OK);
	cv_header_hash(&blocks[0].header, blocks[0].hash);
	for (size_t h = 1; h <= N_BLOCKS; h++) {
		cv_block *b = &blocks[h];

		b->header = ref.blocks[1].header;
		b->header.height = h;
		memcpy(b->header.prev_hash, blocks[h - 1].hash, CV_HASH_LEN);
		b->n_votes = PER_BLOCK;
		b->votes = calloc(PER_BLOCK, sizeof(cv_vote));
		for (size_t i = 0; i < PER_BLOCK; i++) {
			cv_vote *v = &b->votes[i];
			size_t who = (h - 1) * PER_BLOCK + i;

			memcpy(v->election_id, blocks[0].hash, CV_HASH_LEN);
			memcpy(v->voter_key, roll[who].pub, CV_KEY_LEN);
			v->candidate_id = 1 + (uint32_t)(who % 3);
			v->timestamp = ref.blocks[1].votes[0].timestamp;
			CHECK_EQ_INT(cv_vote_sign(v, roll[who].key), CV_OK);
		}
		if (h == 7)
			b->votes[3].signature[0] ^= 1;
		if (h == 33)
			b->votes[0].signature[20] ^= 1;
		remine(b, false);
		b->approvals = calloc(2, sizeof(cv_approval));
		b->n_approvals = 2;
		for (size_t i = 0; i < 2; i++)
			b->approvals[i] =
			    approve(g.validators[i].key, key_of(g.validators[i].key), b->hash);
	}
	c.blocks = blocks;
	c.n_blocks = N_BLOCKS + 1;
	CHECK_EQ_INT(cv_verify_chain(&c, collect, &s, &t), 2);
	CHECK_EQ_INT(s.height[0], 7);
	CHECK_EQ_INT(s.vote[0], 3);
	CHECK_EQ_INT(s.code[0], CV_E_BAD_SIGNATURE);
	CHECK_EQ_INT(s.height[1], 33);
	CHECK_EQ_INT(s.vote[1], 0);
	CHECK_EQ_INT(t.total, (N_BLOCKS - 2) * PER_BLOCK);
	cv_tally_free(&t);
	out = cv_chain_to_json(&c);
	same_when_streamed_json(out, JSON_C_TO_STRING_PLAIN, 1000);
	json_object_put(out);
	for (size_t h = 1; h <= N_BLOCKS; h++) {
		free(blocks[h].votes);
		free(blocks[h].approvals);
	}
	for (size_t i = 0; i < N_VOTERS; i++)
		cv_privkey_free(roll[i].key);
	free(g.voters);
	free(roll);
	free(blocks);
}

/* ---- the close (DESIGN section 2, "The close: the seal") ---- */

static json_object *load_chain(const char *name)
{
	size_t len = 0;
	char *text = slurp(name, &len);
	json_object *o = NULL;

	CHECK(text != NULL && cv_json_parse(text, len, &o) == CV_OK);
	free(text);
	return o;
}

/* A seal block after reference block 2, closed at block 2's timestamp, mined. */
static void make_seal_block(cv_block *b, uint64_t closed_at)
{
	const cv_block *tip = &ref.blocks[2];

	memset(b, 0, sizeof(*b));
	b->header = tip->header;
	b->header.height = 3;
	memcpy(b->header.prev_hash, tip->hash, CV_HASH_LEN);
	b->header.timestamp = tip->header.timestamp + 30;
	b->has_seal = true;
	memcpy(b->seal.election_id, ref.blocks[0].hash, CV_HASH_LEN);
	b->seal.closed_at = closed_at;
	CHECK_EQ_INT(cv_block_merkle_root(b, b->header.merkle_root), CV_OK);
	b->header.nonce = 0;
	CHECK(cv_mine(&b->header, CV_NONCE_LIMIT, 1, NULL, b->hash, NULL));
}

static void seal_block_passes_after_the_votes(void)
{
	cv_view v = view_of(G());
	cv_block b;

	make_seal_block(&b, ref.blocks[2].header.timestamp);
	CHECK_EQ_INT(cv_check_proposal(&v, &ref.blocks[2].header, ref.blocks[2].hash, &b, 0, NULL),
	             CV_OK);
	v.closed_at = b.seal.closed_at; /* the store's close, when it knows one */
	CHECK_EQ_INT(cv_check_proposal(&v, &ref.blocks[2].header, ref.blocks[2].hash, &b, 0, NULL),
	             CV_OK);
}

static void seal_with_another_close_is_refused(void)
{
	cv_view v = view_of(G());
	cv_block b;

	make_seal_block(&b, ref.blocks[2].header.timestamp);
	v.closed_at = b.seal.closed_at + 1;
	CHECK_EQ_INT(cv_check_proposal(&v, &ref.blocks[2].header, ref.blocks[2].hash, &b, 0, NULL),
	             CV_E_BAD_SEAL);
}

static void seal_with_a_vote_beside_it_is_refused(void)
{
	cv_view v = view_of(G());
	cv_block b, votes;

	copy_block(2, &votes);
	make_seal_block(&b, ref.blocks[2].header.timestamp + 10);
	b.votes = votes.votes;
	b.n_votes = 1;
	b.votes[0].timestamp = ref.blocks[2].header.timestamp; /* a vote no one has yet */
	CHECK_EQ_INT(cv_block_merkle_root(&b, b.header.merkle_root), CV_OK);
	CHECK(cv_mine(&b.header, CV_NONCE_LIMIT, 1, NULL, b.hash, NULL));
	CHECK_EQ_INT(cv_check_proposal(&v, &ref.blocks[2].header, ref.blocks[2].hash, &b, 0, NULL),
	             CV_E_BAD_SEAL);
	free(votes.votes);
	free(votes.approvals);
}

static void nothing_follows_the_seal(void)
{
	cv_view v = view_of(G());
	cv_block b;

	copy_block(2, &b);
	v.sealed = true;
	CHECK_EQ_INT(cv_check_proposal(&v, &ref.blocks[1].header, ref.blocks[1].hash, &b, 0, NULL),
	             CV_E_SEALED);
	free(b.votes);
	free(b.approvals);
}

static void vote_stamped_after_the_close_is_late(void)
{
	cv_view v = view_of(G());
	cv_block b;
	size_t bad = SIZE_MAX;

	copy_block(2, &b);
	v.closed_at = b.votes[1].timestamp - 1;
	if (b.votes[0].timestamp > v.closed_at)
		v.closed_at = b.votes[0].timestamp;
	CHECK_EQ_INT(cv_check_proposal(&v, &ref.blocks[1].header, ref.blocks[1].hash, &b, 0, &bad),
	             CV_E_LATE_VOTE);
	CHECK_EQ_INT(bad, 1);
	free(b.votes);
	free(b.approvals);
}

/* The sealed chain passes every rule, is final at its closed_at, with the tally of the
 * votes before the seal. */
static void sealed_chain_verifies_as_final(void)
{
	json_object *sealed = load_chain("chain-sealed.json");
	cv_chain c = {0};
	cv_tally t = {0};

	CHECK_EQ_INT(cv_chain_from_json(sealed, &c), CV_OK);
	CHECK_EQ_INT(cv_verify_chain(&c, NULL, NULL, &t), 0);
	CHECK(t.final);
	CHECK_EQ_INT(t.closed_at, 1767225755);
	CHECK_EQ_INT(t.total, 5);
	cv_tally_free(&t);
	cv_chain_free(&c);
	json_object_put(sealed);
}

/* The same without its seal block is valid but not final. */
static void chain_without_seal_is_not_final(void)
{
	cv_tally t = {0};

	CHECK_EQ_INT(cv_verify_chain(&ref, NULL, NULL, &t), 0);
	CHECK(!t.final);
	cv_tally_free(&t);
}

/* Printing the parsed sealed chain and parsing it again keeps the seal exactly. */
static void sealed_chain_json_round_trips(void)
{
	json_object *sealed = load_chain("chain-sealed.json"), *out;
	cv_chain c = {0}, again = {0};
	cv_block *last;

	CHECK_EQ_INT(cv_chain_from_json(sealed, &c), CV_OK);
	out = cv_chain_to_json(&c);
	CHECK_EQ_INT(cv_chain_from_json(out, &again), CV_OK);
	CHECK_EQ_INT(again.n_blocks, 4);
	last = &again.blocks[again.n_blocks - 1];
	CHECK(last->has_seal);
	CHECK(!again.blocks[2].has_seal);
	CHECK_EQ_INT(last->seal.closed_at, 1767225755);
	CHECK(memcmp(last->seal.election_id, again.blocks[0].hash, CV_HASH_LEN) == 0);
	CHECK_EQ_INT(cv_verify_chain(&again, NULL, NULL, NULL), 0);
	cv_chain_free(&again);
	cv_chain_free(&c);
	json_object_put(out);
	json_object_put(sealed);
}

/* ---- the verifier fed block by block ---- */

static cv_err to_verifier(void *ctx, size_t index, cv_block *b)
{
	(void)index;
	return cv_verifier_add(ctx, b);
}

/* Verifies text both ways, whole (cv_chain_from_json_audit, cv_verify_chain) and as a
 * stream fed `piece` bytes at a time (cv_chain_reader into a cv_verifier), and checks
 * that both report the same problems, in the same order and words, and the same tally. */
static void same_when_streamed(const char *text, size_t len, size_t piece)
{
	json_object *o = NULL;
	cv_chain c = {0};
	cv_verifier *v = cv_verifier_new();
	cv_chain_reader *r = cv_chain_reader_new(to_verifier, ignore_txid, v);
	seen *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	cv_tally ta = {0}, tb = {0};
	size_t na, nb;

	CHECK(v != NULL && r != NULL && a != NULL && b != NULL);
	CHECK_EQ_INT(cv_json_parse(text, len, &o), CV_OK);
	CHECK_EQ_INT(cv_chain_from_json_audit(o, &c, ignore_txid, NULL, NULL, 0), CV_OK);
	na = cv_verify_chain(&c, collect, a, &ta);
	for (size_t off = 0; off < len; off += piece)
		CHECK_EQ_INT(
		    cv_chain_reader_feed(r, text + off, len - off < piece ? len - off : piece),
		    CV_OK);
	CHECK_EQ_INT(cv_chain_reader_end(r), CV_OK);
	CHECK_EQ_INT(cv_verifier_chain(v)->n_blocks, c.n_blocks);
	nb = cv_verifier_finish(v, collect, b, &tb);
	CHECK_EQ_INT(nb, na);
	CHECK_EQ_INT(b->n, a->n);
	for (size_t j = 0; j < a->n && j < b->n && j < 32; j++) {
		CHECK_EQ_INT(b->height[j], a->height[j]);
		CHECK_EQ_INT(b->vote[j], a->vote[j]);
		CHECK_EQ_INT(b->code[j], a->code[j]);
		CHECK(strcmp(b->detail[j], a->detail[j]) == 0);
	}
	CHECK_EQ_INT(tb.n, ta.n);
	CHECK_EQ_INT(tb.total, ta.total);
	CHECK_EQ_INT(tb.final, ta.final);
	CHECK_EQ_INT(tb.closed_at, ta.closed_at);
	for (size_t i = 0; i < ta.n && i < tb.n; i++)
		CHECK_EQ_INT(tb.votes[i], ta.votes[i]);
	CHECK_EQ_INT(tb.secret, ta.secret);
	CHECK_EQ_INT(tb.sealed, ta.sealed);
	CHECK_EQ_INT(tb.pending, ta.pending);
	CHECK_EQ_INT(tb.ballots, ta.ballots);
	CHECK_EQ_INT(tb.n_share_trustees, ta.n_share_trustees);
	for (size_t i = 0; i < ta.n_share_trustees && i < tb.n_share_trustees; i++)
		CHECK_EQ_INT(tb.share_trustees[i], ta.share_trustees[i]);
	cv_tally_free(&ta);
	cv_tally_free(&tb);
	cv_chain_reader_free(r);
	cv_verifier_free(v);
	cv_chain_free(&c);
	json_object_put(o);
	free(a);
	free(b);
}

static void same_when_streamed_json(json_object *o, int flags, size_t piece)
{
	const char *text = json_object_to_json_string_ext(o, flags);

	same_when_streamed(text, strlen(text), piece);
}

/* Every chain of the vectors (valid, sealed, secret, each invalid variant, the sealed
 * ones with a vote judged late against a seal that comes after it, the secret ones with
 * shares before the seal) and a long generated one: the streamed verifier reports
 * exactly what the whole-chain verifier reports, tally included. */
static void streamed_verify_matches_whole_chain(void)
{
	static const char *const files[] = {"chain.json", "chain-sealed.json", "secret/chain.json"};
	static const char *const sets[] = {"invalid-chains.json", "invalid-sealed.json",
	                                   "secret/invalid-chains.json"};
	size_t len, n_variants = 0;
	char *text;

	for (size_t i = 0; i < 3; i++) {
		CHECK((text = slurp(files[i], &len)) != NULL);
		if (text == NULL)
			continue;
		same_when_streamed(text, len, 1);
		same_when_streamed(text, len, 4096);
		free(text);
	}
	for (size_t i = 0; i < 3; i++) {
		json_object *o = NULL, *chain;

		CHECK((text = slurp(sets[i], &len)) != NULL);
		CHECK(text != NULL && cv_json_parse(text, len, &o) == CV_OK);
		json_object_object_foreach(o, name, entry)
		{
			/* the secret set gives {"expect", "chain"} */
			json_object *variant =
			    json_object_object_get_ex(entry, "chain", &chain) ? chain : entry;

			(void)name;
			n_variants++;
			same_when_streamed_json(variant, JSON_C_TO_STRING_PLAIN, 7);
			same_when_streamed_json(variant, JSON_C_TO_STRING_PRETTY, 64);
		}
		json_object_put(o);
		free(text);
	}
	CHECK_EQ_INT(n_variants, 52);
}

/* An open election's chain with a secret election's block in it (ballots and a
 * decryption share): refused by mode, its share never judged against trustees the
 * election has not. */
static void secret_block_in_open_chain_is_wrong_mode(void)
{
	json_object *o = NULL, *s = NULL, *blocks, *sb = NULL, *copy = NULL;
	size_t len, slen;
	char *text = slurp("chain.json", &len), *stext = slurp("secret/chain.json", &slen);
	cv_chain c = {0};
	seen *got = calloc(1, sizeof(*got));
	bool mode = false;

	CHECK(text != NULL && stext != NULL && got != NULL);
	CHECK_EQ_INT(cv_json_parse(text, len, &o), CV_OK);
	CHECK_EQ_INT(cv_json_parse(stext, slen, &s), CV_OK);
	CHECK(json_object_object_get_ex(s, "blocks", &blocks));
	for (size_t i = 0; i < json_object_array_length(blocks) && sb == NULL; i++) {
		json_object *b = json_object_array_get_idx(blocks, i), *d;

		if (json_object_object_get_ex(b, "decryptions", &d) &&
		    json_object_array_length(d) > 0)
			sb = b;
	}
	CHECK(sb != NULL && json_object_deep_copy(sb, &copy, NULL) == 0);
	CHECK(json_object_object_get_ex(o, "blocks", &blocks));
	json_object_array_add(blocks, copy);
	CHECK_EQ_INT(cv_chain_from_json_audit(o, &c, ignore_txid, NULL, NULL, 0), CV_OK);
	CHECK(cv_verify_chain(&c, collect, got, NULL) > 0);
	for (size_t j = 0; j < got->n && j < 32; j++)
		mode = mode || got->code[j] == CV_E_WRONG_MODE;
	CHECK(mode);
	same_when_streamed_json(o, JSON_C_TO_STRING_PLAIN, 100);
	cv_chain_free(&c);
	json_object_put(o);
	json_object_put(s);
	free(text);
	free(stext);
	free(got);
}

int main(void)
{
	if (load_vectors() != 0) {
		fprintf(stderr, "cannot read the vectors (set VECTORS)\n");
		return 1;
	}
	RUN(reference_blocks_pass);
	RUN(remined_copy_still_passes);
	RUN(wrong_version_is_refused);
	RUN(wrong_height_is_refused);
	RUN(broken_prev_link_is_refused);
	RUN(other_difficulty_is_refused);
	RUN(weak_pow_is_refused);
	RUN(stated_hash_mismatch_is_refused);
	RUN(timestamp_before_previous_is_refused);
	RUN(future_timestamp_is_refused_when_now_set);
	RUN(empty_block_is_refused);
	RUN(more_than_max_block_votes_is_refused);
	RUN(bad_merkle_root_is_refused);
	RUN(wrong_election_id_is_refused);
	RUN(voter_not_on_roll_is_refused);
	RUN(unknown_candidate_is_refused);
	RUN(bad_vote_signature_is_refused);
	RUN(double_vote_within_block_is_refused);
	RUN(has_voted_callback_refuses_second_vote);
	RUN(on_roll_callback_is_asked);
	RUN(vote_before_genesis_is_refused);
	RUN(vote_after_block_plus_300_is_refused);
	RUN(vote_before_opens_is_refused);
	RUN(vote_after_closes_is_refused);
	RUN(approval_from_non_validator_is_refused);
	RUN(duplicate_approval_is_refused);
	RUN(too_few_approvals_is_refused);
	RUN(third_validator_approval_counts);
	RUN(bad_approval_signature_is_refused);
	RUN(rejection_signature_covers_the_reason);
	RUN(genesis_out_of_order_is_refused);
	RUN(genesis_nonzero_nonce_is_refused);
	RUN(genesis_merkle_and_hash_are_checked);
	RUN(verify_accepts_reference_with_tally);
	RUN(verify_rejects_every_invalid_variant);
	RUN(verify_reports_in_chain_order_and_goes_on);
	RUN(verify_message_names_the_voter);
	RUN(verify_judges_blocks_after_an_unsorted_genesis);
	RUN(verify_empty_chain_is_one_problem);
	RUN(verify_long_chain_finds_the_bad_votes);
	RUN(seal_block_passes_after_the_votes);
	RUN(seal_with_another_close_is_refused);
	RUN(seal_with_a_vote_beside_it_is_refused);
	RUN(nothing_follows_the_seal);
	RUN(vote_stamped_after_the_close_is_late);
	RUN(sealed_chain_verifies_as_final);
	RUN(chain_without_seal_is_not_final);
	RUN(sealed_chain_json_round_trips);
	RUN(streamed_verify_matches_whole_chain);
	RUN(secret_block_in_open_chain_is_wrong_mode);
	cv_chain_free(&ref);
	for (size_t i = 0; i < n_keys; i++)
		cv_privkey_free(keys[i].key);
	return CHECK_DONE("test_rules");
}
