/* The chain's objects written as the public JSON of DESIGN section 3 (json.h), keys in
 * the order section 3 lists them, and the error object every answer shares. */
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* ---- output ---- */
/* json-c's constructors fail only when out of memory; a NULL then propagates as the
 * caller's NULL through json_object_object_add, which drops NULL values, so callers see
 * an incomplete object. The service answers 503 on NULL at the top level; deeper
 * failures of a few dozen bytes are not handled separately. */

void cv_json_add_hex(json_object *o, const char *key, const uint8_t *p, size_t n)
{
	char *hex = malloc(2 * n + 1);

	if (hex == NULL)
		return;
	cv_hex_encode(p, n, hex);
	json_object_object_add(o, key, json_object_new_string_len(hex, (int)(2 * n)));
	free(hex);
}

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

json_object *cv_vote_to_json(const cv_vote *v, bool with_txid)
{
	json_object *o = json_object_new_object();
	uint8_t txid[CV_HASH_LEN];

	if (o == NULL)
		return NULL;
	cv_json_add_hex(o, "election_id", v->election_id, CV_HASH_LEN);
	cv_json_add_hex(o, "voter_key", v->voter_key, CV_KEY_LEN);
	add_u64(o, "candidate_id", v->candidate_id);
	add_u64(o, "timestamp", v->timestamp);
	cv_json_add_hex(o, "signature", v->signature, CV_SIG_LEN);
	if (with_txid) {
		cv_vote_txid(v, txid);
		cv_json_add_hex(o, "txid", txid, CV_HASH_LEN);
	}
	return o;
}

json_object *cv_approval_to_json(const cv_approval *a)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	cv_json_add_hex(o, "validator_key", a->validator_key, CV_KEY_LEN);
	cv_json_add_hex(o, "signature", a->signature, CV_SIG_LEN);
	return o;
}

static void secrecy_to_json(const cv_secrecy *s, json_object *o);

static void genesis_to_json(const cv_genesis *g, json_object *o)
{
	const cv_election *e = &g->election;
	json_object *eo = json_object_new_object(), *arr, *item;

	if (eo != NULL) {
		json_object_object_add(eo, "title", json_object_new_string(e->title));
		add_u64(eo, "threshold", e->threshold);
		add_u64(eo, "difficulty", e->difficulty);
		add_u64(eo, "max_block_votes", e->max_block_votes);
		add_u64(eo, "opens", e->opens);
		add_u64(eo, "closes", e->closes);
		json_object_object_add(o, "election", eo);
	}
	if ((arr = json_object_new_array_ext((int)g->n_candidates)) != NULL) {
		for (size_t i = 0; i < g->n_candidates; i++) {
			if ((item = json_object_new_object()) == NULL)
				continue;
			add_u64(item, "id", g->candidates[i].id);
			json_object_object_add(item, "name",
			                       json_object_new_string(g->candidates[i].name));
			json_object_array_add(arr, item);
		}
		json_object_object_add(o, "candidates", arr);
	}
	if ((arr = json_object_new_array_ext((int)g->n_validators)) != NULL) {
		for (size_t i = 0; i < g->n_validators; i++) {
			if ((item = json_object_new_object()) == NULL)
				continue;
			cv_json_add_hex(item, "key", g->validators[i].key, CV_KEY_LEN);
			json_object_object_add(item, "name",
			                       json_object_new_string(g->validators[i].name));
			json_object_array_add(arr, item);
		}
		json_object_object_add(o, "validators", arr);
	}
	if (g->secrecy != NULL)
		secrecy_to_json(g->secrecy, o);
	if ((arr = json_object_new_array_ext((int)g->n_voters)) != NULL) {
		char hex[2 * CV_KEY_LEN + 1];

		for (size_t i = 0; i < g->n_voters; i++) {
			cv_hex_encode(g->voters[i], CV_KEY_LEN, hex);
			json_object_array_add(arr, json_object_new_string(hex));
		}
		json_object_object_add(o, "voters", arr);
	}
}

static json_object *cv_pair_json(const uint8_t c[CV_SCALAR_LEN], const uint8_t v[CV_SCALAR_LEN])
{
	json_object *o = json_object_new_object();

	if (o != NULL) {
		cv_json_add_hex(o, "c", c, CV_SCALAR_LEN);
		cv_json_add_hex(o, "v", v, CV_SCALAR_LEN);
	}
	return o;
}

