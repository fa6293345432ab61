/* The encodings of stored records: text, settings, headers, votes and blocks (a secret
 * election's leaves too). Decoders are bounded: a record that does not parse is
 * CV_E_STORE. */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

/* ---- encodings ---- */

cv_err cv_st_text_decode(const uint8_t *p, size_t n, char *out)
{
	cv_reader r = {.p = p, .n = n};

	cv_rd_text(&r, out);
	return cv_rd_end(&r) ? CV_OK : CV_E_STORE;
}

cv_err cv_st_settings_encode(const cv_settings *st, cv_buf *b)
{
	cv_err e = cv_buf_text(b, st->election.title);

	if (e != CV_OK)
		return e;
	cv_buf_u8(b, st->election.threshold);
	cv_buf_u8(b, st->election.difficulty);
	cv_buf_u32(b, st->election.max_block_votes);
	cv_buf_u64(b, st->election.opens);
	cv_buf_u64(b, st->election.closes);
	cv_buf_u8(b, st->results_after_close ? 1 : 0);
	/* a secret election's record goes on; an open one's keeps its old bytes */
	if (st->secret) {
		cv_buf_u8(b, 1);
		cv_buf_u8(b, st->quorum);
	}
	return b->failed ? CV_E_NOMEM : CV_OK;
}

cv_err cv_st_settings_decode(const uint8_t *p, size_t n, cv_settings *st)
{
	cv_reader r = {.p = p, .n = n};

	memset(st, 0, sizeof *st);
	cv_rd_text(&r, st->election.title);
	st->election.threshold = cv_rd_u8(&r);
	st->election.difficulty = cv_rd_u8(&r);
	st->election.max_block_votes = cv_rd_u32(&r);
	st->election.opens = cv_rd_u64(&r);
	st->election.closes = cv_rd_u64(&r);
	st->results_after_close = cv_rd_u8(&r) != 0;
	if (!r.bad && r.off < n) {
		st->secret = cv_rd_u8(&r) == 1;
		st->quorum = cv_rd_u8(&r);
		if (!st->secret)
			r.bad = true;
	}
	return cv_rd_end(&r) ? CV_OK : CV_E_STORE;
}

cv_err cv_st_header_decode(const uint8_t *p, size_t n, cv_header *h)
{
	cv_reader r = {.p = p, .n = n};

	h->version = cv_rd_u32(&r);
	h->height = cv_rd_u64(&r);
	cv_rd_copy(&r, h->prev_hash, CV_HASH_LEN);
	cv_rd_copy(&r, h->merkle_root, CV_HASH_LEN);
	h->timestamp = cv_rd_u64(&r);
	h->difficulty = cv_rd_u32(&r);
	h->nonce = cv_rd_u64(&r);
	return cv_rd_end(&r) ? CV_OK : CV_E_STORE;
}

static void vote_read(cv_reader *r, cv_vote *v)
{
	cv_rd_tag(r, CV_TAG_VOTE);
	cv_rd_copy(r, v->election_id, CV_HASH_LEN);
	cv_rd_copy(r, v->voter_key, CV_KEY_LEN);
	v->candidate_id = cv_rd_u32(r);
	v->timestamp = cv_rd_u64(r);
	cv_rd_copy(r, v->signature, CV_SIG_LEN);
}

cv_err cv_st_loc_decode(const uint8_t *p, size_t n, cv_st_loc *loc)
{
	cv_reader r = {.p = p, .n = n};
	uint8_t kind = cv_rd_u8(&r);

	memset(loc, 0, sizeof *loc);
	if (kind == 0) {
		loc->seq = cv_rd_u64(&r);
	} else if (kind == 1) {
		loc->committed = true;
		loc->height = cv_rd_u64(&r);
		loc->index = cv_rd_u32(&r);
	} else {
		return CV_E_STORE;
	}
	return cv_rd_end(&r) ? CV_OK : CV_E_STORE;
}

