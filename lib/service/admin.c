/* The admin's sign-in (admin.h): TOTP and base32, the password's KDF, and the admin file
 * with its sessions, recovery codes and lockout, read and rewritten under one lock. */
#include "admin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "bytes.h"
#include "crypto.h"
#include "json.h"

#define SALT_LEN    16
#define PW_HASH_LEN 32
#define FILE_MAX    (64 * 1024)
#define SEEN_EVERY  60 /* seconds: a check rewrites the file at most this often */
#define ISSUER      "ChainVote"

uint32_t cv_admin_kdf_iterations = 600000; /* PBKDF2-HMAC-SHA256, as OWASP advises */

/* ------------------------------------------------------------------------------------
 * Pure parts
 * ---------------------------------------------------------------------------------- */

uint32_t cv_hotp(const uint8_t *key, size_t key_len, uint64_t counter, unsigned digits)
{
	uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0, off;
	uint32_t bin, mod = 1;

	for (int i = 7; i >= 0; i--) {
		msg[i] = (uint8_t)(counter & 0xff);
		counter >>= 8;
	}
	if (HMAC(EVP_sha1(), key, (int)key_len, msg, sizeof msg, mac, &mac_len) == NULL ||
	    mac_len != 20)
		return UINT32_MAX; /* never a code: it has more digits than any */
	off = mac[19] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
	      ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
	for (unsigned i = 0; i < digits; i++)
		mod *= 10;
	return bin % mod;
}

uint32_t cv_totp(const uint8_t *key, size_t key_len, uint64_t unix_time, unsigned digits)
{
	return cv_hotp(key, key_len, unix_time / CV_TOTP_STEP, digits);
}

bool cv_totp_check(const uint8_t key[CV_TOTP_SECRET_LEN], uint64_t now, const char *code,
                   uint64_t last_step, uint64_t *step)
{
	uint64_t want, s = now / CV_TOTP_STEP;
	bool found = false;

	if (code == NULL || strlen(code) != CV_TOTP_DIGITS ||
	    strspn(code, "0123456789") != CV_TOTP_DIGITS)
		return false;
	want = strtoull(code, NULL, 10);
	/* every step of the window is computed, so the time does not tell which matched */
	for (uint64_t t = s == 0 ? 0 : s - 1; t <= s + 1; t++) {
		if (cv_hotp(key, CV_TOTP_SECRET_LEN, t, CV_TOTP_DIGITS) == want && t > last_step &&
		    !found) {
			*step = t;
			found = true;
		}
	}
	return found;
}

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void cv_base32_encode(const uint8_t *p, size_t n, char *out)
{
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			*out++ = b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		*out++ = b32[(acc << (5 - bits)) & 31];
	*out = '\0';
}

