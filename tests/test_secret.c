/* Secret ballots against the independent vectors (vectors/secret/components.json): every
 * intermediate value of DESIGN section 6 reproduced byte for byte from the given
 * randomness, and the hostile cases beside them (points off the curve, scalars not
 * reduced, forged proofs). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chain.h"
#include "check.h"
#include "json.h"
#include "merkle.h"
#include "rules.h"
#include "secret.h"

static json_object *comp, *keys, *chain_json;
static cv_chain chain;

static json_object *load_json(const char *name)
{
	const char *dir = getenv("VECTORS");
	char path[4096];
	json_object *o;

	snprintf(path, sizeof path, "%s/secret/%s", dir && *dir ? dir : "../shared/vectors", name);
	if ((o = json_object_from_file(path)) == NULL) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	return o;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v)) {
		fprintf(stderr, "vectors: missing \"%s\"\n", key);
		exit(2);
	}
	return v;
}

static const char *str(json_object *o, const char *key)
{
	return json_object_get_string(get(o, key));
}

static json_object *idx(json_object *arr, size_t i)
{
	return json_object_array_get_idx(arr, i);
}

static void unhex(const char *h, uint8_t *out, size_t n)
{
	if (cv_hex_decode(h, out, n) != CV_OK) {
		fprintf(stderr, "vectors: bad hex %.20s\n", h);
		exit(2);
	}
}

static const char *hex(const uint8_t *p, size_t n)
{
	static char bufs[4][4096];
	static int at;
	char *b = bufs[at++ % 4];

	if (n > 2047)
		n = 2047;
	cv_hex_encode(p, n, b);
	return b;
}

static const cv_genesis *genesis(void)
{
	return chain.blocks[0].genesis;
}

static void test_points_and_hs(void)
{
	json_object *pts = get(comp, "points"), *hs = get(comp, "hs_example");
	uint8_t s[CV_SCALAR_LEN] = {0}, p[CV_POINT_LEN], q[2][CV_POINT_LEN], out[CV_SCALAR_LEN];
	uint8_t parts[2];

	s[31] = 1;
	CHECK(cv_point_base_mul(s, p) == CV_OK);
	CHECK_STR(hex(p, CV_POINT_LEN), str(pts, "G"));
	s[31] = 2;
	CHECK(cv_point_base_mul(s, q[1]) == CV_OK);
	CHECK_STR(hex(q[1], CV_POINT_LEN), str(pts, "2G"));
	s[31] = 3;
	CHECK(cv_point_base_mul(s, p) == CV_OK);
	CHECK_STR(hex(p, CV_POINT_LEN), str(pts, "3G"));
	memcpy(q[0], p, CV_POINT_LEN);
	s[31] = 1;
	CHECK(cv_point_base_mul(s, q[0]) == CV_OK);
	CHECK(cv_point_sum((const uint8_t(*)[CV_POINT_LEN])q, 2, p) == CV_OK);
	CHECK_STR(hex(p, CV_POINT_LEN), str(pts, "G+2G"));
	unhex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550", s, 32);
	CHECK(cv_point_base_mul(s, p) == CV_OK);
	CHECK_STR(hex(p, CV_POINT_LEN), str(pts, "(n-1)G"));
	unhex("00c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0", s, 32);
	CHECK(cv_point_base_mul(s, p) == CV_OK);
	CHECK_STR(
	    hex(p, CV_POINT_LEN),
	    str(pts, "kG_k=0xc0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0"));
	parts[0] = 0x00;
	parts[1] = 0xff;
	cv_hs(str(hs, "tag"), parts, 2, out);
	CHECK_STR(hex(out, CV_SCALAR_LEN), str(hs, "value"));
}

/* The encodings' every check: 04 only, on the curve, never O; scalars below n. */
static void test_point_and_scalar_checks(void)
{
	json_object *pts = get(comp, "points");
	uint8_t p[CV_POINT_LEN], s[CV_SCALAR_LEN];

	unhex(str(pts, "G"), p, CV_POINT_LEN);
	CHECK(cv_point_check(p) == CV_OK);
	p[64] ^= 1; /* off the curve */
	CHECK(cv_point_check(p) == CV_E_BAD_KEY);
	p[64] ^= 1;
	p[0] = 0x06; /* hybrid form: OpenSSL would take it */
	CHECK(cv_point_check(p) == CV_E_BAD_KEY);
	p[0] = 0x04;
	memset(p + 1, 0xff, 32); /* X >= p */
	CHECK(cv_point_check(p) == CV_E_BAD_KEY);
	CHECK(cv_point_check(CV_POINT_O) == CV_E_BAD_KEY);
	unhex(str(get(comp, "curve"), "n"), s, CV_SCALAR_LEN);
	CHECK(!cv_scalar_ok(s));
	s[31]--;
	CHECK(cv_scalar_ok(s));
	CHECK(cv_point_base_mul(s, p) == CV_OK); /* (n-1)G */
	memset(s, 0, sizeof s);
	CHECK(cv_scalar_ok(s));
	CHECK(cv_point_base_mul(s, p) == CV_E_BAD_KEY); /* 0·G = O has no encoding */
}

