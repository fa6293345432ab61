/* Every rule of the chain (DESIGN section 2), each written once. A rule reports to a
 * sink: the single-block checks stop at the first problem, the chain verifier collects
 * them all with a sentence each. The verifier checks the crypto of every item (votes'
 * signatures, ballots' proofs, decryption shares' proofs) on all cores as the blocks
 * come, since it dominates its cost, and judges the rules in chain order, each block as
 * soon as its items' verdicts are in. */
#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pow.h"
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

static bool problem(sink *s, enum item kind, size_t index, cv_err code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

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
static bool problem(sink *s, enum item kind, size_t index, cv_err code, const char *fmt, ...)
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
static const char *short_hex(const uint8_t *p, char out[17])
{
	cv_hex_encode(p, 8, out);
	return out;
}

static void why_set(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

/* ---- rule 5, one vote ---- */

static cv_err vote_signature(const cv_vote *vote)
{
	uint8_t payload[CV_PAYLOAD_LEN];

	cv_vote_payload(vote, payload);
	return cv_verify(vote->voter_key, payload, sizeof(payload), vote->signature);
}

/* Rule 5's election and roll, shared by votes and ballots. */
static cv_err voter_rule(const cv_view *v, const uint8_t election_id[CV_HASH_LEN],
                         const uint8_t voter_key[CV_KEY_LEN], char *why, size_t why_len)
{
	char hex[17];
	int r;

	if (memcmp(election_id, v->election_id, CV_HASH_LEN) != 0) {
		why_set(why, why_len, "election_id %s… is not this election's",
		        short_hex(election_id, hex));
		return CV_E_WRONG_ELECTION;
	}
	r = v->on_roll ? v->on_roll(v->ctx, voter_key) : cv_genesis_on_roll(v->genesis, voter_key);
	if (r < 0) {
		why_set(why, why_len, "the roll could not be read");
		return (cv_err)-r;
	}
	if (r == 0) {
		why_set(why, why_len, "voter %s… is not on the roll", short_hex(voter_key, hex));
		return CV_E_NOT_ON_ROLL;
	}
	return CV_OK;
}

/* Rule 5's time window, shared by votes and ballots. */
static cv_err time_rule(const cv_view *v, uint64_t timestamp, uint64_t latest, char *why,
                        size_t why_len)
{
	const cv_election *e = &v->genesis->election;

	if (timestamp < v->genesis_timestamp) {
		why_set(why, why_len, "timestamp %llu is before the genesis timestamp %llu",
		        (unsigned long long)timestamp, (unsigned long long)v->genesis_timestamp);
		return CV_E_VOTE_TIME;
	}
	if (timestamp > latest && timestamp - latest > CV_FUTURE_SLACK) {
		why_set(why, why_len, "timestamp %llu is more than %d s after %llu",
		        (unsigned long long)timestamp, CV_FUTURE_SLACK, (unsigned long long)latest);
		return CV_E_VOTE_TIME;
	}
	/* the window is inclusive at both ends: a vote stamped at `closes` still counts */
	if (e->opens != 0 && timestamp < e->opens) {
		why_set(why, why_len, "timestamp %llu is before the election opens at %llu",
		        (unsigned long long)timestamp, (unsigned long long)e->opens);
		return CV_E_NOT_OPEN;
	}
	if (e->closes != 0 && timestamp > e->closes) {
		why_set(why, why_len, "timestamp %llu is after the election closes at %llu",
		        (unsigned long long)timestamp, (unsigned long long)e->closes);
		return CV_E_CLOSED;
	}
	if (v->closed_at != 0 && timestamp > v->closed_at) {
		why_set(why, why_len, "timestamp %llu is after the close at %llu",
		        (unsigned long long)timestamp, (unsigned long long)v->closed_at);
		return CV_E_LATE_VOTE;
	}
	return CV_OK;
}

/* What the verifier's workers compute of an item ahead of the rules: a vote's
 * signature, a ballot's or a decryption share's proofs and signature (rc), and the
 * position at fault (pos, NO_POS when none). */
#define NO_POS UINT32_MAX
typedef struct verdict {
	cv_err rc;
	uint32_t pos;
} verdict;

static verdict verdict_of(cv_err rc, size_t pos)
{
	return (verdict){rc, pos < NO_POS ? (uint32_t)pos : NO_POS};
}

/* Rule 5 for one vote, bar "no earlier vote". sig, when not NULL, is the signature's
 * verdict computed beforehand (the verifier's workers). */
static cv_err vote_rule(const cv_view *v, const cv_vote *vote, uint64_t latest, const verdict *sig,
                        char *why, size_t why_len)
{
	cv_err rc;

	if ((rc = voter_rule(v, vote->election_id, vote->voter_key, why, why_len)) != CV_OK)
		return rc;
	if (cv_genesis_candidate(v->genesis, vote->candidate_id) == NULL) {
		why_set(why, why_len, "candidate %u does not exist", (unsigned)vote->candidate_id);
		return CV_E_UNKNOWN_CANDIDATE;
	}
	if ((rc = time_rule(v, vote->timestamp, latest, why, why_len)) != CV_OK)
		return rc;
	rc = sig ? sig->rc : vote_signature(vote);
	if (rc != CV_OK) {
		why_set(why, why_len,
		        rc == CV_E_BAD_KEY         ? "the voter key is not a P-256 point"
		        : rc == CV_E_BAD_SIGNATURE ? "the signature does not verify"
		                                   : "the signature could not be checked");
		return rc;
	}
	return CV_OK;
}

/* The crypto of one ballot (section 6, rule 5.2's k, points, scalars, proofs and
 * signature) against the election key K: what the verifier's workers compute. */
static verdict ballot_crypto(const uint8_t K[CV_POINT_LEN], size_t n_candidates,
                             const cv_ballot *bl)
{
	size_t pos = SIZE_MAX;
	cv_err rc = cv_ballot_verify(bl, K, n_candidates, &pos);

	return verdict_of(rc, pos);
}

static const char *ballot_why(cv_err rc)
{
	switch (rc) {
	case CV_E_WRONG_MODE:
		return "a public vote in a secret election";
	case CV_E_BALLOT_COUNT:
		return "the number of ciphertexts is not the number of candidates";
	case CV_E_BALLOT_POINT:
		return "a ciphertext is not a P-256 point";
	case CV_E_BALLOT_SCALAR:
		return "a proof scalar is not below the group order";
	case CV_E_BALLOT_PROOF:
		return "a 0/1 proof does not verify";
	case CV_E_BALLOT_SUM_PROOF:
		return "the sum proof does not verify";
	case CV_E_BAD_KEY:
		return "the voter key is not a P-256 point";
	case CV_E_BAD_SIGNATURE:
		return "the signature does not verify";
	default:
		return "the ballot could not be checked";
	}
}

/* Section 6's rule 5.2 for one ballot, bar "no earlier ballot". crypto, when not NULL,
 * is ballot_crypto's verdict computed beforehand. */
static cv_err ballot_rule(const cv_view *v, const cv_ballot *bl, uint64_t latest,
                          const verdict *crypto, char *why, size_t why_len)
{
	verdict vd;
	cv_err rc;

	if (bl->is_vote) {
		why_set(why, why_len, "%s", ballot_why(CV_E_WRONG_MODE));
		return CV_E_WRONG_MODE;
	}
	if ((rc = voter_rule(v, bl->election_id, bl->voter_key, why, why_len)) != CV_OK ||
	    (rc = time_rule(v, bl->timestamp, latest, why, why_len)) != CV_OK)
		return rc;
	vd =
	    crypto ? *crypto : ballot_crypto(v->secret->election_key, v->genesis->n_candidates, bl);
	if (vd.rc != CV_OK) {
		if (vd.pos != NO_POS)
			why_set(why, why_len, "position %u: %s", (unsigned)vd.pos,
			        ballot_why(vd.rc));
		else
			why_set(why, why_len, "%s", ballot_why(vd.rc));
	}
	return vd.rc;
}

cv_err cv_check_vote(const cv_view *v, const cv_vote *vote, uint64_t latest)
{
	return vote_rule(v, vote, latest, NULL, NULL, 0);
}

cv_err cv_check_ballot(const cv_view *v, const cv_ballot *bl, uint64_t latest, size_t *pos)
{
	verdict vd;
	cv_err rc;

	if (pos != NULL)
		*pos = SIZE_MAX;
	if (v->genesis->secrecy == NULL || v->secret == NULL)
		return CV_E_WRONG_MODE;
	if (bl->is_vote)
		return CV_E_WRONG_MODE;
	if ((rc = voter_rule(v, bl->election_id, bl->voter_key, NULL, 0)) != CV_OK ||
	    (rc = time_rule(v, bl->timestamp, latest, NULL, 0)) != CV_OK)
		return rc;
	vd = ballot_crypto(v->secret->election_key, v->genesis->n_candidates, bl);
	if (pos != NULL && vd.pos != NO_POS)
		*pos = vd.pos;
	return vd.rc;
}

/* ---- rules 1-5, one block ---- */

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
static cv_err in_block_duplicates(const key_array *keys, size_t n, size_t **out)
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
	    problem(s, ITEM_NONE, 0, CV_E_BAD_SEAL,
	            "a seal block carries %zu votes besides the seal, allowed none",
	            b->n_votes + b->n_ballots + b->n_decryptions))
		return true;
	if (memcmp(seal->election_id, v->election_id, CV_HASH_LEN) != 0 &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_SEAL,
	            "the seal's election_id %s… is not this election's",
	            short_hex(seal->election_id, hex)))
		return true;
	if (seal->closed_at < v->genesis_timestamp &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_SEAL,
	            "closed_at %llu is before the genesis timestamp %llu",
	            (unsigned long long)seal->closed_at, (unsigned long long)v->genesis_timestamp))
		return true;
	if (seal->closed_at > b->header.timestamp &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_SEAL,
	            "closed_at %llu is after the seal block's timestamp %llu",
	            (unsigned long long)seal->closed_at, (unsigned long long)b->header.timestamp))
		return true;
	if (e->closes != 0 && seal->closed_at > e->closes &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_SEAL,
	            "closed_at %llu is after the election closes at %llu",
	            (unsigned long long)seal->closed_at, (unsigned long long)e->closes))
		return true;
	if (v->open && problem(s, ITEM_NONE, 0, CV_E_SEAL_EARLY,
	                       "the election is open: the seal comes after the close"))
		return true;
	if (v->closed_at != 0 && seal->closed_at != v->closed_at &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_SEAL, "closed_at %llu is not the close at %llu",
	            (unsigned long long)seal->closed_at, (unsigned long long)v->closed_at))
		return true;
	return false;
}

