/* The FastCGI service layer: a master that opens the listen socket once, pre-forks
 * workers sharing it and supervises them and the store (failchk, recovery,
 * checkpoints), and the request pipeline every worker runs:
 * method -> route -> admin check -> content type and body -> store -> handler. */
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json.h"

#define MAX_WORKERS      64
#define MAX_BODY_LIMIT   (1024u * 1024 * 1024) /* FCGX_GetStr counts in int */
#define MAX_PATH_LEN     2048
#define CHECKPOINT_EVERY 5    /* seconds: also bounds the log a recovery replays */
#define READY_LIMIT      3    /* seconds a new worker may take to open the store */
#define BUSY_LIMIT       20   /* seconds one store operation may take before the watchdog */
#define READ_LIMIT       15   /* seconds reading one request may take, in all */
#define WRITE_LIMIT      60   /* seconds one write of an answer may take, in all */
#define READ_TIMEOUT_S   3    /* a read from the front end that gets no byte gives up */
#define SEND_TIMEOUT_S   30   /* a write to the front end that moves no byte gives up */
#define STOP_GRACE_MS    5000 /* SIGTERM to SIGKILL when the program stops */
#define RECOVER_GRACE_MS 100  /* SIGTERM to SIGKILL before a recovery */
#define TICK_MS          20   /* the master's round: reap, watchdog, recovery requests */
#define SLOW_OPEN_MS     100  /* a worker's store open this slow is logged */
#define EXIT_RECOVER     3    /* a worker saw DB_RUNRECOVERY or could not open the store */
#define LISTEN_BACKLOG   128
#define WRITE_CHUNK      (1 << 20)

static const char *prog_name = "service";

/* Where a worker is, for the master's watchdog (see struct board): a worker stuck
 * inside the store may hold a Berkeley DB mutex, and only its death with a recovery
 * after it frees that; a worker stuck reading a request or writing an answer holds
 * nothing of the store's and is simply replaced. */
enum phase { PHASE_IDLE = 0, PHASE_READING, PHASE_STORE, PHASE_WRITING };

/* This worker's slots on the board; NULL outside a worker (unit tests). */
static _Atomic int *my_phase;
static _Atomic long long *my_phase_since;

static long long mono_s(void);

/* Records a change of phase; returns the phase left. The time is stored first: a
 * master that reads the new phase then reads its time too. */
static int set_phase(int phase)
{
	int was = PHASE_IDLE;

	if (my_phase != NULL) {
		was = atomic_load(my_phase);
		atomic_store(my_phase_since, mono_s());
		atomic_store(my_phase, phase);
	}
	return was;
}

void cv_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	struct timespec now;
	struct tm tm;
	char when[32] = "";

	clock_gettime(CLOCK_REALTIME, &now);
	if (gmtime_r(&now.tv_sec, &tm) != NULL)
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* one write per line so that lines of several processes do not interleave */
	fprintf(stderr, "%s.%03ldZ chainvote-%s[%d]: %s\n", when, now.tv_nsec / 1000000, prog_name,
	        (int)getpid(), line);
	fflush(stderr);
}

/* ------------------------------------------------------------------------------------
 * Pure parsing helpers
 * ---------------------------------------------------------------------------------- */

cv_err cv_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s == NULL || s[0] == '\0')
		return CV_E_MALFORMED;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9' || i >= 20)
			return CV_E_MALFORMED;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return CV_E_MALFORMED;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return CV_E_MALFORMED;
	*out = v;
	return CV_OK;
}