static cv_privkey *privkey_of(json_object *map, const uint8_t key[CV_KEY_LEN])
{
	uint8_t d[CV_SCALAR_LEN];
	cv_privkey *k = NULL;

	unhex(str(map, hex(key, CV_KEY_LEN)), d, CV_SCALAR_LEN);
	if (cv_privkey_from_scalar(d, &k) != CV_OK)
		exit(2);
	return k;
}

static void test_genesis_entries(void)
{
	const cv_genesis *g = genesis();
	json_object *entries = get(comp, "genesis_entries_hex");
	uint8_t setup[CV_HASH_LEN], hash[CV_HASH_LEN];
	cv_buf b = {0};
	size_t at = 0;

	CHECK(g != NULL && g->secrecy != NULL);
	if (g == NULL || g->secrecy == NULL)
		return;
	CHECK(cv_setup_hash(g, setup) == CV_OK);
	CHECK_STR(hex(setup, CV_HASH_LEN), str(comp, "setup_hash"));
	CHECK(cv_election_entry(&g->election, &b) == CV_OK);
	CHECK_STR(hex(b.data, b.len), json_object_get_string(idx(entries, at++)));
	for (size_t i = 0; i < g->n_candidates; i++, cv_buf_reset(&b)) {
		cv_buf_reset(&b);
		CHECK(cv_candidate_entry(&g->candidates[i], &b) == CV_OK);
		CHECK_STR(hex(b.data, b.len), json_object_get_string(idx(entries, at++)));
	}
	for (size_t i = 0; i < g->n_validators; i++) {
		cv_buf_reset(&b);
		CHECK(cv_validator_entry(&g->validators[i], &b) == CV_OK);
		CHECK_STR(hex(b.data, b.len), json_object_get_string(idx(entries, at++)));
	}
	cv_buf_reset(&b);
	CHECK(cv_secrecy_entry(g->secrecy, &b) == CV_OK);
	CHECK_STR(hex(b.data, b.len), str(comp, "secrecy_entry_hex"));
	CHECK_STR(hex(b.data, b.len), json_object_get_string(idx(entries, at++)));
	for (size_t j = 0; j < g->secrecy->n_trustees; j++) {
		cv_buf_reset(&b);
		CHECK(cv_trustee_entry(&g->secrecy->trustees[j], true, &b) == CV_OK);
		CHECK_STR(hex(b.data, b.len),
		          json_object_get_string(idx(get(comp, "trustee_entries_hex"), j)));
		CHECK_STR(hex(b.data, b.len), json_object_get_string(idx(entries, at++)));
		CHECK(cv_trustee_verify(&g->secrecy->trustees[j]) == CV_OK);
	}
	for (size_t i = 0; i < g->n_voters; i++) {
		cv_buf_reset(&b);
		CHECK(cv_voter_entry(g->voters[i], &b) == CV_OK);
		CHECK_STR(hex(b.data, b.len), json_object_get_string(idx(entries, at++)));
	}
	CHECK_EQ_INT(at, json_object_array_length(entries));
	cv_buf_free(&b);
	cv_header_hash(&chain.blocks[0].header, hash);
	CHECK_STR(hex(hash, CV_HASH_LEN), str(comp, "genesis_hash"));
	CHECK(cv_check_genesis(&chain.blocks[0]) == CV_OK);
}

static void test_block_headers(void)
{
	json_object *hdrs = get(comp, "block_headers_hex");
	uint8_t enc[CV_HEADER_LEN], root[CV_HASH_LEN];

	CHECK_EQ_INT(json_object_array_length(hdrs), chain.n_blocks);
	for (size_t i = 0; i < chain.n_blocks; i++) {
		cv_header_encode(&chain.blocks[i].header, enc);
		CHECK_STR(hex(enc, CV_HEADER_LEN), json_object_get_string(idx(hdrs, i)));
		if (i > 0) {
			CHECK(cv_block_merkle_root(&chain.blocks[i], root) == CV_OK);
			CHECK(memcmp(root, chain.blocks[i].header.merkle_root, CV_HASH_LEN) == 0);
		}
	}
}

/* The key ceremony: commitments, proofs from the given nonces, private shares, s_j, K_j
 * and K. */
