/* JSON-over-HTTP requests with libcurl for the miner and the client commands. Replies
 * are untrusted: bodies are capped, parsed strictly, and error texts are cleaned of
 * control characters before anyone prints them. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "bytes.h"
#include "http.h"
#include "json.h"
#include "store.h"

struct cv_http {
	CURL *curl;
	char *base;                              /* without trailing slashes */
	char *cacert;                            /* CA file for HTTPS; NULL: the system's */
	const volatile sig_atomic_t *cancel;     /* borrowed; may be NULL */
	char election[CV_ELECTION_SLUG_MAX + 1]; /* "" for the default election */
	long timeout_ms;                         /* whole request; 0: the default */
};

/* What the write callback accumulates for one request. */
typedef struct sink {
	cv_buf buf;
	int too_large;
} sink;

cv_err cv_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? CV_OK : CV_E_INTERNAL;
}

void cv_http_global_cleanup(void)
{
	curl_global_cleanup();
}

cv_err cv_http_set_election(cv_http *h, const char *slug)
{
	if (!cv_election_slug_ok(slug))
		return CV_E_MALFORMED;
	snprintf(h->election, sizeof h->election, "%s", slug);
	return CV_OK;
}

cv_err cv_http_open(const char *base_url, cv_http **out)
{
	cv_http *h = NULL;
	size_t len, scheme_len;

	*out = NULL;
	if (strncmp(base_url, "http://", 7) == 0)
		scheme_len = 7;
	else if (strncmp(base_url, "https://", 8) == 0)
		scheme_len = 8;
	else
		return CV_E_MALFORMED;
	len = strlen(base_url);
	while (len > 0 && base_url[len - 1] == '/')
		len--;
	if (len <= scheme_len)
		return CV_E_MALFORMED; /* no host at all */
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return CV_E_NOMEM;
	h->base = strndup(base_url, len);
	if (h->base == NULL) {
		free(h);
		return CV_E_NOMEM;
	}
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		cv_http_close(h);
		return CV_E_INTERNAL;
	}
	*out = h;
	return CV_OK;
}

void cv_http_close(cv_http *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	free(h->base);
	free(h->cacert);
	free(h);
}

cv_err cv_http_set_cacert(cv_http *h, const char *file)
{
	FILE *f;
	char *copy;

	/* refused here, with the file's name, rather than as a TLS failure at the first
	 * request */
	f = fopen(file, "r");
	if (f == NULL)
		return errno == ENOMEM ? CV_E_NOMEM : CV_E_IO;
	fclose(f);
	copy = strdup(file);
	if (copy == NULL)
		return CV_E_NOMEM;
	free(h->cacert);
	h->cacert = copy;
	return CV_OK;
}

void cv_http_set_cancel(cv_http *h, const volatile sig_atomic_t *cancel)
{
	h->cancel = cancel;
}

void cv_http_set_timeout(cv_http *h, long ms)
{
	h->timeout_ms = ms;
}

void cv_http_reply_free(cv_http_reply *r)
{
	if (r == NULL)
		return;
	if (r->body != NULL)
		json_object_put(r->body);
	memset(r, 0, sizeof(*r));
}

/* Copies s into out[size], replacing control bytes so a hostile service cannot send
 * terminal escape sequences through an error message. */
static void copy_clean(char *out, size_t size, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < size && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[i] = '\0';
}

static void set_error(cv_http_reply *r, const char *code, const char *message)
{
	copy_clean(r->code, sizeof(r->code), code);
	copy_clean(r->message, sizeof(r->message), message);
}

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
	sink *s = ctx;
	size_t len = size * n;

	if (len > CV_HTTP_MAX_BODY - s->buf.len) {
		s->too_large = 1;
		return 0; /* libcurl aborts the transfer */
	}
	if (cv_buf_put(&s->buf, data, len) != CV_OK)
		return 0;
	return len;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	const cv_http *h = ctx;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return h->cancel != NULL && *h->cancel != 0;
}

/* Reads the error envelope {"error": {"code", "message"}} when the body holds one. */
static void read_envelope(cv_http_reply *r)
{
	json_object *error, *code, *message;
	char fallback[32];

	snprintf(fallback, sizeof(fallback), "http_%ld", r->status);
	set_error(r, fallback, "");
	if (r->body == NULL || !json_object_is_type(r->body, json_type_object) ||
	    !json_object_object_get_ex(r->body, "error", &error) ||
	    !json_object_is_type(error, json_type_object))
		return;
	if (json_object_object_get_ex(error, "code", &code) &&
	    json_object_is_type(code, json_type_string))
		copy_clean(r->code, sizeof(r->code), json_object_get_string(code));
	if (json_object_object_get_ex(error, "message", &message) &&
	    json_object_is_type(message, json_type_string))
		copy_clean(r->message, sizeof(r->message), json_object_get_string(message));
}

