/* Helpers for `make bench` (tools/dev/bench.sh): the machine's ceilings measured with the
 * same library the system uses (mining core, signature checks, durable Berkeley DB
 * commits), and the inputs the load runs need (voter keys, pre-signed votes, a signed
 * approval, a long chain export). Not part of the system; every figure goes to stdout. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <db.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "chain.h"
#include "crypto.h"
#include "json.h"
#include "pow.h"
#include "secret.h"

#define MAX_THREADS 64
#define KEY_REC     (CV_SCALAR_LEN + CV_KEY_LEN) /* a keys file record: d || public key */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long arg_ul(const char *s, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "bench_ceil: bad number %s\n", s);
		exit(2);
	}
	return v;
}

/* Runs fn on n threads, each with its index; returns when all have finished. */
static void run_threads(unsigned n, void *(*fn)(void *), void *args, size_t arg_size)
{
	pthread_t t[MAX_THREADS];

	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, fn, (char *)args + i * arg_size) != 0) {
			fprintf(stderr, "bench_ceil: cannot start a thread\n");
			exit(1);
		}
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

/* ---- timed loops ---- */

typedef struct timed {
	unsigned index, n_threads;
	double seconds;
	uint64_t done;
	DB_ENV *env;
	DB *db;
} timed;

static volatile int stop_flag;

/* The mining core exactly as the miner drives it: disjoint nonce sets by stride, a
 * difficulty no hash meets, so every try is counted. */
static void *pow_thread(void *arg)
{
	timed *t = arg;
	cv_header h = {.version = 1, .height = 7, .timestamp = 1700000000, .difficulty = 256};
	uint8_t hash[CV_HASH_LEN];
	double end = now_s() + t->seconds;

	memset(h.prev_hash, 0x5a, sizeof h.prev_hash);
	memset(h.merkle_root, 0xa5, sizeof h.merkle_root);
	h.nonce = t->index;
	while (now_s() < end) {
		uint64_t tries = 0;
		uint64_t stride = t->n_threads;

		cv_mine(&h, h.nonce + (1u << 20) * stride, stride, NULL, hash, &tries);
		h.nonce += tries * stride;
		t->done += tries;
	}
	return NULL;
}

/* cv_verify on one key and signature, as the vote program pays per vote. */
static void *verify_thread(void *arg)
{
	timed *t = arg;
	cv_privkey *k = NULL;
	uint8_t key[CV_KEY_LEN], sig[CV_SIG_LEN], msg[CV_PAYLOAD_LEN];
	double end;

	memset(msg, 0x42, sizeof msg);
	if (cv_privkey_generate(&k) != CV_OK || cv_sign(k, msg, sizeof msg, sig) != CV_OK)
		exit(1);
	cv_privkey_public(k, key);
	end = now_s() + t->seconds;
	while (now_s() < end) {
		for (int i = 0; i < 64; i++)
			if (cv_verify(key, msg, sizeof msg, sig) != CV_OK)
				exit(1);
		t->done += 64;
	}
	cv_privkey_free(k);
	return NULL;
}

/* One durable transaction per put, each thread its own keys: what the store can commit
 * per second at best on this disk (group commit happens when commits overlap). */
static void *commit_thread(void *arg)
{
	timed *t = arg;
	double end = now_s() + t->seconds;
	uint8_t kbuf[12], vbuf[200];
	uint64_t i = 0;

	memset(vbuf, 0x17, sizeof vbuf);
	while (now_s() < end) {
		DB_TXN *txn = NULL;
		DBT k = {0}, v = {0};

		cv_put_u32(kbuf, t->index);
		cv_put_u64(kbuf + 4, i++);
		k.data = kbuf;
		k.size = sizeof kbuf;
		v.data = vbuf;
		v.size = sizeof vbuf;
		if (t->env->txn_begin(t->env, NULL, &txn, 0) != 0)
			exit(1);
		if (t->db->put(t->db, txn, &k, &v, 0) != 0) {
			txn->abort(txn);
			continue;
		}
		if (txn->commit(txn, 0) != 0)
			exit(1);
		t->done++;
	}
	return NULL;
}

static int timed_run(const char *what, unsigned n, double seconds, void *(*fn)(void *), DB_ENV *env,
                     DB *db)
{
	timed t[MAX_THREADS];
	uint64_t total = 0;
	double start = now_s(), took;

	memset(t, 0, sizeof t);
	for (unsigned i = 0; i < n; i++) {
		t[i].index = i;
		t[i].n_threads = n;
		t[i].seconds = seconds;
		t[i].env = env;
		t[i].db = db;
	}
	run_threads(n, fn, t, sizeof t[0]);
	took = now_s() - start;
	for (unsigned i = 0; i < n; i++)
		total += t[i].done;
	printf("{\"what\":\"%s\",\"threads\":%u,\"count\":%" PRIu64
	       ",\"seconds\":%.3f,\"per_s\":%.1f}\n",
	       what, n, total, took, (double)total / took);
	return 0;
}