static void test_trustees(void)
{
	const cv_genesis *g = genesis();
	json_object *dkg = get(comp, "dkg"), *polys = get(keys, "trustee_polynomials");
	uint8_t coeffs[3][2][CV_SCALAR_LEN], out[CV_POINT_LEN], s[CV_SCALAR_LEN];
	uint8_t setup[CV_HASH_LEN];
	char xs[4];

	unhex(str(comp, "setup_hash"), setup, CV_HASH_LEN);
	for (size_t j = 0; j < 3; j++) {
		json_object *t = idx(dkg, j), *proofs = get(t, "proofs"), *poly;
		uint8_t vk[CV_KEY_LEN], nonces[2][CV_SCALAR_LEN];
		cv_trustee tr = {0};
		cv_privkey *k;
		cv_buf b = {0}, want = {0};

		snprintf(xs, sizeof xs, "%zu", j + 1);
		poly = get(polys, xs);
		for (size_t i = 0; i < 2; i++) {
			unhex(json_object_get_string(idx(poly, i)), coeffs[j][i], CV_SCALAR_LEN);
			unhex(str(idx(proofs, i), "u"), nonces[i], CV_SCALAR_LEN);
		}
		unhex(str(t, "validator_key"), vk, CV_KEY_LEN);
		k = privkey_of(get(keys, "validators"), vk);
		CHECK(cv_trustee_make(setup, k, (const uint8_t(*)[CV_SCALAR_LEN])coeffs[j], 2,
		                      (const uint8_t(*)[CV_SCALAR_LEN])nonces, &tr) == CV_OK);
		for (size_t i = 0; i < 2; i++) {
			CHECK_STR(hex(tr.commitments[i], CV_POINT_LEN), str(idx(proofs, i), "C"));
			CHECK_STR(hex(tr.proof_c[i], CV_SCALAR_LEN), str(idx(proofs, i), "c"));
			CHECK_STR(hex(tr.proof_v[i], CV_SCALAR_LEN), str(idx(proofs, i), "v"));
			CHECK(cv_point_base_mul(nonces[i], out) == CV_OK);
			CHECK_STR(hex(out, CV_POINT_LEN), str(idx(proofs, i), "h"));
		}
		/* the entry's signed bytes are the vector's; the signature (RFC 6979 there,
		 * random here) verifies */
		CHECK(cv_trustee_entry(&tr, false, &b) == CV_OK);
		CHECK(cv_trustee_entry(&g->secrecy->trustees[j], false, &want) == CV_OK);
		CHECK(b.len == want.len && memcmp(b.data, want.data, b.len) == 0);
		CHECK(cv_trustee_verify(&tr) == CV_OK);
		/* a proof that does not verify, and a signature over other bytes */
		tr.proof_v[1][5] ^= 1;
		CHECK(cv_trustee_verify(&tr) == CV_E_TRUSTEE_PROOF);
		tr.proof_v[1][5] ^= 1;
		tr.signature[10] ^= 1;
		CHECK(cv_trustee_verify(&tr) == CV_E_TRUSTEE_SIGNATURE);
		cv_buf_free(&b);
		cv_buf_free(&want);
		cv_trustee_free(&tr);
		cv_privkey_free(k);
	}
	/* private shares P_l(x_j), and s_j = Σ_l P_l(x_j) */
	json_object *ps = get(comp, "private_shares");
	for (size_t i = 0; i < json_object_array_length(ps); i++) {
		json_object *e = idx(ps, i);
		size_t from = (size_t)json_object_get_int(get(e, "from_x"));
		uint64_t to = (uint64_t)json_object_get_int(get(e, "to_x"));

		CHECK(cv_poly_eval((const uint8_t(*)[CV_SCALAR_LEN])coeffs[from - 1], 2, to, s) ==
		      CV_OK);
		CHECK_STR(hex(s, CV_SCALAR_LEN), str(e, "P_i(x)"));
	}
	json_object *tk = get(comp, "trustee_keys");
	for (size_t j = 0; j < 3; j++) {
		json_object *e = idx(tk, j);

		CHECK(cv_trustee_key(g->secrecy, j + 1, out) == CV_OK);
		CHECK_STR(hex(out, CV_POINT_LEN), str(e, "K_j"));
		unhex(str(e, "s"), s, CV_SCALAR_LEN);
		CHECK(cv_point_base_mul(s, out) == CV_OK);
		CHECK_STR(hex(out, CV_POINT_LEN), str(e, "s_times_G"));
	}
	CHECK(cv_election_key(g->secrecy, out) == CV_OK);
	CHECK_STR(hex(out, CV_POINT_LEN), str(comp, "election_key_K"));
}

