/* Tests of the election store: a scripted election from set-up to committed blocks
 * and a verified export, then several processes at once (one vote per voter under a
 * race, many voters landing, a writer killed mid-transaction, a deadlock retried,
 * durability of an acknowledged vote). Runs in a fresh directory under /tmp. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "check.h"
#include "json.h"
#include "pow.h"
#include "rules.h"
#include "store.h"
/* white box for one check: an eligibility record's stored code hash (ST_ELIGIBLE) */
#include "store_impl.h"

#define N_VALIDATORS 3
#define N_VOTERS     6

static char top[64];  /* the test's temporary directory */
static char dir[128]; /* the scripted election's environment */
static cv_store *st;
static cv_privkey *validator_keys[N_VALIDATORS];
static cv_privkey *voter_keys[N_VOTERS];
static uint8_t genesis_hash[CV_HASH_LEN];
static uint64_t t0;               /* the genesis timestamp */
static cv_block block_a, block_b; /* two rival proposals at height 1 */
static uint8_t first_txid[CV_HASH_LEN];

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

static cv_privkey *key_from_hex(const char *hex)
{
	uint8_t d[CV_SCALAR_LEN];
	cv_privkey *k = NULL;

	if (cv_hex_decode(hex, d, sizeof d) != CV_OK || cv_privkey_from_scalar(d, &k) != CV_OK)
		return NULL;
	return k;
}

/* The vectors' validator and voter keys, so the tests sign for keys another
 * implementation made; fresh keys when the file is missing. */
static void load_keys(void)
{
	const char *vectors = getenv("VECTORS");
	char path[512];
	json_object *o = NULL, *group;
	size_t i;

	snprintf(path, sizeof path, "%s/keys.json", vectors ? vectors : "../shared/vectors");
	o = json_object_from_file(path);
	if (o != NULL && json_object_object_get_ex(o, "validators", &group)) {
		i = 0;
		json_object_object_foreach(group, k1, v1)
		{
			(void)k1;
			if (i < N_VALIDATORS)
				validator_keys[i++] = key_from_hex(json_object_get_string(v1));
		}
	}
	if (o != NULL && json_object_object_get_ex(o, "voters", &group)) {
		i = 0;
		json_object_object_foreach(group, k2, v2)
		{
			(void)k2;
			if (i < N_VOTERS)
				voter_keys[i++] = key_from_hex(json_object_get_string(v2));
		}
	}
	json_object_put(o);
	for (i = 0; i < N_VALIDATORS; i++)
		if (validator_keys[i] == NULL)
			cv_privkey_generate(&validator_keys[i]);
	for (i = 0; i < N_VOTERS; i++)
		if (voter_keys[i] == NULL)
			cv_privkey_generate(&voter_keys[i]);
}

static cv_vote make_vote(const uint8_t election_id[CV_HASH_LEN], const cv_privkey *k,
                         uint32_t candidate, uint64_t ts)
{
	cv_vote v;

	memset(&v, 0, sizeof v);
	memcpy(v.election_id, election_id, CV_HASH_LEN);
	cv_privkey_public(k, v.voter_key);
	v.candidate_id = candidate;
	v.timestamp = ts;
	cv_vote_sign(&v, k);
	return v;
}

static cv_approval make_approval(const cv_privkey *k, const uint8_t hash[CV_HASH_LEN])
{
	uint8_t msg[CV_APPROVAL_MSG_LEN];
	cv_approval a;

	cv_privkey_public(k, a.validator_key);
	cv_approval_message(hash, msg);
	cv_sign(k, msg, sizeof msg, a.signature);
	return a;
}

/* Sets the merkle root from the leaves, mines, and states the hash. */
static void mine(cv_block *b)
{
	cv_block_merkle_root(b, b->header.merkle_root);
	b->header.nonce = 0;
	cv_mine(&b->header, CV_NONCE_LIMIT, 1, NULL, b->hash, NULL);
}

static void copy_block(cv_block *dst, const cv_block *src)
{
	*dst = *src;
	dst->votes = malloc(src->n_votes * sizeof *src->votes);
	memcpy(dst->votes, src->votes, src->n_votes * sizeof *src->votes);
	dst->approvals = NULL;
	dst->n_approvals = 0;
	dst->genesis = NULL;
}

static cv_settings settings(const char *title)
{
	cv_settings s;

	memset(&s, 0, sizeof s);
	snprintf(s.election.title, sizeof s.election.title, "%s", title);
	s.election.threshold = 2;
	s.election.difficulty = 8;
	s.election.max_block_votes = 4;
	return s;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* ---- set-up ---- */

static void test_create_then_second_create_refused(void)
{
	cv_settings s = settings("Store test election");

	CHECK_EQ_INT(cv_store_open(dir, 0, &st), CV_E_NOT_FOUND);
	CHECK_EQ_INT(cv_store_open(dir, CV_STORE_CREATE, &st), CV_OK);
	CHECK_EQ_INT(cv_store_create_election(st, &s), CV_OK);
	CHECK_EQ_INT(cv_store_create_election(st, &s), CV_E_EXISTS);
}

static void test_settings_threshold_below_two_refused(void)
{
	cv_settings s = settings("Store test election");

	s.election.threshold = 1;
	CHECK_EQ_INT(cv_store_set_settings(st, &s), CV_E_BAD_ELECTION);
	s = settings("Store test election");
	s.election.opens = 200;
	s.election.closes = 100;
	CHECK_EQ_INT(cv_store_set_settings(st, &s), CV_E_BAD_ELECTION);
}

static void test_candidates_and_validators_stored(void)
{
	static const char *names[] = {"Ada", "Brook", "Cato"};
	cv_candidate c;
	cv_validator v;
	cv_genesis g;

	for (uint32_t i = 0; i < 3; i++) {
		c.id = i + 1;
		snprintf(c.name, sizeof c.name, "%s", names[i]);
		CHECK_EQ_INT(cv_store_put_candidate(st, &c), CV_OK);
	}
	c.id = 0;
	CHECK_EQ_INT(cv_store_put_candidate(st, &c), CV_E_BAD_ELECTION);
	for (int i = 0; i < N_VALIDATORS; i++) {
		cv_privkey_public(validator_keys[i], v.key);
		snprintf(v.name, sizeof v.name, "Validator %d", i);
		CHECK_EQ_INT(cv_store_put_validator(st, &v), CV_OK);
	}
	memset(v.key, 0x04, sizeof v.key);
	CHECK_EQ_INT(cv_store_put_validator(st, &v), CV_E_BAD_KEY);
	CHECK_EQ_INT(cv_store_genesis(st, false, &g), CV_OK);
	CHECK_EQ_INT(g.n_candidates, 3);
	CHECK_EQ_INT(g.n_validators, N_VALIDATORS);
	CHECK(g.n_candidates == 3 && strcmp(g.candidates[1].name, "Brook") == 0);
	cv_genesis_free(&g);
}

static void test_roll_key_added_once(void)
{
	uint8_t key[CV_KEY_LEN];

	for (int i = 0; i < 4; i++) {
		cv_privkey_public(voter_keys[i], key);
		CHECK_EQ_INT(cv_store_add_voter(st, key), CV_OK);
	}
	CHECK_EQ_INT(cv_store_add_voter(st, key), CV_E_EXISTS);
	CHECK(cv_store_on_roll(st, key));
}

static void test_batch_import_all_or_nothing(void)
{
	uint8_t keys[2][CV_KEY_LEN];
	cv_eligible el[2] = {{"voter-x", "CODEX-0000-0000"}, {"voter-x", "CODEY-0000-0000"}};
	cv_privkey *k = NULL;
	size_t bad = 0;
	cv_info in;

	cv_privkey_generate(&k);
	cv_privkey_public(k, keys[0]);
	cv_privkey_free(k);
	cv_privkey_public(voter_keys[0], keys[1]); /* already on the roll */
	CHECK_EQ_INT(cv_store_add_voters(st, (const uint8_t(*)[CV_KEY_LEN])keys, 2, &bad),
	             CV_E_EXISTS);
	CHECK_EQ_INT(bad, 1);
	CHECK(!cv_store_on_roll(st, keys[0]));
	CHECK_EQ_INT(cv_store_add_eligibles(st, el, 2, &bad), CV_E_EXISTS);
	CHECK_EQ_INT(bad, 1);
	CHECK_EQ_INT(cv_store_info(st, &in), CV_OK);
	CHECK_EQ_INT(in.n_voters, 4);
	CHECK_EQ_INT(in.n_eligible, 0);
}

static void test_eligible_duplicate_id_refused(void)
{
	CHECK_EQ_INT(cv_store_add_eligible(st, "voter-5", "CODE5CODE5"), CV_OK);
	CHECK_EQ_INT(cv_store_add_eligible(st, "voter-6", "CODE6CODE6"), CV_OK);
	CHECK_EQ_INT(cv_store_add_eligible(st, "voter-5", "OTHER-CODE-1234"), CV_E_EXISTS);
	CHECK_EQ_INT(cv_store_add_eligible(st, "bad id", "CODE"), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_store_add_eligible(st, "", "CODE"), CV_E_MALFORMED);
}

static void test_register_wrong_or_unknown_refused(void)
{
	uint8_t key[CV_KEY_LEN];

	cv_privkey_public(voter_keys[4], key);
	CHECK_EQ_INT(cv_store_register(st, "voter-5", "CODE5CODE6", key), CV_E_BAD_CODE);
	CHECK_EQ_INT(cv_store_register(st, "voter-9", "CODE5CODE5", key), CV_E_BAD_CODE);
	CHECK(!cv_store_on_roll(st, key));
}

static void test_register_binds_key_and_spends_code(void)
{
	uint8_t key[CV_KEY_LEN], other[CV_KEY_LEN];
	cv_info in;

	cv_privkey_public(voter_keys[4], key);
	cv_privkey_public(voter_keys[5], other);
	CHECK_EQ_INT(cv_store_register(st, "voter-5", "CODE5CODE5", key), CV_OK);
	CHECK(cv_store_on_roll(st, key));
	/* spent: the right code again, with another key, is refused */
	CHECK_EQ_INT(cv_store_register(st, "voter-5", "CODE5CODE5", other), CV_E_BAD_CODE);
	CHECK(!cv_store_on_roll(st, other));
	/* a key already on the roll cannot take a second entry */
	CHECK_EQ_INT(cv_store_register(st, "voter-6", "CODE6CODE6", key), CV_E_EXISTS);
	CHECK_EQ_INT(cv_store_register(st, "voter-6", "CODE6CODE6", other), CV_OK);
	CHECK_EQ_INT(cv_store_info(st, &in), CV_OK);
	CHECK_EQ_INT(in.n_voters, N_VOTERS);
	CHECK_EQ_INT(in.n_eligible, 2);
	CHECK_EQ_INT(in.n_registered, 2);
	CHECK_EQ_INT(in.state, CV_STATE_SETUP);
}

/* Writes text to top/name and reads it as a node's replication configuration. */
static cv_err read_conf(const char *name, const char *text, cv_cluster_conf *c, unsigned *line)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", top, name);
	f = fopen(path, "w");
	if (f == NULL)
		return CV_E_IO;
	fputs(text, f);
	fclose(f);
	return cv_cluster_conf_read(path, c, line);
}

/* A node's file is read strictly (each refusal names its line), and a single machine's
 * store has no group: no size, no replica role, nothing to remove from it. */
static void test_cluster_conf_strict_and_single_store_has_no_group(void)
{
	cv_cluster_conf *c = calloc(1, sizeof *c);
	cv_cluster_info *info = calloc(1, sizeof *info);
	unsigned line = 0;

	CHECK(c != NULL && info != NULL);
	if (c == NULL || info == NULL)
		goto out;
	CHECK_EQ_INT(read_conf("ok.conf",
	                       "# a node\nself 10.0.0.1:9100 https://a.example/\n"
	                       "peer 10.0.0.2:9100 https://b.example\npriority 0\ncreator\n",
	                       c, &line),
	             CV_OK);
	CHECK(strcmp(c->self.host, "10.0.0.1") == 0 && c->self.port == 9100);
	CHECK(strcmp(c->self.url, "https://a.example") == 0); /* no trailing slash */
	CHECK(c->n_peers == 1 && c->priority == 0 && c->creator);
	CHECK_EQ_INT(read_conf("noself.conf", "peer 10.0.0.2:9100 https://b.example\n", c, &line),
	             CV_E_MALFORMED);
	CHECK_EQ_INT(read_conf("port0.conf", "self 10.0.0.1:0 https://a.example\n", c, &line),
	             CV_E_MALFORMED);
	CHECK_EQ_INT(line, 1);
	CHECK_EQ_INT(read_conf("ftp.conf",
	                       "self 10.0.0.1:9100 https://a.example\npeer 10.0.0.2:9100 ftp://b\n",
	                       c, &line),
	             CV_E_MALFORMED);
	CHECK_EQ_INT(line, 2);
	CHECK_EQ_INT(read_conf("prio.conf", "self 10.0.0.1:9100 https://a.example\npriority 1001\n",
	                       c, &line),
	             CV_E_MALFORMED);
	CHECK_EQ_INT(read_conf("twice.conf",
	                       "self 10.0.0.1:9100 https://a.example\nself 10.0.0.3:9100 "
	                       "https://c.example\n",
	                       c, &line),
	             CV_E_MALFORMED);
	CHECK_EQ_INT(
	    read_conf("word.conf", "self 10.0.0.1:9100 https://a.example\nhelper x\n", c, &line),
	    CV_E_MALFORMED);
	CHECK_EQ_INT(cv_store_cluster_info(st, info), CV_OK);
	CHECK(!info->replicated && strcmp(info->role, "single") == 0 && info->group_size == 0);
	CHECK(!cv_store_is_replica(st, NULL, 0));
	CHECK_EQ_INT(cv_store_cluster_remove(st, "127.0.0.1:9"), CV_E_NOT_FOUND);
out:
	free(c);
	free(info);
}

static void test_vote_before_open_refused(void)
{
	uint8_t zero[CV_HASH_LEN] = {0};
	cv_vote v = make_vote(zero, voter_keys[0], 1, now_s());

	CHECK_EQ_INT(cv_store_add_vote(st, &v, now_s(), NULL), CV_E_NOT_OPEN);
}

static void test_open_seals_valid_genesis(void)
{
	cv_block g0;
	cv_info in;

	t0 = now_s();
	CHECK_EQ_INT(cv_store_open_election(st, t0, genesis_hash), CV_OK);
	CHECK_EQ_INT(cv_store_info(st, &in), CV_OK);
	CHECK_EQ_INT(in.state, CV_STATE_OPEN);
	CHECK(memcmp(in.genesis_hash, genesis_hash, CV_HASH_LEN) == 0);
	CHECK_EQ_INT(in.tip_height, 0);
	CHECK_EQ_INT(cv_store_block(st, 0, &g0), CV_OK);
	CHECK(g0.genesis != NULL && g0.genesis->n_voters == N_VOTERS);
	CHECK(memcmp(g0.hash, genesis_hash, CV_HASH_LEN) == 0);
	CHECK_EQ_INT(cv_check_genesis(&g0), CV_OK);
	cv_block_free(&g0);
	CHECK_EQ_INT(cv_store_open_election(st, t0, NULL), CV_E_BAD_STATE);
}

static void test_setup_changes_refused_after_open(void)
{
	cv_candidate c = {9, "Late"};
	uint8_t key[CV_KEY_LEN];
	cv_privkey *k = NULL;

	cv_privkey_generate(&k);
	cv_privkey_public(k, key);
	cv_privkey_free(k);
	CHECK_EQ_INT(cv_store_put_candidate(st, &c), CV_E_BAD_STATE);
	CHECK_EQ_INT(cv_store_add_voter(st, key), CV_E_BAD_STATE);
	CHECK_EQ_INT(cv_store_add_eligible(st, "voter-7", "CODE-7777-7777"), CV_E_BAD_STATE);
	CHECK_EQ_INT(cv_store_del_candidate(st, 1), CV_E_BAD_STATE);
}

/* ---- votes ---- */

static void test_vote_admitted_as_pending(void)
{
	cv_vote v = make_vote(genesis_hash, voter_keys[0], 1, now_s());
	cv_vote_status vs;
	uint8_t txid[CV_HASH_LEN];

	CHECK_EQ_INT(cv_store_add_vote(st, &v, now_s(), first_txid), CV_OK);
	cv_vote_txid(&v, txid);
	CHECK(memcmp(txid, first_txid, CV_HASH_LEN) == 0);
	CHECK_EQ_INT(cv_store_vote_status(st, txid, &vs), CV_OK);
	CHECK(!vs.committed);
	CHECK(memcmp(vs.vote.signature, v.signature, CV_SIG_LEN) == 0);
}

