/* miner: fetches block templates from a ChainVote service, finds a proof of work on N
 * threads and posts the block as a proposal. It holds no key and trusts no template: it
 * recomputes the merkle root from the votes and posts only hashes that pass cv_pow_ok. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "http.h"
#include "api.h"
#include "json.h"
#include "pow.h"
#include "work.h"

/* Hashes per cv_mine call per thread: small enough that the hash-rate counters move
 * several times a second, large enough that the call overhead does not show. */
#define CHUNK_TRIES (1ULL << 16)
/* A job that has run this long is not restarted just because the pool grew, so a steady
 * stream of new votes cannot starve a slow (high difficulty) search. */
#define POOL_RESTART_MS   30000
#define RATE_EVERY_MS     10000
#define MAX_THREADS       1024
#define MAX_STALE_RETRIES 5
/* While our proposal awaits the validators, the tip is looked at this often (a small
 * GET), so that mining the next height starts as soon as the block is decided. */
#define DECIDED_POLL_MS 100

static volatile sig_atomic_t quit;

typedef struct options {
	const char *url;
	unsigned threads;
	unsigned poll_s;
	unsigned max_votes; /* 0: as many as the template offers */
	int once;
} options;

/* One search, shared by the workers and the main thread. Workers read `base` only;
 * `stop` is set by whoever ends the search; the first finder fills found_*. */
typedef struct hunt {
	cv_header base;
	unsigned n_threads;
	volatile int stop;
	uint64_t tries; /* __atomic adds */
	pthread_mutex_t lock;
	int found;
	cv_header found_header;
	uint8_t found_hash[CV_HASH_LEN];
} hunt;

typedef struct worker {
	hunt *hunt;
	unsigned index;
	pthread_t thread;
} worker;

/* What the miner last proposed, so an unchanged template is not mined twice while the
 * proposal waits for validators. */
typedef struct proposed {
	int valid;
	uint64_t height;
	uint8_t prev_hash[CV_HASH_LEN];
	uint8_t hash[CV_HASH_LEN];
} proposed;

