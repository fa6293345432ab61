/* The validator's commands of `chainvote`: approve and reject sign one verdict when a
 * person asks; validator runs as a daemon that checks every proposal and signs by itself.
 * All three re-check a proposal here with the library's rules (cv_check_proposal) before
 * signing it, and share one copy of that check, of the choice of the proposal to approve
 * at a height, and of the posting of verdicts. The daemon keeps what it signed in a
 * journal, written and synced before each signature leaves, so that it never approves
 * two blocks at one height, even across restarts. */
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

enum {
	OPT_KEY = CLI_OPT_OWN,
	OPT_ALL,
	OPT_REASON,
	OPT_INTERVAL,
	OPT_JOURNAL,
	OPT_PROPOSE_AFTER,
	OPT_HELP
};

/* ---- the check every verdict rests on ---- */

/* What a validator needs to check proposals: the genesis and the chain tip's block. */
typedef struct checker {
	const char *prog; /* the command, in messages */
	FILE *out;        /* where verdicts are reported: stdout, the daemon's stderr */
	const char *tag;  /* before each verdict line ("" or "chainvote validator: ") */
	cv_http *http;
	cv_block genesis;
	cv_block prev; /* the block below the proposals' height, when fetched */
	int have_prev;
	uint64_t failed_prev; /* a height whose block could not be fetched; 0: none */
	uint64_t closed_at;   /* the service's close (GET /api/election), 0 while open */
	/* the parameters in force below the height checked (docs/GOVERNANCE.md): the
	 * genesis with the committed changes that GET /api/changes lists applied */
	cv_params params;
	uint64_t params_below; /* the height they are for; 0: not read */
} checker;

