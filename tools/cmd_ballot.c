/* chainvote check-ballot: the second device of a Benaloh challenge (DESIGN 6.2). Reads a
 * challenge file (docs/SECRET.md: a spoiled, never signed ballot, the election key, the
 * candidates, the choice the page showed, the fingerprint it showed and the revealed
 * r_i, m_i), checks the ballot's proofs and that it encrypts exactly the shown choice,
 * with the library's own code (lib/chain/secret_ballot.c), independent of the page's. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chain.h"
#include "cmd.h"
#include "json.h"
#include "secret.h"

#define CHALLENGE_FORMAT "chainvote-challenge/1"
#define CHALLENGE_MAX    (1024 * 1024) /* k <= 1024 positions of ~500 bytes of JSON */
#define CHAIN_MAX        (512L * 1024 * 1024)

/* What a challenge file holds, decoded. */
typedef struct challenge {
	uint8_t K[CV_POINT_LEN];
	uint8_t fingerprint[CV_HASH_LEN];
	uint64_t choice;
	size_t n_candidates;
	uint32_t *candidate_ids; /* as the file lists them: ascending, the positions */
	cv_ballot ballot;
	uint8_t (*r)[CV_SCALAR_LEN];
	uint8_t *m;
} challenge;

static void challenge_free(challenge *c)
{
	free(c->candidate_ids);
	cv_ballot_free(&c->ballot);
	free(c->r);
	free(c->m);
	memset(c, 0, sizeof *c);
}

/* Reads at most max bytes of path into a NUL-terminated malloc'd buffer (caller frees). */
static char *read_file(const char *path, long max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > max ||
	    fseek(f, 0, SEEK_SET) != 0 || (text = malloc((size_t)n + 1)) == NULL ||
	    fread(text, 1, (size_t)n, f) != (size_t)n) {
		free(text);
		fclose(f);
		return NULL;
	}
	fclose(f);
	text[n] = '\0';
	*len = (size_t)n;
	return text;
}

/* The file's "ballot" is a 6.1 ballot without its signature (a challenged ballot is
 * never signed): read it with the chain's own parser, given 64 zero bytes to stand for
 * the signature it does not have and that is never checked. */
static cv_err unsigned_ballot(const json_object *o, cv_ballot *b)
{
	static const char *const zero_sig = "00000000000000000000000000000000"
	                                    "00000000000000000000000000000000"
	                                    "00000000000000000000000000000000"
	                                    "00000000000000000000000000000000";
	json_object *copy = NULL;
	cv_err rc;

	if (!json_object_is_type(o, json_type_object) ||
	    json_object_object_get_ex(o, "signature", NULL))
		return CV_E_MALFORMED;
	if (json_object_deep_copy((json_object *)o, &copy, NULL) != 0)
		return CV_E_NOMEM;
	json_object_object_add(copy, "signature", json_object_new_string(zero_sig));
	rc = cv_ballot_from_json(copy, b);
	json_object_put(copy);
	return rc;
}

static const char *const challenge_keys[] = {"format",      "election_key", "candidates", "choice",
                                             "fingerprint", "ballot",       "opening",    NULL};
static const char *const candidate_keys[] = {"id", "name", NULL};
static const char *const opening_keys[] = {"r", "m", NULL};

