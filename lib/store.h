/* The election store: one Berkeley DB transactional environment per election, shared by
 * many processes (DB_REGISTER | DB_RECOVER, deadlock detection, failchk). Every
 * operation is one transaction, retried on DB_LOCK_DEADLOCK, committed durably before it
 * returns CV_OK. Rules are not written here: the store calls rules.c. */
#ifndef CV_STORE_H
#define CV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chain.h"
#include "err.h"
#include "merkle.h"
#include "rules.h"

typedef enum cv_state { CV_STATE_SETUP = 0, CV_STATE_OPEN = 1, CV_STATE_CLOSED = 2 } cv_state;
const char *cv_state_name(cv_state s); /* "setup", "open", "closed" */

typedef struct cv_store cv_store;

#define CV_STORE_CREATE 0x1 /* create the environment if it does not exist */

/* Opens (and with CV_STORE_CREATE creates) the environment in dir. Runs recovery when
 * the register says a process died. One handle per process (not per thread). */
cv_err cv_store_open(const char *dir, unsigned flags, cv_store **out);
void cv_store_close(cv_store *s); /* NULL is a no-op */
/* Checkpoint and removal of log files no longer needed. */
cv_err cv_store_checkpoint(cv_store *s);
/* Hot backup while other processes keep working: copies the databases and the log into
 * target (created; CV_E_EXISTS when it exists), then runs catastrophic recovery on the
 * copy so that it is a consistent environment of its own. Restoring is using (or
 * copying back) that directory as a data directory. */
cv_err cv_store_backup(cv_store *s, const char *target);
/* Every open handle holds dir/recovery.lock shared (cv_store_open waits while it is
 * held exclusively). This takes it exclusively without waiting: a descriptor to close
 * to let go, or -1 (errno EWOULDBLOCK) while any process has the environment open. */
int cv_store_lock_exclusive(const char *dir);
/* Normal recovery of the environment in dir, regions made anew. The caller holds
 * cv_store_lock_exclusive (in its own process or a parent's), so nobody else has the
 * environment open: the services call it after a process died inside the store (see
 * lib/service.c). */
cv_err cv_store_recover(const char *dir);
/* DB_ENV->failchk: releases what dead processes held. CV_E_RECOVER if recovery needed. */
cv_err cv_store_failchk(cv_store *s);
/* Test hook: when n > 0, the n-th following transaction commit fails as a deadlock
 * would (once), so the retry path runs. */
void cv_store_fault_deadlock(cv_store *s, int n);
/* Test hook: the next transaction that is about to commit first sleeps ms milliseconds
 * holding its locks (so a test can kill the process mid-transaction). */
void cv_store_fault_stall(cv_store *s, unsigned ms);
/* Number of transaction retries (deadlocks, lock timeouts) this handle has made. */
unsigned long long cv_store_retries(cv_store *s);

/* ---- election set-up (state setup unless said) ---- */
typedef struct cv_settings {
	cv_election election;
	bool results_after_close; /* tally hidden from the public until closed */
} cv_settings;

/* Creates the election in setup state; CV_E_EXISTS when there is one. */
cv_err cv_store_create_election(cv_store *s, const cv_settings *st);
cv_err cv_store_set_settings(cv_store *s, const cv_settings *st);
cv_err cv_store_put_candidate(cv_store *s, const cv_candidate *c); /* add or rename */
cv_err cv_store_del_candidate(cv_store *s, uint32_t id);
cv_err cv_store_put_validator(cv_store *s, const cv_validator *v); /* add or rename */
cv_err cv_store_del_validator(cv_store *s, const uint8_t key[CV_KEY_LEN]);
/* Voter ids and one-time codes: 1-64 printable ASCII characters without spaces, so
 * that they survive CSV, copying and typing. Every way in (the admin API, the CLI,
 * registration) is held to this one rule. */
#define CV_ELIGIBLE_TEXT_MAX 64
bool cv_eligible_text_ok(const char *s);
/* A fresh one-time code from the OS generator: 12 symbols of Crockford's base32 in
 * groups of four, e.g. "7K3M-Q9XD-2HFB" (60 bits). */
