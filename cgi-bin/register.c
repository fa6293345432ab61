/* register.fcgi: voters bind their public key to an eligibility entry with a one-time
 * code, the admin signs in (password and TOTP, lib/service/admin.h) and nginx asks this
 * program whether a request's session cookie is good (auth_request), and the admin API
 * sets the election up (settings, candidates, validators, eligibility, roll; voter
 * recovery: the entries' states, codes reissued, keys revoked), opens and closes it, and
 * creates and archives elections. nginx's allow-list and its auth_request decide who
 * reaches /admin/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "import.h"
#include "json.h"
#include "service.h"
#include "store.h"

#define ADMIN_MAX_BODY (16 * 1024 * 1024)
#define BATCH_MAX      200000 /* entries per import: one transaction, well within the watchdog */

#define COOKIE "cv_admin"

static const char *data_dir; /* the election's directory, where the admin file is */

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
 * or bad_state (not in setup); 413; 415; 503 busy. The code is taken as typed: case,
 * spaces and dashes do not matter (cv_eligible_code_normalise). */
static cv_err post_register(cv_req *r)
{
	static const char *const keys[] = {"voter_id", "code", "public_key", NULL};
	char voter_id[CV_TEXT_MAX + 1], code[CV_TEXT_MAX + 1], normal[CV_ELIGIBLE_TEXT_MAX + 1];
	uint8_t key[CV_KEY_LEN];
	json_object *o;
	cv_err e;

	if (cv_json_only_keys(r->json, keys) != CV_OK ||
	    cv_json_get_text(r->json, "voter_id", voter_id) != CV_OK ||
	    cv_json_get_text(r->json, "code", code) != CV_OK || !cv_eligible_text_ok(voter_id) ||
	    !cv_eligible_code_normalise(code, normal) ||
	    cv_json_get_hex(r->json, "public_key", key, CV_KEY_LEN) != CV_OK) {
		r->message =
		    "Expected {\"voter_id\", \"code\", \"public_key\"}: an id and a code of "
		    "1-64 printable characters (spaces and dashes in the code are ignored) and a "
		    "130-hex public key.";
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

/* ---- admin: signing in ---- */

/* The session cookie's header line: token's value for CV_SESSION_MAX, or (token NULL)
 * its removal. Secure when the request came over HTTPS. */
static void cookie_line(cv_req *r, const char *token, char *out, size_t n)
{
	const char *https = cv_req_param(r, "HTTPS");

	snprintf(out, n,
	         "Set-Cookie: " COOKIE "=%s; Path=/admin/; Max-Age=%d; HttpOnly; "
	         "SameSite=Strict%s\r\n",
	         token ? token : "", token ? CV_SESSION_MAX : 0,
	         https != NULL && https[0] != '\0' ? "; Secure" : "");
}

/* POST /admin/api/session {"user", "password", "code"}: code is the authenticator's
 * 6 digits or a recovery code (spent). 201 {"user", "idle_seconds", "max_seconds",
 * "recovery_codes_left"} with the session cookie; 400 malformed; 401 bad_credentials
 * (which part was wrong is not told); 429 locked (Retry-After) after repeated failures;
 * 503 not_enrolled (no chainvote admin-init yet) or busy. */
static cv_err post_session(cv_req *r)
{
	static const char *const keys[] = {"user", "password", "code", NULL};
	static char user[CV_ADMIN_USER_MAX + 1]; /* the audit line's, after the handler */
	const char *password, *code;
	char token[CV_SESSION_HEX_LEN + 1], head[256];
	json_object *v, *o;
	cv_signin result;
	uint64_t retry;
	unsigned left;
	cv_err e;

	r->message = "Expected {\"user\", \"password\", \"code\"}: texts, the code being the "
	             "authenticator's 6 digits or a recovery code.";
	if (cv_json_only_keys(r->json, keys) != CV_OK ||
	    !json_object_object_get_ex(r->json, "user", &v) ||
	    !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) < 1 ||
	    json_object_get_string_len(v) > CV_ADMIN_USER_MAX)
		return CV_E_MALFORMED;
	snprintf(user, sizeof user, "%s", json_object_get_string(v));
	if (!json_object_object_get_ex(r->json, "password", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) > CV_ADMIN_PASSWORD_MAX)
		return CV_E_MALFORMED;
	password = json_object_get_string(v);
	if (!json_object_object_get_ex(r->json, "code", &v) ||
	    !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) > 64)
		return CV_E_MALFORMED;
	code = json_object_get_string(v);
	r->message = NULL;
	r->audit_user = user;
	e = cv_admin_sign_in(data_dir, user, password, code, cv_now(), &result, token, &retry,
	                     &left);
	if (e != CV_OK)
		return e;
	switch (result) {
	case CV_SIGNIN_OK:
		break;
	case CV_SIGNIN_LOCKED:
		snprintf(head, sizeof head, "Retry-After: %llu\r\n", (unsigned long long)retry);
		return cv_reply_json_headers(
		    r, 429,
		    cv_status_error_json("locked", "Too many failed sign-ins; wait and try again."),
		    head);
	case CV_SIGNIN_NOT_ENROLLED:
		return cv_reply_status(r, 503, "not_enrolled",
		                       "No admin is enrolled yet: run chainvote admin-init.");
	default:
		return cv_reply_status(r, 401, "bad_credentials",
		                       "The user, password or code is not right.");
	}
	cookie_line(r, token, head, sizeof head);
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "user", json_object_new_string(user));
		json_object_object_add(o, "idle_seconds", json_object_new_int(CV_SESSION_IDLE));
		json_object_object_add(o, "max_seconds", json_object_new_int(CV_SESSION_MAX));
		json_object_object_add(o, "recovery_codes_left", json_object_new_int((int)left));
	}
	return cv_reply_json_headers(r, 201, o, head);
}

