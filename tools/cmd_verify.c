/* `chainvote verify` and `chainvote keygen`: the auditor's offline check of a chain
 * export (from a file, stdin or a running service) against every rule, with the voters'
 * receipts when given, and new key files. Both only call the library; no rule is
 * written here. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acceptance.h"
#include "cmd.h"
#include "crypto.h"
#include "json.h"
#include "rules.h"
#include "store.h"

/* The export is read as a stream (a million votes is about 600 MB of JSON): only
 * one block's text is held at a time, and each block parsed goes to the verifier,
 * which checks its signatures while the next is read. */
#define EXPORT_PATH   "/chain/export" /* after the API's root: /api or /api/e/SLUG */
#define ELECTION_PATH "/election"
#define ELECTION_MAX  (1024 * 1024) /* GET /api/election: a few KB */
#define RECEIPT_MAX   (64 * 1024)   /* a receipt file is about 700 bytes */

/* ---- reporting ---- */

typedef struct report_state {
	size_t problems;
} report_state;

/* What reading the export feeds: the stream's parser hands each block to the verifier;
 * rc is the parser's first error (the read stops there). */
typedef struct audit {
	report_state st; /* first: the parser's txid callback and the reporter take it */
	cv_chain_reader *reader;
	cv_verifier *verifier;
	cv_err rc;
} audit;

/* ---- reading the export ---- */

static cv_err take_block(void *ctx, size_t index, cv_block *b)
{
	audit *a = ctx;

	(void)index;
	return cv_verifier_add(a->verifier, b);
}

/* Feeds n bytes to the parser: 0, or -1 once it has refused the input. */
static int feed(audit *a, const char *p, size_t n)
{
	if (a->rc == CV_OK)
		a->rc = cv_chain_reader_feed(a->reader, p, n);
	return a->rc == CV_OK ? 0 : -1;
}

static int read_stream(FILE *f, audit *a)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (feed(a, chunk, n) != 0)
			return 0; /* the parser's error is reported as a problem, not as unreadable
			           */
	return ferror(f) ? -1 : 0;
}

static size_t curl_to_audit(char *p, size_t size, size_t nmemb, void *userdata)
{
	/* a short count makes libcurl stop the transfer with CURLE_WRITE_ERROR */
	return feed(userdata, p, size * nmemb) == 0 ? size * nmemb : 0;
}

static size_t curl_to_buf(char *p, size_t size, size_t nmemb, void *userdata)
{
	cv_buf *b = userdata;

	if (b->len + size * nmemb > ELECTION_MAX || cv_buf_put(b, p, size * nmemb) != CV_OK)
		return 0;
	return size * nmemb;
}

/* --cacert: the CA file a service's certificate is checked against (NULL: the system's). */
static const char *verify_cacert;
/* The API's root of the election asked for: /api, or /api/e/SLUG with --election. */
static char verify_api[64] = "/api";

/* GETs base + path into write(userdata). 0 on a 200, -1 with a message printed; a
 * transfer the writer stopped is 0 (the writer reports its own reason). */
static int fetch(const char *base, const char *path,
                 size_t (*write)(char *, size_t, size_t, void *), void *userdata, const audit *a)
{
	size_t len = strlen(base), api = strlen(verify_api);
	char *url = malloc(len + api + strlen(path) + 1);
	CURL *curl = NULL;
	long status = 0;
	CURLcode cc;
	int rc = -1;

	if (url == NULL)
		return -1;
	memcpy(url, base, len + 1);
	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
	memcpy(url + len, verify_api, api);
	memcpy(url + len + api, path, strlen(path) + 1);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (curl = curl_easy_init()) == NULL)
		goto out;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	/* the certificate is always checked, against --cacert when given */
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (verify_cacert != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, verify_cacert);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 20L);
	/* the export may come compressed: libcurl inflates it before the writer */
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, userdata);
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_WRITE_ERROR && a != NULL && a->rc != CV_OK && status == 200) {
		rc = 0;
		goto out;
	}
	if (cc != CURLE_OK) {
		fprintf(stderr, "chainvote verify: %s: %s\n", url, curl_easy_strerror(cc));
		goto out;
	}
	if (status != 200) {
		fprintf(stderr, "chainvote verify: %s: HTTP status %ld\n", url, status);
		goto out;
	}
	rc = 0;
