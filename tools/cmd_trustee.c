/* chainvote trustee: a trustee's side of a secret election's key ceremony (DESIGN 6.2)
 * against a running service. keygen draws the secret polynomial, keeps its coefficients
 * in a 0600 file and posts the signed trustee entry; shares seals P(x_l) to every other
 * trustee, opens and checks the shares addressed to this trustee against their senders'
 * commitments, posts a confirmation or a complaint for each, and once all are good keeps
 * s_j (checked: s_j·G = K_j) in a 0600 file; status prints the ceremony. The formats and
 * the math are the library's (secret.h, sealed.h); this file only drives them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "api.h"
#include "chain.h"
#include "client.h"
#include "cmd.h"
#include "http.h"
#include "json.h"
#include "rules.h"
#include "sealed.h"
#include "secret.h"

#define SECRET_FORMAT "chainvote-trustee-secret/1"
#define SHARE_FORMAT  "chainvote-trustee-share/1"
#define SECRET_MAX    (64 * 1024)
/* exit status of `shares` while shares addressed to this trustee are still missing */
#define EXIT_WAITING 3

enum { OPT_KEY = CLI_OPT_OWN, OPT_SECRET, OPT_SECRET_OUT, OPT_SHARE_OUT, OPT_SHARE, OPT_HELP };

static const char usage_text[] =
    "usage: chainvote trustee keygen --url U --key FILE [--secret-out F]\n"
    "       chainvote trustee shares --url U --key FILE --secret F [--share-out F]\n"
    "       chainvote trustee status --url U\n"
    "       chainvote trustee decrypt --url U --key FILE --share F\n"
    "       (each also takes [--election SLUG] [--cacert FILE])\n"
    "A trustee's side of a secret election's key ceremony (DESIGN section 6.2). The\n"
    "trustees are the election's validators; FILE is the validator's key file.\n"
    "  keygen  draws a secret polynomial of `quorum` coefficients, writes them to\n"
    "          --secret-out (default trustee.secret; mode 0600, never overwritten) and\n"
    "          posts the signed trustee entry for the election's current setup_hash.\n"
    "  shares  once every trustee's entry is in: seals P(x_l) to every other trustee\n"
    "          (ECDH P-256, HKDF-SHA256, AES-256-GCM; the service stores only\n"
    "          ciphertexts), opens the shares addressed to this trustee, checks each\n"
    "          against its sender's commitments and posts a signed confirmation, or a\n"
    "          complaint for a bad one (the admin then resets the ceremony). With every\n"
    "          share good it writes s_j to --share-out (default: the secret file's name\n"
    "          with .share; mode 0600) and checks s_j·G = K_j. Run it again until done.\n"
    "  status  prints the ceremony as the service reports it (GET /api/ceremony).\n"
    "  decrypt once the seal is committed: reads the chain (GET /api/chain/export),\n"
    "          sums each candidate's ciphertexts A_i over blocks 1 .. seal - 1, makes the\n"
    "          decryption share s_j·α_i with its proofs from the share file F that\n"
    "          `shares` wrote, signs it and posts it (POST /api/decryptions).\n" CACERT_HELP
    "Exit status: 0 done, 1 a refusal or a complaint, 2 usage, 3 shares still missing\n"
    "(shares: run again once the other trustees have sent theirs; decrypt: the seal is\n"
    "not committed yet).\n";

typedef struct opts {
	cli_service svc;
	const char *key_path, *secret, *secret_out, *share_out, *share;
} opts;

typedef struct session {
	const char *prog;
	cv_http *http;
	cv_privkey *key;
	uint8_t me[CV_KEY_LEN];
	cv_ceremony c; /* as read from the service */
} session;

static int usage_error(const char *why)
{
	fprintf(stderr, "chainvote trustee: %s\n%s", why, usage_text);
	return 2;
}