/* Ballot 0 of block 1 from its randomness, byte for byte, then refused when altered. */
static void test_ballot0(void)
{
	json_object *b0 = get(comp, "ballot0"), *cts = get(b0, "ciphertexts"),
	            *sp = get(b0, "sum_proof");
	uint8_t r[3][32], w[3][32], sc[3][32], sv[3][32], sw[32], K[CV_POINT_LEN], txid[32];
	cv_ballot_rand rnd = {(const uint8_t(*)[32])r, (const uint8_t(*)[32])w,
	                      (const uint8_t(*)[32])sc, (const uint8_t(*)[32])sv, sw};
	cv_ballot bl = {0};
	cv_buf payload = {0}, leaf = {0};
	size_t choice = 0, pos;
	const cv_ballot *in_chain = &chain.blocks[1].ballots[0];

	unhex(str(comp, "election_key_K"), K, CV_POINT_LEN);
	for (size_t i = 0; i < 3; i++) {
		json_object *c = idx(cts, i);

		unhex(str(c, "r"), r[i], 32);
		unhex(str(c, "w"), w[i], 32);
		unhex(str(c, "simulated_c"), sc[i], 32);
		unhex(str(c, "simulated_v"), sv[i], 32);
		if (json_object_get_int(get(c, "m")) == 1)
			choice = i;
	}
	unhex(str(sp, "w"), sw, 32);
	unhex(str(b0, "election_id"), bl.election_id, CV_HASH_LEN);
	unhex(str(b0, "voter_key"), bl.voter_key, CV_KEY_LEN);
	bl.timestamp = (uint64_t)json_object_get_int64(get(b0, "timestamp"));
	CHECK(cv_ballot_make(&bl, K, 3, choice, &rnd) == CV_OK);
	for (size_t i = 0; i < 3; i++) {
		json_object *c = idx(cts, i);

		CHECK_STR(hex(bl.cts[i].a, CV_POINT_LEN), str(c, "A"));
		CHECK_STR(hex(bl.cts[i].b, CV_POINT_LEN), str(c, "B"));
		CHECK_STR(hex(bl.proofs[i].c0, 32), str(c, "c0"));
		CHECK_STR(hex(bl.proofs[i].v0, 32), str(c, "v0"));
		CHECK_STR(hex(bl.proofs[i].c1, 32), str(c, "c1"));
		CHECK_STR(hex(bl.proofs[i].v1, 32), str(c, "v1"));
	}
	CHECK_STR(hex(bl.sum_c, 32), str(sp, "c"));
	CHECK_STR(hex(bl.sum_v, 32), str(sp, "v"));
	CHECK(cv_ballot_payload(&bl, &payload) == CV_OK);
	CHECK_STR(hex(payload.data, payload.len), str(b0, "payload"));
	CHECK(cv_ballot_txid(&bl, txid) == CV_OK);
	CHECK_STR(hex(txid, 32), str(b0, "txid"));
	unhex(str(b0, "signature"), bl.signature, CV_SIG_LEN);
	CHECK(cv_ballot_leaf(&bl, &leaf) == CV_OK);
	CHECK_STR(hex(leaf.data, leaf.len), str(b0, "leaf"));
	CHECK(cv_ballot_verify(&bl, K, 3, &pos) == CV_OK);
	CHECK(cv_ballot_verify(in_chain, K, 3, &pos) == CV_OK);

	/* the hostile cases, one altered value each */
	CHECK(cv_ballot_verify(&bl, K, 4, &pos) == CV_E_BALLOT_COUNT);
	bl.cts[1].a[64] ^= 1;
	CHECK(cv_ballot_verify(&bl, K, 3, &pos) == CV_E_BALLOT_POINT);
	CHECK_EQ_INT(pos, 1);
	bl.cts[1].a[64] ^= 1;
	memset(bl.proofs[2].v1, 0xff, 32);
	CHECK(cv_ballot_verify(&bl, K, 3, &pos) == CV_E_BALLOT_SCALAR);
	unhex(str(idx(cts, 2), "v1"), bl.proofs[2].v1, 32);
	bl.proofs[2].v0[31] ^= 1;
	CHECK(cv_ballot_verify(&bl, K, 3, &pos) == CV_E_BALLOT_PROOF);
	CHECK_EQ_INT(pos, 2);
	bl.proofs[2].v0[31] ^= 1;
	bl.sum_v[0] ^= 1;
	CHECK(cv_ballot_verify(&bl, K, 3, &pos) == CV_E_BALLOT_SUM_PROOF);
	bl.sum_v[0] ^= 1;
	bl.signature[3] ^= 1;
	CHECK(cv_ballot_verify(&bl, K, 3, &pos) == CV_E_BAD_SIGNATURE);
	cv_ballot_free(&bl);
	cv_buf_free(&payload);
	cv_buf_free(&leaf);
}

/* Fresh randomness: a ballot for each choice verifies, and two ballots differ. */
static void test_ballot_fresh(void)
{
	uint8_t K[CV_POINT_LEN], d[32];
	cv_ballot a = {0}, b = {0};
	cv_privkey *voter = NULL;

	unhex(str(comp, "election_key_K"), K, CV_POINT_LEN);
	CHECK(cv_privkey_generate(&voter) == CV_OK);
	cv_privkey_public(voter, a.voter_key);
	memcpy(b.voter_key, a.voter_key, CV_KEY_LEN);
	for (size_t choice = 0; choice < 3; choice++) {
		CHECK(cv_ballot_make(&a, K, 3, choice, NULL) == CV_OK);
		CHECK(cv_ballot_sign(&a, voter) == CV_OK);
		CHECK(cv_ballot_verify(&a, K, 3, NULL) == CV_OK);
	}
	CHECK(cv_ballot_make(&b, K, 3, 2, NULL) == CV_OK);
	CHECK(memcmp(a.cts[0].a, b.cts[0].a, CV_POINT_LEN) != 0);
	CHECK(cv_ballot_make(&b, K, 3, 3, NULL) == CV_E_BALLOT_COUNT);
	(void)d;
	cv_ballot_free(&a);
	cv_ballot_free(&b);
	cv_privkey_free(voter);
}