#define CV_CODE_LEN 14
cv_err cv_eligible_make_code(char out[CV_CODE_LEN + 1]);
/* Eligibility entry: voter_id (1-64 printable ASCII) with a one-time code, stored as a
 * salted hash. CV_E_EXISTS for a known voter_id. */
cv_err cv_store_add_eligible(cv_store *s, const char *voter_id, const char *code);
/* Binds key to the entry when the code matches and is unused; the code is then spent.
 * CV_E_BAD_CODE (unknown id, wrong or spent code), CV_E_EXISTS (key already on roll). */
cv_err cv_store_register(cv_store *s, const char *voter_id, const char *code,
                         const uint8_t key[CV_KEY_LEN]);
/* Puts a key on the roll directly (bulk rolls from the CLI). */
cv_err cv_store_add_voter(cv_store *s, const uint8_t key[CV_KEY_LEN]);
/* Batch forms for imports: all entries in one transaction, all or nothing. On a
 * refused entry nothing is written and *bad (may be NULL) is its index. */
cv_err cv_store_put_candidates(cv_store *s, const cv_candidate *c, size_t n, size_t *bad);
cv_err cv_store_put_validators(cv_store *s, const cv_validator *v, size_t n, size_t *bad);
cv_err cv_store_add_voters(cv_store *s, const uint8_t (*keys)[CV_KEY_LEN], size_t n, size_t *bad);
typedef struct cv_eligible {
	const char *voter_id;
	const char *code;
} cv_eligible;
cv_err cv_store_add_eligibles(cv_store *s, const cv_eligible *e, size_t n, size_t *bad);
/* Merges for imports that may be run again (the admin API): as the batch forms, one
 * transaction, but an entry stored already (same key, or same voter_id) is left as it is
 * and flagged in known[i] (n flags, set by the call) instead of refusing the batch. */
cv_err cv_store_merge_voters(cv_store *s, const uint8_t (*keys)[CV_KEY_LEN], size_t n, bool *known,
                             size_t *bad);
cv_err cv_store_merge_eligibles(cv_store *s, const cv_eligible *e, size_t n, bool *known,
                                size_t *bad);
/* Seals the genesis block (timestamp now) and opens the election; checks the genesis
 * rules first (CV_E_BAD_ELECTION). */
cv_err cv_store_open_election(cv_store *s, uint64_t now, uint8_t genesis_hash[CV_HASH_LEN]);
cv_err cv_store_close_election(cv_store *s, uint64_t now);

/* ---- reading ---- */
typedef struct cv_info {
	cv_state state;
	cv_settings settings;
	uint8_t genesis_hash[CV_HASH_LEN]; /* zero in setup */
	uint64_t genesis_timestamp, closed_at;
	uint64_t tip_height;
	uint8_t tip_hash[CV_HASH_LEN];
	uint64_t tip_timestamp;
	uint64_t n_voters;     /* roll size */
	uint64_t n_eligible;   /* eligibility entries */
	uint64_t n_registered; /* entries with a key bound */
	uint64_t n_pending;    /* votes in the pool */
	uint64_t n_committed;  /* votes in the chain */
	uint64_t n_proposals;
} cv_info;
cv_err cv_store_info(cv_store *s, cv_info *out);
/* The genesis content (in setup: the draft). with_voters false leaves voters empty. */
cv_err cv_store_genesis(cv_store *s, bool with_voters, cv_genesis *out);
cv_err cv_store_tally(cv_store *s, cv_tally *out);
bool cv_store_on_roll(cv_store *s, const uint8_t key[CV_KEY_LEN]);

/* Committed blocks, in the public form (genesis with the full roll). */
cv_err cv_store_block(cv_store *s, uint64_t height, cv_block *out);
cv_err cv_store_block_by_hash(cv_store *s, const uint8_t hash[CV_HASH_LEN], cv_block *out);
/* Streams the chain export JSON through write (returns 0 on success). Blocks are
 * immutable once committed, so each block is read in its own short transaction. */
cv_err cv_store_export(cv_store *s, int (*write)(void *ctx, const char *p, size_t n), void *ctx);

/* ---- voting ---- */
/* Admits a vote to the pool: election open, cv_check_vote with latest = now, and
 * atomically no other vote by the voter in pool or chain (CV_E_ALREADY_VOTED). */
