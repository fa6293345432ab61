/* The request pipeline every worker runs (the process supervisor that runs the workers
 * is supervisor.c): method -> route -> admin check -> content type and body -> store ->
 * handler, then the audit line (audit.c). The answers are reply.c's, the request's text
 * is parsed by query.c's functions. */
#include "service_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define MAX_PATH_LEN 2048

static void free_args(char *args[CV_ROUTE_MAX_ARGS], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(args[i]);
		args[i] = NULL;
	}
}

bool cv_route_match(const char *pattern, const char *path, char *args[CV_ROUTE_MAX_ARGS],
                    size_t *n_args)
{
	const char *p = pattern, *s = path;
	size_t n = 0;

	*n_args = 0;
	if (p[0] != '/' || s[0] != '/')
		return false;
	/* walk both one segment at a time: each starts after a '/' */
	while (*p == '/' && *s == '/') {
		const char *pe, *se;
		size_t plen, slen;

		p++;
		s++;
		pe = strchr(p, '/');
		se = strchr(s, '/');
		plen = pe ? (size_t)(pe - p) : strlen(p);
		slen = se ? (size_t)(se - s) : strlen(s);
		if (plen == 1 && p[0] == ':') {
			if (slen == 0 || slen > CV_ARG_MAX || n == CV_ROUTE_MAX_ARGS)
				goto fail;
			args[n] = strndup(s, slen);
			if (args[n] == NULL)
				goto fail;
			n++;
		} else if (plen != slen || memcmp(p, s, plen) != 0) {
			goto fail;
		}
		p += plen;
		s += slen;
	}
	if (*p != '\0' || *s != '\0')
		goto fail;
	*n_args = n;
	return true;
fail:
	free_args(args, n);
	return false;
}

const char *cv_req_param(const cv_req *r, const char *name)
{
	return FCGX_GetParam(name, r->envp);
}

cv_err cv_req_query_u64(cv_req *r, const char *name, uint64_t min, uint64_t max, uint64_t def,
                        uint64_t *out)
{
	bool found;
	cv_err e = cv_query_u64(r->query, name, min, max, &found, out);

	if (e != CV_OK) {
		r->message = "A query parameter is not an integer in its allowed range.";
		return e;
	}
	if (!found)
		*out = def;
	return CV_OK;
}

cv_err cv_req_info(cv_req *r, cv_info *info)
{
	cv_err e = cv_store_info(r->store, info);

	if (e == CV_E_NOT_FOUND)
		r->message = "No election has been created yet.";
	return e;
}

cv_err cv_req_arg_hash(cv_req *r, size_t i, uint8_t out[CV_HASH_LEN])
{
	if (i >= r->n_args || cv_hex_decode(r->args[i], out, CV_HASH_LEN) != CV_OK) {
		r->message = "Expected 64 lowercase hex digits in the path.";
		return CV_E_MALFORMED;
	}
	return CV_OK;
}

/* The request path without the query: DOCUMENT_URI is nginx's normalised $uri;
 * REQUEST_URI (raw) is the fallback for other front ends. */
static char *request_path(FCGX_ParamArray envp)
{
	const char *uri = FCGX_GetParam("DOCUMENT_URI", envp);
	size_t len;

	if (uri == NULL || uri[0] == '\0')
		uri = FCGX_GetParam("REQUEST_URI", envp);
	if (uri == NULL)
		return NULL;
	len = strcspn(uri, "?#");
	if (len == 0 || len > MAX_PATH_LEN)
		return NULL;
	return strndup(uri, len);
}

/* An election's paths are today's with /e/{slug} after /api (/api/e/{slug}/votes,
 * /admin/api/e/{slug}/open): takes the election's slug off r->path into r->election.
 * false for a path under /api/e/ whose slug breaks the rule or that names nothing
 * after it. */
