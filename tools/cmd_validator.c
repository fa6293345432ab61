/* The validator's commands of `chainvote`: approve and reject sign one verdict when a
 * person asks; validator runs as a daemon that checks every proposal and signs by itself.
 * All three re-check a proposal here with the library's rules (cv_check_proposal) before
 * signing it, and share one copy of that check, of the choice of the proposal to approve
 * at a height, and of the posting of verdicts. The daemon keeps what it signed in a
 * journal, written and synced before each signature leaves, so that it never approves
 * two blocks at one height, even across restarts. */
/* The daemon is in cmd_validator_daemon.c and its journal in cmd_validator_journal.c;
 * cmd_validator.h declares what they share with approve and reject. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "chain.h"
#include "client.h"
#include "cmd.h"
#include "http.h"
#include "json.h"
#include "rules.h"
#include "work.h"

#include "cmd_validator.h"

/* ---- the check every verdict rests on ---- */

void checker_free(checker *k)
{
	cv_params_free(&k->params);
	k->params_below = 0;
	cv_block_free(&k->genesis);
	cv_block_free(&k->prev);
	memset(&k->genesis, 0, sizeof(k->genesis));
	memset(&k->prev, 0, sizeof(k->prev));
	k->have_prev = 0;
}

/* The parameters in force at height (k->params): the genesis and the changes the service
 * lists as committed below it. A block's rules, who may approve and sign are read there.
 * 0, or -1 with a message printed. */
static int params_at(checker *k, uint64_t height)
{
	cv_http_reply r = {0};
	cv_err err;

	if (k->params_below == height && height != 0)
		return 0;
	cv_params_free(&k->params);
	k->params_below = 0;
	if ((err = cv_params_init(&k->params, k->genesis.genesis)) != CV_OK) {
		fprintf(stderr, "chainvote %s: %s\n", k->prog, cv_err_code(err));
		return -1;
	}
	if (cli_get_json(k->prog, k->http, "/api/changes", &r) != 0)
		return -1;
	err = cv_api_changes_apply(r.body, height, &k->params);
	cv_http_reply_free(&r);
	if (err != CV_OK) {
		fprintf(stderr, "chainvote %s: /api/changes: %s\n", k->prog, cv_err_code(err));
		return -1;
	}
	k->params_below = height;
	return 0;
}

/* One verdict line, after the checker's tag. */
__attribute__((format(printf, 2, 3))) void report(const checker *k, const char *fmt, ...)
{
	va_list ap;

	fputs(k->tag, k->out);
	va_start(ap, fmt);
	vfprintf(k->out, fmt, ap);
	va_end(ap);
	fputc('\n', k->out);
	fflush(k->out);
}

/* The service's close, from GET /api/election, into k->closed_at. 0, or -1 with a
 * message printed. */
static int read_close(checker *k)
{
	cv_http_reply r = {0};
	cv_api_election el;
	int ok = -1;

	if (cli_get_json(k->prog, k->http, "/api/election", &r) != 0)
		return -1;
	if (cv_api_election_read(r.body, &el) != CV_OK) {
		fprintf(stderr, "chainvote %s: /api/election: not an election\n", k->prog);
	} else {
		k->closed_at = el.closed_at;
		cv_api_election_free(&el);
		ok = 0;
	}
	cv_http_reply_free(&r);
	return ok;
}

/* A secret election's proposal (DESIGN section 6): its ballots are checked against K,
 * its shares against every K_j and α, which the chain below it gives: the committed
 * chain is fetched (GET /api/chain/export) and the view for its next block made from
 * it (cv_chain_next_view), so that this validator judges with what it read itself. */
