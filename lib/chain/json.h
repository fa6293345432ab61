/* Public JSON (DESIGN section 3) both ways with json-c. Parsing is strict: depth limit,
 * UTF-8 validation, no trailing bytes, exact key sets (unknown keys are rejected), exact
 * types (integers are JSON integers, never floats or strings), exact hex lengths.
 * Output is stable: keys in the order section 3 lists them. */
#ifndef CV_JSON_H
#define CV_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "chain.h"
#include "err.h"

#define CV_JSON_MAX_DEPTH 16

/* Parses exactly `len` bytes as one JSON value. On success *out is a new reference the
 * caller puts. CV_E_MALFORMED for anything else (including trailing bytes, bad UTF-8,
 * depth over CV_JSON_MAX_DEPTH, NUL bytes). */
cv_err cv_json_parse(const char *text, size_t len, json_object **out);

/* Field readers over an object `o` (borrowed). Each returns CV_E_MALFORMED when the key
 * is missing or of the wrong type/shape. */
cv_err cv_json_get_hex(const json_object *o, const char *key, uint8_t *out, size_t n);
cv_err cv_json_get_u64(const json_object *o, const char *key, uint64_t max, uint64_t *out);
/* The array at key, lent from o. */
cv_err cv_json_get_array(const json_object *o, const char *key, json_object **out);
/* A string of valid UTF-8 (cv_text_ok) copied into out[CV_TEXT_MAX + 1]. */
cv_err cv_json_get_text(const json_object *o, const char *key, char *out);
/* CV_E_MALFORMED unless o is an object whose keys are all in `allowed` (NULL-ended). */
cv_err cv_json_only_keys(const json_object *o, const char *const *allowed);

/* Adds "key": lowercase hex of n bytes to o. */
void cv_json_add_hex(json_object *o, const char *key, const uint8_t *p, size_t n);

/* A vote. "txid" is optional on input; when present it must equal the computed txid
 * (CV_E_BAD_HASH). Output adds "txid" when with_txid. */
cv_err cv_vote_from_json(const json_object *o, cv_vote *v);
json_object *cv_vote_to_json(const cv_vote *v, bool with_txid);

/* Secret elections (section 6.1). A ballot: {"election_id", "voter_key", "timestamp",
 * "ciphertexts": [{"a", "b"}...], "proofs": [{"c0", "v0", "c1", "v1"}...], "sum_proof":
 * {"c", "v"}, "signature"}, "txid" as for votes. Points and scalars are read as bytes of
 * the right length; whether they are points and scalars is a rule (cv_ballot_verify). An
 * object with "candidate_id" is read as a vote into b->is_vote (to be refused by the
 * rules as wrong_mode). A decryption share: {"election_id", "validator_key",
 * "through_height", "shares": [{"d", "c", "v"}...], "signature"}. On failure nothing is
 * left to free. Output in these key orders. */
cv_err cv_ballot_from_json(const json_object *o, cv_ballot *b);
json_object *cv_ballot_to_json(const cv_ballot *b, bool with_txid);
cv_err cv_decryption_from_json(const json_object *o, cv_decryption *d);
json_object *cv_decryption_to_json(const cv_decryption *d, bool with_txid);

/* A trustee entry as the genesis's "secrecy" lists it (DESIGN 6.1): {"setup_hash",
 * "validator_key", "commitments", "proofs": [{"c", "v"}...], "signature"}; strict, at most
 * 255 commitments; whether they are points and the proofs hold is cv_trustee_verify's.
 * On failure nothing is left to free. */
cv_err cv_trustee_from_json(const json_object *o, cv_trustee *t);
json_object *cv_trustee_to_json(const cv_trustee *t);

/* {"validator_key", "signature"} */
cv_err cv_approval_from_json(const json_object *o, cv_approval *a);
json_object *cv_approval_to_json(const cv_approval *a);

/* A block (height 0: the genesis form, with "secrecy" in a secret election). A block
 * with a "decryptions" key is a secret election's (b->secret): its "votes" are ballots. `hash` is
 * read as stated, not checked here; the rules compare it. On input "approvals" may be absent for a
 * proposal (n_approvals 0). On failure *b is left zeroed (nothing to free). */
