/* The chain verifier (cv_verifier, cv_verify_chain): it checks the crypto of every item
 * (votes' signatures, ballots' proofs, decryption shares' proofs) on all cores as the
 * blocks come, since it dominates its cost, and judges the rules in chain order, each
 * block as soon as its items' verdicts are in, every problem with a sentence. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules_impl.h"

void cv_tally_free(cv_tally *t)
{
	if (t == NULL)
		return;
	free(t->ids);
	free(t->votes);
	free(t->share_trustees);
	memset(t, 0, sizeof(*t));
}

/* The chain-wide "no earlier vote" index: every vote sorted by voter key, so that the
 * votes of one voter are neighbours; a group is taken by the first vote of it that
 * passes the rules, in chain order. */
typedef struct vote_ref {
	const uint8_t *key;
	size_t global; /* index in chain order */
} vote_ref;

typedef struct voted_index {
	size_t *group;       /* per global index: its group (first sorted position) */
	size_t *taken_by;    /* per group: global index of the counted vote */
	uint64_t *height_of; /* per global index: the block it is in */
	size_t block_base;   /* global index of the current block's vote 0 */
} voted_index;

static int vote_ref_cmp(const void *a, const void *b)
{
	const vote_ref *x = a, *y = b;
	int c = memcmp(x->key, y->key, CV_KEY_LEN);

	if (c != 0)
		return c;
	return (x->global > y->global) - (x->global < y->global);
}

static int index_has_voted(void *ctx, size_t vote_index, const uint8_t key[CV_KEY_LEN],
                           uint64_t *at)
{
	voted_index *vi = ctx;
	size_t g = vi->block_base + vote_index, grp = vi->group[g];

	(void)key;
	if (vi->taken_by[grp] != NO_INDEX) {
		*at = vi->height_of[vi->taken_by[grp]];
		return 1;
	}
	vi->taken_by[grp] = g;
	return 0;
}

static cv_err voted_index_build(const cv_chain *c, size_t n, voted_index *vi)
{
	vote_ref *refs = NULL;
	size_t g = 0;

	memset(vi, 0, sizeof(*vi));
	refs = malloc((n ? n : 1) * sizeof(*refs));
	vi->group = malloc((n ? n : 1) * sizeof(*vi->group));
	vi->taken_by = malloc((n ? n : 1) * sizeof(*vi->taken_by));
	vi->height_of = malloc((n ? n : 1) * sizeof(*vi->height_of));
	if (refs == NULL || vi->group == NULL || vi->taken_by == NULL || vi->height_of == NULL) {
		free(refs);
		return CV_E_NOMEM;
	}
	for (size_t i = 1; i < c->n_blocks; i++)
		for (size_t j = 0; j < c->blocks[i].n_votes + c->blocks[i].n_ballots; j++, g++) {
			const cv_block *b = &c->blocks[i];

			refs[g].key = j < b->n_votes ? b->votes[j].voter_key
			                             : b->ballots[j - b->n_votes].voter_key;
			refs[g].global = g;
			vi->height_of[g] = i;
			vi->taken_by[g] = NO_INDEX;
		}
	qsort(refs, n, sizeof(*refs), vote_ref_cmp);
	for (size_t i = 0, first = 0; i < n; i++) {
		if (i > 0 && memcmp(refs[i].key, refs[first].key, CV_KEY_LEN) != 0)
			first = i;
		vi->group[refs[i].global] = first;
	}
	free(refs);
	return CV_OK;
}

static void voted_index_free(voted_index *vi)
{
	free(vi->group);
	free(vi->taken_by);
	free(vi->height_of);
}

/* A deep copy of g put in genesis order, for lookups when the stated genesis is out of
 * order (already reported): the blocks after it can still be checked. */
