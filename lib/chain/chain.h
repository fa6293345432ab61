/* The chain's data types and their byte encodings (DESIGN section 2): genesis entries,
 * vote payloads, txids and leaves, the 96-byte header, approval and rejection messages.
 * Every hash of the chain is computed here or in merkle.c, nowhere else. */
#ifndef CV_CHAIN_H
#define CV_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bytes.h"
#include "crypto.h"
#include "err.h"
#include "secret.h"

#define CV_TEXT_MAX         200
#define CV_HEADER_LEN       96
#define CV_PAYLOAD_LEN      (16 + 32 + 65 + 4 + 8)        /* 125 */
#define CV_LEAF_LEN         (CV_PAYLOAD_LEN + CV_SIG_LEN) /* 189 */
#define CV_APPROVAL_MSG_LEN (19 + 32)                     /* 51 */
#define CV_SEAL_LEN         (16 + 32 + 8)                 /* 56 */
#define CV_VERSION          1
#define CV_NONCE_LIMIT      (1ULL << 53) /* nonces stay below 2^53 */
#define CV_FUTURE_SLACK     300          /* seconds, rules 3 and 5 */

#define CV_TAG_ELECTION  "chainvote/election/1"
#define CV_TAG_CANDIDATE "chainvote/candidate/1"
#define CV_TAG_VALIDATOR "chainvote/validator/1"
#define CV_TAG_VOTER     "chainvote/voter/1"
#define CV_TAG_VOTE      "chainvote/vote/1"
#define CV_TAG_APPROVE   "chainvote/approve/1"
#define CV_TAG_REJECT    "chainvote/reject/1"
#define CV_TAG_SEAL      "chainvote/seal/1"
#define CV_TAG_CHANGE    "chainvote/change/1"

typedef struct cv_election {
	char title[CV_TEXT_MAX + 1]; /* UTF-8, NUL-terminated, no NUL inside */
	uint8_t threshold;
	uint8_t difficulty;
	uint32_t max_block_votes;
	uint64_t opens, closes; /* Unix seconds, 0 when unset */
} cv_election;

typedef struct cv_candidate {
	uint32_t id;
	char name[CV_TEXT_MAX + 1];
} cv_candidate;

typedef struct cv_validator {
	uint8_t key[CV_KEY_LEN];
	char name[CV_TEXT_MAX + 1];
} cv_validator;

/* The genesis block's content. Arrays are owned by the struct (cv_genesis_free). In
 * genesis order once cv_genesis_normalise has run. A genesis loaded by a service for
 * rule checks may carry no voters (n_voters 0): the roll is then looked up in the store. */
typedef struct cv_genesis {
	cv_election election;
	size_t n_candidates, n_validators, n_voters;
	cv_candidate *candidates;
	cv_validator *validators;
	uint8_t (*voters)[CV_KEY_LEN];
	cv_secrecy *secrecy; /* NULL in an open election (DESIGN section 6) */
} cv_genesis;

typedef struct cv_header {
	uint32_t version;
	uint64_t height;
	uint8_t prev_hash[CV_HASH_LEN];
	uint8_t merkle_root[CV_HASH_LEN];
	uint64_t timestamp;
	uint32_t difficulty;
	uint64_t nonce;
} cv_header;

typedef struct cv_vote {
	uint8_t election_id[CV_HASH_LEN];
	uint8_t voter_key[CV_KEY_LEN];
	uint32_t candidate_id;
	uint64_t timestamp;
	uint8_t signature[CV_SIG_LEN];
} cv_vote;

typedef struct cv_approval {
	uint8_t validator_key[CV_KEY_LEN];
	uint8_t signature[CV_SIG_LEN];
} cv_approval;

/* The close on the chain (DESIGN section 2, "The close: the seal"). */
typedef struct cv_seal {
	uint8_t election_id[CV_HASH_LEN];
	uint64_t closed_at; /* Unix seconds */
} cv_seal;

/* A change of the parameters in force (docs/GOVERNANCE.md), co-signed by validators. */
typedef enum cv_change_kind {
	CV_CHANGE_CLOSES = 1,        /* u64(closes) */
	CV_CHANGE_VALIDATOR_KEY = 2, /* key(65) old || key(65) new */
	CV_CHANGE_DIFFICULTY = 3,    /* u8(difficulty) */
} cv_change_kind;
#define CV_CHANGE_MAX_SIGNATURES 255 /* u8(n_signatures) */