static void checker_free(checker *k)
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
__attribute__((format(printf, 2, 3))) static void report(const checker *k, const char *fmt, ...)
{
	va_list ap;

	fputs(k->tag, k->out);
	va_start(ap, fmt);
	vfprintf(k->out, fmt, ap);
	va_end(ap);
	fputc('\n', k->out);
	fflush(k->out);
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
static void refusal_text(const proposal *p, char text[CV_TEXT_MAX + 1])
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
static int refuse(const checker *k, const proposal *p, const char *hex)
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

/* What became of a verdict sent to the service. */
typedef enum sent {
	SENT = 0,         /* recorded, now or before */
	SENT_REFUSED = 1, /* the service refused it (reported): sending it again is no use */
	SENT_NOT = 2      /* it did not arrive (reported): it may be sent again */
} sent;

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
static sent post_approval(const checker *k, const cv_privkey *key, const cv_block *b)
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
static sent post_rejection(const checker *k, const cv_privkey *key,
                           const uint8_t block_hash[CV_HASH_LEN], uint64_t height,
                           const char *reason)
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
static void choice_order(const cv_api_proposal_list *l, size_t *order)
{
	for (size_t i = 0; i < l->n; i++) {
		size_t j = i;

		for (; j > 0 && l->items[order[j - 1]].n_approvals < l->items[i].n_approvals; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
}

/* Reads GET /api/proposals into *list. 0, or -1 with a message printed. */
static int fetch_list(const checker *k, cv_api_proposal_list *list)
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
static int check_validator(checker *k, const cv_privkey *key, const char *key_path)
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

/* ---- the validator daemon's journal ---- */

/* The journal is a text file, one line per signature, appended and synced before the
 * signature is sent:
 *     approve ELECTION_ID HEIGHT BLOCK_HASH
 *     reject ELECTION_ID HEIGHT BLOCK_HASH
 * (hashes in lowercase hex). An approval line for a height forbids an approval of any
 * other block at that height of that election. A last line without its newline is a
 * write cut short, whose signature was never sent: it is dropped. Any other line not
 * understood stops the daemon, since it might be a signature it would then forget. */
typedef struct entry {
	uint8_t election_id[CV_HASH_LEN];
	uint64_t height;
	uint8_t block_hash[CV_HASH_LEN];
	char kind;  /* 'a' approved, 'r' rejected (both in the file), 'n' declined: memory */
	int posted; /* the service has it (in this run) */
} entry;

typedef struct journal {
	const char *path;
	int fd;
	entry *items;
	size_t n, cap;
} journal;

#define JOURNAL_MAX  (64u * 1024 * 1024)
#define JOURNAL_LINE (8 + HEX_HASH + 21 + HEX_HASH + 2)

static void journal_close(journal *j)
{
	if (j->fd >= 0)
		close(j->fd); /* releases the lock */
	j->fd = -1;
	free(j->items);
	j->items = NULL;
	j->n = j->cap = 0;
}

/* Adds e to the entries in memory; -1 when out of memory. */
static int journal_keep(journal *j, const entry *e)
{
	if (j->n == j->cap) {
		size_t cap = j->cap ? 2 * j->cap : 64;
		entry *items = realloc(j->items, cap * sizeof(*items));

		if (items == NULL)
			return -1;
		j->items = items;
		j->cap = cap;
	}
	j->items[j->n++] = *e;
	return 0;
}

/* One complete line (NUL-terminated, no newline) into e; -1 when not understood. */
static int journal_parse(const char *line, entry *e)
{
	char kind[8], election[HEX_HASH], block[HEX_HASH], height[21], rest[2];

	memset(e, 0, sizeof(*e));
	if (sscanf(line, "%7s %64s %20s %64s %1s", kind, election, height, block, rest) != 4)
		return -1;
	if (strcmp(kind, "approve") == 0)
		e->kind = 'a';
	else if (strcmp(kind, "reject") == 0)
		e->kind = 'r';
	else
		return -1;
	if (cv_hex_decode(election, e->election_id, CV_HASH_LEN) != CV_OK ||
	    cv_hex_decode(block, e->block_hash, CV_HASH_LEN) != CV_OK)
		return -1;
	for (const char *c = height; *c; c++) {
		if (*c < '0' || *c > '9' || e->height > (UINT64_MAX - 9) / 10)
			return -1;
		e->height = e->height * 10 + (uint64_t)(*c - '0');
	}
	return e->height == 0 ? -1 : 0;
}

/* Opens (creating, mode 0600) and locks the journal at path, and reads what it holds.
 * 0, or -1 with a message printed: another daemon holds it, or it cannot be read, or a
 * line is not understood. */
static int journal_open(journal *j, const char *path)
{
	struct stat st;
	char *text = NULL, *line, *end;
	size_t len = 0, lineno = 0;
	int ok = -1;

	memset(j, 0, sizeof(*j));
	j->path = path;
	j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		fprintf(stderr, "chainvote validator: journal %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr,
		        "chainvote validator: journal %s is in use by another validator daemon "
		        "(one daemon per key)\n",
		        path);
		goto out;
	}
	if (fstat(j->fd, &st) != 0 || st.st_size > (off_t)JOURNAL_MAX) {
		fprintf(stderr, "chainvote validator: journal %s: unreadable or too large\n", path);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		fprintf(stderr, "chainvote validator: out of memory\n");
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t got = pread(j->fd, text + len, (size_t)st.st_size - len, (off_t)len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			fprintf(stderr, "chainvote validator: journal %s: cannot read it\n", path);
			goto out;
		}
		len += (size_t)got;
	}
	text[len] = '\0';
	for (line = text; (end = memchr(line, '\n', len - (size_t)(line - text))) != NULL;
	     line = end + 1) {
		entry e;

		*end = '\0';
		lineno++;
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (journal_parse(line, &e) != 0) {
			fprintf(stderr,
			        "chainvote validator: journal %s: line %zu is not understood; not "
			        "starting, so that no signature it records is forgotten\n",
			        path, lineno);
			goto out;
		}
		if (journal_keep(j, &e) != 0) {
			fprintf(stderr, "chainvote validator: out of memory\n");
			goto out;
		}
	}
	if ((size_t)(line - text) < len) {
		/* a write cut short: its signature was never sent (sent only after the sync) */
		fprintf(stderr,
		        "chainvote validator: journal %s: dropping an incomplete last line\n",
		        path);
		if (ftruncate(j->fd, (off_t)(line - text)) != 0 || fsync(j->fd) != 0) {
			fprintf(stderr, "chainvote validator: journal %s: %s\n", path,
			        strerror(errno));
			goto out;
		}
	}
	ok = 0;
out:
	free(text);
	if (ok != 0)
		journal_close(j);
	return ok;
}

/* The entry of block_hash in election, or NULL. */
static entry *journal_find(journal *j, const uint8_t election_id[CV_HASH_LEN],
                           const uint8_t block_hash[CV_HASH_LEN])
{
	for (size_t i = 0; i < j->n; i++)
		if (memcmp(j->items[i].block_hash, block_hash, CV_HASH_LEN) == 0 &&
		    memcmp(j->items[i].election_id, election_id, CV_HASH_LEN) == 0)
			return &j->items[i];
	return NULL;
}

/* The approval recorded at height in election, or NULL. */
static const entry *journal_approved_at(const journal *j, const uint8_t election_id[CV_HASH_LEN],
                                        uint64_t height)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->items[i].kind == 'a' && j->items[i].height == height &&
		    memcmp(j->items[i].election_id, election_id, CV_HASH_LEN) == 0)
			return &j->items[i];
	return NULL;
}

