/* The FastCGI service layer shared by the programs in cgi-bin/: a pre-forking master
 * that keeps N workers on one listen socket and looks after the store, and the request
 * helpers every handler uses (declared routes, bounded query and body parsing, JSON
 * answers). A program is a table of routes handed to cv_service_main. */
#ifndef CV_SERVICE_H
#define CV_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <fcgiapp.h>
#include <json-c/json.h>
#include "acceptance.h"
#include "chain.h"
#include "err.h"
#include "api.h"
#include "store.h"

#define CV_ROUTE_MAX_ARGS   4   /* captured path segments per route */
#define CV_ARG_MAX          256 /* longest captured segment, bytes */
#define CV_DEFAULT_WORKERS  4
#define CV_DEFAULT_MAX_BODY (64 * 1024)

/* What a route accepts as a request body. NONE: any body is left unread. JSON: the body
 * must be application/json and parse (cv_json_parse) into r->json. JSON_OR_CSV: as JSON,
 * or text/csv kept raw in r->body. */
typedef enum cv_body { CV_BODY_NONE = 0, CV_BODY_JSON, CV_BODY_JSON_OR_CSV } cv_body;

typedef struct cv_req cv_req;

/* A handler answers the request itself (cv_reply_*) and returns CV_OK, or returns an
 * error without answering and the dispatcher answers {"error": ...} with the error's
 * status and r->message (when set) as the message. CV_E_RECOVER makes the worker exit
 * after the answer so that the master runs recovery. */
typedef cv_err (*cv_handler)(cv_req *r);

typedef struct cv_route {
	const char *method;  /* "GET", "POST", "PUT" or "DELETE" */
	const char *pattern; /* absolute path; a segment ":" matches any one non-empty
	                      * segment, captured in order into r->args */
	cv_body body;
	cv_handler handler;
	bool anonymous; /* under /admin/ yet reachable without REMOTE_USER: the sign-in
	                 * and sign-out, which nginx leaves outside its auth_request */
} cv_route;

typedef struct cv_program {
	const char *name; /* short name for logs: "vote" logs as chainvote-vote[pid] */
	const cv_route *routes;
	size_t n_routes;
	size_t max_body; /* body cap in bytes (0: CV_DEFAULT_MAX_BODY); --max-body wins */
	bool audit;      /* requests that change state or come through the admin's
	                  * authentication go to DATA/audit.log (cv_audit_open) */
	/* Run once by the master at start-up, after the store is prepared and before the
	 * workers fork (they inherit what it loads); NULL: none. A failure stops the start. */
	cv_err (*start)(const char *data_dir);
} cv_program;

/* One request. Everything a request owns is released by the dispatcher after the
 * handler returns; handlers never free these fields. envp strings (method, params)
 * die at FCGX_Finish_r, so nothing here outlives the request. */
struct cv_req {
	FCGX_Stream *in, *out;
	FCGX_ParamArray envp;
	cv_store *store; /* the election's handle, borrowed */
	cv_store *root;  /* the worker's handle (the default election and the
	                  * registry of the others), borrowed */
	/* The election the path names (/api/e/{slug}/..., /admin/api/e/{slug}/...), its
	 * prefix taken off path; "" for today's paths, the default election. */
	char election[CV_ELECTION_SLUG_MAX + 1];
	const char *method;            /* borrowed from envp */
	char *path;                    /* owned: decoded path without the query */
	const char *query;             /* borrowed from envp; "" when absent */
	char *args[CV_ROUTE_MAX_ARGS]; /* owned: captured segments */
	size_t n_args;
	const char *content_type; /* "application/json" or "text/csv" when read */
	char *body;               /* owned, NUL-terminated copy of the body */
	size_t body_len;
	json_object *json;      /* owned: the parsed body for CV_BODY_JSON */
	const char *message;    /* static text for an error answer, or NULL */
	const char *audit_user; /* who the audit line names when REMOTE_USER does not (a
	                         * sign-in's claimed user); storage outlives the request */
	/* the voter id of the eligibility entry an admin action acts on, for the audit line
	 * (borrowed from r->json), or NULL */
	const char *audit_voter_id;
	bool answered; /* a status line has been written */
	int status;    /* the status answered (for logs) */
};

/* ---- running a program ---- */

/* Parses --socket PATH | --port N (127.0.0.1), --data DIR, --workers N, --max-body B;
 * opens the listen socket (unix sockets mode 0660), opens the store (creating the
 * environment if missing), pre-forks the workers and supervises them until SIGTERM or
 * SIGINT. Returns the process exit status: 0 after a clean stop, 1 when start-up
 * failed, 2 for a usage error. */
int cv_service_main(int argc, char **argv, const cv_program *p);