static void test_second_vote_of_voter_refused(void)
{
	cv_vote v = make_vote(genesis_hash, voter_keys[0], 2, now_s() + 1);
	cv_vote_status vs;
	uint8_t txid[CV_HASH_LEN];

	CHECK_EQ_INT(cv_store_add_vote(st, &v, now_s(), NULL), CV_E_ALREADY_VOTED);
	cv_vote_txid(&v, txid);
	CHECK_EQ_INT(cv_store_vote_status(st, txid, &vs), CV_E_NOT_FOUND);
}

static void test_hostile_votes_refused(void)
{
	uint8_t other[CV_HASH_LEN];
	cv_privkey *stranger = NULL;
	cv_vote v;

	cv_privkey_generate(&stranger);
	v = make_vote(genesis_hash, stranger, 1, now_s());
	CHECK_EQ_INT(cv_store_add_vote(st, &v, now_s(), NULL), CV_E_NOT_ON_ROLL);
	cv_privkey_free(stranger);
	v = make_vote(genesis_hash, voter_keys[1], 7, now_s());
	CHECK_EQ_INT(cv_store_add_vote(st, &v, now_s(), NULL), CV_E_UNKNOWN_CANDIDATE);
	v = make_vote(genesis_hash, voter_keys[1], 1, now_s());
	v.signature[10] ^= 1;
	CHECK_EQ_INT(cv_store_add_vote(st, &v, now_s(), NULL), CV_E_BAD_SIGNATURE);
	memcpy(other, genesis_hash, CV_HASH_LEN);
	other[0] ^= 1;
	v = make_vote(other, voter_keys[1], 1, now_s());
	CHECK_EQ_INT(cv_store_add_vote(st, &v, now_s(), NULL), CV_E_WRONG_ELECTION);
	v = make_vote(genesis_hash, voter_keys[1], 1, now_s() + 3600);
	CHECK_EQ_INT(cv_store_add_vote(st, &v, now_s(), NULL), CV_E_VOTE_TIME);
}

static void test_deadlock_fault_retried_and_applied_once(void)
{
	cv_vote v = make_vote(genesis_hash, voter_keys[1], 2, now_s());
	unsigned long long before = cv_store_retries(st);
	cv_info in;

	cv_store_fault_deadlock(st, 1);
	CHECK_EQ_INT(cv_store_add_vote(st, &v, now_s(), NULL), CV_OK);
	CHECK(cv_store_retries(st) > before);
	CHECK_EQ_INT(cv_store_info(st, &in), CV_OK);
	CHECK_EQ_INT(in.n_pending, 2);
	CHECK_EQ_INT(cv_store_add_vote(st, &v, now_s(), NULL), CV_E_ALREADY_VOTED);
}

static void test_work_template_takes_oldest_votes(void)
{
	cv_vote *pool = NULL;
	size_t n = 0;
	cv_block w;
	uint8_t root[CV_HASH_LEN];

	for (int i = 2; i < N_VOTERS; i++) {
		cv_vote v = make_vote(genesis_hash, voter_keys[i], (uint32_t)(i % 3) + 1, now_s());
		CHECK_EQ_INT(cv_store_add_vote(st, &v, now_s(), NULL), CV_OK);
	}
	CHECK_EQ_INT(cv_store_pool(st, 100, &pool, &n), CV_OK);
	CHECK_EQ_INT(n, N_VOTERS);
	CHECK_EQ_INT(cv_store_work(st, now_s(), &w), CV_OK);
	CHECK_EQ_INT(w.header.height, 1);
	CHECK(memcmp(w.header.prev_hash, genesis_hash, CV_HASH_LEN) == 0);
	CHECK_EQ_INT(w.header.difficulty, 8);
	CHECK_EQ_INT(w.n_votes, 4); /* max_block_votes */
	CHECK(n >= 4 && memcmp(w.votes[0].signature, pool[0].signature, CV_SIG_LEN) == 0);
	CHECK(n >= 4 && memcmp(w.votes[3].signature, pool[3].signature, CV_SIG_LEN) == 0);
	cv_votes_merkle_root(w.votes, w.n_votes, root);
	CHECK(memcmp(root, w.header.merkle_root, CV_HASH_LEN) == 0);
	free(pool);
	/* block A: the template mined; block B: a rival with only the last two votes */
	block_a = w;
	mine(&block_a);
	copy_block(&block_b, &block_a);
	block_b.n_votes = 2;
	memmove(block_b.votes, block_b.votes + 2, 2 * sizeof *block_b.votes);
	mine(&block_b);
}

/* ---- proposals ---- */

static void test_mined_proposal_accepted(void)
{
	cv_proposal *p = NULL;
	size_t n = 0;

	CHECK_EQ_INT(cv_store_add_proposal(st, &block_a, now_s(), NULL), CV_OK);
	CHECK_EQ_INT(cv_store_add_proposal(st, &block_a, now_s(), NULL), CV_E_EXISTS);
	CHECK_EQ_INT(cv_store_proposals(st, &p, &n), CV_OK);
	CHECK_EQ_INT(n, 1);
	CHECK(n == 1 && memcmp(p[0].block.hash, block_a.hash, CV_HASH_LEN) == 0);
	CHECK(n == 1 && p[0].block.n_votes == 4 && p[0].n_verdicts == 0);
	cv_proposals_free(p, n);
}

static void test_bad_proposals_refused_with_rule(void)
{
	cv_block b;
	size_t bad = 0;

	copy_block(&b, &block_a);
	b.header.nonce = 0;
	do {
		b.header.nonce++;
		cv_header_hash(&b.header, b.hash);
	} while (cv_pow_ok(b.hash, 8));
	CHECK_EQ_INT(cv_store_add_proposal(st, &b, now_s(), NULL), CV_E_WEAK_POW);

	b.header.difficulty = 7;
	mine(&b);
	CHECK_EQ_INT(cv_store_add_proposal(st, &b, now_s(), NULL), CV_E_BAD_DIFFICULTY);
	b.header.difficulty = 8;

	mine(&b);
	b.header.merkle_root[0] ^= 1;
	b.header.nonce = 0;
	cv_mine(&b.header, CV_NONCE_LIMIT, 1, NULL, b.hash, NULL);
	CHECK_EQ_INT(cv_store_add_proposal(st, &b, now_s(), NULL), CV_E_BAD_MERKLE);

	mine(&b);
	b.hash[5] ^= 1;
	CHECK_EQ_INT(cv_store_add_proposal(st, &b, now_s(), NULL), CV_E_BAD_HASH);

	b.votes[1].signature[3] ^= 1;
	mine(&b);
	CHECK_EQ_INT(cv_store_add_proposal(st, &b, now_s(), &bad), CV_E_BAD_SIGNATURE);
	CHECK_EQ_INT(bad, 1);
	b.votes[1] = block_a.votes[1];

	b.votes[2] = b.votes[0]; /* one voter twice */
	mine(&b);
	CHECK_EQ_INT(cv_store_add_proposal(st, &b, now_s(), &bad), CV_E_DOUBLE_VOTE);
	CHECK_EQ_INT(bad, 2);
	b.votes[2] = block_a.votes[2];

	b.header.height = 2;
	mine(&b);
	CHECK_EQ_INT(cv_store_add_proposal(st, &b, now_s(), NULL), CV_E_STALE);
	b.header.height = 1;
	b.header.prev_hash[0] ^= 1;
	mine(&b);
	CHECK_EQ_INT(cv_store_add_proposal(st, &b, now_s(), NULL), CV_E_STALE);
	b.header.prev_hash[0] ^= 1;

	b.header.timestamp = now_s() + 3600;
	mine(&b);
	CHECK_EQ_INT(cv_store_add_proposal(st, &b, now_s(), NULL), CV_E_BAD_TIMESTAMP);
	cv_block_free(&b);
}

static void test_rival_proposal_at_same_height_accepted(void)
{
	cv_proposal *p = NULL;
	size_t n = 0;

	CHECK_EQ_INT(cv_store_add_proposal(st, &block_b, now_s(), NULL), CV_OK);
	CHECK_EQ_INT(cv_store_proposals(st, &p, &n), CV_OK);
	CHECK_EQ_INT(n, 2);
	/* oldest first */
	CHECK(n == 2 && memcmp(p[0].block.hash, block_a.hash, CV_HASH_LEN) == 0);
	CHECK(n == 2 && memcmp(p[1].block.hash, block_b.hash, CV_HASH_LEN) == 0);
	cv_proposals_free(p, n);
}

/* ---- verdicts ---- */

static void test_approval_by_non_validator_refused(void)
{
	cv_approval a = make_approval(voter_keys[0], block_a.hash);
	bool committed = true;

	CHECK_EQ_INT(cv_store_approve(st, block_a.hash, &a, &committed), CV_E_NOT_VALIDATOR);
	CHECK(!committed);
	a = make_approval(validator_keys[0], block_a.hash);
	a.signature[0] ^= 1;
	CHECK_EQ_INT(cv_store_approve(st, block_a.hash, &a, &committed), CV_E_BAD_SIGNATURE);
	a = make_approval(validator_keys[0], block_b.hash); /* signed for another block */
	CHECK_EQ_INT(cv_store_approve(st, block_a.hash, &a, &committed), CV_E_BAD_SIGNATURE);
}

static void test_first_approval_recorded_not_committed(void)
{
	cv_approval a = make_approval(validator_keys[0], block_a.hash);
	cv_proposal p;
	bool committed = true;

	CHECK_EQ_INT(cv_store_approve(st, block_a.hash, &a, &committed), CV_OK);
	CHECK(!committed);
	CHECK_EQ_INT(cv_store_proposal(st, block_a.hash, &p), CV_OK);
	CHECK_EQ_INT(p.n_verdicts, 1);
	CHECK(p.n_verdicts == 1 && p.verdicts[0].approve);
	cv_proposal_free(&p);
}

static void test_duplicate_approval_refused(void)
{
	cv_approval a = make_approval(validator_keys[0], block_a.hash);
	bool committed = true;

	CHECK_EQ_INT(cv_store_approve(st, block_a.hash, &a, &committed), CV_E_DUPLICATE_APPROVAL);
	CHECK(!committed);
}

static void test_equivocation_refused_and_kept_as_evidence(void)
{
	cv_approval a = make_approval(validator_keys[0], block_b.hash);
	cv_equivocation *ev = NULL;
	cv_proposal p;
	size_t n = 0;
	bool committed = true;

	CHECK_EQ_INT(cv_store_approve(st, block_b.hash, &a, &committed), CV_E_EQUIVOCATION);
	CHECK(!committed);
	CHECK_EQ_INT(cv_store_proposal(st, block_b.hash, &p), CV_OK);
	CHECK_EQ_INT(p.n_verdicts, 0);
	cv_proposal_free(&p);
	CHECK_EQ_INT(cv_store_equivocations(st, &ev, &n), CV_OK);
	CHECK_EQ_INT(n, 1);
	CHECK(n == 1 && memcmp(ev[0].block_hash, block_b.hash, CV_HASH_LEN) == 0);
	CHECK(n == 1 && memcmp(ev[0].approved_hash, block_a.hash, CV_HASH_LEN) == 0);
	CHECK(n == 1 && ev[0].height == 1);
	free(ev);
}

static void test_rejection_recorded_with_reason(void)
{
	uint8_t msg_hash[CV_HASH_LEN];
	cv_buf m = {0};
	cv_approval r;
	cv_proposal p;

	cv_privkey_public(validator_keys[1], r.validator_key);
	cv_rejection_message(block_b.hash, "too few votes", &m);
	cv_sign(validator_keys[1], m.data, m.len, r.signature);
	cv_buf_free(&m);
	CHECK_EQ_INT(cv_store_reject(st, block_b.hash, "too few votes", &r), CV_OK);
	CHECK_EQ_INT(cv_store_reject(st, block_b.hash, "too few votes", &r),
	             CV_E_DUPLICATE_APPROVAL);
	CHECK_EQ_INT(cv_store_reject(st, block_b.hash, "another reason", &r), CV_E_BAD_SIGNATURE);
	CHECK_EQ_INT(cv_store_proposal(st, block_b.hash, &p), CV_OK);
	CHECK_EQ_INT(p.n_verdicts, 1);
	CHECK(p.n_verdicts == 1 && !p.verdicts[0].approve);
	CHECK(p.n_verdicts == 1 && strcmp(p.verdicts[0].reason, "too few votes") == 0);
	cv_proposal_free(&p);
	memset(msg_hash, 0, sizeof msg_hash);
	CHECK_EQ_INT(cv_store_reject(st, msg_hash, "x", &r), CV_E_BAD_SIGNATURE);
}

static void test_threshold_commits_and_discards_rival(void)
{
	cv_approval a = make_approval(validator_keys[1], block_a.hash);
	cv_proposal *p = NULL;
	size_t n = 9;
	bool committed = false;
	cv_proposal rival;
	cv_genesis g;
	cv_block got;
	cv_info in;

	CHECK_EQ_INT(cv_store_approve(st, block_a.hash, &a, &committed), CV_OK);
	CHECK(committed);
	CHECK_EQ_INT(cv_store_info(st, &in), CV_OK);
	CHECK_EQ_INT(in.tip_height, 1);
	CHECK(memcmp(in.tip_hash, block_a.hash, CV_HASH_LEN) == 0);
	CHECK_EQ_INT(in.n_committed, 4);
	CHECK_EQ_INT(in.n_pending, 2);
	CHECK_EQ_INT(in.n_proposals, 0);
	CHECK_EQ_INT(cv_store_proposals(st, &p, &n), CV_OK);
	CHECK_EQ_INT(n, 0);
	cv_proposals_free(p, n);
	CHECK_EQ_INT(cv_store_proposal(st, block_b.hash, &rival), CV_E_NOT_FOUND);
	CHECK_EQ_INT(cv_store_block_by_hash(st, block_a.hash, &got), CV_OK);
	CHECK_EQ_INT(got.n_approvals, 2);
	CHECK_EQ_INT(got.n_votes, 4);
	CHECK_EQ_INT(cv_store_genesis(st, false, &g), CV_OK);
	CHECK_EQ_INT(cv_check_approvals(&g, got.hash, got.approvals, got.n_approvals, NULL), CV_OK);
	cv_genesis_free(&g);
	cv_block_free(&got);
}

static void test_late_approvals_refused(void)
{
	cv_approval a = make_approval(validator_keys[2], block_a.hash);
	cv_approval b = make_approval(validator_keys[1], block_a.hash);
	cv_approval c = make_approval(validator_keys[2], block_b.hash);
	bool committed = true;

	CHECK_EQ_INT(cv_store_approve(st, block_a.hash, &a, &committed), CV_E_STALE);
	CHECK_EQ_INT(cv_store_approve(st, block_a.hash, &b, &committed), CV_E_DUPLICATE_APPROVAL);
	CHECK_EQ_INT(cv_store_approve(st, block_b.hash, &c, &committed), CV_E_NOT_FOUND);
	CHECK(!committed);
}

static void test_tally_counts_committed_votes(void)
{
	cv_tally t;
	uint64_t expect[4] = {0};

	for (size_t i = 0; i < block_a.n_votes; i++)
		expect[block_a.votes[i].candidate_id]++;
	CHECK_EQ_INT(cv_store_tally(st, &t), CV_OK);
	CHECK_EQ_INT(t.n, 3);
	CHECK_EQ_INT(t.total, 4);
	for (size_t i = 0; i < t.n && i < 3; i++) {
		CHECK_EQ_INT(t.ids[i], i + 1);
		CHECK_EQ_INT(t.votes[i], expect[i + 1]);
	}
	cv_tally_free(&t);
}

static void test_committed_vote_has_valid_inclusion_path(void)
{
	cv_vote_status vs;
	uint8_t leaf[CV_HASH_LEN];

	CHECK_EQ_INT(cv_store_vote_status(st, first_txid, &vs), CV_OK);
	CHECK(vs.committed);
	CHECK_EQ_INT(vs.height, 1);
	CHECK_EQ_INT(vs.tree_size, 4);
	CHECK(memcmp(vs.block_hash, block_a.hash, CV_HASH_LEN) == 0);
	cv_vote_leaf_hash(&vs.vote, leaf);
	CHECK(cv_merkle_verify(leaf, vs.index, vs.tree_size, (const uint8_t(*)[CV_HASH_LEN])vs.path,
	                       vs.path_len, block_a.header.merkle_root));
	vs.path[0][0] ^= 1;
	CHECK(!cv_merkle_verify(leaf, vs.index, vs.tree_size,
	                        (const uint8_t(*)[CV_HASH_LEN])vs.path, vs.path_len,
	                        block_a.header.merkle_root));
}