out:
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	free(url);
	return rc;
}

/* Reads the export from src into the parser. 0, or -1 when unreadable (printed). */
static int load(const char *src, audit *a)
{
	FILE *f;
	int rc;

	if (strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0)
		return fetch(src, EXPORT_PATH, curl_to_audit, a, a);
	if (strcmp(src, "-") == 0)
		return read_stream(stdin, a);
	if ((f = fopen(src, "rb")) == NULL) {
		fprintf(stderr, "chainvote verify: %s: %s\n", src, strerror(errno));
		return -1;
	}
	rc = read_stream(f, a);
	fclose(f);
	if (rc != 0)
		fprintf(stderr, "chainvote verify: %s: unreadable\n", src);
	return rc;
}

static void print_problem(void *ctx, int64_t height, int64_t vote, cv_err code, const char *detail)
{
	report_state *st = ctx;

	st->problems++;
	if (height < 0)
		printf("chain: %s: %s\n", cv_err_code(code), detail);
	else if (vote < 0)
		printf("height %" PRId64 ": %s: %s\n", height, cv_err_code(code), detail);
	else
		printf("height %" PRId64 ": %s: vote %" PRId64 ": %s\n", height, cv_err_code(code),
		       vote, detail);
}

/* A secret election (DESIGN section 6.1): the ballot count, whether it is sealed (ready
 * to decrypt), the trustees whose shares are valid, then the tally or `pending`. */
static void print_secret(const cv_chain *chain, const cv_tally *t, bool valid)
{
	const cv_genesis *g = chain->blocks[0].genesis;
	char hex[17];

	printf("secret election: %" PRIu64 " ballot%s\n", t->ballots, t->ballots == 1 ? "" : "s");
	if (t->sealed)
		printf("sealed: ready to decrypt\n");
	else
		printf("not sealed: ballots may still come\n");
	printf("trustees with valid shares: %zu of %zu (quorum %u)\n", t->n_share_trustees,
	       g->secrecy->n_trustees, (unsigned)g->secrecy->quorum);
	for (size_t i = 0; i < t->n_share_trustees; i++) {
		const cv_trustee *tr = &g->secrecy->trustees[t->share_trustees[i]];
		const cv_validator *v = cv_genesis_validator(g, tr->validator_key);

		cv_hex_encode(tr->validator_key, 8, hex);
		printf("trustee %zu (%s, %s…)\n", t->share_trustees[i] + 1, v ? v->name : "?", hex);
	}
	if (t->pending) {
		printf("tally: pending\n");
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		const cv_candidate *cand = cv_genesis_candidate(g, t->ids[i]);

		printf("candidate %u (%s): %" PRIu64 "\n", (unsigned)t->ids[i],
		       cand ? cand->name : "?", t->votes[i]);
	}
	if (valid)
		printf("final: decrypted%s\n", t->final ? ", sealed" : "");
}

/* The changes of the parameters the chain carries (docs/GOVERNANCE.md), one line each,
 * before the tally: whether each broke a rule is among the problems printed above. */
