/* register.fcgi: voters bind their public key to an eligibility entry with a one-time
 * code, and the admin API sets the election up (settings, candidates, validators,
 * eligibility, roll) and opens and closes it. nginx decides who reaches /admin/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "service.h"
#include "store.h"

#define ADMIN_MAX_BODY (16 * 1024 * 1024)
#define ID_MAX         CV_ELIGIBLE_TEXT_MAX
#define BATCH_MAX      200000 /* entries per import */

/* ---- shared checks ---- */

static cv_err arg_key(cv_req *r, uint8_t key[CV_KEY_LEN])
{
	if (cv_hex_decode(r->args[0], key, CV_KEY_LEN) != CV_OK) {
		r->message = "Expected a public key of 130 lowercase hex digits in the path.";
		return CV_E_MALFORMED;
	}
	return cv_pubkey_check(key);
}

/* {"name"} as the whole body. */
static cv_err body_name(cv_req *r, char name[CV_TEXT_MAX + 1])
{
	static const char *const keys[] = {"name", NULL};

	if (cv_json_only_keys(r->json, keys) != CV_OK ||
	    cv_json_get_text(r->json, "name", name) != CV_OK || name[0] == '\0') {
		r->message =
		    "Expected {\"name\"}: a non-empty single-line text of at most 200 bytes.";
		return CV_E_MALFORMED;
	}
	return CV_OK;
}

/* ---- voters ---- */

/* POST /api/register {"voter_id", "code", "public_key"}: 201; 400 malformed or bad_key;
 * 403 bad_code (unknown id, wrong or spent code); 409 exists (key on the roll already)
 * or bad_state (not in setup); 413; 415; 503 busy. */
static cv_err post_register(cv_req *r)
{
	static const char *const keys[] = {"voter_id", "code", "public_key", NULL};
	char voter_id[CV_TEXT_MAX + 1], code[CV_TEXT_MAX + 1];
	uint8_t key[CV_KEY_LEN];
	json_object *o;
	cv_err e;

	if (cv_json_only_keys(r->json, keys) != CV_OK ||
	    cv_json_get_text(r->json, "voter_id", voter_id) != CV_OK ||
	    cv_json_get_text(r->json, "code", code) != CV_OK || !cv_eligible_text_ok(voter_id) ||
	    !cv_eligible_text_ok(code) ||
	    cv_json_get_hex(r->json, "public_key", key, CV_KEY_LEN) != CV_OK) {
		r->message =
		    "Expected {\"voter_id\", \"code\", \"public_key\"}: an id and a code of "
		    "1-64 printable characters and a 130-hex public key.";
		return CV_E_MALFORMED;
	}
	if ((e = cv_pubkey_check(key)) != CV_OK)
		return e;
	if ((e = cv_store_register(r->store, voter_id, code, key)) != CV_OK)
		return e;
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "voter_id", json_object_new_string(voter_id));
		cv_json_add_hex(o, "public_key", key, CV_KEY_LEN);
		json_object_object_add(o, "status", json_object_new_string("registered"));
	}
	return cv_reply_json(r, 201, o);
}

/* ---- admin: the election ---- */

static json_object *admin_election_json(cv_req *r, cv_err *err)
{
	cv_info info;
	cv_genesis g = {0};
	json_object *o, *counts;

	if ((*err = cv_req_info(r, &info)) != CV_OK)
		return NULL;
	if ((*err = cv_store_genesis(r->store, false, &g)) != CV_OK)
		return NULL;
	o = cv_election_json(&info, &g);
	cv_genesis_free(&g);
	counts = json_object_new_object();
	if (o == NULL || counts == NULL) {
		json_object_put(o);
		json_object_put(counts);
		*err = CV_E_NOMEM;
		return NULL;
	}
	json_object_object_add(counts, "voters", json_object_new_uint64(info.n_voters));
	json_object_object_add(counts, "eligible", json_object_new_uint64(info.n_eligible));
	json_object_object_add(counts, "registered", json_object_new_uint64(info.n_registered));
	json_object_object_add(counts, "pending", json_object_new_uint64(info.n_pending));
	json_object_object_add(counts, "committed", json_object_new_uint64(info.n_committed));
	json_object_object_add(counts, "proposals", json_object_new_uint64(info.n_proposals));
	json_object_object_add(o, "counts", counts);
	return o;
}