cv_err cv_st_vote_decode(const uint8_t *p, size_t n, cv_vote *v)
{
	cv_reader r = {.p = p, .n = n};

	vote_read(&r, v);
	return cv_rd_end(&r) ? CV_OK : CV_E_STORE;
}

/* A secret election's block (DESIGN section 6) keeps its leaves as they are hashed:
 * after the hash, u32 ST_SECRET_MARK (a vote count no block can have), then u32 n ||
 * n × (u32 len || ballot leaf) and u32 m || m × (u32 len || decryption leaf). An open
 * election's record has the vote count there, so its bytes are what they always were. */
#define ST_SECRET_MARK UINT32_MAX

static cv_err secret_leaves_encode(const cv_block *b, cv_buf *out)
{
	cv_buf leaf = {0};
	cv_err e = CV_OK;

	cv_buf_u32(out, ST_SECRET_MARK);
	cv_buf_u32(out, (uint32_t)b->n_ballots);
	for (size_t i = 0; e == CV_OK && i < b->n_ballots; i++) {
		cv_buf_reset(&leaf);
		if ((e = cv_ballot_leaf(&b->ballots[i], &leaf)) == CV_OK) {
			cv_buf_u32(out, (uint32_t)leaf.len);
			cv_buf_put(out, leaf.data, leaf.len);
		}
	}
	cv_buf_u32(out, (uint32_t)b->n_decryptions);
	for (size_t i = 0; e == CV_OK && i < b->n_decryptions; i++) {
		cv_buf_reset(&leaf);
		if ((e = cv_decryption_leaf(&b->decryptions[i], &leaf)) == CV_OK) {
			cv_buf_u32(out, (uint32_t)leaf.len);
			cv_buf_put(out, leaf.data, leaf.len);
		}
	}
	cv_buf_free(&leaf);
	return e != CV_OK ? e : out->failed ? CV_E_NOMEM : CV_OK;
}

/* The leaves secret_leaves_encode wrote, after the mark; each count is bounded by the
 * bytes left before anything is allocated. */
static cv_err secret_leaves_decode(cv_reader *r, cv_block *b)
{
	uint32_t n, len;
	const uint8_t *p;

	b->secret = true;
	n = cv_rd_u32(r);
	if (r->bad || n > cv_rd_left(r) / 4)
		return CV_E_STORE;
	if (n > 0 && (b->ballots = calloc(n, sizeof *b->ballots)) == NULL)
		return CV_E_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		len = cv_rd_u32(r);
		if ((p = cv_rd_take(r, len)) == NULL ||
		    cv_ballot_from_leaf(p, len, &b->ballots[i]) != CV_OK)
			return CV_E_STORE;
		b->n_ballots = i + 1;
	}
	n = cv_rd_u32(r);
	if (r->bad || n > cv_rd_left(r) / 4)
		return CV_E_STORE;
	if (n > 0 && (b->decryptions = calloc(n, sizeof *b->decryptions)) == NULL)
		return CV_E_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		len = cv_rd_u32(r);
		if ((p = cv_rd_take(r, len)) == NULL ||
		    cv_decryption_from_leaf(p, len, &b->decryptions[i]) != CV_OK)
			return CV_E_STORE;
		b->n_decryptions = i + 1;
	}
	return CV_OK;
}

