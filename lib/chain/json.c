/* The public JSON of DESIGN section 3, both ways, with json-c. Input comes from voters,
 * miners and downloaded exports, so every reader here is strict: a lexical pre-scan, a
 * depth-limited strict parse, exact key sets, exact integer types and ranges, exact hex. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Where a parse is, so that a failure can say "block 2 vote 0: candidate_id: ...".
 * Public entry points pass NULL and get only the error value. */
typedef struct pstate {
	char *why;
	size_t why_len;
	int64_t block;    /* block index in the export, or -1 */
	const char *item; /* "vote", "approval", "candidate", ... or NULL */
	int64_t item_index;
	cv_json_txid_fn bad_txid;
	void *ctx;
} pstate;

static cv_err fail(pstate *ps, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first (innermost) failure with its place; always CV_E_MALFORMED. */
static cv_err fail(pstate *ps, const char *key, const char *fmt, ...)
{
	char what[128];
	va_list ap;
	size_t off = 0;

	if (ps == NULL || ps->why == NULL || ps->why_len == 0 || ps->why[0] != '\0')
		return CV_E_MALFORMED;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (ps->block >= 0)
		off += (size_t)snprintf(ps->why, ps->why_len, "block %lld ", (long long)ps->block);
	if (ps->item != NULL && off < ps->why_len) {
		if (ps->item_index >= 0)
			off += (size_t)snprintf(ps->why + off, ps->why_len - off, "%s %lld ",
			                        ps->item, (long long)ps->item_index);
		else
			off += (size_t)snprintf(ps->why + off, ps->why_len - off, "%s ", ps->item);
	}
	if (off < ps->why_len)
		snprintf(ps->why + off, ps->why_len - off, "%s%s%s", key ? key : "",
		         key ? ": " : "", what);
	return CV_E_MALFORMED;
}

/* ---- parsing ---- */

/* Length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) starting at p, or 0. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* json-c's strict mode still takes single-quoted strings, NaN and Infinity, its UTF-8
 * check lets overlong forms through, and NUL bytes end its view of the input early;
 * one pass over the input closes those doors before the tokenizer runs: outside
 * strings only the bytes JSON allows there, inside strings well-formed UTF-8. */
static int lexically_json(const char *text, size_t len)
{
	int in_string = 0, escaped = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\0')
			return 0;
		if (c >= 0x80) {
			size_t n =
			    in_string ? utf8_len((const unsigned char *)text + i, len - i) : 0;

			if (n == 0)
				return 0;
			i += n - 1;
			escaped = 0;
			continue;
		}
		if (in_string) {
			if (escaped)
				escaped = 0;
			else if (c == '\\')
				escaped = 1;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == '"') {
			in_string = 1;
			continue;
		}
		if (strchr(" \t\n\r{}[]:,0123456789-+.eEtrufalsn", c) == NULL)
			return 0;
	}
	return !in_string;
}

cv_err cv_json_parse(const char *text, size_t len, json_object **out)
{
	json_tokener *tok = NULL;
	json_object *o = NULL;
	cv_err rc = CV_E_MALFORMED;
	size_t end;

	*out = NULL;
	if (len > INT_MAX)
		return CV_E_TOO_LARGE;
	if (!lexically_json(text, len))
		return CV_E_MALFORMED;
	tok = json_tokener_new_ex(CV_JSON_MAX_DEPTH);
	if (tok == NULL)
		return CV_E_NOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o == NULL && json_tokener_get_error(tok) == json_tokener_continue && len > 0) {
		/* a bare top-level number is complete only once something follows it */
		o = json_tokener_parse_ex(tok, " ", 1);
		len++;
		text = NULL;
	}
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success)
		goto out;
	end = json_tokener_get_parse_end(tok);
	for (; text != NULL && end < len; end++)
		if (strchr(" \t\n\r", text[end]) == NULL)
			goto out;
	*out = o;
	o = NULL;
	rc = CV_OK;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

static cv_err get_field(pstate *ps, const json_object *o, const char *key, json_type type,
                        json_object **val)
{
	*val = NULL;
	if (!json_object_is_type(o, json_type_object))
		return fail(ps, NULL, "not an object");
	if (!json_object_object_get_ex(o, key, val) || *val == NULL)
		return fail(ps, key, "missing");
	if (!json_object_is_type(*val, type))
		return fail(ps, key, "not %s %s",
		            type == json_type_int || type == json_type_array ||
		                    type == json_type_object
		                ? "an"
		                : "a",
		            json_type_to_name(type));
	return CV_OK;
}

static cv_err get_hex(pstate *ps, const json_object *o, const char *key, uint8_t *out, size_t n)
{
	json_object *val;
	cv_err rc;

	if ((rc = get_field(ps, o, key, json_type_string, &val)) != CV_OK)
		return rc;
	if ((size_t)json_object_get_string_len(val) != 2 * n ||
	    cv_hex_decode(json_object_get_string(val), out, n) != CV_OK)
		return fail(ps, key, "not %zu bytes of lowercase hex", n);
	return CV_OK;
}

/* json-c clamps integers beyond 64 bits to INT64_MIN or UINT64_MAX without an error,
 * so UINT64_MAX itself is refused: it cannot be told apart from an overflow. */
static cv_err get_u64(pstate *ps, const json_object *o, const char *key, uint64_t max,
                      uint64_t *out)
{
	json_object *val;
	uint64_t u = 0;
	cv_err rc;

	if ((rc = get_field(ps, o, key, json_type_int, &val)) != CV_OK)
		return rc;
	if (json_object_get_int64(val) < 0)
		return fail(ps, key, "negative");
	u = json_object_get_uint64(val);
	if (u > max || u == UINT64_MAX)
		return fail(ps, key, "out of range");
	*out = u;
	return CV_OK;
}

static cv_err get_text(pstate *ps, const json_object *o, const char *key, char *out)
{
	json_object *val;
	const char *s;
	size_t len;
	cv_err rc;

	if ((rc = get_field(ps, o, key, json_type_string, &val)) != CV_OK)
		return rc;
	len = (size_t)json_object_get_string_len(val);
	s = json_object_get_string(val);
	if (len > CV_TEXT_MAX)
		return fail(ps, key, "longer than %d bytes", CV_TEXT_MAX);
	if (memchr(s, '\0', len) != NULL || !cv_text_ok(s))
		return fail(ps, key, "not a single-line UTF-8 text");
	memcpy(out, s, len + 1);
	return CV_OK;
}

static cv_err only_keys(pstate *ps, const json_object *o, const char *const *allowed)
{
	if (!json_object_is_type(o, json_type_object))
		return fail(ps, NULL, "not an object");
	json_object_object_foreach((json_object *)o, key, val)
	{
		size_t i;

		(void)val;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return fail(ps, NULL, "unknown key \"%.40s\"", key);
	}
	return CV_OK;
}

cv_err cv_json_get_hex(const json_object *o, const char *key, uint8_t *out, size_t n)
{
	return get_hex(NULL, o, key, out, n);
}