static cv_err genesis_sorted_copy(const cv_genesis *g, cv_genesis *out)
{
	*out = *g;
	out->secrecy = NULL;
	out->candidates = malloc((g->n_candidates ? g->n_candidates : 1) * sizeof(*g->candidates));
	out->validators = malloc((g->n_validators ? g->n_validators : 1) * sizeof(*g->validators));
	out->voters = malloc((g->n_voters ? g->n_voters : 1) * sizeof(*g->voters));
	if (out->candidates == NULL || out->validators == NULL || out->voters == NULL) {
		cv_genesis_free(out);
		return CV_E_NOMEM;
	}
	if (g->n_candidates)
		memcpy(out->candidates, g->candidates, g->n_candidates * sizeof(*g->candidates));
	if (g->n_validators)
		memcpy(out->validators, g->validators, g->n_validators * sizeof(*g->validators));
	if (g->n_voters)
		memcpy(out->voters, g->voters, g->n_voters * sizeof(*g->voters));
	out->secrecy = NULL;
	(void)cv_genesis_normalise(out); /* sorts first; its verdict was reported */
	out->secrecy = g->secrecy;       /* borrowed: the verifier drops it before the free */
	return CV_OK;
}

/* ---- the chain verifier ---- */

/* One block's verdicts (its votes, then its ballots, then its decryption shares), filled
 * by the workers; `left` counts those still to come. Allocated one by one, so that
 * appending blocks never moves what a worker writes to. */
typedef struct block_verdicts {
	verdict *of;
	atomic_size_t left;
	bool after_seal; /* a secret election's block after the first seal: α is fixed */
} block_verdicts;

/* Blocks are appended as they come (read from a stream, or all at once from a chain in
 * memory); worker threads take their items in chunks, in chain order, as soon as a block
 * is there. What the items' crypto needs is fixed as the blocks come: a secret genesis
 * gives K and every K_j, the first seal the α_i its shares are checked against. */
struct cv_verifier {
	cv_chain chain;
	bool borrowed; /* chain's blocks are the caller's (cv_verify_chain) */
	size_t cap;
	block_verdicts **verdicts; /* per block */
	const cv_genesis *genesis; /* block 0's, or NULL */
	size_t k;                  /* its candidates */
	bool secret;               /* a secret genesis: K and K_j in sv */
	cv_secret_view sv;         /* K, K_j, seal_height, α (once the seal came) */
	uint64_t seal_height;      /* the first seal's block, 0 before it (appender's) */
	pthread_mutex_t mu;
	pthread_cond_t more;          /* a block was added, or no more will be */
	pthread_cond_t done;          /* a block's last verdict is in */
	size_t next_block, next_item; /* the first item no worker has taken */
	bool closing;                 /* no block will come: workers leave once done */
	pthread_t *threads;
	size_t n_threads;
	cv_err rc; /* the first failure to append */
};

#define ITEM_CHUNK 32

static size_t items_of(const cv_block *b)
{
	return b->n_votes + b->n_ballots + b->n_decryptions;
}

/* Item i of block b (a copy): its crypto, as the rules would compute it (a ballot outside
 * a secret election is refused by its mode). A share in a block before the first seal
 * is left to verdicts_of: its α is known only once that seal is read. */
static verdict item_crypto(const cv_verifier *v, const cv_block *b, bool after_seal, size_t i)
{
	if (i < b->n_votes)
		return cv_rl_verdict_of(cv_rl_vote_signature(&b->votes[i]), SIZE_MAX);
	i -= b->n_votes;
	if (i < b->n_ballots)
		return v->secret && !b->ballots[i].is_vote
		           ? cv_rl_ballot_crypto(v->sv.election_key, v->k, &b->ballots[i])
		           : cv_rl_verdict_of(CV_E_WRONG_MODE, SIZE_MAX);
	i -= b->n_ballots;
	if (after_seal)
		return cv_rl_share_crypto(v->genesis->secrecy, &v->sv, v->k, &b->decryptions[i]);
	return cv_rl_verdict_of(CV_E_INTERNAL, SIZE_MAX); /* not checked yet */
}

