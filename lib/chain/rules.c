/* The rules of the chain (DESIGN section 2), each written once: a vote (rule 5), a block
 * (rules 1-5, the seal), approvals (rule 6) and the genesis. A rule reports to a sink:
 * the single-block checks stop at the first problem, the chain verifier (verifier.c)
 * collects them all with a sentence each. A secret election's rules are in
 * rules_secret.c, the changes of the parameters in rules_change.c. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pow.h"
#include "rules_impl.h"

/* The check a problem of a block comes from: each check of rules 1-4 has a code of its
 * own, and every code a vote can fail with comes from rule 5. */
static cv_check check_of(enum item kind, cv_err code)
{
	if (kind == ITEM_VOTE)
		return CV_CHECK_VOTES;
	switch (code) {
	case CV_E_BAD_VERSION:
		return CV_CHECK_VERSION;
	case CV_E_BAD_HEIGHT:
		return CV_CHECK_HEIGHT;
	case CV_E_BAD_PREV:
		return CV_CHECK_LINK;
	case CV_E_BAD_DIFFICULTY:
		return CV_CHECK_DIFFICULTY;
	case CV_E_WEAK_POW:
		return CV_CHECK_POW;
	case CV_E_BAD_HASH:
		return CV_CHECK_HASH;
	case CV_E_BAD_TIMESTAMP:
		return CV_CHECK_TIMESTAMP;
	case CV_E_VOTE_COUNT:
		return CV_CHECK_VOTE_COUNT;
	case CV_E_BAD_MERKLE:
		return CV_CHECK_MERKLE;
	case CV_E_BAD_SEAL:
	case CV_E_SEALED:
	case CV_E_SEAL_EARLY:
		return CV_CHECK_SEAL;
	default:
		return CV_CHECK_OTHER;
	}
}

/* Records a problem; true when the caller must stop checking. */
bool cv_rl_problem(sink *s, enum item kind, size_t index, cv_err code, const char *fmt, ...)
{
	char detail[DETAIL_MAX + 32];
	size_t off = 0;
	va_list ap;

	if (s->n++ == 0) {
		s->first = code;
		s->first_index = kind == ITEM_NONE ? NO_INDEX : index;
		s->first_check = check_of(kind, code);
	}
	if (s->report != NULL) {
		if (kind == ITEM_APPROVAL)
			off = (size_t)snprintf(detail, sizeof(detail), "approval %zu: ", index);
		va_start(ap, fmt);
		vsnprintf(detail + off, sizeof(detail) - off, fmt, ap);
		va_end(ap);
		s->report(s->ctx, s->height, kind == ITEM_VOTE ? (int64_t)index : -1, code, detail);
	}
	return !s->all;
}

/* First bytes of a key or hash in hex, enough for a reader to find it. */
const char *cv_rl_short_hex(const uint8_t *p, char out[17])
{
	cv_hex_encode(p, 8, out);
	return out;
}

