/* govvectors: writes the governance test vectors (docs/GOVERNANCE.md, "Vectors") into a
 * directory: chain.json, an open election with a change of each kind and sealed;
 * invalid-chains.json, that election with one rule of the changes broken in each (every
 * hash, proof of work, merkle root, signature and approval recomputed); components.json,
 * the keys and every change's bytes. Only the library builds them. ECDSA signatures are
 * randomised, so a new run gives new signatures and hashes: the committed files are the
 * vectors, and the tests reproduce every byte of them from their fields. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "json.h"
#include "merkle.h"
#include "pow.h"
#include "rules.h"

#define T0           1767225600ULL /* the genesis timestamp */
#define N_VALIDATORS 4
#define N_VOTERS     6
#define MAX_BLOCKS   12
#define DIFFICULTY   6 /* the genesis's */
#define DIFFICULTY2  2 /* after the difficulty change */
#define JSON_FLAGS   (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Each variant breaks one rule; V_VALID breaks none. */
typedef enum variant {
	V_VALID,
	V_TOO_FEW_SIGNATURES,
	V_SIGNATURE_BY_NON_VALIDATOR,
	V_SIGNATURES_OUT_OF_ORDER,
	V_REPLACED_KEY_SIGNS_CHANGE,
	V_REPLACED_KEY_APPROVING,
	V_NEW_KEY_APPROVING_EARLY,
	V_CLOSES_BEFORE_VOTE,
	V_CHANGE_AFTER_SEAL,
	V_CHANGE_NOT_ALONE,
	V_EFFECTIVE_HEIGHT_FUTURE,
	V_EFFECTIVE_HEIGHT_PAST,
	V_OLD_DIFFICULTY_AFTER_CHANGE,
	V_SEAL_AFTER_NEW_CLOSES,
	V__COUNT
} variant;

static const struct {
	const char *name, *breaks, *code;
	uint64_t height;
} variants[V__COUNT] = {
    [V_TOO_FEW_SIGNATURES] = {"too_few_signatures",
                              "the closes change at height 2 has 2 signatures, threshold 3",
                              "change_signatures", 2},
    [V_SIGNATURE_BY_NON_VALIDATOR] = {"signature_by_non_validator",
                                      "one of the 3 signatures of the change at height 2 is by "
                                      "a voter, not a validator",
                                      "change_signatures", 2},
    [V_SIGNATURES_OUT_OF_ORDER] = {"signatures_out_of_order",
                                   "the signatures of the change at height 2 are in descending "
                                   "key order",
                                   "change_signatures", 2},
    [V_REPLACED_KEY_SIGNS_CHANGE] = {"replaced_key_signs_change",
                                     "the difficulty change at height 6 is co-signed by the key "
                                     "replaced at height 4",
                                     "change_signatures", 6},
    [V_REPLACED_KEY_APPROVING] = {"replaced_key_approving",
                                  "block 5 is approved by the key replaced at height 4 (in force "
                                  "from 5) instead of its new key",
                                  "not_validator", 5},
    [V_NEW_KEY_APPROVING_EARLY] = {"new_key_approving_early",
                                   "block 3 is approved by the new key before the change that "
                                   "names it",
                                   "not_validator", 3},
    [V_CLOSES_BEFORE_VOTE] = {"closes_before_vote",
                              "the change at height 8 moves closes before the vote committed "
                              "at height 7",
                              "change_closes", 8},
    [V_CHANGE_AFTER_SEAL] = {"change_after_seal",
                             "a difficulty change at height 10, after the seal", "sealed", 10},
    [V_CHANGE_NOT_ALONE] = {"change_not_alone",
                            "the change block at height 2 carries a vote besides the change",
                            "bad_change", 2},
    [V_EFFECTIVE_HEIGHT_FUTURE] = {"effective_height_future",
                                   "the change at height 2 names effective_height 4, not 3",
                                   "bad_change", 2},
    [V_EFFECTIVE_HEIGHT_PAST] = {"effective_height_past",
                                 "the change at height 2 names effective_height 2, not 3",
                                 "bad_change", 2},
    [V_OLD_DIFFICULTY_AFTER_CHANGE] = {"old_difficulty_after_change",
                                       "block 7 is mined at the genesis difficulty, not the "
                                       "one in force from 7",
                                       "bad_difficulty", 7},
    [V_SEAL_AFTER_NEW_CLOSES] = {"seal_after_new_closes",
                                 "the seal's closed_at is after the closes in force since "
                                 "height 9 (but before the genesis's)",
                                 "bad_seal", 9},
};