/* GET /admin/api/election: 200 the election with its settings and counts; 403 not
 * through nginx's authentication; 404 no election yet; 503 busy. */
static cv_err get_admin_election(cv_req *r)
{
	cv_err e;
	json_object *o = admin_election_json(r, &e);

	return o ? cv_reply_json(r, 200, o) : e;
}

/* Reads the settings present in the body over st (absent keys keep their value). */
static cv_err settings_from_json(cv_req *r, cv_settings *st)
{
	static const char *const keys[] = {
	    "title", "threshold", "difficulty",          "max_block_votes",
	    "opens", "closes",    "results_after_close", NULL};
	cv_election *el = &st->election;
	json_object *o = r->json, *v;
	uint64_t n;

	r->message = "Expected settings: {\"title\", \"threshold\" (2-255), \"difficulty\" "
	             "(0-255), \"max_block_votes\" (>= 1), \"opens\", \"closes\", "
	             "\"results_after_close\"}, each optional when changing.";
	if (cv_json_only_keys(o, keys) != CV_OK)
		return CV_E_MALFORMED;
	if (json_object_object_get_ex(o, "title", NULL) &&
	    cv_json_get_text(o, "title", el->title) != CV_OK)
		return CV_E_MALFORMED;
	if (json_object_object_get_ex(o, "threshold", NULL)) {
		if (cv_json_get_u64(o, "threshold", UINT8_MAX, &n) != CV_OK)
			return CV_E_MALFORMED;
		el->threshold = (uint8_t)n;
	}
	if (json_object_object_get_ex(o, "difficulty", NULL)) {
		if (cv_json_get_u64(o, "difficulty", UINT8_MAX, &n) != CV_OK)
			return CV_E_MALFORMED;
		el->difficulty = (uint8_t)n;
	}
	if (json_object_object_get_ex(o, "max_block_votes", NULL)) {
		if (cv_json_get_u64(o, "max_block_votes", UINT32_MAX, &n) != CV_OK || n == 0)
			return CV_E_MALFORMED;
		el->max_block_votes = (uint32_t)n;
	}
	if (json_object_object_get_ex(o, "opens", NULL) &&
	    cv_json_get_u64(o, "opens", INT64_MAX, &el->opens) != CV_OK)
		return CV_E_MALFORMED;
	if (json_object_object_get_ex(o, "closes", NULL) &&
	    cv_json_get_u64(o, "closes", INT64_MAX, &el->closes) != CV_OK)
		return CV_E_MALFORMED;
	if (json_object_object_get_ex(o, "results_after_close", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return CV_E_MALFORMED;
		st->results_after_close = json_object_get_boolean(v);
	}
	r->message = NULL;
	return CV_OK;
}

/* PUT /admin/api/election {settings}: 201 created (the first time: "title" needed),
 * 200 changed; both answer the election as GET does. 400 malformed; 403; 409 bad_state
 * (no longer in setup); 413; 415; 422 bad_election; 503 busy. */
static cv_err put_admin_election(cv_req *r)
{
	cv_settings st = {0};
	cv_info info;
	bool create;
	json_object *o;
	cv_err e;

	e = cv_store_info(r->store, &info);
	if (e != CV_OK && e != CV_E_NOT_FOUND)
		return e;
	create = e == CV_E_NOT_FOUND;
	if (create) {
		st.election.threshold = 2;
		st.election.difficulty = 16;
		st.election.max_block_votes = 64;
	} else {
		st = info.settings;
	}
	if ((e = settings_from_json(r, &st)) != CV_OK)
		return e;
	if (create && st.election.title[0] == '\0') {
		r->message = "A new election needs a \"title\".";
		return CV_E_MALFORMED;
	}
	e = create ? cv_store_create_election(r->store, &st) : cv_store_set_settings(r->store, &st);
	if (e != CV_OK)
		return e;
	o = admin_election_json(r, &e);
	return o ? cv_reply_json(r, create ? 201 : 200, o) : e;
}

/* ---- admin: candidates and validators ---- */

/* PUT /admin/api/candidates/{id} {"name"}: 200 added or renamed; 400 bad id (1 to
 * 2^32-1) or name; 403; 409 bad_state; 413; 415; 503 busy. */
static cv_err put_candidate(cv_req *r)
{
	cv_candidate c = {0};
	uint64_t id;
	json_object *o;
	cv_err e;

	if (cv_parse_u64(r->args[0], 1, UINT32_MAX, &id) != CV_OK) {
		r->message = "A candidate id is an integer from 1 to 4294967295.";
		return CV_E_MALFORMED;
	}
	c.id = (uint32_t)id;
	if ((e = body_name(r, c.name)) != CV_OK)
		return e;
	if ((e = cv_store_put_candidate(r->store, &c)) != CV_OK)
		return e;
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "id", json_object_new_uint64(c.id));
		json_object_object_add(o, "name", json_object_new_string(c.name));
	}
	return cv_reply_json(r, 200, o);
}

