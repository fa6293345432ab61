/* The signed acceptance of votes (lib/chain/acceptance.c): the documented vector of
 * docs/ACCEPTANCE.md byte for byte, strict JSON of acceptances and receipt files, the
 * receipt's match against a committed vote whose signature a miner swapped for its
 * (r, n-s) twin, a secret election's ballot receipts (file and match), and the
 * service key's file (made once, 0600, the same key for processes that race to make
 * it). */
#include <fcntl.h>
#include <openssl/bn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "acceptance.h"
#include "bytes.h"
#include "json.h"

/* The vector of docs/ACCEPTANCE.md. */
static const char vec_scalar_hex[] =
    "c9ea8159c3face9e91bb63c3b13023a1981542ca762d4cadd779a92c0598fab6";
static const char vec_key_hex[] =
    "04728114a185df6ad41e24f89c88f8dc6d7ebec9860a1cb25f1e1c3e24090c6a5ab0e5a1c96c3c9d49d11b0d6446b6"
    "f87ca307467d4c0361cb8125ddf5e3c278de";
static const char vec_txid_hex[] =
    "4e01c03645335055d8695535924bd0b32f7162a6317c1aada12dc3218e54d34b";
static const uint64_t vec_accepted_at = 1700000000;
static const char vec_message_hex[] =
    "636861696e766f74652f6163636570742f314e01c03645335055d8695535924bd0b32f7162a6317c1aada12dc32"
    "18e54d34b000000006553f100";
static const char vec_signature_hex[] =
    "768b073b965f1c4c0e0451d06164e49cb96627baf6ecd078fc04d151e8ed998145ff20fddd48904bcad761c826eadc"
    "b45851ed5dd3d629fbb9a2f71efc52733a";
static const char order_hex[] = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

static void decode(const char *hex, uint8_t *out, size_t n)
{
	if (cv_hex_decode(hex, out, n) != CV_OK) {
		fprintf(stderr, "bad test constant %s\n", hex);
		exit(2);
	}
}

static cv_privkey *vec_key(void)
{
	uint8_t d[CV_SCALAR_LEN];
	cv_privkey *k = NULL;

	decode(vec_scalar_hex, d, sizeof d);
	if (cv_privkey_from_scalar(d, &k) != CV_OK)
		exit(2);
	return k;
}

static void vec_acceptance(cv_acceptance *a)
{
	memset(a, 0, sizeof *a);
	decode(vec_txid_hex, a->txid, CV_HASH_LEN);
	a->accepted_at = vec_accepted_at;
	decode(vec_key_hex, a->service_key, CV_KEY_LEN);
	decode(vec_signature_hex, a->signature, CV_SIG_LEN);
}

/* The other valid signature of the same message: (r, n - s). */
static void twin(uint8_t sig[CV_SIG_LEN])
{
	BIGNUM *n = NULL, *s = BN_bin2bn(sig + 32, 32, NULL);

	if (s == NULL || BN_hex2bn(&n, order_hex) == 0 || BN_sub(s, n, s) != 1 ||
	    BN_bn2binpad(s, sig + 32, 32) != 32)
		exit(2);
	BN_free(n);
	BN_free(s);
}

static void test_vector_message_bytes(void)
{
	uint8_t txid[CV_HASH_LEN], msg[CV_ACCEPT_MSG_LEN];
	char hex[2 * CV_ACCEPT_MSG_LEN + 1];

	decode(vec_txid_hex, txid, sizeof txid);
	cv_acceptance_message(txid, vec_accepted_at, msg);
	cv_hex_encode(msg, sizeof msg, hex);
	CHECK_STR(hex, vec_message_hex);
	CHECK_EQ_INT(sizeof msg, 58);
}

static void test_vector_key_and_signature(void)
{
	cv_privkey *k = vec_key();
	uint8_t pub[CV_KEY_LEN];
	char hex[2 * CV_KEY_LEN + 1];
	cv_acceptance a;

	cv_privkey_public(k, pub);
	cv_hex_encode(pub, CV_KEY_LEN, hex);
	CHECK_STR(hex, vec_key_hex);
	vec_acceptance(&a);
	CHECK_EQ_INT(cv_acceptance_verify(&a, NULL), CV_OK);
	CHECK_EQ_INT(cv_acceptance_verify(&a, pub), CV_OK);
	cv_privkey_free(k);
}