/* DELETE /admin/api/session: ends the cookie's session (if any) and removes the cookie.
 * 200 {"signed_out": true}; 503 busy. */
static cv_err delete_session(cv_req *r)
{
	char token[CV_SESSION_HEX_LEN + 1], head[256];
	json_object *o;
	cv_err e;

	if (cv_cookie_value(cv_req_param(r, "HTTP_COOKIE"), COOKIE, token, sizeof token) &&
	    (e = cv_admin_sign_out(data_dir, token)) != CV_OK)
		return e;
	cookie_line(r, NULL, head, sizeof head);
	o = json_object_new_object();
	if (o != NULL)
		json_object_object_add(o, "signed_out", json_object_new_boolean(1));
	return cv_reply_json_headers(r, 200, o, head);
}

/* GET /_auth/admin, nginx's auth_request before /admin/ (an internal location): 204
 * with X-Admin-User when the cookie names a live session, else 401. */
static cv_err get_auth(cv_req *r)
{
	char token[CV_SESSION_HEX_LEN + 1], user[CV_ADMIN_USER_MAX + 1], head[128];
	bool valid = false;
	cv_err e;

	if (cv_cookie_value(cv_req_param(r, "HTTP_COOKIE"), COOKIE, token, sizeof token) &&
	    (e = cv_admin_session(data_dir, token, cv_now(), &valid, user)) != CV_OK)
		return e;
	if (!valid)
		return cv_reply_status(r, 401, "unauthorized", "Sign in first.");
	snprintf(head, sizeof head, "X-Admin-User: %s\r\n", user);
	return cv_reply_empty(r, 204, head);
}

static json_object *enrolment_json(const cv_admin_enrolment *en, bool codes)
{
	json_object *o = json_object_new_object(), *list;

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "secret", json_object_new_string(en->secret_b32));
	json_object_object_add(o, "otpauth_uri", json_object_new_string(en->uri));
	if (codes && (list = json_object_new_array()) != NULL) {
		for (size_t i = 0; i < CV_RECOVERY_CODES; i++)
			json_object_array_add(list, json_object_new_string(en->recovery[i]));
		json_object_object_add(o, "recovery_codes", list);
	}
	return o;
}

/* POST /admin/api/mfa/rotate: a new TOTP secret, waiting until confirmed (the current
 * one stays good until then). 200 {"secret", "otpauth_uri"}; 403; 503 busy. */
