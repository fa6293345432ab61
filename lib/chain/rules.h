/* Every rule of the chain (DESIGN section 2, "Validity of block h >= 1"), each written
 * once. The services, the miner, the CLI verifier and the tests all call these. */
#ifndef CV_RULES_H
#define CV_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chain.h"
#include "err.h"

/* What the rules need of a secret election (DESIGN section 6) besides cv_view, derived
 * from the genesis and the chain by the verifier. share_of is written by the rules: the
 * first share of each trustee that passes takes its place (later ones are duplicates). */
typedef struct cv_secret_view {
	uint8_t election_key[CV_POINT_LEN];    /* K; CV_POINT_O when the genesis gives none */
	size_t n_trustees;                     /* = genesis->secrecy->n_trustees */
	uint8_t (*trustee_keys)[CV_POINT_LEN]; /* K_j; CV_POINT_O when not derivable */
	const cv_decryption **share_of;        /* per trustee: its counted share, or NULL */
	uint64_t seal_height;                  /* the seal block's height, 0 when none */
	uint8_t (*alpha)[CV_POINT_LEN];        /* α_i through seal_height - 1 */
} cv_secret_view;

/* The parameters in force at a height (docs/GOVERNANCE.md): the genesis with every
 * change committed before that height applied. `genesis` is a shallow copy of the
 * chain's genesis that owns its validators array (in genesis order, the replaced keys
 * replaced) and, in a secret election, its trustees array (each trustee's validator_key the
 * one in force; commitments and proofs borrowed); candidates and voters are borrowed.
 * retired: every key a change replaced, which may never be a validator again. */
typedef struct cv_params {
	cv_genesis genesis;
	cv_secrecy secrecy;
	size_t n_retired;
	uint8_t (*retired)[CV_KEY_LEN];
	size_t n_changes; /* applied so far */
} cv_params;

/* The parameters of genesis g (which must outlive p). CV_E_NOMEM. */
cv_err cv_params_init(cv_params *p, const cv_genesis *g);
/* Applies a change whose block joined the chain (it passed the rules): closes or
 * difficulty replaced; a validator's key replaced (its name kept, the validators re-sorted,
 * the old key retired, a trustee's key replaced too). CV_E_NOMEM, CV_E_BAD_CHANGE. */
cv_err cv_params_apply(cv_params *p, const cv_change *c);
/* Frees what p owns and zeroes it; a zeroed or NULL p is fine. */
void cv_params_free(cv_params *p);
/* True when key was a validator that a change replaced. */
bool cv_params_retired(const cv_params *p, const uint8_t key[CV_KEY_LEN]);

/* What the rules need to know of the chain before the block being checked. */
typedef struct cv_view {
	const cv_genesis *genesis;        /* election, candidates, validators (normalised) */
	uint8_t election_id[CV_HASH_LEN]; /* the genesis block hash */
	uint64_t genesis_timestamp;
	void *ctx;
	/* 1 on the roll, 0 not, or a negative -cv_err. NULL: binary search genesis->voters. */
	int (*on_roll)(void *ctx, const uint8_t key[CV_KEY_LEN]);
	/* 1 when the voter has a vote in a block before the one checked, 0 not, or -cv_err.
	 * NULL: nobody has. */
	int (*has_voted)(void *ctx, const uint8_t key[CV_KEY_LEN]);
	/* The close as known before the block checked. closed_at != 0 once the election
	 * closed: every vote is stamped no later, and a seal states exactly it. sealed: a
	 * seal is in the chain before the block, so no block may follow. open: a live check
	 * while the election is still open, when no seal may come yet. */
	uint64_t closed_at;
	bool sealed;
	bool open;
	/* A secret election's view (genesis->secrecy != NULL); NULL where secret blocks are
	 * not judged (the services: a secret block is then refused as bad_state). */
	cv_secret_view *secret;
	/* Where changes are judged (docs/GOVERNANCE.md): the parameters in force at the
	 * block checked, and genesis then points at &params->genesis. NULL: a change block is
	 * refused as bad_state. */
	const cv_params *params;
	/* The latest timestamp of a vote or ballot committed before the block checked (0
	 * when none): a change may not move closes before it. */
	uint64_t last_vote_time;
} cv_view;

/* One change's own rules (docs/GOVERNANCE.md, "Validity"), for a change in block `height`
 * (or proposed for it) under the parameters v->params: this election, effective_height =
 * height + 1, the kind's fields against the parameters in force (closes no earlier than
 * v->last_vote_time), and its signatures: in ascending key order, each by a validator in
 * force and valid, and when `complete` at least the threshold of them. On a signature's
 * failure *bad (may be NULL) is its index, else SIZE_MAX. why (may be NULL) receives a
 * sentence. */