json_object *cv_trustee_to_json(const cv_trustee *tr)
{
	json_object *t = json_object_new_object(), *ca, *pa;

	if (t == NULL)
		return NULL;
	cv_json_add_hex(t, "setup_hash", tr->setup_hash, CV_HASH_LEN);
	cv_json_add_hex(t, "validator_key", tr->validator_key, CV_KEY_LEN);
	ca = json_object_new_array_ext((int)tr->n_coeffs);
	pa = json_object_new_array_ext((int)tr->n_coeffs);
	for (size_t k = 0; ca != NULL && pa != NULL && k < tr->n_coeffs; k++) {
		char hex[2 * CV_POINT_LEN + 1];

		cv_hex_encode(tr->commitments[k], CV_POINT_LEN, hex);
		json_object_array_add(ca, json_object_new_string(hex));
		json_object_array_add(pa, cv_pair_json(tr->proof_c[k], tr->proof_v[k]));
	}
	json_object_object_add(t, "commitments", ca);
	json_object_object_add(t, "proofs", pa);
	cv_json_add_hex(t, "signature", tr->signature, CV_SIG_LEN);
	return t;
}

static void secrecy_to_json(const cv_secrecy *s, json_object *o)
{
	json_object *so = json_object_new_object(), *arr, *t;

	if (so == NULL)
		return;
	add_u64(so, "quorum", s->quorum);
	if ((arr = json_object_new_array_ext((int)s->n_trustees)) != NULL) {
		for (size_t j = 0; j < s->n_trustees; j++)
			if ((t = cv_trustee_to_json(&s->trustees[j])) != NULL)
				json_object_array_add(arr, t);
		json_object_object_add(so, "trustees", arr);
	}
	json_object_object_add(o, "secrecy", so);
}

json_object *cv_ballot_to_json(const cv_ballot *b, bool with_txid)
{
	json_object *o, *ca, *pa, *item;
	uint8_t txid[CV_HASH_LEN];

	if (b->is_vote) {
		cv_vote v = {.candidate_id = b->vote_candidate, .timestamp = b->timestamp};

		memcpy(v.election_id, b->election_id, CV_HASH_LEN);
		memcpy(v.voter_key, b->voter_key, CV_KEY_LEN);
		memcpy(v.signature, b->signature, CV_SIG_LEN);
		return cv_vote_to_json(&v, with_txid);
	}
	if ((o = json_object_new_object()) == NULL)
		return NULL;
	cv_json_add_hex(o, "election_id", b->election_id, CV_HASH_LEN);
	cv_json_add_hex(o, "voter_key", b->voter_key, CV_KEY_LEN);
	add_u64(o, "timestamp", b->timestamp);
	ca = json_object_new_array_ext((int)b->k);
	pa = json_object_new_array_ext((int)b->k);
	for (size_t i = 0; ca != NULL && pa != NULL && i < b->k; i++) {
		if ((item = json_object_new_object()) != NULL) {
			cv_json_add_hex(item, "a", b->cts[i].a, CV_POINT_LEN);
			cv_json_add_hex(item, "b", b->cts[i].b, CV_POINT_LEN);
			json_object_array_add(ca, item);
		}
		if ((item = json_object_new_object()) != NULL) {
			cv_json_add_hex(item, "c0", b->proofs[i].c0, CV_SCALAR_LEN);
			cv_json_add_hex(item, "v0", b->proofs[i].v0, CV_SCALAR_LEN);
			cv_json_add_hex(item, "c1", b->proofs[i].c1, CV_SCALAR_LEN);
			cv_json_add_hex(item, "v1", b->proofs[i].v1, CV_SCALAR_LEN);
			json_object_array_add(pa, item);
		}
	}
	json_object_object_add(o, "ciphertexts", ca);
	json_object_object_add(o, "proofs", pa);
	json_object_object_add(o, "sum_proof", cv_pair_json(b->sum_c, b->sum_v));
	cv_json_add_hex(o, "signature", b->signature, CV_SIG_LEN);
	if (with_txid && cv_ballot_txid(b, txid) == CV_OK)
		cv_json_add_hex(o, "txid", txid, CV_HASH_LEN);
	return o;
}

json_object *cv_decryption_to_json(const cv_decryption *d, bool with_txid)
{
	json_object *o = json_object_new_object(), *arr, *item;
	uint8_t txid[CV_HASH_LEN];

	if (o == NULL)
		return NULL;
	cv_json_add_hex(o, "election_id", d->election_id, CV_HASH_LEN);
	cv_json_add_hex(o, "validator_key", d->validator_key, CV_KEY_LEN);
	add_u64(o, "through_height", d->through_height);
	if ((arr = json_object_new_array_ext((int)d->k)) != NULL) {
		for (size_t i = 0; i < d->k; i++) {
			if ((item = json_object_new_object()) == NULL)
				continue;
			cv_json_add_hex(item, "d", d->shares[i].d, CV_POINT_LEN);
			cv_json_add_hex(item, "c", d->shares[i].c, CV_SCALAR_LEN);
			cv_json_add_hex(item, "v", d->shares[i].v, CV_SCALAR_LEN);
			json_object_array_add(arr, item);
		}
		json_object_object_add(o, "shares", arr);
	}
	cv_json_add_hex(o, "signature", d->signature, CV_SIG_LEN);
	if (with_txid && cv_decryption_txid(d, txid) == CV_OK)
		cv_json_add_hex(o, "txid", txid, CV_HASH_LEN);
	return o;
}

