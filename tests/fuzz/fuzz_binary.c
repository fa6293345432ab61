/* Fuzz target: the binary encodings. The first input byte picks one, the rest is its
 * input: the store's record decoders (block, vote, header, settings, text: a damaged
 * database must be refused, never misread), DER signatures both ways, exact hex, the
 * RFC 6962 audit paths, and the section-2 entry and message encoders. A decoder that
 * accepts bytes must give them back unchanged through its encoder (one spelling per
 * value), and every encoder must write exactly the layout DESIGN section 2 gives. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "merkle.h"
#include "store_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void store_block(const uint8_t *p, size_t n)
{
	cv_block b;
	cv_buf out = {0};

	if (cv_st_block_decode(p, n, &b) != CV_OK)
		return;
	FUZZ_CHECK(cv_st_block_encode(&b, &out) == CV_OK);
	FUZZ_CHECK(out.len == n && memcmp(out.data, p, n) == 0);
	cv_buf_free(&out);
	cv_block_free(&b);
}

static void store_vote(const uint8_t *p, size_t n)
{
	uint8_t leaf[CV_LEAF_LEN];
	cv_vote v;

	if (cv_st_vote_decode(p, n, &v) != CV_OK)
		return;
	cv_vote_leaf(&v, leaf);
	FUZZ_CHECK(n == CV_LEAF_LEN && memcmp(leaf, p, n) == 0);
}

static void store_header(const uint8_t *p, size_t n)
{
	uint8_t enc[CV_HEADER_LEN];
	cv_header h;

	if (cv_st_header_decode(p, n, &h) != CV_OK)
		return;
	cv_header_encode(&h, enc);
	FUZZ_CHECK(n == CV_HEADER_LEN && memcmp(enc, p, n) == 0);
}

static void store_settings(const uint8_t *p, size_t n)
{
	cv_settings st, again;
	cv_buf out = {0};
	size_t flag;

	if (cv_st_settings_decode(p, n, &st) != CV_OK)
		return;
	FUZZ_CHECK(cv_st_settings_encode(&st, &out) == CV_OK);
	FUZZ_CHECK(out.len == n);
	FUZZ_CHECK(cv_st_settings_decode(out.data, out.len, &again) == CV_OK);
	FUZZ_CHECK(memcmp(&st, &again, sizeof st) == 0);
	/* the results flag (last of an open election's record, before a secret one's two
	 * bytes) reads any non-zero byte as true and writes it as 1; every other byte is
	 * written back as it was */
	flag = st.secret ? n - 3 : n - 1;
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(out.data[i] == p[i] || (i == flag && p[i] != 0 && out.data[i] == 1));
	cv_buf_free(&out);
}

static void store_text(const uint8_t *p, size_t n)
{
	char text[CV_TEXT_MAX + 1];
	cv_buf out = {0};

	if (cv_st_text_decode(p, n, text) != CV_OK)
		return;
	FUZZ_CHECK(cv_buf_text(&out, text) == CV_OK);
	FUZZ_CHECK(out.len == n && memcmp(out.data, p, n) == 0);
	cv_buf_free(&out);
}

static void der_in(const uint8_t *p, size_t n)
{
	uint8_t sig[CV_SIG_LEN], der[72];
	size_t der_len;

	if (cv_sig_from_der(p, n, sig) != CV_OK)
		return;
	FUZZ_CHECK(cv_sig_to_der(sig, der, &der_len) == CV_OK);
	FUZZ_CHECK(der_len == n && memcmp(der, p, n) == 0);
}

static void der_out(const uint8_t *p, size_t n)
{
	uint8_t sig[CV_SIG_LEN], der[72];
	size_t der_len;

	if (n < CV_SIG_LEN)
		return;
	FUZZ_CHECK(cv_sig_to_der(p, der, &der_len) == CV_OK && der_len <= sizeof(der));
	FUZZ_CHECK(cv_sig_from_der(der, der_len, sig) == CV_OK);
	FUZZ_CHECK(memcmp(sig, p, CV_SIG_LEN) == 0);
}

/* The input up to its first NUL is the hex text, as a C string reaches the decoder. */
static void hex(const uint8_t *p, size_t n)
{
	char *text = malloc(n + 1), *again = malloc(n + 1);
	uint8_t *bytes = malloc(n / 2 + 1);
	size_t len;

	FUZZ_CHECK(text != NULL && again != NULL && bytes != NULL);
	memcpy(text, p, n);
	text[n] = '\0';
	len = strlen(text);
	if (cv_hex_decode(text, bytes, len / 2) == CV_OK) {
		cv_hex_encode(bytes, len / 2, again);
		FUZZ_CHECK(len % 2 == 0 && strcmp(again, text) == 0);
	}
	/* one byte short or long of the text is always refused */
	FUZZ_CHECK(cv_hex_decode(text, bytes, len / 2 + 1) != CV_OK);
	if (len >= 4)
		FUZZ_CHECK(cv_hex_decode(text, bytes, len / 2 - 1) != CV_OK);
	free(bytes);
	free(again);
	free(text);
}