cv_err cv_base32_decode(const char *s, uint8_t *out, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t got = 0;

	for (; *s != '\0'; s++) {
		const char *at;
		char c = *s;

		if (c == ' ' || c == '=')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if ((at = strchr(b32, c)) == NULL || c == '\0')
			return CV_E_MALFORMED;
		acc = (acc << 5) | (uint32_t)(at - b32);
		bits += 5;
		if (bits >= 8) {
			if (got == n)
				return CV_E_MALFORMED;
			out[got++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return got == n ? CV_OK : CV_E_MALFORMED;
}

/* Percent-encodes s (unreserved characters kept) at *p within end. */
static bool uri_put(char **p, const char *end, const char *s, bool encode)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = !encode || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		             (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		int n = plain ? snprintf(*p, (size_t)(end - *p), "%c", c)
		              : snprintf(*p, (size_t)(end - *p), "%%%02X", c);

		if (n < 0 || n >= end - *p)
			return false;
		*p += n;
	}
	return true;
}

cv_err cv_otpauth_uri(const char *issuer, const char *user, const uint8_t key[CV_TOTP_SECRET_LEN],
                      char out[CV_ADMIN_URI_MAX])
{
	char secret[CV_TOTP_B32_LEN + 1];
	char *p = out;
	const char *end = out + CV_ADMIN_URI_MAX;

	cv_base32_encode(key, CV_TOTP_SECRET_LEN, secret);
	if (!uri_put(&p, end, "otpauth://totp/", false) || !uri_put(&p, end, issuer, true) ||
	    !uri_put(&p, end, ":", false) || !uri_put(&p, end, user, true) ||
	    !uri_put(&p, end, "?secret=", false) || !uri_put(&p, end, secret, false) ||
	    !uri_put(&p, end, "&issuer=", false) || !uri_put(&p, end, issuer, true) ||
	    !uri_put(&p, end, "&algorithm=SHA1&digits=6&period=30", false))
		return CV_E_TOO_LARGE;
	return CV_OK;
}

bool cv_session_alive(uint64_t created, uint64_t seen, uint64_t now)
{
	return now >= created && now < created + CV_SESSION_MAX && now < seen + CV_SESSION_IDLE;
}

uint64_t cv_signin_lockout(uint32_t fails)
{
	uint64_t s = 30;

	if (fails < CV_SIGNIN_FREE_FAILS)
		return 0;
	for (uint32_t i = CV_SIGNIN_FREE_FAILS; i < fails && s < CV_SIGNIN_LOCK_MAX; i++)
		s *= 2;
	return s < CV_SIGNIN_LOCK_MAX ? s : CV_SIGNIN_LOCK_MAX;
}

/* ------------------------------------------------------------------------------------
 * The state and its file
 * ---------------------------------------------------------------------------------- */

typedef struct session {
	uint8_t id[32]; /* SHA-256 of the token */
	uint64_t created, seen;
} session;

typedef struct state {
	char user[CV_ADMIN_USER_MAX + 1];
	uint8_t salt[SALT_LEN], pw_hash[PW_HASH_LEN];
	uint32_t iterations;
	uint8_t totp[CV_TOTP_SECRET_LEN], pending[CV_TOTP_SECRET_LEN];
	bool has_pending;
	uint64_t last_step;
	uint8_t recovery[CV_RECOVERY_CODES][32]; /* SHA-256 of the normalised codes */
	size_t n_recovery;
	uint32_t fails;
	uint64_t locked_until;
	session sessions[CV_SESSIONS_MAX];
	size_t n_sessions;
} state;

/* The lock, held from before the read to after the rename: -1 on failure. */
static int lock_dir(const char *dir)
{
	char path[4096];
	int fd;

	if (snprintf(path, sizeof path, "%s/admin-auth.lock", dir) >= (int)sizeof path)
		return -1;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -1;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void unlock_dir(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

static bool get_hex(json_object *o, const char *key, uint8_t *out, size_t n)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) &&
	       strlen(json_object_get_string(v)) == 2 * n &&
	       cv_hex_decode(json_object_get_string(v), out, n) == CV_OK;
}

static bool get_u64(json_object *o, const char *key, uint64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return false;
	*out = (uint64_t)json_object_get_int64(v);
	return true;
}

static bool user_ok(const char *u)
{
	size_t n = strlen(u);

	return n >= 1 && n <= CV_ADMIN_USER_MAX &&
	       strspn(u, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Reads dir's admin file into st. CV_E_NOT_FOUND when there is none; CV_E_IO when it
 * cannot be read or is not an admin file. */
static cv_err load(const char *dir, state *st)
{
	char path[4096], *text = NULL;
	json_object *o = NULL, *pw, *list, *v;
	uint64_t n;
	ssize_t got;
	int fd;
	cv_err e = CV_E_IO;

	memset(st, 0, sizeof *st);
	if (snprintf(path, sizeof path, "%s/%s", dir, CV_ADMIN_FILE) >= (int)sizeof path)
		return CV_E_IO;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? CV_E_NOT_FOUND : CV_E_IO;
	if ((text = malloc(FILE_MAX + 1)) == NULL) {
		close(fd);
		return CV_E_NOMEM;
	}
	got = read(fd, text, FILE_MAX + 1);
	close(fd);
	if (got <= 0 || got > FILE_MAX || cv_json_parse(text, (size_t)got, &o) != CV_OK ||
	    !json_object_is_type(o, json_type_object))
		goto out;
	if (!json_object_object_get_ex(o, "user", &v) ||
	    !json_object_is_type(v, json_type_string) || !user_ok(json_object_get_string(v)))
		goto out;
	snprintf(st->user, sizeof st->user, "%s", json_object_get_string(v));
	if (!json_object_object_get_ex(o, "password", &pw) ||
	    !get_hex(pw, "salt", st->salt, SALT_LEN) ||
	    !get_hex(pw, "hash", st->pw_hash, PW_HASH_LEN) || !get_u64(pw, "iterations", &n) ||
	    n == 0 || n > UINT32_MAX)
		goto out;
	st->iterations = (uint32_t)n;
	if (!get_hex(o, "totp", st->totp, CV_TOTP_SECRET_LEN) ||
	    !get_u64(o, "last_step", &st->last_step) || !get_u64(o, "failures", &n) ||
	    !get_u64(o, "locked_until", &st->locked_until))
		goto out;
	st->fails = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	st->has_pending = get_hex(o, "totp_pending", st->pending, CV_TOTP_SECRET_LEN);
	if (cv_json_get_array(o, "recovery", &list) != CV_OK ||
	    json_object_array_length(list) > CV_RECOVERY_CODES)
		goto out;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		v = json_object_array_get_idx(list, i);
		if (!json_object_is_type(v, json_type_string) ||
		    cv_hex_decode(json_object_get_string(v), st->recovery[i], 32) != CV_OK)
			goto out;
		st->n_recovery++;
	}
	if (cv_json_get_array(o, "sessions", &list) != CV_OK ||
	    json_object_array_length(list) > CV_SESSIONS_MAX)
		goto out;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		session *s = &st->sessions[i];

		v = json_object_array_get_idx(list, i);
		if (!json_object_is_type(v, json_type_object) || !get_hex(v, "id", s->id, 32) ||
		    !get_u64(v, "created", &s->created) || !get_u64(v, "seen", &s->seen))
			goto out;
		st->n_sessions++;
	}
	e = CV_OK;
out:
	json_object_put(o);
	free(text);
	return e;
}

static void add_hex(json_object *o, const char *key, const uint8_t *p, size_t n)
{
	char hex[2 * 64 + 1];

	cv_hex_encode(p, n, hex);
	json_object_object_add(o, key, json_object_new_string(hex));
}

/* Writes st as dir's admin file: a temporary file (0600) synced, renamed over the old
 * one, and the directory synced, so that an answer given after it stands. */
static cv_err save(const char *dir, const state *st)
{
	char path[4096], tmp[4096];
	json_object *o = json_object_new_object(), *pw = json_object_new_object();
	json_object *rec = json_object_new_array(), *ses = json_object_new_array();
	const char *text;
	size_t len;
	int fd = -1, dfd;
	cv_err e = CV_E_IO;

	if (o == NULL || pw == NULL || rec == NULL || ses == NULL) {
		json_object_put(o);
		json_object_put(pw);
		json_object_put(rec);
		json_object_put(ses);
		return CV_E_NOMEM;
	}
	json_object_object_add(o, "format", json_object_new_string("chainvote-admin/1"));
	json_object_object_add(o, "user", json_object_new_string(st->user));
	json_object_object_add(pw, "kdf", json_object_new_string("pbkdf2-hmac-sha256"));
	json_object_object_add(pw, "iterations", json_object_new_int64(st->iterations));
	add_hex(pw, "salt", st->salt, SALT_LEN);
	add_hex(pw, "hash", st->pw_hash, PW_HASH_LEN);
	json_object_object_add(o, "password", pw);
	add_hex(o, "totp", st->totp, CV_TOTP_SECRET_LEN);
	if (st->has_pending)
		add_hex(o, "totp_pending", st->pending, CV_TOTP_SECRET_LEN);
	json_object_object_add(o, "last_step", json_object_new_int64((int64_t)st->last_step));
	for (size_t i = 0; i < st->n_recovery; i++) {
		char hex[65];

		cv_hex_encode(st->recovery[i], 32, hex);
		json_object_array_add(rec, json_object_new_string(hex));
	}
	json_object_object_add(o, "recovery", rec);
	json_object_object_add(o, "failures", json_object_new_int64(st->fails));
	json_object_object_add(o, "locked_until", json_object_new_int64((int64_t)st->locked_until));
	for (size_t i = 0; i < st->n_sessions; i++) {
		json_object *s = json_object_new_object();

		if (s == NULL)
			continue;
		add_hex(s, "id", st->sessions[i].id, 32);
		json_object_object_add(s, "created",
		                       json_object_new_int64((int64_t)st->sessions[i].created));
		json_object_object_add(s, "seen",
		                       json_object_new_int64((int64_t)st->sessions[i].seen));
		json_object_array_add(ses, s);
	}
	json_object_object_add(o, "sessions", ses);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	len = strlen(text);
	if (snprintf(path, sizeof path, "%s/%s", dir, CV_ADMIN_FILE) >= (int)sizeof path ||
	    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, CV_ADMIN_FILE) >= (int)sizeof tmp)
		goto out;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		goto out;
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0)
		goto out;
	close(fd);
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if (fsync(dfd) != 0) {
			close(dfd);
			goto out;
		}
		close(dfd);
	}
	e = CV_OK;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	json_object_put(o);
	return e;
}

