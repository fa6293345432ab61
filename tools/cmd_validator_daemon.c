/* `chainvote validator`, the validator daemon: every interval it lists the proposals,
 * re-checks each with the check of cmd_validator.c and signs by itself (a rejection of a
 * proposal the rules refuse, an approval of at most one per height), each signature in
 * the journal first; in an energy-free election it also proposes the blocks, in turn. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "rules.h"
#include "cmd_validator.h"
#include "work.h"

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
	/* a trustee's decryption share (--share, secret elections only) */
	const char *share_path; /* the trustee's share file; NULL: no share to post */
	int share_done;         /* posted (by this daemon or before it) */
	double share_retry_at;  /* after a failure: not before this (CLOCK_MONOTONIC) */
	int share_open_said;    /* the election is open (no ballots to decrypt): said once */
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

	/* after a secret election's seal the trustees' shares still need a block */
	if ((el->final && !el->secret) || el->difficulty != 0 ||
	    live_proposal(l, height, g->n_validators, el->threshold))
		return 0;
	got = cv_work_fetch(k->http, 0, &b, why, sizeof(why));
	if (got < 0) {
		/* sealed and decrypted: the work is over (409 sealed), nothing to say */
		if (!d->work_trouble && !el->final)
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
		else if (b.n_decryptions > 0)
			snprintf(what, sizeof(what), "%zu decryption shares", b.n_decryptions);
		else if (b.n_ballots > 0)
			snprintf(what, sizeof(what), "%zu ballots", b.n_ballots);
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
	const cv_genesis *g = d->k.params_below != 0 ? &d->k.params.genesis : d->k.genesis.genesis;
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

/* With --share, once a secret election's seal is committed: posts this trustee's
 * decryption share (cli_trustee_decrypt), once. A failure is told (by
 * cli_trustee_decrypt) and tried again a minute later: the trustee may mend the share
 * file meanwhile. s_j is read from the file only for the post, never kept. */
static void post_share(daemon_state *d, const cv_api_election *el)
{
	char hex[HEX_HASH];
	double now;

	if (d->share_path == NULL || d->share_done)
		return;
	if (!el->secret) {
		if (!d->share_open_said)
			report(&d->k, "--share: the election is open (no secret ballots): no "
			              "decryption share to post");
		d->share_open_said = 1;
		return;
	}
	now = monotonic_s();
	if (!el->final || now < d->share_retry_at)
		return;
	switch (cli_trustee_decrypt(d->k.prog, d->k.http, d->key, d->share_path, hex)) {
	case CLI_DECRYPT_POSTED:
		report(&d->k, "the seal is committed: decryption share %s posted", hex);
		d->share_done = 1;
		break;
	case CLI_DECRYPT_ALREADY:
		report(&d->k, "the seal is committed: the decryption share of this trustee is "
		              "posted already");
		d->share_done = 1;
		break;
	case CLI_DECRYPT_NOT_SEALED: /* the chain read lags the election's word: next round */
		break;
	default:
		report(&d->k, "the decryption share was not posted; trying again in a minute");
		d->share_retry_at = now + 60;
		break;
	}
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
	if (result == ROUND_OK)
		post_share(d, &el);
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
	    "                           [--propose-after SECONDS] [--share FILE]\n"
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
	    "above 0.\n"
	    "With --share FILE (a trustee's share file, which `chainvote trustee shares`\n"
	    "wrote for this key) in a secret election, it also posts this trustee's\n"
	    "decryption share by itself once the seal is committed, as `chainvote trustee\n"
	    "decrypt` does (once; a failure is said and tried again a minute later). FILE\n"
	    "is read only then, and may appear after the start. It holds the trustee's\n"
	    "secret: run the daemon with it only on the trustee's own machine.\n" CACERT_HELP
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
	    {"share", required_argument, NULL, OPT_SHARE},
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
		case OPT_SHARE:
			d.share_path = optarg;
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
	if (d.share_path != NULL)
		fprintf(stderr,
		        "chainvote validator: as a trustee: the decryption share from %s is "
		        "posted once the seal is committed%s\n",
		        d.share_path,
		        access(d.share_path, R_OK) == 0 ? "" : " (the file is not there yet)");
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
