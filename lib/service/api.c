/* The service's own JSON shapes, each built and read in one place (see api.h): here the
 * elections' (GET /api/election, GET /api/elections); those of making a block are in
 * api_block.c, of the changes in api_change.c, of the key ceremony in api_ceremony.c. */
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* ---- GET /api/election ---- */

static json_object *u64_or_null(bool present, uint64_t v)
{
	return present ? json_object_new_uint64(v) : NULL;
}

json_object *cv_election_json(const cv_info *info, const cv_genesis *g)
{
	const cv_election *el = &info->settings.election;
	bool opened = info->state != CV_STATE_SETUP;
	json_object *o = json_object_new_object(), *cands = json_object_new_array(),
	            *vals = json_object_new_array();

	if (o == NULL || cands == NULL || vals == NULL)
		goto fail;
	for (size_t i = 0; i < g->n_candidates; i++) {
		json_object *c = json_object_new_object();

		if (c == NULL || json_object_array_add(cands, c) != 0) {
			json_object_put(c);
			goto fail;
		}
		json_object_object_add(c, "id", json_object_new_uint64(g->candidates[i].id));
		json_object_object_add(c, "name", json_object_new_string(g->candidates[i].name));
	}
	for (size_t i = 0; i < g->n_validators; i++) {
		json_object *v = json_object_new_object();

		if (v == NULL || json_object_array_add(vals, v) != 0) {
			json_object_put(v);
			goto fail;
		}
		cv_json_add_hex(v, "key", g->validators[i].key, CV_KEY_LEN);
		json_object_object_add(v, "name", json_object_new_string(g->validators[i].name));
	}
	json_object_object_add(o, "title", json_object_new_string(el->title));
	json_object_object_add(o, "state", json_object_new_string(cv_state_name(info->state)));
	json_object_object_add(o, "candidates", cands);
	json_object_object_add(o, "validators", vals);
	cands = vals = NULL;
	json_object_object_add(o, "threshold", json_object_new_uint64(el->threshold));
	json_object_object_add(o, "difficulty", json_object_new_uint64(el->difficulty));
	json_object_object_add(o, "max_block_votes", json_object_new_uint64(el->max_block_votes));
	json_object_object_add(o, "opens", json_object_new_uint64(el->opens));
	json_object_object_add(o, "closes", json_object_new_uint64(el->closes));
	json_object_object_add(o, "results_after_close",
	                       json_object_new_boolean(info->settings.results_after_close));
	json_object_object_add(o, "ballots",
	                       json_object_new_string(info->settings.secret ? "secret" : "open"));
	if (info->settings.secret) {
		uint8_t setup[CV_HASH_LEN];

		/* what every trustee entry is bound to: the settings, candidates and
		 * validators as they stand (DESIGN section 6) */
		json_object_object_add(o, "quorum", json_object_new_uint64(info->settings.quorum));
		if (cv_setup_hash(g, setup) != CV_OK)
			goto fail;
		cv_json_add_hex(o, "setup_hash", setup, CV_HASH_LEN);
	}
	json_object_object_add(o, "roll_size", json_object_new_uint64(info->n_voters));
	if (opened)
		cv_json_add_hex(o, "genesis_hash", info->genesis_hash, CV_HASH_LEN);
	else
		json_object_object_add(o, "genesis_hash", NULL);
	json_object_object_add(o, "genesis_timestamp",
	                       u64_or_null(opened, info->genesis_timestamp));
	json_object_object_add(o, "closed_at",
	                       u64_or_null(info->state == CV_STATE_CLOSED, info->closed_at));
	/* final: the seal is committed, the tally can no longer change */
	json_object_object_add(o, "final", json_object_new_boolean(info->final));
	json_object_object_add(o, "archived", json_object_new_boolean(info->archived_at != 0));
	json_object_object_add(o, "seal_height", u64_or_null(info->final, info->seal_height));
	json_object_object_add(o, "tip_height", u64_or_null(opened, info->tip_height));
	return o;
fail:
	json_object_put(o);
	json_object_put(cands);
	json_object_put(vals);
	return NULL;
}

/* Whether o has key and it is JSON null. */
static bool is_null(const json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v == NULL;
}

