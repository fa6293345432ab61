/* The chain's byte encodings (DESIGN section 2): genesis entries and their order, vote
 * payloads, txids and leaves, the 96-byte header, approval and rejection messages, and
 * the text rule for titles and names. Every hash of the chain starts here. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"
#include "merkle.h"

void cv_genesis_free(cv_genesis *g)
{
	if (g == NULL)
		return;
	free(g->candidates);
	free(g->validators);
	free(g->voters);
	cv_secrecy_free(g->secrecy);
	free(g->secrecy);
	memset(g, 0, sizeof *g);
}

void cv_block_free(cv_block *b)
{
	if (b == NULL)
		return;
	free(b->votes);
	free(b->approvals);
	for (size_t i = 0; b->ballots != NULL && i < b->n_ballots; i++)
		cv_ballot_free(&b->ballots[i]);
	free(b->ballots);
	for (size_t i = 0; b->decryptions != NULL && i < b->n_decryptions; i++)
		cv_decryption_free(&b->decryptions[i]);
	free(b->decryptions);
	cv_genesis_free(b->genesis);
	free(b->genesis);
	cv_change_free(b->change);
	free(b->change);
	memset(b, 0, sizeof *b);
}

void cv_chain_free(cv_chain *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_blocks; i++)
		cv_block_free(&c->blocks[i]);
	free(c->blocks);
	memset(c, 0, sizeof *c);
}

/* Length of the UTF-8 sequence at s and its code point, or 0 when s does not start a
 * well-formed sequence (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF). Reads at most up to the first NUL. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0; /* continuation byte, 0xc0/0xc1 (always overlong) or 0xf5.. */
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool cv_text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len, n, i;
	uint32_t cp;

	if (s == NULL)
		return false;
	len = strnlen(s, CV_TEXT_MAX + 1);
	if (len == 0 || len > CV_TEXT_MAX)
		return false;
	for (i = 0; i < len; i += n) {
		n = utf8_next(p + i, &cp);
		if (n == 0)
			return false;
		/* Titles and names are single-line labels: no C0, DEL or C1 controls. */
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return false;
	}
	return true;
}

/* A text field of a fixed array: NUL-terminated inside the array and cv_text_ok. */
static bool field_ok(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL && cv_text_ok(s);
}

static int candidate_cmp(const void *a, const void *b)
{
	uint32_t x = ((const cv_candidate *)a)->id, y = ((const cv_candidate *)b)->id;

	return (x > y) - (x < y);
}

static int validator_cmp(const void *a, const void *b)
{
	return memcmp(((const cv_validator *)a)->key, ((const cv_validator *)b)->key, CV_KEY_LEN);
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, CV_KEY_LEN);
}

/* Is the array sorted by cmp, strictly (sorted = 1) or at least non-strictly (0)? */
static bool sorted(const void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
                   bool strict)
{
	const char *p = base;
	size_t i;

	for (i = 1; i < n; i++) {
		int c = cmp(p + (i - 1) * size, p + i * size);

		if (c > 0 || (strict && c == 0))
			return false;
	}
	return true;
}

/* The genesis rules once the arrays are in genesis order: duplicates are then
 * neighbours, so strict order is the uniqueness test. */