static void *verifier_worker(void *arg)
{
	cv_verifier *v = arg;

	pthread_mutex_lock(&v->mu);
	for (;;) {
		block_verdicts *bv;
		cv_block b;
		size_t start, end;

		while (v->next_block < v->chain.n_blocks &&
		       v->next_item >= items_of(&v->chain.blocks[v->next_block])) {
			v->next_block++;
			v->next_item = 0;
		}
		if (v->next_block >= v->chain.n_blocks) {
			if (v->closing)
				break;
			pthread_cond_wait(&v->more, &v->mu);
			continue;
		}
		b = v->chain.blocks[v->next_block]; /* the array may move, the items do not */
		bv = v->verdicts[v->next_block];
		start = v->next_item;
		end = start + ITEM_CHUNK < items_of(&b) ? start + ITEM_CHUNK : items_of(&b);
		v->next_item = end;
		pthread_mutex_unlock(&v->mu);
		for (size_t i = start; i < end; i++)
			bv->of[i] = item_crypto(v, &b, bv->after_seal, i);
		pthread_mutex_lock(&v->mu);
		if (atomic_fetch_sub(&bv->left, end - start) == end - start)
			pthread_cond_broadcast(&v->done);
	}
	pthread_mutex_unlock(&v->mu);
	return NULL;
}

/* A verifier with up to max_threads workers (none: cv_verifier_finish checks every item
 * on the caller's thread). NULL when out of memory. */
static cv_verifier *verifier_new(size_t max_threads)
{
	cv_verifier *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	if ((v->threads = calloc(max_threads ? max_threads : 1, sizeof(*v->threads))) == NULL) {
		free(v);
		return NULL;
	}
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->more, NULL);
	pthread_cond_init(&v->done, NULL);
	/* threads that cannot start leave their share to the others */
	for (size_t i = 0; i < max_threads; i++) {
		if (pthread_create(&v->threads[v->n_threads], NULL, verifier_worker, v) != 0)
			break;
		v->n_threads++;
	}
	return v;
}

static size_t online_cpus(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return cpus > 1 ? (size_t)cpus : 1;
}

cv_verifier *cv_verifier_new(void)
{
	return verifier_new(online_cpus());
}

static void block_verdicts_free(block_verdicts *bv)
{
	if (bv != NULL)
		free(bv->of);
	free(bv);
}

/* What block h fixes for the crypto of the items after it, before any worker sees
 * them: a secret genesis its K and K_j (CV_POINT_O where not derivable), the first seal
 * the α_i of the ballots before it. */
static cv_err block_arrived(cv_verifier *v, const cv_block *b, uint64_t h)
{
	cv_err rc;

	if (h == 0 && b->genesis != NULL) {
		v->genesis = b->genesis;
		v->k = b->genesis->n_candidates;
		if (b->genesis->secrecy == NULL)
			return CV_OK;
		if ((rc = cv_rl_secret_view_init(b->genesis, &v->sv)) != CV_OK)
			return rc;
		v->secret = true;
		return CV_OK;
	}
	if (h == 0 || !b->has_seal || v->seal_height != 0)
		return CV_OK;
	/* the first seal: the close every vote is held to, and the α_i of the ballots
	 * before it (those that are not well-formed add nothing; the rules report them) */
	v->seal_height = h;
	v->sv.seal_height = h;
	return v->secret ? cv_rl_aggregates(&v->chain, v->k, h, v->sv.alpha, NULL) : CV_OK;
}

/* Appends a copy of *b (its arrays are then the verifier's, or still the caller's when
 * borrowed) and wakes the workers. */
