/* The client commands of `chainvote`: vote, approve, reject and receipt talk to a running
 * service over HTTP. Nothing the service says is taken on trust where it can be checked
 * here: a validator re-checks a proposal with the library's rules before signing it, a
 * vote's acceptance is verified under the service's published key, and a receipt is
 * verified against the block's header, merkle root and approvals. */
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
#include "cmd.h"
#include "http.h"
#include "json.h"
#include "merkle.h"
#include "pow.h"
#include "rules.h"

#define KEYFILE_MAX (64 * 1024)
#define HEX_HASH    (2 * CV_HASH_LEN + 1)

/* Reads at most max bytes of path into a malloc'd NUL-terminated buffer (caller frees).
 * Returns NULL with a message printed when the file cannot be read or is too long. */
static char *read_small_file(const char *prog, const char *path, size_t max, size_t *len)
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
static cv_privkey *load_key(const char *prog, const char *path)
{
	cv_privkey *key = NULL;
	size_t len;
	char *text = read_small_file(prog, path, KEYFILE_MAX, &len);
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

static void close_http(cv_http *h)
{
	if (h == NULL)
		return;
	cv_http_close(h);
	cv_http_global_cleanup();
}

/* Opens an HTTP handle on url, trusting the CA certificates in cacert (NULL: the
 * system's) for HTTPS, asking election's API (NULL: the default election's); NULL with a message
 * printed on failure. Pair with close_http. */
static cv_http *open_http(const char *prog, const char *url, const char *cacert,
                          const char *election)
{
	cv_http *h = NULL;
	cv_err err;

	if (cv_http_global_init() != CV_OK) {
		fprintf(stderr, "chainvote %s: cannot initialise libcurl\n", prog);
		return NULL;
	}
	if (cv_http_open(url, &h) != CV_OK) {
		fprintf(stderr, "chainvote %s: --url wants http://HOST[:PORT] or https://…\n",
		        prog);
		cv_http_global_cleanup();
		return NULL;
	}
	if (cacert != NULL && (err = cv_http_set_cacert(h, cacert)) != CV_OK) {
		fprintf(stderr, "chainvote %s: --cacert %s: cannot read it (%s)\n", prog, cacert,
		        cv_err_code(err));
		close_http(h);
		return NULL;
	}
	if (election != NULL && cv_http_set_election(h, election) != CV_OK) {
		fprintf(stderr,
		        "chainvote %s: --election wants 1-32 characters of a-z, 0-9 and -\n", prog);
		close_http(h);
		return NULL;
	}
	return h;
}

/* Prints why a request did not give the expected answer. */
static void print_refusal(const char *prog, const char *what, const cv_http_reply *r)
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
static int get_json(const char *prog, cv_http *http, const char *path, cv_http_reply *r)
{
	cv_err err = cv_http_request(http, "GET", path, NULL, r);

	if (err == CV_OK && r->status == 200 && r->body != NULL)
		return 0;
	if (err == CV_OK && r->status == 200)
		snprintf(r->message, sizeof(r->message), "empty reply");
	print_refusal(prog, path, r);
	return -1;
}

/* Fetches GET /api/blocks/{id} (a height or a hash) strictly and checks that its stated
 * hash is H(header), and for height 0 every genesis rule. 0 on success (b filled, caller
 * frees), -1 with a message printed. */
static int fetch_block(const char *prog, cv_http *http, const char *id, cv_block *b)
{
	cv_http_reply r = {0};
	char path[128];
	uint8_t hash[CV_HASH_LEN];
	cv_err err;
	int ok = -1;

	memset(b, 0, sizeof(*b));
	snprintf(path, sizeof(path), "/api/blocks/%s", id);
	if (get_json(prog, http, path, &r) != 0)
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
static int parse_hash(const char *prog, const char *what, const char *s, uint8_t out[CV_HASH_LEN])
{
	if (cv_hex_decode(s, out, CV_HASH_LEN) == CV_OK)
		return 0;
	fprintf(stderr, "chainvote %s: %s must be 64 lowercase hex characters\n", prog, what);
	return -1;
}

/* The client commands' common word on HTTPS, in each usage. */
#define CACERT_HELP                                                                                \
	"Over https:// the service's certificate is verified; --cacert FILE trusts the CA\n"       \
	"certificates in FILE (PEM: a private CA, or the service's self-signed certificate).\n"    \
	"--election SLUG talks to that election of the service (/api/e/SLUG/...) instead of\n"     \
	"the default one.\n"

enum {
	OPT_URL = 256,
	OPT_CACERT,
	OPT_ELECTION,
	OPT_KEY,
	OPT_CANDIDATE,
	OPT_ALL,
	OPT_REASON,
	OPT_RECEIPT_OUT,
	OPT_RECEIPT,
	OPT_HELP
};

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
                             uint8_t service_key[CV_KEY_LEN])
{
	cv_http_reply r = {0};
	cv_api_election el = {0};
	int ok = -1, found = 0;
	cv_err err;

	if (get_json("vote", http, "/api/election", &r) != 0)
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

int cmd_vote(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"url", required_argument, NULL, OPT_URL},
	    {"cacert", required_argument, NULL, OPT_CACERT},
	    {"election", required_argument, NULL, OPT_ELECTION},
	    {"key", required_argument, NULL, OPT_KEY},
	    {"candidate", required_argument, NULL, OPT_CANDIDATE},
	    {"receipt-out", required_argument, NULL, OPT_RECEIPT_OUT},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	const char *url = NULL, *cacert = NULL, *election = NULL, *key_path = NULL,
	           *candidate = NULL, *receipt_out = NULL;
	cv_privkey *key = NULL;
	cv_http *http = NULL;
	cv_http_reply r = {0};
	json_object *body = NULL, *acc_json, *file = NULL;
	cv_vote vote;
	cv_acceptance acc;
	uint8_t txid[CV_HASH_LEN], stated[CV_HASH_LEN], service_key[CV_KEY_LEN];
	char hex[HEX_HASH];
	int c, status = 1;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_URL:
			url = optarg;
			break;
		case OPT_CACERT:
			cacert = optarg;
			break;
		case OPT_ELECTION:
			election = optarg;
			break;
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
	if (url == NULL || key_path == NULL || candidate == NULL || optind != argc ||
	    parse_u32(candidate, 1, UINT32_MAX, &vote.candidate_id) != 0) {
		vote_usage(stderr);
		return 2;
	}
	key = load_key("vote", key_path);
	if (key == NULL)
		goto out;
	http = open_http("vote", url, cacert, election);
	if (http == NULL)
		goto out;
	if (election_for_vote(http, vote.candidate_id, vote.election_id, service_key) != 0)
		goto out;
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
		print_refusal("vote", "the vote was refused", &r);
		goto out;
	}
	/* the service names the vote by its txid; one that differs is not our vote */
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
		file = cv_receipt_file_to_json(&vote, &acc);
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
	cv_http_reply_free(&r);
	close_http(http);
	cv_privkey_free(key);
	return status;
}