cv_err cv_json_get_u64(const json_object *o, const char *key, uint64_t max, uint64_t *out)
{
	return get_u64(NULL, o, key, max, out);
}

cv_err cv_json_get_text(const json_object *o, const char *key, char *out)
{
	return get_text(NULL, o, key, out);
}

cv_err cv_json_only_keys(const json_object *o, const char *const *allowed)
{
	return only_keys(NULL, o, allowed);
}

static const char *const vote_keys[] = {
    "election_id", "voter_key", "candidate_id", "timestamp", "signature", "txid", NULL};
static const char *const approval_keys[] = {"validator_key", "signature", NULL};
static const char *const block_keys[] = {
    "version", "height", "hash", "prev_hash", "merkle_root", "timestamp", "difficulty",
    "nonce",   "votes",  "seal", "approvals", "decryptions", "change",    NULL};
static const char *const seal_keys[] = {"election_id", "closed_at", NULL};
static const char *const genesis_keys[] = {
    "version", "height",   "hash",       "prev_hash",  "merkle_root", "timestamp", "difficulty",
    "nonce",   "election", "candidates", "validators", "voters",      "secrecy",   NULL};
static const char *const election_keys[] = {"title", "threshold", "difficulty", "max_block_votes",
                                            "opens", "closes",    NULL};
static const char *const candidate_keys[] = {"id", "name", NULL};
static const char *const validator_keys[] = {"key", "name", NULL};

static cv_err vote_parse(pstate *ps, const json_object *o, cv_vote *v)
{
	uint8_t stated[CV_HASH_LEN], txid[CV_HASH_LEN];
	json_object *val;
	uint64_t u = 0;
	cv_err rc;

	memset(v, 0, sizeof(*v));
	if ((rc = only_keys(ps, o, vote_keys)) != CV_OK ||
	    (rc = get_hex(ps, o, "election_id", v->election_id, CV_HASH_LEN)) != CV_OK ||
	    (rc = get_hex(ps, o, "voter_key", v->voter_key, CV_KEY_LEN)) != CV_OK ||
	    (rc = get_u64(ps, o, "candidate_id", UINT32_MAX, &u)) != CV_OK)
		return rc;
	v->candidate_id = (uint32_t)u;
	if ((rc = get_u64(ps, o, "timestamp", UINT64_MAX, &v->timestamp)) != CV_OK ||
	    (rc = get_hex(ps, o, "signature", v->signature, CV_SIG_LEN)) != CV_OK)
		return rc;
	if (json_object_object_get_ex(o, "txid", &val)) {
		if ((rc = get_hex(ps, o, "txid", stated, CV_HASH_LEN)) != CV_OK)
			return rc;
		cv_vote_txid(v, txid);
		if (memcmp(stated, txid, CV_HASH_LEN) != 0) {
			/* an auditor hears of it and reads on; everyone else refuses */
			if (ps == NULL || ps->bad_txid == NULL)
				return CV_E_BAD_HASH;
			ps->bad_txid(ps->ctx, (size_t)ps->block, (size_t)ps->item_index);
		}
	}
	return CV_OK;
}

cv_err cv_vote_from_json(const json_object *o, cv_vote *v)
{
	return vote_parse(NULL, o, v);
}

static cv_err approval_parse(pstate *ps, const json_object *o, cv_approval *a)
{
	cv_err rc;

	memset(a, 0, sizeof(*a));
	if ((rc = only_keys(ps, o, approval_keys)) != CV_OK ||
	    (rc = get_hex(ps, o, "validator_key", a->validator_key, CV_KEY_LEN)) != CV_OK ||
	    (rc = get_hex(ps, o, "signature", a->signature, CV_SIG_LEN)) != CV_OK)
		return rc;
	return CV_OK;
}

/* "seal": {"election_id", "closed_at"}, when the block has the key. */
static cv_err seal_parse(pstate *ps, const json_object *o, cv_block *b)
{
	json_object *so;
	cv_err rc;

	if (!json_object_object_get_ex(o, "seal", NULL))
		return CV_OK;
	if ((rc = get_field(ps, o, "seal", json_type_object, &so)) != CV_OK)
		return rc;
	if ((rc = only_keys(ps, so, seal_keys)) != CV_OK ||
	    (rc = get_hex(ps, so, "election_id", b->seal.election_id, CV_HASH_LEN)) != CV_OK ||
	    (rc = get_u64(ps, so, "closed_at", UINT64_MAX, &b->seal.closed_at)) != CV_OK)
		return rc;
	b->has_seal = true;
	return CV_OK;
}

cv_err cv_seal_from_json(const json_object *o, cv_block *b)
{
	b->has_seal = false;
	return seal_parse(NULL, o, b);
}

cv_err cv_approval_from_json(const json_object *o, cv_approval *a)
{
	return approval_parse(NULL, o, a);
}

/* The array under key (NULL key: o itself) with its length; *n 0 means *arr may be
 * anything. Allocates nothing. */
static cv_err get_array(pstate *ps, const json_object *o, const char *key, json_object **arr,
                        size_t *n)
{
	cv_err rc;

	if ((rc = get_field(ps, o, key, json_type_array, arr)) != CV_OK)
		return rc;
	*n = json_object_array_length(*arr);
	return CV_OK;
}

/* calloc that answers a usable pointer for n == 0 too, so that "no items" and "no
 * memory" stay apart. */
