/* The key ceremony of a secret election in the store (store.h, "the key ceremony"):
 * trustee entries, sealed shares and share checks, kept in the election's meta database
 * under ST_CEREMONY_PREFIX, voided when the setup they were made for changes, and the
 * status the open decides on. Signatures and proofs are checked before the transaction
 * (nothing they cover changes); the transaction confirms the setup and the order. */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

/* Record keys: prefix, a letter, then keys. */
#define K_BASIS  ST_CEREMONY_PREFIX "basis"   /* setup_hash(32) || u8 quorum */
#define K_ENTRY  ST_CEREMONY_PREFIX "e"       /* || key(65) -> the entry's bytes */
#define K_SHARE  ST_CEREMONY_PREFIX "s"       /* || from(65) || to(65) -> SHARE_REC */
#define K_CHECK  ST_CEREMONY_PREFIX "c"       /* || trustee(65) || sender(65) -> CHECK_REC */
#define K_VOIDED "ceremony_voided"            /* u64, outside the prefix: it survives */
#define PFX_LEN  (sizeof(ST_CEREMONY_PREFIX)) /* the prefix and its letter */
/* ephemeral || nonce || ciphertext || tag || signature */
#define SHARE_REC                                                                                  \
	(CV_POINT_LEN + CV_SEALED_NONCE_LEN + CV_SCALAR_LEN + CV_SEALED_TAG_LEN + CV_SIG_LEN)
#define CHECK_REC (1 + CV_SIG_LEN)

static size_t key1(uint8_t *out, const char *pfx, const uint8_t a[CV_KEY_LEN])
{
	memcpy(out, pfx, PFX_LEN);
	memcpy(out + PFX_LEN, a, CV_KEY_LEN);
	return PFX_LEN + CV_KEY_LEN;
}

static size_t key2(uint8_t *out, const char *pfx, const uint8_t a[CV_KEY_LEN],
                   const uint8_t b[CV_KEY_LEN])
{
	size_t n = key1(out, pfx, a);

	memcpy(out + n, b, CV_KEY_LEN);
	return n + CV_KEY_LEN;
}

/* The setup as it stands: settings, setup_hash and validators (g, caller frees). */
static cv_err current_setup(cv_store *s, DB_TXN *txn, cv_settings *st, cv_genesis *g,
                            uint8_t setup[CV_HASH_LEN])
{
	cv_err e = cv_st_settings(s, txn, st);

	memset(g, 0, sizeof *g);
	if (e != CV_OK)
		return e;
	/* the draft's own candidates and validators, in genesis order (sorted) */
	if ((e = cv_st_load_genesis(s, txn, false, g)) != CV_OK)
		return e;
	cv_secrecy_free(g->secrecy);
	free(g->secrecy);
	g->secrecy = NULL;
	(void)cv_genesis_normalise(g); /* sorts; the rules are the open's */
	return cv_setup_hash(g, setup);
}

cv_err cv_st_ceremony_revise(cv_store *s, DB_TXN *txn)
{
	uint8_t basis[CV_HASH_LEN + 1], setup[CV_HASH_LEN];
	cv_settings st;
	cv_genesis g;
	cv_err e =
	    cv_st_get_fixed(s, ST_META, txn, K_BASIS, strlen(K_BASIS), basis, sizeof basis, 0);

	if (e == CV_E_NOT_FOUND)
		return CV_OK; /* no record: nothing to void */
	if (e != CV_OK)
		return e;
	e = current_setup(s, txn, &st, &g, setup);
	cv_genesis_free(&g);
	if (e != CV_OK)
		return e;
	if (st.secret && st.quorum == basis[CV_HASH_LEN] && memcmp(setup, basis, CV_HASH_LEN) == 0)
		return CV_OK;
	if ((e = cv_st_del_prefix(s, ST_META, txn, ST_CEREMONY_PREFIX,
	                          strlen(ST_CEREMONY_PREFIX))) != CV_OK)
		return e;
	return cv_st_meta_add(s, txn, K_VOIDED, 1);
}

/* ---- decoding the records ---- */