static cv_err genesis_rules(const cv_genesis *g)
{
	size_t i;
	cv_err rc;

	if ((g->n_candidates && g->candidates == NULL) ||
	    (g->n_validators && g->validators == NULL) || (g->n_voters && g->voters == NULL))
		return CV_E_BAD_ELECTION;
	if (!field_ok(g->election.title, sizeof g->election.title))
		return CV_E_BAD_ELECTION;
	if (g->election.threshold < 2 || g->election.threshold > g->n_validators)
		return CV_E_BAD_ELECTION;
	for (i = 0; i < g->n_candidates; i++)
		if (g->candidates[i].id < 1 ||
		    !field_ok(g->candidates[i].name, sizeof g->candidates[i].name))
			return CV_E_BAD_ELECTION;
	if (!sorted(g->candidates, g->n_candidates, sizeof *g->candidates, candidate_cmp, true))
		return CV_E_BAD_ELECTION;
	for (i = 0; i < g->n_validators; i++) {
		if (!field_ok(g->validators[i].name, sizeof g->validators[i].name))
			return CV_E_BAD_ELECTION;
		rc = cv_pubkey_check(g->validators[i].key);
		if (rc != CV_OK)
			return rc;
	}
	if (!sorted(g->validators, g->n_validators, sizeof *g->validators, validator_cmp, true))
		return CV_E_BAD_ELECTION;
	for (i = 0; i < g->n_voters; i++) {
		rc = cv_pubkey_check(g->voters[i]);
		if (rc != CV_OK)
			return rc;
	}
	if (!sorted(g->voters, g->n_voters, CV_KEY_LEN, key_cmp, true))
		return CV_E_BAD_ELECTION;
	return CV_OK;
}

cv_err cv_genesis_normalise(cv_genesis *g)
{
	if (g->candidates != NULL)
		qsort(g->candidates, g->n_candidates, sizeof *g->candidates, candidate_cmp);
	if (g->validators != NULL)
		qsort(g->validators, g->n_validators, sizeof *g->validators, validator_cmp);
	if (g->voters != NULL)
		qsort(g->voters, g->n_voters, CV_KEY_LEN, key_cmp);
	return genesis_rules(g);
}

cv_err cv_genesis_check(const cv_genesis *g)
{
	/* Out of order is a different fault from a duplicate: order is checked
	 * non-strictly here and duplicates are left to genesis_rules. */
	if ((g->candidates && !sorted(g->candidates, g->n_candidates, sizeof *g->candidates,
	                              candidate_cmp, false)) ||
	    (g->validators && !sorted(g->validators, g->n_validators, sizeof *g->validators,
	                              validator_cmp, false)) ||
	    (g->voters && !sorted(g->voters, g->n_voters, CV_KEY_LEN, key_cmp, false)))
		return CV_E_BAD_GENESIS;
	return genesis_rules(g);
}

/* Ends an encoder: when any of its appends failed, b goes back to its length before the
 * encoder ran, so that a failed encoder leaves no partial entry behind. */
static cv_err entry_done(cv_buf *b, size_t before, cv_err rc)
{
	if (rc == CV_OK && b->failed)
		rc = CV_E_NOMEM;
	if (rc != CV_OK)
		b->len = before;
	return rc;
}

cv_err cv_election_entry(const cv_election *e, cv_buf *b)
{
	size_t before = b->len;
	int was_failed = b->failed;
	cv_err rc;

	b->failed = 0;
	cv_buf_tag(b, CV_TAG_ELECTION);
	rc = cv_buf_text(b, e->title);
	cv_buf_u8(b, e->threshold);
	cv_buf_u8(b, e->difficulty);
	cv_buf_u32(b, e->max_block_votes);
	cv_buf_u64(b, e->opens);
	cv_buf_u64(b, e->closes);
	rc = entry_done(b, before, rc);
	b->failed |= was_failed;
	return rc;
}

cv_err cv_candidate_entry(const cv_candidate *c, cv_buf *b)
{
	size_t before = b->len;
	int was_failed = b->failed;
	cv_err rc;

	b->failed = 0;
	cv_buf_tag(b, CV_TAG_CANDIDATE);
	cv_buf_u32(b, c->id);
	rc = cv_buf_text(b, c->name);
	rc = entry_done(b, before, rc);
	b->failed |= was_failed;
	return rc;
}

cv_err cv_validator_entry(const cv_validator *v, cv_buf *b)
{
	size_t before = b->len;
	int was_failed = b->failed;
	cv_err rc;

	b->failed = 0;
	cv_buf_tag(b, CV_TAG_VALIDATOR);
	cv_buf_put(b, v->key, CV_KEY_LEN);
	rc = cv_buf_text(b, v->name);
	rc = entry_done(b, before, rc);
	b->failed |= was_failed;
	return rc;
}