/* Decodes the challenge file o into *c. Prints what is wrong and returns -1. */
static int challenge_parse(const json_object *o, challenge *c)
{
	json_object *v, *cands, *ballot, *opening;
	size_t k;

	memset(c, 0, sizeof *c);
	if (!json_object_is_type(o, json_type_object) ||
	    cv_json_only_keys(o, challenge_keys) != CV_OK ||
	    !json_object_object_get_ex(o, "format", &v) ||
	    strcmp(json_object_get_string(v) ? json_object_get_string(v) : "", CHALLENGE_FORMAT) !=
	        0) {
		fprintf(stderr, "chainvote check-ballot: not a challenge file (format \"%s\")\n",
		        CHALLENGE_FORMAT);
		return -1;
	}
	if (cv_json_get_hex(o, "election_key", c->K, CV_POINT_LEN) != CV_OK ||
	    cv_json_get_hex(o, "fingerprint", c->fingerprint, CV_HASH_LEN) != CV_OK ||
	    cv_json_get_u64(o, "choice", UINT32_MAX, &c->choice) != CV_OK) {
		fprintf(stderr, "chainvote check-ballot: election_key, fingerprint or choice is "
		                "malformed\n");
		return -1;
	}
	if (!json_object_object_get_ex(o, "ballot", &ballot) ||
	    unsigned_ballot(ballot, &c->ballot) != CV_OK) {
		fprintf(stderr,
		        "chainvote check-ballot: \"ballot\" is not an unsigned 6.1 ballot\n");
		return -1;
	}
	k = c->ballot.k;
	if (cv_json_get_array(o, "candidates", &cands) != CV_OK ||
	    json_object_array_length(cands) != k ||
	    cv_json_get_array(o, "opening", &opening) != CV_OK ||
	    json_object_array_length(opening) != k || k == 0) {
		fprintf(stderr,
		        "chainvote check-ballot: candidates and opening need one item per "
		        "ciphertext (%zu)\n",
		        k);
		return -1;
	}
	c->n_candidates = k;
	if ((c->candidate_ids = calloc(k, sizeof *c->candidate_ids)) == NULL ||
	    (c->r = calloc(k, sizeof *c->r)) == NULL || (c->m = calloc(k, 1)) == NULL) {
		fprintf(stderr, "chainvote check-ballot: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < k; i++) {
		json_object *cand = json_object_array_get_idx(cands, i);
		json_object *op = json_object_array_get_idx(opening, i);
		uint64_t id, m;

		if (cv_json_only_keys(cand, candidate_keys) != CV_OK ||
		    cv_json_get_u64(cand, "id", UINT32_MAX, &id) != CV_OK || id == 0 ||
		    (i > 0 && id <= c->candidate_ids[i - 1])) {
			fprintf(stderr,
			        "chainvote check-ballot: candidate %zu: ids are >= 1 and "
			        "ascending\n",
			        i);
			return -1;
		}
		if (cv_json_only_keys(op, opening_keys) != CV_OK ||
		    cv_json_get_hex(op, "r", c->r[i], CV_SCALAR_LEN) != CV_OK ||
		    cv_json_get_u64(op, "m", 1, &m) != CV_OK) {
			fprintf(stderr,
			        "chainvote check-ballot: opening %zu: r is 32 bytes of hex, m is "
			        "0 or 1\n",
			        i);
			return -1;
		}
		c->candidate_ids[i] = (uint32_t)id;
		c->m[i] = (uint8_t)m;
	}
	return 0;
}

/* With --chain: the election key, election id and candidates from the export's genesis,
 * which the file must match (the file's K alone could be the page's own). */
static int compare_genesis(const char *path, const challenge *c)
{
	cv_chain chain = {0};
	json_object *o = NULL;
	uint8_t K[CV_POINT_LEN], gid[CV_HASH_LEN];
	const cv_genesis *g;
	size_t len = 0;
	char *text = read_file(path, CHAIN_MAX, &len);
	int ret = -1;

	if (text == NULL || cv_json_parse(text, len, &o) != CV_OK ||
	    cv_chain_from_json(o, &chain) != CV_OK || chain.n_blocks == 0 ||
	    (g = chain.blocks[0].genesis) == NULL) {
		fprintf(stderr, "chainvote check-ballot: %s is not a chain export\n", path);
		goto out;
	}
	if (g->secrecy == NULL || cv_election_key(g->secrecy, K) != CV_OK) {
		fprintf(stderr, "chainvote check-ballot: %s is not a secret election\n", path);
		goto out;
	}
	cv_header_hash(&chain.blocks[0].header, gid);
	if (memcmp(K, c->K, CV_POINT_LEN) != 0) {
		printf("NOT OK: the file's election key is not the election's (K = sum of the "
		       "genesis's first commitments)\n");
		goto out;
	}
	if (memcmp(gid, c->ballot.election_id, CV_HASH_LEN) != 0) {
		printf("NOT OK: the ballot's election_id is not the genesis hash of %s\n", path);
		goto out;
	}
	if (g->n_candidates != c->n_candidates) {
		printf("NOT OK: the election has %zu candidates, the file %zu\n", g->n_candidates,
		       c->n_candidates);
		goto out;
	}
	for (size_t i = 0; i < g->n_candidates; i++)
		if (g->candidates[i].id != c->candidate_ids[i]) {
			printf("NOT OK: candidate %zu is %u in the election, %u in the file\n", i,
			       g->candidates[i].id, c->candidate_ids[i]);
			goto out;
		}
	printf("election key, election id and candidates match the genesis of %s\n", path);
	ret = 0;
out:
	cv_chain_free(&chain);
	json_object_put(o);
	free(text);
	return ret;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: chainvote check-ballot [--chain EXPORT] FILE\n"
	        "Checks a challenged ballot (the vote page's \"Check the encryption\" file,\n"
	        "format chainvote-challenge/1): its proofs, its fingerprint, and that the\n"
	        "revealed randomness opens it to the choice the page showed. Prints that choice\n"
	        "and exits 0 when all hold, 1 otherwise, 2 on a usage error. With --chain, the\n"
	        "election key, election id and candidates are also compared with the genesis of\n"
	        "a chain export (chainvote export, or GET /api/chain/export).\n");
}