/* Appends e's line and syncs it (kind 'a' or 'r'), then keeps e in memory (in place of
 * its declined entry, if any). 0, or -1
 * with a message printed: nothing may then be signed. */
static int journal_append(journal *j, const entry *e)
{
	char line[JOURNAL_LINE + 8], election[HEX_HASH], block[HEX_HASH];
	entry *kept;
	size_t len, off = 0;
	int n;

	cv_hex_encode(e->election_id, CV_HASH_LEN, election);
	cv_hex_encode(e->block_hash, CV_HASH_LEN, block);
	n = snprintf(line, sizeof(line), "%s %s %" PRIu64 " %s\n",
	             e->kind == 'a' ? "approve" : "reject", election, e->height, block);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	len = (size_t)n;
	while (off < len) {
		ssize_t w = write(j->fd, line + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off < len || fsync(j->fd) != 0) {
		fprintf(stderr,
		        "chainvote validator: journal %s: cannot write it (%s); signing "
		        "stops\n",
		        j->path, strerror(errno));
		return -1;
	}
	kept = journal_find(j, e->election_id, e->block_hash);
	if (kept != NULL) { /* declined before: memory only, now in the file */
		*kept = *e;
		return 0;
	}
	if (journal_keep(j, e) != 0) {
		fprintf(stderr, "chainvote validator: out of memory\n");
		return -1;
	}
	return 0;
}

/* Syncs the directory that holds path, so that a journal just created survives a crash.
 * 0, or -1. */
static int sync_parent(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, ok;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = fsync(fd);
	close(fd);
	return ok;
}

/* ---- the validator daemon ---- */

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

typedef struct daemon_state {
	checker k;
	journal j;
	const cv_privkey *key;
	const char *key_path;
	int have_genesis;
	int down;    /* the service did not answer last time (said once) */
	int waiting; /* no open election yet (said once) */
	/* energy-free proposing (difficulty 0 only; see proposer_turn) */
	int propose;          /* the genesis says difficulty 0: this daemon proposes too */
	size_t index;         /* this key's place in the genesis validators */
	double propose_after; /* T: a turn's length in seconds */
	uint64_t seen_height; /* the height whose work was first seen at seen_at; 0: none */
	double seen_at;       /* CLOCK_MONOTONIC seconds */
	int work_trouble;     /* the work template could not be had last time (said once) */
} daemon_state;

/* How a round went. */
enum { ROUND_OK, ROUND_DOWN, ROUND_FATAL };

/* Signs p's verdict: a rejection when the rules refuse it, else an approval unless this
 * key approved another block at its height (then declined: said once, and checked again
 * each round, since a block the rules pass now may break them later, e.g. after the
 * close). Returns ROUND_FATAL when the journal cannot be written, else ROUND_OK. */
static int sign_verdict(daemon_state *d, proposal *p, const char *hex)
{
	checker *k = &d->k;
	const uint8_t *election_id = k->genesis.hash;
	const uint64_t height = p->block.header.height;
	entry *e = journal_find(&d->j, election_id, p->block.hash);
	const entry *mine = journal_approved_at(&d->j, election_id, height);
	entry fresh;
	sent s;

	memset(&fresh, 0, sizeof(fresh));
	memcpy(fresh.election_id, election_id, CV_HASH_LEN);
	memcpy(fresh.block_hash, p->block.hash, CV_HASH_LEN);
	fresh.height = height;
	if (p->verdict != CV_OK) {
		char why[CV_TEXT_MAX + 1];

		if (e != NULL && e->kind == 'a') { /* approved before the rules refused it */
			e->posted = 1;
			return ROUND_OK;
		}
		refusal_text(p, why);
		fresh.kind = 'r';
		if ((e == NULL || e->kind == 'n') && journal_append(&d->j, &fresh) != 0)
			return ROUND_FATAL;
		s = post_rejection(k, d->key, p->block.hash, height, why);
	} else {
		if (e != NULL && e->kind == 'r') { /* rejected before: one verdict a block */
			e->posted = 1;
			return ROUND_OK;
		}
		if (e != NULL && e->kind == 'n')
			return ROUND_OK;
		if (mine != NULL && memcmp(mine->block_hash, p->block.hash, CV_HASH_LEN) != 0) {
			char other[HEX_HASH];

			cv_hex_encode(mine->block_hash, CV_HASH_LEN, other);
			report(k,
			       "block %" PRIu64 " %s: not signing: this key approved block %s at "
			       "this height (journal %s)",
			       height, hex, other, d->j.path);
			fresh.kind = 'n';
			return journal_keep(&d->j, &fresh) == 0 ? ROUND_OK : ROUND_FATAL;
		}
		fresh.kind = 'a';
		if (e == NULL && journal_append(&d->j, &fresh) != 0)
			return ROUND_FATAL;
		s = post_approval(k, d->key, &p->block);
	}
	/* the entry of this block now; a verdict that did not arrive goes again */
	e = journal_find(&d->j, election_id, p->block.hash);
	if (e != NULL && s != SENT_NOT)
		e->posted = 1;
	return ROUND_OK;
}

/* The proposals at the next height, each checked and signed once. */
static int sign_all(daemon_state *d, const cv_api_proposal_list *l)
{
	size_t *order = calloc(l->n ? l->n : 1, sizeof(*order));
	int result = ROUND_OK;

	if (order == NULL) {
		fprintf(stderr, "chainvote validator: out of memory\n");
		return ROUND_DOWN;
	}
	choice_order(l, order);
	for (size_t i = 0; i < l->n && result == ROUND_OK && !stopping; i++) {
		const cv_proposal_summary *s = &l->items[order[i]];
		const entry *e = journal_find(&d->j, d->k.genesis.hash, s->hash);
		char hex[HEX_HASH];
		proposal p;

		if (e != NULL && e->posted)
			continue;
		cv_hex_encode(s->hash, CV_HASH_LEN, hex);
		if (fetch_proposal(&d->k, s->hash, &p) != 0)
			continue; /* committed or discarded since the listing */
		if (!p.unreadable && !p.no_prev)
			result = sign_verdict(d, &p, hex);
		cv_block_free(&p.block);
	}
	free(order);
	return result;
}

/* ---- energy-free proposing (difficulty 0) ---- */

static double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether the validator at index (of n, genesis order) may propose at height once the
 * height's work has waited `waited` seconds, as this daemon observed it. The wait is cut
 * into turns of T seconds: turn k belongs to index (height + k) mod n, so turn 0 is the
 * scheduled proposer's (height mod n) and each later one falls back to the next index,
 * round and round while nobody proposes. A validator proposes only in the first half
 * of its own turn: daemons start the clock when they first see the work, which differs
 * between them by about one poll interval, so with T at least twice the interval the
 * halves of two turns never overlap and two honest daemons do not both propose. */
static int proposer_turn(uint64_t height, size_t n, size_t index, double waited, double T)
{
	uint64_t turn;

	if (n == 0 || !(waited >= 0) || !(T > 0) || waited / T > (double)UINT32_MAX)
		return 0; /* waited for ages: the turns go on but the arithmetic stops here */
	turn = (uint64_t)(waited / T);
	return (height + turn) % n == index && waited - (double)turn * T < T / 2;
}

/* Whether a proposal listed at height can still be committed: the service admitted it
 * (its stored verdict passes) and too few validators rejected it to keep it from the
 * threshold. While one can, nobody proposes another: a second block could only split
 * the approvals of a height. */
static int live_proposal(const cv_api_proposal_list *l, uint64_t height, size_t n_validators,
                         uint64_t threshold)
{
	for (size_t i = 0; i < l->n; i++) {
		const cv_proposal_summary *s = &l->items[i];

		if (s->height == height && s->checks.verdict == CV_OK &&
		    s->n_rejections <= n_validators && n_validators - s->n_rejections >= threshold)
			return 1;
	}
	return 0;
}

/* At difficulty 0, when it is this validator's turn at the next height and no proposal
 * there can still be committed: takes the work template (votes, or the seal after the
 * close), makes the block with the library's own functions (no search: any hash passes
 * difficulty 0) and posts it. Returns 1 when a block was proposed (the caller lists the
 * proposals again, so that this round approves it), else 0. Trouble is said once. */
static int propose_turn(daemon_state *d, const cv_api_election *el, const cv_api_proposal_list *l)
{
	checker *k = &d->k;
	const cv_genesis *g = k->genesis.genesis;
	uint64_t height = el->tip_height + 1;
	cv_http_reply r = {0};
	char why[400], hex[HEX_HASH];
	double now;
	cv_block b;
	cv_err err;
	int got, proposed = 0;

	if (el->final || el->difficulty != 0 ||
	    live_proposal(l, height, g->n_validators, el->threshold))
		return 0;
	got = cv_work_fetch(k->http, 0, &b, why, sizeof(why));
	if (got < 0) {
		if (!d->work_trouble)
			report(k, "cannot propose: %s", why);
		d->work_trouble = 1;
		return 0;
	}
	d->work_trouble = 0;
	if (got == 0)
		return 0;
	/* the template must extend the tip this round looked at, at difficulty 0 */
	if (b.header.height != height || b.header.difficulty != 0)
		goto out;
	now = monotonic_s();
	if (d->seen_height != height) {
		d->seen_height = height;
		d->seen_at = now;
	}
	if (!proposer_turn(height, g->n_validators, d->index, now - d->seen_at, d->propose_after))
		goto out;
	cv_header_hash(&b.header, b.hash);
	cv_hex_encode(b.hash, CV_HASH_LEN, hex);
	err = cv_work_propose(k->http, &b, &r);
	if (err == CV_OK && (r.status == 202 || r.status == 201 || r.status == 200)) {
		char what[64];

		if (b.has_seal)
			snprintf(what, sizeof(what), "the seal");
		else
			snprintf(what, sizeof(what), "%zu votes", b.n_votes);
		report(k,
		       "block %" PRIu64 " %s: proposed (%s, turn %" PRIu64 " of validator %zu, "
		       "after %.1f s)",
		       height, hex, what, (uint64_t)((now - d->seen_at) / d->propose_after),
		       d->index, now - d->seen_at);
		proposed = 1;
	} else if (err == CV_OK &&
	           (cv_work_no_room(&r) ||
	            (r.status == 409 && strcmp(r.code, cv_err_code(CV_E_STALE)) == 0))) {
		/* the tip moved, or the height has a proposal like it: looked at next round */
	} else if (err == CV_OK || r.status == 0) {
		report(k, "block %" PRIu64 ": proposal not accepted (HTTP %ld): %s%s%s", height,
		       r.status, r.code, r.message[0] ? ": " : "", r.message);
	} else {
		report(k, "block %" PRIu64 ": not proposed: %s", height, cv_err_code(err));
	}
out:
	cv_http_reply_free(&r);
	cv_block_free(&b);
	return proposed;
}

/* Once the genesis is known: at difficulty 0 this daemon proposes too, at its place in
 * the order of the validators in force (said once). */
static void start_proposing(daemon_state *d)
{
	/* the validators and difficulty in force when it starts (check_validator read them) */
	const cv_genesis *g =
	    d->k.params_below != 0 ? &d->k.params.genesis : d->k.genesis.genesis;
	uint8_t our_key[CV_KEY_LEN];
	const cv_validator *v;

	cv_privkey_public(d->key, our_key);
	v = cv_genesis_validator(g, our_key);
	if (v == NULL || g->election.difficulty != 0)
		return;
	d->propose = 1;
	d->index = (size_t)(v - g->validators);
	report(&d->k,
	       "energy-free election (difficulty 0): proposing blocks in turn, as validator %zu "
	       "of %zu (turns of %.1f s)",
	       d->index, g->n_validators, d->propose_after);
}

/* One look at the service: its election, then the proposals. */
static int round_once(daemon_state *d)
{
	checker *k = &d->k;
	cv_http_reply r = {0};
	cv_api_election el = {0};
	cv_api_proposal_list list = {0};
	int result = ROUND_DOWN;
	cv_err err;

	err = cv_http_request(k->http, "GET", "/api/election", NULL, &r);
	if (err != CV_OK || r.status >= 500 || (r.status != 200 && r.status != 404)) {
		if (!d->down && !stopping)
			fprintf(stderr,
			        "chainvote validator: the service does not answer (%s%s%s); trying "
			        "again, less often\n",
			        r.code, r.message[0] ? ": " : "", r.message);
		d->down = 1;
		goto out;
	}
	if (d->down)
		fprintf(stderr, "chainvote validator: the service answers again\n");
	d->down = 0;
	if (r.status == 404 || cv_api_election_read(r.body, &el) != CV_OK || !el.opened) {
		if (!d->waiting)
			fprintf(stderr, "chainvote validator: no open election yet; waiting\n");
		d->waiting = 1;
		result = ROUND_OK;
		goto out;
	}
	d->waiting = 0;
	if (!d->have_genesis) {
		if (cli_fetch_block(k->prog, k->http, "0", &k->genesis) != 0)
			goto out; /* tried again next round */
		d->have_genesis = 1;
		if (check_validator(k, d->key, d->key_path) != 0) {
			result = ROUND_FATAL;
			goto out;
		}
		start_proposing(d);
	}
	if (memcmp(el.genesis_hash, k->genesis.hash, CV_HASH_LEN) != 0) {
		fprintf(stderr, "chainvote validator: the service now holds another election; "
		                "stopping\n");
		result = ROUND_FATAL;
		goto out;
	}
	k->closed_at = el.closed_at;
	k->failed_prev = 0; /* a block that could not be fetched is asked for again */
	if (fetch_list(k, &list) != 0)
		goto out;
	if (d->propose && propose_turn(d, &el, &list)) {
		cv_api_proposal_list_free(&list);
		memset(&list, 0, sizeof(list));
		if (fetch_list(k, &list) != 0)
			goto out;
	}
	result = sign_all(d, &list);
out:
	cv_api_proposal_list_free(&list);
	cv_api_election_free(&el);
	cv_http_reply_free(&r);
	return result;
}

/* Sleeps seconds, or less when a stop is asked. */
static void nap(double seconds)
{
	while (seconds > 0 && !stopping) {
		double step = seconds < 0.1 ? seconds : 0.1;
		struct timespec ts = {0, (long)(step * 1e9)};

		nanosleep(&ts, NULL);
		seconds -= step;
	}
}

/* A number of seconds in [lo, hi]: digits with at most one decimal point. */
static int parse_seconds(const char *s, double lo, double hi, double *out)
{
	char *end = NULL;
	double v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static void validator_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: chainvote validator --url URL [--cacert FILE] [--election SLUG] --key FILE\n"
	    "                           [--interval SECONDS] [--journal FILE]\n"
	    "                           [--propose-after SECONDS]\n"
	    "Runs as a daemon: every SECONDS (default 2) it lists the proposals, re-checks\n"
	    "each here with the chain's rules, as `chainvote approve` does, and signs with\n"
	    "the validator key in FILE: a rejection (the broken rule as its reason) of a\n"
	    "proposal the rules refuse, an approval of at most one valid proposal per\n"
	    "height (the one with the most approvals, the oldest on a tie). Each signature\n"
	    "is logged on stderr, one line each.\n"
	    "It never approves two blocks at one height, even across restarts: each\n"
	    "signature is first appended to the journal (default: the key file's path with\n"
	    ".signed added) and synced, and the journal is read at start and consulted\n"
	    "before each signature. One daemon per journal (it is locked).\n"
	    "When the service does not answer it tries again with a growing pause (at\n"
	    "most a minute), saying so once. SIGTERM or SIGINT stops it.\n"
	    "In an energy-free election (difficulty 0) it also proposes the blocks, in\n"
	    "turn: the validator at index H mod N of the genesis order proposes height H as\n"
	    "soon as it sees work (votes, or the seal after the close); when nobody has\n"
	    "proposed after --propose-after SECONDS (default 3, or twice the interval if\n"
	    "longer) the turn passes to the next index, and so on. It proposes only while no\n"
	    "proposal at the height can still be committed, and never at a difficulty\n"
	    "above 0.\n" CACERT_HELP
	    "Exit status: 0 stopped by a signal, 1 a problem (not a validator's key, the\n"
	    "journal unreadable or unwritable, another election), 2 usage.\n");
}