/* An entry's bytes (cv_trustee_entry with its signature) into t (cv_trustee_free). */
static cv_err entry_decode(const uint8_t *p, size_t n, cv_trustee *t)
{
	cv_reader r = {.p = p, .n = n};
	size_t q;
	cv_err e;

	memset(t, 0, sizeof *t);
	cv_rd_tag(&r, CV_TAG_TRUSTEE);
	cv_rd_copy(&r, t->setup_hash, CV_HASH_LEN);
	cv_rd_copy(&r, t->validator_key, CV_KEY_LEN);
	q = cv_rd_u8(&r);
	if (r.bad || cv_rd_left(&r) != q * (CV_POINT_LEN + 2 * CV_SCALAR_LEN) + CV_SIG_LEN)
		return CV_E_STORE;
	if ((e = cv_trustee_alloc(t, q)) != CV_OK)
		return e;
	for (size_t k = 0; k < q; k++)
		cv_rd_copy(&r, t->commitments[k], CV_POINT_LEN);
	for (size_t k = 0; k < q; k++) {
		cv_rd_copy(&r, t->proof_c[k], CV_SCALAR_LEN);
		cv_rd_copy(&r, t->proof_v[k], CV_SCALAR_LEN);
	}
	cv_rd_copy(&r, t->signature, CV_SIG_LEN);
	return CV_OK;
}

/* A share's record v (SHARE_REC bytes, as put_share_op writes it) under key k. */
static void share_decode(const uint8_t *k, const uint8_t *v, const uint8_t setup[CV_HASH_LEN],
                         cv_sealed_share *sh)
{
	cv_reader r = {.p = v, .n = SHARE_REC};

	memcpy(sh->setup_hash, setup, CV_HASH_LEN);
	memcpy(sh->sender, k + PFX_LEN, CV_KEY_LEN);
	memcpy(sh->recipient, k + PFX_LEN + CV_KEY_LEN, CV_KEY_LEN);
	cv_rd_copy(&r, sh->ephemeral, CV_POINT_LEN);
	cv_rd_copy(&r, sh->nonce, CV_SEALED_NONCE_LEN);
	cv_rd_copy(&r, sh->ciphertext, CV_SCALAR_LEN);
	cv_rd_copy(&r, sh->tag, CV_SEALED_TAG_LEN);
	cv_rd_copy(&r, sh->signature, CV_SIG_LEN);
}

/* ---- reading ---- */

static cv_err load_entry(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	cv_secrecy *sec = ctx;
	cv_trustee *grown;
	cv_err e;

	if (kl != PFX_LEN + CV_KEY_LEN)
		return CV_E_STORE;
	if (sec->n_trustees >= CV_MAX_QUORUM)
		return CV_E_STORE;
	grown = realloc(sec->trustees, (sec->n_trustees + 1) * sizeof *grown);
	if (grown == NULL)
		return CV_E_NOMEM;
	sec->trustees = grown;
	if ((e = entry_decode(v, vl, &sec->trustees[sec->n_trustees])) != CV_OK)
		return e;
	if (memcmp(sec->trustees[sec->n_trustees].validator_key, k + PFX_LEN, CV_KEY_LEN) != 0) {
		cv_trustee_free(&sec->trustees[sec->n_trustees]);
		return CV_E_STORE;
	}
	sec->n_trustees++;
	return CV_OK;
}

cv_err cv_st_ceremony_entries(cv_store *s, DB_TXN *txn, uint8_t quorum, cv_secrecy *sec)
{
	cv_err e;

	memset(sec, 0, sizeof *sec);
	sec->quorum = quorum;
	e = cv_st_scan(s, ST_META, txn, K_ENTRY, PFX_LEN, load_entry, sec);
	if (e != CV_OK)
		cv_secrecy_free(sec);
	return e;
}

typedef struct status_ctx {
	cv_ceremony *c;
	const uint8_t *to; /* cv_store_shares_to: the recipient; else NULL */
	cv_sealed_share *shares;
	size_t n;
} status_ctx;