/* ---- changes (docs/GOVERNANCE.md) ---- */

static int validator_cmp(const void *a, const void *b)
{
	return memcmp(((const cv_validator *)a)->key, ((const cv_validator *)b)->key, CV_KEY_LEN);
}

cv_err cv_params_init(cv_params *p, const cv_genesis *g)
{
	memset(p, 0, sizeof(*p));
	p->genesis = *g;
	p->genesis.secrecy = NULL;
	p->genesis.validators =
	    malloc((g->n_validators ? g->n_validators : 1) * sizeof(cv_validator));
	if (p->genesis.validators == NULL)
		goto nomem;
	if (g->n_validators)
		memcpy(p->genesis.validators, g->validators,
		       g->n_validators * sizeof(cv_validator));
	if (g->secrecy != NULL) {
		const cv_secrecy *sec = g->secrecy;

		p->secrecy = *sec;
		p->secrecy.trustees =
		    malloc((sec->n_trustees ? sec->n_trustees : 1) * sizeof(cv_trustee));
		if (p->secrecy.trustees == NULL)
			goto nomem;
		if (sec->n_trustees)
			memcpy(p->secrecy.trustees, sec->trustees,
			       sec->n_trustees * sizeof(cv_trustee));
		p->genesis.secrecy = &p->secrecy;
	}
	return CV_OK;
nomem:
	cv_params_free(p);
	return CV_E_NOMEM;
}

void cv_params_free(cv_params *p)
{
	if (p == NULL)
		return;
	free(p->genesis.validators);
	free(p->secrecy.trustees);
	free(p->retired);
	memset(p, 0, sizeof(*p));
}

bool cv_params_retired(const cv_params *p, const uint8_t key[CV_KEY_LEN])
{
	for (size_t i = 0; p != NULL && i < p->n_retired; i++)
		if (memcmp(p->retired[i], key, CV_KEY_LEN) == 0)
			return true;
	return false;
}

cv_err cv_params_apply(cv_params *p, const cv_change *c)
{
	cv_validator *val;
	uint8_t(*grown)[CV_KEY_LEN];

	switch (c->kind) {
	case CV_CHANGE_CLOSES:
		p->genesis.election.closes = c->closes;
		break;
	case CV_CHANGE_DIFFICULTY:
		p->genesis.election.difficulty = c->difficulty;
		break;
	case CV_CHANGE_VALIDATOR_KEY:
		if ((val = (cv_validator *)cv_genesis_validator(&p->genesis, c->old_key)) == NULL)
			return CV_E_BAD_CHANGE;
		if ((grown = realloc(p->retired, (p->n_retired + 1) * CV_KEY_LEN)) == NULL)
			return CV_E_NOMEM;
		p->retired = grown;
		memcpy(p->retired[p->n_retired++], c->old_key, CV_KEY_LEN);
		memcpy(val->key, c->new_key, CV_KEY_LEN);
		qsort(p->genesis.validators, p->genesis.n_validators, sizeof(cv_validator),
		      validator_cmp);
		/* a trustee keeps its place (x_j), commitments and share: only the key that
		 * names and signs its decryption share changes */
		for (size_t j = 0; p->genesis.secrecy != NULL && j < p->secrecy.n_trustees; j++)
			if (memcmp(p->secrecy.trustees[j].validator_key, c->old_key, CV_KEY_LEN) ==
			    0)
				memcpy(p->secrecy.trustees[j].validator_key, c->new_key,
				       CV_KEY_LEN);
		break;
	default:
		return CV_E_BAD_CHANGE;
	}
	p->n_changes++;
	return CV_OK;
}