static int cmd_dbcommit(unsigned n, double seconds, const char *dir)
{
	DB_ENV *env = NULL;
	DB *db = NULL;
	int rc;

	if ((rc = db_env_create(&env, 0)) != 0 || (rc = env->set_lg_bsize(env, 1024 * 1024)) != 0 ||
	    (rc = env->set_cachesize(env, 0, 32 * 1024 * 1024, 1)) != 0 ||
	    (rc = env->open(env, dir,
	                    DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL |
	                        DB_THREAD | DB_RECOVER,
	                    0600)) != 0 ||
	    (rc = db_create(&db, env, 0)) != 0 ||
	    (rc = db->open(db, NULL, "bench.db", NULL, DB_BTREE,
	                   DB_CREATE | DB_AUTO_COMMIT | DB_THREAD, 0600)) != 0) {
		fprintf(stderr, "bench_ceil: db: %s\n", db_strerror(rc));
		return 1;
	}
	timed_run("db_commit", n, seconds, commit_thread, env, db);
	db->close(db, 0);
	env->close(env, 0);
	return 0;
}

/* ---- inputs ---- */

typedef struct keygen_job {
	uint8_t *recs;
	size_t n;
	atomic_size_t next;
} keygen_job;

/* Keys straight from d*G: the roll only needs valid points, and this skips building
 * a signing object per voter. */
static void *keygen_thread(void *arg)
{
	keygen_job *j = arg;
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *p = g ? EC_POINT_new(g) : NULL;
	BIGNUM *d = BN_new(), *order = BN_new();
	BN_CTX *bc = BN_CTX_new();
	size_t i;

	if (p == NULL || d == NULL || order == NULL || bc == NULL ||
	    EC_GROUP_get_order(g, order, bc) != 1)
		exit(1);
	while ((i = atomic_fetch_add(&j->next, 1)) < j->n) {
		uint8_t *rec = j->recs + i * KEY_REC;

		do {
			if (BN_rand_range(d, order) != 1)
				exit(1);
		} while (BN_is_zero(d));
		if (BN_bn2binpad(d, rec, CV_SCALAR_LEN) != CV_SCALAR_LEN ||
		    EC_POINT_mul(g, p, d, NULL, NULL, bc) != 1 ||
		    EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, rec + CV_SCALAR_LEN,
		                       CV_KEY_LEN, bc) != CV_KEY_LEN)
			exit(1);
	}
	BN_CTX_free(bc);
	BN_free(order);
	BN_clear_free(d);
	EC_POINT_free(p);
	EC_GROUP_free(g);
	return NULL;
}

static uint8_t *make_keys(size_t n, unsigned threads)
{
	keygen_job j = {calloc(n ? n : 1, KEY_REC), n, 0};

	if (j.recs == NULL)
		exit(1);
	/* argument stride 0: every thread shares the one job */
	run_threads(threads, keygen_thread, &j, 0);
	return j.recs;
}

/* keys N KEYS CSV: N fresh key pairs into KEYS (binary d||pub records) and the public
 * keys, one hex line each, into CSV (the `chainvote voters` input). */
static int cmd_keys(size_t n, const char *keys_path, const char *csv_path, unsigned threads)
{
	uint8_t *recs = make_keys(n, threads);
	FILE *kf = fopen(keys_path, "wb"), *cf = fopen(csv_path, "w");
	char hex[2 * CV_KEY_LEN + 1];

	if (kf == NULL || cf == NULL || fwrite(recs, KEY_REC, n, kf) != n)
		return 1;
	for (size_t i = 0; i < n; i++) {
		cv_hex_encode(recs + i * KEY_REC + CV_SCALAR_LEN, CV_KEY_LEN, hex);
		fprintf(cf, "%s\n", hex);
	}
	free(recs);
	return fclose(kf) != 0 || fclose(cf) != 0;
}

static uint8_t *read_keys(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *recs;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET))
		exit(1);
	*n = (size_t)len / KEY_REC;
	recs = malloc((size_t)len + 1);
	if (recs == NULL || fread(recs, KEY_REC, *n, f) != *n)
		exit(1);
	fclose(f);
	return recs;
}

