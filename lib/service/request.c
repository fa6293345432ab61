/* The request pipeline every worker runs (the process supervisor that runs the workers
 * is supervisor.c): method -> route -> admin check -> content type and body -> store ->
 * handler, the answers and their caching headers, and the audit log. */
#include "service_impl.h"

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
#include <zlib.h>

#include "json.h"

#define MAX_PATH_LEN 2048
#define WRITE_CHUNK  (1 << 20)

static const char *prog_name = "service";

/* This worker's slots on the master's board; NULL outside a worker (unit tests). */
static _Atomic int *my_phase;
static _Atomic long long *my_phase_since;

/* The audit log the workers inherit from the master (-1: none), its directory, and
 * which opening of it this process holds: the master counts its SIGHUPs on the board
 * (audit_generation), and a worker that sees a newer count opens the file again
 * before its next line. */
static int audit_fd = -1;
static const char *audit_dir;
static unsigned audit_held;
static _Atomic unsigned *audit_generation;

long long cv_sv_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

void cv_sv_set_name(const char *name)
{
	prog_name = name;
}

void cv_sv_worker_attach(_Atomic int *phase, _Atomic long long *phase_since,
                         _Atomic unsigned *generation)
{
	my_phase = phase;
	my_phase_since = phase_since;
	cv_sv_audit_follow(generation);
}

/* The time is stored first: a master that reads the new phase then reads its time
 * too. */