static void print_changes(const cv_chain *chain)
{
	const cv_genesis *g = chain->blocks[0].genesis;
	char old_hex[17], new_hex[17];

	for (size_t h = 1; h < chain->n_blocks; h++) {
		const cv_change *c = chain->blocks[h].change;
		const cv_validator *v;

		if (c == NULL)
			continue;
		printf("change at height %zu, in force from %" PRIu64 ", %zu signatures: ", h,
		       c->effective_height, c->n_signatures);
		switch (c->kind) {
		case CV_CHANGE_CLOSES:
			printf("closes %" PRIu64 "\n", c->closes);
			break;
		case CV_CHANGE_DIFFICULTY:
			printf("difficulty %u\n", (unsigned)c->difficulty);
			break;
		case CV_CHANGE_VALIDATOR_KEY:
			v = g != NULL ? cv_genesis_validator(g, c->old_key) : NULL;
			cv_hex_encode(c->old_key, 8, old_hex);
			cv_hex_encode(c->new_key, 8, new_hex);
			printf("validator key %s… (%s) replaced by %s…\n", old_hex,
			       v != NULL ? v->name : "not a genesis key", new_hex);
			break;
		default:
			printf("unknown kind %u\n", (unsigned)c->kind);
		}
	}
}

static void bad_txid(void *ctx, size_t block, size_t vote)
{
	print_problem(ctx, (int64_t)block, (int64_t)vote, CV_E_BAD_HASH,
	              "the stated txid is not the hash of the payload");
}

/* ---- receipts: accepted votes the chain must hold ---- */

static int txid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, CV_HASH_LEN);
}

/* The txids of every vote (a secret election's: every ballot) in the chain, sorted, in a malloc'd
 * array (caller frees); NULL when out of memory. */
static uint8_t (*chain_txids(const cv_chain *chain, size_t *n))[CV_HASH_LEN]
{
	uint8_t(*ids)[CV_HASH_LEN];
	size_t total = 0;

	for (size_t b = 1; b < chain->n_blocks; b++)
		total += chain->blocks[b].n_votes + chain->blocks[b].n_ballots;
	ids = malloc((total ? total : 1) * sizeof *ids);
	if (ids == NULL)
		return NULL;
	*n = 0;
	for (size_t b = 1; b < chain->n_blocks; b++) {
		for (size_t v = 0; v < chain->blocks[b].n_votes; v++)
			cv_vote_txid(&chain->blocks[b].votes[v], ids[(*n)++]);
		for (size_t v = 0; v < chain->blocks[b].n_ballots; v++)
			if (cv_ballot_txid(&chain->blocks[b].ballots[v], ids[*n]) == CV_OK)
				(*n)++;
	}
	qsort(ids, *n, sizeof *ids, txid_cmp);
	return ids;
}

/* Reads one receipt file, a vote's (cv_receipt_file_from_json) or a ballot's
 * (cv_receipt_file_ballot_from_json): its acceptance and the election it names. */
static cv_err read_receipt(const char *path, uint8_t election_id[CV_HASH_LEN], cv_acceptance *acc)
{
	cv_ballot ballot;
	cv_vote vote;
	FILE *f = fopen(path, "rb");
	char text[RECEIPT_MAX + 1];
	json_object *o = NULL;
	size_t n;
	cv_err e;

	if (f == NULL)
		return CV_E_IO;
	n = fread(text, 1, sizeof text, f);
	e = ferror(f) ? CV_E_IO : n > RECEIPT_MAX ? CV_E_TOO_LARGE : CV_OK;
	fclose(f);
	if (e == CV_OK)
		e = cv_json_parse(text, n, &o);
	if (e == CV_OK && cv_receipt_file_is_ballot(o)) {
		if ((e = cv_receipt_file_ballot_from_json(o, &ballot, acc)) == CV_OK) {
			memcpy(election_id, ballot.election_id, CV_HASH_LEN);
			cv_ballot_free(&ballot);
		}
	} else if (e == CV_OK && (e = cv_receipt_file_from_json(o, &vote, acc)) == CV_OK) {
		memcpy(election_id, vote.election_id, CV_HASH_LEN);
	}
	json_object_put(o);
	return e;
}

static int json_name(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] != '.' && len > 5 && strcmp(d->d_name + len - 5, ".json") == 0;
}

/* Checks every receipt file (*.json) in dir against the chain: its acceptance must
 * verify under service_key, and its vote must be in the chain. A vote missing from a
 * sealed chain is a problem; from an unsealed one it is reported as pending. Prints a
 * line per receipt that is not in the chain and a summary; problems go to st. */
