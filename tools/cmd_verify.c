/* `chainvote verify` and `chainvote keygen`: the auditor's offline check of a chain
 * export (from a file, stdin or a running service) against every rule, and new key
 * files. Both only call the library; no rule is written here. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "crypto.h"
#include "json.h"
#include "rules.h"

/* An export of a million votes is about 600 MB of JSON; beyond this bound the input is
 * refused rather than read into memory. */
#define VERIFY_MAX_BYTES ((size_t)1 << 30)
#define EXPORT_PATH      "/api/chain/export"

/* ---- reading the export ---- */

static int append(cv_buf *b, const void *p, size_t n)
{
	if (b->len + n > VERIFY_MAX_BYTES)
		return -1;
	return cv_buf_put(b, p, n) == CV_OK ? 0 : -1;
}

static int read_stream(FILE *f, cv_buf *b)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (append(b, chunk, n) != 0)
			return -1;
	return ferror(f) ? -1 : 0;
}

static size_t curl_write(char *p, size_t size, size_t nmemb, void *userdata)
{
	/* a short count makes libcurl stop the transfer with CURLE_WRITE_ERROR */
	return append(userdata, p, size * nmemb) == 0 ? size * nmemb : 0;
}

static int fetch(const char *base, cv_buf *b)
{
	size_t len = strlen(base);
	char *url = malloc(len + sizeof(EXPORT_PATH));
	CURL *curl = NULL;
	long status = 0;
	CURLcode cc;
	int rc = -1;

	if (url == NULL)
		return -1;
	memcpy(url, base, len + 1);
	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
	memcpy(url + len, EXPORT_PATH, sizeof(EXPORT_PATH));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (curl = curl_easy_init()) == NULL)
		goto out;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 20L);
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)VERIFY_MAX_BYTES);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, curl_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
	cc = curl_easy_perform(curl);
	if (cc != CURLE_OK) {
		fprintf(stderr, "chainvote verify: %s: %s\n", url, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		fprintf(stderr, "chainvote verify: %s: HTTP status %ld\n", url, status);
		goto out;
	}
	rc = 0;
out:
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	free(url);
	return rc;
}

static int load(const char *src, cv_buf *b)
{
	FILE *f;
	int rc;

	if (strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0)
		return fetch(src, b);
	if (strcmp(src, "-") == 0)
		return read_stream(stdin, b);
	if ((f = fopen(src, "rb")) == NULL) {
		fprintf(stderr, "chainvote verify: %s: %s\n", src, strerror(errno));
		return -1;
	}
	rc = read_stream(f, b);
	fclose(f);
	if (rc != 0)
		fprintf(stderr, "chainvote verify: %s: unreadable or larger than %zu bytes\n", src,
		        VERIFY_MAX_BYTES);
	return rc;
}

/* ---- reporting ---- */

typedef struct report_state {
	size_t problems;
} report_state;

static void print_problem(void *ctx, int64_t height, int64_t vote, cv_err code, const char *detail)
{
	report_state *st = ctx;

	st->problems++;
	if (height < 0)
		printf("chain: %s: %s\n", cv_err_code(code), detail);
	else if (vote < 0)
		printf("height %" PRId64 ": %s: %s\n", height, cv_err_code(code), detail);
	else
		printf("height %" PRId64 ": %s: vote %" PRId64 ": %s\n", height, cv_err_code(code),
		       vote, detail);
}

static void bad_txid(void *ctx, size_t block, size_t vote)
{
	print_problem(ctx, (int64_t)block, (int64_t)vote, CV_E_BAD_HASH,
	              "the stated txid is not the hash of the payload");
}

static void verify_usage(FILE *out)
{
	fprintf(out,
	        "usage: chainvote verify FILE|-|URL\n"
	        "\n"
	        "Checks a chain export against every rule of the chain: genesis, links, proof\n"
	        "of work, merkle roots, every vote's signature, roll, candidate and time, one\n"
	        "vote per voter, and the validators' approvals. FILE is an export file, - reads\n"
	        "stdin, and an http(s) URL fetches URL%s from a running service.\n"
	        "Prints each problem as \"height H: code: detail\", then the tally, whether\n"
	        "it is final (\"final: sealed, closed at T\": the chain carries the seal that\n"
	        "closes the election) or \"provisional: not sealed\", then \"valid\" or\n"
	        "\"INVALID: N problems\".\n"
	        "Exit status: 0 valid, 1 problems found or input unreadable, 2 usage error.\n",
	        EXPORT_PATH);
}

