/* Private to the chain's rules (lib/chain/rules*.c, verifier.c): the sink a rule reports
 * to, an item's verdict as the verifier's workers compute it ahead of the rules, and the
 * rules one file writes and another calls. Nothing outside those files includes this
 * file. */
#ifndef CV_RULES_IMPL_H
#define CV_RULES_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules.h"

#define DETAIL_MAX 200
#define NO_INDEX   SIZE_MAX

/* Where problems go. With all false the first problem ends the check. */
typedef struct sink {
	cv_report_fn report;
	void *ctx;
	int64_t height;
	bool all;
	size_t n;
	cv_err first;
	size_t first_index;   /* vote or approval index of the first problem, or NO_INDEX */
	cv_check first_check; /* which check found the first problem */
} sink;

enum item { ITEM_NONE, ITEM_VOTE, ITEM_APPROVAL };

/* What the verifier's workers compute of an item ahead of the rules: a vote's
 * signature, a ballot's or a decryption share's proofs and signature (rc), and the
 * position at fault (pos, NO_POS when none). */
#define NO_POS UINT32_MAX
typedef struct verdict {
	cv_err rc;
	uint32_t pos;
} verdict;

/* "No earlier vote" as a strategy: the services ask their store (has_voted), the
 * verifier its index of the whole chain. 1 voted before (*at: the height, or UINT64_MAX
 * when unknown), 0 not, negative -cv_err. */
typedef struct earlier_check {
	int (*fn)(void *ctx, size_t vote_index, const uint8_t key[CV_KEY_LEN], uint64_t *at);
	void *ctx;
} earlier_check;

/* The voter keys of a block's items: a key every `stride` bytes from `base`. */
typedef struct key_array {
	const uint8_t *base;
	size_t stride;
} key_array;

/* ---- rules.c: reporting, rule 5's parts, the block, approvals and genesis ---- */

/* Records a problem; true when the caller must stop checking. */
bool cv_rl_problem(sink *s, enum item kind, size_t index, cv_err code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* First bytes of a key or hash in hex (16 digits), enough for a reader to find it. */
const char *cv_rl_short_hex(const uint8_t *p, char out[17]);
/* Writes a reason into why (a no-op when why is NULL or why_len 0). */
void cv_rl_why_set(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
cv_err cv_rl_vote_signature(const cv_vote *vote);
/* Rule 5's election and roll, and its time window, shared by votes and ballots. */
cv_err cv_rl_voter_rule(const cv_view *v, const uint8_t election_id[CV_HASH_LEN],
                        const uint8_t voter_key[CV_KEY_LEN], char *why, size_t why_len);
cv_err cv_rl_time_rule(const cv_view *v, uint64_t timestamp, uint64_t latest, char *why,
                       size_t why_len);
verdict cv_rl_verdict_of(cv_err rc, size_t pos);
/* *out (the caller frees): per item, the first earlier item of the block by the same
 * voter, or NO_INDEX. */
cv_err cv_rl_in_block_duplicates(const key_array *keys, size_t n, size_t **out);
/* Rules 1-5 of one block; sigs (may be NULL) holds its items' verdicts. */
void cv_rl_block_rules(const cv_view *v, const cv_header *prev,
                       const uint8_t prev_hash[CV_HASH_LEN], const cv_block *b, uint64_t now,
                       const verdict *sigs, const earlier_check *ec, sink *s);
/* Rule 6 over a block's n approvals. */
void cv_rl_approval_rules(const cv_genesis *g, const cv_params *params,
                          const uint8_t block_hash[CV_HASH_LEN], const cv_approval *a, size_t n,
                          sink *s);
void cv_rl_genesis_rules(const cv_block *b, sink *s, cv_err *order);

/* ---- rules_secret.c: a secret election's rules (DESIGN section 6) ---- */

verdict cv_rl_ballot_crypto(const uint8_t K[CV_POINT_LEN], size_t n_candidates,
                            const cv_ballot *bl);
verdict cv_rl_share_crypto(const cv_secrecy *sec, const cv_secret_view *sv, size_t k,
                           const cv_decryption *d);
/* True when the caller must stop checking. */
bool cv_rl_secret_block_rules(const cv_view *v, const cv_block *b, sink *s);
void cv_rl_secret_items(const cv_view *v, const cv_block *b, const verdict *crypto,
                        const earlier_check *ec, sink *s);
/* True when a problem stopped the check. */
bool cv_rl_secrecy_rules(const cv_genesis *g, sink *s);
cv_err cv_rl_aggregates(const cv_chain *c, size_t k, uint64_t seal_height,
                        uint8_t (*alpha)[CV_POINT_LEN], uint8_t (*beta)[CV_POINT_LEN]);
cv_err cv_rl_secret_view_init(const cv_genesis *g, cv_secret_view *sv);
void cv_rl_secret_tally(const cv_chain *c, const cv_genesis *g, const cv_secret_view *sv,
                        bool sealed, sink *s, cv_tally *t);

/* ---- rules_change.c: changes of the parameters (docs/GOVERNANCE.md) ---- */

/* True when the caller must stop checking. */
bool cv_rl_change_block_rules(const cv_view *v, const cv_block *b, sink *s);

#endif