/* More election keys than a process keeps tables for (8): the keys past them take the
 * plain multiplications, and ballots under every key are made, verified and, altered,
 * refused alike; a ballot never verifies under another key. */
static void test_ballot_many_keys(void)
{
	uint8_t K[10][CV_POINT_LEN];
	cv_privkey *voter = NULL;
	cv_ballot bl = {0};
	size_t pos;

	CHECK(cv_privkey_generate(&voter) == CV_OK);
	cv_privkey_public(voter, bl.voter_key);
	for (size_t j = 0; j < 10; j++) {
		uint8_t s[32];

		CHECK(cv_random(s, sizeof s) == CV_OK);
		s[0] = 0x7f; /* below n */
		CHECK(cv_point_base_mul(s, K[j]) == CV_OK);
		CHECK(cv_ballot_make(&bl, K[j], 3, j % 3, NULL) == CV_OK);
		CHECK(cv_ballot_sign(&bl, voter) == CV_OK);
		CHECK(cv_ballot_verify(&bl, K[j], 3, &pos) == CV_OK);
		if (j > 0)
			CHECK(cv_ballot_verify(&bl, K[j - 1], 3, &pos) == CV_E_BALLOT_PROOF);
		bl.proofs[1].v1[31] ^= 1;
		CHECK(cv_ballot_verify(&bl, K[j], 3, &pos) == CV_E_BALLOT_PROOF);
		CHECK_EQ_INT(pos, 1);
		bl.proofs[1].v1[31] ^= 1;
		bl.sum_v[31] ^= 1;
		CHECK(cv_ballot_verify(&bl, K[j], 3, &pos) == CV_E_BALLOT_SUM_PROOF);
	}
	cv_ballot_free(&bl);
	cv_privkey_free(voter);
}

/* The Benaloh opening of ballot 0 with its vector randomness names its choice; a wrong
 * m, a wrong r or a claim of two choices is refused. Without a signature the proofs
 * still verify with cv_ballot_verify_proofs, not with cv_ballot_verify. */
static void test_ballot_open(void)
{
	json_object *cts = get(get(comp, "ballot0"), "ciphertexts");
	const cv_ballot *in_chain = &chain.blocks[1].ballots[0];
	uint8_t r[3][32], m[3], K[CV_POINT_LEN], other[32];
	cv_ballot_opening op = {(const uint8_t(*)[32])r, m};
	cv_ballot unsigned_bl;
	size_t choice, pos, want = SIZE_MAX;

	unhex(str(comp, "election_key_K"), K, CV_POINT_LEN);
	for (size_t i = 0; i < 3; i++) {
		unhex(str(idx(cts, i), "r"), r[i], 32);
		m[i] = (uint8_t)json_object_get_int(get(idx(cts, i), "m"));
		if (m[i] == 1)
			want = i;
	}
	CHECK(cv_ballot_open(in_chain, K, &op, &choice, &pos) == CV_OK);
	CHECK_EQ_INT(choice, want);
	m[want] = 0;
	m[(want + 1) % 3] = 1;
	CHECK(cv_ballot_open(in_chain, K, &op, &choice, &pos) == CV_E_BALLOT_PROOF);
	CHECK_EQ_INT(choice, SIZE_MAX);
	m[want] = 1;
	CHECK(cv_ballot_open(in_chain, K, &op, &choice, &pos) == CV_E_BALLOT_PROOF);
	m[(want + 1) % 3] = 0;
	memcpy(other, r[2], 32);
	memcpy(r[2], r[1], 32);
	CHECK(cv_ballot_open(in_chain, K, &op, &choice, &pos) == CV_E_BALLOT_PROOF);
	CHECK_EQ_INT(pos, 2);
	memset(r[2], 0, 32);
	CHECK(cv_ballot_open(in_chain, K, &op, &choice, &pos) == CV_E_BALLOT_SCALAR);
	memcpy(r[2], other, 32);
	m[0] = 2;
	CHECK(cv_ballot_open(in_chain, K, &op, &choice, &pos) == CV_E_MALFORMED);

	unsigned_bl = *in_chain;
	memset(unsigned_bl.signature, 0, CV_SIG_LEN);
	CHECK(cv_ballot_verify_proofs(&unsigned_bl, K, 3, &pos) == CV_OK);
	CHECK(cv_ballot_verify(&unsigned_bl, K, 3, &pos) != CV_OK);
	CHECK(cv_ballot_verify_proofs(&unsigned_bl, K, 4, &pos) == CV_E_BALLOT_COUNT);
}