/* The audit log: one JSON line per request that changed state or came through the
 * admin's authentication (time, client address and user, method, path, status, error
 * code, the validator key of a signed verdict and the voter id an admin action on an
 * eligibility entry changed (r->audit_voter_id); never a body, which may hold
 * registration codes), appended with O_APPEND by every worker and synced before the
 * answer leaves. A refused anonymous request changed nothing and is not written: it
 * would let anyone fill the disk. cv_audit_open opens dir/audit.log for the workers to
 * inherit; -1 on failure. SIGHUP to a program's master makes it and its workers open
 * the file again (log rotation: rename, then signal). */
int cv_audit_open(const char *dir);
void cv_audit(int fd, const char *program, const cv_req *r, cv_err e);
/* Whether a request answered with status (and error e) by a user (REMOTE_USER, NULL or
 * "" when anonymous) belongs in the audit log. Pure; exposed for tests. */
bool cv_audit_wanted(int status, cv_err e, const char *user);

/* One line on stderr, "chainvote-NAME[pid]: ...". */
void cv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Answers one request already accepted on (in, out, envp) with program p and store s
 * (s may be NULL: routes then answer 503). Returns the handler's error (CV_OK when it
 * answered itself), or the error the dispatcher answered with. Exposed for tests. */
cv_err cv_service_dispatch(const cv_program *p, size_t max_body, cv_store *s, FCGX_Stream *in,
                           FCGX_Stream *out, FCGX_ParamArray envp);

/* ---- parsing helpers (pure; exposed for tests) ---- */

/* strtonum-style: s is 1-20 ASCII digits, no sign, space or trailing byte, and
 * min <= value <= max. CV_E_MALFORMED otherwise. */
cv_err cv_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Finds name=value in a query string (pairs split on '&'; the first match wins; no
 * percent-decoding, since only integers and hex are read from queries). *found tells
 * whether the name occurs; when it does, the value must pass cv_parse_u64. */
cv_err cv_query_u64(const char *query, const char *name, uint64_t min, uint64_t max, bool *found,
                    uint64_t *out);

/* Finds name=value in a query string as cv_query_u64 does, and copies the value,
 * percent-decoded ("+" stays "+"), into out (cap bytes with its NUL). *found tells
 * whether the name occurs; CV_E_MALFORMED for a bad escape, a NUL, a value that does
 * not fit or the name with no "=". */
cv_err cv_query_text(const char *query, const char *name, char *out, size_t cap, bool *found);

/* Matches path against a route pattern. On a match returns true and fills args[] with
 * malloc'd copies of the captured segments (*n_args of them; the caller frees them);
 * on no match (or a segment over CV_ARG_MAX, or no memory) returns false with nothing
 * allocated. */
bool cv_route_match(const char *pattern, const char *path, char *args[CV_ROUTE_MAX_ARGS],
                    size_t *n_args);

/* True when the Content-Type header value names media type `type` (case-insensitive,
 * parameters such as "; charset=utf-8" ignored). NULL header: false. */
bool cv_media_type_is(const char *header, const char *type);

/* The value of cookie name in a Cookie header ("a=1; b=2"), copied into out (n bytes
 * with the NUL); false when absent, empty or too long. Pure; exposed for tests. */
bool cv_cookie_value(const char *header, const char *name, char *out, size_t n);

/* ---- request helpers ---- */

/* A CGI parameter of the request (e.g. "REMOTE_USER"), borrowed, or NULL. */
const char *cv_req_param(const cv_req *r, const char *name);
/* Query integer: missing gives def; present but bad sets r->message, CV_E_MALFORMED. */
cv_err cv_req_query_u64(cv_req *r, const char *name, uint64_t min, uint64_t max, uint64_t def,
                        uint64_t *out);
/* cv_store_info of r->store; when there is no election yet (CV_E_NOT_FOUND) it sets
 * r->message to say so. */
cv_err cv_req_info(cv_req *r, cv_info *info);
/* r->args[i] as a 64-hex hash; CV_E_MALFORMED (with r->message) otherwise. */
cv_err cv_req_arg_hash(cv_req *r, size_t i, uint8_t out[CV_HASH_LEN]);

/* Admits a vote as cv_store_add_vote does (the checks, the signature first, in this
 * worker; then the write), but the write goes with those of the other workers that
 * arrive at the same time: one transaction and one log flush for all (group commit).
 * The acceptance (*acc: the vote's txid, the time its rules were checked at, signed
 * with service_key) is signed once the checks have passed and before the write, so
 * that a refused vote costs no signature and nothing can fail between the durable
 * write and the answer. CV_OK only once the vote is durable in the pool; a refusal
 * says why (CV_E_ALREADY_VOTED for a double vote, whatever else the batch held);
 * CV_E_RECOVER when the worker that wrote the batch died: the vote may or may not be
 * in. */
cv_err cv_req_add_vote(cv_req *r, const cv_vote *v, const cv_privkey *service_key,
                       cv_acceptance *acc);

/* ---- answers ---- */