/* GET /api/ceremony into s->c. 0, or 1 with a message. */
static int read_ceremony(session *s)
{
	cv_http_reply r = {0};
	int rc = 1;

	cv_ceremony_free(&s->c);
	if (cli_get_json(s->prog, s->http, "/api/ceremony", &r) != 0)
		return 1;
	if (cv_api_ceremony_read(r.body, &s->c) != CV_OK)
		fprintf(stderr, "chainvote %s: the ceremony's status does not parse\n", s->prog);
	else if (!s->c.secret)
		fprintf(stderr,
		        "chainvote %s: the election is not secret (\"ballots\": \"open\")\n",
		        s->prog);
	else
		rc = 0;
	cv_http_reply_free(&r);
	return rc;
}

/* This trustee's place: x = 1 + index among the validators (key order), or 0. */
static size_t my_x(const session *s)
{
	for (size_t i = 0; i < s->c.n_validators; i++)
		if (memcmp(s->c.validators[i].key, s->me, CV_KEY_LEN) == 0)
			return i + 1;
	return 0;
}

static const cv_trustee *entry_of(const cv_ceremony *c, const uint8_t key[CV_KEY_LEN])
{
	for (size_t i = 0; i < c->entries.n_trustees; i++)
		if (memcmp(c->entries.trustees[i].validator_key, key, CV_KEY_LEN) == 0)
			return &c->entries.trustees[i];
	return NULL;
}

/* POSTs body to path; 0 on the expected 201, 1 on a 409 `exists` when that is allowed
 * (already posted), -1 with a message otherwise. Takes body. */
static int post(session *s, const char *path, json_object *body, const char *what, bool exists_ok)
{
	cv_http_reply r = {0};
	cv_err e = body != NULL ? cv_http_request(s->http, "POST", path, body, &r) : CV_E_NOMEM;
	int rc = -1;

	if (e == CV_OK && r.status == 201)
		rc = 0;
	else if (e == CV_OK && r.status == 409 && exists_ok && strcmp(r.code, "exists") == 0)
		rc = 1;
	else
		cli_print_refusal(s->prog, what, &r);
	cv_http_reply_free(&r);
	json_object_put(body);
	return rc;
}