/* ---- approve and reject ---- */

/* What a validator needs to check proposals: the genesis and the chain tip's block. */
typedef struct checker {
	cv_http *http;
	cv_block genesis;
	cv_block prev; /* the block below the proposals' height, when fetched */
	int have_prev;
	uint64_t failed_prev; /* a height whose block could not be fetched; 0: none */
	uint64_t closed_at;   /* the service's close (GET /api/election), 0 while open */
} checker;

static void checker_free(checker *k)
{
	cv_block_free(&k->genesis);
	cv_block_free(&k->prev);
}

/* One proposal, fetched whole (GET /api/proposals/{hash}), and what the local check
 * made of it. */
typedef struct proposal {
	cv_block block;
	int unreadable; /* not fetched or not parsed: verdict says why */
	int no_prev;    /* the block below it could not be fetched: unchecked */
	cv_err verdict; /* CV_OK: passes every rule checked here */
	size_t bad_vote;
} proposal;

/* The service's close, from GET /api/election, into k->closed_at. 0, or -1 with a
 * message printed. */
static int read_close(checker *k)
{
	cv_http_reply r = {0};
	cv_api_election el;
	int ok = -1;

	if (get_json("approve", k->http, "/api/election", &r) != 0)
		return -1;
	if (cv_api_election_read(r.body, &el) != CV_OK) {
		fprintf(stderr, "chainvote approve: /api/election: not an election\n");
	} else {
		k->closed_at = el.closed_at;
		cv_api_election_free(&el);
		ok = 0;
	}
	cv_http_reply_free(&r);
	return ok;
}

