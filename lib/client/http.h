/* A small JSON-over-HTTP client (libcurl) for the miner and the CLI's client commands:
 * one request at a time per handle, bounded response sizes, and the service's error
 * envelope {"error": {"code", "message"}} decoded into the reply. */
#ifndef CV_HTTP_H
#define CV_HTTP_H

#include <signal.h>
#include <stddef.h>
#include <json-c/json.h>
#include "err.h"

/* Largest response body accepted; a longer one fails with CV_E_TOO_LARGE. */
#define CV_HTTP_MAX_BODY (64u * 1024 * 1024)

/* What one request brought back. Zero-initialise; cv_http_reply_free releases it. */
typedef struct cv_http_reply {
	long status;       /* HTTP status; 0 when no response arrived */
	json_object *body; /* owned; NULL when the body was empty or not JSON */
	char code[64];     /* error code: the envelope's, or a transport one */
	char message[256]; /* error message, human readable; "" when none */
} cv_http_reply;

/* An HTTP handle bound to a service base URL (e.g. "http://127.0.0.1:8080"). It keeps
 * its connection alive between requests. Not shared between threads. */
typedef struct cv_http cv_http;

/* Once per process before any thread starts (libcurl's global init). CV_E_INTERNAL. */
cv_err cv_http_global_init(void);
void cv_http_global_cleanup(void);

/* Opens a handle on base_url, which must start with http:// or https://; trailing
 * slashes are dropped. CV_E_MALFORMED for another URL, CV_E_NOMEM, CV_E_INTERNAL. */
cv_err cv_http_open(const char *base_url, cv_http **out);
/* No-op on NULL. */
void cv_http_close(cv_http *h);

/* HTTPS: the service's certificate is always verified (chain and host name, TLS 1.2 at
 * least), against the system's CAs or, once this is called, against the CA certificates
 * in file (PEM; a private CA, or a self-signed service certificate itself). The path is
 * copied. CV_E_IO when file cannot be read, CV_E_NOMEM. */
cv_err cv_http_set_cacert(cv_http *h, const char *file);

/* Another election than the default: every request's path /api/X goes to
 * /api/e/slug/X (the service's URL space of that election). The slug is copied.
 * CV_E_MALFORMED for a slug that breaks cv_election_slug_ok. */
cv_err cv_http_set_election(cv_http *h, const char *slug);

/* When *cancel becomes non-zero a request in progress is abandoned (CV_E_IO, code
 * "cancelled"). The flag is borrowed and must outlive the handle. NULL: never. */
void cv_http_set_cancel(cv_http *h, const volatile sig_atomic_t *cancel);

/* A bound on each request's whole time, connecting included, in milliseconds (a status
 * poll that must not wait on a peer); 0: the default (10 s to connect, 120 s in all). */
void cv_http_set_timeout(cv_http *h, long ms);

/* Sends method ("GET" or "POST") to base_url || path with body (borrowed; may be NULL,
 * else sent as application/json) and fills r, replacing what it held. Returns CV_OK when
 * a response arrived, whatever its status: r->body is then the parsed JSON (strict, as
 * cv_json_parse) or NULL for an empty body, and for a status >= 400 r->code and
 * r->message come from the error envelope ("http_<status>" when there is none, e.g. an
 * nginx page). CV_E_IO when no response arrived (r->code "transport", "cancelled", or
 * "untrusted_certificate" when the service's certificate did not verify),
 * CV_E_TOO_LARGE for a body over CV_HTTP_MAX_BODY, CV_E_MALFORMED for a 2xx body that
 * is not JSON or a redirect (r->code "redirected", e.g. http:// to a service that
 * speaks only HTTPS; redirects are never followed), CV_E_NOMEM. On every failure r->code and
 * r->message describe it. Error texts from the service are stripped of control characters so they
 * print safely. */
cv_err cv_http_request(cv_http *h, const char *method, const char *path, json_object *body,
                       cv_http_reply *r);

/* Releases r's body and clears it; no-op on a zeroed reply. */
void cv_http_reply_free(cv_http_reply *r);

#endif