static void *alloc_items(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

/* ---- secret elections (DESIGN section 6.1) ---- */

static const char *const secrecy_keys[] = {"quorum", "trustees", NULL};
static const char *const trustee_keys[] = {"setup_hash", "validator_key", "commitments",
                                           "proofs",     "signature",     NULL};
static const char *const cv_keys[] = {"c", "v", NULL};
static const char *const ballot_keys[] = {"election_id", "voter_key", "timestamp",
                                          "ciphertexts", "proofs",    "sum_proof",
                                          "signature",   "txid",      NULL};
static const char *const ciphertext_keys[] = {"a", "b", NULL};
static const char *const ballot_proof_keys[] = {"c0", "v0", "c1", "v1", NULL};
static const char *const decryption_keys[] = {
    "election_id", "validator_key", "through_height", "shares", "signature", "txid", NULL};
static const char *const share_keys[] = {"d", "c", "v", NULL};

/* A string of exactly n bytes of lowercase hex, o itself (an array's item). */
static cv_err hex_item(pstate *ps, json_object *o, uint8_t *out, size_t n)
{
	if (!json_object_is_type(o, json_type_string) ||
	    (size_t)json_object_get_string_len(o) != 2 * n ||
	    cv_hex_decode(json_object_get_string(o), out, n) != CV_OK)
		return fail(ps, NULL, "not %zu bytes of lowercase hex", n);
	return CV_OK;
}

/* The array under key with at most max items. */
static cv_err get_array_max(pstate *ps, const json_object *o, const char *key, size_t max,
                            json_object **arr, size_t *n)
{
	json_object *val;
	cv_err rc;

	if ((rc = get_field(ps, o, key, json_type_array, &val)) != CV_OK)
		return rc;
	*arr = val;
	*n = json_object_array_length(val);
	if (*n > max)
		return fail(ps, key, "more than %zu items", max);
	return CV_OK;
}

static cv_err trustee_parse(pstate *ps, const json_object *o, cv_trustee *t)
{
	json_object *carr, *parr, *item;
	size_t nc, np;
	cv_err rc;

	if ((rc = only_keys(ps, o, trustee_keys)) != CV_OK ||
	    (rc = get_hex(ps, o, "setup_hash", t->setup_hash, CV_HASH_LEN)) != CV_OK ||
	    (rc = get_hex(ps, o, "validator_key", t->validator_key, CV_KEY_LEN)) != CV_OK ||
	    (rc = get_array_max(ps, o, "commitments", CV_MAX_QUORUM, &carr, &nc)) != CV_OK ||
	    (rc = get_array_max(ps, o, "proofs", CV_MAX_QUORUM, &parr, &np)) != CV_OK ||
	    (rc = get_hex(ps, o, "signature", t->signature, CV_SIG_LEN)) != CV_OK)
		return rc;
	if (nc != np)
		return fail(ps, "proofs", "%zu proofs for %zu commitments", np, nc);
	if ((rc = cv_trustee_alloc(t, nc)) != CV_OK)
		return rc;
	for (size_t k = 0; k < nc; k++) {
		item = json_object_array_get_idx(parr, k);
		if ((rc = hex_item(ps, json_object_array_get_idx(carr, k), t->commitments[k],
		                   CV_POINT_LEN)) != CV_OK ||
		    (rc = only_keys(ps, item, cv_keys)) != CV_OK ||
		    (rc = get_hex(ps, item, "c", t->proof_c[k], CV_SCALAR_LEN)) != CV_OK ||
		    (rc = get_hex(ps, item, "v", t->proof_v[k], CV_SCALAR_LEN)) != CV_OK)
			return rc;
	}
	return CV_OK;
}

/* "secrecy": {"quorum", "trustees"}, when the genesis has the key. */
static cv_err secrecy_parse(pstate *ps, const json_object *o, cv_genesis *g)
{
	json_object *so, *arr;
	uint64_t u = 0;
	size_t n;
	cv_err rc;

	if (!json_object_object_get_ex(o, "secrecy", NULL))
		return CV_OK;
	if ((rc = get_field(ps, o, "secrecy", json_type_object, &so)) != CV_OK)
		return rc;
	ps->item = "secrecy";
	ps->item_index = -1;
	if ((rc = only_keys(ps, so, secrecy_keys)) != CV_OK ||
	    (rc = get_u64(ps, so, "quorum", UINT8_MAX, &u)) != CV_OK ||
	    (rc = get_array_max(ps, so, "trustees", UINT8_MAX, &arr, &n)) != CV_OK)
		return rc;
	if ((g->secrecy = calloc(1, sizeof(*g->secrecy))) == NULL ||
	    (g->secrecy->trustees = alloc_items(n, sizeof(cv_trustee))) == NULL)
		return CV_E_NOMEM;
	g->secrecy->quorum = (uint8_t)u;
	g->secrecy->n_trustees = n;
	ps->item = "trustee";
	for (size_t i = 0; i < n; i++) {
		ps->item_index = (int64_t)i;
		rc = trustee_parse(ps, json_object_array_get_idx(arr, i), &g->secrecy->trustees[i]);
		if (rc != CV_OK)
			return rc;
	}
	ps->item = NULL;
	return CV_OK;
}

/* A stated txid: compared with the computed one; an auditor hears of a mismatch. */
static cv_err stated_txid(pstate *ps, const json_object *o, const uint8_t txid[CV_HASH_LEN])
{
	uint8_t stated[CV_HASH_LEN];
	cv_err rc;

	if (!json_object_object_get_ex(o, "txid", NULL))
		return CV_OK;
	if ((rc = get_hex(ps, o, "txid", stated, CV_HASH_LEN)) != CV_OK)
		return rc;
	if (memcmp(stated, txid, CV_HASH_LEN) != 0) {
		if (ps == NULL || ps->bad_txid == NULL)
			return CV_E_BAD_HASH;
		ps->bad_txid(ps->ctx, (size_t)ps->block, (size_t)ps->item_index);
	}
	return CV_OK;
}

static cv_err vote_parse(pstate *ps, const json_object *o, cv_vote *v);

/* An item of a secret block's "votes": a ballot, or an open vote kept to be refused. */
static cv_err ballot_parse(pstate *ps, const json_object *o, cv_ballot *b)
{
	json_object *carr, *parr, *sp, *item;
	uint8_t txid[CV_HASH_LEN];
	size_t nc, np;
	cv_err rc;

	memset(b, 0, sizeof(*b));
	if (json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "candidate_id", NULL)) {
		cv_vote v;

		if ((rc = vote_parse(ps, o, &v)) != CV_OK)
			return rc;
		b->is_vote = true;
		memcpy(b->election_id, v.election_id, CV_HASH_LEN);
		memcpy(b->voter_key, v.voter_key, CV_KEY_LEN);
		b->timestamp = v.timestamp;
		b->vote_candidate = v.candidate_id;
		memcpy(b->signature, v.signature, CV_SIG_LEN);
		return CV_OK;
	}
	if ((rc = only_keys(ps, o, ballot_keys)) != CV_OK ||
	    (rc = get_hex(ps, o, "election_id", b->election_id, CV_HASH_LEN)) != CV_OK ||
	    (rc = get_hex(ps, o, "voter_key", b->voter_key, CV_KEY_LEN)) != CV_OK ||
	    (rc = get_u64(ps, o, "timestamp", UINT64_MAX, &b->timestamp)) != CV_OK ||
	    (rc = get_array_max(ps, o, "ciphertexts", CV_MAX_K, &carr, &nc)) != CV_OK ||
	    (rc = get_array_max(ps, o, "proofs", CV_MAX_K, &parr, &np)) != CV_OK ||
	    (rc = get_field(ps, o, "sum_proof", json_type_object, &sp)) != CV_OK ||
	    (rc = only_keys(ps, sp, cv_keys)) != CV_OK ||
	    (rc = get_hex(ps, sp, "c", b->sum_c, CV_SCALAR_LEN)) != CV_OK ||
	    (rc = get_hex(ps, sp, "v", b->sum_v, CV_SCALAR_LEN)) != CV_OK ||
	    (rc = get_hex(ps, o, "signature", b->signature, CV_SIG_LEN)) != CV_OK)
		return rc;
	if (nc != np)
		return fail(ps, "proofs", "%zu proofs for %zu ciphertexts", np, nc);
	if ((rc = cv_ballot_alloc(b, nc)) != CV_OK)
		return rc;
	for (size_t i = 0; i < nc; i++) {
		item = json_object_array_get_idx(carr, i);
		if ((rc = only_keys(ps, item, ciphertext_keys)) != CV_OK ||
		    (rc = get_hex(ps, item, "a", b->cts[i].a, CV_POINT_LEN)) != CV_OK ||
		    (rc = get_hex(ps, item, "b", b->cts[i].b, CV_POINT_LEN)) != CV_OK)
			return rc;
		item = json_object_array_get_idx(parr, i);
		if ((rc = only_keys(ps, item, ballot_proof_keys)) != CV_OK ||
		    (rc = get_hex(ps, item, "c0", b->proofs[i].c0, CV_SCALAR_LEN)) != CV_OK ||
		    (rc = get_hex(ps, item, "v0", b->proofs[i].v0, CV_SCALAR_LEN)) != CV_OK ||
		    (rc = get_hex(ps, item, "c1", b->proofs[i].c1, CV_SCALAR_LEN)) != CV_OK ||
		    (rc = get_hex(ps, item, "v1", b->proofs[i].v1, CV_SCALAR_LEN)) != CV_OK)
			return rc;
	}
	if ((rc = cv_ballot_txid(b, txid)) != CV_OK)
		return rc;
	return stated_txid(ps, o, txid);
}

