/* The elections of an environment: slugs, the registry in the default election's meta
 * database, and the handles of the other elections, opened once and cached on the root. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

/* ---- elections ---- */

/* The registry: one record per election in the default election's meta database,
 * "election/<slug>" -> u64 registered at. */
#define REGISTRY_PREFIX "election/"

bool cv_election_slug_ok(const char *slug)
{
	size_t n;

	if (slug == NULL)
		return false;
	n = strlen(slug);
	return n >= 1 && n <= CV_ELECTION_SLUG_MAX &&
	       strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

const char *cv_store_slug(const cv_store *s)
{
	return s->root == NULL ? CV_ELECTION_DEFAULT : s->slug;
}

static size_t registry_key(const char *slug,
                           char key[sizeof REGISTRY_PREFIX + CV_ELECTION_SLUG_MAX])
{
	return (size_t)snprintf(key, sizeof REGISTRY_PREFIX + CV_ELECTION_SLUG_MAX, "%s%s",
	                        REGISTRY_PREFIX, slug);
}

static cv_err registered_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	char key[sizeof REGISTRY_PREFIX + CV_ELECTION_SLUG_MAX];
	size_t klen = registry_key(ctx, key);

	return cv_st_exists(s, ST_META, txn, key, klen);
}

typedef struct register_ctx {
	const char *slug;
	uint64_t now;
} register_ctx;

static cv_err register_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	const register_ctx *c = ctx;
	char key[sizeof REGISTRY_PREFIX + CV_ELECTION_SLUG_MAX];
	size_t klen = registry_key(c->slug, key);
	uint8_t at[8];

	cv_put_u64(at, c->now);
	return cv_st_put(s, ST_META, txn, key, klen, at, sizeof at, DB_NOOVERWRITE);
}

/* A handle of election slug on root's environment, its databases opened (created
 * with create). */
static cv_err election_new(cv_store *root, const char *slug, bool create, cv_store **out)
{
	cv_store *el = calloc(1, sizeof *el);
	cv_err e;

	*out = NULL;
	if (el == NULL)
		return CV_E_NOMEM;
	if (pthread_mutex_init(&el->lock, NULL) != 0) {
		free(el);
		return CV_E_INTERNAL;
	}
	el->env = root->env;
	el->lock_fd = -1;
	el->root = root;
	snprintf(el->slug, sizeof el->slug, "%s", slug);
	if ((e = cv_st_open_dbs_patiently(el, create)) != CV_OK) {
		cv_st_election_free(el);
		return e == ST_RETRY || e == ST_TIMEOUT ? CV_E_BUSY : e;
	}
	*out = el;
	return CV_OK;
}

/* The handle of slug among those root opened already, or NULL. Holds elections_lock. */
static cv_store *election_cached(cv_store *root, const char *slug)
{
	for (cv_store *el = root->elections; el != NULL; el = el->next_election)
		if (strcmp(el->slug, slug) == 0)
			return el;
	return NULL;
}

cv_err cv_store_add_election(cv_store *root, const char *slug, uint64_t now)
{
	register_ctx c = {slug, now};
	cv_store *el = NULL;
	cv_err e;

	assert(root->root == NULL);
	if (!cv_election_slug_ok(slug))
		return CV_E_MALFORMED;
	if (strcmp(slug, CV_ELECTION_DEFAULT) == 0)
		return CV_E_EXISTS;
	pthread_mutex_lock(&root->elections_lock);
	if (election_cached(root, slug) != NULL) {
		e = CV_E_EXISTS;
		goto out;
	}
	/* The databases first, then the record: an election is listed only once its files
	 * are there. A crash between leaves empty files that the next try opens again. */
	if ((e = election_new(root, slug, true, &el)) != CV_OK)
		goto out;
	if ((e = cv_st_run(root, register_op, &c)) != CV_OK) {
		cv_st_election_free(el);
		goto out;
	}
	el->next_election = root->elections;
	root->elections = el;
out:
	pthread_mutex_unlock(&root->elections_lock);
	return e;
}

cv_err cv_store_election(cv_store *root, const char *slug, cv_store **out)
{
	cv_store *el;
	cv_err e = CV_OK;

	*out = NULL;
	assert(root->root == NULL);
	if (!cv_election_slug_ok(slug))
		return CV_E_MALFORMED;
	if (strcmp(slug, CV_ELECTION_DEFAULT) == 0) {
		*out = root;
		return CV_OK;
	}
	pthread_mutex_lock(&root->elections_lock);
	if ((el = election_cached(root, slug)) == NULL) {
		/* elections are never removed, so only a found one is remembered */
		if ((e = cv_st_run(root, registered_op, (void *)slug)) == CV_OK &&
		    (e = election_new(root, slug, false, &el)) == CV_OK) {
			el->next_election = root->elections;
			root->elections = el;
		}
	}
	pthread_mutex_unlock(&root->elections_lock);
	*out = el;
	return e;
}

typedef struct list_ctx {
	cv_election_listing *list;
	size_t n, cap;
} list_ctx;

static cv_err list_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	list_ctx *c = ctx;
	size_t slen = klen - strlen(REGISTRY_PREFIX);

	if (vlen != 8 || slen == 0 || slen > CV_ELECTION_SLUG_MAX)
		return CV_E_STORE;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		cv_election_listing *p = realloc(c->list, cap * sizeof *p);

		if (p == NULL)
			return CV_E_NOMEM;
		c->list = p;
		c->cap = cap;
	}
	memcpy(c->list[c->n].slug, key + strlen(REGISTRY_PREFIX), slen);
	c->list[c->n].slug[slen] = '\0';
	c->list[c->n].created = cv_get_u64(val);
	c->n++;
	return CV_OK;
}

static cv_err list_op(cv_store *s, DB_TXN *txn, void *ctx)
{
	list_ctx *c = ctx;

	c->n = 0; /* the op may run again after a deadlock */
	return cv_st_scan(s, ST_META, txn, REGISTRY_PREFIX, strlen(REGISTRY_PREFIX), list_one, c);
}

cv_err cv_store_elections(cv_store *root, cv_election_listing **out, size_t *n)
{
	list_ctx c = {0};
	cv_err e;

	assert(root->root == NULL);
	*out = NULL;
	*n = 0;
	if ((e = cv_st_run(root, list_op, &c)) != CV_OK) {
		free(c.list);
		return e;
	}
	*out = c.list;
	*n = c.n;
	return CV_OK;
}
