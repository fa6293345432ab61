/* Signed acceptance of votes, the receipt file and the receipt's match against a
 * committed vote; the service key's file. The format is docs/ACCEPTANCE.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acceptance.h"
#include "bytes.h"
#include "json.h"

#define KEY_FILE_MAX 4096 /* a key file is about 330 bytes */

void cv_acceptance_message(const uint8_t txid[CV_HASH_LEN], uint64_t accepted_at,
                           uint8_t msg[CV_ACCEPT_MSG_LEN])
{
	size_t tag_len = sizeof(CV_ACCEPT_TAG) - 1;

	_Static_assert(sizeof(CV_ACCEPT_TAG) - 1 + CV_HASH_LEN + 8 == CV_ACCEPT_MSG_LEN,
	               "the acceptance message is tag || txid || u64");
	memcpy(msg, CV_ACCEPT_TAG, tag_len);
	memcpy(msg + tag_len, txid, CV_HASH_LEN);
	cv_put_u64(msg + tag_len + CV_HASH_LEN, accepted_at);
}

cv_err cv_acceptance_sign(const cv_privkey *k, const uint8_t txid[CV_HASH_LEN],
                          uint64_t accepted_at, cv_acceptance *a)
{
	uint8_t msg[CV_ACCEPT_MSG_LEN];

	memset(a, 0, sizeof *a);
	memcpy(a->txid, txid, CV_HASH_LEN);
	a->accepted_at = accepted_at;
	cv_privkey_public(k, a->service_key);
	cv_acceptance_message(txid, accepted_at, msg);
	return cv_sign(k, msg, sizeof msg, a->signature) == CV_OK ? CV_OK : CV_E_INTERNAL;
}

cv_err cv_acceptance_verify(const cv_acceptance *a, const uint8_t want_key[CV_KEY_LEN])
{
	uint8_t msg[CV_ACCEPT_MSG_LEN];

	if (want_key != NULL && memcmp(want_key, a->service_key, CV_KEY_LEN) != 0)
		return CV_E_BAD_KEY;
	cv_acceptance_message(a->txid, a->accepted_at, msg);
	return cv_verify(a->service_key, msg, sizeof msg, a->signature);
}

json_object *cv_acceptance_to_json(const cv_acceptance *a)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	cv_json_add_hex(o, "txid", a->txid, CV_HASH_LEN);
	json_object_object_add(o, "accepted_at", json_object_new_uint64(a->accepted_at));
	cv_json_add_hex(o, "service_key", a->service_key, CV_KEY_LEN);
	cv_json_add_hex(o, "signature", a->signature, CV_SIG_LEN);
	return o;
}

static const char *const acceptance_keys[] = {"txid", "accepted_at", "service_key", "signature",
                                              NULL};
static const char *const receipt_keys[] = {"format", "vote", "acceptance", NULL};
static const char *const ballot_receipt_keys[] = {"format", "ballot", "acceptance", NULL};

cv_err cv_acceptance_from_json(const json_object *o, cv_acceptance *a)
{
	memset(a, 0, sizeof *a);
	if (cv_json_only_keys(o, acceptance_keys) != CV_OK ||
	    cv_json_get_hex(o, "txid", a->txid, CV_HASH_LEN) != CV_OK ||
	    cv_json_get_u64(o, "accepted_at", UINT64_MAX, &a->accepted_at) != CV_OK ||
	    cv_json_get_hex(o, "service_key", a->service_key, CV_KEY_LEN) != CV_OK ||
	    cv_json_get_hex(o, "signature", a->signature, CV_SIG_LEN) != CV_OK) {
		memset(a, 0, sizeof *a);
		return CV_E_MALFORMED;
	}
	return CV_OK;
}