typedef struct sign_job {
	const uint8_t *recs;
	cv_vote *votes;
	size_t n;
	uint32_t n_candidates;
	uint64_t timestamp;
	uint8_t election_id[CV_HASH_LEN];
	atomic_size_t next;
} sign_job;

static void *sign_thread(void *arg)
{
	sign_job *j = arg;
	size_t i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->n) {
		cv_vote *v = &j->votes[i];
		cv_privkey *k = NULL;

		memcpy(v->election_id, j->election_id, CV_HASH_LEN);
		memcpy(v->voter_key, j->recs + i * KEY_REC + CV_SCALAR_LEN, CV_KEY_LEN);
		v->candidate_id = 1 + (uint32_t)(i % j->n_candidates);
		v->timestamp = j->timestamp;
		if (cv_privkey_from_scalar(j->recs + i * KEY_REC, &k) != CV_OK ||
		    cv_vote_sign(v, k) != CV_OK)
			exit(1);
		cv_privkey_free(k);
	}
	return NULL;
}

static cv_vote *sign_votes(const uint8_t *recs, size_t n, const uint8_t election_id[CV_HASH_LEN],
                           uint32_t n_candidates, uint64_t timestamp, unsigned threads)
{
	sign_job j = {.recs = recs, .n = n, .n_candidates = n_candidates, .timestamp = timestamp};

	j.votes = calloc(n ? n : 1, sizeof *j.votes);
	if (j.votes == NULL)
		exit(1);
	memcpy(j.election_id, election_id, CV_HASH_LEN);
	atomic_init(&j.next, 0);
	run_threads(threads, sign_thread, &j, 0);
	return j.votes;
}

/* votes KEYS ELECTION_ID N_CANDIDATES FIRST COUNT OUT: vote JSON bodies, one per line,
 * for keys FIRST..FIRST+COUNT-1, timestamped now. */