/* The keys: validators in genesis order, the replacement key, voters. */
typedef struct keys {
	cv_privkey *validator[N_VALIDATORS];
	cv_privkey *replacement;
	cv_privkey *voter[N_VOTERS];
} keys;

static void die(const char *what)
{
	fprintf(stderr, "govvectors: %s\n", what);
	exit(1);
}

static cv_privkey *key_of(const char *label, unsigned i)
{
	uint8_t seed[64], d[CV_SCALAR_LEN];
	cv_privkey *k = NULL;
	int n = snprintf((char *)seed, sizeof seed, "chainvote governance vectors/%s/%u", label, i);

	cv_sha256(seed, (size_t)n, d);
	if (cv_privkey_from_scalar(d, &k) != CV_OK)
		die("a key scalar is out of range");
	return k;
}

static void make_genesis(keys *k, cv_genesis *g)
{
	cv_privkey *tmp[N_VALIDATORS];

	memset(g, 0, sizeof *g);
	snprintf(g->election.title, sizeof g->election.title, "Governance vectors");
	g->election.threshold = 3;
	g->election.difficulty = DIFFICULTY;
	g->election.max_block_votes = 10;
	g->election.closes = T0 + 3600;
	g->n_candidates = 3;
	g->n_validators = N_VALIDATORS;
	g->n_voters = N_VOTERS;
	g->candidates = calloc(3, sizeof *g->candidates);
	g->validators = calloc(N_VALIDATORS, sizeof *g->validators);
	g->voters = calloc(N_VOTERS, sizeof *g->voters);
	if (g->candidates == NULL || g->validators == NULL || g->voters == NULL)
		die("out of memory");
	for (unsigned i = 0; i < 3; i++) {
		g->candidates[i].id = i + 1;
		snprintf(g->candidates[i].name, sizeof g->candidates[i].name, "Candidate %u",
		         i + 1);
	}
	for (unsigned i = 0; i < N_VALIDATORS; i++) {
		tmp[i] = key_of("validator", i);
		cv_privkey_public(tmp[i], g->validators[i].key);
		snprintf(g->validators[i].name, sizeof g->validators[i].name, "Validator %c",
		         'A' + i);
	}
	for (unsigned i = 0; i < N_VOTERS; i++) {
		k->voter[i] = key_of("voter", i);
		cv_privkey_public(k->voter[i], g->voters[i]);
	}
	k->replacement = key_of("replacement", 0);
	if (cv_genesis_normalise(g) != CV_OK)
		die("the genesis breaks a rule");
	/* the validators' keys in genesis order */
	for (unsigned i = 0; i < N_VALIDATORS; i++)
		for (unsigned j = 0; j < N_VALIDATORS; j++) {
			uint8_t pub[CV_KEY_LEN];

			cv_privkey_public(tmp[j], pub);
			if (memcmp(pub, g->validators[i].key, CV_KEY_LEN) == 0)
				k->validator[i] = tmp[j];
		}
}

