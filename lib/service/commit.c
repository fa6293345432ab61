/* Group commit of votes across a program's workers. A vote's transaction is short; what
 * holds ingestion is the log flush each worker would wait for alone. Here the votes the
 * workers bring at the same time are written in one transaction and made durable by
 * one flush: each worker puts its checked vote in its slot of a shared page; one of
 * them (the leader, whoever holds the page's mutex) takes every waiting vote, writes
 * the batch and flushes, then gives each its outcome. Votes that arrive during a flush
 * wait for it and go together in the next batch, so batches grow with the load. */
#include "service_impl.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* How long a waiting worker sleeps before it looks again without being woken: a
 * leader killed mid-batch must not leave the others asleep (the first to look again
 * finds the mutex's owner dead). */
#define WAIT_MS 50

/* A slot's life: the worker writes its vote and sets QUEUED; the leader sets TAKEN
 * when it copies the vote into its batch, DONE with the outcome once the batch's
 * transaction has ended (and, for CV_OK, its flush); the worker reads the outcome and
 * sets EMPTY. Only the slot's worker leaves EMPTY or DONE; only a leader (holding the
 * mutex) leaves QUEUED or TAKEN. */
enum { SLOT_EMPTY = 0, SLOT_QUEUED, SLOT_TAKEN, SLOT_DONE };

struct slot {
	_Atomic int state;
	/* The futex word the slot's worker sleeps on: moved and woken when the slot is
	 * done, or when the worker is to lead the next batch. */
	_Atomic uint32_t wake;
	cv_err outcome;     /* written before state becomes DONE */
	uint64_t now;       /* when the vote's rules were checked */
	uint64_t n_changes; /* the rule changes of the parameters it was checked on */
	cv_vote vote;
	/* the vote's election: a batch is one election's, one transaction in its databases */
	char election[CV_ELECTION_SLUG_MAX + 1];
};

struct cv_sv_commit {
	/* Process-shared and robust: a leader killed mid-batch leaves it to the next
	 * locker with EOWNERDEAD instead of locked for good. */
	pthread_mutex_t leader;
	/* Votes written and batches that wrote them, since the last reset (for tests and
	 * the bench's report). */
	_Atomic unsigned long long n_votes, n_batches;
	struct slot slot[CV_SV_MAX_WORKERS];
};

/* This worker's queue and slot (NULL outside a worker). */
static cv_sv_commit *my_queue;
static int my_slot = -1;

static cv_err init(cv_sv_commit *q)
{
	pthread_mutexattr_t a;
	int rc;

	memset(q, 0, sizeof *q);
	if (pthread_mutexattr_init(&a) != 0)
		return CV_E_INTERNAL;
	rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (rc == 0)
		rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (rc == 0)
		rc = pthread_mutex_init(&q->leader, &a);
	pthread_mutexattr_destroy(&a);
	return rc == 0 ? CV_OK : CV_E_INTERNAL;
}

cv_sv_commit *cv_sv_commit_new(void)
{
	cv_sv_commit *q =
	    mmap(NULL, sizeof *q, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (q == MAP_FAILED)
		return NULL;
	if (init(q) != CV_OK) {
		munmap(q, sizeof *q);
		return NULL;
	}
	return q;
}

cv_err cv_sv_commit_reset(cv_sv_commit *q)
{
	/* no worker is alive: nobody holds or waits on the mutex, so it is made anew */
	return init(q);
}

void cv_sv_commit_free(cv_sv_commit *q)
{
	if (q != NULL)
		munmap(q, sizeof *q);
}

void cv_sv_commit_attach(cv_sv_commit *q, int slot)
{
	my_queue = q;
	my_slot = slot;
	if (q != NULL && slot >= 0 && slot < CV_SV_MAX_WORKERS)
		atomic_store(&q->slot[slot].state, SLOT_EMPTY);
}

void cv_sv_commit_stats(const cv_sv_commit *q, unsigned long long *n_votes,
                        unsigned long long *n_batches)
{
	*n_votes = atomic_load(&((cv_sv_commit *)q)->n_votes);
	*n_batches = atomic_load(&((cv_sv_commit *)q)->n_batches);
}

static void wait_slot(struct slot *sl, uint32_t seen)
{
	struct timespec ts = {0, WAIT_MS * 1000000L};

	/* not FUTEX_PRIVATE: the word is in memory shared by processes */
	syscall(SYS_futex, (uint32_t *)&sl->wake, FUTEX_WAIT, seen, &ts, NULL, 0);
}

/* Wakes one slot's worker only: a batch wakes the workers it answered, and one that
 * is still waiting to lead the next, not every worker at each flush. */
static void wake_slot(struct slot *sl)
{
	atomic_fetch_add(&sl->wake, 1);
	syscall(SYS_futex, (uint32_t *)&sl->wake, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* After a batch: one worker whose vote waits still, to lead the next batch. */
static void wake_next_leader(cv_sv_commit *q)
{
	for (int i = 0; i < CV_SV_MAX_WORKERS; i++)
		if (atomic_load(&q->slot[i].state) == SLOT_QUEUED) {
			wake_slot(&q->slot[i]);
			return;
		}
}

/* The previous leader died holding the mutex: the votes it had taken may or may not
 * be in the store (its transaction may have committed, and been flushed, or not), so
 * none of them may be answered as accepted. They end as CV_E_RECOVER: the worker
 * answers 503 and exits, and the master recovers the store (the leader's death inside
 * the store asks for that anyway). The voter's receipt check tells what happened. */
static void abandon_taken(cv_sv_commit *q)
{
	for (int i = 0; i < CV_SV_MAX_WORKERS; i++)
		if (atomic_load(&q->slot[i].state) == SLOT_TAKEN) {
			q->slot[i].outcome = CV_E_RECOVER;
			atomic_store(&q->slot[i].state, SLOT_DONE);
			wake_slot(&q->slot[i]);
		}
}

/* The leader's work, with the mutex held: every queued vote of its election in one
 * transaction (the others wait for a leader of theirs: wake_next_leader). */
static void lead(cv_sv_commit *q, cv_store *s)
{
	const char *election = cv_store_slug(s);
	cv_vote votes[CV_SV_MAX_WORKERS];
	uint64_t n_changes[CV_SV_MAX_WORKERS];
	cv_err outcome[CV_SV_MAX_WORKERS];
	int taken[CV_SV_MAX_WORKERS];
	uint64_t now = cv_now();
	size_t n = 0, n_ok = 0;
	cv_err e;

	for (int i = 0; i < CV_SV_MAX_WORKERS; i++) {
		struct slot *sl = &q->slot[i];
		if (atomic_load(&sl->state) != SLOT_QUEUED || strcmp(sl->election, election) != 0)
			continue;
		votes[n] = sl->vote;
		n_changes[n] = sl->n_changes;
		if (sl->now > now)
			now = sl->now; /* the clock may step back; the batch is never earlier */
		taken[n++] = i;
		atomic_store(&sl->state, SLOT_TAKEN);
	}
	e = cv_store_add_votes_checked(s, votes, n_changes, n, now, outcome);
	for (size_t k = 0; k < n; k++) {
		struct slot *sl = &q->slot[taken[k]];

		sl->outcome = e == CV_OK ? outcome[k] : e;
		if (sl->outcome == CV_OK)
			n_ok++;
		atomic_store(&sl->state, SLOT_DONE);
		wake_slot(sl);
	}
	atomic_fetch_add(&q->n_votes, n_ok);
	atomic_fetch_add(&q->n_batches, 1);
}

/* Queues v (already checked) in this worker's slot and returns its outcome once a
 * batch has carried it: CV_OK only after the batch's flush. */
static cv_err commit_queued(cv_sv_commit *q, struct slot *sl, cv_store *s, const cv_vote *v,
                            uint64_t now, uint64_t n_changes)
{
	cv_err e;

	sl->vote = *v;
	sl->now = now;
	sl->n_changes = n_changes;
	snprintf(sl->election, sizeof sl->election, "%s", cv_store_slug(s));
	atomic_store(&sl->state, SLOT_QUEUED);
	for (;;) {
		/* read before looking, so a wake-up that comes in between ends this wait */
		uint32_t seen = atomic_load(&sl->wake);
		int rc;

		if (atomic_load(&sl->state) == SLOT_DONE)
			break;
		rc = pthread_mutex_trylock(&q->leader);
		if (rc == EOWNERDEAD) {
			abandon_taken(q);
			pthread_mutex_consistent(&q->leader);
			rc = 0;
		}
		if (rc != 0) {
			/* a batch is being written: this vote goes in the next one */
			wait_slot(sl, seen);
			continue;
		}
		if (atomic_load(&sl->state) != SLOT_DONE)
			lead(q, s);
		pthread_mutex_unlock(&q->leader);
		wake_next_leader(q);
	}
	e = sl->outcome;
	atomic_store(&sl->state, SLOT_EMPTY);
	return e;
}

cv_err cv_sv_commit_vote(cv_store *s, const cv_vote *v, uint64_t now, uint64_t n_changes)
{
	cv_err outcome = CV_E_INTERNAL, e;

	if (my_queue != NULL && my_slot >= 0 && my_slot < CV_SV_MAX_WORKERS)
		return commit_queued(my_queue, &my_queue->slot[my_slot], s, v, now, n_changes);
	/* outside a supervised worker (tests): a batch of one */
	if ((e = cv_store_add_votes_checked(s, v, &n_changes, 1, now, &outcome)) != CV_OK)
		return e;
	return outcome;
}

/* The vote is checked on the rule parameters its worker read last (up to 100 ms old),
 * and its batch writes it only if they are still those in force; if not (a change
 * committed meanwhile: CV_E_BUSY), or if the batch was busy, it is checked again on
 * the parameters in force and queued once more, with the acceptance signed at the
 * first check (the same time, the same vote). */
cv_err cv_req_add_vote(cv_req *r, const cv_vote *v, const cv_privkey *service_key,
                       cv_acceptance *acc)
{
	uint8_t txid[CV_HASH_LEN];
	uint64_t now = cv_now(), n_changes;
	cv_err e;

	for (int recent = 1;; recent = 0) {
		if ((e = cv_store_check_vote_at(r->store, v, now, recent, txid, &n_changes)) !=
		    CV_OK)
			return e;
		if (recent && (e = cv_acceptance_sign(service_key, txid, now, acc)) != CV_OK)
			return e;
		e = cv_sv_commit_vote(r->store, v, now, n_changes);
		if (e != CV_E_BUSY || !recent)
			return e;
	}
}