cv_err cv_voter_entry(const uint8_t key[CV_KEY_LEN], cv_buf *b)
{
	size_t before = b->len;
	int was_failed = b->failed;
	cv_err rc;

	b->failed = 0;
	cv_buf_tag(b, CV_TAG_VOTER);
	cv_buf_put(b, key, CV_KEY_LEN);
	rc = entry_done(b, before, CV_OK);
	b->failed |= was_failed;
	return rc;
}

cv_err cv_genesis_merkle_root(const cv_genesis *g, uint8_t root[CV_HASH_LEN])
{
	uint8_t(*hashes)[CV_HASH_LEN] = NULL;
	cv_buf b = {0};
	size_t n, i, at = 0;
	cv_err rc = CV_E_NOMEM;

	n = 1 + g->n_candidates + g->n_validators + g->n_voters;
	if (g->secrecy != NULL)
		n += 1 + g->secrecy->n_trustees;
	if (n < g->n_voters || n > SIZE_MAX / CV_HASH_LEN)
		return CV_E_TOO_LARGE;
	hashes = malloc(n * CV_HASH_LEN);
	if (hashes == NULL)
		goto out;
	rc = cv_election_entry(&g->election, &b);
	if (rc != CV_OK)
		goto out;
	cv_merkle_leaf_hash(b.data, b.len, hashes[at++]);
	for (i = 0; i < g->n_candidates; i++) {
		cv_buf_reset(&b);
		rc = cv_candidate_entry(&g->candidates[i], &b);
		if (rc != CV_OK)
			goto out;
		cv_merkle_leaf_hash(b.data, b.len, hashes[at++]);
	}
	for (i = 0; i < g->n_validators; i++) {
		cv_buf_reset(&b);
		rc = cv_validator_entry(&g->validators[i], &b);
		if (rc != CV_OK)
			goto out;
		cv_merkle_leaf_hash(b.data, b.len, hashes[at++]);
	}
	if (g->secrecy != NULL) {
		cv_buf_reset(&b);
		if ((rc = cv_secrecy_entry(g->secrecy, &b)) != CV_OK)
			goto out;
		cv_merkle_leaf_hash(b.data, b.len, hashes[at++]);
		for (i = 0; i < g->secrecy->n_trustees; i++) {
			cv_buf_reset(&b);
			rc = cv_trustee_entry(&g->secrecy->trustees[i], true, &b);
			if (rc != CV_OK)
				goto out;
			cv_merkle_leaf_hash(b.data, b.len, hashes[at++]);
		}
	}
	for (i = 0; i < g->n_voters; i++) {
		cv_buf_reset(&b);
		rc = cv_voter_entry(g->voters[i], &b);
		if (rc != CV_OK)
			goto out;
		cv_merkle_leaf_hash(b.data, b.len, hashes[at++]);
	}
	rc = cv_merkle_root((const uint8_t(*)[CV_HASH_LEN])hashes, n, root);
out:
	cv_buf_free(&b);
	free(hashes);
	return rc;
}

cv_err cv_setup_hash(const cv_genesis *g, uint8_t out[CV_HASH_LEN])
{
	cv_buf b = {0};
	cv_err rc;

	rc = cv_election_entry(&g->election, &b);
	for (size_t i = 0; rc == CV_OK && i < g->n_candidates; i++)
		rc = cv_candidate_entry(&g->candidates[i], &b);
	for (size_t i = 0; rc == CV_OK && i < g->n_validators; i++)
		rc = cv_validator_entry(&g->validators[i], &b);
	if (rc == CV_OK)
		cv_sha256(b.data, b.len, out);
	cv_buf_free(&b);
	return rc;
}