/* The change's fields against the parameters in force (docs/GOVERNANCE.md, rule C4). */
static cv_err change_fields_rule(const cv_view *v, const cv_change *c, char *why, size_t why_len)
{
	const cv_election *e = &v->genesis->election;
	char hex[17];

	switch (c->kind) {
	case CV_CHANGE_CLOSES:
		if (c->closes == 0 || c->closes == e->closes || c->closes < v->genesis_timestamp ||
		    (e->opens != 0 && c->closes < e->opens)) {
			why_set(why, why_len,
			        "closes %llu is 0, the closes in force, or before the genesis or "
			        "opens",
			        (unsigned long long)c->closes);
			return CV_E_BAD_CHANGE;
		}
		if ((e->closes == 0 || c->closes < e->closes) && c->closes < v->last_vote_time) {
			why_set(why, why_len, "closes %llu is before a committed vote stamped %llu",
			        (unsigned long long)c->closes,
			        (unsigned long long)v->last_vote_time);
			return CV_E_CHANGE_CLOSES;
		}
		return CV_OK;
	case CV_CHANGE_VALIDATOR_KEY:
		if (cv_genesis_validator(v->genesis, c->old_key) == NULL) {
			why_set(why, why_len, "old_key %s… is not a validator in force",
			        short_hex(c->old_key, hex));
			return CV_E_BAD_CHANGE;
		}
		if (cv_pubkey_check(c->new_key) != CV_OK) {
			why_set(why, why_len, "new_key %s… is not a P-256 point",
			        short_hex(c->new_key, hex));
			return CV_E_BAD_CHANGE;
		}
		if (cv_genesis_validator(v->genesis, c->new_key) != NULL ||
		    cv_params_retired(v->params, c->new_key)) {
			why_set(why, why_len, "new_key %s… is or was a validator",
			        short_hex(c->new_key, hex));
			return CV_E_BAD_CHANGE;
		}
		return CV_OK;
	case CV_CHANGE_DIFFICULTY:
		if (c->difficulty == e->difficulty) {
			why_set(why, why_len, "difficulty %u is the one in force",
			        (unsigned)c->difficulty);
			return CV_E_BAD_CHANGE;
		}
		return CV_OK;
	default:
		why_set(why, why_len, "kind %u is not a change", (unsigned)c->kind);
		return CV_E_BAD_CHANGE;
	}
}

cv_err cv_check_change(const cv_view *v, uint64_t height, const cv_change *c, bool complete,
                       size_t *bad, char *why, size_t why_len)
{
	const cv_election *e = &v->genesis->election;
	cv_buf msg = {0};
	char hex[17];
	cv_err rc;

	if (bad != NULL)
		*bad = NO_INDEX;
	if (memcmp(c->election_id, v->election_id, CV_HASH_LEN) != 0) {
		why_set(why, why_len, "election_id %s… is not this election's",
		        short_hex(c->election_id, hex));
		return CV_E_BAD_CHANGE;
	}
	if (c->effective_height != height + 1) {
		uint64_t next = height + 1;

		why_set(why, why_len, "effective_height %llu is not %llu, the next height",
		        (unsigned long long)c->effective_height, (unsigned long long)next);
		return CV_E_BAD_CHANGE;
	}
	if ((rc = change_fields_rule(v, c, why, why_len)) != CV_OK)
		return rc;
	if (complete && c->n_signatures < e->threshold) {
		why_set(why, why_len, "%zu signatures, threshold %u", c->n_signatures,
		        (unsigned)e->threshold);
		return CV_E_CHANGE_SIGNATURES;
	}
	if ((rc = cv_change_message(c, &msg)) != CV_OK) {
		why_set(why, why_len, "the change could not be encoded");
		return rc;
	}
	for (size_t i = 0; i < c->n_signatures; i++) {
		const cv_approval *a = &c->signatures[i];

		if (bad != NULL)
			*bad = i;
		if (i > 0 &&
		    memcmp(c->signatures[i - 1].validator_key, a->validator_key, CV_KEY_LEN) >= 0) {
			why_set(why, why_len,
			        "signature %zu is not after signature %zu in ascending key order",
			        i, i - 1);
			rc = CV_E_CHANGE_SIGNATURES;
			break;
		}
		if (cv_genesis_validator(v->genesis, a->validator_key) == NULL) {
			why_set(why, why_len, "signature %zu: %s… is not a validator in force", i,
			        short_hex(a->validator_key, hex));
			rc = CV_E_CHANGE_SIGNATURES;
			break;
		}
		if (cv_verify(a->validator_key, msg.data, msg.len, a->signature) != CV_OK) {
			why_set(why, why_len, "signature %zu: the signature of %s… does not verify",
			        i, short_hex(a->validator_key, hex));
			rc = CV_E_BAD_SIGNATURE;
			break;
		}
	}
	if (rc == CV_OK && bad != NULL)
		*bad = NO_INDEX;
	cv_buf_free(&msg);
	return rc;
}

/* The shape of a change block, before its merkle root (rule C1, C2): where changes are
 * judged, the election's mode, not after the seal, the change leaf alone. True when the
 * caller must stop checking. */
static bool change_block_rules(const cv_view *v, const cv_block *b, sink *s)
{
	size_t others = b->n_votes + b->n_ballots + b->n_decryptions;

	if (v->params == NULL)
		return problem(s, ITEM_NONE, 0, CV_E_BAD_STATE,
		               "changes of the parameters are not judged here");
	if ((v->genesis->secrecy != NULL) != b->secret)
		return problem(s, ITEM_NONE, 0, CV_E_WRONG_MODE,
		               "a change block of the other mode (secret or open)");
	if (v->sealed &&
	    problem(s, ITEM_NONE, 0, CV_E_SEALED, "a change after the seal: the election is final"))
		return true;
	if ((others != 0 || b->has_seal) &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_CHANGE,
	            "a change block carries %zu other leaves%s, allowed none", others,
	            b->has_seal ? " and a seal" : ""))
		return true;
	return false;
}

/* The block-level rules of a secret election (DESIGN section 6, "Validity of block
 * h >= 1 in a secret election"), before the seal's and the merkle root: the mode, one
 * kind of leaf per block, the leaf count, and where ballots and shares may stand
 * relative to the seal. True when the caller must stop checking. */