typedef struct membuf {
	char *p;
	size_t n;
} membuf;

static int mem_write(void *ctx, const char *p, size_t n)
{
	membuf *m = ctx;
	char *q = realloc(m->p, m->n + n + 1);

	if (q == NULL)
		return -1;
	memcpy(q + m->n, p, n);
	m->p = q;
	m->n += n;
	q[m->n] = '\0';
	return 0;
}

static void report(void *ctx, int64_t height, int64_t vote, cv_err code, const char *detail)
{
	(void)ctx;
	fprintf(stderr, "  verify: height %lld vote %lld: %s: %s\n", (long long)height,
	        (long long)vote, cv_err_code(code), detail);
}

static size_t verify_export(cv_store *s, cv_tally *tally, size_t *n_blocks)
{
	membuf m = {NULL, 0};
	json_object *o = NULL;
	cv_chain c = {0};
	size_t problems = 99;

	*n_blocks = 0;
	if (cv_store_export(s, mem_write, &m) == CV_OK && m.p != NULL &&
	    strncmp(m.p, "{\"format\":\"chainvote-chain/1\"", 29) == 0 &&
	    cv_json_parse(m.p, m.n, &o) == CV_OK && cv_chain_from_json(o, &c) == CV_OK) {
		problems = cv_verify_chain(&c, report, NULL, tally);
		*n_blocks = c.n_blocks;
	}
	cv_chain_free(&c);
	json_object_put(o);
	free(m.p);
	return problems;
}

static void test_export_passes_verifier(void)
{
	cv_tally t = {0};
	size_t n = 0;

	CHECK_EQ_INT(verify_export(st, &t, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(t.total, 4);
	cv_tally_free(&t);
}

/* A miner may put in another vote of a pool voter (sent to it directly) while the
 * election is open: once committed, that voter's pool vote leaves the pool. Then the
 * close: no vote enters, and the chain verifies. */
static void test_direct_vote_evicts_voters_pool_vote_then_close(void)
{
	cv_vote v = make_vote(genesis_hash, voter_keys[0], 1, now_s());
	uint8_t pooled_txid[CV_HASH_LEN], direct_txid[CV_HASH_LEN];
	cv_vote_status vs;
	cv_approval a;
	cv_block w;
	cv_tally t = {0};
	size_t n = 0;
	bool committed = false;
	cv_info in;

	CHECK_EQ_INT(cv_store_work(st, now_s(), &w), CV_OK);
	CHECK_EQ_INT(w.n_votes, 2);
	cv_vote_txid(&w.votes[0], pooled_txid);
	for (int i = 0; i < N_VOTERS; i++) {
		uint8_t key[CV_KEY_LEN];

		cv_privkey_public(voter_keys[i], key);
		if (memcmp(key, w.votes[0].voter_key, CV_KEY_LEN) == 0)
			w.votes[0] =
			    make_vote(genesis_hash, voter_keys[i], 3, w.votes[0].timestamp + 1);
	}
	cv_vote_txid(&w.votes[0], direct_txid);
	CHECK(memcmp(pooled_txid, direct_txid, CV_HASH_LEN) != 0);
	mine(&w);
	CHECK_EQ_INT(cv_store_add_proposal(st, &w, now_s(), NULL), CV_OK);
	a = make_approval(validator_keys[2], w.hash);
	CHECK_EQ_INT(cv_store_approve(st, w.hash, &a, &committed), CV_OK);
	a = make_approval(validator_keys[0], w.hash);
	CHECK_EQ_INT(cv_store_approve(st, w.hash, &a, &committed), CV_OK);
	CHECK(committed);
	CHECK_EQ_INT(cv_store_close_election(st, now_s()), CV_OK);
	CHECK_EQ_INT(cv_store_close_election(st, now_s()), CV_E_BAD_STATE);
	CHECK_EQ_INT(cv_store_add_vote(st, &v, now_s(), NULL), CV_E_CLOSED);
	CHECK_EQ_INT(cv_store_info(st, &in), CV_OK);
	CHECK_EQ_INT(in.state, CV_STATE_CLOSED);
	CHECK(!in.final);
	CHECK_EQ_INT(in.n_pending, 0);
	CHECK_EQ_INT(in.n_committed, N_VOTERS);
	CHECK_EQ_INT(cv_store_vote_status(st, pooled_txid, &vs), CV_E_NOT_FOUND);
	CHECK_EQ_INT(cv_store_vote_status(st, direct_txid, &vs), CV_OK);
	CHECK(vs.committed && vs.height == 2);
	CHECK_EQ_INT(verify_export(st, &t, &n), 0);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(t.total, N_VOTERS);
	CHECK(!t.final);
	cv_tally_free(&t);
	cv_block_free(&w);
	CHECK_EQ_INT(cv_store_checkpoint(st), CV_OK);
}

/* Proposes b and has two validators approve it: the second approval commits. */
static cv_err propose_and_commit(cv_store *x, cv_block *b, uint64_t now)
{
	cv_approval a;
	bool committed = false;
	cv_err e;

	mine(b);
	if ((e = cv_store_add_proposal(x, b, now, NULL)) != CV_OK)
		return e;
	a = make_approval(validator_keys[0], b->hash);
	if ((e = cv_store_approve(x, b->hash, &a, &committed)) != CV_OK)
		return e;
	a = make_approval(validator_keys[1], b->hash);
	if ((e = cv_store_approve(x, b->hash, &a, &committed)) != CV_OK)
		return e;
	return committed ? CV_OK : CV_E_INTERNAL;
}

/* ---- several processes ---- */

#define MP_VOTERS 64

static cv_privkey *mp_keys[MP_VOTERS];
static uint8_t mp_genesis[CV_HASH_LEN];

/* A fresh open election in sub whose roll is mp_keys. */
static int make_election(const char *sub)
{
	cv_settings s = settings("Concurrency");
	cv_candidate c = {1, "Only"};
	cv_validator v;
	uint8_t key[CV_KEY_LEN];
	cv_store *x = NULL;
	int ok = cv_store_open(sub, CV_STORE_CREATE, &x) == CV_OK &&
	         cv_store_create_election(x, &s) == CV_OK && cv_store_put_candidate(x, &c) == CV_OK;

	for (int i = 0; ok && i < N_VALIDATORS; i++) {
		cv_privkey_public(validator_keys[i], v.key);
		snprintf(v.name, sizeof v.name, "V%d", i);
		ok = cv_store_put_validator(x, &v) == CV_OK;
	}
	for (int i = 0; ok && i < MP_VOTERS; i++) {
		cv_privkey_public(mp_keys[i], key);
		ok = cv_store_add_voter(x, key) == CV_OK;
	}
	ok = ok && cv_store_open_election(x, now_s(), mp_genesis) == CV_OK;
	cv_store_close(x);
	return ok;
}

/* Children wait on a pipe so that they all start at once. Exit status: 0 accepted,
 * 1 already voted, 2 anything else. */
static int child_vote(const char *sub, int gate, int first, int count, uint64_t ts_offset,
                      unsigned stall_ms)
{
	cv_store *x = NULL;
	char c;
	int status = 0;
	cv_err e;

	alarm(60);
	e = cv_store_open(sub, 0, &x);

	if (e != CV_OK) {
		fprintf(stderr, "  child %d: open: %s\n", (int)getpid(), cv_err_code(e));
		return 2;
	}
	if (gate >= 0 && read(gate, &c, 1) < 0)
		return 2;
	if (stall_ms)
		cv_store_fault_stall(x, stall_ms);
	for (int i = first; i < first + count; i++) {
		cv_vote v = make_vote(mp_genesis, mp_keys[i], 1, now_s() + ts_offset);

		e = cv_store_add_vote(x, &v, now_s(), NULL);

		if (e == CV_E_ALREADY_VOTED)
			status = status ? status : 1;
		else if (e != CV_OK) {
			fprintf(stderr, "  child %d: %s\n", (int)getpid(), cv_err_code(e));
			status = 2;
		}
	}
	cv_store_close(x);
	return status;
}

static int spawn(const char *sub, int gate, int first, int count, uint64_t ts_offset,
                 unsigned stall)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(child_vote(sub, gate, first, count, ts_offset, stall));
	return (int)pid;
}

static int wait_status(int pid)
{
	int ws;

	if (waitpid(pid, &ws, 0) != pid)
		return -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 100 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
}

static int pool_size(const char *sub, cv_info *in)
{
	cv_store *x = NULL;
	cv_vote *pool = NULL;
	size_t n = 0;

	memset(in, 0, sizeof *in);
	if (cv_store_open(sub, 0, &x) != CV_OK)
		return -1;
	if (cv_store_pool(x, 1000, &pool, &n) != CV_OK || cv_store_info(x, in) != CV_OK)
		n = (size_t)-1;
	free(pool);
	cv_store_close(x);
	return (int)n;
}

/* db_verify of every database file of the environment (all handles closed). */
static int verify_files(const char *sub)
{
	static const char *files[] = {"meta.db",
	                              "candidates.db",
	                              "validators.db",
	                              "eligible.db",
	                              "roll.db",
	                              "blocks.db",
	                              "block_hashes.db",
	                              "voted.db",
	                              "txs.db",
	                              "pool.db",
	                              "proposals.db",
	                              "verdicts.db",
	                              "height_approvals.db",
	                              "evidence.db",
	                              "tally.db"};
	char cmd[1024], key[256];
	int bad = 0;

	/* the store's key when it has one, keys/store.key beside the environment (every one
	 * here is in top; none is encrypted unless a test asks) */
	snprintf(key, sizeof key, "%s/keys/store.key", top);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		if (access(key, F_OK) == 0)
			snprintf(
			    cmd, sizeof cmd,
			    "cd '%s' && db5.3_verify -P \"$(cat '%s')\" -q '%s' >/dev/null 2>&1",
			    sub, key, files[i]);
		else
			snprintf(cmd, sizeof cmd, "cd '%s' && db5.3_verify -q '%s' >/dev/null 2>&1",
			         sub, files[i]);
		if (system(cmd) != 0) {
			fprintf(stderr, "  db_verify: %s/%s failed\n", sub, files[i]);
			bad++;
		}
	}
	return bad;
}

static void test_racing_votes_of_one_voter_one_accepted(void)
{
	char sub[160];
	int gate[2], pids[8], accepted = 0, refused = 0;
	cv_info in;

	snprintf(sub, sizeof sub, "%s/race", top);
	CHECK(make_election(sub));
	CHECK(pipe(gate) == 0);
	for (int i = 0; i < 8; i++)
		pids[i] = spawn(sub, gate[0], 0, 1, (uint64_t)i, 0);
	close(gate[0]);
	usleep(200000);
	CHECK(write(gate[1], "GGGGGGGG", 8) == 8);
	close(gate[1]);
	for (int i = 0; i < 8; i++) {
		int ws = wait_status(pids[i]);

		accepted += ws == 0;
		refused += ws == 1;
	}
	CHECK_EQ_INT(accepted, 1);
	CHECK_EQ_INT(refused, 7);
	CHECK_EQ_INT(pool_size(sub, &in), 1);
	CHECK_EQ_INT(in.n_pending, 1);
}

static void test_concurrent_voters_all_land(void)
{
	char sub[160];
	int gate[2], pids[4], ok = 0;
	cv_info in;

	snprintf(sub, sizeof sub, "%s/many", top);
	CHECK(make_election(sub));
	CHECK(pipe(gate) == 0);
	for (int i = 0; i < 4; i++)
		pids[i] = spawn(sub, gate[0], i * 16, 16, 0, 0);
	close(gate[0]);
	usleep(200000);
	CHECK(write(gate[1], "GGGG", 4) == 4);
	close(gate[1]);
	for (int i = 0; i < 4; i++)
		ok += wait_status(pids[i]) == 0;
	CHECK_EQ_INT(ok, 4);
	CHECK_EQ_INT(pool_size(sub, &in), MP_VOTERS);
	CHECK_EQ_INT(in.n_pending, MP_VOTERS);
	CHECK_EQ_INT(verify_files(sub), 0);
}

static void test_writer_killed_mid_transaction_leaves_store_usable(void)
{
	char sub[160];
	int victim, pids[3], ok = 0;
	cv_store *x = NULL;
	cv_info in;
	cv_vote v;

	snprintf(sub, sizeof sub, "%s/killed", top);
	CHECK(make_election(sub));
	/* A live process that keeps its handle across the crash, as a worker would. */
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK);
	if (x == NULL)
		return;
	/* The victim stalls inside its vote transaction, holding the meta write lock. */
	victim = spawn(sub, -1, 0, 1, 0, 30000);
	usleep(700000);
	/* Survivors queue behind its locks... */
	for (int i = 0; i < 3; i++)
		pids[i] = spawn(sub, -1, 1 + i * 5, 5, 0, 0);
	usleep(300000);
	kill(victim, SIGKILL);
	CHECK_EQ_INT(wait_status(victim), 100 + SIGKILL);
	/* ...and carry on once it is dead and a live process has run failchk (as the
	 * supervisor that reaps a worker does): the dead transaction is aborted and the
	 * waiters get its locks. */
	CHECK_EQ_INT(cv_store_failchk(x), CV_OK);
	for (int i = 0; i < 3; i++) {
		int ws = wait_status(pids[i]);

		if (ws != 0)
			fprintf(stderr, "  survivor %d: status %d\n", pids[i], ws);
		ok += ws == 0;
	}
	CHECK_EQ_INT(ok, 3);
	v = make_vote(mp_genesis, mp_keys[20], 1, now_s());
	CHECK_EQ_INT(cv_store_add_vote(x, &v, now_s(), NULL), CV_OK);
	/* The victim's vote was rolled back, guard included: the voter can vote now. */
	CHECK_EQ_INT(cv_store_failchk(x), CV_OK);
	v = make_vote(mp_genesis, mp_keys[0], 1, now_s());
	CHECK_EQ_INT(cv_store_add_vote(x, &v, now_s(), NULL), CV_OK);
	CHECK_EQ_INT(cv_store_checkpoint(x), CV_OK);
	cv_store_close(x);
	CHECK_EQ_INT(pool_size(sub, &in), 17);
	CHECK_EQ_INT(in.n_pending, 17);
	CHECK_EQ_INT(verify_files(sub), 0);
}

static void test_acknowledged_vote_survives_crash(void)
{
	char sub[160], cmd[512];
	uint8_t txid[CV_HASH_LEN];
	cv_vote_status vs;
	cv_store *x = NULL;
	cv_vote v;
	int pid;

	snprintf(sub, sizeof sub, "%s/durable", top);
	CHECK(make_election(sub));
	v = make_vote(mp_genesis, mp_keys[5], 1, now_s());
	cv_vote_txid(&v, txid);
	pid = fork();
	if (pid == 0) {
		cv_store *y = NULL;

		if (cv_store_open(sub, 0, &y) != CV_OK ||
		    cv_store_add_vote(y, &v, now_s(), NULL) != CV_OK)
			_exit(2);
		_exit(0); /* acknowledged, then gone without closing anything */
	}
	CHECK_EQ_INT(wait_status(pid), 0);
	/* Drop the shared regions (the cache) as a machine crash would: only what reached
	 * the log survives, and recovery must bring the vote back. */
	snprintf(cmd, sizeof cmd, "rm -f '%s'/__db.0*", sub);
	CHECK(system(cmd) == 0);
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK);
	if (x != NULL) {
		CHECK_EQ_INT(cv_store_vote_status(x, txid, &vs), CV_OK);
		CHECK(!vs.committed);
		CHECK_EQ_INT(cv_store_add_vote(x, &v, now_s(), NULL), CV_E_ALREADY_VOTED);
		cv_store_close(x);
	}
	CHECK_EQ_INT(verify_files(sub), 0);
}

/* A batch (cv_store_add_votes: one transaction, one flush) in which one vote is a
 * second vote of a voter in the same batch and another a vote of a voter who voted
 * before: those two are refused each on its own, the others are written, and all that
 * was answered CV_OK survives a crash that loses the cache. */
