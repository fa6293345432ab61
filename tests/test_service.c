/* Tests of the FastCGI service layer without a server: the bounded parsers, route
 * matching, and whole requests run through cv_service_dispatch over in-memory FastCGI
 * streams (the stream struct is public in fcgiapp.h), so the 404/405/413/415/403/503
 * paths and the answer format are checked byte for byte. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "api.h"
#include "json.h"
#include "service.h"

/* ---- in-memory FastCGI streams ---- */

typedef struct memstream {
	FCGX_Stream s;
	unsigned char *base;
	size_t cap;
} memstream;

static void fill_eof(FCGX_Stream *s)
{
	s->isClosed = 1; /* no more input: FCGX_GetStr returns what it has */
}

static void grow(FCGX_Stream *s, int do_close)
{
	memstream *m = s->data;
	size_t used = (size_t)(s->wrNext - m->base);
	size_t cap = m->cap * 2;
	unsigned char *p = realloc(m->base, cap);

	(void)do_close;
	if (p == NULL) {
		s->isClosed = 1;
		return;
	}
	m->base = p;
	m->cap = cap;
	s->wrNext = p + used;
	s->stop = p + cap;
}

static void reader_init(memstream *m, const char *body)
{
	size_t n = strlen(body);

	memset(m, 0, sizeof *m);
	m->base = (unsigned char *)strdup(body);
	m->s.rdNext = m->base;
	m->s.stop = m->base + n;
	m->s.wrNext = m->s.stop;
	m->s.stopUnget = m->base;
	m->s.isReader = 1;
	m->s.fillBuffProc = fill_eof;
	m->s.data = m;
}

static void writer_init(memstream *m)
{
	memset(m, 0, sizeof *m);
	m->cap = 16; /* small, so that answers go through grow() */
	m->base = malloc(m->cap);
	m->s.wrNext = m->base;
	m->s.stop = m->base + m->cap;
	m->s.emptyBuffProc = grow;
	m->s.data = m;
}

/* ---- a test program ---- */

static int handler_calls;
static char seen_arg[64];
static char seen_json[256];

static cv_err h_echo(cv_req *r)
{
	handler_calls++;
	return cv_reply_json(r, 200, json_object_get(r->json));
}

static cv_err h_arg(cv_req *r)
{
	handler_calls++;
	snprintf(seen_arg, sizeof seen_arg, "%s|%zu", r->args[0], r->n_args);
	return cv_reply_json(r, 200, json_object_new_object());
}

static cv_err h_voted(cv_req *r)
{
	(void)r;
	handler_calls++;
	return CV_E_ALREADY_VOTED;
}

static cv_err h_message(cv_req *r)
{
	handler_calls++;
	r->message = "Custom words.";
	return CV_E_NOT_FOUND;
}

static cv_err h_csv(cv_req *r)
{
	handler_calls++;
	snprintf(seen_json, sizeof seen_json, "%s:%s", r->content_type, r->body);
	return cv_reply_json(r, 201, json_object_new_object());
}

static cv_err h_silent(cv_req *r)
{
	handler_calls++;
	(void)r;
	return CV_OK; /* a bug: answers nothing */
}

/* An answer fixed by a hash, as GET /api/blocks/{hash} gives it. */
static cv_err h_cached(cv_req *r)
{
	cv_cache c = {"abc123", CV_CACHE_IMMUTABLE};

	handler_calls++;
	if (cv_req_not_modified(r, &c))
		return CV_OK;
	return cv_reply_json_cached(r, 200, json_object_new_object(), &c);
}

static const cv_route routes[] = {
    {"GET", "/api/cached", CV_BODY_NONE, h_cached},
    {"POST", "/api/echo", CV_BODY_JSON, h_echo},
    {"GET", "/api/items/:", CV_BODY_NONE, h_arg},
    {"DELETE", "/api/items/:", CV_BODY_NONE, h_arg},
    {"GET", "/api/voted", CV_BODY_NONE, h_voted},
    {"GET", "/api/message", CV_BODY_NONE, h_message},
    {"POST", "/api/import", CV_BODY_JSON_OR_CSV, h_csv},
    {"GET", "/api/silent", CV_BODY_NONE, h_silent},
    {"GET", "/admin/api/thing", CV_BODY_NONE, h_arg},
    {"DELETE", "/admin/api/open-door", CV_BODY_NONE, h_arg, .anonymous = true},
};
static const cv_program program = {"test", routes, sizeof routes / sizeof routes[0], 64};