static bool election_from_path(cv_req *r)
{
	static const char *const bases[] = {"/api/", "/admin/api/"};

	for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
		size_t blen = strlen(bases[i]);
		const char *slug, *rest;
		size_t slen;

		if (strncmp(r->path, bases[i], blen) != 0 || strncmp(r->path + blen, "e/", 2) != 0)
			continue;
		slug = r->path + blen + 2;
		rest = strchr(slug, '/');
		if (rest == NULL || rest[1] == '\0')
			return false;
		slen = (size_t)(rest - slug);
		if (slen > CV_ELECTION_SLUG_MAX)
			return false;
		memcpy(r->election, slug, slen);
		r->election[slen] = '\0';
		if (!cv_election_slug_ok(r->election))
			return false;
		/* "/api/e/b/votes" -> "/api/votes": the rest moves down over the prefix */
		memmove(r->path + blen, rest + 1, strlen(rest + 1) + 1);
		return true;
	}
	return true;
}

/* Reads the body of a route that takes one: content type (415), length against the
 * cap before any read (413), exactly that many bytes, then JSON parse (400). */
static cv_err read_body(cv_req *r, const cv_route *route, size_t max_body)
{
	const char *ct = cv_req_param(r, "CONTENT_TYPE");
	const char *cl = cv_req_param(r, "CONTENT_LENGTH");
	uint64_t len = 0;
	size_t got = 0;
	cv_err e;

	if (cv_media_type_is(ct, "application/json")) {
		r->content_type = "application/json";
	} else if (route->body == CV_BODY_JSON_OR_CSV && cv_media_type_is(ct, "text/csv")) {
		r->content_type = "text/csv";
	} else {
		cv_reply_status(r, 415, "unsupported_media_type",
		                route->body == CV_BODY_JSON_OR_CSV
		                    ? "The body must be application/json or text/csv."
		                    : "The body must be application/json.");
		return CV_E_MALFORMED;
	}
	if (cl != NULL && cl[0] != '\0' && cv_parse_u64(cl, 0, UINT64_MAX, &len) != CV_OK) {
		cv_reply_error(r, CV_E_MALFORMED, "The Content-Length is not a number.");
		return CV_E_MALFORMED;
	}
	if (len > max_body) {
		cv_reply_error(r, CV_E_TOO_LARGE, "The body is larger than this service accepts.");
		return CV_E_TOO_LARGE;
	}
	r->body = malloc((size_t)len + 1);
	if (r->body == NULL)
		return CV_E_NOMEM;
	while (got < len) {
		int n = FCGX_GetStr(r->body + got, (int)(len - got), r->in);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	r->body[got] = '\0';
	r->body_len = got;
	if (got < len) {
		cv_reply_error(r, CV_E_MALFORMED, "The body is shorter than its Content-Length.");
		return CV_E_MALFORMED;
	}
	if (r->content_type[0] == 'a') {
		/* r->body stays with r until cleanup_request; the analyzer loses track of it
		 * on the path through the worker loop and calls it leaked here */
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
		e = cv_json_parse(r->body, r->body_len, &r->json);
		if (e != CV_OK) {
			cv_reply_error(r, e, "The body is not one well-formed JSON value.");
			return e;
		}
	}
	return CV_OK;
}

static bool known_method(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
	       strcmp(m, "DELETE") == 0;
}

/* Finds the route for r->path and r->method. Answers 404 or 405 itself and returns
 * NULL then. On success r->args hold the captures. */
static const cv_route *find_route(const cv_program *p, cv_req *r)
{
	char allow[64] = "";
	char extra[96];
	bool path_known = false;

	for (size_t i = 0; i < p->n_routes; i++) {
		const cv_route *route = &p->routes[i];
		char *args[CV_ROUTE_MAX_ARGS] = {0};
		size_t n = 0;

		if (!cv_route_match(route->pattern, r->path, args, &n))
			continue;
		if (strcmp(route->method, r->method) == 0) {
			memcpy(r->args, args, sizeof args);
			r->n_args = n;
			return route;
		}
		free_args(args, n);
		path_known = true;
		if (strstr(allow, route->method) == NULL &&
		    strlen(allow) + strlen(route->method) + 3 < sizeof allow) {
			size_t used = strlen(allow);

			snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "",
			         route->method);
		}
	}
	if (!path_known) {
		cv_reply_error(r, CV_E_NOT_FOUND, "No such resource.");
		return NULL;
	}
	snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
	cv_reply_json_headers(
	    r, 405,
	    cv_status_error_json("method_not_allowed", "This resource does not take that method."),
	    extra);
	return NULL;
}