/* A receipt file: its format, the item (taken) under name, and the acceptance. */
static json_object *receipt_file(const char *name, json_object *item, const cv_acceptance *a)
{
	json_object *o = json_object_new_object(), *acc = cv_acceptance_to_json(a);

	if (o == NULL || item == NULL || acc == NULL) {
		json_object_put(o);
		json_object_put(item);
		json_object_put(acc);
		return NULL;
	}
	json_object_object_add(o, "format", json_object_new_string(CV_RECEIPT_FORMAT));
	json_object_object_add(o, name, item);
	json_object_object_add(o, "acceptance", acc);
	return o;
}

json_object *cv_receipt_file_to_json(const cv_vote *v, const cv_acceptance *a)
{
	return receipt_file("vote", cv_vote_to_json(v, true), a);
}

json_object *cv_receipt_file_ballot_to_json(json_object *ballot, const cv_acceptance *a)
{
	return receipt_file("ballot", ballot, a);
}

/* A receipt file's frame: exactly keys, this format, the item under name (into *item) and
 * the acceptance (into *acc). CV_E_MALFORMED otherwise. */
static cv_err receipt_frame(const json_object *o, const char *const *keys, const char *name,
                            json_object **item, json_object **acc)
{
	json_object *format;

	if (cv_json_only_keys(o, keys) != CV_OK ||
	    !json_object_object_get_ex(o, "format", &format) ||
	    !json_object_is_type(format, json_type_string) ||
	    strcmp(json_object_get_string(format), CV_RECEIPT_FORMAT) != 0 ||
	    !json_object_object_get_ex(o, name, item) ||
	    !json_object_object_get_ex(o, "acceptance", acc))
		return CV_E_MALFORMED;
	return CV_OK;
}

cv_err cv_receipt_file_from_json(const json_object *o, cv_vote *v, cv_acceptance *a)
{
	json_object *vote, *acc;
	uint8_t txid[CV_HASH_LEN];
	cv_err e;

	memset(v, 0, sizeof *v);
	memset(a, 0, sizeof *a);
	if ((e = receipt_frame(o, receipt_keys, "vote", &vote, &acc)) != CV_OK)
		return e;
	if ((e = cv_vote_from_json(vote, v)) != CV_OK ||
	    (e = cv_acceptance_from_json(acc, a)) != CV_OK)
		goto fail;
	cv_vote_txid(v, txid);
	if (memcmp(txid, a->txid, CV_HASH_LEN) != 0) {
		e = CV_E_BAD_HASH;
		goto fail;
	}
	return CV_OK;
fail:
	memset(v, 0, sizeof *v);
	memset(a, 0, sizeof *a);
	return e;
}

bool cv_receipt_file_is_ballot(const json_object *o)
{
	return json_object_is_type(o, json_type_object) &&
	       json_object_object_get_ex(o, "ballot", NULL);
}

cv_err cv_receipt_file_ballot_from_json(const json_object *o, cv_ballot *b, cv_acceptance *a)
{
	json_object *ballot, *acc;
	uint8_t txid[CV_HASH_LEN];
	cv_err e;

	memset(b, 0, sizeof *b);
	memset(a, 0, sizeof *a);
	if ((e = receipt_frame(o, ballot_receipt_keys, "ballot", &ballot, &acc)) != CV_OK)
		return e;
	if ((e = cv_ballot_from_json(ballot, b)) != CV_OK)
		return e; /* b holds nothing on failure */
	if (b->is_vote)
		e = CV_E_MALFORMED;
	else if ((e = cv_acceptance_from_json(acc, a)) == CV_OK &&
	         (e = cv_ballot_txid(b, txid)) == CV_OK && memcmp(txid, a->txid, CV_HASH_LEN) != 0)
		e = CV_E_BAD_HASH;
	if (e != CV_OK) {
		cv_ballot_free(b);
		memset(b, 0, sizeof *b);
		memset(a, 0, sizeof *a);
	}
	return e;
}

