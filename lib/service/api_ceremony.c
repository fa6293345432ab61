/* The service's JSON shapes of the key ceremony (see api.h and docs/SECRET.md): sealed
 * shares, share checks, and the ceremony's state as GET /api/ceremony shows it. */
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* ---- the key ceremony ---- */

static const char *const sealed_keys[] = {"setup_hash", "sender", "recipient", "ephemeral", "nonce",
                                          "ciphertext", "tag",    "signature", NULL};

json_object *cv_api_sealed_json(const cv_sealed_share *sh)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	cv_json_add_hex(o, "setup_hash", sh->setup_hash, CV_HASH_LEN);
	cv_json_add_hex(o, "sender", sh->sender, CV_KEY_LEN);
	cv_json_add_hex(o, "recipient", sh->recipient, CV_KEY_LEN);
	cv_json_add_hex(o, "ephemeral", sh->ephemeral, CV_POINT_LEN);
	cv_json_add_hex(o, "nonce", sh->nonce, CV_SEALED_NONCE_LEN);
	cv_json_add_hex(o, "ciphertext", sh->ciphertext, CV_SCALAR_LEN);
	cv_json_add_hex(o, "tag", sh->tag, CV_SEALED_TAG_LEN);
	cv_json_add_hex(o, "signature", sh->signature, CV_SIG_LEN);
	return o;
}

cv_err cv_api_sealed_read(const json_object *o, cv_sealed_share *sh)
{
	memset(sh, 0, sizeof *sh);
	if (!json_object_is_type(o, json_type_object) ||
	    cv_json_only_keys(o, sealed_keys) != CV_OK ||
	    cv_json_get_hex(o, "setup_hash", sh->setup_hash, CV_HASH_LEN) != CV_OK ||
	    cv_json_get_hex(o, "sender", sh->sender, CV_KEY_LEN) != CV_OK ||
	    cv_json_get_hex(o, "recipient", sh->recipient, CV_KEY_LEN) != CV_OK ||
	    cv_json_get_hex(o, "ephemeral", sh->ephemeral, CV_POINT_LEN) != CV_OK ||
	    cv_json_get_hex(o, "nonce", sh->nonce, CV_SEALED_NONCE_LEN) != CV_OK ||
	    cv_json_get_hex(o, "ciphertext", sh->ciphertext, CV_SCALAR_LEN) != CV_OK ||
	    cv_json_get_hex(o, "tag", sh->tag, CV_SEALED_TAG_LEN) != CV_OK ||
	    cv_json_get_hex(o, "signature", sh->signature, CV_SIG_LEN) != CV_OK) {
		memset(sh, 0, sizeof *sh);
		return CV_E_MALFORMED;
	}
	return CV_OK;
}

static const char *const check_keys[] = {"setup_hash", "trustee",   "sender",
                                         "good",       "signature", NULL};

json_object *cv_api_check_json(const cv_share_check *c)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	cv_json_add_hex(o, "setup_hash", c->setup_hash, CV_HASH_LEN);
	cv_json_add_hex(o, "trustee", c->trustee, CV_KEY_LEN);
	cv_json_add_hex(o, "sender", c->sender, CV_KEY_LEN);
	json_object_object_add(o, "good", json_object_new_boolean(c->good));
	cv_json_add_hex(o, "signature", c->signature, CV_SIG_LEN);
	return o;
}

cv_err cv_api_check_read(const json_object *o, cv_share_check *c)
{
	json_object *good;

	memset(c, 0, sizeof *c);
	if (!json_object_is_type(o, json_type_object) ||
	    cv_json_only_keys(o, check_keys) != CV_OK ||
	    cv_json_get_hex(o, "setup_hash", c->setup_hash, CV_HASH_LEN) != CV_OK ||
	    cv_json_get_hex(o, "trustee", c->trustee, CV_KEY_LEN) != CV_OK ||
	    cv_json_get_hex(o, "sender", c->sender, CV_KEY_LEN) != CV_OK ||
	    !json_object_object_get_ex(o, "good", &good) ||
	    !json_object_is_type(good, json_type_boolean) ||
	    cv_json_get_hex(o, "signature", c->signature, CV_SIG_LEN) != CV_OK) {
		memset(c, 0, sizeof *c);
		return CV_E_MALFORMED;
	}
	c->good = json_object_get_boolean(good);
	return CV_OK;
}