/* sealed: the verifier found the chain final (a valid seal): only then is an accepted
 * vote missing from it a problem; before, it may still be pending. */
static void check_receipts(const char *dir, const uint8_t service_key[CV_KEY_LEN],
                           const cv_chain *chain, report_state *st, bool sealed)
{
	struct dirent **names = NULL;
	uint8_t(*ids)[CV_HASH_LEN] = NULL;
	size_t n_ids = 0, present = 0, missing = 0, pending = 0, bad = 0;
	char path[4096], why[160], hex[2 * CV_HASH_LEN + 1];
	int n;

	n = scandir(dir, &names, json_name, alphasort);
	if (n < 0) {
		snprintf(why, sizeof why, "cannot read the receipts directory %s", dir);
		print_problem(st, -1, -1, CV_E_IO, why);
		return;
	}
	if ((ids = chain_txids(chain, &n_ids)) == NULL) {
		print_problem(st, -1, -1, CV_E_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		uint8_t election_id[CV_HASH_LEN];
		cv_acceptance acc;
		cv_err e;

		snprintf(path, sizeof path, "%s/%s", dir, name);
		if ((e = read_receipt(path, election_id, &acc)) != CV_OK) {
			printf("receipt %s: %s: not a receipt file\n", name, cv_err_code(e));
			bad++;
			continue;
		}
		cv_hex_encode(acc.txid, CV_HASH_LEN, hex);
		if (cv_acceptance_verify(&acc, service_key) != CV_OK) {
			printf(
			    "receipt %s: bad_signature: the acceptance of %s does not verify under "
			    "the service key\n",
			    name, hex);
			bad++;
			continue;
		}
		if (chain->n_blocks > 0 &&
		    memcmp(election_id, chain->blocks[0].hash, CV_HASH_LEN) != 0) {
			printf("receipt %s: wrong_election: vote %s is for another election\n",
			       name, hex);
			bad++;
			continue;
		}
		if (bsearch(acc.txid, ids, n_ids, sizeof *ids, txid_cmp) != NULL) {
			present++;
		} else if (sealed) {
			printf("receipt %s: missing: vote %s, accepted at %" PRIu64
			       ", is not in the sealed chain\n",
			       name, hex, acc.accepted_at);
			missing++;
		} else {
			printf("receipt %s: pending: vote %s, accepted at %" PRIu64
			       ", is not in the chain yet (the chain is not sealed)\n",
			       name, hex, acc.accepted_at);
			pending++;
		}
	}
	st->problems += bad + missing;
	printf("receipts: %d checked, %zu in the chain, %zu missing, %zu pending, %zu unusable\n",
	       n, present, missing, pending, bad);
out:
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(ids);
}

/* The service key to check acceptances with: --service-key HEX, or else the
 * service_key of URL/api/election. 0 on success, -1 with a message printed. */
static int receipts_key(const char *src, const char *key_hex, uint8_t key[CV_KEY_LEN])
{
	cv_buf text = {0};
	json_object *o = NULL;
	int rc = -1;

	if (key_hex != NULL) {
		if (cv_hex_decode(key_hex, key, CV_KEY_LEN) == CV_OK &&
		    cv_pubkey_check(key) == CV_OK)
			return 0;
		fprintf(stderr, "chainvote verify: --service-key wants a P-256 public key "
		                "(130 lowercase hex digits, 04 || X || Y)\n");
		return -1;
	}
	if (fetch(src, ELECTION_PATH, curl_to_buf, &text, NULL) != 0)
		goto out;
	if (cv_json_parse(text.data ? (const char *)text.data : "", text.len, &o) != CV_OK ||
	    cv_json_get_hex(o, "service_key", key, CV_KEY_LEN) != CV_OK ||
	    cv_pubkey_check(key) != CV_OK) {
		fprintf(stderr, "chainvote verify: %s%s: no valid service_key\n", src,
		        ELECTION_PATH);
		goto out;
	}
	rc = 0;
out:
	json_object_put(o);
	cv_buf_free(&text);
	return rc;
}

static void verify_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: chainvote verify [--cacert FILE] [--election SLUG]\n"
	    "                        [--receipts DIR [--service-key HEX]] FILE|-|URL\n"
	    "\n"
	    "Checks a chain export against every rule of the chain: genesis, links, proof\n"
	    "of work, merkle roots, every vote's signature, roll, candidate and time, one\n"
	    "vote per voter, and the validators' approvals. FILE is an export file, - reads\n"
	    "stdin, and an http(s) URL fetches URL/api%s from a running service (its\n"
	    "certificate checked against the system's CAs, or the CA file --cacert names;\n"
	    "--election SLUG: that election's, URL/api/e/SLUG%s).\n"
	    "Prints each problem as \"height H: code: detail\", then the tally, whether\n"
	    "it is final (\"final: sealed, closed at T\": the chain carries the seal that\n"
	    "closes the election) or \"provisional: not sealed\", then \"valid\" or\n"
	    "\"INVALID: N problems\".\n"
	    "With --receipts, every receipt file (*.json, as `chainvote vote --receipt-out`\n"
	    "and the vote page write them) in DIR is checked: its acceptance must verify\n"
	    "under the service's key (--service-key, or the service_key of URL/api%s), and its\n"
	    "vote must be in the chain. An accepted vote missing from a sealed chain is a\n"
	    "problem; while the chain is not sealed it is reported as pending. A secret\n"
	    "election's receipt holds the ballot: its txid must be a ballot in the chain.\n"
	    "Exit status: 0 valid, 1 problems found or input unreadable, 2 usage error.\n",
	    EXPORT_PATH, EXPORT_PATH, ELECTION_PATH);
}