static cv_err post_mfa_rotate(cv_req *r)
{
	cv_admin_enrolment en;
	cv_err e = cv_admin_rotate_begin(data_dir, &en);

	return e == CV_OK ? cv_reply_json(r, 200, enrolment_json(&en, false)) : e;
}

/* POST /admin/api/mfa/confirm {"code"}: a code of the waiting secret makes it the
 * current one, with new recovery codes (the old ones end), shown this once. 200
 * {"secret", "otpauth_uri", "recovery_codes"}; 400 malformed; 403; 422 bad_code (not
 * a code of the waiting secret, or none waits); 503 busy. */
static cv_err post_mfa_confirm(cv_req *r)
{
	static const char *const keys[] = {"code", NULL};
	cv_admin_enrolment en;
	char code[CV_TEXT_MAX + 1];
	bool ok;
	cv_err e;

	if (cv_json_only_keys(r->json, keys) != CV_OK ||
	    cv_json_get_text(r->json, "code", code) != CV_OK) {
		r->message =
		    "Expected {\"code\"}: the authenticator's 6 digits for the new secret.";
		return CV_E_MALFORMED;
	}
	if ((e = cv_admin_rotate_confirm(data_dir, code, cv_now(), &ok, &en)) != CV_OK)
		return e;
	if (!ok)
		return cv_reply_status(r, 422, "bad_code",
		                       "That is not the code of the new secret; nothing changed.");
	return cv_reply_json(r, 200, enrolment_json(&en, true));
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
	    "title",  "threshold",           "difficulty", "max_block_votes", "opens",
	    "closes", "results_after_close", "ballots",    "quorum",          NULL};
	cv_election *el = &st->election;
	json_object *o = r->json, *v;
	uint64_t n;

	r->message = "Expected settings: {\"title\", \"threshold\" (2-255), \"difficulty\" "
	             "(0-255), \"max_block_votes\" (>= 1), \"opens\", \"closes\", "
	             "\"results_after_close\", \"ballots\" (\"open\" or \"secret\"), \"quorum\" "
	             "(2-255, secret only)}, each optional when changing.";
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
	if (json_object_object_get_ex(o, "ballots", &v)) {
		const char *b =
		    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

		if (strcmp(b, "secret") == 0 && !st->secret) {
			st->secret = true;
			st->quorum = 2; /* the least there is; "quorum" sets another */
		} else if (strcmp(b, "open") == 0) {
			st->secret = false;
			st->quorum = 0;
		} else if (strcmp(b, "secret") != 0) {
			return CV_E_MALFORMED;
		}
	}
	if (json_object_object_get_ex(o, "quorum", NULL)) {
		if (cv_json_get_u64(o, "quorum", UINT8_MAX, &n) != CV_OK || n < 2 || !st->secret) {
			r->message = "\"quorum\" (2-255) is a secret election's: set \"ballots\": "
			             "\"secret\".";
			return CV_E_MALFORMED;
		}
		st->quorum = (uint8_t)n;
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

/* The body as an import of kind (lib/store/import.h reads CSV and JSON for the CLI too). On
 * an error r->message names the row at fault. */
static cv_err read_import(cv_req *r, cv_import_kind kind, cv_import *imp)
{
	static char why[CV_IMPORT_WHY_MAX];
	cv_err e = strcmp(r->content_type, "text/csv") == 0
	               ? cv_import_csv(kind, r->body, r->body_len, BATCH_MAX, imp, why)
	               : cv_import_json(kind, r->json, BATCH_MAX, imp, why);

	r->message = e != CV_OK && why[0] != '\0' ? why : NULL;
	return e;
}

/* POST /admin/api/eligible, JSON {"voters": [{"voter_id", "code"?}]} or text/csv
 * "voter_id[,code]" lines: adds the entries in one transaction, generating the missing
 * codes, and answers every added entry with its code; this is the only time a code is
 * shown. Ids known already are left as they are and listed in "skipped", so an import
 * may be run again. 201 {"added", "voters", "skipped"}; 400 malformed, a repeated id or
 * no entries (the message names the row; nothing is added); 403; 409 bad_state; 413
 * (body, or more than BATCH_MAX entries); 415; 503 busy. */
static cv_err post_eligible(cv_req *r)
{
	cv_import imp;
	bool *known = NULL;
	size_t added = 0;
	json_object *o = NULL, *voters = NULL, *skipped = NULL;
	cv_err e;

	if ((e = read_import(r, CV_IMPORT_ELIGIBLE, &imp)) != CV_OK)
		return e;
	if ((e = cv_import_make_codes(&imp)) != CV_OK)
		goto out;
	if ((known = calloc(imp.n, sizeof *known)) == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	if ((e = cv_store_merge_eligibles(r->store, imp.eligible, imp.n, known, NULL)) != CV_OK)
		goto out;
	o = json_object_new_object();
	voters = json_object_new_array_ext((int)imp.n);
	skipped = json_object_new_array();
	if (o == NULL || voters == NULL || skipped == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < imp.n; i++) {
		json_object *v;

		if (known[i]) {
			json_object_array_add(skipped,
			                      json_object_new_string(imp.voters[i].voter_id));
			continue;
		}
		added++;
		v = json_object_new_object();
		if (v == NULL || json_object_array_add(voters, v) != 0) {
			json_object_put(v);
			e = CV_E_NOMEM;
			goto out;
		}
		json_object_object_add(v, "voter_id",
		                       json_object_new_string(imp.voters[i].voter_id));
		json_object_object_add(v, "code", json_object_new_string(imp.voters[i].code));
	}
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
	free(known);
	cv_import_free(&imp);
	return e;
}

/* POST /admin/api/voters, JSON {"keys": [hex, ...]} or text/csv "key_hex" lines: puts
 * the keys on the roll in one transaction. Keys on the roll already are left as they
 * are (counted in "skipped"). 201 {"added", "skipped"}; 400 malformed, a repeated key
 * or no keys, 422 bad_key (the message names the row; nothing is added); 403; 409
 * bad_state; 413; 415; 503 busy. */
static cv_err post_voters(cv_req *r)
{
	cv_import imp;
	bool *known = NULL;
	size_t added = 0;
	json_object *o;
	cv_err e;

	if ((e = read_import(r, CV_IMPORT_ROLL, &imp)) != CV_OK)
		return e;
	if ((known = calloc(imp.n, sizeof *known)) == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	e = cv_store_merge_voters(r->store, (const uint8_t(*)[CV_KEY_LEN])imp.keys, imp.n, known,
	                          NULL);
	if (e != CV_OK)
		goto out;
	for (size_t i = 0; i < imp.n; i++)
		added += !known[i];
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "added", json_object_new_uint64(added));
		json_object_object_add(o, "skipped", json_object_new_uint64(imp.n - added));
	}
	e = cv_reply_json(r, 201, o);
out:
	free(known);
	cv_import_free(&imp);
	return e;
}

/* ---- admin: voter recovery ---- */

#define ELIGIBLE_PAGE_DEFAULT 100

static json_object *counts_json(const cv_eligible_counts *c)
{
	json_object *o = json_object_new_object();

	if (o != NULL) {
		json_object_object_add(o, "eligible", json_object_new_uint64(c->eligible));
		json_object_object_add(o, "unused", json_object_new_uint64(c->unused));
		json_object_object_add(o, "registered", json_object_new_uint64(c->registered));
		json_object_object_add(o, "voted", json_object_new_uint64(c->voted));
	}
	return o;
}

static json_object *entry_json(const cv_eligible_entry *en)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "voter_id", json_object_new_string(en->voter_id));
	json_object_object_add(o, "state", json_object_new_string(cv_voter_state_name(en->state)));
	if (en->state != CV_VOTER_UNUSED)
		cv_json_add_hex(o, "public_key", en->key, CV_KEY_LEN);
	if (en->state == CV_VOTER_VOTED)
		cv_json_add_hex(o, "txid", en->txid, CV_HASH_LEN);
	return o;
}