static cv_err decryption_parse(pstate *ps, const json_object *o, cv_decryption *d)
{
	json_object *arr, *item;
	uint8_t txid[CV_HASH_LEN];
	size_t n;
	cv_err rc;

	memset(d, 0, sizeof(*d));
	if ((rc = only_keys(ps, o, decryption_keys)) != CV_OK ||
	    (rc = get_hex(ps, o, "election_id", d->election_id, CV_HASH_LEN)) != CV_OK ||
	    (rc = get_hex(ps, o, "validator_key", d->validator_key, CV_KEY_LEN)) != CV_OK ||
	    (rc = get_u64(ps, o, "through_height", UINT64_MAX, &d->through_height)) != CV_OK ||
	    (rc = get_array_max(ps, o, "shares", CV_MAX_K, &arr, &n)) != CV_OK ||
	    (rc = get_hex(ps, o, "signature", d->signature, CV_SIG_LEN)) != CV_OK)
		return rc;
	if ((rc = cv_decryption_alloc(d, n)) != CV_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		item = json_object_array_get_idx(arr, i);
		if ((rc = only_keys(ps, item, share_keys)) != CV_OK ||
		    (rc = get_hex(ps, item, "d", d->shares[i].d, CV_POINT_LEN)) != CV_OK ||
		    (rc = get_hex(ps, item, "c", d->shares[i].c, CV_SCALAR_LEN)) != CV_OK ||
		    (rc = get_hex(ps, item, "v", d->shares[i].v, CV_SCALAR_LEN)) != CV_OK)
			return rc;
	}
	if ((rc = cv_decryption_txid(d, txid)) != CV_OK)
		return rc;
	return stated_txid(ps, o, txid);
}

cv_err cv_ballot_from_json(const json_object *o, cv_ballot *b)
{
	cv_err rc = ballot_parse(NULL, o, b);

	if (rc != CV_OK)
		cv_ballot_free(b);
	return rc;
}

cv_err cv_decryption_from_json(const json_object *o, cv_decryption *d)
{
	cv_err rc = decryption_parse(NULL, o, d);

	if (rc != CV_OK)
		cv_decryption_free(d);
	return rc;
}

/* A secret block's "votes" (ballots) and "decryptions". */
static cv_err secret_items_parse(pstate *ps, const json_object *o, cv_block *b)
{
	json_object *arr;
	size_t n;
	cv_err rc;

	b->secret = true;
	if ((rc = get_array(ps, o, "votes", &arr, &n)) != CV_OK)
		return rc;
	if ((b->ballots = alloc_items(n, sizeof(*b->ballots))) == NULL)
		return CV_E_NOMEM;
	ps->item = "ballot";
	for (size_t i = 0; i < n; i++) {
		ps->item_index = (int64_t)i;
		b->n_ballots = i + 1; /* so that a failed item is freed with the block */
		rc = ballot_parse(ps, json_object_array_get_idx(arr, i), &b->ballots[i]);
		if (rc != CV_OK)
			return rc;
	}
	ps->item = NULL;
	if ((rc = get_array(ps, o, "decryptions", &arr, &n)) != CV_OK)
		return rc;
	if ((b->decryptions = alloc_items(n, sizeof(*b->decryptions))) == NULL)
		return CV_E_NOMEM;
	ps->item = "decryption";
	for (size_t i = 0; i < n; i++) {
		ps->item_index = (int64_t)i;
		b->n_decryptions = i + 1;
		rc = decryption_parse(ps, json_object_array_get_idx(arr, i), &b->decryptions[i]);
		if (rc != CV_OK)
			return rc;
	}
	ps->item = NULL;
	return CV_OK;
}

static cv_err election_parse(pstate *ps, const json_object *o, cv_election *e)
{
	json_object *eo;
	uint64_t u = 0;
	cv_err rc;

	if ((rc = get_field(ps, o, "election", json_type_object, &eo)) != CV_OK)
		return rc;
	ps->item = "election";
	ps->item_index = -1;
	if ((rc = only_keys(ps, eo, election_keys)) != CV_OK ||
	    (rc = get_text(ps, eo, "title", e->title)) != CV_OK ||
	    (rc = get_u64(ps, eo, "threshold", UINT8_MAX, &u)) != CV_OK)
		return rc;
	e->threshold = (uint8_t)u;
	if ((rc = get_u64(ps, eo, "difficulty", UINT8_MAX, &u)) != CV_OK)
		return rc;
	e->difficulty = (uint8_t)u;
	if ((rc = get_u64(ps, eo, "max_block_votes", UINT32_MAX, &u)) != CV_OK)
		return rc;
	e->max_block_votes = (uint32_t)u;
	if ((rc = get_u64(ps, eo, "opens", UINT64_MAX, &e->opens)) != CV_OK ||
	    (rc = get_u64(ps, eo, "closes", UINT64_MAX, &e->closes)) != CV_OK)
		return rc;
	ps->item = NULL;
	return CV_OK;
}

/* The genesis content of a height-0 block, in the order given (the rules check it). */
/* One key of the roll: a string of exactly 130 lowercase hex digits. */
static cv_err voter_parse(pstate *ps, json_object *item, uint8_t key[CV_KEY_LEN])
{
	if (!json_object_is_type(item, json_type_string))
		return fail(ps, NULL, "not a string");
	if ((size_t)json_object_get_string_len(item) != 2 * CV_KEY_LEN ||
	    cv_hex_decode(json_object_get_string(item), key, CV_KEY_LEN) != CV_OK)
		return fail(ps, NULL, "not %d bytes of lowercase hex", CV_KEY_LEN);
	return CV_OK;
}