cv_err cv_genesis_header(const cv_genesis *g, uint64_t timestamp, cv_header *h)
{
	memset(h, 0, sizeof *h);
	h->version = CV_VERSION;
	h->timestamp = timestamp;
	return cv_genesis_merkle_root(g, h->merkle_root);
}

const cv_candidate *cv_genesis_candidate(const cv_genesis *g, uint32_t id)
{
	cv_candidate key = {.id = id};

	if (g->n_candidates == 0)
		return NULL;
	return bsearch(&key, g->candidates, g->n_candidates, sizeof *g->candidates, candidate_cmp);
}

const cv_validator *cv_genesis_validator(const cv_genesis *g, const uint8_t key[CV_KEY_LEN])
{
	/* key_cmp reads the first CV_KEY_LEN bytes of each element: a cv_validator's key. */
	if (g->n_validators == 0)
		return NULL;
	return bsearch(key, g->validators, g->n_validators, sizeof *g->validators, key_cmp);
}

bool cv_genesis_on_roll(const cv_genesis *g, const uint8_t key[CV_KEY_LEN])
{
	if (g->n_voters == 0)
		return false;
	return bsearch(key, g->voters, g->n_voters, CV_KEY_LEN, key_cmp) != NULL;
}

void cv_vote_payload(const cv_vote *v, uint8_t out[CV_PAYLOAD_LEN])
{
	uint8_t *p = out;

	memcpy(p, CV_TAG_VOTE, sizeof CV_TAG_VOTE - 1);
	p += sizeof CV_TAG_VOTE - 1;
	memcpy(p, v->election_id, CV_HASH_LEN);
	p += CV_HASH_LEN;
	memcpy(p, v->voter_key, CV_KEY_LEN);
	p += CV_KEY_LEN;
	cv_put_u32(p, v->candidate_id);
	p += 4;
	cv_put_u64(p, v->timestamp);
}

void cv_vote_txid(const cv_vote *v, uint8_t txid[CV_HASH_LEN])
{
	uint8_t payload[CV_PAYLOAD_LEN];

	cv_vote_payload(v, payload);
	cv_sha256(payload, sizeof payload, txid);
}

void cv_vote_leaf(const cv_vote *v, uint8_t out[CV_LEAF_LEN])
{
	cv_vote_payload(v, out);
	memcpy(out + CV_PAYLOAD_LEN, v->signature, CV_SIG_LEN);
}

void cv_vote_leaf_hash(const cv_vote *v, uint8_t out[CV_HASH_LEN])
{
	uint8_t leaf[CV_LEAF_LEN];

	cv_vote_leaf(v, leaf);
	cv_merkle_leaf_hash(leaf, sizeof leaf, out);
}

cv_err cv_vote_sign(cv_vote *v, const cv_privkey *k)
{
	uint8_t payload[CV_PAYLOAD_LEN];

	cv_vote_payload(v, payload);
	return cv_sign(k, payload, sizeof payload, v->signature);
}

cv_err cv_votes_merkle_root(const cv_vote *votes, size_t n, uint8_t root[CV_HASH_LEN])
{
	uint8_t(*hashes)[CV_HASH_LEN] = NULL;
	size_t i;
	cv_err rc;

	if (n == 0)
		return cv_merkle_root(NULL, 0, root);
	if (n > SIZE_MAX / CV_HASH_LEN)
		return CV_E_TOO_LARGE;
	hashes = malloc(n * CV_HASH_LEN);
	if (hashes == NULL)
		return CV_E_NOMEM;
	for (i = 0; i < n; i++)
		cv_vote_leaf_hash(&votes[i], hashes[i]);
	rc = cv_merkle_root((const uint8_t(*)[CV_HASH_LEN])hashes, n, root);
	free(hashes);
	return rc;
}

uint64_t cv_now(void)
{
	time_t t = time(NULL);

	return t < 0 ? 0 : (uint64_t)t;
}