cv_err cv_check_change(const cv_view *v, uint64_t height, const cv_change *c, bool complete,
                       size_t *bad, char *why, size_t why_len);

/* Rule 5 for one vote, apart from "no earlier vote" (which needs has_voted / the pool):
 * election id, roll, candidate, signature, genesis timestamp <= ts <= latest + 300,
 * within opens/closes where set, and no later than the close when there is one
 * (v->closed_at; CV_E_LATE_VOTE). `latest` is the block timestamp (or now for the pool). */
cv_err cv_check_vote(const cv_view *v, const cv_vote *vote, uint64_t latest);

/* Section 6's rule 5.2 for one ballot, bar "no earlier ballot" (as cv_check_vote for a
 * vote): CV_E_WRONG_MODE unless the election is secret and v->secret is given (its
 * election_key is what is read), election id, roll, time window (and the close), then
 * cv_ballot_verify. *pos (may be NULL): the position at fault or SIZE_MAX. */
cv_err cv_check_ballot(const cv_view *v, const cv_ballot *bl, uint64_t latest, size_t *pos);
/* Section 6's rule 5.3 for one share: v->sealed (CV_E_DECRYPTION_BEFORE_SEAL), then
 * election id, a trustee with no share counted in v->secret->share_of (which this sets
 * on success, as the block rules do), through_height, cv_decryption_verify against the
 * trustee's K_j and v->secret->alpha. */
cv_err cv_check_decryption(const cv_view *v, const cv_decryption *d);

/* Rules 1-5 for block b following the block with header prev and hash prev_hash:
 * version, height, link, difficulty, proof of work, stated hash, timestamp (and
 * <= now + 300 when now != 0), nothing after a seal (CV_E_SEALED), vote count, merkle
 * root, every vote (cv_check_vote), no earlier vote (has_voted) and no two votes by one
 * voter in b; for a seal block the seal rules instead of the vote count (CV_E_BAD_SEAL:
 * no vote beside it, this election, genesis timestamp <= closed_at <= block timestamp,
 * closed_at <= closes when set, closed_at = v->closed_at when that is known;
 * CV_E_SEAL_EARLY while v->open). On a vote
 * failure *bad_vote (may be NULL) is the vote's index, else SIZE_MAX. */
cv_err cv_check_proposal(const cv_view *v, const cv_header *prev,
                         const uint8_t prev_hash[CV_HASH_LEN], const cv_block *b, uint64_t now,
                         size_t *bad_vote);

/* The checks of rules 1-5, each named, for reports that show every one (the validators'
 * dashboard). The rules say which check found a problem; a block with no problem passed
 * every one of them, every vote included. */
typedef enum cv_check {
	CV_CHECK_VERSION,
	CV_CHECK_HEIGHT,
	CV_CHECK_LINK,
	CV_CHECK_DIFFICULTY,
	CV_CHECK_POW,
	CV_CHECK_HASH,
	CV_CHECK_TIMESTAMP,
	CV_CHECK_VOTE_COUNT,
	CV_CHECK_MERKLE,
	CV_CHECK_SEAL,  /* the close: nothing after a seal, a seal's own rules */
	CV_CHECK_VOTES, /* rule 5, vote by vote */
	CV_CHECK_OTHER, /* no single check: out of memory, the roll could not be read */
	CV_CHECK__COUNT
} cv_check;
/* Stable snake_case name of a check ("version", "link", "votes", ...). Never NULL. */
const char *cv_check_name(cv_check c);

/* Every check's result for one block: verdict CV_OK means each check of CV_CHECK__COUNT
 * (bar OTHER) passed; otherwise `failed` is the check that found the problem, `vote` its
 * vote (SIZE_MAX when none), and the checks are not judged further. */
typedef struct cv_checks {
	cv_err verdict;
	cv_check failed; /* CV_CHECK__COUNT when none */
	size_t vote;
	unsigned leading_zero_bits; /* of the header's hash */
} cv_checks;
/* Whether check c passed (1), failed (0), or was not judged (-1) in *k. */
int cv_checks_result(const cv_checks *k, cv_check c);
/* cv_check_proposal, reporting its checks into *out as well. Returns out->verdict. */
cv_err cv_check_proposal_checks(const cv_view *v, const cv_header *prev,
                                const uint8_t prev_hash[CV_HASH_LEN], const cv_block *b,
                                uint64_t now, cv_checks *out);

