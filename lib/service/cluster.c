/* The service's side of a replication group: writes that reach a replica are sent on
 * to the master, and GET /api/cluster says what this node knows of the group.
 *
 * Writes that reach a replica. In a replication group only the master may write, and a
 * client knows one URL: a replica's program sends a write request on to the master's
 * front end (its URL from the node's configuration, learnt from the group's current
 * master) and relays the answer as it came, status, body and the headers a client
 * acts on. A forwarded request carries X-CV-Forwarded, and a node that gets one while
 * not master answers 503 not_master instead of forwarding again (no loops while an
 * election moves the master). */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "json.h"
#include "service_impl.h"

/* A write is answered within this; a master that does not answer is an outage the
 * client retries (503), not a hang. */
#define FWD_TIMEOUT_MS  15000L
#define FWD_CONNECT_MS  1000L
#define FWD_MAX_BODY    (4u * 1024 * 1024)
#define FWD_MAX_HEADERS 2048

struct answer {
	char *body;
	size_t len;
	bool too_large;
	char headers[FWD_MAX_HEADERS]; /* the relayed ones, each ending in \r\n */
	size_t headers_len;
	char content_type[128];
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;
	size_t bytes = size * n;
	char *grown;

	if (a->len + bytes > FWD_MAX_BODY) {
		a->too_large = true;
		return 0;
	}
	grown = realloc(a->body, a->len + bytes + 1);
	if (grown == NULL)
		return 0;
	a->body = grown;
	memcpy(a->body + a->len, p, bytes);
	a->len += bytes;
	a->body[a->len] = '\0';
	return bytes;
}

/* The answer's headers a client acts on; the rest (Date, Server, the security
 * headers) this node's nginx adds itself. */
static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	static const char *const relayed[] = {
	    "Set-Cookie:", "Location:", "ETag:", "Cache-Control:", "Retry-After:"};
	struct answer *a = ctx;
	size_t bytes = size * n;

	if (bytes > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
		snprintf(a->content_type, sizeof a->content_type, "%.*s",
		         (int)strcspn(p + 13, "\r\n"), p + 13);
		return bytes;
	}
	for (size_t i = 0; i < sizeof relayed / sizeof relayed[0]; i++) {
		size_t k = strlen(relayed[i]);

		if (bytes > k && strncasecmp(p, relayed[i], k) == 0 &&
		    a->headers_len + bytes < sizeof a->headers) {
			size_t line = strcspn(p, "\r\n");

			memcpy(a->headers + a->headers_len, p, line);
			a->headers_len += line;
			memcpy(a->headers + a->headers_len, "\r\n", 2);
			a->headers_len += 2;
			a->headers[a->headers_len] = '\0';
		}
	}
	return bytes;
}

static cv_err relay(cv_req *r, long status, struct answer *a)
{
	char head[FWD_MAX_HEADERS + 256];
	const char *ct = a->content_type;
	int n;

	while (*ct == ' ')
		ct++;
	if (*ct == '\0')
		ct = "application/json";
	n = snprintf(head, sizeof head, "Status: %ld\r\nContent-Type: %s\r\n%s\r\n", status, ct,
	             a->headers);
	if (n < 0 || (size_t)n >= sizeof head)
		return CV_E_INTERNAL;
	r->answered = true;
	r->status = (int)status;
	if (FCGX_PutStr(head, n, r->out) != n)
		return CV_E_IO;
	if (a->len > 0 && FCGX_PutStr(a->body, (int)a->len, r->out) != (int)a->len)
		return CV_E_IO;
	return CV_OK;
}

bool cv_sv_forwarded(cv_req *r)
{
	const char *f = cv_req_param(r, "HTTP_X_CV_FORWARDED");

	return f != NULL && f[0] != '\0';
}

cv_err cv_sv_forward_to_master(cv_req *r, const char *master_url)
{
	const char *uri = cv_req_param(r, "REQUEST_URI");
	const char *ct = cv_req_param(r, "CONTENT_TYPE");
	const char *cookie = cv_req_param(r, "HTTP_COOKIE");
	const char *addr = cv_req_param(r, "REMOTE_ADDR");
	struct answer a = {0};
	struct curl_slist *headers = NULL;
	char url[2048], line[4200];
	long status = 0;
	cv_err e = CV_E_NOT_MASTER;
	CURL *c;

	if (master_url[0] == '\0' || uri == NULL || cv_sv_forwarded(r) ||
	    snprintf(url, sizeof url, "%s%s", master_url, uri) >= (int)sizeof url) {
		r->message = "This node is a replica and no master is reachable now; try again.";
		return CV_E_NOT_MASTER;
	}
	c = curl_easy_init();
	if (c == NULL)
		return CV_E_NOMEM;
	headers = curl_slist_append(headers, "X-CV-Forwarded: 1");
	headers = curl_slist_append(headers, "Expect:");
	if (ct != NULL && snprintf(line, sizeof line, "Content-Type: %s", ct) < (int)sizeof line)
		headers = curl_slist_append(headers, line);
	if (cookie != NULL && snprintf(line, sizeof line, "Cookie: %s", cookie) < (int)sizeof line)
		headers = curl_slist_append(headers, line);
	if (addr != NULL &&
	    snprintf(line, sizeof line, "X-Forwarded-For: %s", addr) < (int)sizeof line)
		headers = curl_slist_append(headers, line);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (r->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)r->body_len);
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, FWD_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, FWD_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
	if (curl_easy_perform(c) == CURLE_OK &&
	    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status >= 200) {
		e = relay(r, status, &a);
	} else {
		/* the master went away mid-request: the write may or may not have been
		 * done, as with any 503 (a vote asked again is refused as already voted) */
		cv_log("forward to %s failed (%s)", master_url,
		       a.too_large ? "too large" : "no answer");
		r->message = "The master did not answer; try again.";
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	free(a.body);
	return e;
}