static void test_batch_with_double_votes_answers_each_and_is_durable(void)
{
	char sub[160], cmd[512];
	cv_vote batch[5], before;
	cv_err outcome[5];
	uint8_t txid[CV_HASH_LEN];
	cv_vote_status vs;
	cv_store *x = NULL;
	cv_info in;
	int pid, ws;

	snprintf(sub, sizeof sub, "%s/batch", top);
	CHECK(make_election(sub));
	before = make_vote(mp_genesis, mp_keys[3], 1, now_s());
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK);
	if (x == NULL)
		return;
	CHECK_EQ_INT(cv_store_add_vote(x, &before, now_s(), NULL), CV_OK);
	cv_store_close(x);
	batch[0] = make_vote(mp_genesis, mp_keys[0], 1, now_s());
	batch[1] = make_vote(mp_genesis, mp_keys[1], 1, now_s());
	batch[2] = make_vote(mp_genesis, mp_keys[0], 1, now_s() + 1); /* double in the batch */
	batch[3] = make_vote(mp_genesis, mp_keys[2], 1, now_s());
	batch[4] = make_vote(mp_genesis, mp_keys[3], 1, now_s() + 1); /* voted before */
	pid = fork();
	if (pid == 0) {
		cv_store *y = NULL;
		int bad = 0;

		if (cv_store_open(sub, 0, &y) != CV_OK)
			_exit(100);
		for (int i = 0; i < 5; i++)
			bad += cv_store_check_vote(y, &batch[i], now_s(), NULL) != CV_OK;
		if (bad != 0 || cv_store_add_votes(y, batch, 5, now_s(), outcome) != CV_OK)
			_exit(101);
		/* the outcomes as the exit status, one bit per accepted vote; then gone
		 * without closing anything */
		_exit((outcome[0] == CV_OK) | (outcome[1] == CV_OK) << 1 |
		      (outcome[2] == CV_E_ALREADY_VOTED) << 2 | (outcome[3] == CV_OK) << 3 |
		      (outcome[4] == CV_E_ALREADY_VOTED) << 4);
	}
	ws = wait_status(pid);
	CHECK_EQ_INT(ws, 31);
	/* lose the cache as a machine crash would: only the flushed log survives */
	snprintf(cmd, sizeof cmd, "rm -f '%s'/__db.0*", sub);
	CHECK(system(cmd) == 0);
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK);
	if (x == NULL)
		return;
	for (int i = 0; i < 5; i++) {
		cv_vote_txid(&batch[i], txid);
		CHECK_EQ_INT(cv_store_vote_status(x, txid, &vs),
		             i == 2 || i == 4 ? CV_E_NOT_FOUND : CV_OK);
	}
	cv_store_close(x);
	CHECK_EQ_INT(pool_size(sub, &in), 4);
	CHECK_EQ_INT(in.n_pending, 4);
	CHECK_EQ_INT(verify_files(sub), 0);
}

/* The close is checked in the transaction that writes the batch: votes checked while
 * the election was open are refused, all of them and with nothing written, when the
 * close came between their checks and their write. */
static void test_batch_after_close_refused_whole(void)
{
	char sub[160];
	cv_vote batch[2];
	cv_err outcome[2];
	cv_store *x = NULL;
	cv_info in;

	snprintf(sub, sizeof sub, "%s/batch-close", top);
	CHECK(make_election(sub));
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK);
	if (x == NULL)
		return;
	batch[0] = make_vote(mp_genesis, mp_keys[0], 1, now_s());
	batch[1] = make_vote(mp_genesis, mp_keys[1], 1, now_s());
	CHECK_EQ_INT(cv_store_check_vote(x, &batch[0], now_s(), NULL), CV_OK);
	CHECK_EQ_INT(cv_store_check_vote(x, &batch[1], now_s(), NULL), CV_OK);
	CHECK_EQ_INT(cv_store_close_election(x, now_s()), CV_OK);
	CHECK_EQ_INT(cv_store_add_votes(x, batch, 2, now_s(), outcome), CV_E_CLOSED);
	CHECK_EQ_INT(cv_store_info(x, &in), CV_OK);
	CHECK_EQ_INT(in.n_pending, 0);
	cv_store_close(x);
}

/* A vote checked on rule parameters that are no longer those in force when its batch
 * is written (a change committed in between; here a count that does not match) is not
 * written and is answered CV_E_BUSY, without stopping the others of the batch; checked
 * again on the parameters in force, it is written. */
static void test_batch_refuses_votes_checked_on_older_parameters(void)
{
	char sub[160];
	cv_vote batch[2];
	uint64_t n_changes[2];
	cv_err outcome[2];
	uint8_t txid[CV_HASH_LEN];
	cv_vote_status vs;
	cv_store *x = NULL;
	cv_info in;

	snprintf(sub, sizeof sub, "%s/batch-params", top);
	CHECK(make_election(sub));
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK);
	if (x == NULL)
		return;
	for (int i = 0; i < 2; i++) {
		batch[i] = make_vote(mp_genesis, mp_keys[i], 1, now_s());
		CHECK_EQ_INT(
		    cv_store_check_vote_at(x, &batch[i], now_s(), true, NULL, &n_changes[i]),
		    CV_OK);
		CHECK_EQ_INT(n_changes[i], 0);
	}
	n_changes[1] = 1; /* as if checked on parameters with one more change */
	CHECK_EQ_INT(cv_store_add_votes_checked(x, batch, n_changes, 2, now_s(), outcome), CV_OK);
	CHECK_EQ_INT(outcome[0], CV_OK);
	CHECK_EQ_INT(outcome[1], CV_E_BUSY);
	cv_vote_txid(&batch[1], txid);
	CHECK_EQ_INT(cv_store_vote_status(x, txid, &vs), CV_E_NOT_FOUND);
	CHECK_EQ_INT(cv_store_info(x, &in), CV_OK);
	CHECK_EQ_INT(in.n_pending, 1);
	CHECK_EQ_INT(cv_store_check_vote_at(x, &batch[1], now_s(), false, NULL, &n_changes[1]),
	             CV_OK);
	CHECK_EQ_INT(cv_store_add_votes_checked(x, &batch[1], &n_changes[1], 1, now_s(), outcome),
	             CV_OK);
	CHECK_EQ_INT(outcome[0], CV_OK);
	CHECK_EQ_INT(cv_store_vote_status(x, txid, &vs), CV_OK);
	cv_vote_status_free(&vs);
	CHECK_EQ_INT(cv_store_info(x, &in), CV_OK);
	CHECK_EQ_INT(in.n_pending, 2);
	cv_store_close(x);
}

/* ---- the bound of proposals per height ---- */

#define FLOOD_VOTES 10

/* A mined block at height 1 of the "floods" election carrying votes[idx[0..n-1]]. */
static void flood_block(cv_block *b, const cv_vote *votes, const int *idx, size_t n, uint64_t ts)
{
	memset(b, 0, sizeof *b);
	b->votes = calloc(n, sizeof *b->votes);
	for (size_t i = 0; i < n; i++)
		b->votes[i] = votes[idx[i]];
	b->n_votes = n;
	b->header.version = CV_VERSION;
	b->header.height = 1;
	memcpy(b->header.prev_hash, mp_genesis, CV_HASH_LEN);
	b->header.timestamp = ts;
	b->header.difficulty = 8;
	mine(b);
}

static void test_proposals_bounded_per_height(void)
{
	char sub[160];
	cv_store *x = NULL;
	cv_vote votes[FLOOD_VOTES];
	uint8_t first_hash[CV_HASH_LEN], kept_hash[CV_HASH_LEN], evicted_hash[CV_HASH_LEN];
	cv_proposal_summary *sums = NULL;
	cv_proposal p;
	cv_block b;
	cv_info in;
	uint64_t ts;
	size_t n = 0, admitted = 0;
	bool committed = true;

	snprintf(sub, sizeof sub, "%s/floods", top);
	CHECK(make_election(sub));
	ts = now_s(); /* not before the genesis: votes are stamped ts */
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK);
	if (x == NULL)
		return;
	for (int i = 0; i < FLOOD_VOTES; i++)
		votes[i] = make_vote(mp_genesis, mp_keys[i], 1, ts);
	/* the height fills with two-vote blocks, each its own pair of votes */
	for (int i = 0; i < FLOOD_VOTES && admitted < CV_PROPOSALS_PER_HEIGHT; i++)
		for (int j = 0; j < FLOOD_VOTES && admitted < CV_PROPOSALS_PER_HEIGHT; j++) {
			int idx[2] = {i, j};

			if (i == j)
				continue;
			flood_block(&b, votes, idx, 2, ts);
			if (cv_store_add_proposal(x, &b, ts, NULL) == CV_OK)
				admitted++;
			if (admitted == 1)
				memcpy(first_hash, b.hash, CV_HASH_LEN);
			if (admitted == CV_PROPOSALS_PER_HEIGHT - 1)
				memcpy(evicted_hash, b.hash, CV_HASH_LEN);
			if (admitted == CV_PROPOSALS_PER_HEIGHT)
				memcpy(kept_hash, b.hash, CV_HASH_LEN);
			cv_block_free(&b);
		}
	CHECK_EQ_INT(admitted, CV_PROPOSALS_PER_HEIGHT);

	/* full: neither another pair nor a smaller block gets in */
	flood_block(&b, votes, (int[]){9, 8}, 2, ts);
	CHECK_EQ_INT(cv_store_add_proposal(x, &b, ts, NULL), CV_E_PROPOSALS_FULL);
	cv_block_free(&b);
	flood_block(&b, votes, (int[]){9}, 1, ts);
	CHECK_EQ_INT(cv_store_add_proposal(x, &b, ts, NULL), CV_E_PROPOSALS_FULL);
	cv_block_free(&b);
	/* the same votes mined again (another timestamp, so another hash) add nothing */
	flood_block(&b, votes, (int[]){0, 1}, 2, ts + 1);
	CHECK(memcmp(b.hash, first_hash, CV_HASH_LEN) != 0);
	CHECK_EQ_INT(cv_store_add_proposal(x, &b, ts, NULL), CV_E_SAME_VOTES);
	cv_block_free(&b);
	CHECK_EQ_INT(cv_store_info(x, &in), CV_OK);
	CHECK_EQ_INT(in.n_proposals, CV_PROPOSALS_PER_HEIGHT);

	/* a block with more votes takes the place of the newest smallest one without an
	 * approval: the approved newest stays, the one before it goes */
	cv_approval a = make_approval(validator_keys[0], kept_hash);
	CHECK_EQ_INT(cv_store_approve(x, kept_hash, &a, &committed), CV_OK);
	CHECK(!committed);
	flood_block(&b, votes, (int[]){9, 8, 7}, 3, ts);
	CHECK_EQ_INT(cv_store_add_proposal(x, &b, ts, NULL), CV_OK);
	cv_block_free(&b);
	CHECK_EQ_INT(cv_store_proposal(x, evicted_hash, &p), CV_E_NOT_FOUND);
	CHECK_EQ_INT(cv_store_proposal(x, kept_hash, &p), CV_OK);
	/* the rules' verdict was stored with it */
	CHECK_EQ_INT(p.checks.verdict, CV_OK);
	CHECK(p.checks.leading_zero_bits >= 8);
	CHECK_EQ_INT(cv_checks_result(&p.checks, CV_CHECK_POW), 1);
	cv_proposal_free(&p);

	/* a block two validators rejected (one approval can no longer reach 2) gives way to
	 * the same votes mined again */
	for (int v = 1; v < 3; v++) {
		cv_approval r = make_approval(validator_keys[v], first_hash);
		cv_buf m = {0};

		CHECK_EQ_INT(cv_rejection_message(first_hash, "no", &m), CV_OK);
		cv_sign(validator_keys[v], m.data, m.len, r.signature);
		cv_buf_free(&m);
		CHECK_EQ_INT(cv_store_reject(x, first_hash, "no", &r), CV_OK);
	}
	flood_block(&b, votes, (int[]){0, 1}, 2, ts + 1);
	CHECK_EQ_INT(cv_store_add_proposal(x, &b, ts, NULL), CV_OK);
	cv_block_free(&b);
	CHECK_EQ_INT(cv_store_proposal(x, first_hash, &p), CV_E_NOT_FOUND);

	/* the listing: summaries, oldest first, never more than the bound */
	CHECK_EQ_INT(cv_store_proposal_summaries(x, &sums, &n), CV_OK);
	CHECK_EQ_INT(n, CV_PROPOSALS_PER_HEIGHT);
	for (size_t i = 1; i < n; i++)
		CHECK(sums[i - 1].received_at <= sums[i].received_at);
	CHECK(n > 0 && sums[n - 1].n_votes == 2 && sums[n - 2].n_votes == 3);
	free(sums);
	cv_store_close(x);
}

static void test_scripted_store_files_verify(void)
{
	cv_store_close(st);
	st = NULL;
	CHECK_EQ_INT(verify_files(dir), 0);
}

/* ---- many elections in one environment ---- */

static char multi_dir[160]; /* an environment of its own for these tests */

/* Candidates 1 and 2, the validators, the first n_voters voters, then open. */
static cv_err set_up_and_open(cv_store *s, const char *title, size_t n_voters,
                              uint8_t id[CV_HASH_LEN])
{
	cv_settings set = settings(title);
	cv_candidate c = {.id = 1, .name = "One"};
	cv_validator v;
	uint8_t key[CV_KEY_LEN];
	cv_err e;

	if ((e = cv_store_create_election(s, &set)) != CV_OK ||
	    (e = cv_store_put_candidate(s, &c)) != CV_OK)
		return e;
	c.id = 2;
	if ((e = cv_store_put_candidate(s, &c)) != CV_OK)
		return e;
	for (int i = 0; i < N_VALIDATORS; i++) {
		cv_privkey_public(validator_keys[i], v.key);
		snprintf(v.name, sizeof v.name, "Validator %d", i);
		if ((e = cv_store_put_validator(s, &v)) != CV_OK)
			return e;
	}
	for (size_t i = 0; i < n_voters; i++) {
		cv_privkey_public(voter_keys[i], key);
		if ((e = cv_store_add_voter(s, key)) != CV_OK)
			return e;
	}
	return cv_store_open_election(s, now_s(), id);
}

static void test_two_elections_side_by_side_independent(void)
{
	cv_store *root = NULL, *b = NULL, *again = NULL;
	uint8_t id_a[CV_HASH_LEN], id_b[CV_HASH_LEN];
	cv_election_listing *list = NULL;
	cv_info in_a, in_b;
	cv_vote v;
	size_t n = 0;
	char path[256];

	snprintf(multi_dir, sizeof multi_dir, "%s/multi", top);
	CHECK_EQ_INT(cv_store_open(multi_dir, CV_STORE_CREATE, &root), CV_OK);
	if (root == NULL)
		return;
	CHECK_EQ_INT(cv_store_election(root, "b", &b), CV_E_NOT_FOUND);
	CHECK_EQ_INT(cv_store_add_election(root, "b", 100), CV_OK);
	CHECK_EQ_INT(cv_store_add_election(root, "b", 101), CV_E_EXISTS);
	CHECK_EQ_INT(cv_store_add_election(root, CV_ELECTION_DEFAULT, 100), CV_E_EXISTS);
	CHECK_EQ_INT(cv_store_add_election(root, "Bad", 100), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_store_add_election(root, "", 100), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_store_add_election(root, "a23456789012345678901234567890123", 100),
	             CV_E_MALFORMED);
	CHECK_EQ_INT(cv_store_election(root, "../b", &b), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_store_election(root, CV_ELECTION_DEFAULT, &again), CV_OK);
	CHECK(again == root);
	CHECK_EQ_INT(cv_store_election(root, "b", &b), CV_OK);
	if (b == NULL) {
		cv_store_close(root);
		return;
	}
	CHECK_STR(cv_store_slug(b), "b");
	CHECK_STR(cv_store_slug(root), CV_ELECTION_DEFAULT);
	snprintf(path, sizeof path, "%s/e.b.meta.db", multi_dir);
	CHECK(access(path, F_OK) == 0);
	/* a registered election has no settings until it is created */
	CHECK_EQ_INT(cv_store_info(b, &in_b), CV_E_NOT_FOUND);
	CHECK_EQ_INT(set_up_and_open(root, "Election A", 2, id_a), CV_OK);
	CHECK_EQ_INT(set_up_and_open(b, "Election B", 3, id_b), CV_OK);
	CHECK(memcmp(id_a, id_b, CV_HASH_LEN) != 0);
	/* the same voter votes in both, once each */
	v = make_vote(id_a, voter_keys[0], 1, now_s());
	CHECK_EQ_INT(cv_store_add_vote(root, &v, now_s(), NULL), CV_OK);
	CHECK_EQ_INT(cv_store_add_vote(root, &v, now_s(), NULL), CV_E_ALREADY_VOTED);
	/* A's vote is not B's */
	CHECK_EQ_INT(cv_store_add_vote(b, &v, now_s(), NULL), CV_E_WRONG_ELECTION);
	v = make_vote(id_b, voter_keys[0], 2, now_s());
	CHECK_EQ_INT(cv_store_add_vote(b, &v, now_s(), NULL), CV_OK);
	v = make_vote(id_b, voter_keys[2], 2, now_s());
	CHECK_EQ_INT(cv_store_add_vote(b, &v, now_s(), NULL), CV_OK);
	v = make_vote(id_a, voter_keys[2], 2, now_s());
	CHECK_EQ_INT(cv_store_add_vote(root, &v, now_s(), NULL), CV_E_NOT_ON_ROLL);
	CHECK_EQ_INT(cv_store_info(root, &in_a), CV_OK);
	CHECK_EQ_INT(cv_store_info(b, &in_b), CV_OK);
	CHECK_EQ_INT(in_a.n_pending, 1);
	CHECK_EQ_INT(in_b.n_pending, 2);
	CHECK_EQ_INT(in_a.n_voters, 2);
	CHECK_EQ_INT(in_b.n_voters, 3);
	CHECK_STR(in_b.settings.election.title, "Election B");
	CHECK_EQ_INT(cv_store_elections(root, &list, &n), CV_OK);
	CHECK_EQ_INT(n, 1);
	CHECK(n == 1 && strcmp(list[0].slug, "b") == 0 && list[0].created == 100);
	free(list);
	cv_store_close(b); /* borrowed: a no-op */
	CHECK_EQ_INT(cv_store_info(b, &in_b), CV_OK);
	cv_store_close(root);
}