enum { OPT_RECEIPTS = 256, OPT_SERVICE_KEY, OPT_CACERT, OPT_ELECTION };

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"receipts", required_argument, NULL, OPT_RECEIPTS},
	    {"service-key", required_argument, NULL, OPT_SERVICE_KEY},
	    {"cacert", required_argument, NULL, OPT_CACERT},
	    {"election", required_argument, NULL, OPT_ELECTION},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	audit a = {0};
	report_state *st = &a.st;
	const cv_chain *chain;
	cv_tally tally = {0};
	const char *receipts = NULL, *key_hex = NULL, *src;
	uint8_t service_key[CV_KEY_LEN];
	int c, status = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_RECEIPTS:
			receipts = optarg;
			break;
		case OPT_SERVICE_KEY:
			key_hex = optarg;
			break;
		case OPT_CACERT:
			if (access(optarg, R_OK) != 0) {
				fprintf(stderr, "chainvote verify: --cacert %s: %s\n", optarg,
				        strerror(errno));
				return 2;
			}
			verify_cacert = optarg;
			break;
		case OPT_ELECTION:
			if (!cv_election_slug_ok(optarg)) {
				fprintf(stderr,
				        "chainvote verify: --election wants 1-32 characters of "
				        "a-z, 0-9 and -\n");
				return 2;
			}
			snprintf(verify_api, sizeof verify_api, "/api/e/%s", optarg);
			break;
		case 'h':
			verify_usage(stdout);
			return 0;
		default:
			verify_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1 || (key_hex != NULL && receipts == NULL)) {
		verify_usage(stderr);
		return 2;
	}
	src = argv[optind];
	if (receipts != NULL && key_hex == NULL && strncmp(src, "http://", 7) != 0 &&
	    strncmp(src, "https://", 8) != 0) {
		fprintf(stderr, "chainvote verify: --receipts with a file needs --service-key\n");
		return 2;
	}
	if (receipts != NULL && receipts_key(src, key_hex, service_key) != 0)
		goto out;
	a.verifier = cv_verifier_new();
	a.reader = cv_chain_reader_new(take_block, bad_txid, &a);
	if (a.verifier == NULL || a.reader == NULL) {
		fprintf(stderr, "chainvote verify: out of memory\n");
		goto out;
	}
	if (load(src, &a) != 0)
		goto out;
	if (a.rc == CV_OK)
		a.rc = cv_chain_reader_end(a.reader);
	if (a.rc != CV_OK) {
		const char *why = cv_chain_reader_why(a.reader);

		print_problem(st, -1, -1, a.rc,
		              why[0]                   ? why
		              : a.rc == CV_E_MALFORMED ? "the input is not one strict JSON value"
		              : a.rc == CV_E_TOO_LARGE ? "a value of the input is too large"
		                                       : cv_err_message(a.rc));
		goto done;
	}
	/* print_problem counts as it prints, the txid problems of the parse included */
	(void)cv_verifier_finish(a.verifier, print_problem, st, &tally);
	chain = cv_verifier_chain(a.verifier);
	print_changes(chain);
	if (tally.secret) {
		print_secret(chain, &tally, st->problems == 0);
		goto receipts;
	}
	for (size_t i = 0; i < tally.n; i++) {
		const cv_candidate *cand =
		    cv_genesis_candidate(chain->blocks[0].genesis, tally.ids[i]);

		printf("candidate %u (%s): %" PRIu64 "\n", (unsigned)tally.ids[i],
		       cand ? cand->name : "?", tally.votes[i]);
	}
	if (st->problems == 0) {
		if (tally.final)
			printf("final: sealed, closed at %" PRIu64 "\n", tally.closed_at);
		else
			printf("provisional: not sealed\n");
	}