void cv_seal_leaf(const cv_seal *seal, uint8_t out[CV_SEAL_LEN])
{
	uint8_t *p = out;

	memcpy(p, CV_TAG_SEAL, sizeof CV_TAG_SEAL - 1);
	p += sizeof CV_TAG_SEAL - 1;
	memcpy(p, seal->election_id, CV_HASH_LEN);
	cv_put_u64(p + CV_HASH_LEN, seal->closed_at);
}

/* ---- changes (docs/GOVERNANCE.md) ---- */

static const char *const change_kind_names[] = {
    [CV_CHANGE_CLOSES] = "closes",
    [CV_CHANGE_VALIDATOR_KEY] = "validator_key",
    [CV_CHANGE_DIFFICULTY] = "difficulty",
};

const char *cv_change_kind_name(uint8_t kind)
{
	return kind >= CV_CHANGE_CLOSES && kind <= CV_CHANGE_DIFFICULTY ? change_kind_names[kind]
	                                                                : NULL;
}

uint8_t cv_change_kind_of(const char *name)
{
	for (unsigned k = CV_CHANGE_CLOSES; k <= CV_CHANGE_DIFFICULTY; k++)
		if (strcmp(name, change_kind_names[k]) == 0)
			return (uint8_t)k;
	return 0;
}

void cv_change_free(cv_change *c)
{
	if (c == NULL)
		return;
	free(c->signatures);
	memset(c, 0, sizeof *c);
}

cv_err cv_change_copy(const cv_change *src, cv_change *dst)
{
	*dst = *src;
	dst->signatures = NULL;
	if (src->n_signatures == 0)
		return CV_OK;
	if ((dst->signatures = malloc(src->n_signatures * sizeof *dst->signatures)) == NULL) {
		memset(dst, 0, sizeof *dst);
		return CV_E_NOMEM;
	}
	memcpy(dst->signatures, src->signatures, src->n_signatures * sizeof *dst->signatures);
	return CV_OK;
}

cv_err cv_change_message(const cv_change *c, cv_buf *b)
{
	size_t before = b->len;
	int was_failed = b->failed;
	cv_err rc = CV_OK;

	b->failed = 0;
	cv_buf_tag(b, CV_TAG_CHANGE);
	cv_buf_put(b, c->election_id, CV_HASH_LEN);
	cv_buf_u64(b, c->effective_height);
	cv_buf_u8(b, c->kind);
	switch (c->kind) {
	case CV_CHANGE_CLOSES:
		cv_buf_u64(b, c->closes);
		break;
	case CV_CHANGE_VALIDATOR_KEY:
		cv_buf_put(b, c->old_key, CV_KEY_LEN);
		cv_buf_put(b, c->new_key, CV_KEY_LEN);
		break;
	case CV_CHANGE_DIFFICULTY:
		cv_buf_u8(b, c->difficulty);
		break;
	default:
		rc = CV_E_MALFORMED;
	}
	rc = entry_done(b, before, rc);
	b->failed |= was_failed;
	return rc;
}

cv_err cv_change_leaf(const cv_change *c, cv_buf *b)
{
	size_t before = b->len;
	int was_failed = b->failed;
	cv_err rc;

	if (c->n_signatures > CV_CHANGE_MAX_SIGNATURES)
		return CV_E_TOO_LARGE;
	if ((rc = cv_change_message(c, b)) != CV_OK)
		return rc;
	b->failed = 0;
	cv_buf_u8(b, (uint8_t)c->n_signatures);
	for (size_t i = 0; i < c->n_signatures; i++) {
		cv_buf_put(b, c->signatures[i].validator_key, CV_KEY_LEN);
		cv_buf_put(b, c->signatures[i].signature, CV_SIG_LEN);
	}
	rc = entry_done(b, before, CV_OK);
	b->failed |= was_failed;
	return rc;
}

