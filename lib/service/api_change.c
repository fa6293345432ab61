/* The service's JSON shapes of the changes of the parameters (see api.h and
 * docs/GOVERNANCE.md): the listing of GET /api/changes, and what the CLI reads of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* ---- changes of the parameters ---- */

static const char *change_status(uint64_t next_height, unsigned threshold,
                                 const cv_change_record *r)
{
	if (r->committed)
		return "committed";
	if (r->change.effective_height < next_height + 1)
		return "missed";
	if (r->change.effective_height == next_height + 1 && r->change.n_signatures >= threshold)
		return "ready";
	return "pending";
}

static const char *validator_name(const cv_validator *v, size_t n, const cv_genesis *g,
                                  const uint8_t key[CV_KEY_LEN])
{
	const cv_validator *found = NULL;

	for (size_t i = 0; v != NULL && i < n && found == NULL; i++)
		if (memcmp(v[i].key, key, CV_KEY_LEN) == 0)
			found = &v[i];
	if (found == NULL && g != NULL)
		found = cv_genesis_validator(g, key);
	return found != NULL ? found->name : NULL;
}

static json_object *signer_json(const char *key_name, const uint8_t key[CV_KEY_LEN],
                                const char *name)
{
	json_object *s = json_object_new_object();

	if (s == NULL)
		return NULL;
	cv_json_add_hex(s, key_name, key, CV_KEY_LEN);
	json_object_object_add(s, "name", name != NULL ? json_object_new_string(name) : NULL);
	return s;
}

json_object *cv_api_changes_json(uint64_t next_height, unsigned threshold,
                                 const cv_validator *in_force, size_t n_in_force,
                                 const cv_genesis *g, const cv_change_record *r, size_t n)
{
	json_object *o = json_object_new_object(), *vals = json_object_new_array(),
	            *list = json_object_new_array();

	if (o == NULL || vals == NULL || list == NULL)
		goto nomem;
	json_object_object_add(o, "height", json_object_new_uint64(next_height));
	json_object_object_add(o, "threshold", json_object_new_uint64(threshold));
	json_object_object_add(o, "validators", vals);
	json_object_object_add(o, "changes", list);
	for (size_t i = 0; i < n_in_force; i++)
		if (json_object_array_add(
		        vals, signer_json("key", in_force[i].key, in_force[i].name)) != 0)
			goto nomem_added;
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_new_object(), *signers = json_object_new_array();
		const cv_change *c = &r[i].change;

		if (item == NULL || signers == NULL || json_object_array_add(list, item) != 0) {
			json_object_put(item);
			json_object_put(signers);
			goto nomem_added;
		}
		cv_json_add_hex(item, "id", r[i].id, CV_HASH_LEN);
		json_object_object_add(
		    item, "status",
		    json_object_new_string(change_status(next_height, threshold, &r[i])));
		json_object_object_add(
		    item, "height",
		    json_object_new_uint64(r[i].committed ? r[i].height : c->effective_height - 1));
		json_object_object_add(item, "proposed_at",
		                       r[i].committed ? NULL
		                                      : json_object_new_uint64(r[i].proposed_at));
		json_object_object_add(item, "change", cv_change_to_json(c));
		json_object_object_add(item, "signers", signers);
		json_object_object_add(item, "n_signatures",
		                       json_object_new_uint64(c->n_signatures));
		for (size_t k = 0; k < c->n_signatures; k++) {
			const uint8_t *key = c->signatures[k].validator_key;

			if (json_object_array_add(
			        signers,
			        signer_json("validator_key", key,
			                    validator_name(in_force, n_in_force, g, key))) != 0)
				goto nomem_added;
		}
	}
	return o;
nomem:
	json_object_put(vals);
	json_object_put(list);
nomem_added:
	json_object_put(o);
	return NULL;
}

cv_err cv_api_changes_apply(const json_object *o, uint64_t below, cv_params *p)
{
	json_object *list;

	if (cv_json_get_array(o, "changes", &list) != CV_OK)
		return CV_E_MALFORMED;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *item = json_object_array_get_idx(list, i), *st, *v;
		uint64_t height;
		cv_change c;
		cv_err e;

		if (!json_object_is_type(item, json_type_object) ||
		    !json_object_object_get_ex(item, "status", &st) ||
		    !json_object_is_type(st, json_type_string) ||
		    cv_json_get_u64(item, "height", UINT64_MAX, &height) != CV_OK ||
		    !json_object_object_get_ex(item, "change", &v))
			return CV_E_MALFORMED;
		/* committed ones come first, by height */
		if (strcmp(json_object_get_string(st), "committed") != 0 || height >= below)
			continue;
		if (cv_change_from_json(v, &c) != CV_OK)
			return CV_E_MALFORMED;
		e = cv_params_apply(p, &c);
		cv_change_free(&c);
		if (e != CV_OK)
			return e;
	}
	return CV_OK;
}

cv_err cv_api_change_find(const json_object *o, const char *id_hex, cv_change *c, char *status,
                          size_t status_len)
{
	json_object *list, *v;

	memset(c, 0, sizeof *c);
	if (cv_json_get_array(o, "changes", &list) != CV_OK)
		return CV_E_MALFORMED;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *item = json_object_array_get_idx(list, i), *id, *st;

		if (!json_object_is_type(item, json_type_object) ||
		    !json_object_object_get_ex(item, "id", &id) ||
		    !json_object_is_type(id, json_type_string))
			return CV_E_MALFORMED;
		if (strcmp(json_object_get_string(id), id_hex) != 0)
			continue;
		if (!json_object_object_get_ex(item, "status", &st) ||
		    !json_object_is_type(st, json_type_string) ||
		    !json_object_object_get_ex(item, "change", &v))
			return CV_E_MALFORMED;
		snprintf(status, status_len, "%s", json_object_get_string(st));
		return cv_change_from_json(v, c);
	}
	return CV_E_NOT_FOUND;
}
