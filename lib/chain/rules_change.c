/* Changes of the parameters (docs/GOVERNANCE.md): the parameters in force (cv_params)
 * and how a committed change moves them, the rules of a change and of its block. */
#include <stdlib.h>
#include <string.h>

#include "rules_impl.h"

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
			cv_rl_why_set(
			    why, why_len,
			    "closes %llu is 0, the closes in force, or before the genesis or "
			    "opens",
			    (unsigned long long)c->closes);
			return CV_E_BAD_CHANGE;
		}
		if ((e->closes == 0 || c->closes < e->closes) && c->closes < v->last_vote_time) {
			cv_rl_why_set(
			    why, why_len, "closes %llu is before a committed vote stamped %llu",
			    (unsigned long long)c->closes, (unsigned long long)v->last_vote_time);
			return CV_E_CHANGE_CLOSES;
		}
		return CV_OK;
	case CV_CHANGE_VALIDATOR_KEY:
		if (cv_genesis_validator(v->genesis, c->old_key) == NULL) {
			cv_rl_why_set(why, why_len, "old_key %s… is not a validator in force",
			              cv_rl_short_hex(c->old_key, hex));
			return CV_E_BAD_CHANGE;
		}
		if (cv_pubkey_check(c->new_key) != CV_OK) {
			cv_rl_why_set(why, why_len, "new_key %s… is not a P-256 point",
			              cv_rl_short_hex(c->new_key, hex));
			return CV_E_BAD_CHANGE;
		}
		if (cv_genesis_validator(v->genesis, c->new_key) != NULL ||
		    cv_params_retired(v->params, c->new_key)) {
			cv_rl_why_set(why, why_len, "new_key %s… is or was a validator",
			              cv_rl_short_hex(c->new_key, hex));
			return CV_E_BAD_CHANGE;
		}
		return CV_OK;
	case CV_CHANGE_DIFFICULTY:
		if (c->difficulty == e->difficulty) {
			cv_rl_why_set(why, why_len, "difficulty %u is the one in force",
			              (unsigned)c->difficulty);
			return CV_E_BAD_CHANGE;
		}
		return CV_OK;
	default:
		cv_rl_why_set(why, why_len, "kind %u is not a change", (unsigned)c->kind);
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
		cv_rl_why_set(why, why_len, "election_id %s… is not this election's",
		              cv_rl_short_hex(c->election_id, hex));
		return CV_E_BAD_CHANGE;
	}
	if (c->effective_height != height + 1) {
		uint64_t next = height + 1;

		cv_rl_why_set(why, why_len, "effective_height %llu is not %llu, the next height",
		              (unsigned long long)c->effective_height, (unsigned long long)next);
		return CV_E_BAD_CHANGE;
	}
	if ((rc = change_fields_rule(v, c, why, why_len)) != CV_OK)
		return rc;
	if (complete && c->n_signatures < e->threshold) {
		cv_rl_why_set(why, why_len, "%zu signatures, threshold %u", c->n_signatures,
		              (unsigned)e->threshold);
		return CV_E_CHANGE_SIGNATURES;
	}
	if ((rc = cv_change_message(c, &msg)) != CV_OK) {
		cv_rl_why_set(why, why_len, "the change could not be encoded");
		return rc;
	}
	for (size_t i = 0; i < c->n_signatures; i++) {
		const cv_approval *a = &c->signatures[i];

		if (bad != NULL)
			*bad = i;
		if (i > 0 &&
		    memcmp(c->signatures[i - 1].validator_key, a->validator_key, CV_KEY_LEN) >= 0) {
			cv_rl_why_set(
			    why, why_len,
			    "signature %zu is not after signature %zu in ascending key order", i,
			    i - 1);
			rc = CV_E_CHANGE_SIGNATURES;
			break;
		}
		if (cv_genesis_validator(v->genesis, a->validator_key) == NULL) {
			cv_rl_why_set(why, why_len,
			              "signature %zu: %s… is not a validator in force", i,
			              cv_rl_short_hex(a->validator_key, hex));
			rc = CV_E_CHANGE_SIGNATURES;
			break;
		}
		if (cv_verify(a->validator_key, msg.data, msg.len, a->signature) != CV_OK) {
			cv_rl_why_set(why, why_len,
			              "signature %zu: the signature of %s… does not verify", i,
			              cv_rl_short_hex(a->validator_key, hex));
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
bool cv_rl_change_block_rules(const cv_view *v, const cv_block *b, sink *s)
{
	size_t others = b->n_votes + b->n_ballots + b->n_decryptions;

	if (v->params == NULL)
		return cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_STATE,
		                     "changes of the parameters are not judged here");
	if ((v->genesis->secrecy != NULL) != b->secret)
		return cv_rl_problem(s, ITEM_NONE, 0, CV_E_WRONG_MODE,
		                     "a change block of the other mode (secret or open)");
	if (v->sealed && cv_rl_problem(s, ITEM_NONE, 0, CV_E_SEALED,
	                               "a change after the seal: the election is final"))
		return true;
	if ((others != 0 || b->has_seal) &&
	    cv_rl_problem(s, ITEM_NONE, 0, CV_E_BAD_CHANGE,
	                  "a change block carries %zu other leaves%s, allowed none", others,
	                  b->has_seal ? " and a seal" : ""))
		return true;
	return false;
}