static cv_err load_share(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	status_ctx *sc = ctx;
	cv_ceremony *c = sc->c;
	void *p;

	if (kl != PFX_LEN + 2 * CV_KEY_LEN || vl != SHARE_REC)
		return CV_E_STORE;
	if (sc->to != NULL) {
		if (memcmp(k + PFX_LEN + CV_KEY_LEN, sc->to, CV_KEY_LEN) != 0)
			return CV_OK;
		if ((p = realloc(sc->shares, (sc->n + 1) * sizeof *sc->shares)) == NULL)
			return CV_E_NOMEM;
		sc->shares = p;
		share_decode(k, v, c->setup_hash, &sc->shares[sc->n++]);
		return CV_OK;
	}
	if ((p = realloc(c->share_from, (c->n_shares + 1) * CV_KEY_LEN)) == NULL)
		return CV_E_NOMEM;
	c->share_from = p;
	if ((p = realloc(c->share_to, (c->n_shares + 1) * CV_KEY_LEN)) == NULL)
		return CV_E_NOMEM;
	c->share_to = p;
	memcpy(c->share_from[c->n_shares], k + PFX_LEN, CV_KEY_LEN);
	memcpy(c->share_to[c->n_shares], k + PFX_LEN + CV_KEY_LEN, CV_KEY_LEN);
	c->n_shares++;
	return CV_OK;
}

static cv_err load_check(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	cv_ceremony *c = ((status_ctx *)ctx)->c;
	cv_share_check *ck;
	void *p;

	if (kl != PFX_LEN + 2 * CV_KEY_LEN || vl != CHECK_REC)
		return CV_E_STORE;
	if ((p = realloc(c->checks, (c->n_checks + 1) * sizeof *c->checks)) == NULL)
		return CV_E_NOMEM;
	c->checks = p;
	ck = &c->checks[c->n_checks++];
	memcpy(ck->setup_hash, c->setup_hash, CV_HASH_LEN);
	memcpy(ck->trustee, k + PFX_LEN, CV_KEY_LEN);
	memcpy(ck->sender, k + PFX_LEN + CV_KEY_LEN, CV_KEY_LEN);
	ck->good = v[0] == 1;
	memcpy(ck->signature, v + 1, CV_SIG_LEN);
	if (!ck->good)
		c->n_complaints++;
	return CV_OK;
}

void cv_ceremony_free(cv_ceremony *c)
{
	if (c == NULL)
		return;
	free(c->validators);
	cv_secrecy_free(&c->entries);
	free(c->share_from);
	free(c->share_to);
	free(c->checks);
	memset(c, 0, sizeof *c);
}

/* The whole status inside txn; the shares addressed to `to` into sc when it is set. */
static cv_err status_load(cv_store *s, DB_TXN *txn, status_ctx *sc)
{
	cv_ceremony *c = sc->c;
	cv_settings st;
	cv_genesis g;
	size_t n, n_good;
	cv_err e;

	cv_ceremony_free(c);
	free(sc->shares);
	sc->shares = NULL;
	sc->n = 0;
	e = current_setup(s, txn, &st, &g, c->setup_hash);
	if (e == CV_OK) {
		c->secret = st.secret;
		c->quorum = st.quorum;
		c->n_validators = g.n_validators;
		c->validators = g.validators; /* taken from g */
		g.validators = NULL;
		g.n_validators = 0;
	}
	cv_genesis_free(&g);
	if (e == CV_OK)
		e = cv_st_ceremony_entries(s, txn, st.quorum, &c->entries);
	if (e == CV_OK)
		e = cv_st_scan(s, ST_META, txn, K_SHARE, PFX_LEN, load_share, sc);
	if (e == CV_OK)
		e = cv_st_scan(s, ST_META, txn, K_CHECK, PFX_LEN, load_check, sc);
	if (e == CV_OK)
		e = cv_st_meta_u64(s, txn, K_VOIDED, &c->voided);
	if (e != CV_OK)
		return e;
	n = c->n_validators;
	n_good = c->n_checks - c->n_complaints;
	c->complete = c->secret && c->quorum >= 2 && c->quorum <= n && c->entries.n_trustees == n &&
	              c->n_shares == n * (n - 1) && n_good == n * (n - 1) && c->n_complaints == 0;
	return CV_OK;
}

static cv_err status_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	return status_load(s, txn, ctx);
}

