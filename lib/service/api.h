/* The service's own JSON shapes (DESIGN section 4, beside the public chain format of
 * section 3): the election summary, the work template, the proposal list and one
 * proposal with its checks, the answer to an approval. Each shape is built and read here
 * only: the programs build them, the CLI, the miner and the tests read them, so a field
 * cannot mean one thing to the writer and another to the reader. Readers are strict
 * about the fields they use and bounded in what they accept; they ignore the rest. */
#ifndef CV_API_H
#define CV_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "json.h"
#include "store.h"

/* ---- GET /api/election ---- */

/* The election as GET /api/election shows it. Returns a new object, or NULL when out of
 * memory. */
json_object *cv_election_json(const cv_info *info, const cv_genesis *g);

/* What the clients read of it. */
typedef struct cv_api_election {
	bool opened; /* the genesis exists: genesis_hash and tip_height are set */
	uint8_t genesis_hash[CV_HASH_LEN];
	uint64_t tip_height;
	uint64_t closed_at; /* 0 until the election is closed */
	bool final;         /* the seal is committed, at seal_height */
	uint64_t seal_height;
	uint64_t threshold, difficulty, max_block_votes;
	size_t n_validators;
	size_t n_candidates;
	uint32_t *candidate_ids; /* n_candidates, in the listed order; cv_api_election_free */
	bool secret;             /* "ballots": "secret" (DESIGN section 6) */
} cv_api_election;
/* CV_E_MALFORMED when a field used is missing or of the wrong type. On failure *out
 * holds nothing to free. */
cv_err cv_api_election_read(const json_object *o, cv_api_election *out);
void cv_api_election_free(cv_api_election *e); /* NULL is a no-op */

/* ---- GET /api/elections ---- */

/* {"elections": [{"slug", "title", "state", "final", "archived", "created"}…]}: the
 * default election first (slug CV_ELECTION_DEFAULT, created null; left out while it has
 * no settings), then the registered ones in slug order; state "new" (and title "") for
 * one registered but not given its settings yet. root is cv_store_open's handle. */
cv_err cv_api_elections_json(cv_store *root, json_object **out);

/* ---- GET /api/work ---- */

/* {"version", "height", "prev_hash", "difficulty", "timestamp", "merkle_root", "nonce",
 * "votes": [vote with txid…]} from a template (cv_store_work), with "seal":
 * {"election_id", "closed_at"} (and no vote) when the template is the seal block, and
 * "change" (and no vote) when it is a change block (docs/GOVERNANCE.md). NULL
 * when out of memory. */
json_object *cv_api_work_json(const cv_block *tmpl);
/* The template into b (header with nonce 0, votes owned by b; hash unset; n_votes 0 for
 * an empty pool; has_seal for the seal). CV_E_MALFORMED for a bad shape or votes beside
 * a seal, CV_E_BAD_VERSION / CV_E_BAD_HEIGHT for
 * a version other than 1 or height 0, a vote's own error with *bad_vote (may be NULL)
 * its index. The stated merkle root is read, not checked: the miner compares it. On
 * failure *b holds nothing to free. */
cv_err cv_api_work_read(const json_object *o, cv_block *b, size_t *bad_vote);

/* ---- GET /api/proposals ---- */

/* {"height", "threshold", "limit", "proposals": [summary…]}, each summary {"hash",
 * "height", "n_votes", "verdict", "n_approvals", "n_rejections", "received_at"}: a few
 * hundred bytes per proposal, at most CV_PROPOSALS_PER_HEIGHT of them. */
json_object *cv_api_proposal_list_json(uint64_t height, unsigned threshold,
                                       const cv_proposal_summary *items, size_t n);
typedef struct cv_api_proposal_list {
	uint64_t height, threshold;
	size_t n;
	cv_proposal_summary *items; /* checks.verdict only; cv_api_proposal_list_free */
} cv_api_proposal_list;
/* CV_E_TOO_LARGE for more than CV_PROPOSALS_PER_HEIGHT entries, CV_E_MALFORMED for a
 * bad shape. On failure *out holds nothing to free. */
cv_err cv_api_proposal_list_read(const json_object *o, cv_api_proposal_list *out);
void cv_api_proposal_list_free(cv_api_proposal_list *l); /* NULL is a no-op */