int cmd_check_ballot(int argc, char **argv)
{
	const char *chain_path = NULL, *path = NULL;
	challenge c = {0};
	json_object *o = NULL;
	uint8_t txid[CV_HASH_LEN];
	char hexbuf[2 * CV_HASH_LEN + 1];
	size_t len = 0, pos = SIZE_MAX, choice = SIZE_MAX;
	char *text = NULL;
	bool ok = true;
	int ret = 1;
	cv_err rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--chain") == 0 && i + 1 < argc)
			chain_path = argv[++i];
		else if (argv[i][0] != '-' && path == NULL)
			path = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL) {
		usage(stderr);
		return 2;
	}
	if ((text = read_file(path, CHALLENGE_MAX, &len)) == NULL) {
		fprintf(stderr, "chainvote check-ballot: cannot read %s (or it is over %d bytes)\n",
		        path, CHALLENGE_MAX);
		goto out;
	}
	if (cv_json_parse(text, len, &o) != CV_OK) {
		fprintf(stderr, "chainvote check-ballot: %s is not JSON\n", path);
		goto out;
	}
	if (challenge_parse(o, &c) != 0)
		goto out;
	if (chain_path != NULL && compare_genesis(chain_path, &c) != 0)
		goto out;
	if (cv_ballot_txid(&c.ballot, txid) != CV_OK)
		goto out;
	cv_hex_encode(txid, CV_HASH_LEN, hexbuf);
	if (memcmp(txid, c.fingerprint, CV_HASH_LEN) != 0) {
		printf("NOT OK: the ballot's fingerprint is %s, not the one the page showed\n",
		       hexbuf);
		ok = false;
	} else
		printf("fingerprint %s matches\n", hexbuf);
	rc = cv_ballot_verify_proofs(&c.ballot, c.K, c.n_candidates, &pos);
	if (rc != CV_OK) {
		printf("NOT OK: the proofs do not verify: %s", cv_err_code(rc));
		if (pos != SIZE_MAX)
			printf(" at position %zu", pos);
		printf("\n");
		ok = false;
	} else
		printf("0/1 proofs and sum proof verify\n");
	rc = cv_ballot_open(&c.ballot, c.K,
	                    &(cv_ballot_opening){(const uint8_t(*)[CV_SCALAR_LEN])c.r, c.m},
	                    &choice, &pos);
	if (rc != CV_OK) {
		printf("NOT OK: the revealed randomness does not open the ballot: %s",
		       cv_err_code(rc));
		if (pos != SIZE_MAX)
			printf(" at position %zu", pos);
		printf("\n");
		ok = false;
	} else if (c.candidate_ids[choice] != c.choice) {
		printf(
		    "NOT OK: the ballot encrypts candidate %u (position %zu), but the page showed "
		    "candidate %llu\n",
		    c.candidate_ids[choice], choice, (unsigned long long)c.choice);
		ok = false;
	}
	if (ok) {
		printf(
		    "choice: candidate %u (position %zu): the ballot encrypts the choice shown\n",
		    c.candidate_ids[choice], choice);
		ret = 0;
	}
out:
	challenge_free(&c);
	json_object_put(o);
	free(text);
	return ret;
}