/* Header, merkle root, proof of work (nonces from 0) and approvals by `approvers`. */
static void finish(cv_chain *c, cv_block *b, uint64_t timestamp, uint32_t difficulty,
                   cv_privkey *const *approvers, size_t n_approvers)
{
	const cv_block *prev = &c->blocks[c->n_blocks - 1];
	uint8_t msg[CV_APPROVAL_MSG_LEN];

	b->header.version = CV_VERSION;
	b->header.height = prev->header.height + 1;
	memcpy(b->header.prev_hash, prev->hash, CV_HASH_LEN);
	b->header.timestamp = timestamp;
	b->header.difficulty = difficulty;
	b->header.nonce = 0;
	if (cv_block_merkle_root(b, b->header.merkle_root) != CV_OK)
		die("a merkle root could not be computed");
	if (!cv_mine(&b->header, CV_NONCE_LIMIT, 1, NULL, b->hash, NULL))
		die("no nonce found");
	b->approvals = calloc(n_approvers ? n_approvers : 1, sizeof *b->approvals);
	if (b->approvals == NULL)
		die("out of memory");
	b->n_approvals = n_approvers;
	cv_approval_message(b->hash, msg);
	for (size_t i = 0; i < n_approvers; i++) {
		cv_privkey_public(approvers[i], b->approvals[i].validator_key);
		if (cv_sign(approvers[i], msg, sizeof msg, b->approvals[i].signature) != CV_OK)
			die("an approval could not be signed");
	}
	c->blocks[c->n_blocks++] = *b;
}

static void vote_block(cv_chain *c, const keys *k, const unsigned *voters, const uint32_t *choices,
                       const uint64_t *stamps, size_t n, uint64_t ts, uint32_t difficulty,
                       cv_privkey *const *approvers)
{
	cv_block b = {0};

	if ((b.votes = calloc(n, sizeof *b.votes)) == NULL)
		die("out of memory");
	b.n_votes = n;
	for (size_t i = 0; i < n; i++) {
		cv_vote *v = &b.votes[i];

		memcpy(v->election_id, c->blocks[0].hash, CV_HASH_LEN);
		cv_privkey_public(k->voter[voters[i]], v->voter_key);
		v->candidate_id = choices[i];
		v->timestamp = stamps[i];
		if (cv_vote_sign(v, k->voter[voters[i]]) != CV_OK)
			die("a vote could not be signed");
	}
	finish(c, &b, ts, difficulty, approvers, 3);
}

/* A change block; the change's signers sign in the order given (cv_change_sign puts each
 * in ascending key order) unless `as_given`. */
static void change_block(cv_chain *c, cv_change *ch, cv_privkey *const *signers, size_t n,
                         bool as_given, uint64_t ts, uint32_t difficulty,
                         cv_privkey *const *approvers)
{
	cv_block b = {0};
	cv_buf msg = {0};

	memcpy(ch->election_id, c->blocks[0].hash, CV_HASH_LEN);
	if (ch->effective_height == 0)
		ch->effective_height = c->blocks[c->n_blocks - 1].header.height + 2;
	if (as_given) {
		if ((ch->signatures = calloc(n, sizeof *ch->signatures)) == NULL ||
		    cv_change_message(ch, &msg) != CV_OK)
			die("out of memory");
		for (size_t i = 0; i < n; i++) {
			cv_privkey_public(signers[i], ch->signatures[i].validator_key);
			if (cv_sign(signers[i], msg.data, msg.len, ch->signatures[i].signature) !=
			    CV_OK)
				die("a change could not be signed");
		}
		ch->n_signatures = n;
		cv_buf_free(&msg);
	} else {
		for (size_t i = 0; i < n; i++)
			if (cv_change_sign(ch, signers[i]) != CV_OK)
				die("a change could not be signed");
	}
	if ((b.change = malloc(sizeof *b.change)) == NULL)
		die("out of memory");
	*b.change = *ch;
	finish(c, &b, ts, difficulty, approvers, 3);
}