cv_err cv_st_ceremony_status(cv_store *s, DB_TXN *txn, cv_ceremony *c)
{
	status_ctx sc = {c, NULL, NULL, 0};

	memset(c, 0, sizeof *c);
	return status_load(s, txn, &sc);
}

cv_err cv_store_ceremony(cv_store *s, cv_ceremony *out)
{
	status_ctx sc = {out, NULL, NULL, 0};
	cv_err e;

	memset(out, 0, sizeof *out);
	e = cv_st_run(s, status_op, &sc);
	if (e != CV_OK)
		cv_ceremony_free(out);
	return e;
}

cv_err cv_store_shares_to(cv_store *s, const uint8_t recipient[CV_KEY_LEN], cv_sealed_share **out,
                          size_t *n)
{
	cv_ceremony c = {0};
	status_ctx sc = {&c, recipient, NULL, 0};
	cv_err e = cv_st_run(s, status_op, &sc);

	cv_ceremony_free(&c);
	*out = NULL;
	*n = 0;
	if (e != CV_OK) {
		free(sc.shares);
		return e;
	}
	*out = sc.shares;
	*n = sc.n;
	return CV_OK;
}

/* ---- writing ---- */

/* Every ceremony write: in set-up, not archived, secret; c is the status. */
static cv_err ceremony_write_begin(cv_store *s, DB_TXN *txn, cv_ceremony *c)
{
	status_ctx sc = {c, NULL, NULL, 0};
	cv_state state;
	uint64_t archived;
	cv_err e = cv_st_state(s, txn, true, &state);

	if (e != CV_OK)
		return e;
	if (state != CV_STATE_SETUP)
		return CV_E_BAD_STATE;
	if ((e = cv_st_meta_u64(s, txn, "archived", &archived)) != CV_OK)
		return e;
	if (archived != 0)
		return CV_E_ARCHIVED;
	if ((e = status_load(s, txn, &sc)) != CV_OK)
		return e;
	return c->secret ? CV_OK : CV_E_BAD_STATE;
}

static bool is_validator(const cv_ceremony *c, const uint8_t key[CV_KEY_LEN])
{
	for (size_t i = 0; i < c->n_validators; i++)
		if (memcmp(c->validators[i].key, key, CV_KEY_LEN) == 0)
			return true;
	return false;
}

static const cv_trustee *entry_of(const cv_ceremony *c, const uint8_t key[CV_KEY_LEN])
{
	for (size_t i = 0; i < c->entries.n_trustees; i++)
		if (memcmp(c->entries.trustees[i].validator_key, key, CV_KEY_LEN) == 0)
			return &c->entries.trustees[i];
	return NULL;
}

static cv_err put_trustee_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	const cv_trustee *t = ctx;
	cv_ceremony c = {0};
	uint8_t key[PFX_LEN + CV_KEY_LEN], basis[CV_HASH_LEN + 1];
	cv_buf b = {0};
	cv_err e = ceremony_write_begin(s, txn, &c);

	if (e != CV_OK)
		goto out;
	e = CV_E_TRUSTEE_SETUP_HASH;
	if (memcmp(t->setup_hash, c.setup_hash, CV_HASH_LEN) != 0)
		goto out;
	e = CV_E_SECRECY_PARAMS;
	if (t->n_coeffs != c.quorum)
		goto out;
	e = CV_E_TRUSTEE_NOT_VALIDATOR;
	if (!is_validator(&c, t->validator_key))
		goto out;
	if ((e = cv_trustee_entry(t, true, &b)) != CV_OK)
		goto out;
	e = cv_st_put(s, ST_META, txn, key, key1(key, K_ENTRY, t->validator_key), b.data, b.len,
	              DB_NOOVERWRITE);
	memcpy(basis, c.setup_hash, CV_HASH_LEN);
	basis[CV_HASH_LEN] = c.quorum;
	if (e == CV_OK)
		e = cv_st_put(s, ST_META, txn, K_BASIS, strlen(K_BASIS), basis, sizeof basis, 0);
out:
	cv_buf_free(&b);
	cv_ceremony_free(&c);
	return e;
}

cv_err cv_store_put_trustee(cv_store *s, const cv_trustee *t)
{
	cv_err e = cv_trustee_verify(t);

	return e != CV_OK ? e : cv_st_run(s, put_trustee_op, (void *)t);
}