cv_err cv_query_u64(const char *query, const char *name, uint64_t min, uint64_t max, bool *found,
                    uint64_t *out)
{
	size_t name_len = strlen(name);
	const char *p = query ? query : "";

	*found = false;
	while (*p != '\0') {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
			char value[32];
			size_t vlen = len - name_len - 1;

			*found = true;
			if (vlen >= sizeof value)
				return CV_E_MALFORMED;
			memcpy(value, p + name_len + 1, vlen);
			value[vlen] = '\0';
			return cv_parse_u64(value, min, max, out);
		}
		if (len == name_len && strncmp(p, name, name_len) == 0) {
			*found = true; /* "name" with no value */
			return CV_E_MALFORMED;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return CV_OK;
}

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

bool cv_media_type_is(const char *header, const char *type)
{
	size_t len = strlen(type);

	if (header == NULL)
		return false;
	while (*header == ' ' || *header == '\t')
		header++;
	if (strncasecmp(header, type, len) != 0)
		return false;
	header += len;
	while (*header == ' ' || *header == '\t')
		header++;
	return *header == '\0' || *header == ';';
}

/* ------------------------------------------------------------------------------------
 * Answers
 * ---------------------------------------------------------------------------------- */

static const struct {
	int status;
	const char *phrase;
} phrases[] = {
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {409, "Conflict"},
    {413, "Content Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {500, "Internal Server Error"},
    {503, "Service Unavailable"},
};

static const char *reason_phrase(int status)
{
	for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++)
		if (phrases[i].status == status)
			return phrases[i].phrase;
	return "Unknown";
}

/* Writing to the front end is its own phase: a front end that does not read blocks
 * the write, and that is no reason to recover the store. */
static int put_all(FCGX_Stream *out, const char *p, size_t n)
{
	int was = set_phase(PHASE_WRITING), rc = 0;

	while (n > 0) {
		int chunk = n > WRITE_CHUNK ? WRITE_CHUNK : (int)n;

		if (FCGX_PutStr(p, chunk, out) != chunk) {
			rc = -1;
			break;
		}
		p += chunk;
		n -= (size_t)chunk;
	}
	set_phase(was);
	return rc;
}

/* An entity tag as this service makes them: 1-64 bytes of [0-9a-z-], so that it
 * needs no escaping inside quotes. */
static bool etag_ok(const char *etag)
{
	size_t n = strlen(etag);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((etag[i] >= '0' && etag[i] <= '9') || (etag[i] >= 'a' && etag[i] <= 'z') ||
		      etag[i] == '-'))
			return false;
	return true;
}

/* The status line and headers; c NULL: Cache-Control no-store and no validator; extra
 * is more header lines ending in CRLF, or "". A 304 has no body, so no Content-Type. */
static cv_err write_head(cv_req *r, int status, const cv_cache *c, const char *extra)
{
	char head[640], validators[160] = "";
	int n;

	if (r->answered)
		return CV_E_INTERNAL;
	r->answered = true;
	r->status = status;
	if (c != NULL) {
		if (!etag_ok(c->etag) || strchr(c->cache_control, '\n') != NULL)
			return CV_E_INTERNAL;
		n = snprintf(validators, sizeof validators, "ETag: \"%s\"\r\n", c->etag);
		if (n < 0 || (size_t)n >= sizeof validators)
			return CV_E_INTERNAL;
	}
	n = snprintf(head, sizeof head,
	             "Status: %d %s\r\n"
	             "%s"
	             "Cache-Control: %s\r\n"
	             "%s"
	             "X-Content-Type-Options: nosniff\r\n"
	             "%s\r\n",
	             status, reason_phrase(status),
	             status == 304 ? "" : "Content-Type: application/json\r\n",
	             c != NULL ? c->cache_control : "no-store", validators, extra);
	if (n < 0 || (size_t)n >= sizeof head)
		return CV_E_INTERNAL;
	return put_all(r->out, head, (size_t)n) == 0 ? CV_OK : CV_E_IO;
}

static cv_err reply_json_extra(cv_req *r, int status, json_object *o, const cv_cache *c,
                               const char *extra)
{
	const char *text;
	cv_err e;

	if (o == NULL) {
		/* an object that could not be built: the handler ran out of memory */
		o = cv_error_json(CV_E_NOMEM, NULL);
		status = cv_err_http_status(CV_E_NOMEM);
		c = NULL; /* an error answer is never cached */
		if (o == NULL)
			return write_head(r, status, NULL, extra);
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                             JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL) {
		json_object_put(o);
		return write_head(r, 500, NULL, extra);
	}
	e = write_head(r, status, c, extra);
	if (e == CV_OK &&
	    (put_all(r->out, text, strlen(text)) != 0 || put_all(r->out, "\n", 1) != 0))
		e = CV_E_IO;
	json_object_put(o);
	return e;
}

cv_err cv_reply_json(cv_req *r, int status, json_object *o)
{
	return reply_json_extra(r, status, o, NULL, "");
}

cv_err cv_reply_json_cached(cv_req *r, int status, json_object *o, const cv_cache *c)
{
	return reply_json_extra(r, status, o, c, "");
}

cv_err cv_reply_error(cv_req *r, cv_err e, const char *message)
{
	return cv_reply_json(r, cv_err_http_status(e), cv_error_json(e, message));
}

static json_object *status_error_json(const char *code, const char *message)
{
	json_object *o = json_object_new_object(), *inner = json_object_new_object();

	if (o == NULL || inner == NULL) {
		json_object_put(o);
		json_object_put(inner);
		return NULL;
	}
	json_object_object_add(inner, "code", json_object_new_string(code));
	json_object_object_add(inner, "message", json_object_new_string(message));
	json_object_object_add(o, "error", inner);
	return o;
}

cv_err cv_reply_status(cv_req *r, int status, const char *code, const char *message)
{
	return cv_reply_json(r, status, status_error_json(code, message));
}