/* A dummy store handle: the test handlers never use it; the dispatcher checks that
 * there is one and, for a write, asks whether it is a replica of a replication group
 * (zeroed, larger than a handle: a root handle of no group). */
static _Alignas(max_align_t) unsigned char fake_store_storage[16384];
#define FAKE_STORE ((cv_store *)fake_store_storage)

typedef struct answer {
	cv_err err;
	int status;
	char text[4096];
	const char *body; /* into text, after the blank line */
	size_t unread;    /* input bytes the dispatcher left unread */
} answer;

/* Runs one request. env is "NAME=value" strings, NULL-terminated. */
static void run(const char *const *env, const char *body, cv_store *store, answer *a)
{
	memstream in, out;
	char *envp[16];
	size_t n = 0, len;

	for (; env[n] != NULL && n < 15; n++)
		envp[n] = (char *)env[n];
	envp[n] = NULL;
	reader_init(&in, body);
	writer_init(&out);
	handler_calls = 0;
	a->err = cv_service_dispatch(&program, program.max_body, store, &in.s, &out.s, envp);
	a->unread = (size_t)(in.s.stop - in.s.rdNext);
	len = (size_t)(out.s.wrNext - out.base);
	if (len >= sizeof a->text)
		len = sizeof a->text - 1;
	memcpy(a->text, out.base, len);
	a->text[len] = '\0';
	a->status = 0;
	sscanf(a->text, "Status: %d", &a->status);
	a->body = strstr(a->text, "\r\n\r\n");
	a->body = a->body ? a->body + 4 : "";
	free(in.base);
	free(out.base);
}

/* The error code of an answer body, copied into code. */
static const char *error_code(const answer *a, char *code, size_t n)
{
	json_object *o = json_tokener_parse(a->body), *e, *c;

	code[0] = '\0';
	if (o && json_object_object_get_ex(o, "error", &e) &&
	    json_object_object_get_ex(e, "code", &c))
		snprintf(code, n, "%s", json_object_get_string(c));
	json_object_put(o);
	return code;
}

/* ---- pure parsers ---- */

static void parse_u64_accepts_digits_in_range(void)
{
	uint64_t v = 7;

	CHECK_EQ_INT(cv_parse_u64("0", 0, 10, &v), CV_OK);
	CHECK_EQ_INT(v, 0);
	CHECK_EQ_INT(cv_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), CV_OK);
	CHECK(v == UINT64_MAX);
}

static void parse_u64_rejects_sign_space_and_trailing_bytes(void)
{
	static const char *bad[] = {"", "+1", "-1", " 1", "1 ", "1x", "0x10", "1.0", "1e3"};
	uint64_t v = 99;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_EQ_INT(cv_parse_u64(bad[i], 0, UINT64_MAX, &v), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_parse_u64(NULL, 0, 1, &v), CV_E_MALFORMED);
	CHECK_EQ_INT(v, 99);
}

static void parse_u64_rejects_overflow(void)
{
	uint64_t v;

	CHECK_EQ_INT(cv_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_parse_u64("000000000000000000001", 0, UINT64_MAX, &v), CV_E_MALFORMED);
}

static void parse_u64_checks_the_range(void)
{
	uint64_t v;

	CHECK_EQ_INT(cv_parse_u64("0", 1, 100, &v), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_parse_u64("101", 1, 100, &v), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_parse_u64("100", 1, 100, &v), CV_OK);
}

static void query_finds_the_named_value(void)
{
	bool found = false;
	uint64_t v = 0;

	CHECK_EQ_INT(cv_query_u64("from=5&limit=10", "limit", 1, 100, &found, &v), CV_OK);
	CHECK(found);
	CHECK_EQ_INT(v, 10);
	CHECK_EQ_INT(cv_query_u64("from=5&limit=10", "from", 0, 100, &found, &v), CV_OK);
	CHECK_EQ_INT(v, 5);
}

static void query_absent_name_is_not_found(void)
{
	bool found = true;
	uint64_t v = 42;

	CHECK_EQ_INT(cv_query_u64("", "limit", 1, 100, &found, &v), CV_OK);
	CHECK(!found);
	CHECK_EQ_INT(cv_query_u64(NULL, "limit", 1, 100, &found, &v), CV_OK);
	CHECK(!found);
	CHECK_EQ_INT(v, 42);
}