static void test_sign_then_verify(void)
{
	cv_privkey *k = vec_key();
	uint8_t txid[CV_HASH_LEN];
	cv_acceptance a;

	decode(vec_txid_hex, txid, sizeof txid);
	CHECK_EQ_INT(cv_acceptance_sign(k, txid, 42, &a), CV_OK);
	CHECK(memcmp(a.txid, txid, CV_HASH_LEN) == 0);
	CHECK_EQ_INT(a.accepted_at, 42);
	CHECK_EQ_INT(cv_acceptance_verify(&a, NULL), CV_OK);
	cv_privkey_free(k);
}

static void test_tampered_acceptance_fails(void)
{
	cv_acceptance a, b;
	uint8_t other_key[CV_KEY_LEN];

	vec_acceptance(&a);
	b = a;
	b.txid[0] ^= 1;
	CHECK_EQ_INT(cv_acceptance_verify(&b, NULL), CV_E_BAD_SIGNATURE);
	b = a;
	b.accepted_at++;
	CHECK_EQ_INT(cv_acceptance_verify(&b, NULL), CV_E_BAD_SIGNATURE);
	b = a;
	b.signature[5] ^= 0x80;
	CHECK_EQ_INT(cv_acceptance_verify(&b, NULL), CV_E_BAD_SIGNATURE);
	/* a key off the curve is refused as a key, not tried */
	b = a;
	b.service_key[64] ^= 1;
	CHECK_EQ_INT(cv_acceptance_verify(&b, NULL), CV_E_BAD_KEY);
	/* signed by another key than the one the service publishes */
	memcpy(other_key, a.service_key, CV_KEY_LEN);
	other_key[64] ^= 1;
	CHECK_EQ_INT(cv_acceptance_verify(&a, other_key), CV_E_BAD_KEY);
}

static void test_acceptance_json_round_trip(void)
{
	cv_acceptance a, b;
	json_object *o;

	vec_acceptance(&a);
	o = cv_acceptance_to_json(&a);
	CHECK(o != NULL);
	CHECK_STR(
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
	    "{\"txid\":\"4e01c03645335055d8695535924bd0b32f7162a6317c1aada12dc3218e54d34b\","
	    "\"accepted_at\":1700000000,\"service_key\":\"04728114a185df6ad41e24f89c88f8dc6d7eb"
	    "ec9860a1cb25f1e1c3e24090c6a5ab0e5a1c96c3c9d49d11b0d6446b6f87ca307467d4c0361cb8125d"
	    "df5e3c278de\",\"signature\":\"768b073b965f1c4c0e0451d06164e49cb96627baf6ecd078fc04"
	    "d151e8ed998145ff20fddd48904bcad761c826eadcb45851ed5dd3d629fbb9a2f71efc52733a\"}");
	CHECK_EQ_INT(cv_acceptance_from_json(o, &b), CV_OK);
	CHECK(memcmp(&a, &b, sizeof a) == 0);
	json_object_put(o);
}

static cv_err parse_acceptance(const char *text)
{
	json_object *o = NULL;
	cv_acceptance a;
	cv_err e = cv_json_parse(text, strlen(text), &o);

	if (e == CV_OK)
		e = cv_acceptance_from_json(o, &a);
	json_object_put(o);
	return e;
}

