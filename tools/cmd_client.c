/* The client commands of `chainvote`: vote and receipt talk to a running service over
 * HTTP, with the helpers every client command shares (client.h; the validator's commands
 * are in cmd_validator.c). Nothing the service says is taken on trust where it can be
 * checked here: a vote's acceptance is verified under the service's published key, and
 * a receipt is verified against the block's header, merkle root and approvals. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acceptance.h"
#include "api.h"
#include "chain.h"
#include "client.h"
#include "cmd.h"
#include "http.h"
#include "json.h"
#include "merkle.h"
#include "pow.h"
#include "rules.h"

/* Reads at most max bytes of path into a malloc'd NUL-terminated buffer (caller frees).
 * Returns NULL with a message printed when the file cannot be read or is too long. */
char *cli_read_file(const char *prog, const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "chainvote %s: cannot open %s\n", prog, path);
		return NULL;
	}
	text = malloc(max + 1);
	if (text == NULL) {
		fclose(f);
		fprintf(stderr, "chainvote %s: out of memory\n", prog);
		return NULL;
	}
	n = fread(text, 1, max + 1, f);
	if (ferror(f) || n > max) {
		fprintf(stderr, "chainvote %s: %s is unreadable or too large\n", prog, path);
		free(text);
		fclose(f);
		return NULL;
	}
	fclose(f);
	text[n] = '\0';
	*len = n;
	return text;
}

/* Loads a key file (cv_keyfile_parse). NULL with a message printed on failure. */
cv_privkey *cli_load_key(const char *prog, const char *path)
{
	cv_privkey *key = NULL;
	size_t len;
	char *text = cli_read_file(prog, path, KEYFILE_MAX, &len);
	cv_err err;

	if (text == NULL)
		return NULL;
	err = cv_keyfile_parse(text, len, &key);
	/* the private scalar passed through this buffer */
	explicit_bzero(text, len);
	free(text);
	if (err != CV_OK) {
		fprintf(stderr, "chainvote %s: %s is not a key file (%s)\n", prog, path,
		        cv_err_code(err));
		return NULL;
	}
	return key;
}

void cli_close_http(cv_http *h)
{
	if (h == NULL)
		return;
	cv_http_close(h);
	cv_http_global_cleanup();
}

bool cli_service_opt(int c, const char *arg, cli_service *svc)
{
	switch (c) {
	case CLI_OPT_URL:
		svc->url = arg;
		return true;
	case CLI_OPT_CACERT:
		svc->cacert = arg;
		return true;
	case CLI_OPT_ELECTION:
		svc->election = arg;
		return true;
	}
	return false;
}

/* Opens an HTTP handle on svc->url, trusting the CA certificates in svc->cacert (NULL:
 * the system's) for HTTPS, asking svc->election's API (NULL: the default election's);
 * NULL with a message printed on failure. Pair with cli_close_http. */
cv_http *cli_open_http(const char *prog, const cli_service *svc)
{
	const char *cacert = svc->cacert, *election = svc->election;
	cv_http *h = NULL;
	cv_err err;

	if (cv_http_global_init() != CV_OK) {
		fprintf(stderr, "chainvote %s: cannot initialise libcurl\n", prog);
		return NULL;
	}
	if (cv_http_open(svc->url, &h) != CV_OK) {
		fprintf(stderr, "chainvote %s: --url wants http://HOST[:PORT] or https://…\n",
		        prog);
		cv_http_global_cleanup();
		return NULL;
	}
	if (cacert != NULL && (err = cv_http_set_cacert(h, cacert)) != CV_OK) {
		fprintf(stderr, "chainvote %s: --cacert %s: cannot read it (%s)\n", prog, cacert,
		        cv_err_code(err));
		cli_close_http(h);
		return NULL;
	}
	if (election != NULL && cv_http_set_election(h, election) != CV_OK) {
		fprintf(stderr,
		        "chainvote %s: --election wants 1-32 characters of a-z, 0-9 and -\n", prog);
		cli_close_http(h);
		return NULL;
	}
	return h;
}