static void query_name_must_match_whole(void)
{
	bool found = true;
	uint64_t v;

	CHECK_EQ_INT(cv_query_u64("limitx=5&xlimit=6", "limit", 1, 100, &found, &v), CV_OK);
	CHECK(!found);
}

static void query_text_is_percent_decoded(void)
{
	char out[16];
	bool found = false;

	CHECK_EQ_INT(
	    cv_query_text("limit=5&after=R-eve%26after%3Dx", "after", out, sizeof out, &found),
	    CV_OK);
	CHECK(found);
	CHECK_STR(out, "R-eve&after=x");
	/* "+" is a byte of an id, not a space */
	CHECK_EQ_INT(cv_query_text("after=a+b%2f", "after", out, sizeof out, &found), CV_OK);
	CHECK_STR(out, "a+b/");
	CHECK_EQ_INT(cv_query_text("afterx=1&limit=2", "after", out, sizeof out, &found), CV_OK);
	CHECK(!found && out[0] == '\0');
	CHECK_EQ_INT(cv_query_text("after=", "after", out, sizeof out, &found), CV_OK);
	CHECK(found && out[0] == '\0');
	/* a bad or cut escape, a NUL, a value too long, the name alone */
	CHECK_EQ_INT(cv_query_text("after=%zz", "after", out, sizeof out, &found), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_query_text("after=ab%4", "after", out, sizeof out, &found), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_query_text("after=a%00", "after", out, sizeof out, &found), CV_E_MALFORMED);
	CHECK_EQ_INT(cv_query_text("after=0123456789abcdef", "after", out, sizeof out, &found),
	             CV_E_MALFORMED);
	CHECK_EQ_INT(cv_query_text("after", "after", out, sizeof out, &found), CV_E_MALFORMED);
}

static void query_bad_value_is_malformed(void)
{
	static const char *bad[] = {"limit=abc",
	                            "limit=",
	                            "limit",
	                            "limit=0",
	                            "limit=101",
	                            "limit=%31",
	                            "limit=123456789012345678901234567890123"};
	bool found;
	uint64_t v;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_EQ_INT(cv_query_u64(bad[i], "limit", 1, 100, &found, &v), CV_E_MALFORMED);
		CHECK(found);
	}
}

static void route_matches_literals_and_captures(void)
{
	char *args[CV_ROUTE_MAX_ARGS] = {0};
	size_t n = 9;

	CHECK(cv_route_match("/api/election", "/api/election", args, &n));
	CHECK_EQ_INT(n, 0);
	CHECK(cv_route_match("/api/proposals/:/approvals", "/api/proposals/ab12/approvals", args,
	                     &n));
	CHECK_EQ_INT(n, 1);
	CHECK_STR(args[0], "ab12");
	free(args[0]);
}

static void route_rejects_other_shapes(void)
{
	static const char *paths[] = {"/api/blocks",     "/api/blocks/",  "/api/blocks/1/",
	                              "/api/blocks/1/2", "/api/blocks//", "api/blocks/1",
	                              "/api/blockss/1",  "/api/block/1",  ""};
	char *args[CV_ROUTE_MAX_ARGS] = {0};
	size_t n = 9;

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		CHECK(!cv_route_match("/api/blocks/:", paths[i], args, &n));
		CHECK_EQ_INT(n, 0);
	}
	CHECK(!cv_route_match("/api/election", "/api/election/", args, &n));
}

static void route_refuses_a_capture_over_the_bound(void)
{
	char path[CV_ARG_MAX + 16], *args[CV_ROUTE_MAX_ARGS] = {0};
	size_t n;

	strcpy(path, "/x/");
	memset(path + 3, 'a', CV_ARG_MAX + 1);
	path[3 + CV_ARG_MAX + 1] = '\0';
	CHECK(!cv_route_match("/x/:", path, args, &n));
	path[3 + CV_ARG_MAX] = '\0';
	CHECK(cv_route_match("/x/:", path, args, &n));
	CHECK_EQ_INT(strlen(args[0]), CV_ARG_MAX);
	free(args[0]);
}

static void media_type_ignores_parameters_and_case(void)
{
	CHECK(cv_media_type_is("application/json", "application/json"));
	CHECK(cv_media_type_is("Application/JSON; charset=utf-8", "application/json"));
	CHECK(cv_media_type_is(" application/json ;charset=UTF-8", "application/json"));
}

