/* A block proposal made from the service's work template, for whoever proposes: the
 * miner (which then searches a nonce) and the validator daemon of an energy-free
 * election (difficulty 0, no search). One copy of the template's fetch and checks and of
 * the proposal's post, so both send the same shape under the same checks. */
#ifndef CV_WORK_H
#define CV_WORK_H

#include <stddef.h>
#include "chain.h"
#include "http.h"

/* Reads a template (the body of GET /api/work, cv_api_work_read) into b, votes owned by
 * b, hash unset, and checks its stated merkle root against its leaves: a template is
 * only a claim, and a block under a wrong root is refused by every validator. With
 * max_votes > 0 the block is cut to the first max_votes votes (the oldest first, as
 * offered) and its root recomputed. Returns 1 with work in b (votes, or the seal that
 * closes the election; caller frees with cv_block_free), 0 when the pool is empty (b
 * holds nothing to free), -1 on a problem described in why (b holds nothing to free). */
int cv_work_from_json(const json_object *o, unsigned max_votes, cv_block *b, char *why,
                      size_t why_len);

/* GET /api/work on http, then cv_work_from_json. Same returns. */
int cv_work_fetch(cv_http *http, unsigned max_votes, cv_block *b, char *why, size_t why_len);

/* POSTs b to /api/blocks as a proposal (no approvals) and fills r with the answer.
 * b->hash must be H(b->header) and pass b's difficulty (cv_pow_ok): checked here again,
 * so a bug upstream cannot send a block every validator refuses. CV_E_BAD_HASH or
 * CV_E_WEAK_POW when it does not hold (nothing sent), CV_E_NOMEM, else as
 * cv_http_request (CV_OK: an answer arrived, whatever its status). */
cv_err cv_work_propose(cv_http *http, const cv_block *b, cv_http_reply *r);

/* Whether an answer to cv_work_propose says the height takes no more blocks like b for
 * now (409 same_votes or proposals_full): proposing it again at once is no use. */
int cv_work_no_room(const cv_http_reply *r);

#endif