int cmd_verify(int argc, char **argv)
{
	report_state st = {0};
	cv_buf text = {0};
	json_object *root = NULL;
	cv_chain chain = {0};
	cv_tally tally = {0};
	char why[256];
	cv_err rc;
	int status = 1;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		verify_usage(stdout);
		return 0;
	}
	if (argc != 2 || (argv[1][0] == '-' && argv[1][1] != '\0')) {
		verify_usage(stderr);
		return 2;
	}
	if (load(argv[1], &text) != 0)
		goto out;
	if ((rc = cv_json_parse(text.data ? (const char *)text.data : "", text.len, &root)) !=
	    CV_OK) {
		print_problem(&st, -1, -1, rc, "the input is not one strict JSON value");
		goto done;
	}
	rc = cv_chain_from_json_audit(root, &chain, bad_txid, &st, why, sizeof(why));
	if (rc != CV_OK) {
		print_problem(&st, -1, -1, rc, why[0] ? why : cv_err_message(rc));
		goto done;
	}
	/* print_problem counts as it prints, the txid problems of the parse included */
	(void)cv_verify_chain(&chain, print_problem, &st, &tally);
	for (size_t i = 0; i < tally.n; i++) {
		const cv_candidate *cand =
		    cv_genesis_candidate(chain.blocks[0].genesis, tally.ids[i]);

		printf("candidate %u (%s): %" PRIu64 "\n", (unsigned)tally.ids[i],
		       cand ? cand->name : "?", tally.votes[i]);
	}
	if (st.problems == 0) {
		if (tally.final)
			printf("final: sealed, closed at %" PRIu64 "\n", tally.closed_at);
		else
			printf("provisional: not sealed\n");
	}
done:
	if (st.problems == 0) {
		printf("valid\n");
		status = 0;
	} else {
		printf("INVALID: %zu problem%s\n", st.problems, st.problems == 1 ? "" : "s");
	}
out:
	cv_tally_free(&tally);
	cv_chain_free(&chain);
	json_object_put(root);
	cv_buf_free(&text);
	return status;
}

/* ---- keygen ---- */

static void keygen_usage(FILE *out)
{
	fprintf(out, "usage: chainvote keygen [-o FILE]\n"
	             "\n"
	             "Generates a P-256 key and writes it as a key file (chainvote-key/1 JSON):\n"
	             "to FILE (created with mode 0600, never overwritten; the public key is then\n"
	             "printed on stderr) or else to stdout.\n");
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	cv_privkey *key = NULL;
	uint8_t pub[CV_KEY_LEN];
	char hex[2 * CV_KEY_LEN + 1], *text = NULL;
	int c, fd = -1, status = 1;
	size_t len, off = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			path = optarg;
			break;
		case 'h':
			keygen_usage(stdout);
			return 0;
		default:
			keygen_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		keygen_usage(stderr);
		return 2;
	}
	if (cv_privkey_generate(&key) != CV_OK || cv_keyfile_format(key, &text) != CV_OK) {
		fprintf(stderr, "chainvote keygen: could not generate a key\n");
		goto out;
	}
	len = strlen(text);
	if (path == NULL) {
		status = fwrite(text, 1, len, stdout) == len && putchar('\n') != EOF ? 0 : 1;
		goto out;
	}
	/* O_EXCL: a key file that exists may be the only copy of someone's key */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "chainvote keygen: %s: %s\n", path, strerror(errno));
		goto out;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "chainvote keygen: %s: %s\n", path, strerror(errno));
			unlink(path);
			goto out;
		}
		off += (size_t)w;
	}
	if (write(fd, "\n", 1) != 1 || fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		fprintf(stderr, "chainvote keygen: %s: %s\n", path, strerror(errno));
		unlink(path);
		goto out;
	}
	fd = -1;
	cv_privkey_public(key, pub);
	cv_hex_encode(pub, CV_KEY_LEN, hex);
	fprintf(stderr, "%s\n", hex);
	status = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	cv_privkey_free(key);
	return status;
}