static void test_acceptance_json_is_strict(void)
{
	static const char *const bad[] = {
	    "[]",
	    "{}",
	    /* an unknown key */
	    "{\"txid\":\""
	    "4e01c03645335055d8695535924bd0b32f7162a6317c1aada12dc3218e54d34b"
	    "\","
	    "\"accepted_at\":1,\"service_key\":\"04\",\"signature\":\"00\",\"extra\":1}",
	    /* accepted_at as a string */
	    "{\"txid\":\"4e01c03645335055d8695535924bd0b32f7162a6317c1aada12dc3218e54d34b\","
	    "\"accepted_at\":\"1\",\"service_key\":\""
	    "04728114a185df6ad41e24f89c88f8dc6d7ebec9860a1c"
	    "b25f1e1c3e24090c6a5ab0e5a1c96c3c9d49d11b0d6446b6f87ca307467d4c0361cb8125ddf5e3c278de"
	    "\",\"signature\":\"768b073b965f1c4c0e0451d06164e49cb96627baf6ecd078fc04d151e8ed9981"
	    "45ff20fddd48904bcad761c826eadcb45851ed5dd3d629fbb9a2f71efc52733a\"}",
	    /* a short txid */
	    "{\"txid\":\"4e01\",\"accepted_at\":1,\"service_key\":\""
	    "04728114a185df6ad41e24f89c88f"
	    "8dc6d7ebec9860a1cb25f1e1c3e24090c6a5ab0e5a1c96c3c9d49d11b0d6446b6f87ca307467d4c0361cb8"
	    "125ddf5e3c278de\",\"signature\":\"768b073b965f1c4c0e0451d06164e49cb96627baf6ecd078fc0"
	    "4d151e8ed998145ff20fddd48904bcad761c826eadcb45851ed5dd3d629fbb9a2f71efc52733a\"}",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_EQ_INT(parse_acceptance(bad[i]), CV_E_MALFORMED);
}

/* A vote by the vector key over the reference election, signed now. */
static void make_vote(cv_vote *v)
{
	cv_privkey *k = vec_key();

	memset(v, 0, sizeof *v);
	memset(v->election_id, 0xab, CV_HASH_LEN);
	cv_privkey_public(k, v->voter_key);
	v->candidate_id = 2;
	v->timestamp = 1700000000;
	if (cv_vote_sign(v, k) != CV_OK)
		exit(2);
	cv_privkey_free(k);
}

static void test_receipt_file_round_trip(void)
{
	cv_privkey *k = vec_key();
	cv_vote v, v2;
	cv_acceptance a, a2;
	uint8_t txid[CV_HASH_LEN];
	json_object *o, *acc;

	make_vote(&v);
	cv_vote_txid(&v, txid);
	CHECK_EQ_INT(cv_acceptance_sign(k, txid, 7, &a), CV_OK);
	o = cv_receipt_file_to_json(&v, &a);
	CHECK(o != NULL);
	CHECK_EQ_INT(cv_receipt_file_from_json(o, &v2, &a2), CV_OK);
	CHECK(memcmp(&v, &v2, sizeof v) == 0);
	CHECK(memcmp(&a, &a2, sizeof a) == 0);
	/* an acceptance of another vote does not make a receipt of this one */
	json_object_object_get_ex(o, "acceptance", &acc);
	txid[0] ^= 1;
	cv_json_add_hex(acc, "txid", txid, CV_HASH_LEN);
	CHECK_EQ_INT(cv_receipt_file_from_json(o, &v2, &a2), CV_E_BAD_HASH);
	json_object_object_add(o, "format", json_object_new_string("chainvote-receipt/2"));
	CHECK_EQ_INT(cv_receipt_file_from_json(o, &v2, &a2), CV_E_MALFORMED);
	json_object_put(o);
	cv_privkey_free(k);
}

/* The miner swapped the signature for its twin: the voter's receipt still holds, since
 * the payload is the voter's and the committed signature verifies under the voter's
 * key. Signature bytes are not what a receipt checks. */
static void test_receipt_match_accepts_the_twin_signature(void)
{
	cv_vote mine, committed;
	uint8_t txid[CV_HASH_LEN];

	make_vote(&mine);
	cv_vote_txid(&mine, txid);
	committed = mine;
	twin(committed.signature);
	CHECK(memcmp(committed.signature, mine.signature, CV_SIG_LEN) != 0);
	CHECK_EQ_INT(cv_receipt_match(&committed, txid, mine.voter_key), CV_OK);
	CHECK_EQ_INT(cv_receipt_match(&mine, txid, mine.voter_key), CV_OK);
	CHECK_EQ_INT(cv_receipt_match(&committed, txid, NULL), CV_OK);
}

static void test_receipt_match_refuses_other_votes(void)
{
	cv_vote mine, other;
	uint8_t txid[CV_HASH_LEN], key[CV_KEY_LEN];

	make_vote(&mine);
	cv_vote_txid(&mine, txid);
	other = mine;
	other.candidate_id = 3; /* another payload */
	CHECK_EQ_INT(cv_receipt_match(&other, txid, mine.voter_key), CV_E_BAD_HASH);
	other = mine;
	other.signature[40] ^= 1; /* the voter's payload, a forged signature */
	CHECK_EQ_INT(cv_receipt_match(&other, txid, mine.voter_key), CV_E_BAD_SIGNATURE);
	memcpy(key, mine.voter_key, CV_KEY_LEN);
	key[10] ^= 1;
	CHECK_EQ_INT(cv_receipt_match(&mine, txid, key), CV_E_BAD_KEY);
}

/* A signed 2-candidate ballot under K = another key's point (any point will do for the
 * receipt's checks, which never open the ballot). Caller frees bl and *voter. */
static void make_ballot(cv_ballot *bl, cv_privkey **voter)
{
	cv_privkey *k_owner = NULL;
	uint8_t K[CV_KEY_LEN];

	memset(bl, 0, sizeof *bl);
	if (cv_privkey_generate(&k_owner) != CV_OK || cv_privkey_generate(voter) != CV_OK)
		exit(2);
	cv_privkey_public(k_owner, K);
	cv_privkey_public(*voter, bl->voter_key);
	memset(bl->election_id, 0x5a, CV_HASH_LEN);
	bl->timestamp = 1700000000;
	if (cv_ballot_make(bl, K, 2, 1, NULL) != CV_OK || cv_ballot_sign(bl, *voter) != CV_OK)
		exit(2);
	cv_privkey_free(k_owner);
}

static void test_ballot_receipt_file_round_trip(void)
{
	cv_privkey *k = vec_key(), *voter = NULL;
	cv_ballot bl, back;
	cv_acceptance a, a2;
	uint8_t txid[CV_HASH_LEN];
	json_object *o, *acc;

	make_ballot(&bl, &voter);
	CHECK_EQ_INT(cv_ballot_txid(&bl, txid), CV_OK);
	CHECK_EQ_INT(cv_acceptance_sign(k, txid, 7, &a), CV_OK);
	o = cv_receipt_file_ballot_to_json(cv_ballot_to_json(&bl, true), &a);
	CHECK(o != NULL && cv_receipt_file_is_ballot(o));
	CHECK_EQ_INT(cv_receipt_file_ballot_from_json(o, &back, &a2), CV_OK);
	CHECK(memcmp(back.voter_key, bl.voter_key, CV_KEY_LEN) == 0 && back.k == 2);
	CHECK(memcmp(&a, &a2, sizeof a) == 0);
	cv_ballot_free(&back);
	/* a ballot's receipt file is not a vote's, and the vote reader says so */
	{
		cv_vote v;

		CHECK_EQ_INT(cv_receipt_file_from_json(o, &v, &a2), CV_E_MALFORMED);
	}
	/* an acceptance of another ballot does not make a receipt of this one */
	json_object_object_get_ex(o, "acceptance", &acc);
	txid[0] ^= 1;
	cv_json_add_hex(acc, "txid", txid, CV_HASH_LEN);
	CHECK_EQ_INT(cv_receipt_file_ballot_from_json(o, &back, &a2), CV_E_BAD_HASH);
	/* a vote where the ballot belongs */
	{
		cv_vote v;

		make_vote(&v);
		json_object_object_add(o, "ballot", cv_vote_to_json(&v, false));
		CHECK_EQ_INT(cv_receipt_file_ballot_from_json(o, &back, &a2), CV_E_MALFORMED);
	}
	json_object_put(o);
	cv_ballot_free(&bl);
	cv_privkey_free(voter);
	cv_privkey_free(k);
}

static void test_ballot_receipt_match(void)
{
	cv_privkey *voter = NULL;
	cv_ballot mine, other;
	uint8_t txid[CV_HASH_LEN], key[CV_KEY_LEN];
	json_object *copy;

	make_ballot(&mine, &voter);
	CHECK_EQ_INT(cv_ballot_txid(&mine, txid), CV_OK);
	CHECK_EQ_INT(cv_receipt_match_ballot(&mine, txid, mine.voter_key), CV_OK);
	CHECK_EQ_INT(cv_receipt_match_ballot(&mine, txid, NULL), CV_OK);
	memcpy(key, mine.voter_key, CV_KEY_LEN);
	key[10] ^= 1;
	CHECK_EQ_INT(cv_receipt_match_ballot(&mine, txid, key), CV_E_BAD_KEY);
	/* the miner's twin signature still holds; a forged one does not */
	copy = cv_ballot_to_json(&mine, false);
	CHECK(copy != NULL && cv_ballot_from_json(copy, &other) == CV_OK);
	twin(other.signature);
	CHECK_EQ_INT(cv_receipt_match_ballot(&other, txid, mine.voter_key), CV_OK);
	other.signature[40] ^= 1;
	CHECK_EQ_INT(cv_receipt_match_ballot(&other, txid, mine.voter_key), CV_E_BAD_SIGNATURE);
	/* another ciphertext is another ballot */
	other.cts[0].a[5] ^= 1;
	CHECK_EQ_INT(cv_receipt_match_ballot(&other, txid, mine.voter_key), CV_E_BAD_HASH);
	other.is_vote = true;
	CHECK_EQ_INT(cv_receipt_match_ballot(&other, txid, mine.voter_key), CV_E_BAD_HASH);
	other.is_vote = false;
	json_object_put(copy);
	cv_ballot_free(&other);
	cv_ballot_free(&mine);
	cv_privkey_free(voter);
}

static char *temp_dir(void)
{
	static char dir[64];

	snprintf(dir, sizeof dir, "/tmp/cv-acceptance-XXXXXX");
	if (mkdtemp(dir) == NULL)
		exit(2);
	return dir;
}

static void remove_dir(const char *dir)
{
	char path[256];

	snprintf(path, sizeof path, "%s/%s", dir, CV_SERVICE_KEY_FILE);
	unlink(path);
	rmdir(dir);
}

static void test_service_key_made_once_with_mode_0600(void)
{
	char *dir = temp_dir(), path[256];
	cv_privkey *a = NULL, *b = NULL;
	uint8_t ka[CV_KEY_LEN], kb[CV_KEY_LEN];
	struct stat st;

	CHECK_EQ_INT(cv_service_key_load(dir, false, &a), CV_E_NOT_FOUND);
	CHECK(a == NULL);
	CHECK_EQ_INT(cv_service_key_load(dir, true, &a), CV_OK);
	snprintf(path, sizeof path, "%s/%s", dir, CV_SERVICE_KEY_FILE);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_EQ_INT(cv_service_key_load(dir, true, &b), CV_OK);
	if (a != NULL && b != NULL) {
		cv_privkey_public(a, ka);
		cv_privkey_public(b, kb);
		CHECK(memcmp(ka, kb, CV_KEY_LEN) == 0);
	}
	cv_privkey_free(b);
	b = NULL;
	/* a key others may read is no longer secret: refused */
	CHECK(chmod(path, 0640) == 0);
	CHECK_EQ_INT(cv_service_key_load(dir, true, &b), CV_E_IO);
	CHECK(b == NULL);
	cv_privkey_free(a);
	remove_dir(dir);
}

static void test_service_key_race_gives_one_key(void)
{
	char *dir = temp_dir();
	int fds[2];
	pid_t pids[8];
	uint8_t first[CV_KEY_LEN], got[CV_KEY_LEN];
	int same = 1, n_read = 0;

	if (pipe(fds) != 0)
		exit(2);
	for (int i = 0; i < 8; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			cv_privkey *k = NULL;
			uint8_t key[CV_KEY_LEN];

			close(fds[0]);
			if (cv_service_key_load(dir, true, &k) != CV_OK)
				_exit(1);
			cv_privkey_public(k, key);
			_exit(write(fds[1], key, sizeof key) == (ssize_t)sizeof key ? 0 : 1);
		}
	}
	close(fds[1]);
	for (int i = 0; i < 8; i++) {
		int status;

		waitpid(pids[i], &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	while (read(fds[0], got, sizeof got) == (ssize_t)sizeof got) {
		if (n_read++ == 0)
			memcpy(first, got, sizeof got);
		else if (memcmp(first, got, sizeof got) != 0)
			same = 0;
	}
	close(fds[0]);
	CHECK_EQ_INT(n_read, 8);
	CHECK(same);
	remove_dir(dir);
}

int main(void)
{
	RUN(test_vector_message_bytes);
	RUN(test_vector_key_and_signature);
	RUN(test_sign_then_verify);
	RUN(test_tampered_acceptance_fails);
	RUN(test_acceptance_json_round_trip);
	RUN(test_acceptance_json_is_strict);
	RUN(test_receipt_file_round_trip);
	RUN(test_receipt_match_accepts_the_twin_signature);
	RUN(test_receipt_match_refuses_other_votes);
	RUN(test_ballot_receipt_file_round_trip);
	RUN(test_ballot_receipt_match);
	RUN(test_service_key_made_once_with_mode_0600);
	RUN(test_service_key_race_gives_one_key);
	return CHECK_DONE("test_acceptance");
}