enum outcome { MINED, CHANGED, STOPPED, BROKEN };

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sleeps ms milliseconds or until a signal asks to quit. */
static void nap(uint64_t ms)
{
	uint64_t until = now_ms() + ms;

	while (!quit && now_ms() < until) {
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static void hex32(const uint8_t p[CV_HASH_LEN], char out[2 * CV_HASH_LEN + 1])
{
	cv_hex_encode(p, CV_HASH_LEN, out);
}

static void *work(void *arg)
{
	worker *w = arg;
	hunt *hu = w->hunt;
	cv_header h = hu->base;
	uint64_t stride = hu->n_threads, chunk = CHUNK_TRIES * stride;
	uint64_t next = w->index; /* stays congruent to index mod stride */
	uint8_t hash[CV_HASH_LEN];

	while (!hu->stop) {
		uint64_t tries = 0, end;
		bool found;

		if (next >= CV_NONCE_LIMIT) {
			/* every thread runs out at about the same time and moves to the same
			 * next timestamp, so the threads' nonce sets stay disjoint */
			h.timestamp++;
			next = w->index;
		}
		end = next < CV_NONCE_LIMIT - chunk ? next + chunk : CV_NONCE_LIMIT;
		h.nonce = next;
		found = cv_mine(&h, end, stride, &hu->stop, hash, &tries);
		__atomic_fetch_add(&hu->tries, tries, __ATOMIC_RELAXED);
		if (found) {
			pthread_mutex_lock(&hu->lock);
			if (!hu->found) {
				hu->found = 1;
				hu->found_header = h;
				memcpy(hu->found_hash, hash, CV_HASH_LEN);
			}
			pthread_mutex_unlock(&hu->lock);
			__atomic_store_n(&hu->stop, 1, __ATOMIC_SEQ_CST);
			break;
		}
		next += chunk;
	}
	return NULL;
}

/* What the miner needs of GET /api/election: the chain's tip height, the threshold
 * and the number of validators. -1 when it cannot be read. */
typedef struct election_facts {
	uint64_t tip_height, threshold;
	size_t n_validators;
} election_facts;

static int read_election(cv_http *http, election_facts *f)
{
	cv_http_reply r = {0};
	cv_api_election el;
	int ok = cv_http_request(http, "GET", "/api/election", NULL, &r) == CV_OK &&
	         r.status == 200 && cv_api_election_read(r.body, &el) == CV_OK;

	if (ok) {
		ok = el.opened;
		f->tip_height = el.tip_height;
		f->threshold = el.threshold;
		f->n_validators = el.n_validators;
		cv_api_election_free(&el);
	}
	cv_http_reply_free(&r);
	return ok ? 0 : -1;
}

/* Whether our proposal is still listed at the next height and can still be committed:
 * validators that rejected it cannot approve it, so when fewer than the threshold are
 * left it never will be, and the height is mined again. When the service cannot be
 * asked, the proposal is taken as still waiting. */
static int still_proposed(cv_http *http, const uint8_t hash[CV_HASH_LEN])
{
	cv_http_reply r = {0};
	cv_api_proposal_list list = {0};
	election_facts el;
	int listed = 1;

	if (read_election(http, &el) != 0 ||
	    cv_http_request(http, "GET", "/api/proposals", NULL, &r) != CV_OK || r.status != 200 ||
	    cv_api_proposal_list_read(r.body, &list) != CV_OK)
		goto out;
	listed = 0;
	for (size_t i = 0; i < list.n; i++) {
		size_t rejected = list.items[i].n_rejections;

		if (memcmp(list.items[i].hash, hash, CV_HASH_LEN) != 0)
			continue;
		listed = rejected <= el.n_validators && el.n_validators - rejected >= el.threshold;
		if (!listed)
			printf("our proposal was rejected by %zu of %zu validators; mining the "
			       "height again\n",
			       rejected, el.n_validators);
	}
out:
	cv_api_proposal_list_free(&list);
	cv_http_reply_free(&r);
	return listed;
}

/* Whether the service's work moved away from the job: a new tip always counts; a
 * changed pool (as far as max_votes would take it) counts only for a young job
 * (POOL_RESTART_MS). */
static int work_changed(cv_http *http, unsigned max_votes, const cv_block *job, uint64_t age_ms)
{
	cv_http_reply r = {0};
	cv_block t;
	char why[160];
	int changed = 0, got;

	if (cv_http_request(http, "GET", "/api/work", NULL, &r) != CV_OK || r.status != 200)
		goto out; /* keep mining through a hiccup; the post will tell */
	got = cv_work_from_json(r.body, max_votes, &t, why, sizeof(why));
	if (got < 0)
		goto out;
	if (got == 0) { /* the pool emptied: someone committed our votes */
		changed = 1;
		goto out;
	}
	bool new_tip = t.header.height != job->header.height ||
	               memcmp(t.header.prev_hash, job->header.prev_hash, CV_HASH_LEN) != 0;
	bool new_pool = age_ms < POOL_RESTART_MS &&
	                memcmp(t.header.merkle_root, job->header.merkle_root, CV_HASH_LEN) != 0;
	changed = new_tip || new_pool;
	cv_block_free(&t);
out:
	cv_http_reply_free(&r);
	return changed;
}

/* Searches for a nonce for job on opt->threads threads, checking the service for new
 * work about once a second. MINED: job's header and hash are the found ones. */
static enum outcome mine(cv_http *http, const options *opt, cv_block *job)
{
	hunt hu;
	worker *workers = NULL;
	unsigned started = 0;
	uint64_t t0 = now_ms(), last_check = t0, last_rate = t0, last_tries = 0;
	enum outcome result = STOPPED;

	memset(&hu, 0, sizeof(hu));
	hu.base = job->header;
	hu.n_threads = opt->threads;
	pthread_mutex_init(&hu.lock, NULL);
	workers = calloc(opt->threads, sizeof(*workers));
	if (workers == NULL) {
		fprintf(stderr, "miner: out of memory\n");
		result = BROKEN;
		goto out;
	}
	for (; started < opt->threads; started++) {
		workers[started].hunt = &hu;
		workers[started].index = started;
		if (pthread_create(&workers[started].thread, NULL, work, &workers[started]) != 0) {
			fprintf(stderr, "miner: cannot start thread %u\n", started);
			result = BROKEN;
			__atomic_store_n(&hu.stop, 1, __ATOMIC_SEQ_CST);
			goto out;
		}
	}
	while (!__atomic_load_n(&hu.stop, __ATOMIC_SEQ_CST)) {
		uint64_t t = now_ms();

		if (quit) {
			__atomic_store_n(&hu.stop, 1, __ATOMIC_SEQ_CST);
			break;
		}
		if (t - last_rate >= RATE_EVERY_MS) {
			uint64_t tries = __atomic_load_n(&hu.tries, __ATOMIC_RELAXED);
			printf("height %" PRIu64 ": %.2f MH/s, %" PRIu64 " hashes so far\n",
			       job->header.height,
			       (double)(tries - last_tries) / 1e3 / (double)(t - last_rate), tries);
			last_rate = t;
			last_tries = tries;
		}
		if (t - last_check >= 1000) {
			last_check = t;
			if (work_changed(http, opt->max_votes, job, t - t0)) {
				result = CHANGED;
				__atomic_store_n(&hu.stop, 1, __ATOMIC_SEQ_CST);
				break;
			}
		}
		nap(20);
	}
out:
	for (unsigned i = 0; i < started; i++)
		pthread_join(workers[i].thread, NULL);
	if (hu.found) {
		uint64_t ms = now_ms() - t0;
		char hex[2 * CV_HASH_LEN + 1];

		job->header = hu.found_header;
		memcpy(job->hash, hu.found_hash, CV_HASH_LEN);
		hex32(job->hash, hex);
		printf("height %" PRIu64 ": nonce %" PRIu64 " found in %.2f s (%.2f MH/s): %s\n",
		       job->header.height, job->header.nonce, (double)ms / 1e3,
		       ms ? (double)hu.tries / 1e3 / (double)ms : 0.0, hex);
		result = MINED;
	} else if (result == CHANGED) {
		printf("height %" PRIu64 ": the work changed, refetching\n", job->header.height);
	}
	pthread_mutex_destroy(&hu.lock);
	free(workers);
	return result;
}

/* POSTs the mined block (cv_work_propose checks its hash and proof of work again rather
 * than trusting the search). Returns the HTTP status (0 when none arrived, or when the
 * height refuses the block for its room: same_votes, proposals_full), -1 for a block
 * that must not go out. */
static long post_block(cv_http *http, const cv_block *b)
{
	cv_http_reply r = {0};
	json_object *h;
	char hex[2 * CV_HASH_LEN + 1];
	long status = 0;
	cv_err err = cv_work_propose(http, b, &r);

	hex32(b->hash, hex);
	if (err == CV_E_BAD_HASH || err == CV_E_WEAK_POW || err == CV_E_NOMEM) {
		fprintf(stderr,
		        "miner: the found nonce does not give a valid proof of work (%s); "
		        "not posting\n",
		        cv_err_code(err));
		return -1;
	}
	if (err != CV_OK) {
		fprintf(stderr, "miner: POST /api/blocks: %s: %s\n", r.code, r.message);
	} else if (r.status == 202 || r.status == 201 || r.status == 200) {
		const char *st = "proposed";
		if (json_object_object_get_ex(r.body, "status", &h) &&
		    json_object_is_type(h, json_type_string))
			st = json_object_get_string(h);
		printf("height %" PRIu64 ": block %s %.40s (%zu votes)\n", b->header.height, hex,
		       st, b->n_votes + b->n_ballots + b->n_decryptions);
	} else {
		printf("height %" PRIu64 ": block %s refused (HTTP %ld): %s%s%s\n",
		       b->header.height, hex, r.status, r.code, r.message[0] ? ": " : "",
		       r.message);
	}
	status = r.status;
	/* the height keeps no more blocks like this one: mining it again at once would only
	 * be refused again, so the caller waits as after no answer */
	if (cv_work_no_room(&r))
		status = 0;
	cv_http_reply_free(&r);
	return status;
}

/* Waits until the tip reaches our proposal's height (it, or a rival, was committed) or
 * until it is no longer listed (the validators rejected it, or it went stale). The
 * proposal list, a larger answer, is looked at every poll interval only. */
static void wait_for_decision(cv_http *http, const options *opt, proposed *last)
{
	uint64_t next_list = now_ms() + opt->poll_s * 1000ULL;
	election_facts el;

	while (!quit) {
		nap(DECIDED_POLL_MS);
		if (read_election(http, &el) == 0 && el.tip_height >= last->height)
			return;
		if (now_ms() >= next_list) {
			if (!still_proposed(http, last->hash)) {
				last->valid = 0;
				return;
			}
			next_list = now_ms() + opt->poll_s * 1000ULL;
		}
	}
}

static int run(cv_http *http, const options *opt)
{
	proposed last = {0};
	char why[400], last_why[400] = "";
	enum { NOT_IDLE, IDLE_NO_VOTES, IDLE_PROPOSED } idle, was_idle = NOT_IDLE;
	int stale = 0;

	while (!quit) {
		cv_block job;
		int got = cv_work_fetch(http, opt->max_votes, &job, why, sizeof(why));
		enum outcome o;
		long status;

		if (got < 0) {
			if (opt->once) {
				fprintf(stderr, "miner: %s\n", why);
				return 1;
			}
			if (strcmp(why, last_why) != 0) /* one line per kind of trouble */
				fprintf(stderr, "miner: %s (retrying every %u s)\n", why,
				        opt->poll_s);
			snprintf(last_why, sizeof(last_why), "%s", why);
			nap(opt->poll_s * 1000ULL);
			continue;
		}
		last_why[0] = '\0';
		idle = got == 0 ? IDLE_NO_VOTES : NOT_IDLE;
		if (got > 0 && last.valid && job.header.height == last.height &&
		    memcmp(job.header.prev_hash, last.prev_hash, CV_HASH_LEN) == 0) {
			/* our proposal for this height awaits the validators; mining the same
			 * height again would only compete with it */
			if (still_proposed(http, last.hash))
				idle = IDLE_PROPOSED;
			else
				last.valid = 0;
		}
		if (idle != NOT_IDLE) {
			cv_block_free(&job);
			if (idle != was_idle && idle == IDLE_NO_VOTES)
				printf("waiting for votes (polling every %u s)\n", opt->poll_s);
			else if (idle != was_idle)
				printf("height %" PRIu64
				       ": waiting for the validators to decide on our proposal\n",
				       last.height);
			was_idle = idle;
			if (idle == IDLE_PROPOSED)
				wait_for_decision(http, opt, &last);
			else
				nap(opt->poll_s * 1000ULL);
			continue;
		}
		was_idle = NOT_IDLE;
		if (job.has_seal)
			printf("height %" PRIu64 ": mining the seal (closed at %" PRIu64
			       ") at difficulty %" PRIu32 " on %u threads\n",
			       job.header.height, job.seal.closed_at, job.header.difficulty,
			       opt->threads);
		else
			printf("height %" PRIu64 ": mining %zu votes at difficulty %" PRIu32
			       " on %u threads\n",
			       job.header.height, job.n_votes + job.n_ballots + job.n_decryptions,
			       job.header.difficulty, opt->threads);
		o = mine(http, opt, &job);
		if (o != MINED) {
			cv_block_free(&job);
			if (o == BROKEN)
				return 1;
			continue;
		}
		status = post_block(http, &job);
		if (status == 202 || status == 201 || status == 200) {
			last.valid = 1;
			last.height = job.header.height;
			memcpy(last.prev_hash, job.header.prev_hash, CV_HASH_LEN);
			memcpy(last.hash, job.hash, CV_HASH_LEN);
			cv_block_free(&job);
			if (opt->once)
				return 0;
			stale = 0;
			continue;
		}
		cv_block_free(&job);
		if (status < 0)
			return 1; /* a local bug: stop rather than loop on it */
		if (status == 409) {
			/* stale: someone else extended the tip; refetch at once */
			if (opt->once && ++stale > MAX_STALE_RETRIES)
				return 1;
			continue;
		}
		if (opt->once)
			return 1;
		nap(opt->poll_s * 1000ULL);
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: miner --url URL [--cacert FILE] [--election SLUG] [--threads N]\n"
	        "             [--poll SECONDS] [--max-votes N] [--once]\n"
	        "Fetches work from a ChainVote service, finds a proof of work and posts blocks.\n"
	        "  --url URL        the service, e.g. http://127.0.0.1:8080 (required); over\n"
	        "                   https:// its certificate is verified\n"
	        "  --cacert FILE    trust the CA certificates in FILE (PEM: a private CA, or the\n"
	        "                   service's self-signed certificate) instead of the system's\n"
	        "  --election SLUG  mine that election (/api/e/SLUG/...), not the default one\n"
	        "  --threads N      hashing threads (default: the online CPUs)\n"
	        "  --poll SECONDS   how often to look for votes when idle (default 1)\n"
	        "  --max-votes N    put at most N of the offered votes in a block\n"
	        "  --once           mine and post one block, then exit (0 posted, 1 failed)\n"
	        "  --help           this text\n"
	        "SIGINT or SIGTERM stops it cleanly (exit 0).\n");
}

/* Bounded decimal parse: 0 only for digits alone with lo <= value <= hi, else -1. */
static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"cacert", required_argument, NULL, 'c'},
	    {"election", required_argument, NULL, 'e'},
	    {"threads", required_argument, NULL, 't'},
	    {"poll", required_argument, NULL, 'p'},
	    {"once", no_argument, NULL, '1'},
	    {"max-votes", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	options opt = {0};
	struct sigaction sa;
	cv_http *http = NULL;
	const char *cacert = NULL, *election = NULL;
	cv_err err;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int c, status = 1;

	opt.threads = cpus > 0 ? (unsigned)(cpus < MAX_THREADS ? cpus : MAX_THREADS) : 1;
	opt.poll_s = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			opt.url = optarg;
			break;
		case 'c':
			cacert = optarg;
			break;
		case 'e':
			election = optarg;
			break;
		case 't':
			if (parse_uint(optarg, 1, MAX_THREADS, &opt.threads) != 0) {
				fprintf(stderr, "miner: --threads wants 1 to %d\n", MAX_THREADS);
				return 2;
			}
			break;
		case 'p':
			if (parse_uint(optarg, 1, 3600, &opt.poll_s) != 0) {
				fprintf(stderr, "miner: --poll wants 1 to 3600 seconds\n");
				return 2;
			}
			break;
		case '1':
			opt.once = 1;
			break;
		case 'm':
			if (parse_uint(optarg, 1, UINT32_MAX, &opt.max_votes) != 0) {
				fprintf(stderr, "miner: --max-votes wants a positive number\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (opt.url == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	/* progress goes to log files too; one line at a time */
	setvbuf(stdout, NULL, _IOLBF, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (cv_http_global_init() != CV_OK) {
		fprintf(stderr, "miner: cannot initialise libcurl\n");
		return 1;
	}
	if (cv_http_open(opt.url, &http) != CV_OK) {
		fprintf(stderr, "miner: --url wants http://HOST[:PORT] or https://…\n");
		cv_http_global_cleanup();
		return 2;
	}
	if (cacert != NULL && (err = cv_http_set_cacert(http, cacert)) != CV_OK) {
		fprintf(stderr, "miner: --cacert %s: cannot read it (%s)\n", cacert,
		        cv_err_code(err));
		cv_http_close(http);
		cv_http_global_cleanup();
		return 2;
	}
	if (election != NULL && cv_http_set_election(http, election) != CV_OK) {
		fprintf(stderr, "miner: --election wants 1-32 characters of a-z, 0-9 and -\n");
		cv_http_close(http);
		cv_http_global_cleanup();
		return 2;
	}
	cv_http_set_cancel(http, &quit);
	status = run(http, &opt);
	if (quit) {
		printf("stopping\n");
		status = 0;
	}
	cv_http_close(http);
	cv_http_global_cleanup();
	return status;
}