static void build(variant x, keys *k, cv_genesis *g, cv_chain *c)
{
	cv_privkey *const *val = k->validator;
	cv_privkey *abc[3] = {val[0], val[1], val[2]};
	cv_privkey *ab_new[3] = {val[0], val[1], k->replacement};
	cv_privkey *ab_old[3] = {val[0], val[1], val[2]};
	cv_privkey *signers[3] = {val[0], val[1], val[2]};
	cv_privkey *const *after = x == V_REPLACED_KEY_APPROVING ? ab_old : ab_new;
	uint32_t diff2 = DIFFICULTY2;
	cv_change ch;
	cv_block b0 = {0};

	memset(c, 0, sizeof *c);
	if ((c->blocks = calloc(MAX_BLOCKS, sizeof *c->blocks)) == NULL)
		die("out of memory");
	b0.genesis = g;
	if (cv_genesis_header(g, T0, &b0.header) != CV_OK)
		die("the genesis header could not be made");
	cv_header_hash(&b0.header, b0.hash);
	c->blocks[c->n_blocks++] = b0;

	/* 1: two votes */
	vote_block(c, k, (unsigned[]){0, 1}, (uint32_t[]){1, 2}, (uint64_t[]){T0 + 60, T0 + 70}, 2,
	           T0 + 100, DIFFICULTY, abc);

	/* 2: closes extended to T0 + 7200, signed by A, B, C */
	memset(&ch, 0, sizeof ch);
	ch.kind = CV_CHANGE_CLOSES;
	ch.closes = T0 + 7200;
	if (x == V_EFFECTIVE_HEIGHT_FUTURE)
		ch.effective_height = 4;
	if (x == V_EFFECTIVE_HEIGHT_PAST)
		ch.effective_height = 2;
	if (x == V_SIGNATURE_BY_NON_VALIDATOR)
		signers[2] = k->voter[0];
	if (x == V_SIGNATURES_OUT_OF_ORDER) {
		/* the genesis order is ascending: C, B, A is descending */
		signers[0] = val[2];
		signers[2] = val[0];
	}
	if (x == V_CHANGE_NOT_ALONE) {
		cv_block b = {0};

		memcpy(ch.election_id, c->blocks[0].hash, CV_HASH_LEN);
		ch.effective_height = 3;
		for (size_t i = 0; i < 3; i++)
			if (cv_change_sign(&ch, signers[i]) != CV_OK)
				die("a change could not be signed");
		if ((b.change = malloc(sizeof *b.change)) == NULL ||
		    (b.votes = calloc(1, sizeof *b.votes)) == NULL)
			die("out of memory");
		*b.change = ch;
		b.n_votes = 1;
		memcpy(b.votes[0].election_id, c->blocks[0].hash, CV_HASH_LEN);
		cv_privkey_public(k->voter[2], b.votes[0].voter_key);
		b.votes[0].candidate_id = 3;
		b.votes[0].timestamp = T0 + 150;
		if (cv_vote_sign(&b.votes[0], k->voter[2]) != CV_OK)
			die("a vote could not be signed");
		finish(c, &b, T0 + 200, DIFFICULTY, abc, 3);
	} else {
		change_block(c, &ch, signers, x == V_TOO_FEW_SIGNATURES ? 2 : 3,
		             x == V_SIGNATURES_OUT_OF_ORDER, T0 + 200, DIFFICULTY, abc);
	}

	/* 3: two votes */
	vote_block(c, k, (unsigned[]){2, 3}, (uint32_t[]){3, 1}, (uint64_t[]){T0 + 250, T0 + 260},
	           2, T0 + 300, DIFFICULTY, x == V_NEW_KEY_APPROVING_EARLY ? ab_new : abc);

	/* 4: the third validator's key (genesis order) replaced, signed by the first three */
	memset(&ch, 0, sizeof ch);
	ch.kind = CV_CHANGE_VALIDATOR_KEY;
	cv_privkey_public(val[2], ch.old_key);
	cv_privkey_public(k->replacement, ch.new_key);
	signers[0] = val[0];
	signers[1] = val[1];
	signers[2] = val[2];
	change_block(c, &ch, signers, 3, false, T0 + 400, DIFFICULTY, abc);

	/* 5: one vote, approved by A, B and the new key */
	vote_block(c, k, (unsigned[]){4}, (uint32_t[]){2}, (uint64_t[]){T0 + 450}, 1, T0 + 500,
	           DIFFICULTY, after);

	/* 6: the difficulty lowered, signed by A, B and the new key */
	memset(&ch, 0, sizeof ch);
	ch.kind = CV_CHANGE_DIFFICULTY;
	ch.difficulty = DIFFICULTY2;
	change_block(c, &ch, x == V_REPLACED_KEY_SIGNS_CHANGE ? ab_old : ab_new, 3, false, T0 + 600,
	             DIFFICULTY, ab_new);
	if (x == V_OLD_DIFFICULTY_AFTER_CHANGE)
		diff2 = DIFFICULTY;

	/* 7: one vote at the new difficulty */
	vote_block(c, k, (unsigned[]){5}, (uint32_t[]){1}, (uint64_t[]){T0 + 650}, 1, T0 + 700,
	           diff2, ab_new);

	/* 8: closes moved earlier, to T0 + 760: no committed vote is later */
	memset(&ch, 0, sizeof ch);
	ch.kind = CV_CHANGE_CLOSES;
	ch.closes = x == V_CLOSES_BEFORE_VOTE ? T0 + 600 : T0 + 760;
	change_block(c, &ch, ab_new, 3, false, T0 + 800, diff2, ab_new);

	/* 9: the seal at the new closes */
	{
		cv_block b = {0};

		b.has_seal = true;
		memcpy(b.seal.election_id, c->blocks[0].hash, CV_HASH_LEN);
		b.seal.closed_at = x == V_SEAL_AFTER_NEW_CLOSES ? T0 + 800 : T0 + 760;
		finish(c, &b, T0 + 900, diff2, ab_new, 3);
	}

	if (x == V_CHANGE_AFTER_SEAL) {
		memset(&ch, 0, sizeof ch);
		ch.kind = CV_CHANGE_DIFFICULTY;
		ch.difficulty = DIFFICULTY2 + 1;
		change_block(c, &ch, ab_new, 3, false, T0 + 1000, diff2, ab_new);
	}
}