static cv_err genesis_parse(pstate *ps, const json_object *o, cv_genesis *g)
{
	json_object *arr, *item;
	uint64_t u = 0;
	size_t n;
	cv_err rc;

	if ((rc = election_parse(ps, o, &g->election)) != CV_OK)
		return rc;

	if ((rc = get_array(ps, o, "candidates", &arr, &n)) != CV_OK)
		return rc;
	if ((g->candidates = alloc_items(n, sizeof(*g->candidates))) == NULL)
		return CV_E_NOMEM;
	g->n_candidates = n;
	ps->item = "candidate";
	for (size_t i = 0; i < n; i++) {
		ps->item_index = (int64_t)i;
		item = json_object_array_get_idx(arr, i);
		if ((rc = only_keys(ps, item, candidate_keys)) != CV_OK ||
		    (rc = get_u64(ps, item, "id", UINT32_MAX, &u)) != CV_OK ||
		    (rc = get_text(ps, item, "name", g->candidates[i].name)) != CV_OK)
			return rc;
		g->candidates[i].id = (uint32_t)u;
	}

	ps->item = NULL;
	if ((rc = get_array(ps, o, "validators", &arr, &n)) != CV_OK)
		return rc;
	if ((g->validators = alloc_items(n, sizeof(*g->validators))) == NULL)
		return CV_E_NOMEM;
	g->n_validators = n;
	ps->item = "validator";
	for (size_t i = 0; i < n; i++) {
		ps->item_index = (int64_t)i;
		item = json_object_array_get_idx(arr, i);
		if ((rc = only_keys(ps, item, validator_keys)) != CV_OK ||
		    (rc = get_hex(ps, item, "key", g->validators[i].key, CV_KEY_LEN)) != CV_OK ||
		    (rc = get_text(ps, item, "name", g->validators[i].name)) != CV_OK)
			return rc;
	}

	ps->item = NULL;
	if ((rc = secrecy_parse(ps, o, g)) != CV_OK)
		return rc;
	if ((rc = get_array(ps, o, "voters", &arr, &n)) != CV_OK)
		return rc;
	if ((g->voters = alloc_items(n, sizeof(*g->voters))) == NULL)
		return CV_E_NOMEM;
	g->n_voters = n;
	ps->item = "voter";
	for (size_t i = 0; i < n; i++) {
		ps->item_index = (int64_t)i;
		if ((rc = voter_parse(ps, json_object_array_get_idx(arr, i), g->voters[i])) !=
		    CV_OK)
			return rc;
	}
	ps->item = NULL;
	return CV_OK;
}

/* ---- changes (docs/GOVERNANCE.md) ---- */

static const char *const change_closes_keys[] = {"election_id", "effective_height", "kind",
                                                 "closes",      "signatures",       NULL};
static const char *const change_key_keys[] = {"election_id", "effective_height", "kind", "old_key",
                                              "new_key",     "signatures",       NULL};
static const char *const change_difficulty_keys[] = {"election_id", "effective_height", "kind",
                                                     "difficulty",  "signatures",       NULL};

/* {"election_id", "effective_height", "kind", the kind's fields, "signatures"}. On failure
 * *c is left zeroed (nothing to free). */
static cv_err change_parse(pstate *ps, const json_object *o, cv_change *c)
{
	const char *const *keys;
	json_object *val, *arr;
	uint64_t u = 0;
	size_t n = 0;
	cv_err rc;

	memset(c, 0, sizeof(*c));
	if ((rc = get_field(ps, o, "kind", json_type_string, &val)) != CV_OK)
		return rc;
	c->kind = cv_change_kind_of(json_object_get_string(val));
	keys = c->kind == CV_CHANGE_CLOSES          ? change_closes_keys
	       : c->kind == CV_CHANGE_VALIDATOR_KEY ? change_key_keys
	       : c->kind == CV_CHANGE_DIFFICULTY    ? change_difficulty_keys
	                                            : NULL;
	if (keys == NULL)
		return fail(ps, "kind", "not closes, validator_key or difficulty");
	if ((rc = only_keys(ps, o, keys)) != CV_OK ||
	    (rc = get_hex(ps, o, "election_id", c->election_id, CV_HASH_LEN)) != CV_OK ||
	    (rc = get_u64(ps, o, "effective_height", UINT64_MAX, &c->effective_height)) != CV_OK)
		goto err;
	if (c->kind == CV_CHANGE_CLOSES)
		rc = get_u64(ps, o, "closes", UINT64_MAX, &c->closes);
	else if (c->kind == CV_CHANGE_VALIDATOR_KEY &&
	         (rc = get_hex(ps, o, "old_key", c->old_key, CV_KEY_LEN)) == CV_OK)
		rc = get_hex(ps, o, "new_key", c->new_key, CV_KEY_LEN);
	else if (c->kind == CV_CHANGE_DIFFICULTY &&
	         (rc = get_u64(ps, o, "difficulty", UINT8_MAX, &u)) == CV_OK)
		c->difficulty = (uint8_t)u;
	if (rc != CV_OK ||
	    (rc = get_array_max(ps, o, "signatures", CV_CHANGE_MAX_SIGNATURES, &arr, &n)) != CV_OK)
		goto err;
	if ((c->signatures = alloc_items(n, sizeof(*c->signatures))) == NULL) {
		rc = CV_E_NOMEM;
		goto err;
	}
	c->n_signatures = n;
	for (size_t i = 0; i < n; i++)
		if ((rc = approval_parse(ps, json_object_array_get_idx(arr, i),
		                         &c->signatures[i])) != CV_OK)
			goto err;
	return CV_OK;
err:
	cv_change_free(c);
	return rc;
}

cv_err cv_change_from_json(const json_object *o, cv_change *c)
{
	return change_parse(NULL, o, c);
}

/* "change": {...}, when the block has the key. */
static cv_err block_change_parse(pstate *ps, const json_object *o, cv_block *b)
{
	json_object *co;
	cv_err rc;

	if (!json_object_object_get_ex(o, "change", NULL))
		return CV_OK;
	if ((rc = get_field(ps, o, "change", json_type_object, &co)) != CV_OK)
		return rc;
	if ((b->change = calloc(1, sizeof(*b->change))) == NULL)
		return CV_E_NOMEM;
	ps->item = "change";
	ps->item_index = 0;
	rc = change_parse(ps, co, b->change);
	ps->item = NULL;
	return rc;
}