typedef struct cv_change {
	uint8_t election_id[CV_HASH_LEN];
	uint64_t effective_height;
	uint8_t kind; /* a cv_change_kind; others are refused by the rules */
	uint64_t closes;
	uint8_t old_key[CV_KEY_LEN], new_key[CV_KEY_LEN];
	uint8_t difficulty;
	size_t n_signatures;     /* <= CV_CHANGE_MAX_SIGNATURES */
	cv_approval *signatures; /* owned (cv_change_free), in leaf order */
} cv_change;

/* A block as exchanged in JSON. `hash` is the hash as stated (parsed) or computed
 * (built); rules compare it to H(header). Height 0 carries `genesis` and no votes. A
 * block with has_seal carries the seal leaf after its votes (the rules allow none). */
typedef struct cv_block {
	cv_header header;
	uint8_t hash[CV_HASH_LEN];
	size_t n_votes, n_approvals;
	cv_vote *votes;
	cv_approval *approvals;
	cv_genesis *genesis;
	bool has_seal;
	cv_seal seal;
	/* A secret election's block (section 6.1: it has a "decryptions" array) carries
	 * ballots and decryption shares instead of votes (n_votes 0). Its leaves are the
	 * ballots, then the shares, then the seal. */
	bool secret;
	size_t n_ballots, n_decryptions;
	cv_ballot *ballots;
	cv_decryption *decryptions;
	/* A change block (docs/GOVERNANCE.md): the change leaf, after every other leaf (the
	 * rules allow none). Owned; NULL in every other block. */
	cv_change *change;
} cv_block;

typedef struct cv_chain {
	size_t n_blocks;
	cv_block *blocks;
} cv_chain;

/* Destructors: free what the struct owns and zero it; NULL and zeroed structs are fine. */
void cv_genesis_free(cv_genesis *g);
void cv_block_free(cv_block *b);
void cv_chain_free(cv_chain *c);

/* Sorts candidates by id and validators and voters by key bytes, then checks the
 * genesis rules: texts <= 200 bytes, threshold >= 2 and <= n_validators, candidate ids
 * unique and >= 1, keys unique valid points. CV_E_BAD_ELECTION / CV_E_BAD_KEY. */
cv_err cv_genesis_normalise(cv_genesis *g);
/* Checks without sorting: CV_E_BAD_GENESIS when not in genesis order. */
cv_err cv_genesis_check(const cv_genesis *g);

/* Encoders of the genesis entries; append to b. */
cv_err cv_election_entry(const cv_election *e, cv_buf *b);
cv_err cv_candidate_entry(const cv_candidate *c, cv_buf *b);
cv_err cv_validator_entry(const cv_validator *v, cv_buf *b);
cv_err cv_voter_entry(const uint8_t key[CV_KEY_LEN], cv_buf *b);
/* setup_hash = H(election entry || candidate entries || validator entries), in genesis
 * order: what every trustee entry of a secret election is bound to. */
cv_err cv_setup_hash(const cv_genesis *g, uint8_t out[CV_HASH_LEN]);
/* MTH over the entries in genesis order (election, candidates, validators, then for a
 * secret election the secrecy entry and the trustees, then voters). */
cv_err cv_genesis_merkle_root(const cv_genesis *g, uint8_t root[CV_HASH_LEN]);
/* The genesis header: height 0, zero prev_hash, merkle root, timestamp, difficulty 0,
 * nonce 0. */
cv_err cv_genesis_header(const cv_genesis *g, uint64_t timestamp, cv_header *h);

/* Binary searches over a normalised genesis. */
const cv_candidate *cv_genesis_candidate(const cv_genesis *g, uint32_t id);
const cv_validator *cv_genesis_validator(const cv_genesis *g, const uint8_t key[CV_KEY_LEN]);
bool cv_genesis_on_roll(const cv_genesis *g, const uint8_t key[CV_KEY_LEN]);