/* Paths of a tree built from the input verify; a path read from the input is only run
 * (any answer will do, but within its bounds). */
static void merkle(const uint8_t *p, size_t n)
{
	uint8_t leaves[40][CV_HASH_LEN], root[CV_HASH_LEN], path[CV_MERKLE_MAX_PATH][CV_HASH_LEN];
	size_t n_leaves, path_len;
	uint64_t index, tree_size;

	if (n < 17)
		return;
	n_leaves = 1 + p[0] % 40;
	for (size_t i = 0; i < n_leaves; i++)
		cv_merkle_leaf_hash(p, i < n ? i : n, leaves[i]);
	FUZZ_CHECK(cv_merkle_root((const uint8_t(*)[CV_HASH_LEN])leaves, n_leaves, root) == CV_OK);
	for (size_t i = 0; i < n_leaves; i++) {
		FUZZ_CHECK(cv_merkle_path((const uint8_t(*)[CV_HASH_LEN])leaves, n_leaves, i, path,
		                          &path_len) == CV_OK);
		FUZZ_CHECK(cv_merkle_verify(leaves[i], i, n_leaves,
		                            (const uint8_t(*)[CV_HASH_LEN])path, path_len, root));
		if (path_len > 0)
			FUZZ_CHECK(!cv_merkle_verify(leaves[i], i, n_leaves,
			                             (const uint8_t(*)[CV_HASH_LEN])path,
			                             path_len - 1, root));
	}
	index = cv_get_u64(p + 1);
	tree_size = cv_get_u64(p + 9);
	p += 17;
	n -= 17;
	if (n < 2 * CV_HASH_LEN)
		return;
	path_len = (n - 2 * CV_HASH_LEN) / CV_HASH_LEN;
	(void)cv_merkle_verify(p, index, tree_size,
	                       (const uint8_t(*)[CV_HASH_LEN])(p + 2 * CV_HASH_LEN), path_len,
	                       p + CV_HASH_LEN);
}

/* The section-2 layouts of the texts' carriers: election and candidate entries and a
 * rejection message, with a text taken from the input. */
static void entries(const uint8_t *p, size_t n)
{
	char text[CV_TEXT_MAX + 64];
	size_t len = n < sizeof(text) - 1 ? n : sizeof(text) - 1, tlen;
	cv_election e = {.threshold = 2, .difficulty = 8, .max_block_votes = 7};
	cv_candidate c = {.id = 3};
	uint8_t hash[CV_HASH_LEN] = {0};
	cv_buf b = {0};
	cv_err rc;

	memcpy(text, p, len);
	text[len] = '\0';
	tlen = strlen(text);

	rc = cv_rejection_message(hash, text, &b);
	FUZZ_CHECK((rc == CV_OK) == (tlen <= CV_TEXT_MAX));
	if (rc == CV_OK)
		FUZZ_CHECK(b.len == strlen(CV_TAG_REJECT) + CV_HASH_LEN + 2 + tlen &&
		           memcmp(b.data + b.len - tlen, text, tlen) == 0);
	else
		FUZZ_CHECK(b.len == 0);
	if (tlen > CV_TEXT_MAX)
		goto out;
	memcpy(e.title, text, tlen + 1);
	memcpy(c.name, text, tlen + 1);
	cv_buf_reset(&b);
	if (cv_election_entry(&e, &b) == CV_OK)
		FUZZ_CHECK(b.len == strlen(CV_TAG_ELECTION) + 2 + tlen + 1 + 1 + 4 + 8 + 8);
	else
		FUZZ_CHECK(b.len == 0);
	cv_buf_reset(&b);
	if (cv_candidate_entry(&c, &b) == CV_OK)
		FUZZ_CHECK(b.len == strlen(CV_TAG_CANDIDATE) + 4 + 2 + tlen);
	else
		FUZZ_CHECK(b.len == 0);
out:
	cv_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const decoders[])(const uint8_t *, size_t) = {
	    store_block, store_vote, store_header, store_settings, store_text,
	    der_in,      der_out,    hex,          merkle,         entries,
	};

	if (size == 0)
		return 0;
	decoders[data[0] % (sizeof(decoders) / sizeof(decoders[0]))](data + 1, size - 1);
	return 0;
}
