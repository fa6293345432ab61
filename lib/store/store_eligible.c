/* Eligibility entries as codes and as the administrator sees them: the rules of voter
 * ids and codes (the one generator, the one normal form, the strength asked of an
 * administrator's code), the list of entries with their state, and voter recovery
 * (a new code for an unused entry, a registered key revoked in set-up). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

/* ---- voter ids and codes ---- */

/* Voter ids are 1-64 printable ASCII characters without spaces, so that they survive
 * CSV files and URLs unchanged. */
bool cv_eligible_text_ok(const char *s)
{
	size_t n = strnlen(s, CV_ELIGIBLE_TEXT_MAX + 1);

	if (n == 0 || n > CV_ELIGIBLE_TEXT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

/* Crockford's base32: no I, L, O or U, which read as 1, 1, 0 or V. */
static const char base32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

cv_err cv_eligible_make_code(char out[CV_CODE_LEN + 1])
{
	/* 32 symbols: 256 is a multiple, so every symbol is equally likely */
	uint8_t rnd[12];
	size_t n = 0;
	cv_err e;

	if ((e = cv_random(rnd, sizeof rnd)) != CV_OK)
		return e;
	for (size_t i = 0; i < sizeof rnd; i++) {
		if (i > 0 && i % 4 == 0)
			out[n++] = '-';
		out[n++] = base32[rnd[i] & 31];
	}
	out[n] = '\0';
	return CV_OK;
}

bool cv_eligible_code_normalise(const char *in, char out[CV_ELIGIBLE_TEXT_MAX + 1])
{
	size_t n = 0;

	out[0] = '\0';
	if (in == NULL || strnlen(in, CV_CODE_INPUT_MAX + 1) > CV_CODE_INPUT_MAX)
		return false;
	for (const char *p = in; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '-')
			continue;
		if (n == CV_ELIGIBLE_TEXT_MAX) {
			out[0] = '\0';
			return false;
		}
		out[n++] = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
	}
	out[n] = '\0';
	if (!cv_eligible_text_ok(out)) {
		out[0] = '\0';
		return false;
	}
	return true;
}

bool cv_eligible_code_strong(const char *code)
{
	/* Alphabets from the smallest; the last, every printable symbol a normal form can
	 * hold (94, less the 26 lower-case letters and the dash), takes any code. */
	static const struct {
		const char *symbols;
		uint64_t size;
	} alphabets[] = {
	    {"0123456789", 10}, {"0123456789ABCDEF", 16},
	    {base32, 32},       {"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", 36},
	    {NULL, 67},
	};
	size_t len = strnlen(code, CV_ELIGIBLE_TEXT_MAX + 1), a = 0;
	uint64_t guesses = 1;

	while (alphabets[a].symbols != NULL && strspn(code, alphabets[a].symbols) != len)
		a++;
	/* size^len >= 2^bits, without logarithms: stops before it could overflow */
	for (size_t i = 0; i < len && guesses < (UINT64_C(1) << CV_CODE_MIN_BITS); i++)
		guesses *= alphabets[a].size;
	return guesses >= (UINT64_C(1) << CV_CODE_MIN_BITS);
}

void cv_st_code_hash(const uint8_t salt[ST_SALT_LEN], const char *code, uint8_t out[CV_HASH_LEN])
{
	uint8_t buf[ST_SALT_LEN + CV_ELIGIBLE_TEXT_MAX];
	size_t n = strnlen(code, CV_ELIGIBLE_TEXT_MAX);

	memcpy(buf, salt, ST_SALT_LEN);
	memcpy(buf + ST_SALT_LEN, code, n);
	cv_sha256(buf, ST_SALT_LEN + n, out);
}

cv_err cv_st_code_record(const char *code, bool strong, uint8_t rec[ST_ELIG_LEN])
{
	char normal[CV_ELIGIBLE_TEXT_MAX + 1];
	cv_err e;

	if (!cv_eligible_code_normalise(code, normal))
		return CV_E_MALFORMED;
	if (strong && !cv_eligible_code_strong(normal))
		return CV_E_WEAK_CODE;
	if ((e = cv_random(rec, ST_SALT_LEN)) != CV_OK)
		return e;
	cv_st_code_hash(rec, normal, rec + ST_SALT_LEN);
	rec[ST_SALT_LEN + CV_HASH_LEN] = 0;
	return CV_OK;
}

const char *cv_voter_state_name(cv_voter_state s)
{
	switch (s) {
	case CV_VOTER_UNUSED:
		return "unused";
	case CV_VOTER_REGISTERED:
		return "registered";
	case CV_VOTER_VOTED:
		return "voted";
	}
	return "unknown";
}

/* ---- the list ---- */

typedef struct page_ctx {
	const char *after;
	size_t max;
	cv_eligible_entry *out;
	size_t n;
	bool more;
} page_ctx;

/* One stored record into an entry: its state from the record and, for a bound key,
 * the double-vote guard (ST_VOTED: pool and chain alike). */
static cv_err entry_state(cv_store *s, DB_TXN *txn, const uint8_t *rec, size_t len,
                          cv_eligible_entry *en)
{
	cv_err e;

	if (len == ST_ELIG_LEN && rec[ST_SALT_LEN + CV_HASH_LEN] == 0) {
		en->state = CV_VOTER_UNUSED;
		return CV_OK;
	}
	if (len != ST_ELIG_LEN + CV_KEY_LEN || rec[ST_SALT_LEN + CV_HASH_LEN] != 1)
		return CV_E_STORE;
	memcpy(en->key, rec + ST_ELIG_LEN, CV_KEY_LEN);
	e = cv_st_get_fixed(s, ST_VOTED, txn, en->key, CV_KEY_LEN, en->txid, CV_HASH_LEN, 0);
	if (e == CV_E_NOT_FOUND) {
		en->state = CV_VOTER_REGISTERED;
		return CV_OK;
	}
	if (e == CV_OK)
		en->state = CV_VOTER_VOTED;
	return e;
}

static cv_err page_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	page_ctx *c = ctx;
	DB *db = s->db[ST_ELIGIBLE];
	DBC *cur = NULL;
	DBT k, v;
	size_t start_len = c->after != NULL ? strlen(c->after) : 0;
	cv_err e = CV_OK;
	int rc;

	/* a retry after a deadlock starts over */
	c->n = 0;
	c->more = false;
	memset(&k, 0, sizeof k);
	memset(&v, 0, sizeof v);
	k.flags = DB_DBT_REALLOC;
	v.flags = DB_DBT_REALLOC;
	rc = db->cursor(db, txn, &cur, 0);
	if (rc != 0)
		return cv_st_dberr(rc);
	if (start_len > 0) {
		if ((k.data = malloc(start_len)) == NULL) {
			cur->close(cur);
			return CV_E_NOMEM;
		}
		memcpy(k.data, c->after, start_len);
		k.size = (uint32_t)start_len;
		rc = cur->get(cur, &k, &v, DB_SET_RANGE);
		/* DB_SET_RANGE lands on `after` itself when it is stored: skip it */
		if (rc == 0 && k.size == start_len && memcmp(k.data, c->after, start_len) == 0)
			rc = cur->get(cur, &k, &v, DB_NEXT);
	} else {
		rc = cur->get(cur, &k, &v, DB_FIRST);
	}
	for (; rc == 0; rc = cur->get(cur, &k, &v, DB_NEXT)) {
		cv_eligible_entry *en;

		if (c->n == c->max) {
			c->more = true;
			break;
		}
		if (k.size == 0 || k.size > CV_ELIGIBLE_TEXT_MAX) {
			e = CV_E_STORE;
			break;
		}
		en = &c->out[c->n];
		memset(en, 0, sizeof *en);
		memcpy(en->voter_id, k.data, k.size);
		if ((e = entry_state(s, txn, v.data, v.size, en)) != CV_OK)
			break;
		c->n++;
	}
	if (e == CV_OK && rc != 0 && rc != DB_NOTFOUND)
		e = cv_st_dberr(rc);
	rc = cur->close(cur);
	if (e == CV_OK && rc != 0)
		e = cv_st_dberr(rc);
	free(k.data);
	free(v.data);
	return e;
}