static bool secret_block_rules(const cv_view *v, const cv_block *b, sink *s)
{
	const cv_election *e = &v->genesis->election;
	size_t leaves = b->n_votes + b->n_ballots + b->n_decryptions;

	if (v->genesis->secrecy == NULL)
		return problem(s, ITEM_NONE, 0, CV_E_WRONG_MODE,
		               "a secret election's block (ballots, decryptions) in an open "
		               "election");
	if (!b->secret)
		return problem(s, ITEM_NONE, 0, CV_E_WRONG_MODE,
		               "an open election's block (votes, no decryptions) in a secret "
		               "election");
	if (v->secret == NULL)
		return problem(s, ITEM_NONE, 0, CV_E_BAD_STATE,
		               "secret elections' blocks are judged by the verifier only");
	if (b->has_seal) {
		if (v->sealed && problem(s, ITEM_NONE, 0, CV_E_SEALED,
		                         "a second seal: the chain is sealed before this block"))
			return true;
		return false; /* the seal's own rules: no other leaf beside it */
	}
	if (b->n_ballots != 0 && b->n_decryptions != 0 &&
	    problem(s, ITEM_NONE, 0, CV_E_MIXED_BLOCK,
	            "%zu ballots and %zu decryption shares in one block", b->n_ballots,
	            b->n_decryptions))
		return true;
	if ((leaves == 0 || leaves > e->max_block_votes) &&
	    problem(s, ITEM_NONE, 0, CV_E_VOTE_COUNT, "%zu leaves, allowed 1 to %u", leaves,
	            (unsigned)e->max_block_votes))
		return true;
	if (b->n_ballots != 0 && v->sealed &&
	    problem(s, ITEM_NONE, 0, CV_E_BALLOT_AFTER_SEAL,
	            "%zu ballots after the seal at height %llu", b->n_ballots,
	            (unsigned long long)v->secret->seal_height))
		return true;
	if (b->n_decryptions != 0 && !v->sealed &&
	    problem(s, ITEM_NONE, 0, CV_E_DECRYPTION_BEFORE_SEAL,
	            "%zu decryption shares before the seal", b->n_decryptions))
		return true;
	return false;
}

static const char *share_why(cv_err rc)
{
	switch (rc) {
	case CV_E_BALLOT_COUNT:
		return "the number of shares is not the number of candidates";
	case CV_E_BALLOT_POINT:
		return "a share is not a P-256 point";
	case CV_E_BALLOT_SCALAR:
		return "a proof scalar is not below the group order";
	case CV_E_DECRYPTION_PROOF:
		return "a Chaum-Pedersen proof does not verify";
	case CV_E_BAD_SIGNATURE:
		return "the signature does not verify";
	default:
		return "the share could not be checked";
	}
}

/* The index of the trustee whose validator key is key, or sec->n_trustees. */
static size_t trustee_of(const cv_secrecy *sec, const uint8_t key[CV_KEY_LEN])
{
	size_t j;

	for (j = 0; j < sec->n_trustees; j++)
		if (memcmp(sec->trustees[j].validator_key, key, CV_KEY_LEN) == 0)
			break;
	return j;
}

/* The crypto of one decryption share (section 6, rule 5.3's k, points, scalars, proofs
 * and signature) against its trustee's K_j and the α_i of sv: what the verifier's
 * workers compute once the seal fixed α. */
static verdict share_crypto(const cv_secrecy *sec, const cv_secret_view *sv, size_t k,
                            const cv_decryption *d)
{
	size_t j = trustee_of(sec, d->validator_key), pos = SIZE_MAX;
	cv_err rc;

	if (j == sec->n_trustees)
		return verdict_of(CV_E_DECRYPTION_NOT_TRUSTEE, SIZE_MAX);
	rc = cv_decryption_verify(d, sv->trustee_keys[j], (const uint8_t(*)[CV_POINT_LEN])sv->alpha,
	                          k, &pos);
	if (rc == CV_E_INTERNAL)
		rc = CV_E_DECRYPTION_PROOF; /* K_j or an α_i is O: no proof can hold */
	return verdict_of(rc, pos);
}

/* Section 6's rule 5.3 for one decryption share, the chain-wide duplicate included.
 * crypto, when not NULL, is share_crypto's verdict computed beforehand. */
static cv_err share_rule(const cv_view *v, const cv_decryption *d, const verdict *crypto, char *why,
                         size_t why_len)
{
	const cv_secrecy *sec = v->genesis->secrecy;
	cv_secret_view *sv = v->secret;
	verdict vd;
	size_t j;
	char hex[17];

	assert(sec != NULL && sv != NULL); /* only a secret election's blocks get here */

	if (memcmp(d->election_id, v->election_id, CV_HASH_LEN) != 0) {
		why_set(why, why_len, "election_id %s… is not this election's",
		        short_hex(d->election_id, hex));
		return CV_E_WRONG_ELECTION;
	}
	if ((j = trustee_of(sec, d->validator_key)) == sec->n_trustees) {
		why_set(why, why_len, "%s… is not a trustee", short_hex(d->validator_key, hex));
		return CV_E_DECRYPTION_NOT_TRUSTEE;
	}
	if (sv->share_of[j] != NULL) {
		why_set(why, why_len, "trustee %zu has a share in the chain already", j + 1);
		return CV_E_DECRYPTION_DUPLICATE;
	}
	if (sv->seal_height < 2 || d->through_height != sv->seal_height - 1) {
		why_set(why, why_len,
		        "through_height %llu is not %llu, the last block before the seal",
		        (unsigned long long)d->through_height,
		        (unsigned long long)(sv->seal_height ? sv->seal_height - 1 : 0));
		return CV_E_DECRYPTION_THROUGH_HEIGHT;
	}
	/* The workers find a share's trustee by its genesis key; a trustee whose key a change
	 * replaced (sec holds the keys in force) is checked here, against the same K_j. */
	vd = crypto && crypto->rc != CV_E_DECRYPTION_NOT_TRUSTEE
	         ? *crypto
	         : share_crypto(sec, sv, v->genesis->n_candidates, d);
	if (vd.rc != CV_OK) {
		if (vd.pos != NO_POS)
			why_set(why, why_len, "position %u: %s", (unsigned)vd.pos,
			        share_why(vd.rc));
		else
			why_set(why, why_len, "%s", share_why(vd.rc));
		return vd.rc;
	}
	sv->share_of[j] = d;
	return CV_OK;
}

cv_err cv_check_decryption(const cv_view *v, const cv_decryption *d)
{
	if (v->genesis->secrecy == NULL || v->secret == NULL)
		return CV_E_WRONG_MODE;
	if (!v->sealed)
		return CV_E_DECRYPTION_BEFORE_SEAL;
	return share_rule(v, d, NULL, NULL, 0);
}

/* The leaves of a secret block: every ballot (rule 5.2, with "no earlier ballot" through
 * ec as for votes) and every decryption share (rule 5.3). crypto, when not NULL, holds
 * the items' verdicts in the block's order: its ballots, then its shares. */