/* GET /admin/api/eligible?after=ID&limit=N: the eligibility entries in voter_id byte
 * order from the first after ID (percent-encoded; none: from the start), N of them
 * (1-1000, default 100), each with its state (unused, registered, voted) and, once
 * registered, its key (and the txid of its vote); with the counts per state. "next" is
 * the ID to ask after for the next page, null on the last. 200 {"counts", "voters",
 * "next"}; 400 bad query; 403; 404 no election; 503 busy. */
static cv_err get_eligible(cv_req *r)
{
	char after[CV_ELIGIBLE_TEXT_MAX + 1];
	cv_eligible_entry *page = NULL;
	cv_eligible_counts counts;
	cv_info info;
	uint64_t limit;
	size_t n = 0;
	bool found, more;
	json_object *o = NULL, *list = NULL;
	cv_err e;

	if ((e = cv_req_query_u64(r, "limit", 1, CV_ELIGIBLE_PAGE_MAX, ELIGIBLE_PAGE_DEFAULT,
	                          &limit)) != CV_OK)
		return e;
	if (cv_query_text(r->query, "after", after, sizeof after, &found) != CV_OK ||
	    (found && !cv_eligible_text_ok(after))) {
		r->message =
		    "\"after\" is a voter id (1-64 printable characters, percent-encoded).";
		return CV_E_MALFORMED;
	}
	if ((e = cv_req_info(r, &info)) != CV_OK)
		return e;
	if ((page = calloc((size_t)limit, sizeof *page)) == NULL)
		return CV_E_NOMEM;
	if ((e = cv_store_eligible_page(r->store, after, (size_t)limit, page, &n, &more)) !=
	        CV_OK ||
	    (e = cv_store_eligible_counts(r->store, &counts)) != CV_OK)
		goto out;
	o = json_object_new_object();
	list = json_object_new_array_ext((int)n);
	if (o == NULL || list == NULL) {
		e = CV_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *v = entry_json(&page[i]);

		if (v == NULL || json_object_array_add(list, v) != 0) {
			json_object_put(v);
			e = CV_E_NOMEM;
			goto out;
		}
	}
	json_object_object_add(o, "counts", counts_json(&counts));
	json_object_object_add(o, "voters", list);
	list = NULL;
	json_object_object_add(o, "next",
	                       more && n > 0 ? json_object_new_string(page[n - 1].voter_id) : NULL);
	e = cv_reply_json(r, 200, o);
	o = NULL;
out:
	json_object_put(o);
	json_object_put(list);
	free(page);
	return e;
}

