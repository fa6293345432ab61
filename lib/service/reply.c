/* Answers: the status line and headers (with the caching validators of cv_cache), JSON
 * bodies whole or gzip-compressed, streamed answers, internal redirects, 304s. Every
 * write to the front end is the worker's CV_SV_WRITING phase. */
#include "service_impl.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "json.h"

#define WRITE_CHUNK (1 << 20)

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