/* Checks p->block with cv_check_proposal against the committed block below it. The
 * roll comes from the genesis block; whether a voter already has a vote in an earlier
 * block cannot be told from here (it needs the whole chain) and is left to the service's
 * own check, which refuses such blocks before they become proposals. */
static void check_proposal(checker *k, proposal *p)
{
	const cv_block *prev;
	cv_view view;
	char id[32];

	p->bad_vote = SIZE_MAX;
	if (p->block.header.height == 0) {
		p->verdict = CV_E_BAD_HEIGHT;
		return;
	}
	if (p->block.header.height == 1) {
		prev = &k->genesis;
	} else {
		if (k->failed_prev == p->block.header.height - 1) {
			p->no_prev = 1;
			return;
		}
		if (!k->have_prev || k->prev.header.height != p->block.header.height - 1) {
			cv_block_free(&k->prev);
			k->have_prev = 0;
			snprintf(id, sizeof(id), "%" PRIu64, p->block.header.height - 1);
			if (fetch_block("approve", k->http, id, &k->prev) != 0) {
				k->failed_prev = p->block.header.height - 1; /* said once */
				p->no_prev = 1;
				return;
			}
			k->have_prev = 1;
		}
		prev = &k->prev;
	}
	memset(&view, 0, sizeof(view));
	view.genesis = k->genesis.genesis;
	memcpy(view.election_id, k->genesis.hash, CV_HASH_LEN);
	view.genesis_timestamp = k->genesis.header.timestamp;
	/* the service's close: a seal before it, or at another closed_at, is refused by the
	 * rules; whether the votes pending at it are all committed only the service can
	 * tell, and it does */
	view.closed_at = k->closed_at;
	view.open = k->closed_at == 0;
	p->verdict = cv_check_proposal(&view, &prev->header, prev->hash, &p->block,
	                               (uint64_t)time(NULL), &p->bad_vote);
}

/* Fetches proposal hash whole and checks it here. 0 with p filled (caller frees
 * p->block; p->unreadable says whether it could be read), -1 when the service does not
 * know it (message printed). */
static int fetch_proposal(checker *k, const uint8_t hash[CV_HASH_LEN], proposal *p)
{
	cv_http_reply r = {0};
	char hex[HEX_HASH], path[160];
	uint64_t n_approvals, n_rejections;
	int ok = 0;

	memset(p, 0, sizeof(*p));
	p->bad_vote = SIZE_MAX;
	cv_hex_encode(hash, CV_HASH_LEN, hex);
	snprintf(path, sizeof(path), "/api/proposals/%s", hex);
	if (cv_http_request(k->http, "GET", path, NULL, &r) != CV_OK || r.status != 200) {
		if (r.status == 404) {
			ok = -1;
		} else {
			print_refusal("approve", path, &r);
			p->unreadable = 1;
			p->verdict = CV_E_NOT_FOUND;
		}
		goto out;
	}
	p->verdict = cv_api_proposal_read(r.body, &p->block, &n_approvals, &n_rejections);
	/* the block must be the one asked for: its stated hash is checked by the rules */
	if (p->verdict == CV_OK && memcmp(p->block.hash, hash, CV_HASH_LEN) != 0) {
		cv_block_free(&p->block);
		p->verdict = CV_E_BAD_HASH;
	}
	if (p->verdict != CV_OK)
		p->unreadable = 1;
	else
		check_proposal(k, p);
out:
	cv_http_reply_free(&r);
	return ok;
}

/* Signs and posts an approval of block_hash. 0 when recorded (or recorded before). */
static int post_approval(cv_http *http, const cv_privkey *key, const cv_block *b)
{
	cv_approval a;
	uint8_t msg[CV_APPROVAL_MSG_LEN];
	char hex[HEX_HASH], path[160];
	cv_http_reply r = {0};
	json_object *body = NULL;
	int ok = -1;

	cv_approval_message(b->hash, msg);
	cv_privkey_public(key, a.validator_key);
	if (cv_sign(key, msg, sizeof(msg), a.signature) != CV_OK) {
		fprintf(stderr, "chainvote approve: signing failed\n");
		return -1;
	}
	body = cv_approval_to_json(&a);
	if (body == NULL) {
		fprintf(stderr, "chainvote approve: out of memory\n");
		return -1;
	}
	cv_hex_encode(b->hash, CV_HASH_LEN, hex);
	snprintf(path, sizeof(path), "/api/proposals/%s/approvals", hex);
	if (cv_http_request(http, "POST", path, body, &r) != CV_OK) {
		print_refusal("approve", "the approval was not sent", &r);
	} else if (r.status == 201 || r.status == 200) {
		uint64_t n = 0, t = 0;
		bool committed = false;

		if (cv_api_approved_read(r.body, &committed, &n, &t) != CV_OK)
			printf("block %" PRIu64 " %s: approved (the answer was not understood)\n",
			       b->header.height, hex);
		else
			printf("block %" PRIu64 " %s: approved (%" PRIu64 "/%" PRIu64 ")%s\n",
			       b->header.height, hex, n, t, committed ? ", committed" : "");
		ok = 0;
	} else if (r.status == 409 && strcmp(r.code, "duplicate_approval") == 0) {
		printf("block %" PRIu64 " %s: already approved by this key\n", b->header.height,
		       hex);
		ok = 0;
	} else {
		print_refusal("approve", "the approval was refused", &r);
	}
	cv_http_reply_free(&r);
	json_object_put(body);
	return ok;
}