static cv_err block_parse(pstate *ps, const json_object *o, cv_block *b)
{
	json_object *arr, *val;
	cv_header *h = &b->header;
	uint64_t u = 0;
	size_t n;
	cv_err rc;

	memset(b, 0, sizeof(*b));
	ps->item = NULL;
	if (!json_object_is_type(o, json_type_object)) {
		rc = fail(ps, NULL, "not an object");
		goto err;
	}
	/* the height decides which of the two forms the block must have */
	if ((rc = get_u64(ps, o, "height", UINT64_MAX, &h->height)) != CV_OK ||
	    (rc = only_keys(ps, o, h->height == 0 ? genesis_keys : block_keys)) != CV_OK ||
	    (rc = get_u64(ps, o, "version", UINT32_MAX, &u)) != CV_OK)
		goto err;
	h->version = (uint32_t)u;
	if ((rc = get_hex(ps, o, "hash", b->hash, CV_HASH_LEN)) != CV_OK ||
	    (rc = get_hex(ps, o, "prev_hash", h->prev_hash, CV_HASH_LEN)) != CV_OK ||
	    (rc = get_hex(ps, o, "merkle_root", h->merkle_root, CV_HASH_LEN)) != CV_OK ||
	    (rc = get_u64(ps, o, "timestamp", UINT64_MAX, &h->timestamp)) != CV_OK ||
	    (rc = get_u64(ps, o, "difficulty", UINT32_MAX, &u)) != CV_OK)
		goto err;
	h->difficulty = (uint32_t)u;
	if ((rc = get_u64(ps, o, "nonce", CV_NONCE_LIMIT - 1, &h->nonce)) != CV_OK)
		goto err;

	if (h->height == 0) {
		if ((b->genesis = calloc(1, sizeof(*b->genesis))) == NULL) {
			rc = CV_E_NOMEM;
			goto err;
		}
		if ((rc = genesis_parse(ps, o, b->genesis)) != CV_OK)
			goto err;
		return CV_OK;
	}

	/* a secret election's blocks have "decryptions" (section 6.1); their "votes" are
	 * ballots */
	if (json_object_object_get_ex(o, "decryptions", NULL)) {
		if ((rc = secret_items_parse(ps, o, b)) != CV_OK)
			goto err;
	} else {
		if ((rc = get_array(ps, o, "votes", &arr, &n)) != CV_OK)
			goto err;
		if ((b->votes = alloc_items(n, sizeof(*b->votes))) == NULL) {
			rc = CV_E_NOMEM;
			goto err;
		}
		b->n_votes = n;
		ps->item = "vote";
		for (size_t i = 0; i < n; i++) {
			ps->item_index = (int64_t)i;
			rc = vote_parse(ps, json_object_array_get_idx(arr, i), &b->votes[i]);
			if (rc != CV_OK)
				goto err;
		}
	}
	ps->item = NULL;
	if ((rc = seal_parse(ps, o, b)) != CV_OK || (rc = block_change_parse(ps, o, b)) != CV_OK)
		goto err;

	n = 0;
	if (json_object_object_get_ex(o, "approvals", &val) &&
	    (rc = get_array(ps, o, "approvals", &arr, &n)) != CV_OK)
		goto err;
	if ((b->approvals = alloc_items(n, sizeof(*b->approvals))) == NULL) {
		rc = CV_E_NOMEM;
		goto err;
	}
	b->n_approvals = n;
	ps->item = "approval";
	for (size_t i = 0; i < n; i++) {
		ps->item_index = (int64_t)i;
		rc = approval_parse(ps, json_object_array_get_idx(arr, i), &b->approvals[i]);
		if (rc != CV_OK)
			goto err;
	}
	ps->item = NULL;
	return CV_OK;
err:
	cv_block_free(b);
	memset(b, 0, sizeof(*b));
	return rc;
}

cv_err cv_block_from_json(const json_object *o, cv_block *b)
{
	pstate ps = {.block = -1, .item_index = -1};

	return block_parse(&ps, o, b);
}

cv_err cv_chain_from_json_audit(const json_object *o, cv_chain *c, cv_json_txid_fn bad_txid,
                                void *ctx, char *why, size_t why_len)
{
	pstate ps = {.why = why,
	             .why_len = why_len,
	             .block = -1,
	             .item_index = -1,
	             .bad_txid = bad_txid,
	             .ctx = ctx};
	json_object *arr, *val;
	size_t n;
	cv_err rc;

	memset(c, 0, sizeof(*c));
	if (why != NULL && why_len > 0)
		why[0] = '\0';
	if ((rc = get_field(&ps, o, "format", json_type_string, &val)) != CV_OK)
		return rc;
	if (strcmp(json_object_get_string(val), "chainvote-chain/1") != 0)
		return fail(&ps, "format", "not \"chainvote-chain/1\"");
	if ((rc = get_array(&ps, o, "blocks", &arr, &n)) != CV_OK)
		return rc;
	if ((c->blocks = alloc_items(n, sizeof(*c->blocks))) == NULL)
		return CV_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		ps.block = (int64_t)i;
		if ((rc = block_parse(&ps, json_object_array_get_idx(arr, i), &c->blocks[i])) !=
		    CV_OK)
			goto err;
		c->n_blocks = i + 1;
	}
	return CV_OK;
err:
	cv_chain_free(c);
	memset(c, 0, sizeof(*c));
	return rc;
}

cv_err cv_chain_from_json(const json_object *o, cv_chain *c)
{
	return cv_chain_from_json_audit(o, c, NULL, NULL, NULL, 0);
}

/* ---- the export as a stream ---- */

/* A framer over the export's bytes: the top-level object and the "blocks" array are
 * walked byte by byte here, and every value below them (a block, the format, an
 * annotation) is cut out whole and handed to the strict parser above, so that only one
 * block's text and tree are held at a time. */
enum reader_state {
	RD_START,       /* before the top-level '{' */
	RD_KEY,         /* before a key (or '}' when the object is still empty) */
	RD_COLON,       /* after a key */
	RD_VALUE,       /* before a member's value */
	RD_AFTER_VALUE, /* before ',' or '}' */
	RD_ELEMENT,     /* in "blocks", before a block (or ']' when still empty) */
	RD_AFTER_ELEMENT,
	RD_DONE,   /* after the closing '}': whitespace only */
	RD_FAILED, /* rc holds the error, fed again on every call */
};

/* One JSON value being cut out of the stream into buf. */
typedef struct frame {
	bool active, in_string, escaped, scalar;
	size_t depth;
} frame;

enum member { M_OTHER, M_FORMAT, M_BLOCKS };

struct cv_chain_reader {
	enum reader_state state;
	cv_err rc;
	bool empty;  /* no member (or no block) yet: '}' (or ']') may come */
	bool in_key; /* the frame holds a key, not a value */
	enum member member;
	bool seen_format, seen_blocks;
	frame fr;
	cv_buf buf;
	size_t n_blocks;
	cv_chain_block_fn on_block;
	void *ctx;
	pstate ps;
	char why[256];
};

cv_chain_reader *cv_chain_reader_new(cv_chain_block_fn on_block, cv_json_txid_fn bad_txid,
                                     void *ctx)
{
	cv_chain_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->empty = true;
	r->on_block = on_block;
	r->ctx = ctx;
	r->ps = (pstate){.why = r->why,
	                 .why_len = sizeof(r->why),
	                 .block = -1,
	                 .item_index = -1,
	                 .bad_txid = bad_txid,
	                 .ctx = ctx};
	return r;
}