/* ---- GET /api/proposals/{hash} ---- */

/* {"block", "received_at", "verdict", "checks": {each check of cv_check by name: true,
 * false or null (not judged), "leading_zero_bits", "votes": [{"txid", "result"}…],
 * "rules": {"ok", "code", "message", "vote"}}, "approvals": [{"validator_key",
 * "signature", "name", "at"}…], "rejections": [… "reason"], "n_approvals",
 * "n_rejections", "threshold"}. Everything comes from the stored proposal and its stored
 * verdict (p->checks): no signature is checked here. NULL when out of memory. */
json_object *cv_api_proposal_json(const cv_genesis *g, const cv_proposal *p);
/* The block (strict, as cv_block_from_json) and the counts of one proposal. On failure
 * *b holds nothing to free. */
cv_err cv_api_proposal_read(const json_object *o, cv_block *b, uint64_t *n_approvals,
                            uint64_t *n_rejections);

/* ---- POST /api/proposals/{hash}/approvals ---- */

/* {"committed", "approvals", "threshold"}: "approvals" is the number counted so far. */
json_object *cv_api_approved_json(bool committed, uint64_t approvals, unsigned threshold);
cv_err cv_api_approved_read(const json_object *o, bool *committed, uint64_t *approvals,
                            uint64_t *threshold);

/* ---- changes of the parameters (/api/changes; docs/GOVERNANCE.md) ---- */

/* GET /api/changes: {"height" (the next block's), "threshold", "validators": [{"key",
 * "name"}...] (those in force, who may sign), "changes": [{"id", "status", "height",
 * "proposed_at", "change", "signers": [{"validator_key", "name"}...], "n_signatures"}...]}:
 * the committed changes by height (status "committed", height their block's), then the
 * pending ones ("pending" while their block is ahead, "ready" with threshold signatures
 * for the next block, "missed" once their height passed; height the block they are
 * for). A signer's name is the one of its key in force, or in the genesis. */
json_object *cv_api_changes_json(uint64_t next_height, unsigned threshold,
                                 const cv_validator *in_force, size_t n_in_force,
                                 const cv_genesis *g, const cv_change_record *r, size_t n);
/* Applies to p (cv_params_init'ed) the committed changes of such a listing whose block
 * is below height `below`, in height order: the parameters in force at that height.
 * CV_E_MALFORMED for a bad shape, cv_params_apply's errors. */
cv_err cv_api_changes_apply(const json_object *o, uint64_t below, cv_params *p);
/* The change with this id (hex) from such a listing into *c (cv_change_free), and its
 * status into status (at least 16 bytes). CV_E_NOT_FOUND, CV_E_MALFORMED. */
cv_err cv_api_change_find(const json_object *o, const char *id_hex, cv_change *c, char *status,
                          size_t status_len);

/* ---- the key ceremony (/api/ceremony...) ---- */

/* A sealed share: {"setup_hash", "sender", "recipient", "ephemeral", "nonce",
 * "ciphertext", "tag", "signature"}, all lowercase hex. Strict: exact keys and lengths. */
json_object *cv_api_sealed_json(const cv_sealed_share *sh);
cv_err cv_api_sealed_read(const json_object *o, cv_sealed_share *sh);
/* A share check: {"setup_hash", "trustee", "sender", "good", "signature"}. */
json_object *cv_api_check_json(const cv_share_check *c);
cv_err cv_api_check_read(const json_object *o, cv_share_check *c);
/* GET /api/ceremony: {"ballots", "quorum", "setup_hash", "trustees": [{"x",
 * "validator_key", "name", "entry": trustee entry or null, "shares_sent",
 * "shares_received", "confirmed", "complaints"}...] (key order: x = 1, 2, ...),
 * "shares": [{"sender", "recipient"}...], "checks": [check...], "complaints", "voided",
 * "complete"}. NULL when out of memory. */
json_object *cv_api_ceremony_json(const cv_ceremony *c);
/* What a trustee's client reads of it into out (cv_ceremony_free): secret, quorum,
 * setup_hash, validators (keys and names, in order), entries (those posted), the shares
 * posted (n_shares, by sender and recipient),
 * checks, complete. CV_E_MALFORMED for a bad shape. */
cv_err cv_api_ceremony_read(const json_object *o, cv_ceremony *out);

#endif