/* A site's log end as one number of bytes (log files are Berkeley DB's default 10 MB),
 * for lags: the master's minus the site's. */
#define LOG_FILE_BYTES (10ull * 1024 * 1024)

static unsigned long long lsn_bytes(uint32_t file, uint32_t offset)
{
	return (unsigned long long)file * LOG_FILE_BYTES + offset;
}

/* How far the log end (file, offset) is behind the master's (mf, mo), in bytes. */
static json_object *lag_json(uint32_t mf, uint32_t mo, uint32_t file, uint32_t offset)
{
	unsigned long long master = lsn_bytes(mf, mo), site = lsn_bytes(file, offset);

	return json_object_new_int64((int64_t)(master > site ? master - site : 0));
}

static json_object *lsn_json(uint32_t file, uint32_t offset)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "file", json_object_new_int64(file));
	json_object_object_add(o, "offset", json_object_new_int64(offset));
	return o;
}

static json_object *site_json(const cv_cluster_site *site)
{
	json_object *o = json_object_new_object();
	char addr[96];

	snprintf(addr, sizeof addr, "%s:%u", site->host, site->port);
	json_object_object_add(o, "address", json_object_new_string(addr));
	json_object_object_add(o, "url", site->url[0] ? json_object_new_string(site->url) : NULL);
	return o;
}

/* A peer's own log end from its GET /api/cluster?local=1; false when it did not answer. */
static bool peer_lsn(const char *url, uint32_t *file, uint32_t *offset)
{
	cv_http_reply r = {0};
	cv_http *h = NULL;
	json_object *o = NULL, *lsn, *f, *off;
	bool ok = false;

	if (cv_http_open(url, &h) == CV_OK) {
		cv_http_set_timeout(h, 700);
		if (cv_http_request(h, "GET", "/api/cluster?local=1", NULL, &r) == CV_OK &&
		    r.status == 200)
			o = r.body;
	}
	if (o != NULL && json_object_object_get_ex(o, "lsn", &lsn) &&
	    json_object_object_get_ex(lsn, "file", &f) &&
	    json_object_object_get_ex(lsn, "offset", &off)) {
		*file = (uint32_t)json_object_get_int64(f);
		*offset = (uint32_t)json_object_get_int64(off);
		ok = true;
	}
	cv_http_reply_free(&r);
	cv_http_close(h);
	return ok;
}

/* GET /api/cluster[?local=1]: 200 with the node's view of its group ({"replicated":
 * false, "role": "single"} on one machine); 503 when the store cannot say. */
cv_err cv_cluster_handler(cv_req *r)
{
	cv_cluster_info info;
	json_object *o, *sites;
	bool local = strstr(r->query, "local=1") != NULL;
	uint32_t mf = 0, mo = 0;
	bool master_lsn = false;
	cv_err e;

	if ((e = cv_store_cluster_info(r->root, &info)) != CV_OK)
		return e;
	o = json_object_new_object();
	json_object_object_add(o, "replicated", json_object_new_boolean(info.replicated));
	json_object_object_add(o, "role", json_object_new_string(info.role));
	if (!info.replicated)
		return cv_reply_json(r, 200, o);
	json_object_object_add(o, "self", site_json(&info.self));
	json_object_object_add(o, "master", info.master_known ? site_json(&info.master) : NULL);
	json_object_object_add(o, "generation", json_object_new_int64(info.generation));
	json_object_object_add(o, "group_size", json_object_new_int64(info.group_size));
	json_object_object_add(o, "startup_done", json_object_new_boolean(info.startup_done));
	json_object_object_add(o, "lsn", lsn_json(info.lsn_file, info.lsn_offset));
	if (local)
		return cv_reply_json(r, 200, o);
	if (strcmp(info.role, "master") == 0) {
		mf = info.lsn_file;
		mo = info.lsn_offset;
		master_lsn = true;
	} else if (info.master_known && info.master.url[0] != '\0') {
		master_lsn = peer_lsn(info.master.url, &mf, &mo);
	}
	if (master_lsn && strcmp(info.role, "master") != 0)
		json_object_object_add(o, "lag_bytes",
		                       lag_json(mf, mo, info.lsn_file, info.lsn_offset));
	sites = json_object_new_array();
	for (size_t i = 0; i < info.n_sites; i++) {
		const cv_cluster_site *site = &info.sites[i];
		json_object *so = site_json(site);
		uint32_t f = 0, off = 0;
		bool have = site->url[0] != '\0' && peer_lsn(site->url, &f, &off);

		json_object_object_add(so, "connected", json_object_new_boolean(site->connected));
		json_object_object_add(so, "master", json_object_new_boolean(site->is_master));
		json_object_object_add(so, "lsn", have ? lsn_json(f, off) : NULL);
		json_object_object_add(so, "lag_bytes",
		                       have && master_lsn ? lag_json(mf, mo, f, off) : NULL);
		json_object_array_add(sites, so);
	}
	json_object_object_add(o, "sites", sites);
	return cv_reply_json(r, 200, o);
}