static int cmd_votes(const char *keys_path, const char *eid_hex, uint32_t n_candidates,
                     size_t first, size_t count, const char *out, unsigned threads)
{
	size_t n;
	uint8_t *recs = read_keys(keys_path, &n), eid[CV_HASH_LEN];
	cv_vote *votes;
	FILE *f;

	if (cv_hex_decode(eid_hex, eid, CV_HASH_LEN) != CV_OK || first + count > n) {
		fprintf(stderr, "bench_ceil: bad election id or too few keys\n");
		return 2;
	}
	votes = sign_votes(recs + first * KEY_REC, count, eid, n_candidates, (uint64_t)time(NULL),
	                   threads);
	f = fopen(out, "w");
	if (f == NULL)
		return 1;
	for (size_t i = 0; i < count; i++) {
		json_object *o = cv_vote_to_json(&votes[i], false);

		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	free(votes);
	free(recs);
	return fclose(f) != 0;
}

/* approval KEYFILE HASH: the approval JSON a validator posts for block HASH. */
static int cmd_approval(const char *keyfile, const char *hash_hex)
{
	char buf[4096];
	FILE *f = fopen(keyfile, "r");
	size_t len;
	cv_privkey *k = NULL;
	uint8_t hash[CV_HASH_LEN], msg[CV_APPROVAL_MSG_LEN];
	cv_approval a;
	json_object *o;

	if (f == NULL)
		return 1;
	len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	if (cv_keyfile_parse(buf, len, &k) != CV_OK || cv_hex_decode(hash_hex, hash, CV_HASH_LEN))
		return 1;
	cv_approval_message(hash, msg);
	cv_privkey_public(k, a.validator_key);
	if (cv_sign(k, msg, sizeof msg, a.signature) != CV_OK)
		return 1;
	o = cv_approval_to_json(&a);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	cv_privkey_free(k);
	return 0;
}

/* The bench elections' genesis: three candidates, three validators (vrecs, their private
 * keys into vk in genesis order) of which two approve, the voters of recs, blocks of
 * per_block. NULL when out of memory. */
static cv_genesis *bench_genesis(const uint8_t *recs, size_t n_voters, const uint8_t *vrecs,
                                 size_t per_block, uint32_t difficulty, cv_privkey *vk[3])
{
	cv_genesis *g = calloc(1, sizeof *g);

	if (g == NULL)
		return NULL;
	snprintf(g->election.title, sizeof g->election.title, "Benchmark election");
	g->election.threshold = 2;
	g->election.difficulty = (uint8_t)difficulty;
	g->election.max_block_votes = (uint32_t)per_block;
	g->n_candidates = 3;
	g->candidates = calloc(3, sizeof *g->candidates);
	g->n_validators = 3;
	g->validators = calloc(3, sizeof *g->validators);
	g->n_voters = n_voters;
	g->voters = malloc(n_voters * CV_KEY_LEN);
	if (g->candidates == NULL || g->validators == NULL || g->voters == NULL)
		goto fail;
	for (uint32_t i = 0; i < 3; i++) {
		g->candidates[i].id = i + 1;
		snprintf(g->candidates[i].name, sizeof g->candidates[i].name, "Candidate %u",
		         i + 1);
		memcpy(g->validators[i].key, vrecs + i * KEY_REC + CV_SCALAR_LEN, CV_KEY_LEN);
		snprintf(g->validators[i].name, sizeof g->validators[i].name, "Validator %u",
		         i + 1);
	}
	for (size_t i = 0; i < n_voters; i++)
		memcpy(g->voters[i], recs + i * KEY_REC + CV_SCALAR_LEN, CV_KEY_LEN);
	if (cv_genesis_normalise(g) != CV_OK)
		goto fail;
	/* the validators' private keys in genesis (key) order */
	for (size_t j = 0; j < 3; j++)
		for (size_t i = 0; i < 3; i++)
			if (memcmp(g->validators[j].key, vrecs + i * KEY_REC + CV_SCALAR_LEN,
			           CV_KEY_LEN) == 0 &&
			    cv_privkey_from_scalar(vrecs + i * KEY_REC, &vk[j]) != CV_OK)
				goto fail;
	return g;
fail:
	cv_genesis_free(g);
	free(g);
	return NULL;
}

/* Block b of c after its leaves are in: header on block b−1, mined, approved by the first
 * two validators. */
static int finish_block(cv_chain *c, size_t b, uint64_t timestamp, uint32_t difficulty,
                        cv_privkey *const vk[3])
{
	cv_block *blk = &c->blocks[b], *prev = &c->blocks[b - 1];
	uint8_t msg[CV_APPROVAL_MSG_LEN];

	blk->header.version = CV_VERSION;
	blk->header.height = b;
	memcpy(blk->header.prev_hash, prev->hash, CV_HASH_LEN);
	blk->header.timestamp = timestamp;
	blk->header.difficulty = difficulty;
	if (cv_block_merkle_root(blk, blk->header.merkle_root) != CV_OK ||
	    !cv_mine(&blk->header, CV_NONCE_LIMIT, 1, NULL, blk->hash, NULL))
		return 1;
	blk->n_approvals = 2;
	blk->approvals = calloc(2, sizeof *blk->approvals);
	if (blk->approvals == NULL)
		return 1;
	cv_approval_message(blk->hash, msg);
	for (int i = 0; i < 2; i++) {
		cv_privkey_public(vk[i], blk->approvals[i].validator_key);
		if (cv_sign(vk[i], msg, sizeof msg, blk->approvals[i].signature) != CV_OK)
			return 1;
	}
	return 0;
}

/* The export written block by block: the tree of a million-vote export would take
 * gigabytes. */
static int write_chain(const cv_chain *c, const char *out)
{
	FILE *f = fopen(out, "w");
	json_object *o;

	if (f == NULL)
		return 1;
	fputs("{\"format\":\"chainvote-chain/1\",\"blocks\":[", f);
	for (size_t b = 0; b < c->n_blocks; b++) {
		if ((o = cv_block_to_json(&c->blocks[b])) == NULL) {
			fclose(f);
			return 1;
		}
		if (b > 0)
			fputc(',', f);
		fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), f);
		json_object_put(o);
	}
	fputs("]}", f);
	return fclose(f) != 0;
}

/* chain N_VOTES PER_BLOCK DIFFICULTY OUT: a valid chain export of N_VOTES votes by
 * N_VOTES voters in blocks of PER_BLOCK, approved by 2 of 3 validators. */