cv_err cv_block_from_json(const json_object *o, cv_block *b);
json_object *cv_block_to_json(const cv_block *b);

/* The optional "seal" of a block or a work template, {"election_id", "closed_at"}:
 * read into b->seal with has_seal set (has_seal stays false without the key), or
 * added to o when b has one. */
cv_err cv_seal_from_json(const json_object *o, cv_block *b);
void cv_seal_add_json(json_object *o, const cv_block *b);

/* A change (docs/GOVERNANCE.md): {"election_id", "effective_height", "kind", then "closes"
 * | "old_key", "new_key" | "difficulty", then "signatures": [{"validator_key",
 * "signature"}...]}, the key set exact for the kind. A block carries it as "change". On
 * failure nothing is left to free. */
cv_err cv_change_from_json(const json_object *o, cv_change *c);
json_object *cv_change_to_json(const cv_change *c);

/* The chain export {"format": "chainvote-chain/1", "blocks": [...]}. Unknown top-level
 * keys are ignored (annotations); blocks are parsed strictly. */
cv_err cv_chain_from_json(const json_object *o, cv_chain *c);
json_object *cv_chain_to_json(const cv_chain *c);

/* For auditors (chainvote verify): as cv_chain_from_json, but a vote whose stated txid
 * differs from the computed one is handed to bad_txid (block index, vote index) and the
 * parse goes on (bad_txid NULL: CV_E_BAD_HASH as above). On CV_E_MALFORMED, why (may be
 * NULL) receives where and what, e.g. "block 2 vote 0 candidate_id: not an int". */
typedef void (*cv_json_txid_fn)(void *ctx, size_t block, size_t vote);
cv_err cv_chain_from_json_audit(const json_object *o, cv_chain *c, cv_json_txid_fn bad_txid,
                                void *ctx, char *why, size_t why_len);

/* The chain export read as a stream, for auditors of exports too large to hold as text
 * (a million votes is about 600 MB): bytes are fed as they arrive, and each block is
 * parsed strictly, as cv_chain_from_json_audit parses it, and handed to on_block as
 * soon as its closing brace is read; only one block's text and tree are held at a time.
 * on_block(ctx, index, b) may take b's contents (and zero *b), else they are freed
 * after it; an error it returns stops the read. bad_txid and ctx as for
 * cv_chain_from_json_audit. NULL when out of memory. */
typedef struct cv_chain_reader cv_chain_reader;
typedef cv_err (*cv_chain_block_fn)(void *ctx, size_t index, cv_block *b);
#define CV_JSON_STREAM_VALUE_MAX ((size_t)1 << 30) /* one block, the genesis with its roll */
/* A first block at least this large has its roll read apart from its tree. */
#define CV_JSON_ROLL_APART ((size_t)1 << 20)
cv_chain_reader *cv_chain_reader_new(cv_chain_block_fn on_block, cv_json_txid_fn bad_txid,
                                     void *ctx);
/* Feeds n more bytes: CV_OK, or the first error, returned again by every later call:
 * CV_E_MALFORMED (cv_chain_reader_why says where when a block or the format broke the
 * public JSON; "" when the text is not strict JSON), CV_E_TOO_LARGE (one value over
 * CV_JSON_STREAM_VALUE_MAX), CV_E_NOMEM, or on_block's error. */
cv_err cv_chain_reader_feed(cv_chain_reader *r, const char *p, size_t n);
/* The input ended: CV_OK only when it was one whole export, "format" and "blocks"
 * included (else as cv_chain_reader_feed). */
cv_err cv_chain_reader_end(cv_chain_reader *r);
const char *cv_chain_reader_why(const cv_chain_reader *r);
void cv_chain_reader_free(cv_chain_reader *r); /* no-op on NULL */

/* {"error": {"code", "message"}} as a new object; message may be NULL for the default. */
json_object *cv_error_json(cv_err e, const char *message);

#endif