static void secret_items(const cv_view *v, const cv_block *b, const verdict *crypto,
                         const earlier_check *ec, sink *s)
{
	key_array keys = {b->ballots ? b->ballots->voter_key : NULL, sizeof(cv_ballot)};
	char hex[17], why[DETAIL_MAX];
	size_t *dup_of = NULL;
	uint64_t at;
	cv_err rc;
	int r;

	assert(b->n_ballots == 0 || b->ballots != NULL);
	if ((rc = in_block_duplicates(&keys, b->n_ballots, &dup_of)) != CV_OK) {
		problem(s, ITEM_NONE, 0, rc, "out of memory");
		return;
	}
	for (size_t i = 0; i < b->n_ballots; i++) {
		const cv_ballot *bl = &b->ballots[i];

		rc = ballot_rule(v, bl, b->header.timestamp, crypto ? &crypto[i] : NULL, why,
		                 sizeof(why));
		if (rc != CV_OK) {
			if (problem(s, ITEM_VOTE, i, rc, "%s", why))
				goto out;
			continue;
		}
		if (dup_of[i] != NO_INDEX) {
			if (problem(s, ITEM_VOTE, i, CV_E_DOUBLE_VOTE,
			            "voter %s… has a ballot already in this block (ballot %zu)",
			            short_hex(bl->voter_key, hex), dup_of[i]))
				goto out;
			continue;
		}
		at = UINT64_MAX;
		r = ec->fn(ec->ctx, i, bl->voter_key, &at);
		if (r < 0 &&
		    problem(s, ITEM_VOTE, i, (cv_err)-r, "earlier ballots could not be read"))
			goto out;
		if (r > 0 && problem(s, ITEM_VOTE, i, CV_E_DOUBLE_VOTE,
		                     "voter %s… has a ballot already at height %llu",
		                     short_hex(bl->voter_key, hex), (unsigned long long)at))
			goto out;
	}
	/* an open election's view has no trustees: its shares are refused by mode alone */
	for (size_t i = 0; v->secret != NULL && i < b->n_decryptions; i++) {
		rc = share_rule(v, &b->decryptions[i], crypto ? &crypto[b->n_ballots + i] : NULL,
		                why, sizeof(why));
		if (rc != CV_OK && problem(s, ITEM_NONE, i, rc, "decryption %zu: %s", i, why))
			goto out;
	}
out:
	free(dup_of);
}