cv_err cv_reply_begin(cv_req *r, int status)
{
	return write_head(r, status, NULL, "");
}

cv_err cv_reply_begin_cached(cv_req *r, int status, const cv_cache *c)
{
	return write_head(r, status, c, "");
}

bool cv_etag_listed(const char *if_none_match, const char *etag)
{
	const char *p = if_none_match;
	size_t len = strlen(etag);

	if (p == NULL)
		return false;
	/* entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, in a list split on commas; anything
	 * else in the header makes it not match, which only costs a full answer */
	for (;;) {
		const char *q;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '*')
			return p[1] == '\0' || p[1] == ' ' || p[1] == ',';
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return false;
		q = strchr(p + 1, '"');
		if (q == NULL)
			return false;
		if ((size_t)(q - p - 1) == len && memcmp(p + 1, etag, len) == 0)
			return true;
		p = q + 1;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ',')
			return false;
		p++;
	}
}

bool cv_req_not_modified(cv_req *r, const cv_cache *c)
{
	if (!cv_etag_listed(cv_req_param(r, "HTTP_IF_NONE_MATCH"), c->etag))
		return false;
	write_head(r, 304, c, "");
	return true;
}

int cv_reply_write(void *req, const char *p, size_t n)
{
	cv_req *r = req;

	return put_all(r->out, p, n);
}

/* ------------------------------------------------------------------------------------
 * Request helpers
 * ---------------------------------------------------------------------------------- */

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
	reply_json_extra(
	    r, 405,
	    status_error_json("method_not_allowed", "This resource does not take that method."),
	    NULL, extra);
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

/* The audit log the workers inherit from the master (-1: none), its directory, and
 * which opening of it this process holds: the master counts its SIGHUPs on the board
 * (audit_generation), and a worker that sees a newer count opens the file again
 * before its next line. */
static int audit_fd = -1;
static const char *audit_dir;
static unsigned audit_held;
static _Atomic unsigned *audit_generation;

/* Opens dir/audit.log again in place of audit_fd (same descriptor number), so that
 * lines go to the new file after a rotation renamed the old one. */
static void audit_reopen(void)
{
	int fd;

	if (audit_fd < 0 || audit_dir == NULL)
		return;
	if ((fd = cv_audit_open(audit_dir)) < 0) {
		cv_log("audit log: cannot open it again: %s", strerror(errno));
		return;
	}
	if (dup2(fd, audit_fd) < 0)
		cv_log("audit log: cannot open it again: %s", strerror(errno));
	close(fd);
}

bool cv_audit_wanted(int status, cv_err e, const char *user)
{
	/* an equivocation is refused, but the store keeps both signed messages as evidence */
	return (status >= 200 && status < 300) || e == CV_E_EQUIVOCATION ||
	       (user != NULL && user[0] != '\0');
}