/* Prints why p is not signed; 1 when it is not, 0 when it may be signed. */
static int refuse(const proposal *p, const char *hex)
{
	if (p->unreadable) {
		printf("proposal %s: refusing to sign: its block cannot be read (%s)\n", hex,
		       cv_err_code(p->verdict));
		return 1;
	}
	if (p->no_prev) {
		printf("block %" PRIu64 " %s: not signing: block %" PRIu64
		       " below it could not be fetched to check it\n",
		       p->block.header.height, hex, p->block.header.height - 1);
		return 1;
	}
	if (p->verdict == CV_OK)
		return 0;
	if (p->bad_vote != SIZE_MAX)
		printf("block %" PRIu64 " %s: refusing to sign: vote %zu: %s (%s)\n",
		       p->block.header.height, hex, p->bad_vote, cv_err_message(p->verdict),
		       cv_err_code(p->verdict));
	else
		printf("block %" PRIu64 " %s: refusing to sign: %s (%s)\n", p->block.header.height,
		       hex, cv_err_message(p->verdict), cv_err_code(p->verdict));
	return 1;
}

/* The order in which --all considers the listed proposals: a validator approves at most
 * one block per height (rule 6), so the one closest to the threshold first (most
 * approvals), the oldest first on a tie (the listing is oldest first). */