void cv_rl_why_set(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

/* ---- rule 5, one vote ---- */

cv_err cv_rl_vote_signature(const cv_vote *vote)
{
	uint8_t payload[CV_PAYLOAD_LEN];

	cv_vote_payload(vote, payload);
	return cv_verify(vote->voter_key, payload, sizeof(payload), vote->signature);
}

/* Rule 5's election and roll, shared by votes and ballots. */
cv_err cv_rl_voter_rule(const cv_view *v, const uint8_t election_id[CV_HASH_LEN],
                        const uint8_t voter_key[CV_KEY_LEN], char *why, size_t why_len)
{
	char hex[17];
	int r;

	if (memcmp(election_id, v->election_id, CV_HASH_LEN) != 0) {
		cv_rl_why_set(why, why_len, "election_id %s… is not this election's",
		              cv_rl_short_hex(election_id, hex));
		return CV_E_WRONG_ELECTION;
	}
	r = v->on_roll ? v->on_roll(v->ctx, voter_key) : cv_genesis_on_roll(v->genesis, voter_key);
	if (r < 0) {
		cv_rl_why_set(why, why_len, "the roll could not be read");
		return (cv_err)-r;
	}
	if (r == 0) {
		cv_rl_why_set(why, why_len, "voter %s… is not on the roll",
		              cv_rl_short_hex(voter_key, hex));
		return CV_E_NOT_ON_ROLL;
	}
	return CV_OK;
}

/* Rule 5's time window, shared by votes and ballots. */
cv_err cv_rl_time_rule(const cv_view *v, uint64_t timestamp, uint64_t latest, char *why,
                       size_t why_len)
{
	const cv_election *e = &v->genesis->election;

	if (timestamp < v->genesis_timestamp) {
		cv_rl_why_set(why, why_len, "timestamp %llu is before the genesis timestamp %llu",
		              (unsigned long long)timestamp,
		              (unsigned long long)v->genesis_timestamp);
		return CV_E_VOTE_TIME;
	}
	if (timestamp > latest && timestamp - latest > CV_FUTURE_SLACK) {
		cv_rl_why_set(why, why_len, "timestamp %llu is more than %d s after %llu",
		              (unsigned long long)timestamp, CV_FUTURE_SLACK,
		              (unsigned long long)latest);
		return CV_E_VOTE_TIME;
	}
	/* the window is inclusive at both ends: a vote stamped at `closes` still counts */
	if (e->opens != 0 && timestamp < e->opens) {
		cv_rl_why_set(why, why_len, "timestamp %llu is before the election opens at %llu",
		              (unsigned long long)timestamp, (unsigned long long)e->opens);
		return CV_E_NOT_OPEN;
	}
	if (e->closes != 0 && timestamp > e->closes) {
		cv_rl_why_set(why, why_len, "timestamp %llu is after the election closes at %llu",
		              (unsigned long long)timestamp, (unsigned long long)e->closes);
		return CV_E_CLOSED;
	}
	if (v->closed_at != 0 && timestamp > v->closed_at) {
		cv_rl_why_set(why, why_len, "timestamp %llu is after the close at %llu",
		              (unsigned long long)timestamp, (unsigned long long)v->closed_at);
		return CV_E_LATE_VOTE;
	}
	return CV_OK;
}

verdict cv_rl_verdict_of(cv_err rc, size_t pos)
{
	return (verdict){rc, pos < NO_POS ? (uint32_t)pos : NO_POS};
}

/* Rule 5 for one vote, bar "no earlier vote". sig, when not NULL, is the signature's
 * verdict computed beforehand (the verifier's workers). */
static cv_err vote_rule(const cv_view *v, const cv_vote *vote, uint64_t latest, const verdict *sig,
                        char *why, size_t why_len)
{
	cv_err rc;

	if ((rc = cv_rl_voter_rule(v, vote->election_id, vote->voter_key, why, why_len)) != CV_OK)
		return rc;
	if (cv_genesis_candidate(v->genesis, vote->candidate_id) == NULL) {
		cv_rl_why_set(why, why_len, "candidate %u does not exist",
		              (unsigned)vote->candidate_id);
		return CV_E_UNKNOWN_CANDIDATE;
	}
	if ((rc = cv_rl_time_rule(v, vote->timestamp, latest, why, why_len)) != CV_OK)
		return rc;
	rc = sig ? sig->rc : cv_rl_vote_signature(vote);
	if (rc != CV_OK) {
		cv_rl_why_set(why, why_len,
		              rc == CV_E_BAD_KEY         ? "the voter key is not a P-256 point"
		              : rc == CV_E_BAD_SIGNATURE ? "the signature does not verify"
		                                         : "the signature could not be checked");
		return rc;
	}
	return CV_OK;
}

cv_err cv_check_vote(const cv_view *v, const cv_vote *vote, uint64_t latest)
{
	return vote_rule(v, vote, latest, NULL, NULL, 0);
}

/* ---- rules 1-5, one block ---- */

static const uint8_t *key_at(const key_array *k, size_t i)
{
	return k->base + i * k->stride;
}

static int key_index_cmp(const void *a, const void *b, void *keys)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = memcmp(key_at(keys, x), key_at(keys, y), CV_KEY_LEN);

	if (c != 0)
		return c;
	return (x > y) - (x < y);
}