/* DELETE /admin/api/candidates/{id}: 200; 400 bad id; 403; 404 unknown; 409 bad_state;
 * 503 busy. */
static cv_err del_candidate(cv_req *r)
{
	uint64_t id;
	json_object *o;
	cv_err e;

	if (cv_parse_u64(r->args[0], 1, UINT32_MAX, &id) != CV_OK) {
		r->message = "A candidate id is an integer from 1 to 4294967295.";
		return CV_E_MALFORMED;
	}
	if ((e = cv_store_del_candidate(r->store, (uint32_t)id)) != CV_OK)
		return e;
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "id", json_object_new_uint64(id));
		json_object_object_add(o, "deleted", json_object_new_boolean(1));
	}
	return cv_reply_json(r, 200, o);
}

/* PUT /admin/api/validators/{key} {"name"}: 200 added or renamed; 400 malformed or
 * bad_key; 403; 409 bad_state; 413; 415; 503 busy. */
static cv_err put_validator(cv_req *r)
{
	cv_validator v = {0};
	json_object *o;
	cv_err e;

	if ((e = arg_key(r, v.key)) != CV_OK)
		return e;
	if ((e = body_name(r, v.name)) != CV_OK)
		return e;
	if ((e = cv_store_put_validator(r->store, &v)) != CV_OK)
		return e;
	o = json_object_new_object();
	if (o != NULL) {
		cv_json_add_hex(o, "key", v.key, CV_KEY_LEN);
		json_object_object_add(o, "name", json_object_new_string(v.name));
	}
	return cv_reply_json(r, 200, o);
}

/* DELETE /admin/api/validators/{key}: 200; 400 malformed or bad_key; 403; 404 unknown;
 * 409 bad_state; 503 busy. */
static cv_err del_validator(cv_req *r)
{
	uint8_t key[CV_KEY_LEN];
	json_object *o;
	cv_err e;

	if ((e = arg_key(r, key)) != CV_OK)
		return e;
	if ((e = cv_store_del_validator(r->store, key)) != CV_OK)
		return e;
	o = json_object_new_object();
	if (o != NULL) {
		cv_json_add_hex(o, "key", key, CV_KEY_LEN);
		json_object_object_add(o, "deleted", json_object_new_boolean(1));
	}
	return cv_reply_json(r, 200, o);
}

/* ---- admin: eligibility and the roll ---- */

typedef struct entry {
	char voter_id[ID_MAX + 1];
	char code[ID_MAX + 1];
} entry;