static void aggregates(uint8_t alpha[3][CV_POINT_LEN], uint8_t beta[3][CV_POINT_LEN])
{
	for (size_t i = 0; i < 3; i++) {
		memcpy(alpha[i], CV_POINT_O, CV_POINT_LEN);
		memcpy(beta[i], CV_POINT_O, CV_POINT_LEN);
	}
	for (size_t h = 1; h <= 2; h++)
		for (size_t j = 0; j < chain.blocks[h].n_ballots; j++)
			CHECK(cv_aggregate_add(&chain.blocks[h].ballots[j], alpha, beta) == CV_OK);
}

static void test_decryption(void)
{
	json_object *d0 = get(comp, "decryption0"), *sh = get(d0, "shares"),
	            *agg = get(comp, "aggregates");
	uint8_t alpha[3][CV_POINT_LEN], beta[3][CV_POINT_LEN], w[3][32], s[32], Kj[CV_POINT_LEN];
	cv_decryption d = {0};
	cv_buf payload = {0}, leaf = {0};

	aggregates(alpha, beta);
	for (size_t i = 0; i < 3; i++) {
		CHECK_STR(hex(alpha[i], CV_POINT_LEN),
		          json_object_get_string(idx(get(agg, "alpha"), i)));
		CHECK_STR(hex(beta[i], CV_POINT_LEN),
		          json_object_get_string(idx(get(agg, "beta"), i)));
		unhex(str(idx(sh, i), "w"), w[i], 32);
	}
	unhex(str(get(keys, "trustee_shares"), "1"), s, 32);
	unhex(str(d0, "K_j"), Kj, CV_POINT_LEN);
	unhex(str(d0, "validator_key"), d.validator_key, CV_KEY_LEN);
	memcpy(d.election_id, chain.blocks[0].hash, CV_HASH_LEN);
	d.through_height = (uint64_t)json_object_get_int64(get(d0, "through_height"));
	CHECK(cv_decryption_make(&d, s, (const uint8_t(*)[CV_POINT_LEN])alpha, 3,
	                         (const uint8_t(*)[32])w) == CV_OK);
	for (size_t i = 0; i < 3; i++) {
		CHECK_STR(hex(d.shares[i].d, CV_POINT_LEN), str(idx(sh, i), "D"));
		CHECK_STR(hex(d.shares[i].c, 32), str(idx(sh, i), "c"));
		CHECK_STR(hex(d.shares[i].v, 32), str(idx(sh, i), "v"));
	}
	CHECK(cv_decryption_payload(&d, &payload) == CV_OK);
	CHECK_STR(hex(payload.data, payload.len), str(d0, "payload"));
	unhex(str(d0, "signature"), d.signature, CV_SIG_LEN);
	CHECK(cv_decryption_leaf(&d, &leaf) == CV_OK);
	CHECK_STR(hex(leaf.data, leaf.len), str(d0, "leaf"));
	CHECK(cv_decryption_verify(&d, Kj, (const uint8_t(*)[CV_POINT_LEN])alpha, 3, NULL) ==
	      CV_OK);
	/* another trustee's key, a share of another α, a forged response */
	unhex(str(idx(get(comp, "trustee_keys"), 1), "K_j"), Kj, CV_POINT_LEN);
	CHECK(cv_decryption_verify(&d, Kj, (const uint8_t(*)[CV_POINT_LEN])alpha, 3, NULL) ==
	      CV_E_DECRYPTION_PROOF);
	unhex(str(d0, "K_j"), Kj, CV_POINT_LEN);
	d.shares[1].v[7] ^= 1;
	CHECK(cv_decryption_verify(&d, Kj, (const uint8_t(*)[CV_POINT_LEN])alpha, 3, NULL) ==
	      CV_E_DECRYPTION_PROOF);
	d.shares[1].v[7] ^= 1;
	CHECK(cv_decryption_verify(&d, Kj, (const uint8_t(*)[CV_POINT_LEN])alpha, 2, NULL) ==
	      CV_E_BALLOT_COUNT);
	/* every trustee's D_i = s_j·α_i, trustee 2's too */
	for (size_t j = 0; j < 3; j++) {
		char xs[4];

		snprintf(xs, sizeof xs, "%zu", j + 1);
		unhex(str(get(keys, "trustee_shares"), xs), s, 32);
		CHECK(cv_decryption_make(&d, s, (const uint8_t(*)[CV_POINT_LEN])alpha, 3, NULL) ==
		      CV_OK);
		for (size_t i = 0; i < 3; i++)
			CHECK_STR(hex(d.shares[i].d, CV_POINT_LEN),
			          json_object_get_string(
			              idx(get(get(comp, "all_trustee_shares_D"), xs), i)));
	}
	cv_decryption_free(&d);
	cv_buf_free(&payload);
	cv_buf_free(&leaf);
}