static cv_err verifier_append(cv_verifier *v, const cv_block *b)
{
	block_verdicts *bv = NULL;
	uint64_t h = v->chain.n_blocks;
	cv_err rc;

	if (v->rc != CV_OK)
		return v->rc;
	if ((bv = calloc(1, sizeof(*bv))) == NULL ||
	    (bv->of = calloc(items_of(b) ? items_of(b) : 1, sizeof(*bv->of))) == NULL) {
		block_verdicts_free(bv);
		return v->rc = CV_E_NOMEM;
	}
	atomic_init(&bv->left, items_of(b));
	pthread_mutex_lock(&v->mu);
	if (v->chain.n_blocks == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 64;
		cv_block *blocks = realloc(v->chain.blocks, cap * sizeof(*blocks));
		/* an array of pointers, one per block */
		block_verdicts **all = blocks ? realloc(v->verdicts, cap * sizeof(void *)) : NULL;

		if (blocks != NULL)
			v->chain.blocks = blocks;
		if (all != NULL)
			v->verdicts = all;
		if (blocks == NULL || all == NULL) {
			pthread_mutex_unlock(&v->mu);
			block_verdicts_free(bv);
			return v->rc = CV_E_NOMEM;
		}
		v->cap = cap;
	}
	pthread_mutex_unlock(&v->mu);
	/* the blocks before it are all in: no worker reads what this sets until the block
	 * is published below */
	if ((rc = block_arrived(v, b, h)) != CV_OK) {
		block_verdicts_free(bv);
		return v->rc = rc;
	}
	bv->after_seal = v->secret && v->seal_height != 0 && h > v->seal_height;
	pthread_mutex_lock(&v->mu);
	v->chain.blocks[h] = *b;
	v->verdicts[h] = bv;
	v->chain.n_blocks++;
	pthread_cond_broadcast(&v->more);
	pthread_mutex_unlock(&v->mu);
	return CV_OK;
}

cv_err cv_verifier_add(cv_verifier *v, cv_block *b)
{
	cv_err rc = verifier_append(v, b);

	if (rc == CV_OK)
		memset(b, 0, sizeof(*b));
	return rc;
}

/* Block h's verdicts, once its last one is in (every block is in by then). The shares
 * of a secret block before the first seal, which no rule lets count but each is judged
 * all the same, are checked here against that seal's α. */
static const verdict *verdicts_of(cv_verifier *v, size_t h)
{
	block_verdicts *bv = v->verdicts[h];
	const cv_block *b = &v->chain.blocks[h];

	if (atomic_load(&bv->left) != 0) {
		pthread_mutex_lock(&v->mu);
		while (atomic_load(&bv->left) != 0)
			pthread_cond_wait(&v->done, &v->mu);
		pthread_mutex_unlock(&v->mu);
	}
	if (v->secret && !bv->after_seal)
		for (size_t i = 0; i < b->n_decryptions; i++)
			bv->of[b->n_votes + b->n_ballots + i] = cv_rl_share_crypto(
			    v->genesis->secrecy, &v->sv, v->k, &b->decryptions[i]);
	return bv->of;
}

/* Tells the workers no block will come and no item not yet taken is needed, and waits
 * for them to leave. */
static void verifier_stop(cv_verifier *v)
{
	pthread_mutex_lock(&v->mu);
	v->closing = true;
	v->next_block = v->chain.n_blocks;
	pthread_cond_broadcast(&v->more);
	pthread_mutex_unlock(&v->mu);
	for (size_t i = 0; i < v->n_threads; i++)
		pthread_join(v->threads[i], NULL);
	v->n_threads = 0;
}

const cv_chain *cv_verifier_chain(const cv_verifier *v)
{
	return &v->chain;
}

void cv_verifier_free(cv_verifier *v)
{
	if (v == NULL)
		return;
	verifier_stop(v);
	for (size_t i = 0; i < v->chain.n_blocks; i++)
		block_verdicts_free(v->verdicts[i]);
	free(v->verdicts);
	free(v->threads);
	free(v->sv.trustee_keys);
	free(v->sv.share_of);
	free(v->sv.alpha);
	if (v->borrowed)
		free(v->chain.blocks);
	else
		cv_chain_free(&v->chain);
	pthread_mutex_destroy(&v->mu);
	pthread_cond_destroy(&v->more);
	pthread_cond_destroy(&v->done);
	free(v);
}