static void media_type_refuses_lookalikes(void)
{
	CHECK(!cv_media_type_is("application/jsonp", "application/json"));
	CHECK(!cv_media_type_is("application/json-seq", "application/json"));
	CHECK(!cv_media_type_is("text/plain", "application/json"));
	CHECK(!cv_media_type_is("", "application/json"));
	CHECK(!cv_media_type_is(NULL, "application/json"));
}

/* ---- whole requests ---- */

static void answer_has_json_headers(void)
{
	const char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/api/echo",
	                     "CONTENT_TYPE=application/json", "CONTENT_LENGTH=7", NULL};
	answer a;

	run(env, "[1,2,3]", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 200);
	CHECK(strncmp(a.text, "Status: 200 OK\r\n", 16) == 0);
	CHECK(strstr(a.text, "\r\nContent-Type: application/json\r\n") != NULL);
	CHECK(strstr(a.text, "\r\nCache-Control: no-store\r\n") != NULL);
	CHECK_STR(a.body, "[1,2,3]\n");
	CHECK_EQ_INT(handler_calls, 1);
}

static void unknown_path_is_404_json(void)
{
	const char *env[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/api/nothing", NULL};
	answer a;
	char code[64];

	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 404);
	CHECK_STR(error_code(&a, code, sizeof code), "not_found");
	CHECK_EQ_INT(handler_calls, 0);
}

static void wrong_method_is_405_with_allow(void)
{
	const char *env[] = {"REQUEST_METHOD=PUT", "REQUEST_URI=/api/items/3", NULL};
	answer a;
	char code[64];

	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 405);
	CHECK(strstr(a.text, "\r\nAllow: GET, DELETE\r\n") != NULL);
	CHECK_STR(error_code(&a, code, sizeof code), "method_not_allowed");
	CHECK_EQ_INT(handler_calls, 0);
}

static void unsupported_method_is_405(void)
{
	const char *env[] = {"REQUEST_METHOD=PATCH", "REQUEST_URI=/api/echo", NULL};
	answer a;

	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 405);
	CHECK_EQ_INT(handler_calls, 0);
}

static void body_over_the_cap_is_413_before_reading(void)
{
	const char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/api/echo",
	                     "CONTENT_TYPE=application/json", "CONTENT_LENGTH=65", NULL};
	answer a;
	char code[64];

	run(env, "{\"a\":1}", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 413);
	CHECK_STR(error_code(&a, code, sizeof code), "too_large");
	CHECK_EQ_INT(a.unread, 7); /* not one byte was read */
	CHECK_EQ_INT(handler_calls, 0);
}

static void huge_content_length_is_413(void)
{
	const char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/api/echo",
	                     "CONTENT_TYPE=application/json", "CONTENT_LENGTH=18446744073709551615",
	                     NULL};
	answer a;

	run(env, "{}", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 413);
	CHECK_EQ_INT(handler_calls, 0);
}

static void bad_content_length_is_400(void)
{
	const char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/api/echo",
	                     "CONTENT_TYPE=application/json", "CONTENT_LENGTH=-1", NULL};
	answer a;

	run(env, "{}", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 400);
	CHECK_EQ_INT(handler_calls, 0);
}

static void wrong_content_type_is_415(void)
{
	const char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/api/echo",
	                     "CONTENT_TYPE=text/plain", "CONTENT_LENGTH=2", NULL};
	answer a;
	char code[64];

	run(env, "{}", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 415);
	CHECK_STR(error_code(&a, code, sizeof code), "unsupported_media_type");
	CHECK_EQ_INT(handler_calls, 0);
}

static void missing_content_type_is_415(void)
{
	const char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/api/echo", "CONTENT_LENGTH=2",
	                     NULL};
	answer a;

	run(env, "{}", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 415);
}

static void body_shorter_than_its_length_is_400(void)
{
	const char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/api/echo",
	                     "CONTENT_TYPE=application/json", "CONTENT_LENGTH=20", NULL};
	answer a;

	run(env, "{\"a\":1}", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 400);
	CHECK_EQ_INT(handler_calls, 0);
}

static void body_is_read_to_its_length_only(void)
{
	const char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/api/echo",
	                     "CONTENT_TYPE=application/json", "CONTENT_LENGTH=5", NULL};
	answer a;

	run(env, "[1,2]garbage", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 200);
	CHECK_STR(a.body, "[1,2]\n");
}