/* dup_of[i] = index of the first vote in the block by the same voter when that is
 * before i, else NO_INDEX. Sorting keeps this O(n log n) for blocks of any size. */
cv_err cv_rl_in_block_duplicates(const key_array *keys, size_t n, size_t **out)
{
	size_t *order = NULL, *dup_of = NULL;

	*out = NULL;
	order = malloc((n ? n : 1) * sizeof(*order));
	dup_of = malloc((n ? n : 1) * sizeof(*dup_of));
	if (order == NULL || dup_of == NULL) {
		free(order);
		free(dup_of);
		return CV_E_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		dup_of[i] = NO_INDEX;
	}
	qsort_r(order, n, sizeof(*order), key_index_cmp, (void *)keys);
	for (size_t i = 1, first = 0; i < n; i++) {
		if (memcmp(key_at(keys, order[i]), key_at(keys, order[first]), CV_KEY_LEN) == 0)
			dup_of[order[i]] = order[first];
		else
			first = i;
	}
	free(order);
	*out = dup_of;
	return CV_OK;
}

/* The seal rules of one seal block (DESIGN section 2, "The close"); the chain-wide ones
 * (at most one seal, every vote no later than closed_at, nothing after the seal) come
 * through the view. True when the caller must stop checking. */
static bool seal_rules(const cv_view *v, const cv_block *b, sink *s)
{
	const cv_seal *seal = &b->seal;
	const cv_election *e = &v->genesis->election;
	char hex[17];

	if (b->n_votes + b->n_ballots + b->n_decryptions != 0 &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_SEAL,
	                  "a seal block carries %zu votes besides the seal, allowed none",
	                  b->n_votes + b->n_ballots + b->n_decryptions))
		return true;
	if (memcmp(seal->election_id, v->election_id, CV_HASH_LEN) != 0 &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_SEAL,
	                  "the seal's election_id %s… is not this election's",
	                  cv_rl_short_hex(seal->election_id, hex)))
		return true;
	if (seal->closed_at < v->genesis_timestamp &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_SEAL,
	                  "closed_at %llu is before the genesis timestamp %llu",
	                  (unsigned long long)seal->closed_at,
	                  (unsigned long long)v->genesis_timestamp))
		return true;
	if (seal->closed_at > b->header.timestamp &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_SEAL,
	                  "closed_at %llu is after the seal block's timestamp %llu",
	                  (unsigned long long)seal->closed_at,
	                  (unsigned long long)b->header.timestamp))
		return true;
	if (e->closes != 0 && seal->closed_at > e->closes &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_SEAL,
	                  "closed_at %llu is after the election closes at %llu",
	                  (unsigned long long)seal->closed_at, (unsigned long long)e->closes))
		return true;
	if (v->open && cv_rl_problem(s, ITEM_NONE, 0, CV_E_SEAL_EARLY,
	                             "the election is open: the seal comes after the close"))
		return true;
	if (v->closed_at != 0 && seal->closed_at != v->closed_at &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_SEAL, "closed_at %llu is not the close at %llu",
	                  (unsigned long long)seal->closed_at, (unsigned long long)v->closed_at))
		return true;
	return false;
}