/* Every subset of trustees: its λ_j, and the counts 4, 1, 2. */
static void test_tally(void)
{
	json_object *combos = get(comp, "combinations"), *all = get(comp, "all_trustee_shares_D");
	uint8_t alpha[3][CV_POINT_LEN], beta[3][CV_POINT_LEN], lam[32];
	cv_share shares[3][3];

	aggregates(alpha, beta);
	for (size_t j = 0; j < 3; j++) {
		char xs[4];

		snprintf(xs, sizeof xs, "%zu", j + 1);
		for (size_t i = 0; i < 3; i++)
			unhex(json_object_get_string(idx(get(all, xs), i)), shares[j][i].d,
			      CV_POINT_LEN);
	}
	CHECK_EQ_INT(json_object_array_length(combos), 4);
	for (size_t c = 0; c < json_object_array_length(combos); c++) {
		json_object *e = idx(combos, c), *sub = get(e, "subset_x");
		size_t q = json_object_array_length(sub);
		uint64_t xs[3], counts[3] = {0};
		const cv_share *D[3];

		for (size_t j = 0; j < q; j++) {
			xs[j] = (uint64_t)json_object_get_int(idx(sub, j));
			D[j] = shares[xs[j] - 1];
		}
		for (size_t j = 0; j < q; j++) {
			char key[4];

			snprintf(key, sizeof key, "%llu", (unsigned long long)xs[j]);
			CHECK(cv_lagrange(xs, q, j, lam) == CV_OK);
			CHECK_STR(hex(lam, 32), str(get(e, "lambda"), key));
		}
		CHECK(cv_tally_decrypt(xs, D, q, (const uint8_t(*)[CV_POINT_LEN])beta, 3, 7,
		                       counts) == CV_OK);
		for (size_t i = 0; i < 3; i++)
			CHECK_EQ_INT(counts[i], json_object_get_int(idx(get(e, "m"), i)));
		/* a bound below the count: no count found */
		CHECK(cv_tally_decrypt(xs, D, q, (const uint8_t(*)[CV_POINT_LEN])beta, 3, 3,
		                       counts) == CV_E_TALLY);
	}
}

/* Counts up to a million, the bounds of the baby-step giant-step walk among them: with
 * every D_{j,i} = G and trustees 1 and 2 (λ = 2, −1), β_i = (m_i + 1)·G. */
static void test_tally_large(void)
{
	static const uint64_t want[] = {0, 1, 1000, 1001, 1002, 2002, 999999, 1000000};
	enum { K = sizeof(want) / sizeof(want[0]) };
	uint8_t beta[K][CV_POINT_LEN], one[32] = {0};
	uint64_t xs[2] = {1, 2}, counts[K];
	cv_share dj[K];
	const cv_share *D[2] = {dj, dj};

	one[31] = 1;
	for (size_t i = 0; i < K; i++) {
		uint8_t m[32] = {0};

		for (size_t b = 0; b < 8; b++)
			m[31 - b] = (uint8_t)((want[i] + 1) >> (8 * b));
		CHECK(cv_point_base_mul(m, beta[i]) == CV_OK);
		CHECK(cv_point_base_mul(one, dj[i].d) == CV_OK);
	}
	CHECK(cv_tally_decrypt(xs, D, 2, (const uint8_t(*)[CV_POINT_LEN])beta, K, 1000000,
	                       counts) == CV_OK);
	for (size_t i = 0; i < K; i++)
		CHECK_EQ_INT(counts[i], want[i]);
	/* a million is one more than the bound allows */
	CHECK(cv_tally_decrypt(xs, D, 2, (const uint8_t(*)[CV_POINT_LEN])beta, K, 999999, counts) ==
	      CV_E_TALLY);
	CHECK(cv_tally_decrypt(xs, D, 2, (const uint8_t(*)[CV_POINT_LEN])beta, K - 1, 999999,
	                       counts) == CV_OK);
	CHECK_EQ_INT(counts[K - 2], 999999);
}

static void test_seal(void)
{
	json_object *s = get(comp, "seal");
	const cv_block *b = &chain.blocks[json_object_get_int(get(s, "height"))];
	uint8_t leaf[CV_SEAL_LEN], root[CV_HASH_LEN], enc[CV_HEADER_LEN];

	CHECK(b->has_seal);
	cv_seal_leaf(&b->seal, leaf);
	CHECK_STR(hex(leaf, CV_SEAL_LEN), str(s, "leaf"));
	CHECK(cv_block_merkle_root(b, root) == CV_OK);
	CHECK_STR(hex(root, CV_HASH_LEN), str(s, "merkle_root"));
	cv_header_encode(&b->header, enc);
	CHECK_STR(hex(enc, CV_HEADER_LEN), str(s, "header"));
}