static void malformed_json_is_400(void)
{
	static const char *bodies[] = {"{\"a\":", "[1,2", "{}{}", "nul", ""};
	char env_len[40];
	const char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/api/echo",
	                     "CONTENT_TYPE=application/json", env_len, NULL};
	answer a;
	char code[64];

	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		snprintf(env_len, sizeof env_len, "CONTENT_LENGTH=%zu", strlen(bodies[i]));
		run(env, bodies[i], FAKE_STORE, &a);
		CHECK_EQ_INT(a.status, 400);
		CHECK_STR(error_code(&a, code, sizeof code), "malformed");
		CHECK_EQ_INT(handler_calls, 0);
	}
}

static void csv_reaches_a_route_that_takes_it(void)
{
	const char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/api/import",
	                     "CONTENT_TYPE=text/csv", "CONTENT_LENGTH=7", NULL};
	answer a;

	run(env, "V1\nV2,x", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 201);
	CHECK_STR(seen_json, "text/csv:V1\nV2,x");
}

static void csv_refused_where_only_json_is_taken(void)
{
	const char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/api/echo",
	                     "CONTENT_TYPE=text/csv", "CONTENT_LENGTH=2", NULL};
	answer a;

	run(env, "V1", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 415);
}

static void captured_segment_reaches_the_handler(void)
{
	const char *env[] = {"REQUEST_METHOD=DELETE", "REQUEST_URI=/api/items/abc?x=1",
	                     "QUERY_STRING=x=1", NULL};
	answer a;

	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 200);
	CHECK_STR(seen_arg, "abc|1");
}

static void document_uri_wins_over_request_uri(void)
{
	const char *env[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/api/items/%41",
	                     "DOCUMENT_URI=/api/items/A", NULL};
	answer a;

	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 200);
	CHECK_STR(seen_arg, "A|1");
}

static void handler_error_answers_its_status_and_code(void)
{
	const char *env[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/api/voted", NULL};
	answer a;
	char code[64];

	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 409);
	CHECK_STR(error_code(&a, code, sizeof code), "already_voted");
	CHECK_EQ_INT(a.err, CV_E_ALREADY_VOTED);
}

static void handler_message_replaces_the_default(void)
{
	const char *env[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/api/message", NULL};
	answer a;

	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 404);
	CHECK(strstr(a.body, "\"message\":\"Custom words.\"") != NULL);
}

static void handler_that_answers_nothing_gives_500(void)
{
	const char *env[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/api/silent", NULL};
	answer a;

	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 500);
}

static void admin_without_remote_user_is_403(void)
{
	const char *env[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/admin/api/thing",
	                     "REMOTE_USER=", NULL};
	const char *env2[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/admin/api/thing", NULL};
	answer a;
	char code[64];

	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 403);
	CHECK_STR(error_code(&a, code, sizeof code), "forbidden");
	run(env2, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 403);
	CHECK_EQ_INT(handler_calls, 0);
}

static void admin_with_remote_user_passes(void)
{
	const char *env[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/admin/api/thing",
	                     "REMOTE_USER=admin", NULL};
	answer a;

	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 200);
	CHECK_EQ_INT(handler_calls, 1);
}

static void anonymous_admin_route_passes_without_remote_user(void)
{
	const char *env[] = {"REQUEST_METHOD=DELETE", "REQUEST_URI=/admin/api/open-door", NULL};
	answer a;

	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 200);
	CHECK_EQ_INT(handler_calls, 1);
}

static void cookie_value_is_found_by_name_only(void)
{
	char v[16];

	CHECK(cv_cookie_value("a=1; cv_admin=abc; b=2", "cv_admin", v, sizeof v) &&
	      strcmp(v, "abc") == 0);
	CHECK(cv_cookie_value("cv_admin=xyz", "cv_admin", v, sizeof v) && strcmp(v, "xyz") == 0);
	CHECK(!cv_cookie_value("xcv_admin=abc", "cv_admin", v, sizeof v));
	CHECK(!cv_cookie_value("cv_admin_old=abc; other=1", "cv_admin", v, sizeof v));
	CHECK(!cv_cookie_value("cv_admin=", "cv_admin", v, sizeof v));
	CHECK(!cv_cookie_value("cv_admin=0123456789abcdefXX", "cv_admin", v, sizeof v));
	CHECK(!cv_cookie_value(NULL, "cv_admin", v, sizeof v));
}