cv_err cv_store_eligible_page(cv_store *s, const char *after, size_t max, cv_eligible_entry *out,
                              size_t *n, bool *more)
{
	page_ctx c = {after, max, out, 0, false};
	cv_err e;

	*n = 0;
	*more = false;
	if (max < 1 || max > CV_ELIGIBLE_PAGE_MAX ||
	    (after != NULL && after[0] != '\0' && !cv_eligible_text_ok(after)))
		return CV_E_MALFORMED;
	if ((e = cv_st_run(s, page_op, &c)) != CV_OK)
		return e;
	*n = c.n;
	*more = c.more;
	return CV_OK;
}

typedef struct counts_ctx {
	cv_eligible_counts *out;
	bool counted;
} counts_ctx;

/* In set-up nobody has voted (there is no genesis to vote in), so the counters kept by
 * registration and revocation say it all; c->counted tells whether they did. */
static cv_err setup_counts_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	counts_ctx *c = ctx;
	cv_state state;
	uint64_t eligible, registered;
	cv_err e = cv_st_state(s, txn, false, &state);

	c->counted = false;
	if (e == CV_E_NOT_FOUND || (e == CV_OK && state != CV_STATE_SETUP))
		return CV_OK;
	if (e != CV_OK || (e = cv_st_meta_u64(s, txn, "n_eligible", &eligible)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, "n_registered", &registered)) != CV_OK)
		return e;
	if (registered > eligible)
		return CV_E_STORE;
	c->out->eligible = eligible;
	c->out->registered = registered;
	c->out->unused = eligible - registered;
	c->out->voted = 0;
	c->counted = true;
	return CV_OK;
}

