/* Fuzz target: what a secret election's ceremony and tally take from others (DESIGN 6 and
 * 6.2). Raw bytes go to the leaf decoders of decryption shares and ballots (an accepted
 * leaf must encode back to the same bytes). JSON goes to every ceremony reader: a trustee
 * entry, a sealed share, a share check or complaint, a decryption share, and the
 * ceremony as a trustee's client reads it. Whatever a reader accepts must come back
 * unchanged through the writer, text and the reader again; then it is checked as the
 * service checks it (proofs, signatures, the sealed share opened with a key of ours when
 * it is addressed to it), which must not crash whatever it answers. */
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "fuzz.h"
#include "sealed.h"
#include "secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fuzzer's own key (d = 1: its public key is G) and G itself, which stands for every
 * K_j and α_i a share is checked against. */
static cv_privkey *own_key;
static uint8_t G[CV_POINT_LEN];
static uint8_t (*alphas)[CV_POINT_LEN];

static void setup(void)
{
	uint8_t one[CV_SCALAR_LEN] = {0};

	if (own_key != NULL)
		return;
	one[CV_SCALAR_LEN - 1] = 1;
	FUZZ_CHECK(cv_privkey_from_scalar(one, &own_key) == CV_OK);
	cv_privkey_public(own_key, G);
	alphas = calloc(CV_MAX_K, CV_POINT_LEN);
	FUZZ_CHECK(alphas != NULL);
	for (size_t i = 0; i < CV_MAX_K; i++)
		memcpy(alphas[i], G, CV_POINT_LEN);
}

static void leaves(const uint8_t *data, size_t size)
{
	cv_decryption d = {0};
	cv_ballot bl = {0};
	cv_buf b = {0};

	if (cv_decryption_from_leaf(data, size, &d) == CV_OK) {
		FUZZ_CHECK(cv_decryption_leaf(&d, &b) == CV_OK);
		FUZZ_CHECK(b.len == size && memcmp(b.data, data, size) == 0);
		(void)cv_decryption_verify(&d, G, (const uint8_t(*)[CV_POINT_LEN])alphas, d.k,
		                           NULL);
	}
	cv_buf_free(&b);
	if (cv_ballot_from_leaf(data, size, &bl) == CV_OK) {
		FUZZ_CHECK(cv_ballot_leaf(&bl, &b) == CV_OK);
		FUZZ_CHECK(b.len == size && memcmp(b.data, data, size) == 0);
	}
	cv_buf_free(&b);
	cv_decryption_free(&d);
	cv_ballot_free(&bl);
}

static void trustee(const json_object *in)
{
	json_object *out = NULL, *again = NULL;
	cv_trustee t = {0}, u = {0};
	cv_buf a = {0}, b = {0};

	if (cv_trustee_from_json(in, &t) != CV_OK)
		goto out;
	FUZZ_CHECK((out = cv_trustee_to_json(&t)) != NULL);
	again = fuzz_reparse(out);
	FUZZ_CHECK(cv_trustee_from_json(again, &u) == CV_OK);
	FUZZ_CHECK(cv_trustee_entry(&t, true, &a) == CV_OK);
	FUZZ_CHECK(cv_trustee_entry(&u, true, &b) == CV_OK);
	FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	(void)cv_trustee_verify(&t);
out:
	cv_buf_free(&a);
	cv_buf_free(&b);
	cv_trustee_free(&t);
	cv_trustee_free(&u);
	json_object_put(again);
	json_object_put(out);
}