cv_err cv_http_request(cv_http *h, const char *method, const char *path, json_object *body,
                       cv_http_reply *r)
{
	sink s = {0};
	struct curl_slist *headers = NULL, *more;
	char *url = NULL;
	char curl_error[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	cv_err err = CV_OK;

	/* cv_http_reply_free takes NULL, a request's reply may not be */
	assert(h != NULL && r != NULL);
	cv_http_reply_free(r);
	if ((h->election[0] != '\0' && strncmp(path, "/api/", 5) == 0
	         ? asprintf(&url, "%s/api/e/%s/%s", h->base, h->election, path + 5)
	         : asprintf(&url, "%s%s", h->base, path)) < 0) {
		url = NULL;
		err = CV_E_NOMEM;
		set_error(r, "no_memory", "out of memory");
		goto out;
	}
	headers = curl_slist_append(NULL, "Accept: application/json");
	more = headers ? curl_slist_append(headers, "Content-Type: application/json") : NULL;
	if (more == NULL) {
		err = CV_E_NOMEM;
		set_error(r, "no_memory", "out of memory");
		goto out;
	}
	headers = more;

	/* reset keeps the live connection, so a miner polling every second reuses it */
	curl_easy_reset(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM timeouts */
	if (h->timeout_ms > 0) {
		curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
		curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	} else {
		curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 120L);
	}
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "chainvote/1");
	/* libcurl's defaults verify already; said here so that no later edit loses it */
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (h->cacert != NULL)
		curl_easy_setopt(h->curl, CURLOPT_CAINFO, h->cacert);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, curl_error);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
	if (strcmp(method, "POST") == 0) {
		const char *text =
		    body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : "";
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
		curl_easy_setopt(h->curl, CURLOPT_COPYPOSTFIELDS, text);
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
	} else {
		err = CV_E_INTERNAL;
		set_error(r, "internal", "unsupported HTTP method");
		goto out;
	}

	rc = curl_easy_perform(h->curl);
	if (s.too_large) {
		err = CV_E_TOO_LARGE;
		set_error(r, "too_large", "the service's reply is too large");
		goto out;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		err = CV_E_IO;
		set_error(r, "cancelled", "request cancelled");
		goto out;
	}
	if (s.buf.failed) {
		err = CV_E_NOMEM;
		set_error(r, "no_memory", "out of memory");
		goto out;
	}
	if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	    rc == CURLE_SSL_ISSUER_ERROR) {
		char message[sizeof(r->message)];

		snprintf(message, sizeof(message),
		         "the service's certificate is not trusted (%.120s); if it is from a "
		         "private CA, name that CA with --cacert FILE",
		         curl_error[0] ? curl_error : curl_easy_strerror(rc));
		err = CV_E_IO;
		set_error(r, "untrusted_certificate", message);
		goto out;
	}
	if (rc != CURLE_OK) {
		err = CV_E_IO;
		set_error(r, "transport", curl_error[0] ? curl_error : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status >= 300 && r->status < 400) {
		/* not followed: a client told http:// would otherwise send a signed vote or a
		 * key's approval wherever the answer points */
		char *to = NULL;
		char message[sizeof(r->message)];

		curl_easy_getinfo(h->curl, CURLINFO_REDIRECT_URL, &to);
		snprintf(message, sizeof(message),
		         "the service answers HTTP %ld, a redirect to %.100s; give that address "
		         "(https://...) as the URL",
		         r->status, to ? to : "another address");
		err = CV_E_MALFORMED;
		set_error(r, "redirected", message);
		goto out;
	}

	if (s.buf.len > 0 &&
	    cv_json_parse((const char *)s.buf.data, s.buf.len, &r->body) != CV_OK) {
		r->body = NULL;
		if (r->status < 400) {
			char message[96];

			snprintf(message, sizeof(message),
			         "the service's reply (HTTP %ld) is not JSON", r->status);
			err = CV_E_MALFORMED;
			set_error(r, "malformed_reply", message);
			goto out;
		}
	}
	if (r->status >= 400)
		read_envelope(r);
out:
	/* the handle must not keep pointers into this frame */
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	free(url);
	cv_buf_free(&s.buf);
	return err;
}