/* The JSON both ways: the export read and written back gives the same chain. */
static void test_json_round_trip(void)
{
	json_object *out = cv_chain_to_json(&chain);
	const char *text = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN);
	json_object *again = NULL;
	cv_chain c2 = {0};
	size_t problems;

	CHECK(cv_json_parse(text, strlen(text), &again) == CV_OK);
	CHECK(cv_chain_from_json(again, &c2) == CV_OK);
	CHECK_EQ_INT(c2.n_blocks, chain.n_blocks);
	problems = cv_verify_chain(&c2, NULL, NULL, NULL);
	CHECK_EQ_INT(problems, 0);
	/* an unknown key in a ballot is refused, as everywhere */
	json_object *blk = idx(get(again, "blocks"), 1), *ballot = idx(get(blk, "votes"), 0);
	cv_chain c3 = {0};

	json_object_object_add(ballot, "extra", json_object_new_int(1));
	CHECK(cv_chain_from_json(again, &c3) == CV_E_MALFORMED);
	cv_chain_free(&c2);
	json_object_put(again);
	json_object_put(out);
}

/* cv_ballot_from_leaf and cv_decryption_from_leaf give back every leaf of the vector
 * chain byte for byte, and refuse every truncation, a trailing byte, and a k that claims
 * more items than the leaf holds. */
static void test_leaf_round_trip(void)
{
	size_t n_ballots = 0, n_shares = 0;

	for (size_t h = 1; h < chain.n_blocks; h++) {
		const cv_block *b = &chain.blocks[h];

		for (size_t i = 0; i < b->n_ballots + b->n_decryptions; i++) {
			bool ballot = i < b->n_ballots;
			cv_buf leaf = {0}, again = {0};
			cv_ballot bl;
			cv_decryption d;
			cv_err e;

			CHECK((ballot ? cv_ballot_leaf(&b->ballots[i], &leaf)
			              : cv_decryption_leaf(&b->decryptions[i - b->n_ballots],
			                                   &leaf)) == CV_OK);
			e = ballot ? cv_ballot_from_leaf(leaf.data, leaf.len, &bl)
			           : cv_decryption_from_leaf(leaf.data, leaf.len, &d);
			CHECK(e == CV_OK);
			if (e == CV_OK) {
				CHECK((ballot ? cv_ballot_leaf(&bl, &again)
				              : cv_decryption_leaf(&d, &again)) == CV_OK);
				CHECK(again.len == leaf.len &&
				      memcmp(again.data, leaf.data, leaf.len) == 0);
				if (ballot)
					cv_ballot_free(&bl);
				else
					cv_decryption_free(&d);
			}
			for (size_t cut = 0; cut < leaf.len; cut += 7)
				CHECK((ballot ? cv_ballot_from_leaf(leaf.data, cut, &bl)
				              : cv_decryption_from_leaf(leaf.data, cut, &d)) ==
				      CV_E_MALFORMED);
			cv_buf_u8(&leaf, 0);
			CHECK((ballot ? cv_ballot_from_leaf(leaf.data, leaf.len, &bl)
			              : cv_decryption_from_leaf(leaf.data, leaf.len, &d)) ==
			      CV_E_MALFORMED);
			/* k sits after the tag, the election id, the key and the timestamp or
			 * through_height: 0xffff items cannot fit */
			{
				size_t at =
				    (ballot ? strlen(CV_TAG_BALLOT) : strlen(CV_TAG_DECRYPTION)) +
				    CV_HASH_LEN + CV_KEY_LEN + 8;

				leaf.data[at] = leaf.data[at + 1] = 0xff;
				CHECK((ballot ? cv_ballot_from_leaf(leaf.data, leaf.len - 1, &bl)
				              : cv_decryption_from_leaf(leaf.data, leaf.len - 1,
				                                        &d)) == CV_E_MALFORMED);
			}
			/* a ballot's leaf is no share's and the other way round */
			CHECK((ballot ? cv_decryption_from_leaf(again.data, again.len, &d)
			              : cv_ballot_from_leaf(again.data, again.len, &bl)) ==
			      CV_E_MALFORMED);
			n_ballots += ballot;
			n_shares += !ballot;
			cv_buf_free(&leaf);
			cv_buf_free(&again);
		}
	}
	CHECK(n_ballots > 0 && n_shares > 0);
}

int main(void)
{
	comp = load_json("components.json");
	keys = load_json("keys.json");
	chain_json = load_json("chain.json");
	if (cv_chain_from_json(chain_json, &chain) != CV_OK || chain.n_blocks < 5) {
		fprintf(stderr, "chain.json does not parse\n");
		return 2;
	}
	RUN(test_points_and_hs);
	RUN(test_point_and_scalar_checks);
	RUN(test_genesis_entries);
	RUN(test_block_headers);
	RUN(test_trustees);
	RUN(test_ballot0);
	RUN(test_ballot_fresh);
	RUN(test_ballot_open);
	RUN(test_decryption);
	RUN(test_tally);
	RUN(test_tally_large);
	RUN(test_ballot_many_keys);
	RUN(test_seal);
	RUN(test_json_round_trip);
	RUN(test_leaf_round_trip);
	cv_chain_free(&chain);
	json_object_put(comp);
	json_object_put(keys);
	json_object_put(chain_json);
	return CHECK_DONE("test_secret");
}