void cv_rl_block_rules(const cv_view *v, const cv_header *prev,
                       const uint8_t prev_hash[CV_HASH_LEN], const cv_block *b, uint64_t now,
                       const verdict *sigs, const earlier_check *ec, sink *s)
{
	const cv_header *h = &b->header;
	const cv_election *e = &v->genesis->election;
	uint8_t hash[CV_HASH_LEN], root[CV_HASH_LEN];
	char hex[17], hex2[17], why[DETAIL_MAX];
	size_t *dup_of = NULL;
	key_array vote_keys = {b->votes ? b->votes->voter_key : NULL, sizeof(cv_vote)};
	uint64_t at;
	cv_err rc;
	int r;

	if (h->version != CV_VERSION &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_VERSION, "version %u is not %d",
	                  (unsigned)h->version, CV_VERSION))
		return;
	if ((h->height != prev->height + 1 || b->genesis != NULL) &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_HEIGHT, "height %llu does not follow %llu",
	                  (unsigned long long)h->height, (unsigned long long)prev->height))
		return;
	if (memcmp(h->prev_hash, prev_hash, CV_HASH_LEN) != 0 &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_PREV,
	                  "prev_hash %s… is not the previous block's %s…",
	                  cv_rl_short_hex(h->prev_hash, hex), cv_rl_short_hex(prev_hash, hex2)))
		return;
	if (h->difficulty != e->difficulty &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_DIFFICULTY,
	                  "difficulty %u is not the election's %u in force",
	                  (unsigned)h->difficulty, (unsigned)e->difficulty))
		return;
	cv_header_hash(h, hash);
	if (!cv_pow_ok(hash, h->difficulty) &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_WEAK_POW,
	                  "hash %s… has %u leading zero bits, not %u", cv_rl_short_hex(hash, hex),
	                  cv_leading_zero_bits(hash), (unsigned)h->difficulty))
		return;
	if (memcmp(hash, b->hash, CV_HASH_LEN) != 0 &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_HASH, "stated hash %s… is not the header's %s…",
	                  cv_rl_short_hex(b->hash, hex), cv_rl_short_hex(hash, hex2)))
		return;
	if (h->timestamp < prev->timestamp &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_TIMESTAMP,
	                  "timestamp %llu is before the previous block's %llu",
	                  (unsigned long long)h->timestamp, (unsigned long long)prev->timestamp))
		return;
	if (now != 0 && h->timestamp > now && h->timestamp - now > CV_FUTURE_SLACK &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_TIMESTAMP,
	                  "timestamp %llu is more than %d s ahead",
	                  (unsigned long long)h->timestamp, CV_FUTURE_SLACK))
		return;
	if (b->change != NULL) {
		if (cv_rl_change_block_rules(v, b, s))
			return;
	} else if (v->genesis->secrecy != NULL || b->secret) {
		if (cv_rl_secret_block_rules(v, b, s))
			return;
	} else if (v->sealed && cv_rl_problem(s, ITEM_NONE, 0, CV_E_SEALED,
	                                      "the chain is sealed before this block: no block "
	                                      "follows the seal")) {
		return;
	}
	if (b->change != NULL) {
		/* the change leaf alone: no vote count */
	} else if (b->has_seal) {
		if (seal_rules(v, b, s))
			return;
	} else if (!b->secret && (b->n_votes == 0 || b->n_votes > e->max_block_votes) &&
	           cv_rl_problem(s, ITEM_NONE, 0, CV_E_VOTE_COUNT, "%zu votes, allowed 1 to %u",
	                         b->n_votes, (unsigned)e->max_block_votes)) {
		return;
	}
	rc = cv_block_merkle_root(b, root);
	if (rc != CV_OK) {
		cv_rl_problem(s, ITEM_NONE, 0, rc, "the merkle root could not be computed");
		return;
	}
	if (memcmp(root, h->merkle_root, CV_HASH_LEN) != 0 &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_MERKLE,
	                  "merkle_root %s… is not the leaves' %s…",
	                  cv_rl_short_hex(h->merkle_root, hex), cv_rl_short_hex(root, hex2)))
		return;

	if (b->change != NULL) {
		rc = cv_check_change(v, h->height, b->change, true, NULL, why, sizeof(why));
		if (rc != CV_OK)
			cv_rl_problem(s, ITEM_NONE, 0, rc, "the change: %s", why);
		return;
	}
	if (b->secret) {
		cv_rl_secret_items(v, b, sigs ? sigs + b->n_votes : NULL, ec, s);
		return;
	}
	assert(b->n_votes == 0 || b->votes != NULL);
	if ((rc = cv_rl_in_block_duplicates(&vote_keys, b->n_votes, &dup_of)) != CV_OK) {
		cv_rl_problem(s, ITEM_NONE, 0, rc, "out of memory");
		return;
	}
	for (size_t i = 0; i < b->n_votes; i++) {
		const cv_vote *vote = &b->votes[i];

		rc = vote_rule(v, vote, h->timestamp, sigs ? &sigs[i] : NULL, why, sizeof(why));
		if (rc != CV_OK) {
			if (cv_rl_problem(s, ITEM_VOTE, i, rc, "%s", why))
				break;
			continue;
		}
		if (dup_of[i] != NO_INDEX) {
			if (cv_rl_problem(s, ITEM_VOTE, i, CV_E_DOUBLE_VOTE,
			                  "voter %s… voted already in this block (vote %zu)",
			                  cv_rl_short_hex(vote->voter_key, hex), dup_of[i]))
				break;
			continue;
		}
		at = UINT64_MAX;
		r = ec->fn(ec->ctx, i, vote->voter_key, &at);
		if (r < 0 &&
		    cv_rl_problem(s, ITEM_VOTE, i, (cv_err)-r, "earlier votes could not be read"))
			break;
		if (r > 0) {
			if (at == UINT64_MAX)
				snprintf(why, sizeof(why), "in an earlier block");
			else
				snprintf(why, sizeof(why), "at height %llu",
				         (unsigned long long)at);
			if (cv_rl_problem(s, ITEM_VOTE, i, CV_E_DOUBLE_VOTE,
			                  "voter %s… voted already %s",
			                  cv_rl_short_hex(vote->voter_key, hex), why))
				break;
		}
	}
	free(dup_of);
}