int cv_audit_open(const char *dir)
{
	char path[4096];

	if (snprintf(path, sizeof path, "%s/audit.log", dir) >= (int)sizeof path)
		return -1;
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

void cv_audit(int fd, const char *program, const cv_req *r, cv_err e)
{
	json_object *o = json_object_new_object(), *key = NULL;
	const char *addr = cv_req_param(r, "REMOTE_ADDR"), *user = cv_req_param(r, "REMOTE_USER");
	const char *line;
	char *buf;
	size_t len;

	if (fd < 0 || o == NULL) {
		json_object_put(o);
		return;
	}
	json_object_object_add(o, "at", json_object_new_uint64(cv_now()));
	json_object_object_add(o, "program", json_object_new_string(program));
	json_object_object_add(o, "remote_addr", addr ? json_object_new_string(addr) : NULL);
	json_object_object_add(o, "remote_user",
	                       user && *user ? json_object_new_string(user) : NULL);
	json_object_object_add(o, "method", json_object_new_string(r->method ? r->method : "-"));
	json_object_object_add(o, "path", json_object_new_string(r->path ? r->path : "-"));
	json_object_object_add(o, "status", json_object_new_int(r->status));
	json_object_object_add(o, "code", json_object_new_string(cv_err_code(e)));
	/* who signed a verdict: public, and what an auditor looks for */
	if (r->json != NULL && json_object_is_type(r->json, json_type_object) &&
	    json_object_object_get_ex(r->json, "validator_key", &key) &&
	    json_object_is_type(key, json_type_string))
		json_object_object_add(o, "validator_key", json_object_get(key));
	line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = strlen(line);
	/* one write per line: O_APPEND keeps workers' lines whole and in order */
	buf = malloc(len + 1);
	if (buf != NULL) {
		memcpy(buf, line, len);
		buf[len] = '\n';
		if (write(fd, buf, len + 1) != (ssize_t)(len + 1))
			cv_log("audit log: write failed: %s", strerror(errno));
		else if (fdatasync(fd) != 0)
			cv_log("audit log: sync failed: %s", strerror(errno));
	}
	free(buf);
	json_object_put(o);
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
	/* route */
	route = find_route(p, &r);
	if (route == NULL) {
		e = CV_E_NOT_FOUND;
		goto out;
	}
	/* The admin API is reachable only through the front end's authentication, which
	 * sets REMOTE_USER; a request without it did not pass there. */
	user = cv_req_param(&r, "REMOTE_USER");
	if (strncmp(r.path, "/admin/", 7) == 0 && (user == NULL || user[0] == '\0')) {
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
	set_phase(PHASE_STORE);
	if (s == NULL) {
		e = CV_E_BUSY;
		cv_reply_error(&r, e, "The election store is not available; try again.");
		goto out;
	}
	/* handler */
	e = route->handler(&r);
	if (e != CV_OK && !r.answered)
		cv_reply_error(&r, e, r.message);
	else if (e == CV_OK && !r.answered)
		cv_reply_error(&r, e = CV_E_INTERNAL, NULL);
out:
	if (p->audit && r.method != NULL && strcmp(r.method, "GET") != 0 && r.answered &&
	    cv_audit_wanted(r.status, e, cv_req_param(&r, "REMOTE_USER"))) {
		unsigned now_gen = audit_generation ? atomic_load(audit_generation) : 0;

		if (now_gen != audit_held) {
			audit_reopen();
			audit_held = now_gen;
		}
		cv_audit(audit_fd, p->name, &r, e);
	}
	if (r.answered && r.status >= 500)
		cv_log("%s %s: %d %s", r.method ? r.method : "-", r.path ? r.path : "-", r.status,
		       cv_err_code(e));
	else if (!r.answered)
		cv_reply_error(&r, e == CV_OK ? CV_E_INTERNAL : e, NULL);
	cleanup_request(&r);
	return e;
}

/* ------------------------------------------------------------------------------------
 * Master and workers
 * ---------------------------------------------------------------------------------- */

/* What the master's watchdog reads of its workers: an anonymous shared mapping made
 * before the first fork. Each worker says where it is (enum phase) and since when. A
 * worker blocked for good inside Berkeley DB (on a mutex a killed process held) shows
 * as in the store for too long, and is killed and replaced with a recovery; one that
 * is slow reading a request or writing an answer (a client that sends one byte, a
 * front end that does not read) holds nothing of the store's and is replaced without. */
struct board {
	_Atomic int phase[MAX_WORKERS];             /* enum phase */
	_Atomic long long phase_since[MAX_WORKERS]; /* monotonic seconds */
	_Atomic int ready[MAX_WORKERS];             /* the worker's store is open */
	_Atomic long long last_checkpoint;          /* monotonic seconds */
	_Atomic unsigned audit_generation;          /* SIGHUPs the master has seen */
};

struct service {
	const cv_program *p;
	pid_t master;
	struct board *board;
	bool must_recover;       /* a worker died inside the store: recover everything */
	const char *socket_path; /* NULL when listening on a TCP port */
	const char *data_dir;
	int n_workers;
	size_t max_body;
	int listen_fd;
	pid_t pids[MAX_WORKERS]; /* 0: slot empty */
	time_t started[MAX_WORKERS];
	time_t restart_at[MAX_WORKERS];
};

static volatile sig_atomic_t worker_stop;

static void on_worker_stop(int sig)
{
	(void)sig;
	worker_stop = 1;
	FCGX_ShutdownPending();
}

static void on_sigchld(int sig)
{
	(void)sig; /* only so that SIGCHLD is delivered to sigtimedwait */
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Opens the store, trying again every pause milliseconds, at most attempts times: an
 * open fails for a moment while another process runs failchk or recovery on the same
 * environment. *out is NULL on failure, which is logged. */
static cv_err open_store_patiently(const char *dir, unsigned flags, int attempts, long pause,
                                   cv_store **out)
{
	cv_err e = CV_E_STORE;

	*out = NULL;
	for (int i = 0; i < attempts && e != CV_OK; i++)
		if ((e = cv_store_open(dir, flags, out)) != CV_OK) {
			*out = NULL;
			sleep_ms(pause);
		}
	if (e != CV_OK)
		cv_log("cannot open the store in %s: %s", dir, cv_err_message(e));
	return e;
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (long)((b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000);
}

static long long mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

/* Every CHECKPOINT_EVERY seconds one worker (whichever claims the turn first)
 * checkpoints and removes log files no longer needed. */
static void maybe_checkpoint(struct service *sv, cv_store *store)
{
	long long now = mono_s(), last = atomic_load(&sv->board->last_checkpoint);
	cv_err e;

	if (now - last < CHECKPOINT_EVERY ||
	    !atomic_compare_exchange_strong(&sv->board->last_checkpoint, &last, now))
		return;
	if ((e = cv_store_checkpoint(store)) != CV_OK)
		cv_log("checkpoint: %s", cv_err_message(e));
}

/* Accepts one connection from the front end, with deadlines on it: a read that gets
 * no byte for READ_TIMEOUT_S, or a write that moves none for SEND_TIMEOUT_S, fails
 * instead of pinning the worker (a client that connects to the socket and sends one
 * byte, a front end that stopped reading). Returns the descriptor, or -1 with errno
 * (EINTR when a signal came). */
static int accept_connection(int listen_fd)
{
	struct timeval rcv = {READ_TIMEOUT_S, 0}, snd = {SEND_TIMEOUT_S, 0};
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd) != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* A worker: its own store handle (Berkeley DB handles must not cross fork), then
 * accept and dispatch until told to stop. The board tells the master whether it is
 * inside a request (and so possibly inside the store) and whether its store is open:
 * the master decides from that what a death of this worker needs. Never returns. */
static void worker_main(struct service *sv, int slot)
{
	struct sigaction sa = {0};
	sigset_t none;
	FCGX_Request req;
	cv_store *store = NULL;
	struct timespec t0, t1;
	int status = 0;
	cv_err e;

	sa.sa_handler = on_worker_stop; /* no SA_RESTART: accept() must return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* a worker whose master is gone stops too (after its request) */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != sv->master)
		_exit(1);
	my_phase = &sv->board->phase[slot];
	my_phase_since = &sv->board->phase_since[slot];
	audit_generation = &sv->board->audit_generation;
	audit_held = atomic_load(audit_generation);

	/* Another process may be running failchk or recovery: wait for the store rather
	 * than answering the first requests 503; a store that will not open is the
	 * master's to recover. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (open_store_patiently(sv->data_dir, 0, 100, 20, &store) != CV_OK)
		_exit(EXIT_RECOVER);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ms_between(&t0, &t1) >= SLOW_OPEN_MS)
		cv_log("worker opened the store in %ld ms", ms_between(&t0, &t1));
	atomic_store(&sv->board->ready[slot], 1);
	/* libfcgi's own accept would read the request with no time limit; it gets no
	 * listen socket (-1), and each connection comes from accept_connection instead */
	if (FCGX_InitRequest(&req, -1, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		cv_log("cannot set up a FastCGI request");
		_exit(1);
	}
	while (!worker_stop) {
		int fd = accept_connection(sv->listen_fd);

		if (fd < 0) {
			if (worker_stop || errno == EINTR || errno == ECONNABORTED)
				continue;
			cv_log("accept failed: %s", strerror(errno));
			status = 1;
			break;
		}
		set_phase(PHASE_READING);
		/* a connection already open: FCGX_Accept_r reads the request from it, and
		 * keepConnection stops it from closing it before it starts */
		req.ipcFd = fd;
		req.keepConnection = 1;
		/* and a connection dropped for want of a whole request is closed at once,
		 * not drained for seconds more (libfcgi's close of an attached one) */
		req.detached = 1;
		if (FCGX_Accept_r(&req) < 0) {
			/* the request did not arrive whole in time (or did not parse); libfcgi
			 * has closed the connection */
			if (req.ipcFd >= 0)
				close(req.ipcFd);
			req.ipcFd = -1;
			cv_log("a request did not arrive whole in time; connection dropped");
			set_phase(PHASE_IDLE);
			continue;
		}
		/* an answered request is drained before its close: closing with unread input
		 * would reset the connection, and the front end could lose the answer */
		req.detached = 0;
		e = cv_service_dispatch(sv->p, sv->max_body, store, req.in, req.out, req.envp);
		set_phase(PHASE_WRITING); /* the rest of the answer leaves here */
		FCGX_Finish_r(&req);
		if (req.ipcFd >= 0) {
			/* one request per connection (a kept connection would pin a worker) */
			close(req.ipcFd);
			req.ipcFd = -1;
		}
		if (e != CV_E_RECOVER) {
			set_phase(PHASE_STORE);
			maybe_checkpoint(sv, store);
		}
		set_phase(PHASE_IDLE);
		if (e == CV_E_RECOVER) {
			/* DB_RUNRECOVERY: this handle is useless; the master recovers */
			cv_log("store needs recovery; worker exits");
			_exit(EXIT_RECOVER);
		}
	}
	FCGX_Free(&req, 1);
	atomic_store(&sv->board->ready[slot], 0); /* inside the store again */
	cv_store_close(store);
	_exit(status);
}

static void spawn(struct service *sv, int slot)
{
	pid_t pid;

	atomic_store(&sv->board->ready[slot], 0);
	atomic_store(&sv->board->phase[slot], PHASE_IDLE);
	atomic_store(&sv->board->phase_since[slot], 0);
	pid = fork();
	if (pid < 0) {
		cv_log("fork failed: %s", strerror(errno));
		sv->restart_at[slot] = time(NULL) + 1;
		return;
	}
	if (pid == 0)
		worker_main(sv, slot);
	sv->pids[slot] = pid;
	sv->started[slot] = time(NULL);
	sv->restart_at[slot] = 0;
}

/* SIGTERM to every worker, SIGKILL to those still running after grace_ms. */
static void stop_workers(struct service *sv, long grace_ms)
{
	int alive = 0;

	for (int i = 0; i < sv->n_workers; i++)
		if (sv->pids[i] > 0 && kill(sv->pids[i], SIGTERM) == 0)
			alive++;
	for (long waited = 0; alive > 0; waited += 10) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);

		if (pid > 0) {
			for (int i = 0; i < sv->n_workers; i++)
				if (sv->pids[i] == pid) {
					sv->pids[i] = 0;
					alive--;
				}
			continue;
		}
		if (pid < 0 && errno == ECHILD)
			break;
		if (waited >= grace_ms) {
			for (int i = 0; i < sv->n_workers; i++)
				if (sv->pids[i] > 0) {
					cv_log("worker %d did not stop; killing it",
					       (int)sv->pids[i]);
					kill(sv->pids[i], SIGKILL);
					waitpid(sv->pids[i], &st, 0);
					sv->pids[i] = 0;
				}
			break;
		}
		sleep_ms(10);
	}
}

/* Kills a worker that has not opened the store READY_LIMIT seconds after it started,
 * or has spent BUSY_LIMIT seconds in one store operation: it is blocked, most likely
 * on what a killed process held, and its death there starts a recovery (reap). A
 * worker that has spent READ_LIMIT seconds reading one request or WRITE_LIMIT seconds
 * writing one answer is waiting on its peer, not on the store: it is killed and
 * replaced, and nothing else stops. */
static void watchdog(struct service *sv)
{
	long long now = mono_s();

	for (int i = 0; i < sv->n_workers; i++) {
		int phase = atomic_load(&sv->board->phase[i]);
		long long for_s = now - atomic_load(&sv->board->phase_since[i]);
		const char *why = NULL;

		if (sv->pids[i] <= 0)
			continue;
		if (!atomic_load(&sv->board->ready[i]) && time(NULL) - sv->started[i] > READY_LIMIT)
			why = "opening the store";
		else if (phase == PHASE_STORE && for_s > BUSY_LIMIT)
			why = "inside the store";
		else if (phase == PHASE_READING && for_s > READ_LIMIT)
			why = "reading a request";
		else if (phase == PHASE_WRITING && for_s > WRITE_LIMIT)
			why = "writing an answer";
		if (why == NULL)
			continue;
		cv_log("worker %d is stuck (%s for %lld s); killing it", (int)sv->pids[i], why,
		       for_s);
		kill(sv->pids[i], SIGKILL);
	}
}

/* Recovery of every program together. Berkeley DB's POSIX mutexes do not survive a
 * process killed while it held one or waited on one (a condition variable with a dead
 * waiter can hang the next signal, and failchk with it); only recovery with every
 * process out of the environment is sure to mend that. So when a worker dies inside a
 * request, or cannot open the store, the programs recover together through the data
 * directory: the master that saw it writes recovery.request; every master that sees the
 * request stops its workers (a short grace, then SIGKILL), which lets go of their
 * handles' shared recovery.lock (lib/store.c); the first master to get that lock
 * exclusively recovers in a child and removes the request; then all start their
 * workers again. Masters look every TICK_MS, so this takes a fraction of a second. */
#define RECOVERY_WAIT_S   60
#define RECOVERY_RETRY_MS 500

static void recovery_request_path(const struct service *sv, char *path, size_t len)
{
	snprintf(path, len, "%s/recovery.request", sv->data_dir);
}

static bool recovery_requested(const struct service *sv)
{
	char path[4096];

	recovery_request_path(sv, path, sizeof path);
	return access(path, F_OK) == 0;
}

static void recover_together(struct service *sv)
{
	char path[4096];
	long long until = mono_s() + RECOVERY_WAIT_S;
	struct timespec t0, t1, t2;
	long stopped_ms;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	recovery_request_path(sv, path, sizeof path);
	if (sv->must_recover && (fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	sv->must_recover = false;
	stop_workers(sv, RECOVER_GRACE_MS);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	stopped_ms = ms_between(&t0, &t1);
	while (recovery_requested(sv) && mono_s() < until) {
		int lock = cv_store_lock_exclusive(sv->data_dir);

		if (lock >= 0) {
			/* nobody has the environment open */
			pid_t pid = fork();
			int st = 0;
			bool done;

			if (pid == 0)
				_exit(cv_store_recover(sv->data_dir) == CV_OK ? 0 : 1);
			done = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
			       WEXITSTATUS(st) == 0;
			clock_gettime(CLOCK_MONOTONIC, &t2);
			cv_log("recovery of the store %s in %ld ms (workers stopped in %ld ms, "
			       "recovery itself %ld ms)",
			       done ? "done" : "failed", ms_between(&t0, &t2), stopped_ms,
			       ms_between(&t1, &t2));
			if (done)
				unlink(path);
			close(lock);
			if (done)
				break;
			sleep_ms(
			    RECOVERY_RETRY_MS); /* a failed recovery is not retried in a spin */
		}
		sleep_ms(5);
	}
	for (int i = 0; i < sv->n_workers; i++)
		spawn(sv, i);
}

/* Reaps dead workers. One that died outside the store (waiting in accept, reading a
 * request or writing an answer, its store open) held nothing of the store's but its
 * registration, which the replacement's open releases (DB_REGISTER with DB_FAILCHK):
 * it is simply replaced. One that died inside a store operation or while opening the
 * store, or saw DB_RUNRECOVERY, may have left a Berkeley DB mutex that nothing but
 * recovery releases: sets must_recover. */
static void reap(struct service *sv)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		int slot = -1;
		time_t now = time(NULL);
		bool in_store;
		int phase;

		for (int i = 0; i < sv->n_workers; i++)
			if (sv->pids[i] == pid)
				slot = i;
		if (slot < 0)
			continue;
		sv->pids[slot] = 0;
		phase = atomic_load(&sv->board->phase[slot]);
		in_store = !atomic_load(&sv->board->ready[slot]) || phase == PHASE_STORE;
		/* a worker that fails at once would otherwise restart in a tight loop; one
		 * killed from outside (SIGKILL) did not fail by itself and is replaced at
		 * once, so that the program answers again within a second */
		sv->restart_at[slot] =
		    !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) && now - sv->started[slot] < 1
		        ? now + 1
		        : 0;
		if (WIFSIGNALED(st)) {
			cv_log("worker %d died %s (signal %d)", (int)pid,
			       in_store                 ? "inside the store"
			       : phase == PHASE_READING ? "reading a request"
			       : phase == PHASE_WRITING ? "writing an answer"
			                                : "idle",
			       WTERMSIG(st));
			if (in_store)
				sv->must_recover = true;
		} else if (WEXITSTATUS(st) == EXIT_RECOVER) {
			cv_log("worker %d found the store in need of recovery", (int)pid);
			sv->must_recover = true;
		} else if (WEXITSTATUS(st) != 0) {
			cv_log("worker %d exited (status %d), restarted", (int)pid,
			       WEXITSTATUS(st));
		}
	}
}

/* Creates the environment if it is missing, in a child process: the master itself
 * never holds a store handle (DB_REGISTER allows one per process, and a handle in the
 * master could only hang it when a killed worker leaves the environment wedged). */
static int prepare_store(const char *dir)
{
	int st;
	pid_t pid = fork();

	if (pid < 0) {
		cv_log("fork failed: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		cv_store *s;
		/* the other programs start at the same moment and open it too */
		cv_err e = open_store_patiently(dir, CV_STORE_CREATE, 50, 100, &s);

		cv_store_close(s);
		_exit(e == CV_OK ? 0 : 1);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
	        "usage: chainvote-%s.fcgi (--socket PATH | --port N) --data DIR "
	        "[--workers N] [--max-body BYTES]\n",
	        prog_name);
	return 2;
}

static int parse_args(struct service *sv, int argc, char **argv, const char **port)
{
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;

		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0 || val == NULL)
			return -1;
		i++;
		if (strcmp(opt, "--socket") == 0) {
			sv->socket_path = val;
		} else if (strcmp(opt, "--port") == 0) {
			if (cv_parse_u64(val, 1, 65535, &n) != CV_OK)
				return -1;
			*port = val;
		} else if (strcmp(opt, "--data") == 0) {
			sv->data_dir = val;
		} else if (strcmp(opt, "--workers") == 0) {
			if (cv_parse_u64(val, 1, MAX_WORKERS, &n) != CV_OK)
				return -1;
			sv->n_workers = (int)n;
		} else if (strcmp(opt, "--max-body") == 0) {
			if (cv_parse_u64(val, 1, MAX_BODY_LIMIT, &n) != CV_OK)
				return -1;
			sv->max_body = (size_t)n;
		} else {
			return -1;
		}
	}
	if (sv->data_dir == NULL || (sv->socket_path == NULL) == (*port == NULL))
		return -1;
	return 0;
}