static cv_err entries_push(entry **list, size_t *n, size_t *cap, const char *id, size_t id_len,
                           const char *code, size_t code_len)
{
	entry *x;

	if (*n == BATCH_MAX)
		return CV_E_TOO_LARGE;
	if (id_len == 0 || id_len > ID_MAX || code_len > ID_MAX)
		return CV_E_MALFORMED;
	if (*n == *cap) {
		size_t grown = *cap ? *cap * 2 : 64;
		entry *bigger = realloc(*list, grown * sizeof *bigger);

		if (bigger == NULL)
			return CV_E_NOMEM;
		*list = bigger;
		*cap = grown;
	}
	x = &(*list)[*n];
	memcpy(x->voter_id, id, id_len);
	x->voter_id[id_len] = '\0';
	memcpy(x->code, code, code_len);
	x->code[code_len] = '\0';
	/* a NUL inside (CSV bytes, or \u0000 in JSON) would cut the text short unseen */
	if (!cv_eligible_text_ok(x->voter_id) || strlen(x->voter_id) != id_len ||
	    (code_len > 0 && (!cv_eligible_text_ok(x->code) || strlen(x->code) != code_len)))
		return CV_E_MALFORMED;
	(*n)++;
	return CV_OK;
}

/* text/csv: one "voter_id" or "voter_id,code" per line; blank lines and a first line
 * naming the columns are skipped. No quoting: ids and codes hold no commas or quotes. */
static cv_err entries_from_csv(cv_req *r, entry **list, size_t *n)
{
	const char *p = r->body, *end = r->body + r->body_len;
	size_t cap = 0, line = 0;
	static char why[96];
	cv_err e;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *stop = eol ? eol : end, *comma;
		size_t len;

		line++;
		len = (size_t)(stop - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		comma = memchr(p, ',', len);
		if (len > 0 &&
		    !(line == 1 && strncmp(p, "voter_id", 8) == 0 && (len == 8 || p[8] == ','))) {
			if (comma != NULL &&
			    memchr(comma + 1, ',', len - (size_t)(comma + 1 - p)) != NULL)
				e = CV_E_MALFORMED;
			else if (comma != NULL)
				e = entries_push(list, n, &cap, p, (size_t)(comma - p), comma + 1,
				                 len - (size_t)(comma + 1 - p));
			else
				e = entries_push(list, n, &cap, p, len, "", 0);
			if (e != CV_OK) {
				snprintf(why, sizeof why,
				         "Line %zu is not \"voter_id\" or \"voter_id,code\" "
				         "(1-64 printable characters each).",
				         line);
				r->message = e == CV_E_MALFORMED ? why : NULL;
				return e;
			}
		}
		p = eol ? eol + 1 : end;
	}
	return CV_OK;
}

/* application/json: {"voters": [{"voter_id", "code"?}, ...]}. */
static cv_err entries_from_json(cv_req *r, entry **list, size_t *n)
{
	static const char *const top_keys[] = {"voters", NULL};
	static const char *const keys[] = {"voter_id", "code", NULL};
	json_object *voters;
	size_t cap = 0;
	cv_err e;

	r->message = "Expected {\"voters\": [{\"voter_id\", \"code\" (optional)}, ...]} with ids "
	             "and codes of 1-64 printable characters.";
	if (cv_json_only_keys(r->json, top_keys) != CV_OK ||
	    !json_object_object_get_ex(r->json, "voters", &voters) ||
	    !json_object_is_type(voters, json_type_array))
		return CV_E_MALFORMED;
	for (size_t i = 0; i < json_object_array_length(voters); i++) {
		json_object *v = json_object_array_get_idx(voters, i), *id, *code = NULL;

		if (cv_json_only_keys(v, keys) != CV_OK ||
		    !json_object_object_get_ex(v, "voter_id", &id) ||
		    !json_object_is_type(id, json_type_string))
			return CV_E_MALFORMED;
		if (json_object_object_get_ex(v, "code", &code) &&
		    !json_object_is_type(code, json_type_string))
			return CV_E_MALFORMED;
		e = entries_push(list, n, &cap, json_object_get_string(id),
		                 (size_t)json_object_get_string_len(id),
		                 code ? json_object_get_string(code) : "",
		                 code ? (size_t)json_object_get_string_len(code) : 0);
		if (e != CV_OK)
			return e;
	}
	r->message = NULL;
	return CV_OK;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const entry *)a)->voter_id, ((const entry *)b)->voter_id);
}

