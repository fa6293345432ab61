/* The one transaction loop every operation of the store runs in (with its fault
 * injection for tests), and the record primitives the operations use inside it: get,
 * put, delete, scan, and the meta records (counters, state, settings, tip, close). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_impl.h"

/* Attempts of one operation: a deadlock or a lock timeout (ST_LOCK_TIMEOUT_US, store.c)
 * is retried until then, and the operation answers CV_E_BUSY. */
#define ST_MAX_ATTEMPTS 50

cv_err cv_st_dberr(int rc)
{
	switch (rc) {
	case 0:
		return CV_OK;
	case DB_LOCK_DEADLOCK:
		return ST_RETRY;
	case DB_LOCK_NOTGRANTED:
		return ST_TIMEOUT;
	case DB_NOTFOUND:
		return CV_E_NOT_FOUND;
	case DB_KEYEXIST:
		return CV_E_EXISTS;
	case DB_RUNRECOVERY:
		return CV_E_RECOVER;
	case ENOMEM:
		return CV_E_NOMEM;
	case DB_REP_LOCKOUT: /* a replica catching up with a new master */
		return CV_E_BUSY;
	case DB_REP_HANDLE_DEAD: /* a replica rolled back: the handles must be opened anew */
		return CV_E_RECOVER;
	default:
		return CV_E_STORE;
	}
}

void cv_store_fault_deadlock(cv_store *s, int n)
{
	atomic_store(&s->fault_deadlock, n);
}

void cv_store_fault_stall(cv_store *s, unsigned ms)
{
	atomic_store(&s->fault_stall_ms, ms);
}

unsigned long long cv_store_retries(cv_store *s)
{
	return atomic_load(&s->retries);
}

void cv_st_stall(cv_store *s)
{
	unsigned ms = atomic_exchange(&s->fault_stall_ms, 0);
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	if (ms > 0)
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
}

/* True when the deadlock fault fires for this commit. */
static bool fault_fires(cv_store *s)
{
	int n = atomic_load(&s->fault_deadlock);

	while (n > 0) {
		if (atomic_compare_exchange_weak(&s->fault_deadlock, &n, n - 1))
			return n == 1;
	}
	return false;
}

/* A short randomised pause so that transactions that deadlocked do not collide again
 * in lock step. Grows with the attempt number, at most ~20 ms. */
static void backoff(int attempt)
{
	unsigned max_us = 500u * (unsigned)(attempt < 40 ? attempt + 1 : 40);
	struct timespec ts = {0, 0};
	unsigned r;

	if (cv_random(&r, sizeof r) != CV_OK)
		r = (unsigned)attempt * 7919u;
	ts.tv_nsec = (long)(r % max_us) * 1000L;
	nanosleep(&ts, NULL);
}