cv_err cv_store_eligible_counts(cv_store *s, cv_eligible_counts *out)
{
	counts_ctx c = {out, false};
	cv_eligible_entry *page;
	char after[CV_ELIGIBLE_TEXT_MAX + 1] = "";
	bool more = true;
	size_t n;
	cv_err e;

	memset(out, 0, sizeof *out);
	if ((e = cv_st_run(s, setup_counts_op, &c)) != CV_OK || c.counted)
		return e;
	memset(out, 0, sizeof *out);
	if ((page = malloc(CV_ELIGIBLE_PAGE_MAX * sizeof *page)) == NULL)
		return CV_E_NOMEM;
	while (more && e == CV_OK) {
		e = cv_store_eligible_page(s, after, CV_ELIGIBLE_PAGE_MAX, page, &n, &more);
		for (size_t i = 0; e == CV_OK && i < n; i++) {
			out->eligible++;
			out->unused += page[i].state == CV_VOTER_UNUSED;
			out->registered += page[i].state == CV_VOTER_REGISTERED;
			out->voted += page[i].state == CV_VOTER_VOTED;
		}
		if (e == CV_OK && n > 0)
			memcpy(after, page[n - 1].voter_id, sizeof after);
	}
	free(page);
	return e;
}

/* ---- recovery ---- */

typedef struct recover_ctx {
	const char *voter_id;
	bool revoke;
	uint8_t rec[ST_ELIG_LEN];    /* the entry's new record: the new code, unspent */
	uint8_t revoked[CV_KEY_LEN]; /* revoke: the key taken off the roll */
} recover_ctx;

/* Reissue and revoke in one transaction. The entry's facts are judged before the state,
 * so that a key that voted is refused as such whenever it is asked. */
static cv_err recover_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	recover_ctx *c = ctx;
	cv_eligible_entry en;
	cv_state state;
	void *stored = NULL;
	size_t len = 0;
	cv_err e = cv_st_state(s, txn, true, &state);

	if (e != CV_OK)
		return e;
	e = cv_st_get(s, ST_ELIGIBLE, txn, c->voter_id, strlen(c->voter_id), &stored, &len, DB_RMW);
	if (e != CV_OK)
		return e;
	memset(&en, 0, sizeof en);
	e = entry_state(s, txn, stored, len, &en);
	free(stored);
	if (e != CV_OK)
		return e;
	if (en.state == CV_VOTER_VOTED)
		return CV_E_ALREADY_VOTED;
	if (c->revoke != (en.state == CV_VOTER_REGISTERED))
		return c->revoke ? CV_E_NOT_REGISTERED : CV_E_REGISTERED;
	if (state != CV_STATE_SETUP)
		return CV_E_BAD_STATE;
	if (c->revoke) {
		e = cv_st_del(s, ST_ROLL, txn, en.key, CV_KEY_LEN);
		if (e == CV_E_NOT_FOUND) /* a bound key is on the roll: registration put it */
			e = CV_E_STORE;
		if (e == CV_OK)
			e = cv_st_meta_add(s, txn, "n_voters", -1);
		if (e == CV_OK)
			e = cv_st_meta_add(s, txn, "n_registered", -1);
		if (e != CV_OK)
			return e;
		memcpy(c->revoked, en.key, CV_KEY_LEN);
	}
	return cv_st_put(s, ST_ELIGIBLE, txn, c->voter_id, strlen(c->voter_id), c->rec, ST_ELIG_LEN,
	                 0);
}

static cv_err recover(cv_store *s, const char *voter_id, char *code, bool revoke,
                      uint8_t revoked_key[CV_KEY_LEN])
{
	bool made = code[0] == '\0';
	recover_ctx c;
	cv_err e;

	memset(&c, 0, sizeof c);
	c.voter_id = voter_id;
	c.revoke = revoke;
	if (voter_id == NULL || !cv_eligible_text_ok(voter_id))
		return CV_E_MALFORMED;
	/* a code the administrator chose must be strong; one made here is, by how it was
	 * drawn (60 random bits), whichever symbols came out */
	if (code[0] == '\0' && (e = cv_eligible_make_code(code)) != CV_OK)
		return e;
	/* the new record (salt and hash) is made before the transaction: it only writes */
	if ((e = cv_st_code_record(code, !made, c.rec)) != CV_OK)
		return e;
	if ((e = cv_st_run(s, recover_op, &c)) != CV_OK)
		return e;
	if (revoke && revoked_key != NULL)
		memcpy(revoked_key, c.revoked, CV_KEY_LEN);
	return CV_OK;
}

cv_err cv_store_reissue_code(cv_store *s, const char *voter_id, char *code)
{
	return recover(s, voter_id, code, false, NULL);
}

cv_err cv_store_revoke_key(cv_store *s, const char *voter_id, char *code,
                           uint8_t revoked_key[CV_KEY_LEN])
{
	return recover(s, voter_id, code, true, revoked_key);
}