static int ask_has_voted(void *ctx, size_t vote_index, const uint8_t key[CV_KEY_LEN], uint64_t *at)
{
	const cv_view *v = ctx;

	(void)vote_index;
	(void)at;
	return v->has_voted ? v->has_voted(v->ctx, key) : 0;
}

cv_err cv_check_proposal(const cv_view *v, const cv_header *prev,
                         const uint8_t prev_hash[CV_HASH_LEN], const cv_block *b, uint64_t now,
                         size_t *bad_vote)
{
	earlier_check ec = {ask_has_voted, (void *)v};
	sink s = {.first = CV_OK, .first_index = NO_INDEX};

	cv_rl_block_rules(v, prev, prev_hash, b, now, NULL, &ec, &s);
	if (bad_vote != NULL)
		*bad_vote = s.first_index;
	return s.first;
}

static const char *const check_names[CV_CHECK__COUNT] = {
    [CV_CHECK_VERSION] = "version",
    [CV_CHECK_HEIGHT] = "height",
    [CV_CHECK_LINK] = "link",
    [CV_CHECK_DIFFICULTY] = "difficulty",
    [CV_CHECK_POW] = "pow",
    [CV_CHECK_HASH] = "hash",
    [CV_CHECK_TIMESTAMP] = "timestamp",
    [CV_CHECK_VOTE_COUNT] = "vote_count",
    [CV_CHECK_MERKLE] = "merkle",
    [CV_CHECK_SEAL] = "seal",
    [CV_CHECK_VOTES] = "votes",
    [CV_CHECK_OTHER] = "other",
};

const char *cv_check_name(cv_check c)
{
	return (unsigned)c < CV_CHECK__COUNT ? check_names[c] : "other";
}

int cv_checks_result(const cv_checks *k, cv_check c)
{
	if (k->verdict == CV_OK)
		return 1;
	return k->failed == c ? 0 : -1;
}