/* ------------------------------------------------------------------------------------
 * Secrets
 * ---------------------------------------------------------------------------------- */

static cv_err kdf(const char *password, const uint8_t salt[SALT_LEN], uint32_t iterations,
                  uint8_t out[PW_HASH_LEN])
{
	return PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, SALT_LEN, (int)iterations,
	                         EVP_sha256(), PW_HASH_LEN, out) == 1
	           ? CV_OK
	           : CV_E_INTERNAL;
}

/* A recovery code as typed, without dashes or spaces and in lower case: 16 base32
 * characters, or false. */
static bool recovery_normal(const char *code, char out[17])
{
	size_t n = 0;

	for (; *code != '\0'; code++) {
		char c = *code;

		if (c == '-' || c == ' ')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (n == 16 || strchr("abcdefghijklmnopqrstuvwxyz234567", c) == NULL || c == '\0')
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == 16;
}

static void sha256_text(const char *s, uint8_t out[32])
{
	SHA256((const unsigned char *)s, strlen(s), out);
}

/* New recovery codes: shown in out, their hashes kept in st. */
static cv_err new_recovery(state *st, cv_admin_enrolment *out)
{
	for (size_t i = 0; i < CV_RECOVERY_CODES; i++) {
		uint8_t raw[10];
		char b[17], norm[17];
		char *c = out->recovery[i];

		if (cv_random(raw, sizeof raw) != CV_OK)
			return CV_E_INTERNAL;
		cv_base32_encode(raw, sizeof raw, b);
		for (size_t j = 0; j < 16; j++)
			b[j] = (char)(b[j] >= 'A' && b[j] <= 'Z' ? b[j] - 'A' + 'a' : b[j]);
		snprintf(c, CV_RECOVERY_CODE_LEN + 1, "%.4s-%.4s-%.4s-%.4s", b, b + 4, b + 8,
		         b + 12);
		recovery_normal(c, norm);
		sha256_text(norm, st->recovery[i]);
	}
	st->n_recovery = CV_RECOVERY_CODES;
	return CV_OK;
}

static cv_err show(const state *st, const uint8_t key[CV_TOTP_SECRET_LEN], cv_admin_enrolment *out)
{
	cv_base32_encode(key, CV_TOTP_SECRET_LEN, out->secret_b32);
	return cv_otpauth_uri(ISSUER, st->user, key, out->uri);
}

/* ------------------------------------------------------------------------------------
 * Operations
 * ---------------------------------------------------------------------------------- */

cv_err cv_admin_enrol(const char *dir, const char *user, const char *password,
                      const uint8_t *secret, cv_admin_enrolment *out)
{
	state st;
	int lk;
	cv_err e;

	memset(out, 0, sizeof *out);
	if (!user_ok(user) || password[0] == '\0' || strlen(password) > CV_ADMIN_PASSWORD_MAX)
		return CV_E_MALFORMED;
	memset(&st, 0, sizeof st);
	snprintf(st.user, sizeof st.user, "%s", user);
	st.iterations = cv_admin_kdf_iterations;
	if (secret != NULL)
		memcpy(st.totp, secret, CV_TOTP_SECRET_LEN);
	if (cv_random(st.salt, SALT_LEN) != CV_OK ||
	    (secret == NULL && cv_random(st.totp, CV_TOTP_SECRET_LEN) != CV_OK))
		return CV_E_INTERNAL;
	if ((e = kdf(password, st.salt, st.iterations, st.pw_hash)) != CV_OK ||
	    (e = new_recovery(&st, out)) != CV_OK || (e = show(&st, st.totp, out)) != CV_OK)
		goto out;
	if ((lk = lock_dir(dir)) < 0) {
		e = CV_E_IO;
		goto out;
	}
	e = save(dir, &st);
	unlock_dir(lk);
out:
	OPENSSL_cleanse(&st, sizeof st);
	if (e != CV_OK)
		OPENSSL_cleanse(out, sizeof *out);
	return e;
}

/* Spends the recovery code matching code, if one does. */
static bool spend_recovery(state *st, const char *code)
{
	char norm[17];
	uint8_t h[32];
	bool found = false;

	if (!recovery_normal(code, norm))
		return false;
	sha256_text(norm, h);
	for (size_t i = 0; i < st->n_recovery; i++) {
		if (!found && CRYPTO_memcmp(h, st->recovery[i], 32) == 0) {
			memmove(st->recovery[i], st->recovery[i + 1],
			        (st->n_recovery - i - 1) * sizeof st->recovery[0]);
			st->n_recovery--;
			found = true;
		}
	}
	return found;
}

/* Drops the sessions no longer alive at now; true when one was. */
static bool prune(state *st, uint64_t now)
{
	size_t kept = 0, had = st->n_sessions;

	for (size_t i = 0; i < had; i++)
		if (cv_session_alive(st->sessions[i].created, st->sessions[i].seen, now))
			st->sessions[kept++] = st->sessions[i];
	st->n_sessions = kept;
	return kept != had;
}

cv_err cv_admin_sign_in(const char *dir, const char *user, const char *password, const char *code,
                        uint64_t now, cv_signin *result, char token[CV_SESSION_HEX_LEN + 1],
                        uint64_t *retry_after, unsigned *recovery_left)
{
	state st;
	uint8_t h[PW_HASH_LEN], raw[32];
	uint64_t step = 0;
	bool ok;
	int lk;
	cv_err e;

	*result = CV_SIGNIN_REFUSED;
	*retry_after = 0;
	*recovery_left = 0;
	token[0] = '\0';
	if ((lk = lock_dir(dir)) < 0)
		return CV_E_IO;
	if ((e = load(dir, &st)) != CV_OK) {
		if (e == CV_E_NOT_FOUND) {
			*result = CV_SIGNIN_NOT_ENROLLED;
			e = CV_OK;
		}
		goto out;
	}
	if (st.locked_until > now) {
		*result = CV_SIGNIN_LOCKED;
		*retry_after = st.locked_until - now;
		goto out;
	}
	/* the password is checked whatever the user, so that the time tells nothing */
	if (strlen(password) > CV_ADMIN_PASSWORD_MAX ||
	    (e = kdf(password, st.salt, st.iterations, h)) != CV_OK)
		goto fail;
	ok = CRYPTO_memcmp(h, st.pw_hash, PW_HASH_LEN) == 0 && strcmp(user, st.user) == 0;
	if (ok && cv_totp_check(st.totp, now, code, st.last_step, &step))
		st.last_step = step;
	else if (!ok || !spend_recovery(&st, code))
		goto fail;
	st.fails = 0;
	st.locked_until = 0;
	prune(&st, now);
	if (st.n_sessions == CV_SESSIONS_MAX) {
		memmove(&st.sessions[0], &st.sessions[1],
		        (CV_SESSIONS_MAX - 1) * sizeof st.sessions[0]);
		st.n_sessions--;
	}
	if ((e = cv_random(raw, sizeof raw)) != CV_OK)
		goto out;
	cv_hex_encode(raw, sizeof raw, token);
	sha256_text(token, st.sessions[st.n_sessions].id);
	st.sessions[st.n_sessions].created = st.sessions[st.n_sessions].seen = now;
	st.n_sessions++;
	if ((e = save(dir, &st)) != CV_OK) {
		token[0] = '\0';
		goto out;
	}
	*result = CV_SIGNIN_OK;
	*recovery_left = (unsigned)st.n_recovery;
	goto out;
fail:
	if (e != CV_OK)
		goto out;
	if (st.fails < UINT32_MAX)
		st.fails++;
	if (cv_signin_lockout(st.fails) > 0)
		st.locked_until = now + cv_signin_lockout(st.fails);
	e = save(dir, &st);
out:
	unlock_dir(lk);
	OPENSSL_cleanse(&st, sizeof st);
	OPENSSL_cleanse(raw, sizeof raw);
	return e;
}

/* The index of token's session in st, or -1. */
static int find_session(const state *st, const char *token)
{
	uint8_t h[32];
	int at = -1;

	if (token == NULL || strlen(token) != CV_SESSION_HEX_LEN ||
	    strspn(token, "0123456789abcdef") != CV_SESSION_HEX_LEN)
		return -1;
	sha256_text(token, h);
	for (size_t i = 0; i < st->n_sessions; i++)
		if (CRYPTO_memcmp(h, st->sessions[i].id, 32) == 0)
			at = (int)i;
	return at;
}

cv_err cv_admin_session(const char *dir, const char *token, uint64_t now, bool *valid,
                        char user[CV_ADMIN_USER_MAX + 1])
{
	state st;
	bool dirty;
	int lk, at;
	cv_err e;

	*valid = false;
	user[0] = '\0';
	if (token == NULL || strlen(token) != CV_SESSION_HEX_LEN)
		return CV_OK; /* no file work for what cannot be a token */
	if ((lk = lock_dir(dir)) < 0)
		return CV_E_IO;
	if ((e = load(dir, &st)) != CV_OK) {
		if (e == CV_E_NOT_FOUND)
			e = CV_OK;
		goto out;
	}
	dirty = prune(&st, now);
	if ((at = find_session(&st, token)) >= 0) {
		*valid = true;
		snprintf(user, CV_ADMIN_USER_MAX + 1, "%s", st.user);
		if (now >= st.sessions[at].seen + SEEN_EVERY) {
			st.sessions[at].seen = now;
			dirty = true;
		}
	}
	if (dirty)
		e = save(dir, &st);
out:
	unlock_dir(lk);
	OPENSSL_cleanse(&st, sizeof st);
	return e;
}

cv_err cv_admin_sign_out(const char *dir, const char *token)
{
	state st;
	int lk, at;
	cv_err e;

	if ((lk = lock_dir(dir)) < 0)
		return CV_E_IO;
	if ((e = load(dir, &st)) != CV_OK) {
		if (e == CV_E_NOT_FOUND)
			e = CV_OK;
		goto out;
	}
	if ((at = find_session(&st, token)) >= 0) {
		st.sessions[at] = st.sessions[st.n_sessions - 1];
		st.n_sessions--;
		e = save(dir, &st);
	}
out:
	unlock_dir(lk);
	OPENSSL_cleanse(&st, sizeof st);
	return e;
}

cv_err cv_admin_rotate_begin(const char *dir, cv_admin_enrolment *out)
{
	state st;
	int lk;
	cv_err e;

	memset(out, 0, sizeof *out);
	if ((lk = lock_dir(dir)) < 0)
		return CV_E_IO;
	if ((e = load(dir, &st)) != CV_OK)
		goto out;
	if (cv_random(st.pending, CV_TOTP_SECRET_LEN) != CV_OK) {
		e = CV_E_INTERNAL;
		goto out;
	}
	st.has_pending = true;
	if ((e = show(&st, st.pending, out)) == CV_OK)
		e = save(dir, &st);
out:
	unlock_dir(lk);
	OPENSSL_cleanse(&st, sizeof st);
	return e;
}

cv_err cv_admin_rotate_confirm(const char *dir, const char *code, uint64_t now, bool *confirmed,
                               cv_admin_enrolment *out)
{
	state st;
	uint64_t step;
	int lk;
	cv_err e;

	*confirmed = false;
	memset(out, 0, sizeof *out);
	if ((lk = lock_dir(dir)) < 0)
		return CV_E_IO;
	if ((e = load(dir, &st)) != CV_OK)
		goto out;
	/* a new secret starts its own count of steps */
	if (!st.has_pending || !cv_totp_check(st.pending, now, code, 0, &step))
		goto out;
	memcpy(st.totp, st.pending, CV_TOTP_SECRET_LEN);
	st.has_pending = false;
	st.last_step = step;
	if ((e = new_recovery(&st, out)) != CV_OK || (e = show(&st, st.totp, out)) != CV_OK ||
	    (e = save(dir, &st)) != CV_OK)
		goto out;
	*confirmed = true;
out:
	unlock_dir(lk);
	OPENSSL_cleanse(&st, sizeof st);
	if (!*confirmed)
		OPENSSL_cleanse(out, sizeof *out);
	return e;
}