static void check_secret(checker *k, const cv_block *prev, proposal *p)
{
	cv_http_reply r = {0};
	cv_chain chain = {0};
	cv_params params = {0};
	cv_secret_view sv;
	cv_view view;
	cv_err err;

	memset(&sv, 0, sizeof(sv));
	if (cli_get_json(k->prog, k->http, "/api/chain/export", &r) != 0) {
		p->no_prev = 1;
		return;
	}
	err = cv_chain_from_json(r.body, &chain);
	cv_http_reply_free(&r);
	if (err == CV_OK &&
	    (chain.n_blocks != prev->header.height + 1 ||
	     memcmp(chain.blocks[chain.n_blocks - 1].hash, prev->hash, CV_HASH_LEN) != 0 ||
	     memcmp(chain.blocks[0].hash, k->genesis.hash, CV_HASH_LEN) != 0))
		err = CV_E_STALE; /* the tip moved meanwhile: judged at the next round */
	if (err == CV_OK)
		err = cv_chain_next_view(&chain, &view, &sv);
	/* the parameters in force: the changes of the chain read here */
	if (err == CV_OK && (err = cv_params_init(&params, view.genesis)) == CV_OK)
		for (size_t i = 1; err == CV_OK && i < chain.n_blocks; i++)
			if (chain.blocks[i].change != NULL)
				err = cv_params_apply(&params, chain.blocks[i].change);
	if (err == CV_OK) {
		view.genesis = &params.genesis;
		view.params = &params;
	}
	if (err != CV_OK) {
		p->no_prev = 1; /* not judged: no verdict rests on a chain not read */
		goto out;
	}
	/* the service's close, as for open elections, until the chain has its seal */
	if (!view.sealed) {
		view.closed_at = k->closed_at;
		view.open = k->closed_at == 0;
	}
	p->verdict = cv_check_proposal(&view, &prev->header, prev->hash, &p->block,
	                               (uint64_t)time(NULL), &p->bad_vote);
out:
	cv_secret_view_free(&sv);
	cv_params_free(&params);
	cv_chain_free(&chain);
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
			if (cli_fetch_block(k->prog, k->http, id, &k->prev) != 0) {
				k->failed_prev = p->block.header.height - 1; /* said once */
				p->no_prev = 1;
				return;
			}
			k->have_prev = 1;
		}
		prev = &k->prev;
	}
	if (k->genesis.genesis->secrecy != NULL) {
		check_secret(k, prev, p);
		return;
	}
	if (params_at(k, p->block.header.height) != 0) {
		p->no_prev = 1; /* not judged: the parameters in force could not be read */
		return;
	}
	memset(&view, 0, sizeof(view));
	view.genesis = &k->params.genesis;
	view.params = &k->params;
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
 * know it. */
int fetch_proposal(checker *k, const uint8_t hash[CV_HASH_LEN], proposal *p)
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
			cli_print_refusal(k->prog, path, &r);
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

/* Why the rules refuse p, in one line of at most CV_TEXT_MAX bytes (a rejection's
 * reason): "vote N: message (code)" or "message (code)". */
void refusal_text(const proposal *p, char text[CV_TEXT_MAX + 1])
{
	if (p->bad_vote != SIZE_MAX)
		snprintf(text, CV_TEXT_MAX + 1, "vote %zu: %s (%s)", p->bad_vote,
		         cv_err_message(p->verdict), cv_err_code(p->verdict));
	else
		snprintf(text, CV_TEXT_MAX + 1, "%s (%s)", cv_err_message(p->verdict),
		         cv_err_code(p->verdict));
	if (!cv_text_ok(text)) /* cut inside a character: the code alone */
		snprintf(text, CV_TEXT_MAX + 1, "%s", cv_err_code(p->verdict));
}

/* Reports why p is not signed; 1 when it is not, 0 when it may be signed. */
int refuse(const checker *k, const proposal *p, const char *hex)
{
	char why[CV_TEXT_MAX + 1];

	if (p->unreadable) {
		report(k, "proposal %s: refusing to sign: its block cannot be read (%s)", hex,
		       cv_err_code(p->verdict));
		return 1;
	}
	if (p->no_prev) {
		report(k,
		       "block %" PRIu64 " %s: not signing: block %" PRIu64
		       " below it could not be fetched to check it",
		       p->block.header.height, hex, p->block.header.height - 1);
		return 1;
	}
	if (p->verdict == CV_OK)
		return 0;
	refusal_text(p, why);
	report(k, "block %" PRIu64 " %s: refusing to sign: %s", p->block.header.height, hex, why);
	return 1;
}