int cmd_validator(int argc, char **argv)
{
	static const struct option longopts[] = {
	    CLI_SERVICE_OPTIONS,
	    {"key", required_argument, NULL, OPT_KEY},
	    {"interval", required_argument, NULL, OPT_INTERVAL},
	    {"journal", required_argument, NULL, OPT_JOURNAL},
	    {"propose-after", required_argument, NULL, OPT_PROPOSE_AFTER},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	cli_service svc = {0};
	const char *key_path = NULL, *journal_path = NULL;
	char *default_journal = NULL;
	double interval = 2, pause, propose_after = 0;
	cv_privkey *key = NULL;
	daemon_state d;
	struct sigaction sa;
	uint8_t our_key[CV_KEY_LEN];
	char our_hex[2 * CV_KEY_LEN + 1];
	int c, status = 1, result = ROUND_OK;

	memset(&d, 0, sizeof(d));
	d.j.fd = -1;
	d.k.prog = "validator";
	d.k.out = stderr;
	d.k.tag = "chainvote validator: ";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_service_opt(c, optarg, &svc))
			continue;
		switch (c) {
		case OPT_KEY:
			key_path = optarg;
			break;
		case OPT_INTERVAL:
			if (parse_seconds(optarg, 0.05, 3600, &interval) != 0) {
				fprintf(stderr, "chainvote validator: --interval wants seconds, "
				                "0.05 to 3600\n");
				return 2;
			}
			break;
		case OPT_JOURNAL:
			journal_path = optarg;
			break;
		case OPT_PROPOSE_AFTER:
			if (parse_seconds(optarg, 0.1, 3600, &propose_after) != 0) {
				fprintf(stderr,
				        "chainvote validator: --propose-after wants seconds, "
				        "0.1 to 3600\n");
				return 2;
			}
			break;
		case OPT_HELP:
			validator_usage(stdout);
			return 0;
		default:
			validator_usage(stderr);
			return 2;
		}
	}
	if (svc.url == NULL || key_path == NULL || optind != argc) {
		validator_usage(stderr);
		return 2;
	}
	/* two daemons' clocks for a height differ by about one interval: a turn's first half
	 * must be longer than that (proposer_turn) */
	if (propose_after == 0) {
		propose_after = interval * 2 > 3 ? interval * 2 : 3;
	} else if (propose_after < interval * 2) {
		fprintf(stderr, "chainvote validator: --propose-after must be at least twice "
		                "--interval\n");
		return 2;
	}
	d.propose_after = propose_after;
	if (journal_path == NULL) {
		if (asprintf(&default_journal, "%s.signed", key_path) < 0) {
			fprintf(stderr, "chainvote validator: out of memory\n");
			return 1;
		}
		journal_path = default_journal;
	}
	key = cli_load_key("validator", key_path);
	if (key == NULL)
		goto out;
	d.key = key;
	d.key_path = key_path;
	if (journal_open(&d.j, journal_path) != 0)
		goto out;
	if (sync_parent(journal_path) != 0) {
		fprintf(stderr, "chainvote validator: journal %s: cannot sync its directory\n",
		        journal_path);
		goto out;
	}
	d.k.http = cli_open_http("validator", &svc);
	if (d.k.http == NULL)
		goto out;
	/* no SA_RESTART: a signal ends a pause; a request in progress is abandoned */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	cv_http_set_cancel(d.k.http, &stopping);
	cv_privkey_public(key, our_key);
	cv_hex_encode(our_key, CV_KEY_LEN, our_hex);
	fprintf(stderr, "chainvote validator: started for key %.16s…, journal %s (%zu entries)\n",
	        our_hex, journal_path, d.j.n);
	pause = interval;
	while (!stopping) {
		result = round_once(&d);
		if (result == ROUND_FATAL)
			break;
		/* a service that does not answer is asked less and less often, up to a minute */
		if (result != ROUND_DOWN)
			pause = interval;
		else if ((pause *= 2) > 60)
			pause = interval > 60 ? interval : 60;
		nap(pause);
	}
	if (result != ROUND_FATAL) {
		fprintf(stderr, "chainvote validator: stopped\n");
		status = 0;
	}
out:
	checker_free(&d.k);
	cli_close_http(d.k.http);
	journal_close(&d.j);
	cv_privkey_free(key);
	free(default_journal);
	return status;
}