receipts:
	if (receipts != NULL)
		check_receipts(receipts, service_key, chain, st, tally.final);
done:
	if (st->problems == 0) {
		printf("valid\n");
		status = 0;
	} else {
		printf("INVALID: %zu problem%s\n", st->problems, st->problems == 1 ? "" : "s");
	}
out:
	cv_tally_free(&tally);
	cv_chain_reader_free(a.reader);
	cv_verifier_free(a.verifier);
	return status;
}

/* ---- keygen ---- */

static void keygen_usage(FILE *out)
{
	fprintf(out, "usage: chainvote keygen [-o FILE]\n"
	             "\n"
	             "Generates a P-256 key and writes it as a key file (chainvote-key/1 JSON):\n"
	             "to FILE (created with mode 0600, never overwritten; the public key is then\n"
	             "printed on stderr) or else to stdout.\n");
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	cv_privkey *key = NULL;
	uint8_t pub[CV_KEY_LEN];
	char hex[2 * CV_KEY_LEN + 1], *text = NULL;
	int c, fd = -1, status = 1;
	size_t len, off = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			path = optarg;
			break;
		case 'h':
			keygen_usage(stdout);
			return 0;
		default:
			keygen_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		keygen_usage(stderr);
		return 2;
	}
	if (cv_privkey_generate(&key) != CV_OK || cv_keyfile_format(key, &text) != CV_OK) {
		fprintf(stderr, "chainvote keygen: could not generate a key\n");
		goto out;
	}
	len = strlen(text);
	if (path == NULL) {
		status = fwrite(text, 1, len, stdout) == len && putchar('\n') != EOF ? 0 : 1;
		goto out;
	}
	/* O_EXCL: a key file that exists may be the only copy of someone's key */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "chainvote keygen: %s: %s\n", path, strerror(errno));
		goto out;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "chainvote keygen: %s: %s\n", path, strerror(errno));
			unlink(path);
			goto out;
		}
		off += (size_t)w;
	}
	if (write(fd, "\n", 1) != 1 || fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		fprintf(stderr, "chainvote keygen: %s: %s\n", path, strerror(errno));
		unlink(path);
		goto out;
	}
	fd = -1;
	cv_privkey_public(key, pub);
	cv_hex_encode(pub, CV_KEY_LEN, hex);
	fprintf(stderr, "%s\n", hex);
	status = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	cv_privkey_free(key);
	return status;
}