cv_err cv_st_run(cv_store *s, cv_st_op op, void *ctx)
{
	cv_err e = CV_E_BUSY;
	DB_TXN *txn;
	int rc;

	for (int attempt = 0; attempt < ST_MAX_ATTEMPTS; attempt++) {
		if (attempt > 0) {
			atomic_fetch_add(&s->retries, 1);
			/* A lock held past the timeout may belong to a dead process. */
			if (e == ST_TIMEOUT && cv_store_failchk(s) == CV_E_RECOVER)
				return CV_E_RECOVER;
			backoff(attempt);
		}
		txn = NULL;
		rc = s->env->txn_begin(s->env, NULL, &txn, 0);
		if (rc != 0) {
			e = cv_st_dberr(rc);
			if (e == ST_RETRY || e == ST_TIMEOUT)
				continue;
			return e == CV_E_RECOVER ? e : CV_E_STORE;
		}
		e = op(s, txn, ctx);
		if (e == CV_OK) {
			cv_st_stall(s);
			if (fault_fires(s)) {
				txn->abort(txn);
				e = ST_RETRY;
				continue;
			}
			/* Group commit: the commit releases its locks without waiting for the
			 * disk, then the log is flushed before anyone is told CV_OK. Writers
			 * that commit while another process flushes are covered by one fsync
			 * instead of queueing one each behind the writers' lock. A failed
			 * commit has ended the transaction either way. */
			if (cv_st_replicated(s)) {
				/* Replicated: a synchronous commit, whose log record the replicas
				 * flush before they acknowledge it (REPCTL_FLUSH); the commit
				 * returns once a quorum did, or the wait failed (the event). */
				cv_st_cluster_commit_begin();
				rc = txn->commit(txn, 0);
				if (rc == 0)
					return cv_st_cluster_commit_durable() ? CV_OK
					                                      : CV_E_NOT_DURABLE;
				e = cv_st_dberr(rc);
				if (e != ST_RETRY && e != ST_TIMEOUT)
					return e;
				continue;
			}
			rc = txn->commit(txn, DB_TXN_NOSYNC);
			if (rc == 0) {
				rc = s->env->log_flush(s->env, NULL);
				return rc == 0                ? CV_OK
				       : rc == DB_RUNRECOVERY ? CV_E_RECOVER
				                              : CV_E_STORE;
			}
			e = cv_st_dberr(rc);
		} else {
			rc = txn->abort(txn);
			if (rc == DB_RUNRECOVERY)
				return CV_E_RECOVER;
			/* a write refused because this site became a replica (EACCES) */
			if (e == CV_E_STORE && cv_st_replicated(s) && !cv_st_cluster_is_master(s))
				return CV_E_NOT_MASTER;
		}
		if (e != ST_RETRY && e != ST_TIMEOUT)
			return e;
	}
	return CV_E_BUSY;
}

/* ---- records ---- */

static void dbt_in(DBT *d, const void *p, size_t n)
{
	memset(d, 0, sizeof *d);
	d->data = (void *)p;
	d->size = (uint32_t)n;
}

cv_err cv_st_get(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen, void **val,
                 size_t *len, uint32_t flags)
{
	DBT k, v;
	int rc;

	*val = NULL;
	*len = 0;
	dbt_in(&k, key, klen);
	memset(&v, 0, sizeof v);
	v.flags = DB_DBT_MALLOC;
	rc = s->db[db]->get(s->db[db], txn, &k, &v, flags);
	if (rc != 0)
		return cv_st_dberr(rc);
	*val = v.data;
	*len = v.size;
	return CV_OK;
}

cv_err cv_st_get_fixed(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen, void *val,
                       size_t len, uint32_t flags)
{
	DBT k, v;
	int rc;

	dbt_in(&k, key, klen);
	memset(&v, 0, sizeof v);
	v.data = val;
	v.ulen = (uint32_t)len;
	v.flags = DB_DBT_USERMEM;
	rc = s->db[db]->get(s->db[db], txn, &k, &v, flags);
	if (rc == DB_BUFFER_SMALL)
		return CV_E_STORE;
	if (rc != 0)
		return cv_st_dberr(rc);
	return v.size == len ? CV_OK : CV_E_STORE;
}

cv_err cv_st_exists(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen)
{
	DBT k, v;
	int rc;

	dbt_in(&k, key, klen);
	/* A partial get of zero bytes: only whether the key is there. */
	memset(&v, 0, sizeof v);
	v.flags = DB_DBT_PARTIAL | DB_DBT_USERMEM;
	rc = s->db[db]->get(s->db[db], txn, &k, &v, 0);
	return cv_st_dberr(rc);
}

cv_err cv_st_put(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen, const void *val,
                 size_t len, uint32_t flags)
{
	DBT k, v;

	dbt_in(&k, key, klen);
	dbt_in(&v, val, len);
	return cv_st_dberr(s->db[db]->put(s->db[db], txn, &k, &v, flags));
}