/* Prints why a request did not give the expected answer. */
void cli_print_refusal(const char *prog, const char *what, const cv_http_reply *r)
{
	if (r->status == 0)
		fprintf(stderr, "chainvote %s: %s: %s\n", prog, what, r->message);
	else if (r->status < 400)
		fprintf(stderr, "chainvote %s: %s: unexpected answer (HTTP %ld)%s%s\n", prog, what,
		        r->status, r->message[0] ? ": " : "", r->message);
	else
		fprintf(stderr, "chainvote %s: %s: %s (HTTP %ld)%s%s\n", prog, what, r->code,
		        r->status, r->message[0] ? ": " : "", r->message);
}

/* GET path and expect status 200 with a JSON body; 0 on success (r->body set), -1 with
 * a message printed otherwise. */
int cli_get_json(const char *prog, cv_http *http, const char *path, cv_http_reply *r)
{
	cv_err err = cv_http_request(http, "GET", path, NULL, r);

	if (err == CV_OK && r->status == 200 && r->body != NULL)
		return 0;
	if (err == CV_OK && r->status == 200)
		snprintf(r->message, sizeof(r->message), "empty reply");
	cli_print_refusal(prog, path, r);
	return -1;
}

/* Fetches GET /api/blocks/{id} (a height or a hash) strictly and checks that its stated
 * hash is H(header), and for height 0 every genesis rule. 0 on success (b filled, caller
 * frees), -1 with a message printed. */
int cli_fetch_block(const char *prog, cv_http *http, const char *id, cv_block *b)
{
	cv_http_reply r = {0};
	char path[128];
	uint8_t hash[CV_HASH_LEN];
	cv_err err;
	int ok = -1;

	memset(b, 0, sizeof(*b));
	snprintf(path, sizeof(path), "/api/blocks/%s", id);
	if (cli_get_json(prog, http, path, &r) != 0)
		goto out;
	err = cv_block_from_json(r.body, b);
	if (err != CV_OK) {
		fprintf(stderr, "chainvote %s: %s: the block is malformed (%s)\n", prog, path,
		        cv_err_code(err));
		goto out;
	}
	cv_header_hash(&b->header, hash);
	if (memcmp(hash, b->hash, CV_HASH_LEN) != 0) {
		fprintf(stderr,
		        "chainvote %s: %s: the block's stated hash is not the hash of its header\n",
		        prog, path);
		goto out;
	}
	if (b->header.height == 0 && (err = cv_check_genesis(b)) != CV_OK) {
		fprintf(stderr, "chainvote %s: the genesis block breaks a rule: %s\n", prog,
		        cv_err_message(err));
		goto out;
	}
	ok = 0;
out:
	if (ok != 0)
		cv_block_free(b);
	cv_http_reply_free(&r);
	return ok;
}

/* Bounded decimal parse of a u32 in [lo, hi]; 0 on success. */
static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > hi)
			return -1;
	}
	if (v < lo)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* A hash or txid argument: exactly 64 lowercase hex characters. */
int cli_parse_hash(const char *prog, const char *what, const char *s, uint8_t out[CV_HASH_LEN])
{
	if (cv_hex_decode(s, out, CV_HASH_LEN) == CV_OK)
		return 0;
	fprintf(stderr, "chainvote %s: %s must be 64 lowercase hex characters\n", prog, what);
	return -1;
}

enum { OPT_KEY = CLI_OPT_OWN, OPT_CANDIDATE, OPT_RECEIPT_OUT, OPT_RECEIPT, OPT_HELP };

/* The service's acceptance key, "service_key" of GET /api/election (an envelope: other
 * keys are fine). 0 on success, -1 with a message printed. */
static int service_key_of(const char *prog, json_object *election, uint8_t key[CV_KEY_LEN])
{
	if (cv_json_get_hex(election, "service_key", key, CV_KEY_LEN) != CV_OK ||
	    cv_pubkey_check(key) != CV_OK) {
		fprintf(stderr,
		        "chainvote %s: /api/election: no valid service_key (the key that signs "
		        "vote acceptances)\n",
		        prog);
		return -1;
	}
	return 0;
}

/* Writes text to a new file path (mode 0600: a receipt tells how its voter voted; never
 * overwritten), synced. 0 on success, -1 with a message printed. */