static void write_json(const char *dir, const char *name, json_object *o)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		die("cannot write a file");
	fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_FLAGS));
	if (fclose(f) != 0)
		die("cannot write a file");
	json_object_put(o);
}

static json_object *hex_string(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	json_object *o;

	if (s == NULL)
		die("out of memory");
	cv_hex_encode(p, n, s);
	o = json_object_new_string(s);
	free(s);
	return o;
}

static json_object *key_json(const char *name, const cv_privkey *k)
{
	json_object *o = json_object_new_object();
	uint8_t d[CV_SCALAR_LEN], pub[CV_KEY_LEN];

	cv_privkey_scalar(k, d);
	cv_privkey_public(k, pub);
	if (name != NULL)
		json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "private", hex_string(d, sizeof d));
	json_object_object_add(o, "public", hex_string(pub, sizeof pub));
	return o;
}

/* The keys and, for every change block of the valid chain, its change's bytes. */
static json_object *components(const keys *k, const cv_chain *c)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array(), *ks;
	const cv_genesis *g = c->blocks[0].genesis;

	ks = json_object_new_object();
	json_object_object_add(o, "keys", ks);
	json_object_object_add(ks, "validators", arr);
	for (size_t i = 0; i < N_VALIDATORS; i++)
		json_object_array_add(arr, key_json(g->validators[i].name, k->validator[i]));
	json_object_object_add(ks, "replacement", key_json(NULL, k->replacement));
	arr = json_object_new_array();
	json_object_object_add(ks, "voters", arr);
	for (size_t i = 0; i < N_VOTERS; i++)
		json_object_array_add(arr, key_json(NULL, k->voter[i]));
	arr = json_object_new_array();
	json_object_object_add(o, "changes", arr);
	for (size_t h = 1; h < c->n_blocks; h++) {
		const cv_block *b = &c->blocks[h];
		json_object *e;
		cv_buf msg = {0}, leaf = {0};
		uint8_t hash[CV_HASH_LEN], id[CV_HASH_LEN];

		if (b->change == NULL)
			continue;
		if (cv_change_message(b->change, &msg) != CV_OK ||
		    cv_change_leaf(b->change, &leaf) != CV_OK ||
		    cv_change_id(b->change, id) != CV_OK)
			die("a change could not be encoded");
		cv_merkle_leaf_hash(leaf.data, leaf.len, hash);
		e = json_object_new_object();
		json_object_object_add(e, "height", json_object_new_uint64(h));
		json_object_object_add(e, "message", hex_string(msg.data, msg.len));
		json_object_object_add(e, "id", hex_string(id, sizeof id));
		json_object_object_add(e, "leaf", hex_string(leaf.data, leaf.len));
		json_object_object_add(e, "leaf_hash", hex_string(hash, sizeof hash));
		json_object_object_add(e, "merkle_root",
		                       hex_string(b->header.merkle_root, CV_HASH_LEN));
		json_object_array_add(arr, e);
		cv_buf_free(&msg);
		cv_buf_free(&leaf);
	}
	return o;
}