cv_err cv_change_from_leaf(const uint8_t *leaf, size_t len, cv_change *c)
{
	cv_reader r = {.p = leaf, .n = len};
	size_t n;

	memset(c, 0, sizeof *c);
	cv_rd_tag(&r, CV_TAG_CHANGE);
	cv_rd_copy(&r, c->election_id, CV_HASH_LEN);
	c->effective_height = cv_rd_u64(&r);
	c->kind = cv_rd_u8(&r);
	switch (c->kind) {
	case CV_CHANGE_CLOSES:
		c->closes = cv_rd_u64(&r);
		break;
	case CV_CHANGE_VALIDATOR_KEY:
		cv_rd_copy(&r, c->old_key, CV_KEY_LEN);
		cv_rd_copy(&r, c->new_key, CV_KEY_LEN);
		break;
	case CV_CHANGE_DIFFICULTY:
		c->difficulty = cv_rd_u8(&r);
		break;
	default:
		return CV_E_MALFORMED;
	}
	n = cv_rd_u8(&r);
	if (r.bad || cv_rd_left(&r) != n * (CV_KEY_LEN + CV_SIG_LEN))
		return CV_E_MALFORMED;
	if (n > 0 && (c->signatures = malloc(n * sizeof *c->signatures)) == NULL)
		return CV_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		cv_rd_copy(&r, c->signatures[i].validator_key, CV_KEY_LEN);
		cv_rd_copy(&r, c->signatures[i].signature, CV_SIG_LEN);
	}
	c->n_signatures = n;
	return CV_OK;
}

cv_err cv_change_add_signature(cv_change *c, const cv_approval *sig)
{
	cv_approval *grown;
	size_t at = 0;

	while (at < c->n_signatures &&
	       memcmp(c->signatures[at].validator_key, sig->validator_key, CV_KEY_LEN) < 0)
		at++;
	if (at < c->n_signatures &&
	    memcmp(c->signatures[at].validator_key, sig->validator_key, CV_KEY_LEN) == 0)
		return CV_E_EXISTS;
	if (c->n_signatures >= CV_CHANGE_MAX_SIGNATURES)
		return CV_E_TOO_LARGE;
	if ((grown = realloc(c->signatures, (c->n_signatures + 1) * sizeof *grown)) == NULL)
		return CV_E_NOMEM;
	c->signatures = grown;
	memmove(&grown[at + 1], &grown[at], (c->n_signatures - at) * sizeof *grown);
	grown[at] = *sig;
	c->n_signatures++;
	return CV_OK;
}

cv_err cv_change_id(const cv_change *c, uint8_t id[CV_HASH_LEN])
{
	cv_buf msg = {0};
	cv_err rc;

	if ((rc = cv_change_message(c, &msg)) == CV_OK)
		cv_sha256(msg.data, msg.len, id);
	cv_buf_free(&msg);
	return rc;
}

cv_err cv_change_sign(cv_change *c, const cv_privkey *k)
{
	cv_approval sig;
	cv_buf msg = {0};
	cv_err rc;

	cv_privkey_public(k, sig.validator_key);
	for (size_t i = 0; i < c->n_signatures; i++)
		if (memcmp(c->signatures[i].validator_key, sig.validator_key, CV_KEY_LEN) == 0)
			return CV_E_EXISTS;
	if ((rc = cv_change_message(c, &msg)) == CV_OK &&
	    (rc = cv_sign(k, msg.data, msg.len, sig.signature)) == CV_OK)
		rc = cv_change_add_signature(c, &sig);
	cv_buf_free(&msg);
	return rc;
}