cv_err cv_check_proposal_checks(const cv_view *v, const cv_header *prev,
                                const uint8_t prev_hash[CV_HASH_LEN], const cv_block *b,
                                uint64_t now, cv_checks *out)
{
	earlier_check ec = {ask_has_voted, (void *)v};
	sink s = {.first = CV_OK, .first_index = NO_INDEX, .first_check = CV_CHECK__COUNT};
	uint8_t hash[CV_HASH_LEN];

	/* first problem ends the check, as at admission: a block without its proof of
	 * work costs no signature check */
	cv_rl_block_rules(v, prev, prev_hash, b, now, NULL, &ec, &s);
	cv_header_hash(&b->header, hash);
	out->verdict = s.first;
	out->failed = s.first_check;
	out->vote = s.first_index;
	out->leading_zero_bits = cv_leading_zero_bits(hash);
	return s.first;
}

/* ---- rule 6 ---- */

/* A verdict's signer and signature over msg. */
static cv_err verdict_rule(const cv_genesis *g, const cv_approval *a, const void *msg, size_t len,
                           const cv_validator **who)
{
	const cv_validator *val = cv_genesis_validator(g, a->validator_key);

	if (who != NULL)
		*who = val;
	if (val == NULL)
		return CV_E_NOT_VALIDATOR;
	return cv_verify(a->validator_key, msg, len, a->signature) == CV_OK ? CV_OK
	                                                                    : CV_E_BAD_SIGNATURE;
}

cv_err cv_check_approval(const cv_genesis *g, const uint8_t block_hash[CV_HASH_LEN],
                         const cv_approval *a)
{
	uint8_t msg[CV_APPROVAL_MSG_LEN];

	cv_approval_message(block_hash, msg);
	return verdict_rule(g, a, msg, sizeof(msg), NULL);
}

cv_err cv_check_rejection(const cv_genesis *g, const uint8_t block_hash[CV_HASH_LEN],
                          const char *reason, const cv_approval *a)
{
	cv_buf msg = {0};
	cv_err rc;

	if ((rc = cv_rejection_message(block_hash, reason, &msg)) == CV_OK)
		rc = verdict_rule(g, a, msg.data, msg.len, NULL);
	cv_buf_free(&msg);
	return rc;
}

/* params (may be NULL): the parameters in force, g being its genesis, so that a key a
 * change replaced is named as such. */
void cv_rl_approval_rules(const cv_genesis *g, const cv_params *params,
                          const uint8_t block_hash[CV_HASH_LEN], const cv_approval *a, size_t n,
                          sink *s)
{
	uint8_t msg[CV_APPROVAL_MSG_LEN];
	const cv_validator *who;
	bool *seen;
	size_t valid = 0;
	char hex[17];
	cv_err rc;

	/* one flag per validator keeps the distinctness test linear in n */
	if ((seen = calloc(g->n_validators ? g->n_validators : 1, sizeof(*seen))) == NULL) {
		cv_rl_problem(s, ITEM_NONE, 0, CV_E_NOMEM, "out of memory");
		return;
	}
	cv_approval_message(block_hash, msg);
	for (size_t i = 0; i < n; i++) {
		if (cv_genesis_validator(g, a[i].validator_key) != NULL &&
		    seen[cv_genesis_validator(g, a[i].validator_key) - g->validators]) {
			if (cv_rl_problem(s, ITEM_APPROVAL, i, CV_E_DUPLICATE_APPROVAL,
			                  "validator %s… approved already",
			                  cv_rl_short_hex(a[i].validator_key, hex)))
				goto out;
			continue;
		}
		rc = verdict_rule(g, &a[i], msg, sizeof(msg), &who);
		if (who != NULL)
			seen[who - g->validators] = true;
		if (rc == CV_E_NOT_VALIDATOR &&
		    cv_rl_problem(s, ITEM_APPROVAL, i, rc,
		                  cv_params_retired(params, a[i].validator_key)
		                      ? "%s… was replaced by a change: no validator at this height"
		                      : "%s… is not a validator of this election",
		                  cv_rl_short_hex(a[i].validator_key, hex)))
			goto out;
		if (rc == CV_E_BAD_SIGNATURE &&
		    cv_rl_problem(s, ITEM_APPROVAL, i, rc, "the signature of %s… does not verify",
		                  cv_rl_short_hex(a[i].validator_key, hex)))
			goto out;
		if (rc == CV_OK)
			valid++;
	}
	if (valid < g->election.threshold)
		cv_rl_problem(s, ITEM_NONE, 0, CV_E_TOO_FEW_APPROVALS,
		              "%zu valid approvals, threshold %u", valid,
		              (unsigned)g->election.threshold);
out:
	free(seen);
}