cv_err cv_st_del(cv_store *s, int db, DB_TXN *txn, const void *key, size_t klen)
{
	DBT k;

	dbt_in(&k, key, klen);
	return cv_st_dberr(s->db[db]->del(s->db[db], txn, &k, 0));
}

cv_err cv_st_scan(cv_store *s, int db, DB_TXN *txn, const void *prefix, size_t plen,
                  cv_st_scan_fn fn, void *ctx)
{
	DBC *c = NULL;
	DBT k, v;
	cv_err e;
	int rc;

	memset(&k, 0, sizeof k);
	memset(&v, 0, sizeof v);
	k.flags = DB_DBT_REALLOC;
	v.flags = DB_DBT_REALLOC;
	rc = s->db[db]->cursor(s->db[db], txn, &c, 0);
	if (rc != 0)
		return cv_st_dberr(rc);
	if (plen > 0) {
		k.data = malloc(plen);
		if (k.data == NULL) {
			e = CV_E_NOMEM;
			goto out;
		}
		memcpy(k.data, prefix, plen);
		k.size = (uint32_t)plen;
		rc = c->get(c, &k, &v, DB_SET_RANGE);
	} else {
		rc = c->get(c, &k, &v, DB_FIRST);
	}
	for (;;) {
		if (rc == DB_NOTFOUND) {
			e = CV_OK;
			break;
		}
		if (rc != 0) {
			e = cv_st_dberr(rc);
			break;
		}
		if (plen > 0 && (k.size < plen || memcmp(k.data, prefix, plen) != 0)) {
			e = CV_OK;
			break;
		}
		e = fn(ctx, k.data, k.size, v.data, v.size);
		if (e == ST_DELETE) {
			rc = c->del(c, 0);
			if (rc != 0) {
				e = cv_st_dberr(rc);
				break;
			}
			e = CV_OK;
		}
		if (e == ST_STOP) {
			e = CV_OK;
			break;
		}
		if (e != CV_OK)
			break;
		rc = c->get(c, &k, &v, DB_NEXT);
	}
out:
	if (c != NULL) {
		rc = c->close(c);
		if (rc != 0 && e == CV_OK)
			e = cv_st_dberr(rc);
	}
	free(k.data);
	free(v.data);
	return e;
}

static cv_err delete_each(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	(void)ctx;
	(void)k;
	(void)kl;
	(void)v;
	(void)vl;
	return ST_DELETE;
}

cv_err cv_st_del_prefix(cv_store *s, int db, DB_TXN *txn, const void *prefix, size_t plen)
{
	return cv_st_scan(s, db, txn, prefix, plen, delete_each, NULL);
}

/* ---- meta ---- */

cv_err cv_st_meta_u64(cv_store *s, DB_TXN *txn, const char *name, uint64_t *v)
{
	uint8_t b[8];
	cv_err e = cv_st_get_fixed(s, ST_META, txn, name, strlen(name), b, sizeof b, 0);

	*v = 0;
	if (e == CV_E_NOT_FOUND)
		return CV_OK;
	if (e == CV_OK)
		*v = cv_get_u64(b);
	return e;
}

cv_err cv_st_meta_put_u64(cv_store *s, DB_TXN *txn, const char *name, uint64_t v)
{
	uint8_t b[8];

	cv_put_u64(b, v);
	return cv_st_put(s, ST_META, txn, name, strlen(name), b, sizeof b, 0);
}

cv_err cv_st_meta_add(cv_store *s, DB_TXN *txn, const char *name, int64_t delta)
{
	uint64_t v;
	cv_err e = cv_st_meta_u64(s, txn, name, &v);

	if (e != CV_OK)
		return e;
	/* Counters never go below zero; a negative result would mean a bookkeeping bug. */
	if (delta < 0 && (uint64_t)-delta > v)
		return CV_E_INTERNAL;
	return cv_st_meta_put_u64(s, txn, name, v + (uint64_t)delta);
}

