/* Fuzz target: an approval as a validator posts it ({"validator_key", "signature"}). An
 * accepted approval must come back unchanged through JSON text. Then the rule-6 checks
 * run on it: refused by a genesis with no validators, and, when the key is a valid
 * point, checked in full (signature decoding and verification) against a genesis whose
 * only validator is that key. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t block_hash[CV_HASH_LEN] = {0x5a};
	json_object *in = NULL, *out = NULL, *again = NULL;
	cv_genesis empty = {0}, one = {0};
	cv_validator signer = {.name = "fuzz"};
	cv_approval a, b;

	if (cv_json_parse((const char *)data, size, &in) != CV_OK)
		return 0;
	if (cv_approval_from_json(in, &a) != CV_OK)
		goto out;
	out = cv_approval_to_json(&a);
	FUZZ_CHECK(out != NULL);
	again = fuzz_reparse(out);
	FUZZ_CHECK(cv_approval_from_json(again, &b) == CV_OK);
	FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	FUZZ_CHECK(cv_check_approval(&empty, block_hash, &a) != CV_OK);
	FUZZ_CHECK(cv_check_rejection(&empty, block_hash, "fuzz", &a) != CV_OK);
	if (cv_pubkey_check(a.validator_key) == CV_OK) {
		memcpy(signer.key, a.validator_key, CV_KEY_LEN);
		one.validators = &signer;
		one.n_validators = 1;
		(void)cv_check_approval(&one, block_hash, &a);
		(void)cv_check_rejection(&one, block_hash, "fuzz", &a);
	}
out:
	json_object_put(again);
	json_object_put(out);
	json_object_put(in);
	return 0;
}