static void no_store_is_503(void)
{
	const char *env[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/api/voted", NULL};
	answer a;
	char code[64];

	run(env, "", NULL, &a);
	CHECK_EQ_INT(a.status, 503);
	CHECK_STR(error_code(&a, code, sizeof code), "busy");
	CHECK_EQ_INT(handler_calls, 0);
}

static void etag_listed_matches_strong_weak_lists_and_star(void)
{
	CHECK(cv_etag_listed("\"abc\"", "abc"));
	CHECK(cv_etag_listed("W/\"abc\"", "abc"));
	CHECK(cv_etag_listed("\"x\", \"abc\"", "abc"));
	CHECK(cv_etag_listed(" \"x\",W/\"abc\" ", "abc"));
	CHECK(cv_etag_listed("*", "abc"));
}

static void etag_listed_refuses_others_and_garbage(void)
{
	static const char *no[] = {
	    "",       "abc",        "\"ab\"",        "\"abcd\"",      "\"ABC\"",
	    "\"abc",  "w/\"abc\"",  "\"x\" \"abc\"", "\"x\";\"abc\"", "**",
	    "\"x\",", "\"x\", abc", "*abc",          "W/ \"abc\"",    "\"a\"\"bc\""};

	CHECK(!cv_etag_listed(NULL, "abc"));
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		CHECK(!cv_etag_listed(no[i], "abc"));
}

static void cached_answer_has_its_validators(void)
{
	const char *env[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/api/cached", NULL};
	answer a;

	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 200);
	CHECK(strstr(a.text, "\r\nETag: \"abc123\"\r\n") != NULL);
	CHECK(strstr(a.text, "\r\nCache-Control: public, max-age=31536000, immutable\r\n") != NULL);
	CHECK(strstr(a.text, "no-store") == NULL);
	CHECK_STR(a.body, "{}\n");
}

static void if_none_match_of_the_tag_is_304_without_body(void)
{
	const char *env[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/api/cached",
	                     "HTTP_IF_NONE_MATCH=\"zzz\", \"abc123\"", NULL};
	answer a;

	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 304);
	CHECK(strncmp(a.text, "Status: 304 Not Modified\r\n", 26) == 0);
	CHECK(strstr(a.text, "\r\nETag: \"abc123\"\r\n") != NULL);
	CHECK(strstr(a.text, "\r\nContent-Type:") == NULL);
	CHECK_STR(a.body, "");
}

static void if_none_match_of_another_tag_is_200(void)
{
	const char *env[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/api/cached",
	                     "HTTP_IF_NONE_MATCH=\"abc12\"", NULL};
	answer a;

	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 200);
	CHECK_STR(a.body, "{}\n");
}

static void audit_keeps_changes_and_the_admin_only(void)
{
	CHECK(cv_audit_wanted(200, CV_OK, NULL));
	CHECK(cv_audit_wanted(201, CV_OK, ""));
	CHECK(cv_audit_wanted(202, CV_OK, NULL));
	CHECK(cv_audit_wanted(409, CV_E_EQUIVOCATION, NULL)); /* evidence was stored */
	CHECK(cv_audit_wanted(409, CV_E_BAD_STATE, "admin"));
	CHECK(cv_audit_wanted(403, CV_E_MALFORMED, "admin"));
	CHECK(!cv_audit_wanted(400, CV_E_MALFORMED, NULL));
	CHECK(!cv_audit_wanted(403, CV_E_NOT_VALIDATOR, ""));
	CHECK(!cv_audit_wanted(404, CV_E_NOT_FOUND, NULL));
	CHECK(!cv_audit_wanted(422, CV_E_BAD_SIGNATURE, NULL));
	CHECK(!cv_audit_wanted(500, CV_E_INTERNAL, NULL));
}

static void overlong_path_is_400(void)
{
	static char uri[4200];
	const char *env[] = {"REQUEST_METHOD=GET", uri, NULL};
	answer a;

	strcpy(uri, "REQUEST_URI=/");
	memset(uri + 13, 'a', 4000);
	uri[4013] = '\0';
	run(env, "", FAKE_STORE, &a);
	CHECK_EQ_INT(a.status, 400);
}

/* The ceremony as a trustee's client reads it keeps every share posted (sender and
 * recipient), so it writes back to the same text; a share without its keys is refused. */