cv_err cv_check_approvals(const cv_genesis *g, const uint8_t block_hash[CV_HASH_LEN],
                          const cv_approval *a, size_t n, size_t *bad)
{
	sink s = {.first = CV_OK, .first_index = NO_INDEX};

	cv_rl_approval_rules(g, NULL, block_hash, a, n, &s);
	if (bad != NULL)
		*bad = s.first_index;
	return s.first;
}

/* ---- genesis ---- */

static const char *genesis_why(cv_err rc)
{
	switch (rc) {
	case CV_E_BAD_GENESIS:
		return "the candidates, validators or voters are not in genesis order";
	case CV_E_BAD_KEY:
		return "a validator or voter key is not a valid P-256 point";
	default:
		return "the election settings break a rule (threshold, candidate ids, texts or "
		       "duplicate keys)";
	}
}

/* *order (may be NULL) receives cv_genesis_check's verdict, so the verifier knows
 * whether the stated genesis can serve binary searches as it is. */
void cv_rl_genesis_rules(const cv_block *b, sink *s, cv_err *order)
{
	const cv_header *h = &b->header;
	static const uint8_t zero[CV_HASH_LEN];
	uint8_t root[CV_HASH_LEN], hash[CV_HASH_LEN];
	char hex[17], hex2[17];
	cv_err rc;

	if (b->genesis == NULL) {
		cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_GENESIS,
		              "the first block is not a genesis block");
		return;
	}
	if (h->version != CV_VERSION &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_VERSION, "version %u is not %d",
	                  (unsigned)h->version, CV_VERSION))
		return;
	if (h->height != 0 &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_HEIGHT, "genesis height %llu is not 0",
	                  (unsigned long long)h->height))
		return;
	if (memcmp(h->prev_hash, zero, CV_HASH_LEN) != 0 &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_PREV, "genesis prev_hash is not zero"))
		return;
	if (h->difficulty != 0 &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_DIFFICULTY, "genesis difficulty %u is not 0",
	                  (unsigned)h->difficulty))
		return;
	if (h->nonce != 0 &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_GENESIS, "genesis nonce %llu is not 0",
	                  (unsigned long long)h->nonce))
		return;
	rc = cv_genesis_check(b->genesis);
	if (order != NULL)
		*order = rc;
	if (rc != CV_OK && cv_rl_problem(s, ITEM_NONE, 0, rc, "%s", genesis_why(rc)))
		return;
	if (b->genesis->secrecy != NULL && cv_rl_secrecy_rules(b->genesis, s))
		return;
	if ((rc = cv_genesis_merkle_root(b->genesis, root)) != CV_OK) {
		cv_rl_problem(s, ITEM_NONE, 0, rc, "the genesis merkle root could not be computed");
		return;
	}
	if (memcmp(root, h->merkle_root, CV_HASH_LEN) != 0 &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_MERKLE,
	                  "merkle_root %s… is not the entries' %s…",
	                  cv_rl_short_hex(h->merkle_root, hex), cv_rl_short_hex(root, hex2)))
		return;
	cv_header_hash(h, hash);
	if (memcmp(hash, b->hash, CV_HASH_LEN) != 0)
		cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_HASH,
		              "stated hash %s… is not the header's %s…",
		              cv_rl_short_hex(b->hash, hex), cv_rl_short_hex(hash, hex2));
}

cv_err cv_check_genesis(const cv_block *b)
{
	sink s = {.first = CV_OK, .first_index = NO_INDEX};

	cv_rl_genesis_rules(b, &s, NULL);
	return s.first;
}