int cv_sv_set_phase(int phase)
{
	int was = CV_SV_IDLE;

	if (my_phase != NULL) {
		was = atomic_load(my_phase);
		atomic_store(my_phase_since, cv_sv_mono_s());
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
    {401, "Unauthorized"},
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
	int was = cv_sv_set_phase(CV_SV_WRITING), rc = 0;

	while (n > 0) {
		int chunk = n > WRITE_CHUNK ? WRITE_CHUNK : (int)n;

		if (FCGX_PutStr(p, chunk, out) != chunk) {
			rc = -1;
			break;
		}
		p += chunk;
		n -= (size_t)chunk;
	}
	cv_sv_set_phase(was);
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
		/* the gzip form: a weak tag, and its encoding (a 304 has no body to encode) */
		n = snprintf(validators, sizeof validators, "ETag: %s\"%s\"\r\n%s%s",
		             c->gzip ? "W/" : "", c->etag,
		             c->gzip && status != 304 ? "Content-Encoding: gzip\r\n" : "",
		             c->encodings ? "Vary: Accept-Encoding\r\n" : "");
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

/* ---- gzip (RFC 1952), for answers that have that form (cv_cache.gzip) ---- */

#define GZIP_LEVEL_ONCE   Z_DEFAULT_COMPRESSION /* a block: compressed once, kept */
#define GZIP_LEVEL_STREAM Z_BEST_SPEED          /* an export: compressed at each new tip */

struct cv_gzip_out {
	z_stream z;
	int (*sink)(void *ctx, const uint8_t *p, size_t n); /* 0, or -1: stop */
	void *ctx;
};

static cv_err gzip_start(cv_gzip_out *g, int level,
                         int (*sink)(void *ctx, const uint8_t *p, size_t n), void *ctx)
{
	memset(g, 0, sizeof(*g));
	g->sink = sink;
	g->ctx = ctx;
	/* 15 + 16: the largest window, with the gzip header and trailer */
	return deflateInit2(&g->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK
	           ? CV_OK
	           : CV_E_NOMEM;
}

/* Compresses n bytes of p into the sink (Z_FINISH: and ends the member). 0 or -1. */
static int gzip_put(cv_gzip_out *g, const void *p, size_t n, int flush)
{
	uint8_t chunk[65536];
	const uint8_t *in = p;

	do {
		uInt take = n > UINT_MAX ? UINT_MAX : (uInt)n;
		int zr;

		g->z.next_in = (Bytef *)in;
		g->z.avail_in = take;
		in += take;
		n -= take;
		do {
			g->z.next_out = chunk;
			g->z.avail_out = sizeof chunk;
			zr = deflate(&g->z, n > 0 ? Z_NO_FLUSH : flush);
			if (zr == Z_STREAM_ERROR ||
			    g->sink(g->ctx, chunk, sizeof chunk - g->z.avail_out) != 0)
				return -1;
		} while (g->z.avail_out == 0 ||
		         (n == 0 && flush == Z_FINISH && zr != Z_STREAM_END));
	} while (n > 0);
	return 0;
}

static int sink_buf(void *ctx, const uint8_t *p, size_t n)
{
	return cv_buf_put(ctx, p, n) == CV_OK ? 0 : -1;
}

static int sink_reply(void *ctx, const uint8_t *p, size_t n)
{
	cv_req *r = ctx;

	return put_all(r->out, (const char *)p, n);
}

/* text (len bytes) and a newline compressed into *out as one gzip member. */
static cv_err gzip_text(const char *text, size_t len, cv_buf *out)
{
	cv_gzip_out g;
	cv_err e = gzip_start(&g, GZIP_LEVEL_ONCE, sink_buf, out);

	if (e != CV_OK)
		return e;
	if (gzip_put(&g, text, len, Z_NO_FLUSH) != 0 || gzip_put(&g, "\n", 1, Z_FINISH) != 0)
		e = CV_E_NOMEM; /* the buffer could not grow */
	deflateEnd(&g.z);
	return e;
}

static cv_err reply_json_extra(cv_req *r, int status, json_object *o, const cv_cache *c,
                               const char *extra)
{
	const char *text;
	cv_buf packed = {0};
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
	if (text == NULL ||
	    (c != NULL && c->gzip && gzip_text(text, strlen(text), &packed) != CV_OK)) {
		json_object_put(o);
		cv_buf_free(&packed);
		return write_head(r, 500, NULL, extra);
	}
	e = write_head(r, status, c, extra);
	if (e == CV_OK && c != NULL && c->gzip) {
		if (put_all(r->out, (const char *)packed.data, packed.len) != 0)
			e = CV_E_IO;
	} else if (e == CV_OK &&
	           (put_all(r->out, text, strlen(text)) != 0 || put_all(r->out, "\n", 1) != 0)) {
		e = CV_E_IO;
	}
	json_object_put(o);
	cv_buf_free(&packed);
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

/* Header lines a handler adds: each ends in CRLF and holds no other CR or LF. */
static bool headers_ok(const char *h)
{
	for (const char *p = h; *p != '\0'; p++)
		if ((*p == '\r' && p[1] != '\n') || (*p == '\n' && (p == h || p[-1] != '\r')))
			return false;
	return h[0] == '\0' || (strlen(h) >= 2 && strcmp(h + strlen(h) - 2, "\r\n") == 0);
}

cv_err cv_reply_json_headers(cv_req *r, int status, json_object *o, const char *headers)
{
	if (!headers_ok(headers)) {
		json_object_put(o);
		return CV_E_INTERNAL;
	}
	return reply_json_extra(r, status, o, NULL, headers);
}

cv_err cv_reply_empty(cv_req *r, int status, const char *headers)
{
	if (!headers_ok(headers))
		return CV_E_INTERNAL;
	return write_head(r, status, NULL, headers);
}

cv_err cv_reply_error(cv_req *r, cv_err e, const char *message)
{
	return cv_reply_json(r, cv_err_http_status(e), cv_error_json(e, message));
}

json_object *cv_status_error_json(const char *code, const char *message)
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
	return cv_reply_json(r, status, cv_status_error_json(code, message));
}

cv_err cv_reply_begin(cv_req *r, int status)
{
	return write_head(r, status, NULL, "");
}

cv_err cv_reply_begin_cached(cv_req *r, int status, const cv_cache *c)
{
	if (c->gzip)
		return CV_E_INTERNAL; /* cv_reply_begin_gzip */
	return write_head(r, status, c, "");
}

cv_err cv_reply_begin_gzip(cv_req *r, int status, const cv_cache *c, cv_gzip_out **gz)
{
	cv_gzip_out *g;
	cv_err e;

	*gz = NULL;
	if (!c->gzip)
		return CV_E_INTERNAL;
	if ((g = malloc(sizeof(*g))) == NULL)
		return CV_E_NOMEM;
	if ((e = gzip_start(g, GZIP_LEVEL_STREAM, sink_reply, r)) != CV_OK) {
		free(g);
		return e;
	}
	if ((e = write_head(r, status, c, "")) != CV_OK) {
		cv_reply_gzip_end(g, false);
		return e;
	}
	*gz = g;
	return CV_OK;
}

int cv_reply_gzip_write(void *gz, const char *p, size_t n)
{
	return gzip_put(gz, p, n, Z_NO_FLUSH);
}

int cv_reply_gzip_end(cv_gzip_out *gz, bool whole)
{
	int rc = 0;

	if (gz == NULL)
		return 0;
	if (whole)
		rc = gzip_put(gz, "", 0, Z_FINISH);
	deflateEnd(&gz->z);
	free(gz);
	return rc;
}

cv_err cv_reply_redirect_internal(cv_req *r, const char *uri, const cv_cache *c)
{
	char extra[160];
	int n;

	if (uri[0] != '/' || strspn(uri, "0123456789abcdefghijklmnopqrstuvwxyz/_-") != strlen(uri))
		return CV_E_INTERNAL;
	n = snprintf(extra, sizeof extra, "X-Accel-Redirect: %s\r\n", uri);
	if (n < 0 || (size_t)n >= sizeof extra)
		return CV_E_INTERNAL;
	return write_head(r, 200, c, extra);
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

bool cv_req_wants_gzip(cv_req *r)
{
	const char *v = cv_req_param(r, "CV_GZIP");

	return v != NULL && strcmp(v, "gzip") == 0;
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

bool cv_cookie_value(const char *header, const char *name, char *out, size_t n)
{
	size_t name_len = strlen(name);
	const char *p = header;

	while (p != NULL && *p != '\0') {
		const char *end;
		size_t len;

		while (*p == ' ' || *p == '\t')
			p++;
		end = strchr(p, ';');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
			size_t vlen = len - name_len - 1;

			while (vlen > 0 && (p[name_len + 1 + vlen - 1] == ' '))
				vlen--;
			if (vlen == 0 || vlen >= n)
				return false;
			memcpy(out, p + name_len + 1, vlen);
			out[vlen] = '\0';
			return true;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

const char *cv_req_param(const cv_req *r, const char *name)
{
	return FCGX_GetParam(name, r->envp);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

cv_err cv_query_text(const char *query, const char *name, char *out, size_t cap, bool *found)
{
	size_t name_len = strlen(name);
	const char *p = query ? query : "";

	*found = false;
	out[0] = '\0';
	while (*p != '\0') {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p), n = 0;

		if (len < name_len + 1 || strncmp(p, name, name_len) != 0 || p[name_len] != '=') {
			if (len == name_len && strncmp(p, name, name_len) == 0) {
				*found = true; /* "name" with no value */
				return CV_E_MALFORMED;
			}
			p += len;
			if (*p == '&')
				p++;
			continue;
		}
		*found = true;
		for (size_t i = name_len + 1; i < len; i++) {
			char c = p[i];

			if (c == '%') {
				int hi = i + 2 < len ? hex_digit(p[i + 1]) : -1;
				int lo = hi >= 0 ? hex_digit(p[i + 2]) : -1;

				if (lo < 0)
					return CV_E_MALFORMED;
				c = (char)(hi * 16 + lo);
				i += 2;
			}
			if (c == '\0' || n + 1 >= cap)
				return CV_E_MALFORMED;
			out[n++] = c;
		}
		out[n] = '\0';
		return CV_OK;
	}
	return CV_OK;
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

void cv_sv_audit_follow(_Atomic unsigned *generation)
{
	audit_generation = generation;
	audit_held = atomic_load(generation);
}

int cv_sv_audit_start(const char *data_dir, bool audit)
{
	audit_dir = data_dir;
	if (audit && (audit_fd = cv_audit_open(data_dir)) < 0)
		return -1;
	return 0;
}

/* Opens dir/audit.log again in place of audit_fd (same descriptor number), so that
 * lines go to the new file after a rotation renamed the old one. */
void cv_sv_audit_reopen(void)
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

	if ((user == NULL || user[0] == '\0') && r->audit_user != NULL)
		user = r->audit_user;
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
	if (r->election[0] != '\0')
		json_object_object_add(o, "election", json_object_new_string(r->election));
	json_object_object_add(o, "status", json_object_new_int(r->status));
	json_object_object_add(o, "code", json_object_new_string(cv_err_code(e)));
	/* the eligibility entry an admin action changed (never its code) */
	if (r->audit_voter_id != NULL)
		json_object_object_add(o, "voter_id", json_object_new_string(r->audit_voter_id));
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

void cv_sv_audit_request(const cv_program *p, const cv_req *r, cv_err e)
{
	unsigned now_gen;

	if (!p->audit || r->method == NULL || strcmp(r->method, "GET") == 0 || !r->answered ||
	    !cv_audit_wanted(r->status, e,
	                     r->audit_user ? r->audit_user : cv_req_param(r, "REMOTE_USER")))
		return;
	now_gen = audit_generation ? atomic_load(audit_generation) : 0;
	if (now_gen != audit_held) {
		cv_sv_audit_reopen();
		audit_held = now_gen;
	}
	cv_audit(audit_fd, p->name, r, e);
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