static void ceremony_read_keeps_the_shares(void)
{
	uint8_t from[2][CV_KEY_LEN], to[2][CV_KEY_LEN];
	cv_validator vals[2] = {{.name = "One"}, {.name = "Two"}};
	cv_ceremony c = {0}, back = {0};
	json_object *o, *again, *shares;

	memset(from, 0x04, sizeof from);
	memset(to, 0x04, sizeof to);
	from[0][1] = 1;
	to[0][1] = 2;
	from[1][1] = 2;
	to[1][1] = 1;
	memset(vals[0].key, 0x04, CV_KEY_LEN);
	memset(vals[1].key, 0x05, CV_KEY_LEN);
	c.secret = true;
	c.quorum = 2;
	c.n_validators = 2;
	c.validators = vals;
	c.n_shares = 2;
	c.share_from = from;
	c.share_to = to;
	o = cv_api_ceremony_json(&c);
	CHECK(o != NULL);
	CHECK(cv_api_ceremony_read(o, &back) == CV_OK);
	CHECK_EQ_INT(back.n_shares, 2);
	CHECK(back.share_from != NULL && back.share_to != NULL);
	CHECK(memcmp(back.share_from, from, sizeof from) == 0);
	CHECK(memcmp(back.share_to, to, sizeof to) == 0);
	again = cv_api_ceremony_json(&back);
	CHECK(again != NULL);
	CHECK(strcmp(json_object_to_json_string(o), json_object_to_json_string(again)) == 0);
	cv_ceremony_free(&back);
	shares = json_object_object_get(o, "shares");
	json_object_object_del(json_object_array_get_idx(shares, 1), "recipient");
	CHECK(cv_api_ceremony_read(o, &back) == CV_E_MALFORMED);
	CHECK_EQ_INT(back.n_shares, 0);
	json_object_put(again);
	json_object_put(o);
}

int main(void)
{
	RUN(parse_u64_accepts_digits_in_range);
	RUN(parse_u64_rejects_sign_space_and_trailing_bytes);
	RUN(parse_u64_rejects_overflow);
	RUN(parse_u64_checks_the_range);
	RUN(query_finds_the_named_value);
	RUN(query_absent_name_is_not_found);
	RUN(query_name_must_match_whole);
	RUN(query_bad_value_is_malformed);
	RUN(query_text_is_percent_decoded);
	RUN(route_matches_literals_and_captures);
	RUN(route_rejects_other_shapes);
	RUN(route_refuses_a_capture_over_the_bound);
	RUN(media_type_ignores_parameters_and_case);
	RUN(media_type_refuses_lookalikes);
	RUN(answer_has_json_headers);
	RUN(etag_listed_matches_strong_weak_lists_and_star);
	RUN(etag_listed_refuses_others_and_garbage);
	RUN(cached_answer_has_its_validators);
	RUN(if_none_match_of_the_tag_is_304_without_body);
	RUN(if_none_match_of_another_tag_is_200);
	RUN(audit_keeps_changes_and_the_admin_only);
	RUN(unknown_path_is_404_json);
	RUN(wrong_method_is_405_with_allow);
	RUN(unsupported_method_is_405);
	RUN(body_over_the_cap_is_413_before_reading);
	RUN(huge_content_length_is_413);
	RUN(bad_content_length_is_400);
	RUN(wrong_content_type_is_415);
	RUN(missing_content_type_is_415);
	RUN(body_shorter_than_its_length_is_400);
	RUN(body_is_read_to_its_length_only);
	RUN(malformed_json_is_400);
	RUN(csv_reaches_a_route_that_takes_it);
	RUN(csv_refused_where_only_json_is_taken);
	RUN(captured_segment_reaches_the_handler);
	RUN(document_uri_wins_over_request_uri);
	RUN(handler_error_answers_its_status_and_code);
	RUN(handler_message_replaces_the_default);
	RUN(handler_that_answers_nothing_gives_500);
	RUN(admin_without_remote_user_is_403);
	RUN(admin_with_remote_user_passes);
	RUN(anonymous_admin_route_passes_without_remote_user);
	RUN(cookie_value_is_found_by_name_only);
	RUN(no_store_is_503);
	RUN(overlong_path_is_400);
	RUN(ceremony_read_keeps_the_shares);
	return CHECK_DONE("service");
}
