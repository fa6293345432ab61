/* Fuzz target: a vote as a voter posts it (strict JSON, then cv_vote_from_json). A vote
 * that is accepted must survive the way back: to JSON with its txid, to text, and in
 * again, with the same leaf bytes. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *in = NULL, *out = NULL, *again = NULL;
	uint8_t leaf[CV_LEAF_LEN], leaf_again[CV_LEAF_LEN];
	cv_vote v, w;

	if (cv_json_parse((const char *)data, size, &in) != CV_OK)
		return 0;
	if (cv_vote_from_json(in, &v) != CV_OK)
		goto out;
	out = cv_vote_to_json(&v, true);
	FUZZ_CHECK(out != NULL);
	again = fuzz_reparse(out);
	/* the txid written is the computed one, so the way in must not call it bad */
	FUZZ_CHECK(cv_vote_from_json(again, &w) == CV_OK);
	cv_vote_leaf(&v, leaf);
	cv_vote_leaf(&w, leaf_again);
	FUZZ_CHECK(memcmp(leaf, leaf_again, CV_LEAF_LEN) == 0);
out:
	json_object_put(again);
	json_object_put(out);
	json_object_put(in);
	return 0;
}