static void choice_order(const cv_api_proposal_list *l, size_t *order)
{
	for (size_t i = 0; i < l->n; i++) {
		size_t j = i;

		for (; j > 0 && l->items[order[j - 1]].n_approvals < l->items[i].n_approvals; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
}

/* --all: approves the first proposal in choice_order that passes the local check;
 * every one found invalid before it is reported. Returns the number of failures. */
static int approve_all(checker *k, const cv_privkey *key, const cv_api_proposal_list *l)
{
	size_t *order = calloc(l->n ? l->n : 1, sizeof(*order));
	int failures = 0, chosen = 0;

	if (order == NULL) {
		fprintf(stderr, "chainvote approve: out of memory\n");
		return 1;
	}
	choice_order(l, order);
	for (size_t i = 0; i < l->n; i++) {
		const cv_proposal_summary *s = &l->items[order[i]];
		char hex[HEX_HASH];
		proposal p;

		cv_hex_encode(s->hash, CV_HASH_LEN, hex);
		if (chosen) {
			printf("block %" PRIu64 " %s: skipped (another proposal at this height is "
			       "chosen)\n",
			       s->height, hex);
			continue;
		}
		if (fetch_proposal(k, s->hash, &p) != 0) {
			printf("proposal %s: gone (committed or discarded)\n", hex);
			continue;
		}
		if (refuse(&p, hex)) {
			failures++;
		} else {
			chosen = 1;
			if (post_approval(k->http, key, &p.block) != 0)
				failures++;
		}
		cv_block_free(&p.block);
	}
	if (l->n == 0)
		printf("no proposals\n");
	free(order);
	return failures;
}

static void approve_usage(FILE *out)
{
	fprintf(out,
	        "usage: chainvote approve --url URL [--cacert FILE] [--election SLUG] --key FILE "
	        "(HASH | --all)\n"
	        "Fetches the proposal, re-checks it here with the chain's rules (its hash,\n"
	        "proof of work, link, merkle root, every vote's signature, candidate and voter),\n"
	        "and signs an approval with the validator key in FILE only when it passes.\n"
	        "With --all it approves at most one valid proposal per height: the one with the\n"
	        "most approvals, the oldest on a tie.\n" CACERT_HELP
	        "Exit status: 0 all approved, 1 a proposal refused or not found, 2 usage.\n");
}

int cmd_approve(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"url", required_argument, NULL, OPT_URL},
	    {"cacert", required_argument, NULL, OPT_CACERT},
	    {"election", required_argument, NULL, OPT_ELECTION},
	    {"key", required_argument, NULL, OPT_KEY},
	    {"all", no_argument, NULL, OPT_ALL},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	const char *url = NULL, *cacert = NULL, *election = NULL, *key_path = NULL;
	int all = 0, c, status = 1, failures = 0;
	uint8_t wanted[CV_HASH_LEN], our_key[CV_KEY_LEN];
	cv_privkey *key = NULL;
	checker k;
	cv_api_proposal_list list = {0};
	cv_http_reply r = {0};
	cv_err err;

	memset(&k, 0, sizeof(k));
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_URL:
			url = optarg;
			break;
		case OPT_CACERT:
			cacert = optarg;
			break;
		case OPT_ELECTION:
			election = optarg;
			break;
		case OPT_KEY:
			key_path = optarg;
			break;
		case OPT_ALL:
			all = 1;
			break;
		case OPT_HELP:
			approve_usage(stdout);
			return 0;
		default:
			approve_usage(stderr);
			return 2;
		}
	}
	if (url == NULL || key_path == NULL || all == (optind < argc) || argc - optind > 1) {
		approve_usage(stderr);
		return 2;
	}
	if (!all && parse_hash("approve", "HASH", argv[optind], wanted) != 0)
		return 2;
	key = load_key("approve", key_path);
	if (key == NULL)
		goto out;
	k.http = open_http("approve", url, cacert, election);
	if (k.http == NULL)
		goto out;
	if (fetch_block("approve", k.http, "0", &k.genesis) != 0 || read_close(&k) != 0)
		goto out;
	cv_privkey_public(key, our_key);
	if (cv_genesis_validator(k.genesis.genesis, our_key) == NULL) {
		fprintf(stderr,
		        "chainvote approve: not_validator: %s is not the key of one of this "
		        "election's validators\n",
		        key_path);
		goto out;
	}
	if (!all) {
		proposal p;
		char hex[HEX_HASH];

		cv_hex_encode(wanted, CV_HASH_LEN, hex);
		if (fetch_proposal(&k, wanted, &p) != 0) {
			fprintf(stderr, "chainvote approve: no proposal %s\n", argv[optind]);
			goto out;
		}
		failures = refuse(&p, hex);
		if (!failures && post_approval(k.http, key, &p.block) != 0)
			failures = 1;
		cv_block_free(&p.block);
		status = failures ? 1 : 0;
		goto out;
	}
	if (get_json("approve", k.http, "/api/proposals", &r) != 0)
		goto out;
	if ((err = cv_api_proposal_list_read(r.body, &list)) != CV_OK) {
		fprintf(stderr, "chainvote approve: /api/proposals: not a proposal list (%s)\n",
		        cv_err_code(err));
		goto out;
	}
	failures = approve_all(&k, key, &list);
	status = failures ? 1 : 0;
out:
	cv_api_proposal_list_free(&list);
	cv_http_reply_free(&r);
	checker_free(&k);
	close_http(k.http);
	cv_privkey_free(key);
	return status;
}

static void reject_usage(FILE *out)
{
	fprintf(out,
	        "usage: chainvote reject --url URL [--cacert FILE] [--election SLUG] --key FILE "
	        "--reason TEXT HASH\n"
	        "Signs a rejection of proposal HASH with the validator key in FILE, giving the\n"
	        "reason (one line, at most 200 bytes), and sends it to the service.\n" CACERT_HELP
	        "Exit status: 0 recorded, 1 refused, 2 usage.\n");
}