/* The body of a recovery action, {"voter_id", "code"?}: the id (lent to the audit
 * line) and the new code, the administrator's or, when none is given, "" (the store
 * makes one and leaves it in code). */
static cv_err recovery_body(cv_req *r, char voter_id[CV_TEXT_MAX + 1], char code[CV_TEXT_MAX + 1])
{
	static const char *const keys[] = {"voter_id", "code", NULL};
	json_object *id;

	if (cv_json_only_keys(r->json, keys) != CV_OK ||
	    cv_json_get_text(r->json, "voter_id", voter_id) != CV_OK ||
	    !cv_eligible_text_ok(voter_id) ||
	    (json_object_object_get_ex(r->json, "code", NULL) &&
	     (cv_json_get_text(r->json, "code", code) != CV_OK || code[0] == '\0'))) {
		r->message = "Expected {\"voter_id\", \"code\" (optional: one is made when "
		             "missing)}: an id of 1-64 printable characters and a code of at "
		             "most 64.";
		return CV_E_MALFORMED;
	}
	json_object_object_get_ex(r->json, "voter_id", &id);
	r->audit_voter_id = json_object_get_string(id);
	if (!json_object_object_get_ex(r->json, "code", NULL))
		code[0] = '\0'; /* the store makes one */
	return CV_OK;
}