static int cmd_chain(size_t n_votes, size_t per_block, uint32_t difficulty, const char *out,
                     unsigned threads)
{
	uint8_t *recs = make_keys(n_votes, threads), *vrecs = make_keys(3, 1);
	cv_privkey *vk[3] = {NULL, NULL, NULL};
	cv_genesis *g = bench_genesis(recs, n_votes, vrecs, per_block, difficulty, vk);
	cv_chain c = {0};
	cv_vote *votes;
	uint64_t ts = 1700000000;
	size_t n_blocks = (n_votes + per_block - 1) / per_block;
	int rc;

	if (g == NULL)
		return 1;
	c.n_blocks = 1 + n_blocks;
	c.blocks = calloc(c.n_blocks, sizeof *c.blocks);
	if (c.blocks == NULL)
		return 1;
	c.blocks[0].genesis = g;
	if (cv_genesis_header(g, ts, &c.blocks[0].header) != CV_OK)
		return 1;
	cv_header_hash(&c.blocks[0].header, c.blocks[0].hash);
	votes = sign_votes(recs, n_votes, c.blocks[0].hash, 3, ts + 10, threads);
	for (size_t b = 1; b <= n_blocks; b++) {
		cv_block *blk = &c.blocks[b];
		size_t first = (b - 1) * per_block,
		       n = n_votes - first < per_block ? n_votes - first : per_block;

		blk->n_votes = n;
		blk->votes = malloc(n * sizeof *blk->votes);
		if (blk->votes == NULL)
			return 1;
		memcpy(blk->votes, votes + first, n * sizeof *votes);
		if (finish_block(&c, b, ts + 20 + b, difficulty, vk) != 0)
			return 1;
	}
	rc = write_chain(&c, out);
	for (int i = 0; i < 3; i++)
		cv_privkey_free(vk[i]);
	free(votes);
	free(recs);
	free(vrecs);
	cv_chain_free(&c);
	return rc;
}

typedef struct ballot_job {
	const uint8_t *recs;
	cv_ballot *ballots;
	size_t n;
	uint64_t timestamp;
	uint8_t election_id[CV_HASH_LEN];
	uint8_t K[CV_POINT_LEN];
	atomic_size_t next;
} ballot_job;

/* Ballots of 3 candidates, voter i choosing position i mod 3, made and signed as
 * `chainvote vote` makes them (cv_ballot_make: fresh randomness, the proofs). */
static void *ballot_thread(void *arg)
{
	ballot_job *j = arg;
	size_t i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->n) {
		cv_ballot *bl = &j->ballots[i];
		cv_privkey *k = NULL;

		memcpy(bl->election_id, j->election_id, CV_HASH_LEN);
		memcpy(bl->voter_key, j->recs + i * KEY_REC + CV_SCALAR_LEN, CV_KEY_LEN);
		bl->timestamp = j->timestamp;
		if (cv_ballot_make(bl, j->K, 3, i % 3, NULL) != CV_OK ||
		    cv_privkey_from_scalar(j->recs + i * KEY_REC, &k) != CV_OK ||
		    cv_ballot_sign(bl, k) != CV_OK)
			exit(1);
		cv_privkey_free(k);
	}
	return NULL;
}

static cv_ballot *make_ballots(const uint8_t *recs, size_t n,
                               const uint8_t election_id[CV_HASH_LEN],
                               const uint8_t K[CV_POINT_LEN], uint64_t timestamp, unsigned threads)
{
	ballot_job j = {.recs = recs, .n = n, .timestamp = timestamp};

	if ((j.ballots = calloc(n ? n : 1, sizeof *j.ballots)) == NULL)
		exit(1);
	memcpy(j.election_id, election_id, CV_HASH_LEN);
	memcpy(j.K, K, CV_POINT_LEN);
	atomic_init(&j.next, 0);
	run_threads(threads, ballot_thread, &j, 0);
	return j.ballots;
}

/* The genesis's secrecy: the three validators are the trustees (quorum 2), each with a
 * random polynomial of degree 1 (coefficients into coeffs[j][0..1]). */
static int bench_secrecy(cv_genesis *g, cv_privkey *const vk[3],
                         uint8_t coeffs[3][2][CV_SCALAR_LEN])
{
	uint8_t setup[CV_HASH_LEN];
	uint8_t *crecs = make_keys(6, 1); /* six scalars in [1, n) */

	if ((g->secrecy = calloc(1, sizeof *g->secrecy)) == NULL ||
	    (g->secrecy->trustees = calloc(3, sizeof *g->secrecy->trustees)) == NULL ||
	    cv_setup_hash(g, setup) != CV_OK)
		return 1;
	g->secrecy->quorum = 2;
	g->secrecy->n_trustees = 3;
	for (size_t j = 0; j < 3; j++) {
		memcpy(coeffs[j][0], crecs + (2 * j) * KEY_REC, CV_SCALAR_LEN);
		memcpy(coeffs[j][1], crecs + (2 * j + 1) * KEY_REC, CV_SCALAR_LEN);
		if (cv_trustee_make(setup, vk[j], (const uint8_t(*)[CV_SCALAR_LEN])coeffs[j], 2,
		                    NULL, &g->secrecy->trustees[j]) != CV_OK)
			return 1;
	}
	free(crecs);
	return 0;
}

/* secretchain N_BALLOTS PER_BLOCK DIFFICULTY OUT: a valid secret election's export
 * (DESIGN section 6): N_BALLOTS ballots in blocks of PER_BLOCK, the seal, and the
 * decryption shares of trustees 1 and 2, so that an audit checks every proof and
 * decrypts the tally (N_BALLOTS / 3 or so each). */
