/* Signed acceptance of votes and the voter's receipt (docs/ACCEPTANCE.md). When the
 * service takes a vote into its pool it signs "chainvote/accept/1" || txid ||
 * u64(accepted_at) with its own P-256 key, so that a voter holds evidence that the vote
 * was accepted, and an auditor can show an accepted vote missing from a sealed chain
 * (RFC 6962's signed certificate timestamps play the same part for certificates). */
#ifndef CV_ACCEPTANCE_H
#define CV_ACCEPTANCE_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "chain.h"
#include "crypto.h"
#include "err.h"
#include "secret.h"

#define CV_ACCEPT_TAG     "chainvote/accept/1"
#define CV_ACCEPT_MSG_LEN (18 + CV_HASH_LEN + 8) /* 58 */

/* The service key's file in the data directory: a chainvote-key/1 key file, mode 0600. */
#define CV_SERVICE_KEY_FILE "service-key.json"

/* The receipt file the CLI and the vote page keep: the voter's vote and its acceptance. */
#define CV_RECEIPT_FORMAT "chainvote-receipt/1"

typedef struct cv_acceptance {
	uint8_t txid[CV_HASH_LEN];
	uint64_t accepted_at; /* Unix seconds, the service's clock */
	uint8_t service_key[CV_KEY_LEN];
	uint8_t signature[CV_SIG_LEN];
} cv_acceptance;

/* The signed message: CV_ACCEPT_TAG || txid(32) || u64(accepted_at). */
void cv_acceptance_message(const uint8_t txid[CV_HASH_LEN], uint64_t accepted_at,
                           uint8_t msg[CV_ACCEPT_MSG_LEN]);

/* Fills *a with txid, accepted_at, k's public key and k's signature of the message.
 * CV_OK or CV_E_INTERNAL. */
cv_err cv_acceptance_sign(const cv_privkey *k, const uint8_t txid[CV_HASH_LEN],
                          uint64_t accepted_at, cv_acceptance *a);

/* CV_OK when a's signature verifies under a's service_key and, when want_key is not
 * NULL, that key is want_key (the key the service publishes). CV_E_BAD_KEY for a key off
 * the curve or not the wanted one, CV_E_BAD_SIGNATURE otherwise. */
cv_err cv_acceptance_verify(const cv_acceptance *a, const uint8_t want_key[CV_KEY_LEN]);

/* {"txid", "accepted_at", "service_key", "signature"}; NULL when out of memory. */
json_object *cv_acceptance_to_json(const cv_acceptance *a);
/* Strict: exactly those keys, exact hex lengths, accepted_at an integer. The signature
 * is not checked here (cv_acceptance_verify). CV_E_MALFORMED otherwise. */
cv_err cv_acceptance_from_json(const json_object *o, cv_acceptance *a);

/* A receipt file: {"format": CV_RECEIPT_FORMAT, "vote": {vote with "txid"},
 * "acceptance": {...}}. NULL when out of memory. */
json_object *cv_receipt_file_to_json(const cv_vote *v, const cv_acceptance *a);
/* A secret election's receipt file: {"format", "ballot", "acceptance"}, the ballot's
 * public JSON with its txid (taken: put even on failure). */
json_object *cv_receipt_file_ballot_to_json(json_object *ballot, const cv_acceptance *a);
/* Strict as above; the vote's stated txid must be its payload's hash and the
 * acceptance's txid (CV_E_BAD_HASH otherwise). Signatures are not checked here. */
cv_err cv_receipt_file_from_json(const json_object *o, cv_vote *v, cv_acceptance *a);

/* A secret election's receipt file (cv_receipt_file_ballot_to_json's): strict as
 * cv_receipt_file_from_json, with "ballot" (a ballot, not a vote) where it has "vote";
 * the ballot's stated txid must be its payload's hash and the acceptance's
 * (CV_E_BAD_HASH otherwise). Signatures and proofs are not checked here. On CV_OK the
 * caller frees *b with cv_ballot_free; on failure nothing is left to free. */
cv_err cv_receipt_file_ballot_from_json(const json_object *o, cv_ballot *b, cv_acceptance *a);
/* Whether a receipt file holds a ballot (a secret election's) rather than a vote. */
bool cv_receipt_file_is_ballot(const json_object *o);

/* Whether `committed`, a vote read from a block, is the vote the voter holds a receipt
 * for: its payload hashes to txid, its voter key is voter_key (when not NULL), and its
 * signature verifies under that key. Signature bytes are deliberately not compared with
 * the voter's: txid = H(payload) does not cover the signature, and (r, n-s) verifies as
 * well as (r, s), so a miner may commit either form of the voter's vote. CV_OK,
 * CV_E_BAD_HASH (another payload), CV_E_BAD_KEY (another voter's vote) or
 * CV_E_BAD_SIGNATURE. */
cv_err cv_receipt_match(const cv_vote *committed, const uint8_t txid[CV_HASH_LEN],
                        const uint8_t voter_key[CV_KEY_LEN]);
/* cv_receipt_match for a ballot read from a secret election's block: its payload
 * hashes to txid, its voter key is voter_key (when not NULL), its signature verifies
 * under that key; a vote where a ballot belongs is CV_E_BAD_HASH. The same returns. */
cv_err cv_receipt_match_ballot(const cv_ballot *committed, const uint8_t txid[CV_HASH_LEN],
                               const uint8_t voter_key[CV_KEY_LEN]);

/* The service's key from dir/CV_SERVICE_KEY_FILE, into *out (caller frees with
 * cv_privkey_free). When the file is missing and create is true, a new key from the OS
 * generator is written to a temporary file (mode 0600, synced) and linked into place:
 * programs starting at the same moment all end up with the one key that was linked
 * first. A file that is not a regular file, or that group or others may read or write,
 * is refused (CV_E_IO), as is one that does not parse (CV_E_MALFORMED, CV_E_BAD_KEY).
 * CV_E_NOT_FOUND when missing and create is false. */
cv_err cv_service_key_load(const char *dir, bool create, cv_privkey **out);

#endif