cv_err cv_receipt_match_ballot(const cv_ballot *committed, const uint8_t txid[CV_HASH_LEN],
                               const uint8_t voter_key[CV_KEY_LEN])
{
	uint8_t computed[CV_HASH_LEN];
	cv_buf payload = {0};
	cv_err e;

	if (committed->is_vote)
		return CV_E_BAD_HASH;
	if ((e = cv_ballot_payload(committed, &payload)) != CV_OK)
		return e;
	cv_sha256(payload.data, payload.len, computed);
	if (memcmp(computed, txid, CV_HASH_LEN) != 0)
		e = CV_E_BAD_HASH;
	else if (voter_key != NULL && memcmp(committed->voter_key, voter_key, CV_KEY_LEN) != 0)
		e = CV_E_BAD_KEY;
	else
		e = cv_verify(committed->voter_key, payload.data, payload.len,
		              committed->signature);
	cv_buf_free(&payload);
	return e;
}

cv_err cv_receipt_match(const cv_vote *committed, const uint8_t txid[CV_HASH_LEN],
                        const uint8_t voter_key[CV_KEY_LEN])
{
	uint8_t payload[CV_PAYLOAD_LEN], computed[CV_HASH_LEN];

	cv_vote_payload(committed, payload);
	cv_sha256(payload, sizeof payload, computed);
	if (memcmp(computed, txid, CV_HASH_LEN) != 0)
		return CV_E_BAD_HASH;
	if (voter_key != NULL && memcmp(committed->voter_key, voter_key, CV_KEY_LEN) != 0)
		return CV_E_BAD_KEY;
	return cv_verify(committed->voter_key, payload, sizeof payload, committed->signature);
}

/* ---- the service key's file ---- */

/* Reads an existing key file through fd: a regular file of at most KEY_FILE_MAX bytes
 * that only its owner may read or write. Closes fd. */
static cv_err read_key_fd(int fd, cv_privkey **out)
{
	char text[KEY_FILE_MAX + 1];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	cv_err e = CV_E_IO;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
	    st.st_size > KEY_FILE_MAX)
		goto out;
	while (len < sizeof text) {
		n = read(fd, text + len, sizeof text - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > KEY_FILE_MAX)
		goto out;
	e = cv_keyfile_parse(text, len, out);
out:
	/* the private scalar passed through this buffer */
	explicit_bzero(text, sizeof text);
	close(fd);
	return e;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Makes a new key and links it in as path; CV_E_EXISTS when another process got there
 * first (its key then stands). */
static cv_err create_key_file(const char *dir, const char *path)
{
	char tmp[4096];
	cv_privkey *k = NULL;
	char *text = NULL;
	int fd = -1, dfd = -1;
	cv_err e;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s/.%s.%ld", dir, CV_SERVICE_KEY_FILE,
	                     (long)getpid()) >= sizeof tmp)
		return CV_E_TOO_LARGE;
	if ((e = cv_privkey_generate(&k)) != CV_OK || (e = cv_keyfile_format(k, &text)) != CV_OK)
		goto out;
	unlink(tmp); /* a leftover of a process with our pid that died here */
	e = CV_E_IO;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		goto out;
	if (write_all(fd, text, strlen(text)) != 0 || write_all(fd, "\n", 1) != 0 || fsync(fd) != 0)
		goto out;
	/* link, unlike rename, never replaces: the first key linked is the service's key */
	if (link(tmp, path) != 0) {
		e = errno == EEXIST ? CV_E_EXISTS : CV_E_IO;
		goto out;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) != 0)
		goto out;
	e = CV_OK;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (dfd >= 0)
		close(dfd);
	if (text != NULL) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	cv_privkey_free(k);
	return e;
}

cv_err cv_service_key_load(const char *dir, bool create, cv_privkey **out)
{
	char path[4096];
	int fd;
	cv_err e;

	*out = NULL;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, CV_SERVICE_KEY_FILE) >= sizeof path)
		return CV_E_TOO_LARGE;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (!create)
			return CV_E_NOT_FOUND;
		e = create_key_file(dir, path);
		if (e != CV_OK && e != CV_E_EXISTS)
			return e;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return CV_E_IO;
	return read_key_fd(fd, out);
}