/* Messages for what the store refuses in a recovery action. */
static void recovery_message(cv_req *r, cv_err e)
{
	if (e == CV_E_BAD_STATE)
		r->message = "Codes are reissued and keys revoked only while the election is set "
		             "up: the roll is sealed in the genesis block when it opens, and "
		             "registration ends there.";
	else if (e == CV_E_MALFORMED)
		r->message = "The code must be 1-64 printable ASCII characters (spaces and dashes "
		             "are ignored).";
	else if (e == CV_E_NOT_FOUND)
		r->message = "There is no eligibility entry with this voter id.";
	else if (e == CV_E_ALREADY_VOTED)
		r->message = "This voter's key has a vote (pending or committed): it stays.";
}

/* POST /admin/api/eligible/reissue {"voter_id", "code"?} and .../revoke: a new code for
 * an unused entry (the old one stops working), or a registered key taken off the roll
 * with a new code for the voter to register again. The code is answered once, like an
 * import's. 200 {"voter_id", "code", "state": "unused"[, "revoked_key"]}; 400 malformed;
 * 403; 404 unknown voter id; 409 registered (reissue: revoke instead), not_registered
 * (revoke: reissue instead), already_voted, bad_state (not in set-up); 413; 415; 422
 * weak_code; 503 busy. */
static cv_err post_recovery(cv_req *r, bool revoke)
{
	char voter_id[CV_TEXT_MAX + 1], code[CV_TEXT_MAX + 1];
	uint8_t revoked[CV_KEY_LEN];
	json_object *o;
	cv_err e;

	if ((e = recovery_body(r, voter_id, code)) != CV_OK)
		return e;
	e = revoke ? cv_store_revoke_key(r->store, voter_id, code, revoked)
	           : cv_store_reissue_code(r->store, voter_id, code);
	if (e != CV_OK) {
		recovery_message(r, e);
		return e;
	}
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "voter_id", json_object_new_string(voter_id));
		json_object_object_add(o, "code", json_object_new_string(code));
		json_object_object_add(o, "state", json_object_new_string("unused"));
		if (revoke)
			cv_json_add_hex(o, "revoked_key", revoked, CV_KEY_LEN);
	}
	return cv_reply_json(r, 200, o);
}

static cv_err post_reissue(cv_req *r)
{
	return post_recovery(r, false);
}

static cv_err post_revoke(cv_req *r)
{
	return post_recovery(r, true);
}

/* ---- admin: the key ceremony ---- */

/* POST /admin/api/ceremony/reset: drops every trustee entry, share and check of a
 * secret election in set-up, so that the ceremony runs again (after a complaint, or a
 * trustee's lost secret). 200 {"voided"}; 403; 409 bad_state (not a secret election in
 * set-up), archived; 503 busy. */
static cv_err post_ceremony_reset(cv_req *r)
{
	cv_ceremony c = {0};
	json_object *o;
	cv_err e = cv_store_ceremony_reset(r->store);

	if (e == CV_E_BAD_STATE)
		r->message = "Only a secret election's ceremony, in set-up, can be reset.";
	if (e != CV_OK || (e = cv_store_ceremony(r->store, &c)) != CV_OK)
		return e;
	o = json_object_new_object();
	if (o != NULL)
		json_object_object_add(o, "voided", json_object_new_uint64(c.voided));
	cv_ceremony_free(&c);
	return cv_reply_json(r, 200, o);
}

/* ---- admin: opening and closing ---- */

/* POST /admin/api/open: seals the genesis block. 200 {"state", "genesis_hash"}; 403;
 * 409 bad_state, ceremony_incomplete (a secret election whose key ceremony lacks an
 * entry, share or confirmation, or has a complaint: GET /api/ceremony says which); 422
 * bad_election (the genesis rules: threshold, validators, ...), secrecy_params; 503
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

/* POST /admin/api/changes {"kind", "closes" | "difficulty" | "old_key" and "new_key",
 * "height" (optional: the block it is for, the next one by default)}: the administrator's
 * draft of a change of the parameters in force (docs/GOVERNANCE.md), with no signature:
 * the validators sign it (POST /api/changes/{id}/signatures). 201 {"id", "n_signatures"};
 * 400 malformed; 403; 409 bad_state, sealed, closed, stale, exists, proposals_full; 413;
 * 415; 422 bad_change, change_closes; 503 busy. */