cv_err cv_st_block_encode(const cv_block *b, cv_buf *out)
{
	uint8_t hdr[CV_HEADER_LEN], leaf[CV_LEAF_LEN];

	cv_header_encode(&b->header, hdr);
	cv_buf_put(out, hdr, sizeof hdr);
	cv_buf_put(out, b->hash, CV_HASH_LEN);
	if (b->secret) {
		cv_err e = secret_leaves_encode(b, out);

		if (e != CV_OK)
			return e;
	} else {
		cv_buf_u32(out, (uint32_t)b->n_votes);
		for (size_t i = 0; i < b->n_votes; i++) {
			cv_vote_leaf(&b->votes[i], leaf);
			cv_buf_put(out, leaf, sizeof leaf);
		}
	}
	cv_buf_u32(out, (uint32_t)b->n_approvals);
	for (size_t i = 0; i < b->n_approvals; i++) {
		cv_buf_put(out, b->approvals[i].validator_key, CV_KEY_LEN);
		cv_buf_put(out, b->approvals[i].signature, CV_SIG_LEN);
	}
	if (b->has_seal) {
		uint8_t seal[CV_SEAL_LEN];

		cv_seal_leaf(&b->seal, seal);
		cv_buf_put(out, seal, sizeof seal);
	}
	if (b->change != NULL) {
		cv_err e = cv_change_leaf(b->change, out);

		if (e != CV_OK)
			return e;
	}
	return out->failed ? CV_E_NOMEM : CV_OK;
}

cv_err cv_st_block_decode(const uint8_t *p, size_t n, cv_block *b)
{
	cv_reader r = {.p = p, .n = n};
	const uint8_t *hdr;
	uint32_t nv, na;
	cv_err e = CV_E_STORE;

	memset(b, 0, sizeof *b);
	hdr = cv_rd_take(&r, CV_HEADER_LEN);
	if (hdr == NULL || cv_st_header_decode(hdr, CV_HEADER_LEN, &b->header) != CV_OK)
		goto err;
	cv_rd_copy(&r, b->hash, CV_HASH_LEN);
	nv = cv_rd_u32(&r);
	if (!r.bad && nv == ST_SECRET_MARK) {
		if ((e = secret_leaves_decode(&r, b)) != CV_OK)
			goto err;
		nv = 0;
		e = CV_E_STORE;
	}
	/* Bounded by the record's size before any allocation. */
	if (r.bad || nv > cv_rd_left(&r) / CV_LEAF_LEN)
		goto err;
	if (nv > 0) {
		b->votes = calloc(nv, sizeof *b->votes);
		if (b->votes == NULL) {
			e = CV_E_NOMEM;
			goto err;
		}
	}
	b->n_votes = nv;
	for (uint32_t i = 0; i < nv; i++)
		vote_read(&r, &b->votes[i]);
	na = cv_rd_u32(&r);
	if (r.bad || na > cv_rd_left(&r) / (CV_KEY_LEN + CV_SIG_LEN))
		goto err;
	if (na > 0) {
		b->approvals = calloc(na, sizeof *b->approvals);
		if (b->approvals == NULL) {
			e = CV_E_NOMEM;
			goto err;
		}
	}
	b->n_approvals = na;
	for (uint32_t i = 0; i < na; i++) {
		cv_rd_copy(&r, b->approvals[i].validator_key, CV_KEY_LEN);
		cv_rd_copy(&r, b->approvals[i].signature, CV_SIG_LEN);
	}
	if (!r.bad && cv_rd_left(&r) == CV_SEAL_LEN) {
		if (!cv_rd_tag(&r, CV_TAG_SEAL))
			goto err;
		b->has_seal = true;
		cv_rd_copy(&r, b->seal.election_id, CV_HASH_LEN);
		b->seal.closed_at = cv_rd_u64(&r);
	}
	/* a change block's leaf is the rest of the record, after its approvals */
	if (!r.bad && cv_rd_left(&r) > strlen(CV_TAG_CHANGE) &&
	    memcmp(p + r.off, CV_TAG_CHANGE, strlen(CV_TAG_CHANGE)) == 0) {
		if ((b->change = calloc(1, sizeof *b->change)) == NULL) {
			e = CV_E_NOMEM;
			goto err;
		}
		if ((e = cv_change_from_leaf(p + r.off, cv_rd_left(&r), b->change)) != CV_OK) {
			e = e == CV_E_NOMEM ? e : CV_E_STORE;
			goto err;
		}
		r.off = n;
	}
	if (!cv_rd_end(&r))
		goto err;
	return CV_OK;
err:
	cv_block_free(b);
	return e;
}