static int write_new_file(const char *prog, const char *path, const char *text)
{
	size_t len = strlen(text), off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0) {
		fprintf(stderr, "chainvote %s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off < len || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
		fprintf(stderr, "chainvote %s: %s: %s\n", prog, path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* ---- vote ---- */

static void vote_usage(FILE *out)
{
	fprintf(out,
	        "usage: chainvote vote --url URL [--cacert FILE] [--election SLUG] --key FILE "
	        "--candidate ID\n"
	        "                      [--receipt-out OUT]\n"
	        "Signs a vote for candidate ID with the voter key in FILE and sends it to the\n"
	        "service, which answers with an acceptance signed by its key (the service_key of\n"
	        "GET /api/election); the acceptance is verified here. Prints the vote's txid.\n"
	        "With --receipt-out the vote and its acceptance are written to OUT (a new file,\n"
	        "mode 0600), which `chainvote receipt --receipt OUT` and\n"
	        "`chainvote verify --receipts DIR` read.\n" CACERT_HELP
	        "Exit status: 0 accepted with a valid acceptance, 1 refused (the service's reason\n"
	        "is printed) or the acceptance is missing or does not verify, 2 usage.\n");
}

/* Reads genesis_hash and service_key and checks candidate_id is among the candidates of
 * GET /api/election (cv_api_election_read). 0 on success, -1 with a message printed. */
static int election_for_vote(cv_http *http, uint32_t candidate_id, uint8_t election_id[CV_HASH_LEN],
                             uint8_t service_key[CV_KEY_LEN], bool *secret)
{
	cv_http_reply r = {0};
	cv_api_election el = {0};
	int ok = -1, found = 0;
	cv_err err;

	if (cli_get_json("vote", http, "/api/election", &r) != 0)
		goto out;
	if ((err = cv_api_election_read(r.body, &el)) != CV_OK) {
		fprintf(stderr, "chainvote vote: /api/election: not an election (%s)\n",
		        cv_err_code(err));
		goto out;
	}
	if (!el.opened) {
		fprintf(stderr,
		        "chainvote vote: the election is not open yet (no genesis block)\n");
		goto out;
	}
	memcpy(election_id, el.genesis_hash, CV_HASH_LEN);
	*secret = el.secret;
	for (size_t i = 0; i < el.n_candidates; i++)
		found |= el.candidate_ids[i] == candidate_id;
	if (!found) {
		fprintf(stderr,
		        "chainvote vote: the election has no candidate %" PRIu32
		        " (see GET /api/election)\n",
		        candidate_id);
		goto out;
	}
	if (service_key_of("vote", r.body, service_key) != 0)
		goto out;
	ok = 0;
out:
	cv_api_election_free(&el);
	cv_http_reply_free(&r);
	return ok;
}

/* A secret election's vote (DESIGN section 6): the choice encrypted under the election
 * key K of the genesis (fresh randomness, cv_ballot_make) with its proofs, signed and
 * posted as a ballot. Its txid is the receipt, as a vote's. 0 with *reply the service's
 * 202, or -1 with a message printed. */
static int cast_ballot(cv_http *http, const cv_privkey *key, uint32_t candidate_id,
                       const uint8_t election_id[CV_HASH_LEN], uint8_t txid[CV_HASH_LEN],
                       json_object **ballot_json, cv_http_reply *r)
{
	cv_block genesis = {0};
	cv_ballot bl = {0};
	uint8_t K[CV_POINT_LEN];
	const cv_genesis *g;
	size_t choice = SIZE_MAX;
	json_object *body = NULL;
	int ok = -1;

	if (cli_fetch_block("vote", http, "0", &genesis) != 0)
		return -1;
	g = genesis.genesis;
	if (g == NULL || g->secrecy == NULL || cv_election_key(g->secrecy, K) != CV_OK ||
	    memcmp(genesis.hash, election_id, CV_HASH_LEN) != 0) {
		fprintf(stderr, "chainvote vote: the genesis gives no election key\n");
		goto out;
	}
	for (size_t i = 0; i < g->n_candidates; i++)
		if (g->candidates[i].id == candidate_id)
			choice = i; /* positions follow the genesis's candidate order */
	memcpy(bl.election_id, election_id, CV_HASH_LEN);
	cv_privkey_public(key, bl.voter_key);
	bl.timestamp = (uint64_t)time(NULL);
	if (choice == SIZE_MAX || cv_ballot_make(&bl, K, g->n_candidates, choice, NULL) != CV_OK ||
	    cv_ballot_sign(&bl, key) != CV_OK || cv_ballot_txid(&bl, txid) != CV_OK) {
		fprintf(stderr, "chainvote vote: the ballot could not be made\n");
		goto out;
	}
	if ((body = cv_ballot_to_json(&bl, false)) == NULL) {
		fprintf(stderr, "chainvote vote: out of memory\n");
		goto out;
	}
	if (cv_http_request(http, "POST", "/api/votes", body, r) != CV_OK || r->status != 202) {
		cli_print_refusal("vote", "the ballot was refused", r);
		goto out;
	}
	*ballot_json = cv_ballot_to_json(&bl, true);
	ok = *ballot_json != NULL ? 0 : -1;
out:
	json_object_put(body);
	cv_ballot_free(&bl);
	cv_block_free(&genesis);
	return ok;
}

int cmd_vote(int argc, char **argv)
{
	static const struct option longopts[] = {
	    CLI_SERVICE_OPTIONS,
	    {"key", required_argument, NULL, OPT_KEY},
	    {"candidate", required_argument, NULL, OPT_CANDIDATE},
	    {"receipt-out", required_argument, NULL, OPT_RECEIPT_OUT},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	cli_service svc = {0};
	const char *key_path = NULL, *candidate = NULL, *receipt_out = NULL;
	cv_privkey *key = NULL;
	cv_http *http = NULL;
	cv_http_reply r = {0};
	json_object *body = NULL, *acc_json, *file = NULL, *ballot = NULL;
	bool secret = false;
	cv_vote vote;
	cv_acceptance acc;
	uint8_t txid[CV_HASH_LEN], stated[CV_HASH_LEN], service_key[CV_KEY_LEN];
	char hex[HEX_HASH];
	int c, status = 1;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_service_opt(c, optarg, &svc))
			continue;
		switch (c) {
		case OPT_KEY:
			key_path = optarg;
			break;
		case OPT_CANDIDATE:
			candidate = optarg;
			break;
		case OPT_RECEIPT_OUT:
			receipt_out = optarg;
			break;
		case OPT_HELP:
			vote_usage(stdout);
			return 0;
		default:
			vote_usage(stderr);
			return 2;
		}
	}
	memset(&vote, 0, sizeof(vote));
	if (svc.url == NULL || key_path == NULL || candidate == NULL || optind != argc ||
	    parse_u32(candidate, 1, UINT32_MAX, &vote.candidate_id) != 0) {
		vote_usage(stderr);
		return 2;
	}
	key = cli_load_key("vote", key_path);
	if (key == NULL)
		goto out;
	http = cli_open_http("vote", &svc);
	if (http == NULL)
		goto out;
	if (election_for_vote(http, vote.candidate_id, vote.election_id, service_key, &secret) != 0)
		goto out;
	if (secret) {
		if (cast_ballot(http, key, vote.candidate_id, vote.election_id, txid, &ballot,
		                &r) != 0)
			goto out;
		goto accepted;
	}
	cv_privkey_public(key, vote.voter_key);
	vote.timestamp = (uint64_t)time(NULL);
	if (cv_vote_sign(&vote, key) != CV_OK) {
		fprintf(stderr, "chainvote vote: signing failed\n");
		goto out;
	}
	cv_vote_txid(&vote, txid);
	body = cv_vote_to_json(&vote, false);
	if (body == NULL) {
		fprintf(stderr, "chainvote vote: out of memory\n");
		goto out;
	}
	if (cv_http_request(http, "POST", "/api/votes", body, &r) != CV_OK ||
	    (r.status != 202 && r.status != 201 && r.status != 200)) {
		cli_print_refusal("vote", "the vote was refused", &r);
		goto out;
	}
	/* the service names the vote by its txid; one that differs is not our vote */
	if (cv_json_get_hex(r.body, "txid", stated, CV_HASH_LEN) != CV_OK ||
	    memcmp(stated, txid, CV_HASH_LEN) != 0) {
		fprintf(stderr, "chainvote vote: the service answered with a different txid\n");
		goto out;
	}
accepted:
	if (cv_json_get_hex(r.body, "txid", stated, CV_HASH_LEN) != CV_OK ||
	    memcmp(stated, txid, CV_HASH_LEN) != 0) {
		fprintf(stderr, "chainvote vote: the service answered with a different txid\n");
		goto out;
	}
	cv_hex_encode(txid, CV_HASH_LEN, hex);
	printf("%s\n", hex);
	fflush(stdout);
	/* accepted; what is left is the evidence of it */
	if (!json_object_object_get_ex(r.body, "acceptance", &acc_json) ||
	    cv_acceptance_from_json(acc_json, &acc) != CV_OK ||
	    memcmp(acc.txid, txid, CV_HASH_LEN) != 0) {
		fprintf(stderr,
		        "chainvote vote: the service's answer carries no acceptance of this "
		        "vote\n");
		goto out;
	}
	if (cv_acceptance_verify(&acc, service_key) != CV_OK) {
		fprintf(stderr,
		        "chainvote vote: the acceptance does not verify under the service's "
		        "published key\n");
		goto out;
	}
	if (receipt_out != NULL) {
		file = secret ? cv_receipt_file_ballot_to_json(ballot, &acc)
		              : cv_receipt_file_to_json(&vote, &acc);
		ballot = NULL; /* the file took it */
		if (file == NULL) {
			fprintf(stderr, "chainvote vote: out of memory\n");
			goto out;
		}
		if (write_new_file("vote", receipt_out,
		                   json_object_to_json_string_ext(file, JSON_C_TO_STRING_PLAIN)) !=
		    0)
			goto out;
	}
	status = 0;
out:
	if (body != NULL)
		json_object_put(body);
	json_object_put(file);
	json_object_put(ballot);
	cv_http_reply_free(&r);
	cli_close_http(http);
	cv_privkey_free(key);
	return status;
}

/* ---- receipt ---- */

static void receipt_usage(FILE *out)
{
	fprintf(out,
	        "usage: chainvote receipt --url URL [--cacert FILE] [--election SLUG] (TXID | "
	        "--receipt FILE)\n"
	        "Fetches the vote TXID, or the vote of the receipt FILE that `chainvote vote\n"
	        "--receipt-out` wrote (whose acceptance is then checked under the service's\n"
	        "published key). When it is committed, fetches its block and checks here that\n"
	        "the block's hash is its header's, that the block's vote at the receipt's index\n"
	        "is the voter's (its payload hashes to TXID, and its signature verifies under the\n"
	        "voter's key: a miner may commit either of a signature's two valid forms), that\n"
	        "the inclusion proof of that vote leads to the block's merkle root, and that\n"
	        "enough of the election's validators approved the block.\n"
	        "In a secret election the same holds of a ballot: its txid is the receipt, and\n"
	        "the block's ballot at the index must hash to it and be signed by the voter\n"
	        "(its choice stays encrypted: the receipt shows the ballot was counted as cast,\n"
	        "not what it says).\n" CACERT_HELP
	        "Exit status: 0 pending or committed and verified, 1 unknown or a check failed,\n"
	        "2 usage.\n");
}

/* The receipt fields of GET /api/votes/{txid} for a committed vote. */
typedef struct receipt {
	uint64_t height, index, tree_size;
	uint8_t block_hash[CV_HASH_LEN];
	size_t path_len;
	uint8_t path[CV_MERKLE_MAX_PATH][CV_HASH_LEN];
} receipt;

static int receipt_from_json(json_object *o, receipt *rc)
{
	json_object *path;

	if (cv_json_get_u64(o, "height", UINT64_MAX, &rc->height) != CV_OK ||
	    cv_json_get_hex(o, "block_hash", rc->block_hash, CV_HASH_LEN) != CV_OK ||
	    cv_json_get_u64(o, "index", UINT64_MAX, &rc->index) != CV_OK ||
	    cv_json_get_u64(o, "tree_size", UINT64_MAX, &rc->tree_size) != CV_OK ||
	    cv_json_get_array(o, "path", &path) != CV_OK ||
	    json_object_array_length(path) > CV_MERKLE_MAX_PATH)
		return -1;
	rc->path_len = json_object_array_length(path);
	for (size_t i = 0; i < rc->path_len; i++) {
		json_object *h = json_object_array_get_idx(path, i);
		if (!json_object_is_type(h, json_type_string) ||
		    cv_hex_decode(json_object_get_string(h), rc->path[i], CV_HASH_LEN) != CV_OK)
			return -1;
	}
	return 0;
}

/* What a receipt check says when a vote is not the voter's (cv_receipt_match). */
static const char *mismatch_text(cv_err e)
{
	switch (e) {
	case CV_E_BAD_HASH:
		return "its payload is not the one the txid names";
	case CV_E_BAD_KEY:
		return "it is another voter's vote";
	default:
		return "its signature does not verify under the voter's key";
	}
}

/* Leaf `index` of a committed block, the voter's: its election and its leaf hash, or -1
 * with the reason printed. A secret election's ballot block holds ballots only, an open
 * election's block votes only: either way the leaves are exactly its items. */
static int committed_leaf(const cv_block *block, const char *id, const uint8_t txid[CV_HASH_LEN],
                          const uint8_t voter_key[CV_KEY_LEN], uint64_t index,
                          uint8_t election_id[CV_HASH_LEN], uint8_t leaf_hash[CV_HASH_LEN])
{
	const bool ballots = block->n_ballots > 0;
	cv_buf leaf = {0};
	cv_err err;

	/* the block's own copy is what the chain holds: it must be the voter's item */
	if (ballots) {
		const cv_ballot *b = &block->ballots[index];

		err = cv_receipt_match_ballot(b, txid, voter_key);
		if (err == CV_OK && (err = cv_ballot_leaf(b, &leaf)) == CV_OK) {
			cv_merkle_leaf_hash(leaf.data, leaf.len, leaf_hash);
			memcpy(election_id, b->election_id, CV_HASH_LEN);
		}
		cv_buf_free(&leaf);
	} else {
		const cv_vote *v = &block->votes[index];

		err = cv_receipt_match(v, txid, voter_key);
		if (err == CV_OK) {
			cv_vote_leaf_hash(v, leaf_hash);
			memcpy(election_id, v->election_id, CV_HASH_LEN);
		}
	}
	if (err != CV_OK)
		fprintf(stderr,
		        "chainvote receipt: block %s's %s at index %" PRIu64 " is not yours: %s\n",
		        id, ballots ? "ballot" : "vote", index, mismatch_text(err));
	return err == CV_OK ? 0 : -1;
}

/* The checks of a committed receipt of vote or ballot txid (voter_key: the voter's, or
 * NULL to take the key the payload names); prints the first failure and returns -1. */
static int check_receipt(cv_http *http, const uint8_t txid[CV_HASH_LEN],
                         const uint8_t voter_key[CV_KEY_LEN], const receipt *rc)
{
	cv_block block = {0}, genesis = {0};
	uint8_t leaf_hash[CV_HASH_LEN], election_id[CV_HASH_LEN];
	char id[32], hex[HEX_HASH];
	size_t bad = SIZE_MAX;
	cv_err err;
	int ok = -1;

	snprintf(id, sizeof(id), "%" PRIu64, rc->height);
	if (rc->height == 0 || cli_fetch_block("receipt", http, id, &block) != 0)
		goto out;
	if (memcmp(block.hash, rc->block_hash, CV_HASH_LEN) != 0 ||
	    block.header.height != rc->height) {
		fprintf(stderr, "chainvote receipt: block %s is not the block the receipt names\n",
		        id);
		goto out;
	}
	if (cli_fetch_block("receipt", http, "0", &genesis) != 0)
		goto out;
	if (block.header.difficulty != genesis.genesis->election.difficulty ||
	    !cv_pow_ok(block.hash, block.header.difficulty)) {
		fprintf(stderr, "chainvote receipt: block %s has no valid proof of work\n", id);
		goto out;
	}
	if (rc->tree_size != block.n_votes + block.n_ballots || block.n_decryptions != 0 ||
	    block.has_seal || rc->index >= rc->tree_size) {
		fprintf(stderr,
		        "chainvote receipt: the receipt's leaf index or tree size does not fit "
		        "block %s\n",
		        id);
		goto out;
	}
	if (committed_leaf(&block, id, txid, voter_key, rc->index, election_id, leaf_hash) != 0)
		goto out;
	if (memcmp(election_id, genesis.hash, CV_HASH_LEN) != 0) {
		fprintf(stderr, "chainvote receipt: the vote is for another election\n");
		goto out;
	}
	if (!cv_merkle_verify(leaf_hash, rc->index, rc->tree_size,
	                      (const uint8_t(*)[CV_HASH_LEN])rc->path, rc->path_len,
	                      block.header.merkle_root)) {
		fprintf(stderr,
		        "chainvote receipt: the inclusion proof does not lead to block %s's merkle "
		        "root\n",
		        id);
		goto out;
	}
	err = cv_check_approvals(genesis.genesis, block.hash, block.approvals, block.n_approvals,
	                         &bad);
	if (err != CV_OK) {
		fprintf(stderr, "chainvote receipt: block %s's approvals do not hold: %s\n", id,
		        cv_err_message(err));
		goto out;
	}
	cv_hex_encode(block.hash, CV_HASH_LEN, hex);
	printf("committed in block %" PRIu64
	       " (%s), inclusion proof verified, approved by %zu validators (threshold %u)\n",
	       rc->height, hex, block.n_approvals, genesis.genesis->election.threshold);
	ok = 0;
out:
	cv_block_free(&block);
	cv_block_free(&genesis);
	return ok;
}

/* Reads a receipt file: a vote's (cv_receipt_file_from_json) or a ballot's
 * (cv_receipt_file_ballot_from_json), into *acc and the voter's key. 0 on success, -1
 * with a message printed. */
static int load_receipt_file(const char *prog, const char *path, uint8_t voter_key[CV_KEY_LEN],
                             cv_acceptance *acc)
{
	size_t len;
	char *text = cli_read_file(prog, path, KEYFILE_MAX, &len);
	json_object *o = NULL;
	cv_ballot ballot;
	cv_vote vote;
	cv_err err;

	if (text == NULL)
		return -1;
	err = cv_json_parse(text, len, &o);
	if (err == CV_OK && cv_receipt_file_is_ballot(o)) {
		err = cv_receipt_file_ballot_from_json(o, &ballot, acc);
		if (err == CV_OK) {
			memcpy(voter_key, ballot.voter_key, CV_KEY_LEN);
			cv_ballot_free(&ballot);
		}
	} else if (err == CV_OK && (err = cv_receipt_file_from_json(o, &vote, acc)) == CV_OK) {
		memcpy(voter_key, vote.voter_key, CV_KEY_LEN);
	}
	json_object_put(o);
	free(text);
	if (err != CV_OK)
		fprintf(stderr, "chainvote %s: %s is not a receipt file (%s)\n", prog, path,
		        cv_err_code(err));
	return err == CV_OK ? 0 : -1;
}

/* Whether the item of GET /api/votes/{txid}'s answer (its "vote", or a secret election's
 * "ballot") is the one txid names, by voter_key when not NULL. 0, or -1 with the reason
 * printed. */
static int answered_item_matches(const json_object *body, const uint8_t txid[CV_HASH_LEN],
                                 const uint8_t voter_key[CV_KEY_LEN], const char *path)
{
	json_object *item;
	cv_ballot ballot;
	cv_vote vote;
	cv_err err;

	if (json_object_object_get_ex(body, "ballot", &item)) {
		if (cv_ballot_from_json(item, &ballot) != CV_OK) {
			fprintf(stderr, "chainvote receipt: %s: malformed reply\n", path);
			return -1;
		}
		err = cv_receipt_match_ballot(&ballot, txid, voter_key);
		cv_ballot_free(&ballot);
	} else if (json_object_object_get_ex(body, "vote", &item) &&
	           cv_vote_from_json(item, &vote) == CV_OK) {
		err = cv_receipt_match(&vote, txid, voter_key);
	} else {
		fprintf(stderr, "chainvote receipt: %s: malformed reply\n", path);
		return -1;
	}
	if (err != CV_OK) {
		fprintf(stderr,
		        "chainvote receipt: the service returned a vote that is not yours: %s\n",
		        mismatch_text(err));
		return -1;
	}
	return 0;
}

/* Checks a receipt file's acceptance under the service key GET /api/election publishes
 * and prints when the vote was accepted. 0 on success, -1 with a message printed. */
static int check_acceptance(cv_http *http, const cv_acceptance *acc)
{
	cv_http_reply r = {0};
	uint8_t service_key[CV_KEY_LEN];
	int ok = -1;

	if (cli_get_json("receipt", http, "/api/election", &r) != 0 ||
	    service_key_of("receipt", r.body, service_key) != 0)
		goto out;
	if (cv_acceptance_verify(acc, service_key) != CV_OK) {
		fprintf(stderr, "chainvote receipt: the receipt's acceptance does not verify under "
		                "the service's published key\n");
		goto out;
	}
	printf("accepted by the service at %" PRIu64 " (signature verified)\n", acc->accepted_at);
	ok = 0;
out:
	cv_http_reply_free(&r);
	return ok;
}

int cmd_receipt(int argc, char **argv)
{
	static const struct option longopts[] = {
	    CLI_SERVICE_OPTIONS,
	    {"receipt", required_argument, NULL, OPT_RECEIPT},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	cli_service svc = {0};
	const char *receipt_path = NULL;
	uint8_t txid[CV_HASH_LEN];
	uint8_t mine[CV_KEY_LEN];
	const uint8_t *voter_key = NULL;
	cv_http *http = NULL;
	cv_http_reply r = {0};
	json_object *st;
	const char *state;
	cv_acceptance acc;
	receipt *rc = NULL;
	char path[128], hex[HEX_HASH];
	int c, status = 1;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_service_opt(c, optarg, &svc))
			continue;
		switch (c) {
		case OPT_RECEIPT:
			receipt_path = optarg;
			break;
		case OPT_HELP:
			receipt_usage(stdout);
			return 0;
		default:
			receipt_usage(stderr);
			return 2;
		}
	}
	if (svc.url == NULL || argc - optind != (receipt_path == NULL ? 1 : 0)) {
		receipt_usage(stderr);
		return 2;
	}
	if (receipt_path != NULL) {
		if (load_receipt_file("receipt", receipt_path, mine, &acc) != 0)
			return 1;
		memcpy(txid, acc.txid, CV_HASH_LEN);
		voter_key = mine;
	} else if (cli_parse_hash("receipt", "TXID", argv[optind], txid) != 0) {
		return 2;
	}
	http = cli_open_http("receipt", &svc);
	if (http == NULL)
		goto out;
	if (receipt_path != NULL && check_acceptance(http, &acc) != 0)
		goto out;
	cv_hex_encode(txid, CV_HASH_LEN, hex);
	snprintf(path, sizeof(path), "/api/votes/%s", hex);
	if (cli_get_json("receipt", http, path, &r) != 0)
		goto out;
	if (!json_object_object_get_ex(r.body, "status", &st) ||
	    !json_object_is_type(st, json_type_string)) {
		fprintf(stderr, "chainvote receipt: %s: malformed reply\n", path);
		goto out;
	}
	if (answered_item_matches(r.body, txid, voter_key, path) != 0)
		goto out;
	state = json_object_get_string(st);
	if (strcmp(state, "pending") == 0) {
		printf("pending\n");
		status = 0;
		goto out;
	}
	if (strcmp(state, "committed") != 0) {
		fprintf(stderr, "chainvote receipt: unknown vote status\n");
		goto out;
	}
	rc = calloc(1, sizeof(*rc));
	if (rc == NULL) {
		fprintf(stderr, "chainvote receipt: out of memory\n");
		goto out;
	}
	if (receipt_from_json(r.body, rc) != 0) {
		fprintf(stderr, "chainvote receipt: %s: malformed receipt\n", path);
		goto out;
	}
	if (check_receipt(http, txid, voter_key, rc) == 0)
		status = 0;
out:
	free(rc);
	cv_http_reply_free(&r);
	cli_close_http(http);
	return status;
}