static cv_err post_change_draft(cv_req *r)
{
	static const char *const keys[] = {"kind",    "closes", "difficulty", "old_key",
	                                   "new_key", "height", NULL};
	char why[256] = "", message[320];
	uint8_t id[CV_HASH_LEN];
	json_object *kind, *o;
	cv_change c = {0};
	uint64_t v = 0;
	cv_info info;
	cv_err e;

	if ((e = cv_req_info(r, &info)) != CV_OK)
		return e;
	if (cv_json_only_keys(r->json, keys) != CV_OK ||
	    !json_object_object_get_ex(r->json, "kind", &kind) ||
	    !json_object_is_type(kind, json_type_string))
		goto malformed;
	c.kind = cv_change_kind_of(json_object_get_string(kind));
	if ((c.kind == CV_CHANGE_CLOSES &&
	     cv_json_get_u64(r->json, "closes", UINT64_MAX, &c.closes) != CV_OK) ||
	    (c.kind == CV_CHANGE_DIFFICULTY &&
	     cv_json_get_u64(r->json, "difficulty", UINT8_MAX, &v) != CV_OK) ||
	    (c.kind == CV_CHANGE_VALIDATOR_KEY &&
	     (cv_json_get_hex(r->json, "old_key", c.old_key, CV_KEY_LEN) != CV_OK ||
	      cv_json_get_hex(r->json, "new_key", c.new_key, CV_KEY_LEN) != CV_OK)) ||
	    c.kind == 0)
		goto malformed;
	c.difficulty = (uint8_t)v;
	v = info.tip_height + 1;
	if (json_object_object_get_ex(r->json, "height", NULL) &&
	    cv_json_get_u64(r->json, "height", UINT64_MAX - 1, &v) != CV_OK)
		goto malformed;
	memcpy(c.election_id, info.genesis_hash, CV_HASH_LEN);
	c.effective_height = v + 1;
	if ((e = cv_store_change_propose(r->store, &c, cv_now(), id, why, sizeof why)) != CV_OK) {
		if (why[0] == '\0')
			return e;
		snprintf(message, sizeof message, "The change: %s.", why);
		return cv_reply_error(r, e, message);
	}
	if ((o = json_object_new_object()) == NULL)
		return CV_E_NOMEM;
	cv_json_add_hex(o, "id", id, CV_HASH_LEN);
	json_object_object_add(o, "n_signatures", json_object_new_uint64(0));
	return cv_reply_json(r, 201, o);
malformed:
	r->message = "Expected {\"kind\": \"closes\" with \"closes\", \"difficulty\" with "
	             "\"difficulty\" (0-255), or \"validator_key\" with \"old_key\" and "
	             "\"new_key\"; \"height\" optional}.";
	return CV_E_MALFORMED;
}

/* ---- admin: elections ---- */

/* POST /admin/api/elections {"slug", settings}: registers another election beside the
 * others and creates it in setup with the settings of PUT /admin/api/election ("title"
 * needed); it is then set up, opened and closed under /admin/api/e/{slug}/. 201 the
 * election as GET answers it, with "slug"; 400 malformed (a slug is 1-32 of
 * [a-z0-9-]); 403; 409 exists; 413; 415; 422 bad_election; 503 busy. */
static cv_err post_elections(cv_req *r)
{
	char slug[CV_ELECTION_SLUG_MAX + 1];
	json_object *v, *o;
	cv_settings st = {0};
	cv_err e;

	if (!json_object_is_type(r->json, json_type_object) ||
	    !json_object_object_get_ex(r->json, "slug", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) > CV_ELECTION_SLUG_MAX ||
	    !cv_election_slug_ok(json_object_get_string(v))) {
		r->message = "Expected {\"slug\", \"title\", settings…}: a slug of 1-32 characters "
		             "of a-z, 0-9 and -.";
		return CV_E_MALFORMED;
	}
	snprintf(slug, sizeof slug, "%s", json_object_get_string(v));
	json_object_object_del(r->json, "slug");
	st.election.threshold = 2;
	st.election.difficulty = 16;
	st.election.max_block_votes = 64;
	if ((e = settings_from_json(r, &st)) != CV_OK)
		return e;
	if (st.election.title[0] == '\0') {
		r->message = "A new election needs a \"title\".";
		return CV_E_MALFORMED;
	}
	/* registered already without settings (a creation that failed half-way): given
	 * them now; with settings, creating answers exists */
	e = cv_store_add_election(r->root, slug, cv_now());
	if ((e != CV_OK && e != CV_E_EXISTS) ||
	    (e = cv_store_election(r->root, slug, &r->store)) != CV_OK)
		return e;
	if ((e = cv_store_create_election(r->store, &st)) == CV_E_EXISTS)
		r->message = "An election with that slug exists already.";
	if (e != CV_OK)
		return e;
	o = admin_election_json(r, &e);
	if (o != NULL)
		json_object_object_add(o, "slug", json_object_new_string(slug));
	return o ? cv_reply_json(r, 201, o) : e;
}