cv_err cv_block_leaf_hashes(const cv_block *b, uint8_t (**out)[CV_HASH_LEN], size_t *n_out)
{
	uint8_t(*hashes)[CV_HASH_LEN] = NULL;
	uint8_t leaf[CV_SEAL_LEN];
	size_t n = b->n_votes + b->n_ballots + b->n_decryptions, at = 0;
	cv_buf buf = {0};
	cv_err rc = CV_OK;

	*out = NULL;
	*n_out = 0;
	if (n > SIZE_MAX / CV_HASH_LEN - 2)
		return CV_E_TOO_LARGE;
	if ((hashes = malloc((n + 2) * CV_HASH_LEN)) == NULL)
		return CV_E_NOMEM;
	for (size_t i = 0; i < b->n_votes; i++)
		cv_vote_leaf_hash(&b->votes[i], hashes[at++]);
	for (size_t i = 0; rc == CV_OK && i < b->n_ballots; i++) {
		cv_buf_reset(&buf);
		if ((rc = cv_ballot_leaf(&b->ballots[i], &buf)) == CV_OK)
			cv_merkle_leaf_hash(buf.data, buf.len, hashes[at++]);
	}
	for (size_t i = 0; rc == CV_OK && i < b->n_decryptions; i++) {
		cv_buf_reset(&buf);
		if ((rc = cv_decryption_leaf(&b->decryptions[i], &buf)) == CV_OK)
			cv_merkle_leaf_hash(buf.data, buf.len, hashes[at++]);
	}
	if (rc == CV_OK && b->has_seal) {
		cv_seal_leaf(&b->seal, leaf);
		cv_merkle_leaf_hash(leaf, sizeof leaf, hashes[at++]);
	}
	if (rc == CV_OK && b->change != NULL) {
		cv_buf_reset(&buf);
		if ((rc = cv_change_leaf(b->change, &buf)) == CV_OK)
			cv_merkle_leaf_hash(buf.data, buf.len, hashes[at++]);
	}
	cv_buf_free(&buf);
	if (rc != CV_OK) {
		free(hashes);
		return rc;
	}
	*out = hashes;
	*n_out = at;
	return CV_OK;
}

cv_err cv_block_merkle_root(const cv_block *b, uint8_t root[CV_HASH_LEN])
{
	uint8_t(*hashes)[CV_HASH_LEN] = NULL;
	size_t n;
	cv_err rc;

	if (!b->has_seal && b->change == NULL && b->n_ballots == 0 && b->n_decryptions == 0)
		return cv_votes_merkle_root(b->votes, b->n_votes, root);
	if ((rc = cv_block_leaf_hashes(b, &hashes, &n)) != CV_OK)
		return rc;
	rc = cv_merkle_root((const uint8_t(*)[CV_HASH_LEN])hashes, n, root);
	free(hashes);
	return rc;
}

void cv_header_encode(const cv_header *h, uint8_t out[CV_HEADER_LEN])
{
	cv_put_u32(out, h->version);
	cv_put_u64(out + 4, h->height);
	memcpy(out + 12, h->prev_hash, CV_HASH_LEN);
	memcpy(out + 44, h->merkle_root, CV_HASH_LEN);
	cv_put_u64(out + 76, h->timestamp);
	cv_put_u32(out + 84, h->difficulty);
	cv_put_u64(out + 88, h->nonce);
}

void cv_header_hash(const cv_header *h, uint8_t out[CV_HASH_LEN])
{
	uint8_t enc[CV_HEADER_LEN];

	cv_header_encode(h, enc);
	cv_sha256(enc, sizeof enc, out);
}

void cv_approval_message(const uint8_t block_hash[CV_HASH_LEN], uint8_t out[CV_APPROVAL_MSG_LEN])
{
	memcpy(out, CV_TAG_APPROVE, sizeof CV_TAG_APPROVE - 1);
	memcpy(out + sizeof CV_TAG_APPROVE - 1, block_hash, CV_HASH_LEN);
}

cv_err cv_rejection_message(const uint8_t block_hash[CV_HASH_LEN], const char *reason, cv_buf *b)
{
	size_t before = b->len;
	int was_failed = b->failed;
	cv_err rc;

	b->failed = 0;
	cv_buf_tag(b, CV_TAG_REJECT);
	cv_buf_put(b, block_hash, CV_HASH_LEN);
	rc = cv_buf_text(b, reason);
	rc = entry_done(b, before, rc);
	b->failed |= was_failed;
	return rc;
}