void cv_vote_payload(const cv_vote *v, uint8_t out[CV_PAYLOAD_LEN]);
void cv_vote_txid(const cv_vote *v, uint8_t txid[CV_HASH_LEN]);
void cv_vote_leaf(const cv_vote *v, uint8_t out[CV_LEAF_LEN]);
/* H(0x00 || leaf), the vote's RFC 6962 leaf hash. */
void cv_vote_leaf_hash(const cv_vote *v, uint8_t out[CV_HASH_LEN]);
/* Signs the payload with k and fills v->signature. */
cv_err cv_vote_sign(cv_vote *v, const cv_privkey *k);
/* MTH of the votes' leaves in block order. */
cv_err cv_votes_merkle_root(const cv_vote *votes, size_t n, uint8_t root[CV_HASH_LEN]);

/* "chainvote/seal/1" || election_id || u64(closed_at) */
void cv_seal_leaf(const cv_seal *seal, uint8_t out[CV_SEAL_LEN]);
/* MTH of a block h >= 1's leaves: its votes (or ballots) in block order, then its
 * decryption shares, then its seal if it has one. The root every rule, the store and the miner
 * compare a header with. */
cv_err cv_block_merkle_root(const cv_block *b, uint8_t root[CV_HASH_LEN]);
/* The RFC 6962 leaf hashes of a block h >= 1 in that same order (*out malloc'd, the
 * caller frees; *n how many): what the root and an inclusion proof are computed from. */
cv_err cv_block_leaf_hashes(const cv_block *b, uint8_t (**out)[CV_HASH_LEN], size_t *n);

/* The change's signed message: "chainvote/change/1" || election_id ||
 * u64(effective_height) || u8(kind) || the kind's fields. CV_E_MALFORMED for an unknown
 * kind. Appends to b. */
cv_err cv_change_message(const cv_change *c, cv_buf *b);
/* The leaf: the message || u8(n_signatures) || (validator_key || signature)*. Appends to b;
 * CV_E_TOO_LARGE over CV_CHANGE_MAX_SIGNATURES. */
cv_err cv_change_leaf(const cv_change *c, cv_buf *b);
/* Parses a change leaf (cv_change_leaf's bytes, exactly len of them) into *c (freed with
 * cv_change_free). CV_E_MALFORMED for anything else, CV_E_NOMEM. */
cv_err cv_change_from_leaf(const uint8_t *leaf, size_t len, cv_change *c);
/* Puts a signature made elsewhere in its place in ascending key order (not checked:
 * cv_check_change does). CV_E_EXISTS when its key has signed, CV_E_TOO_LARGE, CV_E_NOMEM. */
cv_err cv_change_add_signature(cv_change *c, const cv_approval *sig);
/* The change's id, H(message): what its signers agree to, whatever signatures it has. */
cv_err cv_change_id(const cv_change *c, uint8_t id[CV_HASH_LEN]);
/* Signs the message with k and puts the signature in its place in ascending key order.
 * CV_E_EXISTS when k has signed already, CV_E_TOO_LARGE when full, CV_E_NOMEM. */
cv_err cv_change_sign(cv_change *c, const cv_privkey *k);
/* Stable name of a kind ("closes", "validator_key", "difficulty"), NULL for others; and
 * back (0 when unknown). */
const char *cv_change_kind_name(uint8_t kind);
uint8_t cv_change_kind_of(const char *name);
/* Frees the signatures and zeroes c; NULL is fine. */
void cv_change_free(cv_change *c);
/* A deep copy of src into *dst (freed with cv_change_free). */
cv_err cv_change_copy(const cv_change *src, cv_change *dst);

void cv_header_encode(const cv_header *h, uint8_t out[CV_HEADER_LEN]);
void cv_header_hash(const cv_header *h, uint8_t out[CV_HASH_LEN]);

void cv_approval_message(const uint8_t block_hash[CV_HASH_LEN], uint8_t out[CV_APPROVAL_MSG_LEN]);
/* "chainvote/reject/1" || block_hash || text(reason); CV_E_TOO_LARGE for a long reason. */
cv_err cv_rejection_message(const uint8_t block_hash[CV_HASH_LEN], const char *reason, cv_buf *b);

/* Current Unix time in seconds (real time: no override), the "now" of the live rules;
 * 0 for a clock before 1970. */
uint64_t cv_now(void);

/* True when s is valid UTF-8 of at most CV_TEXT_MAX bytes with no NUL or control chars
 * other than none at all (names and titles are single-line). */
bool cv_text_ok(const char *s);

#endif