void cv_chain_reader_free(cv_chain_reader *r)
{
	if (r == NULL)
		return;
	cv_buf_free(&r->buf);
	free(r);
}

const char *cv_chain_reader_why(const cv_chain_reader *r)
{
	return r->why;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static cv_err reader_fail(cv_chain_reader *r, cv_err rc)
{
	r->state = RD_FAILED;
	r->rc = rc;
	return rc;
}

/* Parses the framed text (strictly, as one value) into *o. */
static cv_err framed_value(cv_chain_reader *r, json_object **o)
{
	return cv_json_parse(r->buf.len ? (const char *)r->buf.data : "", r->buf.len, o);
}

/* A key was cut out: decoded by the parser (escapes included), then which member. */
static cv_err key_done(cv_chain_reader *r)
{
	json_object *o = NULL;
	const char *key;
	cv_err rc;

	if ((rc = framed_value(r, &o)) != CV_OK)
		return rc;
	key = json_object_get_string(o);
	r->member = strcmp(key, "format") == 0   ? M_FORMAT
	            : strcmp(key, "blocks") == 0 ? M_BLOCKS
	                                         : M_OTHER;
	json_object_put(o);
	if ((r->member == M_FORMAT && r->seen_format) || (r->member == M_BLOCKS && r->seen_blocks))
		return fail(&r->ps, r->member == M_FORMAT ? "format" : "blocks", "given twice");
	return CV_OK;
}

/* A member's value (not the blocks) was cut out: the format is checked, annotations
 * are parsed (they must be JSON) and dropped. */
static cv_err value_done(cv_chain_reader *r)
{
	json_object *o = NULL;
	cv_err rc;

	if ((rc = framed_value(r, &o)) != CV_OK)
		return rc;
	if (r->member == M_FORMAT) {
		r->seen_format = true;
		if (!json_object_is_type(o, json_type_string))
			rc = fail(&r->ps, "format", "not a string");
		else if (strcmp(json_object_get_string(o), "chainvote-chain/1") != 0)
			rc = fail(&r->ps, "format", "not \"chainvote-chain/1\"");
	}
	json_object_put(o);
	return rc;
}

/* Past the JSON value (object, array, string or scalar) that starts at t[i]; returns
 * len when it does not end. Used on text that the strict parser judges afterwards. */
static size_t skip_value(const char *t, size_t len, size_t i)
{
	size_t depth = 0;
	bool in_string = false, escaped = false;

	for (; i < len; i++) {
		char c = t[i];

		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"') {
				in_string = false;
				if (depth == 0)
					return i + 1;
			}
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return i; /* a scalar ends where its container does */
			if (--depth == 0)
				return i + 1;
		} else if (depth == 0 && (is_space(c) || c == ',')) {
			return i;
		}
	}
	return len;
}

static size_t skip_space(const char *t, size_t len, size_t i)
{
	while (i < len && is_space(t[i]))
		i++;
	return i;
}

/* The genesis of a large roll (a million voters is 133 MB of text, and several times
 * that as a tree of strings) is read without its tree: the members of the block object
 * are walked in the text, the "voters" array's keys decoded one by one into *voters,
 * and the array cut out of the text, left "[]", for the strict parser to judge the rest.
 * *n_voters is SIZE_MAX when the text has no such member where expected (then it is
 * left whole). A key that is not a voter's fails as genesis_parse fails it. */
static cv_err take_roll(pstate *ps, cv_buf *text, uint8_t (**voters)[CV_KEY_LEN], size_t *n_voters)
{
	char *t = (char *)text->data;
	size_t len = text->len, i = skip_space(t, len, 0), cap = 0, n = 0, start;
	uint8_t(*keys)[CV_KEY_LEN] = NULL;
	cv_err rc = CV_OK;

	*voters = NULL;
	*n_voters = SIZE_MAX;
	if (i >= len || t[i] != '{')
		return CV_OK;
	for (i++;;) {
		size_t key, key_end;

		i = skip_space(t, len, i);
		if (i >= len || t[i] != '"')
			return CV_OK;
		key = i + 1;
		if ((key_end = skip_value(t, len, i)) >= len)
			return CV_OK;
		i = skip_space(t, len, key_end);
		if (i >= len || t[i] != ':')
			return CV_OK;
		i = skip_space(t, len, i + 1);
		if (key_end - key - 1 == 6 && memcmp(t + key, "voters", 6) == 0 && i < len &&
		    t[i] == '[')
			break;
		i = skip_space(t, len, skip_value(t, len, i));
		if (i >= len || t[i] != ',')
			return CV_OK;
		i++;
	}
	start = i + 1; /* the array's first byte inside the brackets */
	ps->item = "voter";
	for (i = skip_space(t, len, start); i < len && t[i] != ']'; n++) {
		size_t end = skip_value(t, len, i);
		json_object *item = NULL;

		if (end >= len || end == i) {
			rc = CV_E_MALFORMED;
			goto out;
		}
		ps->item_index = (int64_t)n;
		if ((rc = cv_json_parse(t + i, end - i, &item)) == CV_OK) {
			if (n == cap) {
				uint8_t(*more)[CV_KEY_LEN] =
				    realloc(keys, (cap ? 2 * cap : 4096) * sizeof(*keys));

				if (more == NULL) {
					json_object_put(item);
					rc = CV_E_NOMEM;
					goto out;
				}
				keys = more;
				cap = cap ? 2 * cap : 4096;
			}
			rc = voter_parse(ps, item, keys[n]);
		}
		json_object_put(item);
		if (rc != CV_OK)
			goto out;
		i = skip_space(t, len, end);
		if (i < len && t[i] == ',')
			i = skip_space(t, len, i + 1);
		else if (i >= len || t[i] != ']') {
			rc = CV_E_MALFORMED;
			goto out;
		}
	}
	if (i >= len) {
		rc = CV_E_MALFORMED;
		goto out;
	}
	/* "voters": [] for the parser; the keys are in *voters */
	memmove(t + start, t + i, len - i);
	text->len = start + (len - i);
	*voters = keys;
	*n_voters = n;
	keys = NULL;
out:
	ps->item = NULL;
	ps->item_index = -1;
	free(keys);
	return rc;
}

/* A block was cut out: parsed as cv_chain_from_json_audit parses each, then handed on.
 * The first block, when it is large, has its roll read apart (take_roll). */