/* POST /admin/api/eligible, JSON {"voters": [{"voter_id", "code"?}]} or text/csv
 * "voter_id[,code]" lines: adds the entries, generating the missing codes, and answers
 * every added entry with its code; this is the only time a code is shown. Ids known
 * already are skipped (listed in "skipped"), so an import may be re-run. 201; 400
 * malformed or a repeated id (nothing added); 403; 409 bad_state; 413; 415; 503 busy.
 * A store failure part-way answers its error with the entries added so far. */
static cv_err post_eligible(cv_req *r)
{
	entry *list = NULL;
	size_t n = 0, added = 0;
	json_object *o = NULL, *voters = NULL, *skipped = NULL;
	cv_err e;

	e = strcmp(r->content_type, "text/csv") == 0 ? entries_from_csv(r, &list, &n)
	                                             : entries_from_json(r, &list, &n);
	if (e != CV_OK)
		goto out;
	if (n == 0) {
		r->message = "The import holds no voters.";
		e = CV_E_MALFORMED;
		goto out;
	}
	/* all checks before the first write, so that bad input changes nothing */
	qsort(list, n, sizeof *list, entry_cmp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(list[i - 1].voter_id, list[i].voter_id) == 0) {
			r->message = "A voter id occurs twice in the import.";
			e = CV_E_MALFORMED;
			goto out;
		}
	for (size_t i = 0; i < n; i++)
		if (list[i].code[0] == '\0' && (e = cv_eligible_make_code(list[i].code)) != CV_OK)
			goto out;
	o = json_object_new_object();
	voters = json_object_new_array();
	skipped = json_object_new_array();
	if (o == NULL || voters == NULL || skipped == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *v;

		e = cv_store_add_eligible(r->store, list[i].voter_id, list[i].code);
		if (e == CV_E_EXISTS) {
			json_object_array_add(skipped, json_object_new_string(list[i].voter_id));
			continue;
		}
		if (e != CV_OK)
			break;
		added++;
		v = json_object_new_object();
		if (v == NULL || json_object_array_add(voters, v) != 0) {
			json_object_put(v);
			e = CV_E_NOMEM;
			break;
		}
		json_object_object_add(v, "voter_id", json_object_new_string(list[i].voter_id));
		json_object_object_add(v, "code", json_object_new_string(list[i].code));
	}
	if (e != CV_OK && e != CV_E_EXISTS && added > 0) {
		/* the added entries' codes exist nowhere else: they must reach the admin */
		json_object_put(o);
		o = cv_error_json(e, "The import stopped part-way; the voters listed were added.");
		if (o != NULL) {
			json_object_object_add(o, "voters", voters);
			voters = NULL;
		}
		cv_reply_json(r, cv_err_http_status(e), o);
		o = NULL;
		goto out;
	}
	if (e != CV_OK && e != CV_E_EXISTS)
		goto out;
	json_object_object_add(o, "added", json_object_new_uint64(added));
	json_object_object_add(o, "voters", voters);
	json_object_object_add(o, "skipped", skipped);
	voters = skipped = NULL;
	e = cv_reply_json(r, 201, o);
	o = NULL;
out:
	json_object_put(o);
	json_object_put(voters);
	json_object_put(skipped);
	free(list);
	return e;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, CV_KEY_LEN);
}

/* POST /admin/api/voters {"keys": [hex, ...]}: puts the keys on the roll. Keys on the
 * roll already are skipped (counted in "skipped"). 201 {"added", "skipped"}; 400
 * malformed, a repeated key or bad_key (nothing added); 403; 409 bad_state; 413; 415;
 * 503 busy. */