static void block_rules(const cv_view *v, const cv_header *prev,
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
	    problem(s, ITEM_NONE, 0, CV_E_BAD_VERSION, "version %u is not %d", (unsigned)h->version,
	            CV_VERSION))
		return;
	if ((h->height != prev->height + 1 || b->genesis != NULL) &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_HEIGHT, "height %llu does not follow %llu",
	            (unsigned long long)h->height, (unsigned long long)prev->height))
		return;
	if (memcmp(h->prev_hash, prev_hash, CV_HASH_LEN) != 0 &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_PREV, "prev_hash %s… is not the previous block's %s…",
	            short_hex(h->prev_hash, hex), short_hex(prev_hash, hex2)))
		return;
	if (h->difficulty != e->difficulty &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_DIFFICULTY,
	            "difficulty %u is not the election's %u in force", (unsigned)h->difficulty,
	            (unsigned)e->difficulty))
		return;
	cv_header_hash(h, hash);
	if (!cv_pow_ok(hash, h->difficulty) &&
	    problem(s, ITEM_NONE, 0, CV_E_WEAK_POW, "hash %s… has %u leading zero bits, not %u",
	            short_hex(hash, hex), cv_leading_zero_bits(hash), (unsigned)h->difficulty))
		return;
	if (memcmp(hash, b->hash, CV_HASH_LEN) != 0 &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_HASH, "stated hash %s… is not the header's %s…",
	            short_hex(b->hash, hex), short_hex(hash, hex2)))
		return;
	if (h->timestamp < prev->timestamp &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_TIMESTAMP,
	            "timestamp %llu is before the previous block's %llu",
	            (unsigned long long)h->timestamp, (unsigned long long)prev->timestamp))
		return;
	if (now != 0 && h->timestamp > now && h->timestamp - now > CV_FUTURE_SLACK &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_TIMESTAMP, "timestamp %llu is more than %d s ahead",
	            (unsigned long long)h->timestamp, CV_FUTURE_SLACK))
		return;
	if (b->change != NULL) {
		if (change_block_rules(v, b, s))
			return;
	} else if (v->genesis->secrecy != NULL || b->secret) {
		if (secret_block_rules(v, b, s))
			return;
	} else if (v->sealed && problem(s, ITEM_NONE, 0, CV_E_SEALED,
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
	           problem(s, ITEM_NONE, 0, CV_E_VOTE_COUNT, "%zu votes, allowed 1 to %u",
	                   b->n_votes, (unsigned)e->max_block_votes)) {
		return;
	}
	rc = cv_block_merkle_root(b, root);
	if (rc != CV_OK) {
		problem(s, ITEM_NONE, 0, rc, "the merkle root could not be computed");
		return;
	}
	if (memcmp(root, h->merkle_root, CV_HASH_LEN) != 0 &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_MERKLE, "merkle_root %s… is not the leaves' %s…",
	            short_hex(h->merkle_root, hex), short_hex(root, hex2)))
		return;

	if (b->change != NULL) {
		rc = cv_check_change(v, h->height, b->change, true, NULL, why, sizeof(why));
		if (rc != CV_OK)
			problem(s, ITEM_NONE, 0, rc, "the change: %s", why);
		return;
	}
	if (b->secret) {
		secret_items(v, b, sigs ? sigs + b->n_votes : NULL, ec, s);
		return;
	}
	assert(b->n_votes == 0 || b->votes != NULL);
	if ((rc = in_block_duplicates(&vote_keys, b->n_votes, &dup_of)) != CV_OK) {
		problem(s, ITEM_NONE, 0, rc, "out of memory");
		return;
	}
	for (size_t i = 0; i < b->n_votes; i++) {
		const cv_vote *vote = &b->votes[i];

		rc = vote_rule(v, vote, h->timestamp, sigs ? &sigs[i] : NULL, why, sizeof(why));
		if (rc != CV_OK) {
			if (problem(s, ITEM_VOTE, i, rc, "%s", why))
				break;
			continue;
		}
		if (dup_of[i] != NO_INDEX) {
			if (problem(s, ITEM_VOTE, i, CV_E_DOUBLE_VOTE,
			            "voter %s… voted already in this block (vote %zu)",
			            short_hex(vote->voter_key, hex), dup_of[i]))
				break;
			continue;
		}
		at = UINT64_MAX;
		r = ec->fn(ec->ctx, i, vote->voter_key, &at);
		if (r < 0 &&
		    problem(s, ITEM_VOTE, i, (cv_err)-r, "earlier votes could not be read"))
			break;
		if (r > 0) {
			if (at == UINT64_MAX)
				snprintf(why, sizeof(why), "in an earlier block");
			else
				snprintf(why, sizeof(why), "at height %llu",
				         (unsigned long long)at);
			if (problem(s, ITEM_VOTE, i, CV_E_DOUBLE_VOTE, "voter %s… voted already %s",
			            short_hex(vote->voter_key, hex), why))
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

	block_rules(v, prev, prev_hash, b, now, NULL, &ec, &s);
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
	block_rules(v, prev, prev_hash, b, now, NULL, &ec, &s);
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
static void approval_rules(const cv_genesis *g, const cv_params *params,
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
		problem(s, ITEM_NONE, 0, CV_E_NOMEM, "out of memory");
		return;
	}
	cv_approval_message(block_hash, msg);
	for (size_t i = 0; i < n; i++) {
		if (cv_genesis_validator(g, a[i].validator_key) != NULL &&
		    seen[cv_genesis_validator(g, a[i].validator_key) - g->validators]) {
			if (problem(s, ITEM_APPROVAL, i, CV_E_DUPLICATE_APPROVAL,
			            "validator %s… approved already",
			            short_hex(a[i].validator_key, hex)))
				goto out;
			continue;
		}
		rc = verdict_rule(g, &a[i], msg, sizeof(msg), &who);
		if (who != NULL)
			seen[who - g->validators] = true;
		if (rc == CV_E_NOT_VALIDATOR &&
		    problem(s, ITEM_APPROVAL, i, rc,
		            cv_params_retired(params, a[i].validator_key)
		                ? "%s… was replaced by a change: no validator at this height"
		                : "%s… is not a validator of this election",
		            short_hex(a[i].validator_key, hex)))
			goto out;
		if (rc == CV_E_BAD_SIGNATURE &&
		    problem(s, ITEM_APPROVAL, i, rc, "the signature of %s… does not verify",
		            short_hex(a[i].validator_key, hex)))
			goto out;
		if (rc == CV_OK)
			valid++;
	}
	if (valid < g->election.threshold)
		problem(s, ITEM_NONE, 0, CV_E_TOO_FEW_APPROVALS,
		        "%zu valid approvals, threshold %u", valid,
		        (unsigned)g->election.threshold);
out:
	free(seen);
}

cv_err cv_check_approvals(const cv_genesis *g, const uint8_t block_hash[CV_HASH_LEN],
                          const cv_approval *a, size_t n, size_t *bad)
{
	sink s = {.first = CV_OK, .first_index = NO_INDEX};

	approval_rules(g, NULL, block_hash, a, n, &s);
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

/* The election key K of a secret genesis as the verifier uses it: CV_POINT_O when the
 * setup hash cannot be computed or the commitments give none (secrecy_rules says why). */
static void election_key(const cv_genesis *g, uint8_t K[CV_POINT_LEN])
{
	uint8_t setup[CV_HASH_LEN];

	if (cv_setup_hash(g, setup) != CV_OK || cv_election_key(g->secrecy, K) != CV_OK)
		memcpy(K, CV_POINT_O, CV_POINT_LEN);
}

/* The genesis rules of a secret election (DESIGN section 6, "Genesis entries"): quorum
 * and trustee count, trustees distinct validators in ascending key order, each entry's
 * quorum, setup_hash, proofs and signature, and K != O. True when a problem stopped the
 * check. */
static bool secrecy_rules(const cv_genesis *g, sink *s)
{
	const cv_secrecy *sec = g->secrecy;
	uint8_t setup[CV_HASH_LEN], key[CV_POINT_LEN];
	char hex[17];
	cv_err rc;

	if ((sec->quorum < 2 || sec->quorum > sec->n_trustees ||
	     sec->n_trustees > g->n_validators) &&
	    problem(s, ITEM_NONE, 0, CV_E_SECRECY_PARAMS,
	            "quorum %u and %zu trustees break 2 <= quorum <= trustees <= %zu validators",
	            (unsigned)sec->quorum, sec->n_trustees, g->n_validators))
		return true;
	if ((rc = cv_setup_hash(g, setup)) != CV_OK) {
		problem(s, ITEM_NONE, 0, rc, "the setup hash could not be computed");
		return true;
	}
	for (size_t j = 0; j < sec->n_trustees; j++) {
		const cv_trustee *t = &sec->trustees[j];

		if (t->n_coeffs != sec->quorum &&
		    problem(s, ITEM_NONE, 0, CV_E_SECRECY_PARAMS,
		            "trustee %zu has %zu commitments, the quorum is %u", j + 1, t->n_coeffs,
		            (unsigned)sec->quorum))
			return true;
		if (cv_genesis_validator(g, t->validator_key) == NULL &&
		    problem(s, ITEM_NONE, 0, CV_E_TRUSTEE_NOT_VALIDATOR,
		            "trustee %zu (%s…) is not a validator", j + 1,
		            short_hex(t->validator_key, hex)))
			return true;
		if (j > 0 &&
		    memcmp(sec->trustees[j - 1].validator_key, t->validator_key, CV_KEY_LEN) >= 0 &&
		    problem(s, ITEM_NONE, 0, CV_E_SECRECY_PARAMS,
		            "trustee %zu is not after trustee %zu in ascending key order", j + 1,
		            j))
			return true;
		if (memcmp(t->setup_hash, setup, CV_HASH_LEN) != 0 &&
		    problem(s, ITEM_NONE, 0, CV_E_TRUSTEE_SETUP_HASH,
		            "trustee %zu's setup_hash %s… is not this election's", j + 1,
		            short_hex(t->setup_hash, hex)))
			return true;
		rc = cv_trustee_verify(t);
		if (rc != CV_OK &&
		    problem(s, ITEM_NONE, 0, rc, "trustee %zu: %s", j + 1,
		            rc == CV_E_TRUSTEE_SIGNATURE ? "the entry's signature does not verify"
		            : rc == CV_E_TRUSTEE_PROOF   ? "a commitment or its proof is invalid"
		                                         : "the entry could not be checked"))
			return true;
	}
	if (cv_election_key(sec, key) != CV_OK) {
		problem(s, ITEM_NONE, 0, CV_E_SECRECY_PARAMS, "the election key K is the identity");
		return true;
	}
	return false;
}

/* *order (may be NULL) receives cv_genesis_check's verdict, so the verifier knows
 * whether the stated genesis can serve binary searches as it is. */
static void genesis_rules(const cv_block *b, sink *s, cv_err *order)
{
	const cv_header *h = &b->header;
	static const uint8_t zero[CV_HASH_LEN];
	uint8_t root[CV_HASH_LEN], hash[CV_HASH_LEN];
	char hex[17], hex2[17];
	cv_err rc;

	if (b->genesis == NULL) {
		problem(s, ITEM_NONE, 0, CV_E_BAD_GENESIS,
		        "the first block is not a genesis block");
		return;
	}
	if (h->version != CV_VERSION &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_VERSION, "version %u is not %d", (unsigned)h->version,
	            CV_VERSION))
		return;
	if (h->height != 0 &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_HEIGHT, "genesis height %llu is not 0",
	            (unsigned long long)h->height))
		return;
	if (memcmp(h->prev_hash, zero, CV_HASH_LEN) != 0 &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_PREV, "genesis prev_hash is not zero"))
		return;
	if (h->difficulty != 0 &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_DIFFICULTY, "genesis difficulty %u is not 0",
	            (unsigned)h->difficulty))
		return;
	if (h->nonce != 0 && problem(s, ITEM_NONE, 0, CV_E_BAD_GENESIS,
	                             "genesis nonce %llu is not 0", (unsigned long long)h->nonce))
		return;
	rc = cv_genesis_check(b->genesis);
	if (order != NULL)
		*order = rc;
	if (rc != CV_OK && problem(s, ITEM_NONE, 0, rc, "%s", genesis_why(rc)))
		return;
	if (b->genesis->secrecy != NULL && secrecy_rules(b->genesis, s))
		return;
	if ((rc = cv_genesis_merkle_root(b->genesis, root)) != CV_OK) {
		problem(s, ITEM_NONE, 0, rc, "the genesis merkle root could not be computed");
		return;
	}
	if (memcmp(root, h->merkle_root, CV_HASH_LEN) != 0 &&
	    problem(s, ITEM_NONE, 0, CV_E_BAD_MERKLE, "merkle_root %s… is not the entries' %s…",
	            short_hex(h->merkle_root, hex), short_hex(root, hex2)))
		return;
	cv_header_hash(h, hash);
	if (memcmp(hash, b->hash, CV_HASH_LEN) != 0)
		problem(s, ITEM_NONE, 0, CV_E_BAD_HASH, "stated hash %s… is not the header's %s…",
		        short_hex(b->hash, hex), short_hex(hash, hex2));
}

