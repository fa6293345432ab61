/* Fuzz target: a key file as the browser or `chainvote keygen` writes it, read by
 * cv_keyfile_parse (the CLI's vote, approve and reject commands load one). A key file
 * that is accepted must be written back by cv_keyfile_format to a text that reads to
 * the same key, and that key must sign what its public key verifies. */
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char msg[] = "fuzz";
	cv_privkey *k = NULL, *again = NULL;
	uint8_t pub[CV_KEY_LEN], pub_again[CV_KEY_LEN], d[CV_SCALAR_LEN], d_again[CV_SCALAR_LEN];
	uint8_t sig[CV_SIG_LEN];
	char *text = NULL;

	if (cv_keyfile_parse((const char *)data, size, &k) != CV_OK) {
		FUZZ_CHECK(k == NULL);
		return 0;
	}
	FUZZ_CHECK(cv_keyfile_format(k, &text) == CV_OK);
	FUZZ_CHECK(cv_keyfile_parse(text, strlen(text), &again) == CV_OK);
	cv_privkey_public(k, pub);
	cv_privkey_public(again, pub_again);
	cv_privkey_scalar(k, d);
	cv_privkey_scalar(again, d_again);
	FUZZ_CHECK(memcmp(pub, pub_again, CV_KEY_LEN) == 0);
	FUZZ_CHECK(memcmp(d, d_again, CV_SCALAR_LEN) == 0);
	FUZZ_CHECK(cv_pubkey_check(pub) == CV_OK);
	FUZZ_CHECK(cv_sign(k, msg, sizeof(msg) - 1, sig) == CV_OK);
	FUZZ_CHECK(cv_verify(pub, msg, sizeof(msg) - 1, sig) == CV_OK);
	free(text);
	cv_privkey_free(again);
	cv_privkey_free(k);
	return 0;
}