static cv_err block_done(cv_chain_reader *r)
{
	json_object *o = NULL;
	uint8_t(*voters)[CV_KEY_LEN] = NULL;
	size_t n_voters = SIZE_MAX;
	cv_block b;
	cv_err rc;

	r->ps.block = (int64_t)r->n_blocks;
	if (r->n_blocks == 0 && r->buf.len >= CV_JSON_ROLL_APART &&
	    (rc = take_roll(&r->ps, &r->buf, &voters, &n_voters)) != CV_OK)
		goto out;
	if ((rc = framed_value(r, &o)) != CV_OK)
		goto out;
	/* a large value's buffer is not kept for the small ones that follow */
	if (r->buf.cap >= CV_JSON_ROLL_APART)
		cv_buf_free(&r->buf);
	rc = block_parse(&r->ps, o, &b);
	json_object_put(o);
	if (rc != CV_OK)
		goto out;
	if (n_voters != SIZE_MAX && b.genesis != NULL && b.genesis->n_voters == 0) {
		free(b.genesis->voters);
		b.genesis->voters = voters;
		b.genesis->n_voters = n_voters;
		voters = NULL;
	} else if (n_voters != SIZE_MAX && n_voters > 0) {
		/* the roll belonged to a block that has none: what it said is refused */
		cv_block_free(&b);
		rc = fail(&r->ps, NULL, "unknown key \"voters\"");
		goto out;
	}
	rc = r->on_block(r->ctx, r->n_blocks++, &b);
	cv_block_free(&b);
out:
	r->ps.block = -1;
	free(voters);
	return rc;
}

/* Cuts a value out of p[0..n): returns how many bytes belong to it (all of them while
 * it goes on); *done when it ended. A scalar ends before the byte that ends it. */
static cv_err frame_take(cv_chain_reader *r, const char *p, size_t n, size_t *used, bool *done)
{
	frame *f = &r->fr;
	size_t i = 0;

	*done = false;
	if (!f->active) {
		f->active = true;
		f->scalar = !(p[0] == '{' || p[0] == '[' || p[0] == '"');
	}
	for (; i < n && !*done; i++) {
		char c = p[i];

		if (f->in_string) {
			if (f->escaped)
				f->escaped = false;
			else if (c == '\\')
				f->escaped = true;
			else if (c == '"') {
				f->in_string = false;
				*done = f->depth == 0;
			}
		} else if (f->scalar) {
			if (is_space(c) || c == ',' || c == ']' || c == '}') {
				*done = true;
				break; /* the delimiter is not the value's */
			}
		} else if (c == '"') {
			f->in_string = true;
		} else if (c == '{' || c == '[') {
			f->depth++;
		} else if (c == '}' || c == ']') {
			if (f->depth == 0)
				return CV_E_MALFORMED;
			*done = --f->depth == 0;
		}
	}
	*used = i;
	if (r->buf.len + *used > (r->in_key ? (size_t)4096 : CV_JSON_STREAM_VALUE_MAX))
		return CV_E_TOO_LARGE;
	if (cv_buf_put(&r->buf, p, *used) != CV_OK)
		return CV_E_NOMEM;
	if (*done)
		memset(f, 0, sizeof(*f));
	return CV_OK;
}

cv_err cv_chain_reader_feed(cv_chain_reader *r, const char *p, size_t n)
{
	size_t i = 0, used;
	bool done;
	cv_err rc;

	while (i < n && r->state != RD_FAILED) {
		char c = p[i];

		if (r->fr.active ||
		    ((r->state == RD_VALUE || r->state == RD_ELEMENT) && !is_space(c) &&
		     !(r->state == RD_ELEMENT && c == ']' && r->empty) &&
		     !(r->state == RD_VALUE && r->member == M_BLOCKS)) ||
		    (r->state == RD_KEY && c == '"')) {
			/* inside a value (or a key) being cut out */
			if (r->state == RD_KEY)
				r->in_key = true;
			if ((rc = frame_take(r, p + i, n - i, &used, &done)) != CV_OK)
				return reader_fail(r, rc);
			i += used;
			if (!done)
				continue;
			rc = r->state == RD_KEY     ? key_done(r)
			     : r->state == RD_VALUE ? value_done(r)
			                            : block_done(r);
			cv_buf_reset(&r->buf);
			if (rc != CV_OK)
				return reader_fail(r, rc);
			r->state = r->state == RD_KEY     ? RD_COLON
			           : r->state == RD_VALUE ? RD_AFTER_VALUE
			                                  : RD_AFTER_ELEMENT;
			r->in_key = false;
			r->empty = false;
			continue;
		}
		i++;
		if (is_space(c))
			continue;
		switch (r->state) {
		case RD_START:
			if (c != '{')
				return reader_fail(r, fail(&r->ps, NULL, "not an object"));
			r->state = RD_KEY;
			r->empty = true;
			break;
		case RD_KEY:
			if (!(c == '}' && r->empty))
				return reader_fail(r, CV_E_MALFORMED);
			r->state = RD_DONE;
			break;
		case RD_COLON:
			if (c != ':')
				return reader_fail(r, CV_E_MALFORMED);
			r->state = RD_VALUE;
			break;
		case RD_VALUE: /* the blocks' '[' (other values are framed above) */
			r->seen_blocks = true;
			if (c != '[')
				return reader_fail(r, fail(&r->ps, "blocks", "not an array"));
			r->state = RD_ELEMENT;
			r->empty = true;
			break;
		case RD_AFTER_VALUE:
			if (c == ',') {
				r->state = RD_KEY;
				r->empty = false;
			} else if (c == '}') {
				r->state = RD_DONE;
			} else {
				return reader_fail(r, CV_E_MALFORMED);
			}
			break;
		case RD_ELEMENT: /* ']' of an empty array */
			r->state = RD_AFTER_VALUE;
			break;
		case RD_AFTER_ELEMENT:
			if (c == ',') {
				r->state = RD_ELEMENT;
				r->empty = false;
			} else if (c == ']') {
				r->state = RD_AFTER_VALUE;
			} else {
				return reader_fail(r, CV_E_MALFORMED);
			}
			break;
		case RD_DONE:
			return reader_fail(r, CV_E_MALFORMED);
		case RD_FAILED:
			break;
		}
	}
	return r->state == RD_FAILED ? r->rc : CV_OK;
}

cv_err cv_chain_reader_end(cv_chain_reader *r)
{
	bool done;
	size_t used;
	cv_err rc;

	/* a scalar at the very end is complete only now */
	if (r->state != RD_FAILED && r->fr.active && r->fr.scalar) {
		if ((rc = frame_take(r, " ", 1, &used, &done)) != CV_OK || !done)
			return reader_fail(r, rc != CV_OK ? rc : CV_E_MALFORMED);
		return reader_fail(r, CV_E_MALFORMED); /* a scalar cannot end an object */
	}
	if (r->state == RD_FAILED)
		return r->rc;
	if (r->state != RD_DONE)
		return reader_fail(r, CV_E_MALFORMED);
	if (!r->seen_format)
		return reader_fail(r, fail(&r->ps, "format", "missing"));
	if (!r->seen_blocks)
		return reader_fail(r, fail(&r->ps, "blocks", "missing"));
	return CV_OK;
}

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

cv_err cv_trustee_from_json(const json_object *o, cv_trustee *t)
{
	cv_err rc;

	memset(t, 0, sizeof *t);
	if (!json_object_is_type(o, json_type_object))
		return CV_E_MALFORMED;
	rc = trustee_parse(NULL, o, t);
	if (rc != CV_OK)
		cv_trustee_free(t);
	return rc;
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