/* The answer to a POST of a verdict: SENT_NOT when none came or the service could not
 * take it then (5xx), SENT_REFUSED for another refusal (reported), else SENT. */
static sent answered(const checker *k, cv_err err, const cv_http_reply *r, const char *what)
{
	if (err != CV_OK && r->status == 0) {
		cli_print_refusal(k->prog, what, r);
		return SENT_NOT;
	}
	if (r->status == 201 || r->status == 200)
		return SENT;
	cli_print_refusal(k->prog, what, r);
	return r->status >= 500 ? SENT_NOT : SENT_REFUSED;
}

/* Signs and posts an approval of b, reporting the outcome. */
sent post_approval(const checker *k, const cv_privkey *key, const cv_block *b)
{
	cv_approval a;
	uint8_t msg[CV_APPROVAL_MSG_LEN];
	char hex[HEX_HASH], path[160];
	cv_http_reply r = {0};
	json_object *body = NULL;
	cv_err err;
	sent s;

	cv_approval_message(b->hash, msg);
	cv_privkey_public(key, a.validator_key);
	if (cv_sign(key, msg, sizeof(msg), a.signature) != CV_OK) {
		fprintf(stderr, "chainvote %s: signing failed\n", k->prog);
		return SENT_NOT;
	}
	body = cv_approval_to_json(&a);
	if (body == NULL) {
		fprintf(stderr, "chainvote %s: out of memory\n", k->prog);
		return SENT_NOT;
	}
	cv_hex_encode(b->hash, CV_HASH_LEN, hex);
	snprintf(path, sizeof(path), "/api/proposals/%s/approvals", hex);
	err = cv_http_request(k->http, "POST", path, body, &r);
	if (err == CV_OK && r.status == 409 && strcmp(r.code, "duplicate_approval") == 0) {
		report(k, "block %" PRIu64 " %s: already approved by this key", b->header.height,
		       hex);
		s = SENT;
	} else if ((s = answered(k, err, &r, "the approval was not recorded")) == SENT) {
		uint64_t n = 0, t = 0;
		bool committed = false;

		if (cv_api_approved_read(r.body, &committed, &n, &t) != CV_OK)
			report(k, "block %" PRIu64 " %s: approved (the answer was not understood)",
			       b->header.height, hex);
		else
			report(k, "block %" PRIu64 " %s: approved (%" PRIu64 "/%" PRIu64 ")%s",
			       b->header.height, hex, n, t, committed ? ", committed" : "");
	}
	cv_http_reply_free(&r);
	json_object_put(body);
	return s;
}

/* Signs and posts a rejection of block_hash for reason (one line, 1 to CV_TEXT_MAX
 * bytes), reporting the outcome; height 0: not known (not reported). */
sent post_rejection(const checker *k, const cv_privkey *key, const uint8_t block_hash[CV_HASH_LEN],
                    uint64_t height, const char *reason)
{
	cv_approval a;
	cv_buf msg = {0};
	cv_http_reply r = {0};
	json_object *body = NULL;
	char hex[HEX_HASH], path[160];
	cv_err err;
	sent s = SENT_NOT;

	if (cv_rejection_message(block_hash, reason, &msg) != CV_OK) {
		fprintf(stderr, "chainvote %s: out of memory\n", k->prog);
		goto out;
	}
	cv_privkey_public(key, a.validator_key);
	if (cv_sign(key, msg.data, msg.len, a.signature) != CV_OK) {
		fprintf(stderr, "chainvote %s: signing failed\n", k->prog);
		goto out;
	}
	body = cv_approval_to_json(&a);
	if (body == NULL) {
		fprintf(stderr, "chainvote %s: out of memory\n", k->prog);
		goto out;
	}
	json_object_object_add(body, "reason", json_object_new_string(reason));
	cv_hex_encode(block_hash, CV_HASH_LEN, hex);
	snprintf(path, sizeof(path), "/api/proposals/%s/rejections", hex);
	err = cv_http_request(k->http, "POST", path, body, &r);
	if (err == CV_OK && r.status == 409 && strcmp(r.code, "duplicate_approval") == 0) {
		report(k, "block %s: this key's verdict is recorded already", hex);
		s = SENT;
	} else if ((s = answered(k, err, &r, "the rejection was not recorded")) == SENT) {
		if (height != 0)
			report(k, "block %" PRIu64 " %s: rejected: %s", height, hex, reason);
		else
			report(k, "block %s: rejection recorded", hex);
	}
out:
	if (body != NULL)
		json_object_put(body);
	cv_http_reply_free(&r);
	cv_buf_free(&msg);
	return s;
}