cv_err cv_check_genesis(const cv_block *b)
{
	sink s = {.first = CV_OK, .first_index = NO_INDEX};

	genesis_rules(b, &s, NULL);
	return s.first;
}

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

/* α (and β) of the ballots in blocks 1 .. seal_height - 1 (the whole chain when
 * seal_height is 0), from CV_POINT_O. */
static cv_err aggregates(const cv_chain *c, size_t k, uint64_t seal_height,
                         uint8_t (*alpha)[CV_POINT_LEN], uint8_t (*beta)[CV_POINT_LEN])
{
	uint8_t(*a)[CV_POINT_LEN] = alpha, (*b)[CV_POINT_LEN] = beta;
	cv_err rc = CV_OK;

	if (a == NULL)
		a = calloc(k ? k : 1, CV_POINT_LEN);
	if (b == NULL)
		b = calloc(k ? k : 1, CV_POINT_LEN);
	if (a == NULL || b == NULL) {
		rc = CV_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < k; i++) {
		memcpy(a[i], CV_POINT_O, CV_POINT_LEN);
		memcpy(b[i], CV_POINT_O, CV_POINT_LEN);
	}
	for (size_t h = 1; h < c->n_blocks && (seal_height == 0 || h < seal_height); h++)
		for (size_t j = 0; j < c->blocks[h].n_ballots; j++) {
			const cv_ballot *bl = &c->blocks[h].ballots[j];

			if (!bl->is_vote && bl->k == k &&
			    cv_aggregate_add(bl, a, b) == CV_E_NOMEM) {
				rc = CV_E_NOMEM;
				goto out;
			}
		}
out:
	if (a != alpha)
		free(a);
	if (b != beta)
		free(b);
	return rc;
}

/* What a secret genesis fixes for the crypto of every item after it: K and every K_j
 * (CV_POINT_O where not derivable), and α at CV_POINT_O for each candidate until the
 * first seal fixes it. The streamed verifier (block_arrived) and the view of a chain's
 * next block (cv_chain_next_view) both start from it. */
static cv_err secret_view_init(const cv_genesis *g, cv_secret_view *sv)
{
	const cv_secrecy *sec = g->secrecy;
	size_t k = g->n_candidates;

	election_key(g, sv->election_key);
	sv->n_trustees = sec->n_trustees;
	sv->trustee_keys = calloc(sec->n_trustees ? sec->n_trustees : 1, CV_POINT_LEN);
	sv->alpha = calloc(k ? k : 1, CV_POINT_LEN);
	if (sv->trustee_keys == NULL || sv->alpha == NULL)
		return CV_E_NOMEM;
	for (size_t i = 0; i < k; i++)
		memcpy(sv->alpha[i], CV_POINT_O, CV_POINT_LEN);
	for (size_t j = 0; j < sec->n_trustees; j++)
		if (memcmp(sv->election_key, CV_POINT_O, CV_POINT_LEN) == 0 ||
		    cv_trustee_key(sec, j + 1, sv->trustee_keys[j]) != CV_OK)
			memcpy(sv->trustee_keys[j], CV_POINT_O, CV_POINT_LEN);
	return CV_OK;
}

static void secret_view_free(cv_secret_view *sv)
{
	free(sv->trustee_keys);
	free(sv->share_of);
	free(sv->alpha);
	memset(sv, 0, sizeof(*sv));
}

void cv_secret_view_free(cv_secret_view *sv)
{
	if (sv != NULL)
		secret_view_free(sv);
}

cv_err cv_chain_next_view(const cv_chain *c, cv_view *v, cv_secret_view *sv)
{
	const cv_genesis *g;
	cv_err rc = CV_OK;

	memset(v, 0, sizeof(*v));
	memset(sv, 0, sizeof(*sv));
	if (c->n_blocks == 0 || (g = c->blocks[0].genesis) == NULL)
		return CV_E_BAD_GENESIS;
	v->genesis = g;
	memcpy(v->election_id, c->blocks[0].hash, CV_HASH_LEN);
	v->genesis_timestamp = c->blocks[0].header.timestamp;
	for (size_t i = 1; i < c->n_blocks && !v->sealed; i++)
		if (c->blocks[i].has_seal) {
			v->sealed = true;
			v->closed_at = c->blocks[i].seal.closed_at;
			sv->seal_height = i;
		}
	if (g->secrecy == NULL)
		return CV_OK;
	/* an array of pointers, one per trustee */
	if ((rc = secret_view_init(g, sv)) != CV_OK ||
	    (sv->share_of = calloc(sv->n_trustees ? sv->n_trustees : 1, sizeof(void *))) == NULL ||
	    (rc = aggregates(c, g->n_candidates, sv->seal_height, sv->alpha, NULL)) != CV_OK) {
		secret_view_free(sv);
		return rc != CV_OK ? rc : CV_E_NOMEM;
	}
	/* the shares already in the chain: a second one of a trustee is a duplicate */
	for (size_t i = 1; i < c->n_blocks; i++)
		for (size_t j = 0; j < c->blocks[i].n_decryptions; j++)
			for (size_t t = 0; t < g->secrecy->n_trustees; t++)
				if (memcmp(g->secrecy->trustees[t].validator_key,
				           c->blocks[i].decryptions[j].validator_key,
				           CV_KEY_LEN) == 0 &&
				    sv->share_of[t] == NULL)
					sv->share_of[t] = &c->blocks[i].decryptions[j];
	v->secret = sv;
	return CV_OK;
}