/* Writes a complete JSON answer: status line, Content-Type: application/json,
 * Cache-Control: no-store, the body. Takes the reference to o (puts it, even on
 * failure); o NULL answers 500. Returns CV_OK or CV_E_IO when the client is gone. */
cv_err cv_reply_json(cv_req *r, int status, json_object *o);
/* cv_reply_json with more header lines (each ending in CRLF, no other CR or LF; ""
 * for none), e.g. Set-Cookie. */
cv_err cv_reply_json_headers(cv_req *r, int status, json_object *o, const char *headers);
/* A status with no body (204) and more header lines as cv_reply_json_headers takes. */
cv_err cv_reply_empty(cv_req *r, int status, const char *headers);
/* {"error": {"code", "message"}} with cv_err_http_status(e); message NULL: default. */
cv_err cv_reply_error(cv_req *r, cv_err e, const char *message);
/* {"error": {"code", "message"}} for an error outside cv_err; NULL when out of memory. */
json_object *cv_status_error_json(const char *code, const char *message);
/* An error outside cv_err (404 route, 405, 415, 403 admin): explicit status and code. */
cv_err cv_reply_status(cv_req *r, int status, const char *code, const char *message);
/* Streaming: cv_reply_begin writes the status line and JSON headers; cv_reply_write
 * then appends body bytes (0 on success, -1 when the client is gone). */
cv_err cv_reply_begin(cv_req *r, int status);
int cv_reply_write(void *req, const char *p, size_t n);

/* Validators of an answer whose body is fixed by a hash: a committed block by its
 * hash, the chain export up to the tip by the tip's hash. etag is the entity tag
 * without quotes (at most 64 bytes of [0-9a-z-]); cache_control replaces the
 * default "no-store". */
typedef struct cv_cache {
	const char *etag;
	const char *cache_control;
	/* The answer has a gzip form as well (Vary: Accept-Encoding on both), and gzip:
	 * this answer is that form (Content-Encoding: gzip, and a weak ETag: one tag names
	 * the same content in both forms). Each form is cached apart by nginx. */
	bool encodings;
	bool gzip;
} cv_cache;
#define CV_CACHE_IMMUTABLE  "public, max-age=31536000, immutable"
#define CV_CACHE_REVALIDATE "public, no-cache"

/* When the request's If-None-Match names c->etag (or is "*"), answers 304 Not
 * Modified with c's headers and no body, and returns true; the handler is done.
 * Otherwise answers nothing and returns false. */
bool cv_req_not_modified(cv_req *r, const cv_cache *c);
/* cv_reply_json and cv_reply_begin with c's ETag and Cache-Control; with c->gzip,
 * cv_reply_json_cached sends the JSON compressed (a stream: cv_reply_begin_gzip). */
cv_err cv_reply_json_cached(cv_req *r, int status, json_object *o, const cv_cache *c);
cv_err cv_reply_begin_cached(cv_req *r, int status, const cv_cache *c);
/* A streamed answer in its gzip form (c->gzip; CV_E_INTERNAL otherwise): the head,
 * then each cv_reply_gzip_write (a cv_store_export_through writer) is compressed on the
 * way out. cv_reply_gzip_end frees it, ending the stream first when whole (an answer
 * cut short stays a gzip stream without its end, which no reader takes for whole);
 * 0, or -1 when the client is gone. */
typedef struct cv_gzip_out cv_gzip_out;
cv_err cv_reply_begin_gzip(cv_req *r, int status, const cv_cache *c, cv_gzip_out **gz);
int cv_reply_gzip_write(void *gz, const char *p, size_t n);
int cv_reply_gzip_end(cv_gzip_out *gz, bool whole);
/* Asks nginx to answer from its own location `uri` instead (X-Accel-Redirect: an
 * internal redirect; the body is empty). Only c's Cache-Control (and the Content-Type)
 * reach the client from this answer; the rest comes from uri's. uri is a path of
 * [0-9a-z/_-] (CV_E_INTERNAL otherwise). */
cv_err cv_reply_redirect_internal(cv_req *r, const char *uri, const cv_cache *c);
/* Whether an If-None-Match header value (a comma-separated list of entity tags, weak
 * or strong, or "*") names etag (unquoted), by the weak comparison RFC 9110 asks for
 * If-None-Match. NULL header: false. Pure; exposed for tests. */
bool cv_etag_listed(const char *if_none_match, const char *etag);
/* Whether the request is to be answered in gzip where an answer has that form: nginx
 * says so in the CV_GZIP parameter (its map of Accept-Encoding, which the cache keys
 * hold too: nginx.conf). */
bool cv_req_wants_gzip(cv_req *r);

/* The JSON shapes the programs share with their clients are in api.h. */

/* GET /api/cluster (lib/service/cluster.c): this node's role in its replication group,
 * the master, its log end and each site's lag behind the master (asked of each site,
 * ?local=1: only this node's own part). 200; {"replicated": false} on one machine. */
cv_err cv_cluster_handler(cv_req *r);

#endif