cv_err cv_api_election_read(const json_object *o, cv_api_election *out)
{
	json_object *cands, *vals, *fin;
	cv_err e = CV_E_MALFORMED;

	memset(out, 0, sizeof *out);
	if (!json_object_is_type(o, json_type_object) ||
	    cv_json_get_u64(o, "threshold", 255, &out->threshold) != CV_OK ||
	    cv_json_get_u64(o, "difficulty", 255, &out->difficulty) != CV_OK ||
	    cv_json_get_u64(o, "max_block_votes", UINT32_MAX, &out->max_block_votes) != CV_OK ||
	    cv_json_get_array(o, "candidates", &cands) != CV_OK ||
	    cv_json_get_array(o, "validators", &vals) != CV_OK)
		goto fail;
	out->opened = !is_null(o, "genesis_hash");
	if (out->opened &&
	    (cv_json_get_hex(o, "genesis_hash", out->genesis_hash, CV_HASH_LEN) != CV_OK ||
	     cv_json_get_u64(o, "tip_height", UINT64_MAX, &out->tip_height) != CV_OK))
		goto fail;
	if (!is_null(o, "closed_at") &&
	    cv_json_get_u64(o, "closed_at", UINT64_MAX, &out->closed_at) != CV_OK)
		goto fail;
	if (json_object_object_get_ex(o, "final", &fin)) {
		if (!json_object_is_type(fin, json_type_boolean))
			goto fail;
		out->final = json_object_get_boolean(fin);
	}
	if (out->final && cv_json_get_u64(o, "seal_height", UINT64_MAX, &out->seal_height) != CV_OK)
		goto fail;
	if (json_object_object_get_ex(o, "ballots", &fin)) {
		if (!json_object_is_type(fin, json_type_string))
			goto fail;
		out->secret = strcmp(json_object_get_string(fin), "secret") == 0;
	}
	out->n_validators = json_object_array_length(vals);
	out->n_candidates = json_object_array_length(cands);
	out->candidate_ids = calloc(out->n_candidates ? out->n_candidates : 1, sizeof(uint32_t));
	if (out->candidate_ids == NULL) {
		e = CV_E_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < out->n_candidates; i++) {
		uint64_t id;

		if (cv_json_get_u64(json_object_array_get_idx(cands, i), "id", UINT32_MAX, &id) !=
		    CV_OK)
			goto fail;
		out->candidate_ids[i] = (uint32_t)id;
	}
	return CV_OK;
fail:
	cv_api_election_free(out);
	return e;
}

void cv_api_election_free(cv_api_election *e)
{
	if (e == NULL)
		return;
	free(e->candidate_ids);
	memset(e, 0, sizeof *e);
}

/* ---- GET /api/elections ---- */

/* One election's entry; CV_E_NOT_FOUND (nothing added) for the default one without
 * settings. */
static cv_err elections_add(json_object *list, cv_store *s, bool registered, uint64_t created)
{
	json_object *o;
	cv_info info;
	cv_err e = cv_store_info(s, &info);

	if (e != CV_OK && !(e == CV_E_NOT_FOUND && registered))
		return e;
	if ((o = json_object_new_object()) == NULL || json_object_array_add(list, o) != 0) {
		json_object_put(o);
		return CV_E_NOMEM;
	}
	json_object_object_add(o, "slug", json_object_new_string(cv_store_slug(s)));
	json_object_object_add(
	    o, "title", json_object_new_string(e == CV_OK ? info.settings.election.title : ""));
	json_object_object_add(
	    o, "state", json_object_new_string(e == CV_OK ? cv_state_name(info.state) : "new"));
	json_object_object_add(o, "final", json_object_new_boolean(e == CV_OK && info.final));
	json_object_object_add(o, "archived",
	                       json_object_new_boolean(e == CV_OK && info.archived_at != 0));
	json_object_object_add(o, "created", u64_or_null(registered, created));
	return CV_OK;
}

cv_err cv_api_elections_json(cv_store *root, json_object **out)
{
	json_object *o = json_object_new_object(), *list = json_object_new_array();
	cv_election_listing *reg = NULL;
	size_t n = 0;
	cv_err e;

	*out = NULL;
	if (o == NULL || list == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	e = elections_add(list, root, false, 0);
	if (e != CV_OK && e != CV_E_NOT_FOUND)
		goto out;
	if ((e = cv_store_elections(root, &reg, &n)) != CV_OK)
		goto out;
	for (size_t i = 0; i < n && e == CV_OK; i++) {
		cv_store *el;

		if ((e = cv_store_election(root, reg[i].slug, &el)) == CV_OK)
			e = elections_add(list, el, true, reg[i].created);
	}
	if (e != CV_OK)
		goto out;
	json_object_object_add(o, "elections", list);
	list = NULL;
	*out = o;
	o = NULL;
out:
	free(reg);
	json_object_put(list);
	json_object_put(o);
	return e;
}
