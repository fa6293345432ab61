/* A secret election's rules (DESIGN section 6): ballots (rule 5.2), decryption shares
 * (rule 5.3), the block-level and genesis rules of the mode, the view the crypto of its
 * items is checked against (K, every K_j, α), and the tally from the committed shares. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "rules_impl.h"

/* The crypto of one ballot (section 6, rule 5.2's k, points, scalars, proofs and
 * signature) against the election key K: what the verifier's workers compute. */
verdict cv_rl_ballot_crypto(const uint8_t K[CV_POINT_LEN], size_t n_candidates, const cv_ballot *bl)
{
	size_t pos = SIZE_MAX;
	cv_err rc = cv_ballot_verify(bl, K, n_candidates, &pos);

	return cv_rl_verdict_of(rc, pos);
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
 * is cv_rl_ballot_crypto's verdict computed beforehand. */
static cv_err ballot_rule(const cv_view *v, const cv_ballot *bl, uint64_t latest,
                          const verdict *crypto, char *why, size_t why_len)
{
	verdict vd;
	cv_err rc;

	if (bl->is_vote) {
		cv_rl_why_set(why, why_len, "%s", ballot_why(CV_E_WRONG_MODE));
		return CV_E_WRONG_MODE;
	}
	if ((rc = cv_rl_voter_rule(v, bl->election_id, bl->voter_key, why, why_len)) != CV_OK ||
	    (rc = cv_rl_time_rule(v, bl->timestamp, latest, why, why_len)) != CV_OK)
		return rc;
	vd = crypto ? *crypto
	            : cv_rl_ballot_crypto(v->secret->election_key, v->genesis->n_candidates, bl);
	if (vd.rc != CV_OK) {
		if (vd.pos != NO_POS)
			cv_rl_why_set(why, why_len, "position %u: %s", (unsigned)vd.pos,
			              ballot_why(vd.rc));
		else
			cv_rl_why_set(why, why_len, "%s", ballot_why(vd.rc));
	}
	return vd.rc;
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
	if ((rc = cv_rl_voter_rule(v, bl->election_id, bl->voter_key, NULL, 0)) != CV_OK ||
	    (rc = cv_rl_time_rule(v, bl->timestamp, latest, NULL, 0)) != CV_OK)
		return rc;
	vd = cv_rl_ballot_crypto(v->secret->election_key, v->genesis->n_candidates, bl);
	if (pos != NULL && vd.pos != NO_POS)
		*pos = vd.pos;
	return vd.rc;
}

/* The block-level rules of a secret election (DESIGN section 6, "Validity of block
 * h >= 1 in a secret election"), before the seal's and the merkle root: the mode, one
 * kind of leaf per block, the leaf count, and where ballots and shares may stand
 * relative to the seal. True when the caller must stop checking. */
bool cv_rl_secret_block_rules(const cv_view *v, const cv_block *b, sink *s)
{
	const cv_election *e = &v->genesis->election;
	size_t leaves = b->n_votes + b->n_ballots + b->n_decryptions;

	if (v->genesis->secrecy == NULL)
		return cv_rl_problem(s, ITEM_NONE, 0, CV_E_WRONG_MODE,
		                     "a secret election's block (ballots, decryptions) in an open "
		                     "election");
	if (!b->secret)
		return cv_rl_problem(s, ITEM_NONE, 0, CV_E_WRONG_MODE,
		                     "an open election's block (votes, no decryptions) in a secret "
		                     "election");
	if (v->secret == NULL)
		return cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_STATE,
		                     "secret elections' blocks are judged by the verifier only");
	if (b->has_seal) {
		if (v->sealed &&
		    cv_rl_problem(s, ITEM_NONE, 0, CV_E_SEALED,
		                  "a second seal: the chain is sealed before this block"))
			return true;
		return false; /* the seal's own rules: no other leaf beside it */
	}
	if (b->n_ballots != 0 && b->n_decryptions != 0 &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_MIXED_BLOCK,
	                  "%zu ballots and %zu decryption shares in one block", b->n_ballots,
	                  b->n_decryptions))
		return true;
	if ((leaves == 0 || leaves > e->max_block_votes) &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_VOTE_COUNT, "%zu leaves, allowed 1 to %u", leaves,
	                  (unsigned)e->max_block_votes))
		return true;
	if (b->n_ballots != 0 && v->sealed &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BALLOT_AFTER_SEAL,
	                  "%zu ballots after the seal at height %llu", b->n_ballots,
	                  (unsigned long long)v->secret->seal_height))
		return true;
	if (b->n_decryptions != 0 && !v->sealed &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_DECRYPTION_BEFORE_SEAL,
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
verdict cv_rl_share_crypto(const cv_secrecy *sec, const cv_secret_view *sv, size_t k,
                           const cv_decryption *d)
{
	size_t j = trustee_of(sec, d->validator_key), pos = SIZE_MAX;
	cv_err rc;

	if (j == sec->n_trustees)
		return cv_rl_verdict_of(CV_E_DECRYPTION_NOT_TRUSTEE, SIZE_MAX);
	rc = cv_decryption_verify(d, sv->trustee_keys[j], (const uint8_t(*)[CV_POINT_LEN])sv->alpha,
	                          k, &pos);
	if (rc == CV_E_INTERNAL)
		rc = CV_E_DECRYPTION_PROOF; /* K_j or an α_i is O: no proof can hold */
	return cv_rl_verdict_of(rc, pos);
}

/* Section 6's rule 5.3 for one decryption share, the chain-wide duplicate included.
 * crypto, when not NULL, is cv_rl_share_crypto's verdict computed beforehand. */
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
		cv_rl_why_set(why, why_len, "election_id %s… is not this election's",
		              cv_rl_short_hex(d->election_id, hex));
		return CV_E_WRONG_ELECTION;
	}
	if ((j = trustee_of(sec, d->validator_key)) == sec->n_trustees) {
		cv_rl_why_set(why, why_len, "%s… is not a trustee",
		              cv_rl_short_hex(d->validator_key, hex));
		return CV_E_DECRYPTION_NOT_TRUSTEE;
	}
	if (sv->share_of[j] != NULL) {
		cv_rl_why_set(why, why_len, "trustee %zu has a share in the chain already", j + 1);
		return CV_E_DECRYPTION_DUPLICATE;
	}
	if (sv->seal_height < 2 || d->through_height != sv->seal_height - 1) {
		cv_rl_why_set(why, why_len,
		              "through_height %llu is not %llu, the last block before the seal",
		              (unsigned long long)d->through_height,
		              (unsigned long long)(sv->seal_height ? sv->seal_height - 1 : 0));
		return CV_E_DECRYPTION_THROUGH_HEIGHT;
	}
	/* The workers find a share's trustee by its genesis key; a trustee whose key a change
	 * replaced (sec holds the keys in force) is checked here, against the same K_j. */
	vd = crypto && crypto->rc != CV_E_DECRYPTION_NOT_TRUSTEE
	         ? *crypto
	         : cv_rl_share_crypto(sec, sv, v->genesis->n_candidates, d);
	if (vd.rc != CV_OK) {
		if (vd.pos != NO_POS)
			cv_rl_why_set(why, why_len, "position %u: %s", (unsigned)vd.pos,
			              share_why(vd.rc));
		else
			cv_rl_why_set(why, why_len, "%s", share_why(vd.rc));
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
void cv_rl_secret_items(const cv_view *v, const cv_block *b, const verdict *crypto,
                        const earlier_check *ec, sink *s)
{
	key_array keys = {b->ballots ? b->ballots->voter_key : NULL, sizeof(cv_ballot)};
	char hex[17], why[DETAIL_MAX];
	size_t *dup_of = NULL;
	uint64_t at;
	cv_err rc;
	int r;

	assert(b->n_ballots == 0 || b->ballots != NULL);
	if ((rc = cv_rl_in_block_duplicates(&keys, b->n_ballots, &dup_of)) != CV_OK) {
		cv_rl_problem(s, ITEM_NONE, 0, rc, "out of memory");
		return;
	}
	for (size_t i = 0; i < b->n_ballots; i++) {
		const cv_ballot *bl = &b->ballots[i];

		rc = ballot_rule(v, bl, b->header.timestamp, crypto ? &crypto[i] : NULL, why,
		                 sizeof(why));
		if (rc != CV_OK) {
			if (cv_rl_problem(s, ITEM_VOTE, i, rc, "%s", why))
				goto out;
			continue;
		}
		if (dup_of[i] != NO_INDEX) {
			if (cv_rl_problem(
			        s, ITEM_VOTE, i, CV_E_DOUBLE_VOTE,
			        "voter %s… has a ballot already in this block (ballot %zu)",
			        cv_rl_short_hex(bl->voter_key, hex), dup_of[i]))
				goto out;
			continue;
		}
		at = UINT64_MAX;
		r = ec->fn(ec->ctx, i, bl->voter_key, &at);
		if (r < 0 &&
		    cv_rl_problem(s, ITEM_VOTE, i, (cv_err)-r, "earlier ballots could not be read"))
			goto out;
		if (r > 0 &&
		    cv_rl_problem(s, ITEM_VOTE, i, CV_E_DOUBLE_VOTE,
		                  "voter %s… has a ballot already at height %llu",
		                  cv_rl_short_hex(bl->voter_key, hex), (unsigned long long)at))
			goto out;
	}
	/* an open election's view has no trustees: its shares are refused by mode alone */
	for (size_t i = 0; v->secret != NULL && i < b->n_decryptions; i++) {
		rc = share_rule(v, &b->decryptions[i], crypto ? &crypto[b->n_ballots + i] : NULL,
		                why, sizeof(why));
		if (rc != CV_OK && cv_rl_problem(s, ITEM_NONE, i, rc, "decryption %zu: %s", i, why))
			goto out;
	}
out:
	free(dup_of);
}

/* The election key K of a secret genesis as the verifier uses it: CV_POINT_O when the
 * setup hash cannot be computed or the commitments give none (cv_rl_secrecy_rules says why). */
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
bool cv_rl_secrecy_rules(const cv_genesis *g, sink *s)
{
	const cv_secrecy *sec = g->secrecy;
	uint8_t setup[CV_HASH_LEN], key[CV_POINT_LEN];
	char hex[17];
	cv_err rc;

	if ((sec->quorum < 2 || sec->quorum > sec->n_trustees ||
	     sec->n_trustees > g->n_validators) &&
	    cv_rl_problem(
	        s, ITEM_NONE, 0, CV_E_SECRECY_PARAMS,
	        "quorum %u and %zu trustees break 2 <= quorum <= trustees <= %zu validators",
	        (unsigned)sec->quorum, sec->n_trustees, g->n_validators))
		return true;
	if ((rc = cv_setup_hash(g, setup)) != CV_OK) {
		cv_rl_problem(s, ITEM_NONE, 0, rc, "the setup hash could not be computed");
		return true;
	}
	for (size_t j = 0; j < sec->n_trustees; j++) {
		const cv_trustee *t = &sec->trustees[j];

		if (t->n_coeffs != sec->quorum &&
		    cv_rl_problem(s, ITEM_NONE, 0, CV_E_SECRECY_PARAMS,
		                  "trustee %zu has %zu commitments, the quorum is %u", j + 1,
		                  t->n_coeffs, (unsigned)sec->quorum))
			return true;
		if (cv_genesis_validator(g, t->validator_key) == NULL &&
		    cv_rl_problem(s, ITEM_NONE, 0, CV_E_TRUSTEE_NOT_VALIDATOR,
		                  "trustee %zu (%s…) is not a validator", j + 1,
		                  cv_rl_short_hex(t->validator_key, hex)))
			return true;
		if (j > 0 &&
		    memcmp(sec->trustees[j - 1].validator_key, t->validator_key, CV_KEY_LEN) >= 0 &&
		    cv_rl_problem(s, ITEM_NONE, 0, CV_E_SECRECY_PARAMS,
		                  "trustee %zu is not after trustee %zu in ascending key order",
		                  j + 1, j))
			return true;
		if (memcmp(t->setup_hash, setup, CV_HASH_LEN) != 0 &&
		    cv_rl_problem(s, ITEM_NONE, 0, CV_E_TRUSTEE_SETUP_HASH,
		                  "trustee %zu's setup_hash %s… is not this election's", j + 1,
		                  cv_rl_short_hex(t->setup_hash, hex)))
			return true;
		rc = cv_trustee_verify(t);
		if (rc != CV_OK && cv_rl_problem(s, ITEM_NONE, 0, rc, "trustee %zu: %s", j + 1,
		                                 rc == CV_E_TRUSTEE_SIGNATURE
		                                     ? "the entry's signature does not verify"
		                                 : rc == CV_E_TRUSTEE_PROOF
		                                     ? "a commitment or its proof is invalid"
		                                     : "the entry could not be checked"))
			return true;
	}
	if (cv_election_key(sec, key) != CV_OK) {
		cv_rl_problem(s, ITEM_NONE, 0, CV_E_SECRECY_PARAMS,
		              "the election key K is the identity");
		return true;
	}
	return false;
}

/* α (and β) of the ballots in blocks 1 .. seal_height - 1 (the whole chain when
 * seal_height is 0), from CV_POINT_O. */
cv_err cv_rl_aggregates(const cv_chain *c, size_t k, uint64_t seal_height,
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
cv_err cv_rl_secret_view_init(const cv_genesis *g, cv_secret_view *sv)
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
	if ((rc = cv_rl_secret_view_init(g, sv)) != CV_OK ||
	    (sv->share_of = calloc(sv->n_trustees ? sv->n_trustees : 1, sizeof(void *))) == NULL ||
	    (rc = cv_rl_aggregates(c, g->n_candidates, sv->seal_height, sv->alpha, NULL)) !=
	        CV_OK) {
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
void cv_rl_secret_tally(const cv_chain *c, const cv_genesis *g, const cv_secret_view *sv,
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
		cv_rl_problem(s, ITEM_NONE, 0, CV_E_NOMEM, "out of memory");
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
	if ((rc = cv_rl_aggregates(c, k, sv->seal_height, NULL, beta)) != CV_OK ||
	    (rc = cv_tally_decrypt(xs, D, q, (const uint8_t(*)[CV_POINT_LEN])beta, k, n,
	                           t->votes)) != CV_OK) {
		cv_rl_problem(s, ITEM_NONE, 0, rc,
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