/* The secret tally (DESIGN section 6, "Tally"): the trustees with valid shares, and the
 * counts once quorum of them are committed, from the first quorum in trustee order. */
static void secret_tally(const cv_chain *c, const cv_genesis *g, const cv_secret_view *sv,
                         bool sealed, sink *s, cv_tally *t)
{
	const cv_secrecy *sec = g->secrecy;
	size_t k = g->n_candidates, q = 0, n = 0;
	uint8_t(*beta)[CV_POINT_LEN] = NULL;
	const cv_share **D = NULL;
	uint64_t *xs = NULL;
	cv_err rc;

	t->secret = true;
	t->sealed = sealed;
	t->pending = true;
	t->total = 0;
	t->share_trustees = calloc(sec->n_trustees ? sec->n_trustees : 1, sizeof(size_t));
	xs = calloc(sec->n_trustees ? sec->n_trustees : 1, sizeof(*xs));
	D = calloc(sec->n_trustees ? sec->n_trustees : 1, sizeof(void *)); /* pointers */
	beta = calloc(k ? k : 1, CV_POINT_LEN);
	if (t->share_trustees == NULL || xs == NULL || D == NULL || beta == NULL) {
		problem(s, ITEM_NONE, 0, CV_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t j = 0; j < sec->n_trustees; j++)
		if (sv->share_of[j] != NULL) {
			t->share_trustees[t->n_share_trustees++] = j;
			if (q < sec->quorum) {
				xs[q] = j + 1;
				D[q++] = sv->share_of[j]->shares;
			}
		}
	/* with no ballot there is nothing to decrypt: every count is 0 */
	for (size_t h = 1; h < c->n_blocks && (sv->seal_height == 0 || h < sv->seal_height); h++)
		n += c->blocks[h].n_ballots;
	if (sealed && n == 0) {
		t->pending = false;
		goto out;
	}
	if (q < sec->quorum || q < 2)
		goto out;
	if ((rc = aggregates(c, k, sv->seal_height, NULL, beta)) != CV_OK ||
	    (rc = cv_tally_decrypt(xs, D, q, (const uint8_t(*)[CV_POINT_LEN])beta, k, n,
	                           t->votes)) != CV_OK) {
		problem(s, ITEM_NONE, 0, rc,
		        "the shares of trustees %llu and %llu decrypt to no count",
		        (unsigned long long)xs[0], (unsigned long long)xs[1]);
		memset(t->votes, 0, k * sizeof(*t->votes));
		goto out;
	}
	t->pending = false;
	for (size_t i = 0; i < k; i++)
		t->total += t->votes[i];
out:
	free(xs);
	free(D);
	free(beta);
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
		return verdict_of(vote_signature(&b->votes[i]), SIZE_MAX);
	i -= b->n_votes;
	if (i < b->n_ballots)
		return v->secret && !b->ballots[i].is_vote
		           ? ballot_crypto(v->sv.election_key, v->k, &b->ballots[i])
		           : verdict_of(CV_E_WRONG_MODE, SIZE_MAX);
	i -= b->n_ballots;
	if (after_seal)
		return share_crypto(v->genesis->secrecy, &v->sv, v->k, &b->decryptions[i]);
	return verdict_of(CV_E_INTERNAL, SIZE_MAX); /* not checked yet */
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
		if ((rc = secret_view_init(b->genesis, &v->sv)) != CV_OK)
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
	return v->secret ? aggregates(&v->chain, v->k, h, v->sv.alpha, NULL) : CV_OK;
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
			bv->of[b->n_votes + b->n_ballots + i] =
			    share_crypto(v->genesis->secrecy, &v->sv, v->k, &b->decryptions[i]);
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
		problem(&s, ITEM_NONE, 0, CV_E_MALFORMED, "the chain has no blocks");
		return s.n;
	}
	s.height = 0;
	genesis_rules(&c->blocks[0], &s, &order);
	if (c->blocks[0].genesis == NULL)
		return s.n;
	s.height = -1;
	g = c->blocks[0].genesis;
	/* lookups are binary searches: a genesis out of order (reported above) is looked
	 * up in a sorted copy, so that the blocks after it can still be judged */
	if (order == CV_E_BAD_GENESIS) {
		if ((rc = genesis_sorted_copy(g, &sorted)) != CV_OK) {
			problem(&s, ITEM_NONE, 0, rc, "out of memory");
			return s.n;
		}
		g = &sorted;
	}
	/* every block is judged by the parameters in force at its height: the genesis's,
	 * then each committed change's from its effective height */
	if ((rc = cv_params_init(&params, g)) != CV_OK) {
		problem(&s, ITEM_NONE, 0, rc, "out of memory");
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
			problem(&s, ITEM_NONE, 0, CV_E_NOMEM, "out of memory");
			goto out;
		}
		view.secret = &v->sv;
	}

	if (tally != NULL) {
		tally->n = g->n_candidates;
		tally->ids = calloc(tally->n ? tally->n : 1, sizeof(*tally->ids));
		tally->votes = calloc(tally->n ? tally->n : 1, sizeof(*tally->votes));
		if (tally->ids == NULL || tally->votes == NULL) {
			problem(&s, ITEM_NONE, 0, CV_E_NOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < tally->n; i++)
			tally->ids[i] = g->candidates[i].id;
	}

	for (size_t i = 1; i < c->n_blocks; i++)
		n_votes += c->blocks[i].n_votes + c->blocks[i].n_ballots;
	if ((rc = voted_index_build(c, n_votes, &vi)) != CV_OK) {
		problem(&s, ITEM_NONE, 0, rc, "out of memory");
		goto out;
	}

	for (size_t i = 1; i < c->n_blocks; i++) {
		const cv_block *b = &c->blocks[i], *prev = &c->blocks[i - 1];
		size_t before = s.n;

		s.height = (int64_t)i;
		vi.block_base = base;
		/* the link is the previous block's stated hash: a block with a wrong hash is
		 * reported once, and its successors are judged on their own */
		block_rules(&view, &prev->header, prev->hash, b, 0, verdicts_of(v, i), &ec, &s);
		approval_rules(view.genesis, &params, b->hash, b->approvals, b->n_approvals, &s);
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
			problem(&s, ITEM_NONE, 0, rc, "the change could not be applied");
	}
	if (tally != NULL && v->seal_height != 0 && s.n == 0) {
		tally->final = true;
		tally->closed_at = view.closed_at;
	}
	if (tally != NULL && g->secrecy != NULL)
		secret_tally(c, g, &v->sv, v->seal_height != 0, &s, tally);
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
		problem(&s, ITEM_NONE, 0, v->rc, "out of memory");
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
		problem(&s, ITEM_NONE, 0, CV_E_NOMEM, "out of memory");
		return s.n;
	}
	problems = cv_verifier_finish(v, report, ctx, tally);
	cv_verifier_free(v);
	return problems;
}