/* One approval: signer is a genesis validator (CV_E_NOT_VALIDATOR) and the signature
 * over the approval message verifies (CV_E_BAD_SIGNATURE). */
cv_err cv_check_approval(const cv_genesis *g, const uint8_t block_hash[CV_HASH_LEN],
                         const cv_approval *a);
/* One rejection: as above over the rejection message with reason. */
cv_err cv_check_rejection(const cv_genesis *g, const uint8_t block_hash[CV_HASH_LEN],
                          const char *reason, const cv_approval *a);
/* Rule 6 for a committed block's approvals: each valid, from distinct validators, at
 * least threshold of them. On failure *bad (may be NULL) is the offending index or
 * SIZE_MAX for too few. */
cv_err cv_check_approvals(const cv_genesis *g, const uint8_t block_hash[CV_HASH_LEN],
                          const cv_approval *a, size_t n, size_t *bad);

/* Checks the genesis block: genesis order and rules (cv_genesis_check), header fields
 * (height 0, zero prev, difficulty 0, nonce 0, version 1), merkle root, stated hash. */
cv_err cv_check_genesis(const cv_block *b);

/* Votes per candidate, aligned with genesis->candidates. final: the chain carries a
 * seal (closed_at is its close) and broke no rule, so the tally can no longer change. */
typedef struct cv_tally {
	size_t n;
	uint32_t *ids;
	uint64_t *votes;
	uint64_t total;
	bool final;
	uint64_t closed_at;
	/* A secret election: `ballots` counted, sealed (ready to decrypt), the trustees
	 * (indices into genesis->secrecy->trustees) whose shares are valid, and pending
	 * while fewer than quorum are (votes[] and total are then 0). */
	bool secret, sealed, pending;
	uint64_t ballots;
	size_t n_share_trustees;
	size_t *share_trustees;
} cv_tally;
void cv_tally_free(cv_tally *t);

/* One problem found by the verifier. height is -1 for the chain as a whole; vote is
 * the vote index or -1. detail is a short English sentence. */
typedef void (*cv_report_fn)(void *ctx, int64_t height, int64_t vote, cv_err code,
                             const char *detail);

/* The view for checking the block that follows chain c's last, for a validator that
 * trusts c (the service's committed chain): the genesis, its election id and timestamp,
 * the close and sealed from c's seal, and for a secret election *sv (K, every K_j, α
 * through the block before the seal, share_of naming the shares in c) as v->secret.
 * has_voted and on_roll are left NULL (the genesis's roll). v borrows from c; release
 * sv with cv_secret_view_free before c. */
cv_err cv_chain_next_view(const cv_chain *c, cv_view *v, cv_secret_view *sv);
void cv_secret_view_free(cv_secret_view *sv); /* NULL and zeroed are fine */

/* Offline verification of an export against every rule above (no live time check).
 * Reports each problem; keeps going where it can. Fills tally (may be NULL) from the
 * blocks that passed. Returns the number of problems (0: the chain is valid). A
 * cv_verifier given every block of c (borrowed) and finished. */
size_t cv_verify_chain(const cv_chain *c, cv_report_fn report, void *ctx, cv_tally *tally);

/* The verifier fed block by block (chainvote verify reading an export as a stream).
 * cv_verifier_add takes a parsed block (its contents; *b is zeroed) and the crypto of
 * its items (votes' signatures; a secret election's ballots' proofs and signatures, and
 * its decryption shares' once the first seal fixed what they decrypt) is checked at once
 * on one worker thread per online CPU, while the caller reads the next block.
 * cv_verifier_finish then judges every rule in chain order, each block as soon as its
 * items' verdicts are in, exactly as cv_verify_chain judges the same chain, and returns
 * the number of problems. The blocks are held parsed, never as text: the seal, wherever
 * it is, sets the close every earlier vote is held to, so no vote is judged before the
 * last block is read. NULL when out of memory. */
typedef struct cv_verifier cv_verifier;
cv_verifier *cv_verifier_new(void);
cv_err cv_verifier_add(cv_verifier *v, cv_block *b); /* CV_E_NOMEM, then every later call */
size_t cv_verifier_finish(cv_verifier *v, cv_report_fn report, void *ctx, cv_tally *tally);
/* The blocks added so far (receipts are looked up in it after finish). */
const cv_chain *cv_verifier_chain(const cv_verifier *v);
void cv_verifier_free(cv_verifier *v); /* no-op on NULL */

#endif
