/* Proposals from work templates: one fetch and check of the template, one post of the
 * block (see work.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "json.h"
#include "pow.h"
#include "work.h"

int cv_work_from_json(const json_object *o, unsigned max_votes, cv_block *b, char *why,
                      size_t why_len)
{
	uint8_t root[CV_HASH_LEN];
	size_t bad_vote;
	cv_err err = cv_api_work_read(o, b, &bad_vote);

	if (err != CV_OK) {
		if (bad_vote != SIZE_MAX)
			snprintf(why, why_len, "vote %zu of the work template: %s", bad_vote,
			         cv_err_code(err));
		else
			snprintf(why, why_len, "the work template is malformed (%s)",
			         cv_err_code(err));
		return -1;
	}
	if (b->n_votes + b->n_ballots + b->n_decryptions == 0 && !b->has_seal &&
	    b->change == NULL) {
		cv_block_free(b);
		memset(b, 0, sizeof(*b));
		return 0;
	}
	if (cv_block_merkle_root(b, root) != CV_OK) {
		snprintf(why, why_len, "out of memory");
		goto fail;
	}
	if (memcmp(root, b->header.merkle_root, CV_HASH_LEN) != 0) {
		snprintf(why, why_len,
		         "refusing the work template: its merkle root does not match its leaves");
		goto fail;
	}
	/* a smaller block is a valid block too (the oldest votes first, as offered) */
	if (max_votes > 0 && b->n_votes + b->n_ballots + b->n_decryptions > max_votes) {
		/* the items past the cut stay owned by b's arrays (freed with them) */
		if (b->n_votes > max_votes)
			b->n_votes = max_votes;
		while (b->n_ballots > max_votes)
			cv_ballot_free(&b->ballots[--b->n_ballots]);
		while (b->n_decryptions > max_votes)
			cv_decryption_free(&b->decryptions[--b->n_decryptions]);
		if (cv_block_merkle_root(b, b->header.merkle_root) != CV_OK) {
			snprintf(why, why_len, "out of memory");
			goto fail;
		}
	}
	return 1;
fail:
	cv_block_free(b);
	memset(b, 0, sizeof(*b));
	return -1;
}

int cv_work_fetch(cv_http *http, unsigned max_votes, cv_block *b, char *why, size_t why_len)
{
	cv_http_reply r = {0};
	cv_err err;
	int got;

	memset(b, 0, sizeof(*b));
	err = cv_http_request(http, "GET", "/api/work", NULL, &r);
	if (err != CV_OK || r.status != 200) {
		snprintf(why, why_len, "GET /api/work: %s%s%s", r.code, r.message[0] ? ": " : "",
		         r.message);
		cv_http_reply_free(&r);
		return -1;
	}
	got = cv_work_from_json(r.body, max_votes, b, why, why_len);
	cv_http_reply_free(&r);
	return got;
}

cv_err cv_work_propose(cv_http *http, const cv_block *b, cv_http_reply *r)
{
	uint8_t hash[CV_HASH_LEN];
	json_object *o;
	cv_err err;

	cv_header_hash(&b->header, hash);
	if (memcmp(hash, b->hash, CV_HASH_LEN) != 0)
		return CV_E_BAD_HASH;
	if (!cv_pow_ok(hash, b->header.difficulty))
		return CV_E_WEAK_POW;
	o = cv_block_to_json(b);
	if (o == NULL)
		return CV_E_NOMEM;
	json_object_object_del(o, "approvals"); /* a proposal carries none */
	err = cv_http_request(http, "POST", "/api/blocks", o, r);
	json_object_put(o);
	return err;
}

int cv_work_no_room(const cv_http_reply *r)
{
	return r->status == 409 && (strcmp(r->code, cv_err_code(CV_E_SAME_VOTES)) == 0 ||
	                            strcmp(r->code, cv_err_code(CV_E_PROPOSALS_FULL)) == 0);
}