/* The order in which the proposals at a height are considered: a validator approves at
 * most one block per height (rule 6), so the one closest to the threshold first (most
 * approvals), the oldest first on a tie (the listing is oldest first). */
void choice_order(const cv_api_proposal_list *l, size_t *order)
{
	for (size_t i = 0; i < l->n; i++) {
		size_t j = i;

		for (; j > 0 && l->items[order[j - 1]].n_approvals < l->items[i].n_approvals; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
}

/* Reads GET /api/proposals into *list. 0, or -1 with a message printed. */
int fetch_list(const checker *k, cv_api_proposal_list *list)
{
	cv_http_reply r = {0};
	cv_err err;
	int ok = -1;

	if (cli_get_json(k->prog, k->http, "/api/proposals", &r) != 0)
		goto out;
	if ((err = cv_api_proposal_list_read(r.body, list)) != CV_OK) {
		fprintf(stderr, "chainvote %s: /api/proposals: not a proposal list (%s)\n", k->prog,
		        cv_err_code(err));
		goto out;
	}
	ok = 0;
out:
	cv_http_reply_free(&r);
	return ok;
}

/* Checks that key is one of the validators in force (a key a change gave a validator
 * counts; one it replaced does not). 0, or -1 with a message printed. */
int check_validator(checker *k, const cv_privkey *key, const char *key_path)
{
	uint8_t our_key[CV_KEY_LEN];

	cv_privkey_public(key, our_key);
	if (params_at(k, UINT64_MAX) != 0)
		return -1;
	if (cv_genesis_validator(&k->params.genesis, our_key) == NULL) {
		fprintf(stderr,
		        "chainvote %s: not_validator: %s is not the key of one of this "
		        "election's validators\n",
		        k->prog, key_path);
		return -1;
	}
	return 0;
}

/* ---- approve and reject ---- */

/* --all: approves the first proposal in choice_order that passes the local check;
 * every one found invalid before it is reported. Returns the number of failures. */
static int approve_all(checker *k, const cv_privkey *key, const cv_api_proposal_list *l)
{
	size_t *order = calloc(l->n ? l->n : 1, sizeof(*order));
	int failures = 0, chosen = 0;

	if (order == NULL) {
		fprintf(stderr, "chainvote %s: out of memory\n", k->prog);
		return 1;
	}
	choice_order(l, order);
	for (size_t i = 0; i < l->n; i++) {
		const cv_proposal_summary *s = &l->items[order[i]];
		char hex[HEX_HASH];
		proposal p;

		cv_hex_encode(s->hash, CV_HASH_LEN, hex);
		if (chosen) {
			report(k,
			       "block %" PRIu64 " %s: skipped (another proposal at this height is "
			       "chosen)",
			       s->height, hex);
			continue;
		}
		if (fetch_proposal(k, s->hash, &p) != 0) {
			report(k, "proposal %s: gone (committed or discarded)", hex);
			continue;
		}
		if (refuse(k, &p, hex)) {
			failures++;
		} else {
			chosen = 1;
			if (post_approval(k, key, &p.block) != SENT)
				failures++;
		}
		cv_block_free(&p.block);
	}
	if (l->n == 0)
		report(k, "no proposals");
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
	        "most approvals, the oldest on a tie. (`chainvote validator` does this by itself,\n"
	        "as a daemon.)\n" CACERT_HELP
	        "Exit status: 0 all approved, 1 a proposal refused or not found, 2 usage.\n");
}

int cmd_approve(int argc, char **argv)
{
	static const struct option longopts[] = {
	    CLI_SERVICE_OPTIONS,
	    {"key", required_argument, NULL, OPT_KEY},
	    {"all", no_argument, NULL, OPT_ALL},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	cli_service svc = {0};
	const char *key_path = NULL;
	int all = 0, c, status = 1, failures = 0;
	uint8_t wanted[CV_HASH_LEN];
	cv_privkey *key = NULL;
	checker k;
	cv_api_proposal_list list = {0};

	memset(&k, 0, sizeof(k));
	k.prog = "approve";
	k.out = stdout;
	k.tag = "";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_service_opt(c, optarg, &svc))
			continue;
		switch (c) {
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
	if (svc.url == NULL || key_path == NULL || all == (optind < argc) || argc - optind > 1) {
		approve_usage(stderr);
		return 2;
	}
	if (!all && cli_parse_hash("approve", "HASH", argv[optind], wanted) != 0)
		return 2;
	key = cli_load_key("approve", key_path);
	if (key == NULL)
		goto out;
	k.http = cli_open_http("approve", &svc);
	if (k.http == NULL)
		goto out;
	if (cli_fetch_block("approve", k.http, "0", &k.genesis) != 0 ||
	    check_validator(&k, key, key_path) != 0 || read_close(&k) != 0)
		goto out;
	if (!all) {
		proposal p;
		char hex[HEX_HASH];

		cv_hex_encode(wanted, CV_HASH_LEN, hex);
		if (fetch_proposal(&k, wanted, &p) != 0) {
			fprintf(stderr, "chainvote approve: no proposal %s\n", argv[optind]);
			goto out;
		}
		failures = refuse(&k, &p, hex);
		if (!failures && post_approval(&k, key, &p.block) != SENT)
			failures = 1;
		cv_block_free(&p.block);
		status = failures ? 1 : 0;
		goto out;
	}
	if (fetch_list(&k, &list) != 0)
		goto out;
	failures = approve_all(&k, key, &list);
	status = failures ? 1 : 0;
out:
	cv_api_proposal_list_free(&list);
	checker_free(&k);
	cli_close_http(k.http);
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
	    CLI_SERVICE_OPTIONS,
	    {"key", required_argument, NULL, OPT_KEY},
	    {"reason", required_argument, NULL, OPT_REASON},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	cli_service svc = {0};
	const char *key_path = NULL, *reason = NULL;
	uint8_t hash[CV_HASH_LEN];
	cv_privkey *key = NULL;
	checker k;
	int c, status = 1;

	memset(&k, 0, sizeof(k));
	k.prog = "reject";
	k.out = stdout;
	k.tag = "";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_service_opt(c, optarg, &svc))
			continue;
		switch (c) {
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
	if (svc.url == NULL || key_path == NULL || reason == NULL || argc - optind != 1) {
		reject_usage(stderr);
		return 2;
	}
	if (cli_parse_hash("reject", "HASH", argv[optind], hash) != 0)
		return 2;
	if (!cv_text_ok(reason) || reason[0] == '\0') {
		fprintf(stderr,
		        "chainvote reject: --reason wants one line of UTF-8, 1 to %d bytes\n",
		        CV_TEXT_MAX);
		return 2;
	}
	key = cli_load_key("reject", key_path);
	if (key == NULL)
		goto out;
	k.http = cli_open_http("reject", &svc);
	if (k.http == NULL)
		goto out;
	if (post_rejection(&k, key, hash, 0, reason) == SENT)
		status = 0;
out:
	cli_close_http(k.http);
	cv_privkey_free(key);
	return status;
}