cv_err cv_st_state(cv_store *s, DB_TXN *txn, bool write, cv_state *state)
{
	uint8_t b;
	cv_err e = cv_st_get_fixed(s, ST_META, txn, "state", 5, &b, 1, write ? DB_RMW : 0);

	if (e != CV_OK)
		return e;
	if (b > CV_STATE_CLOSED)
		return CV_E_STORE;
	*state = (cv_state)b;
	return CV_OK;
}

cv_err cv_st_settings(cv_store *s, DB_TXN *txn, cv_settings *st)
{
	void *p;
	size_t n;
	cv_err e = cv_st_get(s, ST_META, txn, "settings", 8, &p, &n, 0);

	if (e != CV_OK)
		return e;
	e = cv_st_settings_decode(p, n, st);
	free(p);
	return e;
}

cv_err cv_st_tip_get(cv_store *s, DB_TXN *txn, cv_st_tip *tip)
{
	uint8_t b[8 + CV_HASH_LEN + CV_HEADER_LEN];
	cv_err e = cv_st_get_fixed(s, ST_META, txn, "tip", 3, b, sizeof b, 0);

	cv_reader r = {.p = b, .n = sizeof b};

	memset(tip, 0, sizeof *tip);
	if (e != CV_OK)
		return e;
	tip->height = cv_rd_u64(&r);
	cv_rd_copy(&r, tip->hash, CV_HASH_LEN);
	return cv_st_header_decode(cv_rd_take(&r, CV_HEADER_LEN), CV_HEADER_LEN, &tip->header);
}

cv_err cv_st_genesis_get(cv_store *s, DB_TXN *txn, uint8_t id[CV_HASH_LEN], uint64_t *ts)
{
	uint8_t b[CV_HASH_LEN + 8];
	cv_err e = cv_st_get_fixed(s, ST_META, txn, "genesis", 7, b, sizeof b, 0);
	cv_reader r = {.p = b, .n = sizeof b};

	if (e != CV_OK)
		return e == CV_E_NOT_FOUND ? CV_E_STORE : e;
	cv_rd_copy(&r, id, CV_HASH_LEN);
	*ts = cv_rd_u64(&r);
	return CV_OK;
}

bool cv_st_closed_by_clock(uint64_t closes, uint64_t now)
{
	return closes != 0 && now > closes;
}

cv_err cv_st_close_get(cv_store *s, DB_TXN *txn, uint64_t now, bool write, cv_st_close *c)
{
	cv_settings st;
	cv_err e;

	memset(c, 0, sizeof *c);
	if ((e = cv_st_state(s, txn, write, &c->state)) != CV_OK ||
	    (e = cv_st_settings(s, txn, &st)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, "closed_at", &c->closed_at)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, "seal_height", &c->seal_height)) != CV_OK ||
	    (e = cv_st_meta_u64(s, txn, "n_pending", &c->n_pending)) != CV_OK)
		return e;
	if (c->state != CV_STATE_SETUP && (e = cv_st_settings_in_force(s, txn, &st)) != CV_OK)
		return e;
	c->closes = st.election.closes;
	if (c->state == CV_STATE_CLOSED) {
		c->closed = true;
	} else if (c->state == CV_STATE_OPEN && cv_st_closed_by_clock(c->closes, now)) {
		/* the election closed by its clock: nothing was written, nothing needs to be */
		c->closed = true;
		c->closed_at = c->closes;
	}
	return CV_OK;
}

cv_err cv_st_tip_put(cv_store *s, DB_TXN *txn, const cv_st_tip *tip)
{
	uint8_t b[8 + CV_HASH_LEN + CV_HEADER_LEN];

	cv_put_u64(b, tip->height);
	memcpy(b + 8, tip->hash, CV_HASH_LEN);
	cv_header_encode(&tip->header, b + 8 + CV_HASH_LEN);
	return cv_st_put(s, ST_META, txn, "tip", 3, b, sizeof b, 0);
}