/* The first problem the verifier reports. */
typedef struct first_problem {
	int64_t height;
	cv_err code;
	bool seen;
} first_problem;

static void on_problem(void *ctx, int64_t height, int64_t vote, cv_err code, const char *detail)
{
	first_problem *f = ctx;

	(void)vote;
	if (!f->seen) {
		f->seen = true;
		f->height = height;
		f->code = code;
		fprintf(stderr, "  height %lld: %s: %s\n", (long long)height, cv_err_code(code),
		        detail);
	}
}

static void free_keys(keys *k)
{
	for (size_t i = 0; i < N_VALIDATORS; i++)
		cv_privkey_free(k->validator[i]);
	for (size_t i = 0; i < N_VOTERS; i++)
		cv_privkey_free(k->voter[i]);
	cv_privkey_free(k->replacement);
	memset(k, 0, sizeof *k);
}

int main(int argc, char **argv)
{
	json_object *invalid = json_object_new_object();
	cv_chain c;
	keys k;

	if (argc != 2) {
		fputs("usage: govvectors DIR   writes chain.json, invalid-chains.json and "
		      "components.json into DIR\n",
		      stderr);
		return 2;
	}
	for (variant x = V_VALID; x < V__COUNT; x++) {
		first_problem first = {0};
		size_t problems;

		cv_genesis *g = calloc(1, sizeof *g);

		if (g == NULL)
			die("out of memory");
		memset(&k, 0, sizeof k);
		/* the keys first: build() names them */
		make_genesis(&k, g);
		build(x, &k, g, &c);
		problems = cv_verify_chain(&c, on_problem, &first, NULL);
		if ((x == V_VALID) != (problems == 0) ||
		    (x != V_VALID && (first.height != (int64_t)variants[x].height ||
		                      strcmp(cv_err_code(first.code), variants[x].code) != 0))) {
			fprintf(stderr, "govvectors: variant %d: %zu problems, not as intended\n",
			        (int)x, problems);
			return 1;
		}
		if (x == V_VALID) {
			write_json(argv[1], "chain.json", cv_chain_to_json(&c));
			write_json(argv[1], "components.json", components(&k, &c));
		} else {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "breaks",
			                       json_object_new_string(variants[x].breaks));
			json_object_object_add(e, "height",
			                       json_object_new_uint64(variants[x].height));
			json_object_object_add(e, "code", json_object_new_string(variants[x].code));
			json_object_object_add(e, "chain", cv_chain_to_json(&c));
			json_object_object_add(invalid, variants[x].name, e);
		}
		cv_chain_free(&c);
		free_keys(&k);
	}
	write_json(argv[1], "invalid-chains.json", invalid);
	return 0;
}