/* How many of the pairs (from, to) have `key` on the given side. */
static uint64_t count_key(const uint8_t (*keys)[CV_KEY_LEN], size_t n, const uint8_t *key)
{
	uint64_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += memcmp(keys[i], key, CV_KEY_LEN) == 0;
	return count;
}

json_object *cv_api_ceremony_json(const cv_ceremony *c)
{
	json_object *o = json_object_new_object(), *ts = json_object_new_array(),
	            *shares = json_object_new_array(), *checks = json_object_new_array();

	if (o == NULL || ts == NULL || shares == NULL || checks == NULL)
		goto fail;
	json_object_object_add(o, "ballots", json_object_new_string(c->secret ? "secret" : "open"));
	json_object_object_add(o, "quorum", json_object_new_uint64(c->quorum));
	cv_json_add_hex(o, "setup_hash", c->setup_hash, CV_HASH_LEN);
	for (size_t i = 0; i < c->n_validators; i++) {
		const uint8_t *key = c->validators[i].key;
		const cv_trustee *entry = NULL;
		json_object *t = json_object_new_object();
		uint64_t confirmed = 0, complaints = 0;

		if (t == NULL || json_object_array_add(ts, t) != 0) {
			json_object_put(t);
			goto fail;
		}
		for (size_t j = 0; j < c->entries.n_trustees; j++)
			if (memcmp(c->entries.trustees[j].validator_key, key, CV_KEY_LEN) == 0)
				entry = &c->entries.trustees[j];
		for (size_t j = 0; j < c->n_checks; j++)
			if (memcmp(c->checks[j].trustee, key, CV_KEY_LEN) == 0) {
				confirmed += c->checks[j].good;
				complaints += !c->checks[j].good;
			}
		json_object_object_add(t, "x", json_object_new_uint64(i + 1));
		cv_json_add_hex(t, "validator_key", key, CV_KEY_LEN);
		json_object_object_add(t, "name", json_object_new_string(c->validators[i].name));
		json_object_object_add(t, "entry",
		                       entry != NULL ? cv_trustee_to_json(entry) : NULL);
		json_object_object_add(
		    t, "shares_sent",
		    json_object_new_uint64(count_key(c->share_from, c->n_shares, key)));
		json_object_object_add(
		    t, "shares_received",
		    json_object_new_uint64(count_key(c->share_to, c->n_shares, key)));
		json_object_object_add(t, "confirmed", json_object_new_uint64(confirmed));
		json_object_object_add(t, "complaints", json_object_new_uint64(complaints));
	}
	for (size_t i = 0; i < c->n_shares; i++) {
		json_object *sh = json_object_new_object();

		if (sh == NULL || json_object_array_add(shares, sh) != 0) {
			json_object_put(sh);
			goto fail;
		}
		cv_json_add_hex(sh, "sender", c->share_from[i], CV_KEY_LEN);
		cv_json_add_hex(sh, "recipient", c->share_to[i], CV_KEY_LEN);
	}
	for (size_t i = 0; i < c->n_checks; i++) {
		json_object *ck = cv_api_check_json(&c->checks[i]);

		if (ck == NULL || json_object_array_add(checks, ck) != 0) {
			json_object_put(ck);
			goto fail;
		}
	}
	json_object_object_add(o, "trustees", ts);
	json_object_object_add(o, "shares", shares);
	json_object_object_add(o, "checks", checks);
	ts = shares = checks = NULL;
	json_object_object_add(o, "complaints", json_object_new_uint64(c->n_complaints));
	json_object_object_add(o, "voided", json_object_new_uint64(c->voided));
	json_object_object_add(o, "complete", json_object_new_boolean(c->complete));
	return o;
fail:
	json_object_put(o);
	json_object_put(ts);
	json_object_put(shares);
	json_object_put(checks);
	return NULL;
}