int cmd_reject(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"url", required_argument, NULL, OPT_URL},
	    {"cacert", required_argument, NULL, OPT_CACERT},
	    {"election", required_argument, NULL, OPT_ELECTION},
	    {"key", required_argument, NULL, OPT_KEY},
	    {"reason", required_argument, NULL, OPT_REASON},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	const char *url = NULL, *cacert = NULL, *election = NULL, *key_path = NULL, *reason = NULL;
	uint8_t hash[CV_HASH_LEN];
	cv_approval a;
	cv_buf msg = {0};
	cv_privkey *key = NULL;
	cv_http *http = NULL;
	cv_http_reply r = {0};
	json_object *body = NULL;
	char path[160];
	int c, status = 1;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_URL:
			url = optarg;
			break;
		case OPT_CACERT:
			cacert = optarg;
			break;
		case OPT_ELECTION:
			election = optarg;
			break;
		case OPT_KEY:
			key_path = optarg;
			break;
		case OPT_REASON:
			reason = optarg;
			break;
		case OPT_HELP:
			reject_usage(stdout);
			return 0;
		default:
			reject_usage(stderr);
			return 2;
		}
	}
	if (url == NULL || key_path == NULL || reason == NULL || argc - optind != 1) {
		reject_usage(stderr);
		return 2;
	}
	if (parse_hash("reject", "HASH", argv[optind], hash) != 0)
		return 2;
	if (!cv_text_ok(reason) || reason[0] == '\0') {
		fprintf(stderr,
		        "chainvote reject: --reason wants one line of UTF-8, 1 to %d bytes\n",
		        CV_TEXT_MAX);
		return 2;
	}
	key = load_key("reject", key_path);
	if (key == NULL)
		goto out;
	if (cv_rejection_message(hash, reason, &msg) != CV_OK) {
		fprintf(stderr, "chainvote reject: out of memory\n");
		goto out;
	}
	cv_privkey_public(key, a.validator_key);
	if (cv_sign(key, msg.data, msg.len, a.signature) != CV_OK) {
		fprintf(stderr, "chainvote reject: signing failed\n");
		goto out;
	}
	body = cv_approval_to_json(&a);
	if (body == NULL) {
		fprintf(stderr, "chainvote reject: out of memory\n");
		goto out;
	}
	json_object_object_add(body, "reason", json_object_new_string(reason));
	http = open_http("reject", url, cacert, election);
	if (http == NULL)
		goto out;
	snprintf(path, sizeof(path), "/api/proposals/%s/rejections", argv[optind]);
	if (cv_http_request(http, "POST", path, body, &r) != CV_OK ||
	    (r.status != 201 && r.status != 200)) {
		print_refusal("reject", "the rejection was refused", &r);
		goto out;
	}
	printf("block %s: rejection recorded\n", argv[optind]);
	status = 0;
out:
	if (body != NULL)
		json_object_put(body);
	cv_http_reply_free(&r);
	close_http(http);
	cv_buf_free(&msg);
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
	        "enough of the election's validators approved the block.\n" CACERT_HELP
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
	    !json_object_object_get_ex(o, "path", &path) ||
	    !json_object_is_type(path, json_type_array) ||
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

/* The checks of a committed receipt of vote txid (voter_key: the voter's, or NULL to
 * take the key the payload names); prints the first failure and returns -1. */