/* Writes text to path, created with mode 0600 (never over an existing file), synced. */
static int write_private(const char *prog, const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	bool ok;

	if (fd < 0) {
		fprintf(stderr, "chainvote %s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
	if (close(fd) != 0 || !ok) {
		fprintf(stderr, "chainvote %s: %s: could not be written\n", prog, path);
		unlink(path);
		return -1;
	}
	return 0;
}

/* A scalar in [1, n) from the CSPRNG. */
static cv_err draw_scalar(uint8_t s[CV_SCALAR_LEN])
{
	static const uint8_t zero[CV_SCALAR_LEN];
	cv_err e;

	do {
		if ((e = cv_random(s, CV_SCALAR_LEN)) != CV_OK)
			return e;
	} while (!cv_scalar_ok(s) || memcmp(s, zero, CV_SCALAR_LEN) == 0);
	return CV_OK;
}

/* ---- keygen ---- */

static int do_keygen(session *s, const opts *o)
{
	const char *out = o->secret_out != NULL ? o->secret_out : "trustee.secret";
	uint8_t(*coeffs)[CV_SCALAR_LEN] = NULL;
	json_object *file = NULL, *arr;
	cv_trustee t = {0};
	size_t q;
	int rc = 1;

	if (read_ceremony(s) != 0)
		return 1;
	q = s->c.quorum;
	if (my_x(s) == 0) {
		fprintf(stderr,
		        "chainvote %s: this key is not a validator (trustee) of the election\n",
		        s->prog);
		return 1;
	}
	if (entry_of(&s->c, s->me) != NULL) {
		fprintf(stderr, "chainvote %s: this trustee's entry is posted already\n", s->prog);
		return 1;
	}
	if (q < 2 || (coeffs = OPENSSL_secure_zalloc(q * CV_SCALAR_LEN)) == NULL) {
		fprintf(stderr, "chainvote %s: no quorum, or out of memory\n", s->prog);
		return 1;
	}
	for (size_t k = 0; k < q; k++)
		if (draw_scalar(coeffs[k]) != CV_OK)
			goto out;
	if (cv_trustee_make(s->c.setup_hash, s->key, (const uint8_t(*)[CV_SCALAR_LEN])coeffs, q,
	                    NULL, &t) != CV_OK) {
		fprintf(stderr, "chainvote %s: the trustee entry could not be made\n", s->prog);
		goto out;
	}
	/* the secret first: an entry posted without it could never send its shares */
	if ((file = json_object_new_object()) == NULL || (arr = json_object_new_array()) == NULL)
		goto out;
	json_object_object_add(file, "format", json_object_new_string(SECRET_FORMAT));
	cv_json_add_hex(file, "setup_hash", s->c.setup_hash, CV_HASH_LEN);
	cv_json_add_hex(file, "validator_key", s->me, CV_KEY_LEN);
	json_object_object_add(file, "coefficients", arr);
	for (size_t k = 0; k < q; k++) {
		char hex[2 * CV_SCALAR_LEN + 1];

		cv_hex_encode(coeffs[k], CV_SCALAR_LEN, hex);
		json_object_array_add(arr, json_object_new_string(hex));
		OPENSSL_cleanse(hex, sizeof hex);
	}
	if (write_private(s->prog, out,
	                  json_object_to_json_string_ext(file, JSON_C_TO_STRING_PRETTY)) != 0)
		goto out;
	if (post(s, "/api/ceremony/entries", cv_trustee_to_json(&t), "the trustee entry", false) !=
	    0) {
		unlink(out); /* not posted: the coefficients belong to nothing */
		goto out;
	}
	printf("trustee entry posted (x = %zu, quorum %zu); coefficients kept in %s\n", my_x(s), q,
	       out);
	rc = 0;
out:
	if (file != NULL) /* the strings held the coefficients */
		json_object_put(file);
	cv_trustee_free(&t);
	OPENSSL_secure_clear_free(coeffs, q * CV_SCALAR_LEN);
	return rc;
}

/* ---- shares ---- */

/* The coefficients of the secret file, checked against this trustee and setup. */
static int load_secret(session *s, const char *path, uint8_t (**coeffs)[CV_SCALAR_LEN], size_t *q)
{
	size_t len = 0;
	char *text = cli_read_file(s->prog, path, SECRET_MAX, &len);
	json_object *o = NULL, *arr, *v;
	uint8_t setup[CV_HASH_LEN], key[CV_KEY_LEN];
	int rc = -1;

	*coeffs = NULL;
	*q = 0;
	if (text == NULL)
		return -1;
	if (cv_json_parse(text, len, &o) != CV_OK || !json_object_object_get_ex(o, "format", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), SECRET_FORMAT) != 0 ||
	    cv_json_get_hex(o, "setup_hash", setup, CV_HASH_LEN) != CV_OK ||
	    cv_json_get_hex(o, "validator_key", key, CV_KEY_LEN) != CV_OK ||
	    cv_json_get_array(o, "coefficients", &arr) != CV_OK ||
	    json_object_array_length(arr) < 2 || json_object_array_length(arr) > CV_MAX_QUORUM) {
		fprintf(stderr, "chainvote %s: %s is not a trustee secret file\n", s->prog, path);
		goto out;
	}
	if (memcmp(key, s->me, CV_KEY_LEN) != 0 ||
	    memcmp(setup, s->c.setup_hash, CV_HASH_LEN) != 0) {
		fprintf(stderr,
		        "chainvote %s: %s belongs to another trustee or setup (the setup changed: "
		        "run keygen again)\n",
		        s->prog, path);
		goto out;
	}
	*q = json_object_array_length(arr);
	if ((*coeffs = OPENSSL_secure_zalloc(*q * CV_SCALAR_LEN)) == NULL)
		goto out;
	for (size_t k = 0; k < *q; k++) {
		v = json_object_array_get_idx(arr, k);
		if (!json_object_is_type(v, json_type_string) ||
		    cv_hex_decode(json_object_get_string(v), (*coeffs)[k], CV_SCALAR_LEN) !=
		        CV_OK ||
		    !cv_scalar_ok((*coeffs)[k])) {
			fprintf(stderr, "chainvote %s: %s: a coefficient is not a scalar\n",
			        s->prog, path);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0) {
		OPENSSL_secure_clear_free(*coeffs, *q * CV_SCALAR_LEN);
		*coeffs = NULL;
	}
	json_object_put(o);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

/* Seals P(x_l) to every other trustee; a share posted already is left as it is. */
static int send_shares(session *s, const uint8_t (*coeffs)[CV_SCALAR_LEN], size_t q)
{
	uint8_t value[CV_SCALAR_LEN];
	cv_sealed_share sh;
	int sent = 0, rc = 0;

	for (size_t l = 0; l < s->c.n_validators && rc == 0; l++) {
		const uint8_t *to = s->c.validators[l].key;

		if (memcmp(to, s->me, CV_KEY_LEN) == 0)
			continue;
		if (cv_poly_eval(coeffs, q, l + 1, value) != CV_OK ||
		    cv_sealed_seal(s->c.setup_hash, s->key, to, value, NULL, NULL, &sh) != CV_OK) {
			fprintf(stderr, "chainvote %s: a share could not be sealed\n", s->prog);
			rc = -1;
			break;
		}
		switch (post(s, "/api/ceremony/shares", cv_api_sealed_json(&sh), "a share", true)) {
		case 0:
			sent++;
			break;
		case 1:
			break; /* sent before */
		default:
			rc = -1;
		}
	}
	OPENSSL_cleanse(value, sizeof value);
	if (rc == 0 && sent > 0)
		printf("%d share%s sent\n", sent, sent == 1 ? "" : "s");
	return rc;
}

/* Whether this trustee has posted a check of sender's share, and its verdict. */
static const cv_share_check *my_check(const session *s, const uint8_t sender[CV_KEY_LEN])
{
	for (size_t i = 0; i < s->c.n_checks; i++)
		if (memcmp(s->c.checks[i].trustee, s->me, CV_KEY_LEN) == 0 &&
		    memcmp(s->c.checks[i].sender, sender, CV_KEY_LEN) == 0)
			return &s->c.checks[i];
	return NULL;
}

static int post_check(session *s, const uint8_t sender[CV_KEY_LEN], bool good)
{
	cv_share_check ck = {0};

	memcpy(ck.setup_hash, s->c.setup_hash, CV_HASH_LEN);
	memcpy(ck.sender, sender, CV_KEY_LEN);
	ck.good = good;
	if (cv_share_check_sign(&ck, s->key) != CV_OK)
		return -1;
	return post(s, "/api/ceremony/checks", cv_api_check_json(&ck),
	            good ? "a confirmation" : "a complaint", true) < 0
	           ? -1
	           : 0;
}

/* Writes s_j and K_j to the share file: a new 0600 file beside it, then renamed over
 * it, so that a reader sees the old file or the new one. */
static int write_share(session *s, const char *path, size_t x, const uint8_t sj[CV_SCALAR_LEN],
                       const uint8_t Kj[CV_POINT_LEN])
{
	json_object *o = json_object_new_object();
	char tmp[4096 + 8];
	int rc = -1;

	if (o == NULL || snprintf(tmp, sizeof tmp, "%s.new", path) >= (int)sizeof tmp) {
		json_object_put(o);
		return -1;
	}
	json_object_object_add(o, "format", json_object_new_string(SHARE_FORMAT));
	cv_json_add_hex(o, "setup_hash", s->c.setup_hash, CV_HASH_LEN);
	cv_json_add_hex(o, "validator_key", s->me, CV_KEY_LEN);
	json_object_object_add(o, "x", json_object_new_uint64(x));
	cv_json_add_hex(o, "share", sj, CV_SCALAR_LEN);
	cv_json_add_hex(o, "trustee_key", Kj, CV_POINT_LEN);
	unlink(tmp); /* a leftover of an interrupted run */
	rc =
	    write_private(s->prog, tmp, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	if (rc == 0 && rename(tmp, path) != 0) {
		fprintf(stderr, "chainvote %s: %s: %s\n", s->prog, path, strerror(errno));
		unlink(tmp);
		rc = -1;
	}
	json_object_put(o);
	return rc;
}

/* Opens and checks the shares addressed to this trustee; with all n-1 good, s_j. */
static int receive_shares(session *s, const opts *o, const uint8_t (*coeffs)[CV_SCALAR_LEN],
                          size_t q, size_t x)
{
	char path[32 + 2 * CV_KEY_LEN], hex[2 * CV_KEY_LEN + 1], out_path[4096];
	cv_http_reply r = {0};
	json_object *list;
	size_t n = s->c.n_validators, n_got, n_good = 0;
	uint8_t(*values)[CV_SCALAR_LEN] = NULL, sj[CV_SCALAR_LEN], Kj[CV_POINT_LEN],
	check[CV_POINT_LEN];
	int rc = 1, complaints = 0;

	cv_hex_encode(s->me, CV_KEY_LEN, hex);
	snprintf(path, sizeof path, "/api/ceremony/shares/%s", hex);
	if (cli_get_json(s->prog, s->http, path, &r) != 0)
		return 1;
	if (cv_json_get_array(r.body, "shares", &list) != CV_OK ||
	    (n_got = json_object_array_length(list)) > n - 1) {
		fprintf(stderr, "chainvote %s: the shares addressed to this trustee do not parse\n",
		        s->prog);
		goto out;
	}
	/* values[0] = P_own(x_j), then one per sender */
	if ((values = OPENSSL_secure_zalloc(n * CV_SCALAR_LEN)) == NULL ||
	    cv_poly_eval(coeffs, q, x, values[0]) != CV_OK)
		goto out;
	for (size_t i = 0; i < n_got; i++) {
		cv_sealed_share sh;
		const cv_trustee *sender;
		const cv_share_check *done;
		bool good;

		if (cv_api_sealed_read(json_object_array_get_idx(list, i), &sh) != CV_OK ||
		    memcmp(sh.recipient, s->me, CV_KEY_LEN) != 0 ||
		    (sender = entry_of(&s->c, sh.sender)) == NULL) {
			fprintf(stderr, "chainvote %s: a share does not parse\n", s->prog);
			goto out;
		}
		/* the sender signed it, it opens with this key, it matches the commitments */
		good = memcmp(sh.setup_hash, s->c.setup_hash, CV_HASH_LEN) == 0 &&
		       cv_sealed_verify(&sh) == CV_OK &&
		       cv_sealed_open(&sh, s->key, values[1 + n_good]) == CV_OK &&
		       cv_share_matches(values[1 + n_good],
		                        (const uint8_t(*)[CV_POINT_LEN])sender->commitments,
		                        sender->n_coeffs, x) == CV_OK;
		cv_hex_encode(sh.sender, CV_KEY_LEN, hex);
		done = my_check(s, sh.sender);
		if (!good) {
			fprintf(stderr,
			        "chainvote %s: the share from %.16s… does not match its "
			        "commitments: complaint lodged\n",
			        s->prog, hex);
			complaints++;
			if (done == NULL && post_check(s, sh.sender, false) != 0)
				goto out;
			continue;
		}
		if (done != NULL && !done->good) {
			complaints++; /* a complaint stands until the ceremony is reset */
			continue;
		}
		if (done == NULL && post_check(s, sh.sender, true) != 0)
			goto out;
		n_good++;
	}
	if (complaints > 0) {
		fprintf(stderr,
		        "chainvote %s: %d complaint%s stand%s: the admin resets the ceremony "
		        "and the trustees run it again\n",
		        s->prog, complaints, complaints == 1 ? "" : "s",
		        complaints == 1 ? "s" : "");
		goto out;
	}
	if (n_good < n - 1) {
		printf("waiting: %zu of %zu shares received and confirmed; run again later\n",
		       n_good, n - 1);
		rc = EXIT_WAITING;
		goto out;
	}
	/* s_j = Σ values: P evaluated at 1 sums its coefficients mod n */
	if (cv_poly_eval((const uint8_t(*)[CV_SCALAR_LEN])values, n, 1, sj) != CV_OK ||
	    cv_trustee_key(&s->c.entries, x, Kj) != CV_OK ||
	    cv_point_base_mul(sj, check) != CV_OK || memcmp(check, Kj, CV_POINT_LEN) != 0) {
		fprintf(stderr, "chainvote %s: s_j·G is not K_j: the shares do not add up\n",
		        s->prog);
		goto out;
	}
	if (o->share_out != NULL)
		snprintf(out_path, sizeof out_path, "%s", o->share_out);
	else if (snprintf(out_path, sizeof out_path, "%s.share", o->secret) >= (int)sizeof out_path)
		goto out;
	/* a file from an earlier run of the ceremony (reset since) is replaced: s_j is
	 * this run's */
	if (write_share(s, out_path, x, sj, Kj) != 0)
		goto out;
	printf("every share confirmed; s_j (x = %zu) written to %s, s_j·G = K_j\n", x, out_path);
	rc = 0;
out:
	OPENSSL_cleanse(sj, sizeof sj);
	OPENSSL_secure_clear_free(values, n * CV_SCALAR_LEN);
	cv_http_reply_free(&r);
	return rc;
}

static int do_shares(session *s, const opts *o)
{
	uint8_t(*coeffs)[CV_SCALAR_LEN] = NULL, C0[CV_POINT_LEN];
	const cv_trustee *mine;
	size_t q = 0, x;
	int rc = 1;

	if (o->secret == NULL)
		return usage_error("shares needs --secret FILE");
	if (read_ceremony(s) != 0 || load_secret(s, o->secret, &coeffs, &q) != 0)
		goto out;
	x = my_x(s);
	mine = entry_of(&s->c, s->me);
	/* the entry posted is this secret's: its first commitment is a_0·G */
	if (x == 0 || mine == NULL || mine->n_coeffs != q ||
	    cv_point_base_mul(coeffs[0], C0) != CV_OK ||
	    memcmp(C0, mine->commitments[0], CV_POINT_LEN) != 0) {
		fprintf(stderr,
		        "chainvote %s: the service holds no entry of this secret for this "
		        "trustee (run keygen)\n",
		        s->prog);
		goto out;
	}
	if (s->c.entries.n_trustees < s->c.n_validators) {
		printf("waiting: %zu of %zu trustee entries are in; run again later\n",
		       s->c.entries.n_trustees, s->c.n_validators);
		rc = EXIT_WAITING;
		goto out;
	}
	if (send_shares(s, (const uint8_t(*)[CV_SCALAR_LEN])coeffs, q) != 0)
		goto out;
	rc = receive_shares(s, o, (const uint8_t(*)[CV_SCALAR_LEN])coeffs, q, x);
out:
	OPENSSL_secure_clear_free(coeffs, q * CV_SCALAR_LEN);
	return rc;
}

/* ---- status ---- */

static int do_status(session *s)
{
	cv_http_reply r = {0};

	if (cli_get_json(s->prog, s->http, "/api/ceremony", &r) != 0)
		return 1;
	printf("%s\n", json_object_to_json_string_ext(r.body, JSON_C_TO_STRING_PRETTY));
	cv_http_reply_free(&r);
	return 0;
}

/* s_j of the share file `shares` wrote, which must be the trustee me's. 0, or -1 with a
 * message. */
static int load_share(const char *prog, const char *path, const uint8_t me[CV_KEY_LEN],
                      uint8_t sj[CV_SCALAR_LEN])
{
	size_t len = 0;
	char *text = cli_read_file(prog, path, SECRET_MAX, &len);
	json_object *o = NULL, *v;
	uint8_t key[CV_KEY_LEN];
	int rc = -1;

	if (text == NULL)
		return -1;
	if (cv_json_parse(text, len, &o) != CV_OK || !json_object_object_get_ex(o, "format", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), SHARE_FORMAT) != 0 ||
	    cv_json_get_hex(o, "validator_key", key, CV_KEY_LEN) != CV_OK ||
	    cv_json_get_hex(o, "share", sj, CV_SCALAR_LEN) != CV_OK || !cv_scalar_ok(sj))
		fprintf(stderr, "chainvote %s: %s is not a trustee share file\n", prog, path);
	else if (memcmp(key, me, CV_KEY_LEN) != 0)
		fprintf(stderr, "chainvote %s: %s is another trustee's share file\n", prog, path);
	else
		rc = 0;
	json_object_put(o);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

int cli_trustee_decrypt(const char *prog, cv_http *http, const cv_privkey *key,
                        const char *share_path, char txid_hex[HEX_HASH])
{
	uint8_t sj[CV_SCALAR_LEN], Kj[CV_POINT_LEN], me[CV_KEY_LEN];
	cv_http_reply r = {0};
	cv_chain chain = {0};
	cv_secret_view sv;
	cv_decryption d = {0};
	cv_view view;
	const cv_secrecy *sec;
	json_object *body = NULL;
	uint8_t txid[CV_HASH_LEN];
	size_t j;
	int rc = CLI_DECRYPT_FAILED;

	memset(&sv, 0, sizeof sv);
	txid_hex[0] = '\0';
	cv_privkey_public(key, me);
	if (load_share(prog, share_path, me, sj) != 0)
		return CLI_DECRYPT_FAILED;
	if (cli_get_json(prog, http, "/api/chain/export", &r) != 0)
		goto out;
	if (cv_chain_from_json(r.body, &chain) != CV_OK ||
	    cv_chain_next_view(&chain, &view, &sv) != CV_OK || view.genesis->secrecy == NULL) {
		fprintf(stderr, "chainvote %s: the chain is not a secret election's\n", prog);
		goto out;
	}
	sec = view.genesis->secrecy;
	for (j = 0; j < sec->n_trustees; j++)
		if (memcmp(sec->trustees[j].validator_key, me, CV_KEY_LEN) == 0)
			break;
	if (j == sec->n_trustees) {
		fprintf(stderr, "chainvote %s: this key is not one of the election's trustees\n",
		        prog);
		goto out;
	}
	if (!view.sealed) {
		rc = CLI_DECRYPT_NOT_SEALED;
		goto out;
	}
	/* the share file must hold this trustee's s_j of this genesis: s_j·G = K_j */
	if (cv_point_base_mul(sj, Kj) != CV_OK ||
	    memcmp(Kj, sv.trustee_keys[j], CV_POINT_LEN) != 0) {
		fprintf(stderr,
		        "chainvote %s: %s does not hold this election's s_j (s_j·G is not "
		        "K_j)\n",
		        prog, share_path);
		goto out;
	}
	memcpy(d.election_id, chain.blocks[0].hash, CV_HASH_LEN);
	memcpy(d.validator_key, me, CV_KEY_LEN);
	d.through_height = sv.seal_height - 1;
	if (cv_decryption_make(&d, sj, (const uint8_t(*)[CV_POINT_LEN])sv.alpha,
	                       view.genesis->n_candidates, NULL) != CV_OK ||
	    cv_decryption_sign(&d, key) != CV_OK || cv_decryption_txid(&d, txid) != CV_OK ||
	    (body = cv_decryption_to_json(&d, false)) == NULL) {
		fprintf(stderr,
		        "chainvote %s: the decryption share could not be made (no ballot "
		        "before the seal leaves nothing to decrypt)\n",
		        prog);
		goto out;
	}
	cv_http_reply_free(&r);
	if (cv_http_request(http, "POST", "/api/decryptions", body, &r) != CV_OK ||
	    r.status != 202) {
		if (r.status == 409 && strcmp(r.code, "decryption_duplicate") == 0)
			rc = CLI_DECRYPT_ALREADY;
		else
			cli_print_refusal(prog, "the decryption share was refused", &r);
		goto out;
	}
	cv_hex_encode(txid, CV_HASH_LEN, txid_hex);
	rc = CLI_DECRYPT_POSTED;
out:
	OPENSSL_cleanse(sj, sizeof sj);
	json_object_put(body);
	cv_decryption_free(&d);
	cv_secret_view_free(&sv);
	cv_chain_free(&chain);
	cv_http_reply_free(&r);
	return rc;
}

/* The decryption share (DESIGN section 6) of this trustee for the sealed chain. */
static int do_decrypt(session *s, const opts *o)
{
	char hex[HEX_HASH];

	if (o->share == NULL)
		return usage_error("decrypt needs --share FILE");
	switch (cli_trustee_decrypt(s->prog, s->http, s->key, o->share, hex)) {
	case CLI_DECRYPT_POSTED:
		printf("%s\n", hex);
		return 0;
	case CLI_DECRYPT_ALREADY:
		printf("the decryption share of this trustee is posted already\n");
		return 0;
	case CLI_DECRYPT_NOT_SEALED:
		fprintf(stderr,
		        "chainvote %s: the election is not sealed yet: run decrypt once "
		        "the seal is committed\n",
		        s->prog);
		return EXIT_WAITING;
	default:
		return 1;
	}
}

int cmd_trustee(int argc, char **argv)
{
	static const struct option longopts[] = {
	    CLI_SERVICE_OPTIONS,
	    {"key", required_argument, NULL, OPT_KEY},
	    {"secret", required_argument, NULL, OPT_SECRET},
	    {"secret-out", required_argument, NULL, OPT_SECRET_OUT},
	    {"share-out", required_argument, NULL, OPT_SHARE_OUT},
	    {"share", required_argument, NULL, OPT_SHARE},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	opts o = {0};
	session s = {0};
	const char *sub;
	int c, rc = 1;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_service_opt(c, optarg, &o.svc))
			continue;
		switch (c) {
		case OPT_KEY:
			o.key_path = optarg;
			break;
		case OPT_SECRET:
			o.secret = optarg;
			break;
		case OPT_SECRET_OUT:
			o.secret_out = optarg;
			break;
		case OPT_SHARE_OUT:
			o.share_out = optarg;
			break;
		case OPT_SHARE:
			o.share = optarg;
			break;
		case OPT_HELP:
			fputs(usage_text, stdout);
			return 0;
		default:
			return usage_error("unknown option");
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument");
	if (strcmp(sub, "keygen") != 0 && strcmp(sub, "shares") != 0 &&
	    strcmp(sub, "status") != 0 && strcmp(sub, "decrypt") != 0)
		return usage_error("unknown step (keygen, shares, status, decrypt)");
	if (o.svc.url == NULL)
		return usage_error("--url is required");
	if (strcmp(sub, "status") != 0 && o.key_path == NULL)
		return usage_error("--key is required");
	s.prog = "trustee";
	if (o.key_path != NULL) {
		if ((s.key = cli_load_key(s.prog, o.key_path)) == NULL)
			return 1;
		cv_privkey_public(s.key, s.me);
	}
	if ((s.http = cli_open_http(s.prog, &o.svc)) == NULL)
		goto out;
	if (strcmp(sub, "keygen") == 0)
		rc = do_keygen(&s, &o);
	else if (strcmp(sub, "shares") == 0)
		rc = do_shares(&s, &o);
	else if (strcmp(sub, "decrypt") == 0)
		rc = do_decrypt(&s, &o);
	else
		rc = do_status(&s);
out:
	cv_ceremony_free(&s.c);
	cli_close_http(s.http);
	cv_privkey_free(s.key);
	return rc;
}