/* Frees everything the request owns; safe on a partly filled request. */
static void cleanup_request(cv_req *r)
{
	free(r->path);
	free_args(r->args, r->n_args);
	free(r->body);
	json_object_put(r->json);
	memset(r, 0, sizeof *r);
}

cv_err cv_service_dispatch(const cv_program *p, size_t max_body, cv_store *s, FCGX_Stream *in,
                           FCGX_Stream *out, FCGX_ParamArray envp)
{
	cv_req r = {0};
	const cv_route *route;
	const char *user;
	cv_err e = CV_OK;

	r.in = in;
	r.out = out;
	r.envp = envp;
	r.store = s;
	r.root = s;
	r.method = cv_req_param(&r, "REQUEST_METHOD");
	r.query = cv_req_param(&r, "QUERY_STRING");
	if (r.query == NULL)
		r.query = "";
	r.path = request_path(envp);

	/* method */
	if (r.method == NULL || !known_method(r.method)) {
		e = CV_E_MALFORMED;
		cv_reply_status(&r, 405, "method_not_allowed", "This method is not supported.");
		goto out;
	}
	if (r.path == NULL) {
		e = CV_E_MALFORMED;
		cv_reply_error(&r, e, "The request path is missing or too long.");
		goto out;
	}
	if (!election_from_path(&r)) {
		e = CV_E_NOT_FOUND;
		cv_reply_error(&r, e, "No such election.");
		goto out;
	}
	/* route */
	route = find_route(p, &r);
	if (route == NULL) {
		e = CV_E_NOT_FOUND;
		goto out;
	}
	/* The admin API is reachable only through the front end's authentication, which
	 * sets REMOTE_USER; a request without it did not pass there. */
	user = cv_req_param(&r, "REMOTE_USER");
	if (strncmp(r.path, "/admin/", 7) == 0 && !route->anonymous &&
	    (user == NULL || user[0] == '\0')) {
		e = CV_E_MALFORMED;
		cv_reply_status(&r, 403, "forbidden", "The admin API needs an authenticated user.");
		goto out;
	}
	/* content type and body */
	if (route->body != CV_BODY_NONE) {
		e = read_body(&r, route, max_body);
		if (e != CV_OK)
			goto out;
	}
	/* store: from here on the worker may hold Berkeley DB locks and mutexes */
	cv_sv_set_phase(CV_SV_STORE);
	if (s == NULL) {
		e = CV_E_BUSY;
		cv_reply_error(&r, e, "The election store is not available; try again.");
		goto out;
	}
	/* a write on a replica of a replication group is the master's (cluster.c) */
	if (strcmp(r.method, "GET") != 0 && strcmp(r.method, "HEAD") != 0) {
		char master_url[256];

		if (cv_store_is_replica(s, master_url, sizeof master_url)) {
			cv_sv_set_phase(CV_SV_WRITING);
			e = cv_sv_forward_to_master(&r, master_url);
			goto out;
		}
	}
	if (r.election[0] != '\0' && (e = cv_store_election(s, r.election, &r.store)) != CV_OK) {
		cv_reply_error(&r, e, e == CV_E_NOT_FOUND ? "No such election." : NULL);
		goto out;
	}
	/* handler */
	e = route->handler(&r);
	if (e != CV_OK && !r.answered)
		cv_reply_error(&r, e, r.message);
	else if (e == CV_OK && !r.answered)
		cv_reply_error(&r, e = CV_E_INTERNAL, NULL);
out:
	cv_sv_audit_request(p, &r, e);
	if (r.answered && r.status >= 500)
		cv_log("%s %s: %d %s", r.method ? r.method : "-", r.path ? r.path : "-", r.status,
		       cv_err_code(e));
	else if (!r.answered)
		cv_reply_error(&r, e == CV_OK ? CV_E_INTERNAL : e, NULL);
	cleanup_request(&r);
	return e;
}