/* POST /admin/api/archive: archives the election (cv_store_archive: one in setup or
 * sealed). 200 {"archived": true, "archived_at"}; 403; 404 no election; 409 bad_state
 * (open, or closed and not yet sealed) or archived already; 503 busy. */
static cv_err post_archive(cv_req *r)
{
	cv_info info;
	json_object *o;
	cv_err e;

	if ((e = cv_store_archive(r->store, cv_now())) != CV_OK ||
	    (e = cv_req_info(r, &info)) != CV_OK)
		return e;
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "archived", json_object_new_boolean(true));
		json_object_object_add(o, "archived_at", json_object_new_uint64(info.archived_at));
	}
	return cv_reply_json(r, 200, o);
}

static const cv_route routes[] = {
    {"POST", "/api/register", CV_BODY_JSON, post_register},
    {"POST", "/admin/api/session", CV_BODY_JSON, post_session, .anonymous = true},
    {"DELETE", "/admin/api/session", CV_BODY_NONE, delete_session, .anonymous = true},
    {"GET", "/_auth/admin", CV_BODY_NONE, get_auth},
    {"POST", "/admin/api/mfa/rotate", CV_BODY_NONE, post_mfa_rotate},
    {"POST", "/admin/api/mfa/confirm", CV_BODY_JSON, post_mfa_confirm},
    {"GET", "/admin/api/election", CV_BODY_NONE, get_admin_election},
    {"PUT", "/admin/api/election", CV_BODY_JSON, put_admin_election},
    {"PUT", "/admin/api/candidates/:", CV_BODY_JSON, put_candidate},
    {"DELETE", "/admin/api/candidates/:", CV_BODY_NONE, del_candidate},
    {"PUT", "/admin/api/validators/:", CV_BODY_JSON, put_validator},
    {"DELETE", "/admin/api/validators/:", CV_BODY_NONE, del_validator},
    {"POST", "/admin/api/eligible", CV_BODY_JSON_OR_CSV, post_eligible},
    {"GET", "/admin/api/eligible", CV_BODY_NONE, get_eligible},
    {"POST", "/admin/api/eligible/reissue", CV_BODY_JSON, post_reissue},
    {"POST", "/admin/api/eligible/revoke", CV_BODY_JSON, post_revoke},
    {"POST", "/admin/api/voters", CV_BODY_JSON_OR_CSV, post_voters},
    {"POST", "/admin/api/ceremony/reset", CV_BODY_NONE, post_ceremony_reset},
    {"POST", "/admin/api/open", CV_BODY_NONE, post_open},
    {"POST", "/admin/api/close", CV_BODY_NONE, post_close},
    {"POST", "/admin/api/changes", CV_BODY_JSON, post_change_draft},
    {"POST", "/admin/api/archive", CV_BODY_NONE, post_archive},
    {"POST", "/admin/api/elections", CV_BODY_JSON, post_elections},
};

/* The master keeps the directory for the workers it forks. */
static cv_err remember_dir(const char *dir)
{
	data_dir = dir;
	return CV_OK;
}

static const cv_program program = {"register",     routes, sizeof routes / sizeof routes[0],
                                   ADMIN_MAX_BODY, true,   remember_dir};

int main(int argc, char **argv)
{
	return cv_service_main(argc, argv, &program);
}