void cv_seal_add_json(json_object *o, const cv_block *b)
{
	json_object *so;

	if (!b->has_seal || (so = json_object_new_object()) == NULL)
		return;
	cv_json_add_hex(so, "election_id", b->seal.election_id, CV_HASH_LEN);
	add_u64(so, "closed_at", b->seal.closed_at);
	json_object_object_add(o, "seal", so);
}

json_object *cv_change_to_json(const cv_change *c)
{
	json_object *o = json_object_new_object(), *arr;
	const char *kind = cv_change_kind_name(c->kind);

	if (o == NULL)
		return NULL;
	cv_json_add_hex(o, "election_id", c->election_id, CV_HASH_LEN);
	add_u64(o, "effective_height", c->effective_height);
	json_object_object_add(o, "kind", json_object_new_string(kind ? kind : "unknown"));
	if (c->kind == CV_CHANGE_CLOSES)
		add_u64(o, "closes", c->closes);
	if (c->kind == CV_CHANGE_VALIDATOR_KEY) {
		cv_json_add_hex(o, "old_key", c->old_key, CV_KEY_LEN);
		cv_json_add_hex(o, "new_key", c->new_key, CV_KEY_LEN);
	}
	if (c->kind == CV_CHANGE_DIFFICULTY)
		add_u64(o, "difficulty", c->difficulty);
	if ((arr = json_object_new_array_ext((int)c->n_signatures)) != NULL) {
		for (size_t i = 0; i < c->n_signatures; i++)
			json_object_array_add(arr, cv_approval_to_json(&c->signatures[i]));
		json_object_object_add(o, "signatures", arr);
	}
	return o;
}

json_object *cv_block_to_json(const cv_block *b)
{
	const cv_header *h = &b->header;
	json_object *o = json_object_new_object(), *arr;

	if (o == NULL)
		return NULL;
	add_u64(o, "version", h->version);
	add_u64(o, "height", h->height);
	cv_json_add_hex(o, "hash", b->hash, CV_HASH_LEN);
	cv_json_add_hex(o, "prev_hash", h->prev_hash, CV_HASH_LEN);
	cv_json_add_hex(o, "merkle_root", h->merkle_root, CV_HASH_LEN);
	add_u64(o, "timestamp", h->timestamp);
	add_u64(o, "difficulty", h->difficulty);
	add_u64(o, "nonce", h->nonce);
	if (b->genesis != NULL) {
		genesis_to_json(b->genesis, o);
		return o;
	}
	if (b->secret) {
		if ((arr = json_object_new_array_ext((int)b->n_ballots)) != NULL) {
			for (size_t i = 0; i < b->n_ballots; i++)
				json_object_array_add(arr, cv_ballot_to_json(&b->ballots[i], true));
			json_object_object_add(o, "votes", arr);
		}
		if ((arr = json_object_new_array_ext((int)b->n_decryptions)) != NULL) {
			for (size_t i = 0; i < b->n_decryptions; i++)
				json_object_array_add(
				    arr, cv_decryption_to_json(&b->decryptions[i], true));
			json_object_object_add(o, "decryptions", arr);
		}
	} else if ((arr = json_object_new_array_ext((int)b->n_votes)) != NULL) {
		for (size_t i = 0; i < b->n_votes; i++)
			json_object_array_add(arr, cv_vote_to_json(&b->votes[i], true));
		json_object_object_add(o, "votes", arr);
	}
	cv_seal_add_json(o, b);
	if (b->change != NULL)
		json_object_object_add(o, "change", cv_change_to_json(b->change));
	if ((arr = json_object_new_array_ext((int)b->n_approvals)) != NULL) {
		for (size_t i = 0; i < b->n_approvals; i++)
			json_object_array_add(arr, cv_approval_to_json(&b->approvals[i]));
		json_object_object_add(o, "approvals", arr);
	}
	return o;
}

json_object *cv_chain_to_json(const cv_chain *c)
{
	json_object *o = json_object_new_object(), *arr;

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "format", json_object_new_string("chainvote-chain/1"));
	if ((arr = json_object_new_array_ext((int)c->n_blocks)) != NULL) {
		for (size_t i = 0; i < c->n_blocks; i++)
			json_object_array_add(arr, cv_block_to_json(&c->blocks[i]));
		json_object_object_add(o, "blocks", arr);
	}
	return o;
}

json_object *cv_error_json(cv_err e, const char *message)
{
	json_object *o = json_object_new_object(), *inner = json_object_new_object();

	if (o == NULL || inner == NULL) {
		json_object_put(o);
		json_object_put(inner);
		return NULL;
	}
	json_object_object_add(inner, "code", json_object_new_string(cv_err_code(e)));
	json_object_object_add(inner, "message",
	                       json_object_new_string(message ? message : cv_err_message(e)));
	json_object_object_add(o, "error", inner);
	return o;
}