static int cmd_secretchain(size_t n_ballots, size_t per_block, uint32_t difficulty, const char *out,
                           unsigned threads)
{
	uint8_t *recs = make_keys(n_ballots, threads), *vrecs = make_keys(3, 1);
	uint8_t coeffs[3][2][CV_SCALAR_LEN], K[CV_POINT_LEN];
	/* the aggregates start at O (CV_POINT_O: zero bytes) */
	uint8_t alpha[3][CV_POINT_LEN] = {{0}}, beta[3][CV_POINT_LEN] = {{0}};
	cv_privkey *vk[3] = {NULL, NULL, NULL};
	cv_genesis *g = bench_genesis(recs, n_ballots, vrecs, per_block, difficulty, vk);
	cv_chain c = {0};
	cv_ballot *ballots;
	uint64_t ts = 1700000000;
	size_t n_blocks = (n_ballots + per_block - 1) / per_block, seal_h = n_blocks + 1;
	int rc;

	if (g == NULL || bench_secrecy(g, vk, coeffs) != 0 ||
	    cv_election_key(g->secrecy, K) != CV_OK)
		return 1;
	c.n_blocks = n_blocks + 3; /* the ballots, the seal, the shares */
	if ((c.blocks = calloc(c.n_blocks, sizeof *c.blocks)) == NULL)
		return 1;
	c.blocks[0].genesis = g;
	if (cv_genesis_header(g, ts, &c.blocks[0].header) != CV_OK)
		return 1;
	cv_header_hash(&c.blocks[0].header, c.blocks[0].hash);
	ballots = make_ballots(recs, n_ballots, c.blocks[0].hash, K, ts + 10, threads);
	for (size_t i = 0; i < n_ballots; i++)
		if (cv_aggregate_add(&ballots[i], alpha, beta) != CV_OK)
			return 1;
	for (size_t b = 1; b <= n_blocks; b++) {
		cv_block *blk = &c.blocks[b];
		size_t first = (b - 1) * per_block,
		       n = n_ballots - first < per_block ? n_ballots - first : per_block;

		blk->secret = true;
		blk->n_ballots = n;
		/* the ballots' arrays move into the block */
		if ((blk->ballots = malloc(n * sizeof *blk->ballots)) == NULL)
			return 1;
		memcpy(blk->ballots, ballots + first, n * sizeof *ballots);
		if (finish_block(&c, b, ts + 20 + b, difficulty, vk) != 0)
			return 1;
	}
	c.blocks[seal_h].secret = true;
	c.blocks[seal_h].has_seal = true;
	memcpy(c.blocks[seal_h].seal.election_id, c.blocks[0].hash, CV_HASH_LEN);
	c.blocks[seal_h].seal.closed_at = ts + 20 + seal_h;
	if (finish_block(&c, seal_h, ts + 20 + seal_h, difficulty, vk) != 0)
		return 1;
	/* trustees 1 and 2 decrypt: s_j = Σ_l P_l(j), their shares of every α_i */
	cv_block *sh = &c.blocks[seal_h + 1];

	sh->secret = true;
	sh->n_decryptions = 2;
	if ((sh->decryptions = calloc(2, sizeof *sh->decryptions)) == NULL)
		return 1;
	for (size_t j = 0; j < 2; j++) {
		uint8_t values[3][CV_SCALAR_LEN], s[CV_SCALAR_LEN];
		cv_decryption *d = &sh->decryptions[j];

		for (size_t l = 0; l < 3; l++)
			if (cv_poly_eval((const uint8_t(*)[CV_SCALAR_LEN])coeffs[l], 2, j + 1,
			                 values[l]) != CV_OK)
				return 1;
		memcpy(d->election_id, c.blocks[0].hash, CV_HASH_LEN);
		memcpy(d->validator_key, g->validators[j].key, CV_KEY_LEN);
		d->through_height = seal_h - 1;
		if (cv_poly_eval((const uint8_t(*)[CV_SCALAR_LEN])values, 3, 1, s) != CV_OK ||
		    cv_decryption_make(d, s, (const uint8_t(*)[CV_POINT_LEN])alpha, 3, NULL) !=
		        CV_OK ||
		    cv_decryption_sign(d, vk[j]) != CV_OK)
			return 1;
	}
	if (finish_block(&c, seal_h + 1, ts + 30 + seal_h, difficulty, vk) != 0)
		return 1;
	rc = write_chain(&c, out);
	for (int i = 0; i < 3; i++)
		cv_privkey_free(vk[i]);
	free(ballots); /* their arrays are the blocks' */
	free(recs);
	free(vrecs);
	cv_chain_free(&c);
	return rc;
}