static void test_elections_survive_reopen_and_recovery(void)
{
	cv_store *root = NULL, *b = NULL;
	cv_info in;
	int lock;

	/* reopened: the registry and B's pool are where they were */
	CHECK_EQ_INT(cv_store_open(multi_dir, 0, &root), CV_OK);
	if (root == NULL)
		return;
	CHECK_EQ_INT(cv_store_election(root, "b", &b), CV_OK);
	CHECK(b != NULL && cv_store_info(b, &in) == CV_OK && in.n_pending == 2 &&
	      strcmp(in.settings.election.title, "Election B") == 0);
	cv_store_close(root);
	/* recovery of the one environment covers every election's databases */
	lock = cv_store_lock_exclusive(multi_dir);
	CHECK(lock >= 0);
	CHECK_EQ_INT(cv_store_recover(multi_dir, NULL, false), CV_OK);
	if (lock >= 0)
		close(lock);
	root = NULL;
	CHECK_EQ_INT(cv_store_open(multi_dir, 0, &root), CV_OK);
	if (root == NULL)
		return;
	CHECK_EQ_INT(cv_store_election(root, "b", &b), CV_OK);
	CHECK(b != NULL && cv_store_info(b, &in) == CV_OK && in.n_pending == 2);
	CHECK_EQ_INT(cv_store_info(root, &in), CV_OK);
	CHECK_EQ_INT(in.n_pending, 1);
	cv_store_close(root);
}

static void test_archive_only_draft_or_sealed_then_read_only(void)
{
	cv_settings set = settings("Draft");
	cv_candidate c = {.id = 1, .name = "One"};
	cv_store *root = NULL, *d = NULL, *b = NULL;
	cv_info in;

	CHECK_EQ_INT(cv_store_open(multi_dir, 0, &root), CV_OK);
	if (root == NULL)
		return;
	CHECK_EQ_INT(cv_store_add_election(root, "draft", now_s()), CV_OK);
	CHECK_EQ_INT(cv_store_election(root, "draft", &d), CV_OK);
	CHECK_EQ_INT(cv_store_election(root, "b", &b), CV_OK);
	if (d == NULL || b == NULL) {
		cv_store_close(root);
		return;
	}
	CHECK_EQ_INT(cv_store_archive(d, now_s()), CV_E_NOT_FOUND); /* no settings yet */
	CHECK_EQ_INT(cv_store_create_election(d, &set), CV_OK);
	CHECK_EQ_INT(cv_store_archive(b, now_s()), CV_E_BAD_STATE); /* open */
	CHECK_EQ_INT(cv_store_archive(d, 1234), CV_OK);
	CHECK_EQ_INT(cv_store_archive(d, 1235), CV_E_ARCHIVED);
	CHECK_EQ_INT(cv_store_put_candidate(d, &c), CV_E_ARCHIVED);
	CHECK_EQ_INT(cv_store_set_settings(d, &set), CV_E_ARCHIVED);
	CHECK_EQ_INT(cv_store_open_election(d, now_s(), NULL), CV_E_ARCHIVED);
	CHECK_EQ_INT(cv_store_info(d, &in), CV_OK);
	CHECK_EQ_INT(in.archived_at, 1234);
	CHECK_EQ_INT(cv_store_info(b, &in), CV_OK);
	CHECK_EQ_INT(in.archived_at, 0);
	cv_store_close(root);
}

/* With an argument, runs only the tests whose names contain it (after the scripted
 * election's set-up), for debugging one behaviour. */
/* ---- the close (DESIGN section 2, "The close: the seal") ---- */

/* The attack of the integrity issue: after the close, a block with a vote signed after
 * it (back-dated, never in the pool) is refused at admission; a block admitted before
 * the close that carries a vote which was never pending is refused at approval, so two
 * validators cannot commit it; the export is byte-identical before and after. The
 * votes pending at the close are committed, then the seal (offered as work only then)
 * makes the election final, and nothing follows it. */
/* Changes of the parameters in force (docs/GOVERNANCE.md) in the store: a change for the
 * next block gathers signatures (each judged; a refused one writes nothing), is never
 * offered short of the threshold, then is the work template alone; committed, it puts the
 * new difficulty and validator key in force: the replaced key's approval is refused, the
 * new one's counts; the listing says what happened, and the export verifies. */
static void test_change_signed_offered_committed_in_force(void)
{
	char sub[256];
	cv_store *x = NULL;
	cv_change c = {0}, other = {0};
	cv_change_record *r = NULL;
	cv_privkey *fresh = NULL;
	uint8_t id[CV_HASH_LEN], id2[CV_HASH_LEN];
	cv_block w = {0}, w2 = {0};
	cv_approval a;
	char why[256];
	size_t n = 0, n_sig = 0;
	bool committed = false;
	cv_info in;
	cv_tally t = {0};
	membuf ex = {NULL, 0};
	uint64_t now;

	snprintf(sub, sizeof sub, "%s/changes", top);
	CHECK(make_election(sub));
	now = now_s();
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK);
	if (x == NULL)
		return;
	CHECK_EQ_INT(cv_privkey_generate(&fresh), CV_OK);
	/* block 1 replaces validator 2's key; signed by validators 0 and 1 */
	memcpy(c.election_id, mp_genesis, CV_HASH_LEN);
	c.effective_height = 2;
	c.kind = CV_CHANGE_VALIDATOR_KEY;
	cv_privkey_public(validator_keys[2], c.old_key);
	cv_privkey_public(fresh, c.new_key);
	CHECK_EQ_INT(cv_change_copy(&c, &other), CV_OK);
	CHECK_EQ_INT(cv_change_sign(&c, validator_keys[0]), CV_OK);
	CHECK_EQ_INT(cv_change_sign(&other, validator_keys[1]), CV_OK);
	CHECK_EQ_INT(cv_store_change_propose(x, &c, now, id, why, sizeof why), CV_OK);
	CHECK_EQ_INT(cv_store_change_propose(x, &c, now, id2, why, sizeof why), CV_E_EXISTS);
	/* a signature over other bytes, then one by a key that is no validator: nothing */
	a = other.signatures[0];
	a.signature[5] ^= 1;
	CHECK_EQ_INT(cv_store_change_sign(x, id, &a, &n_sig, why, sizeof why), CV_E_BAD_SIGNATURE);
	CHECK_EQ_INT(cv_store_work(x, now, &w), CV_OK);
	CHECK(w.change == NULL); /* one signature of two: never offered */
	cv_block_free(&w);
	a = other.signatures[0];
	CHECK_EQ_INT(cv_store_change_sign(x, id, &a, &n_sig, why, sizeof why), CV_OK);
	CHECK_EQ_INT(n_sig, 2);
	CHECK_EQ_INT(cv_store_change_sign(x, id, &a, &n_sig, why, sizeof why), CV_E_EXISTS);
	CHECK_EQ_INT(cv_store_changes(x, &r, &n), CV_OK);
	CHECK(n == 1 && !r[0].committed && r[0].change.n_signatures == 2 &&
	      memcmp(r[0].id, id, CV_HASH_LEN) == 0);
	cv_change_records_free(r, n);
	/* the template is the change alone; committed by validators 0 and 1 */
	CHECK_EQ_INT(cv_store_work(x, now, &w), CV_OK);
	CHECK(w.change != NULL && w.n_votes == 0 && w.header.height == 1);
	CHECK_EQ_INT(propose_and_commit(x, &w, now), CV_OK);
	/* the replaced key approves no more; the new one does */
	{
		cv_vote v = make_vote(mp_genesis, mp_keys[0], 1, now);

		CHECK_EQ_INT(cv_store_add_vote(x, &v, now, NULL), CV_OK);
	}
	CHECK_EQ_INT(cv_store_work(x, now, &w2), CV_OK);
	CHECK(w2.change == NULL && w2.n_votes == 1 && w2.header.height == 2);
	mine(&w2);
	CHECK_EQ_INT(cv_store_add_proposal(x, &w2, now, NULL), CV_OK);
	a = make_approval(validator_keys[2], w2.hash);
	CHECK_EQ_INT(cv_store_approve(x, w2.hash, &a, &committed), CV_E_NOT_VALIDATOR);
	a = make_approval(fresh, w2.hash);
	CHECK_EQ_INT(cv_store_approve(x, w2.hash, &a, &committed), CV_OK);
	a = make_approval(validator_keys[0], w2.hash);
	CHECK_EQ_INT(cv_store_approve(x, w2.hash, &a, &committed), CV_OK);
	CHECK(committed);
	CHECK_EQ_INT(cv_store_changes(x, &r, &n), CV_OK);
	CHECK(n == 1 && r[0].committed && r[0].height == 1);
	cv_change_records_free(r, n);
	/* a change for a height passed is stale; the export verifies with the change */
	c.effective_height = 2;
	CHECK_EQ_INT(cv_store_change_propose(x, &c, now, id2, why, sizeof why), CV_E_STALE);
	CHECK_EQ_INT(cv_store_info(x, &in), CV_OK);
	CHECK_EQ_INT(in.tip_height, 2);
	CHECK_EQ_INT(cv_store_export(x, mem_write, &ex), CV_OK);
	{
		json_object *o = json_tokener_parse(ex.p);
		cv_chain ch = {0};

		CHECK(o != NULL && cv_chain_from_json(o, &ch) == CV_OK);
		CHECK_EQ_INT(cv_verify_chain(&ch, report, NULL, &t), 0);
		CHECK_EQ_INT(t.total, 1);
		cv_chain_free(&ch);
		json_object_put(o);
	}
	free(ex.p);
	cv_tally_free(&t);
	cv_block_free(&w);
	cv_block_free(&w2);
	cv_change_free(&c);
	cv_change_free(&other);
	cv_privkey_free(fresh);
	cv_store_close(x);
}

static void test_close_admits_only_pending_votes_then_the_seal(void)
{
	char sub[256];
	cv_store *x = NULL;
	cv_block w = {0}, early = {0}, late = {0}, seal_block = {0};
	cv_approval a;
	cv_info in;
	cv_tally t = {0};
	membuf before = {NULL, 0}, after = {NULL, 0};
	size_t bad = SIZE_MAX, n = 0;
	bool committed = false;
	uint64_t now;

	snprintf(sub, sizeof sub, "%s/close", top);
	CHECK(make_election(sub));
	now = now_s(); /* not before the genesis: votes are stamped now */
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK);
	if (x == NULL)
		return;
	for (int i = 0; i < 3; i++) {
		cv_vote v = make_vote(mp_genesis, mp_keys[i], 1, now);

		CHECK_EQ_INT(cv_store_add_vote(x, &v, now, NULL), CV_OK);
	}
	/* before the close: a block whose one vote (voter 3's) never was in the pool */
	CHECK_EQ_INT(cv_store_work(x, now, &early), CV_OK);
	early.votes[0] = make_vote(mp_genesis, mp_keys[3], 1, now);
	early.n_votes = 1;
	mine(&early);
	CHECK_EQ_INT(cv_store_add_proposal(x, &early, now, NULL), CV_OK);

	CHECK_EQ_INT(cv_store_close_election(x, now), CV_OK);
	CHECK_EQ_INT(cv_store_info(x, &in), CV_OK);
	CHECK_EQ_INT(in.state, CV_STATE_CLOSED);
	CHECK_EQ_INT(in.closed_at, now);
	CHECK_EQ_INT(cv_store_export(x, mem_write, &before), CV_OK);

	/* a vote after the close is refused, back-dated or not */
	{
		cv_vote v = make_vote(mp_genesis, mp_keys[4], 1, now - 1);

		CHECK_EQ_INT(cv_store_add_vote(x, &v, now + 1, NULL), CV_E_CLOSED);
	}
	/* a block carrying a pending vote and a back-dated vote signed after the close */
	CHECK_EQ_INT(cv_store_work(x, now + 1, &late), CV_OK);
	CHECK_EQ_INT(late.n_votes, 3);
	CHECK(!late.has_seal);
	late.votes[2] = make_vote(mp_genesis, mp_keys[5], 1, now); /* stamped at the close */
	mine(&late);
	CHECK_EQ_INT(cv_store_add_proposal(x, &late, now + 1, &bad), CV_E_LATE_VOTE);
	CHECK_EQ_INT(bad, 2);
	/* the block admitted before the close is not committed by two approvals */
	a = make_approval(validator_keys[0], early.hash);
	CHECK_EQ_INT(cv_store_approve(x, early.hash, &a, &committed), CV_E_LATE_VOTE);
	a = make_approval(validator_keys[1], early.hash);
	CHECK_EQ_INT(cv_store_approve(x, early.hash, &a, &committed), CV_E_LATE_VOTE);
	CHECK(!committed);
	/* a seal while votes pending at the close are left */
	seal_block.header = late.header;
	seal_block.has_seal = true;
	memcpy(seal_block.seal.election_id, mp_genesis, CV_HASH_LEN);
	seal_block.seal.closed_at = now;
	mine(&seal_block);
	CHECK_EQ_INT(cv_store_add_proposal(x, &seal_block, now + 1, NULL), CV_E_SEAL_EARLY);
	CHECK_EQ_INT(cv_store_export(x, mem_write, &after), CV_OK);
	CHECK(before.n == after.n && before.p != NULL && memcmp(before.p, after.p, before.n) == 0);

	/* the votes pending at the close are committed */
	cv_block_free(&w);
	CHECK_EQ_INT(cv_store_work(x, now + 1, &w), CV_OK);
	CHECK_EQ_INT(w.n_votes, 3);
	CHECK_EQ_INT(propose_and_commit(x, &w, now + 1), CV_OK);
	/* then the work is the seal, closed at the close */
	cv_block_free(&w);
	CHECK_EQ_INT(cv_store_work(x, now + 2, &w), CV_OK);
	CHECK(w.has_seal);
	CHECK_EQ_INT(w.n_votes, 0);
	CHECK_EQ_INT(w.seal.closed_at, now);
	CHECK(memcmp(w.seal.election_id, mp_genesis, CV_HASH_LEN) == 0);
	w.seal.closed_at = now + 1; /* another close is not this election's */
	mine(&w);
	CHECK_EQ_INT(cv_store_add_proposal(x, &w, now + 2, NULL), CV_E_BAD_SEAL);
	w.seal.closed_at = now;
	CHECK_EQ_INT(propose_and_commit(x, &w, now + 2), CV_OK);
	CHECK_EQ_INT(cv_store_info(x, &in), CV_OK);
	CHECK(in.final);
	CHECK_EQ_INT(in.seal_height, 2);
	CHECK_EQ_INT(in.n_committed, 3);
	/* nothing follows the seal */
	cv_block_free(&late);
	CHECK_EQ_INT(cv_store_work(x, now + 3, &late), CV_E_SEALED);
	CHECK_EQ_INT(verify_export(x, &t, &n), 0);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(t.total, 3);
	CHECK(t.final);
	CHECK_EQ_INT(t.closed_at, now);
	cv_tally_free(&t);
	free(before.p);
	free(after.p);
	cv_block_free(&w);
	cv_block_free(&early);
	cv_block_free(&late);
	cv_store_close(x);
	CHECK_EQ_INT(verify_files(sub), 0);
}

/* An election closed by its clock: once `closes` passes no vote enters, the seal states
 * closed_at = closes, and its commit records the close. A vote stamped ahead of the
 * admin's close moves closed_at on to it, so the seal leaves no vote out. */