static void sealed(const json_object *in)
{
	json_object *out = NULL, *again = NULL;
	cv_sealed_share sh, back;
	uint8_t value[CV_SCALAR_LEN];

	if (cv_api_sealed_read(in, &sh) != CV_OK)
		return;
	FUZZ_CHECK((out = cv_api_sealed_json(&sh)) != NULL);
	again = fuzz_reparse(out);
	FUZZ_CHECK(cv_api_sealed_read(again, &back) == CV_OK);
	FUZZ_CHECK(memcmp(&sh, &back, sizeof(sh)) == 0);
	(void)cv_sealed_verify(&sh);
	/* opened as its recipient would open it: to us, whoever it was sealed to */
	memcpy(sh.recipient, G, CV_KEY_LEN);
	if (cv_sealed_open(&sh, own_key, value) != CV_OK) {
		static const uint8_t zero[CV_SCALAR_LEN];

		FUZZ_CHECK(memcmp(value, zero, CV_SCALAR_LEN) == 0);
	}
	json_object_put(again);
	json_object_put(out);
}

static void check(const json_object *in)
{
	json_object *out = NULL, *again = NULL;
	cv_share_check c, back;
	cv_buf a = {0}, b = {0};

	if (cv_api_check_read(in, &c) != CV_OK)
		return;
	FUZZ_CHECK((out = cv_api_check_json(&c)) != NULL);
	again = fuzz_reparse(out);
	FUZZ_CHECK(cv_api_check_read(again, &back) == CV_OK);
	FUZZ_CHECK(cv_share_check_message(&c, &a) == CV_OK);
	FUZZ_CHECK(cv_share_check_message(&back, &b) == CV_OK);
	FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	FUZZ_CHECK(memcmp(c.signature, back.signature, CV_SIG_LEN) == 0);
	(void)cv_share_check_verify(&c);
	cv_buf_free(&a);
	cv_buf_free(&b);
	json_object_put(again);
	json_object_put(out);
}

static void decryption(const json_object *in)
{
	json_object *out = NULL, *again = NULL;
	cv_decryption d = {0}, e = {0};
	cv_buf a = {0}, b = {0};

	if (cv_decryption_from_json(in, &d) != CV_OK)
		goto out;
	FUZZ_CHECK((out = cv_decryption_to_json(&d, true)) != NULL);
	again = fuzz_reparse(out);
	/* the txid written is the computed one, so the way in must not call it bad */
	FUZZ_CHECK(cv_decryption_from_json(again, &e) == CV_OK);
	FUZZ_CHECK(cv_decryption_leaf(&d, &a) == CV_OK);
	FUZZ_CHECK(cv_decryption_leaf(&e, &b) == CV_OK);
	FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	(void)cv_decryption_verify(&d, G, (const uint8_t(*)[CV_POINT_LEN])alphas, d.k, NULL);
out:
	cv_buf_free(&a);
	cv_buf_free(&b);
	cv_decryption_free(&d);
	cv_decryption_free(&e);
	json_object_put(again);
	json_object_put(out);
}

/* The ceremony as GET /api/ceremony gives it to a trustee's client: what the reader keeps
 * must write back to a text that reads to the same again (a fixed point). */
static void ceremony(const json_object *in)
{
	json_object *out = NULL, *again = NULL, *out2 = NULL;
	cv_ceremony c = {0}, d = {0};

	if (cv_api_ceremony_read(in, &c) != CV_OK)
		goto out;
	FUZZ_CHECK((out = cv_api_ceremony_json(&c)) != NULL);
	again = fuzz_reparse(out);
	FUZZ_CHECK(cv_api_ceremony_read(again, &d) == CV_OK);
	FUZZ_CHECK((out2 = cv_api_ceremony_json(&d)) != NULL);
	FUZZ_CHECK(strcmp(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN),
	                  json_object_to_json_string_ext(out2, JSON_C_TO_STRING_PLAIN)) == 0);
out:
	cv_ceremony_free(&c);
	cv_ceremony_free(&d);
	json_object_put(out2);
	json_object_put(again);
	json_object_put(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *in = NULL;

	setup();
	leaves(data, size);
	if (cv_json_parse((const char *)data, size, &in) != CV_OK)
		return 0;
	trustee(in);
	sealed(in);
	check(in);
	decryption(in);
	ceremony(in);
	json_object_put(in);
	return 0;
}