/* ballots KEYS GENESIS_BLOCK FIRST COUNT OUT: ballot JSON bodies for POST /api/votes, one
 * per line, for keys FIRST..FIRST+COUNT-1 (choices in turn), timestamped now, encrypted
 * under the K of GENESIS_BLOCK (GET /api/blocks/0 of a secret election). */
static int cmd_ballots(const char *keys_path, const char *genesis_path, size_t first, size_t count,
                       const char *out, unsigned threads)
{
	size_t n, len;
	uint8_t *recs = read_keys(keys_path, &n), K[CV_POINT_LEN];
	FILE *f = fopen(genesis_path, "r");
	char *text = malloc(64 << 20);
	json_object *o = NULL;
	cv_block b;
	cv_ballot *ballots;
	cv_err rc;

	memset(&b, 0, sizeof b);
	if (f == NULL || text == NULL) {
		free(text);
		return 1;
	}
	len = fread(text, 1, (64 << 20) - 1, f);
	fclose(f);
	rc = cv_json_parse(text, len, &o);
	free(text);
	if (rc != CV_OK || cv_block_from_json(o, &b) != CV_OK || b.genesis == NULL ||
	    b.genesis->secrecy == NULL || cv_election_key(b.genesis->secrecy, K) != CV_OK ||
	    first + count > n) {
		fprintf(stderr, "bench_ceil: not a secret election's genesis, or too few keys\n");
		return 2;
	}
	ballots =
	    make_ballots(recs + first * KEY_REC, count, b.hash, K, (uint64_t)time(NULL), threads);
	if ((f = fopen(out, "w")) == NULL)
		return 1;
	for (size_t i = 0; i < count; i++) {
		json_object *bo = cv_ballot_to_json(&ballots[i], false);

		fprintf(f, "%s\n", json_object_to_json_string_ext(bo, JSON_C_TO_STRING_PLAIN));
		json_object_put(bo);
		cv_ballot_free(&ballots[i]);
	}
	free(ballots);
	free(recs);
	json_object_put(o);
	cv_block_free(&b);
	return fclose(f) != 0;
}

/* tally N: the tally's decryption (cv_tally_decrypt) of 3 counts summing to N, as a
 * verifier or the service decrypts them: random α_i, trustees 1 and 2 of a degree-1
 * polynomial P with shares D_{j,i} = P(j)·α_i, β_i = m_i·G + P(0)·α_i. Prints the counts
 * found and the seconds cv_tally_decrypt took (CPU of one thread). */