static void test_close_by_clock_and_close_after_a_vote_stamped_ahead(void)
{
	char sub[256];
	cv_store *x = NULL;
	cv_settings s;
	cv_block w = {0};
	cv_info in;
	cv_vote v;
	uint64_t now;

	snprintf(sub, sizeof sub, "%s/clock", top);
	CHECK(make_election(sub));
	now = now_s(); /* not before the genesis */
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK);
	if (x == NULL)
		return;
	/* a vote stamped 200 s ahead (rule 5 allows 300), then the admin closes now */
	v = make_vote(mp_genesis, mp_keys[0], 1, now + 200);
	CHECK_EQ_INT(cv_store_add_vote(x, &v, now, NULL), CV_OK);
	CHECK_EQ_INT(cv_store_close_election(x, now), CV_OK);
	CHECK_EQ_INT(cv_store_info(x, &in), CV_OK);
	CHECK_EQ_INT(in.closed_at, now + 200);
	CHECK_EQ_INT(cv_store_work(x, now, &w), CV_OK);
	CHECK_EQ_INT(propose_and_commit(x, &w, now), CV_OK);
	cv_block_free(&w);
	CHECK_EQ_INT(cv_store_work(x, now, &w), CV_OK);
	CHECK(w.has_seal);
	CHECK(w.header.timestamp >= now + 200); /* closed_at <= the seal block's timestamp */
	CHECK_EQ_INT(propose_and_commit(x, &w, now), CV_OK);
	cv_block_free(&w);
	cv_store_close(x);

	/* an election whose `closes` is 2 s ahead; opening one already past it is refused */
	snprintf(sub, sizeof sub, "%s/clock2", top);
	s = settings("Clock");
	s.election.closes = now_s() - 1;
	CHECK_EQ_INT(cv_store_open(sub, CV_STORE_CREATE, &x), CV_OK);
	if (x == NULL)
		return;
	{
		cv_candidate c = {1, "Only"};
		cv_validator val;
		uint8_t key[CV_KEY_LEN];

		CHECK_EQ_INT(cv_store_create_election(x, &s), CV_OK);
		CHECK_EQ_INT(cv_store_put_candidate(x, &c), CV_OK);
		for (int i = 0; i < N_VALIDATORS; i++) {
			cv_privkey_public(validator_keys[i], val.key);
			snprintf(val.name, sizeof val.name, "V%d", i);
			CHECK_EQ_INT(cv_store_put_validator(x, &val), CV_OK);
		}
		for (int i = 0; i < 4; i++) {
			cv_privkey_public(mp_keys[i], key);
			CHECK_EQ_INT(cv_store_add_voter(x, key), CV_OK);
		}
	}
	CHECK_EQ_INT(cv_store_open_election(x, now_s(), mp_genesis), CV_E_BAD_ELECTION);
	s.election.closes = now_s() + 2;
	CHECK_EQ_INT(cv_store_set_settings(x, &s), CV_OK);
	CHECK_EQ_INT(cv_store_open_election(x, now_s(), mp_genesis), CV_OK);
	v = make_vote(mp_genesis, mp_keys[0], 1, now_s());
	CHECK_EQ_INT(cv_store_add_vote(x, &v, now_s(), NULL), CV_OK);
	while (now_s() <= s.election.closes)
		usleep(100 * 1000);
	v = make_vote(mp_genesis, mp_keys[1], 1, s.election.closes);
	CHECK_EQ_INT(cv_store_add_vote(x, &v, now_s(), NULL), CV_E_CLOSED);
	CHECK_EQ_INT(cv_store_info(x, &in), CV_OK);
	CHECK_EQ_INT(in.state, CV_STATE_CLOSED);
	CHECK_EQ_INT(in.closed_at, s.election.closes);
	CHECK_EQ_INT(cv_store_work(x, now_s(), &w), CV_OK);
	CHECK_EQ_INT(w.n_votes, 1);
	CHECK_EQ_INT(propose_and_commit(x, &w, now_s()), CV_OK);
	cv_block_free(&w);
	CHECK_EQ_INT(cv_store_work(x, now_s(), &w), CV_OK);
	CHECK(w.has_seal);
	CHECK_EQ_INT(w.seal.closed_at, s.election.closes);
	CHECK_EQ_INT(propose_and_commit(x, &w, now_s()), CV_OK);
	CHECK_EQ_INT(cv_store_info(x, &in), CV_OK);
	CHECK(in.final);
	CHECK_EQ_INT(cv_store_close_election(x, now_s()), CV_E_BAD_STATE); /* recorded */
	cv_block_free(&w);
	cv_store_close(x);
}

/* The admin API's merges (lib/store/store_setup.c): entries stored already are left as they
 * are and flagged, the others are added in the same transaction, also when that
 * transaction is retried after a deadlock. Runs in an environment of its own. */
static void test_merge_keeps_known_and_adds_new(void)
{
	char sub[160];
	cv_settings set = settings("Merge test");
	uint8_t keys[3][CV_KEY_LEN];
	cv_eligible first[1] = {{"merge-1", "CODE-ONE-1111"}};
	cv_eligible again[2] = {{"merge-1", "CODE-OTHER"}, {"merge-2", "CODE-TWO-2222"}};
	bool known[3] = {true, true, true};
	cv_store *x = NULL;
	cv_info in;

	for (int i = 0; i < 3; i++)
		cv_privkey_public(mp_keys[i], keys[i]);
	snprintf(sub, sizeof sub, "%s/merge", top);
	CHECK_EQ_INT(cv_store_open(sub, CV_STORE_CREATE, &x), CV_OK);
	if (x == NULL)
		return;
	CHECK_EQ_INT(cv_store_create_election(x, &set), CV_OK);
	CHECK_EQ_INT(cv_store_merge_voters(x, (const uint8_t(*)[CV_KEY_LEN])keys, 2, known, NULL),
	             CV_OK);
	CHECK(!known[0] && !known[1]);
	/* keys[1] is known, keys[2] new; the first commit fails as a deadlock and is retried */
	cv_store_fault_deadlock(x, 1);
	CHECK_EQ_INT(
	    cv_store_merge_voters(x, (const uint8_t(*)[CV_KEY_LEN])keys + 1, 2, known, NULL),
	    CV_OK);
	CHECK(known[0] && !known[1]);
	CHECK_EQ_INT(cv_store_merge_eligibles(x, first, 1, known, NULL), CV_OK);
	CHECK_EQ_INT(cv_store_merge_eligibles(x, again, 2, known, NULL), CV_OK);
	CHECK(known[0] && !known[1]);
	CHECK_EQ_INT(cv_store_info(x, &in), CV_OK);
	CHECK_EQ_INT(in.n_voters, 3);
	CHECK_EQ_INT(in.n_eligible, 2);
	/* the known entry kept its first code */
	CHECK_EQ_INT(cv_store_register(x, "merge-1", "CODE-OTHER", keys[0]), CV_E_BAD_CODE);
	CHECK_EQ_INT(cv_store_register(x, "merge-2", "CODE-TWO-2222", keys[0]), CV_E_EXISTS);
	/* the plain batch refuses what the merge keeps, and writes nothing */
	CHECK_EQ_INT(cv_store_add_eligibles(x, again, 2, NULL), CV_E_EXISTS);
	CHECK_EQ_INT(cv_store_info(x, &in), CV_OK);
	CHECK_EQ_INT(in.n_eligible, 2);
	cv_store_close(x);
}

/* ---- voter recovery ---- */

static void test_code_normal_form_and_strength(void)
{
	char out[CV_ELIGIBLE_TEXT_MAX + 1], code[CV_CODE_LEN + 1], big[CV_CODE_INPUT_MAX + 2];

	CHECK(cv_eligible_code_normalise("7k3m q9xd-2hfb", out));
	CHECK_STR(out, "7K3MQ9XD2HFB");
	CHECK(cv_eligible_code_normalise(" a\tb-c ", out));
	CHECK_STR(out, "ABC");
	/* nothing left, a byte outside printable ASCII, more than 64 once normal */
	CHECK(!cv_eligible_code_normalise("- -\t", out) && out[0] == '\0');
	CHECK(!cv_eligible_code_normalise("caf\xc3\xa9-1234", out));
	memset(big, 'a', 65);
	big[65] = '\0';
	CHECK(!cv_eligible_code_normalise(big, out));
	big[64] = '\0';
	CHECK(cv_eligible_code_normalise(big, out));
	/* spaces and dashes count against the input bound, not the code's */
	memset(big, '-', sizeof big - 1);
	big[0] = 'A';
	big[CV_CODE_INPUT_MAX] = '\0';
	CHECK(cv_eligible_code_normalise(big, out));
	big[CV_CODE_INPUT_MAX] = '-';
	big[CV_CODE_INPUT_MAX + 1] = '\0';
	CHECK(!cv_eligible_code_normalise(big, out));
	/* 40 bits by length over the smallest alphabet that holds the code */
	CHECK(cv_eligible_code_strong("1234567890123")); /* 13 digits: 43.2 bits */
	CHECK(!cv_eligible_code_strong("123456789012")); /* 12: 39.9 */
	CHECK(cv_eligible_code_strong("ABCDEF0123"));    /* 10 hex: 40 */
	CHECK(!cv_eligible_code_strong("ABCDEF012"));    /* 9 hex: 36 */
	CHECK(cv_eligible_code_strong("7K3MQ9XD"));      /* 8 of base32: 40 */
	CHECK(!cv_eligible_code_strong("7K3MQ9X"));      /* 7: 35 */
	CHECK(!cv_eligible_code_strong("LLLLLLL"));      /* 7 letters and digits: 36.2 */
	CHECK(cv_eligible_code_strong("!!!!!!!"));       /* 7 printable: 42.5 */
	CHECK(!cv_eligible_code_strong("!!!!!!"));       /* 6: 36.4 */
	/* the generator's codes are strong in their normal form */
	CHECK_EQ_INT(cv_eligible_make_code(code), CV_OK);
	CHECK(cv_eligible_code_normalise(code, out) && strlen(out) == 12);
	CHECK(cv_eligible_code_strong(out));
}

/* One entry as listed: its state, and its key when one is bound. */
static void check_entry(const cv_eligible_entry *en, const char *id, cv_voter_state state,
                        const uint8_t *key)
{
	CHECK_STR(en->voter_id, id);
	CHECK_EQ_INT(en->state, state);
	if (key != NULL)
		CHECK(memcmp(en->key, key, CV_KEY_LEN) == 0);
}

/* A code as the recovery calls take it: a buffer they may write a made code into. */
static char *code_buf(const char *code)
{
	static char buf[CV_CODE_INPUT_MAX + 1];

	snprintf(buf, sizeof buf, "%s", code);
	return buf;
}

static void check_counts(cv_store *x, uint64_t unused, uint64_t registered, uint64_t voted)
{
	cv_eligible_counts c;

	CHECK_EQ_INT(cv_store_eligible_counts(x, &c), CV_OK);
	CHECK_EQ_INT(c.eligible, unused + registered + voted);
	CHECK_EQ_INT(c.unused, unused);
	CHECK_EQ_INT(c.registered, registered);
	CHECK_EQ_INT(c.voted, voted);
}

/* A generated code is strong by how it was drawn (60 random bits), whichever symbols came
 * out: twelve that came out all digits are stored, while the same twelve digits chosen by
 * an administrator are weak (10^12 < 2^40). Runs in an environment of its own. */
static void test_generated_code_is_strong_whatever_its_symbols(void)
{
	char sub[160];
	cv_settings set = settings("Generated codes");
	cv_eligible chosen = {"D", "0123-4567-8901", false};
	cv_eligible drawn = {"D", "0123-4567-8901", true};
	cv_store *x = NULL;

	snprintf(sub, sizeof sub, "%s/generated", top);
	CHECK_EQ_INT(cv_store_open(sub, CV_STORE_CREATE, &x), CV_OK);
	if (x == NULL)
		return;
	CHECK_EQ_INT(cv_store_create_election(x, &set), CV_OK);
	CHECK_EQ_INT(cv_store_add_eligibles(x, &chosen, 1, NULL), CV_E_WEAK_CODE);
	check_counts(x, 0, 0, 0);
	CHECK_EQ_INT(cv_store_add_eligibles(x, &drawn, 1, NULL), CV_OK);
	check_counts(x, 1, 0, 0);
	cv_store_close(x);
}

/* Reissue and revoke in set-up, the list with its states and pages, then what the
 * opening seals: a revoked key cannot vote, a vote (pending) makes its key stay, and
 * nothing changes after the opening. Runs in an environment of its own. */