static cv_err put_share_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	const cv_sealed_share *sh = ctx;
	cv_ceremony c = {0};
	uint8_t key[PFX_LEN + 2 * CV_KEY_LEN], rec[SHARE_REC], *p = rec;
	cv_err e = ceremony_write_begin(s, txn, &c);

	if (e != CV_OK)
		goto out;
	e = CV_E_TRUSTEE_SETUP_HASH;
	if (memcmp(sh->setup_hash, c.setup_hash, CV_HASH_LEN) != 0)
		goto out;
	e = CV_E_DECRYPTION_NOT_TRUSTEE;
	if (!is_validator(&c, sh->sender) || !is_validator(&c, sh->recipient) ||
	    memcmp(sh->sender, sh->recipient, CV_KEY_LEN) == 0)
		goto out;
	/* x_j is a trustee's place among all of them: shares wait for every entry */
	e = CV_E_BAD_STATE;
	if (c.entries.n_trustees != c.n_validators)
		goto out;
	memcpy(p, sh->ephemeral, CV_POINT_LEN);
	p += CV_POINT_LEN;
	memcpy(p, sh->nonce, CV_SEALED_NONCE_LEN);
	p += CV_SEALED_NONCE_LEN;
	memcpy(p, sh->ciphertext, CV_SCALAR_LEN);
	p += CV_SCALAR_LEN;
	memcpy(p, sh->tag, CV_SEALED_TAG_LEN);
	memcpy(p + CV_SEALED_TAG_LEN, sh->signature, CV_SIG_LEN);
	e = cv_st_put(s, ST_META, txn, key, key2(key, K_SHARE, sh->sender, sh->recipient), rec,
	              sizeof rec, DB_NOOVERWRITE);
out:
	cv_ceremony_free(&c);
	return e;
}

cv_err cv_store_put_share(cv_store *s, const cv_sealed_share *sh)
{
	cv_err e = cv_sealed_verify(sh);

	return e != CV_OK ? e : cv_st_run(s, put_share_op, (void *)sh);
}

static cv_err put_check_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	const cv_share_check *ck = ctx;
	cv_ceremony c = {0};
	uint8_t key[PFX_LEN + 2 * CV_KEY_LEN], rec[CHECK_REC];
	cv_err e = ceremony_write_begin(s, txn, &c);

	if (e != CV_OK)
		goto out;
	e = CV_E_TRUSTEE_SETUP_HASH;
	if (memcmp(ck->setup_hash, c.setup_hash, CV_HASH_LEN) != 0)
		goto out;
	e = CV_E_DECRYPTION_NOT_TRUSTEE;
	if (entry_of(&c, ck->trustee) == NULL)
		goto out;
	/* the share checked must be there */
	e = cv_st_exists(s, ST_META, txn, key, key2(key, K_SHARE, ck->sender, ck->trustee));
	if (e != CV_OK)
		goto out;
	rec[0] = ck->good ? 1 : 0;
	memcpy(rec + 1, ck->signature, CV_SIG_LEN);
	e = cv_st_put(s, ST_META, txn, key, key2(key, K_CHECK, ck->trustee, ck->sender), rec,
	              sizeof rec, DB_NOOVERWRITE);
out:
	cv_ceremony_free(&c);
	return e;
}

cv_err cv_store_put_check(cv_store *s, const cv_share_check *c)
{
	cv_err e = cv_share_check_verify(c);

	return e != CV_OK ? e : cv_st_run(s, put_check_op, (void *)c);
}

static cv_err reset_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	cv_ceremony c = {0};
	cv_err e = ceremony_write_begin(s, txn, &c);

	(void)ctx;
	cv_ceremony_free(&c);
	if (e == CV_OK)
		e = cv_st_del_prefix(s, ST_META, txn, ST_CEREMONY_PREFIX,
		                     strlen(ST_CEREMONY_PREFIX));
	if (e == CV_OK)
		e = cv_st_meta_add(s, txn, K_VOIDED, 1);
	return e;
}

cv_err cv_store_ceremony_reset(cv_store *s)
{
	return cv_st_run(s, reset_op, NULL);
}