static cv_err post_voters(cv_req *r)
{
	static const char *const keys[] = {"keys", NULL};
	json_object *arr, *o;
	uint8_t(*list)[CV_KEY_LEN] = NULL;
	size_t n, added = 0, skipped = 0;
	cv_err e = CV_OK;

	if (cv_json_only_keys(r->json, keys) != CV_OK ||
	    !json_object_object_get_ex(r->json, "keys", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0) {
		r->message = "Expected {\"keys\": [public keys as 130 lowercase hex digits]}.";
		return CV_E_MALFORMED;
	}
	if (n > BATCH_MAX)
		return CV_E_TOO_LARGE;
	if ((list = calloc(n, CV_KEY_LEN)) == NULL)
		return CV_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *k = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(k, json_type_string) ||
		    cv_hex_decode(json_object_get_string(k), list[i], CV_KEY_LEN) != CV_OK) {
			r->message = "Every key must be 130 lowercase hex digits.";
			e = CV_E_MALFORMED;
			goto out;
		}
		if ((e = cv_pubkey_check(list[i])) != CV_OK)
			goto out;
	}
	qsort(list, n, CV_KEY_LEN, key_cmp);
	for (size_t i = 1; i < n; i++)
		if (memcmp(list[i - 1], list[i], CV_KEY_LEN) == 0) {
			r->message = "A key occurs twice in the list.";
			e = CV_E_MALFORMED;
			goto out;
		}
	for (size_t i = 0; i < n; i++) {
		e = cv_store_add_voter(r->store, list[i]);
		if (e == CV_E_EXISTS) {
			skipped++;
			continue;
		}
		if (e != CV_OK)
			goto out;
		added++;
	}
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "added", json_object_new_uint64(added));
		json_object_object_add(o, "skipped", json_object_new_uint64(skipped));
	}
	e = cv_reply_json(r, 201, o);
out:
	free(list);
	return e;
}

/* ---- admin: opening and closing ---- */

/* POST /admin/api/open: seals the genesis block. 200 {"state", "genesis_hash"}; 403;
 * 409 bad_state; 422 bad_election (the genesis rules: threshold, validators, ...); 503
 * busy. */
static cv_err post_open(cv_req *r)
{
	uint8_t hash[CV_HASH_LEN];
	json_object *o;
	cv_err e;

	if ((e = cv_store_open_election(r->store, cv_now(), hash)) != CV_OK)
		return e;
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "state", json_object_new_string("open"));
		cv_json_add_hex(o, "genesis_hash", hash, CV_HASH_LEN);
	}
	return cv_reply_json(r, 200, o);
}

/* POST /admin/api/close: 200 {"state", "closed_at", "pending"}: closed_at as recorded
 * (see cv_store_close_election), pending the votes still to be committed before the
 * seal; 403; 409 bad_state; 503 busy. */
static cv_err post_close(cv_req *r)
{
	cv_info info;
	json_object *o;
	cv_err e;

	if ((e = cv_store_close_election(r->store, cv_now())) != CV_OK ||
	    (e = cv_store_info(r->store, &info)) != CV_OK)
		return e;
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "state", json_object_new_string("closed"));
		json_object_object_add(o, "closed_at", json_object_new_uint64(info.closed_at));
		json_object_object_add(o, "pending", json_object_new_uint64(info.n_pending));
	}
	return cv_reply_json(r, 200, o);
}

static const cv_route routes[] = {
    {"POST", "/api/register", CV_BODY_JSON, post_register},
    {"GET", "/admin/api/election", CV_BODY_NONE, get_admin_election},
    {"PUT", "/admin/api/election", CV_BODY_JSON, put_admin_election},
    {"PUT", "/admin/api/candidates/:", CV_BODY_JSON, put_candidate},
    {"DELETE", "/admin/api/candidates/:", CV_BODY_NONE, del_candidate},
    {"PUT", "/admin/api/validators/:", CV_BODY_JSON, put_validator},
    {"DELETE", "/admin/api/validators/:", CV_BODY_NONE, del_validator},
    {"POST", "/admin/api/eligible", CV_BODY_JSON_OR_CSV, post_eligible},
    {"POST", "/admin/api/voters", CV_BODY_JSON, post_voters},
    {"POST", "/admin/api/open", CV_BODY_NONE, post_open},
    {"POST", "/admin/api/close", CV_BODY_NONE, post_close},
};

static const cv_program program = {"register", routes, sizeof routes / sizeof routes[0],
                                   ADMIN_MAX_BODY, true};

int main(int argc, char **argv)
{
	return cv_service_main(argc, argv, &program);
}