static void test_recovery_reissue_revoke_and_the_seal(void)
{
	char sub[160];
	cv_settings set = settings("Recovery test");
	cv_candidate c = {1, "Only"};
	cv_validator v;
	cv_eligible el[3] = {
	    {"A", "AAAA-BBBB-CCCC"}, {"B", "BBBB-CCCC-DDDD"}, {"C", "CCCC-DDDD-EEEE"}};
	cv_eligible_entry page[3];
	uint8_t key_a[CV_KEY_LEN], key_b[CV_KEY_LEN], key_b2[CV_KEY_LEN], revoked[CV_KEY_LEN];
	uint8_t genesis[CV_HASH_LEN], txid[CV_HASH_LEN];
	cv_genesis g = {0};
	size_t n;
	bool more, b2_on_roll = false, b_on_roll = false;
	cv_store *x = NULL;
	cv_vote vote;
	cv_info in;

	cv_privkey_public(mp_keys[0], key_a);
	cv_privkey_public(mp_keys[1], key_b);
	cv_privkey_public(mp_keys[2], key_b2);
	snprintf(sub, sizeof sub, "%s/recovery", top);
	CHECK_EQ_INT(cv_store_open(sub, CV_STORE_CREATE, &x), CV_OK);
	if (x == NULL)
		return;
	CHECK_EQ_INT(cv_store_create_election(x, &set), CV_OK);
	CHECK_EQ_INT(cv_store_put_candidate(x, &c), CV_OK);
	for (int i = 0; i < N_VALIDATORS; i++) {
		cv_privkey_public(validator_keys[i], v.key);
		snprintf(v.name, sizeof v.name, "V%d", i);
		CHECK_EQ_INT(cv_store_put_validator(x, &v), CV_OK);
	}
	CHECK_EQ_INT(cv_store_add_eligibles(x, el, 3, NULL), CV_OK);
	/* an administrator's weak code is refused, and the entry is not added */
	CHECK_EQ_INT(cv_store_add_eligible(x, "D", "abc-123"), CV_E_WEAK_CODE);
	check_counts(x, 3, 0, 0);

	/* a code made by the store when none is given: strong by how it is drawn, even when
	 * every symbol came out a digit, and handed back */
	{
		char made[CV_CODE_LEN + 1] = "";

		CHECK_EQ_INT(cv_store_reissue_code(x, "C", made), CV_OK);
		CHECK(strlen(made) == CV_CODE_LEN);
		CHECK_EQ_INT(cv_store_reissue_code(x, "C", code_buf("CCCC-DDDD-EEEE")), CV_OK);
	}
	/* reissue: the old code stops working, the new one works as typed */
	CHECK_EQ_INT(cv_store_reissue_code(x, "A", code_buf("NEWA-CODE-1234")), CV_OK);
	CHECK_EQ_INT(cv_store_register(x, "A", "AAAA-BBBB-CCCC", key_a), CV_E_BAD_CODE);
	CHECK_EQ_INT(cv_store_register(x, "A", "newa code 1234", key_a), CV_OK);
	/* registration normalises as the import did: lower case and no dashes */
	CHECK_EQ_INT(cv_store_register(x, "B", "bbbbccccdddd", key_b), CV_OK);
	check_counts(x, 1, 2, 0);

	/* refusals change nothing */
	CHECK_EQ_INT(cv_store_reissue_code(x, "B", code_buf("ZZZZ-ZZZZ-ZZZZ")), CV_E_REGISTERED);
	CHECK_EQ_INT(cv_store_revoke_key(x, "C", code_buf("ZZZZ-ZZZZ-ZZZZ"), NULL),
	             CV_E_NOT_REGISTERED);
	CHECK_EQ_INT(cv_store_revoke_key(x, "nobody", code_buf("ZZZZ-ZZZZ-ZZZZ"), NULL),
	             CV_E_NOT_FOUND);
	CHECK_EQ_INT(cv_store_revoke_key(x, "B", code_buf("zz-12"), NULL), CV_E_WEAK_CODE);
	CHECK_EQ_INT(cv_store_revoke_key(x, "B", code_buf("\x01"), NULL), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_store_reissue_code(x, "bad id", code_buf("ZZZZ-ZZZZ-ZZZZ")),
	             CV_E_MALFORMED);
	CHECK(cv_store_on_roll(x, key_b));
	CHECK_EQ_INT(cv_store_register(x, "C", "CCCC-DDDD-EEEE", key_b2), CV_OK);
	check_counts(x, 0, 3, 0);

	/* revoke: the key leaves the roll, the entry takes a new code and a new key */
	cv_store_fault_deadlock(x, 1); /* the first commit fails as a deadlock: retried once */
	CHECK_EQ_INT(cv_store_revoke_key(x, "B", code_buf("NEWB-CODE-5678"), revoked), CV_OK);
	CHECK(memcmp(revoked, key_b, CV_KEY_LEN) == 0);
	CHECK(!cv_store_on_roll(x, key_b));
	CHECK_EQ_INT(cv_store_info(x, &in), CV_OK);
	CHECK_EQ_INT(in.n_voters, 2);
	CHECK_EQ_INT(in.n_registered, 2);
	CHECK_EQ_INT(cv_store_register(x, "B", "BBBB-CCCC-DDDD", key_b), CV_E_BAD_CODE);
	CHECK_EQ_INT(cv_store_revoke_key(x, "C", code_buf("NEWC-CODE-5678"), NULL), CV_OK);
	CHECK_EQ_INT(cv_store_register(x, "C", "NEWC-CODE-5678", key_b2),
	             CV_OK); /* key free again */
	CHECK_EQ_INT(cv_store_revoke_key(x, "C", code_buf("NEWC-CODE-9999"), NULL), CV_OK);
	CHECK_EQ_INT(cv_store_register(x, "B", "newb-code-5678", key_b2), CV_OK);
	check_counts(x, 1, 2, 0);

	/* pages: in voter id order, "after" exclusive, also when it is no stored id */
	CHECK_EQ_INT(cv_store_eligible_page(x, NULL, 2, page, &n, &more), CV_OK);
	CHECK(n == 2 && more);
	if (n == 2) {
		check_entry(&page[0], "A", CV_VOTER_REGISTERED, key_a);
		check_entry(&page[1], "B", CV_VOTER_REGISTERED, key_b2);
	}
	CHECK_EQ_INT(cv_store_eligible_page(x, "B", 2, page, &n, &more), CV_OK);
	CHECK(n == 1 && !more);
	if (n == 1)
		check_entry(&page[0], "C", CV_VOTER_UNUSED, NULL);
	CHECK_EQ_INT(cv_store_eligible_page(x, "A0", 3, page, &n, &more), CV_OK);
	CHECK(n == 2 && !more && strcmp(page[0].voter_id, "B") == 0);
	CHECK_EQ_INT(cv_store_eligible_page(x, "C", 3, page, &n, &more), CV_OK);
	CHECK(n == 0 && !more);
	CHECK_EQ_INT(cv_store_eligible_page(x, NULL, 0, page, &n, &more), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_store_eligible_page(x, "bad id", 3, page, &n, &more), CV_E_MALFORMED);

	/* the opening seals the roll: the revoked key is not in the genesis */
	CHECK_EQ_INT(cv_store_open_election(x, now_s(), genesis), CV_OK);
	CHECK_EQ_INT(cv_store_genesis(x, true, &g), CV_OK);
	for (size_t i = 0; i < g.n_voters; i++) {
		b_on_roll |= memcmp(g.voters[i], key_b, CV_KEY_LEN) == 0;
		b2_on_roll |= memcmp(g.voters[i], key_b2, CV_KEY_LEN) == 0;
	}
	CHECK(g.n_voters == 2 && !b_on_roll && b2_on_roll);
	cv_genesis_free(&g);
	vote = make_vote(genesis, mp_keys[1], 1, now_s());
	CHECK_EQ_INT(cv_store_add_vote(x, &vote, now_s(), NULL), CV_E_NOT_ON_ROLL);
	vote = make_vote(genesis, mp_keys[2], 1, now_s());
	CHECK_EQ_INT(cv_store_add_vote(x, &vote, now_s(), txid), CV_OK);
	check_counts(x, 1, 1, 1);
	CHECK_EQ_INT(cv_store_eligible_page(x, "A", 1, page, &n, &more), CV_OK);
	CHECK(n == 1 && more && page[0].state == CV_VOTER_VOTED &&
	      memcmp(page[0].txid, txid, CV_HASH_LEN) == 0);
	/* a pending vote is a vote: its key stays; the others wait for no opening */
	CHECK_EQ_INT(cv_store_revoke_key(x, "B", code_buf("LATE-CODE-0000"), NULL),
	             CV_E_ALREADY_VOTED);
	CHECK_EQ_INT(cv_store_reissue_code(x, "B", code_buf("LATE-CODE-0000")), CV_E_ALREADY_VOTED);
	CHECK_EQ_INT(cv_store_revoke_key(x, "A", code_buf("LATE-CODE-0000"), NULL), CV_E_BAD_STATE);
	CHECK_EQ_INT(cv_store_reissue_code(x, "C", code_buf("LATE-CODE-0000")), CV_E_BAD_STATE);
	CHECK(cv_store_on_roll(x, key_a));
	check_counts(x, 1, 1, 1);
	cv_store_close(x);
}

/* ---- the store key ---- */

/* Whether needle occurs in any regular file of d (not its subdirectories). */
static bool in_files(const char *d, const void *needle, size_t n)
{
	static uint8_t buf[64 << 20];
	char cmd[512], name[256];
	bool found = false;
	FILE *ls;

	snprintf(cmd, sizeof cmd, "ls -A '%s'", d);
	if ((ls = popen(cmd, "r")) == NULL)
		return true;
	while (!found && fgets(name, sizeof name, ls) != NULL) {
		char file[800];
		size_t len = strlen(name), got;
		FILE *f;

		if (len > 0 && name[len - 1] == '\n')
			name[--len] = '\0';
		snprintf(file, sizeof file, "%s/%s", d, name);
		if ((f = fopen(file, "rb")) == NULL)
			continue;
		got = fread(buf, 1, sizeof buf, f);
		fclose(f);
		for (size_t i = 0; !found && got >= n && i <= got - n; i++)
			found = memcmp(buf + i, needle, n) == 0;
	}
	pclose(ls);
	return found;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, mode);
}

static void read_line(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (f != NULL) {
		if (fgets(out, (int)n, f) == NULL)
			out[0] = '\0';
		fclose(f);
	}
	out[strcspn(out, "\n")] = '\0';
}

static void test_key_default_is_beside_the_directory(void)
{
	char p[64];

	CHECK_EQ_INT(cv_store_key_default("data/election", p, sizeof p), CV_OK);
	CHECK_STR(p, "data/keys/store.key");
	CHECK_EQ_INT(cv_store_key_default("/srv/cv/election//", p, sizeof p), CV_OK);
	CHECK_STR(p, "/srv/cv/keys/store.key");
	CHECK_EQ_INT(cv_store_key_default("election", p, sizeof p), CV_OK);
	CHECK_STR(p, "keys/store.key");
	CHECK_EQ_INT(cv_store_key_default("/election", p, sizeof p), CV_OK);
	CHECK_STR(p, "/keys/store.key");
	CHECK_EQ_INT(cv_store_key_default("/a/very/long/path/to/an/election", p, 8),
	             CV_E_TOO_LARGE);
}

/* Encryption is the operator's choice: a new store with no key named and no default key
 * file is unencrypted, its regions in files as before encryption existed, and opens
 * without a key; naming a key that does not exist makes it (0600 in a 0700 directory). */
/* Encryption is the default: a new store opened with no key named gets the default
 * key file (0600 in a 0700 directory) and is encrypted; only CV_STORE_KEY_NONE makes
 * an unencrypted one, which then opens without a key (found so by what it holds) and
 * refuses a key. */
static void test_new_store_is_encrypted_unless_told_none(void)
{
	char sub[240], key[240], keys[200], parent[160], path[300];
	cv_store *x = NULL;
	struct stat sb;

	snprintf(parent, sizeof parent, "%s/default", top);
	snprintf(sub, sizeof sub, "%s/election", parent);
	snprintf(keys, sizeof keys, "%s/keys", parent);
	snprintf(key, sizeof key, "%s/store.key", keys);
	mkdir(parent, 0700);
	CHECK_EQ_INT(cv_store_open(sub, CV_STORE_CREATE, &x), CV_OK);
	cv_store_close(x);
	CHECK(stat(key, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0777) == 0600);
	CHECK(stat(keys, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700);
	snprintf(path, sizeof path, "%s/regions.id", sub);
	CHECK(access(path, F_OK) == 0); /* regions in system memory */
	snprintf(path, sizeof path, "%s/__db.001", sub);
	CHECK(access(path, F_OK) != 0); /* none in files, and gone after the last close */
	x = NULL;
	CHECK_EQ_INT(cv_store_open_key(sub, CV_STORE_KEY_NONE, 0, &x), CV_E_STORE_KEY);
	CHECK(x == NULL);
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK);
	cv_store_close(x);

	snprintf(parent, sizeof parent, "%s/plain", top);
	snprintf(sub, sizeof sub, "%s/election", parent);
	snprintf(key, sizeof key, "%s/keys/store.key", parent);
	mkdir(parent, 0700);
	x = NULL;
	CHECK_EQ_INT(cv_store_open_key(sub, CV_STORE_KEY_NONE, CV_STORE_CREATE, &x), CV_OK);
	cv_store_close(x);
	CHECK(access(key, F_OK) != 0);
	snprintf(path, sizeof path, "%s/regions.id", sub);
	CHECK(access(path, F_OK) != 0); /* no system memory segments */
	snprintf(path, sizeof path, "%s/__db.001", sub);
	CHECK(access(path, F_OK) == 0); /* the regions in files, kept after the close */
	x = NULL;
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK); /* no key made for it either */
	cv_store_close(x);
	CHECK(access(key, F_OK) != 0);
	CHECK_EQ_INT(cv_store_open_key(sub, CV_STORE_KEY_NONE, 0, &x), CV_OK);
	cv_store_close(x);
	/* a key named for it is refused, and not made */
	CHECK_EQ_INT(cv_store_open_key(sub, key, 0, &x), CV_E_STORE_KEY);
	CHECK(access(key, F_OK) != 0);
}

static void test_new_store_asked_to_encrypt_gets_a_private_key_never_overwritten(void)
{
	char sub[240], key[240], parent[160], keys[200], text[80];
	cv_store *x = NULL;
	struct stat sb;

	snprintf(parent, sizeof parent, "%s/keyed", top);
	snprintf(sub, sizeof sub, "%s/election", parent);
	snprintf(keys, sizeof keys, "%s/keys", parent);
	snprintf(key, sizeof key, "%s/store.key", keys);
	mkdir(parent, 0700);
	CHECK_EQ_INT(cv_store_open_key(sub, key, CV_STORE_CREATE, &x), CV_OK);
	cv_store_close(x);
	CHECK(stat(key, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0777) == 0600);
	CHECK(stat(keys, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700);
	read_line(key, text, sizeof text);
	CHECK_EQ_INT((int)strlen(text), CV_STORE_KEY_HEX);
	CHECK(strspn(text, "0123456789abcdef") == CV_STORE_KEY_HEX);
	CHECK_EQ_INT(cv_store_key_create(key), CV_E_EXISTS);
	/* the key is the same after the refused create, and the default: the store opens
	 * without naming it, and not without a key */
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK);
	cv_store_close(x);
	CHECK_EQ_INT(cv_store_open_key(sub, CV_STORE_KEY_NONE, 0, &x), CV_E_STORE_KEY);
}

/* The default key file existing before the store is made (a key placed there by the
 * operator) is the one a new store is encrypted under, not a new one. */
static void test_default_key_file_asks_for_encryption(void)
{
	char sub[240], key[240], parent[160];
	cv_store *x = NULL;

	snprintf(parent, sizeof parent, "%s/prekeyed", top);
	snprintf(sub, sizeof sub, "%s/election", parent);
	snprintf(key, sizeof key, "%s/keys/store.key", parent);
	mkdir(parent, 0700);
	CHECK_EQ_INT(cv_store_key_create(key), CV_OK);
	CHECK_EQ_INT(cv_store_open(sub, CV_STORE_CREATE, &x), CV_OK);
	cv_store_close(x);
	CHECK_EQ_INT(cv_store_open_key(sub, CV_STORE_KEY_NONE, 0, &x), CV_E_STORE_KEY);
	CHECK_EQ_INT(cv_store_open_key(sub, key, 0, &x), CV_OK);
	cv_store_close(x);
}

static void test_store_opens_with_its_own_key_only(void)
{
	char sub[160], key[200], other[200], aside[210];
	cv_store *x = NULL;
	int lock;

	snprintf(sub, sizeof sub, "%s/keyed/election", top);
	snprintf(key, sizeof key, "%s/keyed/keys/store.key", top);
	snprintf(other, sizeof other, "%s/keyed/other.key", top);
	snprintf(aside, sizeof aside, "%s.aside", key);
	CHECK_EQ_INT(cv_store_key_create(other), CV_OK);
	CHECK_EQ_INT(cv_store_open_key(sub, other, 0, &x), CV_E_STORE_KEY);
	CHECK_EQ_INT(cv_store_open_key(sub, CV_STORE_KEY_NONE, 0, &x), CV_E_STORE_KEY);
	CHECK(x == NULL);
	/* recovery needs the key too, and a wrong one changes nothing */
	lock = cv_store_lock_exclusive(sub);
	CHECK(lock >= 0);
	CHECK_EQ_INT(cv_store_recover(sub, other, false), CV_E_STORE_KEY);
	if (lock >= 0)
		close(lock);
	CHECK(rename(key, aside) == 0);
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_E_STORE_KEY);
	/* a missing key is never made for an existing store */
	CHECK_EQ_INT(cv_store_open(sub, CV_STORE_CREATE, &x), CV_E_STORE_KEY);
	CHECK(access(key, F_OK) != 0);
	CHECK(rename(aside, key) == 0);
	chmod(key, 0640);
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_E_STORE_KEY);
	chmod(key, 0600);
	write_file(other, "not a key\n", 0600);
	CHECK_EQ_INT(cv_store_open_key(sub, other, 0, &x), CV_E_STORE_KEY);
	CHECK_EQ_INT(cv_store_open_key(sub, key, 0, &x), CV_OK);
	cv_store_close(x);
}

typedef struct elig_ctx {
	const char *voter_id;
	uint8_t hash[CV_HASH_LEN];
} elig_ctx;

static cv_err code_hash_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	elig_ctx *c = ctx;
	uint8_t rec[ST_ELIG_LEN + CV_KEY_LEN];
	void *v = NULL;
	size_t n = 0;
	cv_err e = cv_st_get(s, ST_ELIGIBLE, txn, c->voter_id, strlen(c->voter_id), &v, &n, 0);

	if (e == CV_OK && n >= ST_ELIG_LEN && n <= sizeof rec) {
		memcpy(rec, v, n);
		memcpy(c->hash, rec + ST_SALT_LEN, CV_HASH_LEN);
	} else if (e == CV_OK) {
		e = CV_E_STORE;
	}
	free(v);
	return e;
}

/* A store made with key_file (NULL: the default, encrypted under keys/store.key beside
 * it; CV_STORE_KEY_NONE: unencrypted), with a registered voter in
 * the default election and in election "other": whether the voter id, the code, its
 * stored hash, the bound key or the store's key are in any file of the closed store,
 * its log and its regions' files included. */
static bool voter_in_clear(const char *name, const char *key_file)
{
	char sub[240], parent[160], key_path[240], passwd[CV_STORE_KEY_HEX + 8];
	cv_settings set = settings("Clear test");
	uint8_t voter[CV_KEY_LEN];
	elig_ctx hc = {"UNIT-VOTER-5150", {0}};
	cv_store *x = NULL, *el = NULL;
	bool found;

	snprintf(parent, sizeof parent, "%s/%s", top, name);
	snprintf(sub, sizeof sub, "%s/election", parent);
	snprintf(key_path, sizeof key_path, "%s/keys/store.key", parent);
	mkdir(parent, 0700);
	cv_privkey_public(mp_keys[1], voter);
	if (cv_store_open_key(sub, key_file, CV_STORE_CREATE, &x) != CV_OK)
		return true;
	if (cv_store_create_election(x, &set) != CV_OK ||
	    cv_store_add_eligible(x, "UNIT-VOTER-5150", "CODE-UNIT-5150") != CV_OK ||
	    cv_store_register(x, "UNIT-VOTER-5150", "CODE-UNIT-5150", voter) != CV_OK ||
	    cv_st_run(x, code_hash_op, &hc) != CV_OK ||
	    cv_store_add_election(x, "other", now_s()) != CV_OK ||
	    cv_store_election(x, "other", &el) != CV_OK ||
	    cv_store_create_election(el, &set) != CV_OK ||
	    cv_store_add_eligible(el, "OTHER-VOTER-5151", "CODE-OTHER-5151") != CV_OK) {
		cv_store_close(x);
		return true;
	}
	read_line(key_path, passwd, sizeof passwd);
	/* searched while the store is open (the regions exist) and again after */
	found = in_files(sub, "UNIT-VOTER-5150", 15) || in_files(sub, "OTHER-VOTER-5151", 16);
	cv_store_close(x);
	found = found || in_files(sub, "UNIT-VOTER-5150", 15) ||
	        in_files(sub, "OTHER-VOTER-5151", 16) || in_files(sub, "CODE-UNIT", 9) ||
	        in_files(sub, hc.hash, sizeof hc.hash) || in_files(sub, voter, sizeof voter);
	if (passwd[0] != '\0')
		found = found || in_files(sub, passwd, strlen(passwd));
	return found;
}