/* Every rule of the chain the verifier holds, in chain order, each block as soon as its
 * items' verdicts are in (the workers meanwhile check the next blocks'). */
static size_t verify_all(cv_verifier *v, cv_report_fn report, void *ctx, cv_tally *tally)
{
	sink s = {.report = report, .ctx = ctx, .height = -1, .all = true, .first = CV_OK};
	const cv_chain *c = &v->chain;
	cv_genesis sorted = {0};
	const cv_genesis *g;
	cv_err order = CV_E_BAD_GENESIS;
	voted_index vi = {0};
	cv_view view = {0};
	cv_params params = {0};
	earlier_check ec = {index_has_voted, &vi};
	size_t n_votes = 0, base = 0;
	cv_err rc;

	if (tally != NULL)
		memset(tally, 0, sizeof(*tally));
	if (c->n_blocks == 0) {
		cv_rl_problem(&s, ITEM_NONE, 0, CV_E_MALFORMED, "the chain has no blocks");
		return s.n;
	}
	s.height = 0;
	cv_rl_genesis_rules(&c->blocks[0], &s, &order);
	if (c->blocks[0].genesis == NULL)
		return s.n;
	s.height = -1;
	g = c->blocks[0].genesis;
	/* lookups are binary searches: a genesis out of order (reported above) is looked
	 * up in a sorted copy, so that the blocks after it can still be judged */
	if (order == CV_E_BAD_GENESIS) {
		if ((rc = genesis_sorted_copy(g, &sorted)) != CV_OK) {
			cv_rl_problem(&s, ITEM_NONE, 0, rc, "out of memory");
			return s.n;
		}
		g = &sorted;
	}
	/* every block is judged by the parameters in force at its height: the genesis's,
	 * then each committed change's from its effective height */
	if ((rc = cv_params_init(&params, g)) != CV_OK) {
		cv_rl_problem(&s, ITEM_NONE, 0, rc, "out of memory");
		goto out;
	}
	view.genesis = &params.genesis;
	view.params = &params;
	memcpy(view.election_id, c->blocks[0].hash, CV_HASH_LEN);
	view.genesis_timestamp = c->blocks[0].header.timestamp;
	/* the first seal is the close every vote of the chain is held to, before it as
	 * well as after (where any block is refused) */
	if (v->seal_height != 0)
		view.closed_at = c->blocks[v->seal_height].seal.closed_at;
	if (v->secret) {
		/* an array of pointers, one per trustee */
		v->sv.share_of = calloc(v->sv.n_trustees ? v->sv.n_trustees : 1, sizeof(void *));
		if (v->sv.share_of == NULL) {
			cv_rl_problem(&s, ITEM_NONE, 0, CV_E_NOMEM, "out of memory");
			goto out;
		}
		view.secret = &v->sv;
	}

	if (tally != NULL) {
		tally->n = g->n_candidates;
		tally->ids = calloc(tally->n ? tally->n : 1, sizeof(*tally->ids));
		tally->votes = calloc(tally->n ? tally->n : 1, sizeof(*tally->votes));
		if (tally->ids == NULL || tally->votes == NULL) {
			cv_rl_problem(&s, ITEM_NONE, 0, CV_E_NOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < tally->n; i++)
			tally->ids[i] = g->candidates[i].id;
	}

	for (size_t i = 1; i < c->n_blocks; i++)
		n_votes += c->blocks[i].n_votes + c->blocks[i].n_ballots;
	if ((rc = voted_index_build(c, n_votes, &vi)) != CV_OK) {
		cv_rl_problem(&s, ITEM_NONE, 0, rc, "out of memory");
		goto out;
	}

	for (size_t i = 1; i < c->n_blocks; i++) {
		const cv_block *b = &c->blocks[i], *prev = &c->blocks[i - 1];
		size_t before = s.n;

		s.height = (int64_t)i;
		vi.block_base = base;
		/* the link is the previous block's stated hash: a block with a wrong hash is
		 * reported once, and its successors are judged on their own */
		cv_rl_block_rules(&view, &prev->header, prev->hash, b, 0, verdicts_of(v, i), &ec,
		                  &s);
		cv_rl_approval_rules(view.genesis, &params, b->hash, b->approvals, b->n_approvals,
		                     &s);
		if (s.n == before && tally != NULL)
			for (size_t j = 0; j < b->n_votes; j++) {
				const cv_candidate *cand =
				    cv_genesis_candidate(g, b->votes[j].candidate_id);

				tally->votes[cand - g->candidates]++;
				tally->total++;
			}
		if (s.n == before && tally != NULL)
			tally->ballots += b->n_ballots;
		base += b->n_votes + b->n_ballots;
		view.sealed = view.sealed || b->has_seal;
		for (size_t j = 0; j < b->n_votes; j++)
			if (b->votes[j].timestamp > view.last_vote_time)
				view.last_vote_time = b->votes[j].timestamp;
		for (size_t j = 0; j < b->n_ballots; j++)
			if (b->ballots[j].timestamp > view.last_vote_time)
				view.last_vote_time = b->ballots[j].timestamp;
		/* a change that broke no rule is in force from the next height */
		if (b->change != NULL && s.n == before &&
		    (rc = cv_params_apply(&params, b->change)) != CV_OK)
			cv_rl_problem(&s, ITEM_NONE, 0, rc, "the change could not be applied");
	}
	if (tally != NULL && v->seal_height != 0 && s.n == 0) {
		tally->final = true;
		tally->closed_at = view.closed_at;
	}
	if (tally != NULL && g->secrecy != NULL)
		cv_rl_secret_tally(c, g, &v->sv, v->seal_height != 0, &s, tally);
out:
	voted_index_free(&vi);
	cv_params_free(&params);
	sorted.secrecy = NULL;
	cv_genesis_free(&sorted);
	return s.n;
}

size_t cv_verifier_finish(cv_verifier *v, cv_report_fn report, void *ctx, cv_tally *tally)
{
	size_t problems;

	if (v->rc != CV_OK) {
		sink s = {.report = report, .ctx = ctx, .height = -1, .all = true};

		if (tally != NULL)
			memset(tally, 0, sizeof(*tally));
		cv_rl_problem(&s, ITEM_NONE, 0, v->rc, "out of memory");
		return s.n;
	}
	pthread_mutex_lock(&v->mu);
	v->closing = true;
	pthread_cond_broadcast(&v->more);
	pthread_mutex_unlock(&v->mu);
	if (v->n_threads == 0)
		verifier_worker(v); /* no worker: the caller checks every item first */
	problems = verify_all(v, report, ctx, tally);
	verifier_stop(v); /* what is left was not needed (a chain with no genesis) */
	return problems;
}

size_t cv_verify_chain(const cv_chain *c, cv_report_fn report, void *ctx, cv_tally *tally)
{
	size_t items = 0, threads = online_cpus(), problems;
	cv_verifier *v;

	/* a chain of a few items is checked on the caller's thread alone */
	for (size_t i = 0; i < c->n_blocks; i++)
		items += items_of(&c->blocks[i]);
	if (threads > items / ITEM_CHUNK)
		threads = items / ITEM_CHUNK;
	if ((v = verifier_new(threads)) != NULL)
		v->borrowed = true;
	for (size_t i = 0; v != NULL && i < c->n_blocks; i++)
		(void)verifier_append(v, &c->blocks[i]); /* a failure is v->rc, reported below */
	if (v == NULL) {
		sink s = {.report = report, .ctx = ctx, .height = -1, .all = true};

		if (tally != NULL)
			memset(tally, 0, sizeof(*tally));
		cv_rl_problem(&s, ITEM_NONE, 0, CV_E_NOMEM, "out of memory");
		return s.n;
	}
	problems = cv_verifier_finish(v, report, ctx, tally);
	cv_verifier_free(v);
	return problems;
}