static int open_listener(struct service *sv, const char *port)
{
	char addr[32];
	struct stat st;

	if (port != NULL) {
		snprintf(addr, sizeof addr, "127.0.0.1:%s", port);
		sv->listen_fd = FCGX_OpenSocket(addr, LISTEN_BACKLOG);
		return sv->listen_fd < 0 ? -1 : 0;
	}
	if (strchr(sv->socket_path, ':') != NULL) {
		cv_log("a socket path must not contain ':' (it would be read as host:port)");
		return -1;
	}
	/* a socket left by an earlier run would make bind fail */
	if (lstat(sv->socket_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(sv->socket_path);
	sv->listen_fd = FCGX_OpenSocket(sv->socket_path, LISTEN_BACKLOG);
	if (sv->listen_fd < 0)
		return -1;
	if (chmod(sv->socket_path, 0660) != 0) {
		cv_log("chmod %s: %s", sv->socket_path, strerror(errno));
		return -1;
	}
	return 0;
}

int cv_service_main(int argc, char **argv, const cv_program *p)
{
	struct service sv = {0};
	const char *port = NULL;
	struct sigaction sa = {0};
	sigset_t set;
	int status = 0;
	cv_err e;

	prog_name = p->name;
	sv.p = p;
	sv.master = getpid();
	sv.n_workers = CV_DEFAULT_WORKERS;
	sv.max_body = p->max_body ? p->max_body : CV_DEFAULT_MAX_BODY;
	if (parse_args(&sv, argc, argv, &port) != 0)
		return usage();
	if (FCGX_Init() != 0) {
		cv_log("cannot initialise the FastCGI library");
		return 1;
	}
	if (open_listener(&sv, port) != 0) {
		cv_log("cannot listen on %s: %s", port ? port : sv.socket_path, strerror(errno));
		return 1;
	}
	audit_dir = sv.data_dir;
	if (p->audit && (audit_fd = cv_audit_open(sv.data_dir)) < 0) {
		cv_log("cannot open the audit log in %s: %s", sv.data_dir, strerror(errno));
		status = 1;
		goto out;
	}
	if (prepare_store(sv.data_dir) != 0) {
		status = 1;
		goto out;
	}
	if (p->start != NULL && (e = p->start(sv.data_dir)) != CV_OK) {
		cv_log("start-up in %s failed: %s", sv.data_dir, cv_err_message(e));
		status = 1;
		goto out;
	}
	sv.board =
	    mmap(NULL, sizeof *sv.board, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sv.board == MAP_FAILED) {
		cv_log("cannot map the workers' board: %s", strerror(errno));
		sv.board = NULL;
		status = 1;
		goto out;
	}
	atomic_store(&sv.board->last_checkpoint, mono_s());

	/* The master waits for its signals synchronously; workers unblock them. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sa.sa_handler = on_sigchld;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	cv_log("listening on %s%s with %d workers", port ? "127.0.0.1:" : "",
	       port ? port : sv.socket_path, sv.n_workers);
	for (int i = 0; i < sv.n_workers; i++)
		spawn(&sv, i);
	for (;;) {
		struct timespec tick = {0, TICK_MS * 1000000L};
		int sig = sigtimedwait(&set, NULL, &tick);
		time_t now;

		if (sig == SIGTERM || sig == SIGINT) {
			cv_log("stopping on signal %d", sig);
			break;
		}
		if (sig == SIGHUP) {
			/* log rotation: new workers inherit the new file, running ones see
			 * the count move and open it before their next line */
			audit_reopen();
			atomic_fetch_add(&sv.board->audit_generation, 1);
			if (p->audit)
				cv_log("audit log opened again");
		}
		reap(&sv);
		watchdog(&sv);
		if (sv.must_recover || recovery_requested(&sv))
			recover_together(&sv);
		now = time(NULL);
		for (int i = 0; i < sv.n_workers; i++)
			if (sv.pids[i] == 0 && now >= sv.restart_at[i])
				spawn(&sv, i);
	}
	stop_workers(&sv, STOP_GRACE_MS);
out:
	if (sv.board != NULL)
		munmap(sv.board, sizeof *sv.board);
	if (sv.listen_fd >= 0)
		close(sv.listen_fd);
	if (sv.socket_path != NULL)
		unlink(sv.socket_path);
	return status;
}