static void test_nothing_about_voters_in_the_clear_on_disk(void)
{
	CHECK(!voter_in_clear("clear-default", NULL));
	/* the same made without a key (the opt-out) is found: the search finds what is
	 * there */
	CHECK(voter_in_clear("clear-plain", CV_STORE_KEY_NONE));
}

static void test_rekey_copies_every_election_under_the_new_key(void)
{
	char sub[240], next[260], next2[260], fresh[240], fresh2[240], parent[160];
	cv_settings set = settings("Rekey test");
	uint8_t voter[CV_KEY_LEN];
	cv_store *x = NULL, *el = NULL;
	cv_info in;
	int lock;

	snprintf(parent, sizeof parent, "%s/rekey", top);
	snprintf(sub, sizeof sub, "%s/election", parent);
	snprintf(next, sizeof next, "%s.rekey", sub);
	snprintf(fresh, sizeof fresh, "%s/new.key", parent);
	mkdir(parent, 0700);
	cv_privkey_public(mp_keys[0], voter);
	/* unencrypted (the default): the first rekey encrypts it */
	CHECK_EQ_INT(cv_store_open(sub, CV_STORE_CREATE, &x), CV_OK);
	if (x == NULL)
		return;
	CHECK_EQ_INT(cv_store_create_election(x, &set), CV_OK);
	CHECK_EQ_INT(cv_store_add_eligible(x, "rekey-1", "CODE-REKEY-9"), CV_OK);
	CHECK_EQ_INT(cv_store_add_eligible(x, "rekey-2", "CODE-TWO-99"), CV_OK);
	CHECK_EQ_INT(cv_store_add_election(x, "second", now_s()), CV_OK);
	CHECK_EQ_INT(cv_store_election(x, "second", &el), CV_OK);
	if (el != NULL) {
		CHECK_EQ_INT(cv_store_create_election(el, &set), CV_OK);
		CHECK_EQ_INT(cv_store_add_eligible(el, "second-1", "CODE-SECOND-1"), CV_OK);
	}
	cv_store_close(x);
	CHECK_EQ_INT(cv_store_key_create(fresh), CV_OK);
	lock = cv_store_lock_exclusive(sub);
	CHECK(lock >= 0);
	CHECK_EQ_INT(cv_store_rekey(sub, NULL, next, CV_STORE_KEY_NONE), CV_E_STORE_KEY);
	CHECK_EQ_INT(cv_store_rekey(sub, fresh, next, fresh), CV_E_STORE_KEY); /* wrong key */
	CHECK(access(next, F_OK) != 0);
	CHECK_EQ_INT(cv_store_rekey(sub, NULL, next, fresh), CV_OK);
	CHECK_EQ_INT(cv_store_rekey(sub, NULL, next, fresh), CV_E_EXISTS);
	if (lock >= 0)
		close(lock);
	CHECK_EQ_INT(cv_store_open_key(next, NULL, 0, &x), CV_E_STORE_KEY); /* the old key */
	CHECK_EQ_INT(cv_store_open_key(next, fresh, 0, &x), CV_OK);
	if (x == NULL)
		return;
	CHECK_EQ_INT(cv_store_info(x, &in), CV_OK);
	CHECK_EQ_INT(in.n_eligible, 2);
	CHECK_STR(in.settings.election.title, "Rekey test");
	/* the code's salted hash came along: it still registers */
	CHECK_EQ_INT(cv_store_register(x, "rekey-1", "CODE-REKEY-9", voter), CV_OK);
	el = NULL;
	CHECK_EQ_INT(cv_store_election(x, "second", &el), CV_OK);
	CHECK(el != NULL && cv_store_info(el, &in) == CV_OK && in.n_eligible == 1);
	cv_store_close(x);
	/* and an encrypted store to another key */
	snprintf(next2, sizeof next2, "%s.rekey2", sub);
	snprintf(fresh2, sizeof fresh2, "%s/new2.key", parent);
	CHECK_EQ_INT(cv_store_key_create(fresh2), CV_OK);
	lock = cv_store_lock_exclusive(next);
	CHECK(lock >= 0);
	CHECK_EQ_INT(cv_store_rekey(next, fresh, next2, fresh2), CV_OK);
	if (lock >= 0)
		close(lock);
	CHECK_EQ_INT(cv_store_open_key(next2, fresh, 0, &x), CV_E_STORE_KEY);
	CHECK_EQ_INT(cv_store_open_key(next2, fresh2, 0, &x), CV_OK);
	CHECK(x != NULL && cv_store_info(x, &in) == CV_OK && in.n_eligible == 2);
	cv_store_close(x);
}

/* ---- shared memory left behind ---- */

/* How many SysV shared memory segments exist at the keys of the store in sub (its
 * regions: cv_store_shm_keys), looked up by key only, so nobody else's count. */
static int segments_of(const char *sub)
{
	long first = 0;
	int n = 0;

	if (!cv_store_shm_keys(sub, &first))
		return -1;
	for (long i = 0; i < CV_STORE_SHM_KEYS; i++)
		n += shmget((key_t)(first + i), 0, 0) >= 0 || errno != ENOENT;
	return n;
}

static void test_killed_store_released_before_delete(void)
{
	char sub[160], plain[200];
	unsigned removed = 99;
	cv_store *x = NULL, *y = NULL;
	cv_info in;
	int pid, left;

	snprintf(sub, sizeof sub, "%s/killed-all", top);
	CHECK(make_election(sub));
	CHECK_EQ_INT(segments_of(sub), 0); /* the last close removed them */
	pid = fork();
	if (pid == 0) {
		cv_vote v = make_vote(mp_genesis, mp_keys[0], 1, now_s());

		if (cv_store_open(sub, 0, &y) == CV_OK &&
		    cv_store_add_vote(y, &v, now_s(), NULL) == CV_OK)
			kill(getpid(), SIGKILL); /* an acknowledged vote, then kill -9 */
		_exit(2);
	}
	CHECK_EQ_INT(wait_status(pid), 100 + SIGKILL);
	/* every process killed: the regions outlive them, at the keys the store names */
	left = segments_of(sub);
	CHECK(left > 0);
	/* refused while a process has the store open, and nothing removed */
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK);
	CHECK_EQ_INT(cv_store_release(sub, &removed), CV_E_BUSY);
	CHECK(segments_of(sub) > 0);
	cv_store_close_keep_regions(x);
	x = NULL;
	CHECK_EQ_INT(cv_store_release(sub, &removed), CV_OK);
	CHECK(removed > 0);
	CHECK_EQ_INT(segments_of(sub), 0);
	/* the store is as it was: it opens (recovering), the acknowledged vote is there,
	 * and the last close cleans up */
	CHECK_EQ_INT(cv_store_open(sub, 0, &x), CV_OK);
	CHECK(x != NULL && cv_store_info(x, &in) == CV_OK);
	CHECK_EQ_INT(in.n_voters, MP_VOTERS);
	CHECK_EQ_INT(in.n_pending, 1);
	cv_store_close(x);
	CHECK_EQ_INT(segments_of(sub), 0);
	CHECK_EQ_INT(cv_store_release(sub, &removed), CV_OK);
	CHECK_EQ_INT(removed, 0);
	CHECK_EQ_INT(verify_files(sub), 0);
	/* an unencrypted store has nothing in system memory, and no directory no store */
	snprintf(plain, sizeof plain, "%s/plain/election", top);
	CHECK(!cv_store_shm_keys(plain, &(long){0}));
	CHECK_EQ_INT(cv_store_release(plain, &removed), CV_OK);
	snprintf(plain, sizeof plain, "%s/none", top);
	CHECK_EQ_INT(cv_store_release(plain, &removed), CV_E_NOT_FOUND);
}

/* Every encrypted store this suite made (a directory with ST_REGIONS_ID) has no
 * segment left once the suite is done with it, whatever its processes went through. */
static int left_behind;

static int count_left(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_F &&
	    strcmp(path + strlen(path) - strlen("/" ST_REGIONS_ID), "/" ST_REGIONS_ID) == 0) {
		char sub[4096];
		int n;

		snprintf(sub, sizeof sub, "%.*s", (int)(strlen(path) - strlen("/" ST_REGIONS_ID)),
		         path);
		if ((n = segments_of(sub)) > 0) {
			fprintf(stderr, "  %s: %d shared memory segments left\n", sub, n);
			left_behind += n;
		}
	}
	return 0;
}

static void test_no_store_of_the_suite_left_in_shared_memory(void)
{
	left_behind = 0;
	CHECK_EQ_INT(nftw(top, count_left, 16, FTW_PHYS), 0);
	CHECK_EQ_INT(left_behind, 0);
}

/* The stored records' decoders read exactly what the writers wrote: a txs location
 * (pending or committed) and a verdict parse back, and every shorter or longer record,
 * or another kind, is CV_E_STORE. */
static void test_record_decoders_refuse_other_lengths(void)
{
	uint8_t pending[PENDING_LEN] = {0}, committed[COMMITTED_LEN + 1] = {1};
	uint8_t vkey[VERDICT_KEY_LEN] = {0}, sig[CV_SIG_LEN];
	cv_buf rec = {0};
	cv_st_loc loc;
	cv_verdict vd;

	cv_put_u64(pending + 1, 42);
	CHECK_EQ_INT(cv_st_loc_decode(pending, sizeof pending, &loc), CV_OK);
	CHECK(!loc.committed && loc.seq == 42);
	cv_put_u64(committed + 1, 7);
	cv_put_u32(committed + 9, 3);
	CHECK_EQ_INT(cv_st_loc_decode(committed, COMMITTED_LEN, &loc), CV_OK);
	CHECK(loc.committed && loc.height == 7 && loc.index == 3);
	for (size_t n = 0; n < COMMITTED_LEN; n++)
		CHECK_EQ_INT(cv_st_loc_decode(committed, n, &loc), CV_E_STORE);
	CHECK_EQ_INT(cv_st_loc_decode(committed, COMMITTED_LEN + 1, &loc), CV_E_STORE);
	CHECK_EQ_INT(cv_st_loc_decode(pending, PENDING_LEN - 1, &loc), CV_E_STORE);
	committed[0] = 2;
	CHECK_EQ_INT(cv_st_loc_decode(committed, COMMITTED_LEN, &loc), CV_E_STORE);

	memset(sig, 0xab, sizeof sig);
	vkey[CV_HASH_LEN] = 4;
	cv_buf_u8(&rec, 0);
	cv_buf_put(&rec, sig, sizeof sig);
	cv_buf_u64(&rec, 1234);
	CHECK_EQ_INT(cv_buf_text(&rec, "a reason"), CV_OK);
	CHECK_EQ_INT(cv_st_verdict_decode(vkey, sizeof vkey, rec.data, rec.len, &vd), CV_OK);
	CHECK(!vd.approve && vd.at == 1234 && strcmp(vd.reason, "a reason") == 0 &&
	      vd.sig.validator_key[0] == 4 && memcmp(vd.sig.signature, sig, sizeof sig) == 0);
	for (size_t n = 0; n < rec.len; n++)
		CHECK_EQ_INT(cv_st_verdict_decode(vkey, sizeof vkey, rec.data, n, &vd), CV_E_STORE);
	CHECK_EQ_INT(cv_st_verdict_decode(vkey, sizeof vkey - 1, rec.data, rec.len, &vd),
	             CV_E_STORE);
	cv_buf_u8(&rec, 0);
	CHECK_EQ_INT(cv_st_verdict_decode(vkey, sizeof vkey, rec.data, rec.len, &vd), CV_E_STORE);
	cv_buf_free(&rec);
}

static const char *only;
#define RUN_IF(t)                                                                                  \
	do {                                                                                       \
		if (only == NULL || strstr(#t, only) != NULL)                                      \
			RUN(t);                                                                    \
	} while (0)

int main(int argc, char **argv)
{
	snprintf(top, sizeof top, "/tmp/cv-test-store-XXXXXX");
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	only = argc > 1 ? argv[1] : NULL;
	snprintf(dir, sizeof dir, "%s/election", top);
	load_keys();
	for (int i = 0; i < MP_VOTERS; i++)
		cv_privkey_generate(&mp_keys[i]);

	RUN(test_record_decoders_refuse_other_lengths);
	RUN(test_key_default_is_beside_the_directory);
	RUN(test_new_store_is_encrypted_unless_told_none);
	RUN(test_new_store_asked_to_encrypt_gets_a_private_key_never_overwritten);
	RUN(test_default_key_file_asks_for_encryption);
	RUN(test_store_opens_with_its_own_key_only);
	RUN(test_nothing_about_voters_in_the_clear_on_disk);
	RUN(test_rekey_copies_every_election_under_the_new_key);
	RUN(test_create_then_second_create_refused);
	if (st == NULL) {
		fprintf(stderr, "store did not open\n");
		return CHECK_DONE("test_store");
	}
	RUN(test_settings_threshold_below_two_refused);
	RUN(test_candidates_and_validators_stored);
	RUN(test_roll_key_added_once);
	RUN(test_batch_import_all_or_nothing);
	RUN(test_eligible_duplicate_id_refused);
	RUN(test_register_wrong_or_unknown_refused);
	RUN(test_register_binds_key_and_spends_code);
	RUN(test_cluster_conf_strict_and_single_store_has_no_group);
	RUN(test_vote_before_open_refused);
	RUN(test_open_seals_valid_genesis);
	RUN(test_setup_changes_refused_after_open);
	RUN(test_vote_admitted_as_pending);
	RUN(test_second_vote_of_voter_refused);
	RUN(test_hostile_votes_refused);
	RUN(test_deadlock_fault_retried_and_applied_once);
	RUN(test_work_template_takes_oldest_votes);
	RUN(test_mined_proposal_accepted);
	RUN(test_bad_proposals_refused_with_rule);
	RUN(test_rival_proposal_at_same_height_accepted);
	RUN(test_approval_by_non_validator_refused);
	RUN(test_first_approval_recorded_not_committed);
	RUN(test_duplicate_approval_refused);
	RUN(test_equivocation_refused_and_kept_as_evidence);
	RUN(test_rejection_recorded_with_reason);
	RUN(test_threshold_commits_and_discards_rival);
	RUN(test_late_approvals_refused);
	RUN(test_tally_counts_committed_votes);
	RUN(test_committed_vote_has_valid_inclusion_path);
	RUN(test_export_passes_verifier);
	RUN(test_direct_vote_evicts_voters_pool_vote_then_close);
	RUN(test_proposals_bounded_per_height);
	RUN(test_merge_keeps_known_and_adds_new);
	RUN(test_code_normal_form_and_strength);
	RUN(test_recovery_reissue_revoke_and_the_seal);
	RUN(test_generated_code_is_strong_whatever_its_symbols);
	RUN(test_scripted_store_files_verify);

	RUN(test_close_admits_only_pending_votes_then_the_seal);
	RUN(test_change_signed_offered_committed_in_force);
	RUN(test_close_by_clock_and_close_after_a_vote_stamped_ahead);

	RUN(test_two_elections_side_by_side_independent);
	RUN(test_elections_survive_reopen_and_recovery);
	RUN(test_archive_only_draft_or_sealed_then_read_only);

	RUN_IF(test_racing_votes_of_one_voter_one_accepted);
	RUN_IF(test_concurrent_voters_all_land);
	RUN_IF(test_writer_killed_mid_transaction_leaves_store_usable);
	RUN_IF(test_acknowledged_vote_survives_crash);
	RUN_IF(test_batch_with_double_votes_answers_each_and_is_durable);
	RUN_IF(test_batch_after_close_refused_whole);
	RUN_IF(test_batch_refuses_votes_checked_on_older_parameters);

	RUN_IF(test_killed_store_released_before_delete);
	RUN(test_no_store_of_the_suite_left_in_shared_memory);

	cv_block_free(&block_a);
	cv_block_free(&block_b);
	for (int i = 0; i < N_VALIDATORS; i++)
		cv_privkey_free(validator_keys[i]);
	for (int i = 0; i < N_VOTERS; i++)
		cv_privkey_free(voter_keys[i]);
	for (int i = 0; i < MP_VOTERS; i++)
		cv_privkey_free(mp_keys[i]);
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return CHECK_DONE("test_store");
}