cv_err cv_store_add_vote(cv_store *s, const cv_vote *v, uint64_t now, uint8_t txid[CV_HASH_LEN]);

typedef struct cv_vote_status {
	bool committed;
	cv_vote vote;
	uint64_t height; /* committed only */
	uint8_t block_hash[CV_HASH_LEN];
	uint64_t index, tree_size;
	size_t path_len;
	uint8_t path[CV_MERKLE_MAX_PATH][CV_HASH_LEN];
} cv_vote_status;
/* CV_E_NOT_FOUND when the txid is neither pending nor committed. */
cv_err cv_store_vote_status(cv_store *s, const uint8_t txid[CV_HASH_LEN], cv_vote_status *out);
/* Whether key is on the roll, and the txid of its one vote (pool or chain) if it has
 * one. Public facts: the roll is in the genesis block and votes are in the chain. */
cv_err cv_store_voter(cv_store *s, const uint8_t key[CV_KEY_LEN], bool *on_roll, bool *has_vote,
                      uint8_t txid[CV_HASH_LEN]);
/* Pending votes in pool order, at most max (caller frees *out). */
cv_err cv_store_pool(cv_store *s, size_t max, cv_vote **out, size_t *n);

/* ---- mining ---- */
/* Template for the next block: version, height tip+1, prev_hash, difficulty, timestamp
 * max(now, tip timestamp), nonce 0, the oldest pending votes (at most max_block_votes)
 * and their merkle root. n_votes 0 when the pool is empty. CV_E_BAD_STATE in setup. */
cv_err cv_store_work(cv_store *s, uint64_t now, cv_block *out);
/* Adds a mined block as a proposal after rules 1-5 against the tip (CV_E_STALE when it
 * does not extend the tip; CV_E_EXISTS when already proposed). */
cv_err cv_store_add_proposal(cv_store *s, const cv_block *b, uint64_t now, size_t *bad_vote);

typedef struct cv_verdict {
	cv_approval sig; /* validator key and signature */
	bool approve;
	char reason[CV_TEXT_MAX + 1]; /* rejections only */
	uint64_t at;
} cv_verdict;
typedef struct cv_proposal {
	cv_block block; /* approvals empty; see verdicts */
	uint64_t received_at;
	size_t n_verdicts;
	cv_verdict *verdicts;
} cv_proposal;
void cv_proposal_free(cv_proposal *p);
void cv_proposals_free(cv_proposal *p, size_t n);
/* Proposals at the next height (tip+1), oldest first. */
cv_err cv_store_proposals(cv_store *s, cv_proposal **out, size_t *n);
cv_err cv_store_proposal(cv_store *s, const uint8_t hash[CV_HASH_LEN], cv_proposal *out);
/* Records an approval (cv_check_approval; one approval per validator per height:
 * CV_E_EQUIVOCATION for a second block, CV_E_DUPLICATE_APPROVAL for the same one).
 * When it reaches the threshold the block is committed in the same transaction: its
 * votes and any other pool vote of its voters leave the pool, rival proposals at that
 * height are discarded, the tally is updated. *committed tells which happened. */
cv_err cv_store_approve(cv_store *s, const uint8_t hash[CV_HASH_LEN], const cv_approval *a,
                        bool *committed);
cv_err cv_store_reject(cv_store *s, const uint8_t hash[CV_HASH_LEN], const char *reason,
                       const cv_approval *a);

/* An equivocation attempt: a validator's signed approval of a second block at a height
 * where it had approved another. Kept as evidence; never counted. */
typedef struct cv_equivocation {
	uint64_t height;
	uint8_t block_hash[CV_HASH_LEN];        /* the block of the refused approval */
	uint8_t approved_hash[CV_HASH_LEN];     /* the block it had approved before */
	uint8_t approved_signature[CV_SIG_LEN]; /* that earlier approval's signature */
	cv_approval sig;                        /* the refused approval */
	uint64_t at;
} cv_equivocation;
/* Every recorded equivocation, by height then validator (caller frees *out). */
cv_err cv_store_equivocations(cv_store *s, cv_equivocation **out, size_t *n);

#endif