cv_err cv_api_ceremony_read(const json_object *o, cv_ceremony *out)
{
	json_object *ts, *checks, *shares, *v;
	uint64_t q;
	size_t n;
	cv_err e = CV_E_MALFORMED;

	memset(out, 0, sizeof *out);
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "ballots", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    cv_json_get_u64(o, "quorum", UINT8_MAX, &q) != CV_OK ||
	    cv_json_get_hex(o, "setup_hash", out->setup_hash, CV_HASH_LEN) != CV_OK ||
	    cv_json_get_array(o, "trustees", &ts) != CV_OK ||
	    cv_json_get_array(o, "shares", &shares) != CV_OK ||
	    cv_json_get_array(o, "checks", &checks) != CV_OK ||
	    !json_object_object_get_ex(o, "complete", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return CV_E_MALFORMED;
	out->complete = json_object_get_boolean(v);
	out->secret =
	    strcmp(json_object_get_string(json_object_object_get(o, "ballots")), "secret") == 0;
	out->quorum = (uint8_t)q;
	out->entries.quorum = (uint8_t)q;
	n = json_object_array_length(ts);
	if (n > CV_MAX_QUORUM || json_object_array_length(checks) > CV_MAX_QUORUM * CV_MAX_QUORUM ||
	    json_object_array_length(shares) > CV_MAX_QUORUM * CV_MAX_QUORUM)
		return CV_E_TOO_LARGE;
	if (n > 0 && ((out->validators = calloc(n, sizeof *out->validators)) == NULL ||
	              (out->entries.trustees = calloc(n, sizeof(cv_trustee))) == NULL)) {
		e = CV_E_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(ts, i), *entry;

		if (!json_object_is_type(t, json_type_object) ||
		    cv_json_get_hex(t, "validator_key", out->validators[i].key, CV_KEY_LEN) !=
		        CV_OK ||
		    cv_json_get_text(t, "name", out->validators[i].name) != CV_OK ||
		    !json_object_object_get_ex(t, "entry", &entry))
			goto fail;
		out->n_validators++;
		if (entry == NULL)
			continue;
		if (cv_trustee_from_json(entry, &out->entries.trustees[out->entries.n_trustees]) !=
		    CV_OK)
			goto fail;
		out->entries.n_trustees++;
	}
	/* the shares posted, by sender and recipient: n_shares counts what is read */
	n = json_object_array_length(shares);
	if (n > 0 && ((out->share_from = calloc(n, CV_KEY_LEN)) == NULL ||
	              (out->share_to = calloc(n, CV_KEY_LEN)) == NULL)) {
		e = CV_E_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *sh = json_object_array_get_idx(shares, i);

		if (!json_object_is_type(sh, json_type_object) ||
		    cv_json_get_hex(sh, "sender", out->share_from[i], CV_KEY_LEN) != CV_OK ||
		    cv_json_get_hex(sh, "recipient", out->share_to[i], CV_KEY_LEN) != CV_OK)
			goto fail;
		out->n_shares++;
	}
	n = json_object_array_length(checks);
	if (n > 0 && (out->checks = calloc(n, sizeof *out->checks)) == NULL) {
		e = CV_E_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (cv_api_check_read(json_object_array_get_idx(checks, i), &out->checks[i]) !=
		    CV_OK)
			goto fail;
		out->n_checks++;
		out->n_complaints += !out->checks[i].good;
	}
	return CV_OK;
fail:
	cv_ceremony_free(out);
	return e;
}