static int cmd_tally(uint64_t n)
{
	uint8_t *crecs = make_keys(5, 1), alpha[3][CV_POINT_LEN], beta[3][CV_POINT_LEN];
	uint8_t s[2][CV_SCALAR_LEN], coeffs[2][CV_SCALAR_LEN];
	uint64_t m[3] = {n - 2 * (n / 3), n / 3, n / 3}, xs[2] = {1, 2}, counts[3] = {0};
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *P = g ? EC_POINT_new(g) : NULL, *Q = g ? EC_POINT_new(g) : NULL;
	BIGNUM *a0 = BN_bin2bn(crecs, CV_SCALAR_LEN, NULL), *mb = BN_new();
	BN_CTX *bc = BN_CTX_new();
	cv_decryption d[2];
	const cv_share *D[2];
	struct timespec t0, t1;

	memset(d, 0, sizeof d);
	if (P == NULL || Q == NULL || a0 == NULL || mb == NULL || bc == NULL)
		return 1;
	memcpy(coeffs[0], crecs, CV_SCALAR_LEN);
	memcpy(coeffs[1], crecs + KEY_REC, CV_SCALAR_LEN);
	for (size_t i = 0; i < 3; i++) {
		/* α_i = r·G for a random r; β_i = m_i·G + a_0·α_i */
		if (cv_point_base_mul(crecs + (2 + i) * KEY_REC, alpha[i]) != CV_OK ||
		    !EC_POINT_oct2point(g, P, alpha[i], CV_POINT_LEN, bc) ||
		    !BN_set_word(mb, m[i]) || !EC_POINT_mul(g, Q, mb, P, a0, bc) ||
		    EC_POINT_point2oct(g, Q, POINT_CONVERSION_UNCOMPRESSED, beta[i], CV_POINT_LEN,
		                       bc) != CV_POINT_LEN)
			return 1;
	}
	for (size_t j = 0; j < 2; j++) {
		if (cv_poly_eval((const uint8_t(*)[CV_SCALAR_LEN])coeffs, 2, xs[j], s[j]) !=
		        CV_OK ||
		    cv_decryption_make(&d[j], s[j], (const uint8_t(*)[CV_POINT_LEN])alpha, 3,
		                       NULL) != CV_OK)
			return 1;
		D[j] = d[j].shares;
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	if (cv_tally_decrypt(xs, D, 2, (const uint8_t(*)[CV_POINT_LEN])beta, 3, n, counts) != CV_OK)
		return 1;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	printf("{\"what\":\"tally\",\"ballots\":%" PRIu64 ",\"counts\":[%" PRIu64 ",%" PRIu64
	       ",%" PRIu64 "],\"right\":%s,\"seconds\":%.4f}\n",
	       n, counts[0], counts[1], counts[2],
	       counts[0] == m[0] && counts[1] == m[1] && counts[2] == m[2] ? "true" : "false",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	cv_decryption_free(&d[0]);
	cv_decryption_free(&d[1]);
	EC_POINT_free(P);
	EC_POINT_free(Q);
	EC_GROUP_free(g);
	BN_free(a0);
	BN_free(mb);
	BN_CTX_free(bc);
	free(crecs);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_ceil pow THREADS SECONDS\n"
	                "       bench_ceil verify THREADS SECONDS\n"
	                "       bench_ceil dbcommit THREADS SECONDS DIR\n"
	                "       bench_ceil keys N KEYS CSV\n"
	                "       bench_ceil votes KEYS ELECTION_ID N_CANDIDATES FIRST COUNT OUT\n"
	                "       bench_ceil approval KEYFILE BLOCK_HASH\n"
	                "       bench_ceil chain N_VOTES PER_BLOCK DIFFICULTY OUT\n"
	                "       bench_ceil secretchain N_BALLOTS PER_BLOCK DIFFICULTY OUT\n"
	                "       bench_ceil tally N_BALLOTS\n"
	                "       bench_ceil ballots KEYS GENESIS_BLOCK FIRST COUNT OUT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = cpus > 0 && cpus <= MAX_THREADS ? (unsigned)cpus : 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "pow") == 0 && argc == 4)
		return timed_run("pow", (unsigned)arg_ul(argv[2], 1, MAX_THREADS),
		                 (double)arg_ul(argv[3], 1, 600), pow_thread, NULL, NULL);
	if (strcmp(argv[1], "verify") == 0 && argc == 4)
		return timed_run("verify", (unsigned)arg_ul(argv[2], 1, MAX_THREADS),
		                 (double)arg_ul(argv[3], 1, 600), verify_thread, NULL, NULL);
	if (strcmp(argv[1], "dbcommit") == 0 && argc == 5)
		return cmd_dbcommit((unsigned)arg_ul(argv[2], 1, MAX_THREADS),
		                    (double)arg_ul(argv[3], 1, 600), argv[4]);
	if (strcmp(argv[1], "keys") == 0 && argc == 5)
		return cmd_keys(arg_ul(argv[2], 1, 100000000), argv[3], argv[4], threads);
	if (strcmp(argv[1], "votes") == 0 && argc == 8)
		return cmd_votes(argv[2], argv[3], (uint32_t)arg_ul(argv[4], 1, 1000000),
		                 arg_ul(argv[5], 0, 100000000), arg_ul(argv[6], 1, 100000000),
		                 argv[7], threads);
	if (strcmp(argv[1], "approval") == 0 && argc == 4)
		return cmd_approval(argv[2], argv[3]);
	if (strcmp(argv[1], "chain") == 0 && argc == 6)
		return cmd_chain(arg_ul(argv[2], 1, 10000000), arg_ul(argv[3], 1, 1000000),
		                 (uint32_t)arg_ul(argv[4], 0, 32), argv[5], threads);
	if (strcmp(argv[1], "ballots") == 0 && argc == 7)
		return cmd_ballots(argv[2], argv[3], arg_ul(argv[4], 0, 100000000),
		                   arg_ul(argv[5], 1, 100000000), argv[6], threads);
	if (strcmp(argv[1], "tally") == 0 && argc == 3)
		return cmd_tally(arg_ul(argv[2], 3, 100000000));
	if (strcmp(argv[1], "secretchain") == 0 && argc == 6)
		return cmd_secretchain(arg_ul(argv[2], 1, 10000000), arg_ul(argv[3], 1, 1000000),
		                       (uint32_t)arg_ul(argv[4], 0, 32), argv[5], threads);
	usage();
	return 2;
}