static int check_receipt(cv_http *http, const uint8_t txid[CV_HASH_LEN],
                         const uint8_t voter_key[CV_KEY_LEN], const receipt *rc)
{
	cv_block block = {0}, genesis = {0};
	const cv_vote *committed;
	uint8_t leaf_hash[CV_HASH_LEN];
	char id[32], hex[HEX_HASH];
	size_t bad = SIZE_MAX;
	cv_err err;
	int ok = -1;

	snprintf(id, sizeof(id), "%" PRIu64, rc->height);
	if (rc->height == 0 || fetch_block("receipt", http, id, &block) != 0)
		goto out;
	if (memcmp(block.hash, rc->block_hash, CV_HASH_LEN) != 0 ||
	    block.header.height != rc->height) {
		fprintf(stderr, "chainvote receipt: block %s is not the block the receipt names\n",
		        id);
		goto out;
	}
	if (fetch_block("receipt", http, "0", &genesis) != 0)
		goto out;
	if (block.header.difficulty != genesis.genesis->election.difficulty ||
	    !cv_pow_ok(block.hash, block.header.difficulty)) {
		fprintf(stderr, "chainvote receipt: block %s has no valid proof of work\n", id);
		goto out;
	}
	if (rc->tree_size != block.n_votes || rc->index >= rc->tree_size) {
		fprintf(stderr,
		        "chainvote receipt: the receipt's leaf index or tree size does not fit "
		        "block %s\n",
		        id);
		goto out;
	}
	/* the block's own copy is what the chain holds: it must be the voter's vote */
	committed = &block.votes[rc->index];
	if ((err = cv_receipt_match(committed, txid, voter_key)) != CV_OK) {
		fprintf(stderr,
		        "chainvote receipt: block %s's vote at index %" PRIu64
		        " is not yours: %s\n",
		        id, rc->index, mismatch_text(err));
		goto out;
	}
	if (memcmp(committed->election_id, genesis.hash, CV_HASH_LEN) != 0) {
		fprintf(stderr, "chainvote receipt: the vote is for another election\n");
		goto out;
	}
	cv_vote_leaf_hash(committed, leaf_hash);
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

/* Reads a receipt file (cv_receipt_file_from_json) into *vote and *acc. 0 on success,
 * -1 with a message printed. */
static int load_receipt_file(const char *prog, const char *path, cv_vote *vote, cv_acceptance *acc)
{
	size_t len;
	char *text = read_small_file(prog, path, KEYFILE_MAX, &len);
	json_object *o = NULL;
	cv_err err;

	if (text == NULL)
		return -1;
	err = cv_json_parse(text, len, &o);
	if (err == CV_OK)
		err = cv_receipt_file_from_json(o, vote, acc);
	json_object_put(o);
	free(text);
	if (err != CV_OK)
		fprintf(stderr, "chainvote %s: %s is not a receipt file (%s)\n", prog, path,
		        cv_err_code(err));
	return err == CV_OK ? 0 : -1;
}

/* Checks a receipt file's acceptance under the service key GET /api/election publishes
 * and prints when the vote was accepted. 0 on success, -1 with a message printed. */
static int check_acceptance(cv_http *http, const cv_acceptance *acc)
{
	cv_http_reply r = {0};
	uint8_t service_key[CV_KEY_LEN];
	int ok = -1;

	if (get_json("receipt", http, "/api/election", &r) != 0 ||
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
	    {"url", required_argument, NULL, OPT_URL},
	    {"cacert", required_argument, NULL, OPT_CACERT},
	    {"election", required_argument, NULL, OPT_ELECTION},
	    {"receipt", required_argument, NULL, OPT_RECEIPT},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	const char *url = NULL, *cacert = NULL, *election = NULL, *receipt_path = NULL;
	uint8_t txid[CV_HASH_LEN];
	const uint8_t *voter_key = NULL;
	cv_http *http = NULL;
	cv_http_reply r = {0};
	json_object *vote_json, *st;
	const char *state;
	cv_vote vote, mine;
	cv_acceptance acc;
	receipt *rc = NULL;
	char path[128], hex[HEX_HASH];
	cv_err err;
	int c, status = 1;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_URL:
			url = optarg;
			break;
		case OPT_CACERT:
			cacert = optarg;
			break;
		case OPT_ELECTION:
			election = optarg;
			break;
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
	if (url == NULL || argc - optind != (receipt_path == NULL ? 1 : 0)) {
		receipt_usage(stderr);
		return 2;
	}
	if (receipt_path != NULL) {
		if (load_receipt_file("receipt", receipt_path, &mine, &acc) != 0)
			return 1;
		memcpy(txid, acc.txid, CV_HASH_LEN);
		voter_key = mine.voter_key;
	} else if (parse_hash("receipt", "TXID", argv[optind], txid) != 0) {
		return 2;
	}
	http = open_http("receipt", url, cacert, election);
	if (http == NULL)
		goto out;
	if (receipt_path != NULL && check_acceptance(http, &acc) != 0)
		goto out;
	cv_hex_encode(txid, CV_HASH_LEN, hex);
	snprintf(path, sizeof(path), "/api/votes/%s", hex);
	if (get_json("receipt", http, path, &r) != 0)
		goto out;
	if (!json_object_object_get_ex(r.body, "status", &st) ||
	    !json_object_is_type(st, json_type_string) ||
	    !json_object_object_get_ex(r.body, "vote", &vote_json) ||
	    cv_vote_from_json(vote_json, &vote) != CV_OK) {
		fprintf(stderr, "chainvote receipt: %s: malformed reply\n", path);
		goto out;
	}
	if ((err = cv_receipt_match(&vote, txid, voter_key)) != CV_OK) {
		fprintf(stderr,
		        "chainvote receipt: the service returned a vote that is not yours: %s\n",
		        mismatch_text(err));
		goto out;
	}
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
	close_http(http);
	return status;
}
